"""Checksums against Scapy, RFC 1624 incremental updates against full recomputation, CRC32c known answers."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packet_helpers import ip4s, ip6s, payloads, s_ip4, s_ip6, u8, u16
from scapy.layers.inet import IP, in4_chksum
from scapy.layers.inet6 import IPv6, in6_chksum
from scapy.layers.sctp import crc32c as scapy_crc32c
from scapy.utils import checksum as scapy_checksum

from pyvswitch.packet import IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, ipv4, ipv6, parse_ipv4, tcp, udp
from pyvswitch.packet.checksum import (
    crc32c,
    csum_update16,
    csum_update32,
    csum_update_bytes,
    icmp4_checksum,
    icmp6_checksum,
    internet_checksum,
    ipv4_header_checksum,
    ipv4_header_checksum_ok,
    l4_checksum,
    l4_checksum_ok,
    ones_complement_sum,
    sctp_checksum,
    tcp_checksum,
    udp_checksum,
    udp_checksum_ok,
    udp_csum_update,
)
from pyvswitch.packet.icmp import icmp6

# Byte strings rich in the words that break naive one's-complement code (0x0000 and 0xffff).
tricky_bytes = st.lists(st.sampled_from([b"\x00\x00", b"\xff\xff", b"\x00\x01", b"\xff\xfe", b"\x80\x00"])
                        | st.binary(min_size=2, max_size=2), max_size=40).map(b"".join)
data = st.one_of(st.binary(max_size=200), tricky_bytes, tricky_bytes.map(lambda b: b + b"\x07"))


@settings(max_examples=300, deadline=None)
@given(data)
def test_internet_checksum_matches_scapy(buf: bytes) -> None:
    assert internet_checksum(buf) == scapy_checksum(buf)
    assert internet_checksum(memoryview(buf)) == scapy_checksum(buf)
    assert internet_checksum(bytearray(buf)) == scapy_checksum(buf)


@settings(max_examples=200, deadline=None)
@given(data, data)
def test_ones_complement_sum_composes(a: bytes, b: bytes) -> None:
    if len(a) % 2:
        a += b"\x00"
    assert ones_complement_sum(b, ones_complement_sum(a)) == ones_complement_sum(a + b)
    # A buffer with its own checksum appended (at an even offset) verifies to 0.
    assert internet_checksum(a + internet_checksum(a).to_bytes(2, "big")) == 0


def test_checksum_of_zeros() -> None:
    assert internet_checksum(b"") == 0xFFFF and internet_checksum(bytes(10)) == 0xFFFF
    assert internet_checksum(b"\xff\xff") == 0 and icmp4_checksum(bytes(8)) == 0xFFFF


@settings(max_examples=200, deadline=None)
@given(ip4s, ip4s, u8, u8, u16, st.binary(max_size=40).map(lambda b: b + bytes(-len(b) % 4)))
def test_ipv4_header_checksum(src: bytes, dst: bytes, ttl: int, proto: int, ident: int, options: bytes) -> None:
    header = ipv4(src, dst, proto, b"", ttl=ttl, ident=ident, options=options, csum=0x1234)
    expected = IP(header)
    del expected.chksum
    good = bytes(expected)
    assert ipv4_header_checksum(header) == int.from_bytes(good[10:12], "big") == ipv4_header_checksum(good)
    assert ipv4_header_checksum_ok(good) and not ipv4_header_checksum_ok(header)


segments = st.binary(min_size=20, max_size=120)


@settings(max_examples=200, deadline=None)
@given(ip4s, ip4s, segments, st.sampled_from([(IPPROTO_TCP, 16), (IPPROTO_UDP, 6)]))
def test_l4_checksum_ipv4_matches_scapy(src: bytes, dst: bytes, seg: bytes, proto_off: tuple[int, int]) -> None:
    proto, off = proto_off
    zeroed = seg[:off] + b"\x00\x00" + seg[off + 2 :]
    theirs = in4_chksum(proto, IP(src=s_ip4(src), dst=s_ip4(dst)), zeroed)
    assert l4_checksum(src, dst, proto, seg, off) == theirs
    fixed = seg[:off] + theirs.to_bytes(2, "big") + seg[off + 2 :]
    assert l4_checksum_ok(src, dst, proto, fixed)
    if proto == IPPROTO_TCP:
        assert tcp_checksum(src, dst, seg) == theirs
    else:
        assert udp_checksum(src, dst, seg) == (theirs or 0xFFFF)
        assert udp_checksum_ok(src, dst, fixed)


@settings(max_examples=200, deadline=None)
@given(ip6s, ip6s, segments, st.sampled_from([(IPPROTO_TCP, 16), (IPPROTO_UDP, 6), (IPPROTO_ICMPV6, 2)]))
def test_l4_checksum_ipv6_matches_scapy(src: bytes, dst: bytes, seg: bytes, proto_off: tuple[int, int]) -> None:
    proto, off = proto_off
    zeroed = seg[:off] + b"\x00\x00" + seg[off + 2 :]
    theirs = in6_chksum(proto, IPv6(src=s_ip6(src), dst=s_ip6(dst)), zeroed)
    assert l4_checksum(src, dst, proto, seg, off) == theirs
    assert l4_checksum_ok(src, dst, proto, seg[:off] + theirs.to_bytes(2, "big") + seg[off + 2 :])
    if proto == IPPROTO_ICMPV6:
        assert icmp6_checksum(src, dst, seg) == theirs


# RFC 1624 incremental updates.


def word(buf: bytes, off: int, n: int) -> bytes:
    return buf[off : off + n]


@settings(max_examples=300, deadline=None)
@given(ip4s, ip4s, ip4s, u16, u16, u16, payloads, st.booleans())
def test_rewrite_ipv4_address_and_port(src: bytes, dst: bytes, new_src: bytes, sport: int, dport: int,
                                       new_sport: int, payload: bytes, use_udp: bool) -> None:
    """What set_field:nw_src and tp_src do: fix the IPv4 header checksum and the TCP/UDP checksum."""
    if use_udp:
        seg = udp(sport, dport, payload, src_ip=src, dst_ip=dst)
        proto, csum_off = IPPROTO_UDP, 6
    else:
        seg = tcp(sport, dport, payload, src_ip=src, dst_ip=dst)
        proto, csum_off = IPPROTO_TCP, 16
    pkt = ipv4(src, dst, proto, seg)
    ip, l4 = parse_ipv4(pkt)

    new_ip_csum = csum_update_bytes(ip.csum, src, new_src)
    assert new_ip_csum == csum_update32(ip.csum, int.from_bytes(src, "big"), int.from_bytes(new_src, "big"))
    l4_csum = int.from_bytes(pkt[l4 + csum_off : l4 + csum_off + 2], "big")
    update = udp_csum_update if use_udp else csum_update_bytes
    l4_csum = update(l4_csum, src, new_src)
    l4_csum = update(l4_csum, sport.to_bytes(2, "big"), new_sport.to_bytes(2, "big"))
    if not use_udp:
        assert l4_csum == csum_update16(
            csum_update32(int.from_bytes(seg[16:18], "big"), int.from_bytes(src, "big"),
                          int.from_bytes(new_src, "big")), sport, new_sport)

    if use_udp:
        expected = udp(new_sport, dport, payload, src_ip=new_src, dst_ip=dst)
    else:
        expected = tcp(new_sport, dport, payload, src_ip=new_src, dst_ip=dst)
    full = ipv4(new_src, dst, proto, expected)
    assert new_ip_csum == int.from_bytes(full[10:12], "big")
    assert l4_csum == int.from_bytes(expected[csum_off : csum_off + 2], "big")


@settings(max_examples=100, deadline=None)
@given(ip4s, ip4s, ip4s, u16, payloads)
def test_udp_zero_checksum_stays_zero(src: bytes, dst: bytes, new_src: bytes, new_port: int, payload: bytes) -> None:
    dgram = udp(1, 2, payload)
    assert udp_csum_update(0, src, new_src) == 0
    assert udp_csum_update(0, b"\x00\x01", new_port.to_bytes(2, "big")) == 0
    assert dgram[6:8] == b"\x00\x00"


def test_udp_update_to_zero_becomes_ffff() -> None:
    # Checksum c over data; rewriting a word so that the new sum is 0xffff yields a computed 0, sent as 0xffff.
    src, dst = bytes((10, 0, 0, 1)), bytes((10, 0, 0, 2))
    dgram = udp(7, 9, b"\x12\x34", src_ip=src, dst_ip=dst)
    csum = int.from_bytes(dgram[6:8], "big")
    for w in range(0x10000):
        new = dgram[:8] + w.to_bytes(2, "big")
        if l4_checksum(src, dst, IPPROTO_UDP, new, 6) == 0:
            break
    updated = udp_csum_update(csum, dgram[8:10], new[8:10])
    assert updated == 0xFFFF == udp_checksum(src, dst, new)


@settings(max_examples=300, deadline=None)
@given(ip6s, ip6s, ip6s, payloads, st.sampled_from([IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6]), st.booleans())
def test_rewrite_ipv6_address(src: bytes, dst: bytes, new: bytes, payload: bytes, proto: int,
                              rewrite_dst: bool) -> None:
    """What set_field:ipv6_src/ipv6_dst do: there is no IPv6 header checksum, only the upper layer's."""
    def build(s: bytes, d: bytes) -> tuple[bytes, int]:
        if proto == IPPROTO_TCP:
            return tcp(1, 2, payload, src_ip=s, dst_ip=d), 16
        if proto == IPPROTO_UDP:
            return udp(1, 2, payload, src_ip=s, dst_ip=d), 6
        return icmp6(s, d, 128, 0, 0x10002, payload), 2

    seg, off = build(src, dst)
    csum = int.from_bytes(seg[off : off + 2], "big")
    old = dst if rewrite_dst else src
    update = udp_csum_update if proto == IPPROTO_UDP else csum_update_bytes
    updated = update(csum, old, new)
    expected, _ = build(src, new) if rewrite_dst else build(new, dst)
    assert updated == int.from_bytes(expected[off : off + 2], "big")
    full = ipv6(new, dst, proto, expected) if not rewrite_dst else ipv6(src, new, proto, expected)
    assert l4_checksum_ok(new if not rewrite_dst else src, dst if not rewrite_dst else new, proto, full[40:])


