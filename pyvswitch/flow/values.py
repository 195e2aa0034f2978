"""Field values in ovs-ofctl text: parsing ``value[/mask]`` and printing a value or a masked value.

Each ``Format`` of the field table has one parser and one printer here, so that matches, ``set_field``, ``load``
and the trace output all spell values the same way.  Errors raise ``FieldValueError`` with a message in the words
ovs-ofctl uses, so the CLI can print it unchanged.
"""

from __future__ import annotations

import ipaddress

from pyvswitch.flow.fields import Field, Format

__all__ = [
    "FieldValueError", "parse_value", "parse_int", "format_value", "format_masked", "format_mac", "parse_mac",
    "PORT_NAMES", "PORT_NUMBERS", "OFPP_MAX", "OFPP_IN_PORT", "OFPP_TABLE", "OFPP_NORMAL", "OFPP_FLOOD",
    "OFPP_ALL", "OFPP_CONTROLLER", "OFPP_LOCAL", "OFPP_NONE", "TCP_FLAG_NAMES", "CT_STATE_NAMES",
    "TUN_FLAG_NAMES", "FRAG_VALUES",
]


class FieldValueError(ValueError):
    """A value that does not parse or does not fit its field; ``str()`` is the message ovs-ofctl would print."""


# OpenFlow 1.0 reserved port numbers (16-bit), as Open vSwitch keeps them internally.
OFPP_MAX = 0xFF00
OFPP_UNSET = 0xFFF7
OFPP_IN_PORT = 0xFFF8
OFPP_TABLE = 0xFFF9
OFPP_NORMAL = 0xFFFA
OFPP_FLOOD = 0xFFFB
OFPP_ALL = 0xFFFC
OFPP_CONTROLLER = 0xFFFD
OFPP_LOCAL = 0xFFFE
OFPP_NONE = 0xFFFF

PORT_NAMES: dict[int, str] = {
    OFPP_UNSET: "UNSET", OFPP_IN_PORT: "IN_PORT", OFPP_TABLE: "TABLE", OFPP_NORMAL: "NORMAL",
    OFPP_FLOOD: "FLOOD", OFPP_ALL: "ALL", OFPP_CONTROLLER: "CONTROLLER", OFPP_LOCAL: "LOCAL", OFPP_NONE: "NONE",
}
PORT_NUMBERS: dict[str, int] = {v: k for k, v in PORT_NAMES.items()}
PORT_NUMBERS["ANY"] = OFPP_NONE

# Flag names in bit order; ovs-ofctl prints masked flags in this order (``+syn-ack``).
TCP_FLAG_NAMES = ["fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns"]
CT_STATE_NAMES = ["new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat"]
TUN_FLAG_NAMES = ["oam"]

# ip_frag: value/mask pairs by name (bit 0: is a fragment, bit 1: is a later fragment).
FRAG_VALUES: dict[str, tuple[int, int]] = {
    "no": (0, 1), "yes": (1, 1), "first": (1, 3), "later": (3, 3), "not_later": (0, 2),
}


def parse_int(text: str) -> int:
    """An unsigned integer in decimal or ``0x`` hex, as ovs-ofctl's str_to_* helpers accept."""
    t = text.strip()
    try:
        if t[:2].lower() == "0x":
            return int(t[2:], 16)
        if t.isdigit():
            return int(t, 10)
    except (ValueError, IndexError):
        pass
    raise FieldValueError(f"{text}: invalid numeric format")


def parse_mac(text: str) -> int:
    parts = text.split(":")
    if len(parts) != 6 or not all(1 <= len(p) <= 2 for p in parts):
        raise FieldValueError(f"{text}: invalid Ethernet address")
    try:
        return int.from_bytes(bytes(int(p, 16) for p in parts), "big")
    except ValueError:
        raise FieldValueError(f"{text}: invalid Ethernet address") from None


def format_mac(v: int) -> str:
    return ":".join(f"{b:02x}" for b in v.to_bytes(6, "big"))


