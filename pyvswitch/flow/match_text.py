"""Matches in ovs-ofctl text: parsing the match part of a flow, printing a match and normalizing it.

This module gives a ``Match`` (``pyvswitch.flow.match``) the text form of Open vSwitch, field for field:

* ``parse_match(text)`` reads ``k=v`` items and bare keywords (``tcp``, ``ipv6`` ...) exactly as
  ``ovs-ofctl`` does (section "Flow Syntax" of ovs-ofctl(8), fields of ovs-fields(7)), including the special
  cases users rely on: ``dl_vlan=0xffff`` ("no VLAN"), ``vlan_vid``/``dl_vlan_pcp`` setting the VLAN present bit,
  ``in_port_oxm``, ``nw_tos`` keeping only DSCP bits, ``ip_frag`` names, flag syntax for ``tcp_flags``,
  ``ct_state`` and ``tun_flags``, ``tun_metadataN`` values of any length, ``packet_type``, subfield keys
  (``reg0[0..3]=5``), and the set of OpenFlow protocol variants able to express each field ("usable protocols").
* ``format_match(match, priority)`` prints as ``ovs-ofctl`` prints (OVS ``match_format``): fixed field order,
  protocol shorthands, per-field number formats, registers as ``regN`` whatever spelling set them.
* ``normalize(match)`` drops what OVS's ``ofputil_normalize_match`` drops (fields whose layer the match does not
  establish) and ``normalization_log(before, after)`` gives the three ``ofp_match|INFO`` lines OVS logs.
* ``Flow``, ``prereqs_ok``, ``is_value_valid`` and ``is_all_wild`` are the checks Open vSwitch's match decoders
  apply field by field; the OpenFlow codec (``pyvswitch.openflow``, which encodes and decodes matches on the
  wire) uses them, so that parsing text and decoding the wire agree by construction.

Representation
--------------
Values follow OVS's ``struct flow``, slot by slot (see ``fields.STORAGE``): a setter writes what OVS's
``match_set_*`` writes, bits beyond a field's documented width included (``ipv6_label=0x1fffff`` keeps bit 20,
which the NXM decoder then rejects, as OVS's does).  ``ct_state`` uses the low 8 bits of its slot (OVS keeps an
8-bit state).  ``packet_type`` exact 0 is Ethernet, which OVS infers whenever a field other than metadata is
matched; it is invisible in the text.  Tunnel metadata options are stored right-aligned in their slot with a
"present" bit in the hidden ``_tun_metadata_present`` slot; their length and "masked" flag, which OVS keeps in a
side allocation table, travel in ``TunMetadata`` (``ParsedMatch.tun_md``).  Without it, the length is derived from
the mask (``TunMetadata.derive``).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field

from pyvswitch.flow import fields as F
from pyvswitch.flow import values as V
from pyvswitch.flow.fields import Field, Prereq, Support
from pyvswitch.flow.match import Match
from pyvswitch.flow.match import prereqs_ok as match_prereqs_ok
from pyvswitch.flow.protocols import Proto
from pyvswitch.util import vlog

__all__ = [
    "OVS_UNKNOWN_NAMES",
    "PROTOCOL_SHORTHANDS",
    "Flow",
    "MatchBuilder",
    "MatchParseError",
    "ParsedMatch",
    "TunMetadata",
    "field_get",
    "finish_parse",
    "format_match",
    "is_all_wild",
    "is_value_valid",
    "normalization_log",
    "normalize",
    "parse_match",
    "parse_match_item",
    "prereqs_ok",
    "split_key_values",
    "usable_for",
]

_log = vlog.Vlog("ofp_match")
_rl_normalize = vlog.RateLimit(1, 5)


class MatchParseError(ValueError):
    """A match that does not parse; ``str()`` is ovs-ofctl's message."""


# Names in our field table that Open vSwitch 3.1 does not accept as match keys (they are OXM spellings).
OVS_UNKNOWN_NAMES = frozenset({"ipv6_flabel", "icmpv4_type", "icmpv4_code"})

# ---------------------------------------------------------------------------------------------------------------
# Storage helpers.

_ST = F.STORAGE


def _smask(name: str) -> int:
    ofs, bits = _ST[name]
    return ((1 << bits) - 1) << ofs


def _sget(x: int, name: str) -> int:
    ofs, bits = _ST[name]
    return (x >> ofs) & ((1 << bits) - 1)


def _sput(x: int, name: str, v: int) -> int:
    ofs, bits = _ST[name]
    m = ((1 << bits) - 1) << ofs
    return (x & ~m) | ((v << ofs) & m)


_B = F.BY_NAME
_PT_ETH = 0
_TUN_MD_SLOT_BYTES = F.TUN_METADATA_BITS // 8
TUN_METADATA_TOT_OPT_SIZE = 256

VLAN_VID_MASK = 0x0FFF
VLAN_CFI = 0x1000
VLAN_PCP_MASK = 0xE000
OFP10_VLAN_NONE = 0xFFFF

ETH_TYPE_IP = 0x0800
ETH_TYPE_ARP = 0x0806
ETH_TYPE_RARP = 0x8035
ETH_TYPE_IPV6 = 0x86DD
ETH_TYPE_MPLS = 0x8847
ETH_TYPE_MPLS_MCAST = 0x8848
IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58
IPPROTO_SCTP = 132
ND_NEIGHBOR_SOLICIT = 135
ND_NEIGHBOR_ADVERT = 136


# ovs-ofctl's protocol keywords: name -> (dl_type, nw_proto or 0).
PROTOCOL_SHORTHANDS: dict[str, tuple[int, int]] = {
    "ip": (ETH_TYPE_IP, 0), "ipv4": (ETH_TYPE_IP, 0), "ip4": (ETH_TYPE_IP, 0), "arp": (ETH_TYPE_ARP, 0),
    "icmp": (ETH_TYPE_IP, IPPROTO_ICMP), "tcp": (ETH_TYPE_IP, IPPROTO_TCP), "udp": (ETH_TYPE_IP, IPPROTO_UDP),
    "sctp": (ETH_TYPE_IP, IPPROTO_SCTP), "ipv6": (ETH_TYPE_IPV6, 0), "ip6": (ETH_TYPE_IPV6, 0),
    "icmp6": (ETH_TYPE_IPV6, IPPROTO_ICMPV6), "tcp6": (ETH_TYPE_IPV6, IPPROTO_TCP),
    "udp6": (ETH_TYPE_IPV6, IPPROTO_UDP), "sctp6": (ETH_TYPE_IPV6, IPPROTO_SCTP), "rarp": (ETH_TYPE_RARP, 0),
    "mpls": (ETH_TYPE_MPLS, 0), "mplsm": (ETH_TYPE_MPLS_MCAST, 0),
}


