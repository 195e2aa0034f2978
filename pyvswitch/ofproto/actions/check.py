"""Consistency checks between actions and the match they run under (ovs-ofctl's ``ofpacts_check``).

The checks walk the action list with a copy of the match's values, which some actions update as they go (after
``push_mpls:0x8847`` the flow is MPLS, after ``strip_vlan`` it has no VLAN tag), and look for three kinds of
problem, as Open vSwitch does:

* hard errors: an output to a port that cannot exist, a ``goto_table`` that does not go forward, a ``set_field`` or
  ``move`` whose field's prerequisites the match does not guarantee, a meter id of 0...  They raise
  ``ActionCheckError`` with the OpenFlow error code.  Most also log a warning, with the text and the logger name
  (``ofp_actions``, ``meta_flow``, ``bundle``) that Open vSwitch uses.
* inconsistencies that OpenFlow 1.0 tolerates but 1.1+ forbids (``mod_nw_src`` in a flow that does not match IPv4,
  ``strip_vlan`` without a VLAN tag): they narrow the usable protocols to OpenFlow 1.0.
* nothing at all for actions that are always fine.

The walk is shared with the OpenFlow codec (``pyvswitch.openflow.ofp_actions``), which needs the same running flow
state to encode actions the way Open vSwitch does (whether a VLAN tag is already present, which L4 protocol
``mod_tp_src`` rewrites).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyvswitch.flow import fields as F
from pyvswitch.flow.fields import Field, Prereq
from pyvswitch.flow.match import Match, prereqs_ok
from pyvswitch.flow.protocols import Proto
from pyvswitch.flow.subfield import Subfield
from pyvswitch.ofproto.actions import lex
from pyvswitch.ofproto.actions.errors import ActionCheckError
from pyvswitch.ofproto.actions.model import (
    Action,
    Bundle,
    CheckPktLarger,
    Clone,
    Ct,
    Decap,
    DecMplsTtl,
    DecNshTtl,
    DecTtl,
    DeleteField,
    Encap,
    Enqueue,
    FinTimeout,
    GotoTable,
    Learn,
    Meter,
    Multipath,
    Nat,
    Output,
    OutputReg,
    OutputTrunc,
    PopMpls,
    PushMpls,
    PushVlan,
    RegMove,
    Resubmit,
    SetField,
    SetIpDscp,
    SetIpEcn,
    SetIpTtl,
    SetIpv4Dst,
    SetIpv4Src,
    SetL4DstPort,
    SetL4SrcPort,
    SetMplsLabel,
    SetMplsTc,
    SetMplsTtl,
    SetVlanPcp,
    SetVlanVid,
    StackPop,
    StackPush,
    StripVlan,
    WriteActions,
)

__all__ = ["CheckParams", "FlowState", "check_actions", "mf_check_dst", "mf_check_src", "walk_check"]

log = logging.getLogger("ofp_actions")
mf_log = logging.getLogger("meta_flow")
bundle_log = logging.getLogger("bundle")

ETH_TYPE_IP = 0x0800
ETH_TYPE_IPV6 = 0x86DD
ETH_TYPE_MPLS = 0x8847
ETH_TYPE_MPLS_MCAST = 0x8848
ETH_TYPE_NSH = 0x894F
VLAN_CFI = 0x1000
PT_ETH = 0
PT_NSH = (1 << 16) | ETH_TYPE_NSH
PT_UNKNOWN = 0xFFFFFFFF
FRAG_LATER = 2
OFPM13_MAX = 0xFFFF0000
CS_NEW, CS_EST, CS_REL, CS_RPL, CS_INV, CS_TRK, CS_SNAT, CS_DNAT = (1 << i for i in range(8))

_DL_TYPE = F.BY_NAME["eth_type"]
_NW_PROTO = F.BY_NAME["nw_proto"]
_NW_FRAG = F.BY_NAME["ip_frag"]
_CT_STATE = F.BY_NAME["ct_state"]
_PACKET_TYPE = F.BY_NAME["packet_type"]
_VLAN_TCI = F.BY_NAME["vlan_tci"]


class FlowState:
    """The match's (value, mask) as the checks see it, with the updates actions make along the way."""

    __slots__ = ("mask", "value")

    def __init__(self, value: int = 0, mask: int = 0) -> None:
        self.value = value
        self.mask = mask

    @classmethod
    def of(cls, match: Match | None) -> FlowState:
        return cls(match.value, match.mask) if match is not None else cls()

    def copy(self) -> FlowState:
        return FlowState(self.value, self.mask)

    def get(self, f: Field) -> int:
        return F.get(self.value, f)

    def put(self, f: Field, v: int) -> None:
        self.value = F.put(self.value, f, v)

    @property
    def dl_type(self) -> int:
        return self.get(_DL_TYPE)

    @dl_type.setter
    def dl_type(self, v: int) -> None:
        self.put(_DL_TYPE, v)

    @property
    def nw_proto(self) -> int:
        return self.get(_NW_PROTO)

    @property
    def packet_type(self) -> int:
        return self.get(_PACKET_TYPE)

    @property
    def is_ip_any(self) -> bool:
        return self.dl_type in (ETH_TYPE_IP, ETH_TYPE_IPV6)

    @property
    def is_mpls(self) -> bool:
        return self.dl_type in (ETH_TYPE_MPLS, ETH_TYPE_MPLS_MCAST)

    @property
    def tci(self) -> int:
        return F.storage_get(self.value, "vlan_tci")

    @tci.setter
    def tci(self, v: int) -> None:
        self.value = F.storage_put(self.value, "vlan_tci", v & 0xFFFF)

    @property
    def tci2(self) -> int:
        return F.storage_get(self.value, "_vlan2_tci")

    @tci2.setter
    def tci2(self, v: int) -> None:
        self.value = F.storage_put(self.value, "_vlan2_tci", v & 0xFFFF)

    @property
    def has_vlan(self) -> bool:
        return bool(self.tci & VLAN_CFI)

    def ct_valid(self, use_mask: bool) -> bool:
        st = self.get(_CT_STATE)
        if use_mask:
            sm = F.get(self.mask, _CT_STATE)
            return bool(st & (CS_NEW | CS_EST | CS_REL | CS_RPL | CS_SNAT | CS_DNAT)
                        or (st & CS_TRK and sm & CS_INV and not st & CS_INV))
        return bool(st & (CS_NEW | CS_EST | CS_RPL))

    def prereqs_ok(self, prereq: Prereq, use_mask: bool) -> bool:
        """Whether ``prereq`` holds for the flow's values; ``use_mask`` selects the match form of the conntrack
        check (a valid connection may also be implied by matching ``-inv`` and ``+trk``)."""
        if prereq is Prereq.ETHERNET:
            return self.packet_type == PT_ETH
        if prereq is Prereq.VLAN_VID and self.packet_type != PT_ETH:
            return False
        if prereq is Prereq.CT:
            return self.ct_valid(use_mask)
        # Open vSwitch looks only at the values here (the mask matters only for conntrack state): after
        # pop_mpls:0x0800 the flow is IPv4 although the match never said so.
        return prereqs_ok(prereq, self.value, -1)


