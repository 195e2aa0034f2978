"""OpenFlow error names, as Open vSwitch 3.1 spells them, and how each is numbered on the wire in each version.

The codec reports what it rejects with ``OFPDecodeError(name)``, where ``name`` is Open vSwitch's name of the
error (``OFPBMC_BAD_PREREQ``, ``OFPBAC_UNSUPPORTED_ORDER``...): that is what ``ovs-ofctl`` prints after
``***decode error:`` and what users search for.  An ``OFPT_ERROR`` message carries the error as numbers, and
the numbers differ between OpenFlow versions: the bad-match errors do not exist in OpenFlow 1.0, the flow-mod
codes were renumbered in 1.1, bundles became standard in 1.4...

The table
---------
``_SPEC`` lists every error Open vSwitch 3.1 knows, once, in Open vSwitch's order, with one clause per range of
versions.  A clause is ``VERSIONS [VENDOR] NUMBERS``:

* ``1.1+ 6,0``: a standard error, ``ofp_error_msg`` type 6, code 0, in OpenFlow 1.1 and later;
* ``1.0-1.1 nx 1,259``: a Nicira extension error in OpenFlow 1.0 or 1.1.  These versions have no experimenter
  error type, so Open vSwitch sends type ``NXET_VENDOR`` (0xb0c2), code ``NXVC_VENDOR_ERROR`` (0), and then an
  ``nx_vendor_error``: vendor 0x2320, a 16-bit type and a 16-bit code;
* ``1.2+ nx 25`` / ``1.3 onf 2640``: an experimenter error of OpenFlow 1.2 and later: type ``OFPET_EXPERIMENTER``
  (0xffff), the number as ``exp_type`` in the code field, then the experimenter id, Nicira's 0x2320 or the
  ONF's 0x4f4e4600 (the ONF numbered errors of its extensions to OpenFlow 1.3 that 1.4 made standard).

A version for which an error has no clause cannot express it.  Open vSwitch then sends
``NXBRC_UNENCODABLE_ERROR`` instead (and logs "cannot encode ... for OpenFlow 1.x"), which every version can
express; ``error_to_wire`` does the same.  (Open vSwitch never sends a generic standard error such as
``OFPBRC_EPERM`` in its place.)

Two errors share their numbers with an earlier one in old versions, because the later versions split one error
in two: ``OFPBRC_IS_SECONDARY`` is (1,5) like ``OFPBRC_EPERM`` in OpenFlow 1.0 and 1.1, and
``OFPBIC_BAD_EXP_TYPE`` is (3,5) like ``OFPBIC_BAD_EXPERIMENTER`` in OpenFlow 1.1.  Decoding gives the name
listed first, as Open vSwitch does.

Decoding follows Open vSwitch's ``ofperr_decode_msg`` to the letter, including what it tolerates: the Nicira
vendor form (0xb0c2, 0) and the experimenter form (0xffff) are recognized in *every* version, and the resulting
(vendor, type, code) is then looked up in the table of the message's version; an experimenter error is looked up
with code 0.  So an OpenFlow 1.0 message of type 0xffff, code 6, experimenter 0x2320 decodes as
``OFPGMFC_GROUP_EXISTS`` (Nicira (6,0) in 1.0).  Whatever the table does not know is rejected: ``ovs-ofctl
ofp-print`` prints ``***decode error: OFPBRC_BAD_LEN***`` for it.

The numbers come from the comments of Open vSwitch's ``include/openvswitch/ofp-errors.h`` (its source for the
generated tables) and the OpenFlow 1.0 to 1.5 specifications; tests/openflow/test_ofp_errors.py checks every
(name, version) and a sweep of about 39,000 (type, code) pairs against ``ovs-ofctl ofp-parse``.

Older API, kept for the codec: ``ERRORS`` (now every name, keyed by wire version), ``NX_ERRORS`` (now the
Nicira experimenter numbers of OpenFlow 1.2+), ``KNOWN_NAMES`` and ``error_type_code``.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

__all__ = [
    "ALIASES",
    "ERRORS",
    "FALLBACK_ERROR",
    "KNOWN_NAMES",
    "NXET_VENDOR",
    "NX_ERRORS",
    "NX_VENDOR_ID",
    "OFPET_EXPERIMENTER",
    "ONF_VENDOR_ID",
    "ErrorCode",
    "OFPDecodeError",
    "error_code",
    "error_from_wire",
    "error_to_wire",
    "error_type_code",
]


class OFPDecodeError(Exception):
    """An OpenFlow message the decoder rejects.  ``code`` is Open vSwitch's name of the OpenFlow error
    (``str(e)`` too), ``detail`` an optional human-readable explanation (the log line Open vSwitch would write)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        return self.code


