#!/usr/bin/env python3
"""Capture ground truth for the flow-statistics, flow-monitor, bundle and TLV-table codecs from a real Open vSwitch.

Not a test: run it by hand (``python tests/data/openflow/ofp_flow_stats_capture.py``) to regenerate the JSON files
next to it.  It starts a private ovs-vswitchd (``/work/shared/tools/ovs-reference start DIR dummy``) with bridge
``br0``, puts a recording proxy between ``ovs-ofctl`` and ``br0.mgmt`` (every OpenFlow message in both directions is
recorded as hex), runs the ``ovs-ofctl`` commands of each case and writes, per case, the command, its stdout and
stderr, and the messages with what ``ovs-ofctl ofp-print`` prints for each.

Output: ``ofp_<module>_capture.json`` files: ``[{"name", "argv", "stdout", "stderr", "messages":
[{"dir": "C>S"|"S>C", "hex", "print"}]}]`` (``print`` is None for messages over 4000 bytes).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REF = "/work/shared/tools/ovs-reference"


class Proxy:
    """Forwards a Unix socket to ``target`` and records whole OpenFlow messages."""

    def __init__(self, path: str, target: str) -> None:
        self.path, self.target = path, target
        self.log: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.srv = socket.socket(socket.AF_UNIX)
        self.srv.bind(path)
        self.srv.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            s = socket.socket(socket.AF_UNIX)
            s.connect(self.target)
            threading.Thread(target=self._pump, args=(c, s, "C>S"), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, "S>C"), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket, tag: str) -> None:
        buf = b""
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
                buf += d
                while len(buf) >= 8:
                    n = struct.unpack_from("!H", buf, 2)[0]
                    if len(buf) < n or n < 8:
                        break
                    with self.lock:
                        self.log.append((tag, buf[:n].hex()))
                    buf = buf[n:]
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def take(self) -> list[tuple[str, str]]:
        time.sleep(0.2)
        with self.lock:
            out, self.log = self.log, []
        return out


def ofp_print(h: str) -> str:
    return subprocess.run(["ovs-ofctl", "ofp-print", h], capture_output=True, text=True, check=False).stdout


def main() -> int:
    d = tempfile.mkdtemp(prefix="ofpcap")
    env = dict(os.environ, OVS_RUNDIR=d, OVS_DBDIR=d, OVS_LOGDIR=d, OVS_SYSCONFDIR=d)
    subprocess.run([REF, "start", d, "dummy"], check=True, env=env, capture_output=True)
    try:
        def sh(*argv: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(list(argv), env=env, capture_output=True, text=True, check=False)
        sh("ovs-vsctl", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
           "protocols=OpenFlow10,OpenFlow11,OpenFlow12,OpenFlow13,OpenFlow14,OpenFlow15")
        for i in (1, 2, 3):
            sh("ovs-vsctl", "add-port", "br0", f"p{i}", "--", "set", "interface", f"p{i}", "type=dummy",
               f"ofport_request={i}")
        sock = os.path.join(d, "px.sock")
        proxy = Proxy(sock, os.path.join(d, "br0.mgmt"))
        sys.path.insert(0, str(HERE))
        from ofp_flow_stats_cases import CASES
        out: dict[str, list[dict[str, object]]] = {}
        for module, name, steps in CASES:
            record: dict[str, object] = {"name": name, "runs": []}
            for step in steps:
                if step[0] == "sh":
                    sh(*step[1:])
                    continue
                if step[0] == "sleep":
                    time.sleep(float(step[1]))
                    continue
                if step[0] == "monitor":
                    # ("monitor", [argv...], [[action argv]...]): run argv in the background, the actions, stop it.
                    argv = [a.replace("SOCK", "unix:" + sock) for a in step[1]]
                    p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                    time.sleep(0.7)
                    for act in step[2]:
                        sh(*act)
                        time.sleep(0.3)
                    time.sleep(0.5)
                    p.terminate()
                    so, se = p.communicate()
                    rc = p.returncode
                else:
                    argv = [a.replace("SOCK", "unix:" + sock) for a in step[1]]
                    inp = step[2] if len(step) > 2 else None
                    r = subprocess.run(argv, env=env, capture_output=True, text=True, input=inp, check=False)
                    so, se, rc = r.stdout, r.stderr, r.returncode
                msgs = [{"dir": t, "hex": h, "print": ofp_print(h) if len(h) < 8000 else None} for t, h in proxy.take()]
                record["runs"].append({"argv": step[1], "stdout": so, "stderr": se, "rc": rc, "messages": msgs})
            out.setdefault(module, []).append(record)
        for module, recs in out.items():
            (HERE / f"{module}_capture.json").write_text(json.dumps(recs, indent=1) + "\n")
            print(f"{module}: {len(recs)} cases")
    finally:
        subprocess.run([REF, "stop", d], env=env, capture_output=True, check=False)
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
