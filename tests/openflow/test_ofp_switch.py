"""Tests of ``pyvswitch.openflow.ofp_switch`` against Open vSwitch 3.1.

Ground truth, in ``tests/data/openflow/ofp_switch_wire.json``:

``replies``
    requests sent to a real ovs-vswitchd (``ovs-reference start DIR dummy``, bridge br0 with dummy ports) and its
    replies in every OpenFlow version (features, get-config, desc, table stats, table features (first message),
    table desc, role, NXT role, get-async), with what ``ovs-ofctl ofp-print`` prints for each.
``ofctl``
    the messages exchanged when ``ovs-ofctl -O VERSION show / dump-desc / get-frags / set-frags / dump-tables /
    dump-table-desc / mod-table`` ran against that switch through a relaying Unix socket (table-features
    replies left out for size).

Every captured message whose printer is implemented must print as ofp-print printed it, and every one must
decode and encode back to the same bytes.  Messages built by our encoders are compared with the live
``ovs-ofctl ofp-print`` (skipped when it is not installed); bad messages must fail with Open vSwitch's error.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wire_helpers import ofp_print

from pyvswitch.openflow import ofp_msgs as M
from pyvswitch.openflow import ofp_port as P
from pyvswitch.openflow import ofp_switch as S
from pyvswitch.openflow.ofp_errors import OFPDecodeError

DATA = json.loads((Path(__file__).resolve().parent.parent / "data" / "openflow" / "ofp_switch_wire.json")
                  .read_text())




def our_print(data: bytes) -> str:
    msg = M.decode(data)
    try:
        return M.header_text(msg) + S.PRINTERS[msg.type](msg)
    except OFPDecodeError as e:
        return M.header_text(msg) + f" ***decode error: {e.code}***"


def _printable(msg: M.Msg) -> bool:
    try:
        S.PRINTERS[msg.type](msg)
    except NotImplementedError:
        return False
    except OFPDecodeError:
        pass
    return True


def _reencode(msg: M.Msg) -> bytes | None:
    """The message rebuilt from what its decoder returned (None for kinds without a decoder round trip)."""
    v, x, t, raw = msg.version, msg.xid, msg.type, msg.raw.name
    nx = raw.startswith("NXT")
    if t == "FEATURES_REPLY":
        return S.encode_features_reply(S.decode_features_reply(msg), v, x)
    if t in ("GET_CONFIG_REPLY", "SET_CONFIG"):
        return S.encode_switch_config(S.decode_switch_config(msg), v, x, reply=t == "GET_CONFIG_REPLY")
    if t == "DESC_STATS_REPLY":
        return S.encode_desc_stats_reply(S.decode_desc_stats_reply(msg), v, x)
    if t in ("ROLE_REQUEST", "ROLE_REPLY"):
        return S.encode_role(S.decode_role(msg), v, x, reply=t == "ROLE_REPLY", nx=nx)
    if t == "ROLE_STATUS":
        return S.encode_role_status(S.decode_role_status(msg), v, x)
    if t in ("GET_ASYNC_REPLY", "SET_ASYNC_CONFIG"):
        return S.encode_async_config(S.decode_async_config(msg), v, x, raw=raw)
    if t == "TABLE_MOD":
        return S.encode_table_mod(S.decode_table_mod(msg), v, x)
    if t == "TABLE_STATS_REPLY" and v >= 4:
        return S.encode_table_stats_reply(S.decode_table_stats_reply(msg), v, x)[0]
    if t == "TABLE_STATS_REPLY":
        return S.encode_legacy_table_stats_reply(S.decode_legacy_table_stats_reply(msg), v, x)[0]
    if t in ("TABLE_FEATURES_STATS_REQUEST", "TABLE_FEATURES_STATS_REPLY"):
        body = b"".join(S.pack_table_features(tf) for tf in S.decode_table_features(msg))
        return M.encode(raw, v, body, x, msg.flags)
    if t == "TABLE_DESC_REPLY":
        return S.encode_table_desc_reply(S.decode_table_desc_reply(msg), v, x)[0]
    if t in ("ECHO_REQUEST", "ECHO_REPLY"):
        enc = S.encode_echo_request if t == "ECHO_REQUEST" else S.encode_echo_reply
        return enc(S.decode_echo(msg), v, x)
    if t == "SET_CONTROLLER_ID":
        return S.encode_set_controller_id(S.decode_set_controller_id(msg), v, x)
    if t == "SET_FLOW_FORMAT":
        return S.encode_set_flow_format(S.decode_set_flow_format(msg), v, x)
    if t == "SET_PACKET_IN_FORMAT":
        return S.encode_packet_in_format(S.decode_packet_in_format(msg), v, x)
    if t == "FLOW_MOD_TABLE_ID":
        return S.encode_flow_mod_table_id(S.decode_flow_mod_table_id(msg), v, x)
    if t == "CT_FLUSH_ZONE":
        return S.encode_ct_flush_zone(S.decode_ct_flush_zone(msg), v, x)
    simple: dict[str, Any] = {
        "FEATURES_REQUEST": S.encode_features_request, "GET_CONFIG_REQUEST": S.encode_get_config_request,
        "DESC_STATS_REQUEST": S.encode_desc_stats_request, "BARRIER_REQUEST": S.encode_barrier_request,
        "BARRIER_REPLY": S.encode_barrier_reply, "GET_ASYNC_REQUEST": S.encode_get_async_request,
        "TABLE_STATS_REQUEST": S.encode_table_stats_request, "TABLE_DESC_REQUEST": S.encode_table_desc_request,
        "FLOW_AGE": S.encode_flow_age,
    }
    if t in simple:
        return bytes(simple[t](v, x))
    return None


def _captured() -> list[tuple[str, bytes, str]]:
    out: list[tuple[str, bytes, str]] = []
    for e in DATA["replies"]:
        out.append((f"{e['version']}:{e['name']}:request", bytes.fromhex(e["request"]), e["request_print"]))
        for k, r in enumerate(e["replies"]):
            out.append((f"{e['version']}:{e['name']}:reply{k}", bytes.fromhex(r["hex"]), r["ofp_print"]))
    for e in DATA["ofctl"]:
        for k, m in enumerate(e["messages"]):
            out.append((" ".join(e["argv"]) + f":{k}", bytes.fromhex(m["hex"]), m["ofp_print"]))
    return [c for c in out if M.decode(c[1]).type in S.PRINTERS]


CAPTURED = _captured()
PRINTABLE = [c for c in CAPTURED if _printable(M.decode(c[1]))]


def test_capture_covers_the_main_replies() -> None:
    seen = {(M.decode(d).type, M.decode(d).version) for _, d, _ in PRINTABLE}
    for t in ("FEATURES_REPLY", "GET_CONFIG_REPLY", "DESC_STATS_REPLY", "ROLE_REPLY", "SET_CONFIG"):
        assert {v for tt, v in seen if tt == t} == set(range(1, 7)), t
    assert {v for t, v in seen if t == "GET_ASYNC_REPLY"} == {4, 5, 6}
    assert {v for t, v in seen if t == "TABLE_DESC_REPLY"} == {5, 6}
    assert {v for t, v in seen if t == "TABLE_STATS_REPLY"} == set(range(1, 7))
    assert {v for t, v in seen if t == "TABLE_MOD"} == {2, 3, 5, 6}
    assert {v for t, v in seen if t == "TABLE_FEATURES_STATS_REPLY"} == {4, 6}


@pytest.mark.parametrize("label,data,expected", PRINTABLE, ids=[c[0] for c in PRINTABLE])
def test_captured_prints_as_ofp_print(label: str, data: bytes, expected: str) -> None:
    assert our_print(data) == expected


@pytest.mark.parametrize("label,data,expected", CAPTURED, ids=[c[0] for c in CAPTURED])
def test_captured_round_trip(label: str, data: bytes, expected: str) -> None:
    again = _reencode(M.decode(data))
    if again is None:
        pytest.skip("no round trip for this kind yet")
    assert again == data


def _reply(version: int, name: str) -> M.Msg:
    e = next(e for e in DATA["replies"] if e["version"] == version and e["name"] == name)
    return M.decode(bytes.fromhex(e["replies"][0]["hex"]))


@pytest.mark.parametrize("version", range(1, 7))
def test_ovs_default_features_match_the_real_switch(version: int) -> None:
    """``SwitchFeatures.ovs_default`` encodes to what ovs-vswitchd answered (its ports and datapath id)."""
    msg = _reply(version, "features")
    real = S.decode_features_reply(msg)
    ours = S.SwitchFeatures.ovs_default(real.datapath_id, real.ports)
    assert S.encode_features_reply(ours, version, msg.xid) == msg.data


@pytest.mark.parametrize("version", [4, 6])
def test_ovs_table_features_match_the_real_switch(version: int) -> None:
    """``ovs_table_features`` for tables 0 to 253, split into replies as Open vSwitch splits them, gives the
    bytes of ovs-vswitchd's first reply message (the one stored; all 20 matched when it was captured)."""
    msg = _reply(version, "table_features")
    ours = S.encode_table_features_reply([S.ovs_table_features(t, version) for t in range(254)], version, msg.xid)
    assert len(ours) == 20
    assert ours[0] == msg.data