NX_VENDOR_ID = 0x00002320
ONF_VENDOR_ID = 0x4F4E4600
NXET_VENDOR = 0xB0C2
NXVC_VENDOR_ERROR = 0
OFPET_EXPERIMENTER = 0xFFFF
FALLBACK_ERROR = "NXBRC_UNENCODABLE_ERROR"
"""What Open vSwitch sends for an error the connection's OpenFlow version cannot express."""

ALIASES: dict[str, str] = {"OFPBRC_IS_SLAVE": "OFPBRC_IS_SECONDARY"}
"""Former spellings accepted by ``error_to_wire`` and ``error_type_code`` (Open vSwitch renamed IS_SLAVE in
2.15); decoding always gives the current name."""

_VERSIONS = {"1.0": 1, "1.1": 2, "1.2": 3, "1.3": 4, "1.4": 5, "1.5": 6}
_MIN_VERSION, _MAX_VERSION = 1, 6
_VENDORS = {"nx": NX_VENDOR_ID, "onf": ONF_VENDOR_ID}


class ErrorCode(NamedTuple):
    """How one error is numbered in one version: ``vendor`` 0 for a standard error, else the Nicira or ONF id.
    For extension errors of OpenFlow 1.0/1.1, (``type``, ``code``) are the ``nx_vendor_error``'s; for those of
    1.2+, ``type`` is the ``exp_type`` and ``code`` is 0."""

    vendor: int
    type: int
    code: int


def _run(prefix: str, names: str, spec: str, **first: int) -> list[tuple[str, str]]:
    """Entries for a run of errors numbered consecutively: ``spec`` with each ``{field}`` standing for
    ``first[field]`` in the first entry, one more in the next...  (Standard types list their codes in order,
    and so do the extension numbers that stood for them before they were standard.)"""
    return [(prefix + n, spec.format(**{k: v + i for k, v in first.items()})) for i, n in enumerate(names.split())]


