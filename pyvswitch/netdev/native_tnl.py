"""Native tunnelling: building, pushing and popping VXLAN, Geneve and GRE headers in the userspace datapath.

Open vSwitch's userspace datapath does not hand tunnelled packets to kernel tunnel devices: the ofproto layer
works out the whole outer header once per megaflow (route, source address, next hop MAC, tunnel options) and
the datapath prepends those bytes to every packet of the flow with the ``tnl_push`` action, fixing up only what
changes per packet.  On receive, a packet addressed to a tunnel endpoint is handed to ``tnl_pop``, which checks
and strips the outer headers and re-injects the inner frame on the tunnel's datapath port with the outer
headers' values as tunnel metadata.  This module is that work, free of any datapath state:

- :class:`TnlPush` is the ``tnl_push`` action (the datapath's action model re-exports it from
  :mod:`pyvswitch.dpif.odp`, which also owns its text form).  It is defined here, in the netdev layer, because
  :func:`build_tnl_push` returns it and layers import downward only.
- :func:`build_tnl_push` builds the header: Ethernet, IPv4 or IPv6, then UDP and VXLAN/Geneve or GRE.  What
  changes per packet is left zero: IPv4 total length, identification and header checksum, IPv6 payload
  length, UDP source port, length and checksum, the GRE checksum.  A UDP checksum field of 0xffff marks "compute
  the checksum" (the outer UDP checksum is asked for with the ``csum`` option, and is always computed over an
  IPv6 underlay, where RFC 8200 requires one); it is printed so, as Open vSwitch does.
- :func:`push` prepends the header to a frame and fills in the per-packet fields; the UDP source port spreads
  flows over the underlay's ECMP paths: ``32768 + hash * (61000 - 32768) / 2**32`` for a 32-bit hash of the
  inner flow, Linux's default ephemeral port range.
- :func:`pop` checks an outer packet as Linux and Open vSwitch do (IPv4 header checksum and lengths, UDP length
  and non-zero checksum, the VXLAN I flag, the Geneve version and option length, the GRE version, flags and
  checksum) and returns the inner Ethernet frame with the tunnel fields.  GRE carrying a layer-3 packet
  (protocol 0x0800 or 0x86dd) is refused: pyvswitch's ports carry Ethernet frames only (``packet_type=legacy_l2``).
- :func:`dp_port_name` and :func:`tnl_type_of_dp_port_name` name the shared datapath ports the way Open
  vSwitch does: one ``vxlan_sys_<udp port>``, one ``genev_sys_<udp port>`` and one ``gre_sys``.

Tunnel flags, as in the flow key's ``tun_flags`` slot: bit 0 ``oam``, bit 1 ``df``, bit 2 ``csum``, bit 3 ``key``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pyvswitch.packet.checksum import (
    internet_checksum,
    ipv4_header_checksum_ok,
    l4_checksum,
    l4_checksum_ok,
    ones_complement_sum,
)
from pyvswitch.packet.constants import ETH_TYPE_TEB, GRE_FLAG_CSUM, GRE_FLAG_KEY, GRE_FLAG_SEQ, VXLAN_FLAG_G
from pyvswitch.packet.errors import Malformed
from pyvswitch.packet.ethernet import l3_offset
from pyvswitch.packet.tunnel import parse_geneve, parse_gre

__all__ = [
    "DEFAULT_DST_PORTS", "TNL_F_CSUM", "TNL_F_DF", "TNL_F_KEY", "TNL_F_OAM", "TNL_TYPES", "TnlDrop", "TnlPush", "build_tnl_push",
    "dp_port_name", "pop", "pop_checked", "push", "push_batch", "tnl_type_of_dp_port_name", "udp_src_port",
]

TNL_F_OAM, TNL_F_DF, TNL_F_CSUM, TNL_F_KEY = 1, 2, 4, 8

#: The UDP port of each tunnel type when ``options:dst_port`` is not set (0: GRE has none).
DEFAULT_DST_PORTS = {"vxlan": 4789, "geneve": 6081, "gre": 0}

TNL_TYPES: dict[str, int] = {"gre": 3, "vxlan": 4, "geneve": 5}
"""Tunnel type -> Open vSwitch's vport type number, as ``tnl_push`` prints it in ``type=``."""
TNL_TYPE_IP6GRE = 109
"""GRE over an IPv6 underlay: Open vSwitch prints ``type=109`` (its ip6gre vport type) for such a header."""
TNL_TYPE_NAMES = {v: k for k, v in TNL_TYPES.items()} | {TNL_TYPE_IP6GRE: "gre"}

