"""``pyvs-vsctl``: configure the switch through its database, in the image of ``ovs-vsctl``.

Usage: ``pyvs-vsctl [OPTIONS] COMMAND [ARG...] [-- [OPTIONS] COMMAND [ARG...]]...``.  Commands, options,
output and exit codes follow ovs-vsctl(8); errors print ``pyvs-vsctl: MESSAGE`` on stderr and exit 1 (``br-exists``
exits 2 for a missing bridge, and ``--timeout`` ends the program with SIGALRM as ovs-vsctl does).

How one invocation runs, as ovs-vsctl does it:

1. connect to ``--db`` (default ``unix:$PYVS_RUNDIR/db.sock``) and monitor the whole ``Open_vSwitch``
   database;
2. run every command, in order, against a local copy of the database (:class:`LocalDb`), which records the
   rows inserted, changed and deleted; commands see the effects of the commands before them, and ``--id=@name``
   names rows for later (or earlier) commands;
3. send all the changes as one ``transact`` request, with ``next_cfg`` incremented when something changed and
   ``--no-wait`` was not given, then wait until the switch reports ``cur_cfg`` at least that value;
4. print the output of every command (``--oneline`` puts each on one line).

A ``wait-until`` whose condition does not hold yet makes the whole sequence start again after the next change
to the database.  The bridge-level commands (``add-br``, ``add-port`` ...) see the database through
:class:`Cache`: real bridges, fake (VLAN) bridges made of a parent bridge's port with ``fake_bridge=true``, and
which bridge each port and interface belongs to.

Before the changes, the transaction holds a ``wait`` for each changed row, requiring the changed columns to
still hold what this run read; if another client changed them in between, the run starts again on fresh data
(the same protection ovs-vsctl gets from its verify calls, at the granularity of the columns written).

Not done (yet): the auto-attach, conntrack-zone and datapath-capability commands.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn, TextIO

from pyvswitch.db.client import Client, ConnectionClosed, Replica
from pyvswitch.db.data import Datum
from pyvswitch.db.schema import DatabaseSchema, TableSchema
from pyvswitch.db.types import INTEGER, STRING, UNLIMITED, UUID, BaseType, Type
from pyvswitch.util import vlog

from .vsctl_data import (
    Style,
    Table,
    ValueError_,
    atom_from_string,
    atom_to_string,
    datum_from_string,
    datum_to_string,
    format_table,
    read_token,
)

PROGRAM = "pyvs-vsctl"
VERSION = "0.1.0"
DB_NAME = "Open_vSwitch"
UUID_TYPE = Type(BaseType(UUID))


class Fatal(Exception):
    """An error that ends the program: printed as ``pyvs-vsctl: MESSAGE``, exit status ``status``."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class TryAgain(Exception):
    """A ``wait-until`` condition does not hold yet: rerun the commands after the database changes."""


def fatal(message: str) -> NoReturn:
    raise Fatal(message)


# ----------------------------------------------------------------------------------------------------------
# The local copy of the database.

class LocalDb:
    """All rows of the database as ``rows[table][uuid] = {column: Datum}``, plus the changes made so far."""

    def __init__(self, schema: DatabaseSchema, replica: Replica) -> None:
        self.schema = schema
        self.rows: dict[str, dict[str, dict[str, Datum]]] = {}
        for t, ts in schema.tables.items():
            src = replica.tables.get(t, {})
            self.rows[t] = {u: {c: data.get(c, ts.defaults[c]) for c in ts.columns}
                            for u, data in src.items()}
        self.orig = {t: {u: dict(r) for u, r in rows.items()} for t, rows in self.rows.items()}
        self.inserted: dict[str, str] = {}          # new row uuid -> table
        self.explicit_uuid: set[str] = set()       # new rows whose uuid the user chose
        self.order: list[str] = []                 # new rows in creation order

    def ts(self, table: str) -> TableSchema:
        return self.schema.tables[table]

    def get(self, table: str, u: str) -> dict[str, Datum] | None:
        return self.rows[table].get(u)

    def insert(self, table: str, u: str | None = None) -> str:
        explicit = u is not None
        u = u or str(uuidlib.uuid4())
        ts = self.ts(table)
        self.rows[table][u] = dict(ts.defaults)
        self.inserted[u] = table
        self.order.append(u)
        if explicit:
            self.explicit_uuid.add(u)
        return u

    def delete(self, table: str, u: str) -> None:
        self.rows[table].pop(u, None)

    def set(self, table: str, u: str, column: str, value: Datum) -> None:
        self.rows[table][u][column] = value

    def value(self, table: str, u: str, column: str) -> Any:
        """The Python form of a column: atom, atom-or-None, list or dict."""
        return self.rows[table][u][column].to_python(self.ts(table).columns[column].type)

    def has_changes(self) -> bool:
        for t, rows in self.rows.items():
            if rows != self.orig[t]:
                return True
        return False

    def ops(self) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """The transaction operations for the changes, and the index of each insert by the row's uuid."""
        names = {u: "row" + u.replace("-", "") for u in self.inserted}

        def fix(j: Any) -> Any:
            if isinstance(j, list):
                if len(j) == 2 and j[0] == "uuid" and isinstance(j[1], str) and j[1] in names \
                        and j[1] not in self.explicit_uuid:
                    return ["named-uuid", names[j[1]]]
                return [fix(x) for x in j]
            return j

        ops: list[dict[str, Any]] = []
        index: dict[str, int] = {}
        # Verify first that the columns about to change still hold what this run read: if another client
        # changed them in between, the "wait" fails at once and the whole run starts again on fresh data.
        for t, rows in self.rows.items():
            ts = self.ts(t)
            for u, old in self.orig[t].items():
                new = rows.get(u)
                if new is None:
                    continue
                cols = sorted(c for c in old if new.get(c) != old[c] and not ts.columns[c].ephemeral)
                if cols:
                    ops.append({"op": "wait", "table": t, "timeout": 0, "where": [["_uuid", "==", ["uuid", u]]],
                                "columns": cols, "until": "==",
                                "rows": [{c: old[c].to_json(ts.columns[c].type) for c in cols}]})
        for u in self.order:
            t = self.inserted[u]
            row = self.rows[t].get(u)
            if row is None:
                continue
            ts = self.ts(t)
            op: dict[str, Any] = {"op": "insert", "table": t, "uuid-name": names[u], "row": {
                c: fix(d.to_json(ts.columns[c].type)) for c, d in row.items() if d != ts.defaults[c]}}
            if u in self.explicit_uuid:
                op["uuid"] = u
                del op["uuid-name"]
            index[u] = len(ops)
            ops.append(op)
        for t, rows in self.rows.items():
            ts = self.ts(t)
            for u, old in self.orig[t].items():
                new = rows.get(u)
                where = [["_uuid", "==", ["uuid", u]]]
                if new is None:
                    ops.append({"op": "delete", "table": t, "where": where})
                    continue
                changed = {c: fix(d.to_json(ts.columns[c].type)) for c, d in new.items() if old.get(c) != d}
                if changed:
                    ops.append({"op": "update", "table": t, "where": where, "row": changed})
        return ops, index


# ----------------------------------------------------------------------------------------------------------
# The bridge-level view: real and fake bridges, ports, interfaces.

@dataclass
class VBridge:
    name: str
    cfg: str | None            # Bridge row (None for a fake bridge)
    parent: VBridge | None = None
    vlan: int = 0
    port: str | None = None    # for a fake bridge, its Port row
    ports: list[str] = field(default_factory=list)

    def real(self) -> VBridge:
        return self.parent if self.parent is not None else self


@dataclass
class VPort:
    name: str
    uuid: str
    bridge: VBridge
    ifaces: list[str] = field(default_factory=list)


@dataclass
class VIface:
    name: str
    uuid: str
    port: VPort


