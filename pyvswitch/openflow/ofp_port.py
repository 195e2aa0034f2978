"""Port messages: port descriptions, port status, port-mod, port and queue statistics and queue configuration,
OpenFlow 1.0 to 1.5, byte-exact with Open vSwitch 3.1 and printed as ``ovs-ofctl ofp-print`` prints them.

Layouts (OpenFlow 1.0 section 5.2.1, 1.1 section A.2.1, 1.4 section 7.2.1, 1.3 section 7.3.5.6)::

    ofp10_phy_port (48):  port_no:16 hw_addr:48 name[16] config:32 state:32 curr:32 advertised:32
                          supported:32 peer:32
    ofp11_port (64):      port_no:32 pad:32 hw_addr:48 pad:16 name[16] config state curr advertised supported
                          peer curr_speed:32 max_speed:32
    ofp14_port (40+):     port_no:32 length:16 pad:16 hw_addr:48 pad:16 name[16] config:32 state:32
                          properties (ETHERNET, type 0, 32 bytes: pad:32 curr advertised supported peer
                          curr_speed max_speed)

The model follows Open vSwitch's ``ofputil_phy_port``: port numbers are the 16-bit OpenFlow 1.0 numbers of the
rest of the code base (``values.port_to_ofp11`` maps them to 32 bits), ``hw_addr`` is a 48-bit integer,
``config`` and ``state`` use the OpenFlow 1.0 bits (``PC_*``, ``PS_*``, with the OpenFlow 1.1 ``BLOCKED`` and
``LIVE`` states added at bits 1 and 2 as Open vSwitch does), the feature bits use the OpenFlow 1.1 layout
(``PF_*``; OpenFlow 1.0 moves the medium bits down by 4), and speeds are in kbps (OpenFlow 1.0 derives them from
the feature bits).  Counters that a port cannot report are all-ones (``UNAVAILABLE``); ofp-print prints ``?``.

Port statistics of OpenFlow 1.4+ carry Intel's experimenter properties (vendor 0xaa01) as Open vSwitch sends
them: RFC 2819 size-bucket counters (exp_type 1, kept in ``PortStats.rfc2819``) and custom named counters
(exp_type 2, ``PortStats.custom``), which ofp-print lists under ``CUSTOM Statistics``.

Lists of ports are printed sorted by port number, as ofp-print does; queue statistics keep the wire order.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pyvswitch.flow import values as V
from pyvswitch.openflow import ofp_msgs as M
from pyvswitch.openflow.ofp_errors import OFPDecodeError

__all__ = [
    "PC_NAMES", "PF_NAMES", "PRINTERS", "PS_NAMES", "UNAVAILABLE",
    "PortDesc", "PortMod", "PortStats", "PortStatsRequest", "PortStatus", "Queue", "QueueConfig", "QueueStats",
    "QueueStatsRequest",
    "decode_port_desc_reply", "decode_port_desc_request", "decode_port_mod", "decode_port_stats_reply",
    "decode_port_stats_request", "decode_port_status", "decode_queue_config_reply",
    "decode_queue_config_request", "decode_queue_stats_reply", "decode_queue_stats_request",
    "encode_port_desc_reply", "encode_port_desc_request", "encode_port_mod", "encode_port_stats_reply",
    "encode_port_stats_request", "encode_port_status", "encode_queue_config_reply",
    "encode_queue_config_request", "encode_queue_stats_reply", "encode_queue_stats_request",
    "format_duration", "format_port_desc", "format_port_stats", "format_ports", "format_queue_stats", "pack_port", "pack_ports", "parse_mod_port_command", "port_to_wire",
    "unpack_port", "unpack_ports", "wire_to_port",
]

UNAVAILABLE = 0xFFFFFFFFFFFFFFFF
OFPQ_ALL = 0xFFFFFFFF
U32 = 0xFFFFFFFF

# Port config bits (OpenFlow 1.0 numbering; OpenFlow 1.1+ keeps only DOWN, NO_RECV, NO_FWD, NO_PACKET_IN).
PC_PORT_DOWN = 1 << 0
PC_NO_STP = 1 << 1
PC_NO_RECV = 1 << 2
PC_NO_RECV_STP = 1 << 3
PC_NO_FLOOD = 1 << 4
PC_NO_FWD = 1 << 5
PC_NO_PACKET_IN = 1 << 6
PC_NAMES = {PC_PORT_DOWN: "PORT_DOWN", PC_NO_STP: "NO_STP", PC_NO_RECV: "NO_RECV", PC_NO_RECV_STP: "NO_RECV_STP",
            PC_NO_FLOOD: "NO_FLOOD", PC_NO_FWD: "NO_FWD", PC_NO_PACKET_IN: "NO_PACKET_IN"}
_PC10_ALL = 0x7F
_PC11_ALL = PC_PORT_DOWN | PC_NO_RECV | PC_NO_FWD | PC_NO_PACKET_IN

# Port state bits: LINK_DOWN everywhere, BLOCKED and LIVE from OpenFlow 1.1, STP state (bits 8-9) in 1.0.
PS_LINK_DOWN = 1 << 0
PS_BLOCKED = 1 << 1
PS_LIVE = 1 << 2
PS_STP_LISTEN = 0 << 8
PS_STP_LEARN = 1 << 8
PS_STP_FORWARD = 2 << 8
PS_STP_BLOCK = 3 << 8
PS_STP_MASK = 3 << 8
PS_NAMES = {PS_LINK_DOWN: "LINK_DOWN", PS_BLOCKED: "BLOCKED", PS_LIVE: "LIVE"}
_PS10_ALL = PS_LINK_DOWN | PS_STP_MASK
_PS11_ALL = PS_LINK_DOWN | PS_BLOCKED | PS_LIVE

# Port feature bits, OpenFlow 1.1 layout.
PF_NAMES = {1 << 0: "10MB-HD", 1 << 1: "10MB-FD", 1 << 2: "100MB-HD", 1 << 3: "100MB-FD", 1 << 4: "1GB-HD",
            1 << 5: "1GB-FD", 1 << 6: "10GB-FD", 1 << 7: "40GB-FD", 1 << 8: "100GB-FD", 1 << 9: "1TB-FD",
            1 << 10: "OTHER", 1 << 11: "COPPER", 1 << 12: "FIBER", 1 << 13: "AUTO_NEG", 1 << 14: "AUTO_PAUSE",
            1 << 15: "AUTO_PAUSE_ASYM"}
_PF_ALL = 0xFFFF
_PF_SPEEDS = [(1 << 9, 10**12), (1 << 8, 10**11), (1 << 7, 4 * 10**10), (1 << 6, 10**10), (3 << 4, 10**9),
              (3 << 2, 10**8), (3 << 0, 10**7)]

_PHY10 = struct.Struct("!H6s16sIIIIII")
_PORT11 = struct.Struct("!I4x6s2x16sIIIIIIII")
_PORT14 = struct.Struct("!IH2x6s2x16sII")
_ETH_PROP14 = struct.Struct("!HH4xIIIIII")


# ------------------------------------------------------------------------------------------------ helpers


def port_to_wire(port: int, version: int) -> int:
    """A model (16-bit) port number as ``version`` sends it."""
    return port if version == 1 else V.port_to_ofp11(port)


def wire_to_port(port: int, version: int) -> int:
    """A wire port number as a model one; ``OFPBAC_BAD_OUT_PORT`` for a 32-bit number with no 16-bit form (as
    Open vSwitch's ``ofputil_port_from_ofp11``)."""
    if version == 1:
        return port
    p = V.port_from_ofp11(port)
    if p is None:
        raise OFPDecodeError("OFPBAC_BAD_OUT_PORT", f"port {port} is outside the supported range 0 through "
                                                    f"{V.OFPP_MAX - 1} or 0x{0xFFFFFFF7:x} through 0xffffffff")
    return p


def _pf_to_10(features: int) -> int:
    return (features & 0x7F) | ((features & 0xF800) >> 4)


def _pf_from_10(features: int) -> int:
    return (features & 0x7F) | ((features & 0xF80) << 4)


def _features_kbps(features: int) -> int:
    for bits, bps in _PF_SPEEDS:
        if features & bits:
            return bps // 1000
    return 0


def _name_bytes(name: str) -> bytes:
    return name.encode("latin-1")[:15].ljust(16, b"\0")


def _name_str(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0][:15].decode("latin-1")


def _bit_names(bits: int, names: dict[int, str]) -> str:
    """Open vSwitch's ``ofp_print_bit_names`` with a space: known names, unknown bits as hex, "0" for none."""
    if not bits:
        return "0"
    out = []
    for i in range(32):
        bit = 1 << i
        if bits & bit:
            out.append(names.get(bit, f"{bit:#x}"))
    return " ".join(out)


def format_duration(sec: int, nsec: int) -> str:
    """``5s``, ``5.120s``, ``5.06711552s``: the nanoseconds as nine digits without up to six trailing zeros
    (so at least the milliseconds stay)."""
    s = str(sec)
    if nsec:
        digits = f"{nsec:09d}"
        for _ in range(6):
            if not digits.endswith("0"):
                break
            digits = digits[:-1]
        s += "." + digits
    return s + "s"


def _port_text(port: int) -> str:
    return V.format_port(port)


def _props(data: bytes, min_exp: int = 0xFFFF) -> Iterator[tuple[int, bytes]]:
    """The OpenFlow 1.4 properties (type:16 length:16, padded to 8) of ``data``, one at a time, so that the
    caller rejects a bad property before a later one is even looked at, as Open vSwitch does.
    ``OFPBPC_BAD_LEN`` for a bad length; types from ``min_exp`` up are experimenter properties."""
    i = 0
    while i < len(data):
        if len(data) - i < 4:
            raise OFPDecodeError("OFPBPC_BAD_LEN", "property header truncated")
        ptype, plen = struct.unpack_from("!HH", data, i)
        padded = (plen + 7) & ~7
        # Experimenter properties (types ``min_exp`` and up) need room for the experimenter id and type.
        if plen < (12 if ptype >= min_exp else 4) or padded > len(data) - i:
            raise OFPDecodeError("OFPBPC_BAD_LEN", f"property {ptype} has bad length {plen}")
        yield ptype, data[i:i + plen]
        i += padded


def _prop(ptype: int, payload: bytes) -> bytes:
    plen = 4 + len(payload)
    return struct.pack("!HH", ptype, plen) + payload + bytes(-plen % 8)


# ------------------------------------------------------------------------------------------------ ports


@dataclass
class PortDesc:
    """One port as a switch describes it (``ofputil_phy_port``).  ``hw_addr`` is a 48-bit integer; ``config``
    (``PC_*``) and ``state`` (``PS_*``) use OpenFlow 1.0 bits; ``curr``, ``advertised``, ``supported`` and
    ``peer`` the OpenFlow 1.1 feature bits (``PF_NAMES``); speeds are kbps."""

    port_no: int
    hw_addr: int = 0
    name: str = ""
    config: int = 0
    state: int = 0
    curr: int = 0
    advertised: int = 0
    supported: int = 0
    peer: int = 0
    curr_speed: int = 0
    max_speed: int = 0


def pack_port(p: PortDesc, version: int) -> bytes:
    """``p`` as ``ofp10_phy_port``, ``ofp11_port`` or ``ofp14_port`` (with its ethernet property)."""
    mac = p.hw_addr.to_bytes(6, "big")
    name = _name_bytes(p.name)
    if version == 1:
        return _PHY10.pack(p.port_no, mac, name, p.config & _PC10_ALL, p.state & _PS10_ALL, _pf_to_10(p.curr),
                           _pf_to_10(p.advertised), _pf_to_10(p.supported), _pf_to_10(p.peer))
    config, state = p.config & _PC11_ALL, p.state & _PS11_ALL
    if version <= 4:
        return _PORT11.pack(V.port_to_ofp11(p.port_no), mac, name, config, state, p.curr, p.advertised,
                            p.supported, p.peer, p.curr_speed, p.max_speed)
    eth = _ETH_PROP14.pack(0, 32, p.curr, p.advertised, p.supported, p.peer, p.curr_speed, p.max_speed)
    return _PORT14.pack(V.port_to_ofp11(p.port_no), _PORT14.size + len(eth), mac, name, config, state) + eth


def unpack_port(data: bytes, version: int, offset: int = 0) -> tuple[PortDesc, int]:
    """The port at ``offset`` of ``data`` and the offset after it."""
    rest = len(data) - offset
    if version == 1:
        if rest < _PHY10.size:
            raise OFPDecodeError("OFPBRC_BAD_LEN", "truncated ofp10_phy_port")
        port, mac, name, config, state, curr, adv, sup, peer = _PHY10.unpack_from(data, offset)
        p = PortDesc(port, int.from_bytes(mac, "big"), _name_str(name), config & _PC10_ALL, state & _PS10_ALL,
                     _pf_from_10(curr), _pf_from_10(adv), _pf_from_10(sup), _pf_from_10(peer))
        p.curr_speed = _features_kbps(p.curr)
        p.max_speed = _features_kbps(p.supported)
        return p, offset + _PHY10.size
    if version <= 4:
        if rest < _PORT11.size:
            raise OFPDecodeError("OFPBRC_BAD_LEN", "truncated ofp11_port")
        port, mac, name, config, state, curr, adv, sup, peer, cs, ms = _PORT11.unpack_from(data, offset)
        return (PortDesc(wire_to_port(port, version), int.from_bytes(mac, "big"), _name_str(name),
                         config & _PC11_ALL, state & _PS11_ALL, curr & _PF_ALL, adv & _PF_ALL, sup & _PF_ALL,
                         peer & _PF_ALL, cs, ms),
                offset + _PORT11.size)
    if rest < _PORT14.size:
        raise OFPDecodeError("OFPBRC_BAD_LEN", "truncated ofp14_port")
    port, plen, mac, name, config, state = _PORT14.unpack_from(data, offset)
    if plen < _PORT14.size or plen > rest:
        raise OFPDecodeError("OFPBRC_BAD_LEN", f"ofp14_port length {plen} not between {_PORT14.size} and {rest}")
    p = PortDesc(wire_to_port(port, version), int.from_bytes(mac, "big"), _name_str(name), config & _PC11_ALL,
                 state & _PS11_ALL)
    for ptype, pdata in _props(data[offset + _PORT14.size:offset + plen]):
        if ptype == 0:
            if len(pdata) < _ETH_PROP14.size:
                raise OFPDecodeError("OFPBPC_BAD_LEN", "bad ethernet property length")
            (_, _, p.curr, p.advertised, p.supported, p.peer, p.curr_speed,
             p.max_speed) = _ETH_PROP14.unpack_from(pdata)
            p.curr, p.advertised = p.curr & _PF_ALL, p.advertised & _PF_ALL
            p.supported, p.peer = p.supported & _PF_ALL, p.peer & _PF_ALL
        # Open vSwitch ignores other port properties (optical ones, experimenters).
    return p, offset + plen


def pack_ports(ports: list[PortDesc], version: int) -> bytes:
    return b"".join(pack_port(p, version) for p in ports)


def unpack_ports(data: bytes, version: int) -> list[PortDesc]:
    ports = []
    i = 0
    while i < len(data):
        p, i = unpack_port(data, version, i)
        ports.append(p)
    return ports


def _state_text(state: int) -> str:
    stp = state & PS_STP_MASK
    if stp:
        s = {PS_STP_LEARN: "STP_LEARN", PS_STP_FORWARD: "STP_FORWARD"}.get(stp, "STP_BLOCK")
        rest = state & ~PS_STP_MASK
        # ofp-print puts no space between the STP state and the other state bits.
        return s + (_bit_names(rest, PS_NAMES) if rest else "")
    return _bit_names(state, PS_NAMES)


def format_port_desc(p: PortDesc) -> str:
    """One port as ofp-print prints it (several lines, each ending with a newline)."""
    raw = p.name.encode("latin-1")
    j = 0
    while j < len(raw) and 0x20 <= raw[j] < 0x7F:
        j += 1
    s = f" {_port_text(p.port_no)}({raw[:j].decode('latin-1')}): addr:{V.format_mac(p.hw_addr)}\n"
    s += f"     config:     {_bit_names(p.config, PC_NAMES)}\n"
    s += f"     state:      {_state_text(p.state)}\n"
    for label, bits in (("current:    ", p.curr), ("advertised: ", p.advertised), ("supported:  ", p.supported),
                        ("peer:       ", p.peer)):
        if bits:
            s += f"     {label}{_bit_names(bits, PF_NAMES)}\n"
    return s + f"     speed: {p.curr_speed // 1000} Mbps now, {p.max_speed // 1000} Mbps max\n"


def format_ports(ports: list[PortDesc]) -> str:
    return "".join(format_port_desc(p) for p in sorted(ports, key=lambda p: p.port_no))


# ------------------------------------------------------------------------------------------------ port status

OFPPR_ADD, OFPPR_DELETE, OFPPR_MODIFY = 0, 1, 2
_REASONS = {OFPPR_ADD: "ADD", OFPPR_DELETE: "DEL", OFPPR_MODIFY: "MOD"}


@dataclass
class PortStatus:
    """``OFPT_PORT_STATUS``: ``reason`` 0 (add), 1 (delete) or 2 (modify) and the port."""

    reason: int
    desc: PortDesc


def encode_port_status(ps: PortStatus, version: int, xid: int = 0) -> bytes:
    body = struct.pack("!B7x", ps.reason) + pack_port(ps.desc, version)
    return M.encode(M.raw_for("PORT_STATUS", version), version, body, xid)


def decode_port_status(msg: M.Msg) -> PortStatus:
    body = msg.body
    reason = body[0]
    if reason not in _REASONS:
        raise OFPDecodeError("NXBRC_BAD_REASON", f"bad port status reason {reason}")
    desc, end = unpack_port(body, msg.version, 8)
    if msg.version >= 5 and end != len(body):
        raise OFPDecodeError("OFPBRC_BAD_LEN", "port status with trailing bytes")
    return PortStatus(reason, desc)


def _print_port_status(msg: M.Msg) -> str:
    ps = decode_port_status(msg)
    return f" {_REASONS[ps.reason]}:" + format_port_desc(ps.desc)


# ------------------------------------------------------------------------------------------------ port mod


@dataclass
class PortMod:
    """``OFPT_PORT_MOD``: set the ``config`` bits selected by ``mask`` on ``port_no`` (whose address must be
    ``hw_addr``); ``advertise`` feature bits, 0 for "unchanged"."""

    port_no: int
    hw_addr: int = 0
    config: int = 0
    mask: int = 0
    advertise: int = 0


def encode_port_mod(pm: PortMod, version: int, xid: int = 0) -> bytes:
    mac = pm.hw_addr.to_bytes(6, "big")
    if version == 1:
        body = struct.pack("!H6sIII4x", pm.port_no, mac, pm.config & _PC10_ALL, pm.mask & _PC10_ALL,
                           _pf_to_10(pm.advertise))
    elif version <= 4:
        body = struct.pack("!I4x6s2xIII4x", V.port_to_ofp11(pm.port_no), mac, pm.config & _PC11_ALL,
                           pm.mask & _PC11_ALL, pm.advertise)
    else:
        body = struct.pack("!I4x6s2xII", V.port_to_ofp11(pm.port_no), mac, pm.config & _PC11_ALL,
                           pm.mask & _PC11_ALL)
        if pm.advertise:
            body += _prop(0, struct.pack("!I", pm.advertise))
    return M.encode(M.raw_for("PORT_MOD", version), version, body, xid)


def decode_port_mod(msg: M.Msg) -> PortMod:
    """A port-mod; as Open vSwitch, ``config`` keeps only the bits ``mask`` selects."""
    body, v = msg.body, msg.version
    if v == 1:
        port, mac, config, mask, adv = struct.unpack_from("!H6sIII", body)
        pm = PortMod(port, int.from_bytes(mac, "big"), config & _PC10_ALL, mask & _PC10_ALL, _pf_from_10(adv))
    elif v <= 4:
        port, mac, config, mask, adv = struct.unpack_from("!I4x6s2xIII", body)
        pm = PortMod(wire_to_port(port, v), int.from_bytes(mac, "big"), config & _PC11_ALL, mask & _PC11_ALL,
                     adv & _PF_ALL)
    else:
        port, mac, config, mask = struct.unpack_from("!I4x6s2xII", body)
        pm = PortMod(wire_to_port(port, v), int.from_bytes(mac, "big"), config & _PC11_ALL, mask & _PC11_ALL)
        for ptype, pdata in _props(body[24:]):
            if ptype == 0:
                if len(pdata) != 8:
                    raise OFPDecodeError("OFPBPC_BAD_LEN", "bad ethernet port-mod property length")
                pm.advertise = struct.unpack_from("!I", pdata, 4)[0] & _PF_ALL
            # Open vSwitch ignores other properties (optical ones, unknown types).
    pm.config &= pm.mask
    return pm


def _print_port_mod(msg: M.Msg) -> str:
    pm = decode_port_mod(msg)
    s = f" port: {_port_text(pm.port_no)}: addr:{V.format_mac(pm.hw_addr)}\n"
    s += f"     config: {_bit_names(pm.config, PC_NAMES)}\n"
    s += f"     mask:   {_bit_names(pm.mask, PC_NAMES)}\n"
    s += "     advertise: " + (_bit_names(pm.advertise, PF_NAMES) if pm.advertise else "UNCHANGED") + "\n"
    return s


_MOD_PORT_MODES = [("up", PC_PORT_DOWN, False), ("down", PC_PORT_DOWN, True), ("stp", PC_NO_STP, False),
                   ("receive", PC_NO_RECV, False), ("receive-stp", PC_NO_RECV_STP, False),
                   ("flood", PC_NO_FLOOD, False), ("forward", PC_NO_FWD, False),
                   ("packet-in", PC_NO_PACKET_IN, False)]


def parse_mod_port_command(text: str) -> tuple[int, int]:
    """``ovs-ofctl mod-port``'s ACTION word as a port-mod's ``(config, mask)``: ``up``, ``down``, ``stp``,
    ``receive``, ``receive-stp``, ``flood``, ``forward``, ``packet-in`` and their ``no-`` forms (any case).
    Raises ``ValueError("unknown mod-port command 'X'")`` as ovs-ofctl words it."""
    low = text.lower()
    for name, bit, on in _MOD_PORT_MODES:
        if low == name:
            return (bit if on else 0), bit
        if low.startswith("no-") and low[3:] == name:
            return (0 if on else bit), bit
    raise ValueError(f"unknown mod-port command '{text}'")


# ------------------------------------------------------------------------------------------------ port desc


def encode_port_desc_request(port_no: int, version: int, xid: int = 0) -> bytes:
    """``OFPST_PORT_DESC`` request; only OpenFlow 1.5 carries ``port_no`` (``OFPP_ANY`` for all)."""
    body = struct.pack("!I4x", V.port_to_ofp11(port_no)) if version >= 6 else b""
    return M.encode(M.raw_for("PORT_DESC_STATS_REQUEST", version), version, body, xid)


def decode_port_desc_request(msg: M.Msg) -> int:
    if msg.version >= 6:
        return wire_to_port(struct.unpack_from("!I", msg.body)[0], msg.version)
    return V.OFPP_ANY


def encode_port_desc_reply(ports: list[PortDesc], version: int, xid: int = 0) -> list[bytes]:
    return M.encode_multipart_replies(M.raw_for("PORT_DESC_STATS_REPLY", version), version, xid,
                                      [pack_port(p, version) for p in ports])


def decode_port_desc_reply(msg: M.Msg) -> list[PortDesc]:
    return unpack_ports(msg.body, msg.version)


def _print_port_desc_request(msg: M.Msg) -> str:
    return f" port={_port_text(decode_port_desc_request(msg))}\n"


def _print_port_desc_reply(msg: M.Msg) -> str:
    return "\n" + format_ports(decode_port_desc_reply(msg))


# ------------------------------------------------------------------------------------------------ port stats


@dataclass
class PortStatsRequest:
    port_no: int = V.OFPP_ANY


def encode_port_stats_request(req: PortStatsRequest, version: int, xid: int = 0) -> bytes:
    if version == 1:
        body = struct.pack("!H6x", req.port_no)
    else:
        body = struct.pack("!I4x", V.port_to_ofp11(req.port_no))
    return M.encode(M.raw_for("PORT_STATS_REQUEST", version), version, body, xid)


def decode_port_stats_request(msg: M.Msg) -> PortStatsRequest:
    if msg.version == 1:
        return PortStatsRequest(struct.unpack_from("!H", msg.body)[0])
    return PortStatsRequest(wire_to_port(struct.unpack_from("!I", msg.body)[0], msg.version))


def _print_port_stats_request(msg: M.Msg) -> str:
    return f" port_no={_port_text(decode_port_stats_request(msg).port_no)}\n"


_RFC2819_N = 21


@dataclass
class PortStats:
    """One port's counters (``ofputil_port_stats``); ``UNAVAILABLE`` (all-ones) where the port has none.
    ``duration_sec`` is all-ones 32 bits when unknown (OpenFlow 1.0 to 1.2 cannot carry it).  ``rfc2819``
    holds Intel's 21 RFC 2819 counters and ``custom`` the named custom counters (OpenFlow 1.4+ only)."""

    port_no: int
    rx_packets: int = UNAVAILABLE
    tx_packets: int = UNAVAILABLE
    rx_bytes: int = UNAVAILABLE
    tx_bytes: int = UNAVAILABLE
    rx_dropped: int = UNAVAILABLE
    tx_dropped: int = UNAVAILABLE
    rx_errors: int = UNAVAILABLE
    tx_errors: int = UNAVAILABLE
    rx_frame_errors: int = UNAVAILABLE
    rx_over_errors: int = UNAVAILABLE
    rx_crc_errors: int = UNAVAILABLE
    collisions: int = UNAVAILABLE
    duration_sec: int = U32
    duration_nsec: int = U32
    rfc2819: tuple[int, ...] = (UNAVAILABLE,) * _RFC2819_N
    custom: list[tuple[str, int]] = field(default_factory=list)


_PS_COUNTERS = struct.Struct("!12Q")
_BUCKETS = ["1_to_64", "65_to_127", "128_to_255", "256_to_511", "512_to_1023", "1024_to_1522", "1523_to_max"]
# The RFC 2819 counters in wire order are rx buckets (0-6), tx buckets (7-13), tx_multicast, rx_broadcast,
# tx_broadcast, rx_undersized, rx_oversize, rx_fragmented, rx_jabber; ofp-print groups them by direction.
_RFC2819_LINES = [
    ("rx", [(k, f"{b}_packets") for k, b in enumerate(_BUCKETS)]
     + [(15, "broadcast_packets"), (17, "undersized_errors"), (18, "oversize_errors"),
        (19, "rx_fragmented_errors"), (20, "rx_jabber_errors")]),
    ("tx", [(7 + k, f"{b}_packets") for k, b in enumerate(_BUCKETS)]
     + [(14, "multicast_packets"), (16, "broadcast_packets")]),
]
_INTEL_VENDOR = 0x0000AA01


def _counters(s: PortStats) -> tuple[int, ...]:
    return (s.rx_packets, s.tx_packets, s.rx_bytes, s.tx_bytes, s.rx_dropped, s.tx_dropped, s.rx_errors,
            s.tx_errors, s.rx_frame_errors, s.rx_over_errors, s.rx_crc_errors, s.collisions)


def _pack_port_stats(s: PortStats, version: int) -> bytes:
    c = _counters(s)
    if version == 1:
        return struct.pack("!H6x", s.port_no) + _PS_COUNTERS.pack(*c)
    if version <= 4:
        b = struct.pack("!I4x", V.port_to_ofp11(s.port_no)) + _PS_COUNTERS.pack(*c)
        if version == 4:
            b += struct.pack("!II", s.duration_sec, s.duration_nsec)
        return b
    eth = struct.pack("!HH4x4Q", 0, 40, s.rx_frame_errors, s.rx_over_errors, s.rx_crc_errors, s.collisions)
    rfc = struct.pack("!HHII4x", 0xFFFF, 16 + 8 * _RFC2819_N, _INTEL_VENDOR, 1) + struct.pack(
        f"!{_RFC2819_N}Q", *s.rfc2819)
    props = eth + rfc
    if s.custom:
        payload = struct.pack("!II2xH", _INTEL_VENDOR, 2, len(s.custom))
        for name, value in s.custom:
            nb = name.encode("latin-1")[:63]
            payload += bytes([len(nb)]) + nb + struct.pack("!Q", value)
        props += _prop(0xFFFF, payload)
    head = struct.pack("!H2xIII", 0, V.port_to_ofp11(s.port_no), s.duration_sec, s.duration_nsec)
    base = head + struct.pack("!8Q", *c[:8])
    length = len(base) + len(props)
    return struct.pack("!H", length) + base[2:] + props


def encode_port_stats_reply(stats: list[PortStats], version: int, xid: int = 0) -> list[bytes]:
    return M.encode_multipart_replies(M.raw_for("PORT_STATS_REPLY", version), version, xid,
                                      [_pack_port_stats(s, version) for s in stats])


def _unpack_intel(s: PortStats, pdata: bytes) -> None:
    if len(pdata) < 12:
        raise OFPDecodeError("OFPBPC_BAD_LEN", "truncated experimenter property")
    vendor, exp_type = struct.unpack_from("!II", pdata, 4)
    if vendor != _INTEL_VENDOR:
        return
    if exp_type == 1:
        if len(pdata) != 16 + 8 * _RFC2819_N:
            raise OFPDecodeError("OFPBPC_BAD_LEN", "bad RFC 2819 statistics length")
        s.rfc2819 = struct.unpack_from(f"!{_RFC2819_N}Q", pdata, 16)
    elif exp_type == 2:
        if len(pdata) < 16:
            raise OFPDecodeError("OFPBPC_BAD_LEN", "truncated custom statistics")
        n = struct.unpack_from("!H", pdata, 14)[0]
        i = 16
        custom = []
        for _ in range(n):
            if i >= len(pdata):
                raise OFPDecodeError("OFPBPC_BAD_LEN", "truncated custom statistics")
            nlen = pdata[i]
            if i + 1 + nlen + 8 > len(pdata):
                raise OFPDecodeError("OFPBPC_BAD_LEN", "truncated custom statistics")
            name = pdata[i + 1:i + 1 + nlen].split(b"\0", 1)[0].decode("latin-1")
            custom.append((name, struct.unpack_from("!Q", pdata, i + 1 + nlen)[0]))
            i += 1 + nlen + 8
        s.custom = custom


def decode_port_stats_reply(msg: M.Msg) -> list[PortStats]:
    body, v = msg.body, msg.version
    out = []
    i = 0
    if v <= 4:
        size = 104 if v < 4 else 112
        while i < len(body):
            port = struct.unpack_from("!H" if v == 1 else "!I", body, i)[0]
            s = PortStats(wire_to_port(port, v))
            (s.rx_packets, s.tx_packets, s.rx_bytes, s.tx_bytes, s.rx_dropped, s.tx_dropped, s.rx_errors,
             s.tx_errors, s.rx_frame_errors, s.rx_over_errors, s.rx_crc_errors,
             s.collisions) = _PS_COUNTERS.unpack_from(body, i + 8)
            if v == 4:
                s.duration_sec, s.duration_nsec = struct.unpack_from("!II", body, i + 104)
            out.append(s)
            i += size
        return out
    while i < len(body):
        if len(body) - i < 80:
            raise OFPDecodeError("OFPBRC_BAD_LEN", "truncated ofp14_port_stats")
        length, port, dsec, dnsec = struct.unpack_from("!H2xIII", body, i)
        if length < 80 or length > len(body) - i:
            raise OFPDecodeError("OFPBRC_BAD_LEN", f"ofp14_port_stats length {length} not between 80 and "
                                                   f"{len(body) - i}")
        s = PortStats(wire_to_port(port, v), duration_sec=dsec, duration_nsec=dnsec)
        (s.rx_packets, s.tx_packets, s.rx_bytes, s.tx_bytes, s.rx_dropped, s.tx_dropped, s.rx_errors,
         s.tx_errors) = struct.unpack_from("!8Q", body, i + 16)
        for ptype, pdata in _props(body[i + 80:i + length]):
            if ptype == 0:
                if len(pdata) != 40:
                    raise OFPDecodeError("OFPBPC_BAD_LEN", "bad ethernet statistics property length")
                (s.rx_frame_errors, s.rx_over_errors, s.rx_crc_errors,
                 s.collisions) = struct.unpack_from("!4Q", pdata, 8)
            elif ptype == 0xFFFF:
                _unpack_intel(s, pdata)
        out.append(s)
        i += length
    return out


def _stat(leader: str, v: int, more: bool) -> str:
    return leader + ("?" if v == UNAVAILABLE else str(v)) + (", " if more else "\n")


def format_port_stats(s: PortStats) -> str:
    """One port's statistics as ofp-print (and ``ovs-ofctl dump-ports``) prints them."""
    out = "  port " + (" " if s.port_no < 10 else "") + _port_text(s.port_no) + ": rx "
    out += _stat("pkts=", s.rx_packets, True) + _stat("bytes=", s.rx_bytes, True)
    out += _stat("drop=", s.rx_dropped, True) + _stat("errs=", s.rx_errors, True)
    out += _stat("frame=", s.rx_frame_errors, True) + _stat("over=", s.rx_over_errors, True)
    out += _stat("crc=", s.rx_crc_errors, False)
    out += "           tx " + _stat("pkts=", s.tx_packets, True) + _stat("bytes=", s.tx_bytes, True)
    out += _stat("drop=", s.tx_dropped, True) + _stat("errs=", s.tx_errors, True)
    out += _stat("coll=", s.collisions, False)
    if s.duration_sec != U32:
        out += f"           duration={format_duration(s.duration_sec, s.duration_nsec)}\n"
    for leader, names in _RFC2819_LINES:
        items = [f"{name}={s.rfc2819[k]}, " for k, name in names if s.rfc2819[k] != UNAVAILABLE]
        if items:
            out += f"           {leader} rfc2819 " + "".join(items) + "\n"
    if s.custom:
        out += "           CUSTOM Statistics"
        for k, (name, value) in enumerate(s.custom):
            if name:
                out += "\n                      " if k % 3 == 0 else " "
                out += f"{name}={value},"
        out += "\n"
    return out


def _print_port_stats_reply(msg: M.Msg) -> str:
    stats = decode_port_stats_reply(msg)
    return f" {len(stats)} ports\n" + "".join(format_port_stats(s) for s in stats)


# ------------------------------------------------------------------------------------------------ queue stats


@dataclass
class QueueStatsRequest:
    port_no: int = V.OFPP_ANY
    queue_id: int = OFPQ_ALL


def encode_queue_stats_request(req: QueueStatsRequest, version: int, xid: int = 0) -> bytes:
    if version == 1:
        port = V.OFPP_ALL if req.port_no == V.OFPP_ANY else req.port_no
        body = struct.pack("!H2xI", port, req.queue_id)
    else:
        body = struct.pack("!II", V.port_to_ofp11(req.port_no), req.queue_id)
    return M.encode(M.raw_for("QUEUE_STATS_REQUEST", version), version, body, xid)


def decode_queue_stats_request(msg: M.Msg) -> QueueStatsRequest:
    if msg.version == 1:
        port, queue = struct.unpack_from("!H2xI", msg.body)
        return QueueStatsRequest(V.OFPP_ANY if port == V.OFPP_ALL else port, queue)
    port, queue = struct.unpack_from("!II", msg.body)
    return QueueStatsRequest(wire_to_port(port, msg.version), queue)


def _queue_text(q: int) -> str:
    return "ALL" if q == OFPQ_ALL else str(q)


def _print_queue_stats_request(msg: M.Msg) -> str:
    r = decode_queue_stats_request(msg)
    return f" port={_port_text(r.port_no)} queue={_queue_text(r.queue_id)}\n"


@dataclass
class QueueStats:
    port_no: int
    queue_id: int
    tx_bytes: int = UNAVAILABLE
    tx_packets: int = UNAVAILABLE
    tx_errors: int = UNAVAILABLE
    duration_sec: int = U32
    duration_nsec: int = U32


def _pack_queue_stats(q: QueueStats, version: int) -> bytes:
    counters = struct.pack("!QQQ", q.tx_bytes, q.tx_packets, q.tx_errors)
    if version == 1:
        return struct.pack("!H2xI", q.port_no, q.queue_id) + counters
    b = struct.pack("!II", V.port_to_ofp11(q.port_no), q.queue_id) + counters
    if version >= 4:
        b += struct.pack("!II", q.duration_sec, q.duration_nsec)
    if version >= 5:
        b = struct.pack("!H6x", 8 + len(b)) + b
    return b


def encode_queue_stats_reply(stats: list[QueueStats], version: int, xid: int = 0) -> list[bytes]:
    return M.encode_multipart_replies(M.raw_for("QUEUE_STATS_REPLY", version), version, xid,
                                      [_pack_queue_stats(q, version) for q in stats])


def decode_queue_stats_reply(msg: M.Msg) -> list[QueueStats]:
    body, v = msg.body, msg.version
    out = []
    i = 0
    while i < len(body):
        if v >= 5:
            if len(body) - i < 48:
                raise OFPDecodeError("OFPBRC_BAD_LEN", "truncated ofp14_queue_stats")
            length = struct.unpack_from("!H", body, i)[0]
            if length < 48 or length > len(body) - i:
                raise OFPDecodeError("OFPBRC_BAD_LEN", f"ofp14_queue_stats length {length} not between 48 and "
                                                       f"{len(body) - i}")
            for _ in _props(body[i + 48:i + length]):
                pass
            start, step = i + 8, length
        else:
            start, step = i, 32 if v < 4 else 40
        if v == 1:
            port, queue = struct.unpack_from("!H2xI", body, start)
        else:
            port, queue = struct.unpack_from("!II", body, start)
        q = QueueStats(wire_to_port(port, v), queue, *struct.unpack_from("!QQQ", body, start + 8))
        if v >= 4:
            q.duration_sec, q.duration_nsec = struct.unpack_from("!II", body, start + 32)
        out.append(q)
        i += step
    return out


def format_queue_stats(q: QueueStats) -> str:
    s = f"  port {_port_text(q.port_no)} queue {_queue_text(q.queue_id)}: "
    s += _stat("bytes=", q.tx_bytes, True) + _stat("pkts=", q.tx_packets, True)
    s += _stat("errors=", q.tx_errors, True) + "duration="
    if q.duration_sec != U32:
        s += format_duration(q.duration_sec, q.duration_nsec) + "\n"
    else:
        s += "?\n"
    return s


def _print_queue_stats_reply(msg: M.Msg) -> str:
    stats = decode_queue_stats_reply(msg)
    return f" {len(stats)} queues\n" + "".join(format_queue_stats(q) for q in stats)


# ------------------------------------------------------------------------------------------------ queue config


@dataclass
class Queue:
    """A queue's configuration: rates in tenths of a percent (0 to 1000), 0xffff for "disabled", None when the
    queue has no such property."""

    queue_id: int
    port_no: int = V.OFPP_ANY
    min_rate: int | None = None
    max_rate: int | None = None


@dataclass
class QueueConfig:
    """``OFPT_QUEUE_GET_CONFIG_REPLY`` (1.0 to 1.3) or ``OFPST_QUEUE_DESC`` reply (1.4+)."""

    port_no: int
    queues: list[Queue] = field(default_factory=list)


def encode_queue_config_request(port_no: int, version: int, xid: int = 0, queue_id: int = OFPQ_ALL) -> bytes:
    """``OFPT_QUEUE_GET_CONFIG_REQUEST`` (1.0 to 1.3) or ``OFPST_QUEUE_DESC`` request (1.4+)."""
    if version == 1:
        return M.encode("OFPT10_QUEUE_GET_CONFIG_REQUEST", 1, struct.pack("!H2x", port_no), xid)
    if version <= 4:
        return M.encode("OFPT11_QUEUE_GET_CONFIG_REQUEST", version, struct.pack("!I4x", V.port_to_ofp11(port_no)),
                        xid)
    return M.encode("OFPST14_QUEUE_DESC_REQUEST", version, struct.pack("!II", V.port_to_ofp11(port_no), queue_id),
                    xid)


def decode_queue_config_request(msg: M.Msg) -> tuple[int, int]:
    """``(port_no, queue_id)`` of a queue config or queue desc request."""
    if msg.version >= 5:
        port, queue = struct.unpack_from("!II", msg.body)
        return wire_to_port(port, msg.version), queue
    if msg.version == 1:
        port = struct.unpack_from("!H", msg.body)[0]
    else:
        port = wire_to_port(struct.unpack_from("!I", msg.body)[0], msg.version)
    # OpenFlow 1.0 has no "any port" here; 1.1 to 1.3 allow OFPP_ANY.
    if port >= V.OFPP_MAX and (msg.version == 1 or port != V.OFPP_ANY):
        raise OFPDecodeError("OFPQOFC_BAD_PORT", f"bad port {port} in queue config request")
    return port, OFPQ_ALL


def _print_queue_config_request(msg: M.Msg) -> str:
    port, queue = decode_queue_config_request(msg)
    s = f" port={_port_text(port)}"
    if queue != OFPQ_ALL:
        s += f" queue={queue}"
    return s + "\n"


def _pack_rate_props(q: Queue, version: int) -> bytes:
    b = b""
    for ptype, rate in ((1, q.min_rate), (2, q.max_rate)):
        if rate is None or rate == 0xFFFF:
            continue
        if version >= 5:
            b += struct.pack("!HHH2x", ptype, 8, rate)
        else:
            b += struct.pack("!HH4xH6x", ptype, 16, rate)
    return b


def encode_queue_config_reply(qc: QueueConfig, version: int, xid: int = 0) -> list[bytes]:
    parts = []
    for q in qc.queues:
        props = _pack_rate_props(q, version)
        if version <= 2:
            parts.append(struct.pack("!IH2x", q.queue_id, 8 + len(props)) + props)
        elif version <= 4:
            parts.append(struct.pack("!IIH6x", q.queue_id, V.port_to_ofp11(q.port_no), 16 + len(props)) + props)
        else:
            parts.append(struct.pack("!IIH6x", V.port_to_ofp11(q.port_no), q.queue_id, 16 + len(props)) + props)
    if version >= 5:
        return M.encode_multipart_replies("OFPST14_QUEUE_DESC_REPLY", version, xid, parts)
    head = struct.pack("!H6x", qc.port_no) if version == 1 else struct.pack("!I4x", V.port_to_ofp11(qc.port_no))
    raw = "OFPT10_QUEUE_GET_CONFIG_REPLY" if version == 1 else "OFPT11_QUEUE_GET_CONFIG_REPLY"
    return [M.encode(raw, version, head + b"".join(parts), xid)]


def _unpack_rate_props(q: Queue, data: bytes, version: int) -> None:
    i = 0
    while i < len(data):
        if version >= 5:
            for ptype, pdata in _props(data):
                if ptype in (1, 2):
                    if len(pdata) < 6:
                        raise OFPDecodeError("OFPBPC_BAD_LEN", "bad queue rate property length")
                    rate = struct.unpack_from("!H", pdata, 4)[0]
                    if ptype == 1:
                        q.min_rate = rate
                    else:
                        q.max_rate = rate
            return
        if len(data) - i < 8:
            raise OFPDecodeError("OFPBRC_BAD_LEN", "truncated queue property")
        ptype, plen = struct.unpack_from("!HH", data, i)
        if plen < 8 or plen % 8 or plen > len(data) - i:
            raise OFPDecodeError("OFPBRC_BAD_LEN", f"queue property {ptype} has bad length {plen}")
        # Unknown properties are ignored, as Open vSwitch does.
        if ptype in (1, 2):
            if plen != 16:
                raise OFPDecodeError("OFPBRC_BAD_LEN", f"queue property {ptype} length {plen} not 16")
            rate = struct.unpack_from("!H", data, i + 8)[0]
            if ptype == 1:
                q.min_rate = rate
            else:
                q.max_rate = rate
        i += plen


def decode_queue_config_reply(msg: M.Msg) -> QueueConfig:
    body, v = msg.body, msg.version
    if v >= 5:
        qc = QueueConfig(V.OFPP_ANY)
        i = 0
    else:
        # ofp-print does not check the reply's port (it shows each queue's port).
        port = struct.unpack_from("!H" if v == 1 else "!I", body)[0]
        port16 = port if v == 1 else V.port_from_ofp11(port)
        if port16 is None and len(body) > 8:
            wire_to_port(port, v)  # Open vSwitch converts it when it reads the first queue: the error.
        qc = QueueConfig(V.OFPP_ANY if port16 is None else port16)
        i = 8
    qhdr = 8 if v <= 2 else 16
    while i < len(body):
        if len(body) - i < qhdr:
            raise OFPDecodeError("OFPBRC_BAD_LEN", "truncated queue")
        if v <= 2:
            qid, qlen = struct.unpack_from("!IH", body, i)
            q = Queue(qid, qc.port_no)
        elif v <= 4:
            # Each queue names its port too; ofp-print ignores it (and does not check it).
            qid, qport, qlen = struct.unpack_from("!IIH", body, i)
            qp = V.port_from_ofp11(qport)
            q = Queue(qid, qc.port_no if qp is None else qp)
        else:
            port, qid, qlen = struct.unpack_from("!IIH", body, i)
            q = Queue(qid, wire_to_port(port, v))
        if qlen < qhdr or qlen > len(body) - i:
            raise OFPDecodeError("OFPBRC_BAD_LEN", f"queue length {qlen} not between {qhdr} and {len(body) - i}")
        _unpack_rate_props(q, body[i + qhdr:i + qlen], v)
        qc.queues.append(q)
        i += qlen
    return qc


def _rate_text(name: str, rate: int | None) -> str:
    if rate is None or rate == 0xFFFF:
        return ""
    if rate <= 1000:
        return f" {name}:{rate // 10}.{rate % 10}%"
    return f" {name}:(disabled)"


def _print_queue_config_reply(msg: M.Msg) -> str:
    qc = decode_queue_config_reply(msg)
    if msg.version <= 4:
        # Before OpenFlow 1.4 every queue is shown under the reply's port.
        qc.queues = [Queue(q.queue_id, qc.port_no, q.min_rate, q.max_rate) for q in qc.queues]
    queues = sorted(qc.queues, key=lambda q: (q.port_no, q.queue_id))
    s = ""
    port = 0  # ofp-print starts from port 0: queues of port 0 get no "port=" line.
    for q in queues:
        if q.port_no != port:
            s += f"port={_port_text(q.port_no)}\n"
            port = q.port_no
        s += f"queue {q.queue_id}:" + _rate_text("min_rate", q.min_rate) + _rate_text("max_rate", q.max_rate)
        s += "\n"
    return " " + s if s else "\n"


PRINTERS: dict[str, Callable[[M.Msg], str]] = {
    "PORT_STATUS": _print_port_status,
    "PORT_MOD": _print_port_mod,
    "PORT_DESC_STATS_REQUEST": _print_port_desc_request,
    "PORT_DESC_STATS_REPLY": _print_port_desc_reply,
    "PORT_STATS_REQUEST": _print_port_stats_request,
    "PORT_STATS_REPLY": _print_port_stats_reply,
    "QUEUE_STATS_REQUEST": _print_queue_stats_request,
    "QUEUE_STATS_REPLY": _print_queue_stats_reply,
    "QUEUE_GET_CONFIG_REQUEST": _print_queue_config_request,
    "QUEUE_GET_CONFIG_REPLY": _print_queue_config_reply,
    "QUEUE_DESC_STATS_REQUEST": _print_queue_config_request,
    "QUEUE_DESC_STATS_REPLY": _print_queue_config_reply,
}
