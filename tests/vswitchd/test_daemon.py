"""pyvs-vswitchd as a process: configured by the real ovs-vsctl, controlled by pyvs-appctl and ovs-appctl."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from pyvswitch.netdev.netdev_dummy import parse_packet, read_pcap

from .conftest import Switchd


def test_bridge_ports_ofports_and_cur_cfg(br0: Switchd) -> None:
    s = br0
    s.vsctl("add-port", "br0", "p1", "--", "set", "interface", "p1", "type=dummy", "ofport_request=5")
    s.vsctl("add-port", "br0", "p2", "--", "set", "interface", "p2", "type=dummy")
    # ovs-vsctl without --no-wait returned, so cur_cfg caught up with next_cfg.
    assert s.get("Open_vSwitch", ".", "cur_cfg") == s.get("Open_vSwitch", ".", "next_cfg") != "0"
    assert s.get("Interface", "p1", "ofport") == "5"
    assert s.get("Interface", "p2", "ofport") == "1"
    assert s.get("Interface", "br0", "ofport") == "65534"
    for col, want in (("admin_state", "up"), ("link_state", "up"), ("mtu", "1500"), ("error", "[]")):
        assert s.get("Interface", "p1", col) == want
    assert s.get("Interface", "p1", "mac_in_use").startswith('"aa:55:aa:55:')
    assert "rx_packets=0" in s.get("Interface", "p1", "statistics")
    out = s.appctl("dpif/show").stdout.splitlines()
    assert out == ["dummy@ovs-dummy: hit:0 missed:0", "  br0:", "    br0 65534/100: (dummy-internal)",
                   "    p1 5/1: (dummy)", "    p2 1/2: (dummy)"]
    # A new request moves the port; the port that held the number before is not disturbed otherwise.
    s.vsctl("set", "interface", "p2", "ofport_request=7")
    assert s.get("Interface", "p2", "ofport") == "7"
    assert s.appctl("ofproto/list").stdout == "br0\n"


def test_errors_are_reported_not_fatal(br0: Switchd) -> None:
    s = br0
    r = s.vsctl("add-port", "br0", "bad", "--", "set", "interface", "bad", "type=foo")
    assert "Error detected while setting up 'bad'" in r.stderr
    assert s.get("Interface", "bad", "ofport") == "-1"
    assert s.get("Interface", "bad", "error") == \
        '"could not open network device bad (Address family not supported by protocol)"'
    # A system port whose device does not exist, and a VXLAN port without remote_ip: errors, not crashes.
    # (The bridge's own port a dummy one: no TAP device is created for the test.)
    s.vsctl("add-br", "br1", "--", "set", "bridge", "br1", "datapath_type=netdev", "--", "set", "interface", "br1",
            "type=dummy")
    s.vsctl("add-port", "br1", "pvsnoeth9")
    assert s.get("Interface", "pvsnoeth9", "ofport") == "-1"
    assert s.get("Interface", "pvsnoeth9", "error") == \
        '"could not open network device pvsnoeth9 (No such device)"'
    s.vsctl("add-port", "br1", "vx9", "--", "set", "interface", "vx9", "type=vxlan")
    assert s.get("Interface", "vx9", "error") == '"vx9: vxlan type requires valid \'remote_ip\' argument"'
    # A pcap file that cannot be written is a configuration error of that port.
    s.vsctl("add-port", "br0", "p3", "--", "set", "interface", "p3", "type=dummy",
            "options:pcap=/nonexistent/dir/x.pcap")
    assert "could not open pcap file" in s.get("Interface", "p3", "error")
    # Fixing the type brings the port up.
    s.vsctl("set", "interface", "bad", "type=dummy")
    assert s.get("Interface", "bad", "error") == "[]"
    assert int(s.get("Interface", "bad", "ofport")) > 0
    assert s.appctl("version").returncode == 0


def test_del_port_and_del_br(br0: Switchd) -> None:
    s = br0
    s.vsctl("add-port", "br0", "p1", "--", "set", "interface", "p1", "type=dummy")
    s.vsctl("add-port", "br0", "p2", "--", "set", "interface", "p2", "type=dummy")
    s.vsctl("del-port", "br0", "p1")
    assert "p1" not in s.appctl("dpif/show").stdout
    # The freed number is reused by the next port.
    s.vsctl("add-port", "br0", "p3", "--", "set", "interface", "p3", "type=dummy")
    assert s.get("Interface", "p3", "ofport") == "1"
    s.vsctl("del-br", "br0")
    assert s.appctl("ofproto/list").stdout == ""
    assert s.appctl("dpif/show").stdout == ""


def test_appctl_commands_and_bad_input(switchd: Switchd) -> None:
    s = switchd
    r = s.appctl("list-commands")
    assert r.returncode == 0 and r.stdout.startswith("The available commands are:\n")
    for c in ("exit", "version", "vlog/set", "vlog/list", "memory/show", "coverage/show", "dpif/show",
              "ofproto/list", "netdev-dummy/receive"):
        assert f"\n  {c} " in r.stdout
    # The real ovs-appctl speaks to our control socket.
    r = subprocess.run(["ovs-appctl", "-t", s.ctl, "version"], check=False, capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and r.stdout.startswith("pyvs-vswitchd (pyvswitch) ")
    r = subprocess.run(["ovs-appctl", "-t", s.ctl, "nosuch"], check=False, capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and '"nosuch" is not a valid command' in r.stderr

    r = s.appctl("nosuch/command")
    assert r.returncode == 2
    assert r.stderr == ('"nosuch/command" is not a valid command (use "list-commands" to see a list of valid '
                        'commands)\npyvs-appctl: pyvs-vswitchd: server returned an error\n')
    r = s.appctl("version", "extra")
    assert r.returncode == 2 and '"version" command takes at most 0 arguments' in r.stderr
    r = s.appctl("netdev-dummy/receive", "p1")
    assert r.returncode == 2 and "requires at least 2 arguments" in r.stderr
    r = s.appctl("vlog/set", "nosuchmodule:dbg")
    assert r.returncode == 2 and 'no destination, level, or module "nosuchmodule"' in r.stderr
    assert s.appctl("vlog/set", "bridge:file:dbg").returncode == 0
    line = next(ln for ln in s.appctl("vlog/list").stdout.splitlines() if ln.startswith("bridge "))
    assert line.split()[1:] == ["WARN", "OFF", "DBG"]
    assert s.appctl("memory/show").stdout.startswith("bridges:0 ")
    assert s.appctl("coverage/show").stdout.startswith("Event coverage, avg rate over last:")

    # Garbage on the control socket drops that connection only.
    with socket.socket(socket.AF_UNIX) as c:
        c.connect(s.ctl)
        c.sendall(b"\xff\xfe not json at all }}}")
        c.settimeout(5)
        assert c.recv(100) == b""
    with socket.socket(socket.AF_UNIX) as c:
        c.connect(s.ctl)
        c.sendall(json.dumps({"id": 7, "method": "vlog/set", "params": [1]}).encode())
        c.settimeout(5)
        reply = json.loads(c.recv(4096))
        assert reply["id"] == 7 and "non-string" in reply["error"]
    r = subprocess.run([sys.executable, "-m", "pyvswitch.cli.appctl", "-t", "/nonexistent/x.ctl", "version"],
                       check=False, capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and "cannot connect" in r.stderr
    # The run directory may come from the environment.
    env = dict(os.environ, PYVS_RUNDIR=s.rundir)
    r = subprocess.run([sys.executable, "-m", "pyvswitch.cli.appctl", "version"], env=env, check=False,
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and r.stdout.startswith("pyvs-vswitchd")
    assert s.proc is not None and s.proc.poll() is None


def test_netdev_dummy_receive_statistics_and_pcap(br0: Switchd) -> None:
    s = br0
    pcap = os.path.join(s.rundir, "p1.pcap")
    s.vsctl("set", "Open_vSwitch", ".", "other_config:stats-update-interval=1000")
    s.vsctl("add-port", "br0", "p1", "--", "set", "interface", "p1", "type=dummy", f"options:pcap={pcap}")
    arp_hex = "ffffffffffff00000000000108060001080006040001000000000001c0a80001000000000000c0a80002"
    flow = ("in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),"
            "ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=0,dst=53)")
    assert s.appctl("netdev-dummy/receive", "p1", arp_hex).returncode == 0
    assert s.appctl("netdev-dummy/receive", "p1", flow).returncode == 0
    # ovs-ofctl syntax: refused by receive (as by Open vSwitch), accepted by the pyvswitch-only send.
    r = s.appctl("netdev-dummy/receive", "p1", "dl_dst=ff:ff:ff:ff:ff:ff,arp")
    assert r.returncode == 2 and r.stderr.startswith("syntax error at dl_dst=ff:ff:ff:ff:ff:ff,arp")
    assert s.appctl("netdev-dummy/send", "p1", "dl_dst=ff:ff:ff:ff:ff:ff,arp").returncode == 0
    r = s.appctl("netdev-dummy/receive", "p1", "zz")
    assert r.returncode == 2 and r.stderr.startswith("syntax error at zz\n")
    r = s.appctl("netdev-dummy/receive", "nosuch", arp_hex)
    assert r.returncode == 2 and r.stderr.startswith("no such dummy netdev\n")

    frames = [bytes.fromhex(arp_hex), parse_packet(flow),
              parse_packet("dl_dst=ff:ff:ff:ff:ff:ff,arp", ofctl_syntax=True)]
    assert read_pcap(pcap) == frames
    want_rx = len(frames[0]) + len(frames[1])
    s.wait_until(lambda: f"rx_bytes={want_rx}," in s.get("Interface", "p1", "statistics"), timeout=8)
    stats = s.get("Interface", "p1", "statistics")
    assert "rx_packets=2," in stats and "tx_packets=1}" in stats and f"tx_bytes={len(frames[2])}," in stats
    assert "missed:2" in s.appctl("dpif/show").stdout


def test_sigterm_exit_and_restart(rundir: str) -> None:
    s = Switchd(rundir)
    s.start()
    try:
        s.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy")
        s.vsctl("add-port", "br0", "p1", "--", "set", "interface", "p1", "type=dummy")
        s.vsctl("add-port", "br0", "p2", "--", "set", "interface", "p2", "type=dummy", "ofport_request=9")
        assert s.kill(signal.SIGTERM) == 0
        for name in ("pyvs-vswitchd.pid", "pyvs-vswitchd.ctl", "db.sock"):
            assert not os.path.exists(os.path.join(rundir, name))
        s.start()
        assert s.appctl("dpif/show").stdout.splitlines()[1:] == [
            "  br0:", "    br0 65534/100: (dummy-internal)", "    p1 1/1: (dummy)", "    p2 9/2: (dummy)"]
        assert s.appctl("exit").returncode == 0
        assert s.proc is not None and s.proc.wait(10) == 0
        s.proc = None
        assert not os.path.exists(os.path.join(rundir, "pyvs-vswitchd.pid"))
    finally:
        if s.proc is not None:
            s.kill()


def _db_ofports(path: str) -> dict[str, int]:
    q = json.dumps(["Open_vSwitch", {"op": "select", "table": "Interface", "where": [],
                                     "columns": ["name", "ofport"]}])
    r = subprocess.run(["ovsdb-tool", "query", path, q], check=True, capture_output=True, text=True, timeout=20)
    rows = json.loads(r.stdout)[0]["rows"]
    return {row["name"]: row["ofport"] for row in rows}


def test_kill9_during_transactions_then_restart(rundir: str) -> None:
    s = Switchd(rundir)
    s.start()
    acked: list[str] = []
    try:
        s.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy")
        for i in range(3):
            s.vsctl("add-port", "br0", f"w{i}", "--", "set", "interface", f"w{i}", "type=dummy")
        stop = threading.Event()

        def stream() -> None:
            i = 0
            while not stop.is_set():
                r = s.vsctl("add-port", "br0", f"n{i}", "--", "set", "interface", f"n{i}", "type=dummy",
                            check=False, wait=False, timeout=2)
                if r.returncode == 0:
                    acked.append(f"n{i}")
                i += 1

        t = threading.Thread(target=stream)
        t.start()
        s.wait_until(lambda: len(acked) >= 20, timeout=30)
        stop.set()
        s.kill(signal.SIGKILL)
        t.join(30)
        before = _db_ofports(os.path.join(rundir, "conf.db"))
        for name in ["w0", "w1", "w2", *acked]:
            assert name in before
        assert [before[f"w{i}"] for i in range(3)] == [1, 2, 3]
        s.start()
        after = {}
        for name, ofport in before.items():
            got = s.wait_until(lambda name=name: s.get("Interface", name, "ofport") not in ("[]", "0"), timeout=10)
            assert got
            after[name] = int(s.get("Interface", name, "ofport"))
        for name, ofport in before.items():
            if isinstance(ofport, int) and ofport > 0:
                assert after[name] == ofport, name
        assert len(set(after.values())) == len(after)
    finally:
        if s.proc is not None:
            s.kill()


def _stop_pid(pidfile: str) -> None:
    try:
        with open(pidfile) as f:
            pid = int(f.read())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    # Both daemons remove their pidfile when they exit cleanly.  (The process itself may linger as a zombie if
    # nothing reaps orphans in this container, so its pid is not a reliable sign.)
    for _ in range(100):
        if not os.path.exists(pidfile):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def test_detached_with_external_ovsdb_server(rundir: str) -> None:
    """--db with Open vSwitch's own ovsdb-server and schema, and --detach."""
    db = os.path.join(rundir, "ext.db")
    sock = os.path.join(rundir, "ext.sock")
    subprocess.run(["ovsdb-tool", "create", db, "/usr/share/openvswitch/vswitch.ovsschema"], check=True)
    ovsdb_pid = os.path.join(rundir, "ovsdb.pid")
    vsd_pid = os.path.join(rundir, "vsd.pid")
    try:
        subprocess.run(["ovsdb-server", db, f"--remote=punix:{sock}", f"--pidfile={ovsdb_pid}", "--detach",
                        f"--log-file={rundir}/ovsdb.log", f"--unixctl={rundir}/ovsdb.ctl"], check=True, timeout=20)
        s = Switchd(rundir)
        subprocess.run(["ovs-vsctl", f"--db=unix:{sock}", "--no-wait", "init"], check=True, timeout=20)
        r = subprocess.run([sys.executable, "-m", "pyvswitch.vswitchd", "--rundir", rundir, "--db", f"unix:{sock}",
                            "--detach", f"--pidfile={vsd_pid}"], check=False, capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert not os.path.exists(os.path.join(rundir, "conf.db"))   # No embedded database.
        vsctl = ["ovs-vsctl", f"--db=unix:{sock}", "--timeout=10"]
        subprocess.run([*vsctl, "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy", "--",
                        "add-port", "br0", "p1", "--", "set", "interface", "p1", "type=dummy"],
                       check=True, timeout=20)
        out = subprocess.run([*vsctl, "get", "interface", "p1", "ofport"], check=True, capture_output=True,
                             text=True, timeout=20).stdout
        assert out == "1\n"
        assert s.appctl("ofproto/list").stdout == "br0\n"
    finally:
        _stop_pid(vsd_pid)
        _stop_pid(ovsdb_pid)
    assert not os.path.exists(vsd_pid)


def test_bad_command_line(rundir: str) -> None:
    r = subprocess.run([sys.executable, "-m", "pyvswitch.vswitchd", "--rundir", rundir, "--db", "bogus:1"],
                       check=False, capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and "must be unix:PATH or tcp:IP:PORT" in r.stderr


def test_open_vswitch_record(switchd: Switchd) -> None:
    s = switchd
    s.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy")
    assert s.get("Open_vSwitch", ".", "datapath_types") == "[dummy, netdev, system]"
    assert "dummy" in s.get("Open_vSwitch", ".", "iface_types")
    assert s.get("Interface", "br0", "statistics") == "{rx_bytes=0, rx_packets=0, tx_bytes=0, tx_packets=0}"


def test_mtu_request_and_admin_state(br0: Switchd) -> None:
    s = br0
    s.vsctl("add-port", "br0", "p1", "--", "set", "interface", "p1", "type=dummy", "mtu_request=9000")
    assert s.get("Interface", "p1", "mtu") == "9000"
    s.vsctl("set", "interface", "p1", "mtu_request=1400")
    assert s.get("Interface", "p1", "mtu") == "1400"
    r = s.appctl("netdev-dummy/set-admin-state", "p1", "down")
    assert r.returncode == 0 and r.stdout == "OK\n"
    s.wait_until(lambda: s.get("Interface", "p1", "admin_state") == "down", timeout=5)
    assert s.get("Interface", "p1", "link_state") == "down"
    assert s.get("Interface", "br0", "admin_state") == "up"
    r = s.appctl("netdev-dummy/set-admin-state", "nosuch", "down")
    assert r.returncode == 2 and r.stderr.startswith("Unknown Dummy Interface\n")
    r = s.appctl("netdev-dummy/set-admin-state", "p1", "sideways")
    assert r.returncode == 2 and r.stderr.startswith("Invalid Admin State\n")
    assert s.appctl("netdev-dummy/set-admin-state", "up").returncode == 0
    s.wait_until(lambda: s.get("Interface", "p1", "link_state") == "up", timeout=5)


def test_unreachable_database_then_sigterm(rundir: str) -> None:
    """With an external database that is not there, the daemon keeps trying, answers commands, and stops."""
    s = Switchd(rundir)
    proc = subprocess.Popen([sys.executable, "-m", "pyvswitch.vswitchd", "--rundir", rundir, "--db",
                             f"unix:{rundir}/none.sock"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        s.wait_until(lambda: os.path.exists(s.ctl), timeout=10)
        assert s.appctl("ofproto/list").stdout == ""
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert not os.path.exists(s.ctl)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_datapath_id(br0: Switchd) -> None:
    s = br0
    mac = s.get("Interface", "br0", "mac_in_use").strip('"')
    assert s.get("Bridge", "br0", "datapath_id") == '"0000' + mac.replace(":", "") + '"'
    s.vsctl("set", "bridge", "br0", "other_config:datapath-id=0000000000000abc")
    assert s.get("Bridge", "br0", "datapath_id") == '"0000000000000abc"'
    s.vsctl("set", "bridge", "br0", "other_config:datapath-id=nonsense")   # Ignored, as OVS ignores it.
    assert s.get("Bridge", "br0", "datapath_id") == '"0000' + mac.replace(":", "") + '"'


def _pyvs_vsctl(s: Switchd, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyvswitch.cli.vsctl", f"--db={s.db}", "--timeout=10", *args],
                          check=False, capture_output=True, text=True, timeout=30)


def test_pyvs_vsctl_drives_the_daemon_across_a_kill_and_restart(rundir: str) -> None:
    """Our own pyvs-vsctl, waiting for cur_cfg as ovs-vsctl does, against the daemon; then kill -9, restart,
    and the configuration and port numbers are all back."""
    s = Switchd(rundir)
    s.start()
    try:
        r = _pyvs_vsctl(s, "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy")
        assert r.returncode == 0, r.stderr
        for i in range(4):
            r = _pyvs_vsctl(s, "add-port", "br0", f"v{i}", "--", "set", "interface", f"v{i}", "type=dummy",
                            f"ofport_request={10 + i}")
            assert r.returncode == 0, r.stderr
        # Without --no-wait the command returned after the daemon applied it, so ofport is already there.
        assert _pyvs_vsctl(s, "get", "interface", "v3", "ofport").stdout.strip() == "13"
        assert _pyvs_vsctl(s, "list-ports", "br0").stdout.split() == ["v0", "v1", "v2", "v3"]
        r = _pyvs_vsctl(s, "add-port", "br0", "v0")
        assert r.returncode == 1 and "already exists" in r.stderr
        s.kill(signal.SIGKILL)
        s.start()
        s.wait_until(lambda: _pyvs_vsctl(s, "get", "interface", "v0", "ofport").stdout.strip() == "10")
        assert [_pyvs_vsctl(s, "get", "interface", f"v{i}", "ofport").stdout.strip() for i in range(4)] == \
            ["10", "11", "12", "13"]
        r = _pyvs_vsctl(s, "del-port", "br0", "v1")
        assert r.returncode == 0, r.stderr
        assert _pyvs_vsctl(s, "list-ports", "br0").stdout.split() == ["v0", "v2", "v3"]
        assert "br0" in s.appctl("dpif/show").stdout
    finally:
        if s.proc is not None:
            s.kill()
