"""``make demo``: the flow library end to end, on this machine, without root.

What a packet meets inside pyvswitch before any port exists: flows written in ovs-ofctl syntax are parsed into
flow-mods and installed in the OpenFlow tables; frames are built, their flow keys extracted, and each key is looked
up in the classifier, which also reports the bits it had to examine.  Those bits are what a megaflow will match
once the datapath exists: the demo prints them as a match, so one can see how wide the cached decision would be.
Then the same in a running switch, over OpenFlow: a private ``pyvs-vswitchd`` (its own run directory, dummy
ports, nothing touched on the host) gets a bridge from ``pyvs-vsctl`` and flows, a group and a meter from
``pyvs-ofctl`` through the bridge's ``br0.mgmt`` socket; ``pyvs-ofctl`` shows what the switch reports, then the
daemon is stopped and its directory removed.  Later issues replace this with namespaces, ports and real traffic.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

from pyvswitch.flow import fields as F
from pyvswitch.flow.extract import extract
from pyvswitch.flow.flow_format import format_flow
from pyvswitch.flow.match import Match, Wildcards
from pyvswitch.flow.match_text import format_match
from pyvswitch.ofproto.actions import format_actions
from pyvswitch.ofproto.flow_mod_text import parse_flow_mod
from pyvswitch.ofproto.table import FlowTables
from pyvswitch.packet import build
from pyvswitch.util.clock import ManualClock

FLOWS = [
    "table=0,priority=100,in_port=1,dl_type=0x0806,actions=normal",
    "table=0,priority=90,tcp,nw_dst=10.0.0.0/8,tp_dst=22,actions=drop",
    "table=0,priority=80,ip,nw_dst=10.0.0.0/8,actions=resubmit(,1)",
    "table=0,priority=70,ipv6,actions=output:3",
    "table=0,priority=0,actions=controller(max_len=128)",
    "table=1,priority=10,udp,tp_dst=53,actions=set_field:7->reg0,output:2",
    "table=1,priority=0,idle_timeout=30,actions=output:4",
]

PACKETS = [
    ("ARP request from port 1", 1, build.arp_request_frame(spa="10.0.0.1", tpa="10.0.0.2")),
    ("TCP to 10.1.2.3:22", 2, build.tcp4_frame(ip_dst="10.1.2.3", dport=22)),
    ("TCP to 10.1.2.3:80", 2, build.tcp4_frame(ip_dst="10.1.2.3", dport=80)),
    ("UDP DNS to 10.9.9.9", 2, build.udp4_frame(ip_dst="10.9.9.9", dport=53)),
    ("UDP to 192.168.1.1", 2, build.udp4_frame(ip_dst="192.168.1.1", dport=53)),
    ("ICMPv6 echo", 5, build.icmp6_echo_frame()),
]


def main() -> int:
    t0 = time.monotonic()
    clock = ManualClock()
    tables = FlowTables(clock=clock)
    print("== Installing flows written in ovs-ofctl syntax")
    fms = [parse_flow_mod(line).fm for line in FLOWS]
    tables.apply(fms)
    for rule in tables.dump():
        print(f"  table={rule.table_id} {format_match(rule.match, rule.priority) or '(all)'} "
              f"actions={format_actions(list(rule.actions))}")

    print("\n== Packets: extracted flow, matching rule in each table visited, bits examined")
    lookups = 0
    for title, in_port, frame in PACKETS:
        key = extract(frame, in_port)
        print(f"\n-- {title} ({len(frame)} bytes)")
        print(f"  Flow: {format_flow(key)}")
        table_id = 0
        wc = Wildcards()
        while True:
            rule = tables.lookup(table_id, key, wc)
            lookups += 1
            if rule is None:
                print(f"  table {table_id}: no match (drop)")
                break
            print(f"  table {table_id}: priority={rule.priority} {format_match(rule.match) or '(all)'} "
                  f"-> {format_actions(list(rule.actions))}")
            tables.record_hit(rule, 1, len(frame), clock.now())
            resubmit = [a for a in rule.actions if type(a).__name__ == "Resubmit"]
            if not resubmit:
                break
            table_id = resubmit[0].table_id
        # The bits any packet must share with this one to get the same decisions: a megaflow's match.
        wc.add(F.field("in_port").key_mask)
        print(f"  examined: {format_match(Match(key & wc.mask, wc.mask))}")

    print("\n== Idle timeout, on an injected clock")
    clock.advance(31)
    expired = tables.expire(clock.now())
    for removed in expired:
        print(f"  expired after 30 s idle: table={removed.rule.table_id} "
              f"{format_match(removed.rule.match, removed.rule.priority) or '(all)'} ({removed.reason.name})")

    rules = sum(1 for _ in tables.dump())
    switch_flows = openflow_demo()
    print(f"\nSummary: {len(FLOWS)} flows installed, {len(PACKETS)} packets classified with {lookups} table "
          f"lookups, {len(expired)} flow expired, {rules} rules left; a running switch programmed over OpenFlow "
          f"holds {switch_flows} flows; {time.monotonic() - t0:.2f} s. The daemon was stopped and its run "
          "directory removed; nothing else was created on the host.")
    return 0


def openflow_demo() -> int:
    """A private pyvs-vswitchd programmed with pyvs-ofctl; returns the number of flows it ends with."""
    bindir = os.path.dirname(sys.executable)
    rundir = tempfile.mkdtemp(prefix="pyvs-demo-")
    env = dict(os.environ, PYVS_RUNDIR=rundir)

    def run(*argv: str, show: bool = True) -> str:
        out = subprocess.run([os.path.join(bindir, argv[0]), *argv[1:]], env=env, capture_output=True, text=True,
                             check=False,
                             timeout=60)
        if show:
            print(f"  $ {' '.join(argv)}")
            for line in (out.stdout + out.stderr).splitlines():
                print(f"    {line}")
        return out.stdout

    print("\n== A running switch, programmed over OpenFlow")
    daemon = subprocess.Popen([os.path.join(bindir, "pyvs-vswitchd"), "--rundir", rundir, "--no-fsync",
                               "--enable-dummy=override"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(150):
            if os.path.exists(os.path.join(rundir, "db.sock")):
                break
            time.sleep(0.1)
        run("pyvs-vsctl", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy", "--",
            "add-port", "br0", "p1", "--", "set", "interface", "p1", "type=dummy", "ofport_request=1", "--",
            "add-port", "br0", "p2", "--", "set", "interface", "p2", "type=dummy", "ofport_request=2")
        for _ in range(100):
            if os.path.exists(os.path.join(rundir, "br0.mgmt")):
                break
            time.sleep(0.1)
        run("pyvs-ofctl", "-O", "OpenFlow13", "show", "br0")
        run("pyvs-ofctl", "-O", "OpenFlow13", "add-group", "br0", "group_id=1,type=all,bucket=output:1,"
            "bucket=output:2")
        run("pyvs-ofctl", "-O", "OpenFlow13", "add-meter", "br0", "meter=1,kbps,bands=type=drop,rate=1000")
        run("pyvs-ofctl", "-O", "OpenFlow13", "add-flow", "br0", "priority=10,in_port=1,actions=meter:1,output:2")
        run("pyvs-ofctl", "-O", "OpenFlow13", "add-flow", "br0", "priority=10,arp,actions=group:1")
        run("pyvs-ofctl", "-O", "OpenFlow13", "add-flow", "br0", "priority=5,actions=group:99")
        print("\n== Packets through the datapath (dummy ports): upcalls, megaflows, statistics")
        pkt = ("in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),"
               "ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src={},dst=53)")
        run("pyvs-appctl", "netdev-dummy/receive", "p1", *(pkt.format(port) for port in (1000, 1001, 1002)))
        run("pyvs-appctl", "netdev-dummy/receive", "p2",
            "in_port(2),eth(src=50:54:00:00:00:02,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),"
            "arp(sip=10.0.0.2,tip=10.0.0.1,op=1,sha=50:54:00:00:00:02,tha=00:00:00:00:00:00)")
        run("pyvs-appctl", "revalidator/wait")
        run("pyvs-appctl", "dpctl/dump-flows")
        run("pyvs-appctl", "dpif/show")
        run("pyvs-appctl", "ofproto/trace", "br0", "in_port=1,udp,nw_dst=10.0.0.2,tp_dst=53")
        run("pyvs-ofctl", "-O", "OpenFlow13", "dump-flows", "br0")
        run("pyvs-ofctl", "-O", "OpenFlow13", "dump-groups", "br0")
        run("pyvs-ofctl", "-O", "OpenFlow13", "dump-meters", "br0")
        out = run("pyvs-ofctl", "-O", "OpenFlow13", "--no-stats", "dump-flows", "br0", show=False)
        return len(out.splitlines())
    finally:
        daemon.terminate()
        daemon.wait(10)
        shutil.rmtree(rundir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
