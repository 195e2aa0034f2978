"""Subfields (``NXM_NX_REG0[0..5]``, ``eth_src[]``...): parsing, printing and key access.

Expected texts and messages are ovs-ofctl 3.1's, observed with ``ovs-ofctl parse-flow "actions=push:SUBFIELD"``
(which prints the subfield back, or the error).
"""

from __future__ import annotations

import pytest

from pyvswitch.flow import fields as F
from pyvswitch.flow.subfield import Subfield, SubfieldError, field_display_name, lookup_field


@pytest.mark.parametrize("text, printed", [
    ("NXM_NX_REG0[0..5]", "NXM_NX_REG0[0..5]"),
    ("NXM_NX_REG0[5]", "NXM_NX_REG0[5]"),
    ("NXM_OF_ETH_SRC[]", "NXM_OF_ETH_SRC[]"),
    ("reg0[0..15]", "NXM_NX_REG0[0..15]"),
    ("reg0", "NXM_NX_REG0[]"),
    ("reg0[0..31]", "NXM_NX_REG0[]"),
    ("eth_src[]", "NXM_OF_ETH_SRC[]"),
    ("dl_src", "NXM_OF_ETH_SRC[]"),
    ("OXM_OF_ETH_SRC[]", "NXM_OF_ETH_SRC[]"),
    ("OXM_OF_METADATA[0..31]", "OXM_OF_METADATA[0..31]"),
    ("metadata", "OXM_OF_METADATA[]"),
    ("tunnel_id", "NXM_NX_TUN_ID[]"),
    ("NXM_NX_REG0_W[1..3]", "NXM_NX_REG0[1..3]"),
    ("NXM_NX_REG0_W", "NXM_NX_REG0[]"),
    ("reg0[+1..+3]", "NXM_NX_REG0[1..3]"),
    ("reg0[01..03]", "NXM_NX_REG0[1..3]"),
    ("tun_metadata0[0..7]", "NXM_NX_TUN_METADATA0[0..7]"),
    ("xreg1[0..63]", "OXM_OF_PKT_REG1[]"),
    ("xxreg3[64..127]", "NXM_NX_XXREG3[64..127]"),
    ("actset_output", "ONFOXM_ET_ACTSET_OUTPUT[]"),
    ("ip_dscp", "OXM_OF_IP_DSCP[]"),
    ("in_port_oxm", "OXM_OF_IN_PORT[]"),
    ("dl_vlan[0..3]", "dl_vlan[0..3]"),
])
def test_parse_and_print(text: str, printed: str) -> None:
    sf = Subfield.parse(text)
    assert str(sf) == printed
    assert Subfield.parse(printed) == sf


@pytest.mark.parametrize("text, message", [
    ("reg0[-1..3]", "reg0[-1..3]: starting bit -1 is not valid because field is only 32 bits wide"),
    ("reg0[3..1]", "reg0[3..1]: starting bit 3 is after ending bit 1"),
    ("reg0[32]", "reg0[32]: starting bit 32 is not valid because field is only 32 bits wide"),
    ("reg0[0..40]", "reg0[0..40]: ending bit 40 is not valid because field is only 32 bits wide"),
    ("reg0[1..]", "reg0[1..]: syntax error expecting [] or [<bit>] or [<start>..<end>]"),
    ("reg0[x]", "reg0[x]: syntax error expecting [] or [<bit>] or [<start>..<end>]"),
    ("reg0[1", "reg0[1: syntax error expecting [] or [<bit>] or [<start>..<end>]"),
    ("reg0[0x1..3]", "reg0[0x1..3]: syntax error expecting [] or [<bit>] or [<start>..<end>]"),
    ("reg0[1..2..3]", "reg0[1..2..3]: syntax error expecting [] or [<bit>] or [<start>..<end>]"),
    ("foo", "foo: unknown field `foo'"),
    ("", ": unknown field `'"),
    ("REG0", "REG0: unknown field `REG0'"),
    ("reg0[]x", "unexpected input following field syntax"),
])
def test_errors(text: str, message: str) -> None:
    with pytest.raises(SubfieldError) as e:
        Subfield.parse(text)
    assert str(e.value) == message


def test_parse_prefix_stops_at_arrow() -> None:
    sf, rest = Subfield.parse_prefix("reg0->reg1")
    assert (str(sf), rest) == ("NXM_NX_REG0[]", "->reg1")
    sf, rest = Subfield.parse_prefix("reg0[0..3]x->reg1")
    assert (str(sf), rest) == ("NXM_NX_REG0[0..3]", "x->reg1")


def test_lookup_and_display_names() -> None:
    assert lookup_field("NXM_OF_ETH_SRC_W") is F.BY_NAME["eth_src"]
    assert lookup_field("nope") is None
    assert field_display_name(F.BY_NAME["dl_vlan"]) == "dl_vlan"
    assert field_display_name(F.BY_NAME["eth_type"]) == "NXM_OF_ETH_TYPE"


def test_every_field_with_a_header_prints_its_first_header() -> None:
    for f in F.FIELDS:
        sf = Subfield.whole(f)
        assert str(sf) == (f.headers[0].name + "[]" if f.headers else f.name + "[]")
        assert Subfield.parse(str(sf)) == sf


def test_read_and_write_a_key() -> None:
    reg1 = Subfield.parse("reg1[4..11]")
    key = F.put(0, F.BY_NAME["reg1"], 0xFFFF0000)
    key = reg1.write(key, 0xAB)
    assert F.get(key, F.BY_NAME["reg1"]) == 0xFFFF0AB0
    assert reg1.read(key) == 0xAB
    assert reg1.write(key, 0x1AB) == key  # bits beyond the subfield are dropped
    assert reg1.mask == 0xFF0
    assert reg1.key_mask == 0xFF0 << F.BY_NAME["reg1"].ofs
    # nw_tos keeps only the DSCP bits in the key; a subfield over the ECN bits does not touch them.
    tos = Subfield.parse("NXM_OF_IP_TOS[]")
    assert tos.read(tos.write(0, 0xFF)) == 0xFC
