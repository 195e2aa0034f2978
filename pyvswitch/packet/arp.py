"""ARP and RARP for Ethernet and IPv4 (RFC 826, RFC 903).

Only the Ethernet/IPv4 form exists on the networks pyvswitch switches, and it is the only one Open vSwitch
extracts into a flow; an ARP packet with another hardware or protocol type or address length is reported as
:class:`Malformed`, so flow extraction keeps the L2 fields and no ARP fields, as OVS does.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from pyvswitch.packet.addr import IpLike, MacLike, ip4, mac
from pyvswitch.packet.constants import ARP_HTYPE_ETH, ETH_TYPE_IP
from pyvswitch.packet.errors import Malformed, truncated

Buffer = bytes | bytearray | memoryview

_ARP = struct.Struct("!HHBBH6s4s6s4s")
ARP_LEN = _ARP.size  # 28


class Arp(NamedTuple):
    """An Ethernet/IPv4 ARP or RARP packet."""

    op: int
    sha: bytes  # Sender hardware (MAC) address.
    spa: bytes  # Sender protocol (IPv4) address.
    tha: bytes  # Target hardware address.
    tpa: bytes  # Target protocol address.
    htype: int = ARP_HTYPE_ETH
    ptype: int = ETH_TYPE_IP


def parse_arp(buf: Buffer, offset: int = 0) -> tuple[Arp, int]:
    """Parse an Ethernet/IPv4 ARP packet at ``offset``; return it and the offset just past its 28 bytes."""
    try:
        htype, ptype, hlen, plen, op, sha, spa, tha, tpa = _ARP.unpack_from(buf, offset)
    except struct.error:
        raise truncated("arp", ARP_LEN, len(buf) - offset) from None
    if htype != ARP_HTYPE_ETH or ptype != ETH_TYPE_IP or hlen != 6 or plen != 4:
        raise Malformed(f"arp: not Ethernet/IPv4 (htype={htype} ptype={ptype:#06x} hlen={hlen} plen={plen})")
    return Arp(op, sha, spa, tha, tpa, htype, ptype), offset + ARP_LEN


def arp(op: int, sha: MacLike, spa: IpLike, tha: MacLike, tpa: IpLike) -> bytes:
    """Build an Ethernet/IPv4 ARP packet (28 bytes) with operation ``op`` (``ARP_OP_REQUEST``, ...)."""
    return _ARP.pack(ARP_HTYPE_ETH, ETH_TYPE_IP, 6, 4, op, mac(sha), ip4(spa), mac(tha), ip4(tpa))
