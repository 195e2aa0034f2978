"""The daemon's datapath side: one :class:`pyvswitch.ofproto.ofproto_dpif.Backer` per datapath type, the
bridges' ports and settings handed to it after each reconfiguration, received frames handed to it, packet-ins
handed to the OpenFlow connections, the periodic revalidator, and the control commands that look into it
(``dpctl/*``, ``dpif/show``, ``fdb/*``, ``ofproto/trace``, ``upcall/show``, ``revalidator/*``).

Native tunnelling: one :class:`pyvswitch.ofproto.tnl_context.TnlContext` (``tnl``) serves every backer; its
route monitor (the host's routes and addresses, in the daemon's network namespace) starts with the first backer
on a non-dummy datapath.  Tunnel vports are handed to the backers with their configuration, and their Interface
``status`` (``tunnel_egress_iface`` and its carrier, from the route to ``remote_ip``) is recomputed at every
reconfiguration and periodic pass.

Threads: everything here runs with the switch lock held.  Packet-ins are handed to the asyncio loop that owns
the OpenFlow connections with ``call_soon_threadsafe``, since frames may arrive in other threads.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from pyvswitch.dpif import odp
from pyvswitch.flow import fields as F
from pyvswitch.flow.extract import extract, set_vlan_limit
from pyvswitch.flow.match_text import MatchParseError, parse_match
from pyvswitch.flow.values import OFPP_LOCAL
from pyvswitch.netdev.netdev_vport import VportNetdev
from pyvswitch.ofproto.actions.model import PACKET_IN_REASONS
from pyvswitch.ofproto.normal import PortVlanConfig
from pyvswitch.ofproto.ofproto_dpif import REVALIDATE_INTERVAL, Backer, DpPort, Paused
from pyvswitch.ofproto.tnl_context import TnlContext
from pyvswitch.ofproto.xlate import PacketIn
from pyvswitch.openflow import ofp_packet as PK

from .bridge import Bridge, Desired, Iface, Switch
from .pmd import PollThread
from .unixctl import CommandError

log = logging.getLogger("pyvswitch.datapath")


def _int_option(config: dict[str, str], key: str, lo: int, hi: int) -> int | None:
    v = config.get(key)
    if v is None:
        return None
    try:
        n = int(v)
    except ValueError:
        log.warning("other_config:%s=%s is not a number; ignored", key, v)
        return None
    return min(max(n, lo), hi)


class DatapathWiring:
    def __init__(self, switch: Switch, loop: asyncio.AbstractEventLoop,
                 connset: Callable[[str], Any], tnl: TnlContext | None = None) -> None:
        self.switch = switch
        self.loop = loop
        self.connset = connset
        self.backers: dict[str, Backer] = {}
        #: Native tunnelling's routes, neighbours and listening ports, shared by every backer.
        self.tnl = tnl if tnl is not None else TnlContext(switch.lock)
        self.tnl.dummy_mac = self._device_mac
        self.tnl.changed.append(self._tnl_changed)
        self._dummies: set[str] = set()
        switch.bridge_added.append(self._added)
        switch.bridge_removed.append(self._removed)
        switch.reconfigured.append(self._reconfigured)
        self._task = loop.create_task(self._run_loop())
        self.poller = PollThread(switch.lock, switch.link_changed)

    def dp_type(self, br: Bridge) -> str:
        return "dummy" if self.switch.override or br.datapath_type == "dummy" else br.datapath_type

    def backer_of(self, br: Bridge) -> Backer:
        t = self.dp_type(br)
        b = self.backers.get(t)
        if b is None:
            b = self.backers[t] = Backer(t, tnl=self.tnl)
            b.on_packet_in = self._packet_in
            b.coverage = self.switch.coverage
            if t != "dummy" and self.tnl.route_monitor is None:
                # Real devices: the host's routes and addresses decide where tunnels go.
                try:
                    self.tnl.start()
                except Exception:
                    log.exception("starting the route monitor failed")
        return b

    def _device_mac(self, name: str) -> int | None:
        """The Ethernet address of the interface ``name`` of some bridge (the router asks for dummy devices')."""
        iface = self.switch.iface(name)
        if iface is None or iface.netdev is None:
            return None
        try:
            return int(iface.netdev.get_etheraddr().replace(":", ""), 16)
        except ValueError:
            return None

    def _tnl_changed(self) -> None:
        """The route monitor changed routes or addresses (called with the switch lock held)."""
        self.update_tunnel_status()

    def update_tunnel_status(self) -> None:
        """Recompute the ``status`` of every tunnel interface: the device the route to its remote address goes
        out of, and that device's carrier (Open vSwitch looks up ``::`` for ``remote_ip=flow``)."""
        changed = False
        for br in self.switch.bridges.values():
            for iface in br.ifaces.values():
                dev = iface.netdev
                if not isinstance(dev, VportNetdev):
                    continue
                cfg = dev.config
                dst = cfg.remote_ip if cfg.remote_ip is not None else ipaddress.IPv6Address("::")
                status: dict[str, str] = {}
                route = self.tnl.router.lookup(dst, cfg.egress_pkt_mark or 0)
                if route is not None:
                    status["tunnel_egress_iface"] = route.dev
                    carrier = self._carrier(route.dev)
                    if carrier is not None:
                        status["tunnel_egress_iface_carrier"] = "up" if carrier else "down"
                if status != dev.status:
                    dev.status = status
                    changed = True
        if changed:
            self.switch.dirty.set()

    def _carrier(self, name: str) -> bool | None:
        """Whether device ``name`` has a carrier: a bridge port's as its netdev says, a kernel device's from
        sysfs; None when there is no such device."""
        iface = self.switch.iface(name)
        if iface is not None and iface.netdev is not None:
            return iface.netdev.carrier()
        try:
            with open(f"/sys/class/net/{name}/carrier") as f:
                return f.read().strip() == "1"
        except OSError:
            pass
        try:
            with open(f"/sys/class/net/{name}/operstate") as f:
                return f.read().strip() in ("up", "unknown")
        except OSError:
            return None

    def _added(self, br: Bridge) -> None:
        backer = self.backer_of(br)
        dpb = backer.add_bridge(br.ofproto)
        name = br.name

        cs = self.connset(name)
        if cs is not None:
            def conns_changed() -> None:
                # Open vSwitch sends table-miss packet-ins while a connection of OpenFlow 1.0-1.2 with controller
                # id 0 (a controller, or a service connection such as ovs-ofctl monitor) is there.
                dpb.set_miss_to_controller(any(c.version < 4 and c.controller_id == 0 for c in cs.conns))
            cs.on_conns_change.append(conns_changed)
            cs.execute_packet_out = lambda ofproto, po, conn: backer.packet_out(name, po.packet, po.metadata.value,
                                                                                po.actions)
            cs.execute_resume = lambda ofproto, pin, conn: self._resume(name, pin)

        def rx(bridge: Bridge, iface: Iface, frame: bytes) -> None:
            if iface.odp_port >= 0:
                backer.receive(iface.odp_port, [frame])
        br.rx_hook = rx

    def _removed(self, br: Bridge) -> None:
        # The bridge's neighbours go with it, as in Open vSwitch.
        self.tnl.neigh.flush(br.name)
        t = self.dp_type(br)
        backer = self.backers.get(t)
        if backer is not None:
            backer.remove_bridge(br.name)
            if not backer.bridges:
                # As in Open vSwitch, a datapath lives as long as it has bridges.
                backer.close()
                del self.backers[t]

    def _reconfigured(self, want: Desired) -> None:
        cfg = dict(want.other_config)
        for backer in self.backers.values():
            limit = _int_option(cfg, "flow-limit", 0, 1 << 31)
            idle = _int_option(cfg, "max-idle", 500, 1 << 31)
            backer.set_config(flow_limit=limit, max_idle=None if idle is None else idle / 1000)
        # other_config:vlan-limit: how many VLAN headers flow extraction parses (Open vSwitch's default 1, 0: all).
        vlan_limit = _int_option(cfg, "vlan-limit", 0, 1 << 16)
        set_vlan_limit(1 if vlan_limit is None else vlan_limit)
        by_name = {i.spec.name: i for b in self.switch.bridges.values() for i in b.ifaces.values()}
        polled: list[tuple[Any, Callable[[Any], None]]] = []
        for br in self.switch.bridges.values():
            ports = []
            for iface in br.ifaces.values():
                if iface.netdev is None or iface.ofport <= 0:
                    continue
                s = iface.spec
                try:
                    vlan = PortVlanConfig(s.name, iface.ofport, s.tag, frozenset(s.trunks), s.vlan_mode,
                                          s.priority_tags)
                except ValueError as e:
                    log.warning("%s: port %s: %s; VLAN configuration ignored", br.name, s.name, e)
                    vlan = PortVlanConfig(s.name, iface.ofport)
                peer = getattr(iface.netdev, "peer", None) if iface.netdev.netdev_class == "patch" else None
                if peer is not None:
                    p = by_name.get(peer)
                    ok = (p is not None and p.netdev is not None and p.netdev.netdev_class == "patch"
                          and getattr(p.netdev, "peer", None) == s.name
                          and self.dp_type(self.switch.bridges[p.bridge]) == self.dp_type(br))
                    iface.error = None if ok else \
                        f"No usable peer '{peer}' exists in '{self.dp_type(br)}' datapath."
                tunnel = iface.netdev.config if isinstance(iface.netdev, VportNetdev) else None
                ports.append(DpPort(iface.ofport, s.name, iface.odp_port if iface.odp_port >= 0 else None,
                                    iface.netdev.netdev_class, vlan, iface.netdev.send, peer, iface.netdev,
                                    tunnel))
            oc = dict(br.other_config)
            backer = self.backer_of(br)
            if br.name not in backer.bridges:
                continue
            for p in ports:
                if p.odp_port is not None and p.netdev.rx_fileno() is not None:
                    polled.append((p.netdev, functools.partial(backer.receive_batch, p.odp_port)))
            backer.set_ports(br.name, ports, flood_vlans=frozenset(br.flood_vlans),
                             forward_bpdu=oc.get("forward-bpdu") == "true",
                             mac_aging=_int_option(oc, "mac-aging-time", 1, 1 << 31),
                             mac_size=_int_option(oc, "mac-table-size", 1, 1 << 31))
        self.poller.set_ports(polled)
        # Dummy devices' addresses go with them; their MACs may have changed.
        dummies = {i.spec.name for b in self.switch.bridges.values() for i in b.ifaces.values()
                   if i.netdev is not None and i.netdev.netdev_class in ("dummy", "dummy-internal")}
        for gone in self._dummies - dummies:
            self.tnl.forget_dummy(gone)
        self._dummies = dummies
        if (self.tnl.route_monitor is None and not self.switch.override
                and any(isinstance(i.netdev, VportNetdev) for i in by_name.values())):
            # As Open vSwitch (without --enable-dummy=override), the host's routes matter once a tunnel exists,
            # whatever the datapath type.
            try:
                self.tnl.start()
            except Exception:
                log.exception("starting the route monitor failed")
        self.tnl.refresh()
        self.update_tunnel_status()

    # -- packet-ins ------------------------------------------------------------------------------------------

    def _packet_in(self, bridge: str, frame: bytes, pin: PacketIn, paused: Paused | None = None) -> None:
        reason = PACKET_IN_REASONS.index(pin.reason) if pin.reason in PACKET_IN_REASONS else PK.OFPR_ACTION
        msg = PK.PacketIn(frame, reason=reason, table_id=pin.table_id, cookie=pin.cookie,
                          metadata=PK.flow_metadata(pin.key), userdata=pin.userdata)
        br = self.switch.bridges.get(bridge)
        if paused is not None and br is not None:
            msg.continuation = PK.Continuation(bridge=uuid.UUID(br.uuid), conntracked=paused.conntracked,
                                               actions=paused.actions, action_set=paused.action_set,
                                               odp_port=paused.odp_port)
        cid = pin.controller_id
        miss = "explicit" if pin.explicit_miss else "implicit" if pin.reason == "no_match" else None

        def send() -> None:
            cs = self.connset(bridge)
            if cs is not None:
                cs.send_packet_in(msg, cid, miss)
        self.loop.call_soon_threadsafe(send)

    def _resume(self, bridge: str, pin: PK.PacketIn) -> bool:
        """``NXT_RESUME`` on ``bridge``'s connections: False (stale) unless the continuation is this bridge's."""
        c = pin.continuation
        with self.switch.lock:
            br = self.switch.bridges.get(bridge)
            if br is None or c is None or c.bridge is None or str(c.bridge) != br.uuid:
                return False
            paused = Paused([(t, ck, list(acts)) for t, ck, acts in c.actions], list(c.action_set),
                            c.conntracked, c.odp_port)
            self.backer_of(br).resume(bridge, pin.packet, pin.metadata.value, paused)
        return True

    # -- the periodic pass -----------------------------------------------------------------------------------

    async def _run_loop(self) -> None:
        while True:
            await asyncio.sleep(REVALIDATE_INTERVAL)
            with self.switch.lock:
                try:
                    self.tnl.run()
                    self.update_tunnel_status()
                except Exception:
                    log.exception("native tunnelling: periodic work failed")
                for backer in list(self.backers.values()):
                    try:
                        backer.run()
                        backer.send_tnl_requests()
                    except Exception:
                        log.exception("%s: revalidation failed", backer.dpif.name)

    def close(self) -> None:
        """Stop the periodic pass, the poll thread and the route monitor (call without the switch lock)."""
        self._task.cancel()
        self.poller.close()
        self.tnl.stop()

    # -- helpers for the commands ----------------------------------------------------------------------------

    def bridge(self, name: str) -> tuple[Backer, Bridge] | None:
        br = self.switch.bridges.get(name)
        if br is None:
            return None
        return self.backer_of(br), br


# ---------------------------------------------------------------------------------------------------------------
# Control commands.

class DatapathCommands:
    """``dpif/*``, ``dpctl/*``, ``fdb/*``, ``ofproto/trace``, ``upcall/show`` and ``revalidator/*``."""

    def __init__(self, wiring: DatapathWiring) -> None:
        self.w = wiring
        self.switch = wiring.switch

    def register(self, unixctl: Any) -> None:
        r = unixctl.register
        r("dpif/show", "", 0, 0, self.dpif_show)
        r("dpif/dump-flows", "[-m] [--names | --no-names] bridge", 1, 3, self.dpif_dump_flows)
        r("dpctl/show", "[-s] [dp...]", 0, 1 << 16, self.dpctl_show)
        r("dpctl/dump-dps", "", 0, 0, self.dpctl_dump_dps)
        r("dpctl/dump-flows", "[-m] [--names | --no-names] [dp]", 0, 4, self.dpctl_dump_flows)
        r("dpctl/del-flows", "[dp]", 0, 1, self.dpctl_del_flows)
        r("upcall/show", "", 0, 0, self.upcall_show)
        r("dpif-netdev/pmd-stats-show", "[-pmd core] [dp]", 0, 3, self.pmd_stats_show)
        r("dpif-netdev/pmd-stats-clear", "[-pmd core] [dp]", 0, 3, self.pmd_stats_clear)
        r("revalidator/wait", "", 0, 0, self.revalidator_wait)
        r("revalidator/purge", "", 0, 0, self.revalidator_purge)
        r("fdb/show", "bridge", 1, 1, self.fdb_show)
        r("fdb/flush", "[bridge]", 0, 1, self.fdb_flush)
        r("fdb/stats-show", "bridge", 1, 1, self.fdb_stats_show)
        r("fdb/stats-clear", "[bridge]", 0, 1, self.fdb_stats_clear)
        r("ofproto/trace", "{[dp_name] odp_flow | bridge br_flow} [OPTIONS...] [-generate|packet]", 1, 1 << 16,
          self.ofproto_trace)

    # -- helpers ---------------------------------------------------------------------------------------------

    def _backers(self, args: list[str]) -> list[Backer]:
        """The backers named in ``args`` (``TYPE@NAME``, ``NAME`` or ``TYPE``), or all of them."""
        if not args:
            return [self.w.backers[t] for t in sorted(self.w.backers)]
        out = []
        for a in args:
            dptype, _, name = a.rpartition("@")
            found = [b for b in self.w.backers.values()
                     if b.dpif.name == (name or a) or b.type == a or (dptype and b.type == dptype
                                                                        and b.dpif.name == name)]
            if not found:
                raise CommandError(f"opening datapath {a} failed (No such device)")
            out.extend(found)
        return out

    def _bridge(self, name: str) -> tuple[Backer, Any]:
        br = self.switch.bridges.get(name)
        if br is None:
            raise CommandError("no such bridge")
        backer = self.w.backer_of(br)
        dpb = backer.bridges.get(name)
        if dpb is None:
            raise CommandError("no such bridge")
        return backer, dpb

    # -- dpif/dpctl ------------------------------------------------------------------------------------------

    def dpif_show(self, args: list[str]) -> str:
        out: list[str] = []
        with self.switch.lock:
            for t in sorted(self.w.backers):
                backer = self.w.backers[t]
                s = backer.dpif.get_stats()
                out.append(f"{t}@{backer.dpif.name}: hit:{s.n_hit} missed:{s.n_missed}")
                for name in sorted(backer.bridges):
                    br = self.switch.bridges.get(name)
                    if br is None:
                        continue
                    out.append(f"  {name}:")
                    for i in sorted(br.ifaces.values(), key=lambda i: i.spec.name):
                        dev = i.netdev
                        if dev is None:
                            continue
                        odp_no = str(i.odp_port) if i.odp_port >= 0 else "none"
                        desc = dev.describe() if hasattr(dev, "describe") else dev.netdev_class
                        ofport = "65534" if i.ofport == OFPP_LOCAL else str(i.ofport)
                        out.append(f"    {i.spec.name} {ofport}/{odp_no}: ({desc})")
        return "".join(line + "\n" for line in out)

    def dpctl_dump_dps(self, args: list[str]) -> str:
        with self.switch.lock:
            return "".join(f"{b.type}@{b.dpif.name}\n" for b in self._backers([]))

    def dpctl_show(self, args: list[str]) -> str:
        stats = "-s" in args or "--statistics" in args
        names = [a for a in args if not a.startswith("-")]
        out: list[str] = []
        with self.switch.lock:
            for backer in self._backers(names):
                lines = backer.dpif.show()
                if not stats:
                    out.extend(lines)
                    continue
                devs = {i.spec.name: i.netdev for br in self.switch.bridges.values() for i in br.ifaces.values()}
                for line in lines:
                    out.append(line)
                    if not line.startswith("  port "):
                        continue
                    name = line.split(": ", 1)[1].split(" ", 1)[0]
                    dev = devs.get(name)
                    st = dev.stats_map() if dev is not None else {}
                    out += [f"    RX packets:{st.get('rx_packets', 0)} errors:? dropped:? overruns:? frame:?",
                            f"    TX packets:{st.get('tx_packets', 0)} errors:? dropped:? aborted:? carrier:?",
                            "    collisions:?",
                            f"    RX bytes:{st.get('rx_bytes', 0)}  TX bytes:{st.get('tx_bytes', 0)}"]
        return "".join(line + "\n" for line in out)

    def dpctl_dump_flows(self, args: list[str]) -> str:
        verbose = "-m" in args or "--more" in args
        names: bool | None = True if "--names" in args else False if "--no-names" in args else None
        rest = [a for a in args if not a.startswith("-")]
        out: list[str] = []
        with self.switch.lock:
            for backer in self._backers(rest[:1]):
                backer.revalidate()
                out.extend(backer.dpif.dump_flows(verbose, names))
        return "".join(line + "\n" for line in out)

    def dpif_dump_flows(self, args: list[str]) -> str:
        verbose = "-m" in args
        rest = [a for a in args if not a.startswith("-")]
        if len(rest) != 1:
            raise CommandError("dpif/dump-flows needs one bridge")
        with self.switch.lock:
            backer, dpb = self._bridge(rest[0])
            backer.revalidate()
            mine = {p.odp_port for p in dpb.ports.values() if p.odp_port is not None}
            lines = backer.dpif.dump_flows(verbose, "--no-names" not in args)
            names = backer.odp_port_names()
            keep = []
            for line in lines[1:]:
                body = line.split(", ", 1)[1] if verbose else line
                m = _IN_PORT_RE.search(body)
                if m is None:
                    continue
                port = m.group(1)
                no = int(port) if port.isdigit() else next((n for n, s in names.items() if s == port), -1)
                if no in mine:
                    keep.append(line)
        return "".join(line + "\n" for line in keep)

    def dpctl_del_flows(self, args: list[str]) -> str:
        with self.switch.lock:
            for backer in self._backers(args):
                backer.dpif.del_flows()
        return ""

    def upcall_show(self, args: list[str]) -> str:
        out: list[str] = []
        with self.switch.lock:
            for backer in self._backers([]):
                n = len(backer.dpif.caches)
                out += [f"{backer.type}@{backer.dpif.name}:",
                        (f"  flows         : (current {n}) (avg {backer.avg_flows}) (max {backer.max_flows}) "
                         f"(limit {backer.dynamic_limit})"),
                        f"  dump duration : {backer.dump_duration_ms}ms",
                        "  ufid enabled : true",
                        "",
                        f"  1: (keys {n})"]
        return "".join(line + "\n" for line in out)

    def pmd_stats_show(self, args: list[str]) -> str:
        with self.switch.lock:
            return "".join(line + "\n" for b in self._backers([a for a in args[-1:] if not a.startswith("-")
                                                                 and not a.isdigit()])
                           for line in b.dpif.pmd_stats_show())

    def pmd_stats_clear(self, args: list[str]) -> str:
        with self.switch.lock:
            for b in self._backers([a for a in args[-1:] if not a.startswith("-") and not a.isdigit()]):
                b.dpif.pmd_stats_clear()
        return ""

    def revalidator_wait(self, args: list[str]) -> str:
        with self.switch.lock:
            for backer in self.w.backers.values():
                backer.run()
        return ""

    def revalidator_purge(self, args: list[str]) -> str:
        with self.switch.lock:
            for backer in self.w.backers.values():
                backer.purge()
        return ""

    # -- fdb -------------------------------------------------------------------------------------------------

    def fdb_show(self, args: list[str]) -> str:
        with self.switch.lock:
            _, dpb = self._bridge(args[0])
            return dpb.mac_table.format_fdb_show(port_label=_port_label)

    def _fdb_targets(self, args: list[str]) -> list[Any]:
        """The bridge named in ``args``, or every bridge."""
        if args:
            return [self._bridge(args[0])[1]]
        return [b for backer in self.w.backers.values() for b in backer.bridges.values()]

    def fdb_flush(self, args: list[str]) -> str:
        with self.switch.lock:
            for dpb in self._fdb_targets(args):
                dpb.mac_table.flush()
        return "table successfully flushed\n"

    def fdb_stats_show(self, args: list[str]) -> str:
        with self.switch.lock:
            _, dpb = self._bridge(args[0])
            return dpb.mac_table.format_stats_show(args[0])

    def fdb_stats_clear(self, args: list[str]) -> str:
        with self.switch.lock:
            for dpb in self._fdb_targets(args):
                dpb.mac_table.clear_stats()
        return "statistics successfully cleared\n"

    # -- ofproto/trace ---------------------------------------------------------------------------------------

    def ofproto_trace(self, args: list[str]) -> str:
        generate = "-generate" in args
        args = [a for a in args if a != "-generate"]
        # Options OVS accepts before the packet (conntrack state for recirculated traces) are not needed yet.
        with self.switch.lock:
            if not args:
                raise CommandError('"ofproto/trace" command requires at least 1 arguments')
            backer: Backer | None = None
            dpb = None
            if args[0] in self.switch.bridges and len(args) >= 2:
                backer, dpb = self._bridge(args[0])
                flow, rest = args[1], args[2:]
            else:
                if len(args) >= 2 and "(" not in args[0]:
                    backers = self._backers([args[0]])
                    flow, rest = args[1], args[2:]
                else:
                    backers = self._backers([])
                    flow, rest = args[0], args[1:]
                if "(" not in flow:
                    raise CommandError("Cannot find bridge " + args[0] if args else "no bridge")
                for b in backers:
                    try:
                        key, _ = odp.parse_flow(flow, {v: k for k, v in b.odp_port_names().items()})
                    except odp.OdpParseError as e:
                        raise CommandError(f"Bad datapath flow syntax: {e}") from None
                    # A decapsulated packet's in_port is a shared tunnel port: its tunnel fields say which
                    # vport it came through, as in an upcall.
                    where = b.upcall_entry(key)
                    if where is not None:
                        backer, (dpb, key) = b, where
                        break
                    if b.tunnels.is_tunnel(F.storage_get(key, "in_port")):
                        raise CommandError("no OpenFlow tunnel port for this packet")
                else:
                    raise CommandError("Cannot find bridge for the datapath flow's in_port")
            assert backer is not None and dpb is not None
            if "(" not in flow:
                key = _parse_of_flow(flow, dpb)
            if rest:
                # A packet: its headers, the flow's metadata.
                text = rest[0]
                try:
                    packet = bytes.fromhex(text.strip().removeprefix("0x"))
                except ValueError:
                    raise CommandError(f"Trailing garbage in packet data: {text}") from None
                key = extract(packet, F.storage_get(key, "in_port")) | (key & _PIPELINE_MD)
            return backer.trace(dpb.name, key, generate=generate)


def _port_label(port: Any) -> str:
    return "LOCAL" if port == OFPP_LOCAL else str(port)


_IN_PORT_RE = re.compile(r"in_port\(([^)]*)\)")
_IN_PORT_NAME_RE = re.compile(r"(in_port=)([^,\s]+)")
_PIPELINE_MD = F.storage_mask("regs") | F.storage_mask("metadata")


def _parse_of_flow(flow: str, dpb: Any) -> int:
    names = {p.name: no for no, p in dpb.ports.items()}

    def sub(m: re.Match[str]) -> str:
        v = m.group(2)
        if v in names:
            return m.group(1) + str(names[v])
        if v.isdigit() or v.upper() in ("LOCAL", "CONTROLLER", "NONE", "ANY", "IN_PORT", "NORMAL", "FLOOD", "ALL") \
                or v.lower().startswith("0x"):
            return m.group(0)
        raise CommandError(f"Bad openflow flow syntax: {flow}: bad value for in_port "
                           f"({v}: invalid or unknown port for in_port)")
    text = _IN_PORT_NAME_RE.sub(sub, flow)
    try:
        return parse_match(text).match.value
    except (MatchParseError, ValueError) as e:
        # Open vSwitch parses the flow as an exact flow, whose parser calls an unknown name a field.
        msg = re.sub(r"^unknown keyword ", "unknown field ", str(e))
        raise CommandError(f"Bad openflow flow syntax: {flow}: {msg}") from None