class Cache:
    """Bridges, ports and interfaces by name, computed from the local database."""

    def __init__(self, db: LocalDb, ovs: str) -> None:
        self.bridges: dict[str, VBridge] = {}
        self.ports: dict[str, VPort] = {}
        self.ifaces: dict[str, VIface] = {}
        for bu in db.value("Open_vSwitch", ovs, "bridges"):
            br = db.get("Bridge", bu)
            if br is None:
                continue
            name = db.value("Bridge", bu, "name")
            if name in self.bridges:
                continue
            vb = VBridge(name, bu)
            self.bridges[name] = vb
            for pu in db.value("Bridge", bu, "ports"):
                if db.get("Port", pu) is None:
                    continue
                tag = db.value("Port", pu, "tag")
                pname = db.value("Port", pu, "name")
                if db.value("Port", pu, "fake_bridge") and tag is not None and 0 <= tag < 4096 \
                        and pname not in self.bridges:
                    self.bridges[pname] = VBridge(pname, None, vb, tag, pu)
        for vb in [b for b in self.bridges.values() if b.parent is None]:
            assert vb.cfg is not None
            fakes = {b.vlan: b for b in self.bridges.values() if b.parent is vb}
            for pu in db.value("Bridge", vb.cfg, "ports"):
                if db.get("Port", pu) is None:
                    continue
                pname = db.value("Port", pu, "name")
                if pname in self.ports:
                    continue
                if pname in self.bridges and self.bridges[pname].port == pu:
                    continue  # A fake bridge's own port is not one of the ports users see.
                tag = db.value("Port", pu, "tag")
                owner = vb
                if tag is not None and tag in fakes:
                    owner = fakes[tag]
                vp = VPort(pname, pu, owner)
                self.ports[pname] = vp
                owner.ports.append(pname)
                for iu in db.value("Port", pu, "interfaces"):
                    if db.get("Interface", iu) is None:
                        continue
                    iname = db.value("Interface", iu, "name")
                    if iname in self.ifaces:
                        continue
                    self.ifaces[iname] = VIface(iname, iu, vp)
                    vp.ifaces.append(iname)

    def bridge(self, name: str, must_exist: bool = True) -> VBridge | None:
        br = self.bridges.get(name)
        if br is None and must_exist:
            fatal(f"no bridge named {name}")
        return br

    def port(self, name: str, must_exist: bool = True) -> VPort | None:
        p = self.ports.get(name)
        if p is None and must_exist:
            fatal(f"no port named {name}")
        return p

    def iface(self, name: str, must_exist: bool = True) -> VIface | None:
        i = self.ifaces.get(name)
        if i is None and must_exist:
            fatal(f"no interface named {name}")
        return i


# ----------------------------------------------------------------------------------------------------------
# Tables, records and columns as ovs-vsctl names them.

# How a record may be named besides its UUID: (table, referring table, name column, reference column).  With a
# referring table, the name is that of a row of the referring table, and the record is the one it refers to.
RECORD_NAMES: dict[str, list[tuple[str | None, str | None, str | None]]] = {
    "Open_vSwitch": [(None, None, None)],
    "Bridge": [(None, "name", None)],
    "Controller": [("Bridge", "name", "controller")],
    "Interface": [(None, "name", None)],
    "Mirror": [(None, "name", None)],
    "Manager": [(None, "target", None)],
    "NetFlow": [("Bridge", "name", "netflow")],
    "Port": [(None, "name", None)],
    "QoS": [("Port", "name", "qos")],
    "SSL": [("Open_vSwitch", None, "ssl")],
    "sFlow": [("Bridge", "name", "sflow")],
    "IPFIX": [("Bridge", "name", "ipfix")],
    "Flow_Table": [(None, "name", None)],
    "AutoAttach": [("Bridge", "name", "auto_attach")],
}


def _norm(name: str) -> str:
    return name.lower().replace("-", "_")


def lookup_table(schema: DatabaseSchema, name: str) -> TableSchema:
    n = _norm(name)
    exact = [t for t in schema.tables if _norm(t) == n]
    if exact:
        return schema.tables[exact[0]]
    matches = sorted(t for t in schema.tables if _norm(t).startswith(n))
    if len(matches) == 1:
        return schema.tables[matches[0]]
    if matches:
        fatal(f'"{name}" matches multiple table names: {", ".join(matches)}')
    fatal(f'unknown table "{name}"')


def lookup_column(ts: TableSchema, name: str) -> tuple[str, Type]:
    """A column by name or unique prefix (``_uuid`` included), as (name, type)."""
    cols = {"_uuid": UUID_TYPE, **{c: cs.type for c, cs in ts.columns.items()}}
    n = _norm(name)
    exact = [c for c in cols if _norm(c) == n]
    if exact:
        return exact[0], cols[exact[0]]
    matches = sorted(c for c in cols if _norm(c).startswith(n))
    if len(matches) == 1:
        return matches[0], cols[matches[0]]
    if matches:
        fatal(f'{ts.name} contains more than one column whose name matches "{name}": {", ".join(matches)}')
    fatal(f'{ts.name} does not contain a column whose name matches "{name}"')


def parse_column_key(ts: TableSchema, arg: str, ops: tuple[str, ...] = ("=",),
                     need_value: bool = True) -> tuple[str, Type, str | None, str | None, str | None]:
    """Split ``column[:key]OPvalue``: (column, type, key text, operator, value text)."""
    i = 0
    while i < len(arg) and arg[i] not in ":=!<>{":
        i += 1
    cname, ctype = lookup_column(ts, arg[:i])
    key_text = None
    if i < len(arg) and arg[i] == ":":
        try:
            _key, _quoted, j = read_token(arg, i + 1)
        except ValueError_ as e:
            fatal(str(e))
        key_text = arg[i + 1:j]
        i = j
    op = None
    for candidate in sorted(ops, key=len, reverse=True):
        if arg.startswith(candidate, i):
            op = candidate
            break
    if op is None:
        if need_value:
            _no_value(arg, ops)
        return cname, ctype, key_text, None, None
    value = arg[i + len(op):]
    if need_value and value == "":
        _no_value(arg, ops)
    return cname, ctype, key_text, op, value


def _no_value(arg: str, ops: tuple[str, ...]) -> NoReturn:
    quoted = [f'"{o}"' for o in ops]
    if len(quoted) == 1:
        fatal(f"{arg}: argument does not end in {quoted[0]} followed by a value.")
    fatal(f"{arg}: argument does not end in {', '.join(quoted[:-1])}, or {quoted[-1]} followed by a value.")


# ----------------------------------------------------------------------------------------------------------
# Commands.

@dataclass
class Command:
    name: str
    args: list[str]
    options: dict[str, str | None]
    output: list[str] = field(default_factory=list)
    table: Table | None = None
    created: str | None = None


@dataclass
class CommandSpec:
    min_args: int
    max_args: int
    options: tuple[str, ...]
    run: Callable[[Context, Command], None]
    changes: bool = True


class Context:
    """One run of the command sequence against a local copy of the database."""

    def __init__(self, vs: Vsctl, db: LocalDb, ovs: str) -> None:
        self.vs = vs
        self.db = db
        self.ovs = ovs
        self.symbols: dict[str, str] = {}
        self.symbols_created: set[str] = set()
        self.warnings: list[str] = []

    @property
    def schema(self) -> DatabaseSchema:
        return self.db.schema

    def cache(self) -> Cache:
        return Cache(self.db, self.ovs)

    # ---- symbols (@name) ----

    def symbol(self, name: str) -> str:
        if name not in self.symbols:
            self.symbols[name] = str(uuidlib.uuid4())
        return self.symbols[name]

    def parse_datum(self, t: Type, text: str) -> Datum:
        try:
            return datum_from_string(t, text, self.symbol)
        except ValueError_ as e:
            fatal(str(e))

    def parse_atom(self, bt: BaseType, text: str) -> Any:
        try:
            return atom_from_string(bt, text, self.symbol)
        except ValueError_ as e:
            fatal(str(e))

    # ---- records ----

    def find_record(self, ts: TableSchema, name: str, must_exist: bool = True) -> str | None:
        rows = self.db.rows[ts.name]
        low = name.lower()
        if low in rows:
            return low
        found: list[str] = []
        for ref_table, name_col, ref_col in RECORD_NAMES.get(ts.name, []):
            if ts.name == "Open_vSwitch":
                if name == "." and rows:
                    found = [next(iter(rows))]
                break
            if ref_table is None:
                assert name_col is not None
                ntype = ts.columns[name_col].type
                found = [u for u, r in rows.items() if _name_matches(ntype, r[name_col], name)]
            elif ref_table == "Open_vSwitch":
                if name == ".":
                    for r in self.db.rows["Open_vSwitch"].values():
                        found.extend(u for u in r[ref_col].keys if u in rows)  # type: ignore[index]
            else:
                rts = self.schema.tables[ref_table]
                for r in self.db.rows[ref_table].values():
                    assert name_col is not None and ref_col is not None
                    if _name_matches(rts.columns[name_col].type, r[name_col], name):
                        refs = [u for u in r[ref_col].keys if u in rows]
                        if len(refs) == 1:
                            found.append(refs[0])
            if found:
                break
        if not found and len(name) >= 4 and all(c in "0123456789abcdefABCDEF-" for c in name):
            found = [u for u in rows if u.startswith(low)]
        if len(found) > 1:
            fatal(f'multiple rows in {ts.name} match "{name}"')
        if not found:
            if must_exist:
                fatal(f'no row "{name}" in table {ts.name}')
            return None
        return found[0]

    def column_value(self, ts: TableSchema, u: str, cname: str) -> Datum:
        if cname == "_uuid":
            return Datum.atom(u)
        return self.db.rows[ts.name][u][cname]

    def check_mutable(self, ts: TableSchema, cname: str) -> None:
        if cname == "_uuid" or not ts.columns[cname].mutable:
            fatal(f"cannot modify read-only column {cname} in table {ts.name}")

    def set_column(self, ts: TableSchema, u: str, arg: str, creating: bool = False) -> None:
        cname, ctype, key_text, _op, value = parse_column_key(ts, arg)
        assert value is not None
        if not creating:
            self.check_mutable(ts, cname)
        if key_text is not None:
            if ctype.value is None:
                fatal(f"cannot specify key to set for non-map column {cname}")
            key = self.parse_atom(ctype.key, key_text)
            val = self.parse_atom(ctype.value, value)
            d = dict(self.db.rows[ts.name][u][cname].as_dict())
            d[key] = val
            self.db.set(ts.name, u, cname, Datum.from_dict(d))
        else:
            self.db.set(ts.name, u, cname, self.parse_datum(ctype, value))