# Every error of Open vSwitch 3.1, in its order (which decides the name of shared numbers).
_SPEC: list[tuple[str, str]] = [
    # OFPET_HELLO_FAILED.
    ("OFPHFC_INCOMPATIBLE", "1.0+ 0,0"),
    ("OFPHFC_EPERM", "1.0+ 0,1"),
    # OFPET_BAD_REQUEST.
    *_run("OFPBRC_", "BAD_VERSION BAD_TYPE BAD_STAT BAD_VENDOR BAD_SUBTYPE EPERM BAD_LEN BUFFER_EMPTY "
          "BUFFER_UNKNOWN", "1.0+ 1,{c}", c=0),
    ("OFPBRC_BAD_TABLE_ID", "1.0 nx 1,512; 1.1+ 1,9"),
    ("OFPBRC_IS_SECONDARY", "1.0-1.1 1,5; 1.2+ 1,10"),
    ("OFPBRC_BAD_PORT", "1.0-1.1 nx 1,514; 1.2+ 1,11"),
    ("OFPBRC_BAD_PACKET", "1.2+ 1,12"),
    ("OFPBRC_MULTIPART_BUFFER_OVERFLOW", "1.3+ 1,13"),
    ("OFPBRC_MULTIPART_REQUEST_TIMEOUT", "1.3 onf 2640; 1.4+ 1,14"),
    ("OFPBRC_MULTIPART_REPLY_TIMEOUT", "1.3 onf 2641; 1.4+ 1,15"),
    ("OFPBRC_MULTIPART_BAD_SCHED", "1.5+ 1,16"),
    ("OFPBRC_PIPELINE_FIELDS_ONLY", "1.5+ 1,17"),
    ("OFPBRC_UNKNOWN", "1.5+ 1,18"),
    ("NXBRC_NXM_INVALID", "1.0-1.1 nx 1,256; 1.2+ nx 2"),
    ("NXBRC_NXM_BAD_TYPE", "1.0-1.1 nx 1,257; 1.2+ nx 3"),
    ("NXBRC_MUST_BE_ZERO", "1.0-1.1 nx 1,515; 1.2+ nx 4"),
    ("NXBRC_BAD_REASON", "1.0-1.1 nx 1,516; 1.2+ nx 5"),
    ("NXBRC_FM_BAD_EVENT", "1.0-1.1 nx 1,520; 1.2+ nx 9"),
    ("NXBRC_UNENCODABLE_ERROR", "1.0-1.1 nx 1,521; 1.2+ nx 10"),
    # OFPET_BAD_ACTION.
    *_run("OFPBAC_", "BAD_TYPE BAD_LEN BAD_VENDOR BAD_VENDOR_TYPE BAD_OUT_PORT BAD_ARGUMENT EPERM TOO_MANY "
          "BAD_QUEUE", "1.0+ 2,{c}", c=0),
    ("OFPBAC_BAD_OUT_GROUP", "1.0 nx 2,9; 1.1+ 2,9"),
    ("OFPBAC_MATCH_INCONSISTENT", "1.0 nx 1,522; 1.1+ 2,10"),
    ("OFPBAC_UNSUPPORTED_ORDER", "1.1+ 2,11"),
    ("OFPBAC_BAD_TAG", "1.1+ 2,12"),
    ("OFPBAC_BAD_SET_TYPE", "1.0-1.1 nx 1,523; 1.2+ 2,13"),
    ("OFPBAC_BAD_SET_LEN", "1.0-1.1 nx 1,524; 1.2+ 2,14"),
    ("OFPBAC_BAD_SET_ARGUMENT", "1.0-1.1 nx 1,525; 1.2+ 2,15"),
    ("OFPBAC_BAD_SET_MASK", "1.3-1.4 onf 4250; 1.5+ 2,16"),
    ("OFPBAC_BAD_METER", "1.5+ 2,17"),
    ("NXBAC_MUST_BE_ZERO", "1.0-1.1 nx 2,256; 1.2+ nx 11"),
    ("NXBAC_BAD_CONJUNCTION", "1.0-1.1 nx 2,526; 1.2+ nx 15"),
    ("NXBAC_BAD_HEADER_TYPE", "1.3+ nx 39"),
    ("NXBAC_UNKNOWN_ED_PROP", "1.3+ nx 40"),
    ("NXBAC_BAD_ED_PROP", "1.3+ nx 41"),
    ("NXBAC_CT_DATAPATH_SUPPORT", "1.0-1.1 nx 1,265; 1.2+ nx 42"),
    # OFPET_BAD_INSTRUCTION.
    ("OFPBIC_UNKNOWN_INST", "1.1+ 3,0"),
    ("OFPBIC_UNSUP_INST", "1.0 nx 2,257; 1.1+ 3,1"),
    ("OFPBIC_BAD_TABLE_ID", "1.1+ 3,2"),
    ("OFPBIC_UNSUP_METADATA", "1.1+ 3,3"),
    ("OFPBIC_UNSUP_METADATA_MASK", "1.1+ 3,4"),
    ("OFPBIC_BAD_EXPERIMENTER", "1.1+ 3,5"),
    ("OFPBIC_BAD_EXP_TYPE", "1.1 3,5; 1.2+ 3,6"),
    ("OFPBIC_BAD_LEN", "1.2+ 3,7"),
    ("OFPBIC_EPERM", "1.2+ 3,8"),
    ("OFPBIC_DUP_INST", "1.1 nx 3,256; 1.2-1.3 onf 2600; 1.4+ 3,9"),
    # OFPET_BAD_MATCH.
    *_run("OFPBMC_", "BAD_TYPE BAD_LEN BAD_TAG BAD_DL_ADDR_MASK BAD_NW_ADDR_MASK", "1.1+ 4,{c}", c=0),
    ("OFPBMC_BAD_WILDCARDS", "1.0 nx 1,262; 1.1+ 4,5"),
    ("OFPBMC_BAD_FIELD", "1.0 nx 0,263; 1.1+ 4,6"),
    ("OFPBMC_BAD_VALUE", "1.0 nx 1,258; 1.1+ 4,7"),
    ("OFPBMC_BAD_MASK", "1.0-1.1 nx 1,259; 1.2+ 4,8"),
    ("OFPBMC_BAD_PREREQ", "1.0-1.1 nx 1,260; 1.2+ 4,9"),
    ("OFPBMC_DUP_FIELD", "1.0-1.1 nx 1,261; 1.2+ 4,10"),
    ("OFPBMC_EPERM", "1.2+ 4,11"),
    ("NXBMC_CT_DATAPATH_SUPPORT", "1.0-1.1 nx 1,264; 1.2+ nx 43"),
    # OFPET_FLOW_MOD_FAILED (type 3 in OpenFlow 1.0, 5 later, with other codes).
    ("OFPFMFC_UNKNOWN", "1.1+ 5,0"),
    ("OFPFMFC_TABLE_FULL", "1.0 3,0; 1.1+ 5,1"),
    ("OFPFMFC_BAD_TABLE_ID", "1.1+ 5,2"),
    ("OFPFMFC_OVERLAP", "1.0 3,1; 1.1+ 5,3"),
    ("OFPFMFC_EPERM", "1.0 3,2; 1.1+ 5,4"),
    ("OFPFMFC_BAD_TIMEOUT", "1.1+ 5,5"),
    ("OFPFMFC_BAD_EMERG_TIMEOUT", "1.0 3,3"),
    ("OFPFMFC_BAD_COMMAND", "1.0 3,4; 1.1+ 5,6"),
    ("OFPFMFC_BAD_FLAGS", "1.0 nx 3,258; 1.1 nx 5,258; 1.2+ 5,7"),
    ("OFPFMFC_CANT_SYNC", "1.4+ 5,8"),
    ("OFPFMFC_BAD_PRIORITY", "1.3 onf 2360; 1.4+ 5,9"),
    ("OFPFMFC_IS_SYNC", "1.4+ 5,10"),
    ("OFPFMFC_UNSUPPORTED", "1.0 3,5"),
    ("NXFMFC_HARDWARE", "1.0-1.1 nx 5,256; 1.2+ nx 12"),
    ("NXFMFC_BAD_TABLE_ID", "1.0-1.1 nx 5,257; 1.2+ nx 13"),
    ("NXFMFC_INVALID_TLV_FIELD", "1.0-1.1 nx 1,536; 1.2+ nx 37"),
    # OFPET_GROUP_MOD_FAILED: OpenFlow 1.0 has no groups, but Open vSwitch's group extension reports the
    # standard numbers as Nicira vendor errors there.
    *_run("OFPGMFC_", "GROUP_EXISTS INVALID_GROUP WEIGHT_UNSUPPORTED OUT_OF_GROUPS OUT_OF_BUCKETS "
          "CHAINING_UNSUPPORTED WATCH_UNSUPPORTED LOOP UNKNOWN_GROUP", "1.0 nx 6,{c}; 1.1+ 6,{c}", c=0),
    *_run("OFPGMFC_", "CHAINED_GROUP BAD_TYPE BAD_COMMAND BAD_BUCKET BAD_WATCH EPERM",
          "1.0 nx 6,{c}; 1.2+ 6,{c}", c=9),
    *_run("OFPGMFC_", "UNKNOWN_BUCKET BUCKET_EXISTS", "1.0 nx 6,{c}; 1.5+ 6,{c}", c=15),
    # OFPET_PORT_MOD_FAILED.
    ("OFPPMFC_BAD_PORT", "1.0 4,0; 1.1+ 7,0"),
    ("OFPPMFC_BAD_HW_ADDR", "1.0 4,1; 1.1+ 7,1"),
    ("OFPPMFC_BAD_CONFIG", "1.1+ 7,2"),
    ("OFPPMFC_BAD_ADVERTISE", "1.1+ 7,3"),
    ("OFPPMFC_EPERM", "1.2+ 7,4"),
    # OFPET_TABLE_MOD_FAILED.
    ("OFPTMFC_BAD_TABLE", "1.1+ 8,0"),
    ("OFPTMFC_BAD_CONFIG", "1.1+ 8,1"),
    ("OFPTMFC_EPERM", "1.2+ 8,2"),
    # OFPET_QUEUE_OP_FAILED.
    ("OFPQOFC_BAD_PORT", "1.0 5,0; 1.1+ 9,0"),
    ("OFPQOFC_BAD_QUEUE", "1.0 5,1; 1.1+ 9,1"),
    ("OFPQOFC_EPERM", "1.0 5,2; 1.1+ 9,2"),
    ("NXQOFC_QUEUE_ERROR", "1.4+ nx 23"),
    # OFPET_SWITCH_CONFIG_FAILED.
    ("OFPSCFC_BAD_FLAGS", "1.1+ 10,0"),
    ("OFPSCFC_BAD_LEN", "1.1+ 10,1"),
    ("OFPSCFC_EPERM", "1.2+ 10,2"),
    # OFPET_ROLE_REQUEST_FAILED.
    ("OFPRRFC_STALE", "1.2+ 11,0"),
    ("OFPRRFC_UNSUP", "1.2+ 11,1"),
    ("OFPRRFC_BAD_ROLE", "1.0-1.1 nx 1,513; 1.2+ 11,2"),
    ("OFPRRFC_ID_UNSUP", "1.5+ 11,3"),
    ("OFPRRFC_ID_IN_USE", "1.5+ 11,4"),
    # OFPET_METER_MOD_FAILED.
    *_run("OFPMMFC_", "UNKNOWN METER_EXISTS INVALID_METER UNKNOWN_METER BAD_COMMAND BAD_FLAGS BAD_RATE "
          "BAD_BURST BAD_BAND BAD_BAND_VALUE OUT_OF_METERS OUT_OF_BANDS", "1.3+ 12,{c}", c=0),
    # OFPET_TABLE_FEATURES_FAILED (codes 2 to 4 of OpenFlow 1.3 are the bad-property errors below).
    ("OFPTFFC_BAD_TABLE", "1.3+ 13,0"),
    ("OFPTFFC_BAD_METADATA", "1.3+ 13,1"),
    ("OFPTFFC_EPERM", "1.3+ 13,5"),
    *_run("OFPTFFC_", "BAD_CAPA BAD_MAX_ENT BAD_FEATURES BAD_COMMAND TOO_MANY", "1.5+ 13,{c}", c=6),
    ("NXTFFC_DUP_TABLE", "1.3+ nx 44"),
    # OFPET_BAD_PROPERTY (OpenFlow 1.4; in 1.3 the first three were table-features codes, the others ONF's).
    *_run("OFPBPC_", "BAD_TYPE BAD_LEN BAD_VALUE", "1.0-1.1 nx 13,{c}; 1.2 nx {n}; 1.3 13,{c}; 1.4+ 14,{m}", c=2, n=25, m=0),
    *_run("OFPBPC_", "TOO_MANY DUP_TYPE BAD_EXPERIMENTER BAD_EXP_TYPE BAD_EXP_VALUE EPERM",
          "1.0-1.1 nx 14,{c}; 1.2 nx {n}; 1.3 onf {o}; 1.4+ 14,{c}", c=3, n=28, o=4443),
    # OFPET_ASYNC_CONFIG_FAILED.
    ("OFPACFC_INVALID", "1.3 onf 2370; 1.4+ 15,0"),
    ("OFPACFC_UNSUPPORTED", "1.3 onf 2371; 1.4+ 15,1"),
    ("OFPACFC_EPERM", "1.3 onf 2372; 1.4+ 15,2"),
    # OFPET_BUNDLE_FAILED.
    *_run("OFPBFC_", "UNKNOWN EPERM BAD_ID BUNDLE_EXIST BUNDLE_CLOSED OUT_OF_BUNDLES BAD_TYPE BAD_FLAGS "
          "MSG_BAD_LEN MSG_BAD_XID MSG_UNSUP MSG_CONFLICT MSG_TOO_MANY MSG_FAILED TIMEOUT BUNDLE_IN_PROGRESS",
          "1.3 onf {o}; 1.4+ 17,{c}", o=2300, c=0),
    *_run("OFPBFC_", "SCHED_NOT_SUPPORTED SCHED_FUTURE SCHED_PAST", "1.5+ 17,{c}", c=16),
    ("OFPBFC_BAD_VERSION", "1.4-1.5 nx 22"),
    # OFPET_FLOW_MONITOR_FAILED (OpenFlow 1.4; three of them were Nicira's flow-monitor errors before).
    ("OFPMOFC_UNKNOWN", "1.4+ 16,0"),
    ("OFPMOFC_MONITOR_EXISTS", "1.0-1.1 nx 1,517; 1.2-1.3 nx 6; 1.4+ 16,1"),
    ("OFPMOFC_INVALID_MONITOR", "1.4+ 16,2"),
    ("OFPMOFC_UNKNOWN_MONITOR", "1.0-1.1 nx 1,519; 1.2-1.3 nx 8; 1.4+ 16,3"),
    ("OFPMOFC_BAD_COMMAND", "1.4+ 16,4"),
    ("OFPMOFC_BAD_FLAGS", "1.0-1.1 nx 1,518; 1.2-1.3 nx 7; 1.4+ 16,5"),
    ("OFPMOFC_BAD_TABLE_ID", "1.4+ 16,6"),
    ("OFPMOFC_BAD_OUT", "1.4+ 16,7"),
    # Nicira's TLV table (tunnel metadata) mod errors.
    ("NXTTMFC_BAD_COMMAND", "1.0-1.1 nx 1,527; 1.2+ nx 16"),
    ("NXTTMFC_BAD_OPT_LEN", "1.0-1.1 nx 1,528; 1.2+ nx 17"),
    ("NXTTMFC_BAD_FIELD_IDX", "1.0-1.1 nx 1,529; 1.2+ nx 18"),
    ("NXTTMFC_TABLE_FULL", "1.0-1.1 nx 1,530; 1.2+ nx 19"),
    ("NXTTMFC_ALREADY_MAPPED", "1.0-1.1 nx 1,531; 1.2+ nx 20"),
    ("NXTTMFC_DUP_ENTRY", "1.0-1.1 nx 1,532; 1.2+ nx 21"),
    ("NXTTMFC_INVALID_TLV_DEL", "1.0-1.1 nx 1,537; 1.2+ nx 38"),
    # NXT_RESUME (continuations) errors.
    ("NXR_NOT_SUPPORTED", "1.0-1.1 nx 1,533; 1.2+ nx 34"),
    ("NXR_STALE", "1.0-1.1 nx 1,534; 1.2+ nx 35"),
    # Nicira statistics (IPFIX and similar) errors.
    ("NXST_NOT_CONFIGURED", "1.0-1.1 nx 1,535; 1.2+ nx 36"),
]


