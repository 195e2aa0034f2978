"""The field table: every field of a flow, listed once.

This module is the single source of truth for flow fields, as Open vSwitch's meta-flow is.  Every other layer
derives what it needs from it: the flow key layout, masks, prerequisite checks, the ovs-ofctl text parser and
formatter, NXM/OXM codecs, the field-name parsing of ``load``/``move``/``learn``, and the field documentation.

The flow key
------------
A flow key is a plain Python ``int``: every field has a fixed bit position (``Field.ofs``) and width in it.
A match is a pair of ints ``(value, mask)`` in the same layout, and a megaflow is ``key & mask``.  Choosing an
``int`` makes the operations that run per packet single big-integer operations implemented in C: masking a key
(``key & mask``), comparing a masked key with a rule's value, hashing a masked key into a dict, and accumulating
the wildcards a lookup consulted (``wc |= stage_mask``).  Python ints store only their significant digits, so a
key whose high fields are zero is short: the layout puts the fields that every IPv4 packet sets (ports, L2, L3,
L4) at the low end, then ARP, MPLS and IPv6, then pipeline metadata (registers, tunnel, conntrack), and the 64
tunnel-metadata slots last.  A plain UDP/IPv4 key is a ~300-bit integer; a key only grows when it carries those
rarer fields.

Storage and fields
------------------
Several fields are views of the same storage, as in Open vSwitch: ``dl_vlan``, ``vlan_vid``, ``vlan_pcp`` and
``dl_vlan_pcp`` are bit ranges of ``vlan_tci``; ``nw_tos``, ``ip_dscp`` and ``nw_ecn`` share the IP TOS byte;
``tcp_src``, ``udp_src``, ``sctp_src``, ``icmp_type`` and ``icmpv6_type`` share ``tp_src``; ``arp_op``,
``arp_spa`` and ``arp_tpa`` share ``nw_proto``, ``nw_src`` and ``nw_dst``; ``nd_sll``/``nd_tll`` share
``arp_sha``/``arp_tha``; ``xreg``/``xxreg`` overlay the 32-bit registers.  A field is described by the position of
bit 0 of its value (``ofs``) and the bits of the value it may use (``value_mask``): the key bits of a field are
``(value & value_mask) << ofs``.  ``nw_tos`` therefore has ``value_mask=0xfc`` at the TOS byte, while ``ip_dscp``
has ``value_mask=0x3f`` two bits higher.

A few storage slots are not OpenFlow fields at all but belong to the key because the datapath needs them (the
second VLAN tag, the VLAN TPIDs, extra MPLS label stack entries, the outer tunnel TTL/TOS/ports, the raw Geneve
options of a decapsulated packet, and the bitmap of present tunnel-metadata options).  They are listed in ``HIDDEN`` and have no names users can write.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "BY_NAME",
    "FIELDS",
    "HIDDEN",
    "KEY_BITS",
    "NXM_NX",
    "NXM_OF",
    "NX_EXPERIMENTER",
    "ONF_EXPERIMENTER",
    "OXM_EXP",
    "OXM_OF",
    "STORAGE",
    "TUN_METADATA_BITS",
    "Field",
    "Format",
    "HeaderId",
    "Prereq",
    "Support",
    "field",
    "field_mask",
    "get",
    "put",
]


class Format(enum.Enum):
    """How a field's value is written in ovs-ofctl syntax."""

    DECIMAL = "decimal"
    HEX = "hexadecimal"
    ETHERNET = "Ethernet"
    IPV4 = "IPv4"
    IPV6 = "IPv6"
    OFP_PORT = "OpenFlow 1.0 port"
    OFP_PORT_OXM = "OpenFlow 1.1+ port"
    FRAG = "frag"
    TCP_FLAGS = "TCP flags"
    CT_STATE = "ct state"
    TUN_FLAGS = "tunnel flags"
    PACKET_TYPE = "packet type"


class Prereq(enum.Enum):
    """What a match must already say before a field may be matched (ovs-fields(7) "Prerequisites")."""

    NONE = "none"
    ETHERNET = "Ethernet"
    VLAN_VID = "VLAN VID"
    ARP = "ARP"
    IPV4 = "IPv4"
    IPV6 = "IPv6"
    IP_ANY = "IPv4/IPv6"
    MPLS = "MPLS"
    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"
    ICMPV4 = "ICMPv4"
    ICMPV6 = "ICMPv6"
    ND = "ND"
    ND_SOLICIT = "ND solicit"
    ND_ADVERT = "ND advert"
    CT = "CT"


