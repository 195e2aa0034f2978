"""Datapath flows and datapath actions in the text forms Open vSwitch prints.

A datapath flow is a megaflow: a flow key and a mask (Python ints in the layout of
:mod:`pyvswitch.flow.fields`) plus a list of datapath actions.  Open vSwitch prints both in the "ODP" syntax
of ``ovs-appctl dpctl/dump-flows`` and of the ``Datapath actions:`` line of ``ofproto/trace``; the same syntax
is accepted by ``dpctl/add-flow`` and ``netdev-dummy/receive``.  This module formats and parses that syntax
(behaviour of Open vSwitch 3.1, checked against a real ovs-vswitchd with a dummy datapath, see
``tests/data/dpif/odp_capture.py``).

Flows
-----
``format_flow(key, mask)`` prints one attribute per header, in the datapath's order: ``skb_priority``,
``tunnel``, ``skb_mark``, ``ct_state``, ``ct_zone``, ``ct_mark``, ``ct_label``, ``ct_tuple4`` (or
``ct_tuple6`` for an IPv6 flow, whose ports are spelled ``src_port``/``dst_port``), ``recirc_id``,
``dp_hash``, ``in_port``, ``packet_type``, ``eth``, the VLAN tags (``eth_type(TPID),vlan(...),encap(...)``
with everything behind the tag inside ``encap``), ``eth_type``, the L3 header (``ipv4``, ``ipv6``, ``arp``,
``mpls``), the L4 header (``tcp``, ``udp``, ``sctp``, ``icmp``, ``icmpv6``), ``tcp_flags`` and ``nd``.  The
rules of the userspace datapath's printer, which ``dpctl/dump-flows`` uses without ``-m``:

* an attribute whose mask is all zero is left out, and inside an attribute so is every field whose mask is
  zero (``nd`` counts as wildcarded unless the ICMPv6 type and code are matched exactly: the datapath does
  not export its mask otherwise); ``recirc_id`` and ``in_port`` are always printed because the userspace
  datapath always matches them
  exactly;
* a field with an exact mask prints its value only, any other mask as ``value/mask``: Ethernet and IP masks in
  their address syntax, numbers as C's ``%#x`` (``tos=0/0xfc``, ``dst=1000/0xff00``).  The value is printed as
  stored, bits outside the mask included, as OVS does: the userspace datapath's dump prints the key of the
  packet that created the flow under the flow's mask (``dst=10.1.2.3/255.0.0.0``); ``format_flow(key & mask,
  mask)`` prints the masked form;
* numbers are decimal except ``skb_priority``, ``skb_mark``, ``ct_zone``, ``ct_mark``, ``ct_label``,
  ``recirc_id``, ``dp_hash``, ``tun_id``, the tunnel ``tos``, the IPv4 ``tos``, the IPv6 ``label`` and
  ``tclass``, which use ``%#x`` (so zero is ``0``); ``eth_type`` is ``0x%04x``;
* ``mpls`` prints all four fields of each label stack entry the packet has (up to the bottom of the stack),
  with their masks unless every entry is exact;
* an 802.2 frame (Ethernet type below 0x600 in the key) prints ``eth_type(0/0xffff)``;
* ``frag`` is ``no``, ``first`` or ``later``; ``ct_state`` and the tunnel ``flags`` are printed as ``+name``
  or ``-name`` for each bit of the mask; ``tcp_flags`` as names joined by ``|`` when its mask is exact, else
  the ``+``/``-`` form.

Tunnel flags: the key's ``tun_flags`` slot holds bit 0 ``oam``, bit 1 ``df``, bit 2 ``csum`` and bit 3 ``key``
(see :mod:`pyvswitch.flow.flow_format`) and print in that order.  The tunnel attribute follows the datapath's
tunnel key, which carries only what the packet had: a field is printed only when its value is non-zero
(``ttl`` whenever matched), ``tun_id`` (``0x%x``) only when the ``key`` flag is set, and the ``flags(...)``
group only when some flag is set.

Ethernet: a flow key whose ``packet_type`` is wildcarded says "this is an Ethernet frame" by carrying an
``eth`` attribute, which OVS then prints even when both addresses are wildcarded (``eth()``).  In pyvswitch's
key, ``packet_type`` 0 is Ethernet; a datapath flow parsed without ``eth(...)`` and without
``packet_type(...)`` is a layer-3 packet, so its key gets OVS's layer-3 packet type (namespace 1, the Ethernet
type as id), wildcarded. When ``packet_type`` is matched (as in every megaflow installed by an upcall), an
``eth`` with zero masks is left out like any other wildcarded attribute.

Geneve options: a packet decapsulated from Geneve carries its options raw in the key
(:mod:`pyvswitch.flow.tun_metadata`), and the tunnel attribute prints them before ``flags(...)`` as
``geneve({class=0xffff,type=0,len=4,0x1}...)``: class and type as ``%#x``, the data length in bytes, the data as
one hexadecimal number without leading zero bytes, each with ``/mask`` unless exact.  Without ``-m`` a field whose
mask is zero is left out, so an option the flow does not match prints as ``{}`` (``geneve({}{})`` for two), and a
Geneve packet without options prints ``geneve()``, as Open vSwitch 3.1 prints them; parsing ``{}`` gives an empty
option with a zero mask, which prints the same.

ICMP type and code are the low 8 bits of ``tp_src`` and ``tp_dst``, as in the flow key.  Not supported,
because the key has no room for them or no test has needed them: VXLAN-GBP/ERSPAN/GTP-U tunnel attributes, NSH,
more than three MPLS label stack entries, and parsing more than one.

The verbose form
----------------
``format_flow_verbose(orig_key, mask)`` prints what ``dpctl/dump-flows -m`` prints for a flow of the userspace
datapath, which keeps the full key of the packet that created each flow: every attribute of that packet, with
wildcarded fields as ``value/0`` (see its docstring for which attributes a packet has).  ``miniflow_bits``
counts the 64-bit words of Open vSwitch's ``struct flow`` that a mask touches, for the ``dp-extra-info`` item;
``format_dp_flow_line(..., verbose=True)`` puts the whole ``-m`` line together.  Checked against Open vSwitch
3.1 with ``tests/data/dpif/dump_verbose_capture.py``.

Actions
-------
The action model is a set of frozen dataclasses, one per datapath action (``Output``, ``PushVlan``,
``SetField``, ``Ct``, ``Userspace``, ``Clone``, ...).  ``SetField`` is the ``set(...)`` action for one
attribute kind (the attribute names above: ``eth``, ``ipv4``, ``tunnel``, ``skb_priority``, ``ct_state`` ...);
build it with ``SetField.of(kind, values, masks)``, where ``values`` maps the field names as they are written
in the text (``src``, ``tos``, ``tun_id``, ``flags``) to ints in the datapath's meaning (``frag``: 0 no, 1
first, 2 later; tunnel ``flags``: the key's ``tun_flags`` bits); ``masks`` is None for an exact set, else one
mask per field (a field with an all-ones mask prints as a plain value).  Scalar attributes use the field name
``value``.  Printing follows the order of the attribute table, not the order of the dict. The userspace
action's cookie is kept as its text (``slow_path(match)``, ``controller(...)``, ``sFlow(...)``) when it was
given as text and as bytes for ``userdata(...)``; like OVS, parsing pads user data to 8 bytes.  ``Ct``'s ``mark`` always prints with its mask
(``mark=0x5/0xffffffff``), its ``label`` only when the mask is partial.  ``Sample.probability`` is a fraction
of 2**32-1 printed with one decimal (``sample=50.0%``).  An empty action list prints as ``drop``.

``TnlPush`` (defined in :mod:`pyvswitch.netdev.native_tnl`, which builds it) holds the outer header as bytes and
prints it field by field as Open vSwitch does: ``tnl_push(tnl_port(4789),header(size=50,type=4,eth(dst=..,src=..,
dl_type=0x0800),ipv4(src=..,dst=..,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=4789,csum=0x0),
vxlan(flags=0x8000000,vni=0x1c8)),out_port(100))``; IPv6 as ``ipv6(src=..,dst=..,label=0,proto=17,tclass=0x0,
hlimit=64)``; Geneve as ``geneve([oam,][crit,]vni=0x7b[,options({class=..,type=..,len=4,0x..}...)])``; GRE as
``gre((flags=0x2000,proto=0x6558)[,csum=0x0][,key=0x1c8][,seq=..])`` (type 109 over IPv6).  Only what is printed
is parsed back, so the per-packet fields (IP length, id and checksum) must be zero for the bytes to round-trip,
as they are in a header ``build_tnl_push`` made.  With port names, ``tnl_port(...)`` and ``out_port(...)`` print
names like outputs do (``tnl_port(vxlan_sys_4789)``, ``out_port(br0)``)."""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from pyvswitch.dpif.flow_cache import format_tcp_flags
from pyvswitch.flow import fields as F
from pyvswitch.flow.tun_metadata import GENEVE_RAW_MASK, geneve_raw, has_geneve, put_geneve_raw
from pyvswitch.flow.values import CT_STATE_NAMES, TCP_FLAG_NAMES, format_ipv6, format_mac, parse_mac
from pyvswitch.netdev.native_tnl import TNL_TYPE_NAMES, TnlPush

__all__ = [
    "Action", "CheckPktLen", "Clone", "Ct", "CtClear", "Drop", "Hash", "Meter", "OdpParseError", "Output",
    "PopMpls", "PopVlan", "PushMpls", "PushVlan", "Recirc", "Sample", "SetField", "TnlPop", "TnlPush",
    "Trunc",
    "Userspace", "format_actions", "format_dp_flow_line", "format_flow", "format_flow_verbose",
    "format_tcp_flags_short", "miniflow_bits", "parse_actions", "parse_flow",
]


class OdpParseError(ValueError):
    """Text that is not a valid datapath flow or action list."""


# ------------------------------------------------------------------------------------------------------------
# Field kinds and the attribute table.
DEC, HEX, ETH, IP4, IP6, FRAG, CT_STATE, TUN_FLAGS, TCP_FLAGS = range(9)

_TUN_FLAG_BITS = [("oam", 0), ("df", 1), ("csum", 2), ("key", 3)]
_TUN_F_KEY = 1 << 3
_TCP_NAMES = TCP_FLAG_NAMES + ["[200]", "[400]", "[800]"]
_FRAG_NAMES = {0: "no", 1: "first", 3: "later"}
_FRAG_VALUES = {"no": 0, "first": 1, "later": 3}


