"""Durable storage: the OVSDB standalone file format (ovsdb(5)), append-only with compaction.

A database file is a sequence of records.  Each record is a header line ``OVSDB JSON <length> <sha1>`` and then
``length`` bytes: one line of JSON ending in LF, whose SHA-1 (LF included) is ``sha1``.  The first record is the
schema; each later record is one committed transaction: for every changed table, for every changed row UUID,
``null`` (deleted) or an object of column values.  New rows list their non-default columns; modified rows list
their changed columns as *differences* (``"_is_diff": true``): the new value for columns of at most one element,
the symmetric difference for sets, the changed pairs for maps, exactly as update2 notifications encode them.
``_date`` (milliseconds) and ``_comment`` are informational.  Ephemeral columns are never written.  This is the
format Open vSwitch 2.15 and later write, so ``ovsdb-tool show-log``, ``ovsdb-tool query`` and ``ovsdb-server`` can
read our files, and we can read theirs.

Durability and atomicity:

* a commit is written with one ``write`` and ``fsync``-ed before the client hears about it;
* on open, records are read until the first one that is incomplete or fails its checksum (a write torn by a crash
  or ``kill -9``); the file is truncated there, so later appends are not lost behind garbage.  A record with a
  valid checksum that does not make sense for the schema is an error, not something to drop silently;
* compaction writes the schema and one snapshot record to ``FILE.tmp``, fsyncs it, renames it over ``FILE`` and
  fsyncs the directory: after a crash the file is either the old log or the complete new snapshot;
* a lock file ``.FILE.~lock~`` (the name ovsdb-server uses) keeps two servers from writing one file.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from typing import Any

from .data import Datum
from .database import Commit, Database, Row, new_uuid
from .error import IO_ERROR, OvsdbError
from .schema import DatabaseSchema, TableSchema
from .types import UNLIMITED, Type

log = logging.getLogger("pyvswitch.db.storage")

MAGIC = b"OVSDB JSON"
_HEADER_RE = re.compile(rb"^OVSDB JSON ([0-9]{1,20}) ([0-9a-f]{40})$")
_MAX_HEADER = 128


class StorageError(Exception):
    """The file cannot be used as a database (not a torn tail, which recovery handles)."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


def json_loads(text: str | bytes) -> Any:
    """``json.loads`` that rejects NaN and Infinity, which are not JSON."""
    return json.loads(text, parse_constant=_reject_constant)


def encode_record(obj: Any) -> bytes:
    body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"
    return b"OVSDB JSON %d %s\n" % (len(body), hashlib.sha1(body).hexdigest().encode()) + body


def read_records(data: bytes) -> tuple[list[tuple[int, Any]], int, str | None]:
    """Parse the records in ``data``.

    Returns ``(records, good_end, problem)``: the (offset, JSON) of each valid record, the offset just past the
    last valid one, and a description of what stopped reading early (None if the data ended cleanly).
    """
    records: list[tuple[int, Any]] = []
    pos = 0
    n = len(data)
    while pos < n:
        nl = data.find(b"\n", pos, pos + _MAX_HEADER)
        if nl < 0:
            return records, pos, f"incomplete or invalid record header at offset {pos}"
        m = _HEADER_RE.match(data[pos:nl])
        if m is None:
            return records, pos, f"invalid record header at offset {pos}"
        length = int(m.group(1))
        start = nl + 1
        if start + length > n:
            return records, pos, f"record at offset {pos} is truncated ({n - start} of {length} bytes)"
        body = data[start:start + length]
        if hashlib.sha1(body).hexdigest().encode() != m.group(2):
            return records, pos, f"record at offset {pos} fails its SHA-1 checksum"
        try:
            obj = json_loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return records, pos, f"record at offset {pos} is not valid JSON"
        if not isinstance(obj, dict):
            return records, pos, f"record at offset {pos} is not a JSON object"
        records.append((pos, obj))
        pos = start + length
    return records, pos, None


# ---- turning commits into records and records into changes ----

def row_insert_json(ts: TableSchema, row: Row) -> dict[str, Any]:
    """The non-default persistent columns of ``row`` (a new row's record, or an update2 "insert")."""
    defaults = ts.defaults
    data = row.data
    out = {}
    for c in ts.persistent_columns:
        d = data[c.name]
        if d != defaults[c.name]:
            out[c.name] = d.to_json(c.type)
    return out


def commit_to_record(schema: DatabaseSchema, commit: Commit) -> dict[str, Any] | None:
    """The log record for ``commit``, or None if it changes nothing persistent."""
    rec: dict[str, Any] = {}
    for tname, rows in commit.changes.items():
        ts = schema.tables[tname]
        trec: dict[str, Any] = {}
        for u, (old, new) in rows.items():
            if new is None:
                if old is not None:
                    trec[u] = None
            elif old is None:
                trec[u] = row_insert_json(ts, new)
            else:
                diffs = {}
                for c in ts.persistent_columns:
                    od = old.data[c.name]
                    nd = new.data[c.name]
                    if od is not nd and od != nd:
                        diffs[c.name] = od.diff(nd, c.type).to_json(c.type)
                if diffs:
                    trec[u] = diffs
        if trec:
            rec[tname] = trec
    if not rec:
        return None
    rec["_date"] = commit.date_ms or int(time.time() * 1000)
    if commit.comment:
        rec["_comment"] = commit.comment
    rec["_is_diff"] = True
    return rec


