"""Flow statistics and aggregate statistics: the requests and replies behind ``ovs-ofctl dump-flows`` and
``ovs-ofctl dump-aggregate``, byte-exact with Open vSwitch 3.1, and their text as ovs-ofctl prints it.

Layouts (OpenFlow 1.0 section 5.3.5, 1.1+ section 7.3.5, 1.5 section 7.3.5.2, Open vSwitch's nicira-ext.h); the
bodies follow the multipart (stats) header, which ``ofp_msgs`` handles::

    OFPST10 request:   ofp10_match(40) table_id:8 pad:8 out_port:16                                    (44)
    NXST request:      out_port:16 match_len:16 table_id:8 pad:24 nx_match (padded to 8)                (8 + m)
    OFPST11+ request:  table_id:8 pad:24 out_port:32 out_group:32 pad:32 cookie:64 cookie_mask:64
                       match (ofp11_match or OXM)                                                       (32 + m)
    OFPST10 entry:     length:16 table_id:8 pad:8 ofp10_match(40) duration_sec:32 duration_nsec:32
                       priority:16 idle:16 hard:16 pad:48 cookie:64 packets:64 bytes:64 actions...    (88 + a)
    NXST entry:        length:16 table_id:8 pad:8 duration_sec:32 duration_nsec:32 priority:16 idle:16
                       hard:16 match_len:16 idle_age:16 hard_age:16 cookie:64 packets:64 bytes:64
                       nx_match (padded) actions...                                                     (48 + m + a)
    OFPST11/13 entry:  length:16 table_id:8 pad:8 duration_sec:32 duration_nsec:32 priority:16 idle:16
                       hard:16 flags:16 (1.3+) importance:16 (1.4+) pad:16 cookie:64 packets:64 bytes:64
                       match instructions...                                                           (48 + m + i)
    OFPST15 entry:     length:16 pad:16 table_id:8 pad:8 priority:16 idle:16 hard:16 flags:16 importance:16
                       cookie:64 match OXS-stats instructions...                                       (24 + m + s + i)
    aggregate reply:   packet_count:64 byte_count:64 flow_count:32 pad:32                              (24)
    OFPST15 aggregate: OXS-stats                                                                        (s)

OXS statistics (OpenFlow 1.5 section 7.2.4) are ``reserved:16 length:16`` and entries of class 0x8002 with a
32-bit header like OXM's: duration (field 0, ``sec:32 nsec:32``), idle time (1, the seconds in the high word),
flow count (3, 32 bits), packet count (4) and byte count (5).  Open vSwitch leaves out what it does not know.

Choices that follow Open vSwitch (``ofputil_encode_flow_stats_request``, ``ofputil_append_flow_stats_reply`` and
their decoders):

* OpenFlow 1.1 requests carry the fixed ``ofp11_match``; replies of every version from 1.1 on carry OXM, even in
  1.1.  Decoders take either.
* NXST entries carry ``idle_age`` and ``hard_age`` plus one (0 means unknown); ``ovs-ofctl`` shows them.  Other
  versions have no ages, except OpenFlow 1.5's OXS idle time.  ``hard_age`` is shown only when it differs from the
  duration.
* Counts that Open vSwitch does not know are all-ones (``UNKNOWN``); OpenFlow 1.0, 1.1 and 1.3 replies send them as
  0 (NXST as they are), OXS leaves them out, and ``ovs-ofctl`` prints ``?``.
* The OpenFlow 1.0 match of a request or an entry is not normalized, unlike a flow-mod's.

Printing: ``format_flow_stats`` is one ``dump-flows`` line and ``PRINTERS`` give what ``ovs-ofctl ofp-print``
prints after the header.  A reply whose entries fail to decode part-way is printed by Open vSwitch with the entries
before the failure; ``PartialDecodeError`` carries that text (``partial``) for the central printer.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyvswitch.flow import match_text as MT
from pyvswitch.flow import values as V
from pyvswitch.flow.match import CATCHALL, Match
from pyvswitch.ofproto.actions import format_actions
from pyvswitch.ofproto.flow_mod import OFPG_ANY, FlowModFlags
from pyvswitch.openflow import nx_match as NX
from pyvswitch.openflow import ofp_actions as A
from pyvswitch.openflow import ofp_match as M
from pyvswitch.openflow import ofp_msgs
from pyvswitch.openflow.ofp_errors import OFPDecodeError
from pyvswitch.openflow.ofp_match import pull_ofp11_match
from pyvswitch.openflow.ofp_msgs import Msg

__all__ = [
    "INVALID",
    "PRINTERS",
    "UNKNOWN",
    "AggregateStats",
    "FlowStats",
    "FlowStatsRequest",
    "PartialDecodeError",
    "decode_aggregate_reply",
    "decode_flow_stats_reply",
    "decode_flow_stats_request",
    "encode_aggregate_reply",
    "encode_flow_stats_replies",
    "encode_flow_stats_reply",
    "encode_flow_stats_request",
    "format_aggregate",
    "format_duration",
    "format_flow_mod_flags",
    "format_flow_stats",
    "format_flow_stats_request",
    "pull_ofp11_match",
]

OFPTT_ALL = 0xFF
UNKNOWN = 0xFFFFFFFFFFFFFFFF
"""A packet or byte count that the switch does not know (Open vSwitch's UINT64_MAX)."""
_U32_MAX = 0xFFFFFFFF
INVALID = "<invalid>"
"""The error "name" of a malformed OpenFlow 1.5 flow statistics entry: Open vSwitch returns errno EINVAL there,
not an OpenFlow error, and ovs-ofctl prints it as ``***decode error: <invalid>***``."""

_OFP10_REQ_LEN = 44
_NX_REQ_LEN = 8
_OFP11_REQ_LEN = 32
_OFP10_ENTRY_LEN = 88
_NX_ENTRY_LEN = 48
_OFP11_ENTRY_LEN = 48
_OFP15_DESC_LEN = 24
_AGG_LEN = 24

# OXS (OpenFlow 1.5 section 7.2.4): class OFPXSC_OPENFLOW_BASIC and the fields Open vSwitch knows.
OFPXSC_OPENFLOW_BASIC = 0x8002
OFPXSC_EXPERIMENTER = 0xFFFF
OXS_DURATION, OXS_IDLE_TIME, OXS_FLOW_COUNT, OXS_PACKET_COUNT, OXS_BYTE_COUNT = 0, 1, 3, 4, 5
_OXS_LEN = {OXS_DURATION: 8, OXS_IDLE_TIME: 8, OXS_FLOW_COUNT: 4, OXS_PACKET_COUNT: 8, OXS_BYTE_COUNT: 8}

# Flow-mod flags on the wire, as in flow-mods: (model flag, bit, first version).
_FLAG_BITS = [(FlowModFlags.SEND_FLOW_REM, 1 << 0, 1), (FlowModFlags.CHECK_OVERLAP, 1 << 1, 1),
              (FlowModFlags.RESET_COUNTS, 1 << 2, 3), (FlowModFlags.NO_PACKET_COUNTS, 1 << 3, 4),
              (FlowModFlags.NO_BYTE_COUNTS, 1 << 4, 4)]
_FLAG_NAMES = [(FlowModFlags.SEND_FLOW_REM, "send_flow_rem"), (FlowModFlags.CHECK_OVERLAP, "check_overlap"),
               (FlowModFlags.RESET_COUNTS, "reset_counts"), (FlowModFlags.NO_PACKET_COUNTS, "no_packet_counts"),
               (FlowModFlags.NO_BYTE_COUNTS, "no_byte_counts")]


class PartialDecodeError(OFPDecodeError):
    """A multipart reply whose entries failed to decode part-way: ``partial`` is what ``ovs-ofctl ofp-print``
    prints for the entries before the failure (Open vSwitch prints them, then the decode error)."""

    def __init__(self, code: str, partial: str, detail: str = "") -> None:
        super().__init__(code, detail)
        self.partial = partial


@dataclass
class FlowStatsRequest:
    """A flow or aggregate statistics request (Open vSwitch's ``ofputil_flow_stats_request``): the flows in
    ``table_id`` (255: all tables) that match ``match`` (loosely), output to ``out_port`` / ``out_group`` (the
    ANY values: any) and have ``cookie`` in the bits of ``cookie_mask``."""

    match: Match = CATCHALL
    table_id: int = OFPTT_ALL
    out_port: int = V.OFPP_ANY
    out_group: int = OFPG_ANY
    cookie: int = 0
    cookie_mask: int = 0
    aggregate: bool = False
    tun_md: MT.TunMetadata = field(default_factory=MT.TunMetadata)


@dataclass
class FlowStats:
    """One flow of a flow statistics reply (``ofputil_flow_stats``).  ``idle_age`` and ``hard_age`` are seconds,
    None when unknown; counts are ``UNKNOWN`` when unknown."""

    match: Match = CATCHALL
    table_id: int = 0
    duration_sec: int = 0
    duration_nsec: int = 0
    priority: int = 0x8000
    idle_timeout: int = 0
    hard_timeout: int = 0
    importance: int = 0
    flags: FlowModFlags = FlowModFlags.NONE
    cookie: int = 0
    packet_count: int = 0
    byte_count: int = 0
    idle_age: int | None = None
    hard_age: int | None = None
    actions: list[Any] = field(default_factory=list)
    tun_md: MT.TunMetadata = field(default_factory=MT.TunMetadata)


@dataclass
class AggregateStats:
    """An aggregate statistics reply: totals over the matching flows (``UNKNOWN`` / 0xffffffff when unknown)."""

    packet_count: int = 0
    byte_count: int = 0
    flow_count: int = 0


# --- raw message names ---------------------------------------------------------------------------------------

def _request_raw(version: int, aggregate: bool, nxm: bool) -> str:
    kind = "AGGREGATE" if aggregate else "FLOW"
    if version == 1:
        return f"NXST_{kind}_REQUEST" if nxm else f"OFPST10_{kind}_REQUEST"
    if aggregate and version >= 6:
        return "OFPST15_AGGREGATE_REQUEST"
    return f"OFPST11_{kind}_REQUEST"


def _reply_raw(version: int, nxm: bool) -> str:
    if version == 1:
        return "NXST_FLOW_REPLY" if nxm else "OFPST10_FLOW_REPLY"
    if version <= 3:
        return "OFPST11_FLOW_REPLY"
    if version <= 5:
        return "OFPST13_FLOW_REPLY"
    return "OFPST15_FLOW_REPLY"


def _aggregate_reply_raw(version: int, nxm: bool) -> str:
    if version == 1 and nxm:
        return "NXST_AGGREGATE_REPLY"
    return "OFPST15_AGGREGATE_REPLY" if version >= 6 else "OFPST_AGGREGATE_REPLY"


# --- shared pieces -------------------------------------------------------------------------------------------

def _raw_flags(flags: FlowModFlags, version: int) -> int:
    return sum(bit for flag, bit, lo in _FLAG_BITS if flags & flag and version >= lo)


def _decode_flags(raw: int, version: int) -> FlowModFlags:
    """OVS ``ofputil_decode_flow_mod_flags`` for a stats entry (no command, so no implicit reset_counts)."""
    flags = FlowModFlags.NONE
    for flag, bit, lo in _FLAG_BITS:
        if raw & bit and version >= lo:
            raw &= ~bit
            flags |= flag
    if version == 1 and raw & (1 << 2):
        raw &= ~(1 << 2)            # OFPFF10_EMERG: known to the decoder, not kept
    if raw:
        raise OFPDecodeError("OFPFMFC_BAD_FLAGS")
    return flags


def _raw_ofp10_match(data: bytes, pos: int) -> Match:
    """OVS ``ofputil_match_from_ofp10_match`` without the normalization a flow-mod gets."""
    norm, _, raw = M.decode_ofp10_match(data, pos)
    return norm if raw is None else raw


def _pull_nx_match(data: bytes, pos: int, match_len: int, *, allow_cookie: bool
                   ) -> tuple[Match, MT.TunMetadata, int, int, int]:
    """OVS ``nx_pull_match``: ``match_len`` bytes of NXM padded to 8; returns the match, its tunnel metadata, the
    cookie and cookie mask, and the position after the padding."""
    padded = (match_len + 7) // 8 * 8
    if padded > len(data) - pos:
        raise OFPDecodeError("OFPBMC_BAD_LEN", f"nx_match length {match_len}, rounded up to a multiple of 8, is "
                                               f"longer than space in message")
    match, md, cookie, cookie_mask = NX.decode_match(data[pos:pos + match_len], allow_cookie=allow_cookie)
    return match, md, cookie, cookie_mask, pos + padded


def _encode_oxs(duration: tuple[int, int] | None, idle_age: int | None, packet_count: int, byte_count: int,
                flow_count: int | None) -> bytes:
    """OVS ``oxs_put_stats``: the OXS statistics Open vSwitch knows, padded to 8."""
    out = b""

    def hdr(fld: int) -> bytes:
        return struct.pack("!I", (OFPXSC_OPENFLOW_BASIC << 16) | (fld << 9) | _OXS_LEN[fld])

    if duration is not None:
        out += hdr(OXS_DURATION) + struct.pack("!II", duration[0] & _U32_MAX, duration[1] & _U32_MAX)
    if idle_age is not None:
        out += hdr(OXS_IDLE_TIME) + struct.pack("!Q", (idle_age & _U32_MAX) << 32)
    if packet_count != UNKNOWN:
        out += hdr(OXS_PACKET_COUNT) + struct.pack("!Q", packet_count & UNKNOWN)
    if byte_count != UNKNOWN:
        out += hdr(OXS_BYTE_COUNT) + struct.pack("!Q", byte_count & UNKNOWN)
    if flow_count is not None:
        out += hdr(OXS_FLOW_COUNT) + struct.pack("!I", flow_count & _U32_MAX)
    length = 4 + len(out)
    raw = struct.pack("!HH", 0, length) + out
    return raw + bytes(-len(raw) % 8)


@dataclass
class _Oxs:
    duration_sec: int = _U32_MAX
    duration_nsec: int = _U32_MAX
    idle_age: int = _U32_MAX
    packet_count: int = UNKNOWN
    byte_count: int = UNKNOWN
    flow_count: int = _U32_MAX


def _pull_oxs(data: bytes, pos: int) -> tuple[_Oxs, int]:
    """OVS ``oxs_pull_stat``: the statistics at ``data[pos:]`` and the position after their padding.  Unknown
    statistics are skipped, as Open vSwitch does."""
    st = _Oxs()
    if len(data) - pos < 4:
        raise OFPDecodeError("OFPBMC_BAD_LEN")
    (stat_len,) = struct.unpack_from("!H", data, pos + 2)
    if stat_len < 4:
        raise OFPDecodeError("OFPBMC_BAD_LEN")
    padded = (stat_len + 7) // 8 * 8
    if padded > len(data) - pos:
        raise OFPDecodeError("OFPBMC_BAD_LEN", f"oxs length {stat_len}, rounded up to a multiple of 8, is longer "
                                               f"than space in message")
    p, end = pos + 4, pos + stat_len
    while p < end:
        if end - p < 4:
            raise OFPDecodeError("OFPBMC_BAD_LEN")
        (h,) = struct.unpack_from("!I", data, p)
        oxs_class, oxs_field, length = h >> 16, (h >> 9) & 0x7F, h & 0xFF
        hlen = 4
        if oxs_class == OFPXSC_EXPERIMENTER:
            if end - p < 8:
                raise OFPDecodeError("OFPBMC_BAD_LEN")
            if length < 4:
                raise OFPDecodeError("OFPBMC_BAD_LEN")
            hlen, length = 8, length - 4
        p += hlen
        if end - p < length:
            raise OFPDecodeError("OFPBMC_BAD_LEN")
        payload = data[p:p + length]
        p += length
        # Open vSwitch compares the whole header (reserved bit included) with the ones it knows.
        if oxs_class != OFPXSC_OPENFLOW_BASIC or h & 0x100 or _OXS_LEN.get(oxs_field) != length:
            continue
        if oxs_field == OXS_DURATION:
            st.duration_sec, st.duration_nsec = struct.unpack("!II", payload)
        elif oxs_field == OXS_IDLE_TIME:
            st.idle_age = struct.unpack("!Q", payload)[0] >> 32
        elif oxs_field == OXS_PACKET_COUNT:
            st.packet_count = struct.unpack("!Q", payload)[0]
        elif oxs_field == OXS_BYTE_COUNT:
            st.byte_count = struct.unpack("!Q", payload)[0]
        else:
            st.flow_count = struct.unpack("!I", payload)[0]
    return st, pos + padded


def _actions(data: bytes, version: int) -> list[Any]:
    return A.decode_actions(data, 1) if version == 1 else A.decode_instructions(data, version)


def _encode_actions(actions: Sequence[Any], version: int, match: Match) -> bytes:
    if version == 1:
        return A.encode_actions(list(actions), 1, match)
    return A.encode_instructions(list(actions), version, match)


# --- requests ------------------------------------------------------------------------------------------------

def encode_flow_stats_request(fsr: FlowStatsRequest, version: int, xid: int = 0, *, nxm: bool = False) -> bytes:
    """A flow (or, with ``fsr.aggregate``, aggregate) statistics request in wire version ``version``, as Open
    vSwitch encodes it; ``nxm`` picks Nicira's NXST request over OpenFlow 1.0's."""
    raw = _request_raw(version, fsr.aggregate, nxm)
    table = fsr.table_id & 0xFF
    if raw.startswith("OFPST10"):
        body = M.encode_ofp10_match(fsr.match) + struct.pack("!BxH", table, fsr.out_port & 0xFFFF)
    elif raw.startswith("NXST"):
        nxm_bytes = NX.encode_match(fsr.match, 0, fsr.tun_md if fsr.tun_md.entries else None, fsr.cookie,
                                    fsr.cookie_mask)
        body = (struct.pack("!HHB3x", fsr.out_port & 0xFFFF, len(nxm_bytes), table) + nxm_bytes
                + bytes(-len(nxm_bytes) % 8))
    else:
        match = (M.encode_ofp11_match(fsr.match) if version == 2
                 else NX.encode_oxm_match(fsr.match, version, fsr.tun_md if fsr.tun_md.entries else None))
        body = struct.pack("!B3xII4xQQ", table, V.port_to_ofp11(fsr.out_port & 0xFFFF), fsr.out_group & _U32_MAX,
                           fsr.cookie & UNKNOWN, fsr.cookie_mask & UNKNOWN) + match
    return ofp_msgs.encode(raw, version, body, xid)


def decode_flow_stats_request(msg: Msg) -> FlowStatsRequest:
    """OVS ``ofputil_decode_flow_stats_request``: a flow or aggregate statistics request of any variant."""
    name, body = msg.raw.name, msg.body
    aggregate = "AGGREGATE" in name
    if name.startswith("OFPST10"):
        if len(body) != _OFP10_REQ_LEN:
            raise OFPDecodeError("OFPBRC_BAD_LEN")
        table, out_port = struct.unpack_from("!BxH", body, 40)
        return FlowStatsRequest(match=_raw_ofp10_match(body, 0), table_id=table, out_port=out_port,
                                aggregate=aggregate)
    if name.startswith("NXST"):
        if len(body) < _NX_REQ_LEN:
            raise OFPDecodeError("OFPBRC_BAD_LEN")
        out_port, match_len, table = struct.unpack_from("!HHB", body, 0)
        match, md, cookie, cookie_mask, pos = _pull_nx_match(body, _NX_REQ_LEN, match_len, allow_cookie=True)
        if pos != len(body):
            raise OFPDecodeError("OFPBRC_BAD_LEN")
        return FlowStatsRequest(match=match, table_id=table, out_port=out_port, cookie=cookie,
                                cookie_mask=cookie_mask, aggregate=aggregate, tun_md=md)
    if name.startswith(("OFPST11", "OFPST15")):
        if len(body) < _OFP11_REQ_LEN:
            raise OFPDecodeError("OFPBRC_BAD_LEN")
        table, out_port32, out_group, cookie, cookie_mask = struct.unpack_from("!B3xII4xQQ", body, 0)
        out_port = V.port_from_ofp11(out_port32)
        if out_port is None:
            raise OFPDecodeError("OFPBAC_BAD_OUT_PORT", f"port {out_port32:#x} is outside the supported range")
        match, md, _ = pull_ofp11_match(body, _OFP11_REQ_LEN)
        return FlowStatsRequest(match=match, table_id=table, out_port=out_port, out_group=out_group, cookie=cookie,
                                cookie_mask=cookie_mask, aggregate=aggregate, tun_md=md)
    raise OFPDecodeError("OFPBRC_BAD_TYPE", f"{name} is not a flow statistics request")


def format_flow_stats_request(fsr: FlowStatsRequest) -> str:
    """OVS ``ofputil_flow_stats_request_format``: `` table=1 out_port=2 ip,nw_src=10.0.0.0/8`` (the cookie and
    out_group are not shown)."""
    s = ""
    if fsr.table_id != OFPTT_ALL:
        s += f" table={fsr.table_id}"
    if fsr.out_port != V.OFPP_ANY:
        s += f" out_port={V.format_port(fsr.out_port)}"
    return s + " " + MT.format_match(fsr.match, None, fsr.tun_md)


# --- flow statistics replies ---------------------------------------------------------------------------------

def _age_plus_one(age: int | None) -> int:
    if age is None or age < 0:
        return 0
    return age + 1 if age < 0xFFFF else 0xFFFF


def _zero_unknown(count: int) -> int:
    return 0 if count == UNKNOWN else count & UNKNOWN


def _encode_entry(fs: FlowStats, raw: str, version: int) -> bytes:
    """OVS ``ofputil_append_flow_stats_reply``: one entry of a flow statistics reply."""
    md = fs.tun_md if fs.tun_md.entries else None
    actions = _encode_actions(fs.actions, version, fs.match)
    if raw == "OFPST15_FLOW_REPLY":
        match = NX.encode_oxm_match(fs.match, version, md)
        oxs = _encode_oxs((fs.duration_sec, fs.duration_nsec), fs.idle_age if fs.idle_age is not None else None,
                          fs.packet_count, fs.byte_count, None)
        length = _OFP15_DESC_LEN + len(match) + len(oxs) + len(actions)
        return (struct.pack("!H2xBxHHHHHQ", length, fs.table_id & 0xFF, fs.priority & 0xFFFF,
                            fs.idle_timeout & 0xFFFF, fs.hard_timeout & 0xFFFF, _raw_flags(fs.flags, version),
                            fs.importance & 0xFFFF, fs.cookie & UNKNOWN) + match + oxs + actions)
    if raw in ("OFPST11_FLOW_REPLY", "OFPST13_FLOW_REPLY"):
        match = NX.encode_oxm_match(fs.match, version, md)
        length = _OFP11_ENTRY_LEN + len(match) + len(actions)
        flags = _raw_flags(fs.flags, version) if raw == "OFPST13_FLOW_REPLY" else 0
        importance = fs.importance & 0xFFFF if version >= 5 else 0
        return (struct.pack("!HBxIIHHHHH2xQQQ", length, fs.table_id & 0xFF, fs.duration_sec & _U32_MAX,
                            fs.duration_nsec & _U32_MAX, fs.priority & 0xFFFF, fs.idle_timeout & 0xFFFF,
                            fs.hard_timeout & 0xFFFF, flags, importance, fs.cookie & UNKNOWN,
                            _zero_unknown(fs.packet_count), _zero_unknown(fs.byte_count)) + match + actions)
    if raw == "OFPST10_FLOW_REPLY":
        length = _OFP10_ENTRY_LEN + len(actions)
        return (struct.pack("!HBx", length, fs.table_id & 0xFF) + M.encode_ofp10_match(fs.match)
                + struct.pack("!IIHHH6xQQQ", fs.duration_sec & _U32_MAX, fs.duration_nsec & _U32_MAX,
                              fs.priority & 0xFFFF, fs.idle_timeout & 0xFFFF, fs.hard_timeout & 0xFFFF,
                              fs.cookie & UNKNOWN, _zero_unknown(fs.packet_count), _zero_unknown(fs.byte_count))
                + actions)
    nxm = NX.encode_match(fs.match, 0, md)
    padded = nxm + bytes(-len(nxm) % 8)
    length = _NX_ENTRY_LEN + len(padded) + len(actions)
    return (struct.pack("!HBxIIHHHHHHQQQ", length, fs.table_id & 0xFF, fs.duration_sec & _U32_MAX,
                        fs.duration_nsec & _U32_MAX, fs.priority & 0xFFFF, fs.idle_timeout & 0xFFFF,
                        fs.hard_timeout & 0xFFFF, len(nxm), _age_plus_one(fs.idle_age), _age_plus_one(fs.hard_age),
                        fs.cookie & UNKNOWN, fs.packet_count & UNKNOWN, fs.byte_count & UNKNOWN) + padded + actions)


def encode_flow_stats_reply(entries: Sequence[FlowStats], version: int, xid: int = 0, *, nxm: bool = False,
                            flags: int = 0) -> bytes:
    """One flow statistics reply holding ``entries`` (OVS's encoding in wire version ``version``; ``nxm`` picks
    NXST_FLOW in OpenFlow 1.0).  ``flags`` are the multipart flags (1: more replies follow)."""
    raw = _reply_raw(version, nxm)
    return ofp_msgs.encode(raw, version, b"".join(_encode_entry(fs, raw, version) for fs in entries), xid, flags)


def encode_flow_stats_replies(entries: Sequence[FlowStats], version: int, xid: int = 0, *,
                              nxm: bool = False) -> list[bytes]:
    """The replies a switch sends for ``entries``: as many messages as needed, all but the last flagged "more"."""
    raw = _reply_raw(version, nxm)
    return ofp_msgs.encode_multipart_replies(raw, version, xid, [_encode_entry(fs, raw, version) for fs in entries])


def _decode_entry(name: str, version: int, body: bytes, pos: int) -> tuple[FlowStats, int]:
    left = len(body) - pos
    if name == "OFPST15_FLOW_REPLY":
        # Open vSwitch 3.1 reports a malformed OpenFlow 1.5 entry with errno EINVAL instead of an OpenFlow error,
        # which ovs-ofctl prints as "<invalid>"; the decoder says the same.
        if left < _OFP15_DESC_LEN:
            raise OFPDecodeError(INVALID, f"OFPST_FLOW reply has {left} leftover bytes at end")
        (length, table, priority, idle, hard, raw_flags, importance,
         cookie) = struct.unpack_from("!H2xBxHHHHHQ", body, pos)
        if length < _OFP15_DESC_LEN:
            raise OFPDecodeError(INVALID, f"OFPST_FLOW reply claims invalid length {length}")
        try:
            match, md, p = pull_ofp11_match(body, pos + _OFP15_DESC_LEN)
        except OFPDecodeError as e:
            raise OFPDecodeError(INVALID, f"OFPST_FLOW reply bad match ({e.code})") from None
        fs = FlowStats(match=match, table_id=table, priority=priority, idle_timeout=idle, hard_timeout=hard,
                       importance=importance, cookie=cookie, tun_md=md)
        fs.flags = _decode_flags(raw_flags, version)
        try:
            oxs, p2 = _pull_oxs(body, p)
        except OFPDecodeError as e:
            raise OFPDecodeError(INVALID, f"OXS OFPST_FLOW reply bad stats ({e.code})") from None
        fs.duration_sec, fs.duration_nsec = oxs.duration_sec, oxs.duration_nsec
        fs.packet_count, fs.byte_count = oxs.packet_count, oxs.byte_count
        fs.idle_age = None if oxs.idle_age == _U32_MAX else oxs.idle_age
        inst_len = length - (p2 - pos)
        start = p2
    elif name in ("OFPST11_FLOW_REPLY", "OFPST13_FLOW_REPLY"):
        if left < _OFP11_ENTRY_LEN:
            raise OFPDecodeError("OFPBRC_BAD_LEN", f"OFPST_FLOW reply has {left} leftover bytes at end")
        (length, table, dsec, dnsec, priority, idle, hard, raw_flags, importance, cookie, packets,
         nbytes) = struct.unpack_from("!HBxIIHHHHH2xQQQ", body, pos)
        if length < _OFP11_ENTRY_LEN:
            raise OFPDecodeError("OFPBRC_BAD_LEN", f"OFPST_FLOW reply claims invalid length {length}")
        match, md, p = pull_ofp11_match(body, pos + _OFP11_ENTRY_LEN)
        fs = FlowStats(match=match, table_id=table, duration_sec=dsec, duration_nsec=dnsec, priority=priority,
                       idle_timeout=idle, hard_timeout=hard, importance=importance if version >= 5 else 0,
                       cookie=cookie, packet_count=packets, byte_count=nbytes, tun_md=md)
        if name == "OFPST13_FLOW_REPLY":
            fs.flags = _decode_flags(raw_flags, version)
        inst_len = length - (p - pos)
        start = p
    elif name == "OFPST10_FLOW_REPLY":
        if left < _OFP10_ENTRY_LEN:
            raise OFPDecodeError("OFPBRC_BAD_LEN", f"OFPST_FLOW reply has {left} leftover bytes at end")
        length, table = struct.unpack_from("!HB", body, pos)
        if length < _OFP10_ENTRY_LEN:
            raise OFPDecodeError("OFPBRC_BAD_LEN", f"OFPST_FLOW reply claims invalid length {length}")
        (dsec, dnsec, priority, idle, hard, cookie, packets,
         nbytes) = struct.unpack_from("!IIHHH6xQQQ", body, pos + 44)
        fs = FlowStats(match=_raw_ofp10_match(body, pos + 4), table_id=table, duration_sec=dsec,
                       duration_nsec=dnsec, priority=priority, idle_timeout=idle, hard_timeout=hard, cookie=cookie,
                       packet_count=packets, byte_count=nbytes)
        inst_len = length - _OFP10_ENTRY_LEN
        start = pos + _OFP10_ENTRY_LEN
    elif name == "NXST_FLOW_REPLY":
        if left < _NX_ENTRY_LEN:
            raise OFPDecodeError("OFPBRC_BAD_LEN", f"NXST_FLOW reply has {left} leftover bytes at end")
        (length, table, dsec, dnsec, priority, idle, hard, match_len, idle_age, hard_age, cookie, packets,
         nbytes) = struct.unpack_from("!HBxIIHHHHHHQQQ", body, pos)
        padded = (match_len + 7) // 8 * 8
        if length < _NX_ENTRY_LEN + padded:
            raise OFPDecodeError("OFPBRC_BAD_LEN", f"NXST_FLOW reply with match_len={match_len} claims invalid "
                                                   f"length {length}")
        match, md, _, _, p = _pull_nx_match(body, pos + _NX_ENTRY_LEN, match_len, allow_cookie=False)
        fs = FlowStats(match=match, table_id=table, duration_sec=dsec, duration_nsec=dnsec, priority=priority,
                       idle_timeout=idle, hard_timeout=hard, cookie=cookie, packet_count=packets,
                       byte_count=nbytes, idle_age=idle_age - 1 if idle_age else None,
                       hard_age=hard_age - 1 if hard_age else None, tun_md=md)
        inst_len = length - _NX_ENTRY_LEN - padded
        start = p
    else:
        raise OFPDecodeError("OFPBRC_BAD_TYPE", f"{name} is not a flow statistics reply")
    if inst_len < 0 or inst_len > len(body) - start:
        raise OFPDecodeError("OFPBRC_BAD_LEN" if version == 1 else "OFPBIC_BAD_LEN")
    fs.actions = _actions(body[start:start + inst_len], version)
    return fs, start + inst_len


def _iter_entries(msg: Msg) -> tuple[list[FlowStats], OFPDecodeError | None]:
    out: list[FlowStats] = []
    pos = 0
    body = msg.body
    while pos < len(body):
        try:
            fs, pos = _decode_entry(msg.raw.name, msg.version, body, pos)
        except OFPDecodeError as e:
            return out, e
        out.append(fs)
    return out, None


def decode_flow_stats_reply(msg: Msg) -> list[FlowStats]:
    """OVS ``ofputil_decode_flow_stats_reply`` over a whole message: its entries (NXST ages included)."""
    entries, err = _iter_entries(msg)
    if err is not None:
        raise err
    return entries


# --- aggregate replies ---------------------------------------------------------------------------------------

def encode_aggregate_reply(stats: AggregateStats, version: int, xid: int = 0, *, nxm: bool = False) -> bytes:
    """OVS ``ofputil_encode_aggregate_stats_reply``: OpenFlow 1.0 sends unknown counts as 0, OpenFlow 1.5 sends
    OXS statistics without the unknown ones."""
    raw = _aggregate_reply_raw(version, nxm)
    if raw == "OFPST15_AGGREGATE_REPLY":
        body = _encode_oxs(None, None, stats.packet_count, stats.byte_count,
                           None if stats.flow_count == _U32_MAX else stats.flow_count)
    else:
        packets, nbytes = stats.packet_count, stats.byte_count
        if version == 1 and not nxm:
            packets, nbytes = _zero_unknown(packets), _zero_unknown(nbytes)
        body = struct.pack("!QQI4x", packets & UNKNOWN, nbytes & UNKNOWN, stats.flow_count & _U32_MAX)
    return ofp_msgs.encode(raw, version, body, xid)


def decode_aggregate_reply(msg: Msg) -> AggregateStats:
    """OVS ``ofputil_decode_aggregate_stats_reply``."""
    body = msg.body
    if msg.raw.name == "OFPST15_AGGREGATE_REPLY":
        oxs, _ = _pull_oxs(body, 0)
        return AggregateStats(oxs.packet_count, oxs.byte_count, oxs.flow_count)
    if len(body) != _AGG_LEN:
        raise OFPDecodeError("OFPBRC_BAD_LEN")
    packets, nbytes, flows = struct.unpack_from("!QQI", body, 0)
    return AggregateStats(packets, nbytes, flows)


# --- text ----------------------------------------------------------------------------------------------------

def format_duration(sec: int, nsec: int) -> str:
    """OVS ``ofp_print_duration``: ``7s``, ``7.005s`` (whole milliseconds: three decimals) or ``7.0000001s``
    (otherwise as many decimals as the nanoseconds need)."""
    s = str(sec)
    if nsec > 0:
        if nsec % 1000000 == 0:
            s += f".{nsec // 1000000:03d}"
        else:
            s += f".{nsec:09d}".rstrip("0")
    return s + "s"


def format_flow_mod_flags(flags: FlowModFlags) -> str:
    """OVS ``ofputil_flow_mod_flags_format``: each flag's name followed by a space."""
    return "".join(name + " " for flag, name in _FLAG_NAMES if flags & flag)


def _stat(name: str, v: int) -> str:
    return f"{name}={'?' if v == UNKNOWN else v}, "


def format_flow_stats(fs: FlowStats, *, no_stats: bool = False, names: dict[int, str] | None = None,
                      leading_space: bool = True) -> str:
    """One flow as ``ovs-ofctl dump-flows`` prints it (OVS ``ofputil_flow_stats_format``), with the leading space
    of a dump-flows line unless ``leading_space`` is false:
    `` cookie=0x0, duration=1.234s, table=0, n_packets=0, n_bytes=0, idle_timeout=10, idle_age=3,
    priority=100,in_port=1 actions=output:2``.  ``no_stats`` is ``--no-stats``: no cookie (unless set), duration,
    table (unless not 0), counters or ages.  ``names`` (port number -> name) prints ports by name (``--names``)."""
    with V.port_names(names):
        return _format_flow_stats(fs, no_stats, leading_space)


def _format_flow_stats(fs: FlowStats, no_stats: bool, leading_space: bool) -> str:
    show = not no_stats
    s = ""
    if show or fs.cookie:
        s += f"cookie={fs.cookie:#x}, "
    if show:
        s += f"duration={format_duration(fs.duration_sec, fs.duration_nsec)}, "
    if show or fs.table_id:
        s += f"table={fs.table_id}, "
    if show:
        s += _stat("n_packets", fs.packet_count) + _stat("n_bytes", fs.byte_count)
    if fs.idle_timeout:
        s += f"idle_timeout={fs.idle_timeout}, "
    if fs.hard_timeout:
        s += f"hard_timeout={fs.hard_timeout}, "
    s += format_flow_mod_flags(fs.flags)
    if fs.importance:
        s += f"importance={fs.importance}, "
    if show and fs.idle_age is not None and fs.idle_age >= 0:
        s += f"idle_age={fs.idle_age}, "
    if show and fs.hard_age is not None and fs.hard_age >= 0 and fs.hard_age != fs.duration_sec:
        s += f"hard_age={fs.hard_age}, "
    m = MT.format_match(fs.match, fs.priority, fs.tun_md)
    if m:
        s += m + " "
    s += "actions=" + format_actions(list(fs.actions))
    return (" " + s) if leading_space else s


def format_aggregate(stats: AggregateStats) -> str:
    """OVS ``ofputil_aggregate_stats_format``: `` packet_count=0 byte_count=0 flow_count=2`` (what dump-aggregate
    prints after the header)."""
    return f" packet_count={stats.packet_count} byte_count={stats.byte_count} flow_count={stats.flow_count}"


def _print_request(msg: Msg) -> str:
    return format_flow_stats_request(decode_flow_stats_request(msg)).removesuffix(" ")


def _print_reply(msg: Msg) -> str:
    entries, err = _iter_entries(msg)
    text = "".join("\n" + format_flow_stats(fs) for fs in entries)
    if err is not None:
        if not entries:
            raise err
        raise PartialDecodeError(err.code, text, err.detail)
    return text


def _print_aggregate_reply(msg: Msg) -> str:
    return format_aggregate(decode_aggregate_reply(msg))


PRINTERS: dict[str, Callable[[Msg], str]] = {
    "FLOW_STATS_REQUEST": _print_request,
    "AGGREGATE_STATS_REQUEST": _print_request,
    "FLOW_STATS_REPLY": _print_reply,
    "AGGREGATE_STATS_REPLY": _print_aggregate_reply,
}
