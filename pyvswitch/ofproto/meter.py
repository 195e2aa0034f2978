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
``MeterIdPool``
    The provider meter ids of one datapath (see below).

Provider meter ids: the datapath has its own meter numbers.  As in Open vSwitch, each meter gets one from a pool
when it is added (lowest free id first, from 0), keeps it when modified and gives it back when deleted;
translation emits ``meter(N)`` with ``N = MeterTable.provider_id(meter_id)``.  The pool belongs to the datapath,
which every bridge of one datapath type shares (a real Open vSwitch with bridges br0 and br1 on one dummy
datapath numbers br0's meters 0 and 1, then br1's first meter 2), so ``MeterTable.id_pool`` is injectable: the
daemon gives every bridge of a datapath the same ``MeterIdPool``.  ``MeterTable.listeners`` are told of every
change so that the daemon programs the datapath's meters (``pyvswitch.dpif.meter.DpMeters``), and
``MeterTable.stats_source`` reads the datapath's counters back for meter statistics.

Meter ids: 1 to ``OFPM_MAX`` (0xffff0000) are ordinary meters; Open vSwitch also accepts the virtual meters
``slowpath`` (0xfffffffd) and ``controller`` (0xfffffffe), which limit packets sent to the slow path and to
controllers; ``all`` (0xffffffff) names every meter in deletes and requests.

