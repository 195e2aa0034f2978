"""An os-ken controller drives a switch over TCP on loopback, as controllers drive switches in production.

The switch is either the real Open vSwitch (``ovs``: ovsdb-server and ``ovs-vswitchd
--enable-dummy=override``) or pyvswitch (``pyvswitch``: ``pyvs-vswitchd --enable-dummy=override`` with its
embedded database); both are
configured with the real ``ovs-vsctl`` and inspected with the real ``ovs-ofctl``, and both connect actively to
the controllers, which listen (``ovs-vsctl set-controller br0 tcp:127.0.0.1:PORT``).

Each controller is a process running tests/system/osken_app.py: an os-ken app that runs a fixed plan of
OpenFlow requests once the switch has connected and writes what it saw as JSON lines (see that file).  The
tests check:

* the handshake in OpenFlow 1.3, 1.0 and 1.5 (the app offers only one version), the datapath id in the
  features reply, flow-mods with a match and instructions (actions in 1.0), read back with ``ovs-ofctl
  dump-flows``;
* a packet-out to CONTROLLER that comes back as a packet-in with the same bytes, and a packet-out to dummy
  port p2 that leaves p2 (seen in the port's ``tx_pcap`` file);
* roles: with two controllers on the bridge, the one that asks to be slave has its flow-mods refused with
  OFPBRC_IS_SLAVE (Open vSwitch 3.1 calls it IS_SECONDARY) while the master's are installed, and ``ovs-vsctl
  list controller`` shows both connected with their roles.

Everything runs under the test's tmp_path, on ports chosen free at run time, and every process started here is
ended by its pid.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from netns import stop_pid, tail, wait_until

pytestmark = pytest.mark.timeout(120)

APP = Path(__file__).with_name("osken_app.py")
VENV_BIN = Path(sys.executable).parent
OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
DATAPATH_ID = 0xA1B2C3
WIRE_VERSION = {"1.0": 1, "1.3": 4, "1.5": 6}
OFCTL_PROTOCOL = {"1.0": "OpenFlow10", "1.3": "OpenFlow13", "1.5": "OpenFlow15"}
WAIT = 10.0


def _wait_until(what: str, predicate: Callable[[], Any], diagnose: Callable[[], str],
                timeout: float = WAIT) -> Any:
    """Polls ``predicate`` until it returns something true and returns that; fails with ``diagnose()``."""
    return wait_until(what, predicate, timeout, diagnose, interval=0.05)


def _free_ports(n: int) -> list[int]:
    """n distinct TCP ports on 127.0.0.1 that were free a moment ago."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def _is_listening(port: int) -> bool:
    """True if some socket listens on 127.0.0.1:port (read from /proc, so without connecting to it)."""
    want = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as f:
        return any(line.split()[1] == want and line.split()[3] == "0A" for line in f.readlines()[1:])


def _read_pcap(path: Path) -> list[bytes]:
    """The frames of a little- or big-endian microsecond pcap file (as netdev-dummy's tx_pcap writes)."""
    data = path.read_bytes() if path.exists() else b""
    if len(data) < 24:
        return []
    endian = "<" if data[:4] == bytes.fromhex("d4c3b2a1") else ">"
    frames, off = [], 24
    while off + 16 <= len(data):
        caplen = struct.unpack_from(endian + "I", data, off + 8)[0]
        if off + 16 + caplen > len(data):
            break
        frames.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return frames


