"""C's strtoul/strtol as Open vSwitch meets them (glibc, 64-bit): pyvswitch.util.cnum."""

from __future__ import annotations

from typing import Any

import pytest

from pyvswitch.util.cnum import strtoul

U64 = (1 << 64) - 1


@pytest.mark.parametrize(("text", "kw", "want"), [
    ("10", {}, (10, 2, False)),
    ("010", {}, (8, 3, False)),
    ("0x1f", {}, (31, 4, False)),
    ("0x", {}, (0, 1, False)),                        # the 0 is read, the x is not
    ("0xg", {"base": 16}, (0, 1, False)),
    ("  +7z", {}, (7, 4, False)),
    ("-1", {}, (U64, 2, False)),                      # strtoul negates modulo 2**64
    ("18446744073709551616", {}, (U64, 20, True)),
    ("-18446744073709551616", {}, (U64, 21, True)),   # out of range saturates whatever the sign
    ("9223372036854775808", {"signed": True}, ((1 << 63) - 1, 19, True)),
    ("-9223372036854775808", {"signed": True}, (-(1 << 63), 20, False)),
    ("-9223372036854775809", {"signed": True}, (-(1 << 63), 20, True)),
    ("65536", {"bits": 16}, (0xFFFF, 5, True)),
    ("", {}, (None, 0, False)),
    (" -", {}, (None, 0, False)),
    ("019", {"base": 10}, (19, 3, False)),
])
def test_like_glibc(text: str, kw: dict[str, Any], want: tuple[int | None, int, bool]) -> None:
    assert strtoul(text, **kw) == want


def test_from_an_index_and_text_of_any_length() -> None:
    assert strtoul("key=42,", 4) == (42, 6, False)
    assert strtoul("x", 0) == (None, 0, False)
    long = "9" * 100_000                  # past Python's limit on int() of a digit string
    assert strtoul(long) == (U64, 100_000, True)
    assert strtoul(long, signed=True) == ((1 << 63) - 1, 100_000, True)
