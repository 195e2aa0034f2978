"""Packet-in, packet-out, flow-removed and resume messages, byte-exact with Open vSwitch 3.1.

Layouts (OpenFlow 1.0 section 5.4.1/5.3.6/5.4.2, 1.1+ section 7.4.1/7.3.7/7.4.2, Open vSwitch's nicira-ext.h);
``...`` is the body after the headers that ``ofp_msgs`` frames::

    OFPT10_PACKET_IN     buffer_id:32 total_len:16 in_port:16 reason:8 pad:8 data...
    OFPT11_PACKET_IN     buffer_id:32 in_port:32 in_phy_port:32 total_len:16 reason:8 table_id:8 data...
    OFPT12_PACKET_IN     buffer_id:32 total_len:16 reason:8 table_id:8 OXM-match(padded) pad:16 data...
    OFPT13_PACKET_IN     buffer_id:32 total_len:16 reason:8 table_id:8 cookie:64 OXM-match(padded) pad:16 data...
    NXT_PACKET_IN        buffer_id:32 total_len:16 reason:8 table_id:8 cookie:64 match_len:16 pad:48
                         nx_match(padded to 8) pad:16 data...
    NXT_PACKET_IN2       properties (NXPINT_*), NXT_RESUME the same without userdata
    OFPT10_PACKET_OUT    buffer_id:32 in_port:16 actions_len:16 actions... data...
    OFPT11_PACKET_OUT    buffer_id:32 in_port:32 actions_len:16 pad:48 actions... data...         (1.1 to 1.4)
    OFPT15_PACKET_OUT    buffer_id:32 actions_len:16 pad:16 OXM-match(padded) actions... data...
    OFPT10_FLOW_REMOVED  ofp10_match cookie:64 priority:16 reason:8 pad:8 duration_sec:32 duration_nsec:32
                         idle_timeout:16 pad:16 packet_count:64 byte_count:64
    OFPT11_FLOW_REMOVED  cookie:64 priority:16 reason:8 table_id:8 duration_sec:32 duration_nsec:32 idle:16 hard:16
                         packet_count:64 byte_count:64 match (ofp11_match in 1.1, OXM after)       (1.1 to 1.4)
    OFPT15_FLOW_REMOVED  table_id:8 reason:8 priority:16 idle:16 hard:16 cookie:64 OXM-match ofp_stats (OXS)
    NXT_FLOW_REMOVED     cookie:64 priority:16 reason:8 table_id+1:8 duration_sec:32 duration_nsec:32 idle:16
                         match_len:16 packet_count:64 byte_count:64 nx_match(padded to 8)

Properties (``NXT_PACKET_IN2``, ``NXT_RESUME`` and the continuation nested in them) are ``type:16 len:16``
followed by the payload and zero padding to 8 bytes (``len`` excludes the padding); 64-bit values and nested
properties start 8 bytes into their property.  Open vSwitch reads them with ``ofpprop_pull``: a length below 4 or
beyond the message is ``OFPBPC_BAD_LEN``, an integer property of the wrong size too.

Packet-ins
----------
``PacketIn.metadata`` is the pipeline metadata of the packet as a ``Match`` that pins each field it carries, as
Open vSwitch's ``flow_get_metadata`` builds it (``flow_metadata(key)`` does the same from a flow key): ``in_port``
always, the tunnel fields, ``metadata``, the registers, ``pkt_mark``, ``ct_state``/``ct_zone``/``ct_mark``/
``ct_label`` when not zero, with ``ct_state`` the Ethernet type and, for a valid connection of an IP packet, the
conntrack original tuple.  OpenFlow 1.0 and 1.1
carry only ``in_port``; Open vSwitch never sends OpenFlow 1.1+'s ``in_phy_port`` other than equal to ``in_port``.
A controller (and ``ovs-ofctl``) decodes the metadata match *loosely*: unknown fields are skipped and
prerequisites are not checked (``tcp_dst`` alone is accepted), while bad lengths, masks and values and repeated
fields are still errors.  The switch decodes ``NXT_RESUME`` strictly.

``encode_packet_in(pin, packet_in_format, version, xid, max_len)`` encodes in the format a controller chose
with ``NXT_SET_PACKET_IN_FORMAT`` (``"standard"``, ``"nxt_packet_in"``, ``"nxt_packet_in2"``).  The switch does
not buffer packets (nor does Open vSwitch): ``buffer_id`` is always ``NO_BUFFER``.  OpenFlow then requires the
whole packet in the message, and Open vSwitch 3.1 indeed sends all of it whatever ``controller(max_len=N)`` or
``miss_send_len`` say (checked against ovs-vswitchd: ``max_len=30`` still gives ``data_len=106``), so the switch
should leave ``max_len`` at None.  When given, ``max_len`` keeps only that many bytes and the message says the
packet's full length (``total_len``, or ``NXPINT_FULL_LEN`` in ``NXT_PACKET_IN2``), which ofp-print flags as
``(***total_len != data_len***)``.  The reason is encoded per version as Open vSwitch does: ``action_set``,
``group`` and ``packet_out`` exist only from OpenFlow 1.4 and read ``action`` before.

Continuations
-------------
An ``NXT_PACKET_IN2`` sent by ``controller(pause)`` carries a *continuation*: what the switch needs to resume the
pipeline when the controller sends it back in ``NXT_RESUME``.  Its content is private to the switch.  pyvswitch
uses the layout of Open vSwitch's own (``NXCPT_*`` properties, types 0x8000 and up), so that ``ovs-ofctl``
prints our continuations and we can read Open vSwitch's, with the same meaning:

    NXCPT_BRIDGE (0x8000)      16-byte UUID of the bridge
    NXCPT_STACK (0x8001)       one property per value of the ``push``/``pop`` stack, top first
    NXCPT_MIRRORS (0x8002)     u32 bitmap of the mirrors that already output the packet
    NXCPT_CONNTRACKED (0x8003) flag: the packet went through conntrack
    NXCPT_TABLE_ID (0x8004)    u8, NXCPT_COOKIE (0x8005) be64: the table and cookie of the rule whose actions follow
                               (each sent only when it changes; both start at 0)
    NXCPT_ACTIONS (0x8006)     nested OpenFlow actions still to execute, in the rule named above
    NXCPT_ACTION_SET (0x8007)  nested OpenFlow actions: the action set accumulated so far
    NXCPT_ODP_PORT (0x8008)    u32 datapath port the packet arrived on

``Continuation`` holds them decoded; ``Continuation.actions`` is a list of ``(table_id, cookie, actions)``, one
per ``NXCPT_ACTIONS``.  Decoding is loose for printing (unknown types are skipped, as ``ovs-ofctl`` does) and
strict for the switch (``OFPBPC_BAD_TYPE``).

Packet-outs
-----------
``decode_packet_out`` checks what Open vSwitch's ``ofputil_decode_packet_out`` checks: the actions (through the
actions codec), an OpenFlow 1.5 match without ``in_port`` (``OFPBRC_BAD_PORT``) or with non-pipeline fields
(``OFPBRC_PIPELINE_FIELDS_ONLY``), and an input port that is neither a physical port nor LOCAL, CONTROLLER or
NONE (``OFPBRC_BAD_PORT``).  A ``buffer_id`` other than ``NO_BUFFER`` decodes faithfully (the packet is then
empty, as the data refers to a buffer); the switch must answer it with ``OFPBRC_BUFFER_UNKNOWN``, which
``check_packet_out`` raises, because pyvswitch, like Open vSwitch, buffers nothing.

``parse_packet_out(text)`` reads the argument of ``ovs-ofctl packet-out SWITCH 'in_port=1 packet=HEX
actions=...'``; ``parse_packet_out_args(in_port, actions, packets)`` the old form ``packet-out SWITCH IN_PORT
ACTIONS PACKET...``.  Errors are ``PacketOutParseError`` with ovs-ofctl's words.

Printing
--------
``PRINTERS`` maps ``PACKET_IN``, ``PACKET_OUT``, ``FLOW_REMOVED`` and ``NXT_RESUME`` to functions that return
what ``ovs-ofctl ofp-print`` prints after the header text.  The packet of a packet-in or packet-out is
summarized as Open vSwitch's ``ofp_packet_to_string`` does (``packet_to_string``): the flow extracted from it in
``flow_format`` syntax, then the transport checksum (``tcp_csum:``, ``udp_csum:``, ``icmp_csum:``...).  Packets
whose ``packet_type`` is ``(1, ETHERTYPE)`` are summarized from their network header, as Open vSwitch does.
Not reproduced: the NSH fields of an NSH packet (the flow key has no NSH fields).
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from pyvswitch.flow import extract as X
from pyvswitch.flow import fields as F
from pyvswitch.flow import match_text as MT
from pyvswitch.flow import values as V
from pyvswitch.flow.flow_format import format_flow
from pyvswitch.flow.match import CATCHALL, Match
from pyvswitch.ofproto.actions import Action, ActionParseError, format_actions, parse_actions
from pyvswitch.openflow import nx_match as NX
from pyvswitch.openflow import ofp_actions as A
from pyvswitch.openflow import ofp_match as M
from pyvswitch.openflow import ofp_msgs
from pyvswitch.openflow.ofp_errors import OFPDecodeError
from pyvswitch.openflow.ofp_msgs import Msg

__all__ = [
    "FLOW_REMOVED_REASONS",
    "NO_BUFFER",
    "PACKET_IN_FORMATS",
    "PACKET_IN_REASONS",
    "PRINTERS",
    "Continuation",
    "FlowRemoved",
    "PacketIn",
    "PacketOut",
    "PacketOutParseError",
    "check_packet_out",
    "decode_flow_removed",
    "decode_packet_in",
    "decode_packet_out",
    "decode_resume",
    "encode_flow_removed",
    "encode_packet_in",
    "encode_packet_out",
    "encode_resume",
    "flow_metadata",
    "format_flow_removed",
    "format_packet_in",
    "format_packet_out",
    "packet_to_string",
    "parse_packet_out",
    "parse_packet_out_args",
]

NO_BUFFER = 0xFFFFFFFF
NO_COOKIE = 0xFFFFFFFFFFFFFFFF
"""A packet-in cookie of all-ones means "none": OpenFlow 1.0 to 1.2 and OpenFlow 1.1 carry no cookie."""

OFPR_NO_MATCH, OFPR_ACTION, OFPR_INVALID_TTL, OFPR_ACTION_SET, OFPR_GROUP, OFPR_PACKET_OUT = range(6)
PACKET_IN_REASONS = {OFPR_NO_MATCH: "no_match", OFPR_ACTION: "action", OFPR_INVALID_TTL: "invalid_ttl",
                     OFPR_ACTION_SET: "action_set", OFPR_GROUP: "group", OFPR_PACKET_OUT: "packet_out"}
"""Packet-in reason number -> the name ovs-ofctl prints (``(via action)``) and ``controller(reason=...)`` takes."""

OFPRR_IDLE_TIMEOUT, OFPRR_HARD_TIMEOUT, OFPRR_DELETE, OFPRR_GROUP_DELETE, OFPRR_METER_DELETE, OFPRR_EVICTION = \
    range(6)
FLOW_REMOVED_REASONS = {OFPRR_IDLE_TIMEOUT: "idle", OFPRR_HARD_TIMEOUT: "hard", OFPRR_DELETE: "delete",
                        OFPRR_GROUP_DELETE: "group_delete", OFPRR_METER_DELETE: "meter_delete",
                        OFPRR_EVICTION: "eviction"}

PACKET_IN_FORMATS = {"standard": 0, "nxt_packet_in": 1, "nxt_packet_in2": 2}
"""``NXT_SET_PACKET_IN_FORMAT`` values by the names ovs-ofctl uses."""

NXPINT_PACKET, NXPINT_FULL_LEN, NXPINT_BUFFER_ID, NXPINT_TABLE_ID, NXPINT_COOKIE, NXPINT_REASON, \
    NXPINT_METADATA, NXPINT_USERDATA, NXPINT_CONTINUATION = range(9)
NXCPT_BRIDGE, NXCPT_STACK, NXCPT_MIRRORS, NXCPT_CONNTRACKED, NXCPT_TABLE_ID, NXCPT_COOKIE, NXCPT_ACTIONS, \
    NXCPT_ACTION_SET, NXCPT_ODP_PORT = range(0x8000, 0x8009)

_OFPP_MAX = V.OFPP_MAX
_OFPP_CONTROLLER = V.OFPP_CONTROLLER
_OFPP_LOCAL = V.OFPP_LOCAL
_OFPP_NONE = V.OFPP_NONE
_PROP_EXPERIMENTER = 0xFFFF


# --- objects ---------------------------------------------------------------------------------------------------

@dataclass
class Continuation:
    """The switch state a paused packet-in carries (see the module docstring for the wire format)."""

    bridge: uuid.UUID | None = None
    stack: list[bytes] = field(default_factory=list)
    mirrors: int = 0
    conntracked: bool = False
    actions: list[tuple[int, int, list[Action]]] = field(default_factory=list)
    action_set: list[Action] = field(default_factory=list)
    odp_port: int = 0

    def is_empty(self) -> bool:
        return (self.bridge is None and not self.stack and not self.mirrors and not self.conntracked
                and not self.actions and not self.action_set and not self.odp_port)


@dataclass
class PacketIn:
    """A packet sent to the controller.  ``total_len`` is the length of the whole packet (None: ``len(packet)``),
    ``packet`` the bytes the message carries.  ``cookie`` is ``NO_COOKIE`` where the format has none."""

    packet: bytes
    reason: int = OFPR_NO_MATCH
    table_id: int = 0
    cookie: int = NO_COOKIE
    metadata: Match = CATCHALL
    tun_md: MT.TunMetadata = field(default_factory=MT.TunMetadata)
    total_len: int | None = None
    buffer_id: int = NO_BUFFER
    userdata: bytes = b""
    continuation: Continuation | None = None

    @property
    def in_port(self) -> int:
        return F.get(self.metadata.value, _IN_PORT)

    @property
    def full_len(self) -> int:
        return len(self.packet) if self.total_len is None else self.total_len


@dataclass
class PacketOut:
    """A packet the controller asks the switch to send through ``actions``.  ``metadata`` holds ``in_port`` and,
    in OpenFlow 1.5, the other pipeline fields (tunnel, metadata, registers, packet_type)."""

    packet: bytes
    actions: list[Action] = field(default_factory=list)
    metadata: Match = CATCHALL
    tun_md: MT.TunMetadata = field(default_factory=MT.TunMetadata)
    buffer_id: int = NO_BUFFER

    @property
    def in_port(self) -> int:
        return F.get(self.metadata.value, _IN_PORT)


@dataclass
class FlowRemoved:
    """A flow that left a table.  ``table_id`` 255 means unknown (OpenFlow 1.0 does not say); a hard timeout is
    carried from OpenFlow 1.1 on."""

    match: Match
    cookie: int = 0
    priority: int = 0x8000
    reason: int = OFPRR_IDLE_TIMEOUT
    table_id: int = 0
    duration_sec: int = 0
    duration_nsec: int = 0
    idle_timeout: int = 0
    hard_timeout: int = 0
    packet_count: int = 0
    byte_count: int = 0
    tun_md: MT.TunMetadata = field(default_factory=MT.TunMetadata)


class PacketOutParseError(ValueError):
    """``ovs-ofctl packet-out`` text that ovs-ofctl refuses; ``str()`` is its message."""


_IN_PORT = F.BY_NAME["in_port"]
_PACKET_TYPE = F.BY_NAME["packet_type"]


def _with_in_port(m: Match, port: int) -> Match:
    return m.set(_IN_PORT, port & 0xFFFF)


# --- properties ------------------------------------------------------------------------------------------------

def _pad8(b: bytes) -> bytes:
    return b + bytes(-len(b) % 8)


def _prop(ptype: int, payload: bytes = b"") -> bytes:
    return _pad8(struct.pack("!HH", ptype, 4 + len(payload)) + payload)


def _prop_u8(ptype: int, v: int) -> bytes:
    return _prop(ptype, bytes([v & 0xFF]))


def _prop_u32(ptype: int, v: int) -> bytes:
    return _prop(ptype, struct.pack("!I", v & 0xFFFFFFFF))


def _prop_be64(ptype: int, v: int) -> bytes:
    """A 64-bit property: the value starts 8 bytes into the property (``ofpprop_put_be64``)."""
    return struct.pack("!HH4xQ", ptype, 16, v & NO_COOKIE)


def _prop_nested(ptype: int, inner: bytes) -> bytes:
    """A property whose payload is more properties, starting 8 bytes in (``ofpprop_start_nested``)."""
    return _pad8(struct.pack("!HH4x", ptype, 8 + len(inner)) + inner)


@dataclass
class _Prop:
    type: int
    hdr_len: int          # 4, or 12 for an experimenter property
    data: bytes           # the whole property without its padding

    @property
    def payload(self) -> bytes:
        return self.data[self.hdr_len:]

    def u8(self) -> int:
        # Open vSwitch accepts a longer payload for 8-bit values (``ofpprop_parse_u8`` is "forgiving").
        if len(self.payload) < 1:
            raise OFPDecodeError("OFPBPC_BAD_LEN", f"property {self.type:#x} has length {len(self.data)}")
        return self.payload[0]

    def u32(self) -> int:
        if len(self.payload) != 4:
            raise OFPDecodeError("OFPBPC_BAD_LEN", f"property {self.type:#x} has length {len(self.data)}")
        return struct.unpack("!I", self.payload)[0]

    def be64(self) -> int:
        ofs = (self.hdr_len + 7) // 8 * 8
        if len(self.data) != ofs + 8:
            raise OFPDecodeError("OFPBPC_BAD_LEN", f"property {self.type:#x} has length {len(self.data)}")
        return struct.unpack_from("!Q", self.data, ofs)[0]

    def nested(self) -> bytes:
        ofs = (self.hdr_len + 7) // 8 * 8
        if len(self.data) < ofs:
            raise OFPDecodeError("OFPBPC_BAD_LEN", f"nested property {self.type:#x} has length {len(self.data)}")
        return self.data[ofs:]


def _pull_props(data: bytes) -> Iterator[_Prop]:
    """OVS ``ofpprop_pull`` over ``data``: properties aligned to 8, type 0xffff is an experimenter property."""
    pos = 0
    n = len(data)
    while pos < n:
        if n - pos < 4:
            raise OFPDecodeError("OFPBPC_BAD_LEN", "property header truncated")
        ptype, plen = struct.unpack_from("!HH", data, pos)
        padded = (plen + 7) // 8 * 8
        if plen < 4 or padded > n - pos:
            raise OFPDecodeError("OFPBPC_BAD_LEN", f"property {ptype:#x} has bad length {plen}")
        hdr = 4
        if ptype >= _PROP_EXPERIMENTER:
            if plen < 12:
                raise OFPDecodeError("OFPBPC_BAD_LEN", "experimenter property too short")
            exp, exp_type = struct.unpack_from("!II", data, pos + 4)
            if not exp:
                raise OFPDecodeError("OFPBPC_BAD_EXPERIMENTER")
            ptype = (exp << 32) | exp_type
            hdr = 12
        yield _Prop(ptype, hdr, data[pos:pos + plen])
        pos += padded


def _unknown_prop(p: _Prop, loose: bool) -> None:
    """OVS ``ofpprop_unknown``: ignored when decoding loosely, else an error."""
    if not loose:
        raise OFPDecodeError("OFPBPC_BAD_EXPERIMENTER" if p.type > 0xFFFF else "OFPBPC_BAD_TYPE",
                             f"unknown property type {p.type:#x}")


# --- metadata matches ------------------------------------------------------------------------------------------

def _decode_match_loose(data: bytes) -> tuple[Match, MT.TunMetadata]:
    """OVS ``nx_pull_raw`` in loose mode, as packet-ins and packet-outs are read: entries naming unknown fields
    are skipped (after the same length and wildcard checks as strict mode) and prerequisites are not checked
    (``tcp_dst`` without ``nw_proto`` is accepted); bad masks and values and repeated fields are errors."""
    b = MT.MatchBuilder()
    pos = 0
    while pos < len(data):
        h, _ = NX.pull_header(data, pos)
        if (h.oxm_class, h.oxm_field, h.hasmask, h.length) == (*NX.ERICOXM_ND_OPTIONS_TYPE, False, 1):
            if len(data) - pos < 5:
                raise OFPDecodeError("OFPBMC_BAD_LEN", f"OXM header {h.fmt()} calls for 1-byte payload")
            if MT.Flow(b.value, b.mask).mget("tcp_flags"):
                raise OFPDecodeError("OFPBMC_DUP_FIELD", "duplicate nd_options_type")
            b.set_slot("tcp_flags", data[pos + 4], 0xFFFF)
            pos += 5
            continue
        try:
            f, _, value, mask, pos = NX.pull_entry(data, pos)
        except OFPDecodeError as e:
            if e.code != "OFPBMC_BAD_FIELD":
                raise
            pos += h.header_len + h.payload_len
            continue
        assert f is not None
        full = (1 << (8 * f.nbytes)) - 1
        m = full if mask is None else mask
        if not f.maskable and m not in (0, full):
            raise OFPDecodeError("OFPBMC_BAD_MASK", f"bad mask for field {f.name}")
        if not MT.is_value_valid(f, value):
            raise OFPDecodeError("OFPBMC_BAD_VALUE", f"bad value for field {f.name}")
        if not MT.is_all_wild(f, b.mask):
            raise OFPDecodeError("OFPBMC_DUP_FIELD", f"duplicate {f.name}")
        try:
            b.set_field(f, value, m)
        except MT.MatchParseError as e:
            raise OFPDecodeError("OFPBMC_BAD_VALUE", str(e)) from None
        b.add_ethernet_prereq(f)
    return b.match(), b.tun_md


def _pull_oxm_match(data: bytes, pos: int, loose: bool) -> tuple[Match, MT.TunMetadata, int]:
    """OVS ``oxm_pull_match`` / ``oxm_pull_match_loose`` at ``data[pos:]``."""
    if not loose:
        return NX.pull_oxm_match(data, pos)
    if len(data) - pos < 4:
        raise OFPDecodeError("OFPBMC_BAD_LEN")
    mtype, length = struct.unpack_from("!HH", data, pos)
    if length < 4:
        raise OFPDecodeError("OFPBMC_BAD_LEN")
    if mtype != 1:
        raise OFPDecodeError("OFPBMC_BAD_TYPE")
    padded = (length + 7) // 8 * 8
    if len(data) - pos < padded:
        raise OFPDecodeError("OFPBMC_BAD_LEN", f"oxm length {length}, rounded up to a multiple of 8, is longer "
                                               f"than space in message")
    match, md = _decode_match_loose(data[pos + 4:pos + length])
    return match, md, pos + padded


def _pull_nx_match(data: bytes, pos: int, match_len: int, loose: bool) -> tuple[Match, MT.TunMetadata, int]:
    """OVS ``nx_pull_match`` (``_loose``): ``match_len`` bytes of NXM at ``data[pos:]``, padded to 8."""
    padded = (match_len + 7) // 8 * 8
    if padded > len(data) - pos:
        raise OFPDecodeError("OFPBMC_BAD_LEN", f"nx_match length {match_len}, rounded up to a multiple of 8, is "
                                               f"longer than space in message")
    raw = data[pos:pos + match_len]
    if loose:
        match, md = _decode_match_loose(raw)
    else:
        match, md, _, _ = NX.decode_match(raw)
    return match, md, pos + padded


_PIPELINE_STORAGE = frozenset({"tun_id", "tun_src", "tun_dst", "tun_ipv6_src", "tun_ipv6_dst", "tun_flags",
                               "tun_gbp_id", "tun_gbp_flags", "tun_metadata", "metadata", "in_port", "regs",
                               "packet_type"})


def _is_pipeline_field(f: F.Field) -> bool:
    """OVS ``mf_is_pipeline_field``: the fields a packet-out may set (tunnel, metadata, registers, in_port,
    packet_type); not ``pkt_mark``, conntrack or the datapath's own fields."""
    return f.storage in _PIPELINE_STORAGE


