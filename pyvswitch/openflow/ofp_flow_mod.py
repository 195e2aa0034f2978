"""Flow-mod messages: ``OFPT_FLOW_MOD`` of OpenFlow 1.0 to 1.5 and Nicira's ``NXT_FLOW_MOD``, byte-exact with
Open vSwitch 3.1.

Layouts (OpenFlow 1.0 section 5.3.3, 1.1+ section 7.3.4, Open vSwitch's nicira-ext.h)::

    OFPT_FLOW_MOD 1.0:  ofp_header ofp10_match(40) cookie:64 command:16 idle:16 hard:16 priority:16
                        buffer_id:32 out_port:16 flags:16 actions...                                   (72 + n*8)
    NXT_FLOW_MOD:       ofp_header vendor:32(0x2320) subtype:32(13) cookie:64 command:16 idle:16 hard:16
                        priority:16 buffer_id:32 out_port:16 flags:16 match_len:16 pad:48
                        nx_match(padded to 8) actions...                                               (48 + n*8)
    OFPT_FLOW_MOD 1.1+: ofp_header cookie:64 cookie_mask:64 table_id:8 command:8 idle:16 hard:16 priority:16
                        buffer_id:32 out_port:32 out_group:32 flags:16 importance:16 (pad before 1.4)
                        match (ofp11_match or OXM, padded to 8) instructions...                        (48 + n*8)

The protocol variants (``Proto``) differ in more than the layout, and the codec follows Open vSwitch's
``ofputil_encode_flow_mod`` / ``ofputil_decode_flow_mod`` on each point:

* The ``_TID`` variants of OpenFlow 1.0 put the table id in the high byte of ``command`` (Nicira's
  flow_mod_table_id extension); without it the table is "unspecified".  A message does not say which variant it
  is: ``decode_flow_mod`` takes the variant the connection negotiated, and without one assumes ``_TID`` exactly
  when the high byte is not zero.
* Cookies: OpenFlow 1.0 and NXM carry only the new cookie (0 when the flow-mod has none; all-ones, decoded as
  ``new_cookie=None``, means "leave it", for a modify);
  NXM matches an existing cookie with an ``NXM_NX_COOKIE`` entry; OpenFlow 1.1+ has cookie and cookie_mask, and
  an add (or, in 1.1 only, a modify without cookie mask) carries the new cookie there.
* The table in OpenFlow 1.1+: "unspecified" (255) is sent as 0, except for deletes in 1.2+.
* ``importance`` exists only in OpenFlow 1.4+ adds; ``out_group`` is decoded only for deletes.
* Flags: ``reset_counts`` is 1.2+, the counters flags 1.3+; OpenFlow 1.0's emergency flag is refused.
  Decoding an OpenFlow 1.0 or 1.1 add sets ``RESET_COUNTS``, because those versions always reset counters
  (docs/ofproto-tables.md).
* OpenFlow 1.0's fixed match forces priority 65535 when it wildcards nothing, and its decoder normalizes the
  match (``FlowModMessage.normalized_from`` keeps what it changed, for the log line ovs-ofctl prints).

After decoding, the actions are checked against the match as Open vSwitch does when it accepts a flow-mod
(``ofp_actions.check_consistency``): e.g. ``OFPBAC_MATCH_INCONSISTENT`` for ``mod_nw_ecn`` in a flow that does not
match IP, or ``OFPBIC_BAD_TABLE_ID`` for a ``goto_table`` that does not go forward.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from pyvswitch.flow import fields as F
from pyvswitch.flow import match_text as MT
from pyvswitch.flow import values as V
from pyvswitch.flow.match import Match
from pyvswitch.flow.protocols import PROTO_VERSION, Proto
from pyvswitch.ofproto.flow_mod import Command, FlowMod, FlowModFlags
from pyvswitch.openflow import nx_match as NX
from pyvswitch.openflow import ofp_actions as A
from pyvswitch.openflow import ofp_match as M
from pyvswitch.openflow.ofp_errors import OFPDecodeError

__all__ = [
    "NXT_FLOW_MOD",
    "OFPT_FLOW_MOD",
    "FlowModMessage",
    "decode_flow_mod",
    "decode_flow_mod_message",
    "encode_flow_mod",
    "message_protocol",
]

OFPT_VENDOR = 4
OFPT_FLOW_MOD = 14
NXT_FLOW_MOD = 13
NX_VENDOR_ID = 0x00002320
OFPTT_ALL = 0xFF
ALL_ONES64 = 0xFFFFFFFFFFFFFFFF

_OF10_LEN = 72
_NXT_LEN = 48
_OF11_LEN = 48

# Flow-mod flags: (model flag, wire bit, first version, last version or 0).
_FLAGS = [(FlowModFlags.SEND_FLOW_REM, 1 << 0, 1, 0), (FlowModFlags.CHECK_OVERLAP, 1 << 1, 1, 0),
          (None, 1 << 2, 1, 1),  # OFPFF10_EMERG
          (FlowModFlags.RESET_COUNTS, 1 << 2, 3, 0), (FlowModFlags.NO_PACKET_COUNTS, 1 << 3, 4, 0),
          (FlowModFlags.NO_BYTE_COUNTS, 1 << 4, 4, 0)]
_OFPFF10_EMERG = 1 << 2

_TID = (Proto.OF10_STD_TID, Proto.OF10_NXM_TID)
_PROTO_BY_VERSION = {2: Proto.OF11_STD, 3: Proto.OF12_OXM, 4: Proto.OF13_OXM, 5: Proto.OF14_OXM, 6: Proto.OF15_OXM}


@dataclass
class FlowModMessage:
    """A decoded flow-mod with what the ``FlowMod`` does not hold: the protocol variant, the xid, the tunnel
    metadata option lengths of the match, and, for OpenFlow 1.0, the match before the decoder normalized it
    (None when normalizing changed nothing)."""

    fm: FlowMod
    proto: Proto
    xid: int
    tun_md: MT.TunMetadata = field(default_factory=MT.TunMetadata)
    normalized_from: Match | None = None


def _raw_flags(flags: FlowModFlags, version: int) -> int:
    raw = 0
    for flag, bit, lo, hi in _FLAGS:
        if flag is not None and flags & flag and version >= lo and (not hi or version <= hi):
            raw |= bit
    return raw


def _new_cookie(fm: FlowMod) -> int:
    """The cookie field of an OpenFlow 1.0/NXM flow-mod (Open vSwitch's ``new_cookie``): the cookie an add
    installs or a modify sets.  A flow-mod without one sends 0, as ovs-ofctl does (so an OpenFlow 1.0 modify
    from ovs-ofctl without ``cookie=`` resets the cookie of the flows it changes: docs/ofproto-tables.md);
    only all-ones means "leave the cookie alone" to the decoder."""
    if fm.new_cookie is not None:
        return fm.new_cookie & ALL_ONES64
    if fm.command == Command.ADD:
        return fm.cookie & ALL_ONES64
    if fm.command in (Command.MODIFY, Command.MODIFY_STRICT) and fm.cookie_mask:
        # A modify that selects flows by cookie leaves their cookies alone (ovs-ofctl sends all-ones).
        return ALL_ONES64
    return 0


def _header(version: int, mtype: int, body: bytes, xid: int) -> bytes:
    return struct.pack("!BBHI", version, mtype, 8 + len(body), xid & 0xFFFFFFFF) + body


def encode_flow_mod(fm: FlowMod, proto: Proto, xid: int = 1, *, tun_md: MT.TunMetadata | None = None) -> bytes:
    """The flow-mod ``fm`` as Open vSwitch 3.1 encodes it in protocol variant ``proto`` (one ``Proto`` bit).

    ``tun_md`` gives the lengths of tunnel-metadata options in the match, as the text parser allocated them
    (``ParsedFlowMod.tun_md``); without it they are derived from the match's mask."""
    if proto not in PROTO_VERSION:
        raise ValueError(f"encode_flow_mod needs one protocol variant, not {proto!r}")
    version = PROTO_VERSION[proto]
    table = OFPTT_ALL if fm.table_id is None else fm.table_id & 0xFF
    command = int(fm.command)
    flags = _raw_flags(fm.flags, version)
    if proto in (Proto.OF10_STD, Proto.OF10_STD_TID, Proto.OF10_NXM, Proto.OF10_NXM_TID):
        wire_command = (command & 0xFF) | (table << 8) if proto in _TID else command
        tail = struct.pack("!HHHIHH", fm.idle_timeout & 0xFFFF, fm.hard_timeout & 0xFFFF, fm.priority & 0xFFFF,
                           fm.buffer_id & 0xFFFFFFFF, fm.out_port & 0xFFFF, flags)
        actions = A.encode_actions(fm.actions, 1, fm.match)
        if proto in (Proto.OF10_STD, Proto.OF10_STD_TID):
            body = (M.encode_ofp10_match(fm.match) + struct.pack("!QH", _new_cookie(fm), wire_command) + tail
                    + actions)
            return _header(1, OFPT_FLOW_MOD, body, xid)
        nxm = NX.encode_match(fm.match, 0, tun_md, fm.cookie, fm.cookie_mask)
        body = (struct.pack("!IIQH", NX_VENDOR_ID, NXT_FLOW_MOD, _new_cookie(fm), wire_command) + tail
                + struct.pack("!H6x", len(nxm)) + nxm + bytes(-len(nxm) % 8) + actions)
        return _header(1, OFPT_VENDOR, body, xid)
    modify = fm.command in (Command.MODIFY, Command.MODIFY_STRICT)
    if (proto is Proto.OF11_STD and modify and not fm.cookie_mask) or fm.command == Command.ADD:
        cookie = _new_cookie(fm)
    else:
        cookie = fm.cookie & fm.cookie_mask
    deleting = fm.command in (Command.DELETE, Command.DELETE_STRICT)
    wire_table = table if table != OFPTT_ALL or (proto is not Proto.OF11_STD and deleting) else 0
    importance = fm.importance & 0xFFFF if version >= 5 and fm.command == Command.ADD else 0
    match = M.encode_ofp11_match(fm.match) if proto is Proto.OF11_STD else NX.encode_oxm_match(fm.match, version,
                                                                                                 tun_md)
    body = (struct.pack("!QQBBHHHIIIHH", cookie, fm.cookie_mask & ALL_ONES64, wire_table, command & 0xFF,
                        fm.idle_timeout & 0xFFFF, fm.hard_timeout & 0xFFFF, fm.priority & 0xFFFF,
                        fm.buffer_id & 0xFFFFFFFF, V.port_to_ofp11(fm.out_port & 0xFFFF),
                        fm.out_group & 0xFFFFFFFF, flags, importance)
            + match + A.encode_instructions(fm.actions, version, fm.match))
    return _header(version, OFPT_FLOW_MOD, body, xid)


def message_protocol(data: bytes) -> Proto | None:
    """The protocol family a flow-mod message is in, from its header alone (``OF10_STD``, ``OF10_NXM``, ...;
    the ``_TID`` variants when the OpenFlow 1.0 command's high byte names a table), or None if it is not a
    flow-mod."""
    if len(data) < 8:
        return None
    version, mtype = data[0], data[1]
    if mtype == OFPT_FLOW_MOD:
        if version == 1:
            if len(data) < _OF10_LEN:
                return Proto.OF10_STD
            return Proto.OF10_STD_TID if struct.unpack_from("!H", data, 56)[0] > 0xFF else Proto.OF10_STD
        return _PROTO_BY_VERSION.get(version)
    if mtype == OFPT_VENDOR and len(data) >= 16 and struct.unpack_from("!II", data, 8) == (NX_VENDOR_ID,
                                                                                           NXT_FLOW_MOD):
        if version != 1:
            return _PROTO_BY_VERSION.get(version)
        if len(data) < 26:
            return Proto.OF10_NXM
        return Proto.OF10_NXM_TID if struct.unpack_from("!H", data, 24)[0] > 0xFF else Proto.OF10_NXM
    return None


def _decode_flags(raw: int, command: int, version: int) -> FlowModFlags:
    flags = FlowModFlags(0)
    rest = raw
    for flag, bit, lo, hi in _FLAGS:
        if rest & bit and version >= lo and (not hi or version <= hi):
            rest &= ~bit
            if flag is not None:
                flags |= flag
    if version in (1, 2) and command == Command.ADD:
        flags |= FlowModFlags.RESET_COUNTS
    if rest:
        raise OFPDecodeError("OFPFMFC_BAD_FLAGS")
    return flags


def decode_flow_mod(data: bytes, proto: Proto | None = None) -> tuple[FlowMod, Proto]:
    """Decode an ``OFPT_FLOW_MOD`` or ``NXT_FLOW_MOD`` message as Open vSwitch 3.1 does; return the flow-mod and
    the protocol variant it was in.  ``proto`` is the variant the connection uses, if known (it decides whether
    an OpenFlow 1.0 command's high byte is a table id).  Raises ``OFPDecodeError`` and nothing else."""
    msg = decode_flow_mod_message(data, proto)
    return msg.fm, msg.proto


def decode_flow_mod_message(data: bytes, proto: Proto | None = None) -> FlowModMessage:
    """Like ``decode_flow_mod``, with the xid, the match's tunnel-metadata table and OpenFlow 1.0's
    normalization."""
    data = bytes(data)
    if len(data) < 8:
        raise OFPDecodeError("OFPBRC_BAD_LEN", "message shorter than an OpenFlow header")
    version, mtype, length, xid = struct.unpack_from("!BBHI", data, 0)
    if length != len(data) or length < 8:
        raise OFPDecodeError("OFPBRC_BAD_LEN", f"message length {length} but {len(data)} bytes")
    if not 1 <= version <= 6:
        raise OFPDecodeError("OFPBRC_BAD_TYPE", f"no flow-mod in OpenFlow wire version {version}")
    nxt = False
    if mtype == OFPT_VENDOR:
        if length < 16:
            raise OFPDecodeError("OFPBRC_BAD_LEN")
        vendor, subtype = struct.unpack_from("!II", data, 8)
        if vendor != NX_VENDOR_ID:
            raise OFPDecodeError("OFPBRC_BAD_VENDOR")
        if subtype != NXT_FLOW_MOD:
            raise OFPDecodeError("OFPBRC_BAD_SUBTYPE")
        nxt = True
    elif mtype != OFPT_FLOW_MOD:
        raise OFPDecodeError("OFPBRC_BAD_TYPE", f"message type {mtype} is not a flow-mod")
    tun_md = MT.TunMetadata()
    normalized_from = None
    if mtype == OFPT_FLOW_MOD and version >= 2:
        return _decode_of11(data, version, xid)
    if nxt:
        if length < _NXT_LEN or (length - _NXT_LEN) % 8:
            raise OFPDecodeError("OFPBRC_BAD_LEN")
        (new_cookie, command, idle, hard, priority, buffer_id, out_port, raw_flags,
         match_len) = struct.unpack_from("!QHHHHIHHH", data, 16)
        padded = (match_len + 7) // 8 * 8
        if padded > length - _NXT_LEN:
            raise OFPDecodeError("OFPBMC_BAD_LEN", f"nx_match length {match_len}, rounded up to a multiple of 8, "
                                                   f"is longer than space in message")
        match, tun_md, cookie, cookie_mask = NX.decode_match(data[_NXT_LEN:_NXT_LEN + match_len],
                                                             allow_cookie=True)
        if command & 0xFF == Command.ADD and cookie_mask:
            raise OFPDecodeError("NXBRC_NXM_INVALID")
        rest = data[_NXT_LEN + padded:]
        family = Proto.OF10_NXM if version == 1 else _PROTO_BY_VERSION[version]
    else:
        if length < _OF10_LEN or (length - _OF10_LEN) % 8:
            raise OFPDecodeError("OFPBRC_BAD_LEN")
        match, wildcards, normalized_from = M.decode_ofp10_match(data, 8)
        (new_cookie, command, idle, hard, priority, buffer_id, out_port,
         raw_flags) = struct.unpack_from("!QHHHHIHH", data, 48)
        if not wildcards & M.OFPFW10_ALL:
            priority = 0xFFFF
        cookie = cookie_mask = 0
        rest = data[_OF10_LEN:]
        family = Proto.OF10_STD
    if version == 1:
        if proto is None:
            tid = command > 0xFF
        else:
            tid = proto in _TID
        if tid:
            family = Proto.OF10_NXM_TID if nxt else Proto.OF10_STD_TID
            table = command >> 8
            command &= 0xFF
        else:
            table = OFPTT_ALL
    else:
        # An NXT_FLOW_MOD inside a later version: Open vSwitch decodes it with that version's protocol.
        table = command >> 8 if proto is None or proto & (Proto.OF11_UP) else OFPTT_ALL
        command &= 0xFF
    if command == Command.ADD:
        # An add installs the cookie as given, all-ones included; the text parser puts it in both fields.
        cookie = new_cookie
    elif new_cookie == ALL_ONES64:
        new_cookie = None
    fm = FlowMod(command=Command.ADD, match=match, priority=priority, table_id=None if table == OFPTT_ALL else table,
                 cookie=cookie, cookie_mask=cookie_mask, new_cookie=new_cookie, idle_timeout=idle,
                 hard_timeout=hard, importance=0, buffer_id=buffer_id, out_port=out_port)
    _ct_check(match)
    if command > Command.DELETE_STRICT:
        raise OFPDecodeError("OFPFMFC_BAD_COMMAND")
    fm.command = Command(command)
    if version == 1:
        fm.actions = A.decode_actions(rest, 1)
    else:
        fm.actions = A.decode_instructions(rest, version)
    fm.flags = _decode_flags(raw_flags, command, version)
    if raw_flags & _OFPFF10_EMERG and version == 1:
        raise OFPDecodeError("OFPFMFC_BAD_EMERG_TIMEOUT" if idle or hard else "OFPFMFC_TABLE_FULL")
    A.check_consistency(fm.actions, match, family, table)
    return FlowModMessage(fm, family, xid, tun_md, normalized_from)


def _ct_check(match: Match) -> None:
    """Open vSwitch rejects conntrack original-direction addresses of the other IP version than the match's."""
    v, m = match.value & match.mask, match.mask
    dl_type = F.storage_get(v, "dl_type")
    if ((F.storage_get(m, "ct_nw_src") or F.storage_get(m, "ct_nw_dst")) and dl_type != 0x0800) or (
            (F.storage_get(m, "ct_ipv6_src") or F.storage_get(m, "ct_ipv6_dst")) and dl_type != 0x86DD):
        raise OFPDecodeError("OFPBAC_MATCH_INCONSISTENT")


def _decode_of11(data: bytes, version: int, xid: int) -> FlowModMessage:
    length = len(data)
    if length < _OF11_LEN or (length - _OF11_LEN) % 8:
        raise OFPDecodeError("OFPBRC_BAD_LEN")
    (wire_cookie, cookie_mask, table, command, idle, hard, priority, buffer_id, out_port32, out_group, raw_flags,
     importance) = struct.unpack_from("!QQBBHHHIIIHH", data, 8)
    match, tun_md, pos = M.pull_ofp11_match(data, _OF11_LEN)
    modify = command in (Command.MODIFY, Command.MODIFY_STRICT)
    if command == Command.ADD or (version == 2 and modify and cookie_mask == 0):
        cookie, mask, new_cookie = (wire_cookie if command == Command.ADD else 0), 0, wire_cookie
    else:
        cookie, mask, new_cookie = wire_cookie, cookie_mask, None
    deleting = command in (Command.DELETE, Command.DELETE_STRICT)
    if table == OFPTT_ALL and (version == 2 or not deleting):
        raise OFPDecodeError("OFPFMFC_BAD_TABLE_ID")
    out_port = V.port_from_ofp11(out_port32)
    if out_port is None:
        raise OFPDecodeError("OFPBAC_BAD_OUT_PORT", f"port {out_port32:#x} is outside the supported range")
    proto = _PROTO_BY_VERSION[version]
    fm = FlowMod(command=Command.ADD, match=match, priority=priority,
                 table_id=None if table == OFPTT_ALL else table, cookie=cookie, cookie_mask=mask,
                 new_cookie=new_cookie, idle_timeout=idle, hard_timeout=hard,
                 importance=importance if version >= 5 and command == Command.ADD else 0, buffer_id=buffer_id,
                 out_port=out_port, out_group=out_group if deleting else 0xFFFFFFFF)
    _ct_check(match)
    if command > Command.DELETE_STRICT:
        raise OFPDecodeError("OFPFMFC_BAD_COMMAND")
    fm.command = Command(command)
    fm.actions = A.decode_instructions(data[pos:], version)
    fm.flags = _decode_flags(raw_flags, command, version)
    A.check_consistency(fm.actions, match, proto, table)
    return FlowModMessage(fm, proto, xid, tun_md)
