"""Checksums: the Internet checksum (RFC 1071), pseudo-header checksums, RFC 1624 updates and CRC32c.

The Internet checksum is the one's-complement sum of 16-bit big-endian words.  Summing words in a Python loop
costs about a microsecond per word, so this module never does that.  It reads the whole buffer as one big integer
with ``int.from_bytes``: since 65536 is congruent to 1 modulo 65535, that integer is congruent to the sum of its
16-bit words, and one ``% 0xffff`` gives the one's-complement sum in C speed.  The only subtlety is that one's
complement arithmetic has two zeros; the folded sum of data that is not all zero is never 0x0000, so a residue
of 0 is reported as 0xffff, which is what an end-around-carry adder (and Scapy, and Linux) produces.

Set-field actions rewrite addresses and ports without recomputing checksums over the payload; they use the
incremental update of RFC 1624 equation 3, ``HC' = ~(~HC + ~m + m')``, which gives the same result as a full
recomputation (equation 2 of RFC 1141 does not, when the sum is 0xffff).  Over IPv4 a UDP checksum of 0 means
"no checksum" and must stay 0 after a rewrite, and a computed UDP checksum of 0 is sent as 0xffff (RFC 768);
:func:`udp_csum_update` and :func:`udp_checksum` apply those two rules, the generic functions do not.

SCTP (RFC 9260, appendix A of RFC 4960) uses CRC32c instead, for which Python has no built-in; a 256-entry table
is computed at import.  The CRC is transmitted least significant byte first; the functions here return the CRC as
an integer (e.g. ``0xe3069283`` for ``b"123456789"``) and the SCTP codec reads and writes it little-endian.
"""

from __future__ import annotations

import struct

from pyvswitch.packet.constants import IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP

Buffer = bytes | bytearray | memoryview


def _word_sum(data: Buffer) -> int:
    """An integer congruent, modulo 0xffff, to the sum of the 16-bit words of ``data`` (zero-padded if odd)."""
    n = int.from_bytes(data, "big")
    if len(data) & 1:
        n <<= 8
    return n


def _fold(total: int) -> int:
    """Reduce a non-negative integer to its 16-bit one's-complement representation (0 only for 0)."""
    if not total:
        return 0
    r = total % 0xFFFF
    return r or 0xFFFF


def ones_complement_sum(data: Buffer, initial: int = 0) -> int:
    """Return the 16-bit one's-complement sum of the words of ``data`` plus ``initial`` (a previous sum).

    The result is in [0, 0xffff] and is 0 only when ``data`` and ``initial`` are all zero.  An odd-length
    buffer is summed as if padded with one zero byte, as RFC 1071 specifies.
    """
    return _fold(_word_sum(data) + initial)


def internet_checksum(data: Buffer, initial: int = 0) -> int:
    """Return the Internet checksum (RFC 1071) of ``data``: the complement of its one's-complement sum.

    Computing it over data that already contains a correct checksum yields 0, which is how to verify one.
    """
    return ~ones_complement_sum(data, initial) & 0xFFFF


def _checksum_excluding(total: int, data: Buffer, csum_offset: int, extra: int = 0) -> int:
    """Checksum of ``data`` plus ``extra`` (a pseudo-header sum), as if its 16-bit field at ``csum_offset``
    were zero; ``total`` is ``_word_sum(data) + extra``.

    The field must be 16-bit aligned, which is true of every checksum field; then its contribution to ``total``
    is congruent to its value, and adding ``0xffff - field`` removes it while keeping the total positive.  A
    residue of 0 means a sum of 0xffff unless everything else is zero, which is checked only in that rare case.
    """
    field = (data[csum_offset] << 8) | data[csum_offset + 1]
    r = (total + 0xFFFF - field) % 0xFFFF
    if r == 0 and (extra or any(data[:csum_offset]) or any(data[csum_offset + 2 :])):
        r = 0xFFFF
    return ~r & 0xFFFF


def ipv4_header_checksum(header: Buffer) -> int:
    """Return the checksum of an IPv4 header (all ``ihl * 4`` bytes), ignoring its current checksum field."""
    return _checksum_excluding(_word_sum(header), header, 10)


def ipv4_header_checksum_ok(header: Buffer) -> bool:
    """True if the IPv4 header (all ``ihl * 4`` bytes) carries a correct checksum."""
    return ones_complement_sum(header) == 0xFFFF


def pseudo_header_sum(src: bytes, dst: bytes, proto: int, length: int) -> int:
    """Return the one's-complement sum of the TCP/UDP/ICMPv6 pseudo-header.

    ``src`` and ``dst`` are both 4-byte (RFC 9293/768 pseudo-header) or both 16-byte (RFC 8200 section 8.1)
    addresses; ``length`` is the upper-layer length.  Both layouts sum to the same words, the IPv6 one merely
    widening the length to 32 bits, so one formula serves both.
    """
    return _fold(int.from_bytes(src, "big") + int.from_bytes(dst, "big") + proto + length)


def l4_checksum(src: bytes, dst: bytes, proto: int, segment: Buffer, csum_offset: int) -> int:
    """Return the pseudo-header checksum of an upper-layer ``segment`` (header and payload).

    The 16-bit checksum field at ``csum_offset`` within ``segment`` is treated as zero, so the segment can be
    passed exactly as it sits in a packet.  No UDP-specific rule is applied; see :func:`udp_checksum`.
    """
    extra = pseudo_header_sum(src, dst, proto, len(segment))
    return _checksum_excluding(extra + _word_sum(segment), segment, csum_offset, extra)