def _versions(text: str) -> range:
    """``1.2`` / ``1.0-1.1`` / ``1.3+`` as a range of wire versions."""
    if text.endswith("+"):
        return range(_VERSIONS[text[:-1]], _MAX_VERSION + 1)
    first, _, last = text.partition("-")
    return range(_VERSIONS[first], _VERSIONS[last or first] + 1)


def _parse(name: str, spec: str) -> dict[int, ErrorCode]:
    by: dict[int, ErrorCode] = {}
    for clause in spec.split(";"):
        words = clause.split()
        versions = _versions(words[0])
        vendor = _VENDORS[words[1]] if len(words) == 3 else 0
        numbers = [int(n) for n in words[-1].split(",")]
        if vendor and versions[0] >= _VERSIONS["1.2"]:
            # An experimenter error: one number, its exp_type.
            assert len(numbers) == 1, (name, clause)
            ec = ErrorCode(vendor, numbers[0], 0)
        else:
            # A standard error, or a vendor error of 1.0/1.1, which cannot share a clause with 1.2+.
            assert len(numbers) == 2 and (not vendor or versions[-1] <= _VERSIONS["1.1"]), (name, clause)
            ec = ErrorCode(vendor, numbers[0], numbers[1])
        for v in versions:
            assert v not in by, (name, clause)
            by[v] = ec
    return by