What the userspace datapath supports (found against Open vSwitch 3.1 with a ``datapath_type=dummy`` bridge, which
uses it): ``max_meter`` 262144 (but any id up to ``OFPM_MAX`` is accepted), 8 bands, only ``drop`` bands
(``dscp_remark`` gets ``OFPMMFC_BAD_BAND``), flags ``kbps pktps burst stats`` with one of ``kbps``/``pktps``
required (else ``OFPMMFC_BAD_FLAGS``).  ``MeterFeatures()`` holds those values.  pyvswitch's datapath
(``pyvswitch.dpif.meter``) also carries out ``dscp_remark`` bands; a table built with ``MeterFeatures(band_types=(1
<< BandType.DROP) | (1 << BandType.DSCP_REMARK))`` accepts them (and reports them in its features).
"""

from __future__ import annotations

import enum
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

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
    "MeterIdPool",
    "MeterListener",
    "MeterMod",
    "MeterModError",
    "MeterParseError",
    "MeterStats",
    "MeterStatsSource",
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

class MeterIdPool:
    """Provider meter ids ``0 .. n_ids - 1`` of one datapath, handed out lowest free first (Open vSwitch's
    ``id_pool``, one per datapath backer; ``n_ids`` defaults to its userspace datapath's 262144 meters)."""

    def __init__(self, n_ids: int = 262144) -> None:
        self.n_ids = n_ids
        self._used: set[int] = set()
        self._next = 0          # no id below this one is free

    def alloc(self) -> int | None:
        """The lowest free id, now taken; None when every id is taken."""
        i = self._next
        while i in self._used:
            i += 1
        if i >= self.n_ids:
            self._next = i
            return None
        self._used.add(i)
        self._next = i + 1
        return i

    def free(self, provider_id: int) -> None:
        """Give ``provider_id`` back (an id not taken is ignored)."""
        if provider_id in self._used:
            self._used.discard(provider_id)
            self._next = min(self._next, provider_id)

    def __contains__(self, provider_id: int) -> bool:
        return provider_id in self._used

    def __len__(self) -> int:
        return len(self._used)


MeterListener = Callable[[str, int, MeterConfig | None], None]
"""``listener(event, provider_id, config)``: ``event`` is ``"add"``, ``"modify"`` (``config`` the meter's new
:class:`MeterConfig`, under its OpenFlow id) or ``"delete"`` (``config`` None)."""


class _DpStats(Protocol):
    @property
    def packet_count(self) -> int: ...
    @property
    def byte_count(self) -> int: ...
    @property
    def bands(self) -> Sequence[tuple[int, int]]: ...


MeterStatsSource = Callable[[int], _DpStats | None]
"""``source(provider_id)``: the datapath's counters of a meter, an object with ``packet_count``, ``byte_count``
and ``bands`` (a (packets, bytes) pair per band), such as ``DpMeters.stats`` returns; None if the datapath has no
such meter."""


@dataclass
class _Meter:
    meter_id: int
    flags: int
    bands: tuple[Band, ...]
    created: float
    provider_id: int = -1
    packets: int = 0
    bytes: int = 0
    band_counts: list[list[int]] = field(default_factory=list)


class MeterTable:
    """A bridge's meters, with the checks of Open vSwitch's ``handle_meter_mod`` and its userspace datapath.

    ``flow_count(meter_id)`` says how many flows use a meter; ``on_delete(meter_ids)`` is called with the meters a
    delete removed, so that the caller deletes the flows that use them.

    Attributes the daemon sets (see the module doc):

    ``id_pool``
        The :class:`MeterIdPool` provider ids come from (default: the table's own).  Replace it only while the
        table is empty; every table of one datapath should share one.
    ``listeners``
        A list of :data:`MeterListener`, called in order after each meter is added, modified or deleted (for a
        delete: after ``on_delete``, before the provider id goes back to the pool).
    ``stats_source``
        A :data:`MeterStatsSource` or None.  When set, :meth:`stats` reports the datapath's packet, byte and band
        counters for each meter; otherwise the table's own (:meth:`account`).  ``flow_count`` and the duration
        always come from the table: the duration runs from the meter's addition, and a modification does not
        restart it (the datapath's counters do start again from 0 then, in Open vSwitch as here)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, features: MeterFeatures | None = None,
                 flow_count: Callable[[int], int] | None = None,
                 on_delete: Callable[[list[int]], None] | None = None, id_pool: MeterIdPool | None = None,
                 stats_source: MeterStatsSource | None = None) -> None:
        self.clock = clock
        self.features = features or MeterFeatures()
        self.flow_count = flow_count or (lambda mid: 0)
        self.on_delete = on_delete
        self.id_pool = id_pool if id_pool is not None else MeterIdPool()
        self.listeners: list[MeterListener] = []
        self.stats_source = stats_source
        self._meters: dict[int, _Meter] = {}

    def __contains__(self, meter_id: int) -> bool:
        return meter_id in self._meters

    def __len__(self) -> int:
        return len(self._meters)

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._meters))

    def provider_id(self, meter_id: int) -> int | None:
        """The datapath's id of meter ``meter_id`` (what translation puts in ``meter(N)``), None if there is no
        such meter."""
        m = self._meters.get(meter_id)
        return None if m is None else m.provider_id

    def _notify(self, event: str, m: _Meter) -> None:
        config = None if event == "delete" else MeterConfig(m.meter_id, m.flags, m.bands)
        for listener in list(self.listeners):
            listener(event, m.provider_id, config)

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
            pid = self.id_pool.alloc()
            if pid is None:
                raise MeterModError("OFPMMFC_OUT_OF_METERS")
            m = _Meter(mid, mm.flags, mm.bands, self.clock(), pid, band_counts=[[0, 0] for _ in mm.bands])
            self._meters[mid] = m
            self._notify("add", m)
            return []
        if mm.command == MeterCommand.MODIFY:
            old = self._meters.get(mid)
            if old is None:
                raise MeterModError("OFPMMFC_UNKNOWN_METER")
            self._check_config(mm)
            old.flags, old.bands = mm.flags, mm.bands
            old.packets = old.bytes = 0
            old.band_counts = [[0, 0] for _ in mm.bands]
            self._notify("modify", old)
            return []
        if mm.command == MeterCommand.DELETE:
            if mid == OFPM_ALL:
                gone = sorted(self._meters)
            else:
                gone = [mid] if mid in self._meters else []
            removed = [self._meters.pop(m) for m in gone]
            if gone and self.on_delete is not None:
                self.on_delete(gone)
            for m in removed:
                self._notify("delete", m)
                self.id_pool.free(m.provider_id)
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
            packets, nbytes = m.packets, m.bytes
            bands = tuple(BandStats(p, b) for p, b in m.band_counts)
            dp = self.stats_source(m.provider_id) if self.stats_source is not None else None
            if dp is not None:
                packets, nbytes = dp.packet_count, dp.byte_count
                counts = list(dp.bands)[:len(m.bands)]
                counts += [(0, 0)] * (len(m.bands) - len(counts))
                bands = tuple(BandStats(p, b) for p, b in counts)
            out.append(MeterStats(i, self.flow_count(i), packets, nbytes, sec, nsec, bands))
        return out
