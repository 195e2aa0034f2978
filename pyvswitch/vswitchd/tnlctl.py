"""The control commands of native tunnelling, with Open vSwitch 3.1's arguments, replies and error texts:

* ``ovs/route/show``, ``ovs/route/add IP/PLEN DEV [GW] [pkt_mark=MARK] [src=IP]``, ``ovs/route/del IP/PLEN
  [pkt_mark=MARK]``, ``ovs/route/lookup IP [pkt_mark=MARK]`` on the router;
* ``tnl/neigh/show``, ``tnl/neigh/set BRIDGE IP MAC``, ``tnl/neigh/flush``, ``tnl/neigh/aging [SECS]`` on the
  neighbour cache, and their old names ``tnl/arp/*``;
* ``tnl/ports/show [-v]`` on the listening-port map;
* ``netdev-dummy/ip4addr DEV IP[/PLEN]`` and ``netdev-dummy/ip6addr DEV IPV6[/PLEN]``, which give a dummy device
  its (single) IPv4 or IPv6 address.

``src=IP`` on ``ovs/route/add`` comes from later Open vSwitch releases (3.1 refuses it as "Invalid pkt_mark or
gateway"); it must be an address of the device.

Handlers run in the control loop's thread and take the switch lock (``switch.lock``) around every use of the
tables, since the route monitor and the datapath threads use them too.  They are plain methods taking the argument
list, so tests call them directly.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Callable
from typing import Any

from pyvswitch.ofproto.router import RouteError, format_mapped
from pyvswitch.ofproto.tnl_context import TnlContext

from .unixctl import CommandError

__all__ = ["TunnelCommands"]

# Six parts as scanf's %hhx reads them: blanks before each, an optional 0x, any number of hex digits.
_MAC_RE = re.compile("^" + ":".join([r"\s*(?:0[xX](?=[0-9a-fA-F]))?([0-9a-fA-F]+)"] * 6) + "$")
_IPV4_RE = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
_INT_RE = re.compile(r"\s*([-+]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_UINT_RE = re.compile(r"\s*([-+]?)([0-9]+)")


def _scan_int(text: str) -> int | None:
    """An unsigned 32-bit integer as C's ``%i`` reads it: leading digits (decimal, ``0x`` hexadecimal or ``0``
    octal) with an optional sign, anything after them ignored, negative values wrapped; None without digits."""
    m = _INT_RE.match(text)
    if m is None or (m.group(2) == "0" and text[m.end():m.end() + 1] in ("x", "X")):
        return None         # no digits, or a "0x" prefix without any (glibc's scanf fails on it)
    v = int(m.group(2), 0) if not m.group(2).startswith("0") or len(m.group(2)) == 1 or m.group(2)[1] in "xX" \
        else int(m.group(2), 8)
    return (-v if m.group(1) == "-" else v) & 0xFFFFFFFF


def _scan_uint(text: str) -> int | None:
    """An unsigned 32-bit integer as C's ``%u`` reads it (leading decimal digits, sign allowed, wrapped)."""
    m = _UINT_RE.match(text)
    if m is None:
        return None
    v = int(m.group(2))
    return (-v if m.group(1) == "-" else v) & 0xFFFFFFFF


def _pkt_mark(arg: str) -> int | None:
    return _scan_int(arg[len("pkt_mark="):]) if arg.startswith("pkt_mark=") else None


def _ipv4(text: str) -> ipaddress.IPv4Address | None:
    """Dotted decimal as Open vSwitch scans it (``%hhu`` parts: leading zeros allowed, not octal)."""
    if not _IPV4_RE.match(text):
        return None
    try:
        return ipaddress.IPv4Address(".".join(str(int(p)) for p in text.split(".")))
    except ValueError:
        return None


def _ipv6(text: str) -> ipaddress.IPv6Address | None:
    if ":" not in text or "%" in text:      # inet_pton takes no zone identifier
        return None
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        return None


def _mask_len(text: str, version: int) -> int | None:
    """The prefix length of ``/PLEN`` or of a contiguous ``/NETMASK``; None if invalid."""
    maxlen = 32 if version == 4 else 128
    if text.isdigit():
        return int(text) if int(text) <= maxlen else None
    mask = _ipv4(text) if version == 4 else _ipv6(text)
    if mask is None:
        return None
    inv = ~int(mask) & ((1 << maxlen) - 1)
    if inv & (inv + 1):
        return None
    return maxlen - inv.bit_length()


def _route_prefix(text: str, version: int) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """``IP[/PLEN]`` or ``IP/NETMASK`` as a network (host bits cleared), or None.  A v4-mapped IPv6 prefix of
    at least 96 bits is the IPv4 network it maps: Open vSwitch keeps both families in one v4-mapped space."""
    typed = _route_address(text, version)
    if typed is None:
        return None
    a, plen = typed
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None and plen >= 96:
        return ipaddress.ip_network(f"{a.ipv4_mapped}/{plen - 96}", strict=False)
    return ipaddress.ip_network(f"{a}/{plen}", strict=False)


