"""Examples: the API's contract, the width of the wildcards in the cases Open vSwitch documents, conjunctions."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pyvswitch.classifier import STAGE_MASKS, Classifier
from pyvswitch.flow import fields as F
from pyvswitch.flow.match import Match, Wildcards
from tests.classifier.gen import Rule
from tests.classifier.linear import LinearClassifier


def match(**kw: int | tuple[int, int]) -> Match:
    m = Match()
    for name, v in kw.items():
        m = m.set(F.field(name), *v) if isinstance(v, tuple) else m.set(F.field(name), v)
    return m


def key(**kw: int) -> int:
    k = 0
    for name, v in kw.items():
        k = F.put(k, F.field(name), v)
    return k


def ip(s: str) -> int:
    a, b, c, d = (int(x) for x in s.split("."))
    return a << 24 | b << 16 | c << 8 | d


def pinned(wc: Wildcards, name: str) -> int:
    """The mask of field ``name`` in the wildcards."""
    return F.get(wc.mask, F.field(name))


def lookup(cls: Classifier, k: int) -> tuple[object, Wildcards]:
    wc = Wildcards()
    return cls.lookup(k, wc), wc


UDP_PKT = {"in_port": 1, "dl_type": 0x800, "nw_src": ip("172.16.0.9"), "nw_dst": ip("192.168.0.1"),
           "nw_proto": 17, "tp_src": 1234, "tp_dst": 53}


# -- the API -----------------------------------------------------------------------------------------------------

def test_basic_api() -> None:
    cls = Classifier()
    a = Rule(match(in_port=1), 10)
    b = Rule(match(in_port=1), 20)
    c = Rule(Match(), 0)
    for r in (a, b, c):
        cls.insert(r)
    assert len(cls) == 3 and list(cls) == [b, a, c] and a in cls
    assert cls.lookup(key(in_port=1)) is b
    assert cls.lookup(key(in_port=2)) is c
    with pytest.raises(ValueError):
        cls.insert(a)                                     # the same object twice
    with pytest.raises(ValueError):
        cls.insert(Rule(match(in_port=1), 10))            # identical match and priority
    a2 = Rule(match(in_port=1), 10)
    assert cls.replace(a2) is a and a not in cls and cls.find_exact(match(in_port=1), 10) is a2
    assert cls.replace(Rule(match(in_port=3), 10)) is None and len(cls) == 4
    assert cls.find_exact(match(in_port=1), 11) is None
    assert list(cls.find_loose(match(in_port=1))) == [b, a2]
    assert list(cls.find_loose(Match())) == list(cls)
    assert list(cls.find_overlapping(Match(), 10)) == [a2, cls.find_exact(match(in_port=3), 10)]
    cls.remove(b)
    with pytest.raises(ValueError):
        cls.remove(b)
    assert cls.lookup(key(in_port=1)) is a2
    # Snapshots: removing while iterating is allowed.
    for r in cls.find_loose(Match()):
        cls.remove(r)
    assert len(cls) == 0 and cls.n_subtables == 0 and cls.lookup(key(in_port=1)) is None


def test_bad_rules_are_refused() -> None:
    cls = Classifier()
    for conj in [((1, 0, 2),), ((1, 3, 2),), ((1, 1),), ((1 << 32, 1, 2),)]:
        with pytest.raises(ValueError):
            cls.insert(Rule(Match(), 1, conj))
    assert len(cls) == 0


def test_ties_go_to_the_first_inserted_and_replace_keeps_the_place() -> None:
    cls = Classifier()
    first = Rule(match(in_port=1), 5)
    second = Rule(match(nw_proto=17), 5)
    cls.insert(first)
    cls.insert(second)
    k = key(**UDP_PKT)
    assert cls.lookup(k) is first
    replacement = Rule(match(in_port=1), 5)
    cls.replace(replacement)
    assert cls.lookup(k) is replacement
    cls.remove(replacement)
    assert cls.lookup(k) is second


def test_removal_that_lowers_a_subtables_priority_reorders_the_search() -> None:
    cls = Classifier()
    cls.insert(Rule(match(in_port=1), 10))
    mid = Rule(match(in_port=2), 5)
    cls.insert(mid)
    high = Rule(match(nw_proto=6), 9)
    cls.insert(high)
    cls.insert(Rule(match(nw_proto=17), 1))
    dns = Rule(match(tp_dst=53), 8)
    cls.insert(dns)
    k = key(**dict(UDP_PKT, in_port=2))
    assert cls.lookup(k) is dns
    cls.remove(high)          # the nw_proto subtable now tops out at 1: it must move behind tp_dst's
    assert cls.lookup(k) is dns
    cls.remove(dns)
    assert cls.lookup(k) is mid


# -- wildcards: staged lookup, prefix tracking, priority order ---------------------------------------------------

def test_prefix_tracking_pins_only_leading_bits() -> None:
    """The example of classifier.h: ip,nw_dst=10.0.0.0/8 and a catch-all; a packet to 192.168.0.1 needs only the
    first bit of nw_dst (192 = 1xxxxxxx, 10 = 0xxxxxxx)."""
    cls = Classifier()
    cls.insert(Rule(match(dl_type=0x800, nw_dst=(ip("10.0.0.0"), 0xFF000000)), 10))
    catchall = Rule(Match(), 0)
    cls.insert(catchall)
    rule, wc = lookup(cls, key(**UDP_PKT))
    assert rule is catchall
    assert pinned(wc, "nw_dst") == 0x80000000
    for name in ("nw_src", "tp_dst", "in_port", "nw_proto"):
        assert pinned(wc, name) == 0, name
    # A packet inside 10/8 hits the rule and pins its whole mask.
    rule, wc = lookup(cls, key(**dict(UDP_PKT, nw_dst=ip("10.1.2.3"))))
    assert rule is not catchall and pinned(wc, "nw_dst") == 0xFF000000 and pinned(wc, "dl_type") == 0xFFFF
    # 11.0.0.0 shares 7 bits with 10/8: the walk examines 8.
    rule, wc = lookup(cls, key(**dict(UDP_PKT, nw_dst=ip("11.0.0.0"))))
    assert rule is catchall and pinned(wc, "nw_dst") == 0xFF000000 and pinned(wc, "dl_type") == 0


def test_prefix_tracking_ipv6() -> None:
    cls = Classifier(("ipv6_dst",))   # Not a default prefix field (Open vSwitch tracks IPv4 by default).
    cls.insert(Rule(match(dl_type=0x86DD, ipv6_dst=(0x20010DB8 << 96, ((1 << 32) - 1) << 96)), 10))
    cls.insert(Rule(Match(), 0))
    _, wc = lookup(cls, key(dl_type=0x86DD, ipv6_dst=0xFE80 << 112))
    assert pinned(wc, "ipv6_dst") == 1 << 127 and pinned(wc, "dl_type") == 0


def test_trie_not_used_when_it_would_pin_more_than_the_subtable() -> None:
    """With 10.1.0.0/16 and 11.0.0.0/8 in the trie, a packet to 10.2.0.0 walks 15 bits; the /8 subtable must
    then be probed normally (8 bits), but the /16 subtable may be skipped with the 15 bits."""
    cls = Classifier()
    cls.insert(Rule(match(nw_dst=(ip("10.1.0.0"), 0xFFFF0000)), 10))
    cls.insert(Rule(match(nw_dst=(ip("11.0.0.0"), 0xFF000000)), 9))
    rule, wc = lookup(cls, key(nw_dst=ip("10.2.0.0")))
    assert rule is None and pinned(wc, "nw_dst") == 0xFFFE0000
    # Alone, the /8 subtable is skipped after the 8 bits that tell 10 from 11.
    cls2 = Classifier()
    cls2.insert(Rule(match(nw_dst=(ip("11.0.0.0"), 0xFF000000)), 9))
    rule, wc = lookup(cls2, key(nw_dst=ip("10.2.0.0")))
    assert rule is None and pinned(wc, "nw_dst") == 0xFF000000


def test_in_port_rules_do_not_pin_l3() -> None:
    cls = Classifier()
    for port in (1, 2, 3):
        cls.insert(Rule(match(in_port=port), 10 + port))
    rule, wc = lookup(cls, key(**dict(UDP_PKT, in_port=7)))
    assert rule is None
    assert wc.mask == F.field("in_port").key_mask


def test_staged_lookup_stops_at_the_first_missing_stage() -> None:
    cls = Classifier()
    cls.insert(Rule(match(in_port=1, dl_type=0x800, nw_proto=6, tp_dst=80), 10))
    # Another port: the metadata stage misses; nothing of L2-L4 is pinned.
    _, wc = lookup(cls, key(**dict(UDP_PKT, in_port=2)))
    assert wc.mask == F.field("in_port").key_mask
    # Right port, UDP: the L3 stage misses; tp_dst stays wildcarded.
    _, wc = lookup(cls, key(**dict(UDP_PKT, nw_proto=17)))
    assert pinned(wc, "nw_proto") == 0xFF and pinned(wc, "dl_type") == 0xFFFF and pinned(wc, "tp_dst") == 0
    # TCP to another port: everything up to L4.
    _, wc = lookup(cls, key(**dict(UDP_PKT, nw_proto=6, tp_dst=81)))
    assert pinned(wc, "tp_dst") == 0xFFFF


def test_subtables_never_visited_are_not_pinned() -> None:
    cls = Classifier()
    top = Rule(match(in_port=1), 100)
    cls.insert(top)
    cls.insert(Rule(match(dl_type=0x800, nw_proto=17, tp_dst=53), 50))
    rule, wc = lookup(cls, key(**UDP_PKT))
    assert rule is top and wc.mask == F.field("in_port").key_mask


def test_stages_partition_the_key() -> None:
    total = 0
    for m in STAGE_MASKS:
        assert not total & m
        total |= m
    assert total == (1 << F.KEY_BITS) - 1


def test_wildcards_accumulate() -> None:
    cls = Classifier()
    cls.insert(Rule(match(in_port=1), 1))
    wc = Wildcards(F.field("metadata").key_mask)
    cls.lookup(key(in_port=2), wc)
    assert wc.mask == F.field("metadata").key_mask | F.field("in_port").key_mask


# -- conjunctive matches -------------------------------------------------------------------------------------------

def conj_table(cls) -> tuple[Rule, Rule]:
    """The example of ovs-fields(7), "Conjunctive match fields"."""
    target = Rule(match(conj_id=1234), 1)
    cls.insert(target)
    for a in ("10.0.0.1", "10.0.0.4", "10.0.0.6", "10.0.0.7"):
        cls.insert(Rule(match(dl_type=0x800, nw_src=ip(a)), 1, ((1234, 1, 2),)))
    for a in ("10.0.0.2", "10.0.0.5", "10.0.0.7", "10.0.0.8"):
        cls.insert(Rule(match(dl_type=0x800, nw_dst=ip(a)), 1, ((1234, 2, 2),)))
    low = Rule(Match(), 0)
    cls.insert(low)
    return target, low


@pytest.mark.parametrize("impl", [Classifier, LinearClassifier])
def test_conjunction_example(impl) -> None:
    cls = impl()
    target, low = conj_table(cls)
    ipk = {"dl_type": 0x800}
    assert cls.lookup(key(**ipk, nw_src=ip("10.0.0.4"), nw_dst=ip("10.0.0.8"))) is target
    assert cls.lookup(key(**ipk, nw_src=ip("10.0.0.7"), nw_dst=ip("10.0.0.7"))) is target
    assert cls.lookup(key(**ipk, nw_src=ip("10.0.0.4"), nw_dst=ip("10.0.0.9"))) is low       # one dimension only
    assert cls.lookup(key(**ipk, nw_src=ip("10.0.0.3"), nw_dst=ip("10.0.0.2"))) is low
    # A packet that already carries conj_id=1234 matches the target directly.
    assert cls.lookup(key(conj_id=1234)) is target


def test_conjunction_wildcards_cover_every_clause() -> None:
    cls = Classifier()
    conj_table(cls)
    k = key(dl_type=0x800, nw_src=ip("10.0.0.4"), nw_dst=ip("10.0.0.8"))
    _, wc = lookup(cls, k)
    assert pinned(wc, "nw_src") == 0xFFFFFFFF and pinned(wc, "nw_dst") == 0xFFFFFFFF
    # The first search tried the conj_id=1234 subtable (same priority as the clauses) with the packet's conj_id.
    assert pinned(wc, "conj_id") == 0xFFFFFFFF


def test_conj_id_search_wildcards_are_kept() -> None:
    """The flow found by the conj_id search pins its own fields (tp_dst here), which the first search, missing at
    conj_id, never looked at."""
    cls = Classifier()
    cls.insert(Rule(match(in_port=1), 9, ((3, 1, 2),)))
    cls.insert(Rule(match(nw_proto=17), 9, ((3, 2, 2),)))
    target = Rule(match(conj_id=3, tp_dst=53), 1)
    cls.insert(target)
    cls.insert(Rule(match(conj_id=0), 0))
    rule, wc = lookup(cls, key(**UDP_PKT))
    assert rule is target and pinned(wc, "tp_dst") == 0xFFFF


def test_ordinary_rule_wins_a_tie_with_a_conjunction() -> None:
    cls = Classifier()
    cls.insert(Rule(match(conj_id=7), 50))
    cls.insert(Rule(match(in_port=1), 5, ((7, 1, 2),)))
    cls.insert(Rule(match(nw_proto=17), 5, ((7, 2, 2),)))
    plain = Rule(match(tp_dst=53), 5)
    cls.insert(plain)
    assert cls.lookup(key(**UDP_PKT)) is plain
    cls.remove(plain)
    assert cls.lookup(key(**UDP_PKT)).match == match(conj_id=7)


def test_failed_conj_id_search_falls_back_to_lower_priorities() -> None:
    """ovs-fields(7): if the search with conj_id=id fails, the conjunctive flow acts as if it had not matched."""
    for impl in (Classifier, LinearClassifier):
        cls = impl()
        cls.insert(Rule(match(in_port=1), 9, ((3, 1, 2),)))
        cls.insert(Rule(match(nw_proto=17), 9, ((3, 2, 2),)))
        # A lower conjunctive flow whose conj_id rule exists, behind a clause of the failing one.
        cls.insert(Rule(match(tp_dst=53), 7, ((4, 1, 2),)))
        cls.insert(Rule(match(tp_src=1234), 7, ((4, 2, 2),)))
        target = Rule(match(conj_id=4), 1)
        cls.insert(target)
        # A catch-all would answer every conj_id search (they are ordinary searches); this one only matches
        # packets that carry no conj_id.
        low = Rule(match(conj_id=0), 0)
        cls.insert(low)
        assert cls.lookup(key(**UDP_PKT)) is target
        cls.remove(target)
        assert cls.lookup(key(**UDP_PKT)) is low
        # With a catch-all, the search for conj_id=3 finds it: the first conjunctive flow wins after all.
        catchall = Rule(Match(), 0)
        cls.insert(catchall)
        assert cls.lookup(key(**UDP_PKT)) is catchall


def test_clause_rule_never_matches_as_itself_even_in_the_conj_id_search() -> None:
    cls = Classifier()
    cls.insert(Rule(match(in_port=1), 9, ((3, 1, 2),)))
    cls.insert(Rule(match(nw_proto=17), 9, ((3, 2, 2),)))
    # The only rule matching conj_id=3 is itself a clause: the search ignores it.
    cls.insert(Rule(match(conj_id=3), 8, ((5, 1, 2),)))
    assert cls.lookup(key(**UDP_PKT)) is None


def test_same_id_at_two_priorities_are_two_flows() -> None:
    cls = Classifier()
    cls.insert(Rule(match(in_port=1), 9, ((3, 1, 2),)))
    cls.insert(Rule(match(nw_proto=17), 8, ((3, 2, 2),)))
    cls.insert(Rule(match(conj_id=3), 1))
    assert cls.lookup(key(**UDP_PKT)) is None
