"""Transport headers: TCP (RFC 9293), UDP (RFC 768) and SCTP's common header (RFC 9260).

TCP ``flags`` is the 12-bit field after the data offset, the NS bit of RFC 3540 and the three reserved bits
included, because that is what Open vSwitch's ``tcp_flags`` field matches.  TCP options are kept raw: nothing in
a switch needs them decoded.  The UDP length field is reported, not enforced, as in OVS, which extracts the ports
of a datagram whatever its length says.

The SCTP checksum is a CRC32c transmitted least significant byte first (RFC 9260 appendix A), so ``Sctp.csum`` is
read little-endian and equals :func:`pyvswitch.packet.checksum.sctp_checksum` of a correct packet.  Chunks are
walked only on request, with :func:`sctp_chunks`.

Builders compute the checksum when given both IP addresses (4 or 16 bytes, or text) of the enclosing header;
without them a UDP checksum is left 0 (meaning "none" over IPv4) and a TCP checksum 0.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from pyvswitch.packet.addr import IpLike, ip_any
from pyvswitch.packet.checksum import crc32c, tcp_checksum, udp_checksum
from pyvswitch.packet.constants import TCP_SYN
from pyvswitch.packet.errors import Malformed, truncated

Buffer = bytes | bytearray | memoryview

_TCP = struct.Struct("!HHIIHHHH")
TCP_HEADER_LEN = _TCP.size  # 20
_UDP = struct.Struct("!HHHH")
UDP_HEADER_LEN = _UDP.size  # 8
_SCTP = struct.Struct("!HHI")  # The checksum is read separately, little-endian.
_LE32 = struct.Struct("<I")
SCTP_HEADER_LEN = 12
_CHUNK = struct.Struct("!BBH")


class Tcp(NamedTuple):
    """A parsed TCP header."""

    src_port: int
    dst_port: int
    seq: int
    ack: int
    data_offset: int  # Header length in 32-bit words.
    flags: int  # 12 bits: TCP_FIN ... TCP_NS and 3 reserved bits.
    window: int
    csum: int
    urg_ptr: int
    options: bytes = b""

    @property
    def header_length(self) -> int:
        return self.data_offset * 4


class Udp(NamedTuple):
    """A parsed UDP header."""

    src_port: int
    dst_port: int
    length: int
    csum: int


class Sctp(NamedTuple):
    """A parsed SCTP common header."""

    src_port: int
    dst_port: int
    vtag: int
    csum: int  # The CRC32c value (little-endian on the wire).


class SctpChunk(NamedTuple):
    """One SCTP chunk: type, flags and value (without the 4-byte chunk header and the padding)."""

    type: int
    flags: int
    data: bytes


def parse_tcp(buf: Buffer, offset: int = 0) -> tuple[Tcp, int]:
    """Parse the TCP header at ``offset``; return it and the offset of the payload."""
    try:
        sport, dport, seq, ack, off_flags, window, csum, urg = _TCP.unpack_from(buf, offset)
    except struct.error:
        raise truncated("tcp", TCP_HEADER_LEN, len(buf) - offset) from None
    doff = off_flags >> 12
    hlen = doff * 4
    if hlen < TCP_HEADER_LEN:
        raise Malformed(f"tcp: data offset {doff} < 5")
    if hlen > len(buf) - offset:
        raise truncated("tcp", hlen, len(buf) - offset)
    options = bytes(buf[offset + 20 : offset + hlen]) if hlen > 20 else b""
    return Tcp(sport, dport, seq, ack, doff, off_flags & 0x0FFF, window, csum, urg, options), offset + hlen


def parse_udp(buf: Buffer, offset: int = 0) -> tuple[Udp, int]:
    """Parse the UDP header at ``offset``; return it and the offset of the payload."""
    try:
        return Udp(*_UDP.unpack_from(buf, offset)), offset + UDP_HEADER_LEN
    except struct.error:
        raise truncated("udp", UDP_HEADER_LEN, len(buf) - offset) from None


def parse_sctp(buf: Buffer, offset: int = 0) -> tuple[Sctp, int]:
    """Parse the SCTP common header at ``offset``; return it and the offset of the first chunk."""
    if len(buf) - offset < SCTP_HEADER_LEN:
        raise truncated("sctp", SCTP_HEADER_LEN, len(buf) - offset)
    sport, dport, vtag = _SCTP.unpack_from(buf, offset)
    return Sctp(sport, dport, vtag, _LE32.unpack_from(buf, offset + 8)[0]), offset + SCTP_HEADER_LEN


def sctp_chunks(buf: Buffer, offset: int, end: int | None = None) -> tuple[SctpChunk, ...]:
    """Decode the chunks from ``offset`` (the first chunk) to ``end`` (default: end of ``buf``)."""
    if end is None or end > len(buf):
        end = len(buf)
    chunks = []
    off = offset
    while off < end:
        if end - off < 4:
            raise truncated("sctp: chunk", 4, end - off)
        ctype, cflags, clen = _CHUNK.unpack_from(buf, off)
        if clen < 4:
            raise Malformed(f"sctp: chunk length {clen} < 4")
        if clen > end - off:
            raise truncated("sctp: chunk", clen, end - off)
        chunks.append(SctpChunk(ctype, cflags, bytes(buf[off + 4 : off + clen])))
        off += (clen + 3) & ~3
    return tuple(chunks)


# Builders.


def _addrs(src_ip: IpLike | None, dst_ip: IpLike | None) -> tuple[bytes, bytes] | None:
    if src_ip is None or dst_ip is None:
        return None
    src, dst = ip_any(src_ip), ip_any(dst_ip)
    if len(src) != len(dst):
        raise ValueError("source and destination must both be IPv4 or both IPv6")
    return src, dst


def tcp(
    src_port: int,
    dst_port: int,
    payload: bytes = b"",
    *,
    seq: int = 0,
    ack: int = 0,
    flags: int = TCP_SYN,
    window: int = 8192,
    urg_ptr: int = 0,
    options: bytes = b"",
    src_ip: IpLike | None = None,
    dst_ip: IpLike | None = None,
    csum: int | None = None,
) -> bytes:
    """Build a TCP segment; the checksum is computed from ``src_ip``/``dst_ip`` unless ``csum`` is given.

    Options are zero-padded (End of Option List) to a multiple of 4 bytes.
    """
    if len(options) % 4:
        options += bytes(4 - len(options) % 4)
    hlen = TCP_HEADER_LEN + len(options)
    if hlen > 60:
        raise ValueError("TCP options longer than 40 bytes")
    seg = _TCP.pack(src_port, dst_port, seq, ack, (hlen // 4) << 12 | flags, window, 0, urg_ptr) + options + payload
    if csum is None:
        addrs = _addrs(src_ip, dst_ip)
        csum = tcp_checksum(addrs[0], addrs[1], seg) if addrs else 0
    return seg[:16] + csum.to_bytes(2, "big") + seg[18:]


def udp(
    src_port: int,
    dst_port: int,
    payload: bytes = b"",
    *,
    src_ip: IpLike | None = None,
    dst_ip: IpLike | None = None,
    csum: int | None = None,
    length: int | None = None,
) -> bytes:
    """Build a UDP datagram; the checksum is computed from ``src_ip``/``dst_ip`` unless ``csum`` is given."""
    if length is None:
        length = UDP_HEADER_LEN + len(payload)
    dgram = _UDP.pack(src_port, dst_port, length, 0) + payload
    if csum is None:
        addrs = _addrs(src_ip, dst_ip)
        if not addrs:
            return dgram
        csum = udp_checksum(addrs[0], addrs[1], dgram)
    return dgram[:6] + csum.to_bytes(2, "big") + dgram[8:]


def sctp_chunk(chunk_type: int, flags: int = 0, data: bytes = b"") -> bytes:
    """Encode one SCTP chunk, zero-padded to a multiple of 4 bytes (the length field excludes the padding)."""
    return _CHUNK.pack(chunk_type, flags, 4 + len(data)) + data + bytes(-len(data) % 4)


def sctp(src_port: int, dst_port: int, chunks: bytes = b"", *, vtag: int = 0, csum: int | None = None) -> bytes:
    """Build an SCTP packet from encoded ``chunks``; the CRC32c is computed unless ``csum`` is given."""
    head = _SCTP.pack(src_port, dst_port, vtag)
    if csum is None:
        csum = crc32c(chunks, crc32c(head + bytes(4)))
    return head + _LE32.pack(csum) + chunks
