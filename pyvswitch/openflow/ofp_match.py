"""The fixed-format matches of OpenFlow 1.0 (``ofp10_match``, 40 bytes) and 1.1 (``ofp11_match``, 88 bytes).

Layouts (OpenFlow 1.0 section 5.2.3, OpenFlow 1.1 section A.2.3)::

    ofp10_match: wildcards:32 in_port:16 dl_src:48 dl_dst:48 dl_vlan:16 dl_vlan_pcp:8 pad:8 dl_type:16
                 nw_tos:8 nw_proto:8 pad:16 nw_src:32 nw_dst:32 tp_src:16 tp_dst:16
    ofp11_match: type:16(=0) length:16(=88) in_port:32 wildcards:32 dl_src:48 dl_src_mask:48 dl_dst:48
                 dl_dst_mask:48 dl_vlan:16 dl_vlan_pcp:8 pad:8 dl_type:16 nw_tos:8 nw_proto:8 nw_src:32
                 nw_src_mask:32 nw_dst:32 nw_dst_mask:32 tp_src:16 tp_dst:16 mpls_label:32 mpls_tc:8 pad:24
                 metadata:64 metadata_mask:64

OpenFlow 1.0 wildcards are bits (a 1 wildcards the field) plus two 6-bit counts of wildcarded low-order bits of
nw_src and nw_dst; OpenFlow 1.1 masks use 1 for "don't care", the opposite of Open vSwitch's masks.  The
translations follow Open vSwitch's ``ofputil_match_to_ofp10_match`` / ``ofputil_match_from_ofp10_match`` and their
1.1 counterparts, including their lossy corners: a VLAN TCI without the CFI bit means "no VLAN"
(``dl_vlan=0xffff``); only the DSCP bits of nw_tos travel; the decoded 1.0 match is normalized
(``match_text.normalize``, which also logs the change) and claims the Ethernet packet type whenever a field other
than in_port is matched.
"""

from __future__ import annotations

import struct

from pyvswitch.flow import fields as F
from pyvswitch.flow import match_text as MT
from pyvswitch.flow import values as V
from pyvswitch.flow.match import Match
from pyvswitch.openflow import nx_match as NX
from pyvswitch.openflow.ofp_errors import OFPDecodeError

__all__ = [
    "OFP10_MATCH_LEN",
    "OFP11_MATCH_LEN",
    "OFPFW10_ALL",
    "decode_ofp10_match",
    "decode_ofp11_match",
    "encode_ofp10_match",
    "encode_ofp11_match",
]

OFP10_MATCH_LEN = 40
OFP11_MATCH_LEN = 88

OFPFW10_IN_PORT = 1 << 0
OFPFW10_DL_VLAN = 1 << 1
OFPFW10_DL_SRC = 1 << 2
OFPFW10_DL_DST = 1 << 3
OFPFW10_DL_TYPE = 1 << 4
OFPFW10_NW_PROTO = 1 << 5
OFPFW10_TP_SRC = 1 << 6
OFPFW10_TP_DST = 1 << 7
OFPFW10_NW_SRC_SHIFT = 8
OFPFW10_NW_DST_SHIFT = 14
OFPFW10_DL_VLAN_PCP = 1 << 20
OFPFW10_NW_TOS = 1 << 21
OFPFW10_ALL = (1 << 22) - 1

OFPFW11_IN_PORT = 1 << 0
OFPFW11_DL_VLAN = 1 << 1
OFPFW11_DL_VLAN_PCP = 1 << 2
OFPFW11_DL_TYPE = 1 << 3
OFPFW11_NW_TOS = 1 << 4
OFPFW11_NW_PROTO = 1 << 5
OFPFW11_TP_SRC = 1 << 6
OFPFW11_TP_DST = 1 << 7
OFPFW11_MPLS_LABEL = 1 << 8
OFPFW11_MPLS_TC = 1 << 9

OFP10_VLAN_NONE = 0xFFFF
OFPVID11_ANY = 0xFFFE
OFPVID11_NONE = 0xFFFF
VLAN_VID_MASK = 0x0FFF
VLAN_CFI = 0x1000
VLAN_PCP_MASK = 0xE000
IP_DSCP_MASK = 0xFC
MPLS_LABEL_MASK = 0xFFFFF000
MPLS_TC_MASK = 0x00000E00
ETH_TYPE_IP = 0x0800
ETH_TYPE_ARP = 0x0806
ETH_TYPE_RARP = 0x8035
ETH_TYPE_MPLS = 0x8847
ETH_TYPE_MPLS_MCAST = 0x8848
IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP = 1, 6, 17, 132

