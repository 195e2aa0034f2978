"""OpenFlow bridges on a datapath (Open vSwitch's ``ofproto-dpif``): upcalls, revalidation, statistics.

One :class:`Backer` per datapath type (``dummy``, ``netdev``) owns one userspace datapath
(:class:`pyvswitch.dpif.netdev_dpif.NetdevDpif`, named ``ovs-dummy`` or ``ovs-netdev``) shared by every bridge of
that type, as in Open vSwitch, where ``dpif/show`` lists the bridges under their datapath.  Each bridge is a
:class:`DpBridge`: its OpenFlow switch (``OFProto``), its MAC learning table, and its ports with their OpenFlow
and datapath numbers.  Datapath port numbers are chosen by the daemon (the bridge's own port is 100 and up, the
others 1 and up, as Open vSwitch's dummy datapath numbers them).

The path of a packet
--------------------
A frame received on datapath port P enters :meth:`Backer.receive`.  The datapath looks it up (exact-match cache,
then megaflows).  A miss is an *upcall* (:meth:`Backer._upcall`): the bridge is found from P, the key's
``in_port`` becomes the OpenFlow port, the key is translated with side effects (``ofproto.xlate``: MAC learning,
``learn``, table counters), the rules it hit are credited with the packet, and the answer (the key, the
megaflow mask, the datapath actions) is installed and executed.  Datapath ``userspace(...controller(...))``
actions come back to :meth:`Backer._userspace`, which turns them into packet-ins for ``on_packet_in``.

Revalidation
------------
The datapath's flows were translated from a state of the bridges.  Whenever that state changes (a flow table,
a group, a port, the learning table: :meth:`DpBridge.signature`), every flow is re-translated without side
effects before the next packet is processed or a dump is answered (:meth:`Backer.revalidate`), and fixed or
deleted (``dpif.revalidator``), so a change of rules changes forwarding at once.  A periodic pass
(:meth:`Backer.run`, every ``REVALIDATE_INTERVAL``) expires idle flows (``other_config:max-idle``), ages the MAC
tables, and pushes the flows' statistics to the OpenFlow rules they came from and to the MAC learning table
(Open vSwitch's xlate cache does the same), so ``dump-flows`` counters come from the datapath.  The first packet
of a flow is credited when it is upcalled (the datapath does not count it).

Tunnels
-------
Tunnel vports (``DpPort.tunnel`` set) share datapath ports: one per type and UDP port (``vxlan_sys_4789``,
``genev_sys_6081``, ``gre_sys``), added to the datapath while an OpenFlow tunnel port uses it and registered in the
daemon's listening-port map (``tnl.ports``, reference-counted by the vports).  A packet the datapath decapsulated
comes up on such a port: :class:`pyvswitch.ofproto.tunnel.TunnelMap` finds its vport (bridge and OpenFlow port)
from the key's tunnel fields, its raw Geneve options become ``tun_metadataN`` fields through the bridge's TLV map
for the translation, and the megaflow keeps the raw options exact instead (the datapath knows nothing else); a
packet no vport claims is dropped.  Translations read the router, the neighbour cache and the listening ports of
``tnl`` (a :class:`pyvswitch.ofproto.tnl_context.TnlContext`): a change of its ``generation`` revalidates every
flow, and the IPv4 endpoint addresses are handed to the datapath (``set_tnl_endpoints``) for the reassembly of
outer fragments.  ARP requests and ND solicitations a translation asks for (a neighbour cache miss) are sent
through the underlay bridge's tables after the upcalls.  Each vport counts the packets received through it and
sent to it, credited from the megaflows' statistics like the rules (Open vSwitch's ``XC_NETDEV``).

Thread model: every method is called with the switch lock held (the daemon's rule).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from pyvswitch.dpif import odp
from pyvswitch.dpif.execute import PacketMetadata
from pyvswitch.dpif.flow_cache import DEFAULT_FLOW_LIMIT, DEFAULT_MAX_IDLE, flow_ufid
from pyvswitch.dpif.netdev_dpif import NetdevDpif, datapath_mask, dummy_dpif
from pyvswitch.dpif.revalidator import DELETE, EXPIRE, MODIFY, FlowStatsDelta, Revalidator
from pyvswitch.flow import fields as F
from pyvswitch.flow.extract import extract
from pyvswitch.flow.match import Wildcards
from pyvswitch.flow.tun_metadata import GENEVE_RAW_MASK, geneve_raw, options_to_metadata
from pyvswitch.flow.values import OFPP_TABLE
from pyvswitch.netdev.netdev import PacketBatch
from pyvswitch.ofproto.actions.model import Output as OfOutput
from pyvswitch.ofproto.learn import fin_timeout_execute, learn_execute
from pyvswitch.ofproto.mac_learning import DEFAULT_AGING_TIME, DEFAULT_MAX_ENTRIES, MacLearning
from pyvswitch.ofproto.meter import BandType, MeterIdPool
from pyvswitch.ofproto.normal import PortVlanConfig
from pyvswitch.ofproto.ofproto import OFPPC, OFProto
from pyvswitch.ofproto.recirc import RecircTable, recirc_ids_of
from pyvswitch.ofproto.rule import Rule
from pyvswitch.ofproto.trace import trace_packet
from pyvswitch.ofproto.tunnel import TunnelConfig, TunnelMap, TunnelPort
from pyvswitch.ofproto.xlate import (
    PacketIn,
    Trace,
    XlateBridge,
    XlateResult,
    continuation_actions,
    packet_in_from_cookie,
    thaw_continuation,
    translate,
)

__all__ = ["REVALIDATE_INTERVAL", "Backer", "DpBridge", "DpPort", "Paused"]

log = logging.getLogger("pyvswitch.ofproto_dpif")

REVALIDATE_INTERVAL = 0.5
"""Seconds between two periodic revalidator passes (statistics, idle expiry, MAC aging)."""

INITIAL_FLOW_LIMIT = 10_000
"""Where the dynamic flow limit starts (Open vSwitch's)."""

_TUN_MD_MASK = F.storage_mask("tun_metadata") | F.storage_mask("_tun_metadata_present")
_IN_PORT_OFS, _IN_PORT_BITS = F.STORAGE["in_port"]
_IN_PORT_M = ((1 << _IN_PORT_BITS) - 1) << _IN_PORT_OFS


_RECIRC_ID_RE = re.compile(r"recirc_id=(\d+)")
_OUTPUT_TABLE = OfOutput(OFPP_TABLE)

# A packet-out's pipeline fields that its translation starts with (the packet gives the headers).
_PACKET_OUT_MD = F.storage_mask("regs") | F.storage_mask("metadata") | F.storage_mask("pkt_mark")


def _with_in_port(key: int, port: int) -> int:
    return (key & ~_IN_PORT_M) | (port << _IN_PORT_OFS)


def _in_port(key: int) -> int:
    return (key >> _IN_PORT_OFS) & ((1 << _IN_PORT_BITS) - 1)


@dataclass(frozen=True)
class DpPort:
    """One port of a bridge: its OpenFlow number, name, datapath number (None for a port without one, such as
    a patch port), netdev class, NORMAL's VLAN view, and for a patch port its peer's interface name."""

    ofport: int
    name: str
    odp_port: int | None
    type: str
    vlan: PortVlanConfig | None = None
    send: Callable[[bytes], object] | None = None
    peer: str | None = None
    #: The port's netdev, for batched output (``send_batch``/``flush``); None: ``send`` only.
    netdev: Any = None
    #: A tunnel vport's configuration (``odp_port`` is then its shared datapath port); None for other ports.
    tunnel: TunnelConfig | None = None


@dataclass
class Paused:
    """What a paused translation's packet-in carries for the controller to resume it with (an OpenFlow
    continuation): the remaining actions as (table, cookie, actions), the action set, whether the packet went
    through conntrack, and the datapath port it arrived on."""

    actions: list[tuple[int, int, list[Any]]]
    action_set: list[Any]
    conntracked: bool
    odp_port: int


@dataclass
class _XEntry:
    """What the statistics of one megaflow are credited to (Open vSwitch's xlate cache): the rules and group
    buckets its translation hit, the MAC entries it learned (with their bridge: a patch port's peer learns in its
    own table), and the ``learn`` actions it ran, which its traffic keeps refreshing."""

    bridge: DpBridge
    rules: list[Rule]
    learned: list[tuple[str, int, int, int]]
    groups: list[tuple[str, int, tuple[int, ...]]]
    learns: list[tuple[str, Any, int]]
    fin_timeouts: list[tuple[Any, Rule]]
    #: Tunnel vports the packets were received through or sent to: (netdev, "rx" or "tx").
    netdevs: list[tuple[Any, str]] = field(default_factory=list)
    #: Neighbour entries (bridge, IP) the tunnel outputs use: refreshed by the traffic.
    neighs: list[tuple[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, bridge: DpBridge, res: XlateResult, rx: Any = None) -> _XEntry:
        names = res.learned_in or [bridge.name] * len(res.learned)
        learned = [(b, *entry) for b, entry in zip(names, res.learned)]
        groups = [(res.bridge_name or bridge.name, gid, buckets) for gid, buckets in res.groups_hit]
        netdevs = ([(rx, "rx")] if rx is not None else []) + list(res.tnl_stats)
        return cls(bridge, list(res.rules_hit), learned, groups, list(res.learns), list(res.fin_timeouts),
                   netdevs, list(res.tnl_neighs))


class DpBridge:
    """One bridge on a :class:`Backer`."""

    def __init__(self, backer: Backer, ofproto: OFProto) -> None:
        self.backer = backer
        self.ofproto = ofproto
        self.name = ofproto.name
        self.mac_table = MacLearning(clock=ofproto.clock)
        self.ports: dict[int, DpPort] = {}
        self.flood_vlans: frozenset[int] = frozenset()
        self.forward_bpdu = False
        self.port_generation = 0
        #: Whether a table miss sends a packet-in (some OpenFlow 1.0-1.2 connection listens); the daemon sets it
        #: with ``set_miss_to_controller`` when the connections change.
        self.miss_to_controller = False
        self.xbridge = self._make_xbridge()
        ofproto.on_port_change.append(self._port_changed)

    def _port_changed(self, reason: str, port: Any) -> None:
        self.port_generation += 1
        self.xbridge = self._make_xbridge()

    def _make_xbridge(self) -> XlateBridge:
        order = sorted(self.ports, key=lambda p: (p != 0xFFFE, p))
        dp_ports = {p: self.ports[p].odp_port for p in order if self.ports[p].odp_port is not None}
        vlan_ports = {}
        for p in order:
            dp = self.ports[p]
            cfg = dp.vlan or PortVlanConfig(dp.name, p)
            ofp = self.ofproto.ports.get(p)
            if ofp is not None:
                cfg = _with_flags(cfg, ofp.config)
            vlan_ports[p] = cfg
        tunnels = {p: TunnelPort(self.name, p, dp.name, dp.odp_port, dp.tunnel, dp.netdev)
                   for p, dp in self.ports.items() if dp.tunnel is not None and dp.odp_port is not None}
        return XlateBridge(self.ofproto, dp_ports, vlan_ports, self.mac_table, flood_vlans=self.flood_vlans,
                           forward_bpdu=self.forward_bpdu, recirc=self.backer.recirc,
                           patch_peers=self.backer.patch_peers(self), bridges=self.backer.xbridge,
                           miss_to_controller=self.miss_to_controller, tunnels=tunnels, tnl=self.backer.tnl)

    def set_miss_to_controller(self, want: bool) -> None:
        """Follow the connections: a table miss sends a packet-in only while one that wants it is there."""
        if want != self.miss_to_controller:
            self.miss_to_controller = want
            self.port_generation += 1
            self.xbridge = self._make_xbridge()

    def set_ports(self, ports: Iterable[DpPort], flood_vlans: frozenset[int] = frozenset(),
                  forward_bpdu: bool = False) -> bool:
        """Make ``ports`` the bridge's ports; returns True when anything changed."""
        new = {p.ofport: p for p in ports}
        if new == self.ports and (flood_vlans, forward_bpdu) == (self.flood_vlans, self.forward_bpdu):
            return False
        gone = [p for p in self.ports if p not in new or new[p].vlan != self.ports[p].vlan]
        self.ports = new
        self.flood_vlans, self.forward_bpdu = flood_vlans, forward_bpdu
        self.mac_table.set_flood_vlans(flood_vlans)     # Nothing is learned in a flood VLAN.
        for p in gone:
            self.mac_table.flush_port(p)
        self.port_generation += 1
        self.xbridge = self._make_xbridge()
        return True

    def signature(self) -> tuple[int, ...]:
        """Changes whenever something translation reads changes."""
        o = self.ofproto
        tlv = o.tlv_table
        # The TLV map decides which tun_metadataN a Geneve option is: part of the port-level state here.
        tlv_sig = hash(tuple(sorted((i, m.option_class, m.option_type, m.option_len)
                                    for i, m in tlv.mappings.items()))) if tlv is not None else 0
        return (o.tables.version, o.groups.version, self.port_generation + tlv_sig, self.mac_table.revision)

    def translate(self, key: int, *, side_effects: bool, packet: bytes | None = None,
                  trace: Trace | None = None) -> XlateResult:
        return translate(self.xbridge, key, packet=packet, side_effects=side_effects, trace=trace)


def _credit_netdevs(entry: _XEntry, packets: int, nbytes: int) -> None:
    """Count a megaflow's packets in the tunnel vports they were received through or sent to."""
    for netdev, direction in entry.netdevs:
        credit = getattr(netdev, "credit", None)
        if credit is not None:
            credit(direction, packets, nbytes)


def _with_flags(cfg: PortVlanConfig, config: int) -> PortVlanConfig:
    return replace(cfg, no_flood=bool(config & OFPPC.NO_FLOOD), no_fwd=bool(config & OFPPC.NO_FWD),
                   down=bool(config & OFPPC.PORT_DOWN))


class Backer:
    """The datapath of one type and the bridges on it.  See the module docstring."""

    def __init__(self, dpif_type: str, *, clock: Callable[[], float] = time.monotonic, tnl: Any = None) -> None:
        self.type = dpif_type
        #: The daemon's native tunnelling state (``TnlContext``); None: tunnel ports cannot send.
        self.tnl = tnl
        self.tunnels = TunnelMap()
        # Shared tunnel datapath ports registered in tnl.ports: dp port -> (name, nw_proto, udp port, users).
        self._tnl_refs: dict[int, tuple[str, int, int, int]] = {}
        self._tnl_seen = -1
        self._endpoints: set[int] | None = None
        self._tnl_requests: list[tuple[str, int, bytes]] = []
        name = f"ovs-{dpif_type}"
        self.dpif: NetdevDpif = (dummy_dpif(name, clock=clock) if dpif_type == "dummy"
                                 else NetdevDpif(name, dpif_type, clock=clock))
        self.dpif.upcall_handler = self._upcall
        self.dpif.userspace_handler = self._userspace
        self.clock = clock
        self.bridges: dict[str, DpBridge] = {}
        self.meter_ids = MeterIdPool()
        self._odp_in: dict[int, tuple[DpBridge, int]] = {}
        self.revalidator = Revalidator(self.dpif, self._reval_translate, DEFAULT_MAX_IDLE)
        self._seen: dict[str, tuple[int, ...]] = {}
        self._xcache: dict[int, _XEntry] = {}
        # Megaflows by the destination MAC of the packet that made them: a change of the learning tables only
        # needs those of the addresses that changed re-translated (rebuilt by every full pass).
        self._by_dst: dict[int, set[int]] = {}
        self._pass_results: dict[int, XlateResult] = {}
        self._pass_rx: dict[int, Any] = {}
        #: Event counters for ``coverage/show``, named as Open vSwitch names them (the daemon shares its dict).
        self.coverage: dict[str, int] = {}
        #: Receives the packet-ins: ``on_packet_in(bridge name, frame, PacketIn, Paused or None)``.
        self.on_packet_in: Callable[[str, bytes, PacketIn, Paused | None], None] | None = None
        #: Frozen translation states (recirculations, controller actions) of every bridge on this datapath.
        self.recirc = RecircTable()
        self.last_run = clock()
        self.dump_duration_ms = 0
        self.flow_limit = DEFAULT_FLOW_LIMIT
        self.dynamic_limit = min(DEFAULT_FLOW_LIMIT, INITIAL_FLOW_LIMIT)
        self.dpif.caches.megaflows.flow_limit = self.dynamic_limit
        self.avg_flows = 0
        self.max_flows = 0

    # -- configuration ---------------------------------------------------------------------------------------

    def xbridge(self, name: str) -> XlateBridge | None:
        br = self.bridges.get(name)
        return None if br is None else br.xbridge

    def patch_peers(self, br: DpBridge) -> dict[int, tuple[str, int]]:
        """``br``'s usable patch ports: OpenFlow port -> (peer bridge, peer OpenFlow port).  A peer is usable when
        it is a patch port of a bridge on this datapath whose own peer is the port."""
        where = {p.name: (b, p) for b in self.bridges.values() for p in b.ports.values() if p.peer is not None}
        out = {}
        for p in br.ports.values():
            if p.peer is None or p.peer not in where:
                continue
            pb, pp = where[p.peer]
            if pp.peer == p.name:
                out[p.ofport] = (pb.name, pp.ofport)
        return out

    def add_bridge(self, ofproto: OFProto) -> DpBridge:
        br = DpBridge(self, ofproto)
        self.bridges[br.name] = br
        # Meters: numbered in the datapath from one pool for all its bridges, counted by the datapath.
        meters = ofproto.meters
        # The datapath enforces DSCP remarking too (Open vSwitch's userspace datapath offers drop bands only).
        meters.features = replace(meters.features, band_types=(1 << BandType.DROP) | (1 << BandType.DSCP_REMARK))
        meters.id_pool = self.meter_ids
        meters.stats_source = self.dpif.meters.stats
        meters.listeners.append(self._program_meter)
        return br

    def _program_meter(self, event: str, provider_id: int, config: Any) -> None:
        if event == "delete":
            self.dpif.meters.delete(provider_id)
            return
        err = self.dpif.meters.set(provider_id, config)
        if err is not None:
            log.warning("%s: meter %d refused by the datapath (%s)", self.dpif.name, provider_id, err)

    def remove_bridge(self, name: str) -> None:
        br = self.bridges.pop(name, None)
        if br is None:
            return
        meters = br.ofproto.meters
        for mid in list(meters):
            pid = meters.provider_id(mid)
            if pid is not None:
                self.dpif.meters.delete(pid)
                self.meter_ids.free(pid)
        meters.listeners.remove(self._program_meter)
        br.set_ports([])
        for other in self.bridges.values():     # Their patch ports may have lost their peer.
            other.port_generation += 1
            other.xbridge = other._make_xbridge()
        self._sync_dp_ports()
        self._seen.pop(name, None)
        self.revalidate(force=True)

    def set_config(self, *, flow_limit: int | None = None, max_idle: float | None = None) -> None:
        """``other_config:flow-limit`` (the most flows the dynamic limit may reach) and ``max-idle`` (seconds)."""
        self.flow_limit = DEFAULT_FLOW_LIMIT if flow_limit is None else flow_limit
        self.dynamic_limit = min(self.dynamic_limit, self.flow_limit)
        self.dpif.caches.megaflows.flow_limit = self.dynamic_limit
        self.revalidator.max_idle = DEFAULT_MAX_IDLE if max_idle is None else max_idle

    def _adjust_flow_limit(self) -> None:
        """Open vSwitch's dynamic flow limit: it starts at 10,000 (or ``flow-limit`` if lower), shrinks when a
        revalidation pass takes longer than 1.3 s and grows by 1,000 when passes are quick and the flows are
        many, never above ``flow-limit`` nor below 1,000."""
        n = len(self.dpif.caches)
        d = self.dump_duration_ms
        lim = self.dynamic_limit
        if d > 2000:
            lim = int(lim / (d / 1000))
        elif d > 1300:
            lim = lim * 3 // 4
        elif d < 1000 and n > 2000 and lim < n * 1000 / max(d, 1):
            lim += 1000
        self.dynamic_limit = min(max(lim, 1000), self.flow_limit)
        self.dpif.caches.megaflows.flow_limit = self.dynamic_limit
        self.avg_flows = (self.avg_flows + n) // 2
        self.max_flows = max(self.max_flows, n)

    def set_ports(self, bridge: str, ports: Iterable[DpPort], *, flood_vlans: frozenset[int] = frozenset(),
                  forward_bpdu: bool = False, mac_aging: int | None = None, mac_size: int | None = None) -> None:
        br = self.bridges[bridge]
        if br.set_ports(ports, flood_vlans, forward_bpdu):
            # Patch ports join bridges: every bridge's view of its peers may have changed.
            for other in self.bridges.values():
                if other is not br:
                    other.port_generation += 1
                    other.xbridge = other._make_xbridge()
        br.mac_table.set_config(DEFAULT_AGING_TIME if mac_aging is None else mac_aging,
                                DEFAULT_MAX_ENTRIES if mac_size is None else mac_size)
        self._sync_dp_ports()

    def _sync_dp_ports(self) -> None:
        want: dict[int, tuple[str, str, Any, DpBridge | None, int, Any]] = {}
        tunnels: list[TunnelPort] = []
        for br in self.bridges.values():
            for p in br.ports.values():
                if p.odp_port is None:
                    continue
                if p.tunnel is not None:
                    # One shared datapath port for every vport of a type and UDP port; it sends nothing itself.
                    want.setdefault(p.odp_port, (p.tunnel.dp_port_name, p.type, None, None, 0, None))
                    tunnels.append(TunnelPort(br.name, p.ofport, p.name, p.odp_port, p.tunnel, p.netdev))
                else:
                    want[p.odp_port] = (p.name, p.type, p.send, br, p.ofport, p.netdev)
        have = {dp.port_no: dp for dp in self.dpif.port_list() if dp.port_no != 0}
        for no, dp in have.items():
            w = want.get(no)
            if w is None or w[0] != dp.name or w[1] != dp.type:
                self.dpif.port_del(no)
        have = {dp.port_no for dp in self.dpif.port_list()}
        for no, (name, type_, send, _, _, netdev) in want.items():
            if no not in have:
                self.dpif.port_add(name, type_, no, send, netdev=netdev)
            else:
                self.dpif.set_port_send(no, send, netdev=netdev)
        self._odp_in = {no: (w[3], w[4]) for no, w in want.items() if w[3] is not None}
        self.tunnels.set_ports(tunnels)
        self._sync_tnl_ports(tunnels)

    def _sync_tnl_ports(self, tunnels: list[TunnelPort]) -> None:
        """Keep the listening-port map's reference counts equal to the number of vports on each shared port."""
        if self.tnl is None:
            return
        want: dict[int, tuple[str, int, int, int]] = {}
        for t in tunnels:
            name, proto, udp, n = want.get(t.dp_port, (t.config.dp_port_name,
                                                       47 if t.config.type == "gre" else 17, t.config.dst_port, 0))
            want[t.dp_port] = (name, proto, udp, n + 1)
        ports = self.tnl.ports
        old = self._tnl_refs
        for no in sorted(set(old) | set(want)):
            o, w = old.get(no), want.get(no)
            on, wn = (o[3] if o else 0), (w[3] if w else 0)
            if o is not None and w is not None and o[:3] == w[:3]:
                on, wn = on - min(on, wn), wn - min(on, wn)
            for _ in range(on):
                ports.remove(no)
            if w is not None:
                for _ in range(wn):
                    ports.add(no, w[0], w[1], w[2])
        self._tnl_refs = want

    def close(self) -> None:
        """The backer goes away: its tunnel ports leave the listening-port map."""
        self._sync_tnl_ports([])

    def bridge_of_odp(self, odp_port: int) -> tuple[DpBridge, int] | None:
        return self._odp_in.get(odp_port)

    def odp_port_names(self) -> dict[int, str]:
        return {dp.port_no: dp.name for dp in self.dpif.port_list()}

    # -- packets ---------------------------------------------------------------------------------------------

    def receive(self, odp_port: int, frames: list[bytes]) -> None:
        """Frames received on datapath port ``odp_port``."""
        self.revalidate()
        self.dpif.receive(odp_port, frames)
        if self._tnl_requests:
            self.send_tnl_requests()

    def receive_batch(self, odp_port: int, batch: PacketBatch) -> None:
        """A batch a device received on datapath port ``odp_port`` (see ``NetdevDpif.receive_batch``)."""
        self.revalidate()
        self.dpif.receive_batch(odp_port, batch)
        if self._tnl_requests:
            self.send_tnl_requests()

    def packet_out(self, bridge: str, packet: bytes, metadata: int, actions: Any) -> None:
        """An OpenFlow packet-out: ``packet`` through the OpenFlow ``actions``, with the packet-out's pipeline
        fields (``metadata``: in_port and, in OpenFlow 1.5, registers, metadata...), translated with side effects
        and executed in the datapath (outputs, packet-ins and recirculations as for any packet)."""
        br = self.bridges.get(bridge)
        if br is None:
            return
        self.revalidate()
        in_port = F.storage_get(metadata, "in_port")
        key = extract(packet, in_port) | (metadata & _PACKET_OUT_MD)
        self.count("xlate_actions")
        try:
            res = translate(br.xbridge, key, packet=packet, side_effects=True, actions=list(actions))
        except Exception:
            log.exception("%s: translating a packet-out failed", bridge)
            return
        # Open vSwitch counts a packet-out in the rules output to TABLE reaches and in the groups it goes through.
        now = br.ofproto.clock.now()
        for rule in res.rules_hit:
            rule.record_hit(1, len(packet), now)
        for _, gid, buckets in _XEntry.of(br, res).groups:
            self._account_group(br, gid, buckets, 1, len(packet))
        self._tnl_requests.extend(res.tnl_requests)
        port = br.ports.get(in_port)
        odp_in = port.odp_port if port is not None and port.odp_port is not None else 0
        self.execute(res.actions, packet, odp_in)

    def resume(self, bridge: str, packet: bytes, metadata: int, paused: Paused) -> None:
        """``NXT_RESUME``: go on with a translation ``controller(pause)`` stopped, for ``packet`` with the
        packet-in's pipeline fields (``metadata``), and execute the rest in the datapath."""
        br = self.bridges.get(bridge)
        if br is None:
            return
        self.revalidate()
        state = thaw_continuation(bridge, metadata, paused.actions, paused.action_set, paused.conntracked)
        rid = self.recirc.alloc(state)
        in_port = F.storage_get(metadata, "in_port")
        key = F.storage_put(extract(packet, in_port) | (metadata & _PACKET_OUT_MD), "recirc_id", rid)
        self.count("xlate_actions")
        try:
            res = translate(br.xbridge, key, packet=packet, side_effects=True)
        except Exception:
            log.exception("%s: resuming a paused translation failed", bridge)
            return
        self.execute(res.actions, packet, paused.odp_port)

    def execute(self, actions: list[odp.Action], frame: bytes, odp_in_port: int) -> None:
        """Execute datapath ``actions`` on ``frame``, as received on datapath port ``odp_in_port``."""
        self.count("dpif_execute")
        self.dpif.execute(frame, actions, PacketMetadata(in_port=odp_in_port))

    def _where(self, key: int) -> tuple[DpBridge, int, int, TunnelPort | None] | None:
        """Where a datapath key enters the OpenFlow switch: (bridge, the key translation starts from, OpenFlow
        port, the tunnel port it came through or None); None for a port no bridge has, or a decapsulated packet
        no tunnel port claims."""
        dp_in = _in_port(key)
        where = self._odp_in.get(dp_in)
        if where is not None:
            br, ofport = where
            return br, _with_in_port(key, ofport), ofport, None
        if not self.tunnels.is_tunnel(dp_in):
            return None
        tp = self.tunnels.receive(dp_in, key)
        if tp is None:
            self.count("tnl_port_not_found")
            return None
        tbr = self.bridges.get(tp.bridge)
        if tbr is None:
            return None
        xkey = _with_in_port(key, tp.ofport)
        raw = geneve_raw(key)
        if raw and tbr.ofproto.tlv_table is not None:
            xkey |= options_to_metadata(raw, tbr.ofproto.tlv_table)
        return tbr, xkey, tp.ofport, tp

    def upcall_entry(self, key: int) -> tuple[DpBridge, int] | None:
        """The bridge a datapath flow key enters and the key its translation starts from (``ofproto/trace`` of a
        datapath flow), or None."""
        where = self._where(key)
        return None if where is None else (where[0], where[1])

    @staticmethod
    def _dp_mask(key: int, mask: int) -> int:
        """A translation's mask as the datapath can match it: the tun_metadata fields are the ofproto's view of
        the raw Geneve options, which the datapath key holds instead (kept exact when present)."""
        mask &= ~_TUN_MD_MASK
        if F.storage_get(key, "_tun_geneve_len"):
            mask |= GENEVE_RAW_MASK
        return mask

    def _upcall(self, batch: list[tuple[bytes, int]]) -> list[tuple[int, int | None, list[odp.Action]] | None]:
        answers: list[tuple[int, int | None, list[odp.Action]] | None] = []
        for frame, key in batch:
            where = self._where(key)
            if where is None:
                self.count("upcall_failed")
                answers.append(None)
                continue
            br, xkey, _, tp = where
            self.count("xlate_actions")
            try:
                res = br.translate(xkey, side_effects=True, packet=frame)
            except Exception:
                log.exception("%s: translation failed", br.name)
                self.count("upcall_failed")
                answers.append(None)
                continue
            self._tnl_requests.extend(res.tnl_requests)
            # The datapath does not count an upcalled packet: credit it here.
            entry = _XEntry.of(br, res, tp.netdev if tp is not None else None)
            for rule in res.rules_hit:
                br.ofproto.tables.record_hit(rule, 1, len(frame))
            for _, gid, buckets in entry.groups:
                self._account_group(br, gid, buckets, 1, len(frame))
            _credit_netdevs(entry, 1, len(frame))
            if res.slow_path == "action":
                # Datapaths cannot run such actions: executed for this packet, not installed.
                answers.append((key, None, res.actions))
                continue
            self.count("dpif_flow_put")
            mask = self._dp_mask(key, res.wc.mask)
            ufid = flow_ufid(key, datapath_mask(mask))
            self._xcache[ufid] = entry
            self._by_dst.setdefault(F.storage_get(key, "dl_dst"), set()).add(ufid)
            answers.append((key, mask, res.actions))
        return answers

    def send_tnl_requests(self) -> None:
        """Send the ARP requests and ND solicitations translations asked for: each through its bridge's tables
        from the port it names (the bridge's own port, which has the tunnel's source address)."""
        while self._tnl_requests:
            pending, self._tnl_requests = self._tnl_requests, []
            for bridge, in_port, frame in pending:
                self.count("tnl_neigh_request")
                self.packet_out(bridge, frame, F.storage_put(0, "in_port", in_port), [_OUTPUT_TABLE])

    def _userspace(self, frame: bytes, action: odp.Userspace, md: PacketMetadata) -> None:
        ud = action.userdata
        if not isinstance(ud, str) or not ud.startswith("controller("):
            return
        got = packet_in_from_cookie(self.recirc, ud)
        if got is None or self.on_packet_in is None or "dont_send=1" in ud:
            return
        bridge, pin = got
        paused = None
        if "continuation=1" in ud:
            m = _RECIRC_ID_RE.search(ud)
            state = self.recirc.get(int(m.group(1))) if m else None
            if state is not None:
                paused = Paused(continuation_actions(state), list(state.action_set), state.conntracked,
                                md.in_port)
        try:
            self.on_packet_in(bridge, frame, pin, paused)
        except Exception:
            log.exception("%s: sending a packet-in failed", bridge)

    # -- revalidation ----------------------------------------------------------------------------------------

    def _reval_translate(self, key: int) -> tuple[list[odp.Action], int] | None:
        where = self._where(key)
        if where is None:
            return None
        br, xkey, _, tp = where
        self.count("xlate_actions")
        try:
            res = br.translate(xkey, side_effects=False)
        except Exception:
            log.exception("%s: revalidation translation failed", br.name)
            return None
        if res.slow_path == "action":
            return None
        self._pass_results[key] = res
        self._pass_rx[key] = tp.netdev if tp is not None else None
        self._tnl_requests.extend(res.tnl_requests)
        return res.actions, self._dp_mask(key, res.wc.mask)

    def count(self, name: str, n: int = 1) -> None:
        self.coverage[name] = self.coverage.get(name, 0) + n

    def _sync_endpoints(self) -> None:
        """Hand the tunnel endpoints' IPv4 addresses to the datapath (it reassembles fragments sent to them)."""
        if self.tnl is None:
            return
        eps = self.tnl.ports.endpoint_ipv4()
        if eps != self._endpoints:
            self._endpoints = eps
            self.dpif.set_tnl_endpoints(eps)

    def _changed(self) -> bool | set[int]:
        """What changed since the flows were last made to agree with the bridges: False (nothing), True
        (something that may change any translation), or only the learning tables (the set of MAC addresses
        whose entries changed)."""
        sigs = {name: br.signature() for name, br in self.bridges.items()}
        tnl_gen = self.tnl.generation if self.tnl is not None else 0
        if tnl_gen != self._tnl_seen:
            # Routes, neighbours or endpoint addresses changed: any tunnel translation may have.
            self._tnl_seen = tnl_gen
            self._seen = sigs
            self.count("rev_tnl_change")
            self._sync_endpoints()
            return True
        if sigs == self._seen:
            return False
        old_seen, self._seen = self._seen, sigs
        macs: set[int] | None = set()
        for name, sig in sigs.items():
            old = old_seen.get(name)
            if old is None:
                self.count("rev_reconfigure")
                macs = None
                continue
            if sig[:2] != old[:2]:
                self.count("rev_flow_table")
                macs = None
            if sig[2] != old[2]:
                self.count("rev_port_toggled")
                macs = None
            if sig[3] != old[3]:
                self.count("rev_mac_learning")
                if macs is not None:
                    keys = self.bridges[name].mac_table.changed_since(old[3])
                    macs = None if keys is None else macs | {mac for _, mac in keys}
        if set(old_seen) - set(sigs):
            macs = None
        return True if macs is None else macs

    def revalidate(self, force: bool = False) -> None:
        """Make the flows agree with the bridges before the next packet: re-translate every flow if anything
        translation reads changed since the last pass (or ``force``), or only the flows to the MAC addresses
        whose learning entries changed when nothing else did."""
        changed = self._changed()
        if force or changed is True:
            self._pass(full=True)
        elif changed:
            self._mac_pass(changed)

    def run(self, now: float | None = None) -> None:
        """The periodic pass: MAC aging, the datapath's own (fragment expiry), idle expiry and statistics (and
        revalidation if something changed)."""
        now = self.clock() if now is None else now
        for br in self.bridges.values():
            br.mac_table.expire(now)
        self.dpif.run(now)
        self._pass(full=self._changed() is not False, now=now)
        if self._changed() is not False:
            # The statistics relearned addresses or refreshed learned flows: the flows that depend on them follow
            # in the same run, as after one of Open vSwitch's revalidation rounds.
            self._pass(full=True, now=now)
        self._adjust_flow_limit()
        self.last_run = now

    def _mac_pass(self, macs: set[int]) -> None:
        """Re-translate the flows whose packets went to one of ``macs``."""
        now = self.clock()
        flows = []
        for mac in macs:
            ufids = self._by_dst.get(mac)
            for ufid in list(ufids or ()):
                f = self.dpif.flow_get(ufid)
                if f is None:
                    ufids.discard(ufid)     # type: ignore[union-attr]
                else:
                    flows.append(f)
        if not flows:
            return
        self._pass_results = {}
        self._handle(self.revalidator.revalidate_flows(flows, now))
        self._refresh_entries(flows)
        self._pass_results = {}

    def _pass(self, full: bool, now: float | None = None) -> None:
        start = time.monotonic()
        now = self.clock() if now is None else now
        self._pass_results = {}
        flows = list(self.dpif.flow_dump())
        deltas = self.revalidator.revalidate_flows(flows, now, full)
        self.revalidator.forget_except({f.ufid for f in flows})
        # The flows now agree with this state.  Pushing statistics may change it (addresses learned again,
        # learned flows added): that is for the next pass to see.
        self._seen = {name: br.signature() for name, br in self.bridges.items()}
        self._tnl_seen = self.tnl.generation if self.tnl is not None else 0
        self._handle(deltas)
        live = list(self.dpif.flow_dump())
        if full:
            self._refresh_entries(live)
        keep = {f.ufid for f in live}
        for ufid in [u for u in self._xcache if u not in keep]:
            del self._xcache[ufid]
        if full:
            self._by_dst = {}
            for f in live:
                key = f.key if f.orig_key is None else f.orig_key
                self._by_dst.setdefault(F.storage_get(key, "dl_dst"), set()).add(f.ufid)
        self._pass_results = {}
        self._pass_rx = {}
        in_use: set[int] = set()
        for flow in live:
            in_use |= recirc_ids_of(flow.actions)
            in_use.add(F.storage_get(flow.key, "recirc_id"))
        self.recirc.retain(in_use)
        self.dump_duration_ms = int((time.monotonic() - start) * 1000)

    def _handle(self, deltas: list[FlowStatsDelta]) -> None:
        """Push a pass's statistics and forget the flows it deleted."""
        for d in deltas:
            self._push(d)
        for d in deltas:
            if d.outcome in (DELETE, EXPIRE):
                self.count("dpif_flow_del")
                if d.outcome == EXPIRE:
                    self.count("ofproto_dpif_expired")
                self._xcache.pop(d.ufid, None)
            elif d.outcome == MODIFY:
                self.count("dpif_flow_put_modify")

    def _refresh_entries(self, flows: list[Any]) -> None:
        """After re-translating ``flows``, point their statistics at the rules their translation hits now."""
        for flow in flows:
            res = self._pass_results.get(flow.key if flow.orig_key is None else flow.orig_key)
            entry = self._xcache.get(flow.ufid)
            if res is None or entry is None:
                continue
            fresh = _XEntry.of(entry.bridge, res, self._pass_rx.get(flow.key if flow.orig_key is None
                                                                     else flow.orig_key))
            entry.rules, entry.groups, entry.learns = fresh.rules, fresh.groups, fresh.learns
            entry.fin_timeouts, entry.netdevs, entry.neighs = fresh.fin_timeouts, fresh.netdevs, fresh.neighs
            entry.learned = fresh.learned or entry.learned

    def _push(self, d: FlowStatsDelta) -> None:
        """Credit a flow's new packets to its rules and groups and refresh what its translation learned."""
        if d.packets <= 0:
            return
        entry = self._xcache.get(d.ufid)
        if entry is None:
            return
        used = d.used or None
        for rule in entry.rules:
            rule.record_hit(d.packets, d.bytes, entry.bridge.ofproto.clock.now() if used is None else used)
        for _, gid, buckets in entry.groups:
            self._account_group(entry.bridge, gid, buckets, d.packets, d.bytes)
        _credit_netdevs(entry, d.packets, d.bytes)
        if self.tnl is not None:
            for bname, ip in entry.neighs:
                self.tnl.neigh.lookup(bname, ip)    # A hit keeps the entry alive while tunnel traffic flows.
        for bname, vlan, mac, port in entry.learned:
            # Learn or refresh, never move: these packets may have arrived before the address moved elsewhere.
            br = self.bridges.get(bname)
            if br is None:
                continue
            e = br.mac_table.get(vlan, mac)
            if e is None or e.port == port:
                br.mac_table.learn(vlan, mac, port)
        for bname, action, key in entry.learns:
            br = self.bridges.get(bname)
            if br is None:
                continue
            try:
                learn_execute(action, key, Wildcards(), br.ofproto, side_effects=True,
                              now=br.ofproto.clock.now())
            except Exception:
                log.exception("%s: refreshing a learned flow failed", bname)
        for action, rule in entry.fin_timeouts:
            now = entry.bridge.ofproto.clock.now()
            if fin_timeout_execute(action, rule, d.key, Wildcards(), side_effects=True, now=now,
                                   tcp_flags=d.tcp_flags):
                entry.bridge.ofproto.tables.timeouts_changed(rule)

    def _account_group(self, br: DpBridge, group_id: int, buckets: tuple[int, ...], packets: int,
                       nbytes: int) -> None:
        groups = br.ofproto.groups
        groups.account(group_id, None, packets, nbytes)
        for b in buckets:
            groups.account_bucket(group_id, b, packets, nbytes)

    def purge(self) -> None:
        """``revalidator/purge``: delete every flow (their statistics are pushed first)."""
        self._pass(full=False)
        self.dpif.flow_flush()
        self._xcache.clear()

    # -- observability ---------------------------------------------------------------------------------------

    def trace(self, bridge: str, key: int, *, generate: bool = False) -> str:
        """``ofproto/trace``: the translation of ``key`` in ``bridge`` and of its conntrack recirculations."""
        return trace_packet(self.bridges[bridge].xbridge, key, side_effects=generate)