def _name_matches(t: Type, d: Datum, name: str) -> bool:
    if t.key.type != STRING:
        return name in [atom_to_string(t.key, k) for k in d.keys]
    return name in d.keys


def _opt(cmd: Command, name: str) -> bool:
    return name in cmd.options


# ---- bridge commands ----

def cmd_init(ctx: Context, cmd: Command) -> None:
    pass


def _check_conflicts(ctx: Context, cache: Cache, name: str, prefix: str) -> None:
    if name in cache.bridges:
        fatal(f"{prefix} because a bridge named {name} already exists")
    if name in cache.ports:
        fatal(f"{prefix} because a port named {name} already exists on bridge "
              f"{cache.ports[name].bridge.name}")
    if name in cache.ifaces:
        fatal(f"{prefix} because an interface named {name} already exists on bridge "
              f"{cache.ifaces[name].port.bridge.name}")


def _new_iface(ctx: Context, name: str, type_: str | None = None) -> str:
    iu = ctx.db.insert("Interface")
    ctx.db.set("Interface", iu, "name", Datum.atom(name))
    if type_ is not None:
        ctx.db.set("Interface", iu, "type", Datum.atom(type_))
    return iu


def _new_port(ctx: Context, name: str, ifaces: list[str]) -> str:
    pu = ctx.db.insert("Port")
    ctx.db.set("Port", pu, "name", Datum.atom(name))
    ctx.db.set("Port", pu, "interfaces", Datum.from_set(ifaces))
    return pu


def _add_ref(ctx: Context, table: str, u: str, column: str, ref: str) -> None:
    d = ctx.db.rows[table][u][column]
    ctx.db.set(table, u, column, Datum.from_set([*d.keys, ref]))


def _remove_ref(ctx: Context, table: str, u: str, column: str, ref: str) -> None:
    d = ctx.db.rows[table][u][column]
    ctx.db.set(table, u, column, Datum.from_set([k for k in d.keys if k != ref]))


def cmd_add_br(ctx: Context, cmd: Command) -> None:
    name = cmd.args[0]
    if len(cmd.args) == 2:
        fatal("'add-br' command takes exactly 1 or 3 arguments")
    parent_name = vlan = None
    if len(cmd.args) == 3:
        parent_name = cmd.args[1]
        try:
            vlan = int(cmd.args[2])
        except ValueError:
            vlan = -1
        if not 0 <= vlan <= 4095:
            fatal("add-br: vlan must be between 0 and 4095")
    cache = ctx.cache()
    if _opt(cmd, "--may-exist"):
        br = cache.bridges.get(name)
        if br is not None:
            if parent_name is None:
                if br.parent is not None:
                    fatal(f'"--may-exist add-br {name}" but {name} is a VLAN bridge for VLAN {br.vlan}')
            else:
                if br.parent is None:
                    fatal(f'"--may-exist add-br {name} {parent_name} {vlan}" but {name} is not a VLAN bridge')
                if br.parent.name != parent_name:
                    fatal(f'"--may-exist add-br {name} {parent_name} {vlan}" but {name} has the wrong parent '
                          f"{br.parent.name}")
                if br.vlan != vlan:
                    fatal(f'"--may-exist add-br {name} {parent_name} {vlan}" but {name} is a VLAN bridge for '
                          f"the wrong VLAN {br.vlan}")
            return
    _check_conflicts(ctx, cache, name, f"cannot create a bridge named {name}")
    if parent_name is None:
        iu = _new_iface(ctx, name, "internal")
        pu = _new_port(ctx, name, [iu])
        bu = ctx.db.insert("Bridge")
        ctx.db.set("Bridge", bu, "name", Datum.atom(name))
        ctx.db.set("Bridge", bu, "ports", Datum.atom(pu))
        _add_ref(ctx, "Open_vSwitch", ctx.ovs, "bridges", bu)
    else:
        parent = cache.bridges.get(parent_name)
        if parent is None:
            fatal(f"parent bridge {parent_name} does not exist")
        if parent.parent is not None:
            fatal("cannot create bridge with fake bridge as parent")
        assert parent.cfg is not None and vlan is not None
        iu = _new_iface(ctx, name, "internal")
        pu = _new_port(ctx, name, [iu])
        ctx.db.set("Port", pu, "fake_bridge", Datum.atom(True))
        ctx.db.set("Port", pu, "tag", Datum.atom(vlan))
        _add_ref(ctx, "Bridge", parent.cfg, "ports", pu)


def _delete_port(ctx: Context, cache: Cache, vp: VPort) -> None:
    real = vp.bridge.real()
    assert real.cfg is not None
    _remove_ref(ctx, "Bridge", real.cfg, "ports", vp.uuid)
    for iname in vp.ifaces:
        ctx.db.delete("Interface", cache.ifaces[iname].uuid)
    ctx.db.delete("Port", vp.uuid)


def cmd_del_br(ctx: Context, cmd: Command) -> None:
    cache = ctx.cache()
    br = cache.bridge(cmd.args[0], not _opt(cmd, "--if-exists"))
    if br is None:
        return
    if br.parent is None:
        assert br.cfg is not None
        for vp in list(cache.ports.values()):
            if vp.bridge.real() is br:
                _delete_port(ctx, cache, vp)
        for fake in [b for b in cache.bridges.values() if b.parent is br]:
            assert fake.port is not None
            for iu in ctx.db.rows["Port"][fake.port]["interfaces"].keys:
                ctx.db.delete("Interface", iu)
            ctx.db.delete("Port", fake.port)
        _remove_ref(ctx, "Open_vSwitch", ctx.ovs, "bridges", br.cfg)
        ctx.db.delete("Bridge", br.cfg)
    else:
        for pname in list(br.ports):
            _delete_port(ctx, cache, cache.ports[pname])
        assert br.port is not None and br.parent is not None and br.parent.cfg is not None
        _remove_ref(ctx, "Bridge", br.parent.cfg, "ports", br.port)
        for iu in ctx.db.rows["Port"][br.port]["interfaces"].keys:
            ctx.db.delete("Interface", iu)
        ctx.db.delete("Port", br.port)


def cmd_list_br(ctx: Context, cmd: Command) -> None:
    real, fake = _opt(cmd, "--real"), _opt(cmd, "--fake")
    if not real and not fake:
        real = fake = True
    names = sorted(n for n, b in ctx.cache().bridges.items()
                   if (b.parent is None and real) or (b.parent is not None and fake))
    cmd.output.extend(n + "\n" for n in names)


def cmd_br_exists(ctx: Context, cmd: Command) -> None:
    if cmd.args[0] not in ctx.cache().bridges:
        raise Fatal("", 2)


def cmd_br_to_vlan(ctx: Context, cmd: Command) -> None:
    br = ctx.cache().bridge(cmd.args[0])
    assert br is not None
    cmd.output.append(f"{br.vlan}\n")


def cmd_br_to_parent(ctx: Context, cmd: Command) -> None:
    br = ctx.cache().bridge(cmd.args[0])
    assert br is not None
    cmd.output.append(f"{br.real().name}\n")


def _external_ids_target(ctx: Context, br: VBridge) -> tuple[str, str, str]:
    """(table, row, key prefix) where a bridge's external ids live."""
    if br.parent is None:
        assert br.cfg is not None
        return "Bridge", br.cfg, ""
    assert br.port is not None
    return "Port", br.port, "fake-bridge-"


