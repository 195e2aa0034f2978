"""Regenerate ``dump_verbose.json``: what ``ovs-appctl dpctl/dump-flows -m`` prints for megaflows of OVS 3.1.

Run ``python tests/data/dpif/dump_verbose_capture.py`` on a machine with Open vSwitch installed.  It starts a
private ovs-vswitchd with a dummy datapath (``/work/shared/tools/ovs-reference``), bridge ``br0`` with dummy
ports p1, p2, p3 (OpenFlow and datapath ports 1, 2, 3; the bridge's own port is datapath port 100), and for
every scenario below installs its OpenFlow flows, then for every packet of the scenario:

* removes every datapath flow and its revalidator state (``revalidator/purge``);
* injects the packet on p1 with ``netdev-dummy/receive`` (given in datapath flow syntax, from which OVS
  composes the frame, or as hex; the frame is read back from p1's ``rxq_pcap`` file and recorded as hex),
  twice when the scenario says so,
  so that the megaflow also has statistics (``packets:1``, ``used``, ``flags``);
* records ``dpctl/dump-flows`` with ``-m``, ``-m --no-names``, no option and ``--names``, and the
  ``Megaflow:`` line of ``ofproto/trace`` for the same packet (the wildcards translation produced, including
  those the datapath flow text does not show).

It also installs each flow of ``ADD_FLOWS`` alone with ``dpctl/add-flow`` and records the same dumps.

The reference switch is stopped by pid and its directory removed afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from pyvswitch.netdev.netdev_dummy import read_pcap

REF = "/work/shared/tools/ovs-reference"
OUT = Path(__file__).with_name("dump_verbose.json")


def _eth(src: int = 1, dst: int = 2) -> str:
    return f"in_port(1),eth(src=50:54:00:00:00:{src:02x},dst=50:54:00:00:00:{dst:02x})"


def _ip4(proto: int, l4: str, src: str = "10.0.0.1", dst: str = "10.0.0.2", frag: str = "no",
         tos: int = 0, ttl: int = 64) -> str:
    text = f"eth_type(0x0800),ipv4(src={src},dst={dst},proto={proto},tos={tos:#x},ttl={ttl},frag={frag})"
    return text + ("," + l4 if l4 else "")


def _ip6(proto: int, l4: str, src: str = "2001:db8::1", dst: str = "2001:db8::2", label: int = 0,
         hlimit: int = 64) -> str:
    text = (f"eth_type(0x86dd),ipv6(src={src},dst={dst},label={label:#x},proto={proto},tclass=0,"
            f"hlimit={hlimit},frag=no)")
    return text + ("," + l4 if l4 else "")


E = _eth()
TCP = _ip4(6, "tcp(src=1000,dst=80)")
TCP_SYN = _ip4(6, "tcp(src=1000,dst=80),tcp_flags(syn)")
UDP = _ip4(17, "udp(src=53,dst=5353)")
ICMP = _ip4(1, "icmp(type=8,code=0)")
ARP = "eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1,sha=50:54:00:00:00:01,tha=00:00:00:00:00:00)"
UDP6 = _ip6(17, "udp(src=1,dst=53)", label=0x12345)
ECHO6 = _ip6(58, "icmpv6(type=128,code=0)")
NS6 = _ip6(58, "icmpv6(type=135,code=0),nd(target=fe80::2,sll=50:54:00:00:00:01,tll=00:00:00:00:00:00)",
           src="fe80::1", dst="ff02::1:ff00:2", hlimit=255)
NA6 = _ip6(58, "icmpv6(type=136,code=0),nd(target=fe80::1,sll=00:00:00:00:00:00,tll=50:54:00:00:00:01)",
           src="fe80::1", dst="fe80::2", hlimit=255)
MPLS = "eth_type(0x8847),mpls(label=100,tc=3,ttl=64,bos=1)"
OTHER = "eth_type(0x1234)"


# Frames netdev-dummy cannot compose from a flow, given as hex: an 802.2 frame (a length, not a type) and an
# MPLS packet with two label stack entries.
LLC = "505400000012505400000002002ee0e003" + "00" * 43
MPLS2 = "5054000000135054000000028847000640400006513f" + "45000014000000004011f9d50a0000010a000002"


def _vlan(vid: int, pcp: int, inner: str) -> str:
    return f"eth_type(0x8100),vlan(vid={vid},pcp={pcp}),encap({inner})"


# (name, OpenFlow flows, packets on p1 in datapath flow syntax, inject twice, trace).
SCENARIOS: list[tuple[str, list[str], list[str], bool, bool]] = [
    ("normal", ["actions=NORMAL"],
     [f"{E},{TCP}", f"{_eth(3)},{TCP_SYN}", f"{E},{UDP}", f"{E},{ICMP}", f"{E},{ARP}", f"{_eth(4)},{UDP6}",
      f"{_eth(5)},{ECHO6}", f"{_eth(6)},{NS6}", f"{_eth(7)},{MPLS}", f"{_eth(8)},{OTHER}",
      f"{_eth(9)},{_vlan(10, 3, TCP)}", f"{_eth(10)},{_ip4(17, 'udp(src=1,dst=2)', frag='first')}",
      f"{_eth(11)},{_ip4(17, '', frag='later')}", LLC, MPLS2], True, True),
    ("l3l4", ["priority=10,tcp,tp_dst=80,actions=output:2",
              "priority=9,ip,nw_dst=10.0.0.0/8,actions=output:3",
              "priority=8,udp6,udp_dst=53,actions=output:2",
              "priority=7,icmp,icmp_type=8,actions=output:2",
              "priority=6,arp,arp_op=1,actions=output:3",
              "priority=5,tcp,tp_src=1000/0xff00,actions=output:2",
              "priority=0,actions=drop"],
     [f"{E},{TCP}", f"{E},{_ip4(6, 'tcp(src=1000,dst=22)', dst='11.0.0.1')}",
      f"{E},{_ip4(17, 'udp(src=1,dst=2)', dst='10.1.2.3', tos=0x10)}",
      f"{E},{_ip4(1, 'icmp(type=8,code=0)', dst='12.0.0.1')}",
      f"{E},{_ip4(1, 'icmp(type=0,code=0)', dst='12.0.0.1')}", f"{E},{ARP}", f"{E},{UDP6}", f"{E},{ECHO6}",
      f"{E},{OTHER}", f"{E},{MPLS}"], True, True),
    ("masks", ["priority=10,ip,nw_src=10.0.0.1,actions=output:2",
               "priority=9,ipv6,ipv6_src=2001:db8::1,actions=output:3",
               "priority=8,arp,arp_sha=50:54:00:00:00:09,actions=output:2",
               "priority=7,icmp6,icmp_type=135,nd_target=fe80::2,actions=output:2",
               "priority=6,tcp,tcp_flags=+syn,actions=output:3",
               "priority=5,dl_vlan_pcp=3,actions=output:2",
               "priority=4,dl_src=50:54:00:00:00:00/ff:ff:ff:ff:ff:f0,dl_type=0x1234,actions=output:3",
               "priority=3,ip,nw_tos=0x20,actions=output:2",
               "priority=0,actions=drop"],
     [f"{E},{TCP_SYN}", f"{E},{_ip4(6, 'tcp(src=1,dst=2),tcp_flags(syn|ack)', src='10.0.0.2')}",
      f"{E},{ARP}", f"{E},{UDP6}", f"{E},{NS6}", f"{E},{NA6}", f"{E},{_vlan(10, 3, ARP)}",
      f"{E},{OTHER}", f"{_eth(0x21)},{OTHER}",
      f"{E},{_ip4(17, 'udp(src=1,dst=2)', src='10.0.0.3', tos=0x20)}",
      f"{E},{_ip4(17, 'udp(src=1,dst=2)', src='10.0.0.3', ttl=5)}"], True, True),
    ("vlan", ["priority=10,dl_vlan=10,actions=strip_vlan,output:2", "priority=9,dl_vlan=20,actions=output:3",
              "priority=8,vlan_tci=0/0x1000,actions=mod_vlan_vid:5,output:2",
              "priority=0,actions=drop"],
     [f"{E},{_vlan(10, 0, UDP)}", f"{E},{_vlan(20, 5, ICMP)}", f"{E},{_vlan(30, 1, OTHER)}", f"{E},{UDP}",
      f"{E},{_vlan(10, 2, NS6)}"], True, True),
    ("rewrite", ["priority=10,tcp,actions=mod_nw_tos:8,dec_ttl,mod_tp_dst:8080,output:2",
                 "priority=9,udp,actions=mod_dl_src:00:00:00:00:00:09,set_field:8.8.8.8->ip_dst,output:3",
                 "priority=8,ipv6,actions=dec_ttl,output:2", "priority=7,arp,actions=mod_vlan_vid:3,output:2",
                 "priority=6,icmp,actions=controller",
                 "priority=0,actions=output:LOCAL"],
     [f"{E},{TCP_SYN}", f"{E},{UDP}", f"{E},{UDP6}", f"{E},{ARP}", f"{E},{ICMP}", f"{E},{OTHER}"], True,
     True),
    ("ct", ["table=0,ip,actions=ct(table=1,zone=5)",
            "table=1,ct_state=+trk+new,ip,actions=ct(commit,exec(set_field:0x3->ct_mark)),output:2",
            "table=1,actions=output:3"],
     [f"{E},{UDP}", f"{E},{TCP}"], False, False),
]

# Datapath flows put with ``dpctl/add-flow`` (actions ``2``): the datapath keeps the key as given.
ADD_FLOWS: list[str] = [
    ("tunnel(tun_id=0x5,src=1.1.1.1,dst=1.1.1.2,tos=0x1/0xff,ttl=64,tp_src=1,tp_dst=4789,"
     "flags(-df+csum+key)),in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),"
     "ipv4(src=1.1.1.1,frag=no)"),
    ("tunnel(tun_id=0x5,src=1.1.1.1,dst=1.1.1.2,ttl=64,flags(+key)),in_port(1),eth(),eth_type(0x0800),"
     "ipv4(src=1.1.1.1,frag=no)"),
    "tunnel(src=1.1.1.1,dst=1.1.1.2,ttl=64),in_port(1),eth(),eth_type(0x1234)",
    ("tunnel(tun_id=0x0/0xff,src=1.1.1.1,dst=1.1.1.2/255.255.255.0,ttl=64,flags(+key)),in_port(1),eth(),"
     "eth_type(0x1234)"),
    "tunnel(ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,ttl=64,tp_dst=6081),in_port(1),eth(),eth_type(0x1234)",
    ("skb_priority(0x1),skb_mark(0x5/0xff),ct_state(+trk+est),ct_zone(5),ct_mark(0x3/0xff),ct_label(0x1),"
     "recirc_id(0x3),dp_hash(0x5/0xf),in_port(1),eth(),eth_type(0x86dd),ipv6(src=::1/ffff::,label=0x5/0xff,"
     "proto=6,frag=no),tcp(src=1),tcp_flags(syn|ack)"),
    ("ct_state(+trk),ct_tuple6(src=::1,dst=::2,proto=17,tp_src=1,tp_dst=2),in_port(1),eth(),eth_type(0x86dd),"
     "ipv6(proto=17,frag=no),udp(src=1)"),
    ("ct_state(-trk),ct_tuple4(src=1.1.1.1,dst=2.2.2.2/255.255.0.0,proto=6,tp_src=1,tp_dst=2),in_port(1),"
     "eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(dst=2)"),
    ("in_port(1),eth(src=00:00:00:00:00:01),eth_type(0x0800),ipv4(src=1.2.3.4,proto=6,tos=0x3/0x3,"
     "frag=first),tcp(src=1)"),
    "in_port(1),eth(),eth_type(0x0800),ipv4(src=1.2.3.4,proto=17,frag=later)",
    "in_port(1),eth_type(0x0800),ipv4(src=1.2.3.4)",
    "in_port(1),eth_type(0x86dd),ipv6(dst=2001:db8::1,hlimit=3/0xff,frag=no)",
    ("in_port(1),eth(src=00:00:00:00:00:01/ff:ff:ff:00:00:00),eth_type(0x8100),vlan(vid=10,pcp=3),"
     "encap(eth_type(0x0800),ipv4(src=1.1.1.1,proto=6),tcp(src=80),tcp_flags(syn))"),
    "in_port(1),eth(),eth_type(0x8847),mpls(label=100,tc=3,ttl=64,bos=1)",
    ("in_port(1),eth(),eth_type(0x86dd),ipv6(src=::1,dst=fe80::1/ffff::,label=5/0xff,proto=58,tclass=0/0x3,"
     "hlimit=255,frag=no),icmpv6(type=135,code=0),nd(target=::3,sll=00:00:00:00:00:01,"
     "tll=00:00:00:00:00:00)"),
    ("in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=136,code=0),"
     "nd(target=2001:db8::1/ffff::)"),
    "in_port(1),eth(),eth_type(0x0806),arp(sip=1.2.3.4/255.255.0.0,op=2)",
    "in_port(1),eth(),eth_type(0x0806),arp(sha=00:00:00:00:00:01/ff:ff:ff:ff:ff:00,tha=00:00:00:00:00:02)",
    "in_port(1),eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(dst=80),tcp_flags(+syn-ack)",
    "in_port(1),eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp_flags(0x12/0xfff)",
    "in_port(1),eth(),eth_type(0x0800),ipv4(proto=132,frag=no),sctp(src=1,dst=2/0xf)",
    "in_port(1),eth(),eth_type(0x0800),ipv4(proto=1,frag=no),icmp(type=8)",
    "in_port(1),eth(),eth_type(0x0800),ipv4(proto=17,tos=0x10/0xf0,ttl=9,frag=no),udp(dst=53/0xff)",
    "in_port(2),eth(dst=01:00:00:00:00:00/01:00:00:00:00:00),eth_type(0x1234)",
    "in_port(1),eth(),eth_type(0x1234)",
]


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=check)


def _dump(*options: str) -> list[str]:
    out = _run("ovs-appctl", "dpctl/dump-flows", *options).stdout
    return [line for line in out.splitlines() if line and not line.startswith("flow-dump")]


def _pcap_frames(path: Path) -> list[bytes]:
    """The packets of a pcap file (none while it does not exist)."""
    return read_pcap(str(path)) if path.exists() and path.stat().st_size >= 24 else []


def _trace_megaflow(packet: str) -> str | None:
    if all(c in "0123456789abcdef" for c in packet):
        out = _run("ovs-appctl", "ofproto/trace", "br0", "in_port=1", packet, check=False).stdout
    else:
        out = _run("ovs-appctl", "ofproto/trace", "ovs-dummy", packet, check=False).stdout
    return next((line.removeprefix("Megaflow: ") for line in out.splitlines()
                 if line.startswith("Megaflow: ")), None)


def main() -> None:
    rundir = tempfile.mkdtemp(prefix="dumpv-ref-")
    env = _run(REF, "env", rundir).stdout.strip().removeprefix("export ")
    for assign in env.split():
        k, v = assign.split("=", 1)
        os.environ[k] = v
    _run(REF, "start", rundir, "dummy")
    pcap = Path(rundir) / "p1-rx.pcap"
    try:
        cmd = ["ovs-vsctl", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy"]
        for no in (1, 2, 3):
            cmd += ["--", "add-port", "br0", f"p{no}", "--", "set", "interface", f"p{no}", "type=dummy",
                    f"ofport_request={no}"]
        _run(*cmd)
        _run("ovs-vsctl", "set", "interface", "p1", f"options:rxq_pcap={pcap}")
        _run("ovs-appctl", "vlog/set", "ANY:file:emer")
        ports = _run("ovs-appctl", "dpctl/show").stdout
        cases: dict[str, Any] = {"ports": [line.strip() for line in ports.splitlines()
                                           if line.strip().startswith("port ")],
                                 "entries": []}
        for name, flows, packets, twice, trace in SCENARIOS:
            _run("ovs-ofctl", "del-flows", "br0")
            for flow in flows:
                _run("ovs-ofctl", "add-flow", "br0", flow)
            for packet in packets:
                _run("ovs-appctl", "revalidator/purge")
                before = len(_pcap_frames(pcap))
                for _ in range(2 if twice else 1):
                    _run("ovs-appctl", "netdev-dummy/receive", "p1", packet)
                frames = _pcap_frames(pcap)[before:]
                entry: dict[str, Any] = {
                    "scenario": name, "openflow": flows, "packet": packet, "twice": twice,
                    "frame": frames[0].hex() if frames else None,
                    "verbose": _dump("-m"), "verbose_no_names": _dump("-m", "--no-names"),
                    "plain": _dump(), "plain_names": _dump("--names"),
                    "megaflow": _trace_megaflow(packet) if trace else None,
                }
                cases["entries"].append(entry)
        cases["add_flows"] = []
        for flow in ADD_FLOWS:
            _run("ovs-appctl", "dpctl/del-flows")
            r = _run("ovs-appctl", "dpctl/add-flow", "dummy@ovs-dummy", flow, "2", check=False)
            cases["add_flows"].append({
                "input": flow, "error": r.returncode != 0,
                "verbose": _dump("-m"), "verbose_no_names": _dump("-m", "--no-names"), "plain": _dump()})
        OUT.write_text(json.dumps(cases, indent=1) + "\n")
    finally:
        _run(REF, "stop", rundir, check=False)
        shutil.rmtree(rundir, ignore_errors=True)


if __name__ == "__main__":
    main()
