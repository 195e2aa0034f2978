"""Native tunnelling in translation (pyvswitch.ofproto.xlate with pyvswitch.ofproto.ofproto_dpif), in process on
the dummy datapath: the setup of a real Open vSwitch 3.1 rebuilt with pyvswitch's classes, whose ``ofproto/trace``
texts are in tests/data/ofproto/tunnel_xlate_ovs31.txt (with how they were captured), must give the same
report, ``Megaflow:`` and ``Datapath actions:`` lines: push through a static remote, a flow-based remote, GRE,
Geneve with tun_metadata0 through a TLV map, a neighbour cache miss, a route that is not a bridge, clone()
around a tunnel output that is not the last, decapsulated packets mapped to their vport, an unknown key.
Also: the ARP request a miss sends out of the underlay bridge, tnl_pop on the underlay, snooping, pass-through of
unmapped Geneve options and the drop of invalid ones, vport statistics and revalidation when a neighbour is
learned.
"""

from __future__ import annotations

import ipaddress
import os

import pytest

from pyvswitch.dpif import odp
from pyvswitch.flow.match_text import parse_match
from pyvswitch.flow.values import OFPP_LOCAL
from pyvswitch.netdev.netdev_vport import VportNetdev
from pyvswitch.ofproto.flow_mod_text import parse_flow_mod
from pyvswitch.ofproto.normal import PortVlanConfig
from pyvswitch.ofproto.ofproto import OFPort, OFProto
from pyvswitch.ofproto.ofproto_dpif import Backer, DpPort
from pyvswitch.ofproto.tnl_context import TnlContext
from pyvswitch.ofproto.trace import trace_packet
from pyvswitch.openflow.ofp_tlv import TlvMap, TlvTable
from pyvswitch.packet.build import arp_reply_frame, icmp4_echo_frame, udp4_frame, vxlan4_frame
from pyvswitch.util.clock import ManualClock

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "ofproto", "tunnel_xlate_ovs31.txt")
BR0_MAC = "aa:55:aa:55:00:00"
PEER_MAC = "f8:bc:12:44:34:b6"

# name -> (type, options, ofport): the reference setup's vports.
VPORTS = {
    "t2": ("vxlan", {"remote_ip": "1.1.2.92", "key": "456"}, 2),
    "t1": ("gre", {"remote_ip": "1.1.2.92", "key": "456"}, 3),
    "t3": ("vxlan", {"remote_ip": "1.1.2.93", "out_key": "flow", "csum": "true"}, 4),
    "t4": ("geneve", {"remote_ip": "flow", "key": "123"}, 5),
    "t5": ("geneve", {"remote_ip": "1.1.2.92", "key": "5"}, 6),
    "t6": ("vxlan", {"remote_ip": "1.1.2.92", "key": "789", "dst_port": "4790"}, 7),
    "t8": ("gre", {"remote_ip": "1.1.2.92", "csum": "true", "tos": "inherit", "ttl": "inherit",
                   "df_default": "false"}, 8),
    "t9": ("vxlan", {"remote_ip": "9.9.9.9"}, 9),
    "t7": ("vxlan", {"remote_ip": "fd00::92", "key": "7"}, 11),
    "t10": ("geneve", {"remote_ip": "fd00::93"}, 12),
}
DP = {"vxlan": 4789, "geneve": 6081, "gre": 3}


def _reference() -> tuple[list[str], list[tuple[str, str]]]:
    flows, cases = [], []
    head, body = None, []
    with open(DATA) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("FLOWS "):
                flows.append(line[6:])
            elif line.startswith("### "):
                if head is not None:
                    cases.append((head, "\n".join(body).strip("\n")))
                head, body = line[4:], []
            elif head is not None:
                body.append(line)
    if head is not None:
        cases.append((head, "\n".join(body).strip("\n")))
    return flows, cases


FLOWS, CASES = _reference()