def cmd_br_set_external_id(ctx: Context, cmd: Command) -> None:
    br = ctx.cache().bridge(cmd.args[0])
    assert br is not None
    table, u, prefix = _external_ids_target(ctx, br)
    d = dict(ctx.db.rows[table][u]["external_ids"].as_dict())
    key = prefix + cmd.args[1]
    if len(cmd.args) > 2:
        d[key] = cmd.args[2]
    else:
        d.pop(key, None)
    ctx.db.set(table, u, "external_ids", Datum.from_dict(d))


def cmd_br_get_external_id(ctx: Context, cmd: Command) -> None:
    br = ctx.cache().bridge(cmd.args[0])
    assert br is not None
    table, u, prefix = _external_ids_target(ctx, br)
    d = ctx.db.rows[table][u]["external_ids"].as_dict()
    if len(cmd.args) > 1:
        v = d.get(prefix + cmd.args[1])
        if v is not None:
            cmd.output.append(v + "\n")
    else:
        for k in sorted(d):
            if k.startswith(prefix):
                cmd.output.append(f"{k[len(prefix):]}={d[k]}\n")


def cmd_list_ports(ctx: Context, cmd: Command) -> None:
    cache = ctx.cache()
    br = cache.bridge(cmd.args[0])
    assert br is not None
    cmd.output.extend(n + "\n" for n in sorted(br.ports) if n != br.name)


def cmd_list_ifaces(ctx: Context, cmd: Command) -> None:
    cache = ctx.cache()
    br = cache.bridge(cmd.args[0])
    assert br is not None
    names = [i for p in br.ports for i in cache.ports[p].ifaces]
    cmd.output.extend(n + "\n" for n in sorted(names) if n != br.name)


def _add_port(ctx: Context, cmd: Command, br_name: str, port_name: str, ifaces: list[str],
              settings: list[str], fake_iface: bool) -> None:
    cache = ctx.cache()
    if _opt(cmd, "--may-exist"):
        vp = cache.ports.get(port_name)
        if vp is not None:
            want = cache.bridge(br_name)
            assert want is not None
            if vp.bridge is not want and not (vp.bridge.parent is want):
                fatal(f'"--may-exist add-port {br_name} {port_name}" but {port_name} is actually attached to '
                      f"bridge {vp.bridge.name}")
            if sorted(vp.ifaces) != sorted(ifaces):
                cmdline = " ".join(["--may-exist", cmd.name, br_name, port_name]
                                   + (ifaces if cmd.name == "add-bond" else []))
                fatal(f'"{cmdline}" but {port_name} actually has interface(s) {", ".join(sorted(vp.ifaces))}')
            return
    _check_conflicts(ctx, cache, port_name, f"cannot create a port named {port_name}")
    for i in ifaces:
        _check_conflicts(ctx, cache, i, f"cannot create an interface named {i}")
    br = cache.bridge(br_name)
    assert br is not None
    ius = [_new_iface(ctx, i) for i in ifaces]
    pu = _new_port(ctx, port_name, ius)
    if fake_iface:
        ctx.db.set("Port", pu, "bond_fake_iface", Datum.atom(True))
    if br.parent is not None:
        ctx.db.set("Port", pu, "tag", Datum.atom(br.vlan))
    ts = ctx.schema.tables["Port"]
    for s in settings:
        ctx.set_column(ts, pu, s)
    real = br.real()
    assert real.cfg is not None
    _add_ref(ctx, "Bridge", real.cfg, "ports", pu)


def cmd_add_port(ctx: Context, cmd: Command) -> None:
    _add_port(ctx, cmd, cmd.args[0], cmd.args[1], [cmd.args[1]], cmd.args[2:], False)


def cmd_add_bond(ctx: Context, cmd: Command) -> None:
    ifaces: list[str] = []
    rest = cmd.args[2:]
    while rest and "=" not in rest[0]:
        ifaces.append(rest.pop(0))
    if len(ifaces) < 2:
        fatal(f"add-bond requires at least 2 interfaces, but only {len(ifaces)} were specified")
    _add_port(ctx, cmd, cmd.args[0], cmd.args[1], ifaces, rest, _opt(cmd, "--fake-iface"))


def cmd_del_port(ctx: Context, cmd: Command) -> None:
    cache = ctx.cache()
    target = cmd.args[-1]
    if_exists = _opt(cmd, "--if-exists")
    if _opt(cmd, "--with-iface"):
        vp = cache.ports.get(target)
        if vp is None and target in cache.ifaces:
            vp = cache.ifaces[target].port
        if vp is None:
            if if_exists:
                return
            fatal(f"no port or interface named {target}")
    else:
        vp = cache.port(target, not if_exists)
        if vp is None:
            return
    if len(cmd.args) == 2:
        br = cache.bridge(cmd.args[0])
        assert br is not None
        if vp.bridge is not br:
            if vp.bridge.parent is br:
                fatal(f"bridge {cmd.args[0]} does not have a port {target} (although its child bridge "
                      f"{vp.bridge.name} does)")
            fatal(f"bridge {cmd.args[0]} does not have a port {target}")
    if vp.name in cache.bridges and (cache.bridges[vp.name].port == vp.uuid or vp.name == vp.bridge.name):
        fatal(f"cannot delete port {vp.name} because it is the local port for bridge {vp.name} (deleting "
              "this port requires deleting the entire bridge)")
    _delete_port(ctx, cache, vp)


def cmd_add_bond_iface(ctx: Context, cmd: Command) -> None:
    cache = ctx.cache()
    bond, iface = cmd.args
    vp = cache.port(bond)
    assert vp is not None
    if _opt(cmd, "--may-exist") and iface in cache.ifaces:
        owner = cache.ifaces[iface].port
        if owner is not vp:
            fatal(f'"--may-exist add-bond-iface {bond} {iface}" but {iface} is actually attached to port '
                  f"{owner.name}")
        return
    _check_conflicts(ctx, cache, iface, f"cannot create an interface named {iface}")
    _add_ref(ctx, "Port", vp.uuid, "interfaces", _new_iface(ctx, iface))


def cmd_del_bond_iface(ctx: Context, cmd: Command) -> None:
    cache = ctx.cache()
    vi = cache.iface(cmd.args[-1], not _opt(cmd, "--if-exists"))
    if vi is None:
        return
    if len(cmd.args) == 2:
        vp = cache.port(cmd.args[0])
        assert vp is not None
        if vi.port is not vp:
            fatal(f"port {vp.name} does not have an interface {vi.name}")
    if len(vi.port.ifaces) == 1:
        fatal(f"cannot delete last interface from port {vi.port.name}")
    _remove_ref(ctx, "Port", vi.port.uuid, "interfaces", vi.uuid)
    ctx.db.delete("Interface", vi.uuid)


def cmd_port_to_br(ctx: Context, cmd: Command) -> None:
    vp = ctx.cache().port(cmd.args[0])
    assert vp is not None
    cmd.output.append(vp.bridge.name + "\n")


def cmd_iface_to_br(ctx: Context, cmd: Command) -> None:
    vi = ctx.cache().iface(cmd.args[0])
    assert vi is not None
    cmd.output.append(vi.port.bridge.name + "\n")


# ---- controllers, fail mode, managers ----

def _real_bridge_cfg(ctx: Context, name: str, must_be_real: bool = False) -> str:
    """The Bridge row of bridge ``name`` (a fake bridge's parent's, or an error if ``must_be_real``)."""
    br = ctx.cache().bridge(name)
    assert br is not None
    if must_be_real and br.parent is not None:
        fatal(f"{name} is a fake bridge")
    cfg = br.real().cfg
    assert cfg is not None
    return cfg


def cmd_get_controller(ctx: Context, cmd: Command) -> None:
    bu = _real_bridge_cfg(ctx, cmd.args[0])
    targets = sorted(ctx.db.value("Controller", c, "target") for c in ctx.db.value("Bridge", bu, "controller")
                     if ctx.db.get("Controller", c) is not None)
    cmd.output.extend(t + "\n" for t in targets)


def _clear_refs(ctx: Context, table: str, u: str, column: str, target: str) -> None:
    for c in ctx.db.rows[table][u][column].keys:
        ctx.db.delete(target, c)
    ctx.db.set(table, u, column, Datum.from_set([]))


def cmd_del_controller(ctx: Context, cmd: Command) -> None:
    _clear_refs(ctx, "Bridge", _real_bridge_cfg(ctx, cmd.args[0], True), "controller", "Controller")


