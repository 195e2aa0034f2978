"""Bridges, ports and interfaces: the reconciliation of the configuration database with the running switch.

The design follows Open vSwitch's ``bridge_reconfigure`` (STYLE.md item 8): on every change of the database, the
whole desired state is computed from the replica (:func:`desired_state`), the running :class:`Switch` applies the
difference (bridges and interfaces created, reconfigured or destroyed), and the state to report back is computed
(:meth:`Switch.writeback_ops`) and compared with what the database already holds, so that only real changes are
written.  The transaction that reports an applied configuration also sets ``Open_vSwitch.cur_cfg`` to the
``next_cfg`` that was applied: ``ovs-vsctl`` (without ``--no-wait``) waits for exactly that.

OpenFlow port numbers: the interface named like its bridge is the bridge's own port, ``LOCAL`` (65534).  Others get
``ofport_request`` when it is valid (1..65279) and free, else the number the database already records for them (so
numbers are stable across restarts: the ``ofport`` column is written back and persisted), else the lowest free
number.  An interface that cannot be created keeps ``ofport = -1`` and an ``error`` text, as Open vSwitch does;
so does a running interface whose new options its netdev refuses (Open vSwitch deletes it and fails to create it
again), until its options change.

Tunnel interfaces (``vxlan``, ``geneve``, ``gre``: ``pyvswitch.netdev.netdev_vport``) work on every datapath type.
Those of one type and UDP port share one datapath port (``vxlan_sys_4789``...), numbered like the UDP port when
that number is free; a second vport that would receive exactly what another receives is refused, with Open
vSwitch's error.  A change of options reconfigures the vport in place (and moves it to another shared datapath
port when ``dst_port`` changed).  Their ``status`` column (the tunnel's egress interface) is written back too.

Threads: :class:`BridgeRunner` runs the database loop in its own thread (the OVSDB client is synchronous, and the
embedded server runs in the main thread's asyncio loop).  Control-socket commands run in the main thread.  Both
take ``Switch.lock`` around every access to the switch model.

Seams for the next issues: :attr:`Bridge.rx_hook` receives every frame a port of the bridge receives (the
datapath will install itself there); :attr:`Switch.bridge_added`/``bridge_removed`` callbacks are where the
per-bridge OpenFlow socket ``DIR/BRIDGE.mgmt`` will be opened and closed.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyvswitch.db.client import ConnectionClosed, Idl, RpcError, TransactionError
from pyvswitch.flow import fields as F
from pyvswitch.flow.values import OFPP_LOCAL, OFPP_MAX  # OFPP_MAX: the first number no port may have
from pyvswitch.netdev import Netdev, NetdevError, registered_types
from pyvswitch.netdev import create as netdev_create
from pyvswitch.netdev.netdev_vport import TUNNEL_TYPES, TunnelConfig, VportNetdev
from pyvswitch.ofproto.ofproto import OFPPC, OFPPS, OFPort, OFProto

log = logging.getLogger("pyvswitch.bridge")

DEFAULT_STATS_INTERVAL = 5.0
MIN_STATS_INTERVAL = 1.0  # OVS's floor is 5 s; ours is lower so that tests need not wait long.

# Datapath types a bridge can run on.  ``netdev`` is the userspace datapath on real devices; ``system`` (the
# default, Open vSwitch's kernel datapath) is served by the same userspace datapath, since pyvswitch has no kernel
# module; ``dummy`` has in-memory ports.
SUPPORTED_DATAPATH_TYPES = ("dummy", "netdev", "system")

# Port types the daemon knows but cannot run (Open vSwitch tunnel types pyvswitch does not implement).
_LATER_TYPES = {"stt", "lisp", "erspan", "ip6erspan", "ip6gre", "gtpu", "bareudp", "srv6"}


# ---------------------------------------------------------------------------------------------------------------
# Desired state, computed from the database replica.

@dataclass(frozen=True)
class IfaceSpec:
    uuid: str
    name: str
    type: str
    options: tuple[tuple[str, str], ...]
    ofport_request: int | None
    db_ofport: int | None
    mtu_request: int | None = None
    # The Port row's VLAN configuration (NORMAL's view of the port).
    tag: int | None = None
    trunks: tuple[int, ...] = ()
    vlan_mode: str | None = None
    priority_tags: str = "never"


@dataclass(frozen=True)
class ControllerSpec:
    """One row of the Controller table: ``target`` (``tcp:``, ``unix:``, ``ptcp:``, ``punix:``), back-off and
    probe settings in milliseconds (None: Open vSwitch's defaults), and ``enable_async_messages``."""

    uuid: str
    target: str
    connection_mode: str | None = None
    max_backoff: int | None = None
    inactivity_probe: int | None = None
    enable_async_messages: bool | None = None


@dataclass(frozen=True)
class BridgeSpec:
    uuid: str
    name: str
    datapath_type: str
    ifaces: tuple[IfaceSpec, ...]
    datapath_id_config: str | None = None   # other_config:datapath-id
    controllers: tuple[ControllerSpec, ...] = ()
    fail_mode: str | None = None            # "standalone" (the default when unset) or "secure"
    protocols: tuple[str, ...] = ()         # allowed OpenFlow versions ("OpenFlow13"...); empty: 1.0 to 1.5
    #: Flow_Table rows: (table id, name, flow_limit, overflow_policy is "evict", prefix fields or None).
    flow_tables: tuple[tuple[int, str | None, int | None, bool, tuple[str, ...] | None], ...] = ()
    flood_vlans: tuple[int, ...] = ()
    #: other_config keys the datapath reads: mac-aging-time, mac-table-size, forward-bpdu; and hwaddr (the
    #: Ethernet address of the bridge's own port).
    other_config: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Desired:
    ovs_uuid: str | None
    next_cfg: int
    cur_cfg: int
    stats_interval: float
    bridges: tuple[BridgeSpec, ...]
    #: Open_vSwitch other_config keys the datapath reads: flow-limit, max-idle, vlan-limit.
    other_config: tuple[tuple[str, str], ...] = ()


def desired_state(idl: Any) -> Desired:
    """The configuration the database asks for (only rows reachable from the Open_vSwitch row count)."""
    roots = idl.rows("Open_vSwitch")
    if not roots:
        return Desired(None, 0, 0, DEFAULT_STATS_INTERVAL, ())
    root = roots[0]
    by_uuid = {t: {r.uuid: r for r in idl.rows(t)}
               for t in ("Bridge", "Port", "Interface", "Controller", "Flow_Table")}
    try:
        interval = max(MIN_STATS_INTERVAL, int(root["other_config"].get("stats-update-interval", "5000")) / 1000)
    except ValueError:
        interval = DEFAULT_STATS_INTERVAL
    bridges = []
    for bu in root["bridges"]:
        br = by_uuid["Bridge"].get(bu)
        if br is None:
            continue
        ifaces = []
        for pu in br["ports"]:
            port = by_uuid["Port"].get(pu)
            if port is None:
                continue
            vlan_mode = port["vlan_mode"] or None
            ptags = port["other_config"].get("priority-tags", "never")
            ptags = {"true": "always", "false": "never"}.get(ptags, ptags)
            for iu in port["interfaces"]:
                i = by_uuid["Interface"].get(iu)
                if i is None:
                    continue
                ifaces.append(IfaceSpec(i.uuid, i["name"], i["type"], tuple(sorted(i["options"].items())),
                                        i["ofport_request"], i["ofport"], i["mtu_request"], port["tag"],
                                        tuple(sorted(port["trunks"])), vlan_mode,
                                        ptags if ptags in ("never", "if-nonzero", "always") else "never"))
        controllers = []
        for cu in br["controller"]:
            c = by_uuid["Controller"].get(cu)
            if c is not None:
                controllers.append(ControllerSpec(c.uuid, c["target"], c["connection_mode"], c["max_backoff"],
                                                  c["inactivity_probe"], c["enable_async_messages"]))
        bridges.append(BridgeSpec(br.uuid, br["name"], br["datapath_type"] or "system",
                                  tuple(sorted(ifaces, key=lambda s: s.name)),
                                  br["other_config"].get("datapath-id"),
                                  tuple(sorted(controllers, key=lambda c: c.target)), br["fail_mode"],
                                  tuple(sorted(br["protocols"])), _flow_tables(br, by_uuid["Flow_Table"]),
                                  tuple(sorted(br["flood_vlans"])),
                                  _pick(br["other_config"], ("mac-aging-time", "mac-table-size", "forward-bpdu",
                                                             "hwaddr"))))
    return Desired(root.uuid, root["next_cfg"], root["cur_cfg"], interval,
                   tuple(sorted(bridges, key=lambda b: b.name)),
                   _pick(root["other_config"], ("flow-limit", "max-idle", "vlan-limit")))


def _pick(config: dict[str, str], keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in config.items() if k in keys))


