"""The MAC learning table against Open vSwitch 3.1 and against a reference model.

The transcripts in ``tests/data/ofproto/mac_learning_*.txt`` were recorded from a real ovs-vswitchd (dummy datapath,
its clock stopped and moved with ``time/warp``): packets injected with ``netdev-dummy/receive`` so that NORMAL
learns, then ``fdb/show``, ``fdb/stats-show``, ``fdb/add``, ``fdb/del``, ``fdb/flush`` and aging/size settings.
``replay`` runs the same commands against ``MacLearning`` and must print exactly what Open vSwitch printed.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Hashable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch.ofproto.mac_learning import (
    FdbError,
    MacEntry,
    MacLearning,
    parse_mac,
    parse_vlan,
)
from pyvswitch.util.clock import ManualClock

DATA = Path(__file__).parent.parent / "data" / "ofproto"
LOCAL = 0xFFFE
BOND = "bond0"
PORTS: dict[str, Hashable] = {"p1": 1, "p2": 2, "p3": 3, "br0": LOCAL, "p4": BOND, "p5": BOND}
APPCTL_ERROR = "ovs-appctl: ovs-vswitchd: server returned an error\n"


def label(port: Hashable) -> str:
    """Open vSwitch prints a port's OpenFlow number, a bond's first member's (p4 is 4)."""
    return {LOCAL: "LOCAL", BOND: "4"}.get(port, str(port))


def transcript(text: str) -> list[tuple[str, str]]:
    """(command, its recorded output) pairs of a transcript."""
    steps: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif line.startswith("#"):
            continue
        else:
            steps[-1][1].append(line + "\n")
    return [(cmd, "".join(out)) for cmd, out in steps]


def receive(ml: MacLearning, port_name: str, flow: str) -> None:
    """Learn from a ``netdev-dummy/receive`` flow as NORMAL would (source, VLAN, gratuitous ARP)."""
    src = re.search(r"eth\(src=([0-9a-f:]+),dst=([0-9a-f:]+)\)", flow)
    assert src
    vid = re.search(r"vlan\(vid=(\d+)", flow)
    arp = re.search(r"arp\(sip=([\d.]+),tip=([\d.]+),op=(\d+)", flow)
    garp = arp is not None and src.group(2) == "ff:ff:ff:ff:ff:ff" and (
        arp.group(3) == "2" or arp.group(1) == arp.group(2))
    vlan, port = int(vid.group(1)) if vid else 0, PORTS[port_name]
    known = ml.get(vlan, src.group(1))
    if port == BOND and known is not None and known.port != port and not (
            garp and not ml.is_grat_arp_locked(known)):
        return                          # An SLB bond drops it: probably our own frame reflected back.
    ml.learn(vlan, src.group(1), port, gratuitous_arp=garp, bond=port == BOND)


def appctl(ml: MacLearning, clock: ManualClock, args: list[str]) -> str:
    """What ``ovs-appctl ARGS`` prints for bridge br0 backed by ``ml`` (errors with ovs-appctl's last line)."""
    cmd, rest = args[0], args[1:]
    try:
        if cmd == "time/stop":
            return ""
        if cmd == "time/warp":
            clock.advance(int(rest[0]) / 1000)
            return "warped\n"
        if cmd in ("dpctl/del-flows", "netdev-dummy/receive"):
            if cmd == "netdev-dummy/receive":
                receive(ml, rest[0], rest[1])
            return ""
        if rest and rest[0] != "br0":
            raise FdbError("no such bridge")
        if cmd == "fdb/show":
            return ml.format_fdb_show(port_label=label)
        if cmd == "fdb/stats-show":
            return ml.format_stats_show("br0")
        if cmd == "fdb/stats-clear":
            ml.clear_stats()
            return "statistics successfully cleared\n"
        if cmd == "fdb/flush":
            ml.flush()
            return "table successfully flushed\n"
        if cmd == "fdb/add":
            port_name, vlan, mac = rest[1:]
            if port_name not in PORTS:
                raise FdbError("software error, odp port is present but no ofp port")
            replaced = ml.add_static(parse_vlan(vlan), parse_mac(mac), PORTS[port_name])
            return ml.format_add_reply(replaced, label)
        if cmd == "fdb/del":
            if not ml.del_static(parse_vlan(rest[1]), parse_mac(rest[2])):
                raise FdbError("could not find static mac entry")
            return ""
    except FdbError as e:
        return f"{e}\n{APPCTL_ERROR}"
    raise AssertionError(f"unknown command {args}")


