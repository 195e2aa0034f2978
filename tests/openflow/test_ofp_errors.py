"""The OpenFlow error table against the real ``ovs-ofctl`` (Open vSwitch 3.1).

``ovs-ofctl ofp-parse FILE`` prints every message of a file of binary OpenFlow messages, so one call checks
thousands of ``OFPT_ERROR`` messages (about 0.2 s):

* every (name, version) pair, 198 names x 6 versions = 1188 messages: ``error_to_wire`` wrapped in a header and
  followed by an echo request is printed with the name ``error_from_wire`` gives back, which is the name itself
  except for Open vSwitch's two shared numbers and the ``NXBRC_UNENCODABLE_ERROR`` fallback (300 pairs), and
  the echo request after it is printed as such (so the number of bytes consumed is right);
* a sweep of about 39,000 (type, code) / vendor / experimenter numbers in every version, in the standard, Nicira
  vendor and experimenter forms: ``error_from_wire`` names the same error as ofp-print, or rejects exactly
  what ofp-print reports as ``***decode error: OFPBRC_BAD_LEN***``.
"""

from __future__ import annotations

import re
import struct
import subprocess
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch.openflow.ofp_errors import (
    ERRORS,
    FALLBACK_ERROR,
    KNOWN_NAMES,
    NX_ERRORS,
    NX_VENDOR_ID,
    ONF_VENDOR_ID,
    ErrorCode,
    OFPDecodeError,
    error_code,
    error_from_wire,
    error_to_wire,
    error_type_code,
)

VERSIONS = range(1, 7)
_ERROR_LINE = re.compile(r"^OFPT_ERROR (?:\(OF1\.\d\) )?\(xid=0x([0-9a-f]+)\): ?(.*)$", re.MULTILINE)

# Names that decode as another, earlier name in some versions (same numbers): name -> {version: decoded name}.
SHARED = {
    "OFPBRC_IS_SECONDARY": {1: "OFPBRC_EPERM", 2: "OFPBRC_EPERM"},
    "OFPBIC_BAD_EXP_TYPE": {2: "OFPBIC_BAD_EXPERIMENTER"},
}


def _error_msg(version: int, xid: int, body: bytes) -> bytes:
    return struct.pack("!BBHI", version, 1, 8 + len(body), xid) + body


def _ofp_parse(msgs: list[bytes]) -> tuple[dict[int, str], dict[int, str]]:
    """What ``ovs-ofctl ofp-parse`` prints for each message, by xid: the text after the header's colon, and
    the lines that follow it (up to the next OFPT_ERROR)."""
    with tempfile.NamedTemporaryFile(suffix=".of") as f:
        f.write(b"".join(msgs))
        f.flush()
        out = subprocess.run(["ovs-ofctl", "ofp-parse", f.name], capture_output=True, text=True,
                             check=True).stdout
    heads: dict[int, str] = {}
    rests: dict[int, str] = {}
    matches = list(_ERROR_LINE.finditer(out))
    for m, nxt in zip(matches, [*matches[1:], None], strict=True):
        xid = int(m.group(1), 16)
        heads[xid] = m.group(2)
        rests[xid] = out[m.end() + 1:nxt.start() if nxt else len(out)]
    return heads, rests


# --- the table ----------------------------------------------------------------------------------------------

def test_every_open_vswitch_3_1_error_is_listed() -> None:
    assert len(ERRORS) == 198
    for name in ("OFPBRC_IS_SECONDARY", "OFPRRFC_ID_IN_USE", "OFPHFC_INCOMPATIBLE", "OFPHFC_EPERM",
                 "OFPSCFC_BAD_LEN", "OFPPMFC_BAD_ADVERTISE", "OFPTMFC_EPERM", "OFPQOFC_EPERM",
                 "OFPGMFC_BUCKET_EXISTS", "OFPMMFC_OUT_OF_BANDS", "OFPTFFC_TOO_MANY", "OFPBPC_BAD_EXP_VALUE",
                 "OFPACFC_UNSUPPORTED", "OFPBFC_SCHED_PAST", "OFPBFC_BAD_VERSION", "OFPMOFC_BAD_OUT",
                 "NXBRC_UNENCODABLE_ERROR", "NXBAC_CT_DATAPATH_SUPPORT", "NXFMFC_INVALID_TLV_FIELD",
                 "NXTTMFC_INVALID_TLV_DEL", "NXR_STALE", "NXBMC_CT_DATAPATH_SUPPORT", "NXQOFC_QUEUE_ERROR",
                 "NXTFFC_DUP_TABLE", "NXST_NOT_CONFIGURED"):
        assert name in ERRORS
    assert "OFPBRC_IS_SLAVE" not in ERRORS and "OFPBRC_IS_SLAVE" in KNOWN_NAMES
    assert set(ERRORS) <= KNOWN_NAMES


