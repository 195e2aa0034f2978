"""Regenerate ``execute_cases.json``: what a real Open vSwitch's datapath makes of a packet, byte for byte.

Run ``.venv/bin/python tests/data/dpif/execute_capture.py`` on a machine with Open vSwitch installed.  It starts a
private ovs-vswitchd with a dummy datapath (``/work/shared/tools/ovs-reference``), bridge ``br0`` with dummy
ports p1 (OpenFlow port 1), p2 and p3 (ports 2 and 3) whose transmitted frames go to pcap files
(``options:tx_pcap``).  For every case below it installs the OpenFlow flows, injects the packet on p1 with
``ovs-appctl netdev-dummy/receive``, and records

* ``dp_actions``: the actions of the megaflow the upcall installed (``ovs-appctl dpctl/dump-flows``), which the
  dummy datapath executed on that packet;
* ``outputs``: the frames that came out, as (port name, hex) in transmission order per port (ports are read one
  after the other: p2's frames, then p3's; the order between ports is not observable in the pcaps).

``port_names`` maps the datapath port numbers of ``dp_actions`` to names.  The test
(``tests/dpif/test_execute.py``) runs pyvswitch's executor on the same packet with the parsed ``dp_actions`` and
expects the same frames.  The reference switch is stopped by pid and its directory removed afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from scapy.all import (
    ARP,
    ICMP,
    IP,
    SCTP,
    TCP,
    UDP,
    Dot1Q,
    Ether,
    ICMPv6EchoRequest,
    ICMPv6ND_NS,
    ICMPv6NDOptSrcLLAddr,
    IPOption_RR,
    IPv6,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    raw,
)
from scapy.contrib.mpls import MPLS

REF = "/work/shared/tools/ovs-reference"
OUT = Path(__file__).with_name("execute_cases.json")
MACS = {"src": "50:54:00:00:00:05", "dst": "50:54:00:00:00:07"}
PAY = b"pyvswitch-payload"


def _eth() -> Ether:
    return Ether(**MACS)


def _packets() -> dict[str, bytes]:
    e = _eth
    return {
        "udp4": raw(e() / IP(src="192.168.0.1", dst="192.168.0.2", ttl=64) / UDP(sport=1000, dport=53) / PAY),
        "udp4_nocsum": raw(e() / IP(src="192.168.0.1", dst="192.168.0.2") / UDP(sport=1000, dport=53, chksum=0)
                           / PAY),
        "tcp4": raw(e() / IP(src="10.0.0.1", dst="10.0.0.2", tos=0x21) / TCP(sport=4321, dport=80, flags="S")
                    / PAY),
        "tcp4_opts": raw(e() / IP(src="10.0.0.1", dst="10.0.0.2", options=[IPOption_RR()])
                         / TCP(sport=4321, dport=80, flags="A") / PAY),
        "icmp4": raw(e() / IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(type=8, code=0) / PAY),
        "sctp4": raw(e() / IP(src="10.0.0.1", dst="10.0.0.2") / SCTP(sport=9, dport=53) / PAY),
        "frag4_first": raw(e() / IP(src="10.0.0.1", dst="10.0.0.2", flags="MF", frag=0) / UDP(sport=1, dport=2)
                           / PAY),
        "frag4_later": raw(e() / IP(src="10.0.0.1", dst="10.0.0.2", proto=17, frag=100) / PAY),
        "vlan_udp4": raw(e() / Dot1Q(vlan=10, prio=3) / IP(src="192.168.0.1", dst="192.168.0.2")
                         / UDP(sport=1000, dport=53) / PAY),
        "vlan_tcp4": raw(e() / Dot1Q(vlan=10) / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1, dport=2)
                         / PAY),
        "tcp6": raw(e() / IPv6(src="2001:db8::1", dst="2001:db8::2", tc=0x20, fl=0x12345, hlim=64)
                    / TCP(sport=4321, dport=80) / PAY),
        "udp6": raw(e() / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=7, dport=8) / PAY),
        "icmp6": raw(e() / IPv6(src="2001:db8::1", dst="2001:db8::2") / ICMPv6EchoRequest(id=1, seq=2) / PAY),
        "udp6_ext": raw(e() / IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrHopByHop()
                        / IPv6ExtHdrFragment(offset=0, m=1, id=7) / UDP(sport=7, dport=8) / PAY),
        "nd_ns": raw(e() / IPv6(src="2001:db8::1", dst="ff02::1:ff00:2") / ICMPv6ND_NS(tgt="2001:db8::2")
                     / ICMPv6NDOptSrcLLAddr(lladdr=MACS["src"])),
        "arp": raw(e() / ARP(op=1, hwsrc=MACS["src"], psrc="10.0.0.1", pdst="10.0.0.2")),
        "mpls": raw(e() / MPLS(label=100, cos=3, s=1, ttl=64) / IP(src="10.0.0.1", dst="10.0.0.2")
                    / UDP(sport=1, dport=2) / PAY),
        "ether_1234": raw(Ether(type=0x1234, **MACS) / (PAY * 4)),
    }


# (name, OpenFlow flows (OpenFlow 1.3 syntax), packet name).
CASES: list[tuple[str, list[str], str]] = [
    ("brief", ["actions=mod_nw_src:1.2.3.4,mod_tp_dst:99,push_vlan:0x8100,mod_vlan_vid:5,output:2"], "udp4"),
    ("udp_nocsum", ["actions=mod_nw_src:1.2.3.4,mod_tp_dst:99,output:2"], "udp4_nocsum"),
    ("tcp_addrs_ports", ["actions=mod_nw_dst:172.16.0.9,mod_tp_src:1,mod_tp_dst:65535,output:2"], "tcp4"),
    ("tcp_ip_options", ["actions=mod_nw_src:1.1.1.1,mod_tp_dst:8080,output:2"], "tcp4_opts"),
    ("tos_ttl", ["actions=mod_nw_tos:0x48,mod_nw_ecn:2,dec_ttl,output:2"], "tcp4"),
    ("set_ttl", ["actions=mod_nw_ttl:3,output:2"], "udp4"),
    ("dl_addrs", ["actions=mod_dl_src:00:00:00:00:00:09,mod_dl_dst:0a:0b:0c:0d:0e:0f,output:2"], "udp4"),
    ("icmp_type", ["actions=set_field:0->icmp_type,set_field:3->icmp_code,mod_nw_src:9.9.9.9,output:2"],
     "icmp4"),
    ("sctp_ports", ["actions=set_field:5->sctp_src,set_field:6->sctp_dst,output:2"], "sctp4"),
    ("frag_first", ["actions=mod_nw_src:1.2.3.4,output:2"], "frag4_first"),
    ("frag_later", ["actions=mod_nw_src:1.2.3.4,mod_nw_ttl:5,output:2"], "frag4_later"),
    ("pop_vlan", ["actions=pop_vlan,output:2"], "vlan_udp4"),
    ("mod_vlan", ["actions=mod_vlan_vid:7,mod_vlan_pcp:5,output:2"], "vlan_udp4"),
    ("vlan_set_ip", ["actions=mod_nw_dst:8.8.8.8,mod_tp_dst:443,output:2"], "vlan_tcp4"),
    ("push_qinq", ["actions=push_vlan:0x88a8,set_field:4102->vlan_vid,output:2"], "vlan_udp4"),
    ("push_mpls", ["actions=push_mpls:0x8847,set_field:10->mpls_label,set_field:5->mpls_tc,output:2"], "udp4"),
    ("pop_mpls", ["actions=pop_mpls:0x0800,output:2"], "mpls"),
    ("push_mpls_vlan", ["actions=push_mpls:0x8848,output:2"], "vlan_udp4"),
    ("push_mpls_twice", ["actions=push_mpls:0x8847,set_field:7->mpls_label,push_mpls:0x8847,output:2"], "udp4"),
    ("mpls_ttl", ["actions=set_mpls_ttl:9,set_field:1000->mpls_label,output:2"], "mpls"),
    ("ipv6_addrs", [("actions=set_field:2001:db8::99->ipv6_src,set_field:fe80::1->ipv6_dst,mod_tp_dst:22,"
                     "output:2")], "tcp6"),
    ("ipv6_misc", ["actions=set_field:0xabcde->ipv6_label,mod_nw_tos:0x80,dec_ttl,output:2"], "tcp6"),
    ("ipv6_udp", ["actions=set_field:2001:db8::77->ipv6_dst,mod_tp_src:5353,output:2"], "udp6"),
    ("icmp6_addr", ["actions=set_field:2001:db8::42->ipv6_src,output:2"], "icmp6"),
    ("ipv6_ext", ["actions=set_field:2001:db8::42->ipv6_src,mod_tp_dst:99,output:2"], "udp6_ext"),
    ("nd", ["actions=set_field:2001:db8::3->nd_target,set_field:00:00:00:00:00:0a->nd_sll,output:2"], "nd_ns"),
    ("arp", [("actions=set_field:1.2.3.4->arp_spa,set_field:00:00:00:00:00:0b->arp_sha,set_field:2->arp_op,"
              "set_field:5.6.7.8->arp_tpa,output:2")], "arp"),
    ("two_outputs", ["actions=output:2,mod_nw_src:1.2.3.4,mod_tp_src:7,output:3"], "udp4"),
    ("truncate", ["actions=output(port=2,max_len=60),output:3"], "tcp6"),
    ("clone", ["actions=clone(mod_vlan_vid:3,output:2),mod_nw_dst:3.3.3.3,output:3"], "udp4"),
    ("pop_push", ["actions=pop_vlan,output:2,push_vlan:0x8100,mod_vlan_vid:20,output:3"], "vlan_udp4"),
    ("check_pkt_len", ["actions=check_pkt_larger(100)->reg0[0],resubmit(,1)",
                       "table=1,reg0=1,actions=output:2", "table=1,reg0=0,actions=output:3"], "udp4"),
    ("check_pkt_len_big", ["actions=check_pkt_larger(50)->reg0[0],resubmit(,1)",
                           "table=1,ip,reg0=1,actions=mod_nw_ttl:1,output:2", "table=1,reg0=0,actions=output:3"],
     "udp4"),
    ("non_ip", ["actions=mod_dl_src:00:00:00:00:00:01,push_vlan:0x8100,mod_vlan_vid:9,output:2"],
     "ether_1234"),
]


# The match each packet's flows get (set-field actions need their prerequisites matched).
MATCH = {"udp4": "udp", "udp4_nocsum": "udp", "tcp4": "tcp", "tcp4_opts": "tcp", "icmp4": "icmp",
         "sctp4": "sctp", "frag4_first": "ip", "frag4_later": "ip", "vlan_udp4": "udp,dl_vlan=10", "vlan_tcp4": "tcp,dl_vlan=10",
         "tcp6": "tcp6", "udp6": "udp6", "icmp6": "icmp6", "udp6_ext": "udp6", "nd_ns": "icmp6,icmp_type=135",
         "arp": "arp", "mpls": "mpls", "ether_1234": "dl_type=0x1234"}


# Datapath flows added directly with dpctl/add-flow (for actions that translation of OpenFlow does not produce
# or sends to the slow path): (name, datapath actions, packet name).  The flow key matches the packet's in_port
# and Ethernet type only.
DP_CASES: list[tuple[str, str, str]] = [
    ("dp_icmp_set", "set(icmp(type=0,code=3)),2", "icmp4"),
    ("dp_icmp_addr", "set(ipv4(src=9.9.9.9,ttl=1)),2", "icmp4"),
    ("dp_icmpv6_set", "set(icmpv6(type=129,code=1)),2", "icmp6"),
    ("dp_arp_exact", "set(arp(sip=1.2.3.4,tip=5.6.7.8,op=2,sha=00:00:00:00:00:0b,tha=00:00:00:00:00:0c)),2",
     "arp"),
    ("dp_arp_masked", "set(arp(sip=1.2.3.4/255.255.0.0,sha=00:00:00:00:00:0b/ff:00:00:00:00:ff)),2", "arp"),
    ("dp_nd", "set(nd(target=2001:db8::3,sll=00:00:00:00:00:0a,tll=00:00:00:00:00:00)),2", "nd_ns"),
    ("dp_nd_masked", "set(nd(target=2001:db8::3/ffff::,sll=00:00:00:00:00:0a/00:00:00:00:00:ff)),2", "nd_ns"),
    ("dp_ipv4_masked", "set(ipv4(src=1.2.3.4/255.255.0.0,dst=9.9.9.9/0.0.0.255,tos=0x3/0x3,ttl=9/0xf)),2",
     "tcp4"),
    ("dp_ipv4_masked_udp", "set(ipv4(src=1.2.3.4/255.255.0.0)),set(udp(src=0x100/0xff00)),2", "udp4"),
    ("dp_ipv4_masked_vlan", "set(ipv4(dst=10.1.2.3/255.0.255.0)),set(tcp(dst=7/0xf)),2", "vlan_tcp4"),
    ("dp_eth_masked", "set(eth(dst=ff:ff:00:00:00:00/ff:ff:00:00:00:00)),2", "udp4"),
    ("dp_ipv6_masked", "set(ipv6(src=2001:db8::99/ffff::ffff,label=0x5/0xf,hlimit=9/0xff)),2", "tcp6"),
    ("dp_ipv6_ext_dst", "set(ipv6(dst=2001:db8::5)),2", "udp6_ext"),
    ("dp_sctp_masked", "set(sctp(dst=0x1234/0xff00)),2", "sctp4"),
    ("dp_mpls_exact", "set(mpls(label=5,tc=1,ttl=9,bos=1)),2", "mpls"),
    ("dp_trunc_push", "trunc(40),push_vlan(vid=2,pcp=1),2,3", "udp4"),
    ("dp_trunc_small", "trunc(5),2", "udp4"),
    ("dp_push_vlan_max", "push_vlan(vid=4095,pcp=7),2", "udp4"),
    ("dp_pop_vlan_untagged", "pop_vlan,2", "udp4"),
    ("dp_sample_all", "sample(sample=100.0%,actions(set(ipv4(ttl=7)),2)),3", "udp4"),
    ("dp_clone", "clone(set(ipv4(ttl=7)),push_vlan(vid=3,pcp=0),2),3", "udp4"),
    ("dp_check_pkt_len", "check_pkt_len(size=58,gt(set(ipv4(ttl=2)),2),le(3)),3", "udp4"),
    ("dp_frag_later_udp", "set(ipv4(src=1.2.3.4)),set(udp(src=9)),2", "frag4_later"),
    ("dp_udp_on_tcp", "set(udp(src=9)),2", "tcp4"),
    ("dp_non_ip_set_ipv4", "set(ipv4(src=1.2.3.4)),2", "ether_1234"),
]

DP_FLOWS = {"arp": "eth_type(0x0806),arp(op=1)", "mpls": "eth_type(0x8847),mpls(label=100,tc=3,ttl=64,bos=1)",
            "ether_1234": "eth_type(0x1234)", "frag4_later": "eth_type(0x0800),ipv4(frag=later)",
            "frag4_first": "eth_type(0x0800),ipv4(frag=first)", "udp6_ext": "eth_type(0x86dd),ipv6(frag=first)",
            "vlan_udp4": "eth_type(0x8100),vlan(vid=10,pcp=3),encap(eth_type(0x0800),ipv4(frag=no))",
            "vlan_tcp4": "eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(frag=no))"}


def _dp_flow(pkt_name: str) -> str:
    """A datapath flow that the packet matches (the userspace datapath wants the L3 attribute present)."""
    if pkt_name in DP_FLOWS:
        return f"in_port(1),eth(),{DP_FLOWS[pkt_name]}"
    if "6" in pkt_name or pkt_name == "nd_ns":
        return "in_port(1),eth(),eth_type(0x86dd),ipv6(frag=no)"
    return "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)"


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(args, capture_output=True, text=True, check=False)
    if check and r.returncode:
        raise SystemExit(f"{' '.join(args)} failed: {r.stderr.strip()}")
    return r


def read_pcap(path: Path) -> list[bytes]:
    """The frames of a classic pcap file (either byte order)."""
    if not path.exists():
        return []
    data = path.read_bytes()
    if len(data) < 24:
        return []
    endian = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    frames = []
    ofs = 24
    while ofs + 16 <= len(data):
        incl = struct.unpack_from(endian + "I", data, ofs + 8)[0]
        frames.append(data[ofs + 16:ofs + 16 + incl])
        ofs += 16 + incl
    return frames


def main() -> None:
    rundir = tempfile.mkdtemp(prefix="exec-ref-")
    env = _run(REF, "env", rundir).stdout.strip().removeprefix("export ")
    for assign in env.split():
        k, v = assign.split("=", 1)
        os.environ[k] = v
    _run(REF, "start", rundir, "dummy")
    try:
        pcaps = {name: Path(rundir) / f"{name}.pcap" for name in ("p2", "p3")}
        cmd = ["ovs-vsctl", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
               "protocols=OpenFlow10,OpenFlow13,OpenFlow15"]
        for n, name in enumerate(("p1", "p2", "p3"), 1):
            cmd += ["--", "add-port", "br0", name, "--", "set", "interface", name, "type=dummy",
                    f"ofport_request={n}"]
            if name in pcaps:
                cmd.append(f"options:tx_pcap={pcaps[name]}")
        _run(*cmd)
        time.sleep(0.5)
        port_names: dict[int, str] = {}
        for line in _run("ovs-appctl", "dpctl/show").stdout.splitlines():
            line = line.strip()
            if line.startswith("port "):
                num, _, rest = line[5:].partition(": ")
                port_names[int(num)] = rest.split()[0]
        packets = _packets()
        cases: list[dict[str, Any]] = []
        for name, flows, pkt_name in CASES:
            _run("ovs-ofctl", "-O", "OpenFlow13", "del-flows", "br0")
            for flow in flows:
                if not flow.startswith("table="):
                    flow = f"{MATCH[pkt_name]},{flow}"
                _run("ovs-ofctl", "-O", "OpenFlow13", "add-flow", "br0", flow)
            _run("ovs-appctl", "revalidator/purge")
            before = {p: len(read_pcap(f)) for p, f in pcaps.items()}
            packet = packets[pkt_name]
            _run("ovs-appctl", "netdev-dummy/receive", "p1", packet.hex())
            dumped: list[str] = []
            for _ in range(30):
                time.sleep(0.1)
                dumped = [line for line in _run("ovs-appctl", "dpctl/dump-flows").stdout.splitlines()
                          if line and not line.startswith("flow-dump")]
                if dumped:
                    break
            if len(dumped) != 1:
                raise SystemExit(f"{name}: expected one megaflow, got {dumped}")
            outputs = []
            for p, f in pcaps.items():
                outputs += [[p, frame.hex()] for frame in read_pcap(f)[before[p]:]]
            cases.append({"name": name, "flows": flows, "packet": packet.hex(),
                          "dp_actions": dumped[0].split(", actions:", 1)[1], "outputs": outputs})
        _run("ovs-ofctl", "-O", "OpenFlow13", "del-flows", "br0")
        for name, actions, pkt_name in DP_CASES:
            packet = packets[pkt_name]
            entry: dict[str, Any] = {"name": name, "packet": packet.hex(), "dp_actions": actions}
            for _attempt in range(3):
                _run("ovs-appctl", "revalidator/purge")
                _run("ovs-appctl", "dpctl/del-flows")
                before = {p: len(read_pcap(f)) for p, f in pcaps.items()}
                r = _run("ovs-appctl", "dpctl/add-flow", "dummy@ovs-dummy", _dp_flow(pkt_name), actions,
                         check=False)
                if r.returncode:
                    entry["error"] = r.stderr.strip() or r.stdout.strip()
                    break
                installed = [line for line in _run("ovs-appctl", "dpctl/dump-flows").stdout.splitlines()
                             if ", actions:" in line]
                if len(installed) != 1:
                    raise SystemExit(f"{name}: expected one datapath flow, got {installed}")
                entry["dp_actions"] = installed[0].split(", actions:", 1)[1].strip()
                _run("ovs-appctl", "netdev-dummy/receive", "p1", packet.hex())
                time.sleep(0.2)
                hit = "packets:1," in _run("ovs-appctl", "dpctl/dump-flows").stdout
                entry["outputs"] = []
                for p, f in pcaps.items():
                    entry["outputs"] += [[p, frame.hex()] for frame in read_pcap(f)[before[p]:]]
                if hit:
                    break
            else:
                raise SystemExit(f"{name}: the packet never hit the datapath flow")
            cases.append(entry)
        OUT.write_text(json.dumps({"port_names": {str(k): v for k, v in sorted(port_names.items())},
                                   "cases": cases}, indent=1) + "\n")
        print(f"wrote {len(cases)} cases to {OUT}")
    finally:
        _run(REF, "stop", rundir, check=False)
        shutil.rmtree(rundir, ignore_errors=True)


if __name__ == "__main__":
    main()
