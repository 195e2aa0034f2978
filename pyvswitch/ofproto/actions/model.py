"""The action and instruction objects: plain, immutable data, one class per kind of action.

Each class carries every parameter that translation (xlate) and the OpenFlow codec need, in the units Open vSwitch
uses internally: ports are 16-bit OpenFlow 1.0 numbers (``OFPP_*`` in ``lex``), tables 0..254 with 255 meaning
"none", field values are in the field's own value space (bit 0 is the least significant bit of the field, see
``pyvswitch.flow.fields``).  ``fmt()`` returns the text ovs-ofctl prints for the action; ``NAME`` is the action's
name in ovs-ofctl's error messages.

A few classes keep how the action was spelled when Open vSwitch keeps it too, because it changes the printed text
and the OpenFlow encoding: ``SetField.load`` (written as ``load:``), ``StripVlan.pop`` (``pop_vlan``),
``SetVlanVid.push_vlan_if_needed`` (``mod_vlan_vid`` rather than ``set_vlan_vid``), ``SetTunnel.wide``
(``set_tunnel64``) and ``DecTtl.ids`` (None for a bare ``dec_ttl``).

Instructions (``meter``, ``clear_actions``, ``write_actions``, ``write_metadata``, ``goto_table``) are objects in
the same list as actions, in the order OpenFlow 1.1+ executes them; ``INSTRUCTION`` says which instruction an
object belongs to (every ordinary action belongs to apply_actions).
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from pyvswitch.flow import values as V
from pyvswitch.flow.fields import Field
from pyvswitch.flow.subfield import Subfield
from pyvswitch.ofproto.actions import lex
from pyvswitch.ofproto.actions.fieldtext import format_field_value
from pyvswitch.ofproto.actions.lex import c_hex, format_port, hex_dotted

__all__ = [
    "BUNDLE_ALGORITHMS",
    "HASH_FIELDS",
    "MULTIPATH_ALGORITHMS",
    "PACKET_IN_REASONS",
    "Action",
    "Bundle",
    "CheckPktLarger",
    "ClearActions",
    "Clone",
    "Conjunction",
    "Controller",
    "Ct",
    "CtClear",
    "DebugRecirc",
    "DebugSlow",
    "DecMplsTtl",
    "DecNshTtl",
    "DecTtl",
    "Decap",
    "DeleteField",
    "Encap",
    "Enqueue",
    "Exit",
    "FinTimeout",
    "GotoTable",
    "Group",
    "Inst",
    "Learn",
    "LearnSpec",
    "Meter",
    "Multipath",
    "Nat",
    "Note",
    "Output",
    "OutputReg",
    "OutputTrunc",
    "PopMpls",
    "PopQueue",
    "PushMpls",
    "PushVlan",
    "RegMove",
    "Resubmit",
    "Sample",
    "SetEthDst",
    "SetEthSrc",
    "SetField",
    "SetIpDscp",
    "SetIpEcn",
    "SetIpTtl",
    "SetIpv4Dst",
    "SetIpv4Src",
    "SetL4DstPort",
    "SetL4SrcPort",
    "SetMplsLabel",
    "SetMplsTc",
    "SetMplsTtl",
    "SetQueue",
    "SetTunnel",
    "SetVlanPcp",
    "SetVlanVid",
    "StackPop",
    "StackPush",
    "StripVlan",
    "WriteActions",
    "WriteMetadata",
    "format_actions",
    "walk",
]


class Inst(enum.IntEnum):
    """OpenFlow 1.1+ instructions, in the order a flow must list them."""

    METER = 0
    APPLY_ACTIONS = 1
    CLEAR_ACTIONS = 2
    WRITE_ACTIONS = 3
    WRITE_METADATA = 4
    GOTO_TABLE = 5

    @property
    def text(self) -> str:
        return self.name.lower()


class Action:
    """Base of every action and instruction object."""

    __slots__ = ()
    NAME: ClassVar[str] = "?"
    INSTRUCTION: ClassVar[Inst] = Inst.APPLY_ACTIONS
    ALLOWED_IN_ACTION_SET: ClassVar[bool] = False

    def fmt(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.fmt()

    def nested(self) -> tuple[Action, ...]:
        """Actions nested inside this one (clone, write_actions, ct exec); empty for most actions."""
        return ()


def format_actions(actions: Sequence[Action]) -> str:
    """An action list as ovs-ofctl prints it after ``actions=``: ``drop`` when empty."""
    if not actions:
        return "drop"
    return ",".join(a.fmt() for a in actions)


_T = TypeVar("_T", bound=type[Action])


def _set(cls: _T) -> _T:
    """Mark an action class as one an OpenFlow action set (write_actions) may hold (ovs-actions(7))."""
    cls.ALLOWED_IN_ACTION_SET = True
    return cls


# --- output ---------------------------------------------------------------------------------------------------
@_set
@dataclass(frozen=True, slots=True)
class Output(Action):
    """Output to ``port``.  ``max_len`` is the number of bytes sent to the controller when ``port`` is
    CONTROLLER (65535 means the whole packet); it is 0 for other ports."""

    port: int
    max_len: int = 0
    NAME: ClassVar[str] = "output"

    def fmt(self) -> str:
        if self.port < lex.OFPP_MAX:
            return f"output:{format_port(self.port)}"
        if self.port == lex.OFPP_CONTROLLER:
            return f"CONTROLLER:{self.max_len}"
        return format_port(self.port)


PACKET_IN_REASONS = ("no_match", "action", "invalid_ttl", "action_set", "group", "packet_out")


@dataclass(frozen=True, slots=True)
class Controller(Action):
    """Send to the controller with options beyond ``max_len`` (reason, connection id, userdata, pause, meter).

    ``controller`` without such options is an ``Output`` to CONTROLLER, as in Open vSwitch."""

    max_len: int = 0xFFFF
    controller_id: int = 0
    reason: str = "action"
    userdata: bytes = b""
    pause: bool = False
    meter_id: int = 0
    NAME: ClassVar[str] = "controller"

    def fmt(self) -> str:
        if (self.reason == "action" and not self.controller_id and not self.userdata and not self.pause
                and not self.meter_id):
            return f"CONTROLLER:{self.max_len}"
        parts = []
        if self.reason != "action":
            parts.append(f"reason={self.reason}")
        if self.max_len != 0xFFFF:
            parts.append(f"max_len={self.max_len}")
        if self.controller_id:
            parts.append(f"id={self.controller_id}")
        if self.userdata:
            parts.append(f"userdata={hex_dotted(self.userdata)}")
        if self.pause:
            parts.append("pause")
        if self.meter_id:
            parts.append(f"meter_id={self.meter_id}")
        return "controller(" + ",".join(parts) + ")"


@dataclass(frozen=True, slots=True)
class Enqueue(Action):
    port: int
    queue: int
    NAME: ClassVar[str] = "enqueue"

    def fmt(self) -> str:
        return f"enqueue:{format_port(self.port)}:{self.queue}"


@dataclass(frozen=True, slots=True)
class OutputReg(Action):
    """Output to the port number held in ``src``."""

    src: Subfield
    max_len: int = 0xFFFF
    NAME: ClassVar[str] = "output_reg"

    def fmt(self) -> str:
        return f"output:{self.src}"


@dataclass(frozen=True, slots=True)
class OutputTrunc(Action):
    """Output to ``port`` truncated to ``max_len`` bytes."""

    port: int
    max_len: int
    NAME: ClassVar[str] = "output_trunc"

    def fmt(self) -> str:
        return f"output(port={format_port(self.port)},max_len={self.max_len})"


HASH_FIELDS = ("eth_src", "symmetric_l4", "symmetric_l3l4", "symmetric_l3l4+udp", "nw_src", "nw_dst",
               "symmetric_l3")
BUNDLE_ALGORITHMS = ("active_backup", "hrw")
MULTIPATH_ALGORITHMS = ("modulo_n", "hash_threshold", "hrw", "iter_hash")


@dataclass(frozen=True, slots=True)
class Bundle(Action):
    """``bundle`` (``dst`` None: output to the chosen member) or ``bundle_load`` (store its number in ``dst``)."""

    fields: str
    basis: int
    algorithm: str
    members: tuple[int, ...]
    dst: Subfield | None = None
    NAME: ClassVar[str] = "bundle"

    def fmt(self) -> str:
        name = "bundle_load" if self.dst is not None else "bundle"
        dst = f"{self.dst}," if self.dst is not None else ""
        members = ",".join(format_port(p) for p in self.members)
        return f"{name}({self.fields},{self.basis},{self.algorithm},ofport,{dst}members:{members})"


# --- VLAN -----------------------------------------------------------------------------------------------------
@_set
@dataclass(frozen=True, slots=True)
class SetVlanVid(Action):
    """Set the VLAN ID.  With ``push_vlan_if_needed`` (``mod_vlan_vid``) a packet without a VLAN tag gets one."""

    vid: int
    push_vlan_if_needed: bool = True
    NAME: ClassVar[str] = "set_vlan_vid"

    def fmt(self) -> str:
        return f"{'mod_vlan_vid' if self.push_vlan_if_needed else 'set_vlan_vid'}:{self.vid}"


@_set
@dataclass(frozen=True, slots=True)
class SetVlanPcp(Action):
    pcp: int
    push_vlan_if_needed: bool = True
    NAME: ClassVar[str] = "set_vlan_pcp"

    def fmt(self) -> str:
        return f"{'mod_vlan_pcp' if self.push_vlan_if_needed else 'set_vlan_pcp'}:{self.pcp}"


@_set
@dataclass(frozen=True, slots=True)
class StripVlan(Action):
    """Pop the outermost VLAN tag; ``pop`` records the OpenFlow 1.1 spelling ``pop_vlan``."""

    pop: bool = False
    NAME: ClassVar[str] = "strip_vlan"

    def fmt(self) -> str:
        return "pop_vlan" if self.pop else "strip_vlan"


@_set
@dataclass(frozen=True, slots=True)
class PushVlan(Action):
    ethertype: int = 0x8100
    NAME: ClassVar[str] = "push_vlan"

    def fmt(self) -> str:
        return f"push_vlan:{self.ethertype:#x}"


# --- header rewrites ------------------------------------------------------------------------------------------
@_set
@dataclass(frozen=True, slots=True)
class SetEthSrc(Action):
    mac: int
    NAME: ClassVar[str] = "mod_dl_src"

    def fmt(self) -> str:
        return f"mod_dl_src:{V.format_mac(self.mac)}"


@_set
@dataclass(frozen=True, slots=True)
class SetEthDst(Action):
    mac: int
    NAME: ClassVar[str] = "mod_dl_dst"

    def fmt(self) -> str:
        return f"mod_dl_dst:{V.format_mac(self.mac)}"


@_set
@dataclass(frozen=True, slots=True)
class SetIpv4Src(Action):
    ip: int
    NAME: ClassVar[str] = "mod_nw_src"

    def fmt(self) -> str:
        return f"mod_nw_src:{ipaddress.IPv4Address(self.ip)}"


@_set
@dataclass(frozen=True, slots=True)
class SetIpv4Dst(Action):
    ip: int
    NAME: ClassVar[str] = "mod_nw_dst"

    def fmt(self) -> str:
        return f"mod_nw_dst:{ipaddress.IPv4Address(self.ip)}"


@_set
@dataclass(frozen=True, slots=True)
class SetIpDscp(Action):
    """``mod_nw_tos``: ``tos`` is the whole TOS byte with the ECN bits zero (a multiple of 4)."""

    tos: int
    NAME: ClassVar[str] = "mod_nw_tos"

    def fmt(self) -> str:
        return f"mod_nw_tos:{self.tos}"


@_set
@dataclass(frozen=True, slots=True)
class SetIpEcn(Action):
    ecn: int
    NAME: ClassVar[str] = "mod_nw_ecn"

    def fmt(self) -> str:
        return f"mod_nw_ecn:{self.ecn}"


@_set
@dataclass(frozen=True, slots=True)
class SetIpTtl(Action):
    ttl: int
    NAME: ClassVar[str] = "mod_nw_ttl"

    def fmt(self) -> str:
        return f"mod_nw_ttl:{self.ttl}"


@_set
@dataclass(frozen=True, slots=True)
class SetL4SrcPort(Action):
    port: int
    NAME: ClassVar[str] = "mod_tp_src"

    def fmt(self) -> str:
        return f"mod_tp_src:{self.port}"


@_set
@dataclass(frozen=True, slots=True)
class SetL4DstPort(Action):
    port: int
    NAME: ClassVar[str] = "mod_tp_dst"

    def fmt(self) -> str:
        return f"mod_tp_dst:{self.port}"


@_set
@dataclass(frozen=True, slots=True)
class SetField(Action):
    """Write ``value`` into the bits of ``field`` selected by ``mask`` (None: the whole field).

    Both ``set_field`` and ``load`` make one of these, as in Open vSwitch; ``load`` records the spelling, which
    prints as one ``load:`` per contiguous run of mask bits (at most 64 bits each).  ``value`` is not pre-masked:
    ``set_field:1.2.3.4/16->ip_src`` keeps 1.2.3.4.  A ``vlan_vid`` value may carry OpenFlow 1.2's "VLAN
    present" bit 0x1000 (``set_field:4101->vlan_vid`` sets VID 5 and marks the tag present)."""

    field: Field
    value: int
    mask: int | None = None
    load: bool = False
    NAME: ClassVar[str] = "set_field"

    @property
    def effective_mask(self) -> int:
        """The mask as an int (all ones over the field's bytes when exact)."""
        return self.mask if self.mask is not None else (1 << (8 * self.field.nbytes)) - 1

    def load_segments(self) -> list[tuple[Subfield, int]]:
        """The ``load`` actions this write splits into: (subfield, value) per run of mask bits, 64 bits at most."""
        out = []
        m = self.effective_mask
        nbits = self.field.nbits
        start = 0
        while start < nbits:
            if not (m >> start) & 1:
                start += 1
                continue
            end = start
            limit = min(start + 64, nbits)
            while end < limit and (m >> end) & 1:
                end += 1
            n = end - start
            out.append((Subfield(self.field, start, n), (self.value >> start) & ((1 << n) - 1)))
            start = end
        return out

    def fmt(self) -> str:
        if self.load:
            return ",".join(f"load:{c_hex(v)}->{sf}" for sf, v in self.load_segments())
        return f"set_field:{format_field_value(self.field, self.value, self.mask)}->{self.field.name}"


