"""The userspace datapath (pyvswitch.dpif.netdev_dpif) driven by a fake translation, as ofproto drives it.

The fake translation is a list of rules (priority, {storage slot: value}, datapath actions).  Like a real
xlate it un-wildcards the slots of every rule it looked at, plus the metadata the datapath needs (in_port,
recirc_id, packet_type, dl_type, and the IP fragment bits for IP), so its megaflows are correct and as wide as
the rules allow.  The ``dpctl/show`` and ``dpctl/dump-flows`` layouts are pinned to a session with a real
Open vSwitch 3.1 dummy datapath (see ``test_show_and_dump_flows_as_ovs``).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from pyvswitch.dpif.dpif import DpifError
from pyvswitch.dpif.execute import PacketMetadata
from pyvswitch.dpif.netdev_dpif import MAX_RECIRC_DEPTH, NetdevDpif, datapath_mask, dummy_dpif
from pyvswitch.dpif.odp import Action, Output, PushVlan, Recirc, SetField, Userspace, parse_flow
from pyvswitch.flow import fields as F
from pyvswitch.flow.extract import extract
from pyvswitch.netdev.netdev_dummy import DummyNetdev
from pyvswitch.packet.build import tcp4_frame, udp4_frame

TCP_SYN, TCP_ACK = 0x02, 0x10
BASE = (F.storage_mask("in_port") | F.storage_mask("recirc_id") | F.storage_mask("packet_type")
        | F.storage_mask("dl_type"))
FRAG = 3 << F.STORAGE["nw_frag"][0]

Rules = Sequence[tuple[int, dict[str, int], Sequence[Action]]]


class FakeXlate:
    """A pure translation from rules; ``calls`` records every upcall batch (a list of keys)."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.calls: list[list[int]] = []

    def translate(self, key: int) -> tuple[tuple[Action, ...], int]:
        mask = BASE
        if F.storage_get(key, "dl_type") in (0x0800, 0x86DD):
            mask |= FRAG
        for _, match, actions in sorted(self.rules, key=lambda r: -r[0]):
            for name in match:
                mask |= F.storage_mask(name)
            if all(F.storage_get(key, name) == value for name, value in match.items()):
                return tuple(actions), mask
        return (), mask

    def handler(self, misses: list[tuple[bytes, int]]) -> list[tuple[int, int | None, Sequence[Action]] | None]:
        self.calls.append([key for _, key in misses])
        answers: list[tuple[int, int | None, Sequence[Action]] | None] = []
        for _, key in misses:
            actions, mask = self.translate(key)
            answers.append((key, mask, actions))
        return answers


class Clock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def make_dp(rules: Rules, n_ports: int = 3,
            **kwargs: object) -> tuple[NetdevDpif, FakeXlate, dict[int, list[bytes]], Clock]:
    clock = Clock()
    dp = dummy_dpif(clock=clock, **kwargs)  # type: ignore[arg-type]
    sent: dict[int, list[bytes]] = {}
    for no in range(1, n_ports + 1):
        sent[no] = []
        assert dp.port_add(f"p{no}", "dummy", send=sent[no].append) == no
    xl = FakeXlate(rules)
    dp.upcall_handler = xl.handler
    return dp, xl, sent, clock


FORWARD: Rules = [(10, {"in_port": 1}, [Output(2)]), (10, {"in_port": 2}, [Output(1)])]


def test_first_packet_misses_and_installs_then_hits_emc_and_megaflow() -> None:
    dp, xl, sent, clock = make_dp(FORWARD, emc_insert_inv_prob=1)
    frame = udp4_frame()
    dp.receive(1, [frame])
    assert len(xl.calls) == 1 and sent[2] == [frame] and sent[1] == []
    (flow,) = dp.flow_dump()
    assert (flow.packets, flow.bytes, flow.used) == (0, 0, 0.0)        # the upcalled packet is not counted
    assert dp.caches.n_missed == 1
    clock.t = 101.0
    dp.receive(1, [frame])           # megaflow hit (and EMC insertion, 1 in 1)
    dp.receive(1, [frame, frame])    # EMC hits
    assert len(xl.calls) == 1
    assert (dp.caches.n_megaflow_hit, dp.caches.n_emc_hit) == (1, 2)
    (flow,) = dp.flow_dump()
    assert (flow.packets, flow.bytes, flow.used) == (3, 3 * len(frame), 101.0)
    assert sent[2] == [frame] * 4
    s = dp.get_stats()
    assert (s.n_hit, s.n_missed, s.n_lost, s.n_flows) == (3, 1, 0, 1)


