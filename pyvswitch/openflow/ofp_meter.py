"""Meter messages on the wire (OpenFlow 1.3+), byte-exact with Open vSwitch 3.1: meter-mod, meter stats, meter
config and meter features, and how ``ovs-ofctl ofp-print`` prints them.

Layouts (OpenFlow 1.3 sections A.3.4.4, A.3.5.12-14)::

    OFPT13_METER_MOD:        command:16 flags:16 meter_id:32 band...
    band:                    type:16 len:16 rate:32 burst_size:32 (drop: pad:32; dscp_remark: prec_level:8 pad:24)
    meter/config request:    meter_id:32 pad:32         (features request: empty)
    meter config entry:      length:16 flags:16 meter_id:32 band...
    meter stats entry:       meter_id:32 len:16 pad:48 flow_count:32 packet_in:64 byte_in:64 duration_sec:32
                             duration_nsec:32 (packet_band_count:64 byte_band_count:64)...
    meter features reply:    max_meter:32 band_types:32 capabilities:32 max_bands:8 max_color:8 pad:16

A reply that fails part-way is printed as Open vSwitch prints it: the printers raise ``PartialDecodeError``
(``ofp_flow_stats``) with the entries before the failure.

The decoders make Open vSwitch's checks: every band exactly 16 bytes (``OFPBRC_BAD_LEN``), only drop and
dscp_remark bands (``OFPMMFC_BAD_BAND``), not both ``kbps`` and ``pktps`` (``OFPMMFC_BAD_FLAGS``), a known command
(``OFPMMFC_BAD_COMMAND``); a delete ignores whatever follows its meter id.

Error names raised here that ``ofp_errors.py`` does not list yet: ``METER_MOD_ERRORS`` gives their numbers (type
METER_MOD_FAILED, 12, OpenFlow 1.3+) for the lead to merge.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from pyvswitch.ofproto import meter as M
from pyvswitch.openflow import ofp_msgs
from pyvswitch.openflow.ofp_errors import OFPDecodeError
from pyvswitch.openflow.ofp_flow_stats import PartialDecodeError, format_duration
from pyvswitch.openflow.ofp_msgs import Msg

__all__ = [
    "METER_MOD_ERRORS",
    "PRINTERS",
    "MeterRequest",
    "decode_meter_config_reply",
    "decode_meter_features_reply",
    "decode_meter_mod",
    "decode_meter_request",
    "decode_meter_stats_reply",
    "encode_meter_config_reply",
    "encode_meter_config_request",
    "encode_meter_features_reply",
    "encode_meter_features_request",
    "encode_meter_mod",
    "encode_meter_stats_reply",
    "encode_meter_stats_request",
]

METER_MOD_ERRORS: dict[str, int] = {
    "OFPMMFC_UNKNOWN": 0, "OFPMMFC_METER_EXISTS": 1, "OFPMMFC_INVALID_METER": 2, "OFPMMFC_UNKNOWN_METER": 3,
    "OFPMMFC_BAD_COMMAND": 4, "OFPMMFC_BAD_FLAGS": 5, "OFPMMFC_BAD_RATE": 6, "OFPMMFC_BAD_BURST": 7,
    "OFPMMFC_BAD_BAND": 8, "OFPMMFC_BAD_BAND_VALUE": 9, "OFPMMFC_OUT_OF_METERS": 10, "OFPMMFC_OUT_OF_BANDS": 11,
}

_BAND_LEN = 16


@dataclass(frozen=True, slots=True)
class MeterRequest:
    """A meter stats or meter config request: the meter asked about (``OFPM_ALL``: all)."""

    meter_id: int = M.OFPM_ALL


def _err(code: str, detail: str = "") -> OFPDecodeError:
    return OFPDecodeError(code, detail)


def _encode_bands(bands: tuple[M.Band, ...]) -> bytes:
    return b"".join(struct.pack("!HHIIB3x", b.type, _BAND_LEN, b.rate, b.burst_size, b.prec_level) for b in bands)


def _decode_bands(data: bytes) -> tuple[M.Band, ...]:
    """Open vSwitch's ``ofputil_pull_bands`` over exactly ``data``."""
    out = []
    pos = 0
    while len(data) - pos >= _BAND_LEN:
        btype, blen, rate, burst = struct.unpack_from("!HHII", data, pos)
        if blen != _BAND_LEN:
            raise _err("OFPBRC_BAD_LEN")
        if btype not in (M.BandType.DROP, M.BandType.DSCP_REMARK):
            raise _err("OFPMMFC_BAD_BAND")
        prec = data[pos + 12] if btype == M.BandType.DSCP_REMARK else 0
        out.append(M.Band(btype, rate, burst, prec))
        pos += _BAND_LEN
    if pos != len(data):
        raise _err("OFPBRC_BAD_LEN")
    return tuple(out)


