"""The userspace datapath's flow caches: an exact-match cache in front of a megaflow cache.

This module is the part of the userspace datapath (Open vSwitch's ``dpif-netdev``) that answers "which
megaflow does this packet belong to?".  It knows nothing of OpenFlow, ports or actions: a megaflow's actions
are an opaque object handed in by whoever installs it (ofproto's upcall handler) and handed back on a hit.

Classes
-------
``Megaflow``
    One datapath flow: a masked key, its mask, the actions, a 128-bit UFID, statistics and a ``dead`` flag.
``MegaflowCache``
    Open vSwitch's ``dpcls``: tuple space search with one dict per distinct mask ("subtable"), keyed by
    ``key & mask``.  A lookup masks the packet's key with each subtable's mask in turn and stops at the first
    dict hit.  Subtables are probed in order of how many hits they had recently, so that the masks most
    traffic uses cost one probe.
``ExactMatchCache``
    Open vSwitch's EMC: a bounded dict from the *full* packet key to the megaflow it hit last time, tried
    before any subtable.  One dict probe instead of several, for the flows that carry most packets.
``FlowCaches``
    Both together, with the counters ``ovs-appctl dpif-netdev/pmd-stats-show`` prints.

How the datapath uses them
--------------------------
Per packet batch: ``FlowCaches.lookup_batch(keys)`` (or ``lookup(key)`` per packet) gives a megaflow or
``None``.  ``None`` is a miss: the datapath makes an upcall (ofproto translates the key, returning actions and
the consulted wildcards) and calls ``FlowCaches.install(key, mask, actions)``, which returns ``None`` when the
flow limit refuses the flow; that upcall then counts as "lost" ("miss with failed upcall").  After executing
the actions the datapath calls ``record(flow, packets, bytes, tcp_flags, now)``.  Once a second or so the
revalidator calls ``sweep(now, max_idle)`` to expire idle flows (``other_config:max-idle``, 10 s by default).

Megaflows must not overlap
--------------------------
Translation produces megaflows that never overlap on a packet the datapath could see: a packet that misses
every installed megaflow gets a new one that covers the packet, and the new one cannot cover a packet that an
existing one covers, or that packet would have hit.  The cache therefore does not check overlap (Open vSwitch's
dpcls does not either); it returns the first matching megaflow in subtable order, and if two megaflows did
overlap, which one wins would depend on the ranking.  The only duplicate refused is an identical
(masked key, mask): ``insert`` then returns the existing flow, which is what two handler threads racing to
install the same upcall's flow need.

Ranking
-------
Open vSwitch re-sorts each PMD thread's subtable vector by the hits of the last interval about once a second.
Here ranking is *count-based*: every ``rank_interval`` lookups (65536 by default) the subtables are sorted by
hits since the previous ranking, most first (ties keep their order), and ``rank()`` may be called at any time
(for example from the datapath's one-second timer).  Counting lookups instead of reading a clock keeps
``time`` out of the hot path and makes the order deterministic in tests.  Ranking never changes results when
megaflows do not overlap: it only changes how many probes a lookup needs.

Statistics
----------
Each subtable counts its hits in the hot path (one ``+= 1`` on a hit).  The probes (subtable lookups) are not
counted per lookup: between two changes of the subtable order every lookup probes subtables in the same
order until it hits, so a subtable at position ``i`` was probed by every lookup of the interval minus the
hits of the subtables before it.  The cache settles these sums whenever the order changes (a new or removed
mask, a re-ranking) and when statistics are read.  That yields, exactly and for free in the hot path:
``n_hit``, ``n_missed``, the probes of lookups that hit (``avg. subtable lookups per megaflow hit``) and all
probes (``masks: hit:N`` of ``ovs-dpctl show``, which counts the masks tried by every lookup).

UFIDs
-----
Every megaflow has a 128-bit unique flow id, printed as a UUID (``ufid:5cba8464-c49c-4965-b9ed-...``).
Open vSwitch derives it by hashing the upcall's flow key with a per-process random secret and then setting the
UUID version-4 bits.  ``flow_ufid`` does the same from the masked key and the mask (BLAKE2b keyed with a
per-process secret, truncated to 128 bits, version and variant bits set), so a UFID is stable for a
(key, mask) within a process and unpredictable across processes.  A caller that wants Open vSwitch's exact
choice passes ``ufid=flow_ufid(packet_key, 0)``, or any UFID it got from a controller (``dpctl/add-flow``).

Performance
-----------
The hot path allocates nothing but the masked key of each probe (``key & mask``, an unavoidable int): the probe
order is a tuple of (mask, dict, subtable) triples unpacked in the loop, counters are plain attribute
increments, and the statistics that would cost per-probe work are derived later (see Statistics).  Measured
with ``bench/flow_cache.py`` on CPython 3.11: an EMC hit costs one dict probe (about 10M lookups/s, 12M/s in
batches); a megaflow lookup costs one ``key & mask`` plus one dict probe per subtable tried, about 6M/s with
one mask and 300k/s with 100 masks under uniform traffic (50 probes per lookup).  Profiling showed that at
many masks the time is all in those probes, so what helps is fewer probes (the EMC, and ranking when traffic
is skewed), not a cheaper loop.  ``lookup_batch`` probes the first subtable for the whole batch in C and the
rest per key (see its docstring for why not every subtable batch-wise).

Time
----
Times are seconds as floats from whatever clock the caller uses (STYLE.md item 9, inject the clock); the
cache never reads a clock.  ``used == 0.0`` means never used, as in Open vSwitch.
"""