def test_megaflow_covers_other_packets_and_mask_forces_in_port_recirc() -> None:
    dp, xl, sent, _ = make_dp(FORWARD)
    dp.receive(1, [udp4_frame(sport=1)])
    dp.receive(1, [udp4_frame(sport=2), tcp4_frame()])       # same megaflow: only eth_type/frag consulted
    assert len(xl.calls) == 1 and len(sent[2]) == 3
    (flow,) = dp.flow_dump()
    assert flow.mask & F.storage_mask("in_port") == F.storage_mask("in_port")
    assert flow.mask & F.storage_mask("recirc_id") == F.storage_mask("recirc_id")
    assert flow.packets == 2


def test_one_upcall_per_batch_and_hits_grouped_by_megaflow() -> None:
    rules: Rules = [(20, {"tp_dst": 53}, [Output(3)]), (10, {"in_port": 1}, [Output(2)])]
    dp, xl, sent, _ = make_dp(rules)
    a, b = udp4_frame(dport=53), udp4_frame(dport=54)
    dp.receive(1, [a, b, a, b])
    assert len(xl.calls) == 1 and len(xl.calls[0]) == 4      # all four missed, one call
    assert sent[3] == [a, a] and sent[2] == [b, b]
    assert len(list(dp.flow_dump())) == 2                    # duplicates found the installed flow
    dp.receive(1, [b, a, b, a, a])
    assert len(xl.calls) == 1
    # Each megaflow's packets are executed together, megaflows in order of their first packet.
    assert sent[2] == [b] * 4 and sent[3] == [a] * 5
    stats = {f.actions: f.packets for f in dp.flow_dump()}
    assert stats == {(Output(3),): 3, (Output(2),): 2}


def test_tcp_flags_are_recorded_and_printed() -> None:
    dp, _, _, clock = make_dp(FORWARD)
    dp.receive(1, [tcp4_frame(tcp_flags=TCP_SYN)])
    dp.receive(1, [tcp4_frame(tcp_flags=TCP_SYN), tcp4_frame(tcp_flags=TCP_ACK)])
    (flow,) = dp.flow_dump()
    assert flow.tcp_flags == TCP_SYN | TCP_ACK
    clock.t += 1.5
    assert ", flags:S., actions:2" in dp.dump_flows()[1]


def test_show_and_dump_flows_as_ovs() -> None:
    """Pinned to Open vSwitch 3.1 with ``datapath_type=dummy``, dummy ports p1 (1) and p2 (2), the bridge's
    own port br0 (100), one OpenFlow flow ``actions=output:2``, and (after ``dpctl/del-flows``) the frames
    udp4_frame() twice, tcp4_frame(), tcp4_frame(tcp_flags=ACK) on p1 and udp4_frame() on p2, injected with
    ``netdev-dummy/receive`` as hex; ``dpctl/dump-flows`` ran 0.31 s later."""
    clock = Clock(50.0)
    dp = dummy_dpif(clock=clock)
    sent: dict[int, list[bytes]] = {1: [], 2: []}
    dp.port_add("p1", "dummy", send=sent[1].append)
    dp.port_add("p2", "dummy", send=sent[2].append)
    dp.port_add("br0", "dummy-internal", 100)
    # output:2 for a packet from port 2 is output to its input port, which OpenFlow drops.
    xl = FakeXlate([(10, {"in_port": 1}, [Output(2)]), (10, {"in_port": 2}, [])])
    dp.upcall_handler = xl.handler
    assert dp.dump_flows() == []
    u = udp4_frame()
    for frame in (u, u, tcp4_frame(), tcp4_frame(tcp_flags=TCP_ACK)):
        dp.receive(1, [frame])
    dp.receive(2, [u])
    clock.t += 0.31
    assert dp.show() == [
        "dummy@ovs-dummy:",
        "  lookups: hit:3 missed:2 lost:0",
        "  flows: 2",
        "  port 0: ovs-dummy (dummy-internal)",
        "  port 1: p1 (dummy)",
        "  port 2: p2 (dummy)",
        "  port 100: br0 (dummy-internal)",
    ]
    assert dp.dump_flows() == [
        "flow-dump from the main thread:",
        ("recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no), packets:3, bytes:150,"
        " used:0.310s, flags:S., actions:2"),
        ("recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no), packets:0, bytes:0,"
        " used:never, actions:drop"),
    ]
    assert dp.dump_flows(names=True)[1].startswith("recirc_id(0),in_port(p1),packet_type(ns=0,id=0)")
    assert dp.dump_flows(names=True)[1].endswith("actions:p2")
    # The megaflow OVS printed parses back to the flow we installed.
    key, mask = parse_flow("recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no)")
    flow = next(dp.flow_dump())
    # The datapath also matches "no VLAN" exactly, which the text does not show (Open vSwitch's does the same).
    assert (flow.key, flow.mask) == (key & datapath_mask(mask), datapath_mask(mask))
    verbose = dp.dump_flows(verbose=True)[1]
    assert verbose.startswith("ufid:") and "skb_priority(0/0)," in verbose and "in_port(p1)" in verbose
    assert verbose.endswith(", dp:ovs, actions:p2, dp-extra-info:miniflow_bits(4,1)")
    dp.del_flows()
    assert dp.dump_flows() == [] and dp.show()[2] == "  flows: 0"
    assert dp.show()[1] == "  lookups: hit:3 missed:2 lost:0"


