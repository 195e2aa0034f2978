"""pyvswitch: a virtual switch in Python, in the family of Open vSwitch."""

__version__ = "0.1.0"
