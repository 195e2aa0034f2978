"""Bundle control and bundle add messages against a real Open vSwitch 3.1.

Ground truth: ``tests/data/openflow/ofp_bundle_capture.json`` (``ofp_flow_stats_capture.py``): ``ovs-ofctl --bundle
add-flows / mod-flows / del-flows / replace-flows / add-group`` in OpenFlow 1.3 (ONF extension), 1.4 and 1.5
against a real ovs-vswitchd, including a bundle whose commit fails (``OFPBAC_BAD_OUT_GROUP`` for the inner
flow-mod, then ``OFPBFC_MSG_FAILED``).  Every control and add message is printed as ``ovs-ofctl ofp-print`` prints
it and re-encoded byte for byte; crafted messages check flags, types, properties and the decoder's errors.
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

from pyvswitch.openflow import ofp_bundle as B
from pyvswitch.openflow import ofp_msgs
from pyvswitch.openflow.ofp_errors import OFPDecodeError
from pyvswitch.util import vlog
from pyvswitch.util.hexdump import hexdump

DATA = Path(__file__).resolve().parent.parent / "data" / "openflow" / "ofp_bundle_capture.json"
RUNS: list[dict[str, Any]] = json.loads(DATA.read_text())[0]["runs"]
MESSAGES = [(bytes.fromhex(m["hex"]), m) for r in RUNS for m in r["messages"]
            if ofp_msgs.decode(bytes.fromhex(m["hex"])).type in B.PRINTERS]
FLOW_MOD_14 = next(B.decode_bundle_add(ofp_msgs.decode(d)).message for d, _ in MESSAGES
                   if ofp_msgs.decode(d).type == "BUNDLE_ADD_MESSAGE" and d[0] == 5)


@pytest.fixture(autouse=True, scope="module")
def _quiet() -> Any:
    with vlog.capture():
        yield


def our_print(data: bytes) -> str:
    msg = ofp_msgs.decode(data)
    head = ofp_msgs.header_text(msg)
    try:
        return head + B.PRINTERS[msg.type](msg) + "\n"
    except OFPDecodeError as e:
        return f"{head} ***decode error: {e.code}***\n" + hexdump(data)




@pytest.mark.parametrize("i", range(len(MESSAGES)))
def test_capture_prints_and_reencodes(i: int) -> None:
    data, rec = MESSAGES[i]
    assert our_print(data) == rec["print"]
    msg = ofp_msgs.decode(data)
    if msg.type == "BUNDLE_CONTROL":
        assert B.encode_bundle_ctrl(B.decode_bundle_ctrl(msg), msg.version, msg.xid) == data
    else:
        ba = B.decode_bundle_add(msg)
        assert ba.inner is not None and ba.inner.type in B.BUNDLABLE
        assert B.encode_bundle_add(B.BundleAdd(ba.bundle_id, ba.flags, ba.message), msg.version) == data


def test_what_ovs_ofctl_sends() -> None:
    """``--bundle``: open (atomic, ordered), one add per flow-mod with the flow-mod's xid, commit."""
    for run in RUNS:
        sent = [ofp_msgs.decode(bytes.fromhex(m["hex"])) for m in run["messages"] if m["dir"] == "C>S"]
        sent = [m for m in sent if m.type in B.PRINTERS]
        ctrl = [B.decode_bundle_ctrl(m) for m in sent if m.type == "BUNDLE_CONTROL"]
        assert [c.type for c in ctrl] == [B.OFPBCT_OPEN_REQUEST, B.OFPBCT_COMMIT_REQUEST]
        assert all(c.flags == B.OFPBF_ATOMIC | B.OFPBF_ORDERED and c.bundle_id == 0 for c in ctrl)
        for m in sent:
            if m.type == "BUNDLE_ADD_MESSAGE":
                ba = B.decode_bundle_add(m)
                assert ba.inner is not None and ba.inner.xid == m.xid
                assert (m.raw.name == "ONFT13_BUNDLE_ADD_MESSAGE") == (m.version == 4)


@pytest.mark.parametrize("version", [4, 5, 6])
@pytest.mark.parametrize("btype", range(9))
@pytest.mark.parametrize("flags,bundle_id", [(0, 0), (1, 7), (2, 0x12345678), (3, 0xFFFFFFFF), (0x8005, 1)])
def test_crafted_controls_print_like_ovs(version: int, btype: int, flags: int, bundle_id: int) -> None:
    data = B.encode_bundle_ctrl(B.BundleCtrl(bundle_id, btype, flags), version, 3)
    assert our_print(data) == ofp_print(data)


