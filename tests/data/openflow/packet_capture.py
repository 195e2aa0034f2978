#!/usr/bin/env python3
"""Capture the packet-ins and flow-removed messages a real ovs-vswitchd 3.1 sends to a controller.

Writes ``packet_ovs_async.jsonl`` next to this script, one message per line::

    {"kind": "packet_in", "version": 4, "format": "nxt_packet_in2", "hex": "..."}
    {"kind": "flow_removed", "version": 1, "nxm": true, "hex": "..."}

How: ``/work/shared/tools/ovs-reference`` runs a private ovs-vswitchd with a dummy datapath; a bridge ``br0``
with dummy ports p1 and p2 gets flows that send packets to the controller in several ways (``controller``
with a reason, a paused ``controller`` with userdata after setting registers, ``pkt_mark``, ``tun_id`` and
``metadata``, conntrack then ``controller``, a group bucket to the controller, a table-miss-like flow with a
cookie).  For each OpenFlow version and packet-in format, a minimal controller connects to ``br0.mgmt``, sends
HELLO, SET_CONFIG (miss_send_len 0xffff, which a service connection needs to receive asynchronous messages) and
NXT_SET_PACKET_IN_FORMAT (and NXT_SET_FLOW_FORMAT NXM for the NXM flow-removed variant), and records what
arrives while packets are injected with ``ovs-appctl netdev-dummy/receive`` and flows expire or are deleted.

During development the same controller also answered a paused packet-in with ``ofp_packet.encode_resume`` in
OpenFlow 1.0, 1.3 and 1.5: ovs-vswitchd accepted each NXT_RESUME (no error, barrier answered) and the packet
continued to its ``output:2``.

Usage: ``tests/data/openflow/packet_capture.py`` (needs the ovs-reference tool and Open vSwitch's utilities).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

REF = "/work/shared/tools/ovs-reference"
OUT = Path(__file__).resolve().parent / "packet_ovs_async.jsonl"
FORMATS = {0: "standard", 1: "nxt_packet_in", 2: "nxt_packet_in2"}

FLOWS = """\
table=0,in_port=1,udp actions=load:5->NXM_NX_REG3[],load:0x42->NXM_NX_PKT_MARK[],load:0x77->NXM_NX_TUN_ID[],\
set_field:0xabc->metadata,controller(reason=no_match,max_len=30),resubmit(,1)
table=1,udp actions=controller(userdata=01.02.03,pause),output:2
table=0,in_port=1,tcp actions=ct(table=2)
table=2,tcp,ct_state=+trk actions=controller(reason=action)
table=0,in_port=1,arp actions=group:1
table=0,in_port=1,icmp cookie=0x1234 actions=output:2
cookie=0x99,table=0,priority=10,in_port=2 actions=controller
"""

PACKETS = [
    ("p1", ("in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,"
            "dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2)")),
    ("p1", ("in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,"
            "dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1,dst=2)")),
    ("p1", ("in_port(1),eth(src=50:54:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=10.0.0.1,"
            "tip=10.0.0.2,op=1,sha=50:54:00:00:00:01,tha=00:00:00:00:00:00)")),
    ("p2", ("in_port(2),eth(src=50:54:00:00:00:03,dst=50:54:00:00:00:02),eth_type(0x86dd),ipv6(src=fe80::1,"
            "dst=fe80::2,label=0,proto=58,tclass=0,hlimit=255,frag=no),icmpv6(type=128,code=0)")),
]

FLOW_REMOVED = [
    ["ovs-ofctl", "add-flow", "br0",
     "table=3,priority=7,cookie=0x55,hard_timeout=1,send_flow_rem,tcp,nw_src=1.2.3.4,tp_dst=80 actions=drop"],
    ["ovs-ofctl", "add-flow", "br0", "table=4,idle_timeout=1,send_flow_rem,in_port=2,ip,reg0=5 actions=drop"],
    ["ovs-ofctl", "add-flow", "br0", "table=5,send_flow_rem,ipv6,ipv6_src=2001:db8::1,tun_id=5 actions=drop"],
    ["ovs-ofctl", "del-flows", "br0", "table=5"],
]


def _recv(s: socket.socket) -> bytes:
    h = b""
    while len(h) < 8:
        c = s.recv(8 - len(h))
        if not c:
            raise EOFError
        h += c
    n = struct.unpack("!H", h[2:4])[0]
    b = b""
    while len(b) < n - 8:
        c = s.recv(n - 8 - len(b))
        if not c:
            raise EOFError
        b += c
    return h + b


def controller(path: str, version: int, fmt: int, nxm: bool, secs: float, out: list[bytes]) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)

    def send(mtype: int, body: bytes = b"", xid: int = 1) -> None:
        s.sendall(struct.pack("!BBHI", version, mtype, 8 + len(body), xid) + body)

    send(0, struct.pack("!HHI", 1, 8, 1 << version))
    send(9, struct.pack("!HH", 0, 0xFFFF), 2)
    send(4, struct.pack("!III", 0x2320, 16, fmt), 3)
    if nxm:
        send(4, struct.pack("!III", 0x2320, 12, 2), 4)
    s.settimeout(0.2)
    end = time.time() + secs
    while time.time() < end:
        try:
            m = _recv(s)
        except TimeoutError:
            continue
        except EOFError:
            break
        if m[1] in (10, 11) or (m[1] == 4 and struct.unpack("!I", m[12:16])[0] in (14, 17, 30)):
            out.append(m)
        elif m[1] == 2:
            send(3, m[8:], struct.unpack("!I", m[4:8])[0])
        elif m[1] == 1:
            raise RuntimeError(f"error from the switch: {m.hex()}")
    s.close()


def run(env: dict[str, str], *args: str) -> None:
    subprocess.run(list(args), check=True, env=env, capture_output=True)


def session(env: dict[str, str], version: int, fmt: int, nxm: bool, actions: list[list[str]],
            secs: float) -> list[bytes]:
    got: list[bytes] = []
    t = threading.Thread(target=controller, args=(os.path.join(env["OVS_RUNDIR"], "br0.mgmt"), version, fmt,
                                                   nxm, secs, got))
    t.start()
    time.sleep(0.7)
    for a in actions:
        run(env, *a)
    t.join()
    return got


def main() -> int:
    d = tempfile.mkdtemp(prefix="pktcap")
    subprocess.run([REF, "start", d, "dummy"], check=True, capture_output=True)
    try:
        envtext = subprocess.run([REF, "env", d], check=True, capture_output=True, text=True).stdout
        env = dict(os.environ)
        for word in shlex.split(envtext):
            if "=" in word:
                k, v = word.split("=", 1)
                env[k] = v
        run(env, "ovs-vsctl", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
            "--", "add-port", "br0", "p1", "--", "set", "interface", "p1", "type=dummy", "ofport_request=1",
            "--", "add-port", "br0", "p2", "--", "set", "interface", "p2", "type=dummy", "ofport_request=2")
        run(env, "ovs-ofctl", "-O", "OpenFlow15", "add-group", "br0", "group_id=1,type=all,bucket=output:controller")
        flows = Path(d) / "flows"
        flows.write_text(FLOWS)
        run(env, "ovs-ofctl", "-O", "OpenFlow15", "add-flows", "br0", str(flows))
        inject = [["ovs-appctl", "netdev-dummy/receive", port, pkt] for port, pkt in PACKETS]
        records = []
        for version in range(1, 7):
            for fmt, fmt_name in FORMATS.items():
                for m in session(env, version, fmt, False, inject, 2.5):
                    records.append({"kind": "packet_in", "version": version, "format": fmt_name, "hex": m.hex()})
        for version in range(1, 7):
            for nxm in (False, True) if version == 1 else (False,):
                for m in session(env, version, 0, nxm, FLOW_REMOVED, 3.5):
                    if m[1] == 11 or (m[1] == 4 and struct.unpack("!I", m[12:16])[0] == 14):
                        records.append({"kind": "flow_removed", "version": version, "nxm": m[1] == 4,
                                        "hex": m.hex()})
        OUT.write_text("".join(json.dumps(r) + "\n" for r in records))
        print(f"{len(records)} messages -> {OUT}")
    finally:
        subprocess.run([REF, "stop", d], check=False, capture_output=True)
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
