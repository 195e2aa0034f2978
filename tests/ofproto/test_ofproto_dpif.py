"""ofproto-dpif (pyvswitch.ofproto.ofproto_dpif): bridges on the userspace datapath, in process.

The revalidator's contract, checked here with real OpenFlow tables, translation and the datapath: changing,
deleting and timing out rules changes forwarding at once (the very next packet), no megaflow is left whose
actions differ from what translation now gives, and the OpenFlow counters add up to the packets sent (the
upcalled first packet included).  A Hypothesis test drives random sequences of flow-mods and packets and checks
that invariant after every step.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyvswitch.dpif import odp
from pyvswitch.flow import fields as F
from pyvswitch.flow.values import OFPP_LOCAL
from pyvswitch.ofproto.flow_mod_text import parse_flow_mod
from pyvswitch.ofproto.normal import PortVlanConfig
from pyvswitch.ofproto.ofproto import OFPort, OFProto
from pyvswitch.ofproto.ofproto_dpif import Backer, DpPort
from pyvswitch.packet.build import udp4_frame
from pyvswitch.util.clock import ManualClock

MAC = [f"50:54:00:00:00:0{i}" for i in range(8)]


class Rig:
    """One bridge ``br0`` with ports 1..4 (datapath ports 1..4) and LOCAL (datapath port 100)."""

    def __init__(self, vlans: dict[int, PortVlanConfig] | None = None) -> None:
        self.clock = ManualClock(1000.0)
        self.backer = Backer("dummy", clock=self.clock.now)
        self.ofproto = OFProto("br0", clock=self.clock)
        self.sent: dict[int, list[bytes]] = {p: [] for p in (1, 2, 3, 4, OFPP_LOCAL)}
        self.ofproto.set_ports([OFPort(p, self.name(p), f"aa:55:aa:55:00:{p & 0xff:02x}")
                                for p in self.sent])
        self.dpb = self.backer.add_bridge(self.ofproto)
        ports = []
        for p in self.sent:
            vlan = (vlans or {}).get(p) or PortVlanConfig(self.name(p), p)
            ports.append(DpPort(p, self.name(p), 100 if p == OFPP_LOCAL else p, "dummy", vlan,
                                self.sent[p].append))
        self.backer.set_ports("br0", ports)
        self.pins: list[tuple[str, bytes, object]] = []
        self.backer.on_packet_in = lambda br, frame, pin, paused: self.pins.append((br, frame, pin))

    @staticmethod
    def name(p: int) -> str:
        return "br0" if p == OFPP_LOCAL else f"p{p}"

    def flows(self, *texts: str) -> None:
        self.ofproto.tables.apply([parse_flow_mod(t).fm for t in texts])

    def delete(self, text: str) -> None:
        from pyvswitch.ofproto.flow_mod import Command as FlowModCommand

        self.ofproto.tables.apply([parse_flow_mod(text, command=FlowModCommand.DELETE).fm])

    def send(self, port: int, src: int = 1, dst: int = 2, sport: int = 1, n: int = 1) -> bytes:
        frame = udp4_frame(eth_src=MAC[src], eth_dst=MAC[dst], ip_src=f"10.0.0.{src}", ip_dst=f"10.0.0.{dst}",
                           sport=sport, dport=80, payload=b"x" * 10)
        self.backer.receive(100 if port == OFPP_LOCAL else port, [frame] * n)
        return frame

    def out(self) -> dict[int, int]:
        """Frames sent per port since the last call."""
        got = {p: len(v) for p, v in self.sent.items() if v}
        for v in self.sent.values():
            v.clear()
        return got

    def dp_flows(self) -> list[str]:
        return sorted(line.split(", packets:")[0] + " -> " + line.split("actions:")[1]
                      for line in self.backer.dpif.dump_flows()[1:])

    def counters(self) -> dict[str, int]:
        return {f"{r.priority},{r.match}": r.n_packets for r in self.ofproto.tables}

    def assert_no_stale(self) -> None:
        """Every installed megaflow has the actions translation gives now (for its masked key), once the changes
        made so far are revalidated (which happens before the next packet is processed or a dump answered)."""
        self.backer.revalidate()
        for f in self.backer.dpif.flow_dump():
            key = F.storage_put(f.key, "in_port", F.storage_get(f.key, "in_port"))
            got = self.backer._reval_translate(key)
            assert got is not None, f"flow {f} no longer translates"
            actions, mask = got
            assert tuple(actions) == f.actions, (f, actions)
            assert not mask & ~f.mask, "installed megaflow is wider than translation allows"


def test_upcall_installs_and_hits() -> None:
    rig = Rig()
    rig.flows("in_port=1,actions=output:2", "in_port=2,actions=output:1")
    rig.send(1)
    assert rig.out() == {2: 1}
    assert rig.dp_flows() == [
        "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no) -> 2"]
    rig.send(1, n=4)
    assert rig.out() == {2: 4}
    s = rig.backer.dpif.get_stats()
    assert (s.n_hit, s.n_missed) == (4, 1)
    rig.backer.run()
    assert [r.n_packets for r in rig.ofproto.tables if r.match.fields()] in ([5, 0], [0, 5])
    assert sum(r.n_packets for r in rig.ofproto.tables) == 5


def test_modify_changes_forwarding_at_once() -> None:
    rig = Rig()
    rig.flows("in_port=1,actions=output:2")
    rig.send(1, n=3)
    assert rig.out() == {2: 3}
    rig.flows("in_port=1,actions=output:3")      # An add that replaces the rule.
    rig.send(1)
    assert rig.out() == {3: 1}
    rig.assert_no_stale()
    rig.ofproto.tables.apply([parse_flow_mod("in_port=1,actions=output:4", command=_modify()).fm])
    rig.send(1, n=2)
    assert rig.out() == {4: 2}
    rig.assert_no_stale()
    rig.backer.run()
    # An add that replaces a rule keeps its counters (as in Open vSwitch) and a modify keeps them too: 3 + 1 + 2.
    assert [r.n_packets for r in rig.ofproto.tables] == [6]


def _modify():  # type: ignore[no-untyped-def]
    from pyvswitch.ofproto.flow_mod import Command as FlowModCommand

    return FlowModCommand.MODIFY


def test_delete_and_narrowing_rules() -> None:
    rig = Rig()
    rig.flows("priority=1,actions=output:2")
    rig.send(1, sport=1)
    rig.send(1, sport=2)
    assert rig.out() == {2: 2}
    # One wide megaflow covers both packets.
    assert len(rig.dp_flows()) == 1
    rig.flows("priority=5,udp,tp_src=2,actions=output:3")
    rig.send(1, sport=1)
    rig.send(1, sport=2)
    assert rig.out() == {2: 1, 3: 1}
    rig.assert_no_stale()
    rig.delete("udp,tp_src=2")
    rig.send(1, sport=2)
    assert rig.out() == {2: 1}
    rig.assert_no_stale()
    rig.delete("")
    rig.send(1, sport=1)
    assert rig.out() == {}
    rig.assert_no_stale()


def test_hard_timeout_changes_forwarding() -> None:
    rig = Rig()
    rig.flows("priority=1,actions=output:2", "priority=9,in_port=1,hard_timeout=5,actions=output:3")
    rig.send(1)
    assert rig.out() == {3: 1}
    rig.clock.advance(6)
    removed = rig.ofproto.expire()
    assert len(removed) == 1
    rig.send(1)
    assert rig.out() == {2: 1}
    rig.assert_no_stale()


def test_idle_megaflows_expire_and_stats_are_pushed() -> None:
    rig = Rig()
    rig.backer.set_config(max_idle=10)
    rig.flows("in_port=1,actions=output:2")
    rig.send(1, n=3)
    rig.clock.advance(5)
    rig.send(1, n=2)
    rig.backer.run()
    assert len(rig.backer.dpif.caches) == 1
    rig.clock.advance(11)
    rig.backer.run()
    assert len(rig.backer.dpif.caches) == 0
    (rule,) = list(rig.ofproto.tables)
    assert (rule.n_packets, rule.n_bytes) == (5, 5 * len(rig.send(2, n=0)))
    assert rule.used == 1005.0


def test_normal_learning_and_mac_move() -> None:
    rig = Rig()
    rig.flows("actions=NORMAL")
    rig.send(1, src=1, dst=2)
    assert rig.out() == {2: 1, 3: 1, 4: 1, OFPP_LOCAL: 1}
    rig.send(2, src=2, dst=1)
    assert rig.out() == {1: 1}
    rig.send(1, src=1, dst=2)
    assert rig.out() == {2: 1}
    rig.assert_no_stale()
    # MAC 1 moves to port 3: traffic to it follows at once.
    rig.send(3, src=1, dst=2)
    assert rig.out() == {2: 1}
    rig.send(2, src=2, dst=1)
    assert rig.out() == {3: 1}
    rig.assert_no_stale()
    assert "    3     0  50:54:00:00:00:01" in rig.dpb.mac_table.format_fdb_show()


def test_stats_refresh_mac_entries() -> None:
    rig = Rig()
    rig.flows("actions=NORMAL")
    rig.send(1, src=1, dst=2)
    rig.send(2, src=2, dst=1)
    rig.clock.advance(100)
    rig.send(1, src=1, dst=2, n=3)
    rig.backer.run()
    # MAC 1's megaflow carried traffic: its entry was refreshed (age 0, most recently used); MAC 2's was not.
    assert rig.dpb.mac_table.format_fdb_show().splitlines()[1:] == [
        "    2     0  50:54:00:00:00:02  100", "    1     0  50:54:00:00:00:01    0"]
    rig.clock.advance(250)
    rig.backer.run()
    assert len(rig.dpb.mac_table) == 1     # MAC 2 aged out (300 s), and its flows with it.
    rig.out()
    rig.send(1, src=1, dst=2)
    assert rig.out() == {2: 1, 3: 1, 4: 1, OFPP_LOCAL: 1}


def test_normal_vlans() -> None:
    vlans = {1: PortVlanConfig("p1", 1, tag=10), 2: PortVlanConfig("p2", 2, tag=10),
             3: PortVlanConfig("p3", 3, tag=20), 4: PortVlanConfig("p4", 4, trunks=frozenset({10, 20}))}
    rig = Rig(vlans)
    rig.flows("actions=NORMAL")
    rig.send(1, src=1, dst=7)
    # Flooded within VLAN 10: untagged to the other access port, tagged to the trunks (LOCAL trunks all VLANs).
    assert [f[12:16] for f in rig.sent[2]] == [b"\x08\x00\x45\x00"]
    assert [f[12:16] for f in rig.sent[4]] == [b"\x81\x00\x00\x0a"]
    assert rig.out() == {2: 1, 4: 1, OFPP_LOCAL: 1}
    rig.send(3, src=3, dst=7)
    assert rig.out() == {4: 1, OFPP_LOCAL: 1}
    rig.send(4, src=4, dst=1)      # Untagged on a trunk without native VLAN: dropped.
    assert rig.out() == {}


def test_port_removal_deletes_its_flows() -> None:
    rig = Rig()
    rig.flows("actions=output:2")
    rig.send(1)
    rig.send(3)
    assert len(rig.backer.dpif.caches) == 2
    ports = [p for p in rig.dpb.ports.values() if p.ofport != 3]
    rig.backer.set_ports("br0", ports)
    rig.backer.revalidate(force=True)
    flows = rig.dp_flows()
    assert len(flows) == 1 and "in_port(1)" in flows[0]


def test_flow_limit() -> None:
    """other_config:flow-limit caps the dynamic limit; a miss at the limit is forwarded but not installed (and
    counted lost, as in Open vSwitch)."""
    rig = Rig()
    assert rig.backer.dynamic_limit == 10_000          # Open vSwitch's starting point.
    rig.backer.set_config(flow_limit=1000)
    assert rig.backer.dynamic_limit == 1000
    rig.flows("actions=NORMAL")
    # NORMAL matches the source address, so each new source makes its own megaflow.
    frames = [udp4_frame(eth_src=f"52:00:00:00:{i >> 8:02x}:{i & 0xff:02x}", eth_dst=MAC[2]) for i in range(1100)]
    for f in frames:
        rig.backer.receive(1, [f])
    assert rig.out() == {2: 1100, 3: 1100, 4: 1100, OFPP_LOCAL: 1100}
    assert len(rig.backer.dpif.caches) == 1000
    assert rig.backer.dpif.get_stats().n_lost == 100


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(
    st.tuples(st.just("add"), st.integers(1, 4), st.sampled_from(["", "udp,tp_src=1", "udp,tp_src=2", "in_port=1",
                                                                     "in_port=2,udp"]),
              st.sampled_from(["output:1", "output:2", "output:3", "drop", "NORMAL", "mod_dl_src:00:00:00:00:00:09,2"])),
    st.tuples(st.just("del"), st.integers(1, 4), st.sampled_from(["", "udp,tp_src=1", "in_port=1"]), st.just("")),
    st.tuples(st.just("pkt"), st.integers(1, 3), st.integers(1, 3), st.integers(1, 2)),
), max_size=25))
def test_random_changes_never_leave_stale_flows(ops: list[tuple[str, int, object, object]]) -> None:
    rig = Rig()
    sent = 0
    for op in ops:
        kind = op[0]
        if kind == "add":
            _, prio, match, actions = op
            rig.flows(f"priority={prio},{match},actions={actions}".replace(",,", ","))
        elif kind == "del":
            _, prio, match, _ = op
            rig.delete(str(match))
        else:
            _, port, src, sport = op
            rig.send(port, src=src, dst=(src % 3) + 1, sport=int(sport))   # type: ignore[arg-type]
            sent += 1
            # What the packet did must be what translation says now.
            rig.assert_no_stale()
    rig.backer.revalidate()
    rig.assert_no_stale()
    rig.backer.run()
    assert sum(r.n_packets for r in rig.ofproto.tables) <= sent


def test_odp_actions_use_datapath_ports() -> None:
    rig = Rig()
    rig.flows("in_port=1,actions=LOCAL")
    rig.send(1)
    (flow,) = rig.backer.dpif.flow_dump()
    assert flow.actions == (odp.Output(100),)
    assert rig.out() == {OFPP_LOCAL: 1}


def test_meter_enforced_in_datapath() -> None:
    from pyvswitch.ofproto.meter import MeterCommand, parse_meter_mod

    rig = Rig()
    rig.ofproto.meters.apply(parse_meter_mod("meter=5,pktps,burst,bands=type=drop,rate=1,burst_size=3",
                                                  MeterCommand.ADD))
    rig.flows("in_port=1,actions=meter:5,output:2")
    rig.send(1, n=10)
    # The bucket holds 3 packets (burst), and no time passes: 3 of 10 get through.
    assert rig.out() == {2: 3}
    stats = rig.ofproto.meters.stats_source(rig.ofproto.meters.provider_id(5))  # type: ignore[misc]
    assert stats.packet_count == 10 and stats.bands[0][0] == 7    # Upcalled packets are metered too.
    rig.clock.advance(2.0)
    rig.send(1, n=5)
    assert rig.out() == {2: 2}
    rig.backer.remove_bridge("br0")
    assert len(rig.backer.dpif.meters) == 0
def test_controller_packet_in() -> None:
    rig = Rig()
    rig.flows("in_port=1,actions=controller:100,output:2")
    rig.send(1, n=2)
    assert rig.out() == {2: 2}
    assert len(rig.pins) == 2
    br, frame, pin = rig.pins[0]
    assert br == "br0" and frame[:6] == bytes.fromhex("505400000002")
    assert pin.reason == "action" and pin.max_len == 100  # type: ignore[attr-defined]
    rig.backer.run()
    rig.backer.revalidate(force=True)
    rig.send(1)
    assert len(rig.pins) == 3
    rig.assert_no_stale()




def test_fin_timeout_from_datapath_statistics() -> None:
    from pyvswitch.packet.build import tcp4_frame

    rig = Rig()
    rig.flows("priority=5,tcp,actions=fin_timeout(idle_timeout=7,hard_timeout=9),output:2")
    syn = tcp4_frame(eth_src=MAC[1], eth_dst=MAC[2], sport=5, dport=80, tcp_flags=0x002)
    fin = tcp4_frame(eth_src=MAC[1], eth_dst=MAC[2], sport=5, dport=80, tcp_flags=0x011)
    rig.backer.receive(1, [syn, syn])
    rig.backer.run()
    (rule,) = list(rig.ofproto.tables)
    assert (rule.idle_timeout, rule.hard_timeout) == (0, 0)
    rig.backer.receive(1, [fin])     # A megaflow hit: only the statistics' TCP flags see the FIN.
    assert len(rig.backer.dpif.caches) == 1
    rig.backer.run()
    assert (rule.idle_timeout, rule.hard_timeout) == (7, 9)
    rig.clock.advance(10)
    assert [r.rule for r in rig.ofproto.expire()] == [rule]


def test_learned_flows_follow_traffic() -> None:
    rig = Rig()
    # A learned flow's hard timeout restarts each time the learn action runs again, as in Open vSwitch (which sets
    # the rule's "modified" time; its idle timeout follows the learned flow's own traffic).
    rig.flows("table=0,priority=5,actions=learn(table=1,hard_timeout=10,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],"
              "output:NXM_OF_IN_PORT[]),output:2")
    rig.send(1, src=1, dst=2)
    learned = [r for r in rig.ofproto.tables if r.table_id == 1]
    assert len(learned) == 1 and learned[0].hard_timeout == 10
    for _ in range(3):
        rig.clock.advance(6)
        rig.send(1, src=1, dst=2)      # Megaflow hits: the learned flow stays only if statistics refresh it.
        rig.backer.run()
        rig.ofproto.expire()
    assert [r for r in rig.ofproto.tables if r.table_id == 1] == learned
    rig.clock.advance(11)
    rig.backer.run()
    rig.ofproto.expire()
    assert [r for r in rig.ofproto.tables if r.table_id == 1] == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(1, 4), st.one_of(
    st.binary(max_size=120),
    st.tuples(st.integers(0, 90), st.integers(0, 255), st.integers(1, 6)),
)), min_size=1, max_size=12))
def test_any_frame_through_a_busy_pipeline(inputs: list[tuple[int, object]]) -> None:
    """Random and corrupted frames through many kinds of actions: nothing raises, nothing is left stale."""
    from pyvswitch.ofproto.group import GroupCommand, parse_group_mod

    rig = Rig()
    rig.ofproto.groups.apply(parse_group_mod("group_id=1,type=select,bucket=output:2,bucket=output:3",
                                             GroupCommand.ADD))
    rig.flows("priority=50,tcp,actions=ct(commit,table=1)",
              "priority=40,udp,actions=dec_ttl,set_field:10.9.9.9->ip_dst,group:1",
              "priority=30,ip,actions=push_vlan:0x8100,set_field:5->vlan_vid,resubmit(,2)",
              "priority=20,arp,actions=learn(table=3,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),"
              "NORMAL",
              "priority=10,ipv6,actions=push_mpls:0x8847,output:4",
              "priority=0,actions=NORMAL",
              "table=1,actions=controller:64,output:2", "table=2,actions=pop_vlan,output:LOCAL")
    base = udp4_frame(eth_src=MAC[1], eth_dst=MAC[2], payload=b"abcdefgh")
    for port, item in inputs:
        if isinstance(item, bytes):
            frame = item
        else:
            pos, value, cut = item   # type: ignore[misc]
            b = bytearray(base)
            b[pos % len(b)] = value
            frame = bytes(b[: max(0, len(b) - cut * 7)])
        rig.backer.receive(port, [frame])
        rig.assert_no_stale()
    rig.backer.run()


def test_learning_revalidates_only_the_flows_to_changed_addresses() -> None:
    """A new address learned re-translates the megaflows to that address, not all of them: learning N addresses
    costs O(N) translations, not O(N**2) (Open vSwitch tags flows by address for the same reason)."""
    rig = Rig()
    rig.flows("actions=NORMAL")
    n = 200
    for i in range(n):
        frame = udp4_frame(eth_src=f"52:00:00:00:00:{i:02x}" if i < 256 else MAC[1], eth_dst=MAC[2], sport=i)
        rig.backer.receive(1, [frame])
    assert len(rig.backer.dpif.caches) == n
    assert rig.backer.coverage["xlate_actions"] < 3 * n
    # Traffic to one of them now follows the learned port at once.
    rig.out()
    rig.backer.receive(2, [udp4_frame(eth_src=MAC[2], eth_dst="52:00:00:00:00:07")])
    assert rig.out() == {1: 1}
    rig.assert_no_stale()


def test_dscp_remark_meter() -> None:
    """A dscp_remark band raises the drop precedence of the packets over its rate (the daemon accepts such
    bands, which Open vSwitch's userspace datapath refuses)."""
    from pyvswitch.ofproto.meter import MeterCommand, parse_meter_mod

    rig = Rig()
    rig.ofproto.meters.apply(parse_meter_mod("meter=3,pktps,burst,bands=type=dscp_remark,rate=1,burst_size=2,"
                                             "prec_level=1", MeterCommand.ADD))
    rig.flows("in_port=1,actions=meter:3,output:2")
    af11 = udp4_frame(eth_src=MAC[1], eth_dst=MAC[2], tos=10 << 2)      # DSCP AF11
    rig.backer.receive(1, [af11] * 5)
    dscps = [f[15] >> 2 for f in rig.sent[2]]
    assert dscps == [10, 10, 12, 12, 12]                                 # Within the burst, then AF12.


def test_the_periodic_run_expires_fragments_held_for_reassembly() -> None:
    from pyvswitch.packet.ipfrag import fragment_ipv4

    rig = Rig()
    dp = rig.backer.dpif
    whole = udp4_frame(payload=bytes(2000))
    dp.reassembler.add(fragment_ipv4(whole[14:], 1000)[0], rig.clock.now())
    rig.backer.run()
    assert dp.tnl_stats()["frag_pending"] == 1
    rig.clock.advance(dp.reassembler.timeout + 1)
    rig.backer.run()
    assert dp.tnl_stats()["frag_pending"] == 0 and dp.tnl_stats()["frag_expired"] == 1