_TableRow = tuple[int, str | None, int | None, bool, tuple[str, ...] | None]


def _flow_tables(br: Any, rows: dict[str, Any]) -> tuple[_TableRow, ...]:
    out = []
    for table_id, uuid in sorted(br["flow_tables"].items()):
        ft = rows.get(uuid)
        if ft is not None and 0 <= table_id < 254:
            out.append((table_id, ft["name"], ft["flow_limit"], ft["overflow_policy"] == "evict",
                        _prefixes(ft["prefixes"])))
    return tuple(out)


def _prefixes(names: Any) -> tuple[str, ...] | None:
    """A Flow_Table ``prefixes`` column as classifier prefix fields: empty is the default (None), ``none`` is no
    prefix tracking; at most 3 fields that have a CIDR form (IPv4/IPv6 addresses), as Open vSwitch allows."""
    names = sorted(names)
    if not names:
        return None
    if names == ["none"]:
        return ()
    out: list[str] = []
    for n in names:
        f = F.BY_NAME.get(n)
        if f is None or f.name not in _PREFIX_FIELDS or f.name in out:
            log.warning("Flow_Table prefixes: %s is not a prefix field (ip_src, ip_dst, ipv6_src, ipv6_dst); "
                        "ignored", n)
            continue
        out.append(f.name)
    if len(out) > 3:
        log.warning("Flow_Table prefixes: at most 3 fields; %s ignored", ", ".join(out[3:]))
    return tuple(out[:3])


