"""Benchmark: add 1,000 ports (Port + Interface rows referenced from a Bridge) to our OVSDB server and to Open
vSwitch's ovsdb-server, side by side in one run.

Three ways of adding them, each starting from a fresh database with one empty bridge:

1. one raw ``transact`` request with 2,000 inserts and one mutate (what a program using the client library does);
2. one ``ovs-vsctl --no-wait`` invocation chaining ``-- add-port`` 1,000 times (one transaction built by ovs-vsctl);
3. 1,000 separate ``ovs-vsctl --no-wait add-port`` invocations (each one reads the database, then commits).

Usage: ``python bench/db_ports.py [-n PORTS]``.  Not a test: it prints times and the ratio ours/real.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from pyvswitch.db.client import Client
from pyvswitch.schemas import schema_path

REAL_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"


def wait_socket(path: str, proc: subprocess.Popen) -> None:
    for _ in range(500):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode})")
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return
        except OSError:
            time.sleep(0.02)
        finally:
            s.close()
    raise TimeoutError(path)


def start(kind: str, workdir: str) -> tuple[subprocess.Popen, str]:
    db = os.path.join(workdir, "conf.db")
    sock = os.path.join(workdir, "db.sock")
    if kind == "real":
        subprocess.run(["ovsdb-tool", "create", db, REAL_SCHEMA], check=True)
        cmd = ["ovsdb-server", f"--remote=punix:{sock}", f"--unixctl={workdir}/ctl", "--no-chdir",
               f"--log-file={workdir}/log", db]
    else:
        env_py = sys.executable
        subprocess.run([env_py, "-m", "pyvswitch.db.tool", "create", db, schema_path()], check=True, cwd=ROOT)
        cmd = [env_py, "-m", "pyvswitch.db", f"--remote=punix:{sock}", f"--log-file={workdir}/log", db]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_socket(sock, proc)
    return proc, f"unix:{sock}"


def vsctl(remote: str, *args: str) -> None:
    subprocess.run(["ovs-vsctl", f"--db={remote}", "--no-wait", "--timeout=120", *args], check=True,
                   stdout=subprocess.DEVNULL)


def one_transaction(remote: str, bridge: str, n: int) -> float:
    with Client(remote, timeout=120) as c:
        br = c.transact("Open_vSwitch", {"op": "select", "table": "Bridge", "where": [["name", "==", bridge]],
                                         "columns": ["_uuid"]})[0]["rows"][0]["_uuid"]
        ops: list = []
        for i in range(n):
            ops.append({"op": "insert", "table": "Interface", "uuid-name": f"i{i}", "row": {"name": f"{bridge}t{i}"}})
            ops.append({"op": "insert", "table": "Port", "uuid-name": f"p{i}",
                        "row": {"name": f"{bridge}t{i}", "interfaces": ["named-uuid", f"i{i}"]}})
        ops.append({"op": "mutate", "table": "Bridge", "where": [["_uuid", "==", br]],
                    "mutations": [["ports", "insert", ["set", [["named-uuid", f"p{i}"] for i in range(n)]]]]})
        t0 = time.perf_counter()
        c.transact_ok("Open_vSwitch", *ops, timeout=120)
        return time.perf_counter() - t0


def chained_vsctl(remote: str, bridge: str, n: int) -> float:
    args: list[str] = []
    for i in range(n):
        args += ["--", "add-port", bridge, f"{bridge}c{i}"]
    t0 = time.perf_counter()
    vsctl(remote, *args[1:])
    return time.perf_counter() - t0


def one_by_one(remote: str, bridge: str, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        vsctl(remote, "add-port", bridge, f"{bridge}s{i}")
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1000, help="ports to add in each phase (default 1000)")
    args = ap.parse_args()
    if not shutil.which("ovsdb-server") or not os.path.exists(REAL_SCHEMA):
        print("Open vSwitch (ovsdb-server, ovs-vsctl) is required for the comparison", file=sys.stderr)
        return 1
    phases = [("1 transact request", one_transaction), ("1 ovs-vsctl, chained", chained_vsctl),
              ("ovs-vsctl each", one_by_one)]
    results: dict[str, dict[str, float]] = {"real": {}, "ours": {}}
    tmp = tempfile.mkdtemp(prefix="db_ports.")
    try:
        # Every phase starts from a fresh database holding one empty bridge, on each server in turn.
        for i, (phase, fn) in enumerate(phases):
            for kind in ("real", "ours"):
                workdir = os.path.join(tmp, f"{kind}{i}")
                os.makedirs(workdir)
                proc, remote = start(kind, workdir)
                try:
                    vsctl(remote, "init")
                    vsctl(remote, "add-br", "br0")
                    results[kind][phase] = fn(remote, "br0", args.n)
                    if i == 0:
                        results[kind]["file size MB"] = os.path.getsize(os.path.join(workdir, "conf.db")) / 1e6
                finally:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(30)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"adding {args.n} ports (Port + Interface rows referenced from a Bridge)")
    print(f"{'phase':<24}{'ovsdb-server':>14}{'pyvswitch':>12}{'ratio':>8}")
    for phase in [p for p, _ in phases] + ["file size MB"]:
        a, b = results["real"][phase], results["ours"][phase]
        unit = "" if "MB" in phase else " s"
        print(f"{phase:<24}{a:>12.3f}{unit:2}{b:>10.3f}{unit:2}{b / a:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
