"""The command-line programs: pyvs-ovsdb-tool (as ``python -m pyvswitch.db.tool``) and pyvs-ovsdb-server (as
``python -m pyvswitch.db``), including --detach, --pidfile, clean shutdown, and active (connecting) remotes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from db_helpers import ENV, OUR_SCHEMA, PY, small_schema, wait_for_socket

from pyvswitch.db.client import Client


def tool(*args, check=True):
    cp = subprocess.run([PY, "-m", "pyvswitch.db.tool", *args], capture_output=True, text=True, env=ENV,
                        timeout=60, check=False)
    if check:
        assert cp.returncode == 0, cp.stderr
    return cp


def test_tool_commands(tmp_path):
    db = str(tmp_path / "conf.db")
    tool("create", db)
    assert tool("create", db, check=False).returncode == 1  # exists already
    assert tool("db-name", db).stdout.strip() == "Open_vSwitch"
    assert tool("db-version", db).stdout.strip() == "8.3.1"
    assert tool("db-cksum", db).stdout.strip() == json.loads(Path(OUR_SCHEMA).read_text())["cksum"]
    assert tool("schema-version").stdout.strip() == "8.3.1"
    assert tool("schema-name", OUR_SCHEMA).stdout.strip() == "Open_vSwitch"
    trns = json.dumps(["Open_vSwitch", {"op": "insert", "table": "Open_vSwitch", "row": {"next_cfg": 3}},
                       {"op": "comment", "comment": "by the tool"}])
    r = json.loads(tool("transact", db, trns).stdout)
    assert r[0]["uuid"][0] == "uuid"
    q = json.dumps(["Open_vSwitch", {"op": "select", "table": "Open_vSwitch", "where": [], "columns": ["next_cfg"]}])
    assert json.loads(tool("query", db, q).stdout) == [{"rows": [{"next_cfg": 3}]}]
    # "query" runs writes too, but never commits them.
    w = json.dumps(["Open_vSwitch", {"op": "update", "table": "Open_vSwitch", "where": [], "row": {"next_cfg": 9}}])
    assert json.loads(tool("query", db, w).stdout) == [{"count": 1}]
    assert json.loads(tool("query", db, q).stdout) == [{"rows": [{"next_cfg": 3}]}]
    log = tool("-m", "show-log", db).stdout
    assert 'record 0: "Open_vSwitch" schema, version="8.3.1"' in log and '"by the tool"' in log
    assert "table Open_vSwitch row" in log
    dst = str(tmp_path / "copy.db")
    tool("compact", db, dst)
    tool("compact", db)
    assert json.loads(tool("query", dst, q).stdout) == [{"rows": [{"next_cfg": 3}]}]
    assert tool("frobnicate", db, check=False).returncode == 1
    assert tool("query", db, "not json", check=False).returncode == 1
    assert tool("db-name", str(tmp_path / "missing.db"), check=False).returncode == 1


def test_server_detach_pidfile_and_clean_exit(tmp_path):
    db = str(tmp_path / "conf.db")
    tool("create", db)
    sock, pidfile, log = (str(tmp_path / n) for n in ("db.sock", "srv.pid", "srv.log"))
    cp = subprocess.run([PY, "-m", "pyvswitch.db", f"--remote=punix:{sock}", f"--pidfile={pidfile}",
                         f"--log-file={log}", "--detach", db], env=ENV, capture_output=True, timeout=30,
                        check=False)
    assert cp.returncode == 0, cp.stderr
    pid = int(Path(pidfile).read_text())
    try:
        with Client(f"unix:{sock}") as c:  # ready as soon as --detach returns
            assert c.list_dbs() == ["Open_vSwitch", "_Server"]
        # A second server cannot take the same database file.
        cp = subprocess.run([PY, "-m", "pyvswitch.db", f"--remote=punix:{sock}2", "--detach", db], env=ENV,
                            capture_output=True, text=True, timeout=30, check=False)
        assert cp.returncode == 1 and "locked" in cp.stderr
    finally:
        os.kill(pid, signal.SIGTERM)
    for _ in range(200):
        if not os.path.exists(pidfile):
            break
        time.sleep(0.025)
    assert not os.path.exists(pidfile) and not os.path.exists(sock)
    assert "started" in Path(log).read_text()


@pytest.mark.parametrize("args,message", [
    (["--remote=bogus:x", "x.db"], "unknown remote type"),
    (["/nonexistent/file.db"], "No such file"),
    ([], "at least one database"),
])
def test_server_startup_errors(tmp_path, args, message):
    cp = subprocess.run([PY, "-m", "pyvswitch.db", *args], env=ENV, capture_output=True, text=True, timeout=30,
                        check=False)
    assert cp.returncode == 1 and message in cp.stderr


def test_active_unix_remote(tmp_path):
    """--remote=unix:PATH makes the server connect out and serve whoever listens there (a manager)."""
    path = str(tmp_path / "mgr.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(1)
    listener.settimeout(20)
    db = str(tmp_path / "t.db")
    schema = tmp_path / "t.ovsschema"
    schema.write_text(json.dumps(small_schema()))
    tool("create", db, str(schema))
    proc = subprocess.Popen([PY, "-m", "pyvswitch.db", f"--remote=unix:{path}", db], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        conn, _ = listener.accept()
        conn.settimeout(10)
        conn.sendall(json.dumps({"method": "list_dbs", "params": [], "id": 1}).encode())
        reply = json.loads(conn.recv(65536))
        assert reply == {"result": ["T", "_Server"], "error": None, "id": 1}
        conn.close()
        conn, _ = listener.accept()  # the server reconnects after the connection drops
        conn.close()
    finally:
        proc.terminate()
        proc.wait(10)
        listener.close()


def test_ovs_vsctl_over_tcp(tmp_path):
    db = str(tmp_path / "conf.db")
    tool("create", db)
    sock = str(tmp_path / "db.sock")
    proc = subprocess.Popen([PY, "-m", "pyvswitch.db", "--remote=ptcp:0:127.0.0.1", f"--remote=punix:{sock}",
                             "-v", db], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_socket(sock, proc=proc)
        with Client(f"unix:{sock}") as c:
            c.transact("Open_vSwitch", {"op": "insert", "table": "Open_vSwitch", "row": {}})
        port = None
        deadline = time.monotonic() + 10
        while port is None and time.monotonic() < deadline:
            out = subprocess.run(["ss", "-ltnp"], capture_output=True, text=True, check=False).stdout
            for line in out.splitlines():
                if f"pid={proc.pid}," in line:
                    port = int(line.split()[3].rsplit(":", 1)[1])
            time.sleep(0.05)
        assert port
        cp = subprocess.run(["ovs-vsctl", f"--db=tcp:127.0.0.1:{port}", "--no-wait", "add-br", "tbr"],
                            capture_output=True, text=True, timeout=30, check=False)
        assert cp.returncode == 0, cp.stderr
        cp = subprocess.run(["ovs-vsctl", f"--db=tcp:127.0.0.1:{port}", "--no-wait", "list-br"],
                            capture_output=True, text=True, timeout=30, check=False)
        assert cp.stdout.split() == ["tbr"]
    finally:
        proc.terminate()
        proc.wait(10)
