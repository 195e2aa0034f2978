"""Message framing (``ofp_msgs``) against Open vSwitch's own decoder, ``ovs-ofctl ofp-print``."""

from __future__ import annotations

import re
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wire_helpers import ofp_print

from pyvswitch.openflow import ofp_msgs as M
from pyvswitch.openflow import vconn
from pyvswitch.openflow.ofp_errors import OFPDecodeError
from pyvswitch.openflow.ofp_print import message_text


def _empty_body_kinds() -> list[tuple[str, int]]:
    """Every raw kind whose body may be empty, in its lowest and highest version."""
    out = []
    for raw in M.RAWS.values():
        if raw.min_len == 0 and raw.name not in ("OFPT_ERROR",):
            for v in sorted({max(raw.lo, 1), min(raw.hi, M.MAX_VERSION)}):
                out.append((raw.name, v))
    return out


@pytest.mark.parametrize(("raw", "version"), _empty_body_kinds())
def test_header_text_matches_ofp_print(raw: str, version: int) -> None:
    """Each kind frames as Open vSwitch frames it: ofp-print's first line starts with our header text."""
    data = M.encode(raw, version, b"", 0x42)
    msg = M.decode(data)
    assert msg.raw.name == raw
    first = ofp_print(data).splitlines()[0]
    assert first.startswith(M.header_text(msg)), (first, M.header_text(msg))


@pytest.mark.parametrize("data", [
    bytes.fromhex("0763000800000002"),                                  # unknown version
    bytes.fromhex("0463000800000002"),                                  # unknown type
    bytes.fromhex("04120010000000020063000000000000"),                  # unknown stat
    bytes.fromhex("01040010000000030000232100000063"),                  # unknown vendor
    bytes.fromhex("04040010000000030000232000000063"),                  # unknown Nicira subtype
    bytes.fromhex("011000180000000 2ffff0000000023200000006300000000".replace(" ", "")),  # unknown NXST
    bytes.fromhex("041400090000000200"),                                # barrier with a body
    bytes.fromhex("0111000c0000000200000000"),                          # truncated desc reply
    bytes.fromhex("010a0009000000010a"),                                # short packet-in
    bytes.fromhex("04130011000000020 00d000000000000 00".replace(" ", "")),  # port desc, not a multiple
])
def test_decode_errors_match_open_vswitch(data: bytes) -> None:
    want = re.search(r"\*\*\*decode error: (\w+)\*\*\*", ofp_print(data))
    assert want is not None
    with pytest.raises(OFPDecodeError) as e:
        M.decode(data)
    assert e.value.code == want.group(1)


def test_multipart_replies_split_with_reply_more() -> None:
    parts = [bytes(48)] * 3000
    msgs = M.encode_multipart_replies("OFPST10_PORT_DESC_REPLY", 1, 7, parts)
    assert len(msgs) > 1
    decoded = [M.decode(m) for m in msgs]
    assert [d.flags for d in decoded] == [M.OFPSF_REPLY_MORE] * (len(msgs) - 1) + [0]
    assert sum(len(d.body) for d in decoded) == 48 * 3000
    assert all(len(m) <= 0xFFFF for m in msgs)
    assert "flags=[more]" in ofp_print(msgs[0]).splitlines()[0]


@pytest.mark.parametrize("versions", [{1}, {4}, {1, 4}, {1, 2, 3, 4, 5, 6}, {4, 6}, {1, 2, 3}])
def test_hello_bitmap(versions: set[int]) -> None:
    data = M.encode_hello(versions, 9)
    msg = M.decode(data)
    assert M.decode_hello(msg) == versions
    text = ofp_print(data)
    offered = {int(x, 16) for x in re.findall(r"0x0(\d)", text.splitlines()[1])}
    assert offered == versions


def test_raw_for_prefers_standard_messages() -> None:
    assert M.raw_for("ROLE_REQUEST", 1) == "NXT_ROLE_REQUEST"
    assert M.raw_for("ROLE_REQUEST", 4) == "OFPT12_ROLE_REQUEST"
    assert M.raw_for("FLOW_STATS_REQUEST", 1) == "OFPST10_FLOW_REQUEST"
    assert M.raw_for("BUNDLE_CONTROL", 4) == "ONFT13_BUNDLE_CONTROL"
    assert M.raw_for("BARRIER_REPLY", 6) == "OFPT11_BARRIER_REPLY"
    with pytest.raises(KeyError):
        M.raw_for("METER_MOD", 1)


def test_error_messages_print_like_open_vswitch() -> None:
    inner = M.encode("OFPT11_BARRIER_REQUEST", 4, b"", 9)
    for version, name in [(4, "OFPBRC_BAD_TYPE"), (1, "OFPBRC_BAD_TYPE"), (6, "OFPFMFC_OVERLAP"),
                          (1, "OFPFMFC_OVERLAP")]:
        data = M.encode_error(version, name, 9, inner)
        assert "OFPT_ERROR" in ofp_print(data) and name in ofp_print(data)
        assert M.decode_error(M.decode(data))[0] == name


@settings(max_examples=400, deadline=None)
@given(st.binary(min_size=0, max_size=64), st.integers(0, 255), st.integers(0, 255))
def test_decode_never_raises_anything_else(tail: bytes, version: int, mtype: int) -> None:
    data = struct.pack("!BBHI", version, mtype, 8 + len(tail), 1) + tail
    try:
        msg = M.decode(data)
    except OFPDecodeError:
        return
    assert msg.data == data


@pytest.mark.parametrize("data", [
    vconn.encode_hello_failed(4, "We support 0x04, you support 0x01, no common versions."),
    M.encode_error(4, "OFPBRC_BAD_TYPE", 3, M.encode("OFPT11_BARRIER_REQUEST", 4, b"", 3)),
    M.encode_error(1, "OFPFMFC_OVERLAP", 3, b"\x01\x02\x03"),
    M.encode_error(6, "OFPBRC_EPERM", 3, b""),
])
def test_error_messages_print_whole_like_ofp_print(data: bytes) -> None:
    assert message_text(data) + "\n" == ofp_print(data)
