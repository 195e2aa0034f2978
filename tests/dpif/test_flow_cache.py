"""The datapath flow caches (pyvswitch.dpif.flow_cache) against a linear reference.

The reference is a list of (key, mask, flow) in insertion order; a packet matches a megaflow when
``key & mask == flow_key``.  Hypothesis drives random sequences of inserts, removes, lookups, batch lookups,
re-rankings and sweeps over a small key space (so that packets often hit and masks repeat):

1. with non-overlapping megaflows (as translation makes them) every lookup returns exactly the reference's
   matching flow; with overlapping ones it returns *a* matching flow, and ``None`` only when none matches;
2. the hit, miss and probe statistics equal a count made from the subtable order at each lookup;
3. the EMC never returns a dead or removed flow, and stays within its size;
4. ranking (every lookup, never) does not change any result;
5. the flow limit refuses new flows and counts lost upcalls, but still returns an identical existing flow.
"""

from __future__ import annotations

import random
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyvswitch.dpif.flow_cache import (
    DEFAULT_EMC_INSERT_INV_PROB,
    DEFAULT_EMC_SIZE,
    DEFAULT_FLOW_LIMIT,
    ExactMatchCache,
    FlowCaches,
    Megaflow,
    MegaflowCache,
    flow_ufid,
    format_tcp_flags,
    format_ufid,
)
from pyvswitch.flow import fields as F

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BITS = 10
# A few masks only, so that subtables hold several flows and the ranking has something to sort.
MASK_POOL = [0x3FF, 0x3F0, 0x00F, 0x300, 0x0FF, 0x1C7, 0x000, 0x2AA, 0x3C0, 0x001]


class Linear:
    """The reference: megaflows in insertion order, looked up by scanning them all."""

    def __init__(self) -> None:
        self.flows: list[Megaflow] = []

    def matching(self, key: int) -> list[Megaflow]:
        return [f for f in self.flows if key & f.mask == f.key]


def overlaps(key: int, mask: int, flow: Megaflow) -> bool:
    """Whether some packet matches both (key, mask) and ``flow``."""
    return (key ^ flow.key) & mask & flow.mask == 0


op = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 2**BITS - 1), st.sampled_from(MASK_POOL)),
    st.tuples(st.just("remove"), st.integers(0, 1000)),
    st.tuples(st.just("lookup"), st.integers(0, 2**BITS - 1)),
    st.tuples(st.just("batch"), st.lists(st.integers(0, 2**BITS - 1), max_size=20)),
    st.tuples(st.just("rank")),
    st.tuples(st.just("record"), st.integers(0, 1000), st.integers(0, 50)),
    st.tuples(st.just("sweep"), st.integers(0, 50)),
)


def check_lookup(got: Megaflow | None, key: int, ref: Linear, disjoint: bool) -> None:
    matching = ref.matching(key)
    if disjoint:
        assert len(matching) <= 1
        assert got is (matching[0] if matching else None)
    elif got is None:
        assert not matching
    else:
        assert got in matching


