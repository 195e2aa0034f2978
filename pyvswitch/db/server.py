"""The OVSDB server: RFC 7047 JSON-RPC over Unix and TCP sockets, on asyncio.

:class:`OvsdbServer` serves any number of databases (each a :class:`~pyvswitch.db.database.Database`, optionally
backed by a :class:`~pyvswitch.db.storage.FileStorage`) plus the read-only ``_Server`` database, to any number of
clients.  Each connection is a :class:`Session`.  Remotes use ovsdb-server's syntax: ``punix:PATH`` and
``ptcp:PORT[:IP]`` listen; ``unix:PATH`` and ``tcp:IP:PORT`` connect out (and reconnect) and then serve the peer.

Methods: ``list_dbs``, ``get_schema``, ``transact``, ``cancel``, ``monitor``, ``monitor_cond``,
``monitor_cond_since``, ``monitor_cond_change``, ``monitor_cancel``, ``lock``, ``steal``, ``unlock``, ``echo``,
``get_server_id`` and ``set_db_change_aware``.  Notifications sent: ``update``, ``update2``, ``update3``,
``locked``, ``stolen``, and ``echo`` requests as an inactivity probe.

Rules kept from ovsdb-server, because clients depend on them:

* a commit's update notifications go out before the reply to the ``transact`` that made it (ovsdb-server(7) 4.1.5),
  and the reply goes out only after the commit is durable;
* a ``wait`` that is not yet satisfied holds its transaction until a later commit satisfies it, its timeout expires,
  the client cancels it, or the client goes away;
* input that is not a JSON-RPC message stream is logged and the connection is dropped; every other bad request gets
  an error reply and the session continues.  Nothing a client sends stops the server.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import math
import os
import stat
from collections.abc import Callable
from typing import Any

from . import jsonrpc
from .condition import Condition
from .database import Commit, Database, new_uuid
from .error import (
    CANCELED,
    INTERNAL_ERROR,
    RESOURCES_EXHAUSTED,
    UNKNOWN_DATABASE,
    UNKNOWN_METHOD,
    UNKNOWN_MONITOR,
    OvsdbError,
    syntax_error,
)
from .jsonrpc import ProtocolError
from .monitor import Monitor, merge_changes, parse_requests
from .server_db import SERVER_DB_NAME, database_row_commit, make_server_database
from .storage import FileStorage
from .transaction import execute
from .types import ZERO_UUID, is_id, is_valid_uuid

log = logging.getLogger("pyvswitch.db.server")

_NO_REPLY = object()


class _BareError(Exception):
    """An error that ovsdb-server reports as a bare string (``"error": "unknown monitor"``), not an object."""


def parse_remote(spec: str) -> tuple[str, Any, Any]:
    """Split an OVS remote name into (kind, a, b): punix/unix (path), ptcp (port, ip), tcp (ip, port)."""
    kind, sep, rest = spec.partition(":")
    if not sep:
        raise ValueError(f"{spec}: remote must look like punix:PATH, ptcp:PORT[:IP], unix:PATH or tcp:IP:PORT")
    if kind in ("punix", "unix"):
        if not rest:
            raise ValueError(f"{spec}: missing path")
        return kind, rest, None
    if kind == "ptcp":
        port_s, _, ip = rest.partition(":")
        ip = ip.strip("[]") or "0.0.0.0"
        return kind, int(port_s or 0), ip
    if kind == "tcp":
        ip, _, port_s = rest.rpartition(":")
        if not ip or not port_s:
            raise ValueError(f"{spec}: expected tcp:IP:PORT")
        return kind, ip.strip("[]"), int(port_s)
    raise ValueError(f"{spec}: unknown remote type {kind!r}")


class DbEntry:
    """A served database, its storage (if any) and a short history of commits for monitor_cond_since."""

    def __init__(self, db: Database, storage: FileStorage | None, path: str | None, history: int) -> None:
        self.db = db
        self.storage = storage
        self.path = path
        self.history: collections.deque[Commit] = collections.deque(maxlen=history)


class _Pending:
    """A transaction held by a "wait" that is not yet satisfied."""

    __slots__ = ("deadline", "entry", "id", "ops", "started", "timer")

    def __init__(self, id: Any, entry: DbEntry, ops: list[Any], started: float, deadline: float) -> None:
        self.id = id
        self.entry = entry
        self.ops = ops
        self.started = started
        self.deadline = deadline
        self.timer: asyncio.TimerHandle | None = None


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class OvsdbServer:
    """Serves databases over JSON-RPC.  Create it inside a running asyncio loop (or call methods from one)."""

    def __init__(self, *, max_rows: int | None = None, tcp_probe_interval: float = 5.0,
                 unix_probe_interval: float = 0.0, max_message: int = jsonrpc.DEFAULT_MAX_MESSAGE,
                 max_backlog: int = 256 * 1024 * 1024, history: int = 100, max_pending: int = 256,
                 compact_interval: float = 600.0) -> None:
        self.max_rows = max_rows
        self.tcp_probe_interval = tcp_probe_interval
        self.unix_probe_interval = unix_probe_interval
        self.max_message = max_message
        self.max_backlog = max_backlog
        self.history = history
        self.max_pending = max_pending
        self.compact_interval = compact_interval
        self._compact_timer: asyncio.TimerHandle | None = None
        self.server_id = new_uuid()
        self.entries: dict[str, DbEntry] = {}
        self.sessions: set[Session] = set()
        self.locks: dict[str, list[Session]] = {}
        self.bound: dict[str, Any] = {}
        self._servers: list[asyncio.AbstractServer] = []
        self._unix_paths: list[str] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self.server_db = make_server_database()
        self.entries[SERVER_DB_NAME] = DbEntry(self.server_db, None, None, history)
        self._server_row(self.server_db, True)

    # ---- databases ----

    def add_database(self, db: Database, storage: FileStorage | None = None, path: str | None = None) -> None:
        if db.name in self.entries:
            raise ValueError(f"{db.name}: a database with this name is already being served")
        self.entries[db.name] = DbEntry(db, storage, path, self.history)
        self._server_row(db, True)

    def open_database(self, path: str, **storage_options: Any) -> Database:
        db, storage = FileStorage.open(path, **storage_options)
        try:
            self.add_database(db, storage, path)
        except ValueError:
            if storage is not None:
                storage.close()
            raise
        return db

    def remove_database(self, name: str) -> None:
        entry = self.entries.pop(name)
        for s in list(self.sessions):
            s.database_removed(entry)
        if entry.storage is not None:
            entry.storage.close()
        self._server_row(entry.db, False)

    def _server_row(self, db: Database, present: bool) -> None:
        entry = self.entries[SERVER_DB_NAME]
        self.commit(entry, database_row_commit(self.server_db, db.schema, present))

    def commit(self, entry: DbEntry, commit: Commit) -> OvsdbError | None:
        """Make ``commit`` durable, apply it, and tell monitors; an "I/O error" OvsdbError if it could not be logged."""
        if entry.storage is not None:
            try:
                entry.storage.write_commit(entry.db, commit)
            except OvsdbError as e:
                log.error("%s: %s", entry.db.name, e)
                return e
        entry.db.apply(commit)
        entry.history.append(commit)
        for s in list(self.sessions):
            s.on_commit(entry, commit)
        entry.db.notify(commit)
        if entry.storage is not None and entry.storage.should_compact():
            self.compact(entry.db.name)
        if any(s.pending for s in self.sessions):
            asyncio.get_running_loop().call_soon(self._retry_pending, entry)
        return None

    def compact(self, name: str) -> None:
        entry = self.entries[name]
        if entry.storage is not None:
            try:
                entry.storage.compact(entry.db)
            except OvsdbError as e:
                log.error("%s: %s", name, e)

    def transact(self, db_name: str, ops: list[Any]) -> list[Any]:
        """Run a transaction from inside the server process (no session, no locks, no blocking waits)."""
        entry = self.entries[db_name]
        res = execute(entry.db, ops, max_rows=self.max_rows)
        if res.blocked_until is not None:
            return [{"error": "timed out", "details": "blocking wait in an internal transaction"}]
        if res.commit is not None and not res.commit.is_empty():
            err = self.commit(entry, res.commit)
            if err is not None:
                res.results.append(err.to_json())
        return res.results

    def _retry_pending(self, entry: DbEntry) -> None:
        for s in list(self.sessions):
            s.retry_pending(entry)

    # ---- locks ----

    def lock(self, session: Session, name: str, steal: bool) -> bool:
        queue = self.locks.setdefault(name, [])
        if steal:
            victim = queue[0] if queue else None
            queue.insert(0, session)
            if victim is not None:
                victim.send(jsonrpc.notify("stolen", [name]))
            return True
        queue.append(session)
        return queue[0] is session

    def unlock(self, session: Session, name: str) -> None:
        queue = self.locks.get(name)
        if not queue or session not in queue:
            return
        was_owner = queue[0] is session
        queue.remove(session)
        if not queue:
            del self.locks[name]
        elif was_owner:
            queue[0].send(jsonrpc.notify("locked", [name]))

    def has_lock(self, session: Session, name: str) -> bool:
        queue = self.locks.get(name)
        return bool(queue) and queue[0] is session  # type: ignore[index]

    # ---- remotes ----

    def _periodic_compaction(self) -> None:
        """Every ``compact_interval`` seconds, compact the logs that doubled since their last snapshot."""
        for name, entry in list(self.entries.items()):
            if entry.storage is not None and entry.storage.worth_compacting():
                self.compact(name)
        self._compact_timer = asyncio.get_running_loop().call_later(self.compact_interval,
                                                                    self._periodic_compaction)

    async def add_remote(self, spec: str) -> None:
        kind, a, b = parse_remote(spec)
        loop = asyncio.get_running_loop()
        if self._compact_timer is None and self.compact_interval > 0:
            self._compact_timer = loop.call_later(self.compact_interval, self._periodic_compaction)
        if kind == "punix":
            path = a
            try:
                if stat.S_ISSOCK(os.lstat(path).st_mode):
                    os.unlink(path)
            except FileNotFoundError:
                pass
            srv = await loop.create_unix_server(lambda: Session(self, f"unix:{path}", self.unix_probe_interval),
                                                path)
            self._unix_paths.append(path)
            self.bound[spec] = path
        elif kind == "ptcp":
            port, ip = a, b
            srv = await loop.create_server(lambda: Session(self, "tcp", self.tcp_probe_interval), ip, port,
                                           reuse_address=True)
            self.bound[spec] = srv.sockets[0].getsockname()[:2]
        else:
            self._tasks.append(asyncio.ensure_future(self._active_remote(kind, a, b, spec)))
            return
        self._servers.append(srv)
        log.info("listening on %s", spec if kind == "punix" else f"ptcp:{self.bound[spec][1]}:{self.bound[spec][0]}")

    async def _active_remote(self, kind: str, a: Any, b: Any, spec: str) -> None:
        loop = asyncio.get_running_loop()
        backoff = 1.0
        while True:
            closed: asyncio.Future[None] = loop.create_future()
            interval = self.unix_probe_interval if kind == "unix" else self.tcp_probe_interval

            def factory(interval: float = interval, closed: asyncio.Future[None] = closed) -> Session:
                return Session(self, spec, interval, closed)

            try:
                if kind == "unix":
                    await loop.create_unix_connection(factory, a)
                else:
                    await loop.create_connection(factory, a, b)
                log.info("%s: connected", spec)
                backoff = 1.0
                await closed
                log.info("%s: connection closed", spec)
            except OSError as e:
                log.debug("%s: connection attempt failed (%s)", spec, e.strerror)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 8.0)

    async def close(self) -> None:
        if self._compact_timer is not None:
            self._compact_timer.cancel()
        for t in self._tasks:
            t.cancel()
        for srv in self._servers:
            srv.close()
        for s in list(self.sessions):
            s.close()
        for srv in self._servers:
            await srv.wait_closed()
        for p in self._unix_paths:
            try:
                os.unlink(p)
            except OSError:
                pass
        for entry in self.entries.values():
            if entry.storage is not None:
                entry.storage.close()
        self._servers.clear()


class Session(asyncio.Protocol):
    """One client connection."""

    def __init__(self, server: OvsdbServer, name: str, probe_interval: float,
                 closed: asyncio.Future[None] | None = None) -> None:
        self.server = server
        self.name = name
        self.probe_interval = probe_interval
        self.closed_future = closed
        self.parser = jsonrpc.JsonStreamParser(server.max_message)
        self.transport: asyncio.Transport | None = None
        self.monitors: dict[str, Monitor] = {}
        self.pending: list[_Pending] = []
        self.locks: set[str] = set()
        self.db_change_aware = False
        self.last_rx = 0.0
        self.probe_sent = False
        self._probe_timer: asyncio.TimerHandle | None = None
        self._methods: dict[str, Callable[[list[Any], Any], Any]] = {
            "list_dbs": self._list_dbs,
            "get_schema": self._get_schema,
            "transact": self._transact,
            "monitor": lambda p, i: self._monitor(p, 1),
            "monitor_cond": lambda p, i: self._monitor(p, 2),
            "monitor_cond_since": lambda p, i: self._monitor(p, 3),
            "monitor_cond_change": self._monitor_cond_change,
            "monitor_cancel": self._monitor_cancel,
            "lock": lambda p, i: self._lock(p, "lock"),
            "steal": lambda p, i: self._lock(p, "steal"),
            "unlock": self._unlock,
            "echo": lambda p, i: p,
            "get_server_id": lambda p, i: self.server.server_id,
            "set_db_change_aware": self._set_db_change_aware,
        }

    # ---- connection ----

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        if self.name == "tcp" and peer:
            self.name = f"tcp:{peer[0]}:{peer[1]}"
        self.server.sessions.add(self)
        loop = asyncio.get_running_loop()
        self.last_rx = loop.time()
        if self.probe_interval > 0:
            self._probe_timer = loop.call_later(self.probe_interval, self._probe)
        log.debug("%s: connection accepted", self.name)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.sessions.discard(self)
        for p in self.pending:
            if p.timer is not None:
                p.timer.cancel()
        self.pending.clear()
        self.monitors.clear()
        for name in list(self.locks):
            self.server.unlock(self, name)
        self.locks.clear()
        if self._probe_timer is not None:
            self._probe_timer.cancel()
        self.transport = None
        if self.closed_future is not None and not self.closed_future.done():
            self.closed_future.set_result(None)
        log.debug("%s: connection closed", self.name)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def send(self, msg: dict[str, Any]) -> None:
        t = self.transport
        if t is None or t.is_closing():
            return
        t.write(jsonrpc.dumps(msg))
        if t.get_write_buffer_size() > self.server.max_backlog:
            log.warning("%s: client is not reading its messages (backlog over %d bytes), disconnecting",
                        self.name, self.server.max_backlog)
            t.abort()

    def _probe(self) -> None:
        if self.transport is None:
            return
        loop = asyncio.get_running_loop()
        idle = loop.time() - self.last_rx
        if idle >= self.probe_interval:
            if self.probe_sent:
                log.warning("%s: no response to inactivity probe after %.3g seconds, disconnecting",
                            self.name, idle)
                self.transport.abort()
                return
            self.send(jsonrpc.request("echo", [], "echo"))
            self.probe_sent = True
            self._probe_timer = loop.call_later(self.probe_interval, self._probe)
        else:
            self._probe_timer = loop.call_later(self.probe_interval - idle, self._probe)

    def data_received(self, data: bytes) -> None:
        self.last_rx = asyncio.get_running_loop().time()
        self.probe_sent = False
        try:
            messages = self.parser.feed(data)
        except ProtocolError as e:
            log.warning("%s: %s, disconnecting", self.name, e)
            if self.transport is not None:
                self.transport.abort()
            return
        for msg in messages:
            if self.transport is None or self.transport.is_closing():
                return
            try:
                self._handle(msg)
            except ProtocolError as e:
                log.warning("%s: received bad JSON-RPC message (%s), disconnecting", self.name, e)
                self.transport.abort()
                return
            except Exception:  # A bug must not take the server down; report it and go on.
                log.exception("%s: internal error handling %s", self.name, jsonrpc.dumps(msg)[:200])

    # ---- dispatch ----

    def _handle(self, msg: Any) -> None:
        kind = jsonrpc.classify(msg)
        if kind == jsonrpc.REQUEST:
            self._handle_request(msg)
        elif kind == jsonrpc.NOTIFY:
            if msg["method"] == "cancel":
                self._cancel(msg.get("params"))
        else:
            # Replies: the only requests we send are inactivity probes, whose replies need no handling.
            log.debug("%s: received reply %s", self.name, jsonrpc.dumps(msg)[:200])

    def _handle_request(self, msg: dict[str, Any]) -> None:
        method = msg["method"]
        id = msg["id"]
        params = msg.get("params")
        handler = self._methods.get(method)
        if handler is None:
            self.send(jsonrpc.error_reply(UNKNOWN_METHOD, id))
            return
        if params is None and method in ("get_server_id", "list_dbs", "echo"):
            params = []
        if not isinstance(params, list):
            self.send(jsonrpc.error_reply(
                OvsdbError("syntax error", f'"params" of a "{method}" request must be an array', params,
                           has_syntax=True).to_json(), id))
            return
        try:
            result = handler(params, id)
        except OvsdbError as e:
            self.send(jsonrpc.error_reply(e.to_json(), id))
            return
        except _BareError as e:
            self.send(jsonrpc.error_reply(str(e), id))
            return
        except Exception as e:
            log.exception("%s: internal error in %s", self.name, method)
            self.send(jsonrpc.error_reply({"error": INTERNAL_ERROR, "details": str(e)}, id))
            return
        if result is not _NO_REPLY:
            self.send(jsonrpc.reply(result, id))

    def _entry(self, params: list[Any], method: str) -> DbEntry:
        if not params or not isinstance(params[0], str):
            raise syntax_error(params, f"{method} request params must begin with <db-name>")
        entry = self.server.entries.get(params[0])
        if entry is None:
            raise OvsdbError(UNKNOWN_DATABASE, f"{method} request specifies unknown database {params[0]}", params,
                             has_syntax=True)
        return entry

    # ---- methods ----

    def _list_dbs(self, params: list[Any], id: Any) -> Any:
        return sorted(self.server.entries)

    def _get_schema(self, params: list[Any], id: Any) -> Any:
        return self._entry(params, "get_schema").db.schema.to_json()

    def _set_db_change_aware(self, params: list[Any], id: Any) -> Any:
        self.db_change_aware = bool(params[0]) if params else True
        return {}

    def has_lock(self, name: str) -> bool:
        return self.server.has_lock(self, name)

    def _transact(self, params: list[Any], id: Any) -> Any:
        entry = self._entry(params, "transact")
        now = asyncio.get_running_loop().time()
        return self._run_transact(entry, id, params[1:], now)

    def _run_transact(self, entry: DbEntry, id: Any, ops: list[Any], started: float) -> Any:
        loop = asyncio.get_running_loop()
        now = loop.time()
        res = execute(entry.db, ops, has_lock=self.has_lock, started=started, now=now,
                      max_rows=self.server.max_rows)
        if res.blocked_until is not None:
            if len(self.pending) >= self.server.max_pending:
                return [{"error": RESOURCES_EXHAUSTED,
                         "details": f"too many transactions waiting (limit {self.server.max_pending})"}]
            p = _Pending(id, entry, ops, started, res.blocked_until)
            if math.isfinite(res.blocked_until):
                p.timer = loop.call_later(max(0.0, res.blocked_until - now), self._pending_timeout, p)
            self.pending.append(p)
            return _NO_REPLY
        if res.commit is not None and not res.commit.is_empty():
            err = self.server.commit(entry, res.commit)
            if err is not None:
                res.results.append(err.to_json())
        return res.results

    def _finish_pending(self, p: _Pending) -> bool:
        """Run a held transaction again; True if it completed (and was answered)."""
        result = self._run_transact_retry(p)
        if result is _NO_REPLY:
            return False
        self.send(jsonrpc.reply(result, p.id))
        return True

    def _run_transact_retry(self, p: _Pending) -> Any:
        loop = asyncio.get_running_loop()
        res = execute(p.entry.db, p.ops, has_lock=self.has_lock, started=p.started, now=loop.time(),
                      max_rows=self.server.max_rows)
        if res.blocked_until is not None:
            return _NO_REPLY
        if p.timer is not None:
            p.timer.cancel()
        if p in self.pending:
            self.pending.remove(p)
        if res.commit is not None and not res.commit.is_empty():
            err = self.server.commit(p.entry, res.commit)
            if err is not None:
                res.results.append(err.to_json())
        return res.results

    def _pending_timeout(self, p: _Pending) -> None:
        if p in self.pending and self.transport is not None:
            self._finish_pending(p)

    def retry_pending(self, entry: DbEntry) -> None:
        for p in list(self.pending):
            if p.entry is entry and p in self.pending and self.transport is not None:
                self._finish_pending(p)

    def _cancel(self, params: Any) -> None:
        if not isinstance(params, list) or len(params) != 1:
            return
        for p in self.pending:
            if _key(p.id) == _key(params[0]):
                self.pending.remove(p)
                if p.timer is not None:
                    p.timer.cancel()
                self.send(jsonrpc.error_reply(CANCELED, p.id))
                return

    def _monitor(self, params: list[Any], version: int) -> Any:
        method = {1: "monitor", 2: "monitor_cond", 3: "monitor_cond_since"}[version]
        entry = self._entry(params, method)
        if len(params) < 3 or (version == 3 and len(params) < 4):
            raise syntax_error(params, f"{method} request has too few parameters")
        monid = params[1]
        key = _key(monid)
        if key in self.monitors:
            raise syntax_error(monid, "duplicate monitor ID")
        tables = parse_requests(entry.db, params[2], version)
        mon = Monitor(entry.db, monid, version, tables)
        if version < 3:
            self.monitors[key] = mon
            return mon.initial()
        last = params[3]
        if not is_valid_uuid(last):
            raise syntax_error(last, "last-txn-id must be a UUID")
        last = last.lower()
        db = entry.db
        found = False
        updates: dict[str, Any] = {}
        if last != ZERO_UUID:
            if last == db.last_txn_id:
                found = True
            else:
                ids = [c.txn_id for c in entry.history]
                if last in ids:
                    found = True
                    updates = mon.updates(merge_changes(list(entry.history)[ids.index(last) + 1:]))
        if not found:
            updates = mon.initial()
        self.monitors[key] = mon
        return [found, db.last_txn_id, updates]

    def _monitor_cond_change(self, params: list[Any], id: Any) -> Any:
        if len(params) != 3 or not isinstance(params[2], dict):
            raise syntax_error(params, "monitor_cond_change requires [<old-id>, <new-id>, <requests>]")
        old_key = _key(params[0])
        mon = self.monitors.get(old_key)
        if mon is None:
            raise OvsdbError(UNKNOWN_MONITOR, "unknown monitor session")
        if mon.version < 2:
            raise syntax_error(params[0], "monitor_cond_change is not supported for this monitor")
        new_key = _key(params[1])
        if new_key != old_key and new_key in self.monitors:
            raise syntax_error(params[1], "duplicate monitor ID")
        conds: dict[str, Condition | None] = {}
        for tname, reqs in params[2].items():
            mt = mon.tables.get(tname)
            if mt is None:
                raise syntax_error(None, f"table {tname} is not being monitored")
            if isinstance(reqs, dict):
                reqs = [reqs]
            if not isinstance(reqs, list):
                raise syntax_error(reqs, "monitor_cond_change request must be an array")
            clauses = []
            unconditional = not reqs
            for req in reqs:
                if not isinstance(req, dict):
                    raise syntax_error(req, "monitor_cond_change request must be an object")
                if "where" not in req:
                    conds[tname] = mt.condition
                    break
                c = Condition.from_json(mt.schema, req["where"])
                if not c.clauses:
                    unconditional = True
                clauses.extend(c.clauses)
            else:
                conds[tname] = None if unconditional else Condition(clauses)
        updates = mon.change_condition(conds)
        del self.monitors[old_key]
        mon.monid = params[1]
        self.monitors[new_key] = mon
        if updates:
            if mon.version == 2:
                self.send(jsonrpc.notify("update2", [mon.monid, updates]))
            else:
                self.send(jsonrpc.notify("update3", [mon.monid, mon.db.last_txn_id, updates]))
        return {}

    def _monitor_cancel(self, params: list[Any], id: Any) -> Any:
        if len(params) != 1:
            raise syntax_error(params, "monitor_cancel requires one parameter")
        if self.monitors.pop(_key(params[0]), None) is None:
            raise _BareError(UNKNOWN_MONITOR)
        return {}

    def _lock(self, params: list[Any], method: str) -> Any:
        if len(params) != 1 or not is_id(params[0]):
            raise syntax_error(params, f"{method} requires a lock name")
        name = params[0]
        if name in self.locks:
            raise syntax_error(params, f'must issue "unlock" before new "{method}"')
        self.locks.add(name)
        return {"locked": self.server.lock(self, name, method == "steal")}

    def _unlock(self, params: list[Any], id: Any) -> Any:
        if len(params) != 1 or not is_id(params[0]):
            raise syntax_error(params, "unlock requires a lock name")
        name = params[0]
        if name not in self.locks:
            raise syntax_error(params, 'unlock: "unlock" without "lock" or "steal"')
        self.locks.discard(name)
        self.server.unlock(self, name)
        return {}

    # ---- events from the server ----

    def on_commit(self, entry: DbEntry, commit: Commit) -> None:
        for mon in self.monitors.values():
            if mon.db is entry.db:
                note = mon.notification(commit)
                if note is not None:
                    self.send(note)

    def database_removed(self, entry: DbEntry) -> None:
        if not self.db_change_aware:
            self.close()
            return
        for key, mon in list(self.monitors.items()):
            if mon.db is entry.db:
                del self.monitors[key]
                self.send(jsonrpc.notify("monitor_canceled", [mon.monid]))
        for p in [p for p in self.pending if p.entry is entry]:
            self.pending.remove(p)
            if p.timer is not None:
                p.timer.cancel()
            self.send(jsonrpc.error_reply(CANCELED, p.id))