ETH_TYPE_IP, ETH_TYPE_IPV6 = 0x0800, 0x86DD
IPPROTO_UDP, IPPROTO_GRE = 17, 47
_UDP_SRC_MIN, _UDP_SRC_MAX = 32768, 61000

_ETH = struct.Struct("!6s6sH")
_IP4 = struct.Struct("!BBHHHBBH4s4s")
_IP6 = struct.Struct("!IHBB16s16s")
_UDP = struct.Struct("!HHHH")
_U16 = struct.Struct("!H")
_HH = struct.Struct("!HH")
# An untagged Ethernet frame with IPv4 (no options), UDP and VXLAN headers, from the Ethernet type on.
_VXLAN4 = struct.Struct("!12xHBBHHHBBH4s4sHHHHB3xI")
_II = struct.Struct("!II")


@dataclass(frozen=True, slots=True)
class TnlPush:
    """The ``tnl_push`` datapath action.

    ``header`` is the outer headers exactly as they go on the wire, with the per-packet fields zero (see the
    module doc); ``tnl_type`` the vport type number (3 GRE, 4 VXLAN, 5 Geneve, 109 GRE over IPv6); ``tnl_port`` the datapath port of
    the tunnel vport; ``out_port`` the datapath port of the underlay device the route leaves through."""

    tnl_port: int
    header: bytes
    tnl_type: int
    out_port: int


def dp_port_name(tnl_type: str, dst_port: int) -> str:
    """The datapath port name of the shared tunnel port of ``tnl_type`` on UDP port ``dst_port``
    (``vxlan_sys_4789``, ``genev_sys_6081``; GRE has one port, ``gre_sys``)."""
    if tnl_type == "vxlan":
        return f"vxlan_sys_{dst_port}"
    if tnl_type == "geneve":
        return f"genev_sys_{dst_port}"
    if tnl_type == "gre":
        return "gre_sys"
    raise ValueError(f"not a tunnel type: {tnl_type!r}")


def tnl_type_of_dp_port_name(name: str) -> tuple[str, int] | None:
    """The reverse of :func:`dp_port_name`: ``"vxlan_sys_4789"`` -> ``("vxlan", 4789)``, ``"gre_sys"`` ->
    ``("gre", 0)``; None for a name that is not a tunnel port's."""
    if name == "gre_sys":
        return "gre", 0
    for prefix, tnl_type in (("vxlan_sys_", "vxlan"), ("genev_sys_", "geneve")):
        if name.startswith(prefix):
            digits = name[len(prefix):]
            if digits.isdigit() and not (len(digits) > 1 and digits[0] == "0") and 0 < int(digits) < 65536:
                return tnl_type, int(digits)
    return None


