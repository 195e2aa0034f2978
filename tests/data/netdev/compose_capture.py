#!/usr/bin/env python3
"""Record the frames Open vSwitch 3.1 builds for ``ovs-appctl netdev-dummy/receive PORT PACKET``, as ground truth
for tests/netdev/test_compose.py.

Runs a private ovs-vswitchd with the dummy datapath (``/work/shared/tools/ovs-reference start DIR dummy``), bridge
br0 (datapath_type=dummy) with ports p1 (``options:rxq_pcap=FILE``, so every frame it receives is written as
received) and p2, and a flow ``in_port=1,actions=2``.  For each PACKET text below it runs
``ovs-appctl netdev-dummy/receive p1 PACKET`` and records either the frame(s) appended to p1's receive pcap
(hex) or, when the command fails, its error text (stderr without ovs-appctl's own last line).

Usage: python3 tests/data/netdev/compose_capture.py [OUT.json]   (default: compose_cases.json beside it)
"""

from __future__ import annotations

import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

REF = "/work/shared/tools/ovs-reference"
HERE = Path(__file__).resolve().parent

E = "eth(src=00:11:22:33:44:55,dst=66:77:88:99:aa:bb)"
IP4 = "eth_type(0x0800),ipv4(src=10.1.2.3,dst=192.168.7.9,proto={p},tos={tos},ttl={ttl},frag={frag})"
IP6 = ("eth_type(0x86dd),ipv6(src=2001:db8::1,dst=fe80::aa:bb,label={label},proto={p},tclass={tc},"
       "hlimit={hl},frag={frag})")


