"""Real traffic between network namespaces through a pyvs-vswitchd bridge on real ports.

Each test builds a small network with the fixtures of conftest.py: hosts are network namespaces whose ``eth0``
is one end of a veth pair; the other end is a port of a bridge on the userspace datapath
(``datapath_type=netdev``), added with a plain ``ovs-vsctl add-port br0 NAME`` (type ``system``: the switch
opens the device with AF_PACKET).  The switch is configured with the real ``ovs-vsctl``, programmed with the
real ``ovs-ofctl`` over ``unix:RUNDIR/br0.mgmt`` and inspected with ``pyvs-appctl``.  The kernels of the hosts
do the talking (``ping``, ``iperf3``), so that what is checked is what users see: frames delivered, with VLAN
tags and checksums right.

``PYVS_SYSTEM_SWITCH=ovs`` runs the same tests against the real Open vSwitch 3.1 userspace datapath, which is
how the expectations were checked.  Two tests expect more than Open vSwitch 3.1 does and fail there:

* ``test_tcp_and_udp_with_checksum_offload``: OVS forwards the partial checksums of the veths' offloaded
  frames as if they were complete; the receiver counts TcpInCsumErrors and iperf3 stalls (with ``ethtool -K
  eth0 tx off tso off gso off`` on the hosts the same transfer runs at a few hundred Mbit/s through OVS, with
  no checksum error);
* ``test_deleted_device_comes_back``: when an open device is deleted, OVS 3.1 keeps the port's ``ofport``,
  writes no ``error``, and does not forward again when a device of the same name comes back.  It does do both
  for a device that is missing when the port is added (``error`` "could not open network device p2 (No such
  device)", ``ofport`` -1, then a number once the device exists), which ``test_port_added_before_its_device``
  checks.

A ping "passes" when at least one of three probes is answered; it "fails" when none is (exit status 1, "0
received"), not when ping could not even send (exit status 2), so that a broken set-up cannot pass for
isolation.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess

import pytest
from netns import Host, Lab, Switch, ping_many, stop_pid, tail, wait_until

pytestmark = pytest.mark.timeout(120)


# -- helpers -------------------------------------------------------------------------------------------------

def _show(r: subprocess.CompletedProcess[str]) -> str:
    return f"$ {' '.join(r.args)}\n{r.stdout}{r.stderr}"


def assert_ping(sw: Switch, src: Host, dst: Host | str) -> None:
    r = src.ping(dst)
    assert r.returncode == 0, f"ping from {src} to {dst} was not answered\n{_show(r)}\n{sw.diagnose()}"


def assert_pings(sw: Switch, probes: list[tuple[Host, Host | str]], answered: bool) -> None:
    """Pings every (source, destination) at once; each must be answered (``answered``) or get no answer."""
    results = ping_many(src.ping_argv(dst) for src, dst in probes)
    bad = []
    for (src, dst), r in zip(probes, results, strict=True):
        ok = r.returncode == 0 if answered else (r.returncode == 1 and " 0 received" in r.stdout)
        if not ok:
            bad.append(f"{src} -> {dst}:\n{_show(r)}")
    assert not bad, (f"expected every ping to be {'answered' if answered else 'unanswered'}:\n"
                     + "\n".join(bad) + f"\n{sw.diagnose()}")


def assert_no_ping(sw: Switch, src: Host, dst: Host | str) -> None:
    assert_pings(sw, [(src, dst)], answered=False)


def wait_ping(sw: Switch, src: Host, dst: Host | str, timeout: float = 20.0) -> None:
    """Pings once a second until ``dst`` answers."""
    target = dst.ip if isinstance(dst, Host) else dst
    assert target is not None
    wait_until(f"{src} to reach {target}",
               lambda: src.ns.run("ping", "-n", "-q", "-c", "1", "-W", "1", target,
                                  check=False).returncode == 0,
               timeout=timeout, diagnose=sw.diagnose)


def add_ports(sw: Switch, bridge: str, *ports: str) -> dict[str, int]:
    """Adds ``ports`` to ``bridge`` in one transaction; checks that each came up without error and returns
    their OpenFlow port numbers."""
    args: list[str] = []
    for p in ports:
        args += ["--", "add-port", bridge, p]
    sw.vsctl(*args[1:])
    for p in ports:
        assert sw.iface_error(p) == "", f"{p}: {sw.iface_error(p)}\n{sw.diagnose()}"
    ofports = {p: sw.ofport(p) for p in ports}
    assert all(n > 0 for n in ofports.values()), f"{ofports}\n{sw.diagnose()}"
    return ofports


def megaflow_actions(flows: list[str], in_port: int, src: str, dst: str, eth_type: str) -> list[str]:
    """The ``actions:`` of the datapath flows from ``in_port`` that match Ethernet ``src`` -> ``dst`` and
    ``eth_type`` (e.g. ``0x0800``)."""
    pat = re.compile(rf"in_port\({in_port}\).*eth\(src={src},dst={dst}\).*eth_type\({eth_type}\).*"
                     r"actions:(\S+)$")
    return [m.group(1) for m in map(pat.search, flows) if m]


def rule_packets(sw: Switch, bridge: str, match: str) -> int:
    """``n_packets`` of the OpenFlow rule of ``bridge`` whose line contains ``match``."""
    for line in sw.ofctl("dump-flows", bridge).stdout.splitlines():
        if match in line:
            m = re.search(r"n_packets=(\d+)", line)
            return int(m.group(1)) if m else 0
    raise AssertionError(f"no rule with {match!r} on {bridge}\n{sw.diagnose()}")


# -- 1: NORMAL -----------------------------------------------------------------------------------------------

def test_normal_ping_megaflows_and_fdb(lab: Lab, vswitch: Switch) -> None:
    """The default ``priority=0 actions=NORMAL`` of a standalone bridge forwards between two namespaces both
    ways; the datapath then holds megaflows for the ICMP traffic with the right output port, and the MAC table
    has both hosts on their ports."""
    sw = vswitch
    sw.add_bridge("br0")
    h1 = lab.host("h1", "p1", "10.0.0.1/24")
    h2 = lab.host("h2", "p2", "10.0.0.2/24")
    of = add_ports(sw, "br0", "p1", "p2")
    rules = sw.ofctl("dump-flows", "br0", "--no-stats").stdout
    assert "priority=0 actions=NORMAL" in rules, rules

    assert_ping(sw, h1, h2)
    assert_ping(sw, h2, h1)

    dp = sw.dp_ports()
    assert {"p1", "p2"} <= dp.keys(), dp
    shown = sw.appctl("dpif/show").stdout
    for p in ("p1", "p2"):   # OpenFlow and datapath port numbers, and the port type: an AF_PACKET socket.
        assert re.search(rf"^\s+{p} {of[p]}/{dp[p]}: \(system\)$", shown, re.MULTILINE), shown
    flows = sw.dp_flows()
    diag = "\n".join(flows) + f"\ndatapath ports: {dp}"
    assert megaflow_actions(flows, dp["p1"], h1.mac, h2.mac, "0x0800") == [str(dp["p2"])], diag
    assert megaflow_actions(flows, dp["p2"], h2.mac, h1.mac, "0x0800") == [str(dp["p1"])], diag

    fdb = sw.fdb("br0")
    assert (of["p1"], 0, h1.mac) in fdb, fdb
    assert (of["p2"], 0, h2.mac) in fdb, fdb


# -- 2: explicit flows ---------------------------------------------------------------------------------------

def test_explicit_flows(lab: Lab, vswitch: Switch) -> None:
    """Without rules nothing passes; in_port rules, then ARP and per-destination IP rules, forward; taking one
    direction's IP rule away stops the ping again."""
    sw = vswitch
    sw.add_bridge("br0")
    h1 = lab.host("h1", "p1", "10.0.0.1/24")
    h2 = lab.host("h2", "p2", "10.0.0.2/24")
    of = add_ports(sw, "br0", "p1", "p2")
    assert_ping(sw, h1, h2)   # NORMAL first, so that removing it must also remove what it installed.

    sw.ofctl("del-flows", "br0")
    assert sw.ofctl("dump-flows", "br0", "--no-stats").stdout.count("actions=") == 0
    assert_pings(sw, [(h1, h2), (h2, h1)], answered=False)

    sw.ofctl("add-flow", "br0", f"in_port={of['p1']},actions=output:{of['p2']}")
    sw.ofctl("add-flow", "br0", f"in_port={of['p2']},actions=output:{of['p1']}")
    assert_ping(sw, h1, h2)
    assert_ping(sw, h2, h1)
    wait_until("the in_port rule to count the pings",
               lambda: rule_packets(sw, "br0", f"in_port={of['p1']}") >= 3, diagnose=sw.diagnose)

    sw.ofctl("del-flows", "br0")
    sw.ofctl("add-flow", "br0", "priority=10,arp,actions=FLOOD")
    sw.ofctl("add-flow", "br0", f"priority=10,ip,nw_dst={h2.ip},actions=output:{of['p2']}")
    assert_no_ping(sw, h1, h2)   # The echo requests reach h2, but no rule carries its replies.
    sw.ofctl("add-flow", "br0", f"priority=10,ip,nw_dst={h1.ip},actions=output:{of['p1']}")
    assert_ping(sw, h1, h2)
    assert_ping(sw, h2, h1)
    wait_until("the IP rules to count the pings",
               lambda: min(rule_packets(sw, "br0", f"nw_dst={h.ip}") for h in (h1, h2)) >= 3,
               diagnose=sw.diagnose)


