"""Monitors: ``monitor`` (RFC 7047 4.1.5), ``monitor_cond`` and ``monitor_cond_since`` (ovsdb-server(7)).

A :class:`Monitor` belongs to one client session and one database.  For each monitored table it knows the columns,
the ``select`` flags (initial, insert, delete, modify) and, for conditional monitors, the condition (clauses ORed).
It turns the database contents into the initial reply and each :class:`~pyvswitch.db.database.Commit` into the
``<table-updates>`` of an ``update`` notification (version 1) or the ``<table-updates2>`` of ``update2`` /
``update3`` (versions 2 and 3):

* version 1 sends ``{"new": row}`` for inserts, ``{"old": row}`` for deletes, and for modifications the new row
  with all monitored columns and ``old`` with just the columns that changed;
* versions 2 and 3 send ``initial``/``insert`` with the non-default columns, ``delete: null``, and ``modify`` with
  the difference of each changed column (see :meth:`~pyvswitch.db.data.Datum.diff`).  A row that starts or stops
  matching the condition is an insert or a delete.
"""

from __future__ import annotations

from typing import Any

from .condition import Condition
from .database import Commit, Database, Row
from .error import syntax_error
from .schema import ColumnSchema, TableSchema

SELECT_KEYS = ("initial", "insert", "delete", "modify")


class MonitoredTable:
    __slots__ = ("cache_key", "columns", "condition", "schema", "select")

    def __init__(self, schema: TableSchema, columns: list[ColumnSchema], select: dict[str, bool],
                 condition: Condition | None) -> None:
        self.schema = schema
        self.columns = columns
        self.select = select
        self.condition = condition
        self.cache_key = tuple(c.name for c in columns)

    def matches(self, row: Row | None) -> bool:
        if row is None:
            return False
        return self.condition is None or self.condition.matches_any(row)


def _parse_select(json: Any) -> dict[str, bool]:
    select = {k: True for k in SELECT_KEYS}
    if json is None:
        return select
    if not isinstance(json, dict):
        raise syntax_error(json, "select must be an object")
    for k, v in json.items():
        if k not in SELECT_KEYS or not isinstance(v, bool):
            raise syntax_error(json, f"invalid member {k!r} in select")
        select[k] = v
    return select


def parse_requests(db: Database, requests: Any, version: int) -> dict[str, MonitoredTable]:
    """Parse ``<monitor-requests>`` (or ``<monitor-cond-requests>``) into per-table monitoring specs."""
    if not isinstance(requests, dict):
        raise syntax_error(requests, "monitor requests must be an object")
    tables: dict[str, MonitoredTable] = {}
    for tname, reqs in requests.items():
        ts = db.schema.tables.get(tname)
        if ts is None:
            raise syntax_error(None, f"no table named {tname}")
        if isinstance(reqs, dict):
            reqs = [reqs]
        if not isinstance(reqs, list):
            raise syntax_error(reqs, "monitor request must be an object or an array of objects")
        columns: dict[str, ColumnSchema] = {}
        select = {k: False for k in SELECT_KEYS}
        clauses = []
        any_condition = False
        unconditional = False
        for req in reqs:
            if not isinstance(req, dict):
                raise syntax_error(req, "monitor request must be an object")
            allowed = ("columns", "select", "where") if version >= 2 else ("columns", "select")
            for k in req:
                if k not in allowed:
                    raise syntax_error(req, f"Member '{k}' is present but not allowed here.")
            cols_j = req.get("columns")
            if cols_j is None:
                for c in ts.column_list:
                    columns.setdefault(c.name, c)
            else:
                if not isinstance(cols_j, list):
                    raise syntax_error(cols_j, "columns must be an array")
                for name in cols_j:
                    col = ts.columns.get(name) if isinstance(name, str) else None
                    if col is None:
                        raise syntax_error([name], f"{name} is not a valid column name")
                    columns.setdefault(col.name, col)
            for k, v in _parse_select(req.get("select")).items():
                select[k] = select[k] or v
            if "where" in req:
                cond = Condition.from_json(ts, req["where"])
                if not cond.clauses:
                    unconditional = True
                else:
                    any_condition = True
                    clauses.extend(cond.clauses)
            else:
                unconditional = True
        condition = Condition(clauses) if any_condition and not unconditional else None
        tables[tname] = MonitoredTable(ts, list(columns.values()), select, condition)
    return tables


