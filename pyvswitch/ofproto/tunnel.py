"""The OpenFlow side of tunnel vports (Open vSwitch's ``ofproto/tunnel.c``): which vport a decapsulated packet
belongs to, and what the tunnel metadata of a packet output to a vport is.

Configuration: a vport's options are parsed by the netdev layer (:func:`pyvswitch.netdev.netdev_vport.
parse_tunnel_options`, re-exported here); the parsed :class:`TunnelConfig` and the vport's place (bridge, OpenFlow
port, shared datapath port) make a :class:`TunnelPort`.  :class:`TunnelMap` holds every tunnel port of one datapath.

Receiving (:meth:`TunnelMap.receive`): ``tnl_pop`` re-injects the inner packet on the shared datapath port with
the outer headers in the key's tunnel fields (``tun_id``, ``tun_src``/``tun_dst`` or their IPv6 forms).  The vport
is the one whose configuration matches, the most specific configuration first, in Open vSwitch's order: the key
configured (``in_key``) before ``in_key=flow``; within each, ``remote_ip`` configured before ``remote_ip=flow``;
within each, ``local_ip`` configured, then unset, then ``flow``.  A configured key must equal the packet's
``tun_id`` (0 when the vport has no key), a configured ``remote_ip`` the packet's outer source, a configured
``local_ip`` its outer destination.  ``egress_pkt_mark`` plays no part: it is a send-side option only (Open
vSwitch's receive match, ``struct tnl_match``, has no mark), so two vports that differ only by it are duplicates
(:meth:`TunnelConfig.receive_match`).  No match: the packet is dropped and
"receive tunnel port not found" is logged (rate-limited).  :func:`receive_wildcards` is what a translation of such
a packet always consults (Open vSwitch's ``tnl_wc_init``): the key, both outer addresses, the outer TOS and the
don't-fragment, checksum and key flags.

Sending (:func:`send_params`): the outer fields for an output to a vport, from its configuration, with the
``flow`` options taken from the working key (``tun_dst``/``tun_ipv6_dst``, ``tun_src``, ``tun_id`` as set by
``set_field``/``set_tunnel`` or as received), ``tos``/``ttl`` ``inherit`` from the inner IP header (their bits
join the megaflow), the ECN bits always inherited (ECN CE becomes ECT(0) outside, RFC 6040), and don't-fragment,
checksum and key-present from the configuration; ``egress_pkt_mark`` sets the packet mark, which the route lookup
uses.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pyvswitch.flow import fields as F
from pyvswitch.flow.match import ETH_TYPE_IP, ETH_TYPE_IPV6, Wildcards
from pyvswitch.netdev.netdev_vport import TunnelConfig, parse_tunnel_options

__all__ = ["TUN_FLAG_CSUM", "TUN_FLAG_DF", "TUN_FLAG_KEY", "TUN_FLAG_OAM", "SendParams", "TunnelConfig",
           "TunnelMap", "TunnelPort", "parse_tunnel_options", "receive_wildcards", "same_address", "send_params",
           "tunnel_destination", "tunnel_present"]

log = logging.getLogger("pyvswitch.tunnel")

TUN_FLAG_OAM = 0x1
TUN_FLAG_DF = 0x2
TUN_FLAG_CSUM = 0x4
TUN_FLAG_KEY = 0x8

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_IP_ECN_MASK = 0x03
_IP_ECN_CE = 0x03
_IP_ECN_ECT_0 = 0x02
_IP_DSCP_MASK = 0xFC


def _m(name: str) -> int:
    return F.storage_mask(name)


_RECEIVE_V4 = _m("tun_id") | _m("tun_src") | _m("tun_dst") | _m("_tun_tos") | (
    (TUN_FLAG_DF | TUN_FLAG_CSUM | TUN_FLAG_KEY) << F.STORAGE["tun_flags"][0])
_RECEIVE_V6 = _m("tun_id") | _m("tun_ipv6_src") | _m("tun_ipv6_dst") | _m("_tun_tos") | (
    (TUN_FLAG_DF | TUN_FLAG_CSUM | TUN_FLAG_KEY) << F.STORAGE["tun_flags"][0])
_NW_TOS_OFS = F.STORAGE["nw_tos"][0]
_NW_TTL_M = _m("nw_ttl")
_PKT_MARK_M = _m("pkt_mark")


@dataclass(frozen=True)
class TunnelPort:
    """One OpenFlow tunnel port: where it is (bridge, OpenFlow port, name), the shared datapath port it uses and
    its configuration.  ``netdev`` is its :class:`~pyvswitch.netdev.netdev_vport.VportNetdev` (statistics)."""

    bridge: str
    ofport: int
    name: str
    dp_port: int
    config: TunnelConfig
    netdev: Any = field(default=None, compare=False)


def tunnel_present(key: int) -> bool:
    """Whether ``key`` is a decapsulated packet's (it has an outer destination address)."""
    return bool(F.storage_get(key, "tun_dst") or F.storage_get(key, "tun_ipv6_dst"))