class Switch:
    """One switch under test in its own directory: the real Open vSwitch or pyvs-vswitchd."""

    def __init__(self, kind: str, rundir: Path) -> None:
        self.kind = kind
        self.dir = rundir
        self.env = dict(os.environ, OVS_RUNDIR=str(rundir), OVS_DBDIR=str(rundir), OVS_LOGDIR=str(rundir),
                        OVS_SYSCONFDIR=str(rundir))
        self.pids: list[tuple[int, subprocess.Popen[bytes] | None]] = []
        self.log = rundir / ("ovs-vswitchd.log" if kind == "ovs" else "pyvs-vswitchd.log")
        self.mgmt = f"unix:{rundir}/br0.mgmt"

    def start(self) -> None:
        d = self.dir
        if self.kind == "ovs":
            self._run(["ovsdb-tool", "create", f"{d}/conf.db", OVS_SCHEMA])
            self._run(["ovsdb-server", f"{d}/conf.db", f"--remote=punix:{d}/db.sock",
                       f"--pidfile={d}/ovsdb-server.pid", f"--log-file={d}/ovsdb-server.log", "--detach"])
            self.pids.append((int((d / "ovsdb-server.pid").read_text()), None))
            self.vsctl("--no-wait", "init")
            self._run(["ovs-vswitchd", "--enable-dummy=override", "--disable-system", f"unix:{d}/db.sock",
                       f"--pidfile={d}/ovs-vswitchd.pid", f"--log-file={self.log}", "--detach"])
            self.pids.append((int((d / "ovs-vswitchd.pid").read_text()), None))
        else:
            with open(d / "stderr.txt", "wb") as err:
                proc = subprocess.Popen([str(VENV_BIN / "pyvs-vswitchd"), "--rundir", str(d),
                                         "--enable-dummy=override", "--pidfile", "--no-fsync"],
                                        stdout=err, stderr=err, env=self.env)
            self.pids.append((proc.pid, proc))
            _wait_until("pyvs-vswitchd's database",
                        lambda: proc.poll() is not None or self.vsctl("show", check=False).returncode == 0,
                        lambda: tail(d / "stderr.txt"))
            assert proc.poll() is None, f"pyvs-vswitchd exited: {tail(d / 'stderr.txt')}"

    def stop(self) -> None:
        for pid, proc in reversed(self.pids):
            stop_pid(pid, proc)
        self.pids.clear()

    def _run(self, cmd: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        r = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=30, check=False)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr}\n"
                                 f"switch log:\n{tail(self.log)}")
        return r

    def vsctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run(["ovs-vsctl", f"--db=unix:{self.dir}/db.sock", "--timeout=10", *args], check=check)

    def ofctl(self, protocol: str, command: str, *args: str) -> str:
        return self._run(["ovs-ofctl", "-O", protocol, command, self.mgmt, *args]).stdout

    def controllers(self) -> dict[str, dict[str, str]]:
        """The Controller table: {target: {column: value as ovs-vsctl prints it}}."""
        out = self.vsctl("--format=json", "--columns=target,is_connected,role", "list", "controller").stdout
        table = json.loads(out)
        rows = [dict(zip(table["headings"], row, strict=True)) for row in table["data"]]
        return {r["target"]: {k: json.dumps(v) if isinstance(v, list) else str(v) for k, v in r.items()}
                for r in rows}


class Controller:
    """One os-ken process running osken_app.py, listening on 127.0.0.1:port."""

    def __init__(self, workdir: Path, name: str, version: str, plan: str, cookie: int) -> None:
        self.port = 0
        self.events_path = workdir / f"{name}.events.jsonl"
        self.stderr_path = workdir / f"{name}.stderr.txt"
        self.version, self.plan, self.cookie = version, plan, cookie
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def target(self) -> str:
        return f"tcp:127.0.0.1:{self.port}"

    def start(self, port: int) -> None:
        self.port = port
        env = dict(os.environ, OSKEN_TEST_EVENTS=str(self.events_path), OSKEN_TEST_OFP_VERSION=self.version,
                   OSKEN_TEST_PLAN=self.plan, OSKEN_TEST_COOKIE=hex(self.cookie))
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, str(APP), "--ofp-listen-host", "127.0.0.1",
                                          "--ofp-tcp-listen-port", str(port)],
                                         stdout=err, stderr=err, env=env)

    def wait_listening(self) -> None:
        assert self.proc is not None
        proc = self.proc
        _wait_until(f"os-ken to listen on {self.port}",
                    lambda: proc.poll() is not None or _is_listening(self.port), self.diagnose)
        assert proc.poll() is None, f"os-ken exited\n{self.diagnose()}"

    def stop(self) -> None:
        if self.proc is not None:
            stop_pid(self.proc.pid, self.proc)
            self.proc = None

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        try:
            lines = self.events_path.read_text().splitlines()
        except FileNotFoundError:
            return []
        evs = [json.loads(line) for line in lines if line.strip()]
        return [e for e in evs if kind is None or e["event"] == kind]

    def diagnose(self) -> str:
        return (f"controller on port {self.port} (plan {self.plan!r}) events:\n"
                + "\n".join(json.dumps(e) for e in self.events())
                + f"\ncontroller stderr (tail):\n{tail(self.stderr_path, 15)}")

    def sent(self, step: str) -> list[dict[str, Any]]:
        return [e for e in self.events("sent") if e["step"] == step]