def flow_metadata(key: int) -> Match:
    """OVS ``flow_get_metadata``: the packet-in metadata of a packet whose flow key is ``key``."""
    m = CATCHALL
    g = F.storage_get
    B = F.BY_NAME
    for name in ("tun_id", "tun_src", "tun_dst", "tun_ipv6_src", "tun_ipv6_dst", "tun_gbp_id", "tun_gbp_flags"):
        v = g(key, name)
        if v:
            m = m.set(B[name], v)
    flags = g(key, "tun_flags") & 1
    if flags:
        m = m.set(B["tun_flags"], flags)
    present = g(key, "_tun_metadata_present")
    if present:
        value = m.value | (key & F.storage_mask("_tun_metadata_present"))
        mask = m.mask | F.storage_mask("_tun_metadata_present")
        for i in range(64):
            if present >> i & 1:
                f = B[f"tun_metadata{i}"]
                value |= key & f.key_mask
                mask |= f.key_mask
        m = Match(value, mask)
    if g(key, "metadata"):
        m = m.set(B["metadata"], g(key, "metadata"))
    for i in range(16):
        r = F.get(key, B[f"reg{i}"])
        if r:
            m = m.set(B[f"reg{i}"], r)
    if g(key, "pkt_mark"):
        m = m.set(B["pkt_mark"], g(key, "pkt_mark"))
    m = m.set(_IN_PORT, g(key, "in_port") & 0xFFFF)
    if g(key, "packet_type"):
        m = m.set(_PACKET_TYPE, g(key, "packet_type"))
    ct_state = g(key, "ct_state")
    if ct_state:
        # Open vSwitch's match_set_ct_state keeps only the 8 defined bits in the mask.
        m = m.set(B["ct_state"], ct_state & 0xFF, 0xFF)
        # The Ethernet type too: the conntrack fields mean nothing without it.
        dl_type = g(key, "dl_type")
        m = m.set(B["eth_type"], dl_type)
        valid = bool(ct_state & 0x20) and not ct_state & 0x10
        if valid and g(key, "ct_nw_proto"):
            if dl_type == 0x0800:
                names: tuple[str, ...] = ("ct_nw_src", "ct_nw_dst")
            elif dl_type == 0x86DD:
                names = ("ct_ipv6_src", "ct_ipv6_dst")
            else:
                names = ()
            if names:
                for name in names:
                    m = m.set(B[name], g(key, name))
                m = m.set(B["ct_nw_proto"], g(key, "ct_nw_proto"))
                m = m.set(B["ct_tp_src"], g(key, "ct_tp_src"))
                m = m.set(B["ct_tp_dst"], g(key, "ct_tp_dst"))
    for name in ("ct_zone", "ct_mark", "ct_label"):
        if g(key, name):
            m = m.set(B[name], g(key, name))
    return m