def l4_checksum_ok(src: bytes, dst: bytes, proto: int, segment: Buffer) -> bool:
    """True if ``segment`` (with its checksum field as received) verifies against the pseudo-header."""
    total = pseudo_header_sum(src, dst, proto, len(segment)) + _word_sum(segment)
    return _fold(total) == 0xFFFF


def tcp_checksum(src: bytes, dst: bytes, segment: Buffer) -> int:
    """Return the TCP checksum of ``segment`` over IPv4 or IPv6 (decided by the address length)."""
    return l4_checksum(src, dst, IPPROTO_TCP, segment, 16)


def udp_checksum(src: bytes, dst: bytes, datagram: Buffer) -> int:
    """Return the UDP checksum of ``datagram``; a computed 0 is returned as 0xffff (RFC 768, RFC 8200)."""
    return l4_checksum(src, dst, IPPROTO_UDP, datagram, 6) or 0xFFFF


def udp_checksum_ok(src: bytes, dst: bytes, datagram: Buffer) -> bool:
    """True if the UDP checksum verifies; over IPv4 a zero checksum ("none") also counts as correct."""
    if len(src) == 4 and len(datagram) >= 8 and datagram[6] == 0 and datagram[7] == 0:
        return True
    return l4_checksum_ok(src, dst, IPPROTO_UDP, datagram)


def icmp4_checksum(message: Buffer) -> int:
    """Return the ICMPv4 checksum of ``message`` (header and data), which has no pseudo-header."""
    return _checksum_excluding(_word_sum(message), message, 2)


def icmp6_checksum(src: bytes, dst: bytes, message: Buffer) -> int:
    """Return the ICMPv6 checksum of ``message``, which includes the IPv6 pseudo-header (RFC 4443)."""
    return l4_checksum(src, dst, IPPROTO_ICMPV6, message, 2)


# RFC 1624 incremental updates.


def _update(csum: int, old_sum: int, new_sum: int, degenerate: bool) -> int:
    """Apply ``HC' = ~(~HC + ~m + m')`` given congruent integer sums of the old and new words.

    The one's-complement sum ``~HC + ~m + m'`` is zero (rather than 0xffff) only when every term is zero, that
    is when ``degenerate`` is true; otherwise a residue of 0 stands for 0xffff.
    """
    if degenerate:
        return 0xFFFF
    r = ((~csum & 0xFFFF) - old_sum + new_sum) % 0xFFFF
    return ~(r or 0xFFFF) & 0xFFFF


def csum_update16(csum: int, old: int, new: int) -> int:
    """Return checksum ``csum`` updated for a 16-bit aligned word that changed from ``old`` to ``new``.

    An 8-bit field (TTL, TOS) is updated by passing the whole 16-bit word that contains it.
    """
    return _update(csum, old, new, csum == 0xFFFF and old == 0xFFFF and new == 0)


def csum_update32(csum: int, old: int, new: int) -> int:
    """Return checksum ``csum`` updated for a 16-bit aligned 32-bit field (an IPv4 address, a TCP seq)."""
    return _update(csum, old, new, csum == 0xFFFF and old == 0xFFFFFFFF and new == 0)


def csum_update_bytes(csum: int, old: Buffer, new: Buffer) -> int:
    """Return checksum ``csum`` updated for a 16-bit aligned field of even length rewritten from ``old`` to
    ``new``: two bytes for a port, four for an IPv4 address, sixteen for an IPv6 address."""
    if len(old) != len(new) or len(old) & 1:
        raise ValueError("old and new must have the same even length")
    degenerate = csum == 0xFFFF and not any(new) and all(b == 0xFF for b in old)
    return _update(csum, int.from_bytes(old, "big"), int.from_bytes(new, "big"), degenerate)


def udp_csum_update(csum: int, old: Buffer, new: Buffer) -> int:
    """Like :func:`csum_update_bytes`, with UDP's rules: 0 ("no checksum") stays 0, a result of 0 becomes 0xffff.

    A zero UDP checksum is only legal over IPv4, but it is preserved over IPv6 too: a switch must not invent a
    checksum the sender did not compute, and the receiver will drop the datagram either way.
    """
    if csum == 0:
        return 0
    return csum_update_bytes(csum, old, new) or 0xFFFF


# CRC32c (Castagnoli), reflected polynomial 0x82F63B78, as used by SCTP (RFC 9260) and iSCSI (RFC 3720).


def _make_crc32c_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC32C_TABLE = _make_crc32c_table()


def crc32c(data: Buffer, crc: int = 0) -> int:
    """Return the CRC32c of ``data``; pass a previous result as ``crc`` to continue over more data."""
    table = _CRC32C_TABLE
    c = ~crc & 0xFFFFFFFF
    for b in bytes(data):
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return ~c & 0xFFFFFFFF


_ZERO4 = bytes(4)
_LE32 = struct.Struct("<I")


def sctp_checksum(packet: Buffer) -> int:
    """Return the CRC32c of an SCTP packet (common header and chunks), its checksum field taken as zero."""
    if len(packet) < 12:
        raise ValueError("an SCTP packet is at least 12 bytes")
    return crc32c(packet[12:], crc32c(_ZERO4, crc32c(packet[:8])))


def sctp_checksum_ok(packet: Buffer) -> bool:
    """True if the SCTP packet's checksum field (little-endian on the wire) matches its CRC32c."""
    return len(packet) >= 12 and _LE32.unpack_from(packet, 8)[0] == sctp_checksum(packet)