def replay(text: str) -> None:
    clock = ManualClock(1000.25)
    ml = MacLearning(clock)
    for n, (cmd, expected) in enumerate(transcript(text)):
        args = shlex.split(cmd)
        if args[0] == "ovs-vsctl":
            key, value = args[-1].removeprefix("other_config:").split("=")
            if key == "mac-aging-time":
                ml.set_config(aging_time=int(value))
            else:
                ml.set_config(max_entries=int(value))
            got = ""
        else:
            got = appctl(ml, clock, args[1:])
        ml.expire()                     # What ovs-vswitchd's main loop does after every command.
        assert got == expected, f"step {n}: {cmd}"


@pytest.mark.parametrize("name", ["mac_learning_show.txt", "mac_learning_aging.txt", "mac_learning_evict.txt",
                                  "mac_learning_garp.txt"])
def test_replays_open_vswitch_transcript(name: str) -> None:
    replay((DATA / name).read_text())


def test_replay_notices_a_difference() -> None:
    text = (DATA / "mac_learning_evict.txt").read_text()
    changed = text.replace("    1     0  50:54:00:00:01:04    1", "    1     0  50:54:00:00:01:02    1")
    assert changed != text
    with pytest.raises(AssertionError):
        replay(changed)


# ----- rules not covered by the transcripts -----

A, B = "50:54:00:00:00:0a", "50:54:00:00:00:0b"


def entry(ml: MacLearning, vlan: int, mac: str) -> MacEntry:
    e = ml.get(vlan, mac)
    assert e is not None
    return e


def test_learn_lookup_and_multicast() -> None:
    ml = MacLearning(ManualClock())
    assert ml.learn(0, A, "p1") is True
    assert ml.learn(0, A, "p1") is False
    assert ml.lookup(0, A) == "p1" and ml.lookup(1, A) is None
    assert ml.learn(0, "ff:ff:ff:ff:ff:ff", "p1") is False
    assert ml.learn(0, "01:00:5e:00:00:01", "p1") is False and len(ml) == 1
    ml.add_static(0, "01:00:5e:00:00:01", "p2")
    assert ml.lookup(0, "01:00:5e:00:00:01") is None
    assert ml.del_static(0, "01:00:5e:00:00:01") is False      # As in Open vSwitch: found like a destination.
    assert ml.learn(0, parse_mac(B), "p2") and ml.lookup(0, bytes.fromhex("50540000000b")) == "p2"


def test_move_counts_and_same_second_rules() -> None:
    clock = ManualClock(10.5)
    ml = MacLearning(clock)
    ml.learn(0, A, "p1")
    assert ml.learn(0, A, "p2") is True and ml.stats.moved == 1 and ml.lookup(0, A) == "p2"
    ml.learn(0, B, "p1")
    clock.advance(0.4)                  # Same whole second: re-learning on the same port changes nothing.
    ml.learn(0, A, "p2")
    assert [e.mac for e in ml] == [parse_mac(A), parse_mac(B)]
    clock.advance(0.2)                  # Next second: it is refreshed and becomes the most recently used.
    ml.learn(0, A, "p2")
    assert [e.mac for e in ml] == [parse_mac(B), parse_mac(A)]
    assert ml.age(entry(ml, 0, A)) == 0 and ml.age(entry(ml, 0, B)) == 1