@pytest.mark.parametrize("version", [4, 5, 6])
def test_ovs_default_async_config_matches_the_real_switch(version: int) -> None:
    msg = _reply(version, "get_async")
    assert S.encode_async_config(S.AsyncConfig.ovs_default(), version, msg.xid, reply=True) == msg.data


def test_decoded_values() -> None:
    d = S.decode_desc_stats_reply(_reply(4, "desc"))
    assert (d.mfr_desc, d.hw_desc, d.serial_num) == ("Nicira, Inc.", "Open vSwitch", "None")
    assert S.decode_switch_config(_reply(1, "get_config")) == S.SwitchConfig(S.FRAG_NORMAL, False, 0)
    assert S.decode_role(_reply(3, "role_master")) == S.Role(S.ROLE_MASTER, 5)
    assert S.decode_role(_reply(3, "role_nochange")) == S.Role(S.ROLE_EQUAL)
    assert S.decode_role(_reply(1, "nx_role_other")) == S.Role(S.ROLE_EQUAL)
    tables = S.decode_table_stats_reply(_reply(4, "table_stats"))
    assert len(tables) == 254 and tables[0].lookup_count == 3


# ---------------------------------------------------------------------------------------------- synthetic


def _synthetic() -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    ports = [P.PortDesc(1, 0xAA5500000001, "eth0"), P.PortDesc(0xFFFE, 1, "br0")]
    for v in range(1, 7):
        out.append((f"v{v} featreq", S.encode_features_request(v, 1)))
        f = S.SwitchFeatures.ovs_default(0x929B203E544A, ports)
        out.append((f"v{v} features", S.encode_features_reply(f, v, 2)))
        f2 = S.SwitchFeatures(0x1, 256, 3, 3, 0x3FFFFFFF, 0xFFF, ports)
        out.append((f"v{v} features all caps", S.encode_features_reply(f2, v, 2)))
        f3 = S.SwitchFeatures(0x2, 0, 1, 0, 0, 0, [])
        out.append((f"v{v} features nothing", S.encode_features_reply(f3, v, 2)))
        for k, c in enumerate([S.SwitchConfig(), S.SwitchConfig(3, True, 0xFFFF), S.SwitchConfig(2, False, 0)]):
            out.append((f"v{v} set_config {k}", S.encode_switch_config(c, v)))
            out.append((f"v{v} get_config_reply {k}", S.encode_switch_config(c, v, reply=True)))
        out.append((f"v{v} desc", S.encode_desc_stats_reply(S.DescStats(dp_desc="x" * 300, serial_num="s1"), v)))
        out.append((f"v{v} echo", S.encode_echo_request(b"abc" * 10, v)))
        out.append((f"v{v} echo reply", S.encode_echo_reply(b"", v)))
        out.append((f"v{v} barrier", S.encode_barrier_request(v)))
        out.append((f"v{v} barrier reply", S.encode_barrier_reply(v)))
        for k, r in enumerate([S.Role(0), S.Role(1), S.Role(2, 5), S.Role(3, 0), S.Role(1, 7)]):
            for rep in (False, True):
                out.append((f"v{v} role {k} {rep}", S.encode_role(r, v, reply=rep)))
                out.append((f"v{v} nxrole {k} {rep}", S.encode_role(r, v, reply=rep, nx=True)))
        if v >= 4:
            for k, rs in enumerate([S.RoleStatus(1, 0), S.RoleStatus(2, 1, 9), S.RoleStatus(3, 7, 0)]):
                out.append((f"v{v} role status {k}", S.encode_role_status(rs, v)))
            out.append((f"v{v} get async", S.encode_get_async_request(v)))
        ac = S.AsyncConfig.ovs_default()
        ac.master["ROLE_STATUS"] = 7
        ac.slave["TABLE_STATUS"] = 0x18
        ac.slave["REQUESTFORWARD"] = 1
        if v >= 4:
            out.append((f"v{v} set async", S.encode_async_config(ac, v)))
            out.append((f"v{v} async reply", S.encode_async_config(ac, v, reply=True)))
        out.append((f"v{v} nx async", S.encode_async_config(ac, v, nx=True)))
        out.append((f"v{v} nx async fixed", S.encode_async_config(ac, v, raw="NXT_SET_ASYNC_CONFIG")))
        out.append((f"v{v} controller id", S.encode_set_controller_id(42, v)))
        if v == 1:
            for fmt in (0, 2, 1):
                out.append((f"flow format {fmt}", S.encode_set_flow_format(fmt, v)))
        for fmt in (0, 1, 2):
            out.append((f"v{v} packet in format {fmt}", S.encode_packet_in_format(fmt, v)))
        for en in (True, False):
            out.append((f"v{v} flow mod table id {en}", S.encode_flow_mod_table_id(en, v)))
        out.append((f"v{v} flow age", S.encode_flow_age(v)))
        out.append((f"v{v} ct flush", S.encode_ct_flush_zone(65535, v)))
        if v >= 2:
            for k, tm in enumerate([S.TableMod(3, 0), S.TableMod(3, 1), S.TableMod(3, 2), S.TableMod(3, 3),
                                    S.TableMod(255, 0), S.TableMod(254, 4), S.TableMod(1, 8, None, (5, 10)),
                                    S.TableMod(1, 12, 7, (5, 10)), S.TableMod(1, 8), S.TableMod(1, 0, 1),
                                    S.TableMod(1, 4, 0), S.TableMod(1, 4, 2)]):
                out.append((f"v{v} table mod {k}", S.encode_table_mod(tm, v)))
        out.append((f"v{v} table stats req", S.encode_table_stats_request(v)))
        if v >= 4:
            ts = [S.TableStats(0, 1, 3, 3), S.TableStats(1), S.TableStats(2), S.TableStats(3, 1),
                  S.TableStats(4, 1), S.TableStats(5, 1), S.TableStats(6)]
            out.append((f"v{v} table stats", S.encode_table_stats_reply(ts, v)[0]))
        if v >= 4:
            for k, tables in enumerate(_feature_tables()):
                out.append((f"v{v} table features {k}", S.encode_table_features_reply(tables, v, 7)[0]))
                out.append((f"v{v} table features request {k}", S.encode_table_features_request(tables, v, 8)[0]))
            out.append((f"v{v} table features request", S.encode_table_features_request(None, v, 8)[0]))
        if v <= 3:
            out.append((f"v{v} legacy table stats", S.encode_legacy_table_stats_reply(_legacy_tables(), v)[0]))
        if v >= 5:
            out.append((f"v{v} table desc req", S.encode_table_desc_request(v)))
            td = [S.TableDesc(0, 0, 7), S.TableDesc(1, 12, 1, (5, 10, 50)), S.TableDesc(2, 8), S.TableDesc(3)]
            out.append((f"v{v} table desc", S.encode_table_desc_reply(td, v)[0]))
    return out