from __future__ import annotations

import hashlib
import operator
import random
import secrets
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = [
    "DEFAULT_EMC_INSERT_INV_PROB",
    "DEFAULT_EMC_SIZE",
    "DEFAULT_FLOW_LIMIT",
    "DEFAULT_MAX_IDLE",
    "DEFAULT_RANK_INTERVAL",
    "ExactMatchCache",
    "FlowCaches",
    "Megaflow",
    "MegaflowCache",
    "Subtable",
    "flow_ufid",
    "format_tcp_flags",
    "format_ufid",
]

DEFAULT_FLOW_LIMIT = 200000          # other_config:flow-limit
DEFAULT_MAX_IDLE = 10.0              # other_config:max-idle, in seconds (Open vSwitch: 10000 ms)
DEFAULT_EMC_SIZE = 8192              # Open vSwitch's EM_FLOW_HASH_ENTRIES (1 << 13)
DEFAULT_EMC_INSERT_INV_PROB = 100    # other_config:emc-insert-inv-prob: insert 1 megaflow hit in 100
DEFAULT_RANK_INTERVAL = 65536        # lookups between two re-rankings of the subtables

_UFID_SECRET = secrets.token_bytes(16)
_U64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15         # Fibonacci hashing multiplier: spreads Python's int hash over 64 bits.
_dead = operator.attrgetter("dead")


def flow_ufid(key: int, mask: int) -> int:
    """A 128-bit UFID for the megaflow ``(key & mask, mask)``: keyed BLAKE2b, UUID version 4 bits set."""
    key &= mask
    data = b"%x/%x" % (key, mask)
    h = int.from_bytes(hashlib.blake2b(data, digest_size=16, key=_UFID_SECRET).digest(), "big")
    # Version 4 in bits 76..79 and the RFC 4122 variant (0b10) in bits 62..63, as uuid.UUID(version=4) sets.
    return (h & ~(0xF << 76) & ~(0x3 << 62)) | (0x4 << 76) | (0x2 << 62)


def format_ufid(ufid: int) -> str:
    """``ufid`` as ``ovs-appctl dpctl/dump-flows`` prints it after ``ufid:``."""
    return str(uuid.UUID(int=ufid))


