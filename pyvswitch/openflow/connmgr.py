"""A bridge's OpenFlow endpoints in the daemon: its ``BRIDGE.mgmt`` socket and its controllers.

``ConnManager`` runs in the daemon's asyncio loop (the main thread) and feeds every message to the bridge's
``ConnSet`` (``handler``) under the switch lock.  What Open vSwitch users expect:

* ``RUNDIR/BRIDGE.mgmt`` is always open: a passive Unix socket for ``ovs-ofctl``/``pyvs-ofctl``, whose
  connections are *service* connections.  ``RUNDIR/BRIDGE.snoop`` is too: what connects there (``ovs-ofctl
  snoop BRIDGE``) gets a copy of every message the bridge sends to or receives from its primary controllers.
* The bridge's ``Controller`` rows: active targets (``tcp:IP[:PORT]``, ``unix:PATH``) are *primary*
  connections that reconnect with exponential back-off (``max_backoff``, 8 s by default) and send inactivity
  probes (``inactivity_probe``, 5 s by default; 0 disables them); passive ones (``ptcp:PORT[:IP]``,
  ``punix:PATH``) listen for service connections.  A ``ptcp:`` target without an address listens on every
  address: that is the only way to accept connections from beyond the machine, so it happens only when
  configured so.
* Bridge ``protocols`` restricts the versions offered (default OpenFlow 1.0 to 1.5).
* The ``Controller`` table's ``is_connected``, ``role`` (``master``, ``slave`` or ``other`` for equal) and
  ``status`` are reported through ``status()`` for the database thread to write.
* ``fail_mode``: without a primary controller connected, a ``standalone`` bridge (the default) forwards as a
  learning switch; ``secure`` does not.  As in Open vSwitch, a bridge with no controllers configured has the
  visible flow ``priority=0 actions=NORMAL`` in table 0 unless it is ``secure``, and going from "no controller"
  to "controllers" or back flushes the flow tables.  With controllers configured but none connected, a
  standalone bridge is in *fail-open* (``fail_open`` is true): the datapath forwards with NORMAL behind the
  tables' back, again as Open vSwitch does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from pyvswitch.ofproto.actions import model as AM
from pyvswitch.ofproto.flow_mod import Command, FlowMod
from pyvswitch.openflow import vconn
from pyvswitch.openflow.handler import PRIMARY, ROLE_MASTER, ROLE_SLAVE, SERVICE, ConnSet, OFConn
from pyvswitch.openflow.rconn import Reconnector

__all__ = ["ConnManager", "parse_protocols"]

log = logging.getLogger("pyvswitch.connmgr")

DEFAULT_PROBE = 5.0
DEFAULT_MAX_BACKOFF = 8.0
_VERSION_NAMES = {"OpenFlow10": 1, "OpenFlow11": 2, "OpenFlow12": 3, "OpenFlow13": 4, "OpenFlow14": 5,
                  "OpenFlow15": 6}


def parse_protocols(protocols: tuple[str, ...]) -> frozenset[int]:
    """The wire versions a bridge's ``protocols`` column allows (all of 1.0 to 1.5 when empty)."""
    versions = frozenset(_VERSION_NAMES[p] for p in protocols if p in _VERSION_NAMES)
    return versions or vconn.ALL_VERSIONS


class _Controller:
    """One Controller row at work: a Reconnector (active) or a Listener (passive)."""

    def __init__(self, spec: Any, endpoint: Reconnector | vconn.Listener) -> None:
        self.spec = spec
        self.endpoint = endpoint
        self.conns: list[OFConn] = []


