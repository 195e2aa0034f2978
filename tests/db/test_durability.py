"""Durability: ``kill -9`` the standalone server (a subprocess) while clients stream transactions, restart it,
and check that every acknowledged transaction survived, whole, and that nothing appeared that was never sent.
One variant compacts the database continually, so the kill also lands in the middle of compactions."""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time

from db_helpers import ServerProc, small_schema

from pyvswitch.db.client import Client, ConnectionClosed
from pyvswitch.db.storage import read_records

BATCH = 3  # rows per transaction: a transaction is present completely or not at all


def writer(remote, wid, acked, sent, stop):
    try:
        c = Client(remote, timeout=5)
    except OSError:
        return
    n = 0
    try:
        while not stop.is_set():
            tid = f"{wid}-{n}"
            ops = [{"op": "insert", "table": "Loose", "row": {"x": i, "s": tid}} for i in range(BATCH)]
            ops.append({"op": "comment", "comment": f"txn {tid}"})
            sent.add(tid)
            r = c.transact("T", *ops)
            if all(isinstance(x, dict) and "uuid" in x for x in r[:BATCH]) and len(r) == BATCH + 1:
                acked.add(tid)
            n += 1
    except (ConnectionClosed, OSError, TimeoutError):
        pass
    finally:
        c.close()


def contents(remote):
    with Client(remote) as c:
        rows = c.transact("T", {"op": "select", "table": "Loose", "where": [], "columns": ["x", "s"]})[0]["rows"]
    by: dict[str, list[int]] = {}
    for r in rows:
        by.setdefault(r["s"], []).append(r["x"])
    return {k: sorted(v) for k, v in by.items()}


def run_cycles(tmp_path, extra_args, cycles, seed):
    rng = random.Random(seed)
    schema = tmp_path / "t.ovsschema"
    schema.write_text(json.dumps(small_schema()))
    srv = ServerProc(str(tmp_path / "srv"), "ours", schema=str(schema), extra_args=extra_args)
    acked: set[str] = set()
    sent: set[str] = set()
    try:
        for cycle in range(cycles):
            srv.start()
            present = contents(srv.remote)
            # After each restart: all acknowledged transactions are there, whole; nothing unknown is there.
            assert acked <= set(present), sorted(acked - set(present))[:5]
            assert set(present) <= sent
            assert all(xs == list(range(BATCH)) for xs in present.values())
            stop = threading.Event()
            threads = [threading.Thread(target=writer, args=(srv.remote, f"c{cycle}w{w}", acked, sent, stop))
                       for w in range(4)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.3, 0.9))
            srv.kill9()
            stop.set()
            for t in threads:
                t.join(10)
        srv.start()
        present = contents(srv.remote)
        assert acked <= set(present) and set(present) <= sent
        assert all(xs == list(range(BATCH)) for xs in present.values())
        assert len(acked) > 20 * cycles, "too few transactions to mean anything"
    finally:
        srv.stop()
    return srv


def test_kill9_during_stream(tmp_path):
    srv = run_cycles(tmp_path, (), cycles=3, seed=1)
    with open(srv.db, "rb") as f:
        data = f.read()
    records, end, problem = read_records(data)
    assert problem is None and end == len(data)  # recovery left no torn record behind
    out = subprocess.run(["ovsdb-tool", "show-log", srv.db], capture_output=True, text=True, check=True).stdout
    assert out.count("record ") == len(records)


def test_kill9_during_compactions(tmp_path):
    srv = run_cycles(tmp_path, ("--compact-min-bytes=20000",), cycles=3, seed=2)
    with open(srv.log) as f:
        log = f.read()
    assert "compacted database" in log


def test_real_ovsdb_server_opens_our_file_after_crash(tmp_path):
    srv = run_cycles(tmp_path, (), cycles=1, seed=3)
    ours = ServerProc(srv.workdir, "ours", create=False).start()
    expected = contents(ours.remote)
    ours.stop()
    real = ServerProc(srv.workdir, "real", create=False).start()
    try:
        assert contents(real.remote) == expected
    finally:
        real.stop()
