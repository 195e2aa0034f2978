#!/usr/bin/env python3
"""Record what Open vSwitch 3.1 does for ``learn`` and ``fin_timeout``, as ground truth for
tests/ofproto/test_learn.py.

Runs a private ovs-vswitchd with the dummy datapath (``/work/shared/tools/ovs-reference start DIR dummy``)
with bridge br0 (datapath_type=dummy, fail-mode=secure) and ports p1..p3 (type=dummy, OpenFlow ports 1..3),
stops its clock (``ovs-appctl time/stop``) so that durations and ages only move with ``time/warp``, and plays
each scenario below on a fresh set of flows (``ovs-ofctl add-flow``, OpenFlow 1.0 + NXM):

* ``trace FLOW`` / ``gen FLOW``: ``ovs-appctl ofproto/trace br0 FLOW`` without / with ``-generate`` (side
  effects on: the learn really happens, fin_timeout really shortens timeouts); the whole output is recorded.
* ``recv PORT PACKET``: ``ovs-appctl netdev-dummy/receive`` of a real packet, then ``revalidator/wait`` so its
  statistics are pushed (which is when Open vSwitch re-runs the learn of a megaflow hit); a trace without side
  effects of the same packet gives its ``Flow:``.
* ``warp S``: ``ovs-appctl time/warp`` by S seconds.
* ``dump T``: ``ovs-ofctl dump-flows br0 table=T``.
* ``del SPEC``: ``ovs-ofctl del-flows br0 SPEC`` (for ``delete_learned``).

``table_limits`` sets a Flow_Table row with ``flow_limit`` and ``overflow_policy=refuse`` on a table.

Usage: python3 tests/data/ofproto/learn/capture.py [OUT.json]   (default: learn_cases.json beside it)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REF = "/work/shared/tools/ovs-reference"
HERE = Path(__file__).resolve().parent

A = "in_port=1,dl_src=00:00:00:00:00:0a,dl_dst=00:00:00:00:00:0b"
A2 = "in_port=2,dl_src=00:00:00:00:00:0a,dl_dst=00:00:00:00:00:0b"
B = "in_port=1,dl_src=00:00:00:00:00:0b,dl_dst=00:00:00:00:00:0a"
C = "in_port=3,dl_src=00:00:00:00:00:0c,dl_dst=00:00:00:00:00:0a"
VL = "in_port=2,dl_vlan=33,dl_vlan_pcp=5,dl_src=00:00:00:00:00:0d,dl_dst=00:00:00:00:00:0a"
IP1 = "in_port=1,dl_src=00:00:00:00:00:0a,ip,nw_src=1.2.3.4,nw_dst=5.6.7.8,nw_tos=32"
IP2 = "in_port=3,dl_src=00:00:00:00:00:0a,ip,nw_src=1.2.3.4,nw_dst=9.9.9.9"
ARP = "in_port=2,dl_src=00:00:00:00:00:0e,arp,arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_op=1"
TCP = ("in_port=1,dl_src=00:00:00:00:12:34,dl_dst=00:00:00:00:56:78,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,"
       "nw_tos=0x48,tcp_src=4321,tcp_dst=80")
TCP6 = "in_port=2,tcp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,tcp_src=1000,tcp_dst=22"
UDP = "in_port=3,udp,nw_src=10.0.0.3,nw_dst=10.0.0.4,udp_src=53,udp_dst=5353"

# Packets for netdev-dummy/receive: (datapath flow to build the frame from, the same in OpenFlow syntax).
PA = (("eth(src=00:00:00:00:00:0a,dst=00:00:00:00:00:0b),eth_type(0x0800),"
      "ipv4(src=1.1.1.1,dst=2.2.2.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2)"),
      ("dl_src=00:00:00:00:00:0a,dl_dst=00:00:00:00:00:0b,udp,nw_src=1.1.1.1,nw_dst=2.2.2.2,nw_ttl=64,"
      "udp_src=1,udp_dst=2"))
PB = (("eth(src=00:00:00:00:00:0b,dst=00:00:00:00:00:0a),eth_type(0x0800),"
      "ipv4(src=2.2.2.2,dst=1.1.1.1,proto=17,tos=0,ttl=64,frag=no),udp(src=2,dst=1)"),
      ("dl_src=00:00:00:00:00:0b,dl_dst=00:00:00:00:00:0a,udp,nw_src=2.2.2.2,nw_dst=1.1.1.1,nw_ttl=64,"
      "udp_src=2,udp_dst=1"))

LEARN_BASIC = ("learn(table=1,idle_timeout=30,hard_timeout=60,NXM_OF_VLAN_TCI[0..11],"
               "NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])")

SCENARIOS: list[dict[str, Any]] = [
    {"name": "basic", "flows": [f"actions={LEARN_BASIC}"],
     "steps": [("trace", A), ("dump", 1), ("gen", A), ("dump", 1), ("warp", 3), ("gen", A), ("warp", 2),
               ("dump", 1), ("gen", A2), ("warp", 1), ("dump", 1), ("gen", B), ("gen", VL), ("warp", 4),
               ("gen", VL), ("dump", 1)]},
    {"name": "options", "flows": [
        ("ip,actions=learn(table=2,idle_timeout=10,hard_timeout=20,fin_idle_timeout=3,fin_hard_timeout=4,"
         "priority=7,cookie=0x55,send_flow_rem,eth_type=0x800,nw_src=nw_dst,ip_dst=10.1.2.3,reg1[0..7]=0x12,"
         "load:NXM_OF_IN_PORT[]->NXM_NX_REG2[0..15],load:0x3->reg3[4..7],output:NXM_OF_IN_PORT[])"),
        "priority=1,actions=learn(table=3)",
        ("priority=2,arp,actions=learn(table=3,priority=0,cookie=0x1,idle_timeout=5,eth_type=0x806,"
         "arp_tpa=arp_spa)")],
     "steps": [("trace", IP1), ("gen", IP1), ("gen", IP2), ("dump", 2), ("gen", A), ("gen", ARP), ("dump", 3),
               ("warp", 2), ("gen", IP1), ("dump", 2)]},
    {"name": "specs", "flows": [
        ("tcp,actions=learn(table=4,eth_type=0x800,nw_proto=6,tcp_dst=tcp_src,"
         "NXM_OF_ETH_DST[0..7]=NXM_OF_ETH_SRC[8..15],NXM_NX_REG5[4..11]=NXM_OF_IP_TOS[0..7],"
         "load:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],load:0xabc->NXM_NX_REG6[0..11],"
         "load:NXM_OF_TCP_SRC[]->NXM_NX_REG7[16..31],output:NXM_NX_REG0[0..15])"),
        ("tcp6,actions=learn(table=5,eth_type=0x86dd,ipv6_src=ipv6_dst,nw_proto=6,tcp_src=tcp_dst,"
         "NXM_NX_IPV6_DST[64..127]=NXM_NX_IPV6_SRC[0..63],output:NXM_NX_REG1[])"),
        ("udp,actions=learn(table=6,dl_type=0x800,nw_proto=17,udp_dst=udp_src,in_port=2,metadata=0x1234,"
         "NXM_NX_REG0[]=NXM_NX_REG1[],NXM_OF_VLAN_TCI[],output:NXM_OF_IN_PORT[])")],
     "steps": [("gen", TCP), ("gen", TCP + ",reg0=0xfffe"),
               ("gen", TCP.replace("4321", "4322") + ",reg0=0xff00"),
               ("gen", TCP.replace("4321", "4323") + ",reg0=0xfff8"), ("dump", 4),
               ("gen", TCP6), ("gen", TCP6 + ",reg1=0x10005"),
               ("gen", TCP6.replace("1000", "1001") + ",reg1=0xfffb"),
               ("gen", TCP6.replace("1000", "1002") + ",reg1=3"), ("dump", 5),
               ("gen", UDP + ",reg1=0xdeadbeef"), ("gen", UDP + ",dl_vlan=7"), ("dump", 6)]},
    {"name": "limit", "flows": [
        ("actions=learn(table=1,cookie=0x7,limit=2,result_dst=reg0[0],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],"
         "output:NXM_OF_IN_PORT[])"),
        ("ip,priority=5,actions=learn(table=2,cookie=0x8,limit=1,eth_type=0x800,"
         "NXM_OF_IP_DST[]=NXM_OF_IP_SRC[],output:in_port)"),
        "table=1,cookie=0x7,priority=1,reg5=1,actions=drop",
        "table=1,cookie=0x8,priority=1,reg5=2,actions=drop"],
     "steps": [("trace", A), ("gen", A), ("gen", B), ("gen", A), ("gen", A2), ("dump", 1), ("gen", IP1),
               ("gen", IP1), ("gen", IP2), ("dump", 2), ("del", "table=1,cookie=0x7/-1,reg5=1"), ("gen", B),
               ("dump", 1)]},
    {"name": "delete_learned", "flows": [
        ("ip,priority=10,actions=learn(table=1,cookie=0x9,delete_learned,"
         "NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])"),
        ("priority=5,actions=learn(table=1,cookie=0x9,delete_learned,NXM_OF_ETH_SRC[],"
         "output:NXM_OF_IN_PORT[])"),
        "priority=7,arp,actions=learn(table=1,cookie=0xa,NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])",
        "table=1,cookie=0x9,priority=1,reg5=1,actions=drop",
        "table=2,cookie=0x9,priority=1,reg5=1,actions=drop"],
     "steps": [("gen", IP1), ("gen", B), ("gen", ARP), ("dump", 1), ("del", "table=0,ip"), ("dump", 1),
               ("del", "table=0"), ("dump", 1), ("dump", 2)]},
    {"name": "fin_timeout", "flows": [
        "tcp,idle_timeout=100,hard_timeout=200,actions=fin_timeout(idle_timeout=5,hard_timeout=10)",
        "priority=40000,tcp,tp_dst=81,idle_timeout=3,actions=fin_timeout(idle_timeout=5,hard_timeout=10)",
        "udp,idle_timeout=100,actions=fin_timeout(idle_timeout=5)",
        "priority=1,actions=fin_timeout(hard_timeout=7)"],
     "steps": [("gen", TCP + ",tcp_flags=syn"), ("dump", 0), ("trace", TCP + ",tcp_flags=fin"), ("dump", 0),
               ("gen", TCP + ",tcp_flags=rst|ack"), ("dump", 0),
               ("gen", TCP.replace("=80", "=81") + ",tcp_flags=fin"),
               ("gen", UDP), ("gen", ARP), ("dump", 0)]},
    {"name": "packets", "flows": [
        ("actions=learn(table=1,hard_timeout=60,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),"
         "resubmit(,1)")],
     "steps": [("recv", ["p1", PA]), ("warp", 2), ("recv", ["p2", PB]), ("recv", ["p2", PB]), ("warp", 2),
               ("dump", 1), ("recv", ["p1", PA]), ("warp", 1), ("dump", 1), ("recv", ["p3", PA]), ("warp", 1),
               ("dump", 1)]},
    {"name": "modify_keeps_timeouts", "flows": [
        ("priority=10,ip,actions=learn(table=1,idle_timeout=10,send_flow_rem,"
         "NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[])"),
        ("priority=5,actions=learn(table=1,idle_timeout=20,hard_timeout=30,cookie=0x3,"
         "NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])")],
     "steps": [("gen", IP1), ("warp", 1), ("gen", A), ("warp", 1), ("dump", 1), ("gen", IP1), ("warp", 1),
               ("dump", 1)]},
    {"name": "table_full", "table_limits": {"1": 1}, "flows": [f"actions={LEARN_BASIC}"],
     "steps": [("gen", A), ("gen", B), ("gen", A2), ("dump", 1)]},
]


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "learn_cases.json"
    d = tempfile.mkdtemp(prefix="lmh-learn-")
    env = dict(os.environ, OVS_RUNDIR=d, OVS_DBDIR=d, OVS_LOGDIR=d, OVS_SYSCONFDIR=d)

    def run(*args: str) -> str:
        p = subprocess.run(list(args), env=env, capture_output=True, text=True, check=False)
        if p.returncode:
            sys.exit(f"{' '.join(args)}: {p.stderr}")
        return p.stdout

    try:
        subprocess.run([REF, "start", d, "dummy"], env=env, check=True, capture_output=True)
        run("ovs-vsctl", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
            "fail-mode=secure")
        for i in range(1, 4):
            run("ovs-vsctl", "add-port", "br0", f"p{i}", "--", "set", "interface", f"p{i}", "type=dummy",
                f"ofport_request={i}")
        run("ovs-appctl", "time/stop")
        results = []
        for sc in SCENARIOS:
            run("ovs-vsctl", "clear", "bridge", "br0", "flow_tables")
            for table, limit in sc.get("table_limits", {}).items():
                run("ovs-vsctl", "--", "--id=@ft", "create", "Flow_Table", f"flow_limit={limit}",
                    "overflow_policy=refuse", "--", "set", "bridge", "br0", f"flow_tables:{table}=@ft")
            run("ovs-ofctl", "del-flows", "br0")
            for f in sc["flows"]:
                run("ovs-ofctl", "add-flow", "br0", f)
            steps = []
            for op, arg in sc["steps"]:
                step: dict[str, Any] = {"op": op, "arg": arg}
                if op in ("trace", "gen"):
                    step["output"] = run("ovs-appctl", "ofproto/trace", "br0", arg,
                                         *(["-generate"] if op == "gen" else []))
                elif op == "recv":
                    # A real packet: upcall (or datapath flow hit) and, with revalidator/wait, the statistics
                    # push that refreshes learned flows.  The OpenFlow "Flow:" of the same packet is recorded
                    # by a trace without side effects.
                    port, (odp, of) = arg
                    in_port = f"in_port={port[1:]},"
                    step["output"] = run("ovs-appctl", "ofproto/trace", "br0", in_port + of)
                    run("ovs-appctl", "netdev-dummy/receive", port, odp)
                    run("ovs-appctl", "revalidator/wait")
                elif op == "warp":
                    run("ovs-appctl", "time/warp", str(int(arg * 1000)))
                elif op == "dump":
                    step["output"] = run("ovs-ofctl", "dump-flows", "br0", f"table={arg}")
                elif op == "del":
                    run("ovs-ofctl", "del-flows", "br0", arg)
                steps.append(step)
            results.append({"name": sc["name"], "flows": sc["flows"],
                            "table_limits": sc.get("table_limits", {}), "steps": steps})
        out.write_text(json.dumps({"scenarios": results}, indent=1) + "\n")
    finally:
        subprocess.run([REF, "stop", d], env=env, check=False, capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
