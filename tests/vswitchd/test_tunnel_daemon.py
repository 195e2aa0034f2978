"""Tunnel vports in a running pyvs-vswitchd on the dummy datapath, configured with the real ovs-vsctl: the
``dpif/show`` lines and ``tnl/ports/show`` of Open vSwitch 3.1's reference setup (.helpers' reference capture,
the same setup as tests/data/ofproto/tunnel_xlate_ovs31.txt), interface errors for bad options and for a second
vport with the same configuration (texts from Open vSwitch: tests/data/ofproto/tunnel_options_ovs31.txt), and a
VXLAN packet received on the underlay decapsulated to its vport, counted in its statistics, with the vport's
status, as the database shows them.
"""

from __future__ import annotations

import re
import subprocess

from pyvswitch.packet.build import arp_reply_frame, icmp4_echo_frame, udp4_frame, vxlan4_frame

from .conftest import Switchd

PEER_MAC = "f8:bc:12:44:34:b6"

# The reference's dpif/show lines for the vports (their OpenFlow and datapath numbers, and options).
REFERENCE_DPIF_SHOW = """\
    t2 2/4789: (vxlan: key=456, remote_ip=1.1.2.92)
    t3 4/4789: (vxlan: csum=true, out_key=flow, remote_ip=1.1.2.93)
    t4 5/6081: (geneve: key=123, remote_ip=flow)
    t6 7/4790: (vxlan: dst_port=4790, key=789, remote_ip=1.1.2.92)"""
# gre_sys gets the lowest free datapath number (2 in the reference, where fewer ports existed then).
REFERENCE_GRE = re.compile(r"^    t1 3/\d+: \(gre: key=456, remote_ip=1\.1\.2\.92\)$", re.MULTILINE)
REFERENCE_PORTS = {"vxlan_sys_4789 (4789) ref_cnt=2", "genev_sys_6081 (6081) ref_cnt=1",
                   "vxlan_sys_4790 (4790) ref_cnt=1"}


def _setup(s: Switchd) -> str:
    s.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
            "other-config:hwaddr=aa:55:aa:55:00:00", "--",
            "add-port", "br0", "p1", "--", "set", "interface", "p1", "type=dummy", "ofport_request=1")
    s.vsctl("set", "Open_vSwitch", ".", "other_config:stats-update-interval=1000")
    s.vsctl("add-br", "int-br", "--", "set", "bridge", "int-br", "datapath_type=dummy",
            "--", "add-port", "int-br", "t2", "--", "set", "interface", "t2", "type=vxlan",
            "options:remote_ip=1.1.2.92", "options:key=456", "ofport_request=2",
            "--", "add-port", "int-br", "t1", "--", "set", "interface", "t1", "type=gre",
            "options:remote_ip=1.1.2.92", "options:key=456", "ofport_request=3",
            "--", "add-port", "int-br", "t3", "--", "set", "interface", "t3", "type=vxlan",
            "options:remote_ip=1.1.2.93", "options:out_key=flow", "options:csum=true", "ofport_request=4",
            "--", "add-port", "int-br", "t4", "--", "set", "interface", "t4", "type=geneve",
            "options:remote_ip=flow", "options:key=123", "ofport_request=5",
            "--", "add-port", "int-br", "t6", "--", "set", "interface", "t6", "type=vxlan",
            "options:remote_ip=1.1.2.92", "options:key=789", "options:dst_port=4790", "ofport_request=7",
            "--", "add-port", "int-br", "p0", "--", "set", "interface", "p0", "type=dummy", "ofport_request=10")
    for cmd in (["netdev-dummy/ip4addr", "br0", "1.1.2.88/24"], ["ovs/route/add", "1.1.2.92/24", "br0"],
                ["tnl/neigh/set", "br0", "1.1.2.92", PEER_MAC]):
        r = s.appctl(*cmd)
        assert r.returncode == 0 and r.stdout == "OK\n", (cmd, r.stdout, r.stderr)
    return s.get("Interface", "br0", "mac_in_use").strip('"')


