"""Matches: a (value, mask) pair of flow-key integers, and field prerequisites.

A ``Match`` says "the key bits selected by ``mask`` equal ``value``".  ``value`` never has bits outside ``mask``.
It is immutable and hashable, so rules and megaflows can be dict keys.  ``Match.set`` returns a new match; code
that builds a match field by field (the text parser, the NXM decoder) should keep plain ints while it works and
construct the ``Match`` once.

Prerequisites follow ovs-fields(7): a field may be matched only when the match already pins the fields that make
it meaningful (``tcp_dst`` needs ``dl_type`` IPv4 or IPv6 and ``nw_proto=6``).  ``prereqs_ok`` answers that for a
match; ``prereqs_ok_key`` answers it for a packet's flow key while recording, in a wildcards mask, the bits it had
to look at, which is what translation needs to keep megaflows correct.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyvswitch.flow import fields as F
from pyvswitch.flow.fields import Field, Prereq

ETH_TYPE_IP = 0x0800
ETH_TYPE_ARP = 0x0806
ETH_TYPE_RARP = 0x8035
ETH_TYPE_IPV6 = 0x86DD
ETH_TYPE_MPLS = 0x8847
ETH_TYPE_MPLS_MCAST = 0x8848
ETH_TYPE_VLAN = 0x8100
ETH_TYPE_VLAN_8021AD = 0x88A8

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58
IPPROTO_SCTP = 132

VLAN_CFI = 0x1000

_DL_TYPE = F.BY_NAME["dl_type"]
_NW_PROTO = F.BY_NAME["nw_proto"]
_VLAN_TCI = F.BY_NAME["vlan_tci"]
_CT_STATE = F.BY_NAME["ct_state"]

_DL_TYPE_M = _DL_TYPE.key_mask
_NW_PROTO_M = _NW_PROTO.key_mask
_IP_TYPES = (ETH_TYPE_IP, ETH_TYPE_IPV6)

CS_TRACKED = 0x20
CS_INVALID = 0x10


@dataclass(frozen=True, slots=True)
class Match:
    """Key bits selected by ``mask`` equal ``value``."""

    value: int = 0
    mask: int = 0

    def __post_init__(self) -> None:
        if self.value & ~self.mask:
            object.__setattr__(self, "value", self.value & self.mask)

    def matches(self, key: int) -> bool:
        return key & self.mask == self.value

    def get(self, f: Field) -> tuple[int, int]:
        """(value, mask) of field ``f``; mask 0 means the field is wildcarded."""
        return (self.value >> f.ofs) & f.value_mask, (self.mask >> f.ofs) & f.value_mask

    def set(self, f: Field, value: int, mask: int | None = None) -> Match:
        """This match with ``f`` set to ``value``/``mask`` (exact when ``mask`` is None)."""
        km = F.field_mask(f, mask)
        return Match((self.value & ~km) | ((value << f.ofs) & km), (self.mask & ~f.key_mask) | km)

    def clear(self, f: Field) -> Match:
        """This match with ``f`` wildcarded."""
        return Match(self.value & ~f.key_mask, self.mask & ~f.key_mask)

    def covers(self, other: Match) -> bool:
        """True if every key that ``other`` matches is also matched by this one."""
        return self.mask & ~other.mask == 0 and other.value & self.mask == self.value

    def overlaps(self, other: Match) -> bool:
        """True if some key is matched by both."""
        common = self.mask & other.mask
        return (self.value ^ other.value) & common == 0

    def fields(self) -> list[tuple[Field, int, int]]:
        """Every non-wildcarded field as (field, value, mask), in table order; overlapping views included."""
        out = []
        for f in F.FIELDS:
            m = (self.mask >> f.ofs) & f.value_mask
            if m:
                out.append((f, (self.value >> f.ofs) & f.value_mask, m))
        return out


CATCHALL = Match(0, 0)


_PACKET_TYPE = F.BY_NAME["packet_type"]
_NW_FRAG = F.BY_NAME["ip_frag"]
_TP_SRC = F.BY_NAME["tp_src"]
_TP_DST = F.BY_NAME["tp_dst"]
CS_NEW, CS_ESTABLISHED, CS_RELATED, CS_REPLY_DIR = 0x01, 0x02, 0x04, 0x08
CS_SRC_NAT, CS_DST_NAT = 0x40, 0x80
ND_NEIGHBOR_SOLICIT, ND_NEIGHBOR_ADVERT = 135, 136
FRAG_LATER = 2


def dl_type_of(value: int) -> int:
    """The Ethernet type a match value or key stands for: ``dl_type`` for Ethernet packets, the type a
    ``packet_type=(1,TYPE)`` names otherwise (OVS ``get_dl_type``)."""
    pt = F.get(value, _PACKET_TYPE)
    if pt == 0:
        return F.get(value, _DL_TYPE)
    if pt >> 16 == 1:
        return pt & 0xFFFF
    return 0x05FF


def prereqs_ok(prereq: Prereq, value: int, mask: int) -> bool:
    """Whether a match satisfies ``prereq``, as OVS's ``mf_are_match_prereqs_ok`` decides it: on the match's
    values (a wildcarded ``dl_type`` reads as 0, so it fails every Ethernet-type prerequisite).  ``mask`` matters
    only for conntrack, where an explicit ``-inv`` makes ``+trk`` a valid connection."""
    if prereq is Prereq.NONE:
        return True
    if prereq is Prereq.ETHERNET:
        return F.get(value, _PACKET_TYPE) == 0
    dl = dl_type_of(value)
    if prereq is Prereq.ARP:
        return dl in (ETH_TYPE_ARP, ETH_TYPE_RARP)
    if prereq is Prereq.IPV4:
        return dl == ETH_TYPE_IP
    if prereq is Prereq.IPV6:
        return dl == ETH_TYPE_IPV6
    if prereq is Prereq.IP_ANY:
        return dl in _IP_TYPES
    if prereq is Prereq.MPLS:
        return dl in (ETH_TYPE_MPLS, ETH_TYPE_MPLS_MCAST)
    if prereq is Prereq.VLAN_VID:
        return bool(F.get(value, _VLAN_TCI) & VLAN_CFI)
    if prereq is Prereq.CT:
        st = F.get(value, _CT_STATE)
        return bool(st & (CS_NEW | CS_ESTABLISHED | CS_RELATED | CS_REPLY_DIR | CS_SRC_NAT | CS_DST_NAT)
                    or (st & CS_TRACKED and F.get(mask, _CT_STATE) & CS_INVALID and not st & CS_INVALID))
    nwp = F.get(value, _NW_PROTO)
    later = F.get(value, _NW_FRAG) & FRAG_LATER
    if prereq is Prereq.TCP:
        return dl in _IP_TYPES and nwp == IPPROTO_TCP and not later
    if prereq is Prereq.UDP:
        return dl in _IP_TYPES and nwp == IPPROTO_UDP and not later
    if prereq is Prereq.SCTP:
        return dl in _IP_TYPES and nwp == IPPROTO_SCTP and not later
    if prereq is Prereq.ICMPV4:
        return dl == ETH_TYPE_IP and nwp == IPPROTO_ICMP
    is_icmp6 = dl == ETH_TYPE_IPV6 and nwp == IPPROTO_ICMPV6
    if prereq is Prereq.ICMPV6:
        return is_icmp6
    t = F.get(value, _TP_SRC)
    is_nd = is_icmp6 and F.get(value, _TP_DST) == 0 and t in (ND_NEIGHBOR_SOLICIT, ND_NEIGHBOR_ADVERT)
    if prereq is Prereq.ND:
        return is_nd
    if prereq is Prereq.ND_SOLICIT:
        return is_nd and t == ND_NEIGHBOR_SOLICIT
    if prereq is Prereq.ND_ADVERT:
        return is_nd and t == ND_NEIGHBOR_ADVERT
    raise AssertionError(prereq)


_L3 = _DL_TYPE_M | _PACKET_TYPE.key_mask
_L4 = _L3 | _NW_PROTO_M | _NW_FRAG.key_mask
_ND = _L4 | _TP_SRC.key_mask | _TP_DST.key_mask
_PREREQ_MASKS: dict[Prereq, int] = {
    Prereq.NONE: 0, Prereq.ETHERNET: _PACKET_TYPE.key_mask,
    Prereq.ARP: _L3, Prereq.IPV4: _L3, Prereq.IPV6: _L3, Prereq.IP_ANY: _L3, Prereq.MPLS: _L3,
    Prereq.VLAN_VID: F.field_mask(_VLAN_TCI, VLAN_CFI),
    Prereq.TCP: _L4, Prereq.UDP: _L4, Prereq.SCTP: _L4, Prereq.ICMPV4: _L4, Prereq.ICMPV6: _L4,
    Prereq.ND: _ND, Prereq.ND_SOLICIT: _ND, Prereq.ND_ADVERT: _ND,
    Prereq.CT: _CT_STATE.key_mask,
}


def prereq_mask(prereq: Prereq) -> int:
    """The key bits a prerequisite check looks at (to un-wildcard when checking it against a packet)."""
    return _PREREQ_MASKS[prereq]


def prereqs_ok_key(prereq: Prereq, key: int) -> tuple[bool, int]:
    """Whether a packet's flow key satisfies ``prereq``, and the key bits the answer depended on.

    The caller ORs the returned mask into its wildcards (a megaflow must pin them).  For conntrack a packet's
    state is valid when it is new, established or a reply, as OVS decides for an extracted flow."""
    if prereq is Prereq.CT:
        return bool(F.get(key, _CT_STATE) & (CS_NEW | CS_ESTABLISHED | CS_REPLY_DIR)), _CT_STATE.key_mask
    return prereqs_ok(prereq, key, -1), _PREREQ_MASKS[prereq]


class Wildcards:
    """The key bits a translation or lookup consulted, accumulated as it goes (``wc.mask |= bits``).

    The un-wildcarded bits are what a megaflow must match: any packet that agrees with this one on them gets the
    same decision.  Mutable on purpose: it is threaded through a whole translation."""

    __slots__ = ("mask",)

    def __init__(self, mask: int = 0) -> None:
        self.mask = mask

    def add(self, bits: int) -> None:
        self.mask |= bits

    def __repr__(self) -> str:
        return f"Wildcards({self.mask:#x})"