# -- 3: VLANs ------------------------------------------------------------------------------------------------

def test_vlan_access_and_trunk_isolation(lab: Lab, vswitch: Switch) -> None:
    """Access ports on VLAN 10 (h1, h2) and VLAN 20 (h3, h4) and a trunk (``trunks=10,20``) to a namespace
    with an address in each VLAN.  Hosts reach their own VLAN, including the trunk's interface of that VLAN,
    and nothing of the other.

    Isolation is tested with "trap" addresses: h1 (VLAN 10) also owns 10.0.20.1 and h3 (VLAN 20) also owns
    10.0.10.3, so a frame that leaked into the other VLAN would be answered.  The trunk's namespace has no
    kernel VLAN devices (the test kernels may lack 802.1Q support): ``netns.py vlan-host`` answers for
    10.0.10.5 in VLAN 10 and 10.0.20.5 in VLAN 20 on its eth0 and logs every frame it receives."""
    sw = vswitch
    sw.add_bridge("br0")
    h1 = lab.host("h1", "a1", "10.0.10.1/24")
    h1.ns.ip("addr", "add", "10.0.20.1/24", "dev", "eth0")
    h2 = lab.host("h2", "a2", "10.0.10.2/24")
    h3 = lab.host("h3", "b3", "10.0.20.3/24")
    h3.ns.ip("addr", "add", "10.0.10.3/24", "dev", "eth0")
    h4 = lab.host("h4", "b4", "10.0.20.4/24")
    t = lab.trunk_host("t", "t5", {10: "10.0.10.5", 20: "10.0.20.5"})
    t10, t20 = t[10], t[20]
    sw.vsctl("add-port", "br0", "a1", "tag=10", "--", "add-port", "br0", "a2", "tag=10",
             "--", "add-port", "br0", "b3", "tag=20", "--", "add-port", "br0", "b4", "tag=20",
             "--", "add-port", "br0", "t5", "trunks=10,20")
    of = {p: sw.ofport(p) for p in ("a1", "a2", "b3", "b4", "t5")}
    assert all(n > 0 for n in of.values()) and not any(sw.iface_error(p) for p in of), sw.diagnose()

    assert_pings(sw, [(h1, h2), (h1, t10), (h3, h4), (h3, t20), (t10, h2), (t20, h4)], answered=True)
    assert_pings(sw, [(h1, "10.0.10.3"), (h1, h4), (h1, t20), (h4, "10.0.20.1"), (t20, "10.0.20.1"),
                      (t10, "10.0.10.3")], answered=False)

    fdb = sw.fdb("br0")
    for row in [(of["a1"], 10, h1.mac), (of["a2"], 10, h2.mac), (of["b3"], 20, h3.mac),
                (of["b4"], 20, h4.mac), (of["t5"], 10, t10.mac), (of["t5"], 20, t20.mac)]:
        assert row in fdb, f"{row} not in {fdb}"
    assert (of["a1"], 20, h1.mac) not in fdb and (of["b3"], 10, h3.mac) not in fdb, fdb
    # Everything the trunk received was tagged, each host's frames with its own VLAN.
    seen = lab.vlan_log("t")
    vlan_of = {h.mac: vid for h, vid in ((h1, 10), (h2, 10), (h3, 20), (h4, 20))}
    wrong = [line for line in seen
             if not (m := re.match(r"vlan=(\d+) src=(\S+) ", line))
             or vlan_of.get(m.group(2)) != int(m.group(1))]
    assert seen and not wrong, "\n".join(wrong or seen)