class Support(enum.Enum):
    """How an OpenFlow 1.0 or 1.1 fixed-format match can express a field."""

    NO = "not supported"
    EXACT = "exact match only"
    CIDR = "CIDR match only"
    YES = "yes"


# OXM classes (OpenFlow 1.2+) and the experimenter ids used with class 0xffff.
NXM_OF = 0x0000
NXM_NX = 0x0001
OXM_OF = 0x8000
OXM_EXP = 0xFFFF
OXM_PACKET_REGS = 0x8001
ONF_EXPERIMENTER = 0x4F4E4600
NX_EXPERIMENTER = 0x00002320


@dataclass(frozen=True, slots=True)
class HeaderId:
    """One NXM or OXM encoding of a field: its name as written in actions (``NXM_OF_ETH_SRC``), its class and
    field number, the experimenter id when the class is 0xffff, and the OpenFlow version that introduced it
    (0x03 means OpenFlow 1.2 for the basic class, 0 for Nicira extensions usable with any version)."""

    name: str
    oxm_class: int
    oxm_field: int
    experimenter: int = 0
    of_version: int = 0


@dataclass(frozen=True, slots=True)
class Field:
    """A field of the flow key.

    ``value_mask`` holds the bits a value may use (for ``vlan_vid`` 0xfff); ``ofs`` is the key bit where value bit
    0 lands; ``nbytes`` is the width of the value on the wire (NXM/OXM payload).  ``maskable`` says whether an
    arbitrary bitwise mask may be given.  ``headers`` lists the NXM/OXM encodings, preferred first.
    """

    id: int
    name: str
    aliases: tuple[str, ...]
    nbits: int
    nbytes: int
    value_mask: int
    ofs: int
    maskable: bool
    prereq: Prereq
    writable: bool
    fmt: Format
    headers: tuple[HeaderId, ...]
    of10: Support
    of11: Support
    storage: str

    @property
    def key_mask(self) -> int:
        """The bits of the flow key that this field covers."""
        return self.value_mask << self.ofs

    @property
    def all_names(self) -> tuple[str, ...]:
        return (self.name,) + self.aliases

    @property
    def nxm(self) -> HeaderId | None:
        for h in self.headers:
            if h.oxm_class in (NXM_OF, NXM_NX):
                return h
        return None

    @property
    def oxm(self) -> HeaderId | None:
        for h in self.headers:
            if h.oxm_class in (OXM_OF, OXM_EXP):
                return h
        return None

    def __repr__(self) -> str:
        return f"<Field {self.name}>"


# ---------------------------------------------------------------------------------------------------------------
# Storage layout, from the least significant bit of the key upward.  (name, bits).  Names beginning with "_" are
# hidden: the datapath needs them in the key but OpenFlow has no field for them.
TUN_METADATA_BITS = 124 * 8

