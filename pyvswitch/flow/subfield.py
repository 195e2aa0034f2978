"""Subfields: a run of bits of one field, as ``load``, ``move``, ``push``, ``learn``, ``output:`` and friends name it.

ovs-actions(7) "Field Specifications": a field is written by its ovs-fields(7) name or alias (``eth_src``,
``dl_src``) or by its NXM/OXM header name (``NXM_OF_ETH_SRC``, ``OXM_OF_METADATA``; a header name may carry the
``_W`` suffix of its masked variant, which means the same field).  Brackets select bits: ``[]`` (or no brackets)
is the whole field, ``[5]`` one bit, ``[0..15]`` an inclusive range, counted from the least significant bit of the
field's value.

ovs-ofctl prints a subfield with the field's first NXM/OXM header name (``NXM_NX_REG0[0..15]``), or with its
ovs-fields(7) name when the field has no header, and ``[]`` for the whole field.  Parse errors carry the messages
ovs-ofctl prints, so the CLI can show them unchanged.

A subfield reads and writes a flow key (an ``int``, see ``pyvswitch.flow.fields``): value bit ``i`` of the field
is key bit ``field.ofs + i``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyvswitch.flow import fields as F
from pyvswitch.flow.fields import Field

__all__ = ["Subfield", "SubfieldError", "field_display_name", "lookup_field"]


class SubfieldError(ValueError):
    """A subfield that does not parse; ``str()`` is ovs-ofctl's message."""


def lookup_field(name: str) -> Field | None:
    """The field spelled ``name`` in a subfield: an ovs-fields(7) name or alias, or an NXM/OXM header name,
    optionally with the ``_W`` suffix of a masked header.  None if there is no such field."""
    f = F.BY_NAME.get(name) or F.BY_HEADER_NAME.get(name)
    if f is None and name.endswith("_W"):
        f = F.BY_HEADER_NAME.get(name[:-2])
    return f


def field_display_name(f: Field) -> str:
    """The name ovs-ofctl uses for ``f`` in subfield syntax: its first NXM/OXM header, else its own name."""
    return f.headers[0].name if f.headers else f.name


# "[start..end]" and "[bit]" as ovs-ofctl scans them: optional sign, decimal digits, nothing else inside.
_RANGE = re.compile(r"\[([+-]?\d+)\.\.([+-]?\d+)\]")
_BIT = re.compile(r"\[([+-]?\d+)\]")
_SYNTAX = "syntax error expecting [] or [<bit>] or [<start>..<end>]"


@dataclass(frozen=True, slots=True)
class Subfield:
    """Bits ``ofs`` .. ``ofs + n_bits - 1`` of ``field``'s value."""

    field: Field
    ofs: int
    n_bits: int

    # -- construction -------------------------------------------------------------------------------------------
    @classmethod
    def whole(cls, f: Field) -> Subfield:
        return cls(f, 0, f.nbits)

    @classmethod
    def parse(cls, text: str) -> Subfield:
        """Parse ``text``, which must be exactly one subfield."""
        sf, rest = cls.parse_prefix(text)
        if rest:
            raise SubfieldError("unexpected input following field syntax")
        return sf

    @classmethod
    def parse_prefix(cls, text: str) -> tuple[Subfield, str]:
        """Parse a subfield at the start of ``text``; return it and the text that follows it.

        The field name ends at the first ``[`` or ``-`` (so that ``reg0->reg1`` splits), as in ovs-ofctl."""
        m = re.search(r"[\[-]", text)
        name_len = m.start() if m else len(text)
        name = text[:name_len]
        f = lookup_field(name)
        if f is None:
            raise SubfieldError(f"{text}: unknown field `{name}'")
        rest = text[name_len:]
        start, end = 0, f.nbits - 1
        if rest.startswith("["):
            if rest.startswith("[]"):
                pass
            elif (mm := _RANGE.match(rest)):
                start, end = int(mm.group(1)), int(mm.group(2))
            elif (mm := _BIT.match(rest)):
                start = end = int(mm.group(1))
            else:
                raise SubfieldError(f"{text}: {_SYNTAX}")
            rest = rest[rest.index("]") + 1:]
        # ovs-ofctl compares the bit numbers as signed for ordering but as unsigned against the width.
        if start > end:
            raise SubfieldError(f"{text}: starting bit {start} is after ending bit {end}")
        if start < 0 or start >= f.nbits:
            raise SubfieldError(f"{text}: starting bit {start} is not valid because field is only "
                                f"{f.nbits} bits wide")
        if end >= f.nbits:
            raise SubfieldError(f"{text}: ending bit {end} is not valid because field is only "
                                f"{f.nbits} bits wide")
        return cls(f, start, end - start + 1), rest

    # -- text ---------------------------------------------------------------------------------------------------
    def __str__(self) -> str:
        name = field_display_name(self.field)
        if self.is_whole:
            return name + "[]"
        if self.n_bits == 1:
            return f"{name}[{self.ofs}]"
        return f"{name}[{self.ofs}..{self.ofs + self.n_bits - 1}]"

    def __repr__(self) -> str:
        return f"Subfield({self})"

    # -- bits ---------------------------------------------------------------------------------------------------
    @property
    def is_whole(self) -> bool:
        return self.ofs == 0 and self.n_bits == self.field.nbits

    @property
    def mask(self) -> int:
        """The bits of the field's value that this subfield covers."""
        return ((1 << self.n_bits) - 1) << self.ofs

    @property
    def key_mask(self) -> int:
        """The bits of the flow key that this subfield covers (bits the field cannot hold are left out)."""
        return (self.mask & self.field.value_mask) << self.field.ofs

    def read(self, key: int) -> int:
        """This subfield's value in flow key ``key`` (bit 0 of the result is bit ``ofs`` of the field)."""
        return ((key >> self.field.ofs) & self.field.value_mask & self.mask) >> self.ofs

    def write(self, key: int, value: int) -> int:
        """``key`` with this subfield set to the low ``n_bits`` of ``value``."""
        km = self.key_mask
        return (key & ~km) | (((value << self.ofs) << self.field.ofs) & km)
