"""Ethernet II, 802.3 LLC/SNAP, VLAN tags and ARP, checked against Scapy in both directions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packet_helpers import ip4s, macs, payloads, s_ip4, s_mac
from scapy.layers.l2 import ARP, LLC, SNAP, Dot1AD, Dot1Q, Dot3, Ether
from scapy.packet import Packet, Raw

from pyvswitch.packet import (
    ETH_TYPE_ARP,
    ETH_TYPE_IP,
    ETH_TYPE_IPV6,
    ETH_TYPE_NONE,
    ETH_TYPE_VLAN_8021AD,
    ETH_TYPE_VLAN_8021Q,
    Llc,
    Malformed,
    Snap,
    VlanTag,
    arp,
    ethernet,
    ieee8023,
    llc,
    mac_to_str,
    parse_arp,
    parse_ethernet,
    snap,
    str_to_mac,
    vlan_tag,
)

ethertypes = st.sampled_from([ETH_TYPE_IP, ETH_TYPE_ARP, ETH_TYPE_IPV6, 0x8847, 0x88CC, 0x0600, 0xFFFF])
tags = st.builds(
    VlanTag,
    st.sampled_from([ETH_TYPE_VLAN_8021Q, ETH_TYPE_VLAN_8021AD]),
    st.integers(0, 7),
    st.integers(0, 1),
    st.integers(0, 4095),
)


def scapy_frame(dst: bytes, src: bytes, ethertype: int, vlans: list[VlanTag], payload: bytes) -> bytes:
    types = [t.tpid for t in vlans] + [ethertype]
    pkt = Ether(dst=s_mac(dst), src=s_mac(src), type=types[0])
    for tag, next_type in zip(vlans, types[1:]):
        pkt = pkt / Dot1Q(prio=tag.pcp, dei=tag.dei, vlan=tag.vid, type=next_type)
    return bytes(pkt / Raw(payload))


@settings(max_examples=100, deadline=None)
@given(macs, macs, ethertypes, st.lists(tags, max_size=2), payloads)
def test_ethernet_from_scapy(dst: bytes, src: bytes, ethertype: int, vlans: list[VlanTag], payload: bytes) -> None:
    frame = scapy_frame(dst, src, ethertype, vlans, payload)
    eth, off = parse_ethernet(frame)
    assert eth.dst == dst and eth.src == src
    assert eth.ethertype == ethertype
    assert list(eth.vlans) == vlans
    assert eth.length is None and eth.llc is None and eth.snap is None
    assert off == 14 + 4 * len(vlans)
    assert frame[off:] == payload


@settings(max_examples=100, deadline=None)
@given(macs, macs, ethertypes, st.lists(tags, max_size=2), payloads)
def test_ethernet_to_scapy(dst: bytes, src: bytes, ethertype: int, vlans: list[VlanTag], payload: bytes) -> None:
    frame = ethernet(dst, src, ethertype, payload, vlans)
    assert frame == scapy_frame(dst, src, ethertype, vlans, payload)
    pkt = Ether(frame)
    assert pkt.dst == s_mac(dst) and pkt.src == s_mac(src)
    last: Packet = pkt
    for tag in vlans:
        layer = last.payload
        assert isinstance(layer, Dot1AD if tag.tpid == ETH_TYPE_VLAN_8021AD else Dot1Q)
        assert (layer.prio, layer.dei, layer.vlan) == (tag.pcp, tag.dei, tag.vid)
        last = layer
    assert last.type == ethertype


def test_third_vlan_tag_is_not_consumed() -> None:
    # As OVS (FLOW_MAX_VLAN_HEADERS = 2): the third TPID becomes the ethertype.
    three = [vlan_tag(1, tpid=ETH_TYPE_VLAN_8021AD), vlan_tag(2), vlan_tag(3)]
    frame = ethernet("00:00:00:00:00:01", "00:00:00:00:00:02", ETH_TYPE_IP, b"x", three)
    eth, off = parse_ethernet(frame)
    assert [t.vid for t in eth.vlans] == [1, 2]
    assert eth.ethertype == ETH_TYPE_VLAN_8021Q
    assert off == 22


def test_truncated_vlan_tag_ends_l2() -> None:
    frame = ethernet(b"\x01" * 6, b"\x02" * 6, ETH_TYPE_VLAN_8021Q, b"\x00\x05")
    eth, off = parse_ethernet(frame)
    assert eth.ethertype == ETH_TYPE_VLAN_8021Q and eth.vlans == () and off == 14


@pytest.mark.parametrize("n", range(14))
def test_short_frame_is_malformed(n: int) -> None:
    with pytest.raises(Malformed):
        parse_ethernet(bytes(n))


def test_parse_at_offset_and_memoryview() -> None:
    frame = b"junk" + ethernet("00:00:00:00:00:01", "00:00:00:00:00:02", ETH_TYPE_IP, b"data")
    eth, off = parse_ethernet(memoryview(frame), 4)
    assert eth.ethertype == ETH_TYPE_IP and off == 18 and isinstance(eth.dst, bytes)


@settings(max_examples=50, deadline=None)
@given(macs, macs, st.sampled_from([ETH_TYPE_IP, ETH_TYPE_ARP, ETH_TYPE_IPV6]), payloads, st.lists(tags, max_size=2))
def test_snap_from_and_to_scapy(dst: bytes, src: bytes, pid: int, payload: bytes, vlans: list[VlanTag]) -> None:
    body = LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=pid) / Raw(payload)
    theirs = bytes(Dot3(dst=s_mac(dst), src=s_mac(src)) / body)
    ours = ieee8023(dst, src, snap(pid) + payload)
    assert ours == theirs
    eth, off = parse_ethernet(theirs)
    assert eth.length == len(bytes(body))
    assert eth.llc == Llc(0xAA, 0xAA, 3) and eth.snap == Snap(0, pid)
    assert eth.ethertype == pid and off == 22
    # Behind VLAN tags too.
    tagged = ieee8023(dst, src, snap(pid) + payload, vlans)
    eth, off = parse_ethernet(tagged)
    assert eth.ethertype == pid and list(eth.vlans) == vlans and off == 22 + 4 * len(vlans)
    pkt = Ether(tagged)
    assert pkt[SNAP].code == pid and pkt[LLC].dsap == 0xAA


def test_8023_without_snap_is_type_none() -> None:
    stp = bytes(Dot3(dst="01:80:c2:00:00:00", src="00:00:00:00:00:01") / LLC(dsap=0x42, ssap=0x42, ctrl=3)
                / Raw(bytes(35)))
    eth, off = parse_ethernet(stp)
    assert eth.ethertype == ETH_TYPE_NONE and eth.llc == Llc(0x42, 0x42, 3) and eth.snap is None and off == 17
    assert ieee8023("01:80:c2:00:00:00", "00:00:00:00:00:01", llc(0x42, 0x42) + bytes(35)) == stp


def test_snap_with_nonzero_oui_or_short_pid_is_type_none() -> None:
    frame = ieee8023(b"\x01" * 6, b"\x02" * 6, snap(0x0800, oui=0x00000C))
    eth, _ = parse_ethernet(frame)
    assert eth.ethertype == ETH_TYPE_NONE and eth.snap == Snap(0x0C, 0x0800)
    frame = ieee8023(b"\x01" * 6, b"\x02" * 6, snap(0x0100))
    assert parse_ethernet(frame)[0].ethertype == ETH_TYPE_NONE


def test_llc_i_format_has_16_bit_control() -> None:
    frame = ieee8023(b"\x01" * 6, b"\x02" * 6, llc(0xF0, 0xF0, 0x0102) + b"netbios")
    eth, off = parse_ethernet(frame)
    assert eth.llc == Llc(0xF0, 0xF0, 0x0102) and off == 18 and eth.ethertype == ETH_TYPE_NONE


@pytest.mark.parametrize("n", range(8))
def test_truncated_llc_snap_is_type_none(n: int) -> None:
    frame = ieee8023(b"\x01" * 6, b"\x02" * 6, snap(0x0800))[: 14 + n]
    eth, off = parse_ethernet(frame)
    assert eth.ethertype == ETH_TYPE_NONE and off <= len(frame)


def test_padding() -> None:
    frame = ethernet(b"\x01" * 6, b"\x02" * 6, ETH_TYPE_IP, b"x", pad=True)
    assert len(frame) == 60 and frame[15:] == bytes(45)


def test_mac_text() -> None:
    assert mac_to_str(b"\x00\x1b\xaa\x00\xff\x01") == "00:1b:aa:00:ff:01"
    assert str_to_mac("00-1B-aa-0:ff:1") == b"\x00\x1b\xaa\x00\xff\x01"
    for bad in ("", "00:11:22:33:44", "00:11:22:33:44:zz", "001:1:2:3:4:5"):
        with pytest.raises(ValueError):
            str_to_mac(bad)


# ARP.


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 4), macs, ip4s, macs, ip4s)
def test_arp_both_ways(op: int, sha: bytes, spa: bytes, tha: bytes, tpa: bytes) -> None:
    theirs = bytes(ARP(op=op, hwsrc=s_mac(sha), psrc=s_ip4(spa), hwdst=s_mac(tha), pdst=s_ip4(tpa)))
    ours = arp(op, sha, spa, tha, tpa)
    assert ours == theirs
    parsed, off = parse_arp(theirs)
    assert (parsed.op, parsed.sha, parsed.spa, parsed.tha, parsed.tpa) == (op, sha, spa, tha, tpa)
    assert off == 28
    frame = ethernet(tha, sha, ETH_TYPE_ARP, ours)
    pkt = Ether(frame)[ARP]
    assert (pkt.op, pkt.hwsrc, pkt.psrc, pkt.hwdst, pkt.pdst) == (op, s_mac(sha), s_ip4(spa), s_mac(tha), s_ip4(tpa))


def test_arp_other_hardware_is_malformed() -> None:
    with pytest.raises(Malformed):
        parse_arp(bytes(ARP(hwtype=6, hwsrc="00:00:00:00:00:01", hwdst="00:00:00:00:00:02")))
    good = arp(1, bytes(6), bytes(4), bytes(6), bytes(4))
    for index, value in ((2, 0x86), (4, 8), (5, 16)):  # ptype, hlen, plen
        with pytest.raises(Malformed):
            parse_arp(good[:index] + bytes((value,)) + good[index + 1 :])
    with pytest.raises(Malformed):
        parse_arp(good[:27])