def run(ops: list[tuple], disjoint: bool, rank_interval: int) -> list[int | None]:
    """Apply ``ops`` to a MegaflowCache and the reference, checking every step; return the lookup results
    (as indexes into the reference's insertion history, so that two runs can be compared)."""
    cache = MegaflowCache(rank_interval=rank_interval)
    ref = Linear()
    history: list[Megaflow] = []
    results: list[int | None] = []
    now = 0.0
    lookups = hits = hit_probes = probes = 0

    def index(flow: Megaflow | None) -> int | None:
        return None if flow is None else history.index(flow)

    for o in ops:
        kind = o[0]
        now += 1.0
        if kind == "insert":
            _, key, mask = o
            if disjoint and any(overlaps(key, mask, f) for f in ref.flows
                                if not (f.mask == mask and f.key == key & mask)):
                continue
            before = len(cache)
            same = cache.find(key, mask)
            flow = cache.insert(key, mask, ("out", len(history)), now=now)
            assert flow is not None and flow.key == key & mask and flow.mask == mask
            if same is not None:
                assert flow is same and len(cache) == before
            else:
                assert len(cache) == before + 1 and flow.created == now
                ref.flows.append(flow)
                history.append(flow)
        elif kind == "remove" and ref.flows:
            flow = ref.flows.pop(o[1] % len(ref.flows))
            assert cache.remove(flow) and flow.dead
            assert not cache.remove(flow)
        elif kind == "lookup":
            key = o[1]
            got = cache.lookup(key)
            check_lookup(got, key, ref, disjoint)
            order = [s.mask for s in cache.subtables()]
            lookups += 1
            if got is None:
                probes += len(order)
            else:
                hits += 1
                pos = order.index(got.mask) + 1
                hit_probes += pos
                probes += pos
            results.append(index(got))
        elif kind == "batch":
            keys = o[1]
            order = [s.mask for s in cache.subtables()]
            got_all = cache.lookup_batch(keys)
            assert len(got_all) == len(keys)
            for key, got in zip(keys, got_all):
                check_lookup(got, key, ref, disjoint)
                lookups += 1
                if got is None:
                    probes += len(order)
                else:
                    hits += 1
                    pos = order.index(got.mask) + 1
                    hit_probes += pos
                    probes += pos
                results.append(index(got))
        elif kind == "rank":
            cache.rank()
        elif kind == "record" and ref.flows:
            flow = ref.flows[o[1] % len(ref.flows)]
            packets, size = flow.packets, flow.bytes
            cache.record(flow, 2, o[2], 0x12, now)
            assert (flow.packets, flow.bytes, flow.used) == (packets + 2, size + o[2], now)
            assert flow.tcp_flags & 0x12 == 0x12
        elif kind == "sweep":
            max_idle = float(o[1])
            expect = {id(f) for f in ref.flows if now - (f.used or f.created) > max_idle}
            gone = cache.sweep(now, max_idle)
            assert {id(f) for f in gone} == expect and all(f.dead for f in gone)
            ref.flows = [f for f in ref.flows if id(f) not in expect]
        # The cache's contents agree with the reference after every operation.
        assert len(cache) == len(ref.flows)
        assert {id(f) for f in cache} == {id(f) for f in ref.flows}
        assert cache.n_masks == len({f.mask for f in ref.flows})
        assert all(cache.get(f.ufid) is f and f in cache for f in ref.flows)
    assert cache.n_lookups == lookups
    assert cache.n_hit == hits and cache.n_missed == lookups - hits
    assert cache.n_mask_hit == probes
    assert cache.n_hit_probes == hit_probes
    return results


@SETTINGS
@given(st.lists(op, max_size=60))
def test_disjoint_megaflows_match_the_reference_exactly(ops: list[tuple]) -> None:
    run(ops, disjoint=True, rank_interval=5)


@SETTINGS
@given(st.lists(op, max_size=60))
def test_overlapping_megaflows_give_a_matching_flow(ops: list[tuple]) -> None:
    run(ops, disjoint=False, rank_interval=3)


@SETTINGS
@given(st.lists(op, max_size=60))
def test_ranking_does_not_change_results(ops: list[tuple]) -> None:
    # Sweeps and removals happen at the same points in both runs, so the histories are the same.
    assert run(ops, disjoint=True, rank_interval=1) == run(ops, disjoint=True, rank_interval=0)


caches_op = st.one_of(
    st.tuples(st.just("install"), st.integers(0, 2**BITS - 1), st.sampled_from(MASK_POOL)),
    st.tuples(st.just("remove"), st.integers(0, 1000)),
    st.tuples(st.just("lookup"), st.integers(0, 2**BITS - 1)),
    st.tuples(st.just("batch"), st.lists(st.integers(0, 2**BITS - 1), max_size=12)),
    st.tuples(st.just("sweep"), st.integers(0, 30)),
    st.tuples(st.just("clear")),
)


@SETTINGS
@given(st.lists(caches_op, max_size=80), st.sampled_from([1, 2, 3]), st.sampled_from([1, 2, 4, 8]),
       st.integers(0, 2**32))
def test_emc_never_returns_dead_flows(ops: list[tuple], inv_prob: int, emc_size: int, seed: int) -> None:
    fc = FlowCaches(emc_insert_inv_prob=inv_prob, emc_size=emc_size, flow_limit=12, rank_interval=4,
                    rng=random.Random(seed))
    ref = Linear()
    now = 0.0
    installed = lost = looked_up = 0
    for o in ops:
        now += 1.0
        kind = o[0]
        if kind == "install":
            _, key, mask = o
            if any(overlaps(key, mask, f) for f in ref.flows if not (f.mask == mask and f.key == key & mask)):
                continue
            existing = fc.megaflows.find(key, mask)
            flow = fc.install(key, mask, "a", now=now)
            if existing is not None:
                assert flow is existing
            elif len(ref.flows) >= 12:
                assert flow is None
                lost += 1
            else:
                assert flow is not None
                ref.flows.append(flow)
                installed += 1
        elif kind == "remove" and ref.flows:
            flow = ref.flows.pop(o[1] % len(ref.flows))
            assert fc.remove(flow)
        elif kind in ("lookup", "batch"):
            keys = [o[1]] if kind == "lookup" else o[1]
            got_all = [fc.lookup(keys[0])] if kind == "lookup" else fc.lookup_batch(keys)
            for key, got in zip(keys, got_all):
                looked_up += 1
                check_lookup(got, key, ref, disjoint=True)
                assert got is None or (not got.dead and got in fc.megaflows)
        elif kind == "sweep":
            gone = fc.sweep(now, float(o[1]))
            ref.flows = [f for f in ref.flows if f not in gone]
        elif kind == "clear":
            fc.emc.clear()
        assert len(fc.emc) <= emc_size
        assert all(fc.emc.lookup(k) is None or not fc.emc.lookup(k).dead for k in fc.emc.entries)  # type: ignore
    assert fc.n_packets == looked_up
    assert fc.n_lost == lost
    lines = fc.pmd_stats_lines()
    assert lines[0] == f"emc hits: {fc.n_emc_hit}"
    assert lines[4] == f"miss with failed upcall: {lost}"


