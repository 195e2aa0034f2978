"""Network namespaces, veth pairs and a switch daemon for the system tests of real ports.

The pieces, in the order a test uses them:

* :class:`Netns` is one network namespace: ``ip -n NAME ...`` (:meth:`Netns.ip`), any command inside it
  (:meth:`Netns.run`, :meth:`Netns.popen`), the kernel's SNMP counters (:meth:`Netns.snmp`).
* :class:`Lab` owns everything one test creates: namespaces, veth pairs, hosts (:meth:`Lab.host`: a namespace
  with ``eth0``, a fixed MAC and an address, whose veth peer sits in the switch's namespace under the port's
  name), hosts on VLAN trunks (:meth:`Lab.trunk_host`, see the end of this file) and background processes.
  :meth:`Lab.cleanup` ends the processes by pid and deletes the namespaces; it always runs (the fixtures call
  it in ``finally``) and never raises.
* :class:`Switch` is a switch daemon in a private run directory, configured with the real ``ovs-vsctl`` and
  programmed with the real ``ovs-ofctl`` over ``unix:RUNDIR/BRIDGE.mgmt``.  :class:`PyvsSwitch` runs
  ``pyvs-vswitchd`` (its embedded database persists in the run directory) and inspects it with
  ``pyvs-appctl``; :class:`OvsSwitch` runs the real Open vSwitch (``ovsdb-server`` and ``ovs-vswitchd`` on the
  userspace datapath) and inspects it with ``ovs-appctl``, so that the same tests can be checked against it.

The switch daemon runs inside a namespace of its own (``ip netns exec``), and the switch ends of the veth
pairs live there, not in the root namespace.  Everything these tests create therefore has a private name
space: the bridge's own port (a TAP device named like the bridge, ``br0``) and Open vSwitch's ``ovs-netdev``
TAP device would otherwise collide with any other switch running on the host (tests running in parallel, a
developer's own ``br0``); Open vSwitch's userspace datapath in particular cannot open a second ``ovs-netdev``
in one namespace. For the switch this changes nothing: its ports are ordinary Linux interfaces opened with
AF_PACKET, and its sockets are files in the run directory, reachable from the root namespace.

Every namespace name starts with :data:`PREFIX` (``pvs`` and the pid of the test process), so that
:func:`delete_namespaces` can remove whatever a failed clean-up left behind at the end of the session, and
:func:`delete_stale_namespaces` what a run killed before its clean-up left.  Names of devices inside the
namespaces are short and fixed (``eth0``, ``p1``): they cannot collide with anything outside.
"""

from __future__ import annotations

import abc
import itertools
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from pyvswitch.packet.checksum import internet_checksum

__all__ = ["PREFIX", "Host", "Lab", "Netns", "OvsSwitch", "PyvsSwitch", "Switch", "VlanHost",
           "delete_namespaces", "delete_stale_namespaces", "make_switch", "ping_many", "run", "stop_pid",
           "tail",
           "wait_until"]

#: The start of every namespace name this process creates.
PREFIX = f"pvs{os.getpid()}"
PY = sys.executable
OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
T = TypeVar("T")

# ``ping`` as the tests use it: three probes 0.2 s apart, each given one second to be answered.
PING = ("ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "1")


def run(cmd: Iterable[str], *, check: bool = True, timeout: float = 30,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs ``cmd``, capturing its output as text; with ``check``, a non-zero exit status is an AssertionError
    that shows the command and its output."""
    argv = list(cmd)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r


def wait_until(what: str, predicate: Callable[[], T], timeout: float = 10.0,
               diagnose: Callable[[], str] | None = None, interval: float = 0.1) -> T:
    """Calls ``predicate`` until it returns something true, and returns that; after ``timeout`` seconds fails
    with ``what`` and ``diagnose()``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out ({timeout:g} s) waiting for {what}"
                                 + (f"\n{diagnose()}" if diagnose is not None else ""))
        time.sleep(interval)


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a file, or a note that there is none."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} unreadable)"


def _has_ended(pid: int, proc: subprocess.Popen[Any] | None) -> bool:
    if proc is not None:
        return proc.poll() is not None
    # A daemon that detached is not our child: once it exits it stays a zombie until its parent reaps it.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True


def stop_pid(pid: int, proc: subprocess.Popen[Any] | None = None, sig: int = signal.SIGTERM,
             grace: float = 5.0) -> None:
    """Ends one process that the tests started, by its pid: ``sig``, then SIGKILL after ``grace`` seconds."""
    for s in (sig, signal.SIGKILL):
        try:
            os.kill(pid, s)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and not _has_ended(pid, proc):
            time.sleep(0.02)
        if _has_ended(pid, proc):
            break
    if proc is not None:
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip() or "0") or None
    except (OSError, ValueError):
        return None


