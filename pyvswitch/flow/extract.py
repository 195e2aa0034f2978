"""Flow extraction: the flow key of an Ethernet frame, computed as Open vSwitch's ``miniflow_extract`` does.

``extract(frame, in_port, tunnel_metadata)`` returns the flow key (a Python ``int`` in the layout of
:mod:`pyvswitch.flow.fields`) of one received frame.  It is the first thing the datapath does with every packet,
so it is written for speed, the way OVS's ``miniflow_extract`` and dpkt are: one function that walks the headers
once, reads each header with one precompiled ``struct.Struct`` or one ``int.from_bytes``, and shifts the values
straight into the key.  It never builds header objects and never calls a helper per layer.  The key layout was
chosen to make this cheap: the 12 address bytes of an Ethernet header, the 8 address bytes of an IPv4 header, the
32 address bytes of an IPv6 header and the 4 port bytes of a TCP/UDP/SCTP header each land in the key with a
single shift, because the key stores those fields adjacent and in wire order.

What is extracted (the behaviour of Open vSwitch 3.1, checked with ``ovs-appctl ofproto/trace``)
------------------------------------------------------------------------------------------------
* Metadata: ``tunnel_metadata`` (tunnel fields, skb_priority, pkt_mark, recirc_id, dp_hash, ct_*) is OR-ed in
  unchanged, then ``in_port``.  ``packet_type`` stays 0, which is Ethernet.
* Ethernet: a frame shorter than 14 bytes yields only the metadata (OVS leaves every L2 field zero too).
* VLAN: up to two 802.1Q (0x8100) or 802.1ad (0x88a8) tags, as many as the VLAN limit allows (see
  :func:`set_vlan_limit`).  The outer tag goes to ``vlan_tci`` with the 0x1000 "present" bit (OVS reuses the CFI
  bit for that) forced on and its TPID to ``_vlan_tpid``; the second to ``_vlan2_tci``/``_vlan2_tpid``.  A tag is
  parsed only if the 4 tag bytes and a following 2-byte type are present; otherwise the TPID is the dl_type.
  Tags beyond the limit are payload: dl_type is then the TPID of the first unparsed tag (0x8100).
* IEEE 802.3 (type/length field < 0x600): an LLC/SNAP header ``aa aa 03 00 00 00`` whose type is >= 0x600
  gives that type as dl_type and parsing continues behind it; anything else gives dl_type 0x05ff (OVS's
  ``FLOW_DL_TYPE_NONE``).
* MPLS (0x8847, 0x8848): the label stack entries up to and including the bottom-of-stack one; the top three are
  kept (``mpls_lse``, ``_mpls_lse1``, ``_mpls_lse2``).  Nothing behind the label stack is parsed.
* IPv4: accepted when at least 20 bytes remain, 5 <= IHL, the header fits, IHL*4 <= total length <= the bytes
  present.  The version nibble is not checked (OVS does not).  A header that fails leaves every L3 field zero
  but keeps dl_type 0x0800.  Padding behind the total length is never parsed.  ``nw_tos`` holds the whole TOS
  byte (DSCP and ECN); ``nw_frag`` is 1 for any fragment and 3 for a non-first fragment, which has no L4 fields.
* IPv6: accepted when the 40-byte header and the payload length fit.  Source, destination, traffic class into
  ``nw_tos``, hop limit into ``nw_ttl``, flow label into ``ipv6_label``.  Hop-by-hop, routing, destination
  options, AH and fragment headers are walked to find ``nw_proto``; a truncated extension header stops
  extraction with the addresses set but the label and ``nw_proto``/``nw_tos``/``nw_ttl``/``nw_frag`` zero (OVS
  fills them only after a successful walk).  A fragment header with a non-zero offset/flags word makes the
  packet a fragment; a non-zero offset makes it a later fragment whose ``nw_proto`` is 44 (the fragment header
  itself), as OVS reports.
* ARP and RARP: only Ethernet/IPv4 ARP (htype 1, ptype 0x0800, hlen 6, plen 4, 28 bytes); SPA/TPA into
  nw_src/nw_dst, SHA/THA into arp_sha/arp_tha, and the opcode into nw_proto when it fits in 8 bits.
* L4, for IPv4 and IPv6 alike (OVS does not look at dl_type here: an IPv4 packet with protocol 58 is parsed as
  ICMPv6), within the IP payload length: TCP (ports and the 12 low bits of the offset/flags word, NS and the
  three reserved bits included) when 20 bytes are present and 20 <= data offset*4 <= the bytes present; UDP
  (8 bytes); SCTP (12 bytes); ICMPv4 and IGMP (8 bytes: type in tp_src, code in tp_dst); ICMPv6 (8 bytes).
* ICMPv6 neighbour solicitation/advertisement with code 0: the target (if 16 bytes are present), then the
  8-byte options: source link-layer address into ``arp_sha`` (nd_sll), target link-layer address into
  ``arp_tha`` (nd_tll), in either message.  Options of other lengths are skipped; an option of length 0 or
  longer than the rest stops the walk keeping what was found; a second non-zero SLL (or TLL) makes the options
  invalid, and then the target and both addresses are left zero.

A malformed or truncated frame never raises: extraction stops at the last layer that parsed.

Offsets
-------
``extract_with_offsets`` also returns where the headers start, as OVS keeps ``l2_5_ofs``, ``l3_ofs`` and
``l4_ofs`` in a ``dp_packet`` for the actions that rewrite headers: the MPLS label stack (None unless MPLS), the
network header (right after the Ethernet type, the VLAN tags, the SNAP header and the label stack; None for a
frame shorter than 14 bytes), and the transport header (set only when an IPv4 or IPv6 header was accepted;
for IPv6 it is behind the extension headers).

Not extracted (no field in the key yet): NSH, IGMP group address, ``nd_reserved`` and ``nd_options_type``.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from pyvswitch.flow import fields as _fields

__all__ = [
    "FLOW_DL_TYPE_NONE",
    "FLOW_MAX_MPLS_LABELS",
    "FLOW_MAX_VLAN_HEADERS",
    "FLOW_NW_FRAG_ANY",
    "FLOW_NW_FRAG_LATER",
    "Extracted",
    "extract",
    "extract_with_offsets",
    "get_vlan_limit",
    "set_vlan_limit",
]

FLOW_DL_TYPE_NONE = 0x05FF
"""dl_type of an 802.3 frame without an LLC/SNAP Ethernet type (OVS's name)."""
FLOW_NW_FRAG_ANY = 1
FLOW_NW_FRAG_LATER = 2
FLOW_MAX_VLAN_HEADERS = 2
FLOW_MAX_MPLS_LABELS = 3

_S = _fields.STORAGE


def _ofs(name: str) -> int:
    return _S[name][0]


# Key bit positions.  The asserts pin the adjacencies the parser relies on to move several fields in one shift.
_TP_DST = _ofs("tp_dst")
_TP_SRC = _ofs("tp_src")
_TCP_FLAGS = _ofs("tcp_flags")
_NW_DST = _ofs("nw_dst")
_NW_PROTO = _ofs("nw_proto")
_DL_TYPE = _ofs("dl_type")
_VLAN_TCI = _ofs("vlan_tci")
_VLAN2_TCI = _ofs("_vlan2_tci")
_DL_SRC = _ofs("dl_src")
_ARP_SHA = _ofs("arp_sha")
_ARP_THA = _ofs("arp_tha")
_NW_SRC = _ofs("nw_src")
_MPLS = (_ofs("mpls_lse"), _ofs("_mpls_lse1"), _ofs("_mpls_lse2"))
_IPV6_LABEL = _ofs("ipv6_label")
_IPV6_DST = _ofs("ipv6_dst")
_ND_TARGET = _ofs("nd_target")
_LABEL_TO_DST = _IPV6_DST - _IPV6_LABEL

assert _ofs("in_port") == 0
assert _TP_SRC == _TP_DST + 16                                  # sport:dport -> one shift
assert _NW_SRC == _NW_DST + 32                                  # ip src:dst -> one shift
assert (_ofs("nw_tos"), _ofs("nw_ttl"), _ofs("nw_frag")) == (_NW_PROTO + 8, _NW_PROTO + 16, _NW_PROTO + 24)
assert _ofs("_vlan_tpid") == _VLAN_TCI + 16                     # TPID:TCI -> one shift
assert _ofs("_vlan2_tpid") == _VLAN2_TCI + 16
assert _ofs("dl_dst") == _DL_SRC + 48                           # dst:src -> one shift
assert _ofs("ipv6_src") == _IPV6_DST + 128
assert _S["nw_tos"][1] == 8 and _S["tcp_flags"][1] == 16

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
# IPv4: version/IHL, TOS, total length, (id), fragment word, TTL, protocol, (checksum), source:destination.
_IPV4 = struct.Struct("!BBHxxHBBxxQ")
# IPv6: version/class/label, payload length, next header, hop limit.
_IPV6 = struct.Struct("!IHBB")
# TCP: source:destination ports, (sequence, acknowledgement), data offset/flags.
_TCP = struct.Struct("!I8xH")
# ARP: hardware type, protocol type, hardware length, protocol length, opcode.
_ARP = struct.Struct("!HHBBH")

_SNAP_ETHERNET = b"\xaa\xaa\x03\x00\x00\x00"
_IPV6_EXT = frozenset((0, 43, 60, 51, 44))   # hop-by-hop, routing, destination options, AH, fragment
_MAC = (1 << 48) - 1
_U32_MAX = 0xFFFFFFFF

_vlan_limit = FLOW_MAX_VLAN_HEADERS


def set_vlan_limit(limit: int) -> None:
    """Parse at most ``limit`` VLAN tags (0 means as many as the key holds, 2), as OVS's ``flow_set_vlan_limit``.

    The library default is the key's capacity, 2.  Open vSwitch's daemon sets it from ``other_config:vlan-limit``
    whose default is 1; pyvswitch's daemon should do the same."""
    global _vlan_limit
    if limit < 0:
        raise ValueError(f"vlan limit must be >= 0, not {limit}")
    _vlan_limit = FLOW_MAX_VLAN_HEADERS if limit == 0 else min(limit, FLOW_MAX_VLAN_HEADERS)


def get_vlan_limit() -> int:
    """The number of VLAN tags extraction parses (1 or 2)."""
    return _vlan_limit


class Extracted(NamedTuple):
    """A flow key and where the headers of its frame start (None: no such header)."""

    key: int
    l2_5_ofs: int | None
    l3_ofs: int | None
    l4_ofs: int | None


def extract_with_offsets(frame: bytes | bytearray | memoryview, in_port: int,
                         tunnel_metadata: int = 0) -> Extracted:
    """``extract`` plus the byte offsets of the MPLS, network and transport headers (see the module doc)."""
    offsets: list[int | None] = [None, None, None]
    key = extract(frame, in_port, tunnel_metadata, offsets)
    return Extracted(key, offsets[0], offsets[1], offsets[2])


def extract(frame: bytes | bytearray | memoryview, in_port: int, tunnel_metadata: int = 0,
            offsets: list[int | None] | None = None) -> int:
    """The flow key of the Ethernet frame ``frame`` received on ``in_port``.

    ``tunnel_metadata`` is a key-layout int with the packet's metadata (tunnel fields, skb_priority, pkt_mark,
    recirc_id, dp_hash, ct_*); it is OR-ed into the result, so it must not carry header fields.  ``offsets``,
    when given, is a 3-element list that receives the L2.5 (MPLS), L3 and L4 offsets (left None when absent);
    ``extract_with_offsets`` is the friendlier way to ask for them.  Never raises on any content of ``frame``.
    """
    size = len(frame)
    key = tunnel_metadata | in_port
    if size < 14:
        return key
    # int.from_bytes is big-endian by default since Python 3.11; leaving the argument out is measurably faster.
    key |= int.from_bytes(frame[0:12]) << _DL_SRC
    dl_type = (frame[12] << 8) | frame[13]
    ofs = 14

    # VLAN tags.  Each needs its 4 bytes plus the 2-byte type that follows.
    if (dl_type == 0x8100 or dl_type == 0x88A8) and size >= 18:
        key |= (_U32.unpack_from(frame, 12)[0] | 0x1000) << _VLAN_TCI
        dl_type = (frame[16] << 8) | frame[17]
        ofs = 18
        if (dl_type == 0x8100 or dl_type == 0x88A8) and size >= 22 and _vlan_limit > 1:
            key |= (_U32.unpack_from(frame, 16)[0] | 0x1000) << _VLAN2_TCI
            dl_type = (frame[20] << 8) | frame[21]
            ofs = 22

    # IEEE 802.3 length field: only an LLC/SNAP header with OUI 0 carries an Ethernet type.
    if dl_type < 0x600:
        if size - ofs >= 8 and frame[ofs:ofs + 6] == _SNAP_ETHERNET:
            dl_type = (frame[ofs + 6] << 8) | frame[ofs + 7]
            ofs += 8
            if dl_type < 0x600:
                dl_type = FLOW_DL_TYPE_NONE
        else:
            dl_type = FLOW_DL_TYPE_NONE
    key |= dl_type << _DL_TYPE

    if dl_type == 0x0800:
        if offsets is not None:
            offsets[1] = ofs
        rem = size - ofs
        if rem < 20:
            return key
        vihl, tos, tot_len, frag_off, ttl, proto, addrs = _IPV4.unpack_from(frame, ofs)
        ihl = (vihl & 0xF) << 2
        if ihl < 20 or tot_len > rem or ihl > tot_len or rem - tot_len > 0xFFFF:
            return key
        nw_frag = 0
        if frag_off & 0x3FFF:
            nw_frag = 3 if frag_off & 0x1FFF else 1
        key |= (addrs << _NW_DST) | (((nw_frag << 24) | (ttl << 16) | (tos << 8) | proto) << _NW_PROTO)
        l4 = ofs + ihl
        if offsets is not None:
            offsets[2] = l4
        if nw_frag & 2:
            return key
        l4size = tot_len - ihl
        end = ofs + tot_len
    elif dl_type == 0x86DD:
        if offsets is not None:
            offsets[1] = ofs
        rem = size - ofs
        if rem < 40:
            return key
        vtcfl, plen, proto, hlim = _IPV6.unpack_from(frame, ofs)
        if plen + 40 > rem or rem - plen - 40 > 0xFFFF:
            return key
        addrs = int.from_bytes(frame[ofs + 8:ofs + 40])
        l4 = ofs + 40
        end = l4 + plen
        nw_frag = 0
        # Extension headers.  Each is at least 8 bytes; a short one abandons L3 beyond the addresses.
        while proto in _IPV6_EXT:
            if end - l4 < 8:
                return key | (addrs << _IPV6_DST)
            if proto == 44:
                proto = frame[l4]
                offlg = (frame[l4 + 2] << 8) | frame[l4 + 3]
                l4 += 8
                if offlg:
                    nw_frag = 1
                    if offlg & 0xFFF8:
                        nw_frag = 3
                        proto = 44
                        break
            else:
                hlen = (frame[l4 + 1] + 2) << 2 if proto == 51 else (frame[l4 + 1] + 1) << 3
                proto = frame[l4]
                if end - l4 < hlen:
                    return key | (addrs << _IPV6_DST)
                l4 += hlen
        key |= (((addrs << _LABEL_TO_DST) | (vtcfl & 0xFFFFF)) << _IPV6_LABEL) | (
            ((nw_frag << 24) | (hlim << 16) | (((vtcfl >> 20) & 0xFF) << 8) | proto) << _NW_PROTO)
        if offsets is not None:
            offsets[2] = l4
        if nw_frag & 2:
            return key
        l4size = end - l4
    else:
        if dl_type == 0x0806 or dl_type == 0x8035:
            if offsets is not None:
                offsets[1] = ofs
            if size - ofs >= 28:
                hrd, pro, hln, pln, op = _ARP.unpack_from(frame, ofs)
                if hrd == 1 and pro == 0x0800 and hln == 6 and pln == 4:
                    # sha(48) spa(32) tha(48) tpa(32) in one read.
                    v = int.from_bytes(frame[ofs + 8:ofs + 28])
                    key |= ((v & _U32_MAX) << _NW_DST) | (((v >> 80) & _U32_MAX) << _NW_SRC) | (
                        ((v >> 32) & _MAC) << _ARP_THA) | ((v >> 112) << _ARP_SHA)
                    if op <= 0xFF:
                        key |= op << _NW_PROTO
        elif dl_type == 0x8847 or dl_type == 0x8848:
            if offsets is not None:
                offsets[0] = ofs
            n = 0
            while size - ofs >= 4:
                lse = _U32.unpack_from(frame, ofs)[0]
                ofs += 4
                if n < 3:
                    key |= lse << _MPLS[n]
                    n += 1
                if lse & 0x100:
                    break
            if offsets is not None:
                offsets[1] = ofs
        elif offsets is not None:
            offsets[1] = ofs
        return key

    # Transport layer, within the IP payload.
    if proto == 17:
        if l4size >= 8:
            key |= _U32.unpack_from(frame, l4)[0] << _TP_DST
    elif proto == 6:
        if l4size >= 20:
            ports, ctl = _TCP.unpack_from(frame, l4)
            hl = (ctl >> 12) << 2
            if hl >= 20 and l4size >= hl:
                key |= (ports << _TP_DST) | ((ctl & 0xFFF) << _TCP_FLAGS)
    elif proto == 1 or proto == 2:
        if l4size >= 8:
            key |= (frame[l4] << _TP_SRC) | (frame[l4 + 1] << _TP_DST)
    elif proto == 132:
        if l4size >= 12:
            key |= _U32.unpack_from(frame, l4)[0] << _TP_DST
    elif proto == 58 and l4size >= 8:
        icmp_type = frame[l4]
        code = frame[l4 + 1]
        key |= (icmp_type << _TP_SRC) | (code << _TP_DST)
        if code == 0 and (icmp_type == 135 or icmp_type == 136) and l4size >= 24:
            p = l4 + 24
            sll = tll = 0
            valid = True
            while end - p >= 8:
                opt_len = frame[p + 1] << 3
                if not opt_len or opt_len > end - p:
                    break
                if opt_len == 8:
                    opt_type = frame[p]
                    if opt_type == 1:
                        if sll:
                            valid = False
                            break
                        sll = int.from_bytes(frame[p + 2:p + 8])
                    elif opt_type == 2:
                        if tll:
                            valid = False
                            break
                        tll = int.from_bytes(frame[p + 2:p + 8])
                p += opt_len
            if valid:
                key |= (int.from_bytes(frame[l4 + 8:l4 + 24]) << _ND_TARGET) | (
                    sll << _ARP_SHA) | (tll << _ARP_THA)
    return key
