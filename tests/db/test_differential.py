"""Raw RFC 7047 requests, sent in the same order to our server and to Open vSwitch's ovsdb-server, must get the
same replies: the same error strings in the same positions, and the same results once UUIDs are masked."""

from __future__ import annotations

import json
import re
import socket
import time
from typing import Any

from db_helpers import ServerProc

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DB = "Open_vSwitch"


def T(*ops: Any) -> dict[str, Any]:
    return {"method": "transact", "params": [DB, *ops]}


def sel(table, where=(), cols=None):
    op = {"op": "select", "table": table, "where": list(where)}
    if cols is not None:
        op["columns"] = cols
    return op


BR = [["name", "==", "br0"]]
REQUESTS: list[dict[str, Any]] = [
    {"method": "list_dbs", "params": []},
    {"method": "get_schema", "params": ["Nope"]},
    {"method": "get_schema", "params": []},
    {"method": "no_such_method", "params": []},
    {"method": "echo", "params": [1, "x", {"a": [None]}]},
    T({"op": "insert", "table": "Open_vSwitch", "uuid-name": "o", "row": {"bridges": ["named-uuid", "b"]}},
      {"op": "insert", "table": "Bridge", "uuid-name": "b", "row": {"name": "br0", "ports": ["named-uuid", "p"]}},
      {"op": "insert", "table": "Port", "uuid-name": "p", "row": {"name": "br0", "interfaces": ["named-uuid", "i"]}},
      {"op": "insert", "table": "Interface", "uuid-name": "i", "row": {"name": "br0", "type": "internal"}}),
    T(sel("Bridge", BR, ["name", "ports", "flood_vlans", "fail_mode", "external_ids"])),
    {"method": "transact", "params": ["Nope", sel("Bridge")]},
    {"method": "transact", "params": []},
    T(),
    T(5),
    T({"op": "frob"}),
    T({"table": "Bridge"}),
    T(sel("Nope")),
    T({"op": "select", "table": "Bridge"}),
    T({"op": "select", "table": "Bridge", "where": {}}),
    T({"op": "select", "table": "Bridge", "where": [], "extra": 1}),
    T(sel("Bridge", [], ["nope"])),
    T(sel("Bridge", [["nope", "==", 1]])),
    T(sel("Bridge", [["name", "==", 1]])),
    T(sel("Bridge", [["name", "~", "x"]])),
    T(sel("Bridge", [["name", "==", "x", "y"]])),
    T(sel("Bridge", [["name", "<", "x"]])),
    T(sel("Bridge", [["flood_vlans", "<", 3]])),
    T(sel("Bridge", [["external_ids", "<", ["map", []]]])),
    T(sel("Bridge", [["fail_mode", "==", "bogus"]])),
    T(sel("Port", [["tag", "<", 5000]])),
    T(sel("Bridge", [["fail_mode", "includes", ["set", ["secure", "standalone"]]]])),
    T(sel("Port", [["interfaces", "==", ["set", []]]])),
    T(sel("Port", [["interfaces", "includes", ["set", []]]], ["name"])),
    T(sel("Bridge", [["_uuid", "==", "x"]])),
    T(sel("Bridge", [True], ["name"]), sel("Bridge", [False], ["name"])),
    T(sel("Bridge", [["name", "includes", "br0"]], ["name"]), sel("Bridge", [["name", "excludes", "br0"]], ["name"])),
    T({"op": "insert", "table": "Bridge", "row": {"name": "x"}}, {"op": "abort"}),
    T({"op": "insert", "table": "Bridge", "row": {"name": "x", "fail_mode": "bogus"}}),
    T({"op": "insert", "table": "Port", "row": {"name": "p"}}),
    T({"op": "insert", "table": "Port", "row": {"name": "p", "interfaces": ["set", []]}}),
    T({"op": "insert", "table": "Bridge", "row": {"name": 5}}),
    T({"op": "insert", "table": "Bridge", "row": {"name": "a", "ports": ["uuid", "xyz"]}}),
    T({"op": "insert", "table": "Bridge", "row": {"name": "a", "external_ids": ["set", []]}}),
    T({"op": "insert", "table": "Bridge", "row": {"name": "a", "flood_vlans": 1.5}}),
    T({"op": "insert", "table": "Bridge", "row": {"name": "a", "flood_vlans": 99999999999999999999}}),
    T({"op": "insert", "table": "Bridge", "row": {"name": "a", "ports": ["named-uuid", "1bad"]}}),
    T({"op": "insert", "table": "Bridge", "uuid-name": "1bad", "row": {"name": "a"}}),
    T({"op": "insert", "table": "Bridge", "row": {"name": "a", "external_ids": ["map", [["a", "b"], ["a", "c"]]]}}),
    T({"op": "insert", "table": "Bridge", "row": {"name": "a", "flood_vlans": ["set", [1, 1]]}}),
    T({"op": "insert", "table": "Bridge", "row": {"name": "a", "nonexist": 1}}),
    T({"op": "insert", "table": "Open_vSwitch", "uuid-name": "a", "row": {}},
      {"op": "insert", "table": "Open_vSwitch", "uuid-name": "a", "row": {}}),
    T({"op": "insert", "table": "Open_vSwitch", "row": {}}),
    T({"op": "insert", "table": "Bridge", "row": {"name": "br0"}, "uuid-name": "x"},
      {"op": "mutate", "table": "Open_vSwitch", "where": [], "mutations": [["bridges", "insert", ["named-uuid", "x"]]]}),
    T({"op": "update", "table": "Bridge", "where": [], "row": {"name": "y"}}),
    T({"op": "update", "table": "Bridge", "where": [], "row": {"nope": 1}}),
    T({"op": "update", "table": "Bridge", "where": [], "row": []}),
    T({"op": "update", "table": "Bridge", "where": [], "row": {"fail_mode": "bogus"}}),
    T({"op": "update", "table": "Bridge", "where": [["_uuid", "==", ["uuid", "11111111-1111-1111-1111-111111111111"]]],
       "row": {}}),
    T({"op": "update", "table": "Bridge", "where": BR, "row": {"flood_vlans": ["set", [1, 2, 3]],
                                                             "external_ids": ["map", [["q", "r"]]]}}),
    T({"op": "mutate", "table": "Open_vSwitch", "where": [], "mutations": [["next_cfg", "/=", 0]]}),
    T({"op": "mutate", "table": "Open_vSwitch", "where": [], "mutations": [["next_cfg", "%=", 0]]}),
    T({"op": "mutate", "table": "Open_vSwitch", "where": [], "mutations": [["next_cfg", "+=", 9223372036854775807]]}),
    T({"op": "mutate", "table": "Open_vSwitch", "where": [], "mutations": [["next_cfg", "+=", 9223372036854775807]]}),
    T({"op": "mutate", "table": "Open_vSwitch", "where": [], "mutations": [["next_cfg", "-=", -9]]}),
    T({"op": "mutate", "table": "Open_vSwitch", "where": [], "mutations": [["next_cfg", "*=", -1]]},
      {"op": "mutate", "table": "Open_vSwitch", "where": [], "mutations": [["next_cfg", "/=", 7]]},
      sel("Open_vSwitch", [], ["next_cfg"])),
    T({"op": "mutate", "table": "Bridge", "where": [], "mutations": [["flood_vlans", "insert", ["set", [5000]]]]}),
    T({"op": "mutate", "table": "Bridge", "where": [], "mutations": [["flood_vlans", "*=", 1000]]}),
    T({"op": "mutate", "table": "Bridge", "where": [], "mutations": [["flood_vlans", "%=", 2]]}, sel("Bridge")),
    T({"op": "mutate", "table": "Bridge", "where": [], "mutations": [["flood_vlans", "+=", -1]]},
      sel("Bridge", [], ["flood_vlans"])),
    T({"op": "mutate", "table": "Bridge", "where": [], "mutations": [["external_ids", "+=", 2]]}),
    T({"op": "mutate", "table": "Bridge", "where": [], "mutations": [["stp_enable", "+=", True]]}),
    T({"op": "mutate", "table": "Bridge", "where": [], "mutations": [["flood_vlans", "frob", 2]]}),
    T({"op": "mutate", "table": "Bridge", "where": [], "mutations": [["name", "+=", "x"]]}),
    T({"op": "mutate", "table": "Bridge", "where": [], "mutations": [["nope", "insert", 1]]}),
    T({"op": "mutate", "table": "Bridge", "where": [], "mutations": [["flood_vlans"]]}),
    T({"op": "mutate", "table": "Bridge", "where": [], "mutations": {}}),
    T({"op": "mutate", "table": "Bridge", "where": [], "mutations": [["fail_mode", "insert", "secure"]]},
      {"op": "mutate", "table": "Bridge", "where": [], "mutations": [["fail_mode", "insert", "standalone"]]}),
    T({"op": "mutate", "table": "Bridge", "where": [], "mutations": [["fail_mode", "insert", "bogus"]]}),
    T({"op": "mutate", "table": "Bridge", "where": [], "mutations": [
        ["external_ids", "insert", ["map", [["q", "z"], ["s", "t"]]]]]}, sel("Bridge", [], ["external_ids"])),
    T({"op": "mutate", "table": "Bridge", "where": [], "mutations": [
        ["external_ids", "delete", ["map", [["q", "z"], ["s", "t"]]]]]}, sel("Bridge", [], ["external_ids"])),
    T({"op": "mutate", "table": "Bridge", "where": [], "mutations": [["external_ids", "delete", ["set", ["q"]]]]},
      sel("Bridge", [], ["external_ids"])),
    T({"op": "mutate", "table": "Bridge", "where": [], "mutations": [["external_ids", "delete", ["map", [["a", 1]]]]]}),
    T({"op": "mutate", "table": "Port", "where": [], "mutations": [["interfaces", "delete", sel("Port")["where"]]]}),
    T({"op": "delete", "table": "Port", "where": [["name", "==", "br0"]]}),
    T({"op": "delete", "table": "Bridge", "where": []}),
    T({"op": "wait", "table": "Bridge", "where": [], "until": "<", "rows": []}),
    T({"op": "wait", "table": "Bridge", "where": [], "until": "==", "rows": [{"name": "br0"}], "columns": ["name"],
       "timeout": 0}),
    T({"op": "wait", "table": "Bridge", "where": [], "until": "==", "rows": [{"name": "br0"}, {"name": "br0"}],
       "columns": ["name"], "timeout": 0}),
    T({"op": "wait", "table": "Bridge", "where": [], "until": "==", "rows": [{"name": "br0"}], "timeout": 0}),
    T({"op": "wait", "table": "Bridge", "where": [], "until": "==", "rows": [], "columns": [], "timeout": 0}),
    T({"op": "wait", "table": "Bridge", "where": [], "until": "!=", "rows": [{"name": "br0"}], "columns": ["name"],
       "timeout": 0}),
    T({"op": "commit"}),
    T({"op": "commit", "durable": True}),
    T({"op": "comment", "comment": 5}),
    T({"op": "comment", "comment": "hello"}),
    T({"op": "assert", "lock": "foo"}),
    {"method": "lock", "params": ["l1"]},
    T({"op": "assert", "lock": "l1"}),
    {"method": "lock", "params": ["l1"]},
    {"method": "unlock", "params": ["l1"]},
    {"method": "unlock", "params": ["l1"]},
    {"method": "monitor_cancel", "params": ["zz"]},
    {"method": "monitor", "params": ["Nope", "m5", {}]},
    {"method": "monitor", "params": [DB, "m", {"Bridge": {"columns": ["name", "flood_vlans"]}}]},
    {"method": "monitor", "params": [DB, "m", {"Bridge": {"columns": ["name"]}}]},
    {"method": "monitor_cond", "params": [DB, "c", {"Bridge": [{"columns": ["name", "external_ids"],
                                                                "where": [["name", "==", "zz"], ["name", "==", "br0"]]}]}]},
    {"method": "monitor_cond", "params": [DB, "c2", {"Port": [{"columns": ["name"], "where": [False]}]}]},
    T({"op": "update", "table": "Bridge", "where": [], "row": {"external_ids": ["map", [["n", "1"]]],
                                                            "flood_vlans": ["set", [7]]}}),
    {"method": "monitor_cond_change", "params": ["c", "c3", {"Bridge": [{"where": [False]}]}]},
    {"method": "monitor_cancel", "params": ["m"]},
    T({"op": "update", "table": "Bridge", "where": [], "row": {"external_ids": ["map", []]}}),
    {"method": "echo", "params": []},
]


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.buf = ""

    def request(self, msg, id):
        """Send a request; return the notifications and the reply that answer it."""
        self.s.sendall(json.dumps(dict(msg, id=id)).encode())
        out = []
        dec = json.JSONDecoder()
        deadline = time.monotonic() + 10
        while True:
            text = self.buf.lstrip()
            if text:
                try:
                    obj, end = dec.raw_decode(text)
                    self.buf = text[end:]
                    out.append(obj)
                    if obj.get("id") == id:
                        return out
                    continue
                except ValueError:
                    pass
            self.s.settimeout(max(0.01, deadline - time.monotonic()))
            data = self.s.recv(65536)
            assert data, "connection closed"
            self.buf += data.decode()


