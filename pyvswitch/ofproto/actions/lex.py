"""The lexical layer of ovs-ofctl's action syntax: key/value splitting and the number, port and table readers.

ovs-ofctl reads numbers with the C library (``strtoul`` with base 0, ``atoi``...), so its action syntax inherits
their habits: ``010`` is octal, ``-1`` wraps around to the largest value, ``atoi`` ignores trailing garbage and
32-bit values silently drop their high bits.  The helpers here reproduce those habits on purpose, with the error
messages ovs-ofctl prints, because a user's flow text must mean the same thing to pyvswitch as to Open vSwitch.
Each helper raises ``ActionParseError``.

Warnings that ovs-ofctl logs while parsing (a reserved port number, a table out of range) go to the loggers named
after the Open vSwitch modules that log them: ``ofp_port`` and ``ofp_table``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from pyvswitch.ofproto.actions.errors import ActionParseError
from pyvswitch.util.cnum import strtoul

__all__ = [
    "Strtok",
    "c_atoi",
    "c_hex",
    "c_strtoul",
    "format_port",
    "format_table",
    "hex_dotted",
    "parse_hex_bytes",
    "parse_int_string",
    "parse_port",
    "parse_table",
    "split_key_values",
    "split_paren_value",
    "str_to_u8",
    "str_to_u16",
    "str_to_u32",
    "str_to_u64",
    "str_to_uint",
    "strtok",
]

port_log = logging.getLogger("ofp_port")
table_log = logging.getLogger("ofp_table")

_KEY_STOP = ":=(, \t\r\n"
_SEP = ", \t\r\n"


def _scan_value(s: str, i: int, stops: str) -> int:
    """The index where a value that starts at ``i`` ends: at the first character of ``stops`` that is not inside
    parentheses, or at the end of ``s`` (also when a parenthesis is left open)."""
    n = len(s)
    while i < n and s[i] not in stops:
        if s[i] == "(":
            depth = 0
            while True:
                if i >= n:
                    return n
                if s[i] == "(":
                    depth += 1
                elif s[i] == ")":
                    depth -= 1
                i += 1
                if depth <= 0:
                    break
        else:
            i += 1
    return i


def split_key_values(text: str) -> Iterator[tuple[str, str]]:
    """Split ``text`` into ``(key, value)`` pairs as ovs-ofctl does for action lists and action arguments.

    Pairs are separated by commas or white space.  A key ends at ``:``, ``=``, ``(``, a comma or white space.  After
    ``:`` or ``=`` the value runs to the next comma or white space; after ``(`` it runs to the matching ``)``, and
    ``key(x)->y`` keeps ``)->y`` in the value.  Parentheses nest inside values.  A key without a value gets ``""``.
    """
    s = text
    n = len(s)
    i = 0
    while True:
        while i < n and s[i] in _SEP:
            i += 1
        if i >= n:
            return
        k = i
        while i < n and s[i] not in _KEY_STOP:
            i += 1
        key = s[k:i]
        delim = s[i] if i < n else ""
        if delim:
            i += 1
        if delim in (":", "="):
            stops = _SEP
        elif delim == "(":
            stops = ")"
        else:
            yield key, ""
            continue
        v = i
        end = _scan_value(s, i, stops)
        if delim == "(" and s[end:end + 3] == ")->":
            end = _scan_value(s, end, _SEP)
        yield key, s[v:end]
        i = end + 1 if end < n else end


def split_paren_value(text: str) -> list[str]:
    """Split a parenthesized argument list at top-level commas (``a,b(c,d),e`` -> three parts)."""
    out = []
    i = 0
    start = 0
    depth = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return out


class Strtok:
    """C ``strtok_r`` over one string: each ``next(delims)`` skips delimiters, returns the token up to the next
    delimiter (None at the end) and consumes that one delimiter."""

    def __init__(self, s: str) -> None:
        self.s = s
        self.pos = 0

    def next(self, delims: str) -> str | None:
        s, i, n = self.s, self.pos, len(self.s)
        while i < n and s[i] in delims:
            i += 1
        if i >= n:
            self.pos = n
            return None
        j = i
        while j < n and s[j] not in delims:
            j += 1
        self.pos = j + 1 if j < n else n
        return s[i:j]


def strtok(s: str, delims: str) -> list[str]:
    """C ``strtok``: the non-empty runs of characters not in ``delims``."""
    out: list[str] = []
    cur: list[str] = []
    for ch in s:
        if ch in delims:
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


# --- C number conversions ---------------------------------------------------------------------------------------


def c_strtoul(s: str, base: int = 0, bits: int = 64, signed: bool = False) -> tuple[int, int, bool]:
    """C ``strtoul``/``strtol`` on ``s``: (value, index just past the number, out of range).

    An index of 0 means no number was found (value 0).  See :func:`pyvswitch.util.cnum.strtoul`."""
    v, end, erange = strtoul(s, 0, base, bits=bits, signed=signed)
    return (0, 0, False) if v is None else (v, end, erange)


def str_to_u64(s: str) -> int:
    """ovs-ofctl's ``str_to_u64``: strtoull with base 0, whole string."""
    if not s:
        raise ActionParseError("missing required numeric argument")
    v, end, erange = c_strtoul(s, 0, 64)
    if erange or end == 0 or end != len(s):
        raise ActionParseError(f"invalid numeric format {s}")
    return v


