#!/usr/bin/env python3
"""Regenerate ``tests/data/trace_flow_lines.json``: how the real Open vSwitch extracts and prints flows.

For every case below (a packet built with Scapy, an input port, optional packet metadata), this script asks a
private Open vSwitch (``ovs-vswitchd --enable-dummy``, dummy datapath, started under a temporary directory and
stopped at the end) for ``ovs-appctl ofproto/trace br0 FLOW PACKET`` and records the text after ``Flow:``.
A case with ``actions`` first installs ``in_port=N,actions=ACTIONS`` at high priority and records the text
after ``Final flow:`` instead: that is how register, metadata and tunnel values that a packet cannot carry into
a trace get printed by OVS.

The test ``tests/flow/test_flow_format.py`` rebuilds the key of each case with ``pyvswitch.flow.extract``
(packet bytes, in_port, and ``md``: the same metadata as storage-slot values of our key) and checks that
``format_flow`` prints exactly the recorded line.

The bridge runs with ``other_config:vlan-limit=2`` (OVS's default is 1) so that double-tagged frames are
compared with the two-tag extraction; the JSON records it.

It also records the ``Flow:`` line of every prefix of a few frames of each protocol (truncation), and of a fixed,
seeded set of random mutations of the frames above (malformed headers of every kind).

Usage: ``.venv/bin/python tools/regen_trace_flow_lines.py [--check]`` (``--check``: compare with the file on disk
instead of writing it; exit 1 on a difference).  Needs Debian's openvswitch-switch and Scapy.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scapy.all import (  # type: ignore[import-untyped]
    ARP,
    ICMP,
    IP,
    LLC,
    SCTP,
    SNAP,
    TCP,
    UDP,
    Dot1AD,
    Dot1Q,
    Dot3,
    Ether,
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6ND_RS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptMTU,
    ICMPv6NDOptSrcLLAddr,
    IPOption_RR,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    Raw,
)
from scapy.contrib.mpls import MPLS  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "trace_flow_lines.json"
VLAN_LIMIT = 2

E = Ether(src="00:11:22:33:44:55", dst="66:77:88:99:aa:bb")
D3 = Dot3(src="00:11:22:33:44:55", dst="66:77:88:99:aa:bb")
IP4 = IP(src="10.0.0.1", dst="192.168.1.254", tos=0x2b, ttl=31)
IP6 = IPv6(src="2001:db8::1", dst="fe80::aa:bb", tc=0x55, fl=0x12345, hlim=7)
ND6 = IPv6(src="fe80::1", dst="ff02::1:ff00:2")

CASES: list[dict[str, Any]] = []


def case(name: str, pkt: Any, *, in_port: int = 1, trace: str = "", md: dict[str, int] | None = None,
         actions: str = "", odp: str = "") -> None:
    """Add a case: ``trace`` is extra metadata in the trace's flow syntax, ``md`` the same as key slots.

    ``odp`` traces a datapath flow with tunnel metadata instead; no tunnel port matches it, and OVS logs the
    flow it looked up ("receive tunnel port not found (FLOW)"), which is recorded.  That lookup happens before
    the packet is parsed: the flow has zero Ethernet addresses and dl_type 0x05ff (no ``eth_type`` in the
    datapath flow), which is also what 14 zero bytes extract to, so give that as the packet."""
    CASES.append({"name": name, "packet": bytes(pkt).hex(), "in_port": in_port, "trace": trace,
                  "actions": actions, "odp": odp, "md": md or {}})


# --- L2 ------------------------------------------------------------------------------------------------------
case("ipv4-udp", E / IP4 / UDP(sport=1234, dport=80) / (b"x" * 18))
case("vlan", E / Dot1Q(vlan=10, prio=3) / IP4 / UDP(sport=1, dport=2))
case("vlan-vid0", E / Dot1Q(vlan=0, prio=0) / IP4 / TCP(sport=1, dport=2, flags=0))
case("vlan-max", E / Dot1Q(vlan=4095, prio=7, id=1) / IP4 / UDP())
case("qinq-88a8", E / Dot1AD(vlan=10, prio=3) / Dot1Q(vlan=20, prio=1) / IP4 / TCP(sport=1, dport=2, flags="SA"))
case("qinq-8100-8100", E / Dot1Q(vlan=100) / Dot1Q(vlan=200, prio=5) / ARP(psrc="1.1.1.1"))
case("three-tags", E / Dot1Q(vlan=10, prio=3) / Dot1Q(vlan=20, prio=1) / Dot1Q(vlan=30) / IP4)
case("vlan-truncated-tag", bytes(E)[:12] + b"\x81\x00\x00\x05\x08")
case("vlan-no-tag", bytes(E)[:12] + b"\x81\x00")
case("vlan-tag-no-payload", bytes(E)[:12] + b"\x81\x00\x20\x05\x08\x00")
case("unknown-ethertype", E / Raw(b"\x12\x34" + b"y" * 30))
case("ethertype-0x0600", bytes(E)[:12] + b"\x06\x00" + b"z" * 40)
case("eth-header-only", bytes(E)[:12] + b"\x88\xcc")
case("llc-non-snap", D3 / LLC(dsap=0x42, ssap=0x42, ctrl=3) / (b"x" * 40))
case("snap-ipv4-udp", D3 / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x800) / IP4 / UDP(sport=7, dport=9))
case("snap-oui-nonzero", D3 / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=1, code=0x800) / IP4 / UDP())
case("snap-type-small", D3 / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x500) / IP4 / UDP())
case("snap-short", bytes(E)[:12] + b"\x00\x10" + b"\xaa\xaa\x03\x00\x00\x00\x08")
case("snap-no-ip", bytes(E)[:12] + b"\x00\x10" + b"\xaa\xaa\x03\x00\x00\x00\x08\x00")
case("vlan-snap", E / Dot1Q(vlan=7, type=0x30) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x86DD)
     / IP6 / UDP(sport=5, dport=6))

# --- ARP ------------------------------------------------------------------------------------------------------
case("arp-request", E / ARP(op=1, hwsrc="00:11:22:33:44:55", psrc="1.1.1.1", pdst="2.2.2.2"))
case("arp-reply", E / ARP(op=2, hwsrc="00:11:22:33:44:55", psrc="1.1.1.1", hwdst="aa:bb:cc:dd:ee:ff",
                          pdst="2.2.2.2"))
case("rarp", Ether(src="00:11:22:33:44:55", dst="ff:ff:ff:ff:ff:ff", type=0x8035)
     / ARP(op=3, hwsrc="00:11:22:33:44:55", psrc="0.0.0.0", hwdst="00:11:22:33:44:55"))
case("arp-op-255", E / ARP(op=255, psrc="1.1.1.1", hwsrc="01:02:03:04:05:06"))
case("arp-op-256", E / ARP(op=256, psrc="1.1.1.1", hwsrc="01:02:03:04:05:06"))
case("arp-htype-6", E / ARP(hwtype=6, psrc="1.1.1.1"))
case("arp-plen-16", E / ARP(plen=16, psrc="1.1.1.1"))
case("arp-truncated", bytes(E / ARP(psrc="1.1.1.1"))[:41])
case("arp-vlan", E / Dot1Q(vlan=3) / ARP(op=1, psrc="1.1.1.1", pdst="1.1.1.2", hwsrc="00:11:22:33:44:55"))

# --- IPv4 -----------------------------------------------------------------------------------------------------
case("icmp-echo", E / IP4 / ICMP(type=8, code=0, id=5))
case("icmp-unreach", E / IP4 / ICMP(type=3, code=13))
case("tcp-syn-ack", E / IP4 / TCP(sport=443, dport=51000, flags="SA"))
case("tcp-all-flags", E / IP4 / TCP(sport=1, dport=2, flags="FSRPAUECN"))
case("tcp-reserved-bits", bytes(E / IP4 / TCP(sport=1, dport=2, flags=0))[:46] + b"\x5f\x00" + bytes(18))
case("tcp-options", E / IP4 / TCP(sport=5, dport=6, flags="S", options=[("MSS", 1460), ("NOP", None),
                                                                           ("WScale", 7)]))
case("tcp-bad-offset-4", E / IP4 / TCP(sport=5, dport=6, dataofs=4))
case("tcp-offset-past-end", E / IP4 / TCP(sport=5, dport=6, dataofs=6))
case("tcp-truncated", bytes(E / IP(src="1.2.3.4", dst="5.6.7.8", proto=6, len=39)) + bytes(19))
case("udp-truncated", bytes(E / IP(src="1.2.3.4", dst="5.6.7.8", proto=17, len=27)) + bytes(7))
case("sctp", E / IP4 / SCTP(sport=7, dport=8))
case("sctp-truncated", bytes(E / IP(src="1.2.3.4", dst="5.6.7.8", proto=132, len=31)) + bytes(11))
case("icmp-truncated", bytes(E / IP(src="1.2.3.4", dst="5.6.7.8", proto=1, len=27)) + b"\x08" + bytes(6))
case("igmp", E / IP(src="1.2.3.4", dst="224.0.0.1", proto=2) / Raw(b"\x11\x64\x00\x00\xe0\x00\x00\x01"))
case("igmp-truncated", bytes(E / IP(src="1.2.3.4", dst="5.6.7.8", proto=2, len=27)) + b"\x11" + bytes(6))
case("ip-proto-0", E / IP4 / Raw(b"\x00" * 8))
case("ip-proto-47", E / IP(src="1.2.3.4", dst="5.6.7.8", proto=47) / (b"\x00" * 8))
case("ip-proto-58", E / IP(src="1.2.3.4", dst="5.6.7.8", proto=58) / ICMPv6ND_NS(tgt="::1")
     / ICMPv6NDOptSrcLLAddr(lladdr="01:02:03:04:05:06"))
case("ip-options", E / IP(src="1.2.3.4", dst="5.6.7.8", options=[IPOption_RR()]) / TCP(sport=5, dport=6, flags="S"))
case("ip-frag-first", E / IP(src="1.2.3.4", dst="5.6.7.8", flags="MF", frag=0) / UDP(sport=1, dport=2))
case("ip-frag-middle", E / IP(src="1.2.3.4", dst="5.6.7.8", flags="MF", frag=100) / UDP(sport=1, dport=2))
case("ip-frag-last", E / IP(src="1.2.3.4", dst="5.6.7.8", flags=0, frag=10) / UDP(sport=1, dport=2))
case("ip-df", E / IP(src="1.2.3.4", dst="5.6.7.8", flags="DF") / TCP(sport=1, dport=2, flags="A"))
case("ip-evil-bit", E / IP(src="1.2.3.4", dst="5.6.7.8", flags="evil") / UDP(sport=1, dport=2))
case("ip-ihl-4", E / IP(ihl=4, src="1.2.3.4", dst="5.6.7.8") / UDP())
case("ip-ihl-15-short", E / IP(ihl=15, src="1.2.3.4", dst="5.6.7.8") / UDP())
case("ip-ihl-6-len-24", E / IP(ihl=6, len=24, src="1.2.3.4", dst="5.6.7.8") / UDP())
case("ip-len-19", E / IP(len=19, src="1.2.3.4", dst="5.6.7.8") / UDP())
case("ip-len-too-long", E / IP(len=200, src="1.2.3.4", dst="5.6.7.8") / UDP())
case("ip-padding", E / IP(len=28, src="1.2.3.4", dst="5.6.7.8") / UDP(sport=9, dport=10) / (b"p" * 30))
case("ip-header-truncated", bytes(E / IP(src="1.2.3.4", dst="5.6.7.8"))[:33])
case("ip-version-6-in-0800", E / IP(version=6, src="1.2.3.4", dst="5.6.7.8") / UDP(sport=3, dport=4))
case("ip-no-payload", bytes(E)[:12] + b"\x08\x00")
case("ip-addresses", E / IP(src="255.255.255.255", dst="0.0.0.0", tos=0xff, ttl=255) / UDP(sport=65535, dport=0))

# --- IPv6 -----------------------------------------------------------------------------------------------------
case("ipv6-udp", E / IP6 / UDP(sport=5, dport=6))
case("ipv6-tcp", E / IP6 / TCP(sport=22, dport=40000, flags="PA"))
case("ipv6-sctp", E / IP6 / SCTP(sport=1000, dport=2000))
case("ipv6-icmp-echo", E / IP6 / ICMPv6EchoRequest())
case("ipv6-nonext", E / IPv6(src="::1", dst="::2", nh=59))
case("ipv6-nd-ns-sll", E / ND6 / ICMPv6ND_NS(tgt="fe80::2") / ICMPv6NDOptSrcLLAddr(lladdr="01:02:03:04:05:06"))
case("ipv6-nd-na-tll", E / ND6 / ICMPv6ND_NA(tgt="fe80::2") / ICMPv6NDOptDstLLAddr(lladdr="01:02:03:04:05:06"))
case("ipv6-nd-ns-no-options", E / ND6 / ICMPv6ND_NS(tgt="2001:db8::99"))
case("ipv6-nd-dup-sll", E / ND6 / ICMPv6ND_NS(tgt="fe80::2") / ICMPv6NDOptSrcLLAddr(lladdr="01:02:03:04:05:06")
     / ICMPv6NDOptSrcLLAddr(lladdr="01:02:03:04:05:07"))
case("ipv6-nd-dup-tll", E / ND6 / ICMPv6ND_NA(tgt="fe80::2") / ICMPv6NDOptDstLLAddr(lladdr="01:02:03:04:05:06")
     / ICMPv6NDOptDstLLAddr(lladdr="01:02:03:04:05:07"))
case("ipv6-nd-zero-sll-then-sll", E / ND6 / ICMPv6ND_NS(tgt="fe80::2")
     / ICMPv6NDOptSrcLLAddr(lladdr="00:00:00:00:00:00") / ICMPv6NDOptSrcLLAddr(lladdr="01:02:03:04:05:07")
     / ICMPv6NDOptDstLLAddr(lladdr="01:02:03:04:05:08"))
case("ipv6-nd-both-in-na", E / ND6 / ICMPv6ND_NA(tgt="fe80::2") / ICMPv6NDOptMTU()
     / ICMPv6NDOptSrcLLAddr(lladdr="01:02:03:04:05:06") / ICMPv6NDOptDstLLAddr(lladdr="01:02:03:04:05:08"))
case("ipv6-nd-long-lla-option", E / ND6 / ICMPv6ND_NA(tgt="fe80::2")
     / ICMPv6NDOptDstLLAddr(lladdr="01:02:03:04:05:08", len=2) / (b"\x00" * 8))
case("ipv6-nd-zero-length-option", E / ND6 / ICMPv6ND_NA(tgt="fe80::2")
     / ICMPv6NDOptDstLLAddr(lladdr="01:02:03:04:05:08") / ICMPv6NDOptMTU(len=0)
     / ICMPv6NDOptSrcLLAddr(lladdr="01:02:03:04:05:06"))
case("ipv6-nd-option-past-end", E / ND6 / ICMPv6ND_NA(tgt="fe80::2")
     / ICMPv6NDOptDstLLAddr(lladdr="01:02:03:04:05:08") / ICMPv6NDOptMTU(len=4))
case("ipv6-nd-code-1", E / ND6 / ICMPv6ND_NA(tgt="fe80::2", code=1) / ICMPv6NDOptDstLLAddr(lladdr="01:02:03:04:05:08"))
case("ipv6-nd-truncated-target", bytes(E / IPv6(src="fe80::1", dst="ff02::1", plen=20)
                                       / ICMPv6ND_NA(tgt="fe80::2"))[:-4])
case("ipv6-nd-rs", E / ND6 / ICMPv6ND_RS() / ICMPv6NDOptSrcLLAddr(lladdr="01:02:03:04:05:06"))
case("ipv6-icmp-truncated", E / IPv6(src="fe80::1", dst="ff02::1", nh=58, plen=7) / (b"\x80" + bytes(6)))
case("ipv6-ext-chain", E / IP6 / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting() / IPv6ExtHdrDestOpt()
     / TCP(sport=3, dport=4, flags="A"))
case("ipv6-frag-first", E / IP6 / IPv6ExtHdrHopByHop() / IPv6ExtHdrFragment(offset=0, m=1) / IPv6ExtHdrDestOpt()
     / UDP(sport=3, dport=4))
case("ipv6-frag-later", E / IP6 / IPv6ExtHdrFragment(offset=5, m=0, nh=17) / UDP())
case("ipv6-frag-atomic", E / IP6 / IPv6ExtHdrFragment(offset=0, m=0) / UDP(sport=3, dport=4))
case("ipv6-frag-reserved-bits", E / IP6 / IPv6ExtHdrFragment(offset=0, m=0, res2=1) / UDP(sport=3, dport=4))
case("ipv6-ah", E / IPv6(src="fe80::1", dst="ff02::1", nh=51) / Raw(b"\x11\x04\x00\x00" + bytes(20))
     / UDP(sport=3, dport=4))
case("ipv6-ah-truncated", E / IPv6(src="fe80::1", dst="ff02::1", nh=51) / Raw(b"\x11\x04\x00\x00" + bytes(12)))
case("ipv6-hbh-truncated", E / IPv6(src="fe80::1", dst="ff02::1", nh=0, plen=7) / (b"\x11" * 7))
case("ipv6-hbh-too-long", E / IPv6(src="fe80::1", dst="ff02::1", nh=0, plen=8) / (b"\x11\x05" + bytes(6)))
case("ipv6-plen-too-long", E / IPv6(src="fe80::1", dst="ff02::1", plen=100) / UDP())
case("ipv6-plen-short", E / IPv6(src="fe80::1", dst="ff02::1", plen=4) / UDP())
case("ipv6-plen-zero", E / IPv6(src="fe80::1", dst="ff02::1", plen=0) / UDP())
case("ipv6-header-truncated", bytes(E / IPv6(src="fe80::1", dst="ff02::1"))[:53])
case("ipv6-addr-v4compat", E / IPv6(src="::1.2.3.4", dst="::ffff:1.2.3.4"))
case("ipv6-addr-forms", E / IPv6(src="1:0:0:1:0:0:0:1", dst="1:0:0:1:1:0:0:1"))
case("ipv6-addr-forms2", E / IPv6(src="::0.1.0.0", dst="0:0:0:0:0:1:0:0"))
case("ipv6-addr-forms3", E / IPv6(src="::", dst="::ffff:0:0"))
case("ipv6-addr-forms4", E / IPv6(src="::0:1:2:3", dst="1::"))
case("ipv6-vlan-tcp", E / Dot1Q(vlan=42, prio=6) / IP6 / TCP(sport=1, dport=2, flags="R"))

# --- MPLS -----------------------------------------------------------------------------------------------------
case("mpls-one", E / MPLS(label=100, cos=3, ttl=9, s=1) / IP4)
case("mpls-two", E / MPLS(label=100, cos=3, ttl=9, s=0) / MPLS(label=200, s=1, ttl=8) / IP4)
case("mpls-four", E / MPLS(label=100, cos=3, ttl=9, s=0) / MPLS(label=200, s=0, ttl=8)
     / MPLS(label=300, s=0, ttl=7) / MPLS(label=400, s=1, ttl=6) / IP4)
case("mpls-no-bos", Ether(src="00:11:22:33:44:55", dst="66:77:88:99:aa:bb", type=0x8847)
     / MPLS(label=1048575, cos=7, ttl=255, s=0))
case("mplsm", Ether(src="00:11:22:33:44:55", dst="66:77:88:99:aa:bb", type=0x8848) / MPLS(label=16, s=0, ttl=1)
     / MPLS(label=17, s=1, ttl=2))
case("mpls-truncated", bytes(E)[:12] + b"\x88\x47\x00\x06")
case("mpls-vlan", E / Dot1Q(vlan=9) / MPLS(label=5, s=1, ttl=64) / IP4)

# --- Metadata -------------------------------------------------------------------------------------------------
PKT = E / IP4 / UDP(sport=1, dport=2)
case("md-mark-priority", PKT, trace="pkt_mark=5,skb_priority=3", md={"pkt_mark": 5, "skb_priority": 3})
case("md-dp-hash", PKT, trace="dp_hash=0x1234", md={"dp_hash": 0x1234})
case("md-recirc", PKT, trace="recirc_id=0x5", md={"recirc_id": 5})
case("md-ct", PKT, trace="ct_state=0x22,ct_zone=5,ct_mark=0x10,ct_label=0x1234",
     md={"ct_state": 0x22, "ct_zone": 5, "ct_mark": 0x10, "ct_label": 0x1234})
case("md-all-ones", PKT, trace="ct_state=0xff,ct_zone=0xffff,ct_label=0xffffffffffffffffffffffffffffffff,"
     "ct_mark=0xffffffff,pkt_mark=0xffffffff,skb_priority=0xffffffff,dp_hash=0xffffffff,recirc_id=0xffffffff",
     md={"ct_state": 0xFF, "ct_zone": 0xFFFF, "ct_label": (1 << 128) - 1, "ct_mark": 0xFFFFFFFF,
         "pkt_mark": 0xFFFFFFFF, "skb_priority": 0xFFFFFFFF, "dp_hash": 0xFFFFFFFF, "recirc_id": 0xFFFFFFFF})
case("md-tunnel-v4", PKT, trace="tun_src=1.1.1.1,tun_dst=2.2.2.2,tun_tos=31,tun_ttl=64,tun_flags=oam",
     md={"tun_src": 0x01010101, "tun_dst": 0x02020202, "_tun_tos": 31, "_tun_ttl": 64, "tun_flags": 1})
case("md-tunnel-v6-gbp", PKT, trace="tun_ipv6_dst=::1,tun_gbp_id=5,tun_gbp_flags=1",
     md={"tun_ipv6_dst": 1, "tun_gbp_id": 5, "tun_gbp_flags": 1})
case("md-in-port-local", PKT, in_port=0xFFFE, trace="in_port=LOCAL")
case("md-in-port-any", PKT, in_port=0xFFFF, trace="in_port=65535")
case("md-in-port-unset", PKT, in_port=0xFFF7, trace="in_port=65527")
case("md-in-port-65280", PKT, in_port=0xFF00, trace="in_port=65280")
case("md-arp-mark", E / ARP(psrc="1.1.1.1"), trace="pkt_mark=0x10", md={"pkt_mark": 0x10})
case("md-final-regs-tunnel", PKT, in_port=2,
     actions="load:1->NXM_NX_REG0[],load:0xffffffff->NXM_NX_REG15[],load:0x10->NXM_NX_TUN_ID[],"
             "set_field:2.2.2.2->tun_dst,set_field:0x12->tun_gbp_flags,set_field:3->reg7,"
             "set_field:0x99->pkt_mark,output:1,write_metadata:0x5",
     md={"regs": (1 << 15 * 32) | (3 << 8 * 32) | 0xFFFFFFFF, "tun_id": 0x10, "tun_dst": 0x02020202,
         "tun_gbp_flags": 0x12, "pkt_mark": 0x99, "metadata": 5})
case("md-final-tun-id-only", PKT, actions="load:0x10->NXM_NX_TUN_ID[],output:2", md={"tun_id": 0x10})
case("md-final-tun-ipv6-xxreg", PKT,
     actions="set_field:::2->tun_ipv6_dst,set_field:0x1->tun_flags,load:0x7->NXM_NX_XXREG0[],output:2",
     md={"tun_ipv6_dst": 2, "tun_flags": 1, "regs": 7 << 12 * 32})
case("md-final-xreg", PKT, actions="set_field:0xfffffffe->reg3,set_field:0x1->xreg2,output:2",
     md={"regs": (0xFFFFFFFE << 12 * 32) | (1 << 10 * 32)})
# Tunnel flags beyond oam (df, csum, key) can only be given in a datapath flow.
case("md-log-tun-key-zero-id", bytes(14), odp="in_port(1),tunnel(tun_id=0x0,dst=2.2.2.2,ttl=3,flags(key))",
     md={"tun_dst": 0x02020202, "_tun_ttl": 3, "tun_flags": 8})
case("md-log-tun-all-flags", bytes(14),
     odp="in_port(1),tunnel(tun_id=0x10,src=1.1.1.1,dst=2.2.2.2,tos=0x1f,ttl=64,flags(df|csum|key|oam))",
     md={"tun_id": 0x10, "tun_src": 0x01010101, "tun_dst": 0x02020202, "_tun_tos": 0x1F, "_tun_ttl": 64,
         "tun_flags": 0xF})
case("md-log-tun-v6-gbp", bytes(14), odp="in_port(1),tunnel(ipv6_src=::1,ipv6_dst=::2,ttl=1,vxlan(gbp(id=10,flags=0x4)))",
     md={"tun_ipv6_src": 1, "tun_ipv6_dst": 2, "_tun_ttl": 1, "tun_gbp_id": 10, "tun_gbp_flags": 4})


# --- Driving the reference switch -----------------------------------------------------------------------------

class ReferenceSwitch:
    """A private ovsdb-server + ovs-vswitchd (dummy datapath) under a temporary directory."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="pyvs-trace-")
        d = self.dir
        self.env = dict(os.environ, OVS_RUNDIR=d, OVS_DBDIR=d, OVS_LOGDIR=d, OVS_SYSCONFDIR=d, LC_ALL="C")

    def run(self, *argv: str, check: bool = True) -> str:
        p = subprocess.run(argv, env=self.env, capture_output=True, text=True, check=False, timeout=60)
        if check and p.returncode:
            raise RuntimeError(f"{' '.join(argv)}: rc {p.returncode}: {p.stderr.strip()}")
        return p.stdout

    def start(self) -> None:
        d = self.dir
        self.run("ovsdb-tool", "create", f"{d}/conf.db", "/usr/share/openvswitch/vswitch.ovsschema")
        self.run("ovsdb-server", f"{d}/conf.db", f"--remote=punix:{d}/db.sock", f"--pidfile={d}/ovsdb-server.pid",
                 f"--log-file={d}/ovsdb-server.log", "--detach")
        self.run("ovs-vsctl", "--no-wait", "init")
        self.run("ovs-vswitchd", "--enable-dummy=override", "--disable-system", f"unix:{d}/db.sock",
                 f"--pidfile={d}/ovs-vswitchd.pid", f"--log-file={d}/ovs-vswitchd.log", "--detach")
        self.run("ovs-vsctl", "set", "Open_vSwitch", ".", f"other_config:vlan-limit={VLAN_LIMIT}", "--",
                 "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy", "--",
                 "add-port", "br0", "p1", "--", "set", "interface", "p1", "type=dummy", "ofport_request=1", "--",
                 "add-port", "br0", "p2", "--", "set", "interface", "p2", "type=dummy", "ofport_request=2")

    def stop(self) -> None:
        for name in ("ovs-vswitchd", "ovsdb-server"):
            pidfile = Path(self.dir, f"{name}.pid")
            if pidfile.exists():
                pid = int(pidfile.read_text().strip())
                try:
                    os.kill(pid, 15)
                except ProcessLookupError:
                    continue
                for _ in range(50):
                    try:
                        os.kill(pid, 0)
                    except ProcessLookupError:
                        break
                    time.sleep(0.1)
        shutil.rmtree(self.dir, ignore_errors=True)

    def trace(self, c: dict[str, Any]) -> str:
        if c["odp"]:
            return self.trace_odp(c)
        flow = f"in_port={c['in_port']}" if c["in_port"] < 0xFF00 else ""
        flow = ",".join(x for x in (flow, c["trace"]) if x)
        if c["actions"]:
            self.run("ovs-ofctl", "add-flow", "br0", f"priority=60000,in_port={c['in_port']},actions={c['actions']}")
        try:
            out = self.run("ovs-appctl", "ofproto/trace", "br0", flow, c["packet"])
        finally:
            if c["actions"]:
                self.run("ovs-ofctl", "del-flows", "br0", "--strict", f"priority=60000,in_port={c['in_port']}")
        prefix = "Final flow: " if c["actions"] else "Flow: "
        for line in out.splitlines():
            if line.startswith(prefix):
                return line[len(prefix):]
        raise RuntimeError(f"{c['name']}: no {prefix!r} line in:\n{out}")

    def flow_line(self, packet_hex: str) -> str:
        """The ``Flow:`` line for a packet received on port 1, with no metadata."""
        out = self.run("ovs-appctl", "ofproto/trace", "br0", "in_port=1", packet_hex)
        return out.splitlines()[0].removeprefix("Flow: ")

    def trace_odp(self, c: dict[str, Any]) -> str:
        log = Path(self.dir, "ovs-vswitchd.log")
        start = log.stat().st_size
        self.run("ovs-appctl", "ofproto/trace", "ovs-dummy", c["odp"], c["packet"], check=False)
        marker = "receive tunnel port not found ("
        for _ in range(50):     # ovs-vswitchd writes its log asynchronously
            for line in log.read_text()[start:].splitlines():
                if marker in line:
                    return line.split(marker, 1)[1].rstrip(")")
            time.sleep(0.1)
        raise RuntimeError(f"{c['name']}: OVS logged no tunnel lookup (log rate limit?)")