# -- 4: patch ports ------------------------------------------------------------------------------------------

def test_patch_ports_join_two_bridges(lab: Lab, vswitch: Switch) -> None:
    """br0 and br1 joined by a pair of patch ports, a namespace on each: ping crosses, both ways, and each
    bridge learns the far host behind its patch port."""
    sw = vswitch
    sw.add_bridge("br0")
    sw.add_bridge("br1")
    h1 = lab.host("h1", "p1", "10.0.0.1/24")
    h2 = lab.host("h2", "p2", "10.0.0.2/24")
    sw.vsctl("add-port", "br0", "p1", "--", "add-port", "br1", "p2",
             "--", "add-port", "br0", "patch0", "--", "set", "interface", "patch0", "type=patch",
             "options:peer=patch1",
             "--", "add-port", "br1", "patch1", "--", "set", "interface", "patch1", "type=patch",
             "options:peer=patch0")
    for p in ("p1", "p2", "patch0", "patch1"):
        assert sw.iface_error(p) == "" and sw.ofport(p) > 0, f"{p}\n{sw.diagnose()}"
    assert_ping(sw, h1, h2)
    assert_ping(sw, h2, h1)
    assert (sw.ofport("patch0"), 0, h2.mac) in sw.fdb("br0"), sw.fdb("br0")
    assert (sw.ofport("patch1"), 0, h1.mac) in sw.fdb("br1"), sw.fdb("br1")


