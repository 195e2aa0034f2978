"""The in-memory database: rows, tables, and the bookkeeping that commits rely on.

A :class:`Database` holds one :class:`Table` per table of its schema.  Committed :class:`Row` objects are never
changed in place: a transaction makes a new ``Row`` for every row it modifies (sharing the unchanged column
values), so a committed row can be handed to monitors and to the log writer while new transactions run.

Besides the rows, the database keeps three derived structures, updated by :meth:`Database.apply` and rebuilt after
loading a file:

* ``refcount``: for every row UUID, the number of strong references to it (this decides garbage collection and
  "cannot delete ... because of N remaining reference(s)");
* ``weak_srcs``: for every row UUID, the rows that refer to it weakly (so deleting it can remove those references);
* one dict per unique index of each table, from the tuple of indexed values to the row UUID.

:class:`Commit` is what a successful transaction produces: for each table, for each changed row, the pair
(old row or None, new row or None).  The log writer, the monitors and ``apply`` all consume it.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .data import Datum
from .schema import ColumnSchema, DatabaseSchema, TableSchema


def new_uuid() -> str:
    return str(uuidlib.uuid4())


class Row:
    """One row: its UUID, its version UUID, and its column values (``data``: column name -> Datum)."""

    __slots__ = ("data", "json_cache", "uuid", "version")

    def __init__(self, uuid: str, version: str, data: dict[str, Datum]) -> None:
        self.uuid = uuid
        self.version = version
        self.data = data
        # Monitors cache the JSON of committed rows per set of columns (committed rows never change).
        self.json_cache: dict[Any, Any] | None = None

    def __repr__(self) -> str:
        return f"Row({self.uuid})"

    def to_json(self, table: TableSchema, columns: Iterable[ColumnSchema] | None = None) -> dict[str, Any]:
        """The RFC 7047 ``<row>`` object, with ``_uuid`` and ``_version`` when ``columns`` is None."""
        obj: dict[str, Any] = {}
        if columns is None:
            obj["_uuid"] = ["uuid", self.uuid]
            obj["_version"] = ["uuid", self.version]
            for c in table.column_list:
                obj[c.name] = self.data[c.name].to_json(c.type)
            return obj
        for c in columns:
            if c.name == "_uuid":
                obj["_uuid"] = ["uuid", self.uuid]
            elif c.name == "_version":
                obj["_version"] = ["uuid", self.version]
            else:
                obj[c.name] = self.data[c.name].to_json(c.type)
        return obj


def default_row_data(table: TableSchema) -> dict[str, Datum]:
    return dict(table.defaults)


def strong_refs(column: ColumnSchema, datum: Datum) -> Iterator[tuple[str, str]]:
    """(referenced table, uuid) for every strong reference in ``datum``."""
    t = column.type
    if t.key.is_strong_ref():
        rt = t.key.ref_table
        for a in datum.keys:
            yield rt, a  # type: ignore[misc]
    if t.value is not None and t.value.is_strong_ref() and datum.values is not None:
        rt = t.value.ref_table
        for a in datum.values:
            yield rt, a  # type: ignore[misc]


def weak_refs(column: ColumnSchema, datum: Datum) -> Iterator[tuple[str, str]]:
    t = column.type
    if t.key.is_weak_ref():
        rt = t.key.ref_table
        for a in datum.keys:
            yield rt, a  # type: ignore[misc]
    if t.value is not None and t.value.is_weak_ref() and datum.values is not None:
        rt = t.value.ref_table
        for a in datum.values:
            yield rt, a  # type: ignore[misc]


class Commit:
    """The effect of one committed transaction."""

    __slots__ = ("changes", "comment", "date_ms", "durable", "txn_id")

    def __init__(self, txn_id: str, changes: dict[str, dict[str, tuple[Row | None, Row | None]]],
                 comment: str | None = None, durable: bool = False, date_ms: int = 0) -> None:
        self.txn_id = txn_id
        self.changes = changes
        self.comment = comment
        self.durable = durable
        self.date_ms = date_ms

    def is_empty(self) -> bool:
        return not any(self.changes.values())


class Table:
    __slots__ = ("indexes", "rows", "schema")

    def __init__(self, schema: TableSchema) -> None:
        self.schema = schema
        self.rows: dict[str, Row] = {}
        self.indexes: list[dict[tuple[Datum, ...], str]] = [{} for _ in schema.indexes]

    def index_key(self, i: int, row: Row) -> tuple[Datum, ...]:
        return tuple(row.data[c] for c in self.schema.indexes[i])


class Database:
    """The tables of one database, with the derived reference counts and indexes."""

    def __init__(self, schema: DatabaseSchema) -> None:
        self.schema = schema
        self.name = schema.name
        self.tables: dict[str, Table] = {name: Table(ts) for name, ts in schema.tables.items()}
        self.refcount: dict[str, int] = {}
        self.weak_srcs: dict[str, dict[str, str]] = {}  # dst uuid -> {src uuid: src table}
        self.last_txn_id = "00000000-0000-0000-0000-000000000000"
        # Clients may not modify a read-only database (the _Server database).
        self.read_only = False
        # Called with each Commit after it is applied (monitors, blocked "wait" operations).
        self.listeners: list[Callable[[Commit], None]] = []

    def get_row(self, table: str, uuid: str) -> Row | None:
        return self.tables[table].rows.get(uuid)

    def row_count(self) -> int:
        return sum(len(t.rows) for t in self.tables.values())

    def find_uuid_table(self, uuid: str) -> str | None:
        for name, t in self.tables.items():
            if uuid in t.rows:
                return name
        return None

    # ---- applying committed changes ----

    def apply(self, commit: Commit) -> None:
        """Install a commit's rows and update the reference counts, weak back-references and indexes."""
        refcount = self.refcount
        weak_srcs = self.weak_srcs
        for tname, rows in commit.changes.items():
            table = self.tables[tname]
            ts = table.schema
            strong_cols = ts.strong_ref_columns
            weak_cols = ts.weak_ref_columns
            for u, (old, new) in rows.items():
                for col in strong_cols:
                    od = old.data[col.name] if old is not None else None
                    nd = new.data[col.name] if new is not None else None
                    if od is nd:
                        continue
                    if od is not None:
                        for _, dst in strong_refs(col, od):
                            n = refcount.get(dst, 0) - 1
                            if n > 0:
                                refcount[dst] = n
                            else:
                                refcount.pop(dst, None)
                    if nd is not None:
                        for _, dst in strong_refs(col, nd):
                            refcount[dst] = refcount.get(dst, 0) + 1
                if weak_cols:
                    if old is not None:
                        for col in weak_cols:
                            od = old.data[col.name]
                            if new is not None and new.data[col.name] is od:
                                continue
                            for _, dst in weak_refs(col, od):
                                srcs = weak_srcs.get(dst)
                                if srcs is not None:
                                    srcs.pop(u, None)
                                    if not srcs:
                                        del weak_srcs[dst]
                    if new is not None:
                        for col in weak_cols:
                            nd = new.data[col.name]
                            for _, dst in weak_refs(col, nd):
                                weak_srcs.setdefault(dst, {})[u] = tname
            if ts.indexes:
                # Remove all old keys before adding new ones, so that rows may swap indexed values.
                for i in range(len(ts.indexes)):
                    index = table.indexes[i]
                    for u, (old, new) in rows.items():
                        if old is not None:
                            k = table.index_key(i, old)
                            if index.get(k) == u:
                                del index[k]
                    for u, (old, new) in rows.items():
                        if new is not None:
                            index[table.index_key(i, new)] = u
            trows = table.rows
            for u, (old, new) in rows.items():
                if new is None:
                    trows.pop(u, None)
                else:
                    trows[u] = new
        if commit.txn_id:
            self.last_txn_id = commit.txn_id

    def rebuild_derived(self) -> None:
        """Recompute reference counts, weak back-references and indexes from the rows (after loading a file)."""
        self.refcount = {}
        self.weak_srcs = {}
        for tname, table in self.tables.items():
            ts = table.schema
            for row in table.rows.values():
                for col in ts.strong_ref_columns:
                    for _, dst in strong_refs(col, row.data[col.name]):
                        self.refcount[dst] = self.refcount.get(dst, 0) + 1
                for col in ts.weak_ref_columns:
                    for _, dst in weak_refs(col, row.data[col.name]):
                        self.weak_srcs.setdefault(dst, {})[row.uuid] = tname
            table.indexes = [{} for _ in ts.indexes]
            for i in range(len(ts.indexes)):
                for row in table.rows.values():
                    table.indexes[i][table.index_key(i, row)] = row.uuid

    def notify(self, commit: Commit) -> None:
        for listener in list(self.listeners):
            listener(commit)
