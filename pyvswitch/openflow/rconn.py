"""A reliable OpenFlow connection: connect to a controller, reconnect with exponential back-off when the
connection fails or drops, and report the state for the ``Controller`` table, as Open vSwitch's ``rconn`` does.

States (``State``), with Open vSwitch's names, which are also what the ``status`` column's ``state`` key holds:

``VOID``
    Not started (or stopped).
``BACKOFF``
    Waiting before the next connection attempt.
``CONNECTING``
    A connection attempt (TCP or Unix connect, then the HELLO exchange) is under way; it times out after
    ``max(1, backoff)`` seconds.
``ACTIVE``
    Connected and healthy.
``IDLE``
    Connected, but nothing was received for ``probe_interval`` seconds and an echo request is waiting for an
    answer; with no answer within another interval the connection is dropped (``vconn.Connection`` does the
    probing).

Back-off follows ``rconn``'s rule: the wait starts at 1 second and doubles after each failure (1, 2, 4, ...) up
to ``max_backoff`` (8 by default); a connection that stayed up for longer than the current wait resets it to 1
second.  While the wait is below ``max_backoff`` each attempt is logged (``connecting...``, ``connection failed
(Connection refused)``, ``waiting 2 seconds before reconnect``); when it reaches the maximum one line says that
further attempts are no longer logged.  The probe interval is raised to at least 5 seconds and is 0 (no probes)
for Unix sockets, as in Open vSwitch.

Time comes from an injectable ``Clock``.  ``start()`` runs the machine in a task of the running loop; tests
drive it instead with a ``ManualClock``, ``run()`` (one step, as ``rconn_run``) and a fake ``connector``.
Log lines go to the ``pyvswitch.rconn`` logger (module ``rconn`` in vlog output).
"""

from __future__ import annotations

import asyncio
import enum
import errno
import logging
import math
from collections.abc import Awaitable, Callable, Iterable

from pyvswitch.openflow import vconn
from pyvswitch.openflow.vconn import ALL_VERSIONS, EOF_ERROR, Connection, VconnOpenError, error_string
from pyvswitch.util.clock import SYSTEM_CLOCK, Clock

__all__ = ["DEFAULT_MAX_BACKOFF", "Connector", "Reconnector", "State"]

log = logging.getLogger("pyvswitch.rconn")

DEFAULT_MAX_BACKOFF = 8.0
MIN_PROBE_INTERVAL = 5.0


class State(enum.Enum):
    VOID = "VOID"
    BACKOFF = "BACKOFF"
    CONNECTING = "CONNECTING"
    ACTIVE = "ACTIVE"
    IDLE = "IDLE"


Connector = Callable[[str, frozenset[int]], Awaitable[Connection]]
"""``connector(target, allowed_versions)``: open and negotiate one connection; raise ``VconnOpenError`` when it
cannot even start (bad address, unreachable Unix socket), another ``OSError`` when it fails later."""