# -- 5: a MAC moves ------------------------------------------------------------------------------------------

def test_mac_moves_to_another_port(lab: Lab, vswitch: Switch) -> None:
    """Host address 10.0.0.10 with MAC M answers from port p1 (namespace a); then a stops answering (its
    address goes, its link stays up) and the same MAC and address appear in namespace b on port p2.  Until b
    sends a frame the switch still sends M's traffic to p1 (no answer); once b has sent one, traffic reaches
    it on p2 and ``fdb/show`` has M on p2."""
    sw = vswitch
    sw.add_bridge("br0")
    h0 = lab.host("h0", "p0", "10.0.0.1/24")
    mac = lab.next_mac()
    a = lab.host("a", "p1", "10.0.0.10/24", mac=mac)
    b = lab.host("b", "p2", None, mac=mac)
    of = add_ports(sw, "br0", "p0", "p1", "p2")

    assert_ping(sw, h0, a)
    fdb = sw.fdb("br0")
    assert (of["p1"], 0, mac) in fdb, fdb

    a.ns.ip("addr", "flush", "dev", "eth0")
    b.ns.ip("addr", "add", "10.0.0.10/24", "dev", "eth0")
    b.ip = "10.0.0.10"
    assert_no_ping(sw, h0, b)   # Still sent to p1, where nobody owns the address any more.

    assert_ping(sw, b, h0)      # b speaks: its ARP request is learned on p2, h0's replies come back there.
    assert_ping(sw, h0, b)
    fdb = sw.fdb("br0")
    assert (of["p2"], 0, mac) in fdb and (of["p1"], 0, mac) not in fdb, fdb


