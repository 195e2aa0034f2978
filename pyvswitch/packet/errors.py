"""The one exception every parser in :mod:`pyvswitch.packet` raises.

Parsers read untrusted bytes.  Whatever is wrong with them (too short, a length field pointing past the end, a
version the parser does not understand) is reported as :class:`Malformed` and never as ``IndexError`` or
``struct.error``.  Flow extraction relies on that contract: it catches ``Malformed`` and keeps the layers parsed
so far, as Open vSwitch's ``miniflow_extract`` stops at the last good header.
"""

from __future__ import annotations


class Malformed(ValueError):
    """A header is truncated or its content is invalid; the message names the protocol and the problem."""


def truncated(proto: str, need: int, have: int) -> Malformed:
    """Build the uniform truncation error: ``proto`` needed ``need`` bytes but only ``have`` remain."""
    return Malformed(f"{proto}: truncated, need {need} bytes, have {max(have, 0)}")