class Rig:
    """The reference setup: ``br0`` (LOCAL datapath port 100, 1.1.2.88/24, NORMAL) with ``p1`` (1), and
    ``int-br`` (LOCAL 4) with the vports and ``p0`` (ofport 10, datapath port 2)."""

    def __init__(self) -> None:
        self.clock = ManualClock(1000.0)
        self.tnl = TnlContext(clock=self.clock.now)
        self.backer = Backer("dummy", clock=self.clock.now, tnl=self.tnl)
        self.sent: dict[int, list[bytes]] = {1: [], 2: [], 100: [], 4: []}
        self.br0 = OFProto("br0", clock=self.clock)
        self.br0.set_ports([OFPort(OFPP_LOCAL, "br0", BR0_MAC), OFPort(1, "p1", "aa:55:aa:55:00:01")])
        self.intbr = OFProto("int-br", clock=self.clock)
        self.intbr.tlv_table = TlvTable()
        self.vports: dict[str, VportNetdev] = {}
        of_ports = [OFPort(OFPP_LOCAL, "int-br", "aa:55:aa:55:00:02"), OFPort(10, "p0", "aa:55:aa:55:00:03")]
        for name, (_, _, ofport) in VPORTS.items():
            of_ports.append(OFPort(ofport, name, "aa:55:aa:55:00:10"))
        self.intbr.set_ports(of_ports)
        self.backer.add_bridge(self.br0)
        self.backer.add_bridge(self.intbr)
        self.backer.set_ports("br0", [self._port(OFPP_LOCAL, "br0", 100), self._port(1, "p1", 1)])
        self.set_intbr_ports()
        self.tnl.dummy_mac = lambda name: int(BR0_MAC.replace(":", ""), 16) if name == "br0" else None
        self.tnl.set_dummy_address("br0", ipaddress.ip_interface("1.1.2.88/24"))
        self.tnl.add_user_route("1.1.2.92/24", "br0")
        self.tnl.set_dummy_address("br0", ipaddress.ip_interface("fd00::88/64"))
        self.tnl.add_user_route("fd00::/64", "br0")
        self.br0.tables.apply([parse_flow_mod("actions=NORMAL").fm])

    def _port(self, ofport: int, name: str, dp: int) -> DpPort:
        return DpPort(ofport, name, dp, "dummy", PortVlanConfig(name, ofport), self.sent.setdefault(dp, []).append)

    def set_intbr_ports(self, only: tuple[str, ...] | None = None) -> None:
        ports = [self._port(OFPP_LOCAL, "int-br", 4), self._port(10, "p0", 2)]
        for name, (type_, options, ofport) in VPORTS.items():
            if only is not None and name not in only:
                continue
            dev = self.vports.get(name)
            if dev is None:
                dev = self.vports[name] = VportNetdev(name, type_)
                dev.set_config(options)
            dp = 4790 if name == "t6" else DP[type_]
            ports.append(DpPort(ofport, name, dp, type_, PortVlanConfig(name, ofport), None, None, dev,
                                dev.config))
        self.backer.set_ports("int-br", ports)

    def neigh(self) -> None:
        self.tnl.neigh.set("br0", "1.1.2.92", int(PEER_MAC.replace(":", ""), 16))
        self.tnl.neigh.set("br0", "fd00::92", int("f8bc124434b7", 16))

    def flows(self, bridge: OFProto, *texts: str) -> None:
        bridge.tables.apply([parse_flow_mod(t).fm for t in texts])

    def trace(self, flow: str) -> str:
        if "(" in flow:
            names = {v: k for k, v in self.backer.odp_port_names().items()}
            key, _ = odp.parse_flow(flow, names)
            where = self.backer.upcall_entry(key)
            if where is None:
                return "no OpenFlow tunnel port for this packet"
            return trace_packet(where[0].xbridge, where[1])
        return self.backer.trace("int-br", parse_match(flow).match.value)


def _without_final(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith("Final flow")).strip("\n")


def _of_flow(case: str) -> str:
    port = case.split("=")[-1]
    return ("in_port=10,dl_src=50:54:00:00:00:05,dl_dst=50:54:00:00:00:07,udp,nw_src=192.168.0.1,"
            f"nw_dst=192.168.0.2,nw_tos=0xb8,nw_ttl=33,udp_src=1,udp_dst={port}")


@pytest.fixture
def rig() -> Rig:
    r = Rig()
    r.neigh()
    r.tnl.ports  # noqa: B018 - the listening ports exist once the route does
    r.intbr.tlv_table.mappings[0] = TlvMap(0xFFFF, 0, 4, 0)
    r.flows(r.intbr, *FLOWS)
    return r