def receive_wildcards(key: int) -> int:
    """The megaflow bits every translation of a decapsulated packet consults (0 for another packet)."""
    if F.storage_get(key, "tun_dst"):
        return _RECEIVE_V4
    if F.storage_get(key, "tun_ipv6_dst"):
        return _RECEIVE_V6
    return 0


def _outer_addresses(key: int) -> tuple[IPAddress | None, IPAddress | None]:
    """The outer (source, destination) addresses of a decapsulated packet's key."""
    if F.storage_get(key, "tun_dst"):
        return (ipaddress.IPv4Address(F.storage_get(key, "tun_src")),
                ipaddress.IPv4Address(F.storage_get(key, "tun_dst")))
    if F.storage_get(key, "tun_ipv6_dst"):
        return (ipaddress.IPv6Address(F.storage_get(key, "tun_ipv6_src")),
                ipaddress.IPv6Address(F.storage_get(key, "tun_ipv6_dst")))
    return None, None


def tunnel_destination(key: int) -> IPAddress | None:
    """The outer destination address a decapsulated packet's key says it arrived with (None for another
    packet): one of this host's tunnel endpoints."""
    return _outer_addresses(key)[1]


def same_address(a: IPAddress | None, b: IPAddress | None) -> bool:
    """Whether ``a`` and ``b`` are one address, an IPv4 address and its IPv4-mapped IPv6 form included; None
    (no address) is Open vSwitch's all-zero address and equals only None."""
    return _same(a, b)


def _same(a: IPAddress | None, b: IPAddress | None) -> bool:
    """Address equality across families, as Open vSwitch compares IPv4-mapped IPv6 addresses."""
    if a is None or b is None:
        return a is b
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
        a = a.ipv4_mapped
    if isinstance(b, ipaddress.IPv6Address) and b.ipv4_mapped is not None:
        b = b.ipv4_mapped
    return a == b


class TunnelMap:
    """The tunnel ports of one datapath, by shared datapath port."""

    def __init__(self) -> None:
        self._by_dp: dict[int, list[TunnelPort]] = {}
        self._last_log = 0.0
        self.not_found = 0

    def set_ports(self, ports: Iterable[TunnelPort]) -> None:
        by_dp: dict[int, list[TunnelPort]] = {}
        for p in ports:
            by_dp.setdefault(p.dp_port, []).append(p)
        self._by_dp = by_dp

    def dp_ports(self) -> set[int]:
        return set(self._by_dp)

    def ports(self) -> list[TunnelPort]:
        return [p for ps in self._by_dp.values() for p in ps]

    def is_tunnel(self, dp_port: int) -> bool:
        return dp_port in self._by_dp

    def receive(self, dp_port: int, key: int) -> TunnelPort | None:
        """The tunnel port a packet decapsulated on ``dp_port`` belongs to (see the module documentation)."""
        cands = self._by_dp.get(dp_port)
        if not cands:
            return None
        tun_id = F.storage_get(key, "tun_id")
        src, dst = _outer_addresses(key)
        best: tuple[tuple[int, int, int], TunnelPort] | None = None
        for p in cands:
            c = p.config
            if not c.in_key_flow and c.in_key != tun_id:
                continue
            if not c.remote_flow and not _same(c.remote_ip, src):
                continue
            if c.local_flow:
                local_rank = 2
            elif c.local_ip is not None:
                if not _same(c.local_ip, dst):
                    continue
                local_rank = 0
            else:
                local_rank = 1
            rank = (int(c.in_key_flow), int(c.remote_flow), local_rank)
            if best is None or rank < best[0]:
                best = (rank, p)
        if best is None:
            self.not_found += 1
            now = time.monotonic()
            if now - self._last_log >= 1.0:
                self._last_log = now
                log.warning("receive tunnel port not found (tun_id=%#x, src=%s, dst=%s, dp port=%d)",
                            tun_id, src, dst, dp_port)
            return None
        return best[1]