def _legacy_tables() -> list[S.LegacyTableStats]:
    """OpenFlow 1.0-1.2 table statistics: (same features), ditto, named ditto, (same instructions), fields only
    in the wildcards, a meter instruction bit (not in 1.1/1.2), write and apply actions that differ (1.1 shows
    the write ones for both), OXM bits past 1.2's fields."""
    lt = S.LegacyTableStats
    full = (0xFBFF, 0xFBFF, 0x3E, 0x01FFE7FF, 0x3, 0x1FFF, 0x3, 0xFF, 0, 0, 1000)
    return [lt(0, "", *full, 1, 2, 3), lt(1, "", *full, 1, 2, 3),
            lt(2, "x", 0x1, 0x7, 0x3C, 0x1, 0x3, 0x1F, 0x1F, 0, 0, 1, 1000),
            lt(3, "y", 0x1, 0x7, 0x3C, 0x1, 0x3, 0x1F, 0x1F, 0, 0, 2, 1000),
            lt(4, "", 0x100, 0x7, 0, 0, 0, 0, 0, 0, 0, 3, 0, 5), lt(5, "", 0x100, 0x7, 0, 0, 0, 0, 0, 0, 0, 3, 0, 5),
            lt(6, "", 0x100, 0x7, 0, 0, 0, 0, 0, 0, 0, 3, 0, 5), lt(7, "z", 0x100, 0x7, 0, 0, 0, 0, 0, 0, 0, 3, 0, 5),
            lt(8, "", 0x100, 0xFFFFFFFF, 0x7F, 0xFFFFFFFF, 0x1, 0xFFFFFFFFFFFF, 0xF000000000, 0, 7, 0, 0, 5)]


