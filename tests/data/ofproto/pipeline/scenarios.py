"""Pipeline scenarios in the spirit of Open vSwitch's ofproto-dpif.at: a bridge set-up, OpenFlow tables, then
traces, injected packets, datapath flow dumps, transmitted frames, OpenFlow flow dumps and MAC tables, in order.

The format is described in tests/ofproto/pipeline_harness.py.  ``record.py`` runs each scenario on the real
Open vSwitch and writes what it saw to ``expected.json``; ``tests/ofproto/test_pipeline.py`` replays them against
pyvs-vswitchd.  Changing a scenario means re-running ``record.py``.
"""

from __future__ import annotations

from typing import Any

# -- set-up helpers -----------------------------------------------------------------------------------------------


def bridge(br: str, ports: dict[str, int], fail_mode: str | None = "secure", **port_opts: list[str]) -> list[str]:
    """``ovs-vsctl`` arguments adding ``br`` (datapath_type=dummy, OpenFlow 1.0-1.5) with dummy ports
    {name: ofport} that write what they send to ``{dir}/NAME.pcap``; ``port_opts[name]`` adds Port columns."""
    cmd = ["add-br", br, "--", "set", "bridge", br, "datapath_type=dummy",
           "protocols=OpenFlow10,OpenFlow11,OpenFlow12,OpenFlow13,OpenFlow14,OpenFlow15"]
    if fail_mode:
        cmd.append(f"fail_mode={fail_mode}")
    for name, ofport in ports.items():
        cmd += ["--", "add-port", br, name, *port_opts.get(name, []), "--", "set", "interface", name, "type=dummy",
                f"ofport_request={ofport}", f"options:tx_pcap={{dir}}/{name}.pcap"]
    return cmd


def patch(br0: str, p0: str, n0: int, br1: str, p1: str, n1: int) -> list[str]:
    return ["add-port", br0, p0, "--", "set", "interface", p0, "type=patch", f"options:peer={p1}",
            f"ofport_request={n0}", "--", "add-port", br1, p1, "--", "set", "interface", p1, "type=patch",
            f"options:peer={p0}", f"ofport_request={n1}"]


def flows(br: str, *specs: str, version: str = "OpenFlow15") -> list[list[str]]:
    return [["-O", version, "add-flow", br, s] for s in specs]


# -- packets (datapath flow syntax, as netdev-dummy/receive takes them) ---------------------------------------------

A, B, C = "50:54:00:00:00:01", "50:54:00:00:00:02", "50:54:00:00:00:03"
BCAST = "ff:ff:ff:ff:ff:ff"


def _l2(src: str, dst: str, vlan: int | None, pcp: int, inner: str) -> str:
    if vlan is None:
        return f"eth(src={src},dst={dst}),{inner}"
    return f"eth(src={src},dst={dst}),eth_type(0x8100),vlan(vid={vlan},pcp={pcp}),encap({inner})"


def icmp(src: str = A, dst: str = B, vlan: int | None = None, pcp: int = 0, nw_src: str = "10.0.0.1",
         nw_dst: str = "10.0.0.2", ttl: int = 64, tos: int = 0) -> str:
    return _l2(src, dst, vlan, pcp, f"eth_type(0x0800),ipv4(src={nw_src},dst={nw_dst},proto=1,tos={tos},ttl={ttl},"
                                    "frag=no),icmp(type=8,code=0)")


def tcp(src: str = A, dst: str = B, vlan: int | None = None, nw_src: str = "10.0.0.1", nw_dst: str = "10.0.0.2",
        tp_src: int = 1000, tp_dst: int = 80, ttl: int = 64, tos: int = 0) -> str:
    return _l2(src, dst, vlan, 0, f"eth_type(0x0800),ipv4(src={nw_src},dst={nw_dst},proto=6,tos={tos},ttl={ttl},"
                                  f"frag=no),tcp(src={tp_src},dst={tp_dst})")


def udp(src: str = A, dst: str = B, nw_src: str = "10.0.0.1", nw_dst: str = "10.0.0.2", tp_src: int = 53,
        tp_dst: int = 5353) -> str:
    return (f"eth(src={src},dst={dst}),eth_type(0x0800),ipv4(src={nw_src},dst={nw_dst},proto=17,tos=0,ttl=64,"
            f"frag=no),udp(src={tp_src},dst={tp_dst})")


def icmp6(src: str = A, dst: str = B, hlimit: int = 64) -> str:
    return (f"eth(src={src},dst={dst}),eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,label=0,proto=58,"
            f"tclass=0,hlimit={hlimit},frag=no),icmpv6(type=128,code=0)")


def arp(src: str = A, dst: str = BCAST, sip: str = "10.0.0.1", tip: str = "10.0.0.2", vlan: int | None = None) -> str:
    return _l2(src, dst, vlan, 0, f"eth_type(0x0806),arp(sip={sip},tip={tip},op=1,sha={src},"
                                  "tha=00:00:00:00:00:00)")


def mpls(src: str = A, dst: str = B, label: int = 100, ttl: int = 64) -> str:
    return f"eth(src={src},dst={dst}),eth_type(0x8847),mpls(label={label},tc=0,ttl={ttl},bos=1)"


# The frame Open vSwitch composes for icmp() (A -> B, 10.0.0.1 -> 10.0.0.2, echo request with 64 bytes of data).
ICMP_HEX = ("50540000000250540000000108004500005c000000004001669f0a0000010a000002080013fc0000000000010203040506070809"
            "0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d"
            "3e3f")

# -- traced flows (OpenFlow syntax) --------------------------------------------------------------------------------


def f_ip(in_port: int = 1, src: str = A, dst: str = B, extra: str = "") -> str:
    return (f"in_port={in_port},dl_src={src},dl_dst={dst},ip,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_proto=1,nw_ttl=64"
            f"{extra}")


def f_tcp(in_port: int = 1, src: str = A, dst: str = B, extra: str = "") -> str:
    return (f"in_port={in_port},dl_src={src},dl_dst={dst},tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1000,"
            f"tp_dst=80{extra}")


# Two bridges' worth of ports.
P3 = {"p1": 1, "p2": 2, "p3": 3}
P4 = {"p1": 1, "p2": 2, "p3": 3, "p4": 4}


def S(name: str, doc: str, setup: list[list[str]], ofctl: list[list[str]], steps: list[list[str]]) -> dict[str, Any]:
    return {"name": name, "doc": doc, "setup": setup, "ofctl": ofctl, "steps": steps}


def fwd(port: str, packet: str, *tx: str, n: int = 1) -> list[list[str]]:
    """Receive ``packet`` on ``port`` ``n`` times, then the frames sent on each of ``tx``."""
    return [["receive", port, packet]] * n + [["tx", p] for p in tx]


