"""The OpenFlow protocol variants a flow table can be programmed with, as a flag set.

Open vSwitch distinguishes not just OpenFlow versions but, for OpenFlow 1.0, which flow format (the standard
``ofp_match`` or Nicira's NXM) and whether the ``flow_mod_table_id`` extension is on.  ``ovs-ofctl`` computes the
set of variants able to express a flow (its "usable protocols") and picks one to talk with.  Match fields, flow-mod
options and actions each narrow the set; the text layer prints it.
"""

from __future__ import annotations

import enum


class Proto(enum.Flag):
    OF10_STD = enum.auto()        # OpenFlow 1.0, ofp_match
    OF10_STD_TID = enum.auto()    # OpenFlow 1.0, ofp_match, with the flow_mod_table_id extension
    OF10_NXM = enum.auto()        # OpenFlow 1.0 with Nicira's NXM matches
    OF10_NXM_TID = enum.auto()    # ... and flow_mod_table_id
    OF11_STD = enum.auto()        # OpenFlow 1.1, ofp11_match
    OF12_OXM = enum.auto()
    OF13_OXM = enum.auto()
    OF14_OXM = enum.auto()
    OF15_OXM = enum.auto()

    OF10_STD_ANY = OF10_STD | OF10_STD_TID
    OF10_NXM_ANY = OF10_NXM | OF10_NXM_TID
    OF10_ANY = OF10_STD_ANY | OF10_NXM_ANY
    OXM_ANY = OF12_OXM | OF13_OXM | OF14_OXM | OF15_OXM
    NXM_OXM_ANY = OF10_NXM_ANY | OXM_ANY
    OF11_UP = OF11_STD | OXM_ANY
    ANY = OF10_ANY | OF11_STD | OXM_ANY
    NONE = 0


# OpenFlow wire versions.
OFP10_VERSION = 0x01
OFP11_VERSION = 0x02
OFP12_VERSION = 0x03
OFP13_VERSION = 0x04
OFP14_VERSION = 0x05
OFP15_VERSION = 0x06

PROTO_VERSION: dict[Proto, int] = {
    Proto.OF10_STD: OFP10_VERSION, Proto.OF10_STD_TID: OFP10_VERSION, Proto.OF10_NXM: OFP10_VERSION,
    Proto.OF10_NXM_TID: OFP10_VERSION, Proto.OF11_STD: OFP11_VERSION, Proto.OF12_OXM: OFP12_VERSION,
    Proto.OF13_OXM: OFP13_VERSION, Proto.OF14_OXM: OFP14_VERSION, Proto.OF15_OXM: OFP15_VERSION,
}