# ---------------------------------------------------------------------------------------------------------------
# Meter mod.

def encode_meter_mod(mm: M.MeterMod, version: int, xid: int = 0) -> bytes:
    """``mm`` as ``ofputil_encode_meter_mod`` sends it (a delete carries no flags)."""
    flags = 0 if mm.command == M.MeterCommand.DELETE else mm.flags
    body = struct.pack("!HHI", mm.command, flags, mm.meter_id) + _encode_bands(mm.bands)
    return ofp_msgs.encode(ofp_msgs.raw_for("METER_MOD", version), version, body, xid)


def decode_meter_mod(msg: Msg) -> M.MeterMod:
    command, flags, meter_id = struct.unpack_from("!HHI", msg.body, 0)
    if command not in (M.MeterCommand.ADD, M.MeterCommand.MODIFY, M.MeterCommand.DELETE):
        raise _err("OFPMMFC_BAD_COMMAND")
    cmd = M.MeterCommand(command)
    if cmd == M.MeterCommand.DELETE:
        return M.MeterMod(cmd, meter_id)
    if flags & M.MeterFlags.KBPS and flags & M.MeterFlags.PKTPS:
        raise _err("OFPMMFC_BAD_FLAGS")
    return M.MeterMod(cmd, meter_id, flags, _decode_bands(msg.body[8:]))


# ---------------------------------------------------------------------------------------------------------------
# Requests.

def encode_meter_stats_request(req: MeterRequest, version: int, xid: int = 0) -> bytes:
    return ofp_msgs.encode(ofp_msgs.raw_for("METER_STATS_REQUEST", version), version,
                           struct.pack("!I4x", req.meter_id), xid)


def encode_meter_config_request(req: MeterRequest, version: int, xid: int = 0) -> bytes:
    return ofp_msgs.encode(ofp_msgs.raw_for("METER_CONFIG_STATS_REQUEST", version), version,
                           struct.pack("!I4x", req.meter_id), xid)


def decode_meter_request(msg: Msg) -> MeterRequest:
    """A meter stats or meter config request."""
    return MeterRequest(struct.unpack_from("!I", msg.body, 0)[0])


def encode_meter_features_request(version: int, xid: int = 0) -> bytes:
    return ofp_msgs.encode(ofp_msgs.raw_for("METER_FEATURES_STATS_REQUEST", version), version, b"", xid)


# ---------------------------------------------------------------------------------------------------------------
# Replies.

def _encode_config(mc: M.MeterConfig) -> bytes:
    bands = _encode_bands(mc.bands)
    return struct.pack("!HHI", 8 + len(bands), mc.flags, mc.meter_id) + bands


def encode_meter_config_reply(configs: list[M.MeterConfig], version: int, xid: int = 0, flags: int = 0) -> bytes:
    return ofp_msgs.encode(ofp_msgs.raw_for("METER_CONFIG_STATS_REPLY", version), version,
                           b"".join(_encode_config(c) for c in configs), xid, flags)


def decode_meter_config_reply(msg: Msg) -> list[M.MeterConfig]:
    return _decode_config_entries(msg, [])


def _decode_config_entries(msg: Msg, out: list[M.MeterConfig]) -> list[M.MeterConfig]:
    data = msg.body
    pos = 0
    while pos < len(data):
        if len(data) - pos < 8:
            raise _err("OFPBRC_BAD_LEN", f"OFPMP_METER_CONFIG reply has {len(data) - pos} leftover bytes at end")
        length, flags, meter_id = struct.unpack_from("!HHI", data, pos)
        if length < 8 or length > len(data) - pos:
            raise _err("OFPBRC_BAD_LEN")
        out.append(M.MeterConfig(meter_id, flags, _decode_bands(data[pos + 8:pos + length])))
        pos += length
    return out


def _encode_stats(ms: M.MeterStats) -> bytes:
    return (struct.pack("!IH6xIQQII", ms.meter_id, 40 + 16 * len(ms.bands), ms.flow_count, ms.packet_in_count,
                        ms.byte_in_count, ms.duration_sec, ms.duration_nsec)
            + b"".join(struct.pack("!QQ", b.packet_count, b.byte_count) for b in ms.bands))


def encode_meter_stats_reply(stats: list[M.MeterStats], version: int, xid: int = 0, flags: int = 0) -> bytes:
    return ofp_msgs.encode(ofp_msgs.raw_for("METER_STATS_REPLY", version), version,
                           b"".join(_encode_stats(s) for s in stats), xid, flags)


def decode_meter_stats_reply(msg: Msg) -> list[M.MeterStats]:
    return _decode_stats_entries(msg, [])