def cmd_set_controller(ctx: Context, cmd: Command) -> None:
    bu = _real_bridge_cfg(ctx, cmd.args[0], True)
    _clear_refs(ctx, "Bridge", bu, "controller", "Controller")
    new = []
    for target in cmd.args[1:]:
        cu = ctx.db.insert("Controller")
        ctx.db.set("Controller", cu, "target", Datum.atom(target))
        new.append(cu)
    ctx.db.set("Bridge", bu, "controller", Datum.from_set(new))


def cmd_get_fail_mode(ctx: Context, cmd: Command) -> None:
    mode = ctx.db.value("Bridge", _real_bridge_cfg(ctx, cmd.args[0]), "fail_mode")
    if mode:
        cmd.output.append(mode + "\n")


def cmd_del_fail_mode(ctx: Context, cmd: Command) -> None:
    ctx.db.set("Bridge", _real_bridge_cfg(ctx, cmd.args[0], True), "fail_mode", Datum.from_set([]))


def cmd_set_fail_mode(ctx: Context, cmd: Command) -> None:
    bu = _real_bridge_cfg(ctx, cmd.args[0], True)
    if cmd.args[1] not in ("standalone", "secure"):
        fatal('fail-mode must be "standalone" or "secure"')
    ctx.db.set("Bridge", bu, "fail_mode", Datum.atom(cmd.args[1]))


def cmd_get_manager(ctx: Context, cmd: Command) -> None:
    targets = sorted(ctx.db.value("Manager", m, "target")
                     for m in ctx.db.value("Open_vSwitch", ctx.ovs, "manager_options")
                     if ctx.db.get("Manager", m) is not None)
    cmd.output.extend(t + "\n" for t in targets)


def cmd_del_manager(ctx: Context, cmd: Command) -> None:
    _clear_refs(ctx, "Open_vSwitch", ctx.ovs, "manager_options", "Manager")


def cmd_set_manager(ctx: Context, cmd: Command) -> None:
    _clear_refs(ctx, "Open_vSwitch", ctx.ovs, "manager_options", "Manager")
    new = []
    for target in cmd.args:
        mu = ctx.db.insert("Manager")
        ctx.db.set("Manager", mu, "target", Datum.atom(target))
        new.append(mu)
    ctx.db.set("Open_vSwitch", ctx.ovs, "manager_options", Datum.from_set(new))


def cmd_get_ssl(ctx: Context, cmd: Command) -> None:
    for su in ctx.db.rows["Open_vSwitch"][ctx.ovs]["ssl"].keys:
        row = ctx.db.get("SSL", su)
        if row is None:
            continue
        v = {c: ctx.db.value("SSL", su, c) for c in ("private_key", "certificate", "ca_cert", "bootstrap_ca_cert")}
        cmd.output.append(f"Private key: {v['private_key']}\nCertificate: {v['certificate']}\n"
                          f"CA Certificate: {v['ca_cert']}\n"
                          f"Bootstrap: {'true' if v['bootstrap_ca_cert'] else 'false'}\n")


def cmd_del_ssl(ctx: Context, cmd: Command) -> None:
    _clear_refs(ctx, "Open_vSwitch", ctx.ovs, "ssl", "SSL")


def cmd_set_ssl(ctx: Context, cmd: Command) -> None:
    _clear_refs(ctx, "Open_vSwitch", ctx.ovs, "ssl", "SSL")
    su = ctx.db.insert("SSL")
    for col, value in zip(("private_key", "certificate", "ca_cert"), cmd.args):
        ctx.db.set("SSL", su, col, Datum.atom(value))
    ctx.db.set("SSL", su, "bootstrap_ca_cert", Datum.atom(_opt(cmd, "--bootstrap")))
    ctx.db.set("Open_vSwitch", ctx.ovs, "ssl", Datum.atom(su))


def cmd_emer_reset(ctx: Context, cmd: Command) -> None:
    """Clear the configuration that could keep a switch from working (ovs-vsctl(8) emer-reset)."""
    db = ctx.db
    empty = Datum.from_set([])
    db.set("Open_vSwitch", ctx.ovs, "manager_options", empty)
    db.set("Open_vSwitch", ctx.ovs, "ssl", empty)
    for bu in list(db.rows["Bridge"]):
        for col in ("controller", "fail_mode", "mirrors", "netflow", "sflow", "ipfix", "flood_vlans"):
            db.set("Bridge", bu, col, empty)
        oc = db.rows["Bridge"][bu]["other_config"].as_dict()
        keep = {k: v for k, v in oc.items() if k == "hwaddr"}
        db.set("Bridge", bu, "other_config", Datum.from_dict(keep))
    for pu in list(db.rows["Port"]):
        db.set("Port", pu, "other_config", Datum.from_dict({}))
    for iu in list(db.rows["Interface"]):
        db.set("Interface", iu, "ingress_policing_rate", Datum.atom(0))
        db.set("Interface", iu, "ingress_policing_burst", Datum.atom(0))
    for t in ("Controller", "Manager", "Mirror", "NetFlow", "sFlow", "IPFIX", "SSL"):
        for u in list(db.rows[t]):
            db.delete(t, u)


# ---- show ----

# For each table shown: the column naming a record, and the columns shown under it (references are nested).
SHOW: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "Open_vSwitch": (None, ("manager_options", "bridges", "ovs_version")),
    "Bridge": ("name", ("controller", "fail_mode", "datapath_type", "ports")),
    "Port": ("name", ("tag", "trunks", "interfaces")),
    "Interface": ("name", ("type", "options", "error")),
    "Controller": ("target", ("is_connected",)),
    "Manager": ("target", ("is_connected",)),
}


def cmd_show(ctx: Context, cmd: Command) -> None:
    for u in ctx.db.rows["Open_vSwitch"]:
        _show_row(ctx, cmd, "Open_vSwitch", u, 0)


def _show_row(ctx: Context, cmd: Command, table: str, u: str, level: int) -> None:
    ts = ctx.schema.tables[table]
    name_col, cols = SHOW[table]
    row = ctx.db.rows[table][u]
    indent = "    " * level
    if name_col is None:
        cmd.output.append(f"{indent}{u}\n")
    else:
        cmd.output.append(f"{indent}{table} {datum_to_string(ts.columns[name_col].type, row[name_col])}\n")
    for c in cols:
        ct = ts.columns[c].type
        d = row[c]
        if ct.key.ref_table is not None and ct.key.ref_table in SHOW and ct.value is None:
            for ref in d.keys:
                if ref in ctx.db.rows[ct.key.ref_table]:
                    _show_row(ctx, cmd, ct.key.ref_table, ref, level + 1)
            continue
        if d == ts.defaults[c]:
            continue
        cmd.output.append(f"{indent}    {c}: {datum_to_string(ct, d)}\n")


# ---- database commands ----

def _list_columns(ctx: Context, ts: TableSchema, cmd: Command) -> list[tuple[str, Type]]:
    spec = cmd.options.get("--columns")
    if spec:
        return [lookup_column(ts, c) for c in spec.split(",")]
    return [("_uuid", UUID_TYPE)] + [(c, ts.columns[c].type) for c in sorted(ts.columns)]


def _add_table_rows(ctx: Context, cmd: Command, ts: TableSchema, uuids: list[str]) -> None:
    cols = _list_columns(ctx, ts, cmd)
    if cmd.table is None:
        cmd.table = Table([c for c, _ in cols])
    for u in uuids:
        cmd.table.rows.append([(t, ctx.column_value(ts, u, c)) for c, t in cols])


def cmd_list(ctx: Context, cmd: Command) -> None:
    ts = lookup_table(ctx.schema, cmd.args[0])
    _list_columns(ctx, ts, cmd)
    if len(cmd.args) > 1:
        uuids = []
        for name in cmd.args[1:]:
            u = ctx.find_record(ts, name, not _opt(cmd, "--if-exists"))
            if u is not None:
                uuids.append(u)
    else:
        uuids = sorted(ctx.db.rows[ts.name])
    _add_table_rows(ctx, cmd, ts, uuids)


FIND_OPS = ("=", "!=", "<", ">", "<=", ">=", "{=}", "{!=}", "{<}", "{>}", "{<=}", "{>=}", "{in}", "{not-in}")


def _compare(a: Datum, b: Datum) -> int:
    if len(a) != len(b):
        return -1 if len(a) < len(b) else 1
    for x, y in zip(a.keys, b.keys):
        if x != y:
            return -1 if x < y else 1
    if a.values is not None and b.values is not None:
        for x, y in zip(a.values, b.values):
            if x != y:
                return -1 if x < y else 1
    return 0