@dataclass(frozen=True, slots=True)
class _Spec:
    """One field of an attribute: its name in the text, its storage slot, shift and width in the key, and
    how its value is written."""

    name: str
    slot: str
    shift: int
    bits: int
    kind: int

    @property
    def full(self) -> int:
        return (1 << self.bits) - 1

    def get(self, key: int) -> int:
        return (F.storage_get(key, self.slot) >> self.shift) & self.full

    def put(self, key: int, value: int) -> int:
        ofs = F.STORAGE[self.slot][0] + self.shift
        return (key & ~(self.full << ofs)) | ((value & self.full) << ofs)


def _s(name: str, slot: str, kind: int, bits: int | None = None, shift: int = 0) -> _Spec:
    return _Spec(name, slot, shift, bits if bits is not None else F.STORAGE[slot][1], kind)


_L4 = [_s("src", "tp_src", DEC), _s("dst", "tp_dst", DEC)]
_ICMP = [_s("type", "tp_src", DEC, 8), _s("code", "tp_dst", DEC, 8)]
ATTRS: dict[str, list[_Spec]] = {
    "skb_priority": [_s("value", "skb_priority", HEX)],
    "tunnel": [_s("tun_id", "tun_id", HEX), _s("src", "tun_src", IP4), _s("dst", "tun_dst", IP4),
               _s("ipv6_src", "tun_ipv6_src", IP6), _s("ipv6_dst", "tun_ipv6_dst", IP6),
               _s("tos", "_tun_tos", HEX), _s("ttl", "_tun_ttl", DEC), _s("tp_src", "_tun_tp_src", DEC),
               _s("tp_dst", "_tun_tp_dst", DEC), _s("flags", "tun_flags", TUN_FLAGS, 4)],
    "skb_mark": [_s("value", "pkt_mark", HEX)],
    "ct_state": [_s("value", "ct_state", CT_STATE, 8)],
    "ct_zone": [_s("value", "ct_zone", HEX)],
    "ct_mark": [_s("value", "ct_mark", HEX)],
    "ct_label": [_s("value", "ct_label", HEX)],
    "ct_tuple4": [_s("src", "ct_nw_src", IP4), _s("dst", "ct_nw_dst", IP4), _s("proto", "ct_nw_proto", DEC),
                  _s("tp_src", "ct_tp_src", DEC), _s("tp_dst", "ct_tp_dst", DEC)],
    "ct_tuple6": [_s("src", "ct_ipv6_src", IP6), _s("dst", "ct_ipv6_dst", IP6),
                  _s("proto", "ct_nw_proto", DEC),
                  _s("src_port", "ct_tp_src", DEC), _s("dst_port", "ct_tp_dst", DEC)],
    "recirc_id": [_s("value", "recirc_id", HEX)],
    "dp_hash": [_s("value", "dp_hash", HEX)],
    "in_port": [_s("value", "in_port", DEC)],
    "eth": [_s("src", "dl_src", ETH), _s("dst", "dl_dst", ETH)],
    "eth_type": [_s("value", "dl_type", HEX)],
    "ipv4": [_s("src", "nw_src", IP4), _s("dst", "nw_dst", IP4), _s("proto", "nw_proto", DEC),
             _s("tos", "nw_tos", HEX), _s("ttl", "nw_ttl", DEC), _s("frag", "nw_frag", FRAG, 2)],
    "ipv6": [_s("src", "ipv6_src", IP6), _s("dst", "ipv6_dst", IP6), _s("label", "ipv6_label", HEX, 20),
             _s("proto", "nw_proto", DEC), _s("tclass", "nw_tos", HEX), _s("hlimit", "nw_ttl", DEC),
             _s("frag", "nw_frag", FRAG, 2)],
    "arp": [_s("sip", "nw_src", IP4), _s("tip", "nw_dst", IP4), _s("op", "nw_proto", DEC),
            _s("sha", "arp_sha", ETH), _s("tha", "arp_tha", ETH)],
    "mpls": [_s("label", "mpls_lse", DEC, 20, 12), _s("tc", "mpls_lse", DEC, 3, 9),
             _s("ttl", "mpls_lse", DEC, 8),
             _s("bos", "mpls_lse", DEC, 1, 8)],
    "tcp": _L4, "udp": _L4, "sctp": _L4, "icmp": _ICMP, "icmpv6": _ICMP,
    "tcp_flags": [_s("value", "tcp_flags", TCP_FLAGS, 12)],
    "nd": [_s("target", "nd_target", IP6), _s("sll", "arp_sha", ETH), _s("tll", "arp_tha", ETH)],
}
"""Attribute name -> its fields, in printing order.  Scalar attributes have one field named ``value``."""

_SCALARS = frozenset(k for k, v in ATTRS.items() if len(v) == 1 and v[0].name == "value")
_L3 = {0x0800: "ipv4", 0x86DD: "ipv6", 0x0806: "arp", 0x8035: "arp", 0x8847: "mpls", 0x8848: "mpls"}
_L4_BY_PROTO = {6: "tcp", 17: "udp", 132: "sctp"}


def _fmt_flags_masked(value: int, mask: int, names: list[tuple[str, int]]) -> str:
    return "".join(("+" if value >> bit & 1 else "-") + name for name, bit in names if mask >> bit & 1)


def _fmt_flags(value: int, names: list[tuple[str, int]]) -> str:
    return "|".join(name for name, bit in names if value >> bit & 1)


_CT_BITS = [(n, i) for i, n in enumerate(CT_STATE_NAMES)]
_TCP_BITS = [(n, i) for i, n in enumerate(_TCP_NAMES)]


def _fmt_value(spec: _Spec, v: int) -> str:
    k = spec.kind
    if k == DEC:
        return str(v)
    if k == HEX:
        return f"{v:#x}" if v else "0"
    if k == ETH:
        return format_mac(v)
    if k == IP4:
        return ".".join(str(b) for b in v.to_bytes(4, "big"))
    if k == IP6:
        return format_ipv6(v)
    if k == FRAG:
        return _FRAG_NAMES.get(v, "later" if v & 2 else "first" if v & 1 else "no")
    if k == TUN_FLAGS:
        return _fmt_flags(v, _TUN_FLAG_BITS)
    if k == TCP_FLAGS:
        return _fmt_flags(v, _TCP_BITS) or "0"
    return _fmt_flags(v, _CT_BITS)


def _fmt_field(spec: _Spec, v: int, m: int | None) -> str:
    """``value`` or ``value/mask`` of one field, as the flow printer writes it (``m`` None: exact)."""
    k = spec.kind
    if m == 0 and k in (TUN_FLAGS, CT_STATE, TCP_FLAGS):
        return "0/0"
    if k == TUN_FLAGS:
        if m is None:
            return _fmt_flags(v, _TUN_FLAG_BITS)
        return _fmt_flags_masked(v, m, _TUN_FLAG_BITS)
    if k == CT_STATE:
        return _fmt_flags_masked(v, spec.full if m is None else m, _CT_BITS)
    if k == TCP_FLAGS and m is not None and m != spec.full:
        return _fmt_flags_masked(v, m, _TCP_BITS)
    if k == FRAG:
        # The datapath's frag field is an enumeration: any mask that covers "is a fragment" is exact.
        return _fmt_value(spec, v)
    text = _fmt_value(spec, v)
    if m is None or m == spec.full:
        return text
    if k in (ETH, IP4, IP6):
        return text + "/" + _fmt_value(spec, m)
    return f"{text}/{m:#x}" if m else f"{text}/0"


def _geneve_of(key: int, mask: int) -> tuple[bytes, bytes] | None:
    """The raw Geneve options of ``key`` and the mask bytes over them, or None when the key has none."""
    if not has_geneve(key):
        return None
    raw = geneve_raw(key)
    n = len(raw)
    return raw, F.storage_get(mask, "_tun_geneve").to_bytes(252, "big")[-n:] if n else b""


def _insert_geneve(parts: list[str], key: int, mask: int, verbose: bool) -> None:
    """Put ``geneve(...)`` before the ``flags(...)`` group of a tunnel attribute (at the end without one), when
    the packet carried Geneve options: each option as ``{class,type,len,data}`` with masks, fields whose mask is
    zero left out unless ``verbose`` (so an option the flow does not match prints ``{}``)."""
    g = _geneve_of(key, mask)
    if g is None:
        return
    text = f"geneve({_fmt_geneve_opts(g[0], g[1], verbose)})"
    if parts and parts[-1].startswith("flags("):
        parts.insert(len(parts) - 1, text)
    else:
        parts.append(text)


def _fmt_attr(name: str, key: int, mask: int) -> str | None:
    """``name(fields)`` for the fields of ``name`` whose mask is non-zero; None when all are zero."""
    if name == "mpls":
        return _fmt_mpls(key, mask)
    parts = []
    tunnel = name == "tunnel"
    for spec in ATTRS[name]:
        m = spec.get(mask)
        if not m:
            continue
        v = spec.get(key) & (3 if spec.kind == FRAG else spec.full)
        if tunnel:
            if spec.name == "tun_id":
                if not F.storage_get(key, "tun_flags") & _TUN_F_KEY:
                    continue
                parts.append(f"tun_id=0x{v:x}" + ("" if m == spec.full else f"/{m:#x}"))
                continue
            if not v and spec.name != "ttl":
                continue
        text = _fmt_field(spec, v, m)
        if spec.kind == TUN_FLAGS:
            text = f"flags({text})"
        elif spec.name != "value":
            text = f"{spec.name}={text}"
        parts.append(text)
    if tunnel:
        _insert_geneve(parts, key, mask, False)
    if not parts:
        return None
    return f"{name}({','.join(parts)})"


_MPLS_SLOTS = ("mpls_lse", "_mpls_lse1", "_mpls_lse2")


def _mpls_depth(key: int) -> int:
    """How many label stack entries the packet has: up to the one with the bottom-of-stack bit, else the
    non-zero ones (at most three, as the flow key holds)."""
    n = 0
    for i, slot in enumerate(_MPLS_SLOTS):
        lse = F.storage_get(key, slot)
        if lse & 0x100:
            return i + 1
        if lse:
            n += 1
    return n