# ---------------------------------------------------------------------------------------------------------------
# Tunnel metadata side table.

@dataclass
class TunMetadata:
    """OVS's per-match allocation of tunnel-metadata options when no TLV map is installed: for each option index,
    its length in bytes and whether it was given with a mask."""

    entries: dict[int, tuple[int, bool]] = dc_field(default_factory=dict)
    alloc: int = 0

    def copy(self) -> TunMetadata:
        return TunMetadata(dict(self.entries), self.alloc)

    @staticmethod
    def derive(m: Match) -> TunMetadata:
        """A best guess from the match alone: the length is the mask's byte length."""
        md = TunMetadata()
        present = _sget(m.mask, "_tun_metadata_present")
        for i in range(64):
            if present >> i & 1:
                f = _TUN_MD[i]
                mask = (m.mask >> f.ofs) & f.value_mask
                n = (mask.bit_length() + 7) // 8
                md.entries[i] = (n, mask == 0 or mask != (1 << (8 * n)) - 1)
        return md


_TUN_MD = [_B[f"tun_metadata{i}"] for i in range(64)]
_TUN_MD_INDEX = {f.name: i for i, f in enumerate(_TUN_MD)}


def _byte_len(v: int) -> int:
    return (v.bit_length() + 7) // 8


# ---------------------------------------------------------------------------------------------------------------
# Usable protocols of each field (OVS's usable_protocols_exact / _cidr / _bitwise).

_OF10 = Proto.OF10_STD_ANY
_NXM_OXM = Proto.NXM_OXM_ANY


def _usable_sets(f: Field) -> tuple[Proto, Proto, Proto]:
    if f.name == "skb_priority":
        return Proto.NONE, Proto.NONE, Proto.NONE
    exact = _NXM_OXM
    cidr = _NXM_OXM
    bitwise = _NXM_OXM
    if f.of10 is not Support.NO:
        exact |= _OF10
    if f.of10 in (Support.CIDR, Support.YES):
        cidr |= _OF10
    if f.of10 is Support.YES:
        bitwise |= _OF10
    if f.of11 is not Support.NO:
        exact |= Proto.OF11_STD
    if f.of11 in (Support.CIDR, Support.YES):
        cidr |= Proto.OF11_STD
    if f.of11 is Support.YES:
        bitwise |= Proto.OF11_STD
    return exact, cidr, bitwise


_USABLE = {f.name: _usable_sets(f) for f in F.FIELDS}


def usable_for(f: Field, mask: int) -> Proto:
    """The protocols able to match ``f`` with ``mask`` (wire width): exact, prefix, or arbitrary bits."""
    full = (1 << (8 * f.nbytes)) - 1
    exact, cidr, bitwise = _USABLE[f.name]
    if mask == full:
        return exact
    if mask == 0 and not f.name.startswith("tun_metadata"):
        return Proto.ANY
    if not f.maskable:
        return Proto.NONE
    if bitwise == cidr:
        return cidr
    m32 = mask >> (8 * f.nbytes - 32) if f.nbytes >= 4 else mask
    return cidr if V.is_cidr(m32 & 0xFFFFFFFF, 32) else bitwise


# ---------------------------------------------------------------------------------------------------------------
# Field access with OVS's semantics (mf_get_value / mf_set / mf_set_wild).

def field_get(f: Field, x: int) -> int:
    """OVS ``mf_get_value``: field ``f`` of a key, value or mask int ``x``, in the field's wire width."""
    n = f.name
    if n in ("in_port_oxm", "actset_output"):
        return V.port_to_ofp11(_sget(x, f.storage) & 0xFFFF)
    if n == "vlan_vid":
        return _sget(x, "vlan_tci") & (VLAN_VID_MASK | VLAN_CFI)
    if n == "ipv6_label":
        return _sget(x, "ipv6_label")
    if n == "tcp_flags":
        return _sget(x, "tcp_flags")
    if n == "ct_state":
        return _sget(x, "ct_state") & 0xFF
    if n in ("icmp_type", "icmpv6_type"):
        return _sget(x, "tp_src") & 0xFF
    if n in ("icmp_code", "icmpv6_code"):
        return _sget(x, "tp_dst") & 0xFF
    if n == "tun_flags":
        return _sget(x, "tun_flags") & V.TUN_FLAGS_ALLOWED
    return (x >> f.ofs) & f.value_mask


