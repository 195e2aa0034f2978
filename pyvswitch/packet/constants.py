"""Protocol numbers shared by the codecs, the flow layer and the tests.

The values are the ones assigned by IEEE and IANA; the names follow Open vSwitch's ``packets.h`` where it has
one (``ETH_TYPE_IP``, ``IPPROTO_*`` equivalents) so that code ported from or compared with OVS reads the same.
They live in one module, rather than next to each codec, so that the builders, the whole-frame helpers and the
flow layer can import them without importing every codec.
"""

from __future__ import annotations

from typing import Final

# EtherTypes (IEEE registry).  A type/length field below ETH_TYPE_MIN is an IEEE 802.3 length.
ETH_TYPE_MIN: Final = 0x0600
ETH_TYPE_IP: Final = 0x0800
ETH_TYPE_ARP: Final = 0x0806
ETH_TYPE_RARP: Final = 0x8035
ETH_TYPE_VLAN_8021Q: Final = 0x8100
ETH_TYPE_VLAN: Final = ETH_TYPE_VLAN_8021Q
ETH_TYPE_IPV6: Final = 0x86DD
ETH_TYPE_MPLS: Final = 0x8847
ETH_TYPE_MPLS_MCAST: Final = 0x8848
ETH_TYPE_VLAN_8021AD: Final = 0x88A8
ETH_TYPE_LLDP: Final = 0x88CC
ETH_TYPE_TEB: Final = 0x6558  # Transparent Ethernet Bridging: GRE/Geneve payload that is an Ethernet frame.
ETH_TYPE_NSH: Final = 0x894F
# Open vSwitch's dl_type for an 802.3 frame that carries no SNAP EtherType (FLOW_DL_TYPE_NONE).
ETH_TYPE_NONE: Final = 0x05FF

VLAN_TPIDS: Final = frozenset({ETH_TYPE_VLAN_8021Q, ETH_TYPE_VLAN_8021AD})
VLAN_MAX_TAGS: Final = 2  # As Open vSwitch's FLOW_MAX_VLAN_HEADERS.

ETH_HEADER_LEN: Final = 14
ETH_MIN_FRAME_LEN: Final = 60  # Without the FCS.

# IEEE 802.2 LLC / SNAP.
LLC_DSAP_SNAP: Final = 0xAA
LLC_SSAP_SNAP: Final = 0xAA
LLC_CNTL_SNAP: Final = 0x03  # Unnumbered Information.
LLC_DSAP_STP: Final = 0x42

# ARP (RFC 826).
ARP_HTYPE_ETH: Final = 1
ARP_OP_REQUEST: Final = 1
ARP_OP_REPLY: Final = 2
ARP_OP_RREQUEST: Final = 3
ARP_OP_RREPLY: Final = 4

# IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
IPPROTO_HOPOPTS: Final = 0
IPPROTO_ICMP: Final = 1
IPPROTO_IGMP: Final = 2
IPPROTO_IPIP: Final = 4
IPPROTO_TCP: Final = 6
IPPROTO_UDP: Final = 17
IPPROTO_IPV6: Final = 41
IPPROTO_ROUTING: Final = 43
IPPROTO_FRAGMENT: Final = 44
IPPROTO_GRE: Final = 47
IPPROTO_ESP: Final = 50
IPPROTO_AH: Final = 51
IPPROTO_ICMPV6: Final = 58
IPPROTO_NONE: Final = 59
IPPROTO_DSTOPTS: Final = 60
IPPROTO_SCTP: Final = 132

# IPv4 flags, as the 3-bit field that precedes the fragment offset.
IPV4_FLAG_RESERVED: Final = 0x4
IPV4_DF: Final = 0x2
IPV4_MF: Final = 0x1

# TCP control bits, in the 12-bit field that OVS's tcp_flags matches (RFC 9293 plus RFC 3540's NS bit).
TCP_FIN: Final = 0x001
TCP_SYN: Final = 0x002
TCP_RST: Final = 0x004
TCP_PSH: Final = 0x008
TCP_ACK: Final = 0x010
TCP_URG: Final = 0x020
TCP_ECE: Final = 0x040
TCP_CWR: Final = 0x080
TCP_NS: Final = 0x100

# ICMPv4 types.
ICMP_ECHO_REPLY: Final = 0
ICMP_DEST_UNREACH: Final = 3
ICMP_REDIRECT: Final = 5
ICMP_ECHO_REQUEST: Final = 8
ICMP_TIME_EXCEEDED: Final = 11

# ICMPv6 types (RFC 4443, RFC 4861).
ICMPV6_DEST_UNREACH: Final = 1
ICMPV6_PACKET_TOO_BIG: Final = 2
ICMPV6_TIME_EXCEEDED: Final = 3
ICMPV6_PARAM_PROBLEM: Final = 4
ICMPV6_ECHO_REQUEST: Final = 128
ICMPV6_ECHO_REPLY: Final = 129
ND_ROUTER_SOLICIT: Final = 133
ND_ROUTER_ADVERT: Final = 134
ND_NEIGHBOR_SOLICIT: Final = 135
ND_NEIGHBOR_ADVERT: Final = 136
ND_REDIRECT: Final = 137

