"""The whole-frame helpers of pyvswitch.packet.build, dissected by Scapy (layers, fields and checksums)."""

from __future__ import annotations

from packet_helpers import checksums_ok
from scapy.contrib.geneve import GENEVE
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
    IPv6ExtHdrFragment,
)
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether

from pyvswitch.packet import ETH_TYPE_VLAN_8021AD, ND_NA_ROUTER, TCP_ACK, TCP_PSH, str_to_ip6, vlan_tag
from pyvswitch.packet import build as b
from pyvswitch.packet.ipv6 import ipv6_frag_body


def test_udp4_frame() -> None:
    frame = b.udp4_frame(sport=53, dport=5353, payload=b"dns", ttl=9, tos=0xB8, ident=7, flags=2)
    pkt = Ether(frame)
    assert (pkt.src, pkt.dst) == (b.ETH_SRC, b.ETH_DST)
    assert (pkt[IP].src, pkt[IP].dst, pkt[IP].ttl, pkt[IP].tos, pkt[IP].id, int(pkt[IP].flags)) == (
        b.IP4_SRC, b.IP4_DST, 9, 0xB8, 7, 2)
    assert (pkt[UDP].sport, pkt[UDP].dport, bytes(pkt[UDP].payload)) == (53, 5353, b"dns")
    assert checksums_ok(frame)
    assert Ether(b.udp4_frame(udp_csum=False))[UDP].chksum == 0
    assert len(b.udp4_frame(pad=True)) == 60


def test_vlan_frames() -> None:
    frame = b.udp4_frame(vlans=[vlan_tag(100, 5, tpid=ETH_TYPE_VLAN_8021AD), vlan_tag(200)])
    pkt = Ether(frame)
    assert pkt[Dot1AD].vlan == 100 and pkt[Dot1AD].prio == 5 and pkt[Dot1Q].vlan == 200
    assert checksums_ok(frame)


def test_tcp_frames() -> None:
    frame = b.tcp4_frame(sport=40000, dport=443, tcp_flags=TCP_PSH | TCP_ACK, seq=5, ack=6, payload=b"tls")
    pkt = Ether(frame)
    assert (pkt[TCP].sport, pkt[TCP].dport, str(pkt[TCP].flags), pkt[TCP].seq, pkt[TCP].ack) == (
        40000, 443, "PA", 5, 6)
    assert checksums_ok(frame)
    frame = b.tcp6_frame(payload=b"v6")
    assert Ether(frame)[TCP].dport == 80 and checksums_ok(frame)


def test_icmp_echo_frames() -> None:
    frame = b.icmp4_echo_frame(ident=3, seq=4, payload=b"abc")
    pkt = Ether(frame)
    assert (pkt[ICMP].type, pkt[ICMP].id, pkt[ICMP].seq) == (8, 3, 4) and checksums_ok(frame)
    assert Ether(b.icmp4_echo_frame(reply=True))[ICMP].type == 0
    frame = b.icmp6_echo_frame(ident=3, seq=4, payload=b"abc")
    pkt = Ether(frame)
    assert (pkt[ICMPv6EchoRequest].id, pkt[ICMPv6EchoRequest].seq) == (3, 4) and checksums_ok(frame)
    assert ICMPv6EchoReply in Ether(b.icmp6_echo_frame(reply=True))


def test_arp_frames() -> None:
    req = Ether(b.arp_request_frame(spa="192.168.1.1", tpa="192.168.1.2"))
    assert req.dst == "ff:ff:ff:ff:ff:ff" and req[ARP].op == 1 and req[ARP].pdst == "192.168.1.2"
    assert req[ARP].hwdst == "00:00:00:00:00:00" and req[ARP].hwsrc == b.ETH_SRC
    rep = Ether(b.arp_reply_frame())
    assert rep[ARP].op == 2 and rep[ARP].hwsrc == rep.src == b.ETH_DST and rep[ARP].hwdst == b.ETH_SRC


def test_udp6_frame_with_extension_headers() -> None:
    frame = b.udp6_frame(exts=[(44, ipv6_frag_body(0, True, 99))], flow_label=0x12345, tc=0x10)
    pkt = Ether(frame)
    assert pkt[IPv6ExtHdrFragment].id == 99 and pkt[IPv6].fl == 0x12345 and pkt[IPv6].tc == 0x10
    assert pkt[UDP].dport == 2048 and checksums_ok(frame)


def test_nd_frames() -> None:
    frame = b.nd_ns_frame(target="fd00::1234:5678")
    pkt = Ether(frame)
    assert pkt.dst == "33:33:ff:34:56:78" and pkt[IPv6].dst == "ff02::1:ff34:5678" and pkt[IPv6].hlim == 255
    assert pkt[ICMPv6ND_NS].tgt == "fd00::1234:5678" and pkt[ICMPv6NDOptSrcLLAddr].lladdr == b.ETH_SRC
    assert checksums_ok(frame)
    assert ICMPv6NDOptSrcLLAddr not in Ether(b.nd_ns_frame(with_sll=False))
    frame = b.nd_na_frame(flags=ND_NA_ROUTER)
    pkt = Ether(frame)
    assert pkt[ICMPv6ND_NA].tgt == b.IP6_DST and (pkt[ICMPv6ND_NA].R, pkt[ICMPv6ND_NA].S) == (1, 0)
    assert pkt[ICMPv6NDOptDstLLAddr].lladdr == b.ETH_DST and checksums_ok(frame)
    assert b.ip6_multicast_mac("ff02::1") == bytes.fromhex("333300000001")
    assert b.solicited_node(str_to_ip6("2001:db8::aabb:ccdd")) == str_to_ip6("ff02::1:ffbb:ccdd")


def test_geneve_frame_with_ip_payload() -> None:
    inner_ip = b.udp4_frame()[14:]
    frame = b.geneve4_frame(inner_ip, vni=3, protocol=0x0800, udp_csum=True)
    pkt = Ether(frame)
    assert pkt[GENEVE].proto == 0x0800 and pkt[GENEVE].payload.__class__ is IP and checksums_ok(frame)


def test_public_names() -> None:
    import pyvswitch.packet as pkg
    from pyvswitch.packet import constants

    assert sorted(constants.__all__) == sorted(n for n in vars(constants) if n.isupper())
    for name in pkg.__all__:
        assert hasattr(pkg, name), name
    assert pkg.ETH_TYPE_IP == 0x0800 and pkg.UDP_PORT_ROCEV2 == 4791 and issubclass(pkg.Malformed, ValueError)