# TCP flag bits and their letters, in the order tcpdump (and Open vSwitch's flow dumps) print them.
_TCP_FLAG_LETTERS = ((0x002, "S"), (0x001, "F"), (0x008, "P"), (0x004, "R"), (0x020, "U"), (0x010, "."),
                     (0x040, "E"), (0x080, "C"), (0x100, "N"), (0x200, "[200]"), (0x400, "[400]"),
                     (0x800, "[800]"))


def format_tcp_flags(flags: int) -> str:
    """The 12 TCP flag bits as datapath flow dumps print them after ``flags:`` (``"S."``, ``"none"``)."""
    if not flags:
        return "none"
    return "".join(text for bit, text in _TCP_FLAG_LETTERS if flags & bit)


class Megaflow:
    """One datapath flow.

    ``key`` is already masked (``key & mask == key``); ``actions`` is opaque to the cache.  The statistics
    (``packets``, ``bytes``, ``used``, ``tcp_flags`` OR-ed over all packets) are updated by
    ``MegaflowCache.record``; ``created`` is the ``now`` given at insertion.  ``orig_key`` is the full,
    unmasked key of the packet (or request) that created the flow, which ``dpctl/dump-flows`` prints under the
    mask (it defaults to ``key``).  ``dead`` becomes true when the flow is removed: an exact-match cache entry
    that still points at it is then a miss, which is how removal reaches the EMC without searching it.  The
    object is hashable by identity.
    """

    __slots__ = ("actions", "bytes", "created", "dead", "key", "mask", "orig_key", "packets", "subtable",
                 "tcp_flags", "ufid", "used")

    def __init__(self, key: int, mask: int, actions: Any, ufid: int, created: float = 0.0,
                 orig_key: int | None = None) -> None:
        self.key = key
        self.mask = mask
        self.orig_key = key if orig_key is None else orig_key
        self.actions = actions
        self.ufid = ufid
        self.created = created
        self.packets = 0
        self.bytes = 0
        self.used = 0.0
        self.tcp_flags = 0
        self.dead = False
        self.subtable: Subtable | None = None

    def matches(self, key: int) -> bool:
        """Whether a packet with flow key ``key`` belongs to this megaflow."""
        return key & self.mask == self.key

    def format_stats(self, now: float) -> str:
        """``packets:N, bytes:N, used:X.XXXs[, flags:F]`` as datapath flow dumps print the statistics."""
        used = f"{max(0.0, now - self.used):.3f}s" if self.used else "never"
        text = f"packets:{self.packets}, bytes:{self.bytes}, used:{used}"
        if self.tcp_flags:
            text += f", flags:{format_tcp_flags(self.tcp_flags)}"
        return text

    def __repr__(self) -> str:
        state = ", dead" if self.dead else ""
        return (f"Megaflow(ufid:{format_ufid(self.ufid)}, key=0x{self.key:x}, mask=0x{self.mask:x}, "
                f"actions={self.actions!r}, packets:{self.packets}, bytes:{self.bytes}{state})")


class Subtable:
    """The megaflows of one mask: a dict from masked key to megaflow, with its hit statistics.

    ``hits`` counts lookups that hit here (incremented in the hot path).  ``probes`` counts lookups that
    probed this subtable, and ``hit_probes`` the probes of lookups that went on to hit (here or later); both
    are settled from ``hits`` when the owning cache flushes (see the module docstring).
    """

    __slots__ = ("_hits_at_flush", "_hits_at_rank", "flows", "hits", "mask", "probes")

    def __init__(self, mask: int) -> None:
        self.mask = mask
        self.flows: dict[int, Megaflow] = {}
        self.hits = 0
        self.probes = 0
        self._hits_at_flush = 0
        self._hits_at_rank = 0

    @property
    def misses(self) -> int:
        """Lookups that probed this subtable and did not find a flow in it."""
        return self.probes - self.hits

    def __len__(self) -> int:
        return len(self.flows)

    def __repr__(self) -> str:
        return f"Subtable(mask=0x{self.mask:x}, flows={len(self.flows)}, hits={self.hits})"