def test_fallback_is_expressible_in_every_version() -> None:
    assert set(ERRORS[FALLBACK_ERROR]) == set(VERSIONS)


def test_numbers_of_some_errors() -> None:
    # Standard numbers, renumbered between versions.
    assert error_type_code("OFPFMFC_OVERLAP", 1) == (3, 1)
    assert error_type_code("OFPFMFC_OVERLAP", 2) == (5, 3)
    assert error_type_code("OFPBPC_BAD_TYPE", 4) == (13, 2)
    assert error_type_code("OFPBPC_BAD_TYPE", 5) == (14, 0)
    assert error_type_code("OFPMMFC_INVALID_METER", 3) is None
    assert error_type_code("OFPMMFC_INVALID_METER", 4) == (12, 2)
    assert error_type_code("OFPGMFC_CHAINED_GROUP", 2) is None
    assert error_type_code("OFPBRC_IS_SLAVE", 4) == (1, 10)
    assert error_type_code("OFPBMC_BAD_PREREQ", 1) is None
    assert error_type_code("NO_SUCH_ERROR", 4) is None
    # Extension numbers.
    assert error_code("OFPBMC_BAD_PREREQ", 1) == ErrorCode(NX_VENDOR_ID, 1, 260)
    assert error_code("OFPBMC_BAD_FIELD", 1) == ErrorCode(NX_VENDOR_ID, 0, 263)
    assert error_code("OFPFMFC_BAD_FLAGS", 2) == ErrorCode(NX_VENDOR_ID, 5, 258)
    assert error_code("OFPBFC_MSG_FAILED", 4) == ErrorCode(ONF_VENDOR_ID, 2313, 0)
    assert error_code("OFPBFC_MSG_FAILED", 3) is None
    assert error_code("OFPMOFC_MONITOR_EXISTS", 4) == ErrorCode(NX_VENDOR_ID, 6, 0)
    assert error_code("OFPMOFC_MONITOR_EXISTS", 5) == ErrorCode(0, 16, 1)
    assert NX_ERRORS["NXBRC_NXM_INVALID"] == 2 and NX_ERRORS["OFPBPC_EPERM"] == 33
    assert "OFPBMC_BAD_PREREQ" not in NX_ERRORS  # a Nicira error only in OpenFlow 1.0/1.1, with (type, code)


def test_wire_forms() -> None:
    assert error_to_wire("OFPBRC_BAD_LEN", 4) == bytes.fromhex("00010006")
    assert error_to_wire("OFPBMC_BAD_PREREQ", 1) == bytes.fromhex("b0c20000 00002320 0001 0104")
    assert error_to_wire("NXBRC_NXM_INVALID", 4) == bytes.fromhex("ffff0002 00002320")
    assert error_to_wire("OFPBFC_TIMEOUT", 4) == bytes.fromhex("ffff090a 4f4e4600")
    assert error_to_wire("OFPBFC_TIMEOUT", 5) == bytes.fromhex("0011000e")
    # Not expressible: Open vSwitch's fallback.
    assert error_to_wire("OFPBFC_TIMEOUT", 1) == bytes.fromhex("b0c20000 00002320 0001 0209")
    assert error_to_wire("OFPMMFC_BAD_RATE", 3) == bytes.fromhex("ffff000a 00002320")
    assert error_to_wire("OFPBRC_IS_SLAVE", 3) == error_to_wire("OFPBRC_IS_SECONDARY", 3)
    with pytest.raises(ValueError):
        error_to_wire("NO_SUCH_ERROR", 4)
    with pytest.raises(ValueError):
        error_to_wire("OFPBRC_BAD_LEN", 7)