@_set
@dataclass(frozen=True, slots=True)
class RegMove(Action):
    src: Subfield
    dst: Subfield
    NAME: ClassVar[str] = "move"

    def fmt(self) -> str:
        return f"move:{self.src}->{self.dst}"


@dataclass(frozen=True, slots=True)
class StackPush(Action):
    src: Subfield
    NAME: ClassVar[str] = "push"

    def fmt(self) -> str:
        return f"push:{self.src}"


@dataclass(frozen=True, slots=True)
class StackPop(Action):
    dst: Subfield
    NAME: ClassVar[str] = "pop"

    def fmt(self) -> str:
        return f"pop:{self.dst}"


@_set
@dataclass(frozen=True, slots=True)
class DecTtl(Action):
    """Decrement the IP TTL; ``ids`` are the controller connection ids told about an expired TTL (None: the bare
    ``dec_ttl``, which means id 0)."""

    ids: tuple[int, ...] | None = None
    NAME: ClassVar[str] = "dec_ttl"

    @property
    def controller_ids(self) -> tuple[int, ...]:
        return self.ids if self.ids is not None else (0,)

    def fmt(self) -> str:
        if self.ids is None:
            return "dec_ttl"
        return "dec_ttl(" + ",".join(str(i) for i in self.ids) + ")"