_FULL48 = (1 << 48) - 1
_FULL32 = 0xFFFFFFFF
_FULL64 = (1 << 64) - 1


def _slots(m: Match):  # type: ignore[no-untyped-def]
    v, k = m.value & m.mask, m.mask

    def g(name: str) -> int:
        return F.storage_get(v, name)

    def mg(name: str) -> int:
        return F.storage_get(k, name)

    return g, mg


def _wcbits_to_netmask(wcbits: int) -> int:
    wcbits &= 0x3F
    return (~((1 << wcbits) - 1)) & _FULL32 if wcbits < 32 else 0


def _netmask_to_wcbits(mask: int) -> int:
    """32 minus the number of leading one bits (OVS ``ip_count_cidr_bits`` counts the trailing zeros of a CIDR
    mask; for a non-CIDR mask the result is in range but meaningless, as in OVS)."""
    if not mask:
        return 32
    tz = (mask & -mask).bit_length() - 1
    return tz


def encode_ofp10_match(m: Match) -> bytes:
    """OVS ``ofputil_match_to_ofp10_match``."""
    g, mg = _slots(m)
    w = 0
    if not mg("in_port"):
        w |= OFPFW10_IN_PORT
    if not mg("dl_type"):
        w |= OFPFW10_DL_TYPE
    if not mg("nw_proto"):
        w |= OFPFW10_NW_PROTO
    w |= _netmask_to_wcbits(mg("nw_src")) << OFPFW10_NW_SRC_SHIFT
    w |= _netmask_to_wcbits(mg("nw_dst")) << OFPFW10_NW_DST_SHIFT
    if not mg("nw_tos") & IP_DSCP_MASK:
        w |= OFPFW10_NW_TOS
    if not mg("tp_src"):
        w |= OFPFW10_TP_SRC
    if not mg("tp_dst"):
        w |= OFPFW10_TP_DST
    if not mg("dl_src"):
        w |= OFPFW10_DL_SRC
    if not mg("dl_dst"):
        w |= OFPFW10_DL_DST
    dl_vlan = dl_vlan_pcp = 0
    tci, tci_m = g("vlan_tci"), mg("vlan_tci")
    if tci_m == 0:
        w |= OFPFW10_DL_VLAN | OFPFW10_DL_VLAN_PCP
    elif tci_m & VLAN_CFI and not tci & VLAN_CFI:
        dl_vlan = OFP10_VLAN_NONE
    else:
        if not tci_m & VLAN_VID_MASK:
            w |= OFPFW10_DL_VLAN
        else:
            dl_vlan = tci & VLAN_VID_MASK
        if not tci_m & VLAN_PCP_MASK:
            w |= OFPFW10_DL_VLAN_PCP
        else:
            dl_vlan_pcp = tci >> 13
    return struct.pack("!IH6s6sHBxHBBxxIIHH", w, g("in_port") & 0xFFFF, g("dl_src").to_bytes(6, "big"),
                       g("dl_dst").to_bytes(6, "big"), dl_vlan, dl_vlan_pcp, g("dl_type"),
                       g("nw_tos") & IP_DSCP_MASK, g("nw_proto"), g("nw_src"), g("nw_dst"), g("tp_src"),
                       g("tp_dst"))


