"""A pyvs-vswitchd subprocess in a private run directory, driven with the real ovs-vsctl and with pyvs-appctl."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import pytest

PY = sys.executable


class Switchd:
    def __init__(self, rundir: str) -> None:
        self.rundir = rundir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def db(self) -> str:
        return f"unix:{self.rundir}/db.sock"

    @property
    def ctl(self) -> str:
        return f"{self.rundir}/pyvs-vswitchd.ctl"

    def start(self, *extra: str) -> None:
        log = open(os.path.join(self.rundir, "stderr.txt"), "ab")  # noqa: SIM115
        self.proc = subprocess.Popen([PY, "-m", "pyvswitch.vswitchd", "--rundir", self.rundir, "--pidfile",
                                      "--no-fsync", *extra], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 15
        while _read(os.path.join(self.rundir, "pyvs-vswitchd.pid")) != f"{self.proc.pid}\n":
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pyvs-vswitchd did not start: {self.stderr()}")
            time.sleep(0.05)

    def stderr(self) -> str:
        with open(os.path.join(self.rundir, "stderr.txt"), errors="replace") as f:
            return f.read()

    def kill(self, sig: int = signal.SIGKILL) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(10)
        self.proc = None
        return rc

    def vsctl(self, *args: str, check: bool = True, wait: bool = True,
              timeout: int = 10) -> subprocess.CompletedProcess[str]:
        cmd = ["ovs-vsctl", f"--db={self.db}", f"--timeout={timeout}"] + ([] if wait else ["--no-wait"]) + list(args)
        r = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=20)
        if check and r.returncode != 0:
            raise AssertionError(f"{cmd} failed ({r.returncode}): {r.stderr}")
        return r

    def get(self, table: str, record: str, column: str) -> str:
        return self.vsctl("get", table, record, column, wait=False).stdout.strip()

    def appctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PY, "-m", "pyvswitch.cli.appctl", "--rundir", self.rundir, *args],
                              check=False, capture_output=True, text=True, timeout=20)

    def wait_until(self, predicate, timeout: float = 10.0):  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while True:
            v = predicate()
            if v:
                return v
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            time.sleep(0.1)


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


@pytest.fixture
def rundir() -> Iterator[str]:
    # A short path under /tmp: Unix socket paths are limited to 107 bytes.
    d = tempfile.mkdtemp(prefix="pyvs-vsd-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def switchd(rundir: str) -> Iterator[Switchd]:
    s = Switchd(rundir)
    s.start()
    try:
        yield s
    finally:
        if s.proc is not None:
            s.kill()


@pytest.fixture
def br0(switchd: Switchd) -> Switchd:
    switchd.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy")
    return switchd