# --- packet-in -------------------------------------------------------------------------------------------------

def _wire_reason(reason: int, version: int) -> int:
    """OVS ``encode_packet_in_reason``: the reasons of OpenFlow 1.4 read ``action`` in earlier versions."""
    if reason in (OFPR_ACTION_SET, OFPR_GROUP, OFPR_PACKET_OUT) and version < 5:
        return OFPR_ACTION
    return reason


def _encode_continuation(c: Continuation, version: int) -> bytes:
    out = b""
    if c.bridge is not None and c.bridge.int:
        out += _prop(NXCPT_BRIDGE, _uuid_to_wire(c.bridge))
    for v in c.stack:
        out += _prop(NXCPT_STACK, v)
    if c.mirrors:
        out += _prop_u32(NXCPT_MIRRORS, c.mirrors)
    if c.conntracked:
        out += _prop(NXCPT_CONNTRACKED)
    table_id, cookie = 0, 0
    for t, ck, acts in c.actions:
        if t != table_id:
            out += _prop_u8(NXCPT_TABLE_ID, t)
            table_id = t
        if ck != cookie:
            out += _prop_be64(NXCPT_COOKIE, ck)
            cookie = ck
        if acts:
            out += _prop_nested(NXCPT_ACTIONS, A.encode_actions(acts, version))
    if c.action_set:
        out += _prop_nested(NXCPT_ACTION_SET, A.encode_actions(c.action_set, version))
    if c.odp_port:
        out += _prop_u32(NXCPT_ODP_PORT, c.odp_port)
    return out