ERRORS: dict[str, dict[int, ErrorCode]] = {}
"""Every error name of Open vSwitch 3.1, in its order -> {wire version (1 = OpenFlow 1.0 ... 6 = 1.5):
its ``ErrorCode``} for the versions that can express it."""

_DECODE: dict[int, dict[ErrorCode, str]] = {v: {} for v in range(_MIN_VERSION, _MAX_VERSION + 1)}

for _name, _spec in _SPEC:
    ERRORS[_name] = _parse(_name, _spec)
    for _v, _ec in ERRORS[_name].items():
        _DECODE[_v].setdefault(_ec, _name)  # the first name listed wins, as in Open vSwitch

NX_ERRORS: dict[str, int] = {
    name: ec.type for name, by in ERRORS.items()
    for v, ec in by.items() if ec.vendor == NX_VENDOR_ID and v >= _VERSIONS["1.2"]
}
"""Name -> ``exp_type`` of the Nicira experimenter error Open vSwitch sends in OpenFlow 1.2 and later (only in
the versions ``ERRORS`` lists; e.g. ``OFPMOFC_MONITOR_EXISTS`` is Nicira's 6 in 1.2 and 1.3 only).  The Nicira
vendor errors of OpenFlow 1.0/1.1 have a type and a code: see ``ERRORS`` or ``error_to_wire``."""