# --- MPLS and other encapsulations ---------------------------------------------------------------------------
@_set
@dataclass(frozen=True, slots=True)
class SetMplsLabel(Action):
    label: int
    NAME: ClassVar[str] = "set_mpls_label"

    def fmt(self) -> str:
        return f"set_mpls_label({self.label})"


@_set
@dataclass(frozen=True, slots=True)
class SetMplsTc(Action):
    tc: int
    NAME: ClassVar[str] = "set_mpls_tc"

    def fmt(self) -> str:
        return f"set_mpls_tc({self.tc})"


@_set
@dataclass(frozen=True, slots=True)
class SetMplsTtl(Action):
    ttl: int
    NAME: ClassVar[str] = "set_mpls_ttl"

    def fmt(self) -> str:
        return f"set_mpls_ttl({self.ttl})"


@_set
@dataclass(frozen=True, slots=True)
class DecMplsTtl(Action):
    NAME: ClassVar[str] = "dec_mpls_ttl"

    def fmt(self) -> str:
        return "dec_mpls_ttl"


@_set
@dataclass(frozen=True, slots=True)
class PushMpls(Action):
    ethertype: int
    NAME: ClassVar[str] = "push_mpls"

    def fmt(self) -> str:
        return f"push_mpls:0x{self.ethertype:04x}"


