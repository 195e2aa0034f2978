"""The datapath action executor (pyvswitch.dpif.execute), checked against a real Open vSwitch and Scapy.

* ``tests/data/dpif/execute_cases.json`` (captured by ``tests/data/dpif/execute_capture.py``): packets injected
  into a real ovs-vswitchd with a dummy datapath, the datapath actions it executed, and the frames its dummy
  ports transmitted.  Our executor, given the same packet and the parsed actions, must transmit the same bytes,
  except in the few cases listed in ``DELIBERATE`` where Open vSwitch writes into bytes that are not the header
  the action names (payload of a non-first fragment, a non-IP packet).
* Checksums: every header-rewriting set action, on plain, VLAN-tagged, IPv6-extension-header and fragmented
  packets, must leave checksums that Scapy computes the same way from scratch.
* Hypothesis: random packets and random action lists never raise and give frames that parse; on well-formed
  packets random set actions keep every checksum correct.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.all import (
    ARP,
    ICMP,
    IP,
    SCTP,
    TCP,
    UDP,
    Dot1AD,
    Dot1Q,
    Ether,
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    Packet,
    raw,
)
from scapy.contrib.mpls import MPLS

from pyvswitch.dpif import odp
from pyvswitch.dpif.execute import (
    ExecContext,
    PacketMetadata,
    compile_actions,
    execute,
    execute_batch,
    l4_hash,
)
from pyvswitch.dpif.odp import parse_actions
from pyvswitch.flow.extract import extract

DATA = json.loads((Path(__file__).parent.parent / "data" / "dpif" / "execute_cases.json").read_text())
PORT_NAMES = {int(k): v for k, v in DATA["port_names"].items()}
# Cases whose megaflow sends the packet to the slow path (Open vSwitch 3.1 translates some set-field actions,
# e.g. on ICMP type, ND and ARP fields, into a slow-path upcall): no datapath actions ran, nothing to compare.
SLOW_PATH = [c for c in DATA["cases"] if c["dp_actions"].startswith("userspace(") and "slow_path" in c["dp_actions"]]
CASES = [c for c in DATA["cases"] if not c.get("error") and c not in SLOW_PATH]
# Cases where we leave bytes alone that Open vSwitch rewrites (reason -> name).  In each, OVS applies an L3 or
# L4 rewrite at a header offset that holds no such header: the checksum "update" of a non-first IPv4 fragment
# lands in its payload, a set(udp) on a TCP segment rewrites its ports, a set(ipv4) on a non-IP frame writes
# into its payload.  We apply the rewrites that the header present allows and nothing else.
DELIBERATE = {
    "frag_later": "L4 checksum update in the payload of a non-first fragment",
    "dp_frag_later_udp": "L4 port rewrite and checksum update in the payload of a non-first fragment",
    "dp_udp_on_tcp": "set(udp) applied to a TCP segment",
    "dp_non_ip_set_ipv4": "set(ipv4) applied to a frame of Ethernet type 0x1234",
}
MACS = {"src": "50:54:00:00:00:05", "dst": "50:54:00:00:00:07"}
PAY = b"0123456789abcdefghijklmnopq"


class Recorder(ExecContext):
    """ExecContext with outputs by port name and scripted random numbers and meter answers."""

    def __init__(self, randoms: list[int] | None = None, meter_ok: bool = True) -> None:
        super().__init__()
        self.randoms = list(randoms or [])
        self.meter_ok = meter_ok
        self.meter_calls: list[tuple[int, int]] = []

    def random(self) -> int:
        return self.randoms.pop(0) if self.randoms else super().random()

    def meter(self, meter_id: int, packet: bytearray, md: PacketMetadata) -> bool:
        self.meter_calls.append((meter_id, len(packet)))
        return self.meter_ok


def run(packet: bytes, actions: str, ctx: ExecContext | None = None) -> list[tuple[int, bytes]]:
    ctx = ctx or ExecContext()
    execute(packet, parse_actions(actions), ctx)
    return ctx.outputs


def out1(packet: bytes, actions: str) -> bytes:
    outs = run(packet, actions + ",1")
    assert len(outs) == 1
    return outs[0][1]


# ------------------------------------------------------------------------------------------------------------
# Against Open vSwitch.
def test_cases_are_plentiful() -> None:
    assert len(CASES) >= 45
    kinds = " ".join(c["dp_actions"] for c in CASES)
    for needle in ("set(ipv4", "set(ipv6", "set(tcp", "set(udp", "set(sctp", "set(icmp(", "set(icmpv6", "set(arp",
                   "set(nd", "set(mpls", "set(eth", "push_vlan", "pop_vlan", "push_mpls", "pop_mpls", "trunc",
                   "clone", "sample", "check_pkt_len", "/"):
        assert needle in kinds, needle


def _ours(case: dict[str, Any]) -> list[list[str]]:
    ctx = ExecContext()
    execute(bytes.fromhex(case["packet"]), parse_actions(case["dp_actions"]), ctx)
    # The pcaps give the frames of each port in order, p2's before p3's.
    return sorted(([PORT_NAMES[p], f.hex()] for p, f in ctx.outputs), key=lambda x: x[0])


@pytest.mark.parametrize("case", [c for c in CASES if c["name"] not in DELIBERATE], ids=lambda c: c["name"])
def test_same_frames_as_ovs(case: dict[str, Any]) -> None:
    assert _ours(case) == case["outputs"], case["dp_actions"]


@pytest.mark.parametrize("name", sorted(DELIBERATE))
def test_deliberate_differences(name: str) -> None:
    """Where OVS writes into bytes that are not the named header, we match OVS in the header the packet has
    and leave the rest of the frame as it came in."""
    case = next(c for c in CASES if c["name"] == name)
    packet = bytes.fromhex(case["packet"])
    ours = _ours(case)
    assert [p for p, _ in ours] == [p for p, _ in case["outputs"]]
    for (_, mine), (_, theirs) in zip(ours, case["outputs"], strict=True):
        mine_b, theirs_b = bytes.fromhex(mine), bytes.fromhex(theirs)
        assert mine_b != theirs_b
        # Ethernet + IPv4 header (20 bytes) of the fragments and the TCP case; the Ethernet header of the
        # non-IP frame.
        head = 14 if name == "dp_non_ip_set_ipv4" else 34
        assert mine_b[:head] == theirs_b[:head]
        assert mine_b[head:] == packet[head:]


def test_slow_path_cases_are_only_the_known_ones() -> None:
    assert {c["name"] for c in SLOW_PATH} <= {"icmp_type", "nd", "arp"}


# ------------------------------------------------------------------------------------------------------------
# Checksums against Scapy.
_CSUM_LAYERS = (IP, TCP, UDP, ICMP, SCTP)


def scapy_recomputed(frame: bytes, udp4_zero: bool = False) -> bytes:
    """``frame`` with every checksum recomputed by Scapy (an IPv4 UDP checksum of 0 kept as 0)."""
    pkt = Ether(frame)
    layer: Packet | None = pkt
    while layer is not None and layer.__class__.__name__ != "NoPayload":
        if isinstance(layer, UDP) and udp4_zero and layer.chksum == 0:
            pass
        elif hasattr(layer, "chksum") and isinstance(layer, _CSUM_LAYERS):
            layer.chksum = None
        elif hasattr(layer, "cksum"):
            layer.cksum = None
        layer = layer.payload if layer.payload else None
    return raw(Ether(raw(pkt)))


def eth(*inner: Packet) -> Ether:
    p: Packet = Ether(**MACS)
    for i in inner:
        p = p / i
    return p


L3_4 = {
    "udp4": IP(src="192.168.0.1", dst="192.168.0.2", tos=0x21) / UDP(sport=1000, dport=53) / PAY,
    "udp4_nocsum": IP(src="192.168.0.1", dst="192.168.0.2") / UDP(sport=1000, dport=53, chksum=0) / PAY,
    "tcp4": IP(src="10.0.0.1", dst="10.0.0.2", ttl=7) / TCP(sport=4321, dport=80, flags="SA") / PAY,
    "tcp4_opts": IP(src="10.0.0.1", dst="10.0.0.2", options=b"\x01\x01\x01\x00") / TCP(sport=1111, dport=2222) / PAY,
    "icmp4": IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(type=8, code=0) / PAY,
    "sctp4": IP(src="10.0.0.1", dst="10.0.0.2") / SCTP(sport=9, dport=53) / PAY,
    "tcp6": IPv6(src="2001:db8::1", dst="2001:db8::2", tc=0x20, fl=0x12345) / TCP(sport=4321, dport=80) / PAY,
    "udp6": IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=7, dport=8) / PAY,
    "icmp6": IPv6(src="2001:db8::1", dst="2001:db8::2") / ICMPv6EchoRequest(id=1, seq=2) / PAY,
    "udp6_ext": IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt()
    / UDP(sport=7, dport=8) / PAY,
    "tcp6_frag0": IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrFragment(offset=0, m=0, id=9)
    / TCP(sport=7, dport=8) / PAY,
    "nd_ns": IPv6(src="2001:db8::1", dst="ff02::1:ff00:2") / ICMPv6ND_NS(tgt="2001:db8::2")
    / ICMPv6NDOptSrcLLAddr(lladdr=MACS["src"]),
    "nd_na": IPv6(src="2001:db8::2", dst="2001:db8::1") / ICMPv6ND_NA(tgt="2001:db8::2")
    / ICMPv6NDOptDstLLAddr(lladdr=MACS["dst"]),
}

SETS = {
    "ipv4": ["set(ipv4(src=1.2.3.4))", "set(ipv4(dst=255.255.255.255))", "set(ipv4(src=0.0.0.0,dst=0.0.0.0))",
             "set(ipv4(tos=0xff))", "set(ipv4(ttl=0))", "set(ipv4(ttl=255,tos=0x4/0xfc))",
             "set(ipv4(src=1.2.3.4/255.255.0.0,dst=9.9.9.9/255.255.255.0))"],
    "ipv6": ["set(ipv6(src=2001:db8::99))", "set(ipv6(dst=::))", "set(ipv6(src=ffff::ffff,dst=fe80::1))",
             "set(ipv6(label=0xfffff))", "set(ipv6(tclass=0x3))", "set(ipv6(hlimit=1))",
             "set(ipv6(src=2001:db8::1:0/ffff:ffff::))"],
    "tcp": ["set(tcp(src=1))", "set(tcp(dst=65535))", "set(tcp(src=0,dst=0))", "set(tcp(dst=0x100/0xff00))"],
    "udp": ["set(udp(src=1))", "set(udp(dst=65535))", "set(udp(src=0,dst=0))"],
    "sctp": ["set(sctp(src=1))", "set(sctp(src=5,dst=6))"],
    "icmp": ["set(icmp(type=0))", "set(icmp(type=13,code=1))"],
    "icmpv6": ["set(icmpv6(type=129,code=0))", "set(icmpv6(type=1,code=4))"],
    "nd": ["set(nd(target=2001:db8::3))", "set(nd(sll=00:00:00:00:00:0a))", "set(nd(tll=ff:ff:ff:ff:ff:ff))",
           "set(nd(target=::1,sll=00:00:00:00:00:01,tll=00:00:00:00:00:02))"],
}
APPLIES = {"ipv4": ("udp4", "udp4_nocsum", "tcp4", "tcp4_opts", "icmp4", "sctp4"),
           "ipv6": ("tcp6", "udp6", "icmp6", "udp6_ext", "tcp6_frag0", "nd_ns"),
           "tcp": ("tcp4", "tcp4_opts", "tcp6", "tcp6_frag0"), "udp": ("udp4", "udp4_nocsum", "udp6", "udp6_ext"),
           "sctp": ("sctp4",), "icmp": ("icmp4",), "icmpv6": ("icmp6", "nd_ns"), "nd": ("nd_ns", "nd_na")}
VLANS: dict[str, tuple[Packet, ...]] = {"untagged": (), "vlan": (Dot1Q(vlan=5, prio=2),),
                                        "qinq": (Dot1AD(vlan=7), Dot1Q(vlan=5))}
SCAPY_CASES = [(kind, action, pkt, tag) for kind, actions in SETS.items() for action in actions
               for pkt in APPLIES[kind] for tag in VLANS]


# A neighbour solicitation carries no target link-layer address option, an advertisement no source one.
NO_CHANGE = {("set(nd(sll=00:00:00:00:00:0a))", "nd_na"), ("set(nd(tll=ff:ff:ff:ff:ff:ff))", "nd_ns")}


@pytest.mark.parametrize(("kind", "action", "pkt", "tag"), SCAPY_CASES)
def test_checksums_match_scapy(kind: str, action: str, pkt: str, tag: str) -> None:
    frame = raw(eth(*VLANS[tag], L3_4[pkt]))
    out = out1(frame, action)
    assert out != frame or (action, pkt) in NO_CHANGE, "the action changed nothing"
    assert out == scapy_recomputed(out, udp4_zero=pkt == "udp4_nocsum")
    assert len(out) == len(frame)


def test_udp4_zero_checksum_stays_zero() -> None:
    frame = raw(eth(L3_4["udp4_nocsum"]))
    out = out1(frame, "set(ipv4(src=1.2.3.4)),set(udp(src=9,dst=10))")
    assert out[34 + 6:34 + 8] == b"\0\0"


def test_udp_checksum_that_becomes_zero_is_written_as_ffff() -> None:
    # Find a destination port that makes the updated checksum 0 (0xffff on the wire).
    frame = raw(eth(IP(src="1.1.1.1", dst="2.2.2.2") / UDP(sport=1, dport=2) / b"x"))
    for port in range(65536):
        out = out1(frame, f"set(udp(dst={port}))")
        if out[40:42] == b"\xff\xff":
            break
    else:
        pytest.fail("no port gives a zero checksum")
    assert out == scapy_recomputed(out)


def test_first_fragment_l4_checksum_covers_the_whole_datagram() -> None:
    whole = IP(src="10.0.0.1", dst="10.0.0.2", id=5) / UDP(sport=1, dport=2) / (PAY * 4)

    def first_fragment(ip: Packet) -> bytes:
        b = raw(ip)
        seg = b[20:20 + 16]           # the UDP header and 8 bytes of data
        hdr = IP(src=ip.src, dst=ip.dst, id=5, flags="MF", proto=17) / seg
        return raw(Ether(**MACS) / hdr)

    frame = first_fragment(whole)
    out = out1(frame, "set(ipv4(src=7.7.7.7,dst=8.8.8.8)),set(udp(dst=99))")
    expected = IP(src="7.7.7.7", dst="8.8.8.8", id=5) / UDP(sport=1, dport=99) / (PAY * 4)
    assert out == first_fragment(expected)


def test_later_fragment_gets_no_l4_rewrite() -> None:
    frame = raw(eth(IP(src="10.0.0.1", dst="10.0.0.2", proto=17, frag=3) / PAY))
    out = out1(frame, "set(ipv4(src=1.2.3.4)),set(udp(src=9)),set(tcp(src=9))")
    assert out[34:] == frame[34:]
    assert out == scapy_recomputed(out)
    assert out[26:30] == bytes((1, 2, 3, 4))
    v6 = raw(eth(IPv6(src="::1", dst="::2") / IPv6ExtHdrFragment(offset=8, nh=6) / PAY))
    out6 = out1(v6, "set(ipv6(src=::9)),set(tcp(src=9))")
    assert out6[22 + 16 - 1] == 9 and out6[62:] == v6[62:]


def test_ipv6_routing_header_keeps_the_final_destination_checksum() -> None:
    pkt = eth(IPv6(src="2001:db8::1", dst="2001:db8::2")
              / IPv6ExtHdrRouting(addresses=["2001:db8::3"], segleft=1) / UDP(sport=1, dport=2) / PAY)
    frame = raw(pkt)
    out = out1(frame, "set(ipv6(dst=2001:db8::9))")
    assert out[54:] == frame[54:]          # everything behind the IPv6 header, the UDP checksum included
    assert out == scapy_recomputed(out)    # Scapy uses the routing header's last address too
    out = out1(frame, "set(ipv6(src=2001:db8::9))")
    assert out == scapy_recomputed(out) and out[54:] != frame[54:]


def test_sctp_keeps_a_bad_crc_bad() -> None:
    frame = bytearray(raw(eth(L3_4["sctp4"])))
    frame[34 + 8] ^= 0xFF
    out = out1(bytes(frame), "set(sctp(src=77))")
    good = scapy_recomputed(out)
    assert out != good and out[34 + 8] ^ 0xFF == good[34 + 8] and out[34 + 9:] == good[34 + 9:]


def test_eth_arp_mpls_sets() -> None:
    arp = raw(eth(ARP(op=1, hwsrc=MACS["src"], psrc="10.0.0.1", pdst="10.0.0.2")))
    out = out1(arp, "set(eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02)),"
                    "set(arp(sip=1.2.3.4,tip=5.6.7.8,op=2,sha=00:00:00:00:00:0b,tha=00:00:00:00:00:0c))")
    a = Ether(out)
    assert (a.src, a.dst) == ("00:00:00:00:00:01", "00:00:00:00:00:02")
    assert (a[ARP].psrc, a[ARP].pdst, a[ARP].op, a[ARP].hwsrc, a[ARP].hwdst) == (
        "1.2.3.4", "5.6.7.8", 2, "00:00:00:00:00:0b", "00:00:00:00:00:0c")
    mpls = raw(eth(MPLS(label=100, cos=3, s=1, ttl=64) / L3_4["udp4"]))
    m = Ether(out1(mpls, "set(mpls(label=1048575,tc=7,ttl=1,bos=1))"))[MPLS]
    assert (m.label, m.cos, m.ttl, m.s) == (1048575, 7, 1, 1)
    m = Ether(out1(mpls, "set(mpls(label=0x5/0xf,ttl=9))"))[MPLS]
    assert (m.label, m.cos, m.ttl) == (101, 3, 9)


# ------------------------------------------------------------------------------------------------------------
# VLAN and MPLS push/pop.
def test_push_and_pop_vlan() -> None:
    frame = raw(eth(L3_4["udp4"]))
    out = out1(frame, "push_vlan(vid=5,pcp=3)")
    assert out == raw(eth(Dot1Q(vlan=5, prio=3), L3_4["udp4"]))
    out2 = out1(out, "push_vlan(tpid=0x88a8,vid=4095,pcp=7)")
    assert out2 == raw(eth(Dot1AD(vlan=4095, prio=7), Dot1Q(vlan=5, prio=3), L3_4["udp4"]))
    assert out1(out2, "pop_vlan") == out
    assert out1(out2, "pop_vlan,pop_vlan,pop_vlan") == frame      # the third pop finds no tag


def test_push_and_pop_mpls() -> None:
    frame = raw(eth(Dot1Q(vlan=5), L3_4["udp4"]))
    out = out1(frame, "push_mpls(label=7,tc=1,ttl=5,bos=1,eth_type=0x8848)")
    p = Ether(out)
    assert p[Dot1Q].type == 0x8848 and out[18:22] == bytes.fromhex("00007305") and out[22:] == frame[18:]
    out2 = out1(out, "push_mpls(label=8,tc=0,ttl=6,bos=0,eth_type=0x8847)")
    assert out2[18:22] == bytes.fromhex("00008006") and out2[22:] == out[18:]
    assert out1(out2, "pop_mpls(eth_type=0x8848)") == out
    assert out1(out, "pop_mpls(eth_type=0x800)") == frame
    assert out1(frame, "pop_mpls(eth_type=0x800)") == frame                # not MPLS: unchanged
    assert out1(frame, "push_mpls(label=7,tc=1,ttl=5,bos=1,eth_type=0x800)") == frame


# ------------------------------------------------------------------------------------------------------------
# Control actions and metadata.
FRAME = raw(eth(L3_4["udp4"]))


def test_outputs_are_snapshots_in_order() -> None:
    outs = run(FRAME, "1,set(ipv4(ttl=1)),2,push_vlan(vid=1,pcp=0),3")
    assert [p for p, _ in outs] == [1, 2, 3]
    assert outs[0][1] == FRAME and outs[1][1][22] == 1 and len(outs[2][1]) == len(FRAME) + 4


def test_bytearray_is_modified_in_place_and_bytes_are_not() -> None:
    buf = bytearray(FRAME)
    execute(buf, parse_actions("set(ipv4(ttl=9)),1"), ExecContext())
    assert buf[22] == 9
    b = bytes(FRAME)
    execute(b, parse_actions("set(ipv4(ttl=9)),1"), ExecContext())
    assert b == FRAME


def test_trunc_applies_to_the_next_output_only() -> None:
    outs = run(FRAME, "trunc(20),1,2,trunc(100),3,trunc(3),4")
    assert [len(f) for _, f in outs] == [20, len(FRAME), len(FRAME), 14]
    # The cut is a number of bytes, fixed when trunc runs: a later push adds its 4 bytes.
    outs = run(FRAME, "trunc(40),push_vlan(vid=2,pcp=0),1")
    assert len(outs[0][1]) == 44
    ctx = ExecContext()
    execute(FRAME, parse_actions("trunc(30),userspace(pid=1,userdata(01)),2"), ctx)
    assert len(ctx.upcalls[0][0]) == 30 and len(ctx.outputs[0][1]) == len(FRAME)


def test_clone_and_sample_work_on_copies() -> None:
    outs = run(FRAME, "clone(set(ipv4(ttl=7)),push_vlan(vid=3,pcp=0),1),2")
    assert outs[0][1][26] == 7 and outs[1][1] == FRAME
    ctx = Recorder(randoms=[0x7FFFFFFF, 0x80000001])
    execute_batch([FRAME, FRAME], parse_actions("sample(sample=50.0%,actions(set(ipv4(ttl=3)),1)),2"), ctx)
    assert [p for p, _ in ctx.outputs] == [1, 2, 2] and ctx.outputs[1][1] == FRAME
    ctx = Recorder(randoms=[0])
    execute(FRAME, parse_actions("sample(sample=0.0%,actions(1)),2"), ctx)
    assert [p for p, _ in ctx.outputs] == [2]


def test_check_pkt_len() -> None:
    n = len(FRAME)
    assert [p for p, _ in run(FRAME, f"check_pkt_len(size={n},gt(1),le(2))")] == [2]
    assert [p for p, _ in run(FRAME, f"check_pkt_len(size={n - 1},gt(1),le(2))")] == [1]
    outs = run(FRAME, f"check_pkt_len(size={n - 1},gt(set(ipv4(ttl=2)),1),le(2)),3")
    assert outs[0][1][22] == 2 and outs[1][1] == FRAME                     # not last: a copy
    buf = bytearray(FRAME)
    execute(buf, parse_actions(f"check_pkt_len(size={n - 1},gt(set(ipv4(ttl=2))),le(2))"), ExecContext())
    assert buf[22] == 2                                                     # last: the packet itself


def test_meter_drop_and_drop() -> None:
    ctx = Recorder(meter_ok=False)
    execute(FRAME, parse_actions("1,meter(4),2"), ctx)
    assert [p for p, _ in ctx.outputs] == [1] and ctx.meter_calls == [(4, len(FRAME))]
    ctx = Recorder()
    execute(FRAME, parse_actions("meter(4),2"), ctx)
    assert [p for p, _ in ctx.outputs] == [2]
    assert run(FRAME, "drop") == [] and run(FRAME, "1,drop,2") == [(1, FRAME)]


class _RemarkingMeters(ExecContext):
    """Meter 7 passes every other packet and rewrites the byte at offset 15 (IPv4 TOS) of those it passes; it
    records what it saw (packet contents, metadata in_port)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[int, bytes, int]] = []

    def meter(self, meter_id: int, packet: bytearray, md: PacketMetadata) -> bool:
        self.seen.append((meter_id, bytes(packet), md.in_port))
        if len(self.seen) % 2 == 0:
            return False
        packet[15] = 0x28
        return True


