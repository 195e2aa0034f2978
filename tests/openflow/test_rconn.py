"""The reconnecting OpenFlow connection (pyvswitch.openflow.rconn): back-off timing with a manual clock, states
and the Controller table's status column, probes, and real connections to our own listener."""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from pyvswitch.openflow import ofp_msgs as M
from pyvswitch.openflow import vconn as V
from pyvswitch.openflow.rconn import Reconnector, State
from pyvswitch.util.clock import ManualClock

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


async def settle() -> None:
    """Let the attempt tasks (and the loop's I/O) run."""
    for _ in range(5):
        await asyncio.sleep(0.01)


def rconn_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.levelname}|{r.getMessage()}" for r in caplog.records if r.name == "pyvswitch.rconn"]


class Refused:
    """A connector whose every attempt fails as a closed TCP port does."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, target: str, versions: frozenset[int]) -> V.Connection:
        self.calls += 1
        raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")


def test_backoff_doubles_to_max_backoff(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> list[tuple[float, float]]:
        clock = ManualClock(1000.0)
        connector = Refused()
        rc = Reconnector("tcp:127.0.0.1:1", name="br0<->tcp:127.0.0.1:1", clock=clock, connector=connector)
        assert rc.state == State.VOID and rc.status() == {"state": "VOID"}
        rc.connect()
        assert rc.state == State.CONNECTING
        await settle()
        waits: list[tuple[float, float]] = []  # (time of the attempt, back-off after it failed)
        for _ in range(6):
            assert rc.state == State.BACKOFF
            waits.append((clock.now(), rc.backoff))
            deadline = rc.next_deadline()
            assert deadline is not None
            clock.set(deadline - 0.001)
            rc.run()
            assert rc.state == State.BACKOFF  # Not yet.
            clock.set(deadline)
            rc.run()
            assert rc.state == State.CONNECTING
            await settle()
        assert connector.calls == 7
        assert rc.status() == {"last_error": "Connection refused", "state": "BACKOFF", "sec_since_disconnect": "0"}
        clock.advance(3.7)
        assert rc.status()["sec_since_disconnect"] == "3"
        assert not rc.is_connected and rc.last_error == errno.ECONNREFUSED
        await rc.close()
        assert rc.state == State.VOID
        return waits

    with caplog.at_level(logging.INFO, logger="pyvswitch.rconn"):
        waits = run(main())
    assert waits == [(1000.0, 1.0), (1001.0, 2.0), (1003.0, 4.0), (1007.0, 8.0), (1015.0, 8.0), (1023.0, 8.0)]
    name = "br0<->tcp:127.0.0.1:1"
    assert rconn_lines(caplog) == [
        f"INFO|{name}: connecting...", f"INFO|{name}: connection failed (Connection refused)",
        f"INFO|{name}: connecting...", f"INFO|{name}: connection failed (Connection refused)",
        f"INFO|{name}: waiting 2 seconds before reconnect",
        f"INFO|{name}: connecting...", f"INFO|{name}: connection failed (Connection refused)",
        f"INFO|{name}: waiting 4 seconds before reconnect",
        f"INFO|{name}: connecting...", f"INFO|{name}: connection failed (Connection refused)",
        f"INFO|{name}: continuing to retry connections in the background but suppressing further logging",
    ]


def test_max_backoff_setting() -> None:
    async def main() -> list[float]:
        clock = ManualClock()
        rc = Reconnector("tcp:127.0.0.1:1", clock=clock, connector=Refused(), max_backoff=3)
        rc.connect()
        backoffs = []
        for _ in range(4):
            await settle()
            backoffs.append(rc.backoff)
            clock.set(rc.next_deadline() or 0.0)
            rc.run()
        await rc.close()
        return backoffs
    assert run(main()) == [1.0, 2.0, 3.0, 3.0]


def test_unreachable_unix_socket_is_an_open_failure(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A Unix socket that is not there fails at once (as vconn_open does in Open vSwitch): a warning, and the
    back-off grows even on the first failure."""
    async def main() -> Reconnector:
        clock = ManualClock()
        rc = Reconnector(f"unix:{tmp_path}/none.sock", clock=clock)
        assert rc.probe_interval == 0  # No probes on Unix sockets.
        rc.connect()
        await settle()
        assert rc.state == State.BACKOFF and rc.backoff == 1.0
        # Not a disconnection: no sec_since_disconnect (as the real ovs-vswitchd's status shows).
        assert rc.status() == {"last_error": "No such file or directory", "state": "BACKOFF"}
        await rc.close()
        return rc
    with caplog.at_level(logging.INFO, logger="pyvswitch.rconn"):
        run(main())
    name = f"unix:{tmp_path}/none.sock"
    assert rconn_lines(caplog) == [f"INFO|{name}: connecting...",
                                   f"WARNING|{name}: connection failed (No such file or directory)",
                                   f"INFO|{name}: waiting 1 seconds before reconnect"]