def test_masks_line_when_reported() -> None:
    dp, _, _, _ = make_dp(FORWARD, report_masks=True)
    dp.receive(1, [udp4_frame(), udp4_frame(sport=7)])    # both miss; no mask existed to probe
    dp.receive(1, [udp4_frame(sport=8)])                  # one probe, a hit
    assert dp.show()[1:4] == ["  lookups: hit:1 missed:2 lost:0", "  flows: 1",
                              "  masks: hit:1 total:1 hit/pkt:0.33"]


def test_flow_limit_counts_lost_but_executes() -> None:
    rules: Rules = [(20, {"tp_dst": 53}, [Output(3)]), (10, {"in_port": 1}, [Output(2)])]
    dp, xl, sent, _ = make_dp(rules, flow_limit=1)
    dp.receive(1, [udp4_frame(dport=53)])
    dp.receive(1, [udp4_frame(dport=54)])
    assert len(list(dp.flow_dump())) == 1
    assert sent[2] == [udp4_frame(dport=54)]          # executed even though not installed
    assert dp.show()[1] == "  lookups: hit:0 missed:2 lost:1"
    dp.receive(1, [udp4_frame(dport=54)])             # still a miss: no flow was installed
    assert len(xl.calls) == 3


def test_failed_upcall_and_no_handler_are_lost_and_dropped() -> None:
    dp, _, sent, _ = make_dp(FORWARD)
    dp.upcall_handler = lambda misses: [None] * len(misses)
    dp.receive(1, [udp4_frame(), udp4_frame(sport=9)])
    assert sent[2] == [] and dp.get_stats().n_lost == 2
    dp.upcall_handler = None
    dp.receive(1, [udp4_frame()])
    assert dp.get_stats().n_lost == 3 and dp.get_stats().n_flows == 0


def test_execute_without_install() -> None:
    dp, _, sent, _ = make_dp(FORWARD)
    dp.upcall_handler = lambda misses: [(key, None, [Output(3)]) for _, key in misses]
    dp.receive(1, [udp4_frame()])
    assert sent[3] == [udp4_frame()] and dp.get_stats().n_flows == 0 and dp.get_stats().n_lost == 0


def test_recirculation_uses_recirc_id_in_key() -> None:
    rules: Rules = [(30, {"recirc_id": 7}, [Output(3)]),
             (10, {"in_port": 1, "recirc_id": 0}, [PushVlan(vid=10), Recirc(7)])]
    dp, xl, sent, _ = make_dp(rules)
    frame = udp4_frame()
    dp.receive(1, [frame])
    assert len(sent[3]) == 1 and sent[3][0] != frame and len(sent[3][0]) == len(frame) + 4
    flows = {F.storage_get(f.key, "recirc_id"): f for f in dp.flow_dump()}
    assert set(flows) == {0, 7}
    lines = dp.dump_flows()
    assert any(line.startswith("recirc_id(0x7),in_port(1),") for line in lines)
    assert len(xl.calls) == 2                           # one upcall per pass
    dp.receive(1, [frame])
    assert len(xl.calls) == 2 and len(sent[3]) == 2
    assert {F.storage_get(f.key, "recirc_id"): f.packets for f in dp.flow_dump()} == {0: 1, 7: 1}


def test_recirculation_depth_limit() -> None:
    dp, _, sent, _ = make_dp([(10, {}, [Recirc(1)])])
    dp.receive(1, [udp4_frame()])
    assert dp.n_recirc_dropped == 1
    assert sum(map(len, sent.values())) == 0
    # The first pass and MAX_RECIRC_DEPTH recirculations were processed, the next one dropped.
    assert dp.caches.n_missed + dp.caches.n_emc_hit + dp.caches.n_megaflow_hit == MAX_RECIRC_DEPTH + 1


