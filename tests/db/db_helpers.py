"""Helpers for the OVSDB tests: servers as subprocesses (ours and Open vSwitch's), an in-process server thread,
and small builders for schemas and transactions."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Self

from pyvswitch.db.database import Database
from pyvswitch.db.schema import DatabaseSchema
from pyvswitch.db.server import OvsdbServer
from pyvswitch.db.transaction import execute
from pyvswitch.schemas import schema_path

PY = sys.executable
OUR_SCHEMA = schema_path()
REAL_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
ENV = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def wait_for_socket(path: str, timeout: float = 15.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return
        except OSError:
            time.sleep(0.02)
        finally:
            s.close()
    raise TimeoutError(f"{path}: server did not start")


class ServerProc:
    """Our server ("ours") or Open vSwitch's ovsdb-server ("real") on a Unix socket in ``workdir``."""

    def __init__(self, workdir: str, kind: str = "ours", schema: str | None = None,
                 extra_args: tuple[str, ...] = (), create: bool = True) -> None:
        self.workdir = workdir
        self.kind = kind
        os.makedirs(workdir, exist_ok=True)
        self.db = os.path.join(workdir, "conf.db")
        self.sock = os.path.join(workdir, "db.sock")
        self.log = os.path.join(workdir, "server.log")
        self.remote = f"unix:{self.sock}"
        self.proc: subprocess.Popen | None = None
        self.extra_args = extra_args
        if create and not os.path.exists(self.db):
            if kind == "real":
                subprocess.run(["ovsdb-tool", "create", self.db, schema or REAL_SCHEMA], check=True)
            else:
                subprocess.run([PY, "-m", "pyvswitch.db.tool", "create", self.db, schema or OUR_SCHEMA],
                               check=True, env=ENV)

    def start(self) -> ServerProc:
        if self.kind == "real":
            cmd = ["ovsdb-server", f"--remote=punix:{self.sock}", f"--unixctl={self.workdir}/ctl", "--no-chdir",
                   f"--log-file={self.log}", *self.extra_args, self.db]
        else:
            cmd = [PY, "-m", "pyvswitch.db", f"--remote=punix:{self.sock}", f"--log-file={self.log}",
                   *self.extra_args, self.db]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
        wait_for_socket(self.sock, proc=self.proc)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def vsctl(remote: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cp = subprocess.run(["ovs-vsctl", f"--db={remote}", "--no-wait", "--timeout=20", *args],
                        capture_output=True, text=True, timeout=60, check=False)
    if check and cp.returncode != 0:
        raise AssertionError(f"ovs-vsctl {' '.join(args)} failed ({cp.returncode}): {cp.stderr}")
    return cp


def ovsdb_client(*args: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess:
    cp = subprocess.run(["ovsdb-client", "--timeout=20", *args], capture_output=True, text=True, timeout=timeout,
                        check=False)
    if check and cp.returncode != 0:
        raise AssertionError(f"ovsdb-client {' '.join(args)} failed ({cp.returncode}): {cp.stderr}")
    return cp


class ThreadedServer:
    """An :class:`OvsdbServer` running in a background thread, listening on a Unix socket."""

    def __init__(self, workdir: str, db_paths: list[str] = (), databases: list[Database] = (),  # type: ignore
                 **server_options: Any) -> None:
        self.workdir = workdir
        self.sock = os.path.join(workdir, "threaded.sock")
        self.remote = f"unix:{self.sock}"
        self.db_paths = list(db_paths)
        self.databases = list(databases)
        self.options = server_options
        self.server: OvsdbServer | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as e:  # noqa: BLE001 - reported to the test thread
            self._error = e
            self._ready.set()

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.server = OvsdbServer(**self.options)
        try:
            for p in self.db_paths:
                self.server.open_database(p)
            for db in self.databases:
                self.server.add_database(db)
            await self.server.add_remote(f"punix:{self.sock}")
            self._ready.set()
            await self._stop.wait()
        finally:
            await self.server.close()

    def start(self) -> ThreadedServer:
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` in the server's thread and return its result."""
        assert self.loop is not None
        fut: Any = asyncio.run_coroutine_threadsafe(_as_coro(fn, *args), self.loop)
        return fut.result(10)

    def stop(self) -> None:
        if self.loop is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _as_coro(fn: Any, *args: Any) -> Any:
    return fn(*args)


def load_schema(path: str = OUR_SCHEMA) -> DatabaseSchema:
    return DatabaseSchema.from_file(path)


def small_schema() -> dict[str, Any]:
    """A schema that exercises every feature: roots, GC, strong and weak refs, maps, indexes, maxRows."""
    return {
        "name": "T",
        "version": "1.0.0",
        "tables": {
            "Root": {
                "isRoot": True,
                "maxRows": 3,
                "columns": {
                    "name": {"type": "string", "mutable": False},
                    "children": {"type": {"key": {"type": "uuid", "refTable": "Child"}, "min": 0,
                                          "max": "unlimited"}},
                    "favorite": {"type": {"key": {"type": "uuid", "refTable": "Child", "refType": "weak"},
                                          "min": 0, "max": 1}},
                    "watch": {"type": {"key": {"type": "uuid", "refTable": "Child", "refType": "weak"},
                                       "min": 1, "max": "unlimited"}},
                    "n": {"type": {"key": {"type": "integer", "minInteger": -10, "maxInteger": 100}}},
                    "r": {"type": {"key": {"type": "real", "minReal": -1.5, "maxReal": 1e6}, "min": 0, "max": 1}},
                    "ints": {"type": {"key": {"type": "integer", "minInteger": 0, "maxInteger": 50}, "min": 0,
                                      "max": 4}},
                    "color": {"type": {"key": {"type": "string", "enum": ["set", ["red", "green", "blue"]]},
                                       "min": 0, "max": 1}},
                    "tags": {"type": {"key": {"type": "string", "minLength": 1, "maxLength": 8},
                                      "value": "string", "min": 0, "max": "unlimited"}},
                    "kids_by_slot": {"type": {"key": {"type": "integer"},
                                              "value": {"type": "uuid", "refTable": "Child", "refType": "weak"},
                                              "min": 0, "max": "unlimited"}},
                    "flag": {"type": "boolean"},
                    "temp": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"},
                             "ephemeral": True},
                },
                "indexes": [["name"]],
            },
            "Child": {
                "columns": {
                    "name": {"type": "string"},
                    "grandchild": {"type": {"key": {"type": "uuid", "refTable": "Grandchild"}, "min": 0,
                                            "max": 1}},
                    "slot": {"type": {"key": "integer", "min": 0, "max": 1}},
                },
                "indexes": [["name", "slot"]],
            },
            "Grandchild": {"columns": {"v": {"type": "integer"}}},
            "Loose": {"isRoot": True, "columns": {"x": {"type": "integer"}, "s": {"type": "string"}}},
        },
    }


class Db:
    """An in-memory database with a one-call transaction helper, for engine tests."""

    def __init__(self, schema: dict[str, Any] | None = None) -> None:
        self.db = Database(DatabaseSchema.from_json(schema or small_schema()))

    def t(self, *ops: Any, locks: tuple[str, ...] = ()) -> list[Any]:
        res = execute(self.db, list(ops), has_lock=lambda n: n in locks)
        if res.commit is not None:
            self.db.apply(res.commit)
        return res.results

    def ok(self, *ops: Any) -> list[Any]:
        r = self.t(*ops)
        bad = [x for x in r if isinstance(x, dict) and "error" in x]
        assert not bad and len(r) == len(ops), json.dumps(r)
        return r

    def err(self, *ops: Any) -> dict[str, Any]:
        """Run a transaction that must fail; returns the error object, after checking nothing changed."""
        before = snapshot(self.db)
        r = self.t(*ops)
        errors = [x for x in r if isinstance(x, dict) and "error" in x]
        assert errors, json.dumps(r)
        assert snapshot(self.db) == before
        return errors[0]

    def rows(self, table: str) -> list[dict[str, Any]]:
        ts = self.db.schema.tables[table]
        return [{c: r.data[c].to_python(ts.columns[c].type) for c in ts.columns} | {"_uuid": r.uuid}
                for r in self.db.tables[table].rows.values()]


def snapshot(db: Database) -> dict[str, Any]:
    """A comparable copy of every row (versions excluded)."""
    return {t: {u: {c: (d.keys, d.values) for c, d in r.data.items()} for u, r in tab.rows.items()}
            for t, tab in db.tables.items()}
