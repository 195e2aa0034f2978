"""Executing RFC 7047 ``transact`` requests: operations, then the commit-time checks.

:func:`execute` runs the operations of one request (RFC 7047 section 5.2) in order against a :class:`Txn`, a
copy-on-write view of the database.  The first failing operation stops the transaction: its position in the result
array holds the error and the positions after it hold ``null``, and nothing is applied.  When every operation
succeeds, the commit-time checks run in the order ovsdb-server uses:

1. strong references must point to existing rows, and a deleted row must have no strong references left
   ("referential integrity violation");
2. garbage collection: rows of non-root tables that nothing references strongly any more are deleted, repeatedly,
   since deleting a row can orphan the rows it referenced;
3. ``maxRows`` ("constraint violation");
4. weak references to rows that no longer exist are removed, and the column's minimum size is checked again
   ("constraint violation");
5. unique ``indexes`` ("constraint violation").

A failure there is appended to the result array as one extra element, as RFC 7047 says.  On success the caller
receives a :class:`~pyvswitch.db.database.Commit` to log durably and apply.

A ``wait`` whose condition does not hold yet and whose timeout has not expired makes the whole request
*blocked* (:attr:`TransactResult.blocked_until`): the server keeps it and runs it again after every commit to the
database and at the deadline, as ovsdb-server does.  Time is passed in (``started``, ``now``) rather than read
here, so tests can drive it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from .condition import Condition
from .data import Datum
from .database import Commit, Database, Row, default_row_data, new_uuid, strong_refs, weak_refs
from .error import (
    ABORTED,
    CONSTRAINT_VIOLATION,
    DUPLICATE_UUID,
    DUPLICATE_UUID_NAME,
    NOT_ALLOWED,
    NOT_OWNER,
    REFERENTIAL_INTEGRITY,
    RESOURCES_EXHAUSTED,
    TIMED_OUT,
    UNKNOWN_COLUMN,
    OvsdbError,
    syntax_error,
)
from .mutation import Mutation
from .schema import ColumnSchema, TableSchema
from .types import is_id, is_valid_uuid

_OP_MEMBERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # op: (required members, optional members)
    "insert": (("table", "row"), ("uuid-name", "uuid")),
    "select": (("table", "where"), ("columns",)),
    "update": (("table", "where", "row"), ()),
    "mutate": (("table", "where", "mutations"), ()),
    "delete": (("table", "where"), ()),
    "wait": (("table", "where", "until", "rows"), ("columns", "timeout")),
    "commit": (("durable",), ()),
    "abort": ((), ()),
    "comment": (("comment",), ()),
    "assert": (("lock",), ()),
}

_MEMBER_TYPES: dict[str, tuple[type, ...]] = {
    "table": (str,), "row": (dict,), "uuid-name": (str,), "uuid": (str,), "where": (list,),
    "columns": (list,), "mutations": (list,), "until": (str,), "rows": (list,), "timeout": (int, float),
    "durable": (bool,), "comment": (str,), "lock": (str,),
}

WRITE_OPS = ("insert", "update", "mutate", "delete")

# Per operation: its required members, and every allowed member (except "op") with the exact JSON types it may
# have.  Exact types, because bool is a subclass of int in Python but not a number in JSON.
_OP_SPECS: dict[str, tuple[tuple[str, ...], dict[str, frozenset[type]]]] = {
    name: (required, {m: frozenset(_MEMBER_TYPES[m]) for m in required + optional})
    for name, (required, optional) in _OP_MEMBERS.items()
}


class TxnRow:
    __slots__ = ("new", "old")

    def __init__(self, old: Row | None, new: Row | None) -> None:
        self.old = old
        self.new = new


class Txn:
    """A copy-on-write view of a database: the changes of one transaction over the committed rows."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.changes: dict[str, dict[str, TxnRow]] = {}

    def get(self, table: str, uuid: str) -> Row | None:
        ch = self.changes.get(table)
        if ch is not None:
            tr = ch.get(uuid)
            if tr is not None:
                return tr.new
        return self.db.tables[table].rows.get(uuid)

    def touched(self, table: str, uuid: str) -> bool:
        ch = self.changes.get(table)
        return ch is not None and uuid in ch

    def rows(self, table: str) -> list[Row]:
        committed = self.db.tables[table].rows
        ch = self.changes.get(table)
        if not ch:
            return list(committed.values())
        out = [r for u, r in committed.items() if u not in ch]
        out.extend(tr.new for tr in ch.values() if tr.new is not None)
        return out

    def insert(self, table: str, uuid: str, data: dict[str, Datum]) -> Row:
        row = Row(uuid, new_uuid(), data)
        self.changes.setdefault(table, {})[uuid] = TxnRow(None, row)
        return row

    def writable(self, table: str, row: Row) -> Row:
        """The transaction's own copy of ``row``, made on first modification (with a new ``_version``)."""
        ch = self.changes.setdefault(table, {})
        tr = ch.get(row.uuid)
        if tr is None:
            new = Row(row.uuid, new_uuid(), dict(row.data))
            ch[row.uuid] = TxnRow(row, new)
            return new
        assert tr.new is not None
        return tr.new

    def delete(self, table: str, row: Row) -> None:
        ch = self.changes.setdefault(table, {})
        tr = ch.get(row.uuid)
        if tr is None:
            ch[row.uuid] = TxnRow(row, None)
        else:
            tr.new = None