@dataclass
class MatchBuilder:
    """A match under construction: plain ints for OVS's ``flow`` and ``wc.masks``, plus the tunnel metadata table.
    ``usable`` accumulates the protocols able to express what was set."""

    value: int = 0
    mask: int = 0
    tun_md: TunMetadata = dc_field(default_factory=TunMetadata)
    usable: Proto = Proto.ANY

    def match(self) -> Match:
        return Match(self.value & self.mask, self.mask)

    # -- slot-level primitives --------------------------------------------------------------------------------
    def _set_bits(self, keymask: int, v: int, m: int) -> None:
        """Replace the bits in ``keymask``: value bits ``v``, mask bits ``m`` (already positioned)."""
        self.mask = (self.mask & ~keymask) | (m & keymask)
        self.value = (self.value & ~keymask) | (v & m & keymask)

    def _or_bits(self, keymask: int, v: int) -> None:
        """Match the bits in ``keymask`` exactly (OR into the mask) with value ``v`` there."""
        self.mask |= keymask
        self.value = (self.value & ~keymask) | (v & keymask)

    def slot(self, name: str) -> tuple[int, int]:
        return _sget(self.value, name), _sget(self.mask, name)

    def set_slot(self, name: str, v: int, m: int) -> None:
        ofs, bits = _ST[name]
        full = (1 << bits) - 1
        self._set_bits(full << ofs, (v & full) << ofs, (m & full) << ofs)

    def set_default_packet_type(self) -> None:
        if not _sget(self.mask, "packet_type"):
            self.set_slot("packet_type", _PT_ETH, 0xFFFFFFFF)

    def set_dl_type(self, dl_type: int) -> None:
        self.set_slot("dl_type", dl_type, 0xFFFF)

    def set_nw_proto(self, proto: int) -> None:
        self.set_slot("nw_proto", proto, 0xFF)

    # -- VLAN ---------------------------------------------------------------------------------------------------
    def _tci(self) -> tuple[int, int]:
        return self.slot("vlan_tci")

    def _set_tci(self, v: int, m: int) -> None:
        self.set_slot("vlan_tci", v & m, m)

    def set_dl_vlan(self, vid: int) -> None:
        v, m = self._tci()
        if vid == OFP10_VLAN_NONE:
            self._set_tci(0, 0xFFFF)
        else:
            v = (v & ~VLAN_VID_MASK) | VLAN_CFI | (vid & VLAN_VID_MASK)
            self._set_tci(v, m | VLAN_VID_MASK | VLAN_CFI)

    def set_vlan_vid_masked(self, vid: int, mask: int) -> None:
        v, m = self._tci()
        mask &= VLAN_VID_MASK | VLAN_CFI
        v = (v & ~(VLAN_VID_MASK | VLAN_CFI)) | (vid & mask)
        self._set_tci(v, mask | (m & VLAN_PCP_MASK))

    def set_vlan_pcp(self, pcp: int) -> None:
        v, m = self._tci()
        v = (v & ~VLAN_PCP_MASK) | ((pcp & 7) << 13) | VLAN_CFI
        self._set_tci(v, m | VLAN_CFI | VLAN_PCP_MASK)

    def set_any_vid(self) -> None:
        v, m = self._tci()
        if m & VLAN_PCP_MASK:
            self._set_tci(v & ~VLAN_VID_MASK, m & ~VLAN_VID_MASK)
        else:
            self._set_tci(0, 0)

    def set_any_pcp(self) -> None:
        v, m = self._tci()
        if m & VLAN_VID_MASK:
            self._set_tci(v & ~VLAN_PCP_MASK, m & ~VLAN_PCP_MASK)
        else:
            self._set_tci(0, 0)

    # -- tunnel metadata ----------------------------------------------------------------------------------------
    def set_tun_metadata(self, f: Field, value: int | None, mask: int | None, masked_input: bool) -> None:
        """OVS ``tun_metadata_set_match`` without a TLV map: allocates the option's length on first use."""
        idx = _TUN_MD_INDEX[f.name]
        if value is None:
            flen, is_masked = 0, False
        else:
            flen = _byte_len(value)
            is_masked = masked_input
            if is_masked and mask is not None:
                flen = max(flen, _byte_len(mask))
        if self.tun_md.alloc + flen > TUN_METADATA_TOT_OPT_SIZE:
            raise MatchParseError(f"field {f.name} exceeds maximum size for tunnel metadata (used "
                                  f"{self.tun_md.alloc + flen}, max {TUN_METADATA_TOT_OPT_SIZE})")
        present_bit = 1 << (_ST["_tun_metadata_present"][0] + idx)
        if self.mask & present_bit:
            raise MatchParseError(f"field {f.name} set multiple times")
        self.tun_md.entries[idx] = (flen, is_masked)
        self.tun_md.alloc += flen
        lenmask = (1 << (8 * flen)) - 1
        if value is None:
            v, m = 0, 0
        elif mask is None:
            v, m = value & lenmask, lenmask
        else:
            v, m = value & mask & lenmask, mask & lenmask
        self._set_bits(f.key_mask, v << f.ofs, m << f.ofs)
        self.mask |= present_bit
        self.value |= present_bit

    # -- OVS mf_set ---------------------------------------------------------------------------------------------
    def set_field(self, f: Field, value: int, mask: int, *, parse_masked: bool | None = None) -> Proto:
        """OVS ``mf_set``: match ``f`` against ``value``/``mask`` (wire width).  Returns the usable protocols."""
        full = (1 << (8 * f.nbytes)) - 1
        is_tun_md = f.name in _TUN_MD_INDEX
        if mask == full:
            self.set_value(f, value)
            return _USABLE[f.name][0]
        if mask == 0 and not is_tun_md:
            self.set_wild(f)
            return Proto.ANY
        usable = usable_for(f, mask)
        if not f.maskable:
            return Proto.NONE
        n = f.name
        if is_tun_md:
            self.set_tun_metadata(f, value, mask, True)
        elif n == "vlan_tci":
            self._set_tci(value, mask)
        elif n == "vlan_vid":
            self.set_vlan_vid_masked(value, mask)
        elif n == "ipv6_label":
            if mask & 0xFFFFF == 0xFFFFF:
                self.set_value(f, value)
            else:
                self.set_slot("ipv6_label", value & mask, mask)
        elif n == "ip_frag":
            self.set_slot("nw_frag", value & mask & 3, mask & 3)
        elif n == "tcp_flags":
            self.set_slot("tcp_flags", value & mask, mask)
        elif n == "ct_state":
            self.set_slot("ct_state", value & mask & 0xFF, mask & 0xFF)
        elif n == "tun_flags":
            mask &= V.TUN_FLAGS_ALLOWED
            self.set_slot("tun_flags", value & mask, mask)
        else:
            vm = f.value_mask
            self._set_bits(f.key_mask, (value & vm) << f.ofs, (mask & vm) << f.ofs)
        return usable

    def set_value(self, f: Field, v: int) -> None:
        """OVS ``mf_set_value``: match ``f`` exactly."""
        n = f.name
        if n in _TUN_MD_INDEX:
            self.set_tun_metadata(f, v, None, False)
        elif n == "in_port":
            self.set_slot("in_port", v & 0xFFFF, 0xFFFF)
        elif n in ("in_port_oxm", "actset_output"):
            port = V.port_from_ofp11(v)
            self.set_slot(f.storage, 0 if port is None else port, 0xFFFF)
        elif n == "vlan_tci":
            self._set_tci(v, 0xFFFF)
        elif n == "dl_vlan":
            self.set_dl_vlan(v)
        elif n == "vlan_vid":
            self.set_vlan_vid_masked(v, VLAN_VID_MASK | VLAN_CFI)
        elif n in ("dl_vlan_pcp", "vlan_pcp"):
            self.set_vlan_pcp(v)
        elif n in ("mpls_label", "mpls_tc", "mpls_bos", "mpls_ttl"):
            self._or_bits(f.key_mask, (v & f.value_mask) << f.ofs)
        elif n == "nw_tos":
            self._or_bits(0xFC << f.ofs, (v & 0xFC) << f.ofs)
        elif n == "ip_dscp":
            ofs = _ST["nw_tos"][0]
            self._or_bits(0xFC << ofs, ((v << 2) & 0xFC) << ofs)
        elif n == "nw_ecn":
            self._or_bits(f.key_mask, (v & 3) << f.ofs)
        elif n == "ip_frag":
            ofs = _ST["nw_frag"][0]
            self.mask |= 3 << ofs
            self.value = (self.value & ~(0xFF << ofs)) | ((v & 0xFF) << ofs)
        elif n == "ipv6_label":
            self.set_slot("ipv6_label", v, 0xFFFFFFFF)
        elif n == "arp_op":
            self.set_slot("nw_proto", v & 0xFF, 0xFF)
        elif n in ("icmp_type", "icmpv6_type"):
            self.set_slot("tp_src", v & 0xFF, 0xFFFF)
        elif n in ("icmp_code", "icmpv6_code"):
            self.set_slot("tp_dst", v & 0xFF, 0xFFFF)
        elif n == "tcp_flags":
            self.set_slot("tcp_flags", v, 0xFFFF)
        elif n == "ct_state":
            self.set_slot("ct_state", v & 0xFF, 0xFF)
        elif n == "tun_flags":
            self.set_slot("tun_flags", v & V.TUN_FLAGS_ALLOWED, V.TUN_FLAGS_ALLOWED)
        else:
            self._set_bits(f.key_mask, (v & f.value_mask) << f.ofs, f.key_mask)

    def set_wild(self, f: Field) -> None:
        """OVS ``mf_set_wild``: stop matching ``f``."""
        n = f.name
        if n in _TUN_MD_INDEX:
            self.set_tun_metadata(f, None, None, False)
        elif n in ("dl_vlan", "vlan_vid"):
            self.set_any_vid()
        elif n in ("dl_vlan_pcp", "vlan_pcp"):
            self.set_any_pcp()
        elif n in ("ip_dscp", "nw_tos"):
            self._set_bits(0xFC << _ST["nw_tos"][0], 0, 0)
        elif n == "ip_frag":
            self._set_bits(3 << _ST["nw_frag"][0], 0, 0)
        elif n in ("ipv6_label", "tcp_flags", "ct_state", "in_port", "in_port_oxm", "actset_output"):
            self._set_bits(_smask(f.storage), 0, 0)
        elif n in ("arp_op",):
            self._set_bits(_smask("nw_proto"), 0, 0)
        elif n in ("icmp_type", "icmpv6_type"):
            self._set_bits(_smask("tp_src"), 0, 0)
        elif n in ("icmp_code", "icmpv6_code"):
            self._set_bits(_smask("tp_dst"), 0, 0)
        else:
            self._set_bits(f.key_mask, 0, 0)

    def add_ethernet_prereq(self, f: Field) -> None:
        if f.prereq is not Prereq.NONE:
            self.set_default_packet_type()


