"""Field values in ovs-ofctl text: parsing ``value[/mask]`` and printing a value or a masked value.

Each ``Format`` of the field table has one parser and one printer here, so that matches, ``set_field``, ``load``
and the trace output all spell values the same way.  Errors raise ``FieldValueError`` whose ``str()`` is the
message ovs-ofctl prints (without the ``ovs-ofctl: `` prefix), so the CLI can print it unchanged.

Open vSwitch parses values with C library routines, and users meet their quirks, so we reproduce them rather than
"fix" them (each was checked against ``ovs-ofctl parse-flow`` 3.1):

* Integers (``parse_int_string``): ``0x`` hex of any length (leading zeros ignored, ``0x`` alone is 0), otherwise
  ``strtoull`` with base 0 - so a leading ``0`` means octal (``010`` is 8, ``08`` is a syntax error), a sign is
  accepted and ``-1`` wraps around.  A value or mask wider than the field's byte width is an error, but values
  wider than the field's *bit* width are accepted here; the match layer then drops the excess bits as OVS does
  (``dl_vlan=4096`` matches VLAN 0).
* IPv4 addresses are scanned as four ``%hhu`` numbers: ``01`` is 1, ``256`` wraps to 0, ``-1`` is 255.  A prefix
  length is a signed decimal (``/024`` is /24).  IPv6 uses the C library's ``inet_pton``/``inet_ntop``, so the
  printed form is glibc's (``::ffff:1.2.3.4`` stays dotted).
* MAC bytes are ``%hhx``: one to many hex digits, an optional ``0x``, a sign; the last two digits win.
* Ports (``ofputil_port_from_string``): decimal only, the reserved names in any case, OpenFlow 1.1 32-bit
  numbers for the reserved range; warnings go to the ``ofp_port`` vlog module like OVS's.
* Flags (``parse_flags``): ``+a-b`` masked names, ``a|b`` names, numbers, or ``number/mask``.

Values are plain ints in the field's wire width (``Field.nbytes`` bytes, big-endian number), the way OVS keeps an
``mf_value``: ``vlan_vid`` includes the 0x1000 "present" bit, ``ip_dscp`` is the 6-bit DSCP, ``tun_metadataN`` is
up to 124 bytes.  A mask is an int of the same width; ``parse_field`` always returns one (all ones when the text
gave none), ``parse_value`` returns None instead of an all-ones mask.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import socket
from collections.abc import Iterator, Mapping

from pyvswitch.flow.fields import Field, Format
from pyvswitch.util import vlog
from pyvswitch.util.cnum import strtoul

__all__ = [
    "CT_STATE_NAMES",
    "FRAG_NAMES",
    "FRAG_VALUES",
    "OFPP_ALL",
    "OFPP_ANY",
    "OFPP_CONTROLLER",
    "OFPP_FLOOD",
    "OFPP_IN_PORT",
    "OFPP_LOCAL",
    "OFPP_MAX",
    "OFPP_NONE",
    "OFPP_NORMAL",
    "OFPP_TABLE",
    "OFPP_UNSET",
    "PORT_NAMES",
    "PORT_NUMBERS",
    "TCP_FLAG_NAMES",
    "TUN_FLAG_NAMES",
    "FieldValueError",
    "cidr_mask",
    "ct_state_name",
    "format_flags",
    "format_flags_masked",
    "format_hex_bytes",
    "format_ipv4_masked",
    "format_ipv6",
    "format_ipv6_masked",
    "format_mac",
    "format_masked",
    "format_packet_type",
    "format_port",
    "format_value",
    "is_cidr",
    "parse_field",
    "parse_flags",
    "parse_int",
    "parse_int_string",
    "parse_ipv4_masked",
    "parse_ipv6_masked",
    "parse_mac",
    "parse_port",
    "parse_value",
    "port_from_ofp11",
    "port_to_ofp11",
    "prefix_len",
    "tcp_flag_name",
    "tun_flag_name",
]


class FieldValueError(ValueError):
    """A value that does not parse or does not fit its field; ``str()`` is the message ovs-ofctl would print."""


_port_log = vlog.Vlog("ofp_port")

# ---------------------------------------------------------------------------------------------------------------
# Ports.  Open vSwitch keeps ports as 16-bit OpenFlow 1.0 numbers; the reserved ones sit at the top.
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
OFPP_ANY = OFPP_NONE
OFPP_FIRST_RESV = OFPP_UNSET
OFPP11_MAX = 0xFFFFFF00
OFPP11_OFFSET = 0xFFFF0000

# How ovs-ofctl prints each reserved port (0xffff prints as ANY; NONE is an input synonym).
PORT_NAMES: dict[int, str] = {
    OFPP_IN_PORT: "IN_PORT", OFPP_TABLE: "TABLE", OFPP_NORMAL: "NORMAL", OFPP_FLOOD: "FLOOD", OFPP_ALL: "ALL",
    OFPP_CONTROLLER: "CONTROLLER", OFPP_LOCAL: "LOCAL", OFPP_ANY: "ANY", OFPP_UNSET: "UNSET",
}
PORT_NUMBERS: dict[str, int] = {v: k for k, v in PORT_NAMES.items()}
PORT_NUMBERS["NONE"] = OFPP_NONE

_deprecated_port_warned = False   # OVS logs that warning once per process

# ---------------------------------------------------------------------------------------------------------------
# Flags, in bit order (bit 0 first).
TCP_FLAG_NAMES = ["fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns"]
_TCP_FLAG_NAMES_ALL = TCP_FLAG_NAMES + ["[200]", "[400]", "[800]"]
CT_STATE_NAMES = ["new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat"]
TUN_FLAG_NAMES = ["oam"]
_TUN_FLAG_NAMES_ALL = ["oam", "df", "csum", "key"]

TCP_FLAGS_ALLOWED = 0x0FFF
CT_STATE_ALLOWED = 0xFF
TUN_FLAGS_ALLOWED = 0x1


def _name_of(names: list[str], bit: int) -> str | None:
    i = bit.bit_length() - 1
    return names[i] if bit and bit == 1 << i and i < len(names) else None


def tcp_flag_name(bit: int) -> str | None:
    return _name_of(_TCP_FLAG_NAMES_ALL, bit)


def ct_state_name(bit: int) -> str | None:
    return _name_of(CT_STATE_NAMES, bit)


def tun_flag_name(bit: int) -> str | None:
    return _name_of(_TUN_FLAG_NAMES_ALL, bit)


# ip_frag: the names OVS accepts, in its lookup order, as (name, mask, value) over bits any=1, later=2.
FRAG_NAMES: list[tuple[str, int, int]] = [
    ("no", 3, 0), ("first", 3, 1), ("later", 3, 3), ("no", 1, 0), ("yes", 1, 1), ("not_later", 2, 0),
    ("later", 2, 2),
]
# The value/mask pair each name parses to (first table entry wins, as in OVS).
FRAG_VALUES: dict[str, tuple[int, int]] = {}
for _n, _m, _v in FRAG_NAMES:
    FRAG_VALUES.setdefault(_n, (_v, _m))


# ---------------------------------------------------------------------------------------------------------------
# C scanning primitives.

_SPACE = " \t\n\v\f\r"
_HEX = "0123456789abcdefABCDEF"


def _strtoull(s: str, i: int, base: int) -> tuple[int | None, int, bool]:
    """C ``strtoull(s + i, &end, base)``: (value or None if no digits, end index, overflow)."""
    return strtoul(s, i, base)


def _strtoll(s: str, i: int, base: int) -> tuple[int | None, int, bool]:
    """C ``strtoll``: like ``_strtoull`` but signed, saturating at the 64-bit limits."""
    return strtoul(s, i, base, signed=True)


def _scan_uint(s: str, i: int, base: int, bits: int) -> tuple[int | None, int]:
    """A ``%hhu``/``%hhx``-style conversion: strtoull, truncated to ``bits``."""
    v, end, _ = _strtoull(s, i, base)
    if v is None:
        return None, i
    return v & ((1 << bits) - 1), end


def _scan_int(s: str, i: int, base: int = 10) -> tuple[int | None, int]:
    """A ``%d`` / ``%i`` conversion into a C ``int`` (64-bit saturation, then 32-bit wrap)."""
    v, end, _ = _strtoll(s, i, base)
    if v is None:
        return None, i
    v &= 0xFFFFFFFF
    return (v - (1 << 32) if v & 0x80000000 else v), end


class _IntParseError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code   # "EINVAL" or "ERANGE"


def parse_int_string(s: str, nbytes: int, i: int = 0) -> tuple[int, int]:
    """OVS ``parse_int_string``: parse an integer at ``s[i:]`` for a ``nbytes``-wide field.

    Returns (value, index just past it).  ``0x`` hex may be as long as the field (leading zeros are free, white
    space between digits is skipped, no digits at all means 0); anything else goes through ``strtoull`` base 0
    and is limited to 64 bits.  Raises ``_IntParseError("EINVAL")`` when nothing parses and
    ``_IntParseError("ERANGE")`` when the value does not fit."""
    if s.startswith(("0x", "0X"), i):
        j = i + 2
        n = len(s)
        v = 0
        sig = 0
        while True:
            while j < n and s[j] in " \t\r\n":
                j += 1
            if j < n and s[j] in _HEX:
                h = int(s[j], 16)
                if h or sig:
                    sig += 1
                    if (sig + 1) // 2 > nbytes:
                        raise _IntParseError("ERANGE")
                    v = (v << 4) | h
                j += 1
            else:
                break
        return v, j
    dv, end, overflow = _strtoull(s, i, 0)
    if dv is None:
        raise _IntParseError("EINVAL")
    if overflow or dv >> (8 * nbytes):
        raise _IntParseError("ERANGE")
    return dv, end


def parse_int(text: str) -> int:
    """An unsigned integer as ``str_to_u64``/``strtoull`` would take it (decimal, ``0x`` hex, octal)."""
    v, end, overflow = _strtoull(text, 0, 0)
    if v is None or end != len(text) or overflow:
        raise FieldValueError(f"invalid numeric format {text}")
    return v


# ---------------------------------------------------------------------------------------------------------------
# Per-format parsers.  Each returns (value, mask) in the field's wire width.

def _full(f: Field) -> int:
    return (1 << (8 * f.nbytes)) - 1


def _parse_integer(f: Field, s: str) -> tuple[int, int]:
    what = "value"
    try:
        value, j = parse_int_string(s, f.nbytes)
        if j < len(s) and s[j] != "/":
            raise _IntParseError("EINVAL")
        if j < len(s):
            what = "mask"
            mask, k = parse_int_string(s, f.nbytes, j + 1)
            if k != len(s):
                raise _IntParseError("EINVAL")
        else:
            mask = _full(f)
    except _IntParseError as e:
        if e.code == "ERANGE":
            raise FieldValueError(f"{s}: {what} too large for {f.nbytes}-byte field {f.name}") from None
        raise FieldValueError(f"{s}: bad syntax for {f.name} {what}") from None
    return value, mask


def _scan_mac(s: str, i: int) -> tuple[int | None, int]:
    v = 0
    j = i
    for k in range(6):
        if k:
            if j >= len(s) or s[j] != ":":
                return None, i
            j += 1
        b, j2 = _scan_uint(s, j, 16, 8)
        if b is None:
            return None, i
        v = (v << 8) | b
        j = j2
    return v, j


def parse_mac(text: str) -> int:
    """A whole string as a MAC address (``eth_addr_from_string``)."""
    v, j = _scan_mac(text, 0)
    if v is None or j != len(text):
        raise FieldValueError(f"{text}: invalid Ethernet address")
    return v


def _parse_ethernet(s: str) -> tuple[int, int]:
    v, j = _scan_mac(s, 0)
    if v is not None and j == len(s):
        return v, (1 << 48) - 1
    if v is not None and j < len(s) and s[j] == "/":
        m, k = _scan_mac(s, j + 1)
        if m is not None and k == len(s):
            return v, m
    raise FieldValueError(f"{s}: invalid Ethernet address")


def _scan_ipv4(s: str, i: int) -> tuple[int | None, int]:
    v = 0
    j = i
    for k in range(4):
        if k:
            if j >= len(s) or s[j] != ".":
                return None, i
            j += 1
        b, j2 = _scan_uint(s, j, 10, 8)
        if b is None:
            return None, i
        v = (v << 8) | b
        j = j2
    return v, j


def cidr_mask(n: int, bits: int) -> int:
    """The mask of an ``n``-bit prefix in a ``bits``-bit field."""
    return ((1 << bits) - 1) ^ ((1 << (bits - n)) - 1)


def is_cidr(mask: int, bits: int) -> bool:
    inv = ~mask & ((1 << bits) - 1)
    return not inv & (inv + 1)


def prefix_len(mask: int, bits: int) -> int:
    """The number of leading one bits OVS reports for a mask (``ip_count_cidr_bits``: ``bits - ctz``)."""
    if not mask:
        return 0
    return bits - ((mask & -mask).bit_length() - 1)


def parse_ipv4_masked(s: str) -> tuple[int, int]:
    """OVS ``ip_parse_masked``: ``a.b.c.d``, ``a.b.c.d/e.f.g.h`` or ``a.b.c.d/N``."""
    ip, j = _scan_ipv4(s, 0)
    if ip is not None:
        if j < len(s) and s[j] == "/":
            m, k = _scan_ipv4(s, j + 1)
            if m is not None:
                if k != len(s):
                    raise FieldValueError(f"{s}: invalid IP address")
                return ip, m
            plen, k = _scan_int(s, j + 1, 10)
            if plen is not None:
                if plen < 0 or plen > 32:
                    raise FieldValueError(f"{s}: IPv4 network prefix bits not between 0 and 32, inclusive")
                if k != len(s):
                    raise FieldValueError(f"{s}: invalid IP address")
                return ip, cidr_mask(plen, 32)
        if j == len(s):
            return ip, 0xFFFFFFFF
    raise FieldValueError(f"{s}: invalid IP address")


_IPV6_CHARS = set("0123456789abcdefABCDEF:.")


def _scan_ipv6_text(s: str, i: int) -> tuple[str | None, int]:
    """``%46[0123456789abcdefABCDEF:.]``."""
    j = i
    while j < len(s) and j - i < 46 and s[j] in _IPV6_CHARS:
        j += 1
    if j == i:
        return None, i
    return s[i:j], j


def _pton6(text: str) -> int | None:
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
    except (OSError, ValueError):
        return None


def parse_ipv6_masked(s: str) -> tuple[int, int]:
    """OVS ``ipv6_parse_masked``: an address, optionally ``/N`` or ``/mask``."""
    full = (1 << 128) - 1
    j = 0
    while j < len(s) and s[j] in _SPACE:
        j += 1
    text, j = _scan_ipv6_text(s, j)
    ip = _pton6(text) if text is not None else None
    if ip is None:
        raise FieldValueError(f"{s}: invalid IPv6 address")
    mask = full
    if j < len(s) and s[j] == "/":
        plen, k = _scan_int(s, j + 1, 10)
        if plen is not None:
            if plen < 0 or plen > 128:
                raise FieldValueError(f"{s}: IPv6 network prefix bits not between 0 and 128, inclusive")
            mask = cidr_mask(plen, 128)
            j = k
        else:
            mtext, k = _scan_ipv6_text(s, j + 1)
            if mtext is not None:
                m = _pton6(mtext)
                if m is None:
                    raise FieldValueError(f"{s}: Invalid IPv6 mask")
                mask = m
                j = k
    if j != len(s):
        raise FieldValueError(f"{s}: invalid IPv6 address")
    return ip, mask


def port_to_ofp11(port: int) -> int:
    """A 16-bit OpenFlow 1.0 port number as a 32-bit OpenFlow 1.1 one (reserved ports move to the top)."""
    return port if port < OFPP_MAX else port + OFPP11_OFFSET


def port_from_ofp11(port32: int) -> int | None:
    """A 32-bit OpenFlow 1.1 port number as a 16-bit one, or None if it has no 16-bit equivalent."""
    if port32 < OFPP_MAX:
        return port32
    if port32 >= OFPP11_MAX:
        return port32 - OFPP11_OFFSET
    return None


def parse_port(text: str) -> int | None:
    """OVS ``ofputil_port_from_string``: the 16-bit port ``text`` names, or None.

    Logs the warnings ovs-ofctl logs (``ofp_port|WARN|...``) for negative, deprecated and out-of-range numbers."""
    if text.startswith("-"):
        _port_log.warn(f"Negative value {text} is not a valid port number.")
        return None
    v, end, overflow = _strtoll(text, 0, 10)
    if v is not None and end == len(text) and not overflow and 0 <= v <= 0xFFFFFFFF:
        if v < OFPP_MAX:
            pass
        elif v < OFPP_FIRST_RESV:
            _port_log.warn(f"port {v} is a reserved OF1.0 port number that will be translated to "
                           f"{v + OFPP11_OFFSET} when talking to an OF1.1 or later controller")
        elif v <= OFPP_NONE:
            name = PORT_NAMES.get(v, str(v))
            global _deprecated_port_warned
            if not _deprecated_port_warned:
                _deprecated_port_warned = True
                _port_log.warn(f"referring to port {name} as {v} is deprecated for compatibility with OpenFlow "
                               f"1.1 and later")
        elif v < OFPP11_MAX:
            _port_log.warn(f"port {v} is outside the supported range 0 through ffff or 0xffffff00 through "
                           f"0xffffffff")
            return None
        else:
            v -= OFPP11_OFFSET
        return v
    upper = text.upper()
    if upper in PORT_NUMBERS:
        return PORT_NUMBERS[upper]
    return None


_PORT_NAME_MAP: contextvars.ContextVar[Mapping[int, str] | None] = contextvars.ContextVar("port_names",
                                                                                         default=None)
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.-]+")


@contextlib.contextmanager
def port_names(names: Mapping[int, str] | None) -> Iterator[None]:
    """Within the block, ``format_port`` prints ports by their names in ``names`` (ovs-ofctl ``--names``)."""
    token = _PORT_NAME_MAP.set(names)
    try:
        yield
    finally:
        _PORT_NAME_MAP.reset(token)


def format_port(port: int) -> str:
    """A 16-bit port as ovs-ofctl prints it: a reserved name, the port's name under ``port_names`` (quoted when
    it would not read back as a name: a number, a reserved word or special characters), or the number."""
    reserved = PORT_NAMES.get(port)
    if reserved is not None:
        return reserved
    names = _PORT_NAME_MAP.get()
    if names:
        name = names.get(port)
        if name is not None:
            if _PLAIN_NAME.fullmatch(name) and not name.isdigit() and name.upper() not in PORT_NUMBERS:
                return name
            return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(port)


def port_names_active() -> bool:
    """Whether ``format_port`` is printing names now."""
    return bool(_PORT_NAME_MAP.get())


def _parse_flags_text(s: str, name_of, field_name: str, allowed: int) -> tuple[int, int]:
    """OVS ``parse_flags`` with a mask: returns (flags, mask); mask 0xffffffff when no mask was written."""
    # "number/number"
    v, j = _scan_int(s, 0, 0)
    if v is not None and j < len(s) and s[j] == "/":
        m, k = _scan_int(s, j + 1, 0)
        if m is not None and k > 0:
            v &= 0xFFFFFFFF
            m &= 0xFFFFFFFF
            if v & ~allowed or m & ~allowed:
                raise FieldValueError(f"{s}: unknown {field_name} flag(s)")
            return v, m
    names = [(1 << b, name_of(1 << b)) for b in range(32)]
    names = [(bit, nm) for bit, nm in names if nm]
    if s[:1] in ("+", "-"):
        flags = mask = 0
        i = 0
        while i < len(s):
            if s[i] not in "+-":
                raise FieldValueError(f"{s[i:]}: {field_name} must be preceded by '+' (for SET) or '-' "
                                      f"(NOT SET)")
            setbit = s[i] == "+"
            i += 1
            rest = s[i:]
            for bit, nm in names:
                after = rest[len(nm):len(nm) + 1]
                if rest.startswith(nm) and after in ("+", "-", ""):
                    if mask & bit:
                        raise FieldValueError(f"{rest}: Each {field_name} flag can be specified only once")
                    if not bit & allowed:
                        raise FieldValueError(f"{rest}: unknown {field_name} flag(s)")
                    if setbit:
                        flags |= bit
                    mask |= bit
                    i += len(nm)
                    break
            else:
                raise FieldValueError(f"{rest}: unknown {field_name} flag(s)")
        return flags, mask
    result = 0
    n = 0
    while n < len(s):
        num, end, _ = _strtoll(s, n, 0)
        if num is not None:
            num &= 0xFFFFFFFFFFFFFFFF
            if num & ~allowed:
                raise FieldValueError(f"{s}: unknown {field_name} flag(s)")
            n = end + (1 if end < len(s) and s[end] == "|" else 0)
            result |= num
            continue
        for bit, nm in names:
            after = s[n + len(nm):n + len(nm) + 1]
            if s.startswith(nm, n) and after in ("|", ""):
                if not bit & allowed:
                    raise FieldValueError(f"{s}: unknown {field_name} flag(s)")
                result |= bit
                n += len(nm) + (1 if after == "|" else 0)
                break
        else:
            raise FieldValueError(f"{s}: unknown {field_name} flag(s)")
    return result, 0xFFFFFFFF


def parse_flags(f: Field, text: str) -> tuple[int, int]:
    """Flag syntax for ``tcp_flags``, ``ct_state`` and ``tun_flags`` -> (value, mask) in the field's width."""
    if f.fmt is Format.TCP_FLAGS:
        v, m = _parse_flags_text(text, tcp_flag_name, "TCP", TCP_FLAGS_ALLOWED)
    elif f.fmt is Format.CT_STATE:
        v, m = _parse_flags_text(text, ct_state_name, "ct_state", CT_STATE_ALLOWED)
    elif f.fmt is Format.TUN_FLAGS:
        v, m = _parse_flags_text(text, tun_flag_name, "tunnel", TUN_FLAGS_ALLOWED)
    else:
        raise AssertionError(f)
    width = _full(f)
    return v & width, m & width