def test_decoding_quirks_of_open_vswitch() -> None:
    # The vendor and experimenter forms are accepted in every version, then looked up in its table.
    assert error_from_wire(1, bytes.fromhex("ffff0006 00002320")) == ("OFPGMFC_GROUP_EXISTS", 8)
    assert error_from_wire(4, bytes.fromhex("b0c20000 00002320 0002 0000")) == ("NXBRC_NXM_INVALID", 12)
    assert error_from_wire(1, bytes.fromhex("00010005")) == ("OFPBRC_EPERM", 4)
    for body in (b"", b"\x00\x01\x00", bytes.fromhex("b0c20000 000023"), bytes.fromhex("ffff0002 0000"),
                 bytes.fromhex("00010009"), bytes.fromhex("ffff0002 4f4e4600")):
        with pytest.raises(OFPDecodeError) as exc:
            error_from_wire(1, body)
        assert exc.value.code == "OFPBRC_BAD_LEN"
    with pytest.raises(OFPDecodeError):
        error_from_wire(7, bytes.fromhex("00010006"))


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 255), st.binary(max_size=16))
def test_random_bodies_decode_or_raise_bad_len(version: int, body: bytes) -> None:
    try:
        name, consumed = error_from_wire(version, body)
    except OFPDecodeError as e:
        assert e.code == "OFPBRC_BAD_LEN"
        return
    assert name in ERRORS and consumed in (4, 8, 12) and consumed <= len(body)


# --- against ovs-ofctl --------------------------------------------------------------------------------------

def test_every_name_in_every_version_prints_as_ovs_ofctl_prints_it() -> None:
    cases: list[tuple[str, int]] = [(name, v) for name in ERRORS for v in VERSIONS]
    msgs = []
    for xid, (name, v) in enumerate(cases):
        echo = struct.pack("!BBHI", v, 2, 8, 0xABCDEF)
        msgs.append(_error_msg(v, xid, error_to_wire(name, v) + echo))
    heads, rests = _ofp_parse(msgs)
    assert len(heads) == len(cases)
    fallbacks = 0
    for xid, (name, v) in enumerate(cases):
        if error_code(name, v) is None:
            expected = FALLBACK_ERROR
            fallbacks += 1
        else:
            expected = SHARED.get(name, {}).get(v, name)
        body = error_to_wire(name, v)
        assert error_from_wire(v, body) == (expected, len(body))
        assert heads[xid] == expected, (name, v)
        # What follows the error's numbers is the offending message, which ofp-print prints in turn (hello
        # failures carry text instead, which it prints escaped).
        if expected.startswith("OFPHFC_"):
            assert rests[xid].startswith(f"\\00{v}\\002\\000\\010"), (name, v)
        else:
            assert rests[xid].startswith("OFPT_ECHO_REQUEST") and "(xid=0xabcdef)" in rests[xid], (name, v)
    assert fallbacks == 300


def test_sweep_of_numbers_decodes_as_ovs_ofctl_decodes_them() -> None:
    bodies: list[tuple[int, bytes]] = []
    nx_codes = [*range(24), *range(250, 270), *range(505, 545)]
    exp_types = [*range(60), *range(2295, 2320), *range(2355, 2380), *range(2595, 2605), *range(2635, 2645),
                 *range(4245, 4255), *range(4438, 4452)]
    for v in VERSIONS:
        for t in [*range(20), 0xFFFE, 0xB0C2]:
            bodies += [(v, struct.pack("!HH", t, c)) for c in range(24)]
        for vendor in (NX_VENDOR_ID, ONF_VENDOR_ID, 0, 1):
            bodies += [(v, struct.pack("!HHIHH", 0xB0C2, 0, vendor, t, c)) for t in range(16) for c in nx_codes]
            bodies += [(v, struct.pack("!HHI", 0xFFFF, e, vendor)) for e in exp_types]
        # Too short for the vendor or experimenter part (the whole message is at least 12 bytes, as OpenFlow
        # requires, or ofp-print rejects it before it is an error message at all).
        bodies += [(v, bytes.fromhex(h)) for h in ("b0c20000", "b0c20000 00002320 000101", "ffff0002",
                                                   "ffff0002 000023")]
    heads, _ = _ofp_parse([_error_msg(v, xid, body) for xid, (v, body) in enumerate(bodies)])
    assert len(heads) == len(bodies)
    decoded = 0
    for xid, (v, body) in enumerate(bodies):
        try:
            mine = error_from_wire(v, body)[0]
            decoded += 1
        except OFPDecodeError as e:
            mine = f"***decode error: {e.code}***"
        assert heads[xid] == mine, (v, body.hex())
    assert decoded > 1500


def test_bodies_shorter_than_the_error_header_fail_framing_in_ovs_ofctl_too() -> None:
    for body in (b"", b"\x00\x01"):
        with pytest.raises(OFPDecodeError, match="OFPBRC_BAD_LEN"):
            error_from_wire(4, body)
        out = subprocess.run(["ovs-ofctl", "ofp-print", _error_msg(4, 1, body).hex()], capture_output=True,
                             text=True, check=True).stdout
        assert out.startswith("***decode error: OFPBRC_BAD_LEN***")