def _route_address(text: str, version: int) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int] | None:
    """``IP[/PLEN]`` or ``IP/NETMASK``: the address as typed (host bits kept) and the prefix length, or None."""
    addr, slash, plen_s = text.partition("/")
    a = _ipv4(addr) if version == 4 else _ipv6(addr)
    if a is None:
        return None
    plen = _mask_len(plen_s, version) if slash else (32 if version == 4 else 128)
    return None if plen is None else (a, plen)


def parse_mac(text: str) -> int | None:
    m = _MAC_RE.match(text)
    if m is None:
        return None
    # Like scanf's %hhx, each part may have any number of digits and keeps its low 8 bits.
    return int("".join(f"{int(g, 16) & 0xFF:02x}" for g in m.groups()), 16)


class TunnelCommands:
    """The commands above, for one daemon.  ``dummy_devices(name)`` returns the dummy netdev of that name (any
    object with ``get_etheraddr()``) or None."""

    def __init__(self, switch: Any, tnl: TnlContext, dummy_devices: Callable[[str], object | None]) -> None:
        self.switch = switch
        self.tnl = tnl
        self.dummy_devices = dummy_devices
        lock = getattr(switch, "lock", None)
        self._lock: Any = lock if lock is not None else contextlib.nullcontext()
        if tnl.dummy_mac is None:
            # The daemon may know dummy devices' addresses better (it sets this first); otherwise ask the device.
            tnl.dummy_mac = self._dummy_mac

    def register(self, unixctl: Any) -> None:
        r = unixctl.register
        r("ovs/route/show", "", 0, 0, self.route_show)
        r("ovs/route/add", "ip_addr/prefix_len out_br_name [gw] [pkt_mark=mark]", 2, 5, self.route_add)
        r("ovs/route/del", "ip_addr/prefix_len [pkt_mark=mark]", 1, 2, self.route_del)
        r("ovs/route/lookup", "ip_addr [pkt_mark=mark]", 1, 2, self.route_lookup)
        for prefix in ("tnl/neigh", "tnl/arp"):
            r(f"{prefix}/show", "", 0, 0, self.neigh_show)
            r(f"{prefix}/set", "BRIDGE IP MAC", 3, 3, self.neigh_set)
            r(f"{prefix}/flush", "", 0, 0, self.neigh_flush)
            r(f"{prefix}/aging", "[SECS]", 0, 1, self.neigh_aging)
        r("tnl/ports/show", "-v", 0, 1, self.ports_show)
        r("netdev-dummy/ip4addr", "[netdev] ipaddr/mask-prefix-len", 2, 2, self.dummy_ip4addr)
        r("netdev-dummy/ip6addr", "[netdev] ip6addr", 2, 2, self.dummy_ip6addr)

    def _dummy_mac(self, name: str) -> int | None:
        dev = self.dummy_devices(name)
        if dev is None:
            return None
        try:
            mac = dev.get_etheraddr()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - a device without an address has none to offer
            return None
        if isinstance(mac, int):
            return mac
        return parse_mac(str(mac))

    # -- ovs/route/* -----------------------------------------------------------------------------------------

    def route_show(self, args: list[str]) -> str:
        with self._lock:
            return self.tnl.router.show()

    def route_add(self, args: list[str]) -> str:
        mark = 0
        gw = None
        src = None
        prefix = _route_prefix(args[0], 4)
        version = 4
        if prefix is None:
            prefix = _route_prefix(args[0], 6)
            version = 6
        if prefix is None:
            raise CommandError("Invalid parameters")
        rest = args[2:]
        # Later releases' src=IP may come anywhere after the device; take it out first.
        for a in list(rest):
            if a.startswith("src="):
                src = _ipv4(a[4:]) if version == 4 else _ipv6(a[4:])
                if src is None:
                    raise CommandError("Invalid src")
                rest.remove(a)
        if len(rest) > 2:
            raise CommandError('"ovs/route/add" command takes at most 4 arguments')
        if rest:
            m = _pkt_mark(rest[0])
            if m is not None:
                mark = m
            else:
                gw = _ipv4(rest[0]) if version == 4 else _ipv6(rest[0])
                if gw is None:
                    raise CommandError("Invalid pkt_mark or gateway" if version == 4
                                       else "Invalid pkt_mark or IPv6 gateway")
        if len(rest) > 1:
            m = _pkt_mark(rest[1])
            if m is None:
                raise CommandError("Invalid pkt_mark")
            mark = m
        typed = _route_address(args[0], version)
        dst = typed[0] if typed is not None else None
        if isinstance(dst, ipaddress.IPv6Address) and dst.ipv4_mapped is not None and prefix.version == 4:
            dst = dst.ipv4_mapped
        with self._lock:
            try:
                self.tnl.add_user_route(prefix, args[1], gw, src, mark, dst)
            except RouteError as e:
                raise CommandError(str(e)) from None
        return "OK\n"

    def route_del(self, args: list[str]) -> str:
        prefix = _route_prefix(args[0], 4) or _route_prefix(args[0], 6)
        if prefix is None:
            raise CommandError("Invalid parameters")
        mark = 0
        if len(args) > 1:
            m = _pkt_mark(args[1])
            if m is None:
                raise CommandError("Invalid pkt_mark")
            mark = m
        with self._lock:
            try:
                self.tnl.del_user_route(prefix, mark)
            except RouteError as e:
                raise CommandError(str(e)) from None
        return "OK\n"

    def route_lookup(self, args: list[str]) -> str:
        typed = _route_address(args[0], 4) or _route_address(args[0], 6)
        if typed is None or typed[1] != typed[0].max_prefixlen:
            raise CommandError("Invalid parameters")
        addr: Any = typed[0]
        mark = 0
        if len(args) > 1:
            m = _pkt_mark(args[1])
            if m is None:
                raise CommandError("Invalid pkt_mark")
            mark = m
        with self._lock:
            r = self.tnl.router.lookup(addr, mark)
        if r is None:
            raise CommandError("Not found")
        return f"src {format_mapped(r.src)}\ngateway {format_mapped(r.gw)}\ndev {r.dev}\n"

    # -- tnl/neigh/* -----------------------------------------------------------------------------------------

    def neigh_show(self, args: list[str]) -> str:
        with self._lock:
            return self.tnl.neigh.show()

    def neigh_set(self, args: list[str]) -> str:
        bridge, ip_s, mac_s = args
        ip: Any = _ipv6(ip_s) if ":" in ip_s else _ipv4(ip_s)
        if ip is None:
            raise CommandError("bad IP address")
        mac = parse_mac(mac_s)
        if mac is None:
            raise CommandError("bad MAC address")
        with self._lock:
            self.tnl.neigh.set(bridge, ip, mac)
        return "OK\n"

    def neigh_flush(self, args: list[str]) -> str:
        with self._lock:
            self.tnl.neigh.flush()
        return "OK\n"

    def neigh_aging(self, args: list[str]) -> str:
        with self._lock:
            if not args:
                return f"{self.tnl.neigh.aging}\n"
            secs = _scan_uint(args[0])
            if secs is None:
                raise CommandError("bad aging value")
            try:
                self.tnl.neigh.set_aging(secs)
            except ValueError:
                raise CommandError("bad aging value") from None
        return "OK\n"

    # -- tnl/ports/show --------------------------------------------------------------------------------------

    def ports_show(self, args: list[str]) -> str:
        verbose = bool(args) and args[0].lower() == "-v"
        with self._lock:
            return self.tnl.ports.show(verbose)

    # -- netdev-dummy/ip4addr, ip6addr -----------------------------------------------------------------------

    def dummy_ip4addr(self, args: list[str]) -> str:
        return self._dummy_address(args, 4)

    def dummy_ip6addr(self, args: list[str]) -> str:
        return self._dummy_address(args, 6)

    def _dummy_address(self, args: list[str], version: int) -> str:
        """``netdev-dummy/ip4addr|ip6addr NAME ADDR[/PLEN]``, with Open vSwitch's error texts (an IPv4 address
        also takes ``/NETMASK``)."""
        name, text = args
        if self.dummy_devices(name) is None:
            raise CommandError("Unknown Dummy Interface")
        invalid = CommandError(f"{text}: invalid IP address" if version == 4 else f"{text}: invalid IPv6 address")
        maxlen = 32 if version == 4 else 128
        addr_s, slash, plen_s = text.partition("/")
        addr = _ipv4(addr_s) if version == 4 else _ipv6(addr_s)
        if addr is None:
            raise invalid
        plen = maxlen
        if slash:
            if plen_s.isdigit():
                plen = int(plen_s)
                if plen > maxlen:
                    raise CommandError(f"{text}: IPv{version} network prefix bits not between 0 and {maxlen}, "
                                       "inclusive")
            else:
                mask = _ipv4(plen_s) if version == 4 else None
                if mask is None:
                    raise invalid
                # Open vSwitch takes any netmask here; a prefix length needs a contiguous one, so the mask's
                # leading ones count (a difference only for masks nobody uses).
                plen = 32 - (~int(mask) & 0xFFFFFFFF).bit_length()
        with self._lock:
            self.tnl.set_dummy_address(name, ipaddress.ip_interface(f"{addr}/{plen}"))
        return "OK\n"
