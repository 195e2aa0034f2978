"""The Geneve TLV table: Nicira's ``NXT_TLV_TABLE_MOD``, ``NXT_TLV_TABLE_REQUEST`` and ``NXT_TLV_TABLE_REPLY``,
byte-exact with Open vSwitch 3.1, the ``ovs-ofctl add-tlv-map`` / ``del-tlv-map`` argument syntax, and the switch's
table with its errors.

A TLV map tells the switch which Geneve option (class, type, length) the match fields ``tun_metadata0`` to
``tun_metadata63`` stand for.  Layouts (Open vSwitch's nicira-ext.h), after the Nicira header::

    NXT_TLV_TABLE_MOD:    command:16 pad:48 nx_tlv_map...                          (8 + 8n)
    NXT_TLV_TABLE_REPLY:  max_option_space:32 max_fields:16 reserved:80 nx_tlv_map... (16 + 8n)
    nx_tlv_map:           option_class:16 option_type:8 option_len:8 index:16 pad:16

Commands: ``ADD`` (0), ``DELETE`` (1, printed ``DEL``), ``CLEAR`` (2, no mappings).  Decoding checks each map as
Open vSwitch does: the length a multiple of 4 and at most 124 (``NXTTMFC_BAD_OPT_LEN``), the index below 64 (below
the reply's ``max_fields`` in a reply; ``NXTTMFC_BAD_FIELD_IDX``), and a command up to CLEAR
(``NXTTMFC_BAD_COMMAND``).

The switch side (``TlvTable``) follows Open vSwitch's ``tun_metadata_table_mod`` and the bridge's check of the
flows that use a field: an add fails with ``NXTTMFC_ALREADY_MAPPED`` for an index that is mapped (earlier or in the
same request), ``NXTTMFC_DUP_ENTRY`` for a (class, type) mapped to another index, ``NXTTMFC_TABLE_FULL`` when the
options would need more than 256 bytes; deleting an unmapped index is not an error; deleting or clearing a field
that a flow uses fails with ``NXTTMFC_INVALID_TLV_DEL``.  A failed request changes nothing.

The errors' numbers (Nicira vendor errors: NX type 1 codes 527 to 532 and 537 in OpenFlow 1.0 and 1.1,
experimenter codes 16 to 21 and 38 from 1.2) are in ``ofp_errors``, which ``ofp_msgs.encode_error`` uses.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from pyvswitch.openflow import ofp_msgs
from pyvswitch.openflow.ofp_errors import OFPDecodeError
from pyvswitch.openflow.ofp_msgs import Msg
from pyvswitch.util import vlog

__all__ = [
    "MAX_FIELDS",
    "MAX_OPTION_SPACE",
    "NXTTMC_ADD",
    "NXTTMC_CLEAR",
    "NXTTMC_DELETE",
    "PRINTERS",
    "TlvMap",
    "TlvTable",
    "TlvTableError",
    "TlvTableMod",
    "TlvTableReply",
    "decode_tlv_table_mod",
    "decode_tlv_table_reply",
    "encode_tlv_table_mod",
    "encode_tlv_table_reply",
    "encode_tlv_table_request",
    "format_tlv_table_mod",
    "format_tlv_table_reply",
    "parse_tlv_map",
]

NXTTMC_ADD, NXTTMC_DELETE, NXTTMC_CLEAR = 0, 1, 2
_COMMAND_NAMES = {NXTTMC_ADD: "ADD", NXTTMC_DELETE: "DEL", NXTTMC_CLEAR: "CLEAR"}
MAX_OPTION_SPACE = 256
"""Bytes of Geneve options a switch can match on (Open vSwitch's TUN_METADATA_TOT_OPT_SIZE)."""
MAX_FIELDS = 64
"""Number of ``tun_metadata`` fields (TUN_METADATA_NUM_OPTS)."""
TLV_MAX_OPT_SIZE = 124

_log = vlog.Vlog("ofp_match")
_MAP = struct.Struct("!HBBH2x")


class TlvTableError(OFPDecodeError):
    """A TLV table modification the switch refuses; ``code`` is Open vSwitch's error name (``NXTTMFC_*``)."""


@dataclass(frozen=True, slots=True)
class TlvMap:
    """Geneve option (``option_class``, ``option_type``, ``option_len`` bytes) <-> ``tun_metadata<index>``."""

    option_class: int
    option_type: int
    option_len: int
    index: int


@dataclass
class TlvTableMod:
    command: int = NXTTMC_ADD
    mappings: list[TlvMap] = field(default_factory=list)


@dataclass
class TlvTableReply:
    max_option_space: int = MAX_OPTION_SPACE
    max_fields: int = MAX_FIELDS
    mappings: list[TlvMap] = field(default_factory=list)


# --- wire ------------------------------------------------------------------------------------------------------

def _encode_maps(mappings: list[TlvMap]) -> bytes:
    return b"".join(_MAP.pack(m.option_class & 0xFFFF, m.option_type & 0xFF, m.option_len & 0xFF,
                              m.index & 0xFFFF) for m in mappings)


def _decode_maps(data: bytes, max_fields: int) -> list[TlvMap]:
    """OVS ``decode_tlv_table_mappings`` (the framing guarantees whole 8-byte maps)."""
    out = []
    for pos in range(0, len(data) - len(data) % 8, 8):
        cls, typ, length, index = _MAP.unpack_from(data, pos)
        if length % 4 or length > TLV_MAX_OPT_SIZE:
            _log.warn(f"tlv table option length ({length}) is not a valid option size")
            raise OFPDecodeError("NXTTMFC_BAD_OPT_LEN")
        if index >= max_fields:
            _log.warn(f"tlv table field index ({index}) is too large (max {max_fields - 1})")
            raise OFPDecodeError("NXTTMFC_BAD_FIELD_IDX")
        out.append(TlvMap(cls, typ, length, index))
    if len(data) % 8:
        raise OFPDecodeError("OFPBRC_BAD_LEN")
    return out


def encode_tlv_table_mod(ttm: TlvTableMod, version: int, xid: int = 0) -> bytes:
    """``NXT_TLV_TABLE_MOD`` as ovs-ofctl add-tlv-map / del-tlv-map sends it."""
    maps = [] if ttm.command == NXTTMC_CLEAR else ttm.mappings
    return ofp_msgs.encode("NXT_TLV_TABLE_MOD", version, struct.pack("!H6x", ttm.command & 0xFFFF)
                           + _encode_maps(maps), xid)


def decode_tlv_table_mod(msg: Msg) -> TlvTableMod:
    """OVS ``ofputil_decode_tlv_table_mod``."""
    body = msg.body
    if len(body) < 8:
        raise OFPDecodeError("OFPBRC_BAD_LEN")
    (command,) = struct.unpack_from("!H", body, 0)
    if command > NXTTMC_CLEAR:
        _log.warn(f"tlv table mod command ({command}) is out of range")
        raise OFPDecodeError("NXTTMFC_BAD_COMMAND")
    return TlvTableMod(command, _decode_maps(body[8:], MAX_FIELDS))


def encode_tlv_table_request(version: int, xid: int = 0) -> bytes:
    """``NXT_TLV_TABLE_REQUEST`` (no body), what ``ovs-ofctl dump-tlv-map`` sends."""
    return ofp_msgs.encode("NXT_TLV_TABLE_REQUEST", version, b"", xid)


def encode_tlv_table_reply(ttr: TlvTableReply, version: int, xid: int = 0) -> bytes:
    return ofp_msgs.encode("NXT_TLV_TABLE_REPLY", version,
                           struct.pack("!IH10x", ttr.max_option_space & 0xFFFFFFFF, ttr.max_fields & 0xFFFF)
                           + _encode_maps(ttr.mappings), xid)


def decode_tlv_table_reply(msg: Msg) -> TlvTableReply:
    """OVS ``ofputil_decode_tlv_table_reply``: indexes are checked against the reply's own ``max_fields``."""
    body = msg.body
    if len(body) < 16:
        raise OFPDecodeError("OFPBRC_BAD_LEN")
    space, max_fields = struct.unpack_from("!IH", body, 0)
    return TlvTableReply(space, max_fields, _decode_maps(body[16:], max_fields))


# --- text ------------------------------------------------------------------------------------------------------

def _c_hex(v: int, width: int) -> str:
    """C's ``%#<width>x``: ``0x`` prefix except for zero, right-aligned."""
    return (f"{v:#x}" if v else "0").rjust(width)


def _table(mappings: list[TlvMap]) -> str:
    s = " mapping table:\n  class  type  length  match field\n ------  ----  ------  --------------"
    for m in mappings:
        s += f"\n {_c_hex(m.option_class, 6)}  {_c_hex(m.option_type, 4)}  {m.option_len:6d}  tun_metadata{m.index}"
    return s


def format_tlv_table_mod(ttm: TlvTableMod) -> str:
    """OVS ``ofputil_format_tlv_table_mod``: ``\\n ADD mapping table:`` and the table (``\\n CLEAR`` alone)."""
    s = "\n " + _COMMAND_NAMES.get(ttm.command, "")
    if ttm.command != NXTTMC_CLEAR:
        s += _table(ttm.mappings)
    return s


def format_tlv_table_reply(ttr: TlvTableReply) -> str:
    """OVS ``ofputil_format_tlv_table_reply``: what ``ovs-ofctl dump-tlv-map`` prints after the header."""
    allocated = sum(m.option_len for m in ttr.mappings)
    return (f"\n max option space={ttr.max_option_space} max fields={ttr.max_fields}\n"
            f" allocated option space={allocated}\n\n" + _table(ttr.mappings))


def _scan_int(s: str, i: int, bits: int) -> tuple[int, int] | None:
    """C ``scanf``'s ``%i`` as Open vSwitch's ``ovs_scan`` does it: skip white space, optional sign, ``0x`` hex,
    leading-0 octal or decimal; the value is truncated to ``bits``.  Returns (value, end) or None."""
    n = len(s)
    while i < n and s[i] in " \t\n\v\f\r":
        i += 1
    neg = False
    if i < n and s[i] in "+-":
        neg = s[i] == "-"
        i += 1
    if i >= n or not s[i].isdigit():
        return None
    hexdigits = "0123456789abcdefABCDEF"
    if s.startswith(("0x", "0X"), i) and i + 2 < n and s[i + 2] in hexdigits:
        base, digits, i = 16, hexdigits, i + 2
    elif s[i] == "0":
        base, digits = 8, "01234567"
    else:
        base, digits = 10, "0123456789"
    j = i
    while j < n and s[j] in digits:
        j += 1
    v = int(s[i:j], base)
    if neg:
        v = -v
    return v & ((1 << bits) - 1), j


def parse_tlv_map(text: str) -> list[TlvMap]:
    """The mappings of an ``add-tlv-map`` / ``del-tlv-map`` argument, as Open vSwitch's
    ``parse_ofp_tlv_table_mod_str`` reads it:
    ``{class=0xffff,type=0,len=4}->tun_metadata0[,{...}->tun_metadataN...]``; numbers as C's ``%i`` (decimal,
    ``0x`` hex, leading-0 octal), truncated to the field's width.  Raises ValueError("invalid tlv mapping").
    Values are not checked here: the switch checks them (``NXTTMFC_BAD_OPT_LEN``...)."""
    out: list[TlvMap] = []
    i, n = 0, len(text)
    parts = (("{class=", 16), (",type=", 8), (",len=", 8), ("}->tun_metadata", 16))
    while i < n:
        if text[i] == ",":
            i += 1
        vals = []
        for literal, bits in parts:
            if not text.startswith(literal, i):
                raise ValueError("invalid tlv mapping")
            r = _scan_int(text, i + len(literal), bits)
            if r is None:
                raise ValueError("invalid tlv mapping")
            v, i = r
            vals.append(v)
        out.append(TlvMap(*vals))
    return out


# --- the switch's table ----------------------------------------------------------------------------------------

@dataclass
class TlvTable:
    """A switch's TLV map (Open vSwitch's ``tun_table``): index -> mapping, with ``apply`` doing what
    ovs-vswitchd does with an ``NXT_TLV_TABLE_MOD``."""

    mappings: dict[int, TlvMap] = field(default_factory=dict)
    max_option_space: int = MAX_OPTION_SPACE
    max_fields: int = MAX_FIELDS

    @property
    def allocated(self) -> int:
        """Option bytes in use (Open vSwitch allocates in 4-byte units, which the lengths already are)."""
        return sum(m.option_len for m in self.mappings.values())

    def apply(self, ttm: TlvTableMod, in_use: Collection[int] | Callable[[int], bool] = ()) -> None:
        """Apply ``ttm`` or raise ``TlvTableError`` and change nothing.  ``in_use`` tells which field indexes
        flows match on (a collection of indexes or a predicate): those cannot be deleted or cleared."""
        used: Callable[[int], bool] = in_use if callable(in_use) else in_use.__contains__
        new = dict(self.mappings)
        if ttm.command == NXTTMC_ADD:
            space = self.allocated
            for m in ttm.mappings:
                if m.index in new:
                    raise TlvTableError("NXTTMFC_ALREADY_MAPPED")
                if any((e.option_class, e.option_type) == (m.option_class, m.option_type) for e in new.values()):
                    raise TlvTableError("NXTTMFC_DUP_ENTRY")
                if space + m.option_len > self.max_option_space:
                    raise TlvTableError("NXTTMFC_TABLE_FULL")
                space += m.option_len
                new[m.index] = m
        elif ttm.command == NXTTMC_DELETE:
            for m in ttm.mappings:
                if m.index in new and used(m.index):
                    raise TlvTableError("NXTTMFC_INVALID_TLV_DEL")
                new.pop(m.index, None)
        elif ttm.command == NXTTMC_CLEAR:
            if any(used(i) for i in new):
                raise TlvTableError("NXTTMFC_INVALID_TLV_DEL")
            new = {}
        else:
            raise TlvTableError("NXTTMFC_BAD_COMMAND")
        self.mappings = new

    def reply(self) -> TlvTableReply:
        """The ``NXT_TLV_TABLE_REPLY`` contents: mappings in index order, as Open vSwitch lists them."""
        return TlvTableReply(self.max_option_space, self.max_fields,
                             [self.mappings[i] for i in sorted(self.mappings)])


def _print_mod(msg: Msg) -> str:
    return format_tlv_table_mod(decode_tlv_table_mod(msg))


def _print_request(msg: Msg) -> str:
    return ""


def _print_reply(msg: Msg) -> str:
    return format_tlv_table_reply(decode_tlv_table_reply(msg))


PRINTERS: dict[str, Callable[[Msg], str]] = {
    "TLV_TABLE_MOD": _print_mod,
    "TLV_TABLE_REQUEST": _print_request,
    "TLV_TABLE_REPLY": _print_reply,
}