def str_to_u32(s: str) -> int:
    """ovs-ofctl's ``str_to_u32``: like ``str_to_u64`` and then truncated to 32 bits, as the C code does."""
    return str_to_u64(s) & 0xFFFFFFFF


def _str_to_int(s: str, base: int = 0) -> int | None:
    v, end, erange = c_strtoul(s, base, 64, signed=True)
    if erange or end == 0 or end != len(s) or not -(1 << 31) <= v < (1 << 31):
        return None
    return v


def str_to_uint(s: str) -> int | None:
    """C ``str_to_uint`` with base 10: None unless the whole string is a non-negative 32-bit decimal number."""
    v, end, erange = c_strtoul(s, 10, 64, signed=True)
    if erange or end == 0 or end != len(s) or not 0 <= v <= 0xFFFFFFFF:
        return None
    return v


def str_to_u16(s: str, name: str | None) -> int:
    """ovs-ofctl's ``str_to_u16``; the message names the value (``invalid max_len "x"``)."""
    v = _str_to_int(s)
    if v is None or not 0 <= v <= 0xFFFF:
        raise ActionParseError(f'invalid {name if name is not None else "(null)"} "{s}"')
    return v


def str_to_u8(s: str, name: str) -> int:
    v = _str_to_int(s)
    if v is None or not 0 <= v <= 0xFF:
        raise ActionParseError(f'invalid {name} "{s}"')
    return v


def c_atoi(s: str) -> int:
    """C ``atoi``: a leading decimal number, garbage after it ignored, 0 when there is none; as a 32-bit int."""
    v, end, _ = c_strtoul(s, 10, 64, signed=True)
    if end == 0:
        return 0
    return ((v + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


ERANGE = "ERANGE"
EINVAL = "EINVAL"


def parse_int_string(s: str, n_bytes: int) -> tuple[int | None, str | None, int]:
    """ovs-ofctl's ``parse_int_string``: an integer for a field of ``n_bytes`` bytes.

    ``0x`` hex may be as long as the field (white space between digits is skipped); decimal (or octal) must fit
    64 bits.  Returns (value, error, tail index): error is ``ERANGE`` when the value does not fit, ``EINVAL`` when
    there is no number."""
    if s[:2].lower() == "0x":
        i = 2
        digits: list[int] = []
        n = len(s)
        while True:
            while i < n and s[i] in " \t\r\n":
                i += 1
            if i < n and s[i].lower() in "0123456789abcdef":
                d = int(s[i], 16)
                if d or digits:
                    if (len(digits) + 2) // 2 > n_bytes:
                        return None, ERANGE, i
                    digits.append(d)
                i += 1
            else:
                break
        v = 0
        for d in digits:
            v = v * 16 + d
        return v, None, i
    v, end, erange = c_strtoul(s, 0, 64)
    if erange:
        return None, ERANGE, end
    if end == 0:
        return None, EINVAL, 0
    if v >> (8 * n_bytes):
        return None, ERANGE, end
    return v, None, end


def parse_hex_bytes(s: str) -> tuple[bytes, str]:
    """Pairs of hex digits, optionally separated by dots or white space; returns (bytes, unparsed tail)."""
    out = bytearray()
    i = 0
    n = len(s)
    while True:
        while i < n and s[i] in " .\t\r\n":
            i += 1
        pair = s[i:i + 2]
        if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
            out.append(int(pair, 16))
            i += 2
        else:
            return bytes(out), s[i:]


def hex_dotted(b: bytes) -> str:
    """Bytes as ovs-ofctl prints userdata and notes: ``01.02.0a``."""
    return ".".join(f"{x:02x}" for x in b)


# --- ports and tables -------------------------------------------------------------------------------------------
# Port numbers, names and their parsing are the field layer's (flow/values.py): one reading of ports for matches
# and actions alike.
from pyvswitch.flow.values import (  # noqa: F401 - re-exported to the action modules
    OFPP11_MAX,
    OFPP11_OFFSET,
    OFPP_ALL,
    OFPP_CONTROLLER,
    OFPP_FIRST_RESV,
    OFPP_FLOOD,
    OFPP_IN_PORT,
    OFPP_LOCAL,
    OFPP_MAX,
    OFPP_NONE,
    OFPP_NORMAL,
    OFPP_TABLE,
    OFPP_UNSET,
    c_hex,
    format_port,
    parse_port,
)


def parse_table(s: str) -> int | None:
    """A table number 0..255 as ovs-ofctl reads it (decimal only; pyvswitch has no table names here)."""
    if s.startswith("-"):
        table_log.warning("Negative value %s is not a valid table number.", s)
        return None
    n = str_to_uint(s)
    if n is None:
        return None
    if n > 255:
        table_log.warning("table %d is outside the supported range 0 through 255", n)
        return None
    return n


def format_table(t: int) -> str:
    return str(t)
