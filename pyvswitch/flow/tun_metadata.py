"""Geneve options in the flow key: the raw options a decapsulated packet carried, and their mapping to and from
the ``tun_metadata0``..``tun_metadata63`` fields through a bridge's TLV map (``ovs-ofctl add-tlv-map``).

The datapath knows nothing of TLV maps: ``tnl_pop`` puts the Geneve options into the key as they were on the
wire, in the hidden slots ``_tun_geneve_len`` (bytes, and bit 8 "the packet came in a Geneve header", set even
without options) and ``_tun_geneve`` (the bytes as one big-endian number, right-aligned).  The ofproto, which owns the map, turns them into ``tun_metadataN`` values (right-aligned in their
slots, as :mod:`pyvswitch.flow.match_text` stores them) with the "present" bits of ``_tun_metadata_present``,
and on output turns the present fields back into options.  An option is claimed by a mapping when its class and
type (all eight bits, the critical bit included, as Open vSwitch matches it) are the mapping's; when one appears
twice the last one counts, as in Open vSwitch.  An option no mapping claims is carried through untouched, so a
switch in the middle of a Geneve path does not lose options it does not understand (Open vSwitch drops them).

Some option lists cannot be taken in at all (:func:`options_valid`, Open vSwitch's
``tun_metadata_from_geneve_udpif`` failing with EINVAL): an option the switch does not know whose type has the
critical bit (0x80) set, which RFC 8926 says a receiver must not ignore; an option whose class and type are mapped
but whose length is not the mapping's; a list that ends inside an option.  Translation drops such a packet
("Invalid Geneve tunnel metadata").

The TLV table is typed with a :class:`typing.Protocol` here because its class,
``pyvswitch.openflow.ofp_tlv.TlvTable``, lives in a layer above this one.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from typing import Protocol

from pyvswitch.flow import fields as F

__all__ = ["GENEVE_CRIT", "GENEVE_PRESENT", "GENEVE_RAW_MASK", "TlvMapLike", "TlvTableLike", "geneve_raw",
           "has_geneve", "iter_options", "metadata_to_options", "options_to_metadata", "options_valid",
           "put_geneve_raw"]

MAX_GENEVE_OPTIONS = 252
GENEVE_RAW_MASK = F.storage_mask("_tun_geneve_len") | F.storage_mask("_tun_geneve")
"""The key bits of both raw-option slots."""
_PRESENT_MASK = F.storage_mask("_tun_metadata_present")
_PRESENT_OFS = F.STORAGE["_tun_metadata_present"][0]
_MD_OFS = F.STORAGE["tun_metadata"][0]
_MD_BITS = F.TUN_METADATA_BITS
_OPT = struct.Struct("!HBB")


class TlvMapLike(Protocol):
    """One mapping of a TLV table: Geneve option (class, type, length in bytes) <-> ``tun_metadata<index>``."""

    option_class: int
    option_type: int
    option_len: int
    index: int


class TlvTableLike(Protocol):
    """A bridge's TLV table: ``mappings`` maps a tun_metadata index to its option."""

    mappings: Mapping[int, TlvMapLike]


GENEVE_PRESENT = 0x100
"""The bit of ``_tun_geneve_len`` that says the packet came in a Geneve header."""

GENEVE_CRIT = 0x80
"""The critical bit of an option's type: a receiver that does not understand the option must drop the packet."""


def geneve_raw(key: int) -> bytes:
    """The raw Geneve options ``key`` carries (b"" if none)."""
    n = F.storage_get(key, "_tun_geneve_len") & 0xFF
    if not n:
        return b""
    return F.storage_get(key, "_tun_geneve").to_bytes(MAX_GENEVE_OPTIONS, "big")[-n:]


def has_geneve(key: int) -> bool:
    """Whether ``key`` is a packet that came in a Geneve header (options or not)."""
    return bool(F.storage_get(key, "_tun_geneve_len"))


