"""OVSDB schema files shipped with pyvswitch, as data.

``vswitch.ovsschema`` is the ``Open_vSwitch`` database, written from the facts documented in
ovs-vswitchd.conf.db(5) (tables, columns, types, constraints) with the schema version of Open vSwitch 3.1 so that
Open vSwitch's own clients accept it.
"""

from __future__ import annotations

import os

_DIR = os.path.dirname(os.path.abspath(__file__))


def schema_path(name: str = "vswitch") -> str:
    """The path of the packaged schema ``NAME.ovsschema``."""
    return os.path.join(_DIR, f"{name}.ovsschema")