# A known difference, not tunnelling's: Open vSwitch's trace prints a set_field to a field that has no OXM form
# (tun_dst, tun_id) as the NXM load it encodes it as.  pyvswitch prints the action as written.
_KNOWN = {"    load:0x101025c->NXM_NX_TUN_IPV4_DST[]": "    set_field:1.1.2.92->tun_dst",
          "    load:0x99->NXM_NX_TUN_ID[]": "    set_field:0x99->tun_id"}


@pytest.mark.parametrize(("case", "expected"), CASES, ids=[c[:40] for c, _ in CASES])
def test_trace_as_open_vswitch(rig: Rig, case: str, expected: str) -> None:
    flow = _of_flow(case) if case.startswith("udp tp_dst=") else case
    expected = "\n".join(_KNOWN.get(line, line) for line in expected.splitlines())
    assert _without_final(rig.trace(flow)) == expected


def _dp_flows(rig: Rig) -> list[str]:
    rig.backer.revalidate(force=True)
    return [line.split(", packets:")[0] + " -> " + line.split("actions:")[1]
            for line in rig.backer.dpif.dump_flows()[1:]]


def test_neighbour_miss_sends_arp_then_learns_from_the_reply() -> None:
    r = Rig()
    r.flows(r.intbr, "in_port=10,actions=output:2")
    frame = udp4_frame(eth_src="50:54:00:00:00:05", eth_dst="50:54:00:00:00:07", ip_src="192.168.0.1",
                       ip_dst="192.168.0.2")
    r.backer.receive(2, [frame])
    # The packet is dropped; an ARP request for the remote leaves br0 through p1 (flooded by br0's NORMAL).
    assert [len(r.sent[d]) for d in (1, 100)] == [1, 0]
    arp = r.sent[1].pop()
    assert arp[:6] == b"\xff" * 6 and arp[6:12] == bytes.fromhex(BR0_MAC.replace(":", ""))
    assert arp[12:14] == b"\x08\x06" and arp[28:32] == bytes([1, 1, 2, 88]) and arp[38:42] == bytes([1, 1, 2, 92])
    assert any("actions:drop" in line or line.endswith("-> drop") for line in _dp_flows(r))
    # The reply, addressed to br0, is snooped when NORMAL outputs it to br0's own port.
    reply = arp_reply_frame(eth_src=PEER_MAC, eth_dst=BR0_MAC, spa="1.1.2.92", tpa="1.1.2.88")
    r.backer.receive(1, [reply])
    assert r.tnl.neigh.lookup("br0", "1.1.2.92") == int(PEER_MAC.replace(":", ""), 16)
    # The tunnel's megaflow follows at once, with no forced revalidation: its actions are now the push.
    r.backer.revalidate()
    flows = [line for line in r.backer.dpif.dump_flows()[1:] if "in_port(2)" in line]
    assert len(flows) == 1 and "tnl_push(tnl_port(4789)" in flows[0] and flows[0].endswith(",1")


def test_tunnel_packet_to_the_underlay_is_popped() -> None:
    r = Rig()
    r.neigh()
    inner = icmp4_echo_frame(eth_src="50:54:00:00:00:0a", eth_dst="50:54:00:00:00:09", ip_src="192.168.0.1",
                             ip_dst="192.168.0.2")
    outer = vxlan4_frame(inner, vni=456, eth_src=PEER_MAC, eth_dst=BR0_MAC, ip_src="1.1.2.92",
                         ip_dst="1.1.2.88")
    r.backer.receive(1, [outer])
    flows = _dp_flows(r)
    assert any(f.startswith("recirc_id(0),in_port(1)") and f.endswith("tnl_pop(4789)") for f in flows), flows
    assert "udp(dst=4789)" in next(f for f in flows if f.endswith("tnl_pop(4789)"))


def test_decapsulated_packet_maps_to_its_vport_and_counts(rig: Rig) -> None:
    k_t2 = ("tunnel(tun_id=0x1c8,src=1.1.2.92,dst=1.1.2.88,ttl=64,flags(-df-csum+key)),in_port(4789),"
            "eth(src=50:54:00:00:00:0a,dst=50:54:00:00:00:09),eth_type(0x0800),ipv4(src=192.168.0.1,"
            "dst=192.168.0.2,proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0)")
    names = {v: k for k, v in rig.backer.odp_port_names().items()}
    key, _ = odp.parse_flow(k_t2, names)
    answers = rig.backer._upcall([(b"\x00" * 42, key)])
    assert answers[0] is not None and answers[0][2] == [odp.Output(2)]
    assert rig.vports["t2"].stats.rx_packets == 1 and rig.vports["t2"].stats.rx_bytes == 42
    # An unknown key: no vport, the packet is dropped, nothing installed.
    other, _ = odp.parse_flow(k_t2.replace("0x1c8", "0x1c9"), names)
    assert rig.backer._upcall([(b"\x00" * 42, other)]) == [None]
    assert rig.backer.coverage["tnl_port_not_found"] == 1


