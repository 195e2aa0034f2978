"""The Geneve TLV table messages and the switch's table, against a real Open vSwitch 3.1.

Ground truth: ``tests/data/openflow/ofp_tlv_capture.json`` (``ofp_flow_stats_capture.py``): ``ovs-ofctl add-tlv-map``,
``del-tlv-map`` and ``dump-tlv-map`` in OpenFlow 1.0, 1.3 and 1.5 against a real ovs-vswitchd, including every
error it answers (ALREADY_MAPPED, DUP_ENTRY, BAD_OPT_LEN, BAD_FIELD_IDX, TABLE_FULL, INVALID_TLV_DEL).  The test
checks the bytes ovs-ofctl sent against ``parse_tlv_map`` + ``encode_tlv_table_mod``, every message's text against
``ovs-ofctl ofp-print``, and replays the session on ``TlvTable``: same errors, same dumps.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wire_helpers import ofp_print

from pyvswitch.openflow import ofp_msgs
from pyvswitch.openflow import ofp_tlv as T
from pyvswitch.openflow.ofp_errors import OFPDecodeError
from pyvswitch.util import vlog
from pyvswitch.util.hexdump import hexdump

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "openflow"
RUNS: list[dict[str, Any]] = json.loads((DATA_DIR / "ofp_tlv_capture.json").read_text())[0]["runs"]


@pytest.fixture(autouse=True, scope="module")
def _quiet() -> Any:
    with vlog.capture():
        yield


def _steps() -> list[tuple[Any, ...]]:
    sys.path.insert(0, str(DATA_DIR))
    try:
        import ofp_flow_stats_cases as cases
    finally:
        sys.path.pop(0)
    return next(steps for module, _, steps in cases.CASES if module == "ofp_tlv")


def our_print(data: bytes) -> str:
    msg = ofp_msgs.decode(data)
    head = ofp_msgs.header_text(msg)
    try:
        return head + T.PRINTERS[msg.type](msg) + "\n"
    except OFPDecodeError as e:
        return f"{head} ***decode error: {e.code}***\n" + hexdump(data)




def _tlv_messages(run: dict[str, Any]) -> list[tuple[bytes, dict[str, Any]]]:
    out = []
    for m in run["messages"]:
        data = bytes.fromhex(m["hex"])
        if ofp_msgs.decode(data).type in T.PRINTERS:
            out.append((data, m))
    return out


@pytest.mark.parametrize("i", range(len(RUNS)))
def test_capture_bytes_and_text(i: int) -> None:
    run = RUNS[i]
    argv = run["argv"]
    msgs = _tlv_messages(run)
    assert msgs
    for data, rec in msgs:
        assert our_print(data) == rec["print"]
        msg = ofp_msgs.decode(data)
        if rec["dir"] == "C>S" and msg.type == "TLV_TABLE_MOD":
            # What ovs-ofctl sent is what parse_tlv_map + the encoder make of its argument.
            if "del-tlv-map" in argv and argv[-1] == "SOCK":
                ttm = T.TlvTableMod(T.NXTTMC_CLEAR)
            else:
                ttm = T.TlvTableMod(T.NXTTMC_ADD if "add-tlv-map" in argv else T.NXTTMC_DELETE,
                                   T.parse_tlv_map(argv[-1]))
            assert T.encode_tlv_table_mod(ttm, msg.version, msg.xid) == data
        elif rec["dir"] == "C>S":
            assert T.encode_tlv_table_request(msg.version, msg.xid) == data
        else:
            assert T.encode_tlv_table_reply(T.decode_tlv_table_reply(msg), msg.version, msg.xid) == data


def test_switch_model_replays_the_session() -> None:
    """``TlvTable`` answers every request of the captured session as ovs-vswitchd did."""
    table = T.TlvTable()
    in_use: set[int] = set()
    runs = iter(RUNS)
    for step in _steps():
        if step[0] == "sh":
            if "add-flow" in step and any("tun_metadata0=" in a for a in step):
                in_use = {0}
            elif "del-flows" in step:
                in_use = set()
            continue
        run = next(runs)
        for data, rec in _tlv_messages(run):
            msg = ofp_msgs.decode(data)
            if rec["dir"] != "C>S":
                continue
            if msg.type == "TLV_TABLE_REQUEST":
                reply = next(d for d, r in _tlv_messages(run) if r["dir"] == "S>C")
                assert T.encode_tlv_table_reply(table.reply(), msg.version, msg.xid) == reply
                continue
            try:
                ttm = T.decode_tlv_table_mod(msg)
                table.apply(ttm, in_use)
                error = None
            except OFPDecodeError as e:
                error = e.code
            if error is None:
                assert run["rc"] == 0, run["stderr"]
            else:
                assert f"): {error}\n" in run["stderr"]


@pytest.mark.parametrize("text,expected", [
    ("{class=0xffff,type=0,len=4}->tun_metadata0", [T.TlvMap(0xFFFF, 0, 4, 0)]),
    ("{class=1,type=0x80,len=010}->tun_metadata3,{class=-1,type=300,len=4}->tun_metadata70000",
     [T.TlvMap(1, 0x80, 8, 3), T.TlvMap(0xFFFF, 300 & 0xFF, 4, 70000 & 0xFFFF)]),
    (",{class= 5,type=0x,len=4}->tun_metadata1", None),
    ("{class=5,type=0,len=4}->tun_metadata1,", None),
    ("{class=5,type=0,len=4}->tun_metadata1 ", None),
    ("{class=5,type=0,len=4}->tun_metadata", None),
    ("{class=5, type=0,len=4}->tun_metadata1", None),
    ("{class=0x,type=0,len=4}->tun_metadata1", None),
    (",{class= 5,type=0,len=4}->tun_metadata1", [T.TlvMap(5, 0, 4, 1)]),
    ("{class=5,type=0,len=4}->tun_metadata+1", [T.TlvMap(5, 0, 4, 1)]),
    ("", []),
])
def test_parse_tlv_map(text: str, expected: list[T.TlvMap] | None) -> None:
    """Each case was checked against ovs-ofctl add-tlv-map (the bytes it sent, or "invalid tlv mapping")."""
    if expected is None:
        with pytest.raises(ValueError, match="invalid tlv mapping"):
            T.parse_tlv_map(text)
    else:
        assert T.parse_tlv_map(text) == expected


@pytest.mark.parametrize("mod", [
    T.TlvTableMod(T.NXTTMC_ADD, [T.TlvMap(0, 0, 0, 0), T.TlvMap(0x102, 0xFF, 124, 63)]),
    T.TlvTableMod(T.NXTTMC_DELETE, [T.TlvMap(0xFFFF, 1, 4, 9)]),
    T.TlvTableMod(T.NXTTMC_CLEAR),
    T.TlvTableMod(3),
    T.TlvTableMod(T.NXTTMC_ADD, [T.TlvMap(0, 0, 6, 0)]),
    T.TlvTableMod(T.NXTTMC_ADD, [T.TlvMap(0, 0, 4, 64)]),
])
@pytest.mark.parametrize("version", [1, 4, 6])
def test_crafted_mods_print_like_ovs(mod: T.TlvTableMod, version: int) -> None:
    data = T.encode_tlv_table_mod(mod, version, 7)
    assert our_print(data) == ofp_print(data)


@pytest.mark.parametrize("reply", [
    T.TlvTableReply(256, 64, []),
    T.TlvTableReply(1000, 3, [T.TlvMap(0, 0, 4, 2), T.TlvMap(0xABCD, 0xA, 120, 0)]),
    T.TlvTableReply(256, 3, [T.TlvMap(0, 0, 4, 3)]),
])
def test_crafted_replies_print_like_ovs(reply: T.TlvTableReply) -> None:
    data = T.encode_tlv_table_reply(reply, 1, 9)
    assert our_print(data) == ofp_print(data)


def test_table_errors_change_nothing() -> None:
    t = T.TlvTable()
    t.apply(T.TlvTableMod(T.NXTTMC_ADD, [T.TlvMap(1, 1, 124, 1), T.TlvMap(1, 2, 124, 2)]))
    assert t.allocated == 248
    before = dict(t.mappings)
    for maps, code in [([T.TlvMap(1, 3, 4, 3), T.TlvMap(1, 4, 8, 4)], "NXTTMFC_TABLE_FULL"),
                       ([T.TlvMap(1, 5, 4, 5), T.TlvMap(1, 5, 4, 6)], "NXTTMFC_DUP_ENTRY"),
                       ([T.TlvMap(1, 6, 4, 7), T.TlvMap(1, 7, 4, 7)], "NXTTMFC_ALREADY_MAPPED")]:
        with pytest.raises(T.TlvTableError) as ei:
            t.apply(T.TlvTableMod(T.NXTTMC_ADD, maps))
        assert ei.value.code == code
        assert t.mappings == before
    with pytest.raises(T.TlvTableError, match="INVALID_TLV_DEL"):
        t.apply(T.TlvTableMod(T.NXTTMC_DELETE, [T.TlvMap(0, 0, 0, 3), T.TlvMap(0, 0, 0, 2)]), lambda i: i == 2)
    assert t.mappings == before
    t.apply(T.TlvTableMod(T.NXTTMC_DELETE, [T.TlvMap(0, 0, 0, 1), T.TlvMap(0, 0, 0, 40)]), {2})
    assert sorted(t.mappings) == [2]
    t.apply(T.TlvTableMod(T.NXTTMC_CLEAR))
    assert not t.mappings


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["NXT_TLV_TABLE_MOD", "NXT_TLV_TABLE_REPLY", "NXT_TLV_TABLE_REQUEST"]),
       st.integers(1, 6), st.binary(max_size=80))
def test_fuzz_decoders(raw: str, version: int, body: bytes) -> None:
    try:
        msg = ofp_msgs.decode(ofp_msgs.encode(raw, version, body, 1))
    except (OFPDecodeError, ValueError):
        return
    try:
        T.PRINTERS[msg.type](msg)
    except OFPDecodeError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="{}=,->0123456789xabcdefgilmnopstuy_ ", max_size=60))
def test_fuzz_parse_tlv_map(text: str) -> None:
    try:
        maps = T.parse_tlv_map(text)
    except ValueError:
        return
    for m in maps:
        assert 0 <= m.option_class <= 0xFFFF and 0 <= m.option_len <= 0xFF