def test_userspace_action_goes_to_userspace_handler() -> None:
    got: list[tuple[bytes, Userspace, PacketMetadata]] = []
    action = Userspace(pid=0, userdata=b"\x01\x02\x03\x04\x05\x06\x07\x08")
    dp, _, _, _ = make_dp([(10, {}, [action])])
    dp.userspace_handler = lambda frame, a, md: got.append((frame, a, md))
    dp.receive(2, [udp4_frame()] * 2)
    assert [(f, a, md.in_port) for f, a, md in got] == [(udp4_frame(), action, 2)] * 2


def test_dummy_netdev_ports() -> None:
    dp = dummy_dpif(clock=Clock())
    p1, p2 = DummyNetdev("p1", "dummy"), DummyNetdev("p2", "dummy")
    assert dp.add_netdev(p1) == 1 and dp.add_netdev(p2) == 2
    xl = FakeXlate(FORWARD)
    dp.upcall_handler = xl.handler
    p1.receive(udp4_frame())
    p2.receive(tcp4_frame())
    assert list(p2.sent) == [udp4_frame()] and list(p1.sent) == [tcp4_frame()]
    dp.port_del(2)
    assert p2.rx_handler is None and dp.port_query_by_name("p2") is None
    p1.receive(udp4_frame())                         # the flow outputs to a port that is gone
    assert dp.n_tx_dropped == 1


def test_ports_contract() -> None:
    dp = dummy_dpif()
    assert dp.port_add("a", "dummy") == 1
    assert dp.port_add("b", "dummy", 5) == 5
    assert dp.port_add("c", "dummy") == 2
    with pytest.raises(DpifError) as e:
        dp.port_add("a", "dummy")
    assert e.value.errno_name == "EEXIST"
    with pytest.raises(DpifError) as e:
        dp.port_add("d", "dummy", 5)
    assert e.value.errno_name == "EBUSY"
    with pytest.raises(DpifError):
        dp.port_del(9)
    with pytest.raises(DpifError):
        dp.port_del(0)
    assert [p.port_no for p in dp.port_list()] == [0, 1, 2, 5]
    assert dp.port_query_by_number(5) is not None and dp.port_query_by_number(5).name == "b"  # type: ignore[union-attr]
    assert NetdevDpif().show()[0] == "netdev@ovs-netdev:"
    assert NetdevDpif().show()[3] == "  port 0: ovs-netdev (tap)"


def test_flow_put_get_del_contract() -> None:
    dp, _, sent, clock = make_dp(FORWARD)
    key = extract(udp4_frame(), 1)
    mask = BASE | FRAG
    flow = dp.flow_put(key, mask, [Output(3)])
    assert flow.key == key & flow.mask and flow.created == clock.t
    assert dp.flow_get(flow.ufid) == flow
    with pytest.raises(DpifError) as e:
        dp.flow_put(key, mask, [Output(2)])
    assert e.value.errno_name == "EEXIST"
    with pytest.raises(DpifError) as e:
        dp.flow_put(key ^ 1, mask, [Output(2)], create=False, modify=True)
    assert e.value.errno_name == "ENOENT"
    dp.receive(1, [udp4_frame()])
    assert sent[3] == [udp4_frame()] and dp.get_stats().n_missed == 0
    changed = dp.flow_put(key, mask, [Output(2)], modify=True)
    assert changed.ufid == flow.ufid and changed.packets == 1
    dp.receive(1, [udp4_frame()])                    # EMC or megaflow: the new actions either way
    assert sent[2] == [udp4_frame()]
    assert dp.flow_put(key, mask, [Output(2)], modify=True, zero_stats=True).packets == 0
    gone = dp.flow_del(flow.ufid)
    assert gone is not None and gone.actions == (Output(2),)
    assert dp.flow_del(flow.ufid) is None and dp.flow_get(flow.ufid) is None
    dp.caches.flow_limit = 0
    with pytest.raises(DpifError) as e:
        dp.flow_put(key, mask, [Output(2)])
    assert e.value.errno_name == "EFBIG"


def test_execute_and_set_field() -> None:
    dp, _, sent, _ = make_dp(FORWARD)
    action = SetField.of("ipv4", {"ttl": 5})
    dp.execute(udp4_frame(), [action, Output(3)], PacketMetadata(in_port=1))
    assert sent[3] == [udp4_frame(ttl=5)]
    assert dp.get_stats().n_missed == 0
