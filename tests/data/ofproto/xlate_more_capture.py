#!/usr/bin/env python3
"""Capture Open vSwitch's translations of the actions beyond tests/data/ofproto/xlate_capture.py (recirculation,
conntrack, select groups, MPLS, patch ports, queues, meters, truncation, check_pkt_larger, sample, learn,
multipath, bundle...) as ground truth for tests/ofproto/test_xlate_more.py.

Runs a private ovs-vswitchd with the dummy datapath (``/work/shared/tools/ovs-reference start DIR dummy``) with
two bridges: br0 (ports p1..p3 = OpenFlow 1..3, type dummy; patch port patch0 = OpenFlow 10) and br1 (port q1 =
OpenFlow 1; patch port patch1 = OpenFlow 20), patch0 and patch1 peers of each other.  For each case below it
replaces both bridges' flows, br0's groups and meters (``ovs-ofctl add-flow`` in OpenFlow 1.0 + NXM or 1.5, the
version recorded per flow), sets the case's port VLAN tags (``tags``) and other VLAN columns (``vlan``), cleared after the case, and records:

With ``monitor``, an ``ovs-ofctl monitor`` (OpenFlow 1.0) runs on each bridge during the case, which makes
table misses send packet-ins.

* ``traces``: the full output of ``ovs-appctl ofproto/trace br0 FLOW`` (``-generate`` when the case says so);
* ``packets``: for each datapath packet (ODP flow syntax) the case injects with ``ovs-appctl
  netdev-dummy/receive p1 PACKET``, the datapath flows (``dpctl/dump-flows``) installed by it, and for each
  installed flow that resumes a recirculation (``recirc_id(N)`` with N != 0), the trace of the resumed flow
  ``recirc_id=N[,dp_hash=H],FLOW`` (taken while the installed flow keeps the id alive), and for the cases with
  a ``sweep`` the ``Megaflow:`` and ``Datapath actions:`` lines of that trace for dp_hash 0..sweep.

The datapath flows are flushed (``revalidator/purge``, which also forgets their upcall state, so a flow of an
earlier case cannot block the new one) before each packet.  ``dpif/show`` gives the OpenFlow ->
datapath port numbering.  The reference is stopped by pid and its directory removed at the end.

Usage: python3 tests/data/ofproto/xlate_more_capture.py [OUT.json]   (default: xlate_more_cases.json beside it)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REF = "/work/shared/tools/ovs-reference"
HERE = Path(__file__).resolve().parent

ETH = "dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02"
IP = f"in_port=1,{ETH},ip,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64"
TCP = f"in_port=1,{ETH},tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1000,tp_dst=80"
TCP2 = f"in_port=1,{ETH},tcp,nw_src=10.0.0.3,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1001,tp_dst=22"
UDP = f"in_port=1,{ETH},udp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,udp_src=53,udp_dst=5353"
TCP6 = f"in_port=1,{ETH},tcp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,nw_ttl=64,tp_src=1000,tp_dst=80"
ARP = f"in_port=1,{ETH},arp,arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_op=1"
MPLS = f"in_port=1,{ETH},mpls,mpls_label=100,mpls_tc=2,mpls_ttl=10,mpls_bos=1"
VL = f"in_port=1,dl_vlan=10,dl_vlan_pcp=2,{ETH},ip,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64"
P2 = TCP.replace("in_port=1", "in_port=2")

PKT_TCP = ("in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),"
           "ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1000,dst=80)")
PKT_TCP2 = ("in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),"
            "ipv4(src=10.0.0.3,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1001,dst=22)")

# An MPLS packet (label 100, tc 2, ttl 10, bottom of stack) carrying an IPv4 header (10.0.0.1 -> 10.0.0.2, TTL 64).
PKT_MPLS = ("000000000002000000000001" "8847" "0006450a"
            "45000014000000004000" "0000" "0a000001" "0a000002")
IP_AFTER_POP = f"in_port=1,{ETH},ip,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64"
PACKET_FLOWS = {PKT_TCP: (PKT_TCP, TCP, TCP), PKT_TCP2: (PKT_TCP2, TCP2, TCP2),
                PKT_MPLS: (PKT_MPLS, MPLS, IP_AFTER_POP)}

# Each case: name, br0 flows, br1 flows, br0 groups, br0 meters, traced flows, injected packets, generate.
CASES: list[dict] = [
    # Controller: the cookie's recirc id names a frozen state; the installed flow has dont_send=0.
    {"name": "controller_pkt", "flows": ["priority=10,tcp,actions=load:0x7->NXM_NX_REG3[],output:2,controller"],
         "traces": [TCP], "packets": [PKT_TCP]},
    {"name": "controller_generate", "flows": ["actions=controller(reason=no_match,id=4,userdata=01.02),output:3"],
         "traces": [TCP], "generate": True},
    {"name": "dec_ttl_invalid", "flows": ["ip,actions=dec_ttl(1,2),output:2"],
         "traces": [IP.replace("nw_ttl=64", "nw_ttl=1")]},
    {"name": "controller_miss", "flows": ["priority=0,actions=controller"], "traces": [TCP]},
    {"name": "controller_miss_not", "flows": ["priority=0,ip,actions=controller", "priority=1,arp,actions=controller"],
     "traces": [TCP, ARP]},
    {"name": "miss_to_controller", "monitor": True,
     "flows": ["table=0,in_port=2,actions=resubmit(,1)", "table=0,in_port=3,actions=output:10",
               "table=0,in_port=1,tcp,actions=goto_table:4", "table=0,in_port=1,arp,actions=output:10"],
     "flows1": ["in_port=20,arp,actions=controller(reason=no_match)", "priority=0,actions=controller"],
     "traces": [UDP, P2, TCP.replace("in_port=1", "in_port=3"), TCP, ARP], "packets": [PKT_TCP2]},
    {"name": "resubmit_pingpong", "flows": ["table=0,actions=resubmit(,1)", "table=1,actions=resubmit(,0)"],
     "traces": [TCP]},
    # Patch ports.
    {"name": "patch_simple", "flows": ["in_port=1,actions=load:0x5->NXM_NX_REG0[],output:10"],
         "flows1": ["in_port=20,ip,actions=mod_nw_dst:10.0.0.9,output:1"], "traces": [IP, TCP]},
    {"name": "patch_more_after", "flows": [("in_port=1,actions=load:0x5->NXM_NX_REG0[],output:10,"
                                         "mod_dl_src:00:00:00:00:00:77,output:2")],
         "flows1": ["in_port=20,tcp,actions=mod_dl_dst:00:00:00:00:00:99,output:1"], "traces": [TCP]},
    {"name": "patch_twice", "flows": ["in_port=1,actions=output:10,output:10"],
         "flows1": ["in_port=20,tcp,actions=mod_dl_dst:00:00:00:00:00:99,output:1"], "traces": [TCP]},
    {"name": "patch_back", "flows": ["in_port=2,actions=load:0x3->OXM_OF_METADATA[],output:10",
                                     "in_port=10,actions=output:3"],
         "flows1": ["in_port=20,tcp,actions=mod_dl_dst:00:00:00:00:00:99,resubmit(,1),output:1",
                 "table=1,reg0=0,metadata=0,actions=mod_tp_dst:99,IN_PORT"], "traces": [P2]},
    {"name": "patch_miss", "flows": ["actions=output:10"], "flows1": [], "traces": [TCP]},
    {"name": "patch_controller", "flows": ["actions=output:10"], "flows1": ["actions=controller,output:1"],
         "traces": [TCP]},
    {"name": "patch_all", "flows": ["in_port=1,actions=ALL"], "flows1": ["actions=output:1"], "traces": [TCP]},
    # Conntrack.
    {"name": "ct_commit_table", "flows": [("table=0,priority=10,tcp,actions=load:0x7->NXM_NX_REG1[],"
                                        "ct(commit,zone=5,table=1,exec(set_field:0x3->ct_mark))"),
                                        "table=1,ct_state=+trk+new,tcp,actions=output:2",
                                        "table=1,priority=0,actions=drop"], "traces": [TCP]},
    {"name": "recirc_unknown", "flows": ["actions=output:2"], "traces": ["recirc_id=0x99," + TCP]},
    {"name": "ct_no_table", "flows": ["ip,actions=ct(commit),output:2", "arp,actions=output:3"],
         "traces": [TCP, ARP]},
    {"name": "ct_zone_reg", "flows": ["ip,actions=load:0x3->NXM_NX_REG0[],ct(table=1,zone=NXM_NX_REG0[0..15],nat)",
                                    "table=1,actions=output:2"], "traces": [TCP]},
    {"name": "ct_nat_src", "flows": [("table=0,priority=10,tcp,actions=ct(commit,table=1,nat(src=10.1.1.1:5000)),"
                                   "ct(table=2)"),
                                   "table=1,ct_state=+trk+new,tcp,actions=output:2", "table=2,actions=output:3"],
         "traces": [TCP]},
    {"name": "ct_nat_range", "flows": ["ip,actions=ct(commit,nat(src=10.1.1.1-10.1.1.5:100-200,random)),output:2"],
         "traces": [TCP]},
    {"name": "ct_label_alg", "flows": [("tcp,actions=ct(commit,alg=ftp,exec(set_field:0x1/0x1->ct_label,"
                                     "set_field:0xff->ct_mark)),output:2")], "traces": [TCP]},
    {"name": "ct_clear", "flows": ["ip,actions=ct_clear,output:2,ct(table=1)", "table=1,actions=ct_clear,output:3"],
         "traces": [TCP]},
    {"name": "ct_state_match", "flows": ["table=0,ip,actions=ct(table=1)",
                                       "table=1,priority=10,ct_state=-trk,actions=output:1",
                                       "table=1,priority=5,ct_state=+trk+est,actions=output:2",
                                       "table=1,priority=1,ct_state=+trk+new,ip,actions=ct(commit),output:3"],
         "traces": [TCP], "packets": [PKT_TCP]},
    {"name": "ct_action_set", "flows": ["table=0,ip,actions=ct(table=1),write_actions(output:2)",
                                      "table=1,actions=output:3"], "traces": [TCP]},
    {"name": "ct_force_move", "flows": [("ip,actions=load:0x1234->NXM_NX_REG0[],ct(commit,force,zone=7,"
                                      "exec(move:NXM_NX_REG0[0..7]->NXM_NX_CT_MARK[0..7])),output:2")],
         "traces": [TCP]},
    {"name": "ct_nat_v6", "flows": ["ipv6,actions=ct(commit,table=1,nat(dst=[2001:db8::5]:8080))",
                                  "table=1,actions=output:2"], "traces": [TCP6]},
    {"name": "ct_then_output", "flows": ["ip,actions=ct(table=1),output:3,mod_dl_src:00:00:00:00:00:aa,output:2",
                                       "table=1,actions=output:1"], "traces": [TCP]},
    {"name": "ct_tftp", "flows": ["udp,actions=ct(commit,alg=tftp),output:2"], "traces": [UDP]},
    {"name": "patch_normal", "flows": ["actions=NORMAL"], "flows1": ["actions=NORMAL"], "traces": [TCP]},
    {"name": "patch_normal_vlan", "flows": ["actions=NORMAL"], "flows1": ["actions=NORMAL"],
     "tags": {"p1": 10, "p2": 20, "q1": 10}, "traces": [TCP, VL.replace("in_port=1", "in_port=3")]},
    {"name": "patch_normal_access_patch", "flows": ["actions=NORMAL"], "flows1": ["actions=NORMAL"],
     "tags": {"patch0": 10, "patch1": 30, "p2": 10}, "traces": [TCP, P2]},
    {"name": "normal_vlan_drops", "flows": ["actions=NORMAL"], "vlan": {"p1": {"trunks": "20"},
                                                                         "p2": {"tag": "10", "vlan_mode": "access"}},
     "traces": [VL, VL.replace("in_port=1", "in_port=2"), VL.replace("in_port=1", "in_port=3")]},
    {"name": "patch_normal_learn", "flows": ["actions=NORMAL"], "flows1": ["actions=NORMAL"],
         "traces": [TCP, TCP.replace("in_port=1,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02",
                                  "in_port=2,dl_src=00:00:00:00:00:02,dl_dst=00:00:00:00:00:01"), TCP],
         "generate": True},
    # Select groups.
    {"name": "select_default", "flows": ["in_port=1,actions=load:0x4->NXM_NX_REG2[],group:1,output:LOCAL"],
         "groups": [("group_id=1,type=select,bucket=weight:10,output:2,bucket=weight:20,output:3,"
                 "bucket=weight:5,output:1")], "traces": [TCP], "packets": [PKT_TCP, PKT_TCP2], "sweep": 17},
    {"name": "select_equal", "flows": ["actions=group:1"],
         "groups": ["group_id=1,type=select,bucket=output:2,bucket=output:3"], "traces": [TCP], "packets": [PKT_TCP]},
    {"name": "select_in_resubmit", "flows": ["in_port=1,actions=resubmit(,1),output:LOCAL",
                                           "table=1,cookie=0x77,actions=group:1,output:3"],
         "groups": ["group_id=1,type=select,bucket=output:2,bucket=output:3"], "traces": [TCP], "packets": [PKT_TCP]},
    {"name": "select_in_action_set", "flows": ["actions=write_actions(group:1),goto_table:1",
                                               "table=1,actions=load:0x3->NXM_NX_REG5[]"],
     "groups": ["group_id=1,type=select,bucket=output:2,bucket=output:3"], "traces": [TCP], "packets": [PKT_TCP]},
    {"name": "select_in_all", "flows": ["actions=group:2,output:1"],
     "groups": ["group_id=1,type=select,bucket=output:2,bucket=output:3",
                "group_id=2,type=all,bucket=output:LOCAL,bucket=group:1"], "traces": [TCP], "packets": [PKT_TCP]},
    {"name": "select_in_clone", "flows": ["actions=clone(mod_dl_src:00:00:00:00:00:cc,group:1,output:LOCAL),output:3"],
     "groups": ["group_id=1,type=select,bucket=output:2,bucket=output:3"], "traces": [TCP], "packets": [PKT_TCP]},
    {"name": "bucket_action_set", "flows": ["actions=group:1"],
     "groups": [("group_id=1,type=all,bucket=output:2,output:3,bucket=output:2,mod_dl_src:00:00:00:00:00:aa,"
                "mod_dl_dst:00:00:00:00:00:bb,bucket=dec_ttl,push_vlan:0x8100,set_field:4101->vlan_vid,strip_vlan,"
                "output:2,bucket=controller(userdata=01),bucket=mod_nw_dst:10.9.9.9,bucket=resubmit(,1),resubmit(,2)"),
                ], "traces": [TCP]},
    {"name": "select_hash", "flows": ["actions=group:1"],
         "groups": [("group_id=1,type=select,selection_method=hash,fields(ip_src,tcp_dst),"
                 "bucket=weight:10,output:2,bucket=weight:20,output:3")], "traces": [TCP, TCP2, UDP, ARP]},
    {"name": "select_hash_param", "flows": ["actions=group:1"],
         "groups": [("group_id=1,type=select,selection_method=hash,selection_method_param=7,"
                 "fields(eth_dst,ip_dst=255.255.255.0,udp_src),bucket=output:1,bucket=output:2,bucket=output:3")],
         "traces": [TCP, UDP, TCP2.replace("in_port=1", "in_port=3")]},
    {"name": "select_many", "flows": ["actions=group:1"],
     "groups": ["group_id=1,type=select," + ",".join(f"bucket=weight:{w},output:{1 + i % 3}"
                                                    for i, w in enumerate([1, 7, 3, 40, 2]))],
     "traces": [TCP], "packets": [PKT_TCP], "sweep": 70},
    {"name": "select_zero_weight", "flows": ["actions=group:1"],
     "groups": ["group_id=1,type=select,bucket=weight:0,output:2,bucket=weight:3,output:3"],
     "traces": [TCP], "packets": [PKT_TCP], "sweep": 17},
    # MPLS.
    {"name": "mpls_push_set", "flows": [("actions=push_mpls:0x8847,set_mpls_label:10,set_mpls_tc:3,set_mpls_ttl:9,"
                                      "dec_mpls_ttl,output:2")], "traces": [TCP, ARP]},
    {"name": "mpls_push_pop", "flows": ["actions=push_mpls:0x8847,output:2,pop_mpls:0x0800,output:3"],
         "traces": [TCP]},
    {"name": "mpls_on_mpls", "flows": ["mpls,actions=set_mpls_label:20,output:2,pop_mpls:0x0800,output:3",
                                     "priority=0,actions=drop"], "traces": [MPLS]},
    {"name": "mpls_pop_then_l3", "flows": ["mpls,actions=pop_mpls:0x0800,mod_nw_dst:10.9.9.9,output:2",
                                           "ip,actions=output:3"],
     "traces": [MPLS], "packets": [PKT_MPLS]},
    {"name": "mpls_pop_then_resubmit", "flows": [("mpls,actions=pop_mpls:0x0800,mod_dl_src:00:00:00:00:00:aa,"
                                                 "resubmit(,1),output:3"),
                                                 "table=1,ip,nw_dst=10.0.0.2,actions=dec_ttl,output:2",
                                                 "table=1,priority=0,actions=output:1"],
     "traces": [MPLS], "packets": [PKT_MPLS]},
    {"name": "mpls_pop_then_output", "flows": [("mpls,actions=pop_mpls:0x0800,set_field:00:00:00:00:00:bb->eth_dst,"
                                               "output:2")], "traces": [MPLS]},
    {"name": "mpls_dec_ttl", "flows": ["mpls,actions=dec_mpls_ttl,output:2"],
         "traces": [MPLS, MPLS.replace("mpls_ttl=10", "mpls_ttl=1")]},
    {"name": "mpls_push_on_mpls", "flows": ["mpls,actions=push_mpls:0x8848,output:2"], "traces": [MPLS]},
    # Queues, truncation, meters, sample, check_pkt_larger, fin_timeout.
    {"name": "queue", "flows": ["actions=set_queue:5,output:2,pop_queue,output:3"], "traces": [TCP]},
    {"name": "enqueue", "flows": ["actions=enqueue:2:7,output:3"], "traces": [TCP]},
    {"name": "trunc", "flows": ["actions=output(port=2,max_len=100),output:3"], "traces": [TCP]},
    {"name": "meter", "flows": ["actions=meter:1,output:2"], "meters": ["meter=1,kbps,band=type=drop,rate=1000"],
         "traces": [TCP]},
    {"name": "sample", "flows": [("actions=sample(probability=100,collector_set_id=1,obs_domain_id=2,"
                               "obs_point_id=3),output:2")], "traces": [TCP]},
    {"name": "check_pkt_larger", "flows": ["actions=check_pkt_larger(100)->NXM_NX_REG0[0],resubmit(,1)",
                                         "table=1,reg0=1,actions=output:2", "table=1,reg0=0,actions=output:3"],
         "traces": [TCP]},
    {"name": "check_pkt_larger_mod", "flows": [("actions=mod_dl_src:00:00:00:00:00:aa,"
                                             "check_pkt_larger(200)->NXM_NX_REG1[3],output:2")], "traces": [TCP]},
    {"name": "fin_timeout", "flows": ["actions=fin_timeout(idle_timeout=5),output:2"], "traces": [TCP, ARP]},
    {"name": "conjunction", "flows": ["ip,nw_src=10.0.0.1,actions=conjunction(7,1/2)",
                                    "tcp,tp_dst=80,actions=conjunction(7,2/2)",
                                    "conj_id=7,ip,actions=output:2", "priority=0,actions=output:3"],
         "traces": [TCP, TCP2, UDP]},
    {"name": "stack", "flows": [("tcp,actions=push:NXM_OF_ETH_SRC[0..15],push:NXM_NX_REG1[],pop:NXM_NX_REG2[],"
                              "pop:NXM_OF_TCP_DST[],pop:NXM_NX_REG3[],output:2")], "traces": [TCP]},
    {"name": "set_tunnel", "flows": ["actions=set_tunnel:0x5,output:2"], "traces": [TCP]},
    {"name": "controller_pause", "flows": ["actions=load:1->NXM_NX_REG0[],controller(pause),output:2"],
         "traces": [TCP], "packets": [PKT_TCP]},
    {"name": "controller_pause_generate", "flows": ["cookie=0x9,actions=controller(pause,userdata=05),output:2"],
         "traces": [TCP], "generate": True},
    {"name": "patch_ct", "flows": ["actions=load:0x9->NXM_NX_REG4[],output:10"],
         "flows1": ["in_port=20,ip,actions=ct(table=3)", "table=3,reg4=0,actions=output:1"], "traces": [TCP]},
    {"name": "patch_select", "flows": ["in_port=1,actions=output:10"], "flows1": ["in_port=20,actions=output:IN_PORT"],
         "traces": [TCP]},
    # learn, multipath, bundle.
    {"name": "learn", "flows": [("table=0,actions=learn(table=1,hard_timeout=60,NXM_OF_VLAN_TCI[0..11],"
                              "NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),resubmit(,1)"),
                              "table=1,priority=0,actions=FLOOD"], "traces": [TCP], "generate": True},
    {"name": "multipath", "flows": ["actions=multipath(eth_src,50,modulo_n,4,0,NXM_NX_REG0[0..1]),resubmit(,1)",
                                  "table=1,reg0=0,actions=output:1", "table=1,reg0=1,actions=output:2",
                                  "table=1,reg0=2,actions=output:3", "table=1,reg0=3,actions=output:LOCAL"],
         "traces": [TCP, TCP2]},
    {"name": "bundle", "flows": ["actions=bundle(eth_src,0,hrw,ofport,members:2,3)"], "traces": [TCP, TCP2]},
    {"name": "bundle_load", "flows": [("actions=bundle_load(eth_src,0,hrw,ofport,NXM_NX_REG0[],members:2,3),"
                                    "output:NXM_NX_REG0[]")], "traces": [TCP]},
]


def run(*args: str, check: bool = True) -> str:
    return subprocess.run(args, check=check, capture_output=True, text=True).stdout


def add_flow(bridge: str, f: str, name: str) -> str:
    order = ["OpenFlow15", "OpenFlow10"] if any(
        w in f for w in ("goto_table", "write_actions", "clear_actions", "meter:")) else ["OpenFlow10", "OpenFlow15"]
    for v in order:
        p = subprocess.run(["ovs-ofctl", "-O", v, "add-flow", bridge, f], check=False, capture_output=True,
                           text=True)
        if not p.returncode:
            return v
    sys.exit(f"{name}: add-flow {bridge} {f}: {p.stderr}")


def trace(flow: str, generate: bool) -> dict:
    p = subprocess.run(["ovs-appctl", "ofproto/trace", "br0", flow, *(["-generate"] if generate else [])],
                       check=False, capture_output=True, text=True)
    return {"flow": flow, "output": p.stdout + p.stderr, "rc": p.returncode}


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "xlate_more_cases.json"
    d = tempfile.mkdtemp(prefix="ovsref-xlate-more-")
    try:
        subprocess.run([REF, "start", d, "dummy"], check=True, capture_output=True)
        for k in ("OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVS_SYSCONFDIR"):
            os.environ[k] = d
        protos = "protocols=OpenFlow10,OpenFlow11,OpenFlow12,OpenFlow13,OpenFlow14,OpenFlow15"
        for br in ("br0", "br1"):
            run("ovs-vsctl", "add-br", br, "--", "set", "bridge", br, "datapath_type=dummy", protos)
        for i in range(1, 4):
            run("ovs-vsctl", "add-port", "br0", f"p{i}", "--", "set", "interface", f"p{i}", "type=dummy",
                f"ofport_request={i}")
        run("ovs-vsctl", "add-port", "br1", "q1", "--", "set", "interface", "q1", "type=dummy", "ofport_request=1")
        run("ovs-vsctl", "add-port", "br0", "patch0", "--", "set", "interface", "patch0", "type=patch",
            "options:peer=patch1", "ofport_request=10", "--", "add-port", "br1", "patch1", "--", "set",
            "interface", "patch1", "type=patch", "options:peer=patch0", "ofport_request=20")
        dpif = run("ovs-appctl", "dpif/show")
        dp_ports: dict[str, dict[int, int]] = {}
        br = ""
        for line in dpif.splitlines():
            m = re.match(r"^  (\S+):$", line)
            if m:
                br = m.group(1)
                dp_ports[br] = {}
                continue
            m = re.match(r"^\s+(\S+) (\d+)/(\d+):", line)
            if m:
                dp_ports[br][int(m.group(2))] = int(m.group(3))
        cases = []
        for c in CASES:
            name = c["name"]
            for b in ("br0", "br1"):
                run("ovs-ofctl", "-O", "OpenFlow15", "del-flows", b)
            run("ovs-ofctl", "-O", "OpenFlow15", "del-groups", "br0")
            run("ovs-ofctl", "-O", "OpenFlow15", "del-meters", "br0", check=False)
            run("ovs-appctl", "revalidator/purge")
            for m in c.get("meters", []):
                run("ovs-ofctl", "-O", "OpenFlow15", "add-meter", "br0", m)
            for g in c.get("groups", []):
                run("ovs-ofctl", "-O", "OpenFlow15", "add-group", "br0", g)
            for port, tag in c.get("tags", {}).items():
                run("ovs-vsctl", "set", "port", port, f"tag={tag}")
            for port, cfg in c.get("vlan", {}).items():
                run("ovs-vsctl", "set", "port", port, *[f"{k}={v}" for k, v in cfg.items()])
            versions = [add_flow("br0", f, name) for f in c["flows"]]
            versions1 = [add_flow("br1", f, name) for f in c.get("flows1", [])]
            gen = bool(c.get("generate"))
            monitors = []
            if c.get("monitor"):
                # An OpenFlow 1.0 connection on each bridge: table misses then send packet-ins.
                for b in ("br0", "br1"):
                    monitors.append(subprocess.Popen(["ovs-ofctl", "monitor", b], stdout=subprocess.DEVNULL,
                                                     stderr=subprocess.DEVNULL))
                time.sleep(1.0)
            traces = [trace(t, gen) for t in c.get("traces", [])]
            packets = []
            for pkt in c.get("packets", []):
                # A packet is its ODP text (or hex), the OpenFlow flow of its first pass, and the flow a
                # recirculated copy is traced with (its headers as the datapath parses them again).
                pkt, first, base = PACKET_FLOWS.get(pkt, (pkt, TCP, TCP)) if isinstance(pkt, str) else pkt
                run("ovs-appctl", "revalidator/purge")
                run("ovs-appctl", "netdev-dummy/receive", "p1", pkt)
                time.sleep(0.5)
                dump = run("ovs-appctl", "dpctl/dump-flows")
                flows = [re.sub(r", packets:.*?, actions:", ", actions:", line) for line in dump.splitlines()
                         if line.startswith("recirc_id(")]
                resumed = []
                for line in flows:
                    m = re.match(r"recirc_id\((0x[0-9a-f]+)\)", line)
                    if not m:
                        continue
                    h = re.search(r"dp_hash\((0x[0-9a-f]+)", line)
                    flow = f"recirc_id={m.group(1)}" + (f",dp_hash={h.group(1)}" if h else "") + "," + base
                    sweep = []
                    if h and c.get("sweep"):
                        # Every slot of the group's dp_hash map (and 0, which hashes again).
                        for v in range(c["sweep"] + 1):
                            f2 = f"recirc_id={m.group(1)},dp_hash={v:#x},{base}"
                            text = trace(f2, False)["output"]
                            sweep.append({"dp_hash": v, "lines": [x for x in text.splitlines()
                                                                  if x.startswith(("Megaflow:", "Datapath"))]})
                    resumed.append(trace(flow, False) | {"base": base, "sweep": sweep})
                packets.append({"packet": pkt, "flow": first, "dp_flows": flows, "resumed": resumed})
            for mon in monitors:
                mon.terminate()
                mon.wait()
            if monitors:
                time.sleep(0.5)
            for port in c.get("tags", {}):
                run("ovs-vsctl", "clear", "port", port, "tag")
            for port, cfg in c.get("vlan", {}).items():
                run("ovs-vsctl", "clear", "port", port, *cfg)
            cases.append({"name": name, "tags": c.get("tags", {}), "vlan": c.get("vlan", {}), "flows": c["flows"], "versions": versions,
                          "flows1": c.get("flows1", []),
                          "versions1": versions1, "groups": c.get("groups", []), "meters": c.get("meters", []),
                          "generate": gen, "monitor": bool(monitors), "traces": traces, "packets": packets})
        out.write_text(json.dumps({"dp_ports": dp_ports, "cases": cases}, indent=1) + "\n")
    finally:
        subprocess.run([REF, "stop", d], check=False, capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