def _feature_tables() -> list[list[S.TableFeatures]]:
    """Table features that exercise ofp-print's folding: ditto runs, (same actions), (same matching), miss
    properties that differ, name abbreviations (``reg0 reg1``, ``reg3...reg5``, nested prefixes)."""
    eth_src, eth_dst, eth_type = 0x80000806, 0x80000A06, 0x80000C02
    regs = [0x10004 + (i << 9) for i in range(6)]
    masked = [0x80000906, 0x80000B0C] + [(h | 0x100) + 4 for h in regs[:2]]
    full = S.TableFeatures.build(0, name="first", metadata_match=0xFF, max_entries=1000, config=0xC,
                                 instructions=[1, 2, 3, 4, 5, 6, 9], next_tables=[1, 2, 3, 5, 7, 8, 9],
                                 write_actions=[0, 22, 25, 17, 18], apply_actions=[0, 22, 25, 17, 18],
                                 write_setfield=[eth_src, eth_dst] + regs, apply_setfield=[eth_src, eth_dst] + regs,
                                 match=masked + [eth_type, regs[3], regs[4], regs[5]],
                                 wildcards=[eth_type, regs[3]])
    t1 = S.TableFeatures.build(1, name="first", metadata_match=0xFF, max_entries=1000, config=0xC,
                               instructions=[1, 2, 3, 4, 5, 6, 9], next_tables=[1, 2, 3, 5, 7, 8, 9],
                               write_actions=[0, 22, 25, 17, 18], apply_actions=[0, 22, 25, 17, 18],
                               write_setfield=[eth_src, eth_dst] + regs, apply_setfield=[eth_src, eth_dst] + regs,
                               match=masked + [eth_type, regs[3], regs[4], regs[5]], wildcards=[eth_type, regs[3]])
    t2 = S.TableFeatures.build(2, instructions=[4], next_tables=[3],
                               write_actions=[0, 22, 25, 17, 18], apply_actions=[0, 22, 25, 17, 18],
                               write_setfield=[eth_src, eth_dst] + regs, apply_setfield=[eth_src, eth_dst] + regs,
                               match=masked + [eth_type, regs[3], regs[4], regs[5]], wildcards=[eth_type, regs[3]])
    t3 = S.TableFeatures.build(3, write_actions=[0], apply_actions=[0, 21], match=[eth_type])
    t3.props = [(t, ([] if t in (1, 5, 13) else v)) for t, v in t3.props]
    t4 = S.TableFeatures.build(4, next_tables=list(range(5, 254)))
    t5 = S.TableFeatures.build(5, next_tables=list(range(6, 254)))
    t6 = S.TableFeatures.build(6, next_tables=list(range(7, 254)))
    t7 = S.TableFeatures.build(7)
    t7.props.append((0xFFFE, b"\x00\x00\x23\x20\x00\x00\x00\x01"))
    only_wild = S.TableFeatures.build(10, match=[eth_src], wildcards=[eth_src, eth_type])
    return [[full, t1, t2, t3, t4, t5, t6, t7], [S.TableFeatures.build(9, match=[eth_src]), only_wild]]