# ---------------------------------------------------------------------------------------------------------------
# A flow view for prerequisite checks: OVS reads values, which are zero when wildcarded.

class Flow:
    __slots__ = ("m", "v")

    def __init__(self, v: int, m: int) -> None:
        self.v = v & m
        self.m = m

    def get(self, slot: str) -> int:
        return _sget(self.v, slot)

    def mget(self, slot: str) -> int:
        return _sget(self.m, slot)

    @property
    def packet_type(self) -> int:
        return self.get("packet_type")

    def dl_type(self) -> int:
        """OVS ``get_dl_type``: the Ethernet type, or the one a non-Ethernet packet_type names."""
        pt = self.packet_type
        if pt == _PT_ETH:
            return self.get("dl_type")
        if pt >> 16 == 1:
            return pt & 0xFFFF
        return 0x05FF

    def flow_dl_type(self) -> int:
        """``flow->dl_type`` of a parsed match: the parser copies a packet_type's ethertype into it."""
        if self.mget("packet_type") == 0xFFFFFFFF and self.packet_type >> 16 == 1:
            return self.packet_type & 0xFFFF
        return self.get("dl_type")

    def is_ip_any(self) -> bool:
        return self.dl_type() in (ETH_TYPE_IP, ETH_TYPE_IPV6)


def prereqs_ok(f: Field, fl: Flow) -> bool:
    """OVS ``mf_are_match_prereqs_ok``: the prerequisite of ``f`` checked on a match's values."""
    return match_prereqs_ok(f.prereq, fl.v, fl.m)


def is_value_valid(f: Field, v: int) -> bool:
    """OVS ``mf_is_value_valid``: reject bits a field never uses."""
    n = f.name
    if n in ("in_port_oxm", "actset_output"):
        return V.port_from_ofp11(v) is not None
    checks = {
        "ip_dscp": ~0x3F, "nw_tos": ~0xFC, "nw_ecn": ~3, "ip_frag": ~3, "tcp_flags": ~0x0FFF, "arp_op": 0xFF00,
        "dl_vlan": VLAN_CFI | VLAN_PCP_MASK, "vlan_vid": VLAN_PCP_MASK, "dl_vlan_pcp": ~7, "vlan_pcp": ~7,
        "ipv6_label": ~0xFFFFF, "mpls_label": ~0xFFFFF, "mpls_tc": ~7, "mpls_bos": ~1,
        "tun_flags": ~V.TUN_FLAGS_ALLOWED, "ct_state": ~0xFF,
    }
    bad = checks.get(n)
    return bad is None or not v & bad


