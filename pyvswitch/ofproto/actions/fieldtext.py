"""Field values as the action syntax reads and writes them (``set_field``, ``learn``, ``load`` messages).

This follows ovs-ofctl's rules for values inside actions, which differ in small ways from the match syntax in
``pyvswitch.flow.values``: integers are checked against the field's width in bytes, not bits (the validity of the
value is a separate check with its own message); ``*`` means "value 0, mask 0"; a mask is left out of the output
when it covers every byte of the field; hexadecimal zero prints as ``0``; IPv6 addresses print as the C library's
``inet_ntop`` prints them (``::1.2.3.4`` for an IPv4-compatible address).  Ethernet, IPv4 and flag formats are
delegated to ``pyvswitch.flow.values``.
"""

from __future__ import annotations

import ipaddress
import re

from pyvswitch.flow import values as V
from pyvswitch.flow.fields import Field, Format
from pyvswitch.ofproto.actions import lex
from pyvswitch.ofproto.actions.errors import ActionParseError

__all__ = [
    "format_field_value",
    "format_integer",
    "full_mask",
    "parse_field_value",
    "parse_ipv4_scan",
    "value_is_valid",
]


def full_mask(f: Field) -> int:
    """All ones over the bytes of the field (what ovs-ofctl treats as "exact")."""
    return (1 << (8 * f.nbytes)) - 1


def format_integer(f: Field, v: int, m: int | None) -> str:
    """An integer field value (and mask) as ovs-ofctl prints it: decimal or hexadecimal by the field's format,
    the mask always hexadecimal."""
    s = V.c_hex(v) if f.fmt is Format.HEX else str(v)
    if m is not None:
        s += "/" + V.c_hex(m)
    return s


def format_field_value(f: Field, v: int, m: int | None = None) -> str:
    """``v`` (and mask ``m``; None or all ones means exact) in the text of field ``f``."""
    if m is not None:
        if m == 0:
            return "ANY"
        if m & full_mask(f) == full_mask(f):
            m = None
    fmt = f.fmt
    if fmt in (Format.OFP_PORT, Format.OFP_PORT_OXM):
        if m is None:
            return lex.format_port(v & 0xFFFF if fmt is Format.OFP_PORT else _port_from_ofp11(v))
        return format_integer(f, v, m)
    if fmt in (Format.DECIMAL, Format.HEX):
        return format_integer(f, v, m)
    if fmt is Format.IPV6:
        return V.format_ipv6_masked(v, (1 << 128) - 1 if m is None else m)
    if fmt is Format.IPV4:
        return V.format_ipv4_masked(v, 0xFFFFFFFF if m is None else m)
    if fmt is Format.ETHERNET:
        return V.format_mac(v) + ("" if m is None else "/" + V.format_mac(m))
    return V.format_masked(f, v, f.value_mask if m is None else m)


def _port_from_ofp11(v: int) -> int:
    return v - lex.OFPP11_OFFSET if v >= lex.OFPP11_MAX else v


# --- parsing ------------------------------------------------------------------------------------------------------
_IPV4_SCAN = re.compile(r"\s*[+-]?(\d+)\.\s*[+-]?(\d+)\.\s*[+-]?(\d+)\.\s*[+-]?(\d+)")


def parse_ipv4_scan(s: str, pos: int = 0) -> tuple[int, int] | None:
    """Four dot-separated decimal numbers at ``s[pos:]`` as ovs-ofctl scans them (each kept modulo 256); returns
    (address, end position) or None."""
    m = _IPV4_SCAN.match(s, pos)
    if not m:
        return None
    v = 0
    for g in m.groups():
        v = (v << 8) | (int(g) & 0xFF)
    return v, m.end()


def _parse_ipv4_masked(f: Field, s: str) -> tuple[int, int | None]:
    r = parse_ipv4_scan(s)
    if r is not None:
        ip, end = r
        if end == len(s):
            return ip, None
        if s[end] == "/":
            r2 = parse_ipv4_scan(s, end + 1)
            if r2 is not None and r2[1] == len(s):
                return ip, r2[0]
            mm = re.fullmatch(r"\s*([+-]?\d+)", s[end + 1:])
            if mm:
                n = int(mm.group(1))
                if not 0 <= n <= 32:
                    raise ActionParseError(f"{s}: IPv4 network prefix bits not between 0 and 32, inclusive")
                return ip, ((1 << 32) - 1) ^ ((1 << (32 - n)) - 1)
    raise ActionParseError(f"{s}: invalid IP address")