# -- 6: TCP and UDP with checksum offload --------------------------------------------------------------------

def _iperf3(lab: Lab, client: Host, server: Host, port: int, *args: str) -> tuple[dict | None, str]:
    """One iperf3 run from ``client`` to ``server`` on TCP port ``port`` (a one-off server in the server's
    namespace, ended when the run is): its JSON, or None and why not."""
    assert server.ip is not None
    name = f"iperf3-server-{port}"
    srv = lab.spawn(server.ns, "iperf3", "-s", "-1", "-B", server.ip, "-p", str(port), name=name)
    wait_until(f"iperf3 to listen on {port}",
               lambda: srv.poll() is not None or f":{port} " in server.ns.run("ss", "-Hltn").stdout,
               timeout=10)
    assert srv.poll() is None, f"the iperf3 server exited:\n{tail(lab.workdir / f'{name}.log')}"
    try:
        r = client.ns.run("iperf3", "-c", server.ip, "-p", str(port), "-J", *args, check=False, timeout=25)
    except subprocess.TimeoutExpired:
        return None, f"iperf3 {' '.join(args)} did not finish in 25 s"
    finally:
        stop_pid(srv.pid, srv)
    if r.returncode != 0:
        return None, _show(r)
    return json.loads(r.stdout), ""


def test_tcp_and_udp_with_checksum_offload(lab: Lab, vswitch: Switch) -> None:
    """iperf3 over TCP for three seconds, then again and UDP at 20 Mbit/s for two seconds with the kernel made
    to finish every checksum the switch leaves open: each transfer completes with data received, and neither
    end's kernel counted a TCP or UDP checksum error.

    The hosts' veths offload checksums and segmentation (checked below), so the switch receives frames whose
    L4 checksum is only partial, and TCP super-frames larger than the MTU; it must send out frames that end up
    complete.  The switch may hand the offload on to the kernel (a virtio-net header saying "checksum still to
    do"); a receiving namespace trusts such a frame without verifying it, so for the second round the switch's
    ends of the veths get ``tx off``: the kernel then completes (and segments) in software, from the checksum
    field and offsets the switch gave it, what the switch left open, and the receiver verifies every checksum.
    (Open vSwitch 3.1's userspace datapath forwards the partial checksums as if they were complete: receivers
    count TcpInCsumErrors and the transfer stalls, which is why its documentation says to turn veth offloads
    off.)"""
    sw = vswitch
    sw.add_bridge("br0")
    h1 = lab.host("h1", "p1", "10.0.0.1/24")
    h2 = lab.host("h2", "p2", "10.0.0.2/24")
    add_ports(sw, "br0", "p1", "p2")
    features = h1.ns.run("ethtool", "-k", "eth0").stdout
    assert re.search(r"^tx-checksumming: on", features, re.MULTILINE), features
    assert re.search(r"^tcp-segmentation-offload: on", features, re.MULTILINE), features
    assert_ping(sw, h1, h2)

    before = {h: h.ns.snmp() for h in (h1, h2)}
    runs: dict[str, tuple[dict | None, str]] = {"TCP": _iperf3(lab, h1, h2, 5201, "-t", "3")}
    if runs["TCP"][0] is not None:
        for p in ("p1", "p2"):
            sw.ns.run("ethtool", "-K", p, "tx", "off")
        runs["TCP, switch ends tx off"] = _iperf3(lab, h1, h2, 5202, "-t", "3")
        runs["UDP, switch ends tx off"] = _iperf3(lab, h1, h2, 5203, "-u", "-b", "20M", "-l", "1400",
                                                  "-t", "2")
    after = {h: h.ns.snmp() for h in (h1, h2)}
    csum_errors = {f"{h.ns.name} {proto}InCsumErrors": after[h][proto]["InCsumErrors"]
                   - before[h][proto]["InCsumErrors"] for h in (h1, h2) for proto in ("Tcp", "Udp")}
    completed = len(runs) == 3 and all(r is not None for r, _ in runs.values())
    assert completed and not any(csum_errors.values()), (
        "\n".join(f"{name}: {why or 'completed'}" for name, (_, why) in runs.items())
        + f"\nchecksum errors: {csum_errors}\n{sw.diagnose()}")

    for name, (result, _) in runs.items():
        assert result is not None
        got = result["end"]["sum_received"]
        if name.startswith("TCP"):
            assert got["bytes"] > 0 and got["bits_per_second"] > 0, (name, got)
        else:
            assert got["packets"] > got["lost_packets"] and got["bytes"] > 0, (name, got)
    received = after[h2]["Udp"]["InDatagrams"] - before[h2]["Udp"]["InDatagrams"]
    assert received > 0, after[h2]["Udp"]


