"""Benchmark: OpenFlow on the wire, pyvswitch against Open vSwitch, side by side in one run.

The same real ``ovs-ofctl`` (OpenFlow 1.3, over the bridge's management socket) drives both switches:

- ``add-flows``: N flows (distinct 5-tuple matches, a few actions each) in one ``ovs-ofctl add-flows``;
- ``--bundle add-flows``: the same N flows as one atomic bundle, on an empty table;
- ``dump-flows``: dumping the N flows (multipart replies);
- ``del-flows``: deleting them all;
- ``1,000 small requests``: ``ovs-ofctl`` is started once per request in real use; here one connection sends
  1,000 echo requests and waits for each reply, the round trip of the switch's OpenFlow path.

The switches are those of ``switch_ports.py`` (dummy datapath, started in private directories, stopped by pid).
Usage: ``python bench/openflow.py [-n FLOWS]``.  Prints seconds and the ratio pyvswitch / Open vSwitch.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from switch_ports import Switch


def _flows(n: int) -> str:
    return "".join(f"priority={100 + i % 1000},tcp,nw_src=10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255},"
                   f"tp_dst={i % 60000 + 1},actions=mod_nw_tos:4,output:{i % 7 + 1}\n" for i in range(n))


def _ofctl(target: str, *args: str, stdin: str | None = None, options: tuple[str, ...] = ()) -> float:
    t0 = time.monotonic()
    subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", *options, args[0], target, *args[1:]], input=stdin,
                   text=True, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def _echo_rtt(path: str, n: int) -> float:
    """``n`` echo round trips on one OpenFlow 1.3 connection."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(struct.pack("!BBHI", 4, 0, 8, 1))
    buf = b""

    def recv() -> bytes:
        nonlocal buf
        while True:
            if len(buf) >= 8:
                ln = struct.unpack_from("!H", buf, 2)[0]
                if len(buf) >= ln:
                    m, buf = buf[:ln], buf[ln:]
                    return m
            buf += s.recv(65536)

    recv()   # The switch's HELLO.
    t0 = time.monotonic()
    for i in range(n):
        s.sendall(struct.pack("!BBHI", 4, 2, 8, 100 + i))
        while recv()[1] != 3:
            pass
    dt = time.monotonic() - t0
    s.close()
    return dt


def measure(sw: Switch, n: int) -> dict[str, float]:
    sw.fresh_bridge()
    mgmt = os.path.join(sw.dir, "br0.mgmt")
    for _ in range(100):
        if os.path.exists(mgmt):
            break
        time.sleep(0.1)
    target = f"unix:{mgmt}"
    flows = _flows(n)
    out = {}
    _ofctl(target, "del-flows")
    out["add-flows"] = _ofctl(target, "add-flows", "-", stdin=flows)
    out["dump-flows"] = _ofctl(target, "dump-flows")
    out["del-flows"] = _ofctl(target, "del-flows")
    out["--bundle add-flows"] = _ofctl(target, "add-flows", "-", stdin=flows, options=("--bundle",))
    _ofctl(target, "del-flows")
    out["1,000 echo round trips"] = _echo_rtt(mgmt, 1000)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10000, help="flows (default 10000)")
    args = ap.parse_args()
    if not shutil.which("ovs-vswitchd"):
        print("Open vSwitch is not installed (make bench installs it)", file=sys.stderr)
        return 1
    results: dict[str, dict[str, float]] = {}
    for kind in ("ovs", "pyvswitch"):
        workdir = tempfile.mkdtemp(prefix=f"pyvs-bench-of-{kind}-")
        sw = Switch(kind, workdir)
        try:
            sw.start()
            results[kind] = measure(sw, args.n)
        finally:
            sw.stop()
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"OpenFlow 1.3 through ovs-ofctl, {args.n} flows, management socket")
    print(f"{'operation':<26}{'Open vSwitch':>14}{'pyvswitch':>12}{'ratio':>8}")
    for op in results["ovs"]:
        o, p = results["ovs"][op], results["pyvswitch"][op]
        print(f"{op:<26}{o:>12.3f} s{p:>10.3f} s{p / o:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
