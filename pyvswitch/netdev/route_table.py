"""The host's routes and interface addresses, read from rtnetlink and followed as they change, in the manner of
Open vSwitch's ``route-table.c``.

* :func:`read_snapshot` reads, in the current network namespace, the unicast and local routes of every routing
  table (IPv4 then IPv6, each in the kernel's dump order: Open vSwitch 3.1 takes the routes of policy-routing
  tables too, and of two routes to the same prefix the later one in the dump) and every link with its Ethernet
  address (None for links that are not Ethernet, such as the loopback device) and its IP addresses (in the
  kernel's dump order, which is the order ``getifaddrs`` gives Open vSwitch).  Multipath routes and routes of
  other types (broadcast, multicast, unreachable, blackhole...) are left out, as Open vSwitch leaves them out.
* :class:`RouteMonitor` is a thread that listens to link, address and route notifications
  (``RTM_NEWLINK/DELLINK/NEWADDR/DELADDR/NEWROUTE/DELROUTE``, IPv4 and IPv6) on a plain netlink socket and,
  once notifications stop arriving for a short while (``debounce`` seconds), reads a whole new snapshot and
  hands it to its callback.  The callback runs in the monitor's thread: it must take whatever lock protects what
  it changes (the daemon's :class:`~pyvswitch.ofproto.tnl_context.TnlContext` takes the switch lock).

The results are plain values defined here (:class:`KernelRoute`, :class:`KernelLink`, :class:`Snapshot`), since
netdev must not import ofproto: the router converts them into its own routes.

pyroute2 cannot be started in a thread whose asyncio loop runs (the daemon's main thread), so every pyroute2
socket here is opened in a thread of its own: the monitor's, or a short-lived one for :func:`read_snapshot_in_thread`.
"""

from __future__ import annotations

import errno
import logging
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyroute2 import IPRoute

__all__ = ["KernelLink", "KernelRoute", "RouteMonitor", "Snapshot", "read_snapshot", "read_snapshot_in_thread"]

log = logging.getLogger("pyvswitch.route_table")

RT_TABLE_MAIN = 254
RT_TABLE_LOCAL = 255
RTN_UNICAST = 1
RTN_LOCAL = 2
ARPHRD_ETHER = 1
ARPHRD_NONE = 0xFFFE

RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV4_ROUTE = 0x40
RTMGRP_IPV6_IFADDR = 0x100
RTMGRP_IPV6_ROUTE = 0x400
_GROUPS = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE


@dataclass(frozen=True, slots=True)
class KernelRoute:
    """One kernel route: ``dst/plen`` out of ``dev``; ``local`` for a route of type local (an address of the
    host).  Addresses are text (``"192.0.2.0"``, ``"fd00::"``)."""

    family: int            # 4 or 6
    dst: str
    plen: int
    dev: str
    gw: str | None = None
    prefsrc: str | None = None
    local: bool = False
    table: int = RT_TABLE_MAIN
    mark: int = 0


@dataclass(frozen=True, slots=True)
class KernelLink:
    """One link: its Ethernet address as a 48-bit int (None if the link is not Ethernet) and its addresses as
    (address text, prefix length) in the kernel's order."""

    name: str
    index: int
    mac: int | None
    addresses: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Snapshot:
    routes: tuple[KernelRoute, ...] = ()
    links: dict[str, KernelLink] = field(default_factory=dict)


def _attr(msg: Any, name: str) -> Any:
    try:
        return msg.get_attr(name)
    except Exception:  # noqa: BLE001 - a malformed attribute is treated as absent
        return None