def snapshot_record(db: Database, comment: str = "compacting database online") -> dict[str, Any]:
    rec: dict[str, Any] = {}
    for tname, table in db.tables.items():
        if table.rows:
            ts = table.schema
            rec[tname] = {u: row_insert_json(ts, r) for u, r in table.rows.items()}
    rec["_date"] = int(time.time() * 1000)
    rec["_comment"] = comment
    rec["_is_diff"] = True
    return rec


def _diff_type(t: Type) -> Type:
    if t.value is None and t.n_max == 1:
        return t
    return t.relaxed(0, UNLIMITED)


def record_to_commit(db: Database, rec: dict[str, Any]) -> Commit:
    """The changes that transaction record ``rec`` makes to ``db`` (which holds the state before it)."""
    is_diff = rec.get("_is_diff") is True
    changes: dict[str, dict[str, tuple[Row | None, Row | None]]] = {}
    for tname, tj in rec.items():
        if tname.startswith("_"):
            continue
        table = db.tables.get(tname)
        if table is None or not isinstance(tj, dict):
            raise StorageError(f"record names unknown table {tname!r}")
        ts = table.schema
        out = changes.setdefault(tname, {})
        for u, rj in tj.items():
            if not isinstance(u, str) or len(u) != 36:
                raise StorageError(f"bad row UUID {u!r} in table {tname}")
            old = table.rows.get(u)
            if rj is None:
                if old is not None:
                    out[u] = (old, None)
                continue
            if not isinstance(rj, dict):
                raise StorageError(f"bad row {u} in table {tname}")
            if old is None:
                data = dict(ts.defaults)
            else:
                data = dict(old.data)
            for cname, value in rj.items():
                col = ts.columns.get(cname)
                if col is None:
                    raise StorageError(f"record names unknown column {tname}.{cname}")
                try:
                    if old is not None and is_diff:
                        data[cname] = old.data[cname].apply_diff(Datum.from_json(_diff_type(col.type), value),
                                                                 col.type)
                    else:
                        data[cname] = Datum.from_json(col.type, value)
                except OvsdbError as e:
                    raise StorageError(f"bad value for {tname}.{cname} in row {u}: {e}") from None
            out[u] = (old, Row(u, new_uuid(), data))
    return Commit("", {t: r for t, r in changes.items() if r}, rec.get("_comment"))


# ---- the file ----