class MegaflowCache:
    """Tuple space search over megaflows (Open vSwitch's ``dpcls``), ranked by hits.

    ``flow_limit`` (``other_config:flow-limit``) bounds the number of flows: ``insert`` returns ``None``
    beyond it.  ``rank_interval`` is the number of lookups between two automatic re-rankings (0 disables
    them; ``rank()`` still works).  A new ``rank_interval`` takes effect at the next ranking.
    """

    def __init__(self, flow_limit: int = DEFAULT_FLOW_LIMIT, rank_interval: int = DEFAULT_RANK_INTERVAL) -> None:
        self.flow_limit = flow_limit
        self.rank_interval = rank_interval
        self._subtables: dict[int, Subtable] = {}           # mask -> subtable, in creation order
        # The probe order: (mask, flows dict, subtable) triples, so that the hot loop unpacks a tuple and
        # touches no attribute until it hits.
        self._order: tuple[tuple[int, dict[int, Megaflow], Subtable], ...] = ()
        self._rest: tuple[tuple[int, dict[int, Megaflow], Subtable], ...] = ()     # all but the first
        self._by_ufid: dict[int, Megaflow] = {}
        self._n_lookups = 0
        self._next_rank = rank_interval if rank_interval > 0 else -1
        self._lookups_at_flush = 0
        # Settled totals, including those of subtables since removed.
        self._hits = 0
        self._hit_probes = 0
        self._probes = 0

    # -- The hot path --------------------------------------------------------------------------------

    def lookup(self, key: int) -> Megaflow | None:
        """The megaflow whose ``key & mask`` equals the masked ``key``, or ``None``.  Counts the lookup."""
        if self._n_lookups == self._next_rank:
            self.rank()
        self._n_lookups += 1
        for mask, flows, st in self._order:
            flow = flows.get(key & mask)
            if flow is not None:
                st.hits += 1
                return flow
        return None

    def lookup_batch(self, keys: Sequence[int]) -> list[Megaflow | None]:
        """``[self.lookup(k) for k in keys]``, the first subtable probed for the whole batch at once.

        The first subtable (the most hit one, once ranked) is probed for every key by two ``map`` calls that
        run in C; the keys it misses, found by ``list.index`` (also C), then go through the remaining
        subtables one key at a time as in ``lookup``.  Probing *every* subtable batch-wise, as Open vSwitch's
        dpcls does, was measured slower in CPython: each pass builds several lists, which costs more than it
        saves unless a subtable catches most of the keys still missing.  Results and hit counts are those of
        the equivalent ``lookup`` calls; an automatic re-ranking due during the batch happens after it.
        """
        n = len(keys)
        order = self._order
        self._n_lookups += n
        if not order:
            result: list[Megaflow | None] = [None] * n
        else:
            mask, flows, st = order[0]
            result = list(map(flows.get, map(mask.__and__, keys)))
            n_miss = result.count(None)
            st.hits += n - n_miss
            rest = self._rest
            if n_miss and rest:
                i = -1
                for _ in range(n_miss):
                    i = result.index(None, i + 1)
                    key = keys[i]
                    for mask, flows, st in rest:
                        flow = flows.get(key & mask)
                        if flow is not None:
                            st.hits += 1
                            result[i] = flow
                            break
        if self._next_rank > 0 and self._n_lookups >= self._next_rank:
            self.rank()
        return result

    # -- Changes -------------------------------------------------------------------------------------

    def insert(self, key: int, mask: int, actions: Any, ufid: int | None = None,
               now: float = 0.0) -> Megaflow | None:
        """Install the megaflow ``(key & mask, mask) -> actions``, or return ``None`` at the flow limit.

        An identical (masked key, mask) already installed is returned instead of a new flow (its actions are
        left alone).  ``ufid`` defaults to ``flow_ufid(key, mask)``; a UFID already used by a different flow
        raises ``ValueError``.  The unmasked ``key`` is kept as the flow's ``orig_key``.
        """
        orig_key = key
        key &= mask
        st = self._subtables.get(mask)
        if st is not None:
            existing = st.flows.get(key)
            if existing is not None:
                return existing
        if len(self._by_ufid) >= self.flow_limit:
            return None
        if ufid is None:
            ufid = flow_ufid(key, mask)
        if ufid in self._by_ufid:
            raise ValueError(f"ufid {format_ufid(ufid)} is already used by another megaflow")
        flow = Megaflow(key, mask, actions, ufid, now, orig_key)
        if st is None:
            self._flush()
            st = self._subtables[mask] = Subtable(mask)
            self._set_order(self._order + ((mask, st.flows, st),))
        st.flows[key] = flow
        flow.subtable = st
        self._by_ufid[ufid] = flow
        return flow

    def remove(self, flow: Megaflow) -> bool:
        """Remove ``flow`` and mark it dead; False if it was not in this cache.  Empty subtables go away."""
        st = flow.subtable
        if st is None or self._subtables.get(st.mask) is not st or st.flows.get(flow.key) is not flow:
            return False
        del st.flows[flow.key]
        del self._by_ufid[flow.ufid]
        flow.dead = True
        flow.subtable = None
        if not st.flows:
            self._flush()
            del self._subtables[st.mask]
            self._set_order(tuple(entry for entry in self._order if entry[2] is not st))
        return True

    def flush(self) -> list[Megaflow]:
        """Remove every megaflow (``dpctl/del-flows``); returns them, all marked dead."""
        flows = list(self)
        for flow in flows:
            self.remove(flow)
        return flows

    def get(self, ufid: int) -> Megaflow | None:
        """The megaflow with this UFID (``dpctl/get-flow ufid:...``), or ``None``."""
        return self._by_ufid.get(ufid)

    def find_key(self, key: int) -> Megaflow | None:
        """What :meth:`lookup` answers, without counting the lookup."""
        for mask, flows, _ in self._order:
            flow = flows.get(key & mask)
            if flow is not None:
                return flow
        return None

    def find(self, key: int, mask: int) -> Megaflow | None:
        """The megaflow installed with exactly this (masked key, mask), or ``None``.  Not counted."""
        st = self._subtables.get(mask)
        return None if st is None else st.flows.get(key & mask)

    @staticmethod
    def record(flow: Megaflow, packets: int, n_bytes: int, tcp_flags: int, now: float) -> None:
        """Account ``packets`` packets of ``n_bytes`` bytes to ``flow`` at time ``now``."""
        flow.packets += packets
        flow.bytes += n_bytes
        flow.tcp_flags |= tcp_flags
        flow.used = now

    def sweep(self, now: float, max_idle: float = DEFAULT_MAX_IDLE) -> list[Megaflow]:
        """Remove and return the flows idle for longer than ``max_idle`` seconds.

        A flow's idle time runs from its last use, or from its creation if it was never used.
        """
        expired = [f for f in self._by_ufid.values() if now - (f.used or f.created) > max_idle]
        for flow in expired:
            self.remove(flow)
        return expired

    # -- Ranking and statistics ----------------------------------------------------------------------

    def rank(self) -> None:
        """Re-sort the subtables by hits since the previous ranking, most first (stable on ties)."""
        self._flush()
        ranked = sorted(self._order, key=lambda entry: entry[2]._hits_at_rank - entry[2].hits)
        for _, _, st in ranked:
            st._hits_at_rank = st.hits
        self._set_order(tuple(ranked))
        if self.rank_interval > 0:
            self._next_rank = self._n_lookups + self.rank_interval
        else:
            self._next_rank = -1

    def _set_order(self, order: tuple[tuple[int, dict[int, Megaflow], Subtable], ...]) -> None:
        self._order = order
        self._rest = order[1:]

    def _flush(self) -> None:
        """Settle probe counts for the lookups since the last flush (the order has not changed since)."""
        remaining = self._n_lookups - self._lookups_at_flush
        if not remaining:
            return
        self._lookups_at_flush = self._n_lookups
        for pos, (_, _, st) in enumerate(self._order, 1):
            hits = st.hits - st._hits_at_flush
            st._hits_at_flush = st.hits
            st.probes += remaining
            self._hits += hits
            self._hit_probes += hits * pos
            self._probes += remaining
            remaining -= hits
        # ``remaining`` are now the misses of the interval: they probed every subtable, counted above.

    @property
    def n_lookups(self) -> int:
        return self._n_lookups

    @property
    def n_hit(self) -> int:
        """Lookups that found a megaflow."""
        self._flush()
        return self._hits

    @property
    def n_missed(self) -> int:
        """Lookups that found none."""
        return self._n_lookups - self.n_hit

    @property
    def n_mask_hit(self) -> int:
        """Subtable probes by all lookups (the kernel datapath's ``n_mask_hit``)."""
        self._flush()
        return self._probes

    @property
    def n_hit_probes(self) -> int:
        """Subtable probes by the lookups that hit (Open vSwitch's masked lookups of a PMD thread)."""
        self._flush()
        return self._hit_probes

    @property
    def n_masks(self) -> int:
        return len(self._subtables)

    def subtables(self) -> list[Subtable]:
        """The subtables in probe order, with settled statistics."""
        self._flush()
        return [st for _, _, st in self._order]

    def masks_line(self, n_packets: int | None = None) -> str:
        """``masks: hit:N total:M hit/pkt:X.XX`` as ``ovs-dpctl show`` prints it (without indentation).

        ``n_packets`` is the packet count to divide by (the datapath's hits plus misses); by default the
        lookups of this cache.
        """
        probes = self.n_mask_hit
        pkts = self._n_lookups if n_packets is None else n_packets
        avg = probes / pkts if pkts else 0.0
        return f"masks: hit:{probes} total:{self.n_masks} hit/pkt:{avg:.2f}"

    def __len__(self) -> int:
        return len(self._by_ufid)

    def __iter__(self) -> Iterator[Megaflow]:
        """The megaflows in insertion order (a snapshot: the cache may change while iterating)."""
        return iter(list(self._by_ufid.values()))

    def __contains__(self, flow: object) -> bool:
        return isinstance(flow, Megaflow) and self._by_ufid.get(flow.ufid) is flow


