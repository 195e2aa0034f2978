"""TCP, UDP and SCTP, over IPv4 and IPv6, against Scapy both ways (checksums included)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packet_helpers import ip4s, ip6s, payloads, s_ip4, s_ip6, u16, u32
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.sctp import SCTP, SCTPChunkData, SCTPChunkInit
from scapy.packet import Packet, Raw

from pyvswitch.packet import (
    IPPROTO_SCTP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    TCP_ACK,
    TCP_NS,
    TCP_SYN,
    Malformed,
    ipv4,
    ipv6,
    parse_ipv4,
    parse_ipv6,
    parse_sctp,
    parse_tcp,
    parse_udp,
    sctp,
    sctp_chunk,
    sctp_chunks,
    tcp,
    udp,
)
from pyvswitch.packet.checksum import l4_checksum, sctp_checksum, sctp_checksum_ok, udp_checksum_ok

addr_pairs = st.one_of(st.tuples(ip4s, ip4s), st.tuples(ip6s, ip6s))

TCP_OPTIONS = [
    ([], b""),
    ([("MSS", 1460)], b"\x02\x04\x05\xb4"),
    ([("MSS", 1460), ("NOP", None), ("WScale", 7), ("SAckOK", b"")], b"\x02\x04\x05\xb4\x01\x03\x03\x07\x04\x02"),
    ([("Timestamp", (1, 2))], b"\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x02"),
]


def ip_layer(src: bytes, dst: bytes) -> Packet:
    if len(src) == 4:
        return IP(src=s_ip4(src), dst=s_ip4(dst), id=0)
    return IPv6(src=s_ip6(src), dst=s_ip6(dst))


def wrap(src: bytes, dst: bytes, proto: int, seg: bytes) -> tuple[bytes, int]:
    """Our IP packet around ``seg`` and the offset of ``seg`` in it."""
    if len(src) == 4:
        return ipv4(src, dst, proto, seg), 20
    return ipv6(src, dst, proto, seg), 40


@settings(max_examples=100, deadline=None)
@given(addr_pairs, u16, u16, u32, u32, st.integers(0, 0xFFF), u16, u16, st.sampled_from(TCP_OPTIONS), payloads)
def test_tcp_both_ways(addrs: tuple[bytes, bytes], sport: int, dport: int, seq: int, ack: int, flags: int,
                       window: int, urg: int, options: tuple[list, bytes], payload: bytes) -> None:
    src, dst = addrs
    scapy_opts, raw_opts = options
    theirs = bytes(ip_layer(src, dst) / TCP(sport=sport, dport=dport, seq=seq, ack=ack, reserved=flags >> 9,
                                            flags=flags & 0x1FF, window=window, urgptr=urg, options=scapy_opts)
                   / Raw(payload))
    seg = tcp(sport, dport, payload, seq=seq, ack=ack, flags=flags, window=window, urg_ptr=urg, options=raw_opts,
              src_ip=src, dst_ip=dst)
    ours, l4 = wrap(src, dst, IPPROTO_TCP, seg)
    assert ours == theirs  # Data offset, padding of the options and the checksum included.
    t, off = parse_tcp(theirs, l4)
    padded = raw_opts + bytes(-len(raw_opts) % 4)
    assert (t.src_port, t.dst_port, t.seq, t.ack, t.flags, t.window, t.urg_ptr) == (
        sport, dport, seq, ack, flags, window, urg)
    assert t.options == padded and t.data_offset == 5 + len(padded) // 4 and off == l4 + t.header_length
    assert t.csum == (IP(theirs) if len(src) == 4 else IPv6(theirs))[TCP].chksum
    assert theirs[off:] == payload


def test_tcp_ns_flag_and_bad_offsets() -> None:
    seg = tcp(1, 2, flags=TCP_NS | TCP_ACK | TCP_SYN)
    assert parse_tcp(seg)[0].flags == 0x112
    assert int(TCP(seg).flags) == 0x112
    for doff in (0, 4, 6):  # Too small, too small, options past the end.
        with pytest.raises(Malformed):
            parse_tcp(seg[:12] + bytes(((doff << 4) | 1,)) + seg[13:])
    for n in range(20):
        with pytest.raises(Malformed):
            parse_tcp(seg[:n])


@settings(max_examples=100, deadline=None)
@given(addr_pairs, u16, u16, payloads)
def test_udp_both_ways(addrs: tuple[bytes, bytes], sport: int, dport: int, payload: bytes) -> None:
    src, dst = addrs
    theirs = bytes(ip_layer(src, dst) / UDP(sport=sport, dport=dport) / Raw(payload))
    ours, l4 = wrap(src, dst, IPPROTO_UDP, udp(sport, dport, payload, src_ip=src, dst_ip=dst))
    assert ours == theirs
    u, off = parse_udp(theirs, l4)
    assert (u.src_port, u.dst_port, u.length, off) == (sport, dport, 8 + len(payload), l4 + 8)
    assert u.csum == (IP(theirs) if len(src) == 4 else IPv6(theirs))[UDP].chksum
    assert udp_checksum_ok(src, dst, theirs[l4:])


def test_udp_checksum_zero_is_sent_as_ffff() -> None:
    src, dst = bytes((10, 0, 0, 1)), bytes((10, 0, 0, 2))
    # Find a payload word that makes the raw checksum 0: the sum moves by one per increment of the word.
    base = udp(1000, 2000, b"\x00\x00", src_ip=src, dst_ip=dst, csum=0)
    for w in range(0x10000):
        dgram = base[:8] + w.to_bytes(2, "big")
        if l4_checksum(src, dst, IPPROTO_UDP, dgram, 6) == 0:
            break
    else:
        raise AssertionError("no payload gives checksum 0")
    ours = udp(1000, 2000, dgram[8:], src_ip=src, dst_ip=dst)
    assert ours[6:8] == b"\xff\xff"
    assert bytes(IP(src="10.0.0.1", dst="10.0.0.2", id=0) / UDP(sport=1000, dport=2000) / Raw(dgram[8:]))[20:] == ours
    assert udp_checksum_ok(src, dst, ours)


def test_udp_without_addresses_has_no_checksum() -> None:
    dgram = udp(1, 2, b"abc")
    assert dgram[6:8] == b"\x00\x00" and udp_checksum_ok(bytes(4), bytes(4), dgram)
    assert not udp_checksum_ok(bytes(16), bytes(16), dgram)  # Zero is not "none" over IPv6.
    for n in range(8):
        with pytest.raises(Malformed):
            parse_udp(dgram[:n])


# SCTP.


def scapy_csum(wire_value: int) -> int:
    """Scapy shows the SCTP checksum field read big-endian; ours is the CRC32c value (sent little-endian)."""
    return int.from_bytes(wire_value.to_bytes(4, "big"), "little")


@settings(max_examples=50, deadline=None)
@given(u16, u16, u32, u32, st.binary(max_size=40))
def test_sctp_from_scapy(sport: int, dport: int, vtag: int, tsn: int, data: bytes) -> None:
    pkt = SCTP(sport=sport, dport=dport, tag=vtag) / SCTPChunkData(tsn=tsn, stream_id=1, stream_seq=2, proto_id=3,
                                                                   data=data)
    theirs = bytes(pkt)
    s, off = parse_sctp(theirs)
    assert (s.src_port, s.dst_port, s.vtag, off) == (sport, dport, vtag, 12)
    assert s.csum == scapy_csum(SCTP(theirs).chksum) == sctp_checksum(theirs)
    assert sctp_checksum_ok(theirs)
    (chunk,) = sctp_chunks(theirs, off)
    assert chunk.type == 0 and chunk.data[:4] == tsn.to_bytes(4, "big") and chunk.data[12:] == data


@settings(max_examples=50, deadline=None)
@given(u16, u16, u32, u32, st.binary(max_size=40))
def test_sctp_to_scapy(sport: int, dport: int, vtag: int, tsn: int, data: bytes) -> None:
    body = tsn.to_bytes(4, "big") + b"\x00\x01\x00\x02\x00\x00\x00\x03" + data
    ours = sctp(sport, dport, sctp_chunk(0, 3, body), vtag=vtag)
    pkt = SCTP(ours)
    assert (pkt.sport, pkt.dport, pkt.tag) == (sport, dport, vtag)
    chunk = pkt[SCTPChunkData]
    assert (chunk.tsn, chunk.stream_id, chunk.stream_seq, chunk.proto_id, bytes(chunk.data or b"")) == (tsn, 1, 2, 3, data)
    assert (chunk.beginning, chunk.ending) == (1, 1)
    wire = pkt.chksum
    pkt.chksum = None
    assert SCTP(bytes(pkt)).chksum == wire
    # The same packet inside IPv4 and IPv6, dissected from the IP layer.
    for src, dst in ((b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02"), (bytes(15) + b"\x01", bytes(15) + b"\x02")):
        whole, l4 = wrap(src, dst, IPPROTO_SCTP, ours)
        proto = parse_ipv4(whole)[0].proto if len(src) == 4 else parse_ipv6(whole)[0].proto
        assert proto == IPPROTO_SCTP and parse_sctp(whole, l4)[0].csum == sctp_checksum(ours)


def test_sctp_chunks_multiple_and_bad() -> None:
    init = bytes(SCTPChunkInit(init_tag=5))
    chunks = init + sctp_chunk(0xC0, 0, b"x")  # A chunk needing padding.
    pkt = sctp(1, 2, chunks)
    parsed = sctp_chunks(pkt, 12)
    assert [c.type for c in parsed] == [1, 0xC0] and parsed[1].data == b"x"
    with pytest.raises(Malformed):
        sctp_chunks(pkt[:-4], 12)  # The padded last chunk cut.
    with pytest.raises(Malformed):
        sctp_chunks(pkt + b"\x00\x00\x00\x02", 12)  # Length < 4.
    with pytest.raises(Malformed):
        parse_sctp(pkt[:11])
