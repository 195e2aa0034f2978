#!/usr/bin/env python3
"""Record ``ovs-ofctl`` group and meter sessions against a real ovs-vswitchd (how ``group_wire.json`` and
``meter_wire.json`` were made).

Usage::

    /work/shared/tools/ovs-reference start /tmp/ovsref dummy
    eval "$(/work/shared/tools/ovs-reference env /tmp/ovsref)"
    ovs-vsctl add-br br0 -- set bridge br0 datapath_type=dummy \\
        protocols=OpenFlow10,OpenFlow11,OpenFlow12,OpenFlow13,OpenFlow14,OpenFlow15
    for i in 1 2 3; do ovs-vsctl add-port br0 p$i -- set interface p$i type=dummy ofport_request=$i; done
    group_capture.py /tmp/ovsref/br0.mgmt group_commands.txt group_wire.json
    group_capture.py /tmp/ovsref/br0.mgmt meter_commands.txt meter_wire.json

Each line of the command file is ``VERSION COMMAND SOCK [ARGS...]`` (shell-quoted); ``SOCK`` becomes the address of
a recording proxy: a Unix socket that forwards every connection to the switch's management socket and logs each
OpenFlow message both ways.  ovs-ofctl runs with ``--no-names``.  Hello, echo, features, barrier and the table and
port description exchanges ovs-ofctl makes on its own are left out.  Each message is stored with what ``ovs-ofctl
ofp-print`` prints for it.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time


def _pump(src: socket.socket, dst: socket.socket, log: list[tuple[str, str]], tag: str) -> None:
    buf = b""
    while True:
        try:
            data = src.recv(65536)
        except OSError:
            break
        if not data:
            break
        try:
            dst.sendall(data)
        except OSError:
            break
        buf += data
        while len(buf) >= 4:
            length = struct.unpack_from("!H", buf, 2)[0]
            if len(buf) < length or length < 8:
                break
            log.append((tag, buf[:length].hex()))
            buf = buf[length:]
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def _chatter(h: str) -> bool:
    b = bytes.fromhex(h)
    if b[1] in (0, 2, 3, 5, 6, 20, 21):
        return True
    mp = int.from_bytes(b[8:10], "big") if len(b) >= 10 else -1
    return (b[0] >= 4 and b[1] in (18, 19) and mp in (12, 13)) or (b[0] == 1 and b[1] in (16, 17) and mp == 13)


def run(mgmt: str, argv: list[str]) -> dict:
    path = os.path.join(tempfile.mkdtemp(), "s")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(4)
    log: list[tuple[str, str]] = []

    def serve_one(client: socket.socket) -> None:
        upstream = socket.socket(socket.AF_UNIX)
        upstream.connect(mgmt)
        threads = [threading.Thread(target=_pump, args=(client, upstream, log, "req")),
                   threading.Thread(target=_pump, args=(upstream, client, log, "rep"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        client.close()
        upstream.close()

    def serve() -> None:
        while True:
            client, _ = listener.accept()
            threading.Thread(target=serve_one, args=(client,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    real = [a.replace("SOCK", "unix:" + path) for a in argv]
    p = subprocess.run(real, capture_output=True, text=True, timeout=20, check=False)
    time.sleep(0.2)
    msgs = []
    for tag, h in log:
        if not _chatter(h):
            out = subprocess.run(["ovs-ofctl", "ofp-print", h], capture_output=True, text=True, check=False)
            msgs.append({"dir": tag, "hex": h, "ofp_print": out.stdout})
    return {"rc": p.returncode, "stdout": p.stdout, "stderr": p.stderr, "msgs": msgs}


def main() -> None:
    mgmt, commands, output = sys.argv[1:4]
    records = []
    with open(commands) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            version, rest = line.split(" ", 1)
            rec = run(mgmt, ["ovs-ofctl", "--no-names", "-O", version, *shlex.split(rest)])
            records.append({"line": line, **rec})
    with open(output, "w") as f:
        json.dump(records, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
