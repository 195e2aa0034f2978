"""ICMPv4 (RFC 792), ICMPv6 (RFC 4443) and IPv6 neighbour discovery (RFC 4861).

Both ICMP parsers read the fixed 8 bytes every message starts with: type, code, checksum and the 4-byte
type-specific word (``rest``: identifier and sequence number of an echo, the flags of a neighbour
advertisement, the MTU of a packet-too-big, ...).  Neighbour discovery is a separate step, :func:`parse_nd`,
because a flow key wants the ICMPv6 type and code even when the ND body is broken; Open vSwitch likewise fills
``tp_src``/``tp_dst`` before it looks at the ND target and options.

:func:`parse_nd` decodes all five ND messages.  NS, NA and redirect carry a target address (redirect also a
destination); every message ends with options, which are kept generically as :class:`NdOption` values, while
the first Ethernet-sized source and target link-layer address options are also reported as ``sll`` and ``tll``
(the ``nd_sll``/``nd_tll`` flow fields).  RFC 4861 makes a zero-length option invalid, so it raises
:class:`Malformed`, as does an option that runs past the message; as in OVS, fewer than 8 trailing bytes are
ignored because no option is that short.  Whether a repeated SLL/TLL option invalidates the packet (OVS says it
does) is left to the caller, who can see every option.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import NamedTuple

from pyvswitch.packet.addr import IpLike, MacLike, ip6, mac
from pyvswitch.packet.checksum import icmp4_checksum, icmp6_checksum
from pyvswitch.packet.constants import (
    ICMP_ECHO_REPLY,
    ICMP_ECHO_REQUEST,
    ICMPV6_ECHO_REPLY,
    ICMPV6_ECHO_REQUEST,
    ND_NA_OVERRIDE,
    ND_NA_SOLICITED,
    ND_NEIGHBOR_ADVERT,
    ND_NEIGHBOR_SOLICIT,
    ND_OPT_SOURCE_LINKADDR,
    ND_OPT_TARGET_LINKADDR,
    ND_REDIRECT,
    ND_ROUTER_ADVERT,
    ND_ROUTER_SOLICIT,
)
from pyvswitch.packet.errors import Malformed, truncated

Buffer = bytes | bytearray | memoryview

_ICMP = struct.Struct("!BBH4s")
ICMP_HEADER_LEN = _ICMP.size  # 8
_ICMP_BUILD = struct.Struct("!BBHI")


class Icmp4(NamedTuple):
    """The fixed part of an ICMPv4 message."""

    type: int
    code: int
    csum: int
    rest: bytes  # The 4 type-specific bytes.

    @property
    def ident(self) -> int:
        """Identifier of an echo request or reply."""
        return int.from_bytes(self.rest[:2], "big")

    @property
    def seq(self) -> int:
        """Sequence number of an echo request or reply."""
        return int.from_bytes(self.rest[2:], "big")


class Icmp6(NamedTuple):
    """The fixed part of an ICMPv6 message."""

    type: int
    code: int
    csum: int
    rest: bytes  # The 4 type-specific bytes.

    @property
    def ident(self) -> int:
        """Identifier of an echo request or reply."""
        return int.from_bytes(self.rest[:2], "big")

    @property
    def seq(self) -> int:
        """Sequence number of an echo request or reply."""
        return int.from_bytes(self.rest[2:], "big")

    @property
    def nd_flags(self) -> int:
        """The 32-bit word after the checksum: a neighbour advertisement's R/S/O flags (``ND_NA_*``)."""
        return int.from_bytes(self.rest, "big")


def _parse_icmp(proto: str, buf: Buffer, offset: int) -> tuple[int, int, int, bytes]:
    try:
        return _ICMP.unpack_from(buf, offset)
    except struct.error:
        raise truncated(proto, ICMP_HEADER_LEN, len(buf) - offset) from None


def parse_icmp4(buf: Buffer, offset: int = 0) -> tuple[Icmp4, int]:
    """Parse the 8-byte ICMPv4 header at ``offset``; return it and the offset of the message body."""
    return Icmp4(*_parse_icmp("icmp", buf, offset)), offset + ICMP_HEADER_LEN


def parse_icmp6(buf: Buffer, offset: int = 0) -> tuple[Icmp6, int]:
    """Parse the 8-byte ICMPv6 header at ``offset``; return it and the offset of the message body."""
    return Icmp6(*_parse_icmp("icmpv6", buf, offset)), offset + ICMP_HEADER_LEN


class NdOption(NamedTuple):
    """A neighbour discovery option: its type and its bytes after the type and length octets."""

    type: int
    data: bytes


class Nd(NamedTuple):
    """The body of a neighbour discovery message."""

    target: bytes | None  # NS, NA and redirect: the target address.
    sll: bytes | None  # The first source link-layer address option, if 6 bytes.
    tll: bytes | None  # The first target link-layer address option, if 6 bytes.
    options: tuple[NdOption, ...] = ()
    dest: bytes | None = None  # Redirect: the destination address.


# Offset of the options from the start of the ICMPv6 message, per ND type.
_ND_OPTIONS_AT = {
    ND_ROUTER_SOLICIT: 8,
    ND_ROUTER_ADVERT: 16,
    ND_NEIGHBOR_SOLICIT: 24,
    ND_NEIGHBOR_ADVERT: 24,
    ND_REDIRECT: 40,
}
ND_TYPES = frozenset(_ND_OPTIONS_AT)


def is_nd(icmp6: Icmp6) -> bool:
    """True if the ICMPv6 header is a neighbour discovery message (RFC 4861 requires code 0)."""
    return icmp6.type in _ND_OPTIONS_AT and icmp6.code == 0