def test_control_properties_are_kept() -> None:
    bc = B.BundleCtrl(5, B.OFPBCT_CLOSE_REQUEST, 1, struct.pack("!HHI", 0xFFFF, 8, 0x2320))
    data = B.encode_bundle_ctrl(bc, 5, 1)
    assert B.decode_bundle_ctrl(ofp_msgs.decode(data)) == bc
    assert our_print(data) == ofp_print(data)


def _add(inner: bytes, *, version: int = 5, xid: int | None = None) -> bytes:
    return B.encode_bundle_add(B.BundleAdd(9, B.OFPBF_ATOMIC, inner), version, xid)


def _with_xid(inner: bytes, xid: int) -> bytes:
    return inner[:4] + struct.pack("!I", xid) + inner[8:]


@pytest.mark.parametrize("case,code", [
    ("ok", None),
    ("bad-xid", "OFPBFC_MSG_BAD_XID"),
    ("bad-version", "OFPBFC_BAD_VERSION"),
    ("short-inner", "OFPBFC_MSG_BAD_LEN"),
    ("long-inner", "OFPBFC_MSG_BAD_LEN"),
    ("no-inner", "OFPBFC_MSG_BAD_LEN"),
    ("unbundlable", "OFPBFC_MSG_UNSUP"),
    ("undecodable", "OFPBFC_MSG_UNSUP"),
    ("properties", None),
])
def test_add_errors_like_ovs(case: str, code: str | None) -> None:
    inner = FLOW_MOD_14
    if case == "bad-xid":
        data = _add(inner, xid=99)
    elif case == "bad-version":
        data = _add(bytes([4]) + inner[1:])
    elif case == "short-inner":
        data = _add(inner[:2] + struct.pack("!H", 4) + inner[4:])
    elif case == "long-inner":
        data = _add(inner[:2] + struct.pack("!H", len(inner) + 8) + inner[4:])
    elif case == "no-inner":
        data = ofp_msgs.encode("OFPT14_BUNDLE_ADD_MESSAGE", 5, struct.pack("!I2xH", 1, 0) + b"\x05\x00", 1)
    elif case == "unbundlable":
        data = _add(_with_xid(ofp_msgs.encode(ofp_msgs.raw_for("BARRIER_REQUEST", 5), 5, b"", 0), struct.unpack_from("!I", inner,
                                                                                                    4)[0]))
    elif case == "undecodable":
        data = _add(inner[:1] + b"\xee" + inner[2:])
    else:
        data = B.encode_bundle_add(B.BundleAdd(3, 2, inner, None, struct.pack("!HHI", 0xFFFF, 8, 0x4F4E4600)), 5)
    assert our_print(data) == ofp_print(data)
    msg = ofp_msgs.decode(data)
    if code is None:
        B.decode_bundle_add(msg)
    else:
        with pytest.raises(OFPDecodeError) as ei:
            B.decode_bundle_add(msg)
        assert ei.value.code == code


def test_bundles_need_openflow_13() -> None:
    with pytest.raises(ValueError, match="OpenFlow 1.3 or later"):
        B.encode_bundle_ctrl(B.BundleCtrl(), 3)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["ONFT13_BUNDLE_CONTROL", "OFPT14_BUNDLE_CONTROL", "ONFT13_BUNDLE_ADD_MESSAGE",
                        "OFPT14_BUNDLE_ADD_MESSAGE"]), st.binary(max_size=120), st.integers(4, 6))
def test_fuzz_decoders(raw: str, body: bytes, version: int) -> None:
    r = ofp_msgs.RAWS[raw]
    version = min(max(version, r.lo), r.hi)
    try:
        msg = ofp_msgs.decode(ofp_msgs.encode(raw, version, body, 1))
    except OFPDecodeError:
        return
    try:
        B.PRINTERS[msg.type](msg)
    except OFPDecodeError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(FLOW_MOD_14) - 1), st.integers(0, 255), st.integers(8, len(FLOW_MOD_14)))
def test_fuzz_damaged_inner(i: int, value: int, cut: int) -> None:
    inner = bytearray(FLOW_MOD_14)
    inner[i] = value
    try:
        data = _add(bytes(inner[:cut]), xid=struct.unpack_from("!I", FLOW_MOD_14, 4)[0])
        msg = ofp_msgs.decode(data)
    except OFPDecodeError:
        return
    try:
        B.PRINTERS[msg.type](msg)
    except OFPDecodeError:
        pass
