"""Shared helpers and hypothesis strategies for the tests of pyvswitch.packet.

Scapy is the independent reference: it builds packets for our parsers and dissects what our builders make.
"""

from __future__ import annotations

import logging

from hypothesis import strategies as st

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

from scapy.packet import Packet

macs = st.binary(min_size=6, max_size=6)
ip4s = st.binary(min_size=4, max_size=4)
ip6s = st.binary(min_size=16, max_size=16)
u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u24 = st.integers(0, 0xFFFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
payloads = st.binary(max_size=64)


def s_mac(b: bytes) -> str:
    return b.hex(":")


def s_ip4(b: bytes) -> str:
    import socket

    return socket.inet_ntop(socket.AF_INET, b)


def s_ip6(b: bytes) -> str:
    import socket

    return socket.inet_ntop(socket.AF_INET6, b)


def recompute_checksums(pkt: Packet, skip: tuple[type, ...] = ()) -> bytes:
    """Rebuild a dissected Scapy packet with every checksum field reset, so Scapy computes them itself.

    Comparing the result with the original bytes checks all the checksums at once.
    """
    layer: Packet | None = pkt
    while layer is not None:
        if isinstance(layer, skip):
            break
        for name in ("chksum", "cksum"):
            if name in layer.fields and layer.fields[name] is not None:
                setattr(layer, name, None)
        layer = layer.payload if layer.payload else None
    return bytes(pkt)


def checksums_ok(frame: bytes, skip: tuple[type, ...] = ()) -> bool:
    """True if Scapy agrees with every checksum in the Ethernet ``frame`` (layers from ``skip`` on excluded)."""
    from scapy.layers.l2 import Ether

    return recompute_checksums(Ether(frame), skip) == frame
