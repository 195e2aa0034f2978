"""Hypervisors joined by an underlay network, for the system tests of tunnels (VXLAN, Geneve, GRE).

The layout is Open vSwitch's documented one for native (userspace) tunnelling, built from network namespaces::

    guest g11 --veth-- [ br-int: guests + tunnel ports ]                        hypervisor h1
                       [ br-phy: eth0 ; 10.0.0.1/24 on br-phy's own port ] --eth0--+
                                                                                     |  veth up1
                                                              underlay namespace u:  ub (Linux bridge,
                                                              10.0.0.254/24, IPv4 forwarding: a router)
                                                                                     |  veth up2
    guest g21 --veth-- [ br-int ] [ br-phy: eth0 ; 10.0.0.2/24 ]               --eth0--+  hypervisor h2

* :class:`Topo` owns everything of one topology: the underlay namespace ``u`` with its Linux bridge ``ub`` (one
  layer-2 segment for every hypervisor, so that three hypervisors cost nothing more than two) and, on ``ub``,
  the address ``10.0.0.254``: with forwarding on, it is a next hop that a route can go through (a route change
  test moves the route to a hypervisor from "on the link" to "via 10.0.0.254").  ``underlay_mtu`` sets the MTU
  of every underlay link (and of ``br-phy``), for the fragmentation and frag-needed tests; ``ipv6`` adds
  ``fd00::<i>/64`` on each hypervisor's ``br-phy`` (IPv6 is otherwise off everywhere, so that no router
  solicitation or listener report adds packets and flows the tests did not ask for).
* :class:`Hypervisor` is a namespace ``h<i>`` whose ``eth0`` is its "physical NIC" on the underlay, running
  one switch: ``pyvs`` (``pyvs-vswitchd``), ``ovs`` (the real ``ovs-vswitchd`` on its userspace datapath,
  ``datapath_type=netdev``: there is no kernel module here) — both through :mod:`netns`'s :class:`netns.Switch`
  with a private run directory — or ``kernel``: no switch, ``eth0`` carries the underlay address itself, and
  Linux VXLAN devices are bridged to the guests by a Linux bridge ``br0`` (:meth:`Hypervisor.kernel_vxlan`).
  The switch hosts have the two bridges of the picture; the underlay address sits on ``br-phy``'s internal port,
  so the route to the other hypervisors goes out of ``br-phy``, which is how the switch knows that tunnel packets
  leave through that bridge and which packets arriving there end at its tunnels.
* :class:`Guest` is a namespace ``g<i><j>`` with ``eth0`` (a fixed MAC, an address in ``192.168.1.0/24``, MTU
  :data:`GUEST_MTU` unless told) whose veth peer ``vg<j>`` is a port of the hypervisor's ``br-int`` (or of
  ``br0``).

Hosts that run a switch set ``arp_ignore=1``: the switch reads ``eth0`` with a packet socket, so the kernel sees
its frames too and would otherwise answer ARP for br-phy's address from ``eth0`` (see :class:`Hypervisor`).
Guests turn their veth's transmit checksum offload off unless asked (see :meth:`Hypervisor.add_guest`).

Helpers: :func:`ping_ok` (a warm-up until the first reply, then pings that must all be answered),
:func:`iperf` and :func:`assert_tcp` (iperf3 TCP with a plausible byte count).  Fixtures for the test modules
(import them there): ``topo`` (a :class:`Topo` per test, whose state is printed when the test fails) and
``tunnel_session``.  :data:`SWITCH_KIND` is the switch under test: ``PYVS_SYSTEM_SWITCH`` as for the other
system tests (``pyvs`` by default, ``ovs`` to check the tests against Open vSwitch).

Names: every namespace is ``pvD<pid>-<topology>-<short>``, so that :func:`delete_namespaces` removes what a
failed clean-up left at the end of the session and :func:`delete_stale_namespaces` what a killed run left.
Device names inside namespaces are short and fixed.  Processes (daemons, iperf3 servers) are ended by pid.

Run as a script (``python tests/system/tunnel_topo.py pyvs ovs``) it builds two hypervisors joined by VXLAN
(key 100), pings between their guests and waits for Enter before tearing down: a quick way to look at a live
setup with ``ovs-appctl``/``pyvs-appctl``.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import netns
from netns import Netns, run, stop_pid, tail, wait_until

__all__ = [
    "GUEST_MTU",
    "GUEST_PORT",
    "PREFIX",
    "SWITCH_KIND",
    "TUN_PORT",
    "Guest",
    "Hypervisor",
    "Topo",
    "assert_tcp",
    "delete_namespaces",
    "delete_stale_namespaces",
    "iperf",
    "ping_ok",
    "topo",
    "tunnel_session",
]

#: The switch under test: ``pyvs``, or ``ovs`` to check the tests themselves against Open vSwitch (as the other
#: system tests do).
SWITCH_KIND = os.environ.get("PYVS_SYSTEM_SWITCH", "pyvs")
#: The start of every namespace name this process creates.
PREFIX = f"pvD{os.getpid()}"
#: The guests' MTU: small enough that a 1,500-byte underlay carries every encapsulation these tests use
#: (Geneve with an 8-byte option adds 58 bytes) without fragments, as deployments do it.
GUEST_MTU = 1400
#: OpenFlow port numbers of a guest and of a tunnel port in the tests' flows.
GUEST_PORT = 1
TUN_PORT = 10
#: Bytes a TCP test must at least move per second: even a slow switch moves megabytes.
MIN_TCP_BYTES = 1_000_000
UNDERLAY_NET = "10.0.0"
ROUTER_IP = f"{UNDERLAY_NET}.254"
UNDERLAY_NET6 = "fd00::"
GUEST_NET = "192.168.1"


def delete_namespaces(prefix: str = PREFIX) -> list[str]:
    """Deletes every namespace whose name starts with ``prefix``."""
    return netns.delete_namespaces(prefix)


def delete_stale_namespaces() -> list[str]:
    """Deletes the namespaces left by earlier runs killed before their clean-up (``pvDPID-...`` whose process
    PID is gone)."""
    return netns.delete_stale_namespaces("pvD")


def ping_argv(ns: Netns, dst: str, *extra: str, count: int = 3) -> list[str]:
    return ns.argv("ping", "-n", "-c", str(count), "-i", "0.2", "-W", "1", *extra, dst)


def ping_ok(ns: Netns, dst: str, *, warmup: float = 15.0, count: int = 3,
            extra: Iterable[str] = ()) -> subprocess.CompletedProcess[str]:
    """Pings ``dst`` from ``ns`` until one echo is answered (the first packets of a tunnel may be lost while
    the switches resolve the next hop and learn MACs), for at most ``warmup`` seconds, then ``count`` more
    pings that must all be answered.  Returns the last ping's result; fails with every output seen."""
    seen: list[str] = []

    def one() -> bool:
        r = run(ping_argv(ns, dst, *extra, count=1), check=False, timeout=10)
        seen.append(r.stdout + r.stderr)
        return r.returncode == 0

    try:
        wait_until(f"a first ping reply from {dst} in {ns.name}", one, timeout=warmup, interval=0.2)
    except AssertionError as e:
        raise AssertionError(f"{e}\nlast ping outputs:\n" + "".join(seen[-3:])) from None
    r = run(ping_argv(ns, dst, *extra, count=count), check=False, timeout=30)
    assert r.returncode == 0 and f"{count} received" in r.stdout, (
        f"after a first reply, {count} pings from {ns.name} to {dst} were not all answered:\n{r.stdout}{r.stderr}")
    return r


