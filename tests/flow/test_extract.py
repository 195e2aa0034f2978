"""Flow extraction: frames built with Scapy -> our key -> every field checked.

Most tests compare the whole key with an expected key built field by field (``expect``), so a stray bit
anywhere fails the test, and then also read the interesting fields back through the field table.  Behaviour on
malformed input is checked three ways: hand-written cases for each rule, every prefix and a seeded set of
mutations of real frames against what Open vSwitch 3.1 printed for them (``tests/data/trace_flow_lines.json``,
see ``tools/regen_trace_flow_lines.py``), and hypothesis-generated frames and bytes against invariants.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.all import (
    ARP,
    ICMP,
    IP,
    LLC,
    SCTP,
    SNAP,
    TCP,
    UDP,
    Dot1AD,
    Dot1Q,
    Dot3,
    Ether,
    ICMPv6EchoReply,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptMTU,
    ICMPv6NDOptSrcLLAddr,
    IPOption_RR,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    Raw,
)
from scapy.contrib.mpls import MPLS

from pyvswitch.flow import extract as X
from pyvswitch.flow import fields as F
from pyvswitch.flow.extract import Extracted, extract, extract_with_offsets
from pyvswitch.flow.flow_format import format_flow

DATA = json.loads((Path(__file__).resolve().parent.parent / "data" / "trace_flow_lines.json").read_text())

MAC_A = "00:11:22:33:44:55"
MAC_B = "66:77:88:99:aa:bb"
MAC_A_INT = 0x001122334455
MAC_B_INT = 0x66778899AABB
E = Ether(src=MAC_A, dst=MAC_B)


def ip4(text: str) -> int:
    a, b, c, d = (int(x) for x in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def ip6(text: str) -> int:
    import ipaddress
    return int(ipaddress.IPv6Address(text))


def expect(in_port: int = 1, **slots: int) -> int:
    """A key with the given storage slots (hidden ones spelled with a leading ``h_``) and everything else 0."""
    key = in_port
    for name, value in slots.items():
        name = "_" + name[2:] if name.startswith("h_") else name
        key = F.storage_put(key, name, value)
    return key


def l2(dl_type: int, src: int = MAC_A_INT, dst: int = MAC_B_INT, **more: int) -> dict[str, int]:
    return dict(dl_src=src, dl_dst=dst, dl_type=dl_type, **more)


def diff(got: int, want: int) -> list[str]:
    """The storage slots that differ, for readable failures."""
    return [f"{n}: got {F.storage_get(got, n):#x} want {F.storage_get(want, n):#x}" for n in F.STORAGE
            if F.storage_get(got, n) != F.storage_get(want, n)]


def check(frame, want: int, in_port: int = 1, md: int = 0) -> int:
    got = extract(bytes(frame), in_port, md)
    assert got == want, diff(got, want)
    return got


def fget(key: int, name: str) -> int:
    return F.get(key, F.BY_NAME[name])


# --- Ethernet -------------------------------------------------------------------------------------------------

def test_ethernet_unknown_type():
    check(Ether(src=MAC_A, dst=MAC_B, type=0x88CC) / Raw(b"x" * 40), expect(**l2(0x88CC)))


def test_short_frames_have_metadata_only():
    frame = bytes(E / IP() / UDP())
    md = F.storage_put(F.storage_put(0, "pkt_mark", 7), "tun_id", 0x1234)
    for n in range(14):
        assert extract(frame[:n], 9, md) == md | 9
    assert extract(b"", 3) == 3


def test_metadata_and_in_port_are_kept():
    md = 0
    for name, value in [("tun_id", 0xDEADBEEF), ("tun_src", 0x01020304), ("tun_dst", 0x05060708),
                        ("skb_priority", 5), ("pkt_mark", 0xFFFFFFFF), ("recirc_id", 3), ("dp_hash", 0x55),
                        ("ct_state", 0x21), ("ct_zone", 9), ("ct_mark", 1), ("ct_label", 1 << 127),
                        ("tun_metadata", 0xABC << 500), ("_tun_metadata_present", 1)]:
        md = F.storage_put(md, name, value)
    frame = E / IP(src="1.2.3.4", dst="5.6.7.8") / UDP(sport=1, dport=2)
    key = extract(bytes(frame), 0xFFFE, md)
    assert key & md == md
    assert key == md | extract(bytes(frame), 0xFFFE)
    assert fget(key, "in_port") == 0xFFFE
    assert fget(key, "packet_type") == 0


def test_input_types_and_determinism():
    frame = bytes(E / Dot1Q(vlan=5) / IPv6(src="::1", dst="::2") / TCP(sport=1, dport=2, flags="S"))
    k = extract(frame, 4)
    assert extract(bytearray(frame), 4) == k
    assert extract(memoryview(frame), 4) == k
    assert extract(memoryview(b"zz" + frame)[2:], 4) == k
    assert extract(bytes(frame), 4) == k
    assert extract_with_offsets(memoryview(frame), 4) == extract_with_offsets(frame, 4)


# --- VLAN -----------------------------------------------------------------------------------------------------

def test_single_vlan():
    frame = E / Dot1Q(vlan=10, prio=5, dei=1) / IP(src="1.2.3.4", dst="5.6.7.8") / UDP(sport=7, dport=8)
    tci = (5 << 13) | 0x1000 | 10
    key = check(frame, expect(**l2(0x0800, vlan_tci=tci, h_vlan_tpid=0x8100), nw_src=ip4("1.2.3.4"),
                              nw_dst=ip4("5.6.7.8"), nw_proto=17, nw_ttl=64, tp_src=7, tp_dst=8))
    # The CFI/DEI bit of the wire TCI is where OVS keeps "a tag is present"; it is set either way.
    assert fget(key, "dl_vlan") == 10 and fget(key, "vlan_pcp") == 5 and fget(key, "vlan_tci") & 0x1000


def test_vlan_zero_tci_is_still_present():
    key = check(E / Dot1Q(vlan=0, prio=0, type=0x88B5) / Raw(b"\x00" * 30),
                expect(**l2(0x88B5, vlan_tci=0x1000, h_vlan_tpid=0x8100)))
    assert fget(key, "vlan_vid") == 0


def test_qinq_both_tags():
    frame = E / Dot1AD(vlan=100, prio=1) / Dot1Q(vlan=200, prio=2) / ARP(op=1, psrc="1.1.1.1", hwsrc=MAC_A)
    key = check(frame, expect(**l2(0x0806, vlan_tci=0x3000 | 100, h_vlan_tpid=0x88A8,
                                   h_vlan2_tci=0x5000 | 200, h_vlan2_tpid=0x8100),
                              nw_src=ip4("1.1.1.1"), nw_proto=1, arp_sha=MAC_A_INT))
    assert fget(key, "dl_vlan") == 100


def test_third_tag_is_payload():
    frame = E / Dot1Q(vlan=1) / Dot1Q(vlan=2) / Dot1Q(vlan=3) / IP() / UDP()
    check(frame, expect(**l2(0x8100, vlan_tci=0x1001, h_vlan_tpid=0x8100, h_vlan2_tci=0x1002,
                             h_vlan2_tpid=0x8100)))


def test_vlan_limit():
    frame = bytes(E / Dot1AD(vlan=100) / Dot1Q(vlan=200) / IP() / UDP())
    old = X.get_vlan_limit()
    try:
        X.set_vlan_limit(1)
        assert extract(frame, 1) == expect(**l2(0x8100, vlan_tci=0x1000 | 100, h_vlan_tpid=0x88A8))
        X.set_vlan_limit(0)
        assert X.get_vlan_limit() == 2
        with pytest.raises(ValueError):
            X.set_vlan_limit(-1)
    finally:
        X.set_vlan_limit(old)


def test_truncated_tags():
    base = bytes(E)[:12]
    # A tag needs its 4 bytes and the 2-byte type behind it; otherwise the TPID is the type.
    assert extract(base + b"\x81\x00", 1) == expect(**l2(0x8100))
    assert extract(base + b"\x81\x00\x00\x05\x08", 1) == expect(**l2(0x8100))
    assert extract(base + b"\x81\x00\x00\x05\x08\x00", 1) == expect(
        **l2(0x0800, vlan_tci=0x1005, h_vlan_tpid=0x8100))
    assert extract(base + b"\x81\x00\x00\x05\x88\xa8\x00\x06\x86", 1) == expect(
        **l2(0x88A8, vlan_tci=0x1005, h_vlan_tpid=0x8100))


# --- IEEE 802.3 / LLC / SNAP ---------------------------------------------------------------------------------

def test_llc_without_snap_is_dl_type_none():
    check(Dot3(src=MAC_A, dst=MAC_B) / LLC(dsap=0x42, ssap=0x42, ctrl=3) / Raw(b"x" * 40), expect(**l2(0x05FF)))


def test_snap_carries_ethertype_and_parsing_continues():
    frame = (Dot3(src=MAC_A, dst=MAC_B) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x0800)
             / IP(src="1.2.3.4", dst="5.6.7.8") / UDP(sport=7, dport=8))
    check(frame, expect(**l2(0x0800), nw_src=ip4("1.2.3.4"), nw_dst=ip4("5.6.7.8"), nw_proto=17, nw_ttl=64,
                        tp_src=7, tp_dst=8))
    assert extract_with_offsets(bytes(frame), 1)[1:] == (None, 22, 42)


@pytest.mark.parametrize("snap", [b"\xaa\xaa\x03\x00\x00\x01\x08\x00",   # OUI not 0
                                  b"\xaa\xaa\x03\x00\x00\x00\x05\xff",   # type is a length
                                  b"\xab\xaa\x03\x00\x00\x00\x08\x00",   # not a SNAP SAP
                                  b"\xaa\xaa\x03\x00\x00\x00\x08"])      # too short
def test_snap_variants_without_ethertype(snap):
    frame = bytes(E)[:12] + len(snap).to_bytes(2, "big") + snap + bytes(IP() / UDP())
    if len(snap) < 8:
        frame = frame[:14 + len(snap)]
    assert extract(frame, 1) == expect(**l2(0x05FF))


# --- MPLS -----------------------------------------------------------------------------------------------------

def lse(label: int, tc: int, bos: int, ttl: int) -> int:
    return (label << 12) | (tc << 9) | (bos << 8) | ttl


def test_mpls_single_label_no_l3():
    frame = E / MPLS(label=100, cos=3, s=1, ttl=9) / IP(src="1.2.3.4") / UDP()
    key = check(frame, expect(**l2(0x8847), mpls_lse=lse(100, 3, 1, 9)))
    assert (fget(key, "mpls_label"), fget(key, "mpls_tc"), fget(key, "mpls_bos"), fget(key, "mpls_ttl")) == (
        100, 3, 1, 9)
    assert extract_with_offsets(bytes(frame), 1)[1:] == (14, 18, None)


def test_mpls_stack_keeps_three():
    frame = (Ether(src=MAC_A, dst=MAC_B, type=0x8848) / MPLS(label=1, s=0, ttl=1) / MPLS(label=2, s=0, ttl=2)
             / MPLS(label=3, s=0, ttl=3) / MPLS(label=4, s=1, ttl=4) / IP())
    check(frame, expect(**l2(0x8848), mpls_lse=lse(1, 0, 0, 1), h_mpls_lse1=lse(2, 0, 0, 2),
                        h_mpls_lse2=lse(3, 0, 0, 3)))
    # The network header starts after the bottom of the stack, even beyond the three kept entries.
    assert extract_with_offsets(bytes(frame), 1)[1:] == (14, 30, None)


def test_mpls_without_bottom_of_stack_and_truncated():
    frame = bytes(E)[:12] + b"\x88\x47" + struct.pack("!II", lse(7, 1, 0, 5), lse(8, 0, 0, 6)) + b"\x01\x02"
    assert extract(frame, 1) == expect(**l2(0x8847), mpls_lse=lse(7, 1, 0, 5), h_mpls_lse1=lse(8, 0, 0, 6))
    assert extract_with_offsets(frame, 1)[1:] == (14, 22, None)
    assert extract(frame[:17], 1) == expect(**l2(0x8847))


def test_mpls_in_vlan():
    frame = E / Dot1Q(vlan=9) / MPLS(label=5, s=1, ttl=64) / IP()
    check(frame, expect(**l2(0x8847, vlan_tci=0x1009, h_vlan_tpid=0x8100), mpls_lse=lse(5, 0, 1, 64)))


# --- IPv4 -----------------------------------------------------------------------------------------------------

def v4(**more: int) -> dict[str, int]:
    d = {"nw_src": ip4("10.1.2.3"), "nw_dst": ip4("192.168.7.9"), "nw_ttl": 33, "nw_tos": 0xB9}
    d.update(more)
    return d


IP4 = IP(src="10.1.2.3", dst="192.168.7.9", ttl=33, tos=0xB9)


def test_ipv4_udp_fields():
    frame = E / IP4 / UDP(sport=5353, dport=53) / Raw(b"q" * 10)
    key = check(frame, expect(**l2(0x0800), **v4(nw_proto=17, tp_src=5353, tp_dst=53)))
    assert fget(key, "nw_src") == ip4("10.1.2.3") and fget(key, "nw_dst") == ip4("192.168.7.9")
    assert fget(key, "ip_dscp") == 0xB9 >> 2 and fget(key, "nw_ecn") == 1 and fget(key, "nw_tos") == 0xB8
    assert fget(key, "nw_ttl") == 33 and fget(key, "nw_proto") == 17 and fget(key, "ip_frag") == 0
    assert fget(key, "udp_src") == 5353 and fget(key, "udp_dst") == 53
    assert extract_with_offsets(bytes(frame), 1) == Extracted(key, None, 14, 34)


def test_ipv4_tcp_flags_all_twelve_bits():
    frame = bytearray(bytes(E / IP4 / TCP(sport=80, dport=1025, flags="FSRPAUECN")))
    key = check(frame, expect(**l2(0x0800), **v4(nw_proto=6, tp_src=80, tp_dst=1025, tcp_flags=0x1FF)))
    assert fget(key, "tcp_src") == 80 and fget(key, "tcp_dst") == 1025 and fget(key, "tcp_flags") == 0x1FF
    frame[46] |= 0x0E     # the three reserved bits are kept too, as OVS does
    check(frame, expect(**l2(0x0800), **v4(nw_proto=6, tp_src=80, tp_dst=1025, tcp_flags=0xFFF)))


def test_ipv4_tcp_options_and_ip_options():
    frame = (E / IP(src="1.2.3.4", dst="5.6.7.8", options=[IPOption_RR()])
             / TCP(sport=1, dport=2, flags="S", options=[("MSS", 1460), ("WScale", 2)]))
    check(frame, expect(**l2(0x0800), nw_src=ip4("1.2.3.4"), nw_dst=ip4("5.6.7.8"), nw_ttl=64, nw_proto=6,
                        tp_src=1, tp_dst=2, tcp_flags=0x002))
    assert extract_with_offsets(bytes(frame), 1).l4_ofs == 14 + 24


def test_ipv4_icmp_sctp_igmp():
    key = check(E / IP4 / ICMP(type=3, code=4), expect(**l2(0x0800), **v4(nw_proto=1, tp_src=3, tp_dst=4)))
    assert fget(key, "icmp_type") == 3 and fget(key, "icmp_code") == 4
    key = check(E / IP4 / SCTP(sport=3868, dport=2905),
                expect(**l2(0x0800), **v4(nw_proto=132, tp_src=3868, tp_dst=2905)))
    assert fget(key, "sctp_src") == 3868 and fget(key, "sctp_dst") == 2905
    check(E / IP(src="1.2.3.4", dst="224.0.0.1", proto=2) / Raw(b"\x16\x07\x00\x00\xe0\x00\x00\x01"),
          expect(**l2(0x0800), nw_src=ip4("1.2.3.4"), nw_dst=ip4("224.0.0.1"), nw_ttl=64, nw_proto=2,
                 tp_src=0x16, tp_dst=7))


def test_ipv4_other_protocol_has_no_l4():
    check(E / IP(src="1.2.3.4", dst="5.6.7.8", proto=47) / Raw(b"\x12\x34\x56\x78" * 4),
          expect(**l2(0x0800), nw_src=ip4("1.2.3.4"), nw_dst=ip4("5.6.7.8"), nw_ttl=64, nw_proto=47))


def test_ipv4_protocol_58_is_parsed_as_icmpv6():
    """OVS does not check dl_type before the ICMPv6 parser: the ND fields are filled for IPv4 too."""
    frame = (E / IP(src="1.2.3.4", dst="5.6.7.8", proto=58) / ICMPv6ND_NS(tgt="fe80::9")
             / ICMPv6NDOptSrcLLAddr(lladdr="01:02:03:04:05:06"))
    check(frame, expect(**l2(0x0800), nw_src=ip4("1.2.3.4"), nw_dst=ip4("5.6.7.8"), nw_ttl=64, nw_proto=58,
                        tp_src=135, nd_target=ip6("fe80::9"), arp_sha=0x010203040506))


@pytest.mark.parametrize("flags,frag,nw_frag", [("MF", 0, 1), ("MF", 100, 3), (0, 10, 3), ("DF", 0, 0),
                                                ("evil", 0, 0)])
def test_ipv4_fragments(flags, frag, nw_frag):
    frame = E / IP(src="1.2.3.4", dst="5.6.7.8", flags=flags, frag=frag) / UDP(sport=1, dport=2)
    ports = {} if nw_frag & 2 else {"tp_src": 1, "tp_dst": 2}
    key = check(frame, expect(**l2(0x0800), nw_src=ip4("1.2.3.4"), nw_dst=ip4("5.6.7.8"), nw_ttl=64,
                              nw_proto=17, nw_frag=nw_frag, **ports))
    assert fget(key, "ip_frag") == nw_frag
    # Later fragments still have a transport offset; they just carry no L4 fields.
    assert extract_with_offsets(bytes(frame), 1).l4_ofs == 34


@pytest.mark.parametrize("ip", [IP(ihl=4), IP(ihl=15), IP(len=19), IP(len=200), IP(ihl=6, len=23)],
                         ids=["ihl<5", "ihl-past-end", "len<20", "len-past-end", "len<ihl"])
def test_ipv4_bad_header_keeps_l2_only(ip):
    frame = E / ip / UDP(sport=1, dport=2) / Raw(b"x" * 8)
    assert extract_with_offsets(bytes(frame), 1) == Extracted(expect(**l2(0x0800)), None, 14, None)


def test_ipv4_version_is_not_checked():
    check(E / IP(version=6, src="1.2.3.4", dst="5.6.7.8") / UDP(sport=3, dport=4),
          expect(**l2(0x0800), nw_src=ip4("1.2.3.4"), nw_dst=ip4("5.6.7.8"), nw_ttl=64, nw_proto=17, tp_src=3,
                 tp_dst=4))


def test_ipv4_total_length_bounds_l4():
    ip = {"nw_src": ip4("1.2.3.4"), "nw_dst": ip4("5.6.7.8"), "nw_ttl": 64}
    full = bytes(E / IP(src="1.2.3.4", dst="5.6.7.8") / TCP(sport=1, dport=2, flags="A"))
    # Padding behind the total length is ignored.
    assert extract(full + b"\xff" * 20, 1) == extract(full, 1)
    # A total length that cuts the TCP header: L3 kept, ports and flags zero.
    cut = bytearray(full)
    cut[16:18] = (20 + 19).to_bytes(2, "big")
    assert extract(bytes(cut), 1) == expect(**l2(0x0800), nw_proto=6, **ip)
    # A TCP data offset below 5 words or beyond the segment: same.
    for off in (0x40, 0x60):
        bad = bytearray(full)
        bad[46] = off
        assert extract(bytes(bad), 1) == expect(**l2(0x0800), nw_proto=6, **ip)
    # Each protocol needs its header: UDP 8, SCTP 12, ICMP 8, IGMP 8 bytes.
    for proto, need in ((17, 8), (132, 12), (1, 8), (2, 8)):
        for n in (need - 1, need):
            frame = bytes(E / IP(src="1.2.3.4", dst="5.6.7.8", proto=proto, len=20 + n)) + bytes([9] * n)
            l4 = {} if n < need else ({"tp_src": 0x909, "tp_dst": 0x909} if proto in (17, 132)
                                      else {"tp_src": 9, "tp_dst": 9})
            assert extract(frame, 1) == expect(**l2(0x0800), nw_proto=proto, **ip, **l4), (proto, n)


# --- IPv6 -----------------------------------------------------------------------------------------------------

SRC6, DST6 = "2001:db8::1", "fe80::aa:bb"
IP6 = IPv6(src=SRC6, dst=DST6, tc=0xB9, fl=0xABCDE, hlim=5)


def v6(**more: int) -> dict[str, int]:
    d = {"ipv6_src": ip6(SRC6), "ipv6_dst": ip6(DST6), "ipv6_label": 0xABCDE, "nw_tos": 0xB9, "nw_ttl": 5}
    d.update(more)
    return d


def test_ipv6_udp_tcp_sctp():
    key = check(E / IP6 / UDP(sport=546, dport=547), expect(**l2(0x86DD), **v6(nw_proto=17, tp_src=546,
                                                                              tp_dst=547)))
    assert fget(key, "ipv6_src") == ip6(SRC6) and fget(key, "ipv6_dst") == ip6(DST6)
    assert fget(key, "ipv6_label") == 0xABCDE and fget(key, "nw_ecn") == 1 and fget(key, "ip_dscp") == 0xB9 >> 2
    check(E / IP6 / TCP(sport=1, dport=2, flags="SE"), expect(**l2(0x86DD), **v6(nw_proto=6, tp_src=1, tp_dst=2,
                                                                               tcp_flags=0x42)))
    check(E / IP6 / SCTP(sport=9, dport=10), expect(**l2(0x86DD), **v6(nw_proto=132, tp_src=9, tp_dst=10)))
    assert extract_with_offsets(bytes(E / IP6 / UDP()), 1)[1:] == (None, 14, 54)


def test_icmpv6_non_nd():
    key = check(E / IP6 / ICMPv6EchoReply(), expect(**l2(0x86DD), **v6(nw_proto=58, tp_src=129)))
    assert fget(key, "icmpv6_type") == 129 and fget(key, "icmpv6_code") == 0


def test_nd_solicit_and_advert():
    ns = (E / IP6 / ICMPv6ND_NS(tgt="fe80::2") / ICMPv6NDOptMTU()
          / ICMPv6NDOptSrcLLAddr(lladdr="01:02:03:04:05:06"))
    key = check(ns, expect(**l2(0x86DD), **v6(nw_proto=58, tp_src=135, nd_target=ip6("fe80::2"),
                                                 arp_sha=0x010203040506)))
    assert fget(key, "nd_target") == ip6("fe80::2") and fget(key, "nd_sll") == 0x010203040506
    na = (E / IP6 / ICMPv6ND_NA(tgt="2001:db8::5", R=1, S=1) / ICMPv6NDOptDstLLAddr(lladdr="0a:0b:0c:0d:0e:0f")
          / ICMPv6NDOptSrcLLAddr(lladdr="01:02:03:04:05:06"))
    key = check(na, expect(**l2(0x86DD), **v6(nw_proto=58, tp_src=136, nd_target=ip6("2001:db8::5"),
                                                 arp_sha=0x010203040506, arp_tha=0x0A0B0C0D0E0F)))
    assert fget(key, "nd_tll") == 0x0A0B0C0D0E0F


def test_nd_malformed_options():
    nd = {"nw_proto": 58, "tp_src": 135}
    ns = E / IP6 / ICMPv6ND_NS(tgt="fe80::2")
    sll = ICMPv6NDOptSrcLLAddr(lladdr="01:02:03:04:05:06")
    tll = ICMPv6NDOptDstLLAddr(lladdr="0a:0b:0c:0d:0e:0f")
    # A second SLL (or TLL) invalidates the options: target and addresses are left zero.
    check(ns / sll / ICMPv6NDOptSrcLLAddr(lladdr="01:02:03:04:05:07"), expect(**l2(0x86DD), **v6(**nd)))
    check(ns / tll / sll / ICMPv6NDOptDstLLAddr(lladdr="0a:0b:0c:0d:0e:00"), expect(**l2(0x86DD), **v6(**nd)))
    # ... but an all-zero address counts as not seen.
    check(ns / ICMPv6NDOptSrcLLAddr(lladdr="00:00:00:00:00:00") / sll,
          expect(**l2(0x86DD), **v6(**nd, nd_target=ip6("fe80::2"), arp_sha=0x010203040506)))
    # A zero-length option or one running past the end stops the walk, keeping what was found.
    check(ns / tll / ICMPv6NDOptMTU(len=0) / sll,
          expect(**l2(0x86DD), **v6(**nd, nd_target=ip6("fe80::2"), arp_tha=0x0A0B0C0D0E0F)))
    check(ns / tll / ICMPv6NDOptMTU(len=4),
          expect(**l2(0x86DD), **v6(**nd, nd_target=ip6("fe80::2"), arp_tha=0x0A0B0C0D0E0F)))
    # Link-layer options that are not 8 bytes long are skipped.
    check(ns / ICMPv6NDOptSrcLLAddr(lladdr="01:02:03:04:05:06", len=2) / Raw(bytes(8)),
          expect(**l2(0x86DD), **v6(**nd, nd_target=ip6("fe80::2"))))
    # A truncated target: type and code only.
    frame = bytes(E / IPv6(src=SRC6, dst=DST6, plen=20) / ICMPv6ND_NA(tgt="fe80::2"))[:-4]
    assert extract(frame, 1) == expect(**l2(0x86DD), ipv6_src=ip6(SRC6), ipv6_dst=ip6(DST6), nw_ttl=255,
                                       nw_proto=58, tp_src=136)
    # Code != 0 is not ND.
    check(E / IP6 / ICMPv6ND_NA(tgt="fe80::2", code=1) / tll,
          expect(**l2(0x86DD), **v6(nw_proto=58, tp_src=136, tp_dst=1)))


def test_ipv6_extension_headers():
    frame = (E / IP6 / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting() / IPv6ExtHdrDestOpt()
             / TCP(sport=3, dport=4, flags="A"))
    check(frame, expect(**l2(0x86DD), **v6(nw_proto=6, tp_src=3, tp_dst=4, tcp_flags=0x10)))
    assert extract_with_offsets(bytes(frame), 1).l4_ofs == 54 + 8 + 8 + 8
    # AH: length in 4-byte units plus 2.
    ah = E / IPv6(src=SRC6, dst=DST6, nh=51) / Raw(b"\x11\x04\x00\x00" + bytes(20)) / UDP(sport=5, dport=6)
    check(ah, expect(**l2(0x86DD), ipv6_src=ip6(SRC6), ipv6_dst=ip6(DST6), nw_ttl=64, nw_proto=17, tp_src=5,
                     tp_dst=6))


@pytest.mark.parametrize("offset,m,res,nw_frag", [(0, 1, 0, 1), (5, 0, 0, 3), (5, 1, 0, 3), (0, 0, 0, 0),
                                                  (0, 0, 1, 1)])
def test_ipv6_fragments(offset, m, res, nw_frag):
    frame = E / IP6 / IPv6ExtHdrFragment(offset=offset, m=m, res2=res, nh=17) / UDP(sport=1, dport=2)
    if nw_frag & 2:
        # A later fragment: nw_proto is the fragment header's number, 44, and no L4.
        want = expect(**l2(0x86DD), **v6(nw_proto=44, nw_frag=3))
    else:
        want = expect(**l2(0x86DD), **v6(nw_proto=17, nw_frag=nw_frag, tp_src=1, tp_dst=2))
    check(frame, want)
    assert extract_with_offsets(bytes(frame), 1).l4_ofs == 62


def test_ipv6_bad_extension_header_keeps_addresses_only():
    addrs = {"ipv6_src": ip6(SRC6), "ipv6_dst": ip6(DST6)}
    for payload, nh in ((b"\x11" * 7, 0), (b"\x11\x05" + bytes(6), 0), (b"\x11\x04" + bytes(14), 51),
                        (b"\x11\x00" + bytes(4), 44)):
        frame = E / IPv6(src=SRC6, dst=DST6, tc=3, fl=9, nh=nh) / Raw(payload)
        assert extract_with_offsets(bytes(frame), 1) == Extracted(expect(**l2(0x86DD), **addrs), None, 14, None)


def test_ipv6_bad_header_keeps_l2_only():
    for frame in (bytes(E / IPv6(src=SRC6, dst=DST6, plen=100) / UDP()),
                  bytes(E / IPv6(src=SRC6, dst=DST6))[:53]):
        assert extract(frame, 1) == expect(**l2(0x86DD))
    # The payload length bounds parsing: a short one hides the UDP header, padding is ignored.
    assert extract(bytes(E / IPv6(src=SRC6, dst=DST6, plen=4) / UDP(sport=1, dport=2)), 1) == expect(
        **l2(0x86DD), ipv6_src=ip6(SRC6), ipv6_dst=ip6(DST6), nw_ttl=64, nw_proto=17)
    full = bytes(E / IP6 / UDP(sport=1, dport=2))
    assert extract(full + bytes(50), 1) == extract(full, 1)


# --- ARP ------------------------------------------------------------------------------------------------------

def test_arp_and_rarp():
    frame = E / ARP(op=2, hwsrc=MAC_A, psrc="10.0.0.1", hwdst="aa:bb:cc:dd:ee:ff", pdst="10.0.0.2")
    key = check(frame, expect(**l2(0x0806), nw_src=ip4("10.0.0.1"), nw_dst=ip4("10.0.0.2"), nw_proto=2,
                              arp_sha=MAC_A_INT, arp_tha=0xAABBCCDDEEFF))
    assert (fget(key, "arp_op"), fget(key, "arp_spa"), fget(key, "arp_tpa")) == (2, ip4("10.0.0.1"), ip4("10.0.0.2"))
    assert (fget(key, "arp_sha"), fget(key, "arp_tha")) == (MAC_A_INT, 0xAABBCCDDEEFF)
    assert extract_with_offsets(bytes(frame), 1)[1:] == (None, 14, None)
    rarp = Ether(src=MAC_A, dst=MAC_B, type=0x8035) / ARP(op=3, hwsrc=MAC_A, psrc="0.0.0.0", hwdst=MAC_A)
    check(rarp, expect(**l2(0x8035), nw_proto=3, arp_sha=MAC_A_INT, arp_tha=MAC_A_INT))


def test_arp_opcode_beyond_8_bits_and_bad_formats():
    check(E / ARP(op=0x1234, psrc="1.1.1.1", hwsrc=MAC_A),
          expect(**l2(0x0806), nw_src=ip4("1.1.1.1"), arp_sha=MAC_A_INT))
    for bad in (ARP(hwtype=6), ARP(ptype=0x86DD), ARP(hwlen=8), ARP(plen=16)):
        check(E / bad, expect(**l2(0x0806)))
    assert extract(bytes(E / ARP(psrc="1.1.1.1"))[:41], 1) == expect(**l2(0x0806))


# --- Against Open vSwitch: every prefix, and seeded mutations ------------------------------------------------

@pytest.fixture
def ovs_vlan_limit():
    old = X.get_vlan_limit()
    X.set_vlan_limit(DATA["vlan_limit"])
    yield
    X.set_vlan_limit(old)


@pytest.mark.parametrize("case", DATA["prefixes"], ids=[c["name"] for c in DATA["prefixes"]])
def test_every_prefix_as_ovs(case, ovs_vlan_limit):
    frame = bytes.fromhex(case["packet"])
    for first, last, line in case["runs"]:
        for n in range(first, last + 1):
            assert format_flow(extract(frame[:n], 1)) == line, n


def test_truncated_tcp_header_keeps_ipv4_fields_as_ovs():
    """The brief's example, as OVS shows it: the IP total length cuts the TCP header."""
    case = next(c for c in DATA["cases"] if c["name"] == "tcp-truncated")
    key = extract(bytes.fromhex(case["packet"]), 1)
    assert fget(key, "nw_src") == ip4("1.2.3.4") and fget(key, "nw_proto") == 6
    assert fget(key, "tp_src") == fget(key, "tp_dst") == fget(key, "tcp_flags") == 0
    assert format_flow(key) == case["line"]


