"""The routing table of native tunnelling, in the manner of Open vSwitch's ``ovs-router``.

A tunnel port's ``remote_ip`` is routed here to find the device the encapsulated packet leaves by, the source
address to put in the outer header and the next hop whose MAC address the neighbour cache gives.  Two kinds of
routes live in one table:

* **Cached** routes copy the host's unicast and local routes (the kernel's main and local tables, handed over as a
  whole by :meth:`Router.set_kernel` whenever the route monitor sees a change);
* **User** routes are added with ``ovs-appctl ovs/route/add`` (:meth:`Router.add_user`) and survive kernel
  changes.

Lookup follows Open vSwitch's classifier rather than a plain longest-prefix match.  Addresses are handled in the
IPv6 space (an IPv4 prefix of length ``n`` is the v4-mapped prefix of length ``96 + n``) and every route has a
priority: its prefix length there, plus 32 for a user route, plus 64 for a local route.  A lookup takes the
matching route of the highest priority, and a route matches only packets of its own ``pkt_mark``.  So a user
``/24`` wins over a cached ``/25``, and a local ``/32`` over everything.

The source address of a route is not the kernel's ``prefsrc`` (Open vSwitch 3.1 ignores it): it is the address of
the output device whose subnet contains the gateway (or, without a gateway, the route's destination), the one with
the longest prefix and the first of those in the device's address order.  A route for which the device has no such
address is not inserted (a cached route is silently left out; ``ovs/route/add`` fails with "Error while inserting
route.").

``ovs/route/show`` lists routes in the order Open vSwitch's classifier iterates them: "subtables" (one per prefix
length in the IPv6 space) by their highest priority, and inside a subtable by insertion.  Cached routes are
re-inserted after every kernel change, so they follow the user routes of their subtable from then on; a route that
replaces another (same prefix, length and mark) takes its place.

The table is a plain object without locks: the daemon uses it under its switch lock (see
:mod:`pyvswitch.ofproto.tnl_context`).  :attr:`Router.generation` changes on every change, so that translations
that depended on a route can be revalidated.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, IPv6Network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
IPInterface = IPv4Interface | IPv6Interface

__all__ = ["IPAddress", "IPInterface", "IPNetwork", "Route", "RouteError", "Router", "format_ip", "format_mapped"]

_USER_BONUS = 32
_LOCAL_BONUS = 64


class RouteError(ValueError):
    """A route could not be inserted or deleted; the message is Open vSwitch's reply text."""


@dataclass(frozen=True)
class Route:
    """One route.  ``src`` is the source address the router chose (None only before insertion)."""

    prefix: IPNetwork
    dev: str
    gw: IPAddress | None
    src: IPAddress | None
    user: bool
    local: bool
    pkt_mark: int = 0

    @property
    def plen128(self) -> int:
        """The prefix length in the IPv6 space (IPv4 prefixes are v4-mapped)."""
        return self.prefix.prefixlen + (96 if self.prefix.version == 4 else 0)

    @property
    def priority(self) -> int:
        return self.plen128 + (_USER_BONUS if self.user else 0) + (_LOCAL_BONUS if self.local else 0)

    def text(self) -> str:
        """The route as one ``ovs/route/show`` line."""
        out = ["User: " if self.user else "Cached: ", str(self.prefix)]
        if self.pkt_mark:
            out.append(f" MARK {self.pkt_mark}")
        out.append(f" dev {self.dev}")
        if self.gw is not None:
            out.append(f" GW {format_ip(self.gw)}")
        if self.src is not None:
            out.append(f" SRC {format_ip(self.src)}")
        if self.local:
            out.append(" local")
        return "".join(out)


