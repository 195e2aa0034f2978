"""OVSDB schemas (RFC 7047 section 3.2): databases, tables and columns.

A :class:`DatabaseSchema` is parsed from the JSON of a ``.ovsschema`` file (or of the first record of a database
file) and validated: identifiers, types, references to existing tables, index columns.  Two rules of ovsdb-server
are applied here once, so that the rest of the code need not know them:

* if no table sets ``isRoot``, every table is a root table (RFC 7047: schemas older than ``isRoot``);
* columns holding weak references are always mutable (ovsdb-server(7) 3.2), since deleting the referenced row
  must be able to change them.

Every table also has the two implicit columns ``_uuid`` and ``_version`` (immutable uuids), which conditions and
``select`` may name but which are not stored with the other columns.
"""

from __future__ import annotations

import json as jsonlib
import re
from typing import Any

from .data import Datum
from .error import syntax_error
from .types import UUID, BaseType, Type, is_id

_VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")


class ColumnSchema:
    __slots__ = ("ephemeral", "index", "mutable", "name", "type")

    def __init__(self, name: str, type: Type, ephemeral: bool = False, mutable: bool = True) -> None:
        self.name = name
        self.type = type
        self.ephemeral = ephemeral
        self.mutable = mutable
        self.index = -1  # Position among the table's stored columns, set by TableSchema.

    @classmethod
    def from_json(cls, name: str, json: Any) -> ColumnSchema:
        if not isinstance(json, dict):
            raise syntax_error(json, f"column {name} must be an object")
        for k in json:
            if k not in ("type", "ephemeral", "mutable"):
                raise syntax_error(json, f"Member '{k}' is present but not allowed here.")
        if "type" not in json:
            raise syntax_error(json, "Required 'type' member is missing.")
        ephemeral = json.get("ephemeral", False)
        mutable = json.get("mutable", True)
        if not isinstance(ephemeral, bool) or not isinstance(mutable, bool):
            raise syntax_error(json, "ephemeral and mutable must be booleans")
        col = cls(name, Type.from_json(json["type"]), ephemeral, mutable)
        if col.type.has_weak_refs():
            col.mutable = True
        return col

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"type": self.type.to_json()}
        if self.ephemeral:
            obj["ephemeral"] = True
        if not self.mutable:
            obj["mutable"] = False
        return obj

    def __repr__(self) -> str:
        return f"ColumnSchema({self.name!r}, {self.type!r})"


UUID_COLUMN = ColumnSchema("_uuid", Type(BaseType(UUID)), mutable=False)
VERSION_COLUMN = ColumnSchema("_version", Type(BaseType(UUID)), mutable=False)


class TableSchema:
    __slots__ = (
        "_is_root_given",
        "column_list",
        "columns",
        "defaults",
        "indexes",
        "is_root",
        "max_rows",
        "name",
        "persistent_columns",
        "ref_columns",
        "strong_ref_columns",
        "weak_ref_columns",
    )

    def __init__(self, name: str, columns: dict[str, ColumnSchema], max_rows: int | None = None,
                 is_root: bool = False, indexes: list[tuple[str, ...]] | None = None) -> None:
        self.name = name
        self.columns = columns
        self.max_rows = max_rows
        self.is_root = is_root
        self._is_root_given = is_root
        self.indexes = indexes or []
        self.column_list = list(columns.values())
        for i, c in enumerate(self.column_list):
            c.index = i
        self.ref_columns = [c for c in self.column_list if c.type.has_refs()]
        self.strong_ref_columns = [c for c in self.column_list if c.type.has_strong_refs()]
        self.weak_ref_columns = [c for c in self.column_list if c.type.has_weak_refs()]
        self.persistent_columns = [c for c in self.column_list if not c.ephemeral]
        self.defaults: dict[str, Datum] = {c.name: Datum.default(c.type) for c in self.column_list}

    @classmethod
    def from_json(cls, name: str, json: Any) -> TableSchema:
        if not isinstance(json, dict):
            raise syntax_error(json, f"table {name} must be an object")
        for k in json:
            if k not in ("columns", "maxRows", "isRoot", "indexes"):
                raise syntax_error(json, f"Member '{k}' is present but not allowed here.")
        cols_j = json.get("columns")
        if not isinstance(cols_j, dict) or not cols_j:
            raise syntax_error(json, f"table {name} must have a nonempty 'columns' object")
        columns: dict[str, ColumnSchema] = {}
        for cname, cj in cols_j.items():
            if not is_id(cname) or cname.startswith("_"):
                raise syntax_error(cname, f"{cname} is not a valid name for a column")
            columns[cname] = ColumnSchema.from_json(cname, cj)
        max_rows = json.get("maxRows")
        if max_rows is not None and (not isinstance(max_rows, int) or isinstance(max_rows, bool) or max_rows < 1):
            raise syntax_error(json, "maxRows must be at least 1")
        is_root = json.get("isRoot", False)
        if not isinstance(is_root, bool):
            raise syntax_error(json, "isRoot must be a boolean")
        indexes: list[tuple[str, ...]] = []
        for idx in json.get("indexes", []):
            if not isinstance(idx, list) or not idx:
                raise syntax_error(idx, "index must be a nonempty array of column names")
            for c in idx:
                if c not in columns:
                    raise syntax_error(idx, f"table {name} has no column named {c}")
                if columns[c].ephemeral:
                    raise syntax_error(idx, f"ephemeral columns (such as {c}) may not be indexed")
            if len(set(idx)) != len(idx):
                raise syntax_error(idx, "index names a column twice")
            indexes.append(tuple(idx))
        return cls(name, columns, max_rows, is_root, indexes)

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"columns": {n: c.to_json() for n, c in self.columns.items()}}
        if self.max_rows is not None:
            obj["maxRows"] = self.max_rows
        if self._is_root_given:
            obj["isRoot"] = True
        if self.indexes:
            obj["indexes"] = [list(i) for i in self.indexes]
        return obj

    def get_column(self, name: str) -> ColumnSchema | None:
        """A column by name, including the implicit ``_uuid`` and ``_version``."""
        c = self.columns.get(name)
        if c is not None:
            return c
        if name == "_uuid":
            return UUID_COLUMN
        if name == "_version":
            return VERSION_COLUMN
        return None

    def __repr__(self) -> str:
        return f"TableSchema({self.name!r})"


