#!/usr/bin/env python3
"""Record what Open vSwitch 3.1 chooses for ``multipath`` and ``bundle_load``, as ground truth for
tests/ofproto/test_multipath.py.

Runs a private ovs-vswitchd with the dummy datapath (``/work/shared/tools/ovs-reference start DIR dummy``)
with bridge br0 (datapath_type=dummy, fail-mode=secure) and ports p1..p4 (type=dummy, OpenFlow ports 1..4),
then:

* ``links``: one flow whose actions are many ``multipath(...)`` into reg0, every hash field set and algorithm
  with several bases, link counts and args; ``ovs-appctl ofproto/trace`` of each packet prints the link each
  action wrote (``-> NXM_NX_REG0[] is now N``).
* ``qinq``: the same for double-tagged packets, traced as datapath flows (``ofproto/trace ovs-dummy ODP``)
  with ``other_config:vlan-limit=2``.
* ``wildcards``: for each hash field set, a flow with that one ``multipath`` (and, separately, ``bundle_load``
  hrw / active_backup / one-member hrw) and the ``Megaflow:`` line of each packet; ``baseline`` is the
  megaflow with ``actions=drop``, what any translation pins.
* ``bundle``: one flow with many ``bundle_load(...)`` into reg0, traced with the ports in several up/down
  states (``ovs-ofctl mod-port br0 pN down``).

The packets are pseudo-random (fixed seed) over the kinds the hashes treat differently: TCP, UDP, SCTP, ICMP,
other IP protocols, fragments, VLAN-tagged, IPv6 (TCP/UDP/ICMPv6), ARP and non-IP.  Each record keeps OVS's
own ``Flow:`` line, which the test parses into the flow key.

Usage: python3 tests/data/ofproto/multipath/capture.py [OUT.json]   (default: multipath_cases.json beside it)
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REF = "/work/shared/tools/ovs-reference"
HERE = Path(__file__).resolve().parent

FIELDS = ["eth_src", "symmetric_l4", "symmetric_l3l4", "symmetric_l3l4+udp", "nw_src", "nw_dst",
          "symmetric_l3"]
ALGS = ["modulo_n", "hash_threshold", "hrw", "iter_hash"]
# (basis, n_links, arg) per field set and algorithm.
VARIANTS = [(0, 2, 0), (7, 5, 0), (65535, 16, 20), (50, 7, 3), (1, 100, 0), (9, 1, 0), (3, 6, 1000)]
BUNDLES = [
    f"bundle_load({f},{b},{alg},ofport,NXM_NX_REG0[],members:{m})"
    for f in FIELDS
    for alg in ("hrw", "active_backup")
    for b, m in ((0, "1,2,3,4"), (77, "4,3,2,1,9"), (5, "2"))
]
PORT_STATES = [[], ["p2"], ["p1", "p3"], ["p1", "p2", "p3", "p4"], ["p4"]]


def _mac(r: random.Random) -> str:
    return ":".join(f"{r.randrange(256):02x}" for _ in range(6))


def _ip(r: random.Random) -> str:
    return ".".join(str(r.randrange(256)) for _ in range(4))


def _ip6(r: random.Random) -> str:
    return "2001:db8:" + ":".join(f"{r.randrange(65536):x}" for _ in range(6))


def packets(n: int = 60) -> list[str]:
    r = random.Random(20261125)
    kinds = ["tcp", "udp", "sctp", "icmp", "ip47", "frag_first", "frag_later", "vlan_tcp", "tcp6", "udp6",
             "icmp6", "arp", "nonip", "udp_frag"]
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        eth = f"in_port={1 + i % 4},dl_src={_mac(r)},dl_dst={_mac(r)}"
        s, d = _ip(r), _ip(r)
        ps, pd = r.randrange(65536), r.randrange(65536)
        if kind == "tcp":
            out.append(f"{eth},tcp,nw_src={s},nw_dst={d},tcp_src={ps},tcp_dst={pd}")
        elif kind == "udp":
            out.append(f"{eth},udp,nw_src={s},nw_dst={d},udp_src={ps},udp_dst={pd}")
        elif kind == "sctp":
            out.append(f"{eth},sctp,nw_src={s},nw_dst={d},sctp_src={ps},sctp_dst={pd}")
        elif kind == "icmp":
            out.append(f"{eth},icmp,nw_src={s},nw_dst={d},icmp_type={ps % 256},icmp_code={pd % 16}")
        elif kind == "ip47":
            out.append(f"{eth},ip,nw_proto=47,nw_src={s},nw_dst={d}")
        elif kind == "frag_first":
            out.append(f"{eth},tcp,nw_src={s},nw_dst={d},ip_frag=first,tcp_src={ps},tcp_dst={pd}")
        elif kind == "frag_later":
            out.append(f"{eth},tcp,nw_src={s},nw_dst={d},ip_frag=later")
        elif kind == "udp_frag":
            out.append(f"{eth},udp,nw_src={s},nw_dst={d},ip_frag=first,udp_src={ps},udp_dst={pd}")
        elif kind == "vlan_tcp":
            out.append(f"{eth},dl_vlan={r.randrange(4096)},dl_vlan_pcp={r.randrange(8)},tcp,nw_src={s},"
                       f"nw_dst={d},tcp_src={ps},tcp_dst={pd}")
        elif kind == "tcp6":
            out.append(f"{eth},tcp6,ipv6_src={_ip6(r)},ipv6_dst={_ip6(r)},tcp_src={ps},tcp_dst={pd}")
        elif kind == "udp6":
            out.append(f"{eth},udp6,ipv6_src={_ip6(r)},ipv6_dst={_ip6(r)},udp_src={ps},udp_dst={pd}")
        elif kind == "icmp6":
            out.append(f"{eth},icmp6,ipv6_src={_ip6(r)},ipv6_dst={_ip6(r)},icmpv6_type=128,icmpv6_code=0")
        elif kind == "arp":
            out.append(f"{eth},arp,arp_spa={s},arp_tpa={d},arp_op={1 + ps % 2}")
        else:
            out.append(f"{eth},dl_type=0x{0x88b5 + ps % 3:04x}")
    return out


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "multipath_cases.json"
    d = tempfile.mkdtemp(prefix="lmh-mp-")
    env = dict(os.environ, OVS_RUNDIR=d, OVS_DBDIR=d, OVS_LOGDIR=d, OVS_SYSCONFDIR=d)

    def run(*args: str) -> str:
        p = subprocess.run(list(args), env=env, capture_output=True, text=True, check=False)
        if p.returncode:
            sys.exit(f"{' '.join(args)}: {p.stderr}")
        return p.stdout

    def trace(flow: str) -> str:
        return run("ovs-appctl", "ofproto/trace", "br0", flow)

    def set_flow(actions: str) -> None:
        run("ovs-ofctl", "del-flows", "br0")
        run("ovs-ofctl", "add-flow", "br0", f"actions={actions}")

    def line(text: str, label: str) -> str:
        m = re.search(rf"^{label}: (.*)$", text, re.MULTILINE)
        if m is None:
            sys.exit(f"no {label} line in\n{text}")
        return m.group(1)

    def flow_line(text: str) -> str:
        return line(text, "Flow")

    def megaflow(text: str) -> str:
        return line(text, "Megaflow")

    def values(text: str) -> list[str]:
        return re.findall(r"^\s+-> NXM_NX_REG0\[\] is now (\S+)$", text, re.MULTILINE)

    try:
        subprocess.run([REF, "start", d, "dummy"], env=env, check=True, capture_output=True)
        run("ovs-vsctl", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
            "fail-mode=secure")
        for i in range(1, 5):
            run("ovs-vsctl", "add-port", "br0", f"p{i}", "--", "set", "interface", f"p{i}", "type=dummy",
                f"ofport_request={i}")
        pkts = packets()

        # Links.
        mp_actions = [f"multipath({f},{b},{alg},{n},{a},NXM_NX_REG0[])"
                      for f in FIELDS for alg in ALGS for b, n, a in VARIANTS]
        set_flow(",".join(mp_actions))
        links = []
        for p in pkts:
            t = trace(p)
            v = values(t)
            if len(v) != len(mp_actions):
                sys.exit(f"multipath trace of {p}: {len(v)} values\n{t}")
            links.append({"flow": flow_line(t), "links": [int(x, 0) for x in v]})

        # Double-tagged (QinQ) packets: the symmetric_l4 hash XORs both VLAN IDs.  Text flows cannot give a
        # second tag, so these are traced as datapath flows with vlan-limit=2.
        run("ovs-vsctl", "set", "Open_vSwitch", ".", "other_config:vlan-limit=2")
        r = random.Random(7)
        qinq = []
        for _ in range(8):
            proto, l4 = r.choice([(6, "tcp"), (17, "udp")])
            odp = (f"in_port(1),eth(src={_mac(r)},dst={_mac(r)}),eth_type(0x88a8),"
                   f"vlan(vid={r.randrange(4096)},pcp={r.randrange(8)}),encap(eth_type(0x8100),"
                   f"vlan(vid={r.randrange(4096)},pcp={r.randrange(8)}),encap(eth_type(0x0800),"
                   f"ipv4(src={_ip(r)},dst={_ip(r)},proto={proto},tos=0,ttl=64,frag=no),"
                   f"{l4}(src={r.randrange(65536)},dst={r.randrange(65536)})))")
            t = run("ovs-appctl", "ofproto/trace", "ovs-dummy", odp)
            v = values(t)
            if len(v) != len(mp_actions):
                sys.exit(f"multipath trace of {odp}: {len(v)} values\n{t}")
            qinq.append({"flow": flow_line(t), "links": [int(x, 0) for x in v]})
        run("ovs-vsctl", "remove", "Open_vSwitch", ".", "other_config", "vlan-limit")

        # Wildcards.
        set_flow("drop")
        baseline = [megaflow(trace(p)) for p in pkts]
        wc_cases = []
        wc_actions = ([f"multipath({f},5,hrw,4,0,NXM_NX_REG0[])" for f in FIELDS]
                      + [f"bundle_load({f},5,hrw,ofport,NXM_NX_REG0[],members:1,2,3)" for f in FIELDS]
                      + ["bundle_load(symmetric_l4,5,active_backup,ofport,NXM_NX_REG0[],members:1,2,3)",
                         "bundle_load(symmetric_l4,5,hrw,ofport,NXM_NX_REG0[],members:2)",
                         "multipath(symmetric_l4,5,hrw,4,0,NXM_NX_REG0[0..1])"])
        for a in wc_actions:
            set_flow(a)
            wc_cases.append({"action": a, "megaflows": [megaflow(trace(p)) for p in pkts]})

        # Bundles.
        set_flow(",".join(BUNDLES))
        bundle = []
        for down in PORT_STATES:
            for i in range(1, 5):
                run("ovs-ofctl", "mod-port", "br0", f"p{i}", "down" if f"p{i}" in down else "up")
            rows = []
            for p in pkts:
                t = trace(p)
                v = values(t)
                if len(v) != len(BUNDLES):
                    sys.exit(f"bundle trace of {p}: {len(v)} values\n{t}")
                rows.append([int(x, 0) for x in v])
            bundle.append({"down": down, "ports": rows})

        data = {
            "packets": pkts,
            "flows": [x["flow"] for x in links],
            "multipath_actions": mp_actions,
            "links": [x["links"] for x in links],
            "qinq_flows": [x["flow"] for x in qinq],
            "qinq_links": [x["links"] for x in qinq],
            "baseline": baseline,
            "wildcards": wc_cases,
            "bundle_actions": BUNDLES,
            "bundle": bundle,
        }
        out.write_text(json.dumps(data, indent=1) + "\n")
    finally:
        subprocess.run([REF, "stop", d], env=env, check=False, capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
