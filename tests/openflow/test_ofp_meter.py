"""Meter messages against Open vSwitch 3.1.

``tests/data/openflow/meter_wire.json`` was recorded like ``group_wire.json`` (see tests/openflow/test_ofp_group.py):
``ovs-ofctl`` meter commands through a recording proxy to a real ovs-vswitchd with a ``datapath_type=dummy`` bridge
(the userspace datapath, which implements meters: drop bands only, 262144 meters, 8 bands).
"""

from __future__ import annotations

import json
import re
import shlex
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wire_helpers import ofp_print as _ofp_print

from pyvswitch.ofproto import meter as M
from pyvswitch.openflow import ofp_meter as OM
from pyvswitch.openflow import ofp_msgs
from pyvswitch.openflow.ofp_errors import OFPDecodeError
from pyvswitch.openflow.ofp_flow_stats import PartialDecodeError

DATA = Path(__file__).parent.parent / "data" / "openflow" / "meter_wire.json"
RECORDS = json.loads(DATA.read_text())
VERSIONS = {"OpenFlow13": 4, "OpenFlow14": 5, "OpenFlow15": 6}
_CMD = {"add-meter": M.MeterCommand.ADD, "mod-meter": M.MeterCommand.MODIFY, "del-meters": M.MeterCommand.DELETE,
        "del-meter": M.MeterCommand.DELETE}



def _meter_msgs() -> list[tuple[str, dict]]:
    return [(r["line"], m) for r in RECORDS for m in r["msgs"]
            if ofp_msgs.decode(bytes.fromhex(m["hex"])).type in OM.PRINTERS]




def _print_until_error(data: bytes) -> str:
    """What ofp-print prints up to its decode error line, as the central printer will assemble it."""
    msg = ofp_msgs.decode(data)
    try:
        return ofp_msgs.header_text(msg) + OM.PRINTERS[msg.type](msg) + "\n"
    except PartialDecodeError as e:
        return ofp_msgs.header_text(msg) + e.partial + f"\n***decode error: {e.code}***\n"
    except OFPDecodeError as e:
        return ofp_msgs.header_text(msg) + f" ***decode error: {e.code}***\n"


def _print(data: bytes) -> str:
    msg = ofp_msgs.decode(data)
    return ofp_msgs.header_text(msg) + OM.PRINTERS[msg.type](msg) + "\n"


@pytest.mark.parametrize(("line", "m"), _meter_msgs())
def test_print_matches_ofp_print(line: str, m: dict) -> None:
    if "***decode error" in m["ofp_print"]:
        code = re.search(r"decode error: (\w+)", m["ofp_print"]).group(1)  # type: ignore[union-attr]
        with pytest.raises(OFPDecodeError) as e:
            _print(bytes.fromhex(m["hex"]))
        assert e.value.code == code
        return
    assert _print(bytes.fromhex(m["hex"])) == m["ofp_print"], line


@pytest.mark.parametrize(("line", "m"), [(ln, m) for ln, m in _meter_msgs() if m["dir"] == "req"])
def test_requests_are_byte_exact(line: str, m: dict) -> None:
    data = bytes.fromhex(m["hex"])
    argv = shlex.split(line)
    version, cmd, args = VERSIONS[argv[0]], argv[1], argv[3:]
    xid = ofp_msgs.decode(data).xid
    if cmd in _CMD:
        if args:
            try:
                mm = M.parse_meter_mod(args[0], _CMD[cmd])
            except M.MeterParseError:
                pytest.fail(line)
        else:
            mm = M.MeterMod(M.MeterCommand.DELETE, M.OFPM_ALL)
        ours = OM.encode_meter_mod(mm, version, xid)
    elif cmd in ("dump-meters", "meter-stats"):
        mid = M.parse_meter_mod(args[0], None).meter_id if args else M.OFPM_ALL
        enc = OM.encode_meter_config_request if cmd == "dump-meters" else OM.encode_meter_stats_request
        ours = enc(OM.MeterRequest(mid), version, xid)
    elif cmd == "meter-features":
        ours = OM.encode_meter_features_request(version, xid)
    else:
        pytest.fail(f"unexpected request for {line}")
    assert ours.hex() == data.hex(), line


@pytest.mark.parametrize(("line", "m"), [(ln, m) for ln, m in _meter_msgs() if m["dir"] == "rep"])
def test_replies_reencode(line: str, m: dict) -> None:
    data = bytes.fromhex(m["hex"])
    msg = ofp_msgs.decode(data)
    if msg.type == "METER_CONFIG_STATS_REPLY":
        ours = OM.encode_meter_config_reply(OM.decode_meter_config_reply(msg), msg.version, msg.xid, msg.flags)
    elif msg.type == "METER_STATS_REPLY":
        ours = OM.encode_meter_stats_reply(OM.decode_meter_stats_reply(msg), msg.version, msg.xid, msg.flags)
    else:
        assert msg.type == "METER_FEATURES_STATS_REPLY"
        mf = OM.decode_meter_features_reply(msg)
        assert mf == M.MeterFeatures()
        ours = OM.encode_meter_features_reply(mf, msg.version, msg.xid)
    assert ours.hex() == data.hex(), line


