"""Benchmark: forwarding through pyvswitch, Open vSwitch's userspace datapath and a Linux bridge, side by side.

One invocation builds the same topology for each switch in turn and sends it the same traffic::

    namespace A (generator, CPU 0) --veth-- switch (CPU 1) --veth-- namespace B (counted here)

The three switches are ``pyvs-vswitchd`` (a ``datapath_type=netdev`` bridge, the veth ends added as plain
``system`` ports), Debian's ``ovs-vswitchd`` with its userspace datapath (``datapath_type=netdev``, started
privately here, its database too), and a kernel bridge (``ip link add type bridge``).  The cases:

``pps-normal``, ``pps-2rules``, ``pps-9rules``
    64-byte UDP frames from trafgen in A; forwarded packets per second counted by B's veth ``rx_packets``, the
    offered rate by A's ``tx_packets``.  Flow tables: the default NORMAL flow; two ``in_port`` rules; nine rules
    on IP and L4 fields under 1,024 5-tuples (with the megaflow count after the run).
``tcp``
    iperf3 from A to B, Gbit/s; Open vSwitch measured both by default and with ``userspace-tso-enable=true``.
``setup``
    a new 5-tuple in every packet and a rule that makes each its own megaflow: upcalls per second, forwarded pps,
    megaflows left.
``memory``
    the daemon's resident memory idle and with N (default 100,000) OpenFlow rules, and the time ``ovs-ofctl
    add-flows`` takes to install them.
``tunnel-pps``, ``tunnel-tcp`` (``tunnel`` selects both)
    two switches joined by VXLAN, in Open vSwitch's native-tunnelling layout (each with ``br-int`` holding the
    host's port and a VXLAN port, and ``br-phy`` holding the underlay link and the underlay address)::

        A --veth-- [switch 1: br-int | br-phy] ==underlay veth== [switch 2: br-phy | br-int] --veth-- B

    64-byte UDP from A to B (forwarded pps, as above) and iperf3 TCP from A to B (veth offload off).  The
    Linux column is the kernel's own: a VXLAN device and a Linux bridge on each side.

Usage (root)::

    python bench/forward.py [--runs 3] [--duration 5] [--cases pps,tcp,setup,memory,tunnel]
                            [--switches pyvs,ovs,linux] [--quick] [--json FILE]

It prints a Markdown table (medians, then the single runs in brackets, and the ratio pyvswitch / Open vSwitch)
and writes every raw number with ``--json``.  Everything it creates (namespaces, veths, daemons, files) is named
with the prefix ``pvb`` and removed on exit, Ctrl-C or failure; daemons are stopped by their pids.  The method,
and why each choice was made, is in ``docs/bench-forward.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

import forward_lib as lib  # bench/ is sys.path[0] when this file is run as a script

PREFIX = "pvb"
OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
GEN_CPU = 0      # trafgen, iperf3 client and server
SWITCH_CPU = 1   # the switch daemon (and its OVSDB server)

ALL_CASES = ("pps-normal", "pps-2rules", "pps-9rules", "tcp", "setup", "memory", "tunnel-pps", "tunnel-tcp")
CASE_ALIASES = {"pps": ("pps-normal", "pps-2rules", "pps-9rules"), "tunnel": ("tunnel-pps", "tunnel-tcp")}
ALL_SWITCHES = ("pyvs", "ovs", "linux")
#: What a Linux bridge can be asked to do: it has no OpenFlow table and no daemon (its tunnel is a kernel VXLAN
#: device).
LINUX_CASES = ("pps-normal", "tcp", "tunnel-pps", "tunnel-tcp")
#: The second switch of the tunnel cases runs on its own CPU when the host has a third one; otherwise both
#: switches share SWITCH_CPU (pyvswitch and Open vSwitch alike).
TUNNEL_CPU2 = 2 if (os.cpu_count() or 1) > 2 else SWITCH_CPU

TOOLS = ("ip", "ss", "ping", "ethtool", "taskset", "timeout", "trafgen", "iperf3", "ovs-vsctl", "ovs-ofctl", "ovs-appctl",
         "ovs-vswitchd", "ovsdb-server", "ovsdb-tool")
APT_FOR = {"ss": "iproute2", "ping": "iputils-ping", "trafgen": "netsniff-ng", "iperf3": "iperf3",
           "ethtool": "ethtool", "ip": "iproute2", "taskset": "util-linux", "timeout": "coreutils",
           "ovs-vsctl": "openvswitch-switch", "ovs-vswitchd": "openvswitch-switch"}


class BenchError(Exception):
    """A step failed: the message says which and why; the run of that switch stops, the others go on."""


def log(msg: str) -> None:
    print(f"[forward {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], *, check: bool = True, timeout: float = 60, env: dict[str, str] | None = None,
        input: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        r = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout, env=env, input=input)
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"{' '.join(cmd)}: no answer in {timeout} s") from e
    if check and r.returncode != 0:
        raise BenchError(f"{' '.join(cmd)}: exit {r.returncode}: {(r.stderr or r.stdout).strip()[:2000]}")
    return r


def in_ns(ns: str | None, cmd: list[str]) -> list[str]:
    return ["ip", "netns", "exec", ns, *cmd] if ns else cmd


def pinned(cpu: int, cmd: list[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *cmd]


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if the process is still there after ``timeout`` seconds."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def stop_group(proc: subprocess.Popen[Any]) -> None:
    """Stop a generator started in its own session (``timeout`` and trafgen's workers) by its group id."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


def read_pidfile(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


# -- Topology ----------------------------------------------------------------------------------------------

class Topology:
    """Namespaces A and B, each with one veth whose peer is a port of the switch.

    The switch's ends live in a namespace of their own (``S``) unless ``root_ns``: Open vSwitch's userspace
    datapath creates TAP devices named ``ovs-netdev`` and after the bridge, and pyvswitch creates one per bridge,
    so a private namespace keeps this run from colliding with any other switch on a shared host.

    A veth delivers a frame on the CPU that sent it: the kernel's receive work on the switch's port facing A
    (for a Linux bridge, all of its forwarding) runs on the generator's CPU.  See docs/bench-forward.md for why
    it is not steered elsewhere with RPS.
    """

    def __init__(self, tag: str, *, root_ns: bool) -> None:
        self.tag = tag
        self.ns_a = f"{PREFIX}-a-{tag}"
        self.ns_b = f"{PREFIX}-b-{tag}"
        self.ns_s: str | None = None if root_ns else f"{PREFIX}-s-{tag}"
        self.dev_a = f"{PREFIX}xa{tag}"     # in A
        self.dev_b = f"{PREFIX}xb{tag}"     # in B
        self.port_a = f"{PREFIX}sa{tag}"    # the switch's end of A's cable
        self.port_b = f"{PREFIX}sb{tag}"
        for n in (self.dev_a, self.dev_b, self.port_a, self.port_b):
            assert len(n) <= 15, n
        self.created: list[str] = []
        self.watchers: dict[str, subprocess.Popen[bytes]] = {}

    def create(self) -> None:
        for ns in (self.ns_a, self.ns_b, self.ns_s):
            if ns:
                run(["ip", "netns", "add", ns])
                self.created.append(ns)
                run(["ip", "-n", ns, "link", "set", "lo", "up"])
        sw = ["netns", self.ns_s] if self.ns_s else []
        for host_ns, dev, port, mac, ip in ((self.ns_a, self.dev_a, self.port_a, lib.MAC_A, lib.IP_A),
                                            (self.ns_b, self.dev_b, self.port_b, lib.MAC_B, lib.IP_B)):
            run(["ip", "link", "add", dev, "netns", host_ns, "address", mac, "type", "veth",
                 "peer", "name", port, *sw])
            if not self.ns_s:
                self.created.append(f"dev:{port}")
            run(["ip", "-n", host_ns, "addr", "add", f"{ip}/24", "dev", dev])
            run(["ip", "-n", host_ns, "link", "set", dev, "up"])
            run(self.s(["ip", "link", "set", port, "up"]))
        run(["ip", "-n", self.ns_a, "neigh", "replace", lib.IP_B, "lladdr", lib.MAC_B, "dev", self.dev_a,
             "nud", "permanent"])
        run(["ip", "-n", self.ns_b, "neigh", "replace", lib.IP_A, "lladdr", lib.MAC_A, "dev", self.dev_b,
             "nud", "permanent"])
        # Processes that only sleep, one per host namespace: /proc/PID/net/dev then shows the namespace's
        # counters (the very counters /sys/class/net/IF/statistics/ shows inside it), read in microseconds
        # instead of one `ip netns exec cat` per sample, so that sample times are exact.
        for ns in (self.ns_a, self.ns_b):
            self.watchers[ns] = subprocess.Popen(["ip", "netns", "exec", ns, "sleep", "infinity"],
                                                 stdin=subprocess.DEVNULL)

    def set_offload(self, on: bool) -> None:
        """Checksum (and with it segmentation) offload of A's and B's veths, ``ethtool -K DEV tx on|off``.

        With offload on, the hosts hand the switch TCP segments of up to 64 KiB whose checksum is left to the
        device; a switch must take the frames with a virtio-net header (``PACKET_VNET_HDR``) to forward them,
        as Open vSwitch does only with ``userspace-tso-enable=true``.  Without it, the segment would reach B
        with its checksum unfinished and be dropped, which is why Open vSwitch's own system-userspace tests
        turn offload off on their veths.
        """
        for ns, dev in ((self.ns_a, self.dev_a), (self.ns_b, self.dev_b)):
            run(in_ns(ns, ["ethtool", "-K", dev, "tx", "on" if on else "off"]))

    def s(self, cmd: list[str]) -> list[str]:
        """``cmd`` as run where the switch is."""
        return in_ns(self.ns_s, cmd)

    def counter(self, ns: str, dev: str, which: str) -> int:
        """``rx_packets`` or ``tx_packets`` of ``dev`` in namespace ``ns``."""
        with open(f"/proc/{self.watchers[ns].pid}/net/dev") as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name.strip() == dev:
                    fields = rest.split()
                    return int(fields[1] if which == "rx_packets" else fields[9])
        raise BenchError(f"{dev} not found in namespace {ns}")

    def rx_b(self) -> int:
        return self.counter(self.ns_b, self.dev_b, "rx_packets")

    def tx_a(self) -> int:
        return self.counter(self.ns_a, self.dev_a, "tx_packets")

    def destroy(self) -> None:
        for p in self.watchers.values():
            if p.poll() is None:
                p.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(5)
        self.watchers.clear()
        for name in reversed(self.created):
            if name.startswith("dev:"):
                run(["ip", "link", "del", name[4:]], check=False)
            else:
                run(["ip", "netns", "del", name], check=False)
        self.created.clear()


# -- Switches ----------------------------------------------------------------------------------------------

class Switch:
    """One switch under test.  ``start`` makes a bridge of the topology's two switch-side ports."""

    id = ""
    label = ""
    #: The hosts' veth offload settings the tcp case is measured with (see Topology.set_offload).
    tcp_offloads: tuple[bool, ...] = (False, True)

    def __init__(self, workdir: str, topo: Topology) -> None:
        self.dir = workdir
        self.topo = topo
        self.bridge = f"{PREFIX}br{topo.tag}"
        self.ofport_a = self.ofport_b = 0
        self.cpu = SWITCH_CPU

    def start(self, bridge: bool = True) -> None:
        """Starts the switch (pinned to ``self.cpu``) and, with ``bridge``, makes the bridge of the two ports."""
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def daemon_pids(self) -> dict[str, int]:
        return {}

    # OpenFlow and datapath commands, for the switches that have them.
    @property
    def of_target(self) -> str:
        return f"unix:{self.dir}/{self.bridge}.mgmt"

    def ofctl(self, *args: str, timeout: float = 120) -> str:
        return run(["ovs-ofctl", *args], timeout=timeout).stdout

    def set_flows(self, flows: list[str]) -> None:
        self.ofctl("del-flows", self.of_target)
        path = os.path.join(self.dir, "flows.txt")
        with open(path, "w") as f:
            f.write("\n".join(flows) + "\n")
        self.ofctl("add-flows", self.of_target, path)
        self.flush_megaflows()

    def appctl(self, *args: str, timeout: float = 120) -> str:
        raise NotImplementedError

    def flush_megaflows(self) -> None:
        self.appctl("dpctl/del-flows")

    def megaflows(self) -> int:
        return lib.count_dp_flows(self.appctl("dpctl/dump-flows"))

    def megaflows_quick(self) -> int:
        """The datapath's flow count from ``dpctl/show`` (``flows: N``), cheap with hundreds of thousands."""
        for line in self.appctl("dpctl/show").splitlines():
            if line.strip().startswith("flows:"):
                return int(line.split(":")[1])
        return self.megaflows()

    def pmd_stats(self) -> dict[str, float]:
        return lib.parse_pmd_stats(self.appctl("dpif-netdev/pmd-stats-show"))

    def vsctl(self, *args: str) -> str:
        return run(["ovs-vsctl", f"--db=unix:{self.dir}/db.sock", "--timeout=30", *args], timeout=40).stdout

    def add_bridge(self) -> None:
        """The bridge and its two ports, through the real ovs-vsctl; then each port's OpenFlow number."""
        t = self.topo
        self.vsctl("add-br", self.bridge, "--", "set", "bridge", self.bridge, "datapath_type=netdev",
                   "--", "add-port", self.bridge, t.port_a, "--", "add-port", self.bridge, t.port_b)
        deadline = time.monotonic() + 20
        while True:
            ports = []
            for port in (t.port_a, t.port_b):
                err = self.vsctl("get", "Interface", port, "error").strip()
                if err not in ("[]", '""'):
                    raise BenchError(f"{self.label}: interface {port}: error {err}")
                ports.append(self.vsctl("get", "Interface", port, "ofport").strip())
            if all(p.isdigit() and int(p) > 0 for p in ports):
                self.ofport_a, self.ofport_b = int(ports[0]), int(ports[1])
                return
            if time.monotonic() > deadline:
                raise BenchError(f"{self.label}: ports got no OpenFlow number: {ports}")
            time.sleep(0.2)


class OvsSwitch(Switch):
    """Debian's ovsdb-server and ovs-vswitchd, both pinned to the switch's CPU, everything under ``dir``."""

    id = "ovs"
    label = "Open vSwitch"

    def __init__(self, workdir: str, topo: Topology, tso: bool = False) -> None:
        super().__init__(workdir, topo)
        self.tso = tso
        if tso:
            self.id, self.label = "ovs-tso", "Open vSwitch (userspace-tso-enable=true)"
            self.tcp_offloads = (True,)
        else:
            self.tcp_offloads = (False,)   # with offload on, TCP does not get through at all (see set_offload)
        d = workdir
        self.env = dict(os.environ, OVS_RUNDIR=d, OVS_DBDIR=d, OVS_LOGDIR=d, OVS_SYSCONFDIR=d)

    def start(self, bridge: bool = True) -> None:
        d, t = self.dir, self.topo
        run(["ovsdb-tool", "create", f"{d}/conf.db", OVS_SCHEMA])
        run(pinned(self.cpu, ["ovsdb-server", f"{d}/conf.db", f"--remote=punix:{d}/db.sock",
                              f"--pidfile={d}/ovsdb-server.pid", f"--log-file={d}/ovsdb-server.log",
                              f"--unixctl={d}/ovsdb-server.ctl", "--detach"]), env=self.env)
        run(["ovs-vsctl", f"--db=unix:{d}/db.sock", "--no-wait", "init"], env=self.env)
        if self.tso:
            # ovs-vswitchd.conf.db(5): read only at start-up, so it is set before the daemon starts.
            run(["ovs-vsctl", f"--db=unix:{d}/db.sock", "--no-wait", "set", "Open_vSwitch", ".",
                 "other_config:userspace-tso-enable=true"], env=self.env)
        run(t.s(pinned(self.cpu, ["ovs-vswitchd", f"unix:{d}/db.sock", f"--pidfile={d}/ovs-vswitchd.pid",
                                  f"--log-file={d}/ovs-vswitchd.log", f"--unixctl={d}/ovs-vswitchd.ctl",
                                  "--detach"])), env=self.env)
        if bridge:
            self.add_bridge()

    def stop(self) -> None:
        for name in ("ovs-vswitchd", "ovsdb-server"):
            pid = read_pidfile(f"{self.dir}/{name}.pid")
            if pid:
                stop_pid(pid)

    def daemon_pids(self) -> dict[str, int]:
        out = {}
        for name in ("ovs-vswitchd", "ovsdb-server"):
            pid = read_pidfile(f"{self.dir}/{name}.pid")
            if pid:
                out[name] = pid
        return out

    def appctl(self, *args: str, timeout: float = 120) -> str:
        return run(["ovs-appctl", "-t", f"{self.dir}/ovs-vswitchd.ctl", f"--timeout={int(timeout)}", *args],
                   timeout=timeout + 5).stdout


class PyvsSwitch(Switch):
    """pyvs-vswitchd (its database embedded), pinned to the switch's CPU."""

    id = "pyvs"
    label = "pyvswitch"

    def start(self, bridge: bool = True) -> None:
        d = self.dir
        run(self.topo.s(pinned(self.cpu, [sys.executable, "-m", "pyvswitch.vswitchd", "--rundir", d,
                                           "--pidfile", "--detach", "--no-fsync"])), timeout=60)
        if bridge:
            self.add_bridge()

    def stop(self) -> None:
        pid = read_pidfile(f"{self.dir}/pyvs-vswitchd.pid")
        if pid:
            stop_pid(pid)

    def daemon_pids(self) -> dict[str, int]:
        pid = read_pidfile(f"{self.dir}/pyvs-vswitchd.pid")
        return {"pyvs-vswitchd": pid} if pid else {}

    def appctl(self, *args: str, timeout: float = 120) -> str:
        return run([sys.executable, "-m", "pyvswitch.cli.appctl", "--rundir", self.dir, *args],
                   timeout=timeout).stdout


class LinuxBridge(Switch):
    """A kernel bridge: no daemon; it forwards in softirq context, on the CPU the frame came from."""

    id = "linux"
    label = "Linux bridge"

    def start(self, bridge: bool = True) -> None:
        t = self.topo
        if not bridge:
            return
        run(t.s(["ip", "link", "add", self.bridge, "type", "bridge"]))
        if not t.ns_s:
            t.created.append(f"dev:{self.bridge}")
        for port in (t.port_a, t.port_b):
            run(t.s(["ip", "link", "set", port, "master", self.bridge]))
        run(t.s(["ip", "link", "set", self.bridge, "up"]))

    def stop(self) -> None:
        pass


SWITCH_CLASSES: dict[str, Callable[[str, Topology], Switch]] = {
    "pyvs": PyvsSwitch,
    "ovs": OvsSwitch,
    "ovs-tso": lambda d, t: OvsSwitch(d, t, tso=True),
    "linux": LinuxBridge,
}


# -- The tunnel cases --------------------------------------------------------------------------------------

class TunnelTopology(Topology):
    """A and B as in :class:`Topology`, but each on its own switch namespace, the two joined by an underlay veth::

        A --veth-- S1 [br-int: port_a, VXLAN | br-phy: up1, 172.31.77.1] ==veth== S2 [... 172.31.77.2] --veth-- B

    The underlay's MTU is 1,600 so that a 1,500-byte frame of A's still fits once encapsulated (50 bytes more
    for VXLAN over IPv4), as on an underlay sized for its overlay; the tunnel cases then measure forwarding,
    not fragmentation.  :meth:`side` gives the view of one switch namespace that a :class:`Switch` works on.
    """

    UNDERLAY_MTU = 1600
    UNDERLAY_IPS = ("172.31.77.1", "172.31.77.2")

    def __init__(self, tag: str) -> None:
        super().__init__(tag, root_ns=False)
        self.ns_s2 = f"{PREFIX}-t-{tag}"
        self.uplinks = (f"{PREFIX}u1{tag}", f"{PREFIX}u2{tag}")
        for n in self.uplinks:
            assert len(n) <= 15, n

    def create(self) -> None:
        assert self.ns_s is not None
        run(["ip", "netns", "add", self.ns_s2])
        self.created.append(self.ns_s2)
        run(["ip", "-n", self.ns_s2, "link", "set", "lo", "up"])
        super().create()
        # B's cable belongs to the second switch: Topology.create put its end into S.
        run(["ip", "-n", self.ns_s, "link", "set", self.port_b, "netns", self.ns_s2])
        run(["ip", "-n", self.ns_s2, "link", "set", self.port_b, "up"])
        run(["ip", "-n", self.ns_s, "link", "add", self.uplinks[0], "mtu", str(self.UNDERLAY_MTU), "type", "veth",
             "peer", "name", self.uplinks[1], "mtu", str(self.UNDERLAY_MTU), "netns", self.ns_s2])
        for ns, dev in ((self.ns_s, self.uplinks[0]), (self.ns_s2, self.uplinks[1])):
            run(["ip", "-n", ns, "link", "set", dev, "up"])
            # The switch reads the underlay device with a packet socket and the kernel sees its frames too:
            # without this it would answer ARP for br-phy's address from the underlay device as well.
            run(in_ns(ns, ["sysctl", "-q", "-w", "net.ipv4.conf.all.arp_ignore=1",
                           "net.ipv4.conf.all.arp_announce=2"]))

    def side(self, i: int) -> TunnelSide:
        assert self.ns_s is not None
        return TunnelSide(self, (self.ns_s, self.ns_s2)[i], (self.port_a, self.port_b)[i], self.uplinks[i],
                          self.UNDERLAY_IPS[i], self.UNDERLAY_IPS[1 - i])


class TunnelSide:
    """One switch namespace of a :class:`TunnelTopology`, with what a :class:`Switch` asks of a topology
    (``s``, ``tag``, ``ns_s``, ``created``) and the side's ports and underlay addresses."""

    def __init__(self, topo: TunnelTopology, ns: str, port: str, uplink: str, local_ip: str,
                 remote_ip: str) -> None:
        self.topo = topo
        self.ns_s = ns
        self.tag = topo.tag
        self.created = topo.created
        self.port = port
        self.uplink = uplink
        self.local_ip = local_ip
        self.remote_ip = remote_ip
        self.port_a = self.port_b = port

    def s(self, cmd: list[str]) -> list[str]:
        return in_ns(self.ns_s, cmd)


def setup_tunnel_side(sw: Switch, side: TunnelSide) -> None:
    """Open vSwitch's native-tunnelling layout on one side: br-int (the host's port and VXLAN port ``vx``
    towards the other side, key 100) and br-phy (the underlay device; the underlay address on br-phy's own
    port), or for the Linux column a bridge of the host's port and a kernel VXLAN device on the underlay."""
    mtu = str(TunnelTopology.UNDERLAY_MTU)
    if isinstance(sw, LinuxBridge):
        run(side.s(["ip", "addr", "add", f"{side.local_ip}/24", "dev", side.uplink]))
        run(side.s(["ip", "link", "add", "vx", "type", "vxlan", "id", "100", "remote", side.remote_ip, "local",
                    side.local_ip, "dstport", "4789", "dev", side.uplink]))
        run(side.s(["ip", "link", "add", sw.bridge, "type", "bridge"]))
        for dev in (side.port, "vx"):
            run(side.s(["ip", "link", "set", dev, "master", sw.bridge, "up"]))
        run(side.s(["ip", "link", "set", sw.bridge, "up"]))
        return
    br_int, br_phy = sw.bridge, f"{PREFIX}p{side.tag}"
    if isinstance(sw, OvsSwitch) and TUNNEL_CPU2 == SWITCH_CPU:
        # Two userspace datapaths on one CPU: a PMD thread that polls without rest would take half the CPU
        # from the other switch even when idle; Open vSwitch 3.1's load-based sleep lets it yield.
        sw.vsctl("set", "Open_vSwitch", ".", "other_config:pmd-maxsleep=50")
    sw.vsctl("add-br", br_phy, "--", "set", "bridge", br_phy, "datapath_type=netdev",
             "--", "add-port", br_phy, side.uplink, "--", "set", "interface", br_phy, f"mtu_request={mtu}")
    sw.vsctl("add-br", br_int, "--", "set", "bridge", br_int, "datapath_type=netdev",
             "--", "add-port", br_int, side.port,
             "--", "add-port", br_int, "vx", "--", "set", "interface", "vx", "type=vxlan",
             f"options:remote_ip={side.remote_ip}", "options:key=100")
    for port in (side.uplink, side.port, "vx"):
        err = sw.vsctl("get", "Interface", port, "error").strip()
        if err not in ("[]", '""'):
            raise BenchError(f"{sw.label}: interface {port}: error {err}")
    deadline = time.monotonic() + 20
    while run(side.s(["ip", "link", "show", br_phy]), check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise BenchError(f"{sw.label}: {br_phy}'s internal port did not appear")
        time.sleep(0.1)
    run(side.s(["ip", "link", "set", br_phy, "mtu", mtu, "up"]))
    run(side.s(["ip", "addr", "add", f"{side.local_ip}/24", "dev", br_phy]))


# -- Measurements ------------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args: argparse.Namespace, workdir: str) -> None:
        self.args = args
        self.dir = workdir

    def trafgen(self, topo: Topology, cfg: str, seconds: float) -> subprocess.Popen[str]:
        """trafgen in A, on CPU 0, one worker, stopped with SIGINT (so that it prints its counters)."""
        cmd = in_ns(topo.ns_a, pinned(GEN_CPU, ["timeout", "-s", "INT", f"{seconds:.2f}", "trafgen", "-o",
                                                topo.dev_a, "-i", cfg, "--cpus", "1", "--no-sock-mem",
                                                "--notouch-irq"]))
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)

    def finish(self, proc: subprocess.Popen[str], limit: float) -> lib.TrafgenStats:
        """Wait for trafgen to stop and read its counters; a trafgen that failed is an error."""
        try:
            out, _ = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            stop_group(proc)
            raise BenchError("trafgen did not stop") from None
        finally:
            stop_group(proc)
        stats = lib.parse_trafgen(out)
        if stats is None:
            raise BenchError(f"trafgen failed: {out.strip()[-1500:]}")
        return stats

    def pps_run(self, topo: Topology, cfg: str) -> dict[str, float]:
        """One measured interval: ``duration`` seconds in the middle of a longer trafgen run (0.5 s before, to
        reach the steady state; 0.5 s after), counters sampled at both ends."""
        dur = self.args.duration
        proc = self.trafgen(topo, cfg, dur + 1.0)
        try:
            time.sleep(0.5)
            t0, rx0, tx0 = time.monotonic(), topo.rx_b(), topo.tx_a()
            time.sleep(dur)
            t1, rx1, tx1 = time.monotonic(), topo.rx_b(), topo.tx_a()
        except BaseException:
            stop_group(proc)
            raise
        stats = self.finish(proc, dur + 30)
        dt = t1 - t0
        rx, tx = (rx1 - rx0) / dt, (tx1 - tx0) / dt
        return {"rx_pps": rx, "offered_pps": tx, "trafgen_pps": stats.pps, "trafgen_packets": stats.packets,
                "delivered": rx / tx if tx else 0.0, "interval_s": dt}

    def learn_b(self, topo: Topology) -> None:
        """B speaks first, so that a learning switch knows B's port and does not flood A's traffic."""
        run(in_ns(topo.ns_b, ["ping", "-c", "1", "-W", "2", lib.IP_A]), check=False)

    def case_pps(self, case: str, sw: Switch, topo: Topology) -> list[dict[str, float]]:
        if case == "pps-9rules":
            frames = [lib.udp_frame(lib.MAC_A, lib.MAC_B, *t) for t in lib.nine_rule_tuples(self.args.tuples)]
            title = f"{len(frames)} 5-tuples"
        else:
            frames = [lib.udp_frame(lib.MAC_A, lib.MAC_B, lib.IP_A, lib.IP_SINK, 1024, 9)]
            title = "one 5-tuple"
        cfg = os.path.join(self.dir, f"{case}.cfg")
        with open(cfg, "w") as f:
            f.write(lib.trafgen_static_config(frames, f"pyvswitch bench/forward.py {case}: {title}"))
        if not isinstance(sw, LinuxBridge):
            if case == "pps-normal":
                sw.set_flows(["priority=0,actions=NORMAL"])
            elif case == "pps-2rules":
                sw.set_flows(lib.rules_two(sw.ofport_a, sw.ofport_b))
            else:
                sw.set_flows(lib.rules_nine(sw.ofport_a, sw.ofport_b))
        runs = []
        for i in range(self.args.runs):
            if case == "pps-normal":
                self.learn_b(topo)
            r = self.pps_run(topo, cfg)
            if case == "pps-9rules" and not isinstance(sw, LinuxBridge):
                r["megaflows"] = sw.megaflows()
            log(f"  {sw.id} {case} run {i + 1}: {r['rx_pps']:,.0f} pps forwarded of {r['offered_pps']:,.0f} "
                f"offered" + (f", {r['megaflows']} megaflows" if "megaflows" in r else ""))
            runs.append(r)
        return runs

    def case_setup(self, sw: Switch, topo: Topology) -> list[dict[str, float]]:
        cfg = os.path.join(self.dir, "setup.cfg")
        with open(cfg, "w") as f:
            f.write(lib.trafgen_setup_config())
        sw.set_flows(lib.rules_setup(sw.ofport_b))
        runs = []
        for i in range(self.args.runs):
            sw.flush_megaflows()
            time.sleep(0.2)
            before, rx0 = sw.pmd_stats(), topo.rx_b()
            stats = self.finish(self.trafgen(topo, cfg, self.args.duration), self.args.duration + 30)
            time.sleep(0.5)   # let the switch drain its socket buffer
            after, rx1 = sw.pmd_stats(), topo.rx_b()
            ok = after.get("miss with success upcall", 0) - before.get("miss with success upcall", 0)
            failed = after.get("miss with failed upcall", 0) - before.get("miss with failed upcall", 0)
            secs = stats.seconds or self.args.duration
            # A "failed" upcall was translated and its packet forwarded, but no megaflow was installed (the
            # switch's flow limit): both count as upcalls, only the first as megaflows created.
            r = {"upcalls_per_s": (ok + failed) / secs, "installed_per_s": ok / secs, "upcalls": ok + failed,
                 "failed_upcalls": failed, "rx_pps": (rx1 - rx0) / secs, "offered_pps": stats.pps,
                 "seconds": secs, "megaflows": sw.megaflows_quick()}
            with contextlib.suppress(BenchError):
                r["upcall_show"] = sw.appctl("upcall/show")   # Open vSwitch shows its flow limit there
            log(f"  {sw.id} setup run {i + 1}: {r['upcalls_per_s']:,.0f} upcalls/s, {r['rx_pps']:,.0f} pps "
                f"forwarded of {r['offered_pps']:,.0f} offered, {r['megaflows']} megaflows")
            runs.append(r)
        sw.flush_megaflows()
        return runs

    def case_tcp(self, sw: Switch, topo: Topology) -> list[dict[str, float]]:
        """iperf3 from A to B, once per offload setting the switch is measured with, in every run."""
        if not isinstance(sw, LinuxBridge):
            sw.set_flows(["priority=0,actions=NORMAL"])
        runs = []
        for i in range(self.args.runs):
            r: dict[str, float] = {}
            for on in sw.tcp_offloads:
                topo.set_offload(on)
                self.learn_b(topo)
                r["gbps_on" if on else "gbps_off"] = gbps = self.iperf3(topo)
                log(f"  {sw.id} tcp run {i + 1}, offload {'on' if on else 'off'}: {gbps:.2f} Gbit/s")
            runs.append(r)
        topo.set_offload(True)
        return runs

    def iperf3(self, topo: Topology) -> float:
        port = "5201"
        server = subprocess.Popen(in_ns(topo.ns_b, pinned(GEN_CPU, ["iperf3", "-s", "-1", "-B", lib.IP_B,
                                                                     "-p", port])),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                  start_new_session=True)
        try:
            deadline = time.monotonic() + 10
            while f"{lib.IP_B}:{port}" not in run(in_ns(topo.ns_b, ["ss", "-ltnH"]), check=False).stdout:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"iperf3 server did not start: {server.stderr.read() if server.stderr else ''}")
                time.sleep(0.05)
            r = run(in_ns(topo.ns_a, pinned(GEN_CPU, ["iperf3", "-c", lib.IP_B, "-p", port, "-J", "-t",
                                                      f"{self.args.duration:g}", "--connect-timeout", "5000"])),
                    check=False, timeout=self.args.duration + 30)
            try:
                return lib.parse_iperf3(r.stdout) / 1e9
            except ValueError as e:
                raise BenchError(f"{e} {r.stderr.strip()[:500]}") from None
        finally:
            stop_group(server)

    def case_memory(self, sw: Switch, topo: Topology) -> list[dict[str, float]]:
        pids = sw.daemon_pids()
        main_pid = next(iter(pids.values()))

        def rss() -> dict[str, float]:
            out = {}
            for name, pid in pids.items():
                with open(f"/proc/{pid}/status") as f:
                    out[name] = lib.parse_vmrss_kib(f.read()) / 1024
            return out

        sw.set_flows(["priority=0,actions=NORMAL"])
        time.sleep(1.0)
        idle = rss()
        path = os.path.join(self.dir, "many-flows.txt")
        with open(path, "w") as f:
            f.write(lib.flows_file(self.args.rules, sw.ofport_b))
        runs = []
        for i in range(self.args.runs):
            sw.ofctl("del-flows", sw.of_target, timeout=900)
            t0 = time.monotonic()
            sw.ofctl("add-flows", sw.of_target, path, timeout=1800)
            secs = time.monotonic() - t0
            n = sum(1 for line in sw.ofctl("dump-flows", sw.of_target, timeout=900).splitlines()
                    if "actions=" in line)
            time.sleep(1.0)
            full = rss()
            r = {"add_s": secs, "rules": n, "rss_idle_mib": idle[next(iter(pids))],
                 "rss_mib": full[next(iter(pids))],
                 "rss_total_idle_mib": sum(idle.values()), "rss_total_mib": sum(full.values())}
            log(f"  {sw.id} memory run {i + 1}: {n} rules added in {secs:.2f} s; RSS {r['rss_idle_mib']:.1f} MiB "
                f"idle, {r['rss_mib']:.1f} MiB with the rules (pid {main_pid})")
            runs.append(r)
        sw.ofctl("del-flows", sw.of_target, timeout=900)
        return runs

    def measure(self, switch_id: str, cases: list[str], results: dict[str, Any], tag: str) -> None:
        """Run ``switch_id``'s share of ``cases``, each on a freshly started switch and topology: no case
        inherits another's megaflows, learned addresses, memory or backlog (the memory case's "idle" figure, for
        one, would otherwise include what earlier traffic made the daemon allocate)."""
        for g, case in enumerate(c for c in cases if c in _cases_of(switch_id)):
            if case.startswith("tunnel-"):
                self.tunnel_instance(switch_id, case, results, f"{tag}{g}")
            else:
                self.instance(switch_id, [case], results, f"{tag}{g}")

    def tunnel_instance(self, switch_id: str, case: str, results: dict[str, Any], tag: str) -> None:
        """Two switches of kind ``switch_id`` joined by VXLAN (:class:`TunnelTopology`), one tunnel case, then
        everything torn down."""
        topo = TunnelTopology(tag)
        with contextlib.ExitStack() as stack:
            stack.callback(topo.destroy)
            topo.create()
            switches = []
            for i in (0, 1):
                workdir = tempfile.mkdtemp(prefix=f"{PREFIX}-{switch_id}{i + 1}-", dir="/tmp")
                stack.callback(shutil.rmtree, workdir, True)
                side = topo.side(i)
                sw = SWITCH_CLASSES[switch_id](workdir, side)  # type: ignore[arg-type]
                sw.cpu = (SWITCH_CPU, TUNNEL_CPU2)[i]
                if i == 0:
                    log(f"{sw.label}: starting two switches joined by VXLAN ({topo.ns_a} / {topo.ns_s} / "
                        f"{topo.ns_s2} / {topo.ns_b})")
                stack.callback(sw.stop)
                sw.start(bridge=False)
                setup_tunnel_side(sw, side)
                switches.append(sw)
            info = results["switches"].setdefault(switch_id, {"label": switches[0].label, "instances": []})
            pids = {f"{name}-{i + 1}": pid for i, sw in enumerate(switches)
                    for name, pid in sw.daemon_pids().items()}
            info["instances"].append({"cases": [case], "daemon_pids": pids, "cpus_allowed": cpus_allowed(pids)})
            log(f"{switches[0].label}: {case}")
            try:
                self.wait_tunnel(topo)
                runs = self.case_tunnel_pps(switches[0], topo) if case == "tunnel-pps" else \
                    self.case_tunnel_tcp(switches[0], topo)
            except Exception as e:  # noqa: BLE001 - one failed case must not stop the others
                if not isinstance(e, BenchError):
                    e = BenchError(f"{type(e).__name__}: {e}")
                log(f"{switches[0].label}: {case} failed: {e}")
                results["errors"].append(f"{switch_id} {case}: {e}")
                return
            results["cases"].setdefault(case, {})[switch_id] = runs

    def wait_tunnel(self, topo: TunnelTopology) -> None:
        """B pings A until a reply comes back (the switches resolve the far end and learn both MACs), at most
        20 s."""
        deadline = time.monotonic() + 20
        while run(in_ns(topo.ns_b, ["ping", "-c", "1", "-W", "1", lib.IP_A]), check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise BenchError("no ping got through the tunnel in 20 s")

    def case_tunnel_pps(self, sw: Switch, topo: TunnelTopology) -> list[dict[str, float]]:
        """64-byte UDP from A to B through both switches and the tunnel; the flow tables stay NORMAL."""
        cfg = os.path.join(self.dir, "tunnel-pps.cfg")
        with open(cfg, "w") as f:
            frame = lib.udp_frame(lib.MAC_A, lib.MAC_B, lib.IP_A, lib.IP_SINK, 1024, 9)
            f.write(lib.trafgen_static_config([frame], "pyvswitch bench/forward.py tunnel-pps: one 5-tuple"))
        runs = []
        for i in range(self.args.runs):
            self.learn_b(topo)
            r = self.pps_run(topo, cfg)
            log(f"  {sw.id} tunnel-pps run {i + 1}: {r['rx_pps']:,.0f} pps forwarded of {r['offered_pps']:,.0f} "
                "offered")
            runs.append(r)
        return runs

    def case_tunnel_tcp(self, sw: Switch, topo: TunnelTopology) -> list[dict[str, float]]:
        """iperf3 from A to B through the tunnel, veth offload off (Open vSwitch's default case)."""
        topo.set_offload(False)
        runs = []
        for i in range(self.args.runs):
            self.learn_b(topo)
            gbps = self.iperf3(topo)
            log(f"  {sw.id} tunnel-tcp run {i + 1}: {gbps:.2f} Gbit/s")
            runs.append({"gbps_off": gbps})
        return runs

    def instance(self, switch_id: str, cases: list[str], results: dict[str, Any], tag: str) -> None:
        """Build the topology, start ``switch_id``, run ``cases``, tear everything down."""
        topo = Topology(tag, root_ns=self.args.root_ns)
        workdir = tempfile.mkdtemp(prefix=f"{PREFIX}-{switch_id}-", dir="/tmp")
        sw = SWITCH_CLASSES[switch_id](workdir, topo)
        log(f"{sw.label}: starting (topology {topo.ns_a} / {topo.ns_s or 'root namespace'} / {topo.ns_b})")
        with contextlib.ExitStack() as stack:
            stack.callback(shutil.rmtree, workdir, True)
            stack.callback(topo.destroy)
            topo.create()
            stack.callback(sw.stop)
            sw.start()
            info = results["switches"].setdefault(switch_id, {"label": sw.label, "instances": []})
            info["instances"].append({"cases": cases, "daemon_pids": sw.daemon_pids(),
                                      "cpus_allowed": cpus_allowed(sw.daemon_pids()),
                                      "tcp_offloads": list(sw.tcp_offloads), "ofports": [sw.ofport_a, sw.ofport_b]})
            old = self.dir
            self.dir = workdir
            try:
                for case in cases:
                    log(f"{sw.label}: {case}")
                    try:
                        if case.startswith("pps-"):
                            runs = self.case_pps(case, sw, topo)
                        elif case == "setup":
                            runs = self.case_setup(sw, topo)
                        elif case == "tcp":
                            runs = self.case_tcp(sw, topo)
                        else:
                            runs = self.case_memory(sw, topo)
                    except Exception as e:  # noqa: BLE001 - one failed case must not stop the others
                        if not isinstance(e, BenchError):
                            e = BenchError(f"{type(e).__name__}: {e}")
                        log(f"{sw.label}: {case} failed: {e}")
                        results["errors"].append(f"{switch_id} {case}: {e}")
                        continue
                    results["cases"].setdefault(case, {})[switch_id] = runs
            finally:
                self.dir = old


def cpus_allowed(pids: dict[str, int]) -> dict[str, list[str]]:
    """For each daemon, the distinct ``Cpus_allowed_list`` of its threads: the evidence of the pinning."""
    out = {}
    for name, pid in pids.items():
        seen = set()
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/status") as f:
                    seen.update(line.split(":", 1)[1].strip() for line in f if line.startswith("Cpus_allowed_list"))
        out[name] = sorted(seen)
    return out


def _cases_of(switch_id: str) -> tuple[str, ...]:
    if switch_id == "linux":
        return LINUX_CASES
    if switch_id == "ovs-tso":
        return ("tcp",)
    return ALL_CASES


def rows(args: argparse.Namespace) -> list[lib.Row]:
    d = f"{args.duration:g} s"
    return [
        lib.Row("pps-normal", "rx_pps", f"64-byte UDP, NORMAL: forwarded pps ({d})", "pps"),
        lib.Row("pps-normal", "offered_pps", "… offered pps (A's tx)", "pps"),
        lib.Row("pps-2rules", "rx_pps", "64-byte UDP, 2 in_port rules: forwarded pps", "pps"),
        lib.Row("pps-2rules", "offered_pps", "… offered pps", "pps"),
        lib.Row("pps-9rules", "rx_pps", f"64-byte UDP, 9 rules, {args.tuples} 5-tuples: forwarded pps", "pps"),
        lib.Row("pps-9rules", "offered_pps", "… offered pps", "pps"),
        lib.Row("pps-9rules", "megaflows", "… megaflows after the run", "n"),
        lib.Row("tcp", "gbps_off", f"TCP iperf3 ({d}), veth offload off: Gbit/s (OVS default)", "Gbit/s"),
        lib.Row("tcp", "gbps_on", "TCP iperf3, veth offload on: Gbit/s (OVS userspace-tso-enable=true)", "Gbit/s",
                ovs="ovs-tso"),
        lib.Row("setup", "upcalls_per_s", "flow setup, a new 5-tuple per packet: upcalls per s", "pps"),
        lib.Row("setup", "installed_per_s", "… of which installed a megaflow, per s", "pps"),
        lib.Row("setup", "rx_pps", "… forwarded pps", "pps"),
        lib.Row("setup", "offered_pps", "… offered pps", "pps"),
        lib.Row("setup", "megaflows", "… megaflows left after the run", "n"),
        lib.Row("memory", "rss_idle_mib", "RSS idle, MiB", "MiB"),
        lib.Row("memory", "rss_mib", f"RSS with {args.rules:,} rules, MiB", "MiB"),
        lib.Row("memory", "rss_total_mib", f"… with the OVSDB server's RSS, {args.rules:,} rules, MiB", "MiB"),
        lib.Row("memory", "add_s", f"ovs-ofctl add-flows of {args.rules:,} rules, s", "s"),
        lib.Row("tunnel-pps", "rx_pps", f"VXLAN between two switches, 64-byte UDP: forwarded pps ({d})", "pps"),
        lib.Row("tunnel-pps", "offered_pps", "… offered pps", "pps"),
        lib.Row("tunnel-tcp", "gbps_off", "VXLAN, TCP iperf3, veth offload off: Gbit/s", "Gbit/s"),
    ]


# -- Command line ------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3, help="runs per case; the table shows the median (default 3)")
    p.add_argument("--duration", type=float, default=5.0, help="seconds per run (default 5)")
    p.add_argument("--cases", default=",".join(ALL_CASES),
                   help=f"comma list of {', '.join(ALL_CASES)} ('pps' = the three pps cases)")
    p.add_argument("--switches", default=",".join(ALL_SWITCHES), help="comma list of pyvs, ovs, linux")
    p.add_argument("--quick", action="store_true", help="1 run of 2 s and 10,000 rules: a smoke test")
    p.add_argument("--json", metavar="FILE", help="write every raw number to FILE")
    p.add_argument("--rules", type=int, default=None, help="rules for the memory case (default 100,000)")
    p.add_argument("--tuples", type=int, default=1024, help="5-tuples in case pps-9rules (default 1,024)")
    p.add_argument("--root-ns", action="store_true",
                   help="put the switch and its ports in the root namespace instead of a private one")
    args = p.parse_args(argv)
    if args.quick:
        args.runs, args.duration = 1, 2.0
        args.rules = args.rules or 10_000
    args.rules = args.rules or 100_000
    cases: list[str] = []
    for c in args.cases.split(","):
        c = c.strip()
        for name in CASE_ALIASES.get(c, (c,)):
            if name not in ALL_CASES:
                p.error(f"unknown case {name!r}; known: {', '.join(ALL_CASES)}")
            if name not in cases:
                cases.append(name)
    args.case_list = [c for c in ALL_CASES if c in cases]
    switches = [s.strip() for s in args.switches.split(",") if s.strip()]
    for s in switches:
        if s not in ALL_SWITCHES:
            p.error(f"unknown switch {s!r}; known: {', '.join(ALL_SWITCHES)}")
    args.switch_list = [s for s in ALL_SWITCHES if s in switches]
    if "ovs" in args.switch_list and "tcp" in args.case_list:
        args.switch_list.insert(args.switch_list.index("ovs") + 1, "ovs-tso")
    if args.runs < 1 or args.duration <= 0:
        p.error("--runs must be at least 1 and --duration positive")
    return args


def check_prerequisites(args: argparse.Namespace) -> list[str]:
    if os.geteuid() != 0:
        return ["must run as root (network namespaces, veths, trafgen's packet socket)"]
    problems = []
    for tool in TOOLS:
        if not shutil.which(tool):
            pkg = APT_FOR.get(tool, "openvswitch-common")
            problems.append(f"{tool} not found (apt-get install {pkg}; or `make deps`)")
    if any(s.startswith("ovs") for s in args.switch_list) and not os.path.exists(OVS_SCHEMA):
        problems.append(f"{OVS_SCHEMA} missing (apt-get install openvswitch-common)")
    if "pyvs" in args.switch_list:
        r = subprocess.run([sys.executable, "-c", "import pyvswitch.vswitchd.main"], check=False,
                           capture_output=True, text=True, cwd=ROOT)
        if r.returncode:
            problems.append(f"pyvswitch is not importable by {sys.executable}: {r.stderr.strip()[-300:]}")
    if (os.cpu_count() or 1) < 2 or SWITCH_CPU not in os.sched_getaffinity(0):
        problems.append(f"needs CPUs {GEN_CPU} and {SWITCH_CPU} (generator and switch are pinned apart)")
    return problems


def host_info() -> dict[str, Any]:
    def out(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""
    cpu = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    return {"kernel": platform.release(), "cpu": cpu, "cpus": os.cpu_count(),
            "ovs": out(["ovs-vswitchd", "--version"]).splitlines()[0:1],
            "trafgen": out(["trafgen", "-v"]).splitlines()[0:1],
            "iperf3": out(["iperf3", "--version"]).splitlines()[0:1],
            "pyvswitch_commit": out(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]),
            "python": sys.version.split()[0]}


def report(args: argparse.Namespace, results: dict[str, Any]) -> str:
    lines = [
        "# Forwarding benchmark: pyvswitch, Open vSwitch (userspace datapath), Linux bridge",
        "",
        f"Namespace A --veth-- switch --veth-- namespace B; trafgen/iperf3 pinned to CPU {GEN_CPU} (taskset), "
        f"the switch daemon to CPU {SWITCH_CPU}. "
        f"Median of {args.runs} run(s) of {args.duration:g} s, single runs in brackets. "
        "Forwarded pps = B's veth rx_packets over the measured interval; offered = A's tx_packets. "
        "Host: " + f"{results['host']['cpu']}, {results['host']['cpus']} CPUs, Linux {results['host']['kernel']}.",
        "",
        lib.format_table(results["cases"], rows(args)),
    ]
    notes = []
    if results["errors"]:
        notes.append("- Errors: " + "; ".join(results["errors"]))
    if notes:
        lines += notes + [""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    problems = check_prerequisites(args)
    if problems:
        for msg in problems:
            print(f"forward.py: {msg}", file=sys.stderr)
        return 2
    results: dict[str, Any] = {"args": {k: v for k, v in vars(args).items()}, "host": host_info(),
                               "pinning": {"generator_cpu": GEN_CPU, "switch_cpu": SWITCH_CPU},
                               "switches": {}, "cases": {}, "errors": []}

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    workdir = tempfile.mkdtemp(prefix=f"{PREFIX}-forward-", dir="/tmp")
    bench = Bench(args, workdir)
    interrupted = False
    try:
        for n, sid in enumerate(args.switch_list):
            tag = f"{os.getpid() % 100000}{n}"
            try:
                bench.measure(sid, args.case_list, results, tag)
            except Exception as e:  # noqa: BLE001 - one failed switch must not stop the others
                log(f"{sid}: {type(e).__name__}: {e}")
                results["errors"].append(f"{sid}: {e}")
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted; everything created was removed")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(report(args, results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)
            f.write("\n")
    return 130 if interrupted else (1 if results["errors"] else 0)


if __name__ == "__main__":
    sys.exit(main())
