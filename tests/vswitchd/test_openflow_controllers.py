"""Active controllers of pyvs-vswitchd: connection, roles, the Controller table, snooping, reconnection.

The controllers here are minimal OpenFlow peers written with plain sockets (the os-ken controller tests are in
tests/system); ``ovs-ofctl snoop`` is the real tool.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import time
from typing import Any

import pytest

from pyvswitch.flow.protocols import Proto
from pyvswitch.ofproto import flow_mod_text as FMT
from pyvswitch.openflow import ofp_msgs as M
from pyvswitch.openflow.ofp_flow_mod import encode_flow_mod

from .conftest import Switchd

pytestmark = pytest.mark.timeout(60)


class Controller:
    """Listens on 127.0.0.1; ``accept()`` takes the switch's connection and negotiates ``version``."""

    def __init__(self, version: int = 4) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.server.settimeout(20)
        self.port = self.server.getsockname()[1]
        self.version = version
        self.sock: socket.socket | None = None
        self.buf = b""

    def accept(self) -> None:
        self.sock, _ = self.server.accept()
        self.sock.settimeout(10)
        self.sock.sendall(M.encode_hello({self.version}, 1))
        assert self.recv_type(0)[1] == 0

    def recv(self) -> bytes:
        assert self.sock is not None
        while True:
            if len(self.buf) >= 8:
                n = struct.unpack_from("!H", self.buf, 2)[0]
                if len(self.buf) >= n:
                    m, self.buf = self.buf[:n], self.buf[n:]
                    return m
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def recv_type(self, mtype: int) -> bytes:
        while True:
            m = self.recv()
            if m[1] == mtype:
                return m
            if m[1] == 2:   # Echo request: answer, as a controller must.
                assert self.sock is not None
                self.sock.sendall(bytes([m[0], 3]) + m[2:])

    def transact(self, data: bytes, reply_type: int) -> bytes:
        assert self.sock is not None
        self.sock.sendall(data)
        return self.recv_type(reply_type)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.server.close()


def _role_request(role: int, generation: int, xid: int) -> bytes:
    return M.encode("OFPT12_ROLE_REQUEST", 4, struct.pack("!I4xQ", role, generation), xid)


@pytest.fixture
def switch(tmp_path: Any) -> Any:
    sw = Switchd(str(tmp_path))
    sw.start("--enable-dummy=override")
    sw.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy", "--", "add-port", "br0", "p1",
             "--", "set", "interface", "p1", "type=dummy", "ofport_request=1")
    yield sw
    sw.kill()


def _controller_rows(sw: Switchd) -> dict[str, dict[str, str]]:
    out = sw.vsctl("--columns=target,is_connected,role,status", "--format=csv", "--data=bare", "--no-headings",
                   "list", "controller", wait=False).stdout
    rows = {}
    for line in out.splitlines():
        target, connected, role, status = (line.split(",", 3) + ["", "", ""])[:4]
        rows[target] = {"is_connected": connected, "role": role, "status": status}
    return rows