_STORAGE_ORDER: list[tuple[str, int]] = [
    # Everything an IPv4 packet sets, lowest: an IPv4/UDP key stays a short integer.
    ("in_port", 32),
    ("tp_dst", 16), ("tp_src", 16),              # one int.from_bytes of the 4 port bytes fills both
    ("tcp_flags", 16),
    ("nw_dst", 32), ("nw_src", 32),              # likewise the 8 address bytes of an IPv4 header
    ("nw_proto", 8), ("nw_tos", 8), ("nw_ttl", 8), ("nw_frag", 8),
    ("dl_type", 16),
    ("vlan_tci", 16), ("_vlan_tpid", 16),
    ("dl_src", 48), ("dl_dst", 48),              # and the 12 address bytes of an Ethernet header
    ("_vlan2_tci", 16), ("_vlan2_tpid", 16),
    # ARP and MPLS.
    ("arp_tha", 48), ("arp_sha", 48),
    ("mpls_lse", 32), ("_mpls_lse1", 32), ("_mpls_lse2", 32),
    # IPv6.
    ("ipv6_label", 32),
    ("ipv6_dst", 128), ("ipv6_src", 128),
    ("nd_target", 128),
    # Pipeline metadata.
    ("metadata", 64),
    ("regs", 16 * 32),                           # reg15 lowest ... reg0 highest, so xreg0 = reg0:reg1
    ("skb_priority", 32), ("pkt_mark", 32), ("recirc_id", 32), ("dp_hash", 32), ("conj_id", 32),
    ("actset_output", 32), ("packet_type", 32),
    # Tunnel.
    ("tun_id", 64), ("tun_dst", 32), ("tun_src", 32),
    ("tun_ipv6_dst", 128), ("tun_ipv6_src", 128),
    ("tun_flags", 16), ("tun_gbp_id", 16), ("tun_gbp_flags", 8),
    ("_tun_tos", 8), ("_tun_ttl", 8), ("_tun_tp_src", 16), ("_tun_tp_dst", 16),
    # Connection tracking.
    ("ct_state", 32), ("ct_zone", 16), ("ct_mark", 32), ("ct_label", 128),
    ("ct_nw_proto", 8), ("ct_nw_dst", 32), ("ct_nw_src", 32),
    ("ct_ipv6_dst", 128), ("ct_ipv6_src", 128), ("ct_tp_dst", 16), ("ct_tp_src", 16),
    # The Geneve options a decapsulated packet carried, raw as on the wire (as one big-endian number, right-aligned
    # in the slot; up to the 252 bytes Geneve's 6-bit option length allows), and their length in bytes, with bit
    # 8 set whenever the packet came in a Geneve header (with or without options: the datapath prints those
    # packets' tunnel with geneve(...)).  They sit above everything a packet without options sets, so such a
    # packet's key stays short; the datapath keeps the options here until the ofproto maps them to
    # tun_metadataN (pyvswitch.flow.tun_metadata).
    ("_tun_geneve_len", 9), ("_tun_geneve", 252 * 8),
    # Which tunnel-metadata options a packet carried (bit N: tun_metadataN present), then the options themselves,
    # highest, each in a slot wide enough for the 124 bytes a Geneve option may carry.
    ("_tun_metadata_present", 64),
    ("tun_metadata", 64 * TUN_METADATA_BITS),
]

STORAGE: dict[str, tuple[int, int]] = {}
"""Storage name -> (ofs, bits)."""
_pos = 0
for _name, _bits in _STORAGE_ORDER:
    STORAGE[_name] = (_pos, _bits)
    _pos += _bits
KEY_BITS = _pos
HIDDEN = tuple(n for n in STORAGE if n.startswith("_"))


# ---------------------------------------------------------------------------------------------------------------
# The table itself.
_fields: list[Field] = []


def _h(name: str, cls: int, num: int, exp: int = 0, ver: int = 0) -> HeaderId:
    return HeaderId(name, cls, num, exp, ver)


def _nx(name: str, num: int) -> HeaderId:
    cls = NXM_OF if name.startswith("NXM_OF_") else NXM_NX
    return HeaderId(name, cls, num, 0, 0)


def _of(name: str, num: int, ver: int = 0x03) -> HeaderId:
    return HeaderId(name, OXM_OF, num, 0, ver)


def _add(name: str, storage: str, nbits: int, *, aliases: Iterable[str] = (), nbytes: int | None = None,
         shift: int = 0, value_mask: int | None = None, maskable: bool = True, prereq: Prereq = Prereq.NONE,
         writable: bool = True, fmt: Format = Format.HEX, headers: Iterable[HeaderId] = (),
         of10: Support = Support.NO, of11: Support = Support.NO) -> Field:
    ofs, sbits = STORAGE[storage]
    vm = value_mask if value_mask is not None else (1 << nbits) - 1
    assert (vm << shift).bit_length() <= sbits, name
    f = Field(id=len(_fields), name=name, aliases=tuple(aliases), nbits=nbits,
              nbytes=nbytes if nbytes is not None else (nbits + 7) // 8, value_mask=vm, ofs=ofs + shift,
              maskable=maskable, prereq=prereq, writable=writable, fmt=fmt, headers=tuple(headers),
              of10=of10, of11=of11, storage=storage)
    _fields.append(f)
    return f


P = Prereq
S = Support
F = Format