def test_synthetic_messages_print_like_ofp_print() -> None:
    bands = (M.Band(M.BandType.DROP, 10, 5), M.Band(M.BandType.DSCP_REMARK, 20, 0, 3))
    msgs = []
    for v in (4, 5, 6):
        msgs += [
            OM.encode_meter_mod(M.MeterMod(M.MeterCommand.ADD, 5, M.MeterFlags.PKTPS | M.MeterFlags.BURST, bands),
                                v, 1),
            OM.encode_meter_mod(M.MeterMod(M.MeterCommand.MODIFY, M.OFPM_CONTROLLER, 0x19, bands[:1]), v, 1),
            OM.encode_meter_mod(M.MeterMod(M.MeterCommand.DELETE, M.OFPM_ALL), v, 2),
            OM.encode_meter_config_reply([M.MeterConfig(1, 0, ()), M.MeterConfig(M.OFPM_SLOWPATH, 4, bands)], v, 3),
            OM.encode_meter_stats_reply([M.MeterStats(3, 1, 2, 3, 4, 5_000_000, (M.BandStats(6, 7),)),
                                         M.MeterStats(4)], v, 4),
            OM.encode_meter_features_reply(M.MeterFeatures(7, 0x16, 0x30, 2, 1), v, 5),
            OM.encode_meter_features_reply(M.MeterFeatures(0, 0, 0, 0, 0), v, 5),
            OM.encode_meter_stats_request(OM.MeterRequest(M.OFPM_CONTROLLER), v, 6),
            OM.encode_meter_config_request(OM.MeterRequest(77), v, 6),
        ]
    for data in msgs:
        exp = _ofp_print(data)
        assert _print(data) == exp


def _damaged() -> list[bytes]:
    mod = OM.encode_meter_mod(M.parse_meter_mod("meter=1,kbps,bands=type=drop,rate=5,type=drop,rate=6",
                                                M.MeterCommand.ADD), 4, 2)
    cfg = OM.encode_meter_config_reply([M.MeterConfig(1, 1, (M.Band(M.BandType.DROP, 5),))], 4, 3)
    sts = OM.encode_meter_stats_reply([M.MeterStats(1, bands=(M.BandStats(1, 2),))], 4, 3)

    def patch(data: bytes, off: int, fmt: str, value: int) -> bytes:
        b = bytearray(data)
        struct.pack_into(fmt, b, off, value)
        return bytes(b)

    return [patch(mod, 8, "!H", 3), patch(mod, 8, "!H", 2), patch(mod, 10, "!H", 3), patch(mod, 16, "!H", 3),
            patch(mod, 18, "!H", 8), patch(mod, 34, "!H", 32), patch(mod, 16, "!H", 2),
            patch(cfg, 16, "!H", 12), patch(cfg, 16, "!H", 40), patch(cfg, 16, "!H", 4), patch(cfg, 28, "!H", 9),
            patch(sts, 20, "!H", 48), patch(sts, 20, "!H", 80), patch(sts, 20, "!H", 24)]


@pytest.mark.parametrize("data", _damaged(), ids=lambda d: d.hex()[16:40])
def test_decode_errors_match_ofp_print(data: bytes) -> None:
    out = _ofp_print(data)
    m = re.search(r"\*\*\*decode error: (\w+)\*\*\*", out)
    try:
        got = _print(data)
    except OFPDecodeError as e:
        assert m is not None and e.code == m.group(1)
        return
    assert got == out


_RAWS = [name for name in ofp_msgs.RAWS if ofp_msgs.RAWS[name].type in OM.PRINTERS]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(_RAWS), st.integers(4, 6), st.binary(max_size=200))
def test_fuzz_random_bodies(raw: str, version: int, body: bytes) -> None:
    try:
        msg = ofp_msgs.decode(ofp_msgs.encode(raw, version, body, 1))
    except OFPDecodeError:
        return
    try:
        OM.PRINTERS[msg.type](msg)
    except OFPDecodeError:
        pass


def _partial_replies() -> list[bytes]:
    sts = OM.encode_meter_stats_reply([M.MeterStats(1), M.MeterStats(2, bands=(M.BandStats(1, 2),))], 4, 3)
    cfg = OM.encode_meter_config_reply([M.MeterConfig(1, 1, (M.Band(1, 5),)), M.MeterConfig(2, 1, (M.Band(1, 5),))],
                                       4, 3)

    def patch(data: bytes, off: int, fmt: str, value: int) -> bytes:
        b = bytearray(data)
        struct.pack_into(fmt, b, off, value)
        return bytes(b)

    return [patch(sts, 60, "!H", 200), patch(sts, 20, "!H", 8), patch(cfg, 56, "!H", 9), patch(cfg, 16, "!H", 5)]


@pytest.mark.parametrize("data", _partial_replies(), ids=lambda d: d.hex()[16:60])
def test_partly_decodable_replies_print_like_ofp_print(data: bytes) -> None:
    assert _ofp_print(data).startswith(_print_until_error(data))
