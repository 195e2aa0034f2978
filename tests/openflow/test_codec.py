"""Unit tests of the OpenFlow codec: flow-mods built by hand (no text parser), the message framing of each
protocol variant, and the errors of malformed messages.

Expected bytes come from ``tests/data/flow_mod_wire.jsonl`` (what ovs-ofctl 3.1 sent); expected error names for
hand-damaged messages were checked against ``ovs-ofctl ofp-print`` on the same bytes when the tests were written
(the comment of each case says what is wrong with the message).
"""

from __future__ import annotations

import struct

import pytest
import wire_helpers as W

from pyvswitch.flow import fields as F
from pyvswitch.flow import match_text as MT
from pyvswitch.flow.match import CATCHALL
from pyvswitch.flow.protocols import Proto
from pyvswitch.flow.subfield import Subfield
from pyvswitch.ofproto.actions.model import (
    Clone,
    Conjunction,
    Ct,
    GotoTable,
    Learn,
    LearnSpec,
    Meter,
    Nat,
    Note,
    Output,
    Resubmit,
    SetField,
    SetVlanVid,
    WriteActions,
    WriteMetadata,
)
from pyvswitch.ofproto.flow_mod import Command, FlowMod, FlowModFlags
from pyvswitch.openflow import (
    OFPDecodeError,
    decode_flow_mod,
    decode_flow_mod_message,
    encode_flow_mod,
    hexdump,
    message_protocol,
    reset_process_state,
)
from pyvswitch.openflow.ofp_errors import KNOWN_NAMES, error_type_code
from pyvswitch.util import vlog


@pytest.fixture(autouse=True)
def _quiet() -> object:
    reset_process_state()
    with vlog.capture() as lines:
        yield lines


def _captured(flow: str, proto: str) -> bytes:
    rec = next(r for r in W.records() if r["flow"] == flow and r["proto"] == proto)
    return bytes.fromhex(rec["hex"])


def _match(text: str) -> tuple:  # type: ignore[type-arg]
    pm = MT.parse_match(text)
    return pm.match, pm.tun_md


REG0 = F.BY_NAME["reg0"]


# --- hand-built flow-mods against the captured bytes ------------------------------------------------------------

def test_output_in_every_protocol() -> None:
    fm = FlowMod(actions=[Output(1)])
    for proto in ("OF10_STD", "OF11_STD", "OF12_OXM", "OF13_OXM", "OF14_OXM", "OF15_OXM"):
        want = _captured("actions=output:1", proto)
        assert encode_flow_mod(fm, Proto[proto], xid=int.from_bytes(want[4:8], "big")) == want, proto


def test_reg_match_uses_nxm_in_of10_and_oxm_header_per_version() -> None:
    match, _ = _match("reg0=5")
    fm = FlowMod(match=match)
    nxm = encode_flow_mod(fm, Proto.OF10_NXM)
    assert nxm[48:56] == bytes.fromhex("0001000400000005")
    oxm13 = encode_flow_mod(fm, Proto.OF13_OXM)
    assert oxm13[48:60] == bytes.fromhex("0001000c0001000400000005")   # ofp11_match_header + NXM_NX_REG0
    oxm15 = encode_flow_mod(fm, Proto.OF15_OXM)
    # OpenFlow 1.5 matches registers as 64-bit packet registers (xreg0 = reg0:reg1), masked.
    assert oxm15[48:72] == bytes.fromhex("00010018800101100000000500000000ffffffff00000000")


