"""The JSON-RPC server, in process: every method, monitors of all three versions, locks, blocking waits,
inactivity probes, and bad input that must not hurt the server."""

from __future__ import annotations

import json
import socket
import time
from typing import ClassVar

import pytest
from db_helpers import ThreadedServer, small_schema

from pyvswitch.db import storage as storage_mod
from pyvswitch.db.client import Client, Idl, RpcError
from pyvswitch.db.storage import FileStorage, StorageError


@pytest.fixture
def srv(tmp_path):
    path = str(tmp_path / "t.db")
    FileStorage.create(path, small_schema())
    with ThreadedServer(str(tmp_path), [path]) as s:
        yield s


@pytest.fixture
def c(srv):
    with Client(srv.remote) as cl:
        yield cl


@pytest.fixture
def w(srv):
    """A second client, for changes that ``c`` must see as notifications."""
    with Client(srv.remote) as cl:
        yield cl


def ins_loose(x, **extra):
    return {"op": "insert", "table": "Loose", "row": {"x": x, **extra}}


class Raw:
    """A raw socket speaking bytes, to send malformed input."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.s.settimeout(5)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else json.dumps(data).encode())

    def recv(self, timeout=5.0):
        """One JSON message, or "EOF" if the server closed the connection, or None on timeout."""
        dec = json.JSONDecoder()
        deadline = time.monotonic() + timeout
        while True:
            text = self.buf.decode(errors="replace").lstrip()
            if text:
                try:
                    obj, end = dec.raw_decode(text)
                    self.buf = text[end:].encode()
                    return obj
                except ValueError:
                    pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.s.settimeout(remaining)
            try:
                data = self.s.recv(65536)
            except TimeoutError:
                return None
            except ConnectionResetError:
                return "EOF"
            if not data:
                return "EOF"
            self.buf += data

    def close(self):
        self.s.close()


class TestMethods:
    def test_list_dbs_schema_echo_server_id(self, c):
        assert c.list_dbs() == ["T", "_Server"]
        assert c.get_schema("T").name == "T"
        assert c.echo(1, "two", [3]) == [1, "two", [3]]
        sid = c.call("get_server_id", [])
        assert isinstance(sid, str) and len(sid) == 36
        assert c.call("set_db_change_aware", [True]) == {}

    def test_server_database(self, c):
        rows = c.transact("_Server", {"op": "select", "table": "Database", "where": [],
                                      "columns": ["name", "model", "connected", "leader", "schema"]})[0]["rows"]
        by = {r["name"]: r for r in rows}
        assert set(by) == {"T", "_Server"}
        assert by["T"]["model"] == "standalone" and by["T"]["connected"] and by["T"]["leader"]
        assert json.loads(by["T"]["schema"])["name"] == "T"
        r = c.transact("_Server", {"op": "delete", "table": "Database", "where": []})
        assert r[0]["error"] == "not allowed"

    def test_errors(self, c):
        with pytest.raises(RpcError) as e:
            c.call("frobnicate", [])
        assert e.value.error == "unknown method"
        with pytest.raises(RpcError) as e:
            c.call("transact", ["Nope", {"op": "select", "table": "X", "where": []}])
        assert e.value.error["error"] == "unknown database"
        with pytest.raises(RpcError) as e:
            c.call("get_schema", [])
        assert e.value.error["error"] == "syntax error"
        with pytest.raises(RpcError) as e:
            c.call("monitor_cancel", ["nope"])
        assert e.value.error == "unknown monitor"
        with pytest.raises(RpcError) as e:
            c.call("monitor", ["T", "m", {"Nope": {}}])
        assert e.value.error["error"] == "syntax error"
        with pytest.raises(RpcError) as e:
            c.call("monitor", ["T", "m", {"Loose": {"columns": ["nope"]}}])
        assert e.value.error["error"] == "syntax error"
        assert c.echo("still alive") == ["still alive"]

    def test_transact_results(self, c):
        r = c.transact("T", ins_loose(1), {"op": "select", "table": "Loose", "where": [], "columns": ["x"]})
        assert r[1] == {"rows": [{"x": 1}]}
        r = c.transact("T", ins_loose(2), {"op": "abort"})
        assert r[1]["error"] == "aborted"
        assert c.transact("T", {"op": "select", "table": "Loose", "where": [], "columns": ["x"]})[0] == \
            {"rows": [{"x": 1}]}


class TestBadInput:
    def test_malformed_json_disconnects_only_that_client(self, srv, c):
        for junk in (b'{"method":"echo",,}', b"garbage}", b"[1,2,3]", b'{"id":1}', b"\xff\xfe{}", b"42 "):
            r = Raw(srv.sock)
            r.send(junk)
            assert r.recv() == "EOF", junk
            r.close()
        assert c.echo("ok") == ["ok"]

    def test_bad_params_get_error_replies(self, srv):
        r = Raw(srv.sock)
        r.send({"method": "transact", "params": "x", "id": 1})
        assert r.recv()["error"]["error"] == "syntax error"
        r.send({"method": "transact", "params": [], "id": 2})
        assert r.recv()["error"]["error"] == "syntax error"
        r.send({"method": "transact", "params": ["T", 5, {"op": "select"}], "id": 3})
        m = r.recv()
        assert m["result"][0]["error"] == "syntax error" and m["result"][1] is None
        r.send({"method": "lock", "params": [1], "id": 4})
        assert r.recv()["error"]["error"] == "syntax error"
        r.send({"method": "nope", "params": [], "id": 5})
        assert r.recv() == {"result": None, "error": "unknown method", "id": 5}
        r.send({"method": "echo", "params": ["fine"], "id": 6})
        assert r.recv() == {"result": ["fine"], "error": None, "id": 6}
        r.close()

    def test_split_and_pipelined_messages(self, srv):
        r = Raw(srv.sock)
        data = b"".join(json.dumps({"method": "echo", "params": [i, "x\"}{[" * i], "id": i}).encode()
                        for i in range(20))
        for i in range(0, len(data), 7):
            r.send(data[i:i + 7])
        for i in range(20):
            assert r.recv()["id"] == i
        r.close()

    def test_oversized_message(self, tmp_path):
        with ThreadedServer(str(tmp_path), [], max_message=1000) as s:
            r = Raw(s.sock)
            r.send(b'{"method":"echo","params":["' + b"x" * 5000)
            assert r.recv() == "EOF"
            with Client(s.remote) as cl:
                assert cl.echo(1) == [1]

    def test_client_that_vanishes_mid_request(self, srv, c):
        r = Raw(srv.sock)
        r.send(b'{"method":"transact","params":["T",{"op":"insert","table":"Loose","row":{"x":')
        r.close()
        r = Raw(srv.sock)
        r.send({"method": "transact", "params": ["T", {"op": "wait", "table": "Loose", "where": [], "until": "==",
                                                       "rows": [{"x": 77}], "columns": ["x"]}], "id": 1})
        r.close()  # a held transaction whose client is gone is dropped
        c.transact("T", ins_loose(77))
        assert c.echo(1) == [1]


class TestMonitors:
    def test_monitor_v1(self, srv, c):
        c2 = Client(srv.remote)
        c.transact("T", ins_loose(1, s="a"))
        init = c.conn.call("monitor", ["T", "m1", {"Loose": {"columns": ["x", "s"]}}])
        (row,) = init["Loose"].values()
        assert row == {"new": {"x": 1, "s": "a"}}
        c2.transact("T", {"op": "update", "table": "Loose", "where": [], "row": {"x": 2}})
        note = c.conn.wait_notification(5)
        (upd,) = note["params"][1]["Loose"].values()
        assert note["method"] == "update" and note["params"][0] == "m1"
        assert upd == {"old": {"x": 1}, "new": {"x": 2, "s": "a"}}
        c2.transact("T", {"op": "delete", "table": "Loose", "where": []})
        note = c.conn.wait_notification(5)
        assert list(note["params"][1]["Loose"].values()) == [{"old": {"x": 2, "s": "a"}}]
        with pytest.raises(RpcError):
            c.conn.call("monitor", ["T", "m1", {"Loose": {}}])
        assert c.conn.call("monitor_cancel", ["m1"]) == {}
        c2.transact("T", ins_loose(3))
        assert c.conn.wait_notification(0.3) is None
        c2.close()

    def test_updates_precede_reply(self, srv, c):
        c.conn.call("monitor_cond", ["T", "m", {"Loose": [{"columns": ["x"]}]}])
        r = Raw(srv.sock)
        r.send({"method": "monitor_cond", "params": ["T", "m", {"Loose": [{"columns": ["x"]}]}], "id": 1})
        assert r.recv()["id"] == 1
        r.send({"method": "transact", "params": ["T", ins_loose(5)], "id": 2})
        first, second = r.recv(), r.recv()
        assert first["method"] == "update2" and second["id"] == 2
        r.close()

    def test_monitor_cond_where_is_or_and_change(self, srv, c, w):
        w.transact("T", ins_loose(1), ins_loose(2), ins_loose(3))
        init = c.conn.call("monitor_cond", ["T", "m", {"Loose": [{"columns": ["x"],
                                                             "where": [["x", "==", 1], ["x", "==", 3]]}]}])
        assert sorted(v["initial"]["x"] for v in init["Loose"].values()) == [1, 3]
        w.transact("T", {"op": "update", "table": "Loose", "where": [["x", "==", 2]], "row": {"x": 3}})
        note = c.conn.wait_notification(5)
        assert note["method"] == "update2"
        assert list(note["params"][1]["Loose"].values()) == [{"insert": {"x": 3}}]
        w.transact("T", {"op": "update", "table": "Loose", "where": [["x", "==", 1]], "row": {"x": 9}})
        note = c.conn.wait_notification(5)
        assert list(note["params"][1]["Loose"].values()) == [{"delete": None}]
        assert c.conn.call("monitor_cond_change", ["m", "m2", {"Loose": [{"where": [["x", "==", 9]]}]}]) == {}
        note = c.conn.notifications.popleft()  # sent before the reply
        assert note["params"][0] == "m2"
        kinds = sorted(next(iter(v)) for v in note["params"][1]["Loose"].values())
        assert kinds == ["delete", "delete", "insert"]
        with pytest.raises(RpcError):
            c.conn.call("monitor_cond_change", ["m", "m3", {"Loose": [{"where": []}]}])

    def test_monitor_cond_modify_and_select(self, srv, c, w):
        w.transact("T", ins_loose(1))
        c.conn.call("monitor_cond", ["T", "m", {"Loose": [{"columns": ["x", "s"],
                                                      "select": {"initial": False, "delete": False}}]}])
        w.transact("T", {"op": "update", "table": "Loose", "where": [], "row": {"s": "new"}})
        note = c.conn.wait_notification(5)
        assert list(note["params"][1]["Loose"].values()) == [{"modify": {"s": "new"}}]
        w.transact("T", {"op": "delete", "table": "Loose", "where": []})
        assert c.conn.wait_notification(0.3) is None

    def test_monitor_cond_since_resume(self, srv, c, w):
        w.transact("T", ins_loose(1))
        found, last, upd = c.conn.call("monitor_cond_since", ["T", "a", {"Loose": [{"columns": ["x"]}]},
                                                         "00000000-0000-0000-0000-000000000000"])
        assert found is False and len(upd["Loose"]) == 1
        w.transact("T", ins_loose(2))
        note = c.conn.wait_notification(5)
        assert note["method"] == "update3"
        last = note["params"][1]
        w.transact("T", ins_loose(3))
        c.conn.wait_notification(5)
        w.transact("T", {"op": "delete", "table": "Loose", "where": [["x", "==", 1]]})
        c.conn.wait_notification(5)
        with Client(srv.remote) as c2:
            found, new_last, upd = c2.conn.call("monitor_cond_since", ["T", "b", {"Loose": [{"columns": ["x"]}]}, last])
            assert found is True
            kinds = sorted((next(iter(v)), (v.get("insert") or {}).get("x")) for v in upd["Loose"].values())
            assert kinds == [("delete", None), ("insert", 3)]
            found, _, upd = c2.conn.call("monitor_cond_since", ["T", "c", {"Loose": [{"columns": ["x"]}]}, new_last])
            assert found is True and upd == {}
            found, _, upd = c2.conn.call("monitor_cond_since", ["T", "d", {"Loose": [{"columns": ["x"]}]},
                                                           "12345678-1234-1234-1234-123456789012"])
            assert found is False and len(upd["Loose"]) == 2

    def test_replica_and_idl(self, srv, c):
        idl = Idl(srv.remote, "T")
        c.transact("T", {"op": "insert", "table": "Root", "uuid-name": "r",
                         "row": {"name": "a", "children": ["named-uuid", "k"], "watch": ["named-uuid", "k"],
                                 "tags": ["map", [["x", "1"]]], "ints": ["set", [1, 2]], "color": "red"}},
                   {"op": "insert", "table": "Child", "uuid-name": "k", "row": {"name": "kid"}})
        idl.wait_for(lambda: idl.rows("Root"))
        (r,) = idl.rows("Root")
        assert r["name"] == "a" and r["tags"] == {"x": "1"} and r["ints"] == [1, 2] and r["color"] == "red"
        c.transact("T", {"op": "mutate", "table": "Root", "where": [],
                         "mutations": [["tags", "insert", ["map", [["y", "2"]]]], ["ints", "delete", 1]]},
                   {"op": "update", "table": "Root", "where": [], "row": {"color": ["set", []]}})
        idl.wait_for(lambda: idl.rows("Root")[0]["color"] is None)
        (r,) = idl.rows("Root")
        assert r["tags"] == {"x": "1", "y": "2"} and r["ints"] == [2]
        for v in (1, 2, 3):  # every monitor version yields the same replica
            rep = c.monitor("T", {"Root": None, "Child": None}, version=v)
            assert {u: d for u, d in rep.tables["Root"].items()} == idl.replica.tables["Root"]
        idl.close()


class TestLocks:
    def test_lock_steal_unlock(self, srv):
        a, b = Client(srv.remote), Client(srv.remote)
        assert a.lock("L") is True
        assert b.lock("L") is False
        assert a.transact("T", {"op": "assert", "lock": "L"}) == [{}]
        assert b.transact("T", {"op": "assert", "lock": "L"})[0]["error"] == "not owner"
        with pytest.raises(RpcError):
            b.lock("L")  # must unlock before a new lock
        a.unlock("L")
        b.wait_for(lambda: ("locked", "L") in b.lock_events)
        assert b.transact("T", {"op": "assert", "lock": "L"}) == [{}]
        a.close()
        c = Client(srv.remote)
        assert c.steal("L") is True
        b.wait_for(lambda: ("stolen", "L") in b.lock_events)
        assert b.transact("T", {"op": "assert", "lock": "L"})[0]["error"] == "not owner"
        c.close()  # the stealer goes away: the lock returns to the client still waiting for it
        b.wait_for(lambda: list(b.lock_events).count(("locked", "L")) == 2)
        with pytest.raises(RpcError):
            b.call("unlock", ["Other"])
        b.close()


class TestWait:
    WAIT: ClassVar[dict] = {"op": "wait", "table": "Loose", "where": [], "until": "==", "rows": [{"x": 42}], "columns": ["x"]}

    def test_blocked_until_satisfied(self, srv, c):
        c.transact("T", ins_loose(1))
        r = Raw(srv.sock)
        r.send({"method": "transact", "params": ["T", dict(self.WAIT, timeout=10000), ins_loose(100)], "id": "w"})
        assert r.recv(0.3) is None  # held
        c.transact("T", {"op": "update", "table": "Loose", "where": [], "row": {"x": 42}})
        m = r.recv()
        assert m["id"] == "w" and m["result"][0] == {} and "uuid" in m["result"][1]
        # The held transaction's insert was committed when it ran.
        xs = sorted(x["x"] for x in c.transact("T", {"op": "select", "table": "Loose", "where": [],
                                                     "columns": ["x"]})[0]["rows"])
        assert xs == [42, 100]
        r.close()

    def test_timeout_and_cancel(self, srv, c):
        r = Raw(srv.sock)
        t0 = time.monotonic()
        r.send({"method": "transact", "params": ["T", dict(self.WAIT, timeout=300)], "id": 1})
        m = r.recv()
        assert m["result"][0]["error"] == "timed out" and time.monotonic() - t0 >= 0.29
        r.send({"method": "transact", "params": ["T", self.WAIT], "id": 2})
        assert r.recv(0.2) is None
        r.send({"method": "cancel", "params": [2], "id": None})
        assert r.recv() == {"result": None, "error": "canceled", "id": 2}
        r.close()


class TestProbesAndErrors:
    def test_inactivity_probe(self, tmp_path):
        with ThreadedServer(str(tmp_path), [], unix_probe_interval=0.2) as s:
            r = Raw(s.sock)
            m = r.recv(2)
            assert m == {"method": "echo", "params": [], "id": "echo"}
            assert r.recv(2) == "EOF"  # never answered: disconnected
            with Client(s.remote) as cl:  # our client answers probes while it waits for updates
                deadline = time.monotonic() + 0.8
                while time.monotonic() < deadline:
                    cl.run(0.1)
                assert cl.echo("x") == ["x"]

    def test_io_error_is_reported_and_server_continues(self, srv, c, monkeypatch):
        def failing(fd, data):
            raise OSError(5, "Input/output error")

        real = storage_mod._write_all
        monkeypatch.setattr(storage_mod, "_write_all", failing)
        r = c.transact("T", ins_loose(1))
        assert r[-1]["error"] == "I/O error" and len(r) == 2
        monkeypatch.setattr(storage_mod, "_write_all", real)
        assert c.transact("T", {"op": "select", "table": "Loose", "where": []})[0] == {"rows": []}
        c.transact("T", ins_loose(2))
        assert len(c.transact("T", {"op": "select", "table": "Loose", "where": []})[0]["rows"]) == 1

    def test_tcp_remote(self, tmp_path):
        s = ThreadedServer(str(tmp_path), [])
        s.start()
        try:
            s.call(lambda: None)
            import asyncio
            fut = asyncio.run_coroutine_threadsafe(s.server.add_remote("ptcp:0:127.0.0.1"), s.loop)
            fut.result(5)
            host, port = s.server.bound["ptcp:0:127.0.0.1"]
            with Client(f"tcp:{host}:{port}") as cl:
                assert "_Server" in cl.list_dbs()
        finally:
            s.stop()


def test_several_databases(tmp_path):
    from db_helpers import OUR_SCHEMA

    a = str(tmp_path / "a.db")
    b = str(tmp_path / "b.db")
    FileStorage.create(a, small_schema())
    with open(OUR_SCHEMA) as f:
        FileStorage.create(b, json.load(f))
    with ThreadedServer(str(tmp_path), [a, b]) as s, Client(s.remote) as c:
        assert c.list_dbs() == ["Open_vSwitch", "T", "_Server"]
        c.transact("T", ins_loose(1))
        c.transact("Open_vSwitch", {"op": "insert", "table": "Open_vSwitch", "row": {}})
        assert c.transact("Open_vSwitch", {"op": "select", "table": "Loose", "where": []})[0]["error"] == \
            "syntax error"
        rows = c.transact("_Server", {"op": "select", "table": "Database", "where": [], "columns": ["name"]})
        assert sorted(r["name"] for r in rows[0]["rows"]) == ["Open_vSwitch", "T", "_Server"]
    with pytest.raises(StorageError, match="already open"), ThreadedServer(str(tmp_path), [a, a]):
        pass
    with ThreadedServer(str(tmp_path), [a]) as s, Client(s.remote) as c:  # and the lock was released cleanly
        assert c.list_dbs() == ["T", "_Server"]


def test_periodic_compaction(tmp_path):
    path = str(tmp_path / "t.db")
    FileStorage.create(path, small_schema())
    with ThreadedServer(str(tmp_path), [path], compact_interval=0.3) as s, Client(s.remote) as c:
        entry = s.server.entries["T"]
        entry.storage.compact_min_txns = 5
        for i in range(20):
            c.transact("T", ins_loose(i))
        deadline = time.monotonic() + 5
        while s.call(lambda: entry.storage.n_compactions) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert s.call(lambda: entry.storage.n_compactions) >= 1
        assert len(c.transact("T", {"op": "select", "table": "Loose", "where": []})[0]["rows"]) == 20


def test_idl_resumes_after_reconnect(srv, w):
    idl = Idl(srv.remote, "T", {"Loose": ["x"]})
    w.transact("T", ins_loose(1))
    idl.wait_for(lambda: len(idl.rows("Loose")) == 1)
    clears = []
    real_clear = idl.replica.clear
    idl.replica.clear = lambda: (clears.append(1), real_clear())  # type: ignore[method-assign]
    first_client = idl.client
    srv.call(lambda: [s.close() for s in list(srv.server.sessions)])
    w2 = Client(srv.remote)
    w2.transact("T", ins_loose(2), {"op": "update", "table": "Loose", "where": [["x", "==", 1]], "row": {"x": 10}})
    idl.wait_for(lambda: sorted(r["x"] for r in idl.rows("Loose")) == [2, 10])
    assert idl.client is not first_client  # it did reconnect
    assert clears == []  # and resumed from its last transaction instead of reloading everything
    w2.close()
    idl.close()