class TransactResult:
    """The outcome of :func:`execute`.

    ``results`` is the JSON result array.  ``commit`` is set when the transaction succeeded (possibly with no
    changes).  ``blocked_until`` is set (a deadline, possibly ``math.inf``) when a ``wait`` is not yet satisfied:
    then the request must be retried later and ``results`` is meaningless.
    """

    __slots__ = ("blocked_until", "commit", "results")

    def __init__(self, results: list[Any], commit: Commit | None = None, blocked_until: float | None = None):
        self.results = results
        self.commit = commit
        self.blocked_until = blocked_until

    @property
    def ok(self) -> bool:
        return self.commit is not None


class _Blocked(Exception):
    def __init__(self, deadline: float) -> None:
        super().__init__("blocked")
        self.deadline = deadline


class _Symbol:
    __slots__ = ("created", "uuid")

    def __init__(self, uuid: str) -> None:
        self.uuid = uuid
        self.created = False


def execute(db: Database, ops: list[Any], *, has_lock: Callable[[str], bool] | None = None,
            started: float | None = None, now: float | None = None, read_only: bool = False,
            max_rows: int | None = None) -> TransactResult:
    """Run the operations ``ops`` (the params of ``transact`` after the database name) against ``db``.

    ``has_lock(name)`` says whether the requesting session owns a lock (for ``assert``).  ``started`` is when the
    request arrived and ``now`` the current time (seconds, any monotonic clock), for ``wait`` timeouts.  With
    ``read_only`` every modifying operation fails with "not allowed".  ``max_rows`` bounds the total number of rows
    in the database ("resources exhausted").  Does not modify ``db``.
    """
    now = time.monotonic() if now is None else now
    started = now if started is None else started
    return _Executor(db, has_lock, started, now, read_only or db.read_only, max_rows).run(ops)