_PREFIX_FIELDS = {"nw_src", "nw_dst", "ipv6_src", "ipv6_dst"}


# ---------------------------------------------------------------------------------------------------------------
# The running switch.

@dataclass
class Iface:
    spec: IfaceSpec
    netdev: Netdev | None
    ofport: int
    error: str | None
    bridge: str
    odp_port: int = -1
    #: A tunnel vport refused because another receives the same packets: its configuration, so that it is
    #: added at the first reconfiguration after the conflict is gone (Open vSwitch retries every interface it
    #: could not add, each time it reconfigures).
    dup_config: TunnelConfig | None = None


@dataclass
class Bridge:
    name: str
    uuid: str
    datapath_type: str
    ifaces: dict[str, Iface] = field(default_factory=dict)
    #: Frames received on any port of the bridge: called as rx_hook(bridge, iface, frame).  The default counts
    #: them in ``rx_upcalls`` and drops them; the datapath (next issue) replaces it.
    rx_hook: Callable[[Bridge, Iface, bytes], None] | None = None
    rx_upcalls: int = 0
    datapath_id_config: str | None = None
    #: The bridge's OpenFlow switch: tables, groups, meters and the ports as OpenFlow reports them.
    ofproto: OFProto = field(init=False)
    #: None until the first reconfiguration applies the bridge's controllers.
    controllers: tuple[ControllerSpec, ...] | None = None
    fail_mode: str | None = None
    protocols: tuple[str, ...] = ()
    flow_tables: tuple[tuple[int, str | None, int | None, bool, tuple[str, ...] | None], ...] = ()
    flood_vlans: tuple[int, ...] = ()
    other_config: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        self.ofproto = OFProto(self.name)

    def configure_tables(self, rows: tuple[tuple[int, str | None, int | None, bool, tuple[str, ...] | None],
                                           ...]) -> None:
        """Apply the bridge's Flow_Table rows (name, flow_limit, overflow_policy, prefixes); a table whose row went
        away gets the defaults back."""
        wanted = {r[0]: r for r in rows}
        for table_id, *_ in self.flow_tables:
            if table_id not in wanted:
                self.ofproto.tables.configure(table_id, name=None, flow_limit=None, evict=False, prefixes=None)
        for table_id, name, limit, evict, prefixes in rows:
            self.ofproto.tables.configure(table_id, name=name, flow_limit=limit, evict=evict, prefixes=prefixes)
        self.flow_tables = rows

    def sync_ofproto(self) -> None:
        """Tell the OpenFlow switch the datapath id and which ports exist, with their state."""
        self.ofproto.datapath_id = int(self.datapath_id(), 16)
        ports = []
        for i in self.ifaces.values():
            dev = i.netdev
            if dev is None or i.ofport <= 0:
                continue
            ports.append(OFPort(i.ofport, i.spec.name, dev.get_etheraddr(),
                                config=0 if dev.admin_up() else OFPPC.PORT_DOWN,
                                state=OFPPS.LIVE if dev.carrier() else OFPPS.LINK_DOWN,
                                curr=0, curr_speed=0))
        self.ofproto.set_ports(ports)

    def datapath_id(self) -> str:
        """The OpenFlow datapath ID as 16 hex digits: ``other_config:datapath-id`` when it is valid, else, as in
        Open vSwitch, 0000 followed by the Ethernet address of the bridge's own port (or, while that port does not
        exist, an address derived from the bridge name)."""
        cfg = self.datapath_id_config
        if cfg is not None:
            h = cfg.lower().removeprefix("0x")
            if len(h) == 16 and all(c in "0123456789abcdef" for c in h) and int(h, 16) not in (0, (1 << 64) - 1):
                return h
        local = self.ifaces.get(self.name)
        if local is not None and local.netdev is not None:
            mac = local.netdev.get_etheraddr().replace(":", "")
        else:
            mac = f"{(zlib.crc32(self.name.encode()) << 8) | 0x020000000000:012x}"
        return "0000" + mac

    def by_ofport(self) -> dict[int, Iface]:
        return {i.ofport: i for i in self.ifaces.values() if i.ofport > 0}

    def handle_rx(self, iface: Iface, frame: bytes) -> None:
        self.rx_upcalls += 1
        if self.rx_hook is not None:
            self.rx_hook(self, iface, frame)
        else:
            log.debug("%s: %d-byte frame received on %s (no datapath yet, dropped)", self.name, len(frame),
                      iface.spec.name)