def test_tx_statistics_from_megaflows(rig: Rig) -> None:
    frame = udp4_frame(eth_src="50:54:00:00:00:05", eth_dst="50:54:00:00:00:07", ip_src="192.168.0.1",
                       ip_dst="192.168.0.2", dport=9)
    rig.backer.receive(2, [frame])
    assert (rig.vports["t2"].stats.tx_packets, rig.vports["t1"].stats.tx_packets) == (1, 1)
    rig.backer.receive(2, [frame, frame])
    rig.clock.advance(1)
    rig.backer.run()
    st = rig.vports["t2"].stats
    assert (st.tx_packets, st.tx_bytes, rig.vports["t1"].stats.tx_packets) == (3, 3 * len(frame), 3)
    assert rig.vports["t2"].stats_map() == {"rx_packets": 0, "rx_bytes": 0, "tx_packets": 3,
                                            "tx_bytes": 3 * len(frame)}


_GENEVE = ("tunnel(tun_id=0x7b,src=1.1.2.92,dst=1.1.2.88,ttl=64,geneve(%s),flags(-df+csum+key)),in_port(6081),"
           "eth(src=50:54:00:00:00:0a,dst=50:54:00:00:00:09),eth_type(0x0800),ipv4(src=192.168.0.1,"
           "dst=192.168.0.2,proto=17,tos=1,ttl=64,frag=no),udp(src=1,dst=2)")


def test_unmapped_geneve_options_pass_through(rig: Rig) -> None:
    out = rig.trace(_GENEVE % "{class=0x102,type=0x5,len=4,0xabcd}")
    actions = out.split("Datapath actions: ")[1].strip()
    # t5 (geneve, key 5): the option no TLV mapping claims (not critical) goes out as it came; ECT(1) inside is
    # ECT(1) outside.  (Open vSwitch leaves such options out: docs/tunnels.md lists the difference.)
    assert actions.startswith("tnl_push(tnl_port(6081),header(size=58,type=5,")
    assert "tos=0x1,ttl=64" in actions and "geneve(vni=0x5,options({class=0x102,type=0x5,len=4,0xabcd}))" \
        in actions
    assert "nw_ecn=1" in out.split("Megaflow: ")[1]


@pytest.mark.parametrize("option", [
    "{class=0x102,type=0x80,len=4,0xabcd}",                 # unknown, critical: must not be ignored
    "{class=0xffff,type=0,len=8,0x1122334455667788}",       # mapped class and type (tun_metadata0), length 4
    "{class=0x102,type=0x5,len=4,0xabcd}{class=0x102,type=0x85,len=0}",   # a critical one after a good one
])
def test_invalid_geneve_options_are_dropped(rig: Rig, option: str) -> None:
    """Open vSwitch's tun_metadata_from_geneve_udpif() refuses these options (EINVAL) and translation drops the
    packet; pyvswitch re-encapsulated them (with the critical flag)."""
    out = rig.trace(_GENEVE % option)
    assert "\n     >>>> Invalid Geneve tunnel metadata <<<<\n" in out
    assert out.endswith("Datapath actions: drop\nTranslation failed (Invalid tunnel metadata), packet is dropped.\n")


def test_invalid_geneve_options_install_a_drop_flow(rig: Rig) -> None:
    """The upcall installs a drop megaflow that keeps the raw options exact (a valid packet of the same flow is
    not caught by it)."""
    names = {v: k for k, v in rig.backer.odp_port_names().items()}
    key, _ = odp.parse_flow(_GENEVE % "{class=0x102,type=0x80,len=4,0xabcd}", names)
    answer = rig.backer._upcall([(b"\x00" * 42, key)])[0]
    assert answer is not None and answer[2] == []
    good, _ = odp.parse_flow(_GENEVE % "{class=0x102,type=0x5,len=4,0xabcd}", names)
    assert answer[1] is not None and (key ^ good) & answer[1]