def test_defaults() -> None:
    assert DEFAULT_FLOW_LIMIT == 200000
    assert DEFAULT_EMC_SIZE == 8192
    assert DEFAULT_EMC_INSERT_INV_PROB == 100
    fc = FlowCaches()
    assert fc.flow_limit == 200000 and fc.emc.size == 8192 and fc.emc_insert_inv_prob == 100


def test_identical_duplicate_returns_the_existing_flow() -> None:
    cache = MegaflowCache()
    a = cache.insert(0x1234, 0xFF00, "a")
    b = cache.insert(0x12FF, 0xFF00, "b")          # the same masked key
    assert a is not None and b is a and a.actions == "a" and a.key == 0x1200
    assert len(cache) == 1 and cache.n_masks == 1
    c = cache.insert(0x1234, 0xFFF0, "c")          # overlaps, but another mask: not checked
    assert c is not None and c is not a and cache.n_masks == 2


def test_flow_limit() -> None:
    fc = FlowCaches(flow_limit=3, rng=random.Random(1))
    flows = [fc.install(i, 0xFF, i) for i in range(3)]
    assert all(flows) and len(fc) == 3
    assert fc.lookup(5) is None and fc.n_missed == 1
    assert fc.install(5, 0xFF, "x") is None and fc.n_lost == 1
    assert fc.install(0x100, 0xFF, "dup") is flows[0] and fc.n_lost == 1    # identical to flow 0
    assert fc.megaflows.insert(6, 0xFF, "y") is None and fc.n_lost == 1     # not an upcall: not counted
    fc.flow_limit = 4
    assert fc.install(5, 0xFF, "x") is not None and len(fc) == 4
    second = flows[1]
    assert second is not None and fc.remove(second)
    assert fc.install(6, 0xFF, "y") is not None
    assert fc.pmd_stats_lines()[3:] == ["miss with success upcall: 0", "miss with failed upcall: 1"]


def test_ufid() -> None:
    a = flow_ufid(0x1234, 0xFF00)
    assert a == flow_ufid(0x12AB, 0xFF00) != flow_ufid(0x1234, 0xFFF0)
    u = uuid.UUID(int=a)
    assert u.version == 4 and u.variant == uuid.RFC_4122 and format_ufid(a) == str(u)
    cache = MegaflowCache()
    f = cache.insert(1, 0xF, "a")
    assert f is not None and f.ufid == flow_ufid(1, 0xF) and cache.get(f.ufid) is f
    g = cache.insert(2, 0xF, "b", ufid=0x42)
    assert g is not None and g.ufid == 0x42
    with pytest.raises(ValueError):
        cache.insert(3, 0xF, "c", ufid=0x42)
    assert len(cache) == 2


def test_emc_hit_and_dead_entries() -> None:
    fc = FlowCaches(emc_insert_inv_prob=1, rng=random.Random(0))
    f = fc.install(0x1200, 0xFF00, "a")
    assert f is not None
    assert fc.lookup(0x1234) is f and (fc.n_megaflow_hit, fc.n_emc_hit) == (1, 0)
    assert fc.lookup(0x1234) is f and (fc.n_megaflow_hit, fc.n_emc_hit) == (1, 1)
    fc.remove(f)
    assert 0x1234 in fc.emc.entries              # still cached, but dead: a miss
    assert fc.lookup(0x1234) is None and fc.n_missed == 1
    assert fc.lookup_batch([0x1234, 0x1234]) == [None, None] and fc.n_missed == 3
    g = fc.install(0x1234, 0xFFFF, "b")
    assert fc.lookup(0x1234) is g and fc.emc.entries[0x1234] is g
    fc.emc.clear()
    assert len(fc.emc) == 0 and fc.lookup(0x1234) is g and fc.n_megaflow_hit == 3


