"""Benchmark: add 1,000 ports to a running switch, pyvswitch against Open vSwitch, side by side in one run.

Unlike ``db_ports.py`` (the database servers alone), this runs the whole switch: ``ovs-vsctl`` WITHOUT
``--no-wait``, so each command returns only when the switch daemon has applied the change and advanced
``cur_cfg``.  The two switches are

- Open vSwitch: Debian's ``ovsdb-server`` + ``ovs-vswitchd --enable-dummy=override --disable-system``;
- pyvswitch: ``pyvs-vswitchd`` (embedded database),

both with a ``datapath_type=dummy`` bridge and ``type=dummy`` ports, so nothing on the host is touched.  Two ways
of adding the ports, each on a fresh bridge: one ``ovs-vsctl`` chaining ``-- add-port`` N times (one
transaction), and N separate ``ovs-vsctl add-port`` commands.  The same real ``ovs-vsctl`` drives both switches.

Usage: ``python bench/switch_ports.py [-n PORTS]``.  Prints seconds and the ratio pyvswitch / Open vSwitch.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
REAL_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"


class Switch:
    """One switch under test, started in its own directory and stopped by pid."""

    def __init__(self, kind: str, workdir: str) -> None:
        self.kind = kind
        self.dir = workdir
        self.db = f"unix:{workdir}/db.sock"
        self.pidfiles: list[str] = []

    def start(self) -> None:
        d = self.dir
        env = dict(os.environ, OVS_RUNDIR=d, OVS_DBDIR=d, OVS_LOGDIR=d)
        if self.kind == "ovs":
            subprocess.run(["ovsdb-tool", "create", f"{d}/conf.db", REAL_SCHEMA], check=True)
            subprocess.run(["ovsdb-server", f"{d}/conf.db", f"--remote=punix:{d}/db.sock",
                            f"--pidfile={d}/ovsdb-server.pid", f"--log-file={d}/ovsdb-server.log",
                            f"--unixctl={d}/ovsdb-server.ctl", "--detach"], check=True, env=env)
            self.pidfiles.append(f"{d}/ovsdb-server.pid")
            self.vsctl("--no-wait", "init")
            subprocess.run(["ovs-vswitchd", "--enable-dummy=override", "--disable-system", self.db,
                            f"--pidfile={d}/ovs-vswitchd.pid", f"--log-file={d}/ovs-vswitchd.log",
                            f"--unixctl={d}/ovs-vswitchd.ctl", "--detach"], check=True, env=env)
            self.pidfiles.append(f"{d}/ovs-vswitchd.pid")
        else:
            subprocess.run([sys.executable, "-m", "pyvswitch.vswitchd", "--rundir", d, "--detach",
                            f"--pidfile={d}/pyvs-vswitchd.pid", f"--log-file={d}/pyvs-vswitchd.log"],
                           check=True, cwd=ROOT)
            self.pidfiles.append(f"{d}/pyvs-vswitchd.pid")
        self.vsctl("--timeout=30", "add-br", "warmup", "--", "set", "bridge", "warmup", "datapath_type=dummy")
        self.vsctl("--timeout=30", "del-br", "warmup")

    def stop(self) -> None:
        for f in reversed(self.pidfiles):
            try:
                with open(f) as fh:
                    pid = int(fh.read())
            except (OSError, ValueError):
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                os.kill(pid, signal.SIGKILL)

    def vsctl(self, *args: str) -> None:
        subprocess.run(["ovs-vsctl", f"--db={self.db}", *args], check=True, stdout=subprocess.DEVNULL)

    def fresh_bridge(self) -> None:
        self.vsctl("--timeout=60", "--if-exists", "del-br", "br0")
        self.vsctl("--timeout=60", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy")

    def chained(self, n: int) -> float:
        self.fresh_bridge()
        args = ["--timeout=600"]
        for i in range(n):
            args += ["--", "add-port", "br0", f"p{i}", "--", "set", "interface", f"p{i}", "type=dummy"]
        t0 = time.monotonic()
        self.vsctl(*args)
        return time.monotonic() - t0

    def one_by_one(self, n: int) -> float:
        self.fresh_bridge()
        t0 = time.monotonic()
        for i in range(n):
            self.vsctl("--timeout=60", "add-port", "br0", f"p{i}", "--", "set", "interface", f"p{i}", "type=dummy")
        return time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1000, help="ports to add (default 1000)")
    args = ap.parse_args()
    if not shutil.which("ovs-vswitchd"):
        print("Open vSwitch is not installed (make bench installs it)", file=sys.stderr)
        return 1
    results: dict[str, dict[str, float]] = {}
    for kind in ("ovs", "pyvswitch"):
        workdir = tempfile.mkdtemp(prefix=f"pyvs-bench-{kind}-")
        sw = Switch(kind, workdir)
        try:
            sw.start()
            results[kind] = {"chained": sw.chained(args.n), "one by one": sw.one_by_one(args.n)}
        finally:
            sw.stop()
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"adding {args.n} dummy ports to a running switch with ovs-vsctl (waiting for the daemon each time)")
    print(f"{'method':<14}{'Open vSwitch':>14}{'pyvswitch':>12}{'ratio':>8}")
    for method in ("chained", "one by one"):
        o, p = results["ovs"][method], results["pyvswitch"][method]
        print(f"{method:<14}{o:>12.2f} s{p:>10.2f} s{p / o:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