def test_learn_with_limit_is_learn2() -> None:
    flow = ("actions=learn(table=2,limit=10,result_dst=reg0[3],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],"
            "load:NXM_OF_IN_PORT[]->NXM_NX_REG1[0..15],output:NXM_OF_IN_PORT[])")
    want = _captured(flow, "OF13_OXM")
    eth_src, eth_dst, in_port = F.BY_NAME["eth_src"], F.BY_NAME["eth_dst"], F.BY_NAME["in_port"]
    learn = Learn(table_id=2, limit=10, result_dst=Subfield(REG0, 3, 1), specs=(
        LearnSpec("match", 48, Subfield.whole(eth_dst), Subfield.whole(eth_src)),
        LearnSpec("load", 16, Subfield(F.BY_NAME["reg1"], 0, 16), Subfield.whole(in_port)),
        LearnSpec("output", 16, None, Subfield.whole(in_port))))
    got = encode_flow_mod(FlowMod(actions=[learn]), Proto.OF13_OXM, xid=2)
    assert got == want
    assert decode_flow_mod(got)[0].actions == [learn]


def test_ct_with_nat_and_exec() -> None:
    flow = "ip,actions=ct(commit,nat(src=10.0.0.1-10.0.0.10:1000-2000,persistent,random))"
    want = _captured(flow, "OF10_STD")
    match, _ = _match("ip")
    nat = Nat("src", 4, 0x0A000001, 0x0A00000A, 1000, 2000, persistent=True, random=True)
    got = encode_flow_mod(FlowMod(match=match, actions=[Ct(commit=True, actions=(nat,))]), Proto.OF10_STD, xid=2)
    assert got == want


def test_vlan_push_depends_on_the_match_in_openflow_11() -> None:
    untagged = encode_flow_mod(FlowMod(actions=[SetVlanVid(5)]), Proto.OF11_STD)
    match, _ = _match("dl_vlan=1")
    tagged = encode_flow_mod(FlowMod(match=match, actions=[SetVlanVid(5)]), Proto.OF11_STD)
    push = struct.pack("!HHH2x", 17, 8, 0x8100)
    set_vid = struct.pack("!HHH2x", 1, 8, 5)
    assert untagged.endswith(push + set_vid)
    assert tagged.endswith(set_vid) and push not in tagged
    # Inside clone the flow state is the outer action's: no push either.
    nested = encode_flow_mod(FlowMod(match=match, actions=[Clone((SetVlanVid(5),))]), Proto.OF11_STD)
    assert push not in nested


def test_instructions_by_version() -> None:
    acts = [Meter(5), Output(1), WriteActions((Output(2),)), WriteMetadata(1, 0xFF), GotoTable(3)]
    of10 = encode_flow_mod(FlowMod(actions=acts), Proto.OF10_NXM)
    # OpenFlow 1.0: no meter, no write-actions; write_metadata and goto_table become Nicira actions.
    assert of10[48:] == (struct.pack("!HHHH", 0, 8, 1, 0)
                         + struct.pack("!HHIH6xQQ", 0xFFFF, 32, 0x2320, 22, 1, 0xFF)
                         + struct.pack("!HHIHHB3x", 0xFFFF, 16, 0x2320, 14, 0xFFF8, 3))
    of13 = encode_flow_mod(FlowMod(actions=acts), Proto.OF13_OXM)
    body = of13[56:]
    assert body[:8] == struct.pack("!HHI", 6, 8, 5)                      # meter instruction
    assert struct.unpack_from("!H", body, 8)[0] == 4                      # then apply-actions
    of15 = encode_flow_mod(FlowMod(actions=acts), Proto.OF15_OXM)
    apply = of15[56:]
    assert struct.unpack_from("!HH4xHHI", apply) == (4, 32, 29, 8, 5)     # meter is an action in 1.5
    for proto in (Proto.OF13_OXM, Proto.OF15_OXM):
        fm = decode_flow_mod(encode_flow_mod(FlowMod(actions=acts), proto))[0]
        assert fm.actions == acts