def format_ip(addr: IPAddress) -> str:
    """An address as C's ``inet_ntop`` writes it, which Open vSwitch prints: Python's text, except that an
    IPv4-compatible IPv6 address (96 zero bits, then an IPv4 address not below 0.1.0.0) and a v4-mapped one end
    in dotted form, ``::1.2.3.4`` and ``::ffff:1.2.3.4``, where some Pythons write ``::102:304``."""
    if isinstance(addr, IPv6Address):
        n = int(addr)
        if n >> 32 == 0xFFFF:
            return "::ffff:" + str(IPv4Address(n & 0xFFFFFFFF))
        if not n >> 32 and n >> 16:
            return "::" + str(IPv4Address(n))
    return str(addr)


def format_mapped(addr: IPAddress | None) -> str:
    """An address as Open vSwitch prints an in6_addr that may be v4-mapped: IPv4 dotted, none as ``::``."""
    return "::" if addr is None else format_ip(addr)


def _as_address(ip: IPAddress | str | int) -> IPAddress:
    """``ip`` as an address object; a v4-mapped IPv6 address becomes the IPv4 address it maps."""
    a = ipaddress.ip_address(ip)
    if isinstance(a, IPv6Address) and a.ipv4_mapped is not None:
        return a.ipv4_mapped
    return a


def best_source(dst: IPAddress, addrs: Iterable[IPInterface]) -> IPAddress | None:
    """The device address to send to ``dst`` from: the one whose subnet contains ``dst`` with the longest prefix,
    the first of equals; None when no address's subnet contains it."""
    best: IPAddress | None = None
    best_len = -1
    for a in addrs:
        if a.version != dst.version:
            continue
        if dst in a.network and a.network.prefixlen > best_len:
            best, best_len = a.ip, a.network.prefixlen
    return best


