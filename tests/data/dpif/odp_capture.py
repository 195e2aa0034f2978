"""Regenerate ``odp_cases.json``: datapath flow and action texts as a real Open vSwitch prints them.

Run ``python tests/data/dpif/odp_capture.py`` on a machine with Open vSwitch installed.  It starts a private
ovs-vswitchd with a dummy datapath (``/work/shared/tools/ovs-reference``), and

* for every (flow, actions) input pair below, installs the flow with ``ovs-appctl dpctl/add-flow`` and records
  the line ``ovs-appctl dpctl/dump-flows`` prints for it (OVS's own parser and printer in a round trip; inputs
  that OVS rejects are recorded with ``"error": true``);
* for every OpenFlow table + injected packet scenario, adds the OpenFlow flows, injects the packets twice with
  ``netdev-dummy/receive`` (so the megaflow counts one hit and has ``used`` and ``flags``) and records the
  megaflow lines that ``dpctl/dump-flows`` prints, with port numbers and with ``--names``;
* for every OpenFlow table in ``TRACES``, records the ``Datapath actions:`` line of ``ofproto/trace``.

The reference switch is stopped by pid and its directory removed afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

REF = "/work/shared/tools/ovs-reference"
OUT = Path(__file__).with_name("odp_cases.json")

IP4 = "eth_type(0x0800),ipv4(src=1.1.1.1)"
ETH = "eth(src=50:54:00:00:00:05,dst=50:54:00:00:00:07)"

FLOWS: list[str] = [
    (f"in_port(1),{ETH},eth_type(0x0800),ipv4(src=192.168.0.1,dst=192.168.0.2,proto=1,tos=0/0xfc,ttl=64,"
    "frag=no),icmp(type=8,code=0)"),
    ("in_port(1),eth(src=00:00:00:00:00:01/ff:ff:ff:00:00:00),eth_type(0x8100),vlan(vid=10,pcp=3),"
    "encap(eth_type(0x0800),ipv4(src=1.1.1.1,proto=6),tcp(src=80),tcp_flags(syn))"),
    "in_port(1),eth_type(0x8100),vlan(vid=10),encap(eth_type(0x0800))",
    "in_port(1),eth_type(0x8100),vlan(vid=10/0xff,pcp=1),encap(eth_type(0x86dd))",
    "in_port(1),eth_type(0x8100),vlan(vid=10,cfi=0),encap(eth_type(0x0800))",
    "in_port(1),eth_type(0x0800),ipv4(src=10.0.0.0/255.0.0.0)",
    "in_port(1),eth_type(0x0800),ipv4(src=1.2.3.4/255.255.255.255)",
    ("in_port(1),eth_type(0x0800),ipv4(src=1.2.3.4,dst=5.6.7.8/255.255.0.0,proto=17,tos=0x3/0x3,ttl=5,frag=no),"
    "udp(src=53,dst=1000/0xff00)"),
    "in_port(1),eth_type(0x0800),ipv4(proto=17,frag=no),udp(src=53)",
    "in_port(1),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(src=1,dst=2)",
    "in_port(1),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(src=1,dst=2),tcp_flags(syn|ack)",
    "in_port(1),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(dst=80),tcp_flags(+syn-ack)",
    "in_port(1),eth_type(0x0800),ipv4(proto=6,frag=no),tcp_flags(0x12/0xfff)",
    "in_port(1),eth_type(0x0800),ipv4(proto=6,frag=no),tcp_flags(fin)",
    "in_port(1),eth_type(0x0800),ipv4(proto=132,frag=no),sctp(src=1,dst=2/0xf)",
    "in_port(1),eth_type(0x0800),ipv4(proto=1,frag=no),icmp(type=8)",
    "in_port(1),eth_type(0x0800),ipv4(proto=1,frag=no),icmp(type=3,code=1)",
    "in_port(1),eth_type(0x0800),ipv4(proto=1),icmp(type=8)",
    "in_port(1),eth_type(0x0800),ipv4(frag=first)",
    "in_port(1),eth_type(0x0800),ipv4(frag=later)",
    "in_port(1),eth_type(0x0800),ipv4(ttl=64,frag=no)",
    "in_port(2),eth_type(0x0806),arp(sip=1.2.3.4/255.255.0.0,op=2)",
    "in_port(1),eth_type(0x0806),arp(sip=1.2.3.4,tip=5.6.7.8,op=1,sha=00:00:00:00:00:01,tha=00:00:00:00:00:00)",
    "in_port(1),eth_type(0x0806),arp(sha=00:00:00:00:00:01/ff:ff:ff:ff:ff:00)",
    ("in_port(1),eth_type(0x86dd),ipv6(src=::1,dst=fe80::1/ffff::,label=5/0xff,proto=58,tclass=0/0x3,"
    "hlimit=255,frag=no),icmpv6(type=135,code=0),nd(target=::3,sll=00:00:00:00:00:01,tll=00:00:00:00:00:00)"),
    "in_port(1),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=136,code=0),nd(target=2001:db8::1)",
    "in_port(1),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=128)",
    "in_port(1),eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,proto=6,frag=no),tcp(src=1)",
    "in_port(1),eth_type(0x86dd),ipv6(proto=6),tcp(src=1)",
    "in_port(1),eth_type(0x86dd),ipv6(label=0x12345,tclass=0x20,hlimit=3)",
    "in_port(1),eth_type(0x86dd),ipv6(src=::ffff:1.2.3.4,frag=no)",
    "in_port(1),eth_type(0x8847),mpls(label=100,tc=3,ttl=64,bos=1)",
    "in_port(1),eth_type(0x8848),mpls(label=100,tc=3,ttl=64,bos=0)",
    "in_port(1),eth_type(0x8847),mpls(label=100/0xff,ttl=64/0xf0)",
    "in_port(1),eth_type(0x1234)",
    "in_port(3),eth(src=00:00:00:00:00:01),eth_type(0x1234)",
    "in_port(1),eth(dst=01:00:00:00:00:00/01:00:00:00:00:00),eth_type(0x0800)",
    "skb_priority(0x1),skb_mark(0x5/0xff),in_port(1),eth_type(0x0806)",
    "skb_mark(0x5),in_port(1),eth_type(0x0806)",
    ("ct_state(+new-est),ct_zone(5),ct_mark(0x3/0xff),ct_label(0x1),recirc_id(0x3),dp_hash(0x5/0xf),in_port(1),"
    "eth_type(0x0800),ipv4(proto=17,frag=no),udp(src=53,dst=1000/0xff00)"),
    "ct_state(+trk+est),recirc_id(0x1),in_port(1),eth_type(0x0800)",
    "ct_state(-trk),in_port(1),eth_type(0x0800)",
    "ct_state(+new+est+rel+rpl+inv+trk+snat+dnat),in_port(1),eth_type(0x0800)",
    "ct_mark(0x1),ct_label(0x10/0xf0),in_port(1),eth_type(0x0800)",
    "recirc_id(0x20),dp_hash(0x5),in_port(1),eth_type(0x0800)",
    ("tunnel(tun_id=0x5,src=1.1.1.1,dst=1.1.1.2,tos=0x1/0xff,ttl=64,tp_src=1,tp_dst=4789,flags(-df+csum+key)),"
    "in_port(1),eth_type(0x0800),ipv4(frag=no)"),
    "tunnel(tun_id=0x5,src=1.1.1.1,dst=1.1.1.2,ttl=64,flags(-df-csum+key)),in_port(1),eth_type(0x0800)",
    ("tunnel(tun_id=0x0/0xff,src=1.1.1.1,dst=1.1.1.2/255.255.255.0,ttl=64,flags(+key)),in_port(1),"
    "eth_type(0x0800)"),
    "tunnel(src=1.1.1.1,dst=1.1.1.2,tos=0/0xfc,ttl=64/0xf0,flags(-key)),in_port(1),eth_type(0x0800)",
    "tunnel(ipv6_src=2001::1,ipv6_dst=2001::2,ttl=64,flags(+csum)),in_port(1),eth_type(0x0800)",
    "in_port(1),eth(),eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(frag=no))",
    ("in_port(1),eth(src=00:00:00:00:00:01),eth_type(0x8100),vlan(vid=10/0xff,pcp=1),encap(eth_type(0x86dd),"
    "ipv6(frag=no))"),
    "in_port(1),eth(),eth_type(0x8100),vlan(vid=10),encap(eth_type(0x0806),arp(op=1))",
    "in_port(1),eth(),eth_type(0x8100),vlan(pcp=5),encap(eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=53))",
    ("in_port(1),eth(),eth_type(0x88a8),vlan(vid=10,pcp=0),encap(eth_type(0x8100),vlan(vid=20,pcp=1),"
    "encap(eth_type(0x0800),ipv4(ttl=3,frag=no)))"),
    "in_port(1),eth(),eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x1234))",
    "in_port(1),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(),tcp_flags(fin)",
    "in_port(1),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(src=1),tcp_flags(0x12/0xfff)",
    "in_port(1),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(src=1),tcp_flags(-fin+rst)",
    "in_port(1),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(src=1),tcp_flags(0)",
    "ct_state(-trk),in_port(1),eth_type(0x0800),ipv4(frag=no)",
    "ct_state(+trk+est),recirc_id(0x1),in_port(1),eth_type(0x0800),ipv4(frag=no)",
    "ct_state(+new+est+rel+rpl+inv+trk+snat+dnat),in_port(1),eth_type(0x0800),ipv4(frag=no)",
    "ct_state(+trk),ct_mark(0x1),ct_label(0x10/0xf0),in_port(1),eth_type(0x0800),ipv4(frag=no)",
    "ct_zone(0x10),ct_state(+trk),in_port(1),eth_type(0x86dd),ipv6(frag=no)",
    "recirc_id(0x20),dp_hash(0x5),in_port(1),eth_type(0x0800),ipv4(frag=no)",
    "recirc_id(0x20),dp_hash(0x5/0xff),in_port(1),eth_type(0x0800),ipv4(frag=no)",
    "skb_mark(0x5),in_port(1),eth_type(0x0806),arp(op=1)",
    "skb_mark(0x5/0xff),in_port(1),eth_type(0x0800),ipv4(frag=no)",
    ("tunnel(tun_id=0x5,src=1.1.1.1,dst=1.1.1.2,ttl=64,flags(-df-csum+key)),in_port(1),eth_type(0x0800),"
    "ipv4(frag=no)"),
    "tunnel(tun_id=0x5,dst=1.1.1.2,ttl=64,flags(+key)),in_port(1),eth_type(0x0800),ipv4(frag=no)",
    ("tunnel(tun_id=0x0/0xff,src=1.1.1.1,dst=1.1.1.2/255.255.255.0,ttl=64,flags(+key)),in_port(1),"
    "eth_type(0x0800),ipv4(frag=no)"),
    ("tunnel(src=1.1.1.1,dst=1.1.1.2,tos=0/0xfc,ttl=64/0xf0,flags(-key)),in_port(1),eth_type(0x0800),"
    "ipv4(frag=no)"),
    "tunnel(ipv6_src=2001::1,ipv6_dst=2001::2,ttl=64,flags(+csum)),in_port(1),eth_type(0x0800),ipv4(frag=no)",
    "tunnel(dst=1.1.1.2,ttl=64,tp_dst=4789),in_port(1),eth_type(0x0800),ipv4(frag=no)",
    "in_port(1),eth_type(0x8847),mpls(label=100/0xff,ttl=64/0xf0)",
    "in_port(1),eth_type(0x8847),mpls(label=1048575,tc=7,ttl=255,bos=1)",
    "in_port(1),eth(src=00:00:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(tip=10.0.0.1)",
    ("in_port(1),eth_type(0x0800),ipv4(src=0.0.0.0/0.0.0.1,dst=255.255.255.255,proto=17,frag=no),"
    "udp(src=68,dst=67)"),
    "in_port(1),eth_type(0x0800),ipv4(tos=0xb8,ttl=1,frag=no)",
    "in_port(1),eth_type(0x86dd),ipv6(src=fe80::/10,frag=no)",
    ("in_port(1),eth_type(0x86dd),ipv6(dst=ff02::1:ff00:0/ffff:ffff:ffff:ffff:ffff:ffff:ff00:0,proto=58,"
    "frag=no),icmpv6(type=135,code=0),nd(target=fe80::1,sll=00:00:00:00:00:01)"),
    "in_port(1),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135),nd(tll=00:00:00:00:00:01)",
    "in_port(1),eth_type(0x86dd),ipv6(proto=17,frag=first),udp(src=1)",
    "in_port(1),eth_type(0x86dd),ipv6(proto=44,frag=later)",
    ("ct_state(+trk),ct_tuple4(src=1.1.1.1,dst=2.2.2.2,proto=6,tp_src=1,tp_dst=2),in_port(1),eth_type(0x0800),"
    "ipv4(frag=no)"),
    "ct_state(+trk),ct_tuple4(src=1.1.1.1/255.255.255.0,proto=6),in_port(1),eth_type(0x0800),ipv4(frag=no)",
    "ct_state(+trk),ct_tuple4(tp_dst=80/0xfff0,proto=6),in_port(1),eth_type(0x0800),ipv4(frag=no)",
    ("ct_state(+trk),ct_tuple6(src=::1,dst=::2,proto=17,tp_src=1,tp_dst=2),in_port(1),eth_type(0x86dd),"
    "ipv6(frag=no)"),
    ("ct_state(+trk),ct_tuple6(dst=2001:db8::/ffff:ffff::,proto=17,src_port=5),in_port(1),eth_type(0x86dd),"
    "ipv6(frag=no)"),
    "skb_priority(0x1),in_port(1),eth_type(0x0800),ipv4(frag=no)",
    "skb_priority(0x10/0xf0),skb_mark(0),in_port(1),eth_type(0x0800),ipv4(frag=no)",
    "ct_zone(0),ct_mark(0),in_port(1),eth_type(0x0800),ipv4(frag=no)",
    "dp_hash(0/0xff),recirc_id(5),in_port(7),eth_type(0x0800),ipv4(frag=no)",
    "in_port(1),packet_type(ns=0,id=0),eth(src=00:00:00:00:00:01),eth_type(0x0800)",
    "in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(proto=6,tos=0/0xfc,ttl=64,frag=no)",
]

ACTIONS: list[str] = [
    "1", "2", "1,2,3", "drop", "push_vlan(vid=10,pcp=0),1", "push_vlan(tpid=0x88a8,vid=10,pcp=3),1",
    "push_vlan(vid=10,pcp=3,cfi=0),1", "pop_vlan,1", "pop_vlan,pop_vlan,2",
    "set(ipv4(src=10.0.0.1/255.255.255.0))", "set(ipv4(src=10.0.0.1,dst=10.0.0.2))",
    "set(ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no))", "set(ipv4(tos=0x8/0xfc,ttl=63)),2",
    "set(ipv4(tos=0x4/0xfc))", "set(ipv4(ttl=63))",
    "set(eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02))", "set(eth(dst=00:00:00:00:00:02))",
    "set(eth(src=00:00:00:00:00:01/ff:ff:ff:00:00:00))",
    "set(tcp(src=1,dst=2)),1", "set(tcp(dst=80))", "set(udp(src=1/0xff))", "set(udp(src=1,dst=2))",
    "set(sctp(src=1,dst=2))",
    "set(ipv6(src=::1,dst=::2,label=5,proto=6,tclass=0,hlimit=3,frag=no))", "set(ipv6(dst=2001:db8::1))",
    "set(ipv6(hlimit=63))", "set(ipv6(tclass=0x4/0xfc))",
    "set(arp(sip=1.1.1.1,tip=1.1.1.2,op=1,sha=00:00:00:00:00:01,tha=00:00:00:00:00:00))",
    "set(icmp(type=1,code=2))", "set(icmpv6(type=1,code=2))",
    "set(nd(target=::1,sll=00:00:00:00:00:01,tll=00:00:00:00:00:02))",
    "set(mpls(label=1,tc=2,ttl=3,bos=1))", "set(skb_priority(0x5)),set(skb_mark(0x3))",
    "set(skb_mark(0x3/0xff))", "set(ct_state(0x1))",
    "set(tunnel(tun_id=0x5,dst=1.1.1.2,ttl=64,flags(df|key))),1",
    "set(tunnel(tun_id=0x5,src=1.1.1.1,dst=1.1.1.2,tos=0x1,ttl=64,tp_src=1,tp_dst=4789,flags(df|csum|key))),1",
    "set(tunnel(tun_id=0x5,dst=1.1.1.2,ttl=64,flags(key))),1", "set(tunnel(dst=1.1.1.2,ttl=64)),1",
    "set(tunnel(ipv6_dst=2001::2,ttl=64,flags(csum))),1",
    "recirc(1)", "recirc(100)", "ct(commit,zone=1)", "ct(commit)", "ct(zone=1)", "ct", "ct,recirc(2)",
    "ct(commit,zone=1,mark=0x1/0xff,label=0x1,nat(src=10.0.0.1-10.0.0.5:100-200,random))",
    "ct(commit,mark=0x5,label=0x1/0x1)", "ct(force_commit,zone=2)", "ct_clear", "ct_clear,1",
    "ct(zone=1,helper=ftp)", "ct(commit,nat)", "ct(nat(dst=::1-::5,persistent))", "ct(commit,timeout=foo)",
    "ct(commit,nat(src=10.0.0.1))", "ct(commit,nat(dst=10.0.0.1:80,hash))",
    "userspace(pid=0,slow_path())", "userspace(pid=0,slow_path(match))",
    ("userspace(pid=4294967295,controller(reason=1,dont_send=0,continuation=0,recirc_id=1,rule_cookie=0,"
    "controller_id=0,max_len=65535))"),
    ("userspace(pid=0,controller(reason=0,dont_send=1,continuation=0,recirc_id=5,rule_cookie=0x123,"
    "controller_id=0,max_len=128))"),
    "userspace(pid=1,sFlow(vid=0,pcp=0,output=2))",
    ("userspace(pid=1,flow_sample(probability=100,collector_set_id=1,obs_domain_id=2,obs_point_id=3,"
    "output_port=4294967295))"),
    "userspace(pid=1,ipfix(output_port=1))", "userspace(pid=1,userdata(01020304))",
    "userspace(pid=1,userdata(0102030405060708090a))",
    "userspace(pid=1,userdata(01020304),actions)", "userspace(pid=1,userdata(01020304),tunnel_out_port=3)",
    "clone(push_vlan(vid=5,pcp=0),1),2", "clone(1)", "clone(clone(2),3)",
    "sample(sample=50.0%,actions(1))", "sample(sample=9.7%,actions(userspace(pid=1,userdata(0102))))",
    "sample(sample=100.0%,actions(1,2))", "sample(sample=0.0%,actions(drop))",
    "trunc(100),1", "meter(0),1", "meter(7),2",
    "check_pkt_len(size=200,gt(1),le(2))", "check_pkt_len(size=1500,gt(drop),le(set(ipv4(ttl=3)),2))",
    "tnl_pop(1)",
    ("tnl_push(tnl_port(4789),header(size=50,type=4,eth(dst=00:00:00:00:00:01,src=00:00:00:00:00:02,"
    "dl_type=0x0800),ipv4(src=1.1.1.1,dst=1.1.1.2,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=4789,"
    "csum=0x0),vxlan(flags=0x8000000,vni=0x5)),out_port(100))"),
    "1,2,3,4,5,100", "65534", "4294967295", "set(eth(src=00:00:00:00:00:01/ff:ff:ff:ff:ff:ff))",
    "set(ipv4(src=10.0.0.1/255.255.255.255,dst=10.0.0.2/255.0.0.0))", "set(ipv4(frag=first))",
    "set(ipv6(label=0x12345/0xff))", "set(ipv6(src=2001:db8::1/ffff::))", "set(tcp(src=1/0xff,dst=2))",
    "set(sctp(src=1/0xff))", "set(arp(sip=1.1.1.1/255.255.255.0))", "set(mpls(label=1,tc=0,ttl=64,bos=0))",
    "set(skb_priority(0x5/0xff))", "set(ct_state(0x21))", "set(nd(target=::1/ffff::))",
    "set(tunnel(tun_id=0x5,src=1.1.1.1,dst=1.1.1.2,ttl=64,flags(oam))),1",
    "set(ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0x10,ttl=64,frag=no)),push_vlan(vid=1,pcp=7),1",
    "clone(set(ipv4(ttl=3)),clone(pop_vlan,1)),2", "sample(sample=33.3%,actions(clone(1),2))",
    "check_pkt_len(size=0,gt(check_pkt_len(size=100,gt(1),le(2))),le(3))", "trunc(65535),2,trunc(64),3",
    "ct(commit,zone=65535,mark=0xffffffff/0xffffffff)", "ct(zone=1,nat(src=10.0.0.1-10.0.0.2))",
    "ct(commit,label=0x1234567890abcdef1234567890abcdef)",
    "ct(commit,nat(src=[2001::1]-[2001::5]:10-20,persistent,hash))",
    "userspace(pid=3,slow_path(match,bfd))", "userspace(pid=0,slow_path(controller))",
    "userspace(pid=7,userdata(00))", "recirc(0)", "recirc(4294967295)", "meter(4294967295),1",
    "push_mpls(label=10,tc=0,ttl=64,bos=1,eth_type=0x8847)", "pop_mpls(eth_type=0x800)",
]

# (OpenFlow flows, packets in datapath flow syntax injected on p1).
SCENARIOS: list[tuple[list[str], list[str]]] = [
    (["actions=output:2"],
     [(f"in_port(1),{ETH},eth_type(0x0800),ipv4(src=192.168.0.1,dst=192.168.0.2,proto=1,tos=0,ttl=64,frag=no),"
      "icmp(type=8,code=0)")]),
    (["tcp,actions=push_mpls:0x8847,output:2", "udp,actions=mod_nw_tos:8,dec_ttl,mod_vlan_vid:5,output:2",
      "icmp,actions=controller", "arp,actions=mod_dl_src:00:00:00:00:00:09,output:2"],
     [(f"in_port(1),{ETH},eth_type(0x0800),ipv4(src=192.168.0.1,dst=192.168.0.2,proto=6,tos=0,ttl=64,frag=no),"
      "tcp(src=1,dst=2),tcp_flags(syn|ack|fin|psh)"),
      (f"in_port(1),{ETH},eth_type(0x0800),ipv4(src=192.168.0.1,dst=192.168.0.2,proto=17,tos=0,ttl=64,"
      "frag=no),udp(src=1,dst=2)"),
      (f"in_port(1),{ETH},eth_type(0x0800),ipv4(src=192.168.0.1,dst=192.168.0.2,proto=1,tos=0,ttl=64,frag=no),"
      "icmp(type=8,code=0)"),
      (f"in_port(1),{ETH},eth_type(0x0806),arp(sip=1.1.1.1,tip=1.1.1.2,op=1,sha=50:54:00:00:00:05,"
      "tha=00:00:00:00:00:00)")]),
    (["actions=NORMAL"],
     [(f"in_port(1),{ETH},eth_type(0x0800),ipv4(src=192.168.0.1,dst=192.168.0.2,proto=6,tos=0,ttl=64,frag=no),"
      "tcp(src=1,dst=2),tcp_flags(rst|urg|ece|cwr|ns)"),
      (f"in_port(1),{ETH},eth_type(0x86dd),ipv6(src=2001::1,dst=2001::2,label=0,proto=17,tclass=0,hlimit=64,"
      "frag=no),udp(src=1,dst=2)")]),
    (["tcp,tp_dst=80,actions=mod_tp_dst:8080,mod_nw_src:10.0.0.1,output:2", "ip,actions=ct(commit,zone=3),2"],
     [(f"in_port(1),{ETH},eth_type(0x0800),ipv4(src=192.168.0.1,dst=192.168.0.2,proto=6,tos=0,ttl=64,frag=no),"
      "tcp(src=1,dst=80),tcp_flags(ack)"),
      (f"in_port(1),{ETH},eth_type(0x0800),ipv4(src=192.168.0.1,dst=192.168.0.2,proto=17,tos=0,ttl=64,frag=no),"
      "udp(src=1,dst=2)")]),
    (["arp,actions=NORMAL", "mpls,actions=pop_mpls:0x0800,output:2", "ipv6,actions=output:2",
      "ip,nw_frag=later,actions=output:2", "ip,nw_frag=first,actions=drop"],
     [(f"in_port(1),{ETH},eth_type(0x0806),arp(sip=1.1.1.1,tip=1.1.1.2,op=2,sha=50:54:00:00:00:05,"
      "tha=50:54:00:00:00:07)"),
      f"in_port(1),{ETH},eth_type(0x8847),mpls(label=100,tc=3,ttl=64,bos=1)",
      (f"in_port(1),{ETH},eth_type(0x86dd),ipv6(src=2001::1,dst=2001::2,label=0x12345,proto=58,tclass=0x20,"
      "hlimit=255,frag=no),icmpv6(type=136,code=0),nd(target=2001::1,sll=00:00:00:00:00:00,"
      "tll=50:54:00:00:00:05)"),
      f"in_port(1),{ETH},eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2,proto=17,tos=0,ttl=64,frag=later)",
      (f"in_port(1),{ETH},eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2,proto=17,tos=0,ttl=64,frag=first),"
      "udp(src=1,dst=2)")]),
    (["tcp,tcp_flags=+syn-ack,actions=output:2",
      "tcp,tcp_src=80,actions=mod_dl_dst:00:00:00:00:00:02,output:2",
      "udp,udp_dst=53,actions=set_field:8.8.8.8->ip_dst,output:2", "sctp,actions=output:2",
      "ip6,ipv6_src=2001::/16,actions=set_field:::9->ipv6_dst,output:2"],
     [(f"in_port(1),{ETH},eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2,proto=6,tos=0,ttl=64,frag=no),"
      "tcp(src=1,dst=2),tcp_flags(syn)"),
      (f"in_port(1),{ETH},eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2,proto=6,tos=0,ttl=64,frag=no),"
      "tcp(src=80,dst=2),tcp_flags(ack)"),
      (f"in_port(1),{ETH},eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2,proto=17,tos=0,ttl=64,frag=no),"
      "udp(src=9,dst=53)"),
      (f"in_port(1),{ETH},eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2,proto=132,tos=0,ttl=64,frag=no),"
      "sctp(src=9,dst=53)"),
      (f"in_port(1),{ETH},eth_type(0x86dd),ipv6(src=2001::1,dst=2001::2,label=0,proto=6,tclass=0,hlimit=64,"
      "frag=no),tcp(src=1,dst=2)")]),
    (["dl_vlan=10,actions=strip_vlan,output:2", "actions=mod_vlan_vid:7,mod_vlan_pcp:2,output:2"],
     [(f"in_port(1),{ETH},eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(src=1.1.1.1,"
      "dst=2.2.2.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2))"),
      (f"in_port(1),{ETH},eth_type(0x86dd),ipv6(src=::1,dst=::2,label=0,proto=58,tclass=0,hlimit=255,frag=no),"
      "icmpv6(type=135,code=0),nd(target=::3,sll=50:54:00:00:00:05,tll=00:00:00:00:00:00)")]),
]
# Run with other_config:vlan-limit=2, so that both tags of a double-tagged frame are parsed.
SCENARIOS_VLAN_LIMIT_2: list[tuple[list[str], list[str]]] = [
    (["dl_vlan=10,actions=pop_vlan,output:2", "priority=0,actions=output:2"],
     [(f"in_port(1),{ETH},eth_type(0x88a8),vlan(vid=10,pcp=1),encap(eth_type(0x8100),vlan(vid=20,pcp=0),"
      "encap(eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2)))"),
      (f"in_port(1),{ETH},eth_type(0x8100),vlan(vid=30,pcp=1),encap(eth_type(0x0800),ipv4(src=1.1.1.1,"
      "dst=2.2.2.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2))")]),
]

# (OpenFlow 1.3 flows, meters, ofproto/trace flows): the "Datapath actions:" lines of each trace are recorded.
TRACES: list[tuple[list[str], list[str], list[str]]] = [
    (["tcp,actions=push_mpls:0x8847,set_field:10->mpls_label,output:2",
      "udp,actions=sample(probability=1000,collector_set_id=1),output:2",
      "icmp,actions=clone(mod_vlan_vid:3,output:2),output:LOCAL",
      "arp,actions=check_pkt_larger(100)->reg0[0],resubmit(,1)",
      "table=1,reg0=1,actions=output:2", "table=1,reg0=0,actions=output:LOCAL",
      "mpls,actions=pop_mpls:0x0800,output:2",
      "dl_type=0x1234,actions=meter:1,output:2",
      "dl_type=0x1235,actions=controller:100,output:2",
      "priority=40000,udp,nw_src=9.9.9.9,actions=ct(table=1,zone=1)",
      "sctp,actions=set_field:5->sctp_src,output:2",
      "ipv6,actions=dec_ttl,mod_dl_src:00:00:00:00:00:01,output:2",
      "dl_type=0x1237,actions=push_vlan:0x88a8,set_field:4102->vlan_vid,output:2",
      "dl_type=0x1238,actions=set_field:0x10->pkt_mark,set_queue:1,output:2",
      "tcp6,actions=mod_tp_src:99,mod_nw_tos:4,output:2",
      "arp,arp_op=2,actions=set_field:1.2.3.4->arp_spa,output:2"],
     ["meter=1 pktps bands=type=drop rate=10"],
     ["tcp", "udp", "icmp", "arp", "mpls,mpls_bos=1", "dl_type=0x1234", "dl_type=0x1235",
      "udp,nw_src=9.9.9.9",
      "sctp", "ipv6", "dl_type=0x1237", "dl_type=0x1238", "tcp6", "arp,arp_op=2", "icmp,dl_vlan=5"]),
    (["actions=group:1"], [], ["tcp", "udp,nw_src=1.1.1.1"]),
]
GROUPS = ["group_id=1,type=select,selection_method=dp_hash,bucket=output:1,bucket=output:2"]


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=check)


def _dump(*options: str) -> list[str]:
    out = _run("ovs-appctl", "dpctl/dump-flows", *options).stdout
    return [line for line in out.splitlines() if line and not line.startswith("flow-dump")]


def main() -> None:
    rundir = tempfile.mkdtemp(prefix="odp-ref-")
    env = _run(REF, "env", rundir).stdout.strip().removeprefix("export ")
    for assign in env.split():
        k, v = assign.split("=", 1)
        os.environ[k] = v
    _run(REF, "start", rundir, "dummy")
    try:
        _run("ovs-vsctl", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
             "--", "add-port", "br0", "p1", "--", "set", "interface", "p1", "type=dummy", "ofport_request=1",
             "--", "add-port", "br0", "p2", "--", "set", "interface", "p2", "type=dummy", "ofport_request=2")
        cases: dict[str, Any] = {"flows": [], "actions": [], "upcalls": []}
        for flow in FLOWS:
            _run("ovs-appctl", "dpctl/del-flows")
            r = _run("ovs-appctl", "dpctl/add-flow", "dummy@ovs-dummy", flow, "1", check=False)
            lines = _dump() if r.returncode == 0 else []
            entry: dict[str, object] = {"input": flow}
            if lines:
                entry["printed"] = lines[0].split(", packets:")[0]
            else:
                entry["error"] = True
            cases["flows"].append(entry)
        for actions in ACTIONS:
            _run("ovs-appctl", "dpctl/del-flows")
            r = _run("ovs-appctl", "dpctl/add-flow", "dummy@ovs-dummy", f"in_port(1),{IP4}", actions,
                     check=False)
            lines = _dump() if r.returncode == 0 else []
            entry = {"input": actions}
            if lines:
                entry["printed"] = lines[0].split(", actions:", 1)[1]
            else:
                entry["error"] = True
            cases["actions"].append(entry)
        for n, (ofp_flows, packets) in enumerate(SCENARIOS + SCENARIOS_VLAN_LIMIT_2):
            if n == len(SCENARIOS):
                _run("ovs-vsctl", "set", "Open_vSwitch", ".", "other_config:vlan-limit=2")
            _run("ovs-appctl", "dpctl/del-flows")
            _run("ovs-ofctl", "del-flows", "br0")
            for f in ofp_flows:
                _run("ovs-ofctl", "add-flow", "br0", f)
            for _ in range(2):
                for p in packets:
                    _run("ovs-appctl", "netdev-dummy/receive", "p1", p)
                time.sleep(0.3)
            cases["upcalls"].append({"openflow": ofp_flows, "packets": packets, "printed": sorted(_dump()),
                                     "named": sorted(_dump("--names"))})
        ports: dict[str, str] = {}
        for line in _run("ovs-appctl", "dpctl/show").stdout.splitlines():
            words = line.split()
            if len(words) >= 3 and words[0] == "port" and words[1].endswith(":"):
                ports[words[1][:-1]] = words[2]
        cases["port_names"] = ports
        cases["traces"] = []
        for ofp_flows, meters, traces in TRACES:
            _run("ovs-ofctl", "del-flows", "br0")
            for m in meters:
                _run("ovs-ofctl", "-O", "OpenFlow13", "add-meter", "br0", m, check=False)
            for g in GROUPS:
                _run("ovs-ofctl", "-O", "OpenFlow13", "add-group", "br0", g, check=False)
            for f in ofp_flows:
                _run("ovs-ofctl", "-O", "OpenFlow13", "add-flow", "br0", f)
            for t in traces:
                out = _run("ovs-appctl", "ofproto/trace", "br0", f"in_port=1,{t}").stdout
                for line in out.splitlines():
                    if line.startswith("Datapath actions: "):
                        actions = line.removeprefix("Datapath actions: ")
                        cases["traces"].append({"flow": t, "actions": actions})
        OUT.write_text(json.dumps(cases, indent=1) + "\n")
    finally:
        _run(REF, "stop", rundir, check=False)
        shutil.rmtree(rundir, ignore_errors=True)


if __name__ == "__main__":
    main()