class _Executor:
    def __init__(self, db: Database, has_lock: Callable[[str], bool] | None, started: float, now: float,
                 read_only: bool, max_rows: int | None) -> None:
        self.db = db
        self.txn = Txn(db)
        self.has_lock = has_lock
        self.started = started
        self.now = now
        self.read_only = read_only
        self.max_rows = max_rows
        self.symtab: dict[str, _Symbol] = {}
        self.comments: list[str] = []
        self.durable = False
        self._columns_cache: dict[tuple[str, ...], list[ColumnSchema]] = {}

    # ---- the symbol table of "uuid-name"s ----

    def symbol(self, name: str) -> str:
        sym = self.symtab.get(name)
        if sym is None:
            sym = self.symtab[name] = _Symbol(new_uuid())
        return sym.uuid

    def _prebind_symbols(self, ops: list[Any]) -> None:
        # An insert may give both "uuid-name" and an explicit "uuid"; references to the name from earlier
        # operations must then resolve to that UUID, so bind such names before running anything.
        for op in ops:
            if (isinstance(op, dict) and op.get("op") == "insert" and is_id(op.get("uuid-name"))
                    and is_valid_uuid(op.get("uuid")) and op["uuid-name"] not in self.symtab):
                self.symtab[op["uuid-name"]] = _Symbol(op["uuid"].lower())

    # ---- running ----

    def run(self, ops: list[Any]) -> TransactResult:
        n = len(ops)
        results: list[Any] = [None] * n
        self._prebind_symbols(ops)
        for i, op in enumerate(ops):
            try:
                results[i] = self._execute_op(op, i, n)
            except _Blocked as b:
                return TransactResult([], None, b.deadline)
            except OvsdbError as e:
                results[i] = e.to_json()
                return TransactResult(results)
        try:
            self._precommit()
        except OvsdbError as e:
            results.append(e.to_json())
            return TransactResult(results)
        changes: dict[str, dict[str, tuple[Row | None, Row | None]]] = {}
        for tname, rows in self.txn.changes.items():
            out = {u: (tr.old, tr.new) for u, tr in rows.items()}
            if out:
                changes[tname] = out
        comment = "\n".join(self.comments) if self.comments else None
        commit = Commit(new_uuid() if changes else "", changes, comment, self.durable, int(time.time() * 1000))
        return TransactResult(results, commit)

    def _op_error(self, op: Any, i: int, n: int, msg: str) -> OvsdbError:
        return syntax_error(op, f"Parsing ovsdb operation {i + 1} of {n} failed: {msg}")

    def _execute_op(self, op: Any, i: int, n: int) -> Any:
        if not isinstance(op, dict):
            raise OvsdbError("syntax error", f"Parsing ovsdb operation {i + 1} of {n} failed: Object expected.")
        name = op.get("op")
        if not isinstance(name, str):
            if "op" not in op:
                raise self._op_error(op, i, n, "Required 'op' member is missing.")
            raise self._op_error(op, i, n, "Type mismatch for member 'op'.")
        spec = _OP_SPECS.get(name)
        if spec is None:
            raise self._op_error(op, i, n, f'No operation "{name}"')
        required, allowed = spec
        for m in required:
            if m not in op:
                raise self._op_error(op, i, n, f"Required '{m}' member is missing.")
        for m, v in op.items():
            types = allowed.get(m)
            if types is None:
                if m == "op":
                    continue
                raise self._op_error(op, i, n, f"Member '{m}' is present but not allowed here.")
            if type(v) not in types:
                raise self._op_error(op, i, n, f"Type mismatch for member '{m}'.")
        if "table" in required:
            ts = self.db.schema.tables.get(op["table"])
            if ts is None:
                raise self._op_error(op, i, n, f"No table named {op['table']}.")
            if name in WRITE_OPS and self.read_only:
                raise OvsdbError(NOT_ALLOWED, f"{name} operation not allowed on table in reserved database "
                                              f"{self.db.name}")
            return self._table_op(name, op, ts)
        if name == "commit":
            self.durable = self.durable or op["durable"]
            return {}
        if name == "abort":
            raise OvsdbError(ABORTED, "aborted by request")
        if name == "comment":
            self.comments.append(op["comment"])
            return {}
        # assert
        lock = op["lock"]
        if not is_id(lock):
            raise self._op_error(op, i, n, "Type mismatch for member 'lock'.")
        if self.has_lock is None or not self.has_lock(lock):
            raise OvsdbError(NOT_OWNER, f"Asserted lock {lock} not held.")
        return {}

    def _table_op(self, name: str, op: dict[str, Any], ts: TableSchema) -> Any:
        if name == "insert":
            return self._insert(op, ts)
        if name == "select":
            return self._select(op, ts)
        if name == "update":
            return self._update(op, ts)
        if name == "mutate":
            return self._mutate(op, ts)
        if name == "delete":
            return self._delete(op, ts)
        return self._wait(op, ts)

    # ---- helpers ----

    def _matching(self, tname: str, cond: Condition) -> list[Row]:
        u = cond.uuid_lookup()
        if u is not None:
            r = self.txn.get(tname, u)
            return [r] if r is not None and cond.matches_all(r) else []
        if not cond.clauses:
            return self.txn.rows(tname)
        return [r for r in self.txn.rows(tname) if cond.matches_all(r)]

    def _parse_columns(self, ts: TableSchema, json: Any) -> list[ColumnSchema]:
        if all(type(c) is str for c in json):
            key = (ts.name, *json)
            cols = self._columns_cache.get(key)
            if cols is None:
                cols = self._columns_cache[key] = self._parse_columns_uncached(ts, json)
            return cols
        return self._parse_columns_uncached(ts, json)

    def _parse_columns_uncached(self, ts: TableSchema, json: Any) -> list[ColumnSchema]:
        cols = []
        for name in json:
            c = ts.get_column(name) if isinstance(name, str) else None
            if c is None:
                raise syntax_error(json, f"{name} is not a valid column name")
            cols.append(c)
        return cols

    def _parse_row(self, ts: TableSchema, row_json: dict[str, Any], for_update: bool,
                   op_json: Any) -> dict[str, Datum]:
        out: dict[str, Datum] = {}
        for name, value in row_json.items():
            col = ts.columns.get(name)
            if col is None:
                if name in ("_uuid", "_version"):
                    if for_update:
                        raise OvsdbError(CONSTRAINT_VIOLATION, f"Cannot update immutable column {name} in table "
                                         f"{ts.name}.", op_json, has_syntax=True)
                    continue  # ovsdb-server ignores these in an inserted row.
                raise OvsdbError(UNKNOWN_COLUMN, f"No column {name} in table {ts.name}.", row_json,
                                 has_syntax=True)
            if for_update and not col.mutable:
                raise OvsdbError(CONSTRAINT_VIOLATION, f"Cannot update immutable column {name} in table "
                                 f"{ts.name}.", op_json, has_syntax=True)
            d = Datum.from_json(col.type, value, self.symbol)
            d.check_constraints(col.type)
            out[name] = d
        return out

    # ---- operations ----

    def _insert(self, op: dict[str, Any], ts: TableSchema) -> Any:
        tname = ts.name
        explicit = op.get("uuid")
        uuid_name = op.get("uuid-name")
        if uuid_name is not None and not is_id(uuid_name):
            raise syntax_error(op, "Parsing ovsdb operation failed: Type mismatch for member 'uuid-name'.")
        if explicit is not None:
            if not is_valid_uuid(explicit):
                raise syntax_error(explicit, "bad uuid")
            u = explicit.lower()
            if self._uuid_in_use(u):
                raise OvsdbError(DUPLICATE_UUID, f"This UUID ({u}) would duplicate a UUID already present within "
                                                 "the table or deleted within the same transaction.")
        if uuid_name is not None:
            sym = self.symtab.get(uuid_name)
            if sym is not None and sym.created:
                raise OvsdbError(DUPLICATE_UUID_NAME, 'This "uuid-name" appeared on an earlier "insert" operation.',
                                 uuid_name, has_syntax=True)
            if sym is None:
                sym = self.symtab[uuid_name] = _Symbol(explicit.lower() if explicit is not None else new_uuid())
            sym.created = True
            u = sym.uuid
            if explicit is None and self._uuid_in_use(u):
                u = sym.uuid = new_uuid()
        elif explicit is None:
            u = new_uuid()
        given = self._parse_row(ts, op["row"], False, op)
        data = default_row_data(ts)
        data.update(given)
        for col in ts.column_list:
            if col.name not in given and col.type.key.has_atom_constraints():
                data[col.name].check_constraints(col.type)
        self.txn.insert(tname, u, data)
        return {"uuid": ["uuid", u]}

    def _uuid_in_use(self, u: str) -> bool:
        if self.db.find_uuid_table(u) is not None:
            return True
        return any(u in rows for rows in self.txn.changes.values())

    def _select(self, op: dict[str, Any], ts: TableSchema) -> Any:
        cond = Condition.from_json(ts, op["where"], self.symbol)
        cols = self._parse_columns(ts, op["columns"]) if "columns" in op else None
        return {"rows": [r.to_json(ts, cols) for r in self._matching(ts.name, cond)]}

    def _update(self, op: dict[str, Any], ts: TableSchema) -> Any:
        cond = Condition.from_json(ts, op["where"], self.symbol)
        values = self._parse_row(ts, op["row"], True, op)
        rows = self._matching(ts.name, cond)
        for r in rows:
            self.txn.writable(ts.name, r).data.update(values)
        return {"count": len(rows)}

    def _mutate(self, op: dict[str, Any], ts: TableSchema) -> Any:
        cond = Condition.from_json(ts, op["where"], self.symbol)
        mutations = [Mutation.from_json(ts, m, self.symbol) for m in op["mutations"]]
        rows = self._matching(ts.name, cond)
        for r in rows:
            w = self.txn.writable(ts.name, r)
            for m in mutations:
                name = m.column.name
                w.data[name] = m.apply(w.data[name])
        return {"count": len(rows)}

    def _delete(self, op: dict[str, Any], ts: TableSchema) -> Any:
        cond = Condition.from_json(ts, op["where"], self.symbol)
        rows = self._matching(ts.name, cond)
        for r in rows:
            self.txn.delete(ts.name, r)
        return {"count": len(rows)}

    def _wait(self, op: dict[str, Any], ts: TableSchema) -> Any:
        timeout = op.get("timeout")
        if timeout is not None and (not isinstance(timeout, int) or timeout < 0):
            raise syntax_error(op, "timeout must be a nonnegative integer")
        until = op["until"]
        if until not in ("==", "!="):
            raise syntax_error(until, '"until" must be "==" or "!="')
        if until == "==" and self._wait_holds_fast(op, ts):
            return {}
        cond = Condition.from_json(ts, op["where"], self.symbol)
        cols = self._parse_columns(ts, op["columns"]) if "columns" in op else list(ts.column_list)
        expected = set()
        for rj in op["rows"]:
            if not isinstance(rj, dict):
                raise syntax_error(rj, "rows must be an array of <row> objects")
            given = self._parse_row(ts, rj, False, op)
            expected.add(tuple(given[c.name] if c.name in given else Datum.default(c.type) for c in cols))
        actual = set()
        for r in self._matching(ts.name, cond):
            actual.add(tuple(_value(r, c) for c in cols))
        equal = actual == expected
        if equal == (until == "=="):
            return {}
        if timeout == 0:
            raise OvsdbError(TIMED_OUT, '"where" clause test failed')
        deadline = math.inf if timeout is None else self.started + timeout / 1000.0
        if self.now < deadline:
            raise _Blocked(deadline)
        raise OvsdbError(TIMED_OUT, f'"wait" timed out after {int((self.now - self.started) * 1000)} ms')

    def _wait_holds_fast(self, op: dict[str, Any], ts: TableSchema) -> bool:
        """True if ``op`` is the "verify" form clients send by the thousand and it holds.

        ovs-vsctl checks every row it read with ``wait`` ``_uuid == U``, one column, one expected row.  This
        answers that form without building conditions and row sets.  False means "not known to hold": the general
        code then decides, and reports any error exactly as it would have.
        """
        where = op["where"]
        rows = op["rows"]
        cols = op.get("columns")
        if len(where) != 1 or cols is None or len(cols) != 1 or len(rows) != 1:
            return False
        clause = where[0]
        if type(clause) is not list or len(clause) != 3 or clause[0] != "_uuid" or clause[1] != "==":
            return False
        arg = clause[2]
        if type(arg) is not list or len(arg) != 2 or arg[0] != "uuid" or not is_valid_uuid(arg[1]):
            return False
        name = cols[0]
        col = ts.columns.get(name) if type(name) is str else None
        expected = rows[0]
        if col is None or type(expected) is not dict or len(expected) != 1 or name not in expected:
            return False
        try:
            value = Datum.from_json(col.type, expected[name], self.symbol)
            value.check_constraints(col.type)
        except OvsdbError:
            return False
        row = self.txn.get(ts.name, arg[1].lower())
        return row is not None and row.data[name] == value

    # ---- commit-time checks ----

    def _precommit(self) -> None:
        txn = self.txn
        db = self.db
        schema = db.schema.tables
        # Drop changes that change nothing: an update to the same values, or a row inserted and then deleted.
        for tname, rows in txn.changes.items():
            for u in [u for u, tr in rows.items()
                      if (tr.old is None and tr.new is None)
                      or (tr.old is not None and tr.new is not None and tr.new.data == tr.old.data)]:
                del rows[u]
        if not any(txn.changes.values()):
            return

        # 1. Referential integrity of strong references.
        delta: dict[str, int] = {}
        for tname, rows in txn.changes.items():
            ts = schema[tname]
            if not ts.strong_ref_columns:
                continue
            for u, tr in rows.items():
                for col in ts.strong_ref_columns:
                    od = tr.old.data[col.name] if tr.old is not None else None
                    nd = tr.new.data[col.name] if tr.new is not None else None
                    if od is nd:
                        continue
                    if od is not None:
                        for _, dst in strong_refs(col, od):
                            delta[dst] = delta.get(dst, 0) - 1
                    if nd is not None:
                        for rt, dst in strong_refs(col, nd):
                            delta[dst] = delta.get(dst, 0) + 1
                            if txn.get(rt, dst) is None:
                                raise OvsdbError(REFERENTIAL_INTEGRITY,
                                                 f"Table {tname} column {col.name} row {u} references nonexistent "
                                                 f"row {dst} in table {rt}.")
        refcount = db.refcount
        for tname, rows in txn.changes.items():
            for u, tr in rows.items():
                if tr.old is not None and tr.new is None:
                    n = refcount.get(u, 0) + delta.get(u, 0)
                    if n > 0:
                        raise OvsdbError(REFERENTIAL_INTEGRITY, f"cannot delete {tname} row {u} because of {n} "
                                                                "remaining reference(s)")

        # 2. Garbage collection of unreferenced rows in non-root tables.
        candidates: list[tuple[str, str]] = []
        for tname, rows in txn.changes.items():
            if not schema[tname].is_root:
                candidates.extend((tname, u) for u, tr in rows.items() if tr.new is not None)
        for tname, rows in txn.changes.items():
            ts = schema[tname]
            for u, tr in rows.items():
                if tr.old is None:
                    continue
                for col in ts.strong_ref_columns:
                    for rt, dst in strong_refs(col, tr.old.data[col.name]):
                        if not schema[rt].is_root and delta.get(dst, 0) < 0:
                            candidates.append((rt, dst))
        while candidates:
            following: list[tuple[str, str]] = []
            for tname, u in candidates:
                ts = schema[tname]
                if ts.is_root:
                    continue
                row = txn.get(tname, u)
                if row is None or refcount.get(u, 0) + delta.get(u, 0) > 0:
                    continue
                txn.delete(tname, row)
                for col in ts.strong_ref_columns:
                    for rt, dst in strong_refs(col, row.data[col.name]):
                        delta[dst] = delta.get(dst, 0) - 1
                        following.append((rt, dst))
            candidates = following
        for rows in txn.changes.values():
            for u in [u for u, tr in rows.items() if tr.old is None and tr.new is None]:
                del rows[u]

        # 3. maxRows, and the optional server-wide row limit.
        for tname, rows in txn.changes.items():
            ts = schema[tname]
            if ts.max_rows is not None:
                n = len(db.tables[tname].rows) + sum(
                    (tr.old is None) - (tr.new is None) for tr in rows.values())
                if n > ts.max_rows:
                    raise OvsdbError(CONSTRAINT_VIOLATION, f'transaction causes "{tname}" table to contain {n} rows, '
                                                           f"greater than the schema-defined limit of {ts.max_rows} "
                                                           "row(s)")
        if self.max_rows is not None:
            total = db.row_count() + sum((tr.old is None) - (tr.new is None)
                                         for rows in txn.changes.values() for tr in rows.values())
            if total > self.max_rows:
                raise OvsdbError(RESOURCES_EXHAUSTED, f"transaction would make the database hold {total} rows, "
                                                      f"more than this server's limit of {self.max_rows}")

        # 4. Weak references: drop those whose target no longer exists.
        to_assess: dict[tuple[str, str], None] = {}
        deleted: list[str] = []
        for tname, rows in txn.changes.items():
            has_weak = bool(schema[tname].weak_ref_columns)
            for u, tr in rows.items():
                if tr.new is None:
                    deleted.append(u)
                elif has_weak:
                    to_assess[(tname, u)] = None
        for u in deleted:
            for src, stable in db.weak_srcs.get(u, {}).items():
                to_assess[(stable, src)] = None
        for tname, u in to_assess:
            row = txn.get(tname, u)
            if row is not None:
                self._assess_weak_refs(schema[tname], row)

        # 5. Unique indexes.
        for tname, rows in txn.changes.items():
            table = db.tables[tname]
            ts = table.schema
            for i, idx in enumerate(ts.indexes):
                seen: dict[tuple[Datum, ...], str] = {}
                for u, tr in rows.items():
                    if tr.new is None:
                        continue
                    key = table.index_key(i, tr.new)
                    other = seen.get(key)
                    if other is None:
                        existing = table.indexes[i].get(key)
                        if existing is not None and existing != u and not txn.touched(tname, existing):
                            other = existing
                    if other is not None:
                        values = ", ".join(_datum_text(d, ts.columns[c]) for d, c in zip(key, idx))
                        cols = ", ".join(idx)
                        raise OvsdbError(CONSTRAINT_VIOLATION,
                                         f'Transaction causes multiple rows in "{tname}" table to have identical '
                                         f'values ({values}) for index on column{"s" if len(idx) > 1 else ""} '
                                         f'"{cols}".  First row, with UUID {other}, and second row, with UUID {u}.')
                    seen[key] = u

    def _assess_weak_refs(self, ts: TableSchema, row: Row) -> None:
        txn = self.txn
        for col in ts.weak_ref_columns:
            d = row.data[col.name]
            missing = [dst for rt, dst in weak_refs(col, d) if txn.get(rt, dst) is None]
            if not missing:
                continue
            gone = set(missing)
            t = col.type
            key_weak = t.key.is_weak_ref()
            val_weak = t.value is not None and t.value.is_weak_ref()
            if d.values is None:
                new = Datum(tuple(a for a in d.keys if a not in gone))
            else:
                pairs = [(k, v) for k, v in zip(d.keys, d.values)
                         if not (key_weak and k in gone) and not (val_weak and v in gone)]
                new = Datum(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs))
            if len(new.keys) < t.n_min:
                raise OvsdbError(CONSTRAINT_VIOLATION,
                                 f"Deletion of {len(d.keys) - len(new.keys)} weak reference(s) to deleted (or "
                                 f'never-existing) rows from column "{col.name}" in "{ts.name}" row {row.uuid} '
                                 f"caused this column to have {len(new.keys)} element(s), fewer than its minimum "
                                 f"of {t.n_min}.")
            txn.writable(ts.name, row).data[col.name] = new


def _value(row: Row, col: ColumnSchema) -> Datum:
    if col.name == "_uuid":
        return Datum((row.uuid,))
    if col.name == "_version":
        return Datum((row.version,))
    return row.data[col.name]


def _datum_text(d: Datum, col: ColumnSchema) -> str:
    import json
    return json.dumps(d.to_json(col.type), separators=(",", ":"))
