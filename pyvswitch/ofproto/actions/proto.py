"""Actions and OpenFlow protocol versions: which protocols can carry an action list, and what an OpenFlow encode
and decode in a given version turns it into.

Open vSwitch keeps one internal form of each action and translates on the wire, so a flow added in one version
and read back in another may print differently (ovs-actions(7) "Inter-Version Compatibility").  ovs-ofctl's
``parse-flow`` shows exactly that round trip for the protocol it chooses.  ``normalize_actions`` reproduces it
without a wire codec, from these rules, each checked against ``ovs-ofctl parse-flow -O OpenFlowXX``:

* OpenFlow 1.0 has no instructions: ``goto_table:N`` becomes ``resubmit(,N)``; ``clear_actions`` and
  ``write_actions(...)`` are dropped; ``write_metadata`` stays (a Nicira extension) but must then come after the
  apply actions, or the decoder rejects the order.
* OpenFlow 1.0 and 1.1 have no set-field: ``set_field`` becomes the specific action (``mod_dl_src``,
  ``mod_nw_src``, ``mod_nw_tos``, ``mod_tp_src``, ``mod_vlan_vid``...) where there is one, and otherwise Nicira's
  register load, which reads back as ``load:`` (one per run of mask bits, 64 bits at most).
* OpenFlow 1.2 and later have no specific rewrite actions: ``mod_dl_src`` and friends come back as ``set_field``;
  ``mod_vlan_vid`` adds ``push_vlan`` when the flow has no tag, and sets ``vlan_vid`` with the "present" bit
  (``set_field:4101->vlan_vid``); ``enqueue`` becomes ``set_queue,output,pop_queue``; a partial ``set_field``
  goes out as a register load before OpenFlow 1.5.
* ``note`` bytes are padded with zeros to a length of 6 modulo 8 (the action's 8-byte alignment).
* ``strip_vlan`` reads back as ``pop_vlan`` in OpenFlow 1.1+, and ``set_vlan_vid`` as ``mod_vlan_vid`` in 1.0.

Actions that Open vSwitch can encode but then refuses to decode raise ``ActionDecodeError`` with the OpenFlow error
code (ovs-ofctl prints ``***decode error: CODE***``), after logging the warning Open vSwitch logs.
"""

from __future__ import annotations

import logging

from pyvswitch.flow import fields as F
from pyvswitch.flow.fields import Field, Support
from pyvswitch.flow.match import Match
from pyvswitch.flow.subfield import Subfield
from pyvswitch.ofproto.actions.check import CheckParams, FlowState, _check_one, walk_check
from pyvswitch.ofproto.actions.errors import ActionCheckError, ActionDecodeError
from pyvswitch.ofproto.actions.fieldtext import format_field_value, full_mask, value_is_valid
from pyvswitch.ofproto.actions.model import (
    Action,
    Bundle,
    CheckPktLarger,
    ClearActions,
    Clone,
    Ct,
    DebugRecirc,
    DebugSlow,
    Decap,
    DecNshTtl,
    Encap,
    Enqueue,
    GotoTable,
    Inst,
    Learn,
    Meter,
    Multipath,
    Nat,
    Note,
    Output,
    OutputReg,
    PopQueue,
    PushMpls,
    PushVlan,
    RegMove,
    Resubmit,
    SetEthDst,
    SetEthSrc,
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
    SetQueue,
    SetTunnel,
    SetVlanPcp,
    SetVlanVid,
    StackPop,
    StackPush,
    StripVlan,
    WriteActions,
    WriteMetadata,
)
from pyvswitch.ofproto.protocols import PROTO_VERSION, Proto

__all__ = ["actions_usable_protocols", "field_usable_protocols", "normalize_actions"]

log = logging.getLogger("ofp_actions")
mf_log = logging.getLogger("meta_flow")
nx_log = logging.getLogger("nx_match")

OF13_UP = Proto.OF13_OXM | Proto.OF14_OXM | Proto.OF15_OXM
NXM_OF11_UP = Proto.OF10_NXM_ANY | Proto.OF11_UP


def field_usable_protocols(f: Field) -> Proto:
    """The protocols that can match (and so set) field ``f`` exactly: NXM and OXM always, the OpenFlow 1.0 and
    1.1 fixed matches when they have the field."""
    p = Proto.NXM_OXM_ANY
    if f.of10 is not Support.NO:
        p |= Proto.OF10_STD_ANY
    if f.of11 is not Support.NO:
        p |= Proto.OF11_STD
    return p


