"""OpenFlow connections (pyvswitch.openflow.vconn): addresses, framing, HELLO negotiation, the asyncio
``Connection``/``Listener`` and the blocking client, between our own two ends and against the real ovs-ofctl."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch.openflow import ofp_msgs as M
from pyvswitch.openflow import vconn as V
from pyvswitch.util.clock import ManualClock

T = TypeVar("T")
ENV = dict(os.environ, LC_ALL="C", LANG="C")

# What a real ovs-vswitchd 3.1 (bridge with protocols=OpenFlow13) sent back to a client whose HELLO offered
# only OpenFlow 1.0 (the first message), and to one whose HELLO had a version bitmap of 0x01 and 0x03.
REAL_HELLO_13 = "04000010000000020001000800000010"
REAL_HELLO_FAILED_10 = ("010100520000000000000000576520737570706f72742076657273696f6e20307830342c20796f75207375"
                        "70706f72742076657273696f6e20307830312c206e6f20636f6d6d6f6e2076657273696f6e732e")
REAL_HELLO_FAILED_BITMAP = ("030100590000000000000000576520737570706f72742076657273696f6e20307830342c20796f7520"
                            "737570706f72742076657273696f6e7320307830312c20307830332c206e6f20636f6d6d6f6e2076"
                            "657273696f6e732e")


def run(coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


def ofp_print(data: bytes) -> str:
    return subprocess.run(["ovs-ofctl", "ofp-print", data.hex()], capture_output=True, text=True, env=ENV,
                          check=True, timeout=30).stdout


def sock_path(tmp_path: Path, name: str = "s.sock") -> str:
    # AF_UNIX paths are limited to 108 bytes; pytest's tmp_path can be long.
    path = str(tmp_path / name)
    assert len(path) < 100
    return path


# --------------------------------------------------------------------------------------------------- addresses


@pytest.mark.parametrize("text, kind, host, port, path, canonical", [
    ("tcp:192.0.2.1", "tcp", "192.0.2.1", 6653, "", "tcp:192.0.2.1:6653"),
    ("tcp:192.0.2.1:6633", "tcp", "192.0.2.1", 6633, "", "tcp:192.0.2.1:6633"),
    ("tcp:[::1]:6653", "tcp", "::1", 6653, "", "tcp:[::1]:6653"),
    ("tcp:[fe80::1]", "tcp", "fe80::1", 6653, "", "tcp:[fe80::1]:6653"),
    ("unix:/var/run/x.sock", "unix", "", 0, "/var/run/x.sock", "unix:/var/run/x.sock"),
    ("ptcp:", "ptcp", "", 6653, "", "ptcp:6653"),
    ("ptcp:6633", "ptcp", "", 6633, "", "ptcp:6633"),
    ("ptcp:0:127.0.0.1", "ptcp", "127.0.0.1", 0, "", "ptcp:0:127.0.0.1"),
    ("ptcp::127.0.0.1", "ptcp", "127.0.0.1", 6653, "", "ptcp:6653:127.0.0.1"),
    ("ptcp:6653:[::1]", "ptcp", "::1", 6653, "", "ptcp:6653:[::1]"),
    ("punix:/tmp/br0.mgmt", "punix", "", 0, "/tmp/br0.mgmt", "punix:/tmp/br0.mgmt"),
])
def test_parse_address(text: str, kind: str, host: str, port: int, path: str, canonical: str) -> None:
    a = V.parse_address(text)
    assert (a.kind, a.host, a.port, a.path) == (kind, host, port, path)
    assert str(a) == canonical
    assert V.parse_address(str(a)) == a
    assert a.passive == kind.startswith("p")


def test_listen_on_all_addresses_only_when_written() -> None:
    assert V.parse_address("ptcp:6653").listens_on_all
    assert V.parse_address("ptcp:6653").bind_host == "0.0.0.0"
    assert V.parse_address("ptcp:6653:0.0.0.0").listens_on_all
    assert V.parse_address("ptcp:6653:[::]").listens_on_all
    assert not V.parse_address("ptcp:6653:127.0.0.1").listens_on_all
    assert not V.parse_address("ptcp:6653:[::1]").listens_on_all
    assert not V.parse_address("punix:/x").listens_on_all


@pytest.mark.parametrize("text, message", [
    ("tcp:", "tcp:: missing IP address"),
    ("tcp:1.2.3.4:99999", 'tcp:1.2.3.4:99999: bad port number "99999"'),
    ("tcp:1.2.3.4:abc", 'tcp:1.2.3.4:abc: bad port number "abc"'),
    ("tcp:foo", 'tcp:foo: "foo" is not an IP address'),
    ("tcp:::1", "tcp:::1: an IPv6 address must be written in brackets, e.g. [::1]"),
    ("tcp:[::1", "tcp:[::1: missing ']' after IPv6 address"),
    ("tcp:[::1]x", "tcp:[::1]x: unexpected text after ']'"),
    ("unix:", "unix:: missing socket file name"),
    ("punix:", "punix:: missing socket file name"),
    ("ptcp:x", 'ptcp:x: bad port number "x"'),
    ("ptcp:6653:", "ptcp:6653:: missing IP address after ':'"),
    ("ptcp:6653:example", 'ptcp:6653:example: "example" is not an IP address'),
    ("ssl:1.2.3.4", ('ssl:1.2.3.4: unknown connection type "ssl" (expected tcp:IP[:PORT], unix:PATH, '
                     "ptcp:[PORT][:IP] or punix:PATH)")),
    ("br0", ('br0: unknown connection type "br0" (expected tcp:IP[:PORT], unix:PATH, ptcp:[PORT][:IP] or '
             "punix:PATH)")),
])
def test_parse_address_errors(text: str, message: str) -> None:
    with pytest.raises(V.AddressError) as e:
        V.parse_address(text)
    assert str(e.value) == message


# ----------------------------------------------------------------------------------------------------- framing


def test_split_messages() -> None:
    a = M.encode("OFPT_ECHO_REQUEST", 4, b"abc", 1)
    b = M.encode("OFPT_HELLO", 1, b"", 2)
    buf = bytearray(a + b + a[:5])
    assert V.split_messages(buf) == [a, b]
    assert buf == a[:5]
    buf += a[5:]
    assert V.split_messages(buf) == [a]
    assert buf == b""
    bad = b"\x04\x02\x00\x07\x00\x00\x00\x00"
    buf = bytearray(a + bad + b)
    assert V.split_messages(buf) == [a]  # The message before the bad header comes out first.
    assert buf == bad + b
    with pytest.raises(V.FramingError) as e:
        V.split_messages(buf)
    assert str(e.value) == "received too-short ofp_header (7 bytes)"
    assert e.value.length == 7


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(min_value=1, max_value=40))
def test_split_messages_fuzz(data: bytes, chunk: int) -> None:
    """Any bytes, fed in any chunks: whole messages in order, or FramingError, nothing else; what is returned
    plus what stays buffered is exactly what was fed."""
    buf = bytearray()
    out: list[bytes] = []
    fed = 0
    try:
        for i in range(0, len(data), chunk):
            buf += data[i:i + chunk]
            fed = i + len(data[i:i + chunk])
            while msgs := V.split_messages(buf):
                out += msgs
    except V.FramingError as e:
        assert e.length < 8
        assert bytes(buf[2:4]) == e.length.to_bytes(2, "big")
    else:
        assert b"".join(out) + bytes(buf) == data[:fed]
    for m in out:
        assert len(m) >= 8 and int.from_bytes(m[2:4], "big") == len(m)


# ------------------------------------------------------------------------------------------------- negotiation


@pytest.mark.parametrize("versions, text", [
    (set(), "no versions"), ({4}, "version 0x04"), ({1}, "version 0x01"), ({1, 2, 3, 4, 5, 6},
                                                                            "version 0x06 and earlier"),
    ({1, 2}, "version 0x02 and earlier"), ({1, 4}, "versions 0x01, 0x04"), ({2, 3}, "versions 0x02, 0x03"),
])
def test_versions_text(versions: set[int], text: str) -> None:
    assert V.versions_text(versions) == text


def test_negotiate() -> None:
    assert V.negotiate({1, 2, 3, 4}, {4, 5, 6}) == 4
    assert V.negotiate(V.ALL_VERSIONS, {1}) == 1
    assert V.negotiate({4}, {1, 2, 3}) is None


def test_hello_matches_ovs() -> None:
    # What ovs-ofctl sends for -O OpenFlow13 (captured), and no bitmap when the versions are 1.0 up to the top.
    assert M.encode_hello({4}, 1).hex() == "04000010000000010001000800000010"
    assert M.encode_hello(V.ALL_VERSIONS, 1).hex() == "0600000800000001"
    assert M.encode_hello({1, 3}, 1).hex() == "0300001000000001000100080000000a"
    assert V.peer_versions(bytes.fromhex(REAL_HELLO_13)) == {4}
    assert V.peer_versions(bytes.fromhex("0300000800000001")) == {1, 2, 3}
    # A bitmap that claims version 0x00 does not make it a version.
    assert V.peer_versions(bytes.fromhex("04000010000000010001000800000011")) == {4}


def test_hello_failed_is_byte_exact_with_ovs() -> None:
    got = V.encode_hello_failed(1, V.hello_failed_text({4}, {1}))
    assert got.hex() == REAL_HELLO_FAILED_10
    got = V.encode_hello_failed(3, V.hello_failed_text({4}, {1, 3}))
    assert got.hex() == REAL_HELLO_FAILED_BITMAP
    assert ofp_print(got) == ("OFPT_ERROR (OF1.2) (xid=0x0): OFPHFC_INCOMPATIBLE\n"
                              "We support version 0x04, you support versions 0x01, 0x03, no common versions.\n")
    # Open vSwitch formats the text into 128 bytes.
    assert len(V.hello_failed_text({1, 3, 5}, {2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22})) == 127


# ------------------------------------------------------------------------------------------------ asyncio side


class Served:
    """A listener whose connections answer barrier requests and record what they receive."""

    def __init__(self) -> None:
        self.conns: list[V.Connection] = []
        self.received: list[bytes] = []

    def handler(self, conn: V.Connection, data: bytes) -> None:
        self.received.append(data)
        msg = M.decode(data)
        if msg.type == "BARRIER_REQUEST":
            conn.send(M.encode(M.raw_for("BARRIER_REPLY", conn.version or 1), conn.version or 1, b"", msg.xid))


@pytest.mark.parametrize("kind", ["unix", "tcp"])
def test_connection_between_our_two_ends(tmp_path: Path, kind: str) -> None:
    async def main() -> None:
        served = Served()
        addr = f"punix:{sock_path(tmp_path)}" if kind == "unix" else "ptcp:0:127.0.0.1"
        listener = V.Listener(addr, served.conns.append, {1, 3, 4}, handler=served.handler)
        await listener.start()
        try:
            target = f"unix:{sock_path(tmp_path)}" if kind == "unix" else f"tcp:127.0.0.1:{listener.port}"
            conn = await V.connect(target, {4, 5, 6})
            assert conn.version == 4 and conn.peer_versions == {1, 3, 4}
            assert conn.name == target and conn.is_connected
            await asyncio.sleep(0.05)
            assert len(served.conns) == 1
            peer = served.conns[0]
            assert peer.version == 4 and peer.peer_versions == {4, 5, 6}
            if kind == "unix":
                assert peer.name.startswith("unix#")
            else:
                local = conn.transport.get_extra_info("sockname") if conn.transport else None
                assert local is not None and peer.name == f"tcp:127.0.0.1:{local[1]}"
            # A request and its reply; an echo request answered by the connection itself.
            conn.send(M.encode("OFPT11_BARRIER_REQUEST", 4, b"", 77))
            reply = await conn.recv()
            assert M.decode(reply).type == "BARRIER_REPLY" and M.decode(reply).xid == 77
            conn.send(M.encode("OFPT_ECHO_REQUEST", 4, b"ping", 78))
            echo = await conn.recv()
            assert echo == M.encode("OFPT_ECHO_REPLY", 4, b"ping", 78)
            assert [M.decode(m).type for m in served.received] == ["BARRIER_REQUEST"]
            assert conn.n_tx_msgs == 3 and conn.n_rx_msgs == 3  # HELLO, barrier, echo each way.
            assert peer.n_rx_msgs == 3 and peer.n_tx_msgs == 3
            # Closing one end closes the other (EOF), which leaves the listener's set.
            conn.close()
            await asyncio.wait_for(peer.wait_closed(), 5)
            assert peer.error == V.EOF_ERROR and conn.error == 0
            assert listener.connections == set()
            with pytest.raises(V.VconnError) as e:
                conn.send(M.encode("OFPT_ECHO_REQUEST", 4))
            assert e.value.errno == errno.ENOTCONN
            messages = [m async for m in conn]
            assert messages == []
        finally:
            await listener.close()
        if kind == "unix":
            assert not os.path.exists(sock_path(tmp_path))
    run(main())


def test_negotiation_failure_between_our_ends(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        accepted: list[V.Connection] = []
        listener = V.Listener(f"punix:{sock_path(tmp_path)}", accepted.append, {4})
        await listener.start()
        try:
            with pytest.raises(V.VconnError) as e:
                await V.connect(f"unix:{sock_path(tmp_path)}", {1})
            assert e.value.errno == errno.EPROTO and e.value.strerror == "Protocol error"
            await asyncio.sleep(0.05)
            assert accepted == [] and listener.connections == set()
            # The listener lives on.
            conn = await V.connect(f"unix:{sock_path(tmp_path)}", V.ALL_VERSIONS)
            assert conn.version == 4
            conn.close()
        finally:
            await listener.close()
    with caplog.at_level(logging.WARNING, logger="pyvswitch.vconn"):
        run(main())
    lines = [r.getMessage() for r in caplog.records if r.name == "pyvswitch.vconn"]
    path = sock_path(tmp_path)
    assert f"unix:{path}: version negotiation failed (we support version 0x01, peer supports version 0x04)" \
        in lines
    assert any(line.endswith(": version negotiation failed (we support version 0x04, peer supports version "
                             "0x01)") and line.startswith("unix#") for line in lines)


def test_the_peer_receives_hello_failed(tmp_path: Path) -> None:
    """A raw client offering only OpenFlow 1.0 gets our HELLO, then the HELLO_FAILED error, then EOF."""
    async def main() -> None:
        listener = V.Listener(f"punix:{sock_path(tmp_path)}", lambda c: None, {4})
        await listener.start()
        try:
            reader, writer = await asyncio.open_unix_connection(sock_path(tmp_path))
            writer.write(bytes.fromhex("0100000800000007"))
            data = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            hello, error = data[:16], data[16:]
            assert hello[:4] + hello[8:] == bytes.fromhex(REAL_HELLO_13)[:4] + bytes.fromhex(REAL_HELLO_13)[8:]
            assert error.hex() == REAL_HELLO_FAILED_10
        finally:
            await listener.close()
    run(main())


def run_ofctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ovs-ofctl", *args], check=False, capture_output=True, text=True, env=ENV, timeout=30)


def test_real_ovs_ofctl_negotiates_with_our_listener(tmp_path: Path) -> None:
    """ovs-ofctl -O OpenFlow13 show against our listener: version 1.3 is negotiated on both sides (ovs-ofctl
    sends its requests in OpenFlow 1.3 and prints our 1.3 replies); a FEATURES_REQUEST answered with an error
    is printed as such."""
    async def main() -> tuple[subprocess.CompletedProcess[str], list[V.Connection], list[str]]:
        seen: list[str] = []

        def handler(conn: V.Connection, data: bytes) -> None:
            msg = M.decode(data)
            seen.append(M.header_text(msg))
            v = conn.version or 1
            if msg.type == "FEATURES_REQUEST":
                conn.send(M.encode_error(v, "OFPBRC_BAD_TYPE", msg.xid, data))
            elif msg.type == "PORT_DESC_STATS_REQUEST":
                conn.send(M.encode(M.raw_for("PORT_DESC_STATS_REPLY", v), v, b"", msg.xid))
            elif msg.type == "GET_CONFIG_REQUEST":
                conn.send(M.encode("OFPT_GET_CONFIG_REPLY", v, struct.pack("!HH", 0, 0xFFFF), msg.xid))

        conns: list[V.Connection] = []
        listener = V.Listener(f"punix:{sock_path(tmp_path)}", conns.append, handler=handler)
        await listener.start()
        try:
            proc = await asyncio.to_thread(run_ofctl, "-O", "OpenFlow13", "show", f"unix:{sock_path(tmp_path)}")
        finally:
            await listener.close()
        return proc, conns, seen

    proc, conns, seen = run(main())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[:2] == ["OFPT_ERROR (OF1.3) (xid=0x2): OFPBRC_BAD_TYPE",
                                            "OFPT_FEATURES_REQUEST (OF1.3) (xid=0x2):"]
    assert "OFPT_GET_CONFIG_REPLY (OF1.3)" in proc.stdout
    assert conns and all(c.version == 4 and c.peer_versions == {4} for c in conns)
    assert seen[0] == "OFPT_FEATURES_REQUEST (OF1.3) (xid=0x2):"


def test_real_ovs_ofctl_with_no_common_version(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """ovs-ofctl -O OpenFlow10 against a listener that allows only 1.3: both sides report the failed
    negotiation with Open vSwitch's texts and ovs-ofctl exits 1."""
    async def main() -> subprocess.CompletedProcess[str]:
        conns: list[V.Connection] = []
        listener = V.Listener(f"punix:{sock_path(tmp_path)}", conns.append, {4})
        await listener.start()
        try:
            proc = await asyncio.to_thread(run_ofctl, "-O", "OpenFlow10", "show", f"unix:{sock_path(tmp_path)}")
        finally:
            await listener.close()
        assert conns == []
        return proc

    with caplog.at_level(logging.WARNING, logger="pyvswitch.vconn"):
        proc = run(main())
    path = sock_path(tmp_path)
    assert proc.returncode == 1
    assert (f"vconn|WARN|unix:{path}: version negotiation failed (we support version 0x01, peer supports "
            "version 0x04)") in proc.stderr
    assert f"ovs-ofctl: unix:{path}: failed to connect to socket (" in proc.stderr
    ours = [r.getMessage() for r in caplog.records if "negotiation failed" in r.getMessage()]
    assert len(ours) == 1 and ours[0].endswith(
        ": version negotiation failed (we support version 0x04, peer supports version 0x01)")