def _fmt_mpls(key: int, mask: int, verbose: bool = False) -> str | None:
    """The ``mpls`` attribute, one group of four fields per label stack entry of the packet: plain values
    when every entry is matched exactly, otherwise every field with its mask (in OVS's spellings:
    ``label=100/0x0,tc=3/0,ttl=64/0x0,bos=1/1``).  None when the masks are all zero, unless ``verbose``."""
    slots = _MPLS_SLOTS[:max(1, _mpls_depth(key))]
    lses = [F.storage_get(key, slot) for slot in slots]
    masks = [F.storage_get(mask, slot) for slot in slots]
    if not any(masks) and not verbose:
        return None
    exact = all(m == 0xFFFFFFFF for m in masks)
    parts = []
    for lse, lse_mask in zip(lses, masks):
        label, tc, ttl, bos = lse >> 12, (lse >> 9) & 7, lse & 0xFF, (lse >> 8) & 1
        if exact:
            parts.append(f"label={label},tc={tc},ttl={ttl},bos={bos}")
            continue
        lm, tm, ttm, bm = lse_mask >> 12, (lse_mask >> 9) & 7, lse_mask & 0xFF, (lse_mask >> 8) & 1
        parts.append(f"label={label}/0x{lm:x},tc={tc}/{tm:x},ttl={ttl}/0x{ttm:x},bos={bos}/{bm:x}")
    return f"mpls({','.join(parts)})"


def _fmt_eth_type(dl_type: int, type_mask: int) -> str:
    """``eth_type(0x0800)``, with ``/0x%04x`` unless exact.  A frame without an Ethernet type (802.2, whose
    key holds a length below 0x600) has no type in the datapath key, only in the mask:
    ``eth_type(0/0xffff)``."""
    if dl_type < 0x600:
        return f"eth_type(0/0x{type_mask:04x})"
    return f"eth_type(0x{dl_type:04x}" + ("" if type_mask == 0xFFFF else f"/0x{type_mask:04x}") + ")"


def _fmt_vlan(tci: int, tci_mask: int, verbose: bool = False) -> str:
    """``vlan(...)``: ``vid`` and ``pcp`` each when its value or its mask is non-zero (always if ``verbose``),
    with ``/0x%x`` unless the mask is exact; ``cfi=0`` when the CFI ("tag present") bit is matched as zero."""
    parts = []
    vid, pcp = tci & 0xFFF, tci >> 13
    vm, pm, cm = tci_mask & 0xFFF, tci_mask >> 13, tci_mask & 0x1000
    if vid or vm or verbose:
        parts.append(f"vid={vid}" + ("" if vm == 0xFFF else f"/0x{vm:x}"))
    if pcp or pm or verbose:
        parts.append(f"pcp={pcp}" + ("" if pm == 7 else f"/0x{pm:x}"))
    if cm and not tci & 0x1000:
        parts.append("cfi=0")
    return f"vlan({','.join(parts)})"


def format_flow(key: int, mask: int, in_port_name: str | None = None) -> str:
    """The datapath flow ``key``/``mask`` as ``ovs-appctl dpctl/dump-flows`` prints its match.

    ``in_port_name``, when given, is printed instead of the port number (as ``dpctl/dump-flows --names``)."""
    out: list[str] = []
    dl_type = F.storage_get(key, "dl_type")
    ct_tuple = "ct_tuple6" if dl_type == 0x86DD else "ct_tuple4"
    for name in ("skb_priority", "tunnel", "skb_mark", "ct_state", "ct_zone", "ct_mark", "ct_label",
                 ct_tuple):
        a = _fmt_attr(name, key, mask)
        if a:
            out.append(a)
    recirc_mask = _SPEC_RECIRC.get(mask) or _SPEC_RECIRC.full
    out.append(f"recirc_id({_fmt_field(_SPEC_RECIRC, _SPEC_RECIRC.get(key), recirc_mask)})")
    a = _fmt_attr("dp_hash", key, mask)
    if a:
        out.append(a)
    out.append(f"in_port({in_port_name})" if in_port_name is not None
               else f"in_port({F.storage_get(key, 'in_port')})")
    pt_mask = F.storage_get(mask, "packet_type")
    if pt_mask:
        pt = F.storage_get(key, "packet_type")
        ns_m, id_m = pt_mask >> 16, pt_mask & 0xFFFF
        ns = f"{pt >> 16}" + ("" if ns_m == 0xFFFF else f"/{ns_m:#x}" if ns_m else "/0")
        ident = (f"{pt & 0xFFFF:#x}" if pt & 0xFFFF else "0") + ("" if id_m == 0xFFFF else
                                                                 f"/{id_m:#x}" if id_m else "/0")
        out.append(f"packet_type(ns={ns},id={ident})")
    a = _fmt_attr("eth", key, mask)
    if a:
        out.append(a)
    elif not pt_mask and not F.storage_get(key, "packet_type"):
        out.append("eth()")
    closing = 0
    for tci_slot, tpid_slot in (("vlan_tci", "_vlan_tpid"), ("_vlan2_tci", "_vlan2_tpid")):
        tci_mask = F.storage_get(mask, tci_slot)
        tci = F.storage_get(key, tci_slot)
        if not tci & 0x1000 or (not tci_mask and tci_slot == "vlan_tci"):
            break
        tpid = F.storage_get(key, tpid_slot) or 0x8100
        out.append(f"eth_type(0x{tpid:04x})")
        if tci_mask:
            out.append(_fmt_vlan(tci, tci_mask))
        # An inner tag the flow does not match is still a level of encapsulation (Open vSwitch prints it so).
        out.append("encap(")
        closing += 1
    a = _fmt_attr("eth_type", key, mask)
    if a:
        out.append(_fmt_eth_type(dl_type, F.storage_get(mask, "dl_type")))
    l3 = _L3.get(dl_type) if F.storage_get(mask, "dl_type") == 0xFFFF else None
    if l3:
        a = _fmt_attr(l3, key, mask)
        if a:
            out.append(a)
    if l3 in ("ipv4", "ipv6"):
        proto = F.storage_get(key, "nw_proto")
        l4 = _L4_BY_PROTO.get(proto)
        if proto == 1 and l3 == "ipv4":
            l4 = "icmp"
        elif proto == 58 and l3 == "ipv6":
            l4 = "icmpv6"
        if l4 and F.storage_get(mask, "nw_proto") == 0xFF:
            for l4_name in (l4, "tcp_flags" if l4 == "tcp" else None,
                            "nd" if l4 == "icmpv6" and _nd_mask_exported(mask) else None):
                if l4_name:
                    a = _fmt_attr(l4_name, key, mask)
                    if a:
                        out.append(a)
    text = ",".join(out)
    # The VLAN encapsulations were written as "encap(" items: join them without the comma and close them.
    return text.replace("encap(,", "encap(") + ")" * closing


def _nd_mask_exported(mask: int) -> bool:
    """Whether the datapath exports the mask of the ``nd`` attribute: only when the ICMPv6 type and code are
    both matched exactly (8 bits each), as Open vSwitch's mask export requires; otherwise a megaflow that does
    match ``nd_target`` shows ``nd`` as wildcarded."""
    return F.storage_get(mask, "tp_src") & 0xFF == 0xFF and F.storage_get(mask, "tp_dst") & 0xFF == 0xFF


def _fmt_attr_verbose(name: str, key: int, mask: int) -> str:
    """``name(fields)`` as ``dpctl/dump-flows -m`` prints it: every field, wildcarded ones as ``value/0``."""
    if name == "mpls":
        return _fmt_mpls(key, mask, True) or ""
    parts = []
    tunnel = name == "tunnel"
    for spec in ATTRS[name]:
        m = spec.get(mask)
        v = spec.get(key) & (3 if spec.kind == FRAG else spec.full)
        if tunnel:
            if spec.name == "tun_id":
                if F.storage_get(key, "tun_flags") & _TUN_F_KEY:
                    parts.append(f"tun_id=0x{v:x}" + ("" if m == spec.full else f"/{m:#x}"))
                continue
            # As without -m, a tunnel field is there only when the packet's tunnel had it (``ttl`` also
            # when matched), but the flags group always is (``flags(0/0)`` when wildcarded).
            if not v and spec.kind != TUN_FLAGS and (spec.name != "ttl" or not m):
                continue
        if spec.kind == CT_STATE:
            # The verbose printer writes the connection state as a number, always with its mask (the
            # datapath's state attribute is 32 bits wide, the state only 8).
            text = (f"{v:#x}" if v else "0") + (f"/{m:#x}" if m else "/0")
        elif spec.kind == FRAG:
            if not m:
                continue            # a wildcarded fragment type is left out even here
            text = _fmt_value(spec, v)
        else:
            text = _fmt_field(spec, v, m)
        if spec.kind == TUN_FLAGS:
            text = f"flags({text})"
        elif spec.name != "value":
            text = f"{spec.name}={text}"
        parts.append(text)
    if tunnel:
        _insert_geneve(parts, key, mask, True)
    return f"{name}({','.join(parts)})"


def _fmt_packet_type(pt: int, pt_mask: int) -> str:
    ns_m, id_m = pt_mask >> 16, pt_mask & 0xFFFF
    ns = f"{pt >> 16}" + ("" if ns_m == 0xFFFF else f"/{ns_m:#x}" if ns_m else "/0")
    ident = (f"{pt & 0xFFFF:#x}" if pt & 0xFFFF else "0") + ("" if id_m == 0xFFFF else
                                                             f"/{id_m:#x}" if id_m else "/0")
    return f"packet_type(ns={ns},id={ident})"


_VLAN_TPIDS = (0x8100, 0x88A8)


