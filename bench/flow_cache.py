"""Datapath flow-cache benchmark: lookups per second through the EMC and the megaflow cache (not a test).

Megaflow tables of 1k and 100k flows spread evenly over 1, 10 and 100 masks, all on real pyvswitch flow keys
(pyvswitch.flow.fields).  Every mask matches in_port, dl_type, nw_proto and tp_src exactly plus an nw_dst prefix
of 8..32 bits, some also tp_dst or an nw_src/24; each mask has its own in_port, so megaflows never overlap, as
translation guarantees.  Packets are made from a random installed flow with random values in its wildcarded
fields, so every packet hits a megaflow; traffic is uniform over the flows, so a megaflow hit probes about half
of the subtables on average (ranking helps only skewed traffic).

Columns (lookups per second, best of three runs):

- ``mega``: ``MegaflowCache.lookup`` one key at a time, distinct keys (the megaflow path).
- ``mega-batch``: ``MegaflowCache.lookup_batch`` on batches of 32 keys (NETDEV_MAX_BURST).
- ``emc``: ``FlowCaches.lookup`` on a warm EMC (a working set of 2048 keys, each inserted once): the EMC hit
  path.  ``emc hit`` is the share of those lookups the EMC answered: a key whose two slots are taken by other
  keys was evicted, as in Open vSwitch's EMC, and costs a megaflow lookup instead.
- ``emc-batch``: ``FlowCaches.lookup_batch`` on the same warm EMC, batches of 32.
- ``caches``: ``FlowCaches.lookup`` with the default EMC settings on distinct keys (what a flood of new
  connections costs: EMC miss, megaflow hit, 1-in-100 EMC insertion).

A second table shows what ranking buys on skewed traffic: 100 masks, 90% of packets hitting the flows of the
mask installed last (so probed last before any ranking), ``MegaflowCache.lookup`` with count-based ranking on
(the default) and off.

    python bench/flow_cache.py [--lookups 100000] [--flows 1000,100000] [--masks 1,10,100] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyvswitch.dpif.flow_cache import FlowCaches, MegaflowCache
from pyvswitch.flow import fields as F

NAMES = ("in_port", "dl_src", "dl_dst", "dl_type", "nw_src", "nw_dst", "nw_proto", "nw_ttl", "tp_src", "tp_dst")
FIELDS = {n: F.BY_NAME[n] for n in NAMES}
BATCH = 32


def prefix(name: str, bits: int) -> int:
    return F.field_mask(FIELDS[name], (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF)


def make_mask(i: int) -> int:
    mask = 0
    for name in ("in_port", "dl_type", "nw_proto", "tp_src"):
        mask |= F.field_mask(FIELDS[name])
    mask |= prefix("nw_dst", 8 + i % 25)
    if (i // 25) % 2:
        mask |= F.field_mask(FIELDS["tp_dst"])
    if (i // 50) % 2:
        mask |= prefix("nw_src", 24)
    return mask


def random_key(rng: random.Random, in_port: int) -> int:
    key = 0
    for name, value in (("in_port", in_port), ("dl_src", rng.getrandbits(48)), ("dl_dst", rng.getrandbits(48)),
                        ("dl_type", 0x0800), ("nw_src", rng.getrandbits(32)), ("nw_dst", rng.getrandbits(32)),
                        ("nw_proto", 6), ("nw_ttl", 64), ("tp_src", rng.randrange(1024, 65536)),
                        ("tp_dst", rng.randrange(65536))):
        key = F.put(key, FIELDS[name], value)
    return key


def build(n_flows: int, n_masks: int, rng: random.Random) -> tuple[list[tuple[int, int]], float]:
    """(key, mask) of ``n_flows`` distinct megaflows over ``n_masks`` masks, and their insertion rate."""
    cache = MegaflowCache(flow_limit=n_flows)
    masks = [make_mask(i) for i in range(n_masks)]
    flows: list[tuple[int, int]] = []
    t0 = time.perf_counter()
    i = 0
    while len(flows) < n_flows:
        m = i % n_masks
        i += 1
        key = random_key(rng, m + 1) & masks[m]
        if cache.find(key, masks[m]) is None:
            cache.insert(key, masks[m], "output:2")
            flows.append((key, masks[m]))
    return flows, n_flows / (time.perf_counter() - t0)


def packets(flows: list[tuple[int, int]], n: int, rng: random.Random) -> list[int]:
    out = []
    for _ in range(n):
        key, mask = rng.choice(flows)
        out.append(key | (random_key(rng, 0) & ~mask))
    return out


def rate(n: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def loop(lookup: Callable[[int], object], ks: list[int]) -> Callable[[], None]:
    def run() -> None:
        for k in ks:
            lookup(k)
    return run


def batches(keys: Sequence[int]) -> list[list[int]]:
    return [list(keys[i:i + BATCH]) for i in range(0, len(keys), BATCH)]


def bench(n_flows: int, n_masks: int, n_lookups: int, rng: random.Random) -> dict[str, float]:
    flows, insert_rate = build(n_flows, n_masks, rng)
    mega = MegaflowCache(flow_limit=n_flows)
    fresh = FlowCaches(flow_limit=n_flows, rng=random.Random(1))
    warm = FlowCaches(flow_limit=n_flows, emc_insert_inv_prob=1, rng=random.Random(1))
    for key, mask in flows:
        for target in (mega.insert, fresh.install, warm.install):
            target(key, mask, "output:2")
    keys = packets(flows, n_lookups, rng)
    working = keys[:2048]
    hot = [working[i % len(working)] for i in range(n_lookups)]
    for k in working:
        warm.lookup(k)                  # every megaflow hit goes into the EMC (inv-prob 1)
    warm.emc_insert_inv_prob = 100
    before = warm.n_emc_hit
    for k in working:
        warm.lookup(k)
    emc_hit = (warm.n_emc_hit - before) / len(working)
    key_batches, hot_batches = batches(keys), batches(hot)

    def loop_batch(lookup_batch: Callable[[list[int]], object], bs: list[list[int]]) -> Callable[[], None]:
        def run() -> None:
            for b in bs:
                lookup_batch(b)
        return run

    result = {
        "insert": insert_rate,
        "mega": rate(n_lookups, loop(mega.lookup, keys)),
        "mega-batch": rate(n_lookups, loop_batch(mega.lookup_batch, key_batches)),
        "emc": rate(n_lookups, loop(warm.lookup, hot)),
        "emc-batch": rate(n_lookups, loop_batch(warm.lookup_batch, hot_batches)),
        "caches": rate(n_lookups, loop(fresh.lookup, keys)),
        "emc hit": emc_hit,
    }
    assert fresh.n_missed == 0 and mega.n_missed == 0, "every packet was made to hit a megaflow"
    return result


def ranking(n_lookups: int, rng: random.Random) -> None:
    flows, _ = build(10000, 100, rng)
    last = flows[-1][1]
    hot = [f for f in flows if f[1] == last]
    keys = [packets(hot if rng.random() < 0.9 else flows, 1, rng)[0] for _ in range(n_lookups)]
    print(f"\n{'ranking':>8} {'lookup/s':>12} {'probes/lookup':>14}")
    for label, interval in (("on", 65536), ("off", 0)):
        cache = MegaflowCache(flow_limit=len(flows), rank_interval=interval)
        for key, mask in flows:
            cache.insert(key, mask, "output:2")
        for k in keys:                      # warm up: lets the ranking see the traffic once
            cache.lookup(k)
        if interval:
            cache.rank()                    # as the interval would have, had --lookups been larger
        probes0, lookups0 = cache.n_mask_hit, cache.n_lookups
        r = rate(n_lookups, loop(cache.lookup, keys))
        probes = (cache.n_mask_hit - probes0) / (cache.n_lookups - lookups0)
        print(f"{label:>8} {r:>12,.0f} {probes:>14.1f}")


def profile(n_lookups: int, rng: random.Random) -> None:
    flows, _ = build(100000, 100, rng)
    fc = FlowCaches(flow_limit=len(flows), rng=random.Random(1))
    for key, mask in flows:
        fc.install(key, mask, "output:2")
    keys = packets(flows, n_lookups, rng)
    prof = cProfile.Profile()
    prof.enable()
    for k in keys:
        fc.lookup(k)
    for b in batches(keys):
        fc.lookup_batch(b)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", default="1000,100000")
    ap.add_argument("--masks", default="1,10,100")
    ap.add_argument("--lookups", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="cProfile FlowCaches lookups (100k flows, 100 masks)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    if args.profile:
        profile(args.lookups, rng)
        return
    cols = ("insert", "mega", "mega-batch", "emc", "emc-batch", "caches")
    print(f"{'flows':>7} {'masks':>5} " + " ".join(f"{c + '/s':>12}" for c in cols) + f" {'emc hit':>8}")
    for n_flows in (int(s) for s in args.flows.split(",")):
        for n_masks in (int(s) for s in args.masks.split(",")):
            r = bench(n_flows, n_masks, args.lookups, rng)
            print(f"{n_flows:>7} {n_masks:>5} " + " ".join(f"{r[c]:>12,.0f}" for c in cols)
                  + f" {r['emc hit']:>8.1%}", flush=True)
    ranking(args.lookups, rng)


if __name__ == "__main__":
    main()