@_set
@dataclass(frozen=True, slots=True)
class PopMpls(Action):
    ethertype: int
    NAME: ClassVar[str] = "pop_mpls"

    def fmt(self) -> str:
        return f"pop_mpls:0x{self.ethertype:04x}"


@_set
@dataclass(frozen=True, slots=True)
class DecNshTtl(Action):
    NAME: ClassVar[str] = "dec_nsh_ttl"

    def fmt(self) -> str:
        return "dec_nsh_ttl"


@dataclass(frozen=True, slots=True)
class DeleteField(Action):
    field: Field
    NAME: ClassVar[str] = "delete_field"

    def fmt(self) -> str:
        return f"delete_field:{self.field.name}"


@_set
@dataclass(frozen=True, slots=True)
class Encap(Action):
    """``encap(HEADER)``: ``header`` is ethernet, nsh, mpls or mpls_mc.  For nsh, ``md_type`` (None when not
    given) and ``tlvs`` as (class, type, value bytes)."""

    header: str
    md_type: int | None = None
    tlvs: tuple[tuple[int, int, bytes], ...] = ()
    NAME: ClassVar[str] = "encap"

    def fmt(self) -> str:
        if self.header != "nsh" or (self.md_type is None and not self.tlvs):
            return f"encap({self.header})"
        props = []
        if self.md_type is not None:
            props.append(f"md_type={self.md_type}")
        for cls, typ, val in self.tlvs:
            props.append(f"tlv(0x{cls:04x},{typ},{c_hex(int.from_bytes(val, 'big'))})")
        return f"encap(nsh({','.join(props)}))"


