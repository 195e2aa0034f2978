"""OpenFlow meters: the meter-mod object, its ``ovs-ofctl`` text, and the switch's meter table.

A meter (OpenFlow 1.3 section 5.7) measures the rate of the packets that flows send through it (``meter:N``) and
applies the band whose rate is exceeded: ``drop``, or ``dscp_remark`` (raise the drop precedence by
``prec_level``).  Rates are in kb/s or packets/s (flags ``kbps``/``pktps``), ``burst`` makes the bands'
``burst_size`` count, ``stats`` asks for counters.  Metering packets is the datapath's business; this module
stores, checks, counts and describes meters as Open vSwitch's ``ofproto.c`` and its userspace datapath do.

Parts:

``MeterMod``, ``Band``
    Plain frozen data (Open vSwitch's ``struct ofputil_meter_mod``).
``parse_meter_mod``, ``format_meter_config``, ``format_meter_mod``, ``format_meter_id``
    The text of ``ovs-ofctl add-meter`` / ``mod-meter`` / ``del-meters`` / ``dump-meters`` / ``meter-stats``
    (ovs-ofctl(8) "Meter Syntax") with ovs-ofctl's error messages, and how ovs-ofctl prints meters.
``MeterTable``
    The switch side: ``apply`` with Open vSwitch's errors (``MeterModError.code``: ``OFPMMFC_METER_EXISTS``...),
    counters per meter and band, ``features``.  Deleting a meter deletes the flows that use it: ``apply``
    returns the deleted meter ids and calls ``on_delete`` with them.

Meter ids: 1 to ``OFPM_MAX`` (0xffff0000) are ordinary meters; Open vSwitch also accepts the virtual meters
``slowpath`` (0xfffffffd) and ``controller`` (0xfffffffe), which limit packets sent to the slow path and to
controllers; ``all`` (0xffffffff) names every meter in deletes and requests.

What the userspace datapath supports (found against Open vSwitch 3.1 with a ``datapath_type=dummy`` bridge, which
uses it): ``max_meter`` 262144 (but any id up to ``OFPM_MAX`` is accepted), 8 bands, only ``drop`` bands
(``dscp_remark`` gets ``OFPMMFC_BAD_BAND``), flags ``kbps pktps burst stats`` with one of ``kbps``/``pktps``
required (else ``OFPMMFC_BAD_FLAGS``).  ``MeterFeatures()`` holds those values.
"""

from __future__ import annotations

import enum
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pyvswitch.ofproto.actions import ActionParseError, lex

__all__ = [
    "OFPM_ALL",
    "OFPM_CONTROLLER",
    "OFPM_MAX",
    "OFPM_SLOWPATH",
    "Band",
    "BandStats",
    "BandType",
    "MeterCommand",
    "MeterConfig",
    "MeterFeatures",
    "MeterFlags",
    "MeterMod",
    "MeterModError",
    "MeterParseError",
    "MeterStats",
    "MeterTable",
    "format_band",
    "format_meter_config",
    "format_meter_flags",
    "format_meter_id",
    "format_meter_mod",
    "parse_meter_mod",
]

OFPM_MAX = 0xFFFF0000
OFPM_SLOWPATH = 0xFFFFFFFD
OFPM_CONTROLLER = 0xFFFFFFFE
OFPM_ALL = 0xFFFFFFFF


class MeterCommand(enum.IntEnum):
    ADD = 0
    MODIFY = 1
    DELETE = 2


class MeterFlags(enum.IntFlag):
    KBPS = 1
    PKTPS = 2
    BURST = 4
    STATS = 8


class BandType(enum.IntEnum):
    DROP = 1
    DSCP_REMARK = 2


class MeterParseError(ValueError):
    """Bad meter text; ``str()`` is ovs-ofctl's message."""


class MeterModError(Exception):
    """A meter-mod the switch refuses: ``code`` is the OpenFlow error name (``OFPMMFC_UNKNOWN_METER``...)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class Band:
    type: int
    rate: int = 0
    burst_size: int = 0
    prec_level: int = 0


@dataclass(frozen=True, slots=True)
class MeterMod:
    command: MeterCommand
    meter_id: int
    flags: int = 0
    bands: tuple[Band, ...] = ()


@dataclass(frozen=True, slots=True)
class MeterConfig:
    """A meter as a meter-config reply describes it."""

    meter_id: int
    flags: int
    bands: tuple[Band, ...] = ()


@dataclass(frozen=True, slots=True)
class BandStats:
    packet_count: int = 0
    byte_count: int = 0


@dataclass(frozen=True, slots=True)
class MeterStats:
    meter_id: int
    flow_count: int = 0
    packet_in_count: int = 0
    byte_in_count: int = 0
    duration_sec: int = 0
    duration_nsec: int = 0
    bands: tuple[BandStats, ...] = ()


@dataclass(frozen=True, slots=True)
class MeterFeatures:
    """``ofputil_meter_features``; the defaults are what Open vSwitch 3.1's userspace datapath reports."""

    max_meters: int = 262144
    band_types: int = 1 << BandType.DROP
    capabilities: int = 0xF
    max_bands: int = 8
    max_color: int = 0