@dataclass(frozen=True)
class SendParams:
    """The outer headers of a packet output to a tunnel port.  ``dst``: the remote address (None when
    ``remote_ip=flow`` and the flow has none); ``src``: the configured or flow's local address (None: the
    route's source); ``key``: the key field (None: no GRE key field); ``pkt_mark``: the packet mark the route is
    looked up with."""

    dst: IPAddress | None
    src: IPAddress | None
    key: int | None
    tos: int
    ttl: int
    df: bool
    csum: bool
    oam: bool
    pkt_mark: int
    gbp_id: int = 0
    gbp_flags: int = 0



def _key_address(key: int, end: str) -> IPAddress | None:
    """The tunnel address ``end`` (``src`` or ``dst``) a flow set: ``tun_<end>``, else ``tun_ipv6_<end>``."""
    v4 = F.storage_get(key, f"tun_{end}")
    if v4:
        return ipaddress.IPv4Address(v4)
    v6 = F.storage_get(key, f"tun_ipv6_{end}")
    return ipaddress.IPv6Address(v6) if v6 else None

def send_params(port: TunnelPort, key: int, wc: Wildcards | None) -> SendParams:
    """The outer headers of ``key`` output to ``port`` (see the module documentation); the inner fields
    consulted are added to ``wc``.  The tunnel fields a ``flow`` option reads are not: a flow that set them
    consulted them already, and a decapsulated packet's are in the megaflow anyway (:func:`receive_wildcards`),
    as in Open vSwitch."""
    c = port.config
    w = 0
    dst = _key_address(key, "dst") if c.remote_flow else c.remote_ip
    src = _key_address(key, "src") if c.local_flow else c.local_ip
    if c.out_key_flow:
        tun_key: int | None = F.storage_get(key, "tun_id")
    elif c.out_key_present:
        tun_key = c.out_key
    else:
        tun_key = None if c.type == "gre" else 0
    dl_type = F.storage_get(key, "dl_type")
    is_ip = dl_type in (ETH_TYPE_IP, ETH_TYPE_IPV6)
    nw_tos = F.storage_get(key, "nw_tos")
    if c.ttl_inherit and is_ip:
        w |= _NW_TTL_M
        ttl = F.storage_get(key, "nw_ttl")
    else:
        ttl = c.ttl
    if c.tos_inherit and is_ip:
        w |= _IP_DSCP_MASK << _NW_TOS_OFS
        tos = nw_tos & _IP_DSCP_MASK
    else:
        tos = c.tos
    if is_ip:
        # The ECN bits are always inherited (RFC 6040): congestion experienced inside is ECT(0) outside.
        w |= _IP_ECN_MASK << _NW_TOS_OFS
        ecn = nw_tos & _IP_ECN_MASK
        tos |= _IP_ECN_ECT_0 if ecn == _IP_ECN_CE else ecn
    mark = F.storage_get(key, "pkt_mark")
    if c.egress_pkt_mark is not None:
        mark = c.egress_pkt_mark
        w |= _PKT_MARK_M
    flags = F.storage_get(key, "tun_flags")
    gbp_id = gbp_flags = 0
    if c.gbp:
        gbp_id = F.storage_get(key, "tun_gbp_id")
        gbp_flags = F.storage_get(key, "tun_gbp_flags")
    if wc is not None:
        wc.add(w)
    return SendParams(dst, src, tun_key, tos, ttl, c.dont_fragment, c.csum, bool(flags & TUN_FLAG_OAM), mark,
                      gbp_id, gbp_flags)