def canon(v: Any) -> Any:
    """Mask UUIDs, drop "details"/"syntax" wording, and sort what ovsdb-server orders by UUID."""
    if isinstance(v, str):
        return UUID_RE.sub("<uuid>", v)
    if isinstance(v, list):
        items = [canon(x) for x in v]
        if items and all(isinstance(x, dict) for x in items):
            return sorted(items, key=lambda x: json.dumps(x, sort_keys=True))
        return items
    if isinstance(v, dict):
        if v.get("result", 0) is None and v.get("error") is not None:
            # JSON-RPC 1.0 (and RFC 7047) say an error reply has "result": null; ovsdb-server omits the member.
            v = {k: x for k, x in v.items() if k != "result"}
        if "error" in v and isinstance(v["error"], str) and set(v) <= {"error", "details", "syntax"}:
            return {"error": v["error"]}
        out = {canon(k): canon(x) for k, x in v.items()}
        if all(isinstance(k, str) and UUID_RE.fullmatch(k) for k in v):
            return sorted(out.values(), key=lambda x: json.dumps(x, sort_keys=True))
        return out
    return v


def test_same_replies_as_ovsdb_server(tmp_path):
    real = ServerProc(str(tmp_path / "real"), "real").start()
    ours = ServerProc(str(tmp_path / "ours"), "ours").start()
    try:
        conns = [Conn(real.sock), Conn(ours.sock)]
        diffs = []
        for i, req in enumerate(REQUESTS):
            replies = [canon(c.request(req, i)) for c in conns]
            if replies[0] != replies[1]:
                diffs.append(f"#{i} {json.dumps(req)[:150]}\n  real: {json.dumps(replies[0])[:400]}\n"
                             f"  ours: {json.dumps(replies[1])[:400]}")
        assert not diffs, "\n".join(diffs)
    finally:
        real.stop()
        ours.stop()