# --- Metadata fields --------------------------------------------------------------------------------------------
_add("tun_id", "tun_id", 64, aliases=("tunnel_id",),
     headers=[_nx("NXM_NX_TUN_ID", 16), _of("OXM_OF_TUNNEL_ID", 38, 0x04)])
_add("tun_src", "tun_src", 32, fmt=F.IPV4, headers=[_nx("NXM_NX_TUN_IPV4_SRC", 31)])
_add("tun_dst", "tun_dst", 32, fmt=F.IPV4, headers=[_nx("NXM_NX_TUN_IPV4_DST", 32)])
_add("tun_ipv6_src", "tun_ipv6_src", 128, fmt=F.IPV6, headers=[_nx("NXM_NX_TUN_IPV6_SRC", 109)])
_add("tun_ipv6_dst", "tun_ipv6_dst", 128, fmt=F.IPV6, headers=[_nx("NXM_NX_TUN_IPV6_DST", 110)])
_add("tun_gbp_id", "tun_gbp_id", 16, fmt=F.DECIMAL, headers=[_nx("NXM_NX_TUN_GBP_ID", 38)])
_add("tun_gbp_flags", "tun_gbp_flags", 8, headers=[_nx("NXM_NX_TUN_GBP_FLAGS", 39)])
for _i in range(64):
    _add(f"tun_metadata{_i}", "tun_metadata", TUN_METADATA_BITS, shift=_i * TUN_METADATA_BITS,
         headers=[_nx(f"NXM_NX_TUN_METADATA{_i}", 40 + _i)])
# The tun_flags slot also carries the datapath's tunnel flags that OpenFlow cannot see: bit 1 "don't fragment",
# bit 2 "checksum present", bit 3 "key present" (set by tunnel ports, printed by format_flow).  Bit 0 is "oam".
_add("tun_flags", "tun_flags", 1, nbytes=2, fmt=F.TUN_FLAGS, headers=[_nx("NXM_NX_TUN_FLAGS", 104)])
_add("in_port", "in_port", 16, maskable=False, fmt=F.OFP_PORT, headers=[_nx("NXM_OF_IN_PORT", 0)],
     of10=S.EXACT, of11=S.EXACT)
_add("in_port_oxm", "in_port", 32, value_mask=0xFFFF, nbytes=4, maskable=False, fmt=F.OFP_PORT_OXM,
     headers=[_of("OXM_OF_IN_PORT", 0)], of11=S.EXACT)
_add("skb_priority", "skb_priority", 32, maskable=False, writable=False)
_add("pkt_mark", "pkt_mark", 32, headers=[_nx("NXM_NX_PKT_MARK", 33)])
_add("actset_output", "actset_output", 32, value_mask=0xFFFF, maskable=False, writable=False,
     fmt=F.OFP_PORT_OXM,
     headers=[_h("ONFOXM_ET_ACTSET_OUTPUT", OXM_EXP, 43, ONF_EXPERIMENTER, 0x04),
              _of("OXM_OF_ACTSET_OUTPUT", 43, 0x06)])
_add("packet_type", "packet_type", 32, maskable=False, writable=False, fmt=F.PACKET_TYPE,
     headers=[_of("OXM_OF_PACKET_TYPE", 44, 0x06)])
_add("recirc_id", "recirc_id", 32, maskable=False, writable=False, fmt=F.HEX,
     headers=[_nx("NXM_NX_RECIRC_ID", 36)])
_add("dp_hash", "dp_hash", 32, writable=False, headers=[_nx("NXM_NX_DP_HASH", 35)])
_add("conj_id", "conj_id", 32, maskable=False, writable=False, fmt=F.DECIMAL, headers=[_nx("NXM_NX_CONJ_ID", 37)])