def format_flow_verbose(key: int, mask: int, in_port_name: str | None = None) -> str:
    """The datapath flow as ``ovs-appctl dpctl/dump-flows -m`` prints its match.

    ``key`` is the full, unmasked key of the packet that created the flow (the userspace datapath keeps it);
    ``mask`` the megaflow's mask.  Unlike :func:`format_flow`, every attribute the packet has is printed,
    wildcarded fields as ``value/0`` (addresses with an all-zero address as mask).  Which attributes appear
    follows the packet: ``skb_priority``, ``skb_mark``, the four ``ct_*`` attributes, ``recirc_id``,
    ``dp_hash``, ``in_port`` and ``packet_type`` always; ``tunnel`` for a tunnelled packet; ``ct_tuple4`` or
    ``ct_tuple6`` when a connection tracker filled the original tuple; ``eth`` for an Ethernet packet, then
    each VLAN tag as ``eth_type(TPID),vlan(...),encap(...)``, ``eth_type``, the L3 attribute of the Ethernet
    type (``ipv4``, ``ipv6``, ``arp``, ``mpls``) and, for IP that is not a later fragment, the L4 attribute of
    the protocol: ``tcp`` (with ``tcp_flags`` when the packet had flags or they are matched), ``udp``,
    ``sctp``, ``icmp``, ``icmpv6`` (with ``nd`` for a neighbour solicitation or advertisement).  As in
    :func:`format_flow`, the mask of ``nd`` is shown only when the ICMPv6 type and code are matched exactly.
    ``ct_state`` is printed as a number with its mask (``ct_state(0x21/0x21)``); ``tunnel`` keeps the rules
    of :func:`format_flow` except that its ``flags(...)`` group is always there; a wildcarded ``frag`` is
    left out; a layer-3 packet (``packet_type`` namespace 1) has no ``eth`` and no VLAN."""
    out: list[str] = [_fmt_attr_verbose("skb_priority", key, mask)]
    if any(F.storage_get(key, slot) for slot in ("tun_dst", "tun_ipv6_dst", "tun_src", "tun_ipv6_src")):
        out.append(_fmt_attr_verbose("tunnel", key, mask))
    for name in ("skb_mark", "ct_state", "ct_zone", "ct_mark", "ct_label"):
        out.append(_fmt_attr_verbose(name, key, mask))
    dl_type = F.storage_get(key, "dl_type")
    if F.storage_get(key, "ct_nw_proto") and dl_type in (0x0800, 0x86DD):
        out.append(_fmt_attr_verbose("ct_tuple4" if dl_type == 0x0800 else "ct_tuple6", key, mask))
    recirc_mask = _SPEC_RECIRC.get(mask)
    out.append(f"recirc_id({_fmt_field(_SPEC_RECIRC, _SPEC_RECIRC.get(key), recirc_mask)})")
    out.append(_fmt_attr_verbose("dp_hash", key, mask))
    in_port_mask = _SPEC_IN_PORT.get(mask)
    out.append(f"in_port({in_port_name})" if in_port_name is not None and in_port_mask == _SPEC_IN_PORT.full
               else f"in_port({_fmt_field(_SPEC_IN_PORT, _SPEC_IN_PORT.get(key), in_port_mask)})")
    pt = F.storage_get(key, "packet_type")
    out.append(_fmt_packet_type(pt, F.storage_get(mask, "packet_type")))
    closing = 0
    if pt == 0:
        out.append(_fmt_attr_verbose("eth", key, mask))
        for tci_slot, tpid_slot in (("vlan_tci", "_vlan_tpid"), ("_vlan2_tci", "_vlan2_tpid")):
            tci = F.storage_get(key, tci_slot)
            if not tci & 0x1000:
                break
            tpid = F.storage_get(key, tpid_slot) or 0x8100
            out.append(f"eth_type(0x{tpid:04x})")
            out.append(_fmt_vlan(tci, F.storage_get(mask, tci_slot), True))
            out.append("encap(")
            closing += 1
    type_mask = F.storage_get(mask, "dl_type")
    if dl_type < 0x600:
        if type_mask:
            out.append(_fmt_eth_type(dl_type, type_mask))
    else:
        out.append(_fmt_eth_type(dl_type, type_mask))
        l3 = None if dl_type in _VLAN_TPIDS else _L3.get(dl_type)
        if l3:
            out.append(_fmt_attr_verbose(l3, key, mask))
        if l3 in ("ipv4", "ipv6") and not F.storage_get(key, "nw_frag") & 2:
            proto = F.storage_get(key, "nw_proto")
            l4 = _L4_BY_PROTO.get(proto)
            if proto == 1 and l3 == "ipv4":
                l4 = "icmp"
            elif proto == 58 and l3 == "ipv6":
                l4 = "icmpv6"
            if l4:
                out.append(_fmt_attr_verbose(l4, key, mask))
            if l4 == "tcp" and (F.storage_get(key, "tcp_flags") or F.storage_get(mask, "tcp_flags")):
                out.append(_fmt_attr_verbose("tcp_flags", key, mask))
            if (l4 == "icmpv6" and F.storage_get(key, "tp_src") in (135, 136)
                    and not F.storage_get(key, "tp_dst")):
                nd_mask = mask if _nd_mask_exported(mask) else 0
                out.append(_fmt_attr_verbose("nd", key, nd_mask))
    text = ",".join(out)
    return text.replace("encap(,", "encap(") + ")" * closing


# Where each slot of the flow key lies in Open vSwitch 3.1's ``struct flow`` (include/openvswitch/flow.h,
# 64-bit x86): byte offset and size.  The structure is 84 64-bit words: the tunnel (words 0-42, its options
# from word 11), metadata (43), the 16 registers (44-51), skb_priority/pkt_mark (52), dp_hash/in_port (53),
# recirc_id/ct_state/ct_nw_proto/ct_zone (54), ct_mark/packet_type (55), ct_label (56-57, low half first),
# conj_id/actset_output (58), dl_dst/dl_src/dl_type (59-60), the two VLAN headers (61), the MPLS label stack
# (62-63), then from word 64 (the second miniflow map) nw_src/nw_dst (64), the conntrack IPv4 tuple (65), the
# four IPv6 addresses (66-73), ipv6_label/nw_frag/nw_tos/nw_ttl/nw_proto (74), nd_target (75-76),
# arp_sha/arp_tha/tcp_flags (77-78), NSH (79-81), the L4 ports and their conntrack twins (82) and the IGMP
# group (83).
_OVS_FLOW_LAYOUT: dict[str, tuple[int, int]] = {
    "tun_dst": (0, 4), "tun_ipv6_dst": (4, 16), "tun_src": (20, 4), "tun_ipv6_src": (24, 16),
    "tun_id": (40, 8), "tun_flags": (48, 2), "_tun_tos": (50, 1), "_tun_ttl": (51, 1),
    "_tun_tp_src": (52, 2), "_tun_tp_dst": (54, 2), "tun_gbp_id": (56, 2), "tun_gbp_flags": (58, 1),
    "_tun_metadata_present": (72, 8), "tun_metadata": (88, 256),
    "metadata": (344, 8), "regs": (352, 64), "skb_priority": (416, 4), "pkt_mark": (420, 4),
    "dp_hash": (424, 4), "in_port": (428, 4), "recirc_id": (432, 4), "ct_state": (436, 1),
    "ct_nw_proto": (437, 1), "ct_zone": (438, 2), "ct_mark": (440, 4), "packet_type": (444, 4),
    "ct_label": (448, 16), "conj_id": (464, 4), "actset_output": (468, 4),
    "dl_dst": (472, 6), "dl_src": (478, 6), "dl_type": (484, 2), "_vlan_tpid": (488, 2), "vlan_tci": (490, 2),
    "_vlan2_tpid": (492, 2), "_vlan2_tci": (494, 2), "mpls_lse": (496, 4), "_mpls_lse1": (500, 4),
    "_mpls_lse2": (504, 4),
    "nw_src": (512, 4), "nw_dst": (516, 4), "ct_nw_src": (520, 4), "ct_nw_dst": (524, 4),
    "ipv6_src": (528, 16), "ipv6_dst": (544, 16), "ct_ipv6_src": (560, 16), "ct_ipv6_dst": (576, 16),
    "ipv6_label": (592, 4), "nw_frag": (596, 1), "nw_tos": (597, 1), "nw_ttl": (598, 1), "nw_proto": (599, 1),
    "nd_target": (600, 16), "arp_sha": (616, 6), "arp_tha": (622, 6), "tcp_flags": (628, 2),
    "tp_src": (656, 2), "tp_dst": (658, 2), "ct_tp_src": (660, 2), "ct_tp_dst": (662, 2),
}


