"""Geneve options in the flow key and their mapping to tun_metadataN through a TLV table."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from hypothesis import given
from hypothesis import strategies as st

from pyvswitch.flow import fields as F
from pyvswitch.flow import tun_metadata as TM
from pyvswitch.flow.match_text import parse_match


@dataclass
class Map:
    option_class: int
    option_type: int
    option_len: int
    index: int


@dataclass
class Table:
    mappings: dict[int, Map] = field(default_factory=dict)


def opt(cls: int, typ: int, data: bytes) -> bytes:
    return struct.pack("!HBB", cls, typ, len(data) // 4) + data


def test_raw_slots() -> None:
    raw = opt(0xFFFF, 0, b"\0\0\0\1") + opt(0x102, 0x83, bytes(range(8)))
    key = F.storage_put(0, "tun_id", 5)
    k2 = TM.put_geneve_raw(key, raw)
    assert TM.geneve_raw(k2) == raw and TM.geneve_raw(key) == b""
    assert k2 & ~TM.GENEVE_RAW_MASK == key
    assert TM.put_geneve_raw(k2, b"") == key
    # A key without options is no longer for having the slots.
    assert key.bit_length() < F.STORAGE["_tun_geneve_len"][0]
    leading_zero = opt(0, 0, bytes(4))
    assert TM.geneve_raw(TM.put_geneve_raw(0, leading_zero)) == leading_zero


@given(st.binary(max_size=252))
def test_raw_round_trip(raw: bytes) -> None:
    assert TM.geneve_raw(TM.put_geneve_raw(0, raw)) == raw


def test_mapping_both_ways_with_pass_through() -> None:
    tlv = Table({0: Map(0xFFFF, 0x80, 4, 0), 3: Map(0x102, 3, 8, 3)})
    unmapped = opt(0x200, 1, b"abcd")
    raw = opt(0x102, 3, bytes(7) + b"\5") + unmapped + opt(0xFFFF, 0x80, b"\0\0\x12\x34")
    assert TM.options_valid(raw, tlv)
    bits = TM.options_to_metadata(raw, tlv)
    m = parse_match("tun_metadata0=0x1234,tun_metadata3=0x5")
    for i in (0, 3):
        f = F.BY_NAME[f"tun_metadata{i}"]
        assert F.get(bits, f) == F.get(m.match.value, f)
    present = F.storage_get(bits, "_tun_metadata_present")
    assert present == 0b1001
    out = TM.metadata_to_options(bits, tlv, raw)
    assert out == opt(0xFFFF, 0x80, b"\0\0\x12\x34") + opt(0x102, 3, bytes(7) + b"\5") + unmapped
    # A field the flow cleared (present bit off) is not sent, and its raw option does not come back either.
    cleared = bits & ~(1 << (F.STORAGE["_tun_metadata_present"][0] + 3))
    assert TM.metadata_to_options(cleared, tlv, raw) == opt(0xFFFF, 0x80, b"\0\0\x12\x34") + unmapped
    # Without a table nothing is mapped and everything passes through.
    assert TM.options_to_metadata(raw, Table()) == 0
    assert TM.metadata_to_options(0, Table(), raw) == raw
    # A present field without a mapping is not sent.
    assert TM.metadata_to_options(bits, Table({0: tlv.mappings[0]})) == opt(0xFFFF, 0x80, b"\0\0\x12\x34")


def test_the_last_of_two_options_counts() -> None:
    tlv = Table({0: Map(0xFFFF, 0, 4, 0)})
    bits = TM.options_to_metadata(opt(0xFFFF, 0, b"\0\0\0\2") + opt(0xFFFF, 0, b"\0\0\0\1"), tlv)
    assert F.get(bits, F.BY_NAME["tun_metadata0"]) == 1


def test_options_valid() -> None:
    """Open vSwitch's tun_metadata_from_geneve_udpif(): EINVAL for an unknown critical option, a mapped class and
    type of another length, or a list that ends inside an option."""
    tlv = Table({0: Map(0xFFFF, 0x80, 4, 0)})
    assert TM.options_valid(b"", None) and TM.options_valid(opt(0x102, 0x7F, b"abcd"), None)
    assert not TM.options_valid(opt(0x102, 0x80, b"abcd"), None)            # critical, no table
    assert not TM.options_valid(opt(0x102, 0x80, b"abcd"), Table())         # critical, no mapping
    assert TM.options_valid(opt(0xFFFF, 0x80, b"abcd"), tlv)                # critical but mapped
    assert not TM.options_valid(opt(0xFFFF, 0x80, b"abcdefgh"), tlv)        # mapped, another length
    assert not TM.options_valid(opt(0xFFFF, 0x80, b"abcd") + b"\0\1", tlv)  # trailing bytes
    assert not TM.options_valid(opt(1, 1, b"abcd")[:6], tlv)                # truncated option


def test_set_field_value_goes_out() -> None:
    tlv = Table({1: Map(0xFFFF, 0, 4, 1)})
    m = parse_match("tun_metadata1=0xdeadbeef")
    assert TM.metadata_to_options(m.match.value, tlv) == opt(0xFFFF, 0, b"\xde\xad\xbe\xef")


def test_overruns_and_limits() -> None:
    truncated = opt(1, 1, b"abcd")[:6]
    assert list(TM.iter_options(truncated)) == []
    tlv = Table({i: Map(0x100 + i, 0, 124, i) for i in range(3)})
    key = 0
    for i in range(3):
        key |= parse_match(f"tun_metadata{i}=0x1").match.value
    # Three 128-byte options do not fit in 252 bytes: only the first goes out.
    assert len(TM.metadata_to_options(key, tlv)) == 128


def test_geneve_without_options_is_marked() -> None:
    key = TM.put_geneve_raw(0, b"", True)
    assert TM.has_geneve(key) and TM.geneve_raw(key) == b"" and key
    assert not TM.has_geneve(TM.put_geneve_raw(key, b""))
    assert TM.has_geneve(TM.put_geneve_raw(0, opt(1, 2, b"abcd")))