def _pairs(d: Datum) -> set[Any]:
    return set(zip(d.keys, d.values)) if d.values is not None else set(d.keys)


def _condition(ctx: Context, ts: TableSchema, u: str, arg: str) -> bool:
    cname, ctype, key_text, op, value = parse_column_key(ts, arg, FIND_OPS)
    assert op is not None and value is not None
    have = ctx.column_value(ts, u, cname)
    if key_text is not None:
        if ctype.value is None:
            fatal(f"cannot specify key to check for non-map column {cname}")
        key = ctx.parse_atom(ctype.key, key_text)
        vtype = Type(ctype.value, None, 0, 1)
        want = ctx.parse_datum(vtype, value)
        m = have.as_dict()
        if key in m:
            have = Datum.atom(m[key])
        elif op.startswith("{"):
            have = Datum.from_set([])
        else:
            return False
    else:
        want = ctx.parse_datum(ctype.relaxed(0, ctype.n_max), value)
    if op == "=":
        return _compare(have, want) == 0
    if op == "!=":
        return _compare(have, want) != 0
    if op == "<":
        return _compare(have, want) < 0
    if op == ">":
        return _compare(have, want) > 0
    if op == "<=":
        return _compare(have, want) <= 0
    if op == ">=":
        return _compare(have, want) >= 0
    hp, wp = _pairs(have), _pairs(want)
    return {"{=}": hp == wp, "{!=}": hp != wp, "{<}": hp < wp, "{>}": hp > wp, "{<=}": hp <= wp,
            "{>=}": hp >= wp, "{in}": hp <= wp, "{not-in}": not (hp & wp)}[op]


def cmd_find(ctx: Context, cmd: Command) -> None:
    ts = lookup_table(ctx.schema, cmd.args[0])
    _list_columns(ctx, ts, cmd)
    uuids = [u for u in sorted(ctx.db.rows[ts.name]) if all(_condition(ctx, ts, u, a) for a in cmd.args[1:])]
    _add_table_rows(ctx, cmd, ts, uuids)


def cmd_get(ctx: Context, cmd: Command) -> None:
    if_exists = _opt(cmd, "--if-exists")
    id_ = cmd.options.get("--id")
    if if_exists and id_ is not None:
        fatal("--if-exists and --id may not be specified together")
    ts = lookup_table(ctx.schema, cmd.args[0])
    u = ctx.find_record(ts, cmd.args[1], not if_exists)
    if u is None:
        return
    if id_ is not None:
        _define_symbol(ctx, id_, u, "get")
    for arg in cmd.args[2:]:
        cname, ctype, key_text, _op, _v = parse_column_key(ts, arg, need_value=False)
        d = ctx.column_value(ts, u, cname)
        if key_text is not None:
            if ctype.value is None:
                fatal(f"cannot specify key to get for non-map column {cname}")
            key = ctx.parse_atom(ctype.key, key_text)
            m = d.as_dict()
            if key not in m:
                if if_exists:
                    cmd.output.append("\n")
                    continue
                fatal(f'no key "{key_text}" in {ts.name} record "{cmd.args[1]}" column {cname}')
            cmd.output.append(atom_to_string(ctype.value, m[key]) + "\n")  # type: ignore[arg-type]
        else:
            cmd.output.append(datum_to_string(ctype, d) + "\n")


def _define_symbol(ctx: Context, id_: str, u: str, what: str) -> None:
    if not id_.startswith("@") or len(id_) < 2:
        fatal(f'row id "{id_}" does not begin with "@"')
    if id_ in ctx.symbols_created:
        fatal(f'row id "{id_}" may only be specified on one --id option')
    ctx.symbols_created.add(id_)
    if id_ in ctx.symbols and what == "get":
        _rename_uuid(ctx, ctx.symbols[id_], u)
    ctx.symbols[id_] = u


def _rename_uuid(ctx: Context, old: str, new: str) -> None:
    """Replace references to a placeholder uuid (a symbol used before its ``get --id``) by the real one."""
    for t, rows in ctx.db.rows.items():
        ts = ctx.schema.tables[t]
        for r in rows.values():
            for c, d in list(r.items()):
                ct = ts.columns[c].type
                if ct.has_refs() or ct.key.type == UUID:
                    keys = tuple(new if k == old else k for k in d.keys)
                    values = d.values
                    if values is not None:
                        values = tuple(new if v == old else v for v in values)
                    if keys != d.keys or values != d.values:
                        r[c] = Datum.from_dict(dict(zip(keys, values))) if values is not None \
                            else Datum.from_set(keys)


def _modify_target(ctx: Context, cmd: Command) -> tuple[TableSchema, str | None]:
    ts = lookup_table(ctx.schema, cmd.args[0])
    return ts, ctx.find_record(ts, cmd.args[1], not _opt(cmd, "--if-exists"))


def cmd_set(ctx: Context, cmd: Command) -> None:
    ts, u = _modify_target(ctx, cmd)
    if u is None:
        return
    for arg in cmd.args[2:]:
        ctx.set_column(ts, u, arg)


def _count_error(op: str, n: int, t: Type, cname: str, table: str, limit: int, which: str) -> NoReturn:
    what = "pairs" if t.value is not None else "values"
    fatal(f'"{op}" operation would put {n} {what} in column {cname} of table {table} but the {which} number '
          f"is {limit}")


def cmd_add(ctx: Context, cmd: Command) -> None:
    ts, u = _modify_target(ctx, cmd)
    cname, ctype = lookup_column(ts, cmd.args[2])
    ctx.check_mutable(ts, cname)
    if u is None:
        return
    loose = ctype.relaxed(0, UNLIMITED)
    d = ctx.db.rows[ts.name][u][cname]
    for text in cmd.args[3:]:
        add = ctx.parse_datum(loose, text)
        if d.values is not None:
            m = dict(d.as_dict())
            m.update(add.as_dict())
            d = Datum.from_dict(m)
        else:
            d = Datum.from_set([*d.keys, *add.keys])
    if len(d) > ctype.n_max:
        _count_error("add", len(d), ctype, cname, ts.name, ctype.n_max, "maximum")
    ctx.db.set(ts.name, u, cname, d)


def cmd_remove(ctx: Context, cmd: Command) -> None:
    ts, u = _modify_target(ctx, cmd)
    cname, ctype = lookup_column(ts, cmd.args[2])
    ctx.check_mutable(ts, cname)
    if u is None:
        return
    loose = ctype.relaxed(0, UNLIMITED)
    d = ctx.db.rows[ts.name][u][cname]
    for text in cmd.args[3:]:
        if ctype.value is not None:
            try:
                rm = datum_from_string(loose, text, ctx.symbol)
                m = {k: v for k, v in d.as_dict().items() if rm.as_dict().get(k, object()) != v}
            except ValueError_:
                keys_t = Type(ctype.key, None, 1, UNLIMITED)
                rmk = ctx.parse_datum(keys_t, text)
                m = {k: v for k, v in d.as_dict().items() if k not in rmk.keys}
            d = Datum.from_dict(m)
        else:
            rm = ctx.parse_datum(loose, text)
            d = Datum.from_set([k for k in d.keys if k not in rm.keys])
    if len(d) < ctype.n_min:
        _count_error("remove", len(d), ctype, cname, ts.name, ctype.n_min, "minimum")
    ctx.db.set(ts.name, u, cname, d)


def cmd_clear(ctx: Context, cmd: Command) -> None:
    ts, u = _modify_target(ctx, cmd)
    for arg in cmd.args[2:]:
        cname, ctype = lookup_column(ts, arg)
        ctx.check_mutable(ts, cname)
        if ctype.n_min > 0:
            fatal(f'"clear" operation cannot be applied to column {cname} of table {ts.name}, which is not '
                  "allowed to be empty")
        if u is not None:
            ctx.db.set(ts.name, u, cname, Datum.default(ctype))


def cmd_create(ctx: Context, cmd: Command) -> None:
    ts = lookup_table(ctx.schema, cmd.args[0])
    id_ = cmd.options.get("--id")
    explicit = None
    if id_ is not None and not id_.startswith("@"):
        try:
            explicit = atom_from_string(BaseType(UUID), id_)
        except ValueError_:
            fatal(f'row id "{id_}" does not begin with "@"')
    if id_ is None and not ts.is_root:
        vlog.Vlog("db_ctl_base").warn(f'applying "create" command to table {ts.name} without --id option '
                                      "will have no effect")
    if id_ is not None and explicit is None:
        if id_ in ctx.symbols_created:
            fatal(f'row id "{id_}" may only be specified on one --id option')
        ctx.symbols_created.add(id_)
        u = ctx.db.insert(ts.name, None)
        if id_ in ctx.symbols:
            _rename_uuid(ctx, ctx.symbols[id_], u)
        ctx.symbols[id_] = u
    else:
        u = ctx.db.insert(ts.name, explicit)
    for arg in cmd.args[1:]:
        ctx.set_column(ts, u, arg, creating=True)
    cmd.created = u
    cmd.output.append(u + "\n")