def _uuid_to_wire(u: uuid.UUID) -> bytes:
    """Open vSwitch copies its ``struct uuid`` (four 32-bit words in host order) into NXCPT_BRIDGE as is; on the
    little-endian hosts it runs on, each word is little-endian."""
    n = u.int
    return struct.pack("<IIII", n >> 96, (n >> 64) & 0xFFFFFFFF, (n >> 32) & 0xFFFFFFFF, n & 0xFFFFFFFF)


def _uuid_from_wire(b: bytes) -> uuid.UUID:
    w = struct.unpack("<IIII", b)
    return uuid.UUID(int=(w[0] << 96) | (w[1] << 64) | (w[2] << 32) | w[3])


def _decode_continuation(data: bytes, version: int, loose: bool) -> Continuation:
    c = Continuation()
    table_id, cookie = 0, 0
    for p in _pull_props(data):
        if p.type == NXCPT_BRIDGE:
            if len(p.payload) != 16:
                raise OFPDecodeError("OFPBPC_BAD_LEN", "bad bridge property")
            c.bridge = _uuid_from_wire(p.payload)
        elif p.type == NXCPT_STACK:
            if len(p.payload) > 128:
                raise OFPDecodeError("OFPBPC_BAD_LEN", f"NXCPT_STACK property has bad length {len(p.payload)}")
            c.stack.append(p.payload)
        elif p.type == NXCPT_MIRRORS:
            c.mirrors = p.u32()
        elif p.type == NXCPT_CONNTRACKED:
            c.conntracked = True
        elif p.type == NXCPT_TABLE_ID:
            table_id = p.u8()
        elif p.type == NXCPT_COOKIE:
            cookie = p.be64()
        elif p.type in (NXCPT_ACTIONS, NXCPT_ACTION_SET):
            acts = A.decode_actions(_actions_payload(p), version)
            if p.type == NXCPT_ACTIONS:
                c.actions.append((table_id, cookie, acts))
            else:
                c.action_set.extend(acts)
        elif p.type == NXCPT_ODP_PORT:
            c.odp_port = p.u32()
        else:
            _unknown_prop(p, loose)
    return c


def _actions_payload(p: _Prop) -> bytes:
    if len(p.data) < 8:
        raise OFPDecodeError("OFPBPC_BAD_LEN", f"actions property has bad length {len(p.data)}")
    return p.data[8:]


def _put_packet_in_props(pin: PacketIn, version: int, data: bytes) -> bytes:
    """OVS ``ofputil_put_packet_in``: packet, full length when truncated, table, cookie, reason, metadata."""
    out = _prop(NXPINT_PACKET, data)
    if len(data) != pin.full_len:
        out += _prop_u32(NXPINT_FULL_LEN, pin.full_len)
    out += _prop_u8(NXPINT_TABLE_ID, pin.table_id)
    if pin.cookie != NO_COOKIE:
        out += _prop_be64(NXPINT_COOKIE, pin.cookie)
    out += _prop_u8(NXPINT_REASON, _wire_reason(pin.reason, version))
    out += _prop(NXPINT_METADATA, NX.encode_match(pin.metadata, version, pin.tun_md))
    return out


def encode_packet_in(pin: PacketIn, packet_in_format: str, version: int, xid: int = 0,
                     max_len: int | None = None) -> bytes:
    """``pin`` as the switch sends it to a controller that chose ``packet_in_format`` (``"standard"``,
    ``"nxt_packet_in"``, ``"nxt_packet_in2"``) on a connection of wire ``version``.  ``buffer_id`` is always
    ``NO_BUFFER``.  ``max_len`` limits the packet bytes included; Open vSwitch never does that for an unbuffered
    packet (see the module docstring), so the switch passes None."""
    if packet_in_format not in PACKET_IN_FORMATS:
        raise ValueError(f"unknown packet-in format {packet_in_format!r}")
    data = pin.packet if max_len is None else pin.packet[:max(max_len, 0)]
    total = pin.full_len
    reason = _wire_reason(pin.reason, version)
    if packet_in_format == "nxt_packet_in2":
        body = _put_packet_in_props(pin, version, data)
        if pin.continuation is not None and not pin.continuation.is_empty():
            body += _prop_nested(NXPINT_CONTINUATION, _encode_continuation(pin.continuation, version))
        if pin.userdata:
            body += _prop(NXPINT_USERDATA, pin.userdata)
        return ofp_msgs.encode("NXT_PACKET_IN2", version, body, xid)
    if packet_in_format == "nxt_packet_in":
        nxm = NX.encode_match(pin.metadata, 0, pin.tun_md)
        body = (struct.pack("!IHBBQH6x", NO_BUFFER, total & 0xFFFF, reason, pin.table_id, pin.cookie & NO_COOKIE,
                            len(nxm)) + _pad8(nxm) + bytes(2) + data)
        return ofp_msgs.encode("NXT_PACKET_IN", version, body, xid)
    if version == 1:
        body = struct.pack("!IHHBx", NO_BUFFER, total & 0xFFFF, pin.in_port, reason) + data
        return ofp_msgs.encode("OFPT10_PACKET_IN", 1, body, xid)
    if version == 2:
        port = V.port_to_ofp11(pin.in_port)
        body = struct.pack("!IIIHBB", NO_BUFFER, port, port, total & 0xFFFF, reason, pin.table_id) + data
        return ofp_msgs.encode("OFPT11_PACKET_IN", 2, body, xid)
    body = struct.pack("!IHBB", NO_BUFFER, total & 0xFFFF, reason, pin.table_id)
    if version >= 4:
        body += struct.pack("!Q", pin.cookie & NO_COOKIE)
    body += NX.encode_oxm_match(pin.metadata, version, pin.tun_md) + bytes(2) + data
    return ofp_msgs.encode("OFPT13_PACKET_IN" if version >= 4 else "OFPT12_PACKET_IN", version, body, xid)