def test_an_option_that_appears_twice_counts_once_the_last(rig: Rig) -> None:
    """As in Open vSwitch, the last of two options of one mapping is tun_metadata0 (0x1 matches the flow that
    outputs to p0)."""
    out = rig.trace(_GENEVE % "{class=0xffff,type=0,len=4,0x2}{class=0xffff,type=0,len=4,0x1}")
    assert "tun_metadata0=0x1,in_port=5, priority 100" in out and out.endswith("Datapath actions: 2\n")


def test_ipv4_mapped_remote_is_an_ipv4_tunnel(monkeypatch: pytest.MonkeyPatch) -> None:
    """remote_ip=::ffff:1.1.2.92 sends IPv4 (Open vSwitch does); it used to build an IPv6 header with a mapped
    destination and an IPv4-compatible source."""
    monkeypatch.setitem(VPORTS, "t2", ("vxlan", {"remote_ip": "::ffff:1.1.2.92", "key": "456"}, 2))
    r = Rig()
    r.neigh()
    r.flows(r.intbr, "in_port=10,actions=output:2")
    out = r.trace(_of_flow("udp tp_dst=1"))
    assert "tunneling from aa:55:aa:55:00:00 1.1.2.88 to f8:bc:12:44:34:b6 1.1.2.92" in out
    assert "dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=17" in out.split("Datapath actions: ")[1]


_FROM_T2 = ("tunnel(tun_id=0x1c8,src=1.1.2.92,dst=1.1.2.88,ttl=64,flags(-df-csum+key)),in_port(4789),"
            "eth(src=50:54:00:00:00:0a,dst=50:54:00:00:00:09),eth_type(0x0800),ipv4(src=192.168.0.1,"
            "dst=192.168.0.2,proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0)")


def test_no_tunnel_back_to_our_own_address() -> None:
    """A packet from t2 output to t4 (remote_ip=flow) without a new tun_dst would be tunnelled to the address it
    came in on, this host's: Open vSwitch's compose_output_action__() drops it ("Not tunneling to our own
    address").  pyvswitch used to ARP for its own address, and tunnel to itself once its MAC was known."""
    r = Rig()
    r.neigh()
    r.flows(r.intbr, "in_port=2,actions=output:5")
    for _ in range(2):
        out = r.trace(_FROM_T2)
        assert "    output:5\n     >> Not tunneling to our own address\n" in out
        assert "output to native tunnel" not in out and "sending ARP request" not in out
        assert out.endswith("Datapath actions: drop\n")
        r.tnl.neigh.set("br0", "1.1.2.88", int(BR0_MAC.replace(":", ""), 16))   # br0's own MAC, snooped
    # A flow that sets another remote tunnels as usual.
    r.flows(r.intbr, "in_port=2,actions=set_field:1.1.2.92->tun_dst,output:5")
    assert r.trace(_FROM_T2).split("Datapath actions: ")[1].startswith("tnl_push(tnl_port(6081),")


def test_no_tunnel_back_to_our_own_ipv6_address() -> None:
    r = Rig()
    r.neigh()
    r.flows(r.intbr, "in_port=11,actions=output:5")
    out = r.trace("tunnel(tun_id=0x7,ipv6_src=fd00::92,ipv6_dst=fd00::88,ttl=64,flags(-df-csum+key)),"
                  "in_port(4789),eth(src=50:54:00:00:00:0a,dst=50:54:00:00:00:09),eth_type(0x0800),"
                  "ipv4(src=192.168.0.1,dst=192.168.0.2,proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0)")
    assert ">> Not tunneling to our own address" in out and out.endswith("Datapath actions: drop\n")


def test_no_remote_for_a_packet_not_from_a_tunnel() -> None:
    """remote_ip=flow with no tun_dst set, for a packet that did not come out of a tunnel: Open vSwitch compares
    two all-zero addresses and reports the same."""
    r = Rig()
    r.neigh()
    r.flows(r.intbr, "in_port=10,actions=output:5")
    out = r.trace(_of_flow("udp tp_dst=1"))
    assert ">> Not tunneling to our own address" in out and out.endswith("Datapath actions: drop\n")