class Monitor:
    """One monitor of one session on one database."""

    def __init__(self, db: Database, monid: Any, version: int, tables: dict[str, MonitoredTable]) -> None:
        self.db = db
        self.monid = monid
        self.version = version
        self.tables = tables

    # ---- formatting ----

    def _row1(self, mt: MonitoredTable, row: Row) -> dict[str, Any]:
        return {c.name: row.data[c.name].to_json(c.type) for c in mt.columns}

    def _row2(self, mt: MonitoredTable, row: Row) -> dict[str, Any]:
        cache = row.json_cache
        if cache is not None:
            out = cache.get(mt.cache_key)
            if out is not None:
                return out
        else:
            cache = row.json_cache = {}
        defaults = mt.schema.defaults
        out = {}
        data = row.data
        for c in mt.columns:
            d = data[c.name]
            if d != defaults[c.name]:
                out[c.name] = d.to_json(c.type)
        cache[mt.cache_key] = out
        return out

    def initial(self) -> dict[str, Any]:
        """The result of the monitor request: the current contents selected as "initial"."""
        out: dict[str, Any] = {}
        for tname, mt in self.tables.items():
            if not mt.select["initial"]:
                continue
            rows = self.db.tables[tname].rows
            tu: dict[str, Any] = {}
            if self.version == 1:
                for u, row in rows.items():
                    tu[u] = {"new": self._row1(mt, row)}
            else:
                for u, row in rows.items():
                    if mt.matches(row):
                        tu[u] = {"initial": self._row2(mt, row)}
            if tu:
                out[tname] = tu
        return out

    def updates(self, changes: dict[str, dict[str, tuple[Row | None, Row | None]]]) -> dict[str, Any]:
        """The table updates for a set of row changes (empty if nothing monitored changed)."""
        out: dict[str, Any] = {}
        for tname, rows in changes.items():
            mt = self.tables.get(tname)
            if mt is None:
                continue
            tu = self._table_updates1(mt, rows) if self.version == 1 else self._table_updates2(mt, rows)
            if tu:
                out[tname] = tu
        return out

    def _table_updates1(self, mt: MonitoredTable, rows: dict[str, tuple[Row | None, Row | None]]) -> dict[str, Any]:
        sel = mt.select
        tu: dict[str, Any] = {}
        for u, (old, new) in rows.items():
            if old is None:
                if new is not None and sel["insert"]:
                    tu[u] = {"new": self._row1(mt, new)}
            elif new is None:
                if sel["delete"]:
                    tu[u] = {"old": self._row1(mt, old)}
            elif sel["modify"]:
                changed = {}
                for c in mt.columns:
                    od = old.data[c.name]
                    if od is not new.data[c.name] and od != new.data[c.name]:
                        changed[c.name] = od.to_json(c.type)
                if changed:
                    tu[u] = {"old": changed, "new": self._row1(mt, new)}
        return tu

    def _table_updates2(self, mt: MonitoredTable, rows: dict[str, tuple[Row | None, Row | None]]) -> dict[str, Any]:
        sel = mt.select
        tu: dict[str, Any] = {}
        for u, (old, new) in rows.items():
            was = mt.matches(old)
            now = mt.matches(new)
            if now and not was:
                if sel["insert"]:
                    tu[u] = {"insert": self._row2(mt, new)}  # type: ignore[arg-type]
            elif was and not now:
                if sel["delete"]:
                    tu[u] = {"delete": None}
            elif was and now and sel["modify"]:
                assert old is not None and new is not None
                diff = {}
                for c in mt.columns:
                    od = old.data[c.name]
                    nd = new.data[c.name]
                    if od is not nd and od != nd:
                        diff[c.name] = od.diff(nd, c.type).to_json(c.type)
                if diff:
                    tu[u] = {"modify": diff}
        return tu

    def notification(self, commit: Commit) -> dict[str, Any] | None:
        """The update/update2/update3 notification for ``commit``, or None."""
        updates = self.updates(commit.changes)
        if not updates:
            return None
        if self.version == 1:
            return {"method": "update", "params": [self.monid, updates], "id": None}
        if self.version == 2:
            return {"method": "update2", "params": [self.monid, updates], "id": None}
        return {"method": "update3", "params": [self.monid, commit.txn_id, updates], "id": None}

    def change_condition(self, new_tables: dict[str, Condition | None]) -> dict[str, Any]:
        """Apply ``monitor_cond_change``: new conditions per table; return the resulting table updates."""
        out: dict[str, Any] = {}
        for tname, cond in new_tables.items():
            mt = self.tables[tname]
            old_mt = MonitoredTable(mt.schema, mt.columns, mt.select, mt.condition)
            mt.condition = cond
            tu: dict[str, Any] = {}
            for u, row in self.db.tables[tname].rows.items():
                was = old_mt.matches(row)
                now = mt.matches(row)
                if now and not was and mt.select["insert"]:
                    tu[u] = {"insert": self._row2(mt, row)}
                elif was and not now and mt.select["delete"]:
                    tu[u] = {"delete": None}
            if tu:
                out[tname] = tu
        return out


def merge_changes(commits: list[Commit]) -> dict[str, dict[str, tuple[Row | None, Row | None]]]:
    """The net change of several consecutive commits: per row, the first old and the last new version."""
    merged: dict[str, dict[str, tuple[Row | None, Row | None]]] = {}
    for c in commits:
        for tname, rows in c.changes.items():
            m = merged.setdefault(tname, {})
            for u, (old, new) in rows.items():
                if u in m:
                    m[u] = (m[u][0], new)
                else:
                    m[u] = (old, new)
    for tname in list(merged):
        rows = merged[tname]
        for u in [u for u, (o, n) in rows.items() if o is None and n is None]:
            del rows[u]
    return merged