def parse_nd(buf: Buffer, offset: int = 0, end: int | None = None) -> Nd:
    """Parse the neighbour discovery message whose ICMPv6 header starts at ``offset`` and which ends at
    ``end`` (by default the end of ``buf``; pass the end of the IPv6 payload)."""
    if end is None or end > len(buf):
        end = len(buf)
    if end - offset < 1:
        raise truncated("nd", 1, end - offset)
    nd_type = buf[offset]
    opt_at = _ND_OPTIONS_AT.get(nd_type)
    if opt_at is None:
        raise Malformed(f"nd: ICMPv6 type {nd_type} is not neighbour discovery")
    if end - offset < opt_at:
        raise truncated("nd", opt_at, end - offset)
    target = bytes(buf[offset + 8 : offset + 24]) if opt_at >= 24 else None
    dest = bytes(buf[offset + 24 : offset + 40]) if nd_type == ND_REDIRECT else None
    sll = tll = None
    options = []
    off = offset + opt_at
    while end - off >= 8:
        opt_type = buf[off]
        opt_len = buf[off + 1] * 8
        if opt_len == 0:
            raise Malformed("nd: option with length 0")
        if opt_len > end - off:
            raise truncated("nd: option", opt_len, end - off)
        data = bytes(buf[off + 2 : off + opt_len])
        options.append(NdOption(opt_type, data))
        if opt_len == 8:
            if opt_type == ND_OPT_SOURCE_LINKADDR and sll is None:
                sll = data[:6]
            elif opt_type == ND_OPT_TARGET_LINKADDR and tll is None:
                tll = data[:6]
        off += opt_len
    return Nd(target, sll, tll, tuple(options), dest)


# Builders.


def _rest(rest: int | bytes) -> int:
    return rest if isinstance(rest, int) else int.from_bytes(rest, "big")


def icmp4(icmp_type: int, code: int = 0, rest: int | bytes = 0, payload: bytes = b"") -> bytes:
    """Build an ICMPv4 message with its checksum; ``rest`` is the 4 type-specific bytes (or an int)."""
    msg = _ICMP_BUILD.pack(icmp_type, code, 0, _rest(rest)) + payload
    return msg[:2] + icmp4_checksum(msg).to_bytes(2, "big") + msg[4:]


def icmp4_echo(ident: int = 0, seq: int = 0, payload: bytes = b"", reply: bool = False) -> bytes:
    """Build an ICMPv4 echo request (or reply)."""
    return icmp4(ICMP_ECHO_REPLY if reply else ICMP_ECHO_REQUEST, 0, (ident << 16) | seq, payload)


def icmp6(
    src: IpLike, dst: IpLike, icmp_type: int, code: int = 0, rest: int | bytes = 0, payload: bytes = b""
) -> bytes:
    """Build an ICMPv6 message with its checksum over the pseudo-header of ``src`` and ``dst``."""
    msg = _ICMP_BUILD.pack(icmp_type, code, 0, _rest(rest)) + payload
    return msg[:2] + icmp6_checksum(ip6(src), ip6(dst), msg).to_bytes(2, "big") + msg[4:]


def icmp6_echo(
    src: IpLike, dst: IpLike, ident: int = 0, seq: int = 0, payload: bytes = b"", reply: bool = False
) -> bytes:
    """Build an ICMPv6 echo request (or reply)."""
    return icmp6(src, dst, ICMPV6_ECHO_REPLY if reply else ICMPV6_ECHO_REQUEST, 0, (ident << 16) | seq, payload)


def nd_option(opt_type: int, data: bytes) -> bytes:
    """Encode an ND option, zero-padding it to a multiple of 8 bytes."""
    total = len(data) + 2
    total += -total % 8
    if total > 255 * 8:
        raise ValueError("ND option too long")
    return bytes((opt_type, total // 8)) + data + bytes(total - 2 - len(data))


def _lla_options(opt_type: int, addr: MacLike | None, options: Sequence[bytes]) -> bytes:
    head = nd_option(opt_type, mac(addr)) if addr is not None else b""
    return head + b"".join(options)


def nd_ns(
    src: IpLike, dst: IpLike, target: IpLike, sll: MacLike | None = None, options: Sequence[bytes] = ()
) -> bytes:
    """Build a neighbour solicitation; ``options`` are extra encoded options (see :func:`nd_option`)."""
    body = ip6(target) + _lla_options(ND_OPT_SOURCE_LINKADDR, sll, options)
    return icmp6(src, dst, ND_NEIGHBOR_SOLICIT, 0, 0, body)


def nd_na(
    src: IpLike,
    dst: IpLike,
    target: IpLike,
    tll: MacLike | None = None,
    flags: int = ND_NA_SOLICITED | ND_NA_OVERRIDE,
    options: Sequence[bytes] = (),
) -> bytes:
    """Build a neighbour advertisement with R/S/O ``flags`` (``ND_NA_ROUTER`` | ...)."""
    body = ip6(target) + _lla_options(ND_OPT_TARGET_LINKADDR, tll, options)
    return icmp6(src, dst, ND_NEIGHBOR_ADVERT, 0, flags, body)


def nd_rs(src: IpLike, dst: IpLike, sll: MacLike | None = None, options: Sequence[bytes] = ()) -> bytes:
    """Build a router solicitation."""
    return icmp6(src, dst, ND_ROUTER_SOLICIT, 0, 0, _lla_options(ND_OPT_SOURCE_LINKADDR, sll, options))