def _parse_mac(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(text.replace(":", ""), 16)
    except ValueError:
        return None


def read_snapshot(ipr: IPRoute) -> Snapshot:
    """Reads routes, links and addresses through ``ipr`` (see the module documentation)."""
    names: dict[int, str] = {}
    macs: dict[int, int | None] = {}
    for m in ipr.get_links():
        idx = int(m["index"])
        name = _attr(m, "IFLA_IFNAME")
        if name is None:
            continue
        names[idx] = name
        hw_type = int(m.get("ifi_type", ARPHRD_ETHER))
        macs[idx] = _parse_mac(_attr(m, "IFLA_ADDRESS")) if hw_type in (ARPHRD_ETHER, ARPHRD_NONE) else None
    addrs: dict[int, list[tuple[str, int]]] = {i: [] for i in names}
    for fam in (socket.AF_INET, socket.AF_INET6):
        for m in ipr.get_addr(family=fam):
            idx = int(m["index"])
            a = _attr(m, "IFA_LOCAL") or _attr(m, "IFA_ADDRESS")
            if a is None or idx not in addrs:
                continue
            addrs[idx].append((str(a).split("%")[0], int(m["prefixlen"])))
    links = {names[i]: KernelLink(names[i], i, macs[i], tuple(addrs[i])) for i in names}
    routes: list[KernelRoute] = []
    for fam, version in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
        for m in ipr.get_routes(family=fam):
            table = _attr(m, "RTA_TABLE") or int(m.get("table", 0))
            rtype = int(m.get("type", 0))
            if rtype not in (RTN_UNICAST, RTN_LOCAL):
                continue
            if _attr(m, "RTA_MULTIPATH") is not None:
                continue
            oif = _attr(m, "RTA_OIF")
            dev = names.get(int(oif)) if oif is not None else None
            if dev is None:
                continue
            dst = _attr(m, "RTA_DST") or ("0.0.0.0" if version == 4 else "::")
            routes.append(KernelRoute(version, str(dst), int(m.get("dst_len", 0)), dev,
                                      gw=_attr(m, "RTA_GATEWAY"), prefsrc=_attr(m, "RTA_PREFSRC"),
                                      local=rtype == RTN_LOCAL, table=int(table),
                                      mark=int(_attr(m, "RTA_MARK") or 0)))
    return Snapshot(tuple(routes), links)


def read_snapshot_in_thread(timeout: float = 5.0) -> Snapshot:
    """:func:`read_snapshot` with a pyroute2 socket opened and closed in a short-lived thread (callable from a
    thread whose asyncio loop runs).  Raises what the read raised, or TimeoutError."""
    result: list[Snapshot] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            with IPRoute() as ipr:
                result.append(read_snapshot(ipr))
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            error.append(e)

    t = threading.Thread(target=run, name="route-read", daemon=True)
    t.start()
    t.join(timeout)
    if error:
        raise error[0]
    if not result:
        raise TimeoutError("reading the routing table timed out")
    return result[0]


def _close(ipr: IPRoute) -> None:
    """Closes a pyroute2 socket that is being dropped; a failure to close changes nothing then."""
    try:
        ipr.close()
    except Exception as e:  # noqa: BLE001 - pyroute2 raises anything
        log.debug("closing the route socket failed (%s)", e)


class RouteMonitor:
    """Follows route, address and link changes; calls ``callback(snapshot)`` (in its own thread) after each
    burst of changes, ``debounce`` seconds after the last notification.  If the kernel dropped notifications
    (``ENOBUFS``), a new snapshot is read all the same, so nothing is missed."""

    def __init__(self, callback: Callable[[Snapshot], None], debounce: float = 0.05) -> None:
        self.callback = callback
        self.debounce = debounce
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self.n_snapshots = 0
        self.n_errors = 0

    def start(self) -> None:
        """Starts the thread.  Notifications are subscribed to before it returns, so a change made after
        ``start`` returns is seen."""
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.bind((0, _GROUPS))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._thread = threading.Thread(target=self._main, args=(sock,), name="route-monitor", daemon=True)
        self._thread.start()

    def resync(self) -> None:
        """Asks for a new snapshot soon, changed or not."""
        if not self._stop.is_set():
            self._wake_w.send(b"x")

    def stop(self, timeout: float = 2.0) -> None:
        """Stops the thread.  The caller must not hold the lock the callback takes, or the join times out."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake_w.send(b"x")
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return      # Still in its callback: it closes nothing it uses, and exits after it.
            self._thread = None
        self._wake_r.close()
        self._wake_w.close()

    def _main(self, sock: socket.socket) -> None:
        ipr: IPRoute | None = None
        due: float | None = None
        try:
            while not self._stop.is_set():
                timeout = None if due is None else max(0.0, due - time.monotonic())
                ready, _, _ = select.select([sock, self._wake_r], [], [], 1.0 if timeout is None else timeout)
                if self._wake_r in ready:
                    self._wake_r.recv(64)
                    due = time.monotonic() + self.debounce
                if sock in ready and self._drain(sock):
                    due = time.monotonic() + self.debounce
                if self._stop.is_set():
                    break
                if due is not None and time.monotonic() >= due:
                    due = None
                    try:
                        if ipr is None:
                            ipr = IPRoute()
                        snap = read_snapshot(ipr)
                    except Exception as e:  # noqa: BLE001 - pyroute2 raises anything; retried on the next change
                        self.n_errors += 1
                        log.warning("reading routes failed (%s)", e)
                        if ipr is not None:
                            _close(ipr)
                            ipr = None
                        continue
                    self.n_snapshots += 1
                    try:
                        self.callback(snap)
                    except Exception:  # the monitor must survive a bug in its user
                        log.exception("route monitor callback failed")
        finally:
            sock.close()
            if ipr is not None:
                _close(ipr)

    @staticmethod
    def _drain(sock: socket.socket) -> bool:
        """Reads every waiting notification; True if there was any (or some were lost)."""
        got = False
        while True:
            try:
                data = sock.recv(1 << 16)
            except BlockingIOError:
                return got
            except OSError as e:
                if e.errno == errno.ENOBUFS:
                    got = True
                    continue
                raise
            if data:
                got = True