def test_set_field_forms() -> None:
    masked = SetField(REG0, 0x5, 0xF)
    # OpenFlow 1.0-1.4 cannot set part of a field with set-field: a register load of the masked bits.
    of13 = encode_flow_mod(FlowMod(actions=[masked]), Proto.OF13_OXM)
    assert struct.pack("!HHIHHIQ", 0xFFFF, 24, 0x2320, 7, (0 << 6) | 3, 0x00010004, 5) in of13
    # OpenFlow 1.5 has masked set-field.
    of15 = encode_flow_mod(FlowMod(actions=[masked]), Proto.OF15_OXM)
    assert bytes.fromhex("0019001000010108000000050000000f") in of15
    assert decode_flow_mod(of15)[0].actions == [masked]
    # Tunnel metadata has a variable length: only its significant bytes go on the wire (NXAST_REG_LOAD2).
    tm = SetField(F.BY_NAME["tun_metadata1"], 5, load=True)
    of10 = encode_flow_mod(FlowMod(actions=[tm]), Proto.OF10_STD)
    assert of10.endswith(bytes.fromhex("ffff0010000023200021000152010500"))


def test_table_id_in_each_variant() -> None:
    fm = FlowMod(table_id=7)
    tid = encode_flow_mod(fm, Proto.OF10_STD_TID)
    assert struct.unpack_from("!H", tid, 56)[0] == 0x0700
    assert message_protocol(tid) is Proto.OF10_STD_TID
    back, proto = decode_flow_mod(tid)
    assert (back.table_id, proto) == (7, Proto.OF10_STD_TID)
    # The same bytes read by a connection without the extension: command 0x0700 is not a command.
    with pytest.raises(OFPDecodeError, match="OFPFMFC_BAD_COMMAND"):
        decode_flow_mod(tid, Proto.OF10_STD)
    nxm = encode_flow_mod(fm, Proto.OF10_NXM_TID)
    assert decode_flow_mod(nxm) == (FlowMod(table_id=7, flags=FlowModFlags.RESET_COUNTS, new_cookie=0),
                                    Proto.OF10_NXM_TID)
    of13 = encode_flow_mod(fm, Proto.OF13_OXM)
    assert of13[24] == 7
    # "No table": 0 for an add, 255 ("all") for an OpenFlow 1.2+ delete.
    assert encode_flow_mod(FlowMod(), Proto.OF13_OXM)[24] == 0
    assert encode_flow_mod(FlowMod(command=Command.DELETE), Proto.OF13_OXM)[24] == 0xFF
    assert encode_flow_mod(FlowMod(command=Command.DELETE), Proto.OF11_STD)[24] == 0


def test_flags_cookies_and_importance_by_version() -> None:
    flags = FlowModFlags.SEND_FLOW_REM | FlowModFlags.RESET_COUNTS | FlowModFlags.NO_BYTE_COUNTS
    fm = FlowMod(flags=flags, importance=9, cookie=0x55, new_cookie=0x55)
    assert struct.unpack_from("!H", encode_flow_mod(fm, Proto.OF10_STD), 70)[0] == 1
    assert struct.unpack_from("!HH", encode_flow_mod(fm, Proto.OF13_OXM), 44) == (0x15, 0)
    assert struct.unpack_from("!HH", encode_flow_mod(fm, Proto.OF14_OXM), 44) == (0x15, 9)
    assert struct.unpack_from("!Q", encode_flow_mod(fm, Proto.OF13_OXM), 8)[0] == 0x55
    # A modify that selects by cookie: NXM carries the cookie as a match entry.
    mod = FlowMod(command=Command.MODIFY, cookie=0x5, cookie_mask=0xFF)
    nxm = encode_flow_mod(mod, Proto.OF10_NXM)
    assert bytes.fromhex("00013d10" "0000000000000005" "00000000000000ff") in nxm
    back = decode_flow_mod(nxm)[0]
    assert (back.cookie, back.cookie_mask, back.new_cookie) == (5, 0xFF, None)


def test_ofp10_exact_match_forces_the_highest_priority() -> None:
    flow = ("in_port=1,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02,dl_vlan=1,dl_vlan_pcp=1,tcp,nw_tos=4,"
            "nw_src=1.1.1.1,nw_dst=2.2.2.2,tp_src=1,tp_dst=2,actions=drop")
    data = _captured(flow, "OF10_STD")
    assert decode_flow_mod(data)[0].priority == 0xFFFF