@pytest.fixture(params=["ovs", "pyvswitch"])
def switch(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Switch]:
    """A running switch with bridge br0 (datapath id DATAPATH_ID, fail_mode secure, OpenFlow 1.0, 1.3 and 1.5)
    and dummy ports p1 and p2 on OpenFlow ports 1 and 2; p2 writes what it transmits to DIR/p2-tx.pcap."""
    rundir = tmp_path / request.param
    rundir.mkdir()
    sw = Switch(request.param, rundir)
    try:
        sw.start()
        sw.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy", "fail_mode=secure",
                 "protocols=OpenFlow10,OpenFlow13,OpenFlow15",
                 f"other-config:datapath-id={DATAPATH_ID:016x}",
                 "--", "add-port", "br0", "p1", "--", "set", "interface", "p1", "type=dummy",
                 "ofport_request=1",
                 "--", "add-port", "br0", "p2", "--", "set", "interface", "p2", "type=dummy",
                 "ofport_request=2", f"options:tx_pcap={rundir}/p2-tx.pcap")
        yield sw
    finally:
        sw.stop()


@pytest.fixture
def controllers() -> Iterator[list[Controller]]:
    """A list to which a test adds its controllers; each is stopped by pid at the end."""
    started: list[Controller] = []
    yield started
    for c in started:
        c.stop()


def _start_controllers(switch: Switch, started: list[Controller],
                       specs: list[tuple[str, str, str, int]]) -> None:
    """Starts one controller per (name, version, plan, cookie), waits until all listen, then points br0 at
    all of them at once."""
    ports = _free_ports(len(specs))
    for (name, version, plan, cookie), port in zip(specs, ports, strict=True):
        c = Controller(switch.dir.parent, name, version, plan, cookie)
        started.append(c)
        c.start(port)
    for c in started:
        c.wait_listening()
    switch.vsctl("set-controller", "br0", *(c.target for c in started))


def _diagnose(switch: Switch, *ctls: Controller) -> Callable[[], str]:
    return lambda: ("\n".join(c.diagnose() for c in ctls)
                    + f"\n{switch.kind} switch log (tail):\n{tail(switch.log)}")


def _flows(switch: Switch, protocol: str) -> list[str]:
    out = switch.ofctl(protocol, "dump-flows", "--no-stats")
    return sorted(line.strip() for line in out.splitlines() if line.startswith(" "))