def test_emc_insertion_probability_and_disable() -> None:
    fc = FlowCaches(emc_insert_inv_prob=100, rng=random.Random(7))
    f = fc.install(0, 0, "all")
    for k in range(20000):
        assert fc.lookup(k) is f
    inserted = len(fc.emc)
    assert 120 < inserted < 280                    # about 1 in 100 of 20000 megaflow hits
    fc.emc_insert_inv_prob = 0                     # disables (and clears) the EMC
    assert len(fc.emc) == 0
    fc.lookup(1)
    fc.lookup_batch([1, 2, 3])
    assert len(fc.emc) == 0
    with pytest.raises(ValueError):
        fc.emc_insert_inv_prob = -1


def test_emc_bound_and_replacement() -> None:
    emc = ExactMatchCache(4)
    flows = [Megaflow(i, -1, i, i) for i in range(100)]
    for i, f in enumerate(flows):
        emc.insert(i, f)
        assert len(emc) <= 4 and emc.lookup(i) is f
    assert len(emc) >= 2                           # two-way slots: not everything collided
    # A dead occupant is replaced before a live one, whichever the hash rule would otherwise pick.
    for dead_first in (True, False):
        emc = ExactMatchCache(2)
        keys = [k for k in range(1000) if {emc._candidates(k)[1], emc._candidates(k)[2]} == {0, 1}][:3]
        k1, k2, k3 = keys
        emc.insert(k1, flows[1])
        emc.insert(k2, flows[2])
        assert set(emc.entries) == {k1, k2}
        victim = k1 if dead_first else k2
        emc.entries[victim].dead = True
        emc.insert(k3, flows[3])
        assert set(emc.entries) == {k1, k2, k3} - {victim}
        flows[1].dead = flows[2].dead = False
    with pytest.raises(ValueError):
        ExactMatchCache(6)


def test_batch_matches_single_lookups() -> None:
    rng = random.Random(3)
    make = [(rng.getrandbits(16), rng.choice([0xFFFF, 0xFF00, 0x00FF, 0xF0F0])) for _ in range(300)]
    a = FlowCaches(emc_insert_inv_prob=2, rng=random.Random(9))
    b = FlowCaches(emc_insert_inv_prob=2, rng=random.Random(9))
    for key, mask in make:
        for fc in (a, b):
            if not any((key ^ f.key) & mask & f.mask == 0 for f in fc):
                fc.install(key, mask, (key, mask))
    for _ in range(20):
        keys = list({rng.getrandbits(16): None for _ in range(64)})        # distinct within the batch
        single = [a.lookup(k) for k in keys]
        batch = b.lookup_batch(keys)
        assert [f and (f.key, f.mask) for f in single] == [f and (f.key, f.mask) for f in batch]
    assert (a.n_emc_hit, a.n_megaflow_hit, a.n_missed) == (b.n_emc_hit, b.n_megaflow_hit, b.n_missed)
    assert a.n_emc_hit > 0 and a.n_megaflow_hit > 0 and a.n_missed > 0
    assert sorted(a.emc.entries) == sorted(b.emc.entries)


def test_ranking_orders_subtables_by_recent_hits() -> None:
    cache = MegaflowCache(rank_interval=0)
    cache.insert(0x01, 0x0F, "low")
    cache.insert(0x20, 0xF0, "high")
    assert [s.mask for s in cache.subtables()] == [0x0F, 0xF0]
    for _ in range(5):
        assert cache.lookup(0x23).actions == "high"        # type: ignore[union-attr]
    cache.lookup(0x31)                                        # probes 0x0F only, hits
    cache.rank()
    assert [s.mask for s in cache.subtables()] == [0xF0, 0x0F]
    # Hits since the last ranking count, not all hits.
    for _ in range(2):
        cache.lookup(0x01)
    cache.rank()
    assert [s.mask for s in cache.subtables()] == [0x0F, 0xF0]
    st_low, st_high = sorted(cache.subtables(), key=lambda s: s.mask)
    assert (st_low.hits, st_high.hits) == (3, 5)
    # 0x23 x5 probed 0x0F then 0xF0; 0x31 probed 0x0F; 0x01 x2 probed 0xF0 then 0x0F (all hits).
    assert (st_low.probes, st_high.probes) == (8, 7)
    assert (st_low.misses, st_high.misses) == (5, 2)
    assert cache.n_hit_probes == 5 * 2 + 1 + 2 * 2
    assert cache.masks_line() == "masks: hit:15 total:2 hit/pkt:1.88"