def test_routing_through_a_device_that_is_not_a_bridge(rig: Rig) -> None:
    rig.tnl.add_user_route("9.9.9.0/24", "br0", src="1.1.2.88")
    assert "tunneling to 9.9.9.9 via br0" in rig.trace(_of_flow("udp tp_dst=7"))
    rig.tnl.set_dummy_address("eth9", ipaddress.ip_interface("7.7.7.1/24"))
    rig.tnl.add_user_route("1.1.2.92/32", "eth9", src="7.7.7.1")
    out = rig.trace(_of_flow("udp tp_dst=4"))
    assert ">> native tunnel routing failed" in out and out.endswith("Datapath actions: drop\n")


def test_removing_vports_releases_listening_ports(rig: Rig) -> None:
    assert rig.tnl.ports.ref_count(4789) == 4
    rig.set_intbr_ports(only=("t2", "t1"))
    assert (rig.tnl.ports.ref_count(4789), rig.tnl.ports.ref_count(6081), rig.tnl.ports.ref_count(3)) == (1, 0, 1)
    assert sorted(rig.backer.odp_port_names()) == [0, 1, 2, 3, 4, 100, 4789]


def test_tunnel_traffic_keeps_its_neighbour_and_an_expired_one_is_asked_again(rig: Rig) -> None:
    rig.tnl.neigh.set_aging(10)
    rig.backer.set_config(max_idle=100)     # The megaflow outlives the neighbour entry.
    rig.neigh()
    frame = udp4_frame(eth_src="50:54:00:00:00:05", eth_dst="50:54:00:00:00:07", ip_src="192.168.0.1",
                       ip_dst="192.168.0.2", dport=4)
    rig.backer.receive(2, [frame])
    for _ in range(3):
        rig.clock.advance(6)
        rig.backer.receive(2, [frame])      # A megaflow hit: only its statistics see it.
        rig.backer.run()
        rig.tnl.run()
    assert rig.tnl.neigh.lookup("br0", "1.1.2.92") is not None
    # Without traffic the entry expires; the revalidated flow asks for it again (ARP out of p1) and drops.
    rig.clock.advance(11)
    rig.tnl.run()
    rig.sent[1].clear()
    rig.backer.run()
    rig.backer.send_tnl_requests()
    assert len(rig.sent[1]) == 1 and rig.sent[1][0][12:14] == b"\x08\x06"


def test_ipv6_neighbour_miss_sends_a_solicitation(rig: Rig) -> None:
    frame = udp4_frame(eth_src="50:54:00:00:00:05", eth_dst="50:54:00:00:00:07", ip_src="192.168.0.1",
                       ip_dst="192.168.0.2", dport=12)
    rig.backer.receive(2, [frame])
    ns = rig.sent[1]
    assert len(ns) == 1
    # To fd00::93's solicited-node group (33:33:ff:00:00:93), from fd00::88, ICMPv6 type 135 for fd00::93.
    assert ns[0][:6] == bytes.fromhex("3333ff000093") and ns[0][12:14] == b"\x86\xdd"
    assert ns[0][22:38] == ipaddress.ip_address("fd00::88").packed and ns[0][54] == 135
    assert ns[0][62:78] == ipaddress.ip_address("fd00::93").packed


def test_outer_congestion_marks_the_inner_packet(rig: Rig) -> None:
    base = ("tunnel(tun_id=0x1c8,src=1.1.2.92,dst=1.1.2.88,tos={tos},ttl=64,flags(-df-csum+key)),in_port(4789),"
            "eth(src=50:54:00:00:00:0a,dst=50:54:00:00:00:09),eth_type(0x0800),ipv4(src=192.168.0.1,"
            "dst=192.168.0.2,proto=1,tos={inner},ttl=64,frag=no),icmp(type=8,code=0)")
    out = rig.trace(base.format(tos="0x3", inner="0x2"))
    assert out.endswith("Datapath actions: set(ipv4(tos=0x3/0x3)),2\n"), out
    assert "nw_ecn=2" in out.split("Megaflow: ")[1]
    out = rig.trace(base.format(tos="0x3", inner="0"))
    assert "dropping tunnel packet marked ECN CE but is not ECN capable" in out
    assert out.split("Datapath actions: ")[1].startswith("drop")
    # No congestion: nothing changes, and the inner ECN bits are not in the megaflow.
    out = rig.trace(base.format(tos="0x2", inner="0x2"))
    assert out.endswith("Datapath actions: 2\n") and "nw_ecn" not in out.split("Megaflow: ")[1]