# Neighbour discovery option types and NA flags (RFC 4861 section 4.6 and 4.4).
ND_OPT_SOURCE_LINKADDR: Final = 1
ND_OPT_TARGET_LINKADDR: Final = 2
ND_OPT_PREFIX_INFORMATION: Final = 3
ND_OPT_REDIRECTED_HEADER: Final = 4
ND_OPT_MTU: Final = 5
ND_NA_ROUTER: Final = 0x80000000
ND_NA_SOLICITED: Final = 0x40000000
ND_NA_OVERRIDE: Final = 0x20000000

# Well-known UDP ports of the encapsulations pyvswitch terminates.
UDP_PORT_VXLAN: Final = 4789
UDP_PORT_GENEVE: Final = 6081
UDP_PORT_ROCEV2: Final = 4791

# VXLAN (RFC 7348) and its Group Based Policy extension (draft-smith-vxlan-group-policy).
VXLAN_FLAG_I: Final = 0x08
VXLAN_FLAG_G: Final = 0x80
VXLAN_GBP_DONT_LEARN: Final = 0x40
VXLAN_GBP_POLICY_APPLIED: Final = 0x08

# GRE (RFC 2784, RFC 2890) flag bits in the first 16-bit word.
GRE_FLAG_CSUM: Final = 0x8000
GRE_FLAG_ROUTING: Final = 0x4000
GRE_FLAG_KEY: Final = 0x2000
GRE_FLAG_SEQ: Final = 0x1000
GRE_VERSION_MASK: Final = 0x0007

# Geneve (RFC 8926).
GENEVE_OPT_CRITICAL: Final = 0x80  # High bit of an option's type.


# Listed explicitly so that ``from constants import *`` exports exactly these names and type checkers see them;
# tests/packet/test_packet_build.py checks that the list stays complete.
__all__ = [
    "ARP_HTYPE_ETH",
    "ARP_OP_REPLY",
    "ARP_OP_REQUEST",
    "ARP_OP_RREPLY",
    "ARP_OP_RREQUEST",
    "ETH_HEADER_LEN",
    "ETH_MIN_FRAME_LEN",
    "ETH_TYPE_ARP",
    "ETH_TYPE_IP",
    "ETH_TYPE_IPV6",
    "ETH_TYPE_LLDP",
    "ETH_TYPE_MIN",
    "ETH_TYPE_MPLS",
    "ETH_TYPE_MPLS_MCAST",
    "ETH_TYPE_NONE",
    "ETH_TYPE_NSH",
    "ETH_TYPE_RARP",
    "ETH_TYPE_TEB",
    "ETH_TYPE_VLAN",
    "ETH_TYPE_VLAN_8021AD",
    "ETH_TYPE_VLAN_8021Q",
    "GENEVE_OPT_CRITICAL",
    "GRE_FLAG_CSUM",
    "GRE_FLAG_KEY",
    "GRE_FLAG_ROUTING",
    "GRE_FLAG_SEQ",
    "GRE_VERSION_MASK",
    "ICMPV6_DEST_UNREACH",
    "ICMPV6_ECHO_REPLY",
    "ICMPV6_ECHO_REQUEST",
    "ICMPV6_PACKET_TOO_BIG",
    "ICMPV6_PARAM_PROBLEM",
    "ICMPV6_TIME_EXCEEDED",
    "ICMP_DEST_UNREACH",
    "ICMP_ECHO_REPLY",
    "ICMP_ECHO_REQUEST",
    "ICMP_REDIRECT",
    "ICMP_TIME_EXCEEDED",
    "IPPROTO_AH",
    "IPPROTO_DSTOPTS",
    "IPPROTO_ESP",
    "IPPROTO_FRAGMENT",
    "IPPROTO_GRE",
    "IPPROTO_HOPOPTS",
    "IPPROTO_ICMP",
    "IPPROTO_ICMPV6",
    "IPPROTO_IGMP",
    "IPPROTO_IPIP",
    "IPPROTO_IPV6",
    "IPPROTO_NONE",
    "IPPROTO_ROUTING",
    "IPPROTO_SCTP",
    "IPPROTO_TCP",
    "IPPROTO_UDP",
    "IPV4_DF",
    "IPV4_FLAG_RESERVED",
    "IPV4_MF",
    "LLC_CNTL_SNAP",
    "LLC_DSAP_SNAP",
    "LLC_DSAP_STP",
    "LLC_SSAP_SNAP",
    "ND_NA_OVERRIDE",
    "ND_NA_ROUTER",
    "ND_NA_SOLICITED",
    "ND_NEIGHBOR_ADVERT",
    "ND_NEIGHBOR_SOLICIT",
    "ND_OPT_MTU",
    "ND_OPT_PREFIX_INFORMATION",
    "ND_OPT_REDIRECTED_HEADER",
    "ND_OPT_SOURCE_LINKADDR",
    "ND_OPT_TARGET_LINKADDR",
    "ND_REDIRECT",
    "ND_ROUTER_ADVERT",
    "ND_ROUTER_SOLICIT",
    "TCP_ACK",
    "TCP_CWR",
    "TCP_ECE",
    "TCP_FIN",
    "TCP_NS",
    "TCP_PSH",
    "TCP_RST",
    "TCP_SYN",
    "TCP_URG",
    "UDP_PORT_GENEVE",
    "UDP_PORT_ROCEV2",
    "UDP_PORT_VXLAN",
    "VLAN_MAX_TAGS",
    "VLAN_TPIDS",
    "VXLAN_FLAG_G",
    "VXLAN_FLAG_I",
    "VXLAN_GBP_DONT_LEARN",
    "VXLAN_GBP_POLICY_APPLIED",
]