@pytest.mark.parametrize("version", ["1.3", "1.0", "1.5"])
def test_flows_and_packets(switch: Switch, controllers: list[Controller], version: str) -> None:
    _start_controllers(switch, controllers,
                       [("c1", version, "flows,packet_out_controller,packet_out_port,barrier", 0x1)])
    (ctl,) = controllers
    diagnose = _diagnose(switch, ctl)

    # The handshake: the version the app offered, and the datapath id configured in the database.
    (features,) = _wait_until("the features reply", lambda: ctl.events("features"), diagnose)
    assert features["version"] == WIRE_VERSION[version], diagnose()
    assert features["datapath_id"] == DATAPATH_ID, diagnose()
    _wait_until("the barrier reply", lambda: ctl.events("barrier_reply"), diagnose)
    (pin,) = _wait_until("the packet-in", lambda: ctl.events("packet_in"), diagnose)
    assert ctl.events("error") == [], diagnose()

    # The two flow-mods, as the switch reports them.
    protocol = OFCTL_PROTOCOL[version]
    assert _flows(switch, protocol) == [
        "cookie=0x1, priority=0 actions=CONTROLLER:65535",
        "cookie=0x1, priority=100,ip,in_port=1,nw_dst=10.0.0.2 actions=output:2",
    ], diagnose()

    # The packet-out to CONTROLLER comes back whole, unbuffered, as sent from the controller's port.
    (po_ctl,) = ctl.sent("packet_out_controller")
    assert pin["data"] == po_ctl["data"], diagnose()
    assert pin["total_len"] == len(bytes.fromhex(po_ctl["data"])), diagnose()
    assert pin["buffer_id"] == 0xFFFFFFFF, diagnose()
    # OFPR_ACTION (1) up to OpenFlow 1.3; OpenFlow 1.5 has OFPR_PACKET_OUT (5) for output in a packet-out.
    assert pin["reason"] == (5 if version == "1.5" else 1), diagnose()
    assert pin["in_port"] == (0xFFFD if version == "1.0" else 0xFFFFFFFD), diagnose()
    if version != "1.0":
        # No flow sent it: the cookie is all-ones, as OpenFlow 1.3 says for packet-ins not caused by a flow.
        assert (pin["cookie"], pin["table_id"]) == (0xFFFFFFFFFFFFFFFF, 0), diagnose()

    # The packet-out to port 2 leaves p2, and nothing else does.
    (po_port,) = ctl.sent("packet_out_port")
    pcap = switch.dir / "p2-tx.pcap"
    frames = _wait_until("the frame on p2", lambda: _read_pcap(pcap), diagnose, timeout=5)
    assert [f.hex() for f in frames] == [po_port["data"]], diagnose()


def test_roles(switch: Switch, controllers: list[Controller]) -> None:
    _start_controllers(switch, controllers,
                       [("slave", "1.3", "role:slave,flows,packet_out_port,barrier", 0xA),
                        ("master", "1.3", "role:master,flows,packet_out_port,barrier", 0xB)])
    slave, master = controllers
    diagnose = _diagnose(switch, slave, master)
    for c in controllers:
        _wait_until(f"the barrier reply of the {c.plan!r} controller",
                    functools.partial(c.events, "barrier_reply"), diagnose)

    assert [e["role"] for e in slave.events("role_reply")] == ["slave"], diagnose()
    assert [e["role"] for e in master.events("role_reply")] == ["master"], diagnose()

    # Every flow-mod and the packet-out of the slave are refused with OFPET_BAD_REQUEST / OFPBRC_IS_SLAVE,
    # each error naming the xid of its request.
    errors = slave.events("error")
    refused = slave.sent("flows") + slave.sent("packet_out_port")
    assert sorted(e["xid"] for e in errors) == sorted(e["xid"] for e in refused), diagnose()
    assert {(e["type"], e["code"], e["type_name"], e["code_name"]) for e in errors} == {
        (1, 10, "OFPET_BAD_REQUEST(1)", "OFPBRC_IS_SLAVE(10)")}, diagnose()
    assert master.events("error") == [], diagnose()

    # Only the master's flows are in the table, and only the master's frame left p2.
    assert _flows(switch, "OpenFlow13") == [
        "cookie=0xb, priority=0 actions=CONTROLLER:65535",
        "cookie=0xb, priority=100,ip,in_port=1,nw_dst=10.0.0.2 actions=output:2",
    ], diagnose()
    pcap = switch.dir / "p2-tx.pcap"
    frames = _wait_until("the master's frame on p2", lambda: _read_pcap(pcap), diagnose, timeout=5)
    assert [f.hex() for f in frames] == [e["data"] for e in master.sent("packet_out_port")], diagnose()

    def roles() -> dict[str, tuple[str, str]] | None:
        rows = switch.controllers()
        got = {t: (r["is_connected"], r["role"]) for t, r in rows.items()}
        want = {slave.target: ("True", "slave"), master.target: ("True", "master")}
        return got if got == want else None

    _wait_until("ovs-vsctl list controller to show the roles", roles,
                lambda: f"{switch.controllers()}\n{diagnose()}")
