"""Malformed and truncated OpenFlow messages never crash pyvs-vswitchd nor close a healthy connection.

A corpus built from every message kind the framing knows (``ofp_msgs.RAWS``), in every version it exists in:
empty bodies, bodies cut short, random bodies of many lengths, valid messages with one byte flipped, and messages
of another version than the connection's.  After each message an echo request must still be answered on the same
connection, and the daemon must have answered every message it refused with an OpenFlow error, never with the
generic error it sends when a handler fails unexpectedly (its log would say "internal error").
"""

from __future__ import annotations

import os
import random
import socket
import struct
import time

import pytest

from pyvswitch.flow.protocols import Proto
from pyvswitch.ofproto import flow_mod_text as FMT
from pyvswitch.openflow import ofp_flow_stats as FS
from pyvswitch.openflow import ofp_msgs as M
from pyvswitch.openflow.ofp_flow_mod import encode_flow_mod

from .conftest import Switchd

pytestmark = pytest.mark.timeout(300)


class Client:
    """A minimal blocking OpenFlow client, independent of the code under test."""

    def __init__(self, path: str, version: int) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.version = version
        self.buf = b""
        self.sock.sendall(M.encode_hello({version}, 1))
        hello = self.recv()
        assert hello[1] == 0

    def recv(self) -> bytes:
        while True:
            if len(self.buf) >= 8:
                n = struct.unpack_from("!H", self.buf, 2)[0]
                if len(self.buf) >= n:
                    msg, self.buf = self.buf[:n], self.buf[n:]
                    return msg
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed by the switch")
            self.buf += chunk

    def alive(self, xid: int) -> list[bytes]:
        """Send an echo request; return the messages that came before its reply."""
        self.sock.sendall(M.encode("OFPT_ECHO_REQUEST", self.version, b"ping", xid))
        before = []
        while True:
            m = self.recv()
            if m[1] == 3 and struct.unpack_from("!I", m, 4)[0] == xid:
                return before
            before.append(m)

    def close(self) -> None:
        self.sock.close()


def _corpus(version: int, rng: random.Random) -> list[bytes]:
    out = []
    for raw in M.RAWS.values():
        if not raw.lo <= version <= min(raw.hi, M.MAX_VERSION) or raw.type in ("HELLO", "ECHO_REQUEST",
                                                                                 "ECHO_REPLY", "ERROR"):
            continue
        lengths = {0, raw.min_len, max(0, raw.min_len - 1), raw.min_len + 1, raw.min_len + 8, raw.min_len + 40}
        for n in sorted(lengths):
            for fill in ("zero", "ones", "random"):
                body = (bytes(n) if fill == "zero" else b"\xff" * n if fill == "ones"
                        else bytes(rng.getrandbits(8) for _ in range(n)))
                try:
                    out.append(M.encode(raw.name, version, body, rng.getrandbits(31)))
                except ValueError:
                    continue
    # Headers that lie: unknown types, versions other than the connection's, vendor ids nobody knows.
    for mtype in (35, 99, 200, 255):
        out.append(struct.pack("!BBHI", version, mtype, 8, 7))
    other = 1 if version != 1 else 4
    out.append(M.encode(M.raw_for("FEATURES_REQUEST", other), other, b"", 8))
    out.append(struct.pack("!BBHIII", version, 4, 16, 9, 0x12345678, 1))
    return out


def _flow_mods(version: int) -> list[bytes]:
    """Valid flow-mods and a flow stats request in ``version``, to be damaged one byte at a time."""
    proto = {1: Proto.OF10_NXM, 4: Proto.OF13_OXM, 6: Proto.OF15_OXM}[version]
    out = []
    for text in ("priority=5,tcp,nw_src=10.0.0.0/8,tp_dst=80,actions=mod_tp_dst:8080,output:2",
                 ("table=1,reg0=7,actions=resubmit(,2),learn(table=3,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],"
                 "output:NXM_OF_IN_PORT[]),controller(userdata=01.02)")):
        out.append(encode_flow_mod(FMT.parse_flow_mod(text).fm, proto, 3))
    out.append(FS.encode_flow_stats_request(FS.FlowStatsRequest(), version, 4, nxm=version == 1))
    return out


@pytest.mark.parametrize("version", [1, 4, 6])
def test_malformed_messages_leave_the_connection_up(tmp_path: object, version: int) -> None:
    sw = Switchd(str(tmp_path))
    sw.start("--enable-dummy=override")
    try:
        sw.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy", "--", "add-port", "br0",
                 "p1", "--", "set", "interface", "p1", "type=dummy")
        mgmt = os.path.join(sw.rundir, "br0.mgmt")
        deadline = time.monotonic() + 10
        while not os.path.exists(mgmt):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        rng = random.Random(version)
        corpus = _corpus(version, rng)
        # Valid flow-mods and stats requests with one byte flipped.
        base = [M.encode(M.raw_for("FEATURES_REQUEST", version), version, b"", 1)] + _flow_mods(version)
        for data in base:
            for i in range(len(data)):
                if i in (2, 3):
                    continue  # The length field: a lie there desynchronises the stream, tested below.
                b = bytearray(data)
                b[i] ^= 0xFF
                corpus.append(bytes(b))
        c = Client(mgmt, version)
        answered = 0
        for i, data in enumerate(corpus):
            c.sock.sendall(data)
            replies = c.alive(0x70000000 + i)
            answered += len(replies)
            for r in replies:
                assert r[0] in (version, data[0]) or r[1] == 1, r.hex()
        assert answered > len(corpus) // 2
        c.close()
        # A length below the header's is a broken stream: that connection is closed, others live on.
        bad = Client(mgmt, version)
        bad.sock.sendall(struct.pack("!BBHI", version, 2, 4, 1))
        with pytest.raises((ConnectionError, OSError)):
            bad.alive(5)
        bad.close()
        good = Client(mgmt, version)
        assert good.alive(6) == []
        good.close()
        assert sw.proc is not None and sw.proc.poll() is None
        with open(os.path.join(sw.rundir, "pyvs-vswitchd.log"), errors="replace") as f:
            log = f.read()
        assert "internal error" not in log and "Traceback" not in log, log[-3000:]
    finally:
        sw.kill()
