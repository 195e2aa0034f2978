"""``make demo``: three hosts in network namespaces ping each other through a pyvswitch bridge.

What it does, as root, on this machine:

* starts a private ``pyvs-vswitchd`` (``--rundir`` a fresh temporary directory, ``--pidfile --detach``); every
  CLI finds it through ``PYVS_RUNDIR``;
* creates bridge ``br0`` on the userspace datapath (``datapath_type=netdev``) and three hosts: a network
  namespace each (``PREFIX-h1`` ...), whose ``eth0`` is one end of a veth pair; the other end (``PREFIXh1`` ...)
  stays in the root namespace and becomes a port of ``br0`` (type ``system``: the switch opens it with AF_PACKET);
* step 1, NORMAL switching (the bridge's default flow): h1 pings h2 and h3, and ``fdb/show`` lists the MAC
  addresses the bridge learned;
* step 2, explicit flows: ``del-flows`` removes NORMAL and h1 can no longer reach h2; then ARP and IP flows
  between the ports of h1 and h2 (by ``in_port`` and ``output``) bring h1 and h2 back, while h3, which no flow
  mentions, stays cut off;
* step 3, what the switch holds: ``pyvs-vsctl show``, ``pyvs-ofctl dump-flows`` (with the counters),
  ``pyvs-appctl dpif/show`` (OpenFlow and datapath port numbers), ``dpctl/dump-flows`` (the megaflows) and
  ``ofproto/trace`` of an ICMP packet from h1 to h2 and to h3;
* removes everything it created (always: also on an error, Ctrl-C or SIGTERM): the daemon (by the pid in its
  pidfile), the namespaces, the veth pairs and the run directory, checks that none is left, and prints a table
  of what was expected and what happened, with the time it took.

Every name it creates starts with ``PREFIX`` (``pvd`` and the demo's pid), so that one can tell its namespaces and
devices from anything else on the host.  IPv6 is turned off on the hosts' interfaces so that router
solicitations and multicast listener reports do not add flows the demo did not ask for.  The exit status is 0
when every expected outcome happened, 1 when one did not, 2 when the demo could not run (not root, a tool
missing), 130 when it was interrupted.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

BRIDGE = "br0"
SUBNET = "10.0.0"
#: Host number -> MAC address of the host's eth0 (fixed, so that the outputs are easy to read).
MACS = {n: f"02:00:00:00:00:{n:02x}" for n in (1, 2, 3)}
#: ``ping`` as the demo runs it: two probes 0.2 s apart, each given a second to be answered.
PING = ("ping", "-c", "2", "-i", "0.2", "-W", "1")
IPV6_OFF = "/proc/sys/net/ipv6"


def prefix_for(pid: int) -> str:
    """The start of every namespace and device name the demo with this pid creates."""
    return f"pvd{pid}"


@dataclass
class Host:
    n: int
    prefix: str
    ofport: int = 0
    dp_port: int = 0

    @property
    def name(self) -> str:
        return f"h{self.n}"

    @property
    def ns(self) -> str:
        return f"{self.prefix}-h{self.n}"

    @property
    def port(self) -> str:
        """The veth end in the root namespace, a port of the bridge (at most 15 characters)."""
        return f"{self.prefix}h{self.n}"

    @property
    def ip(self) -> str:
        return f"{SUBNET}.{self.n}"

    @property
    def mac(self) -> str:
        return MACS[self.n]


@dataclass
class Check:
    step: str
    expected: str
    got: str
    ok: bool


class Interrupted(Exception):
    """Ctrl-C, SIGTERM or SIGHUP: the demo stops and cleans up."""


@dataclass
class Demo:
    prefix: str
    rundir: str = ""
    env: dict[str, str] = field(default_factory=dict)
    hosts: list[Host] = field(default_factory=list)
    daemon_pid: int | None = None
    namespaces: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    #: The TAP devices the daemon holds (the bridge's own port): name -> ifindex, to check they went with it.
    taps: dict[str, int] = field(default_factory=dict)

    # -- running and showing commands ----------------------------------------------------------------------

    def run(self, *argv: str, show: bool = True, quiet: bool = False,
            timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Runs ``argv`` (a ``pyvs-*`` program is taken from this Python's bin directory); with ``show``,
        prints ``$ argv`` and, unless ``quiet``, its output indented under it."""
        exe = _tool(argv[0])
        r = subprocess.run([exe, *argv[1:]], env=self.env, capture_output=True, text=True, timeout=timeout,
                           check=False)
        if show:
            print(f"  $ {' '.join(argv)}", flush=True)
            if not quiet or r.returncode != 0:
                for line in (r.stdout + r.stderr).rstrip("\n").splitlines():
                    print(f"    {line}")
                if r.returncode != 0:
                    print(f"    (exit status {r.returncode})")
        return r

    def must(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """:meth:`run`, shown without output; a failure stops the demo."""
        r = self.run(*argv, quiet=True)
        if r.returncode != 0:
            raise RuntimeError(f"`{' '.join(argv)}` failed with exit status {r.returncode}")
        return r

    def check(self, step: str, expected: str, got: str, ok: bool) -> None:
        self.checks.append(Check(step, expected, got, ok))
        print(f"  -> {step}: {got} ({'as expected' if ok else 'EXPECTED ' + expected})\n")

    # -- set-up --------------------------------------------------------------------------------------------

    def start_switch(self) -> None:
        section("Set-up: a private pyvs-vswitchd and bridge br0 on the userspace datapath")
        if ifindex(BRIDGE):
            note(f"a device named {BRIDGE} already exists here: the bridge's own port may report an error; "
                 "the demo does not use it")
        self.rundir = tempfile.mkdtemp(prefix=f"{self.prefix}-", dir="/tmp")
        self.env = dict(os.environ, PYVS_RUNDIR=self.rundir)
        r = self.run("pyvs-vswitchd", "--rundir", self.rundir, "--pidfile", "--detach", quiet=True)
        pidfile = os.path.join(self.rundir, "pyvs-vswitchd.pid")
        if os.path.exists(pidfile):
            with open(pidfile) as f:
                self.daemon_pid = int(f.read().strip() or "0") or None
        if r.returncode != 0 or self.daemon_pid is None:
            print(_tail(os.path.join(self.rundir, "pyvs-vswitchd.log")))
            raise RuntimeError("pyvs-vswitchd did not start")
        note(f"daemon pid {self.daemon_pid}, log {self.rundir}/pyvs-vswitchd.log")
        print(f"  $ export PYVS_RUNDIR={self.rundir}")
        self.must("pyvs-vsctl", "add-br", BRIDGE, "--", "set", "bridge", BRIDGE, "datapath_type=netdev")
        self.taps = taps_of(self.daemon_pid)

    def add_host(self, host: Host) -> None:
        ipv6 = os.path.isdir(IPV6_OFF)
        self.namespaces.append(host.ns)
        self.must("ip", "netns", "add", host.ns)
        if ipv6:
            self.must("ip", "netns", "exec", host.ns, "sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1")
        self.devices.append(host.port)
        self.must("ip", "link", "add", host.port, "type", "veth", "peer", "name", "eth0", "address", host.mac,
                  "netns", host.ns)
        if ipv6:
            self.must("sysctl", "-q", "-w", f"net.ipv6.conf.{host.port}.disable_ipv6=1")
        self.must("ip", "-n", host.ns, "addr", "add", f"{host.ip}/24", "dev", "eth0")
        self.must("ip", "-n", host.ns, "link", "set", "eth0", "up")
        self.must("ip", "link", "set", host.port, "up")
        self.must("pyvs-vsctl", "add-port", BRIDGE, host.port)

    def build_topology(self) -> None:
        section("Set-up: three hosts (network namespaces), each on a veth pair whose other end is a port of br0")
        self.hosts = [Host(n, self.prefix) for n in (1, 2, 3)]
        for host in self.hosts:
            self.add_host(host)
        for host in self.hosts:
            value = self.run("pyvs-vsctl", "get", "interface", host.port, "ofport", show=False).stdout.strip()
            host.ofport = int(value) if value.isdigit() else 0
        dp_ports = {m.group(1): int(m.group(3)) for m in
                    map(_DPIF_PORT.match, self.run("pyvs-appctl", "dpif/show", show=False).stdout.splitlines())
                    if m}
        print("\n  host  namespace      eth0 address   eth0 MAC           switch port       OpenFlow port")
        for host in self.hosts:
            host.dp_port = dp_ports.get(host.port, 0)
            print(f"  {host.name:<5} {host.ns:<14} {host.ip + '/24':<14} {host.mac}  {host.port:<17} "
                  f"{host.ofport or '(none)'}")
        if self.daemon_pid is not None:
            self.taps.update(taps_of(self.daemon_pid))
        missing = [h.port for h in self.hosts if h.ofport <= 0]
        if missing:
            raise RuntimeError(f"the switch gave no OpenFlow port number to {', '.join(missing)}")
        print()

    # -- the steps -----------------------------------------------------------------------------------------

    def ping(self, src: Host, dst: Host, answered: bool, step: str) -> None:
        """Pings ``dst`` from ``src``; records whether it was answered (at least one reply) as ``answered``
        says.  An unanswered ping is one that sent its probes and got nothing back (exit status 1), not one that
        could not run."""
        r = self.run("ip", "netns", "exec", src.ns, *PING, dst.ip)
        m = re.search(r"(\d+) packets transmitted, (\d+) received", r.stdout)
        sent, received = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        if r.returncode == 0 and received > 0:
            got, ok = f"answered ({received}/{sent})", answered
        elif r.returncode == 1 and m and received == 0:
            got, ok = f"no answer (0/{sent})", not answered
        else:
            got, ok = f"ping failed to run (exit status {r.returncode})", False
        self.check(f"{step}: ping {src.name} -> {dst.name}", "answered" if answered else "no answer", got, ok)

    def step_normal(self) -> None:
        h1, h2, h3 = self.hosts
        section("1. NORMAL switching: the bridge's only flow is priority=0 actions=NORMAL (a learning switch)")
        self.run("pyvs-ofctl", "dump-flows", BRIDGE)
        self.ping(h1, h2, True, "NORMAL")
        self.ping(h1, h3, True, "NORMAL")
        out = self.run("pyvs-appctl", "fdb/show", BRIDGE).stdout
        learned = {(int(m.group(1)), m.group(2)) for m in map(_FDB.match, out.splitlines()) if m}
        right = [h.name for h in self.hosts if (h.ofport, h.mac) in learned]
        self.check("NORMAL: fdb/show", "h1 h2 h3 on their ports", f"{' '.join(right) or 'none'} on their ports",
                   len(right) == len(self.hosts))

    def step_flows(self) -> None:
        h1, h2, h3 = self.hosts
        section("2. Explicit flows: without NORMAL nothing passes; then ARP and IP between h1 and h2 only")
        self.must("pyvs-ofctl", "del-flows", BRIDGE)
        note("the hosts forget each other's MAC addresses, so that ARP has to cross the switch again")
        for host in self.hosts:
            self.must("ip", "-n", host.ns, "neigh", "flush", "all")
        self.ping(h1, h2, False, "no flows")
        note("h1's kernel still holds those pings, waiting for ARP; forgetting h2 drops them, so that they are "
             "not counted below")
        self.must("ip", "-n", h1.ns, "neigh", "flush", "all")
        flows = [f"priority=100,arp,in_port={h1.ofport},actions=output:{h2.ofport}",
                 f"priority=100,arp,in_port={h2.ofport},actions=output:{h1.ofport}",
                 f"priority=100,ip,in_port={h1.ofport},nw_dst={h2.ip},actions=output:{h2.ofport}",
                 f"priority=100,ip,in_port={h2.ofport},nw_dst={h1.ip},actions=output:{h1.ofport}"]
        for flow in flows:
            self.must("pyvs-ofctl", "add-flow", BRIDGE, flow)
        self.ping(h1, h2, True, "flows")
        self.ping(h1, h3, False, "flows")

    def step_show(self) -> None:
        h1, h2, h3 = self.hosts
        section("3. What the switch holds: configuration, OpenFlow rules, datapath flows, a trace")
        out = self.run("pyvs-vsctl", "show").stdout
        errors = re.findall(r'^\s+error: "(.*)"$', out, re.MULTILINE)
        if errors:
            note(f"the switch reports {len(errors)} interface error(s) above; the demo does not use the bridge's "
                 "own port")
        note("the revalidator pushes the datapath's packet counts to the OpenFlow rules: wait for one round")
        self.run("pyvs-appctl", "revalidator/wait", quiet=True)
        out = self.run("pyvs-ofctl", "dump-flows", BRIDGE).stdout
        rule = re.search(rf"n_packets=(\d+),.*\bip,in_port={h1.ofport},nw_dst={re.escape(h2.ip)} ", out)
        count = int(rule.group(1)) if rule else 0
        self.check(f"dump-flows: ip,in_port={h1.ofport},nw_dst={h2.ip}", "n_packets > 0",
                   f"n_packets={count}" if rule else "rule not listed", count > 0)
        self.run("pyvs-appctl", "dpif/show")
        out = self.run("pyvs-appctl", "dpctl/dump-flows").stdout
        megaflow = [line for line in out.splitlines()
                    if f"in_port({h1.dp_port})" in line and f"ipv4(dst={h2.ip}," in line]
        want = f"actions:{h2.dp_port}"
        self.check(f"dpctl: megaflow in_port({h1.dp_port}),ipv4(dst={h2.ip})", want,
                   megaflow[0].rpartition(", ")[2] if megaflow else "no such megaflow",
                   bool(megaflow) and megaflow[0].endswith(want))
        for dst, want in ((h2, f"Datapath actions: {h2.dp_port}"), (h3, "Datapath actions: drop")):
            out = self.run("pyvs-appctl", "ofproto/trace", BRIDGE,
                           f"in_port={h1.ofport},icmp,dl_src={h1.mac},dl_dst={dst.mac},nw_src={h1.ip},"
                           f"nw_dst={dst.ip}").stdout
            print()
            got = [line for line in out.splitlines() if line.startswith("Datapath actions:")]
            self.check(f"trace: icmp {h1.name} -> {dst.name}", want, got[-1] if got else "no such line",
                       bool(got) and got[-1] == want)

    # -- clean-up ------------------------------------------------------------------------------------------

    def cleanup(self, failed: bool) -> None:
        """Removes everything the demo created; never raises, so that one failed step does not keep the others
        from running.  After a failure the end of the daemon's log is shown first: it goes with the run
        directory."""
        section("Clean-up: the bridge, the daemon, the veth pairs, the namespaces, the run directory")
        log = os.path.join(self.rundir, "pyvs-vswitchd.log") if self.rundir else ""
        if failed and log and os.path.exists(log):
            print(f"  $ tail -n 20 {log}")
            for line in _tail(log).splitlines():
                print(f"    {line}")
        pid = self.daemon_pid
        if pid is not None and _alive(pid):
            # Deleting the bridge closes its ports, which removes the TAP device of its own port (br0).
            _attempt(self.run, "pyvs-vsctl", "--timeout=10", "--if-exists", "del-br", BRIDGE, quiet=True,
                     timeout=15)
        if pid is not None:
            print(f"  $ kill {pid}")
            _attempt(stop_daemon, pid, self.rundir)
        # Deleting one end of a veth pair deletes the other: the hosts' eth0 go with the switch's ports.
        for dev in self.devices:
            _attempt(self._delete, "device", dev)
        for ns in self.namespaces:
            _attempt(self._delete, "namespace", ns)
        if self.rundir and os.path.isdir(self.rundir):
            print(f"  $ rm -rf {self.rundir}")
            shutil.rmtree(self.rundir, ignore_errors=True)

    def _delete(self, kind: str, name: str) -> None:
        """Deletes a device of the root namespace or a namespace of the demo's, if it is still there."""
        if kind == "device" and name in list_devices(self.prefix):
            self.run("ip", "link", "del", name, quiet=True)
        elif kind == "namespace" and name in list_namespaces(self.prefix):
            self.run("ip", "netns", "del", name, quiet=True)

    def leftovers(self) -> list[str]:
        """Whatever of the demo's is still there: namespaces, devices, processes, the run directory."""
        left = [f"namespace {n}" for n in list_namespaces(self.prefix)]
        left += [f"device {d}" for d in list_devices(self.prefix)]
        left += [f"device {name}" for name, index in self.taps.items() if ifindex(name) == index]
        if self.rundir:
            left += [f"process {pid}" for pid in processes_using(self.rundir)]
            if os.path.exists(self.rundir):
                left.append(f"directory {self.rundir}")
        return left


# -- helpers ---------------------------------------------------------------------------------------------------

_DPIF_PORT = re.compile(r"^\s+(\S+) (\d+)/(\d+):")
_FDB = re.compile(r"^\s*(\d+)\s+\d+\s+([0-9a-f:]{17})\s")


def _attempt(fn: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """Calls ``fn``; an exception is printed, not raised (one clean-up step must not keep the others from
    running)."""
    try:
        fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001
        print(f"    clean-up step failed: {type(e).__name__}: {e}")


def section(title: str) -> None:
    print(f"\n== {title}\n", flush=True)


def note(text: str) -> None:
    """A remark between commands, printed like a shell comment."""
    print(f"  # {text}")


def _tool(name: str) -> str:
    """``name`` from this Python's bin directory (the virtualenv's ``pyvs-*``) when it is there, else from PATH."""
    local = os.path.join(os.path.dirname(sys.executable), name)
    return local if os.path.exists(local) else (shutil.which(name) or name)


def _tail(path: str, lines: int = 20) -> str:
    try:
        with open(path, errors="replace") as f:
            return "\n".join(f.read().splitlines()[-lines:])
    except OSError:
        return f"({path} unreadable)"


def list_namespaces(prefix: str) -> list[str]:
    """The network namespaces of the demo with this prefix (``PREFIX-h1`` ...)."""
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False, timeout=30)
    return [line.split()[0] for line in r.stdout.splitlines() if line.startswith(f"{prefix}-")]


def list_devices(prefix: str) -> list[str]:
    """The network devices of the root namespace of the demo with this prefix (``PREFIXh1`` ...)."""
    r = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=False, timeout=30)
    names = [line.split(":")[1].strip().split("@")[0] for line in r.stdout.splitlines() if ":" in line]
    return [n for n in names if n.startswith(f"{prefix}h")]


