"""Translation (xlate): what one bridge does with a packet, as datapath actions plus the megaflow mask.

``translate(bridge, key, side_effects=..., trace=...)`` walks the OpenFlow pipeline for flow key ``key`` from
table 0, as Open vSwitch's ``xlate_actions`` does, and returns an ``XlateResult``: the datapath actions, the
wildcards (``Wildcards``) of every key bit that was consulted, the packet-ins that ``controller`` actions
asked for, the MAC learning NORMAL did, the rules hit (for statistics) and the slow-path reason if any.  It is a
pure function of the bridge state and the key: the only state it changes is the MAC learning table, table
lookup counters and what ``learn``/``fin_timeout`` change, and only when ``side_effects`` is true (the
revalidator re-runs translations with it false).  It does allocate recirculation ids (``bridge.recirc``) either
way; they are allocated by value, so a re-translation finds the same ones.

The working flow and the committed flow
---------------------------------------
Actions that change header fields (``set_field``, ``load``, ``move``, ``mod_dl_src``, ``dec_ttl``, VLAN
pushes and pops...) change the *working* key only.  Before anything that emits the packet (an output, NORMAL, a
userspace action) the differences between the working key and the *committed* key (what the datapath packet
looks like at that point) are turned into datapath actions, as Open vSwitch's ``commit_odp_actions`` does:
``set(eth(...))``, a ``pop_mpls`` that uncovers the L3 header, ``set(ipv4(...))``/``set(ipv6(...))``/
``set(arp(...))``, then ``set(tcp|udp|sctp(...))`` or ``set(icmp(...))``, then ``push_mpls``/``set(mpls(...))``,
then VLAN ``pop_vlan``/``push_vlan``, then ``set(skb_priority(...))``; each set names only the fields that
differ (ICMP: type and code together), masked with the megaflow bits of the field when those do not cover it.
An IP packet whose ``nw_proto`` is 0 has no L3 header the datapath could rewrite: its L3 changes are not
committed (and ``nw_proto`` joins the megaflow, as it was read).  ARP and ICMP rewrites put the flow in the
slow path (``XlateResult.slow_path == "action"``), as Open vSwitch does.

Megaflow bits
-------------
Every table lookup adds the bits the classifier examined.  On top of that: ``in_port``, ``dl_type`` and
``recirc_id`` always (the datapath matches them exactly), ``nw_frag`` for IP packets, the bits of every field
an action writes or reads (and the bits of its prerequisites), ``nw_ttl`` and ``nw_proto`` for ``dec_ttl``,
``nw_proto`` when an L3 change meets ``nw_proto`` 0, is an ARP rewrite or is committed as a whole (unmasked)
``set(ipv4|ipv6(...))``, the whole VLAN TCI for ``push_vlan`` and for a committed ``pop_vlan``,
``skb_priority`` when a queue changes it, the MPLS label stack bits MPLS actions read, and what NORMAL consults.
Each of these was checked against Open vSwitch's ``Megaflow:`` lines (tests/ofproto/test_xlate.py,
tests/ofproto/test_xlate_more.py).  Pipeline-only fields (registers, metadata, ...) are cleared from the final
mask: the datapath never sees them (they are 0 when a packet enters), and so are MPLS bits when the packet did
not arrive with MPLS.

Limits (Open vSwitch's): a resubmit to the same or an earlier table (and an output to a patch port) deepens
the translation; any lookup at depth 64 fails it ("over max translation depth 64", error ``Recursion too
deep``); at most 4096 resubmits in all (that message and error name are this module's, not checked against
Open vSwitch).  A failed translation drops the packet (no
datapath actions).

Recirculation and frozen states
-------------------------------
Some actions need the datapath to act before translation can go on.  Translation then *freezes* its state into
``bridge.recirc`` (``pyvswitch.ofproto.recirc.RecircTable``, shared by the bridges of a datapath), which gives
an id, allocated by value so that translating the same key again gives the same actions:

* ``ct(...,table=N)`` emits ``ct(...)`` then ``recirc(ID)``; the state resumes with a lookup in table N.  The
  translation itself goes on after the ``ct`` (the recirculation is a fork), with the conntrack fields cleared.
  ``ct`` without a table only emits ``ct(...)``.  ``exec()`` sets of ``ct_mark``/``ct_label`` become the
  datapath action's ``mark=``/``label=``, ``nat`` its ``nat(...)``, ``alg=`` its ``helper=``; a zone from a
  field is read from the key.  ``ct_clear`` emits ``ct_clear`` only after a ``ct`` (in this pass or the one it
  resumes).
* a ``select`` group with the default selection method (dp_hash) emits ``hash(sym_l4(0)),recirc(ID)`` when the
  key has no ``dp_hash`` yet, and the state holds the actions still to run (the group action and what follows
  it at every nesting level, with ``unroll_xlate`` markers that restore each level's table and cookie).  On
  resume the bucket is the group's hash-map slot for ``dp_hash`` (16 slots or more, shared by weight with
  Webster's method) and ``dp_hash`` joins the megaflow with the slot mask.  ``selection_method=hash`` picks the
  bucket with the highest ``hash(bucket id, hash of the fields) & 0xffff * weight`` directly.
* ``controller`` emits ``userspace(pid=0,controller(reason=R,dont_send=D,continuation=0,recirc_id=ID,...))``;
  the state holds the packet-in (``FrozenState.packet_in``: table, cookie, user data and the key with its
  pipeline fields); ``packet_in_from_cookie(table, userdata)`` gives the exact ``PacketIn`` for a cookie (the
  reason, max_len and controller id come from the cookie: controller actions differing only in those share a
  state, as in Open vSwitch).  ``controller(pause)`` freezes the rest of the translation with its packet-in and
  emits the cookie with ``continuation=1`` (nothing at all when ``dont_send``, as Open vSwitch's trace).
  ``dont_send`` is 1 only for a trace without side effects (``translate(dont_send=...)``).

A key whose ``recirc_id`` is not 0 resumes the state of that id: in the state's bridge (``bridge.bridges``),
with the state's in_port, metadata and registers and the datapath's header, ``ct_*`` and ``dp_hash`` fields.

Patch ports
-----------
An output to a port in ``bridge.patch_peers`` continues in the peer bridge (``bridge.bridges(name)``): table 0
with ``in_port`` the peer port, metadata, registers, tunnel and conntrack fields cleared and an empty action
set; the trace shows a ``bridge("NAME")`` section.  Afterwards the flow is the first bridge's again, but what
the peer committed to the packet stays committed (the next output re-commits differences).  One megaflow covers
both bridges.  A miss in the peer's table 0 is reported as Open vSwitch does (its hidden rule ``reg0=0x2``).

Table misses
------------
A lookup that finds no rule drops the packet, or, for the first lookup, ``goto_table`` and a patch peer's first
lookup when ``bridge.miss_to_controller`` is set, sends a packet-in (cookie reason 7, ``PacketIn.reason``
``no_match``), as Open vSwitch's implicit table-miss rule does (a ``no_packet_in`` input port changes nothing
here: Open vSwitch checks it when it sends the packet-in).  An output
to the controller from a table-miss flow (priority 0, matching everything) has cookie reason 6 (explicit miss).

Other actions
-------------
MPLS pushes and pops are committed lazily like the other header changes (``push_mpls(...)`` carrying any label
changes made after the push, ``pop_mpls``, ``set(mpls(...))``); ``dec_mpls_ttl`` at TTL 1 sends an
``invalid_ttl`` packet-in.  ``set_queue``/``enqueue`` set ``skb_priority`` to the queue number (the dummy and
netdev datapaths' mapping), committed as ``set(skb_priority(N))``.  ``output(port=P,max_len=N)`` emits
``trunc(N)`` before the output.  ``meter:M`` emits ``meter(P)`` with ``P = ofproto.meters.provider_id(M)``
(nothing for a missing meter).  ``check_pkt_larger`` emits ``check_pkt_len(size=N,gt(...),le(...))`` with the
rest of the action list translated once per branch, then stops.  ``sample`` emits nothing (no IPFIX collector
can be configured, and Open vSwitch then emits nothing).  ``learn``, ``fin_timeout``, ``multipath`` and
``bundle``/``bundle_load`` call ``pyvswitch.ofproto.learn`` and ``pyvswitch.ofproto.multipath``;
``XlateResult.learns`` lists the learns run, for the revalidator.

Tunnels
-------
``bridge.tunnels`` maps the bridge's tunnel ports (OpenFlow port) to their
``pyvswitch.ofproto.tunnel.TunnelPort``; ``bridge.tnl`` is the daemon's ``TnlContext`` (router, neighbour cache,
listening ports).  As Open vSwitch's userspace datapath tunnels natively:

* An output to a tunnel port computes the outer headers (``tunnel.send_params``: remote and local address,
  key, TOS/TTL with ``inherit`` and the ECN bits from the inner header, the flags); a remote that is the outer
  destination the packet was received with (or no remote, for a packet that was not) is this host, and the
  output is dropped (``Not tunneling to our own address``, as in Open vSwitch).  Otherwise it routes the remote
  address (``-> tunneling to NEXTHOP via DEV``), which must leave through the port named like a bridge of this
  datapath
  (that bridge's own port: ``native tunnel routing failed`` otherwise), finds the next hop's MAC in the neighbour
  cache of that bridge (a miss reports ``neighbor cache miss for IP on bridge BR, sending ARP request`` (ND for
  IPv6), queues the request in ``XlateResult.tnl_requests`` for the caller to send through that bridge (unless
  tracing without side effects), and drops the packet; a hit is listed in ``XlateResult.tnl_neighs``, whose
  entries the megaflow's traffic keeps alive, as Open vSwitch's xlate cache does), and emits ``tnl_push(...)`` (``native_tnl.build_tnl_push``;
  Geneve options from the ``tun_metadataN`` fields through the bridge's TLV map, plus the received options no
  mapping claims).  Translation then continues in the underlay bridge as if the encapsulated packet came in on
  its own port: its key is the outer packet's, its wildcards are thrown away (the datapath flow matches the
  inner packet only) and it has no side effects, as in Open vSwitch.  Those actions follow the push inside
  ``clone(...)``; nothing at all is emitted when the underlay drops the packet, and a clone that ends the
  actions is unwrapped.  ``XlateResult.tnl_stats`` lists the vports sent to, for their statistics.
* An output to a port whose device has an IP address consults the listening-port map (``tnl.ports.lookup``):
  a packet addressed to a tunnel endpoint becomes ``tnl_pop(P)`` (and, with side effects, its outer source
  address and MAC are learned as a neighbour); otherwise ARP and ND packets are snooped into the neighbour cache.
* A decapsulated packet (a key with tunnel fields) always has its key, outer addresses, outer TOS and flags in
  the megaflow (``tunnel.receive_wildcards``).  One whose Geneve options the bridge's TLV map cannot take in
  (``tun_metadata.options_valid``: an unknown critical option, a mapped one of another length) is dropped at
  once (``Invalid Geneve tunnel metadata``, ``XlateResult.error`` "Invalid tunnel metadata"), as in Open
  vSwitch.  An outer ECN "congestion experienced" marks the inner IP packet
  too (committed as ``set(ipv4(tos=...))`` at its first output), or drops it when it is not ECN-capable (RFC
  6040, as Open vSwitch does).  Outputs to other ports emit nothing tunnel-related.

Not done: NSH and ``encap``/``decap``, ``delete_field``, the
debug actions, sFlow/IPFIX sampling, mirrors, ``resubmit(...,ct)`` (a plain resubmit here), and resuming a
paused ``controller`` continuation (the frozen state holds what is needed).  Actions not translated are listed
in ``XlateResult.unsupported`` and otherwise ignored.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pyvswitch.dpif import odp
from pyvswitch.flow import fields as F
from pyvswitch.flow.fields import Field
from pyvswitch.flow.flow_hash import hash_2words, hash_bytes, hash_uint64
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
from pyvswitch.flow.tun_metadata import GENEVE_RAW_MASK, geneve_raw, metadata_to_options, options_valid
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
from pyvswitch.netdev.native_tnl import build_tnl_push
from pyvswitch.ofproto import tunnel as T
from pyvswitch.ofproto.actions import model as A
from pyvswitch.ofproto.actions.fieldtext import format_field_value
from pyvswitch.ofproto.group import GroupType
from pyvswitch.ofproto.mac_learning import MacLearning, format_mac
from pyvswitch.ofproto.normal import DROP_VLAN, PortVlanConfig, normal
from pyvswitch.ofproto.ofproto import OFPPC, OFPPS, OFProto
from pyvswitch.ofproto.recirc import FrozenState, RecircTable
from pyvswitch.ofproto.rule import Rule
from pyvswitch.packet.build import arp_request_frame, nd_ns_frame

__all__ = [
    "MAX_DEPTH",
    "MAX_RESUBMITS",
    "PacketIn",
    "Recirculation",
    "Trace",
    "TraceNode",
    "XlateBridge",
    "XlateResult",
    "continuation_actions",
    "packet_in_from_cookie",
    "thaw_continuation",
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


#: Storage masks of the attribute lists ``_differs`` is asked about (module-level lists, by identity).
_ATTR_MASKS: dict[int, int] = {}


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

_MPLS_TYPES = (0x8847, 0x8848)
# What a push or pop of MPLS changes at once: the EtherType, the label stack and the L3/L4 headers (which an MPLS
# packet does not expose).
def _smasks(*names: str) -> int:
    out = 0
    for n in names:
        out |= _smask(n)
    return out


_L3L4 = _smasks("nw_src", "nw_dst", "nw_proto", "nw_tos", "nw_ttl", "nw_frag", "tp_src", "tp_dst", "tcp_flags",
                "ipv6_src", "ipv6_dst", "ipv6_label", "nd_target", "arp_sha", "arp_tha")
_MPLS_STACK = _smask("mpls_lse") | _smask("_mpls_lse1") | _smask("_mpls_lse2")
_MPLS_SYNC = _smask("dl_type") | _MPLS_STACK | _L3L4
_MPLS_SLOTS = ("mpls_lse", "_mpls_lse1", "_mpls_lse2")
# Connection tracking state, which a patch port or ct_clear clears.
_CT_ALL = _smasks("ct_state", "ct_zone", "ct_mark", "ct_label", "ct_nw_proto", "ct_nw_src", "ct_nw_dst",
                  "ct_ipv6_src", "ct_ipv6_dst", "ct_tp_src", "ct_tp_dst")
# Every tunnel field, the raw Geneve options of a decapsulated packet included.
_TUNNEL = _smasks("tun_id", "tun_src", "tun_dst", "tun_ipv6_src", "tun_ipv6_dst", "tun_flags", "tun_gbp_id",
                  "tun_gbp_flags", "_tun_tos", "_tun_ttl", "_tun_tp_src", "_tun_tp_dst", "_tun_metadata_present",
                  "tun_metadata") | GENEVE_RAW_MASK
# What a resumed translation takes from its frozen state rather than from the datapath's key.
_FROZEN_PIPELINE = _smask("in_port") | _smask("metadata") | _smask("regs") | _smask("actset_output")
_CT_STATE_NEW_TRK = 0x01 | 0x20

# Open vSwitch's packet-in reasons in datapath cookies: OpenFlow's, then its own "explicit_miss" (a table-miss
# flow's output to the controller; OpenFlow 1.3+ controllers get no_match, earlier ones action) and
# "implicit_miss".
_REASONS = (*A.PACKET_IN_REASONS, "explicit_miss", "implicit_miss")
_REASON_CODES = {name: i for i, name in enumerate(_REASONS)}


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
def _no_bridges(name: str) -> XlateBridge | None:
    return None


@dataclass
class XlateBridge:
    """What translation reads of a bridge.

    ``dp_ports`` maps OpenFlow ports to datapath ports, in the bridge's port order (the order ``ALL`` and
    ``FLOOD`` emit in; Open vSwitch lists LOCAL first).  ``vlan_ports`` is NORMAL's view of the ports (same
    order); ``mac_table`` the bridge's MAC learning table.  ``recirc`` holds the frozen states that
    recirculations and controller actions refer to (one table shared by all bridges of a datapath).
    ``patch_peers`` maps this bridge's patch ports (OpenFlow port) to their peer (bridge name, OpenFlow port);
    ``bridges`` finds a bridge of the same datapath by name (patch peers, and resuming a state frozen in another
    bridge).  Patch ports have no datapath port: they are in ``vlan_ports`` (NORMAL floods to them) and
    ``patch_peers``, not in ``dp_ports``."""

    ofproto: OFProto
    dp_ports: Mapping[int, int]
    vlan_ports: Mapping[int, PortVlanConfig] = field(default_factory=dict)
    mac_table: MacLearning = field(default_factory=MacLearning)
    flood_vlans: frozenset[int] = frozenset()
    forward_bpdu: bool = False
    recirc: RecircTable = field(default_factory=RecircTable)
    patch_peers: Mapping[int, tuple[str, int]] = field(default_factory=dict)
    bridges: Callable[[str], XlateBridge | None] = _no_bridges
    #: A table miss sends a packet-in (Open vSwitch's implicit table-miss behaviour) rather than dropping: true
    #: when one of the bridge's OpenFlow connections (controller or service connection, ``ovs-ofctl monitor``
    #: included) speaks OpenFlow 1.0-1.2, as Open vSwitch decides (OpenFlow 1.3+ says a miss drops).
    miss_to_controller: bool = False
    #: The bridge's tunnel ports: OpenFlow port -> ``pyvswitch.ofproto.tunnel.TunnelPort`` (they are in
    #: ``dp_ports`` too, with their shared datapath port).
    tunnels: Mapping[int, Any] = field(default_factory=dict)
    #: The daemon's ``pyvswitch.ofproto.tnl_context.TnlContext`` (None: no native tunnelling, as in unit tests).
    tnl: Any = None

    def port_by_name(self, name: str) -> int | None:
        """The OpenFlow port named ``name``, or None."""
        for no, p in self.ofproto.ports.items():
            if p.name == name:
                return no
        return None

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
    """A packet-in a ``controller`` action (or a TTL exception) asked for: the packet-in's reason, ``max_len``,
    controller id, user data, table and rule cookie, and ``key``, the working flow key at the action (pipeline
    fields included: in_port, metadata, registers, tunnel; the packet-in's match comes from it).

    ``reason`` is an OpenFlow reason name (``no_match``, ``action``, ``invalid_ttl``...); a table miss
    (``XlateBridge.miss_to_controller``) is ``no_match``.  ``explicit_miss``: the packet-in comes from a
    table-miss flow's output to the controller (priority 0, matching everything); its reason is then
    ``action``, what Open vSwitch tells OpenFlow 1.0-1.2 connections (``ovs-ofctl monitor`` shows ``via
    action``); Open vSwitch says ``no_match`` to OpenFlow 1.3+ ones."""

    reason: str
    max_len: int
    controller_id: int
    userdata: bytes
    table_id: int
    cookie: int
    key: int
    explicit_miss: bool = False


@dataclass
class XlateResult:
    actions: list[odp.Action]
    wc: Wildcards
    final_key: int
    packet_ins: list[PacketIn] = field(default_factory=list)
    learned: list[tuple[int, int, int]] = field(default_factory=list)
    #: The bridge of each ``learned`` entry (a patch port's peer learns in its own MAC table).
    learned_in: list[str] = field(default_factory=list)
    rules_hit: list[Rule] = field(default_factory=list)
    #: Why the flow must stay in the userspace slow path: ``controller`` (it sends packet-ins) or ``action`` (a
    #: datapath action the datapath cannot run, such as ``set(arp(...))``); None for a fast-path flow.
    slow_path: str | None = None
    #: A translation error (``Recursion too deep``, ``Too many resubmits``): ``actions`` is then empty.
    error: str | None = None
    unsupported: list[str] = field(default_factory=list)
    #: The groups the packet went through, for their statistics: (group id, indexes of the buckets used).
    groups_hit: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)
    #: The ``learn`` actions run: (bridge name, action, the key it saw).  The revalidator runs them again (with
    #: side effects) when it credits the megaflow's statistics, as ``pyvswitch.ofproto.learn`` explains.
    learns: list[tuple[str, A.Learn, int]] = field(default_factory=list)
    #: The ``fin_timeout`` actions run and their rules: the statistics' TCP flags (a FIN or RST in any packet
    #: of the megaflow) apply them again.
    fin_timeouts: list[tuple[A.FinTimeout, Rule]] = field(default_factory=list)
    #: The recirculations the actions ask for, in order (``ofproto/trace`` resumes the conntrack ones).
    recircs: list[Recirculation] = field(default_factory=list)
    #: The bridge the translation ended in (differs from the one given when it resumed a state frozen in
    #: another bridge).
    bridge_name: str = ""
    #: The tunnel vports the packet was sent to: (netdev, "tx"), for their statistics (the caller adds the vport
    #: a decapsulated packet was received on).
    tnl_stats: list[tuple[Any, str]] = field(default_factory=list)
    #: ARP requests and ND solicitations native tunnelling wants sent for a neighbour cache miss: (bridge name,
    #: the OpenFlow port they enter the bridge on, frame); not for a trace without side effects.
    tnl_requests: list[tuple[str, int, bytes]] = field(default_factory=list)
    #: The neighbour entries tunnel outputs used: (bridge name, IP); the megaflow's traffic keeps them alive.
    tnl_neighs: list[tuple[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Recirculation:
    """A ``recirc(id)`` the datapath actions end a pass with.  ``kind``: ``ct`` (after ``ct(table=N)``: the
    connection tracker's ``zone``, and the ``mark``/``label`` (value, mask) a commit sets, ``nat`` the NAT
    action) or ``hash`` (a select group's ``dp_hash``)."""

    id: int
    kind: str
    zone: int = 0
    commit: bool = False
    mark: tuple[int, int] | None = None
    label: tuple[int, int] | None = None
    nat: A.Nat | None = None
    #: The working key at the recirculation (what a trace resumes with; the frozen state keeps only the
    #: pipeline fields, so that packets differing in their headers share it, as in Open vSwitch).
    key: int = 0


_COOKIE_FIELDS = re.compile(r"(\w+)=(0x[0-9a-fA-F]+|\d+)")


def packet_in_from_cookie(table: RecircTable, userdata: object) -> tuple[str, PacketIn] | None:
    """The packet-in a datapath ``userspace(pid=0,controller(...))`` action stands for: (bridge name,
    ``PacketIn``), from the cookie text (``userdata`` of ``odp.Userspace``: reason, max_len, controller_id,
    rule_cookie, recirc_id) and the frozen state ``table.get(recirc_id)`` (user data, table, the key with its
    pipeline fields).  None for another cookie or an id the table no longer knows.  ``dont_send=1`` cookies
    (traces) are not the daemon's to send; the caller checks ``"dont_send=1" in userdata``."""
    if not isinstance(userdata, str) or not userdata.startswith("controller("):
        return None
    vals = {k: int(v, 0) for k, v in _COOKIE_FIELDS.findall(userdata)}
    state = table.get(vals.get("recirc_id", 0))
    if state is None or not isinstance(state.packet_in, PacketIn):
        return None
    code = vals.get("reason", 1)
    reason = _REASONS[code] if 0 <= code < len(_REASONS) else "action"
    explicit = reason == "explicit_miss"
    of_reason = "action" if explicit else "no_match" if reason == "implicit_miss" else reason
    pin = replace(state.packet_in, reason=of_reason, explicit_miss=explicit,
                  max_len=vals.get("max_len", 0xFFFF),
                  controller_id=vals.get("controller_id", 0),
                  cookie=vals.get("rule_cookie", state.packet_in.cookie))
    return state.bridge, pin


class _Abort(Exception):
    """A translation error (recursion too deep, too many resubmits): the packet is dropped."""


# ---------------------------------------------------------------------------------------------------------------
# The translation context.
class _Ctx:
    def __init__(self, bridge: XlateBridge, key: int, side_effects: bool, trace: Trace | None,
                 now: float, dont_send: bool = False) -> None:
        self.bridge = bridge
        #: The bridge translation began in: Open vSwitch's trace names only its hidden miss rule "No match".
        self.origin = bridge
        self.dont_send = dont_send
        #: Translating a packet-out's actions: controller actions say ``packet_out``, output to TABLE looks up
        #: table 0.
        self.packet_out = False
        #: Freezing (a select group waiting for dp_hash): the actions still to run after the recirculation.
        self.freezing = False
        self.frozen_actions: list[A.Action] = []
        #: The packet-in of a paused controller action that is freezing the translation (None: a select group).
        self.pause_pin: PacketIn | None = None
        self.freeze_hashed = True
        #: The frozen actions are complete (a clone froze): enclosing lists add nothing to them.
        self.freeze_sealed = False
        #: The packet lost its last MPLS label in this pass: its L3 header is unknown until it recirculates.
        self.was_mpls = False
        #: The ``push``/``pop`` stack.
        self.stack: list[int] = []
        #: Whether the packet went through ``ct`` (in this pass or the one it resumes).
        self.conntracked = False
        self.cookie = 0
        #: The packet's skb_priority when it entered (``pop_queue`` restores it).
        self.orig_priority = _sget(key, "skb_priority")
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
        #: The clone(tnl_push(...),...) actions native tunnelling emitted (a last one is unwrapped at the end).
        self.tnl_clones: list[odp.Clone] = []
        #: The outer destination the packet was decapsulated from (None: it did not come out of a tunnel).  A
        #: tunnel output back to it would tunnel to this host (Open vSwitch's ``orig_tunnel_ipv6_dst``).
        self.orig_tun_dst = T.tunnel_destination(key)
        self.res = XlateResult([], self.wc, key, bridge_name=bridge.name)

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
    def _commit_set(self, kind: str, attrs: list[tuple[str, str]]) -> str | None:
        """Emit ``set(kind(...))`` for the attributes that differ; returns None (nothing differed), ``whole``
        or ``masked``."""
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
            return None
        self.actions.append(odp.SetField.of(kind, values, masks if partial else None))
        for _, slot in attrs:
            self.base = _sput(self.base, slot, _sget(self.key, slot))
        return "masked" if partial else "whole"

    def _commit_icmp(self, kind: str) -> None:
        """``set(icmp(type=T,code=C))``: both, whole.  Open vSwitch handles such a flow in the userspace slow path
        (observed with its dummy datapath: "Uses action(s) not supported by datapath"), and so does this."""
        t, c = _sget(self.key, "tp_src") & 0xFF, _sget(self.key, "tp_dst") & 0xFF
        self.wc.add((0xFF << F.STORAGE["tp_src"][0]) | (0xFF << F.STORAGE["tp_dst"][0]))
        self.actions.append(odp.SetField.of(kind, {"type": t, "code": c}))
        self.base = _sput(_sput(self.base, "tp_src", _sget(self.key, "tp_src")), "tp_dst", _sget(self.key, "tp_dst"))
        self.res.slow_path = "action"

    def _differs(self, attrs: list[tuple[str, str]]) -> bool:
        mask = _ATTR_MASKS.get(id(attrs))
        if mask is None:
            mask = _ATTR_MASKS[id(attrs)] = sum(_smask(slot) for _, slot in attrs)
        return bool((self.key ^ self.base) & mask)

    def commit(self) -> None:
        """Emit the datapath actions that make the packet look like the working key."""
        if self.key == self.base:
            return      # Nothing changed since the last commit (every step below compares the two).
        self._commit_set("eth", _SET_ETH)
        self._commit_mpls(pop=True)
        self._commit_l3()
        self._commit_mpls(pop=False)
        self._commit_vlan()
        self._commit_priority()

    def _commit_mpls(self, pop: bool) -> None:
        """MPLS: pops before the L3 changes (they apply to the packet under the labels), pushes and label
        rewrites after them."""
        old_n, new_n = _mpls_depth(self.base), _mpls_depth(self.key)
        new_t = _sget(self.key, "dl_type")
        if pop:
            if old_n > new_n:
                for i in range(old_n - new_n):
                    last = i == old_n - new_n - 1
                    self.actions.append(odp.PopMpls(new_t if last else _sget(self.base, "dl_type")))
                self.base = (self.base & ~_MPLS_SYNC) | (self.key & _MPLS_SYNC)
            return
        if not new_n:
            return
        if new_n > old_n:
            for j in reversed(range(new_n - old_n)):
                lse = _sget(self.key, _MPLS_SLOTS[j])
                self.actions.append(odp.PushMpls(label=lse >> 12, tc=lse >> 9 & 7, ttl=lse & 0xFF,
                                                 bos=lse >> 8 & 1, ethertype=new_t))
            self.base = (self.base & ~_MPLS_SYNC) | (self.key & _MPLS_SYNC)
        elif _sget(self.key, "mpls_lse") != _sget(self.base, "mpls_lse"):
            lse = _sget(self.key, "mpls_lse")
            self.actions.append(odp.SetField.of("mpls", {"label": lse >> 12, "tc": lse >> 9 & 7,
                                                         "ttl": lse & 0xFF, "bos": lse >> 8 & 1}))
            self.base = (self.base & ~_MPLS_SYNC) | (self.key & _MPLS_SYNC)

    def _commit_priority(self) -> None:
        prio = _sget(self.key, "skb_priority")
        if prio != _sget(self.base, "skb_priority"):
            self.wc.add(_smask("skb_priority"))
            self.actions.append(odp.SetField.of("skb_priority", {"value": prio}))
            self.base = _sput(self.base, "skb_priority", prio)

    def _commit_l3(self) -> None:
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
            elif self._commit_set(kind, attrs) == "whole":
                # A whole (unmasked) set() rewrites the IP header's protocol too: the megaflow must pin it.
                self.wc.add(_NW_PROTO.key_mask)
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
    def output(self, port: int, max_len: int = 0, trunc: int = 0) -> None:
        if port == OFPP_IN_PORT:
            self._output_port(self.in_port(), allow_in_port=True, trunc=trunc)
        elif port == OFPP_NORMAL:
            self.xlate_normal()
        elif port in (OFPP_ALL, OFPP_FLOOD):
            self.commit()
            in_port = self.in_port()
            # Open vSwitch's order is its port hash's; patch ports first matches it for the captured cases.
            ports = [p for p in self.bridge.patch_peers if p not in self.bridge.dp_ports]
            ports += list(self.bridge.dp_ports)
            for p in ports:
                if p == in_port:
                    continue
                ofp = self.bridge.ofproto.ports.get(p)
                if ofp is not None and port == OFPP_FLOOD and ofp.config & OFPPC.NO_FLOOD:
                    continue
                if ofp is not None and ofp.config & OFPPC.NO_FWD:
                    continue
                peer = self.bridge.patch_peers.get(p)
                if peer is not None:
                    self.patch_output(peer)
                else:
                    self.emit_output(p, self.bridge.dp_ports[p])
        elif port == OFPP_CONTROLLER:
            # From a table-miss flow (priority 0, matching everything) Open vSwitch says "explicit miss" (6).
            r = self.rule
            miss = r is not None and r.priority == 0 and not r.match.mask
            self.controller("explicit_miss" if miss else "action", max_len or 0xFFFF, 0, b"")
        elif port == OFPP_TABLE and self.packet_out:
            self.lookup_and_run(0)
        elif port in (OFPP_NONE, OFPP_TABLE):
            return
        elif port == OFPP_LOCAL or port < OFPP_MAX:
            self._output_port(port, allow_in_port=False, trunc=trunc)

    def _output_port(self, port: int, allow_in_port: bool, trunc: int = 0) -> None:
        if port == self.in_port() and not allow_in_port:
            self.report("warn", "skipping output to input port")
            return
        peer = self.bridge.patch_peers.get(port)
        if peer is not None:
            self.patch_output(peer)
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
        self.emit_output(port, dp, trunc)

    def emit_output(self, port: int, dp: int, trunc: int = 0) -> None:
        """The datapath actions of an output to OpenFlow port ``port`` (datapath port ``dp``) once the packet is
        committed: native tunnel output for a tunnel port, ``tnl_pop`` for a packet that terminates at a tunnel
        endpoint, else ``output``."""
        tp = self.bridge.tunnels.get(port)
        if tp is not None:
            self.tunnel_output(tp)
            return
        if self.bridge.tnl is not None and self.terminate_native_tunnel(port):
            return
        if trunc:
            self.actions.append(odp.Trunc(trunc))
        self.actions.append(odp.Output(dp))

    # -- native tunnels -----------------------------------------------------------------------------------------
    def terminate_native_tunnel(self, port: int) -> bool:
        """An output to a port whose device has an IP address: ``tnl_pop`` when the packet is addressed to a tunnel
        endpoint there (True), else a snoop of ARP/ND packets for the neighbour cache (False: the output goes on)."""
        tnl = self.bridge.tnl
        name = self.bridge.port_name(port)
        if not tnl.router.addresses(name):
            return False
        dp_tnl = tnl.ports.lookup(self.key, self.wc)
        if dp_tnl is None:
            dl_type = self.dl_type()
            if dl_type == ETH_TYPE_ARP or (dl_type == ETH_TYPE_IPV6 and _sget(self.key, "nw_proto") == 58):
                tnl.neigh.snoop(self.key, self.bridge.name, self.wc, self.side_effects)
            return False
        # The remote end's address and MAC: replies need no ARP (Open vSwitch learns them the same way).
        tnl.neigh.learn_from_tunnel(self.key, self.bridge.name, self.side_effects)
        self.actions.append(odp.TnlPop(dp_tnl))
        return True

    def tunnel_output(self, tp: Any) -> None:
        """Native tunnel output to tunnel port ``tp`` (see the module documentation)."""
        params = T.send_params(tp, self.key, self.wc)
        if T.same_address(params.dst, self.orig_tun_dst):
            # The remote is the address the packet came in on (remote_ip=flow and a tun_dst left as received):
            # this host.  Open vSwitch refuses, as it does an output with no remote to a packet that did not
            # come out of a tunnel (both "addresses" are then all zeros).
            self.report("warn", "Not tunneling to our own address")
            return
        self.report("detail", "output to native tunnel")
        tnl = self.bridge.tnl
        if tnl is None:
            self.report("warn", "native tunnel routing failed")
            return
        route = tnl.router.lookup(params.dst, params.pkt_mark) if params.dst is not None else None
        under = None
        under_port = None
        if route is not None:
            under = self.bridge.bridges(route.dev)
            under_port = under.port_by_name(route.dev) if under is not None else None
        if route is None or under is None or under_port is None or under.dp_ports.get(under_port) is None:
            self.report("warn", "native tunnel routing failed")
            return
        assert params.dst is not None
        nexthop = route.gw if route.gw is not None else params.dst
        self.report("detail", f"tunneling to {nexthop} via {route.dev}")
        ofp = under.ofproto.ports.get(under_port)
        smac = int(ofp.hw_addr.replace(":", ""), 16) if ofp is not None else 0
        src = params.src if params.src is not None else route.src
        dmac = tnl.neigh.lookup(under.name, nexthop)
        if dmac is None:
            v6 = isinstance(nexthop, ipaddress.IPv6Address) and nexthop.ipv4_mapped is None
            self.report("detail", f"neighbor cache miss for {nexthop} on bridge {under.name}, "
                                  f"sending {'ND' if v6 else 'ARP'} request")
            # The revalidator asks too (no trace does): a flow whose neighbour expired resolves it again.
            if (self.side_effects or self.trace is None) and src is not None:
                if v6:
                    frame = nd_ns_frame(eth_src=smac.to_bytes(6, "big"), ip_src=str(src), target=str(nexthop))
                else:
                    frame = arp_request_frame(eth_src=smac.to_bytes(6, "big"), spa=str(src), tpa=str(nexthop))
                self.res.tnl_requests.append((under.name, under_port, frame))
            return
        if src is None:
            self.report("warn", "native tunnel routing failed")
            return
        self.res.tnl_neighs.append((under.name, nexthop))
        self.report("detail", f"tunneling from {format_mac(smac)} {src} to {format_mac(dmac)} {nexthop}")
        cfg = tp.config
        ipv6 = isinstance(params.dst, ipaddress.IPv6Address)
        options = b""
        if cfg.type == "geneve":
            tlv = self.bridge.ofproto.tlv_table
            raw = geneve_raw(self.key)
            options = metadata_to_options(self.key, tlv, raw) if tlv is not None else raw
            if options:
                self.wc.add(GENEVE_RAW_MASK | _smask("_tun_metadata_present") | _smask("tun_metadata"))
        try:
            push = build_tnl_push(tnl_type=cfg.type, tnl_port=tp.dp_port, out_port=under.dp_ports[under_port],
                                  eth_src=smac, eth_dst=dmac, ip_src=int(src), ip_dst=int(params.dst), ipv6=ipv6,
                                  tos=params.tos, ttl=params.ttl, df=params.df, udp_dst=cfg.dst_port,
                                  csum=params.csum, key=params.key, oam=params.oam, geneve_options=options,
                                  gbp_id=params.gbp_id, gbp_flags=params.gbp_flags)
        except ValueError as e:
            self.report("warn", f"native tunnel header build failed ({e})")
            return
        self.res.tnl_stats.append((tp.netdev, "tx"))
        outer = _outer_key(self.key, under_port, smac, dmac, src, params, cfg)
        saved = (self.bridge, self.key, self.base, self.orig_in_port, self.action_set, self.table_id, self.rule,
                 self.cookie, self.first_table, self.conntracked, self.was_mpls, self.wc, self.side_effects,
                 self.actions)
        node = self.report("bridge", f'bridge("{under.name}")') if self.trace is not None else None
        saved_trace = self.trace.enter(node) if self.trace is not None and node is not None else None
        self.bridge, self.key, self.base, self.orig_in_port, self.action_set = under, outer, outer, under_port, []
        self.first_table, self.conntracked = None, False
        # The underlay's decisions do not depend on the inner packet's fields: its wildcards are not the
        # megaflow's; and nothing it does is a side effect of this packet (Open vSwitch does the same).
        self.wc = Wildcards()
        self.side_effects = False
        self.actions = [push]
        self.depth += 1
        try:
            if self.depth >= MAX_DEPTH:
                self.report("error", f"over max translation depth {MAX_DEPTH}")
                self.res.error = "Recursion too deep"
                raise _Abort
            self.run_entered_bridge()
        finally:
            self.depth -= 1
            inner = self.actions
            (self.bridge, self.key, self.base, self.orig_in_port, self.action_set, self.table_id, self.rule,
             self.cookie, self.first_table, self.conntracked, self.was_mpls, self.wc, self.side_effects,
             self.actions) = saved
            self.exit = False
            if saved_trace is not None and self.trace is not None:
                self.trace.restore(saved_trace)
        if len(inner) > 1:
            clone = odp.Clone(tuple(inner))
            self.tnl_clones.append(clone)
            self.actions.append(clone)

    def run_entered_bridge(self) -> None:
        """Translate in the bridge the packet has just entered (through a patch port, or as a tunnel's outer
        packet in the underlay bridge): its pipeline from table 0, then its action set, unless it froze."""
        self.lookup_and_run(0, peer_entry=True, honor_miss=True)
        if not self.freezing:
            self.run_action_set()
        if self.freezing:
            self.finish_freezing()

    def patch_output(self, peer: tuple[str, int]) -> None:
        """Output to a patch port: the packet enters the peer bridge on the peer port, with clean pipeline
        fields, and translation goes on there (one megaflow, one list of datapath actions).  Afterwards the
        flow is this bridge's again; what the peer committed to the packet stays committed."""
        name, peer_port = peer
        other = self.bridge.bridges(name)
        if other is None:
            self.report("warn", "Nonexistent output port")
            return
        if self.depth >= MAX_DEPTH:
            self.report("error", f"over max translation depth {MAX_DEPTH}")
            self.res.error = "Recursion too deep"
            raise _Abort
        saved = (self.bridge, self.key, self.orig_in_port, self.action_set, self.table_id, self.rule, self.cookie,
                 self.first_table, self.conntracked, self.was_mpls)
        node = self.report("bridge", f'bridge("{name}")') if self.trace is not None else None
        saved_trace = self.trace.enter(node) if self.trace is not None and node is not None else None
        k = self.key & ~(_smask("metadata") | _smask("regs") | _smask("actset_output") | _TUNNEL | _CT_ALL)
        self.key = F.put(k, _IN_PORT, peer_port)
        self.bridge, self.orig_in_port, self.action_set = other, peer_port, []
        self.first_table, self.conntracked = None, False
        self.depth += 1
        try:
            self.run_entered_bridge()
        finally:
            self.depth -= 1
            (self.bridge, self.key, self.orig_in_port, self.action_set, self.table_id, self.rule, self.cookie,
             self.first_table, self.conntracked, self.was_mpls) = saved
            self.exit = False
            if saved_trace is not None and self.trace is not None:
                self.trace.restore(saved_trace)

    def controller(self, reason: str, max_len: int, controller_id: int, userdata: bytes) -> None:
        self.commit()
        if reason == "action" and self.packet_out and self.rule is None:
            reason = "packet_out"
        cookie = self.cookie
        explicit = reason == "explicit_miss"
        of_reason = "action" if explicit else "no_match" if reason == "implicit_miss" else reason
        pin = PacketIn(of_reason, max_len, controller_id, userdata, self.table_id, cookie, self.key,
                       explicit_miss=explicit)
        self.res.packet_ins.append(pin)
        # As in Open vSwitch, controller actions that differ only in what the cookie carries (reason, max_len,
        # controller id) share one state; packet_in_from_cookie puts the two together.
        rid = self.bridge.recirc.alloc(FrozenState(self.bridge.name, self.table_id, self.key & _FROZEN_PIPELINE,
                                                   packet_in=pin, conntracked=self.conntracked, cookie=cookie,
                                                   rule_table=self.table_id, userdata=userdata))
        code = _REASON_CODES.get(reason, 1)
        ck = f"{cookie:#x}" if cookie else "0"
        text = (f"controller(reason={code},dont_send={int(self.dont_send)},continuation=0,"
                f"recirc_id={rid},rule_cookie={ck},controller_id={controller_id},"
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
            self.res.learned_in.append(b.name)
            if res.learn_changed and self.trace is not None:
                vlan, mac, port = res.learned
                self.report("detail", f"learned that {format_mac(mac)} is on port {b.port_name(port)} "
                                      f"in VLAN {vlan}")
        if res.drop_reason == DROP_VLAN:
            cfg = b.vlan_ports.get(self.in_port())
            tci = _sget(self.key, "vlan_tci")
            vid = tci & _VID_MASK if tci & VLAN_CFI else 0
            if cfg is not None:
                if cfg.vlan_mode == "access" or (cfg.vlan_mode is None and cfg.tag is not None):
                    self.report("error", f"dropping VLAN {vid} tagged packet received on port {cfg.name} "
                                         f"configured as VLAN {cfg.tag} access port")
                else:
                    self.report("error", f"dropping VLAN {vid} packet received on port {cfg.name} not configured "
                                         f"for trunking VLAN {vid}")
            self.report("warn", f"{res.drop_reason}, dropping")
        elif res.drop_reason is not None:
            self.report("detail", f"{res.drop_reason}, dropping")
        elif res.flood:
            self.report("detail", "no learned MAC for destination, flooding")
        else:
            self.report("detail", "forwarding to learned port")
        # NORMAL's VLAN pushes and pops are applied lazily, as any header change: before the next datapath
        # output.  A patch port's peer gets the packet as NORMAL tagged it for that port, and commits the tag only
        # if it outputs it.
        cur = _sget(self.base, "vlan_tci")
        pending: list[odp.Action] = []
        for a in res.actions:
            if isinstance(a, odp.Output):
                peer = b.patch_peers.get(a.port)
                if peer is not None:
                    saved = self.key
                    before = _sget(self.base, "vlan_tci")
                    self.key = _sput(self.key, "vlan_tci", cur)
                    self.patch_output(peer)
                    self.key = saved
                    after = _sget(self.base, "vlan_tci")
                    if after != before:
                        # The peer changed the packet's tag: get from there to NORMAL's view.
                        pending = [odp.PopVlan()] if after & VLAN_CFI else []
                        if cur & VLAN_CFI:
                            pending.append(odp.PushVlan(vid=cur & _VID_MASK, pcp=cur >> _PCP_SHIFT))
                        if after == cur:
                            pending = []
                    continue
                dp = b.dp_ports.get(a.port)
                if dp is not None:
                    self.actions += pending
                    pending = []
                    self.base = _sput(self.base, "vlan_tci", cur)
                    self.emit_output(a.port, dp)
                continue
            if isinstance(a, odp.PopVlan):
                cur = 0
            elif isinstance(a, odp.PushVlan):
                cur = a.vid | a.pcp << _PCP_SHIFT | VLAN_CFI
            pending.append(a)

    # -- tables -------------------------------------------------------------------------------------------------
    def lookup_and_run(self, table_id: int, *, in_port: int | None = None, deepens: bool = False,
                       peer_entry: bool = False, honor_miss: bool = False) -> None:
        """Look ``table_id`` up (with ``in_port`` in the key if given) and run the rule's actions.  ``deepens``:
        the lookup counts against the depth limit (a resubmit to the same or an earlier table).  ``peer_entry``:
        the first lookup of a patch port's peer bridge, whose miss Open vSwitch reports as the hidden rule
        that drops it (``reg0=0x2, priority 0``; its own trace recognizes only the first bridge's).
        ``honor_miss``: a miss sends a packet-in when ``bridge.miss_to_controller`` (the first lookup, a patch
        peer's first lookup and ``goto_table``; a resubmit's miss only drops)."""
        # Every lookup checks the depth, though only resubmits to the same or an earlier table add to it (Open
        # vSwitch stops at the first lookup once 64 deep).
        if self.depth >= MAX_DEPTH:
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
        old_rule, old_table, old_cookie = self.rule, self.table_id, self.cookie
        self.depth += deepens
        self.table_id = table_id
        if rule is None:
            # (An input port's no_packet_in does not change this: Open vSwitch checks it when sending.)
            to_ctl = honor_miss and self.bridge.miss_to_controller
            if peer_entry and self.bridge is not self.origin:
                # Open vSwitch's trace names its hidden miss rules only in the bridge translation began in.
                miss = "reg0=0x1, priority 0" if to_ctl else "reg0=0x2, priority 0"
            else:
                miss = 'No match, and a "packet-in" is called for.' if to_ctl else "No match."
            node = self.report("table", f"{table_id:2d}. {miss}")
            saved = self.trace.enter(node) if self.trace is not None and node is not None else None
            if to_ctl:
                self.report("action", "controller(reason=)")
                self.controller("implicit_miss", 0xFFFF, 0, b"")
            else:
                self.report("action", "drop")
        else:
            self.res.rules_hit.append(rule)
            # The rule's text only for a trace: formatting a match costs more than translating a packet.
            node = self.report("table", f"{table_id:2d}. {_rule_text(rule)}") if self.trace is not None else None
            saved = self.trace.enter(node) if self.trace is not None and node is not None else None
            self.rule = rule
            self.cookie = rule.cookie
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
        self.rule, self.table_id, self.cookie = old_rule, old_table, old_cookie
        self.depth -= deepens
        if in_port is not None:
            self.key = F.put(self.key, _IN_PORT, outer_in_port)

    # -- actions ------------------------------------------------------------------------------------------------
    def do_actions(self, actions: Sequence[A.Action]) -> None:
        for i, a in enumerate(actions):
            if self.exit:
                return
            if self.was_mpls and _needs_l3(a):
                # Open vSwitch recirculates the packet to parse the header under the popped MPLS label (before
                # reporting the action, which runs after the recirculation).
                self.start_freezing(a, hashed=False)
                # Here the action comes before the marker of its rule context (Open vSwitch's order).
                self.frozen_actions = [a, *self.frozen_actions[:-1]]
                self.frozen_actions.extend(actions[i + 1:])
                return
            if self.trace is not None:
                self.report("action", a.fmt())
            stop = self.do_action(a, actions[i + 1:])
            if self.freezing:
                # The rest of this list runs after the recirculation, in this list's rule context.
                if not self.freeze_sealed:
                    self._freeze_unroll()
                    self.frozen_actions.extend(actions[i + 1:])
                return
            if stop is False:
                return

    def do_action(self, a: A.Action, rest: Sequence[A.Action] = ()) -> bool | None:
        """Translate one action (``rest``: the actions after it in its list); False stops the current list."""
        if isinstance(a, A.Output):
            self.output(a.port, a.max_len)
        elif isinstance(a, A.Controller):
            if a.pause:
                self.pause(a)
            else:
                self.controller(a.reason, a.max_len, a.controller_id, a.userdata)
        elif isinstance(a, A.Enqueue):
            self.enqueue(a.port, a.queue)
        elif isinstance(a, A.OutputReg):
            self.wc.add(a.src.key_mask)
            port = a.src.read(self.key)
            if self.trace is not None:
                self.report("detail", f"output port is {port}")
            self.output(port)
        elif isinstance(a, A.OutputTrunc):
            self.output(a.port, trunc=a.max_len)
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
            self.lookup_and_run(a.table_id, honor_miss=True)
        elif isinstance(a, A.WriteMetadata):
            md = F.get(self.key, _METADATA)
            self.key = F.put(self.key, _METADATA, (md & ~a.mask) | (a.metadata & a.mask))
        elif isinstance(a, A.Clone):
            # An exit inside a clone ends the whole translation, as in Open vSwitch.
            saved = self.key
            self.do_actions(a.actions)
            if self.freezing:
                # Open vSwitch freezes only the rest of the clone, and translation ends (what followed the clone
                # is lost: observed with a select group in a clone).
                self.freeze_sealed = True
            self.key = saved
        elif isinstance(a, A.Exit):
            self.exit = True
            return False
        elif isinstance(a, (A.Note, A.Conjunction)):
            pass
        elif isinstance(a, A.WriteActions):
            self.write_actions(a.actions)
        elif isinstance(a, A.ClearActions):
            self.report("detail", "action set was: " + A.format_actions(_set_order(self.action_set))
                        if self.action_set else "action set was empty")
            self.action_set = []
            self._note_actset_output()
        elif isinstance(a, A.Group):
            self.group(a)
        elif isinstance(a, A.Ct):
            self.ct(a)
        elif isinstance(a, A.CtClear):
            if self.conntracked:
                self.actions.append(odp.CtClear())
                self.conntracked = False
            self.key &= ~_CT_ALL
        elif isinstance(a, (A.PushMpls, A.PopMpls, A.SetMplsLabel, A.SetMplsTc, A.SetMplsTtl, A.DecMplsTtl)):
            return self.mpls(a)
        elif isinstance(a, A.CheckPktLarger):
            self.check_pkt_larger(a, rest)
            return False
        elif isinstance(a, A.SetQueue):
            self.key = _sput(self.key, "skb_priority", a.queue_id)
        elif isinstance(a, A.PopQueue):
            self.key = _sput(self.key, "skb_priority", self.orig_priority)
            self.report("detail", f"queue = {self.orig_priority}")
        elif isinstance(a, A.Meter):
            self.meter(a.meter_id)
        elif isinstance(a, A.Sample):
            # No IPFIX collector can be configured: Open vSwitch then emits nothing for a sample action.
            pass
        elif isinstance(a, A.FinTimeout):
            self.fin_timeout(a)
        elif isinstance(a, A.Learn):
            self.learn(a)
        elif isinstance(a, A.Multipath):
            self.multipath(a)
        elif isinstance(a, A.Bundle):
            self.bundle(a)
        elif isinstance(a, A.StackPush):
            self.wc.add(a.src.key_mask)
            self.stack.append(a.src.read(self.key))
        elif isinstance(a, A.StackPop):
            if not self.stack:
                self.report("error", "stack underflow")
            else:
                from pyvswitch.ofproto.multipath import report_subfield

                self.wc.add(a.dst.key_mask)
                self.key = a.dst.write(self.key, self.stack.pop() & ((1 << a.dst.n_bits) - 1))
                if self.trace is not None:
                    self.report("detail", report_subfield(a.dst, self.key))
        elif isinstance(a, A.SetTunnel):
            # Only an output to a tunnel port reads it (its out_key=flow).
            self.key = _sput(self.key, "tun_id", a.tun_id)
        elif isinstance(a, _Unroll):
            self.table_id, self.cookie = a.table_id, a.cookie
            self.report("table", f"restored state: table={a.table_id}, cookie={_cookie_text(a.cookie)}")
        else:
            self.res.unsupported.append(a.fmt())
        return None

    def resume(self, state: FrozenState) -> None:
        """Go on with a translation frozen in ``state``."""
        self.conntracked = state.conntracked
        self.action_set = list(state.action_set)
        self._note_actset_output()
        self.table_id, self.cookie = state.rule_table, state.cookie
        node = self.report("table", "thaw")
        if node is not None and self.trace is not None:
            saved = self.trace.enter(node)
            self.report("table", f"Resuming from table {state.table_id}")
            if state.actions:
                self.report("table", "Restoring actions: " + A.format_actions(state.actions))
            self.trace.restore(saved)
        if state.actions:
            self.do_actions(state.actions)
        else:
            self.lookup_and_run(state.table_id)

    # -- freezing -----------------------------------------------------------------------------------------------
    def _freeze_unroll(self) -> None:
        u = _Unroll(self.table_id, self.cookie)
        last = next((x for x in reversed(self.frozen_actions) if isinstance(x, _Unroll)), None)
        if last != u:
            self.frozen_actions.append(u)

    def start_freezing(self, trigger: A.Action, hashed: bool = True) -> None:
        """Stop translating: ``trigger`` and everything after it runs again when the packet comes back (after
        the datapath computed ``dp_hash`` when ``hashed``)."""
        self.commit()
        self.freezing = True
        self.freeze_hashed = hashed
        self.freeze_sealed = False
        self.frozen_actions = []
        self._freeze_unroll()
        self.frozen_actions.append(trigger)

    def pause(self, a: A.Controller) -> None:
        """``controller(pause)``: a packet-in whose frozen state holds the rest of the translation (the
        controller may resume it); translation stops here."""
        self.commit()
        self.freezing = True
        self.freeze_sealed = False
        self.frozen_actions = []
        self._freeze_unroll()
        self.pause_pin = PacketIn(a.reason, a.max_len, a.controller_id, a.userdata, self.table_id, self.cookie,
                                  self.key)

    def finish_freezing(self) -> None:
        """Emit the recirculation of a frozen translation (a select group's ``hash`` then ``recirc``), or the
        continuation packet-in of a paused controller action."""
        pin = self.pause_pin
        if pin is not None:
            self.pause_pin = None
            state = FrozenState(self.bridge.name, self.table_id, self.key & _FROZEN_PIPELINE,
                                tuple(self.frozen_actions),
                                tuple(self.action_set), packet_in=pin, conntracked=self.conntracked,
                                cookie=self.cookie, rule_table=self.table_id, userdata=pin.userdata)
            rid = self.bridge.recirc.alloc(state)
            self.res.packet_ins.append(pin)
            if not self.dont_send:
                # Open vSwitch's trace (dont_send) prints no action at all for a pause.
                ck = f"{pin.cookie:#x}" if pin.cookie else "0"
                self.actions.append(odp.Userspace(pid=0, userdata=(
                    f"controller(reason={_REASON_CODES.get(pin.reason, 1)},dont_send=0,continuation=1,"
                    f"recirc_id={rid},rule_cookie={ck},controller_id={pin.controller_id},max_len={pin.max_len})")))
                self.res.slow_path = self.res.slow_path or "controller"
            self.freezing = self.freeze_sealed = False
            self.frozen_actions = []
            return
        # The table Open vSwitch reports resuming "from" is the one translation is back in when it finishes
        # freezing (the frozen actions carry the rule contexts they need).
        state = FrozenState(self.bridge.name, self.table_id, self.key & _FROZEN_PIPELINE,
                                tuple(self.frozen_actions),
                            tuple(self.action_set), conntracked=self.conntracked, cookie=self.cookie,
                            rule_table=self.table_id)
        rid = self.bridge.recirc.alloc(state)
        if self.freeze_hashed:
            self.actions.append(odp.Hash(alg=1, basis=0))
        self.actions.append(odp.Recirc(rid))
        self.res.recircs.append(Recirculation(rid, "hash" if self.freeze_hashed else "mpls", key=self.key))
        self.freezing = self.freeze_sealed = False
        self.frozen_actions = []

    def run_action_set(self) -> None:
        if not self.action_set:
            return
        saved = None
        if self.trace is not None and self.first_table is not None:
            node = TraceNode("table", "--. Executing action set:")
            self.first_table.children.append(node)
            saved = self.trace.enter(node)
        self.exit = False
        actions = _set_order(self.action_set)
        self.action_set = []
        self.do_actions(actions)
        if saved is not None and self.trace is not None:
            self.trace.restore(saved)

    # -- connection tracking ------------------------------------------------------------------------------------
    def ct(self, a: A.Ct) -> None:
        if not self.is_ip():
            return
        self.commit()
        zone = a.zone_src.read(self.key) if a.zone_src is not None else a.zone
        if a.zone_src is not None:
            self.wc.add(a.zone_src.key_mask)
        mark = label = None
        nat = None
        if not a.actions:
            self.report("action", "drop")
        for n in a.actions:
            if self.trace is not None:
                self.report("action", n.fmt())
            if isinstance(n, A.Nat):
                nat = n
            elif isinstance(n, A.SetField) and n.field.name in ("ct_mark", "ct_label"):
                m = n.effective_mask & n.field.value_mask
                v = n.value & m
                if n.field.name == "ct_mark":
                    mark = ((mark[0] & ~m if mark else 0) | v, (mark[1] if mark else 0) | m)
                else:
                    label = ((label[0] & ~m if label else 0) | v, (label[1] if label else 0) | m)
            elif isinstance(n, A.RegMove) and n.dst.field.name in ("ct_mark", "ct_label"):
                from pyvswitch.ofproto.multipath import report_subfield

                m = n.dst.mask & n.dst.field.value_mask
                v = (n.src.read(self.key) << n.dst.ofs) & m
                self.wc.add(n.src.key_mask)
                if self.trace is not None:
                    self.report("detail", report_subfield(n.dst, n.dst.write(self.key, n.src.read(self.key))))
                if n.dst.field.name == "ct_mark":
                    mark = ((mark[0] & ~m if mark else 0) | v, (mark[1] if mark else 0) | m)
                else:
                    label = ((label[0] & ~m if label else 0) | v, (label[1] if label else 0) | m)
        helper = A.ALG_NAMES.get(a.alg, str(a.alg)) if a.alg else None
        nat_text = None if nat is None else (nat.fmt()[4:-1] if nat.kind is not None else "")
        self.actions.append(odp.Ct(commit=a.commit and not a.force, force_commit=a.force, zone=zone or None,
                                   mark=mark, label=label, helper=helper, nat=nat_text))
        if a.table != 255:
            self.report("detail", "A clone of the packet is forked to recirculate. The forked pipeline will be "
                                  f"resumed at table {a.table}.")
            state = FrozenState(self.bridge.name, a.table, self.key & _FROZEN_PIPELINE, (),
                                tuple(self.action_set),
                                conntracked=True, cookie=self.cookie, rule_table=self.table_id)
            rid = self.bridge.recirc.alloc(state)
            self.actions.append(odp.Recirc(rid))
            self.res.recircs.append(Recirculation(rid, "ct", zone, a.commit or a.force, mark, label, nat,
                                                  self.key & ~_CT_ALL))
        self.report("detail", "Sets the packet to an untracked state, and clears all the conntrack fields.")
        self.key &= ~_CT_ALL
        self.conntracked = False

    # -- MPLS ---------------------------------------------------------------------------------------------------
    def mpls(self, a: A.Action) -> bool | None:
        dl_type = self.dl_type()
        lse = _sget(self.key, "mpls_lse")
        is_mpls = dl_type in _MPLS_TYPES
        lse_ofs = F.STORAGE["mpls_lse"][0]
        if isinstance(a, A.PushMpls):
            if is_mpls:
                # Another label on top: a copy of the current one, not bottom of stack.
                self.wc.add(_smask("mpls_lse"))
                k = _sput(self.key, "_mpls_lse2", _sget(self.key, "_mpls_lse1"))
                k = _sput(k, "_mpls_lse1", lse)
                self.key = _sput(_sput(k, "mpls_lse", lse & ~0x100), "dl_type", a.ethertype)
                return None
            tc, ttl = 0, 64
            if self.is_ip():
                self.wc.add((0xFC << _G["nw_tos"].ofs) | _NW_TTL.key_mask)
                tc = (_sget(self.key, "nw_tos") >> 2) & 7
                ttl = _sget(self.key, "nw_ttl")
            k = self.key & ~_L3L4
            k = _sput(k, "mpls_lse", tc << 9 | 1 << 8 | ttl)
            self.key = _sput(k, "dl_type", a.ethertype)
            return None
        if not is_mpls:
            return None
        if isinstance(a, A.PopMpls):
            self.wc.add(0x100 << lse_ofs)
            if lse & 0x100:
                k = _sput(self.key & ~_MPLS_STACK, "dl_type", a.ethertype)
                self.was_mpls = a.ethertype not in _MPLS_TYPES
            else:
                k = _sput(self.key, "mpls_lse", _sget(self.key, "_mpls_lse1"))
                k = _sput(k, "_mpls_lse1", _sget(self.key, "_mpls_lse2"))
                k = _sput(k, "_mpls_lse2", 0)
            self.key = k
            return None
        if isinstance(a, A.SetMplsLabel):
            self.wc.add(0xFFFFF000 << lse_ofs)
            lse = (lse & 0xFFF) | (a.label & 0xFFFFF) << 12
        elif isinstance(a, A.SetMplsTc):
            self.wc.add(7 << 9 << lse_ofs)
            lse = (lse & ~(7 << 9)) | (a.tc & 7) << 9
        elif isinstance(a, A.SetMplsTtl):
            self.wc.add(0xFF << lse_ofs)
            lse = (lse & ~0xFF) | (a.ttl & 0xFF)
        elif isinstance(a, A.DecMplsTtl):
            self.wc.add(0xFF << lse_ofs)
            ttl = lse & 0xFF
            if ttl <= 1:
                self.report("warn", "MPLS decrement TTL exception")
                self.controller("invalid_ttl", 0xFFFF, 0, b"")
                return False
            lse = (lse & ~0xFF) | (ttl - 1)
        self.key = _sput(self.key, "mpls_lse", lse)
        return None

    # -- check_pkt_larger ---------------------------------------------------------------------------------------
    def check_pkt_larger(self, a: A.CheckPktLarger, rest: Sequence[A.Action]) -> None:
        """``check_pkt_len(size=N,gt(...),le(...))``: the rest of the action list translated twice, with the
        destination bit 1 (packet longer than N) and 0; then translation stops."""
        self.commit()
        saved = (self.key, self.base, self.actions, self.action_set, self.conntracked)
        branches = []
        for bit in (1, 0):
            self.key = a.dst.write(saved[0], bit)
            self.base = saved[1]
            self.actions = []
            self.action_set = list(saved[3])
            self.conntracked = saved[4]
            self.exit = False
            self.do_actions(rest)
            if not self.freezing:
                self.run_action_set()
            if self.freezing:
                self.finish_freezing()
            branches.append(tuple(self.actions))
        self.key, self.base, self.actions, _, self.conntracked = saved
        self.action_set = []
        self.actions.append(odp.CheckPktLen(a.pkt_len, branches[0], branches[1]))
        self.exit = True

    # -- queues and meters --------------------------------------------------------------------------------------
    def enqueue(self, port: int, queue: int) -> None:
        old = _sget(self.key, "skb_priority")
        self.key = _sput(self.key, "skb_priority", queue)
        self.output(port)
        self.key = _sput(self.key, "skb_priority", old)

    def meter(self, meter_id: int) -> None:
        provider = getattr(self.bridge.ofproto.meters, "provider_id", None)
        if provider is None:
            return
        pid = provider(meter_id)
        if pid is not None:
            self.actions.append(odp.Meter(pid))

    # -- learn, multipath, bundle -------------------------------------------------------------------------------
    def learn(self, a: A.Learn) -> None:
        from pyvswitch.ofproto.learn import learn_execute

        self.res.learns.append((self.bridge.name, a, self.key))
        res = learn_execute(a, self.key, self.wc, self.bridge.ofproto, side_effects=self.side_effects,
                            now=self.now)
        for kind, text in res.trace:
            self.report(kind, text)
        if self.side_effects and res.key:
            self.key = res.key

    def fin_timeout(self, a: A.FinTimeout) -> None:
        from pyvswitch.ofproto.learn import fin_timeout_execute

        changed = fin_timeout_execute(a, self.rule, self.key, self.wc, side_effects=self.side_effects,
                                      now=self.now)
        if self.rule is not None:
            self.res.fin_timeouts.append((a, self.rule))
            if changed:
                # The tables' expiry schedule assumes timeouts only grow (see pyvswitch.ofproto.learn).
                self.bridge.ofproto.tables.timeouts_changed(self.rule)

    def multipath(self, a: A.Multipath) -> None:
        from pyvswitch.ofproto.multipath import multipath_execute, report_subfield

        self.key = multipath_execute(a, self.key, self.wc)
        if self.trace is not None:
            self.report("detail", report_subfield(a.dst, self.key))

    def bundle(self, a: A.Bundle) -> None:
        from pyvswitch.ofproto.multipath import bundle_execute, report_subfield

        self.key, port = bundle_execute(a, self.key, self.wc, self._port_live)
        if a.dst is not None:
            if self.trace is not None:
                self.report("detail", report_subfield(a.dst, self.key))
        elif port != OFPP_NONE:
            self.output(port)

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
        if f.storage == "tun_metadata":
            self._tun_metadata_present(f)

    def _tun_metadata_present(self, f: Field) -> None:
        """Setting ``tun_metadataN`` makes the option present (it goes out as a Geneve option)."""
        bit = 1 << (f.ofs - F.STORAGE["tun_metadata"][0]) // F.TUN_METADATA_BITS
        self.key = _sput(self.key, "_tun_metadata_present", _sget(self.key, "_tun_metadata_present") | bit)

    def reg_move(self, a: A.RegMove) -> None:
        for sf in (a.src, a.dst):
            ok, bits = prereqs_ok_key(sf.field.prereq, self.key)
            self.wc.add(bits)
            if not ok:
                return
        v = a.src.read(self.key)
        self.wc.add(a.src.key_mask | a.dst.key_mask)
        self.key = a.dst.write(self.key, v)
        if a.dst.field.storage == "tun_metadata":
            self._tun_metadata_present(a.dst.field)
        dst = a.dst
        shown = dst.read(self.key)
        text = format_field_value(dst.field, shown) if dst.is_whole else f"{shown:#x}"
        if self.trace is not None:
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
        if self.trace is not None:
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

    def group(self, action: A.Group) -> None:
        group_id = action.group_id
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
                    if self.trace is not None:
                        self.report("detail", f"using bucket {bid}")
                    buckets = [(i, b)]
                    break
                self.report("detail", f"bucket {bid}: not live due to {why}")
            else:
                self.report("detail", "no live bucket")
        elif g.type == GroupType.SELECT:
            chosen = self.select_bucket(g, action)
            if chosen is None:
                return
            buckets = [chosen]
        else:
            self.res.unsupported.append(f"group:{group_id}")
            return
        if not self.freezing:
            self.res.groups_hit.append((group_id, tuple(i for i, _ in buckets)))
        for i, b in buckets:
            node = self.report("action", f"bucket {_bucket_id(b, i)}") if self.trace is not None else None
            saved_trace = self.trace.enter(node) if self.trace is not None and node is not None else None
            saved = self.key
            acts = _bucket_actions(b.actions)
            if not acts:
                self.report("action", "drop")
            self.depth += 1          # a bucket counts against the depth limit, as in Open vSwitch
            try:
                self.do_actions(acts)
            finally:
                self.depth -= 1
            self.key = saved
            self.exit = False
            if saved_trace is not None and self.trace is not None:
                self.trace.restore(saved_trace)
            if self.freezing:
                # A bucket is translated like a clone: what froze in it recirculates on its own, and the other
                # buckets and the actions after the group go on (Open vSwitch does the same).
                self.finish_freezing()

    def select_bucket(self, g: Any, action: A.Group) -> tuple[int, Any] | None:
        """The bucket a select group uses: by a hash of the group's ``fields`` (``selection_method=hash``), else
        by the datapath's ``dp_hash`` (Open vSwitch's default with the userspace datapath): the first pass asks
        for ``hash(sym_l4(0))`` and a recirculation, the resumed one picks the bucket from the group's hash map.
        None when no bucket can be used (or translation froze)."""
        props = g.props
        if props.selection_method == "hash":
            return self._select_by_fields(g)
        slots = _dp_hash_map(g.buckets)
        dp_hash = _sget(self.key, "dp_hash")
        if slots is None or not dp_hash:
            if slots is None:
                self.report("detail", "no live bucket")
                return None
            # Open vSwitch's report at this point, before the bucket is known.
            self.report("detail", "no live bucket")
            self.start_freezing(action)
            return None
        mask = len(slots) - 1
        self.wc.add(mask << _G["dp_hash"].ofs)
        i = slots[dp_hash & mask]
        b = g.buckets[i]
        if not self._bucket_live(b):
            self.report("detail", "no live bucket")
            return None
        if self.trace is not None:
            self.report("detail", f"using bucket {_bucket_id(b, i)}")
        return i, b

    def _bucket_live(self, b: Any) -> bool:
        return self._bucket_dead(b) is None

    def _select_by_fields(self, g: Any) -> tuple[int, Any] | None:
        basis = hash_uint64(g.props.selection_method_param)
        for name, mask in sorted(g.props.fields, key=lambda fm: _mff_rank(fm[0])):
            f = _G.get(name)
            if f is None:
                continue
            ok, bits = prereqs_ok_key(f.prereq, self.key)
            if self.is_ip():
                self.wc.add(bits & _NW_PROTO.key_mask)
            if not ok:
                continue
            value = F.get(self.key, f) & mask
            basis = hash_bytes(value.to_bytes(f.nbytes, "big"), basis)
            self.wc.add((mask & f.value_mask) << f.ofs)
        best = None
        best_score = 0
        for i, b in enumerate(g.buckets):
            bid = _bucket_id(b, i)
            if not self._bucket_live(b):
                self.report("detail", f"bucket {bid}: not live")
                continue
            score = (hash_2words(bid, basis) & 0xFFFF) * b.weight
            if best is None or score >= best_score:
                best, best_score = (i, b), score
            self.report("detail", f"bucket {bid}: score {score}")
        if best is None:
            self.report("detail", "no live bucket")
            return None
        if self.trace is not None:
            self.report("detail", f"using bucket {_bucket_id(best[1], best[0])}")
        return best


@dataclass(frozen=True, slots=True)
class _Unroll(A.Action):
    """A marker in frozen actions: the rule context (table, cookie) the actions after it ran in."""

    table_id: int
    cookie: int

    def fmt(self) -> str:
        # Open vSwitch prints this cookie in decimal (and the "restored state" one byte-swapped, see there).
        return f"unroll_xlate(table={self.table_id}, cookie={self.cookie})"


def continuation_actions(state: FrozenState) -> list[tuple[int, int, list[A.Action]]]:
    """A paused translation's remaining actions as an OpenFlow continuation carries them: (table, cookie,
    actions) for each rule context they run in."""
    segments: list[tuple[int, int, list[A.Action]]] = []
    for a in state.actions:
        if isinstance(a, _Unroll):
            segments.append((a.table_id, a.cookie, []))
        else:
            if not segments:
                segments.append((state.rule_table, state.cookie, []))
            segments[-1][2].append(a)
    return segments


def thaw_continuation(bridge: str, key: int, segments: Sequence[tuple[int, int, Sequence[A.Action]]],
                      action_set: Sequence[A.Action], conntracked: bool) -> FrozenState:
    """The frozen state an OpenFlow continuation (``NXT_RESUME``) describes, for ``translate`` to resume
    (allocate it in the bridge's ``RecircTable`` and translate a key with that ``recirc_id``).  ``key`` gives
    the pipeline fields (in_port, metadata, registers)."""
    actions: list[A.Action] = []
    for table_id, cookie, acts in segments:
        actions.append(_Unroll(table_id, cookie))
        actions.extend(acts)
    table_id, cookie = (segments[0][0], segments[0][1]) if segments else (0, 0)
    if not actions:
        actions.append(_Unroll(table_id, cookie))   # Nothing left to do: resuming runs no table either.
    return FrozenState(bridge, table_id, key & _FROZEN_PIPELINE, tuple(actions), tuple(action_set),
                       conntracked=conntracked, cookie=cookie, rule_table=table_id)


_NO_L3 = (A.Output, A.OutputTrunc, A.Enqueue, A.OutputReg, A.SetVlanVid, A.SetVlanPcp, A.SetEthSrc,
          A.SetEthDst, A.SetTunnel, A.SetQueue, A.Group)
_NO_L3_STORAGE = frozenset(("dl_src", "dl_dst", "vlan_tci", "tun_id", "pkt_mark", "metadata", "regs", "in_port",
                            "skb_priority", "tun_src", "tun_dst", "tun_flags", "ct_mark", "ct_label", "mpls_lse"))


_VLANS_ALL = _VLAN_TCI_M | _VLAN2_M | _smask("_vlan_tpid")


def _outer_key(key: int, in_port: int, smac: int, dmac: int, src: Any, params: Any, cfg: Any) -> int:
    """The flow key of the encapsulated packet as it enters the underlay bridge on ``in_port``: the outer
    Ethernet, IP and UDP headers, no VLAN, no tunnel, no pipeline fields (the inner packet's other fields stay, as
    they do in Open vSwitch's flow at that point)."""
    k = key & ~(_VLANS_ALL | _TUNNEL | _PIPELINE_ONLY | _CT_ALL | _MPLS_STACK | _L3L4)
    k = _sput(_sput(k, "dl_src", smac), "dl_dst", dmac)
    if params.dst.version == 6:
        k = _sput(k, "dl_type", ETH_TYPE_IPV6)
        k = _sput(_sput(k, "ipv6_src", int(src)), "ipv6_dst", int(params.dst))
    else:
        k = _sput(k, "dl_type", ETH_TYPE_IP)
        k = _sput(_sput(k, "nw_src", int(src)), "nw_dst", int(params.dst))
    k = _sput(_sput(k, "nw_tos", params.tos), "nw_ttl", params.ttl)
    if cfg.type == "gre":
        k = _sput(k, "nw_proto", 47)
    else:
        k = _sput(_sput(k, "nw_proto", IPPROTO_UDP), "tp_dst", cfg.dst_port)
    return F.put(k, _IN_PORT, in_port)


def _needs_l3(a: A.Action) -> bool:
    """Whether ``a`` may need the L3 header of a packet whose last MPLS label was just popped (Open vSwitch
    recirculates before such an action; outputs, Ethernet and VLAN changes and groups do not need it)."""
    if isinstance(a, A.SetField):
        return a.field.storage not in _NO_L3_STORAGE
    return not isinstance(a, _NO_L3)


def _mpls_depth(key: int) -> int:
    """How many MPLS label stack entries ``key`` has (0: not MPLS)."""
    if _sget(key, "dl_type") not in _MPLS_TYPES:
        return 0
    for n, slot in enumerate(_MPLS_SLOTS, 1):
        if _sget(key, slot) & 0x100:
            return n
    return len(_MPLS_SLOTS)


def _cookie_text(cookie: int) -> str:
    """The cookie of Open vSwitch's ``restored state`` trace line, which it prints in hex without converting it
    from network byte order: 0x77 prints as 0x7700000000000000."""
    swapped = int.from_bytes(cookie.to_bytes(8, "big"), "little")
    return f"{swapped:#x}" if swapped else "0"


# Open vSwitch hashes a select group's fields in its own field order (meta-flow's), not in the order written.
_MFF_ORDER = (
    "dp_hash recirc_id packet_type conj_id tun_id tun_src tun_dst tun_ipv6_src tun_ipv6_dst tun_flags tun_gbp_id "
    "tun_gbp_flags metadata in_port in_port_oxm actset_output skb_priority pkt_mark ct_state ct_zone ct_mark "
    "ct_label ct_nw_proto ct_nw_src ct_nw_dst ct_ipv6_src ct_ipv6_dst ct_tp_src ct_tp_dst "
    + " ".join(f"reg{i}" for i in range(16)) + " " + " ".join(f"xreg{i}" for i in range(8)) + " "
    + " ".join(f"xxreg{i}" for i in range(4))
    + " eth_src eth_dst eth_type vlan_tci dl_vlan vlan_vid dl_vlan_pcp vlan_pcp mpls_label mpls_tc mpls_bos "
    "mpls_ttl ip_src ip_dst ipv6_src ipv6_dst ipv6_label nw_proto ip_dscp nw_tos nw_ecn nw_ttl ip_frag arp_op "
    "arp_spa arp_tpa arp_sha arp_tha tcp_src tcp_dst tcp_flags udp_src udp_dst sctp_src sctp_dst icmp_type "
    "icmp_code icmpv6_type icmpv6_code nd_target nd_sll nd_tll").split()


def _mff_rank(name: str) -> tuple[int, int]:
    f = _G.get(name)
    if f is None:
        return (len(_MFF_ORDER), 0)
    for i, n in enumerate(_MFF_ORDER):
        g = _G.get(n)
        if g is not None and g.id == f.id:
            return (i, 0)
    return (len(_MFF_ORDER), f.id)


def _dp_hash_map(buckets: Sequence[Any]) -> list[int] | None:
    """A select group's dp_hash slots: slot -> bucket index, the buckets sharing the slots in proportion to their
    weights by Webster's method (as Open vSwitch fills its hash map); 16 slots at least, more (a power of 2) when
    the lightest bucket would get less than one; None when no bucket has weight or more than 256 slots would be
    needed."""
    weighted = [(i, b.weight) for i, b in enumerate(buckets) if b.weight > 0]
    if not weighted:
        return None
    total = sum(w for _, w in weighted)
    least = min(w for _, w in weighted)
    need = -(-total // least)
    n = 16
    while n < need:
        n <<= 1
    if n > 256:
        return None
    divisor = {i: 1 for i, _ in weighted}
    value = {i: float(w) for i, w in weighted}
    weight = dict(weighted)
    out = []
    for _ in range(n):
        win = weighted[0][0]
        for i, _ in weighted[1:]:
            if value[i] > value[win]:
                win = i
        divisor[win] += 2
        value[win] = weight[win] / divisor[win]
        out.append(win)
    return out


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


_SET_OR_MOVE = (A.SetField, A.RegMove, A.SetEthSrc, A.SetEthDst, A.SetIpDscp, A.SetIpEcn, A.SetIpTtl,
                A.SetIpv4Src, A.SetIpv4Dst, A.SetL4SrcPort, A.SetL4DstPort, A.SetMplsLabel, A.SetMplsTc,
                A.SetMplsTtl, A.SetTunnel, A.SetVlanPcp, A.SetVlanVid)
_BUCKET_FIRST = (A.StripVlan, A.PopMpls, A.Decap, A.Encap, A.PushMpls, A.PushVlan, A.DecTtl, A.DecMplsTtl,
                 A.DecNshTtl)


def _bucket_actions(actions: Sequence[A.Action]) -> list[A.Action]:
    """What a group bucket runs: its actions taken as an OpenFlow action set, as Open vSwitch does: the last
    of each pop, push and TTL action in that order, every field change in the order written, the last
    ``set_queue``, then the last ``group``, or else the last ``output`` (or ``resubmit``, or ``ct``); nothing
    at all when there is none of those four."""
    out: list[A.Action] = []
    for cls in _BUCKET_FIRST:
        out += [a for a in actions if type(a) is cls][-1:]
    out += [a for a in actions if isinstance(a, _SET_OR_MOVE)]
    out += [a for a in actions if type(a) is A.SetQueue][-1:]
    for cls in (A.Group, A.Output, A.Resubmit, A.Ct):
        tail = [a for a in actions if type(a) is cls][-1:]
        if tail:
            return out + tail
    return []


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
              trace: Trace | None = None, now: float | None = None,
              dont_send: bool | None = None, actions: Sequence[A.Action] | None = None) -> XlateResult:
    """Translate the packet with flow key ``key`` through ``bridge``: see the module documentation.

    ``packet`` (the packet's bytes) is not needed by the supported actions and is accepted for the callers
    that have it.  ``now`` is the time for MAC learning (the bridge's clock by default).  ``dont_send`` is the
    ``dont_send`` flag of controller cookies: by default 1 only for a trace without side effects (what
    ``ofproto/trace`` prints without ``-generate``), so that the revalidator (no side effects, no trace) gets
    the actions the upcall installed.

    A key with a non-zero ``recirc_id`` resumes the state frozen under that id in ``bridge.recirc`` (in the
    bridge it names, found with ``bridge.bridges``): its pipeline fields (in_port, metadata, registers) replace
    the key's, and translation goes on in its table (or with its actions).  An unknown id fails the translation
    (``No recirculation context``).

    ``actions`` translates a packet-out: those actions instead of the tables (an output to ``TABLE`` looks up
    table 0; a controller action outside a rule reports reason ``packet_out``)."""
    del packet
    if dont_send is None:
        dont_send = trace is not None and not side_effects
    now = bridge.ofproto.clock.now() if now is None else now
    rid = _sget(key, "recirc_id")
    state = bridge.recirc.get(rid) if rid else None
    if state is not None and state.bridge != bridge.name:
        other = bridge.bridges(state.bridge)
        if other is None:
            state = None
        else:
            bridge = other
    work = key if state is None else (key & ~_FROZEN_PIPELINE) | (state.key & _FROZEN_PIPELINE)
    ctx = _Ctx(bridge, work, side_effects, trace, now, dont_send)
    ctx.wc.add(_IN_PORT.key_mask | _DL_TYPE.key_mask | _smask("recirc_id") | T.receive_wildcards(work))
    if ctx.is_ip():
        ctx.wc.add(_NW_FRAG.key_mask)
    try:
        raw = geneve_raw(work) if T.tunnel_present(work) else b""
        if raw and not options_valid(raw, bridge.ofproto.tlv_table):
            # Geneve options the bridge cannot take in (an unknown critical option, a mapped one of the wrong
            # length): Open vSwitch's tun_metadata_from_geneve_udpif() fails and the packet is dropped.
            if side_effects:
                T.log.warning("%s: dropping a packet with invalid Geneve tunnel metadata", bridge.name)
            ctx.report("error", "Invalid Geneve tunnel metadata")
            ctx.res.error = "Invalid tunnel metadata"
            raise _Abort
        if state is None and T.tunnel_present(work) and ctx.is_ip() and _sget(work, "_tun_tos") & 3 == 3:
            # Congestion experienced on the outer header (RFC 6040): the inner packet says so too, and one that
            # is not ECN-capable is dropped (Open vSwitch does both).
            ctx.wc.add(3 << _G["nw_tos"].ofs)
            if not _sget(work, "nw_tos") & 3:
                T.log.warning("dropping tunnel packet marked ECN CE but is not ECN capable")
                ctx.report("error", "dropping tunnel packet marked ECN CE but is not ECN capable")
                raise _Abort
            ctx.key = _sput(ctx.key, "nw_tos", _sget(work, "nw_tos") | 3)
        if rid and state is None:
            ctx.report("error", f"Recirculation context not found for ID {rid:x}")
            ctx.res.error = "No recirculation context"
            raise _Abort
        if state is not None:
            ctx.resume(state)
        elif actions is not None:
            ctx.packet_out = True
            ctx.cookie = 0xFFFF_FFFF_FFFF_FFFF    # No rule: packet-ins say so with an all-ones cookie.
            ctx.do_actions(actions)
        else:
            ctx.lookup_and_run(0, honor_miss=True)
        if not ctx.freezing:
            ctx.run_action_set()
        if ctx.freezing:
            ctx.finish_freezing()
    except _Abort:
        ctx.actions = []
    if ctx.actions and ctx.tnl_clones and ctx.actions[-1] is ctx.tnl_clones[-1]:
        # Nothing follows the last tunnel output: its clone is not needed (Open vSwitch's "last action").
        ctx.actions[-1:] = list(ctx.tnl_clones[-1].actions)
    ctx.wc.mask &= ~_PIPELINE_ONLY
    if not T.tunnel_present(key):
        # A packet that did not come out of a tunnel has no tunnel fields in the datapath: what actions set or
        # read of them is not the megaflow's business (Open vSwitch clears these bits the same way).
        ctx.wc.mask &= ~_TUNNEL
    if _sget(key, "dl_type") not in _MPLS_TYPES:
        ctx.wc.mask &= ~_MPLS_STACK
    res = ctx.res
    res.actions = ctx.actions
    res.final_key = ctx.key
    res.bridge_name = bridge.name
    return res
