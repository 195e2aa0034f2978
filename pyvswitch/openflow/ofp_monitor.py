"""Flow monitoring: what ``ovs-ofctl monitor BRIDGE watch:[SPEC...]`` asks for and what the switch then sends,
byte-exact with Open vSwitch 3.1.

Three encodings of the same idea, by version, as Open vSwitch chooses them::

    OpenFlow 1.0-1.2  NXST_FLOW_MONITOR (Nicira stats 2), NXT_FLOW_MONITOR_CANCEL / PAUSED / RESUMED (21-23)
    OpenFlow 1.3      ONFST_FLOW_MONITOR (ONF stats 1870), ONFT_FLOW_MONITOR_CANCEL / PAUSED / RESUMED (1870-1872)
    OpenFlow 1.4+     OFPST_FLOW_MONITOR (multipart 16); cancel is a request with command DELETE, pause and resume
                      are updates in a reply

Layouts (Open vSwitch's nicira-ext.h and openflow-1.4.h)::

    NX request:     id:32 flags:16 out_port:16 match_len:16 table_id:8 zeros:40 nx_match (padded)
    ONF request:    id:32 flags:16 match_len:16 out_port:32 table_id:8 zeros:24 OXM match (padded)
    OF1.4 request:  monitor_id:32 out_port:32 out_group:32 flags:16 table_id:8 command:8 OXM match
    NX/ONF update:  length:16 event:16 then, full: reason:16 priority:16 idle:16 hard:16 match_len:16 table_id:8
                    pad:8 cookie:64 match actions (NX: nx_match and actions; ONF: OXM and instructions);
                    abbreviated: xid:32
    OF1.4 update:   length:16 event:16 then, full: table_id:8 reason:8 idle:16 hard:16 priority:16 pad:32
                    cookie:64 OXM instructions; abbreviated: xid:32; paused/resumed: pad:32
    cancel:         id:32

Flags and events are kept in OpenFlow 1.4's numbering, as Open vSwitch does internally: flags ``initial`` (1),
``add`` (2), ``delete`` (4, REMOVED), ``modify`` (8), ``actions`` (16, INSTRUCTIONS), ``no-abbrev`` (32) and ``own``
(64, ONLY_OWN), which the Nicira and ONF forms carry as their 1, 2, 4, 8, 16 and 32 (no ``no-abbrev``); events
INITIAL (0), ADDED (1), REMOVED (2), MODIFIED (3), ABBREV (4), PAUSED (5), RESUMED (6), where the Nicira and ONF
forms have ADDED (0, also for initial flows), DELETED (1), MODIFIED (2) and ABBREV (3).

Printing follows Open vSwitch: an update shows its table, timeouts, cookie, match (without priority) and
actions; ``ovs-ofctl monitor`` prints each reply as ``ofp-print`` does.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyvswitch.flow import match_text as MT
from pyvswitch.flow import values as V
from pyvswitch.flow.match import CATCHALL, Match
from pyvswitch.flow.protocols import Proto
from pyvswitch.ofproto.actions import format_actions
from pyvswitch.ofproto.flow_mod import OFPG_ANY
from pyvswitch.openflow import nx_match as NX
from pyvswitch.openflow import ofp_actions as A
from pyvswitch.openflow import ofp_msgs
from pyvswitch.openflow.ofp_errors import OFPDecodeError
from pyvswitch.openflow.ofp_flow_stats import PartialDecodeError, pull_ofp11_match
from pyvswitch.openflow.ofp_msgs import Msg

__all__ = [
    "PRINTERS",
    "FlowMonitorRequest",
    "FlowUpdate",
    "MonitorParseError",
    "decode_flow_monitor_cancel",
    "decode_flow_monitor_request",
    "decode_flow_updates",
    "encode_flow_monitor_cancel",
    "encode_flow_monitor_pause",
    "encode_flow_monitor_request",
    "encode_flow_update_replies",
    "encode_flow_updates",
    "format_flow_monitor_request",
    "format_flow_update",
    "parse_watch",
]

# OpenFlow 1.4 flags (the model's), and their Nicira/ONF equivalents.
OFPFMF_INITIAL, OFPFMF_ADD, OFPFMF_REMOVED, OFPFMF_MODIFY = 1, 2, 4, 8
OFPFMF_INSTRUCTIONS, OFPFMF_NO_ABBREV, OFPFMF_ONLY_OWN = 16, 32, 64
_FLAG_NAMES = [(OFPFMF_INITIAL, "initial"), (OFPFMF_ADD, "add"), (OFPFMF_REMOVED, "delete"),
               (OFPFMF_MODIFY, "modify"), (OFPFMF_INSTRUCTIONS, "actions"), (OFPFMF_NO_ABBREV, "no-abbrev"),
               (OFPFMF_ONLY_OWN, "own")]
_NX_FLAGS = [(OFPFMF_INITIAL, 1), (OFPFMF_ADD, 2), (OFPFMF_REMOVED, 4), (OFPFMF_MODIFY, 8),
             (OFPFMF_INSTRUCTIONS, 16), (OFPFMF_ONLY_OWN, 32)]
DEFAULT_FLAGS = (OFPFMF_INITIAL | OFPFMF_ADD | OFPFMF_REMOVED | OFPFMF_MODIFY | OFPFMF_ONLY_OWN
                 | OFPFMF_INSTRUCTIONS)
"""What ``watch:`` asks for without ``!`` keywords."""

OFPFMC_ADD, OFPFMC_MODIFY, OFPFMC_DELETE = 0, 1, 2
_COMMANDS = {OFPFMC_ADD: "add", OFPFMC_MODIFY: "modify", OFPFMC_DELETE: "delete"}

OFPFME_INITIAL, OFPFME_ADDED, OFPFME_REMOVED, OFPFME_MODIFIED = 0, 1, 2, 3
OFPFME_ABBREV, OFPFME_PAUSED, OFPFME_RESUMED = 4, 5, 6
_NX_EVENT_FROM = {0: OFPFME_ADDED, 1: OFPFME_REMOVED, 2: OFPFME_MODIFIED, 3: OFPFME_ABBREV}
_NX_EVENT_TO = {OFPFME_INITIAL: 0, OFPFME_ADDED: 0, OFPFME_REMOVED: 1, OFPFME_MODIFIED: 2, OFPFME_ABBREV: 3}
_REASONS = ["idle", "hard", "delete", "group_delete", "meter_delete", "eviction"]

_NX_REQ = struct.Struct("!IHHHB5s")
_ONF_REQ = struct.Struct("!IHHIB3s")
_OF14_REQ = struct.Struct("!IIIHBB")
_NX_FULL = struct.Struct("!HHHHHHHBxQ")
_OF14_FULL = struct.Struct("!HHBBHHH4xQ")


class MonitorParseError(ValueError):
    """A ``watch:`` specification ovs-ofctl rejects (the message is ovs-ofctl's)."""


@dataclass
class FlowMonitorRequest:
    """One flow monitor (Open vSwitch's ``ofputil_flow_monitor_request``); ``flags`` in OpenFlow 1.4 bits."""

    id: int = 0
    flags: int = DEFAULT_FLAGS
    out_port: int = V.OFPP_NONE
    out_group: int = OFPG_ANY
    table_id: int = 0xFF
    match: Match = CATCHALL
    command: int = OFPFMC_ADD
    tun_md: MT.TunMetadata = field(default_factory=MT.TunMetadata)


@dataclass
class FlowUpdate:
    """One update of a flow monitor reply (``ofputil_flow_update``); ``event`` in OpenFlow 1.4 numbering.
    ``xid`` is the abbreviated update's; ``reason`` the removal reason (OFPRR_*)."""

    event: int = OFPFME_ADDED
    reason: int = 0
    idle_timeout: int = 0
    hard_timeout: int = 0
    table_id: int = 0
    cookie: int = 0
    priority: int = 0x8000
    match: Match = CATCHALL
    actions: list[Any] = field(default_factory=list)
    xid: int = 0
    tun_md: MT.TunMetadata = field(default_factory=MT.TunMetadata)


def _to_nx_flags(flags: int) -> int:
    return sum(nx for of, nx in _NX_FLAGS if flags & of)


def _from_nx_flags(nx_flags: int) -> int:
    return sum(of for of, nx in _NX_FLAGS if nx_flags & nx)


def _md(m: MT.TunMetadata) -> MT.TunMetadata | None:
    return m if m.entries else None


# --- requests ------------------------------------------------------------------------------------------------

def encode_flow_monitor_request(rq: FlowMonitorRequest, version: int, xid: int = 0) -> bytes:
    """OVS ``ofputil_append_flow_monitor_request`` in its own message: NXST (1.0-1.2), ONFST (1.3) or
    OFPST14 (1.4+)."""
    if version <= 3:
        nxm = NX.encode_match(rq.match, 0, _md(rq.tun_md))
        body = (_NX_REQ.pack(rq.id & 0xFFFFFFFF, _to_nx_flags(rq.flags), rq.out_port & 0xFFFF, len(nxm),
                             rq.table_id & 0xFF, bytes(5)) + nxm + bytes(-len(nxm) % 8))
        return ofp_msgs.encode("NXST_FLOW_MONITOR_REQUEST", version, body, xid)
    oxm = NX.encode_oxm_match(rq.match, version, _md(rq.tun_md))
    if version == 4:
        (oxm_len,) = struct.unpack_from("!H", oxm, 2)
        body = _ONF_REQ.pack(rq.id & 0xFFFFFFFF, _to_nx_flags(rq.flags), oxm_len,
                             V.port_to_ofp11(rq.out_port & 0xFFFF), rq.table_id & 0xFF, bytes(3)) + oxm
        return ofp_msgs.encode("ONFST13_FLOW_MONITOR_REQUEST", version, body, xid)
    body = _OF14_REQ.pack(rq.id & 0xFFFFFFFF, V.port_to_ofp11(rq.out_port & 0xFFFF), rq.out_group & 0xFFFFFFFF,
                          rq.flags & 0xFFFF, rq.table_id & 0xFF, rq.command & 0xFF) + oxm
    return ofp_msgs.encode("OFPST14_FLOW_MONITOR_REQUEST", version, body, xid)


def _check_flags(flags: int, what: str) -> None:
    """Open vSwitch wants one of add/delete/modify and nothing unknown (the NX/ONF bits: 0x3f; 1.4: 0x5f)."""
    allowed = 0x3F if what != "OFPST" else DEFAULT_FLAGS
    if not flags & 0x0E or flags & ~allowed:
        raise OFPDecodeError("OFPMOFC_BAD_FLAGS", f"{what}_FLOW_MONITOR has bad flags {flags:#x}")


def _out_port11(port32: int) -> int:
    port = V.port_from_ofp11(port32)
    if port is None:
        raise OFPDecodeError("OFPBAC_BAD_OUT_PORT", f"port {port32:#x} is outside the supported range")
    return port


def decode_flow_monitor_request(msg: Msg) -> list[FlowMonitorRequest]:
    """OVS ``ofputil_decode_flow_monitor_request`` over a whole message: its monitors."""
    out: list[FlowMonitorRequest] = []
    body, pos, name = msg.body, 0, msg.raw.name
    while pos < len(body):
        left = len(body) - pos
        if name.startswith("NXST"):
            if left < _NX_REQ.size:
                raise OFPDecodeError("OFPBRC_BAD_LEN", f"NXST_FLOW_MONITOR request has {left} leftover bytes")
            mid, flags, out_port, match_len, table, zeros = _NX_REQ.unpack_from(body, pos)
            _check_flags(flags, "NXST")
            if any(zeros):
                raise OFPDecodeError("NXBRC_MUST_BE_ZERO")
            pos += _NX_REQ.size
            padded = (match_len + 7) // 8 * 8
            if padded > len(body) - pos:
                raise OFPDecodeError("OFPBMC_BAD_LEN")
            match, md, _, _ = NX.decode_match(body[pos:pos + match_len])
            pos += padded
            out.append(FlowMonitorRequest(mid, _from_nx_flags(flags), out_port, OFPG_ANY, table, match,
                                          OFPFMC_ADD, md))
        elif name.startswith("ONFST"):
            if left < _ONF_REQ.size:
                raise OFPDecodeError("OFPBRC_BAD_LEN", f"ONFST_FLOW_MONITOR request has {left} leftover bytes")
            mid, flags, _, out_port32, table, zeros = _ONF_REQ.unpack_from(body, pos)
            _check_flags(flags, "ONFST")
            if any(zeros):
                raise OFPDecodeError("NXBRC_MUST_BE_ZERO")
            out_port = _out_port11(out_port32)
            match, md, pos = pull_ofp11_match(body, pos + _ONF_REQ.size)
            out.append(FlowMonitorRequest(mid, _from_nx_flags(flags), out_port, OFPG_ANY, table, match,
                                          OFPFMC_ADD, md))
        else:
            if left < _OF14_REQ.size:
                raise OFPDecodeError("OFPBRC_BAD_LEN", f"OFPST_FLOW_MONITOR request has {left} leftover bytes")
            mid, out_port32, out_group, flags, table, command = _OF14_REQ.unpack_from(body, pos)
            if command == OFPFMC_DELETE:
                match, md, pos = pull_ofp11_match(body, pos + _OF14_REQ.size)
                out.append(FlowMonitorRequest(mid, 0, V.OFPP_NONE, OFPG_ANY, 0xFF, match, command, md))
                continue
            _check_flags(flags, "OFPST")
            out_port = _out_port11(out_port32)
            match, md, pos = pull_ofp11_match(body, pos + _OF14_REQ.size)
            out.append(FlowMonitorRequest(mid, flags, out_port, out_group, table, match, command, md))
    return out


def _bit_names(flags: int) -> str:
    """OVS ``ofp_print_bit_names`` with ',': known names, then unknown bits in hex; ``0`` for none."""
    if not flags:
        return "0"
    names = [name for bit, name in _FLAG_NAMES if flags & bit]
    bad = flags & ~0x7F
    if bad:
        names.append(f"{bad:#x}")
    return ",".join(names)


def format_flow_monitor_request(rq: FlowMonitorRequest) -> str:
    """OVS ``ofputil_flow_monitor_request_format``: ``\\n id=0 flags=initial,add,... out_port=2 table=0 MATCH``."""
    if rq.command == OFPFMC_DELETE:
        return f"\n id={rq.id} command=delete"
    s = f"\n id={rq.id} flags={_bit_names(rq.flags)}"
    if rq.out_port != V.OFPP_NONE:
        s += f" out_port={V.format_port(rq.out_port)}"
    if rq.out_group and rq.out_group != OFPG_ANY:
        s += f" out_group={rq.out_group - (1 << 32) if rq.out_group >= 1 << 31 else rq.out_group}"
    if rq.table_id != 0xFF:
        s += f" table={rq.table_id}"
    return (s + " " + MT.format_match(rq.match, None, rq.tun_md)).removesuffix(" ")


def parse_watch(spec: str, id: int = 0) -> FlowMonitorRequest:
    """The monitor ``ovs-ofctl monitor BRIDGE watch:SPEC`` asks for (OVS ``parse_flow_monitor_request``);
    ``spec`` is the text after ``watch:``.  Keywords: ``!initial``, ``!add``, ``!delete``, ``!modify``,
    ``!actions``, ``!abbrev``, ``!own``, ``table=N``, ``out_port=N``, ``out_group=N`` (numbers read as C's
    ``atoi``), protocol names and match fields (only those OpenFlow 1.0 with NXM can match).  Raises
    MonitorParseError with ovs-ofctl's message."""
    rq = FlowMonitorRequest(id=id)
    b = MT.MatchBuilder()
    clear = {"!initial": OFPFMF_INITIAL, "!add": OFPFMF_ADD, "!delete": OFPFMF_REMOVED, "!modify": OFPFMF_MODIFY,
             "!actions": OFPFMF_INSTRUCTIONS, "!abbrev": OFPFMF_NO_ABBREV, "!own": OFPFMF_ONLY_OWN}
    for name, value in MT.split_key_values(spec):
        if name in clear:
            rq.flags &= ~clear[name]
            continue
        before = b.usable
        try:
            known = name not in ("table", "out_port", "out_group") and MT.parse_match_item(b, name, value)
        except (MT.MatchParseError, ValueError) as e:
            raise MonitorParseError(str(e)) from None
        if known:
            if not b.usable & Proto.OF10_ANY and before & Proto.OF10_ANY:
                raise MonitorParseError(f"{name}: match field is not supported for flow monitor")
            continue
        if not value:
            raise MonitorParseError(f"{spec}: field {name} missing value")
        if name == "table":
            try:
                rq.table_id = V.parse_int(value)
            except ValueError:
                raise MonitorParseError(f'unknown table "{value}"') from None
            if not 0 <= rq.table_id <= 255:
                raise MonitorParseError(f'unknown table "{value}"')
        elif name == "out_port":
            rq.out_port = _atoi(value) & 0xFFFF
        elif name == "out_group":
            rq.out_group = _atoi(value) & 0xFFFFFFFF
        else:
            raise MonitorParseError(f"{spec}: unknown keyword {name}")
    rq.match, rq.tun_md = b.match(), b.tun_md
    return rq


def _atoi(s: str) -> int:
    """C ``atoi``: leading white space, optional sign, decimal digits; 0 when there are none."""
    i, s = 0, s.lstrip(" \t\n\v\f\r")
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        i = 1
    j = i
    while j < len(s) and s[j].isdigit():
        j += 1
    return sign * int(s[i:j]) if j > i else 0


# --- cancel, pause, resume -----------------------------------------------------------------------------------

def encode_flow_monitor_cancel(monitor_id: int, version: int, xid: int = 0) -> bytes:
    """OVS ``ofputil_encode_flow_monitor_cancel``: NXT (1.0-1.2), ONFT (1.3) or, from 1.4, a monitor request
    with command DELETE."""
    if version <= 3:
        return ofp_msgs.encode("NXT_FLOW_MONITOR_CANCEL", version, struct.pack("!I", monitor_id), xid)
    if version == 4:
        return ofp_msgs.encode("ONFT13_FLOW_MONITOR_CANCEL", version, struct.pack("!I", monitor_id), xid)
    return ofp_msgs.encode("OFPST14_FLOW_MONITOR_REQUEST", version,
                           _OF14_REQ.pack(monitor_id & 0xFFFFFFFF, 0, 0, 0, 0, OFPFMC_DELETE), xid)


def decode_flow_monitor_cancel(msg: Msg) -> int:
    """The monitor id of an NXT/ONFT flow monitor cancel."""
    if len(msg.body) != 4:
        raise OFPDecodeError("OFPBRC_BAD_LEN")
    return int(struct.unpack("!I", msg.body)[0])


def encode_flow_monitor_pause(resumed: bool, version: int) -> bytes:
    """OVS ``ofputil_encode_flow_monitor_pause``: the switch stopped (or resumed) sending updates because the
    controller does not keep up."""
    if version <= 3:
        return ofp_msgs.encode("NXT_FLOW_MONITOR_RESUMED" if resumed else "NXT_FLOW_MONITOR_PAUSED", version)
    if version == 4:
        return ofp_msgs.encode("ONFT13_FLOW_MONITOR_RESUMED" if resumed else "ONFT13_FLOW_MONITOR_PAUSED", version)
    return encode_flow_updates([FlowUpdate(event=OFPFME_RESUMED if resumed else OFPFME_PAUSED)], version)


# --- updates -------------------------------------------------------------------------------------------------

def _update_raw(version: int) -> str:
    if version <= 3:
        return "NXST_FLOW_MONITOR_REPLY"
    return "ONFST13_FLOW_MONITOR_REPLY" if version == 4 else "OFPST14_FLOW_MONITOR_REPLY"


def _encode_update(u: FlowUpdate, version: int) -> bytes:
    """OVS ``ofputil_append_flow_update``: one update."""
    if version <= 4:
        if u.event == OFPFME_ABBREV:
            return struct.pack("!HHI", 8, 3, u.xid & 0xFFFFFFFF)
        if version == 4:
            match = NX.encode_oxm_match(u.match, version, _md(u.tun_md))
            (match_len,) = struct.unpack_from("!H", match, 2)
            actions = A.encode_instructions(list(u.actions), version, u.match)
        else:
            nxm = NX.encode_match(u.match, 0, _md(u.tun_md))
            match_len, match = len(nxm), nxm + bytes(-len(nxm) % 8)
            actions = A.encode_actions(list(u.actions), version, u.match)
        length = _NX_FULL.size + len(match) + len(actions)
        return _NX_FULL.pack(length, _NX_EVENT_TO.get(u.event, 0), u.reason & 0xFFFF, u.priority & 0xFFFF,
                             u.idle_timeout & 0xFFFF, u.hard_timeout & 0xFFFF, match_len, u.table_id & 0xFF,
                             u.cookie & 0xFFFFFFFFFFFFFFFF) + match + actions
    if u.event == OFPFME_ABBREV:
        return struct.pack("!HHI", 8, OFPFME_ABBREV, u.xid & 0xFFFFFFFF)
    if u.event in (OFPFME_PAUSED, OFPFME_RESUMED):
        return struct.pack("!HH4x", 8, u.event)
    match = NX.encode_oxm_match(u.match, version, _md(u.tun_md))
    actions = A.encode_instructions(list(u.actions), version, u.match)
    length = _OF14_FULL.size + len(match) + len(actions)
    return _OF14_FULL.pack(length, u.event, u.table_id & 0xFF, u.reason & 0xFF, u.idle_timeout & 0xFFFF,
                           u.hard_timeout & 0xFFFF, u.priority & 0xFFFF, u.cookie & 0xFFFFFFFFFFFFFFFF) + match + actions


def encode_flow_updates(updates: Sequence[FlowUpdate], version: int, xid: int = 0, flags: int = 0) -> bytes:
    """One flow monitor reply with ``updates`` (asynchronous updates have xid 0; the reply to a request with
    initial flows has the request's xid)."""
    return ofp_msgs.encode(_update_raw(version), version, b"".join(_encode_update(u, version) for u in updates),
                           xid, flags)


def encode_flow_update_replies(updates: Sequence[FlowUpdate], version: int, xid: int = 0) -> list[bytes]:
    """As many replies as the updates need, all but the last flagged "more"."""
    return ofp_msgs.encode_multipart_replies(_update_raw(version), version, xid,
                                             [_encode_update(u, version) for u in updates])


def _decode_update(msg: Msg, body: bytes, pos: int) -> tuple[FlowUpdate, int]:
    """OVS ``ofputil_decode_flow_update``: one update at ``body[pos:]``."""
    name, version = msg.raw.name, msg.version
    left = len(body) - pos
    bad_len = OFPDecodeError("OFPBRC_BAD_LEN", f"{name} has {left} leftover bytes at end")
    if left < 4:
        raise bad_len
    length, event = struct.unpack_from("!HH", body, pos)
    if length > left or length % 8:
        raise bad_len
    if not name.startswith("OFPST"):
        if event == 3:
            if length != 8:
                raise bad_len
            return FlowUpdate(event=OFPFME_ABBREV, xid=struct.unpack_from("!I", body, pos + 4)[0]), pos + 8
        if event not in (0, 1, 2):
            raise OFPDecodeError("NXBRC_FM_BAD_EVENT", f"NXST_FLOW_MONITOR reply has bad event {event}")
        if length < _NX_FULL.size:
            raise bad_len
        (_, _, reason, priority, idle, hard, match_len, table, cookie) = _NX_FULL.unpack_from(body, pos)
        if _NX_FULL.size + match_len > length:
            raise bad_len
        p = pos + _NX_FULL.size
        if name.startswith("ONFST"):
            match, md, p2 = pull_ofp11_match(body, p)
            act_len = length - _NX_FULL.size - (p2 - p)
            if act_len < 0 or act_len > len(body) - p2:
                raise OFPDecodeError("OFPBIC_BAD_LEN")
            actions = A.decode_instructions(body[p2:p2 + act_len], version)
        else:
            padded = (match_len + 7) // 8 * 8
            if padded > len(body) - p:
                raise OFPDecodeError("OFPBMC_BAD_LEN")
            match, md, _, _ = NX.decode_match(body[p:p + match_len])
            p2 = p + padded
            act_len = length - _NX_FULL.size - padded
            if act_len < 0 or act_len > len(body) - p2:
                raise OFPDecodeError("OFPBRC_BAD_LEN")
            actions = A.decode_actions(body[p2:p2 + act_len], version)
        return (FlowUpdate(_NX_EVENT_FROM[event], reason, idle, hard, table, cookie, priority, match, actions, 0,
                           md), p2 + act_len)
    if event == OFPFME_ABBREV:
        if length != 8:
            raise bad_len
        return FlowUpdate(event=event, xid=struct.unpack_from("!I", body, pos + 4)[0]), pos + 8
    if event in (OFPFME_PAUSED, OFPFME_RESUMED):
        if length != 8:
            raise bad_len
        return FlowUpdate(event=event), pos + 8
    if event > OFPFME_MODIFIED:
        raise OFPDecodeError("NXBRC_FM_BAD_EVENT", f"NXST_FLOW_MONITOR reply has bad event {event}")
    if length < _OF14_FULL.size:
        raise bad_len
    (_, _, table, reason, idle, hard, priority, cookie) = _OF14_FULL.unpack_from(body, pos)
    p = pos + _OF14_FULL.size
    match, md, p2 = pull_ofp11_match(body, p)
    act_len = length - _OF14_FULL.size - (p2 - p)
    if act_len < 0 or act_len > len(body) - p2:
        raise OFPDecodeError("OFPBIC_BAD_LEN")
    actions = A.decode_instructions(body[p2:p2 + act_len], version)
    return FlowUpdate(event, reason, idle, hard, table, cookie, priority, match, actions, 0, md), p2 + act_len


def _iter_updates(msg: Msg) -> tuple[list[FlowUpdate], OFPDecodeError | None]:
    out: list[FlowUpdate] = []
    pos = 0
    while pos < len(msg.body):
        try:
            u, pos = _decode_update(msg, msg.body, pos)
        except OFPDecodeError as e:
            return out, e
        out.append(u)
    return out, None


def decode_flow_updates(msg: Msg) -> list[FlowUpdate]:
    """The updates of a flow monitor reply."""
    updates, err = _iter_updates(msg)
    if err is not None:
        raise err
    return updates


def _reason(reason: int) -> str:
    return _REASONS[reason] if reason < len(_REASONS) else str(reason)


def format_flow_update(u: FlowUpdate) -> str:
    """OVS ``ofputil_flow_update_format``: ``\\n event=ADDED table=0 cookie=0 in_port=1 actions=output:2``."""
    s = "\n event="
    if u.event == OFPFME_ABBREV:
        return s + f"ABBREV xid={u.xid:#x}"
    if u.event == OFPFME_PAUSED:
        return s + "PAUSED"
    if u.event == OFPFME_RESUMED:
        return s + "RESUMED"
    s += {OFPFME_INITIAL: "INITIAL", OFPFME_ADDED: "ADDED", OFPFME_MODIFIED: "MODIFIED"}.get(
        u.event, f"DELETED reason={_reason(u.reason)}")
    s += f" table={u.table_id}"
    if u.idle_timeout:
        s += f" idle_timeout={u.idle_timeout}"
    if u.hard_timeout:
        s += f" hard_timeout={u.hard_timeout}"
    s += f" cookie={u.cookie:#x}" if u.cookie else " cookie=0"
    s += " " + MT.format_match(u.match, None, u.tun_md)
    if u.actions:
        if not s.endswith(" "):
            s += " "
        s += "actions=" + format_actions(list(u.actions))
    return s


def _print_request(msg: Msg) -> str:
    return "".join(format_flow_monitor_request(rq) for rq in decode_flow_monitor_request(msg))


def _print_reply(msg: Msg) -> str:
    updates, err = _iter_updates(msg)
    text = "".join(format_flow_update(u) for u in updates)
    if err is not None:
        if not updates:
            raise err
        raise PartialDecodeError(err.code, text, err.detail)
    return text.removesuffix(" ")


def _print_cancel(msg: Msg) -> str:
    return f" id={decode_flow_monitor_cancel(msg)}"


PRINTERS: dict[str, Callable[[Msg], str]] = {
    "FLOW_MONITOR_STATS_REQUEST": _print_request,
    "FLOW_MONITOR_STATS_REPLY": _print_reply,
    "FLOW_MONITOR_CANCEL": _print_cancel,
    "FLOW_MONITOR_PAUSED": lambda msg: "",
    "FLOW_MONITOR_RESUMED": lambda msg: "",
}