# ---------------------------------------------------------------------------------------------------------------
# Text.

_FLAG_NAMES = [(MeterFlags.KBPS, "kbps"), (MeterFlags.PKTPS, "pktps"), (MeterFlags.BURST, "burst"),
               (MeterFlags.STATS, "stats")]


def format_meter_flags(flags: int) -> str:
    """``kbps burst stats `` (each name followed by a space); unknown bits as ``flags:0x..``."""
    s = ""
    for flag, name in _FLAG_NAMES:
        if flags & flag:
            s += name + " "
    rest = flags & ~0xF
    if rest:
        s += f"flags:{rest:#x} "
    return s


def format_meter_id(meter_id: int, sep: str = "=") -> str:
    """``meter=1``, ``meter=all``, ``meter:controller``... as ovs-ofctl prints the id (``sep`` between)."""
    name = {OFPM_ALL: "all", OFPM_CONTROLLER: "controller", OFPM_SLOWPATH: "slowpath"}.get(meter_id)
    return f"meter{sep}{name if name else meter_id}"


def format_band(flags: int, b: Band) -> str:
    """``\ntype=drop rate=1000 burst_size=100``: one band, the burst size shown when ``flags`` has ``burst``."""
    name = {1: "drop", 2: "dscp_remark"}.get(b.type, str(b.type))
    s = f"\ntype={name} rate={b.rate}"
    if flags & MeterFlags.BURST:
        s += f" burst_size={b.burst_size}"
    if b.type == BandType.DSCP_REMARK:
        s += f" prec_level={b.prec_level}"
    return s


def format_meter_config(mc: MeterConfig | MeterMod) -> str:
    """``meter=1 kbps burst stats bands=\ntype=drop rate=1000 burst_size=100\n`` (ending in a newline)."""
    return (format_meter_id(mc.meter_id) + " " + format_meter_flags(mc.flags) + "bands="
            + "".join(format_band(mc.flags, b) for b in mc.bands) + "\n")


def format_meter_mod(mm: MeterMod) -> str:
    """What ofp-print shows after the header of a meter-mod: `` ADD meter=1 kbps bands=\ntype=drop rate=10\n``."""
    try:
        cmd = {MeterCommand.ADD: "ADD", MeterCommand.MODIFY: "MOD", MeterCommand.DELETE: "DEL"}[mm.command]
    except KeyError:
        cmd = f"cmd:{int(mm.command)}"
    return f" {cmd} " + format_meter_config(mm)


def _u32(value: str) -> int:
    try:
        return lex.str_to_u32(value)
    except ActionParseError as e:
        raise MeterParseError(str(e)) from None


_TOKEN = re.compile(r"[^=, \t\r\n]+")


