"""Actions: parsing, printing, checks and protocols (the action layer on its own).

What an OpenFlow encode/decode cycle does to actions, and the cases recorded from the real ovs-ofctl
``parse-flow`` (which prints the actions after that cycle), are tested with the codec in
``tests/openflow/test_actions_roundtrip.py``.
"""

from __future__ import annotations

import logging
import random

import pytest

from pyvswitch.flow import fields as F
from pyvswitch.flow import values as V
from pyvswitch.flow.match import Match
from pyvswitch.flow.protocols import Proto
from pyvswitch.ofproto import actions as A
from pyvswitch.ofproto.actions import lex
from pyvswitch.util import vlog

P = Proto
IP = Match().set(F.BY_NAME["eth_type"], 0x800)


# --- the pieces, one by one ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, pairs", [
    ("output:1,2 normal", [("output", "1"), ("2", ""), ("normal", "")]),
    ("  ,output:1,,", [("output", "1")]),
    ("ct(commit,exec(set_field:1->ct_mark)),x", [("ct", "commit,exec(set_field:1->ct_mark)"), ("x", "")]),
    ("check_pkt_larger(100)->reg0[0],exit", [("check_pkt_larger", "100)->reg0[0]"), ("exit", "")]),
    ("resubmit(1,2", [("resubmit", "1,2")]),
    ("clone(output:1", [("clone", "output:1")]),
    ("a=b(c,d),e", [("a", "b(c,d)"), ("e", "")]),
    ("(1)", [("", "1")]),
])
def test_split_key_values(text: str, pairs: list[tuple[str, str]]) -> None:
    assert list(lex.split_key_values(text)) == pairs


def test_c_number_habits() -> None:
    assert lex.str_to_u32("010") == 8
    assert lex.str_to_u32("-1") == 0xFFFFFFFF
    assert lex.str_to_u32("4294967296") == 0          # truncated to 32 bits, as the C code does
    assert lex.str_to_u64("0x10") == 16
    for bad in ("0x", "x", "99999999999999999999999"):
        with pytest.raises(A.ActionParseError, match="invalid numeric format"):
            lex.str_to_u64(bad)
    with pytest.raises(A.ActionParseError, match="missing required numeric argument"):
        lex.str_to_u64("")
    assert lex.c_atoi("12abc") == 12 and lex.c_atoi("x") == 0 and lex.c_atoi("4294967296") == 0
    assert lex.str_to_u16("0x10", "max_len") == 16
    with pytest.raises(A.ActionParseError, match='invalid max_len "65536"'):
        lex.str_to_u16("65536", "max_len")
    assert lex.parse_int_string("0x 12 34", 2)[:2] == (0x1234, None)
    assert lex.parse_int_string("0x123456", 2)[1] == lex.ERANGE
    assert lex.parse_hex_bytes("01.02 03x") == (b"\x01\x02\x03", "x")
    assert lex.c_hex(0) == "0" and lex.c_hex(255) == "0xff"


def test_ports_and_tables(caplog: pytest.LogCaptureFixture) -> None:
    V._deprecated_port_warned = False
    with vlog.capture() as lines:
        assert lex.parse_port("in_port") == lex.OFPP_IN_PORT
        assert lex.parse_port("4294967292") == lex.OFPP_ALL  # OpenFlow 1.1 numbers of reserved ports
        assert lex.parse_port("0x5") is None                 # decimal only
        assert lex.parse_port("65535") == lex.OFPP_NONE
    assert lex.format_port(lex.OFPP_NONE) == "ANY" and lex.format_port(7) == "7"
    assert any("ofp_port|WARN|referring to port ANY as 65535 is deprecated" in line for line in lines)
    caplog.clear()
    assert lex.parse_table("256") is None and lex.parse_table("254") == 254
    assert "table 256 is outside the supported range 0 through 255" in caplog.text
    assert [r.name for r in caplog.records] == ["ofp_table"]


@pytest.mark.parametrize("addr, text", [
    ("::1", "::1"), ("::", "::"), ("::1:80", "::0.1.0.128"), ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
    ("2001:db8::1", "2001:db8::1"), ("1::", "1::"), ("fe80:0:0:1::1", "fe80:0:0:1::1"),
    ("1:0:0:2:0:0:0:3", "1:0:0:2::3"), ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"), ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"),
])
def test_inet_ntop6_prints_like_glibc(addr: str, text: str) -> None:
    import ipaddress
    assert V.format_ipv6(int(ipaddress.IPv6Address(addr))) == text


def test_output_to_port_and_group() -> None:
    acts = A.parse_actions("output:1,enqueue:2:3,output(port=4,max_len=64),clone(output:5),"
                           "output:reg0[0..15],bundle(eth_src,0,hrw,ofport,members:9),write_actions(group:7)")
    for port in (1, 2, 4, 5):
        assert A.actions_output_to_port(acts, port)
    for port in (3, 9, lex.OFPP_CONTROLLER):
        assert not A.actions_output_to_port(acts, port)
    assert A.actions_output_to_port(A.parse_actions("controller(reason=no_match)"), lex.OFPP_CONTROLLER)
    assert A.actions_output_to_port(A.parse_actions("controller"), lex.OFPP_CONTROLLER)
    assert A.actions_output_to_group(acts, 7)
    assert not A.actions_output_to_group(acts, 8)


