"""MPLS label stack entries (RFC 3032).

:func:`parse_mpls` walks the whole stack to the entry with the bottom-of-stack bit, because the flow layer needs
both the top entries (``mpls_label``, ``mpls_tc``, ``mpls_ttl``, ``mpls_bos``, and OVS keeps up to three) and
the offset where the payload starts.  A stack that runs off the end of the buffer without a bottom entry is
:class:`Malformed`.  What the payload is cannot be known from MPLS itself; OVS guesses IPv4 or IPv6 from the
first nibble only when popping to a given EtherType, and so does this package: it leaves that to the caller.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import NamedTuple

from pyvswitch.packet.errors import truncated

Buffer = bytes | bytearray | memoryview

_LSE = struct.Struct("!I")
MPLS_LSE_LEN = 4


class MplsLabel(NamedTuple):
    """One label stack entry."""

    label: int  # 20 bits.
    tc: int  # Traffic class, 3 bits.
    bos: int  # Bottom of stack, 1 bit.
    ttl: int

    @property
    def lse(self) -> int:
        """The entry as the 32-bit word on the wire."""
        return (self.label << 12) | (self.tc << 9) | (self.bos << 8) | self.ttl


def lse_to_label(lse: int) -> MplsLabel:
    """Split a 32-bit label stack entry into its fields."""
    return MplsLabel(lse >> 12, (lse >> 9) & 7, (lse >> 8) & 1, lse & 0xFF)


def parse_mpls(buf: Buffer, offset: int = 0) -> tuple[tuple[MplsLabel, ...], int]:
    """Parse the label stack at ``offset``, top entry first; return it and the offset of the payload."""
    labels = []
    off = offset
    while True:
        try:
            lse = _LSE.unpack_from(buf, off)[0]
        except struct.error:
            raise truncated("mpls", off - offset + MPLS_LSE_LEN, len(buf) - offset) from None
        labels.append(MplsLabel(lse >> 12, (lse >> 9) & 7, (lse >> 8) & 1, lse & 0xFF))
        off += MPLS_LSE_LEN
        if lse & 0x100:
            return tuple(labels), off


def mpls(labels: Sequence[int | MplsLabel], payload: bytes = b"", ttl: int = 64, tc: int = 0) -> bytes:
    """Build a label stack (top first) and ``payload``.

    Plain ints are labels with ``tc`` and ``ttl``; the bottom-of-stack bit is set on the last entry only,
    whatever the given entries say.
    """
    if not labels:
        raise ValueError("an MPLS stack needs at least one label")
    out = []
    last = len(labels) - 1
    for i, entry in enumerate(labels):
        e = entry if isinstance(entry, MplsLabel) else MplsLabel(entry, tc, 0, ttl)
        if not 0 <= e.label < 1 << 20:
            raise ValueError(f"MPLS label {e.label} out of range")
        out.append(_LSE.pack(e._replace(bos=int(i == last)).lse))
    return b"".join(out) + payload
