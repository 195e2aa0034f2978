"""IPv6 (RFC 8200) and its extension-header chain.

:func:`parse_ipv6` parses the fixed 40-byte header and then walks the extension headers that Open vSwitch walks
(hop-by-hop options, routing, fragment, destination options and the authentication header), so that the caller
gets what a flow key needs in one call: the final next-header (``proto``), the fragment information and the offset
of the upper-layer header.  Each extension header is kept as a :class:`Ipv6ExtHeader` with its raw body, and
:func:`ipv6_options` decodes an options body, because nothing in the switch's fast path needs more.

The walk stops after a fragment header whose offset is not zero: what follows is the middle of a datagram, not a
header.  ``proto`` is then the fragment's next header (OVS's ``nw_proto`` for a later fragment) and
``is_later_fragment`` tells the caller not to parse an upper layer.  ESP, No Next Header and every upper-layer
protocol end the walk too.

The payload length is checked against the buffer (bytes past it are link-layer padding), and extension headers
must fit within the payload; ``check_length=False`` relaxes this for the inner header quoted by an ICMPv6 error.

Checksums: when a routing header with segments left is present, RFC 8200 section 8.1 puts the *final*
destination in the pseudo-header.  This module does not interpret routing types, so callers that checksum such
packets must pass that address themselves.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import NamedTuple

from pyvswitch.packet.addr import IpLike, ip6
from pyvswitch.packet.constants import (
    IPPROTO_AH,
    IPPROTO_DSTOPTS,
    IPPROTO_FRAGMENT,
    IPPROTO_HOPOPTS,
    IPPROTO_ROUTING,
)
from pyvswitch.packet.errors import Malformed, truncated

Buffer = bytes | bytearray | memoryview

_IPV6 = struct.Struct("!IHBB16s16s")
IPV6_HEADER_LEN = _IPV6.size  # 40
_FRAG = struct.Struct("!BxHI")

# The extension headers the walk steps over.
IPV6_EXT_HEADERS = frozenset({IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_FRAGMENT, IPPROTO_DSTOPTS, IPPROTO_AH})


class Ipv6ExtHeader(NamedTuple):
    """One extension header: its own protocol number, the next header, and its body after the first 2 bytes."""

    kind: int
    next_header: int
    data: bytes

    @property
    def routing_type(self) -> int:
        """The routing type of a routing header."""
        if self.kind != IPPROTO_ROUTING:
            raise AttributeError("not a routing header")
        return self.data[0]

    @property
    def segments_left(self) -> int:
        """The segments-left count of a routing header."""
        if self.kind != IPPROTO_ROUTING:
            raise AttributeError("not a routing header")
        return self.data[1]


class Ipv6Frag(NamedTuple):
    """The content of a fragment header."""

    next_header: int
    offset: int  # In 8-byte units.
    more: int  # The M flag: 1 if more fragments follow.
    ident: int


class Ipv6(NamedTuple):
    """A parsed IPv6 header with its extension-header chain."""

    tc: int  # Traffic class: DSCP (6 bits) and ECN (2 bits).
    flow_label: int
    payload_length: int
    next_header: int  # The fixed header's next-header field.
    hop_limit: int
    src: bytes
    dst: bytes
    proto: int  # The next header after the last extension header walked: the upper-layer protocol.
    exts: tuple[Ipv6ExtHeader, ...] = ()
    frag: Ipv6Frag | None = None

    @property
    def dscp(self) -> int:
        return self.tc >> 2

    @property
    def ecn(self) -> int:
        return self.tc & 3

    @property
    def is_fragment(self) -> bool:
        return self.frag is not None

    @property
    def is_later_fragment(self) -> bool:
        """True for a fragment other than the first: the bytes after the chain are not an upper-layer header."""
        return self.frag is not None and self.frag.offset != 0


def parse_ipv6(buf: Buffer, offset: int = 0, check_length: bool = True) -> tuple[Ipv6, int]:
    """Parse the IPv6 header and its extension headers at ``offset``; return it and the upper-layer offset.

    The payload ends at ``offset + 40 + payload_length``.  Raises :class:`Malformed` on a wrong version, a
    payload length past the buffer, or a truncated extension header.
    """
    try:
        vtcfl, plen, nh, hlim, src, dst = _IPV6.unpack_from(buf, offset)
    except struct.error:
        raise truncated("ipv6", IPV6_HEADER_LEN, len(buf) - offset) from None
    if vtcfl >> 28 != 6:
        raise Malformed(f"ipv6: version {vtcfl >> 28}")
    off = offset + IPV6_HEADER_LEN
    if check_length:
        end = off + plen
        if end > len(buf):
            raise truncated("ipv6", IPV6_HEADER_LEN + plen, len(buf) - offset)
    else:
        end = len(buf)
    tc = (vtcfl >> 20) & 0xFF
    fl = vtcfl & 0xFFFFF
    if nh not in IPV6_EXT_HEADERS:
        return Ipv6(tc, fl, plen, nh, hlim, src, dst, nh, (), None), off
    proto, exts, frag, off = _walk(buf, off, end, nh)
    return Ipv6(tc, fl, plen, nh, hlim, src, dst, proto, exts, frag), off


def _walk(
    buf: Buffer, off: int, end: int, nh: int
) -> tuple[int, tuple[Ipv6ExtHeader, ...], Ipv6Frag | None, int]:
    """Walk the extension headers from ``off``; return the final next header, the headers, the fragment info
    and the offset after the last header walked."""
    exts = []
    frag = None
    while nh in IPV6_EXT_HEADERS:
        if end - off < 8:
            # Every extension header is at least 8 bytes.
            raise truncated("ipv6: extension header", 8, end - off)
        if nh == IPPROTO_FRAGMENT:
            fnh, fo, ident = _FRAG.unpack_from(buf, off)
            frag = Ipv6Frag(fnh, fo >> 3, fo & 1, ident)
            exts.append(Ipv6ExtHeader(nh, fnh, bytes(buf[off + 2 : off + 8])))
            off += 8
            nh = fnh
            if frag.offset:
                break
            continue
        enh = buf[off]
        hlen = (buf[off + 1] + 2) * 4 if nh == IPPROTO_AH else (buf[off + 1] + 1) * 8
        if end - off < hlen:
            raise truncated("ipv6: extension header", hlen, end - off)
        exts.append(Ipv6ExtHeader(nh, enh, bytes(buf[off + 2 : off + hlen])))
        off += hlen
        nh = enh
    return nh, tuple(exts), frag, off


def ipv6_options(data: bytes) -> tuple[tuple[int, bytes], ...]:
    """Decode the body of a hop-by-hop or destination options header into ``(type, data)`` pairs.

    Pad1 and PadN are dropped.  An option running past the end raises :class:`Malformed`.
    """
    out = []
    i, n = 0, len(data)
    while i < n:
        kind = data[i]
        if kind == 0:
            i += 1
            continue
        if i + 2 > n or i + 2 + data[i + 1] > n:
            raise Malformed("ipv6: truncated option")
        length = data[i + 1]
        if kind != 1:
            out.append((kind, bytes(data[i + 2 : i + 2 + length])))
        i += 2 + length
    return tuple(out)


# Builders.


def ipv6_opts_body(options: Sequence[tuple[int, bytes]] = ()) -> bytes:
    """Encode options for a hop-by-hop or destination options header, padded (Pad1/PadN) to a multiple of 8
    bytes once the 2-byte header prefix is counted."""
    body = b"".join(bytes((kind, len(value))) + value for kind, value in options)
    pad = -(len(body) + 2) % 8
    if pad == 1:
        body += b"\x00"
    elif pad:
        body += bytes((1, pad - 2)) + bytes(pad - 2)
    return body


def ipv6_routing_body(routing_type: int, segments_left: int, data: bytes = b"") -> bytes:
    """Encode a routing header body: type, segments left and the type-specific data, zero-padded to 8n - 2.

    For type 0-style headers (types 0 and 2) ``data`` is 4 reserved bytes followed by the addresses.
    """
    body = bytes((routing_type, segments_left)) + data
    if len(body) < 6:
        body += bytes(6 - len(body))
    return body + bytes(-(len(body) + 2) % 8)


def ipv6_frag_body(offset: int, more: bool | int = False, ident: int = 0) -> bytes:
    """Encode a fragment header body (after next-header and reserved): offset in 8-byte units, M flag, id."""
    return struct.pack("!HI", (offset << 3) | int(bool(more)), ident)


def _ext(kind: int, nh: int, body: bytes) -> bytes:
    total = len(body) + 2
    if kind == IPPROTO_FRAGMENT:
        if total != 8:
            raise ValueError("a fragment header body is 6 bytes")
        return bytes((nh, 0)) + body
    if kind == IPPROTO_AH:
        if total % 4 or total < 12:
            raise ValueError("an AH header is a multiple of 4 bytes, at least 12")
        return bytes((nh, total // 4 - 2)) + body
    if total % 8:
        raise ValueError(f"extension header {kind} must be a multiple of 8 bytes, got {total}")
    return bytes((nh, total // 8 - 1)) + body


def ipv6(
    src: IpLike,
    dst: IpLike,
    next_header: int,
    payload: bytes = b"",
    hop_limit: int = 64,
    tc: int = 0,
    flow_label: int = 0,
    exts: Sequence[tuple[int, bytes]] = (),
    payload_length: int | None = None,
) -> bytes:
    """Build an IPv6 header, its extension headers and ``payload``.

    ``exts`` lists ``(kind, body)`` pairs in order, ``kind`` being the header's protocol number and ``body`` its
    content after the first two bytes (see :func:`ipv6_opts_body`, :func:`ipv6_routing_body`,
    :func:`ipv6_frag_body`).  The next-header fields are chained automatically, the last one being
    ``next_header``, the upper-layer protocol.
    """
    chain = b""
    nh = next_header
    for kind, body in reversed(exts):
        chain = _ext(kind, nh, body) + chain
        nh = kind
    if payload_length is None:
        payload_length = len(chain) + len(payload)
    vtcfl = (6 << 28) | (tc << 20) | flow_label
    return _IPV6.pack(vtcfl, payload_length, nh, hop_limit, ip6(src), ip6(dst)) + chain + payload