def build_tnl_push(*, tnl_type: str, tnl_port: int, out_port: int, eth_src: int, eth_dst: int,
                   ip_src: int, ip_dst: int, ipv6: bool = False, tos: int = 0, ttl: int = 64, df: bool = True,
                   udp_dst: int = 0, csum: bool = False, key: int | None = None, oam: bool = False,
                   geneve_options: bytes = b"", gbp_id: int = 0, gbp_flags: int = 0) -> TnlPush:
    """The ``tnl_push`` action for one tunnel: outer Ethernet ``eth_src`` -> ``eth_dst``, IP ``ip_src`` ->
    ``ip_dst`` (IPv4 unless ``ipv6``) with ``tos``, ``ttl`` and (IPv4) the DF bit, then

    - ``vxlan``: UDP to ``udp_dst``, VXLAN with VNI ``key & 0xffffff`` (0 if None) and, when ``gbp_id`` or
      ``gbp_flags`` is non-zero, the Group Based Policy extension (G flag, flags byte, policy id);
    - ``geneve``: UDP to ``udp_dst``, Geneve with that VNI, the O flag when ``oam``, the raw
      ``geneve_options`` (complete TLVs, a multiple of 4 bytes, at most 252) and the C flag when one of them is
      critical;
    - ``gre``: GRE version 0 carrying Ethernet (protocol 0x6558), the key field when ``key`` is not None (its
      low 32 bits), the checksum field when ``csum``; over IPv6 the action's type is 109, as in Open vSwitch.

    ``csum`` asks for the outer UDP checksum of VXLAN and Geneve (always computed over IPv6).  Raises
    ValueError for an unknown tunnel type or options that do not fit."""
    type_no = TNL_TYPES.get(tnl_type)
    if type_no is None:
        raise ValueError(f"not a tunnel type: {tnl_type!r}")
    if tnl_type == "gre":
        flags = (GRE_FLAG_CSUM if csum else 0) | (GRE_FLAG_KEY if key is not None else 0)
        l4 = _HH.pack(flags, ETH_TYPE_TEB)
        if csum:
            l4 += bytes(4)
        if key is not None:
            l4 += (key & 0xFFFFFFFF).to_bytes(4, "big")
        proto = IPPROTO_GRE
    else:
        vni = (key or 0) & 0xFFFFFF
        if tnl_type == "vxlan":
            if gbp_id or gbp_flags:
                tail = struct.pack("!BBHI", 0x08 | VXLAN_FLAG_G, gbp_flags & 0xFF, gbp_id & 0xFFFF, vni << 8)
            else:
                tail = struct.pack("!BBHI", 0x08, 0, 0, vni << 8)
        else:
            if len(geneve_options) % 4 or len(geneve_options) > 252:
                raise ValueError(f"Geneve options of {len(geneve_options)} bytes")
            critical = _geneve_any_critical(geneve_options)
            flags = (0x80 if oam else 0) | (0x40 if critical else 0)
            tail = struct.pack("!BBHI", len(geneve_options) // 4, flags, ETH_TYPE_TEB, vni << 8) + geneve_options
        l4 = _UDP.pack(0, udp_dst & 0xFFFF, 0, 0xFFFF if (csum or ipv6) else 0) + tail
        proto = IPPROTO_UDP
    if ipv6:
        l3 = _IP6.pack((6 << 28) | ((tos & 0xFF) << 20), 0, proto, ttl & 0xFF,
                       ip_src.to_bytes(16, "big"), ip_dst.to_bytes(16, "big"))
        eth_type = ETH_TYPE_IPV6
    else:
        l3 = _IP4.pack(0x45, tos & 0xFF, 0, 0, 0x4000 if df else 0, ttl & 0xFF, proto, 0,
                       ip_src.to_bytes(4, "big"), ip_dst.to_bytes(4, "big"))
        eth_type = ETH_TYPE_IP
    eth = _ETH.pack(eth_dst.to_bytes(6, "big"), eth_src.to_bytes(6, "big"), eth_type)
    if tnl_type == "gre" and ipv6:
        type_no = TNL_TYPE_IP6GRE
    return TnlPush(tnl_port, eth + l3 + l4, type_no, out_port)


def _geneve_any_critical(options: bytes) -> bool:
    """Whether one of the Geneve option TLVs in ``options`` has the critical bit (the type's high bit)."""
    off = 0
    n = len(options)
    while off + 4 <= n:
        if options[off + 2] & 0x80:
            return True
        off += 4 + (options[off + 3] & 0x1F) * 4
    if off != n:
        raise ValueError("Geneve options do not tile their area")
    return False


# ------------------------------------------------------------------------------------------------------------
# Pushing.
@dataclass(frozen=True, slots=True)
class _Layout:
    """Where the per-packet fields of one header lie, worked out once per header."""

    ipv6: bool
    l4: int                 # offset of the UDP or GRE header
    udp: bool
    udp_csum: bool          # the header asks for a UDP checksum (field 0xffff)
    gre_csum: bool          # the GRE header has its C bit
    ip_sum: int             # IPv4: one's-complement sum of the header with length, id and checksum zero


_LAYOUTS: dict[bytes, _Layout] = {}


def _layout(header: bytes) -> _Layout:
    lay = _LAYOUTS.get(header)
    if lay is not None:
        return lay
    if len(header) < 14 + 20 + 4:
        raise ValueError("tunnel header too short")
    eth_type = _U16.unpack_from(header, 12)[0]
    ipv6 = eth_type == ETH_TYPE_IPV6
    if ipv6:
        l4 = 14 + 40
        proto = header[14 + 6]
        ip_sum = 0
    elif eth_type == ETH_TYPE_IP:
        l4 = 14 + (header[14] & 0x0F) * 4
        proto = header[14 + 9]
        ip_sum = ones_complement_sum(header[14:l4])
    else:
        raise ValueError(f"tunnel header with Ethernet type {eth_type:#06x}")
    udp = proto == IPPROTO_UDP
    udp_csum = udp and header[l4 + 6:l4 + 8] != b"\0\0"
    gre_csum = not udp and bool(header[l4] & 0x80)
    lay = _Layout(ipv6, l4, udp, udp_csum, gre_csum, ip_sum)
    if len(_LAYOUTS) >= 4096:
        _LAYOUTS.clear()        # a bounded cache: headers change with routes and neighbours, rarely
    _LAYOUTS[header] = lay
    return lay


def udp_src_port(hash32: int) -> int:
    """The outer UDP source port for a flow whose 32-bit hash is ``hash32``: 32768..60999."""
    return (((hash32 & 0xFFFFFFFF) * (_UDP_SRC_MAX - _UDP_SRC_MIN)) >> 32) + _UDP_SRC_MIN


def push(frame: bytes | bytearray | memoryview, action: TnlPush, hash32: int, ip_id: int = 0) -> bytes:
    """``frame`` encapsulated with ``action``'s header: lengths, IPv4 ``ip_id`` and header checksum, the UDP
    source port (from ``hash32``) and the UDP or GRE checksum when the header asks for one are filled in.
    Raises ValueError for a frame too long for the outer IP header's length field."""
    hdr = action.header
    lay = _layout(hdr)
    buf = bytearray(hdr)
    buf += frame
    total = len(buf)
    if total - (54 if lay.ipv6 else 14) > 0xFFFF:
        raise ValueError(f"a {len(frame)}-byte frame does not fit in one encapsulated packet")
    l4 = lay.l4
    if lay.ipv6:
        _U16.pack_into(buf, 18, total - 54)
    else:
        ip_len = total - 14
        ip_id &= 0xFFFF
        _HH.pack_into(buf, 16, ip_len, ip_id)
        s = lay.ip_sum + ip_len + ip_id
        s = (s & 0xFFFF) + (s >> 16)
        s = (s & 0xFFFF) + (s >> 16)
        _U16.pack_into(buf, 24, ~s & 0xFFFF)
    if lay.udp:
        udp_len = total - l4
        _U16.pack_into(buf, l4, udp_src_port(hash32))
        _U16.pack_into(buf, l4 + 4, udp_len)
        if lay.udp_csum:
            if lay.ipv6:
                src, dst = bytes(buf[22:38]), bytes(buf[38:54])
            else:
                src, dst = bytes(buf[26:30]), bytes(buf[30:34])
            _U16.pack_into(buf, l4 + 6, 0)
            c = l4_checksum(src, dst, IPPROTO_UDP, memoryview(buf)[l4:], 6) or 0xFFFF
            _U16.pack_into(buf, l4 + 6, c)
    elif lay.gre_csum:
        _U16.pack_into(buf, l4 + 4, internet_checksum(memoryview(buf)[l4:]))
    return bytes(buf)


def push_batch(frames: list[bytes], action: TnlPush, hashes: list[int], ip_ids: list[int] | None = None
               ) -> list[bytes] | None:
    """``push`` for many frames of one megaflow at once, or None when the header is not the common kind this
    handles (IPv4 underlay, no UDP or GRE checksum to compute): the constant parts of the header are cut once and
    each frame costs one join.  ``ip_ids``: each frame's IPv4 identification (None: all 0, as for DF packets)."""
    hdr = action.header
    lay = _layout(hdr)
    if lay.ipv6 or lay.udp_csum or lay.gre_csum:
        return None
    l4 = lay.l4
    hlen = len(hdr)
    if frames and hlen + max(map(len, frames)) - 14 > 0xFFFF:
        raise ValueError("a frame does not fit in one encapsulated packet")
    head, mid = hdr[:16], hdr[20:24]
    udp = lay.udp
    # UDP: the IPv4 header's rest, [source port], the destination port, [length], the checksum and the tunnel
    # header; GRE: everything after the checksum in one piece.
    rest, udp_dst, tail = (hdr[26:l4], hdr[l4 + 2:l4 + 4], hdr[l4 + 6:]) if udp else (hdr[26:], b"", b"")
    lo, span = _UDP_SRC_MIN, _UDP_SRC_MAX - _UDP_SRC_MIN
    ip_sum = lay.ip_sum
    out: list[bytes] = []
    append = out.append
    pack_hh, pack_h = _HH.pack, _U16.pack
    for i, f in enumerate(frames):
        total = hlen + len(f)
        ip_id = ip_ids[i] & 0xFFFF if ip_ids is not None else 0
        c = ip_sum + total - 14 + ip_id
        c = (c & 0xFFFF) + (c >> 16)
        c = (c & 0xFFFF) + (c >> 16)
        ip = (head, pack_hh(total - 14, ip_id), mid, pack_h(~c & 0xFFFF), rest)
        if udp:
            append(b"".join((*ip, pack_h((((hashes[i] & 0xFFFFFFFF) * span) >> 32) + lo), udp_dst,
                             pack_h(total - l4), tail, f)))
        else:
            append(b"".join((*ip, f)))
    return out


# ------------------------------------------------------------------------------------------------------------
# Popping.
class TnlDrop(Exception):
    """An outer packet that :func:`pop` refuses; ``reason`` names the check it failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def pop(frame: bytes | bytearray | memoryview, tnl_type: str, udp_dst: int = 0,
        drops: dict[str, int] | None = None) -> tuple[bytes, dict[str, int | bytes]] | None:
    """Decapsulate ``frame`` (an outer Ethernet frame) for a tunnel port of ``tnl_type`` listening on UDP port
    ``udp_dst`` (ignored for GRE).  Returns the inner Ethernet frame and the tunnel fields by name (``tun_id``,
    ``src``, ``dst``, ``ipv6_src``, ``ipv6_dst`` as ints, ``tos``, ``ttl``, ``tp_src``, ``tp_dst``, ``flags``,
    ``gbp_id``, ``gbp_flags``, and ``geneve``: the raw Geneve option bytes), or None when a check fails; then
    ``drops``, when given, counts the failure under its reason."""
    try:
        return pop_checked(frame, tnl_type, udp_dst)
    except TnlDrop as e:
        if drops is not None:
            drops[e.reason] = drops.get(e.reason, 0) + 1
        return None


def pop_checked(frame: bytes | bytearray | memoryview, tnl_type: str,
                udp_dst: int = 0) -> tuple[bytes, dict[str, int | bytes]]:
    """:func:`pop`, raising :class:`TnlDrop` instead of returning None."""
    n = len(frame)
    if tnl_type == "vxlan" and n >= 64:
        # The common case in one unpack: IPv4 without options or fragments, no UDP checksum, VXLAN with only
        # the I flag.  Anything else takes the checks below, which name what is wrong.
        (eth_type, vihl, tos, ip_len, _, frag, ttl, proto, _, s, d, sport, dport, ulen, ucsum, vflags,
         vni) = _VXLAN4.unpack_from(frame)
        if (eth_type == ETH_TYPE_IP and vihl == 0x45 and proto == IPPROTO_UDP and not frag & 0xBFFF
                and dport == udp_dst and not ucsum and vflags == 0x08 and not vni & 0xFF
                and ulen == ip_len - 20 and 14 + ip_len <= n and ip_len >= 64 - 14
                and ipv4_header_checksum_ok(frame[14:34])):
            return bytes(frame[50:14 + ip_len]), {
                "tun_id": vni >> 8, "src": int.from_bytes(s, "big"), "dst": int.from_bytes(d, "big"),
                "ipv6_src": 0, "ipv6_dst": 0, "tos": tos, "ttl": ttl, "tp_src": sport, "tp_dst": dport,
                "flags": TNL_F_KEY | (TNL_F_DF if frag else 0), "gbp_id": 0, "gbp_flags": 0, "geneve": b""}
    eth_type, l3 = l3_offset(frame)
    if eth_type < 0:
        raise TnlDrop("short")
    flags = 0
    src = dst = src6 = dst6 = 0
    if eth_type == ETH_TYPE_IP:
        if n < l3 + 20:
            raise TnlDrop("short")
        vihl = frame[l3]
        hlen = (vihl & 0x0F) * 4
        if vihl >> 4 != 4 or hlen < 20 or n < l3 + hlen:
            raise TnlDrop("bad_ip_header")
        if not ipv4_header_checksum_ok(frame[l3:l3 + hlen]):
            raise TnlDrop("bad_ip_csum")
        _, tos, ip_len, _, frag, ttl, proto, _, s, d = _IP4.unpack_from(frame, l3)
        if ip_len < hlen or l3 + ip_len > n:
            raise TnlDrop("bad_ip_length")
        if frag & 0x3FFF:
            raise TnlDrop("fragment")
        if frag & 0x4000:
            flags |= TNL_F_DF
        src, dst = int.from_bytes(s, "big"), int.from_bytes(d, "big")
        l4 = l3 + hlen
        end = l3 + ip_len
        ip_src, ip_dst = s, d
    elif eth_type == ETH_TYPE_IPV6:
        if n < l3 + 40:
            raise TnlDrop("short")
        vtcfl, plen, proto, ttl, s, d = _IP6.unpack_from(frame, l3)
        if vtcfl >> 28 != 6:
            raise TnlDrop("bad_ip_header")
        if l3 + 40 + plen > n:
            raise TnlDrop("bad_ip_length")
        tos = (vtcfl >> 20) & 0xFF
        src6, dst6 = int.from_bytes(s, "big"), int.from_bytes(d, "big")
        l4 = l3 + 40
        end = l4 + plen
        ip_src, ip_dst = s, d
    else:
        raise TnlDrop("not_ip")
    fields: dict[str, int | bytes] = {
        "tun_id": 0, "src": src, "dst": dst, "ipv6_src": src6, "ipv6_dst": dst6, "tos": tos, "ttl": ttl,
        "tp_src": 0, "tp_dst": 0, "flags": 0, "gbp_id": 0, "gbp_flags": 0, "geneve": b"",
    }
    if tnl_type == "gre":
        if proto != IPPROTO_GRE:
            raise TnlDrop("bad_proto")
        seg = memoryview(frame)[l4:end]
        try:
            gre, payload = parse_gre(seg)
        except Malformed:
            raise TnlDrop("bad_gre") from None
        if gre.flags & ~(GRE_FLAG_CSUM | GRE_FLAG_KEY | GRE_FLAG_SEQ) & 0xFFFF:
            raise TnlDrop("bad_gre")
        if gre.csum is not None:
            if ones_complement_sum(seg) != 0xFFFF:
                raise TnlDrop("bad_gre_csum")
            flags |= TNL_F_CSUM
        if gre.key is not None:
            flags |= TNL_F_KEY
            fields["tun_id"] = gre.key
        if gre.protocol != ETH_TYPE_TEB:
            raise TnlDrop("gre_l3")
        inner = bytes(seg[payload:])
    else:
        if proto != IPPROTO_UDP:
            raise TnlDrop("bad_proto")
        if end - l4 < 8:
            raise TnlDrop("bad_udp_length")
        sport, dport, ulen, ucsum = _UDP.unpack_from(frame, l4)
        if ulen < 8 or l4 + ulen > end:
            raise TnlDrop("bad_udp_length")
        end = l4 + ulen
        if dport != udp_dst:
            raise TnlDrop("bad_udp_port")
        if ucsum:
            seg = memoryview(frame)[l4:end]
            if not l4_checksum_ok(bytes(ip_src), bytes(ip_dst), IPPROTO_UDP, seg):
                raise TnlDrop("bad_udp_csum")
            flags |= TNL_F_CSUM
        fields["tp_src"], fields["tp_dst"] = sport, dport
        h = l4 + 8
        flags |= TNL_F_KEY
        if tnl_type == "vxlan":
            if end - h < 8:
                raise TnlDrop("bad_vxlan")
            vflags, gflags, policy, vni = struct.unpack_from("!BBHI", frame, h)
            if not vflags & 0x08 or vni & 0xFF:
                raise TnlDrop("bad_vxlan")
            if vflags & VXLAN_FLAG_G:
                fields["gbp_id"], fields["gbp_flags"] = policy, gflags
            fields["tun_id"] = vni >> 8
            inner = bytes(frame[h + 8:end])
        elif tnl_type == "geneve":
            try:
                gnv, payload = parse_geneve(memoryview(frame)[:end], h)
            except Malformed:
                raise TnlDrop("bad_geneve") from None
            if gnv.protocol != ETH_TYPE_TEB:
                raise TnlDrop("geneve_l3")
            if gnv.oam:
                flags |= TNL_F_OAM
            fields["tun_id"] = gnv.vni
            fields["geneve"] = bytes(frame[h + 8:payload])
            inner = bytes(frame[payload:end])
        else:
            raise TnlDrop("bad_type")
    if len(inner) < 14:
        raise TnlDrop("short_inner")
    fields["flags"] = flags
    return inner, fields
