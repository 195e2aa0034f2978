"""The ``_Server`` database that every ovsdb-server (2.9 and later) hosts, as documented in ovsdb-server(5).

It has one table, ``Database``, with one row per database the server serves (``_Server`` included): its name,
storage model, schema (as a JSON string), and for clustered databases some cluster state that is empty or fixed
here, since pyvswitch serves standalone databases.  Clients may read and monitor it but not change it.

Real ``ovs-vsctl`` starts by asking for this schema and monitoring ``Database``; it reads the schema of
``Open_vSwitch`` from the ``schema`` column rather than calling ``get_schema``.
"""

from __future__ import annotations

import json
from typing import Any

from .data import Datum
from .database import Commit, Database, Row, new_uuid
from .schema import DatabaseSchema

SERVER_DB_NAME = "_Server"

SERVER_SCHEMA_JSON: dict[str, Any] = {
    "name": SERVER_DB_NAME,
    "version": "1.2.0",
    "tables": {
        "Database": {
            "columns": {
                "name": {"type": "string"},
                "model": {"type": {"key": {"type": "string",
                                           "enum": ["set", ["clustered", "relay", "standalone"]]}}},
                "connected": {"type": "boolean"},
                "leader": {"type": "boolean"},
                "schema": {"type": {"key": "string", "min": 0}},
                "cid": {"type": {"key": "uuid", "min": 0}},
                "sid": {"type": {"key": "uuid", "min": 0}},
                "index": {"type": {"key": "integer", "min": 0}},
            },
            "isRoot": True,
        },
    },
}


def make_server_database() -> Database:
    db = Database(DatabaseSchema.from_json(SERVER_SCHEMA_JSON, allow_reserved=True))
    db.read_only = True
    return db


def database_row_commit(server_db: Database, schema: DatabaseSchema, present: bool) -> Commit:
    """The commit that adds (``present``) or removes the ``Database`` row describing ``schema``."""
    table = server_db.tables["Database"]
    old = next((r for r in table.rows.values() if r.data["name"].keys[0] == schema.name), None)
    changes: dict[str, dict[str, tuple[Row | None, Row | None]]] = {"Database": {}}
    if old is not None:
        changes["Database"][old.uuid] = (old, None)
    if present:
        data = dict(table.schema.defaults)
        data["name"] = Datum.atom(schema.name)
        data["model"] = Datum.atom("standalone")
        data["connected"] = Datum.atom(True)
        data["leader"] = Datum.atom(True)
        data["schema"] = Datum.atom(json.dumps(schema.to_json(), separators=(",", ":")))
        u = new_uuid()
        changes["Database"][u] = (None, Row(u, new_uuid(), data))
    return Commit(new_uuid(), changes)
