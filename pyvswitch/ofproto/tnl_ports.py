"""The listening ports of native tunnelling, in the manner of Open vSwitch's ``tnl-ports``.

When a bridge's translation outputs a packet to the bridge's own port and the packet is addressed to a tunnel
endpoint of this host, the output becomes ``tnl_pop(P)``: the datapath decapsulates it and the inner packet enters
again on the tunnel datapath port ``P``.  This module decides which packets those are.

Two lists make the map, as in Open vSwitch:

* the **ports**: one per tunnel datapath port (``vxlan_sys_4789``, ``genev_sys_6081``, ``gre_sys`` ...), with
  the IP protocol (UDP, or GRE 47) and the UDP destination port, reference-counted by the OpenFlow tunnel ports
  that use it (:meth:`TnlPorts.add`, :meth:`TnlPorts.remove`);
* the **IP devices**: the devices some route goes out of that have an Ethernet address, with their MAC and IP
  addresses (:meth:`TnlPorts.set_addresses`, kept current by :class:`~pyvswitch.ofproto.tnl_context.TnlContext`).

Every (port, device, address) triple gives one entry matching ``dl_dst=MAC, dl_type=0x0800|0x86dd,
nw_dst|ipv6_dst=address, nw_proto=17|47, nw_frag=no`` and, for UDP, ``tp_dst=port``.

Open vSwitch keeps the entries in a classifier, and both the ``tnl/ports/show -v`` order and the wildcards of a
lookup come from it; this module models just enough of it.  Entries live in four "subtables" (one per mask: IPv4
UDP, IPv4 GRE, IPv6 UDP, IPv6 GRE) in the order the subtables were created (an emptied subtable goes away), and in
insertion order inside each.  Ports and devices are kept newest first (Open vSwitch inserts at the head of its
lists), and entries are made: for a new port, for each device in list order and each of its addresses; for a new
device, for each port in list order and each address.  A device whose MAC or addresses changed is deleted and
inserted again.  So the order depends on the history of changes, as it does in Open vSwitch.

:meth:`TnlPorts.lookup` walks the subtables as a staged lookup does: Ethernet fields first (``dl_dst``,
``dl_type``), then the IP fields (``nw_dst``/``ipv6_dst``, ``nw_proto``, ``nw_frag``), then ``tp_dst``; a stage
with no candidate ends that subtable's walk, and only the fields of the stages reached are un-wildcarded.  The
first subtable with a matching entry ends the lookup (all entries have the same priority).

Plain object without locks: the daemon uses it under its switch lock.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from pyvswitch.flow import fields as F
from pyvswitch.flow.match import ETH_TYPE_IP, ETH_TYPE_IPV6, IPPROTO_UDP, Wildcards

__all__ = ["IPPROTO_GRE", "TnlPorts"]

IPPROTO_GRE = 47

IPAddress = IPv4Address | IPv6Address

_DL_DST = F.BY_NAME["dl_dst"]
_FRAG = F.BY_NAME["nw_frag"]
# The VLAN TCI is matched too, to 0: a tagged packet never ends at a tunnel (as in Open vSwitch, whose
# listening entries match untagged packets only, though ``tnl/ports/show -v`` does not print it).
_L2_M = F.storage_mask("dl_dst") | F.storage_mask("dl_type") | F.storage_mask("vlan_tci")
_L3_V4_M = F.storage_mask("nw_dst") | F.storage_mask("nw_proto") | _FRAG.key_mask
_L3_V6_M = F.storage_mask("ipv6_dst") | F.storage_mask("nw_proto") | _FRAG.key_mask
_L4_M = F.storage_mask("tp_dst")


@dataclass
class _Port:
    dp_port: int
    name: str
    nw_proto: int
    udp_dst: int
    ref_cnt: int = 1


@dataclass(frozen=True)
class _Entry:
    dp_port: int
    name: str
    mac: int
    ip: IPAddress
    nw_proto: int
    udp_dst: int
    dev: str

    @property
    def subtable(self) -> tuple[int, bool]:
        return (self.ip.version, self.nw_proto == IPPROTO_UDP)

    def text(self) -> str:
        mac = ":".join(f"{b:02x}" for b in self.mac.to_bytes(6, "big"))
        if self.ip.version == 4:
            l3 = f"eth_type(0x0800),ipv4(dst={self.ip},proto={self.nw_proto},frag=no)"
        else:
            l3 = f"eth_type(0x86dd),ipv6(dst={self.ip},proto={self.nw_proto},frag=no)"
        l4 = f",udp(dst={self.udp_dst})" if self.nw_proto == IPPROTO_UDP else ""
        return f"{self.name} ({self.dp_port}) : eth(dst={mac}),{l3}{l4}"


def _addr(a: IPAddress | str | int) -> IPAddress:
    ip = ipaddress.ip_address(a) if not isinstance(a, (IPv4Address, IPv6Address)) else a
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class TnlPorts:
    """Tunnel datapath ports x device addresses -> the entries a packet for ``tnl_pop`` matches."""

    def __init__(self) -> None:
        self._ports: list[_Port] = []                       # Newest first, as Open vSwitch lists them.
        self._devs: dict[str, tuple[int, list[IPAddress]]] = {}   # Likewise.
        self._subtables: dict[tuple[int, bool], list[_Entry]] = {}
        self.generation = 0

    # -- Entries ---------------------------------------------------------------------------------------------

    def _append(self, port: _Port, dev: str) -> None:
        mac, ips = self._devs[dev]
        for ip in ips:
            e = _Entry(port.dp_port, port.name, mac, ip, port.nw_proto, port.udp_dst, dev)
            self._subtables.setdefault(e.subtable, []).append(e)

    def _remove_where(self, pred: Callable[[_Entry], bool]) -> None:
        for k in list(self._subtables):
            kept = [e for e in self._subtables[k] if not pred(e)]
            if kept:
                self._subtables[k] = kept
            else:
                del self._subtables[k]

    # -- Ports -----------------------------------------------------------------------------------------------

    def add(self, dp_port: int, name: str, nw_proto: int, udp_dst: int) -> None:
        """One more OpenFlow tunnel port uses datapath port ``dp_port`` (named ``name``; ``nw_proto`` 17 with
        UDP port ``udp_dst``, or 47 for GRE)."""
        for p in self._ports:
            if p.dp_port == dp_port and p.nw_proto == nw_proto:
                p.ref_cnt += 1
                return
        port = _Port(dp_port, name, nw_proto, udp_dst if nw_proto == IPPROTO_UDP else 0)
        self._ports.insert(0, port)
        for dev in self._devs:
            self._append(port, dev)
        self.generation += 1

    def remove(self, dp_port: int) -> None:
        """One OpenFlow tunnel port less uses ``dp_port``; the last one takes its entries away."""
        for i, p in enumerate(self._ports):
            if p.dp_port == dp_port:
                p.ref_cnt -= 1
                if p.ref_cnt <= 0:
                    del self._ports[i]
                    self._remove_where(lambda e: e.dp_port == dp_port)
                    self.generation += 1
                return

    def ref_count(self, dp_port: int) -> int:
        return next((p.ref_cnt for p in self._ports if p.dp_port == dp_port), 0)

    # -- Devices ---------------------------------------------------------------------------------------------

    def insert_device(self, dev: str, mac: int, ips: list[IPAddress]) -> None:
        """A route goes out of ``dev``: it becomes an IP device (nothing changes if it is one already with the
        same MAC and addresses; if they changed it is inserted again).  A device without addresses is not
        one."""
        val = (mac, [_addr(a) for a in ips])
        old = self._devs.get(dev)
        if old == val:
            return
        if old is not None:
            self.delete_device(dev)
        if not val[1] or not mac:
            return
        self._devs = {dev: val, **self._devs}
        for port in self._ports:
            self._append(port, dev)
        self.generation += 1

    def delete_device(self, dev: str) -> None:
        """``dev`` stops being an IP device (Open vSwitch does this whenever a route of the device is
        deleted, even if others remain; see :class:`~pyvswitch.ofproto.tnl_context.TnlContext`)."""
        if self._devs.pop(dev, None) is not None:
            self._remove_where(lambda e: e.dev == dev)
            self.generation += 1

    def devices(self) -> dict[str, tuple[int, list[IPAddress]]]:
        """The IP devices, newest first: name -> (MAC, addresses)."""
        return dict(self._devs)

    def set_addresses(self, addrs: dict[str, tuple[int, list[IPAddress]]]) -> None:
        """Makes the IP devices exactly ``addrs`` (device -> (MAC, addresses in the device's order)): devices
        not in it are deleted, changed ones inserted again, new ones inserted in the dict's order."""
        for dev in list(self._devs):
            if dev not in addrs:
                self.delete_device(dev)
        for dev, (mac, ips) in addrs.items():
            self.insert_device(dev, mac, list(ips))

    def endpoint_ipv4(self) -> set[int]:
        """The IPv4 addresses of every IP device, as ints (for the datapath's reassembly of fragments)."""
        return {int(ip) for _, ips in self._devs.values() for ip in ips if ip.version == 4}

    # -- Lookup ----------------------------------------------------------------------------------------------

    def lookup(self, key: int, wc: Wildcards | None) -> int | None:
        """The tunnel datapath port the packet with flow key ``key`` terminates at, or None.  Adds the fields
        it consulted to ``wc``."""
        w = 0
        dl_dst = F.storage_get(key, "dl_dst")
        dl_type = F.storage_get(key, "dl_type")
        vlan = F.storage_get(key, "vlan_tci")
        found: int | None = None
        for (version, udp), entries in self._subtables.items():
            w |= _L2_M
            want_type = ETH_TYPE_IP if version == 4 else ETH_TYPE_IPV6
            cands = [e for e in entries if e.mac == dl_dst] if dl_type == want_type and not vlan else []
            if not cands:
                continue
            if version == 4:
                w |= _L3_V4_M
                dst: int = F.storage_get(key, "nw_dst")
            else:
                w |= _L3_V6_M
                dst = F.storage_get(key, "ipv6_dst")
            proto = F.storage_get(key, "nw_proto")
            frag = F.get(key, _FRAG)
            cands = [e for e in cands if int(e.ip) == dst and e.nw_proto == proto and frag == 0]
            if not cands:
                continue
            if udp:
                w |= _L4_M
                tp_dst = F.storage_get(key, "tp_dst")
                cands = [e for e in cands if e.udp_dst == tp_dst]
                if not cands:
                    continue
            found = cands[0].dp_port
            break
        if wc is not None:
            wc.mask |= w
        return found

    # -- Text ------------------------------------------------------------------------------------------------

    def show(self, verbose: bool = False) -> str:
        """The ``tnl/ports/show`` text (``-v``: every entry as a datapath flow)."""
        out = ["Listening ports:\n"]
        if verbose:
            out += [e.text() + "\n" for entries in self._subtables.values() for e in entries]
        else:
            out += [f"{p.name} ({p.dp_port}) ref_cnt={p.ref_cnt}\n" for p in self._ports]
        return "".join(out)