def _decode_packet_in2(msg: Msg, loose: bool, resume: bool) -> PacketIn:
    pin = PacketIn(b"")
    total = 0
    continuation: bytes | None = None
    for p in _pull_props(msg.body):
        if p.type == NXPINT_PACKET:
            pin.packet = p.payload
        elif p.type == NXPINT_FULL_LEN:
            total = p.u32()
        elif p.type == NXPINT_BUFFER_ID:
            pin.buffer_id = p.u32()
        elif p.type == NXPINT_TABLE_ID:
            pin.table_id = p.u8()
        elif p.type == NXPINT_COOKIE:
            pin.cookie = p.be64()
        elif p.type == NXPINT_REASON:
            pin.reason = p.u8()
        elif p.type == NXPINT_METADATA:
            if loose:
                pin.metadata, pin.tun_md = _decode_match_loose(p.payload)
            else:
                pin.metadata, pin.tun_md, _, _ = NX.decode_match(p.payload)
        elif p.type == NXPINT_USERDATA:
            pin.userdata = p.payload
        elif p.type == NXPINT_CONTINUATION:
            continuation = p.nested()
        else:
            _unknown_prop(p, loose)
    if not pin.packet:
        raise OFPDecodeError("OFPBRC_BAD_LEN", f"{'NXT_RESUME' if resume else 'NXT_PACKET_IN2'} lacks packet")
    if total and total < len(pin.packet):
        raise OFPDecodeError("OFPBRC_BAD_LEN", "NXT_PACKET_IN2 claimed full_len < len")
    pin.total_len = total or len(pin.packet)
    if continuation is not None:
        # Open vSwitch reads the continuation's content only after the whole message (ofp-print included).
        pin.continuation = _decode_continuation(continuation, msg.version, loose)
    return pin


def decode_packet_in(msg: Msg, loose: bool = True) -> PacketIn:
    """Any packet-in (``OFPT1x_PACKET_IN``, ``NXT_PACKET_IN``, ``NXT_PACKET_IN2``) as Open vSwitch decodes it.
    ``loose`` skips unknown metadata fields and properties, as a controller (and ovs-ofctl) does."""
    name = msg.raw.name
    b = msg.body
    if name in ("OFPT12_PACKET_IN", "OFPT13_PACKET_IN"):
        buffer_id, total, reason, table_id = struct.unpack_from("!IHBB", b, 0)
        pos = 8
        cookie = NO_COOKIE
        if name == "OFPT13_PACKET_IN":
            (cookie,) = struct.unpack_from("!Q", b, 8)
            pos = 16
        match, md, pos = _pull_oxm_match(b, pos, loose)
        if len(b) - pos < 2:
            raise OFPDecodeError("OFPBRC_BAD_LEN")
        return PacketIn(b[pos + 2:], reason, table_id, cookie, match, md, total, buffer_id)
    if name == "OFPT10_PACKET_IN":
        buffer_id, total, in_port, reason = struct.unpack_from("!IHHB", b, 0)
        return PacketIn(b[10:], reason, 0, NO_COOKIE, _with_in_port(CATCHALL, in_port), MT.TunMetadata(), total,
                        buffer_id)
    if name == "OFPT11_PACKET_IN":
        buffer_id, port32, _, total, reason, table_id = struct.unpack_from("!IIIHBB", b, 0)
        in_port = V.port_from_ofp11(port32)
        if in_port is None:
            raise OFPDecodeError("OFPBAC_BAD_OUT_PORT", f"port {port32:#x} is outside the supported range")
        return PacketIn(b[16:], reason, table_id, NO_COOKIE, _with_in_port(CATCHALL, in_port), MT.TunMetadata(),
                        total, buffer_id)
    if name == "NXT_PACKET_IN":
        buffer_id, total, reason, table_id, cookie, match_len = struct.unpack_from("!IHBBQH", b, 0)
        match, md, pos = _pull_nx_match(b, 24, match_len, loose)
        if len(b) - pos < 2:
            raise OFPDecodeError("OFPBRC_BAD_LEN")
        return PacketIn(b[pos + 2:], reason, table_id, cookie, match, md, total, buffer_id)
    if name == "NXT_PACKET_IN2":
        return _decode_packet_in2(msg, loose, False)
    raise OFPDecodeError("OFPBRC_BAD_TYPE", f"{name} is not a packet-in")


def encode_resume(pin: PacketIn, version: int, xid: int = 0) -> bytes:
    """OVS ``ofputil_encode_resume``: an ``NXT_RESUME`` that sends ``pin`` (a paused packet-in, as received)
    back with its continuation.  Userdata is not included."""
    body = _put_packet_in_props(pin, version, pin.packet)
    cont = pin.continuation if pin.continuation is not None else Continuation()
    body += _prop_nested(NXPINT_CONTINUATION, _encode_continuation(cont, version))
    return ofp_msgs.encode("NXT_RESUME", version, body, xid)


def decode_resume(msg: Msg, loose: bool = False) -> PacketIn:
    """An ``NXT_RESUME``: the packet-in it resumes.  The switch decodes strictly (the default)."""
    if msg.raw.name != "NXT_RESUME":
        raise OFPDecodeError("OFPBRC_BAD_TYPE", f"{msg.raw.name} is not NXT_RESUME")
    return _decode_packet_in2(msg, loose, True)


# --- packet-out ------------------------------------------------------------------------------------------------

def encode_packet_out(po: PacketOut, version: int, xid: int = 0) -> bytes:
    """OVS ``ofputil_encode_packet_out``: ``OFPT10_PACKET_OUT``, ``OFPT11_PACKET_OUT`` (1.1 to 1.4) or
    ``OFPT15_PACKET_OUT`` (the metadata as an OXM match).  Before OpenFlow 1.5 only ``in_port`` of the metadata
    is sent, as in Open vSwitch (``ovs-ofctl`` refuses other metadata there: its usable protocols exclude them);
    a ``buffer_id`` other than ``NO_BUFFER`` sends no packet data."""
    actions = A.encode_actions(po.actions, version)
    data = po.packet if po.buffer_id == NO_BUFFER else b""
    if version == 1:
        body = struct.pack("!IHH", po.buffer_id, po.in_port, len(actions)) + actions + data
        return ofp_msgs.encode("OFPT10_PACKET_OUT", 1, body, xid)
    if version <= 5:
        body = struct.pack("!IIH6x", po.buffer_id, V.port_to_ofp11(po.in_port), len(actions)) + actions + data
        return ofp_msgs.encode("OFPT11_PACKET_OUT", version, body, xid)
    body = (struct.pack("!IH2x", po.buffer_id, len(actions)) + NX.encode_oxm_match(po.metadata, version, po.tun_md)
            + actions + data)
    return ofp_msgs.encode("OFPT15_PACKET_OUT", version, body, xid)


def _pull_actions(b: bytes, pos: int, actions_len: int, version: int) -> tuple[list[Action], int]:
    """OVS ``ofpacts_pull_openflow_actions``."""
    if actions_len % 8:
        raise OFPDecodeError("OFPBRC_BAD_LEN", f"OpenFlow message actions length {actions_len} is not a multiple "
                                               f"of 8")
    if len(b) - pos < actions_len:
        raise OFPDecodeError("OFPBRC_BAD_LEN", f"OpenFlow message actions length {actions_len} exceeds remaining "
                                               f"message length ({len(b) - pos})")
    return A.decode_actions(b[pos:pos + actions_len], version), pos + actions_len