def test_show_errors_and_statistics(switchd: Switchd) -> None:
    s = switchd
    br0_mac = _setup(s)
    show = s.appctl("dpif/show").stdout
    assert REFERENCE_DPIF_SHOW in show
    assert REFERENCE_GRE.search(show), show
    ports = s.appctl("tnl/ports/show").stdout.splitlines()
    assert ports[0] == "Listening ports:"
    assert REFERENCE_PORTS <= set(ports[1:])
    assert any(re.fullmatch(r"gre_sys \(\d+\) ref_cnt=1", line) for line in ports[1:]), ports
    verbose = s.appctl("tnl/ports/show", "-v").stdout
    assert (f"vxlan_sys_4789 (4789) : eth(dst={br0_mac}),eth_type(0x0800),ipv4(dst=1.1.2.88,proto=17,frag=no),"
            "udp(dst=4789)") in verbose

    # Bad options and a second vport configured like t2: Open vSwitch's errors, and the vport is not added.
    r = s.vsctl("add-port", "int-br", "bad", "--", "set", "interface", "bad", "type=vxlan",
                "options:remote_ip=224.1.1.1")
    assert "Error detected while setting up 'bad'" in r.stderr
    assert s.get("Interface", "bad", "error") == '"bad: multicast remote_ip=224.1.1.1 not allowed"'
    assert s.get("Interface", "bad", "ofport") == "-1"
    s.vsctl("add-port", "int-br", "dup", "--", "set", "interface", "dup", "type=vxlan",
            "options:remote_ip=1.1.2.92", "options:key=456")
    assert s.get("Interface", "dup", "error") == '"could not add network device dup to ofproto (File exists)"'
    assert "vxlan_sys_4789 (4789) ref_cnt=2" in s.appctl("tnl/ports/show").stdout
    # New options reconfigure a vport in place, onto another shared port when dst_port changes.
    s.vsctl("set", "interface", "t6", "options:dst_port=4791")
    assert "    t6 7/4791: (vxlan: dst_port=4791, key=789, remote_ip=1.1.2.92)" in s.appctl("dpif/show").stdout
    ports = s.appctl("tnl/ports/show").stdout
    assert "vxlan_sys_4791 (4791) ref_cnt=1" in ports and "4790" not in ports

    # A VXLAN packet to br0's address: popped on br0, delivered by t2 (NORMAL on int-br floods it to p0).
    inner = icmp4_echo_frame(eth_src="50:54:00:00:00:0a", eth_dst="50:54:00:00:00:09", ip_src="192.168.0.1",
                             ip_dst="192.168.0.2")
    outer = vxlan4_frame(inner, vni=456, eth_src=PEER_MAC, eth_dst=br0_mac, ip_src="1.1.2.92", ip_dst="1.1.2.88")
    r = s.appctl("netdev-dummy/receive", "p1", outer.hex())
    assert r.returncode == 0, r.stderr
    flows = s.appctl("dpctl/dump-flows").stdout
    assert "actions:tnl_pop(4789)" in flows
    assert re.search(r"tunnel\(tun_id=0x1c8,src=1\.1\.2\.92,dst=1\.1\.2\.88,.*in_port\(4789\)", flows), flows
    s.wait_until(lambda: "tx_packets=1" in s.get("Interface", "p0", "statistics"))
    # And a packet from p0 to t2 is encapsulated towards 1.1.2.92 (NORMAL learned 50:54:00:00:00:0a on t2).
    back = udp4_frame(eth_src="50:54:00:00:00:09", eth_dst="50:54:00:00:00:0a", ip_src="192.168.0.2",
                      ip_dst="192.168.0.1")
    s.appctl("netdev-dummy/receive", "p0", back.hex())
    assert "tnl_push(tnl_port(4789)" in s.appctl("dpctl/dump-flows").stdout

    def stats() -> str | None:
        v = s.get("Interface", "t2", "statistics")
        return v if "tx_packets=1" in v and "rx_packets=1" in v else None
    got = s.wait_until(stats)
    assert got == f"{{rx_bytes={len(inner)}, rx_packets=1, tx_bytes={len(back)}, tx_packets=1}}"
    s.wait_until(lambda: s.get("Interface", "t2", "status") != "{}")
    assert s.get("Interface", "t2", "status") == "{tunnel_egress_iface=br0, tunnel_egress_iface_carrier=up}"
    # t3's remote is in the same route (t4's, remote_ip=flow, is the host's route to ::, if any).
    assert s.get("Interface", "t3", "status") == "{tunnel_egress_iface=br0, tunnel_egress_iface_carrier=up}"


def test_reference_trace(switchd: Switchd) -> None:
    s = switchd
    assert _setup(s) == "aa:55:aa:55:00:00"      # other-config:hwaddr
    r = subprocess.run(["ovs-ofctl", "add-flow", f"unix:{s.rundir}/int-br.mgmt", "in_port=10,actions=output:2"],
                       capture_output=True, text=True, timeout=20, check=False)
    assert r.returncode == 0, r.stderr
    # br0 learns the remote's MAC on p1, as in the reference.
    arp = arp_reply_frame(eth_src=PEER_MAC, eth_dst="aa:55:aa:55:00:00", spa="1.1.2.92", tpa="1.1.2.88")
    s.appctl("netdev-dummy/receive", "p1", arp.hex())
    out = s.appctl("ofproto/trace", "int-br",
                   "tcp,in_port=10,vlan_tci=0x0000,dl_src=50:54:00:00:00:05,dl_dst=50:54:00:00:00:07,"
                   "nw_src=192.168.0.1,nw_dst=192.168.0.2,nw_tos=32,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1,"
                   "tp_dst=2,tcp_flags=0").stdout
    # The reference's lines (its p1 was datapath port 4; here it is 1).
    assert """    output:2
     -> output to native tunnel
     -> tunneling to 1.1.2.92 via br0
     -> tunneling from aa:55:aa:55:00:00 1.1.2.88 to f8:bc:12:44:34:b6 1.1.2.92

bridge("br0")
-------------
 0. priority 0
    NORMAL
     -> forwarding to learned port
""" in out
    assert "Megaflow: recirc_id=0,eth,ip,in_port=10,nw_ecn=0,nw_frag=no\n" in out
    assert ("Datapath actions: tnl_push(tnl_port(4789),header(size=50,type=4,eth(dst=f8:bc:12:44:34:b6,"
            "src=aa:55:aa:55:00:00,dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=17,tos=0,ttl=64,"
            "frag=0x4000),udp(src=0,dst=4789,csum=0x0),vxlan(flags=0x8000000,vni=0x1c8)),out_port(100)),1\n") in out
    # A neighbour cache miss, as in the reference.
    s.appctl("tnl/neigh/flush")
    out = s.appctl("ofproto/trace", "int-br", "tcp,in_port=10,dl_src=50:54:00:00:00:05,"
                   "dl_dst=50:54:00:00:00:07,nw_src=192.168.0.1,nw_dst=192.168.0.2,tp_src=1,tp_dst=2").stdout
    assert "     -> neighbor cache miss for 1.1.2.92 on bridge br0, sending ARP request\n" in out
    assert out.endswith("Megaflow: recirc_id=0,eth,ip,in_port=10,nw_ecn=0,nw_frag=no\nDatapath actions: drop\n")