# -- 7: restart without a controller -------------------------------------------------------------------------

def test_restart_after_kill(lab: Lab, vswitch: Switch) -> None:
    """SIGKILL the daemon: forwarding stops.  Start it again on the same run directory: the database still has
    the bridge and its ports, which get their OpenFlow port numbers back, and the standalone bridge forwards
    with NORMAL again."""
    sw = vswitch
    sw.add_bridge("br0")
    h1 = lab.host("h1", "p1", "10.0.0.1/24")
    h2 = lab.host("h2", "p2", "10.0.0.2/24")
    of = add_ports(sw, "br0", "p1", "p2")
    assert_ping(sw, h1, h2)

    pid = sw.daemon_pid()
    assert pid is not None
    sw.kill(signal.SIGKILL)
    assert sw.daemon_pid() is None
    assert_no_ping(sw, h1, h2)

    sw.start()
    assert sw.daemon_pid() not in (None, pid)
    wait_ping(sw, h1, h2)
    assert_ping(sw, h2, h1)
    assert {p: sw.ofport(p) for p in of} == of, sw.diagnose()
    assert "priority=0 actions=NORMAL" in sw.ofctl("dump-flows", "br0", "--no-stats").stdout


# -- 8: devices that come and go -----------------------------------------------------------------------------

def test_port_added_before_its_device(lab: Lab, vswitch: Switch) -> None:
    """A port whose device does not exist yet gets Open vSwitch's error and ofport -1; once the device appears
    the error is cleared, the port gets a number and forwards."""
    sw = vswitch
    sw.add_bridge("br0")
    h1 = lab.host("h1", "p1", "10.0.0.1/24")
    add_ports(sw, "br0", "p1")
    sw.vsctl("add-port", "br0", "p2", check=False)   # ovs-vsctl reports the error and exits non-zero.
    assert sw.iface_error("p2") == "could not open network device p2 (No such device)", sw.diagnose()
    assert sw.ofport("p2") == -1
    assert sw.daemon_pid() is not None

    h2 = lab.host("h2", "p2", "10.0.0.2/24")
    wait_until("p2's error to clear", lambda: sw.iface_error("p2") == "" and sw.ofport("p2") > 0,
               diagnose=sw.diagnose)
    wait_ping(sw, h1, h2)


def test_deleted_device_comes_back(lab: Lab, vswitch: Switch) -> None:
    """``ip link del`` of a port's veth: the Interface's ``error`` says the device is missing (Open vSwitch's
    text for a device it cannot open, with ``ofport`` -1), the daemon stays up and the other ports keep
    forwarding.  A veth of the same name whose peer goes back into the namespace makes the port work again,
    with its error cleared and its OpenFlow port number the one it had."""
    sw = vswitch
    sw.add_bridge("br0")
    h1 = lab.host("h1", "p1", "10.0.0.1/24")
    h2 = lab.host("h2", "p2", "10.0.0.2/24")
    h3 = lab.host("h3", "p3", "10.0.0.3/24")
    of = add_ports(sw, "br0", "p1", "p2", "p3")
    assert_pings(sw, [(h1, h2), (h1, h3)], answered=True)

    sw.ns.ip("link", "del", "p2")
    error = wait_until("p2's error to say that the device is missing",
                       lambda: sw.iface_error("p2"), diagnose=sw.diagnose)
    assert error == "could not open network device p2 (No such device)", sw.diagnose()
    assert sw.ofport("p2") == -1, sw.diagnose()   # As for a port whose device is missing when it is added.
    assert sw.daemon_pid() is not None
    assert_ping(sw, h1, h3)
    assert_ping(sw, h3, h1)

    sw.ns.ip("link", "add", "p2", "type", "veth", "peer", "name", "eth0")
    sw.ns.ip("link", "set", "eth0", "netns", h2.ns.name)
    h2.ns.ip("link", "set", "eth0", "address", h2.mac)
    h2.ns.ip("addr", "add", "10.0.0.2/24", "dev", "eth0")
    h2.ns.ip("link", "set", "eth0", "up")
    sw.ns.ip("link", "set", "p2", "up")
    wait_until("p2's error to clear", lambda: sw.iface_error("p2") == "", diagnose=sw.diagnose)
    wait_ping(sw, h1, h2)
    assert_ping(sw, h2, h3)
    assert sw.ofport("p2") == of["p2"], sw.diagnose()