def decode_ofp10_match(data: bytes, pos: int = 0) -> tuple[Match, int, Match | None]:
    """OVS ``ofputil_match_from_ofp10_match`` followed by ``ofputil_normalize_match``.

    Returns (normalized match, the raw wildcards, the match before normalization when normalizing changed it,
    so that callers can log as OVS logs)."""
    (w, in_port, dl_src, dl_dst, dl_vlan, dl_vlan_pcp, dl_type, nw_tos, nw_proto, nw_src, nw_dst, tp_src,
     tp_dst) = struct.unpack_from("!IH6s6sHBxHBBxxIIHH", data, pos)
    wc = w & OFPFW10_ALL
    b = MT.MatchBuilder()
    if not wc & OFPFW10_IN_PORT:
        b.set_slot("in_port", in_port, 0xFFFF)
    if not wc & OFPFW10_NW_TOS:
        b.set_slot("nw_tos", nw_tos & IP_DSCP_MASK, IP_DSCP_MASK)
    if not wc & OFPFW10_NW_PROTO:
        b.set_slot("nw_proto", nw_proto, 0xFF)
    src_m = _wcbits_to_netmask(wc >> OFPFW10_NW_SRC_SHIFT)
    dst_m = _wcbits_to_netmask(wc >> OFPFW10_NW_DST_SHIFT)
    b.set_slot("nw_src", nw_src & src_m, src_m)
    b.set_slot("nw_dst", nw_dst & dst_m, dst_m)
    if not wc & OFPFW10_TP_SRC:
        b.set_slot("tp_src", tp_src, 0xFFFF)
    if not wc & OFPFW10_TP_DST:
        b.set_slot("tp_dst", tp_dst, 0xFFFF)
    if not wc & OFPFW10_DL_SRC:
        b.set_slot("dl_src", int.from_bytes(dl_src, "big"), _FULL48)
    if not wc & OFPFW10_DL_DST:
        b.set_slot("dl_dst", int.from_bytes(dl_dst, "big"), _FULL48)
    if not wc & OFPFW10_DL_TYPE:
        b.set_slot("dl_type", dl_type, 0xFFFF)
    data_bits = (OFPFW10_NW_TOS | OFPFW10_NW_PROTO | OFPFW10_TP_SRC | OFPFW10_TP_DST | OFPFW10_DL_SRC
                 | OFPFW10_DL_DST | OFPFW10_DL_TYPE | OFPFW10_DL_VLAN | OFPFW10_DL_VLAN_PCP)
    if (wc & data_bits) != data_bits or src_m or dst_m:
        b.set_default_packet_type()
    tm = 0
    if not wc & OFPFW10_DL_VLAN_PCP:
        tm |= VLAN_PCP_MASK | VLAN_CFI
    if not wc & OFPFW10_DL_VLAN:
        tm |= VLAN_VID_MASK | VLAN_CFI
    if not wc & OFPFW10_DL_VLAN and dl_vlan == OFP10_VLAN_NONE:
        b.set_slot("vlan_tci", 0, 0xFFFF)
    elif tm:
        t = (dl_vlan & VLAN_VID_MASK) | ((dl_vlan_pcp << 13) & VLAN_PCP_MASK) | VLAN_CFI
        b.set_slot("vlan_tci", t & tm, tm)
    raw = b.match()
    norm = MT.normalize(raw)
    return norm, w, (raw if norm != raw else None)