# --- Connection tracking ---------------------------------------------------------------------------------------
_add("ct_state", "ct_state", 32, writable=False, fmt=F.CT_STATE, headers=[_nx("NXM_NX_CT_STATE", 105)])
_add("ct_zone", "ct_zone", 16, maskable=False, writable=False, headers=[_nx("NXM_NX_CT_ZONE", 106)])
_add("ct_mark", "ct_mark", 32, headers=[_nx("NXM_NX_CT_MARK", 107)])
_add("ct_label", "ct_label", 128, headers=[_nx("NXM_NX_CT_LABEL", 108)])
_add("ct_nw_src", "ct_nw_src", 32, prereq=P.CT, writable=False, fmt=F.IPV4, headers=[_nx("NXM_NX_CT_NW_SRC", 120)])
_add("ct_nw_dst", "ct_nw_dst", 32, prereq=P.CT, writable=False, fmt=F.IPV4, headers=[_nx("NXM_NX_CT_NW_DST", 121)])
_add("ct_ipv6_src", "ct_ipv6_src", 128, prereq=P.CT, writable=False, fmt=F.IPV6,
     headers=[_nx("NXM_NX_CT_IPV6_SRC", 122)])
_add("ct_ipv6_dst", "ct_ipv6_dst", 128, prereq=P.CT, writable=False, fmt=F.IPV6,
     headers=[_nx("NXM_NX_CT_IPV6_DST", 123)])
_add("ct_nw_proto", "ct_nw_proto", 8, maskable=False, prereq=P.CT, writable=False, fmt=F.DECIMAL,
     headers=[_nx("NXM_NX_CT_NW_PROTO", 119)])
_add("ct_tp_src", "ct_tp_src", 16, prereq=P.CT, writable=False, fmt=F.DECIMAL, headers=[_nx("NXM_NX_CT_TP_SRC", 124)])
_add("ct_tp_dst", "ct_tp_dst", 16, prereq=P.CT, writable=False, fmt=F.DECIMAL, headers=[_nx("NXM_NX_CT_TP_DST", 125)])

# --- Registers: regN is 32 bits; xregN overlays reg(2N):reg(2N+1); xxregN overlays reg(4N)..reg(4N+3). ----------
_regs_ofs, _ = STORAGE["regs"]
for _i in range(16):
    _add(f"reg{_i}", "regs", 32, shift=(15 - _i) * 32, headers=[_nx(f"NXM_NX_REG{_i}", _i)])
for _i in range(8):
    # OpenFlow 1.3's packet registers have an OXM class of their own, OFPXMC_PACKET_REGS.
    _add(f"xreg{_i}", "regs", 64, shift=(7 - _i) * 64,
         headers=[HeaderId(f"OXM_OF_PKT_REG{_i}", OXM_PACKET_REGS, _i, 0, 0x04)])
for _i in range(4):
    _add(f"xxreg{_i}", "regs", 128, shift=(3 - _i) * 128, headers=[_nx(f"NXM_NX_XXREG{_i}", 111 + _i)])
_add("metadata", "metadata", 64, headers=[_of("OXM_OF_METADATA", 2)], of11=S.YES)

# --- Layer 2 ------------------------------------------------------------------------------------------------------
_add("eth_src", "dl_src", 48, aliases=("dl_src",), prereq=P.ETHERNET, fmt=F.ETHERNET,
     headers=[_nx("NXM_OF_ETH_SRC", 2), _of("OXM_OF_ETH_SRC", 4)], of10=S.EXACT, of11=S.YES)
_add("eth_dst", "dl_dst", 48, aliases=("dl_dst",), prereq=P.ETHERNET, fmt=F.ETHERNET,
     headers=[_nx("NXM_OF_ETH_DST", 1), _of("OXM_OF_ETH_DST", 3)], of10=S.EXACT, of11=S.YES)
_add("eth_type", "dl_type", 16, aliases=("dl_type",), maskable=False, prereq=P.ETHERNET, writable=False,
     headers=[_nx("NXM_OF_ETH_TYPE", 3), _of("OXM_OF_ETH_TYPE", 5)], of10=S.EXACT, of11=S.EXACT)
_add("vlan_tci", "vlan_tci", 16, prereq=P.ETHERNET, headers=[_nx("NXM_OF_VLAN_TCI", 4)], of10=S.EXACT,
     of11=S.EXACT)
_add("dl_vlan", "vlan_tci", 12, maskable=False, prereq=P.ETHERNET, fmt=F.DECIMAL, of10=S.EXACT, of11=S.EXACT)
_add("vlan_vid", "vlan_tci", 12, nbytes=2, prereq=P.ETHERNET, fmt=F.DECIMAL,
     headers=[_of("OXM_OF_VLAN_VID", 6)], of10=S.EXACT, of11=S.EXACT)