def test_tunnel_metadata_lengths_follow_the_parser() -> None:
    pfm = W.parse({"argv": ["add-flow", "unix:SOCK", "tun_metadata0=0x1234,tun_metadata5=0x1/0xff,actions=drop"]})
    msg = decode_flow_mod_message(encode_flow_mod(pfm.fm, Proto.OF13_OXM, tun_md=pfm.tun_md))
    assert msg.tun_md.entries == pfm.tun_md.entries
    assert msg.fm.match == pfm.fm.match


def test_conjunction_may_only_come_with_notes() -> None:
    ok = [Conjunction(5, 0, 2), Note(b"\0" * 6)]
    assert decode_flow_mod(encode_flow_mod(FlowMod(actions=ok), Proto.OF13_OXM))[0].actions == ok
    with pytest.raises(OFPDecodeError, match="NXBAC_BAD_CONJUNCTION"):
        decode_flow_mod(encode_flow_mod(FlowMod(actions=[Output(2), Conjunction(5, 0, 2)]), Proto.OF13_OXM))


def test_resubmit_table_round_trip() -> None:
    acts = [Resubmit(3), Resubmit(table_id=4), Resubmit(5, 6, True)]
    match, _ = _match("ct_state=+trk+est,ip")
    for proto in (Proto.OF10_NXM, Proto.OF13_OXM):
        assert decode_flow_mod(encode_flow_mod(FlowMod(match=match, actions=acts), proto))[0].actions == acts


# --- malformed messages ----------------------------------------------------------------------------------------

_BASE10 = encode_flow_mod(FlowMod(actions=[Output(2)]), Proto.OF10_STD)
_BASE13 = encode_flow_mod(FlowMod(actions=[Output(2)]), Proto.OF13_OXM)
_BASE11 = encode_flow_mod(FlowMod(), Proto.OF11_STD)
_NXM = encode_flow_mod(FlowMod(actions=[Output(2)]), Proto.OF10_NXM)
_OUT11 = struct.pack("!HHIH6x", 0, 16, 2, 0)
_CONJ = struct.pack("!HHIHBBI", 0xFFFF, 16, 0x2320, 34, 0, 2, 5)
_EXIT = struct.pack("!HHIH6x", 0xFFFF, 16, 0x2320, 17)


def _fix(b: bytes) -> bytes:
    """``b`` with its header length set to its size."""
    return b[:2] + struct.pack("!H", len(b)) + b[4:]