def actions_usable_protocols(actions: list[Action] | tuple[Action, ...]) -> Proto:
    """The protocol variants able to carry ``actions`` on their own (before any consistency with a match):
    ``meter`` and ``encap`` need OpenFlow 1.3+, ``push_vlan`` 1.1+, ``write_metadata`` anything but the OpenFlow
    1.0 fixed match, ``set_field`` what can match its field; everything else has an encoding everywhere."""
    return _usable(actions, Proto.ANY)


def _usable(actions: list[Action] | tuple[Action, ...], p: Proto) -> Proto:
    # ovs-ofctl accumulates these restrictions in one variable as it parses, and the parser of ``clone`` starts
    # its nested list by resetting that variable: whatever the actions before a clone (at any depth) required is
    # forgotten.  ``ct(exec(...))`` parses into a separate variable and folds it back.  That is reproduced so
    # that the protocol choice, and so the printed flow, agree with ovs-ofctl's.
    for a in actions:
        if isinstance(a, (Meter, Encap)):
            p &= OF13_UP
        elif isinstance(a, PushVlan):
            p &= Proto.OF11_UP
        elif isinstance(a, WriteMetadata):
            p &= NXM_OF11_UP
        elif isinstance(a, SetField) and not a.load:
            p &= field_usable_protocols(a.field)
        elif isinstance(a, Clone):
            p = _usable(a.actions, Proto.ANY)
        elif isinstance(a, WriteActions):
            p = _usable(a.actions, p)
        elif isinstance(a, Ct):
            p &= _usable(a.actions, Proto.ANY)
    return p


def _version(proto: Proto) -> int:
    for p in Proto:
        if p.value and p.value & proto.value and p in PROTO_VERSION:
            return PROTO_VERSION[p]
    raise ValueError(f"no protocol in {proto!r}")


def _decode_error(code: str, warning: str | None = None, logger: logging.Logger = log) -> ActionDecodeError:
    if warning:
        logger.warning("%s", warning)
    return ActionDecodeError(code)


_IN_PORT = F.BY_NAME["in_port"]
_VLAN_VID = F.BY_NAME["vlan_vid"]
_VLAN_PCP = F.BY_NAME["vlan_pcp"]
_L4_FIELDS = {6: ("tcp_src", "tcp_dst"), 17: ("udp_src", "udp_dst"), 132: ("sctp_src", "sctp_dst")}
_VENDOR_TYPES = {Encap: 46, Decap: 47, DecNshTtl: 48}


def _needs_header(sf: Subfield | None) -> None:
    """Nicira actions name fields by NXM/OXM header; a field without one cannot be decoded."""
    if sf is not None and not sf.field.headers:
        raise _decode_error("OFPBMC_BAD_FIELD")


def _via_header(f: Field) -> Field:
    """The field a write to ``f`` decodes as.  A field without any NXM/OXM header goes out with header 0, which
    reads back as ``in_port`` when the sizes agree (Open vSwitch does this; it is reproduced, not endorsed)."""
    if f.headers:
        return f
    if f.nbytes == _IN_PORT.nbytes:
        return _IN_PORT
    raise _decode_error("OFPBAC_BAD_SET_LEN")


def _reg_load2(sf: SetField) -> bool:
    """Whether a register load of ``sf`` needs NXAST_REG_LOAD2 (a header that REG_LOAD cannot carry)."""
    f = sf.field
    return not f.headers or f.headers[0].oxm_class == F.OXM_EXP or f.name.startswith("tun_metadata")