def ifindex(name: str) -> int:
    """The interface index of device ``name`` in this namespace, 0 when there is none."""
    try:
        with open(f"/sys/class/net/{name}/ifindex") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0


def taps_of(pid: int) -> dict[str, int]:
    """The TAP devices process ``pid`` has open (the kernel names each in the fd's ``iff:`` line): name ->
    ifindex.  A device of the same name that another switch on this host holds is not among them."""
    found: dict[str, int] = {}
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return found
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != "/dev/net/tun":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                m = re.search(r"^iff:\s*(\S+)", f.read(), re.MULTILINE)
        except OSError:
            continue
        if m and ifindex(m.group(1)):
            found[m.group(1)] = ifindex(m.group(1))
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie has ended: a detached daemon is not our child, its parent reaps it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def processes_using(rundir: str) -> list[int]:
    """Live processes whose command line names ``rundir`` (the daemon, a CLI that hung)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if rundir in argv and _alive(int(entry)):
            found.append(int(entry))
    return found


def stop_daemon(pid: int, rundir: str) -> None:
    """SIGTERM to ``pid``, SIGKILL after 10 s; only if its command line names ``rundir`` (a pid read from a file
    could by now be someone else's)."""
    if pid not in processes_using(rundir):
        return
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.05)


@contextmanager
def interruptible() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP raise :class:`Interrupted` inside the block; after it they are ignored, so that
    the clean-up that follows runs to its end."""
    def stop(signum: int, _frame: object) -> None:
        raise Interrupted(signal.Signals(signum).name)

    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for s in sigs:
        signal.signal(s, stop)
    try:
        yield
    finally:
        for s in sigs:
            signal.signal(s, signal.SIG_IGN)


def summary(checks: Sequence[Check], left: list[str], created: str, elapsed: float, failure: str | None) -> int:
    section("Summary")
    rows = [*checks, Check("clean-up", "nothing left", ", ".join(left) if left else "nothing left", not left)]
    w1 = max(len(c.step) for c in rows)
    w2 = max(len(c.expected) for c in rows)
    print(f"       {'step':<{w1}}  {'expected':<{w2}}  got")
    for c in rows:
        print(f"  {'ok' if c.ok else 'FAIL':<4} {c.step:<{w1}}  {c.expected:<{w2}}  {c.got}")
    passed = sum(c.ok for c in rows)
    print()
    if failure:
        print(f"  The demo stopped early: {failure}")
    print(f"  {passed} of {len(rows)} as expected, in {elapsed:.1f} s.")
    if left:
        print(f"  NOT removed: {', '.join(left)}")
    else:
        print(f"  Everything the demo created was removed ({created}).")
    return 0 if passed == len(rows) and not failure else 1


def main() -> int:
    t0 = time.monotonic()
    if os.geteuid() != 0:
        print("make demo creates network namespaces and veth pairs: run it as root (sudo make demo).",
              file=sys.stderr)
        return 2
    missing = [t for t in ("ip", "ping", "sysctl", "pyvs-vswitchd", "pyvs-vsctl", "pyvs-ofctl", "pyvs-appctl")
               if shutil.which(_tool(t)) is None]
    if missing:
        print(f"make demo needs {', '.join(missing)} (make demo installs iproute2 and iputils-ping)",
              file=sys.stderr)
        return 2
    demo = Demo(prefix_for(os.getpid()))
    print(f"pyvswitch demo: names start with {demo.prefix}; run directory under /tmp; everything is removed "
          "at the end.")
    failure: str | None = None
    interrupted = False
    try:
        with interruptible():
            demo.start_switch()
            demo.build_topology()
            demo.step_normal()
            demo.step_flows()
            demo.step_show()
    except Interrupted as e:
        failure, interrupted = f"interrupted ({e})", True
    except Exception as e:  # noqa: BLE001
        failure = f"{type(e).__name__}: {e}"
    finally:
        demo.cleanup(failure is not None or not all(c.ok for c in demo.checks))
    taps = "".join(f", TAP {name}" for name in demo.taps)
    created = (f"daemon pid {demo.daemon_pid}, {len(demo.namespaces)} namespaces, {len(demo.devices)} veth "
               f"pairs{taps}, run directory {demo.rundir}")
    rc = summary(demo.checks, demo.leftovers(), created, time.monotonic() - t0, failure)
    return 130 if interrupted else rc


if __name__ == "__main__":
    sys.exit(main())