def _parse_ipv4(text: str) -> int:
    try:
        return int(ipaddress.IPv4Address(text))
    except ValueError:
        raise FieldValueError(f"{text}: could not convert to IP address") from None


def _parse_ipv6(text: str) -> int:
    try:
        return int(ipaddress.IPv6Address(text))
    except ValueError:
        raise FieldValueError(f"{text}: could not convert to IPv6 address") from None


def _prefix_len(mask: int, bits: int) -> int | None:
    """The prefix length if ``mask`` is a CIDR mask of ``bits`` bits, else None."""
    inv = ~mask & ((1 << bits) - 1)
    if inv & (inv + 1):
        return None
    return bits - inv.bit_length()


def _cidr_mask(n: int, bits: int) -> int:
    return ((1 << bits) - 1) ^ ((1 << (bits - n)) - 1)


def _parse_flags(f: Field, text: str, names: list[str]) -> tuple[int, int]:
    """``+a-b`` or ``a|b`` flag syntax -> (value, mask)."""
    value = mask = 0
    t = text
    if t[0] in "+-":
        i = 0
        while i < len(t):
            sign = t[i]
            if sign not in "+-":
                raise FieldValueError(f"{f.name}: {t[i:]}: unknown flag")
            j = i + 1
            while j < len(t) and t[j] not in "+-":
                j += 1
            name = t[i + 1:j]
            if name not in names:
                raise FieldValueError(f"{name}: unknown {f.name} flag")
            bit = 1 << names.index(name)
            if mask & bit:
                raise FieldValueError(f"{f.name}: {name}: flag specified more than once")
            mask |= bit
            if sign == "+":
                value |= bit
            i = j
        return value, mask
    for name in t.split("|"):
        if name not in names:
            raise FieldValueError(f"{name}: unknown {f.name} flag")
        value |= 1 << names.index(name)
    return value, value


def _format_flags(value: int, mask: int, names: list[str]) -> str:
    out = []
    for i, name in enumerate(names):
        bit = 1 << i
        if mask & bit:
            out.append(("+" if value & bit else "-") + name)
    return "".join(out)


def _parse_port(f: Field, text: str) -> int:
    t = text.strip()
    if t.upper() in PORT_NUMBERS and not t.isdigit():
        return PORT_NUMBERS[t.upper()]
    try:
        n = parse_int(t)
    except FieldValueError:
        raise FieldValueError(f"{text}: port must be an OpenFlow port number or name") from None
    if f.fmt is Format.OFP_PORT_OXM:
        # OpenFlow 1.1+ 32-bit numbers: reserved ports 0xfffffff8.. map to the 16-bit ones.
        if n >= 0xFFFFFF00:
            n = n - 0xFFFF0000
        elif n >= OFPP_MAX:
            raise FieldValueError(f"{text}: port must be an OpenFlow port number or name")
    elif n > 0xFFFF:
        raise FieldValueError(f"{text}: port must be an OpenFlow port number or name")
    return n


def format_port(port: int) -> str:
    return PORT_NAMES.get(port, str(port))


def _parse_scalar(f: Field, text: str) -> int:
    fmt = f.fmt
    if fmt is Format.ETHERNET:
        return parse_mac(text)
    if fmt is Format.IPV4:
        return _parse_ipv4(text)
    if fmt is Format.IPV6:
        return _parse_ipv6(text)
    if fmt in (Format.OFP_PORT, Format.OFP_PORT_OXM):
        return _parse_port(f, text)
    return parse_int(text)