field_sizes = st.sampled_from([2, 4, 16])


@settings(max_examples=500, deadline=None)
@given(tricky_bytes | st.binary(max_size=80), st.integers(0, 40), field_sizes, st.data())
def test_incremental_equals_recompute_generic(body: bytes, pos: int, size: int, draw: st.DataObject) -> None:
    """Any 16-bit aligned field of any buffer that, like every real header, has a nonzero word elsewhere."""
    buf = b"\x45\x00" + body + bytes(-len(body) % 2)
    pos = 2 + 2 * (pos % max(1, (len(buf) - 2) // 2))
    if pos + size > len(buf):
        buf += bytes(pos + size - len(buf))
    new_value = draw.draw(st.sampled_from([bytes(size), b"\xff" * size]) | st.binary(min_size=size, max_size=size))
    csum = internet_checksum(buf)
    old_value = buf[pos : pos + size]
    new_buf = buf[:pos] + new_value + buf[pos + size :]
    expected = internet_checksum(new_buf)
    assert csum_update_bytes(csum, old_value, new_value) == expected
    if size == 2:
        assert csum_update16(csum, int.from_bytes(old_value, "big"), int.from_bytes(new_value, "big")) == expected
    if size == 4:
        assert csum_update32(csum, int.from_bytes(old_value, "big"), int.from_bytes(new_value, "big")) == expected


def test_ttl_decrement_updates_the_header_checksum() -> None:
    pkt = ipv4("192.168.0.1", "192.168.0.2", IPPROTO_UDP, bytes(8), ttl=64)
    ip, _ = parse_ipv4(pkt)
    updated = csum_update16(ip.csum, (64 << 8) | IPPROTO_UDP, (63 << 8) | IPPROTO_UDP)
    assert updated == ipv4_header_checksum(ipv4("192.168.0.1", "192.168.0.2", IPPROTO_UDP, bytes(8), ttl=63)[:20])


def test_rfc1624_example() -> None:
    # RFC 1624 section 4: the other words sum to 0xcd7a and a field changes from 0x5555 to 0x3285; equation 3
    # must give 0x0000, as full recomputation does (RFC 1141's equation gave 0xffff).
    assert csum_update16(0xDD2F, 0x5555, 0x3285) == 0x0000
    with pytest.raises(ValueError):
        csum_update_bytes(0, b"\x00", b"\x01")


# CRC32c.

RFC3720_VECTORS = [
    (bytes(32), bytes.fromhex("aa36918a")),
    (b"\xff" * 32, bytes.fromhex("43aba862")),
    (bytes(range(32)), bytes.fromhex("4e79dd46")),
    (bytes(range(31, -1, -1)), bytes.fromhex("5cdb3f11")),
    (bytes.fromhex("01c00000000000000000000000000000140000000000040000000014000000182800000000000000"
                   "0200000000000000"), bytes.fromhex("563a96d9")),
]


@pytest.mark.parametrize(("data", "wire"), RFC3720_VECTORS)
def test_crc32c_rfc3720_vectors(data: bytes, wire: bytes) -> None:
    # RFC 3720 B.4 lists the CRC as transmitted, least significant byte first.
    assert crc32c(data) == struct.unpack("<I", wire)[0]


def test_crc32c_check_value_and_continuation() -> None:
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"6789", crc32c(b"12345")) == 0xE3069283
    assert crc32c(b"") == 0


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=12, max_size=200))
def test_sctp_checksum_matches_scapy(packet: bytes) -> None:
    zeroed = packet[:8] + bytes(4) + packet[12:]
    assert sctp_checksum(packet) == struct.unpack("<I", struct.pack(">I", scapy_crc32c(zeroed)))[0]