def _parse_frag(s: str) -> tuple[int, int]:
    low = s.lower()
    for name, mask, value in FRAG_NAMES:
        if low == name:
            return value, mask | 0xFC
    raise FieldValueError(f"{s}: unknown fragment type (valid types are \"no\", \"yes\", \"first\", \"later\", "
                          f"\"not_later\"")


def _parse_packet_type(s: str) -> tuple[int, int]:
    if not s.startswith("("):
        raise FieldValueError(f"{s}: bad syntax for packet type missing '('")
    rest = s[1:]
    try:
        ns, j = parse_int_string(rest, 2)
    except _IntParseError:
        raise FieldValueError(f"{rest}: bad syntax for packet type ns") from None
    if j >= len(rest) or rest[j] != ",":
        raise FieldValueError(f"{rest}: bad syntax for packet type missing ','")
    rest2 = rest[j + 1:]
    try:
        nt, k = parse_int_string(rest2, 2)
    except _IntParseError:
        raise FieldValueError(f"{rest2}: bad syntax for packet type ns_type") from None
    if k >= len(rest2) or rest2[k] != ")":
        raise FieldValueError(f"{rest2}: bad syntax for packet type missing ')'")
    return (ns << 16) | nt, 0xFFFFFFFF


def parse_field(f: Field, text: str) -> tuple[int, int]:
    """OVS ``mf_parse``: ``text`` as a value of ``f`` with optional mask -> (value, mask), both ints of the field's
    wire width.  ``*`` means "any" (0/0).  Raises FieldValueError with ovs-ofctl's message.

    A mask on a field that is not maskable must be all zeros or all ones (``invalid mask for field``)."""
    if text == "*":
        return 0, 0
    fmt = f.fmt
    if fmt in (Format.DECIMAL, Format.HEX):
        value, mask = _parse_integer(f, text)
    elif fmt is Format.CT_STATE or fmt is Format.TCP_FLAGS or fmt is Format.TUN_FLAGS:
        value, mask = parse_flags(f, text)
    elif fmt is Format.ETHERNET:
        value, mask = _parse_ethernet(text)
    elif fmt is Format.IPV4:
        value, mask = parse_ipv4_masked(text)
    elif fmt is Format.IPV6:
        value, mask = parse_ipv6_masked(text)
    elif fmt is Format.OFP_PORT:
        port = parse_port(text)
        if port is None:
            raise FieldValueError(f"{text}: invalid or unknown port for {f.name}")
        value, mask = port, 0xFFFF
    elif fmt is Format.OFP_PORT_OXM:
        port = parse_port(text)
        if port is None:
            raise FieldValueError(f"{text}: port value out of range for {f.name}")
        value, mask = port_to_ofp11(port), 0xFFFFFFFF
    elif fmt is Format.FRAG:
        value, mask = _parse_frag(text)
    elif fmt is Format.PACKET_TYPE:
        value, mask = _parse_packet_type(text)
    else:
        raise AssertionError(fmt)
    if not f.maskable and mask not in (0, _full(f)):
        raise FieldValueError(f"{text}: invalid mask for field {f.name}")
    return value, mask