def parse_meter_mod(text: str, command: MeterCommand | None) -> MeterMod:
    """A meter-mod from ovs-ofctl's meter text (``meter=1,kbps,burst,stats,bands=type=drop,rate=1000,...``).

    ``command`` is ADD (``add-meter``), MODIFY (``mod-meter``), DELETE (``del-meters``) or None for the requests
    of ``dump-meters`` and ``meter-stats`` (only ``meter=`` allowed).  Raises ``MeterParseError``."""
    with_flags = command in (MeterCommand.ADD, MeterCommand.MODIFY)
    meter_id = 0
    flags = 0
    s = text
    band_str = None
    if with_flags:
        k = s.find("band")
        if k < 0:
            raise MeterParseError("must specify bands")
        eq = s.find("=", k + 1)
        if eq < 0:
            raise MeterParseError("must specify bands")
        s, band_str = s[:k], s[eq + 1:]
    # ovs-ofctl tokenizes with strtok: a name ends at '=', ',' or white space, its value at ',' or white space.
    pos = 0
    while True:
        m = _TOKEN.search(s, pos)
        if not m:
            break
        name = m.group()
        pos = m.end() + (1 if m.end() < len(s) else 0)
        if with_flags and name in ("kbps", "pktps", "burst", "stats"):
            flags |= {"kbps": MeterFlags.KBPS, "pktps": MeterFlags.PKTPS, "burst": MeterFlags.BURST,
                      "stats": MeterFlags.STATS}[name]
            continue
        vm = re.compile(r"[^, \t\r\n]+").search(s, pos)
        if not vm:
            raise MeterParseError(f"field {name} missing value")
        value = vm.group()
        pos = vm.end() + (1 if vm.end() < len(s) else 0)
        if name != "meter":
            raise MeterParseError(f"unknown keyword {name}")
        if value in ("all", "controller", "slowpath"):
            meter_id = {"all": OFPM_ALL, "controller": OFPM_CONTROLLER, "slowpath": OFPM_SLOWPATH}[value]
        else:
            meter_id = _u32(value)
            if meter_id > OFPM_MAX or not meter_id:
                raise MeterParseError(f"invalid value for {name}")
    if not meter_id:
        raise MeterParseError("must specify 'meter'")
    if with_flags and not flags:
        raise MeterParseError("meter must specify either 'kbps' or 'pktps'")
    bands: list[dict[str, int]] = []
    if band_str is not None:
        pos = 0
        while True:
            m = _TOKEN.search(band_str, pos)
            if not m:
                break
            name = m.group()
            pos = m.end() + (1 if m.end() < len(band_str) else 0)
            vm = re.compile(r"[^, \t\r\n]+").search(band_str, pos)
            if not vm:
                raise MeterParseError(f"field {name} missing value")
            value = vm.group()
            pos = vm.end() + (1 if vm.end() < len(band_str) else 0)
            if name == "type":
                if value == "drop":
                    bands.append({"type": BandType.DROP})
                elif value == "dscp_remark":
                    bands.append({"type": BandType.DSCP_REMARK})
                else:
                    raise MeterParseError(f"field {name} unknown value {value}")
            elif not bands:
                raise MeterParseError("band must start with the 'type' keyword")
            elif name in ("rate", "burst_size"):
                bands[-1][name] = _u32(value)
            elif name == "prec_level":
                try:
                    bands[-1][name] = lex.str_to_u8(value, name)
                except ActionParseError as e:
                    raise MeterParseError(str(e)) from None
            else:
                raise MeterParseError(f"unknown keyword {name}")
        if not bands:
            raise MeterParseError("meter must have bands")
        for b in bands:
            if b["type"] == BandType.DSCP_REMARK:
                if not b.get("prec_level"):
                    raise MeterParseError("'dscp_remark' band must have 'prec_level'")
            elif b.get("prec_level"):
                raise MeterParseError("Only 'dscp_remark' band may have 'prec_level'")
            if not b.get("rate"):
                raise MeterParseError("band must have 'rate'")
            if flags & MeterFlags.BURST:
                if not b.get("burst_size"):
                    raise MeterParseError("band must have 'burst_size' when 'burst' flag is set")
            elif b.get("burst_size"):
                raise MeterParseError("band may have 'burst_size' only when 'burst' flag is set")
    cmd = MeterCommand.DELETE if command is None else command
    return MeterMod(cmd, meter_id, flags,
                    tuple(Band(b["type"], b.get("rate", 0), b.get("burst_size", 0), b.get("prec_level", 0))
                          for b in bands))


# ---------------------------------------------------------------------------------------------------------------
# The table.

@dataclass
class _Meter:
    meter_id: int
    flags: int
    bands: tuple[Band, ...]
    created: float
    packets: int = 0
    bytes: int = 0
    band_counts: list[list[int]] = field(default_factory=list)