def fixed_cases() -> list[str]:
    c: list[str] = []
    # Ethernet only, metadata, empty text, and non-IP Ethertypes.
    c += ["", "in_port(1)", E, f"in_port(3),{E}", f"skb_priority(0x5),skb_mark(0x7),recirc_id(0),dp_hash(0x1),{E}",
          (f"ct_state(+new+trk),ct_zone(5),ct_mark(0x9),ct_label(0x1),{E},eth_type(0x0800),"
          "ipv4(src=1.1.1.1,dst=2.2.2.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2)"),
          f"{E},eth_type(0x88cc)", f"{E},eth_type(0x9000)", f"{E},eth_type(0x0600)", f"{E},eth_type(0x05ff)",
          f"{E},eth_type(0x0100)", "eth_type(0x1234)", "eth()", "eth(src=00:00:00:00:00:01,)"]
    # IPv4 with every L4 and fragment kind.
    for p, l4 in ((17, "udp(src=53,dst=1234)"), (6, "tcp(src=80,dst=65535)"), (132, "sctp(src=5,dst=7)"),
                  (1, "icmp(type=8,code=0)"), (1, "icmp(type=3,code=13)"), (2, ""), (47, ""), (89, ""),
                  (0, ""), (255, "")):
        for frag in ("no", "first", "later"):
            c.append(f"{E},{IP4.format(p=p, tos=0, ttl=64, frag=frag)}" + (f",{l4}" if l4 else ""))
    c += [f"{E},{IP4.format(p=17, tos=0xb8, ttl=1, frag='no')},udp(src=0,dst=0)",
          f"{E},{IP4.format(p=6, tos=3, ttl=255, frag='no')},tcp(src=1,dst=2),tcp_flags(syn)",
          f"{E},{IP4.format(p=6, tos=0, ttl=64, frag='no')},tcp(src=1,dst=2),tcp_flags(syn|ack)",
          f"{E},{IP4.format(p=6, tos=0, ttl=64, frag='no')},tcp(src=1,dst=2),tcp_flags(fin)",
          f"{E},{IP4.format(p=6, tos=0, ttl=64, frag='no')},tcp(src=1,dst=2),tcp_flags(rst)",
          f"{E},{IP4.format(p=6, tos=0, ttl=64, frag='no')},tcp(src=1,dst=2),tcp_flags(ack|psh)",
          f"{E},{IP4.format(p=6, tos=0, ttl=64, frag='no')},tcp(src=1,dst=2),tcp_flags(0x012)",
          f"{E},{IP4.format(p=6, tos=0, ttl=64, frag='no')},tcp(src=1,dst=2),tcp_flags(0xfff)",
          f"{E},{IP4.format(p=6, tos=0, ttl=64, frag='no')},tcp(src=1,dst=2),tcp_flags(urg|ece|cwr|ns)",
          f"{E},{IP4.format(p=2, tos=0, ttl=1, frag='no')}",
          "eth_type(0x0800),ipv4(ttl=300)", "eth_type(0x0800),ipv4()", "eth_type(0x0800)",
          "ipv4(src=1.1.1.1,dst=2.2.2.2,proto=17),udp(src=1,dst=2)",
          "eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2),udp(src=1)",
          "eth_type(0x0800),udp(src=1,dst=2)",
          "eth_type(0x0800),ipv4(proto=17),tcp(src=1,dst=2)",
          "eth_type(0x0800),ipv4(proto=6),udp(src=1,dst=2)",
          "eth_type(0x0800),ipv4(proto=132),udp(src=1,dst=2)",
          "eth_type(0x0800),ipv4(proto=17),udp(src=1,dst=2),tcp(src=3,dst=4)",
          "eth_type(0x0800),ipv4(proto=1),udp(src=1,dst=2)",
          "eth_type(0x0800),ipv4(proto=6),tcp(src=1,dst=2),udp(src=3,dst=4)",
          "eth_type(0x0800),ipv4(proto=6,dst=1.2.3.4,ttl=3,src=4.3.2.1)",
          "eth_type(0x0800),ipv4(proto=1),icmp(code=1)",
          "eth_type(0x0800),ipv4(proto=58),icmpv6(type=128,code=0)",
          "eth_type(0x86dd),ipv6(src=::1,dst=::2,proto=17),ipv4(src=1.1.1.1)"]
    # IPv6.
    for p, l4 in ((17, "udp(src=546,dst=547)"), (6, "tcp(src=22,dst=40000)"), (132, "sctp(src=9,dst=10)"),
                  (58, "icmpv6(type=128,code=0)"), (58, "icmpv6(type=129,code=0)"),
                  (58, "icmpv6(type=128,code=1)"), (58, "icmpv6(type=1,code=4)"), (58, "icmpv6(type=2,code=0)"),
                  (58, "icmpv6(type=133,code=0)"), (58, "icmpv6(type=134,code=0)"),
                  (0, ""), (43, ""), (44, ""), (60, ""), (59, "")):
        for frag in ("no", "first", "later"):
            c.append(f"{E},{IP6.format(label='0x12345', p=p, tc=0x2e, hl=17, frag=frag)}" + (f",{l4}" if l4 else ""))
    c += [(f"{E},{IP6.format(label=0, p=58, tc=0, hl=255, frag='no')},icmpv6(type=135,code=0),"
          "nd(target=2001:db8::5,sll=00:11:22:33:44:55)"),
          (f"{E},{IP6.format(label=0, p=58, tc=0, hl=255, frag='no')},icmpv6(type=136,code=0),"
          "nd(target=2001:db8::5,tll=00:11:22:33:44:55)"),
          (f"{E},{IP6.format(label=0, p=58, tc=0, hl=255, frag='no')},icmpv6(type=135,code=0),"
          "nd(target=2001:db8::5,sll=00:11:22:33:44:55,tll=00:00:00:00:00:09)"),
          f"{E},{IP6.format(label=0, p=58, tc=0, hl=255, frag='no')},icmpv6(type=135,code=0),nd(target=::)",
          f"{E},{IP6.format(label=0, p=58, tc=0, hl=255, frag='no')},icmpv6(type=135,code=0)",
          (f"{E},{IP6.format(label=0, p=58, tc=0, hl=255, frag='no')},icmpv6(type=135,code=1),"
          "nd(target=2001:db8::5,sll=00:11:22:33:44:55)"),
          (f"{E},{IP6.format(label=0, p=58, tc=0, hl=255, frag='no')},icmpv6(type=136,code=0),"
          "nd(target=2001:db8::5,tll=00:11:22:33:44:55),nd_ext(nd_reserved=0x20000000,nd_options_type=2)"),
          (f"{E},{IP6.format(label=0, p=58, tc=0, hl=255, frag='no')},icmpv6(type=128,code=0),"
          "nd(target=2001:db8::5)"),
          ("eth_type(0x86dd),ipv6(src=::1,dst=::2,label=0xfffff,proto=58,tclass=0xff,hlimit=0,frag=no),"
          "icmpv6(type=135,code=0),nd(target=fe80::1,sll=00:11:22:33:44:55)"),
          "eth_type(0x86dd),ipv6(src=::1,dst=::2,label=0x1fffff,proto=17),udp(src=1,dst=2)",
          "ipv6(src=::1,dst=::2,proto=17),udp(src=1,dst=2)", "eth_type(0x86dd)", "eth_type(0x86dd),ipv6()",
          "eth_type(0x86dd),ipv6(proto=58),icmp(type=8,code=0)"]
    # ARP and RARP.
    c += [f"{E},eth_type(0x0806),arp(sip=1.2.3.4,tip=5.6.7.8,op=1,sha=00:11:22:33:44:55,tha=00:00:00:00:00:00)",
          f"{E},eth_type(0x0806),arp(sip=1.2.3.4,tip=5.6.7.8,op=2,sha=00:11:22:33:44:55,tha=66:77:88:99:aa:bb)",
          f"{E},eth_type(0x0806),arp(sip=1.2.3.4,tip=5.6.7.8,op=3,sha=00:11:22:33:44:55,tha=66:77:88:99:aa:bb)",
          f"{E},eth_type(0x0806),arp(sip=1.2.3.4,tip=5.6.7.8,op=0,sha=00:11:22:33:44:55,tha=66:77:88:99:aa:bb)",
          f"{E},eth_type(0x0806),arp(op=255)", f"{E},eth_type(0x0806),arp(op=256)", f"{E},eth_type(0x0806)",
          f"{E},eth_type(0x8035),arp(sip=1.2.3.4,tip=5.6.7.8,op=1,sha=00:11:22:33:44:55,tha=66:77:88:99:aa:bb)",
          f"{E},eth_type(0x8035),arp(sip=1.2.3.4,tip=5.6.7.8,op=3,sha=00:11:22:33:44:55,tha=66:77:88:99:aa:bb)",
          "arp(sip=1.2.3.4,tip=5.6.7.8,op=1)"]
    # VLANs.
    ip = "eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2,proto=17,tos=0,ttl=9,frag=no),udp(src=1,dst=2)"
    c += [f"{E},eth_type(0x8100),vlan(vid=5,pcp=2),encap({ip})",
          (f"{E},eth_type(0x8100),vlan(vid=4095,pcp=7),encap(eth_type(0x0806),arp(sip=1.1.1.1,tip=2.2.2.2,op=1,"
          "sha=00:00:00:00:00:01,tha=00:00:00:00:00:00))"),
          f"{E},eth_type(0x8100),vlan(vid=0,pcp=0),encap({ip})",
          f"{E},eth_type(0x8100),vlan(vid=5,pcp=2,cfi=1),encap({ip})",
          f"{E},eth_type(0x8100),vlan(vid=5,pcp=2,cfi=0),encap({ip})",
          f"{E},eth_type(0x8100),vlan(vid=0,pcp=0,cfi=0),encap({ip})",
          f"{E},eth_type(0x8100),vlan(vid=5)", f"{E},eth_type(0x8100),encap({ip})", f"{E},eth_type(0x8100)",
          f"{E},eth_type(0x88a8),vlan(vid=5,pcp=2),encap({ip})",
          f"{E},eth_type(0x88a8),vlan(vid=5,pcp=2),encap(eth_type(0x8100),vlan(vid=7),encap({ip}))",
          (f"{E},eth_type(0x8100),vlan(vid=5,pcp=2),encap(eth_type(0x86dd),ipv6(src=::1,dst=::2,proto=58,"
          "hlimit=255),icmpv6(type=135,code=0),nd(target=::3,sll=00:00:00:00:00:03))"),
          f"{E},eth_type(0x8100),vlan(vid=5),encap(eth_type(0x8847),mpls(label=7,tc=1,ttl=9,bos=1))",
          "vlan(vid=5)", f"{E},vlan(vid=5),eth_type(0x8100),encap({ip})"]
    # MPLS.
    c += [f"{E},eth_type(0x8847),mpls(label=100,tc=3,ttl=64,bos=1)",
          f"{E},eth_type(0x8847),mpls(label=100,tc=3,ttl=64,bos=0)",
          f"{E},eth_type(0x8848),mpls(label=1048575,tc=7,ttl=255,bos=1)",
          f"{E},eth_type(0x8847),mpls(label=0,tc=0,ttl=0,bos=1)",
          f"{E},eth_type(0x8847),mpls(label=16,bos=1)", f"{E},eth_type(0x8847),mpls(ttl=3)", f"{E},eth_type(0x8847)",
          "mpls(label=5,tc=0,ttl=1,bos=1)",
          f"{E},eth_type(0x8847),mpls(label=100,tc=3,ttl=64,bos=1),mpls(label=200,tc=0,ttl=5,bos=1)",
          f"{E},eth_type(0x0800),mpls(label=100,tc=3,ttl=64,bos=1)"]
    # Hex.
    c += ["00112233445566778899aabb0800", "ff ff ff ff ff ff 00 00 00 00 00 01 08 06 00 01",
          "FFFFFFFFFFFF0000000000010800450000140000000040000000", "0xffffffffffff00000000000108000000",
          "ffffffffffffffffffffffffff", "ffffffffffffffffffffffffffff0", "ffffffffffffffffffffffffffffzz",
          " ffffffffffffffffffffffffffff", "ffffffffffffffffffffffffffff ", "ffffffffffff\t000000000001\n0800"]
    # Errors and odd syntax.
    c += ["zz", "udp", "arp", "ip", "in_port=1", "dl_dst=ff:ff:ff:ff:ff:ff,arp", "udp,nw_src=1.2.3.4,tp_dst=5",
          "icmp6,icmpv6_type=135,nd_target=fe80::1", "tcp,tcp_flags=+syn",
          "in_port(1),foo(2)", "in_port(1),eth(src=1)", "eth(foo=1)", "eth(src=00:00:00:00:00:01",
          "eth(src=00:00:00:00:00:01)x", "eth(src=00:00:00:00:00:01),,eth_type(0x0800)",
          "eth(src=00:00:00:00:00:01) eth_type(0x0800)", " eth_type(0x0800) ",
          "eth(src=00:00:00:00:00:01),eth(dst=00:00:00:00:00:02)", "eth_type(0x0800),eth_type(0x0800)",
          "eth_type(0x0800),ipv4(src=1.1.1.1/255.255.255.0,dst=2.2.2.2)",
          "eth_type(0x0800),ipv4(src=1.1.1.1, dst=2.2.2.2)", "eth_type(0x0800),ipv4(src=1.1.1.300)",
          "eth_type(0x0800),ipv4(frag=maybe)", "eth_type(0x0800),ipv4(proto=17),udp(src=70000,dst=1)",
          "eth_type(0x0800),ipv4(proto=17),udp(src=-1,dst=1)", "eth_type(0x0800),ipv4(proto=0x11),udp(src=0x10,dst=1)",
          "in_port(1),encap(eth_type(0x0800),foo(1))", ("eth_type(0x0800),ipv4(proto=6),tcp(src=1,dst=2),"
          "tcp_flags(bogus)"), "eth_type(0x0800),ipv4(src=1.1.1.1),ipv4(src=2.2.2.2)",
          "eth_type(0x0800),ipv4(proto=17),udp(src=1,dst=2),udp(src=3,dst=4)", "eth_type(0x10000)",
          "eth_type(0x86dd),ipv6(src=::g)", "eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2,)",
          ("eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2,proto=17,"
          "tos=0,ttl=64,frag=no),udp(src=1,dst=2),in_port(1)"), "recirc_id(0),in_port(2),eth()",
          "ufid:12345678-1234-1234-1234-123456789abc,eth_type(0x0800)", "in_port(p1)", "in_port(LOCAL)",
          "(", ")", "eth(", "encap(", "encap(eth(", "eth(src=0:0:0:0:0:0/", "ufid:", "tcp_flags(|)", "ct_state(",
          "eth_type(-)", "eth_type(2048)", "eth_type(04000)", "in_port(0xffff),eth_type(0x0800)",
          "skb_mark(0x7/0xff),eth_type(0x0800)", "ct_state(new|trk),eth_type(0x0800)", "ct_state(0x21)",
          "ct_label(0x0123456789abcdef0123456789abcdef)", "ct_zone(70000)",
          "packet_type(ns=0,id=0),eth_type(0x0800)", "packet_type(ns=1,id=0x800),ipv4(src=1.1.1.1)",
          "tunnel(tun_id=0x5,src=1.1.1.1,dst=2.2.2.2,ttl=64,flags(key)),eth_type(0x0800)",
          "ct_tuple4(src=1.1.1.1,dst=2.2.2.2,proto=6,tp_src=1,tp_dst=2),eth_type(0x0800)",
          "eth_type(0x894f),nsh(flags=0,ttl=63,mdtype=1,np=3,spi=0x10,si=255)",
          "eth_type(0x86dd),ipv6(src=::1,dst=::2,proto=2,hlimit=1)",
          "eth_type(0x86dd),ipv6(src=::1,dst=::2,proto=1,hlimit=1),icmp(type=8,code=0)",
          "eth_type(0x0800),ipv4(src=0.0.0.0,dst=0.0.0.0,proto=17),udp(src=0xffff,dst=0xff86)",
          "eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2,proto=6),tcp_flags(syn),tcp(src=1,dst=2)",
          "eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2,proto=17),tcp_flags(syn),udp(src=1,dst=2)",
          "eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2,proto=6),tcp(src=1,dst=2),tcp_flags(0xffff)",
          "eth_type(0x0800),ipv4(proto=6),tcp(src=1,dst=2),tcp_flags(syn,ack)",
          "eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2,tos=0x1ff,proto=1),icmp(type=0,code=0)",
          "eth_type(0x8847),mpls(label=0x100000,tc=8,ttl=256,bos=2)",
          "eth_type(0x8100),vlan(vid=4096,pcp=8),encap(eth_type(0x0800))",
          "eth_type(0x8100),vlan(vid=5,pcp=1),encap(eth_type(0x0100))",
          "eth_type(0x8100),vlan(vid=5,pcp=1),encap(eth_type(0x0800),eth_type(0x0800))",
          "eth_type(0x8100),vlan(vid=5,pcp=1),encap(ipv4(src=1.1.1.1,dst=2.2.2.2,proto=17),udp(src=1,dst=2))",
          "eth_type(0x8100),vlan(vid=5,pcp=1),encap(eth(src=00:00:00:00:00:05))",
          "eth_type(0x8100),vlan(vid=5,pcp=1),encap()",
          "eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x8035),arp(op=300)",
          "eth_type(0x86dd),ipv6(src=::1,dst=::2,proto=58),icmpv6(type=135,code=0),nd(target=::1),nd(target=::2)",
          ("eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2),"
          "udp(src=3,dst=4)"),
          "eth_type(0x86dd),ipv6(src=1::2,dst=::ffff:1.2.3.4,proto=17),udp(src=1,dst=2)",
          ("eth(src=00:00:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1,"
          "sha=00:00:00:00:00:01,tha=00:00:00:00:00:00),eth(src=00:00:00:00:00:02)"),
          "in_port(1),eth_type(0x0800),in_port(2)", "eth(src=0:1:2:3:4:5,dst=100:1:2:3:4:5)",
          "eth(src=AA:BB:CC:DD:EE:FF)", "eth_type(0X0800)", "eth_type(0x0800),ipv4(ttl=0x40,tos=010)",
          "eth_type(0x0800),ipv4(src=1.2.3.4,src=5.6.7.8)",
          "ufid:12345678-1234-1234-1234-123456789abc", "ufid:12345678-1234-1234-1234-123456789abc eth_type(0x0800)",
          "ufid:1234", "eth_type(0x0800),ufid:12345678-1234-1234-1234-123456789abc", "eth_type(0x0800/0xffff)",
          "in_port(1/0xff)", "eth_type(0x0800),ipv4(proto=17),udp(src=1/0xff,dst=2)",
          "eth_type(0x8100),vlan(vid=5/0xfff),encap(eth_type(0x0800))",
          "eth_type(0x0800),ipv4(proto=6),tcp_flags(syn/syn)", "eth_type(0x0800),ipv4(proto=6),tcp_flags(0x1000)",
          "eth_type(0x0800),ipv4(proto=6),tcp_flags(0x0fff)", "eth_type(0x0800),ipv4(proto=6),tcp_flags(-1)",
          "eth_type(0x0800),ipv4(proto=6),tcp_flags(+syn)", "eth_type(0x0800),ipv4(proto=6),tcp_flags(syn|syn)",
          "eth_type(0x0800),ipv4(proto=6),tcp_flags()", "eth_type(0x0800),ipv4(proto=6),tcp_flags(0)",
          "eth_type(0x0800),ipv4(proto=6),tcp_flags(+syn+ack)", "eth_type(0x0800),ipv4(proto=6),tcp_flags(1000)",
          "eth_type(0x8847),mpls(label=0x100000)", "eth_type(0x8847),mpls(tc=8)", "eth_type(0x8847),mpls(ttl=256)",
          "eth_type(0x8847),mpls(bos=2)", "eth_type(0x8847),mpls(label=-1)",
          "eth_type(0x8100),vlan(vid=4096),encap(eth_type(0x0800))",
          "eth_type(0x8100),vlan(pcp=8),encap(eth_type(0x0800))",
          "eth_type(0x8100),vlan(cfi=2),encap(eth_type(0x0800))",
          "eth_type(0x8100),vlan(vid=-1),encap(eth_type(0x0800))", "packet_type(ns=1,id=0x86dd)",
          "packet_type(ns=1)", "packet_type(id=5,ns=1)", "packet_type(foo=1)", "tunnel(foo=1)",
          "ct_tuple4(src=1.1.1.1)", "ct_tuple6(src=::1,dst=::2,proto=6,tp_src=1,tp_dst=2)", "ct_state(foo)",
          "ct_state(+new-est)", "ct_state(0x21/0xff)", "ct_label(0x1/0x1)", "ct_zone(5/0xff)",
          "recirc_id(0x1/0xff)", "dp_hash(0x1/0xff)", "skb_priority(5/0xff)", "ct_label(xyz)",
          "eth_type(0x0800),ipv4(tos=0x1ff)", "eth_type(0x0800),ipv4(ttl=-1,proto=300)",
          "eth_type(0x86dd),ipv6(label=-1)", "eth_type(0x86dd),ipv6(tclass=300,hlimit=-2)",
          "eth_type(0x0806),arp(op=-1)", "eth_type(0x0806),arp(op=0x10001)",
          "eth_type(0x86dd),ipv6(proto=58),icmpv6(type=135,code=0),nd_ext(nd_reserved=5/0xff)",
          "eth_type(0x86dd),ipv6(proto=58),icmpv6(type=300,code=-1)",
          "eth(src=00:00:00:00:00:01/ff:ff:ff:ff:ff:ff)", "eth(src=00:00:00:00:00:100)", "eth(src=0:0:0:0:0:-1)",
          "eth(src= 00:00:00:00:00:01)", "eth_type( 0x0800)", "eth_type(0x0800 )",
          "eth_type(0x0800),ipv4(src= 1.2.3.4)", "eth_type(0x0800),ipv4(src=1.2.3)",
          "eth_type(0x0800),ipv4(src=1.2.3.4.5)", "eth_type(0x0800),ipv4(src=-1.2.3.4)",
          "eth_type(0x0800),ipv4(src=+1.2.3.4)", "eth_type(0x0800),ipv4(proto= 17)",
          "eth_type(0x0800),ipv4(frag=nothing)", "eth_type(0x0800),ipv4(frag=firstly)",
          "eth_type(0x86dd),ipv6(src=1.2.3.4)", "eth_type(0x86dd),ipv6(src=::1:)", "eth_type(0x86dd),ipv6(src=::1%e)",
          "eth_type(0x86dd),ipv6(src=[::1])", "in_port(-1)", "in_port(4294967296)", "eth_type(99999999999999999999)",
          "eth_type(0x)", "eth_type(08)", "eth_type(09)", "encap(eth_type(0x0800))",
          "eth_type(0x0800),encap(eth_type(0x0800))",
          "eth_type(0x8100),vlan(vid=1),encap(eth_type(0x0800)),encap(eth_type(0x0806))",
          "eth_type(0x8100),vlan(vid=1),vlan(vid=2),encap(eth_type(0x0800))",
          ("eth_type(0x8100),vlan(vid=1),encap(eth_type(0x8100),vlan(vid=1),encap(eth_type(0x8100),vlan(vid=3),"
          "encap()))"), "eth_type(0x0800),ipv4(proto=6),tcp(src=1,dst=2),tcp_flags(syn),tcp_flags(ack)",
          "eth_type(0x0800),ipv4(proto=6),tcp(src=1,dst=2),tcp_flags(syn|ack|fin),tcp_flags(0)",
          "eth_type(0x0800),ipv4(proto=6),tcp(src=1,dst=2),tcp_flags(0),tcp_flags(0)",
          "eth_type(0x0800),ipv4(proto=17),udp(src=7003,dst=0)", "eth_type(0x86dd),ipv6(proto=17),udp(src=7003,dst=0)",
          "eth_type(0x0800),ipv4(proto=6),tcp(src=52129,dst=0)", "eth_type(0x0800),ipv4(proto=1),icmp(type=8,code=1)",
          "eth_type(0x0800),ipv4(proto=1),icmp(type=0,code=3)", "eth_type(0x0800),ipv4(proto=1),icmp(type=13,code=0)",
          "eth_type(0x0800),ipv4(proto=1),icmp(type=14,code=0)", "eth_type(0x0800),ipv4(proto=1),icmp(type=255,code=0)",
          "eth_type(0x0800),ipv4(proto=1),icmp(type=11,code=0)", "eth_type(0x0800),ipv4(proto=1),icmp(type=5,code=1)",
          "eth_type(0x86dd),ipv6(proto=1),icmp(type=0,code=0)", "eth_type(0x86dd),ipv6(proto=58),icmpv6(type=130,code=0)",
          "eth_type(0x86dd),ipv6(proto=58),icmpv6(type=137,code=0),nd(target=::1)",
          "eth_type(0x86dd),ipv6(proto=58,frag=later),icmpv6(type=135,code=0),nd(target=::1,sll=00:00:00:00:00:01)",
          "eth_type(0x86dd),ipv6(proto=58),icmpv6(type=135,code=0),nd(tll=00:00:00:00:00:02,target=::1)",
          "eth_type(0x86dd),ipv6(proto=58),icmpv6(type=136,code=0),nd_ext(nd_reserved=0xe0000000)",
          "eth_type(0x86dd),ipv6(proto=58),icmpv6(type=128,code=0),nd_ext(nd_reserved=0xe0000000)",
          "eth_type(0x86dd),ipv6(proto=58),nd(target=::1)",
          "eth_type(0x8100),vlan(vid=10,pcp=3),encap(eth_type(0x8847),mpls(label=1,tc=2,ttl=3,bos=0))",
          ("eth_type(0x88a8),vlan(vid=10),encap(eth_type(0x0806),arp(sip=1.2.3.4,tip=4.3.2.1,op=2,"
          "sha=00:00:00:00:00:0a,tha=00:00:00:00:00:0b))"),
          ("eth_type(0x8100),vlan(vid=10),encap(eth_type(0x86dd),ipv6(src=::1,dst=::2,label=7,proto=6,tclass=1,"
          "hlimit=2,frag=first),tcp(src=3,dst=4),tcp_flags(fin|ack))"),
          "eth_type(0x86dd),ipv6(src= ::1)", "eth_type(0x86dd),ipv6(proto=58),icmpv6(type=135,code=0),nd(target= ::1)",
          "eth_type(0x0800),ipv4(src=1. 2.3.4)", "eth(src=00: 11:22:33:44:55)", "eth(src=0x1:2:3:4:5:6)",
          "eth_type(0x8100),vlan(tpid=0x88a8,vid=5),encap(eth_type(0x0800))", "ct_mark(0x5/0xff)",
          "eth_type(0x0800),ipv4(proto=6),tcp_flags( syn)", "eth_type(0x0800),ipv4(proto=6),tcp_flags(syn|)",
          "eth_type(0x0800),ipv4(proto=6),tcp_flags(SYN)", "eth_type(0x0800),ipv4(proto=6),tcp_flags(0x)",
          "eth_type(0x0800),ipv4(proto=6),tcp_flags(-syn)", "eth_type(0x0800),ipv4(proto=6),tcp_flags(-syn+ack)",
          "eth_type(0x0800),ipv4(proto=6),tcp_flags(syn|-ack)", "eth_type(0x0800),ipv4(proto=6),tcp_flags(syn||ack)",
          "ct_state(new|)", "ct_state(+new|trk)", "ct_state()", "ct_state(-trk+new)", "ct_state(new||trk)",
          "ct_label()", "ct_label(0x)", "ct_label(12345678901234567890123456789012345)",
          "ct_label(0x0000000000000000000000000000000000001)", "ct_label(ffffffffffffffffffffffffffffffff)",
          "in_port()", "eth_type()", "eth_type(0x0800),ipv4(src=)", "eth_type(0x0800),ipv4(proto=)",
          "ETH_TYPE(0x0800)", "eth_type (0x0800)", "eth_type(0x0800)eth(src=00:00:00:00:00:01)", "eth_type(0x0800);",
          "eth_type(0x0800)\tin_port(1)", "eth_type(0x86dd),ipv6(src=0:0:0:0:0:0:0:0:0)",
          "eth_type(0x86dd),ipv6(src=1::2::3)", "eth_type(0x86dd),ipv6(src=::1.2.3.4)",
          "eth_type(0x86dd),ipv6(src=::ffff:1.2.3)", "eth_type(0x86dd),ipv6(src=00001::)",
          "packet_type(ns=1,id=0x800/0xff)", "ct_tuple4(src=1.1.1.1/255.0.0.0)", "ct_tuple4(proto=6,proto=17)",
          "skb_mark(1/)", "dp_hash(1/0x)", "eth_type(0x0800/)",
          "tunnel(tun_id=0x5),foo(1)", "tunnel(tun_id=0x5),eth_type(0x0800),eth_type(0x0800)",
          "eth_type(0x0100),tunnel(src=1.1.1.1,tos=0x3)", "in_port(1),tunnel(tun_id=0x5),eth_type(0x0800)",
          "eth_type(0x0800),tunnel(tun_id=0x5,ttl=64),ipv4(proto=300)", "tunnel(tun_id=0x5,ttl=0)",
          "tunnel(tun_id=0x5,ttl=1),tunnel(ttl=2)", "tunnel(tun_id=0,flags(csum|key|df))",
          "skb_priority(0x5),skb_mark(0x7),recirc_id(0x9),dp_hash(0x1),ct_zone(5),ct_mark(0x9),eth_type(0x0800),eth_type(0x0800)",
          "ct_state(+new+trk),ct_label(0x1),eth_type(0x0800),eth_type(0x0800)", "ct_state(0),ct_label(0),eth_type(0x0800),eth_type(0x0800)", "ct_state(0xff),eth_type(0x0800),eth_type(0x0800)",
          "packet_type(ns=1,id=0x800),eth_type(0x0800),eth_type(0x0800)", "packet_type(ns=0,id=0),eth_type(0x0800),eth_type(0x0800)",
          "ct_tuple4(src=1.1.1.1,dst=2.2.2.2,proto=6,tp_src=1,tp_dst=2),eth_type(0x0800),eth_type(0x0800)",
          "ct_tuple6(src=::1,dst=::2,proto=6,tp_src=1,tp_dst=2),eth_type(0x0800),eth_type(0x0800)", "in_port(0xffffffff),eth_type(0x0800),eth_type(0x0800)",
          ("eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2,proto=1,tos=0x2e,ttl=5,frag=first),icmp(type=8,code=0),"
          "icmp(type=0,code=0)"),
          ("eth_type(0x86dd),ipv6(src=::1,dst=::2,label=0x12345,proto=58,tclass=0x2e,hlimit=5,frag=later),"
          "icmpv6(type=135,code=0),icmpv6(type=136,code=0)"),
          ("eth_type(0x86dd),ipv6(proto=58),icmpv6(type=135,code=0),nd(target=::1,sll=00:00:00:00:00:01),"
          "nd_ext(nd_reserved=0x5,nd_options_type=1),nd_ext(nd_reserved=0,nd_options_type=0)"),
          "eth_type(0x0800),ipv4(proto=132),sctp(src=1,dst=2),sctp(src=1,dst=2)",
          "eth_type(0x0800),ipv4(proto=6),tcp(src=1,dst=2),tcp_flags(0xfff),tcp_flags(0x200)",
          "eth_type(0x8847),mpls(label=5,tc=1,ttl=2,bos=1),eth_type(0x0800),eth_type(0x0800)",
          "eth_type(0x8100),vlan(vid=5,pcp=7,cfi=1),encap(eth_type(0x0806),arp(sip=1.1.1.1,op=1),arp(op=2))",
          "tunnel(tun_id=0x5,src=1.1.1.1,dst=2.2.2.2,tos=0x10,ttl=64,tp_src=1,tp_dst=2,flags(df|csum|key)),eth_type(0x0800),eth_type(0x0800)",
          "tunnel(ipv6_src=::1,ipv6_dst=::2,ttl=64),eth_type(0x0800),eth_type(0x0800)",
          "tunnel(tun_id=0x5)", "tunnel(ttl=64)", "tunnel(src=1.1.1.1)", "tunnel(src=1.1.1.1,dst=2.2.2.2)",
          "tunnel(tun_id=0x5,src=1.1.1.1,dst=2.2.2.2,tos=0x10,ttl=64,tp_src=1,tp_dst=2,flags(df|csum|key))",
          "tunnel(tun_id=0x5,src=1.1.1.1,dst=2.2.2.2,ttl=64,flags(bogus))", "tunnel(ipv6_src=::1,ipv6_dst=::2,ttl=64)",
          "tunnel(ttl=64,geneve({class=0x1,type=0x2,len=4,0xa}))", "tunnel(ttl=64,vxlan(gbp(id=10,flags=0x1)))",
          "tunnel(ttl=64,tun_id=0x5)", "tunnel(tun_id=0x5,ttl=64,)", "tunnel()", "tunnel(tos=1)",
          "tunnel(tun_id=0x5,src=1.1.1.1)", ("tunnel(tun_id=0x5,src=1.1.1.1,dst=2.2.2.2,ttl=64,flags(df)),"
          "eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2,proto=17,"
          "tos=0,ttl=64,frag=no),udp(src=1,dst=2)")]
    return c