def test_seeded_mutations_as_ovs(ovs_vlan_limit):
    for case in DATA["fuzz"]:
        assert format_flow(extract(bytes.fromhex(case["packet"]), 1)) == case["line"], case["packet"]


# --- Invariants on generated input ----------------------------------------------------------------------------

SEEDS = [bytes(p) for p in (
    E / IP4 / UDP(sport=1, dport=2) / Raw(b"abc"),
    E / Dot1AD(vlan=3) / Dot1Q(vlan=4) / IP4 / TCP(sport=1, dport=2, flags="S"),
    E / IP(src="1.2.3.4", dst="5.6.7.8", options=[IPOption_RR()]) / ICMP(),
    E / IP6 / IPv6ExtHdrHopByHop() / IPv6ExtHdrFragment(m=1) / UDP(sport=1, dport=2),
    E / IP6 / ICMPv6ND_NA(tgt="fe80::1") / ICMPv6NDOptSrcLLAddr(lladdr=MAC_A) / ICMPv6NDOptDstLLAddr(lladdr=MAC_B),
    E / ARP(psrc="1.1.1.1"),
    E / MPLS(label=3, s=0) / MPLS(label=4, s=1) / IP4,
    Dot3(src=MAC_A, dst=MAC_B) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x0800) / IP4 / SCTP(),
)]