class ExactMatchCache:
    """A bounded map from full flow keys to megaflows (Open vSwitch's EMC).

    The entries live in one dict, so a lookup is one C-level probe.  Its bound is enforced as in Open
    vSwitch's EMC, by *slots*: a key may occupy one of two slots picked from its hash, and inserting it
    evicts the current occupant of one of them (an empty slot or one whose flow is dead first, else the one
    whose key hashes lower, a cheap pseudo-random choice).  ``size`` (a power of two) is the number of slots.
    A cached megaflow that has been removed (``dead``) reads as a miss; ``clear()`` empties the cache.
    """

    def __init__(self, size: int = DEFAULT_EMC_SIZE) -> None:
        if size <= 0 or size & (size - 1):
            raise ValueError("the EMC size must be a power of two")
        self.size = size
        self._shift = size.bit_length() - 1
        self._slot_mask = size - 1
        self._slots: list[int | None] = [None] * size
        self.entries: dict[int, Megaflow] = {}

    def _candidates(self, key: int) -> tuple[int, int, int]:
        h = (hash(key) * _GOLDEN) & _U64
        return h, h & self._slot_mask, (h >> self._shift) & self._slot_mask

    def lookup(self, key: int) -> Megaflow | None:
        """The live megaflow cached for ``key``, or ``None``."""
        flow = self.entries.get(key)
        if flow is None or flow.dead:
            return None
        return flow

    def insert(self, key: int, flow: Megaflow) -> None:
        """Cache ``flow`` for ``key``, evicting the occupant of one of the key's two slots if needed."""
        entries = self.entries
        if key in entries:
            entries[key] = flow
            return
        slots = self._slots
        _, a, b = self._candidates(key)
        victim = a
        for slot in (a, b):
            occupant = slots[slot]
            if occupant is None or entries[occupant].dead:
                victim = slot
                break
        else:
            ha = self._candidates(slots[a])[0]          # type: ignore[arg-type]
            hb = self._candidates(slots[b])[0]          # type: ignore[arg-type]
            victim = a if ha <= hb else b
        old = slots[victim]
        if old is not None:
            del entries[old]
        slots[victim] = key
        entries[key] = flow

    def clear(self) -> None:
        self.entries.clear()
        self._slots = [None] * self.size

    def __len__(self) -> int:
        return len(self.entries)