class FileStorage:
    """An open database file: appends commits durably, compacts, and holds the file lock."""

    def __init__(self, path: str, fd: int, lock_fd: int, size: int, snapshot_size: int, n_txns: int,
                 *, fsync: bool = True, compact_min_bytes: int = 10 * 1024 * 1024, compact_factor: float = 4.0,
                 compact_min_txns: int = 100) -> None:
        self.path = path
        self.fd = fd
        self.lock_fd = lock_fd
        self.size = size
        self.snapshot_size = snapshot_size
        self.txns_since_snapshot = n_txns
        self.do_fsync = fsync
        self.compact_min_bytes = compact_min_bytes
        self.compact_factor = compact_factor
        self.compact_min_txns = compact_min_txns
        self.broken: str | None = None
        self.n_compactions = 0

    # ---- creation and opening ----

    @staticmethod
    def create(path: str, schema_json: Any) -> None:
        """Create a new database file holding only ``schema_json`` (fails if ``path`` exists)."""
        DatabaseSchema.from_json(schema_json)
        rec = encode_record(schema_json)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            _write_all(fd, rec)
            os.fsync(fd)
        finally:
            os.close(fd)
        _fsync_dir(path)

    @classmethod
    def open(cls, path: str, *, read_only: bool = False, **options: Any) -> tuple[Database, FileStorage | None]:
        """Load the database in ``path``, recovering from a torn tail, and (unless read-only) open it for appending.

        Raises :class:`StorageError` if the file is locked by another process or is not a database.
        """
        lock_fd = -1
        if not read_only:
            lock_fd = _acquire_lock(path)
        try:
            with open(path, "rb") as f:
                data = f.read()
            records, good_end, problem = read_records(data)
            if not records:
                raise StorageError(f"{path}: not an OVSDB database file ({problem or 'empty'})")
            try:
                schema = DatabaseSchema.from_json(records[0][1])
            except OvsdbError as e:
                raise StorageError(f"{path}: bad schema: {e}") from None
            db = Database(schema)
            # The schema and the first transaction (a snapshot, after a compaction) are the base against which
            # the growth of the log is measured.
            snapshot_size = records[2][0] if len(records) > 2 else good_end
            for i, (offset, rec) in enumerate(records[1:], 1):
                try:
                    commit = record_to_commit(db, rec)
                except StorageError as e:
                    raise StorageError(f"{path}: record {i} at offset {offset}: {e}") from None
                _apply_raw(db, commit)
            db.rebuild_derived()
            if problem is not None:
                log.warning("%s: %s; ignoring the %d byte(s) from offset %d (a write interrupted by a crash)",
                            path, problem, len(data) - good_end, good_end)
            if read_only:
                return db, None
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            if good_end < len(data):
                os.ftruncate(fd, good_end)
                os.fsync(fd)
            return db, cls(path, fd, lock_fd, good_end, snapshot_size, max(0, len(records) - 2), **options)
        except BaseException:
            if lock_fd >= 0:
                _release_lock(path, lock_fd)
            raise

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.lock_fd >= 0:
            _release_lock(self.path, self.lock_fd)
            self.lock_fd = -1

    # ---- appending ----

    def write_commit(self, db: Database, commit: Commit) -> bool:
        """Append ``commit`` durably; False if it changed nothing persistent.  Raises an "I/O error" OvsdbError."""
        rec = commit_to_record(db.schema, commit)
        if rec is None:
            return False
        self.append(encode_record(rec), commit.durable or self.do_fsync)
        self.txns_since_snapshot += 1
        return True

    def append(self, data: bytes, fsync: bool = True) -> None:
        if self.broken is not None:
            raise OvsdbError(IO_ERROR, f"database file is unusable: {self.broken}")
        try:
            _write_all(self.fd, data)
            if fsync:
                os.fsync(self.fd)
        except OSError as e:
            # Take back a partial write, so that the next append is not hidden behind a torn record.
            try:
                os.ftruncate(self.fd, self.size)
            except OSError as e2:
                self.broken = f"write failed ({e.strerror}) and could not be undone ({e2.strerror})"
            raise OvsdbError(IO_ERROR, f"{self.path}: write failed: {e.strerror}") from None
        self.size += len(data)

    # ---- compaction ----

    def should_compact(self) -> bool:
        """The threshold checked after every commit: the log grew ``compact_factor`` times past the snapshot."""
        return (self.txns_since_snapshot >= self.compact_min_txns and self.size >= self.compact_min_bytes
                and self.size >= self.snapshot_size * self.compact_factor)

    def worth_compacting(self) -> bool:
        """The laxer test of the periodic compaction: enough transactions and the log at least doubled."""
        return self.txns_since_snapshot >= self.compact_min_txns and self.size >= 2 * self.snapshot_size

    def compact(self, db: Database) -> None:
        """Replace the file by the schema plus one snapshot of ``db``, atomically."""
        tmp = self.path + ".tmp"
        head = encode_record(db.schema.to_json())
        body = encode_record(snapshot_record(db))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, head + body)
            os.fsync(fd)
        except OSError as e:
            os.close(fd)
            _unlink_quietly(tmp)
            raise OvsdbError(IO_ERROR, f"{tmp}: compaction failed: {e.strerror}") from None
        os.close(fd)
        try:
            os.rename(tmp, self.path)
        except OSError as e:
            _unlink_quietly(tmp)
            raise OvsdbError(IO_ERROR, f"{self.path}: compaction failed: {e.strerror}") from None
        _fsync_dir(self.path)
        new_fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        os.close(self.fd)
        self.fd = new_fd
        self.size = len(head) + len(body)
        self.snapshot_size = self.size
        self.txns_since_snapshot = 0
        self.broken = None
        self.n_compactions += 1
        log.info("%s: compacted database (%d bytes)", self.path, self.size)


def _apply_raw(db: Database, commit: Commit) -> None:
    """Install a replayed record's rows without maintaining derived data (rebuilt once at the end)."""
    for tname, rows in commit.changes.items():
        trows = db.tables[tname].rows
        for u, (old, new) in rows.items():
            if new is None:
                trows.pop(u, None)
            else:
                trows[u] = new


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _fsync_dir(path: str) -> None:
    dfd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def lock_file_name(path: str) -> str:
    d, base = os.path.split(os.path.abspath(path))
    return os.path.join(d, f".{base}.~lock~")


# POSIX record locks belong to a process, so a second open of the same file by this process would succeed and its
# close would drop the first one's lock.  Files open for writing in this process are therefore tracked here.
_OPEN_IN_PROCESS: set[str] = set()


def _acquire_lock(path: str) -> int:
    if not os.path.exists(path):
        raise StorageError(f"{path}: No such file or directory")
    lpath = lock_file_name(path)
    if lpath in _OPEN_IN_PROCESS:
        raise StorageError(f"{path}: database file is already open in this process")
    fd = os.open(lpath, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        if e.errno in (errno.EACCES, errno.EAGAIN):
            raise StorageError(f"{path}: database file is locked by another process") from None
        raise StorageError(f"{lpath}: cannot lock: {e.strerror}") from None
    _OPEN_IN_PROCESS.add(lpath)
    return fd


def _release_lock(path: str, fd: int) -> None:
    _OPEN_IN_PROCESS.discard(lock_file_name(path))
    os.close(fd)


def iter_log(path: str) -> Iterator[tuple[int, Any]]:
    """The valid records of a database file (for ``show-log``)."""
    with open(path, "rb") as f:
        records, _, _ = read_records(f.read())
    yield from records