_add("dl_vlan_pcp", "vlan_tci", 3, shift=13, nbytes=1, maskable=False, prereq=P.ETHERNET, fmt=F.DECIMAL,
     of10=S.EXACT, of11=S.EXACT)
_add("vlan_pcp", "vlan_tci", 3, shift=13, nbytes=1, maskable=False, prereq=P.VLAN_VID, fmt=F.DECIMAL,
     headers=[_of("OXM_OF_VLAN_PCP", 7)], of10=S.EXACT, of11=S.EXACT)

# --- MPLS: one label stack entry, label(20) tc(3) bos(1) ttl(8). ----------------------------------------------------
_add("mpls_label", "mpls_lse", 20, shift=12, nbytes=4, maskable=False, prereq=P.MPLS, fmt=F.DECIMAL,
     headers=[_of("OXM_OF_MPLS_LABEL", 34)], of11=S.EXACT)
_add("mpls_tc", "mpls_lse", 3, shift=9, nbytes=1, maskable=False, prereq=P.MPLS, fmt=F.DECIMAL,
     headers=[_of("OXM_OF_MPLS_TC", 35)], of11=S.EXACT)
_add("mpls_bos", "mpls_lse", 1, shift=8, nbytes=1, maskable=False, prereq=P.MPLS, writable=False, fmt=F.DECIMAL,
     headers=[_of("OXM_OF_MPLS_BOS", 36, 0x04)])
_add("mpls_ttl", "mpls_lse", 8, maskable=False, prereq=P.MPLS, fmt=F.DECIMAL, headers=[_nx("NXM_NX_MPLS_TTL", 30)])

# --- Layer 3 ------------------------------------------------------------------------------------------------------
_add("ip_src", "nw_src", 32, aliases=("nw_src",), prereq=P.IPV4, fmt=F.IPV4,
     headers=[_nx("NXM_OF_IP_SRC", 7), _of("OXM_OF_IPV4_SRC", 11)], of10=S.CIDR, of11=S.YES)
_add("ip_dst", "nw_dst", 32, aliases=("nw_dst",), prereq=P.IPV4, fmt=F.IPV4,
     headers=[_nx("NXM_OF_IP_DST", 8), _of("OXM_OF_IPV4_DST", 12)], of10=S.CIDR, of11=S.YES)
_add("ipv6_src", "ipv6_src", 128, prereq=P.IPV6, fmt=F.IPV6,
     headers=[_nx("NXM_NX_IPV6_SRC", 19), _of("OXM_OF_IPV6_SRC", 26)])
_add("ipv6_dst", "ipv6_dst", 128, prereq=P.IPV6, fmt=F.IPV6,
     headers=[_nx("NXM_NX_IPV6_DST", 20), _of("OXM_OF_IPV6_DST", 27)])
_add("ipv6_label", "ipv6_label", 20, nbytes=4, prereq=P.IPV6,
     headers=[_nx("NXM_NX_IPV6_LABEL", 27), _of("OXM_OF_IPV6_FLABEL", 28)])
_add("nw_proto", "nw_proto", 8, aliases=("ip_proto",), maskable=False, prereq=P.IP_ANY, writable=False,
     fmt=F.DECIMAL, headers=[_nx("NXM_OF_IP_PROTO", 6), _of("OXM_OF_IP_PROTO", 10)], of10=S.EXACT, of11=S.EXACT)
_add("nw_ttl", "nw_ttl", 8, maskable=False, prereq=P.IP_ANY, fmt=F.DECIMAL, headers=[_nx("NXM_NX_IP_TTL", 29)])
_add("ip_frag", "nw_frag", 2, nbytes=1, aliases=("nw_frag",), prereq=P.IP_ANY, writable=False, fmt=F.FRAG,
     headers=[_nx("NXM_NX_IP_FRAG", 26)])
_add("nw_tos", "nw_tos", 8, value_mask=0xFC, maskable=False, prereq=P.IP_ANY, fmt=F.DECIMAL,
     headers=[_nx("NXM_OF_IP_TOS", 5)], of10=S.EXACT, of11=S.EXACT)
