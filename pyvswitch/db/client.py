"""A small synchronous OVSDB client: connection, RPCs, transactions, and monitored replicas.

Layers, bottom up:

* :class:`Connection` sends and receives JSON-RPC messages on a ``unix:PATH`` or ``tcp:IP:PORT`` remote.  It answers
  the server's ``echo`` probes itself and queues notifications that arrive while it waits for a reply.
* :class:`Client` offers the RFC 7047 methods (``list_dbs``, ``get_schema``, ``transact``, ``monitor*``, locks) and
  feeds ``update``/``update2``/``update3`` notifications into :class:`Replica` objects.
* :class:`Replica` is the local copy of the monitored part of a database, kept as
  :class:`~pyvswitch.db.data.Datum` values per column, with Python-friendly accessors.
* :class:`Idl` bundles a client and one replica of one database, reconnects after a lost connection and resumes
  with ``monitor_cond_since`` (falling back to a full reload when the server does not know the last transaction).

Everything blocks with timeouts; nothing here starts threads.  Example::

    idl = Idl("unix:/var/run/pyvswitch/db.sock", "Open_vSwitch")
    idl.wait_for(lambda: idl.rows("Bridge"))
    for br in idl.rows("Bridge"):
        print(br["name"], br["ports"])
"""

from __future__ import annotations

import collections
import itertools
import socket
import time
from collections.abc import Callable
from typing import Any, Self

from . import jsonrpc
from .data import Datum
from .schema import DatabaseSchema, TableSchema
from .types import UNLIMITED, ZERO_UUID


class RpcError(Exception):
    """The server answered a request with an error (``error`` holds the JSON error value)."""

    def __init__(self, method: str, error: Any) -> None:
        super().__init__(f"{method}: {error}")
        self.error = error


class TransactionError(Exception):
    """A transaction failed; ``results`` is the full result array, ``errors`` the error objects in it."""

    def __init__(self, results: list[Any]) -> None:
        self.results = results
        self.errors = [r for r in results if isinstance(r, dict) and "error" in r]
        super().__init__("; ".join(f"{e.get('error')}: {e.get('details', '')}" for e in self.errors)
                         or "transaction failed")


class ConnectionClosed(Exception):
    pass


def connect_socket(remote: str, timeout: float) -> socket.socket:
    kind, _, rest = remote.partition(":")
    if kind == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        addr: Any = rest
    elif kind == "tcp":
        host, _, port = rest.rpartition(":")
        host = host.strip("[]")
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        addr = (host, int(port))
    else:
        raise ValueError(f"{remote}: remote must be unix:PATH or tcp:IP:PORT")
    s.settimeout(timeout)
    try:
        s.connect(addr)
    except OSError:
        s.close()
        raise
    if kind == "tcp":
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Connection:
    """A JSON-RPC connection to an OVSDB server."""

    def __init__(self, remote: str, timeout: float = 10.0) -> None:
        self.remote = remote
        self.timeout = timeout
        self.sock = connect_socket(remote, timeout)
        self.parser = jsonrpc.JsonStreamParser()
        self.inbox: collections.deque[dict[str, Any]] = collections.deque()
        self.notifications: collections.deque[dict[str, Any]] = collections.deque()
        self._ids = itertools.count(1)
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.sock.close()

    def send(self, msg: dict[str, Any]) -> None:
        if self.closed:
            raise ConnectionClosed(self.remote)
        try:
            self.sock.sendall(jsonrpc.dumps(msg))
        except OSError as e:
            self.close()
            raise ConnectionClosed(f"{self.remote}: {e}") from None

    def _fill(self, deadline: float | None) -> bool:
        """Read once (until ``deadline``); False on timeout.  Raises ConnectionClosed."""
        if self.closed:
            raise ConnectionClosed(self.remote)
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 20)
        except TimeoutError:
            return False
        except OSError as e:
            self.close()
            raise ConnectionClosed(f"{self.remote}: {e}") from None
        if not data:
            self.close()
            raise ConnectionClosed(f"{self.remote}: connection closed by server")
        try:
            msgs = self.parser.feed(data)
        except jsonrpc.ProtocolError as e:
            self.close()
            raise ConnectionClosed(f"{self.remote}: {e}") from None
        for m in msgs:
            if isinstance(m, dict) and m.get("method") == "echo" and m.get("id") is not None:
                self.send(jsonrpc.reply(m.get("params", []), m["id"]))
            elif isinstance(m, dict) and m.get("method") is not None:
                self.notifications.append(m)
            else:
                self.inbox.append(m)
        return True

    def call(self, method: str, params: list[Any], timeout: float | None = -1.0) -> Any:
        """Send a request and wait for its reply; raise :class:`RpcError` on an error reply."""
        id = next(self._ids)
        self.send(jsonrpc.request(method, params, id))
        deadline = None if timeout is None else time.monotonic() + (self.timeout if timeout < 0 else timeout)
        while True:
            for i, m in enumerate(self.inbox):
                if isinstance(m, dict) and m.get("id") == id:
                    del self.inbox[i]
                    if m.get("error") is not None:
                        raise RpcError(method, m["error"])
                    return m.get("result")
            if not self._fill(deadline):
                raise TimeoutError(f"{self.remote}: no reply to {method} within the timeout")

    def wait_notification(self, timeout: float | None) -> dict[str, Any] | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.notifications:
            if not self._fill(deadline):
                return None
        return self.notifications.popleft()