def encode_ofp11_match(m: Match) -> bytes:
    """OVS ``ofputil_match_to_ofp11_match``."""
    g, mg = _slots(m)
    w = 0
    in_port = 0
    if not mg("in_port"):
        w |= OFPFW11_IN_PORT
    else:
        in_port = V.port_to_ofp11(g("in_port") & 0xFFFF)
    dl_vlan = dl_vlan_pcp = 0
    tci, tci_m = g("vlan_tci"), mg("vlan_tci")
    if tci_m == 0:
        w |= OFPFW11_DL_VLAN | OFPFW11_DL_VLAN_PCP
    elif tci_m & VLAN_CFI and not tci & VLAN_CFI:
        dl_vlan = OFPVID11_NONE
        w |= OFPFW11_DL_VLAN_PCP
    else:
        dl_vlan = OFPVID11_ANY if not tci_m & VLAN_VID_MASK else tci & VLAN_VID_MASK
        if not tci_m & VLAN_PCP_MASK:
            w |= OFPFW11_DL_VLAN_PCP
        else:
            dl_vlan_pcp = tci >> 13
    dl_type = nw_tos = nw_proto = tp_src = tp_dst = mpls_label = mpls_tc = 0
    if not mg("dl_type"):
        w |= OFPFW11_DL_TYPE
    else:
        dl_type = g("dl_type")
    if not mg("nw_tos") & IP_DSCP_MASK:
        w |= OFPFW11_NW_TOS
    else:
        nw_tos = g("nw_tos") & IP_DSCP_MASK
    if not mg("nw_proto"):
        w |= OFPFW11_NW_PROTO
    else:
        nw_proto = g("nw_proto")
    if not mg("tp_src"):
        w |= OFPFW11_TP_SRC
    else:
        tp_src = g("tp_src")
    if not mg("tp_dst"):
        w |= OFPFW11_TP_DST
    else:
        tp_dst = g("tp_dst")
    lse, lse_m = g("mpls_lse"), mg("mpls_lse")
    if not lse_m & MPLS_LABEL_MASK:
        w |= OFPFW11_MPLS_LABEL
    else:
        mpls_label = lse >> 12
    if not lse_m & MPLS_TC_MASK:
        w |= OFPFW11_MPLS_TC
    else:
        mpls_tc = (lse >> 9) & 7
    return (struct.pack("!HHII", 0, OFP11_MATCH_LEN, in_port, w)
            + g("dl_src").to_bytes(6, "big") + (_FULL48 ^ mg("dl_src")).to_bytes(6, "big")
            + g("dl_dst").to_bytes(6, "big") + (_FULL48 ^ mg("dl_dst")).to_bytes(6, "big")
            + struct.pack("!HBxHBBIIIIHHIB3x", dl_vlan, dl_vlan_pcp, dl_type, nw_tos, nw_proto, g("nw_src"),
                          _FULL32 ^ mg("nw_src"), g("nw_dst"), _FULL32 ^ mg("nw_dst"), tp_src, tp_dst,
                          mpls_label, mpls_tc)
            + struct.pack("!QQ", g("metadata"), _FULL64 ^ mg("metadata")))