def test_meter_sees_and_may_rewrite_the_packet() -> None:
    ctx = _RemarkingMeters()
    # The meter sees the packet as modified by the actions before it; its rewrite reaches the later actions.
    execute(FRAME, parse_actions("set(ipv4(ttl=9)),meter(7),1"), ctx, PacketMetadata(in_port=3))
    assert ctx.seen[0][0] == 7 and ctx.seen[0][1][22] == 9 and ctx.seen[0][2] == 3
    assert ctx.outputs[0][1][15] == 0x28 and ctx.outputs[0][1][22] == 9


def test_meter_in_a_batch_meters_each_packet() -> None:
    ctx = _RemarkingMeters()
    frames = [bytearray(FRAME) for _ in range(5)]
    mds = [PacketMetadata(in_port=i) for i in range(5)]
    execute_batch(frames, parse_actions("meter(7),2"), ctx, mds)
    assert [s[2] for s in ctx.seen] == [0, 1, 2, 3, 4]
    assert len(ctx.outputs) == 3 and all(f[15] == 0x28 for _, f in ctx.outputs)
    ctx = _RemarkingMeters()
    execute_batch([FRAME] * 4, parse_actions("meter(7),2"), ctx)                  # default metadata
    assert len(ctx.seen) == 4 and len(ctx.outputs) == 2


