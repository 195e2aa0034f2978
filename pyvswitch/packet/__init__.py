"""Header codecs, builders and checksums: the bottom layer of pyvswitch.

Parsing follows dpkt rather than Scapy: each header is one precompiled ``struct.Struct`` unpacked straight into
a small immutable ``NamedTuple``.  Every parser has the same shape, ``parse_X(buf, offset) -> (header,
next_offset)``, where ``buf`` is ``bytes``, ``bytearray`` or ``memoryview`` and ``offset`` is non-negative, and
raises only :class:`Malformed` (a ``ValueError``) on truncated or invalid input, so that flow extraction can stop
at the last good layer as Open vSwitch's ``miniflow_extract`` does.  Addresses stay raw bytes (6 for a MAC, 4 or
16 for IP); :mod:`pyvswitch.packet.addr` converts them to and from text.

Builders are plain functions returning ``bytes`` that compute lengths and checksums; :mod:`pyvswitch.packet.build`
adds whole-frame helpers.  :mod:`pyvswitch.packet.checksum` has the Internet checksum, pseudo-header checksums,
RFC 1624 incremental updates for set-field actions and SCTP's CRC32c.

Modules: ``ethernet`` (Ethernet II, 802.3 LLC/SNAP, 802.1Q/802.1ad), ``arp``, ``ipv4``, ``ipv6`` (with extension
headers), ``icmp`` (ICMPv4, ICMPv6, neighbour discovery), ``l4`` (TCP, UDP, SCTP), ``tunnel`` (GRE, VXLAN with
GBP, Geneve), ``mpls``, ``roce`` (RoCEv2 BTH), ``checksum``, ``addr``, ``build``, ``constants``.
"""

from pyvswitch.packet import constants as _constants
from pyvswitch.packet.addr import (
    ip4_to_str,
    ip6_to_str,
    mac_to_str,
    str_to_ip4,
    str_to_ip6,
    str_to_mac,
)
from pyvswitch.packet.arp import Arp, arp, parse_arp
from pyvswitch.packet.constants import *
from pyvswitch.packet.errors import Malformed
from pyvswitch.packet.ethernet import (
    Ethernet,
    Llc,
    Snap,
    VlanTag,
    ethernet,
    ieee8023,
    llc,
    parse_ethernet,
    snap,
    vlan_tag,
)
from pyvswitch.packet.icmp import (
    Icmp4,
    Icmp6,
    Nd,
    NdOption,
    icmp4,
    icmp4_echo,
    icmp6,
    icmp6_echo,
    is_nd,
    nd_na,
    nd_ns,
    nd_option,
    nd_rs,
    parse_icmp4,
    parse_icmp6,
    parse_nd,
)
from pyvswitch.packet.ipv4 import Ipv4, ipv4, ipv4_options, parse_ipv4
from pyvswitch.packet.ipv6 import (
    Ipv6,
    Ipv6ExtHeader,
    Ipv6Frag,
    ipv6,
    ipv6_frag_body,
    ipv6_options,
    ipv6_opts_body,
    ipv6_routing_body,
    parse_ipv6,
)
from pyvswitch.packet.l4 import (
    Sctp,
    SctpChunk,
    Tcp,
    Udp,
    parse_sctp,
    parse_tcp,
    parse_udp,
    sctp,
    sctp_chunk,
    sctp_chunks,
    tcp,
    udp,
)
from pyvswitch.packet.mpls import MplsLabel, mpls, parse_mpls
from pyvswitch.packet.roce import RoceBth, parse_roce_bth, roce_bth
from pyvswitch.packet.tunnel import (
    Geneve,
    GeneveOption,
    Gre,
    Vxlan,
    geneve,
    geneve_option,
    gre,
    parse_geneve,
    parse_gre,
    parse_vxlan,
    vxlan,
)

__all__ = [
    "Arp",
    "Ethernet",
    "Geneve",
    "GeneveOption",
    "Gre",
    "Icmp4",
    "Icmp6",
    "Ipv4",
    "Ipv6",
    "Ipv6ExtHeader",
    "Ipv6Frag",
    "Llc",
    "Malformed",
    "MplsLabel",
    "Nd",
    "NdOption",
    "RoceBth",
    "Sctp",
    "SctpChunk",
    "Snap",
    "Tcp",
    "Udp",
    "VlanTag",
    "Vxlan",
    "arp",
    "ethernet",
    "geneve",
    "geneve_option",
    "gre",
    "icmp4",
    "icmp4_echo",
    "icmp6",
    "icmp6_echo",
    "ieee8023",
    "ip4_to_str",
    "ip6_to_str",
    "ipv4",
    "ipv4_options",
    "ipv6",
    "ipv6_frag_body",
    "ipv6_options",
    "ipv6_opts_body",
    "ipv6_routing_body",
    "is_nd",
    "llc",
    "mac_to_str",
    "mpls",
    "nd_na",
    "nd_ns",
    "nd_option",
    "nd_rs",
    "parse_arp",
    "parse_ethernet",
    "parse_geneve",
    "parse_gre",
    "parse_icmp4",
    "parse_icmp6",
    "parse_ipv4",
    "parse_ipv6",
    "parse_mpls",
    "parse_nd",
    "parse_roce_bth",
    "parse_sctp",
    "parse_tcp",
    "parse_udp",
    "parse_vxlan",
    "roce_bth",
    "sctp",
    "sctp_chunk",
    "sctp_chunks",
    "snap",
    "str_to_ip4",
    "str_to_ip6",
    "str_to_mac",
    "tcp",
    "udp",
    "vlan_tag",
    "vxlan",
]
__all__ += _constants.__all__