MALFORMED = [
    ("shorter than a header", b"\x01\x0e\x00\x04", "OFPBRC_BAD_LEN"),
    ("not a flow-mod (hello)", b"\x01\x00\x00\x08\x00\x00\x00\x01", "OFPBRC_BAD_TYPE"),
    ("unknown version", bytes([7]) + _BASE10[1:], "OFPBRC_BAD_TYPE"),
    ("length field larger than the message", _BASE13[:2] + b"\x00\xff" + _BASE13[4:], "OFPBRC_BAD_LEN"),
    ("trailing bytes, not a multiple of 8", _fix(_BASE13 + b"\0" * 4), "OFPBRC_BAD_LEN"),
    ("truncated flow-mod body", _fix(_BASE13[:52]), "OFPBRC_BAD_LEN"),
    ("table 255 in an add", _BASE13[:24] + b"\xff" + _BASE13[25:], "OFPFMFC_BAD_TABLE_ID"),
    ("command 9", _BASE13[:25] + b"\x09" + _BASE13[26:], "OFPFMFC_BAD_COMMAND"),
    ("unknown flag", _BASE13[:44] + b"\x00\x20" + _BASE13[46:], "OFPFMFC_BAD_FLAGS"),
    ("OpenFlow 1.0 emergency flag", _BASE10[:70] + b"\x00\x04" + _BASE10[72:], "OFPFMFC_TABLE_FULL"),
    ("emergency flag with a timeout", _BASE10[:60] + b"\x00\x05" + _BASE10[62:70] + b"\x00\x04" + _BASE10[72:],
     "OFPFMFC_BAD_EMERG_TIMEOUT"),
    ("unknown action type", _BASE10[:72] + struct.pack("!HHHH", 99, 8, 2, 0), "OFPBAC_BAD_TYPE"),
    ("action length not a multiple of 8", _fix(_BASE10[:72] + struct.pack("!HHHH", 0, 12, 2, 0) + b"\0" * 8),
     "OFPBAC_BAD_LEN"),
    ("fixed-size action too long", _fix(_BASE10[:72] + struct.pack("!HHHH", 0, 16, 2, 0) + b"\0" * 8),
     "OFPBAC_BAD_LEN"),
    ("unknown vendor", _fix(_BASE10[:72] + struct.pack("!HHIH6x", 0xFFFF, 16, 0x1234, 1)), "OFPBAC_BAD_VENDOR"),
    ("unknown Nicira action", _fix(_BASE10[:72] + struct.pack("!HHIH6x", 0xFFFF, 16, 0x2320, 200)),
     "OFPBAC_BAD_VENDOR_TYPE"),
    ("output to port NONE", _BASE10[:72] + struct.pack("!HHHH", 0, 8, 0xFFFF, 0), "OFPBAC_BAD_OUT_PORT"),
    ("32-bit output port without 16-bit equivalent", _fix(_BASE13[:64] + struct.pack("!HHIH6x", 0, 16, 0xFFFFFF00,
                                                                                      0)), "OFPBAC_BAD_OUT_PORT"),
    ("duplicate apply-actions", _fix(_BASE13 + _BASE13[56:]), "OFPBIC_DUP_INST"),
    ("unknown instruction", _fix(_BASE13[:56] + struct.pack("!HH4x", 7, 8)), "OFPBIC_UNKNOWN_INST"),
    ("experimenter instruction", _fix(_BASE13[:56] + struct.pack("!HH4x", 0xFFFF, 8)), "OFPBIC_BAD_EXPERIMENTER"),
    ("goto-table of the wrong size", _fix(_BASE13[:56] + struct.pack("!HHB3x8x", 1, 16, 5)), "OFPBIC_BAD_LEN"),
    ("meter instruction in OpenFlow 1.5", _fix(bytes([6]) + _BASE13[1:56] + struct.pack("!HHI", 6, 8, 5)),
     "OFPBIC_UNKNOWN_INST"),
    ("conjunction with an output", _fix(_BASE13[:56] + struct.pack("!HH4x", 4, 40) + _OUT11 + _CONJ),
     "NXBAC_BAD_CONJUNCTION"),
    ("exit in write-actions", _fix(_BASE13[:56] + struct.pack("!HH4x", 3, 24) + _EXIT), "OFPBAC_BAD_TYPE"),
    ("write_metadata before an action (1.0)",
     _fix(_BASE10[:72] + struct.pack("!HHIH6xQQ", 0xFFFF, 32, 0x2320, 22, 1, 0xFF) + struct.pack("!HHHH", 0, 8, 2, 0)),
     "OFPBAC_UNSUPPORTED_ORDER"),
    ("nat outside ct", _fix(_BASE10[:72] + struct.pack("!HHIH2xHH", 0xFFFF, 16, 0x2320, 36, 0, 0)),
     "OFPBAC_BAD_SET_ARGUMENT"),
    ("write_metadata inside clone",
     _fix(_BASE10[:72] + struct.pack("!HHIH6x", 0xFFFF, 48, 0x2320, 42)
          + struct.pack("!HHIH6xQQ", 0xFFFF, 32, 0x2320, 22, 1, 0xFF)), "OFPBIC_UNSUP_INST"),
    ("OpenFlow 1.1 match length 80", _BASE11[:50] + b"\x50" + _BASE11[51:], "OFPBMC_BAD_LEN"),
    ("match type 2", _BASE13[:48] + b"\x00\x02" + _BASE13[50:], "OFPBMC_BAD_TYPE"),
    ("NXM match longer than the message", _NXM[:40] + b"\x00\xc8" + _NXM[42:], "OFPBMC_BAD_LEN"),
    ("unknown field in a set-field (zero length)",
     _fix(_BASE13[:56] + struct.pack("!HH4x", 4, 24) + bytes.fromhex("0019001080000800010000000000000000")[:16]),
     "OFPBAC_BAD_SET_TYPE"),
    ("ip_src set-field two bytes wide",
     _fix(_BASE13[:56] + struct.pack("!HH4x", 4, 24) + bytes.fromhex("00190010800016020102000000000000")),
     "OFPBAC_BAD_SET_LEN"),
    ("register load to an unknown field",
     _fix(_BASE13[:56] + struct.pack("!HH4x", 4, 32) + struct.pack("!HHIHHIQ", 0xFFFF, 24, 0x2320, 7, 15,
                                                                   0x7FFF0204, 5)), "OFPBAC_BAD_SET_TYPE"),
    ("register move from an unknown field",
     _fix(_BASE13[:56] + struct.pack("!HH4x", 4, 32) + struct.pack("!HHIHHHHII", 0xFFFF, 24, 0x2320, 6, 16, 0, 0,
                                                                   0x7FFF0204, 0x00010404)), "OFPBMC_BAD_FIELD"),
]