class Replica:
    """The client-side copy of monitored tables: ``tables[name][uuid] -> {column: Datum}``."""

    def __init__(self, schema: DatabaseSchema, tables: dict[str, list[str] | None]) -> None:
        self.schema = schema
        self.columns: dict[str, list[str]] = {
            t: list(cols) if cols is not None else list(schema.tables[t].columns) for t, cols in tables.items()}
        self.tables: dict[str, dict[str, dict[str, Datum]]] = {t: {} for t in tables}
        self.last_txn_id = ZERO_UUID
        self.seqno = 0  # Incremented on every change, so callers can notice updates.

    def clear(self) -> None:
        for rows in self.tables.values():
            rows.clear()
        self.seqno += 1

    def _parse(self, ts: TableSchema, cname: str, value: Any, diff: bool = False) -> Datum:
        t = ts.columns[cname].type
        if diff and not (t.value is None and t.n_max == 1):
            t = t.relaxed(0, UNLIMITED)
        return Datum.from_json(t, value)

    def apply_update(self, updates: dict[str, Any]) -> None:
        """Apply a version 1 ``<table-updates>``."""
        for tname, rows in updates.items():
            ts = self.schema.tables[tname]
            table = self.tables.setdefault(tname, {})
            for u, ru in rows.items():
                new = ru.get("new")
                if new is None:
                    table.pop(u, None)
                    continue
                data = table.get(u)
                if data is None:
                    data = table[u] = {c: ts.defaults[c] for c in self.columns.get(tname, ts.columns)}
                for c, v in new.items():
                    if c in ts.columns:   # skips _version and columns of a newer schema
                        data[c] = self._parse(ts, c, v)
        self.seqno += 1

    def apply_update2(self, updates: dict[str, Any]) -> None:
        """Apply a ``<table-updates2>`` (update2, update3, or the reply to monitor_cond*)."""
        for tname, rows in updates.items():
            ts = self.schema.tables[tname]
            table = self.tables.setdefault(tname, {})
            cols = self.columns.get(tname, list(ts.columns))
            for u, ru in rows.items():
                if "delete" in ru:
                    table.pop(u, None)
                    continue
                content = ru.get("initial", ru.get("insert"))
                if content is not None:
                    data = {c: ts.defaults[c] for c in cols}
                    for c, v in content.items():
                        if c in ts.columns:   # skips _version and columns of a newer schema
                            data[c] = self._parse(ts, c, v)
                    table[u] = data
                    continue
                mod = ru.get("modify")
                if mod is not None:
                    data = table.setdefault(u, {c: ts.defaults[c] for c in cols})
                    for c, v in mod.items():
                        if c not in ts.columns:
                            continue
                        t = ts.columns[c].type
                        data[c] = data[c].apply_diff(self._parse(ts, c, v, diff=True), t)
        self.seqno += 1

    # ---- Python-friendly access ----

    def rows(self, table: str) -> list[RowView]:
        ts = self.schema.tables[table]
        return [RowView(ts, u, d) for u, d in self.tables.get(table, {}).items()]

    def get(self, table: str, uuid: str) -> RowView | None:
        d = self.tables.get(table, {}).get(uuid)
        return RowView(self.schema.tables[table], uuid, d) if d is not None else None


