"""Port providers ("netdevs"): the contract in :mod:`.netdev`, implementations registered by type string.

``netdev_dummy`` provides ``dummy`` (and ``dummy-internal``) ports: in-memory ports for tests, like Open vSwitch's
netdev-dummy.  ``netdev_linux`` provides ``system`` (AF_PACKET), ``netdev_tap`` ``tap`` and ``internal``, ``netdev_patch``
``patch``; tunnel providers come later and register the same way.
"""

from . import netdev_dummy as _netdev_dummy  # noqa: F401  (registers the dummy provider)
from . import netdev_linux as _netdev_linux  # noqa: F401  (registers the system provider)
from . import netdev_patch as _netdev_patch  # noqa: F401  (registers the patch provider)
from . import netdev_tap as _netdev_tap  # noqa: F401  (registers the tap and internal providers)
from .netdev import Netdev, NetdevError, NetdevStats, create, register, registered_types

__all__ = ["Netdev", "NetdevError", "NetdevStats", "create", "register", "registered_types"]
