"""The whole switch pipeline of pyvs-vswitchd against Open vSwitch 3.1, in the style of ofproto-dpif.at.

Each scenario of ``tests/data/ofproto/pipeline/scenarios.py`` builds bridges with dummy ports, installs flows,
groups and meters, then traces flows, injects packets (``netdev-dummy/receive``), and looks at what came out: the
frames each port sent (its ``tx_pcap``), the datapath flows (``dpctl/dump-flows``: megaflow widths and actions),
the OpenFlow flow counters, the MAC table, packet-ins.  ``expected.json`` beside the scenarios holds what the real
Open vSwitch did in each (``record.py`` there regenerates it); here the same steps run against one
pyvs-vswitchd (``--enable-dummy=override``) and every step's result must be equal to the recorded one, after the
normalisations of ``pipeline_harness`` (times, recirculation ids).  The first step that differs fails the scenario.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .pipeline_harness import Daemon, run_scenario

DATA = Path(__file__).resolve().parents[1] / "data" / "ofproto" / "pipeline"


def _load_scenarios() -> list[dict[str, Any]]:
    spec = importlib.util.spec_from_file_location("pipeline_scenarios", DATA / "scenarios.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return list(mod.SCENARIOS)


SCENARIOS = {s["name"]: s for s in _load_scenarios()}
EXPECTED: dict[str, list[Any]] = json.loads((DATA / "expected.json").read_text())["scenarios"]


@pytest.fixture(scope="module")
def pyvs() -> Iterator[tuple[Daemon, str]]:
    """One pyvs-vswitchd for the module (short /tmp path: Unix socket paths are limited to 107 bytes)."""
    rundir = tempfile.mkdtemp(prefix="pyvs-pipe-", dir="/tmp")
    log = open(os.path.join(rundir, "stderr.txt"), "ab")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "pyvswitch.vswitchd", "--rundir", rundir, "--pidfile",
                             "--no-fsync", "--enable-dummy=override"], stdout=log, stderr=log)
    log.close()
    try:
        pidfile = os.path.join(rundir, "pyvs-vswitchd.pid")
        deadline = time.monotonic() + 15
        while not (os.path.exists(pidfile) and Path(pidfile).read_text() == f"{proc.pid}\n"):
            assert proc.poll() is None and time.monotonic() < deadline, "pyvs-vswitchd did not start: " + \
                Path(rundir, "stderr.txt").read_text(errors="replace")
            time.sleep(0.05)
        yield Daemon(rundir=rundir, db=f"unix:{rundir}/db.sock", ctl=f"{rundir}/pyvs-vswitchd.ctl"), rundir
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        shutil.rmtree(rundir, ignore_errors=True)


def _show(value: Any) -> str:
    if isinstance(value, dict) and "out" in value:
        return f"rc={value.get('rc')} {value.get('err', '')}\n{value['out']}"
    if isinstance(value, dict) and "lines" in value:
        return f"rc={value.get('rc')}\n" + "\n".join(value["lines"])
    if isinstance(value, list):
        return "\n".join(map(str, value)) or "(nothing)"
    return str(value)


def test_expectations_cover_every_scenario() -> None:
    assert sorted(EXPECTED) == sorted(SCENARIOS)
    for name, sc in SCENARIOS.items():
        assert len(EXPECTED[name]) == len(sc["steps"]), f"{name}: re-run record.py"


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_pipeline(pyvs: tuple[Daemon, str], name: str) -> None:
    daemon, rundir = pyvs
    sc = SCENARIOS[name]
    want = EXPECTED[name]

    def check(i: int, got: Any) -> None:
        if got == want[i]:
            return
        step = " ".join(sc["steps"][i])
        diff = "\n".join(difflib.unified_diff(_show(want[i]).splitlines(), _show(got).splitlines(),
                                              "Open vSwitch", "pyvs-vswitchd", lineterm=""))
        pytest.fail(f"{name} ({sc['doc']}): step {i} `{step}` differs\n{diff}", pytrace=False)

    run_scenario(daemon, sc, os.path.join(rundir, "work"), on_step=check, expected=want)