@pytest.mark.parametrize("what,data,code", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_messages(what: str, data: bytes, code: str) -> None:
    with pytest.raises(OFPDecodeError) as exc:
        decode_flow_mod(data)
    assert exc.value.code == code
    assert code in KNOWN_NAMES


def test_decode_logs_bad_actions_like_ovs(_quiet: list[str]) -> None:
    data = _captured("actions=push_mpls:0x0800", "OF10_STD")
    with pytest.raises(OFPDecodeError, match="OFPBAC_BAD_ARGUMENT"):
        decode_flow_mod(data)
    text = "\n".join(vlog.strip_prefix(line) for line in _quiet)
    assert text == ("ofp_actions|WARN|bad action at offset 0 (OFPBAC_BAD_ARGUMENT):\n"
                    "00000000  ff ff 00 10 00 00 23 20-00 17 08 00 00 00 00 00")


def test_encoder_rejects_a_protocol_set() -> None:
    with pytest.raises(ValueError):
        encode_flow_mod(FlowMod(), Proto.OF10_ANY)


def test_catchall_add_in_each_protocol_decodes_to_itself() -> None:
    for proto in (Proto.OF10_STD, Proto.OF10_NXM, Proto.OF11_STD, Proto.OF12_OXM, Proto.OF13_OXM,
                  Proto.OF14_OXM, Proto.OF15_OXM):
        fm, got = decode_flow_mod(encode_flow_mod(FlowMod(match=CATCHALL), proto))
        assert got is proto
        assert fm.match == CATCHALL


# --- hex dumps and error names ---------------------------------------------------------------------------------

def test_hexdump_format() -> None:
    data = bytes(range(0x41, 0x41 + 20))
    assert hexdump(data) == (
        "00000000  41 42 43 44 45 46 47 48-49 4a 4b 4c 4d 4e 4f 50 |ABCDEFGHIJKLMNOP|\n"
        "00000010  51 52 53 54                                     |QRST            |\n")
    assert hexdump(bytes(8), ascii=False) == "00000000  00 00 00 00 00 00 00 00-\n"
    assert hexdump(b"\x00\x7f", ofs=14) == "00000000  " + "   " * 14 + "00 7f |" + " " * 14 + "..|\n"
    assert hexdump(b"") == ""


def test_error_numbers() -> None:
    assert error_type_code("OFPBMC_BAD_PREREQ", 4) == (4, 9)
    assert error_type_code("OFPBMC_BAD_PREREQ", 1) is None
    assert error_type_code("OFPBAC_BAD_OUT_PORT", 1) == (2, 4)
    assert error_type_code("OFPFMFC_OVERLAP", 1) == (3, 1)
    assert error_type_code("OFPFMFC_OVERLAP", 4) == (5, 3)
    assert error_type_code("NO_SUCH_ERROR", 4) is None