def test_automatic_ranking_is_count_based() -> None:
    cache = MegaflowCache(rank_interval=4)
    cache.insert(0x01, 0x0F, "low")
    cache.insert(0x20, 0xF0, "high")
    for _ in range(4):
        cache.lookup(0x20)
    assert [s.mask for s in cache.subtables()] == [0x0F, 0xF0]       # not yet: the 5th lookup ranks
    cache.lookup(0x20)
    assert [s.mask for s in cache.subtables()] == [0xF0, 0x0F]
    cache.lookup_batch([0x01] * 10)
    assert [s.mask for s in cache.subtables()] == [0x0F, 0xF0]       # a batch ranks after itself


def test_pmd_stats_and_masks_lines() -> None:
    fc = FlowCaches(emc_insert_inv_prob=1, rank_interval=0, rng=random.Random(0))
    fc.install(0x0001, 0x00FF, "a")
    fc.install(0x0020, 0x00F0, "b")
    fc.lookup(0x0001)      # megaflow hit in the first subtable: 1 probe, EMC insert
    fc.lookup(0x0001)      # EMC hit: no probe
    fc.lookup(0x0025)      # megaflow hit in the second subtable: 2 probes
    fc.lookup(0x0000)      # miss: 2 probes
    fc.note_lost()
    assert fc.pmd_stats_lines() == [
        "emc hits: 1",
        "megaflow hits: 2",
        "avg. subtable lookups per megaflow hit: 1.50",
        "miss with success upcall: 0",
        "miss with failed upcall: 1",
    ]
    assert fc.masks_line() == "masks: hit:5 total:2 hit/pkt:1.25"


def test_sweep_and_stats_text() -> None:
    cache = MegaflowCache()
    a = cache.insert(1, 0xF, "a", now=100.0)
    b = cache.insert(2, 0xF, "b", now=100.0)
    assert a is not None and b is not None
    cache.record(a, 3, 180, 0x02, 104.0)
    cache.record(a, 1, 60, 0x10, 105.0)
    assert a.format_stats(105.25) == "packets:4, bytes:240, used:0.250s, flags:S."
    assert b.format_stats(105.25) == "packets:0, bytes:0, used:never"
    assert cache.sweep(110.0) == []                   # b is exactly 10 s old: not idle *longer* than 10 s
    assert cache.sweep(110.5) == [b] and b.dead and len(cache) == 1
    assert cache.sweep(115.5) == [a] and len(cache) == 0 and cache.n_masks == 0
    assert format_tcp_flags(0) == "none" and format_tcp_flags(0x1FF) == "SFPRU.ECN"
    assert format_tcp_flags(0xE00) == "[200][400][800]"


def test_remove_only_own_flows() -> None:
    a, b = MegaflowCache(), MegaflowCache()
    fa = a.insert(1, 0xF, "a")
    fb = b.insert(1, 0xF, "b")
    assert fa is not None and fb is not None
    assert not a.remove(fb) and not fb.dead and len(b) == 1
    assert a.remove(fa) and fa.dead and a.n_masks == 0 and a.lookup(1) is None and b.lookup(1) is fb


def test_flush_and_iteration() -> None:
    fc = FlowCaches(emc_insert_inv_prob=1)
    flows = [fc.install(i << 4, 0xF0, i) for i in range(5)]
    assert list(fc) == flows
    fc.lookup(0x10)
    assert fc.flush() == flows and len(fc) == 0 and len(fc.emc) == 0 and all(f.dead for f in flows)  # type: ignore
    assert fc.lookup(0x10) is None


def test_real_flow_keys() -> None:
    """Megaflows over the pyvswitch flow-key layout: in_port + dl_type + nw_dst/24."""
    def key_of(**values: int) -> int:
        key = 0
        for name, value in values.items():
            key = F.put(key, F.BY_NAME[name], value)
        return key

    mask = (F.field_mask(F.BY_NAME["in_port"]) | F.field_mask(F.BY_NAME["dl_type"])
            | F.field_mask(F.BY_NAME["nw_dst"], 0xFFFFFF00))
    fc = FlowCaches(rng=random.Random(0))
    f = fc.install(key_of(in_port=1, dl_type=0x0800, nw_dst=0x0A000100), mask, "output:2")
    pkt = key_of(in_port=1, dl_type=0x0800, nw_dst=0x0A000107, nw_src=0x0A000001, tp_dst=80)
    assert fc.lookup(pkt) is f
    assert fc.lookup(key_of(in_port=2, dl_type=0x0800, nw_dst=0x0A000107)) is None
