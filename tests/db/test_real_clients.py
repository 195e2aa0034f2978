"""Open vSwitch's own clients against our server, side by side with Open vSwitch's ovsdb-server.

Both servers run as separate processes in their own temporary directories.  The same ``ovs-vsctl`` and
``ovsdb-client`` commands run against each, and their exit statuses and outputs must agree once UUIDs (random on
both sides) are masked and the order of rows (which follows UUIDs) is made canonical.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from db_helpers import OUR_SCHEMA, ServerProc, ovsdb_client, vsctl

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _canon_tree(lines: list[str]) -> list[str]:
    """Sort sibling lines (with their indented children) so that row order does not matter."""
    blocks = []
    i = 0
    while i < len(lines):
        j = i + 1
        while j < len(lines) and _indent(lines[j]) > _indent(lines[i]):
            j += 1
        blocks.append([lines[i], *_canon_tree(lines[i + 1:j])])
        i = j
    blocks.sort()
    return [line for b in blocks for line in b]


def canon(text: str) -> str:
    text = UUID_RE.sub("<uuid>", text)
    records = [r for r in text.split("\n\n") if r.strip()]
    return "\n\n".join(sorted("\n".join(_canon_tree(r.splitlines())) for r in records))


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    real = ServerProc(str(tmp_path_factory.mktemp("real")), "real").start()
    ours = ServerProc(str(tmp_path_factory.mktemp("ours")), "ours").start()
    yield real, ours
    real.stop()
    ours.stop()


# One scenario, in order.  Each entry is an ovs-vsctl command line (split on spaces unless given as a list).
SCENARIO: list[str | list[str]] = [
    "init",
    "add-br br0",
    "add-br br1 -- set bridge br1 datapath_type=netdev",
    "--may-exist add-br br0",
    "add-br br0",
    "add-port br0 p1 -- set interface p1 type=internal",
    "add-port br0 p2 tag=10",
    "add-bond br0 bond0 a b",
    "--may-exist add-port br0 p1",
    "add-port br1 p1",
    "list-br",
    "list-ports br0",
    "list-ifaces br0",
    "port-to-br p1",
    "iface-to-br a",
    "br-exists br0",
    "br-exists nope",
    "set port p1 tag=5 other_config:foo=bar",
    "get port p1 tag other_config:foo",
    "get port p1 other_config:missing",
    "add bridge br0 flood_vlans 1 2 3",
    "remove bridge br0 flood_vlans 2",
    "get bridge br0 flood_vlans",
    "clear port p1 tag",
    "get port p1 tag",
    "br-set-external-id br0 k v",
    "br-set-external-id br0 k2 v2",
    "br-get-external-id br0",
    "br-get-external-id br0 k",
    "br-set-external-id br0 k",
    "br-get-external-id br0",
    "set-fail-mode br0 secure",
    "get-fail-mode br0",
    "set bridge br0 fail_mode=bogus",
    "del-fail-mode br0",
    "get-fail-mode br0",
    "set-controller br0 tcp:127.0.0.1:6653 tcp:127.0.0.1:6654",
    "get-controller br0",
    "list controller",
    "del-controller br0",
    "get-controller br0",
    "list controller",
    "--id=@q create qos type=linux-htb other-config:max-rate=1000000 -- set port p1 qos=@q",
    "list qos",
    "--id=@qq create queue other-config:min-rate=10 -- add qos . queues 0=@qq",
    "get qos . queues",
    "--id=@m create mirror name=m0 select-all=true -- add bridge br0 mirrors @m",
    "list mirror",
    "find port tag=10",
    "find interface type=internal",
    "--columns=name,tag find port",
    "--format=json list bridge br1",
    "--bare --columns=name list interface",
    "set interface p1 options:remote_ip=1.2.3.4 options:key=flow",
    "get interface p1 options",
    "remove interface p1 options remote_ip",
    "get interface p1 options",
    ["set", "bridge", "br0", 'other-config:hwaddr="00:11:22:33:44:55"'],
    "get bridge br0 other-config",
    "clear port p1 qos -- --all destroy queue -- --all destroy qos",
    "list qos",
    "list queue",
    "wait-until bridge br0 fail_mode=[]",
    "set port p2 trunks=1,2,3 vlan_mode=trunk",
    "get port p2 trunks vlan_mode",
    "set port p2 vlan_mode=bogus",
    "set port p2 tag=5000",
    "del-port br0 p2",
    "--if-exists del-port br0 nope",
    "del-port br0 nope",
    "clear bridge br0 mirrors",
    "list mirror",
    "show",
    "get Open_vSwitch . bridges",
    "list open_vswitch",
    "emer-reset",
    "show",
    "del-br br1",
    "list-br",
    "--if-exists del-br nope",
    "show",
]


def run_both(servers, args):
    real, ours = servers
    a = args if isinstance(args, list) else args.split()
    r = vsctl(real.remote, *a, check=False)
    o = vsctl(ours.remote, *a, check=False)
    return r, o


def test_ovs_vsctl_side_by_side(servers):
    mismatches = []
    for cmd in SCENARIO:
        r, o = run_both(servers, cmd)
        if (r.returncode, canon(r.stdout)) != (o.returncode, canon(o.stdout)):
            mismatches.append(f"$ ovs-vsctl {cmd}\n  real ({r.returncode}): {r.stdout!r} {r.stderr!r}\n"
                              f"  ours ({o.returncode}): {o.stdout!r} {o.stderr!r}")
        # Both must fail or succeed for the same reason: compare the first words of the error.
        if r.returncode and r.stderr.split(":")[1:2] != o.stderr.split(":")[1:2]:
            mismatches.append(f"$ ovs-vsctl {cmd}\n  real stderr: {r.stderr!r}\n  ours stderr: {o.stderr!r}")
    assert not mismatches, "\n".join(mismatches)
    # The final contents of the whole database agree too.
    real, ours = servers
    dumps = [canon(ovsdb_client("dump", s.remote, "Open_vSwitch").stdout) for s in (real, ours)]
    assert dumps[0] == dumps[1]


def test_ovs_vsctl_named_rows_and_references(servers):
    """Checks that do not depend on comparing with the real server: references resolve to the right rows."""
    _, ours = servers
    vsctl(ours.remote, "--may-exist", "add-br", "brx")
    uuid = vsctl(ours.remote, "--id=@c", "create", "controller", 'target="tcp:1.1.1.1:6653"', "--",
                 "set", "bridge", "brx", "controller=@c").stdout.strip()
    assert UUID_RE.fullmatch(uuid)
    assert vsctl(ours.remote, "get", "bridge", "brx", "controller").stdout.strip() == f"[{uuid}]"
    assert vsctl(ours.remote, "get", "controller", uuid, "target").stdout.strip() == '"tcp:1.1.1.1:6653"'
    vsctl(ours.remote, "del-br", "brx")
    # The controller was garbage collected with the bridge that referenced it.
    assert vsctl(ours.remote, "list", "controller", uuid, check=False).returncode != 0


def test_ovsdb_client_commands(servers):
    real, ours = servers
    for s in (real, ours):
        assert ovsdb_client("list-dbs", s.remote).stdout.split() == ["Open_vSwitch", "_Server"]
        assert ovsdb_client("get-schema-version", s.remote, "Open_vSwitch").stdout.strip() == "8.3.1"
    schema = json.loads(ovsdb_client("get-schema", ours.remote, "Open_vSwitch").stdout)
    assert schema["name"] == "Open_vSwitch" and set(schema["tables"]) == set(json.loads(Path(OUR_SCHEMA).read_text())["tables"])
    outs = [canon(ovsdb_client("list-columns", s.remote, "Open_vSwitch", "Bridge").stdout) for s in (real, ours)]
    assert outs[0] == outs[1]
    outs = [canon(ovsdb_client("list-tables", s.remote, "Open_vSwitch").stdout) for s in (real, ours)]
    assert outs[0] == outs[1]
    trns = json.dumps(["Open_vSwitch", {"op": "select", "table": "Bridge", "where": [["name", "==", "br0"]],
                                        "columns": ["name", "flood_vlans", "external_ids"]},
                       {"op": "select", "table": "Bridge", "where": [["name", "~", "x"]]}])
    outs = [json.loads(ovsdb_client("transact", s.remote, trns).stdout) for s in (real, ours)]
    assert outs[0][0] == outs[1][0] and outs[0][1]["error"] == outs[1][1]["error"] == "unknown function"
    for fmt in ("--format=json", "--format=csv"):
        outs = [canon(ovsdb_client(fmt, "dump", s.remote, "Open_vSwitch", "Bridge", "name", "fail_mode").stdout)
                for s in (real, ours)]
        assert outs[0] == outs[1]


@pytest.mark.parametrize("method", ["monitor", "monitor-cond"])
def test_ovsdb_client_monitor(servers, method):
    outputs = []
    for s in servers:
        args = ["ovsdb-client", "--timeout=20", "--format=csv", method, s.remote, "Open_vSwitch"]
        if method == "monitor-cond":
            args.append('[["name","==","mon0"]]')
        args += ["Bridge", "name,fail_mode"]
        mon = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(0.5)
            vsctl(s.remote, "add-br", "mon0")
            vsctl(s.remote, "add-br", "mon1")
            vsctl(s.remote, "set-fail-mode", "mon0", "secure")
            vsctl(s.remote, "del-br", "mon0")
            vsctl(s.remote, "del-br", "mon1")
            time.sleep(0.5)
        finally:
            mon.send_signal(signal.SIGTERM)
            out, _ = mon.communicate(10)
        outputs.append(sorted(line for line in UUID_RE.sub("<uuid>", out).splitlines() if line.strip()))
    assert outputs[0] == outputs[1] and len(outputs[1]) >= 3, outputs


def test_bad_input_then_ovs_vsctl_still_works(servers):
    import socket
    _, ours = servers
    for junk in (b'{"method": "transact", "params": ["Open_vSwitch", {"op": "insert"', b"}}}}", b"\x00\xff",
                 b'{"method":"no_such_method","params":[],"id":1}', b'{"method":"transact","params":7,"id":2}'):
        s = socket.socket(socket.AF_UNIX)
        s.connect(ours.sock)
        s.sendall(junk)
        s.settimeout(1)
        try:
            s.recv(4096)
        except OSError:
            pass
        s.close()
    assert ours.alive()
    assert "br0" in vsctl(ours.remote, "list-br").stdout


def test_idl_of_every_column_against_both_servers(servers):
    """An Idl that asks for whole tables gets what each server sends, ovsdb-server's ``_version`` column
    included, and keeps a replica of the schema's columns."""
    from pyvswitch.db.client import Idl
    for srv in servers:
        vsctl(srv.remote, "--may-exist", "add-br", "idlbr0")
        idl = Idl(srv.remote, "Open_vSwitch")

        def bridge(idl: Idl = idl) -> Any:
            return next((r for r in idl.rows("Bridge") if r["name"] == "idlbr0"), None)

        idl.wait_for(lambda: bridge() is not None)
        assert bridge()["fail_mode"] is None
        vsctl(srv.remote, "set", "bridge", "idlbr0", "fail_mode=secure")
        idl.wait_for(lambda: bridge()["fail_mode"] == "secure")
        idl.close()
        vsctl(srv.remote, "del-br", "idlbr0")