def test_metadata_sets_recirc_userspace_ct() -> None:
    ctx = ExecContext()
    execute(FRAME, parse_actions(
        "set(skb_mark(0x5)),set(skb_priority(0x7)),set(skb_mark(0x30/0xf0)),"
        "set(tunnel(tun_id=0x9,dst=1.1.1.1,ttl=64)),userspace(pid=3,userdata(0102)),"
        "ct(commit,zone=4,mark=0x11/0xff),recirc(0x20),ct_clear,2"), ctx)
    md = ctx.md
    assert (md.skb_mark, md.skb_priority) == (0x35, 7)
    assert md.tunnel["tun_id"] == 9 and md.tunnel["dst"] == 0x01010101
    frame, action, umd = ctx.upcalls[0]
    assert frame == FRAME and action.pid == 3 and umd.skb_mark == 0x35
    rframe, rid, rmd = ctx.recircs[0]
    assert rframe == FRAME and rid == 0x20 and rmd.recirc_id == 0x20 and rmd.ct_state == 0x21 and rmd.ct_zone == 4
    assert rmd.ct_mark == 0x11 and md.recirc_id == 0
    assert md.ct_state == md.ct_zone == md.ct_mark == 0                      # ct_clear
    # An exact tunnel set replaces the whole key, a masked one merges.
    execute(FRAME, parse_actions("set(tunnel(tun_id=0x1,src=2.2.2.2,ttl=5))"), ctx)
    assert "dst" not in md.tunnel and md.tunnel["src"] == 0x02020202


