#!/usr/bin/env python3
"""Random generator of OpenFlow flow lines in ``ovs-ofctl`` syntax, for differential testing of parse-flow.

``generate(rng, n)`` composes ``n`` new flow lines from a grammar of the match fields, flow-mod keywords and
actions that ``ovs-ofctl parse-flow`` understands.  Each line picks a protocol context (none, Ethernet only, IPv4,
IPv6, TCP, UDP, SCTP, ICMP, ICMPv6, ARP, RARP, MPLS), most of the time spells out a shorthand or
``dl_type=...,nw_proto=...`` that satisfies the prerequisites of the fields it then uses, and adds a random subset
of fields in random spellings (``nw_src``/``ip_src``, ``tp_dst``/``tcp_dst``, ``tun_id``/``tunnel_id`` ...) with
random values: exact, CIDR or arbitrary bit masks, decimal or hexadecimal, named flags.  The action list is built
from actions whose prerequisites the match satisfies, with instructions (``write_actions``, ``write_metadata``,
``goto_table``, ``meter``) in the order OpenFlow 1.1+ requires.  A small share of lines deliberately drops the
shorthand or adds an action without its prerequisite, so that normalization and consistency errors are exercised
too.  The output is *valid-looking*, not guaranteed valid: whatever ``ovs-ofctl`` answers is the truth.

Lines use the corpus syntax of ``tests/data/parse_flow_corpus.txt``: with ``versions=True`` some lines start with
``@OpenFlow1x `` (run with ``-O OpenFlow1x``); ``regen_parse_flow_corpus.corpus_argv`` turns a line into argv.

The generator is deterministic for a given ``random.Random`` state::

    import random, flowgen
    flows = flowgen.generate(random.Random(42), 100)

Run as a script to print flows: ``python tools/flowgen.py --seed 42 -n 20``.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable

Rng = random.Random

# --- value helpers ----------------------------------------------------------------------------------------------


def _num(rng: Rng, value: int) -> str:
    """Spell an integer in decimal or hexadecimal."""
    return str(value) if rng.random() < 0.5 else hex(value)


def _uint(rng: Rng, bits: int) -> int:
    """A random unsigned value, biased towards small and boundary values."""
    r = rng.random()
    top = (1 << bits) - 1
    if r < 0.15:
        return 0
    if r < 0.25:
        return top
    if r < 0.6:
        return rng.randint(0, min(top, 255))
    return rng.randint(0, top)


def _mask(rng: Rng, bits: int) -> int:
    """A random non-zero mask: a prefix, a low run of bits, a single bit or arbitrary bits."""
    top = (1 << bits) - 1
    kind = rng.randrange(4)
    if kind == 0:
        n = rng.randint(1, bits)
        return (top << (bits - n)) & top
    if kind == 1:
        return (1 << rng.randint(1, bits)) - 1
    if kind == 2:
        return 1 << rng.randrange(bits)
    return rng.randint(1, top)


def _int_field(bits: int, maskable: bool = True, hex_only: bool = False) -> Callable[[Rng], str]:
    def gen(rng: Rng) -> str:
        v = _uint(rng, bits)
        text = hex(v) if hex_only else _num(rng, v)
        if maskable and rng.random() < 0.35:
            m = _mask(rng, bits)
            return f"{text}/{hex(m)}"
        return text
    return gen


def _mac(rng: Rng) -> str:
    octets = [rng.randrange(256) for _ in range(6)]
    if rng.random() < 0.2:
        octets[0] |= 1  # multicast
    return ":".join(f"{o:02x}" if rng.random() < 0.9 else f"{o:x}" for o in octets)


def _mac_masked(rng: Rng) -> str:
    if rng.random() < 0.7:
        return _mac(rng)
    masks = ["ff:ff:ff:00:00:00", "01:00:00:00:00:00", "fe:ff:ff:ff:ff:ff", "ff:ff:ff:ff:ff:00",
             "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00"]
    return f"{_mac(rng)}/{rng.choice(masks)}"


def _ipv4(rng: Rng) -> str:
    first = rng.choice([10, 172, 192, 1, 224, 127, rng.randrange(256)])
    return ".".join(str(x) for x in [first] + [rng.randrange(256) for _ in range(3)])


def _ipv4_masked(rng: Rng) -> str:
    r = rng.random()
    if r < 0.5:
        return _ipv4(rng)
    if r < 0.85:
        return f"{_ipv4(rng)}/{rng.randint(0, 32)}"
    mask = ".".join(str(rng.choice([0, 255, 255, 128, 240, rng.randrange(256)])) for _ in range(4))
    return f"{_ipv4(rng)}/{mask}"


def _ipv6(rng: Rng) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return f"2001:db8::{rng.randrange(1, 0xffff):x}"
    if kind == 1:
        return f"fe80::{rng.randrange(0x10000):x}:{rng.randrange(0x10000):x}"
    if kind == 2:
        return "::1" if rng.random() < 0.5 else "::"
    if kind == 3:
        return f"::ffff:{_ipv4(rng)}"
    return ":".join(f"{rng.randrange(0x10000):x}" for _ in range(8))


def _ipv6_masked(rng: Rng) -> str:
    r = rng.random()
    if r < 0.55:
        return _ipv6(rng)
    if r < 0.9:
        return f"{_ipv6(rng)}/{rng.randint(0, 128)}"
    return f"{_ipv6(rng)}/{rng.choice(['ffff:ffff::', '::ffff', 'ffff::ffff', 'ff00::'])}"


def _port_name(rng: Rng) -> str:
    return rng.choice(["LOCAL", "IN_PORT", "CONTROLLER", "ANY", "local", "NONE", "NORMAL", "FLOOD", "ALL"])


def _in_port(rng: Rng) -> str:
    r = rng.random()
    if r < 0.7:
        return str(rng.choice([1, 2, 3, 5, 10, 100, 65279, rng.randint(1, 0xfeff)]))
    return _port_name(rng)


def _flags(rng: Rng, names: list[str], bits: int) -> str:
    """A flag-field value: '+a-b', 'a|b', or a (masked) number."""
    r = rng.random()
    chosen = rng.sample(names, rng.randint(1, min(4, len(names))))
    if r < 0.55:
        return "".join(rng.choice("+-") + n for n in chosen)
    if r < 0.75:
        return "|".join(chosen)
    v = rng.randrange(1 << bits)
    if rng.random() < 0.5:
        return hex(v)
    return f"{hex(v)}/{hex(_mask(rng, bits))}"


CT_FLAGS = ["new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat"]
TCP_FLAGS = ["fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns"]


def _ct_state(rng: Rng) -> str:
    if rng.random() < 0.5:
        return rng.choice(["+trk", "-trk", "+trk+new", "+trk+est", "+trk-new", "+trk+est-rel-inv",
                           "+trk+rel", "+trk+rpl", "+trk+inv", "-new+trk", "+trk+snat", "+trk+dnat"])
    return _flags(rng, CT_FLAGS, 8)


def _tcp_flags(rng: Rng) -> str:
    if rng.random() < 0.4:
        return rng.choice(["+syn", "+syn-ack", "-syn", "+ack", "+fin", "+rst", "syn|ack", "+psh+ack"])
    return _flags(rng, TCP_FLAGS, 9)


def _vlan_tci(rng: Rng) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return "0" if rng.random() < 0.5 else "0x0000"
    if kind == 1:
        return rng.choice(["0x1000/0x1000", "0x0000/0x1000", "0x1000/0xf000"])
    v = 0x1000 | rng.randrange(4096) | (rng.randrange(8) << 13)
    if kind == 2:
        return f"0x{v:04x}"
    return f"0x{v:04x}/0x{_mask(rng, 16):04x}"


def _subfield_name(rng: Rng) -> tuple[str, int]:
    """A register-like field in one of its spellings, with its width in bits."""
    kind = rng.randrange(6)
    if kind == 0:
        i = rng.randrange(16)
        return rng.choice([f"reg{i}", f"NXM_NX_REG{i}"]), 32
    if kind == 1:
        i = rng.randrange(8)
        return rng.choice([f"xreg{i}", f"OXM_OF_PKT_REG{i}"]), 64
    if kind == 2:
        i = rng.randrange(4)
        return rng.choice([f"xxreg{i}", f"NXM_NX_XXREG{i}"]), 128
    if kind == 3:
        return rng.choice(["metadata", "OXM_OF_METADATA"]), 64
    if kind == 4:
        return rng.choice(["tun_id", "NXM_NX_TUN_ID"]), 64
    return rng.choice(["pkt_mark", "NXM_NX_PKT_MARK"]), 32


def _bits(rng: Rng, width: int, n: int | None = None) -> tuple[str, int]:
    """A bit-range suffix ('[]', '[3]', '[0..15]') and its width."""
    if n is None:
        r = rng.random()
        if r < 0.3:
            return "[]", width
        n = 1 if r < 0.45 else rng.randint(1, width)
    if n == width and rng.random() < 0.5:
        return "[]", width
    start = rng.randint(0, width - n)
    if n == 1:
        return f"[{start}]", 1
    return f"[{start}..{start + n - 1}]", n


def _subfield(rng: Rng, n: int | None = None) -> tuple[str, int]:
    name, width = _subfield_name(rng)
    if n is not None and n > width:
        name, width = rng.choice([("xxreg0", 128), ("NXM_NX_XXREG1", 128)])
    suffix, nbits = _bits(rng, width, n)
    if suffix == "[]" and not name.isupper() and rng.random() < 0.5:
        return name, nbits          # plain names may omit "[]"
    return name + suffix, nbits


# --- match fields -----------------------------------------------------------------------------------------------

FieldGen = Callable[[Rng], str]


def _spell(*names: str) -> Callable[[Rng], str]:
    return lambda rng: rng.choice(names)


# (spellings, value generator).  Registers, tunnel metadata and subfields are handled separately.
META_FIELDS: list[tuple[Callable[[Rng], str], FieldGen]] = [
    (_spell("in_port"), _in_port),
    (_spell("metadata"), _int_field(64, hex_only=True)),
    (_spell("tun_id", "tunnel_id"), _int_field(64)),
    (_spell("tun_src"), _ipv4_masked),
    (_spell("tun_dst"), _ipv4_masked),
    (_spell("tun_ipv6_src"), _ipv6_masked),
    (_spell("tun_ipv6_dst"), _ipv6_masked),
    (_spell("tun_flags"), lambda rng: rng.choice(["+oam", "-oam", "oam", "0x1", "0", "1/1"])),
    (_spell("tun_gbp_id"), _int_field(16)),
    (_spell("tun_gbp_flags"), _int_field(8, maskable=False)),
    (_spell("pkt_mark"), _int_field(32)),
    (_spell("recirc_id"), _int_field(32, maskable=False)),
    (_spell("dp_hash"), _int_field(32)),
    (_spell("conj_id"), _int_field(32, maskable=False)),
    (_spell("ct_state"), _ct_state),
    (_spell("ct_zone"), _int_field(16, maskable=False)),
    (_spell("ct_mark"), _int_field(32)),
    (_spell("ct_label"), _int_field(128, hex_only=True)),
]

L2_FIELDS: list[tuple[Callable[[Rng], str], FieldGen]] = [
    (_spell("dl_src", "eth_src"), _mac_masked),
    (_spell("dl_dst", "eth_dst"), _mac_masked),
]

VLAN_FIELDS: list[tuple[Callable[[Rng], str], FieldGen]] = [
    (_spell("dl_vlan"), lambda rng: rng.choice([str(rng.randrange(4096)), "0xffff", "0"])),
    (_spell("dl_vlan_pcp", "vlan_pcp"), lambda rng: str(rng.randrange(8))),
    (_spell("vlan_tci"), _vlan_tci),
    (_spell("vlan_vid"), lambda rng: rng.choice([hex(0x1000 | rng.randrange(4096)), str(rng.randrange(4096)),
                                                 "0x1000/0x1000", "0", hex(0x1000 | rng.randrange(4096)) + "/0x1fff"])),
]

IP_COMMON: list[tuple[Callable[[Rng], str], FieldGen]] = [
    (_spell("nw_tos"), lambda rng: str(rng.randrange(64) * 4)),
    (_spell("ip_dscp"), lambda rng: str(rng.randrange(64))),
    (_spell("nw_ecn", "ip_ecn"), lambda rng: str(rng.randrange(4))),
    (_spell("nw_ttl"), lambda rng: str(_uint(rng, 8))),
    (_spell("ip_frag", "nw_frag"), lambda rng: rng.choice(["no", "yes", "first", "later", "not_later"])),
]

IPV4_FIELDS = [
    (_spell("nw_src", "ip_src"), _ipv4_masked),
    (_spell("nw_dst", "ip_dst"), _ipv4_masked),
] + IP_COMMON

IPV6_FIELDS = [
    (_spell("ipv6_src"), _ipv6_masked),
    (_spell("ipv6_dst"), _ipv6_masked),
    (_spell("ipv6_label"), _int_field(20)),
] + IP_COMMON


def _l4(proto: str) -> list[tuple[Callable[[Rng], str], FieldGen]]:
    return [
        (_spell("tp_src", f"{proto}_src"), _int_field(16)),
        (_spell("tp_dst", f"{proto}_dst"), _int_field(16)),
    ]


ICMP_FIELDS = [
    (_spell("icmp_type"), lambda rng: str(rng.choice([0, 3, 8, 11, rng.randrange(256)]))),
    (_spell("icmp_code"), lambda rng: str(rng.choice([0, 1, 3, rng.randrange(256)]))),
]

ICMP6_FIELDS = [
    (_spell("icmpv6_code", "icmp_code"), lambda rng: str(rng.choice([0, 1, rng.randrange(256)]))),
]

ARP_FIELDS = [
    (_spell("arp_op"), lambda rng: str(rng.choice([1, 2, 3, 4, rng.randrange(256)]))),
    (_spell("arp_spa"), _ipv4_masked),
    (_spell("arp_tpa"), _ipv4_masked),
    (_spell("arp_sha"), _mac_masked),
    (_spell("arp_tha"), _mac_masked),
]

MPLS_FIELDS = [
    (_spell("mpls_label"), lambda rng: _num(rng, rng.choice([0, 16, 100, 0xfffff, rng.randrange(1 << 20)]))),
    (_spell("mpls_tc"), lambda rng: str(rng.randrange(8))),
    (_spell("mpls_bos"), lambda rng: str(rng.randrange(2))),
    (_spell("mpls_ttl"), lambda rng: str(_uint(rng, 8))),
]

# Protocol contexts: name -> (shorthand, dl_type, nw_proto, l3 kind, l4 kind)
CONTEXTS = {
    "none": (None, None, None, None, None),
    "ip": ("ip", 0x0800, None, "ip4", None),
    "ipv6": ("ipv6", 0x86dd, None, "ip6", None),
    "tcp": ("tcp", 0x0800, 6, "ip4", "tcp"),
    "tcp6": ("tcp6", 0x86dd, 6, "ip6", "tcp"),
    "udp": ("udp", 0x0800, 17, "ip4", "udp"),
    "udp6": ("udp6", 0x86dd, 17, "ip6", "udp"),
    "sctp": ("sctp", 0x0800, 132, "ip4", "sctp"),
    "sctp6": ("sctp6", 0x86dd, 132, "ip6", "sctp"),
    "icmp": ("icmp", 0x0800, 1, "ip4", "icmp"),
    "icmp6": ("icmp6", 0x86dd, 58, "ip6", "icmp6"),
    "arp": ("arp", 0x0806, None, "arp", None),
    "rarp": ("rarp", 0x8035, None, "arp", None),
    "mpls": ("mpls", 0x8847, None, "mpls", None),
    "mplsm": ("mplsm", 0x8848, None, "mpls", None),
    "other": (None, 0x88cc, None, None, None),
}
CONTEXT_WEIGHTS = {"none": 14, "ip": 12, "ipv6": 8, "tcp": 12, "tcp6": 6, "udp": 8, "udp6": 4, "sctp": 3,
                   "sctp6": 2, "icmp": 5, "icmp6": 6, "arp": 7, "rarp": 2, "mpls": 5, "mplsm": 2, "other": 3}


class Ctx:
    """What the generated match establishes, so that actions can respect prerequisites."""

    def __init__(self, name: str) -> None:
        self.name = name
        shorthand, dl_type, nw_proto, l3, l4 = CONTEXTS[name]
        self.shorthand = shorthand
        self.dl_type = dl_type
        self.nw_proto = nw_proto
        self.l3 = l3
        self.l4 = l4
        self.vlan = False            # the match requires a VLAN header (CFI bit set)
        self.ct_tracked = False      # ct_state has +trk and a bit implying a valid connection
        self.table = 255
        self.version: str | None = None

    @property
    def is_ip(self) -> bool:
        return self.l3 in ("ip4", "ip6")


def _prereq_terms(rng: Rng, ctx: Ctx) -> list[str]:
    """The shorthand (or its dl_type/nw_proto spelling) that establishes ctx."""
    if ctx.dl_type is None:
        return []
    if ctx.shorthand and rng.random() < 0.8:
        return [ctx.shorthand]
    terms = [f"{rng.choice(['dl_type', 'eth_type'])}=0x{ctx.dl_type:04x}"]
    if ctx.nw_proto is not None:
        terms.append(f"{rng.choice(['nw_proto', 'ip_proto'])}={ctx.nw_proto}")
    return terms


def _register_terms(rng: Rng) -> list[str]:
    out = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        kind = rng.randrange(5)
        if kind <= 1:
            out.append(f"reg{rng.randrange(16)}={_int_field(32)(rng)}")
        elif kind == 2:
            out.append(f"xreg{rng.randrange(8)}={_int_field(64, hex_only=True)(rng)}")
        elif kind == 3:
            out.append(f"xxreg{rng.randrange(4)}={_int_field(128, hex_only=True)(rng)}")
        else:
            name, n = _subfield(rng)
            out.append(f"{name}={hex(rng.randrange(1 << min(n, 64)))}")
    return out


def _match_terms(rng: Rng, ctx: Ctx) -> list[str]:
    terms: list[str] = []
    pool: list[tuple[Callable[[Rng], str], FieldGen]] = []
    pool += rng.sample(META_FIELDS, rng.randint(0, 3))
    pool += rng.sample(L2_FIELDS, rng.randint(0, 2))
    if rng.random() < 0.25:
        vlan = rng.choice(VLAN_FIELDS)
        pool.append(vlan)
    if ctx.l3 == "ip4":
        pool += rng.sample(IPV4_FIELDS, rng.randint(0, 4))
    elif ctx.l3 == "ip6":
        pool += rng.sample(IPV6_FIELDS, rng.randint(0, 4))
    elif ctx.l3 == "arp":
        pool += rng.sample(ARP_FIELDS, rng.randint(0, 4))
    elif ctx.l3 == "mpls":
        pool += rng.sample(MPLS_FIELDS, rng.randint(0, 3))
    if ctx.l4 in ("tcp", "udp", "sctp"):
        pool += rng.sample(_l4(ctx.l4), rng.randint(0, 2))
    elif ctx.l4 == "icmp":
        pool += rng.sample(ICMP_FIELDS, rng.randint(0, 2))
    elif ctx.l4 == "icmp6":
        pool += rng.sample(ICMP6_FIELDS, rng.randint(0, 1))
    for spell, value in pool:
        name = spell(rng)
        text = value(rng)
        if name == "ct_state" and "+trk" in text and any(f"+{f}" in text for f in ("est", "new", "rel", "rpl")):
            ctx.ct_tracked = True
        if name in ("vlan_tci", "vlan_vid") and text.startswith("0x1") or name == "dl_vlan" and text != "0xffff":
            ctx.vlan = True
        terms.append(f"{name}={text}")
    if rng.random() < 0.3:
        terms += _register_terms(rng)
    if rng.random() < 0.12:
        i = rng.choice([0, 1, 2, 5, 17, 31, 32, 63, rng.randrange(64)])
        terms.append(f"tun_metadata{i}={_int_field(32, hex_only=True)(rng)}")
    if ctx.l4 == "tcp" and rng.random() < 0.3:
        terms.append(f"tcp_flags={_tcp_flags(rng)}")
    if ctx.l4 == "icmp6" and rng.random() < 0.6:
        icmp_type = rng.choice([135, 136, 128, 133])
        terms.append(f"{rng.choice(['icmpv6_type', 'icmp_type'])}={icmp_type}")
        if icmp_type in (135, 136) and rng.random() < 0.7:
            terms.append(f"nd_target={_ipv6_masked(rng)}")
            terms.append(f"{'nd_sll' if icmp_type == 135 else 'nd_tll'}={_mac_masked(rng)}")
    if ctx.is_ip and rng.random() < 0.15:
        # Connection-tracking original-direction tuple: needs a tracked, valid connection.
        terms.append(f"ct_state={rng.choice(['+trk+est', '+est+trk', '+trk+new', '+trk-inv', '+rpl+trk'])}")
        ctx.ct_tracked = True
        if ctx.l3 == "ip4":
            terms.append(f"ct_nw_src={_ipv4_masked(rng)}")
            if rng.random() < 0.5:
                terms.append(f"ct_nw_dst={_ipv4_masked(rng)}")
        else:
            terms.append(f"ct_ipv6_src={_ipv6_masked(rng)}")
            if rng.random() < 0.5:
                terms.append(f"ct_ipv6_dst={_ipv6_masked(rng)}")
        if rng.random() < 0.6:
            proto = ctx.nw_proto if ctx.nw_proto is not None else rng.choice([6, 17])
            terms.append(f"ct_nw_proto={proto}")
            terms.append(f"ct_tp_src={_int_field(16)(rng)}")
            if rng.random() < 0.5:
                terms.append(f"ct_tp_dst={_int_field(16)(rng)}")
    return terms


def _flowmod_terms(rng: Rng, ctx: Ctx) -> list[str]:
    terms = []
    if rng.random() < 0.5:
        terms.append(f"priority={rng.choice([0, 1, 10, 100, 1000, 32768, 65535, rng.randrange(65536)])}")
    if rng.random() < 0.25:
        ctx.table = rng.choice([0, 1, 2, 10, 100, 254])
        terms.append(f"table={ctx.table}")
    if rng.random() < 0.25:
        terms.append(f"cookie={_num(rng, rng.choice([1, 0xabc, 0x123456789abcdef, rng.randrange(1 << 64)]))}")
    if rng.random() < 0.2:
        terms.append(f"idle_timeout={rng.choice([0, 5, 60, 65535])}")
    if rng.random() < 0.2:
        terms.append(f"hard_timeout={rng.choice([0, 10, 300])}")
    if rng.random() < 0.08:
        terms.append(f"importance={rng.choice([0, 1, 100])}")
    for flag in ("send_flow_rem", "check_overlap"):
        if rng.random() < 0.08:
            terms.append(flag)
    if ctx.version in ("OpenFlow13", "OpenFlow14", "OpenFlow15"):
        for flag in ("reset_counts", "no_packet_counts", "no_byte_counts"):
            if rng.random() < 0.1:
                terms.append(flag)
    return terms


# --- actions ----------------------------------------------------------------------------------------------------

def _set_field_targets(ctx: Ctx) -> list[tuple[str, FieldGen]]:
    """(field name, value generator) pairs that set_field may write given the match context."""
    t: list[tuple[str, FieldGen]] = [
        (f"reg{0}", _int_field(32)), ("reg1", _int_field(32)), ("reg7", _int_field(32)),
        ("reg15", _int_field(32)), ("xreg2", _int_field(64, hex_only=True)),
        ("xxreg1", _int_field(128, hex_only=True)), ("metadata", _int_field(64, hex_only=True)),
        ("eth_src", _mac_masked), ("eth_dst", _mac), ("dl_src", _mac),
        ("tun_id", _int_field(64)), ("tunnel_id", _int_field(64, maskable=False)),
        ("tun_src", _ipv4), ("tun_dst", _ipv4), ("tun_ipv6_dst", _ipv6), ("pkt_mark", _int_field(32)),
        ("tun_metadata0", _int_field(32, maskable=False, hex_only=True)),
        ("tun_metadata7", _int_field(32, maskable=False, hex_only=True)),
        ("vlan_tci", lambda rng: rng.choice(["0", hex(0x1000 | rng.randrange(4096))])),
        ("in_port", _in_port),
    ]
    if ctx.vlan:
        t += [("vlan_vid", lambda rng: rng.choice([str(rng.randrange(4096)), hex(0x1000 | rng.randrange(4096))])),
              ("vlan_pcp", lambda rng: str(rng.randrange(8)))]
    if ctx.l3 == "ip4":
        t += [("ip_src", _ipv4), ("nw_dst", _ipv4), ("ip_dst", _ipv4_masked)]
    if ctx.l3 == "ip6":
        t += [("ipv6_src", _ipv6), ("ipv6_dst", _ipv6), ("ipv6_label", _int_field(20, maskable=False))]
    if ctx.is_ip:
        t += [("nw_tos", lambda rng: str(rng.randrange(64) * 4)), ("ip_dscp", lambda rng: str(rng.randrange(64))),
              ("nw_ecn", lambda rng: str(rng.randrange(4))), ("ip_ecn", lambda rng: str(rng.randrange(4))),
              ("nw_ttl", lambda rng: str(_uint(rng, 8)))]
    if ctx.l4 in ("tcp", "udp", "sctp"):
        t += [(f"{ctx.l4}_src", _int_field(16, maskable=False)), (f"{ctx.l4}_dst", _int_field(16, maskable=False))]
        if ctx.l4 != "sctp":
            t += [("tp_src", _int_field(16, maskable=False)), ("tp_dst", _int_field(16, maskable=False))]
    if ctx.l4 == "icmp":
        t += [("icmp_type", lambda rng: str(rng.randrange(256))), ("icmp_code", lambda rng: str(rng.randrange(256)))]
    if ctx.l4 == "icmp6":
        t += [("icmpv6_type", lambda rng: str(rng.randrange(256))),
              ("icmpv6_code", lambda rng: str(rng.randrange(256)))]
    if ctx.l3 == "arp":
        t += [("arp_op", lambda rng: str(rng.choice([1, 2]))), ("arp_spa", _ipv4), ("arp_tpa", _ipv4),
              ("arp_sha", _mac), ("arp_tha", _mac)]
    if ctx.l3 == "mpls":
        t += [("mpls_label", lambda rng: str(rng.randrange(1 << 20))), ("mpls_tc", lambda rng: str(rng.randrange(8))),
              ("mpls_ttl", lambda rng: str(_uint(rng, 8)))]
    return t


def _a_set_field(rng: Rng, ctx: Ctx) -> str:
    name, value = rng.choice(_set_field_targets(ctx))
    return f"set_field:{value(rng)}->{name}"


def _a_load(rng: Rng, ctx: Ctx) -> str:
    dst, n = _subfield(rng)
    return f"load:{hex(rng.randrange(1 << min(n, 64)))}->{dst}"


def _a_move(rng: Rng, ctx: Ctx) -> str:
    src, n = _subfield(rng)
    dst, _ = _subfield(rng, n)
    if ctx.l3 == "ip4" and rng.random() < 0.2:
        return rng.choice(["move:NXM_OF_IP_SRC[]->NXM_OF_IP_DST[]", "move:ip_src->reg0", "move:ip_dst->xreg0[0..31]"])
    if rng.random() < 0.15:
        return rng.choice(["move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]", "move:OXM_OF_ETH_SRC[]->OXM_OF_ETH_DST[]",
                           "move:eth_src->eth_dst", "move:NXM_OF_IN_PORT[]->NXM_NX_REG0[0..15]",
                           "move:in_port->reg3[16..31]", "move:ct_mark->reg0", "move:ct_label[0..31]->reg1"])
    return f"move:{src}->{dst}"


def _a_output(rng: Rng, ctx: Ctx) -> str:
    r = rng.random()
    if r < 0.45:
        port = rng.choice([1, 2, 3, 4, 10, 100, 65279, rng.randint(1, 0xfeff)])
        return f"output:{port}" if rng.random() < 0.7 else str(port)
    if r < 0.6:
        return f"output:{rng.choice(['LOCAL', 'IN_PORT', 'CONTROLLER', 'NORMAL', 'FLOOD', 'ALL', 'TABLE'])}"
    if r < 0.8:
        src, _ = _subfield(rng, rng.choice([16, 32, 8]))
        return f"output:{src}"
    named = rng.choice(["1", "2", "LOCAL"])
    return f"output(port={named},max_len={rng.choice([64, 128, 1500, 65535])})"


def _a_controller(rng: Rng, ctx: Ctx) -> str:
    r = rng.random()
    if r < 0.3:
        return rng.choice(["controller", "CONTROLLER"])
    if r < 0.45:
        return f"controller:{rng.choice([0, 64, 128, 65535])}"
    parts = []
    if rng.random() < 0.5:
        parts.append(f"reason={rng.choice(['no_match', 'action', 'invalid_ttl', 'action_set', 'group', 'packet_out'])}")
    if rng.random() < 0.5:
        parts.append(f"max_len={rng.choice([0, 64, 128, 1500, 65535])}")
    if rng.random() < 0.4:
        parts.append(f"id={rng.choice([0, 1, 7, 65535])}")
    if rng.random() < 0.3:
        parts.append("userdata=" + ".".join(f"{rng.randrange(256):02x}" for _ in range(rng.randint(1, 6))))
    if rng.random() < 0.2:
        parts.append("pause")
    if rng.random() < 0.2:
        parts.append(f"meter_id={rng.randint(1, 10)}")
    rng.shuffle(parts)
    return f"controller({','.join(parts)})"


def _a_resubmit(rng: Rng, ctx: Ctx) -> str:
    table = rng.randrange(254)
    port = rng.choice(["1", "2", "LOCAL", "IN_PORT", "10"])
    if ctx.ct_tracked and ctx.is_ip and rng.random() < 0.3:
        return f"resubmit({rng.choice(['', port])},{table},ct)"
    return rng.choice([f"resubmit:{rng.choice(['1', '3', 'LOCAL'])}", f"resubmit(,{table})",
                       f"resubmit({port},{table})", f"resubmit({rng.choice(['1', 'LOCAL'])})"])


def _a_ct(rng: Rng, ctx: Ctx) -> str:
    commit = rng.random() < 0.6
    parts = ["commit"] if commit else []
    if commit and rng.random() < 0.15:
        parts.append("force")
    if rng.random() < 0.4:
        parts.append(f"zone={rng.choice(['0', '1', '5', '65535', 'NXM_NX_REG0[0..15]', 'reg1[16..31]'])}")
    if rng.random() < 0.4:
        parts.append(f"table={rng.randrange(254)}")
    if rng.random() < 0.35:
        if not commit or rng.random() < 0.3:
            parts.append("nat")
        else:
            kind = rng.choice(["src", "dst"])
            if ctx.l3 == "ip6":
                a = _ipv6(rng)
                addr = rng.choice([a, f"[{a}]:{rng.randrange(1, 65536)}", f"[{a}]-[{a}]"])
            else:
                a = f"10.0.0.{rng.randint(1, 100)}"
                b = f"10.0.0.{rng.randint(101, 200)}"
                addr = rng.choice([a, f"{a}-{b}", f"{a}:{rng.randint(1, 1000)}", f"{a}-{b}:1000-2000"])
            flags = rng.sample(["persistent", rng.choice(["hash", "random"])], rng.randint(0, 2))
            parts.append(f"nat({','.join([f'{kind}={addr}'] + flags)})")
    if commit and rng.random() < 0.35:
        exe = rng.sample(["set_field:1->ct_mark", "set_field:0x1/0x1->ct_mark", "set_field:0x2->ct_label",
                          "load:1->NXM_NX_CT_MARK[]", "load:0x5->NXM_NX_CT_LABEL[0..63]",
                          "move:NXM_NX_REG0[]->NXM_NX_CT_MARK[]"], rng.randint(1, 2))
        parts.append(f"exec({','.join(exe)})")
    if commit and ctx.l4 in ("tcp", "udp") and rng.random() < 0.2:
        parts.append(f"alg={'ftp' if ctx.l4 == 'tcp' else 'tftp'}")
    rng.shuffle(parts)
    return f"ct({','.join(parts)})"


def _a_learn(rng: Rng, ctx: Ctx) -> str:
    parts = []
    if rng.random() < 0.9:
        parts.append(f"table={rng.randrange(254)}")
    for key, values in (("idle_timeout", [0, 10, 60]), ("hard_timeout", [0, 20, 300]),
                        ("fin_idle_timeout", [0, 5]), ("fin_hard_timeout", [0, 6]),
                        ("priority", [0, 1, 100, 65535]), ("cookie", ["0x5", "0xabc"]), ("limit", [0, 10])):
        if rng.random() < 0.2:
            parts.append(f"{key}={rng.choice(values)}")
    for flag in ("send_flow_rem", "delete_learned"):
        if rng.random() < 0.1:
            parts.append(flag)
    if rng.random() < 0.1:
        parts.append(f"result_dst=reg{rng.randrange(16)}[{rng.randrange(32)}]")
    specs = rng.sample([
        "NXM_OF_VLAN_TCI[0..11]", "NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[]", "eth_dst=eth_src",
        "load:NXM_OF_IN_PORT[]->NXM_NX_REG0[0..15]", "output:NXM_OF_IN_PORT[]", "load:0x5->reg1",
        "NXM_NX_REG0[0..15]=0x1234", "reg0[0..7]=NXM_NX_REG1[8..15]", "in_port=99", "NXM_NX_TUN_ID[]",
        "eth_type=0x800", "load:reg0[0..15]->reg1[16..31]", "output:reg2",
    ], rng.randint(0, 4))
    if ctx.l3 == "ip4" and rng.random() < 0.3:
        specs += ["eth_type=0x800", "NXM_OF_IP_SRC[]=NXM_OF_IP_DST[]"]
    return f"learn({','.join(parts + specs)})"


def _a_multipath(rng: Rng, ctx: Ctx) -> str:
    fields = rng.choice(["eth_src", "symmetric_l4", "symmetric_l3l4", "symmetric_l3l4+udp", "nw_src", "nw_dst",
                         "symmetric_l3"])
    alg = rng.choice(["modulo_n", "hash_threshold", "hrw", "iter_hash"])
    dst, n = _subfield(rng, rng.choice([4, 8, 16, 32]))
    links = rng.randint(1, 1 << min(n, 4))
    return f"multipath({fields},{rng.choice([0, 50, 1024, 65535])},{alg},{links},{rng.randrange(4)},{dst})"


def _a_bundle(rng: Rng, ctx: Ctx) -> str:
    fields = rng.choice(["eth_src", "symmetric_l4", "symmetric_l3l4", "nw_src"])
    alg = rng.choice(["hrw", "active_backup"])
    members = ",".join(str(rng.randint(1, 50)) for _ in range(rng.randint(1, 4)))
    word = rng.choice(["members", "members", "slaves"])
    if rng.random() < 0.5:
        dst, _ = _subfield(rng, rng.choice([16, 32]))
        return f"bundle_load({fields},{rng.choice([0, 60])},{alg},ofport,{dst},{word}:{members})"
    return f"bundle({fields},{rng.choice([0, 60])},{alg},ofport,{word}:{members})"


def _a_sample(rng: Rng, ctx: Ctx) -> str:
    parts = [f"probability={rng.choice([1, 100, 12345, 65535])}"]
    for key in ("collector_set_id", "obs_domain_id", "obs_point_id"):
        if rng.random() < 0.7:
            parts.append(f"{key}={rng.randrange(1 << 16)}")
    if rng.random() < 0.2:
        parts.append(f"sampling_port={rng.choice(['1', '8', 'LOCAL'])}")
    if rng.random() < 0.2:
        parts.append(rng.choice(["ingress", "egress"]))
    return f"sample({','.join(parts)})"


def _a_note(rng: Rng, ctx: Ctx) -> str:
    octets = [f"{rng.randrange(256):02x}" for _ in range(rng.randint(0, 9))]
    return "note:" + (".".join(octets) if rng.random() < 0.6 else "".join(octets))


def _a_clone(rng: Rng, ctx: Ctx) -> str:
    inner = [_simple_action(rng, ctx, allow_nested=False) for _ in range(rng.randint(0, 3))]
    return f"clone({','.join(inner)})"


def _a_dec_ttl(rng: Rng, ctx: Ctx) -> str:
    if rng.random() < 0.6:
        return "dec_ttl"
    return f"dec_ttl({','.join(str(rng.randrange(100)) for _ in range(rng.randint(0, 3)))})"


def _mpls_actions(rng: Rng, ctx: Ctx) -> str:
    return rng.choice([f"set_mpls_label:{rng.randrange(1 << 20)}", f"set_mpls_tc:{rng.randrange(8)}",
                       f"set_mpls_ttl:{rng.randrange(256)}", "dec_mpls_ttl", "pop_mpls:0x0800",
                       f"set_mpls_label({rng.randrange(1 << 20)})"])


# (weight, generator, condition on the context)
ACTIONS: list[tuple[int, Callable[[Rng, Ctx], str], Callable[[Ctx], bool]]] = [
    (14, _a_output, lambda c: True),
    (2, lambda r, c: f"enqueue:{r.choice(['1', '2', 'LOCAL', 'IN_PORT'])}:{r.randrange(8)}", lambda c: True),
    (2, lambda r, c: f"enqueue({r.randint(1, 9)},{r.randrange(8)})", lambda c: True),
    (4, lambda r, c: r.choice(["normal", "NORMAL", "flood", "all", "local", "in_port", "FLOOD"]), lambda c: True),
    (5, _a_controller, lambda c: True),
    (3, lambda r, c: f"mod_dl_{r.choice(['src', 'dst'])}:{_mac(r)}", lambda c: True),
    (3, lambda r, c: f"mod_nw_{r.choice(['src', 'dst'])}:{_ipv4(r)}", lambda c: c.l3 == "ip4"),
    (2, lambda r, c: f"mod_nw_tos:{r.randrange(64) * 4}", lambda c: c.is_ip),
    (2, lambda r, c: f"mod_nw_ecn:{r.randrange(4)}", lambda c: c.is_ip),
    (2, lambda r, c: f"mod_nw_ttl:{r.randrange(256)}", lambda c: c.is_ip),
    (3, lambda r, c: f"mod_tp_{r.choice(['src', 'dst'])}:{r.randrange(65536)}", lambda c: c.l4 in ("tcp", "udp", "sctp")),
    (2, lambda r, c: f"mod_vlan_vid:{r.randrange(4096)}", lambda c: True),
    (2, lambda r, c: f"mod_vlan_pcp:{r.randrange(8)}", lambda c: True),
    (2, lambda r, c: r.choice(["strip_vlan", "pop_vlan"]), lambda c: c.vlan),
    (2, lambda r, c: f"push_vlan:{r.choice(['0x8100', '0x88a8'])}", lambda c: c.version not in (None, "OpenFlow10")),
    (2, lambda r, c: f"push_mpls:{r.choice(['0x8847', '0x8848'])}", lambda c: c.is_ip or c.l3 == "arp"),
    (3, _mpls_actions, lambda c: c.l3 == "mpls"),
    (10, _a_set_field, lambda c: True),
    (6, _a_load, lambda c: True),
    (5, _a_move, lambda c: True),
    (3, _a_dec_ttl, lambda c: c.is_ip),
    (2, lambda r, c: f"set_tunnel:{_num(r, r.randrange(1 << 32))}", lambda c: True),
    (2, lambda r, c: f"set_tunnel64:{_num(r, r.randrange(1 << 64))}", lambda c: True),
    (2, lambda r, c: r.choice([f"set_queue:{r.randrange(16)}", "pop_queue"]), lambda c: True),
    (6, _a_resubmit, lambda c: True),
    (2, _a_note, lambda c: True),
    (2, lambda r, c: f"group:{r.choice([1, 2, 100, 0xfffffff0])}", lambda c: True),
    (5, _a_ct, lambda c: c.is_ip),
    (2, lambda r, c: "ct_clear", lambda c: True),
    (4, _a_learn, lambda c: True),
    (3, _a_clone, lambda c: True),
    (2, _a_multipath, lambda c: True),
    (2, _a_bundle, lambda c: True),
    (2, _a_sample, lambda c: True),
    (1, lambda r, c: "exit", lambda c: True),
    (2, lambda r, c: "fin_timeout(" + ",".join(r.sample([f"idle_timeout={r.randrange(100)}",
                                                        f"hard_timeout={r.randrange(100)}"], r.randint(1, 2))) + ")",
     lambda c: c.l4 == "tcp"),
    (2, lambda r, c: f"check_pkt_larger({r.choice([0, 64, 1500, 9000])})->reg{r.randrange(16)}[{r.randrange(32)}]",
     lambda c: True),
]

# Actions that may appear inside clone() or write_actions(): no instructions, no nesting.
_NESTABLE = [a for a in ACTIONS if a[1] not in (_a_clone, _a_learn)]


def _simple_action(rng: Rng, ctx: Ctx, allow_nested: bool = True) -> str:
    table = ACTIONS if allow_nested else _NESTABLE
    usable = [(w, g) for w, g, cond in table if cond(ctx)]
    weights = [w for w, _ in usable]
    gen = rng.choices([g for _, g in usable], weights=weights)[0]
    return gen(rng, ctx)


def _unchecked_action(rng: Rng, ctx: Ctx) -> str:
    """An action chosen without regard to the match: exercises 'actions are invalid with specified match'."""
    gen = rng.choice([g for _, g, _ in ACTIONS])
    return gen(rng, ctx)


def _actions(rng: Rng, ctx: Ctx) -> str:
    r = rng.random()
    if r < 0.05:
        return rng.choice(["drop", "", "DROP"])
    if r < 0.08:
        conj = [f"conjunction({rng.randint(1, 100)},{k}/{n})" for n in [rng.randint(2, 4)]
                for k in rng.sample(range(1, n + 1), 1)]
        if rng.random() < 0.3:
            conj.append(_a_note(rng, ctx))
        return ",".join(conj)
    acts = []
    versioned_13 = ctx.version in ("OpenFlow13", "OpenFlow14", "OpenFlow15")
    if versioned_13 and rng.random() < 0.15:
        acts.append(f"meter:{rng.randint(1, 10)}")
    for _ in range(rng.choice([1, 1, 2, 2, 3, 4, 5])):
        acts.append(_simple_action(rng, ctx) if rng.random() > 0.04 else _unchecked_action(rng, ctx))
    # Instructions, in the order OpenFlow 1.1+ requires.
    if rng.random() < 0.06:
        acts.append("clear_actions")
    if rng.random() < 0.1:
        inner = [_simple_action(rng, ctx, allow_nested=False) for _ in range(rng.randint(1, 3))]
        acts.append(f"write_actions({','.join(inner)})")
    if rng.random() < 0.08:
        v = rng.randrange(1 << 64)
        acts.append(f"write_metadata:{hex(v)}" + (f"/{hex(_mask(rng, 64))}" if rng.random() < 0.5 else ""))
    if rng.random() < 0.12:
        lo = 0 if ctx.table == 255 else ctx.table + 1
        acts.append(f"goto_table:{rng.randint(lo, 254) if lo <= 254 else 254}")
    return ",".join(acts)


VERSIONS = ["OpenFlow10", "OpenFlow11", "OpenFlow12", "OpenFlow13", "OpenFlow13", "OpenFlow14", "OpenFlow15"]


def generate_one(rng: Rng, versions: bool = True) -> str:
    """Compose one flow line (possibly with an '@VERSION ' prefix when versions is true)."""
    names = list(CONTEXT_WEIGHTS)
    ctx = Ctx(rng.choices(names, weights=[CONTEXT_WEIGHTS[n] for n in names])[0])
    if versions and rng.random() < 0.15:
        ctx.version = rng.choice(VERSIONS)
    terms = _flowmod_terms(rng, ctx)
    terms += _match_terms(rng, ctx)
    if rng.random() < 0.92:
        prereq = _prereq_terms(rng, ctx)
        # Shorthands usually come first, but ovs-ofctl does not care where they are.
        if rng.random() < 0.7:
            terms = prereq + terms
        else:
            terms += prereq
            rng.shuffle(terms)
    else:
        rng.shuffle(terms)
    action_text = _actions(rng, ctx)
    sep = "," if rng.random() < 0.9 else " "
    flow = sep.join(terms + [f"actions={action_text}"])
    return f"@{ctx.version} {flow}" if ctx.version else flow


def generate(rng: Rng, n: int, versions: bool = True) -> list[str]:
    """Return n new flow lines drawn from rng (deterministic for a given rng state)."""
    return [generate_one(rng, versions) for _ in range(n)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Print random flows in ovs-ofctl syntax.")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--no-versions", action="store_true", help="never emit '@OpenFlow1x ' prefixes")
    args = ap.parse_args(argv)
    for line in generate(random.Random(args.seed), args.n, versions=not args.no_versions):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