class Switch:
    """Every bridge of the daemon.  ``enable_dummy_override`` treats every datapath as ``dummy`` and every port
    as a dummy port, like ``ovs-vswitchd --enable-dummy=override``."""

    def __init__(self, enable_dummy_override: bool = False) -> None:
        self.lock = threading.RLock()
        self.bridges: dict[str, Bridge] = {}
        self.override = enable_dummy_override
        self.bridge_added: list[Callable[[Bridge], None]] = []
        self.bridge_removed: list[Callable[[Bridge], None]] = []
        #: Called when a bridge's controllers, fail mode or OpenFlow versions change.
        self.bridge_reconfigured: list[Callable[[Bridge], None]] = []
        #: Called after every reconfiguration with the applied ``Desired`` (the datapath syncs its ports here).
        self.reconfigured: list[Callable[[Desired], None]] = []
        #: Called by the bridge thread, without the lock, before it reports a configuration applied: each waits
        #: until work the hooks handed to other threads is done (the OpenFlow sockets exist, as in Open vSwitch,
        #: when ``ovs-vsctl`` returns).
        self.settle: list[Callable[[], None]] = []
        #: Returns the Controller table columns to report for a bridge: {controller uuid: {column: value}}.
        self.controller_status: Callable[[Bridge], dict[str, dict[str, Any]]] = lambda br: {}
        self.coverage: dict[str, int] = {}
        self._refused: set[tuple[str, str]] = set()   # (bridge, interface) pairs already reported as duplicates
        self._bad_hwaddr: set[str] = set()   # Bridges whose other_config:hwaddr was reported as invalid.
        #: Set when the running state changed outside a reconfiguration (a control command), so that the bridge
        #: thread writes it back without waiting for the next statistics update.
        self.dirty = threading.Event()
        #: Interfaces without a device whose name a link notification mentioned: created again at the next
        #: reconfiguration (a device deleted and re-created comes back as the same port).
        self._retry: set[str] = set()

    def count(self, name: str, n: int = 1) -> None:
        self.coverage[name] = self.coverage.get(name, 0) + n

    def link_changed(self, names: set[str]) -> None:
        """Link notifications for the devices ``names`` (called with the lock held): a device that changed is
        looked at again, one that vanished becomes an interface error, one that appeared is retried; the database
        is brought up to date at once."""
        for br in self.bridges.values():
            for iface in br.ifaces.values():
                if iface.spec.name not in names:
                    continue
                if iface.netdev is None:
                    self._retry.add(iface.spec.name)
                    self.dirty.set()
                elif iface.netdev.poll():
                    self.dirty.set()
                    if iface.netdev.error() is not None:
                        # Gone, or replaced by a new device of that name: tried again once it is closed.
                        self._retry.add(iface.spec.name)

    def iface(self, name: str) -> Iface | None:
        for br in self.bridges.values():
            i = br.ifaces.get(name)
            if i is not None:
                return i
        return None

    # -- reconfiguration ------------------------------------------------------------------------------------------

    def reconfigure(self, want: Desired) -> None:
        """Make the running bridges and interfaces what ``want`` describes."""
        self.count("bridge_reconfigure")
        wanted = {b.name: b for b in want.bridges}
        for name in [n for n in self.bridges if n not in wanted or self.bridges[n].uuid != wanted[n].uuid
                     or self.bridges[n].datapath_type != wanted[n].datapath_type]:
            self._del_bridge(name)
        claimed: set[str] = set()
        for spec in want.bridges:
            br = self.bridges.get(spec.name)
            if br is None:
                br = self.bridges[spec.name] = Bridge(spec.name, spec.uuid, spec.datapath_type)
                log.info("bridge %s: added (datapath type %s)", spec.name, spec.datapath_type)
                for cb in self.bridge_added:
                    cb(br)
            br.datapath_id_config = spec.datapath_id_config
            br.flood_vlans, br.other_config = spec.flood_vlans, spec.other_config
            self._reconfigure_bridge(br, spec, claimed)
            self._apply_hwaddr(br)
            br.sync_ofproto()
            if br.flow_tables != spec.flow_tables:
                br.configure_tables(spec.flow_tables)
            if (br.controllers, br.fail_mode, br.protocols) != (spec.controllers, spec.fail_mode, spec.protocols):
                br.controllers, br.fail_mode, br.protocols = spec.controllers, spec.fail_mode, spec.protocols
                for cb in self.bridge_reconfigured:
                    cb(br)
        for done in self.reconfigured:
            done(want)

    def _apply_hwaddr(self, br: Bridge) -> None:
        """``other_config:hwaddr``: the Ethernet address of the bridge's own port, for a dummy one (the address
        native tunnels send from, and the datapath ID's; Open vSwitch sets it on any internal port)."""
        want = dict(br.other_config).get("hwaddr")
        local = br.ifaces.get(br.name)
        dev = local.netdev if local is not None else None
        if want is None or dev is None or dev.netdev_class != "dummy-internal":
            return
        mac = want.lower()
        if re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", mac) and not int(mac[:2], 16) & 1:
            dev.mac = mac  # type: ignore[attr-defined]
        elif br.name not in self._bad_hwaddr:
            self._bad_hwaddr.add(br.name)
            log.warning("bridge %s: other_config:hwaddr=%s is not a unicast Ethernet address; ignored", br.name,
                        want)

    def _del_bridge(self, name: str) -> None:
        br = self.bridges.pop(name)
        for iface in list(br.ifaces.values()):
            self._del_iface(br, iface)
        for cb in self.bridge_removed:
            cb(br)
        log.info("bridge %s: deleted", name)

    def _del_iface(self, br: Bridge, iface: Iface) -> None:
        del br.ifaces[iface.spec.name]
        if iface.netdev is not None:
            iface.netdev.close()
            log.info("bridge %s: deleted interface %s on port %d", br.name, iface.spec.name, iface.ofport)

    def _reconfigure_bridge(self, br: Bridge, spec: BridgeSpec, claimed: set[str]) -> None:
        specs: dict[str, IfaceSpec | None] = {}
        for s in spec.ifaces:
            if s.name in claimed:
                # An interface name is a device name: it can be in one bridge only.
                specs[s.name] = None
                if (br.name, s.name) not in self._refused:
                    self._refused.add((br.name, s.name))
                    log.warning("bridge %s: interface %s is already in another bridge", br.name, s.name)
                continue
            claimed.add(s.name)
            specs[s.name] = s

        def stale(i: Iface) -> bool:
            s = specs.get(i.spec.name)
            return s is None or s.uuid != i.spec.uuid or s.type != i.spec.type

        for iface in br.ifaces.values():
            err = iface.netdev.error() if iface.netdev is not None else None
            if err is not None and iface.netdev is not None:
                # The device went away: the interface stays, with the error, until its device comes back.
                log.warning("bridge %s: interface %s: %s", br.name, iface.spec.name, err)
                self.count("iface_error")
                iface.netdev.close()
                iface.netdev, iface.error, iface.ofport, iface.odp_port = None, err, -1, -1

        for iface in [i for i in br.ifaces.values() if stale(i)]:
            self._del_iface(br, iface)
        for s in spec.ifaces:
            cur = br.ifaces.get(s.name)
            if specs.get(s.name) is not s:
                continue
            if cur is not None:
                if cur.netdev is not None and cur.spec.options != s.options:
                    error = None
                    try:
                        cur.netdev.set_config(dict(s.options))
                        cur.error = None
                    except NetdevError as e:
                        error = str(e)
                        log.warning("%s", e)
                    except Exception as e:
                        # No configuration, however bad, may stop the reconfiguration of the other interfaces
                        # (the daemon would retry it forever): the interface gets the error instead.
                        log.exception("%s: unexpected error configuring the device", s.name)
                        error = f"could not configure network device {s.name} ({e})"
                    dpkey = "dummy" if self.override else br.datapath_type
                    if error is not None:
                        # Open vSwitch deletes an interface whose new options its netdev refuses and fails to
                        # create it again: it must not go on working (a tunnel to its old remote) as if the new
                        # options applied.  It comes back when its options change.
                        self._iface_down(br, cur, error)
                    elif isinstance(cur.netdev, VportNetdev) and (
                            conflict := self._tunnel_conflict(dpkey, s.name, cur.netdev.config)) is not None:
                        # New options that another vport's receive match already has: refused, so that the
                        # other keeps its traffic (Open vSwitch's tnl_port_reconfigure() refuses to re-add the
                        # port).  Retried once the conflict is gone, like a refused new vport.
                        config = cur.netdev.config
                        self._iface_down(br, cur, self._refuse_duplicate(s.name, config, conflict))
                        cur.dup_config = config
                    elif isinstance(cur.netdev, VportNetdev):
                        # New options may move the vport to another shared datapath port (dst_port).
                        old, cur.odp_port = cur.odp_port, -1
                        cur.odp_port = self._tunnel_odp_port(dpkey, cur.netdev)
                        if old != cur.odp_port:
                            log.info("bridge %s: tunnel %s moved to datapath port %d", br.name, s.name,
                                     cur.odp_port)
                elif cur.netdev is None and (_config_of(cur.spec) != _config_of(s) or s.name in self._retry):
                    self._retry.discard(s.name)
                    self._del_iface(br, cur)
                    cur = None
                if cur is not None and cur.netdev is not None and cur.spec.mtu_request != s.mtu_request:
                    self._apply_mtu(cur, s.mtu_request)
                if cur is not None:
                    old_req = cur.spec.ofport_request
                    cur.spec = s
                    if cur.netdev is not None and s.ofport_request != old_req:
                        cur.ofport = 0   # Renumber below.
                    continue
            br.ifaces[s.name] = self._create_iface(br, s)
        # Vports refused as duplicates come back once nothing else receives their packets (checked after every
        # other interface of the bridge has its new configuration, so a conflict removed or changed away in
        # this same reconfiguration counts).
        dpkey = "dummy" if self.override else br.datapath_type
        for s in spec.ifaces:
            cur = br.ifaces.get(s.name)
            if (specs.get(s.name) is s and cur is not None and cur.netdev is None and cur.dup_config is not None
                    and self._tunnel_conflict(dpkey, s.name, cur.dup_config) is None):
                self._del_iface(br, cur)
                br.ifaces[s.name] = self._create_iface(br, s)
        self._assign_ofports(br)

    def _iface_down(self, br: Bridge, iface: Iface, error: str) -> None:
        """Take a running interface out of the datapath and OpenFlow (its device closed, ``ofport`` -1) with
        ``error``, as an interface that could not be created; it stays in ``br.ifaces`` to report the error."""
        self.count("iface_error")
        if iface.netdev is not None:
            iface.netdev.close()
        log.warning("bridge %s: removed interface %s from port %d: %s", br.name, iface.spec.name, iface.ofport,
                    error)
        iface.netdev, iface.error, iface.ofport, iface.odp_port = None, error, -1, -1

    def _netdev_type(self, br: Bridge, s: IfaceSpec) -> tuple[str | None, str | None]:
        """The netdev type to create for ``s`` on ``br`` or the error that explains why there is none."""
        is_local = s.name == br.name
        t = s.type or ("internal" if is_local else "system")
        if t == "patch":
            return "patch", None
        if t in TUNNEL_TYPES:
            # Tunnel vports have no device: they work on every datapath type, and stay tunnels even with
            # --enable-dummy=override (which in Open vSwitch makes them dummies), since pyvswitch's only dummy
            # switch mode is the override one.
            return t, None
        if self.override or br.datapath_type == "dummy":
            if t in ("internal", "dummy-internal"):
                return "dummy-internal", None
            if t in ("dummy", "system", "tap"):
                return "dummy", None
        elif t in ("dummy", "dummy-internal", "system", "internal", "tap"):
            return t, None
        if t in _LATER_TYPES:
            return None, (f"could not open network device {s.name} (Operation not supported): "
                          f"pyvswitch does not support port type {t!r} on datapath type {br.datapath_type!r} yet "
                          f"(use datapath_type=dummy with dummy ports)")
        return None, f"could not open network device {s.name} (Address family not supported by protocol)"

    def _create_iface(self, br: Bridge, s: IfaceSpec) -> Iface:
        ntype, error = self._netdev_type(br, s)
        dev = None
        if ntype is not None:
            try:
                dev = netdev_create(s.name, ntype, dict(s.options))
            except NetdevError as e:
                error = str(e)
            except Exception as e:
                log.exception("%s: unexpected error creating the device", s.name)
                error = f"could not open network device {s.name} ({e})"
        if dev is None:
            self.count("iface_error")
            log.warning("bridge %s: could not add interface %s: %s", br.name, s.name, error)
            return Iface(s, None, -1, error, br.name)
        iface = Iface(s, dev, 0, None, br.name)
        if s.mtu_request is not None:
            self._apply_mtu(iface, s.mtu_request)
        dev.rx_handler = lambda _dev, frame, br=br, iface=iface: br.handle_rx(iface, frame)
        dpkey = "dummy" if self.override else br.datapath_type
        if isinstance(dev, VportNetdev):
            conflict = self._tunnel_conflict(dpkey, s.name, dev.config)
            if conflict is not None:
                dev.close()
                self.count("iface_error")
                error = self._refuse_duplicate(s.name, dev.config, conflict)
                return Iface(s, None, -1, error, br.name, dup_config=dev.config)
            iface.odp_port = self._tunnel_odp_port(dpkey, dev)
        elif dev.netdev_class != "patch":   # A patch port has no datapath port: translation crosses it.
            iface.odp_port = self._choose_odp_port(dpkey, s.name)
        return iface

    def _dp_ifaces(self, dpkey: str) -> list[Iface]:
        return [i for b in self.bridges.values() if ("dummy" if self.override else b.datapath_type) == dpkey
                for i in b.ifaces.values()]

    def _tunnel_odp_port(self, dpkey: str, dev: VportNetdev) -> int:
        """The datapath port of a tunnel vport: the one its shared datapath port (``vxlan_sys_4789``...) already
        has on this datapath, else a new number: the UDP port when it is free (on any datapath type, so that
        ``tnl_pop(4789)`` reads naturally), else as for any port."""
        name = dev.dp_port_name
        for i in self._dp_ifaces(dpkey):
            if isinstance(i.netdev, VportNetdev) and i.netdev.dp_port_name == name and i.odp_port >= 0:
                return i.odp_port
        used = {i.odp_port for i in self._dp_ifaces(dpkey)}
        if dev.config.dst_port and dev.config.dst_port not in used:
            return dev.config.dst_port
        return self._choose_odp_port(dpkey, name)

    def _tunnel_conflict(self, dpkey: str, name: str, config: TunnelConfig) -> Iface | None:
        """The vport other than ``name`` already on this datapath that receives exactly what a vport configured
        with ``config`` would (Open vSwitch refuses the second one)."""
        for i in self._dp_ifaces(dpkey):
            other = i.netdev
            if (isinstance(other, VportNetdev) and i.spec.name != name
                    and other.dp_port_name == config.dp_port_name
                    and other.config.receive_match() == config.receive_match()):
                return i
        return None

    @staticmethod
    def _refuse_duplicate(name: str, config: TunnelConfig, conflict: Iface) -> str:
        """Log Open vSwitch's warnings about vport ``name`` duplicating ``conflict``; returns the error text."""
        log.warning("%s: attempting to add tunnel port with same config as port '%s' (%s)", name,
                    conflict.spec.name, config.match_text(conflict.odp_port))
        error = f"could not add network device {name} to ofproto (File exists)"
        log.warning("%s", error)
        return error

    def _choose_odp_port(self, dpkey: str, name: str) -> int:
        """A datapath port number for a new port of the ``dpkey`` datapath, as Open vSwitch's userspace datapath
        chooses one: on a dummy datapath the number in the port's name (plus 100 for a name that begins with
        ``br``: ``p1`` is 1, ``br0`` 100) when it is free; otherwise the lowest free number from 1."""
        used = {i.odp_port for b in self.bridges.values()
                if ("dummy" if self.override else b.datapath_type) == dpkey for i in b.ifaces.values()}
        if dpkey == "dummy":
            m = re.search(r"\d+", name)
            if m is not None:
                no = (100 if name.startswith("br") else 0) + int(m.group())
                if 0 < no < 0xFFFFFFFF and no not in used:
                    return no
        no = 1
        while no in used:
            no += 1
        return no

    def _apply_mtu(self, iface: Iface, mtu: int | None) -> None:
        """Apply ``mtu_request`` (an unset request leaves the device's MTU as it is, as in Open vSwitch).  A device
        that refuses it keeps working; the refusal is logged, not written to ``error``."""
        if mtu is None or iface.netdev is None:
            return
        try:
            iface.netdev.set_mtu(mtu)
        except NetdevError as e:
            log.warning("%s", e)

    def _assign_ofports(self, br: Bridge) -> None:
        live = [i for i in br.ifaces.values() if i.netdev is not None]
        used = {i.ofport for i in live if i.ofport > 0}

        def take(iface: Iface, n: int) -> None:
            iface.ofport = n
            used.add(n)
            log.info("bridge %s: added interface %s on port %d", br.name, iface.spec.name, n)

        for i in live:
            if i.ofport == 0 and i.spec.name == br.name:
                take(i, OFPP_LOCAL)
        # Requests first: a request takes its number from an interface that holds it without asking for it.
        for i in sorted(live, key=lambda i: i.spec.name):
            req = i.spec.ofport_request
            if i.ofport != 0 or req is None or not 1 <= req < OFPP_MAX:
                continue
            holder = next((j for j in live if j.ofport == req), None)
            if holder is not None and holder.spec.ofport_request != req:
                used.discard(req)
                holder.ofport = 0
                holder = None
            if holder is None:
                take(i, req)
        for i in sorted(live, key=lambda i: i.spec.name):
            db = i.spec.db_ofport
            if i.ofport == 0 and db is not None and 1 <= db < OFPP_MAX and db not in used:
                take(i, db)
        n = 1
        for i in sorted(live, key=lambda i: i.spec.name):
            if i.ofport == 0:
                while n in used:
                    n += 1
                take(i, n)

    # -- what to write back -------------------------------------------------------------------------------------

    def writeback_ops(self, idl: Any, with_stats: bool) -> list[dict[str, Any]]:
        """Update operations for every Interface column whose running value differs from the database."""
        ops = []
        rows = {r.uuid: r for r in idl.rows("Interface")}
        bridge_rows = {r.uuid: r for r in idl.rows("Bridge")}
        controller_rows = {r.uuid: r for r in idl.rows("Controller")}
        for br in self.bridges.values():
            for cuuid, cols in self.controller_status(br).items():
                crow = controller_rows.get(cuuid)
                if crow is None:
                    continue
                changed = {c: _to_json(v) for c, v in cols.items() if crow[c] != v}
                if changed:
                    ops.append({"op": "update", "table": "Controller",
                                "where": [["_uuid", "==", ["uuid", cuuid]]], "row": changed})
            brow = bridge_rows.get(br.uuid)
            dpid = br.datapath_id()
            if brow is not None and brow["datapath_id"] != dpid:
                ops.append({"op": "update", "table": "Bridge", "where": [["_uuid", "==", ["uuid", br.uuid]]],
                            "row": {"datapath_id": dpid}})
            for iface in br.ifaces.values():
                row = rows.get(iface.spec.uuid)
                if row is None:
                    continue
                dev = iface.netdev
                want: dict[str, Any] = {"ofport": iface.ofport, "error": iface.error}
                if dev is not None:
                    want.update(admin_state="up" if dev.admin_up() else "down",
                                link_state="up" if dev.carrier() else "down",
                                mac_in_use=dev.get_etheraddr(), mtu=dev.get_mtu())
                    if with_stats or not row["statistics"]:
                        want["statistics"] = dev.stats_map()
                    if isinstance(dev, VportNetdev):
                        want["status"] = dict(dev.status)
                else:
                    want.update(admin_state=None, link_state=None, mac_in_use=None, mtu=None, statistics={})
                changed = {c: _to_json(v) for c, v in want.items() if row[c] != v}
                if changed:
                    ops.append({"op": "update", "table": "Interface", "where": [["_uuid", "==", ["uuid", row.uuid]]],
                                "row": changed})
        return ops


