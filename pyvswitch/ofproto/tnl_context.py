"""The state of native tunnelling shared by every bridge of a daemon: :class:`TnlContext`.

It bundles the routing table (:class:`~pyvswitch.ofproto.router.Router`), the neighbour cache
(:class:`~pyvswitch.ofproto.tnl_neigh.NeighCache`) and the listening-port map
(:class:`~pyvswitch.ofproto.tnl_ports.TnlPorts`), and keeps them consistent with two sources of device addresses:

* the kernel, through a :class:`~pyvswitch.netdev.route_table.RouteMonitor` started by :meth:`TnlContext.start`
  (absent in unit tests and when the daemon runs with dummy devices only).  Each snapshot replaces the router's
  cached routes and the kernel devices' addresses;
* dummy devices, whose addresses ``netdev-dummy/ip4addr`` and ``netdev-dummy/ip6addr`` set
  (:meth:`TnlContext.set_dummy_address`): one IPv4 and one IPv6 address per device, each replacing the previous
  one, as in Open vSwitch.  A dummy device's addresses hide a kernel device of the same name.

The listening-port map's devices are, as in Open vSwitch, the devices some route was inserted for that have an
Ethernet address (the loopback device has none) and an IP address: inserting a route (a user route, or the cached
routes after each snapshot) makes its device one, deleting a route (a user route, or the old cached routes before
each snapshot) unmakes it, and :meth:`TnlContext.refresh` inserts again those whose addresses changed.  Open vSwitch
reads the kernel's routes only once a tunnel port exists, so its ``tnl/ports/show -v`` lists the kernel devices
after those of earlier user routes; here they are read when the daemon starts.  The MAC address of a dummy device comes from ``dummy_mac`` (set by whoever knows the dummy netdevs),
that of a kernel device from the snapshot.

Locking: everything here is meant to be used under the daemon's switch lock.  The route monitor's thread takes
``lock`` (the switch lock, given to the constructor) before it applies a snapshot, then calls the ``changed``
callbacks still holding it, so that the daemon can revalidate.  :meth:`start` reads the first snapshot in a
short-lived thread and applies it in the caller's thread without taking the lock (call it with the lock held, or
before other threads use the context); :meth:`stop` must be called without the lock.

:attr:`TnlContext.generation` is the sum of the three tables' generations: it changes whenever any of them changes,
and translations that consulted them are revalidated on that.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import time
from collections.abc import Callable
from typing import Any

from pyvswitch.netdev.route_table import RouteMonitor, Snapshot, read_snapshot_in_thread

from .router import IPInterface, Route, Router
from .tnl_neigh import NeighCache
from .tnl_ports import TnlPorts

__all__ = ["TnlContext"]

log = logging.getLogger("pyvswitch.tnl")


def kernel_routes(snap: Snapshot) -> list[Route]:
    """The snapshot's routes as router routes (their source addresses left for the router to choose)."""
    out: list[Route] = []
    for r in snap.routes:
        try:
            prefix = ipaddress.ip_network(f"{r.dst}/{r.plen}", strict=False)
            gw = ipaddress.ip_address(r.gw) if r.gw else None
        except ValueError:
            continue
        out.append(Route(prefix, r.dev, gw, None, False, r.local, r.mark))
    return out


