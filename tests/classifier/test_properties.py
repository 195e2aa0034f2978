"""The classifier against the linear reference, on random tables and packets (Hypothesis).

For every table reached by a random sequence of inserts, removes and replaces (checked every few operations, so
each example contributes several tables), and for random packets biased to hit or nearly hit its rules:

1. ``lookup`` returns the same rule as the reference;
2. the wildcards are sound: keys that agree with the packet on ``wc.mask`` and are random elsewhere get the same
   rule from the reference (and from the classifier);
3. ``find_exact``, ``find_loose``, ``find_overlapping``, iteration and ``len`` agree with the reference.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pyvswitch.classifier import Classifier
from pyvswitch.flow import fields as F
from pyvswitch.flow.match import Match, Wildcards
from tests.classifier import gen
from tests.classifier.linear import LinearClassifier

SETTINGS = settings(max_examples=400, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])


def apply(op: tuple, cls: Classifier, ref: LinearClassifier, current: list[gen.Rule]) -> None:
    kind = op[0]
    if kind == "insert":
        rule = op[1]
        dup = ref.find_exact(rule.match, rule.priority) is not None
        try:
            cls.insert(rule)
        except ValueError:
            assert dup, "insert refused a rule the reference accepts"
            return
        assert not dup, "insert accepted a duplicate match and priority"
        ref.insert(rule)
        current.append(rule)
    elif kind == "remove":
        if not current:
            return
        rule = current.pop(op[1] % len(current))
        cls.remove(rule)
        ref.remove(rule)
    else:
        _, template, idx = op
        if idx is not None and current:
            base = current[idx % len(current)]
            rule = gen.Rule(base.match, base.priority, template.conjunctions)
        else:
            rule = template
        old = cls.replace(rule)
        old_ref = ref.replace(rule)
        assert old is old_ref
        if old is not None:
            current.remove(old)
        current.append(rule)


def check_table(cls: Classifier, ref: LinearClassifier, current: list[gen.Rule], rng: random.Random,
                n_packets: int = 25, n_agree: int = 6) -> None:
    assert len(cls) == len(ref)
    assert list(cls) == list(ref)
    for _ in range(n_packets):
        key = gen.packet_for(rng, current)
        wc = Wildcards()
        got = cls.lookup(key, wc)
        want = ref.lookup(key)
        assert got is want, f"key {key:#x}: got {got}, want {want}"
        # A lookup without wildcards answers the same.
        assert cls.lookup(key) is want
        for _ in range(n_agree):
            k2 = gen.agreeing_key(rng, key, wc.mask, current)
            want2 = ref.lookup(k2)
            assert want2 is want, (f"unsound wildcards {wc}: key {key:#x} -> {want}, "
                                   f"agreeing key {k2:#x} -> {want2}")
            assert cls.lookup(k2) is want2


def check_queries(cls: Classifier, ref: LinearClassifier, current: list[gen.Rule], probes: list[gen.Rule]) -> None:
    for probe in probes + current[:5]:
        m, p = probe.match, probe.priority
        assert cls.find_exact(m, p) is ref.find_exact(m, p)
        assert list(cls.find_loose(m)) == list(ref.find_loose(m))
        assert list(cls.find_overlapping(m, p)) == list(ref.find_overlapping(m, p))


@SETTINGS
@given(ops=gen.ops, probes=st.lists(gen.rules(conj=False), max_size=4), seed=st.integers(0, 2**32))
def test_matches_reference(ops, probes, seed) -> None:
    rng = random.Random(seed)
    cls, ref, current = Classifier(), LinearClassifier(), []
    for i, op in enumerate(ops):
        apply(op, cls, ref, current)
        if i % 8 == 7:
            check_table(cls, ref, current, rng, n_packets=10)
    check_table(cls, ref, current, rng)
    check_queries(cls, ref, current, probes)
    # Removals alone (no insert re-sorts the subtables in between), down to an empty table that leaves nothing
    # behind.
    rng.shuffle(current)
    while current:
        apply(("remove", 0), cls, ref, current)
        check_table(cls, ref, current, rng, n_packets=5, n_agree=2)
    assert cls.n_subtables == 0 and cls.lookup(gen.random_packet(rng)) is None


@SETTINGS
@given(rules=st.lists(gen.rules(conj=False, pri_max=1), max_size=30), seed=st.integers(0, 2**32))
def test_many_ties(rules, seed) -> None:
    """Two priorities only: the insertion-order tie-break decides most lookups."""
    rng = random.Random(seed)
    cls, ref, current = Classifier(), LinearClassifier(), []
    for r in rules:
        apply(("insert", r), cls, ref, current)
    check_table(cls, ref, current, rng, n_packets=30)


@SETTINGS
@given(rules=st.lists(gen.rules(conj=True, pri_max=2, max_fields=2, conj_one_in=2), max_size=30),
       targets=st.lists(st.tuples(st.sampled_from([1, 2, 3]), st.integers(0, 3), gen.matches(max_fields=2)),
                        max_size=4),
       fallback_pris=st.lists(st.integers(0, 3), min_size=3, max_size=3), seed=st.integers(0, 2**32))
def test_conjunctions(rules, targets, fallback_pris, seed) -> None:
    """Tables dense in clause rules, plus conj_id=N rules (some also matching other fields) to find."""
    rng = random.Random(seed)
    cls, ref, current = Classifier(), LinearClassifier(), []
    for r in rules:
        apply(("insert", r), cls, ref, current)
    conj_f = F.BY_NAME["conj_id"]
    # A conj_id=N rule for every id, so that most satisfied conjunctions find their flow.
    targets = [(cid, pri, Match()) for cid, pri in zip((1, 2, 3), fallback_pris)] + targets
    for cid, pri, m in targets:
        m = Match(m.value, m.mask).set(conj_f, cid)
        apply(("insert", gen.Rule(m, pri)), cls, ref, current)
    check_table(cls, ref, current, rng, n_packets=30)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.large_base_example])
@given(rules=st.lists(gen.rules(conj=False, pri_max=1000), max_size=60), seed=st.integers(0, 2**32))
def test_other_prefix_fields(rules, seed) -> None:
    """Another choice of prefix fields (none, and a non-address one) answers the same."""
    rng = random.Random(seed)
    for prefix_fields in ((), ("nw_src",), ("ipv6_dst", "nd_target", "metadata")):
        cls, ref, current = Classifier(prefix_fields), LinearClassifier(), []
        for r in rules:
            apply(("insert", r), cls, ref, current)
        check_table(cls, ref, current, rng, n_packets=8, n_agree=3)