class RowView:
    """A read-only view of one replica row; ``row["col"]`` gives a Python value (see Datum.to_python)."""

    __slots__ = ("data", "schema", "uuid")

    def __init__(self, schema: TableSchema, uuid: str, data: dict[str, Datum]) -> None:
        self.schema = schema
        self.uuid = uuid
        self.data = data

    def __getitem__(self, column: str) -> Any:
        if column == "_uuid":
            return self.uuid
        return self.data[column].to_python(self.schema.columns[column].type)

    def datum(self, column: str) -> Datum:
        return self.data[column]

    def __repr__(self) -> str:
        return f"RowView({self.schema.name}, {self.uuid})"


class Client:
    """RFC 7047 methods over one :class:`Connection`, plus replicas fed by monitor notifications."""

    def __init__(self, remote: str, timeout: float = 10.0) -> None:
        self.conn = Connection(remote, timeout)
        self.replicas: dict[str, Replica] = {}  # by monitor id
        self._schemas: dict[str, DatabaseSchema] = {}
        self._monids = itertools.count(1)
        self.lock_events: collections.deque[tuple[str, str]] = collections.deque()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, params: list[Any], timeout: float | None = -1.0) -> Any:
        result = self.conn.call(method, params, timeout)
        self._dispatch_notifications()
        return result

    def list_dbs(self) -> list[str]:
        return self.call("list_dbs", [])

    def get_schema(self, db: str) -> DatabaseSchema:
        s = self._schemas.get(db)
        if s is None:
            j = self.call("get_schema", [db])
            s = self._schemas[db] = DatabaseSchema.from_json(j, allow_reserved=db.startswith("_"))
        return s

    def echo(self, *args: Any) -> Any:
        return self.call("echo", list(args))

    def transact(self, db: str, *ops: Any, timeout: float | None = -1.0) -> list[Any]:
        """Run a transaction and return the result array (errors included, as RFC 7047 returns them)."""
        return self.call("transact", [db, *ops], timeout)

    def transact_ok(self, db: str, *ops: Any, timeout: float | None = -1.0) -> list[Any]:
        """Like :meth:`transact`, but raise :class:`TransactionError` if the transaction failed."""
        results = self.transact(db, *ops, timeout=timeout)
        if len(results) != len(ops) or any(isinstance(r, dict) and "error" in r for r in results):
            raise TransactionError(results)
        return results

    def monitor(self, db: str, tables: dict[str, list[str] | None] | None = None,
                where: dict[str, list[Any]] | None = None, version: int = 2,
                last_txn_id: str = ZERO_UUID, replica: Replica | None = None) -> Replica:
        """Start monitoring ``tables`` (name -> columns or None for all; default all tables).

        ``version`` 1 uses ``monitor``, 2 ``monitor_cond`` and 3 ``monitor_cond_since``; ``where`` gives
        per-table conditions (versions 2 and 3).  Returns the replica, already holding the initial contents.
        """
        schema = self.get_schema(db)
        if tables is None:
            tables = {t: None for t in schema.tables}
        requests: dict[str, Any] = {}
        for t, cols in tables.items():
            req: dict[str, Any] = {}
            if cols is not None:
                req["columns"] = cols
            if where and t in where:
                req["where"] = where[t]
            requests[t] = [req] if version >= 2 else req
        monid = ["pyvs", next(self._monids)]
        rep = replica if replica is not None else Replica(schema, tables)
        # The server sends this monitor's updates right after its reply, possibly in the same read: apply the
        # reply and register the replica before dispatching anything that came with it, or those updates are lost.
        if version == 1:
            rep.apply_update(self.conn.call("monitor", [db, monid, requests]))
        elif version == 2:
            rep.apply_update2(self.conn.call("monitor_cond", [db, monid, requests]))
        else:
            found, last, updates = self.conn.call("monitor_cond_since", [db, monid, requests, last_txn_id])
            if not found:
                rep.clear()
            rep.apply_update2(updates)
            rep.last_txn_id = last
        self.replicas[jsonrpc.dumps(monid).decode()] = rep
        self._dispatch_notifications()
        return rep

    def lock(self, name: str) -> bool:
        return bool(self.call("lock", [name])["locked"])

    def steal(self, name: str) -> bool:
        return bool(self.call("steal", [name])["locked"])

    def unlock(self, name: str) -> None:
        self.call("unlock", [name])

    def _dispatch_notifications(self) -> int:
        n = 0
        while self.conn.notifications:
            self._dispatch(self.conn.notifications.popleft())
            n += 1
        return n

    def _dispatch(self, note: dict[str, Any]) -> None:
        method = note.get("method")
        params = note.get("params") or []
        if method in ("update", "update2", "update3") and params:
            rep = self.replicas.get(jsonrpc.dumps(params[0]).decode())
            if rep is None:
                return
            if method == "update":
                rep.apply_update(params[1])
            elif method == "update2":
                rep.apply_update2(params[1])
            else:
                rep.apply_update2(params[2])
                rep.last_txn_id = params[1]
        elif method in ("locked", "stolen") and params:
            self.lock_events.append((method, params[0]))

    def run(self, timeout: float | None = 0.0) -> int:
        """Process notifications, waiting up to ``timeout`` for the first one; returns how many were handled."""
        n = self._dispatch_notifications()
        if n:
            return n
        note = self.conn.wait_notification(timeout)
        if note is None:
            return 0
        self._dispatch(note)
        return 1 + self._dispatch_notifications()

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Process notifications until ``predicate()`` is true; return its value.  Raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            v = predicate()
            if v:
                return v
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("condition not reached within the timeout")
            self.run(remaining)


