"""IPv4 fragmentation and reassembly (against Scapy and a reference of random orders), the limits that keep a
flood of fragments from exhausting memory, and the ICMP "too big" errors."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, UDP, IPerror, fragment
from scapy.layers.inet6 import ICMPv6PacketTooBig, IPv6
from scapy.layers.l2 import Dot1Q, Ether

from pyvswitch.packet.checksum import ipv4_header_checksum, ipv4_header_checksum_ok
from pyvswitch.packet.ipfrag import (
    FRAGMENT_COST,
    Reassembler,
    fragment_ipv4,
    icmp4_frag_needed,
    icmp6_packet_too_big,
    is_ipv4_fragment,
)


def datagram(size: int, ident: int = 7, options: bytes = b"", df: bool = False) -> bytes:
    pkt = IP(src="10.0.0.1", dst="10.0.0.2", id=ident, flags="DF" if df else 0, options=options) / UDP(
        sport=1, dport=2) / bytes(i & 0xFF for i in range(size))
    return bytes(pkt)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_fragments_match_scapy() -> None:
    pkt = datagram(3000)
    frags = fragment_ipv4(pkt, 1500)
    want = [bytes(f) for f in fragment(IP(pkt), fragsize=1480)]
    assert frags == want
    assert all(len(f) <= 1500 and ipv4_header_checksum_ok(f[:20]) for f in frags)
    assert fragment_ipv4(pkt, 3028) == [pkt]
    assert is_ipv4_fragment(frags[0]) and is_ipv4_fragment(frags[-1]) and not is_ipv4_fragment(pkt)


def test_options_copied_only_when_their_copy_bit_is_set() -> None:
    # Record route (type 7, not copied) and a security-like option with the copied bit (type 0x82).
    opts = bytes([7, 7, 4, 0, 0, 0, 0]) + bytes([0x82, 4, 1, 2]) + bytes([1])
    pkt = datagram(200, options=opts)
    frags = fragment_ipv4(pkt, 100)
    assert frags[0][20:(frags[0][0] & 15) * 4] == opts
    for f in frags[1:]:
        hlen = (f[0] & 15) * 4
        assert f[20:hlen] == bytes([0x82, 4, 1, 2]) and ipv4_header_checksum_ok(f[:hlen])
    r = Reassembler()
    out = [r.add(f) for f in frags]
    assert out[-1] is not None and out[-1][len(opts) + 20:] == pkt[len(opts) + 20:]


def test_a_malformed_option_list_is_not_copied_into_later_fragments() -> None:
    # A copied option, then one whose length runs past the end: the first fragment keeps the header as it came.
    opts = bytes([0x82, 4, 1, 2]) + bytes([0x83, 9, 0, 0])
    pkt = datagram(200, options=opts)
    frags = fragment_ipv4(pkt, 100)
    assert frags[0][20:28] == opts
    assert all((f[0] & 15) == 5 and ipv4_header_checksum_ok(f[:20]) for f in frags[1:])


def test_refragmenting_keeps_offsets_and_more_fragments() -> None:
    pkt = datagram(2000)
    first = fragment_ipv4(pkt, 1200)
    again = [g for f in first for g in fragment_ipv4(f, 500)]
    r = Reassembler()
    results = [r.add(f) for f in again]
    assert results[-1] == pkt and all(x is None for x in results[:-1])


def test_bad_input() -> None:
    with pytest.raises(ValueError):
        fragment_ipv4(b"\x60" + bytes(40), 1280)
    with pytest.raises(ValueError):
        fragment_ipv4(datagram(100), 27)
    r = Reassembler()
    assert r.add(b"\x45") is None and r.stats()["bad"] == 1
    whole = datagram(10)
    assert r.add(whole + b"pad") == whole


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 9000), st.integers(68, 2000), st.randoms(use_true_random=False), st.booleans())
def test_reassembly_in_any_order(size: int, mtu: int, rnd, dup: bool) -> None:
    pkt = datagram(size)
    frags = fragment_ipv4(pkt, mtu)
    if len(frags) > 64:
        frags = fragment_ipv4(pkt, max(mtu, size // 40 + 60))
    order = list(frags) + ([frags[0]] if dup and len(frags) > 1 else [])
    rnd.shuffle(order)
    r = Reassembler()
    got = [x for x in (r.add(f) for f in order) if x is not None]
    assert got == [pkt]
    # A duplicate that comes after the datagram completed starts a new one, which will time out.
    assert r.stats()["pending"] <= (1 if dup else 0)


def _fix_checksum(header: bytearray) -> None:
    struct.pack_into("!H", header, 10, 0)
    struct.pack_into("!H", header, 10, ipv4_header_checksum(header[:(header[0] & 15) * 4]))


def test_overlap_drops_the_datagram() -> None:
    pkt = datagram(100)
    r = Reassembler()
    first = fragment_ipv4(pkt, 60)
    assert r.add(first[0]) is None
    # A fragment at offset 16 overlapping the first's 40 bytes, consistent header.
    evil = bytearray(first[1])
    struct.pack_into("!H", evil, 6, 0x2000 | 2)
    _fix_checksum(evil)
    assert r.add(bytes(evil)) is None
    assert r.stats()["overlaps"] == 1 and len(r) == 0
    # Exact duplicates are only ignored.
    r2 = Reassembler()
    assert r2.add(first[0]) is None and r2.add(first[0]) is None
    assert r2.stats()["duplicates"] == 1
    assert [r2.add(f) for f in first[1:]][-1] == pkt


def test_limits() -> None:
    clock = Clock()
    r = Reassembler(max_bytes=10_000, max_frags=4, timeout=30.0, clock=clock)
    frags = fragment_ipv4(datagram(1000), 100)
    for f in frags[:5]:
        r.add(f)
    assert r.stats()["too_many_frags"] == 1 and len(r) == 0
    r.add(frags[0])
    clock.t = 29.0
    r.add(fragment_ipv4(datagram(1000, ident=8), 100)[0])
    assert len(r) == 2
    clock.t = 30.5
    assert r.expire() == 1 and r.stats()["expired"] == 1 and len(r) == 1
    # Past 65535 bytes.
    big = bytearray(frags[1])
    struct.pack_into("!H", big, 6, 0x2000 | 8189)
    _fix_checksum(big)
    r.add(bytes(big))
    assert r.stats()["too_big"] == 1


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**16 - 1), st.integers(100, 1400))
def test_flood_stays_within_memory(seed: int, size: int) -> None:
    """A flood of first fragments that never complete: memory stays under the limit, the oldest go first,
    and an honest datagram sent whole in between is still reassembled."""
    r = Reassembler(max_bytes=64 * 1024)
    honest = datagram(3000, ident=1)
    hfrags = fragment_ipv4(honest, 1500)
    results = []
    for i in range(2000):
        pkt = IP(src=f"10.1.{i % 250}.{(seed + i) % 250}", dst="10.0.0.2", id=i, flags="MF") / bytes(size & ~7)
        r.add(bytes(pkt))
        assert r.nbytes <= 64 * 1024
        if i == 1000:
            results = [r.add(f) for f in hfrags]
    assert results[-1] == honest
    assert r.stats()["memory_evictions"] > 0 and r.nbytes <= 64 * 1024


def test_icmp4_frag_needed() -> None:
    frame = bytes(Ether(src="00:00:00:00:00:01", dst="00:00:00:00:00:02") / Dot1Q(vlan=5) /
                  IP(src="192.168.0.1", dst="192.168.0.2", flags="DF") / UDP(sport=5, dport=6) / (b"x" * 1400))
    out = icmp4_frag_needed(frame, 1450)
    assert out is not None
    e = Ether(out)
    assert e.src == "00:00:00:00:00:02" and e.dst == "00:00:00:00:00:01" and e[Dot1Q].vlan == 5
    ip = e[IP]
    assert (ip.src, ip.dst, ip.proto, ip.ttl) == ("192.168.0.2", "192.168.0.1", 1, 64)
    assert ip.len == 576 and ipv4_header_checksum_ok(out[18:38])
    icmp = e[ICMP]
    assert (icmp.type, icmp.code, icmp.nexthopmtu) == (3, 4, 1450)
    assert bytes(icmp[IPerror])[:20] == frame[18:38]
    chk = icmp.chksum
    del e[ICMP].chksum
    assert Ether(bytes(e))[ICMP].chksum == chk
    # No error about an error.
    err = bytes(Ether() / IP() / ICMP(type=3, code=1) / b"12345678")
    assert icmp4_frag_needed(err, 1000) is None
    assert icmp4_frag_needed(bytes(Ether() / IPv6()), 1000) is None


def test_icmp6_packet_too_big() -> None:
    frame = bytes(Ether(src="00:00:00:00:00:01", dst="00:00:00:00:00:02") /
                  IPv6(src="fd00::1", dst="fd00::2") / UDP(sport=5, dport=6) / (b"y" * 1500))
    out = icmp6_packet_too_big(frame, 1400)
    assert out is not None
    e = Ether(out)
    assert e[IPv6].src == "fd00::2" and e[IPv6].dst == "fd00::1" and len(e[IPv6]) == 1280
    ptb = e[ICMPv6PacketTooBig]
    assert ptb.mtu == 1400
    chk = ptb.cksum
    del e[ICMPv6PacketTooBig].cksum
    assert Ether(bytes(e))[ICMPv6PacketTooBig].cksum == chk
    assert Ether(icmp6_packet_too_big(frame, 1000))[ICMPv6PacketTooBig].mtu == 1280
    assert icmp6_packet_too_big(frame[:30], 1400) is None


def _frag(off: int, data: bytes, mf: bool, ident: int = 1, opts: bytes = b"", tos: int = 0) -> bytes:
    """An IPv4 fragment 10.0.0.1 -> 10.0.0.2 with a correct header checksum."""
    hlen = 20 + len(opts)
    h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x40 | hlen // 4, tos, hlen + len(data), ident,
                              (0x2000 if mf else 0) | off // 8, 64, 17, 0, bytes([10, 0, 0, 1]),
                              bytes([10, 0, 0, 2]))) + opts
    _fix_checksum(h)
    return bytes(h) + data


def test_data_held_past_the_last_fragments_end_drops_the_datagram() -> None:
    # Without the check, the 8 bytes at 800 would stand in for the missing 8..16 (the count of bytes matches).
    r = Reassembler()
    assert r.add(_frag(800, b"Z" * 8, True)) is None
    assert r.add(_frag(0, b"A" * 8, True)) is None
    assert r.add(_frag(16, b"C" * 8, False)) is None
    assert r.stats()["overlaps"] == 1 and len(r) == 0


def test_a_fragment_with_a_bad_header_checksum_is_discarded() -> None:
    r = Reassembler()
    bad = bytearray(_frag(8, b"B" * 8, False))
    bad[10] ^= 0xFF
    assert r.add(_frag(0, b"A" * 8, True)) is None
    assert r.add(bytes(bad)) is None
    assert r.stats()["bad"] == 1 and r.stats()["pending"] == 1
    assert r.add(_frag(8, b"B" * 8, False)) is not None


def test_a_datagram_over_65535_bytes_with_a_long_first_header_is_dropped() -> None:
    # Every fragment alone is within the limit; the first one's 60-byte header takes the whole past it.
    r = Reassembler(max_frags=100)
    r.add(_frag(0, b"a" * 1480, True, opts=b"\x01" * 40))
    off, total, res = 1480, 65515, b""
    while off < total:
        n = min(1480, total - off)
        res = r.add(_frag(off, b"b" * n, off + n < total))
        off += n
    assert res is None and r.stats()["too_big"] == 1 and len(r) == 0


@pytest.mark.parametrize(("tos1", "tos2", "want"), [(2, 3, 3), (1, 2, 1), (3, 3, 3), (0, 0, 0), (0, 3, None),
                                                    (2, 0, None)])
def test_ecn_of_the_fragments_rfc3168(tos1: int, tos2: int, want: int | None) -> None:
    """A CE mark on any fragment marks the datagram; ECN-capable and not ECN-capable fragments mixed drop it."""
    r = Reassembler()
    r.add(_frag(0, b"A" * 8, True, tos=tos1))
    out = r.add(_frag(8, b"B" * 8, False, tos=tos2))
    if want is None:
        assert out is None and r.stats()["bad"] == 1
    else:
        assert out is not None and out[1] & 3 == want and ipv4_header_checksum_ok(out[:20])


def test_memory_charge_bounds_a_flood_of_tiny_fragments() -> None:
    r = Reassembler(max_bytes=1 << 20)
    for i in range(20_000):
        r.add(_frag(0, b"x" * 8, True, ident=i))
    assert r.stats()["bytes"] <= 1 << 20 and len(r) < (1 << 20) // FRAGMENT_COST
    assert r.stats()["memory_evictions"] > 0


def test_a_header_only_packet_over_the_mtu_cannot_be_fragmented() -> None:
    with pytest.raises(ValueError, match="too small"):
        fragment_ipv4(bytes(IP(options=b"\x01" * 40, proto=17)), 40)


@pytest.mark.parametrize(("dmac", "src", "dst"), [
    ("ff:ff:ff:ff:ff:ff", "192.168.0.1", "192.168.0.255"),
    ("01:00:5e:00:00:fb", "192.168.0.1", "224.0.0.251"),
    ("50:54:00:00:00:07", "0.0.0.0", "192.168.0.2"),
    ("50:54:00:00:00:07", "127.0.0.1", "192.168.0.2"),
    ("50:54:00:00:00:07", "192.168.0.1", "255.255.255.255"),
])
def test_no_frag_needed_about_broadcast_multicast_or_unanswerable_packets(dmac: str, src: str, dst: str) -> None:
    f = bytes(Ether(src="50:54:00:00:00:05", dst=dmac) / IP(src=src, dst=dst, flags="DF") / UDP() / bytes(100))
    assert icmp4_frag_needed(f, 1000) is None
    ok = bytes(Ether(src="50:54:00:00:00:05", dst="50:54:00:00:00:07") / IP(src="192.168.0.1", dst="192.168.0.2",
                                                                          flags="DF") / UDP() / bytes(100))
    assert icmp4_frag_needed(ok, 1000) is not None


@pytest.mark.parametrize(("dmac", "src", "dst"), [
    ("33:33:00:00:00:01", "fd00::1", "ff02::1"),
    ("50:54:00:00:00:07", "::", "fd00::2"),
    ("50:54:00:00:00:07", "::1", "fd00::2"),
    ("50:54:00:00:00:07", "ff02::5", "fd00::2"),
])
def test_no_packet_too_big_about_multicast_or_unanswerable_packets(dmac: str, src: str, dst: str) -> None:
    f = bytes(Ether(src="50:54:00:00:00:05", dst=dmac) / IPv6(src=src, dst=dst) / UDP() / bytes(1400))
    assert icmp6_packet_too_big(f, 1280) is None


def test_the_oldest_datagram_is_evicted_first() -> None:
    r = Reassembler()
    for ident in range(20):
        r.add(_frag(0, b"a" * 8, True, ident=ident))
    r.max_bytes = r.nbytes - 1
    assert r.add(_frag(0, b"a" * 8, True, ident=99)) is None
    assert r.stats()["memory_evictions"] >= 1
    # Datagram 0 was the oldest: gone; datagram 19 is still there and completes.
    assert r.add(_frag(8, b"b" * 8, False, ident=0)) is None
    assert r.add(_frag(8, b"b" * 8, False, ident=19)) is not None