class DatabaseSchema:
    def __init__(self, name: str, version: str | None, tables: dict[str, TableSchema],
                 cksum: str | None = None) -> None:
        self.name = name
        self.version = version
        self.tables = tables
        self.cksum = cksum
        if not any(t.is_root for t in tables.values()):
            for t in tables.values():
                t.is_root = True

    @classmethod
    def from_json(cls, json: Any, allow_reserved: bool = False) -> DatabaseSchema:
        if not isinstance(json, dict):
            raise syntax_error(json, "schema must be a JSON object")
        for k in json:
            if k not in ("name", "version", "cksum", "tables", "doc"):
                raise syntax_error(json, f"Member '{k}' is present but not allowed here.")
        name = json.get("name")
        if not isinstance(name, str) or not is_id(name) or (name.startswith("_") and not allow_reserved):
            raise syntax_error(name, "schema name must be an <id> not beginning with _")
        version = json.get("version")
        if version is not None and (not isinstance(version, str) or not _VERSION_RE.match(version)):
            raise syntax_error(version, "schema version must be x.y.z")
        cksum = json.get("cksum")
        if cksum is not None and not isinstance(cksum, str):
            raise syntax_error(cksum, "cksum must be a string")
        tables_j = json.get("tables")
        if not isinstance(tables_j, dict):
            raise syntax_error(json, "Required 'tables' member is missing.")
        tables: dict[str, TableSchema] = {}
        for tname, tj in tables_j.items():
            if not is_id(tname) or tname.startswith("_"):
                raise syntax_error(tname, f"{tname} is not a valid name for a table")
            tables[tname] = TableSchema.from_json(tname, tj)
        for t in tables.values():
            for c in t.ref_columns:
                for base in (c.type.key, c.type.value):
                    if base is not None and base.ref_table is not None and base.ref_table not in tables:
                        raise syntax_error(c.to_json(), f"column {t.name}.{c.name} refers to undefined table "
                                                        f"{base.ref_table}")
        return cls(name, version, tables, cksum)

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"name": self.name}
        if self.version is not None:
            obj["version"] = self.version
        if self.cksum is not None:
            obj["cksum"] = self.cksum
        obj["tables"] = {n: t.to_json() for n, t in self.tables.items()}
        return obj

    @classmethod
    def from_file(cls, path: str) -> DatabaseSchema:
        with open(path, encoding="utf-8") as f:
            return cls.from_json(jsonlib.load(f))

    def __repr__(self) -> str:
        return f"DatabaseSchema({self.name!r}, {self.version!r})"


# ---- the schema checksum ----

def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        c = i << 24
        for _ in range(8):
            c = ((c << 1) ^ 0x04C11DB7) if c & 0x80000000 else (c << 1)
        table.append(c & 0xFFFFFFFF)
    return table


_CRC_TABLE = _crc_table()


def posix_cksum(data: bytes) -> tuple[int, int]:
    """The POSIX ``cksum`` of ``data``: (CRC, length)."""
    crc = 0
    tbl = _CRC_TABLE
    for b in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ tbl[((crc >> 24) ^ b) & 0xFF]
    n = len(data)
    while n:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ tbl[((crc >> 24) ^ (n & 0xFF)) & 0xFF]
        n >>= 8
    return (~crc) & 0xFFFFFFFF, len(data)


_CKSUM_LINE_RE = re.compile(rb'^[ \t]*"cksum": *"[0-9]+ [0-9]+",[ \t]*\r?\n', re.MULTILINE)


def schema_file_cksum(text: bytes) -> str:
    """The checksum a schema file should embed: ``cksum`` of the file without its ``"cksum"`` line.

    This is the convention Open vSwitch's build uses to remind schema authors to bump the version; RFC 7047 says
    clients should ignore the value.
    """
    crc, n = posix_cksum(_CKSUM_LINE_RE.sub(b"", text))
    return f"{crc} {n}"