class FlowCaches:
    """The EMC in front of the megaflow cache, with the counters of ``dpif-netdev/pmd-stats-show``.

    ``emc_insert_inv_prob`` (``other_config:emc-insert-inv-prob``) is N in "insert one megaflow hit in N into
    the EMC": 1 inserts every time, 0 disables the EMC altogether (no lookups, no inserts).  ``rng`` decides
    the insertions (its ``random()`` is called once per megaflow hit); pass a seeded ``random.Random`` for
    deterministic tests.
    """

    def __init__(self, flow_limit: int = DEFAULT_FLOW_LIMIT,
                 emc_insert_inv_prob: int = DEFAULT_EMC_INSERT_INV_PROB, emc_size: int = DEFAULT_EMC_SIZE,
                 rank_interval: int = DEFAULT_RANK_INTERVAL, rng: random.Random | None = None) -> None:
        self.megaflows = MegaflowCache(flow_limit, rank_interval)
        self.emc = ExactMatchCache(emc_size)
        self._emc_get = self.emc.entries.get               # bound once: ``clear()`` keeps the same dict
        self._mf_lookup = self.megaflows.lookup
        self._random: Callable[[], float] = (rng or random.Random()).random
        self.emc_insert_inv_prob = emc_insert_inv_prob
        self.n_emc_hit = 0
        self.n_megaflow_hit = 0
        self.n_missed = 0
        self.n_lost = 0

    @property
    def emc_insert_inv_prob(self) -> int:
        return self._inv_prob

    @emc_insert_inv_prob.setter
    def emc_insert_inv_prob(self, value: int) -> None:
        if value < 0:
            raise ValueError("emc-insert-inv-prob must be >= 0")
        self._inv_prob = value
        self._emc_prob = 1.0 / value if value else 0.0
        if not value:
            self.emc.clear()

    @property
    def flow_limit(self) -> int:
        return self.megaflows.flow_limit

    @flow_limit.setter
    def flow_limit(self, value: int) -> None:
        self.megaflows.flow_limit = value

    def lookup(self, key: int) -> Megaflow | None:
        """The megaflow for a packet with flow key ``key``, or ``None`` (a miss: make an upcall)."""
        flow = self._emc_get(key)
        if flow is not None and not flow.dead:
            self.n_emc_hit += 1
            return flow
        flow = self._mf_lookup(key)
        if flow is None:
            self.n_missed += 1
            return None
        self.n_megaflow_hit += 1
        if self._emc_prob and self._random() < self._emc_prob:
            self.emc.insert(key, flow)
        return flow

    def peek(self, key: int) -> Megaflow | None:
        """The megaflow for ``key`` without counting the lookup (the batch classifier counts its own)."""
        flow = self._emc_get(key)
        if flow is not None and not flow.dead:
            return flow
        return self.megaflows.find_key(key)

    def lookup_batch(self, keys: Sequence[int]) -> list[Megaflow | None]:
        """The results of ``[self.lookup(k) for k in keys]``, the EMC probed for the whole batch first.

        As in Open vSwitch, the batch goes through the EMC before any of it reaches the megaflow cache, so a
        key that appears twice in one batch and is inserted into the EMC by its first copy is still a megaflow
        hit the second time.  With distinct keys the counters, EMC insertions and RNG calls are exactly those
        of the single lookups.
        """
        n = len(keys)
        if self._emc_prob:
            found: list[Megaflow | None] = list(map(self._emc_get, keys))
            if any(map(_dead, filter(None, found))):
                found = [None if f is None or f.dead else f for f in found]      # rare: a removed flow
            n_miss = found.count(None)
        else:
            found = [None] * n
            n_miss = n
        self.n_emc_hit += n - n_miss
        if not n_miss:
            return found
        if n_miss == n:
            miss_idx: Sequence[int] = range(n)
            miss_keys = keys
        else:
            miss_idx = []
            i = -1
            for _ in range(n_miss):
                i = found.index(None, i + 1)
                miss_idx.append(i)
            miss_keys = [keys[i] for i in miss_idx]
        mega = self.megaflows.lookup_batch(miss_keys)
        n_none = mega.count(None)
        self.n_missed += n_none
        self.n_megaflow_hit += n_miss - n_none
        prob = self._emc_prob
        rnd = self._random
        insert = self.emc.insert
        for i, key, flow in zip(miss_idx, miss_keys, mega):
            if flow is not None:
                found[i] = flow
                if prob and rnd() < prob:
                    insert(key, flow)
        return found

    def install(self, key: int, mask: int, actions: Any, ufid: int | None = None,
                now: float = 0.0) -> Megaflow | None:
        """Install the megaflow an upcall produced; ``None`` (counted as lost) at the flow limit.  ``key`` is
        the packet's full key: the flow keeps it as ``orig_key`` for ``dpctl/dump-flows``.

        Flows that do not come from an upcall (``dpctl/add-flow``) go through ``megaflows.insert`` so that
        they do not count in the upcall statistics.
        """
        flow = self.megaflows.insert(key, mask, actions, ufid, now)
        if flow is None:
            self.n_lost += 1
        return flow

    def note_lost(self, n: int = 1) -> None:
        """Count ``n`` misses whose upcall failed for another reason (no handler, translation error)."""
        self.n_lost += n

    def remove(self, flow: Megaflow) -> bool:
        """Remove ``flow`` from the megaflow cache; EMC entries pointing at it become misses."""
        return self.megaflows.remove(flow)

    record = staticmethod(MegaflowCache.record)

    def sweep(self, now: float, max_idle: float = DEFAULT_MAX_IDLE) -> list[Megaflow]:
        """Remove and return the megaflows idle for longer than ``max_idle`` seconds."""
        return self.megaflows.sweep(now, max_idle)

    def flush(self) -> list[Megaflow]:
        """Remove every megaflow and clear the EMC."""
        self.emc.clear()
        return self.megaflows.flush()

    def __len__(self) -> int:
        return len(self.megaflows)

    def __iter__(self) -> Iterator[Megaflow]:
        return iter(self.megaflows)

    @property
    def n_packets(self) -> int:
        """Packets looked up: EMC hits, megaflow hits and misses."""
        return self.n_emc_hit + self.n_megaflow_hit + self.n_missed

    def pmd_stats_lines(self) -> list[str]:
        """The cache lines of ``ovs-appctl dpif-netdev/pmd-stats-show``, without their two-space indent."""
        hits = self.n_megaflow_hit
        probes = self.megaflows.n_hit_probes
        avg = probes / hits if hits else 0.0
        return [
            f"emc hits: {self.n_emc_hit}",
            f"megaflow hits: {hits}",
            f"avg. subtable lookups per megaflow hit: {avg:.2f}",
            f"miss with success upcall: {self.n_missed - self.n_lost}",
            f"miss with failed upcall: {self.n_lost}",
        ]

    def masks_line(self) -> str:
        """``masks: hit:N total:M hit/pkt:X.XX`` over all packets looked up (EMC hits probe no mask)."""
        return self.megaflows.masks_line(self.n_packets)