def is_all_wild(f: Field, m: int) -> bool:
    """OVS ``mf_is_all_wild``: whether the mask int ``m`` leaves every bit of ``f`` wildcarded."""
    n = f.name
    if n in _TUN_MD_INDEX:
        return not (_sget(m, "_tun_metadata_present") >> _TUN_MD_INDEX[n]) & 1
    if n == "dl_vlan":
        return not _sget(m, "vlan_tci") & VLAN_VID_MASK
    if n == "vlan_vid":
        return not _sget(m, "vlan_tci") & (VLAN_VID_MASK | VLAN_CFI)
    if n in ("dl_vlan_pcp", "vlan_pcp"):
        return not _sget(m, "vlan_tci") & VLAN_PCP_MASK
    if n in ("nw_tos", "ip_dscp"):
        return not _sget(m, "nw_tos") & 0xFC
    if n == "nw_ecn":
        return not _sget(m, "nw_tos") & 3
    if n == "ip_frag":
        return not _sget(m, "nw_frag") & 3
    if n in ("icmp_type", "icmpv6_type"):
        return not _sget(m, "tp_src")
    if n in ("icmp_code", "icmpv6_code"):
        return not _sget(m, "tp_dst")
    return not _sget(m, f.storage) if f.storage != "regs" and f.storage != "mpls_lse" else not m & f.key_mask


# ---------------------------------------------------------------------------------------------------------------
# Parsing.

@dataclass
class ParsedMatch:
    """The result of parsing match text: the match, the tunnel-metadata allocation, the usable protocols."""

    match: Match
    tun_md: TunMetadata
    usable: Proto


def _lookup_match_field(name: str) -> Field | None:
    if name in OVS_UNKNOWN_NAMES:
        return None
    return F.BY_NAME.get(name)


def parse_field_into(b: MatchBuilder, f: Field, text: str) -> None:
    """OVS ``ofp_parse_field``: ``name=text`` for field ``f`` (an empty ``text`` means "0/0")."""
    if not text:
        text = "0/0"
    try:
        value, mask = V.parse_field(f, text)
    except V.FieldValueError as e:
        raise MatchParseError(str(e)) from None
    b.usable &= b.set_field(f, value, mask)
    b.add_ethernet_prereq(f)


def parse_subfield_into(b: MatchBuilder, name: str, text: str) -> None:
    """``FIELD[a..b]=VALUE``: set those bits of the field exactly, the rest unchanged."""
    from pyvswitch.flow.subfield import Subfield, SubfieldError
    try:
        sf = Subfield.parse(name)
    except SubfieldError as e:
        raise MatchParseError(str(e)) from None
    f = sf.field
    try:
        val, end = V.parse_int_string(text, f.nbytes)
        if end != len(text):
            raise ValueError
    except (ValueError, V._IntParseError):
        raise MatchParseError(f"{name}: cannot parse integer value: {text}") from None
    if val >> sf.n_bits:
        raise MatchParseError(f"{name}: value {V.format_value(f, val)} does not fit into {sf.n_bits} bits")
    cur_v = field_get(f, b.value & b.mask)
    cur_m = field_get(f, b.mask)
    bits = ((1 << sf.n_bits) - 1) << sf.ofs
    value = (cur_v & ~bits) | (val << sf.ofs)
    mask = cur_m | bits
    b.usable &= b.set_field(f, value, mask)
    b.add_ethernet_prereq(f)


def apply_shorthand(b: MatchBuilder, name: str) -> bool:
    """A protocol keyword (``tcp``, ``ipv6`` ...): set dl_type and nw_proto.  False if ``name`` is not one."""
    p = PROTOCOL_SHORTHANDS.get(name)
    if p is None:
        return False
    b.set_dl_type(p[0])
    if p[1]:
        b.set_nw_proto(p[1])
    b.set_default_packet_type()
    return True


def finish_parse(b: MatchBuilder) -> None:
    """What ``parse_ofp_str`` does after the last key: copy a packet_type's ethertype into dl_type, and narrow the
    usable protocols for IPv6 L3/L4 fields (only NXM and OXM can match them)."""
    fl = Flow(b.value, b.mask)
    if fl.mget("packet_type") == 0xFFFFFFFF and fl.packet_type >> 16 == 1 and fl.mget("dl_type"):
        b.value = _sput(b.value, "dl_type", fl.packet_type & 0xFFFF)
    if Flow(b.value, b.mask).flow_dl_type() == ETH_TYPE_IPV6 and (
            fl.mget("nw_proto") or fl.mget("nw_tos") or fl.mget("tp_src") or fl.mget("tp_dst")):
        b.usable &= Proto.NXM_OXM_ANY


def parse_match_item(b: MatchBuilder, name: str, value: str) -> bool:
    """Apply one ``name[=value]`` item if it is a match item; return False if it is something else."""
    if apply_shorthand(b, name):
        return True
    if name == "eth":
        b.set_slot("packet_type", _PT_ETH, 0xFFFFFFFF)
        return True
    f = _lookup_match_field(name)
    if f is not None:
        parse_field_into(b, f, value)
        return True
    if "[" in name:
        parse_subfield_into(b, name, value)
        return True
    return False


def split_key_values(text: str) -> list[tuple[str, str]]:
    """OVS ``ofputil_parse_key_value`` over a whole string: ``key=value``, ``key:value``, ``key(value)`` or a bare
    ``key``, separated by commas and white space; parentheses nest inside values."""
    out: list[tuple[str, str]] = []
    i = 0
    n = len(text)
    while True:
        while i < n and text[i] in ", \t\r\n":
            i += 1
        if i >= n:
            return out
        j = i
        while j < n and text[j] not in ":=(, \t\r\n":
            j += 1
        key = text[i:j]
        delim = text[j] if j < n else ""
        i = j + (1 if delim else 0)
        if delim in (":", "="):
            delims = ", \t\r\n"
        elif delim == "(":
            delims = ")"
        else:
            out.append((key, ""))
            continue
        vlen = _value_len(text, i, delims)
        k = i + vlen
        if delim == "(" and k < n and text[k] == ")" and text[k + 1:k + 3] == "->":
            k += _value_len(text, k, ", \t\r\n")
        value = text[i:k]
        i = k + (1 if k < n else 0)
        out.append((key, value))


