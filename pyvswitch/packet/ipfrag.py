"""IPv4 fragmentation and reassembly, and the ICMP errors that tell a sender its packet was too big.

A tunnel endpoint meets fragments twice: when an encapsulated packet no longer fits the underlay's MTU, and when
the far end's encapsulated packets arrive fragmented.

- :func:`fragment_ipv4` cuts an IPv4 packet into fragments that fit an MTU (RFC 791): the data of every fragment
  but the last is a multiple of 8 bytes; the first fragment keeps all IP options, the later ones only those whose
  "copied" bit is set (the high bit of the option type), as RFC 791 section 3.1 requires.  A fragment can be
  fragmented again: offsets add up and the last piece keeps the original's "more fragments" bit.  The DF bit is
  not looked at: deciding between fragmenting and refusing is the caller's business.
- :class:`Reassembler` puts fragments back together, keyed by (source, destination, protocol, identification)
  as RFC 791 says.  It is built for traffic nobody vouches for: a datagram is dropped when two of its fragments
  overlap (RFC 5722's rule, which Linux applies to IPv4 too; an exact duplicate is only ignored), when it would
  exceed 65535 bytes, when it has more than ``max_frags`` fragments, or when it is not complete within
  ``timeout`` seconds of its first fragment (RFC 791 suggests 15 s; Linux uses 30).  A fragment whose header
  checksum is wrong is discarded (RFC 1122 3.2.1.2), as is a datagram whose last fragment ends before data
  already held, or whose fragments mix ECN-capable and not-ECN-capable codepoints; a CE mark on any fragment is
  kept on the whole datagram (RFC 3168 section 5.3).  All incomplete datagrams together are charged at most
  ``max_bytes``, counting each fragment's data and headers plus :data:`FRAGMENT_COST` for what holding it costs:
  past that, the oldest are evicted, so a flood of fragments that never complete costs bounded memory and only
  delays the honest datagrams it evicts.  The clock is injected.  ``stats()`` counts what happened.
- :func:`icmp4_frag_needed` and :func:`icmp6_packet_too_big` build the answer to a packet that may not be
  fragmented on its way: ICMP "destination unreachable, fragmentation needed" with the next-hop MTU (RFC 792,
  RFC 1191) or ICMPv6 "packet too big" (RFC 4443), as a whole Ethernet frame addressed back to the sender (the
  Ethernet addresses swapped, VLAN tags kept) and sent from the packet's destination address, as Linux's tunnel
  drivers do; never about a packet sent to a broadcast or multicast address or from an address that cannot be
  answered (RFC 1122 3.2.2, RFC 4443 section 2.4).  The ICMPv4 error quotes the offending packet up to 576 bytes in all (RFC 1812 section 4.3.2.3;
  RFC 792's minimum is the IP header and 8 bytes), the ICMPv6 one as much as fits in 1280 bytes (RFC 4443
  section 2.4).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pyvswitch.packet.checksum import (
    icmp4_checksum,
    icmp6_checksum,
    ipv4_header_checksum,
    ipv4_header_checksum_ok,
)
from pyvswitch.packet.errors import Malformed
from pyvswitch.packet.ethernet import l3_offset
from pyvswitch.packet.ipv4 import ipv4_options

__all__ = ["FRAGMENT_COST", "Reassembler", "fragment_ipv4", "icmp4_frag_needed", "icmp6_packet_too_big", "is_ipv4_fragment"]

_IP4 = struct.Struct("!BBHHHBBH4s4s")
_U16 = struct.Struct("!H")
_IP_MF = 0x2000
_IP_DF = 0x4000
_IP_OFFSET = 0x1FFF
_MAX_DATAGRAM = 65535


def is_ipv4_fragment(packet_l3: bytes | bytearray | memoryview) -> bool:
    """Whether an IPv4 packet (from its IP header) is a fragment: MF set or a non-zero offset."""
    return len(packet_l3) >= 20 and bool(((packet_l3[6] << 8) | packet_l3[7]) & (_IP_MF | _IP_OFFSET))


def _copied_options(options: bytes) -> bytes:
    """The options of ``options`` whose copied bit is set, padded with End of Options to a multiple of 4; none
    from a malformed option list, whose parts cannot be trusted."""
    try:
        parsed = ipv4_options(options)
    except Malformed:
        parsed = ()
    out = b"".join(bytes((kind, len(data) + 2)) + data for kind, data in parsed if kind & 0x80)
    return out + bytes(-len(out) % 4)


def fragment_ipv4(packet_l3: bytes, mtu: int) -> list[bytes]:
    """``packet_l3`` (an IPv4 packet from its header on) as fragments of at most ``mtu`` bytes each; the packet
    itself in a list when it fits.  Raises ValueError for a malformed header or an MTU too small to carry 8 bytes
    of data behind the header."""
    if len(packet_l3) < 20 or packet_l3[0] >> 4 != 4:
        raise ValueError("not an IPv4 packet")
    hlen = (packet_l3[0] & 0x0F) * 4
    total = _U16.unpack_from(packet_l3, 2)[0]
    if hlen < 20 or total < hlen or total > len(packet_l3):
        raise ValueError("malformed IPv4 header")
    if total <= mtu:
        return [bytes(packet_l3[:total])]
    frag_word = _U16.unpack_from(packet_l3, 6)[0]
    base = (frag_word & _IP_OFFSET) * 8
    last_mf = frag_word & _IP_MF
    keep_flags = frag_word & _IP_DF
    first_header = bytearray(packet_l3[:hlen])
    later_options = _copied_options(bytes(packet_l3[20:hlen]))
    later_header = bytearray(packet_l3[:20]) + later_options
    later_header[0] = 0x40 | (len(later_header) // 4)
    payload = memoryview(packet_l3)[hlen:total]
    out = []
    pos = 0
    n = len(payload)
    if not n:
        raise ValueError(f"MTU {mtu} too small for the {hlen}-byte header")
    while pos < n:
        header = first_header if pos == 0 else later_header
        room = (mtu - len(header)) & ~7
        if room < 8:
            raise ValueError(f"MTU {mtu} too small to fragment")
        chunk = payload[pos:pos + room]
        more = pos + len(chunk) < n
        h = bytearray(header)
        _U16.pack_into(h, 2, len(h) + len(chunk))
        _U16.pack_into(h, 6, keep_flags | (_IP_MF if more or last_mf else 0) | ((base + pos) // 8))
        _U16.pack_into(h, 10, 0)
        _U16.pack_into(h, 10, ipv4_header_checksum(h))
        out.append(bytes(h) + chunk)
        pos += len(chunk)
    return out


@dataclass
class _Datagram:
    """The fragments of one datagram so far."""

    first_seen: float
    frags: list[tuple[int, int, bytes]] = field(default_factory=list)   # (offset, end, data), unsorted
    header: bytes | None = None          # the first fragment's header (offset 0)
    total: int | None = None             # data length, known once the last fragment (MF clear) came
    nbytes: int = 0                      # data bytes held
    max_end: int = 0                     # the end of the furthest fragment held
    cost: int = 0                        # what it is charged against max_bytes
    ecn: int = 0                         # bit N: a fragment had ECN codepoint N


#: What holding one fragment is charged besides its bytes: the Python objects around it (measured: about 570
#: bytes for a datagram of one small fragment, the datagram's own objects included).
FRAGMENT_COST = 512

_ECN_NOT_ECT, _ECN_CE = 1 << 0, 1 << 3


class Reassembler:
    """IPv4 reassembly with limits (see the module doc).  ``add`` returns the whole datagram when a fragment
    completes one."""

    def __init__(self, max_bytes: int = 4 << 20, max_frags: int = 64, timeout: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = max_bytes
        self.max_frags = max_frags
        self.timeout = timeout
        self.clock = clock
        self._pending: dict[tuple[bytes, bytes, int, int], _Datagram] = {}
        self.nbytes = 0
        self.counters = {"fragments": 0, "reassembled": 0, "expired": 0, "overlaps": 0, "duplicates": 0,
                         "too_many_frags": 0, "too_big": 0, "memory_evictions": 0, "bad": 0}

    def __len__(self) -> int:
        return len(self._pending)

    def stats(self) -> dict[str, int]:
        """The counters, with ``pending`` (incomplete datagrams) and ``bytes`` (what they are charged: see
        :data:`FRAGMENT_COST`)."""
        return dict(self.counters, pending=len(self._pending), bytes=self.nbytes)

    def _drop(self, key: tuple[bytes, bytes, int, int], counter: str | None) -> None:
        d = self._pending.pop(key)
        self.nbytes -= d.cost
        if counter:
            self.counters[counter] += 1

    def expire(self, now: float | None = None) -> int:
        """Drop the datagrams not completed within the timeout; returns how many."""
        if now is None:
            now = self.clock()
        n = 0
        # The dictionary is in order of first fragment, so the expired ones are at its front.
        while self._pending:
            key, d = next(iter(self._pending.items()))
            if now - d.first_seen < self.timeout:
                break
            self._drop(key, "expired")
            n += 1
        return n

    def add(self, packet_l3: bytes | bytearray | memoryview, now: float | None = None) -> bytes | None:
        """Take one IPv4 fragment (from its IP header on; bytes past its total length are ignored).  Returns the
        reassembled datagram (header of the first fragment, flags and offset cleared, lengths and checksum
        fixed) when this fragment completes it, else None.  A packet that is not a fragment comes back as is."""
        if now is None:
            now = self.clock()
        self.expire(now)
        if len(packet_l3) < 20 or packet_l3[0] >> 4 != 4:
            self.counters["bad"] += 1
            return None
        vihl, tos, total_len, ident, frag_word, _, proto, _, src, dst = _IP4.unpack_from(packet_l3)
        hlen = (vihl & 0x0F) * 4
        if hlen < 20 or total_len < hlen or total_len > len(packet_l3):
            self.counters["bad"] += 1
            return None
        if not frag_word & (_IP_MF | _IP_OFFSET):
            return bytes(packet_l3[:total_len])
        self.counters["fragments"] += 1
        if not ipv4_header_checksum_ok(packet_l3[:hlen]):
            self.counters["bad"] += 1
            return None
        offset = (frag_word & _IP_OFFSET) * 8
        data = bytes(packet_l3[hlen:total_len])
        end = offset + len(data)
        more = bool(frag_word & _IP_MF)
        key = (bytes(src), bytes(dst), proto, ident)
        d = self._pending.get(key)
        if (more and len(data) % 8) or not data or hlen + end > _MAX_DATAGRAM:
            # A middle fragment whose length is not a multiple of 8, an empty one, or one that ends past the
            # largest datagram IP can carry: the datagram cannot be valid.
            self.counters["too_big" if hlen + end > _MAX_DATAGRAM else "bad"] += 1
            if d is not None:
                self._drop(key, None)
            return None
        if d is None:
            d = self._pending[key] = _Datagram(now)
        for o, e, _ in d.frags:
            if o < end and offset < e:
                if (o, e) == (offset, end):
                    self.counters["duplicates"] += 1
                    return None
                self._drop(key, "overlaps")
                return None
        if not more:
            if (d.total is not None and d.total != end) or d.max_end > end:
                # A second, different last fragment, or data held past the end this one gives.
                self._drop(key, "overlaps")
                return None
            d.total = end
        if d.total is not None and end > d.total:
            self._drop(key, "overlaps")
            return None
        if len(d.frags) >= self.max_frags:
            self._drop(key, "too_many_frags")
            return None
        d.frags.append((offset, end, data))
        d.nbytes += len(data)
        d.max_end = max(d.max_end, end)
        d.ecn |= 1 << (tos & 3)
        cost = len(data) + hlen + FRAGMENT_COST
        d.cost += cost
        self.nbytes += cost
        if offset == 0:
            d.header = bytes(packet_l3[:hlen])
        if d.total is not None and d.header is not None and d.nbytes == d.total:
            # No overlaps, nothing past the end and as many bytes as the datagram has: no gaps either.
            self._drop(key, None)
            if len(d.header) + d.total > _MAX_DATAGRAM:
                self.counters["too_big"] += 1
                return None
            if d.ecn & _ECN_NOT_ECT and d.ecn != _ECN_NOT_ECT:
                self.counters["bad"] += 1       # ECN-capable and not ECN-capable fragments: RFC 3168 5.3
                return None
            self.counters["reassembled"] += 1
            d.frags.sort()
            h = bytearray(d.header)
            if d.ecn & _ECN_CE:
                h[1] |= 3
            _U16.pack_into(h, 2, len(h) + d.total)
            _U16.pack_into(h, 6, _U16.unpack_from(h, 6)[0] & _IP_DF)
            _U16.pack_into(h, 10, 0)
            _U16.pack_into(h, 10, ipv4_header_checksum(h))
            return bytes(h) + b"".join(f[2] for f in d.frags)
        while self.nbytes > self.max_bytes and self._pending:
            oldest = next(iter(self._pending))
            self._drop(oldest, "memory_evictions")
        return None


# ------------------------------------------------------------------------------------------------------------
# ICMP errors for packets too big to forward.
def icmp4_frag_needed(frame: bytes, mtu: int, ttl: int = 64) -> bytes | None:
    """The ICMP "fragmentation needed" frame answering the IPv4 packet in Ethernet ``frame``, with next-hop MTU
    ``mtu``; None when ``frame`` is not IPv4 or is itself an ICMP error (no error answers an error, RFC 1122
    3.2.2) or a later fragment."""
    if len(frame) < 34:
        return None
    eth_type, l3 = l3_offset(frame)
    if eth_type != 0x0800 or len(frame) < l3 + 20:
        return None
    hlen = (frame[l3] & 0x0F) * 4
    if hlen < 20 or len(frame) < l3 + hlen:
        return None
    if ((frame[l3 + 6] << 8) | frame[l3 + 7]) & _IP_OFFSET:
        return None
    if frame[l3 + 9] == 1 and len(frame) > l3 + hlen and frame[l3 + hlen] not in (0, 8, 13, 15, 17):
        return None
    if frame[0] & 1 or frame[l3 + 16] >= 224 or frame[l3 + 12] in (0, 127) or frame[l3 + 12] >= 224:
        # To a broadcast or multicast address, or from one that cannot be answered (RFC 1122 3.2.2).
        return None
    src, dst = frame[l3 + 16:l3 + 20], frame[l3 + 12:l3 + 16]
    quote = frame[l3:l3 + min(len(frame) - l3, 576 - 20 - 8)]
    icmp = bytearray(struct.pack("!BBHHH", 3, 4, 0, 0, mtu & 0xFFFF)) + quote
    _U16.pack_into(icmp, 2, icmp4_checksum(icmp))
    ip = bytearray(_IP4.pack(0x45, 0xC0, 20 + len(icmp), 0, 0, ttl, 1, 0, src, dst))
    _U16.pack_into(ip, 10, ipv4_header_checksum(ip))
    return frame[6:12] + frame[0:6] + frame[12:l3] + bytes(ip) + bytes(icmp)


def icmp6_packet_too_big(frame: bytes, mtu: int, hlim: int = 64) -> bytes | None:
    """The ICMPv6 "packet too big" frame answering the IPv6 packet in Ethernet ``frame``, with ``mtu`` (at least
    1280, the IPv6 minimum); None when ``frame`` is not IPv6 or is an ICMPv6 error message."""
    if len(frame) < 54:
        return None
    eth_type, l3 = l3_offset(frame)
    if eth_type != 0x86DD or len(frame) < l3 + 40:
        return None
    if frame[l3 + 6] == 58 and len(frame) > l3 + 40 and frame[l3 + 40] < 128:
        return None
    sender = int.from_bytes(frame[l3 + 8:l3 + 24], "big")
    if frame[0] & 1 or frame[l3 + 24] == 0xFF or sender in (0, 1) or sender >> 120 == 0xFF:
        # To a multicast address, or from the unspecified, loopback or a multicast address (RFC 4443 2.4).
        return None
    src, dst = frame[l3 + 24:l3 + 40], frame[l3 + 8:l3 + 24]
    quote = frame[l3:l3 + min(len(frame) - l3, 1280 - 40 - 8)]
    icmp = bytearray(struct.pack("!BBHI", 2, 0, 0, max(mtu, 1280))) + quote
    _U16.pack_into(icmp, 2, icmp6_checksum(src, dst, icmp))
    ip = struct.pack("!IHBB", 6 << 28, len(icmp), 58, hlim) + src + dst
    return frame[6:12] + frame[0:6] + frame[12:l3] + ip + bytes(icmp)
