#!/usr/bin/env python3
"""Capture ground truth for ``pyvswitch.openflow.ofp_tables`` from a real Open vSwitch.

Not a test: run it by hand (``.venv/bin/python tests/data/openflow/ofp_tables_capture.py``) to regenerate
``ofp_tables_wire.json`` next to it.  It starts a private ovs-vswitchd (``/work/shared/tools/ovs-reference start
DIR dummy``) and, for each state of ``STATES``, builds a fresh bridge ``br0`` (``datapath_type=dummy``, every
OpenFlow version), removes its default flow, applies the state's steps and sends table statistics (OpenFlow 1.0
to 1.5), table features (1.3 to 1.5) and table description (1.4, 1.5) requests over ``br0.mgmt``.

Steps (the test replays them on a ``FlowTables``):

``["flow", table, priority]``
    ``ovs-ofctl add-flow br0 table=T,priority=P,actions=drop``.
``["table", table, name, flow_limit]``
    a ``Flow_Table`` row (name and/or flow_limit, null for unset) in the bridge's ``flow_tables`` column.
``["table_mod", version, table_id, config, eviction_flags, vacancy]``
    an ``OFPT_TABLE_MOD`` sent in that version (eviction flags and ``[down, up]`` vacancy properties, or null),
    followed by a barrier; the error Open vSwitch answered, if any, is recorded as ``error`` (hex).

Output: ``{"states": [{"name", "steps", "replies": {"stats/V" | "features/V" | "desc/V": [hex, ...]}}]}``.
Table-features replies (20 messages of up to 64 kB each) are stored as SHA-256 digests (``sha256:...``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent.parent))

from pyvswitch.openflow import ofp_switch as S
from pyvswitch.openflow import vconn

REF = "/work/shared/tools/ovs-reference"
XID = 0x42
LONG_NAME = "a-table-name-longer-than-31-bytes-\u00e9t\u00e9"

_FLOWS: list[list[Any]] = [["flow", 0, 10], ["flow", 0, 20], ["flow", 1, 5], ["flow", 5, 1], ["flow", 5, 2],
                           ["flow", 5, 3]]
STATES: list[tuple[str, list[list[Any]]]] = [
    ("empty", []),
    ("flows", _FLOWS),
    ("named", _FLOWS + [["table", 1, "foo", None], ["table", 7, LONG_NAME, None], ["table", 5, None, 5],
                        ["table", 2, "bar", 2000000], ["table", 3, "baz", 0], ["table", 253, "last", None],
                        ["table", 252, "last", None]]),
    ("table_mod", _FLOWS + [
        ["table", 1, None, 5],
        ["table_mod", 2, 3, 2, None, None],           # 1.1: table-miss drop
        ["table_mod", 3, 5, 1, None, None],           # 1.2: continue
        ["table_mod", 2, 6, 3, None, None],           # invalid miss setting: controller
        ["table_mod", 2, 0, 0xFFFFFFF2, None, None],  # other bits ignored: drop
        ["table_mod", 4, 7, 0xFFFFFFFF, None, None],  # 1.3: nothing
        ["table_mod", 5, 2, 4, None, None],           # 1.4: eviction on
        ["table_mod", 5, 1, 8, None, [20, 80]],       # vacancy events on, 20..80% (table 1 is 80% free)
        ["table_mod", 6, 4, 8, None, [10, 90]],       # 1.5, empty table: 100% free
        ["table_mod", 5, 4, 8, None, [5, 95]],        # already on: thresholds change, not the event
        ["table_mod", 5, 8, 0, 1, None],              # eviction property 1: on
        ["table_mod", 5, 9, 4, 7, None],              # eviction property 7: no change (stays off)
        ["table_mod", 5, 2, 4, 2, None],              # eviction property 2: off, despite the config bit
        ["table_mod", 5, 10, 4, 0, None],             # eviction property 0: no change
        ["table_mod", 5, 254, 4, None, None],         # hidden table: error
        ["table_mod", 4, 254, 0, None, None],
        ["table_mod", 2, 254, 0, None, None],
        ["table_mod", 5, 253, 8, None, [0, 0]],       # the last visible table
    ]),
    ("table_mod_all", _FLOWS + [
        ["table", 5, "five", 4],
        ["table_mod", 6, 255, 12, None, [30, 70]],    # every table: eviction and vacancy events on
        ["table_mod", 5, 3, 0, None, None],           # table 3 off again
        ["table_mod", 2, 255, 1, None, None],         # every table: continue
        ["table_mod", 3, 4, 2, None, None],           # but table 4: drop
        ["table_mod", 3, 6, 0, None, None],           # and table 6: controller
    ]),
]


def _env(d: str) -> dict[str, str]:
    return dict(os.environ, OVS_RUNDIR=d, OVS_DBDIR=d, OVS_LOGDIR=d, OVS_SYSCONFDIR=d)


def _run(env: dict[str, str], *argv: str) -> str:
    return subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout


def _table_mod(step: list[Any]) -> S.TableMod:
    _, _version, table_id, config, flags, vac = step[:6]
    return S.TableMod(table_id, config, flags, tuple(vac) if vac is not None else None)


def _transact(mgmt: str, version: int, request: bytes) -> list[bytes]:
    conn = vconn.open_blocking(f"unix:{mgmt}", [version], 10)
    try:
        return conn.transact(request)
    finally:
        conn.close()


def capture_state(d: str, steps: list[list[Any]]) -> dict[str, list[str]]:
    env = _env(d)
    _run(env, "ovs-vsctl", "--if-exists", "del-br", "br0")
    _run(env, "ovs-vsctl", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
         "protocols=OpenFlow10,OpenFlow11,OpenFlow12,OpenFlow13,OpenFlow14,OpenFlow15")
    mgmt = f"{d}/br0.mgmt"
    for _ in range(50):
        if os.path.exists(mgmt):
            break
        time.sleep(0.1)
    _run(env, "ovs-ofctl", "del-flows", "br0")
    for step in steps:
        if step[0] == "flow":
            _run(env, "ovs-ofctl", "add-flow", "br0", f"table={step[1]},priority={step[2]},actions=drop")
        elif step[0] == "table":
            cols = [f"name={json.dumps(step[2])}"] if step[2] is not None else []
            cols += [f"flow_limit={step[3]}"] if step[3] is not None else []
            _run(env, "ovs-vsctl", "--", "--id=@ft", "create", "Flow_Table", *cols, "--", "set", "bridge", "br0",
                 f"flow_tables:{step[1]}=@ft")
        else:
            version = step[1]
            conn = vconn.open_blocking(f"unix:{mgmt}", [version], 10)
            try:
                conn.send(S.encode_table_mod(_table_mod(step), version, XID))
                others = conn.barrier()
            finally:
                conn.close()
            step[:] = step[:6] + ([others[0].hex()] if others else [None])
    # ovs-vsctl waited for ovs-vswitchd to apply each database change; this only lets the dust settle.
    time.sleep(0.2)
    replies: dict[str, list[str]] = {}
    for v in range(1, 7):
        replies[f"stats/{v}"] = [m.hex() for m in _transact(mgmt, v, S.encode_table_stats_request(v, XID))]
    for v in range(4, 7):
        msgs = _transact(mgmt, v, S.encode_table_features_request(None, v, XID)[0])
        replies[f"features/{v}"] = ["sha256:" + hashlib.sha256(m).hexdigest() for m in msgs]
    for v in range(5, 7):
        replies[f"desc/{v}"] = [m.hex() for m in _transact(mgmt, v, S.encode_table_desc_request(v, XID))]
    return replies


def main() -> None:
    d = tempfile.mkdtemp(prefix="ovs-tables-")
    subprocess.run([REF, "start", d, "dummy"], check=True, capture_output=True)
    try:
        out = []
        for name, steps in STATES:
            steps = [list(s) for s in steps]
            replies = capture_state(d, steps)
            out.append({"name": name, "steps": steps, "replies": replies})
            print(name, {k: len(v) for k, v in replies.items()})
        (HERE / "ofp_tables_wire.json").write_text(json.dumps({"xid": XID, "states": out}, indent=1) + "\n")
    finally:
        subprocess.run([REF, "stop", d], check=False, capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
