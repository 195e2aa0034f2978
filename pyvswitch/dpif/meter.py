"""The datapath's meters: token buckets that the ``meter(N)`` datapath action runs packets through.

:class:`DpMeters` is the meter table of one datapath (Open vSwitch's ``dp_netdev`` meters).  ``N`` is a *provider
meter id*, not an OpenFlow meter id: ofproto numbers the meters of every bridge that shares the datapath from 0 in
one pool (see :class:`pyvswitch.ofproto.meter.MeterIdPool`) and programs them here with :meth:`DpMeters.set` and
:meth:`DpMeters.delete`.  The executor calls :meth:`DpMeters.run` for each packet that meets a ``meter(N)``
action; False means "drop it".

How a meter measures (the facts of Open vSwitch 3.1's userspace datapath, checked against a real ovs-vswitchd with a
dummy datapath in ``tests/dpif/test_dp_meter.py``):

* Each band has a bucket.  Its capacity is ``burst_size`` (``rate`` when ``burst_size`` is 0, which is what
  ``ovs-ofctl`` sends without the ``burst`` flag) in the meter's unit: packets for ``pktps``, kilobits for
  ``kbps``.  Internally a ``pktps`` bucket counts thousandths of a packet and a ``kbps`` bucket counts bits, so
  that one millisecond at ``rate`` adds exactly ``rate`` to it.  A bucket starts full when the meter is set; a
  modification replaces the meter, so the buckets are full again and the counters start from 0.
* Time counts in whole milliseconds.  When a packet arrives ``d`` milliseconds after the meter was last refilled,
  every band's bucket gains ``d * rate``, up to its capacity.
* The packet costs 1000 (one packet) in ``pktps`` or ``8 * len(packet)`` bits in ``kbps`` (the whole frame as the
  datapath holds it: Ethernet header included, no FCS).  Each band whose bucket holds that much pays it; every band
  whose bucket does not is *exceeded*.  Of the exceeded bands the one with the highest rate (the first of equal
  rates) applies: a ``drop`` band drops the packet, a ``dscp_remark`` band raises the packet's drop precedence and
  lets it through.  With no exceeded band the packet passes unchanged.  Note that a packet that some band drops
  still drains the bands it fits in.
* Counters: every packet run through a meter counts in the meter's ``packet_count``/``byte_count``; a packet counts
  in the band that applied to it.  Counting does not depend on the ``stats`` flag.
* ``meter(N)`` with no meter ``N`` lets the packet through uncounted.

Open vSwitch processes a batch of packets at once (one clock reading, the whole batch drained from each bucket when
it fits, packet by packet otherwise), which gives the same outcome as running the packets one by one at the same
time, as here.

``dscp_remark``
    Open vSwitch's userspace datapath refuses ``dscp_remark`` bands (``ENODEV``; ofproto then answers
    ``OFPMMFC_BAD_BAND``).  This datapath carries them out as OpenFlow 1.3 describes the band: the packet's drop
    precedence is increased by ``prec_level``.  The drop precedence is bits 1-2 of the 6-bit DSCP (the ``y`` of an
    Assured Forwarding codepoint AFxy, RFC 2597); it goes up by ``prec_level`` and stops at 3, the highest.  The
    class bits and the ECN bits are kept; the IPv4 header checksum is updated incrementally (RFC 1624).  IPv6's
    traffic class is changed the same way.  A packet that is not IPv4 or IPv6 (behind up to two VLAN tags), or whose
    IPv4 header is truncated or inconsistent, passes unchanged.  ``DpMeters(band_types=...)`` can restrict the band
    types accepted, e.g. to ``drop`` only as in Open vSwitch.

Errors of :meth:`DpMeters.set` are values (Open vSwitch's errno names), never exceptions: ``EFBIG`` (provider id
not below ``MAX_METERS``), ``EBADF`` (a flag other than kbps, pktps, burst, stats), ``EINVAL`` (more than
``MAX_BANDS`` bands, or a rate of 0, which Open vSwitch's ofproto refuses before the datapath sees it) and
``ENODEV`` (a band type not supported).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from pyvswitch.packet.checksum import csum_update16

__all__ = [
    "BAND_DROP",
    "BAND_DSCP_REMARK",
    "FLAG_BURST",
    "FLAG_KBPS",
    "FLAG_PKTPS",
    "FLAG_STATS",
    "MAX_BANDS",
    "MAX_METERS",
    "DpBand",
    "DpMeterConfig",
    "DpMeterStats",
    "DpMeters",
    "dscp_remark",
]

MAX_METERS = 1 << 18
"""Provider meter ids run from 0 to ``MAX_METERS - 1`` (Open vSwitch's userspace datapath: 262144)."""
MAX_BANDS = 8

# OpenFlow 1.3's numbers, which the datapath interface uses too.
FLAG_KBPS = 1
FLAG_PKTPS = 2
FLAG_BURST = 4
FLAG_STATS = 8
BAND_DROP = 1
BAND_DSCP_REMARK = 2

_FLAGS = FLAG_KBPS | FLAG_PKTPS | FLAG_BURST | FLAG_STATS


class BandLike(Protocol):
    @property
    def type(self) -> int: ...
    @property
    def rate(self) -> int: ...
    @property
    def burst_size(self) -> int: ...
    @property
    def prec_level(self) -> int: ...


class ConfigLike(Protocol):
    """What :meth:`DpMeters.set` reads: :class:`DpMeterConfig`, or ofproto's ``MeterConfig``/``MeterMod``."""

    @property
    def flags(self) -> int: ...
    @property
    def bands(self) -> Sequence[BandLike]: ...


@dataclass(frozen=True, slots=True)
class DpBand:
    type: int = BAND_DROP
    rate: int = 0
    burst_size: int = 0
    prec_level: int = 0


@dataclass(frozen=True, slots=True)
class DpMeterConfig:
    flags: int
    bands: tuple[DpBand, ...] = ()


@dataclass(frozen=True, slots=True)
class DpMeterStats:
    """A meter's counters: packets and bytes run through it, and (packets, bytes) per band in band order."""

    packet_count: int = 0
    byte_count: int = 0
    bands: tuple[tuple[int, int], ...] = ()


class _Band:
    __slots__ = ("bucket", "byte_count", "capacity", "packet_count", "prec_level", "rate", "type")

    def __init__(self, b: BandLike) -> None:
        self.type = b.type
        self.rate = b.rate
        self.prec_level = b.prec_level
        self.capacity = (b.burst_size or b.rate) * 1000
        self.bucket = self.capacity
        self.packet_count = 0
        self.byte_count = 0


class _Meter:
    __slots__ = ("bands", "byte_count", "packet_count", "pktps", "used")

    def __init__(self, config: ConfigLike, now_ms: int) -> None:
        self.pktps = bool(config.flags & FLAG_PKTPS)
        self.bands = [_Band(b) for b in config.bands]
        self.used = now_ms
        self.packet_count = 0
        self.byte_count = 0


def _ms(now: float) -> int:
    return math.floor(now * 1000)


class DpMeters:
    """The meters of one datapath, by provider meter id.  See the module doc.

    ``clock`` (seconds, ``time.monotonic`` by default) stamps a meter when it is set and is the time of a
    :meth:`run` not given ``now``.  ``band_types`` is the set of band types accepted (drop and dscp_remark)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 band_types: frozenset[int] = frozenset((BAND_DROP, BAND_DSCP_REMARK))) -> None:
        self.clock = clock
        self.band_types = band_types
        self._meters: dict[int, _Meter] = {}

    def __contains__(self, provider_id: int) -> bool:
        return provider_id in self._meters

    def __len__(self) -> int:
        return len(self._meters)

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._meters))

    def check(self, provider_id: int, config: ConfigLike) -> str | None:
        """The error :meth:`set` would give (an errno name), or None."""
        if not 0 <= provider_id < MAX_METERS:
            return "EFBIG"
        if config.flags & ~_FLAGS:
            return "EBADF"
        if len(config.bands) > MAX_BANDS:
            return "EINVAL"
        for b in config.bands:
            if b.type not in self.band_types:
                return "ENODEV"
            if b.rate <= 0 or b.burst_size < 0:
                return "EINVAL"
        return None

    def set(self, provider_id: int, config: ConfigLike) -> str | None:
        """Add meter ``provider_id``, or replace it (buckets full, counters zero).  Returns None, or the error
        as an errno name (the module doc lists them) and then changes nothing."""
        error = self.check(provider_id, config)
        if error is None:
            self._meters[provider_id] = _Meter(config, _ms(self.clock()))
        return error

    def delete(self, provider_id: int) -> DpMeterStats | None:
        """Remove meter ``provider_id``; returns its last counters, or None if there was no such meter."""
        stats = self.stats(provider_id)
        self._meters.pop(provider_id, None)
        return stats

    def clear(self) -> None:
        """Remove every meter."""
        self._meters.clear()

    def stats(self, provider_id: int) -> DpMeterStats | None:
        """The counters of meter ``provider_id`` (None if there is no such meter)."""
        m = self._meters.get(provider_id)
        if m is None:
            return None
        return DpMeterStats(m.packet_count, m.byte_count, tuple((b.packet_count, b.byte_count) for b in m.bands))

    def run(self, provider_id: int, packet: bytearray, now: float | None = None) -> bool:
        """Run ``packet`` through meter ``provider_id`` at time ``now`` (seconds; default ``clock()``).  False
        means the packet is to be dropped; a ``dscp_remark`` band rewrites ``packet`` in place."""
        m = self._meters.get(provider_id)
        if m is None:
            return True
        now_ms = _ms(self.clock() if now is None else now)
        bands = m.bands
        if now_ms > m.used:
            delta = now_ms - m.used
            m.used = now_ms
            for b in bands:
                b.bucket = min(b.bucket + delta * b.rate, b.capacity)
        size = len(packet)
        m.packet_count += 1
        m.byte_count += size
        volume = 1000 if m.pktps else size * 8
        hit: _Band | None = None
        for b in bands:
            if b.bucket >= volume:
                b.bucket -= volume
            elif hit is None or b.rate > hit.rate:
                hit = b
        if hit is None:
            return True
        hit.packet_count += 1
        hit.byte_count += size
        if hit.type == BAND_DSCP_REMARK:
            dscp_remark(packet, hit.prec_level)
            return True
        return False


def _l3(p: bytearray) -> tuple[int, int]:
    """(Ethernet type behind up to two VLAN tags, offset of its header); (-1, 0) for a runt."""
    if len(p) < 14:
        return -1, 0
    t = (p[12] << 8) | p[13]
    o = 14
    for _ in range(2):
        if t not in (0x8100, 0x88A8) or len(p) < o + 4:
            break
        t = (p[o + 2] << 8) | p[o + 3]
        o += 4
    return t, o


def _raise_precedence(dscp: int, prec_level: int) -> int:
    drop = min(3, ((dscp >> 1) & 3) + prec_level)
    return (dscp & 0x39) | (drop << 1)


def dscp_remark(packet: bytearray, prec_level: int) -> bool:
    """Increase the drop precedence of ``packet``'s DSCP by ``prec_level`` (see the module doc), in place.
    Returns True if the packet is IPv4 or IPv6 and was handled (its DSCP may already have been at the highest
    drop precedence), False if it was left alone."""
    t, o = _l3(packet)
    p = packet
    if t == 0x0800:
        if len(p) - o < 20:
            return False
        ihl = (p[o] & 0xF) << 2
        tot = (p[o + 2] << 8) | p[o + 3]
        if ihl < 20 or tot < ihl or tot > len(p) - o:
            return False
        tos = p[o + 1]
        new = (_raise_precedence(tos >> 2, prec_level) << 2) | (tos & 3)
        if new != tos:
            csum = (p[o + 10] << 8) | p[o + 11]
            csum = csum_update16(csum, (p[o] << 8) | tos, (p[o] << 8) | new)
            p[o + 1] = new
            p[o + 10] = csum >> 8
            p[o + 11] = csum & 0xFF
        return True
    if t == 0x86DD:
        if len(p) - o < 40 or p[o] >> 4 != 6:
            return False
        tclass = ((p[o] & 0xF) << 4) | (p[o + 1] >> 4)
        new = (_raise_precedence(tclass >> 2, prec_level) << 2) | (tclass & 3)
        p[o] = (p[o] & 0xF0) | (new >> 4)
        p[o + 1] = ((new & 0xF) << 4) | (p[o + 1] & 0xF)
        return True
    return False