def _decode_stats_entries(msg: Msg, out: list[M.MeterStats]) -> list[M.MeterStats]:
    data = msg.body
    pos = 0
    while pos < len(data):
        if len(data) - pos < 40:
            raise _err("OFPBRC_BAD_LEN", f"OFPMP_METER reply has {len(data) - pos} leftover bytes at end")
        meter_id, length, flows, packets, nbytes, sec, nsec = struct.unpack_from("!IH6xIQQII", data, pos)
        n = (length - 40) // 16
        if length < 40 or length > len(data) - pos or (length - 40) % 16:
            raise _err("OFPBRC_BAD_LEN")
        bands = tuple(M.BandStats(*struct.unpack_from("!QQ", data, pos + 40 + 16 * i)) for i in range(n))
        out.append(M.MeterStats(meter_id, flows, packets, nbytes, sec, nsec, bands))
        pos += length
    return out


def encode_meter_features_reply(mf: M.MeterFeatures, version: int, xid: int = 0) -> bytes:
    body = struct.pack("!IIIBB2x", mf.max_meters, mf.band_types, mf.capabilities, mf.max_bands, mf.max_color)
    return ofp_msgs.encode(ofp_msgs.raw_for("METER_FEATURES_STATS_REPLY", version), version, body, xid)


def decode_meter_features_reply(msg: Msg) -> M.MeterFeatures:
    return M.MeterFeatures(*struct.unpack_from("!IIIBB", msg.body, 0))


# ---------------------------------------------------------------------------------------------------------------
# Printing.

def _bit_names(bits: int, names: dict[int, str]) -> str:
    """Open vSwitch's ``ofp_print_bit_names`` with a space between names; unknown bits as one hex number."""
    if not bits:
        return "0"
    parts = []
    rest = 0
    for i in range(32):
        if bits >> i & 1:
            if i in names:
                parts.append(names[i])
            else:
                rest |= 1 << i
    if rest:
        parts.append(f"{rest:#x}")
    return " ".join(parts)


def _print_mod(msg: Msg) -> str:
    return M.format_meter_mod(decode_meter_mod(msg)).removesuffix("\n")


def _print_request(msg: Msg) -> str:
    return " " + M.format_meter_id(decode_meter_request(msg).meter_id)


def _partial(decode: Callable[[Msg, list], list], fmt: Callable[[list], str], msg: Msg) -> str:
    """Print the entries; on a failure part-way, raise ``PartialDecodeError`` with those before it."""
    entries: list = []
    try:
        decode(msg, entries)
    except OFPDecodeError as e:
        if not entries:
            raise
        raise PartialDecodeError(e.code, fmt(entries), e.detail) from None
    return fmt(entries)


def _format_configs(entries: list[M.MeterConfig]) -> str:
    return "".join("\n" + M.format_meter_config(c) for c in entries).removesuffix("\n")


def _print_config_reply(msg: Msg) -> str:
    return _partial(_decode_config_entries, _format_configs, msg)


def _print_stats_reply(msg: Msg) -> str:
    return _partial(_decode_stats_entries, _format_stats, msg)


def _format_stats(entries: list[M.MeterStats]) -> str:
    s = ""
    for ms in entries:
        s += ("\n" + M.format_meter_id(ms.meter_id, ":") + f" flow_count:{ms.flow_count} "
              f"packet_in_count:{ms.packet_in_count} byte_in_count:{ms.byte_in_count} "
              f"duration:{format_duration(ms.duration_sec, ms.duration_nsec)} bands:\n")
        for i, b in enumerate(ms.bands):
            s += f"{i}: packet_count:{b.packet_count} byte_count:{b.byte_count}\n"
    return s.removesuffix("\n")


def _print_features_request(msg: Msg) -> str:
    return ""


def _print_features_reply(msg: Msg) -> str:
    mf = decode_meter_features_reply(msg)
    return (f"\nmax_meter:{mf.max_meters} max_bands:{mf.max_bands} max_color:{mf.max_color}\n"
            f"band_types: {_bit_names(mf.band_types, {1: 'drop', 2: 'dscp_remark'})}\n"
            f"capabilities: {_bit_names(mf.capabilities, {0: 'kbps', 1: 'pktps', 2: 'burst', 3: 'stats'})}")


PRINTERS: dict[str, Callable[[Msg], str]] = {
    "METER_MOD": _print_mod,
    "METER_STATS_REQUEST": _print_request,
    "METER_CONFIG_STATS_REQUEST": _print_request,
    "METER_STATS_REPLY": _print_stats_reply,
    "METER_CONFIG_STATS_REPLY": _print_config_reply,
    "METER_FEATURES_STATS_REQUEST": _print_features_request,
    "METER_FEATURES_STATS_REPLY": _print_features_reply,
}