# -- 9: internal ports ---------------------------------------------------------------------------------------

def test_internal_ports(lab: Lab, vswitch: Switch) -> None:
    """``add-port br0 vint -- set interface vint type=internal`` creates a TAP device vint next to the
    bridge's own device br0, both where the switch runs.  With addresses in two subnets there (br0 10.0.0.254,
    vint 10.0.1.3; the host has one in each), the host and the switch's namespace reach each other through
    each of them, and the MAC table has br0 on LOCAL and vint on its port."""
    sw = vswitch
    sw.add_bridge("br0")
    h1 = lab.host("h1", "p1", "10.0.0.1/24")
    h1.ns.ip("addr", "add", "10.0.1.1/24", "dev", "eth0")
    add_ports(sw, "br0", "p1")
    sw.vsctl("add-port", "br0", "vint", "--", "set", "interface", "vint", "type=internal")
    assert sw.iface_error("vint") == "" and sw.ofport("vint") > 0, sw.diagnose()
    links = {dev: sw.ns.link(dev) for dev in ("br0", "vint")}
    assert all(links.values()), sw.ns.ip("link").stdout

    for dev, addr in (("br0", "10.0.0.254/24"), ("vint", "10.0.1.3/24")):
        sw.ns.ip("addr", "add", addr, "dev", dev)
        sw.ns.ip("link", "set", dev, "up")
    local = Host(sw.ns, "br0", links["br0"]["address"], "10.0.0.254", "br0")  # type: ignore[index]
    vint = Host(sw.ns, "vint", links["vint"]["address"], "10.0.1.3", "vint")  # type: ignore[index]
    assert_pings(sw, [(h1, local), (h1, vint), (local, h1), (vint, "10.0.1.1")], answered=True)
    fdb = sw.fdb("br0")
    assert ("LOCAL", 0, local.mac) in fdb and (sw.ofport("vint"), 0, vint.mac) in fdb, fdb


def test_internal_port_moved_to_namespace(lab: Lab, vswitch: Switch) -> None:
    """An internal port's TAP device moved into another namespace keeps working: the switch holds the TAP's
    file descriptor, which does not depend on the device's namespace (Open vSwitch keeps forwarding through
    it)."""
    sw = vswitch
    sw.add_bridge("br0")
    h1 = lab.host("h1", "p1", "10.0.0.1/24")
    add_ports(sw, "br0", "p1")
    sw.vsctl("add-port", "br0", "vint", "--", "set", "interface", "vint", "type=internal")
    assert sw.iface_error("vint") == "" and sw.ofport("vint") > 0, sw.diagnose()

    vns = lab.netns("vint")
    sw.ns.ip("link", "set", "vint", "netns", vns.name)
    vns.ip("addr", "add", "10.0.0.3/24", "dev", "vint")
    vns.ip("link", "set", "vint", "up")
    vint = Host(vns, "vint", vns.link("vint")["address"], "10.0.0.3", "vint")  # type: ignore[index]
    assert_ping(sw, h1, vint)
    assert_ping(sw, vint, h1)
    assert (sw.ofport("vint"), 0, vint.mac) in sw.fdb("br0"), sw.fdb("br0")