def parse_value(f: Field, text: str) -> tuple[int, int | None]:
    """Like ``parse_field`` but the mask is None when it is all ones (an exact value)."""
    value, mask = parse_field(f, text)
    return value, (None if mask == _full(f) else mask)


# ---------------------------------------------------------------------------------------------------------------
# Printing.

def c_hex(v: int) -> str:
    """``v`` as C's ``%#x`` prints it, which ovs-ofctl uses: ``0`` for zero, ``0x..`` otherwise."""
    return f"{v:#x}" if v else "0"


def format_mac(v: int) -> str:
    return ":".join(f"{b:02x}" for b in v.to_bytes(6, "big"))


def format_ipv4(v: int) -> str:
    return ".".join(str(b) for b in v.to_bytes(4, "big"))


def format_ipv4_masked(v: int, m: int) -> str:
    """``ip_format_masked``: the address, then ``/N`` for a prefix mask or ``/a.b.c.d`` otherwise."""
    s = format_ipv4(v)
    if m != 0xFFFFFFFF:
        s += f"/{prefix_len(m, 32)}" if is_cidr(m, 32) else "/" + format_ipv4(m)
    return s


def format_ipv6(v: int) -> str:
    """An IPv6 address as glibc's ``inet_ntop`` prints it."""
    return socket.inet_ntop(socket.AF_INET6, v.to_bytes(16, "big"))