def random_cases(n: int, seed: int = 31) -> list[str]:
    rng = random.Random(seed)

    def mac() -> str:
        return ":".join(f"{rng.randrange(256):02x}" for _ in range(6))

    def ip4() -> str:
        return ".".join(str(rng.randrange(256)) for _ in range(4))

    def ip6() -> str:
        return ":".join(f"{rng.randrange(65536):x}" for _ in range(8))

    out = []
    for _ in range(n):
        eth = f"eth(src={mac()},dst={mac()})"
        kind = rng.choice(["udp", "tcp", "icmp", "sctp", "udp6", "tcp6", "icmp6", "nd", "arp", "mpls", "other"])
        frag = rng.choice(["no", "no", "no", "first", "later"])
        sp, dp = rng.randrange(65536), rng.randrange(65536)
        if kind in ("udp", "tcp", "icmp", "sctp"):
            p = {"udp": 17, "tcp": 6, "icmp": 1, "sctp": 132}[kind]
            l4 = (f"icmp(type={rng.randrange(256)},code={rng.randrange(256)})" if kind == "icmp"
                  else f"{kind}(src={sp},dst={dp})")
            if kind == "tcp":
                l4 += f",tcp_flags(0x{rng.randrange(0x1000):03x})"
            body = (f"eth_type(0x0800),ipv4(src={ip4()},dst={ip4()},proto={p},tos={rng.randrange(256)},"
                    f"ttl={rng.randrange(256)},frag={frag}),{l4}")
        elif kind in ("udp6", "tcp6", "icmp6", "nd"):
            p = {"udp6": 17, "tcp6": 6, "icmp6": 58, "nd": 58}[kind]
            if kind == "icmp6":
                l4 = f"icmpv6(type={rng.choice([1, 3, 128, 129, 130])},code={rng.choice([0, 0, 2])})"
            elif kind == "nd":
                t = rng.choice([135, 136])
                ll = f"sll={mac()}" if t == 135 else f"tll={mac()}"
                l4 = f"icmpv6(type={t},code=0),nd(target={ip6()},{ll})"
            else:
                l4 = f"{kind[:3]}(src={sp},dst={dp})"
            body = (f"eth_type(0x86dd),ipv6(src={ip6()},dst={ip6()},label=0x{rng.randrange(1 << 20):x},proto={p},"
                    f"tclass={rng.randrange(256)},hlimit={rng.randrange(256)},frag={frag}),{l4}")
        elif kind == "arp":
            body = (f"eth_type(0x0806),arp(sip={ip4()},tip={ip4()},op={rng.choice([1, 2])},sha={mac()},"
                    f"tha={mac()})")
        elif kind == "mpls":
            body = (f"eth_type(0x8847),mpls(label={rng.randrange(1 << 20)},tc={rng.randrange(8)},"
                    f"ttl={rng.randrange(256)},bos={rng.choice([0, 1])})")
        else:
            body = f"eth_type(0x{rng.randrange(0x600, 0x10000):04x})"
        if rng.random() < 0.25:
            body = f"eth_type(0x8100),vlan(vid={rng.randrange(4096)},pcp={rng.randrange(8)}),encap({body})"
        out.append(f"in_port(1),{eth},{body}")
    return out


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=check)