def _check_wildcards(f: Field, value: int, mask: int | None, version: int) -> None:
    if mask is not None and value & ~mask & full_mask(f):
        h = f.headers[0] if f.headers else None
        nbytes = f.nbytes
        if f.name.startswith("tun_metadata"):
            # Variable-length fields go out as long as their value and mask need.
            nbytes = max(1, (max(value, mask).bit_length() + 7) // 8)
        desc = (f"{h.experimenter}:{h.oxm_class}:{h.oxm_field}:1:{2 * nbytes}" if h else
                f"0:0:0:1:{2 * nbytes}")
        raise _decode_error("OFPBMC_BAD_WILDCARDS", f"Rejecting NXM/OXM entry {desc} with 1-bits in value for bits "
                            "wildcarded by the mask.", nx_log)


def _to_nxast(sf: SetField) -> list[Action]:
    if _reg_load2(sf):
        f = _via_header(sf.field)
        _check_wildcards(sf.field, sf.value, sf.mask, 0)
        return [SetField(f, sf.value, sf.mask, load=False)]
    if not sf.field.writable:
        raise _decode_error("OFPBAC_BAD_SET_ARGUMENT", f"destination field {sf.field.name} is not writable",
                            mf_log)
    return [SetField(sub.field, v << sub.ofs, sub.mask, load=True) for sub, v in sf.load_segments()]


def _to_set_field(sf: SetField, version: int) -> list[Action]:
    """OFPAT_SET_FIELD in OpenFlow 1.2+ (with a mask only in 1.5), read back."""
    f = _via_header(sf.field)
    mask = sf.mask if version >= 6 else None
    if mask is not None:
        _check_wildcards(f, sf.value, mask, version)
    if f.name == "in_port_oxm":
        raise _decode_error("OFPBAC_BAD_SET_ARGUMENT")
    if not f.writable:
        raise _decode_error("OFPBAC_BAD_SET_ARGUMENT", f"destination field {f.name} is not writable", mf_log)
    m = full_mask(f) if mask is None else mask
    if not value_is_valid(f, sf.value) or (f is _VLAN_VID and not (m & sf.value & 0x1000)):
        raise _decode_error("OFPBAC_BAD_SET_ARGUMENT",
                            f"Invalid value for set field {f.name}: {format_field_value(f, sf.value)}")
    return [SetField(f, sf.value, mask, load=False)]


def _legacy_set_field(sf: SetField, version: int, flow: FlowState) -> list[Action]:
    """set_field in OpenFlow 1.0/1.1: the specific action when there is one."""
    name = sf.field.name
    v = sf.value
    of10 = version == 1
    if name == "vlan_tci":
        if v & 0x1000:
            out: list[Action] = []
            if not of10 and not flow.has_vlan:
                out.append(PushVlan(0x8100))
            out += [SetVlanVid(v & 0xFFF, of10), SetVlanPcp(v >> 13, of10)]
            return out
        return [StripVlan(pop=not of10)]
    if name == "vlan_vid":
        return [SetVlanVid(v & 0xFFF, of10)]
    if name == "vlan_pcp":
        return [SetVlanPcp(v & 7, of10)]
    if name == "eth_src":
        return [SetEthSrc(v)]
    if name == "eth_dst":
        return [SetEthDst(v)]
    if name == "ip_src":
        return [SetIpv4Src(v)]
    if name == "ip_dst":
        return [SetIpv4Dst(v)]
    if name == "nw_tos":
        return [SetIpDscp(v & 0xFF)]
    if name == "ip_dscp":
        return [SetIpDscp((v << 2) & 0xFF)]
    if name == "nw_ecn":
        return _encode(SetIpEcn(v & 3), version, flow)
    if name in ("tcp_src", "udp_src"):
        return [SetL4SrcPort(v)]
    if name in ("tcp_dst", "udp_dst"):
        return [SetL4DstPort(v)]
    return _to_nxast(sf)


def _encode_set_field(sf: SetField, version: int, flow: FlowState) -> list[Action]:
    if version >= 6:
        return _to_set_field(sf, version)
    if sf.load:
        return _to_nxast(sf)
    if version <= 2:
        return _legacy_set_field(sf, version, flow)
    if sf.mask is None:
        return _to_set_field(sf, version)
    return _to_nxast(sf)


def _sf(name: str, value: int) -> SetField:
    return SetField(F.BY_NAME[name], value)


def _encode_nat(a: Nat) -> Nat:
    """What survives NXAST_NAT: zero addresses and ports are simply not sent."""
    if a.kind is None or a.family is None:
        return Nat(a.kind, None, persistent=a.persistent, hash=a.hash, random=a.random)
    has_min = bool(a.addr_min)
    has_max = bool(a.addr_max)
    has_pmin = bool(a.port_min)
    has_pmax = bool(a.port_max)
    if (has_max and not has_min) or (has_pmax and not has_pmin) or ((has_pmin or has_pmax) and not has_min):
        log.warning("bad action at offset 0 (OFPBAC_BAD_ARGUMENT):")
        raise ActionDecodeError("OFPBAC_BAD_ARGUMENT")
    return Nat(a.kind, a.family if has_min else None, a.addr_min, a.addr_max, a.port_min, a.port_max,
               a.persistent, a.hash, a.random)


def _encode_list(actions: tuple[Action, ...] | list[Action], version: int, flow: FlowState) -> list[Action]:
    out: list[Action] = []
    scratch = CheckParams()
    for a in actions:
        out.extend(_encode(a, version, flow))
        try:
            _check_one(a, flow, scratch)
        except ActionCheckError:
            pass
    return out


def _encode(a: Action, version: int, flow: FlowState) -> list[Action]:
    v = version
    vtype = _VENDOR_TYPES.get(type(a))
    if vtype is not None and v < 4:
        raise _decode_error("OFPBAC_BAD_VENDOR_TYPE", f"unknown OpenFlow1{v - 1} action for vendor 0x2320 and type "
                            f"{vtype}")
    if isinstance(a, (DebugRecirc, DebugSlow)):
        raise _decode_error("OFPBAC_BAD_VENDOR_TYPE")
    if isinstance(a, Nat):
        return [_encode_nat(a)]
    if isinstance(a, Enqueue):
        return [a] if v == 1 else [SetQueue(a.queue), Output(a.port), PopQueue()]
    if isinstance(a, SetVlanVid):
        out: list[Action] = []
        if v > 1 and a.push_vlan_if_needed and not flow.has_vlan:
            out.append(PushVlan(0x8100))
        if v <= 2:
            out.append(SetVlanVid(a.vid, v == 1))
        else:
            out.append(_sf("vlan_vid", a.vid | 0x1000))
        return out
    if isinstance(a, SetVlanPcp):
        out = []
        if v > 1 and a.push_vlan_if_needed and not flow.has_vlan:
            out.append(PushVlan(0x8100))
        out.append(SetVlanPcp(a.pcp, v == 1) if v <= 2 else _sf("vlan_pcp", a.pcp))
        return out
    if isinstance(a, StripVlan):
        return [StripVlan(pop=v > 1)]
    if isinstance(a, (SetEthSrc, SetEthDst)):
        if v <= 2:
            return [a]
        return [_sf("eth_src" if isinstance(a, SetEthSrc) else "eth_dst", a.mac)]
    if isinstance(a, (SetIpv4Src, SetIpv4Dst)):
        if v <= 2:
            return [a]
        return [_sf("ip_src" if isinstance(a, SetIpv4Src) else "ip_dst", a.ip)]
    if isinstance(a, SetIpDscp):
        return [a] if v <= 2 else [_sf("ip_dscp", a.tos >> 2)]
    if isinstance(a, SetIpEcn):
        if v == 1:
            f = F.BY_NAME["nw_ecn"]
            return [SetField(f, a.ecn, f.value_mask, load=True)]
        return [a] if v == 2 else [_sf("nw_ecn", a.ecn)]
    if isinstance(a, SetIpTtl):
        if v == 1:
            f = F.BY_NAME["nw_ttl"]
            return [SetField(f, a.ttl, f.value_mask, load=True)]
        return [a]
    if isinstance(a, (SetL4SrcPort, SetL4DstPort)):
        names = _L4_FIELDS.get(flow.nw_proto)
        if v <= 2 or names is None:
            return [a]
        return [_sf(names[0] if isinstance(a, SetL4SrcPort) else names[1], a.port)]
    if isinstance(a, SetField):
        return _encode_set_field(a, v, flow)
    if isinstance(a, SetMplsLabel):
        return [a] if v <= 2 else [_sf("mpls_label", a.label)]
    if isinstance(a, SetMplsTc):
        return [a] if v <= 2 else [_sf("mpls_tc", a.tc)]
    if isinstance(a, SetMplsTtl):
        if v >= 3:
            log.info("OFPAT_SET_MPLS_TTL is deprecated in OpenFlow1%d (use Set-Field)", v - 1)
        return [a]
    if isinstance(a, SetTunnel):
        return [a] if v <= 2 else [_sf("tun_id", a.tun_id)]
    if isinstance(a, PushMpls):
        if a.ethertype not in (0x8847, 0x8848):
            raise _decode_error("OFPBAC_BAD_ARGUMENT")
        return [a]
    if isinstance(a, Note):
        pad = (6 - len(a.data)) % 8
        return [Note(a.data + bytes(pad))]
    if isinstance(a, GotoTable):
        return [Resubmit(table_id=a.table_id)] if v == 1 else [a]
    if isinstance(a, PushVlan) and v == 1:
        # OpenFlow 1.0 pushes a tag only as a side effect of setting the VLAN ID or PCP.
        return []
    if isinstance(a, Meter):
        # Only OpenFlow 1.3+ can carry a meter; an encoding in an older version leaves it out.
        return [] if v < 4 else [a]
    if isinstance(a, ClearActions):
        return [] if v == 1 else [a]
    if isinstance(a, WriteActions):
        if v == 1:
            return []
        nested = _encode_list(a.actions, v, flow.copy())
        if not nested:
            return []
        for x in nested:
            if not x.ALLOWED_IN_ACTION_SET:
                raise _decode_error("OFPBAC_BAD_TYPE", "disallowed action in action set")
        return [WriteActions(tuple(nested))]
    if isinstance(a, Clone):
        return [Clone(tuple(_encode_list(a.actions, v, flow.copy())))]
    if isinstance(a, Ct):
        _needs_header(a.zone_src)
        if a.zone_src is not None and a.zone_src.n_bits != 16:
            raise _decode_error("OFPBAC_BAD_SET_LEN",
                                f"zone n_bits {a.zone_src.n_bits} not within valid range [16..16]")
        nested = _encode_list(a.actions, v, flow.copy())
        if not a.commit:
            for x in nested:
                if not isinstance(x, Nat) or x.kind is not None or x.persistent or x.hash or x.random:
                    raise _decode_error("OFPBAC_BAD_ARGUMENT", "CT action requires commit flag if actions other "
                                        "than NAT without arguments are specified.")
        return [Ct(a.commit, a.force, a.zone, a.zone_src, a.table, a.alg, tuple(nested))]
    if isinstance(a, OutputReg):
        _needs_header(a.src)
    elif isinstance(a, Bundle):
        _needs_header(a.dst)
        if a.dst is not None and a.dst.n_bits < 16:
            raise _decode_error("OFPBAC_BAD_ARGUMENT", "bundle_load action requires at least 16 bit destination.")
    elif isinstance(a, RegMove):
        _needs_header(a.src)
        _needs_header(a.dst)
    elif isinstance(a, StackPush):
        _needs_header(a.src)
    elif isinstance(a, (StackPop, Multipath)):
        _needs_header(a.dst)
    elif isinstance(a, CheckPktLarger):
        _needs_header(a.dst)
        if not a.dst.field.writable:
            raise _decode_error("OFPBAC_BAD_SET_ARGUMENT", f"destination field {a.dst.field.name} is not writable",
                                mf_log)
    elif isinstance(a, Learn):
        for spec in a.specs:
            _needs_header(spec.src)
            _needs_header(spec.dst)
        _needs_header(a.result_dst)
    return [a]


def _verify_order(actions: list[Action]) -> None:
    prev: Inst | None = None
    for a in actions:
        nxt = a.INSTRUCTION
        if prev is not None and (nxt < prev if prev is Inst.APPLY_ACTIONS else nxt <= prev):
            if nxt == prev:
                msg = f"duplicate {prev.text} instruction not allowed, for OpenFlow 1.1+ compatibility"
            else:
                msg = (f"invalid instruction ordering: {nxt.text} must appear before {prev.text}, for OpenFlow "
                       "1.1+ compatibility")
            raise _decode_error("OFPBAC_UNSUPPORTED_ORDER", msg)
        prev = nxt


def normalize_actions(actions: list[Action] | tuple[Action, ...], proto: Proto, *, match: Match | None = None,
                      table_id: int = 255) -> list[Action]:
    """``actions`` as they come back from an OpenFlow encode and decode in ``proto`` (the lowest protocol in the
    set, as ovs-ofctl chooses).  ``match`` is the flow's match: some encodings depend on it (whether a VLAN tag
    exists, which L4 protocol a port rewrite applies to), and the decoder checks the result against it.

    Raises ``ActionDecodeError`` where Open vSwitch's decoder would refuse the encoded actions."""
    version = _version(proto)
    out = _encode_list(tuple(actions), version, FlowState.of(match))
    if version == 1:
        _verify_order(out)
    cp = CheckParams(table_id=table_id, usable=proto)
    try:
        walk_check(out, FlowState.of(match), cp)
    except ActionCheckError as e:
        raise ActionDecodeError(e.code) from None
    if not cp.usable & proto:
        raise ActionDecodeError("OFPBAC_MATCH_INCONSISTENT")
    return out