def decode_packet_out(msg: Msg) -> PacketOut:
    """A packet-out as Open vSwitch's ``ofputil_decode_packet_out`` reads it (see the module docstring)."""
    name = msg.raw.name
    b = msg.body
    v = msg.version
    tun_md = MT.TunMetadata()
    if name == "OFPT15_PACKET_OUT":
        buffer_id, actions_len = struct.unpack_from("!IH", b, 0)
        match, tun_md, pos = _pull_oxm_match(b, 8, True)
        for f, _, _ in match.fields():
            if not _is_pipeline_field(f):
                raise OFPDecodeError("OFPBRC_PIPELINE_FIELDS_ONLY", f"{f.name} is not a pipeline field")
        if not match.get(_IN_PORT)[1]:
            raise OFPDecodeError("OFPBRC_BAD_PORT", "packet-out without in_port")
        actions, pos = _pull_actions(b, pos, actions_len, v)
    elif name == "OFPT11_PACKET_OUT":
        buffer_id, port32, actions_len = struct.unpack_from("!IIH", b, 0)
        in_port = V.port_from_ofp11(port32)
        if in_port is None:
            raise OFPDecodeError("OFPBAC_BAD_OUT_PORT", f"port {port32:#x} is outside the supported range")
        match = _with_in_port(CATCHALL.set(_PACKET_TYPE, 0), in_port)
        actions, pos = _pull_actions(b, 16, actions_len, v)
    elif name == "OFPT10_PACKET_OUT":
        buffer_id, in_port, actions_len = struct.unpack_from("!IHH", b, 0)
        match = _with_in_port(CATCHALL.set(_PACKET_TYPE, 0), in_port)
        actions, pos = _pull_actions(b, 8, actions_len, v)
    else:
        raise OFPDecodeError("OFPBRC_BAD_TYPE", f"{name} is not a packet-out")
    in_port = F.get(match.value, _IN_PORT)
    if in_port >= _OFPP_MAX and in_port not in (_OFPP_LOCAL, _OFPP_NONE, _OFPP_CONTROLLER):
        raise OFPDecodeError("OFPBRC_BAD_PORT", f"packet-out has bad input port {in_port:#x}")
    packet = b[pos:] if buffer_id == NO_BUFFER else b""
    return PacketOut(packet, actions, match, tun_md, buffer_id)


def check_packet_out(po: PacketOut) -> None:
    """What the switch answers to a decoded packet-out before executing it: a buffered packet is unknown (the
    switch buffers nothing), ``OFPBRC_BUFFER_UNKNOWN``."""
    if po.buffer_id != NO_BUFFER:
        raise OFPDecodeError("OFPBRC_BUFFER_UNKNOWN", f"packet-out refers to buffer {po.buffer_id:#x}")


def _eth_from_hex(text: str) -> bytes:
    """OVS ``eth_from_hex``: hex digit pairs, white space allowed between pairs, at least an Ethernet header."""
    out = bytearray()
    i = 0
    n = len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        pair = text[i:i + 2]
        if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
            out.append(int(pair, 16))
            i += 2
            continue
        break
    if i < n:
        raise PacketOutParseError("Trailing garbage in packet data")
    if len(out) < 14:
        raise PacketOutParseError("Packet data too short for Ethernet")
    return bytes(out)


def _parse_actions(text: str) -> list[Action]:
    try:
        return parse_actions(text)
    except ActionParseError as e:
        raise PacketOutParseError(str(e)) from None


def parse_packet_out(text: str) -> PacketOut:
    """OVS ``parse_ofp_packet_out_str``: ``in_port=PORT packet=HEX [FIELD=VALUE...] actions=ACTIONS``.  The
    input port defaults to CONTROLLER.  Raises ``PacketOutParseError``."""
    from pyvswitch.ofproto.flow_mod_text import extract_actions
    rest, act_str = extract_actions(text)
    b = MT.MatchBuilder()
    b.set_slot("in_port", _OFPP_CONTROLLER, 0xFFFF)
    packet: bytes | None = None
    for name, value in MT.split_key_values(rest):
        if not value:
            raise PacketOutParseError(f"field {name} missing value")
        if name == "in_port":
            port = V.parse_port(value)
            if port is None:
                raise PacketOutParseError(f"{value} is not a valid OpenFlow port")
            if port > _OFPP_MAX and port not in (_OFPP_LOCAL, _OFPP_NONE, _OFPP_CONTROLLER):
                raise PacketOutParseError(f"{value} is not a valid OpenFlow port for PACKET_OUT")
            b.set_slot("in_port", port, 0xFFFF)
        elif name == "packet_type":
            if "," not in value:
                raise PacketOutParseError(f"{name}({value}) can't be interpreted")
            ns, ns_type = value.split(",", 1)
            b.set_slot("packet_type", ((_strtoul(ns) & 0xFFFF) << 16) | (_strtoul(ns_type) & 0xFFFF), 0xFFFFFFFF)
        elif name == "packet":
            try:
                packet = _eth_from_hex(value)
            except PacketOutParseError as e:
                raise PacketOutParseError(f"{name}: {e}") from None
        else:
            f = F.BY_NAME.get(name)
            if f is None or name in MT.OVS_UNKNOWN_NAMES:
                raise PacketOutParseError(f"unknown keyword {name}")
            try:
                MT.parse_field_into(b, f, value)
            except MT.MatchParseError as e:
                raise PacketOutParseError(str(e)) from None
            if not _is_pipeline_field(f):
                raise PacketOutParseError(f"{name} is not a valid pipeline field for PACKET_OUT")
    if not packet:
        raise PacketOutParseError("must specify packet")
    actions = _parse_actions(act_str) if act_str is not None else []
    return PacketOut(packet, actions, b.match(), b.tun_md)


def _strtoul(s: str) -> int:
    """C ``strtoul(s, NULL, 0)``: leading white space, optional sign, 0x/0 prefixes; garbage stops it."""
    s = s.lstrip(" \t\n\v\f\r")
    neg = s.startswith("-")
    if s[:1] in "+-" and s:
        s = s[1:]
    base = 10
    if s[:2].lower() == "0x" and len(s) > 2 and s[2] in "0123456789abcdefABCDEF":
        base, s = 16, s[2:]
    elif s.startswith("0"):
        base = 8
    digits = "0123456789abcdef"[:base]
    v = 0
    for c in s:
        d = digits.find(c.lower())
        if d < 0:
            break
        v = v * base + d
    v = min(v, 0xFFFFFFFFFFFFFFFF)
    return (-v) & 0xFFFFFFFFFFFFFFFF if neg else v


def parse_packet_out_args(in_port: str, actions: str, packets: Sequence[str], switch: str = "SWITCH",
                          port_names: dict[str, int] | None = None) -> list[PacketOut]:
    """The old form ``ovs-ofctl packet-out SWITCH IN_PORT ACTIONS PACKET...``: one packet-out per packet, the
    input port a number, a reserved name or one of ``port_names`` (ovs-ofctl asks the switch).  Raises
    ``PacketOutParseError``; the actions are parsed first, then the port, then each packet, as ovs-ofctl does."""
    acts = _parse_actions(actions)
    port = V.parse_port(in_port)
    if port is None and port_names is not None:
        port = port_names.get(in_port)
    if port is None:
        raise PacketOutParseError(f"{switch}: unknown port `{in_port}'")
    match = _with_in_port(CATCHALL, port)
    return [PacketOut(_eth_from_hex(p), list(acts), match) for p in packets]


# --- flow-removed ----------------------------------------------------------------------------------------------

_OXS_CLASS = 0x8002
_OXS_DURATION = (_OXS_CLASS << 16) | (0 << 9) | 8
_OXS_IDLE_TIME = (_OXS_CLASS << 16) | (1 << 9) | 8
_OXS_FLOW_COUNT = (_OXS_CLASS << 16) | (3 << 9) | 4
_OXS_PACKET_COUNT = (_OXS_CLASS << 16) | (4 << 9) | 8
_OXS_BYTE_COUNT = (_OXS_CLASS << 16) | (5 << 9) | 8
_U64_MAX = 0xFFFFFFFFFFFFFFFF


def _put_match11(m: Match, version: int, tun_md: MT.TunMetadata) -> bytes:
    """OVS ``ofputil_put_ofp11_match``: the fixed ofp11_match in OpenFlow 1.1, OXM after."""
    return M.encode_ofp11_match(m) if version == 2 else NX.encode_oxm_match(m, version, tun_md)


