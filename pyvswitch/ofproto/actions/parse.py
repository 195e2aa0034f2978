"""Parsing ovs-ofctl action text (what follows ``actions=``) into action objects.

The grammar is ovs-actions(7)'s.  The list is split into ``key[:value]``, ``key=value`` and ``key(value)`` items
(``lex.split_key_values``); action names are case-insensitive; a bare port name or number means ``output``.  After
the list is parsed it is verified as ovs-ofctl verifies it: instructions in OpenFlow 1.1 order, each at most once,
only the instructions and nested actions each context allows, ``conjunction`` only beside ``note``, and connection
tracking fields and ``nat`` only inside ``ct``.  Every error is an ``ActionParseError`` whose text is ovs-ofctl's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from pyvswitch.flow import fields as F
from pyvswitch.flow.fields import Field
from pyvswitch.flow.subfield import Subfield, SubfieldError
from pyvswitch.ofproto.actions import lex
from pyvswitch.ofproto.actions.errors import ActionParseError
from pyvswitch.ofproto.actions.fieldtext import (
    format_field_value,
    parse_field_value,
    parse_ipv4_scan,
    value_is_valid,
)
from pyvswitch.ofproto.actions.lex import (
    c_atoi,
    parse_int_string,
    parse_port,
    parse_table,
    split_key_values,
    str_to_u8,
    str_to_u16,
    str_to_u32,
    str_to_u64,
)
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

__all__ = ["parse_actions", "parse_subfield"]

# The fields only ``ct(exec(...))`` may write.
CT_FIELDS = ("ct_mark", "ct_label")

_Parser = Callable[[str, list[Action]], None]


def parse_subfield(text: str) -> Subfield:
    try:
        return Subfield.parse(text)
    except SubfieldError as e:
        raise ActionParseError(str(e)) from None


def _subfield_prefix(text: str) -> tuple[Subfield, str]:
    try:
        return Subfield.parse_prefix(text)
    except SubfieldError as e:
        raise ActionParseError(str(e)) from None


def _split_arrow(arg: str) -> tuple[str, str]:
    """``value->dst`` as set_field, load and check_pkt_larger write it."""
    i = arg.find("->")
    if i < 0:
        raise ActionParseError(f"{arg}: missing `->'")
    if len(arg) - i <= 2:
        raise ActionParseError(f"{arg}: missing field name following `->'")
    return arg[:i], arg[i + 2:]


# --- output and friends -----------------------------------------------------------------------------------------
def _output(arg: str, out: list[Action]) -> None:
    if "port" in arg and "max_len" in arg:
        port: int | None = None
        max_len = 0
        for key, value in split_key_values(arg):
            if key == "port":
                port = parse_port(value)
                if port is None:
                    raise ActionParseError(f"output to unknown truncate port: {value}")
                if port > lex.OFPP_MAX and port not in (lex.OFPP_LOCAL, lex.OFPP_IN_PORT):
                    raise ActionParseError(f"output to unsupported truncate port: {value}")
            elif key == "max_len":
                max_len = str_to_u32(value)
                if max_len < 14:
                    raise ActionParseError(f"max_len {max_len} is less than the minimum value 14")
            else:
                raise ActionParseError(f"invalid key '{key}' in output_trunc argument")
        out.append(OutputTrunc(port if port is not None else 0, max_len))
        return
    port = parse_port(arg)
    if port is not None:
        out.append(Output(port, 0xFFFF if port == lex.OFPP_CONTROLLER else 0))
        return
    try:
        src = Subfield.parse(arg)
    except SubfieldError:
        raise ActionParseError(f"{arg}: output to unknown port") from None
    out.append(OutputReg(src))


def _output_trunc(arg: str, out: list[Action]) -> None:
    # ovs-ofctl does not accept the internal name; output(port=...,max_len=...) is the spelling.
    raise ActionParseError(f"unknown action {arg}")


def _controller(arg: str, out: list[Action]) -> None:
    reason = "action"
    controller_id = 0
    max_len = 0xFFFF
    meter_id = 0
    userdata: bytes | None = None
    pause = False
    if arg and arg.isdigit():
        max_len = str_to_u16(arg, "max_len")
    elif arg:
        for key, value in split_key_values(arg):
            if key == "reason":
                r = next((x for x in PACKET_IN_REASONS if x == value.lower()), None)
                if r is None:
                    raise ActionParseError(f'unknown reason "{value}"')
                reason = r
            elif key == "max_len":
                max_len = str_to_u16(value, "max_len")
            elif key == "id":
                controller_id = str_to_u16(value, "id")
            elif key == "userdata":
                data, tail = lex.parse_hex_bytes(value)
                if tail:
                    raise ActionParseError("bad hex digit in `controller' action `userdata'")
                userdata = data
            elif key == "pause":
                pause = True
            elif key == "meter_id":
                meter_id = str_to_u32(value)
            else:
                raise ActionParseError(f'unknown key "{key}" parsing controller action')
    if reason == "action" and not controller_id and not userdata and not pause and not meter_id:
        out.append(Output(lex.OFPP_CONTROLLER, max_len))
    else:
        out.append(Controller(max_len, controller_id, reason, userdata or b"", pause, meter_id))


def _enqueue(arg: str, out: list[Action]) -> None:
    tok = lex.Strtok(arg)
    port_text = tok.next(":q,")
    queue_text = tok.next("")
    if port_text is None or queue_text is None:
        raise ActionParseError('"enqueue" syntax is "enqueue:PORT:QUEUE" or "enqueue(PORT,QUEUE)"')
    port = parse_port(port_text)
    if port is None:
        raise ActionParseError(f"{port_text}: enqueue to unknown port")
    out.append(Enqueue(port, str_to_u32(queue_text)))


def _bundle_common(arg: str, out: list[Action], load: bool) -> None:
    tok = lex.Strtok(arg)
    fields = tok.next(", ")
    basis = tok.next(", ")
    algorithm = tok.next(", ")
    member_type = tok.next(", ")
    dst_text = tok.next(", ") if load else None
    delim = tok.next(": ")
    if delim is None:
        raise ActionParseError(f"{arg}: not enough arguments to bundle action")
    if delim.lower() not in ("members", "slaves"):
        raise ActionParseError(f"{arg}: missing member delimiter, expected `members', got `{delim}'")
    assert fields is not None and basis is not None and algorithm is not None and member_type is not None
    members: list[int] = []
    while len(members) < 2048:
        m = tok.next(", []")
        if m is None:
            break
        p = parse_port(m)
        if p is None:
            raise ActionParseError(f"{m}: bad port number")
        members.append(p)
    f = fields.lower()
    if f not in HASH_FIELDS:
        raise ActionParseError(f"{arg}: unknown fields `{fields}'")
    alg = algorithm.lower()
    if alg not in BUNDLE_ALGORITHMS:
        raise ActionParseError(f"{arg}: unknown algorithm `{algorithm}'")
    if member_type.lower() != "ofport":
        raise ActionParseError(f"{arg}: unknown member_type `{member_type}'")
    dst = None
    if dst_text is not None:
        dst = parse_subfield(dst_text)
        if not dst.field.headers:
            raise ActionParseError(f"{arg}: experimenter OXM field '{dst_text}' not supported")
    out.append(Bundle(f, c_atoi(basis) & 0xFFFF, alg, tuple(members), dst))


def _bundle(arg: str, out: list[Action]) -> None:
    _bundle_common(arg, out, False)


def _bundle_load(arg: str, out: list[Action]) -> None:
    _bundle_common(arg, out, True)


# --- VLAN and header rewrites ------------------------------------------------------------------------------------
def _vlan_vid(push: bool) -> _Parser:
    def parse(arg: str, out: list[Action]) -> None:
        vid = str_to_u16(arg, "VLAN VID")
        if vid & ~0xFFF:
            raise ActionParseError(f"{arg}: not a valid VLAN VID")
        out.append(SetVlanVid(vid, push))
    return parse


def _vlan_pcp(push: bool) -> _Parser:
    def parse(arg: str, out: list[Action]) -> None:
        pcp = str_to_u8(arg, "VLAN PCP")
        if pcp & ~7:
            raise ActionParseError(f"{arg}: not a valid VLAN PCP")
        out.append(SetVlanPcp(pcp, push))
    return parse


def _strip_vlan(arg: str, out: list[Action]) -> None:
    out.append(StripVlan(pop=False))


def _pop_vlan(arg: str, out: list[Action]) -> None:
    out.append(StripVlan(pop=True))


def _push_vlan(arg: str, out: list[Action]) -> None:
    et = str_to_u16(arg, "ethertype")
    if et not in (0x8100, 0x88A8):
        raise ActionParseError(f"{arg}: not a valid VLAN ethertype")
    out.append(PushVlan(et))


_MAC_SCAN = re.compile(r"\s*([0-9a-fA-F]+):\s*([0-9a-fA-F]+):\s*([0-9a-fA-F]+):\s*([0-9a-fA-F]+):\s*([0-9a-fA-F]+):"
                       r"\s*([0-9a-fA-F]+)")


def _str_to_mac(arg: str) -> int:
    m = _MAC_SCAN.match(arg)
    if not m:
        raise ActionParseError(f"invalid mac address {arg}")
    v = 0
    for g in m.groups():
        v = (v << 8) | (int(g, 16) & 0xFF)
    return v


def _str_to_ip(arg: str) -> int:
    m = re.fullmatch(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})", arg)
    if not m or any(int(g) > 255 or (len(g) > 1 and g[0] == "0") for g in m.groups()):
        logging.getLogger("socket_util").error('"%s" is not a valid IP address', arg)
        raise ActionParseError(f"{arg}: could not convert to IP address")
    v = 0
    for g in m.groups():
        v = (v << 8) | int(g)
    return v


def _mod_dl_src(arg: str, out: list[Action]) -> None:
    out.append(SetEthSrc(_str_to_mac(arg)))


def _mod_dl_dst(arg: str, out: list[Action]) -> None:
    out.append(SetEthDst(_str_to_mac(arg)))


def _mod_nw_src(arg: str, out: list[Action]) -> None:
    out.append(SetIpv4Src(_str_to_ip(arg)))


def _mod_nw_dst(arg: str, out: list[Action]) -> None:
    out.append(SetIpv4Dst(_str_to_ip(arg)))


def _mod_nw_tos(arg: str, out: list[Action]) -> None:
    tos = str_to_u8(arg, "TOS")
    if tos & 3:
        raise ActionParseError(f"{arg}: not a valid TOS")
    out.append(SetIpDscp(tos))


def _mod_nw_ecn(arg: str, out: list[Action]) -> None:
    ecn = str_to_u8(arg, "ECN")
    if ecn & ~3:
        raise ActionParseError(f"{arg}: not a valid ECN")
    out.append(SetIpEcn(ecn))


def _mod_nw_ttl(arg: str, out: list[Action]) -> None:
    out.append(SetIpTtl(str_to_u8(arg, "TTL")))


def _mod_tp_src(arg: str, out: list[Action]) -> None:
    out.append(SetL4SrcPort(str_to_u16(arg, "source port")))


def _mod_tp_dst(arg: str, out: list[Action]) -> None:
    out.append(SetL4DstPort(str_to_u16(arg, "destination port")))


# --- set_field, load, move, push, pop ------------------------------------------------------------------------------
def _set_field(arg: str, out: list[Action]) -> None:
    value_text, name = _split_arrow(arg)
    f = F.BY_NAME.get(name)
    if f is None:
        raise ActionParseError(f"{name} is not a valid OXM field name")
    if not f.writable:
        raise ActionParseError(f"{name} is read-only")
    value, mask = parse_field_value(f, value_text)
    if not value_is_valid(f, value):
        raise ActionParseError(f"{value_text} is not a valid value for field {name}")
    out.append(SetField(f, value, mask))


def _load(arg: str, out: list[Action]) -> None:
    value_text, dst_text = _split_arrow(arg)
    dst = parse_subfield(dst_text)
    f = dst.field
    value, err, _tail = parse_int_string(value_text, f.nbytes)
    if err is not None or value is None:
        raise ActionParseError(f"{arg}: cannot parse integer value")
    if value >> dst.n_bits:
        raise ActionParseError(f"{arg}: value {format_field_value(f, value)} does not fit into {dst.n_bits} bits")
    out.append(SetField(f, value << dst.ofs, dst.mask, load=True))


def parse_move(arg: str) -> RegMove:
    src, rest = _subfield_prefix(arg)
    if not rest.startswith("->"):
        raise ActionParseError(f"{arg}: missing `->' following source")
    dst = parse_subfield(rest[2:])
    if src.n_bits != dst.n_bits:
        raise ActionParseError(f"{arg}: source field is {src.n_bits} bits wide but destination is {dst.n_bits} "
                               f"bits wide")
    return RegMove(src, dst)


def _move(arg: str, out: list[Action]) -> None:
    out.append(parse_move(arg))


def _stack(arg: str) -> Subfield:
    sf, rest = _subfield_prefix(arg)
    if rest:
        raise ActionParseError(f"{rest}: trailing garbage following push or pop")
    return sf


def _push(arg: str, out: list[Action]) -> None:
    out.append(StackPush(_stack(arg)))


def _pop(arg: str, out: list[Action]) -> None:
    out.append(StackPop(_stack(arg)))


# --- TTLs and MPLS ---------------------------------------------------------------------------------------------
def _dec_ttl(arg: str, out: list[Action]) -> None:
    if not arg:
        out.append(DecTtl())
        return
    ids = tuple(c_atoi(t) & 0xFFFF for t in lex.strtok(arg, ", "))
    if not ids:
        raise ActionParseError("dec_ttl_cnt_ids: expected at least one controller id.")
    out.append(DecTtl(ids))


def _set_mpls_label(arg: str, out: list[Action]) -> None:
    if not arg:
        raise ActionParseError("set_mpls_label: expected label.")
    label = str_to_u32(arg)
    if label & ~0xFFFFF:
        raise ActionParseError(f"{arg}: not a valid MPLS label")
    out.append(SetMplsLabel(label))


def _set_mpls_tc(arg: str, out: list[Action]) -> None:
    if not arg:
        raise ActionParseError("set_mpls_tc: expected tc.")
    tc = str_to_u8(arg, "MPLS TC")
    if tc & ~7:
        raise ActionParseError(f"{arg}: not a valid MPLS TC")
    out.append(SetMplsTc(tc))


def _set_mpls_ttl(arg: str, out: list[Action]) -> None:
    if not arg:
        raise ActionParseError("set_mpls_ttl: expected ttl.")
    out.append(SetMplsTtl(str_to_u8(arg, "MPLS TTL")))


def _dec_mpls_ttl(arg: str, out: list[Action]) -> None:
    out.append(DecMplsTtl())


def _push_mpls(arg: str, out: list[Action]) -> None:
    out.append(PushMpls(str_to_u16(arg, "push_mpls")))


def _pop_mpls(arg: str, out: list[Action]) -> None:
    out.append(PopMpls(str_to_u16(arg, "pop_mpls")))


def _dec_nsh_ttl(arg: str, out: list[Action]) -> None:
    out.append(DecNshTtl())


def _delete_field(arg: str, out: list[Action]) -> None:
    f = F.BY_NAME.get(arg) or F.BY_HEADER_NAME.get(arg)
    if f is None:
        raise ActionParseError(f"unknown field `{arg}'")
    out.append(DeleteField(f))


def _encap(arg: str, out: list[Action]) -> None:
    items = list(split_key_values(arg))
    if not items:
        raise ActionParseError(f"Missing encap hdr: {arg}")
    key, value = items[0]
    header = key
    if header not in ("ethernet", "nsh", "mpls", "mpls_mc"):
        raise ActionParseError(f"Encap hdr not supported: {value}")
    md_type: int | None = None
    tlvs: list[tuple[int, int, bytes]] = []
    for pkey, pvalue in split_key_values(value):
        if header != "nsh":
            raise ActionParseError(f"Invalid property: {pkey}")
        if pkey == "md_type":
            md_type = str_to_u8(pvalue, "md_type")
            if md_type not in (1, 2):
                raise ActionParseError("invalid md_type")
        elif pkey == "tlv":
            m = re.fullmatch(r"\s*([^,]+),\s*([^,]+),\s*0x([0-9a-fA-F]*)", pvalue)
            if not m:
                raise ActionParseError(f"Invalid NSH TLV header: {pvalue}")
            cls = lex.c_strtoul(m.group(1))[0] & 0xFFFF
            typ = c_atoi(m.group(2)) & 0xFF
            digits = m.group(3)
            if len(digits) % 2:
                digits = "0" + digits
            tlvs.append((cls, typ, bytes.fromhex(digits)))
        else:
            raise ActionParseError(f"Invalid property: {pkey}")
    out.append(Encap(header, md_type, tuple(tlvs)))


def _decap(arg: str, out: list[Action]) -> None:
    for key, value in split_key_values(arg):
        if key != "packet_type":
            raise ActionParseError(f"Invalid decap argument: {key}")
        ns = typ = None
        for k, v in split_key_values(value):
            if k == "ns":
                ns = str_to_u16(v, "ns")
            elif k == "type":
                typ = str_to_u16(v, "type")
            else:
                raise ActionParseError(f"Invalid packet_type attribute: {k}")
        if ns is None:
            raise ActionParseError("Missing packet_type attribute ns")
        if typ is None:
            raise ActionParseError("Missing packet_type attribute type")
        out.append(Decap((ns << 16) | typ))
        return
    out.append(Decap(None))


# --- metadata -------------------------------------------------------------------------------------------------
def _set_tunnel(wide: bool) -> _Parser:
    def parse(arg: str, out: list[Action]) -> None:
        out.append(SetTunnel(str_to_u64(arg), wide))
    return parse


def _set_queue(arg: str, out: list[Action]) -> None:
    out.append(SetQueue(str_to_u32(arg)))


def _pop_queue(arg: str, out: list[Action]) -> None:
    out.append(PopQueue())


def _fin_timeout(arg: str, out: list[Action]) -> None:
    idle = hard = 0
    for key, value in split_key_values(arg):
        if key == "idle_timeout":
            idle = str_to_u16(value, key)
        elif key == "hard_timeout":
            hard = str_to_u16(value, key)
        else:
            raise ActionParseError(f"invalid key '{key}' in 'fin_timeout' argument")
    out.append(FinTimeout(idle, hard))


# --- control flow ---------------------------------------------------------------------------------------------
def _resubmit(arg: str, out: list[Action]) -> None:
    parts = arg.split(",")
    in_port = lex.OFPP_IN_PORT
    table = 255
    ct = False
    if parts[0]:
        p = parse_port(parts[0])
        if p is None:
            raise ActionParseError(f"{parts[0]}: resubmit to unknown port")
        in_port = p
    if len(parts) > 1 and parts[1]:
        t = parse_table(parts[1])
        if t is None:
            raise ActionParseError(f"{parts[1]}: resubmit to unknown table")
        table = t
    if len(parts) > 2 and parts[2]:
        if parts[2] != "ct":
            raise ActionParseError(f"{parts[2]}: unknown parameter")
        ct = True
    if in_port == lex.OFPP_IN_PORT and table == 255:
        raise ActionParseError('at least one "in_port" or "table" must be specified on resubmit')
    out.append(Resubmit(in_port, table, ct))


def _conjunction(arg: str, out: list[Action]) -> None:
    m = re.fullmatch(r"\s*([+-]?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*))\s*,\s*([+-]?\d+)\s*/\s*([+-]?\d+)\s*", arg)
    if not m:
        raise ActionParseError('"conjunction" syntax is "conjunction(id,i/n)"')
    cid = lex.c_strtoul(m.group(1), 0, 64, signed=True)[0] & 0xFFFFFFFF
    k = int(m.group(2)) & 0xFF
    n = int(m.group(3)) & 0xFF
    if n < 2:
        raise ActionParseError("conjunction must have at least 2 clauses")
    if n > 64:
        raise ActionParseError("conjunction must have at most 64 clauses")
    if k < 1:
        raise ActionParseError("clause index must be positive")
    if k > n:
        raise ActionParseError("clause index must be less than or equal to number of clauses")
    out.append(Conjunction(cid, k - 1, n))


def _multipath(arg: str, out: list[Action]) -> None:
    toks = lex.strtok(arg, ", ")
    if len(toks) < 6:
        raise ActionParseError(f"{arg}: not enough arguments to multipath action")
    fields, basis, algorithm, n_links_s, marg, dst_s = toks[:6]
    if fields.lower() not in HASH_FIELDS:
        raise ActionParseError(f"{arg}: unknown fields `{fields}'")
    if algorithm.lower() not in MULTIPATH_ALGORITHMS:
        raise ActionParseError(f"{arg}: unknown algorithm `{algorithm}'")
    n_links = c_atoi(n_links_s)
    if not 1 <= n_links <= 65536:
        raise ActionParseError(f"{arg}: n_links {n_links} is not in valid range 1 to 65536")
    dst = parse_subfield(dst_s)
    if not dst.field.headers:
        raise ActionParseError(f"{arg}: experimenter OXM field '{dst_s}' not supported")
    if dst.n_bits < 16 and n_links > (1 << dst.n_bits):
        raise ActionParseError(f"{arg}: {dst.n_bits}-bit destination field has {1 << dst.n_bits} possible values, "
                               f"less than specified n_links {n_links}")
    out.append(Multipath(fields.lower(), c_atoi(basis) & 0xFFFF, algorithm.lower(), n_links - 1,
                         c_atoi(marg) & 0xFFFFFFFF, dst))


def _note(arg: str, out: list[Action]) -> None:
    data, tail = lex.parse_hex_bytes(arg)
    if tail:
        raise ActionParseError("bad hex digit in `note' argument")
    out.append(Note(data))


def _exit(arg: str, out: list[Action]) -> None:
    out.append(Exit())


def _sample(arg: str, out: list[Action]) -> None:
    prob = 0
    cs = dom = pt = 0
    sport = lex.OFPP_NONE
    direction = "default"
    for key, value in split_key_values(arg):
        if key == "probability":
            prob = str_to_u16(value, "probability")
            if prob == 0:
                raise ActionParseError(f'invalid probability value "{value}"')
        elif key == "collector_set_id":
            cs = str_to_u32(value)
        elif key == "obs_domain_id":
            dom = str_to_u32(value)
        elif key == "obs_point_id":
            pt = str_to_u32(value)
        elif key == "sampling_port":
            p = parse_port(value)
            if p is None:
                raise ActionParseError(f"{value}: unknown port")
            sport = p
        elif key in ("ingress", "egress"):
            direction = key
        else:
            raise ActionParseError(f'invalid key "{key}" in "sample" argument')
    if prob == 0:
        raise ActionParseError('non-zero "probability" must be specified on sample')
    out.append(Sample(prob, cs, dom, pt, sport, direction))


def _check_pkt_larger(arg: str, out: list[Action]) -> None:
    value, key = _split_arrow(arg)
    value = value.removesuffix(")")
    dst = parse_subfield(key)
    if dst.n_bits != 1:
        raise ActionParseError("Only 1-bit destination field is allowed")
    out.append(CheckPktLarger(str_to_u16(value, None), dst))


def _group(arg: str, out: list[Action]) -> None:
    out.append(Group(str_to_u32(arg)))


# --- learn ----------------------------------------------------------------------------------------------------
def _learn_spec(orig: str, name: str, value: str) -> LearnSpec:
    try:
        dst: Subfield | None = Subfield.parse(name)
    except SubfieldError:
        dst = None
    if dst is not None:
        if not dst.field.headers:
            raise ActionParseError(f"{orig}: experimenter OXM field '{name}' not supported")
        if not value:
            return LearnSpec("match", dst.n_bits, dst=dst, src=dst)
        try:
            src = Subfield.parse(value)
        except SubfieldError as sub_err:
            imm_err = None
            imm = 0
            f = dst.field
            if dst.is_whole:
                try:
                    imm, mask = parse_field_value(f, value)
                    if mask is not None:
                        imm_err = f"{value}: wildcards not allowed here"
                except ActionParseError as e:
                    imm_err = str(e)
            else:
                v, err, tail = parse_int_string(value, f.nbytes)
                if err is not None or v is None or tail != len(value):
                    imm_err = f"{orig}: cannot parse integer value"
                elif v >> dst.n_bits:
                    imm_err = (f"{orig}: value {format_field_value(f, v)} does not fit into "
                               f"{dst.n_bits} bits")
                else:
                    imm = v
            if imm_err is not None:
                raise ActionParseError(f"{orig}: {name} value {value} cannot be parsed as a subfield ({sub_err}) "
                                       f"or an immediate value ({imm_err})") from None
            return LearnSpec("match", dst.n_bits, dst=dst, src=None, imm=imm & ((1 << dst.n_bits) - 1))
        if src.n_bits != dst.n_bits:
            # ovs-ofctl names the widths the other way around; the message is reproduced as it prints it.
            raise ActionParseError(f"{orig}: bit widths of {name} ({src.n_bits}) and {value} ({dst.n_bits}) differ")
        return LearnSpec("match", dst.n_bits, dst=dst, src=src)
    if name == "load":
        i = value.find("->")
        if i == 0:
            raise ActionParseError(f"{name}: missing source before `->' in `{value}'")
        if i < 0:
            raise ActionParseError(f"{name}: missing `->' in `{value}'")
        v, err, tail = parse_int_string(value, 128)
        if err is None and v is not None and tail != 0:
            if tail != i:
                raise ActionParseError(f"{name}: garbage before `->' in `{value}'")
            ldst = parse_subfield(value[i + 2:])
            if not ldst.field.headers:
                raise ActionParseError(f"{name}: experimenter OXM field '{value}' not supported")
            if v >> ldst.n_bits:
                raise ActionParseError(f"{value}: value does not fit into {ldst.n_bits} bits")
            return LearnSpec("load", ldst.n_bits, dst=ldst, src=None, imm=v)
        mv = parse_move(value)
        return LearnSpec("load", mv.src.n_bits, dst=mv.dst, src=mv.src)
    if name == "output":
        src = parse_subfield(value)
        return LearnSpec("output", src.n_bits, src=src)
    raise ActionParseError(f"{orig}: unknown keyword {name}")


def _learn(arg: str, out: list[Action]) -> None:
    orig = arg
    kw: dict = {}
    specs: list[LearnSpec] = []
    for name, value in split_key_values(arg):
        if name == "table":
            t = parse_table(value)
            if t is None:
                raise ActionParseError(f'unknown table "{value}"')
            if t == 255:
                raise ActionParseError(f"{orig}: table id 255 not valid for `learn' action")
            kw["table_id"] = t
        elif name == "priority":
            kw["priority"] = c_atoi(value) & 0xFFFF
        elif name in ("idle_timeout", "hard_timeout", "fin_idle_timeout", "fin_hard_timeout"):
            kw[name] = c_atoi(value) & 0xFFFF
        elif name == "cookie":
            kw["cookie"] = lex.c_strtoul(value, 0, 64)[0]
        elif name == "send_flow_rem":
            kw["send_flow_rem"] = True
        elif name == "delete_learned":
            kw["delete_learned"] = True
        elif name == "limit":
            kw["limit"] = c_atoi(value) & 0xFFFFFFFF
        elif name == "result_dst":
            rd = parse_subfield(value)
            if not rd.field.writable:
                raise ActionParseError(f"{value} is read-only")
            if rd.n_bits != 1:
                raise ActionParseError("result_dst in 'learn' action must be a single bit")
            kw["result_dst"] = rd
        else:
            specs.append(_learn_spec(orig, name, value))
    out.append(Learn(specs=tuple(specs), **kw))


# --- connection tracking --------------------------------------------------------------------------------------
def _nat_range(s: str) -> dict:
    """``addr[-addr][:port[-port]]`` of ``nat(src=...)``; returns the Nat fields it sets."""
    r: dict = {"family": None, "addr_min": 0, "addr_max": 0, "port_min": 0, "port_max": 0}
    n = 0
    bad = ActionParseError(f'invalid nat range "{s}"')
    v4 = parse_ipv4_scan(s, 0)
    v6_chars = re.compile(r"\s*([0-9a-fA-F:.]{1,46})")
    v6_bracket = re.compile(r"\[\s*([0-9a-fA-F:.]{1,46})\]")

    def scan6(pos: int) -> tuple[int | None, int | None]:
        m = v6_chars.match(s, pos) or v6_bracket.match(s, pos)
        if not m:
            return None, None
        try:
            import ipaddress
            return int(ipaddress.IPv6Address(m.group(1))), m.end()
        except ValueError:
            return None, m.end()

    if v4 is not None:
        r["family"] = 4
        r["addr_min"], n = v4
        if s[n:n + 1] == "-":
            v4b = parse_ipv4_scan(s, n + 1)
            if v4b is None or v4b[0] < r["addr_min"]:
                raise bad
            r["addr_max"], n = v4b
    else:
        a, end = scan6(0)
        if end is not None:
            n = end
        if a is not None:
            r["family"] = 6
            r["addr_min"] = a
            if s[n:n + 1] == "-":
                b, end2 = scan6(n + 1)
                if b is None or b < a:
                    raise bad
                r["addr_max"] = b
                n = end2 or n
    if r["family"] is not None and s[n:n + 1] == ":":
        m = re.compile(r"\s*\+?(\d+)").match(s, n + 1)
        if not m:
            raise bad
        r["port_min"] = int(m.group(1)) & 0xFFFF
        n = m.end()
        if s[n:n + 1] == "-":
            m = re.compile(r"\s*\+?(\d+)").match(s, n + 1)
            if not m or int(m.group(1)) & 0xFFFF < r["port_min"]:
                raise bad
            r["port_max"] = int(m.group(1)) & 0xFFFF
            n = m.end()
    if n != len(s):
        raise ActionParseError(f'garbage ({s[n:]}) after nat range "{s}" (pos: {n})')
    return r


def _nat(arg: str, out: list[Action]) -> None:
    kinds: set[str] = set()
    rng: dict = {}
    flags = {"persistent": False, "hash": False, "random": False}
    for key, value in split_key_values(arg):
        if key in ("src", "dst"):
            kinds.add(key)
            rng = _nat_range(value)
        elif key in flags:
            flags[key] = True
        else:
            raise ActionParseError(f'invalid key "{key}" in "nat" argument')
    if len(kinds) == 2:
        raise ActionParseError('May only specify one of "src" or "dst".')
    if not kinds and any(flags.values()):
        raise ActionParseError('Flags allowed only with "src" or "dst".')
    if flags["hash"] and flags["random"]:
        raise ActionParseError('Both "hash" and "random" are not allowed.')
    kind = next(iter(kinds)) if kinds else None
    out.append(Nat(kind, **rng, **flags))


def _ct(arg: str, out: list[Action]) -> None:
    kw: dict = {}
    nested: list[Action] = []
    for key, value in split_key_values(arg):
        if key == "commit":
            kw["commit"] = True
        elif key == "force":
            kw["force"] = True
        elif key == "table":
            t = parse_table(value)
            if t is None:
                raise ActionParseError(f"unknown table {value}")
            if t == 255:
                raise ActionParseError("invalid table 0xff")
            kw["table"] = t
        elif key == "zone":
            # A later numeric zone does not cancel an earlier subfield: ovs-ofctl prints the subfield.
            try:
                kw["zone"] = str_to_u16(value, "zone")
            except ActionParseError:
                kw["zone_src"] = parse_subfield(value)
        elif key == "alg":
            if value == "ftp":
                kw["alg"] = 21
            elif value == "tftp":
                kw["alg"] = 69
            else:
                raise ActionParseError(f'invalid conntrack helper "{value}"')
        elif key == "nat":
            _nat(value, nested)
        elif key == "exec":
            nested.extend(_parse_list(value, allow_instructions=False, outer="ct"))
        else:
            raise ActionParseError(f"invalid argument to \"ct\" action: `{key}'")
    if kw.get("force") and not kw.get("commit"):
        raise ActionParseError('"force" flag requires "commit" flag.')
    out.append(Ct(actions=tuple(nested), **kw))


def _ct_clear(arg: str, out: list[Action]) -> None:
    out.append(CtClear())


def _clone(arg: str, out: list[Action]) -> None:
    out.append(Clone(tuple(_parse_list(arg, allow_instructions=False, outer="clone"))))


# --- instructions -----------------------------------------------------------------------------------------------
def _meter(arg: str, out: list[Action]) -> None:
    out.append(Meter(str_to_u32(arg)))


def _clear_actions(arg: str, out: list[Action]) -> None:
    out.append(ClearActions())


def _write_actions(arg: str, out: list[Action]) -> None:
    out.append(WriteActions(tuple(_parse_list(arg, allow_instructions=False, outer="write_actions"))))


def _write_metadata(arg: str, out: list[Action]) -> None:
    value_text, slash, mask_text = arg.partition("/")
    mask = str_to_u64(mask_text) if slash else 0xFFFFFFFFFFFFFFFF
    out.append(WriteMetadata(str_to_u64(value_text), mask))


def _goto_table(arg: str, out: list[Action]) -> None:
    t = parse_table(arg)
    if t is None:
        raise ActionParseError(f'unknown table "{arg}"')
    out.append(GotoTable(t))


def _unroll_xlate(arg: str, out: list[Action]) -> None:
    raise ActionParseError("UNROLL is an internal action that shouldn't be used via OpenFlow")


def _debug_recirc(arg: str, out: list[Action]) -> None:
    out.append(DebugRecirc())


def _debug_slow(arg: str, out: list[Action]) -> None:
    out.append(DebugSlow())


_PARSERS: dict[str, _Parser] = {
    "output": _output, "output_reg": _output, "output_trunc": _output_trunc, "controller": _controller,
    "enqueue": _enqueue, "bundle": _bundle, "bundle_load": _bundle_load,
    "set_vlan_vid": _vlan_vid(False), "mod_vlan_vid": _vlan_vid(True),
    "set_vlan_pcp": _vlan_pcp(False), "mod_vlan_pcp": _vlan_pcp(True),
    "strip_vlan": _strip_vlan, "pop_vlan": _pop_vlan, "push_vlan": _push_vlan,
    "mod_dl_src": _mod_dl_src, "mod_dl_dst": _mod_dl_dst, "mod_nw_src": _mod_nw_src, "mod_nw_dst": _mod_nw_dst,
    "mod_nw_tos": _mod_nw_tos, "mod_nw_ecn": _mod_nw_ecn, "mod_nw_ttl": _mod_nw_ttl, "set_nw_ttl": _mod_nw_ttl,
    "mod_tp_src": _mod_tp_src, "mod_tp_dst": _mod_tp_dst,
    "set_field": _set_field, "load": _load, "move": _move, "push": _push, "pop": _pop,
    "dec_ttl": _dec_ttl, "set_mpls_label": _set_mpls_label, "set_mpls_tc": _set_mpls_tc,
    "set_mpls_ttl": _set_mpls_ttl, "dec_mpls_ttl": _dec_mpls_ttl, "push_mpls": _push_mpls, "pop_mpls": _pop_mpls,
    "dec_nsh_ttl": _dec_nsh_ttl, "delete_field": _delete_field, "encap": _encap, "decap": _decap,
    "set_tunnel": _set_tunnel(False), "set_tunnel64": _set_tunnel(True), "set_queue": _set_queue,
    "pop_queue": _pop_queue, "fin_timeout": _fin_timeout, "resubmit": _resubmit, "learn": _learn,
    "conjunction": _conjunction, "multipath": _multipath, "note": _note, "exit": _exit, "sample": _sample,
    "unroll_xlate": _unroll_xlate, "ct": _ct, "ct_clear": _ct_clear, "nat": _nat, "clone": _clone,
    "check_pkt_larger": _check_pkt_larger, "debug_recirc": _debug_recirc, "debug_slow": _debug_slow,
    "meter": _meter, "clear_actions": _clear_actions, "write_actions": _write_actions,
    "write_metadata": _write_metadata, "goto_table": _goto_table, "group": _group,
}


# --- verification -----------------------------------------------------------------------------------------------
def _mf_dst(a: Action) -> Field | None:
    if isinstance(a, SetField):
        return a.field
    if isinstance(a, RegMove):
        return a.dst.field
    return None


def _verify(actions: list[Action], allow_instructions: bool, outer: str | None) -> None:
    """ovs-ofctl's ``ofpacts_verify``: instruction order and nesting rules."""
    prev: Inst | None = None
    for a in actions:
        if isinstance(a, Conjunction):
            for b in actions:
                if not isinstance(b, (Conjunction, Note)):
                    raise ActionParseError('"conjunction" actions may be used along with "note" but not any other '
                                           f'kind of action (such as the "{b.NAME}" action used here)')
            return
        field = _mf_dst(a)
        if field is not None and field.name in CT_FIELDS and outer != "ct":
            raise ActionParseError("cannot set CT fields outside of ct action")
        if isinstance(a, Nat):
            if outer != "ct":
                raise ActionParseError('Cannot have NAT action outside of "ct" action')
            continue
        if outer is not None:
            if outer == "ct":
                if field is None:
                    raise ActionParseError(f"ct action doesn't support nested action {a.NAME}")
                if field.name not in CT_FIELDS:
                    raise ActionParseError(f"ct action doesn't support nested modification of {field.name}")
            if isinstance(a, Meter):
                raise ActionParseError(f"{outer} action doesn't support nested action meter")
        nxt = a.INSTRUCTION
        if prev is not None and (nxt < prev if prev is Inst.APPLY_ACTIONS else nxt <= prev):
            if nxt == prev:
                raise ActionParseError(f"duplicate {prev.text} instruction not allowed, for OpenFlow 1.1+ "
                                       "compatibility")
            raise ActionParseError(f"invalid instruction ordering: {nxt.text} must appear before {prev.text}, for "
                                   "OpenFlow 1.1+ compatibility")
        if not allow_instructions and nxt not in (Inst.APPLY_ACTIONS, Inst.METER):
            raise ActionParseError(f"{nxt.text} instruction not allowed here")
        prev = nxt


def _parse_list(text: str, allow_instructions: bool, outer: str | None) -> list[Action]:
    out: list[Action] = []
    drop = False
    for key, value in split_key_values(text):
        parser = _PARSERS.get(key.lower())
        if parser is not None:
            parser(value, out)
            continue
        lk = key.lower()
        if lk == "drop":
            drop = True
        elif lk == "apply_actions":
            raise ActionParseError("apply_actions is the default instruction")
        else:
            port = parse_port(key)
            if port is None:
                raise ActionParseError(f"unknown action {key}")
            out.append(Output(port, 0))
    if drop and out:
        raise ActionParseError('"drop" must not be accompanied by any other action or instruction')
    _verify(out, allow_instructions, outer)
    return out


def parse_actions(text: str) -> list[Action]:
    """Parse ovs-ofctl action text (empty or ``drop``: no actions).  Raises ActionParseError."""
    try:
        return _parse_list(text, allow_instructions=True, outer=None)
    except RecursionError:
        raise ActionParseError("input too big") from None