def miniflow_bits(mask: int) -> tuple[int, int]:
    """The ``miniflow_bits(U0,U1)`` of ``dpctl/dump-flows -m``: how many 64-bit words of Open vSwitch's
    ``struct flow`` the megaflow mask ``mask`` touches, in the first 64 words and in the rest.

    Fields wider than a word are split at the word boundaries byte by byte (network byte order, except
    ``ct_label`` whose low 64 bits come first).  The tunnel options are counted as their first word only:
    their layout is not modelled.

    Two rules of the userspace datapath change the mask it stores from the one it was given: ``in_port`` is
    left out (each port has its own classifier, so the word of ``dp_hash`` and ``in_port`` counts only when
    ``dp_hash`` is matched), and a mask that does not match the first VLAN header matches all of it (a flow
    without VLAN matches "no VLAN tag"), so the VLAN word always counts."""
    words: set[int] = {_OVS_FLOW_LAYOUT["vlan_tci"][0] // 8}
    for slot, (ofs, size) in _OVS_FLOW_LAYOUT.items():
        if slot == "in_port":
            continue
        m = F.storage_get(mask, slot)
        if not m:
            continue
        first, last = ofs // 8, (ofs + size - 1) // 8
        if first == last or slot == "tun_metadata":
            words.add(first)
            continue
        for i in range(size):
            shift = 8 * i if slot == "ct_label" else 8 * (size - 1 - i)
            if (m >> shift) & 0xFF:
                words.add((ofs + i) // 8)
    return sum(1 for w in words if w < 64), sum(1 for w in words if w >= 64)


# ------------------------------------------------------------------------------------------------------------
# Parsing flows.
def _split(text: str) -> list[str]:
    """``text`` split at the commas outside parentheses."""
    items: list[str] = []
    depth = 0
    start = 0
    for i, c in enumerate(text):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise OdpParseError(f"unbalanced parentheses in {text!r}")
        elif c == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    if depth:
        raise OdpParseError(f"unbalanced parentheses in {text!r}")
    last = text[start:].strip()
    if last or items:
        items.append(last)
    return items


def _call(item: str) -> tuple[str, str | None]:
    """``name(args)`` -> (name, args); a bare ``name`` -> (name, None)."""
    i = item.find("(")
    if i < 0:
        return item, None
    if not item.endswith(")"):
        raise OdpParseError(f"syntax error at {item!r}")
    return item[:i], item[i + 1:-1]


def _int(text: str) -> int:
    if text[:1] in ("-", "+"):
        raise OdpParseError(f"invalid number {text!r}")
    try:
        return int(text, 0) if not (len(text) > 1 and text[0] == "0" and text[1].isdigit()) else int(text, 8)
    except ValueError:
        raise OdpParseError(f"invalid number {text!r}") from None


def _parse_ipv4(text: str) -> int:
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        raise OdpParseError(f"invalid IPv4 address {text!r}")
    return int.from_bytes(bytes(int(p) for p in parts), "big")


def _parse_ipv6(text: str) -> int:
    import socket
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
    except OSError:
        raise OdpParseError(f"invalid IPv6 address {text!r}") from None


def _parse_flag_names(text: str, names: list[tuple[str, int]]) -> tuple[int, int | None]:
    """``+a-b`` -> (value, mask); ``a|b`` -> (value, None); a number -> (value, None); ``N/M`` -> (N, M)."""
    by_name = dict(names)
    if text and text[0] in "+-":
        value = mask = 0
        i = 0
        while i < len(text):
            sign = text[i]
            if sign not in "+-":
                raise OdpParseError(f"bad flags {text!r}")
            j = i + 1
            while j < len(text) and text[j] not in "+-":
                j += 1
            bit = by_name.get(text[i + 1:j])
            if bit is None:
                raise OdpParseError(f"unknown flag {text[i + 1:j]!r}")
            mask |= 1 << bit
            if sign == "+":
                value |= 1 << bit
            i = j
        return value, mask
    if not text or text[0].isdigit():
        # A number, possibly with a numeric mask (the verbose dump prints ``ct_state(0x21/0x21)``).
        vtext, slash, mtext = text.partition("/")
        return (_int(vtext) if vtext else 0), (_int(mtext) if slash else None)
    value = 0
    for n in text.split("|"):
        bit = by_name.get(n)
        if bit is None:
            raise OdpParseError(f"unknown flag {n!r}")
        value |= 1 << bit
    return value, None


def _parse_value(spec: _Spec, text: str) -> tuple[int, int | None]:
    """One field's ``value[/mask]`` -> (value, mask or None for exact)."""
    k = spec.kind
    if k == TUN_FLAGS:
        return _parse_flag_names(text, _TUN_FLAG_BITS)
    if k == CT_STATE:
        return _parse_flag_names(text, _CT_BITS)
    if k == TCP_FLAGS and not text[:1].isdigit():
        return _parse_flag_names(text, _TCP_BITS)
    vtext, _, mtext = text.partition("/")
    conv = {ETH: _mac, IP4: _parse_ipv4, IP6: _parse_ipv6}.get(k, _int)
    if k == FRAG:
        if vtext not in _FRAG_VALUES:
            raise OdpParseError(f"bad frag {vtext!r}")
        return _FRAG_VALUES[vtext], (None if not mtext or _int(mtext) == 0xFF else _int(mtext) & 3)
    v = conv(vtext)
    m = conv(mtext) if mtext else None
    if v >> spec.bits or (m is not None and m >> spec.bits):
        raise OdpParseError(f"value out of range in {spec.name}={text}")
    return v, m


def _mac(text: str) -> int:
    try:
        return parse_mac(text)
    except ValueError:
        raise OdpParseError(f"invalid Ethernet address {text!r}") from None


def _parse_fields(name: str, args: str) -> list[tuple[_Spec, int, int | None]]:
    specs = ATTRS[name]
    out = []
    if name in _SCALARS:
        v, m = _parse_value(specs[0], args)
        return [(specs[0], v, m)]
    by_name = {s.name: s for s in specs}
    if name == "ct_tuple6":
        # OVS prints the IPv6 tuple's ports as src_port/dst_port but also accepts ct_tuple4's spelling.
        by_name["tp_src"], by_name["tp_dst"] = by_name["src_port"], by_name["dst_port"]
    for item in _split(args):
        if not item:
            continue
        if name == "tunnel" and item.startswith("flags("):
            fname, ftext = "flags", item[6:-1]
        else:
            fname, eq, ftext = item.partition("=")
            if not eq:
                raise OdpParseError(f"{name}: expected field=value, got {item!r}")
        spec = by_name.get(fname)
        if spec is None:
            raise OdpParseError(f"{name}: unknown field {fname!r}")
        v, m = _parse_value(spec, ftext)
        out.append((spec, v, m))
    return out


def parse_flow(text: str, port_numbers: Mapping[str, int] | None = None) -> tuple[int, int]:
    """A datapath flow in ``dpctl`` syntax -> (key, mask).  Raises OdpParseError.

    ``port_numbers`` maps port names to datapath port numbers, for ``in_port(NAME)``."""
    key = mask = 0

    def parse_items(items: list[str], vlan_depth: int) -> None:
        nonlocal key, mask
        pending_tpid: int | None = None
        for item in items:
            name, args = _call(item)
            if args is None:
                raise OdpParseError(f"syntax error at {item!r}")
            seen.add(name)
            if name == "in_port" and port_numbers and args in port_numbers:
                args = str(port_numbers[args])
            if name == "encap":
                parse_items(_split(args), vlan_depth + 1)
                continue
            if name == "vlan":
                slot, tslot = ("vlan_tci", "_vlan_tpid") if vlan_depth == 0 else ("_vlan2_tci", "_vlan2_tpid")
                tci = tci_mask = 0x1000
                for f in _split(args):
                    fname, _, ftext = f.partition("=")
                    vt, _, mt = ftext.partition("/")
                    v = _int(vt)
                    if fname == "vid":
                        tci |= v & 0xFFF
                        tci_mask |= _int(mt) & 0xFFF if mt else 0xFFF
                    elif fname == "pcp":
                        tci |= (v & 7) << 13
                        tci_mask |= (_int(mt) & 7 if mt else 7) << 13
                    elif fname == "cfi":
                        tci = (tci & ~0x1000) | ((v & 1) << 12)
                    else:
                        raise OdpParseError(f"vlan: unknown field {fname!r}")
                key = F.storage_put(key, slot, tci)
                mask = F.storage_put(mask, slot, tci_mask)
                tpid = pending_tpid or 0x8100
                key = F.storage_put(key, tslot, tpid)
                mask = F.storage_put(mask, tslot, 0xFFFF)
                # The TPID was written as the eth_type: the real eth_type comes inside encap().
                key = F.storage_put(key, "dl_type", 0)
                mask = F.storage_put(mask, "dl_type", 0)
                continue
            if name == "packet_type":
                pt = ptm = 0
                for f in _split(args):
                    fname, _, ftext = f.partition("=")
                    vt, _, mt = ftext.partition("/")
                    shift = 16 if fname == "ns" else 0 if fname == "id" else -1
                    if shift < 0:
                        raise OdpParseError(f"packet_type: unknown field {fname!r}")
                    pt |= (_int(vt) & 0xFFFF) << shift
                    ptm |= (_int(mt) if mt else 0xFFFF) << shift
                key = F.storage_put(key, "packet_type", pt)
                mask = F.storage_put(mask, "packet_type", ptm)
                continue
            if name not in ATTRS:
                raise OdpParseError(f"unknown attribute {name!r}")
            if name == "tunnel":
                args = _take_geneve(args)
            for spec, v, m in _parse_fields(name, args):
                if m is None:
                    m = spec.full if spec.kind != FRAG else 3
                key = spec.put(key, v)
                mask = spec.put(mask, m | spec.get(mask))
            if name == "eth_type":
                pending_tpid = F.storage_get(key, "dl_type")

    def _take_geneve(args: str) -> str:
        """Apply the ``geneve(...)`` item of a tunnel attribute to the key and mask; return the other items."""
        nonlocal key, mask
        rest = []
        for item in _split(args):
            if item.startswith("geneve(") and item.endswith(")"):
                raw, raw_mask = _parse_geneve_match(item[7:-1])
                key = put_geneve_raw(key, raw, True)
                mask = F.storage_put(mask & ~GENEVE_RAW_MASK, "_tun_geneve", int.from_bytes(raw_mask, "big"))
                mask = F.storage_put(mask, "_tun_geneve_len", 0xFF if any(raw_mask) else 0)
            else:
                rest.append(item)
        return ",".join(rest)

    seen: set[str] = set()
    parse_items(_split(text), 0)
    if not seen & {"eth", "packet_type"}:
        key = F.storage_put(key, "packet_type", (1 << 16) | F.storage_get(key, "dl_type"))
    # The userspace datapath always matches recirc_id and in_port exactly.
    mask = _SPEC_RECIRC.put(mask, _SPEC_RECIRC.full)
    mask = _SPEC_IN_PORT.put(mask, _SPEC_IN_PORT.full)
    return key, mask


_SPEC_RECIRC = ATTRS["recirc_id"][0]
_SPEC_IN_PORT = ATTRS["in_port"][0]


# ------------------------------------------------------------------------------------------------------------
# Actions.
@dataclass(frozen=True, slots=True)
class Output:
    port: int


@dataclass(frozen=True, slots=True)
class PushVlan:
    vid: int
    pcp: int = 0
    cfi: int = 1
    tpid: int = 0x8100


@dataclass(frozen=True, slots=True)
class PopVlan:
    pass


@dataclass(frozen=True, slots=True)
class PushMpls:
    label: int
    tc: int = 0
    ttl: int = 64
    bos: int = 1
    ethertype: int = 0x8847


@dataclass(frozen=True, slots=True)
class PopMpls:
    ethertype: int


@dataclass(frozen=True, slots=True)
class SetField:
    """``set(kind(field=value[/mask],...))``: see the module doc.  ``values``/``masks`` are tuples of
    (field name, int) pairs so that the action stays hashable; ``SetField.of`` builds one from dicts."""

    kind: str
    values: tuple[tuple[str, int], ...]
    masks: tuple[tuple[str, int], ...] | None = None

    @staticmethod
    def of(kind: str, values: dict[str, int], masks: dict[str, int] | None = None) -> SetField:
        return SetField(kind, tuple(values.items()), None if masks is None else tuple(masks.items()))

    def value_dict(self) -> dict[str, int]:
        return dict(self.values)

    def mask_dict(self) -> dict[str, int] | None:
        return None if self.masks is None else dict(self.masks)


@dataclass(frozen=True, slots=True)
class Recirc:
    id: int


@dataclass(frozen=True, slots=True)
class Ct:
    """``ct(...)``.  ``mark``/``label`` are (value, mask); ``nat`` is None (no NAT) or the text inside
    ``nat(...)`` (empty for a bare ``nat``)."""

    commit: bool = False
    force_commit: bool = False
    zone: int | None = None
    mark: tuple[int, int] | None = None
    label: tuple[int, int] | None = None
    helper: str | None = None
    timeout: str | None = None
    nat: str | None = None


@dataclass(frozen=True, slots=True)
class CtClear:
    pass


@dataclass(frozen=True, slots=True)
class Userspace:
    """``userspace(pid=N,COOKIE[,actions][,tunnel_out_port=P])``: ``userdata`` is raw bytes (printed as
    ``userdata(hex)``) or a cookie's text (``slow_path(match)``, ``controller(...)``, ...), or None."""

    pid: int
    userdata: bytes | str | None = None
    actions: bool = False
    tunnel_out_port: int | None = None


@dataclass(frozen=True, slots=True)
class Clone:
    actions: tuple[Action, ...]


@dataclass(frozen=True, slots=True)
class Sample:
    """``probability`` is a fraction of 2**32 - 1, as the datapath stores it."""

    probability: int
    actions: tuple[Action, ...]


@dataclass(frozen=True, slots=True)
class Trunc:
    max_len: int


@dataclass(frozen=True, slots=True)
class Meter:
    id: int


@dataclass(frozen=True, slots=True)
class Hash:
    """``alg`` 0 is the L4 hash (``l4``), 1 the symmetric L4 hash (``sym_l4``)."""

    alg: int
    basis: int = 0


@dataclass(frozen=True, slots=True)
class CheckPktLen:
    size: int
    gt: tuple[Action, ...]
    le: tuple[Action, ...]


@dataclass(frozen=True, slots=True)
class TnlPop:
    port: int


@dataclass(frozen=True, slots=True)
class Drop:
    pass


Action = (Output | PushVlan | PopVlan | PushMpls | PopMpls | SetField | Recirc | Ct | CtClear | Userspace
          | Clone | Sample | Trunc | Meter | Hash | CheckPktLen | TnlPush | TnlPop | Drop)

_HASH_ALGS = {0: "l4", 1: "sym_l4"}
_U32_MAX = 0xFFFFFFFF


def _fmt_set(a: SetField) -> str:
    values = a.value_dict()
    masks = a.mask_dict()
    specs = ATTRS.get(a.kind)
    if specs is None:
        raise ValueError(f"unknown set kind {a.kind!r}")
    parts = []
    for spec in specs:
        if spec.name not in values:
            continue
        v = values[spec.name]
        m = None if masks is None else masks.get(spec.name, spec.full)
        if m is not None and m == spec.full:
            m = None
        if spec.kind == FRAG:
            text = {0: "no", 1: "first", 2: "later"}.get(v, str(v))
        elif spec.kind == TUN_FLAGS:
            text = f"flags({_fmt_field(spec, v, m)})"
        elif spec.kind == CT_STATE:
            text = f"{v:#x}" if m is None else f"{v:#x}/{m:#x}"
        else:
            text = _fmt_field(spec, v, m)
        if spec.name != "value" and spec.kind != TUN_FLAGS:
            text = f"{spec.name}={text}"
        parts.append(text)
    return f"set({a.kind}({','.join(parts)}))"


def _fmt_ct(a: Ct) -> str:
    parts = []
    if a.commit:
        parts.append("commit")
    if a.force_commit:
        parts.append("force_commit")
    if a.zone is not None:
        parts.append(f"zone={a.zone}")
    if a.mark is not None:
        parts.append(f"mark={a.mark[0]:#x}/{a.mark[1]:#x}")
    if a.label is not None:
        v, m = a.label
        parts.append(f"label={v:#x}" + ("" if m == (1 << 128) - 1 else f"/{m:#x}"))
    if a.helper is not None:
        parts.append(f"helper={a.helper}")
    if a.timeout is not None:
        parts.append(f"timeout={a.timeout}")
    if a.nat is not None:
        parts.append(f"nat({a.nat})" if a.nat else "nat")
    return f"ct({','.join(parts)})" if parts else "ct"


def _fmt_action(a: Action, names: Mapping[int, str] | None) -> str:
    if isinstance(a, Output):
        return names.get(a.port, str(a.port)) if names else str(a.port)
    if isinstance(a, PushVlan):
        tpid = "" if a.tpid == 0x8100 else f"tpid=0x{a.tpid:04x},"
        return f"push_vlan({tpid}vid={a.vid},pcp={a.pcp}" + ("" if a.cfi else ",cfi=0") + ")"
    if isinstance(a, PopVlan):
        return "pop_vlan"
    if isinstance(a, PushMpls):
        return f"push_mpls(label={a.label},tc={a.tc},ttl={a.ttl},bos={a.bos},eth_type={a.ethertype:#x})"
    if isinstance(a, PopMpls):
        return f"pop_mpls(eth_type={a.ethertype:#x})"
    if isinstance(a, SetField):
        return _fmt_set(a)
    if isinstance(a, Recirc):
        return f"recirc({a.id:#x})" if a.id else "recirc(0)"
    if isinstance(a, Ct):
        return _fmt_ct(a)
    if isinstance(a, CtClear):
        return "ct_clear"
    if isinstance(a, Userspace):
        s = f"userspace(pid={a.pid}"
        if isinstance(a.userdata, bytes):
            s += f",userdata({a.userdata.hex()})"
        elif a.userdata is not None:
            s += f",{a.userdata}"
        if a.actions:
            s += ",actions"
        if a.tunnel_out_port is not None:
            s += f",tunnel_out_port={a.tunnel_out_port}"
        return s + ")"
    if isinstance(a, Clone):
        return f"clone({format_actions(a.actions, names)})"
    if isinstance(a, Sample):
        inner = format_actions(a.actions, names)
        return f"sample(sample={a.probability / _U32_MAX * 100:.1f}%,actions({inner}))"
    if isinstance(a, Trunc):
        return f"trunc({a.max_len})"
    if isinstance(a, Meter):
        return f"meter({a.id})"
    if isinstance(a, Hash):
        return f"hash({_HASH_ALGS.get(a.alg, f'Unknown hash algorithm({a.alg})')}({a.basis}))"
    if isinstance(a, CheckPktLen):
        gt, le = format_actions(a.gt, names), format_actions(a.le, names)
        return f"check_pkt_len(size={a.size},gt({gt}),le({le}))"
    if isinstance(a, TnlPush):
        return _fmt_tnl_push(a, names)
    if isinstance(a, TnlPop):
        return f"tnl_pop({a.port})"
    if isinstance(a, Drop):
        return "drop"
    raise TypeError(f"not a datapath action: {a!r}")


def format_actions(actions: list[Action] | tuple[Action, ...],
                   port_names: Mapping[int, str] | None = None) -> str:
    """Datapath actions as ``dpctl/dump-flows`` and ``ofproto/trace`` print them (empty: ``drop``).

    ``port_names`` maps datapath port numbers to the names ``dpctl/dump-flows --names`` prints for outputs."""
    if not actions:
        return "drop"
    return ",".join(_fmt_action(a, port_names) for a in actions)


def _kv(args: str) -> dict[str, str]:
    out = {}
    for item in _split(args):
        k, eq, v = item.partition("=")
        if not eq:
            raise OdpParseError(f"expected key=value, got {item!r}")
        out[k] = v
    return out


def _need(kv: dict[str, str], name: str, item: str) -> str:
    if name not in kv:
        raise OdpParseError(f"{item!r}: missing {name}")
    return kv[name]


def _parse_set(args: str) -> SetField:
    kind, inner = _call(args)
    if inner is None or kind not in ATTRS:
        raise OdpParseError(f"bad set action {args!r}")
    values: dict[str, int] = {}
    masks: dict[str, int] = {}
    masked = False
    for spec, v, m in _parse_fields(kind, inner):
        if spec.kind == FRAG:
            v = {0: 0, 1: 1, 3: 2}[v]
        if spec.kind == CT_STATE and m is not None and not inner.startswith(("+", "-")):
            masked = True
        values[spec.name] = v
        if m is not None and spec.kind not in (TUN_FLAGS, CT_STATE):
            masked = True
        masks[spec.name] = spec.full if m is None else m
    if kind == "tunnel" and "tun_id" in values:
        # A tunnel key given means the tunnel header carries one: OVS sets the "key" flag.
        values["flags"] = values.get("flags", 0) | _TUN_F_KEY
        masks.setdefault("flags", 0xF)
    return SetField.of(kind, values, masks if masked else None)


def _parse_one(item: str, ports: Mapping[str, int] | None) -> Action:
    name, args = _call(item)
    if args is None:
        if name.isdigit():
            return Output(int(name))
        if ports and name in ports:
            return Output(ports[name])
        simple: dict[str, Action] = {"drop": Drop(), "pop_vlan": PopVlan(), "ct_clear": CtClear(), "ct": Ct()}
        if name in simple:
            return simple[name]
        raise OdpParseError(f"unknown action {item!r}")
    if name == "push_vlan":
        kv = _kv(args)
        return PushVlan(vid=_int(kv.get("vid", "0")), pcp=_int(kv.get("pcp", "0")),
                        cfi=_int(kv.get("cfi", "1")),
                        tpid=_int(kv.get("tpid", "0x8100")))
    if name == "push_mpls":
        kv = _kv(args)
        return PushMpls(*(_int(_need(kv, k, item)) for k in ("label", "tc", "ttl", "bos", "eth_type")))
    if name == "pop_mpls":
        return PopMpls(_int(_need(_kv(args), "eth_type", item)))
    if name == "set":
        return _parse_set(args)
    if name == "recirc":
        return Recirc(_int(args))
    if name == "ct":
        return _parse_ct(args)
    if name == "userspace":
        return _parse_userspace(args)
    if name == "clone":
        return Clone(tuple(parse_actions(args, ports)))
    if name == "sample":
        items = _split(args)
        if len(items) != 2 or not items[0].startswith("sample=") or not items[0].endswith("%"):
            raise OdpParseError(f"bad sample action {item!r}")
        try:
            pct = float(items[0][7:-1])
        except ValueError:
            raise OdpParseError(f"bad sample probability in {item!r}") from None
        if not 0 <= pct <= 100:
            raise OdpParseError(f"sample probability out of range in {item!r}")
        inner = _call(items[1])
        if inner[0] != "actions" or inner[1] is None:
            raise OdpParseError(f"bad sample action {item!r}")
        return Sample(round(pct / 100 * _U32_MAX), tuple(parse_actions(inner[1], ports)))
    if name == "trunc":
        return Trunc(_int(args))
    if name == "meter":
        return Meter(_int(args))
    if name == "hash":
        alg, basis = _call(args)
        algs = {v: k for k, v in _HASH_ALGS.items()}
        if alg not in algs or basis is None:
            raise OdpParseError(f"bad hash action {item!r}")
        return Hash(algs[alg], _int(basis))
    if name == "check_pkt_len":
        items = _split(args)
        if len(items) != 3 or not items[0].startswith("size="):
            raise OdpParseError(f"bad check_pkt_len action {item!r}")
        gt, le = _call(items[1]), _call(items[2])
        if gt[0] != "gt" or le[0] != "le" or gt[1] is None or le[1] is None:
            raise OdpParseError(f"bad check_pkt_len action {item!r}")
        return CheckPktLen(_int(items[0][5:]), tuple(parse_actions(gt[1], ports)),
                           tuple(parse_actions(le[1], ports)))
    if name == "tnl_push":
        return _parse_tnl_push(args, ports)
    if name == "tnl_pop":
        return TnlPop(_int(args))
    raise OdpParseError(f"unknown action {item!r}")


# ------------------------------------------------------------------------------------------------------------
# tnl_push: the outer header printed field by field, and parsed back into its bytes.
def _port_text(port: int, names: Mapping[int, str] | None) -> str:
    return names.get(port, str(port)) if names else str(port)


def _hex_bytes(data: bytes) -> str:
    """Bytes as one hexadecimal number without leading zero bytes (``0x1`` for 00 00 00 01, ``0`` for zeros),
    as Open vSwitch prints option data."""
    stripped = data.lstrip(b"\0")
    if not stripped:
        return "0"
    return "0x" + f"{stripped[0]:x}" + stripped[1:].hex()


def _hx(v: int) -> str:
    """C's ``%#x``: ``0`` for zero, else ``0x...``."""
    return f"{v:#x}" if v else "0"


def _fmt_geneve_opts(raw: bytes, mask: bytes | None = None, verbose: bool = True) -> str:
    """Geneve option TLVs as ``{class=..,type=..,len=..,DATA}`` groups.  With ``mask`` (a flow's), each field
    gets ``/mask`` unless exact, and without ``verbose`` a field whose mask is zero is left out."""
    out = []
    off = 0
    while off + 4 <= len(raw):
        cls, typ, ln = struct.unpack_from("!HBB", raw, off)
        dlen = (ln & 0x1F) * 4
        data = raw[off + 4:off + 4 + dlen]
        parts = []
        if mask is not None:
            mcls, mtyp, mln = struct.unpack_from("!HBB", mask, off)
            mdata = mask[off + 4:off + 4 + dlen]
            mlen = 0xFF if mln & 0x1F == 0x1F else mln & 0x1F
            for name, v, m, full, text in (("class", cls, mcls, 0xFFFF, _hx), ("type", typ, mtyp, 0xFF, _hx),
                                           ("len", dlen, mlen, 0xFF, str)):
                if not verbose and not m:
                    continue
                parts.append(f"{name}={text(v)}" + ("" if m == full else f"/{text(m)}"))
            if dlen and (verbose or any(mdata)):
                parts.append(_hex_bytes(data) + ("" if mdata == b"\xff" * dlen else f"/{_hex_bytes(mdata)}"))
        else:
            parts = [f"class={_hx(cls)}", f"type={_hx(typ)}", f"len={dlen}"]
            if dlen:
                parts.append(_hex_bytes(data))
        out.append("{" + ",".join(parts) + "}")
        off += 4 + dlen
    return "".join(out)


def _fmt_tnl_header(h: bytes, tnl_type: int) -> str:
    out = [(f"header(size={len(h)},type={tnl_type},eth(dst={format_mac(int.from_bytes(h[0:6], 'big'))},"
            f"src={format_mac(int.from_bytes(h[6:12], 'big'))},dl_type=0x{h[12] << 8 | h[13]:04x}),")]
    if h[12:14] == b"\x08\x00":
        tos, frag, ttl, proto = h[15], h[20] << 8 | h[21], h[22], h[23]
        out.append(f"ipv4(src={_fmt_ip4(h[26:30])},dst={_fmt_ip4(h[30:34])},proto={proto},tos={_hx(tos)},"
                   f"ttl={ttl},frag=0x{frag:x}),")
        l4 = 14 + (h[14] & 0xF) * 4
    else:
        vtcfl = int.from_bytes(h[14:18], "big")
        out.append(f"ipv6(src={format_ipv6(int.from_bytes(h[22:38], 'big'))},"
                   f"dst={format_ipv6(int.from_bytes(h[38:54], 'big'))},label={vtcfl & 0xFFFFF},proto={h[20]},"
                   f"tclass=0x{(vtcfl >> 20) & 0xFF:x},hlimit={h[21]}),")
        l4 = 54
    name = TNL_TYPE_NAMES.get(tnl_type)
    if name in ("vxlan", "geneve"):
        sport, dport, _, csum = struct.unpack_from("!HHHH", h, l4)
        out.append(f"udp(src={sport},dst={dport},csum=0x{csum:x}),")
        t = l4 + 8
        if name == "vxlan":
            vflags, vni = struct.unpack_from("!II", h, t)
            out.append(f"vxlan(flags=0x{vflags:x},vni=0x{vni >> 8:x})")
        else:
            optlen, gflags = h[t] & 0x3F, h[t + 1]
            vni = int.from_bytes(h[t + 4:t + 7], "big")
            text = "geneve(" + ("oam," if gflags & 0x80 else "") + ("crit," if gflags & 0x40 else "")
            text += f"vni=0x{vni:x}"
            if optlen:
                text += f",options({_fmt_geneve_opts(h[t + 8:t + 8 + optlen * 4])})"
            out.append(text + ")")
    elif name == "gre":
        gflags, proto = struct.unpack_from("!HH", h, l4)
        text = f"gre((flags=0x{gflags:x},proto=0x{proto:x})"
        o = l4 + 4
        if gflags & 0x8000:
            text += f",csum=0x{int.from_bytes(h[o:o + 2], 'big'):x}"
            o += 4
        if gflags & 0x2000:
            text += f",key=0x{int.from_bytes(h[o:o + 4], 'big'):x}"
            o += 4
        if gflags & 0x1000:
            text += f",seq=0x{int.from_bytes(h[o:o + 4], 'big'):x}"
        out.append(text + ")")
    return "".join(out) + ")"


def _fmt_ip4(b: bytes) -> str:
    return ".".join(str(x) for x in b)


def _fmt_tnl_push(a: TnlPush, names: Mapping[int, str] | None) -> str:
    return (f"tnl_push(tnl_port({_port_text(a.tnl_port, names)}),{_fmt_tnl_header(a.header, a.tnl_type)},"
            f"out_port({_port_text(a.out_port, names)}))")


def _port_arg(text: str, ports: Mapping[str, int] | None) -> int:
    if ports and text in ports:
        return ports[text]
    return _int(text)


def _parse_tnl_push(args: str, ports: Mapping[str, int] | None) -> TnlPush:
    items = _split(args)
    parsed: dict[str, str] = {}
    for item in items:
        name, inner = _call(item)
        if inner is None or name not in ("tnl_port", "header", "out_port") or name in parsed:
            raise OdpParseError(f"bad tnl_push argument {item!r}")
        parsed[name] = inner
    if set(parsed) != {"tnl_port", "header", "out_port"}:
        raise OdpParseError(f"tnl_push needs tnl_port, header and out_port: {args!r}")
    header, tnl_type = _parse_tnl_header(parsed["header"])
    return TnlPush(_port_arg(parsed["tnl_port"], ports), header, tnl_type, _port_arg(parsed["out_port"], ports))


def _fields_of(item: str, expect: str, names: tuple[str, ...]) -> dict[str, str]:
    name, inner = _call(item)
    if name != expect or inner is None:
        raise OdpParseError(f"expected {expect}(...), got {item!r}")
    kv = _kv(inner)
    if tuple(kv) != names:
        raise OdpParseError(f"{expect}: expected fields {','.join(names)}, got {item!r}")
    return kv


def _bounded(text: str, bits: int) -> int:
    v = _int(text)
    if v >> bits:
        raise OdpParseError(f"value {text} out of range")
    return v


def _parse_geneve_opts(text: str) -> bytes:
    """``{class=..,type=..,len=..,DATA}...`` of a ``tnl_push`` header -> the option TLVs' bytes: the flow
    parser's options, with every option naming its class, type and length and nothing masked."""
    if "/" in text:
        raise OdpParseError(f"bad Geneve options {text!r}: a header has no masks")
    for body in re.findall(r"\{([^}]*)\}", text):
        if not all(re.search(rf"(^|,)\s*{k}=", body) for k in ("class", "type", "len")):
            raise OdpParseError(f"bad Geneve option {{{body}}}")
    return _parse_geneve_match(text)[0]


def _masked(text: str, bits: int) -> tuple[int, int]:
    vt, slash, mt = text.partition("/")
    v = _bounded(vt, bits)
    return v, (_bounded(mt, bits) if slash else (1 << bits) - 1)


def _parse_geneve_match(text: str) -> tuple[bytes, bytes]:
    """The options of a flow's ``geneve(...)`` -> (option bytes, mask bytes).  ``{}`` (an option the flow does
    not match, as the short dump prints it) becomes an empty option with a zero mask."""
    raw = b""
    mask = b""
    rest = text.strip()
    while rest:
        if not rest.startswith("{") or "}" not in rest:
            raise OdpParseError(f"bad Geneve options {text!r}")
        body, rest = rest[1:rest.index("}")], rest[rest.index("}") + 1:].lstrip(",")
        cls = typ = ln = 0
        mcls = mtyp = mln = 0
        data_text = None
        for p in _split(body) if body else []:
            k, eq, v = p.partition("=")
            if not eq:
                data_text = p
            elif k == "class":
                cls, mcls = _masked(v, 16)
            elif k == "type":
                typ, mtyp = _masked(v, 8)
            elif k == "len":
                vt, slash, mt = v.partition("/")
                ln = _int(vt)
                mln = 0x1F if not slash or _int(mt) == 0xFF else _bounded(mt, 5)
            else:
                raise OdpParseError(f"bad Geneve option field {p!r}")
        if ln % 4 or ln > 124:
            raise OdpParseError(f"bad Geneve option length {ln}")
        data = mdata = bytes(ln)
        if data_text is not None:
            vt, slash, mt = data_text.partition("/")
            dv = _int(vt)
            dm = _int(mt) if slash else (1 << (8 * ln)) - 1
            if dv >> (8 * ln) or dm >> (8 * ln):
                raise OdpParseError(f"Geneve option data longer than {ln} bytes")
            data, mdata = dv.to_bytes(ln, "big"), dm.to_bytes(ln, "big")
        raw += struct.pack("!HBB", cls, typ, ln // 4) + data
        mask += struct.pack("!HBB", mcls, mtyp, mln) + mdata
    if len(raw) > 252:
        raise OdpParseError("Geneve options longer than 252 bytes")
    return raw, mask


def _parse_tnl_header(text: str) -> tuple[bytes, int]:
    items = _split(text)
    if len(items) < 5:
        raise OdpParseError(f"bad tnl_push header {text!r}")
    size_item, type_item = items[0], items[1]
    if not size_item.startswith("size=") or not type_item.startswith("type="):
        raise OdpParseError(f"tnl_push header needs size= and type=: {text!r}")
    size, tnl_type = _int(size_item[5:]), _int(type_item[5:])
    name = TNL_TYPE_NAMES.get(tnl_type)
    if name is None:
        raise OdpParseError(f"unknown tunnel type {tnl_type}")
    eth = _fields_of(items[2], "eth", ("dst", "src", "dl_type"))
    dl_type = _bounded(eth["dl_type"], 16)
    h = _mac(eth["dst"]).to_bytes(6, "big") + _mac(eth["src"]).to_bytes(6, "big") + dl_type.to_bytes(2, "big")
    if dl_type == 0x0800:
        ip = _fields_of(items[3], "ipv4", ("src", "dst", "proto", "tos", "ttl", "frag"))
        proto = _bounded(ip["proto"], 8)
        h += struct.pack("!BBHHHBBH", 0x45, _bounded(ip["tos"], 8), 0, 0, _bounded(ip["frag"], 16),
                         _bounded(ip["ttl"], 8), proto, 0)
        h += _parse_ipv4(ip["src"]).to_bytes(4, "big") + _parse_ipv4(ip["dst"]).to_bytes(4, "big")
    elif dl_type == 0x86DD:
        ip = _fields_of(items[3], "ipv6", ("src", "dst", "label", "proto", "tclass", "hlimit"))
        proto = _bounded(ip["proto"], 8)
        vtcfl = (6 << 28) | (_bounded(ip["tclass"], 8) << 20) | _bounded(ip["label"], 20)
        h += struct.pack("!IHBB", vtcfl, 0, proto, _bounded(ip["hlimit"], 8))
        h += _parse_ipv6(ip["src"]).to_bytes(16, "big") + _parse_ipv6(ip["dst"]).to_bytes(16, "big")
    else:
        raise OdpParseError(f"tnl_push header with dl_type 0x{dl_type:04x}")
    rest = items[4:]
    if name in ("vxlan", "geneve"):
        if len(rest) != 2:
            raise OdpParseError(f"bad {name} tnl_push header {text!r}")
        udp = _fields_of(rest[0], "udp", ("src", "dst", "csum"))
        h += struct.pack("!HHHH", _bounded(udp["src"], 16), _bounded(udp["dst"], 16), 0,
                         _bounded(udp["csum"], 16))
        tname, inner = _call(rest[1])
        if tname != name or inner is None:
            raise OdpParseError(f"expected {name}(...), got {rest[1]!r}")
        if name == "vxlan":
            kv = _kv(inner)
            if tuple(kv) != ("flags", "vni"):
                raise OdpParseError(f"bad vxlan header {rest[1]!r}")
            h += struct.pack("!II", _bounded(kv["flags"], 32), _bounded(kv["vni"], 24) << 8)
        else:
            gflags = 0
            vni: int | None = None
            opts = b""
            for part in _split(inner):
                if part == "oam" and vni is None:
                    gflags |= 0x80
                elif part == "crit" and vni is None:
                    gflags |= 0x40
                elif part.startswith("vni=") and vni is None:
                    vni = _bounded(part[4:], 24)
                elif part.startswith("options(") and part.endswith(")") and vni is not None and not opts:
                    opts = _parse_geneve_opts(part[8:-1])
                else:
                    raise OdpParseError(f"bad geneve header {rest[1]!r}")
            if vni is None:
                raise OdpParseError(f"geneve header without vni: {rest[1]!r}")
            h += struct.pack("!BBHI", len(opts) // 4, gflags, 0x6558, vni << 8) + opts
    else:
        if len(rest) != 1:
            raise OdpParseError(f"bad gre tnl_push header {text!r}")
        gname, inner = _call(rest[0])
        if gname != "gre" or inner is None:
            raise OdpParseError(f"expected gre(...), got {rest[0]!r}")
        gparts = _split(inner)
        if not gparts or not gparts[0].startswith("(") or not gparts[0].endswith(")"):
            raise OdpParseError(f"bad gre header {rest[0]!r}")
        base = _kv(gparts[0][1:-1])
        if tuple(base) != ("flags", "proto"):
            raise OdpParseError(f"bad gre header {rest[0]!r}")
        gflags, gproto = _bounded(base["flags"], 16), _bounded(base["proto"], 16)
        opt = dict(_kv(",".join(gparts[1:]))) if len(gparts) > 1 else {}
        want = [n for n, bit in (("csum", 0x8000), ("key", 0x2000), ("seq", 0x1000)) if gflags & bit]
        if list(opt) != want:
            raise OdpParseError(f"gre fields do not follow its flags: {rest[0]!r}")
        h += struct.pack("!HH", gflags, gproto)
        if "csum" in opt:
            h += struct.pack("!HH", _bounded(opt["csum"], 16), 0)
        for n in ("key", "seq"):
            if n in opt:
                h += _bounded(opt[n], 32).to_bytes(4, "big")
    if len(h) != size:
        raise OdpParseError(f"tnl_push header size={size} but its fields make {len(h)} bytes")
    return h, tnl_type


def _parse_ct(args: str) -> Ct:
    kw: dict[str, object] = {}
    for item in _split(args):
        if item in ("commit", "force_commit"):
            kw[item] = True
        elif item == "nat":
            kw["nat"] = ""
        elif item.startswith("nat("):
            kw["nat"] = item[4:-1]
        else:
            k, eq, v = item.partition("=")
            if not eq:
                raise OdpParseError(f"bad ct argument {item!r}")
            if k == "zone":
                kw["zone"] = _int(v)
            elif k in ("mark", "label"):
                vt, _, mt = v.partition("/")
                full = _U32_MAX if k == "mark" else (1 << 128) - 1
                kw[k] = (_int(vt), _int(mt) if mt else full)
            elif k in ("helper", "timeout"):
                kw[k] = v
            else:
                raise OdpParseError(f"bad ct argument {item!r}")
    return Ct(**kw)  # type: ignore[arg-type]


def _parse_userspace(args: str) -> Userspace:
    pid: int | None = None
    userdata: bytes | str | None = None
    actions = False
    tunnel_out_port = None
    for item in _split(args):
        if item.startswith("pid="):
            pid = _int(item[4:])
        elif item == "actions":
            actions = True
        elif item.startswith("tunnel_out_port="):
            tunnel_out_port = _int(item[16:])
        elif item.startswith("userdata("):
            try:
                data = bytes.fromhex(item[9:-1])
            except ValueError:
                raise OdpParseError(f"bad userdata {item!r}") from None
            userdata = data + bytes(max(0, 8 - len(data)))
        elif item.startswith("slow_path("):
            reasons = item[10:-1]
            userdata = f"slow_path({reasons or '0'})"
        else:
            userdata = item
    if pid is None:
        raise OdpParseError("userspace action needs pid=")
    return Userspace(pid, userdata, actions, tunnel_out_port)


def parse_actions(text: str, port_numbers: Mapping[str, int] | None = None) -> list[Action]:
    """Datapath actions in ``dpctl``/``ofproto/trace`` syntax -> the action list (``drop`` alone: []).

    ``port_numbers`` maps port names to datapath port numbers, for outputs written by name.  Raises
    OdpParseError."""
    items = _split(text.strip())
    if not items or items == ["drop"]:
        return []
    return [_parse_one(i, port_numbers) for i in items]


# ------------------------------------------------------------------------------------------------------------
# A whole dump-flows line.
def format_tcp_flags_short(flags: int) -> str:
    """TCP flags as the ``flags:`` item of dump-flows writes them: ``S``, ``F``, ``P``, ``R``, ``U``, ``.``
    (ACK), ``E``, ``C``, ``N``, and reserved bits as ``[200]``, ``[400]``, ``[800]`` (the flow caches' printer)."""
    return format_tcp_flags(flags) if flags else ""


def format_dp_flow_line(key: int, mask: int, packets: int, nbytes: int, used_seconds_ago: float | None,
                        tcp_flags: int, actions: list[Action] | tuple[Action, ...],
                        port_names: Mapping[int, str] | None = None, *, verbose: bool = False,
                        ufid: str | None = None) -> str:
    """One line of ``ovs-appctl dpctl/dump-flows``: match, statistics, then actions.

    ``used_seconds_ago`` is None for a flow that never matched a packet (``used:never``); ``flags:`` is
    printed only when some TCP flag was seen.  With ``port_names`` (datapath port number -> name) the input
    port and the outputs are printed by name, as ``dpctl/dump-flows --names`` does.

    ``verbose`` gives the ``-m`` line of the userspace datapath: ``ufid:UUID, `` first (``ufid`` is the UUID
    text), the match by :func:`format_flow_verbose` (``key`` must then be the unmasked key of the packet that
    created the flow), ``dp:ovs`` after the statistics and ``dp-extra-info:miniflow_bits(U0,U1)`` after the
    actions (:func:`miniflow_bits`)."""
    used = "never" if used_seconds_ago is None else f"{used_seconds_ago:.3f}s"
    in_port = F.storage_get(key, "in_port")
    in_port_name = port_names.get(in_port) if port_names else None
    match = format_flow_verbose(key, mask, in_port_name) if verbose else format_flow(key, mask, in_port_name)
    line = f"{match}, packets:{packets}, bytes:{nbytes}, used:{used}, "
    if verbose and ufid is not None:
        line = f"ufid:{ufid}, {line}"
    if tcp_flags:
        line += f"flags:{format_tcp_flags_short(tcp_flags)}, "
    if verbose:
        line += "dp:ovs, "
    line += "actions:" + format_actions(actions, port_names)
    if verbose:
        u0, u1 = miniflow_bits(mask)
        line += f", dp-extra-info:miniflow_bits({u0},{u1})"
    return line

