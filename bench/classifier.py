"""Classifier benchmark: insertion rate and lookups per second on ACL-like tables (not a test).

Tables of 1k, 10k and 100k rules spread over ~20 masks built from in_port, dl_type, nw_src/nw_dst prefixes,
nw_proto and tp_dst, at random priorities, plus a priority-0 catch-all, as a security-group or firewall table
looks.  Packets are IPv4 flow keys: half are made to hit a chosen rule (its fields copied into a random packet),
half are random (addresses anywhere in the IPv4 space).  Lookups run with a ``Wildcards`` (as translation calls them) and without.  ``--check`` also
compares every lookup with the linear reference on the 1k table.

    python bench/classifier.py [--sizes 1000,10000,100000] [--lookups 50000] [--profile] [--check]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyvswitch.classifier import Classifier
from pyvswitch.flow import fields as F
from pyvswitch.flow.match import Match, Wildcards

IN_PORT, DL_TYPE, NW_SRC, NW_DST, NW_PROTO, TP_SRC, TP_DST = (
    F.BY_NAME[n] for n in ("in_port", "dl_type", "nw_src", "nw_dst", "nw_proto", "tp_src", "tp_dst"))

# Mask shapes: field -> prefix length for addresses, True for an exact match.  dl_type=ip is implied when an L3
# field is present (ovs-fields(7) prerequisites), and nw_proto when tp_dst is.
SHAPES: list[dict[str, int | bool]] = [
    {"in_port": True},
    {"in_port": True, "dl_type": True},
    {"nw_src": 32}, {"nw_dst": 32}, {"nw_src": 24}, {"nw_dst": 24}, {"nw_src": 8}, {"nw_dst": 16},
    {"nw_src": 16, "nw_dst": 16},
    {"nw_proto": True, "tp_dst": True},
    {"nw_dst": 24, "nw_proto": True, "tp_dst": True},
    {"nw_src": 24, "nw_dst": 32, "nw_proto": True, "tp_dst": True},
    {"in_port": True, "nw_src": 32},
    {"in_port": True, "nw_dst": 16},
    {"nw_dst": 8, "nw_proto": True},
    {"nw_src": 32, "nw_proto": True, "tp_dst": True},
    {"in_port": True, "nw_proto": True, "tp_dst": True},
    {"nw_dst": 28, "nw_proto": True, "tp_dst": True},
    {"nw_src": 20, "nw_dst": 24},
]
PORTS = [22, 53, 80, 123, 443, 3306, 5432, 6379, 8080, 8443]


class Rule:
    __slots__ = ("conjunctions", "match", "priority")

    def __init__(self, match: Match, priority: int) -> None:
        self.match = match
        self.priority = priority
        self.conjunctions = ()


def addr(rng: random.Random) -> int:
    # Mostly inside 10.0.0.0/8 with some structure (a few hundred /24s), so that prefixes share leading bits.
    if rng.random() < 0.8:
        return (10 << 24) | (rng.randrange(4) << 16) | (rng.randrange(256) << 8) | rng.randrange(256)
    return rng.getrandbits(32)


def make_rules(n: int, rng: random.Random) -> list[Rule]:
    rules = [Rule(Match(), 0)]
    seen = set()
    while len(rules) < n:
        shape = rng.choice(SHAPES)
        value = mask = 0
        if any(f in shape for f in ("nw_src", "nw_dst", "nw_proto")):
            shape = {"dl_type": True, **shape}
        for name, spec in shape.items():
            f = F.BY_NAME[name]
            if name == "in_port":
                v = rng.randrange(1, 49)
            elif name == "dl_type":
                v = 0x0800
            elif name == "nw_proto":
                v = rng.choice((6, 6, 17))
            elif name == "tp_dst":
                v = rng.choice(PORTS) if rng.random() < 0.7 else rng.randrange(1024, 65536)
            else:
                v = addr(rng)
            if spec is True:
                m = f.value_mask
            else:
                m = (0xFFFFFFFF << (32 - int(spec))) & 0xFFFFFFFF
            value |= (v & m) << f.ofs
            mask |= m << f.ofs
        pri = rng.randrange(1, 32768)
        if (value, mask, pri) in seen:
            continue
        seen.add((value, mask, pri))
        rules.append(Rule(Match(value, mask), pri))
    return rules


def make_packets(n: int, rules: list[Rule], rng: random.Random) -> list[int]:
    packets = []
    for _ in range(n):
        k = 0
        k = F.put(k, IN_PORT, rng.randrange(1, 49))
        k = F.put(k, DL_TYPE, 0x0800)
        k = F.put(k, NW_SRC, rng.getrandbits(32))
        k = F.put(k, NW_DST, rng.getrandbits(32))
        k = F.put(k, NW_PROTO, rng.choice((6, 17, 1)))
        k = F.put(k, TP_SRC, rng.randrange(1024, 65536))
        k = F.put(k, TP_DST, rng.choice(PORTS) if rng.random() < 0.5 else rng.randrange(65536))
        if rng.random() < 0.5:
            m = rng.choice(rules).match
            k = (k & ~m.mask) | m.value
        packets.append(k)
    return packets


def bench(size: int, n_lookups: int, rng: random.Random, profile: bool) -> dict[str, float]:
    rules = make_rules(size, rng)
    cls = Classifier()
    t0 = time.perf_counter()
    for r in rules:
        cls.insert(r)
    t_ins = time.perf_counter() - t0
    packets = make_packets(n_lookups, rules, rng)
    cls.lookup(packets[0])                         # the first lookup after changes sorts the subtables

    lookup = cls.lookup
    # Best of three: the figure least disturbed by whatever else the machine runs.
    t_plain = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for k in packets:
            lookup(k)
        t_plain = min(t_plain, time.perf_counter() - t0)
    t_wc = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for k in packets:
            lookup(k, Wildcards())
        t_wc = min(t_wc, time.perf_counter() - t0)

    hits = 0
    bits = 0
    prof = cProfile.Profile() if profile else None
    if prof:
        prof.enable()
    for k in packets:
        wc = Wildcards()
        if lookup(k, wc) is not rules[0]:
            hits += 1
        bits += wc.mask.bit_count()
    if prof:
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)
    return {
        "rules": len(cls), "masks": cls.n_subtables, "insert": len(rules) / t_ins,
        "lookup": n_lookups / t_plain, "lookup_wc": n_lookups / t_wc, "hit": hits / n_lookups,
        "bits": bits / n_lookups,
    }


def check(rng: random.Random) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.classifier.linear import LinearClassifier

    rules = make_rules(1000, rng)
    cls, ref = Classifier(), LinearClassifier()
    for r in rules:
        cls.insert(r)
        ref.insert(r)
    for k in make_packets(2000, rules, rng):
        assert cls.lookup(k) is ref.lookup(k)
    print("check: 2000 lookups on 1k rules agree with the linear reference")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--lookups", type=int, default=50000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="cProfile the lookups with wildcards")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    if args.check:
        check(rng)
    print(f"{'rules':>8} {'masks':>6} {'insert/s':>10} {'lookup/s':>10} {'+wc/s':>10} {'matched':>8} {'wc bits':>8}")
    for size in (int(s) for s in args.sizes.split(",")):
        r = bench(size, args.lookups, rng, args.profile)
        print(f"{r['rules']:>8} {r['masks']:>6} {r['insert']:>10,.0f} {r['lookup']:>10,.0f} {r['lookup_wc']:>10,.0f} "
              f"{r['hit']:>8.0%} {r['bits']:>8.1f}")


if __name__ == "__main__":
    main()
