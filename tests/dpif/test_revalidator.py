"""The revalidator (pyvswitch.dpif.revalidator) over the userspace datapath and a fake translation.

The fake translation is a dict-like list of rules, as in test_netdev_dpif.py; the tests change the rules the
way OpenFlow flow-mods would, then check that a revalidation pass deletes the megaflows that became wrong,
fixes in place those whose actions alone changed, keeps the rest, expires idle ones on an injected clock and
hands back the statistics since the previous pass.  A Hypothesis test checks the invariant that matters: after
a pass, every packet that hits a megaflow gets exactly the actions the current rules give it.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyvswitch.dpif.netdev_dpif import NetdevDpif, dummy_dpif
from pyvswitch.dpif.odp import Action, Output
from pyvswitch.dpif.revalidator import DELETE, EXPIRE, KEEP, MODIFY, Revalidator
from pyvswitch.flow import fields as F
from pyvswitch.flow.extract import extract
from pyvswitch.packet.build import udp4_frame

BASE = (F.storage_mask("in_port") | F.storage_mask("recirc_id") | F.storage_mask("packet_type")
        | F.storage_mask("dl_type") | (3 << F.STORAGE["nw_frag"][0]))

Rules = list[tuple[int, dict[str, int], Sequence[Action]]]


class FakeXlate:
    def __init__(self, rules: Rules) -> None:
        self.rules = rules

    def translate(self, key: int) -> tuple[tuple[Action, ...], int]:
        mask = BASE
        for _, match, actions in sorted(self.rules, key=lambda r: -r[0]):
            for name in match:
                mask |= F.storage_mask(name)
            if all(F.storage_get(key, name) == value for name, value in match.items()):
                return tuple(actions), mask
        return (), mask

    def handler(self, misses: list[tuple[bytes, int]]) -> list[tuple[int, int | None, Sequence[Action]] | None]:
        out: list[tuple[int, int | None, Sequence[Action]] | None] = []
        for _, key in misses:
            actions, mask = self.translate(key)
            out.append((key, mask, actions))
        return out


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def setup(rules: Rules) -> tuple[NetdevDpif, FakeXlate, Revalidator, Clock, dict[int, list[bytes]]]:
    clock = Clock()
    dp = dummy_dpif(clock=clock)
    sent: dict[int, list[bytes]] = {}
    for no in (1, 2, 3, 4):
        sent[no] = []
        dp.port_add(f"p{no}", "dummy", send=sent[no].append)
    xl = FakeXlate(rules)
    dp.upcall_handler = xl.handler
    return dp, xl, Revalidator(dp, xl.translate), clock, sent


def test_unchanged_rules_keep_flows_and_push_stats() -> None:
    dp, _, rv, clock, _ = setup([(10, {"in_port": 1}, [Output(2)])])
    frame = udp4_frame()
    dp.receive(1, [frame])
    assert rv.revalidate(clock.t) == []                 # no traffic on the flow yet, nothing changed
    clock.t += 1
    dp.receive(1, [frame, frame])
    (d,) = rv.revalidate(clock.t)
    assert (d.outcome, d.packets, d.bytes, d.used, d.actions) == (KEEP, 2, 2 * len(frame), clock.t, (Output(2),))
    assert rv.revalidate(clock.t) == []                 # already pushed
    dp.receive(1, [frame])
    (d,) = rv.revalidate(clock.t)
    assert (d.packets, d.bytes) == (1, len(frame))
    assert len(list(dp.flow_dump())) == 1


def test_changed_actions_same_mask_modify_in_place() -> None:
    rules: Rules = [(10, {"in_port": 1}, [Output(2)])]
    dp, _xl, rv, clock, sent = setup(rules)
    frame = udp4_frame()
    dp.receive(1, [frame])                               # miss: installs
    dp.receive(1, [frame])                               # hit: counted
    (before,) = dp.flow_dump()
    rules[0] = (10, {"in_port": 1}, [Output(3)])
    (d,) = rv.revalidate(clock.t)
    assert d.outcome == MODIFY and d.actions == (Output(2),) and d.packets == 1
    (after,) = dp.flow_dump()
    assert (after.ufid, after.mask, after.actions, after.packets) == (before.ufid, before.mask, (Output(3),), 1)
    dp.receive(1, [frame])
    assert sent[3] == [frame] and rv.n_modified == 1


def test_rule_needing_more_fields_deletes_flow() -> None:
    rules: Rules = [(10, {"in_port": 1}, [Output(2)])]
    dp, _xl, rv, clock, sent = setup(rules)
    dp.receive(1, [udp4_frame(dport=53)])
    rules.append((20, {"tp_dst": 53}, [Output(4)]))      # a higher-priority rule on a field not in the mask
    (d,) = rv.revalidate(clock.t)
    assert d.outcome == DELETE and rv.n_deleted == 1
    assert list(dp.flow_dump()) == []
    dp.receive(1, [udp4_frame(dport=53), udp4_frame(dport=54)])
    assert sent[4] == [udp4_frame(dport=53)] and sent[2] == [udp4_frame(dport=53), udp4_frame(dport=54)]


def test_wider_new_mask_keeps_narrower_flow() -> None:
    rules: Rules = [(20, {"tp_dst": 53}, [Output(4)]), (10, {"in_port": 1}, [Output(2)])]
    dp, _xl, rv, clock, _ = setup(rules)
    dp.receive(1, [udp4_frame(dport=54)])
    del rules[0]                                         # the flow's mask now matches more than needed
    assert rv.revalidate(clock.t) == []
    assert len(list(dp.flow_dump())) == 1


def test_translation_failure_deletes() -> None:
    dp, _xl, _, clock, _ = setup([(10, {}, [Output(2)])])
    rv = Revalidator(dp, lambda key: None)
    dp.receive(1, [udp4_frame()])
    (d,) = rv.revalidate(clock.t)
    assert d.outcome == DELETE and dp.get_stats().n_flows == 0


def test_idle_flows_expire_on_injected_clock() -> None:
    dp, _xl, rv, clock, _ = setup([(10, {}, [Output(2)])])
    dp.receive(1, [udp4_frame(sport=1)])                 # installed at 1000, never hit
    dp.receive(2, [udp4_frame(sport=2)])                 # installed at 1000
    clock.t = 1006.0
    dp.receive(2, [udp4_frame(sport=2)])                 # hit: used at 1006
    deltas = {d.outcome: d for d in rv.revalidate(1010.5)}     # idle 10.5 s and 4.5 s
    assert set(deltas) == {EXPIRE, KEEP}
    assert F.storage_get(deltas[EXPIRE].key, "in_port") == 1 and deltas[EXPIRE].packets == 0
    assert F.storage_get(deltas[KEEP].key, "in_port") == 2 and deltas[KEEP].packets == 1
    (f,) = dp.flow_dump()
    assert F.storage_get(f.key, "in_port") == 2
    assert rv.revalidate(1016.0) == [] and dp.get_stats().n_flows == 1     # exactly 10 s idle: kept
    (d,) = rv.revalidate(1016.25)
    assert d.outcome == EXPIRE and d.packets == 0 and rv.n_expired == 2
    assert dp.get_stats().n_flows == 0


def test_max_idle_is_configurable() -> None:
    dp, xl, _, clock, _ = setup([(10, {}, [Output(2)])])
    rv = Revalidator(dp, xl.translate, max_idle=1.0)
    dp.receive(1, [udp4_frame()])
    assert rv.revalidate(clock.t + 1.0) == []
    assert [d.outcome for d in rv.revalidate(clock.t + 1.5)] == [EXPIRE]


def test_deleted_flow_reports_final_stats() -> None:
    rules: Rules = [(10, {"in_port": 1}, [Output(2)])]
    dp, _xl, rv, clock, _ = setup(rules)
    dp.receive(1, [udp4_frame()])
    dp.receive(1, [udp4_frame()] * 3)
    assert rv.revalidate(clock.t)[0].packets == 3
    dp.receive(1, [udp4_frame()] * 2)
    rules.append((20, {"tp_src": 1024}, [Output(3)]))
    (d,) = rv.revalidate(clock.t)
    assert (d.outcome, d.packets) == (DELETE, 2)


# Hypothesis: random rule sets and packets; after each pass no installed flow disagrees with translation.
PORTS = st.integers(1, 2)
DPORTS = st.sampled_from([53, 54, 80])
RULE = st.tuples(st.integers(0, 3), st.dictionaries(st.sampled_from(["in_port", "tp_dst"]),
                                                     st.sampled_from([1, 2, 53, 80]), max_size=2),
                 st.sampled_from([(), (Output(1),), (Output(2),), (Output(3),)]))
RULESETS = st.lists(st.lists(RULE, max_size=4), min_size=1, max_size=4)
PACKETS = st.lists(st.tuples(PORTS, DPORTS), min_size=1, max_size=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RULESETS, st.lists(PACKETS, min_size=4, max_size=4))
def test_revalidation_never_leaves_a_wrong_flow(rulesets: list[Rules], traffic: list[list[tuple[int, int]]]) -> None:
    rules: Rules = list(rulesets[0])
    dp, xl, rv, clock, _ = setup(rules)
    universe = [(p, extract(udp4_frame(dport=d), p)) for p in (1, 2) for d in (53, 54, 80)]
    total_hits = 0
    pushed = 0
    for i, packets in enumerate(traffic):
        for port, dport in packets:
            dp.receive(port, [udp4_frame(dport=dport)])
        rules[:] = rulesets[i % len(rulesets)]
        pushed += sum(d.packets for d in rv.revalidate(clock.t))
        for flow in dp.flow_dump():
            actions, mask = xl.translate(flow.key)
            assert actions == flow.actions and not mask & ~flow.mask
        for _, key in universe:
            for flow in dp.flow_dump():
                if key & flow.mask == flow.key:
                    assert flow.actions == xl.translate(key)[0]
        total_hits = dp.get_stats().n_hit
        clock.t += 1
    # Every hit was counted in some flow, and pushed exactly once (the last pass came after the last hit).
    assert pushed == total_hits