def test_connecting_times_out(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        clock = ManualClock()
        hang: asyncio.Future[V.Connection] = asyncio.get_running_loop().create_future()
        attempts: list[str] = []

        async def connector(target: str, versions: frozenset[int]) -> V.Connection:
            attempts.append(target)
            return await hang

        rc = Reconnector("tcp:192.0.2.1", clock=clock, connector=connector)
        rc.connect()
        await settle()
        assert rc.state == State.CONNECTING and rc.next_deadline() == 1.0
        clock.advance(1.0)
        rc.run()
        await settle()
        assert rc.state == State.BACKOFF and rc.last_error == errno.ETIMEDOUT
        assert rc.status()["last_error"] == "Connection timed out"
        # A timeout does not reset the back-off: the next failure doubles it.
        assert rc.backoff == 1.0 and rc.next_deadline() == 2.0
        clock.advance(1.0)
        rc.run()
        await settle()
        clock.advance(1.0)
        rc.run()
        assert rc.backoff == 2.0 and len(attempts) == 2
        await rc.close()
    with caplog.at_level(logging.INFO, logger="pyvswitch.rconn"):
        run(main())
    assert "INFO|tcp:192.0.2.1: connection timed out" in rconn_lines(caplog)


async def _listener(tmp_path: Path, accepted: list[V.Connection], versions: frozenset[int] = V.ALL_VERSIONS,
                    ) -> V.Listener:
    def handler(conn: V.Connection, data: bytes) -> None:
        msg = M.decode(data)
        if msg.type == "FEATURES_REQUEST":
            conn.send(M.encode_error(msg.version, "OFPBRC_BAD_TYPE", msg.xid, data))

    listener = V.Listener("ptcp:0:127.0.0.1", accepted.append, versions, handler=handler)
    await listener.start()
    return listener


def test_connects_reports_status_and_reconnects(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        clock = ManualClock(50.0)
        accepted: list[V.Connection] = []
        listener = await _listener(tmp_path, accepted, frozenset({1, 4}))
        received: list[bytes] = []
        events: list[str] = []
        target = f"tcp:127.0.0.1:{listener.port}"
        rc = Reconnector(target, {4, 5}, name="br0<->" + target, clock=clock,
                         handler=lambda c, d: received.append(d),
                         on_connect=lambda c: events.append(f"up {c.version}"),
                         on_disconnect=lambda r: events.append("down"))
        try:
            rc.connect()
            await settle()
            assert rc.state == State.ACTIVE and rc.is_connected and rc.version == 4
            assert rc.connection is not None and rc.connection.log_name == "br0<->" + target
            assert rc.status() == {"state": "ACTIVE", "sec_since_connect": "0"}
            assert rc.seqno == 1 and events == ["up 4"]
            # Messages both ways.
            assert rc.send(M.encode("OFPT_FEATURES_REQUEST", 4, b"", 5))
            await settle()
            assert [M.decode(m).type for m in received] == ["ERROR"]
            clock.advance(12.5)
            assert rc.status() == {"state": "ACTIVE", "sec_since_connect": "12"}
            # The switch side drops the connection: closed by peer, back-off reset to 1 s (it was up long).
            accepted[0].close()
            await settle()
            assert rc.state == State.BACKOFF and events == ["up 4", "down"]
            assert rc.status() == {"last_error": "End of file", "state": "BACKOFF", "sec_since_connect": "12",
                                   "sec_since_disconnect": "0"}
            assert rc.backoff == 1.0 and not rc.send(b"x")
            clock.advance(1.0)
            rc.run()
            await settle()
            assert rc.state == State.ACTIVE and rc.seqno == 3 and events[-1] == "up 4"
            assert rc.status() == {"last_error": "End of file", "state": "ACTIVE", "sec_since_connect": "0",
                                   "sec_since_disconnect": "1"}
            # An explicit reconnect.
            rc.reconnect()
            assert rc.state == State.BACKOFF and rc.last_error == 0 and rc.backoff == 2.0
            assert "last_error" not in rc.status()
        finally:
            await rc.close()
            await listener.close()

    with caplog.at_level(logging.INFO, logger="pyvswitch.rconn"):
        run(main())
    lines = rconn_lines(caplog)
    assert all(line.startswith("INFO|br0<->tcp:127.0.0.1:") for line in lines)
    # The second connection lasted less than its back-off (1 s), so the wait doubles.
    assert [line.split(": ", 1)[1] for line in lines] == [
        "connecting...", "connected", "connection closed by peer", "connecting...", "connected", "disconnecting",
        "waiting 2 seconds before reconnect"]


def test_negotiation_failure_is_a_failed_attempt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        clock = ManualClock()
        accepted: list[V.Connection] = []
        listener = await _listener(tmp_path, accepted, frozenset({1}))
        rc = Reconnector(f"tcp:127.0.0.1:{listener.port}", {4}, clock=clock)
        try:
            rc.connect()
            await settle()
            assert rc.state == State.BACKOFF and rc.last_error == errno.EPROTO
            assert rc.status()["last_error"] == "Protocol error" and accepted == []
        finally:
            await rc.close()
            await listener.close()
    with caplog.at_level(logging.INFO, logger="pyvswitch.rconn"):
        run(main())
    assert any(line.endswith("connection failed (Protocol error)") for line in rconn_lines(caplog))


def test_probe_states_and_timeout(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """ACTIVE -> IDLE after probe_interval of silence (an echo request goes out), back to ACTIVE on the
    answer; a peer that stops answering is dropped after another interval, and the status says why."""
    async def main() -> None:
        clock = ManualClock()
        answering = True
        writers: list[asyncio.StreamWriter] = []

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writers.append(writer)
            writer.write(M.encode_hello({4}, 1))
            buf = bytearray()
            while data := await reader.read(1000):
                buf += data
                while msgs := V.split_messages(buf):
                    for m in msgs:
                        if m[1] == V.OFPT_ECHO_REQUEST and answering:
                            writer.write(bytes([m[0], V.OFPT_ECHO_REPLY]) + m[2:])

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        rc = Reconnector(f"tcp:127.0.0.1:{port}", probe_interval=1, clock=clock)
        assert rc.probe_interval == 5  # Raised to Open vSwitch's minimum.
        try:
            rc.connect()
            await settle()
            assert rc.state == State.ACTIVE
            clock.advance(5)
            rc.run()
            assert rc.state == State.IDLE and rc.status()["state"] == "IDLE" and rc.is_connected
            await settle()
            assert rc.state == State.ACTIVE
            answering = False
            clock.advance(5)
            rc.run()
            assert rc.state == State.IDLE
            await settle()
            clock.advance(5)
            rc.run()
            assert rc.state == State.BACKOFF and rc.last_error == errno.ETIMEDOUT
            assert rc.status() == {"last_error": "Connection timed out", "state": "BACKOFF",
                                   "sec_since_connect": "15", "sec_since_disconnect": "0"}
        finally:
            await rc.close()
            for w in writers:
                w.close()
            server.close()
            await server.wait_closed()

    with caplog.at_level(logging.INFO):
        run(main())
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage().split(": ", 1)[1] for r in errors] == [
        "no response to inactivity probe after 5 seconds, disconnecting"]
    # The probe timeout is logged once, not again as "connection dropped".
    assert not any("connection dropped" in line for line in rconn_lines(caplog))


def test_start_runs_in_real_time(tmp_path: Path) -> None:
    """start(): the task connects by itself, and reconnects after the listener comes back."""
    async def main() -> None:
        path = str(tmp_path / "c.sock")
        accepted: list[V.Connection] = []
        rc = Reconnector(f"unix:{path}", max_backoff=1)
        rc.start()
        await asyncio.sleep(0.1)
        assert rc.state == State.BACKOFF  # Nobody listens yet.
        listener = V.Listener(f"punix:{path}", accepted.append)
        await listener.start()
        try:
            for _ in range(40):
                if rc.is_connected:
                    break
                await asyncio.sleep(0.1)
            assert rc.is_connected and rc.version == 6 and len(accepted) == 1
        finally:
            await rc.close()
            await listener.close()
        assert rc.state == State.VOID
    run(main())
