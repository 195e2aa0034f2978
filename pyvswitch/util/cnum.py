"""C's ``strtoul``/``strtol`` family, as glibc does them on the 64-bit systems Open vSwitch runs on.

Open vSwitch reads numbers in flows, actions and interface options with these functions, so what it accepts
(octal after a leading ``0``, ``0x`` hexadecimal, a sign, white space before, text after) and what it makes of
values out of range (saturation) is what they do.  Python's ``int()`` differs on every one of those points, and
refuses digit strings longer than its conversion limit: text of any length is read here in linear time.
"""

from __future__ import annotations

__all__ = ["strtoul"]

_SPACE = " \t\n\v\f\r"           # isspace() in the "C" locale
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def strtoul(s: str, i: int = 0, base: int = 0, *, bits: int = 64, signed: bool = False
            ) -> tuple[int | None, int, bool]:
    """C ``strtoul(s + i, &end, base)`` for a ``bits``-bit type (``signed``: ``strtol``).  Returns (the value, or
    None when there are no digits; the index just past the number, ``i`` without digits; whether it was out of
    range).

    White space and a sign may come first.  Base 0 reads ``0x``/``0X`` hexadecimal, a leading ``0`` as octal,
    else decimal; base 16 also takes a ``0x`` prefix.  Out of range, the value saturates: at the type's
    maximum for ``strtoul`` whatever the sign, at its maximum or minimum for ``strtol``.  ``strtoul`` negates an
    in-range negative number modulo 2**bits, as C does."""
    n = len(s)
    j = i
    while j < n and s[j] in _SPACE:
        j += 1
    neg = False
    if j < n and s[j] in "+-":
        neg = s[j] == "-"
        j += 1
    b = base
    if b in (0, 16) and s[j:j + 2] in ("0x", "0X") and j + 2 < n and s[j + 2].lower() in _DIGITS[:16]:
        j += 2
        b = 16
    elif b == 0:
        b = 8 if s[j:j + 1] == "0" else 10
    valid = _DIGITS[:b]
    top = 1 << bits
    start = j
    value = 0
    over = False
    while j < n and s[j].lower() in valid:
        if not over:        # past the limit the digits are only consumed
            value = value * b + valid.index(s[j].lower())
            over = value >= top
        j += 1
    if j == start:
        return None, i, False
    if signed:
        lim = top >> 1
        if neg:
            return (-lim, j, True) if over or value > lim else (-value, j, False)
        return (lim - 1, j, True) if over or value >= lim else (value, j, False)
    if over:
        return top - 1, j, True
    return ((top - value) % top if neg else value), j, False