MD = F.storage_put(F.storage_put(0, "pkt_mark", 0xA5A5), "tun_ipv6_src", 1 << 100)
IN_PORT_MASK = F.storage_mask("in_port")


def _invariants(frame: bytes) -> None:
    r = extract_with_offsets(frame, 7, MD)
    assert r.key == extract(frame, 7, MD) == extract(memoryview(frame), 7, MD)
    assert r.key & MD == MD and r.key & IN_PORT_MASK == 7
    assert r.key - MD - 7 == extract(frame, 0) & ~MD      # metadata never mixes with header fields
    assert r.key.bit_length() <= F.KEY_BITS
    # Offsets are ordered and inside the frame.
    seq = [o for o in (r.l2_5_ofs, r.l3_ofs, r.l4_ofs) if o is not None]
    assert seq == sorted(seq) and all(14 <= o <= len(frame) for o in seq)
    assert (r.l3_ofs is None) == (len(frame) < 14)
    assert F.storage_get(r.key, "packet_type") == 0


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_random_bytes_never_raise(frame):
    _invariants(frame)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 120), st.integers(0, 255)), max_size=6),
       st.integers(0, 300))
def test_mutated_frames_never_raise(seed, edits, cut):
    frame = bytearray(seed)
    for pos, value in edits:
        if pos < len(frame):
            frame[pos] = value
    _invariants(bytes(frame[:cut]))