@_set
@dataclass(frozen=True, slots=True)
class Decap(Action):
    """``decap``: ``packet_type`` (namespace << 16 | type) of the inner packet, None to let the switch decide."""

    packet_type: int | None = None
    NAME: ClassVar[str] = "decap"

    def fmt(self) -> str:
        if self.packet_type is None:
            return "decap()"
        return f"decap(packet_type(ns={self.packet_type >> 16},type={self.packet_type & 0xFFFF:#x}))"


# --- metadata -------------------------------------------------------------------------------------------------
@_set
@dataclass(frozen=True, slots=True)
class SetTunnel(Action):
    """Set the tunnel ID; ``wide`` records ``set_tunnel64``."""

    tun_id: int
    wide: bool = False
    NAME: ClassVar[str] = "set_tunnel"

    def __post_init__(self) -> None:
        # An ID wider than 32 bits can only be set_tunnel64 (in text and on the wire), whatever was written.
        if self.tun_id > 0xFFFFFFFF and not self.wide:
            object.__setattr__(self, "wide", True)

    def fmt(self) -> str:
        w = "64" if self.wide else ""
        return f"set_tunnel{w}:{c_hex(self.tun_id)}"


@_set
@dataclass(frozen=True, slots=True)
class SetQueue(Action):
    queue_id: int
    NAME: ClassVar[str] = "set_queue"

    def fmt(self) -> str:
        return f"set_queue:{self.queue_id}"


@dataclass(frozen=True, slots=True)
class PopQueue(Action):
    NAME: ClassVar[str] = "pop_queue"

    def fmt(self) -> str:
        return "pop_queue"


@dataclass(frozen=True, slots=True)
class FinTimeout(Action):
    idle_timeout: int = 0
    hard_timeout: int = 0
    NAME: ClassVar[str] = "fin_timeout"

    def fmt(self) -> str:
        parts = []
        if self.idle_timeout:
            parts.append(f"idle_timeout={self.idle_timeout}")
        if self.hard_timeout:
            parts.append(f"hard_timeout={self.hard_timeout}")
        return "fin_timeout(" + ",".join(parts) + ")"