def iperf(client: Guest, server: Guest, seconds: float = 2.0) -> dict[str, Any]:
    """Runs an iperf3 TCP test from ``client`` to ``server`` (its server process ended by pid afterwards) and
    returns iperf3's JSON report."""
    log = client.topo.workdir / f"iperf3-{server.short}.log"
    proc = server.ns.popen("iperf3", "-s", "-1", "-B", server.ip, log=log)
    try:
        wait_until("the iperf3 server to listen",
                   lambda: proc.poll() is not None or f"{server.ip}:5201" in server.ns.run(
                       "ss", "-Htln", check=False).stdout, timeout=10)
        assert proc.poll() is None, f"iperf3 server exited:\n{tail(log)}"
        r = client.ns.run("iperf3", "-c", server.ip, "-t", f"{seconds:g}", "-J", "--connect-timeout", "3000",
                          check=False, timeout=seconds + 30)
        try:
            report: dict[str, Any] = json.loads(r.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"iperf3 printed no JSON ({r.returncode}):\n{r.stdout}{r.stderr}") from None
        assert "error" not in report, f"iperf3: {report['error']}"
        return report
    finally:
        stop_pid(proc.pid, proc)


def assert_tcp(client: Guest, server: Guest, seconds: float = 1.0) -> dict[str, float]:
    """iperf3 from ``client`` to ``server`` completes and moves a plausible number of bytes."""
    rep = iperf(client, server, seconds)
    end = rep["end"]
    sent, received = end["sum_sent"]["bytes"], end["sum_received"]["bytes"]
    assert received >= MIN_TCP_BYTES * seconds, f"iperf3 moved only {received} bytes in {seconds} s"
    assert received <= sent, (sent, received)
    return {"sent": sent, "received": received, "bps": end["sum_received"]["bits_per_second"]}