def test_hash_is_a_5tuple_hash() -> None:
    ctx = ExecContext()
    execute(FRAME, parse_actions("hash(l4(0))"), ctx)
    h = ctx.md.dp_hash
    assert h == l4_hash(FRAME) and 0 <= h < 2**32
    other_payload = raw(eth(IP(src="192.168.0.1", dst="192.168.0.2", ttl=3) / UDP(sport=1000, dport=53) / b"z"))
    assert l4_hash(other_payload) == h                                       # only the 5-tuple counts
    assert l4_hash(FRAME, 1) != h
    assert l4_hash(out1(FRAME, "set(udp(src=1001))")) != h
    reverse = raw(eth(IP(src="192.168.0.2", dst="192.168.0.1") / UDP(sport=53, dport=1000) / PAY))
    assert l4_hash(reverse) != h and l4_hash(reverse, symmetric=True) == l4_hash(FRAME, symmetric=True)
    arp = raw(eth(ARP()))
    assert l4_hash(arp, 5) == l4_hash(raw(eth(ARP(op=2))), 5)


def test_tunnel_hooks() -> None:
    class Tunnels(ExecContext):
        def tnl_push(self, frame: bytes, action: odp.TnlPush, md: PacketMetadata) -> bytes | None:
            return b"OUTER" + frame

    ctx = Tunnels()
    push = ("tnl_push(tnl_port(4789),header(size=50,type=4,eth(dst=00:00:00:00:00:01,src=00:00:00:00:00:02,"
            "dl_type=0x0800),ipv4(src=1.1.1.1,dst=1.1.1.2,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=4789,"
            "csum=0x0),vxlan(flags=0x8000000,vni=0x5)),out_port(1))")
    execute(FRAME, parse_actions(push + ",2,tnl_pop(3),4"), ctx)
    assert ctx.outputs[0] == (2, b"OUTER" + FRAME) and ctx.tnl_pops[0][1] == 3
    plain = ExecContext()
    execute(FRAME, [parse_actions(push)[0], odp.Output(1)], plain)
    assert plain.outputs == []                                               # no tunnel support: dropped


