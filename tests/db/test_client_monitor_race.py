"""A monitor's first update may arrive in the same read as the monitor's reply: the replica must not lose it.

A scripted server on a Unix socket answers ``get_schema`` and then sends the ``monitor_cond`` reply and an
``update2`` notification for that monitor in one write, which is what a busy ovsdb-server does when another
client commits right after the monitor starts.
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

from pyvswitch.db.client import Client

SCHEMA = {"name": "T", "version": "1.0.0",
          "tables": {"Root": {"isRoot": True, "columns": {"name": {"type": "string"}}}}}
ROW1 = "11111111-1111-1111-1111-111111111111"
ROW2 = "22222222-2222-2222-2222-222222222222"


def _serve(listener: socket.socket) -> None:
    conn, _ = listener.accept()
    buf = b""
    dec = json.JSONDecoder()
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            while buf:
                try:
                    msg, end = dec.raw_decode(buf.decode())
                except ValueError:
                    break
                buf = buf[len(buf.decode()[:end].encode()):].lstrip()
                if msg["method"] == "get_schema":
                    conn.sendall(json.dumps({"id": msg["id"], "result": SCHEMA, "error": None}).encode())
                elif msg["method"] == "monitor_cond":
                    monid = msg["params"][1]
                    reply = {"id": msg["id"], "error": None,
                             "result": {"Root": {ROW1: {"initial": {"name": "first"}}}}}
                    update = {"id": None, "method": "update2",
                              "params": [monid, {"Root": {ROW2: {"insert": {"name": "second"}}}}]}
                    conn.sendall(json.dumps(reply).encode() + json.dumps(update).encode())


def test_update_in_the_same_read_as_the_monitor_reply_is_kept(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(1)
    t = threading.Thread(target=_serve, args=(listener,), daemon=True)
    t.start()
    try:
        with Client(f"unix:{path}") as c:
            rep = c.monitor("T", {"Root": None})
            names = sorted(row["name"] for row in rep.rows("Root"))
            assert names == ["first", "second"]
    finally:
        listener.close()
        t.join(5)