def _config_of(s: IfaceSpec) -> tuple[Any, ...]:
    """What an interface is configured with (the ``ofport`` it last reported is not configuration)."""
    return (s.uuid, s.name, s.type, s.options, s.ofport_request, s.mtu_request)


def _to_json(v: Any) -> Any:
    if v is None:
        return ["set", []]
    if isinstance(v, dict):
        return ["map", [[k, x] for k, x in sorted(v.items())]]
    return v


# ---------------------------------------------------------------------------------------------------------------
# The database loop.

#: The columns the switch reads or writes.  Naming them (rather than monitoring everything) keeps updates small and
#: works with servers that add columns of their own, such as ovsdb-server's ``_version``.
MONITORED: dict[str, list[str] | None] = {
    "Open_vSwitch": ["bridges", "next_cfg", "cur_cfg", "other_config", "datapath_types", "iface_types"],
    "Bridge": ["name", "ports", "datapath_type", "other_config", "datapath_id", "controller", "fail_mode",
               "protocols", "flow_tables", "flood_vlans"],
    "Flow_Table": ["name", "flow_limit", "overflow_policy", "prefixes"],
    "Controller": ["target", "connection_mode", "max_backoff", "inactivity_probe", "enable_async_messages",
                   "is_connected", "role", "status"],
    "Port": ["name", "interfaces", "tag", "trunks", "vlan_mode", "other_config"],
    "Interface": ["name", "type", "options", "ofport_request", "ofport", "error", "admin_state", "link_state",
                  "mac_in_use", "mtu", "mtu_request", "statistics", "status"],
}