def _encode_oxs(fr: FlowRemoved) -> bytes:
    """OVS ``oxs_put_stats`` for a flow-removed: duration, packet and byte counts (idle time and flow count are
    "unknown" and left out; all-ones counts too)."""
    out = struct.pack("!IQ", _OXS_DURATION, ((fr.duration_sec & 0xFFFFFFFF) << 32) | (fr.duration_nsec & 0xFFFFFFFF))
    if fr.packet_count != _U64_MAX:
        out += struct.pack("!IQ", _OXS_PACKET_COUNT, fr.packet_count & _U64_MAX)
    if fr.byte_count != _U64_MAX:
        out += struct.pack("!IQ", _OXS_BYTE_COUNT, fr.byte_count & _U64_MAX)
    return _pad8(struct.pack("!HH", 0, 4 + len(out)) + out)


def _pull_oxs(b: bytes, pos: int) -> tuple[dict[str, int], int]:
    """OVS ``oxs_pull_stat``: the known statistics (unknown entries are skipped) and the position after them."""
    stats = {"duration_sec": 0xFFFFFFFF, "duration_nsec": 0xFFFFFFFF, "packet_count": _U64_MAX,
             "byte_count": _U64_MAX}
    if len(b) - pos < 4:
        raise OFPDecodeError("OFPBMC_BAD_LEN")
    (stat_len,) = struct.unpack_from("!H", b, pos + 2)
    if stat_len < 4:
        raise OFPDecodeError("OFPBMC_BAD_LEN")
    padded = (stat_len + 7) // 8 * 8
    if len(b) - pos < padded:
        raise OFPDecodeError("OFPBMC_BAD_LEN", f"oxs length {stat_len}, rounded up to a multiple of 8, is longer "
                                               f"than space in message")
    p, end = pos + 4, pos + stat_len
    while p < end:
        if end - p < 4:
            raise OFPDecodeError("OFPBMC_BAD_LEN", "encountered partial OXS entry")
        (hdr,) = struct.unpack_from("!I", b, p)
        hlen = 4
        length = hdr & 0xFF
        if hdr >> 16 == 0xFFFF:
            if end - p < 8:
                raise OFPDecodeError("OFPBMC_BAD_LEN", "encountered partial OXS entry")
            if length < 4:
                raise OFPDecodeError("OFPBMC_BAD_LEN", "OXS header has invalid length")
            hlen, length = 8, length - 4
        p += hlen
        if end - p < length:
            raise OFPDecodeError("OFPBMC_BAD_LEN")
        payload = b[p:p + length]
        p += length
        if hlen == 8:
            continue
        if hdr == _OXS_DURATION:
            d = int.from_bytes(payload, "big")
            stats["duration_sec"], stats["duration_nsec"] = d >> 32, d & 0xFFFFFFFF
        elif hdr == _OXS_PACKET_COUNT:
            stats["packet_count"] = int.from_bytes(payload, "big")
        elif hdr == _OXS_BYTE_COUNT:
            stats["byte_count"] = int.from_bytes(payload, "big")
    return stats, pos + padded


def encode_flow_removed(fr: FlowRemoved, version: int, xid: int = 0, nxm: bool = False) -> bytes:
    """OVS ``ofputil_encode_flow_removed``: ``NXT_FLOW_REMOVED`` when ``nxm`` (an OpenFlow 1.0 connection that
    chose the NXM flow format), else the version's ``OFPT_FLOW_REMOVED``.  ``meter_delete`` reads ``delete``
    before OpenFlow 1.4."""
    reason = fr.reason
    if reason == OFPRR_METER_DELETE and version < 5:
        reason = OFPRR_DELETE
    if version == 1 and nxm:
        raw = NX.encode_match(fr.match, 0, fr.tun_md)
        body = (struct.pack("!QHBBIIHHQQ", fr.cookie & _U64_MAX, fr.priority & 0xFFFF, reason & 0xFF,
                            (fr.table_id + 1) & 0xFF, fr.duration_sec & 0xFFFFFFFF, fr.duration_nsec & 0xFFFFFFFF,
                            fr.idle_timeout & 0xFFFF, len(raw), fr.packet_count & _U64_MAX,
                            fr.byte_count & _U64_MAX) + _pad8(raw))
        return ofp_msgs.encode("NXT_FLOW_REMOVED", 1, body, xid)
    if version == 1:
        pc = 0 if fr.packet_count == _U64_MAX else fr.packet_count
        bc = 0 if fr.byte_count == _U64_MAX else fr.byte_count
        body = (M.encode_ofp10_match(fr.match)
                + struct.pack("!QHBxIIH2xQQ", fr.cookie & _U64_MAX, fr.priority & 0xFFFF, reason & 0xFF,
                              fr.duration_sec & 0xFFFFFFFF, fr.duration_nsec & 0xFFFFFFFF, fr.idle_timeout & 0xFFFF,
                              pc & _U64_MAX, bc & _U64_MAX))
        return ofp_msgs.encode("OFPT10_FLOW_REMOVED", 1, body, xid)
    if version <= 5:
        body = (struct.pack("!QHBBIIHHQQ", fr.cookie & _U64_MAX, fr.priority & 0xFFFF, reason & 0xFF,
                            fr.table_id & 0xFF, fr.duration_sec & 0xFFFFFFFF, fr.duration_nsec & 0xFFFFFFFF,
                            fr.idle_timeout & 0xFFFF, fr.hard_timeout & 0xFFFF, fr.packet_count & _U64_MAX,
                            fr.byte_count & _U64_MAX) + _put_match11(fr.match, version, fr.tun_md))
        return ofp_msgs.encode("OFPT11_FLOW_REMOVED", version, body, xid)
    body = (struct.pack("!BBHHHQ", fr.table_id & 0xFF, reason & 0xFF, fr.priority & 0xFFFF, fr.idle_timeout & 0xFFFF,
                        fr.hard_timeout & 0xFFFF, fr.cookie & _U64_MAX)
            + NX.encode_oxm_match(fr.match, version, fr.tun_md) + _encode_oxs(fr))
    return ofp_msgs.encode("OFPT15_FLOW_REMOVED", version, body, xid)


def decode_flow_removed(msg: Msg) -> FlowRemoved:
    """Any flow-removed message as Open vSwitch's ``ofputil_decode_flow_removed`` reads it."""
    name = msg.raw.name
    b = msg.body
    if name == "OFPT15_FLOW_REMOVED":
        table_id, reason, priority, idle, hard, cookie = struct.unpack_from("!BBHHHQ", b, 0)
        match, md, pos = M.pull_ofp11_match(b, 16)
        stats, _ = _pull_oxs(b, pos)
        return FlowRemoved(match, cookie, priority, reason, table_id, stats["duration_sec"], stats["duration_nsec"],
                           idle, hard, stats["packet_count"], stats["byte_count"], md)
    if name == "OFPT11_FLOW_REMOVED":
        (cookie, priority, reason, table_id, dsec, dnsec, idle, hard, pc,
         bc) = struct.unpack_from("!QHBBIIHHQQ", b, 0)
        match, md, _ = M.pull_ofp11_match(b, 40)
        return FlowRemoved(match, cookie, priority, reason, table_id, dsec, dnsec, idle, hard, pc, bc, md)
    if name == "OFPT10_FLOW_REMOVED":
        match, _, before = M.decode_ofp10_match(b, 0)
        cookie, priority, reason, dsec, dnsec, idle, pc, bc = struct.unpack_from("!QHBxIIH2xQQ", b, 40)
        return FlowRemoved(before if before is not None else match, cookie, priority, reason, 255, dsec, dnsec,
                           idle, 0, pc, bc)
    if name == "NXT_FLOW_REMOVED":
        (cookie, priority, reason, table_id, dsec, dnsec, idle, match_len, pc,
         bc) = struct.unpack_from("!QHBBIIHHQQ", b, 0)
        match, md, pos = _pull_nx_match(b, 40, match_len, False)
        if pos != len(b):
            raise OFPDecodeError("OFPBRC_BAD_LEN")
        return FlowRemoved(match, cookie, priority, reason, table_id - 1 if table_id else 255, dsec, dnsec, idle, 0,
                           pc, bc, md)
    raise OFPDecodeError("OFPBRC_BAD_TYPE", f"{name} is not a flow-removed")


# --- printing --------------------------------------------------------------------------------------------------