SCENARIOS: list[dict[str, Any]] = [
    # ---------------------------------------------------------------- output, drop, in_port
    S("output", "output:N; the first packet is upcalled, the second hits the megaflow",
      [bridge("br0", P3)], flows("br0", "in_port=1,ip,actions=output:2", "in_port=2,actions=output:3"),
      [["trace", "br0", f_ip()], ["trace", "br0", "in_port=2,arp"],
       *fwd("p1", icmp(), "p2", "p3", n=2), *fwd("p1", arp(), "p2"), ["dump-dp"], ["dump-flows", "br0"],
       ["dpif-show"]]),
    S("output_in_port", "output to the input port is dropped unless it is spelled in_port",
      [bridge("br0", P3)], flows("br0", "in_port=1,actions=output:1,output:2", "in_port=2,actions=in_port,output:3"),
      [["trace", "br0", f_ip()], ["trace", "br0", f_ip(2)],
       *fwd("p1", icmp(), "p1", "p2"), *fwd("p2", icmp(), "p2", "p3"), ["dump-dp"]]),
    S("drop_miss", "a table miss in secure mode and an explicit drop",
      [bridge("br0", P3)], flows("br0", "priority=10,tcp,actions=drop", "priority=5,ip,nw_dst=10.0.0.9,actions=2"),
      [["trace", "br0", f_tcp()], ["trace", "br0", f_ip()], *fwd("p1", tcp(), "p2"), *fwd("p1", icmp(), "p2"),
       *fwd("p1", icmp(nw_dst="10.0.0.9"), "p2"), ["dump-dp"]]),
    S("megaflow_prefix", "megaflow widths over priorities, prefixes and transport ports",
      [bridge("br0", P4)],
      flows("br0", "priority=30,tcp,nw_dst=10.1.0.0/16,tp_dst=22,actions=output:4",
            "priority=20,ip,nw_dst=10.0.0.0/24,actions=output:2", "priority=10,ip,actions=output:3",
            "priority=40,udp,tp_dst=53,actions=drop"),
      [["trace", "br0", f_tcp()], ["trace", "br0", f"in_port=1,dl_src={A},dl_dst={B},tcp,nw_src=10.0.0.1,nw_dst=10.1.2.3,tp_src=1000,tp_dst=22"],
       *fwd("p1", tcp(nw_dst="10.1.2.3", tp_dst=22), "p4"), *fwd("p1", tcp(nw_dst="10.1.2.3", tp_dst=23), "p3"),
       *fwd("p1", icmp(), "p2"), *fwd("p1", udp(tp_dst=53)), ["dump-dp"]]),

    S("trace_forms", "ofproto/trace with a datapath flow (no bridge named), with a packet, and with -generate",
      [bridge("br0", P3)], flows("br0", "in_port=1,ip,actions=output:2", "in_port=2,actions=drop"),
      [["trace", "in_port(1)," + icmp()], ["trace", "in_port(2)," + arp(B)], ["trace", "br0", "in_port=1", ICMP_HEX],
       ["trace", "br0", f_ip(), "-generate"], ["dump-dp"], ["dump-flows", "br0"]]),
    S("packet_out_table", "packet-out with actions=table runs the packet through the flow tables",
      [bridge("br0", P3)], flows("br0", "in_port=1,actions=output:2", "in_port=LOCAL,actions=output:3"),
      [["ofctl", "packet-out", "br0", f"in_port=1 packet={ICMP_HEX} actions=table"], ["tx", "p2"], ["tx", "p3"],
       ["ofctl", "packet-out", "br0", f"in_port=LOCAL packet={ICMP_HEX} actions=table"], ["tx", "p2"], ["tx", "p3"],
       ["ofctl", "-O", "OpenFlow13", "packet-out", "br0", f"in_port=2 packet={ICMP_HEX} actions=output:1,table"],
       ["tx", "p1"], ["tx", "p2"], ["tx", "p3"], ["dump-flows", "br0"], ["dump-dp"]]),

    S("megaflow_tries", "megaflow widths from prefix tries (IPv4 source and destination, IPv6, L4 ports) and "
      "staged lookup",
      [bridge("br0", P4)],
      flows("br0", "priority=30,tcp,tp_dst=22,actions=output:4", "priority=20,ip,nw_src=10.0.0.0/8,"
            "nw_dst=192.168.0.0/16,actions=output:2", "priority=25,ip,nw_src=10.1.0.0/16,actions=output:3",
            "priority=20,ipv6,ipv6_dst=2001:db8:1::/48,actions=output:2",
            "priority=40,in_port=4,dl_src=50:54:00:00:00:09,tcp,tp_src=7,actions=drop",
            "priority=1,actions=output:3"),
      [*fwd("p1", tcp(tp_dst=80), "p2", "p3", "p4"), *fwd("p1", tcp(tp_dst=22), "p2", "p3", "p4"),
       *fwd("p1", icmp(nw_src="10.2.3.4", nw_dst="192.168.7.7"), "p2", "p3"),
       *fwd("p1", icmp(nw_src="10.1.3.4", nw_dst="192.168.7.7"), "p2", "p3"),
       *fwd("p1", icmp(nw_src="11.0.0.1", nw_dst="192.168.7.7"), "p2", "p3"),
       *fwd("p1", icmp6(), "p2", "p3"), *fwd("p4", tcp(tp_src=8), "p2", "p3"),
       ["trace", "br0", f_tcp(extra="").replace("tp_dst=80", "tp_dst=443")],
       ["trace", "br0", f"in_port=1,dl_src={A},dl_dst={B},ipv6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8:2::1"],
       ["dump-dp"]]),

    # ---------------------------------------------------------------- NORMAL
    S("normal_learning", "NORMAL floods an unknown destination, learns the source, then forwards unicast",
      [bridge("br0", P3)], flows("br0", "actions=NORMAL"),
      [["trace", "br0", f_ip()], *fwd("p1", icmp(A, B), "p1", "p2", "p3"), ["fdb", "br0"],
       ["trace", "br0", f_ip(2, B, A)], *fwd("p2", icmp(B, A), "p1", "p2", "p3"), ["fdb", "br0"], ["revalidate"],
       *fwd("p1", icmp(A, B), "p2", "p3"), ["dump-dp"], ["dump-flows", "br0"]]),
    S("normal_broadcast", "NORMAL floods broadcasts (not back to the input port) and learns from ARP",
      [bridge("br0", P4)], flows("br0", "actions=NORMAL"),
      [*fwd("p2", arp(B), "p1", "p2", "p3", "p4"), ["fdb", "br0"], ["trace", "br0", (f"in_port=3,dl_src={C},"
       f"dl_dst={BCAST},arp,arp_spa=10.0.0.3,arp_tpa=10.0.0.2,arp_op=1")], ["dump-dp"]]),
    S("normal_mac_move", "a MAC moving to another port is relearned and the megaflows are revalidated",
      [bridge("br0", P3)], flows("br0", "actions=NORMAL"),
      [*fwd("p1", icmp(A, B)), *fwd("p2", icmp(B, A)), ["revalidate"], *fwd("p1", icmp(A, B), "p1", "p2", "p3"),
       ["fdb", "br0"], *fwd("p3", icmp(B, C)), ["fdb", "br0"], ["revalidate"],
       *fwd("p1", icmp(A, B), "p2", "p3"), ["dump-dp"], ["trace", "br0", f_ip(1, A, B)]]),
    S("normal_vlan_access", "access ports tagged 10 and 20 and a trunk: VLANs do not mix, the trunk gets tags",
      [bridge("br0", P4, p1=["tag=10"], p2=["tag=10"], p3=["tag=20"])], flows("br0", "actions=NORMAL"),
      [*fwd("p1", icmp(A, B), "p1", "p2", "p3", "p4"), *fwd("p3", icmp(C, B), "p1", "p2", "p4"),
       *fwd("p4", icmp(B, A, vlan=10), "p1", "p2", "p3"), ["fdb", "br0"],
       *fwd("p1", icmp(A, B, vlan=20), "p2", "p4"),
       ["trace", "br0", f"in_port=4,dl_vlan=20,{f_ip(4, B, C)[10:]}"], ["dump-dp"]]),
    S("normal_vlan_trunk", "a trunk limited to VLANs 10,20: other VLANs and untagged frames are dropped on it",
      [bridge("br0", P4, p1=["tag=10"], p2=["tag=20"], p3=["trunks=10,20"], p4=["trunks=30"])],
      flows("br0", "actions=NORMAL"),
      [*fwd("p3", icmp(A, B, vlan=10), "p1", "p2", "p4"), *fwd("p3", icmp(A, B, vlan=30), "p1", "p2", "p4"),
       *fwd("p3", icmp(A, B), "p1", "p2", "p4"), *fwd("p4", icmp(C, B, vlan=30), "p1", "p2", "p3"),
       *fwd("p2", icmp(B, A), "p1", "p3", "p4"), ["fdb", "br0"], ["dump-dp"]]),
    S("normal_native_tagged", "native-tagged: untagged frames belong to the native VLAN and leave tagged",
      [bridge("br0", P3, p1=["tag=10"], p2=["vlan_mode=native-tagged", "tag=10", "trunks=10,20"])],
      flows("br0", "actions=NORMAL"),
      [*fwd("p2", icmp(B, A), "p1", "p3"), *fwd("p1", icmp(A, B), "p2", "p3"),
       *fwd("p2", icmp(B, C, vlan=20), "p1", "p3"), ["fdb", "br0"], ["trace", "br0", f_ip(2, B, A)], ["dump-dp"]]),
    S("normal_native_untagged", "native-untagged: the native VLAN leaves untagged, others tagged",
      [bridge("br0", P4, p1=["tag=10"], p3=["tag=20"],
              p2=["vlan_mode=native-untagged", "tag=10", "trunks=10,20"])],
      flows("br0", "actions=NORMAL"),
      [*fwd("p1", icmp(A, BCAST), "p2", "p3", "p4"), *fwd("p3", icmp(C, BCAST), "p1", "p2", "p4"),
       *fwd("p2", icmp(B, A, vlan=20), "p1", "p3", "p4"), *fwd("p2", icmp(B, A), "p1", "p3", "p4"),
       ["fdb", "br0"], ["dump-dp"]]),
    S("normal_mixed_tagged_input", "a frame with a VLAN tag on an access port is dropped",
      [bridge("br0", P3, p1=["tag=10"])], flows("br0", "actions=NORMAL"),
      [*fwd("p1", icmp(A, B, vlan=10), "p2", "p3"), ["trace", "br0", f"in_port=1,dl_vlan=10,{f_ip()[10:]}"],
       ["dump-dp"]]),

    S("normal_flood_vlans", "the bridge's flood_vlans: no learning on VLAN 10, which always floods",
      [bridge("br0", P3, p1=["tag=10"], p2=["tag=10"], p3=["tag=20"]),
       ["set", "bridge", "br0", "flood_vlans=10"]], flows("br0", "actions=NORMAL"),
      [*fwd("p1", icmp(A, B)), *fwd("p2", icmp(B, A), "p1", "p3"), ["revalidate"], *fwd("p1", icmp(A, B), "p2"),
       ["fdb", "br0"], ["dump-dp"]]),
    S("normal_priority_tagged", "a priority-tagged frame (VID 0) on an access port belongs to the port's VLAN",
      [bridge("br0", P3, p1=["tag=10"], p2=["tag=10"])], flows("br0", "actions=NORMAL"),
      [*fwd("p1", icmp(A, B, vlan=0, pcp=5), "p2", "p3"), *fwd("p3", icmp(C, A, vlan=0, pcp=3), "p1", "p2"),
       ["fdb", "br0"], ["dump-dp"]]),
    S("normal_mac_table_size", "other_config:mac-table-size=2 (Open vSwitch keeps at least 10): an 11th MAC "
      "evicts the oldest entry",
      [bridge("br0", P4), ["set", "bridge", "br0", "other_config:mac-table-size=2"]],
      flows("br0", "actions=NORMAL"),
      [*[["receive", f"p{1 + i % 3}", icmp(f"50:54:00:00:01:{i:02x}", BCAST)] for i in range(1, 12)],
       ["fdb", "br0"], ["revalidate"], ["tx", "p4"],
       *fwd("p4", icmp(A, "50:54:00:00:01:01"), "p1", "p2", "p3"),
       *fwd("p4", icmp(A, "50:54:00:00:01:0b"), "p1", "p2", "p3"), ["dump-dp"]]),
    S("standalone_default", "a bridge without fail_mode (standalone) and no controller has priority=0 NORMAL",
      [bridge("br0", P3, fail_mode=None)], [],
      [["dump-flows", "br0"], *fwd("p1", icmp(A, B), "p2", "p3"), ["trace", "br0", f_ip(2, B, A)],
       ["dump-dp"], ["dump-flows", "br0"]]),
    S("normal_fdb_flush", "fdb/flush forgets the learned MACs: the next packet floods again",
      [bridge("br0", P3)], flows("br0", "actions=NORMAL"),
      # dump-dp first: the revalidator pushes the megaflows' statistics, which also learns their sources.
      [*fwd("p1", icmp(A, B)), *fwd("p2", icmp(B, A)), ["revalidate"], *fwd("p1", icmp(A, B), "p1", "p2", "p3"),
       ["dump-dp"],
       # The next packet hits the megaflow that the flush turned into a flood: Open vSwitch learns its source
       # when the revalidator pushes that megaflow's statistics.
       ["appctl", "fdb/flush", "br0"], ["fdb", "br0"], *fwd("p1", icmp(A, B), "p2", "p3"), ["revalidate"],
       ["fdb", "br0"],
       ["dump-dp"]]),
    S("normal_port_down", "NORMAL and ports brought down with mod-port (Open vSwitch still floods and forwards "
      "to them: NORMAL looks at no-flood, not at the port's state)",
      [bridge("br0", P4)], flows("br0", "actions=NORMAL"),
      [*fwd("p2", icmp(B, A)), ["ofctl", "mod-port", "br0", "p3", "down"], *fwd("p1", icmp(A, C), "p2", "p3", "p4"),
       ["ofctl", "mod-port", "br0", "p2", "down"], *fwd("p1", icmp(A, B), "p2", "p3", "p4"),
       ["trace", "br0", f_ip(1, A, B)], ["dump-dp"]]),
    S("normal_no_flood_port", "a no-flood port gets no floods from NORMAL but still its learned unicast",
      [bridge("br0", P3)], flows("br0", "actions=NORMAL"),
      [["ofctl", "mod-port", "br0", "p3", "no-flood"], *fwd("p1", icmp(A, B), "p2", "p3"),
       *fwd("p3", icmp(C, A), "p1", "p2"), *fwd("p1", icmp(A, C), "p2", "p3"), ["dump-dp"]]),

    # ---------------------------------------------------------------- flood, all, local, controller
    S("flood_all", "FLOOD leaves out no-flood ports, ALL does not",
      [bridge("br0", P4)], flows("br0", "in_port=1,actions=FLOOD", "in_port=2,actions=ALL"),
      [["ofctl", "mod-port", "br0", "p3", "no-flood"], ["trace", "br0", f_ip()], ["trace", "br0", f_ip(2)],
       *fwd("p1", icmp(), "p1", "p2", "p3", "p4"), *fwd("p2", icmp(), "p1", "p2", "p3", "p4"), ["dump-dp"]]),
    S("local", "output to LOCAL and from LOCAL",
      [bridge("br0", P3)], flows("br0", "in_port=1,actions=LOCAL", "in_port=LOCAL,actions=output:2"),
      [["trace", "br0", f_ip()], ["trace", "br0", "in_port=LOCAL,arp"], *fwd("p1", icmp()), ["dump-dp"]]),
    S("controller", "controller actions: datapath userspace() actions, packet-ins on the management socket",
      [bridge("br0", P3)],
      flows("br0", "priority=10,tcp,actions=controller", "priority=5,ip,actions=controller(reason=no_match,"
            "max_len=64,userdata=01.02),output:2", "priority=1,actions=CONTROLLER:128,output:3"),
      [["trace", "br0", f_tcp()], ["trace", "br0", f_ip()], ["trace", "br0", "in_port=1,arp"],
       ["monitor", "br0"], *fwd("p1", tcp(), "p2"), *fwd("p1", icmp(), "p2"), ["monitor-stop"], ["dump-dp"],
       ["dump-flows", "br0"]]),
    S("table_miss_controller", "a table-miss flow to the controller and the OpenFlow 1.0 default (fail_mode unset)",
      [bridge("br0", P3, fail_mode=None)], flows("br0", "priority=0,actions=controller", version="OpenFlow13"),
      [["trace", "br0", f_ip()], ["monitor", "br0"], *fwd("p1", icmp()), ["monitor-stop"], ["dump-dp"]]),

    S("dec_ttl_packet_in", "dec_ttl of a TTL 1 packet: an invalid_ttl packet-in to a controller that asked for them",
      [bridge("br0", P3)], flows("br0", "ip,actions=dec_ttl,output:2"),
      [["monitor", "br0", "invalid_ttl"], *fwd("p1", icmp(ttl=1), "p2"), *fwd("p1", icmp(ttl=2), "p2"),
       ["monitor-stop"], ["monitor", "br0"], *fwd("p1", icmp(ttl=1), "p2"), ["monitor-stop"],
       ["dump-dp"]]),

    S("controller_primary", "a punix: controller: table misses (secure mode) and controller actions reach it",
      [bridge("br0", P3), ["set-controller", "br0", "punix:{rundir}/br0.controller"]],
      flows("br0", "priority=10,tcp,actions=controller:100,output:2", version="OpenFlow10"),
      [["monitor", "unix:{rundir}/br0.controller"], *fwd("p1", tcp(), "p2"), *fwd("p1", icmp(), "p2"),
       *fwd("p2", arp(B)), ["dump-dp"], ["monitor-stop"], ["trace", "br0", f_ip()], ["dump-flows", "br0"]]),

    # ---------------------------------------------------------------- header rewrites
    S("set_field", "set_field on Ethernet, IPv4 and TCP: checksums recomputed, megaflow matches rewritten fields",
      [bridge("br0", P3)],
      flows("br0", "tcp,actions=set_field:10.1.1.1->ip_dst,set_field:8080->tcp_dst,"
            "set_field:00:11:22:33:44:55->eth_dst,output:2", "udp,actions=set_field:1->ip_ecn,set_field:99->udp_src,"
            "output:3", "ipv6,actions=set_field:2001:db8::99->ipv6_dst,output:3"),
      [["trace", "br0", f_tcp()], *fwd("p1", tcp(), "p2"), *fwd("p1", udp(), "p3"), *fwd("p1", icmp6(), "p3"),
       ["dump-dp"]]),
    S("set_field_noop", "setting a field to the value it has still matches it and emits nothing",
      [bridge("br0", P3)], flows("br0", f"actions=set_field:{B}->eth_dst,output:2"),
      [["trace", "br0", f_ip()], *fwd("p1", icmp(A, B), "p2"), *fwd("p1", icmp(A, C), "p2"), ["dump-dp"]]),
    S("load_move", "load and move between registers and header fields",
      [bridge("br0", P3)],
      flows("br0", "table=0,tcp,actions=load:0x1f90->NXM_NX_REG0[0..15],move:NXM_NX_REG0[0..15]->NXM_OF_TCP_DST[],"
            "move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],load:0x7->NXM_OF_IP_DST[0..7],output:2",
            "table=0,ip,actions=move:NXM_OF_IP_SRC[]->NXM_NX_REG1[],resubmit(,1)",
            "table=1,reg1=0x0a000001,actions=output:3", version="OpenFlow10"),
      [["trace", "br0", f_tcp()], ["trace", "br0", f_ip()], *fwd("p1", tcp(), "p2"), *fwd("p1", icmp(), "p3"),
       *fwd("p1", icmp(nw_src="10.0.0.9"), "p3"), ["dump-dp"]]),
    S("mod_dl", "mod_dl_src and mod_dl_dst, between two outputs",
      [bridge("br0", P3)], flows("br0", f"actions=output:2,mod_dl_src:{C},mod_dl_dst:{A},output:3",
                                 version="OpenFlow10"),
      [["trace", "br0", f_ip()], *fwd("p1", icmp(), "p2", "p3"), *fwd("p1", arp(), "p2", "p3"), ["dump-dp"]]),
    S("mod_nw", "mod_nw_src, mod_nw_dst, mod_nw_tos, mod_nw_ecn, mod_nw_ttl",
      [bridge("br0", P3)],
      flows("br0", "tcp,actions=mod_nw_src:192.168.0.1,mod_nw_dst:192.168.0.2,output:2",
            "udp,actions=mod_nw_tos:32,mod_nw_ecn:2,mod_nw_ttl:9,output:3", "icmp,actions=mod_nw_ttl:3,output:2",
            version="OpenFlow10"),
      [["trace", "br0", f_tcp()], *fwd("p1", tcp(), "p2"), *fwd("p1", udp(), "p3"), *fwd("p1", icmp(), "p2"),
       ["dump-dp"]]),
    S("mod_nw_ipv6", "mod_nw_tos, mod_nw_ecn and mod_nw_ttl on IPv6 (traffic class and hop limit)",
      [bridge("br0", P3)], flows("br0", "ipv6,actions=mod_nw_tos:64,mod_nw_ecn:1,mod_nw_ttl:5,output:2",
                                 version="OpenFlow10"),
      [*fwd("p1", icmp6(), "p2"), ["dump-dp"]]),
    S("mod_tp", "mod_tp_src and mod_tp_dst on TCP and UDP",
      [bridge("br0", P3)],
      flows("br0", "tcp,actions=mod_tp_src:1,mod_tp_dst:2,output:2", "udp,actions=mod_tp_dst:99,output:3",
            version="OpenFlow10"),
      [["trace", "br0", f_tcp()], *fwd("p1", tcp(), "p2"), *fwd("p1", udp(), "p3"), ["dump-dp"]]),

    # ---------------------------------------------------------------- VLAN and MPLS
    S("vlan_push", "push_vlan + set vlan_vid, mod_vlan_vid and mod_vlan_pcp on an untagged frame",
      [bridge("br0", P3)],
      flows("br0", "in_port=1,actions=push_vlan:0x8100,set_field:4106->vlan_vid,output:2",
            "in_port=2,actions=mod_vlan_vid:20,output:3", "in_port=3,actions=mod_vlan_pcp:5,output:1",
            version="OpenFlow13"),
      [["trace", "br0", f_ip()], *fwd("p1", icmp(), "p2"), *fwd("p2", icmp(B, A), "p3"),
       *fwd("p3", icmp(C, A), "p1"), ["dump-dp"]]),
    S("vlan_set_field", "set_field on vlan_vid and vlan_pcp of tagged frames, and move into vlan_vid",
      [bridge("br0", P3)],
      flows("br0", "in_port=1,vlan_tci=0x1000/0x1000,actions=set_field:4116->vlan_vid,set_field:6->vlan_pcp,output:2",
            "in_port=2,dl_vlan=30,actions=move:NXM_OF_IN_PORT[0..11]->OXM_OF_VLAN_VID[],output:3",
            version="OpenFlow13"),
      [["trace", "br0", f"in_port=1,dl_vlan=10,{f_ip()[10:]}"], *fwd("p1", icmp(vlan=10), "p2"),
       *fwd("p1", icmp(), "p2"), *fwd("p2", icmp(B, A, vlan=30), "p3"), ["dump-dp"]]),
    S("vlan_pop", "strip_vlan, pop_vlan, mod_vlan_vid and mod_vlan_pcp on tagged frames",
      [bridge("br0", P3)],
      flows("br0", "in_port=1,dl_vlan=10,actions=strip_vlan,output:2", "in_port=2,actions=pop_vlan,output:3",
            "in_port=3,dl_vlan=30,actions=mod_vlan_vid:31,mod_vlan_pcp:7,output:1", version="OpenFlow10"),
      [["trace", "br0", f"in_port=1,dl_vlan=10,{f_ip()[10:]}"], *fwd("p1", icmp(vlan=10, pcp=3), "p2"),
       *fwd("p1", icmp(vlan=11), "p2"), *fwd("p2", icmp(B, A, vlan=20), "p3"), *fwd("p2", icmp(B, A), "p3"),
       *fwd("p3", icmp(C, A, vlan=30, pcp=1), "p1"), ["dump-dp"]]),
    S("mpls", "push_mpls with set_field on the label and TTL, pop_mpls back to IPv4",
      [bridge("br0", P3)],
      flows("br0", "in_port=1,ip,actions=push_mpls:0x8847,set_field:10->mpls_label,output:2",
            "in_port=2,mpls,actions=pop_mpls:0x0800,output:3",
            "in_port=3,mpls,actions=dec_mpls_ttl,set_mpls_ttl(9),output:1", version="OpenFlow13"),
      [["trace", "br0", f_ip()], *fwd("p1", icmp(), "p2"), *fwd("p2", mpls(B, A), "p3"),
       *fwd("p3", mpls(C, A), "p1"), ["dump-dp"]]),

    # ---------------------------------------------------------------- dec_ttl
    S("dec_ttl", "dec_ttl on IPv4 and IPv6, with TTL 1 going to the controller (and nowhere else)",
      [bridge("br0", P3)], flows("br0", "ip,actions=dec_ttl,output:2", "ipv6,actions=dec_ttl,output:3"),
      [["trace", "br0", f_ip()], ["trace", "br0", f_ip().replace("nw_ttl=64", "nw_ttl=1")],
       *fwd("p1", icmp(), "p2"), *fwd("p1", icmp(ttl=1), "p2"), *fwd("p1", icmp(ttl=0), "p2"),
       *fwd("p1", icmp6(), "p3"), *fwd("p1", icmp6(hlimit=1), "p3"), ["dump-dp"]]),
    S("dec_ttl_ids", "dec_ttl(ids) sends TTL expiry only to the listed controller ids",
      [bridge("br0", P3)], flows("br0", "ip,actions=dec_ttl(1,2),output:2", version="OpenFlow10"),
      [["trace", "br0", f_ip().replace("nw_ttl=64", "nw_ttl=1")], *fwd("p1", icmp(ttl=1), "p2"),
       *fwd("p1", icmp(ttl=2), "p2"), ["dump-dp"]]),

    # ---------------------------------------------------------------- tables
    S("resubmit", "resubmit to a table, to a port, and both",
      [bridge("br0", P4)],
      flows("br0", "table=0,in_port=1,actions=resubmit(,1),resubmit(2,2)", "table=0,in_port=3,actions=resubmit:2",
            "table=0,in_port=2,actions=output:4", "table=1,ip,actions=output:2", "table=2,in_port=2,actions=output:3",
            version="OpenFlow10"),
      [["trace", "br0", f_ip()], ["trace", "br0", f_ip(3)], *fwd("p1", icmp(), "p2", "p3"),
       *fwd("p3", icmp(), "p4"), ["dump-dp"]]),
    S("resubmit_depth", "resubmit recursion stops at the depth limit and drops",
      [bridge("br0", P3)], flows("br0", "table=0,actions=resubmit(,1)", "table=1,actions=resubmit(,0)",
                                 version="OpenFlow10"),
      [["trace", "br0", f_ip()], *fwd("p1", icmp(), "p2"), ["dump-dp"]]),
    S("resubmit_chain", "a chain of 20 resubmits across tables still translates",
      [bridge("br0", P3)],
      flows("br0", *[f"table={i},actions=load:{i}->NXM_NX_REG2[],resubmit(,{i + 1})" for i in range(20)],
            "table=20,reg2=19,actions=output:2", version="OpenFlow10"),
      [["trace", "br0", f_ip()], *fwd("p1", icmp(), "p2"), ["dump-dp"]]),
    S("goto_table_metadata", "goto_table and write_metadata (OpenFlow 1.3)",
      [bridge("br0", P3)],
      flows("br0", "table=0,in_port=1,actions=write_metadata:0x10/0xff,goto_table:1",
            "table=0,in_port=2,actions=write_metadata:0x20,goto_table:1", "table=1,metadata=0x10,actions=output:2",
            "table=1,metadata=0x20,actions=output:3", version="OpenFlow13"),
      [["trace", "br0", f_ip()], ["trace", "br0", f_ip(2)], *fwd("p1", icmp(), "p2", "p3"),
       *fwd("p2", icmp(), "p2", "p3"), ["dump-dp"]]),
    S("write_actions", "write_actions run at the end of the pipeline; clear_actions drops them",
      [bridge("br0", P4)],
      flows("br0", "table=0,in_port=1,actions=write_actions(output:2),goto_table:1",
            "table=0,in_port=3,actions=write_actions(output:2),goto_table:2",
            "table=1,actions=write_actions(output:4)", "table=2,actions=output:4,clear_actions",
            version="OpenFlow13"),
      [["trace", "br0", f_ip()], ["trace", "br0", f_ip(3)], *fwd("p1", icmp(), "p2", "p4"),
       *fwd("p3", icmp(), "p2", "p4"), ["dump-dp"]]),
    S("write_actions_order", "the action set runs in its fixed order (VLAN, set_field, output), not as written",
      [bridge("br0", P3)],
      flows("br0", f"table=0,in_port=1,actions=write_actions(output:2,set_field:{C}->eth_dst),goto_table:1",
            "table=1,actions=write_actions(push_vlan:0x8100,set_field:4106->vlan_vid)", version="OpenFlow13"),
      [["trace", "br0", f_ip()], *fwd("p1", icmp(), "p2"), ["dump-dp"]]),
    S("clone", "clone() runs its actions on a copy: rewrites inside do not leak out",
      [bridge("br0", P3)],
      flows("br0", f"ip,actions=clone(mod_dl_dst:{C},set_field:10.9.9.9->ip_dst,output:2),output:3",
            version="OpenFlow10"),
      [["trace", "br0", f_ip()], *fwd("p1", icmp(), "p2", "p3"), ["dump-dp"]]),
    S("note_exit", "note does nothing; exit stops translation",
      [bridge("br0", P3)],
      flows("br0", "table=0,actions=note:01.02.03,output:2,resubmit(,1),output:3",
            "table=1,actions=exit,output:1", version="OpenFlow10"),
      [["trace", "br0", f_ip()], *fwd("p1", icmp(), "p1", "p2", "p3"), ["dump-dp"]]),

    # ---------------------------------------------------------------- groups and meters
    S("group_all", "an all group copies to every bucket",
      [bridge("br0", P4)],
      [["-O", "OpenFlow13", "add-group", "br0", (f"group_id=1,type=all,bucket=output:2,bucket=mod_dl_dst:{C},"
        "output:3,bucket=output:4")], *flows("br0", "in_port=1,actions=group:1", version="OpenFlow13")],
      [["trace", "br0", f_ip()], *fwd("p1", icmp(), "p2", "p3", "p4"), ["dump-dp"],
       ["ofctl", "-O", "OpenFlow13", "dump-group-stats", "br0"]]),
    S("group_select", "a select group chooses one bucket by hash; a different flow may pick another",
      [bridge("br0", P3)],
      [["-O", "OpenFlow15", "add-group", "br0", ("group_id=1,type=select,selection_method=hash,fields=ip_src,"
        "bucket=bucket_id:0,output:2,bucket=bucket_id:1,output:3")],
       *flows("br0", "in_port=1,actions=group:1", version="OpenFlow13")],
      [["trace", "br0", f_ip()], *fwd("p1", icmp(nw_src="10.0.0.1"), "p2", "p3"),
       *fwd("p1", icmp(nw_src="10.0.0.3"), "p2", "p3"), *fwd("p1", icmp(nw_src="10.0.0.4"), "p2", "p3"),
       ["dump-dp"]]),
    S("group_select_default", "a select group with the default selection method (dp_hash)",
      [bridge("br0", P3)],
      [["-O", "OpenFlow13", "add-group", "br0", "group_id=1,type=select,bucket=output:2,bucket=output:3"],
       *flows("br0", "in_port=1,actions=group:1", version="OpenFlow13")],
      [["trace", "br0", f_ip()]]),
    S("group_select_dp_hash", "packets through a default (dp_hash) select group: hash, recirculation, bucket",
      [bridge("br0", P3)],
      [["-O", "OpenFlow13", "add-group", "br0", "group_id=1,type=select,bucket=output:2,bucket=output:3"],
       *flows("br0", "in_port=1,actions=group:1", version="OpenFlow13")],
      [*fwd("p1", tcp(tp_src=1), "p2", "p3"), *fwd("p1", tcp(tp_src=2), "p2", "p3"),
       *fwd("p1", tcp(tp_src=3), "p2", "p3"), *fwd("p1", tcp(tp_src=4), "p2", "p3"), ["dump-dp"],
       ["ofctl", "-O", "OpenFlow13", "dump-group-stats", "br0"]]),
    S("group_indirect", "an indirect group, modified between packets",
      [bridge("br0", P3)],
      [["-O", "OpenFlow13", "add-group", "br0", "group_id=7,type=indirect,bucket=output:2"],
       *flows("br0", "in_port=1,actions=group:7", version="OpenFlow13")],
      [["trace", "br0", f_ip()], *fwd("p1", icmp(), "p2", "p3"),
       ["ofctl", "-O", "OpenFlow13", "mod-group", "br0", "group_id=7,type=indirect,bucket=output:3"],
       *fwd("p1", icmp(), "p2", "p3"), ["dump-dp"], ["dump-flows", "br0"]]),
    S("group_fast_failover", "fast_failover uses the first live bucket; a port brought down moves traffic",
      [bridge("br0", P4)],
      [["-O", "OpenFlow13", "add-group", "br0", ("group_id=3,type=fast_failover,bucket=watch_port:2,output:2,"
        "bucket=watch_port:3,output:3")], *flows("br0", "in_port=1,actions=group:3", version="OpenFlow13")],
      [["trace", "br0", f_ip()], *fwd("p1", icmp(), "p2", "p3"),
       ["ofctl", "mod-port", "br0", "p2", "down"], ["trace", "br0", f_ip()], *fwd("p1", icmp(), "p2", "p3"),
       ["ofctl", "mod-port", "br0", "p3", "down"], ["trace", "br0", f_ip()], *fwd("p1", icmp(), "p2", "p3"),
       ["ofctl", "mod-port", "br0", "p2", "up"], *fwd("p1", icmp(), "p2", "p3"), ["dump-dp"]]),
    S("group_chain", "a group bucket that goes to another group",
      [bridge("br0", P4)],
      [["-O", "OpenFlow13", "add-group", "br0", "group_id=2,type=all,bucket=output:3,bucket=output:4"],
       ["-O", "OpenFlow13", "add-group", "br0", "group_id=1,type=indirect,bucket=output:2,group:2"],
       *flows("br0", "in_port=1,actions=group:1", version="OpenFlow13")],
      [["trace", "br0", f_ip()], *fwd("p1", icmp(), "p2", "p3", "p4"), ["dump-dp"],
       ["ofctl", "-O", "OpenFlow13", "del-groups", "br0", "group_id=2"], *fwd("p1", icmp(), "p2", "p3", "p4"),
       ["dump-flows", "br0"], ["dump-dp"]]),
    S("meter", "a meter action before output",
      [bridge("br0", P3)],
      [["-O", "OpenFlow13", "add-meter", "br0", "meter=1,pktps,bands=type=drop,rate=1000"],
       *flows("br0", "in_port=1,actions=meter:1,output:2", version="OpenFlow13")],
      [["trace", "br0", f_ip()], *fwd("p1", icmp(), "p2"), ["dump-dp"]]),
    S("meter_stats", "a meter's counters after packets (OpenFlow 1.3 meter instruction and OpenFlow 1.5 action)",
      [bridge("br0", P3)],
      [["-O", "OpenFlow13", "add-meter", "br0", "meter=2,pktps,stats,bands=type=drop,rate=1000"],
       *flows("br0", "in_port=1,actions=meter:2,output:2", version="OpenFlow13"),
       *flows("br0", "in_port=3,actions=meter:2,output:2", version="OpenFlow15")],
      [["trace", "br0", f_ip(3)], *fwd("p1", icmp(), "p2", n=3), *fwd("p3", icmp(), "p2"), ["dump-dp"],
       ["ofctl", "-O", "OpenFlow13", "meter-stats", "br0"]]),

    # ---------------------------------------------------------------- learn, conjunction, multipath, bundle
    S("learn", "learn() installs a flow that later packets use",
      [bridge("br0", P3)],
      flows("br0", "table=0,actions=learn(table=1,hard_timeout=600,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],"
            "output:NXM_OF_IN_PORT[]),resubmit(,1)", "table=1,priority=0,actions=FLOOD", version="OpenFlow10"),
      [["trace", "br0", f_ip(1, A, B)], *fwd("p1", icmp(A, B), "p1", "p2", "p3"), ["dump-flows", "br0"],
       *fwd("p2", icmp(B, A), "p1", "p2", "p3"), ["dump-flows", "br0"], ["trace", "br0", f_ip(3, C, A)],
       ["dump-dp"]]),
    S("learn_trace_generate", "ofproto/trace -generate runs learn() for real: the flow appears and is used",
      [bridge("br0", P3)],
      flows("br0", "table=0,actions=learn(table=1,idle_timeout=60,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],"
            "output:NXM_OF_IN_PORT[]),resubmit(,1)", "table=1,priority=0,actions=output:3", version="OpenFlow10"),
      [["trace", "br0", f_ip(2, B, A), "-generate"], ["dump-flows", "br0"], ["trace", "br0", f_ip(1, A, B)],
       *fwd("p1", icmp(A, B), "p2", "p3"), ["dump-dp"]]),
    S("learn_delete_learned", "learn(delete_learned): deleting the learning flow deletes what it learned",
      [bridge("br0", P3)],
      flows("br0", "table=0,cookie=0x5,actions=learn(table=1,delete_learned,cookie=0x9,NXM_OF_ETH_DST[]="
            "NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),resubmit(,1)", "table=1,priority=0,actions=output:3",
            version="OpenFlow10"),
      [*fwd("p1", icmp(A, B), "p3"), *fwd("p2", icmp(B, A), "p1", "p3"), ["dump-flows", "br0"],
       ["ofctl", "del-flows", "br0", "table=0"], ["dump-flows", "br0"],
       ["ofctl", "add-flow", "br0", "table=0,actions=resubmit(,1)"], *fwd("p2", icmp(B, A), "p1", "p3"),
       ["dump-dp"]]),
    S("conjunction", "conjunctive matches: both dimensions must match",
      [bridge("br0", P4)],
      flows("br0", "priority=10,ip,nw_src=10.0.0.1,actions=conjunction(7,1/2)",
            "priority=10,ip,nw_src=10.0.0.3,actions=conjunction(7,1/2)",
            "priority=10,tcp,tp_dst=80,actions=conjunction(7,2/2)",
            "priority=10,tcp,tp_dst=443,actions=conjunction(7,2/2)",
            "priority=10,conj_id=7,ip,actions=output:2", "priority=1,actions=output:3", version="OpenFlow10"),
      [["trace", "br0", f_tcp()], *fwd("p1", tcp(), "p2", "p3"), *fwd("p1", tcp(tp_dst=81), "p2", "p3"),
       *fwd("p1", tcp(nw_src="10.0.0.3", tp_dst=443), "p2", "p3"), *fwd("p1", tcp(nw_src="10.0.0.2"), "p2", "p3"),
       ["dump-dp"]]),
    S("multipath", "multipath() writes a link number into a register",
      [bridge("br0", P4)],
      flows("br0", "table=0,actions=multipath(eth_src,50,modulo_n,2,0,NXM_NX_REG0[0..1]),resubmit(,1)",
            "table=1,reg0=0,actions=output:2", "table=1,reg0=1,actions=output:3", version="OpenFlow10"),
      [["trace", "br0", f_ip()], *fwd("p1", icmp(A, B), "p2", "p3"), *fwd("p1", icmp(C, B), "p2", "p3"),
       ["dump-dp"]]),
    S("bundle", "bundle() and bundle_load() choose a live member",
      [bridge("br0", P4)],
      flows("br0", "in_port=1,actions=bundle(eth_src,0,hrw,ofport,members:2,3)",
            "in_port=4,actions=bundle_load(eth_src,0,active_backup,ofport,NXM_NX_REG0[],members:2,3),"
            "output:NXM_NX_REG0[]", version="OpenFlow10"),
      [["trace", "br0", f_ip()], ["trace", "br0", f_ip(4)], *fwd("p1", icmp(), "p2", "p3"),
       *fwd("p4", icmp(), "p2", "p3"), ["ofctl", "mod-port", "br0", "p2", "down"], ["trace", "br0", f_ip(4)],
       *fwd("p4", icmp(), "p2", "p3"), ["dump-dp"]]),
    S("output_reg", "output:NXM_NX_REG0[] and output to a port number held in a register field",
      [bridge("br0", P3)],
      flows("br0", "table=0,ip,actions=load:3->NXM_NX_REG0[],output:NXM_NX_REG0[]",
            "table=0,arp,actions=move:NXM_OF_IN_PORT[]->NXM_NX_REG1[0..15],load:2->NXM_NX_REG1[0..15],"
            "output:NXM_NX_REG1[0..15]", version="OpenFlow10"),
      [["trace", "br0", f_ip()], *fwd("p1", icmp(), "p3"), *fwd("p1", arp(), "p2"), ["dump-dp"]]),
    S("output_trunc", "output(port=N,max_len=M) sends a truncated copy; later outputs get the whole frame",
      [bridge("br0", P3)],
      flows("br0", "actions=output(port=2,max_len=60),output:3", version="OpenFlow10"),
      [["trace", "br0", f_ip()], *fwd("p1", icmp(), "p2", "p3"), *fwd("p1", arp(), "p2", "p3"), ["dump-dp"]]),
    S("enqueue", "enqueue:PORT:QUEUE sets the packet's priority for that one output",
      [bridge("br0", P3)], flows("br0", "actions=enqueue:2:1,output:3", version="OpenFlow10"),
      [["trace", "br0", f_ip()], *fwd("p1", icmp(), "p2", "p3"), ["dump-dp"]]),
    S("set_queue", "set_queue and pop_queue around outputs",
      [bridge("br0", P3)], flows("br0", "actions=set_queue:2,output:2,pop_queue,output:3", version="OpenFlow10"),
      [["trace", "br0", f_ip()], *fwd("p1", icmp(), "p2", "p3"), ["dump-dp"]]),
    S("sample", "sample() without a configured IPFIX collector",
      [bridge("br0", P3)],
      flows("br0", "actions=sample(probability=65535,collector_set_id=1,obs_domain_id=2,obs_point_id=3),output:2",
            version="OpenFlow10"),
      [["trace", "br0", f_ip()], *fwd("p1", icmp(), "p2"), ["dump-dp"]]),
    S("check_pkt_larger", "check_pkt_larger() sets a bit by packet length: one datapath check_pkt_len action",
      [bridge("br0", P3)],
      flows("br0", "table=0,actions=check_pkt_larger(100)->NXM_NX_REG0[0],resubmit(,1)",
            "table=1,reg0=0x1/0x1,actions=output:2", "table=1,reg0=0x0/0x1,actions=output:3", version="OpenFlow10"),
      [["trace", "br0", f_ip()], *fwd("p1", icmp(), "p2", "p3"), *fwd("p1", arp(), "p2", "p3"), ["dump-dp"]]),

    # ---------------------------------------------------------------- patch ports
    S("patch", "output to a patch port continues in the peer bridge's tables in the same datapath flow",
      [bridge("br0", {"p1": 1, "p2": 2}), bridge("br1", {"p3": 3, "p4": 4}), patch("br0", "pp0", 10, "br1", "pp1", 20)],
      [*flows("br0", "in_port=1,actions=output:10", "in_port=10,actions=output:2"),
       *flows("br1", "in_port=20,actions=mod_dl_dst:" + C + ",output:3", "in_port=4,actions=output:20")],
      [["trace", "br0", f_ip()], ["trace", "br1", f_ip(4)], *fwd("p1", icmp(), "p2", "p3"),
       *fwd("p4", icmp(), "p2", "p3"), ["dump-dp"], ["dump-flows", "br0"], ["dump-flows", "br1"], ["dpif-show"]]),
    S("patch_normal", "NORMAL on two bridges joined by a patch port",
      [bridge("br0", {"p1": 1, "p2": 2}), bridge("br1", {"p3": 3, "p4": 4}), patch("br0", "pp0", 10, "br1", "pp1", 20)],
      [*flows("br0", "actions=NORMAL"), *flows("br1", "actions=NORMAL")],
      [*fwd("p1", icmp(A, B), "p2", "p3", "p4"), *fwd("p3", icmp(B, A), "p1", "p2", "p4"), ["fdb", "br0"],
       ["fdb", "br1"], ["trace", "br0", f_ip(1, A, B)], ["dump-dp"]]),

    # ---------------------------------------------------------------- conntrack (translation only)
    S("ct", "ct() commits and recirculates; ct_clear",
      [bridge("br0", P3)],
      flows("br0", "table=0,tcp,actions=ct(commit,zone=5),ct(table=1,zone=5)",
            "table=0,udp,actions=ct_clear,output:3", "table=1,ct_state=+trk,actions=output:2",
            "table=0,icmp,actions=ct(commit,exec(set_field:0x1->ct_mark)),output:3", version="OpenFlow15"),
      [["trace", "br0", f_tcp()], ["trace", "br0", (f"in_port=1,dl_src={A},dl_dst={B},udp,nw_src=10.0.0.1,"
       "nw_dst=10.0.0.2,udp_src=1,udp_dst=2")], ["trace", "br0", f_ip()]]),

    S("ct_nat", "ct() with nat and a recirculation into a later table (translation only)",
      [bridge("br0", P3)],
      flows("br0", "table=0,ip,actions=ct(commit,zone=1,nat(src=192.168.1.1)),ct(table=2,zone=1,nat)",
            "table=2,ct_state=+trk+new,actions=ct_clear,output:2", "table=2,ct_state=+trk+est,actions=output:3",
            version="OpenFlow15"),
      [["trace", "br0", f_ip()], ["trace", "br0", f_tcp()]]),

    # ---------------------------------------------------------------- the revalidator
    S("revalidate_mod", "mod-flows changes forwarding at once: the installed megaflow is fixed",
      [bridge("br0", P3)], flows("br0", "in_port=1,actions=output:2"),
      [*fwd("p1", icmp(), "p2", "p3", n=2), ["dump-dp"],
       ["ofctl", "mod-flows", "br0", "in_port=1,actions=output:3"],
       ["dump-dp"], *fwd("p1", icmp(), "p2", "p3", n=2), ["dump-dp"], ["dump-flows", "br0"]]),
    S("revalidate_del", "del-flows removes forwarding at once; adding a flow back restores it",
      [bridge("br0", P3)],
      # A catch-all drop: on a table miss, Open vSwitch's translation depends on whether an OpenFlow connection
      # (ovs-ofctl's own, closing) is still open when the revalidator runs.
      flows("br0", "in_port=1,actions=output:2", "in_port=2,actions=output:1", "priority=0,actions=drop"),
      [*fwd("p1", icmp(), "p2", n=2), *fwd("p2", icmp(B, A), "p1"), ["dump-dp"],
       ["ofctl", "del-flows", "br0", "in_port=1"], *fwd("p1", icmp(), "p2", n=2), ["dump-dp"],
       ["ofctl", "add-flow", "br0", "in_port=1,actions=output:3"], *fwd("p1", icmp(), "p2", "p3"), ["dump-dp"]]),
    S("revalidate_priority", "a higher-priority flow added later takes over traffic of an existing megaflow",
      [bridge("br0", P3)], flows("br0", "priority=1,ip,actions=output:2"),
      [*fwd("p1", tcp(), "p2"), ["ofctl", "add-flow", "br0", "priority=5,tcp,tp_dst=80,actions=output:3"],
       *fwd("p1", tcp(), "p2", "p3"), *fwd("p1", tcp(tp_dst=81), "p2", "p3"), ["dump-dp"]]),
    S("hard_timeout", "a flow's hard_timeout expiring hands traffic to the lower-priority flow",
      [bridge("br0", P3)], flows("br0", "priority=10,hard_timeout=1,in_port=1,actions=output:2",
                                 "priority=1,in_port=1,actions=output:3"),
      [*fwd("p1", icmp(), "p2", "p3"), ["sleep", "2.6"], ["dump-flows", "br0"], *fwd("p1", icmp(), "p2", "p3"),
       ["dump-dp"]]),
    S("idle_timeout", "an idle flow expires and traffic falls to the next flow; a flow with a longer timeout stays",
      [bridge("br0", P3)], flows("br0", "priority=10,idle_timeout=1,in_port=1,actions=output:2",
                                 "priority=10,idle_timeout=30,in_port=2,actions=output:1",
                                 "priority=1,actions=output:3"),
      [*fwd("p1", icmp(), "p2"), *fwd("p2", icmp(B, A), "p1"), ["sleep", "3"], ["dump-flows", "br0"],
       *fwd("p1", icmp(), "p2", "p3"), *fwd("p2", icmp(B, A), "p1"), ["dump-dp"]]),
    S("stats", "n_packets and n_bytes count every packet, the upcalled first one included",
      [bridge("br0", P3)], flows("br0", "priority=5,ip,actions=output:2", "priority=1,actions=output:3",
                                 "priority=9,tcp,actions=drop"),
      [*fwd("p1", icmp(), n=5), *fwd("p1", arp(), n=3), *fwd("p1", tcp(), n=2), ["dump-flows", "br0"],
       ["dump-dp"], *fwd("p1", icmp(), n=2), ["dump-flows", "br0"],
       ["ofctl", "dump-aggregate", "br0"]]),
    S("dpctl_del_flows", "dpctl/del-flows empties the datapath; later packets are still forwarded and counted "
      "(Open vSwitch does not reinstall the flow at once: its flow cache entry outlives the datapath flow)",
      [bridge("br0", P3)], flows("br0", "in_port=1,actions=output:2"),
      [*fwd("p1", icmp(), "p2", n=2), ["dump-dp"], ["del-dp"], ["dump-dp"], *fwd("p1", icmp(), "p2", n=3),
       ["dump-flows", "br0"]]),
    S("idle_timeout_stats", "flows with idle_timeout stay while used; dump shows counts",
      [bridge("br0", P3)], flows("br0", "idle_timeout=60,in_port=1,actions=output:2"),
      [*fwd("p1", icmp(), "p2", n=3), ["dump-flows", "br0"]]),
]