def _frames_from(path: str, offset: int) -> tuple[list[str], int]:
    with open(path, "rb") as f:
        data = f.read()
    pos = max(offset, 24)
    frames = []
    while pos + 16 <= len(data):
        incl = struct.unpack_from("<I", data, pos + 8)[0]
        frames.append(data[pos + 16:pos + 16 + incl].hex())
        pos += 16 + incl
    return frames, len(data)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "compose_cases.json"
    d = tempfile.mkdtemp(prefix="compose-ovs-")
    _run(REF, "start", d, "dummy")
    env = _run(REF, "env", d).stdout.split()[1:]
    os.environ.update(kv.split("=", 1) for kv in env)
    pcap = os.path.join(d, "p1rx.pcap")
    try:
        _run("ovs-vsctl", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
             "--", "add-port", "br0", "p1", "--", "set", "interface", "p1", "type=dummy", "ofport_request=1",
             f"options:rxq_pcap={pcap}",
             "--", "add-port", "br0", "p2", "--", "set", "interface", "p2", "type=dummy", "ofport_request=2")
        _run("ovs-ofctl", "add-flow", "br0", "in_port=1,actions=2")
        offset = 0
        cases = []
        for text in fixed_cases() + random_cases(150):
            r = _run("ovs-appctl", "netdev-dummy/receive", "p1", text, check=False)
            frames, offset = _frames_from(pcap, offset)
            if r.returncode == 0:
                assert len(frames) == 1, (text, frames)
                cases.append({"packet": text, "frame": frames[0]})
            else:
                assert not frames, text
                err = r.stderr.removesuffix("\n").split("\n")
                assert err[-1].startswith("ovs-appctl:"), err
                cases.append({"packet": text, "error": "\n".join(err[:-1])})
        version = _run("ovs-vswitchd", "--version").stdout.splitlines()[0]
        out.write_text(json.dumps({"ovs": version, "cases": cases}, indent=1) + "\n")
        print(f"{len(cases)} cases -> {out}")
    finally:
        _run(REF, "stop", d, check=False)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