@dataclass
class CheckParams:
    """What ``ofpacts_check`` knows besides the actions: the port and table limits, the flow's table, and the
    protocols still usable (narrowed by inconsistencies)."""

    max_ports: int = lex.OFPP_MAX
    table_id: int = 255
    n_tables: int = 255
    usable: Proto = Proto.ANY

    def inconsistent(self) -> None:
        self.usable &= Proto.OF10_ANY


def _fail(code: str) -> ActionCheckError:
    return ActionCheckError(code)


def _mf_check(sf: Subfield, flow: FlowState | None, what: str) -> None:
    f = sf.field
    if sf.n_bits == 0:
        mf_log.warning("zero bit %s field %s", what, f.name)
        raise _fail("OFPBAC_BAD_SET_LEN")
    if sf.ofs + sf.n_bits > f.nbits:
        mf_log.warning("bit offset %d and width %d exceeds %d-bit width of %s field %s", sf.ofs, sf.n_bits,
                       f.nbits, what, f.name)
        raise _fail("OFPBAC_BAD_SET_LEN")
    if flow is not None and not flow.prereqs_ok(f.prereq, use_mask=True):
        mf_log.warning("%s field %s lacks correct prerequisites", what, f.name)
        raise _fail("OFPBAC_MATCH_INCONSISTENT")