def cmd_destroy(ctx: Context, cmd: Command) -> None:
    ts = lookup_table(ctx.schema, cmd.args[0])
    if _opt(cmd, "--all"):
        if len(cmd.args) > 1:
            fatal("--all and records argument should not be specified together")
        targets = list(ctx.db.rows[ts.name])
    else:
        if len(cmd.args) < 2:
            fatal("either --all or records argument should be specified")
        targets = []
        for name in cmd.args[1:]:
            u = ctx.find_record(ts, name, not _opt(cmd, "--if-exists"))
            if u is not None:
                targets.append(u)
    if not ts.is_root:
        # Rows of non-root tables go away when nothing refers to them; ovs-vsctl ignores destroy for them.
        return
    for u in targets:
        ctx.db.delete(ts.name, u)
        for t, rows in ctx.db.rows.items():
            tts = ctx.schema.tables[t]
            for r in rows.values():
                for c, d in list(r.items()):
                    ct = tts.columns[c].type
                    if ct.key.ref_table == ts.name and u in d.keys and ct.value is None:
                        r[c] = Datum.from_set([k for k in d.keys if k != u])


def cmd_wait_until(ctx: Context, cmd: Command) -> None:
    ts = lookup_table(ctx.schema, cmd.args[0])
    u = ctx.find_record(ts, cmd.args[1], False)
    if u is None:
        raise TryAgain()
    for arg in cmd.args[2:]:
        if not _condition(ctx, ts, u, arg):
            raise TryAgain()


def cmd_comment(ctx: Context, cmd: Command) -> None:
    pass


INF = UNLIMITED
COMMANDS: dict[str, CommandSpec] = {
    "init": CommandSpec(0, 0, (), cmd_init),
    "show": CommandSpec(0, 0, (), cmd_show, False),
    "emer-reset": CommandSpec(0, 0, (), cmd_emer_reset),
    "get-ssl": CommandSpec(0, 0, (), cmd_get_ssl, False),
    "del-ssl": CommandSpec(0, 0, (), cmd_del_ssl),
    "set-ssl": CommandSpec(3, 3, ("--bootstrap",), cmd_set_ssl),
    "add-br": CommandSpec(1, 3, ("--may-exist",), cmd_add_br),
    "del-br": CommandSpec(1, 1, ("--if-exists",), cmd_del_br),
    "list-br": CommandSpec(0, 0, ("--real", "--fake"), cmd_list_br, False),
    "br-exists": CommandSpec(1, 1, (), cmd_br_exists, False),
    "br-to-vlan": CommandSpec(1, 1, (), cmd_br_to_vlan, False),
    "br-to-parent": CommandSpec(1, 1, (), cmd_br_to_parent, False),
    "br-set-external-id": CommandSpec(2, 3, (), cmd_br_set_external_id),
    "br-get-external-id": CommandSpec(1, 2, (), cmd_br_get_external_id, False),
    "list-ports": CommandSpec(1, 1, (), cmd_list_ports, False),
    "add-port": CommandSpec(2, INF, ("--may-exist",), cmd_add_port),
    "add-bond": CommandSpec(4, INF, ("--may-exist", "--fake-iface"), cmd_add_bond),
    "del-port": CommandSpec(1, 2, ("--if-exists", "--with-iface"), cmd_del_port),
    "add-bond-iface": CommandSpec(2, 2, ("--may-exist",), cmd_add_bond_iface),
    "del-bond-iface": CommandSpec(1, 2, ("--if-exists",), cmd_del_bond_iface),
    "port-to-br": CommandSpec(1, 1, (), cmd_port_to_br, False),
    "list-ifaces": CommandSpec(1, 1, (), cmd_list_ifaces, False),
    "iface-to-br": CommandSpec(1, 1, (), cmd_iface_to_br, False),
    "get-controller": CommandSpec(1, 1, (), cmd_get_controller, False),
    "del-controller": CommandSpec(1, 1, (), cmd_del_controller),
    "set-controller": CommandSpec(1, INF, (), cmd_set_controller),
    "get-fail-mode": CommandSpec(1, 1, (), cmd_get_fail_mode, False),
    "del-fail-mode": CommandSpec(1, 1, (), cmd_del_fail_mode),
    "set-fail-mode": CommandSpec(2, 2, (), cmd_set_fail_mode),
    "get-manager": CommandSpec(0, 0, (), cmd_get_manager, False),
    "del-manager": CommandSpec(0, 0, (), cmd_del_manager),
    "set-manager": CommandSpec(1, INF, (), cmd_set_manager),
    "comment": CommandSpec(0, INF, ("--bare",), cmd_comment, False),
    "get": CommandSpec(2, INF, ("--if-exists", "--id="), cmd_get, False),
    "list": CommandSpec(1, INF, ("--if-exists", "--columns="), cmd_list, False),
    "find": CommandSpec(1, INF, ("--columns=",), cmd_find, False),
    "set": CommandSpec(3, INF, ("--if-exists",), cmd_set),
    "add": CommandSpec(4, INF, ("--if-exists",), cmd_add),
    "remove": CommandSpec(4, INF, ("--if-exists",), cmd_remove),
    "clear": CommandSpec(3, INF, ("--if-exists",), cmd_clear),
    "create": CommandSpec(2, INF, ("--id=",), cmd_create),
    "destroy": CommandSpec(1, INF, ("--if-exists", "--all"), cmd_destroy),
    "wait-until": CommandSpec(2, INF, (), cmd_wait_until, False),
}


# ----------------------------------------------------------------------------------------------------------
# Command line.

GLOBAL_VALUE_OPTIONS = {"--db", "--timeout", "--format", "--data", "-t", "-f", "-d"}
GLOBAL_FLAG_OPTIONS = {"--no-wait", "--dry-run", "--oneline", "--bare", "--no-headings", "--pretty",
                       "--retry", "--no-syslog", "--help", "-h", "--version", "-V", "--verbose", "-v", "--wait"}
COMMAND_OPTIONS = {"--may-exist", "--if-exists", "--id", "--all", "--with-iface", "--real", "--fake",
                   "--fake-iface", "--columns", "--bootstrap"}


@dataclass
class Options:
    db: str = ""
    wait: bool = True
    timeout: int = 0
    dry_run: bool = False
    oneline: bool = False
    retry: bool = False
    style: Style = field(default_factory=Style)


def _split_option(arg: str) -> tuple[str, str | None]:
    if arg.startswith("--") and "=" in arg:
        name, _, value = arg.partition("=")
        return name, value
    return arg, None


def parse_command_line(argv: list[str]) -> tuple[Options, list[Command]]:
    opts = Options()
    opts.db = "unix:" + os.path.join(os.environ.get("PYVS_RUNDIR", "/var/run/pyvswitch"), "db.sock")
    first_cmd_opts: dict[str, str | None] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        name, value = _split_option(arg)
        if name.startswith("-") and not name.startswith("--") and len(name) > 2:
            name, value = name[:2], name[2:]
        if name in GLOBAL_VALUE_OPTIONS:
            if value is None:
                if i + 1 >= len(argv):
                    fatal(f"option '{name}' requires an argument")
                i += 1
                value = argv[i]
            _apply_global(opts, name, value)
        elif name in GLOBAL_FLAG_OPTIONS or name.startswith(("--verbose", "-v")):
            if name in ("--help", "-h"):
                raise Fatal(_usage(), 0)
            if name in ("--version", "-V"):
                raise Fatal(f"{PROGRAM} (pyvswitch) {VERSION}", 0)
            _apply_global(opts, name, value)
        elif name in COMMAND_OPTIONS:
            first_cmd_opts[name] = value
        else:
            fatal(f"unrecognized option '{arg}'")
        i += 1
    rest = argv[i:]
    commands: list[Command] = []
    group: list[str] = []
    groups: list[list[str]] = []
    for arg in rest:
        if arg == "--":
            groups.append(group)
            group = []
        else:
            group.append(arg)
    groups.append(group)
    for n, g in enumerate(groups):
        options: dict[str, str | None] = dict(first_cmd_opts) if n == 0 else {}
        j = 0
        while j < len(g) and g[j].startswith("-"):
            name, value = _split_option(g[j])
            if name in options:
                fatal(f"'{name}' option specified multiple times")
            options[name] = value
            j += 1
        if j >= len(g):
            fatal("missing command name (use --help for help)")
        cname = g[j]
        spec = COMMANDS.get(cname)
        if spec is None:
            fatal(f"unknown command '{cname}'; use --help for help")
        for oname, ovalue in options.items():
            allowed = {o.rstrip("=") for o in spec.options}
            if oname not in allowed:
                fatal(f"'{cname}' command has no '{oname}' option")
            needs_value = oname + "=" in spec.options
            if needs_value and ovalue is None:
                fatal(f"missing argument to '{oname}' option on '{cname}' command")
            if not needs_value and ovalue is not None:
                fatal(f"'{oname}' option on '{cname}' does not accept an argument")
        args = g[j + 1:]
        if len(args) < spec.min_args:
            fatal(f"'{cname}' command requires at least {spec.min_args} arguments")
        if len(args) > spec.max_args:
            note = ""
            if any(a.startswith("-") for a in args):
                note = ' (note that options must precede command names and follow a "--" argument)'
            fatal(f"'{cname}' command takes at most {spec.max_args} arguments{note}")
        commands.append(Command(cname, args, options))
    if not commands:
        fatal("missing command name (use --help for help)")
    return opts, commands