class BridgeRunner:
    """Runs the database loop of :class:`Switch` in a thread: monitor, reconcile, write back, advance cur_cfg."""

    def __init__(self, switch: Switch, remote: str, init_root: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.switch = switch
        self.clock = clock   # Decides when statistics are due; injectable so that tests need not sleep.
        self.remote = remote
        self.init_root = init_root
        self.stop_event = threading.Event()
        self.ready = threading.Event()     # Set after the first successful reconfiguration.
        self.thread = threading.Thread(target=self._main, name="bridge", daemon=True)
        self.idl: Idl | None = None
        self.n_rows = 0
        self.failures = 0

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)

    def _main(self) -> None:
        while not self.stop_event.is_set():
            try:
                self._loop()
            except Exception:
                self.failures += 1
                if self.failures == 1 or self.failures % 60 == 0:
                    log.exception("database loop failed (%d times); reconnecting", self.failures)
                if self.idl is not None:
                    self.idl.close()
                    self.idl = None
                self.stop_event.wait(1.0)

    def _root_updates(self, idl: Idl, want: Desired) -> dict[str, Any]:
        """Open_vSwitch columns to write: what the switch supports, and ``cur_cfg`` once ``next_cfg`` is applied."""
        root = idl.rows("Open_vSwitch")[0]
        row: dict[str, Any] = {}
        if want.cur_cfg != want.next_cfg:
            row["cur_cfg"] = want.next_cfg
        for col, values in (("datapath_types", SUPPORTED_DATAPATH_TYPES), ("iface_types", registered_types())):
            if sorted(root[col]) != sorted(values):
                row[col] = ["set", sorted(values)]
        return row

    def _connect(self) -> Idl:
        attempts = 0
        while True:
            try:
                return Idl(self.remote, "Open_vSwitch", MONITORED)
            except (OSError, ConnectionClosed, RpcError, TimeoutError) as e:
                if attempts % 30 == 0:
                    log.warning("%s: cannot connect to the database (%s); retrying every second", self.remote, e)
                attempts += 1
                if self.stop_event.wait(1.0):
                    raise SystemExit from None   # Ends the bridge thread quietly when the daemon stops.

    def _loop(self) -> None:
        idl = self.idl = self._connect()
        if self.init_root and not idl.rows("Open_vSwitch"):
            try:
                idl.transact({"op": "insert", "table": "Open_vSwitch", "row": {}})
                log.info("initialized the database's Open_vSwitch record")
            except TransactionError as e:
                log.debug("Open_vSwitch record not inserted: %s", e)
            idl.wait_for(lambda: idl.rows("Open_vSwitch"), timeout=10.0)
        seen = -1
        last_stats = 0.0
        stats_interval = DEFAULT_STATS_INTERVAL
        while not self.stop_event.is_set():
            assert idl.replica is not None
            now = self.clock()
            stats_due = now - last_stats >= stats_interval
            if idl.replica.seqno != seen or stats_due or self.switch.dirty.is_set():
                self.switch.dirty.clear()
                seen = idl.replica.seqno
                want = desired_state(idl)
                stats_interval = want.stats_interval
                with self.switch.lock:
                    self.switch.reconfigure(want)
                    ops = self.switch.writeback_ops(idl, stats_due)
                    self.n_rows = sum(len(t) for t in idl.replica.tables.values())
                if stats_due:
                    last_stats = now
                for wait in self.switch.settle:
                    try:
                        wait()
                    except Exception:
                        log.exception("waiting for the reconfiguration to settle failed")
                if want.ovs_uuid is not None:
                    root = self._root_updates(idl, want)
                    if root:
                        ops.append({"op": "update", "table": "Open_vSwitch",
                                    "where": [["_uuid", "==", ["uuid", want.ovs_uuid]]], "row": root})
                if ops:
                    try:
                        idl.transact(*ops)
                    except TransactionError as e:
                        # Another client changed the rows meanwhile; the next update triggers a new attempt.
                        log.warning("writing the switch state to the database failed: %s", e)
                        seen = -1
                        self.stop_event.wait(0.1)
                self.ready.set()
            idl.run(timeout=0.2)
