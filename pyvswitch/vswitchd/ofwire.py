"""The daemon's OpenFlow side: for each bridge, a ``ConnSet`` (message handling) and a ``ConnManager`` (its
``BRIDGE.mgmt`` socket and controllers), created, reconfigured and closed as the bridge thread reconciles the
database.

The bridge thread calls the ``Switch`` hooks with the switch lock held; the OpenFlow endpoints live in the main
thread's asyncio loop, so the hooks only schedule work there (``call_soon_threadsafe``).  Each bridge's endpoint
work runs in order in one task chain, so that a bridge deleted and re-created is closed before it is reopened.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pyvswitch.netdev.netdev_dummy import DummyNetdev
from pyvswitch.openflow.connmgr import ConnManager
from pyvswitch.openflow.handler import ConnSet

from .bridge import Bridge, Switch

log = logging.getLogger("pyvswitch.vswitchd")


class OpenFlowWiring:
    def __init__(self, switch: Switch, rundir: str, loop: asyncio.AbstractEventLoop) -> None:
        self.switch = switch
        self.rundir = rundir
        self.loop = loop
        self.managers: dict[str, ConnManager] = {}
        self.connsets: dict[str, ConnSet] = {}
        self._chain: asyncio.Future[Any] | None = None
        switch.bridge_added.append(self._added)
        switch.bridge_removed.append(self._removed)
        switch.bridge_reconfigured.append(self._reconfigured)
        switch.controller_status = self._status
        switch.settle.append(self._settle)
        # Created in the loop's thread (the daemon builds the wiring in its event loop).
        self._expirer = loop.create_task(self._expire_loop())

    def _schedule(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` in the loop after everything scheduled before it."""
        def start() -> None:
            prev = self._chain

            async def run() -> None:
                if prev is not None:
                    await asyncio.gather(prev, return_exceptions=True)
                try:
                    await work()
                except Exception:
                    log.exception("OpenFlow endpoint update failed")
            self._chain = asyncio.ensure_future(run())
        self.loop.call_soon_threadsafe(start)

    def _settle(self, timeout: float = 5.0) -> None:
        """From another thread: wait until the endpoint work scheduled so far is done."""
        async def drain() -> None:
            while True:
                chain = self._chain
                if chain is None or chain.done():
                    return
                await asyncio.gather(chain, return_exceptions=True)
        try:
            asyncio.run_coroutine_threadsafe(drain(), self.loop).result(timeout)
        except (TimeoutError, RuntimeError):
            log.warning("OpenFlow endpoints did not settle within %.0f s", timeout)

    def _added(self, br: Bridge) -> None:
        cs = ConnSet(br.ofproto)
        br.ofproto.port_stats = lambda port_no: _port_stats(br, port_no)
        self.connsets[br.name] = cs
        mgr = ConnManager(br.name, cs, self.rundir, self.switch.lock, self.loop)
        mgr.on_change = cs.on_role_change = self.switch.dirty.set
        self.managers[br.name] = mgr
        self._schedule(mgr.start)

    def _removed(self, br: Bridge) -> None:
        mgr = self.managers.pop(br.name, None)
        self.connsets.pop(br.name, None)
        if mgr is not None:
            self._schedule(mgr.close)

    def _reconfigured(self, br: Bridge) -> None:
        mgr = self.managers.get(br.name)
        if mgr is not None:
            controllers, fail_mode, protocols = br.controllers, br.fail_mode, br.protocols
            self._schedule(lambda: mgr.configure(controllers, fail_mode, protocols))

    async def _expire_loop(self) -> None:
        """Remove flows whose idle or hard timeout passed (flow-removed messages follow), every 100 ms at most
        and as soon as the next timeout falls due, like Open vSwitch's once-per-main-loop expiry."""
        while True:
            delay = 1.0
            with self.switch.lock:
                for br in list(self.switch.bridges.values()):
                    try:
                        br.ofproto.expire()
                    except Exception:
                        log.exception("%s: expiring flows failed", br.name)
                    nxt = br.ofproto.tables.next_expiry()
                    if nxt is not None:
                        delay = min(delay, max(0.1, nxt - br.ofproto.tables.clock.now()))
            await asyncio.sleep(delay)

    def _status(self, br: Bridge) -> dict[str, dict[str, Any]]:
        mgr = self.managers.get(br.name)
        return {} if mgr is None else mgr.status()

    async def close(self) -> None:
        self._expirer.cancel()
        if self._chain is not None:
            await asyncio.gather(self._chain, return_exceptions=True)
        for mgr in list(self.managers.values()):
            await mgr.close()
        self.managers.clear()


def _port_stats(br: Bridge, port_no: int) -> dict[str, Any] | None:
    """The counters of port ``port_no``.  Dummy ports also report Open vSwitch's netdev-dummy custom counters
    (per-queue counts of its one queue, and two counters it never increments), which OpenFlow 1.4+ carries."""
    for i in br.ifaces.values():
        if i.ofport == port_no and i.netdev is not None:
            stats: dict[str, Any] = dict(i.netdev.stats_map())
            if isinstance(i.netdev, DummyNetdev):
                stats["custom"] = [("rx_custom_packets_1", 0), ("rx_custom_packets_2", 0),
                                   ("rx_q0_bytes", stats.get("rx_bytes", 0)),
                                   ("rx_q0_packets", stats.get("rx_packets", 0)),
                                   ("tx_q0_bytes", stats.get("tx_bytes", 0)),
                                   ("tx_q0_packets", stats.get("tx_packets", 0))]
            return stats
    return None