def test_batch_gives_each_packet_its_own_metadata() -> None:
    ctx = ExecContext()
    frames = [FRAME, raw(eth(IP(src="1.1.1.1", dst="2.2.2.2") / UDP(sport=5, dport=6)))]
    mds = [PacketMetadata(in_port=1), PacketMetadata(in_port=2)]
    execute_batch(frames, parse_actions("hash(l4(0)),1"), ctx, mds)
    assert [md.dp_hash for md in mds] == [l4_hash(f) for f in frames] and ctx.md.dp_hash == 0
    execute_batch(frames, parse_actions("1"), ctx)
    assert [f for _, f in ctx.outputs[2:]] == frames


def test_compiled_programs_are_cached_and_bad_actions_rejected() -> None:
    a = parse_actions("set(ipv4(ttl=1)),1")
    assert compile_actions(a) is compile_actions(list(a))
    with pytest.raises(TypeError):
        compile_actions(["output"])  # type: ignore[list-item]


# ------------------------------------------------------------------------------------------------------------
# Robustness.
ALL_ACTIONS = [a for kind in SETS.values() for a in kind] + [
    "set(eth(src=00:00:00:00:00:01))", "set(arp(sip=1.2.3.4,op=2))", "set(mpls(label=5,tc=1,ttl=2,bos=1))",
    "set(skb_mark(0x1))", "push_vlan(vid=5,pcp=1)", "pop_vlan", "push_mpls(label=1,tc=0,ttl=3,bos=1,eth_type=0x8847)",
    "pop_mpls(eth_type=0x800)", "pop_mpls(eth_type=0x86dd)", "trunc(30)", "hash(l4(3))", "hash(sym_l4(3))",
    "meter(1)", "ct(commit)", "ct_clear", "recirc(0x1)", "userspace(pid=1)", "clone(pop_vlan,1)",
    "sample(sample=50.0%,actions(push_vlan(vid=1,pcp=0),2))", "check_pkt_len(size=60,gt(pop_vlan),le(1))", "3",
]
SAMPLE_FRAMES = [raw(eth(*VLANS[t], p)) for p in L3_4.values() for t in VLANS] + [
    raw(eth(MPLS(label=1, s=1) / L3_4["udp4"])), raw(eth(ARP())),
    raw(eth(IPv6(src="::1", dst="::2") / IPv6ExtHdrRouting(addresses=["::3"], segleft=1) / TCP() / PAY)),
    raw(eth(IP(src="1.1.1.1", dst="2.2.2.2", flags="MF") / TCP() / PAY)),
]