def test_gratuitous_arp_lock_only_holds_against_bonds() -> None:
    clock = ManualClock()
    ml = MacLearning(clock)
    ml.learn(0, A, "p1", gratuitous_arp=True)
    clock.advance(1)
    assert ml.learn(0, A, "bond", gratuitous_arp=True, bond=True) is False
    assert ml.lookup(0, A) == "p1" and ml.age(entry(ml, 0, A)) == 0        # Refreshed, not moved.
    assert ml.learn(0, A, "bond", bond=True) is True                    # Not a gratuitous ARP: moves.
    ml.learn(0, B, "p1", gratuitous_arp=True)
    assert ml.learn(0, B, "p2", gratuitous_arp=True) is True             # Non-bond ports are not held.
    clock.advance(4)
    assert ml.learn(0, B, "bond", gratuitous_arp=True, bond=True) is False
    clock.advance(1)                    # The lock lasts 5 s after the last non-bond gratuitous ARP.
    assert ml.learn(0, B, "bond", gratuitous_arp=True, bond=True) is True


def test_static_entries() -> None:
    clock = ManualClock()
    ml = MacLearning(clock, aging_time=15)
    ml.learn(0, A, "p1")
    replaced = ml.add_static(0, A, "p2")
    assert replaced is not None and replaced.port == "p1" and not replaced.is_static
    assert ml.stats.moved == 0 and ml.n_static == 1
    assert ml.learn(0, A, "p3") is False and ml.lookup(0, A) == "p2"
    clock.advance(10_000)
    assert ml.expire() == [] and ml.flush() == [] and ml.lookup(0, A) == "p2"
    ml.set_config(aging_time=300)
    assert entry(ml, 0, A).is_static and "static" in ml.format_fdb_show()
    assert ml.del_static(0, A) and not ml.del_static(0, A) and ml.n_static == 0
    ml.learn(0, B, "p1")
    assert not ml.del_static(0, B)


def test_flush_port_and_vlan() -> None:
    ml = MacLearning(ManualClock())
    ml.learn(0, A, "p1")
    ml.learn(5, A, "p1")
    ml.learn(5, B, "p2")
    ml.add_static(0, B, "p1")
    assert sorted(ml.flush_vlan(5)) == [(5, parse_mac(A)), (5, parse_mac(B))]
    assert sorted(ml.flush_port("p1")) == [(0, parse_mac(A)), (0, parse_mac(B))]
    assert len(ml) == 0 and ml.n_static == 0


def test_config_ranges() -> None:
    ml = MacLearning(ManualClock(), aging_time=1, max_entries=1)
    assert (ml.aging_time, ml.max_entries) == (15, 10)
    ml.set_config(aging_time=10**6, max_entries=10**9)
    assert (ml.aging_time, ml.max_entries) == (3600, 1_000_000)
    assert (MacLearning().aging_time, MacLearning().max_entries) == (300, 8192)


def test_flood_vlans() -> None:
    ml = MacLearning(ManualClock())
    ml.learn(7, A, "p1")
    rev = ml.revision
    assert ml.set_flood_vlans([7]) and not ml.set_flood_vlans([7])
    assert ml.lookup(7, A) is None and ml.learn(7, B, "p1") is False
    assert ml.changed_since(rev) is None


def test_revision_and_changed_since() -> None:
    clock = ManualClock()
    ml = MacLearning(clock, aging_time=15)
    r0 = ml.revision
    ml.learn(0, A, "p1")
    r1 = ml.revision
    assert r1 > r0 and ml.changed_since(r0) == {(0, parse_mac(A))}
    clock.advance(2)
    ml.learn(0, A, "p1")                # A refresh does not change any lookup.
    assert ml.revision == r1 and ml.changed_since(r1) == set()
    ml.learn(0, B, "p2")
    ml.learn(0, A, "p2")
    assert ml.changed_since(r1) == {(0, parse_mac(A)), (0, parse_mac(B))}
    clock.advance(100)
    ml.expire()
    assert ml.changed_since(r1) == {(0, parse_mac(A)), (0, parse_mac(B))} and ml.revision > r1 + 2
    for i in range(5000):
        ml.learn(0, i + 1, "p1")
    assert ml.changed_since(r1) is None and ml.changed_since(ml.revision - 1) is not None


def test_format_columns() -> None:
    ml = MacLearning(ManualClock())
    ml.add_static(65535, A, LOCAL)
    ml.learn(10, B, 12345)
    assert ml.format_fdb_show(port_label=label) == (
        " port  VLAN  MAC                Age\n"
        "LOCAL  65535  50:54:00:00:00:0a  static\n"
        "12345    10  50:54:00:00:00:0b    0\n")