_add("ip_dscp", "nw_tos", 6, shift=2, nbytes=1, maskable=False, prereq=P.IP_ANY, fmt=F.DECIMAL,
     headers=[_of("OXM_OF_IP_DSCP", 8)], of10=S.EXACT, of11=S.EXACT)
_add("nw_ecn", "nw_tos", 2, nbytes=1, aliases=("ip_ecn",), maskable=False, prereq=P.IP_ANY, fmt=F.DECIMAL,
     headers=[_nx("NXM_NX_IP_ECN", 28), _of("OXM_OF_IP_ECN", 9)], of11=S.EXACT)
_add("arp_op", "nw_proto", 16, value_mask=0xFF, maskable=False, prereq=P.ARP, fmt=F.DECIMAL,
     headers=[_nx("NXM_OF_ARP_OP", 15), _of("OXM_OF_ARP_OP", 21)], of10=S.EXACT, of11=S.EXACT)
_add("arp_spa", "nw_src", 32, prereq=P.ARP, fmt=F.IPV4,
     headers=[_nx("NXM_OF_ARP_SPA", 16), _of("OXM_OF_ARP_SPA", 22)], of10=S.CIDR, of11=S.YES)
_add("arp_tpa", "nw_dst", 32, prereq=P.ARP, fmt=F.IPV4,
     headers=[_nx("NXM_OF_ARP_TPA", 17), _of("OXM_OF_ARP_TPA", 23)], of10=S.CIDR, of11=S.YES)
_add("arp_sha", "arp_sha", 48, prereq=P.ARP, fmt=F.ETHERNET,
     headers=[_nx("NXM_NX_ARP_SHA", 17), _of("OXM_OF_ARP_SHA", 24)])
_add("arp_tha", "arp_tha", 48, prereq=P.ARP, fmt=F.ETHERNET,
     headers=[_nx("NXM_NX_ARP_THA", 18), _of("OXM_OF_ARP_THA", 25)])

# --- Layer 4 ------------------------------------------------------------------------------------------------------
_add("tcp_src", "tp_src", 16, aliases=("tp_src",), prereq=P.TCP, fmt=F.DECIMAL,
     headers=[_nx("NXM_OF_TCP_SRC", 9), _of("OXM_OF_TCP_SRC", 13)], of10=S.EXACT, of11=S.EXACT)
_add("tcp_dst", "tp_dst", 16, aliases=("tp_dst",), prereq=P.TCP, fmt=F.DECIMAL,
     headers=[_nx("NXM_OF_TCP_DST", 10), _of("OXM_OF_TCP_DST", 14)], of10=S.EXACT, of11=S.EXACT)
_add("tcp_flags", "tcp_flags", 12, nbytes=2, prereq=P.TCP, writable=False, fmt=F.TCP_FLAGS,
     headers=[_nx("NXM_NX_TCP_FLAGS", 34), _h("ONFOXM_ET_TCP_FLAGS", OXM_EXP, 42, ONF_EXPERIMENTER, 0x04),
              _of("OXM_OF_TCP_FLAGS", 42, 0x06)])
_add("udp_src", "tp_src", 16, prereq=P.UDP, fmt=F.DECIMAL,
     headers=[_nx("NXM_OF_UDP_SRC", 11), _of("OXM_OF_UDP_SRC", 15)], of10=S.EXACT, of11=S.EXACT)
_add("udp_dst", "tp_dst", 16, prereq=P.UDP, fmt=F.DECIMAL,
     headers=[_nx("NXM_OF_UDP_DST", 12), _of("OXM_OF_UDP_DST", 16)], of10=S.EXACT, of11=S.EXACT)
_add("sctp_src", "tp_src", 16, prereq=P.SCTP, fmt=F.DECIMAL, headers=[_of("OXM_OF_SCTP_SRC", 17)], of11=S.EXACT)
_add("sctp_dst", "tp_dst", 16, prereq=P.SCTP, fmt=F.DECIMAL, headers=[_of("OXM_OF_SCTP_DST", 18)], of11=S.EXACT)
_add("icmp_type", "tp_src", 8, maskable=False, prereq=P.ICMPV4, fmt=F.DECIMAL,
     headers=[_nx("NXM_OF_ICMP_TYPE", 13), _of("OXM_OF_ICMPV4_TYPE", 19)], of10=S.EXACT, of11=S.EXACT)