class Router:
    """Cached and user routes, their lookup and their ``ovs/route/show`` text."""

    def __init__(self) -> None:
        # Subtables by prefix length in the IPv6 space, each a list of routes in insertion order.  A dict keeps
        # the subtables' creation order, which breaks ties between subtables of equal highest priority.
        self._subtables: dict[int, list[Route]] = {}
        self._addrs: dict[str, list[IPInterface]] = {}
        # Every route, highest priority first (stable), rebuilt on the first lookup after a change: a lookup is
        # then the first route that matches, which keeps the per-upcall cost low.
        self._by_priority: list[Route] | None = None
        self.generation = 0

    def _changed(self) -> None:
        self._by_priority = None
        self.generation += 1

    # -- Device addresses ------------------------------------------------------------------------------------

    def set_addresses(self, addrs: dict[str, list[IPInterface]]) -> None:
        """The addresses of every device (kernel and dummy), in each device's order.  Routes already inserted
        keep the source address they were given, as in Open vSwitch."""
        self._addrs = {dev: list(v) for dev, v in addrs.items()}

    def addresses(self, dev: str) -> list[IPInterface]:
        return self._addrs.get(dev, [])

    # -- Changes ---------------------------------------------------------------------------------------------

    def _source_for(self, dst: IPAddress, dev: str, gw: IPAddress | None) -> IPAddress | None:
        """The source of a route to ``dst`` (the address as given, host bits and all): the device address for
        ``dst``, else the one for the gateway, as Open vSwitch chooses it."""
        addrs = self._addrs.get(dev, [])
        src = best_source(dst, addrs)
        if src is None and gw is not None:
            src = best_source(gw, addrs)
        return src

    def _insert(self, route: Route) -> None:
        sub = self._subtables.setdefault(route.plen128, [])
        for i, r in enumerate(sub):
            if r.prefix == route.prefix and r.pkt_mark == route.pkt_mark and r.priority == route.priority:
                sub[i] = route
                return
        sub.append(route)

    def _make(self, prefix: IPNetwork | str, dev: str, gw: IPAddress | str | None, src: IPAddress | str | None,
              pkt_mark: int, *, user: bool, local: bool, dst: IPAddress | None = None) -> Route:
        net = ipaddress.ip_network(prefix, strict=False) if isinstance(prefix, str) else prefix
        if dst is None:
            dst = ipaddress.ip_interface(prefix).ip if isinstance(prefix, str) else net.network_address
        gw_a = _as_address(gw) if gw is not None else None
        if gw_a is not None and gw_a.is_unspecified:
            gw_a = None
        if gw_a is not None and gw_a.version != net.version:
            raise RouteError("Error while inserting route.")
        src_a: IPAddress | None
        if src is not None:
            src_a = _as_address(src)
            if all(a.ip != src_a for a in self._addrs.get(dev, [])):
                raise RouteError("Error while inserting route.")
        else:
            src_a = self._source_for(dst, dev, gw_a)
            if src_a is None:
                raise RouteError("Error while inserting route.")
        return Route(net, dev, gw_a, src_a, user, local, pkt_mark & 0xFFFFFFFF)

    def add_user(self, prefix: IPNetwork | str, dev: str, gw: IPAddress | str | None = None,
                 src: IPAddress | str | None = None, pkt_mark: int = 0, dst: IPAddress | None = None) -> Route:
        """Adds (or replaces) a user route and returns it.  ``dst``: the address the user typed before the
        prefix length (its host bits may be set; by default the prefix's own), from which the source address is
        chosen.  Raises :class:`RouteError` ("Error while inserting route.") when the device has no address to
        send from (unknown devices have none) or ``src`` is not one of its addresses."""
        route = self._make(prefix, dev, gw, src, pkt_mark, user=True, local=False, dst=dst)
        self._insert(route)
        self._changed()
        return route

    def del_user(self, prefix: IPNetwork | str, pkt_mark: int = 0) -> Route:
        """Deletes a user route and returns it; raises :class:`RouteError` ("Not found") when there is none."""
        net = ipaddress.ip_network(prefix, strict=False) if isinstance(prefix, str) else prefix
        plen = net.prefixlen + (96 if net.version == 4 else 0)
        sub = self._subtables.get(plen, [])
        for i, r in enumerate(sub):
            if r.user and r.prefix == net and r.pkt_mark == pkt_mark:
                del sub[i]
                if not sub:
                    del self._subtables[plen]
                self._changed()
                return r
        raise RouteError("Not found")

    def set_kernel(self, routes: list[Route]) -> list[Route]:
        """Replaces every cached route with ``routes`` (in the kernel's dump order) and returns those inserted.
        A route whose source address is None gets one chosen from the device's addresses; one without any is
        left out, as Open vSwitch leaves it out."""
        for plen in list(self._subtables):
            kept = [r for r in self._subtables[plen] if r.user]
            if kept:
                self._subtables[plen] = kept
            else:
                del self._subtables[plen]
        inserted: list[Route] = []
        for r in routes:
            src = r.src if r.src is not None else self._source_for(r.prefix.network_address, r.dev, r.gw)
            if src is None:
                continue
            route = replace(r, src=src, user=False)
            self._insert(route)
            inserted.append(route)
        self._changed()
        return inserted

    def flush_user(self) -> None:
        """Deletes every user route."""
        for plen in list(self._subtables):
            kept = [r for r in self._subtables[plen] if not r.user]
            if kept:
                self._subtables[plen] = kept
            else:
                del self._subtables[plen]
        self._changed()

    # -- Queries ---------------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        """Every route in ``ovs/route/show`` order."""
        subs = sorted(self._subtables.values(), key=lambda s: -max(r.priority for r in s))
        return [r for s in subs for r in s]

    def lookup(self, dst: IPAddress | str | int, pkt_mark: int = 0) -> Route | None:
        """The route of the highest priority that contains ``dst`` and has ``pkt_mark``, or None."""
        a = _as_address(dst)
        if self._by_priority is None:
            self._by_priority = sorted(self.routes(), key=lambda r: -r.priority)
        for r in self._by_priority:
            if r.prefix.version == a.version and r.pkt_mark == pkt_mark and a in r.prefix:
                return r
        return None

    def devices(self) -> set[str]:
        """The devices some route goes out of."""
        return {r.dev for s in self._subtables.values() for r in s}

    def show(self) -> str:
        return "Route Table:\n" + "".join(r.text() + "\n" for r in self.routes())
