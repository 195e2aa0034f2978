"""Translation (xlate): what one bridge does with a packet, as datapath actions plus the megaflow mask.

``translate(bridge, key, side_effects=..., trace=...)`` walks the OpenFlow pipeline for flow key ``key`` from
table 0, as Open vSwitch's ``xlate_actions`` does, and returns an ``XlateResult``: the datapath actions, the
wildcards (``Wildcards``) of every key bit that was consulted, the packet-ins that ``controller`` actions
asked for, the MAC learning NORMAL did, the rules hit (for statistics) and the slow-path reason if any.  It is a
pure function of the bridge state and the key: the only state it changes is the MAC learning table and table
lookup counters, and only when ``side_effects`` is true (the revalidator re-runs translations with it false).

The working flow and the committed flow
---------------------------------------
Actions that change header fields (``set_field``, ``load``, ``move``, ``mod_dl_src``, ``dec_ttl``, VLAN
pushes and pops...) change the *working* key only.  Before anything that emits the packet (an output, NORMAL, a
userspace action) the differences between the working key and the *committed* key (what the datapath packet
looks like at that point) are turned into datapath actions, as Open vSwitch's ``commit_odp_actions`` does:
``set(eth(...))``, then VLAN ``pop_vlan``/``push_vlan``, then ``set(ipv4(...))``/``set(ipv6(...))``/
``set(arp(...))``, then ``set(tcp|udp|sctp(...))`` or ``set(icmp(...))``, each naming only the fields that
differ (ICMP: type and code together), masked with the megaflow bits of the field when those do not cover it.
An IP packet whose ``nw_proto`` is 0 has no L3 header the datapath could rewrite: its L3 changes are not
committed (and ``nw_proto`` joins the megaflow, as it was read).  ARP and ICMP rewrites put the flow in the
slow path (``XlateResult.slow_path == "action"``), as Open vSwitch does.

Megaflow bits
-------------
Every table lookup adds the bits the classifier examined.  On top of that: ``in_port`` and ``dl_type`` always
(the datapath matches them exactly), ``nw_frag`` for IP packets, the bits of every field an action writes or
reads (and the bits of its prerequisites), ``nw_ttl`` and ``nw_proto`` for ``dec_ttl``, ``nw_proto`` when an
L3 change meets ``nw_proto`` 0 or is an ARP rewrite, the whole VLAN TCI for ``push_vlan`` and for a committed
``pop_vlan``, and what NORMAL consults.  Each of these was checked against Open vSwitch's ``Megaflow:`` lines
(tests/ofproto/test_xlate.py).  Pipeline-only fields (registers, metadata, ...) are cleared from the final mask: the
datapath never sees them (they are 0 when a packet enters).

Limits (Open vSwitch's): a resubmit to the same or an earlier table deepens the translation, at most 64 deep
("over max translation depth 64", error ``Recursion too deep``); at most 4096 resubmits in all (that message
and error name are this module's, not checked against Open vSwitch).  A failed translation drops the packet (no
datapath actions).

Not done: select groups, ``learn``, conntrack, MPLS, tunnels, bundle/multipath, sampling,
meters, and the ``continuation``/pause form of ``controller``; such actions are listed in
``XlateResult.unsupported`` and otherwise ignored.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyvswitch.dpif import odp
from pyvswitch.flow import fields as F
from pyvswitch.flow.fields import Field
from pyvswitch.flow.match import (
    ETH_TYPE_ARP,
    ETH_TYPE_IP,
    ETH_TYPE_IPV6,
    ETH_TYPE_RARP,
    IPPROTO_SCTP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    VLAN_CFI,
    Wildcards,
    prereqs_ok_key,
)
from pyvswitch.flow.values import (
    OFPP_ALL,
    OFPP_CONTROLLER,
    OFPP_FLOOD,
    OFPP_IN_PORT,
    OFPP_LOCAL,
    OFPP_MAX,
    OFPP_NONE,
    OFPP_NORMAL,
    OFPP_TABLE,
)
from pyvswitch.ofproto.actions import model as A
from pyvswitch.ofproto.actions.fieldtext import format_field_value
from pyvswitch.ofproto.group import GroupType
from pyvswitch.ofproto.mac_learning import MacLearning, format_mac
from pyvswitch.ofproto.normal import PortVlanConfig, normal
from pyvswitch.ofproto.ofproto import OFPPC, OFPPS, OFProto
from pyvswitch.ofproto.rule import Rule

__all__ = [
    "MAX_DEPTH",
    "MAX_RESUBMITS",
    "PacketIn",
    "Trace",
    "TraceNode",
    "XlateBridge",
    "XlateResult",
    "translate",
]

MAX_DEPTH = 64
MAX_RESUBMITS = 4096

_G = F.BY_NAME
_IN_PORT = _G["in_port"]
_DL_TYPE = _G["dl_type"]
_DL_SRC = _G["dl_src"]
_DL_DST = _G["dl_dst"]
_VLAN_TCI = _G["vlan_tci"]
_NW_PROTO = _G["nw_proto"]
_NW_TTL = _G["nw_ttl"]
_NW_FRAG = _G["ip_frag"]
_METADATA = _G["metadata"]


def _smask(name: str) -> int:
    ofs, bits = F.STORAGE[name]
    return ((1 << bits) - 1) << ofs


def _sget(key: int, name: str) -> int:
    return F.storage_get(key, name)


def _sput(key: int, name: str, value: int) -> int:
    return F.storage_put(key, name, value)


# Fields that exist only in the OpenFlow pipeline, never in a datapath key.
_PIPELINE_ONLY = (_smask("metadata") | _smask("regs") | _smask("conj_id") | _smask("actset_output"))
_VLAN_TCI_M = _smask("vlan_tci")
_VLAN2_M = _smask("_vlan2_tci") | _smask("_vlan2_tpid")
_VID_MASK = 0x0FFF
_PCP_SHIFT = 13

# The datapath's set() attributes: kind -> [(attribute field name, key storage)], in print order.
_SET_ETH = [("src", "dl_src"), ("dst", "dl_dst")]
_SET_IPV4 = [("src", "nw_src"), ("dst", "nw_dst"), ("tos", "nw_tos"), ("ttl", "nw_ttl")]
_SET_IPV6 = [("src", "ipv6_src"), ("dst", "ipv6_dst"), ("label", "ipv6_label"), ("tclass", "nw_tos"),
             ("hlimit", "nw_ttl")]
_SET_ARP = [("sip", "nw_src"), ("tip", "nw_dst"), ("op", "nw_proto"), ("sha", "arp_sha"), ("tha", "arp_tha")]
_SET_L4 = [("src", "tp_src"), ("dst", "tp_dst")]
_L4_KINDS = {IPPROTO_TCP: "tcp", IPPROTO_UDP: "udp", IPPROTO_SCTP: "sctp"}
_ICMP_KINDS = {("ipv4", 1): "icmp", ("ipv6", 58): "icmpv6"}

_REASON_CODES = {name: i for i, name in enumerate(A.PACKET_IN_REASONS)}


# ---------------------------------------------------------------------------------------------------------------
# Trace.
@dataclass
class TraceNode:
    """One line of an ``ofproto/trace`` report and the lines under it.  ``kind`` is ``table`` (a lookup, or the
    execution of the action set), ``action``, ``detail`` (``-> ...``), ``warn`` (``>> ...``) or ``error``
    (``>>>> ... <<<<``)."""

    kind: str
    text: str
    children: list[TraceNode] = field(default_factory=list)


class Trace:
    """Where translation reports what it does, for ``ofproto/trace`` (``pyvswitch.ofproto.trace`` prints it).

    A lookup opens a ``table`` node in the current list and the rule's actions go under it; a resubmit's lookup
    goes into the list that holds the resubmit action, right after it, which is how Open vSwitch's report nests
    (the printer indents a node further when more lines follow it at its level)."""

    def __init__(self) -> None:
        self.nodes: list[TraceNode] = []
        self._cur: list[TraceNode] = self.nodes

    def add(self, kind: str, text: str) -> TraceNode:
        node = TraceNode(kind, text)
        self._cur.append(node)
        return node

    def enter(self, node: TraceNode) -> list[TraceNode]:
        old = self._cur
        self._cur = node.children
        return old

    def restore(self, saved: list[TraceNode]) -> None:
        self._cur = saved

    @property
    def current(self) -> list[TraceNode]:
        return self._cur


# ---------------------------------------------------------------------------------------------------------------
# Inputs and results.
_recirc_ids = itertools.count(1)


@dataclass
class XlateBridge:
    """What translation reads of a bridge.

    ``dp_ports`` maps OpenFlow ports to datapath ports, in the bridge's port order (the order ``ALL`` and
    ``FLOOD`` emit in; Open vSwitch lists LOCAL first).  ``vlan_ports`` is NORMAL's view of the ports (same
    order); ``mac_table`` the bridge's MAC learning table.  ``next_recirc_id`` numbers the frozen states that
    controller actions refer to."""

    ofproto: OFProto
    dp_ports: Mapping[int, int]
    vlan_ports: Mapping[int, PortVlanConfig] = field(default_factory=dict)
    mac_table: MacLearning = field(default_factory=MacLearning)
    flood_vlans: frozenset[int] = frozenset()
    forward_bpdu: bool = False
    next_recirc_id: Callable[[], int] = field(default=lambda: next(_recirc_ids))

    @property
    def name(self) -> str:
        return self.ofproto.name

    def port_name(self, port: int) -> str:
        p = self.ofproto.ports.get(port)
        if p is not None:
            return p.name
        v = self.vlan_ports.get(port)
        return v.name if v is not None else str(port)


@dataclass(frozen=True)
class PacketIn:
    """A packet-in a ``controller`` action (or a TTL exception) asked for."""

    reason: str
    max_len: int
    controller_id: int
    userdata: bytes
    table_id: int
    cookie: int
    key: int


@dataclass
class XlateResult:
    actions: list[odp.Action]
    wc: Wildcards
    final_key: int
    packet_ins: list[PacketIn] = field(default_factory=list)
    learned: list[tuple[int, int, int]] = field(default_factory=list)
    rules_hit: list[Rule] = field(default_factory=list)
    #: Why the flow must stay in the userspace slow path: ``controller`` (it sends packet-ins) or ``action`` (a
    #: datapath action the datapath cannot run, such as ``set(arp(...))``); None for a fast-path flow.
    slow_path: str | None = None
    #: A translation error (``Recursion too deep``, ``Too many resubmits``): ``actions`` is then empty.
    error: str | None = None
    unsupported: list[str] = field(default_factory=list)


class _Abort(Exception):
    """A translation error (recursion too deep, too many resubmits): the packet is dropped."""


# ---------------------------------------------------------------------------------------------------------------
# The translation context.
class _Ctx:
    def __init__(self, bridge: XlateBridge, key: int, side_effects: bool, trace: Trace | None,
                 now: float) -> None:
        self.bridge = bridge
        self.key = key
        self.base = key
        self.wc = Wildcards()
        self.actions: list[odp.Action] = []
        self.side_effects = side_effects
        self.trace = trace
        self.now = now
        self.depth = 0
        self.resubmits = 0
        self.table_id = 0
        self.rule: Rule | None = None
        self.exit = False
        self.action_set: list[A.Action] = []
        #: Table 0's trace node: the action set's execution is reported under it.
        self.first_table: TraceNode | None = None
        #: The input port of the packet: outputs compare with it, whatever resubmits pretend.
        self.orig_in_port = F.get(key, _IN_PORT)
        self.res = XlateResult([], self.wc, key)

    # -- reporting ----------------------------------------------------------------------------------------------
    def report(self, kind: str, text: str) -> TraceNode | None:
        if self.trace is None:
            return None
        return self.trace.add(kind, text)

    # -- key access ---------------------------------------------------------------------------------------------
    def get(self, f: Field) -> int:
        return F.get(self.key, f)

    def dl_type(self) -> int:
        return F.get(self.key, _DL_TYPE)

    def is_ip(self) -> bool:
        return self.dl_type() in (ETH_TYPE_IP, ETH_TYPE_IPV6)

    def in_port(self) -> int:
        return self.orig_in_port

    # -- commit -------------------------------------------------------------------------------------------------
    def _commit_set(self, kind: str, attrs: list[tuple[str, str]]) -> bool:
        values: dict[str, int] = {}
        masks: dict[str, int] = {}
        partial = False
        for name, slot in attrs:
            new, old = _sget(self.key, slot), _sget(self.base, slot)
            if new == old:
                continue
            full = (1 << F.STORAGE[slot][1]) - 1
            m = (self.wc.mask >> F.STORAGE[slot][0]) & full or full
            values[name] = new & m
            masks[name] = m
            partial |= m != full
        if not values:
            return False
        self.actions.append(odp.SetField.of(kind, values, masks if partial else None))
        for _, slot in attrs:
            self.base = _sput(self.base, slot, _sget(self.key, slot))
        return True

    def _commit_icmp(self, kind: str) -> None:
        """``set(icmp(type=T,code=C))``: both, whole.  Open vSwitch handles such a flow in the userspace slow path
        (observed with its dummy datapath: "Uses action(s) not supported by datapath"), and so does this."""
        t, c = _sget(self.key, "tp_src") & 0xFF, _sget(self.key, "tp_dst") & 0xFF
        self.wc.add((0xFF << F.STORAGE["tp_src"][0]) | (0xFF << F.STORAGE["tp_dst"][0]))
        self.actions.append(odp.SetField.of(kind, {"type": t, "code": c}))
        self.base = _sput(_sput(self.base, "tp_src", _sget(self.key, "tp_src")), "tp_dst", _sget(self.key, "tp_dst"))
        self.res.slow_path = "action"

    def _differs(self, attrs: list[tuple[str, str]]) -> bool:
        return any(_sget(self.key, slot) != _sget(self.base, slot) for _, slot in attrs)

    def commit(self) -> None:
        """Emit the datapath actions that make the packet look like the working key."""
        self._commit_set("eth", _SET_ETH)
        self._commit_vlan()
        dl_type = self.dl_type()
        l3 = {ETH_TYPE_IP: ("ipv4", _SET_IPV4), ETH_TYPE_IPV6: ("ipv6", _SET_IPV6),
              ETH_TYPE_ARP: ("arp", _SET_ARP), ETH_TYPE_RARP: ("arp", _SET_ARP)}.get(dl_type)
        if l3 is None:
            return
        kind, attrs = l3
        if self._differs(attrs):
            if not _sget(self.key, "nw_proto"):
                # No L3 header to rewrite (Open vSwitch reads nw_proto 0 so); the megaflow depends on it.
                self.wc.add(_NW_PROTO.key_mask)
            elif kind == "arp":
                # The ARP opcode is part of what set(arp(...)) is computed from.  Datapaths cannot rewrite ARP
                # fields, though: the flow goes to the userspace slow path.
                self.wc.add(_NW_PROTO.key_mask)
                if self._commit_set(kind, attrs):
                    self.res.slow_path = "action"
            else:
                self._commit_set(kind, attrs)
        if kind in ("ipv4", "ipv6"):
            proto = _sget(self.key, "nw_proto")
            l4 = _L4_KINDS.get(proto)
            if l4 is not None and self._differs(_SET_L4):
                self._commit_set(l4, _SET_L4)
            elif (kind, proto) in _ICMP_KINDS and self._differs(_SET_L4):
                self._commit_icmp(_ICMP_KINDS[kind, proto])

    def _commit_vlan(self) -> None:
        old = _tags(self.base)
        new = _tags(self.key)
        if old == new:
            return
        # Tags the two share at the bottom of the stack stay; the others are popped and pushed.
        while old and new and old[-1] == new[-1]:
            old.pop()
            new.pop()
        for _ in old:
            self.actions.append(odp.PopVlan())
        if old:
            self.wc.add(_VLAN_TCI_M)
        for tci, tpid in reversed(new):
            self.actions.append(odp.PushVlan(vid=tci & _VID_MASK, pcp=tci >> _PCP_SHIFT, tpid=tpid or 0x8100))
        self.base = (self.base & ~(_VLAN_TCI_M | _VLAN2_M | _smask("_vlan_tpid"))) | (
            self.key & (_VLAN_TCI_M | _VLAN2_M | _smask("_vlan_tpid")))

    # -- outputs ------------------------------------------------------------------------------------------------
    def output(self, port: int, max_len: int = 0) -> None:
        if port == OFPP_IN_PORT:
            self._output_port(self.in_port(), allow_in_port=True)
        elif port == OFPP_NORMAL:
            self.xlate_normal()
        elif port in (OFPP_ALL, OFPP_FLOOD):
            self.commit()
            in_port = self.in_port()
            for p, dp in self.bridge.dp_ports.items():
                if p == in_port:
                    continue
                ofp = self.bridge.ofproto.ports.get(p)
                if ofp is not None and port == OFPP_FLOOD and ofp.config & OFPPC.NO_FLOOD:
                    continue
                if ofp is not None and ofp.config & OFPPC.NO_FWD:
                    continue
                self.actions.append(odp.Output(dp))
        elif port == OFPP_CONTROLLER:
            self.controller("action", max_len or 0xFFFF, 0, b"")
        elif port in (OFPP_NONE, OFPP_TABLE):
            return
        elif port == OFPP_LOCAL or port < OFPP_MAX:
            self._output_port(port, allow_in_port=False)

    def _output_port(self, port: int, allow_in_port: bool) -> None:
        if port == self.in_port() and not allow_in_port:
            self.report("warn", "skipping output to input port")
            return
        dp = self.bridge.dp_ports.get(port)
        if dp is None:
            self.report("warn", "Nonexistent output port")
            return
        ofp = self.bridge.ofproto.ports.get(port)
        if ofp is not None and ofp.config & OFPPC.NO_FWD:
            self.report("warn", "OFPPC_NO_FWD set, skipping output")
            return
        self.commit()
        self.actions.append(odp.Output(dp))

    def controller(self, reason: str, max_len: int, controller_id: int, userdata: bytes) -> None:
        self.commit()
        cookie = self.rule.cookie if self.rule is not None else 0
        self.res.packet_ins.append(PacketIn(reason, max_len, controller_id, userdata, self.table_id, cookie,
                                            self.key))
        code = _REASON_CODES.get(reason, 1)
        ck = f"{cookie:#x}" if cookie else "0"
        text = (f"controller(reason={code},dont_send={0 if self.side_effects else 1},continuation=0,"
                f"recirc_id={self.bridge.next_recirc_id()},rule_cookie={ck},controller_id={controller_id},"
                f"max_len={max_len})")
        self.actions.append(odp.Userspace(pid=0, userdata=text))
        self.res.slow_path = self.res.slow_path or "controller"

    def xlate_normal(self) -> None:
        self.commit()
        b = self.bridge
        res = normal(b.vlan_ports, self.key, self.in_port(), b.mac_table, self.wc, learn=self.side_effects,
                     now=self.now, flood_vlans=b.flood_vlans, forward_bpdu=b.forward_bpdu)
        if res.learned is not None:
            self.res.learned.append(res.learned)
            if res.learn_changed:
                vlan, mac, port = res.learned
                self.report("detail", f"learned that {format_mac(mac)} is on port {b.port_name(port)} "
                                      f"in VLAN {vlan}")
        if res.drop_reason is not None:
            self.report("detail", f"{res.drop_reason}, dropping")
        elif res.flood:
            self.report("detail", "no learned MAC for destination, flooding")
        else:
            self.report("detail", "forwarding to learned port")
        tci = _sget(self.base, "vlan_tci")
        for a in res.actions:
            if isinstance(a, odp.Output):
                dp = b.dp_ports.get(a.port)
                if dp is not None:
                    self.actions.append(odp.Output(dp))
                continue
            if isinstance(a, odp.PopVlan):
                tci = 0
            elif isinstance(a, odp.PushVlan):
                tci = a.vid | a.pcp << _PCP_SHIFT | VLAN_CFI
            self.actions.append(a)
        # NORMAL leaves the datapath packet with the tag of its last output.
        self.base = _sput(self.base, "vlan_tci", tci)

    # -- tables -------------------------------------------------------------------------------------------------
    def lookup_and_run(self, table_id: int, *, in_port: int | None = None, deepens: bool = False) -> None:
        """Look ``table_id`` up (with ``in_port`` in the key if given) and run the rule's actions.  ``deepens``:
        the lookup counts against the depth limit (a resubmit to the same or an earlier table)."""
        if deepens and self.depth >= MAX_DEPTH:
            self.report("error", f"over max translation depth {MAX_DEPTH}")
            self.res.error = "Recursion too deep"
            raise _Abort
        self.resubmits += 1
        if self.resubmits > MAX_RESUBMITS:
            self.report("error", f"over {MAX_RESUBMITS} resubmit actions")
            self.res.error = "Too many resubmits"
            raise _Abort
        outer_in_port = F.get(self.key, _IN_PORT)
        if in_port is not None:
            self.key = F.put(self.key, _IN_PORT, in_port)
        rule = self.bridge.ofproto.tables.lookup(table_id, self.key, self.wc, count=self.side_effects)
        old_rule, old_table = self.rule, self.table_id
        self.depth += deepens
        self.table_id = table_id
        if rule is None:
            node = self.report("table", f"{table_id:2d}. No match.")
            saved = self.trace.enter(node) if self.trace is not None and node is not None else None
            self.report("action", "drop")
        else:
            self.res.rules_hit.append(rule)
            node = self.report("table", f"{table_id:2d}. {_rule_text(rule)}")
            saved = self.trace.enter(node) if self.trace is not None and node is not None else None
            self.rule = rule
            if self.first_table is None:
                self.first_table = node
            try:
                if rule.actions:
                    self.do_actions(rule.actions)
                else:
                    self.report("action", "drop")
            finally:
                if saved is not None and self.trace is not None:
                    self.trace.restore(saved)
                    saved = None
        if saved is not None and self.trace is not None:
            self.trace.restore(saved)
        self.rule, self.table_id = old_rule, old_table
        self.depth -= deepens
        if in_port is not None:
            self.key = F.put(self.key, _IN_PORT, outer_in_port)

    # -- actions ------------------------------------------------------------------------------------------------
    def do_actions(self, actions: Sequence[A.Action]) -> None:
        for a in actions:
            if self.exit:
                return
            self.report("action", a.fmt())
            if self.do_action(a) is False:
                return

    def do_action(self, a: A.Action) -> bool | None:
        """Translate one action; False stops the current action list."""
        if isinstance(a, A.Output):
            self.output(a.port, a.max_len)
        elif isinstance(a, A.Controller):
            self.controller(a.reason, a.max_len, a.controller_id, a.userdata)
        elif isinstance(a, A.Enqueue):
            self.output(a.port)
        elif isinstance(a, A.OutputReg):
            self.wc.add(a.src.key_mask)
            self.output(a.src.read(self.key))
        elif isinstance(a, A.SetField):
            self.set_field(a.field, a.value, a.effective_mask)
        elif isinstance(a, A.RegMove):
            self.reg_move(a)
        elif isinstance(a, A.SetEthSrc):
            self.set_field(_DL_SRC, a.mac, None)
        elif isinstance(a, A.SetEthDst):
            self.set_field(_DL_DST, a.mac, None)
        elif isinstance(a, A.SetIpv4Src):
            self.set_field(_G["nw_src"], a.ip, None)
        elif isinstance(a, A.SetIpv4Dst):
            self.set_field(_G["nw_dst"], a.ip, None)
        elif isinstance(a, A.SetIpDscp):
            self.set_field(_G["nw_tos"], a.tos, None)
        elif isinstance(a, A.SetIpEcn):
            self.set_field(_G["nw_ecn"], a.ecn, None)
        elif isinstance(a, A.SetIpTtl):
            self.set_field(_NW_TTL, a.ttl, None)
        elif isinstance(a, (A.SetL4SrcPort, A.SetL4DstPort)):
            self.set_l4_port(a)
        elif isinstance(a, A.DecTtl):
            return self.dec_ttl(a)
        elif isinstance(a, A.SetVlanVid):
            self.set_vlan(a.vid, _VID_MASK, a.push_vlan_if_needed)
        elif isinstance(a, A.SetVlanPcp):
            self.set_vlan(a.pcp << _PCP_SHIFT, 0x7 << _PCP_SHIFT, a.push_vlan_if_needed)
        elif isinstance(a, A.StripVlan):
            self.pop_vlan()
        elif isinstance(a, A.PushVlan):
            self.push_vlan(a.ethertype)
        elif isinstance(a, A.Resubmit):
            self.resubmit(a)
        elif isinstance(a, A.GotoTable):
            self.lookup_and_run(a.table_id)
        elif isinstance(a, A.WriteMetadata):
            md = F.get(self.key, _METADATA)
            self.key = F.put(self.key, _METADATA, (md & ~a.mask) | (a.metadata & a.mask))
        elif isinstance(a, A.Clone):
            # An exit inside a clone ends the whole translation, as in Open vSwitch.
            saved = self.key
            self.do_actions(a.actions)
            self.key = saved
        elif isinstance(a, A.Exit):
            self.exit = True
            return False
        elif isinstance(a, A.Note):
            pass
        elif isinstance(a, A.WriteActions):
            self.write_actions(a.actions)
        elif isinstance(a, A.ClearActions):
            self.report("detail", "action set was: " + A.format_actions(_set_order(self.action_set))
                        if self.action_set else "action set was empty")
            self.action_set = []
            self._note_actset_output()
        elif isinstance(a, A.Group):
            self.group(a.group_id)
        elif isinstance(a, (A.Meter, A.SetQueue, A.PopQueue, A.FinTimeout, A.Conjunction)):
            pass
        else:
            self.res.unsupported.append(a.fmt())
        return None

    def set_field(self, f: Field, value: int, mask: int | None) -> None:
        ok, bits = prereqs_ok_key(f.prereq, self.key)
        self.wc.add(bits)
        if not ok:
            return
        m = f.value_mask if mask is None else mask & f.value_mask
        name = f.name
        if name in ("vlan_vid", "dl_vlan", "vlan_pcp", "dl_vlan_pcp"):
            # Setting the VID or PCP makes a tag present (Open vSwitch's flow_set_vlan_vid/pcp).
            tci = _sget(self.key, "vlan_tci")
            km = (m << (f.ofs - _VLAN_TCI.ofs))
            nv = (value << (f.ofs - _VLAN_TCI.ofs)) & km
            self.key = _sput(self.key, "vlan_tci", (tci & ~km) | nv | VLAN_CFI)
            self.wc.add((km | VLAN_CFI) << _VLAN_TCI.ofs)
            return
        km = m << f.ofs
        self.key = (self.key & ~km) | ((value << f.ofs) & km)
        self.wc.add(km)

    def reg_move(self, a: A.RegMove) -> None:
        for sf in (a.src, a.dst):
            ok, bits = prereqs_ok_key(sf.field.prereq, self.key)
            self.wc.add(bits)
            if not ok:
                return
        v = a.src.read(self.key)
        self.wc.add(a.src.key_mask | a.dst.key_mask)
        self.key = a.dst.write(self.key, v)
        dst = a.dst
        shown = dst.read(self.key)
        text = format_field_value(dst.field, shown) if dst.is_whole else f"{shown:#x}"
        self.report("detail", f"{dst} is now {text}")

    def set_l4_port(self, a: A.SetL4SrcPort | A.SetL4DstPort) -> None:
        """``mod_tp_src``/``mod_tp_dst``: the port of TCP, UDP and SCTP; the type or code of ICMP (whose bits the
        commit then reads)."""
        self.wc.add(_NW_PROTO.key_mask | _NW_FRAG.key_mask)
        if not self.is_ip():
            return
        proto = _sget(self.key, "nw_proto")
        src = isinstance(a, A.SetL4SrcPort)
        if proto in _L4_KINDS:
            f = _G["tp_src"] if src else _G["tp_dst"]
            self.key = F.put(self.key, f, a.port)
            self.wc.add(f.key_mask)
        elif proto in (1, 58):
            slot = "tp_src" if src else "tp_dst"
            self.key = _sput(self.key, slot, a.port & 0xFF)

    def dec_ttl(self, a: A.DecTtl) -> bool | None:
        if not self.is_ip():
            return None
        self.wc.add(_NW_TTL.key_mask | _NW_PROTO.key_mask)
        ttl = F.get(self.key, _NW_TTL)
        if ttl > 1:
            self.key = F.put(self.key, _NW_TTL, ttl - 1)
            return None
        v = "IPv4" if self.dl_type() == ETH_TYPE_IP else "IPv6"
        self.report("warn", f"{v} decrement TTL exception")
        for cid in (0,) if a.ids is None else a.ids:
            self.controller("invalid_ttl", 0xFFFF, cid, b"")
        return False

    def set_vlan(self, bits: int, mask: int, push_if_needed: bool) -> None:
        tci = _sget(self.key, "vlan_tci")
        self.wc.add((mask | VLAN_CFI) << _VLAN_TCI.ofs)
        if not tci & VLAN_CFI:
            if not push_if_needed:
                return
            self.key = _push_tag(self.key, 0x8100)
            tci = VLAN_CFI
        self.key = _sput(self.key, "vlan_tci", (tci & ~mask) | (bits & mask) | VLAN_CFI)

    def pop_vlan(self) -> None:
        self.wc.add(VLAN_CFI << _VLAN_TCI.ofs)
        if not _sget(self.key, "vlan_tci") & VLAN_CFI:
            return
        k = _sput(self.key, "vlan_tci", _sget(self.key, "_vlan2_tci"))
        k = _sput(k, "_vlan_tpid", _sget(self.key, "_vlan2_tpid"))
        self.key = _sput(_sput(k, "_vlan2_tci", 0), "_vlan2_tpid", 0)

    def push_vlan(self, ethertype: int) -> None:
        self.wc.add(_VLAN_TCI_M)
        self.key = _push_tag(self.key, ethertype)

    def resubmit(self, a: A.Resubmit) -> None:
        table = self.table_id if a.table_id == 255 else a.table_id
        in_port = None if a.in_port == OFPP_IN_PORT else a.in_port
        self.lookup_and_run(table, in_port=in_port, deepens=table <= self.table_id)

    def write_actions(self, actions: Iterable[A.Action]) -> None:
        for a in actions:
            slot = _set_slot(a)
            self.action_set = [b for b in self.action_set if _set_slot(b) != slot] + [a]
        self._note_actset_output()
        self.report("detail", "action set is: " + A.format_actions(_set_order(self.action_set)))

    def _note_actset_output(self) -> None:
        """Keep the ``actset_output`` field equal to the action set's output port (0 when it has none)."""
        port = 0
        for a in self.action_set:
            if isinstance(a, A.Output):
                port = a.port
        self.key = _sput(self.key, "actset_output", port)

    def _port_live(self, port: int) -> bool:
        p = self.bridge.ofproto.ports.get(port)
        return p is not None and not p.config & OFPPC.PORT_DOWN and not p.state & OFPPS.LINK_DOWN

    def _bucket_dead(self, b: Any, depth: int = 0) -> str | None:
        """Why a fast-failover bucket is not live (None when it is): its watched port is down or missing, or its
        watched group has no live bucket."""
        if b.watch_port != OFPP_NONE and not self._port_live(b.watch_port):
            return f"port {b.watch_port}"
        if b.watch_group != 0xFFFFFFFF:
            g = self.bridge.ofproto.groups.get(b.watch_group)
            if g is None or depth > 32 or all(self._bucket_dead(x, depth + 1) is not None for x in g.buckets):
                return f"group {b.watch_group}"
        return None

    def group(self, group_id: int) -> None:
        g = self.bridge.ofproto.groups.get(group_id)
        if g is None:
            self.report("warn", f"group {group_id} does not exist")
            return
        if g.type == GroupType.ALL:
            buckets = list(enumerate(g.buckets))
        elif g.type == GroupType.INDIRECT:
            buckets = list(enumerate(g.buckets[:1]))
        elif g.type == GroupType.FF:
            buckets = []
            for i, b in enumerate(g.buckets):
                why = self._bucket_dead(b)
                bid = _bucket_id(b, i)
                if why is None:
                    self.report("detail", f"using bucket {bid}")
                    buckets = [(i, b)]
                    break
                self.report("detail", f"bucket {bid}: not live due to {why}")
            else:
                self.report("detail", "no live bucket")
        else:
            self.res.unsupported.append(f"group:{group_id}")
            return
        for i, b in buckets:
            node = self.report("action", f"bucket {_bucket_id(b, i)}")
            saved_trace = self.trace.enter(node) if self.trace is not None and node is not None else None
            saved = self.key
            self.do_actions(b.actions)
            self.key = saved
            self.exit = False
            if saved_trace is not None and self.trace is not None:
                self.trace.restore(saved_trace)