KNOWN_NAMES = frozenset(ERRORS) | frozenset(ALIASES)


def _canonical(name: str) -> str:
    return ALIASES.get(name, name)


def error_code(name: str, version: int) -> ErrorCode | None:
    """How error ``name`` is numbered in wire version ``version``, or None if that version cannot express it
    (or ``name`` is not an error)."""
    by = ERRORS.get(_canonical(name))
    return None if by is None else by.get(version)


def error_type_code(name: str, version: int) -> tuple[int, int] | None:
    """The standard ``(type, code)`` of error ``name`` in OpenFlow wire version ``version`` (1 = OpenFlow 1.0),
    or None when that version has no standard number for it (Open vSwitch then sends an extension error, or
    ``NXBRC_UNENCODABLE_ERROR``: see ``error_to_wire``)."""
    ec = error_code(name, version)
    return None if ec is None or ec.vendor else (ec.type, ec.code)


def error_to_wire(name: str, version: int) -> bytes:
    """The part of an ``OFPT_ERROR`` between its ``ofp_header`` and the offending data, as Open vSwitch sends
    error ``name`` in wire version ``version``: 4 bytes (type, code) for a standard error; 12 bytes (0xb0c2, 0,
    vendor, type, code) for an extension error in OpenFlow 1.0/1.1; 8 bytes (0xffff, exp_type, experimenter)
    for one in 1.2+.  A name the version cannot express becomes ``NXBRC_UNENCODABLE_ERROR``, as in Open
    vSwitch.  Raises ValueError for a name that is no error (Open vSwitch would have an errno value there, which
    it also sends as ``NXBRC_UNENCODABLE_ERROR``; here it is a programming error) or a version outside 1..6
    (Open vSwitch would then switch the message's header to OpenFlow 1.0, which this function cannot do)."""
    if not _MIN_VERSION <= version <= _MAX_VERSION:
        raise ValueError(f"no OpenFlow error numbers for wire version {version}")
    by = ERRORS.get(_canonical(name))
    if by is None:
        raise ValueError(f"unknown OpenFlow error {name!r}")
    ec = by.get(version) or ERRORS[FALLBACK_ERROR][version]
    if not ec.vendor:
        return struct.pack("!HH", ec.type, ec.code)
    if version <= _VERSIONS["1.1"]:
        return struct.pack("!HHIHH", NXET_VENDOR, NXVC_VENDOR_ERROR, ec.vendor, ec.type, ec.code)
    return struct.pack("!HHI", OFPET_EXPERIMENTER, ec.type, ec.vendor)