def decode_ofp11_match(data: bytes, pos: int = 0) -> Match:
    """OVS ``ofputil_match_from_ofp11_match`` on the 88 bytes at ``data[pos:]`` (header included)."""
    (_, _, in_port, w) = struct.unpack_from("!HHII", data, pos)
    dl_src = int.from_bytes(data[pos + 12:pos + 18], "big")
    dl_src_m = _FULL48 ^ int.from_bytes(data[pos + 18:pos + 24], "big")
    dl_dst = int.from_bytes(data[pos + 24:pos + 30], "big")
    dl_dst_m = _FULL48 ^ int.from_bytes(data[pos + 30:pos + 36], "big")
    (dl_vlan, dl_vlan_pcp, dl_type, nw_tos, nw_proto, nw_src, nw_src_m, nw_dst, nw_dst_m, tp_src, tp_dst,
     mpls_label, mpls_tc) = struct.unpack_from("!HBxHBBIIIIHHIB3x", data, pos + 36)
    metadata, metadata_m = struct.unpack_from("!QQ", data, pos + 72)
    metadata_m ^= _FULL64
    nw_src_m ^= _FULL32
    nw_dst_m ^= _FULL32
    wc = w & 0xFFFF
    b = MT.MatchBuilder()
    if not wc & OFPFW11_IN_PORT:
        port = V.port_from_ofp11(in_port)
        if port is None:
            raise OFPDecodeError("OFPBMC_BAD_VALUE", f"bad in_port {in_port:#x}")
        b.set_slot("in_port", port, 0xFFFF)
    if dl_src_m or dl_dst_m:
        b.set_slot("dl_src", dl_src & dl_src_m, dl_src_m)
        b.set_slot("dl_dst", dl_dst & dl_dst_m, dl_dst_m)
        b.set_default_packet_type()
    if not wc & OFPFW11_DL_VLAN:
        if dl_vlan == OFPVID11_NONE:
            b.set_slot("vlan_tci", 0, 0xFFFF)
        else:
            if dl_vlan == OFPVID11_ANY:
                t, tm = VLAN_CFI, VLAN_CFI
            elif dl_vlan < 4096:
                t, tm = VLAN_CFI | dl_vlan, VLAN_CFI | VLAN_VID_MASK
            else:
                raise OFPDecodeError("OFPBMC_BAD_VALUE", f"invalid VID {dl_vlan}")
            if not wc & OFPFW11_DL_VLAN_PCP:
                if dl_vlan_pcp > 7:
                    raise OFPDecodeError("OFPBMC_BAD_VALUE", f"invalid PCP {dl_vlan_pcp}")
                t |= dl_vlan_pcp << 13
                tm |= VLAN_PCP_MASK
            b.set_slot("vlan_tci", t, tm)
        b.set_default_packet_type()
    if not wc & OFPFW11_DL_TYPE:
        b.set_dl_type(dl_type)
        b.set_default_packet_type()
    cur_dl_type = b.slot("dl_type")[0]
    ipv4 = cur_dl_type == ETH_TYPE_IP
    arp = cur_dl_type in (ETH_TYPE_ARP, ETH_TYPE_RARP)
    if ipv4 and not wc & OFPFW11_NW_TOS:
        if nw_tos & ~IP_DSCP_MASK:
            raise OFPDecodeError("OFPBMC_BAD_VALUE", f"invalid TOS {nw_tos}")
        ofs = F.STORAGE["nw_tos"][0]
        b.mask |= IP_DSCP_MASK << ofs
        b.value = (b.value & ~(IP_DSCP_MASK << ofs)) | ((nw_tos & IP_DSCP_MASK) << ofs)
    if ipv4 or arp:
        if not wc & OFPFW11_NW_PROTO:
            b.set_nw_proto(nw_proto)
        b.set_slot("nw_src", nw_src & nw_src_m, nw_src_m)
        b.set_slot("nw_dst", nw_dst & nw_dst_m, nw_dst_m)
    tp_all = OFPFW11_TP_SRC | OFPFW11_TP_DST
    if ipv4 and (wc & tp_all) != tp_all:
        proto = b.slot("nw_proto")[0]
        if proto == IPPROTO_ICMP:
            if not wc & OFPFW11_TP_SRC:
                if tp_src >= 0x100:
                    raise OFPDecodeError("OFPBMC_BAD_FIELD", f"invalid ICMP type {tp_src}")
                b.set_slot("tp_src", tp_src, 0xFFFF)
            if not wc & OFPFW11_TP_DST:
                if tp_dst >= 0x100:
                    raise OFPDecodeError("OFPBMC_BAD_FIELD", f"invalid ICMP code {tp_dst}")
                b.set_slot("tp_dst", tp_dst, 0xFFFF)
        elif proto in (IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP):
            if not wc & OFPFW11_TP_SRC:
                b.set_slot("tp_src", tp_src, 0xFFFF)
            if not wc & OFPFW11_TP_DST:
                b.set_slot("tp_dst", tp_dst, 0xFFFF)
    if cur_dl_type in (ETH_TYPE_MPLS, ETH_TYPE_MPLS_MCAST):
        ofs = F.STORAGE["mpls_lse"][0]
        if not wc & OFPFW11_MPLS_LABEL:
            b.mask |= MPLS_LABEL_MASK << ofs
            b.value = (b.value & ~(MPLS_LABEL_MASK << ofs)) | (((mpls_label << 12) & MPLS_LABEL_MASK) << ofs)
        if not wc & OFPFW11_MPLS_TC:
            b.mask |= MPLS_TC_MASK << ofs
            b.value = (b.value & ~(MPLS_TC_MASK << ofs)) | (((mpls_tc << 9) & MPLS_TC_MASK) << ofs)
    b.set_slot("metadata", metadata & metadata_m, metadata_m)
    return b.match()


def pull_ofp11_match(data: bytes, pos: int) -> tuple[Match, MT.TunMetadata, int]:
    """The match of an OpenFlow 1.1+ message at ``data[pos:]``, as Open vSwitch pulls it: a standard
    ``ofp11_match`` (type 0) or an OXM match (type 1); returns the match, its tunnel-metadata table and the
    position after it and its padding."""
    if len(data) - pos < 4:
        raise OFPDecodeError("OFPBMC_BAD_LEN")
    mtype, mlen = struct.unpack_from("!HH", data, pos)
    if mtype == 0:
        if mlen != OFP11_MATCH_LEN or len(data) - pos < OFP11_MATCH_LEN:
            raise OFPDecodeError("OFPBMC_BAD_LEN")
        return decode_ofp11_match(data, pos), MT.TunMetadata(), pos + OFP11_MATCH_LEN
    if mtype == 1:
        return NX.pull_oxm_match(data, pos)
    raise OFPDecodeError("OFPBMC_BAD_TYPE")