def parse_value(f: Field, text: str) -> tuple[int, int | None]:
    """Parse ``text`` as a value of ``f``, optionally with ``/mask``.

    Returns (value, mask) with mask None for an exact value.  Raises FieldValueError for values that do not parse,
    do not fit the field, or give a mask where the field takes none."""
    if not text:
        raise FieldValueError(f"{f.name}: missing value")
    fmt = f.fmt
    if fmt is Format.FRAG:
        if text in FRAG_VALUES:
            v, m = FRAG_VALUES[text]
            return v, m
        raise FieldValueError(f"{text}: unknown fragment type (valid types are \"no\", \"yes\", \"first\", "
                              f"\"later\", \"not_later\"")
    if fmt in (Format.TCP_FLAGS, Format.CT_STATE, Format.TUN_FLAGS) and text[0] in "+-" or (
            fmt in (Format.TCP_FLAGS, Format.CT_STATE, Format.TUN_FLAGS) and not text[0].isdigit()):
        names = {Format.TCP_FLAGS: TCP_FLAG_NAMES, Format.CT_STATE: CT_STATE_NAMES,
                 Format.TUN_FLAGS: TUN_FLAG_NAMES}[fmt]
        v, m = _parse_flags(f, text, names)
        return v, (m if m != f.value_mask else None)
    if fmt is Format.PACKET_TYPE:
        t = text.strip()
        if not (t.startswith("(") and t.endswith(")")):
            raise FieldValueError(f"{text}: invalid packet_type")
        ns, _, nt = t[1:-1].partition(",")
        return (parse_int(ns) << 16) | parse_int(nt), None
    value_text, slash, mask_text = text.partition("/")
    value = _parse_scalar(f, value_text)
    mask: int | None = None
    if slash:
        if fmt is Format.IPV4 and mask_text.isdigit() and "." not in mask_text:
            n = int(mask_text)
            if n > 32:
                raise FieldValueError(f"{mask_text}: network prefix bits not between 0 and 32")
            mask = _cidr_mask(n, 32)
        elif fmt is Format.IPV6 and mask_text.isdigit():
            n = int(mask_text)
            if n > 128:
                raise FieldValueError(f"{mask_text}: network prefix bits not between 0 and 128")
            mask = _cidr_mask(n, 128)
        else:
            mask = _parse_scalar(f, mask_text)
    limit = f.value_mask if f.fmt is not Format.OFP_PORT_OXM else 0xFFFF
    if value & ~limit:
        raise FieldValueError(f"{text}: value {value:#x} does not fit {f.name}")
    return value, mask


def _format_scalar(f: Field, v: int) -> str:
    fmt = f.fmt
    if fmt is Format.DECIMAL:
        return str(v)
    if fmt is Format.ETHERNET:
        return format_mac(v)
    if fmt is Format.IPV4:
        return str(ipaddress.IPv4Address(v))
    if fmt is Format.IPV6:
        return str(ipaddress.IPv6Address(v))
    if fmt in (Format.OFP_PORT, Format.OFP_PORT_OXM):
        return format_port(v)
    return f"{v:#x}"


def format_value(f: Field, v: int) -> str:
    """``v`` as ovs-ofctl prints an exact value of ``f``."""
    return format_masked(f, v, f.value_mask)


def format_masked(f: Field, v: int, m: int) -> str:
    """``v``/``m`` as ovs-ofctl prints them: no mask when exact, CIDR for prefix masks of IP fields."""
    fmt = f.fmt
    if fmt is Format.TCP_FLAGS:
        return _format_flags(v, m, TCP_FLAG_NAMES) if m != f.value_mask or True else ""
    if fmt is Format.CT_STATE:
        return _format_flags(v, m, CT_STATE_NAMES)
    if fmt is Format.TUN_FLAGS:
        return _format_flags(v, m, TUN_FLAG_NAMES)
    if fmt is Format.FRAG:
        for name, (fv, fm) in FRAG_VALUES.items():
            if (fv, fm) == (v, m):
                return name
        return f"{v:#x}/{m:#x}"
    if fmt is Format.PACKET_TYPE:
        return f"({v >> 16},{v & 0xFFFF:#x})"
    full = f.value_mask
    if m == full:
        return _format_scalar(f, v)
    if fmt is Format.IPV4:
        n = _prefix_len(m, 32)
        if n is not None:
            return f"{ipaddress.IPv4Address(v)}/{n}"
    if fmt is Format.IPV6:
        n = _prefix_len(m, 128)
        if n is not None:
            return f"{ipaddress.IPv6Address(v)}/{n}"
    return f"{_format_scalar(f, v)}/{_format_scalar(f, m)}"