def put_geneve_raw(key: int, raw: bytes, geneve: bool | None = None) -> int:
    """``key`` carrying the raw Geneve options ``raw`` (at most 252 bytes).  ``geneve`` says whether the packet
    came in a Geneve header; by default, whether there are options (so b"" clears everything)."""
    if len(raw) > MAX_GENEVE_OPTIONS:
        raise ValueError(f"Geneve options of {len(raw)} bytes")
    if geneve is None:
        geneve = bool(raw)
    key &= ~GENEVE_RAW_MASK
    if not geneve:
        return key
    key = F.storage_put(key, "_tun_geneve_len", GENEVE_PRESENT | len(raw))
    return F.storage_put(key, "_tun_geneve", int.from_bytes(raw, "big")) if raw else key


def iter_options(raw: bytes) -> Iterator[tuple[int, int, bytes, bytes]]:
    """Each option TLV of ``raw`` as (class, type, data, the whole TLV); stops at a TLV that overruns."""
    off = 0
    n = len(raw)
    while off + 4 <= n:
        cls, typ, ln = _OPT.unpack_from(raw, off)
        end = off + 4 + (ln & 0x1F) * 4
        if end > n:
            return
        yield cls, typ, raw[off + 4:end], raw[off:end]
        off = end


def _by_option(tlv: TlvTableLike) -> dict[tuple[int, int], int]:
    """The table's mappings by option (class, type)."""
    return {(m.option_class, m.option_type): i for i, m in tlv.mappings.items()}


def options_valid(raw: bytes, tlv: TlvTableLike | None) -> bool:
    """Whether the options ``raw`` can be taken in through ``tlv`` (None: a bridge without a TLV table, which
    maps nothing): see the module documentation for what cannot."""
    mappings = tlv.mappings if tlv is not None else {}
    by_opt = _by_option(tlv) if mappings and tlv is not None else {}
    off = 0
    n = len(raw)
    while off < n:
        if off + 4 > n:
            return False
        cls, typ, ln = _OPT.unpack_from(raw, off)
        size = (ln & 0x1F) * 4
        if off + 4 + size > n:
            return False
        idx = by_opt.get((cls, typ))
        if idx is None:
            if typ & GENEVE_CRIT:
                return False
        elif mappings[idx].option_len != size:
            return False
        off += 4 + size
    return True


def options_to_metadata(raw: bytes, tlv: TlvTableLike) -> int:
    """The key bits of ``tun_metadataN`` and ``_tun_metadata_present`` for the options of ``raw`` that ``tlv``
    maps (the last option wins when one appears twice; one of the wrong length is left out, but such a list is
    not valid anyway: :func:`options_valid`)."""
    if not raw or not tlv.mappings:
        return 0
    by_opt = _by_option(tlv)
    values: dict[int, bytes] = {}
    for cls, typ, data, _ in iter_options(raw):
        idx = by_opt.get((cls, typ))
        if idx is not None and len(data) == tlv.mappings[idx].option_len:
            values[idx] = data
    bits = 0
    present = 0
    for idx, data in values.items():
        present |= 1 << idx
        bits |= int.from_bytes(data, "big") << (_MD_OFS + idx * _MD_BITS)
    return bits | (present << _PRESENT_OFS)


def metadata_to_options(key: int, tlv: TlvTableLike, raw_in: bytes = b"") -> bytes:
    """The Geneve options to send for ``key``: every present ``tun_metadataN`` that ``tlv`` maps, as its option,
    in index order, then the options of ``raw_in`` that no mapping claims.  Options beyond the 252 bytes Geneve
    can carry are left out."""
    out = []
    total = 0
    present = (key & _PRESENT_MASK) >> _PRESENT_OFS
    mappings = tlv.mappings
    if present:
        for idx in sorted(mappings):
            if not present >> idx & 1:
                continue
            m = mappings[idx]
            ln = m.option_len
            value = (key >> (_MD_OFS + idx * _MD_BITS)) & ((1 << (8 * ln)) - 1)
            opt = _OPT.pack(m.option_class, m.option_type, ln // 4) + value.to_bytes(ln, "big")
            if total + len(opt) <= MAX_GENEVE_OPTIONS:
                out.append(opt)
                total += len(opt)
    if raw_in:
        claimed = _by_option(tlv) if mappings else {}
        for cls, typ, _, whole in iter_options(raw_in):
            if (cls, typ) in claimed:
                continue
            if total + len(whole) <= MAX_GENEVE_OPTIONS:
                out.append(whole)
                total += len(whole)
    return b"".join(out)
