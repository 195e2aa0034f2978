"""The datapath in pyvs-vswitchd against a real Open vSwitch with the same configuration: the real ovs-vsctl and
ovs-appctl drive both, the same packets are injected into dummy ports, and what the control commands print
(``dpif/show``, ``dpctl/show``, ``dpctl/dump-flows``, ``fdb/show``, ``ofproto/trace``, ``upcall/show``, their
errors) and what the ports transmit must be the same, after removing what legitimately differs (times, thread
numbers, Ethernet addresses of ports).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator

import pytest

from pyvswitch.netdev.netdev_dummy import read_pcap
from pyvswitch.packet import build

from .conftest import Switchd
from .test_openflow_wire import Reference

pytestmark = pytest.mark.timeout(300)

PKT = ("in_port(1),eth(src=50:54:00:00:00:0{s},dst=50:54:00:00:00:0{d}),eth_type(0x0800),"
       "ipv4(src=10.0.0.{s},dst=10.0.0.{d},proto=17,tos=0,ttl=64,frag=no),udp(src={sp},dst=80)")


class Both:
    def __init__(self, ref: Reference, pyvs: Switchd) -> None:
        self.ref = ref
        self.pyvs = pyvs
        with open(os.path.join(ref.rundir, "ovs-vswitchd.pid")) as f:
            pid = f.read().strip()
        self.ctl = {"ovs": os.path.join(ref.rundir, f"ovs-vswitchd.{pid}.ctl"),
                    "pyvs": pyvs.ctl}
        self.rundir = {"ovs": ref.rundir, "pyvs": pyvs.rundir}

    def vsctl(self, *args: str) -> None:
        self.ref.vsctl(*args)
        self.pyvs.vsctl(*args)

    def appctl(self, *args: str) -> dict[str, tuple[int, str, str]]:
        out = {}
        for name, ctl in self.ctl.items():
            r = subprocess.run(["ovs-appctl", "-t", ctl, *args], capture_output=True, text=True, timeout=20,
                               check=False)
            out[name] = (r.returncode, r.stdout, r.stderr)
        return out

    def ofctl(self, *args: str) -> None:
        for name in self.ctl:
            target = f"unix:{self.rundir[name]}/br0.mgmt" if name == "pyvs" else "br0"
            env = self.ref.env if name == "ovs" else None
            r = subprocess.run(["ovs-ofctl", *[a.replace("BR0", target) for a in args]], capture_output=True,
                               text=True, timeout=20, check=False, env=env)
            assert r.returncode == 0, (name, r.stderr)

    def same(self, *args: str, norm=lambda s: _outputs(s)) -> str:  # type: ignore[no-untyped-def]
        got = self.appctl(*args)
        o, p = got["ovs"], got["pyvs"]
        assert p[0] == o[0], (args, o, p)
        assert norm(p[1]) == norm(o[1]), (args, o[1], p[1])
        assert _err(p[2]) == _err(o[2]), (args, o[2], p[2])
        return o[1]


def _err(text: str) -> str:
    return re.sub(r"ovs-appctl: \S+: server returned", "ovs-appctl: CTL: server returned", text)


def _outputs(text: str) -> str:
    """Lists of plain outputs sorted: Open vSwitch floods in the order of a hash of its port objects' addresses,
    which changes from run to run."""
    def fix(m: re.Match[str]) -> str:
        return m.group(1) + ",".join(sorted(m.group(2).split(",")))
    return re.sub(r"((?:Datapath )?actions: ?)(\d+(?:,\d+)+)$", fix, text, flags=re.MULTILINE)


def _flows(text: str) -> list[str]:
    return sorted(_outputs(re.sub(r"used:[0-9.]+s", "used:X", line)) for line in text.splitlines())


def _ages(text: str) -> list[str]:
    """fdb/show with ages removed, as a set: refreshes from datapath statistics move an entry to the end of the
    list only when it is a second old or more, so the order depends on how long revalidator/wait takes."""
    return sorted(re.sub(r"(\s)\s*\d+$", r"\1N", text, flags=re.MULTILINE).splitlines())


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Both]:
    ref = Reference(str(tmp_path_factory.mktemp("ref")))
    pyvs = Switchd(str(tmp_path_factory.mktemp("pyvs")))
    try:
        pyvs.start("--enable-dummy=override")
        yield Both(ref, pyvs)
    finally:
        if pyvs.proc is not None:
            pyvs.kill()
        ref.stop()


def _setup(b: Both) -> None:
    cmds = ["add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy", "fail-mode=standalone"]
    for i in (1, 2, 3):
        pcap = os.path.join("DIR", f"p{i}.pcap")
        cmds += ["--", "add-port", "br0", f"p{i}", "--", "set", "interface", f"p{i}", "type=dummy",
                 f"ofport_request={i}", f"options:tx_pcap={pcap}"]
    for name in ("ovs", "pyvs"):
        args = [c.replace("DIR", b.rundir[name]) for c in cmds]
        (b.ref.vsctl if name == "ovs" else b.pyvs.vsctl)(*args)


def _tx(b: Both, port: str) -> dict[str, list[bytes]]:
    return {n: read_pcap(os.path.join(b.rundir[n], f"{port}.pcap")) for n in b.rundir}


def test_normal_switching_and_commands(both: Both) -> None:
    b = both
    _setup(b)
    try:
        b.same("dpif/show")
        b.same("netdev-dummy/receive", "p1", PKT.format(s=1, d=2, sp=1))
        b.same("netdev-dummy/receive", "p2", PKT.format(s=2, d=1, sp=1).replace("in_port(1)", "in_port(2)"))
        b.same("netdev-dummy/receive", "p1", PKT.format(s=1, d=2, sp=1))
        b.same("netdev-dummy/receive", "p1", PKT.format(s=1, d=2, sp=2))
        b.same("revalidator/wait")
        b.same("dpctl/dump-flows", norm=_flows)
        b.same("dpctl/show")
        b.same("dpctl/show", "-s")
        b.same("dpif/show")
        b.same("fdb/show", "br0", norm=_ages)
        for port in ("p1", "p2", "p3"):
            tx = _tx(b, port)
            assert tx["pyvs"] == tx["ovs"], port
        b.same("ofproto/trace", "br0", "in_port=1,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02")
        b.same("ofproto/trace", "br0", "in_port=p1,udp,dl_src=50:54:00:00:00:03,dl_dst=50:54:00:00:00:09")
        b.same("ofproto/trace", PKT.format(s=1, d=2, sp=3))
        b.same("fdb/flush", "br0")
        b.same("fdb/show", "br0")
        b.same("dpctl/del-flows")
        b.same("dpctl/dump-flows")
    finally:
        b.vsctl("--if-exists", "del-br", "br0")


def test_flow_changes_reach_the_datapath(both: Both) -> None:
    b = both
    _setup(b)
    try:
        b.ofctl("add-flow", "BR0", "priority=10,in_port=1,actions=output:2")
        b.same("netdev-dummy/receive", "p1", PKT.format(s=1, d=2, sp=1))
        b.same("netdev-dummy/receive", "p1", PKT.format(s=1, d=2, sp=1))
        b.ofctl("add-flow", "BR0", "priority=10,in_port=1,actions=output:3")
        b.same("netdev-dummy/receive", "p1", PKT.format(s=1, d=2, sp=1))
        b.same("revalidator/wait")
        b.same("dpctl/dump-flows", norm=_flows)
        b.ofctl("del-flows", "BR0", "in_port=1")
        b.same("netdev-dummy/receive", "p1", PKT.format(s=1, d=2, sp=1))
        b.same("revalidator/wait")
        b.same("dpctl/dump-flows", norm=_flows)
        for port in ("p1", "p2", "p3"):
            tx = _tx(b, port)
            assert tx["pyvs"] == tx["ovs"], port
    finally:
        b.vsctl("--if-exists", "del-br", "br0")


def test_errors(both: Both) -> None:
    b = both
    _setup(b)
    try:
        b.same("ofproto/trace", "br0", "in_port=p9")
        b.same("ofproto/trace", "br0", "xyz=1")
        b.same("ofproto/trace")
        b.same("fdb/show", "nob")
        b.same("fdb/show", "br0")
    finally:
        b.vsctl("--if-exists", "del-br", "br0")


def test_patch_ports(both: Both) -> None:
    b = both
    b.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
            "--", "add-br", "br1", "--", "set", "bridge", "br1", "datapath_type=dummy",
            "--", "add-port", "br0", "p1", "--", "set", "interface", "p1", "type=dummy", "ofport_request=1",
            "--", "add-port", "br0", "x0", "--", "set", "interface", "x0", "type=patch", "options:peer=x1",
            "ofport_request=2",
            "--", "add-port", "br1", "x1", "--", "set", "interface", "x1", "type=patch", "options:peer=x0",
            "ofport_request=1",
            "--", "add-port", "br1", "q1", "--", "set", "interface", "q1", "type=dummy", "ofport_request=2",
            "--", "add-port", "br0", "pc", "--", "set", "interface", "pc", "type=patch", "options:peer=nothere",
            "ofport_request=3")
    try:
        for name in ("pa", "pb"):
            opts = [] if name == "pa" else ["options:peer=pb"]
            for sw in (b.ref, b.pyvs):
                r = subprocess.run(["ovs-vsctl", f"--db=unix:{sw.rundir}/db.sock", "--timeout=10", "add-port",
                                    "br0", name, "--", "set", "interface", name, "type=patch", *opts],
                                   capture_output=True, text=True, timeout=20,
                                   env=b.ref.env if sw is b.ref else None, check=False)
                assert r.returncode == 0
        for col in ("error", "ofport", "link_state"):
            for name in ("x0", "x1", "pc", "pa", "pb"):
                got = [subprocess.run(["ovs-vsctl", f"--db=unix:{sw.rundir}/db.sock", "get", "interface", name,
                                       col], capture_output=True, text=True, timeout=20,
                                      env=b.ref.env if sw is b.ref else None, check=False).stdout
                       for sw in (b.ref, b.pyvs)]
                assert got[0] == got[1], (name, col, got)
        b.same("dpif/show")
    finally:
        b.vsctl("--if-exists", "del-br", "br0", "--", "--if-exists", "del-br", "br1")


def test_packet_out_through_the_pipeline(both: Both) -> None:
    """A packet-out runs its actions through translation: output to TABLE looks up the tables (and counts in
    their rules), NORMAL learns and floods, groups and header changes apply; the ports transmit the same frames."""
    b = both
    _setup(b)
    frame = build.udp4_frame(eth_src="50:54:00:00:00:01", eth_dst="50:54:00:00:00:02", sport=1, dport=80,
                             payload=bytes(range(12))).hex()
    try:
        b.ofctl("add-flow", "BR0", "priority=10,in_port=1,udp,actions=mod_tp_dst:99,output:3")
        b.ofctl("-O", "OpenFlow13", "add-group", "BR0", "group_id=7,type=all,bucket=output:2,bucket=output:3")
        for actions in ("output:TABLE", "NORMAL", "mod_dl_src:00:00:00:00:00:09,output:2", "group:7",
                        "output:IN_PORT", "output:1", "FLOOD"):
            b.ofctl("packet-out", "BR0", "1", actions, frame)
        b.same("revalidator/wait")
        for port in ("p1", "p2", "p3"):
            tx = _tx(b, port)
            assert tx["pyvs"] == tx["ovs"], port
        b.same("fdb/show", "br0", norm=_ages)
        # Packet-outs count in the rules output to TABLE reaches and in the groups they go through.
        for cmd in (["dump-flows", "udp"], ["-O", "OpenFlow13", "dump-group-stats"]):
            got = []
            for name in ("ovs", "pyvs"):
                target = f"unix:{b.rundir[name]}/br0.mgmt" if name == "pyvs" else "br0"
                args = [a if a != "TARGET" else target for a in [*cmd[:-1], "TARGET", cmd[-1]]] \
                    if cmd[0] == "dump-flows" else [*cmd, target]
                r = subprocess.run(["ovs-ofctl", *args], capture_output=True, text=True, timeout=20, check=False,
                                   env=b.ref.env if name == "ovs" else None)
                got.append(re.sub(r"duration=[0-9.]+s|idle_age=\d+|xid=0x[0-9a-f]+", "X", r.stdout))
            assert got[0] == got[1], got
    finally:
        b.vsctl("--if-exists", "del-br", "br0")


def test_flow_table_prefixes(both: Both) -> None:
    """Prefix tracking follows the Flow_Table ``prefixes`` column: IPv4 addresses by default, IPv6 on request."""
    b = both
    _setup(b)
    flow = "in_port=1,ipv6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8:2::1"
    try:
        b.ofctl("add-flow", "BR0", "priority=20,ipv6,ipv6_dst=2001:db8:1::/48,actions=output:2")
        b.ofctl("add-flow", "BR0", "priority=1,actions=output:3")
        assert "ipv6_dst=2001:db8:2::/48," in b.same("ofproto/trace", "br0", flow)
        b.vsctl("--", "--id=@ft", "create", "flow_table", "prefixes=ipv6_dst,ip_src", "--",
                "set", "bridge", "br0", "flow_tables:0=@ft")
        assert "ipv6_dst=2001:db8:2::/47," in b.same("ofproto/trace", "br0", flow)
        b.vsctl("clear", "bridge", "br0", "flow_tables")
        assert "ipv6_dst=2001:db8:2::/48," in b.same("ofproto/trace", "br0", flow)
    finally:
        b.vsctl("--if-exists", "del-br", "br0")


def test_vlan_limit(both: Both) -> None:
    """other_config:vlan-limit: one VLAN header parsed by default (Open vSwitch's), both with 2 (or 0)."""
    b = both
    _setup(b)
    qinq = ("in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x88a8),vlan(vid=10,pcp=0),"
            "encap(eth_type(0x8100),vlan(vid={},pcp=0),encap(eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,"
            "proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2)))")
    try:
        b.ofctl("add-flow", "BR0", "in_port=1,actions=output:2")
        # A different inner VLAN each time: Open vSwitch does not reinstall a deleted flow's key at once.
        for vid, limit in ((20, None), (21, "2"), (22, "0")):
            if limit is not None:
                b.vsctl("set", "Open_vSwitch", ".", f"other_config:vlan-limit={limit}")
            b.same("dpctl/del-flows")
            b.same("netdev-dummy/receive", "p1", qinq.format(vid))
            b.same("revalidator/wait")
            b.same("dpctl/dump-flows", norm=_flows)
        tx = _tx(b, "p2")
        assert tx["pyvs"] == tx["ovs"]
    finally:
        b.vsctl("remove", "Open_vSwitch", ".", "other_config", "vlan-limit")
        b.vsctl("--if-exists", "del-br", "br0")


def test_pause_and_resume(both: Both) -> None:
    """controller(pause): an NXT_PACKET_IN2 with a continuation; NXT_RESUME (ovs-ofctl monitor's testing option
    ``resume`` sends it back at once) runs the rest of the actions, registers and rule context included."""
    b = both
    _setup(b)
    try:
        b.vsctl("set", "bridge", "br0", "fail-mode=secure")
        b.ofctl("add-flow", "BR0", "in_port=1,actions=set_field:5->reg0,controller(pause),"
                "mod_dl_src:00:00:00:00:00:77,resubmit(,1)")
        b.ofctl("add-flow", "BR0", "table=1,reg0=5,actions=output:2")
        monitors = {}
        for name in ("ovs", "pyvs"):
            target = f"unix:{b.rundir[name]}/br0.mgmt" if name == "pyvs" else "br0"
            env = b.ref.env if name == "ovs" else dict(os.environ, OVS_RUNDIR=b.rundir[name])
            monitors[name] = subprocess.Popen(["ovs-ofctl", "monitor", target, "65534", "resume", "-P",
                                               "nxt_packet_in2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                              text=True, env=env)
        time.sleep(1.0)
        before = {n: len(v) for n, v in _tx(b, "p2").items()}
        b.same("netdev-dummy/receive", "p1", PKT.format(s=1, d=2, sp=7))
        time.sleep(1.0)
        out = {}
        for name, proc in monitors.items():
            proc.terminate()
            text = proc.communicate(timeout=10)[0]
            out[name] = "\n".join(re.sub(r"continuation.bridge=\S+", "X", line) for line in text.splitlines()
                                  if "|" not in line)
        assert "NXT_RESUME" in out["ovs"] and out["pyvs"] == out["ovs"], out
        tx = _tx(b, "p2")
        assert tx["pyvs"][before["pyvs"]:] == tx["ovs"][before["ovs"]:] and len(tx["ovs"]) == before["ovs"] + 1
        assert tx["ovs"][-1][6:12] == bytes.fromhex("000000000077")
    finally:
        b.vsctl("--if-exists", "del-br", "br0")