class TnlContext:
    """Router, neighbour cache and listening ports of one daemon, and the route monitor that feeds them."""

    def __init__(self, lock: Any = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.lock = lock if lock is not None else contextlib.nullcontext()
        self.router = Router()
        self.neigh = NeighCache(clock)
        self.ports = TnlPorts()
        self.neigh.addresses = self.router.addresses
        self.route_monitor: RouteMonitor | None = None
        self.changed: list[Callable[[], None]] = []
        # The MAC address of a dummy device by name (None until the daemon or TunnelCommands sets it).
        self.dummy_mac: Callable[[str], int | None] | None = None
        self._kernel_addrs: dict[str, list[IPInterface]] = {}
        self._kernel_macs: dict[str, int | None] = {}
        self._dummy_v4: dict[str, ipaddress.IPv4Interface] = {}
        self._dummy_v6: dict[str, ipaddress.IPv6Interface] = {}

    @property
    def generation(self) -> int:
        return self.router.generation + self.neigh.generation + self.ports.generation

    # -- The kernel ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Reads the host's routes and addresses now and follows their changes from then on."""
        if self.route_monitor is not None:
            return
        monitor = RouteMonitor(self._on_snapshot)
        monitor.start()
        self.route_monitor = monitor
        try:
            self.apply_snapshot(read_snapshot_in_thread())
        except Exception as e:  # noqa: BLE001 - pyroute2 raises anything; the monitor retries on a change
            log.warning("reading the routing table failed (%s)", e)
            monitor.resync()

    def stop(self) -> None:
        if self.route_monitor is not None:
            self.route_monitor.stop()
            self.route_monitor = None

    def _on_snapshot(self, snap: Snapshot) -> None:
        with self.lock:
            self.apply_snapshot(snap)
            for cb in list(self.changed):
                cb()

    def apply_snapshot(self, snap: Snapshot) -> None:
        """Replaces the kernel devices' addresses and the cached routes with the snapshot's.  As in Open
        vSwitch, the devices of the old cached routes stop being listening devices and those of the new ones
        become listening devices again, in the kernel's order."""
        addrs: dict[str, list[IPInterface]] = {}
        for link in snap.links.values():
            lst: list[IPInterface] = []
            for a, plen in link.addresses:
                with contextlib.suppress(ValueError):
                    lst.append(ipaddress.ip_interface(f"{a}/{plen}"))
            addrs[link.name] = lst
        for r in self.router.routes():
            if not r.user:
                self.ports.delete_device(r.dev)
        self._kernel_addrs = addrs
        self._kernel_macs = {link.name: link.mac for link in snap.links.values()}
        self.router.set_addresses(self._addresses())
        for r in self.router.set_kernel(kernel_routes(snap)):
            self._insert_device(r.dev)

    # -- User routes -----------------------------------------------------------------------------------------

    def add_user_route(self, prefix: Any, dev: str, gw: Any = None, src: Any = None, pkt_mark: int = 0,
                       dst: Any = None) -> Route:
        """``ovs/route/add``: the router's :meth:`~pyvswitch.ofproto.router.Router.add_user`, and the device
        becomes a listening device.  Raises :class:`~pyvswitch.ofproto.router.RouteError`."""
        route = self.router.add_user(prefix, dev, gw, src, pkt_mark, dst)
        self._insert_device(dev)
        return route

    def del_user_route(self, prefix: Any, pkt_mark: int = 0) -> Route:
        """``ovs/route/del``.  Like Open vSwitch, the route's device stops being a listening device, even when
        other routes still go out of it (until a route of it is added again)."""
        route = self.router.del_user(prefix, pkt_mark)
        self.ports.delete_device(route.dev)
        return route

    # -- Dummy devices ---------------------------------------------------------------------------------------

    def set_dummy_address(self, dev: str, iface: IPInterface) -> None:
        """Sets the IPv4 or the IPv6 address of dummy device ``dev`` (replacing the previous one)."""
        if isinstance(iface, ipaddress.IPv4Interface):
            self._dummy_v4[dev] = iface
        else:
            self._dummy_v6[dev] = iface
        self.router.set_addresses(self._addresses())
        self.refresh()

    def forget_dummy(self, dev: str) -> None:
        """A dummy device was deleted: its addresses go with it."""
        v4, v6 = self._dummy_v4.pop(dev, None), self._dummy_v6.pop(dev, None)
        if v4 is not None or v6 is not None:
            self.router.set_addresses(self._addresses())
            self.refresh()

    def dummy_addresses(self, dev: str) -> list[IPInterface]:
        out: list[IPInterface] = []
        if dev in self._dummy_v4:
            out.append(self._dummy_v4[dev])
        if dev in self._dummy_v6:
            out.append(self._dummy_v6[dev])
        return out

    def _addresses(self) -> dict[str, list[IPInterface]]:
        addrs = dict(self._kernel_addrs)
        for dev in set(self._dummy_v4) | set(self._dummy_v6):
            addrs[dev] = self.dummy_addresses(dev)
        return addrs

    # -- Consistency -----------------------------------------------------------------------------------------

    def device_mac(self, dev: str) -> int | None:
        if dev in self._dummy_v4 or dev in self._dummy_v6:
            return self.dummy_mac(dev) if self.dummy_mac is not None else None
        return self._kernel_macs.get(dev)

    def _insert_device(self, dev: str) -> None:
        mac = self.device_mac(dev)
        if mac:
            self.ports.insert_device(dev, mac, [a.ip for a in self.router.addresses(dev)])

    def refresh(self) -> None:
        """Inserts again the listening devices whose MAC or addresses changed (Open vSwitch notices that from a
        device's change sequence).  Called after a dummy device's address changed; call it also when a dummy
        device's MAC changed."""
        for dev in list(self.ports.devices()):
            mac = self.device_mac(dev)
            if mac:
                self._insert_device(dev)
            else:
                self.ports.delete_device(dev)

    def run(self, now: float | None = None) -> None:
        """Periodic work: expires neighbour entries."""
        self.neigh.run(now)