class ConnManager:
    """One bridge's OpenFlow connections.  ``lock`` is the switch lock; ``connset`` handles the messages."""

    def __init__(self, bridge: str, connset: ConnSet, rundir: str, lock: threading.RLock,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.bridge = bridge
        self.connset = connset
        self.rundir = rundir
        self.lock = lock
        self.loop = loop
        self.mgmt: vconn.Listener | None = None
        #: ``BRIDGE.snoop``: its connections get a copy of every message exchanged with the controllers.
        self.snoop: vconn.Listener | None = None
        self.snoopers: list[vconn.Connection] = []
        self.controllers: dict[str, _Controller] = {}
        self.versions = vconn.ALL_VERSIONS
        self.fail_mode: str | None = None
        self.had_primary: bool | None = None
        self._loop_thread = threading.get_ident()
        #: Called when a controller connects, disconnects or changes role (the daemon writes the status then).
        self.on_change: Callable[[], None] = lambda: None

    # -- lifecycle ---------------------------------------------------------------------------------------------

    @property
    def mgmt_path(self) -> str:
        return os.path.join(self.rundir, f"{self.bridge}.mgmt")

    @property
    def snoop_path(self) -> str:
        return os.path.join(self.rundir, f"{self.bridge}.snoop")

    async def start(self) -> None:
        if self.snoop is None:
            self.snoop = vconn.Listener(f"punix:{self.snoop_path}", self._snooper, self.versions,
                                        handler=lambda conn, data: None, log_prefix=f"{self.bridge}<->")
            try:
                await self.snoop.start()
            except OSError as e:
                log.error("%s: cannot listen on %s: %s", self.bridge, self.snoop_path, e)
                self.snoop = None
        self.mgmt = vconn.Listener(f"punix:{self.mgmt_path}", self._accepted(SERVICE, None), self.versions,
                                   handler=self._received, log_prefix=f"{self.bridge}<->")
        try:
            await self.mgmt.start()
        except OSError as e:
            log.error("%s: cannot listen on %s: %s", self.bridge, self.mgmt_path, e)
            self.mgmt = None

    async def close(self) -> None:
        for c in list(self.controllers.values()):
            await self._stop(c)
        self.controllers.clear()
        if self.mgmt is not None:
            await self.mgmt.close()
            self.mgmt = None
        if self.snoop is not None:
            await self.snoop.close()
            self.snoop = None

    async def configure(self, controllers: tuple[Any, ...], fail_mode: str | None,
                        protocols: tuple[str, ...]) -> None:
        """Apply the bridge's Controller rows, fail mode and protocols."""
        versions = parse_protocols(protocols)
        restart_all = versions != self.versions
        self.versions = versions
        secure = fail_mode == "secure"
        # As Open vSwitch: a change of fail mode on a bridge without controllers flushes its tables.
        flush = self.had_primary is False and (self.fail_mode == "secure") != secure
        self.fail_mode = fail_mode
        if restart_all and self.mgmt is not None:
            await self.mgmt.close()
            await self.start()
        wanted = {c.target: c for c in controllers}
        for target, c in list(self.controllers.items()):
            if restart_all or target not in wanted or wanted[target] != c.spec:
                await self._stop(c)
                del self.controllers[target]
        for target, spec in wanted.items():
            if target not in self.controllers:
                c = await self._start(spec)
                if c is not None:
                    self.controllers[target] = c
        self._update_default_flow(flush and not self.has_primary())

    async def _start(self, spec: Any) -> _Controller | None:
        try:
            addr = vconn.parse_address(spec.target)
        except vconn.AddressError as e:
            log.warning("%s: %s: bad controller target: %s", self.bridge, spec.target, e)
            return None
        probe = DEFAULT_PROBE if spec.inactivity_probe is None else spec.inactivity_probe / 1000
        if addr.passive:
            holder = _Controller(spec, None)  # type: ignore[arg-type]
            listener = vconn.Listener(spec.target, self._accepted(SERVICE, holder), self.versions,
                                      probe_interval=probe, handler=self._received, log_prefix=f"{self.bridge}<->")
            holder.endpoint = listener
            try:
                await listener.start()
            except OSError as e:
                log.warning("%s: %s: cannot listen: %s", self.bridge, spec.target, e)
            return holder
        backoff = DEFAULT_MAX_BACKOFF if spec.max_backoff is None else spec.max_backoff / 1000
        holder = _Controller(spec, None)  # type: ignore[arg-type]
        rc = Reconnector(spec.target, self.versions, name=f"{self.bridge}<->{spec.target}", probe_interval=probe,
                         max_backoff=backoff, handler=self._received,
                         on_connect=self._accepted(PRIMARY, holder),
                         on_disconnect=self._disconnected)
        holder.endpoint = rc
        rc.start()
        return holder

    def _disconnected(self, rc: Reconnector) -> None:
        self._update_default_flow()
        self.on_change()

    async def _stop(self, c: _Controller) -> None:
        with self.lock:
            for oc in c.conns:
                self.connset.remove(oc)
            c.conns.clear()
        await c.endpoint.close()

    # -- connections ---------------------------------------------------------------------------------------

    def _accepted(self, kind: str, holder: _Controller | None) -> Callable[[vconn.Connection], None]:
        def accepted(conn: vconn.Connection) -> None:
            assert conn.version is not None
            oc = OFConn(conn.name, kind, conn.version, self._sender(conn, kind))
            conn.ofconn = oc  # type: ignore[attr-defined]
            with self.lock:
                self.connset.add(oc)
                if holder is not None:
                    holder.conns.append(oc)

            def closed(_: vconn.Connection) -> None:
                with self.lock:
                    self.connset.remove(oc)
                    if holder is not None and oc in holder.conns:
                        holder.conns.remove(oc)

            conn.add_close_callback(closed)
            log.info("%s: %s: connected (OpenFlow 1.%d)", self.bridge, conn.name, conn.version - 1)
            self.on_change()
            for data in getattr(conn, "pending", []):
                self._received(conn, data)
            conn.pending = []  # type: ignore[attr-defined]
        return accepted

    def _snooper(self, conn: vconn.Connection) -> None:
        self.snoopers.append(conn)
        conn.add_close_callback(lambda c: self.snoopers.remove(c) if c in self.snoopers else None)

    def _copy_to_snoopers(self, data: bytes) -> None:
        for s in list(self.snoopers):
            if not s.closed:
                s.send(data)

    def _sender(self, conn: vconn.Connection, kind: str) -> Callable[[bytes], None]:
        loop = self.loop
        owner = self._loop_thread
        snooped = kind == PRIMARY

        def deliver(data: bytes) -> None:
            if not conn.closed:
                conn.send(data)
                if snooped and self.snoopers:
                    self._copy_to_snoopers(data)

        def send(data: bytes) -> None:
            if threading.get_ident() == owner:
                deliver(data)
            else:
                loop.call_soon_threadsafe(deliver, data)
        return send

    def _received(self, conn: vconn.Connection, data: bytes) -> None:
        oc = getattr(conn, "ofconn", None)
        if oc is None:
            # An active connection can deliver messages between negotiation and the reconnector's
            # on_connect: keep them for then.
            conn.pending = [*getattr(conn, "pending", []), data]  # type: ignore[attr-defined]
            return
        if oc.kind == PRIMARY and self.snoopers:
            self._copy_to_snoopers(data)
        with self.lock:
            self.connset.receive(oc, data)

    # -- state -------------------------------------------------------------------------------------------------

    def has_primary(self) -> bool:
        """Whether the bridge has active controllers configured (connected or not)."""
        return any(isinstance(c.endpoint, Reconnector) for c in self.controllers.values())

    @property
    def fail_open(self) -> bool:
        """Standalone with controllers configured and none connected: NORMAL forwarding takes over."""
        if self.fail_mode == "secure" or not self.has_primary():
            return False
        return not any(isinstance(c.endpoint, Reconnector) and c.endpoint.is_connected
                       for c in self.controllers.values())

    def _update_default_flow(self, flush: bool = False) -> None:
        """Open vSwitch's default flow and flush rules (see the module documentation)."""
        has = self.has_primary()
        with self.lock:
            tables = self.connset.ofproto.tables
            if flush:
                tables.apply([FlowMod(command=Command.DELETE)])
                log.info("%s: flow table flushed (fail mode changed)", self.bridge)
            elif self.had_primary is not None and has != self.had_primary:
                tables.apply([FlowMod(command=Command.DELETE)])
                log.info("%s: flow table flushed (controllers %s)", self.bridge, "added" if has else "removed")
            self.had_primary = has
            default = FlowMod(command=Command.DELETE_STRICT, table_id=0, priority=0)
            existing = [r for r in tables.dump(0, priority=0, strict=True)
                        if len(r.actions) == 1 and isinstance(r.actions[0], AM.Output)
                        and r.actions[0].port == 0xFFFA]
            if not has and self.fail_mode != "secure":
                if not existing:
                    tables.apply([FlowMod(command=Command.ADD, table_id=0, priority=0,
                                          actions=[AM.Output(0xFFFA)])])
            elif existing:
                tables.apply([default])

    def status(self) -> dict[str, dict[str, Any]]:
        """The Controller table columns to write: {controller uuid: {is_connected, role, status}}."""
        out: dict[str, dict[str, Any]] = {}
        for c in self.controllers.values():
            ep = c.endpoint
            if isinstance(ep, Reconnector):
                role = None
                if ep.is_connected and c.conns:
                    r = c.conns[-1].role
                    role = "master" if r == ROLE_MASTER else "slave" if r == ROLE_SLAVE else "other"
                out[c.spec.uuid] = {"is_connected": ep.is_connected, "role": role, "status": ep.status()}
            else:
                n = len(c.conns)
                st = {"state": "ACTIVE", "n_connections": str(n)} if n else {}
                out[c.spec.uuid] = {"is_connected": bool(n), "role": None, "status": st}
        return out
