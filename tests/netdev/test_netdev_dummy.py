"""The netdev registry and dummy ports, in process."""

from __future__ import annotations

import functools
import os

import pytest

from pyvswitch import netdev
from pyvswitch.netdev.netdev_dummy import L7_PAYLOAD, DummyNetdev, parse_packet, read_pcap
from pyvswitch.packet import build


def test_registry_and_unknown_type() -> None:
    assert {"dummy", "dummy-internal"} <= set(netdev.registered_types())
    with pytest.raises(netdev.NetdevError, match=r"could not open network device x \(Address family not supported"):
        netdev.create("x", "nosuchtype", {})
    dev = netdev.create("p1", "dummy-internal", {})
    assert isinstance(dev, DummyNetdev) and dev.netdev_class == "dummy-internal"
    dev.close()


def test_receive_send_counters_and_hook() -> None:
    dev = netdev.create("p1", "dummy", {})
    got = []
    dev.rx_handler = lambda d, f: got.append((d.name, f))
    frame = build.udp4_frame()
    dev.receive(frame)
    assert got == [("p1", frame)]
    assert dev.send(frame + b"x")
    assert dev.stats_map() == {"rx_packets": 1, "rx_bytes": len(frame), "tx_packets": 1,
                                  "tx_bytes": len(frame) + 1}
    assert list(dev.sent) == [frame + b"x"]
    dev.close()


def test_pcap_options(tmp_path: str) -> None:
    both, rx, tx = (os.path.join(tmp_path, n) for n in ("both.pcap", "rx.pcap", "tx.pcap"))
    a, b = build.udp4_frame(dport=1), build.tcp4_frame(dport=2)
    dev = netdev.create("p1", "dummy", {"pcap": both})
    dev.receive(a)
    dev.send(b)
    assert read_pcap(both) == [a, b]
    dev.set_config({"rxq_pcap": rx, "tx_pcap": tx})
    dev.receive(b)
    dev.send(a)
    assert read_pcap(rx) == [b] and read_pcap(tx) == [a]
    assert read_pcap(both) == [a, b]   # Closed when the option went away.
    with pytest.raises(netdev.NetdevError, match="could not open pcap file"):
        dev.set_config({"pcap": os.path.join(tmp_path, "no", "dir.pcap")})
    dev.send(b)   # The previous configuration stays.
    assert read_pcap(tx) == [a, b]
    dev.close()


def test_parse_packet_hex_and_flows() -> None:
    assert parse_packet("ff" * 14) == parse_packet("0x" + "ff" * 14, ofctl_syntax=True) == b"\xff" * 14
    p = functools.partial(parse_packet, ofctl_syntax=True)
    udp = p("in_port=3,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02,ip,nw_src=10.0.0.1,"
                       "nw_dst=10.0.0.2,udp,tp_src=7,tp_dst=53")
    assert udp == build.udp4_frame(sport=7, dport=53, payload=L7_PAYLOAD)
    tcp = p("tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_dst=80,dl_src=00:00:00:00:00:01,"
                       "dl_dst=00:00:00:00:00:02,tcp_flags=0x002")
    assert tcp == build.tcp4_frame(sport=0, dport=80, tcp_flags=2, window=0)   # No payload after a SYN.
    vlan = p("dl_vlan=7,dl_vlan_pcp=3,ip,nw_proto=1,icmp_type=8")
    assert vlan[12:16] == bytes.fromhex("81006007") and vlan[16:18] == b"\x08\x00"
    assert vlan[18 + 9] == 1 and vlan[38] == 8   # IP protocol ICMP, echo request.
    arp = p("arp,arp_op=2,arp_spa=1.2.3.4,arp_tpa=5.6.7.8")
    assert arp[12:14] == b"\x08\x06" and arp[14 + 7] == 2 and arp[14 + 14:14 + 18] == bytes([1, 2, 3, 4])
    v6 = p("udp6,ipv6_src=fd00::1,ipv6_dst=fd00::2,tp_dst=9,dl_src=00:00:00:00:00:01,"
                      "dl_dst=00:00:00:00:00:02")
    assert v6 == build.udp6_frame(sport=0, dport=9, payload=L7_PAYLOAD)
    for bad in ("zz", "nosuchfield=1", "ffff", "udp,tp_dst=9"):
        with pytest.raises(ValueError, match="syntax error at"):
            parse_packet(bad)


def test_mtu_and_admin_state() -> None:
    dev = netdev.create("p1", "dummy", {})
    assert dev.get_mtu() == 1500 and dev.admin_up() and dev.carrier()
    dev.set_mtu(9000)
    assert dev.get_mtu() == 9000
    with pytest.raises(netdev.NetdevError, match="invalid MTU"):
        dev.set_mtu(10)
    assert isinstance(dev, DummyNetdev)
    dev.admin = False
    assert not dev.admin_up() and not dev.carrier()
    dev.close()


# Frames a real ovs-vswitchd 3.1 composed for `ovs-appctl netdev-dummy/receive p1 FLOW` (read from its pcap).
_OVS_L7 = bytes(range(64)).hex()
OVS_COMPOSED = [
    (("in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),"
     "ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=0,dst=53)"),
     "00000000000200000000000108004500005c000000004011668f0a0000010a0000020000003500480723" + _OVS_L7),
    (("in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),"
     "ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1,dst=80)"),
     "000000000002000000000001080045000068000000004006668e0a0000010a00000200010050000000000000000050000000b74d0000"
     + _OVS_L7),
    (("eth(src=00:00:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),"
     "arp(sip=1.1.1.1,tip=2.2.2.2,op=1,sha=00:00:00:00:00:01,tha=00:00:00:00:00:00)"),
     "ffffffffffff000000000001080600010800060400010000000000010101010100000000000002020202"),
    (("eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),"
     "ipv4(src=10.0.0.1,dst=10.0.0.2,proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0)"),
     "00000000000200000000000108004500005c000000004001669f0a0000010a000002080013fc00000000" + _OVS_L7),
]


@pytest.mark.parametrize(("flow", "frame"), OVS_COMPOSED)
def test_datapath_flows_compose_like_ovs(flow: str, frame: str) -> None:
    assert parse_packet(flow).hex() == frame


def test_datapath_flow_with_vlan_and_the_same_flow_in_ofctl_syntax() -> None:
    odp = ("eth(src=00:00:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x8100),vlan(vid=5,pcp=2),"
           "encap(eth_type(0x0806),arp(sip=1.1.1.1,tip=2.2.2.2,op=1,sha=00:00:00:00:00:01,tha=00:00:00:00:00:00))")
    ofctl = ("dl_src=00:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,dl_vlan=5,dl_vlan_pcp=2,arp,arp_spa=1.1.1.1,"
             "arp_tpa=2.2.2.2,arp_op=1,arp_sha=00:00:00:00:00:01")
    assert parse_packet(odp) == parse_packet(ofctl, ofctl_syntax=True)
    assert parse_packet(odp)[12:16] == bytes.fromhex("81004005")
    for bad in ("eth(src=1)", "eth(foo=1)", "nosuch(1)", "eth(src=00:00:00:00:00:01"):
        with pytest.raises(ValueError, match="syntax error at"):
            parse_packet(bad)