@settings(max_examples=200)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 255), st.integers(0, 255),
       st.sampled_from([6, 17, 132, 1, 2]), st.binary(min_size=20, max_size=40), st.integers(0, 60))
def test_ipv4_truncation_inside_datagram_is_l2_only(src, dst, tos, ttl, proto, payload, pad):
    """Cutting a frame anywhere inside the IPv4 datagram fails the total-length check: only L2 remains.
    Padding after the datagram changes nothing."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + len(payload), 0, 0, ttl, proto, 0, src.to_bytes(4, "big"),
                     dst.to_bytes(4, "big"))
    frame = bytes(E)[:12] + b"\x08\x00" + ip + payload
    full = extract(frame, 1)
    assert fget(full, "nw_src") == src and fget(full, "nw_dst") == dst and fget(full, "nw_proto") == proto
    assert F.storage_get(full, "nw_tos") == tos and fget(full, "nw_ttl") == ttl
    assert extract(frame + b"\xee" * pad, 1) == full
    for n in range(14, len(frame)):
        assert extract(frame[:n], 1) == expect(**l2(0x0800))


@settings(max_examples=150)
@given(st.integers(0, 2**128 - 1), st.integers(0, 2**128 - 1), st.integers(0, 2**20 - 1), st.integers(0, 255),
       st.integers(0, 255), st.binary(min_size=8, max_size=30))
def test_ipv6_truncation_inside_datagram_is_l2_only(src, dst, label, tc, hlim, payload):
    hdr = struct.pack("!IHBB", (6 << 28) | (tc << 20) | label, len(payload), 17, hlim)
    frame = bytes(E)[:12] + b"\x86\xdd" + hdr + src.to_bytes(16, "big") + dst.to_bytes(16, "big") + payload
    full = extract(frame, 1)
    assert full == expect(**l2(0x86DD), ipv6_src=src, ipv6_dst=dst, ipv6_label=label, nw_tos=tc, nw_ttl=hlim,
                          nw_proto=17, tp_src=int.from_bytes(payload[:2], "big"),
                          tp_dst=int.from_bytes(payload[2:4], "big"))
    for n in range(14, len(frame)):
        assert extract(frame[:n], 1) == expect(**l2(0x86DD))


@settings(max_examples=100)
@given(st.sampled_from(SEEDS))
def test_identical_frames_identical_keys(seed):
    assert extract(bytes(bytearray(seed)), 3) == extract(seed, 3)
    assert hash(extract(seed, 3)) == hash(extract(bytes(seed), 3))