def _apply_global(opts: Options, name: str, value: str | None) -> None:
    if name == "--db":
        opts.db = value or ""
    elif name in ("--timeout", "-t"):
        try:
            opts.timeout = int(value or "")
            if opts.timeout < 0:
                raise ValueError
        except ValueError:
            fatal(f"value {value} on -t or --timeout is invalid")
    elif name in ("--format", "-f"):
        if value not in ("list", "table", "csv", "json", "html"):
            fatal(f"unknown output format \"{value}\"")
        opts.style.format = value
    elif name in ("--data", "-d"):
        if value not in ("string", "bare", "json"):
            fatal(f"unknown data format \"{value}\"")
        opts.style.data = value
    elif name == "--no-wait":
        opts.wait = False
    elif name == "--wait":
        opts.wait = True
    elif name == "--dry-run":
        opts.dry_run = True
    elif name == "--oneline":
        opts.oneline = True
    elif name == "--bare":
        opts.style.format = "list"
        opts.style.data = "bare"
        opts.style.headings = False
    elif name == "--no-headings":
        opts.style.headings = False
    elif name == "--pretty":
        opts.style.pretty = True
    elif name == "--retry":
        opts.retry = True


def _usage() -> str:
    return (f"{PROGRAM}: configures the switch by updating its database\n"
            f"usage: {PROGRAM} [OPTIONS] COMMAND [ARG...] [-- [OPTIONS] COMMAND [ARG...]]...\n"
            "Commands and options are those of ovs-vsctl(8); see docs/vsctl.md.")


# ----------------------------------------------------------------------------------------------------------
# Running.

class Vsctl:
    def __init__(self, opts: Options, commands: list[Command], argv: list[str]) -> None:
        self.opts = opts
        self.commands = commands
        self.argv = argv

    def connect(self) -> Client:
        deadline = time.monotonic() + self.opts.timeout if self.opts.timeout else None
        while True:
            try:
                return Client(self.opts.db, timeout=self.opts.timeout or 3600)
            except (OSError, ValueError) as e:
                if isinstance(e, ValueError):
                    fatal(str(e))
                if not self.opts.retry or (deadline is not None and time.monotonic() > deadline):
                    reason = e.strerror or str(e)
                    fatal(f"{self.opts.db}: database connection failed ({reason})")
                time.sleep(0.2)

    def run(self) -> list[Command]:
        client = self.connect()
        try:
            schema = client.get_schema(DB_NAME)
            # Name the columns: without them, ovsdb-server also sends each row's "_version".
            replica = client.monitor(DB_NAME, {t: list(ts.columns) for t, ts in schema.tables.items()})
            while True:
                for c in self.commands:
                    c.output.clear()
                    c.table = None
                    c.created = None
                db = LocalDb(schema, replica)
                if not db.rows["Open_vSwitch"]:
                    ovs = db.insert("Open_vSwitch")
                else:
                    ovs = next(iter(db.rows["Open_vSwitch"]))
                ctx = Context(self, db, ovs)
                try:
                    for c in self.commands:
                        COMMANDS[c.name].run(ctx, c)
                except TryAgain:
                    client.run(None)          # wait-until: the replica follows the database; look again
                    continue
                missing = sorted(s for s in ctx.symbols if s not in ctx.symbols_created)
                if missing:
                    fatal(f'row id "{missing[0]}" is referenced but never created '
                          f'(e.g. with "-- --id={missing[0]} create ...")')
                if self._commit(client, db, ovs, replica):
                    return self.commands
                # A verification failed: the other client's update reached the replica before the reply did.
        finally:
            client.close()

    def _commit(self, client: Client, db: LocalDb, ovs: str, replica: Replica) -> bool:
        changed = db.has_changes()
        ops, index = db.ops()
        if not changed:
            return True
        ovs_new = ovs in db.inserted
        wait = self.opts.wait and not self.opts.dry_run
        txn: list[dict[str, Any]] = list(ops)
        cfg_index = -1
        if wait:
            where = [["_uuid", "==", ["named-uuid", "row" + ovs.replace("-", "")] if ovs_new
                      else ["uuid", ovs]]]
            txn.append({"op": "mutate", "table": "Open_vSwitch", "where": where,
                        "mutations": [["next_cfg", "+=", 1]]})
            cfg_index = len(txn)
            txn.append({"op": "select", "table": "Open_vSwitch", "where": where, "columns": ["next_cfg"]})
        txn.append({"op": "comment", "comment": f"{PROGRAM}: " + " ".join([PROGRAM, *self.argv])})
        if self.opts.dry_run:
            return True
        try:
            results = client.transact(DB_NAME, *txn, timeout=None)
        except ConnectionClosed as e:
            fatal(f"transaction error: {e}")
        for r in results:
            if isinstance(r, dict) and "error" in r:
                if r.get("error") == "timed out":
                    # A verification failed: the updates for the other client's change came before this reply,
                    # so the replica is already up to date for the retry.
                    return False
                message = "transaction error: " + json.dumps(r, sort_keys=True, separators=(",", ":"))
                vlog.Vlog("ovsdb_idl").warn(message)
                fatal(message)
        real = {u: results[i]["uuid"][1] for u, i in index.items()}
        for c in self.commands:
            if c.created is not None and c.created in real:
                c.output = [real[c.created] + "\n"]
        if wait:
            next_cfg = results[cfg_index]["rows"][0]["next_cfg"]
            real_ovs = real.get(ovs, ovs)

            def done() -> bool:
                row = replica.tables.get("Open_vSwitch", {}).get(real_ovs)
                if row is None:
                    return False
                return Datum.to_python(row["cur_cfg"], Type(BaseType(INTEGER))) >= next_cfg
            while not done():
                client.run(None)
        return True


def format_output(opts: Options, commands: list[Command]) -> str:
    out: list[str] = []
    for c in commands:
        text = "".join(c.output)
        if c.table is not None:
            # Tables are printed as they are, even with --oneline (as ovs-vsctl does).
            out.append(format_table(c.table, opts.style))
        elif opts.oneline:
            text = text.removesuffix("\n")
            out.append(text.replace("\\", "\\\\").replace("\n", "\\n") + "\n")
        else:
            out.append(text)
    return "".join(out)


def _on_alarm(signum: int, frame: object) -> None:
    """``--timeout`` expired: log as ovs-vsctl does, then die of SIGALRM (exit status 142 in a shell)."""
    vlog.Vlog("fatal_signal").warn(f"terminating with signal {signum} (Alarm clock)")
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGALRM)


def run(argv: list[str], stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> int:
    alarm_set = False
    try:
        opts, commands = parse_command_line(argv)
        if opts.timeout:
            signal.signal(signal.SIGALRM, _on_alarm)
            signal.alarm(opts.timeout)
            alarm_set = True
        done = Vsctl(opts, commands, argv).run()
        stdout.write(format_output(opts, done))
        stdout.flush()
        return 0
    except Fatal as e:
        if e.status == 0:
            stdout.write(str(e) + "\n")
            return 0
        if str(e):
            stderr.write(f"{PROGRAM}: {e}\n")
        return e.status
    except (ConnectionClosed, TimeoutError) as e:
        stderr.write(f"{PROGRAM}: {e}\n")
        return 1
    finally:
        if alarm_set:
            signal.alarm(0)


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