# --- Truncation and mutation ----------------------------------------------------------------------------------
# Every prefix (from the 14 bytes OVS's trace accepts) of these frames is traced; the lines are stored
# run-length encoded as [first_length, last_length, line].
PREFIX_CASES = ["ipv4-udp", "tcp-options", "icmp-echo", "sctp", "igmp", "arp-reply", "qinq-88a8", "vlan-snap",
                "ip-options", "ipv6-frag-first", "ipv6-ah", "ipv6-nd-both-in-na", "mpls-four", "snap-ipv4-udp"]
FUZZ_SEED = 20261124
FUZZ_COUNT = 240
_INTERESTING = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08, 0x0F, 0x11, 0x2C, 0x33, 0x3A, 0x3B, 0x40, 0x45,
                0x46, 0x4F, 0x5F, 0x60, 0x81, 0x84, 0x86, 0x87, 0x88, 0xA8, 0xAA, 0xDD, 0xFF]


def fuzz_frames() -> list[str]:
    """Deterministic mutations of the plain cases: bytes set to random or boundary values (mostly inside the
    first 90 bytes, where the headers are), bit flips, truncations, a few at once."""
    rng = random.Random(FUZZ_SEED)
    bases = [bytes.fromhex(c["packet"]) for c in CASES
             if not (c["trace"] or c["actions"] or c["odp"] or c["md"]) and len(c["packet"]) >= 28]
    out = []
    while len(out) < FUZZ_COUNT:
        frame = bytearray(rng.choice(bases))
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            op = rng.randrange(4)
            i = min(int(rng.expovariate(1 / 35)), len(frame) - 1)
            if op == 0:
                frame[i] = rng.randrange(256)
            elif op == 1:
                frame[i] = rng.choice(_INTERESTING)
            elif op == 2:
                frame[i] ^= 1 << rng.randrange(8)
            elif len(frame) > 14:
                del frame[rng.randrange(14, len(frame)):]
        if len(frame) >= 14:
            out.append(bytes(frame).hex())
    return out