def test_garbage_and_short_headers_close_the_connection_not_the_listener(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        conns: list[V.Connection] = []
        listener = V.Listener(f"punix:{sock_path(tmp_path)}", conns.append, log_prefix="br0<->")
        await listener.start()
        try:
            async def raw(data: bytes) -> bytes:
                reader, writer = await asyncio.open_unix_connection(sock_path(tmp_path))
                writer.write(data)
                got = await asyncio.wait_for(reader.read(), 5)  # Until the listener's side closes.
                writer.close()
                return got

            # A too-short length in the very first header.
            await raw(b"\x04\x00\x00\x04\x00\x00\x00\x01garbage")
            # Text instead of OpenFlow: "GET / HT" reads as version 0x47, type 0x45, length 0x2f20, not a HELLO.
            await raw(b"GET / HTTP/1.0\r\n\r\n" + bytes(22000))
            # A good HELLO, then a too-short header after negotiation.
            await raw(M.encode_hello({4}, 1) + b"\x04\x02\x00\x00\x00\x00\x00\x09")
            await asyncio.sleep(0.05)
            assert [c.error for c in conns] == [errno.EPROTO]
            assert listener.connections == set()
            # Still listening.
            conn = await V.connect(f"unix:{sock_path(tmp_path)}")
            assert conn.version == 6
            conn.close()
        finally:
            await listener.close()

    with caplog.at_level(logging.INFO):
        run(main())
    # The lines a real ovs-vswitchd logs for the same three clients (observed), with numbers of our own.
    lines = [f"{r.name.split('.')[-1]}|{r.levelname}|{r.getMessage()}" for r in caplog.records
             if r.name != "pyvswitch.vconn" or "listening" not in r.getMessage()]
    lines = [re.sub(r"unix#\d+", "unix#N", line).split("\n")[0] for line in lines]
    assert lines == [
        "vconn_stream|ERROR|received too-short ofp_header (4 bytes)",
        "rconn|WARNING|br0<->unix#N: connection dropped (Protocol error)",
        "ofp_msgs|WARNING|unknown OpenFlow message (version 71, type 69)",
        "vconn|WARNING|unix#N: received message while expecting hello: ***decode error: OFPBRC_BAD_TYPE***",
        "rconn|WARNING|br0<->unix#N: connection dropped (Protocol error)",
        "vconn_stream|ERROR|received too-short ofp_header (0 bytes)",
        "rconn|WARNING|br0<->unix#N: connection dropped (Protocol error)",
    ]


def test_wrong_version_after_negotiation_gets_bad_version(tmp_path: Path) -> None:
    async def main() -> None:
        listener = V.Listener(f"punix:{sock_path(tmp_path)}", lambda c: None, handler=lambda c, d: None)
        await listener.start()
        try:
            reader, writer = await asyncio.open_unix_connection(sock_path(tmp_path))
            writer.write(M.encode_hello({4}, 1))
            await reader.readexactly(8)  # Its HELLO (1.0 to 1.5, no bitmap).
            request = M.encode("OFPT11_BARRIER_REQUEST", 5, b"", 9)  # OpenFlow 1.4 on a 1.3 connection.
            writer.write(request)
            hdr = await reader.readexactly(8)
            body = await reader.readexactly(int.from_bytes(hdr[2:4], "big") - 8)
            reply = hdr + body
            # What ovs-vswitchd answered to the same request on an OpenFlow 1.3 connection (observed).
            assert reply.hex() == "0501001400000009000100000514000800000009"
            # A long one is sent back whole; an echo request in another version is answered in its version.
            writer.write(struct.pack("!BBHI", 5, 20, 100, 9) + bytes(92))
            writer.write(struct.pack("!BBHI", 5, 2, 12, 10) + b"ping")
            reply = await reader.readexactly(112)
            assert reply == bytes.fromhex("05010070000000090001000005140064") + bytes.fromhex("00000009") + bytes(92)
            assert await reader.readexactly(12) == struct.pack("!BBHI", 5, 3, 12, 10) + b"ping"
            writer.close()
        finally:
            await listener.close()
    run(main())


# -------------------------------------------------------------------------------------------------------- probes


async def _pair(tmp_path: Path, clock: ManualClock, probe: float, peer_probe: float = 0.0,
                ) -> tuple[V.Listener, V.Connection, list[V.Connection]]:
    accepted: list[V.Connection] = []
    listener = V.Listener(f"punix:{sock_path(tmp_path)}", accepted.append, probe_interval=peer_probe,
                          clock=clock)
    await listener.start()
    conn = await V.connect(f"unix:{sock_path(tmp_path)}", probe_interval=probe, clock=clock)
    await asyncio.sleep(0.05)
    return listener, conn, accepted


def test_inactivity_probe_answered(tmp_path: Path) -> None:
    async def main() -> None:
        clock = ManualClock(100.0)
        listener, conn, accepted = await _pair(tmp_path, clock, 5.0)
        try:
            assert conn.run() == 105.0 and conn.state == "ACTIVE"
            clock.advance(4.9)
            conn.run()
            assert conn.state == "ACTIVE" and conn.n_probes == 0
            clock.advance(0.1)
            assert conn.run() == 110.0
            assert conn.state == "IDLE" and conn.n_probes == 1
            await asyncio.sleep(0.05)  # The peer answers the echo request by itself.
            assert conn.state == "ACTIVE" and not conn.closed
            assert accepted[0].n_rx_msgs == 2  # HELLO and our ECHO_REQUEST, which it did not pass on.
            assert conn.run() == 110.0  # The next probe is due an interval after the reply.
        finally:
            conn.close()
            await listener.close()
    run(main())


def test_inactivity_probe_unanswered_disconnects(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        clock = ManualClock()
        # A peer that negotiates and then never sends anything again.
        silent: list[asyncio.StreamWriter] = []

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            silent.append(writer)
            writer.write(M.encode_hello({4}, 1))
            while await reader.read(1000):
                pass

        server = await asyncio.start_unix_server(serve, sock_path(tmp_path))
        try:
            conn = await V.connect(f"unix:{sock_path(tmp_path)}", probe_interval=5.0, clock=clock)
            conn.log_name = "br0<->unix:x"
            clock.advance(5)
            conn.run()
            assert conn.state == "IDLE"
            clock.advance(4)
            conn.run()
            assert conn.state == "IDLE"
            clock.advance(1)
            assert conn.run() is None
            assert conn.closed and conn.error == errno.ETIMEDOUT and conn.error_logged
        finally:
            for w in silent:
                w.close()
            server.close()
            await server.wait_closed()
    with caplog.at_level(logging.DEBUG, logger="pyvswitch.rconn"):
        run(main())
    msgs = [r.getMessage() for r in caplog.records if r.name == "pyvswitch.rconn"]
    assert "br0<->unix:x: idle 5 seconds, sending inactivity probe" in msgs
    assert "br0<->unix:x: no response to inactivity probe after 5 seconds, disconnecting" in msgs


def test_hello_timeout_and_messages_before_hello(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A client that connects and never says HELLO is dropped after the listener's hello_timeout (1 s by
    default, as a real ovs-vswitchd does); one that sends another message first is told off.  The log lines
    are those ovs-vswitchd wrote for the same clients."""
    async def main() -> None:
        listener = V.Listener(f"punix:{sock_path(tmp_path)}", lambda c: None, hello_timeout=0.2,
                              log_prefix="br0<->")
        await listener.start()
        try:
            reader, writer = await asyncio.open_unix_connection(sock_path(tmp_path))
            data = await asyncio.wait_for(reader.read(), 5)
            assert data == M.encode_hello(V.ALL_VERSIONS, int.from_bytes(data[4:8], "big"))
            writer.close()
            assert listener.connections == set()
            reader, writer = await asyncio.open_unix_connection(sock_path(tmp_path))
            writer.write(M.encode("OFPT_ECHO_REQUEST", 4, b"", 5))
            await asyncio.wait_for(reader.read(), 5)
            writer.close()
        finally:
            await listener.close()
    with caplog.at_level(logging.INFO):
        run(main())
    lines = [re.sub(r"unix#\d+", "unix#N", f"{r.name.split('.')[-1]}|{r.getMessage()}") for r in caplog.records
             if "listening" not in r.getMessage()]
    assert lines == ["rconn|br0<->unix#N: connection timed out",
                     ("vconn|unix#N: received message while expecting hello: OFPT_ECHO_REQUEST (OF1.3) "
                      "(xid=0x5): 0 bytes of payload"),
                     "rconn|br0<->unix#N: connection dropped (Protocol error)"]


# ---------------------------------------------------------------------------------------------- listener files


def test_stale_socket_is_replaced_and_removed(tmp_path: Path) -> None:
    path = sock_path(tmp_path)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()  # A dead process's socket file: nobody listens.
    assert os.path.exists(path)

    async def main() -> None:
        listener = V.Listener(f"punix:{path}", lambda c: None)
        await listener.start()
        conn = await V.connect(f"unix:{path}")
        conn.close()
        await listener.close()
    run(main())
    assert not os.path.exists(path)

    Path(path).write_text("not a socket")

    async def refuse() -> None:
        listener = V.Listener(f"punix:{path}", lambda c: None)
        with pytest.raises(OSError, match="exists and is not a socket"):
            await listener.start()
    run(refuse())
    assert Path(path).read_text() == "not a socket"


def test_listener_rejects_active_address() -> None:
    with pytest.raises(V.AddressError, match="not a passive address"):
        V.Listener("tcp:127.0.0.1", lambda c: None)


def test_connect_errors(tmp_path: Path) -> None:
    async def main() -> None:
        with pytest.raises(V.VconnOpenError) as e:
            await V.connect(f"unix:{tmp_path}/missing.sock")
        assert e.value.errno == errno.ENOENT
        with pytest.raises(V.VconnOpenError) as e:
            await V.connect("tcp:nonsense")
        assert e.value.errno == errno.EAFNOSUPPORT
        # A closed TCP port on this machine refuses at once, which Open vSwitch's vconn_open already sees.
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        with pytest.raises(V.VconnOpenError) as e:
            await V.connect(f"tcp:127.0.0.1:{port}")
        assert e.value.errno == errno.ECONNREFUSED
    run(main())


# ----------------------------------------------------------------------------------------------- blocking side


class LoopThread:
    """An asyncio loop in a thread, hosting a Listener for blocking clients."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        async def wrap() -> T:
            return await fn()
        return asyncio.run_coroutine_threadsafe(wrap(), self.loop).result(10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def switch(tmp_path: Path) -> Iterator[tuple[str, list[bytes]]]:
    """A fake switch (OpenFlow 1.3 to 1.5) on punix:TMP/br0.mgmt: answers barrier requests, a flow-stats request with three replies
    (the first two with "more"), an echo request before each reply, and a features request with an error."""
    lt = LoopThread()
    received: list[bytes] = []

    def handler(conn: V.Connection, data: bytes) -> None:
        received.append(data)
        msg = M.decode(data)
        v = conn.version or 1
        if msg.type == "BARRIER_REQUEST":
            conn.send(M.encode(M.raw_for("BARRIER_REPLY", v), v, b"", msg.xid))
        elif msg.type == "FLOW_STATS_REQUEST":
            conn.send(M.encode("OFPT_ECHO_REQUEST", v, b"x", 999))
            conn.send(M.encode("OFPT_ECHO_REPLY", v, b"", 12345))  # Another xid: ignored by transact.
            for reply in M.encode_multipart_replies(M.raw_for("FLOW_STATS_REPLY", v), v, msg.xid,
                                                    [bytes(40)] * 3, max_len=16 + 40):
                conn.send(reply)
        elif msg.type == "FEATURES_REQUEST":
            conn.send(M.encode_error(v, "OFPBRC_BAD_TYPE", msg.xid, data))
        elif msg.type == "FLOW_MOD":
            conn.send(M.encode_error(v, "OFPBRC_EPERM", msg.xid, data))

    path = str(tmp_path / "br0.mgmt")
    listener = V.Listener(f"punix:{path}", lambda c: None, {4, 5, 6}, handler=handler)
    lt.call(listener.start)
    try:
        yield str(tmp_path), received
    finally:
        lt.call(listener.close)
        lt.stop()


def test_blocking_transact_and_barrier(switch: tuple[str, list[bytes]]) -> None:
    rundir, received = switch
    with V.open_target("br0", {4}, timeout=10, rundir=rundir) as c:
        assert c.version == 4 and c.name == f"unix:{rundir}/br0.mgmt"
        xid = c.next_xid()
        assert xid == 2  # As ovs-ofctl: the HELLO took xid 1.
        request = M.encode("OFPST11_FLOW_REQUEST", 4, struct.pack("!B3xII4xQQ", 255, 0xFFFFFFFF, 0xFFFFFFFF, 0, 0)
                           + struct.pack("!HH4x", 1, 4), xid)
        replies = c.transact(request)
        assert len(replies) == 3
        assert [M.decode(r).flags for r in replies] == [1, 1, 0]
        assert all(M.decode(r).xid == xid for r in replies)
        # An error reply is the result.
        features = M.encode("OFPT_FEATURES_REQUEST", 4, b"", c.next_xid())
        [error] = c.transact(features)
        assert M.decode_error(M.decode(error)) == ("OFPBRC_BAD_TYPE", features)
        # Errors for requests without replies come back before the barrier's reply.
        flow_mod = M.encode("OFPT11_FLOW_MOD", 4, bytes(40), c.next_xid())
        c.send(flow_mod)
        [error] = c.barrier()
        assert M.decode(error).xid == M.decode(flow_mod).xid
        assert c.barrier() == []
        # The switch's echo request was answered (before the barrier's reply, which came after it).
        assert M.encode("OFPT_ECHO_REPLY", 4, b"x", 999) in received


def test_blocking_open_errors(switch: tuple[str, list[bytes]], tmp_path: Path) -> None:
    rundir, _ = switch
    with pytest.raises(V.TargetError) as e:
        V.open_target("br0", {1}, timeout=10, rundir=rundir)
    assert str(e.value) == "br0: failed to connect to socket (Protocol error)"
    assert e.value.exit_code == 1
    with pytest.raises(V.TargetError) as e:
        V.open_target("br9", rundir=rundir)
    assert str(e.value) == "br9 is not a bridge or a socket"
    with pytest.raises(V.TargetError) as e:
        V.open_target(f"unix:{tmp_path}/nope", rundir=rundir)
    assert str(e.value) == f"connecting to unix:{tmp_path}/nope (No such file or directory)"
    # The same texts as the real ovs-ofctl for the same targets.
    real = run_ofctl("show", f"unix:{tmp_path}/nope")
    assert real.stderr.strip() == f"ovs-ofctl: connecting to unix:{tmp_path}/nope (No such file or directory)"
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = f"tcp:127.0.0.1:{s.getsockname()[1]}"
    s.close()
    with pytest.raises(V.TargetError) as e:
        V.open_target(closed, timeout=5)
    real = run_ofctl("show", closed)
    assert real.stderr.strip() == f"ovs-ofctl: connecting to {closed} (Connection refused)"
    assert str(e.value) == f"connecting to {closed} (Connection refused)"
    real = subprocess.run(["ovs-ofctl", "show", "br9"], check=False, capture_output=True, text=True, timeout=30,
                          env=dict(ENV, OVS_RUNDIR=rundir))
    assert real.stderr.strip() == "ovs-ofctl: br9 is not a bridge or a socket"


def test_resolve_target(switch: tuple[str, list[bytes]], monkeypatch: pytest.MonkeyPatch) -> None:
    rundir, _ = switch
    assert V.resolve_target("br0", rundir) == f"unix:{rundir}/br0.mgmt"
    assert V.resolve_target("tcp:127.0.0.1:6653", rundir) == "tcp:127.0.0.1:6653"
    # A path to a socket file works as a target, as in ovs-ofctl.
    assert V.resolve_target(f"{rundir}/br0.mgmt", "/nonexistent") == f"unix:{rundir}/br0.mgmt"
    monkeypatch.setenv("PYVS_RUNDIR", rundir)
    assert V.resolve_target("br0") == f"unix:{rundir}/br0.mgmt"
    monkeypatch.delenv("PYVS_RUNDIR")
    assert V.default_rundir() == "/var/run/pyvswitch"


def test_blocking_against_real_peer_hello(tmp_path: Path) -> None:
    """The blocking client's HELLO is ovs-ofctl's, byte for byte, and it answers a HELLO_FAILED peer."""
    path = sock_path(tmp_path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    got: list[bytes] = []

    def peer() -> None:
        c, _ = srv.accept()
        got.append(c.recv(100))
        c.sendall(bytes.fromhex(REAL_HELLO_13))
        c.settimeout(5)
        got.append(c.recv(1000))
        c.close()

    t = threading.Thread(target=peer)
    t.start()
    with pytest.raises(V.VconnError) as e:
        V.open_blocking(f"unix:{path}", {1}, timeout=10)
    t.join(10)
    srv.close()
    assert e.value.errno == errno.EPROTO
    assert got[0].hex() == "0100000800000001"  # What `ovs-ofctl -O OpenFlow10` sends.
    # The error it sends back names both sides' versions, in the peer's version.
    assert ofp_print(got[1]) == ("OFPT_ERROR (OF1.3) (xid=0x0): OFPHFC_INCOMPATIBLE\n"
                                 "We support version 0x01, you support version 0x04, no common versions.\n")


def test_relative_unix_paths_are_in_the_rundir(tmp_path: Path) -> None:
    rundir = str(tmp_path)
    assert V.resolve_target("unix:br0.mgmt", rundir) == f"unix:{rundir}/br0.mgmt"
    assert V.resolve_target("unix:/abs/x.sock", rundir) == "unix:/abs/x.sock"
    assert V.parse_address("punix:x.sock").in_rundir(rundir) == V.parse_address(f"punix:{rundir}/x.sock")
    assert V.parse_address("ptcp:1").in_rundir(rundir) == V.parse_address("ptcp:1")
    # ovs-ofctl looks there too (and reports the name as written).
    real = subprocess.run(["ovs-ofctl", "show", "unix:nope.sock"], check=False, capture_output=True, text=True,
                          timeout=30, env=dict(ENV, OVS_RUNDIR=rundir))
    assert real.stderr.strip() == "ovs-ofctl: connecting to unix:nope.sock (No such file or directory)"
    with pytest.raises(V.TargetError) as e:
        V.open_target("unix:nope.sock", rundir=rundir)
    assert str(e.value) == "connecting to unix:nope.sock (No such file or directory)"


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_ipv6_loopback() -> None:
    assert _ipv6_loopback(), "this machine has no IPv6 loopback (::1); the test needs one"
    async def main() -> None:
        accepted: list[V.Connection] = []
        listener = V.Listener("ptcp:0:[::1]", accepted.append)
        await listener.start()
        try:
            assert listener.name == f"ptcp:{listener.port}:[::1]"
            conn = await V.connect(f"tcp:[::1]:{listener.port}")
            await asyncio.sleep(0.05)
            assert conn.version == 6 and accepted[0].peer.startswith("tcp:[::1]:")
            conn.close()
        finally:
            await listener.close()
    run(main())


# ------------------------------------------------------------------------------------- against a real switch


class RealSwitch:
    """ovsdb-server + ovs-vswitchd (dummy datapath) in a private run directory, bridge br0 speaking only
    OpenFlow 1.3; stopped by pid."""

    def __init__(self, rundir: str) -> None:
        self.dir = rundir
        self.env = dict(ENV, OVS_RUNDIR=rundir, OVS_DBDIR=rundir, OVS_LOGDIR=rundir, OVS_SYSCONFDIR=rundir)
        db = f"unix:{rundir}/db.sock"

        def sh(*args: str) -> None:
            subprocess.run(args, check=True, env=self.env, capture_output=True, timeout=30)

        try:
            sh("ovsdb-tool", "create", f"{rundir}/conf.db", "/usr/share/openvswitch/vswitch.ovsschema")
            sh("ovsdb-server", f"{rundir}/conf.db", f"--remote=punix:{rundir}/db.sock",
               f"--pidfile={rundir}/ovsdb-server.pid", f"--log-file={rundir}/ovsdb-server.log", "--detach",
               "--no-chdir")
            sh("ovs-vsctl", f"--db={db}", "--no-wait", "init")
            sh("ovs-vswitchd", "--enable-dummy=override", "--disable-system", db,
               f"--pidfile={rundir}/ovs-vswitchd.pid", f"--log-file={rundir}/ovs-vswitchd.log", "--detach",
               "--no-chdir")
            sh("ovs-vsctl", f"--db={db}", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
               "protocols=OpenFlow13")
        except BaseException:
            self.stop()
            raise

    def log(self) -> str:
        return Path(self.dir, "ovs-vswitchd.log").read_text()

    def stop(self) -> None:
        for name in ("ovs-vswitchd", "ovsdb-server"):
            try:
                pid = int(Path(self.dir, f"{name}.pid").read_text().strip())
                os.kill(pid, 15)
            except (OSError, ValueError):
                continue
            for _ in range(500):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.02)


@pytest.fixture(scope="module")
def real_switch() -> Iterator[RealSwitch]:
    rundir = tempfile.mkdtemp(prefix="pyvs-vconn-")  # Short: Unix socket paths are limited to 108 bytes.
    try:
        sw = RealSwitch(rundir)
    except (OSError, subprocess.SubprocessError):
        shutil.rmtree(rundir, ignore_errors=True)
        raise
    yield sw
    sw.stop()
    shutil.rmtree(rundir, ignore_errors=True)


def test_blocking_client_against_real_ovs(real_switch: RealSwitch) -> None:
    with V.open_target("br0", timeout=10, rundir=real_switch.dir) as c:
        assert c.version == 4 and c.peer_versions == {4}
        [reply] = c.transact(M.encode("OFPT_FEATURES_REQUEST", 4, b"", c.next_xid()))
        assert M.decode(reply).type == "FEATURES_REPLY"
        # A request OVS refuses: its error is the result.
        request = struct.pack("!BBHI", 4, 99, 8, c.next_xid())  # A message type OpenFlow 1.3 does not have.
        [error] = c.transact(request)
        assert M.decode(error).type == "ERROR" and M.decode_error(M.decode(error))[0] == "OFPBRC_BAD_TYPE"
        assert c.barrier() == []
    with pytest.raises(V.TargetError) as e:
        V.open_target("br0", {1}, timeout=10, rundir=real_switch.dir)
    assert str(e.value) == "br0: failed to connect to socket (Protocol error)"
    time.sleep(0.2)
    assert "version negotiation failed (we support version 0x04, peer supports version 0x01)" in \
        real_switch.log()


def test_reconnector_against_real_ovs(real_switch: RealSwitch) -> None:
    from pyvswitch.openflow.rconn import Reconnector, State

    async def main() -> None:
        replies: list[bytes] = []
        rc = Reconnector(f"unix:{real_switch.dir}/br0.mgmt", handler=lambda c, d: replies.append(d))
        rc.start()
        try:
            for _ in range(50):
                if rc.is_connected:
                    break
                await asyncio.sleep(0.1)
            assert rc.state == State.ACTIVE and rc.version == 4
            assert rc.send(M.encode("OFPT_ECHO_REQUEST", 4, b"hi", 5))
            for _ in range(50):
                if replies:
                    break
                await asyncio.sleep(0.05)
            assert replies == [M.encode("OFPT_ECHO_REPLY", 4, b"hi", 5)]
        finally:
            await rc.close()
    run(main())


def test_controller_status_and_listener_against_real_ovs(real_switch: RealSwitch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """The real ovs-vswitchd as the client of our Listener (its controller connection), and its Controller
    status for a refused connection next to the one our Reconnector reports."""
    from pyvswitch.openflow.rconn import Reconnector

    def vsctl(*args: str) -> str:
        return subprocess.run(["ovs-vsctl", f"--db=unix:{real_switch.dir}/db.sock", *args], check=True,
                              capture_output=True, text=True, env=real_switch.env, timeout=30).stdout.strip()

    async def main() -> tuple[dict[str, str], str]:
        conns: list[V.Connection] = []
        listener = V.Listener("ptcp:0:127.0.0.1", conns.append)
        await listener.start()
        try:
            await asyncio.to_thread(vsctl, "set-controller", "br0", f"tcp:127.0.0.1:{listener.port}")
            for _ in range(100):
                if conns:
                    break
                await asyncio.sleep(0.05)
            assert conns and conns[0].version == 4 and conns[0].peer_versions == {4}
            assert conns[0].peer.startswith("tcp:127.0.0.1:")
            # A closed port: the switch's status, and ours for the same target.
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.close()
            await asyncio.to_thread(vsctl, "set-controller", "br0", f"tcp:127.0.0.1:{port}")
            real = ""
            for _ in range(100):  # ovs-vswitchd writes the status column every few seconds.
                real = await asyncio.to_thread(vsctl, "get", "controller", "br0", "status")
                if "last_error" in real:
                    break
                await asyncio.sleep(0.1)
            rc = Reconnector(f"tcp:127.0.0.1:{port}", name=f"br0<->tcp:127.0.0.1:{port}")
            rc.connect()
            await asyncio.sleep(0.1)
            ours = rc.status()
            await rc.close()
            return ours, real
        finally:
            await asyncio.to_thread(vsctl, "del-controller", "br0")
            await listener.close()

    with caplog.at_level(logging.INFO, logger="pyvswitch.rconn"):
        ours, real = run(main())
    assert real == '{last_error="Connection refused", state=BACKOFF}'
    assert ours == {"last_error": "Connection refused", "state": "BACKOFF"}
    lines = [f"{r.levelname}|{r.getMessage()}" for r in caplog.records if r.name == "pyvswitch.rconn"]
    their = [line.split("|rconn|", 1)[1] for line in real_switch.log().splitlines() if "|rconn|" in line
             and "connection failed (Connection refused)" in line]
    assert their and their[0].startswith("WARN|br0<->tcp:127.0.0.1:")
    assert [line.split(":", 1)[0] for line in lines[:3]] == ["INFO|br0<->tcp", "WARNING|br0<->tcp", "INFO|br0<->tcp"]
    assert [line.split(": ", 1)[1] for line in lines[:3]] == [
        "connecting...", "connection failed (Connection refused)", "waiting 1 seconds before reconnect"]