# --- control flow ---------------------------------------------------------------------------------------------
@_set
@dataclass(frozen=True, slots=True)
class Resubmit(Action):
    """Look up table ``table_id`` (255: the current table) with in_port ``in_port`` (IN_PORT: unchanged);
    ``with_ct_orig`` swaps in the conntrack original-direction 5-tuple for the lookup."""

    in_port: int = lex.OFPP_IN_PORT
    table_id: int = 255
    with_ct_orig: bool = False
    NAME: ClassVar[str] = "resubmit"

    def fmt(self) -> str:
        if self.in_port != lex.OFPP_IN_PORT and self.table_id == 255 and not self.with_ct_orig:
            return f"resubmit:{format_port(self.in_port)}"
        port = format_port(self.in_port) if self.in_port != lex.OFPP_IN_PORT else ""
        table = str(self.table_id) if self.table_id != 255 else ""
        ct = ",ct" if self.with_ct_orig else ""
        return f"resubmit({port},{table}{ct})"


@dataclass(frozen=True, slots=True)
class LearnSpec:
    """One argument of ``learn`` that describes the new flow.

    ``kind`` is ``match`` (the new flow matches ``dst``), ``load`` (the new flow loads into ``dst``) or ``output``
    (the new flow outputs to the port in ``src``).  The source is ``src`` (a subfield of the packet being
    processed) or, when ``src`` is None, the immediate ``imm`` (the value of the ``n_bits`` destination bits)."""

    kind: str
    n_bits: int
    dst: Subfield | None = None
    src: Subfield | None = None
    imm: int = 0

    def fmt(self) -> str:
        if self.kind == "match":
            assert self.dst is not None
            if self.src is None:
                if self.dst.is_whole:
                    return f"{self.dst.field.name}={format_field_value(self.dst.field, self.imm)}"
                return f"{self.dst}={c_hex(self.imm)}"
            if self.src.field is self.dst.field and self.src.ofs == self.dst.ofs:
                return str(self.dst)
            return f"{self.dst}={self.src}"
        if self.kind == "load":
            src = str(self.src) if self.src is not None else c_hex(self.imm)
            return f"load:{src}->{self.dst}"
        return f"output:{self.src}"


@dataclass(frozen=True, slots=True)
class Learn(Action):
    table_id: int = 1
    idle_timeout: int = 0
    hard_timeout: int = 0
    fin_idle_timeout: int = 0
    fin_hard_timeout: int = 0
    priority: int = 0x8000
    cookie: int = 0
    send_flow_rem: bool = False
    delete_learned: bool = False
    limit: int = 0
    result_dst: Subfield | None = None
    specs: tuple[LearnSpec, ...] = ()
    NAME: ClassVar[str] = "learn"

    def fmt(self) -> str:
        parts = [f"table={self.table_id}"]
        if self.idle_timeout:
            parts.append(f"idle_timeout={self.idle_timeout}")
        if self.hard_timeout:
            parts.append(f"hard_timeout={self.hard_timeout}")
        if self.fin_idle_timeout:
            parts.append(f"fin_idle_timeout={self.fin_idle_timeout}")
        if self.fin_hard_timeout:
            parts.append(f"fin_hard_timeout={self.fin_hard_timeout}")
        if self.priority != 0x8000:
            parts.append(f"priority={self.priority}")
        if self.send_flow_rem:
            parts.append("send_flow_rem")
        if self.delete_learned:
            parts.append("delete_learned")
        if self.cookie:
            parts.append(f"cookie={c_hex(self.cookie)}")
        if self.limit:
            parts.append(f"limit={self.limit}")
        if self.result_dst is not None:
            parts.append(f"result_dst={self.result_dst}")
        parts.extend(s.fmt() for s in self.specs)
        return "learn(" + ",".join(parts) + ")"


@dataclass(frozen=True, slots=True)
class Conjunction(Action):
    """Clause ``clause`` (0-based, as on the wire; printed 1-based) of ``n_clauses`` of conjunction ``id``."""

    id: int
    clause: int
    n_clauses: int
    NAME: ClassVar[str] = "conjunction"

    def fmt(self) -> str:
        return f"conjunction({self.id},{self.clause + 1}/{self.n_clauses})"


@dataclass(frozen=True, slots=True)
class Multipath(Action):
    fields: str
    basis: int
    algorithm: str
    max_link: int
    arg: int
    dst: Subfield
    NAME: ClassVar[str] = "multipath"

    def fmt(self) -> str:
        return (f"multipath({self.fields},{self.basis},{self.algorithm},{self.max_link + 1},{self.arg},"
                f"{self.dst})")