def _bucket_id(b: Any, index: int) -> int:
    return int(b.bucket_id) if b.bucket_id < 0xFFFFFF00 else index


def _push_tag(key: int, tpid: int) -> int:
    """``key`` with a new outer tag (VID 0, PCP 0) pushed; the old outer tag becomes the inner one."""
    tci = _sget(key, "vlan_tci")
    old_tpid = _sget(key, "_vlan_tpid")
    key = _sput(key, "_vlan2_tci", tci)
    key = _sput(key, "_vlan2_tpid", old_tpid if tci & VLAN_CFI else 0)
    key = _sput(key, "vlan_tci", VLAN_CFI)
    return _sput(key, "_vlan_tpid", tpid)


def _tags(key: int) -> list[tuple[int, int]]:
    """The VLAN tags of ``key`` as (TCI, TPID), outermost first."""
    out = []
    for slot, tslot in (("vlan_tci", "_vlan_tpid"), ("_vlan2_tci", "_vlan2_tpid")):
        tci = _sget(key, slot)
        if not tci & VLAN_CFI:
            break
        out.append((tci, _sget(key, tslot) or 0x8100))
    return out


def _set_slot(a: A.Action) -> Any:
    """The action-set slot ``a`` occupies: one action per kind, one set per field."""
    if isinstance(a, A.SetField):
        return ("set_field", a.field.name)
    return type(a).__name__