def format_ipv6_masked(v: int, m: int) -> str:
    s = format_ipv6(v)
    if m != (1 << 128) - 1:
        s += f"/{prefix_len(m, 128)}" if is_cidr(m, 128) else "/" + format_ipv6(m)
    return s


def format_hex_bytes(v: int, nbytes: int) -> str:
    """OVS ``ds_put_hex``: ``0x`` and the hex digits without leading zeros, or ``0`` for zero."""
    return f"{v:#x}" if v else "0"


def format_flags(v: int, name_of, sep: str = "|") -> str:
    """OVS ``format_flags``: the names of the set bits joined by ``sep``, unnamed bits as one hex number."""
    if not v:
        return "0"
    out = []
    bad = 0
    bit = 1
    while bit <= v:
        if v & bit:
            nm = name_of(bit)
            if nm:
                out.append(nm)
            else:
                bad |= bit
        bit <<= 1
    if bad:
        out.append(f"{bad:#x}")
    return sep.join(out)


def format_flags_masked(v: int, m: int, name_of, max_mask: int) -> str:
    """OVS ``format_flags_masked``: exact (mask = ``max_mask``) as ``a|b``, otherwise ``+a-b`` per masked bit."""
    if m == max_mask:
        return format_flags(v, name_of)
    if not m:
        return "0/0"
    out = []
    bit = 1
    while bit <= m:
        if m & bit:
            nm = name_of(bit)
            out.append(("+" if v & bit else "-") + (nm if nm else "[Unknown]"))
        bit <<= 1
    return "".join(out)


