#!/usr/bin/env python3
"""Record what the real Open vSwitch does in every pipeline scenario (scenarios.py beside this file) into
``expected.json``, the expectations of tests/ofproto/test_pipeline.py.

Starts a private ovs-vswitchd with the dummy datapath (``/work/shared/tools/ovs-reference start DIR dummy``), runs
each scenario through tests/ofproto/pipeline_harness.py (bridges deleted after each), stops the reference by pid
and removes its directory.

Usage: python3 tests/data/ofproto/pipeline/record.py [SCENARIO...]   (default: all; named ones are re-recorded
into the existing file)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[3]))

from scenarios import SCENARIOS

from tests.ofproto.pipeline_harness import Daemon, run_scenario

REF = "/work/shared/tools/ovs-reference"
OUT = HERE / "expected.json"


def main(names: list[str]) -> None:
    top = tempfile.mkdtemp(prefix="pyvs-piperec-", dir="/tmp")
    ref = os.path.join(top, "ref")
    subprocess.run([REF, "start", ref, "dummy"], check=True, capture_output=True, timeout=60)
    try:
        with open(os.path.join(ref, "ovs-vswitchd.pid")) as f:
            pid = f.read().strip()
        env = dict(os.environ, OVS_RUNDIR=ref, OVS_DBDIR=ref, OVS_LOGDIR=ref, OVS_SYSCONFDIR=ref)
        daemon = Daemon(rundir=ref, db=f"unix:{ref}/db.sock", ctl=f"{ref}/ovs-vswitchd.{pid}.ctl", env=env)
        version = subprocess.run(["ovs-vswitchd", "--version"], capture_output=True, text=True,
                                 check=True).stdout.splitlines()[0]
        data = {"version": version, "scenarios": {}}
        if names and OUT.exists():
            data = json.loads(OUT.read_text())
        for sc in SCENARIOS:
            if names and sc["name"] not in names:
                continue
            print(sc["name"], file=sys.stderr)
            data["scenarios"][sc["name"]] = run_scenario(daemon, sc, os.path.join(top, "work"))
        data["scenarios"] = {k: data["scenarios"][k] for k in sorted(data["scenarios"])}
        OUT.write_text(json.dumps(data, indent=1) + "\n")
    finally:
        subprocess.run([REF, "stop", ref], check=False, capture_output=True, timeout=60)
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