@dataclass(frozen=True, slots=True)
class Note(Action):
    data: bytes = b""
    NAME: ClassVar[str] = "note"

    def fmt(self) -> str:
        return f"note:{hex_dotted(self.data)}"


@dataclass(frozen=True, slots=True)
class Exit(Action):
    NAME: ClassVar[str] = "exit"

    def fmt(self) -> str:
        return "exit"


@dataclass(frozen=True, slots=True)
class Sample(Action):
    """Sample 1 packet in 65535/``probability``; ``direction`` is ``default``, ``ingress`` or ``egress``."""

    probability: int
    collector_set_id: int = 0
    obs_domain_id: int = 0
    obs_point_id: int = 0
    sampling_port: int = lex.OFPP_NONE
    direction: str = "default"
    NAME: ClassVar[str] = "sample"

    def fmt(self) -> str:
        s = (f"sample(probability={self.probability},collector_set_id={self.collector_set_id},"
             f"obs_domain_id={self.obs_domain_id},obs_point_id={self.obs_point_id}")
        if self.sampling_port != lex.OFPP_NONE:
            s += f",sampling_port={format_port(self.sampling_port)}"
        if self.direction != "default":
            s += f",{self.direction}"
        return s + ")"


# --- connection tracking --------------------------------------------------------------------------------------
ALG_NAMES = {21: "ftp", 69: "tftp"}


@_set
@dataclass(frozen=True, slots=True)
class Ct(Action):
    """Send the packet through the connection tracker.

    ``zone`` is the zone number, or ``zone_src`` the subfield holding it; ``table`` the table to continue in
    (255: none); ``alg`` the helper's port number (21 ftp, 69 tftp, 0 none); ``actions`` the nested actions
    (``nat`` and the ``exec`` actions, in the order written)."""

    commit: bool = False
    force: bool = False
    zone: int = 0
    zone_src: Subfield | None = None
    table: int = 255
    alg: int = 0
    actions: tuple[Action, ...] = ()
    NAME: ClassVar[str] = "ct"

    def nested(self) -> tuple[Action, ...]:
        return self.actions

    def fmt(self) -> str:
        parts = []
        if self.commit:
            parts.append("commit")
        if self.force:
            parts.append("force")
        if self.table != 255:
            parts.append(f"table={self.table}")
        if self.zone_src is not None:
            parts.append(f"zone={self.zone_src}")
        elif self.zone:
            parts.append(f"zone={self.zone}")
        acts = list(self.actions)
        if acts and isinstance(acts[0], Nat):
            parts.append(acts.pop(0).fmt())
        if acts:
            parts.append(f"exec({format_actions(acts)})")
        if self.alg:
            parts.append(f"alg={ALG_NAMES.get(self.alg, str(self.alg))}")
        return "ct(" + ",".join(parts) + ")"


@dataclass(frozen=True, slots=True)
class Nat(Action):
    """``nat`` inside ``ct``: ``kind`` is ``src``, ``dst`` or None (bare ``nat``); ``family`` 4, 6 or None when
    no address range is given; addresses and ports are inclusive ranges (``*_max`` 0 when not given)."""

    kind: str | None = None
    family: int | None = None
    addr_min: int = 0
    addr_max: int = 0
    port_min: int = 0
    port_max: int = 0
    persistent: bool = False
    hash: bool = False
    random: bool = False
    NAME: ClassVar[str] = "nat"

    def __post_init__(self) -> None:
        # A range whose ends are equal is one value; keep one spelling of it so that equal NATs compare equal.
        if self.addr_max == self.addr_min:
            object.__setattr__(self, "addr_max", 0)
        if self.port_max == self.port_min:
            object.__setattr__(self, "port_max", 0)

    def fmt(self) -> str:
        if self.kind is None:
            return "nat"
        s = self.kind
        if self.family is not None:
            s += "="
            if self.family == 4:
                s += str(ipaddress.IPv4Address(self.addr_min))
                if self.addr_max and self.addr_max != self.addr_min:
                    s += "-" + str(ipaddress.IPv4Address(self.addr_max))
            else:
                br = bool(self.port_min)
                lo = V.format_ipv6(self.addr_min)
                s += f"[{lo}]" if br else lo
                if self.addr_max and self.addr_max != self.addr_min:
                    hi = V.format_ipv6(self.addr_max)
                    s += "-" + (f"[{hi}]" if br else hi)
            if self.port_min:
                s += f":{self.port_min}"
                if self.port_max and self.port_max != self.port_min:
                    s += f"-{self.port_max}"
        # Open vSwitch prints the flags only after an address range.
        flags = [name for name, on in (("persistent", self.persistent), ("hash", self.hash),
                                       ("random", self.random)) if on and self.family is not None]
        return "nat(" + ",".join([s] + flags) + ")"