def mf_check_src(sf: Subfield, flow: FlowState | None) -> None:
    """A subfield read by an action: in range, and its prerequisites guaranteed by ``flow`` (if given)."""
    _mf_check(sf, flow, "source")


def mf_check_dst(sf: Subfield, flow: FlowState | None) -> None:
    """A subfield written by an action: like ``mf_check_src``, and the field must be writable."""
    _mf_check(sf, flow, "destination")
    if not sf.field.writable:
        mf_log.warning("destination field %s is not writable", sf.field.name)
        raise _fail("OFPBAC_BAD_SET_ARGUMENT")


def check_output_port(port: int, max_ports: int) -> None:
    if port in (lex.OFPP_IN_PORT, lex.OFPP_TABLE, lex.OFPP_NORMAL, lex.OFPP_FLOOD, lex.OFPP_ALL,
                lex.OFPP_CONTROLLER, lex.OFPP_LOCAL):
        return
    if port == lex.OFPP_NONE or port >= max_ports:
        raise _fail("OFPBAC_BAD_OUT_PORT")


def _check_learn(a: Learn, flow: FlowState) -> None:
    dst_match = FlowState()
    for spec in a.specs:
        if spec.src is not None:
            mf_check_src(spec.src, flow)
        if spec.kind == "match":
            assert spec.dst is not None
            mf_check_src(spec.dst, dst_match)
            if spec.src is None:
                dst_match.value = spec.dst.write(dst_match.value, spec.imm)
                dst_match.mask |= spec.dst.key_mask
        elif spec.kind == "load":
            assert spec.dst is not None
            mf_check_dst(spec.dst, dst_match)


def _check_set_field(a: SetField, flow: FlowState) -> None:
    f = a.field
    if not flow.prereqs_ok(f.prereq, use_mask=False) or (f.name == "vlan_vid" and not flow.has_vlan):
        log.warning("set_field %s lacks correct prerequisites", f.name)
        raise _fail("OFPBAC_MATCH_INCONSISTENT")
    if f.name == "vlan_tci":
        flow.tci = a.value


def walk_check(actions: tuple[Action, ...] | list[Action], flow: FlowState, cp: CheckParams,
               visit: object | None = None) -> None:
    """Check ``actions`` against ``flow`` (updated as the actions change it), narrowing ``cp.usable``.

    ``visit``, if given, is called as ``visit(action, flow)`` before each top-level action is checked, so that a
    caller can see the flow state each action runs under."""
    for a in actions:
        if visit is not None:
            visit(a, flow)  # type: ignore[operator]
        _check_one(a, flow, cp)


def _sub(actions: tuple[Action, ...], flow: FlowState, cp: CheckParams) -> None:
    sub = CheckParams(cp.max_ports, cp.table_id, cp.n_tables, cp.usable)
    walk_check(actions, flow.copy(), sub)
    cp.usable &= sub.usable


