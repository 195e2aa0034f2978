"""Random rules and packets for the classifier's property tests and benchmark checks.

Values come from small pools so that random rules overlap and random packets hit them: addresses are prefixes of a
handful of base addresses, ports a handful of numbers.  Packets are built from the same pools, then made to match
a chosen rule and perturbed by a few flipped bits, so that lookups exercise near misses in every stage.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from hypothesis import strategies as st

from pyvswitch.flow import fields as F
from pyvswitch.flow.match import Match


@dataclass(eq=False)
class Rule:
    """A rule as the classifier sees it; compared by identity, like ofproto's rules."""

    match: Match
    priority: int
    conjunctions: tuple[tuple[int, int, int], ...] = ()
    name: str = field(default="")

    def __repr__(self) -> str:
        fs = ",".join(f"{f.name}={v:#x}/{m:#x}" for f, v, m in self.match.fields()
                      if f.name in FIELD_NAMES)
        conj = f" conj={self.conjunctions}" if self.conjunctions else ""
        return f"<Rule{self.name} pri={self.priority} {fs or '*'}{conj}>"


V4 = [0x0A000000, 0x0A010203, 0x0A0000FF, 0xC0A80101, 0xC0A80000, 0x0A800000]
V6 = [0x20010DB8 << 96, (0x20010DB8 << 96) | 1, (0xFE80 << 112) | 0xABCD, 0x20010DB8_00010000 << 64, 0]
MACS = [0x0A0000000001, 0x0A0000000002, 0xFFFFFFFFFFFF, 0x020000000001]

# name -> (kind, value pool).  kind: "exact" (full mask), "cidr" (prefix of the pool values), "mask" (arbitrary).
SPEC: dict[str, tuple[str, list[int]]] = {
    "in_port": ("exact", [1, 2, 3]),
    "dl_type": ("exact", [0x0800, 0x86DD, 0x0806]),
    "dl_src": ("mask", MACS),
    "vlan_tci": ("mask", [0, 0x1001, 0x1064]),
    "nw_src": ("cidr", V4),
    "nw_dst": ("cidr", V4),
    "nw_proto": ("exact", [1, 6, 17]),
    "nw_tos": ("exact", [0, 0x10]),
    "tp_src": ("mask", [80, 443, 1024, 0xFF50]),
    "tp_dst": ("mask", [80, 443, 22, 0x0050]),
    "tcp_flags": ("mask", [0x002, 0x010, 0x012]),
    "ipv6_src": ("cidr", V6),
    "ipv6_dst": ("cidr", V6),
    "nd_target": ("mask", V6),
    "metadata": ("mask", [0, 1, 0xFF00000000000001]),
    "reg0": ("mask", [0, 5, 0x80000005]),
    "conj_id": ("exact", [0, 1, 2, 3]),
    "ct_state": ("mask", [0x21, 0x22, 0x30]),
}
FIELD_NAMES = frozenset(F.BY_NAME[n].name for n in SPEC) | frozenset(SPEC)
FIELDS = {n: F.BY_NAME[n] for n in SPEC}
USED_BITS = 0
for _f in FIELDS.values():
    USED_BITS |= _f.key_mask


@st.composite
def matches(draw: st.DrawFn, max_fields: int = 4) -> Match:
    names = draw(st.lists(st.sampled_from(sorted(SPEC)), max_size=max_fields, unique=True))
    value = mask = 0
    for name in names:
        kind, pool = SPEC[name]
        f = FIELDS[name]
        v = draw(st.sampled_from(pool))
        width = f.value_mask.bit_length()
        if kind == "exact":
            m = f.value_mask
        elif kind == "cidr":
            if draw(st.integers(0, 9)) == 0:
                m = draw(st.integers(0, f.value_mask))          # an arbitrary mask: stays out of the trie
            else:
                plen = draw(st.integers(0, width))
                m = f.value_mask ^ ((1 << (width - plen)) - 1)
        else:
            m = draw(st.sampled_from([f.value_mask, f.value_mask & ~0xF, 1, f.value_mask >> 1, 0x1000 & f.value_mask])
                      | st.integers(0, f.value_mask))
        value |= (v & m) << f.ofs
        mask |= m << f.ofs
    return Match(value, mask)


@st.composite
def rules(draw: st.DrawFn, conj: bool = True, pri_max: int = 4, max_fields: int = 4,
          conj_one_in: int = 4) -> Rule:
    m = draw(matches(max_fields))
    pri = draw(st.integers(0, pri_max))
    conjunctions: tuple[tuple[int, int, int], ...] = ()
    if conj and draw(st.integers(1, conj_one_in)) == 1:
        cs = []
        for cid in draw(st.lists(st.sampled_from([1, 2, 3]), min_size=1, max_size=2, unique=True)):
            n = draw(st.sampled_from([2, 2, 3]))
            cs.append((cid, draw(st.integers(1, n)), n))
        conjunctions = tuple(cs)
    return Rule(m, pri, conjunctions)


# An operation on a table: ("insert", rule), ("remove", index into the current rules), ("replace", rule, index or
# None).  A replace with an index copies that rule's match and priority so that it really replaces something.
ops = st.lists(st.one_of(
    st.tuples(st.just("insert"), rules()),
    st.tuples(st.just("insert"), rules()),
    st.tuples(st.just("remove"), st.integers(0, 1000)),
    st.tuples(st.just("replace"), rules(), st.none() | st.integers(0, 1000)),
), max_size=40)


def random_packet(rng: random.Random) -> int:
    """A key with a value from the pools in every field (conj_id mostly 0, as packets have)."""
    key = 0
    for name, (_, pool) in SPEC.items():
        f = FIELDS[name]
        v = 0 if name == "conj_id" and rng.random() < 0.8 else rng.choice(pool)
        if rng.random() < 0.1:
            v = rng.getrandbits(f.value_mask.bit_length())
        key = F.put(key, f, v)
    return key


def packet_for(rng: random.Random, rules_: list[Rule]) -> int:
    """A packet biased to hit one of ``rules_``: pool values, the rule's match, then maybe a few flipped bits."""
    key = random_packet(rng)
    if rules_ and rng.random() < 0.85:
        # Overlaying a few rules' matches makes packets that satisfy several clauses of a conjunction, or match a
        # conj_id rule's other fields; the conj_id a packet carries is then usually reset to 0, as on the wire.
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            m = rng.choice(rules_).match
            key = (key & ~m.mask) | m.value
        if rng.random() < 0.7:
            key = F.put(key, FIELDS["conj_id"], 0)
        for _ in range(rng.choice([0, 0, 0, 1, 2])):
            bits = m.mask if m.mask and rng.random() < 0.7 else USED_BITS
            positions = [i for i in range(bits.bit_length()) if bits >> i & 1]
            key ^= 1 << rng.choice(positions)
    return key


def agreeing_key(rng: random.Random, key: int, mask: int, rules_: list[Rule]) -> int:
    """A key equal to ``key`` on ``mask`` and random (or like another rule-hitting packet) elsewhere."""
    r = rng.random()
    if r < 0.4:
        # A few flipped bits: the sharpest test, since a bit missing from a consulted mask shows up alone.
        free = USED_BITS & ~mask
        positions = [i for i in range(free.bit_length()) if free >> i & 1]
        other = key
        for i in rng.sample(positions, min(len(positions), rng.choice([1, 1, 2, 3]))):
            other ^= 1 << i
    elif r < 0.7:
        other = packet_for(rng, rules_)
    else:
        other = rng.getrandbits(USED_BITS.bit_length()) & USED_BITS
    return (key & mask) | (other & ~mask)
