"""The route monitor against a real kernel (needs root, as the CI has: a network namespace of its own).

The namespace is built as ``tests/data/vswitchd/tnl_appctl_capture.sh`` builds it for Open vSwitch, so the router
fed by :func:`read_snapshot` must print the same ``ovs/route/show`` as the real ovs-vswitchd printed there.  Then
the monitor must see a route added, an address added and a route deleted, each within a second.  The checks run
in a child process started with ``ip netns exec`` (a namespace is per process for netlink sockets opened by
pyroute2's threads too), inside a running asyncio loop as in the daemon.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pyvswitch.netdev.route_table import RouteMonitor, Snapshot

ROOT = Path(__file__).parent.parent.parent
TRANSCRIPT = ROOT / "tests" / "data" / "vswitchd" / "tnl_appctl_ovs31.txt"

CHILD = textwrap.dedent("""
    import asyncio, subprocess, sys, time
    from pyvswitch.ofproto.tnl_context import TnlContext
    from pyvswitch.ofproto.tnl_ports import IPPROTO_GRE

    def wait(tnl, pred, what):
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.0:
            with tnl.lock:
                if pred():
                    print(f"SEEN {what} {time.monotonic() - t0:.3f}")
                    return
            time.sleep(0.01)
        print(f"MISSED {what}")
        with tnl.lock:
            print(tnl.router.show())

    async def main():
        import threading
        tnl = TnlContext(lock=threading.RLock())
        tnl.ports.add(4789, "vxlan_sys_4789", 17, 4789)
        tnl.start()
        changes = []
        tnl.changed.append(lambda: changes.append(1))
        print(tnl.router.show(), end="")
        print("--")
        sh = lambda c: subprocess.run(c, shell=True, check=True)
        sh("ip route add 10.77.0.0/16 via 192.0.2.1")
        wait(tnl, lambda: "Cached: 10.77.0.0/16 dev pvBa GW 192.0.2.1 SRC 192.0.2.2" in tnl.router.show(), "route")
        # Other tables count (as in Open vSwitch 3.1); other types and multipath routes do not.
        sh("ip route add 10.50.0.0/16 via 192.0.2.1 table 100")
        sh("ip route add blackhole 10.51.0.0/16")
        sh("ip route add unreachable 10.52.0.0/16")
        sh("ip route add 10.53.0.0/16 nexthop via 192.0.2.1 nexthop via 192.0.2.7")
        wait(tnl, lambda: "Cached: 10.50.0.0/16 dev pvBa GW 192.0.2.1 SRC 192.0.2.2" in tnl.router.show(), "table")
        with tnl.lock:
            print("OTHERS", [n for n in ("10.51.", "10.52.", "10.53.") if n in tnl.router.show()])
        sh("ip addr add 198.51.100.1/24 dev pvBa")
        wait(tnl, lambda: "ipv4(dst=198.51.100.1,proto=17" in tnl.ports.show(True), "address")
        sh("ip route del 10.77.0.0/16")
        wait(tnl, lambda: "10.77.0.0" not in tnl.router.show(), "deletion")
        print("CHANGES", len(changes))
        tnl.stop()
        print("STOPPED", tnl.route_monitor is None)

    asyncio.run(main())
""")

SETUP = """
ip link set lo up
ip link add pvBa address 02:fc:00:00:00:01 type veth peer name pvBb address 02:fc:00:00:00:02
ip link set pvBa addrgenmode none
ip link set pvBb addrgenmode none
ip link set pvBa up
ip link set pvBb up
ip addr add 192.0.2.2/24 dev pvBa
ip addr add 192.0.2.9/24 dev pvBa
ip -6 addr add fd00::2/64 dev pvBa nodad
ip route add default via 192.0.2.1
ip route add 10.9.0.0/16 via 192.0.2.7 src 192.0.2.9
ip route add 10.8.0.0/16 dev pvBa
ip -6 route add default via fd00::1
"""


@pytest.fixture
def netns() -> object:
    name = f"pvB-rt-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        for line in SETUP.strip().splitlines():
            subprocess.run(["ip", "netns", "exec", name, *line.split()], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def first_route_show() -> str:
    lines = TRANSCRIPT.read_text().splitlines()
    i = lines.index("$ ovs/route/show") + 1
    out = []
    while not lines[i].startswith("$ "):
        out.append(lines[i])
        i += 1
    return "\n".join(out) + "\n"


def test_snapshot_and_monitor(netns: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", CHILD], capture_output=True, text=True, check=False,
                       env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    show, _, rest = r.stdout.partition("--\n")
    assert show == first_route_show()
    for what in ("route", "table", "address", "deletion"):
        assert f"SEEN {what} " in rest, r.stdout
    assert "OTHERS []" in rest
    changes = int(rest.split("CHANGES ")[1].split()[0])
    assert changes >= 3
    assert "STOPPED True" in rest


def test_resync_stop_and_a_failing_callback() -> None:
    """``resync`` asks for a snapshot without any change; a callback that raises does not stop the monitor;
    ``stop`` may be called twice and ``resync`` after it does nothing."""
    snaps: list[Snapshot] = []

    def callback(snap: Snapshot) -> None:
        snaps.append(snap)
        if len(snaps) == 1:
            raise RuntimeError("a bug in the user")

    m = RouteMonitor(callback)
    m.start()
    for n in (1, 2):
        m.resync()
        deadline = time.monotonic() + 2
        while len(snaps) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(snaps) == n
    assert any(link.name == "lo" for link in snaps[-1].links.values())
    m.stop()
    m.stop()
    m.resync()
    assert m.n_snapshots == 2