class Idl:
    """A replica of one database that survives reconnections (a much simplified form of OVS's IDL)."""

    def __init__(self, remote: str, db: str, tables: dict[str, list[str] | None] | None = None,
                 timeout: float = 10.0) -> None:
        self.remote = remote
        self.db = db
        self.tables_spec = tables
        self.timeout = timeout
        self.client: Client | None = None
        self.replica: Replica | None = None
        self._connect()

    def _connect(self) -> None:
        client = Client(self.remote, self.timeout)
        try:
            last = self.replica.last_txn_id if self.replica is not None else ZERO_UUID
            self.replica = client.monitor(self.db, self.tables_spec, version=3, last_txn_id=last,
                                          replica=self.replica)
        except Exception:
            client.close()
            raise
        self.client = client

    def run(self, timeout: float | None = 0.0) -> int:
        """Process updates (reconnecting if the connection was lost); returns the number of notifications."""
        if self.client is None or self.client.conn.closed:
            try:
                self._connect()
            except (OSError, ConnectionClosed):
                if timeout:
                    time.sleep(min(timeout, 0.5))
                return 0
        assert self.client is not None
        try:
            return self.client.run(timeout)
        except ConnectionClosed:
            self.client.close()
            return 0

    def rows(self, table: str) -> list[RowView]:
        assert self.replica is not None
        return self.replica.rows(table)

    def transact(self, *ops: Any) -> list[Any]:
        if self.client is None or self.client.conn.closed:
            self._connect()
        assert self.client is not None
        return self.client.transact_ok(self.db, *ops)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            v = predicate()
            if v:
                return v
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("condition not reached within the timeout")
            self.run(min(remaining, 1.0))

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

