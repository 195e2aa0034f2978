"""OpenFlow actions and instructions on the wire: every standard action of OpenFlow 1.0 to 1.5, Nicira's
extension actions (``NXAST_*``), ONF's copy-field, and the OpenFlow 1.1+ instructions, byte-exact with Open
vSwitch 3.1.

Encoding
--------
``encode_actions(actions, version, match)`` turns a list of ``pyvswitch.ofproto.actions`` objects into the
action bytes of an OpenFlow 1.0 message (``version`` 1) or, with ``encode_instructions``, into the instructions
of an OpenFlow 1.1+ message.  As in Open vSwitch there is one internal form per action and the wire form depends
on the version: ``mod_dl_src`` is ``OFPAT_SET_DL_SRC`` in 1.0 and 1.1 and a set-field in 1.2+; ``set_field`` of
a field without a legacy action is a Nicira register load before 1.2 (one ``NXAST_REG_LOAD`` per run of mask
bits, or ``NXAST_REG_LOAD2`` for fields that need an experimenter OXM or have a variable length); ``goto_table``
is ``NXAST_RESUBMIT_TABLE`` in 1.0; ``clear_actions`` and ``write_actions`` vanish in 1.0; ``meter`` is an
instruction in 1.3 and 1.4 and an action in 1.5.  Some encodings depend on the match and on earlier actions
(Open vSwitch notes them while it checks the actions): ``mod_vlan_vid`` in 1.1+ pushes a VLAN tag first unless
one is known to be present, and ``mod_tp_src`` becomes ``set_field`` of ``tcp_src``/``udp_src``/``sctp_src`` in
1.2+ only when the flow's IP protocol is known; the encoder replays ``ofproto.actions.check``'s walk of the
flow state to know them.

Where Open vSwitch remembers which wire form an action came in as (``ofpact.raw``) and re-encodes it the same
way, this codec can only follow the model: a decoded ``NXAST_RESUBMIT`` is re-encoded as
``NXAST_RESUBMIT_TABLE``, ``NXAST_CONTROLLER2`` without options as ``NXAST_CONTROLLER``, ``NXAST_SAMPLE2`` without
a sampling port as ``NXAST_SAMPLE``, ``NXAST_LEARN2`` without limit or result as ``NXAST_LEARN``, an
``NXAST_REG_LOAD2`` of a field with a 32-bit header as ``NXAST_REG_LOAD``, and ONF's OpenFlow 1.3 copy-field as
``NXAST_REG_MOVE``.  Text-parsed actions (what ``ovs-ofctl`` sends) never carry such a history, so they encode
exactly as Open vSwitch encodes them.

Decoding
--------
``decode_actions`` / ``decode_instructions`` parse bytes back into action objects with the checks of Open
vSwitch's decoder (``ofpacts_decode``, ``ofpacts_verify``, ``ofpacts_pull_openflow_instructions``): lengths,
known types for the version, reserved fields that must be zero, argument validity, instruction order and
nesting.  Errors raise ``OFPDecodeError`` with Open vSwitch's error name; the warning Open vSwitch logs is logged
to the vlog module it uses (``ofp_actions``, ``nx_match``, ``meta_flow``).  Checks that need the match
(prerequisites, consistency) are ``check_consistency``'s, run by the flow-mod decoder after the actions are
decoded, as Open vSwitch does.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from pyvswitch.flow import fields as F
from pyvswitch.flow import match_text as MT
from pyvswitch.flow import values as V
from pyvswitch.flow.fields import Field
from pyvswitch.flow.match import Match
from pyvswitch.flow.protocols import Proto
from pyvswitch.flow.subfield import Subfield
from pyvswitch.ofproto.actions import check as C
from pyvswitch.ofproto.actions import lex
from pyvswitch.ofproto.actions.errors import ActionCheckError
from pyvswitch.ofproto.actions.model import (
    BUNDLE_ALGORITHMS,
    HASH_FIELDS,
    MULTIPATH_ALGORITHMS,
    PACKET_IN_REASONS,
    Action,
    Bundle,
    CheckPktLarger,
    ClearActions,
    Clone,
    Conjunction,
    Controller,
    Ct,
    CtClear,
    DebugRecirc,
    DebugSlow,
    Decap,
    DecMplsTtl,
    DecNshTtl,
    DecTtl,
    DeleteField,
    Encap,
    Enqueue,
    Exit,
    FinTimeout,
    GotoTable,
    Group,
    Inst,
    Learn,
    LearnSpec,
    Meter,
    Multipath,
    Nat,
    Note,
    Output,
    OutputReg,
    OutputTrunc,
    PopMpls,
    PopQueue,
    PushMpls,
    PushVlan,
    RegMove,
    Resubmit,
    Sample,
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
from pyvswitch.openflow import nx_match as NX
from pyvswitch.openflow.ofp_errors import OFPDecodeError
from pyvswitch.util import vlog
from pyvswitch.util.hexdump import hexdump

__all__ = [
    "NX_VENDOR_ID",
    "ONF_VENDOR_ID",
    "check_consistency",
    "decode_actions",
    "decode_instructions",
    "encode_actions",
    "encode_instructions",
    "reset_process_state",
    "verify",
]

NX_VENDOR_ID = 0x00002320
ONF_VENDOR_ID = 0x4F4E4600
OFPAT_VENDOR = 0xFFFF

_log = vlog.Vlog("ofp_actions")
_nx_log = vlog.Vlog("nx_match")
_mf_log = vlog.Vlog("meta_flow")
_rl = vlog.RateLimit(1, 5)


def reset_process_state() -> None:
    """Forget the log rate limit, as a new process would (OVS limits these warnings to 5 at once and then 1
    per minute)."""
    global _rl
    _rl = vlog.RateLimit(1, 5)
    NX.reset_process_state()

OFPP_MAX = lex.OFPP_MAX
OFPP_IN_PORT = lex.OFPP_IN_PORT
OFPP_LOCAL = lex.OFPP_LOCAL
OFPP_NONE = lex.OFPP_NONE
OFPP_CONTROLLER = lex.OFPP_CONTROLLER
ETH_TYPE_VLAN = 0x8100
ETH_TYPE_VLAN_8021AD = 0x88A8
ETH_TYPE_MPLS = 0x8847
ETH_TYPE_MPLS_MCAST = 0x8848
PT_ETH = 0
PT_NSH = (1 << 16) | 0x894F
PT_MPLS = (1 << 16) | ETH_TYPE_MPLS
PT_MPLS_MC = (1 << 16) | ETH_TYPE_MPLS_MCAST
PT_USE_NEXT_PROTO = 0xFFFE
OFPVID12_PRESENT = 0x1000
MAX_ACTION_LEN = 65528
NX_CTLR_NO_METER = 0xFFFFFFFF
BUNDLE_MAX_MEMBERS = 2048

# Learn flow_mod_spec header bits.
NX_LEARN_N_BITS_MASK = 0x3FF
NX_LEARN_SRC_FIELD = 0 << 13
NX_LEARN_SRC_IMMEDIATE = 1 << 13
NX_LEARN_SRC_MASK = 1 << 13
NX_LEARN_DST_MATCH = 0 << 11
NX_LEARN_DST_LOAD = 1 << 11
NX_LEARN_DST_OUTPUT = 2 << 11
NX_LEARN_DST_MASK = 3 << 11
NX_LEARN_F_SEND_FLOW_REM = 1 << 0
NX_LEARN_F_DELETE_LEARNED = 1 << 1
NX_LEARN_F_WRITE_RESULT = 1 << 2

NX_CT_F_COMMIT = 1 << 0
NX_CT_F_FORCE = 1 << 1
NX_NAT_F_SRC, NX_NAT_F_DST, NX_NAT_F_PERSISTENT, NX_NAT_F_PROTO_HASH, NX_NAT_F_PROTO_RANDOM = 1, 2, 4, 8, 16
NX_NAT_F_MASK = 0x1F
NX_NAT_RANGE_IPV4_MIN, NX_NAT_RANGE_IPV4_MAX = 1, 2
NX_NAT_RANGE_IPV6_MIN, NX_NAT_RANGE_IPV6_MAX = 4, 8
NX_NAT_RANGE_PROTO_MIN, NX_NAT_RANGE_PROTO_MAX = 16, 32

# NXAST_CONTROLLER2 property types.
NXAC2PT_MAX_LEN, NXAC2PT_CONTROLLER_ID, NXAC2PT_REASON, NXAC2PT_USERDATA, NXAC2PT_PAUSE, NXAC2PT_METER_ID = range(6)

# Encap/decap property classes and types.
OFPPPC_NSH = 4
OFPPPT_PROP_NSH_MDTYPE = 1
OFPPPT_PROP_NSH_TLV = 2

_SAMPLE_DIRECTIONS = ("default", "ingress", "egress")
_ENCAP_TYPES = {"ethernet": PT_ETH, "nsh": PT_NSH, "mpls": PT_MPLS, "mpls_mc": PT_MPLS_MC}
_ENCAP_NAMES = {v: k for k, v in _ENCAP_TYPES.items()}

_FIELD = F.BY_NAME
_IN_PORT_HEADER = NX.nxm_header32(_FIELD["in_port"])


# ---------------------------------------------------------------------------------------------------------------
# Small encoders.

def _std_void(t: int) -> bytes:
    return struct.pack("!HH4x", t, 8)


def _std_u8(t: int, v: int) -> bytes:
    return struct.pack("!HHB3x", t, 8, v & 0xFF)


def _std_u16(t: int, v: int) -> bytes:
    return struct.pack("!HHH2x", t, 8, v & 0xFFFF)


def _std_u32(t: int, v: int) -> bytes:
    return struct.pack("!HHI", t, 8, v & 0xFFFFFFFF)


def _pad8(b: bytes) -> bytes:
    return b + bytes(-len(b) % 8)


def _with_len(b: bytes) -> bytes:
    """Pad an action to a multiple of 8 and write its length at bytes 2..3 (OVS ``pad_ofpat``)."""
    b = _pad8(b)
    return b[:2] + struct.pack("!H", len(b)) + b[4:]


def _nx(subtype: int, body: bytes = b"", vendor: int = NX_VENDOR_ID) -> bytes:
    """A Nicira (or ONF) extension action: type 0xffff, length, vendor, subtype, then ``body``, padded to 8."""
    return _with_len(struct.pack("!HHIH", OFPAT_VENDOR, 0, vendor, subtype) + body)


def _nx_void(subtype: int) -> bytes:
    return _nx(subtype, bytes(6))


def _nx_u8(subtype: int, v: int) -> bytes:
    return _nx(subtype, struct.pack("!B5x", v & 0xFF))


def _nx_u16(subtype: int, v: int) -> bytes:
    return _nx(subtype, struct.pack("!H4x", v & 0xFFFF))


def _nx_u32(subtype: int, v: int) -> bytes:
    return _nx(subtype, struct.pack("!2xI", v & 0xFFFFFFFF))


def _nx_u64(subtype: int, v: int) -> bytes:
    return _nx(subtype, struct.pack("!6xQ", v & 0xFFFFFFFFFFFFFFFF))


def _ofs_nbits(sf: Subfield) -> int:
    return ((sf.ofs << 6) | ((sf.n_bits - 1) & 0x3F)) & 0xFFFF


def _full(f: Field) -> int:
    return (1 << (8 * f.nbytes)) - 1


def _port11(port: int) -> int:
    return V.port_to_ofp11(port & 0xFFFF)


# ---------------------------------------------------------------------------------------------------------------
# Encoding: the running flow state (what Open vSwitch's ofpacts_check notes in the actions).

@dataclass(frozen=True, slots=True)
class _State:
    """What an action's encoding may depend on: whether the flow has a VLAN tag, its IP protocol, and the flow
    state itself (for nested action lists, which Open vSwitch checks starting from the outer action's state)."""

    has_vlan: bool
    nw_proto: int
    flow: C.FlowState


def _annotate(actions: Sequence[Action], flow: C.FlowState) -> list[_State]:
    """The flow state each of ``actions`` runs under, walking them as ``ofpacts_check`` does.  Errors of the walk
    are ignored: the encoder encodes what it is given, as Open vSwitch encodes after its own checks passed."""
    cp = C.CheckParams(usable=Proto.ANY)
    out = []
    for a in actions:
        out.append(_State(flow.has_vlan, flow.nw_proto, flow.copy()))
        try:
            C.walk_check((a,), flow, cp)
        except ActionCheckError:
            pass
    return out


class _Encoder:
    def __init__(self, version: int) -> None:
        self.v = version

    # -- lists ----------------------------------------------------------------------------------------------
    def actions(self, actions: Sequence[Action], flow: C.FlowState) -> bytes:
        states = _annotate(actions, flow)
        return b"".join(self.one(a, st) for a, st in zip(actions, states))

    def instructions(self, actions: Sequence[Action], flow: C.FlowState) -> bytes:
        states = _annotate(actions, flow)
        out = []
        apply: list[bytes] = []

        def flush() -> None:
            body = b"".join(apply)
            if body:
                out.append(struct.pack("!HH4x", 4, 8 + len(body)) + body)
            apply.clear()

        for a, st in zip(actions, states):
            if self._is_apply(a):
                apply.append(self.one(a, st))
                continue
            flush()
            out.append(self.instruction(a, st))
        flush()
        return b"".join(out)

    def _is_apply(self, a: Action) -> bool:
        if isinstance(a, Meter):
            return self.v >= 6
        return a.INSTRUCTION is Inst.APPLY_ACTIONS

    def instruction(self, a: Action, st: _State) -> bytes:
        if isinstance(a, Meter):
            # An instruction only in OpenFlow 1.3 and 1.4; OpenFlow 1.1 and 1.2 have no meters.
            return struct.pack("!HHI", 6, 8, a.meter_id) if self.v in (4, 5) else b""
        if isinstance(a, ClearActions):
            return struct.pack("!HH4x", 5, 8)
        if isinstance(a, WriteActions):
            body = self.actions(a.actions, st.flow.copy())
            return struct.pack("!HH4x", 3, 8 + len(body)) + body if body else b""
        if isinstance(a, WriteMetadata):
            return struct.pack("!HH4xQQ", 2, 24, a.metadata, a.mask)
        if isinstance(a, GotoTable):
            return struct.pack("!HHB3x", 1, 8, a.table_id)
        raise TypeError(f"not an instruction: {a!r}")

    # -- one action -------------------------------------------------------------------------------------------
    def actions_unchecked(self, actions: Sequence[Action]) -> bytes:
        """Nested actions that Open vSwitch encodes without having checked them (``ct`` with a zone taken from
        a field skips its nested checks): every flow-dependent encoding sees an empty flow state."""
        st = _State(False, 0, C.FlowState())
        return b"".join(self.one(a, st) for a in actions)

    def one(self, a: Action, st: _State) -> bytes:
        enc = _ENCODERS.get(type(a))
        if enc is not None:
            return enc(self, a, st)
        raise TypeError(f"cannot encode {a!r}")

    # -- set-field and register loads --------------------------------------------------------------------------
    def set_field_entry(self, f: Field, value: int, mask: int | None, version: int) -> bytes:
        """OVS ``nx_put_entry``: variable-length fields use only their significant bytes."""
        full = _full(f)
        masked = mask is not None and mask & full != full
        if NX.is_variable_len(f):
            n = max((value & full).bit_length(), (mask & full).bit_length() if masked and mask else 0)
            n = (n + 7) // 8
        else:
            n = f.nbytes
        return NX.encode_entry(f, version, value, mask if masked else None, n)

    def put_set_field(self, f: Field, value: int) -> bytes:
        """OVS ``put_set_field``: ``OFPAT_SET_FIELD`` of a whole field."""
        return _with_len(struct.pack("!HH", 25, 0) + NX.encode_entry(f, self.v, value, None))

    def set_field_to_set_field(self, sf: SetField) -> bytes:
        return _with_len(struct.pack("!HH", 25, 0) + self.set_field_entry(sf.field, sf.value, sf.mask, self.v))

    def set_field_to_nxast(self, sf: SetField) -> bytes:
        f = sf.field
        if NX.nxm_header32(f) == 0 or NX.is_variable_len(f):
            return _nx(33, self.set_field_entry(f, sf.value, sf.effective_mask, 0))
        return b"".join(self.reg_load(sub, value) for sub, value in sf.load_segments())

    @staticmethod
    def reg_load(dst: Subfield, value: int) -> bytes:
        return _nx(7, struct.pack("!HIQ", _ofs_nbits(dst), NX.nxm_header32(dst.field), value))

    def set_field_legacy(self, sf: SetField, st: _State) -> bytes:
        """OVS ``set_field_to_legacy_openflow``: OpenFlow 1.0/1.1 actions for the fields that have one."""
        v = self.v
        name = sf.field.name
        val = sf.value
        if name == "vlan_tci":
            vid, pcp = val & 0xFFF, (val >> 13) & 7
            if v == 1:
                return _std_u16(1, vid) + _std_u8(2, pcp) if val & 0x1000 else _std_void(3)
            if val & 0x1000:
                push = b"" if st.has_vlan else _std_u16(17, ETH_TYPE_VLAN)
                return push + _std_u16(1, vid) + _std_u8(2, pcp)
            return _std_void(18)
        if name == "vlan_vid":
            return _std_u16(1, val & 0xFFF)
        if name == "vlan_pcp":
            return _std_u8(2, val)
        if name in ("eth_src", "eth_dst"):
            t = (4 if name == "eth_src" else 5) if v == 1 else (3 if name == "eth_src" else 4)
            return struct.pack("!HH6s6x", t, 16, (val & 0xFFFFFFFFFFFF).to_bytes(6, "big"))
        if name in ("ip_src", "ip_dst"):
            t = (6 if name == "ip_src" else 7) if v == 1 else (5 if name == "ip_src" else 6)
            return _std_u32(t, val)
        if name == "nw_tos":
            return _std_u8(8 if v == 1 else 7, val)
        if name == "ip_dscp":
            return _std_u8(8 if v == 1 else 7, val << 2)
        if name == "nw_ecn":
            return self.set_ip_ecn(val)
        if name in ("tcp_src", "udp_src"):
            return _std_u16(9, val)
        if name in ("tcp_dst", "udp_dst"):
            return _std_u16(10, val)
        return self.set_field_to_nxast(sf)

    def set_ip_ecn(self, ecn: int) -> bytes:
        if self.v == 1:
            return self.reg_load(Subfield(_FIELD["nw_ecn"], 0, 2), ecn)
        if self.v == 2:
            return _std_u8(8, ecn)
        return self.put_set_field(_FIELD["nw_ecn"], ecn)


def _e_output(e: _Encoder, a: Output, st: _State) -> bytes:
    if e.v == 1:
        return struct.pack("!HHHH", 0, 8, a.port & 0xFFFF, a.max_len & 0xFFFF)
    return struct.pack("!HHIH6x", 0, 16, _port11(a.port), a.max_len & 0xFFFF)


def _reason_code(reason: str) -> int:
    if reason in PACKET_IN_REASONS:
        return PACKET_IN_REASONS.index(reason)
    try:
        return int(reason, 0) & 0xFF
    except ValueError:
        return 1


def _prop(ptype: int, payload: bytes) -> bytes:
    """An OpenFlow property (``ofpprop_put``): type, length without padding, payload, zeros to 8."""
    return _pad8(struct.pack("!HH", ptype, 4 + len(payload)) + payload)


def _e_controller(e: _Encoder, a: Controller, st: _State) -> bytes:
    reason = _reason_code(a.reason)
    if a.userdata or a.pause or a.meter_id:
        props = b""
        # 16-bit properties carry two bytes of padding inside their length (ofpprop_put_u16).
        if a.max_len != 0xFFFF:
            props += _prop(NXAC2PT_MAX_LEN, struct.pack("!H2x", a.max_len))
        if a.controller_id:
            props += _prop(NXAC2PT_CONTROLLER_ID, struct.pack("!H2x", a.controller_id))
        if reason != 1:
            props += _prop(NXAC2PT_REASON, struct.pack("!B", reason))
        if a.userdata:
            props += _prop(NXAC2PT_USERDATA, bytes(a.userdata))
        if a.pause:
            props += _prop(NXAC2PT_PAUSE, b"")
        if a.meter_id:
            props += _prop(NXAC2PT_METER_ID, struct.pack("!I", a.meter_id))
        return _nx(37, bytes(6) + props)
    return _nx(20, struct.pack("!HHBB", a.max_len & 0xFFFF, a.controller_id & 0xFFFF, reason, 0))


def _e_enqueue(e: _Encoder, a: Enqueue, st: _State) -> bytes:
    if e.v == 1:
        return struct.pack("!HHH6xI", 11, 16, a.port & 0xFFFF, a.queue & 0xFFFFFFFF)
    return (_std_u32(21, a.queue) + struct.pack("!HHIH6x", 0, 16, _port11(a.port), 0xFFFF)
            + _nx_void(5))


def _e_output_reg(e: _Encoder, a: OutputReg, st: _State) -> bytes:
    hdr = NX.nxm_header32(a.src.field)
    if hdr == 0:
        body = struct.pack("!HH", _ofs_nbits(a.src), a.max_len) + NX.encode_field_header(a.src.field, 0)
        return _nx(32, (body + bytes(14))[:14])
    return _nx(15, struct.pack("!HIH6x", _ofs_nbits(a.src), hdr, a.max_len))


def _e_output_trunc(e: _Encoder, a: OutputTrunc, st: _State) -> bytes:
    return _nx(39, struct.pack("!HI", a.port & 0xFFFF, a.max_len & 0xFFFFFFFF))


def _e_bundle(e: _Encoder, a: Bundle, st: _State) -> bytes:
    load = a.dst is not None
    ofs_nbits = _ofs_nbits(a.dst) if a.dst is not None else 0
    dst = NX.nxm_header32(a.dst.field) if a.dst is not None else 0
    body = struct.pack("!HHHIHHI4x", _code(BUNDLE_ALGORITHMS, a.algorithm), _code(HASH_FIELDS, a.fields), a.basis,
                       _IN_PORT_HEADER, len(a.members), ofs_nbits, dst)
    members = _pad8(b"".join(struct.pack("!H", p & 0xFFFF) for p in a.members))
    return _nx(13 if load else 12, body + members)


def _e_set_vlan_vid(e: _Encoder, a: SetVlanVid, st: _State) -> bytes:
    push = _std_u16(17, ETH_TYPE_VLAN) if e.v > 1 and a.push_vlan_if_needed and not st.has_vlan else b""
    if e.v <= 2:
        return push + _std_u16(1, a.vid)
    return push + e.put_set_field(_FIELD["vlan_vid"], a.vid | OFPVID12_PRESENT)


def _e_set_vlan_pcp(e: _Encoder, a: SetVlanPcp, st: _State) -> bytes:
    push = _std_u16(17, ETH_TYPE_VLAN) if e.v > 1 and a.push_vlan_if_needed and not st.has_vlan else b""
    if e.v <= 2:
        return push + _std_u8(2, a.pcp)
    return push + e.put_set_field(_FIELD["vlan_pcp"], a.pcp)


def _e_strip_vlan(e: _Encoder, a: StripVlan, st: _State) -> bytes:
    return _std_void(3) if e.v == 1 else _std_void(18)


def _e_push_vlan(e: _Encoder, a: PushVlan, st: _State) -> bytes:
    # OpenFlow 1.0 has no push: the following set_vlan_vid/pcp pushes a tag when needed.
    return b"" if e.v == 1 else _std_u16(17, a.ethertype)


def _e_eth(e: _Encoder, a: SetEthSrc | SetEthDst, st: _State) -> bytes:
    src = isinstance(a, SetEthSrc)
    if e.v < 3:
        t = (4 if src else 5) if e.v == 1 else (3 if src else 4)
        return struct.pack("!HH6s6x", t, 16, (a.mac & 0xFFFFFFFFFFFF).to_bytes(6, "big"))
    return e.put_set_field(_FIELD["eth_src" if src else "eth_dst"], a.mac)


def _e_ipv4(e: _Encoder, a: SetIpv4Src | SetIpv4Dst, st: _State) -> bytes:
    src = isinstance(a, SetIpv4Src)
    if e.v < 3:
        t = (6 if src else 7) if e.v == 1 else (5 if src else 6)
        return _std_u32(t, a.ip)
    return e.put_set_field(_FIELD["ip_src" if src else "ip_dst"], a.ip)


def _e_dscp(e: _Encoder, a: SetIpDscp, st: _State) -> bytes:
    if e.v < 3:
        return _std_u8(8 if e.v == 1 else 7, a.tos)
    return e.put_set_field(_FIELD["ip_dscp"], (a.tos & 0xFF) >> 2)


def _e_ecn(e: _Encoder, a: SetIpEcn, st: _State) -> bytes:
    return e.set_ip_ecn(a.ecn)


def _e_ttl(e: _Encoder, a: SetIpTtl, st: _State) -> bytes:
    if e.v >= 2:
        return _std_u8(23, a.ttl)
    return e.reg_load(Subfield(_FIELD["nw_ttl"], 0, 8), a.ttl)


_L4 = {6: ("tcp_src", "tcp_dst"), 17: ("udp_src", "udp_dst"), 132: ("sctp_src", "sctp_dst")}


def _e_l4(e: _Encoder, a: SetL4SrcPort | SetL4DstPort, st: _State) -> bytes:
    src = isinstance(a, SetL4SrcPort)
    names = _L4.get(st.nw_proto)
    if e.v >= 3 and names is not None:
        return e.put_set_field(_FIELD[names[0] if src else names[1]], a.port)
    return _std_u16(9 if src else 10, a.port)


def _e_set_field(e: _Encoder, a: SetField, st: _State) -> bytes:
    if e.v >= 6:
        return e.set_field_to_set_field(a)
    if a.load:
        return e.set_field_to_nxast(a)
    if e.v < 3:
        return e.set_field_legacy(a, st)
    if a.mask is None or a.mask & _full(a.field) == _full(a.field):
        return e.set_field_to_set_field(a)
    return e.set_field_to_nxast(a)


def _e_reg_move(e: _Encoder, a: RegMove, st: _State) -> bytes:
    if e.v >= 6:
        return _with_len(struct.pack("!HHHHH2x", 28, 0, a.dst.n_bits, a.src.ofs, a.dst.ofs)
                         + NX.encode_field_header(a.src.field, e.v) + NX.encode_field_header(a.dst.field, e.v))
    return _nx(6, struct.pack("!HHH", a.dst.n_bits, a.src.ofs, a.dst.ofs)
               + NX.encode_field_header(a.src.field, 0) + NX.encode_field_header(a.dst.field, 0))


def _e_stack(e: _Encoder, a: StackPush | StackPop, st: _State) -> bytes:
    sf = a.src if isinstance(a, StackPush) else a.dst
    body = struct.pack("!H", sf.ofs) + NX.encode_field_header(sf.field, 0) + struct.pack("!H", sf.n_bits)
    return _nx(27 if isinstance(a, StackPush) else 28, (body + bytes(14))[:14])


def _e_dec_ttl(e: _Encoder, a: DecTtl, st: _State) -> bytes:
    if a.ids is None:
        return _nx_void(18) if e.v == 1 else _std_void(24)
    ids = _pad8(b"".join(struct.pack("!H", i & 0xFFFF) for i in a.ids))
    return _nx(21, struct.pack("!H4x", len(a.ids)) + ids)


def _e_mpls_label(e: _Encoder, a: SetMplsLabel, st: _State) -> bytes:
    if e.v == 1:
        return _nx_u32(30, a.label)
    if e.v == 2:
        return _std_u32(13, a.label)
    return e.put_set_field(_FIELD["mpls_label"], a.label)


def _e_mpls_tc(e: _Encoder, a: SetMplsTc, st: _State) -> bytes:
    if e.v == 1:
        return _nx_u8(31, a.tc)
    if e.v == 2:
        return _std_u8(14, a.tc)
    return e.put_set_field(_FIELD["mpls_tc"], a.tc)


def _e_mpls_ttl(e: _Encoder, a: SetMplsTtl, st: _State) -> bytes:
    return _nx_u8(25, a.ttl) if e.v == 1 else _std_u8(15, a.ttl)


def _e_dec_mpls_ttl(e: _Encoder, a: DecMplsTtl, st: _State) -> bytes:
    return _nx_void(26) if e.v == 1 else _std_void(16)


def _e_push_mpls(e: _Encoder, a: PushMpls, st: _State) -> bytes:
    return _nx_u16(23, a.ethertype) if e.v == 1 else _std_u16(19, a.ethertype)


def _e_pop_mpls(e: _Encoder, a: PopMpls, st: _State) -> bytes:
    return _nx_u16(24, a.ethertype) if e.v == 1 else _std_u16(20, a.ethertype)


def _e_delete_field(e: _Encoder, a: DeleteField, st: _State) -> bytes:
    return _nx(50, (NX.encode_field_header(a.field, 0) + bytes(14))[:14])


def _e_encap(e: _Encoder, a: Encap, st: _State) -> bytes:
    props = b""
    if a.md_type is not None:
        props += struct.pack("!HBBB3x", OFPPPC_NSH, OFPPPT_PROP_NSH_MDTYPE, 5, a.md_type)
    for cls, typ, val in a.tlvs:
        data = _pad8(bytes(val))
        props += struct.pack("!HBBHBB", OFPPPC_NSH, OFPPPT_PROP_NSH_TLV, 8 + len(data), cls, typ, len(val)) + data
    return _nx(46, struct.pack("!HI", 0, _ENCAP_TYPES[a.header]) + props)


def _e_decap(e: _Encoder, a: Decap, st: _State) -> bytes:
    pt = PT_USE_NEXT_PROTO if a.packet_type is None else a.packet_type
    return _nx(47, struct.pack("!2xI", pt))


def _e_set_tunnel(e: _Encoder, a: SetTunnel, st: _State) -> bytes:
    if e.v < 3:
        if a.tun_id <= 0xFFFFFFFF and not a.wide:
            return _nx_u32(2, a.tun_id)
        return _nx_u64(9, a.tun_id)
    return e.put_set_field(_FIELD["tun_id"], a.tun_id)


def _e_set_queue(e: _Encoder, a: SetQueue, st: _State) -> bytes:
    return _nx_u32(4, a.queue_id) if e.v == 1 else _std_u32(21, a.queue_id)


def _e_fin_timeout(e: _Encoder, a: FinTimeout, st: _State) -> bytes:
    return _nx(19, struct.pack("!HH2x", a.idle_timeout, a.hard_timeout))


def _e_resubmit(e: _Encoder, a: Resubmit, st: _State) -> bytes:
    return _nx(44 if a.with_ct_orig else 14, struct.pack("!HB3x", a.in_port & 0xFFFF, a.table_id & 0xFF))


def _e_learn(e: _Encoder, a: Learn, st: _State) -> bytes:
    flags = ((NX_LEARN_F_SEND_FLOW_REM if a.send_flow_rem else 0)
             | (NX_LEARN_F_DELETE_LEARNED if a.delete_learned else 0)
             | (NX_LEARN_F_WRITE_RESULT if a.result_dst is not None else 0))
    common = struct.pack("!HHHQHBxHH", a.idle_timeout, a.hard_timeout, a.priority, a.cookie, flags, a.table_id,
                         a.fin_idle_timeout, a.fin_hard_timeout)
    learn2 = a.limit != 0 or a.result_dst is not None
    if learn2:
        rofs = a.result_dst.ofs if a.result_dst is not None else 0
        head = common + struct.pack("!IH2x", a.limit, rofs)
        if a.result_dst is not None:
            head += NX.encode_field_header(a.result_dst.field, 0)
    else:
        head = common
    specs = b""
    for s in a.specs:
        src_type = NX_LEARN_SRC_IMMEDIATE if s.src is None else NX_LEARN_SRC_FIELD
        dst_type = {"match": NX_LEARN_DST_MATCH, "load": NX_LEARN_DST_LOAD,
                    "output": NX_LEARN_DST_OUTPUT}[s.kind]
        specs += struct.pack("!H", (s.n_bits & NX_LEARN_N_BITS_MASK) | dst_type | src_type)
        if s.src is not None:
            specs += struct.pack("!IH", NX.nxm_header32(s.src.field), s.src.ofs)
        else:
            n_dst_bytes = 2 * ((s.n_bits + 15) // 16)
            n_bytes = (s.n_bits + 7) // 8
            imm = (s.imm & ((1 << (8 * n_bytes)) - 1)).to_bytes(n_bytes, "big")
            specs += bytes(n_dst_bytes - n_bytes) + imm
        if s.kind in ("match", "load") and s.dst is not None:
            specs += struct.pack("!IH", NX.nxm_header32(s.dst.field), s.dst.ofs)
    return _nx(45 if learn2 else 16, head + specs)


def _e_conjunction(e: _Encoder, a: Conjunction, st: _State) -> bytes:
    return _nx(34, struct.pack("!BBI", a.clause & 0xFF, a.n_clauses & 0xFF, a.id & 0xFFFFFFFF))


def _e_multipath(e: _Encoder, a: Multipath, st: _State) -> bytes:
    return _nx(10, struct.pack("!HH2xHHI2xHI", HASH_FIELDS.index(a.fields), a.basis,
                               MULTIPATH_ALGORITHMS.index(a.algorithm), a.max_link, a.arg & 0xFFFFFFFF,
                               _ofs_nbits(a.dst), NX.nxm_header32(a.dst.field)))


def _e_note(e: _Encoder, a: Note, st: _State) -> bytes:
    return _nx(8, bytes(a.data))


def _e_sample(e: _Encoder, a: Sample, st: _State) -> bytes:
    common = struct.pack("!HIII", a.probability, a.collector_set_id, a.obs_domain_id, a.obs_point_id)
    if a.direction != "default" or a.sampling_port != OFPP_NONE:
        subtype = 41 if a.direction != "default" else 38
        return _nx(subtype, common + struct.pack("!HB5x", a.sampling_port & 0xFFFF,
                                                 _SAMPLE_DIRECTIONS.index(a.direction)))
    return _nx(29, common)


def _e_ct(e: _Encoder, a: Ct, st: _State) -> bytes:
    flags = (NX_CT_F_COMMIT if a.commit else 0) | (NX_CT_F_FORCE if a.force else 0)
    if a.zone_src is not None:
        zone_src, zone = NX.nxm_header32(a.zone_src.field), _ofs_nbits(a.zone_src)
    else:
        zone_src, zone = 0, a.zone
    nested = e.actions(a.actions, st.flow.copy()) if a.zone_src is None else e.actions_unchecked(a.actions)
    head = struct.pack("!HHIHHIHB3xH", OFPAT_VENDOR, 24 + len(nested), NX_VENDOR_ID, 35, flags, zone_src,
                       zone & 0xFFFF, a.table & 0xFF, a.alg & 0xFFFF)
    return head + nested


def _e_nat(e: _Encoder, a: Nat, st: _State) -> bytes:
    flags = ({"src": NX_NAT_F_SRC, "dst": NX_NAT_F_DST}.get(a.kind or "", 0)
             | (NX_NAT_F_PERSISTENT if a.persistent else 0) | (NX_NAT_F_PROTO_HASH if a.hash else 0)
             | (NX_NAT_F_PROTO_RANDOM if a.random else 0))
    present = 0
    opts = b""
    if a.family == 4:
        if a.addr_min:
            opts += struct.pack("!I", a.addr_min)
            present |= NX_NAT_RANGE_IPV4_MIN
        if a.addr_max:
            opts += struct.pack("!I", a.addr_max)
            present |= NX_NAT_RANGE_IPV4_MAX
    elif a.family == 6:
        if a.addr_min:
            opts += a.addr_min.to_bytes(16, "big")
            present |= NX_NAT_RANGE_IPV6_MIN
        if a.addr_max:
            opts += a.addr_max.to_bytes(16, "big")
            present |= NX_NAT_RANGE_IPV6_MAX
    if a.family is not None:
        if a.port_min:
            opts += struct.pack("!H", a.port_min)
            present |= NX_NAT_RANGE_PROTO_MIN
        if a.port_max:
            opts += struct.pack("!H", a.port_max)
            present |= NX_NAT_RANGE_PROTO_MAX
    return _nx(36, struct.pack("!2xHH", flags, present) + opts)


def _e_clone(e: _Encoder, a: Clone, st: _State) -> bytes:
    nested = e.actions(a.actions, st.flow.copy())
    return struct.pack("!HHIH6x", OFPAT_VENDOR, 16 + len(nested), NX_VENDOR_ID, 42) + nested


def _e_check_pkt_larger(e: _Encoder, a: CheckPktLarger, st: _State) -> bytes:
    body = struct.pack("!HH", a.pkt_len, a.dst.ofs) + NX.encode_field_header(a.dst.field, 0)
    return _nx(49, (body + bytes(14))[:14])


def _e_group(e: _Encoder, a: Group, st: _State) -> bytes:
    return _nx_u32(40, a.group_id) if e.v == 1 else _std_u32(22, a.group_id)


def _e_meter(e: _Encoder, a: Meter, st: _State) -> bytes:
    # Only OpenFlow 1.5 has a meter action; 1.3 and 1.4 use the instruction, older versions have no meters.
    return _std_u32(29, a.meter_id) if e.v >= 6 else b""


def _e_clear_actions(e: _Encoder, a: ClearActions, st: _State) -> bytes:
    return b"" if e.v == 1 else e.instruction(a, st)


def _e_write_actions(e: _Encoder, a: WriteActions, st: _State) -> bytes:
    return b"" if e.v == 1 else e.instruction(a, st)


def _e_write_metadata(e: _Encoder, a: WriteMetadata, st: _State) -> bytes:
    if e.v == 1:
        return _nx(22, struct.pack("!6xQQ", a.metadata, a.mask))
    return e.instruction(a, st)


def _e_goto_table(e: _Encoder, a: GotoTable, st: _State) -> bytes:
    if e.v == 1:
        return _nx(14, struct.pack("!HB3x", OFPP_IN_PORT, a.table_id))
    return e.instruction(a, st)


_ENCODERS: dict[type, Callable[..., bytes]] = {
    Output: _e_output, Controller: _e_controller, Enqueue: _e_enqueue, OutputReg: _e_output_reg,
    OutputTrunc: _e_output_trunc, Bundle: _e_bundle, SetVlanVid: _e_set_vlan_vid, SetVlanPcp: _e_set_vlan_pcp,
    StripVlan: _e_strip_vlan, PushVlan: _e_push_vlan, SetEthSrc: _e_eth, SetEthDst: _e_eth, SetIpv4Src: _e_ipv4,
    SetIpv4Dst: _e_ipv4, SetIpDscp: _e_dscp, SetIpEcn: _e_ecn, SetIpTtl: _e_ttl, SetL4SrcPort: _e_l4,
    SetL4DstPort: _e_l4, SetField: _e_set_field, RegMove: _e_reg_move, StackPush: _e_stack, StackPop: _e_stack,
    DecTtl: _e_dec_ttl, SetMplsLabel: _e_mpls_label, SetMplsTc: _e_mpls_tc, SetMplsTtl: _e_mpls_ttl,
    DecMplsTtl: _e_dec_mpls_ttl, PushMpls: _e_push_mpls, PopMpls: _e_pop_mpls,
    DecNshTtl: lambda e, a, st: _nx_void(48), DeleteField: _e_delete_field, Encap: _e_encap, Decap: _e_decap,
    SetTunnel: _e_set_tunnel, SetQueue: _e_set_queue, PopQueue: lambda e, a, st: _nx_void(5),
    FinTimeout: _e_fin_timeout, Resubmit: _e_resubmit, Learn: _e_learn, Conjunction: _e_conjunction,
    Multipath: _e_multipath, Note: _e_note, Exit: lambda e, a, st: _nx_void(17), Sample: _e_sample, Ct: _e_ct,
    Nat: _e_nat, CtClear: lambda e, a, st: _nx_void(43), Clone: _e_clone, CheckPktLarger: _e_check_pkt_larger,
    Group: _e_group, Meter: _e_meter, ClearActions: _e_clear_actions, WriteActions: _e_write_actions,
    WriteMetadata: _e_write_metadata, GotoTable: _e_goto_table,
    DebugRecirc: lambda e, a, st: _nx_void(255), DebugSlow: lambda e, a, st: _nx_void(254),
}


def encode_actions(actions: Sequence[Action], version: int, match: Match | None = None) -> bytes:
    """The actions' bytes in an OpenFlow ``version`` message (1: OpenFlow 1.0, where instructions turn into
    their Nicira equivalents or disappear; 2+: a plain action list, as inside an apply-actions instruction)."""
    return _Encoder(version).actions(actions, C.FlowState.of(match))


def encode_instructions(actions: Sequence[Action], version: int, match: Match | None = None) -> bytes:
    """OVS ``ofpacts_put_openflow_instructions``: the action list as OpenFlow 1.1+ instructions (consecutive
    actions share an apply-actions instruction; empty ones are left out), or as plain actions for 1.0."""
    if version == 1:
        return encode_actions(actions, version, match)
    return _Encoder(version).instructions(actions, C.FlowState.of(match))


# ---------------------------------------------------------------------------------------------------------------
# Decoding.

def _err(code: str, detail: str = "", log: vlog.Vlog | None = None) -> OFPDecodeError:
    if detail and log is not None:
        log.warn_rl(_rl, detail)
    return OFPDecodeError(code, detail)


def _check_error(e: ActionCheckError) -> OFPDecodeError:
    return OFPDecodeError(e.code)


def _mf_check_src(sf: Subfield) -> None:
    try:
        C.mf_check_src(sf, None)
    except ActionCheckError as e:
        raise _check_error(e) from None


def _mf_check_dst(sf: Subfield) -> None:
    try:
        C.mf_check_dst(sf, None)
    except ActionCheckError as e:
        raise _check_error(e) from None


def _output_port_ok(port: int) -> None:
    try:
        C.check_output_port(port, OFPP_MAX)
    except ActionCheckError as e:
        raise _check_error(e) from None


def _sub(fld: Field, ofs_nbits: int) -> Subfield:
    return Subfield(fld, ofs_nbits >> 6, (ofs_nbits & 0x3F) + 1)


def _all_zero(b: bytes) -> bool:
    return not any(b)


@dataclass(frozen=True, slots=True)
class _Raw:
    """One wire form of an action (OVS ``ofpact_raw_instance``): its name, length range, and decoder."""

    name: str
    min_len: int
    max_len: int
    decode: Callable[[_Decoder, bytes], list[Action]]
    deprecation: str = ""


_VAR = MAX_ACTION_LEN


class _Decoder:
    def __init__(self, version: int) -> None:
        self.v = version

    # -- lists -----------------------------------------------------------------------------------------------
    def decode(self, data: bytes) -> list[Action]:
        """OVS ``ofpacts_decode``: every action in ``data``; logs and raises on the first bad one."""
        out: list[Action] = []
        pos = 0
        while pos < len(data):
            try:
                raw = self._lookup(data, pos)
                length = struct.unpack_from("!H", data, pos + 2)[0]
                if length > len(data) - pos:
                    raise _err("OFPBAC_BAD_LEN", f"OpenFlow action {raw.name} length {length} exceeds action "
                                                 f"buffer length {len(data) - pos}", _log)
                if length < raw.min_len or length > raw.max_len:
                    raise _err("OFPBAC_BAD_LEN", f"OpenFlow action {raw.name} length {length} not in valid range "
                                                 f"[{raw.min_len},{raw.max_len}]", _log)
                if length % 8:
                    raise _err("OFPBAC_BAD_LEN", f"OpenFlow action {raw.name} length {length} is not a multiple "
                                                 f"of 8", _log)
                if raw.deprecation:
                    _log.info_rl(_rl, f"{raw.name} is deprecated in OpenFlow1{self.v - 1} ({raw.deprecation})")
                out.extend(raw.decode(self, data[pos:pos + length]))
            except OFPDecodeError as e:
                # Open vSwitch 3.1 prints the offset in decimal ("%zu").
                _log.warn_rl(_rl, f"bad action at offset {pos} ({e.code}):\n" + hexdump(data, ascii=False)
                             .rstrip("\n"))
                raise
            pos += length
        return out

    def _lookup(self, data: bytes, pos: int) -> _Raw:
        """OVS ``ofpact_decode_raw``: which action this is, for this OpenFlow version."""
        if len(data) - pos < 8:
            raise OFPDecodeError("OFPBAC_BAD_LEN")
        atype = struct.unpack_from("!H", data, pos)[0]
        if atype == OFPAT_VENDOR:
            vendor = struct.unpack_from("!I", data, pos + 4)[0]
            if vendor not in (NX_VENDOR_ID, ONF_VENDOR_ID):
                raise _err("OFPBAC_BAD_VENDOR", f"OpenFlow action has unknown vendor {vendor:#x}", _log)
            if len(data) - pos < 16:
                raise OFPDecodeError("OFPBAC_BAD_LEN")
            subtype = struct.unpack_from("!H", data, pos + 8)[0]
            raw = _RAWS.get((vendor, subtype, self.v))
            if raw is None:
                raise _err("OFPBAC_BAD_VENDOR_TYPE", f"unknown OpenFlow1{self.v - 1} action for vendor "
                                                     f"{vendor:#x} and type {subtype}", _log)
            return raw
        raw = _RAWS.get((0, atype, self.v))
        if raw is None:
            raise _err("OFPBAC_BAD_TYPE", f"unknown OpenFlow1{self.v - 1} action for vendor 0 and type {atype}",
                       _log)
        return raw

    def nested(self, data: bytes, outer: type[Action]) -> list[Action]:
        """Actions nested in ``clone`` or ``ct``: decoded and verified as apply-actions inside ``outer``."""
        acts = self.decode(data)
        verify(acts, self.v, frozenset({Inst.APPLY_ACTIONS}), outer)
        return acts


# -- decoders, one per wire form -------------------------------------------------------------------------------

def _u8(a: bytes, ofs: int) -> int:
    return a[ofs]


def _u16(a: bytes, ofs: int) -> int:
    return struct.unpack_from("!H", a, ofs)[0]


def _u32(a: bytes, ofs: int) -> int:
    return struct.unpack_from("!I", a, ofs)[0]


def _u64(a: bytes, ofs: int) -> int:
    return struct.unpack_from("!Q", a, ofs)[0]


def _header32_field(hdr: int) -> Field:
    return NX.field_from_header32(hdr)


def _d_output10(d: _Decoder, a: bytes) -> list[Action]:
    port, max_len = _u16(a, 4), _u16(a, 6)
    _output_port_ok(port)
    return [Output(port, max_len)]


def _d_output11(d: _Decoder, a: bytes) -> list[Action]:
    port32, max_len = _u32(a, 4), _u16(a, 8)
    port = V.port_from_ofp11(port32)
    if port is None:
        raise OFPDecodeError("OFPBAC_BAD_OUT_PORT")
    _output_port_ok(port)
    return [Output(port, max_len)]


def _d_vid(push: bool, ofs: int) -> Callable[[_Decoder, bytes], list[Action]]:
    def dec(d: _Decoder, a: bytes) -> list[Action]:
        vid = _u16(a, ofs)
        if vid & ~0xFFF:
            raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
        return [SetVlanVid(vid, push)]
    return dec


def _d_pcp(push: bool) -> Callable[[_Decoder, bytes], list[Action]]:
    def dec(d: _Decoder, a: bytes) -> list[Action]:
        pcp = _u8(a, 4)
        if pcp & ~7:
            raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
        return [SetVlanPcp(pcp, push)]
    return dec


def _d_push_vlan(d: _Decoder, a: bytes) -> list[Action]:
    et = _u16(a, 4)
    if et not in (ETH_TYPE_VLAN, ETH_TYPE_VLAN_8021AD):
        raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    return [PushVlan(et)]


def _d_dl(src: bool) -> Callable[[_Decoder, bytes], list[Action]]:
    def dec(d: _Decoder, a: bytes) -> list[Action]:
        mac = int.from_bytes(a[4:10], "big")
        return [SetEthSrc(mac) if src else SetEthDst(mac)]
    return dec


def _d_nw(src: bool) -> Callable[[_Decoder, bytes], list[Action]]:
    def dec(d: _Decoder, a: bytes) -> list[Action]:
        ip = _u32(a, 4)
        return [SetIpv4Src(ip) if src else SetIpv4Dst(ip)]
    return dec


def _d_nw_tos(d: _Decoder, a: bytes) -> list[Action]:
    dscp = _u8(a, 4)
    if dscp & ~0xFC:
        raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    return [SetIpDscp(dscp)]


def _d_nw_ecn(d: _Decoder, a: bytes) -> list[Action]:
    ecn = _u8(a, 4)
    if ecn & ~3:
        raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    return [SetIpEcn(ecn)]


def _d_tp(src: bool) -> Callable[[_Decoder, bytes], list[Action]]:
    def dec(d: _Decoder, a: bytes) -> list[Action]:
        port = _u16(a, 4)
        return [SetL4SrcPort(port) if src else SetL4DstPort(port)]
    return dec


def _d_enqueue(d: _Decoder, a: bytes) -> list[Action]:
    port, queue = _u16(a, 4), _u32(a, 12)
    if port >= OFPP_MAX and port not in (OFPP_IN_PORT, OFPP_LOCAL):
        raise OFPDecodeError("OFPBAC_BAD_OUT_PORT")
    return [Enqueue(port, queue)]


def _arg(kind: str, ofs: int, make: Callable[[int], Action]) -> Callable[[_Decoder, bytes], list[Action]]:
    get = {"u8": _u8, "u16": _u16, "u32": _u32, "u64": _u64}[kind]

    def dec(d: _Decoder, a: bytes) -> list[Action]:
        return [make(get(a, ofs))]
    return dec


def _void(make: Callable[[], Action]) -> Callable[[_Decoder, bytes], list[Action]]:
    def dec(d: _Decoder, a: bytes) -> list[Action]:
        return [make()]
    return dec


def _d_push_mpls(ofs: int) -> Callable[[_Decoder, bytes], list[Action]]:
    def dec(d: _Decoder, a: bytes) -> list[Action]:
        et = _u16(a, ofs)
        if et not in (ETH_TYPE_MPLS, ETH_TYPE_MPLS_MCAST):
            raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
        return [PushMpls(et)]
    return dec


def _d_cnt_ids(d: _Decoder, a: bytes) -> list[Action]:
    n = _u16(a, 10)
    if not _all_zero(a[12:16]):
        raise OFPDecodeError("NXBRC_MUST_BE_ZERO")
    if len(a) - 16 < 2 * n:
        raise _err("OFPBAC_BAD_LEN", f"Nicira action dec_ttl_cnt_ids only has {len(a) - 16} bytes allocated for "
                                     f"controller ids.  {2 * n} bytes are required for {n} controllers.", _log)
    return [DecTtl(tuple(_u16(a, 16 + 2 * i) for i in range(n)))]


def _pull_set_field_entry(a: bytes, start: int, may_mask: bool) -> tuple[Field, int, int | None, int]:
    f, _, value, mask, pos = NX.pull_entry(a, start, action=True)
    if f is None:   # pull_entry reports unknown fields itself; this keeps the type checker informed
        raise OFPDecodeError("OFPBAC_BAD_SET_TYPE")
    if mask is not None and not may_mask:
        raise OFPDecodeError("OFPBMC_BAD_MASK")
    return f, value, mask, pos


def _d_set_field(may_mask: bool) -> Callable[[_Decoder, bytes], list[Action]]:
    def dec(d: _Decoder, a: bytes) -> list[Action]:
        try:
            f, value, mask, pos = _pull_set_field_entry(a, 4, may_mask)
        except OFPDecodeError as e:
            if e.code == "OFPBMC_BAD_MASK":
                raise OFPDecodeError("OFPBAC_BAD_SET_MASK") from None
            raise
        if not _all_zero(a[pos:]):
            raise OFPDecodeError("OFPBAC_BAD_SET_ARGUMENT")
        if f.name == "in_port_oxm":
            raise OFPDecodeError("OFPBAC_BAD_SET_ARGUMENT")
        if not f.writable:
            raise _err("OFPBAC_BAD_SET_ARGUMENT", f"destination field {f.name} is not writable", _log)
        full = _full(f)
        m = full if mask is None else mask
        if not MT.is_value_valid(f, value) or (f.name == "vlan_vid" and (
                not m & OFPVID12_PRESENT or not value & OFPVID12_PRESENT)):
            from pyvswitch.ofproto.actions.fieldtext import format_field_value
            try:
                shown = format_field_value(f, value, None)
            except Exception:  # noqa: BLE001 - the value only decorates a log line
                shown = hex(value)
            raise _err("OFPBAC_BAD_SET_ARGUMENT", f"Invalid value for set field {f.name}: {shown}", _log)
        return [SetField(f, value, None if m == full else m)]
    return dec


def _d_reg_load(d: _Decoder, a: bytes) -> list[Action]:
    ofs_nbits, hdr, value = _u16(a, 10), _u32(a, 12), _u64(a, 16)
    sf = _sub(_header32_field(hdr), ofs_nbits)
    _mf_check_dst(sf)
    if sf.n_bits < 64 and value >> sf.n_bits:
        raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    f = sf.field
    # A register load names its bits explicitly, so the mask is kept even when it covers the whole field.
    mask = ((1 << sf.n_bits) - 1) << sf.ofs
    return [SetField(f, value << sf.ofs, mask, load=True)]


def _d_reg_load2(d: _Decoder, a: bytes) -> list[Action]:
    f, _, value, mask, pos = NX.pull_entry(a, 10, action=True)
    if f is None:
        raise OFPDecodeError("OFPBAC_BAD_SET_TYPE")
    if not _all_zero(a[pos:]):
        raise OFPDecodeError("OFPBAC_BAD_SET_ARGUMENT")
    if not f.writable:
        raise _err("OFPBAC_BAD_SET_ARGUMENT", f"destination field {f.name} is not writable", _log)
    full = _full(f)
    m = full if mask is None else mask
    return [SetField(f, value, None if m == full else m)]


def _move(n_bits: int, src_ofs: int, dst_ofs: int, a: bytes, hofs: int) -> list[Action]:
    src, pos = NX.pull_field_header(a, hofs)
    dst, pos = NX.pull_field_header(a, pos)
    if not _all_zero(a[pos:]):
        raise OFPDecodeError("NXBRC_MUST_BE_ZERO")
    move = RegMove(Subfield(src, src_ofs, n_bits), Subfield(dst, dst_ofs, n_bits))
    _mf_check_src(move.src)
    _mf_check_dst(move.dst)
    return [move]


def _d_copy_field15(d: _Decoder, a: bytes) -> list[Action]:
    return _move(_u16(a, 4), _u16(a, 6), _u16(a, 8), a, 12)


def _d_copy_field13(d: _Decoder, a: bytes) -> list[Action]:
    return _move(_u16(a, 12), _u16(a, 14), _u16(a, 16), a, 20)


def _d_reg_move(d: _Decoder, a: bytes) -> list[Action]:
    return _move(_u16(a, 10), _u16(a, 12), _u16(a, 14), a, 16)


def _d_resubmit_table(ct: bool) -> Callable[[_Decoder, bytes], list[Action]]:
    def dec(d: _Decoder, a: bytes) -> list[Action]:
        if not _all_zero(a[13:16]):
            raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
        return [Resubmit(_u16(a, 10), a[12], ct)]
    return dec


def _d_note(d: _Decoder, a: bytes) -> list[Action]:
    return [Note(bytes(a[10:]))]


def _d_multipath(d: _Decoder, a: bytes) -> list[Action]:
    fields, basis, alg, max_link, arg = _u16(a, 10), _u16(a, 12), _u16(a, 16), _u16(a, 18), _u32(a, 20)
    ofs_nbits, hdr = _u16(a, 26), _u32(a, 28)
    dst = _sub(_header32_field(hdr), ofs_nbits)
    n_links = max_link + 1
    min_n_bits = (n_links - 1).bit_length()
    if fields >= len(HASH_FIELDS):
        raise _err("OFPBAC_BAD_ARGUMENT", f"unsupported fields {fields}", _log)
    if alg >= len(MULTIPATH_ALGORITHMS):
        raise _err("OFPBAC_BAD_ARGUMENT", f"unsupported algorithm {alg}", _log)
    if dst.n_bits < min_n_bits:
        raise _err("OFPBAC_BAD_ARGUMENT", f"multipath action requires at least {min_n_bits} bits for {n_links} "
                                          f"links", _log)
    _mf_check_dst(dst)
    return [Multipath(HASH_FIELDS[fields], basis, MULTIPATH_ALGORITHMS[alg], max_link, arg, dst)]


def _d_bundle(load: bool) -> Callable[[_Decoder, bytes], list[Action]]:
    def dec(d: _Decoder, a: bytes) -> list[Action]:
        alg, fields, basis, slave_type, n = _u16(a, 10), _u16(a, 12), _u16(a, 14), _u32(a, 16), _u16(a, 20)
        ofs_nbits, hdr = _u16(a, 22), _u32(a, 24)
        error: str | None = "OFPBAC_BAD_ARGUMENT"
        if fields >= len(HASH_FIELDS):
            _log.warn_rl(_rl, f"unsupported fields {fields}")
        elif n > BUNDLE_MAX_MEMBERS:
            _log.warn_rl(_rl, "too many slaves")
        elif alg >= len(BUNDLE_ALGORITHMS):
            _log.warn_rl(_rl, f"unsupported algorithm {alg}")
        elif slave_type != _IN_PORT_HEADER:
            _log.warn_rl(_rl, f"unsupported slave type {slave_type}")
        else:
            error = None
        if not _all_zero(a[28:32]):
            _log.warn_rl(_rl, "reserved field is nonzero")
            error = "OFPBAC_BAD_ARGUMENT"
        dst = None
        if load:
            dst = _sub(_header32_field(hdr), ofs_nbits)
            # Open vSwitch overwrites its error with the (successful) destination lookup here, so that a
            # bundle_load with unsupported fields, algorithm or member type is accepted after the warning.
            error = None
            if dst.n_bits < 16:
                _log.warn_rl(_rl, "bundle_load action requires at least 16 bit destination.")
                error = "OFPBAC_BAD_ARGUMENT"
        elif ofs_nbits or hdr:
            _log.warn_rl(_rl, "bundle action has nonzero reserved fields")
            error = "OFPBAC_BAD_ARGUMENT"
        size = len(a) - 32
        if size < 2 * n:
            _log.warn_rl(_rl, f"Nicira action {'bundle_load' if load else 'bundle'} only has {size} bytes "
                              f"allocated for slaves.  {2 * n} bytes are required for {n} slaves.")
            error = "OFPBAC_BAD_LEN"
        if error:
            raise OFPDecodeError(error)
        members = tuple(_u16(a, 32 + 2 * i) for i in range(n))
        b = Bundle(_name(HASH_FIELDS, fields), basis, _name(BUNDLE_ALGORITHMS, alg), members, dst)
        try:
            C.walk_check((b,), C.FlowState(), C.CheckParams())
        except ActionCheckError as e:
            raise _check_error(e) from None
        return [b]
    return dec


def _name(names: tuple[str, ...], code: int) -> str:
    """The name of a hash-fields or algorithm code; an unknown code that Open vSwitch accepts anyway (see
    bundle_load) keeps its number, as a string, so that it encodes back to itself."""
    return names[code] if code < len(names) else str(code)


def _code(names: tuple[str, ...], name: str) -> int:
    return names.index(name) if name in names else int(name) & 0xFFFF


def _d_output_reg(d: _Decoder, a: bytes) -> list[Action]:
    if not _all_zero(a[18:24]):
        raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    src = _sub(_header32_field(_u32(a, 12)), _u16(a, 10))
    _mf_check_src(src)
    return [OutputReg(src, _u16(a, 16))]


def _d_output_reg2(d: _Decoder, a: bytes) -> list[Action]:
    ofs_nbits, max_len = _u16(a, 10), _u16(a, 12)
    f, pos = NX.pull_field_header(a, 14)
    if not _all_zero(a[pos:]):
        raise OFPDecodeError("NXBRC_MUST_BE_ZERO")
    src = _sub(f, ofs_nbits)
    _mf_check_src(src)
    return [OutputReg(src, max_len)]


def _learn_min_len(header: int) -> int:
    n_bits = header & NX_LEARN_N_BITS_MASK
    n = 6 if header & NX_LEARN_SRC_MASK == NX_LEARN_SRC_FIELD else 2 * ((n_bits + 15) // 16)
    if header & NX_LEARN_DST_MASK in (NX_LEARN_DST_MATCH, NX_LEARN_DST_LOAD):
        n += 6
    return n


def _learn_specs(a: bytes, pos: int) -> tuple[LearnSpec, ...]:
    specs = []
    end = len(a)
    while pos < end:
        if end - pos < 2:
            break
        header = _u16(a, pos)
        pos += 2
        if not header:
            break
        src_type, dst_type, n_bits = header & NX_LEARN_SRC_MASK, header & NX_LEARN_DST_MASK, header & 0x3FF
        if not (dst_type in (NX_LEARN_DST_MATCH, NX_LEARN_DST_LOAD)
                or (dst_type == NX_LEARN_DST_OUTPUT and src_type == NX_LEARN_SRC_FIELD)):
            raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
        if end - pos < _learn_min_len(header):
            raise OFPDecodeError("OFPBAC_BAD_LEN")
        src = None
        imm = 0
        if src_type == NX_LEARN_SRC_FIELD:
            src = Subfield(_header32_field(_u32(a, pos)), _u16(a, pos + 4), n_bits)
            pos += 6
        else:
            p_bytes = 2 * ((n_bits + 15) // 16)
            imm_bytes = (n_bits + 7) // 8
            imm = int.from_bytes(a[pos + p_bytes - imm_bytes:pos + p_bytes], "big")
            pos += p_bytes
        dst = None
        if dst_type in (NX_LEARN_DST_MATCH, NX_LEARN_DST_LOAD):
            dst = Subfield(_header32_field(_u32(a, pos)), _u16(a, pos + 4), n_bits)
            pos += 6
        kind = {NX_LEARN_DST_MATCH: "match", NX_LEARN_DST_LOAD: "load", NX_LEARN_DST_OUTPUT: "output"}[dst_type]
        specs.append(LearnSpec(kind, n_bits, dst, src, imm))
    if not _all_zero(a[pos:]):
        raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    return tuple(specs)


def _learn_common(a: bytes) -> dict:
    idle, hard, prio, cookie, flags, table, pad, fin_idle, fin_hard = struct.unpack_from("!HHHQHBBHH", a, 10)
    if pad:
        raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    if table == 0xFF:
        raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    return {"idle_timeout": idle, "hard_timeout": hard, "priority": prio, "cookie": cookie, "flags": flags,
            "table_id": table, "fin_idle_timeout": fin_idle, "fin_hard_timeout": fin_hard}


def _make_learn(c: dict, specs: tuple[LearnSpec, ...], limit: int = 0,
                result_dst: Subfield | None = None) -> Learn:
    return Learn(table_id=c["table_id"], idle_timeout=c["idle_timeout"], hard_timeout=c["hard_timeout"],
                 fin_idle_timeout=c["fin_idle_timeout"], fin_hard_timeout=c["fin_hard_timeout"],
                 priority=c["priority"], cookie=c["cookie"],
                 send_flow_rem=bool(c["flags"] & NX_LEARN_F_SEND_FLOW_REM),
                 delete_learned=bool(c["flags"] & NX_LEARN_F_DELETE_LEARNED), limit=limit, result_dst=result_dst,
                 specs=specs)


def _d_learn(d: _Decoder, a: bytes) -> list[Action]:
    c = _learn_common(a)
    if c["flags"] & ~(NX_LEARN_F_SEND_FLOW_REM | NX_LEARN_F_DELETE_LEARNED):
        raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    return [_make_learn(c, _learn_specs(a, 32))]


def _d_learn2(d: _Decoder, a: bytes) -> list[Action]:
    if _u16(a, 38):
        raise OFPDecodeError("NXBAC_MUST_BE_ZERO")
    c = _learn_common(a)
    limit, rofs = _u32(a, 32), _u16(a, 36)
    if c["flags"] & ~(NX_LEARN_F_SEND_FLOW_REM | NX_LEARN_F_DELETE_LEARNED | NX_LEARN_F_WRITE_RESULT):
        raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    pos = 40
    result_dst = None
    if c["flags"] & NX_LEARN_F_WRITE_RESULT:
        f, pos = NX.pull_field_header(a, pos)
        if not f.writable:
            raise OFPDecodeError("OFPBAC_BAD_SET_ARGUMENT")
        result_dst = Subfield(f, rofs, 1)
    elif rofs:
        raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    return [_make_learn(c, _learn_specs(a, pos), limit, result_dst)]


def _d_fin_timeout(d: _Decoder, a: bytes) -> list[Action]:
    return [FinTimeout(_u16(a, 10), _u16(a, 12))]


def _reason_name(code: int) -> str:
    return PACKET_IN_REASONS[code] if code < len(PACKET_IN_REASONS) else str(code)


def _d_controller(d: _Decoder, a: bytes) -> list[Action]:
    return [Controller(max_len=_u16(a, 10), controller_id=_u16(a, 12), reason=_reason_name(a[14]))]


def _pull_props(data: bytes) -> Iterator[tuple[int, bytes]]:
    """OpenFlow properties (``ofpprop_pull``), one at a time, so that an error in one property is reported
    before a malformed later one: (type, payload) pairs; ``OFPBPC_BAD_LEN`` when malformed."""
    pos = 0
    while pos < len(data):
        if len(data) - pos < 4:
            raise OFPDecodeError("OFPBPC_BAD_LEN")
        ptype, plen = struct.unpack_from("!HH", data, pos)
        padded = (plen + 7) // 8 * 8
        if plen < 4 or padded > len(data) - pos:
            raise OFPDecodeError("OFPBPC_BAD_LEN")
        yield ptype, data[pos + 4:pos + plen]
        pos += padded


def _prop_int(payload: bytes, n: int) -> int:
    """An integer property (``ofpprop_parse_u16`` and friends): Open vSwitch accepts any payload at least as
    long as the integer, and reads its first bytes."""
    if len(payload) < n:
        raise OFPDecodeError("OFPBPC_BAD_LEN")
    return int.from_bytes(payload[:n], "big")


def _d_controller2(d: _Decoder, a: bytes) -> list[Action]:
    if not _all_zero(a[10:16]):
        raise OFPDecodeError("NXBRC_MUST_BE_ZERO")
    kw: dict = {"max_len": 0xFFFF, "controller_id": 0, "reason": "action", "userdata": b"", "pause": False,
                "meter_id": 0}
    for ptype, payload in _pull_props(a[16:]):
        if ptype == NXAC2PT_MAX_LEN:
            kw["max_len"] = _prop_int(payload, 2)
        elif ptype == NXAC2PT_CONTROLLER_ID:
            kw["controller_id"] = _prop_int(payload, 2)
        elif ptype == NXAC2PT_REASON:
            kw["reason"] = _reason_name(_prop_int(payload, 1))
        elif ptype == NXAC2PT_USERDATA:
            kw["userdata"] = bytes(payload)
        elif ptype == NXAC2PT_PAUSE:
            kw["pause"] = True
        elif ptype == NXAC2PT_METER_ID:
            # ovs-ofctl ofp-print prints a meter id of all-ones (NX_CTLR_NO_METER) when the property carries it.
            kw["meter_id"] = _prop_int(payload, 4)
        else:
            raise _err("OFPBPC_BAD_TYPE", f"unknown NXAST_RAW_CONTROLLER2 property type {ptype}", _log)
    return [Controller(**kw)]


def _d_write_metadata(d: _Decoder, a: bytes) -> list[Action]:
    if not _all_zero(a[10:16]):
        raise OFPDecodeError("NXBRC_MUST_BE_ZERO")
    return [WriteMetadata(_u64(a, 16), _u64(a, 24))]


def _d_stack(push: bool) -> Callable[[_Decoder, bytes], list[Action]]:
    def dec(d: _Decoder, a: bytes) -> list[Action]:
        ofs = _u16(a, 10)
        f, pos = NX.pull_field_header(a, 12)
        n_bits = _u16(a, pos)
        if not _all_zero(a[pos + 2:]):
            raise OFPDecodeError("NXBRC_MUST_BE_ZERO")
        sf = Subfield(f, ofs, n_bits)
        if push:
            _mf_check_src(sf)
            return [StackPush(sf)]
        _mf_check_dst(sf)
        return [StackPop(sf)]
    return dec


def _d_sample(d: _Decoder, a: bytes) -> list[Action]:
    prob, cset, dom, point = struct.unpack_from("!HIII", a, 10)
    if prob == 0:
        raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    return [Sample(prob, cset, dom, point)]


def _d_sample2(three: bool) -> Callable[[_Decoder, bytes], list[Action]]:
    def dec(d: _Decoder, a: bytes) -> list[Action]:
        prob, cset, dom, point, port, direction = struct.unpack_from("!HIIIHB", a, 10)
        if three:
            if not _all_zero(a[27:32]):
                raise OFPDecodeError("NXBRC_MUST_BE_ZERO")
            if direction > 2:
                raise _err("OFPBAC_BAD_ARGUMENT", f"invalid sample direction {direction}", _log)
        else:
            direction = 0
        if prob == 0:
            raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
        return [Sample(prob, cset, dom, point, port, _SAMPLE_DIRECTIONS[direction])]
    return dec


def _d_conjunction(d: _Decoder, a: bytes) -> list[Action]:
    clause, n, cid = a[10], a[11], _u32(a, 12)
    if n < 2 or n > 64 or clause >= n:
        raise OFPDecodeError("NXBAC_BAD_CONJUNCTION")
    return [Conjunction(cid, clause, n)]


def _d_ct(d: _Decoder, a: bytes) -> list[Action]:
    flags, zone_src_hdr, zone, table, alg = _u16(a, 10), _u32(a, 12), _u16(a, 16), a[18], _u16(a, 22)
    if flags & NX_CT_F_FORCE and not flags & NX_CT_F_COMMIT:
        raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    zone_src = None
    if zone_src_hdr:
        zone_src = _sub(_header32_field(zone_src_hdr), zone)
        _mf_check_src(zone_src)
        if zone_src.n_bits != 16:
            raise _err("OFPBAC_BAD_SET_LEN", f"zone n_bits {zone_src.n_bits} not within valid range [16..16]",
                       _log)
        zone = 0
    nested = d.nested(a[24:], Ct)
    commit = bool(flags & NX_CT_F_COMMIT)
    if nested and not commit:
        for n in nested:
            if not isinstance(n, Nat) or n.kind is not None or n.persistent or n.hash or n.random or \
                    n.family is not None:
                raise _err("OFPBAC_BAD_ARGUMENT", "CT action requires commit flag if actions other than NAT "
                                                  "without arguments are specified.", _log)
    return [Ct(commit, bool(flags & NX_CT_F_FORCE), zone, zone_src, table, alg, tuple(nested))]


def _d_nat(d: _Decoder, a: bytes) -> list[Action]:
    flags, present = _u16(a, 12), _u16(a, 14)
    if (flags & ~NX_NAT_F_MASK or (flags & NX_NAT_F_SRC and flags & NX_NAT_F_DST)
            or (flags & NX_NAT_F_PROTO_HASH and flags & NX_NAT_F_PROTO_RANDOM)):
        raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    opts = a[16:]
    pos = 0

    def take(n: int) -> int:
        nonlocal pos
        if len(opts) - pos < n:
            raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
        v = int.from_bytes(opts[pos:pos + n], "big")
        pos += n
        return v

    family = None
    amin = amax = pmin = pmax = 0
    if present & NX_NAT_RANGE_IPV4_MIN:
        if present & (NX_NAT_RANGE_IPV6_MIN | NX_NAT_RANGE_IPV6_MAX):
            raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
        amin = take(4)
        if not amin:
            raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
        family = 4
        if present & NX_NAT_RANGE_IPV4_MAX:
            amax = take(4)
            if amax < amin:
                raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    elif present & NX_NAT_RANGE_IPV4_MAX:
        raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    elif present & NX_NAT_RANGE_IPV6_MIN:
        amin = take(16)
        if not amin:
            raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
        family = 6
        if present & NX_NAT_RANGE_IPV6_MAX:
            amax = take(16)
            if amax < amin:
                raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    elif present & NX_NAT_RANGE_IPV6_MAX:
        raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    if present & NX_NAT_RANGE_PROTO_MIN:
        if family is None:
            raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
        pmin = take(2)
        if not pmin:
            raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
        if present & NX_NAT_RANGE_PROTO_MAX:
            pmax = take(2)
            if pmax < pmin:
                raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    elif present & NX_NAT_RANGE_PROTO_MAX:
        raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    kind = "src" if flags & NX_NAT_F_SRC else "dst" if flags & NX_NAT_F_DST else None
    return [Nat(kind, family, amin, amax, pmin, pmax, bool(flags & NX_NAT_F_PERSISTENT),
                bool(flags & NX_NAT_F_PROTO_HASH), bool(flags & NX_NAT_F_PROTO_RANDOM))]


def _d_output_trunc(d: _Decoder, a: bytes) -> list[Action]:
    port, max_len = _u16(a, 10), _u32(a, 12)
    if max_len < 14:
        raise OFPDecodeError("OFPBAC_BAD_ARGUMENT")
    return [OutputTrunc(port, max_len)]


def _d_clone(d: _Decoder, a: bytes) -> list[Action]:
    return [Clone(tuple(d.nested(a[16:], Clone)))]


def _d_encap(d: _Decoder, a: bytes) -> list[Action]:
    pt = _u32(a, 12)
    header = _ENCAP_NAMES.get(pt)
    if header is None:
        raise OFPDecodeError("NXBAC_BAD_HEADER_TYPE")
    md_type = None
    tlvs = []
    props = a[16:]
    pos = 0
    while pos < len(props):
        if len(props) - pos < 4:
            raise OFPDecodeError("OFPBAC_BAD_LEN")
        pclass, ptype, plen = struct.unpack_from("!HBB", props, pos)
        pad_len = (plen + 7) // 8 * 8
        remaining = len(props) - pos
        if pad_len > remaining:
            raise OFPDecodeError("OFPBAC_BAD_LEN")
        if pclass != OFPPPC_NSH or ptype not in (OFPPPT_PROP_NSH_MDTYPE, OFPPPT_PROP_NSH_TLV):
            raise OFPDecodeError("NXBAC_UNKNOWN_ED_PROP")
        if ptype == OFPPPT_PROP_NSH_MDTYPE:
            if plen > 8:
                raise OFPDecodeError("NXBAC_BAD_ED_PROP")
            md_type = props[pos + 4] if plen > 4 else 0
        else:
            if pad_len < 8:
                raise OFPDecodeError("NXBAC_BAD_ED_PROP")
            tcls, ttype, tlen = struct.unpack_from("!HBB", props, pos + 4)
            if plen != 8 + (tlen + 7) // 8 * 8:
                raise OFPDecodeError("NXBAC_BAD_ED_PROP")
            tlvs.append((tcls, ttype, bytes(props[pos + 8:pos + 8 + tlen])))
        if pad_len == 0:
            raise OFPDecodeError("OFPBAC_BAD_LEN")
        pos += pad_len
    return [Encap(header, md_type, tuple(tlvs))]


def _d_decap(d: _Decoder, a: bytes) -> list[Action]:
    if len(a) > 16:
        raise OFPDecodeError("NXBAC_UNKNOWN_ED_PROP")
    pt = _u32(a, 12)
    return [Decap(None if pt == PT_USE_NEXT_PROTO else pt)]


def _d_check_pkt_larger(d: _Decoder, a: bytes) -> list[Action]:
    pkt_len, ofs = _u16(a, 10), _u16(a, 12)
    f, pos = NX.pull_field_header(a, 14)
    if not _all_zero(a[pos:]):
        raise OFPDecodeError("NXBRC_MUST_BE_ZERO")
    dst = Subfield(f, ofs, 1)
    _mf_check_dst(dst)
    return [CheckPktLarger(pkt_len, dst)]


def _d_delete_field(d: _Decoder, a: bytes) -> list[Action]:
    f, _ = NX.pull_field_header(a, 10)
    return [DeleteField(f)]


def _d_debug(d: _Decoder, a: bytes) -> list[Action]:
    # Accepted only by an ovs-vswitchd started with --enable-dummy; ovs-ofctl rejects them.
    raise OFPDecodeError("OFPBAC_BAD_VENDOR_TYPE")


# The table of wire forms: (vendor, type) -> versions, name, lengths, decoder.  "uint" actions are fixed-size;
# "struct X, ..." ones may be longer by multiples of 8 up to MAX_ACTION_LEN.
_ALL = range(1, 7)
_OF11_UP = range(2, 7)
_OF12_UP = range(3, 7)
_NX13_UP = range(4, 7)
_DEPRECATED = "use Set-Field"

_RAW_SPECS: list[tuple[int, int, range | tuple[int, ...], _Raw]] = [
    # Standard actions.
    (0, 0, (1,), _Raw("OFPAT_OUTPUT", 8, 8, _d_output10)),
    (0, 0, _OF11_UP, _Raw("OFPAT_OUTPUT", 16, 16, _d_output11)),
    (0, 1, (1,), _Raw("OFPAT_SET_VLAN_VID", 8, 8, _d_vid(True, 4))),
    (0, 2, (1,), _Raw("OFPAT_SET_VLAN_PCP", 8, 8, _d_pcp(True))),
    (0, 1, (2,), _Raw("OFPAT_SET_VLAN_VID", 8, 8, _d_vid(False, 4))),
    (0, 1, _OF12_UP, _Raw("OFPAT_SET_VLAN_VID", 8, 8, _d_vid(False, 4), _DEPRECATED)),
    (0, 2, (2,), _Raw("OFPAT_SET_VLAN_PCP", 8, 8, _d_pcp(False))),
    (0, 2, _OF12_UP, _Raw("OFPAT_SET_VLAN_PCP", 8, 8, _d_pcp(False), _DEPRECATED)),
    (0, 17, _OF11_UP, _Raw("OFPAT_PUSH_VLAN", 8, 8, _d_push_vlan)),
    (0, 3, (1,), _Raw("OFPAT_STRIP_VLAN", 8, 8, _void(lambda: StripVlan(False)))),
    (0, 18, _OF11_UP, _Raw("OFPAT_POP_VLAN", 8, 8, _void(lambda: StripVlan(True)))),
    (0, 4, (1,), _Raw("OFPAT_SET_DL_SRC", 16, 16, _d_dl(True))),
    (0, 3, (2,), _Raw("OFPAT_SET_DL_SRC", 16, 16, _d_dl(True))),
    (0, 3, _OF12_UP, _Raw("OFPAT_SET_DL_SRC", 16, 16, _d_dl(True), _DEPRECATED)),
    (0, 5, (1,), _Raw("OFPAT_SET_DL_DST", 16, 16, _d_dl(False))),
    (0, 4, (2,), _Raw("OFPAT_SET_DL_DST", 16, 16, _d_dl(False))),
    (0, 4, _OF12_UP, _Raw("OFPAT_SET_DL_DST", 16, 16, _d_dl(False), _DEPRECATED)),
    (0, 6, (1,), _Raw("OFPAT_SET_NW_SRC", 8, 8, _d_nw(True))),
    (0, 5, (2,), _Raw("OFPAT_SET_NW_SRC", 8, 8, _d_nw(True))),
    (0, 5, _OF12_UP, _Raw("OFPAT_SET_NW_SRC", 8, 8, _d_nw(True), _DEPRECATED)),
    (0, 7, (1,), _Raw("OFPAT_SET_NW_DST", 8, 8, _d_nw(False))),
    (0, 6, (2,), _Raw("OFPAT_SET_NW_DST", 8, 8, _d_nw(False))),
    (0, 6, _OF12_UP, _Raw("OFPAT_SET_NW_DST", 8, 8, _d_nw(False), _DEPRECATED)),
    (0, 8, (1,), _Raw("OFPAT_SET_NW_TOS", 8, 8, _d_nw_tos)),
    (0, 7, (2,), _Raw("OFPAT_SET_NW_TOS", 8, 8, _d_nw_tos)),
    (0, 7, _OF12_UP, _Raw("OFPAT_SET_NW_TOS", 8, 8, _d_nw_tos, _DEPRECATED)),
    (0, 8, (2,), _Raw("OFPAT_SET_NW_ECN", 8, 8, _d_nw_ecn)),
    (0, 8, _OF12_UP, _Raw("OFPAT_SET_NW_ECN", 8, 8, _d_nw_ecn, _DEPRECATED)),
    (0, 9, (1, 2), _Raw("OFPAT_SET_TP_SRC", 8, 8, _d_tp(True))),
    (0, 9, _OF12_UP, _Raw("OFPAT_SET_TP_SRC", 8, 8, _d_tp(True), _DEPRECATED)),
    (0, 10, (1, 2), _Raw("OFPAT_SET_TP_DST", 8, 8, _d_tp(False))),
    (0, 10, _OF12_UP, _Raw("OFPAT_SET_TP_DST", 8, 8, _d_tp(False), _DEPRECATED)),
    (0, 11, (1,), _Raw("OFPAT_ENQUEUE", 16, 16, _d_enqueue)),
    (NX_VENDOR_ID, 30, (1,), _Raw("NXAST_SET_MPLS_LABEL", 16, 16, _arg("u32", 12, SetMplsLabel))),
    (0, 13, (2,), _Raw("OFPAT_SET_MPLS_LABEL", 8, 8, _arg("u32", 4, SetMplsLabel))),
    (0, 13, _OF12_UP, _Raw("OFPAT_SET_MPLS_LABEL", 8, 8, _arg("u32", 4, SetMplsLabel), _DEPRECATED)),
    (NX_VENDOR_ID, 31, (1,), _Raw("NXAST_SET_MPLS_TC", 16, 16, _arg("u8", 10, SetMplsTc))),
    (0, 14, (2,), _Raw("OFPAT_SET_MPLS_TC", 8, 8, _arg("u8", 4, SetMplsTc))),
    (0, 14, _OF12_UP, _Raw("OFPAT_SET_MPLS_TC", 8, 8, _arg("u8", 4, SetMplsTc), _DEPRECATED)),
    (NX_VENDOR_ID, 25, (1,), _Raw("NXAST_SET_MPLS_TTL", 16, 16, _arg("u8", 10, SetMplsTtl))),
    (0, 15, (2,), _Raw("OFPAT_SET_MPLS_TTL", 8, 8, _arg("u8", 4, SetMplsTtl))),
    (0, 15, _OF12_UP, _Raw("OFPAT_SET_MPLS_TTL", 8, 8, _arg("u8", 4, SetMplsTtl), _DEPRECATED)),
    (NX_VENDOR_ID, 26, (1,), _Raw("NXAST_DEC_MPLS_TTL", 16, 16, _void(DecMplsTtl))),
    (0, 16, _OF11_UP, _Raw("OFPAT_DEC_MPLS_TTL", 8, 8, _void(DecMplsTtl))),
    (NX_VENDOR_ID, 23, (1,), _Raw("NXAST_PUSH_MPLS", 16, 16, _d_push_mpls(10))),
    (0, 19, _OF11_UP, _Raw("OFPAT_PUSH_MPLS", 8, 8, _d_push_mpls(4))),
    (NX_VENDOR_ID, 24, (1,), _Raw("NXAST_POP_MPLS", 16, 16, _arg("u16", 10, PopMpls))),
    (0, 20, _OF11_UP, _Raw("OFPAT_POP_MPLS", 8, 8, _arg("u16", 4, PopMpls))),
    (NX_VENDOR_ID, 4, (1,), _Raw("NXAST_SET_QUEUE", 16, 16, _arg("u32", 12, SetQueue))),
    (0, 21, _OF11_UP, _Raw("OFPAT_SET_QUEUE", 8, 8, _arg("u32", 4, SetQueue))),
    (NX_VENDOR_ID, 40, (1,), _Raw("NXAST_GROUP", 16, 16, _arg("u32", 12, Group))),
    (0, 22, _OF11_UP, _Raw("OFPAT_GROUP", 8, 8, _arg("u32", 4, Group))),
    (0, 23, _OF11_UP, _Raw("OFPAT_SET_NW_TTL", 8, 8, _arg("u8", 4, SetIpTtl))),
    (NX_VENDOR_ID, 18, (1,), _Raw("NXAST_DEC_TTL", 16, 16, _void(DecTtl))),
    (0, 24, _OF11_UP, _Raw("OFPAT_DEC_NW_TTL", 8, 8, _void(DecTtl))),
    (NX_VENDOR_ID, 21, _ALL, _Raw("NXAST_DEC_TTL_CNT_IDS", 16, _VAR, _d_cnt_ids)),
    (0, 25, (3, 4, 5), _Raw("OFPAT_SET_FIELD", 8, _VAR, _d_set_field(False))),
    (0, 25, (6,), _Raw("OFPAT_SET_FIELD", 8, _VAR, _d_set_field(True))),
    (NX_VENDOR_ID, 7, (1, 2, 3, 4, 5), _Raw("NXAST_REG_LOAD", 24, 24, _d_reg_load)),
    (NX_VENDOR_ID, 33, (1, 2, 3, 4, 5), _Raw("NXAST_REG_LOAD2", 16, _VAR, _d_reg_load2)),
    (0, 28, (6,), _Raw("OFPAT_COPY_FIELD", 16, _VAR, _d_copy_field15)),
    (ONF_VENDOR_ID, 3200, (4, 5), _Raw("ONFACT_COPY_FIELD", 24, _VAR, _d_copy_field13)),
    (NX_VENDOR_ID, 6, (1, 2, 3, 4, 5), _Raw("NXAST_REG_MOVE", 16, _VAR, _d_reg_move)),
    (0, 29, (6,), _Raw("OFPAT_METER", 8, 8, _arg("u32", 4, Meter))),
    # Nicira extension actions.
    (NX_VENDOR_ID, 1, _ALL, _Raw("NXAST_RESUBMIT", 16, 16, _arg("u16", 10, lambda p: Resubmit(p, 255)))),
    (NX_VENDOR_ID, 14, _ALL, _Raw("NXAST_RESUBMIT_TABLE", 16, 16, _d_resubmit_table(False))),
    (NX_VENDOR_ID, 44, _ALL, _Raw("NXAST_RESUBMIT_TABLE_CT", 16, 16, _d_resubmit_table(True))),
    (NX_VENDOR_ID, 2, _ALL, _Raw("NXAST_SET_TUNNEL", 16, 16, _arg("u32", 12, lambda t: SetTunnel(t, False)))),
    (NX_VENDOR_ID, 9, _ALL, _Raw("NXAST_SET_TUNNEL64", 24, 24, _arg("u64", 16, lambda t: SetTunnel(t, True)))),
    (NX_VENDOR_ID, 5, _ALL, _Raw("NXAST_POP_QUEUE", 16, 16, _void(PopQueue))),
    (NX_VENDOR_ID, 8, _ALL, _Raw("NXAST_NOTE", 16, _VAR, _d_note)),
    (NX_VENDOR_ID, 10, _ALL, _Raw("NXAST_MULTIPATH", 32, 32, _d_multipath)),
    (NX_VENDOR_ID, 12, _ALL, _Raw("NXAST_BUNDLE", 32, _VAR, _d_bundle(False))),
    (NX_VENDOR_ID, 13, _ALL, _Raw("NXAST_BUNDLE_LOAD", 32, _VAR, _d_bundle(True))),
    (NX_VENDOR_ID, 15, _ALL, _Raw("NXAST_OUTPUT_REG", 24, 24, _d_output_reg)),
    (NX_VENDOR_ID, 32, _ALL, _Raw("NXAST_OUTPUT_REG2", 24, 24, _d_output_reg2)),
    (NX_VENDOR_ID, 16, _ALL, _Raw("NXAST_LEARN", 32, _VAR, _d_learn)),
    (NX_VENDOR_ID, 45, _ALL, _Raw("NXAST_LEARN2", 40, _VAR, _d_learn2)),
    (NX_VENDOR_ID, 17, _ALL, _Raw("NXAST_EXIT", 16, 16, _void(Exit))),
    (NX_VENDOR_ID, 19, _ALL, _Raw("NXAST_FIN_TIMEOUT", 16, 16, _d_fin_timeout)),
    (NX_VENDOR_ID, 20, _ALL, _Raw("NXAST_CONTROLLER", 16, 16, _d_controller)),
    (NX_VENDOR_ID, 37, _ALL, _Raw("NXAST_CONTROLLER2", 16, _VAR, _d_controller2)),
    (NX_VENDOR_ID, 22, _ALL, _Raw("NXAST_WRITE_METADATA", 32, 32, _d_write_metadata)),
    (NX_VENDOR_ID, 27, _ALL, _Raw("NXAST_STACK_PUSH", 24, 24, _d_stack(True))),
    (NX_VENDOR_ID, 28, _ALL, _Raw("NXAST_STACK_POP", 24, 24, _d_stack(False))),
    (NX_VENDOR_ID, 29, _ALL, _Raw("NXAST_SAMPLE", 24, 24, _d_sample)),
    (NX_VENDOR_ID, 38, _ALL, _Raw("NXAST_SAMPLE2", 32, 32, _d_sample2(False))),
    (NX_VENDOR_ID, 41, _ALL, _Raw("NXAST_SAMPLE3", 32, 32, _d_sample2(True))),
    (NX_VENDOR_ID, 34, _ALL, _Raw("NXAST_CONJUNCTION", 16, 16, _d_conjunction)),
    (NX_VENDOR_ID, 35, _ALL, _Raw("NXAST_CT", 24, _VAR, _d_ct)),
    (NX_VENDOR_ID, 36, _ALL, _Raw("NXAST_NAT", 16, _VAR, _d_nat)),
    (NX_VENDOR_ID, 39, _ALL, _Raw("NXAST_OUTPUT_TRUNC", 16, 16, _d_output_trunc)),
    (NX_VENDOR_ID, 42, _ALL, _Raw("NXAST_CLONE", 16, _VAR, _d_clone)),
    (NX_VENDOR_ID, 43, _ALL, _Raw("NXAST_CT_CLEAR", 16, 16, _void(CtClear))),
    (NX_VENDOR_ID, 46, _NX13_UP, _Raw("NXAST_ENCAP", 16, _VAR, _d_encap)),
    (NX_VENDOR_ID, 47, _NX13_UP, _Raw("NXAST_DECAP", 16, _VAR, _d_decap)),
    (NX_VENDOR_ID, 48, _NX13_UP, _Raw("NXAST_DEC_NSH_TTL", 16, 16, _void(DecNshTtl))),
    (NX_VENDOR_ID, 49, _ALL, _Raw("NXAST_CHECK_PKT_LARGER", 24, _VAR, _d_check_pkt_larger)),
    (NX_VENDOR_ID, 50, _ALL, _Raw("NXAST_DELETE_FIELD", 24, 24, _d_delete_field)),
    (NX_VENDOR_ID, 254, _ALL, _Raw("NXAST_DEBUG_SLOW", 16, 16, _d_debug)),
    (NX_VENDOR_ID, 255, _ALL, _Raw("NXAST_DEBUG_RECIRC", 16, 16, _d_debug)),
]

_RAWS: dict[tuple[int, int, int], _Raw] = {}
for _vendor, _type, _versions, _raw in _RAW_SPECS:
    for _v in _versions:
        _RAWS[(_vendor, _type, _v)] = _raw


# ---------------------------------------------------------------------------------------------------------------
# Verification of order and nesting (OVS ofpacts_verify).

def _inst_of(a: Action, version: int) -> Inst:
    if isinstance(a, Meter) and version >= 6:
        return Inst.APPLY_ACTIONS
    return a.INSTRUCTION


def _dst_field(a: Action) -> Field | None:
    if isinstance(a, SetField):
        return a.field
    if isinstance(a, RegMove):
        return a.dst.field
    return None


_CT_FIELDS = ("ct_mark", "ct_label")


def verify(actions: Sequence[Action], version: int, allowed: frozenset[Inst],
           outer: type[Action] | None = None) -> None:
    """OVS ``ofpacts_verify``: instruction order (meter, apply, clear, write, write_metadata, goto; each at most
    once), the instructions allowed here, conjunctions only with notes, and what may nest in ``ct``/``clone``."""
    inst = Inst.METER
    for i, a in enumerate(actions):
        if isinstance(a, Conjunction):
            for b in actions:
                if not isinstance(b, (Conjunction, Note)):
                    raise _err("NXBAC_BAD_CONJUNCTION", f'"conjunction" actions may be used along with "note" but '
                                                        f'not any other kind of action (such as the "{b.NAME}" '
                                                        f'action used here)', _log)
            return
        field = _dst_field(a)
        if field is not None and field.name in _CT_FIELDS and outer is not Ct:
            raise _err("OFPBAC_BAD_SET_ARGUMENT", "cannot set CT fields outside of ct action", _log)
        if isinstance(a, Nat):
            if outer is not Ct:
                raise _err("OFPBAC_BAD_SET_ARGUMENT", 'Cannot have NAT action outside of "ct" action', _log)
            continue
        if outer is not None:
            if outer is Ct:
                if field is None:
                    raise _err("OFPBAC_BAD_ARGUMENT", f"ct action doesn't support nested action {a.NAME}", _log)
                if field.name not in _CT_FIELDS:
                    raise _err("OFPBAC_BAD_ARGUMENT", f"ct action doesn't support nested modification of "
                                                      f"{field.name}", _log)
            if isinstance(a, Meter):
                raise _err("OFPBAC_BAD_ARGUMENT", f"{outer.NAME} action doesn't support nested action meter",
                           _log)
        nxt = _inst_of(a, version)
        if i > 0 and (nxt < inst if inst is Inst.APPLY_ACTIONS else nxt <= inst):
            if nxt == inst:
                msg = f"duplicate {inst.text} instruction not allowed, for OpenFlow 1.1+ compatibility"
            else:
                msg = (f"invalid instruction ordering: {nxt.text} must appear before {inst.text}, for OpenFlow "
                       f"1.1+ compatibility")
            raise _err("OFPBAC_UNSUPPORTED_ORDER", msg, _log)
        if nxt not in allowed:
            if nxt is Inst.METER and version >= 6:
                raise _err("OFPBAC_BAD_TYPE", "meter action not allowed here", _log)
            raise _err("OFPBIC_UNSUP_INST", f"{nxt.text} instruction not allowed here", _log)
        inst = nxt


_ALL_INSTS = frozenset(Inst)


def decode_actions(data: bytes, version: int) -> list[Action]:
    """OVS ``ofpacts_pull_openflow_instructions`` for OpenFlow 1.0: the actions (instructions included, in their
    Nicira forms) of a flow-mod, checked for order.  ``data`` must be a multiple of 8 bytes."""
    if len(data) % 8:
        raise _err("OFPBRC_BAD_LEN", f"OpenFlow message actions length {len(data)} is not a multiple of 8", _log)
    acts = _Decoder(version).decode(data)
    verify(acts, version, _ALL_INSTS)
    return acts


_INST_STRUCT = {1: ("goto_table", 8, False), 2: ("write_metadata", 24, False), 3: ("write_actions", 8, True),
                4: ("apply_actions", 8, True), 5: ("clear_actions", 8, False), 6: ("meter", 8, False)}


def decode_instructions(data: bytes, version: int) -> list[Action]:
    """OVS ``ofpacts_pull_openflow_instructions`` for OpenFlow 1.1+: the instructions as one action list (meter,
    apply-actions, clear-actions, write-actions, write-metadata, goto-table)."""
    if len(data) % 8:
        raise _err("OFPBIC_BAD_LEN", f"OpenFlow message instructions length {len(data)} is not a multiple of 8",
                   _log)
    found: dict[int, bytes] = {}
    pos = 0
    while pos < len(data):
        itype, ilen = struct.unpack_from("!HH", data, pos)
        if ilen % 8 or ilen < 8 or ilen > len(data) - pos:
            raise _err("OFPBIC_BAD_LEN", f"bad instruction format at offset {pos}", _log)
        if itype == 0xFFFF:
            raise OFPDecodeError("OFPBIC_BAD_EXPERIMENTER")
        spec = _INST_STRUCT.get(itype)
        if spec is None:
            raise OFPDecodeError("OFPBIC_UNKNOWN_INST")
        _, size, extensible = spec
        if (ilen < size) if extensible else (ilen != size):
            raise OFPDecodeError("OFPBIC_BAD_LEN")
        if itype == 6 and version >= 6:
            raise OFPDecodeError("OFPBIC_UNKNOWN_INST")
        if itype in found:
            raise OFPDecodeError("OFPBIC_DUP_INST")
        found[itype] = data[pos:pos + ilen]
        pos += ilen
    d = _Decoder(version)
    out: list[Action] = []
    if 6 in found:
        out.append(Meter(_u32(found[6], 4)))
    if 4 in found:
        out.extend(d.decode(found[4][8:]))
    if 5 in found:
        out.append(ClearActions())
    if 3 in found:
        nested = d.decode(found[3][8:])
        for a in nested:
            if not a.ALLOWED_IN_ACTION_SET:
                raise _err("OFPBAC_BAD_TYPE", "disallowed action in action set", _log)
        out.append(WriteActions(tuple(nested)))
    if 2 in found:
        w = found[2]
        out.append(WriteMetadata(_u64(w, 8), _u64(w, 16)))
    if 1 in found:
        out.append(GotoTable(found[1][4]))
    verify(out, version, _ALL_INSTS)
    return out


def check_consistency(actions: Sequence[Action], match: Match, protocol: Proto, table_id: int = 255,
                      max_ports: int = OFPP_MAX, n_tables: int = 255) -> None:
    """OVS ``ofpacts_check_consistency``: the actions' checks against the match (``ofproto.actions.check``);
    inconsistencies only OpenFlow 1.0 tolerates are errors for the other protocols.  Raises OFPDecodeError."""
    cp = C.CheckParams(max_ports=max_ports, table_id=table_id, n_tables=n_tables, usable=Proto.ANY)
    try:
        C.walk_check(tuple(actions), C.FlowState.of(match), cp)
    except ActionCheckError as e:
        raise OFPDecodeError(e.code) from None
    if protocol & ~cp.usable:
        raise OFPDecodeError("OFPBAC_MATCH_INCONSISTENT")