def test_two_controllers_roles_and_status(switch: Switchd) -> None:
    a, b = Controller(), Controller()
    try:
        switch.vsctl("set-controller", "br0", f"tcp:127.0.0.1:{a.port}", f"tcp:127.0.0.1:{b.port}")
        a.accept()
        b.accept()
        # a becomes master, b slave; b's writes are refused with IS_SECONDARY (OFPBRC code 10 in 1.3).
        r = a.transact(_role_request(2, 1, 11), 25)
        assert struct.unpack_from("!I4xQ", r, 8) == (2, 1)
        r = b.transact(_role_request(3, 2, 12), 25)
        assert struct.unpack_from("!I4xQ", r, 8) == (3, 2)
        stale = a.transact(_role_request(2, 1, 13), 1)   # Generation 1 is older than 2: refused.
        assert M.decode_error(M.decode(stale))[0] == "OFPRRFC_STALE"
        barrier = M.encode("OFPT11_BARRIER_REQUEST", 4, b"", 20)
        flow_mod = encode_flow_mod(FMT.parse_flow_mod("priority=9,actions=drop").fm, Proto.OF13_OXM, 0x15)
        err = b.transact(flow_mod, 1)
        assert M.decode_error(M.decode(err))[0] == "OFPBRC_IS_SECONDARY"
        b.transact(barrier, 21)
        # a asks again for master with a newer generation; then b asks for master: a becomes slave.
        b.transact(_role_request(2, 3, 14), 25)
        err = a.transact(flow_mod, 1)
        assert M.decode_error(M.decode(err))[0] == "OFPBRC_IS_SECONDARY"
        switch.wait_until(lambda: {r["role"] for r in _controller_rows(switch).values()} == {"master", "slave"})
        rows = _controller_rows(switch)
        assert rows[f"tcp:127.0.0.1:{b.port}"]["role"] == "master"
        assert all(r["is_connected"] == "true" for r in rows.values())
        assert all("state=ACTIVE" in r["status"] for r in rows.values())
    finally:
        a.close()
        b.close()


def test_snoop_sees_controller_traffic_and_reconnection(switch: Switchd, tmp_path: Any) -> None:
    c = Controller()
    snoop = None
    try:
        env = dict(os.environ, OVS_RUNDIR=str(tmp_path))
        switch.vsctl("set-controller", "br0", f"tcp:127.0.0.1:{c.port}")
        c.accept()
        snoop = subprocess.Popen(["ovs-ofctl", "snoop", f"unix:{switch.rundir}/br0.snoop"], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, env=env)
        time.sleep(1.0)
        c.transact(M.encode("OFPT_FEATURES_REQUEST", 4, b"", 0x42), 6)
        time.sleep(0.5)
        # The controller goes away: the switch reports it and reconnects when it listens again.
        c.sock.close()  # type: ignore[union-attr]
        switch.wait_until(lambda: _controller_rows(switch)[f"tcp:127.0.0.1:{c.port}"]["is_connected"] == "false")
        c.accept()
        switch.wait_until(lambda: _controller_rows(switch)[f"tcp:127.0.0.1:{c.port}"]["is_connected"] == "true")
        status = _controller_rows(switch)[f"tcp:127.0.0.1:{c.port}"]["status"]
        assert "sec_since_disconnect" in status and "state=ACTIVE" in status
    finally:
        if snoop is not None:
            snoop.terminate()
            out = snoop.communicate(timeout=10)[0]
        c.close()
    assert "OFPT_FEATURES_REQUEST (OF1.3) (xid=0x42)" in out, out
    assert "OFPT_FEATURES_REPLY (OF1.3) (xid=0x42): dpid:" in out, out


def test_timeouts_send_flow_removed(switch: Switchd) -> None:
    c = Controller()
    try:
        switch.vsctl("set-controller", "br0", f"tcp:127.0.0.1:{c.port}")
        c.accept()
        fm = encode_flow_mod(FMT.parse_flow_mod("priority=9,hard_timeout=1,send_flow_rem,actions=drop").fm,
                             Proto.OF13_OXM, 0x30)
        c.transact(fm + M.encode("OFPT11_BARRIER_REQUEST", 4, b"", 0x31), 21)
        start = time.monotonic()
        removed = c.recv_type(11)
        elapsed = time.monotonic() - start
        text = subprocess.run(["ovs-ofctl", "ofp-print", removed.hex()], capture_output=True, text=True,
                              check=True).stdout
        assert "OFPT_FLOW_REMOVED (OF1.3)" in text and "priority=9" in text and "reason=hard" in text, text
        assert 0.5 < elapsed < 3.0
        out = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", f"unix:{switch.rundir}/br0.mgmt"],
                             capture_output=True, text=True, check=True).stdout
        assert "priority=9" not in out
    finally:
        c.close()