def _value_len(s: str, i: int, delims: str) -> int:
    n = 0
    L = len(s)
    while i + n < L and s[i + n] not in delims:
        if s[i + n] == "(":
            level = 0
            while True:
                if i + n >= L:
                    return n
                c = s[i + n]
                if c == "(":
                    level += 1
                elif c == ")":
                    level -= 1
                n += 1
                if level <= 0:
                    break
        else:
            n += 1
    return n


def parse_match(text: str) -> ParsedMatch:
    """Parse a match in ovs-ofctl syntax (no flow-mod keywords, no actions).

    Raises MatchParseError with ovs-ofctl's message for unknown keys and bad values."""
    b = MatchBuilder()
    for name, value in split_key_values(text):
        if not parse_match_item(b, name, value):
            if not value:
                raise MatchParseError(f"field {name} missing value")
            raise MatchParseError(f"unknown keyword {name}")
    finish_parse(b)
    return ParsedMatch(b.match(), b.tun_md, b.usable)


# ---------------------------------------------------------------------------------------------------------------
# Normalization.

def normalize(m: Match) -> Match:
    """OVS ``ofputil_normalize_match``: wildcard the fields whose layer the match does not establish."""
    fl = Flow(m.value, m.mask)
    pt_mask = fl.mget("packet_type")
    pt = fl.packet_type
    ether = False
    if pt_mask == 0 or (pt == _PT_ETH and pt_mask == 0xFFFFFFFF):
        ether = True
        dl = fl.get("dl_type")
    elif pt_mask == 0xFFFFFFFF and pt >> 16 == 1:
        dl = pt & 0xFFFF
    else:
        dl = 0
    nwp = fl.get("nw_proto")
    nw_addr = tp = nw_proto = ipvx = arp_sha = arp_tha = ipv6 = nd = mpls = False
    if dl == ETH_TYPE_IP:
        nw_proto = ipvx = nw_addr = True
        tp = nwp in (IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP)
    elif dl == ETH_TYPE_IPV6:
        nw_proto = ipvx = ipv6 = True
        if nwp in (IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP):
            tp = True
        elif nwp == IPPROTO_ICMPV6:
            tp = True
            if fl.get("tp_src") == ND_NEIGHBOR_SOLICIT:
                nd = arp_sha = True
            elif fl.get("tp_src") == ND_NEIGHBOR_ADVERT:
                nd = arp_tha = True
    elif dl in (ETH_TYPE_ARP, ETH_TYPE_RARP):
        nw_proto = nw_addr = arp_sha = arp_tha = True
    elif dl in (ETH_TYPE_MPLS, ETH_TYPE_MPLS_MCAST):
        mpls = True
    clear = 0
    if not ether:
        clear |= _smask("dl_src") | _smask("dl_dst")
    if not nw_addr:
        clear |= _smask("nw_src") | _smask("nw_dst")
    if not tp:
        clear |= _smask("tp_src") | _smask("tp_dst")
    if not nw_proto:
        clear |= _smask("nw_proto")
    if not ipvx:
        clear |= _smask("nw_tos") | _smask("nw_ttl")
    if not arp_sha:
        clear |= _smask("arp_sha")
    if not arp_tha:
        clear |= _smask("arp_tha")
    if not ipv6:
        clear |= _smask("ipv6_src") | _smask("ipv6_dst") | _smask("ipv6_label")
    if not nd:
        clear |= _smask("nd_target")
    if not mpls:
        clear |= _smask("mpls_lse") | _smask("_mpls_lse1") | _smask("_mpls_lse2")
    if not m.mask & clear:
        return m
    return Match(m.value & ~clear, m.mask & ~clear)


def normalization_log(before: Match, after: Match, tun_md: TunMetadata | None = None) -> None:
    """Log OVS's three ``ofp_match|INFO`` lines about a normalization (rate limited as OVS limits them)."""
    if not _log.enabled("INFO") or not _rl_normalize.allow():
        return
    _log.info("normalization changed ofp_match, details:")
    _log.info(" pre: " + format_match(before, tun_md=tun_md))
    _log.info("post: " + format_match(after, tun_md=tun_md))


# ---------------------------------------------------------------------------------------------------------------
# Formatting (OVS match_format).

_DEFAULT_PRIORITY = 0x8000


def _u32_masked(name: str, v: int, m: int, out: list[str]) -> None:
    if m:
        s = f"{name}={V.c_hex(v)}"
        if m != 0xFFFFFFFF:
            s += f"/{V.c_hex(m)}"
        out.append(s)


def _u64_masked(name: str, v: int, m: int, out: list[str]) -> None:
    if m:
        s = f"{name}={V.c_hex(v)}"
        if m != 0xFFFFFFFFFFFFFFFF:
            s += f"/{V.c_hex(m)}"
        out.append(s)


def _be16_masked(name: str, v: int, m: int, out: list[str]) -> None:
    if m:
        out.append(f"{name}={v}" if m == 0xFFFF else f"{name}=0x{v:x}/0x{m:x}")


def _u16_masked(name: str, v: int, m: int, out: list[str]) -> None:
    _be16_masked(name, v, m, out)


def _ip_masked(name: str, v: int, m: int, out: list[str]) -> None:
    if m:
        out.append(f"{name}={V.format_ipv4_masked(v, m)}")


def _ipv6_masked(name: str, v: int, m: int, out: list[str]) -> None:
    if m:
        out.append(f"{name}={V.format_ipv6_masked(v, m)}")


def _eth_masked(name: str, v: int, m: int, out: list[str]) -> None:
    if m:
        s = f"{name}={V.format_mac(v)}"
        if m != (1 << 48) - 1:
            s += "/" + V.format_mac(m)
        out.append(s)