def _check_one(a: Action, flow: FlowState, cp: CheckParams) -> None:
    if isinstance(a, (Output, OutputTrunc)):
        check_output_port(a.port, cp.max_ports)
    elif isinstance(a, Enqueue):
        if a.port >= cp.max_ports and a.port not in (lex.OFPP_IN_PORT, lex.OFPP_LOCAL):
            raise _fail("OFPBAC_BAD_OUT_PORT")
    elif isinstance(a, OutputReg):
        mf_check_src(a.src, flow)
    elif isinstance(a, Bundle):
        if a.dst is not None:
            mf_check_dst(a.dst, flow)
        for p in a.members:
            if p != lex.OFPP_NONE:
                try:
                    check_output_port(p, cp.max_ports)
                except ActionCheckError:
                    bundle_log.warning("invalid member %d", p)
                    raise
            if p == lex.OFPP_CONTROLLER:
                bundle_log.warning("unsupported controller member")
                raise _fail("OFPBAC_BAD_OUT_PORT")
    elif isinstance(a, (SetVlanVid, SetVlanPcp)):
        if not flow.has_vlan and not a.push_vlan_if_needed:
            cp.inconsistent()
        flow.tci = flow.tci | VLAN_CFI
    elif isinstance(a, StripVlan):
        if not flow.has_vlan:
            cp.inconsistent()
        flow.tci, flow.tci2 = flow.tci2, 0
    elif isinstance(a, PushVlan):
        if flow.tci2 & VLAN_CFI:
            raise _fail("OFPBAC_BAD_TAG")
        flow.tci2 = flow.tci
        flow.tci = VLAN_CFI
    elif isinstance(a, (SetIpv4Src, SetIpv4Dst)):
        if flow.dl_type != ETH_TYPE_IP:
            cp.inconsistent()
    elif isinstance(a, (SetIpDscp, SetIpEcn, SetIpTtl, DecTtl)):
        if not flow.is_ip_any:
            cp.inconsistent()
    elif isinstance(a, (SetL4SrcPort, SetL4DstPort)):
        if (not flow.is_ip_any or flow.get(_NW_FRAG) & FRAG_LATER
                or flow.nw_proto not in (6, 17, 132)):
            cp.inconsistent()
    elif isinstance(a, RegMove):
        mf_check_src(a.src, flow)
        mf_check_dst(a.dst, flow)
    elif isinstance(a, StackPush):
        mf_check_src(a.src, flow)
    elif isinstance(a, StackPop):
        mf_check_dst(a.dst, flow)
    elif isinstance(a, SetField):
        _check_set_field(a, flow)
    elif isinstance(a, (SetMplsLabel, SetMplsTc, SetMplsTtl, DecMplsTtl)):
        if not flow.is_mpls:
            cp.inconsistent()
    elif isinstance(a, PushMpls):
        if flow.packet_type != PT_ETH:
            cp.inconsistent()
        # The packet is now MPLS: nothing can be assumed about what it carries.
        flow.dl_type = a.ethertype
        flow.put(_NW_PROTO, 0)
    elif isinstance(a, PopMpls):
        if flow.packet_type != PT_ETH or not flow.is_mpls:
            cp.inconsistent()
        flow.dl_type = a.ethertype
    elif isinstance(a, DecNshTtl):
        if flow.packet_type != PT_NSH or flow.dl_type != ETH_TYPE_NSH:
            cp.inconsistent()
    elif isinstance(a, DeleteField):
        if not a.field.name.startswith("tun_metadata"):
            raise _fail("OFPBAC_BAD_ARGUMENT")
    elif isinstance(a, Encap):
        pt = {"ethernet": PT_ETH, "nsh": PT_NSH, "mpls": (1 << 16) | ETH_TYPE_MPLS,
              "mpls_mc": (1 << 16) | ETH_TYPE_MPLS_MCAST}[a.header]
        flow.put(_PACKET_TYPE, pt)
        if pt >> 16 == 1:
            flow.dl_type = pt & 0xFFFF
        if not flow.is_ip_any:
            flow.put(_NW_PROTO, 0)
    elif isinstance(a, Decap):
        if flow.packet_type == PT_ETH:
            flow.put(_PACKET_TYPE, (1 << 16) | flow.dl_type)
        else:
            flow.put(_PACKET_TYPE, PT_UNKNOWN)
            flow.dl_type = 0xFFFF
    elif isinstance(a, FinTimeout):
        if flow.nw_proto != 6:
            cp.inconsistent()
    elif isinstance(a, Resubmit):
        if a.with_ct_orig and not flow.ct_valid(use_mask=True):
            raise _fail("OFPBAC_MATCH_INCONSISTENT")
    elif isinstance(a, Learn):
        _check_learn(a, flow)
    elif isinstance(a, Multipath):
        mf_check_dst(a.dst, flow)
    elif isinstance(a, Ct):
        if (not flow.is_ip_any or (flow.get(_CT_STATE) & CS_INV and a.commit)
                or (a.alg == 21 and flow.nw_proto != 6) or (a.alg == 69 and flow.nw_proto != 17)):
            raise _fail("OFPBAC_MATCH_INCONSISTENT")
        if a.zone_src is not None:
            mf_check_src(a.zone_src, flow)
            return
        _sub(a.actions, flow, cp)
    elif isinstance(a, Nat):
        dl = flow.dl_type
        if (dl not in (ETH_TYPE_IP, ETH_TYPE_IPV6) or (a.family == 4 and dl != ETH_TYPE_IP)
                or (a.family == 6 and dl != ETH_TYPE_IPV6)):
            raise _fail("OFPBAC_MATCH_INCONSISTENT")
    elif isinstance(a, Clone):
        _sub(a.actions, flow, cp)
    elif isinstance(a, WriteActions):
        # Write-actions may hold actions OpenFlow 1.0 cannot express: they only matter if executed.
        tmp = CheckParams(cp.max_ports, cp.table_id, cp.n_tables, cp.usable)
        walk_check(a.actions, flow.copy(), tmp)
    elif isinstance(a, Meter):
        if a.meter_id == 0 or a.meter_id > OFPM13_MAX:
            raise _fail("OFPMMFC_INVALID_METER")
    elif isinstance(a, GotoTable):
        if (cp.table_id != 255 and a.table_id <= cp.table_id) or (cp.n_tables != 255
                                                                  and a.table_id >= cp.n_tables):
            raise _fail("OFPBIC_BAD_TABLE_ID")
    elif isinstance(a, CheckPktLarger):
        pass