def _u16_masked(v: int, m: int) -> str:
    if not m:
        return "*"
    s = f"{v:#x}" if v > 9 else str(v)
    if m != 0xFFFF:
        s += f"/{m:#x}"
    return s


def format_packet_type(v: int, m: int = 0xFFFFFFFF) -> str:
    """``eth`` for Ethernet, else ``packet_type=(NS,TYPE)`` (numbers above 9 in hex)."""
    if v == 0 and m == 0xFFFFFFFF:
        return "eth"
    return f"packet_type=({_u16_masked(v >> 16, m >> 16)},{_u16_masked(v & 0xFFFF, m & 0xFFFF)})"


def format_value(f: Field, v: int) -> str:
    """``v`` as ovs-ofctl prints an exact value of ``f`` (``mf_format``)."""
    return format_masked(f, v, _full(f))


def format_masked(f: Field, v: int, m: int) -> str:
    """OVS ``mf_format``: ``v``/``m`` in the field's wire width, as ``set_field``, ``learn`` and ``ofctl`` print
    a field value; an all-ones mask prints no mask and an all-zero mask prints ``ANY``."""
    full = _full(f)
    if m == 0:
        return "ANY"
    exact = m == full
    fmt = f.fmt
    if fmt is Format.OFP_PORT_OXM and exact:
        p = port_from_ofp11(v)
        return format_port(p if p is not None else 0)
    if fmt is Format.OFP_PORT and exact:
        return format_port(v)
    if fmt in (Format.DECIMAL, Format.HEX, Format.OFP_PORT, Format.OFP_PORT_OXM):
        s = format_hex_bytes(v, f.nbytes) if fmt is Format.HEX else str(v)
        if not exact:
            s += "/" + format_hex_bytes(m, f.nbytes)
        return s
    if fmt is Format.CT_STATE:
        return format_flags_masked(v, m, ct_state_name, 0xFFFF)
    if fmt is Format.ETHERNET:
        return format_mac(v) + ("" if exact else "/" + format_mac(m))
    if fmt is Format.IPV4:
        return format_ipv4_masked(v, m)
    if fmt is Format.IPV6:
        return format_ipv6_masked(v, m)
    if fmt is Format.FRAG:
        m &= 3
        v &= m
        for name, fm, fv in FRAG_NAMES:
            if (fv, fm) == (v, m):
                return name
        return "<error>"
    if fmt is Format.TUN_FLAGS:
        return format_flags_masked(v, m & TUN_FLAGS_ALLOWED, tun_flag_name, TUN_FLAGS_ALLOWED)
    if fmt is Format.TCP_FLAGS:
        return format_flags_masked(v, m & 0x0FFF, tcp_flag_name, 0x0FFF)
    if fmt is Format.PACKET_TYPE:
        return format_packet_type(v, m)
    raise AssertionError(fmt)
