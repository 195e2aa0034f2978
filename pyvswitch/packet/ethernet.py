"""Ethernet: Ethernet II, IEEE 802.3 with LLC and SNAP, and 802.1Q / 802.1ad VLAN tags.

:func:`parse_ethernet` does what the L2 part of Open vSwitch's ``miniflow_extract`` does, so that the flow layer
can copy its result field by field:

- It reads up to two VLAN tags (``VLAN_MAX_TAGS``) whose TPID is 0x8100 or 0x88a8, outermost first.  A third
  tag is not consumed: its TPID becomes the frame's ``ethertype``, as in OVS.
- A type/length field below 0x0600 is an 802.3 length.  The LLC header is decoded, and if it announces SNAP with
  the zero OUI the SNAP protocol id becomes ``ethertype`` (RFC 1042 encapsulation); any other 802.3 frame gets
  ``ETH_TYPE_NONE`` (0x05ff), OVS's ``FLOW_DL_TYPE_NONE``.  The length field itself is reported, not enforced.

Only a frame shorter than the 14-byte header raises :class:`Malformed`.  A truncated VLAN tag or LLC/SNAP header
ends L2 parsing early instead (the tag's TPID, or ``ETH_TYPE_NONE``, is then the ethertype), because the Ethernet
header itself was complete and OVS classifies such frames the same way; there is no upper layer to parse anyway.

The parsed :class:`Ethernet` is a ``NamedTuple``: cheap to build on every packet, immutable and hashable.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import NamedTuple

from pyvswitch.packet.addr import MacLike, mac
from pyvswitch.packet.constants import (
    ETH_MIN_FRAME_LEN,
    ETH_TYPE_MIN,
    ETH_TYPE_NONE,
    ETH_TYPE_VLAN_8021AD,
    ETH_TYPE_VLAN_8021Q,
    LLC_CNTL_SNAP,
    LLC_DSAP_SNAP,
    LLC_SSAP_SNAP,
    VLAN_MAX_TAGS,
)
from pyvswitch.packet.errors import truncated

Buffer = bytes | bytearray | memoryview

_ETH = struct.Struct("!6s6sH")
_U16 = struct.Struct("!H")
_TAG = struct.Struct("!HH")  # TCI, then the next type.
_LLC = struct.Struct("!BBB")
_SNAP = struct.Struct("!3sH")


class VlanTag(NamedTuple):
    """One 802.1Q (TPID 0x8100) or 802.1ad (TPID 0x88a8) tag."""

    tpid: int
    pcp: int  # Priority code point, 3 bits.
    dei: int  # Drop eligible indicator (formerly CFI), 1 bit.
    vid: int  # VLAN id, 12 bits.

    @property
    def tci(self) -> int:
        """The 16-bit tag control information as on the wire."""
        return (self.pcp << 13) | (self.dei << 12) | self.vid


class Llc(NamedTuple):
    """An IEEE 802.2 LLC header.  ``control`` is 8 bits for U-format PDUs and 16 bits for I- and S-format."""

    dsap: int
    ssap: int
    control: int


class Snap(NamedTuple):
    """An IEEE 802 SNAP header: organisation code and protocol id."""

    oui: int
    pid: int


class Ethernet(NamedTuple):
    """A parsed Ethernet header, VLAN tags included.

    ``ethertype`` is the type of what follows the last parsed header: the EtherType of an Ethernet II frame, the
    SNAP protocol id of an RFC 1042 frame, or ``ETH_TYPE_NONE`` for other 802.3 frames.  ``length`` is the 802.3
    length field, or ``None`` for Ethernet II.
    """

    dst: bytes
    src: bytes
    ethertype: int
    vlans: tuple[VlanTag, ...] = ()
    length: int | None = None
    llc: Llc | None = None
    snap: Snap | None = None


def _tag(tpid: int, tci: int) -> VlanTag:
    return VlanTag(tpid, tci >> 13, (tci >> 12) & 1, tci & 0xFFF)


def l3_offset(frame: Buffer) -> tuple[int, int]:
    """(The Ethernet type behind up to ``VLAN_MAX_TAGS`` VLAN tags, the offset of the header it announces), read
    straight from the bytes with no checks beyond the length; (-1, 0) for a frame under 14 bytes.  For the
    per-packet paths that only need to find the L3 header (``parse_ethernet`` parses the whole header)."""
    n = len(frame)
    if n < 14:
        return -1, 0
    t = (frame[12] << 8) | frame[13]
    o = 14
    if (t == 0x8100 or t == 0x88A8) and n >= 18:
        t = (frame[16] << 8) | frame[17]
        o = 18
        if (t == 0x8100 or t == 0x88A8) and n >= 22:
            t = (frame[20] << 8) | frame[21]
            o = 22
    return t, o


def parse_ethernet(buf: Buffer, offset: int = 0) -> tuple[Ethernet, int]:
    """Parse the Ethernet header at ``offset``; return it and the offset of the payload.

    Raises :class:`Malformed` only if fewer than 14 bytes remain (see the module documentation).
    """
    try:
        dst, src, etype = _ETH.unpack_from(buf, offset)
    except struct.error:
        raise truncated("ethernet", 14, len(buf) - offset) from None
    off = offset + 14
    vlans: tuple[VlanTag, ...] = ()
    if etype == ETH_TYPE_VLAN_8021Q or etype == ETH_TYPE_VLAN_8021AD:
        tags: list[VlanTag] = []
        n = len(buf)
        while (etype == ETH_TYPE_VLAN_8021Q or etype == ETH_TYPE_VLAN_8021AD) and len(tags) < VLAN_MAX_TAGS:
            if n - off < 4:
                break
            tci, next_type = _TAG.unpack_from(buf, off)
            tags.append(_tag(etype, tci))
            etype = next_type
            off += 4
        vlans = tuple(tags)
    if etype >= ETH_TYPE_MIN:
        return Ethernet(dst, src, etype, vlans, None, None, None), off
    return _parse_8023(buf, off, dst, src, vlans, etype)


def _parse_8023(
    buf: Buffer, off: int, dst: bytes, src: bytes, vlans: tuple[VlanTag, ...], length: int
) -> tuple[Ethernet, int]:
    """Decode the LLC (and SNAP) header of an 802.3 frame, leniently (see the module documentation)."""
    rem = len(buf) - off
    if rem < 3:
        return Ethernet(dst, src, ETH_TYPE_NONE, vlans, length, None, None), off
    dsap, ssap, control = _LLC.unpack_from(buf, off)
    if control & 0x03 != 0x03:
        # I-format and S-format PDUs have a 16-bit control field.
        if rem < 4:
            return Ethernet(dst, src, ETH_TYPE_NONE, vlans, length, None, None), off
        control = _U16.unpack_from(buf, off + 2)[0]
        return Ethernet(dst, src, ETH_TYPE_NONE, vlans, length, Llc(dsap, ssap, control), None), off + 4
    llc = Llc(dsap, ssap, control)
    off += 3
    if dsap != LLC_DSAP_SNAP or ssap != LLC_SSAP_SNAP or control != LLC_CNTL_SNAP or rem < 8:
        return Ethernet(dst, src, ETH_TYPE_NONE, vlans, length, llc, None), off
    oui_bytes, pid = _SNAP.unpack_from(buf, off)
    oui = int.from_bytes(oui_bytes, "big")
    ethertype = pid if oui == 0 and pid >= ETH_TYPE_MIN else ETH_TYPE_NONE
    return Ethernet(dst, src, ethertype, vlans, length, llc, Snap(oui, pid)), off + 5


# Builders.


def vlan_tag(vid: int, pcp: int = 0, dei: int = 0, tpid: int = ETH_TYPE_VLAN_8021Q) -> VlanTag:
    """Make a VLAN tag value for :func:`ethernet`; use ``tpid=ETH_TYPE_VLAN_8021AD`` for an S-tag."""
    if not (0 <= vid < 4096 and 0 <= pcp < 8 and dei in (0, 1)):
        raise ValueError(f"invalid VLAN tag vid={vid} pcp={pcp} dei={dei}")
    return VlanTag(tpid, pcp, dei, vid)


def _pad(frame: bytes, pad: bool) -> bytes:
    if pad and len(frame) < ETH_MIN_FRAME_LEN:
        return frame + bytes(ETH_MIN_FRAME_LEN - len(frame))
    return frame


def _tags(vlans: Sequence[VlanTag]) -> bytes:
    return b"".join(_TAG.pack(t.tpid, t.tci) for t in vlans)


def ethernet(
    dst: MacLike,
    src: MacLike,
    ethertype: int,
    payload: bytes = b"",
    vlans: Sequence[VlanTag] = (),
    pad: bool = False,
) -> bytes:
    """Build an Ethernet II frame; ``vlans`` are listed outermost first.

    With ``pad`` the frame is zero-padded to the 60-byte minimum (the FCS is never included), as a NIC would.
    """
    if not vlans:
        return _pad(_ETH.pack(mac(dst), mac(src), ethertype) + payload, pad)
    return _pad(mac(dst) + mac(src) + _tags(vlans) + _U16.pack(ethertype) + payload, pad)


def llc(dsap: int, ssap: int, control: int = LLC_CNTL_SNAP) -> bytes:
    """Build an 802.2 LLC header; a control value above 0xff is written as the 16-bit I/S-format field."""
    if control > 0xFF:
        return bytes((dsap, ssap)) + _U16.pack(control)
    return _LLC.pack(dsap, ssap, control)


def snap(pid: int, oui: int = 0) -> bytes:
    """Build an LLC header announcing SNAP followed by the SNAP header (8 bytes, RFC 1042 with ``oui=0``)."""
    return _LLC.pack(LLC_DSAP_SNAP, LLC_SSAP_SNAP, LLC_CNTL_SNAP) + _SNAP.pack(oui.to_bytes(3, "big"), pid)


def ieee8023(
    dst: MacLike, src: MacLike, payload: bytes, vlans: Sequence[VlanTag] = (), pad: bool = False
) -> bytes:
    """Build an IEEE 802.3 frame whose length field counts ``payload`` (LLC header included, padding not)."""
    if len(payload) >= ETH_TYPE_MIN:
        raise ValueError("an 802.3 payload must be shorter than 1536 bytes")
    return _pad(mac(dst) + mac(src) + _tags(vlans) + _U16.pack(len(payload)) + payload, pad)