def test_parse_vlan_and_mac() -> None:
    assert [parse_vlan(s) for s in ["0", "10", "abc", "-1", "4096", " 7x", "+3"]] == [0, 10, 0, 65535, 4096, 7, 3]
    for bad in ["zz", "50:54:00:00:00", "50:54:00:00:00:000", "", "1:2:3:4:5:6:7"]:
        with pytest.raises(FdbError, match="bad MAC address"):
            parse_mac(bad)
    assert parse_mac("5:4:0:0:0:a") == 0x05040000000A


# ----- against a reference model -----

OPS = st.lists(st.one_of(
    st.tuples(st.just("learn"), st.integers(0, 2), st.integers(0, 5), st.sampled_from(["p1", "p2", "p3"])),
    st.tuples(st.just("tick"), st.floats(0, 20, allow_nan=False)),
    st.tuples(st.just("static"), st.integers(0, 2), st.integers(0, 5), st.sampled_from(["p1", "p2"])),
), max_size=60)

MACS = [0x505400000000 + i for i in range(5)] + [0x010000000001]


@settings(max_examples=300, deadline=None)
@given(OPS)
def test_against_a_dict_model(ops: list[tuple]) -> None:
    """learn/lookup/expire/age and the LRU order agree with a plain dict of key -> (port, second learned or None
    if static), kept in least recently used order."""
    clock = ManualClock(0.5)
    ml = MacLearning(clock, aging_time=15)
    model: dict[tuple[int, int], tuple[str, int | None]] = {}
    learned = moved = expired = 0
    for op in ops:
        t = int(clock.now())
        if op[0] == "tick":
            clock.advance(op[1])
            t = int(clock.now())
            gone = {k for k, (_, s) in model.items() if s is not None and t >= s + 15}
            expired += len(gone)
            model = {k: v for k, v in model.items() if k not in gone}
            assert set(ml.expire()) == gone
        elif op[0] == "learn":
            _, vlan, i, port = op
            key = (vlan, MACS[i])
            rev = ml.revision
            changed = ml.learn(vlan, MACS[i], port)
            old = model.get(key)
            old_port, since = (None, t) if old is None else old
            if MACS[i] >> 40 & 1 or since is None:
                assert not changed and ml.revision == rev
                continue
            if old is None:
                learned += 1
            elif old_port != port:
                moved += 1
            if old_port != port or t > since:
                model.pop(key, None)    # Dict order is the model's LRU order.
                model[key] = (port, t)
            assert changed == (old_port != port)
            assert (ml.changed_since(rev) == {key}) == changed
        else:
            _, vlan, i, port = op
            ml.add_static(vlan, MACS[i], port)
            model.pop((vlan, MACS[i]), None)
            model[(vlan, MACS[i])] = (port, None)
        for vlan in range(3):
            for mac in MACS:
                want = model.get((vlan, mac))
                assert ml.lookup(vlan, mac) == (None if want is None or mac >> 40 & 1 else want[0])
        for e in ml:
            port, since = model[e.key]
            assert e.port == port and ml.age(e) == (None if since is None else t - since)
        assert [e.key for e in ml] == list(model)
        assert (ml.stats.learned, ml.stats.moved, ml.stats.expired) == (learned, moved, expired)
        assert ml.n_static == sum(1 for _, s in model.values() if s is None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.sampled_from("abcd")), max_size=80))
def test_eviction_is_fair(learns: list[tuple[int, str]]) -> None:
    """A full table never grows, and makes room by evicting the least recently used entry of a port with the
    most entries."""
    ml = MacLearning(ManualClock(), max_entries=10)
    for mac, port in learns:
        before = {e.key: e.port for e in ml}
        counts = {p: sum(1 for q in before.values() if q == p) for p in set(before.values())}
        ml.learn(0, 0x505400000000 + mac, port)
        assert len(ml) <= 10
        gone = set(before) - {e.key for e in ml}
        if gone:
            (key,) = gone
            victim = before[key]
            assert counts[victim] == max(counts.values())
            first_of_port = next(k for k, p in before.items() if p == victim)
            assert key == first_of_port