@_set
@dataclass(frozen=True, slots=True)
class CtClear(Action):
    NAME: ClassVar[str] = "ct_clear"

    def fmt(self) -> str:
        return "ct_clear"


@dataclass(frozen=True, slots=True)
class Clone(Action):
    actions: tuple[Action, ...] = ()
    NAME: ClassVar[str] = "clone"

    def nested(self) -> tuple[Action, ...]:
        return self.actions

    def fmt(self) -> str:
        return f"clone({format_actions(self.actions)})"


@dataclass(frozen=True, slots=True)
class CheckPktLarger(Action):
    pkt_len: int
    dst: Subfield
    NAME: ClassVar[str] = "check_pkt_larger"

    def fmt(self) -> str:
        return f"check_pkt_larger({self.pkt_len})->{self.dst}"


@_set
@dataclass(frozen=True, slots=True)
class Group(Action):
    group_id: int
    NAME: ClassVar[str] = "group"

    def fmt(self) -> str:
        return f"group:{self.group_id}"


# --- instructions ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Meter(Action):
    meter_id: int
    NAME: ClassVar[str] = "meter"
    INSTRUCTION: ClassVar[Inst] = Inst.METER

    def fmt(self) -> str:
        return f"meter:{self.meter_id}"


@dataclass(frozen=True, slots=True)
class ClearActions(Action):
    NAME: ClassVar[str] = "clear_actions"
    INSTRUCTION: ClassVar[Inst] = Inst.CLEAR_ACTIONS

    def fmt(self) -> str:
        return "clear_actions"


@dataclass(frozen=True, slots=True)
class WriteActions(Action):
    actions: tuple[Action, ...] = ()
    NAME: ClassVar[str] = "write_actions"
    INSTRUCTION: ClassVar[Inst] = Inst.WRITE_ACTIONS

    def nested(self) -> tuple[Action, ...]:
        return self.actions

    def fmt(self) -> str:
        return f"write_actions({format_actions(self.actions)})"


@dataclass(frozen=True, slots=True)
class WriteMetadata(Action):
    metadata: int
    mask: int = 0xFFFFFFFFFFFFFFFF
    NAME: ClassVar[str] = "write_metadata"
    INSTRUCTION: ClassVar[Inst] = Inst.WRITE_METADATA

    def fmt(self) -> str:
        s = f"write_metadata:{c_hex(self.metadata)}"
        if self.mask != 0xFFFFFFFFFFFFFFFF:
            s += f"/{c_hex(self.mask)}"
        return s


@dataclass(frozen=True, slots=True)
class GotoTable(Action):
    table_id: int
    NAME: ClassVar[str] = "goto_table"
    INSTRUCTION: ClassVar[Inst] = Inst.GOTO_TABLE

    def fmt(self) -> str:
        return f"goto_table:{self.table_id}"


def walk(actions: Iterable[Action]) -> Iterable[Action]:
    """Every action in ``actions``, nested ones included (depth first, parents before children)."""
    for a in actions:
        yield a
        yield from walk(a.nested())


@dataclass(frozen=True, slots=True)
class DebugRecirc(Action):
    """Open vSwitch's testing action that forces a recirculation; OpenFlow cannot carry it back."""

    NAME: ClassVar[str] = "debug_recirc"

    def fmt(self) -> str:
        return "debug_recirc"


@dataclass(frozen=True, slots=True)
class DebugSlow(Action):
    """Open vSwitch's testing action that forces the slow path; OpenFlow cannot carry it back."""

    NAME: ClassVar[str] = "debug_slow"

    def fmt(self) -> str:
        return "debug_slow"