_add("icmp_code", "tp_dst", 8, maskable=False, prereq=P.ICMPV4, fmt=F.DECIMAL,
     headers=[_nx("NXM_OF_ICMP_CODE", 14), _of("OXM_OF_ICMPV4_CODE", 20)], of10=S.EXACT, of11=S.EXACT)
_add("icmpv6_type", "tp_src", 8, maskable=False, prereq=P.ICMPV6, fmt=F.DECIMAL,
     headers=[_nx("NXM_NX_ICMPV6_TYPE", 21), _of("OXM_OF_ICMPV6_TYPE", 29)])
_add("icmpv6_code", "tp_dst", 8, maskable=False, prereq=P.ICMPV6, fmt=F.DECIMAL,
     headers=[_nx("NXM_NX_ICMPV6_CODE", 22), _of("OXM_OF_ICMPV6_CODE", 30)])
_add("nd_target", "nd_target", 128, prereq=P.ND, fmt=F.IPV6,
     headers=[_nx("NXM_NX_ND_TARGET", 23), _of("OXM_OF_IPV6_ND_TARGET", 31)])
_add("nd_sll", "arp_sha", 48, prereq=P.ND_SOLICIT, fmt=F.ETHERNET,
     headers=[_nx("NXM_NX_ND_SLL", 24), _of("OXM_OF_IPV6_ND_SLL", 32)])
_add("nd_tll", "arp_tha", 48, prereq=P.ND_ADVERT, fmt=F.ETHERNET,
     headers=[_nx("NXM_NX_ND_TLL", 25), _of("OXM_OF_IPV6_ND_TLL", 33)])

del P, S, F

FIELDS: tuple[Field, ...] = tuple(_fields)
"""Every field, in table order."""

BY_NAME: dict[str, Field] = {}
"""Every spelling users may write (canonical name and aliases) -> Field."""
for _f in FIELDS:
    for _alias in _f.all_names:
        assert _alias not in BY_NAME, _alias
        BY_NAME[_alias] = _f

BY_HEADER_NAME: dict[str, Field] = {h.name: f for f in FIELDS for h in f.headers}
"""NXM/OXM header names (``NXM_OF_ETH_SRC``, ``OXM_OF_METADATA``) -> Field, as ``load``/``move`` write them."""

BY_HEADER: dict[tuple[int, int, int], Field] = {(h.oxm_class, h.oxm_field, h.experimenter): f
                                                 for f in FIELDS for h in f.headers}
"""(class, field, experimenter) -> Field, for decoding NXM/OXM on the wire."""


def field(name: str) -> Field:
    """The field named ``name`` in any of its spellings (``dl_src``, ``eth_src``, ``NXM_OF_ETH_SRC``).

    Raises KeyError naming the unknown field."""
    f = BY_NAME.get(name) or BY_HEADER_NAME.get(name)
    if f is None:
        raise KeyError(name)
    return f


def field_mask(f: Field, mask: int | None = None) -> int:
    """The key mask of ``f`` restricted to the value bits in ``mask`` (all bits when None)."""
    if mask is None:
        return f.key_mask
    return (mask & f.value_mask) << f.ofs


def get(key: int, f: Field) -> int:
    """The value of field ``f`` in a flow key (or in a match's value or mask)."""
    return (key >> f.ofs) & f.value_mask


def put(key: int, f: Field, value: int) -> int:
    """``key`` with field ``f`` set to ``value`` (bits outside ``f.value_mask`` are ignored)."""
    return (key & ~f.key_mask) | ((value & f.value_mask) << f.ofs)


def storage_mask(name: str) -> int:
    """The key mask of a whole storage slot, hidden ones included (``"_vlan2_tci"``)."""
    ofs, bits = STORAGE[name]
    return ((1 << bits) - 1) << ofs


def storage_get(key: int, name: str) -> int:
    ofs, bits = STORAGE[name]
    return (key >> ofs) & ((1 << bits) - 1)


def storage_put(key: int, name: str, value: int) -> int:
    ofs, bits = STORAGE[name]
    m = ((1 << bits) - 1) << ofs
    return (key & ~m) | ((value << ofs) & m)