def check_actions(actions: list[Action] | tuple[Action, ...], match: Match | None = None, *,
                  max_ports: int = lex.OFPP_MAX, table_id: int = 255, n_tables: int = 255,
                  usable: Proto | None = None) -> Proto:
    """Check ``actions`` against ``match`` as ovs-ofctl does before it accepts a flow.

    ``table_id`` is the flow's table (255 when the flow-mod names none, which disables the "goto_table must go
    forward" check, as in ovs-ofctl); ``n_tables`` the number of tables (255: no limit); ``max_ports`` the first
    invalid port number.  ``usable`` is the set of protocols usable so far (default: what the actions themselves
    allow, ``actions_usable_protocols``).

    Returns the protocols still usable: inconsistencies OpenFlow 1.0 tolerates narrow the set to OpenFlow 1.0.
    Raises ``ActionCheckError`` for hard errors, and with ``OFPBAC_MATCH_INCONSISTENT`` when no protocol is left
    (callers that narrow the result further by the match's own protocols should raise the same when their set
    becomes empty).  Warnings are logged as Open vSwitch logs them (loggers ``ofp_actions``, ``meta_flow``,
    ``bundle``).
    """
    if usable is None:
        from pyvswitch.ofproto.actions.proto import actions_usable_protocols
        usable = actions_usable_protocols(actions)
    cp = CheckParams(max_ports, table_id, n_tables, usable)
    walk_check(tuple(actions), FlowState.of(match), cp)
    if not cp.usable:
        raise _fail("OFPBAC_MATCH_INCONSISTENT")
    return cp.usable
