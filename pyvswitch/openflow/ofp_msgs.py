"""OpenFlow message framing: which message a byte string is, in which version, and where its body starts.

OpenFlow identifies a message by more than its ``type`` byte.  The same request was renumbered between 1.0 and
1.1 (barrier is 18 in 1.0 and 20 later), statistics ("multipart") messages add a header of their own whose size
differs between 1.0 (12 bytes) and later versions (16), and vendor extensions add a vendor id and a subtype, in
plain messages and inside statistics.  As Open vSwitch does, every distinct layout is one *raw* message kind
(``RAWS``: its name is Open vSwitch's ``OFPRAW_*`` name without the prefix, e.g. ``OFPT10_PACKET_IN``,
``NXST_FLOW_REQUEST``) and every raw kind has a *type*, its meaning across versions (``PACKET_IN``,
``FLOW_STATS_REQUEST``).  ``decode`` finds the raw kind and checks the body's length against the kind's layout;
``encode`` builds the headers around a body.

The raw kinds, their numbers and their body sizes are those of the OpenFlow 1.0 to 1.5 specifications and
Open vSwitch's Nicira (vendor 0x2320) and ONF (0x4f4e4600) extensions.  Errors use Open vSwitch's names and its
log lines (``received OFPT_BARRIER_REQUEST with incorrect length 9 (expected length 8)``).

Error messages are framing too: ``encode_error``/``decode_error`` map error names to each version's numbers
(``ofp_errors``), including Nicira's vendor errors for names a version cannot express.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from pyvswitch.openflow.ofp_errors import OFPDecodeError, error_from_wire, error_to_wire

__all__ = [
    "MAX_VERSION",
    "MIN_VERSION",
    "NX_VENDOR_ID",
    "OFPSF_REPLY_MORE",
    "ONF_VENDOR_ID",
    "RAWS",
    "Msg",
    "Raw",
    "decode",
    "decode_error",
    "decode_hello",
    "encode",
    "encode_error",
    "encode_hello",
    "encode_multipart_replies",
    "header_text",
    "raw_for",
    "version_name",
]

log = logging.getLogger("pyvswitch.ofp_msgs")

MIN_VERSION = 1  # OpenFlow 1.0
MAX_VERSION = 6  # OpenFlow 1.5
NX_VENDOR_ID = 0x00002320
ONF_VENDOR_ID = 0x4F4E4600
OFPSF_REPLY_MORE = 1
OFPT_ERROR = 1
OFPT_VENDOR = 4
OFPST_VENDOR = 0xFFFF
OFPET_EXPERIMENTER = 0xFFFF
OFPHET_VERSIONBITMAP = 1
_STATS_TYPES = {1: (16, 17)}  # OpenFlow 1.0; later versions use 18/19
_STATS_LATER = (18, 19)
_ALL = (1, 255)  # "<all>": messages whose number the standard promises never to change


@dataclass(frozen=True, slots=True)
class Raw:
    """One message layout.  ``family`` is OFPT, OFPST, NXT, NXST, ONFT or ONFST; ``number`` the ``type`` (OFPT), the
    statistics type (OFPST) or the vendor subtype (NXT, NXST, ONFT); ``lo``..``hi`` the wire versions it exists
    in; the body (after every header) is ``min_len`` bytes, plus any multiple of ``multiple`` bytes (0: exactly
    ``min_len``)."""

    name: str
    family: str
    lo: int
    hi: int
    number: int
    type: str
    min_len: int
    multiple: int

    @property
    def is_stats(self) -> bool:
        return self.family in ("OFPST", "NXST", "ONFST")

    @property
    def is_reply(self) -> bool:
        return self.name.endswith("_REPLY")

    def header_len(self, version: int) -> int:
        if self.family == "OFPT":
            return 8
        if self.family in ("NXT", "ONFT"):
            return 16
        if self.family in ("NXST", "ONFST"):
            return 24
        return 12 if version == 1 else 16

    def print_name(self) -> str:
        """``OFPT_PACKET_IN``, ``OFPST_FLOW reply``, ``NXST_FLOW request``: the raw name without its version
        digits, statistics with request/reply as a word (as ofp-print prints them)."""
        family, _, rest = self.name.partition("_")
        family = family.rstrip("0123456789")
        if self.is_stats:
            base, _, kind = rest.rpartition("_")
            return f"{family}_{base} {kind.lower()}"
        return f"{family}_{rest}"


def _v(text: str) -> tuple[int, int]:
    """"1.0" -> (1, 1); "1.1-1.4" -> (2, 5); "1.3+" -> (4, MAX_VERSION); "all" -> every version."""
    if text == "all":
        return _ALL
    if text.endswith("+"):
        return int(text[2]) + 1, MAX_VERSION
    if "-" in text:
        a, b = text.split("-")
        return int(a[2]) + 1, int(b[2]) + 1
    return int(text[2]) + 1, int(text[2]) + 1


# name, versions, number, type, body min length, multiple.
_TABLE: list[tuple[str, str, int, str, int, int]] = [
    ("OFPT_HELLO", "all", 0, "HELLO", 0, 1),
    ("OFPT_ERROR", "all", 1, "ERROR", 4, 1),
    ("OFPT_ECHO_REQUEST", "all", 2, "ECHO_REQUEST", 0, 1),
    ("OFPT_ECHO_REPLY", "all", 3, "ECHO_REPLY", 0, 1),
    ("OFPT_FEATURES_REQUEST", "1.0+", 5, "FEATURES_REQUEST", 0, 0),
    ("OFPT10_FEATURES_REPLY", "1.0", 6, "FEATURES_REPLY", 24, 48),
    ("OFPT11_FEATURES_REPLY", "1.1-1.2", 6, "FEATURES_REPLY", 24, 64),
    ("OFPT13_FEATURES_REPLY", "1.3+", 6, "FEATURES_REPLY", 24, 0),
    ("OFPT_GET_CONFIG_REQUEST", "1.0+", 7, "GET_CONFIG_REQUEST", 0, 0),
    ("OFPT_GET_CONFIG_REPLY", "1.0+", 8, "GET_CONFIG_REPLY", 4, 0),
    ("OFPT_SET_CONFIG", "1.0+", 9, "SET_CONFIG", 4, 0),
    ("OFPT10_PACKET_IN", "1.0", 10, "PACKET_IN", 10, 1),
    ("OFPT11_PACKET_IN", "1.1", 10, "PACKET_IN", 16, 1),
    ("OFPT12_PACKET_IN", "1.2", 10, "PACKET_IN", 8, 1),
    ("OFPT13_PACKET_IN", "1.3+", 10, "PACKET_IN", 16, 1),
    ("OFPT10_FLOW_REMOVED", "1.0", 11, "FLOW_REMOVED", 80, 0),
    ("OFPT11_FLOW_REMOVED", "1.1-1.4", 11, "FLOW_REMOVED", 40, 8),
    ("OFPT15_FLOW_REMOVED", "1.5+", 11, "FLOW_REMOVED", 16, 8),
    ("OFPT10_PORT_STATUS", "1.0", 12, "PORT_STATUS", 56, 0),
    ("OFPT11_PORT_STATUS", "1.1-1.3", 12, "PORT_STATUS", 72, 0),
    ("OFPT14_PORT_STATUS", "1.4+", 12, "PORT_STATUS", 48, 8),
    ("OFPT10_PACKET_OUT", "1.0", 13, "PACKET_OUT", 8, 1),
    ("OFPT11_PACKET_OUT", "1.1-1.4", 13, "PACKET_OUT", 16, 1),
    ("OFPT15_PACKET_OUT", "1.5+", 13, "PACKET_OUT", 8, 1),
    ("OFPT10_FLOW_MOD", "1.0", 14, "FLOW_MOD", 64, 8),
    ("OFPT11_FLOW_MOD", "1.1+", 14, "FLOW_MOD", 40, 8),
    ("OFPT11_GROUP_MOD", "1.1-1.4", 15, "GROUP_MOD", 8, 8),
    ("OFPT15_GROUP_MOD", "1.5+", 15, "GROUP_MOD", 16, 8),
    ("OFPT10_PORT_MOD", "1.0", 15, "PORT_MOD", 24, 0),
    ("OFPT11_PORT_MOD", "1.1-1.3", 16, "PORT_MOD", 32, 0),
    ("OFPT14_PORT_MOD", "1.4+", 16, "PORT_MOD", 24, 8),
    ("OFPT11_TABLE_MOD", "1.1-1.3", 17, "TABLE_MOD", 8, 0),
    ("OFPT14_TABLE_MOD", "1.4+", 17, "TABLE_MOD", 8, 8),
    ("OFPT10_BARRIER_REQUEST", "1.0", 18, "BARRIER_REQUEST", 0, 0),
    ("OFPT11_BARRIER_REQUEST", "1.1+", 20, "BARRIER_REQUEST", 0, 0),
    ("OFPT10_BARRIER_REPLY", "1.0", 19, "BARRIER_REPLY", 0, 0),
    ("OFPT11_BARRIER_REPLY", "1.1+", 21, "BARRIER_REPLY", 0, 0),
    ("OFPT10_QUEUE_GET_CONFIG_REQUEST", "1.0", 20, "QUEUE_GET_CONFIG_REQUEST", 4, 0),
    ("OFPT11_QUEUE_GET_CONFIG_REQUEST", "1.1-1.3", 22, "QUEUE_GET_CONFIG_REQUEST", 8, 0),
    ("OFPT10_QUEUE_GET_CONFIG_REPLY", "1.0", 21, "QUEUE_GET_CONFIG_REPLY", 8, 8),
    ("OFPT11_QUEUE_GET_CONFIG_REPLY", "1.1-1.3", 23, "QUEUE_GET_CONFIG_REPLY", 8, 8),
    ("OFPT12_ROLE_REQUEST", "1.2+", 24, "ROLE_REQUEST", 16, 0),
    ("OFPT12_ROLE_REPLY", "1.2+", 25, "ROLE_REPLY", 16, 0),
    ("OFPT13_GET_ASYNC_REQUEST", "1.3", 26, "GET_ASYNC_REQUEST", 0, 0),
    ("OFPT14_GET_ASYNC_REQUEST", "1.4+", 26, "GET_ASYNC_REQUEST", 0, 0),
    ("OFPT13_GET_ASYNC_REPLY", "1.3", 27, "GET_ASYNC_REPLY", 24, 0),
    ("OFPT14_GET_ASYNC_REPLY", "1.4+", 27, "GET_ASYNC_REPLY", 0, 8),
    ("OFPT13_SET_ASYNC", "1.3", 28, "SET_ASYNC_CONFIG", 24, 0),
    ("OFPT14_SET_ASYNC", "1.4+", 28, "SET_ASYNC_CONFIG", 0, 8),
    ("OFPT13_METER_MOD", "1.3+", 29, "METER_MOD", 8, 8),
    ("OFPT14_ROLE_STATUS", "1.4+", 30, "ROLE_STATUS", 16, 8),
    ("OFPT14_TABLE_STATUS", "1.4+", 31, "TABLE_STATUS", 8, 8),
    ("OFPT14_REQUESTFORWARD", "1.4+", 32, "REQUESTFORWARD", 8, 8),
    ("OFPT14_BUNDLE_CONTROL", "1.4+", 33, "BUNDLE_CONTROL", 8, 8),
    ("OFPT14_BUNDLE_ADD_MESSAGE", "1.4+", 34, "BUNDLE_ADD_MESSAGE", 8, 1),
    # Statistics (multipart).
    ("OFPST_DESC_REQUEST", "1.0+", 0, "DESC_STATS_REQUEST", 0, 0),
    ("OFPST_DESC_REPLY", "1.0+", 0, "DESC_STATS_REPLY", 1056, 0),
    ("OFPST10_FLOW_REQUEST", "1.0", 1, "FLOW_STATS_REQUEST", 44, 0),
    ("OFPST11_FLOW_REQUEST", "1.1+", 1, "FLOW_STATS_REQUEST", 32, 8),
    ("OFPST10_FLOW_REPLY", "1.0", 1, "FLOW_STATS_REPLY", 0, 1),
    ("OFPST11_FLOW_REPLY", "1.1-1.2", 1, "FLOW_STATS_REPLY", 0, 1),
    ("OFPST13_FLOW_REPLY", "1.3-1.4", 1, "FLOW_STATS_REPLY", 0, 1),
    ("OFPST15_FLOW_REPLY", "1.5+", 1, "FLOW_STATS_REPLY", 0, 1),
    ("OFPST10_AGGREGATE_REQUEST", "1.0", 2, "AGGREGATE_STATS_REQUEST", 44, 0),
    ("OFPST11_AGGREGATE_REQUEST", "1.1-1.4", 2, "AGGREGATE_STATS_REQUEST", 32, 8),
    ("OFPST15_AGGREGATE_REQUEST", "1.5+", 2, "AGGREGATE_STATS_REQUEST", 32, 8),
    ("OFPST_AGGREGATE_REPLY", "1.0-1.4", 2, "AGGREGATE_STATS_REPLY", 24, 0),
    ("OFPST15_AGGREGATE_REPLY", "1.5+", 2, "AGGREGATE_STATS_REPLY", 0, 1),
    ("OFPST_TABLE_REQUEST", "1.0+", 3, "TABLE_STATS_REQUEST", 0, 0),
    ("OFPST10_TABLE_REPLY", "1.0", 3, "TABLE_STATS_REPLY", 0, 64),
    ("OFPST11_TABLE_REPLY", "1.1", 3, "TABLE_STATS_REPLY", 0, 88),
    ("OFPST12_TABLE_REPLY", "1.2", 3, "TABLE_STATS_REPLY", 0, 128),
    ("OFPST13_TABLE_REPLY", "1.3+", 3, "TABLE_STATS_REPLY", 0, 24),
    ("OFPST10_PORT_REQUEST", "1.0", 4, "PORT_STATS_REQUEST", 8, 0),
    ("OFPST11_PORT_REQUEST", "1.1+", 4, "PORT_STATS_REQUEST", 8, 0),
    ("OFPST10_PORT_REPLY", "1.0", 4, "PORT_STATS_REPLY", 0, 104),
    ("OFPST11_PORT_REPLY", "1.1-1.2", 4, "PORT_STATS_REPLY", 0, 104),
    ("OFPST13_PORT_REPLY", "1.3", 4, "PORT_STATS_REPLY", 0, 112),
    ("OFPST14_PORT_REPLY", "1.4+", 4, "PORT_STATS_REPLY", 0, 8),
    ("OFPST10_QUEUE_REQUEST", "1.0", 5, "QUEUE_STATS_REQUEST", 8, 0),
    ("OFPST11_QUEUE_REQUEST", "1.1+", 5, "QUEUE_STATS_REQUEST", 8, 0),
    ("OFPST10_QUEUE_REPLY", "1.0", 5, "QUEUE_STATS_REPLY", 0, 32),
    ("OFPST11_QUEUE_REPLY", "1.1-1.2", 5, "QUEUE_STATS_REPLY", 0, 32),
    ("OFPST13_QUEUE_REPLY", "1.3", 5, "QUEUE_STATS_REPLY", 0, 40),
    ("OFPST14_QUEUE_REPLY", "1.4+", 5, "QUEUE_STATS_REPLY", 0, 8),
    ("OFPST11_GROUP_REQUEST", "1.1+", 6, "GROUP_STATS_REQUEST", 8, 0),
    ("OFPST11_GROUP_REPLY", "1.1-1.2", 6, "GROUP_STATS_REPLY", 0, 8),
    ("OFPST13_GROUP_REPLY", "1.3+", 6, "GROUP_STATS_REPLY", 0, 8),
    ("OFPST11_GROUP_DESC_REQUEST", "1.1-1.4", 7, "GROUP_DESC_STATS_REQUEST", 0, 0),
    ("OFPST15_GROUP_DESC_REQUEST", "1.5+", 7, "GROUP_DESC_STATS_REQUEST", 8, 0),
    ("OFPST11_GROUP_DESC_REPLY", "1.1+", 7, "GROUP_DESC_STATS_REPLY", 0, 8),
    ("OFPST12_GROUP_FEATURES_REQUEST", "1.2+", 8, "GROUP_FEATURES_STATS_REQUEST", 0, 0),
    ("OFPST12_GROUP_FEATURES_REPLY", "1.2+", 8, "GROUP_FEATURES_STATS_REPLY", 40, 0),
    ("OFPST13_METER_REQUEST", "1.3+", 9, "METER_STATS_REQUEST", 8, 0),
    ("OFPST13_METER_REPLY", "1.3+", 9, "METER_STATS_REPLY", 0, 8),
    ("OFPST13_METER_CONFIG_REQUEST", "1.3+", 10, "METER_CONFIG_STATS_REQUEST", 8, 0),
    ("OFPST13_METER_CONFIG_REPLY", "1.3+", 10, "METER_CONFIG_STATS_REPLY", 0, 8),
    ("OFPST13_METER_FEATURES_REQUEST", "1.3+", 11, "METER_FEATURES_STATS_REQUEST", 0, 0),
    ("OFPST13_METER_FEATURES_REPLY", "1.3+", 11, "METER_FEATURES_STATS_REPLY", 16, 0),
    ("OFPST13_TABLE_FEATURES_REQUEST", "1.3+", 12, "TABLE_FEATURES_STATS_REQUEST", 0, 8),
    ("OFPST13_TABLE_FEATURES_REPLY", "1.3+", 12, "TABLE_FEATURES_STATS_REPLY", 64, 8),
    ("OFPST10_PORT_DESC_REQUEST", "1.0-1.4", 13, "PORT_DESC_STATS_REQUEST", 0, 0),
    ("OFPST15_PORT_DESC_REQUEST", "1.5+", 13, "PORT_DESC_STATS_REQUEST", 8, 0),
    ("OFPST10_PORT_DESC_REPLY", "1.0", 13, "PORT_DESC_STATS_REPLY", 0, 48),
    ("OFPST11_PORT_DESC_REPLY", "1.1-1.3", 13, "PORT_DESC_STATS_REPLY", 0, 64),
    ("OFPST14_PORT_DESC_REPLY", "1.4+", 13, "PORT_DESC_STATS_REPLY", 0, 8),
    ("OFPST14_TABLE_DESC_REQUEST", "1.4+", 14, "TABLE_DESC_REQUEST", 0, 0),
    ("OFPST14_TABLE_DESC_REPLY", "1.4+", 14, "TABLE_DESC_REPLY", 8, 8),
    ("OFPST14_QUEUE_DESC_REQUEST", "1.4+", 15, "QUEUE_DESC_STATS_REQUEST", 8, 0),
    ("OFPST14_QUEUE_DESC_REPLY", "1.4+", 15, "QUEUE_DESC_STATS_REPLY", 0, 8),
    ("OFPST14_FLOW_MONITOR_REQUEST", "1.4+", 16, "FLOW_MONITOR_STATS_REQUEST", 0, 8),
    ("OFPST14_FLOW_MONITOR_REPLY", "1.4+", 16, "FLOW_MONITOR_STATS_REPLY", 0, 8),
    # Nicira statistics.
    ("NXST_FLOW_REQUEST", "1.0", 0, "FLOW_STATS_REQUEST", 8, 8),
    ("NXST_FLOW_REPLY", "1.0", 0, "FLOW_STATS_REPLY", 0, 1),
    ("NXST_AGGREGATE_REQUEST", "1.0", 1, "AGGREGATE_STATS_REQUEST", 8, 8),
    ("NXST_AGGREGATE_REPLY", "1.0", 1, "AGGREGATE_STATS_REPLY", 24, 0),
    ("NXST_FLOW_MONITOR_REQUEST", "1.0-1.2", 2, "FLOW_MONITOR_STATS_REQUEST", 0, 8),
    ("NXST_FLOW_MONITOR_REPLY", "1.0-1.2", 2, "FLOW_MONITOR_STATS_REPLY", 0, 8),
    ("NXST_GROUP_REQUEST", "1.0", 7, "GROUP_STATS_REQUEST", 8, 0),
    ("NXST_GROUP_REPLY", "1.0", 7, "GROUP_STATS_REPLY", 0, 8),
    ("NXST_GROUP_DESC_REQUEST", "1.0", 8, "GROUP_DESC_STATS_REQUEST", 8, 0),
    ("NXST_GROUP_DESC_REPLY", "1.0", 8, "GROUP_DESC_STATS_REPLY", 0, 8),
    ("NXST_GROUP_FEATURES_REQUEST", "1.0-1.1", 9, "GROUP_FEATURES_STATS_REQUEST", 0, 0),
    ("NXST_GROUP_FEATURES_REPLY", "1.0-1.1", 9, "GROUP_FEATURES_STATS_REPLY", 40, 0),
    # Nicira messages.
    ("NXT_ROLE_REQUEST", "1.0+", 10, "ROLE_REQUEST", 4, 0),
    ("NXT_ROLE_REPLY", "1.0+", 11, "ROLE_REPLY", 4, 0),
    ("NXT_SET_FLOW_FORMAT", "1.0", 12, "SET_FLOW_FORMAT", 4, 0),
    ("NXT_FLOW_MOD", "1.0+", 13, "FLOW_MOD", 32, 8),
    ("NXT_FLOW_REMOVED", "1.0+", 14, "FLOW_REMOVED", 40, 8),
    ("NXT_FLOW_MOD_TABLE_ID", "1.0+", 15, "FLOW_MOD_TABLE_ID", 8, 0),
    ("NXT_SET_PACKET_IN_FORMAT", "1.0+", 16, "SET_PACKET_IN_FORMAT", 4, 0),
    ("NXT_PACKET_IN", "1.0+", 17, "PACKET_IN", 24, 1),
    ("NXT_FLOW_AGE", "1.0+", 18, "FLOW_AGE", 0, 0),
    ("NXT_SET_ASYNC_CONFIG", "1.0+", 19, "SET_ASYNC_CONFIG", 24, 0),
    ("NXT_SET_CONTROLLER_ID", "1.0+", 20, "SET_CONTROLLER_ID", 8, 0),
    ("NXT_FLOW_MONITOR_CANCEL", "1.0-1.2", 21, "FLOW_MONITOR_CANCEL", 4, 0),
    ("NXT_FLOW_MONITOR_PAUSED", "1.0-1.2", 22, "FLOW_MONITOR_PAUSED", 0, 0),
    ("NXT_FLOW_MONITOR_RESUMED", "1.0-1.2", 23, "FLOW_MONITOR_RESUMED", 0, 0),
    ("NXT_TLV_TABLE_MOD", "1.0+", 24, "TLV_TABLE_MOD", 8, 8),
    ("NXT_TLV_TABLE_REQUEST", "1.0+", 25, "TLV_TABLE_REQUEST", 0, 0),
    ("NXT_TLV_TABLE_REPLY", "1.0+", 26, "TLV_TABLE_REPLY", 16, 8),
    ("NXT_SET_ASYNC_CONFIG2", "1.0-1.3", 27, "SET_ASYNC_CONFIG", 0, 8),
    ("NXT_RESUME", "1.0+", 28, "NXT_RESUME", 0, 8),
    ("NXT_CT_FLUSH_ZONE", "1.0+", 29, "CT_FLUSH_ZONE", 8, 0),
    ("NXT_PACKET_IN2", "1.0+", 30, "PACKET_IN", 0, 8),
    ("NXT_GROUP_MOD", "1.0", 31, "GROUP_MOD", 16, 8),
    ("NXT_REQUESTFORWARD", "1.0-1.2", 132, "REQUESTFORWARD", 8, 8),
    # ONF extensions of OpenFlow 1.3 (backports of 1.4 messages).
    ("ONFT13_ROLE_STATUS", "1.3", 1911, "ROLE_STATUS", 16, 8),
    ("ONFT13_BUNDLE_CONTROL", "1.3", 2300, "BUNDLE_CONTROL", 8, 8),
    ("ONFT13_BUNDLE_ADD_MESSAGE", "1.3", 2301, "BUNDLE_ADD_MESSAGE", 8, 1),
    ("ONFT13_REQUESTFORWARD", "1.3", 2350, "REQUESTFORWARD", 8, 8),
    ("ONFT13_FLOW_MONITOR_CANCEL", "1.3", 1870, "FLOW_MONITOR_CANCEL", 4, 0),
    ("ONFT13_FLOW_MONITOR_PAUSED", "1.3", 1871, "FLOW_MONITOR_PAUSED", 0, 0),
    ("ONFT13_FLOW_MONITOR_RESUMED", "1.3", 1872, "FLOW_MONITOR_RESUMED", 0, 0),
    ("ONFST13_FLOW_MONITOR_REQUEST", "1.3", 1870, "FLOW_MONITOR_STATS_REQUEST", 0, 8),
    ("ONFST13_FLOW_MONITOR_REPLY", "1.3", 1870, "FLOW_MONITOR_STATS_REPLY", 0, 8),
]


def _build() -> dict[str, Raw]:
    raws: dict[str, Raw] = {}
    for name, versions, number, mtype, min_len, multiple in _TABLE:
        family = name.split("_", 1)[0].rstrip("0123456789")
        lo, hi = _v(versions)
        raws[name] = Raw(name, family, lo, hi, number, mtype, min_len, multiple)
    return raws


RAWS: dict[str, Raw] = _build()

# Lookup keys: ("OFPT", version, type) / ("OFPST", version, reply?, stats type) / ("NXT", version, subtype) /
# ("NXST", version, reply?, subtype) / ("ONFT", version, subtype).
_INDEX: dict[tuple[object, ...], Raw] = {}
for _raw in RAWS.values():
    for _ver in range(_raw.lo, min(_raw.hi, 7) + 1):
        if _raw.family == "OFPT":
            _INDEX[("OFPT", _ver, _raw.number)] = _raw
        elif _raw.is_stats:
            _INDEX[(_raw.family, _ver, _raw.is_reply, _raw.number)] = _raw
        else:
            _INDEX[(_raw.family, _ver, _raw.number)] = _raw
_BY_TYPE: dict[tuple[str, int], list[Raw]] = {}
for _raw in RAWS.values():
    for _ver in range(_raw.lo, min(_raw.hi, MAX_VERSION) + 1):
        _BY_TYPE.setdefault((_raw.type, _ver), []).append(_raw)


@dataclass(slots=True)
class Msg:
    """A framed message: its raw kind, version, xid, multipart ``flags`` (0 for other messages), ``body`` (the
    bytes after every header) and ``data`` (the whole message)."""

    raw: Raw
    version: int
    xid: int
    body: bytes
    flags: int = 0
    data: bytes = b""

    @property
    def type(self) -> str:
        return self.raw.type

    @property
    def name(self) -> str:
        return self.raw.name


def version_name(version: int) -> str:
    """``OF1.3`` for wire version 4; ``OF 0x08`` for a version OpenFlow never had."""
    return f"OF1.{version - 1}" if 1 <= version <= 7 else f"OF {version:#04x}"


def _stats_types(version: int) -> tuple[int, int]:
    return _STATS_TYPES.get(version, _STATS_LATER)


def _unknown(version: int, mtype: int, extra: str, code: str) -> OFPDecodeError:
    detail = f"unknown OpenFlow message (version {version}, type {mtype}{extra})"
    log.warning(detail)
    return OFPDecodeError(code, detail)


def _classify(data: bytes) -> tuple[Raw, int]:
    """The raw kind of ``data`` (at least an 8-byte header) and its multipart flags."""
    version, mtype, length, _ = struct.unpack_from("!BBHI", data, 0)
    if mtype in (0, 1, 2, 3):
        return _INDEX[("OFPT", 1, mtype)], 0
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise _unknown(version, mtype, "", "OFPBRC_BAD_TYPE")
    if mtype == OFPT_VENDOR:
        if length < 16:
            raise _too_short(version, mtype, length)
        vendor, subtype = struct.unpack_from("!II", data, 8)
        if vendor == NX_VENDOR_ID:
            family = "NXT"
        elif vendor == ONF_VENDOR_ID:
            family = "ONFT"
        else:
            log.warning("OpenFlow message has unknown vendor %#x", vendor)
            raise OFPDecodeError("OFPBRC_BAD_VENDOR", f"OpenFlow message has unknown vendor {vendor:#x}")
        raw = _INDEX.get((family, version, subtype))
        if raw is None:
            raise _unknown(version, mtype, f", vendor {vendor:#x}, subtype {subtype}", "OFPBRC_BAD_SUBTYPE")
        return raw, 0
    req, rep = _stats_types(version)
    if mtype in (req, rep):
        hlen = 12 if version == 1 else 16
        if length < hlen:
            raise _too_short(version, mtype, length)
        stype, flags = struct.unpack_from("!HH", data, 8)
        reply = mtype == rep
        if stype == OFPST_VENDOR:
            if length < 24:
                raise _too_short(version, mtype, length)
            vendor, subtype = struct.unpack_from("!II", data, hlen if version == 1 else 16)
            if vendor not in (NX_VENDOR_ID, ONF_VENDOR_ID):
                log.warning("OpenFlow message has unknown vendor %#x", vendor)
                raise OFPDecodeError("OFPBRC_BAD_VENDOR", f"OpenFlow message has unknown vendor {vendor:#x}")
            raw = _INDEX.get(("NXST" if vendor == NX_VENDOR_ID else "ONFST", version, reply, subtype))
            if raw is None:
                raise _unknown(version, mtype, f", stat {stype}, vendor {vendor:#x}, subtype {subtype}",
                               "OFPBRC_BAD_SUBTYPE")
            return raw, flags
        raw = _INDEX.get(("OFPST", version, reply, stype))
        if raw is None:
            raise _unknown(version, mtype, f", stat {stype}", "OFPBRC_BAD_STAT")
        return raw, flags
    raw = _INDEX.get(("OFPT", version, mtype))
    if raw is None:
        raise _unknown(version, mtype, "", "OFPBRC_BAD_TYPE")
    return raw, 0


def _too_short(version: int, mtype: int, length: int) -> OFPDecodeError:
    detail = f"OpenFlow message (version {version}, type {mtype}) of length {length} is too short for its headers"
    log.warning(detail)
    return OFPDecodeError("OFPBRC_BAD_LEN", detail)


def decode(data: bytes) -> Msg:
    """Frame one whole OpenFlow message.  Raises ``OFPDecodeError`` (``OFPBRC_BAD_LEN``, ``OFPBRC_BAD_TYPE``,
    ``OFPBRC_BAD_STAT``, ``OFPBRC_BAD_VENDOR``, ``OFPBRC_BAD_SUBTYPE``) and nothing else."""
    data = bytes(data)
    if len(data) < 8:
        raise OFPDecodeError("OFPBRC_BAD_LEN", f"OpenFlow message of {len(data)} bytes is shorter than its header")
    version, _, length, xid = struct.unpack_from("!BBHI", data, 0)
    if length != len(data):
        raise OFPDecodeError("OFPBRC_BAD_LEN", f"OpenFlow header says {length} bytes but the message has "
                                               f"{len(data)}")
    raw, flags = _classify(data)
    hlen = raw.header_len(version)
    body = data[hlen:]
    n = len(body)
    if raw.multiple == 0:
        ok, expect = n == raw.min_len, f"(expected length {hlen + raw.min_len})"
    elif raw.multiple == 1:
        ok, expect = n >= raw.min_len, f"(expected length at least {hlen + raw.min_len} bytes)"
    else:
        ok = n >= raw.min_len and (n - raw.min_len) % raw.multiple == 0
        expect = (f"(must be exactly {hlen + raw.min_len} bytes or longer by an integer multiple of "
                  f"{raw.multiple} bytes)")
    if not ok:
        detail = f"received {raw.print_name()} with incorrect length {length} {expect}"
        log.warning(detail)
        raise OFPDecodeError("OFPBRC_BAD_LEN", detail)
    return Msg(raw, version, xid, body, flags, data)


def raw_for(type_name: str, version: int) -> str:
    """The raw kind Open vSwitch sends for message type ``type_name`` in ``version``: the standard message where
    the version has one, else the extension (``NXT_ROLE_REQUEST`` in OpenFlow 1.0)."""
    raws = _BY_TYPE.get((type_name, version))
    if not raws:
        raise KeyError(f"no {type_name} message in {version_name(version)}")
    for family in ("OFPT", "OFPST", "ONFT", "ONFST", "NXT", "NXST"):
        for raw in raws:
            if raw.family == family:
                return raw.name
    return raws[0].name


def encode(raw_name: str, version: int, body: bytes = b"", xid: int = 0, flags: int = 0) -> bytes:
    """The message of kind ``raw_name`` with ``body``: every header built, the length filled in."""
    raw = RAWS[raw_name]
    if not raw.lo <= version <= raw.hi:
        raise ValueError(f"{raw_name} does not exist in {version_name(version)}")
    body = bytes(body)
    if raw.family == "OFPT":
        head = b""
        mtype = raw.number
    elif raw.family in ("NXT", "ONFT"):
        mtype = OFPT_VENDOR
        head = struct.pack("!II", NX_VENDOR_ID if raw.family == "NXT" else ONF_VENDOR_ID, raw.number)
    else:
        req, rep = _stats_types(version)
        mtype = rep if raw.is_reply else req
        vendor = {"NXST": NX_VENDOR_ID, "ONFST": ONF_VENDOR_ID}.get(raw.family)
        stype = raw.number if vendor is None else OFPST_VENDOR
        head = struct.pack("!HH", stype, flags) + (b"" if version == 1 else bytes(4))
        if vendor is not None:
            head += struct.pack("!II", vendor, raw.number) + (bytes(4) if version == 1 else b"")
    total = 8 + len(head) + len(body)
    if total > 0xFFFF:
        raise ValueError(f"{raw_name} of {total} bytes does not fit an OpenFlow message")
    return struct.pack("!BBHI", version, mtype, total, xid & 0xFFFFFFFF) + head + body


def encode_multipart_replies(raw_name: str, version: int, xid: int, parts: Iterable[bytes],
                             max_len: int = 0xFFFF) -> list[bytes]:
    """Replies of kind ``raw_name`` carrying ``parts`` (one encoded entry each), as many messages as needed to
    keep each within ``max_len`` bytes; every message but the last has ``OFPSF_REPLY_MORE``."""
    raw = RAWS[raw_name]
    room = max_len - raw.header_len(version)
    bodies: list[list[bytes]] = [[]]
    size = 0
    for part in parts:
        if bodies[-1] and size + len(part) > room:
            bodies.append([])
            size = 0
        bodies[-1].append(part)
        size += len(part)
    return [encode(raw_name, version, b"".join(b), xid, OFPSF_REPLY_MORE if i < len(bodies) - 1 else 0)
            for i, b in enumerate(bodies)]


def header_text(msg: Msg) -> str:
    """``OFPT_HELLO (xid=0x1):``, ``OFPST_FLOW reply (OF1.3) (xid=0x2): flags=[more]``: how ofp-print begins."""
    s = msg.raw.print_name()
    if msg.version != 1:
        s += f" ({version_name(msg.version)})"
    s += f" (xid={msg.xid:#x}):"
    if msg.flags:
        rest = msg.flags & ~OFPSF_REPLY_MORE
        names = ["more"] if msg.flags & OFPSF_REPLY_MORE else []
        if rest:
            names.append(f"{rest:#x}")
        s += " flags=[" + ",".join(names) + "]" if msg.flags & OFPSF_REPLY_MORE else f" flags={msg.flags:#x}"
    return s


# ---------------------------------------------------------------------------------------------- hello, errors


def encode_hello(versions: Iterable[int], xid: int = 0) -> bytes:
    """A HELLO for the wire ``versions`` allowed: the header's version is the highest, followed by a version
    bitmap element (OpenFlow 1.3.1 section 7.5.1) unless the versions are every one from 1.0 up to that one,
    which the header alone says.  This is what Open vSwitch sends."""
    vs = set(versions)
    top = max(vs)
    bitmap = sum(1 << v for v in vs)
    body = b""
    if bitmap != (1 << (top + 1)) - 2:
        body = struct.pack("!HHI", OFPHET_VERSIONBITMAP, 8, bitmap)
    return struct.pack("!BBHI", top, 0, 8 + len(body), xid & 0xFFFFFFFF) + body


def decode_hello(msg: Msg) -> set[int]:
    """The versions a HELLO offers: its version bitmap if it has one, else every version up to the header's."""
    body = msg.body
    pos = 0
    while len(body) - pos >= 4:
        etype, elen = struct.unpack_from("!HH", body, pos)
        if elen < 4 or pos + elen > len(body):
            break
        if etype == OFPHET_VERSIONBITMAP:
            bits = 0
            for i in range((elen - 4) // 4):
                bits |= struct.unpack_from("!I", body, pos + 4 + 4 * i)[0] << (32 * i)
            if bits:
                return {v for v in range(bits.bit_length()) if bits >> v & 1}
        pos += (elen + 7) // 8 * 8
    return set(range(1, msg.version + 1))


def encode_error(version: int, name: str, xid: int, data: bytes = b"") -> bytes:
    """An OFPT_ERROR of error ``name`` (``OFPBRC_IS_SECONDARY``...) about the message ``data`` (sent whole, as
    Open vSwitch does, cut to keep the error within 65535 bytes), in ``version``'s numbers; errors the version
    cannot express are Nicira extension errors, or ``NXBRC_UNENCODABLE_ERROR`` (``ofp_errors.error_to_wire``)."""
    head = error_to_wire(name, version)
    data = bytes(data)[:0xFFFF - 8 - len(head)]
    return struct.pack("!BBHI", version, OFPT_ERROR, 8 + len(head) + len(data), xid & 0xFFFFFFFF) + head + data


def decode_error(msg: Msg) -> tuple[str, bytes]:
    """An OFPT_ERROR's error name and the data it carries (the offending message, or text for HELLO_FAILED).
    Raises ``OFPDecodeError`` for numbers Open vSwitch does not know."""
    name, n = error_from_wire(msg.version, msg.body)
    return name, msg.body[n:]
