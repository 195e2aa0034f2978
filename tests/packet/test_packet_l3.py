"""IPv4, IPv6 with extension headers, ICMPv4, ICMPv6 and neighbour discovery, against Scapy both ways."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packet_helpers import ip4s, ip6s, macs, payloads, s_ip4, s_ip6, s_mac, u8, u16, u32
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.inet6 import (
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6ND_RA,
    ICMPv6ND_Redirect,
    ICMPv6ND_RS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptMTU,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptRedirectedHdr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    RouterAlert,
)
from scapy.layers.ipsec import AH
from scapy.packet import Packet, Raw

from pyvswitch.packet import (
    IPPROTO_AH,
    IPPROTO_DSTOPTS,
    IPPROTO_FRAGMENT,
    IPPROTO_HOPOPTS,
    IPPROTO_ICMPV6,
    IPPROTO_ROUTING,
    IPPROTO_TCP,
    IPPROTO_UDP,
    IPV4_DF,
    IPV4_MF,
    ND_NA_OVERRIDE,
    ND_NA_ROUTER,
    ND_NA_SOLICITED,
    ND_NEIGHBOR_ADVERT,
    ND_NEIGHBOR_SOLICIT,
    ND_OPT_SOURCE_LINKADDR,
    ND_OPT_TARGET_LINKADDR,
    Malformed,
    NdOption,
    icmp4,
    icmp4_echo,
    icmp6,
    icmp6_echo,
    ipv4,
    ipv4_options,
    ipv6,
    ipv6_frag_body,
    ipv6_options,
    ipv6_opts_body,
    ipv6_routing_body,
    is_nd,
    nd_na,
    nd_ns,
    nd_option,
    nd_rs,
    parse_icmp4,
    parse_icmp6,
    parse_ipv4,
    parse_ipv6,
    parse_nd,
    parse_udp,
    udp,
)

# Valid IPv4 option areas (already padded to 4 bytes): none, router alert, NOP + record route, timestamp.
IPV4_OPTIONS = [
    b"",
    b"\x94\x04\x00\x00",
    b"\x01\x07\x07\x04\x0a\x00\x00\x01",
    b"\x44\x0c\x05\x00" + bytes(8),
]


@settings(max_examples=100, deadline=None)
@given(ip4s, ip4s, u8, u8, u16, st.integers(0, 7), st.integers(0, 0x1FFF), u8, st.sampled_from(IPV4_OPTIONS),
       payloads)
def test_ipv4_both_ways(src: bytes, dst: bytes, proto: int, tos: int, ident: int, flags: int, frag: int, ttl: int,
                        options: bytes, payload: bytes) -> None:
    theirs = bytes(IP(src=s_ip4(src), dst=s_ip4(dst), proto=proto, tos=tos, id=ident, flags=flags, frag=frag,
                      ttl=ttl, options=[Raw(options)] if options else []) / Raw(payload))
    ours = ipv4(src, dst, proto, payload, ttl=ttl, tos=tos, ident=ident, flags=flags, frag_off=frag,
                options=options)
    assert ours == theirs  # Lengths and checksum included.
    ip, off = parse_ipv4(theirs)
    assert (ip.src, ip.dst, ip.proto, ip.tos, ip.ident, ip.flags, ip.frag_off, ip.ttl) == (
        src, dst, proto, tos, ident, flags, frag, ttl)
    assert ip.ihl == 5 + len(options) // 4 and ip.options == options
    assert ip.total_length == len(theirs) and off == ip.header_length
    assert ip.csum == IP(theirs).chksum
    assert ip.df == bool(flags & IPV4_DF) and ip.mf == bool(flags & IPV4_MF)
    assert ip.is_later_fragment == (frag != 0) and ip.is_fragment == (frag != 0 or bool(flags & IPV4_MF))
    pkt = IP(ours)
    assert (pkt.src, pkt.dst, pkt.proto, pkt.id, int(pkt.flags), pkt.frag) == (
        s_ip4(src), s_ip4(dst), proto, ident, flags, frag)


def test_ipv4_options_split() -> None:
    assert ipv4_options(b"\x01\x07\x07\x04\x0a\x00\x00\x01") == ((1, b""), (7, b"\x04\x0a\x00\x00\x01"))
    assert ipv4_options(b"\x94\x04\x00\x00\x00\x55") == ((0x94, b"\x00\x00"),)
    for bad in (b"\x07", b"\x07\x01", b"\x07\x09\x00"):
        with pytest.raises(Malformed):
            ipv4_options(bad)


def test_ipv4_sanity_checks() -> None:
    good = ipv4("10.0.0.1", "10.0.0.2", IPPROTO_UDP, b"12345678")
    parse_ipv4(good + b"\x00" * 10)  # Ethernet padding after the total length is fine.
    cases = [
        good[:19],  # Truncated header.
        b"\x65" + good[1:],  # Version 6.
        b"\x44" + good[1:],  # IHL 4.
        b"\x48" + good[1:],  # IHL 8: a 32-byte header in a 28-byte datagram.
        good[:2] + (19).to_bytes(2, "big") + good[4:],  # Total length < header.
        good[:-1],  # Total length past the end.
    ]
    for case in cases:
        with pytest.raises(Malformed):
            parse_ipv4(case)
    # An ICMP error quotes the first bytes of a datagram: the length check can be relaxed.
    ip, off = parse_ipv4(good[:24], check_length=False)
    assert ip.total_length == 28 and off == 20


# IPv6.


def scapy_ext(kind: int, index: int, next_kind: int) -> Packet:
    if kind == IPPROTO_HOPOPTS:
        return IPv6ExtHdrHopByHop(options=[RouterAlert()])
    if kind == IPPROTO_DSTOPTS:
        return IPv6ExtHdrDestOpt()
    if kind == IPPROTO_ROUTING:
        return IPv6ExtHdrRouting(addresses=[f"2001:db8::{index + 1}"], segleft=0)
    if kind == IPPROTO_FRAGMENT:
        return IPv6ExtHdrFragment(offset=0, m=1, id=0x1234 + index)
    # Scapy neither chains AH's next header nor checksums an upper layer behind it: set the former here and
    # check the checksum separately.
    return AH(nh=next_kind, payloadlen=4, spi=index + 1, seq=7, icv=bytes(12))


def ours_ext(kind: int, index: int) -> tuple[int, bytes]:
    if kind == IPPROTO_HOPOPTS:
        return kind, ipv6_opts_body([(5, b"\x00\x00")])
    if kind == IPPROTO_DSTOPTS:
        return kind, ipv6_opts_body()
    if kind == IPPROTO_ROUTING:
        import socket

        return kind, ipv6_routing_body(0, 0, bytes(4) + socket.inet_pton(socket.AF_INET6, f"2001:db8::{index + 1}"))
    if kind == IPPROTO_FRAGMENT:
        return kind, ipv6_frag_body(0, True, 0x1234 + index)
    return kind, (0).to_bytes(2, "big") + (index + 1).to_bytes(4, "big") + (7).to_bytes(4, "big") + bytes(12)


ext_kinds = st.lists(st.sampled_from([IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_FRAGMENT,
                                      IPPROTO_AH]), max_size=5)


@settings(max_examples=100, deadline=None)
@given(ip6s, ip6s, u8, st.integers(0, 0xFFFFF), u8, ext_kinds, u16, u16, payloads)
def test_ipv6_both_ways(src: bytes, dst: bytes, tc: int, fl: int, hlim: int, kinds: list[int], sport: int,
                        dport: int, payload: bytes) -> None:
    pkt = IPv6(src=s_ip6(src), dst=s_ip6(dst), tc=tc, fl=fl, hlim=hlim)
    for i, kind in enumerate(kinds):
        pkt = pkt / scapy_ext(kind, i, (kinds[1:] + [IPPROTO_UDP])[i])
    theirs = bytes(pkt / UDP(sport=sport, dport=dport) / Raw(payload))
    dgram = udp(sport, dport, payload, src_ip=src, dst_ip=dst)
    ours = ipv6(src, dst, IPPROTO_UDP, dgram, hlim, tc, fl, [ours_ext(k, i) for i, k in enumerate(kinds)])
    assert ours[-len(dgram):] == bytes(IPv6(src=s_ip6(src), dst=s_ip6(dst)) / UDP(sport=sport, dport=dport)
                                       / Raw(payload))[40:]
    if IPPROTO_AH in kinds:
        theirs = theirs[: -len(dgram)] + dgram
    assert ours == theirs  # Lengths and the next-header chain included.

    ip, off = parse_ipv6(theirs)
    assert (ip.src, ip.dst, ip.tc, ip.flow_label, ip.hop_limit) == (src, dst, tc, fl, hlim)
    assert ip.payload_length == len(theirs) - 40
    assert ip.next_header == (kinds[0] if kinds else IPPROTO_UDP) and ip.proto == IPPROTO_UDP
    assert [e.kind for e in ip.exts] == kinds
    assert [e.next_header for e in ip.exts] == (kinds[1:] + [IPPROTO_UDP] if kinds else [])
    frags = [i for i, k in enumerate(kinds) if k == IPPROTO_FRAGMENT]
    if frags:
        assert ip.frag is not None and ip.frag.ident == 0x1234 + frags[-1] and ip.frag.more == 1
        assert ip.is_fragment and not ip.is_later_fragment
    else:
        assert ip.frag is None and not ip.is_fragment
    for e in ip.exts:
        if e.kind == IPPROTO_HOPOPTS:
            assert ipv6_options(e.data) == ((5, b"\x00\x00"),)
        if e.kind == IPPROTO_ROUTING:
            assert e.routing_type == 0 and e.segments_left == 0
    u, _ = parse_udp(theirs, off)
    assert (u.src_port, u.dst_port) == (sport, dport)
    assert theirs[off + 8 :] == payload


def test_ipv6_later_fragment_stops_the_walk() -> None:
    theirs = bytes(IPv6(src="::1", dst="::2") / IPv6ExtHdrHopByHop() / IPv6ExtHdrFragment(nh=6, offset=100, id=9)
                   / Raw(b"\x3c\x00\x00\x00middle of a datagram"))
    ip, off = parse_ipv6(theirs)
    assert ip.proto == IPPROTO_TCP and ip.is_later_fragment and ip.frag is not None
    assert (ip.frag.offset, ip.frag.more, ip.frag.ident, ip.frag.next_header) == (100, 0, 9, IPPROTO_TCP)
    assert off == 40 + 8 + 8
    ours = ipv6("::1", "::2", IPPROTO_TCP, b"\x3c\x00\x00\x00middle of a datagram",
                exts=[(IPPROTO_HOPOPTS, ipv6_opts_body()), (IPPROTO_FRAGMENT, ipv6_frag_body(100, False, 9))])
    assert ours == theirs


def test_ipv6_sanity_checks() -> None:
    good = ipv6("::1", "::2", IPPROTO_UDP, bytes(8), exts=[(IPPROTO_DSTOPTS, ipv6_opts_body([(0x1E, bytes(12))]))])
    parse_ipv6(good + bytes(6))  # Link-layer padding.
    for case in (good[:39], b"\x40" + good[1:], good[:-1]):
        with pytest.raises(Malformed):
            parse_ipv6(case)
    # An extension header that claims more than the payload length is malformed even if the buffer is longer.
    short_plen = good[:4] + (8).to_bytes(2, "big") + good[6:]
    with pytest.raises(Malformed):
        parse_ipv6(short_plen)
    ip, off = parse_ipv6(short_plen, check_length=False)
    assert ip.proto == IPPROTO_UDP and off == 40 + 16


def test_ipv6_options() -> None:
    body = ipv6_opts_body([(0xC2, b"\x00\x01\x00\x00"), (0x05, b"\x00\x00")])
    assert (len(body) + 2) % 8 == 0
    assert ipv6_options(body) == ((0xC2, b"\x00\x01\x00\x00"), (5, b"\x00\x00"))
    assert ipv6_options(b"\x00\x01\x00") == ()
    with pytest.raises(Malformed):
        ipv6_options(b"\x05\x04\x00")


# ICMPv4.


@settings(max_examples=50, deadline=None)
@given(u16, u16, payloads, st.booleans())
def test_icmp4_echo_both_ways(ident: int, seq: int, payload: bytes, reply: bool) -> None:
    theirs = bytes(ICMP(type=0 if reply else 8, id=ident, seq=seq) / Raw(payload))
    assert icmp4_echo(ident, seq, payload, reply) == theirs
    msg, off = parse_icmp4(theirs)
    assert (msg.type, msg.code, msg.ident, msg.seq, off) == (0 if reply else 8, 0, ident, seq, 8)
    assert msg.csum == ICMP(theirs).chksum


@settings(max_examples=50, deadline=None)
# Scapy gives timestamp, address-mask and domain-name messages extra mandatory fields; leave them out.
@given(u8.filter(lambda t: t not in (13, 14, 17, 18, 37, 38)), u8, u32, payloads)
def test_icmp4_generic(icmp_type: int, code: int, rest: int, payload: bytes) -> None:
    ours = icmp4(icmp_type, code, rest, payload)
    msg, _ = parse_icmp4(ours)
    assert (msg.type, msg.code, msg.rest) == (icmp_type, code, rest.to_bytes(4, "big"))
    pkt = ICMP(ours)
    assert (pkt.type, pkt.code) == (icmp_type, code)
    del pkt.chksum
    assert bytes(pkt) == ours


def test_icmp4_unreach_with_quoted_header() -> None:
    inner = bytes(IP(src="10.0.0.2", dst="10.0.0.1") / UDP(sport=1, dport=2))
    theirs = bytes(IP(src="10.0.0.9", dst="10.0.0.2") / ICMP(type=3, code=4, nexthopmtu=1400) / Raw(inner[:28]))
    _outer, off = parse_ipv4(theirs)
    msg, off = parse_icmp4(theirs, off)
    assert (msg.type, msg.code, int.from_bytes(msg.rest[2:], "big")) == (3, 4, 1400)
    quoted, off = parse_ipv4(theirs, off, check_length=False)
    assert quoted.src == bytes((10, 0, 0, 2)) and parse_udp(theirs, off)[0].dst_port == 2
    assert bytes(IP(theirs)[ICMP]) == icmp4(3, 4, 1400, inner[:28])


# ICMPv6 and neighbour discovery.

SRC6 = "fe80::1"
DST6 = "fe80::2"
TGT6 = "2001:db8::5"


@settings(max_examples=50, deadline=None)
@given(ip6s, ip6s, u16, u16, payloads)
def test_icmp6_echo_both_ways(src: bytes, dst: bytes, ident: int, seq: int, payload: bytes) -> None:
    theirs = bytes(IPv6(src=s_ip6(src), dst=s_ip6(dst)) / ICMPv6EchoRequest(id=ident, seq=seq, data=payload))
    ours = ipv6(src, dst, IPPROTO_ICMPV6, icmp6_echo(src, dst, ident, seq, payload))
    assert ours == theirs
    msg, off = parse_icmp6(theirs, 40)
    assert (msg.type, msg.code, msg.ident, msg.seq, off) == (128, 0, ident, seq, 48)
    assert not is_nd(msg)


@settings(max_examples=50, deadline=None)
@given(ip6s, ip6s, ip6s, st.none() | macs)
def test_nd_ns_both_ways(src: bytes, dst: bytes, target: bytes, sll: bytes | None) -> None:
    icmp = ICMPv6ND_NS(tgt=s_ip6(target))
    if sll is not None:
        icmp = icmp / ICMPv6NDOptSrcLLAddr(lladdr=s_mac(sll))
    theirs = bytes(IPv6(src=s_ip6(src), dst=s_ip6(dst), hlim=255) / icmp)
    ours = ipv6(src, dst, IPPROTO_ICMPV6, nd_ns(src, dst, target, sll), 255)
    assert ours == theirs
    msg, _ = parse_icmp6(theirs, 40)
    assert msg.type == ND_NEIGHBOR_SOLICIT and is_nd(msg)
    nd = parse_nd(theirs, 40)
    assert nd.target == target and nd.sll == sll and nd.tll is None and nd.dest is None
    assert nd.options == ((NdOption(ND_OPT_SOURCE_LINKADDR, sll),) if sll else ())


@settings(max_examples=50, deadline=None)
@given(ip6s, ip6s, ip6s, st.none() | macs, st.booleans(), st.booleans(), st.booleans())
def test_nd_na_both_ways(src: bytes, dst: bytes, target: bytes, tll: bytes | None, r: bool, s: bool,
                         o: bool) -> None:
    icmp = ICMPv6ND_NA(tgt=s_ip6(target), R=r, S=s, O=o)
    if tll is not None:
        icmp = icmp / ICMPv6NDOptDstLLAddr(lladdr=s_mac(tll))
    theirs = bytes(IPv6(src=s_ip6(src), dst=s_ip6(dst), hlim=255) / icmp)
    flags = (ND_NA_ROUTER if r else 0) | (ND_NA_SOLICITED if s else 0) | (ND_NA_OVERRIDE if o else 0)
    ours = ipv6(src, dst, IPPROTO_ICMPV6, nd_na(src, dst, target, tll, flags), 255)
    assert ours == theirs
    msg, _ = parse_icmp6(theirs, 40)
    assert msg.type == ND_NEIGHBOR_ADVERT and msg.nd_flags == flags
    nd = parse_nd(theirs, 40)
    assert nd.target == target and nd.tll == tll and nd.sll is None


def test_nd_rs_ra_redirect_options() -> None:
    mac1 = "00:11:22:33:44:55"
    rs = bytes(IPv6(src=SRC6, dst="ff02::2") / ICMPv6ND_RS() / ICMPv6NDOptSrcLLAddr(lladdr=mac1))
    assert rs == ipv6(SRC6, "ff02::2", IPPROTO_ICMPV6, nd_rs(SRC6, "ff02::2", mac1), 255)
    nd = parse_nd(rs, 40)
    assert nd.target is None and nd.sll == bytes.fromhex("001122334455")

    ra_icmp = (ICMPv6ND_RA(chlim=64, routerlifetime=1800) / ICMPv6NDOptPrefixInfo(prefix="2001:db8::")
               / ICMPv6NDOptMTU(mtu=1500) / ICMPv6NDOptSrcLLAddr(lladdr=mac1))
    ra = bytes(IPv6(src=SRC6, dst="ff02::1") / ra_icmp)
    nd = parse_nd(ra, 40)
    assert [o.type for o in nd.options] == [3, 5, 1]
    assert nd.options[0].data == bytes(ra_icmp[ICMPv6NDOptPrefixInfo])[2:32]
    assert nd.options[1].data == bytes(ra_icmp[ICMPv6NDOptMTU])[2:8]
    assert nd.sll == bytes.fromhex("001122334455") and nd.target is None
    msg, _ = parse_icmp6(ra, 40)
    assert msg.rest[0] == 64 and int.from_bytes(msg.rest[2:], "big") == 1800
    body = bytes(ra_icmp)[4:16] + b"".join(nd_option(o.type, o.data) for o in nd.options)
    assert ipv6(SRC6, "ff02::1", IPPROTO_ICMPV6, icmp6(SRC6, "ff02::1", 134, 0, body[:4], body[4:]), 255) == ra

    quoted = bytes(IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP())
    redirect = bytes(IPv6(src=SRC6, dst=DST6) / ICMPv6ND_Redirect(tgt=TGT6, dst="2001:db8::2")
                     / ICMPv6NDOptDstLLAddr(lladdr=mac1) / ICMPv6NDOptRedirectedHdr(pkt=quoted))
    nd = parse_nd(redirect, 40)
    assert nd.target is not None and s_ip6(nd.target) == TGT6
    assert nd.dest is not None and s_ip6(nd.dest) == "2001:db8::2"
    assert nd.tll == bytes.fromhex("001122334455")
    assert [o.type for o in nd.options] == [2, 4] and nd.options[1].data[6:] == quoted


def test_nd_invalid() -> None:
    ns = nd_ns(SRC6, DST6, TGT6, "00:00:00:00:00:01")
    with pytest.raises(Malformed):
        parse_nd(ns[:23])  # Target truncated.
    with pytest.raises(Malformed):
        parse_nd(ns[:25] + b"\x00" + ns[26:])  # Option length 0.
    with pytest.raises(Malformed):
        parse_nd(ns[:25] + b"\x02" + ns[26:])  # Option past the end.
    with pytest.raises(Malformed):
        parse_nd(icmp6(SRC6, DST6, 128))  # Not ND.
    # Trailing bytes shorter than any option are ignored, as OVS does; a non-Ethernet SLL is kept generic only.
    assert parse_nd(ns + bytes(7)).sll == bytes.fromhex("000000000001")
    odd = parse_nd(nd_ns(SRC6, DST6, TGT6, options=[nd_option(ND_OPT_SOURCE_LINKADDR, bytes(8))]))
    assert odd.sll is None and odd.options[0].type == ND_OPT_SOURCE_LINKADDR
    # The first SLL/TLL is reported; every option stays visible for callers that reject duplicates.
    twice = parse_nd(nd_na(SRC6, DST6, TGT6, "00:00:00:00:00:01",
                           options=[nd_option(ND_OPT_TARGET_LINKADDR, bytes.fromhex("000000000002"))]))
    assert twice.tll == bytes.fromhex("000000000001") and len(twice.options) == 2
    # The end bound (the IPv6 payload end) is honoured.
    assert parse_nd(ns + bytes(8), 0, len(ns)).options == (NdOption(1, bytes.fromhex("000000000001")),)


def test_nd_code_must_be_zero() -> None:
    msg, _ = parse_icmp6(icmp6(SRC6, DST6, ND_NEIGHBOR_SOLICIT, 1, 0, bytes(16)))
    assert not is_nd(msg)


def test_icmp_truncated() -> None:
    for n in range(8):
        with pytest.raises(Malformed):
            parse_icmp4(bytes(n))
        with pytest.raises(Malformed):
            parse_icmp6(bytes(n))
    assert parse_icmp4(bytes(8))[0].type == 0