class Guest:
    """A guest namespace: ``eth0`` with ``mac`` and ``ip``; ``port`` is its veth peer on the hypervisor."""

    def __init__(self, topo: Topo, hv: Hypervisor, short: str, ns: Netns, port: str, mac: str,
                 ip: str) -> None:
        self.topo = topo
        self.hv = hv
        self.short = short
        self.ns = ns
        self.port = port
        self.mac = mac
        self.ip = ip

    def __repr__(self) -> str:
        return f"Guest({self.short}, {self.ip}, {self.mac}, port {self.port} on {self.hv.name})"

    def ping(self, dst: str | Guest, *extra: str, count: int = 3) -> subprocess.CompletedProcess[str]:
        """``count`` pings (no warm-up); ping's exit status is 0 when one was answered."""
        target = dst.ip if isinstance(dst, Guest) else dst
        return run(ping_argv(self.ns, target, *extra, count=count), check=False, timeout=30)

    def ping_ok(self, dst: str | Guest, **kw: Any) -> subprocess.CompletedProcess[str]:
        target = dst.ip if isinstance(dst, Guest) else dst
        try:
            return ping_ok(self.ns, target, **kw)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.topo.diagnose()}") from None


class Hypervisor:
    """One hypervisor ``h<i>`` with underlay address ``10.0.0.<i>`` (see the module docstring)."""

    def __init__(self, topo: Topo, index: int, kind: str) -> None:
        self.topo = topo
        self.index = index
        self.kind = kind
        self.name = f"h{index}"
        self.ip = f"{UNDERLAY_NET}.{index}"
        #: The IPv6 underlay address (on br-phy when the topology has ``ipv6``).
        self.ip6 = f"{UNDERLAY_NET6}{index:x}"
        self.guests: list[Guest] = []
        self.switch: netns.Switch | None = None
        self.rundir: Path | None = None
        # Registered before anything can fail, so that the topology's clean-up stops whatever was started.
        topo.hvs.append(self)
        self.ns = topo.netns(self.name)
        mtu = str(topo.underlay_mtu)
        topo.u.ip("link", "set", "ub", "mtu", mtu)
        # The hypervisor's NIC: eth0 here, up<i> in the underlay namespace, on its bridge.
        topo.u.ip("link", "add", f"up{index}", "mtu", mtu, "type", "veth", "peer", "name", "eth0", "mtu", mtu,
                  "netns", self.ns.name)
        topo.u.ip("link", "set", f"up{index}", "master", "ub", "up")
        self.ns.ip("link", "set", "eth0", "address", f"02:00:0a:00:00:{index:02x}", "up")
        # A NIC that is a switch port is not the host's: with Open vSwitch's kernel datapath the kernel never
        # sees its packets.  Here the switch reads it with AF_PACKET and the kernel sees them too, and by
        # default answers an ARP request for any of its addresses on any device, so eth0 would claim the
        # underlay address that lives on br-phy and the router would send the tunnel packets to eth0's MAC.
        self.ns.sysctl("net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2")
        if topo.ipv6 and kind != "kernel":
            # IPv6 for the switch's devices created from now on (br-phy above all), not for the NIC.
            self.ns.sysctl("net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.default.disable_ipv6=0")
            self.ns.sysctl("net.ipv6.conf.eth0.disable_ipv6=1")
        if kind == "kernel":
            # The kernel's VXLAN device leaves the outer UDP checksum to the NIC; a veth does not compute it,
            # so the switch at the other end would see a wrong checksum and drop the packet.  A real NIC
            # computes it: turning the offload off makes the kernel do the same.
            self.ns.run("ethtool", "-K", "eth0", "tx", "off")
            self.ns.ip("addr", "add", f"{self.ip}/24", "dev", "eth0")
            self.ns.ip("link", "add", "br0", "type", "bridge")
            self.ns.ip("link", "set", "br0", "up")
            return
        self.rundir = Path(tempfile.mkdtemp(prefix=f"pvD{index}-", dir="/tmp"))
        self.switch = netns.make_switch(kind, self.rundir, self.ns)
        self.switch.start()
        sw = self.switch
        sw.add_bridge("br-phy")
        sw.vsctl("add-port", "br-phy", "eth0")
        if topo.underlay_mtu != 1500:
            sw.vsctl("set", "interface", "br-phy", f"mtu_request={topo.underlay_mtu}")
        sw.add_bridge("br-int")
        wait_until("br-phy's internal port to appear", lambda: self.ns.link("br-phy"), timeout=10,
                   diagnose=sw.diagnose)
        self.ns.ip("addr", "add", f"{self.ip}/24", "dev", "br-phy")
        if topo.ipv6:
            # No duplicate address detection: the address is usable at once.
            self.ns.ip("-6", "addr", "add", f"{self.ip6}/64", "dev", "br-phy", "nodad")
        self.ns.ip("link", "set", "br-phy", "up")
        self.ns.ip("link", "set", "br-int", "up", check=False)
        if topo.ipv6 and self.ns.link("br-int") is not None:
            # br-int's own port has no address: no router solicitations or listener reports from it.
            self.ns.sysctl("net.ipv6.conf.br-int.disable_ipv6=1")

    def __repr__(self) -> str:
        return f"Hypervisor({self.name}, {self.kind}, {self.ip})"

    # -- configuration -----------------------------------------------------------------------------------

    @property
    def sw(self) -> netns.Switch:
        assert self.switch is not None, f"{self.name} runs no switch ({self.kind})"
        return self.switch

    def vsctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.sw.vsctl(*args, check=check)

    def ofctl(self, command: str, *args: str, bridge: str = "br-int",
              check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.sw.ofctl(command, bridge, *args, check=check)

    def appctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.sw.appctl(*args, check=check)

    def add_tunnel(self, name: str, type_: str, ofport: int | None = None, **options: str | int) -> None:
        """A tunnel port ``name`` on br-int: ``type_`` vxlan/geneve/gre with ``options`` (``remote_ip``, ``key``,
        ``dst_port``, ``df_default``...; a value ``flow`` as in Open vSwitch)."""
        cmd = ["add-port", "br-int", name, "--", "set", "interface", name, f"type={type_}"]
        cmd += [f"options:{k}={v}" for k, v in options.items()]
        if ofport is not None:
            cmd.append(f"ofport_request={ofport}")
        r = self.vsctl(*cmd)
        # ovs-vsctl reports a port the switch could not set up on its standard error, with exit status 0.
        error = self.sw.iface_error(name)
        assert not error, f"{self.name}: tunnel port {name} ({type_}, {options}): {error}\n{r.stderr}"

    def add_guest(self, j: int, *, mtu: int = GUEST_MTU, ofport: int | None = None,
                  tx_offload: bool = False) -> Guest:
        """Guest ``g<i><j>``: ``192.168.1.<10 i + j>``, MAC ``02:00:c0:a8:<i>:<j>``, on port ``vg<j>`` of br-int
        (ofport ``ofport`` if given) or of the Linux bridge br0 on a kernel host.

        The guest's transmit checksum offload is off unless ``tx_offload``: a veth hands the switch TCP and UDP
        packets whose checksum is only begun (the receiver's kernel is told to trust it), and Open vSwitch's
        userspace datapath (3.1, without ``userspace-tso-enable``) forwards them so into a tunnel, where the
        far guest drops them.  Open vSwitch's own userspace system tests turn it off on every veth for this
        reason; doing the same keeps one harness for both switches."""
        short = f"g{self.index}{j}"
        ns = self.topo.netns(short)
        port = f"vg{j}"
        mac = f"02:00:c0:a8:{self.index:02x}:{j:02x}"
        ip = f"{GUEST_NET}.{10 * self.index + j}"
        self.ns.ip("link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns.name)
        ns.ip("link", "set", "eth0", "address", mac, "mtu", str(mtu), "up")
        ns.ip("addr", "add", f"{ip}/24", "dev", "eth0")
        if not tx_offload:
            ns.run("ethtool", "-K", "eth0", "tx", "off")
        self.ns.ip("link", "set", port, "mtu", str(mtu), "up")
        if self.kind == "kernel":
            self.ns.ip("link", "set", port, "master", "br0")
        else:
            cmd = ["add-port", "br-int", port]
            if ofport is not None:
                cmd += ["--", "set", "interface", port, f"ofport_request={ofport}"]
            self.vsctl(*cmd)
        g = Guest(self.topo, self, short, ns, port, mac, ip)
        self.guests.append(g)
        return g

    def kernel_vxlan(self, name: str, vni: int, remote: str, dstport: int = 4789) -> None:
        """A Linux VXLAN device on a ``kernel`` host, bridged to its guests by br0."""
        assert self.kind == "kernel"
        self.ns.ip("link", "add", name, "type", "vxlan", "id", str(vni), "remote", remote, "local", self.ip,
                   "dstport", str(dstport), "dev", "eth0")
        self.ns.ip("link", "set", name, "master", "br0", "up")

    # -- inspection --------------------------------------------------------------------------------------

    def ofport(self, name: str) -> int:
        return self.sw.ofport(name)

    def dp_ports(self) -> dict[str, int]:
        """{datapath port name: number} from ``dpctl/show``."""
        return self.sw.dp_ports()

    def diagnose(self) -> str:
        parts = [f"===== {self.name} ({self.kind}, {self.ip})"]
        parts.append(self.ns.run("ip", "-br", "addr", check=False).stdout)
        parts.append(self.ns.run("ip", "route", check=False).stdout)
        parts.append(self.ns.run("ip", "neigh", check=False).stdout)
        if self.switch is None:
            parts.append(self.ns.run("bridge", "fdb", "show", "br", "br0", check=False).stdout)
            return "\n".join(parts)
        parts.append(self.switch.diagnose())
        for cmd in (("tnl/ports/show",), ("tnl/neigh/show",), ("ovs/route/show",)):
            r = self.switch.appctl(*cmd, check=False)
            parts.append(f"--- {' '.join(cmd)}:\n{r.stdout}{r.stderr}")
        r = self.switch.ofctl("dump-flows", "br-int", check=False)
        parts.append(f"--- dump-flows br-int:\n{r.stdout}{r.stderr}")
        return "\n".join(parts)

    def stop(self) -> None:
        if self.switch is not None:
            self.switch.stop()
            self.switch = None
        if self.rundir is not None:
            shutil.rmtree(self.rundir, ignore_errors=True)


class Topo:
    """The underlay namespace and the hypervisors of one test (or one module); :meth:`cleanup` ends their
    processes and deletes their namespaces, and never raises."""

    _ids = itertools.count(1)

    def __init__(self, workdir: Path, underlay_mtu: int = 1500, ipv6: bool = False) -> None:
        self.id = next(self._ids)
        self.workdir = workdir
        #: The MTU of the underlay links (and of br-phy) of the hypervisors created from now on.
        self.underlay_mtu = underlay_mtu
        #: Whether the switch hypervisors created from now on also get an IPv6 underlay address
        #: (``fd00::<i>/64`` on br-phy).
        self.ipv6 = ipv6
        self.namespaces: list[Netns] = []
        self.hvs: list[Hypervisor] = []
        self.u = self.netns("u")
        self.u.ip("link", "add", "ub", "mtu", str(underlay_mtu), "type", "bridge")
        self.u.ip("addr", "add", f"{ROUTER_IP}/24", "dev", "ub")
        self.u.ip("link", "set", "ub", "up")
        # The router forwards between hypervisors of one segment: without this it would tell them to talk
        # directly (ICMP redirects), which changes nothing here but adds packets to the captures.
        self.u.sysctl("net.ipv4.ip_forward=1", "net.ipv4.conf.all.send_redirects=0",
                      "net.ipv4.conf.ub.send_redirects=0")

    def netns(self, short: str) -> Netns:
        """A new namespace ``pvDPID-ID-short``, loopback up, IPv6 off (no router solicitations or listener
        reports adding packets and flows)."""
        ns = Netns(f"{PREFIX}-{self.id}-{short}")
        run(["ip", "netns", "add", ns.name])
        self.namespaces.append(ns)
        ns.ip("link", "set", "lo", "up")
        ns.sysctl("net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        return ns

    def hypervisor(self, kind: str) -> Hypervisor:
        """The next hypervisor (``h1``, ``h2``...) running switch ``kind`` (pyvs, ovs or kernel)."""
        return Hypervisor(self, len(self.hvs) + 1, kind)

    def diagnose(self) -> str:
        parts = []
        for hv in self.hvs:
            try:
                parts.append(hv.diagnose())
            except Exception as e:  # noqa: BLE001
                parts.append(f"===== {hv.name}: {e!r}")
        return "\n".join(parts)

    def cleanup(self) -> None:
        for hv in reversed(self.hvs):
            try:
                hv.stop()
            except Exception as e:  # noqa: BLE001
                print(f"could not stop {hv.name}: {e!r}")
        self.hvs.clear()
        for ns in reversed(self.namespaces):
            run(["ip", "netns", "del", ns.name], check=False)
        self.namespaces.clear()


@pytest.fixture(scope="session")
def tunnel_session() -> Iterator[None]:
    """Deletes the namespaces of killed earlier runs at the start and every namespace of this run at the end."""
    delete_stale_namespaces()
    try:
        yield
    finally:
        delete_namespaces()


@pytest.fixture
def topo(tunnel_session: None, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Topo]:
    """A :class:`Topo` for one test; when the test fails, every hypervisor's state is printed."""
    t = Topo(tmp_path)
    try:
        yield t
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            print(t.diagnose())
    finally:
        t.cleanup()


def main(argv: list[str]) -> int:
    """``tunnel_topo.py KIND1 KIND2 [TYPE]``: two hypervisors, a tunnel of TYPE (vxlan) between them."""
    kinds = argv[:2] if len(argv) >= 2 else ["ovs", "ovs"]
    type_ = argv[2] if len(argv) > 2 else "vxlan"
    workdir = Path(tempfile.mkdtemp(prefix="pvD-topo-"))
    topo = Topo(workdir)
    try:
        hvs = [topo.hypervisor(k) for k in kinds]
        for hv, other in ((hvs[0], hvs[1]), (hvs[1], hvs[0])):
            hv.add_guest(1)
            if hv.kind == "kernel":
                hv.kernel_vxlan("vx0", 100, other.ip)
            else:
                hv.add_tunnel("t1", type_, remote_ip=other.ip, key=100)
        start = time.monotonic()
        r = hvs[0].guests[0].ping_ok(hvs[1].guests[0])
        print(r.stdout, f"({time.monotonic() - start:.1f} s)")
        print("namespaces:", " ".join(ns.name for ns in topo.namespaces))
        for hv in hvs:
            if hv.rundir is not None:
                print(f"{hv.name}: OVS_RUNDIR={hv.rundir}")
        input("Enter to tear down> ")
    finally:
        topo.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
