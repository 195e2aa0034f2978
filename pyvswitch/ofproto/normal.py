"""NORMAL: the MAC-learning switch action, translated as Open vSwitch's ``xlate_normal`` does.

``normal`` is a pure function of the bridge's port VLAN configuration, the MAC learning table and one flow
key. It returns what NORMAL does with that packet (``NormalResult``: the outputs in order with the VLAN tag
each one leaves with, the same as datapath actions, whether it flooded, why it dropped) and records in a
``Wildcards`` the key bits the decision consulted, so that the megaflow translation installs is exactly as
wide as Open vSwitch's. Its only side effect is learning the source address, and only when ``learn`` is true
(a revalidator translates with ``learn=False``).

VLANs (ovs-vswitchd.conf.db(5), Port table, ``tag``/``trunks``/``vlan_mode``)
------------------------------------------------------------------------------
A port's mode is its ``vlan_mode`` column, or when that is empty ``access`` if ``tag`` is set and ``trunk``
otherwise.  The port's VLAN is ``tag`` (0 when missing); a trunk port has none (its ``tag`` is ignored).  The
VLANs a port trunks are ``trunks`` (empty: all 4096); a native port always trunks its native VLAN and never
VLAN 0 when its native VLAN is not 0 (Open vSwitch forces both).

Input: the frame's VID is the 12 VID bits of its 802.1Q tag, 0 when untagged or priority-tagged (VID 0).

=================  ===========================================================  ======================
mode               admitted                                                     VLAN of the frame
=================  ===========================================================  ======================
access             VID 0 only (a tagged frame is dropped)                       the port's ``tag``
trunk              VID in ``trunks`` (so an untagged frame needs VLAN 0 there)  the VID
native-tagged      VID 0, or a VID the port trunks                              VID, or ``tag`` if 0
native-untagged    as native-tagged                                             as native-tagged
=================  ===========================================================  ======================

Output: a port carries VLAN *v* if it is an access port of VLAN *v* or trunks *v* (native ports included).
The frame leaves an access port untagged, a trunk or native-tagged port tagged with *v* (untagged when *v* is
0), a native-untagged port untagged when *v* is its native VLAN and tagged otherwise.  A tag keeps the
received frame's priority (PCP).  A frame of VLAN 0 that arrived priority-tagged with a nonzero PCP keeps that
priority tag (VID 0, same PCP) when it leaves a trunk or native-tagged port, as in Open vSwitch.  An otherwise
untagged frame with a nonzero PCP gets a priority tag (VID 0, that PCP) on a port whose
``other_config:priority-tags`` is ``if-nonzero`` or ``always``; Open vSwitch 3.1 adds none for PCP 0 even with
``always``, and neither does this module.

Forwarding
----------
1. A frame from a mirror output port (Open vSwitch drops it on entry, consulting only ``in_port``), from an
   unknown port, or with a partial VLAN tag (802.1Q type but no CFI, which the flow key represents as
   ``vlan_tci`` without the CFI bit and ``dl_type`` 0x8100) is dropped.
2. Its VID must be admitted by the input port (table above), else dropped.
3. Reserved multicast destinations (01:80:c2:00:00:00 to 0f, the 802.1D bridge group addresses, and Cisco's
   01:00:0c:cc:cc:c0 to c7, cc, cd, 01:00:0c:cd:cd:cd and 01:00:0c:00:00:00) are dropped unless the bridge
   forwards BPDUs (``other_config:forward-bpdu``).
4. With ``learn``, the source is learned on (VLAN, input port), except in a VLAN of ``flood_vlans`` (nothing
   is learned or looked up there) and for multicast sources.  A broadcast ARP that is a reply, or a request
   whose sender and target IP addresses are equal, is a gratuitous ARP and takes the learning table's
   gratuitous-ARP lock.
5. The destination is looked up in (VLAN, dl_dst).  Found on another port: output there.  Found on the input
   port, on a mirror output port, or on a port not in ``ports``: drop.  Not found (multicast and broadcast
   never are: there is no IGMP snooping here): flood to every port that carries the VLAN, except the input
   port, ports with ``no_flood`` and mirror output ports, in the order of the ``ports`` mapping (the caller
   passes the bridge's port order; Open vSwitch floods in the order of its bundle list).  An output to a
   ``no_fwd`` port is skipped without a trace in the datapath actions; a port that is merely ``down`` still
   gets its output (as Open vSwitch does for a non-bond port).

Datapath actions and megaflow
-----------------------------
The outputs become datapath actions as Open vSwitch's action commit makes them: before each output, if the tag
the frame must leave with differs from the tag it has at that point, ``pop_vlan`` (when it has one) then
``push_vlan(vid=V,pcp=P)`` (when it must have one); outputs follow one another without repeating unchanged
tags. So the order of ports matters and the number of VLAN changes is what that order implies.

Wildcards: NORMAL consults ``in_port``, ``dl_src``, ``dl_dst`` and the VID and CFI bits of ``vlan_tci`` for
every frame.  Gratuitous-ARP detection, which runs once a frame is admitted, consults ``dl_type`` for
broadcast destinations, then for ARP ``arp_op``, and for an ARP request ``arp_spa`` and ``arp_tpa``.  Popping
the received tag before an output consults the whole ``vlan_tci`` (PCP included), because the commit compares
the whole tag. What the datapath adds when a megaflow is installed (``recirc_id``, ``packet_type``, an exact
``dl_type``, no VLAN mask for an untagged frame) is not NORMAL's doing and is not recorded here.

Not supported: bonds (and so SLB's learned-elsewhere drops), IGMP/MLD snooping, 802.1ad ``dot1q-tunnel``
ports and second tags (``cvlans``), RSTP/STP port states, the ``NORMAL`` action's mirroring and NetFlow side
effects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pyvswitch.dpif import odp
from pyvswitch.flow import fields as F
from pyvswitch.flow.match import ETH_TYPE_ARP, ETH_TYPE_VLAN, ETH_TYPE_VLAN_8021AD, VLAN_CFI, Wildcards
from pyvswitch.ofproto.mac_learning import MacLearning

__all__ = [
    "ARP_OP_REPLY",
    "ARP_OP_REQUEST",
    "DROP_INPUT_MIRROR",
    "DROP_LEARNED_INPUT",
    "DROP_LEARNED_MIRROR",
    "DROP_LEARNED_UNKNOWN",
    "DROP_NO_INPUT_PORT",
    "DROP_PARTIAL_VLAN",
    "DROP_RESERVED_MAC",
    "DROP_VLAN",
    "VLAN_MODES",
    "NormalResult",
    "PortOutput",
    "PortVlanConfig",
    "is_gratuitous_arp",
    "normal",
]

VLAN_MODES = ("access", "trunk", "native-tagged", "native-untagged")
PRIORITY_TAGS = ("never", "if-nonzero", "always")
ARP_OP_REQUEST = 1
ARP_OP_REPLY = 2
BROADCAST = (1 << 48) - 1
# Destinations a bridge does not forward unless ``other_config:forward-bpdu`` is true: the IEEE 802.1D bridge
# group addresses 01:80:c2:00:00:00..0f and Cisco's protocol addresses (found by probing a real ovs-vswitchd
# 3.1).
_RESERVED_MACS = frozenset([0x0180C2000000 | i for i in range(16)] + [0x01000CCCCCC0 | i for i in range(8)]
                           + [0x01000CCCCCCC, 0x01000CCCCCCD, 0x01000CCDCDCD, 0x01000C000000])

# Drop reasons (``NormalResult.drop_reason``), in the words of Open vSwitch's trace where it has them.
DROP_NO_INPUT_PORT = "no input bundle"
DROP_PARTIAL_VLAN = "partial VLAN tag"
DROP_INPUT_MIRROR = "input port is mirror output port"
DROP_VLAN = "disallowed VLAN VID for this input port"
DROP_RESERVED_MAC = "packet has reserved destination MAC"
DROP_LEARNED_MIRROR = "learned port is a mirror port"
DROP_LEARNED_INPUT = "learned port is input port"
DROP_LEARNED_UNKNOWN = "learned port is unknown"

_IN_PORT = F.BY_NAME["in_port"]
_DL_SRC = F.BY_NAME["dl_src"]
_DL_DST = F.BY_NAME["dl_dst"]
_DL_TYPE = F.BY_NAME["dl_type"]
_VLAN_TCI = F.BY_NAME["vlan_tci"]
_ARP_OP = F.BY_NAME["arp_op"]
_ARP_SPA = F.BY_NAME["arp_spa"]
_ARP_TPA = F.BY_NAME["arp_tpa"]

_VID_MASK = 0x0FFF
_PCP_SHIFT = 13
# What every NORMAL decision consults.
_BASE_WC = (_IN_PORT.key_mask | _DL_SRC.key_mask | _DL_DST.key_mask
            | F.field_mask(_VLAN_TCI, _VID_MASK | VLAN_CFI))


@dataclass(frozen=True, slots=True)
class PortVlanConfig:
    """One bridge port as NORMAL sees it: the Port table's ``tag``, ``trunks``, ``vlan_mode`` and
    ``other_config:priority-tags`` columns, the OpenFlow port config flags ``no_flood``/``no_fwd``/``down``
    (``ovs-ofctl mod-port``), and whether a Mirror outputs to it (``is_mirror_output``: such a port is only a
    mirror's destination, never a switching port).

    ``tag`` None and ``vlan_mode`` None are the empty columns; ``trunks`` empty means every VLAN."""

    name: str
    ofport: int
    tag: int | None = None
    trunks: frozenset[int] = frozenset()
    vlan_mode: str | None = None
    priority_tags: str = "never"
    no_flood: bool = False
    no_fwd: bool = False
    down: bool = False
    is_mirror_output: bool = False

    def __post_init__(self) -> None:
        if self.vlan_mode is not None and self.vlan_mode not in VLAN_MODES:
            raise ValueError(f"bad vlan_mode {self.vlan_mode!r}")
        if self.priority_tags not in PRIORITY_TAGS:
            raise ValueError(f"bad priority-tags {self.priority_tags!r}")
        if self.tag is not None and not 0 <= self.tag <= 4095:
            raise ValueError(f"bad tag {self.tag}")
        object.__setattr__(self, "trunks", frozenset(v for v in self.trunks if 0 <= v <= 4095))

    @property
    def mode(self) -> str:
        """The effective mode: ``vlan_mode``, or access when ``tag`` is set and trunk otherwise."""
        if self.vlan_mode is not None:
            return self.vlan_mode
        return "access" if self.tag is not None else "trunk"

    @property
    def vlan(self) -> int | None:
        """The access or native VLAN (0 when ``tag`` is empty), None for a trunk port."""
        return None if self.mode == "trunk" else (self.tag or 0)

    def trunks_vlan(self, vlan: int) -> bool:
        """Whether the port carries ``vlan`` as a trunk (never for an access port).  A native port with a
        nonzero native VLAN always trunks it and never trunks VLAN 0."""
        mode = self.mode
        if mode == "access":
            return False
        if mode != "trunk":
            native = self.tag or 0
            if native and (not self.trunks or native not in self.trunks or 0 in self.trunks):
                # Open vSwitch rewrites such a trunk set: the native VLAN in, VLAN 0 out.
                return vlan != 0 and (not self.trunks or vlan in self.trunks or vlan == native)
        return not self.trunks or vlan in self.trunks

    def includes_vlan(self, vlan: int) -> bool:
        """Whether a frame in ``vlan`` may leave through this port."""
        if self.mode == "access":
            return vlan == (self.tag or 0)
        return self.trunks_vlan(vlan)

    def admits_vid(self, vid: int) -> bool:
        """Whether a frame received with ``vid`` (0: untagged or priority-tagged) is admitted."""
        mode = self.mode
        if mode == "access":
            return vid == 0
        if mode != "trunk" and vid == 0:
            return True
        return self.trunks_vlan(vid)

    def input_vlan(self, vid: int) -> int:
        """The VLAN an admitted frame received with ``vid`` belongs to."""
        mode = self.mode
        if mode == "access":
            return self.tag or 0
        if mode == "trunk":
            return vid
        return vid or (self.tag or 0)

    def output_vid(self, vlan: int) -> int:
        """The VID a frame of ``vlan`` leaves with (0: untagged)."""
        mode = self.mode
        if mode == "access":
            return 0
        if mode == "native-untagged" and vlan == (self.tag or 0):
            return 0
        return vlan


@dataclass(frozen=True, slots=True)
class PortOutput:
    """One output of NORMAL: OpenFlow port ``port``, and the 802.1Q tag the frame leaves with:
    ``vid``/``pcp``, or ``vid`` None for untagged (``vid`` 0 with a ``pcp`` is a priority tag).  ``change``
    says what that means for the frame as received: ``keep`` (same tag, or untagged both ways), ``push``
    (received untagged), ``strip`` (leaves untagged) or ``retag`` (another tag)."""

    port: int
    vid: int | None
    pcp: int = 0
    change: str = "keep"

    @property
    def tci(self) -> int:
        return 0 if self.vid is None else self.vid | self.pcp << _PCP_SHIFT | VLAN_CFI


@dataclass(slots=True)
class NormalResult:
    """What NORMAL did with one packet.

    ``outputs``: the outputs in order (OpenFlow ports).  ``actions``: the same as datapath actions, with the
    VLAN changes between outputs as Open vSwitch's commit emits them, and ``Output`` actions naming OpenFlow
    ports (``datapath_actions`` maps them).  ``flood``: the destination was unknown and the frame flooded.
    ``drop_reason``: why NORMAL dropped it, None when it forwarded or flooded (a flood may still reach no
    port). ``vlan``: the VLAN the frame was switched in (None when dropped before that was known).
    ``learned``: the (VLAN, MAC, port) learning was applied for (only with ``learn``); ``learn_changed``: the
    table's answer for it changed (a new entry or a move).  ``gratuitous_arp``: the frame is a gratuitous
    ARP."""

    outputs: list[PortOutput] = field(default_factory=list)
    actions: list[odp.Action] = field(default_factory=list)
    flood: bool = False
    drop_reason: str | None = None
    vlan: int | None = None
    learned: tuple[int, int, int] | None = None
    learn_changed: bool = False
    gratuitous_arp: bool = False

    def datapath_actions(self, dp_ports: Mapping[int, int]) -> list[odp.Action]:
        """``actions`` with each OpenFlow output port replaced by its datapath port (``dpif/show``)."""
        return [odp.Output(dp_ports[a.port]) if isinstance(a, odp.Output) else a for a in self.actions]


def is_gratuitous_arp(key: int, wc: Wildcards | None = None) -> bool:
    """Whether the frame is a gratuitous ARP: a broadcast ARP reply, or a broadcast ARP request whose sender
    and target protocol addresses are equal.  Records in ``wc`` the bits it consults (``dl_dst``, then
    ``dl_type``, ``arp_op``, ``arp_spa``/``arp_tpa``) in that order, stopping as soon as the answer is
    known."""
    mask = _DL_DST.key_mask
    result = False
    if F.get(key, _DL_DST) == BROADCAST:
        mask |= _DL_TYPE.key_mask
        if F.get(key, _DL_TYPE) == ETH_TYPE_ARP:
            mask |= _ARP_OP.key_mask
            op = F.get(key, _ARP_OP)
            if op == ARP_OP_REPLY:
                result = True
            elif op == ARP_OP_REQUEST:
                mask |= _ARP_SPA.key_mask | _ARP_TPA.key_mask
                result = F.get(key, _ARP_SPA) == F.get(key, _ARP_TPA)
    if wc is not None:
        wc.add(mask)
    return result


def normal(ports: Mapping[int, PortVlanConfig], key: int, in_port: int, mac_table: MacLearning,
           wc: Wildcards, *, learn: bool, now: float, flood_vlans: Iterable[int] = frozenset(),
           forward_bpdu: bool = False) -> NormalResult:
    """Translate NORMAL for the packet with flow ``key`` received on OpenFlow port ``in_port``; see the module
    documentation for the rules.

    ``ports`` maps OpenFlow port numbers to their configuration, in the bridge's port order (the flood order).
    ``mac_table`` is learned into (ports are OpenFlow port numbers) only when ``learn``; ``now`` is the time
    for learning.  ``flood_vlans`` (the Bridge ``flood_vlans`` column) are VLANs with neither learning nor
    lookup, on top of ``mac_table.flood_vlans``.  The key bits consulted are ORed into ``wc``."""
    res = NormalResult()
    in_cfg = ports.get(in_port)
    if in_cfg is not None and in_cfg.is_mirror_output:
        # Open vSwitch drops these as the packet enters the bridge, having looked at nothing but the port.
        wc.add(_IN_PORT.key_mask)
        res.drop_reason = DROP_INPUT_MIRROR
        return res
    wc.add(_BASE_WC)
    if in_cfg is None:
        res.drop_reason = DROP_NO_INPUT_PORT
        return res
    tci = F.get(key, _VLAN_TCI)
    dl_type = F.get(key, _DL_TYPE)
    if dl_type in (ETH_TYPE_VLAN, ETH_TYPE_VLAN_8021AD) and not tci & VLAN_CFI:
        res.drop_reason = DROP_PARTIAL_VLAN
        return res
    vid = tci & _VID_MASK if tci & VLAN_CFI else 0
    if not in_cfg.admits_vid(vid):
        res.drop_reason = DROP_VLAN
        return res
    vlan = in_cfg.input_vlan(vid)
    res.vlan = vlan
    dl_dst = F.get(key, _DL_DST)
    if not forward_bpdu and dl_dst in _RESERVED_MACS:
        res.drop_reason = DROP_RESERVED_MAC
        return res

    flooding_vlan = vlan in frozenset(flood_vlans)
    res.gratuitous_arp = is_gratuitous_arp(key, wc)
    dl_src = F.get(key, _DL_SRC)
    if learn and not flooding_vlan and mac_table.may_learn(vlan, dl_src):
        res.learned = (vlan, dl_src, in_port)
        res.learn_changed = mac_table.learn(vlan, dl_src, in_port, now, gratuitous_arp=res.gratuitous_arp)

    found = None if flooding_vlan else mac_table.lookup(vlan, dl_dst)
    targets: list[PortVlanConfig]
    if found is None:
        res.flood = True
        targets = [p for p in ports.values() if p.ofport != in_port and not p.no_flood
                   and not p.is_mirror_output and p.includes_vlan(vlan)]
    else:
        out_cfg = ports.get(found) if isinstance(found, int) else None
        if out_cfg is None:
            # The entry names a port the bridge does not have (the bridge flushes a deleted port's entries, so
            # this is a caller's slip); Open vSwitch drops then.
            res.drop_reason = DROP_LEARNED_UNKNOWN
            return res
        if out_cfg.is_mirror_output:
            res.drop_reason = DROP_LEARNED_MIRROR
            return res
        if out_cfg.ofport == in_port:
            res.drop_reason = DROP_LEARNED_INPUT
            return res
        targets = [out_cfg]

    pcp = tci >> _PCP_SHIFT if tci & VLAN_CFI else 0
    current = tci if tci & VLAN_CFI else 0
    for out in targets:
        if out.no_fwd:
            continue
        out_vid = out.output_vid(vlan)
        if out_vid:
            po_vid: int | None = out_vid
        elif pcp and out.mode in ("trunk", "native-tagged"):
            # VLAN 0 leaving a tagging port: the received priority tag (VID 0, the frame's PCP) stays.
            po_vid = 0
        elif pcp and out.priority_tags != "never":
            po_vid = 0
        else:
            po_vid = None
        po = PortOutput(out.ofport, po_vid, pcp if po_vid is not None else 0)
        want = po.tci
        received = tci if tci & VLAN_CFI else 0
        change = ("keep" if want == received else "push" if not received
                  else "strip" if not want else "retag")
        res.outputs.append(PortOutput(po.port, po.vid, po.pcp, change))
        if want != current:
            if current:
                res.actions.append(odp.PopVlan())
                # Popping compares the whole received tag, so the megaflow pins all of it.
                wc.add(_VLAN_TCI.key_mask)
            if want:
                res.actions.append(odp.PushVlan(vid=want & _VID_MASK, pcp=want >> _PCP_SHIFT))
            current = want
        res.actions.append(odp.Output(out.ofport))
    return res