def generate() -> dict[str, Any]:
    sw = ReferenceSwitch()
    try:
        sw.start()
        version = sw.run("ovs-vswitchd", "--version").splitlines()[0].strip()
        cases = []
        for c in CASES:
            cases.append(dict(c, line=sw.trace(c)))
        by_name = {c["name"]: bytes.fromhex(c["packet"]) for c in CASES}
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            prefixes = []
            for name in PREFIX_CASES:
                frame = by_name[name]
                lines = list(pool.map(sw.flow_line, [frame[:n].hex() for n in range(14, len(frame) + 1)]))
                runs: list[list[Any]] = []
                for n, line in enumerate(lines, 14):
                    if runs and runs[-1][2] == line:
                        runs[-1][1] = n
                    else:
                        runs.append([n, n, line])
                prefixes.append({"name": name, "packet": frame.hex(), "runs": runs})
            fuzz = fuzz_frames()
            fuzz_lines = list(pool.map(sw.flow_line, fuzz))
        return {"ovs_version": version, "vlan_limit": VLAN_LIMIT, "cases": cases, "prefixes": prefixes,
                "fuzz": [{"packet": f, "line": line} for f, line in zip(fuzz, fuzz_lines)]}
    finally:
        sw.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the file on disk instead of writing it")
    args = ap.parse_args()
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    data = generate()
    text = json.dumps(data, indent=1) + "\n"
    if args.check:
        if OUT.read_text() != text:
            print(f"{OUT} differs from what Open vSwitch prints now", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {len(data['cases'])} cases to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
