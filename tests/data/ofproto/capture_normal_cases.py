#!/usr/bin/env python3
"""Capture what Open vSwitch's NORMAL action does, as ground truth for tests/ofproto/test_normal.py.

Runs a private ovs-vswitchd with the dummy datapath (``/work/shared/tools/ovs-reference start DIR dummy``),
builds bridge br0 with ports p1..p5 (type=dummy, OpenFlow ports 1..5) and the single flow ``actions=NORMAL``,
and for each port configuration below (access, trunk and native ports, trunk lists, flood_vlans, no-flood,
no-forward, down, priority tags, a mirror output port) sends a sequence of frames through ``ovs-appctl
ofproto/trace -generate`` (which translates with side effects, so the bridge learns source MACs as a received
packet would).  For each frame it records the trace's "Megaflow:" and "Datapath actions:" lines and NORMAL's
report lines; after each phase it records ``fdb/show``.  ``dpif/show`` gives the OpenFlow -> datapath port
numbering.

Usage: python3 tests/data/ofproto/capture_normal_cases.py [OUT.json]   (default: normal_cases.json beside it)
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

# Each configuration: per port the ovs-vsctl Port columns, the OpenFlow port config flags (ovs-ofctl
# mod-port), and the bridge's flood_vlans and other_config:forward-bpdu.
CONFIGS: list[dict] = [
    {"name": "A", "flood_vlans": [],
     "ports": {"p1": {"tag": 10},
               "p2": {"trunks": [10, 20]},
               "p3": {"vlan_mode": "native-untagged", "tag": 20},
               "p4": {"vlan_mode": "native-tagged", "tag": 10, "trunks": [20, 30]},
               "p5": {}}},
    {"name": "B", "flood_vlans": [20],
     "ports": {"p1": {},
               "p2": {"tag": 20},
               "p3": {"vlan_mode": "native-untagged", "tag": 10, "trunks": [20, 30]},
               "p4": {"vlan_mode": "native-tagged", "tag": 20},
               "p5": {"tag": 30, "no_flood": True}}},
    {"name": "C", "flood_vlans": [], "forward_bpdu": True,
     "ports": {"p1": {"vlan_mode": "trunk", "tag": 10, "trunks": [0, 10]},
               "p2": {"vlan_mode": "access"},
               "p3": {"vlan_mode": "native-untagged", "trunks": [10]},
               "p4": {"vlan_mode": "native-tagged", "tag": 10, "trunks": [0, 10]},
               "p5": {"tag": 10, "trunks": [20], "no_fwd": True}}},
    {"name": "D", "flood_vlans": [],
     "ports": {"p1": {},
               "p2": {"tag": 10, "priority_tags": "always"},
               "p3": {"vlan_mode": "native-untagged", "tag": 20, "priority_tags": "if-nonzero"},
               "p4": {"tag": 10, "mirror_output": True},
               "p5": {"tag": 10, "down": True}}},
]

# How a host's frames are tagged: (name, vid or None for untagged, pcp).
VARIANTS = [("u", None, 0), ("p", 0, 3), ("10", 10, 0), ("20", 20, 5), ("30", 30, 0), ("p0", 0, 0)]
BCAST = "ff:ff:ff:ff:ff:ff"


def host_mac(port: int, vi: int) -> str:
    return f"02:00:00:00:{port:02x}:{vi:02x}"


def flow_text(port: int, vid: int | None, pcp: int, src: str, dst: str, extra: str = "") -> str:
    vlan = "" if vid is None else f"dl_vlan={vid},dl_vlan_pcp={pcp},"
    return f"in_port={port},{vlan}dl_src={src},dl_dst={dst}" + (f",{extra}" if extra else "")


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def trace(flow: str) -> dict:
    out = run("ovs-appctl", "ofproto/trace", "br0", flow, "-generate")
    megaflow = re.search(r"^Megaflow: (.*)$", out, re.MULTILINE)
    actions = re.search(r"^Datapath actions: (.*)$", out, re.MULTILINE)
    notes = [ln.strip().lstrip(">- ").rstrip(" <") for ln in out.splitlines()
             if ln.strip()[:2] in ("->", ">>")]
    assert megaflow and actions, out
    return {"flow": flow, "megaflow": megaflow.group(1), "actions": actions.group(1), "notes": notes}


def fdb() -> list[list]:
    rows = run("ovs-appctl", "fdb/show", "br0").splitlines()[1:]
    out = []
    for r in rows:
        port, vlan, mac, _age = r.split()
        out.append([65534 if port == "LOCAL" else int(port), int(vlan), mac])
    return sorted(out)


def configure(cfg: dict) -> None:
    run("ovs-vsctl", "clear", "bridge", "br0", "mirrors")
    for name in ("p1", "p2", "p3", "p4", "p5"):
        pc = cfg["ports"][name]
        run("ovs-vsctl", "clear", "port", name, "tag", "trunks", "vlan_mode", "other_config")
        sets = []
        if "priority_tags" in pc:
            sets.append(f"other_config:priority-tags={pc['priority_tags']}")
        if "tag" in pc:
            sets.append(f"tag={pc['tag']}")
        if "trunks" in pc:
            sets.append("trunks=" + ",".join(map(str, pc["trunks"])))
        if "vlan_mode" in pc:
            sets.append(f"vlan_mode={pc['vlan_mode']}")
        if sets:
            run("ovs-vsctl", "set", "port", name, *sets)
        run("ovs-ofctl", "mod-port", "br0", name, "no-flood" if pc.get("no_flood") else "flood")
        run("ovs-ofctl", "mod-port", "br0", name, "no-forward" if pc.get("no_fwd") else "forward")
        run("ovs-ofctl", "mod-port", "br0", name, "down" if pc.get("down") else "up")
        if pc.get("mirror_output"):
            # A mirror that selects a VLAN no case uses: its output port is reserved, nothing gets mirrored.
            run("ovs-vsctl", "--", "--id=@p", "get", "port", name, "--", "--id=@m", "create", "mirror",
                f"name=m{name}", "select_vlan=999", "output-port=@p",
                "--", "set", "bridge", "br0", "mirrors=@m")
    if cfg["flood_vlans"]:
        run("ovs-vsctl", "set", "bridge", "br0", "flood_vlans=" + ",".join(map(str, cfg["flood_vlans"])))
    else:
        run("ovs-vsctl", "clear", "bridge", "br0", "flood_vlans")
    run("ovs-vsctl", "set", "bridge", "br0",
        f"other_config:forward-bpdu={'true' if cfg.get('forward_bpdu') else 'false'}")
    run("ovs-appctl", "fdb/flush", "br0")


def capture_config(cfg: dict) -> dict:
    configure(cfg)
    hosts = [(p, vi, vid, pcp) for p in range(1, 6) for vi, (_, vid, pcp) in enumerate(VARIANTS)]
    phases: list[dict] = []

    # Phase 1: every host broadcasts (learning its address where admitted), then sends to an unknown unicast
    # and a multicast address.
    steps = []
    for p, vi, vid, pcp in hosts:
        src = host_mac(p, vi)
        steps.append(trace(flow_text(p, vid, pcp, src, BCAST)))
        steps.append(trace(flow_text(p, vid, pcp, src, "02:99:00:00:00:01")))
        steps.append(trace(flow_text(p, vid, pcp, src, "01:00:5e:00:00:fb")))
    phases.append({"name": "broadcast", "steps": steps, "fdb": fdb()})

    # Phase 2: ARP (broadcast requests, gratuitous or not, a broadcast reply, a unicast request).
    steps = []
    for p, vi, vid, pcp in hosts[::3]:
        src = host_mac(p, vi)
        for dst, extra in ((BCAST, "arp,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.1"),
                           (BCAST, "arp,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.2"),
                           (BCAST, "arp,arp_op=2,arp_spa=10.0.0.1,arp_tpa=10.0.0.2"),
                           (BCAST, "arp,arp_op=3,arp_spa=10.0.0.1,arp_tpa=10.0.0.2"),
                           ("02:99:00:00:00:02", "arp,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.1")):
            steps.append(trace(flow_text(p, vid, pcp, src, dst, extra)))
    phases.append({"name": "arp", "steps": steps, "fdb": fdb()})

    # Phase 3: every host to the untagged, VLAN 10 and VLAN 20 hosts of every port (known destinations, the
    # input port, other VLANs); the PCP 0 priority-tagged hosts to one port's only.
    steps = []
    for p, vi, vid, pcp in hosts:
        for q, wi, _, _ in hosts:
            if VARIANTS[wi][0] not in ("u", "10", "20") or (VARIANTS[vi][0] == "p0" and q != p % 5 + 1):
                continue
            steps.append(trace(flow_text(p, vid, pcp, host_mac(p, vi), host_mac(q, wi))))
    phases.append({"name": "unicast", "steps": steps, "fdb": fdb()})

    # Phase 4: hosts move to another port, then are reached there.
    steps = []
    for p, vi, vid, pcp in hosts[::2]:
        q = p % 5 + 1
        steps.append(trace(flow_text(q, vid, pcp, host_mac(p, vi), BCAST)))
        steps.append(trace(flow_text(p % 5 + 1 if p != 3 else 1, vid, pcp, "02:00:00:00:00:77",
                                     host_mac(p, vi))))
    phases.append({"name": "move", "steps": steps, "fdb": fdb()})

    # Phase 5: reserved destinations, partial VLAN tags, frames from LOCAL, a static entry on each port.
    steps = []
    src = "02:00:00:00:00:88"
    for dst in ("01:80:c2:00:00:00", "01:80:c2:00:00:0e", "01:80:c2:00:00:10", "01:00:0c:cc:cc:cc",
                "01:00:0c:cc:cc:c3", "01:00:0c:cc:cc:c8", "01:00:0c:cd:cd:cd", "01:00:0c:00:00:00"):
        steps.append(trace(flow_text(1, None, 0, src, dst)))
        steps.append(trace(flow_text(2, None, 0, src, dst)))
    steps.append(trace(f"in_port=1,vlan_tci=0x0005,dl_src={src},dl_dst={BCAST},dl_type=0x8100"))
    steps.append(trace(f"in_port=2,vlan_tci=0x0000,dl_src={src},dl_dst={BCAST},dl_type=0x8100"))
    for vid, pcp in ((None, 0), (10, 0), (20, 6), (0, 2)):
        steps.append(trace(flow_text(1, vid, pcp, src, BCAST).replace("in_port=1", "in_port=LOCAL")))
    for q in range(1, 6):
        for vlan in (0, 10, 20):
            mac = f"02:00:00:00:44:{q:02x}"
            run("ovs-appctl", "fdb/add", "br0", f"p{q}", str(vlan), mac)
            steps.append({"fdb_add": [q, vlan, mac]})
            for p in (q % 5 + 1, q):
                for vid in (None, vlan or 20):
                    steps.append(trace(flow_text(p, vid, 0, src, mac)))
    phases.append({"name": "special", "steps": steps, "fdb": fdb()})
    return {"name": cfg["name"], "flood_vlans": cfg["flood_vlans"],
            "forward_bpdu": cfg.get("forward_bpdu", False), "ports": cfg["ports"], "phases": phases}


def dp_ports() -> dict[str, int]:
    """OpenFlow port -> datapath port, from dpif/show ("    p1 1/1: (dummy)")."""
    out: dict[str, int] = {}
    for m in re.finditer(r"^\s+(\S+) (\d+)/(\d+):", run("ovs-appctl", "dpif/show"), re.MULTILINE):
        out[m.group(2)] = int(m.group(3))
    return out


def dump(data: dict) -> str:
    """JSON with one trace per line, so that a recapture's diff shows which cases changed."""
    def enc(x: object) -> str:
        return json.dumps(x, sort_keys=True)

    lines = ["{", f'"ovs_version": {enc(data["ovs_version"])},', f'"dp_ports": {enc(data["dp_ports"])},',
             '"configs": [']
    for i, c in enumerate(data["configs"]):
        head = {k: v for k, v in c.items() if k != "phases"}
        lines.append(enc(head)[:-1] + ', "phases": [')
        for j, ph in enumerate(c["phases"]):
            lines.append(f'{{"name": {enc(ph["name"])}, "fdb": {enc(ph["fdb"])}, "steps": [')
            lines.append(",\n".join(enc(s) for s in ph["steps"]))
            lines.append("]}" + ("," if j < len(c["phases"]) - 1 else ""))
        lines.append("]}" + ("," if i < len(data["configs"]) - 1 else ""))
    lines.append("]}")
    return "\n".join(lines) + "\n"


def main() -> None:
    dest = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "normal_cases.json"
    d = tempfile.mkdtemp(prefix="ovs-normal-")
    env_out = run(REF, "env", d)
    for k, v in re.findall(r"(\w+)=(\S+)", env_out):
        os.environ[k] = v
    try:
        subprocess.run([REF, "start", d, "dummy"], check=True, capture_output=True)
        run("ovs-vsctl", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
            "fail-mode=secure")
        for i in range(1, 6):
            run("ovs-vsctl", "add-port", "br0", f"p{i}", "--", "set", "interface", f"p{i}", "type=dummy",
                f"ofport_request={i}")
        run("ovs-ofctl", "add-flow", "br0", "actions=NORMAL")
        version = run("ovs-vswitchd", "--version").splitlines()[0]
        data = {"ovs_version": version, "dp_ports": dp_ports(),
                "configs": [capture_config(c) for c in CONFIGS]}
    finally:
        subprocess.run([REF, "stop", d], check=False, capture_output=True)
        shutil.rmtree(d, ignore_errors=True)
    dest.write_text(dump(data))
    n = sum(len(p["steps"]) for c in data["configs"] for p in c["phases"])
    print(f"{dest}: {n} traces")


if __name__ == "__main__":
    main()
