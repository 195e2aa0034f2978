"""The MAC learning table of a bridge: which port a (VLAN, Ethernet address) pair was last seen on.

The NORMAL action forwards a frame to the port its destination was learned on and floods it otherwise; this module
is that table, built to behave as Open vSwitch's mac-learning module does (facts from ovs-vswitchd.conf.db(5),
ovs-vswitchd(8) ``fdb/*`` and a real ovs-vswitchd 3.1 whose ``fdb/show`` and ``fdb/stats-show`` transcripts are in
``tests/data/ofproto/mac_learning_*.txt``).

Parts:

``MacLearning``
    The table.  ``learn`` (with Open vSwitch's update rules), ``lookup``, ``expire`` (what ``mac_learning_run``
    does each main-loop iteration), ``flush``/``flush_port``/``flush_vlan``, ``set_config`` (``mac-aging-time``,
    ``mac-table-size``), ``set_flood_vlans``, static entries (``add_static``/``del_static``, ``fdb/add``/
    ``fdb/del``), counters (``stats``), and the text of ``fdb/show`` and ``fdb/stats-show``.
``MacEntry``
    One entry; the table owns it, callers read it.
``parse_vlan``, ``parse_mac``
    How ``fdb/add``/``fdb/del`` read their VLAN and MAC arguments, with Open vSwitch's error text.

Rules (as Open vSwitch's):

- Time is whole seconds: an entry learned at ``now`` expires when ``floor(now')`` reaches ``floor(now) +
  aging_time``, its age is the difference of the floors.  The clock is injected (``pyvswitch.util.clock``).
- A multicast or broadcast source is never learned and never found; a VLAN in ``set_flood_vlans`` neither.
- Learning a new (VLAN, MAC) counts ``learned``; learning it on another port updates the entry and counts
  ``moved``; learning it again on the same port refreshes it (age 0, most recently used) but only once its age
  is at least one second, so a burst of frames within a second changes nothing.
- Static entries never age, are not moved or refreshed by learning, survive ``flush``, and print ``static``.
  ``add_static`` on an existing entry turns it static on the given port (without counting a move).
- Entries are kept least recently used first: ``expire`` sweeps from that end and ``fdb/show`` prints in that
  order (a refresh moves an entry to the end).
- ``mac-aging-time`` is forced into 15..3600 s (default 300), ``mac-table-size`` into 10..1,000,000 (default
  8192).  A new aging time shifts every dynamic entry's expiry by the difference.  A smaller size takes effect at
  the next ``expire``, which removes least recently used dynamic entries (counted as ``expired``).
- When a new entry needs room in a full table, one entry is evicted (counted ``evicted``) "fairly": the least
  recently used entry of the port that has the most entries (static ones included).  Open vSwitch breaks ties
  between ports arbitrarily (the order of a heap); here the tie goes to the port that first got entries.
- Gratuitous ARP lock: an entry learned from a gratuitous ARP received on a non-bond port is locked for 5 s, and
  while locked, gratuitous ARPs received on bond ports refresh it but do not move it (they are probably that
  host's own ARPs reflected back by the physical switch over another bond member).  Open vSwitch consults the
  lock only for bond ports; so does this table (``learn(..., gratuitous_arp=True, bond=True)``).  Whether a
  frame is a gratuitous ARP, and dropping frames on SLB bonds whose source was learned elsewhere, is the NORMAL
  translation's business, not the table's.

Deliberate differences from Open vSwitch 3.1, where it is wrong:

- Changing the aging time also shifts static entries' expiry there, after which ``fdb/show`` prints a huge
  negative age for them and expiry stops behind them; here static entries stay static.
- Evicting a static entry (eviction counts them) does not decrease the "static entries" count there (read in
  its source, not observed); here the count stays exact.

``flush_port`` (a port deleted or reconfigured) removes static entries too, and ``flush_vlan`` only dynamic ones:
those two are this module's choices.  Note for callers: Open vSwitch learns on upcalls and when revalidators
push datapath flow statistics, so on the real switch a refresh can lag the frame that caused it; transcripts
recorded from it delete datapath flows before each frame to see learning happen at once.

Revalidation: instead of Open vSwitch's old per-entry tags, the table has a ``revision`` that increases whenever
the answer of ``lookup`` may change (an entry added, moved or removed; refreshes and counters do not count), and
``changed_since(revision)`` gives the (VLAN, MAC) keys changed since then, or ``None`` when they are no longer
remembered (the caller then revalidates everything).
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass

from pyvswitch.flow.values import format_mac
from pyvswitch.util.clock import SYSTEM_CLOCK, Clock

__all__ = [
    "DEFAULT_AGING_TIME",
    "DEFAULT_MAX_ENTRIES",
    "GRAT_ARP_LOCK_TIME",
    "MAX_AGING_TIME",
    "MAX_MAX_ENTRIES",
    "MIN_AGING_TIME",
    "MIN_MAX_ENTRIES",
    "FdbError",
    "MacEntry",
    "MacKey",
    "MacLearning",
    "MacLearningStats",
    "format_mac",
    "is_multicast",
    "normalize_aging_time",
    "normalize_max_entries",
    "parse_mac",
    "parse_vlan",
]

DEFAULT_AGING_TIME = 300
MIN_AGING_TIME = 15
MAX_AGING_TIME = 3600
DEFAULT_MAX_ENTRIES = 8192
MIN_MAX_ENTRIES = 10
MAX_MAX_ENTRIES = 1_000_000
GRAT_ARP_LOCK_TIME = 5
CHANGE_LOG_SIZE = 4096
"""How many (revision, key) changes ``changed_since`` remembers."""

MacKey = tuple[int, int]
"""(VLAN, MAC as a 48-bit integer)."""

MacLike = int | bytes | str


class FdbError(ValueError):
    """An ``fdb/*`` command failed; ``str()`` is Open vSwitch's reply text ("bad MAC address", ...)."""


def parse_mac(value: MacLike) -> int:
    """A MAC as a 48-bit integer from an int, 6 bytes, or ``xx:xx:xx:xx:xx:xx`` text (FdbError "bad MAC
    address" otherwise, as ``fdb/add`` answers)."""
    if isinstance(value, int):
        if not 0 <= value < 1 << 48:
            raise FdbError("bad MAC address")
        return value
    if isinstance(value, bytes):
        if len(value) != 6:
            raise FdbError("bad MAC address")
        return int.from_bytes(value, "big")
    parts = value.split(":")
    if len(parts) != 6 or not all(1 <= len(p) <= 2 and all(c in "0123456789abcdefABCDEF" for c in p)
                                  for p in parts):
        raise FdbError("bad MAC address")
    return int("".join(p.rjust(2, "0") for p in parts), 16)


def is_multicast(mac: int) -> bool:
    """True for group (multicast and broadcast) addresses: the low bit of the first octet."""
    return bool(mac >> 40 & 1)


def parse_vlan(text: str) -> int:
    """The VLAN argument of ``fdb/add``/``fdb/del`` as Open vSwitch reads it: C ``atoi`` (leading digits after
    an optional sign, 0 if none) stored in 16 bits, so "abc" is 0, "-1" is 65535 and 4096 is not refused."""
    s = text.lstrip(" \t\n\r\f\v")
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    digits = ""
    for c in s:
        if not c.isdigit() or not c.isascii():
            break
        digits += c
    return (sign * int(digits or "0")) & 0xFFFF


def normalize_aging_time(seconds: int) -> int:
    """``other_config:mac-aging-time`` forced into 15..3600 (ovs-vswitchd.conf.db(5))."""
    return min(max(int(seconds), MIN_AGING_TIME), MAX_AGING_TIME)


def normalize_max_entries(n: int) -> int:
    """``other_config:mac-table-size`` forced into 10..1,000,000 (ovs-vswitchd.conf.db(5))."""
    return min(max(int(n), MIN_MAX_ENTRIES), MAX_MAX_ENTRIES)


@dataclass(slots=True, eq=False)
class MacEntry:
    """One learned (or static) entry.  ``expires`` is the whole second at which a dynamic entry expires (None for
    a static entry); ``grat_arp_lock`` the whole second until which it is locked against bond gratuitous ARPs."""

    vlan: int
    mac: int
    port: Hashable
    expires: int | None
    grat_arp_lock: int = -(1 << 62)

    @property
    def key(self) -> MacKey:
        return (self.vlan, self.mac)

    @property
    def is_static(self) -> bool:
        return self.expires is None


@dataclass(slots=True)
class MacLearningStats:
    """The totals of ``fdb/stats-show`` (``fdb/stats-clear`` zeroes them)."""

    learned: int = 0
    expired: int = 0
    evicted: int = 0
    moved: int = 0


def _secs(now: float) -> int:
    return math.floor(now)


class MacLearning:
    """A MAC learning table (Open vSwitch's ``struct mac_learning``); see the module documentation for the rules.

    Ports are opaque hashable values chosen by the caller (bundle objects, port numbers); the table compares and
    hashes them and never looks inside.  Methods that depend on time take ``now`` (seconds, from the injected
    ``clock`` when omitted)."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK, aging_time: int = DEFAULT_AGING_TIME,
                 max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.clock = clock
        self.aging_time = normalize_aging_time(aging_time)
        self.max_entries = normalize_max_entries(max_entries)
        self.stats = MacLearningStats()
        self.flood_vlans: frozenset[int] = frozenset()
        # All entries, least recently used first.
        self._lru: OrderedDict[MacKey, MacEntry] = OrderedDict()
        # Each port's entries, least recently used first; a port is here only while it has entries, in the order
        # in which ports got their first entry (the eviction tie-break).
        self._ports: dict[Hashable, OrderedDict[MacKey, None]] = {}
        self._n_static = 0
        self.revision = 0
        self._changes: deque[tuple[int, MacKey]] = deque(maxlen=CHANGE_LOG_SIZE)
        self._changes_floor = 0         # Changes up to this revision are not all in _changes.

    # ----- reading -----

    def __len__(self) -> int:
        return len(self._lru)

    def __iter__(self) -> Iterator[MacEntry]:
        """The entries, least recently used first (the order of ``fdb/show``)."""
        return iter(list(self._lru.values()))

    def __contains__(self, key: object) -> bool:
        return key in self._lru

    @property
    def n_static(self) -> int:
        return self._n_static

    def get(self, vlan: int, mac: MacLike) -> MacEntry | None:
        """The entry for (``vlan``, ``mac``), whatever the address (unlike ``lookup``)."""
        return self._lru.get((vlan, parse_mac(mac)))

    def lookup(self, vlan: int, mac: MacLike) -> Hashable | None:
        """The port ``mac`` was learned on in ``vlan``, or None: always None for a multicast address and for a
        VLAN that floods."""
        m = parse_mac(mac)
        if is_multicast(m) or vlan in self.flood_vlans:
            return None
        e = self._lru.get((vlan, m))
        return None if e is None else e.port

    def age(self, entry: MacEntry, now: float | None = None) -> int | None:
        """Whole seconds since ``entry`` was learned or refreshed; None for a static entry."""
        if entry.expires is None:
            return None
        t = _secs(self.clock.now() if now is None else now)
        return self.aging_time - (entry.expires - t)

    def is_grat_arp_locked(self, entry: MacEntry, now: float | None = None) -> bool:
        """True while a gratuitous ARP received on a non-bond port less than 5 s ago holds ``entry``.  NORMAL
        needs it for SLB bonds, which drop a frame whose source was learned on another port unless it is a
        gratuitous ARP and the entry is not locked (so in Open vSwitch a locked entry is not even refreshed)."""
        return _secs(self.clock.now() if now is None else now) < entry.grat_arp_lock

    def may_learn(self, vlan: int, mac: MacLike) -> bool:
        return not is_multicast(parse_mac(mac)) and vlan not in self.flood_vlans

    # ----- learning -----

    def learn(self, vlan: int, mac: MacLike, port: Hashable, now: float | None = None, *,
              gratuitous_arp: bool = False, bond: bool = False) -> bool:
        """Learn that a frame from ``mac`` arrived on ``port`` in ``vlan``; True if the entry's port changed (a new
        entry or a move), which is when NORMAL's earlier decisions may be wrong.

        ``gratuitous_arp`` says the frame was a gratuitous ARP and ``bond`` that ``port`` is a bond: see the
        module documentation for the lock they drive."""
        if port is None:
            return False
        m = parse_mac(mac)
        if is_multicast(m) or vlan in self.flood_vlans:
            return False
        t = _secs(self.clock.now() if now is None else now)
        key = (vlan, m)
        e = self._lru.get(key)
        if e is not None:
            # The cheap checks first: most frames confirm what the table already knows.
            if e.expires is None:
                return False
            age = self.aging_time - (e.expires - t)
            # An entry younger than a second is left alone unless the frame moves it, or is a gratuitous ARP from
            # a non-bond port (which sets the lock below); a locked entry ignores bond gratuitous ARPs.
            sets_lock = gratuitous_arp and not bond
            if age <= 0 and not sets_lock and ((gratuitous_arp and t < e.grat_arp_lock) or e.port == port):
                return False
        e = self._insert(key, t, static=False)
        if gratuitous_arp:
            if not bond:
                e.grat_arp_lock = t + GRAT_ARP_LOCK_TIME
            elif t < e.grat_arp_lock:
                return False
        if e.port != port:
            if e.port is not None:
                self.stats.moved += 1
            self._set_port(e, port)
            return True
        return False

    def _insert(self, key: MacKey, t: int, static: bool) -> MacEntry:
        """Find or create the entry for ``key`` and make it the most recently used (its port stays None when it is
        new: the caller sets it)."""
        e = self._lru.get(key)
        if e is None:
            if len(self._lru) >= self.max_entries:
                self._evict_fairly()
            e = MacEntry(key[0], key[1], None, t)
            self._lru[key] = e
            if not static:
                self.stats.learned += 1
        else:
            self._lru.move_to_end(key)
            if e.port is not None:
                self._ports[e.port].move_to_end(key)
        if static:
            if e.expires is not None:
                self._n_static += 1
            e.expires = None
        else:
            e.expires = t + self.aging_time
        return e

    def _set_port(self, e: MacEntry, port: Hashable | None) -> None:
        if e.port == port:
            return
        key = e.key
        if e.port is not None:
            entries = self._ports[e.port]
            del entries[key]
            if not entries:
                del self._ports[e.port]
        if port is not None:
            self._ports.setdefault(port, OrderedDict())[key] = None
        e.port = port
        self._changed(key)

    def _changed(self, key: MacKey) -> None:
        self.revision += 1
        self._changes.append((self.revision, key))

    def _remove(self, e: MacEntry) -> None:
        self._set_port(e, None)
        del self._lru[e.key]
        if e.expires is None:
            self._n_static -= 1

    def _evict_fairly(self) -> None:
        entries = max(self._ports.values(), key=len)
        key = next(iter(entries))
        self.stats.evicted += 1
        self._remove(self._lru[key])

    # ----- expiry and flushing -----

    def expire(self, now: float | None = None) -> list[MacKey]:
        """Remove what has aged out, and the least recently used dynamic entries while the table holds more than
        ``max_entries`` (after ``set_config`` lowered it); both count as ``expired``.  Returns the removed keys.
        Open vSwitch does this on every iteration of its main loop."""
        t = _secs(self.clock.now() if now is None else now)
        removed: list[MacKey] = []
        for e in list(self._lru.values()):
            if e.expires is None:
                continue
            if len(self._lru) <= self.max_entries and t < e.expires:
                break
            self.stats.expired += 1
            removed.append(e.key)
            self._remove(e)
        return removed

    def next_expiry(self) -> int | None:
        """The whole second at which ``expire`` next has work (None if no dynamic entry), for a poll timer."""
        for e in self._lru.values():
            if e.expires is not None:
                return e.expires
        return None

    def _remove_where(self, pred: Callable[[MacEntry], bool]) -> list[MacKey]:
        gone = [e for e in self._lru.values() if pred(e)]
        for e in gone:
            self._remove(e)
        return [e.key for e in gone]

    def flush(self) -> list[MacKey]:
        """Remove every dynamic entry (``fdb/flush``); static entries stay and nothing is counted."""
        return self._remove_where(lambda e: e.expires is not None)

    def flush_port(self, port: Hashable) -> list[MacKey]:
        """Remove every entry on ``port``, static ones too (the port is going away or changed VLANs)."""
        keys = list(self._ports.get(port, ()))
        for key in keys:
            self._remove(self._lru[key])
        return keys

    def flush_vlan(self, vlan: int) -> list[MacKey]:
        """Remove every dynamic entry in ``vlan``."""
        return self._remove_where(lambda e: e.vlan == vlan and e.expires is not None)

    # ----- configuration -----

    def set_config(self, aging_time: int | None = None, max_entries: int | None = None) -> None:
        """Apply ``other_config:mac-aging-time`` and ``mac-table-size`` (None: unchanged; both are forced into
        their ranges).  A new aging time moves every dynamic entry's expiry by the difference, so ages stay."""
        if aging_time is not None:
            new = normalize_aging_time(aging_time)
            delta = new - self.aging_time
            if delta:
                for e in self._lru.values():
                    if e.expires is not None:
                        e.expires += delta
                self.aging_time = new
        if max_entries is not None:
            self.max_entries = normalize_max_entries(max_entries)

    def set_flood_vlans(self, vlans: Iterable[int]) -> bool:
        """VLANs on which nothing is learned or found (Mirror ``output_vlan``); True if the set changed."""
        new = frozenset(vlans)
        if new == self.flood_vlans:
            return False
        self.flood_vlans = new
        self.revision += 1
        self._changes.clear()           # Every key in those VLANs changes: callers must revalidate all.
        self._changes_floor = self.revision
        return True

    def clear_stats(self) -> None:
        """``fdb/stats-clear``."""
        self.stats = MacLearningStats()

    # ----- static entries -----

    def add_static(self, vlan: int, mac: MacLike, port: Hashable) -> MacEntry | None:
        """Make (``vlan``, ``mac``) a static entry on ``port`` (``fdb/add``; any address and VLAN number are
        accepted, as there).  Returns a copy of the entry it replaced, or None if there was none."""
        if port is None:
            raise ValueError("a static entry needs a port")
        key = (vlan & 0xFFFF, parse_mac(mac))
        old = self._lru.get(key)
        before = None if old is None else MacEntry(old.vlan, old.mac, old.port, old.expires, old.grat_arp_lock)
        e = self._insert(key, 0, static=True)
        self._set_port(e, port)
        return before

    def del_static(self, vlan: int, mac: MacLike) -> bool:
        """Remove the static entry (``vlan``, ``mac``) (``fdb/del``); False if there is none.  As in Open vSwitch
        it is looked up like a destination, so a static entry for a multicast address cannot be deleted."""
        m = parse_mac(mac)
        if is_multicast(m) or vlan in self.flood_vlans:
            return False
        e = self._lru.get((vlan & 0xFFFF, m))
        if e is None or e.expires is not None:
            return False
        self._remove(e)
        return True

    # ----- revalidation -----

    def changed_since(self, revision: int) -> set[MacKey] | None:
        """The keys whose entry was added, moved or removed after ``revision``, or None if that is too long ago
        to know (then anything may have changed)."""
        if revision >= self.revision:
            return set()
        oldest = self._changes[0][0] if self._changes else self.revision + 1
        floor = max(self._changes_floor, oldest - 1)
        if revision < floor:
            return None
        out: set[MacKey] = set()
        for rev, key in reversed(self._changes):     # Newest first: only the changes after ``revision``.
            if rev <= revision:
                break
            out.add(key)
        return out

    # ----- text -----

    def format_fdb_show(self, now: float | None = None,
                        port_label: Callable[[Hashable], str] = str) -> str:
        """What ``ovs-appctl fdb/show BRIDGE`` prints: a header, then one line per entry, least recently used
        first.  ``port_label`` names a port as Open vSwitch does (its OpenFlow port number, ``LOCAL``)."""
        t = _secs(self.clock.now() if now is None else now)
        lines = [" port  VLAN  MAC                Age"]
        for e in self._lru.values():
            age = "static" if e.expires is None else f"{self.aging_time - (e.expires - t):3d}"
            lines.append(f"{port_label(e.port):>5}  {e.vlan:4d}  {format_mac(e.mac)}  {age}")
        return "\n".join(lines) + "\n"

    def format_stats_show(self, bridge: str) -> str:
        """What ``ovs-appctl fdb/stats-show BRIDGE`` prints."""
        s = self.stats
        return (f'Statistics for bridge "{bridge}":\n'
                f"  Current/maximum MAC entries in the table: {len(self._lru)}/{self.max_entries}\n"
                f"  Current static MAC entries in the table : {self._n_static}\n"
                f"  Total number of learned MAC entries     : {s.learned}\n"
                f"  Total number of expired MAC entries     : {s.expired}\n"
                f"  Total number of evicted MAC entries     : {s.evicted}\n"
                f"  Total number of port moved MAC entries  : {s.moved}\n")

    @staticmethod
    def format_add_reply(replaced: MacEntry | None, port_label: Callable[[Hashable], str] = str) -> str:
        """The reply of ``fdb/add`` given what ``add_static`` returned: empty, or "Overriding already existing
        dynamic entry on 1"."""
        if replaced is None:
            return ""
        kind = "static" if replaced.is_static else "dynamic"
        return f"Overriding already existing {kind} entry on {port_label(replaced.port)}\n"