def format_match(m: Match, priority: int | None = None, tun_md: TunMetadata | None = None) -> str:
    """``m`` as ovs-ofctl prints a match (OVS ``match_format``), with ``priority=N`` first when ``priority`` is
    given and is not the default 32768."""
    out: list[str] = []
    fl = Flow(m.value, m.mask)
    g = fl.get
    mg = fl.mget
    if priority is not None and priority != _DEFAULT_PRIORITY:
        out.append(f"priority={priority}")
    _u32_masked("pkt_mark", g("pkt_mark"), mg("pkt_mark"), out)
    is_megaflow = False
    if mg("recirc_id"):
        _u32_masked("recirc_id", g("recirc_id"), mg("recirc_id"), out)
        is_megaflow = True
    if mg("dp_hash"):
        _u32_masked("dp_hash", g("dp_hash"), mg("dp_hash"), out)
    if mg("conj_id"):
        out.append(f"conj_id={g('conj_id')}")
    if mg("skb_priority"):
        out.append(f"skb_priority={V.c_hex(g('skb_priority'))}")
    if mg("actset_output"):
        out.append(f"actset_output={V.format_port(g('actset_output') & 0xFFFF)}")
    ct_m = mg("ct_state") & 0xFF
    if ct_m:
        st = g("ct_state") & 0xFF
        if ct_m == 0xFF:
            out.append("ct_state=" + (V.format_flags(st, V.ct_state_name) if st else "0"))
        else:
            out.append("ct_state=" + V.format_flags_masked(st, ct_m, V.ct_state_name, 0xFF))
    if mg("ct_zone"):
        _u16_masked("ct_zone", g("ct_zone"), mg("ct_zone"), out)
    if mg("ct_mark"):
        _u32_masked("ct_mark", g("ct_mark"), mg("ct_mark"), out)
    if mg("ct_label"):
        s = "ct_label=" + V.format_hex_bytes(g("ct_label"), 16)
        if mg("ct_label") != (1 << 128) - 1:
            s += "/" + V.format_hex_bytes(mg("ct_label"), 16)
        out.append(s)
    _ip_masked("ct_nw_src", g("ct_nw_src"), mg("ct_nw_src"), out)
    _ipv6_masked("ct_ipv6_src", g("ct_ipv6_src"), mg("ct_ipv6_src"), out)
    _ip_masked("ct_nw_dst", g("ct_nw_dst"), mg("ct_nw_dst"), out)
    _ipv6_masked("ct_ipv6_dst", g("ct_ipv6_dst"), mg("ct_ipv6_dst"), out)
    if mg("ct_nw_proto"):
        out.append(f"ct_nw_proto={g('ct_nw_proto')}")
        _be16_masked("ct_tp_src", g("ct_tp_src"), mg("ct_tp_src"), out)
        _be16_masked("ct_tp_dst", g("ct_tp_dst"), mg("ct_tp_dst"), out)

    dl_type = g("dl_type")
    pt, pt_m = g("packet_type"), mg("packet_type")
    if pt_m and (not (pt == _PT_ETH and pt_m == 0xFFFFFFFF) or is_megaflow):
        out.append(V.format_packet_type(pt, pt_m))
        if pt >> 16 == 1:
            dl_type = pt & 0xFFFF
    skip_type = skip_proto = False
    nwp = g("nw_proto")
    if mg("dl_type"):
        skip_type = True
        if dl_type == ETH_TYPE_IP:
            if mg("nw_proto"):
                skip_proto = True
                name = {IPPROTO_ICMP: "icmp", IPPROTO_TCP: "tcp", IPPROTO_UDP: "udp",
                        IPPROTO_SCTP: "sctp"}.get(nwp)
                if name is None:
                    name, skip_proto = "ip", False
                out.append(name)
            else:
                out.append("ip")
        elif dl_type == ETH_TYPE_IPV6:
            if mg("nw_proto"):
                skip_proto = True
                name = {IPPROTO_ICMPV6: "icmp6", IPPROTO_TCP: "tcp6", IPPROTO_UDP: "udp6",
                        IPPROTO_SCTP: "sctp6"}.get(nwp)
                if name is None:
                    name, skip_proto = "ipv6", False
                out.append(name)
            else:
                out.append("ipv6")
        elif dl_type == ETH_TYPE_ARP:
            out.append("arp")
        elif dl_type == ETH_TYPE_RARP:
            out.append("rarp")
        elif dl_type == ETH_TYPE_MPLS:
            out.append("mpls")
        elif dl_type == ETH_TYPE_MPLS_MCAST:
            out.append("mplsm")
        else:
            skip_type = False
    regs_v, regs_m = g("regs"), mg("regs")
    for i in range(16):
        sh = (15 - i) * 32
        _u32_masked(f"reg{i}", (regs_v >> sh) & 0xFFFFFFFF, (regs_m >> sh) & 0xFFFFFFFF, out)

    _u64_masked("tun_id", g("tun_id"), mg("tun_id"), out)
    _ip_masked("tun_src", g("tun_src"), mg("tun_src"), out)
    _ip_masked("tun_dst", g("tun_dst"), mg("tun_dst"), out)
    _ipv6_masked("tun_ipv6_src", g("tun_ipv6_src"), mg("tun_ipv6_src"), out)
    _ipv6_masked("tun_ipv6_dst", g("tun_ipv6_dst"), mg("tun_ipv6_dst"), out)
    if mg("tun_gbp_id"):
        _be16_masked("tun_gbp_id", g("tun_gbp_id"), mg("tun_gbp_id"), out)
    if mg("tun_gbp_flags"):
        out.append(f"tun_gbp_flags={V.c_hex(g('tun_gbp_flags'))}")
    tf_m = mg("tun_flags") & 0xF
    if tf_m:
        out.append("tun_flags=" + V.format_flags_masked(g("tun_flags") & 0xF, tf_m, V.tun_flag_name, 0xF))
    _format_tun_metadata(m, tun_md, out)

    _u64_masked("metadata", g("metadata"), mg("metadata"), out)
    if mg("in_port"):
        out.append(f"in_port={V.format_port(g('in_port') & 0xFFFF)}")
    tci, tci_m = g("vlan_tci"), mg("vlan_tci")
    if tci_m:
        vid_m = tci_m & VLAN_VID_MASK
        pcp_m = tci_m & VLAN_PCP_MASK
        if (tci_m & VLAN_CFI and tci & VLAN_CFI and vid_m in (0, VLAN_VID_MASK)
                and pcp_m in (0, VLAN_PCP_MASK) and (vid_m or pcp_m)):
            if vid_m:
                out.append(f"dl_vlan={tci & VLAN_VID_MASK}")
            if pcp_m:
                out.append(f"dl_vlan_pcp={tci >> 13}")
        elif tci_m == 0xFFFF:
            out.append(f"vlan_tci=0x{tci:04x}")
        else:
            out.append(f"vlan_tci=0x{tci:04x}/0x{tci_m:04x}")
    _eth_masked("dl_src", g("dl_src"), mg("dl_src"), out)
    _eth_masked("dl_dst", g("dl_dst"), mg("dl_dst"), out)
    if not skip_type and mg("dl_type"):
        out.append(f"dl_type=0x{dl_type:04x}")
    if dl_type == ETH_TYPE_IPV6:
        _ipv6_masked("ipv6_src", g("ipv6_src"), mg("ipv6_src"), out)
        _ipv6_masked("ipv6_dst", g("ipv6_dst"), mg("ipv6_dst"), out)
        lm = mg("ipv6_label")
        if lm:
            if lm == 0xFFFFFFFF:
                out.append(f"ipv6_label=0x{g('ipv6_label'):05x}")
            else:
                out.append(f"ipv6_label=0x{g('ipv6_label'):05x}/0x{lm:05x}")
    elif dl_type in (ETH_TYPE_ARP, ETH_TYPE_RARP):
        _ip_masked("arp_spa", g("nw_src"), mg("nw_src"), out)
        _ip_masked("arp_tpa", g("nw_dst"), mg("nw_dst"), out)
    else:
        _ip_masked("nw_src", g("nw_src"), mg("nw_src"), out)
        _ip_masked("nw_dst", g("nw_dst"), mg("nw_dst"), out)
    if not skip_proto and mg("nw_proto"):
        if dl_type in (ETH_TYPE_ARP, ETH_TYPE_RARP):
            out.append(f"arp_op={nwp}")
        else:
            out.append(f"nw_proto={nwp}")
    if dl_type in (ETH_TYPE_ARP, ETH_TYPE_RARP):
        _eth_masked("arp_sha", g("arp_sha"), mg("arp_sha"), out)
        _eth_masked("arp_tha", g("arp_tha"), mg("arp_tha"), out)
    tos, tos_m = g("nw_tos"), mg("nw_tos")
    if tos_m & 0xFC:
        out.append(f"nw_tos={tos & 0xFC}")
    if tos_m & 3:
        out.append(f"nw_ecn={tos & 3}")
    if mg("nw_ttl"):
        out.append(f"nw_ttl={g('nw_ttl')}")
    lse, lse_m = g("mpls_lse"), mg("mpls_lse")
    if lse_m & 0xFFFFF000:
        out.append(f"mpls_label={lse >> 12}")
    if lse_m & 0xE00:
        out.append(f"mpls_tc={(lse >> 9) & 7}")
    if lse_m & 0xFF:
        out.append(f"mpls_ttl={lse & 0xFF}")
    if lse_m & 0x100:
        out.append(f"mpls_bos={(lse >> 8) & 1}")
    for i, slot in ((1, "_mpls_lse1"), (2, "_mpls_lse2")):
        sm = mg(slot)
        if sm:
            out.append(f"mpls_lse{i}={g(slot)}" if sm == 0xFFFFFFFF
                       else f"mpls_lse{i}=0x{g(slot):08x}/0x{sm:08x}")
    frag, frag_m = g("nw_frag"), mg("nw_frag")
    if frag_m == 3:
        if frag & 1:
            out.append("nw_frag=" + ("later" if frag & 2 else "first"))
        else:
            out.append("nw_frag=" + ("<error>" if frag & 2 else "no"))
    elif frag_m == 1:
        out.append("nw_frag=" + ("yes" if frag & 1 else "no"))
    elif frag_m == 2:
        out.append("nw_frag=" + ("later" if frag & 2 else "not_later"))
    tps, tps_m, tpd, tpd_m = g("tp_src"), mg("tp_src"), g("tp_dst"), mg("tp_dst")
    if dl_type == ETH_TYPE_IP and nwp == IPPROTO_ICMP:
        _be16_masked("icmp_type", tps, tps_m, out)
        _be16_masked("icmp_code", tpd, tpd_m, out)
    elif dl_type == ETH_TYPE_IPV6 and nwp == IPPROTO_ICMPV6:
        _be16_masked("icmp_type", tps, tps_m, out)
        _be16_masked("icmp_code", tpd, tpd_m, out)
        _ipv6_masked("nd_target", g("nd_target"), mg("nd_target"), out)
        _eth_masked("nd_sll", g("arp_sha"), mg("arp_sha"), out)
        _eth_masked("nd_tll", g("arp_tha"), mg("arp_tha"), out)
        _be16_masked("nd_options_type", g("tcp_flags"), mg("tcp_flags"), out)
    else:
        _be16_masked("tp_src", tps, tps_m, out)
        _be16_masked("tp_dst", tpd, tpd_m, out)
    if fl.is_ip_any() and nwp == IPPROTO_TCP and mg("tcp_flags"):
        out.append("tcp_flags=" + V.format_flags_masked(g("tcp_flags"), mg("tcp_flags") & 0x0FFF,
                                                        V.tcp_flag_name, 0x0FFF))
    return ",".join(out)


def _format_tun_metadata(m: Match, tun_md: TunMetadata | None, out: list[str]) -> None:
    present_m = _sget(m.mask, "_tun_metadata_present")
    if not present_m:
        return
    present_v = _sget(m.value, "_tun_metadata_present")
    md = tun_md if tun_md is not None else TunMetadata.derive(m)
    for i in range(64):
        if not present_m >> i & 1:
            continue
        f = _TUN_MD[i]
        flen, masked = md.entries.get(i) or TunMetadata.derive(m).entries.get(i, (0, False))
        full = (1 << (8 * flen)) - 1
        val = (m.value >> f.ofs) & full
        msk = (m.mask >> f.ofs) & full
        s = f"tun_metadata{i}"
        if not present_v >> i & 1:
            s += "=NP"
        elif not (masked and msk == 0):
            s += "=" + V.format_hex_bytes(val, flen)
            if msk != full:
                s += "/" + V.format_hex_bytes(msk, flen)
        out.append(s)