SYNTHETIC = _synthetic()


@pytest.mark.parametrize("label,data", SYNTHETIC, ids=[c[0] for c in SYNTHETIC])
def test_synthetic_prints_as_ofp_print(label: str, data: bytes) -> None:
    assert our_print(data) == ofp_print(data)


@pytest.mark.parametrize("label,data", SYNTHETIC, ids=[c[0] for c in SYNTHETIC])
def test_synthetic_round_trip(label: str, data: bytes) -> None:
    msg = M.decode(data)
    if msg.type == "SET_PACKET_IN_FORMAT" or (msg.type == "SET_FLOW_FORMAT"):
        pass
    again = _reencode(msg)
    assert again is not None
    assert again == data


# ---------------------------------------------------------------------------------------------- errors

def _patched(data: bytes, offset: int, new: bytes) -> str:
    return (data[:offset] + new + data[offset + len(new):]).hex()


# (hex, Open vSwitch's error name); each was checked with ``ovs-ofctl ofp-print``.
BAD = [
    ("0409000c00000000000400ff", "OFPSCFC_BAD_FLAGS"),  # invalid_ttl_to_controller is 1.0-1.2 only
    ("0109000c00000000000800ff", "OFPSCFC_BAD_FLAGS"),
    ("0104001400000109000023200000000a00000003", "OFPRRFC_BAD_ROLE"),
    ("031800180000000000000004000000000000000000000005", "OFPRRFC_BAD_ROLE"),
    ("0104001400000000000023200000001000000003", "OFPBRC_EPERM"),
    ("0404001800000000000023200000001b000100080000003b", "OFPACFC_INVALID"),  # action_set etc. are 1.4+
    ("0404001800000000000023200000001b0001000800000008", "OFPACFC_INVALID"),
    ("051c00100000000000070008000000ff", "OFPACFC_INVALID"),
    ("051c001000000000000c000800000000", "OFPACFC_UNSUPPORTED"),
    ("0513002000000000000e00000000000000180300000000180003000805141e00", "OFPBRC_BAD_LEN"),
    # Vacancy thresholds above 100, down above up, a current vacancy in a table-mod; an unknown property.
    ("051100180000000001000000000000080003000800650000", "OFPBPC_BAD_VALUE"),
    ("05110018000000000100000000000008000300080a050000", "OFPBPC_BAD_VALUE"),
    ("0511001800000000010000000000000800030008000a6400", "OFPBPC_BAD_VALUE"),
    ("061100200000000502000000000000088002000800000007000302080a320000", "OFPBRC_BAD_TYPE"),
    # An unknown async property is reported before a later bad length; an experimenter property too short.
    (M.encode("OFPT14_SET_ASYNC", 5, bytes.fromhex("00f30008000000030007ff0800000007")).hex(), "OFPACFC_UNSUPPORTED"),
    ("0204002800000000000023200000001bffff000475ff640808007200ff086b000000000104020404", "OFPBPC_BAD_LEN"),
    # Table features for table 255, and with an entry length past the message.
    (_patched(S.encode_table_features_reply([S.TableFeatures.build(0)], 4)[0], 18, b"\xff"), "OFPTFFC_BAD_TABLE"),
    (_patched(S.encode_table_features_reply([S.TableFeatures.build(0)], 4)[0], 16, b"\x01\xb0"), "OFPBPC_BAD_LEN"),
    # A masked field outside the match property.
    (S.encode_table_features_reply([S.TableFeatures.build(0, match=[0x80000806], wildcards=[0x8000090C])], 4)[0]
     .hex(), "OFPBMC_BAD_MASK"),
    # Table features without their match property, and with two.
    (S.encode_table_features_reply([S.TableFeatures(0, props=[
        (t, []) for t in (0, 2, 4, 12, 6, 14, 10)])], 4)[0].hex(), "OFPTFFC_BAD_FEATURES"),
    (S.encode_table_features_reply([S.TableFeatures(0, props=[
        (t, []) for t in (0, 2, 4, 12, 6, 14, 8, 10, 8)])], 4)[0].hex(), "OFPTFFC_BAD_FEATURES"),
]