_IPV6_CHARS = re.compile(r"\s*([0-9a-fA-F:.]{1,46})")


def _ipv6_pton(s: str) -> int | None:
    try:
        return int(ipaddress.IPv6Address(s))
    except ValueError:
        return None


def _parse_ipv6_masked(f: Field, s: str) -> tuple[int, int | None]:
    m = _IPV6_CHARS.match(s)
    ip = _ipv6_pton(m.group(1)) if m else None
    if m is None or ip is None:
        raise ActionParseError(f"{s}: invalid IPv6 address")
    rest = s[m.end():]
    if not rest:
        return ip, None
    mm = re.fullmatch(r"/\s*([+-]?\d+)", rest)
    if mm:
        n = int(mm.group(1))
        if not 0 <= n <= 128:
            raise ActionParseError(f"{s}: IPv6 network prefix bits not between 0 and 128, inclusive")
        return ip, ((1 << 128) - 1) ^ ((1 << (128 - n)) - 1)
    mm = re.fullmatch(r"/\s*([0-9a-fA-F:.]{1,46})", rest)
    if mm:
        mask = _ipv6_pton(mm.group(1))
        if mask is None:
            raise ActionParseError(f"{s}: Invalid IPv6 mask")
        return ip, mask
    raise ActionParseError(f"{s}: invalid IPv6 address")


def _parse_integer(f: Field, s: str) -> tuple[int, int | None]:
    value, err, tail = lex.parse_int_string(s, f.nbytes)
    what = "value"
    mask: int | None = None
    if err is None and tail < len(s) and s[tail] != "/":
        err = lex.EINVAL
    if err is None and tail < len(s):
        what = "mask"
        rest = s[tail + 1:]
        mask, err, t2 = lex.parse_int_string(rest, f.nbytes)
        if err is None and t2 != len(rest):
            err = lex.EINVAL
    if err == lex.ERANGE:
        raise ActionParseError(f"{s}: {what} too large for {f.nbytes}-byte field {f.name}")
    if err is not None:
        raise ActionParseError(f"{s}: bad syntax for {f.name} {what}")
    assert value is not None
    return value, mask


def parse_field_value(f: Field, s: str) -> tuple[int, int | None]:
    """``value[/mask]`` for field ``f`` as ovs-ofctl reads it in ``set_field``; mask None means exact.

    Raises ActionParseError with ovs-ofctl's message."""
    if s == "*":
        return 0, 0
    fmt = f.fmt
    if fmt in (Format.DECIMAL, Format.HEX):
        value, mask = _parse_integer(f, s)
    elif fmt in (Format.OFP_PORT, Format.OFP_PORT_OXM):
        port = lex.parse_port(s)
        if port is None:
            raise ActionParseError(f"{s}: invalid or unknown port for {f.name}")
        value, mask = port, None
    elif fmt is Format.ETHERNET:
        m = re.fullmatch(r"([0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2}){5})(?:/([0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2}){5}))?",
                         s)
        if not m:
            raise ActionParseError(f"{s}: invalid Ethernet address")
        value = V.parse_mac(m.group(1))
        mask = V.parse_mac(m.group(2)) if m.group(2) else None
    elif fmt is Format.IPV4:
        value, mask = _parse_ipv4_masked(f, s)
    elif fmt is Format.IPV6:
        value, mask = _parse_ipv6_masked(f, s)
    else:
        try:
            value, mask = V.parse_value(f, s)
        except V.FieldValueError as e:
            raise ActionParseError(str(e)) from None
    if mask is not None and mask & full_mask(f) == full_mask(f):
        mask = None
    if mask is not None and not f.maskable and mask != 0:
        raise ActionParseError(f"{s}: invalid mask for field {f.name}")
    return value, mask


# Fields whose valid values go beyond the bits the flow key keeps for them.
_VALID_LIMIT = {"vlan_vid": 0x1FFF}


def value_is_valid(f: Field, value: int) -> bool:
    """Whether ``value`` is a valid value of ``f`` (ovs-ofctl's ``mf_is_value_valid``): bits the field cannot
    hold must be zero; ``vlan_vid`` may carry the OpenFlow 1.2 "VLAN present" bit 0x1000."""
    if f.fmt in (Format.OFP_PORT, Format.OFP_PORT_OXM):
        return True
    limit = _VALID_LIMIT.get(f.name, f.value_mask)
    return not value & ~limit