def _set_order(actions: list[A.Action]) -> list[A.Action]:
    """The action set in the order OpenFlow executes it: pops, pushes, TTL changes, sets, group or output."""
    def rank(a: A.Action) -> int:
        if isinstance(a, A.StripVlan):
            return 0
        if isinstance(a, (A.PushMpls, A.PopMpls)):
            return 1
        if isinstance(a, A.PushVlan):
            return 2
        if isinstance(a, (A.DecTtl, A.DecMplsTtl)):
            return 3
        if isinstance(a, (A.Group, A.Output, A.Controller, A.Enqueue, A.OutputReg)):
            return 5
        return 4
    out = sorted(actions, key=rank)
    if any(isinstance(a, A.Group) for a in out):
        out = [a for a in out if not isinstance(a, (A.Output, A.Controller, A.Enqueue, A.OutputReg))]
    return out


def _rule_text(rule: Rule) -> str:
    from pyvswitch.flow.match_text import format_match

    m = format_match(rule.match)
    parts = [m] if m else []
    parts.append(f"priority {rule.priority}")
    if rule.cookie:
        parts.append(f"cookie {rule.cookie:#x}")
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------------------------------
def translate(bridge: XlateBridge, key: int, *, packet: bytes | None = None, side_effects: bool,
              trace: Trace | None = None, now: float | None = None) -> XlateResult:
    """Translate the packet with flow key ``key`` through ``bridge``: see the module documentation.

    ``packet`` (the packet's bytes) is not needed by the supported actions and is accepted for the callers
    that have it.  ``now`` is the time for MAC learning (the bridge's clock by default)."""
    del packet
    ctx = _Ctx(bridge, key, side_effects, trace, bridge.ofproto.clock.now() if now is None else now)
    ctx.wc.add(_IN_PORT.key_mask | _DL_TYPE.key_mask)
    if ctx.is_ip():
        ctx.wc.add(_NW_FRAG.key_mask)
    try:
        ctx.lookup_and_run(0)
        if ctx.action_set:
            saved = None
            if trace is not None and ctx.first_table is not None:
                node = TraceNode("table", "--. Executing action set:")
                ctx.first_table.children.append(node)
                saved = trace.enter(node)
            ctx.exit = False
            ctx.do_actions(_set_order(ctx.action_set))
            if saved is not None and trace is not None:
                trace.restore(saved)
    except _Abort:
        ctx.actions = []
    ctx.wc.mask &= ~_PIPELINE_ONLY
    res = ctx.res
    res.actions = ctx.actions
    res.final_key = ctx.key
    return res
