"""The neighbour cache of native tunnelling, in the manner of Open vSwitch's ``tnl-neigh-cache``.

Sending a tunnelled packet needs the MAC address of the next hop on the underlay bridge.  The cache maps
(bridge name, IP address) to that MAC address.  It learns from ARP and Neighbor Advertisement packets that a
bridge's translation delivers to the bridge's own (LOCAL) port (:meth:`NeighCache.snoop`), and from
``ovs-appctl tnl/neigh/set`` (:meth:`NeighCache.set`).

What is learned, as Open vSwitch 3.1 learns it (checked by injecting packets into a real one):

* gratuitous ARP packets (sender address equal to target address, request or reply) and ARP replies whose
  target address is one of the bridge's addresses, if their sender hardware address is not zero: sender protocol
  address -> sender hardware address;
* ICMPv6 Neighbor Advertisements (type 136, code 0) to one of the bridge's addresses that carry a non-zero target
  link-layer address option: target address -> target link-layer address.

Snooping is part of translation, so it un-wildcards every field it looked at (the megaflow must send every packet
that would be learned from to userspace again), and changes the cache only when translation may have side
effects (not while revalidating or tracing).  Open vSwitch does not un-wildcard the IPv6 destination (nor the
IP protocol) it checks an advertisement against, so a megaflow made for an advertisement to another address also
swallows later ones to the bridge's; here they are un-wildcarded, which costs a little width and keeps learning.

Entries expire ``aging`` seconds (900 by default, at most 3600) after they were last learned or looked up; an
expired entry is no longer returned, is shown with ``STALE`` until :meth:`NeighCache.run` removes it.  Entries set
by hand age like learned ones (Open vSwitch 3.1 has no static entries; ``static`` is accepted and ignored).
The clock is injected (``clock``, seconds as a float), so aging is tested without sleeping.

The cache is a plain object without locks: the daemon uses it under its switch lock.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface

from pyvswitch.flow import fields as F
from pyvswitch.flow.match import ETH_TYPE_ARP, ETH_TYPE_IP, ETH_TYPE_IPV6, IPPROTO_ICMPV6, Wildcards
from pyvswitch.ofproto.router import format_ip

__all__ = ["DEFAULT_AGING", "MAX_AGING", "NeighCache", "NeighEntry"]

DEFAULT_AGING = 15 * 60
MAX_AGING = 3600

ARP_OP_REPLY = 2
ND_NEIGHBOR_SOLICIT = 135
ND_NEIGHBOR_ADVERT = 136

_DL_TYPE_M = F.storage_mask("dl_type")
_NW_PROTO_M = F.storage_mask("nw_proto")
_NW_SRC_M = F.storage_mask("nw_src")
_NW_DST_M = F.storage_mask("nw_dst")
_ARP_SHA_M = F.storage_mask("arp_sha")
_ARP_THA_M = F.storage_mask("arp_tha")
_TP_SRC_M = F.storage_mask("tp_src")
_TP_DST_M = F.storage_mask("tp_dst")
_IPV6_SRC_M = F.storage_mask("ipv6_src")
_IPV6_DST_M = F.storage_mask("ipv6_dst")
_ND_TARGET_M = F.storage_mask("nd_target")

IPAddress = IPv4Address | IPv6Address


def _addr(ip: IPAddress | str | int) -> IPAddress:
    a = ipaddress.ip_address(ip)
    if isinstance(a, IPv6Address) and a.ipv4_mapped is not None:
        return a.ipv4_mapped
    return a


def format_mac(mac: int) -> str:
    return ":".join(f"{b:02x}" for b in mac.to_bytes(6, "big"))


@dataclass
class NeighEntry:
    bridge: str
    ip: IPAddress
    mac: int
    expires: float


class NeighCache:
    """(bridge, IP) -> MAC, learned by snooping or set by hand, with aging."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.aging = DEFAULT_AGING
        # Insertion order is the ``tnl/neigh/show`` order (Open vSwitch's is its hash table's).
        self._entries: dict[tuple[str, IPAddress], NeighEntry] = {}
        self.generation = 0
        # The addresses of a bridge's own device (``TnlContext`` gives the router's); replies are learned only
        # when addressed to one of them.  None (unit tests) accepts every reply.
        self.addresses: Callable[[str], list[IPv4Interface | IPv6Interface]] | None = None

    def _changed(self) -> None:
        self.generation += 1

    def lookup(self, bridge: str, ip: IPAddress | str | int) -> int | None:
        """The MAC address of ``ip`` on ``bridge`` (a 48-bit int), or None when unknown or expired.  A hit
        keeps the entry alive for another aging period, as in Open vSwitch."""
        e = self._entries.get((bridge, _addr(ip)))
        if e is None:
            return None
        now = self.clock()
        if e.expires <= now:
            return None
        e.expires = now + self.aging
        return e.mac

    def set(self, bridge: str, ip: IPAddress | str | int, mac: int, static: bool = True) -> None:
        """Learns or sets ``ip`` -> ``mac`` on ``bridge``.  The same MAC again only refreshes the entry (no
        generation change); a different MAC replaces it (the entry moves to the end of the show order)."""
        key = (bridge, _addr(ip))
        now = self.clock()
        e = self._entries.get(key)
        if e is not None and e.expires > now and e.mac == mac:
            e.expires = now + self.aging
            return
        if e is not None:
            del self._entries[key]
        self._entries[key] = NeighEntry(bridge, key[1], mac, now + self.aging)
        self._changed()

    def _is_mine(self, bridge: str, ip: IPAddress) -> bool:
        """Whether ``ip`` is an address of the bridge's own device (always true without ``addresses``)."""
        if self.addresses is None:
            return True
        return any(a.ip == ip for a in self.addresses(bridge))

    def _is_nd_dst_mine(self, bridge: str, ip: IPv6Address) -> bool:
        """Whether a Neighbor Advertisement sent to ``ip`` is for the bridge: one of its addresses, or the
        solicited-node multicast group (``ff02::1:ffXX:XXXX``) of one of them, as Open vSwitch accepts."""
        if self._is_mine(bridge, ip):
            return True
        n = int(ip)
        if n >> 24 != 0xFF0200000000000000000001FF:
            return False
        assert self.addresses is not None
        return any(a.version == 6 and int(a.ip) & 0xFFFFFF == n & 0xFFFFFF for a in self.addresses(bridge))

    def snoop(self, key: int, bridge: str, wc: Wildcards | None, side_effects: bool) -> bool:
        """Learns from the packet whose flow key is ``key``, delivered to ``bridge``'s own port, if it is an ARP
        reply to one of the bridge's addresses, a gratuitous ARP, or a Neighbor Advertisement to one of the
        bridge's addresses (or its solicited-node multicast group) with a target link-layer address.  The fields consulted are added to ``wc``; the
        cache changes only when ``side_effects``.  Returns whether the packet was one to learn from."""
        w = wc.mask if wc is not None else 0
        w |= _DL_TYPE_M
        dl_type = F.storage_get(key, "dl_type")
        learned: tuple[IPAddress, int] | None = None
        if dl_type == ETH_TYPE_ARP:
            spa = F.storage_get(key, "nw_src")
            tpa = F.storage_get(key, "nw_dst")
            w |= _NW_SRC_M | _NW_DST_M | _NW_PROTO_M
            ok = spa == tpa or (F.storage_get(key, "nw_proto") == ARP_OP_REPLY
                                and self._is_mine(bridge, IPv4Address(tpa)))
            if ok:
                w |= _ARP_SHA_M
                sha = F.storage_get(key, "arp_sha")
                if sha:
                    learned = (IPv4Address(spa), sha)
        elif dl_type == ETH_TYPE_IPV6:
            w |= _NW_PROTO_M
            if F.storage_get(key, "nw_proto") == IPPROTO_ICMPV6:
                w |= _IPV6_DST_M
                if self._is_nd_dst_mine(bridge, IPv6Address(F.storage_get(key, "ipv6_dst"))):
                    w |= _TP_DST_M
                    if F.storage_get(key, "tp_dst") == 0:
                        w |= _TP_SRC_M
                        if F.storage_get(key, "tp_src") == ND_NEIGHBOR_ADVERT:
                            w |= _ARP_THA_M
                            tll = F.storage_get(key, "arp_tha")
                            if tll:
                                w |= _IPV6_SRC_M | _ND_TARGET_M
                                learned = (IPv6Address(F.storage_get(key, "nd_target")), tll)
        if wc is not None:
            wc.mask = w
        if learned is None:
            return False
        if side_effects:
            self.set(bridge, learned[0], learned[1], static=False)
        return True

    def learn_from_tunnel(self, key: int, bridge: str, side_effects: bool) -> None:
        """A tunnel packet terminating at ``bridge`` (its output to the bridge's port became ``tnl_pop``) teaches
        its outer source: IP source -> Ethernet source, as Open vSwitch 3.1 learns it.  Like Open vSwitch, this
        un-wildcards nothing (the packet goes to the same ``tnl_pop`` whoever sent it; only the learning is
        lost for packets that hit the megaflow, and the entry is refreshed by the outgoing traffic's lookups)."""
        if not side_effects:
            return
        dl_type = F.storage_get(key, "dl_type")
        mac = F.storage_get(key, "dl_src")
        if dl_type == ETH_TYPE_IP:
            self.set(bridge, IPv4Address(F.storage_get(key, "nw_src")), mac, static=False)
        elif dl_type == ETH_TYPE_IPV6:
            self.set(bridge, IPv6Address(F.storage_get(key, "ipv6_src")), mac, static=False)

    def flush(self, bridge: str | None = None) -> None:
        """Forgets every entry (of ``bridge`` only, when given: a bridge that is deleted)."""
        before = len(self._entries)
        if bridge is None:
            self._entries.clear()
        else:
            self._entries = {k: e for k, e in self._entries.items() if e.bridge != bridge}
        if len(self._entries) != before:
            self._changed()

    def set_aging(self, seconds: int) -> None:
        """Sets the aging time; entries that would now live longer expire after ``seconds`` from now."""
        if not 0 < seconds <= MAX_AGING:
            raise ValueError("bad aging value")
        self.aging = seconds
        new_exp = self.clock() + seconds
        for e in self._entries.values():
            e.expires = min(e.expires, new_exp)

    def run(self, now: float | None = None) -> None:
        """Removes the expired entries."""
        t = self.clock() if now is None else now
        dead = [k for k, e in self._entries.items() if e.expires <= t]
        for k in dead:
            del self._entries[k]
        if dead:
            self._changed()

    def entries(self) -> list[NeighEntry]:
        return list(self._entries.values())

    def show(self) -> str:
        """The ``tnl/neigh/show`` text."""
        now = self.clock()
        out = ["IP                                            MAC                 Bridge\n",
               "=" * 74 + "\n"]
        for e in self._entries.values():
            line = f"{format_ip(e.ip):<46}{format_mac(e.mac)}   {e.bridge}"
            if e.expires <= now:
                line += " STALE"
            out.append(line + "\n")
        return "".join(out)
