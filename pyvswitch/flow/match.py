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
_ICMP_TYPE = F.BY_NAME["icmp_type"]
_ICMP_CODE = F.BY_NAME["icmp_code"]
_VLAN_TCI = F.BY_NAME["vlan_tci"]
_CT_STATE = F.BY_NAME["ct_state"]

_DL_TYPE_M = _DL_TYPE.key_mask
_NW_PROTO_M = _NW_PROTO.key_mask
_ICMP_TYPE_M = _ICMP_TYPE.key_mask
_ICMP_CODE_M = _ICMP_CODE.key_mask

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

    def is_exact(self, f: Field) -> bool:
        return (self.mask >> f.ofs) & f.value_mask == f.value_mask

    def is_wild(self, f: Field) -> bool:
        return not (self.mask & f.key_mask)

    def set(self, f: Field, value: int, mask: int | None = None) -> "Match":
        """This match with ``f`` set to ``value``/``mask`` (exact when ``mask`` is None)."""
        km = F.field_mask(f, mask)
        return Match((self.value & ~km) | ((value << f.ofs) & km), (self.mask & ~f.key_mask) | km)

    def clear(self, f: Field) -> "Match":
        """This match with ``f`` wildcarded."""
        return Match(self.value & ~f.key_mask, self.mask & ~f.key_mask)

    def set_bits(self, value: int, mask: int) -> "Match":
        """This match with the key bits in ``mask`` set to ``value``."""
        return Match((self.value & ~mask) | (value & mask), self.mask | mask)

    def covers(self, other: "Match") -> bool:
        """True if every key that ``other`` matches is also matched by this one."""
        return self.mask & ~other.mask == 0 and other.value & self.mask == self.value

    def overlaps(self, other: "Match") -> bool:
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


def _dl_type_is(value: int, mask: int, *types: int) -> bool:
    return mask & _DL_TYPE_M == _DL_TYPE_M and F.get(value, _DL_TYPE) in types


def _nw_proto_is(value: int, mask: int, proto: int) -> bool:
    return mask & _NW_PROTO_M == _NW_PROTO_M and F.get(value, _NW_PROTO) == proto


_IP_TYPES = (ETH_TYPE_IP, ETH_TYPE_IPV6)


def prereqs_ok(prereq: Prereq, value: int, mask: int) -> bool:
    """Whether a match (``value``/``mask``) satisfies ``prereq``: the fields the prerequisite names must be matched
    exactly with the right values."""
    if prereq is Prereq.NONE or prereq is Prereq.ETHERNET:
        return True
    if prereq is Prereq.ARP:
        return _dl_type_is(value, mask, ETH_TYPE_ARP, ETH_TYPE_RARP)
    if prereq is Prereq.IPV4:
        return _dl_type_is(value, mask, ETH_TYPE_IP)
    if prereq is Prereq.IPV6:
        return _dl_type_is(value, mask, ETH_TYPE_IPV6)
    if prereq is Prereq.IP_ANY:
        return _dl_type_is(value, mask, *_IP_TYPES)
    if prereq is Prereq.MPLS:
        return _dl_type_is(value, mask, ETH_TYPE_MPLS, ETH_TYPE_MPLS_MCAST)
    if prereq is Prereq.VLAN_VID:
        # vlan_pcp needs the match to say a VLAN header is present (the CFI bit of vlan_tci).
        tci_v, tci_m = F.get(value, _VLAN_TCI), F.get(mask, _VLAN_TCI)
        return bool(tci_m & VLAN_CFI and tci_v & VLAN_CFI)
    if prereq is Prereq.TCP:
        return _dl_type_is(value, mask, *_IP_TYPES) and _nw_proto_is(value, mask, IPPROTO_TCP)
    if prereq is Prereq.UDP:
        return _dl_type_is(value, mask, *_IP_TYPES) and _nw_proto_is(value, mask, IPPROTO_UDP)
    if prereq is Prereq.SCTP:
        return _dl_type_is(value, mask, *_IP_TYPES) and _nw_proto_is(value, mask, IPPROTO_SCTP)
    if prereq is Prereq.ICMPV4:
        return _dl_type_is(value, mask, ETH_TYPE_IP) and _nw_proto_is(value, mask, IPPROTO_ICMP)
    if prereq is Prereq.ICMPV6:
        return _dl_type_is(value, mask, ETH_TYPE_IPV6) and _nw_proto_is(value, mask, IPPROTO_ICMPV6)
    if prereq in (Prereq.ND, Prereq.ND_SOLICIT, Prereq.ND_ADVERT):
        if not prereqs_ok(Prereq.ICMPV6, value, mask):
            return False
        if mask & _ICMP_TYPE_M != _ICMP_TYPE_M or mask & _ICMP_CODE_M != _ICMP_CODE_M:
            return False
        if F.get(value, _ICMP_CODE) != 0:
            return False
        t = F.get(value, _ICMP_TYPE)
        if prereq is Prereq.ND_SOLICIT:
            return t == 135
        if prereq is Prereq.ND_ADVERT:
            return t == 136
        return t in (135, 136)
    if prereq is Prereq.CT:
        st_v, st_m = F.get(value, _CT_STATE), F.get(mask, _CT_STATE)
        return bool(st_m & CS_TRACKED and st_v & CS_TRACKED and st_m & CS_INVALID and not st_v & CS_INVALID)
    raise AssertionError(prereq)


_PREREQ_MASKS: dict[Prereq, int] = {
    Prereq.NONE: 0, Prereq.ETHERNET: 0,
    Prereq.ARP: _DL_TYPE_M, Prereq.IPV4: _DL_TYPE_M, Prereq.IPV6: _DL_TYPE_M, Prereq.IP_ANY: _DL_TYPE_M,
    Prereq.MPLS: _DL_TYPE_M, Prereq.VLAN_VID: F.field_mask(_VLAN_TCI, VLAN_CFI),
    Prereq.TCP: _DL_TYPE_M | _NW_PROTO_M, Prereq.UDP: _DL_TYPE_M | _NW_PROTO_M,
    Prereq.SCTP: _DL_TYPE_M | _NW_PROTO_M, Prereq.ICMPV4: _DL_TYPE_M | _NW_PROTO_M,
    Prereq.ICMPV6: _DL_TYPE_M | _NW_PROTO_M,
    Prereq.ND: _DL_TYPE_M | _NW_PROTO_M | _ICMP_TYPE_M | _ICMP_CODE_M,
    Prereq.ND_SOLICIT: _DL_TYPE_M | _NW_PROTO_M | _ICMP_TYPE_M | _ICMP_CODE_M,
    Prereq.ND_ADVERT: _DL_TYPE_M | _NW_PROTO_M | _ICMP_TYPE_M | _ICMP_CODE_M,
    Prereq.CT: F.field_mask(_CT_STATE, CS_TRACKED | CS_INVALID),
}


def prereq_mask(prereq: Prereq) -> int:
    """The key bits a prerequisite check looks at (to un-wildcard when checking it against a packet)."""
    return _PREREQ_MASKS[prereq]


def prereqs_ok_key(prereq: Prereq, key: int) -> tuple[bool, int]:
    """Whether a packet's flow key satisfies ``prereq``, and the key bits the answer depended on.

    The caller ORs the returned mask into its wildcards (a megaflow must pin them)."""
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

    def add_field(self, f: Field) -> None:
        self.mask |= f.key_mask

    def __repr__(self) -> str:
        return f"Wildcards({self.mask:#x})"