def error_from_wire(version: int, body: bytes) -> tuple[str, int]:
    """The error an ``OFPT_ERROR`` body (what follows its ``ofp_header``) of wire version ``version`` carries,
    and how many bytes of ``body`` precede the offending data.  Raises ``OFPDecodeError("OFPBRC_BAD_LEN")``
    wherever ``ovs-ofctl ofp-print`` reports that: a body too short for its form, numbers the version does not
    define, a version outside 1..6."""
    if len(body) < 4:
        raise OFPDecodeError("OFPBRC_BAD_LEN", f"OFPT_ERROR body of {len(body)} bytes")
    etype, code = struct.unpack_from("!HH", body, 0)
    vendor, consumed = 0, 4
    if etype == NXET_VENDOR and code == NXVC_VENDOR_ERROR:
        if len(body) < 12:
            raise OFPDecodeError("OFPBRC_BAD_LEN", "truncated Nicira vendor error")
        vendor, etype, code = struct.unpack_from("!IHH", body, 4)
        consumed = 12
    elif etype == OFPET_EXPERIMENTER:
        if len(body) < 8:
            raise OFPDecodeError("OFPBRC_BAD_LEN", "truncated experimenter error")
        vendor = struct.unpack_from("!I", body, 4)[0]
        etype, code, consumed = code, 0, 8
    table = _DECODE.get(version)
    name = None if table is None else table.get(ErrorCode(vendor, etype, code))
    if name is None:
        raise OFPDecodeError("OFPBRC_BAD_LEN",
                             f"unknown error vendor {vendor:#x} type {etype} code {code} in version {version}")
    return name, consumed