class Reconnector:
    """An active OpenFlow connection to ``target`` (``tcp:IP[:PORT]`` or ``unix:PATH``) that reconnects.

    ``name`` (default: the target) is used in log lines (the switch uses ``br0<->tcp:...``).  ``handler``
    receives every message of every connection (``handler(connection, data)``); ``on_connect(connection)`` and
    ``on_disconnect(reconnector)`` are told of each connection made and lost.  ``send`` writes on the current
    connection.  ``status()`` is the ``status`` column of the ``Controller`` table."""

    def __init__(self, target: str, allowed_versions: Iterable[int] = ALL_VERSIONS, *, name: str | None = None,
                 probe_interval: float = MIN_PROBE_INTERVAL, max_backoff: float = DEFAULT_MAX_BACKOFF,
                 clock: Clock | None = None, handler: vconn.MessageHandler | None = None,
                 on_connect: Callable[[Connection], None] | None = None,
                 on_disconnect: Callable[[Reconnector], None] | None = None,
                 connector: Connector | None = None) -> None:
        self.target = target
        self.name = name or target
        self.allowed_versions = frozenset(allowed_versions)
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        self.probe_interval = max(MIN_PROBE_INTERVAL, probe_interval) if probe_interval else 0.0
        if target.startswith("unix:"):
            self.probe_interval = 0.0  # A local socket needs no liveness probes.
        self.max_backoff = max(1.0, max_backoff) if max_backoff else DEFAULT_MAX_BACKOFF
        self.handler = handler
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self.connector: Connector = connector if connector is not None else self._connect
        self.connection: Connection | None = None
        self.version: int | None = None
        """The version of the current or most recent connection."""
        self.backoff = 0.0
        self.backoff_deadline = -math.inf
        self.last_connected: float | None = None
        self.last_disconnected: float | None = None
        self.last_error = 0
        """0 (no error, or disconnected on request), ``vconn.EOF_ERROR`` (closed by the peer) or an errno."""
        self.seqno = 0
        """Changes each time the connection is made or lost."""
        self.n_attempts = 0
        self._state = State.VOID
        self._state_entered = self.clock.now()
        self._attempt: asyncio.Task[None] | None = None
        self._attempt_seq = 0
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None

    # -- state ----------------------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        if self._state == State.ACTIVE and self.connection is not None and self.connection.state == "IDLE":
            return State.IDLE
        return self._state

    @property
    def is_connected(self) -> bool:
        return self._state == State.ACTIVE

    def status(self) -> dict[str, str]:
        """The ``Controller`` table's ``status`` column, keys as Open vSwitch writes them: ``last_error`` (when
        there was one), ``state``, ``sec_since_connect`` and ``sec_since_disconnect`` (once that happened)."""
        now = self.clock.now()
        out: dict[str, str] = {}
        if self.last_error:
            out["last_error"] = error_string(self.last_error)
        out["state"] = self.state.value
        if self.last_connected is not None:
            out["sec_since_connect"] = str(int(now - self.last_connected))
        if self.last_disconnected is not None:
            out["sec_since_disconnect"] = str(int(now - self.last_disconnected))
        return out

    def _enter(self, state: State) -> None:
        connected = (State.ACTIVE, State.IDLE)
        if (self._state in connected) != (state in connected):
            self.seqno += 1
        log.debug("%s: entering %s", self.name, state.value)
        self._state = state
        self._state_entered = self.clock.now()
        if self._wake is not None:
            self._wake.set()

    def _logging_attempts(self) -> bool:
        return self.backoff < self.max_backoff

    # -- driving --------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect now and keep reconnecting, in a task of the running loop."""
        self.connect()
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._main())

    def connect(self) -> None:
        """Start the first connection attempt (``start`` does this; tests that drive ``run()`` call it)."""
        if self._state == State.VOID:
            self._reconnect()

    async def _main(self) -> None:
        assert self._wake is not None
        while self._state != State.VOID:
            self.run()
            deadline = self.next_deadline()
            self._wake.clear()
            timeout = None if deadline is None else max(0.0, deadline - self.clock.now())
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    def next_deadline(self) -> float | None:
        """The clock time at which ``run()`` has something to do, or None (waiting for the connection)."""
        if self._state == State.BACKOFF:
            return self._state_entered + self.backoff
        if self._state == State.CONNECTING:
            return self._state_entered + max(1.0, self.backoff)
        return None

    def run(self) -> None:
        """One step: start the next attempt once the back-off is over, give up an attempt that takes too long,
        check the connection's inactivity probe."""
        now = self.clock.now()
        if self._state == State.BACKOFF and now >= self._state_entered + self.backoff:
            self._reconnect()
        elif self._state == State.CONNECTING and now >= self._state_entered + max(1.0, self.backoff):
            if self._logging_attempts():
                log.info("%s: connection timed out", self.name)
            self.backoff_deadline = math.inf  # Do not reset the back-off.
            self._cancel_attempt()
            self._disconnect(errno.ETIMEDOUT)
        elif self._state == State.ACTIVE and self.connection is not None:
            self.connection.run()

    def _reconnect(self) -> None:
        if self._logging_attempts():
            log.info("%s: connecting...", self.name)
        self.n_attempts += 1
        self.backoff_deadline = self.clock.now() + self.backoff
        self._enter(State.CONNECTING)
        self._attempt_seq += 1
        self._attempt = asyncio.get_running_loop().create_task(self._try_connect(self._attempt_seq))

    async def _connect(self, target: str, allowed_versions: frozenset[int]) -> Connection:
        return await vconn.connect(target, allowed_versions, name=self.target, probe_interval=self.probe_interval,
                                   clock=self.clock, handler=self.handler)

    async def _try_connect(self, seq: int) -> None:
        try:
            conn = await self.connector(self.target, self.allowed_versions)
        except VconnOpenError as e:
            if seq == self._attempt_seq and self._state == State.CONNECTING:
                # In Open vSwitch this failure happens before the state becomes CONNECTING: it is not a
                # disconnection (no sec_since_disconnect), and it does not reset the back-off.
                log.warning("%s: connection failed (%s)", self.name, error_string(e.errno or errno.EPROTO))
                self.backoff_deadline = math.inf
                self._disconnect(e.errno or errno.EPROTO, was_connecting=False)
            return
        except OSError as e:
            if seq == self._attempt_seq and self._state == State.CONNECTING:
                if self._logging_attempts():
                    log.info("%s: connection failed (%s)", self.name, error_string(e.errno or errno.EPROTO))
                self._disconnect(e.errno or errno.EPROTO)
            return
        if seq != self._attempt_seq or self._state != State.CONNECTING:
            conn.close()
            return
        self._connected(conn)

    def _connected(self, conn: Connection) -> None:
        log.info("%s: connected", self.name)
        conn.log_name = self.name
        conn.probe_interval = self.probe_interval
        conn.clock = self.clock
        if self.handler is not None and conn.handler is None:
            conn.handler = self.handler
        self.connection = conn
        self.version = conn.version
        self._enter(State.ACTIVE)
        self.last_connected = self._state_entered
        conn.add_close_callback(self._connection_closed)
        if not conn.closed:
            conn.reschedule()
        if self.on_connect is not None and self.connection is conn:
            self.on_connect(conn)

    def _connection_closed(self, conn: Connection) -> None:
        if conn is not self.connection or self._state not in (State.ACTIVE, State.IDLE):
            return
        error = conn.error
        if error and not conn.error_logged:
            if error == EOF_ERROR:
                log.info("%s: connection closed by peer", self.name)
            else:
                log.warning("%s: connection dropped (%s)", self.name, error_string(error))
        self._disconnect(error)

    def _cancel_attempt(self) -> None:
        self._attempt_seq += 1
        if self._attempt is not None and not self._attempt.done():
            self._attempt.cancel()
        self._attempt = None

    def _disconnect(self, error: int, was_connecting: bool = True) -> None:
        """Record ``error`` as the reason, drop the connection and wait before the next attempt."""
        self.last_error = error
        conn, self.connection = self.connection, None
        if conn is not None:
            conn.close()
        now = self.clock.now()
        if self._state in (State.ACTIVE, State.IDLE) or (self._state == State.CONNECTING and was_connecting):
            self.last_disconnected = now
        was_connected = self._state == State.ACTIVE
        if now >= self.backoff_deadline:
            self.backoff = 1.0
        elif self.backoff < self.max_backoff / 2:
            self.backoff = max(1.0, 2 * self.backoff)
            log.info("%s: waiting %d seconds before reconnect", self.name, int(self.backoff))
        else:
            if self._logging_attempts():
                log.info("%s: continuing to retry connections in the background but suppressing further "
                         "logging", self.name)
            self.backoff = self.max_backoff
        self.backoff_deadline = now + self.backoff
        self._enter(State.BACKOFF)
        if was_connected and self.on_disconnect is not None:
            self.on_disconnect(self)

    # -- use ------------------------------------------------------------------------------------------------

    def send(self, data: bytes) -> bool:
        """Send on the current connection; False (nothing sent) when not connected, as rconn's ``ENOTCONN``."""
        conn = self.connection
        if conn is None or not conn.is_connected:
            return False
        conn.send(data)
        return True

    def reconnect(self) -> None:
        """Drop the current connection (if any) and reconnect after the back-off."""
        if self._state == State.ACTIVE:
            log.info("%s: disconnecting", self.name)
            self._disconnect(0)

    async def close(self) -> None:
        """Stop: close the connection, cancel the attempt and the task, go back to ``VOID``."""
        attempt = self._attempt
        self._cancel_attempt()
        if attempt is not None:
            await asyncio.gather(attempt, return_exceptions=True)
        conn, self.connection = self.connection, None
        self._enter(State.VOID)
        self.backoff = 0.0
        self.backoff_deadline = -math.inf
        if conn is not None:
            conn.close()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