class MeterTable:
    """A bridge's meters, with the checks of Open vSwitch's ``handle_meter_mod`` and its userspace datapath.

    ``flow_count(meter_id)`` says how many flows use a meter; ``on_delete(meter_ids)`` is called with the meters a
    delete removed, so that the caller deletes the flows that use them."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, features: MeterFeatures | None = None,
                 flow_count: Callable[[int], int] | None = None,
                 on_delete: Callable[[list[int]], None] | None = None) -> None:
        self.clock = clock
        self.features = features or MeterFeatures()
        self.flow_count = flow_count or (lambda mid: 0)
        self.on_delete = on_delete
        self._meters: dict[int, _Meter] = {}

    def __contains__(self, meter_id: int) -> bool:
        return meter_id in self._meters

    def __len__(self) -> int:
        return len(self._meters)

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._meters))

    def _check_config(self, mm: MeterMod) -> None:
        """The datapath's ``meter_set`` checks (Open vSwitch maps its errno values to these errors)."""
        if not mm.flags & (MeterFlags.KBPS | MeterFlags.PKTPS) or mm.flags & ~0xF:
            raise MeterModError("OFPMMFC_BAD_FLAGS")
        if len(mm.bands) > self.features.max_bands:
            raise MeterModError("OFPMMFC_OUT_OF_BANDS")
        for b in mm.bands:
            if not 0 < b.type < 32 or not self.features.band_types & (1 << b.type):
                raise MeterModError("OFPMMFC_BAD_BAND")
            if not b.rate:
                raise MeterModError("OFPMMFC_BAD_RATE")

    def apply(self, mm: MeterMod) -> list[int]:
        """Carry out ``mm``; returns the ids of the meters it deleted (also passed to ``on_delete``).  Raises
        ``MeterModError`` and leaves the table unchanged."""
        mid = mm.meter_id
        if mm.command != MeterCommand.DELETE:
            if mm.flags & MeterFlags.KBPS and mm.flags & MeterFlags.PKTPS:
                # Open vSwitch refuses this while decoding the message, before any other check.
                raise MeterModError("OFPMMFC_BAD_FLAGS")
            if not self.features.max_meters:
                raise MeterModError("OFPMMFC_INVALID_METER")
            if mid == 0 or (mid > OFPM_MAX and mid not in (OFPM_SLOWPATH, OFPM_CONTROLLER)):
                raise MeterModError("OFPMMFC_INVALID_METER")
            if len(mm.bands) > self.features.max_bands:
                raise MeterModError("OFPMMFC_OUT_OF_BANDS")
        if mm.command == MeterCommand.ADD:
            if mid in self._meters:
                raise MeterModError("OFPMMFC_METER_EXISTS")
            if len(self._meters) >= self.features.max_meters:
                raise MeterModError("OFPMMFC_OUT_OF_METERS")
            self._check_config(mm)
            self._meters[mid] = _Meter(mid, mm.flags, mm.bands, self.clock(),
                                       band_counts=[[0, 0] for _ in mm.bands])
            return []
        if mm.command == MeterCommand.MODIFY:
            old = self._meters.get(mid)
            if old is None:
                raise MeterModError("OFPMMFC_UNKNOWN_METER")
            self._check_config(mm)
            old.flags, old.bands = mm.flags, mm.bands
            old.band_counts = [[0, 0] for _ in mm.bands]
            return []
        if mm.command == MeterCommand.DELETE:
            if mid == OFPM_ALL:
                gone = sorted(self._meters)
            else:
                gone = [mid] if mid in self._meters else []
            for m in gone:
                del self._meters[m]
            if gone and self.on_delete is not None:
                self.on_delete(gone)
            return gone
        raise MeterModError("OFPMMFC_BAD_COMMAND")

    def account(self, meter_id: int, packets: int, nbytes: int, band_index: int | None = None,
                band_packets: int = 0, band_bytes: int = 0) -> None:
        """Count traffic into meter ``meter_id`` and, when a band fired, into that band."""
        m = self._meters.get(meter_id)
        if m is None:
            return
        m.packets += packets
        m.bytes += nbytes
        if band_index is not None and 0 <= band_index < len(m.band_counts):
            m.band_counts[band_index][0] += band_packets
            m.band_counts[band_index][1] += band_bytes

    def _ids(self, meter_id: int) -> list[int]:
        if meter_id == OFPM_ALL:
            return list(self)
        if meter_id not in self._meters:
            raise MeterModError("OFPMMFC_UNKNOWN_METER")
        return [meter_id]

    def config(self, meter_id: int = OFPM_ALL) -> list[MeterConfig]:
        """What a meter-config request gets; an unknown meter is ``OFPMMFC_UNKNOWN_METER`` (as in Open
        vSwitch, which answers such a request with that error)."""
        return [MeterConfig(i, self._meters[i].flags, self._meters[i].bands) for i in self._ids(meter_id)]

    def stats(self, meter_id: int = OFPM_ALL) -> list[MeterStats]:
        """What a meter-stats request gets (``OFPMMFC_UNKNOWN_METER`` for an unknown meter)."""
        now = self.clock()
        out = []
        for i in self._ids(meter_id):
            m = self._meters[i]
            age = max(0.0, now - m.created)
            sec = int(age)
            nsec = min(999_999_999, round((age - sec) * 1e9))
            out.append(MeterStats(i, self.flow_count(i), m.packets, m.bytes, sec, nsec,
                                  tuple(BandStats(p, b) for p, b in m.band_counts)))
        return out