_KEYWORDS = frozenset({"ip", "icmp", "tcp", "udp", "sctp", "ipv6", "icmp6", "tcp6", "udp6", "sctp6", "arp", "rarp",
                       "mpls", "mplsm"})
_L2_ITEMS = ("vlan_tci=", "dl_vlan=", "dl_vlan_pcp=", "vlan_tci1=", "dl_vlan1=", "dl_vlan_pcp1=", "dl_src=",
             "dl_dst=", "dl_type=")


def packet_to_string(data: bytes, packet_type: int = 0) -> str:
    """OVS ``ofp_packet_to_string``: the flow of the packet (as ``flow_format`` prints it, without the zero
    ``in_port``) and its transport checksum, then a newline.  ``packet_type`` 0 is Ethernet; ``(1, ETHERTYPE)``
    packets start at their network header and print ``packet_type=(1,ETHERTYPE)`` instead of the Ethernet
    fields; so are other packet types, their low 16 bits taken as an Ethernet type (Open vSwitch then omits
    ``tcp_flags``, whose printing looks at the packet type's own Ethernet type, none for them)."""
    if packet_type:
        # Open vSwitch takes the low 16 bits of any other packet type as the Ethernet type of a packet that
        # starts at its network header: parse behind a made-up Ethernet header, then leave the Ethernet fields out.
        data = bytes(12) + struct.pack("!H", packet_type & 0xFFFF) + data
    ex = X.extract_with_offsets(data, 0)
    key = ex.key
    items = [i for i in format_flow(key).split(",") if i != "in_port=0"]
    g = F.storage_get
    nw_proto = g(key, "nw_proto")
    if packet_type:
        pt = V.format_packet_type(packet_type)
        out = []
        for i in items:
            if i in _KEYWORDS:
                out.append(pt)
                pt = ""
            elif i.startswith("nw_tos=") and not any(x.startswith("nw_proto=") for x in out):
                out += [f"nw_proto={nw_proto}", i]
            elif not i.startswith(_L2_ITEMS) and not (packet_type >> 16 != 1 and i.startswith("tcp_flags=")):
                out.append(i)
        items = ([pt] if pt else []) + out
    s = ",".join(items)
    l4 = ex.l4_ofs
    if l4 is not None:
        end = len(data)
        dl_type = g(key, "dl_type")
        l3 = ex.l3_ofs if ex.l3_ofs is not None else 0
        # Open vSwitch drops the Ethernet padding behind the IP datagram (its l2_pad_size).
        if dl_type == 0x0800 and len(data) - l3 >= 4:
            end = min(end, l3 + struct.unpack_from("!H", data, l3 + 2)[0])
        elif dl_type == 0x86DD and len(data) - l3 >= 6:
            end = min(end, l3 + 40 + struct.unpack_from("!H", data, l3 + 4)[0])
        l4_size = end - l4
        if nw_proto == 6 and l4_size >= 20:
            s += f" tcp_csum:{struct.unpack_from('!H', data, l4 + 16)[0]:x}"
        elif nw_proto == 17 and l4_size >= 8:
            s += f" udp_csum:{struct.unpack_from('!H', data, l4 + 6)[0]:x}"
        elif nw_proto == 132 and l4_size >= 12:
            s += f" sctp_csum:{struct.unpack_from('!I', data, l4 + 8)[0]:x}"
        elif nw_proto == 1 and l4_size >= 4:
            s += f" icmp_csum:{struct.unpack_from('!H', data, l4 + 2)[0]:x}"
        elif nw_proto == 58 and l4_size >= 4:
            s += f" icmp6_csum:{struct.unpack_from('!H', data, l4 + 2)[0]:x}"
    return s + "\n"


def _hex_arg(data: bytes) -> str:
    return ".".join(f"{c:02x}" for c in data)


def _subvalue(v: bytes) -> str:
    """OVS ``mf_subvalue_format``: the value in hex without leading zero bytes (``0`` when all zero)."""
    n = int.from_bytes(v, "big")
    return f"{n:#x}" if n else "0"


def format_packet_in(pin: PacketIn, verbosity: int = 1) -> str:
    """What ofp-print prints for a decoded packet-in after the header text."""
    s = ""
    if pin.table_id:
        s += f" table_id={pin.table_id}"
    if pin.cookie != NO_COOKIE:
        s += f" cookie={pin.cookie:#x}"
    total = pin.full_len
    s += f" total_len={total} " + MT.format_match(pin.metadata, None, pin.tun_md)
    reason = PACKET_IN_REASONS.get(pin.reason, str(pin.reason))
    s += f" (via {reason}) data_len={len(pin.packet)}"
    if pin.buffer_id == NO_BUFFER:
        s += " (unbuffered)"
        if total != len(pin.packet):
            s += " (***total_len != data_len***)"
    else:
        s += f" buffer=0x{pin.buffer_id:08x}"
        if total < len(pin.packet):
            s += " (***total_len < data_len***)"
    s += "\n"
    if pin.userdata:
        s += f" userdata={_hex_arg(pin.userdata)}\n"
    c = pin.continuation
    if c is not None:
        if c.bridge is not None and c.bridge.int:
            s += f" continuation.bridge={c.bridge}\n"
        if c.stack:
            s += " continuation.stack=(top) " + " ".join(_subvalue(v) for v in c.stack) + " (bottom)\n"
        if c.mirrors:
            s += f" continuation.mirrors={c.mirrors:#x}\n"
        if c.conntracked:
            s += " continuation.conntracked=true\n"
        if c.actions:
            parts = []
            for t, ck, acts in c.actions:
                parts.append(f"unroll_xlate(table={t}, cookie={ck})")
                parts.extend(a.fmt() for a in acts)
            s += " continuation.actions=" + ",".join(parts) + "\n"
        if c.action_set:
            s += " continuation.action_set=" + format_actions(c.action_set) + "\n"
        if c.odp_port:
            s += f" continuation.odp_port={c.odp_port}\n"
    if verbosity > 0:
        s += packet_to_string(pin.packet, F.get(pin.metadata.value, _PACKET_TYPE))
    return s


def format_packet_out(po: PacketOut, verbosity: int = 1) -> str:
    """What ofp-print prints for a decoded packet-out after the header text."""
    s = " " + MT.format_match(po.metadata, None, po.tun_md) + " actions=" + format_actions(po.actions)
    if po.buffer_id == NO_BUFFER:
        s += f" data_len={len(po.packet)}"
        if verbosity > 0 and po.packet:
            s += "\n" + packet_to_string(po.packet, F.get(po.metadata.value, _PACKET_TYPE))
    else:
        s += f" buffer=0x{po.buffer_id:08x}"
    return s


def _duration(sec: int, nsec: int) -> str:
    """OVS ``ofp_print_duration``."""
    s = str(sec)
    if nsec > 0:
        msec = nsec // 1000000
        if msec * 1000000 == nsec:
            s += f".{msec:03d}"
        else:
            s += f".{nsec:09d}".rstrip("0")
    return s + "s"


def format_flow_removed(fr: FlowRemoved) -> str:
    """What ofp-print prints for a decoded flow-removed after the header text."""
    s = " " + MT.format_match(fr.match, fr.priority, fr.tun_md)
    s += f" reason={FLOW_REMOVED_REASONS.get(fr.reason, str(fr.reason))}"
    if fr.table_id != 255:
        s += f" table_id={fr.table_id}"
    if fr.cookie:
        s += f" cookie:{fr.cookie:#x}"
    s += f" duration{_duration(fr.duration_sec, fr.duration_nsec)} idle{fr.idle_timeout}"
    if fr.hard_timeout:
        s += f" hard{fr.hard_timeout}"
    return s + f" pkts{fr.packet_count} bytes{fr.byte_count}\n"


def _print_packet_in(msg: Msg) -> str:
    return format_packet_in(decode_packet_in(msg, loose=True))


def _print_resume(msg: Msg) -> str:
    return format_packet_in(decode_resume(msg, loose=True))


def _print_packet_out(msg: Msg) -> str:
    return format_packet_out(decode_packet_out(msg))


def _print_flow_removed(msg: Msg) -> str:
    return format_flow_removed(decode_flow_removed(msg))


PRINTERS: dict[str, Callable[[Msg], str]] = {
    "PACKET_IN": _print_packet_in,
    "NXT_RESUME": _print_resume,
    "PACKET_OUT": _print_packet_out,
    "FLOW_REMOVED": _print_flow_removed,
}