@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_truncated_packets_never_raise(action: str) -> None:
    acts = parse_actions(action + ",9")
    for frame in SAMPLE_FRAMES:
        for n in range(len(frame) + 1):
            ctx = ExecContext()
            execute(frame[:n], acts, ctx)


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    base = draw(st.sampled_from(SAMPLE_FRAMES))
    how = draw(st.integers(0, 3))
    if how == 0:
        return base
    if how == 1:
        return base[:draw(st.integers(0, len(base)))]
    buf = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(buf) - 1))
        buf[i] = draw(st.integers(0, 255))
    return bytes(buf) if how == 2 else draw(st.binary(max_size=80))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.lists(st.sampled_from(ALL_ACTIONS), max_size=6))
def test_fuzz_never_raises_and_outputs_parse(frame: bytes, actions: list[str]) -> None:
    ctx = ExecContext()
    execute(frame, parse_actions(",".join(actions + ["9"])), ctx)
    for _, out in ctx.outputs:
        extract(out, 1)
        if len(out) >= 14:        # shorter frames stay as short as they came (Scapy cannot parse them)
            Ether(out)


WELL_FORMED = [(name, raw(eth(*VLANS[t], p))) for name, p in L3_4.items() for t in VLANS]
HEADER_SETS = [a for kind in ("ipv4", "ipv6", "tcp", "udp", "sctp", "icmp", "icmpv6", "nd") for a in SETS[kind]]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(WELL_FORMED), st.lists(st.sampled_from(HEADER_SETS + ["push_vlan(vid=9,pcp=2)", "pop_vlan"]),
                                              min_size=1, max_size=5))
def test_fuzz_checksums_stay_correct(named: tuple[str, bytes], actions: list[str]) -> None:
    name, frame = named
    out = out1(frame, ",".join(actions))
    assert out == scapy_recomputed(out, udp4_zero=name == "udp4_nocsum")
