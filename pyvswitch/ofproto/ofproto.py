"""One bridge's OpenFlow switch: its tables, groups, meters and ports, and the switch-wide settings OpenFlow
messages read and change.

The OpenFlow layer (``pyvswitch.openflow.handler``) decodes messages and calls in here; the daemon
(``pyvswitch.vswitchd``) tells it which ports exist.  Everything here is protocol-independent: ports are kept
with 16-bit OpenFlow 1.0 numbers (``OFPP_LOCAL`` = 0xfffe), as the rest of the model does.

Changes that connections must hear about are reported to the ``on_*`` subscribers: ``on_port_change(reason,
port)`` (reason ``add``, ``delete`` or ``modify``), ``on_flow_change(kind, rule, reason)`` for flow monitors
(``added``, ``modified``, ``deleted``), ``on_flow_removed(removed)`` for rules that leave their table with
``send_flow_rem``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from pyvswitch.ofproto.group import GroupTable
from pyvswitch.ofproto.meter import MeterTable
from pyvswitch.ofproto.rule import Removed
from pyvswitch.ofproto.table import FlowTables
from pyvswitch.util.clock import SYSTEM_CLOCK, Clock

__all__ = ["OFPPC", "OFPPS", "OFPort", "OFProto", "SwitchConfig"]


class OFPPC:
    """Port config bits (OpenFlow 1.0 numbering; the codec maps 1.1+'s)."""

    PORT_DOWN = 1 << 0
    NO_STP = 1 << 1
    NO_RECV = 1 << 2
    NO_RECV_STP = 1 << 3
    NO_FLOOD = 1 << 4
    NO_FWD = 1 << 5
    NO_PACKET_IN = 1 << 6


class OFPPS:
    """Port state bits."""

    LINK_DOWN = 1 << 0
    BLOCKED = 1 << 1
    LIVE = 1 << 2


# Ethernet feature bits (OpenFlow 1.1+ numbering: 10GB_FD is bit 6, COPPER bit 11).
OFPPF_10GB_FD = 1 << 6
OFPPF_COPPER = 1 << 11


@dataclass(frozen=True)
class OFPort:
    """An OpenFlow port as reported in port descriptions and port-status messages."""

    port_no: int
    name: str
    hw_addr: str
    config: int = 0
    state: int = 0
    curr: int = OFPPF_10GB_FD | OFPPF_COPPER
    advertised: int = 0
    supported: int = 0
    peer: int = 0
    curr_speed: int = 10_000_000   # kbps
    max_speed: int = 0


@dataclass
class SwitchConfig:
    """``OFPT_SET_CONFIG`` state: fragment handling (``normal``, ``drop``, ``reassemble``, ``nx-match``).  (The
    message's invalid-TTL flag belongs to the connection that sets it: see ``openflow.handler``.)"""

    frag: str = "normal"


@dataclass
class OFProto:
    name: str
    datapath_id: int = 0
    clock: Clock = SYSTEM_CLOCK
    tables: FlowTables = field(init=False)
    groups: GroupTable = field(init=False)
    meters: MeterTable = field(init=False)
    ports: dict[int, OFPort] = field(default_factory=dict)
    config: SwitchConfig = field(default_factory=SwitchConfig)
    #: Geneve option mappings (the OpenFlow layer's TLV table model); ``None`` until first used.
    tlv_table: Any = None
    #: Statistics per port: a callable returning the netdev's counters (dict) or None.
    port_stats: Callable[[int], dict[str, Any] | None] = lambda port_no: None
    on_port_change: list[Callable[[str, OFPort], None]] = field(default_factory=list)
    on_flow_removed: list[Callable[[Removed], None]] = field(default_factory=list)
    created: float = field(init=False)
    _mod_down: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.tables = FlowTables(clock=self.clock)
        self.groups = GroupTable(clock=self.clock.now)
        self.meters = MeterTable(clock=self.clock.now)
        self.created = self.clock.now()

    # -- ports ----------------------------------------------------------------------------------------------------

    def set_ports(self, ports: Iterable[OFPort]) -> list[tuple[str, OFPort]]:
        """Make the port list ``ports`` (the daemon's view of the devices), keeping the ``config`` bits that
        port-mods set; report and return each change."""
        new = {p.port_no: p for p in ports}
        changes: list[tuple[str, OFPort]] = []
        for no, old in list(self.ports.items()):
            if no not in new or new[no].name != old.name:
                del self.ports[no]
                changes.append(("delete", old))
        for no, p in new.items():
            prev = self.ports.get(no)
            if prev is None:
                self.ports[no] = p
                changes.append(("add", p))
            else:
                # Port-mod bits stay; PORT_DOWN follows the device unless a port-mod set it.
                down = (p.config | (OFPPC.PORT_DOWN if no in self._mod_down else 0)) & OFPPC.PORT_DOWN
                p = replace(p, config=(prev.config & ~OFPPC.PORT_DOWN) | down)
                if p != prev:
                    self.ports[no] = p
                    changes.append(("modify", p))
        for reason, p in changes:
            for cb in self.on_port_change:
                cb(reason, p)
        return changes

    def mod_port(self, port_no: int, hw_addr: str | None, config: int, mask: int) -> OFPort:
        """Apply a port-mod: change the ``mask`` bits of the port's config to ``config``.  Raises KeyError for an
        unknown port and ValueError when ``hw_addr`` is given and differs from the port's (OpenFlow's
        OFPPMFC_BAD_HW_ADDR)."""
        p = self.ports[port_no]
        if hw_addr is not None and hw_addr.lower() != p.hw_addr.lower():
            raise ValueError("hardware address does not match")
        cfg = (p.config & ~mask) | (config & mask)
        if mask & OFPPC.PORT_DOWN:
            if config & OFPPC.PORT_DOWN:
                self._mod_down.add(port_no)
            else:
                self._mod_down.discard(port_no)
        state = p.state
        new = replace(p, config=cfg, state=state)
        if new != p:
            self.ports[port_no] = new
            for cb in self.on_port_change:
                cb("modify", new)
        return new

    # -- flows ----------------------------------------------------------------------------------------------------

    def expire(self) -> list[Removed]:
        """Remove the rules whose timeouts passed; report those that asked for a flow-removed message."""
        removed = self.tables.expire()
        self.report_removed(removed)
        return removed

    def report_removed(self, removed: Iterable[Removed]) -> None:
        for r in removed:
            if r.send_flow_rem:
                for cb in self.on_flow_removed:
                    cb(r)
