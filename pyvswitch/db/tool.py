"""``pyvs-ovsdb-tool``: work with database and schema files offline, like ovsdb-tool(1).

    pyvs-ovsdb-tool create DB [SCHEMA]        create DB holding SCHEMA (default: the packaged vswitch schema)
    pyvs-ovsdb-tool compact DB [DST]          compact DB in place (or into DST)
    pyvs-ovsdb-tool [-m] show-log DB          print DB's records
    pyvs-ovsdb-tool query DB TRANSACTION      run a read-only transaction ([DB-NAME, OP...]) on DB
    pyvs-ovsdb-tool transact DB TRANSACTION   run a transaction on DB and commit it to the file
    pyvs-ovsdb-tool db-name|db-version|db-cksum DB
    pyvs-ovsdb-tool schema-name|schema-version|schema-cksum [SCHEMA]

Exit status 0 on success, 1 on failure, as ovsdb-tool.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from ..schemas import schema_path
from .error import OvsdbError
from .schema import DatabaseSchema
from .storage import FileStorage, StorageError, iter_log, json_loads
from .transaction import execute

PROGRAM = "pyvs-ovsdb-tool"


def _fail(msg: str) -> int:
    print(f"{PROGRAM}: {msg}", file=sys.stderr)
    return 1


def _load_schema_json(path: str) -> Any:
    with open(path, encoding="utf-8") as f:
        return json_loads(f.read())


def _db_schema_json(path: str) -> Any:
    for _, rec in iter_log(path):
        return rec
    raise StorageError(f"{path}: not an OVSDB database file")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=PROGRAM, description="OVSDB database file utility.")
    p.add_argument("-m", "--more", action="count", default=0)
    p.add_argument("command")
    p.add_argument("args", nargs="*")
    a = p.parse_args(argv)
    try:
        return _run(a.command, a.args, a.more)
    except (StorageError, OvsdbError, OSError, ValueError) as e:
        if isinstance(e, OSError) and e.strerror:
            return _fail(f"{e.filename}: {e.strerror}" if e.filename else e.strerror)
        return _fail(str(e))


def _run(cmd: str, args: list[str], more: int) -> int:
    if cmd == "create":
        if not 1 <= len(args) <= 2:
            return _fail("create requires DB [SCHEMA]")
        FileStorage.create(args[0], _load_schema_json(args[1] if len(args) > 1 else schema_path()))
        return 0
    if cmd in ("schema-name", "schema-version", "schema-cksum"):
        sj = _load_schema_json(args[0] if args else schema_path())
        DatabaseSchema.from_json(sj)
        print(sj.get({"schema-name": "name", "schema-version": "version", "schema-cksum": "cksum"}[cmd], ""))
        return 0
    if not args:
        return _fail(f"{cmd} requires a database file")
    db_path = args[0]
    if cmd in ("db-name", "db-version", "db-cksum"):
        sj = _db_schema_json(db_path)
        print(sj.get({"db-name": "name", "db-version": "version", "db-cksum": "cksum"}[cmd], ""))
        return 0
    if cmd == "show-log":
        _show_log(db_path, more)
        return 0
    if cmd == "compact":
        db, storage = FileStorage.open(db_path)
        assert storage is not None
        try:
            if len(args) > 1:
                FileStorage.create(args[1], db.schema.to_json())
                _, dst = FileStorage.open(args[1])
                assert dst is not None
                try:
                    dst.compact(db)
                finally:
                    dst.close()
            else:
                storage.compact(db)
        finally:
            storage.close()
        return 0
    if cmd in ("query", "transact"):
        if len(args) != 2:
            return _fail(f"{cmd} requires DB TRANSACTION")
        trns = json_loads(args[1])
        if not isinstance(trns, list) or not trns or not isinstance(trns[0], str):
            return _fail("transaction must be a JSON array beginning with the database name")
        read_only = cmd == "query"
        db, storage = FileStorage.open(db_path, read_only=read_only)
        try:
            if trns[0] != db.name:
                return _fail(f"{trns[0]}: unknown database (file holds {db.name})")
            # "query" runs the transaction like "transact" but never writes it, as ovsdb-tool does.
            res = execute(db, trns[1:])
            results = res.results if res.blocked_until is None else [{"error": "timed out"}]
            if not read_only and res.commit is not None and not res.commit.is_empty() and storage is not None:
                try:
                    storage.write_commit(db, res.commit)
                except OvsdbError as e:
                    results.append(e.to_json())
            print(json.dumps(results, separators=(",", ":"), ensure_ascii=False))
        finally:
            if storage is not None:
                storage.close()
        return 0
    return _fail(f"unknown command '{cmd}'; use --help for help")


def _show_log(path: str, more: int) -> None:
    for i, (_, rec) in enumerate(iter_log(path)):
        if i == 0:
            print(f'record 0: "{rec.get("name")}" schema, version="{rec.get("version", "")}", '
                  f'cksum="{rec.get("cksum", "")}"')
            continue
        line = f"record {i}:"
        date = rec.get("_date")
        if isinstance(date, int):
            secs = date / 1000 if date >= 2**32 else date
            line += " " + time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(secs))
            if date >= 2**32:
                line += f".{date % 1000:03d}"
        if isinstance(rec.get("_comment"), str):
            line += f' "{rec["_comment"]}"'
        print(line)
        if more:
            for tname, rows in rec.items():
                if tname.startswith("_") or not isinstance(rows, dict):
                    continue
                for u, row in rows.items():
                    if row is None:
                        print(f"  table {tname} row {u[:8]}: delete")
                    else:
                        print(f"  table {tname} row {u[:8]}: {json.dumps(row, separators=(',', ':'))}")


if __name__ == "__main__":
    sys.exit(main())
