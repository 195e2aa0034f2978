#!/usr/bin/env python3
"""Capture ``ovs-appctl ofproto/trace`` transcripts of Open vSwitch as ground truth for
tests/ofproto/test_xlate.py.

Runs a private ovs-vswitchd with the dummy datapath (``/work/shared/tools/ovs-reference start DIR dummy``),
builds bridge br0 (datapath_type=dummy) with ports p1..p3 (type=dummy, OpenFlow ports 1..3), and for each case
below replaces the bridge's flows (``ovs-ofctl add-flow`` in OpenFlow 1.0 + NXM or 1.5, the version recorded per
flow; groups with ``add-group`` in 1.5), empties the MAC table, and records the full output of ``ovs-appctl
ofproto/trace br0 FLOW`` for each flow (with ``-generate`` for the ``learn*`` cases, whose traces run in order
and learn).  ``dpif/show`` gives the OpenFlow -> datapath port numbering.  The reference is stopped by pid and
its directory removed at the end.

Usage: python3 tests/data/ofproto/xlate_capture.py [OUT.json]   (default: xlate_cases.json beside it)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REF = "/work/shared/tools/ovs-reference"
HERE = Path(__file__).resolve().parent

ETH = "dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02"
IP = f"in_port=1,{ETH},ip,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64"
TCP = f"in_port=1,{ETH},tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1000,tp_dst=80"
UDP = f"in_port=1,{ETH},udp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,udp_src=53,udp_dst=5353"
VL = f"in_port=1,dl_vlan=10,dl_vlan_pcp=2,{ETH},ip,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64"
IP6 = f"in_port=1,{ETH},ipv6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,nw_ttl=64"
TCP6 = f"in_port=1,{ETH},tcp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,nw_ttl=1,tp_src=1000,tp_dst=80"
ICMP = f"in_port=1,{ETH},icmp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,icmp_type=8,icmp_code=0"
SCTP = f"in_port=1,{ETH},sctp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,sctp_src=1,sctp_dst=2"
ARP = f"in_port=2,{ETH},arp,arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_op=1"

# name -> (flows, groups, traced flows)
CASES: list[tuple[str, list[str], list[str], list[str]]] = [
    ("empty", [], [], [IP]),
    ("output", ["in_port=1,actions=output:2"], [], [IP, ARP]),
    ("output_many", ["priority=10,ip,actions=output:2,output:3", "priority=5,actions=3,2,1"], [],
     [IP, ARP, VL]),
    ("output_in_port", ["actions=output:1"], [], [IP]),
    ("in_port", ["in_port=1,actions=in_port", "in_port=2,actions=IN_PORT,output:2"], [], [IP, ARP]),
    ("all_flood", ["in_port=1,actions=ALL", "in_port=2,actions=FLOOD"], [], [IP, ARP]),
    ("local", ["actions=LOCAL"], [], [IP]),
    ("drop", ["priority=10,tcp,actions=drop", "priority=5,actions=output:2"], [], [TCP, UDP, ARP]),
    ("miss", ["in_port=2,actions=output:1", "priority=10,ip,nw_dst=10.0.0.9,actions=output:3"], [],
     [IP, ARP]),
    ("normal", ["actions=NORMAL"], [], [IP, ARP, VL]),
    ("controller", ["priority=10,tcp,actions=CONTROLLER:65535", ("priority=5,ip,actions=controller(reason=no_match,"
                    "max_len=128,id=3,userdata=01.02)"), "priority=1,actions=output:2,controller"], [],
     [TCP, IP, ARP]),
    ("mod_dl", ["actions=mod_dl_src:00:00:00:00:00:aa,mod_dl_dst:00:00:00:00:00:bb,output:2"], [], [IP, ARP]),
    ("mod_dl_between", [("actions=output:2,mod_dl_src:00:00:00:00:00:aa,output:3,mod_dl_dst:00:00:00:00:00:bb,"
                        "output:1")], [], [IP]),
    ("mod_nw", ["tcp,actions=mod_nw_src:192.168.0.1,mod_nw_dst:192.168.0.2,output:2",
                "udp,actions=mod_nw_tos:32,mod_nw_ecn:2,mod_nw_ttl:9,output:2",
                "ipv6,actions=mod_nw_ttl:7,output:3"], [], [TCP, UDP, IP6]),
    ("mod_tp", ["tcp,actions=mod_tp_src:1,mod_tp_dst:2,output:2", "udp,actions=mod_tp_dst:99,output:2"], [],
     [TCP, UDP]),
    ("set_field", ["tcp,actions=set_field:10.1.1.1->ip_dst,set_field:8080->tcp_dst,output:2",
                   "udp,actions=set_field:00:11:22:33:44:55->eth_dst,set_field:1->nw_ecn,output:2",
                   "ipv6,actions=set_field:2001:db8::99->ipv6_dst,output:3",
                   "arp,actions=set_field:10.9.9.9->arp_tpa,output:3"], [], [TCP, UDP, IP6, ARP]),
    ("set_field_noop", ["actions=set_field:00:00:00:00:00:02->eth_dst,output:2"], [], [IP]),
    ("load_move", [("table=0,tcp,actions=load:0x5->NXM_NX_REG0[],move:NXM_NX_REG0[0..15]->NXM_OF_TCP_DST[],"
                   "output:2")], [], [TCP]),
    ("load_partial", ["ip,actions=load:0x7->NXM_OF_IP_DST[0..7],output:2"], [], [IP]),
    ("move_mac", ["actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],output:2"], [], [IP, ARP]),
    ("dec_ttl", ["ip,actions=dec_ttl,output:2", "ipv6,actions=dec_ttl,output:3"], [], [IP, TCP, IP6]),
    ("dec_ttl_zero", ["ip,actions=dec_ttl,output:2"], [],
     [f"in_port=1,{ETH},ip,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=1",
      f"in_port=1,{ETH},ip,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=0"]),
    ("vlan_push", ["in_port=1,actions=push_vlan:0x8100,set_field:4106->vlan_vid,output:2",
                   "in_port=2,actions=mod_vlan_vid:20,output:1"], [], [IP, ARP, VL]),
    ("vlan_pcp", ["actions=mod_vlan_pcp:5,output:2"], [], [IP, VL]),
    ("vlan_strip", ["actions=strip_vlan,output:2"], [], [IP, VL]),
    ("vlan_pop", ["actions=pop_vlan,output:2"], [], [VL]),
    ("vlan_mod", ["actions=mod_vlan_vid:30,output:2,strip_vlan,output:3"], [], [IP, VL]),
    ("vlan_match", ["priority=10,dl_vlan=10,actions=strip_vlan,output:2", "priority=5,actions=output:3"], [],
     [IP, VL]),
    ("resubmit_table", ["table=0,actions=resubmit(,1)", "table=1,ip,actions=output:2",
                        "table=1,priority=0,actions=output:3"], [], [IP, ARP]),
    ("resubmit_port", ["table=0,in_port=1,actions=resubmit:2", "table=0,in_port=2,actions=output:3",
                       "table=0,in_port=3,actions=output:1"], [], [IP, ARP]),
    ("resubmit_port_table", ["table=0,in_port=1,actions=resubmit(2,1),output:3", ("table=1,in_port=2,ip,"
                             "actions=mod_nw_dst:10.0.0.99,output:1")], [], [IP, ARP]),
    ("resubmit_miss", ["table=0,actions=resubmit(,5),output:2"], [], [IP]),
    ("resubmit_nested", ["table=0,actions=resubmit(,1),output:1", "table=1,actions=resubmit(,2),output:2",
                         "table=2,tcp,actions=mod_tp_dst:443,output:3", "table=2,priority=0,actions=drop"], [],
     [TCP, UDP]),
    ("resubmit_loop", ["table=0,actions=resubmit(,0)"], [], [IP]),
    ("resubmit_deep", [f"table={i},actions=resubmit(,{i + 1})" for i in range(70)], [], [IP]),
    ("goto", ["table=0,ip,actions=goto_table:1", "table=0,priority=0,actions=output:3",
              "table=1,ip,nw_dst=10.0.0.2,actions=output:2"], [], [IP, ARP]),
    ("goto_miss", ["table=0,actions=goto_table:3"], [], [IP]),
    ("metadata", ["table=0,actions=write_metadata:0x5/0xff,goto_table:1", "table=1,metadata=0x5,actions=output:2",
                  "table=1,priority=0,actions=output:3"], [], [IP]),
    ("registers", ["table=0,actions=load:0x2a->NXM_NX_REG1[],resubmit(,1)",
                   "table=1,reg1=0x2a,actions=output:2", "table=1,priority=0,actions=output:3"], [], [IP]),
    ("clone", ["actions=clone(mod_dl_dst:00:00:00:00:00:cc,output:2),output:3"], [], [IP]),
    ("clone_nested", ["ip,actions=clone(set_field:10.5.5.5->ip_src,output:2),mod_nw_dst:10.6.6.6,output:3"], [],
     [IP]),
    ("note_exit", ["actions=note:01.02.03,output:2,exit,output:3"], [], [IP]),
    ("exit_in_resubmit", ["table=0,actions=resubmit(,1),output:3", "table=1,actions=output:2,exit"], [], [IP]),
    ("action_set", ["table=0,actions=write_actions(output:2),goto_table:1",
                    "table=1,ip,actions=write_actions(output:3)", "table=1,priority=0,actions=clear_actions"], [],
     [IP, ARP]),
    ("action_set_order", [("table=0,ip,actions=write_actions(output:2,set_field:00:00:00:00:00:dd->eth_dst,"
                          "mod_nw_ttl:3)")], [], [IP]),
    ("group_all", ["actions=group:1"], ["group_id=1,type=all,bucket=output:2,bucket=mod_nw_dst:10.0.0.7,output:3"],
     [IP]),
    ("group_indirect", ["actions=group:2,output:1"], [("group_id=2,type=indirect,bucket=mod_dl_src:00:00:00:00:00:ee,"
                                                      "output:3")], [IP]),
    ("multi_table", ["table=0,priority=10,in_port=1,actions=resubmit(,1)",
                     "table=0,priority=5,actions=drop",
                     "table=1,priority=10,tcp,tp_dst=80,actions=resubmit(,2)",
                     "table=1,priority=5,ip,actions=output:3",
                     "table=2,tcp,actions=mod_tp_dst:8080,output:2"], [], [TCP, UDP, ARP]),
    ("cookie_priority", ["table=0,priority=123,cookie=0xabc,ip,actions=output:2",
                         "table=0,priority=7,cookie=0x5,actions=output:3"], [], [IP, ARP]),
    ("megaflow_prefix", ["priority=10,ip,nw_dst=10.0.0.0/8,actions=output:2",
                         "priority=20,ip,nw_dst=192.168.0.0/16,actions=output:3"], [], [IP]),
    ("normal_after_set", ["actions=mod_dl_src:00:00:00:00:00:aa,NORMAL"], [], [IP, VL]),
    ("normal_after_vlan", ["in_port=1,actions=mod_vlan_vid:10,NORMAL", "in_port=2,actions=strip_vlan,NORMAL"], [],
     [IP, VL, ARP]),
    ("flood_after_vlan", ["actions=mod_vlan_vid:5,FLOOD,strip_vlan,output:2"], [], [IP, VL]),
    ("controller_after_output", ["actions=output:2,mod_dl_dst:00:00:00:00:00:03,controller,output:3"], [], [IP]),
    ("ipv6_l4", ["tcp6,actions=mod_nw_tos:16,set_field:2001:db8::7->ipv6_src,mod_tp_src:7,output:2"], [], [TCP6]),
    ("dec_ttl_ipv6", ["ipv6,actions=dec_ttl,output:2"], [], [TCP6]),
    ("exit_in_clone", ["actions=clone(output:2,exit,output:3),output:100"], [], [IP]),
    ("output_unknown", ["actions=output:9,output:2"], [], [IP]),
    ("resubmit_local", ["in_port=1,actions=resubmit(LOCAL),output:3", "in_port=LOCAL,actions=output:2,IN_PORT"],
     [], [IP]),
    ("move_partial", [("ip,actions=load:0x11223344->NXM_NX_REG2[],move:NXM_NX_REG2[0..7]->NXM_OF_IP_SRC[8..15],"
                       "output:2")], [], [TCP]),
    ("double_push", ["actions=push_vlan:0x8100,mod_vlan_vid:3,push_vlan:0x88a8,mod_vlan_vid:4,output:2"], [],
     [IP, VL]),
    ("action_set_group", [("table=0,actions=write_actions(output:2,group:3),goto_table:1"),
                          "table=1,actions=output:1,clear_actions,write_actions(output:3)"],
     ["group_id=3,type=indirect,bucket=output:1"], [IP, ARP]),
    ("action_set_empty_clear", ["table=0,actions=clear_actions,goto_table:1", "table=1,actions=output:2"], [],
     [IP]),
    ("group_ff", ["actions=group:4"], [("group_id=4,type=ff,bucket=watch_port:9,output:3,"
                                       "bucket=watch_port:2,output:2,bucket=watch_port:3,output:3")], [IP]),
    ("group_ff_none", ["actions=group:5,output:3"], ["group_id=5,type=ff,bucket=watch_port:9,output:2"], [IP]),
    ("group_chain", ["actions=group:6"], ["group_id=7,type=all,bucket=output:3",
                                          "group_id=6,type=all,bucket=group:7,bucket=output:2"], [IP]),
    ("learn_normal", ["actions=NORMAL"], [],
     [IP, "in_port=2,dl_src=00:00:00:00:00:02,dl_dst=00:00:00:00:00:01", IP, ARP,
      "in_port=3,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02"]),
    ("learn_controller", ["priority=10,tcp,actions=output:2,controller(id=5,max_len=200)",
                          "priority=5,actions=dec_ttl,NORMAL"], [],
     [TCP, IP.replace("nw_ttl=64", "nw_ttl=1"), IP]),
    ("l4_others", ["icmp,actions=mod_tp_src:5,output:2", "sctp,actions=mod_tp_dst:9,output:2"], [],
     [ICMP, SCTP]),
    ("icmp_set", ["icmp,actions=set_field:0->icmp_type,set_field:3->icmp_code,output:2"], [], [ICMP]),
    ("megaflow_l4", ["priority=10,tcp,tp_dst=22,actions=drop", "priority=5,actions=output:2"], [], [TCP, UDP, IP]),
]


def run(*args: str, check: bool = True) -> str:
    return subprocess.run(args, check=check, capture_output=True, text=True).stdout


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "xlate_cases.json"
    d = tempfile.mkdtemp(prefix="ovsref-xlate-")
    try:
        subprocess.run([REF, "start", d, "dummy"], check=True, capture_output=True)
        for k in ("OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVS_SYSCONFDIR"):
            os.environ[k] = d
        run("ovs-vsctl", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
            "protocols=OpenFlow10,OpenFlow11,OpenFlow12,OpenFlow13,OpenFlow14,OpenFlow15")
        for i in range(1, 4):
            run("ovs-vsctl", "add-port", "br0", f"p{i}", "--", "set", "interface", f"p{i}", "type=dummy",
                f"ofport_request={i}")
        dpif = run("ovs-appctl", "dpif/show")
        dp_ports = {}
        for m in re.finditer(r"^\s+(\S+) (\d+)/(\d+):", dpif, re.MULTILINE):
            dp_ports[int(m.group(2))] = int(m.group(3))
        cases = []
        for name, flows, groups, traced in CASES:
            run("ovs-ofctl", "-O", "OpenFlow15", "del-flows", "br0")
            run("ovs-ofctl", "-O", "OpenFlow15", "del-groups", "br0")
            run("ovs-appctl", "fdb/flush", "br0")    # each case starts with an empty MAC table
            for g in groups:
                run("ovs-ofctl", "-O", "OpenFlow15", "add-group", "br0", g)
            versions = []
            for f in flows:
                # OpenFlow 1.0 + NXM first (strip_vlan and friends need it), OpenFlow 1.5 when 1.0 cannot say
                # it; instructions go in 1.5 directly (1.0 would silently turn goto_table into resubmit and
                # drop write_actions).  The version is recorded: what the trace prints is the actions after
                # encoding in it.
                order = ["OpenFlow15", "OpenFlow10"] if any(
                    w in f for w in ("goto_table", "write_actions", "clear_actions")) else ["OpenFlow10", "OpenFlow15"]
                for v in order:
                    p = subprocess.run(["ovs-ofctl", "-O", v, "add-flow", "br0", f], check=False,
                                       capture_output=True, text=True)
                    if not p.returncode:
                        versions.append(v)
                        break
                else:
                    sys.exit(f"{name}: add-flow {f}: {p.stderr}")
            traces = []
            for t in traced:
                # Cases whose name starts with "learn" translate with side effects (-generate), in order, so
                # NORMAL learns as it goes.
                gen = ["-generate"] if name.startswith("learn") else []
                p = subprocess.run(["ovs-appctl", "ofproto/trace", "br0", t, *gen], check=False,
                                   capture_output=True, text=True)
                traces.append({"flow": t, "output": p.stdout + p.stderr, "rc": p.returncode})
            cases.append({"name": name, "flows": flows, "versions": versions, "groups": groups, "traces": traces})
        out.write_text(json.dumps({"dp_ports": dp_ports, "cases": cases}, indent=1) + "\n")
    finally:
        subprocess.run([REF, "stop", d], check=False, capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
