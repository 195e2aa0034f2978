"""IPv4 (RFC 791): header with options, fragmentation fields, and a builder that fills in lengths and checksum.

:func:`parse_ipv4` checks what Open vSwitch's ``ipv4_sanity_check`` checks: version 4, a header length of at least
20 bytes that fits in the buffer, and a total length that covers the header and fits in the buffer (bytes past
the total length are Ethernet padding, and the caller should stop there).  It does not verify the header
checksum; OVS does not either, and :func:`pyvswitch.packet.checksum.ipv4_header_checksum_ok` is there when
needed.  ICMP errors quote a truncated inner IPv4 header, so ``check_length=False`` skips the total-length check.

``flags`` is the 3-bit field (reserved, DF, MF) and ``frag_off`` the 13-bit offset in 8-byte units, exactly as on
the wire and as Scapy names them ``flags`` and ``frag``.  Options are kept raw; :func:`ipv4_options` splits them.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from pyvswitch.packet.addr import IpLike, ip4
from pyvswitch.packet.checksum import ipv4_header_checksum
from pyvswitch.packet.constants import IPV4_DF, IPV4_MF
from pyvswitch.packet.errors import Malformed, truncated

Buffer = bytes | bytearray | memoryview

_IPV4 = struct.Struct("!BBHHHBBH4s4s")
IPV4_HEADER_LEN = _IPV4.size  # 20


class Ipv4(NamedTuple):
    """A parsed IPv4 header."""

    ihl: int  # Header length in 32-bit words (5 without options).
    tos: int  # DSCP (6 bits) and ECN (2 bits).
    total_length: int
    ident: int
    flags: int  # IPV4_DF, IPV4_MF and the reserved bit.
    frag_off: int  # Fragment offset in 8-byte units.
    ttl: int
    proto: int
    csum: int
    src: bytes
    dst: bytes
    options: bytes = b""

    @property
    def header_length(self) -> int:
        return self.ihl * 4

    @property
    def dscp(self) -> int:
        return self.tos >> 2

    @property
    def ecn(self) -> int:
        return self.tos & 3

    @property
    def df(self) -> bool:
        return bool(self.flags & IPV4_DF)

    @property
    def mf(self) -> bool:
        return bool(self.flags & IPV4_MF)

    @property
    def is_fragment(self) -> bool:
        """True for any fragment: more fragments follow or this is not the first."""
        return bool(self.flags & IPV4_MF) or self.frag_off != 0

    @property
    def is_later_fragment(self) -> bool:
        """True for a fragment other than the first, which carries no upper-layer header."""
        return self.frag_off != 0


def parse_ipv4(buf: Buffer, offset: int = 0, check_length: bool = True) -> tuple[Ipv4, int]:
    """Parse the IPv4 header at ``offset``; return it and the offset of its payload (``offset + ihl * 4``).

    The payload ends at ``offset + total_length``.  Raises :class:`Malformed` as described in the module docs.
    """
    try:
        vihl, tos, total_length, ident, frag, ttl, proto, csum, src, dst = _IPV4.unpack_from(buf, offset)
    except struct.error:
        raise truncated("ipv4", IPV4_HEADER_LEN, len(buf) - offset) from None
    if vihl >> 4 != 4:
        raise Malformed(f"ipv4: version {vihl >> 4}")
    ihl = vihl & 0x0F
    hlen = ihl * 4
    if hlen < IPV4_HEADER_LEN:
        raise Malformed(f"ipv4: header length {hlen} < 20")
    avail = len(buf) - offset
    if check_length:
        if total_length < hlen:
            raise Malformed(f"ipv4: total length {total_length} < header length {hlen}")
        if total_length > avail:
            raise truncated("ipv4", total_length, avail)
    elif hlen > avail:
        raise truncated("ipv4", hlen, avail)
    options = bytes(buf[offset + 20 : offset + hlen]) if hlen > 20 else b""
    return (
        Ipv4(ihl, tos, total_length, ident, frag >> 13, frag & 0x1FFF, ttl, proto, csum, src, dst, options),
        offset + hlen,
    )


def ipv4_options(options: bytes) -> tuple[tuple[int, bytes], ...]:
    """Split raw IPv4 options into ``(type, data)`` pairs, stopping at End of Option List.

    No Operation (type 1) is returned with empty data.  A length that is less than 2 or runs past the end raises
    :class:`Malformed`.
    """
    out = []
    i, n = 0, len(options)
    while i < n:
        kind = options[i]
        if kind == 0:
            break
        if kind == 1:
            out.append((1, b""))
            i += 1
            continue
        if i + 1 >= n:
            raise Malformed("ipv4: truncated option")
        length = options[i + 1]
        if length < 2 or i + length > n:
            raise Malformed(f"ipv4: bad option length {length}")
        out.append((kind, bytes(options[i + 2 : i + length])))
        i += length
    return tuple(out)


def ipv4(
    src: IpLike,
    dst: IpLike,
    proto: int,
    payload: bytes = b"",
    ttl: int = 64,
    tos: int = 0,
    ident: int = 0,
    flags: int = 0,
    frag_off: int = 0,
    options: bytes = b"",
    total_length: int | None = None,
    csum: int | None = None,
) -> bytes:
    """Build an IPv4 header followed by ``payload``.

    Options are zero-padded to a multiple of 4 bytes.  ``total_length`` and ``csum`` are computed unless given
    (give them to build deliberately wrong packets).
    """
    if len(options) % 4:
        options += bytes(4 - len(options) % 4)
    hlen = IPV4_HEADER_LEN + len(options)
    if hlen > 60:
        raise ValueError("IPv4 options longer than 40 bytes")
    if total_length is None:
        total_length = hlen + len(payload)
    header = (
        _IPV4.pack(
            0x40 | (hlen // 4), tos, total_length, ident, (flags << 13) | frag_off, ttl, proto, 0,
            ip4(src), ip4(dst),
        )
        + options
    )
    if csum is None:
        csum = ipv4_header_checksum(header)
    return header[:10] + csum.to_bytes(2, "big") + header[12:] + payload
