"""The OpenFlow wire protocol: byte-exact encoding and decoding of the messages pyvswitch exchanges with
``ovs-ofctl`` and controllers.

Modules, lowest first:

``ofp_errors``
    ``OFPDecodeError`` (the codec's only exception) and the OpenFlow error names and numbers per version.
``hexdump``
    ``hexdump(data)``: Open vSwitch's ``ovs_hex_dump`` format, as ovs-ofctl prints undecodable messages.
``nx_match``
    NXM/OXM type-length-values: field headers per OpenFlow version, match encoding in Open vSwitch's order and
    strict decoding with its checks.
``ofp_match``
    The fixed matches of OpenFlow 1.0 (``ofp10_match``) and 1.1 (``ofp11_match``).
``ofp_actions``
    Actions and instructions: every standard action of OpenFlow 1.0 to 1.5, the Nicira extensions
    (``NXAST_*``), ONF copy-field, and the OpenFlow 1.1+ instructions; order and consistency checks.
``ofp_flow_mod``
    ``encode_flow_mod(fm, proto, xid)`` and ``decode_flow_mod(data)``: ``OFPT_FLOW_MOD`` (1.0 to 1.5) and
    ``NXT_FLOW_MOD``, in every protocol variant of ``pyvswitch.flow.protocols.Proto``.

The rest of the protocol, one module per family (docs/openflow.md has the map): ``ofp_msgs`` (framing of every
message kind, HELLO, errors), ``ofp_switch``, ``ofp_port``, ``ofp_packet``, ``ofp_flow_stats``, ``ofp_group``,
``ofp_meter``, ``ofp_monitor``, ``ofp_bundle``, ``ofp_tlv``, ``ofp_tables``; connections in ``vconn`` and
``rconn``; the switch side in ``handler`` (one bridge's messages) and ``connmgr`` (its sockets and controllers).

Why not os-ken's parsers: docs/openflow-codec.md and docs/openflow.md.
"""

from __future__ import annotations

from pyvswitch.openflow.ofp_actions import reset_process_state
from pyvswitch.openflow.ofp_errors import OFPDecodeError
from pyvswitch.openflow.ofp_flow_mod import (
    FlowModMessage,
    decode_flow_mod,
    decode_flow_mod_message,
    encode_flow_mod,
    message_protocol,
)
from pyvswitch.util.hexdump import hexdump

__all__ = [
    "FlowModMessage",
    "OFPDecodeError",
    "decode_flow_mod",
    "decode_flow_mod_message",
    "encode_flow_mod",
    "hexdump",
    "message_protocol",
    "reset_process_state",
]
