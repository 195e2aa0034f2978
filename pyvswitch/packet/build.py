"""Whole-frame builders for tests, demos and benchmarks, so that no code outside the tests needs Scapy.

Every helper takes keyword arguments only, each with a usable default, so a test writes just what matters to it
(``udp4_frame(dport=53)``).  Lengths and checksums are always computed; pass ``pad=True`` to get the 60-byte
minimum frame a NIC would put on the wire.  Addresses may be given as text or as bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyvswitch.packet.addr import IpLike, MacLike, ip6
from pyvswitch.packet.arp import arp
from pyvswitch.packet.constants import (
    ARP_OP_REPLY,
    ARP_OP_REQUEST,
    ETH_TYPE_ARP,
    ETH_TYPE_IP,
    ETH_TYPE_IPV6,
    ETH_TYPE_MPLS,
    ETH_TYPE_TEB,
    IPPROTO_GRE,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    ND_NA_OVERRIDE,
    ND_NA_SOLICITED,
    TCP_SYN,
    UDP_PORT_GENEVE,
    UDP_PORT_ROCEV2,
    UDP_PORT_VXLAN,
)
from pyvswitch.packet.ethernet import VlanTag, ethernet
from pyvswitch.packet.icmp import icmp4_echo, icmp6_echo, nd_na, nd_ns
from pyvswitch.packet.ipv4 import ipv4
from pyvswitch.packet.ipv6 import ipv6
from pyvswitch.packet.l4 import tcp, udp
from pyvswitch.packet.mpls import MplsLabel, mpls
from pyvswitch.packet.roce import roce_bth
from pyvswitch.packet.tunnel import GeneveOption, geneve, gre, vxlan

ETH_SRC = "00:00:00:00:00:01"
ETH_DST = "00:00:00:00:00:02"
ETH_BROADCAST = "ff:ff:ff:ff:ff:ff"
IP4_SRC = "10.0.0.1"
IP4_DST = "10.0.0.2"
IP6_SRC = "fd00::1"
IP6_DST = "fd00::2"


def solicited_node(addr: IpLike) -> bytes:
    """The solicited-node multicast address of an IPv6 address (RFC 4291), ff02::1:ffXX:XXXX."""
    return bytes.fromhex("ff0200000000000000000001ff") + ip6(addr)[13:]


def ip6_multicast_mac(addr: IpLike) -> bytes:
    """The Ethernet address an IPv6 multicast address maps to (RFC 2464): 33:33 and the low 32 bits."""
    return b"\x33\x33" + ip6(addr)[12:]


def udp4_frame(
    *,
    eth_src: MacLike = ETH_SRC,
    eth_dst: MacLike = ETH_DST,
    ip_src: IpLike = IP4_SRC,
    ip_dst: IpLike = IP4_DST,
    sport: int = 1024,
    dport: int = 2048,
    payload: bytes = b"",
    vlans: Sequence[VlanTag] = (),
    ttl: int = 64,
    tos: int = 0,
    ident: int = 0,
    flags: int = 0,
    udp_csum: bool = True,
    pad: bool = False,
) -> bytes:
    """An Ethernet/IPv4/UDP frame; ``udp_csum=False`` sends checksum 0 ("none")."""
    dgram = udp(sport, dport, payload, src_ip=ip_src if udp_csum else None, dst_ip=ip_dst)
    packet = ipv4(ip_src, ip_dst, IPPROTO_UDP, dgram, ttl=ttl, tos=tos, ident=ident, flags=flags)
    return ethernet(eth_dst, eth_src, ETH_TYPE_IP, packet, vlans, pad)


def tcp4_frame(
    *,
    eth_src: MacLike = ETH_SRC,
    eth_dst: MacLike = ETH_DST,
    ip_src: IpLike = IP4_SRC,
    ip_dst: IpLike = IP4_DST,
    sport: int = 1024,
    dport: int = 80,
    tcp_flags: int = TCP_SYN,
    seq: int = 0,
    ack: int = 0,
    window: int = 8192,
    payload: bytes = b"",
    vlans: Sequence[VlanTag] = (),
    ttl: int = 64,
    tos: int = 0,
    pad: bool = False,
) -> bytes:
    """An Ethernet/IPv4/TCP frame."""
    seg = tcp(sport, dport, payload, seq=seq, ack=ack, flags=tcp_flags, window=window, src_ip=ip_src, dst_ip=ip_dst)
    return ethernet(eth_dst, eth_src, ETH_TYPE_IP, ipv4(ip_src, ip_dst, IPPROTO_TCP, seg, ttl=ttl, tos=tos), vlans, pad)


def icmp4_echo_frame(
    *,
    eth_src: MacLike = ETH_SRC,
    eth_dst: MacLike = ETH_DST,
    ip_src: IpLike = IP4_SRC,
    ip_dst: IpLike = IP4_DST,
    ident: int = 0,
    seq: int = 0,
    payload: bytes = b"",
    reply: bool = False,
    vlans: Sequence[VlanTag] = (),
    ttl: int = 64,
    pad: bool = False,
) -> bytes:
    """An Ethernet/IPv4/ICMP echo request (or reply) frame."""
    msg = icmp4_echo(ident, seq, payload, reply)
    return ethernet(eth_dst, eth_src, ETH_TYPE_IP, ipv4(ip_src, ip_dst, IPPROTO_ICMP, msg, ttl=ttl), vlans, pad)


def arp_request_frame(
    *,
    eth_src: MacLike = ETH_SRC,
    spa: IpLike = IP4_SRC,
    tpa: IpLike = IP4_DST,
    vlans: Sequence[VlanTag] = (),
    pad: bool = False,
) -> bytes:
    """A broadcast ARP request from ``eth_src``/``spa`` asking for ``tpa``."""
    body = arp(ARP_OP_REQUEST, eth_src, spa, bytes(6), tpa)
    return ethernet(ETH_BROADCAST, eth_src, ETH_TYPE_ARP, body, vlans, pad)


def arp_reply_frame(
    *,
    eth_src: MacLike = ETH_DST,
    eth_dst: MacLike = ETH_SRC,
    spa: IpLike = IP4_DST,
    tpa: IpLike = IP4_SRC,
    vlans: Sequence[VlanTag] = (),
    pad: bool = False,
) -> bytes:
    """A unicast ARP reply: ``spa`` is at ``eth_src``, sent to ``eth_dst``/``tpa``."""
    body = arp(ARP_OP_REPLY, eth_src, spa, eth_dst, tpa)
    return ethernet(eth_dst, eth_src, ETH_TYPE_ARP, body, vlans, pad)


def udp6_frame(
    *,
    eth_src: MacLike = ETH_SRC,
    eth_dst: MacLike = ETH_DST,
    ip_src: IpLike = IP6_SRC,
    ip_dst: IpLike = IP6_DST,
    sport: int = 1024,
    dport: int = 2048,
    payload: bytes = b"",
    vlans: Sequence[VlanTag] = (),
    hop_limit: int = 64,
    tc: int = 0,
    flow_label: int = 0,
    exts: Sequence[tuple[int, bytes]] = (),
) -> bytes:
    """An Ethernet/IPv6/UDP frame, optionally with extension headers (see :func:`pyvswitch.packet.ipv6.ipv6`)."""
    dgram = udp(sport, dport, payload, src_ip=ip_src, dst_ip=ip_dst)
    packet = ipv6(ip_src, ip_dst, IPPROTO_UDP, dgram, hop_limit, tc, flow_label, exts)
    return ethernet(eth_dst, eth_src, ETH_TYPE_IPV6, packet, vlans)


def tcp6_frame(
    *,
    eth_src: MacLike = ETH_SRC,
    eth_dst: MacLike = ETH_DST,
    ip_src: IpLike = IP6_SRC,
    ip_dst: IpLike = IP6_DST,
    sport: int = 1024,
    dport: int = 80,
    tcp_flags: int = TCP_SYN,
    seq: int = 0,
    ack: int = 0,
    payload: bytes = b"",
    vlans: Sequence[VlanTag] = (),
    hop_limit: int = 64,
) -> bytes:
    """An Ethernet/IPv6/TCP frame."""
    seg = tcp(sport, dport, payload, seq=seq, ack=ack, flags=tcp_flags, src_ip=ip_src, dst_ip=ip_dst)
    return ethernet(eth_dst, eth_src, ETH_TYPE_IPV6, ipv6(ip_src, ip_dst, IPPROTO_TCP, seg, hop_limit), vlans)


def icmp6_echo_frame(
    *,
    eth_src: MacLike = ETH_SRC,
    eth_dst: MacLike = ETH_DST,
    ip_src: IpLike = IP6_SRC,
    ip_dst: IpLike = IP6_DST,
    ident: int = 0,
    seq: int = 0,
    payload: bytes = b"",
    reply: bool = False,
    vlans: Sequence[VlanTag] = (),
) -> bytes:
    """An Ethernet/IPv6/ICMPv6 echo request (or reply) frame."""
    msg = icmp6_echo(ip_src, ip_dst, ident, seq, payload, reply)
    return ethernet(eth_dst, eth_src, ETH_TYPE_IPV6, ipv6(ip_src, ip_dst, IPPROTO_ICMPV6, msg), vlans)


def nd_ns_frame(
    *,
    eth_src: MacLike = ETH_SRC,
    ip_src: IpLike = IP6_SRC,
    target: IpLike = IP6_DST,
    with_sll: bool = True,
    vlans: Sequence[VlanTag] = (),
) -> bytes:
    """A neighbour solicitation for ``target``, sent to its solicited-node group with hop limit 255, with a
    source link-layer address option carrying ``eth_src`` unless ``with_sll`` is false."""
    dst = solicited_node(target)
    msg = nd_ns(ip_src, dst, target, eth_src if with_sll else None)
    packet = ipv6(ip_src, dst, IPPROTO_ICMPV6, msg, 255)
    return ethernet(ip6_multicast_mac(dst), eth_src, ETH_TYPE_IPV6, packet, vlans)


def nd_na_frame(
    *,
    eth_src: MacLike = ETH_DST,
    eth_dst: MacLike = ETH_SRC,
    ip_src: IpLike = IP6_DST,
    ip_dst: IpLike = IP6_SRC,
    target: IpLike | None = None,
    with_tll: bool = True,
    flags: int = ND_NA_SOLICITED | ND_NA_OVERRIDE,
    vlans: Sequence[VlanTag] = (),
) -> bytes:
    """A neighbour advertisement for ``target`` (default ``ip_src``), hop limit 255, with a target link-layer
    address option carrying ``eth_src`` unless ``with_tll`` is false."""
    msg = nd_na(ip_src, ip_dst, ip_src if target is None else target, eth_src if with_tll else None, flags)
    return ethernet(eth_dst, eth_src, ETH_TYPE_IPV6, ipv6(ip_src, ip_dst, IPPROTO_ICMPV6, msg, 255), vlans)


def vxlan4_frame(
    inner: bytes,
    *,
    vni: int = 0,
    eth_src: MacLike = ETH_SRC,
    eth_dst: MacLike = ETH_DST,
    ip_src: IpLike = IP4_SRC,
    ip_dst: IpLike = IP4_DST,
    sport: int = 49152,
    dport: int = UDP_PORT_VXLAN,
    policy_id: int | None = None,
    udp_csum: bool = False,
) -> bytes:
    """The Ethernet frame ``inner`` in VXLAN over UDP/IPv4, with DF set and no UDP checksum, as Linux sends."""
    dgram = udp(sport, dport, vxlan(vni, inner, policy_id=policy_id), src_ip=ip_src if udp_csum else None,
                dst_ip=ip_dst)
    return ethernet(eth_dst, eth_src, ETH_TYPE_IP, ipv4(ip_src, ip_dst, IPPROTO_UDP, dgram, flags=2))


def geneve4_frame(
    inner: bytes,
    *,
    vni: int = 0,
    options: Sequence[GeneveOption] = (),
    protocol: int = ETH_TYPE_TEB,
    eth_src: MacLike = ETH_SRC,
    eth_dst: MacLike = ETH_DST,
    ip_src: IpLike = IP4_SRC,
    ip_dst: IpLike = IP4_DST,
    sport: int = 49152,
    udp_csum: bool = False,
) -> bytes:
    """``inner`` (an Ethernet frame unless ``protocol`` says otherwise) in Geneve over UDP/IPv4."""
    body = geneve(vni, inner, protocol=protocol, options=options)
    dgram = udp(sport, UDP_PORT_GENEVE, body, src_ip=ip_src if udp_csum else None, dst_ip=ip_dst)
    return ethernet(eth_dst, eth_src, ETH_TYPE_IP, ipv4(ip_src, ip_dst, IPPROTO_UDP, dgram, flags=2))


def gre4_frame(
    inner: bytes,
    *,
    key: int | None = None,
    seq: int | None = None,
    csum: bool = False,
    protocol: int = ETH_TYPE_TEB,
    eth_src: MacLike = ETH_SRC,
    eth_dst: MacLike = ETH_DST,
    ip_src: IpLike = IP4_SRC,
    ip_dst: IpLike = IP4_DST,
) -> bytes:
    """``inner`` (an Ethernet frame unless ``protocol`` says otherwise) in GRE over IPv4."""
    body = gre(protocol, inner, key=key, seq=seq, csum=csum)
    return ethernet(eth_dst, eth_src, ETH_TYPE_IP, ipv4(ip_src, ip_dst, IPPROTO_GRE, body, flags=2))


def mpls_frame(
    labels: Sequence[int | MplsLabel],
    payload: bytes,
    *,
    eth_src: MacLike = ETH_SRC,
    eth_dst: MacLike = ETH_DST,
    ethertype: int = ETH_TYPE_MPLS,
    vlans: Sequence[VlanTag] = (),
) -> bytes:
    """``payload`` (typically an IP packet) under an MPLS label stack, top label first."""
    return ethernet(eth_dst, eth_src, ethertype, mpls(labels, payload), vlans)


def roce4_frame(
    *,
    opcode: int = 0x04,
    dest_qp: int = 1,
    psn: int = 0,
    payload: bytes = b"",
    eth_src: MacLike = ETH_SRC,
    eth_dst: MacLike = ETH_DST,
    ip_src: IpLike = IP4_SRC,
    ip_dst: IpLike = IP4_DST,
    sport: int = 49152,
    ecn: int = 0,
) -> bytes:
    """A RoCEv2 packet (BTH, ``payload`` and a zero ICRC) over UDP/IPv4; default opcode 0x04 is RC SEND Only.

    The ICRC is left zero because switches neither check nor rewrite it.
    """
    body = roce_bth(opcode, dest_qp, psn) + payload + bytes(4)
    dgram = udp(sport, UDP_PORT_ROCEV2, body, src_ip=ip_src, dst_ip=ip_dst)
    return ethernet(eth_dst, eth_src, ETH_TYPE_IP, ipv4(ip_src, ip_dst, IPPROTO_UDP, dgram, tos=ecn, flags=2))
