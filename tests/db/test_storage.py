"""The database file: commits round-trip, ephemeral columns stay out, torn or corrupted tails are cut at a record
boundary, compaction is atomic and preserves content, write errors leave the file consistent, and the files are
interchangeable with Open vSwitch's ovsdb-tool and ovsdb-server."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from db_helpers import REAL_SCHEMA, small_schema, snapshot

from pyvswitch.db import storage as storage_mod
from pyvswitch.db.error import OvsdbError
from pyvswitch.db.storage import FileStorage, StorageError, read_records
from pyvswitch.db.transaction import execute


def create(tmp_path, schema=None, name="t.db", **options):
    path = str(tmp_path / name)
    FileStorage.create(path, schema or small_schema())
    db, st = FileStorage.open(path, **options)
    return path, db, st


def commit(db, st, *ops):
    res = execute(db, list(ops))
    assert res.commit is not None, res.results
    st.write_commit(db, res.commit)
    db.apply(res.commit)
    return res.results


def persistent_snapshot(db):
    snap = snapshot(db)
    for t, rows in snap.items():
        eph = [c.name for c in db.schema.tables[t].column_list if c.ephemeral]
        for r in rows.values():
            for c in eph:
                r.pop(c)
    return snap


def root_ops(i):
    return [{"op": "insert", "table": "Loose", "row": {"x": i, "s": f"row {i}"}},
            {"op": "mutate", "table": "Loose", "where": [["x", "<", i]], "mutations": [["x", "+=", 0]]}]


def test_roundtrip_with_diffs(tmp_path):
    path, db, st = create(tmp_path)
    commit(db, st, {"op": "insert", "table": "Root", "uuid-name": "r",
                    "row": {"name": "a", "children": ["named-uuid", "c"], "watch": ["named-uuid", "c"],
                            "tags": ["map", [["k", "v"]]], "color": "red", "temp": ["map", [["e", "1"]]]}},
           {"op": "insert", "table": "Child", "uuid-name": "c", "row": {"name": "c"}})
    commit(db, st, {"op": "mutate", "table": "Root", "where": [],
                    "mutations": [["tags", "insert", ["map", [["k2", "v2"]]]], ["ints", "insert", ["set", [1, 2]]]]},
           {"op": "update", "table": "Root", "where": [], "row": {"color": ["set", []], "n": 5, "r": 2.5}})
    commit(db, st, {"op": "mutate", "table": "Root", "where": [],
                    "mutations": [["tags", "delete", ["set", ["k"]]], ["ints", "delete", 1]]},
           {"op": "comment", "comment": "line1\nline2"})
    commit(db, st, {"op": "update", "table": "Root", "where": [], "row": {"temp": ["map", [["only", "eph"]]]}})
    st.close()
    db2, st2 = FileStorage.open(path)
    assert persistent_snapshot(db2) == persistent_snapshot(db)
    r = next(iter(db2.tables["Root"].rows.values()))
    assert r.data["temp"].values == ()  # ephemeral: not persisted
    st2.close()
    text = Path(path).read_bytes()
    assert b"temp" not in text.split(b"\n", 2)[2]
    # A commit that only touches ephemeral columns writes nothing.
    assert text.count(b"OVSDB JSON") == 4


def test_record_format(tmp_path):
    path, db, st = create(tmp_path)
    commit(db, st, {"op": "insert", "table": "Loose", "row": {"x": 1}}, {"op": "comment", "comment": "hi"})
    st.close()
    records, end, problem = read_records(Path(path).read_bytes())
    assert problem is None and end == os.path.getsize(path) and len(records) == 2
    rec = records[1][1]
    assert rec["_comment"] == "hi" and rec["_is_diff"] is True and isinstance(rec["_date"], int)
    (row,) = rec["Loose"].values()
    assert row == {"x": 1}  # new rows list non-default columns only


def build_log(tmp_path, n):
    path, db, st = create(tmp_path)
    states = [persistent_snapshot(db)]
    for i in range(n):
        commit(db, st, *root_ops(i))
        states.append(persistent_snapshot(db))
    st.close()
    data = Path(path).read_bytes()
    records, _, _ = read_records(data)
    ends = [off for off, _ in records[1:]] + [len(data)]  # end offset of record k is start of k+1
    return path, data, states, ends


def loaded_state(path):
    db, st = FileStorage.open(path)
    st.close()
    return persistent_snapshot(db)


def expected_prefix(ends, cut):
    # ends[0] is the end of the schema record; ends[k] the end of transaction k.
    return sum(1 for e in ends[1:] if e <= cut)


def test_truncation_at_random_positions_loads_a_prefix(tmp_path):
    rng = random.Random(7047)
    _, data, states, ends = build_log(tmp_path, 30)
    work = str(tmp_path / "cut.db")
    cuts = sorted({rng.randrange(ends[0], len(data) + 1) for _ in range(60)} | set(ends) | {len(data) - 1})
    for cut in cuts:
        with open(work, "wb") as f:
            f.write(data[:cut])
        k = expected_prefix(ends, cut)
        assert loaded_state(work) == states[k], cut
        # Recovery truncated the torn tail, so a new commit is appended where it can be read back.
        db, st = FileStorage.open(work)
        assert os.path.getsize(work) == ends[k]
        commit(db, st, {"op": "insert", "table": "Loose", "row": {"x": 999}})
        st.close()
        assert loaded_state(work) == persistent_snapshot(db)


def test_corruption_at_random_bytes_loads_a_prefix(tmp_path):
    rng = random.Random(47)
    _, data, states, ends = build_log(tmp_path, 20)
    work = str(tmp_path / "bad.db")
    for _ in range(60):
        pos = rng.randrange(ends[0], len(data))
        bad = bytearray(data)
        bad[pos] ^= 1 << rng.randrange(8)
        with open(work, "wb") as f:
            f.write(bad)
        k = expected_prefix(ends, pos)  # the damaged record and everything after it are dropped
        assert loaded_state(work) == states[k], pos


def test_bad_schema_record_is_an_error(tmp_path):
    p = tmp_path / "x.db"
    p.write_bytes(b"OVSDB JSON 3 0000000000000000000000000000000000000000\n{}\n")
    with pytest.raises(StorageError):
        FileStorage.open(str(p))
    p.write_bytes(b"")
    with pytest.raises(StorageError):
        FileStorage.open(str(p))


def test_semantically_bad_record_is_an_error_not_data_loss(tmp_path):
    path, _, st = create(tmp_path)
    st.append(storage_mod.encode_record({"NoSuchTable": {"11111111-1111-1111-1111-111111111111": {}}}))
    st.close()
    with pytest.raises(StorageError, match="unknown table"):
        FileStorage.open(path)


def test_lock_prevents_second_writer(tmp_path):
    path, _, st = create(tmp_path)
    pid = os.fork()
    if pid == 0:  # fcntl locks are per process, so the second opener must be another process.
        try:
            FileStorage.open(path)
            os._exit(1)
        except StorageError:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    st.close()
    assert os.waitstatus_to_exitcode(status) == 0


def test_compaction_preserves_content_and_is_atomic(tmp_path):
    path, db, st = create(tmp_path)
    for i in range(50):
        commit(db, st, *root_ops(i))
    commit(db, st, {"op": "delete", "table": "Loose", "where": [["x", "<", 25]]})
    before = persistent_snapshot(db)
    size = os.path.getsize(path)
    st.compact(db)
    assert os.path.getsize(path) < size and not os.path.exists(path + ".tmp")
    records, _, problem = read_records(Path(path).read_bytes())
    assert len(records) == 2 and problem is None
    commit(db, st, {"op": "insert", "table": "Loose", "row": {"x": -1}})
    st.close()
    after = loaded_state(path)
    assert {u: r for u, r in after["Loose"].items() if u in before["Loose"]} == before["Loose"]
    assert len(after["Loose"]) == 26


def test_automatic_compaction_threshold(tmp_path):
    path, db, st = create(tmp_path, compact_min_bytes=2000, compact_factor=2, compact_min_txns=10)
    n = 0
    while st.n_compactions == 0 and n < 500:
        commit(db, st, *root_ops(n))
        if st.should_compact():
            st.compact(db)
        n += 1
    assert st.n_compactions == 1 and n >= 10
    st.close()
    assert loaded_state(path) == persistent_snapshot(db)


def test_write_error_leaves_file_consistent(tmp_path, monkeypatch):
    path, db, st = create(tmp_path)
    commit(db, st, *root_ops(0))
    size = os.path.getsize(path)
    real_write = storage_mod._write_all

    def failing(fd, data):
        os.write(fd, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage_mod, "_write_all", failing)
    res = execute(db, root_ops(1))
    with pytest.raises(OvsdbError) as e:
        st.write_commit(db, res.commit)
    assert e.value.error == "I/O error"
    assert os.path.getsize(path) == size
    monkeypatch.setattr(storage_mod, "_write_all", real_write)
    commit(db, st, *root_ops(2))
    st.close()
    assert loaded_state(path) == persistent_snapshot(db)


def test_ovsdb_tool_reads_our_log(tmp_path):
    path, db, st = create(tmp_path, schema=json.loads(Path(REAL_SCHEMA).read_text()))
    commit(db, st, {"op": "insert", "table": "Open_vSwitch", "row": {"bridges": ["named-uuid", "b"]}},
           {"op": "insert", "table": "Bridge", "uuid-name": "b",
            "row": {"name": "br0", "external_ids": ["map", [["a", "b"]]], "flood_vlans": ["set", [1, 2]]}},
           {"op": "comment", "comment": "first"})
    commit(db, st, {"op": "mutate", "table": "Bridge", "where": [],
                    "mutations": [["external_ids", "insert", ["map", [["c", "d"]]]], ["flood_vlans", "delete", 1]]},
           {"op": "update", "table": "Bridge", "where": [], "row": {"fail_mode": "secure"}})
    commit(db, st, {"op": "update", "table": "Bridge", "where": [], "row": {"fail_mode": ["set", []]}})
    st.close()
    out = subprocess.run(["ovsdb-tool", "show-log", path], capture_output=True, text=True, check=True).stdout
    assert 'record 1:' in out and '"first"' in out and "record 3:" in out
    q = subprocess.run(["ovsdb-tool", "query", path, json.dumps(
        ["Open_vSwitch", {"op": "select", "table": "Bridge", "where": [],
                          "columns": ["name", "external_ids", "flood_vlans", "fail_mode"]}])],
        capture_output=True, text=True, check=True).stdout
    assert json.loads(q) == [{"rows": [{"name": "br0", "external_ids": ["map", [["a", "b"], ["c", "d"]]],
                                        "flood_vlans": 2, "fail_mode": ["set", []]}]}]
    # ovsdb-tool can also compact our file, and we read its output.
    subprocess.run(["ovsdb-tool", "compact", path], check=True)
    db2, st2 = FileStorage.open(path)
    st2.close()
    assert persistent_snapshot(db2) == persistent_snapshot(db)


def test_we_read_ovsdb_tool_files(tmp_path):
    path = str(tmp_path / "real.db")
    subprocess.run(["ovsdb-tool", "create", path, REAL_SCHEMA], check=True)
    for trns in (
        ["Open_vSwitch", {"op": "insert", "table": "Open_vSwitch", "row": {"bridges": ["named-uuid", "b"]}},
         {"op": "insert", "table": "Bridge", "uuid-name": "b", "row": {"name": "br0", "flood_vlans": ["set", [1, 2]],
                                                                       "external_ids": ["map", [["k", "v"]]]}}],
        ["Open_vSwitch", {"op": "mutate", "table": "Bridge", "where": [],
                          "mutations": [["flood_vlans", "insert", 3], ["external_ids", "insert",
                                                                        ["map", [["k2", "v2"]]]]]}],
        ["Open_vSwitch", {"op": "update", "table": "Bridge", "where": [], "row": {"fail_mode": "standalone"}}],
    ):
        subprocess.run(["ovsdb-tool", "transact", path, json.dumps(trns)], check=True, capture_output=True)
    db, st = FileStorage.open(path)
    st.close()
    (br,) = db.tables["Bridge"].rows.values()
    assert br.data["flood_vlans"].keys == (1, 2, 3)
    assert br.data["external_ids"].as_dict() == {"k": "v", "k2": "v2"}
    assert br.data["fail_mode"].keys == ("standalone",)
    assert len(db.tables["Open_vSwitch"].rows) == 1
    shutil.rmtree(tmp_path, ignore_errors=True)
