"""GRE, VXLAN (with GBP), Geneve, MPLS and the RoCEv2 BTH, against Scapy both ways."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packet_helpers import checksums_ok, payloads, u8, u16, u24, u32
from scapy.contrib.geneve import GENEVE, GeneveOptions
from scapy.contrib.mpls import MPLS
from scapy.contrib.roce import BTH
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import GRE, Ether
from scapy.layers.vxlan import VXLAN
from scapy.packet import Packet, Raw

from pyvswitch.packet import (
    ETH_TYPE_IP,
    ETH_TYPE_IPV6,
    ETH_TYPE_TEB,
    GENEVE_OPT_CRITICAL,
    Malformed,
    MplsLabel,
    geneve,
    geneve_option,
    gre,
    mpls,
    parse_ethernet,
    parse_geneve,
    parse_gre,
    parse_ipv4,
    parse_mpls,
    parse_roce_bth,
    parse_udp,
    parse_vxlan,
    roce_bth,
    vxlan,
)
from pyvswitch.packet.build import (
    geneve4_frame,
    gre4_frame,
    mpls_frame,
    roce4_frame,
    udp4_frame,
    vxlan4_frame,
)
from pyvswitch.packet.checksum import internet_checksum

protos = st.sampled_from([ETH_TYPE_TEB, ETH_TYPE_IP, ETH_TYPE_IPV6, 0x8847])

# GRE.


@settings(max_examples=100, deadline=None)
@given(protos, st.none() | u32, st.none() | u32, st.booleans(), payloads)
def test_gre_both_ways(proto: int, key: int | None, seq: int | None, csum: bool, payload: bytes) -> None:
    layer = GRE(proto=proto, chksum_present=int(csum), key_present=int(key is not None), key=key,
                seqnum_present=int(seq is not None), sequence_number=seq)
    theirs = bytes(layer / Raw(payload))
    ours = gre(proto, payload, key=key, seq=seq, csum=csum)
    assert ours == theirs  # The checksum, when present, included.
    g, off = parse_gre(theirs)
    assert (g.protocol, g.key, g.seq, g.version) == (proto, key, seq, 0)
    assert off == 4 + 4 * (csum + (key is not None) + (seq is not None)) and theirs[off:] == payload
    if csum:
        assert g.csum == GRE(theirs).chksum and internet_checksum(theirs) == 0
    else:
        assert g.csum is None


def test_gre_refuses_other_versions_and_routing() -> None:
    good = gre(ETH_TYPE_TEB, b"x", key=1)
    with pytest.raises(Malformed):
        parse_gre(bytes(GRE(version=1, proto=0x880B)))  # PPTP's enhanced GRE.
    with pytest.raises(Malformed):
        parse_gre(b"\x60" + good[1:])  # Routing present.
    for n in range(8):
        with pytest.raises(Malformed):
            parse_gre(good[:n])


# VXLAN.


@settings(max_examples=100, deadline=None)
@given(u24, st.none() | u16, st.booleans(), st.booleans(), payloads)
def test_vxlan_both_ways(vni: int, policy_id: int | None, dont_learn: bool, applied: bool, payload: bytes) -> None:
    if policy_id is None:
        layer = VXLAN(vni=vni, flags=0x08)
        dont_learn = applied = False
    else:
        layer = VXLAN(vni=vni, flags=0x88, gpid=policy_id, gpflags=(0x40 if dont_learn else 0) | (8 if applied else 0))
    theirs = bytes(layer / Raw(payload))
    ours = vxlan(vni, payload, policy_id=policy_id, dont_learn=dont_learn, policy_applied=applied)
    assert ours == theirs
    v, off = parse_vxlan(theirs)
    assert v.vni == vni and v.i and v.g == (policy_id is not None) and off == 8
    assert (v.policy_id, v.dont_learn, v.policy_applied) == (policy_id or 0, dont_learn, applied)
    pkt = VXLAN(ours)
    assert pkt.vni == vni and (policy_id is None or pkt.gpid == policy_id)


def test_vxlan_reports_flags_without_judging() -> None:
    v, _ = parse_vxlan(bytes(8))
    assert not v.i and v.vni == 0
    with pytest.raises(Malformed):
        parse_vxlan(bytes(7))


# Geneve.

geneve_options = st.lists(
    st.tuples(u16, u8, st.binary(max_size=16).map(lambda b: b + bytes(-len(b) % 4))), max_size=4
)


@settings(max_examples=100, deadline=None)
@given(u24, protos, geneve_options, st.booleans(), payloads)
def test_geneve_both_ways(vni: int, proto: int, options: list[tuple[int, int, bytes]], oam: bool,
                          payload: bytes) -> None:
    critical = any(t & GENEVE_OPT_CRITICAL for _, t, _ in options)
    theirs = bytes(GENEVE(vni=vni, proto=proto, oam=int(oam), critical=int(critical),
                          options=[GeneveOptions(classid=c, type=t, data=d) for c, t, d in options]) / Raw(payload))
    ours = geneve(vni, payload, protocol=proto, oam=oam, options=[geneve_option(c, t, d) for c, t, d in options])
    assert ours == theirs
    g, off = parse_geneve(theirs)
    assert (g.version, g.vni, g.protocol, g.oam, g.critical) == (0, vni, proto, oam, critical)
    assert [(o.opt_class, o.type, o.data) for o in g.options] == options
    assert [o.critical for o in g.options] == [bool(t & 0x80) for _, t, _ in options]
    assert off == g.header_length == 8 + sum(4 + len(d) for _, _, d in options) and theirs[off:] == payload
    pkt = GENEVE(ours)
    assert [(o.classid, o.type, o.data) for o in pkt.options] == options


def test_geneve_critical_option_builder() -> None:
    opt = geneve_option(0x0102, 0x03, b"ab", critical=True)
    assert opt.type == 0x83 and opt.critical and opt.data == b"ab\x00\x00"
    g, _ = parse_geneve(geneve(7, options=[opt]))
    assert g.critical and g.options == (opt,)
    assert not parse_geneve(geneve(7, options=[opt], critical=False))[0].critical


def test_geneve_malformed() -> None:
    good = geneve(1, b"payload", options=[geneve_option(1, 2, b"abcd")])
    with pytest.raises(Malformed):
        parse_geneve(b"\x42" + good[1:])  # Version 1.
    with pytest.raises(Malformed):
        parse_geneve(good[:15])  # Option area truncated.
    with pytest.raises(Malformed):
        parse_geneve(good[:11] + b"\x02" + good[12:])  # Option longer than the area.
    with pytest.raises(Malformed):
        parse_geneve(b"\x01" + good[1:8] + good[8:12])  # A 4-byte area whose option claims 4 more.


# MPLS.

# Labels 0-15 are reserved and make Scapy guess special payloads; an IPv4 payload is what Scapy guesses otherwise.
labels = st.lists(st.builds(MplsLabel, st.integers(16, (1 << 20) - 1), st.integers(0, 7), st.just(0), u8),
                  min_size=1, max_size=4)


@settings(max_examples=100, deadline=None)
@given(labels, payloads)
def test_mpls_both_ways(stack: list[MplsLabel], data: bytes) -> None:
    payload = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / Raw(data))
    pkt: Packet = Raw(payload)
    for i, entry in reversed(list(enumerate(stack))):
        pkt = MPLS(label=entry.label, cos=entry.tc, s=int(i == len(stack) - 1), ttl=entry.ttl) / pkt
    theirs = bytes(pkt)
    assert mpls(stack, payload) == theirs
    parsed, off = parse_mpls(theirs)
    expected = [e._replace(bos=int(i == len(stack) - 1)) for i, e in enumerate(stack)]
    assert list(parsed) == expected and off == 4 * len(stack)
    frame = mpls_frame(stack, payload)
    layer = Ether(frame)[MPLS]
    for e in expected:
        assert (layer.label, layer.cos, layer.s, layer.ttl) == tuple(e)
        layer = layer.payload
    assert isinstance(layer, IP) and bytes(layer) == payload


def test_mpls_without_bottom_is_malformed() -> None:
    with pytest.raises(Malformed):
        parse_mpls(MplsLabel(16, 0, 0, 64).lse.to_bytes(4, "big") * 3)
    with pytest.raises(Malformed):
        parse_mpls(b"\x00\x01\x01")
    assert mpls([16, 17], b"")[-2] & 1 == 1  # Plain labels get a bottom-of-stack bit on the last.


# RoCEv2.


@settings(max_examples=100, deadline=None)
@given(u8, st.booleans(), st.booleans(), st.integers(0, 3), st.integers(0, 15), u16, st.booleans(), st.booleans(),
       u24, st.booleans(), u24)
def test_roce_bth_both_ways(opcode: int, se: bool, m: bool, pad: int, tver: int, pkey: int, fecn: bool, becn: bool,
                            qp: int, ackreq: bool, psn: int) -> None:
    theirs = bytes(BTH(opcode=opcode, solicited=se, migreq=m, padcount=pad, version=tver, pkey=pkey, fecn=fecn,
                       becn=becn, dqpn=qp, ackreq=ackreq, psn=psn, icrc=0))[:12]
    ours = roce_bth(opcode, qp, psn, pkey=pkey, solicited=se, migreq=m, pad_count=pad, tver=tver, fecn=fecn,
                    becn=becn, ackreq=ackreq)
    assert ours == theirs
    bth, off = parse_roce_bth(theirs)
    assert tuple(bth) == (opcode, se, m, pad, tver, pkey, fecn, becn, qp, ackreq, psn) and off == 12
    with pytest.raises(Malformed):
        parse_roce_bth(theirs[:11])


def test_roce_frame_dissected_by_scapy() -> None:
    frame = roce4_frame(opcode=0x0A, dest_qp=0x123456, psn=77, payload=b"rdma")
    pkt = Ether(frame)
    assert pkt[UDP].dport == 4791 and pkt[BTH].dqpn == 0x123456 and pkt[BTH].psn == 77
    _eth, off = parse_ethernet(frame)
    _ip, off = parse_ipv4(frame, off)
    _udp, off = parse_udp(frame, off)
    bth, off = parse_roce_bth(frame, off)
    assert off == len(frame) - 8
    assert (bth.opcode, bth.dest_qp, bth.psn) == (0x0A, 0x123456, 77)
    assert checksums_ok(frame)


# Whole encapsulated frames.


def test_tunnel_frames_dissected_by_scapy() -> None:
    inner = udp4_frame(payload=b"inner")
    v = Ether(vxlan4_frame(inner, vni=5000, policy_id=42))
    assert v[VXLAN].vni == 5000 and v[VXLAN].gpid == 42 and bytes(v[VXLAN].payload) == inner
    assert v[IP].flags == 2 and v[UDP].chksum == 0
    frame = vxlan4_frame(inner, vni=5000, udp_csum=True)
    assert checksums_ok(frame)
    g = Ether(geneve4_frame(inner, vni=99, options=[geneve_option(0x0102, 0x80, b"meta")]))
    assert g[GENEVE].vni == 99 and g[GENEVE].options[0].data == b"meta" and bytes(g[GENEVE].payload) == inner
    frame = gre4_frame(inner, key=7, csum=True)
    assert Ether(frame)[GRE].key == 7 and checksums_ok(frame)
