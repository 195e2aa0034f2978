"""Fuzzing: every parser, fed random, mutated or truncated input, returns or raises Malformed, nothing else.

A corpus of valid frames covers every protocol of the package.  ``dissect`` chains the parsers the way flow
extraction will (Ethernet, then L3, then L4, then into tunnels) and records which parser ran at which offset, so
truncations can replay exactly those calls; the hypothesis tests also run every parser at every offset.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet6 import (
    ICMPv6ND_RA,
    ICMPv6ND_Redirect,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
)
from scapy.layers.l2 import Ether

from pyvswitch.packet import (
    ETH_TYPE_ARP,
    ETH_TYPE_IP,
    ETH_TYPE_IPV6,
    ETH_TYPE_MPLS,
    ETH_TYPE_MPLS_MCAST,
    ETH_TYPE_RARP,
    ETH_TYPE_TEB,
    ETH_TYPE_VLAN_8021AD,
    IPPROTO_GRE,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_SCTP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    UDP_PORT_GENEVE,
    UDP_PORT_ROCEV2,
    UDP_PORT_VXLAN,
    Malformed,
    ethernet,
    geneve_option,
    ieee8023,
    ipv4,
    ipv4_options,
    ipv6_options,
    is_nd,
    parse_arp,
    parse_ethernet,
    parse_geneve,
    parse_gre,
    parse_icmp4,
    parse_icmp6,
    parse_ipv4,
    parse_ipv6,
    parse_mpls,
    parse_nd,
    parse_roce_bth,
    parse_sctp,
    parse_tcp,
    parse_udp,
    parse_vxlan,
    sctp,
    sctp_chunk,
    sctp_chunks,
    snap,
    vlan_tag,
)
from pyvswitch.packet import build as b
from pyvswitch.packet.ipv6 import ipv6_frag_body, ipv6_opts_body, ipv6_routing_body

Parser = Callable[[bytes, int], Any]

PARSERS: dict[str, Parser] = {
    "ethernet": parse_ethernet,
    "arp": parse_arp,
    "ipv4": parse_ipv4,
    "ipv4-nolen": lambda buf, off: parse_ipv4(buf, off, check_length=False),
    "ipv6": parse_ipv6,
    "ipv6-nolen": lambda buf, off: parse_ipv6(buf, off, check_length=False),
    "icmp4": parse_icmp4,
    "icmp6": parse_icmp6,
    "nd": parse_nd,
    "tcp": parse_tcp,
    "udp": parse_udp,
    "sctp": parse_sctp,
    "sctp-chunks": sctp_chunks,
    "gre": parse_gre,
    "vxlan": parse_vxlan,
    "geneve": parse_geneve,
    "mpls": parse_mpls,
    "roce": parse_roce_bth,
    "ipv4-options": lambda buf, off: ipv4_options(buf[off:]),
    "ipv6-options": lambda buf, off: ipv6_options(buf[off:]),
}


class Dissector:
    """Chains the parsers like flow extraction; records every ``(parser, offset)`` call and the layers parsed."""

    def __init__(self, buf: bytes, depth: int = 0) -> None:
        self.buf = buf
        self.depth = depth
        self.calls: list[tuple[str, int]] = []
        self.layers: list[str] = []

    def run(self, name: str, off: int) -> Any:
        self.calls.append((name, off))
        result = PARSERS[name](self.buf, off)
        self.layers.append(name)
        return result

    def ethernet(self) -> None:
        eth, off = self.run("ethernet", 0)
        etype = eth.ethertype
        if etype in (ETH_TYPE_ARP, ETH_TYPE_RARP):
            self.run("arp", off)
        elif etype in (ETH_TYPE_MPLS, ETH_TYPE_MPLS_MCAST):
            _, off = self.run("mpls", off)
            if off < len(self.buf) and self.buf[off] >> 4 in (4, 6):
                self.l3(off, self.buf[off] >> 4)
        elif etype == ETH_TYPE_IP:
            self.l3(off, 4)
        elif etype == ETH_TYPE_IPV6:
            self.l3(off, 6)

    def l3(self, off: int, version: int) -> None:
        if version == 4:
            ip, l4 = self.run("ipv4", off)
            ipv4_options(ip.options)
            end = off + ip.total_length
        else:
            ip, l4 = self.run("ipv6", off)
            for ext in ip.exts:
                if ext.kind in (0, 60):
                    ipv6_options(ext.data)
            end = off + 40 + ip.payload_length
        if not ip.is_later_fragment:
            self.l4(ip.proto, l4, end)

    def l4(self, proto: int, l4: int, end: int) -> None:
        if proto == IPPROTO_TCP:
            self.run("tcp", l4)
        elif proto == IPPROTO_UDP:
            u, payload = self.run("udp", l4)
            if u.dst_port == UDP_PORT_VXLAN:
                _, inner = self.run("vxlan", payload)
                self.inner(inner, end)
            elif u.dst_port == UDP_PORT_GENEVE:
                g, inner = self.run("geneve", payload)
                if g.protocol == ETH_TYPE_TEB:
                    self.inner(inner, end)
            elif u.dst_port == UDP_PORT_ROCEV2:
                self.run("roce", payload)
        elif proto == IPPROTO_SCTP:
            _, chunks = self.run("sctp", l4)
            self.run("sctp-chunks", chunks)
        elif proto == IPPROTO_ICMP:
            self.run("icmp4", l4)
        elif proto == IPPROTO_ICMPV6:
            msg, _ = self.run("icmp6", l4)
            if is_nd(msg):
                self.calls.append(("nd", l4))
                parse_nd(self.buf, l4, end)
                self.layers.append("nd")
        elif proto == IPPROTO_GRE:
            g, inner = self.run("gre", l4)
            if g.protocol == ETH_TYPE_TEB:
                self.inner(inner, end)

    def inner(self, off: int, end: int) -> None:
        if self.depth >= 3:
            return
        nested = Dissector(self.buf[off:end], self.depth + 1)
        try:
            nested.ethernet()
        finally:
            self.calls += [("inner:" + name, off + o) for name, o in nested.calls]
            self.layers += ["inner:" + name for name in nested.layers]


def dissect(buf: bytes, calls: list[tuple[str, int]] | None = None) -> list[str]:
    """Parse ``buf`` layer by layer; return the layers parsed (and fill ``calls``).  Raises only Malformed."""
    d = Dissector(buf)
    try:
        d.ethernet()
    finally:
        if calls is not None:
            calls += d.calls
    return d.layers


INNER = b.tcp4_frame(payload=b"hello")
CORPUS: dict[str, bytes] = {
    "udp4": b.udp4_frame(payload=b"x" * 18),
    "udp4-vlans": b.udp4_frame(vlans=[vlan_tag(10, tpid=ETH_TYPE_VLAN_8021AD), vlan_tag(20, 3)], payload=b"q"),
    "tcp4-options": ethernet(b.ETH_DST, b.ETH_SRC, ETH_TYPE_IP, ipv4(
        b.IP4_SRC, b.IP4_DST, IPPROTO_TCP, b.tcp4_frame()[34:], options=b"\x94\x04\x00\x00")),
    "icmp4": b.icmp4_echo_frame(ident=1, seq=2, payload=b"ping"),
    "ipv4-later-frag": ethernet(b.ETH_DST, b.ETH_SRC, ETH_TYPE_IP,
                                ipv4(b.IP4_SRC, b.IP4_DST, IPPROTO_UDP, b"fragment", frag_off=10)),
    "arp": b.arp_request_frame(pad=True),
    "rarp": ethernet(b.ETH_BROADCAST, b.ETH_SRC, ETH_TYPE_RARP, b.arp_reply_frame()[14:]),
    "snap": ieee8023(b.ETH_DST, b.ETH_SRC, snap(ETH_TYPE_IP) + b.udp4_frame()[14:]),
    "udp6": b.udp6_frame(payload=b"six"),
    "udp6-exts": b.udp6_frame(exts=[(0, ipv6_opts_body([(5, b"\x00\x00")])), (43, ipv6_routing_body(0, 0)),
                                    (44, ipv6_frag_body(0, True, 7)), (60, ipv6_opts_body())]),
    "ipv6-later-frag": b.udp6_frame(exts=[(44, ipv6_frag_body(3, False, 7))]),
    "tcp6": b.tcp6_frame(payload=b"data"),
    "icmp6": b.icmp6_echo_frame(payload=b"ping6"),
    "nd-ns": b.nd_ns_frame(),
    "nd-na": b.nd_na_frame(),
    "nd-ra": bytes(Ether(dst=b.ETH_DST, src=b.ETH_SRC) / IPv6(src="fe80::1", dst="ff02::1") / ICMPv6ND_RA() / ICMPv6NDOptPrefixInfo()
                   / ICMPv6NDOptSrcLLAddr(lladdr="00:00:00:00:00:01")),
    "nd-redirect": bytes(Ether(dst=b.ETH_DST, src=b.ETH_SRC) / IPv6(src="fe80::1", dst="fe80::2") / ICMPv6ND_Redirect()),
    "sctp": ethernet(b.ETH_DST, b.ETH_SRC, ETH_TYPE_IP, ipv4(b.IP4_SRC, b.IP4_DST, IPPROTO_SCTP, sctp(
        1, 2, sctp_chunk(0, 3, bytes(12) + b"abc") + sctp_chunk(1, 0, bytes(16))))),
    "vxlan": b.vxlan4_frame(INNER, vni=10, policy_id=5),
    "geneve": b.geneve4_frame(INNER, vni=11, options=[geneve_option(1, 2, b"abcd"), geneve_option(3, 0x84)]),
    "gre": b.gre4_frame(INNER, key=1, seq=2, csum=True),
    "mpls": b.mpls_frame([16, 17, 18], b.udp4_frame()[14:]),
    "mpls6": b.mpls_frame([100], b.udp6_frame()[14:]),
    "roce": b.roce4_frame(payload=b"rdma"),
}

EXPECTED_DEEPEST = {
    "udp4": "udp", "udp4-vlans": "udp", "tcp4-options": "tcp", "icmp4": "icmp4", "ipv4-later-frag": "ipv4",
    "arp": "arp", "rarp": "arp", "snap": "udp", "udp6": "udp", "udp6-exts": "udp", "ipv6-later-frag": "ipv6",
    "tcp6": "tcp", "icmp6": "icmp6", "nd-ns": "nd", "nd-na": "nd", "nd-ra": "nd", "nd-redirect": "nd",
    "sctp": "sctp-chunks", "vxlan": "inner:tcp", "geneve": "inner:tcp", "gre": "inner:tcp", "mpls": "udp",
    "mpls6": "udp", "roce": "roce",
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_dissects_fully(name: str) -> None:
    assert dissect(CORPUS[name])[-1] == EXPECTED_DEEPEST[name]


def call(name: str, buf: bytes, off: int) -> None:
    try:
        PARSERS[name.removeprefix("inner:")](buf, off)
    except Malformed:
        pass


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_truncation(name: str) -> None:
    """Replay each parser call of the full dissection on every prefix of the frame; dissect each prefix too."""
    frame = CORPUS[name]
    calls: list[tuple[str, int]] = []
    dissect(frame, calls)
    for n in range(len(frame)):
        cut = frame[:n]
        for parser, off in calls:
            call(parser, cut, off)
        try:
            dissect(cut)
        except Malformed:
            pass


def every_parser_everywhere(buf: bytes) -> None:
    for off in range(len(buf) + 2):
        for name in PARSERS:
            call(name, buf, off)
    try:
        dissect(buf)
    except Malformed:
        pass


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_random_bytes(buf: bytes) -> None:
    every_parser_everywhere(buf)
    every_parser_everywhere(memoryview(buf))  # type: ignore[arg-type]


mutation = st.tuples(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]), st.integers(0, 10_000),
                     st.integers(0, 255))


def mutate(frame: bytes, mutations: list[tuple[str, int, int]]) -> bytes:
    buf = bytearray(frame)
    for op, pos, value in mutations:
        if not buf:
            break
        i = pos % len(buf)
        if op == "flip":
            buf[i] ^= 1 << (value % 8)
        elif op == "set":
            buf[i] = value
        elif op == "insert":
            buf[i:i] = bytes((value,))
        elif op == "delete":
            del buf[i]
        else:
            del buf[i:]
    return bytes(buf)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(CORPUS)), st.lists(mutation, min_size=1, max_size=6))
def test_mutated_frames(name: str, mutations: list[tuple[str, int, int]]) -> None:
    every_parser_everywhere(mutate(CORPUS[name], mutations))


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(sorted(CORPUS)), st.lists(mutation, min_size=1, max_size=3))
def test_mutated_frames_dissect(name: str, mutations: list[tuple[str, int, int]]) -> None:
    """Cheaper than every parser everywhere, so more examples: the chained dissection of mutated frames."""
    try:
        dissect(mutate(CORPUS[name], mutations))
    except Malformed:
        pass
