"""Address helpers: parsed headers carry addresses as raw ``bytes``; people and tests like text.

A MAC address is 6 bytes, an IPv4 address 4 bytes and an IPv6 address 16 bytes, exactly as on the wire, because
that is what the flow key hashes and compares and converting on every packet would be wasted work.  The builders
accept either form through :func:`mac`, :func:`ip4` and :func:`ip6`, so callers may write ``"10.0.0.1"``.
"""

from __future__ import annotations

import socket

MacLike = bytes | str
IpLike = bytes | str


def mac_to_str(mac: bytes) -> str:
    """Format a 6-byte MAC address as ``aa:bb:cc:dd:ee:ff`` (lower case, as ovs-ofctl prints it)."""
    if len(mac) != 6:
        raise ValueError(f"MAC address must be 6 bytes, got {len(mac)}")
    return mac.hex(":")


def str_to_mac(text: str) -> bytes:
    """Parse ``aa:bb:cc:dd:ee:ff`` (also with ``-`` separators) into 6 bytes."""
    parts = text.replace("-", ":").split(":")
    if len(parts) != 6 or not all(1 <= len(p) <= 2 for p in parts):
        raise ValueError(f"invalid MAC address {text!r}")
    try:
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise ValueError(f"invalid MAC address {text!r}") from None


def ip4_to_str(addr: bytes) -> str:
    """Format a 4-byte IPv4 address in dotted-quad form."""
    return socket.inet_ntop(socket.AF_INET, addr)


def str_to_ip4(text: str) -> bytes:
    """Parse a dotted-quad IPv4 address into 4 bytes."""
    return socket.inet_pton(socket.AF_INET, text)


def ip6_to_str(addr: bytes) -> str:
    """Format a 16-byte IPv6 address in RFC 5952 canonical form."""
    return socket.inet_ntop(socket.AF_INET6, addr)


def str_to_ip6(text: str) -> bytes:
    """Parse an IPv6 address into 16 bytes."""
    return socket.inet_pton(socket.AF_INET6, text)


def mac(value: MacLike) -> bytes:
    """Return ``value`` as 6 bytes, accepting bytes or text."""
    if isinstance(value, str):
        return str_to_mac(value)
    if len(value) != 6:
        raise ValueError(f"MAC address must be 6 bytes, got {len(value)}")
    return bytes(value)


def ip4(value: IpLike) -> bytes:
    """Return ``value`` as 4 bytes, accepting bytes or dotted-quad text."""
    if isinstance(value, str):
        return str_to_ip4(value)
    if len(value) != 4:
        raise ValueError(f"IPv4 address must be 4 bytes, got {len(value)}")
    return bytes(value)


def ip6(value: IpLike) -> bytes:
    """Return ``value`` as 16 bytes, accepting bytes or text."""
    if isinstance(value, str):
        return str_to_ip6(value)
    if len(value) != 16:
        raise ValueError(f"IPv6 address must be 16 bytes, got {len(value)}")
    return bytes(value)


def ip_any(value: IpLike) -> bytes:
    """Return an IPv4 or IPv6 address as 4 or 16 bytes, deciding by its text or length."""
    if isinstance(value, str):
        return str_to_ip6(value) if ":" in value else str_to_ip4(value)
    if len(value) not in (4, 16):
        raise ValueError(f"IP address must be 4 or 16 bytes, got {len(value)}")
    return bytes(value)