@pytest.mark.parametrize("hexdata,code", BAD)
def test_bad_messages(hexdata: str, code: str) -> None:
    msg = M.decode(bytes.fromhex(hexdata))
    with pytest.raises(OFPDecodeError) as ei:
        S.PRINTERS[msg.type](msg)
    assert ei.value.code == code


@pytest.mark.parametrize("hexdata,code", BAD)
def test_bad_messages_agree_with_ovs(hexdata: str, code: str) -> None:
    assert f"***decode error: {code}***" in ofp_print(bytes.fromhex(hexdata))


def test_lenient_get_config_reply() -> None:
    """A reply is read leniently: unknown flags are dropped, invalid_ttl only exists before 1.3."""
    msg = M.decode(bytes.fromhex("0408000c00000000000700ff"))
    assert S.decode_switch_config(msg) == S.SwitchConfig(S.FRAG_NX_MATCH, False, 255)


# ---------------------------------------------------------------------------------------------- fuzz

_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_RAWS = sorted(name for name, raw in M.RAWS.items() if raw.type in S.PRINTERS)


def _try(data: bytes) -> None:
    try:
        msg = M.decode(data)
    except OFPDecodeError:
        return
    if msg.type not in S.PRINTERS:
        return
    try:
        S.PRINTERS[msg.type](msg)
        _reencode(msg)
    except (OFPDecodeError, NotImplementedError):
        pass


@_SETTINGS
@given(st.sampled_from(_RAWS), st.integers(1, 6), st.binary(max_size=300))
def test_fuzz_random_bodies(raw_name: str, version: int, body: bytes) -> None:
    raw = M.RAWS[raw_name]
    if not raw.lo <= version <= raw.hi:
        return
    try:
        data = M.encode(raw_name, version, body)
    except ValueError:
        return
    _try(data)


_SEEDS = [c[1] for c in CAPTURED if len(c[1]) < 5000] + [c[1] for c in SYNTHETIC]


@_SETTINGS
@given(st.sampled_from(_SEEDS), st.lists(st.tuples(st.integers(8, 2000), st.integers(0, 255)), max_size=6),
       st.integers(0, 2000))
def test_fuzz_damaged_messages(seed: bytes, changes: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(seed)
    for pos, value in changes:
        if pos < len(data):
            data[pos] = value
    if 8 <= cut < len(data):
        data = data[:cut]
        struct.pack_into("!H", data, 2, len(data))
    _try(bytes(data))