def test_check_actions_limits_and_result() -> None:
    goto = A.parse_actions("goto_table:3")
    assert A.check_actions(goto, Match()) == P.ANY          # no table given: not checked, as in ovs-ofctl
    assert A.check_actions(goto, Match(), table_id=2) == P.ANY
    for kw in ({"table_id": 3}, {"table_id": 4}, {"n_tables": 3}):
        with pytest.raises(A.ActionCheckError) as e:
            A.check_actions(goto, Match(), **kw)
        assert e.value.code == "OFPBIC_BAD_TABLE_ID"
        assert str(e.value) == "actions are invalid with specified match (OFPBIC_BAD_TABLE_ID)"
    with pytest.raises(A.ActionCheckError, match="OFPBAC_BAD_OUT_PORT"):
        A.check_actions(A.parse_actions("output:10"), Match(), max_ports=10)
    # An inconsistency OpenFlow 1.0 tolerates narrows the protocols instead of failing...
    assert A.check_actions(A.parse_actions("mod_nw_src:1.2.3.4"), Match()) == P.OF10_ANY
    ip = IP
    assert A.check_actions(A.parse_actions("mod_nw_src:1.2.3.4"), ip) == P.ANY
    # ...unless nothing is left.
    with pytest.raises(A.ActionCheckError, match="OFPBAC_MATCH_INCONSISTENT"):
        A.check_actions(A.parse_actions("push_vlan:0x8100,pop_vlan,pop_vlan"), Match())


def test_check_warnings_use_open_vswitch_module_names(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    ip = IP
    for text, logger, message in [
        ("set_field:1->tcp_src", "ofp_actions", "set_field tcp_src lacks correct prerequisites"),
        ("move:ip_src->reg0", "meta_flow", "source field ip_src lacks correct prerequisites"),
        ("move:reg0[0..7]->ip_proto", "meta_flow", "destination field nw_proto is not writable"),
        ("bundle(eth_src,0,hrw,ofport,members:controller)", "bundle", "unsupported controller member"),
    ]:
        caplog.clear()
        with pytest.raises(A.ActionCheckError):
            A.check_actions(A.parse_actions(text), ip if "ip_proto" in text else Match())
        assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [(logger, "WARNING", message)]


def test_usable_protocols() -> None:
    def usable(text: str) -> Proto:
        return A.actions_usable_protocols(A.parse_actions(text))
    assert usable("output:1,resubmit(,2)") == P.ANY
    assert usable("push_vlan:0x8100") == P.OF11_UP
    assert usable("meter:1") == P.OF13_OXM | P.OF14_OXM | P.OF15_OXM
    assert usable("set_field:1->reg0") == P.NXM_OXM_ANY
    assert usable("load:1->reg0") == P.ANY                 # a register load exists in every version
    assert usable("write_metadata:1") == P.OF10_NXM_ANY | P.OF11_UP
    assert usable("write_actions(push_vlan:0x8100)") == P.OF11_UP
    # ovs-ofctl forgets what came before a clone (its parser resets the set); reproduced on purpose.
    assert usable("push_vlan:0x8100,clone(output:1)") == P.ANY
    assert usable("clone(output:1),push_vlan:0x8100") == P.OF11_UP


def test_actions_are_plain_immutable_data() -> None:
    import dataclasses
    acts = A.parse_actions("output:1,learn(table=2,reg0=reg1),ct(commit,exec(set_field:1->ct_mark)),"
                           "clone(mod_vlan_vid:5)")
    assert len({*acts}) == 4                               # hashable
    with pytest.raises(dataclasses.FrozenInstanceError):
        acts[0].port = 2  # type: ignore[misc]
    learn = acts[1]
    assert isinstance(learn, A.Learn) and learn.table_id == 2 and learn.specs[0].kind == "match"
    ct = acts[2]
    assert isinstance(ct, A.Ct) and ct.commit and isinstance(ct.actions[0], A.SetField)
    assert A.parse_actions("output:1,learn(table=2,reg0=reg1),ct(commit,exec(set_field:1->ct_mark)),"
                           "clone(mod_vlan_vid:5)") == acts


def test_garbage_never_raises_anything_but_action_errors() -> None:
    words = ["output", "set_field", "load", "move", "ct", "nat", "learn", "clone", "write_actions", "resubmit",
             "bundle", "multipath", "enqueue", "controller", "note", "sample", "conjunction", "encap", "push",
             "reg0", "reg1[0..3]", "src=", "exec(", "commit", "zone=", "table=", "->", "0x", "1.2.3.4", "::1", "[",
             "]", "(", ")", ",", ":", "=", "/", "members:", "hrw", "eth_src", "meter:1", "goto_table:1", "-", "*",
             "9999999999999999999999", "tun_metadata1", "xxreg0", "write_metadata:1/2", "check_pkt_larger("]
    r = random.Random(5)
    logging.disable(logging.CRITICAL)
    try:
        for _ in range(3000):
            text = "".join(r.choice(words) if r.random() < 0.6 else r.choice("az09:=(),.[]->/ x")
                           for _ in range(r.randrange(1, 12)))
            try:
                acts = A.parse_actions(text)
                A.check_actions(acts, Match())
                A.format_actions(acts)
            except (A.ActionParseError, A.ActionCheckError):
                pass
        with pytest.raises(A.ActionParseError, match="input too big"):
            A.parse_actions("clone(" * 5000)
    finally:
        logging.disable(logging.NOTSET)