def delete_namespaces(prefix: str = PREFIX) -> list[str]:
    """Deletes every network namespace whose name starts with ``prefix`` and returns their names."""
    r = run(["ip", "netns", "list"], check=False)
    names = [line.split()[0] for line in r.stdout.splitlines() if line.strip()]
    gone = [n for n in names if n.startswith(prefix)]
    for n in gone:
        run(["ip", "netns", "del", n], check=False)
    return gone


def delete_stale_namespaces(tag: str = "pvs") -> list[str]:
    """Deletes the namespaces that an earlier run of these tests left behind when it was killed before its
    clean-up (names ``<tag>PID-N-...``, ``pvsPID-...`` by default, whose process PID no longer exists) and
    returns their names."""
    r = run(["ip", "netns", "list"], check=False)
    gone = []
    for line in r.stdout.splitlines():
        m = re.match(rf"({re.escape(tag)}(\d+)-\d+-\S+)", line)
        if m and not os.path.exists(f"/proc/{m.group(2)}"):
            run(["ip", "netns", "del", m.group(1)], check=False)
            gone.append(m.group(1))
    return gone


class Netns:
    """One network namespace, named ``name`` (under /run/netns)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Netns({self.name!r})"

    def argv(self, *cmd: str) -> list[str]:
        """``cmd`` run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *cmd]

    def run(self, *cmd: str, check: bool = True, timeout: float = 30,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run(self.argv(*cmd), check=check, timeout=timeout, env=env)

    def popen(self, *cmd: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Starts ``cmd`` inside the namespace with its output appended to ``log``.  ``ip netns exec`` execs
        the command in its own process, so the returned process's pid is the command's."""
        with open(log, "ab") as out:
            return subprocess.Popen(self.argv(*cmd), stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                                    env=env)

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``ip -n NAME ARGS``."""
        return run(["ip", "-n", self.name, *args], check=check)

    def sysctl(self, *settings: str) -> None:
        self.run("sysctl", "-q", "-w", *settings)

    def link(self, dev: str) -> dict[str, Any] | None:
        """``ip -j link show DEV`` as a dict, or None when there is no such device in the namespace."""
        r = self.ip("-j", "link", "show", "dev", dev, check=False)
        if r.returncode != 0:
            return None
        data = json.loads(r.stdout or "[]")
        return data[0] if data else None

    def snmp(self) -> dict[str, dict[str, int]]:
        """The namespace's /proc/net/snmp counters: {"Tcp": {"InCsumErrors": 0, ...}, "Udp": {...}, ...}."""
        lines = self.run("cat", "/proc/net/snmp").stdout.splitlines()
        out: dict[str, dict[str, int]] = {}
        for head, values in zip(lines[0::2], lines[1::2], strict=True):
            proto, _, names = head.partition(":")
            out[proto] = dict(zip(names.split(), (int(v) for v in values.partition(":")[2].split()),
                                  strict=True))
        return out


def ping_many(argvs: Iterable[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Runs every ping command (:meth:`Host.ping_argv`) at once and returns their results in order (pings that
    fail take a second or more each; run together they take that only once)."""
    started = [(argv, subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
               for argv in argvs]
    results = []
    for argv, p in started:
        try:
            out, _ = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
        results.append(subprocess.CompletedProcess(argv, p.returncode, out, ""))
    return results


class Host:
    """A namespace standing for one host on the switch: ``dev`` (``eth0``, or an internal port's device) with
    ``mac`` and ``ip``; ``port`` is the name of the switch's port that leads to it."""

    def __init__(self, ns: Netns, port: str, mac: str, ip: str | None, dev: str = "eth0") -> None:
        self.ns = ns
        self.port = port
        self.mac = mac
        self.ip = ip
        self.dev = dev

    def __repr__(self) -> str:
        return f"Host({self.ns.name}, port={self.port}, mac={self.mac}, ip={self.ip})"

    def ping_argv(self, dst: str | Host) -> list[str]:
        """The command that pings ``dst`` (a host or an address) three times from this host."""
        target = dst.ip if isinstance(dst, Host) else dst
        assert target is not None
        return self.ns.argv(*PING, target)

    def ping(self, dst: str | Host) -> subprocess.CompletedProcess[str]:
        """Three pings to ``dst``; the exit status is 0 when at least one was answered."""
        return run(self.ping_argv(dst), check=False, timeout=20)


class VlanHost(Host):
    """One VLAN of a namespace on a trunk port, emulated by ``netns.py vlan-host`` (see the end of this file):
    address ``ip`` in VLAN ``vid`` on ``eth0``."""

    def __init__(self, ns: Netns, port: str, mac: str, ip: str, vid: int) -> None:
        super().__init__(ns, port, mac, ip, f"eth0 vlan {vid}")
        self.vid = vid

    def ping_argv(self, dst: str | Host) -> list[str]:
        target = dst.ip if isinstance(dst, Host) else dst
        assert target is not None and self.ip is not None
        return self.ns.argv(PY, __file__, "vlan-ping", "eth0", str(self.vid), self.ip, target)


class Lab:
    """The namespaces, veth pairs and processes of one test, all deleted or ended by :meth:`cleanup`."""

    _ids = itertools.count(1)

    def __init__(self, workdir: Path) -> None:
        self.id = next(self._ids)
        self.workdir = workdir
        self.namespaces: list[Netns] = []
        self.procs: list[subprocess.Popen[bytes]] = []
        self._macs = itertools.count(1)
        self._switch_ns: Netns | None = None

    def netns(self, short: str) -> Netns:
        """A new namespace ``PREFIX-ID-short`` with its loopback up and IPv6 off (so that no router
        solicitation or multicast listener report adds frames and flows the tests did not ask for)."""
        ns = Netns(f"{PREFIX}-{self.id}-{short}")
        run(["ip", "netns", "add", ns.name])
        self.namespaces.append(ns)
        ns.ip("link", "set", "lo", "up")
        ns.sysctl("net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        return ns

    @property
    def switch_ns(self) -> Netns:
        """The namespace of the switch daemon and of the switch ends of the veth pairs."""
        if self._switch_ns is None:
            self._switch_ns = self.netns("sw")
        return self._switch_ns

    def next_mac(self) -> str:
        """A locally administered unicast MAC, different for each host of the lab."""
        n = next(self._macs)
        return f"02:00:00:{self.id & 0xff:02x}:{n >> 8:02x}:{n & 0xff:02x}"

    def veth(self, port: str, ns: Netns, dev: str = "eth0", mac: str | None = None) -> None:
        """A veth pair: ``port`` in the switch's namespace (up, no address), ``dev`` in ``ns`` (up)."""
        sw = self.switch_ns
        sw.ip("link", "add", port, "type", "veth", "peer", "name", dev, "netns", ns.name)
        if mac is not None:
            ns.ip("link", "set", "dev", dev, "address", mac)
        ns.ip("link", "set", "dev", dev, "up")
        sw.ip("link", "set", "dev", port, "up")

    def host(self, short: str, port: str, addr: str | None, mac: str | None = None,
             ns: Netns | None = None) -> Host:
        """A host: namespace ``short`` (new unless ``ns``), ``eth0`` with ``mac`` (default: a fresh one) and
        the address ``addr`` (CIDR, or None), joined by a veth pair to ``port`` in the switch's namespace.
        The port is not added to any bridge."""
        ns = ns if ns is not None else self.netns(short)
        mac = mac or self.next_mac()
        self.veth(port, ns, "eth0", mac)
        if addr is not None:
            ns.ip("addr", "add", addr, "dev", "eth0")
        return Host(ns, port, mac, addr.split("/")[0] if addr else None)

    def trunk_host(self, short: str, port: str, addrs: dict[int, str]) -> dict[int, VlanHost]:
        """A namespace on a trunk port with one address per VLAN ({VLAN ID: IPv4 address}), answered by a
        ``vlan-host`` process (logged to WORKDIR/vlan-host-SHORT.log, see :meth:`vlan_log`)."""
        h = self.host(short, port, None)
        log = self.workdir / f"vlan-host-{short}.log"
        p = self.spawn(h.ns, PY, __file__, "vlan-host", "eth0", *(f"{v}={a}" for v, a in addrs.items()),
                       name=f"vlan-host-{short}")
        wait_until("the VLAN host to start", lambda: p.poll() is not None or "ready" in tail(log, 1))
        assert p.poll() is None, tail(log)
        return {vid: VlanHost(h.ns, port, h.mac, a, vid) for vid, a in addrs.items()}

    def vlan_log(self, short: str) -> list[str]:
        """What the ``vlan-host`` of :meth:`trunk_host` ``short`` received, one line per frame."""
        return (self.workdir / f"vlan-host-{short}.log").read_text().splitlines()[1:]

    def spawn(self, ns: Netns, *cmd: str, name: str) -> subprocess.Popen[bytes]:
        """A background process in ``ns``, logged to WORKDIR/NAME.log, ended by pid in :meth:`cleanup`."""
        p = ns.popen(*cmd, log=self.workdir / f"{name}.log")
        self.procs.append(p)
        return p

    def cleanup(self) -> None:
        """Ends the lab's processes and deletes its namespaces (and so the veth pairs and TAP devices in
        them). Never raises: a cleanup step that fails must not hide the others or the test's own failure."""
        for p in reversed(self.procs):
            try:
                stop_pid(p.pid, p)
            except Exception as e:  # noqa: BLE001
                print(f"could not stop pid {p.pid}: {e!r}")
        self.procs.clear()
        for ns in reversed(self.namespaces):
            run(["ip", "netns", "del", ns.name], check=False)
        self.namespaces.clear()
        self._switch_ns = None


_DP_PORT = re.compile(r"^\s*port (\d+): (\S+)")
_FDB = re.compile(r"^\s*(\S+)\s+(\d+)\s+([0-9a-f:]{17})\s+(\S+)\s*$")


class Switch(abc.ABC):
    """A switch daemon with everything under ``rundir`` and its datapath in namespace ``ns``.

    :meth:`start` starts the whole switch (database and daemon) the first time and only the daemon after
    :meth:`kill`; :meth:`stop` ends everything by pid.  The database lives in the run directory, so a
    restarted daemon finds its bridges and ports again."""

    kind = ""
    #: The name of the daemon's log file in the run directory.
    log_name = ""

    def __init__(self, rundir: Path, ns: Netns) -> None:
        self.rundir = rundir
        self.ns = ns
        self.log = rundir / self.log_name
        self.env = dict(os.environ, OVS_RUNDIR=str(rundir), OVS_DBDIR=str(rundir), OVS_LOGDIR=str(rundir),
                        OVS_SYSCONFDIR=str(rundir))

    # -- life cycle --------------------------------------------------------------------------------------

    @abc.abstractmethod
    def start(self) -> None:
        """Starts the switch and returns once ``ovs-vsctl`` can talk to it."""

    @abc.abstractmethod
    def daemon_pid(self) -> int | None:
        """The pid of the switch daemon (the process that forwards), or None when it is not running."""

    @abc.abstractmethod
    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Sends ``sig`` to the switch daemon (only: a separate database server stays) and waits for its
        end."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Ends every process of the switch, by pid.  Never raises."""

    # -- tools -------------------------------------------------------------------------------------------

    def _run(self, cmd: list[str], check: bool = True,
             timeout: float = 30) -> subprocess.CompletedProcess[str]:
        r = run(cmd, check=False, timeout=timeout, env=self.env)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}{r.stderr}\n"
                                 f"{self.kind} log (tail):\n{tail(self.log, 25)}")
        return r

    def vsctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """The real ``ovs-vsctl`` on the switch's database; it waits until the daemon applied the change."""
        return self._run(["ovs-vsctl", f"--db=unix:{self.rundir}/db.sock", "--timeout=20", *args],
                         check=check)

    def ofctl(self, command: str, bridge: str, *args: str,
              check: bool = True) -> subprocess.CompletedProcess[str]:
        """The real ``ovs-ofctl COMMAND unix:RUNDIR/BRIDGE.mgmt ARGS``."""
        return self._run(["ovs-ofctl", command, f"unix:{self.rundir}/{bridge}.mgmt", *args], check=check)

    @abc.abstractmethod
    def appctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """The daemon's control command ``args`` (``dpctl/dump-flows``, ``fdb/show br0``...)."""

    # -- what tests ask ----------------------------------------------------------------------------------

    def add_bridge(self, name: str, *settings: str) -> None:
        """``ovs-vsctl add-br NAME`` on the userspace datapath (``datapath_type=netdev``), then ``settings``
        (more ``set bridge`` columns)."""
        self.vsctl("add-br", name, "--", "set", "bridge", name, "datapath_type=netdev", *settings)

    def get(self, table: str, record: str, column: str) -> str:
        return self.vsctl("--no-wait", "get", table, record, column).stdout.strip()

    def iface_error(self, name: str) -> str:
        """The Interface row's ``error`` column: the message, or "" when the column is empty."""
        v = self.vsctl("--no-wait", "--if-exists", "get", "interface", name, "error").stdout.strip()
        return "" if v in ("", "[]") else json.loads(v)

    def ofport(self, name: str) -> int:
        v = self.get("interface", name, "ofport")
        return int(v) if v.lstrip("-").isdigit() else 0

    def dp_ports(self) -> dict[str, int]:
        """{port name: datapath port number} from ``dpctl/show``."""
        out = self.appctl("dpctl/show").stdout
        return {m.group(2): int(m.group(1)) for m in map(_DP_PORT.match, out.splitlines()) if m}

    def dp_flows(self) -> list[str]:
        """The lines of ``dpctl/dump-flows`` that are flows."""
        return [line for line in self.appctl("dpctl/dump-flows").stdout.splitlines()
                if line.startswith(("recirc_id", "in_port", "skb_priority", "ufid"))]

    def fdb(self, bridge: str) -> list[tuple[int | str, int, str]]:
        """``fdb/show BRIDGE`` as (OpenFlow port, VLAN, MAC) triples (port ``LOCAL`` stays a string)."""
        rows = []
        for m in map(_FDB.match, self.appctl("fdb/show", bridge).stdout.splitlines()[1:]):
            if m:
                port: int | str = int(m.group(1)) if m.group(1).isdigit() else m.group(1)
                rows.append((port, int(m.group(2)), m.group(3)))
        return rows

    def diagnose(self) -> str:
        """What one wants to see when a test fails: the configuration, the ports, flows and the log's tail."""
        parts = [f"--- {self.kind} switch in {self.rundir}, namespace {self.ns.name}"]
        for what, cmd in (("ovs-vsctl show", lambda: self.vsctl("--no-wait", "show", check=False)),
                          ("dpif/show", lambda: self.appctl("dpif/show", check=False)),
                          ("dpctl/dump-flows", lambda: self.appctl("dpctl/dump-flows", check=False))):
            try:
                r = cmd()
                parts.append(f"--- {what}:\n{r.stdout}{r.stderr}")
            except Exception as e:  # noqa: BLE001
                parts.append(f"--- {what}: {e!r}")
        parts.append(f"--- {self.log.name} (tail):\n{tail(self.log, 30)}")
        return "\n".join(parts)


class PyvsSwitch(Switch):
    """``pyvs-vswitchd --rundir RUNDIR --pidfile`` in the switch's namespace, with its embedded database
    (RUNDIR/conf.db); inspected with ``pyvs-appctl --rundir RUNDIR``."""

    kind = "pyvswitch"
    log_name = "pyvs-vswitchd.log"

    def __init__(self, rundir: Path, ns: Netns) -> None:
        super().__init__(rundir, ns)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.proc is None, "already running"
        proc = self.proc = self.ns.popen(PY, "-m", "pyvswitch.vswitchd", "--rundir", str(self.rundir),
                                         "--pidfile", "--no-fsync", log=self.rundir / "stderr.txt",
                                         env=self.env)
        pidfile = self.rundir / "pyvs-vswitchd.pid"

        def diagnose() -> str:
            return f"stderr:\n{tail(self.rundir / 'stderr.txt')}\nlog:\n{tail(self.log)}"

        wait_until("pyvs-vswitchd to write its pidfile and serve its database",
                   lambda: proc.poll() is not None or (
                       _read_pid(pidfile) == proc.pid and self.vsctl("--no-wait", "show", check=False)
                       .returncode == 0), timeout=20, diagnose=diagnose)
        if proc.poll() is not None:
            raise AssertionError(f"pyvs-vswitchd exited with {proc.returncode}\n{diagnose()}")

    def daemon_pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        stop_pid(self.proc.pid, self.proc, sig)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            stop_pid(self.proc.pid, self.proc)
            self.proc = None

    def appctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run([PY, "-m", "pyvswitch.cli.appctl", "--rundir", str(self.rundir), *args], check=check)


class OvsSwitch(Switch):
    """The real Open vSwitch: ``ovsdb-server`` (in the root namespace: it only serves RUNDIR/db.sock) and
    ``ovs-vswitchd --detach`` in the switch's namespace, on the userspace datapath (there is no kernel
    module); inspected with ``ovs-appctl``."""

    kind = "ovs"
    log_name = "ovs-vswitchd.log"

    def __init__(self, rundir: Path, ns: Netns) -> None:
        super().__init__(rundir, ns)
        self.db_pid: int | None = None
        self.vswitchd_pid: int | None = None

    def start(self) -> None:
        d = self.rundir
        if self.db_pid is None:
            if not (d / "conf.db").exists():
                self._run(["ovsdb-tool", "create", f"{d}/conf.db", OVS_SCHEMA])
            self._run(["ovsdb-server", f"{d}/conf.db", f"--remote=punix:{d}/db.sock",
                       f"--pidfile={d}/ovsdb-server.pid", f"--log-file={d}/ovsdb-server.log", "--detach"])
            self.db_pid = _read_pid(d / "ovsdb-server.pid")
            self.vsctl("--no-wait", "init")
        self._run(self.ns.argv("ovs-vswitchd", f"unix:{d}/db.sock", f"--pidfile={d}/ovs-vswitchd.pid",
                               f"--log-file={self.log}", "--detach"))
        self.vswitchd_pid = _read_pid(d / "ovs-vswitchd.pid")

    def daemon_pid(self) -> int | None:
        pid = self.vswitchd_pid
        return pid if pid is not None and not _has_ended(pid, None) else None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.vswitchd_pid is not None
        stop_pid(self.vswitchd_pid, None, sig)
        self.vswitchd_pid = None
        # A killed ovs-vswitchd leaves its pidfile behind; a new one would refuse to start over a live pid
        # only.
        (self.rundir / "ovs-vswitchd.pid").unlink(missing_ok=True)

    def stop(self) -> None:
        for attr in ("vswitchd_pid", "db_pid"):
            pid = getattr(self, attr)
            if pid is not None:
                try:
                    stop_pid(pid, None)
                except Exception as e:  # noqa: BLE001
                    print(f"could not stop pid {pid}: {e!r}")
                setattr(self, attr, None)

    def appctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run(["ovs-appctl", *args], check=check)


def make_switch(kind: str, rundir: Path, ns: Netns) -> Switch:
    """``pyvs`` (or ``pyvswitch``): :class:`PyvsSwitch`; ``ovs``: :class:`OvsSwitch`."""
    if kind in ("pyvs", "pyvswitch"):
        return PyvsSwitch(rundir, ns)
    if kind == "ovs":
        if shutil.which("ovs-vswitchd") is None:
            raise AssertionError("PYVS_SYSTEM_SWITCH=ovs needs Open vSwitch's ovs-vswitchd on PATH")
        return OvsSwitch(rundir, ns)
    raise AssertionError(f"PYVS_SYSTEM_SWITCH={kind!r}: expected 'pyvs' or 'ovs'")


# -- a host on a VLAN trunk, in userspace --------------------------------------------------------------------
#
# The kernels these tests run on may lack 802.1Q support (CONFIG_VLAN_8021Q), so a namespace on a trunk port
# cannot always have ``eth0.10``-style sub-interfaces.  Instead a small program stands for them: on a raw
# AF_PACKET socket on the namespace's device it answers ARP requests and ICMP echo requests for one IPv4
# address per VLAN ID, in tagged frames of that VLAN (``vlan-host``), and it pings from such an address
# (``vlan-ping``). The kernel takes a received frame's tag out of the data and reports it in PACKET_AUXDATA;
# both places are read.  ``vlan-host`` prints one line per frame it receives (``vlan=VID`` or ``untagged``,
# ``src=MAC``, and what it is), so a test can check what the trunk was sent.

SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10
PACKET_OUTGOING = 4
ETH_P_ALL = 0x0003
_AUXDATA = struct.Struct("=IIIHHHH")


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def _ip(text: str) -> bytes:
    return socket.inet_aton(text)


class _TaggedSocket:
    """A raw socket on ``dev`` that yields (VLAN ID or None, Ethernet source, EtherType, payload) for each
    received frame and sends tagged frames."""

    def __init__(self, dev: str) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        self.sock.bind((dev, 0))
        self.mac = self.sock.getsockname()[4]

    def recv(self, timeout: float | None) -> tuple[int | None, bytes, bytes, int, bytes] | None:
        self.sock.settimeout(timeout)
        try:
            data, anc, _flags, addr = self.sock.recvmsg(65536, socket.CMSG_SPACE(_AUXDATA.size))
        except TimeoutError:
            return None
        if addr[2] == PACKET_OUTGOING or len(data) < 14:
            return (None, b"", b"", -1, b"")
        vid = None
        for level, kind, value in anc:
            if level == SOL_PACKET and kind == PACKET_AUXDATA and len(value) >= _AUXDATA.size:
                status, _, _, _, _, tci, _ = _AUXDATA.unpack_from(value)
                if status & TP_STATUS_VLAN_VALID:
                    vid = tci & 0xFFF
        dst, src, (ethertype,) = data[0:6], data[6:12], struct.unpack_from("!H", data, 12)
        payload = data[14:]
        if vid is None and ethertype == 0x8100 and len(data) >= 18:
            vid = struct.unpack_from("!H", data, 14)[0] & 0xFFF
            ethertype = struct.unpack_from("!H", data, 16)[0]
            payload = data[18:]
        return vid, dst, src, ethertype, payload

    def send(self, vid: int, dst: bytes, ethertype: int, payload: bytes) -> None:
        self.sock.send(dst + self.mac + struct.pack("!HHH", 0x8100, vid, ethertype) + payload)

    def arp(self, vid: int, op: int, dst: bytes, spa: bytes, tha: bytes, tpa: bytes) -> None:
        arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, self.mac, spa, tha, tpa)
        self.send(vid, dst, 0x0806, arp)


def _icmp_echo(src: bytes, dst: bytes, icmp_type: int, ident: int, seq: int, data: bytes) -> bytes:
    icmp = struct.pack("!BBHHH", icmp_type, 0, 0, ident, seq) + data
    icmp = icmp[:2] + struct.pack("!H", internet_checksum(icmp)) + icmp[4:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0x4000, 64, 1, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", internet_checksum(hdr)) + hdr[12:]
    return hdr + icmp


def _describe(ethertype: int, payload: bytes) -> str:
    if ethertype == 0x0806 and len(payload) >= 28:
        op, spa, tpa = struct.unpack_from("!H", payload, 6)[0], payload[14:18], payload[24:28]
        return f"arp op={op} {socket.inet_ntoa(spa)} -> {socket.inet_ntoa(tpa)}"
    if ethertype == 0x0800 and len(payload) >= 20:
        return (f"ip proto={payload[9]} {socket.inet_ntoa(payload[12:16])} -> "
                f"{socket.inet_ntoa(payload[16:20])}")
    return f"ethertype=0x{ethertype:04x}"


def vlan_host(dev: str, addrs: dict[int, str]) -> None:
    """Answers ARP and ICMP echo requests for ``addrs`` ({VLAN ID: IPv4 address}) in their VLANs, forever."""
    sock = _TaggedSocket(dev)
    mine = {vid: _ip(a) for vid, a in addrs.items()}
    print("ready", flush=True)
    while True:
        got = sock.recv(None)
        assert got is not None
        vid, _dst, src, ethertype, payload = got
        if ethertype < 0:
            continue
        tag = "untagged" if vid is None else f"vlan={vid}"
        print(f"{tag} src={src.hex(':')} {_describe(ethertype, payload)}", flush=True)
        if vid is None or vid not in mine:
            continue
        if ethertype == 0x0806 and len(payload) >= 28:
            op = struct.unpack_from("!H", payload, 6)[0]
            sha, spa, tpa = payload[8:14], payload[14:18], payload[24:28]
            if op == 1 and tpa == mine[vid]:
                sock.arp(vid, 2, src, mine[vid], sha, spa)
        elif ethertype == 0x0800 and len(payload) >= 28 and payload[9] == 1 and payload[16:20] == mine[vid]:
            ihl = (payload[0] & 0x0F) * 4
            total = struct.unpack_from("!H", payload, 2)[0]
            icmp = payload[ihl:total]
            if len(icmp) >= 8 and icmp[0] == 8:
                ident, seq = struct.unpack_from("!HH", icmp, 4)
                sock.send(vid, src, 0x0800, _icmp_echo(mine[vid], payload[12:16], 0, ident, seq, icmp[8:]))


def vlan_ping(dev: str, vid: int, src_ip: str, dst_ip: str, count: int = 3) -> int:
    """Resolves ``dst_ip`` with tagged ARP in VLAN ``vid``, then sends ``count`` echo requests from
    ``src_ip``; returns 0 when at least one was answered, else 1 (ping's exit status)."""
    sock = _TaggedSocket(dev)
    src, dst = _ip(src_ip), _ip(dst_ip)
    peer = None
    for _ in range(count):
        sock.arp(vid, 1, b"\xff" * 6, src, b"\0" * 6, dst)
        deadline = time.monotonic() + 1
        while peer is None and (left := deadline - time.monotonic()) > 0:
            got = sock.recv(left)
            if (got and got[0] == vid and got[3] == 0x0806 and len(got[4]) >= 28 and got[4][14:18] == dst
                    and got[4][6:8] == b"\x00\x02"):
                peer = got[4][8:14]
        if peer is not None:
            break
    if peer is None:
        print(f"vlan {vid}: no ARP reply from {dst_ip}; {count} packets transmitted, 0 received")
        return 1
    answered = 0
    ident = os.getpid() & 0xFFFF
    for seq in range(1, count + 1):
        sock.send(vid, peer, 0x0800, _icmp_echo(src, dst, 8, ident, seq, b"pyvswitch" * 4))
        deadline = time.monotonic() + 1
        while (left := deadline - time.monotonic()) > 0:
            got = sock.recv(left)
            if (got and got[0] == vid and got[3] == 0x0800 and len(got[4]) >= 28 and got[4][12:16] == dst
                    and got[4][9] == 1 and got[4][20] == 0
                    and struct.unpack_from("!H", got[4], 24)[0] == ident):
                answered += 1
                break
    print(f"vlan {vid}: {count} packets transmitted, {answered} received")
    return 0 if answered else 1


def main(argv: list[str]) -> int:
    """``netns.py vlan-host DEV VID=IP...`` or ``netns.py vlan-ping DEV VID SRC DST``."""
    if argv[:1] == ["vlan-host"] and len(argv) >= 3:
        vlan_host(argv[1], {int(v): a for v, _, a in (x.partition("=") for x in argv[2:])})
        return 0
    if argv[:1] == ["vlan-ping"] and len(argv) == 5:
        return vlan_ping(argv[1], int(argv[2]), argv[3], argv[4])
    print(main.__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
