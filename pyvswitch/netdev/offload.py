"""Checksum and segmentation offloads described by a virtio-net header: completing them in software.

Linux hands frames to AF_PACKET sockets opened with ``PACKET_VNET_HDR`` and to TAP devices opened with
``IFF_VNET_HDR`` preceded by a 10-byte ``struct virtio_net_hdr`` (``include/uapi/linux/virtio_net.h``), and
accepts the same header in front of frames written to them.  Open vSwitch's userspace datapath uses it for its
userspace TSO; pyvswitch's kernel-backed netdevs do the same (see :mod:`pyvswitch.netdev.netdev`).  The fields,
little-endian (the kernel uses the legacy, native-endian layout for these sockets, which is little-endian on
every machine pyvswitch runs on):

``flags`` (u8)
    ``F_NEEDS_CSUM``: the L4 checksum is not complete.  The 16-bit field at ``csum_start + csum_offset`` holds
    only the sum of the pseudo-header (the kernel's ``CHECKSUM_PARTIAL``); the checksum is the Internet checksum
    of every byte from ``csum_start`` to the end of the frame, that field included, stored in that field.
    ``F_DATA_VALID``: the checksum was verified (``CHECKSUM_UNNECESSARY``); nothing to do.
``gso_type`` (u8)
    ``GSO_NONE``, or the kind of super-frame this is: ``GSO_TCPV4`` / ``GSO_TCPV6`` (TSO: cut the TCP payload
    into ``gso_size``-byte segments), ``GSO_UDP`` (UFO: fragment the whole UDP datagram at the IP layer, each
    fragment carrying at most ``gso_size`` bytes of it) or ``GSO_UDP_L4`` (USO: cut the UDP payload into
    ``gso_size``-byte datagrams), possibly or-ed with ``GSO_ECN`` (the TCP super-frame carries CWR; only the
    first segment must).
``hdr_len`` (u16)
    A hint: how many bytes of headers the frame starts with.  Linux 6.18 gives the length of the headers of a
    GSO frame (and 0 otherwise), older kernels the length of the socket buffer's linear part, which need not be
    the length of the headers; so it is never relied on here: headers are always parsed from the frame itself.
``gso_size`` (u16)
    The MSS of a super-frame (0 otherwise).
``csum_start``, ``csum_offset`` (u16)
    Where the checksummed region starts (the L4 header), and where its checksum field is relative to that
    (16 for TCP, 6 for UDP).  Offsets are relative to the frame as passed here: when an AF_PACKET socket delivers
    the VLAN tag out of band and the caller puts it back into the frame, the caller must add 4 to ``csum_start``.

:func:`resolve` is what a device that cannot pass offloads on calls before transmitting: it returns the frames to
write, each complete.  It costs one comparison when there is nothing to do, which is the common case for frames
that did not come from the local stack.  :func:`segment` does the work of the kernel's ``skb_gso_segment`` (as
``tcp_gso_segment``, ``__udp_gso_segment`` and the UFO path do it): every segment gets the headers of the
super-frame with its own IPv4 total length, identification and header checksum or IPv6 payload length, TCP
sequence number and flags (FIN and PSH only on the last segment, CWR only on the first), UDP length, and a full
L4 checksum computed from scratch, so a super-frame whose checksum field holds anything is segmented correctly.
The super-frame may carry one or two 802.1Q/802.1ad tags, IPv4 options, or IPv6 extension headers
(hop-by-hop, destination options, AH) before its L4 header; one with a routing header is refused, since its
segments' pseudo-header would need the final destination from that header.

UFO over IPv6 inserts a Fragment header right before the UDP header (after any extension headers, which are then
repeated in each fragment) with an identification taken from a counter started at a random value, as the kernel
takes a fresh one per datagram.  Fragments of a UFO datagram carry ``gso_size`` rounded down to a multiple of 8
bytes of it, as fragment offsets count 8-byte units.

Errors: every malformed input (a frame too short for its headers, ``csum_start`` beyond the frame, a GSO type that
does not match the frame's headers, an unknown GSO type, a zero ``gso_size``, a super-frame that is an IP
fragment) raises :class:`ValueError` with a message saying what is wrong, and nothing else; callers count and drop
such frames, as the kernel's ``virtio_net_hdr_to_skb`` refuses them with ``-EINVAL``.

Checksums reuse :mod:`pyvswitch.packet.checksum`, which sums a whole buffer with one ``int.from_bytes``; nothing
here loops over bytes in Python.  A computed UDP checksum of 0 is written as 0xffff (RFC 768); a TCP one is
written as computed (0 and 0xffff are the same number in one's complement, and receivers accept either).
"""

from __future__ import annotations

import itertools
import random
import struct
from dataclasses import dataclass

from pyvswitch.netdev.netdev import VNET_HDR_LEN
from pyvswitch.packet.checksum import internet_checksum, ipv4_header_checksum, l4_checksum, pseudo_header_sum
from pyvswitch.packet.constants import ETH_TYPE_IP, ETH_TYPE_IPV6, IPPROTO_TCP, IPPROTO_UDP, VLAN_TPIDS

__all__ = ["F_DATA_VALID", "F_NEEDS_CSUM", "GSO_ECN", "GSO_NONE", "GSO_TCPV4", "GSO_TCPV6", "GSO_UDP",
           "GSO_UDP_L4", "NO_OFFLOAD", "VNET_HDR_LEN", "VnetHdr", "checksum_partial", "complete_checksum",
           "needs_work", "resolve", "segment"]

F_NEEDS_CSUM = 1
F_DATA_VALID = 2
GSO_NONE = 0
GSO_TCPV4 = 1
GSO_UDP = 3
GSO_TCPV6 = 4
GSO_UDP_L4 = 5
GSO_ECN = 0x80

#: The header of a frame without offloads.
NO_OFFLOAD = bytes(VNET_HDR_LEN)

_VNET = struct.Struct("<BBHHHH")
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_GSO_NAMES = {GSO_TCPV4: "TCPV4", GSO_UDP: "UDP", GSO_TCPV6: "TCPV6", GSO_UDP_L4: "UDP_L4"}
_GSO_IP_VERSION = {GSO_TCPV4: 4, GSO_TCPV6: 6}
_CSUM_OFFSET = {IPPROTO_TCP: 16, IPPROTO_UDP: 6}
_L4_MIN = {IPPROTO_TCP: 20, IPPROTO_UDP: 8}
_TCP_FIN, _TCP_PSH, _TCP_CWR = 0x01, 0x08, 0x80
_IP_MF, _IP_DF = 0x2000, 0x4000
# IPv6 extension headers that may sit between the IPv6 header and the L4 header of a super-frame.
_IPV6_HOPOPTS, _IPV6_FRAGMENT, _IPV6_AH, _IPV6_DSTOPTS = 0, 44, 51, 60
# A routing header is not among them: it would make the pseudo-header's destination the final one, not the IPv6
# header's, so such a super-frame is refused rather than given wrong checksums.
_IPV6_EXT = frozenset({_IPV6_HOPOPTS, _IPV6_AH, _IPV6_DSTOPTS})
# Identification of the IPv6 Fragment headers UFO inserts.
_frag_ids = itertools.count(random.getrandbits(32))


@dataclass(slots=True)
class VnetHdr:
    """A ``struct virtio_net_hdr``, field by field (see the module documentation)."""

    flags: int = 0
    gso_type: int = GSO_NONE
    hdr_len: int = 0
    gso_size: int = 0
    csum_start: int = 0
    csum_offset: int = 0

    @classmethod
    def unpack(cls, b: bytes) -> VnetHdr:
        """Decode the 10 bytes of a header; :class:`ValueError` if ``b`` has another length."""
        return cls(*_unpack(b))

    def pack(self) -> bytes:
        """Encode the header; :class:`ValueError` if a field does not fit its width."""
        try:
            return _VNET.pack(self.flags, self.gso_type, self.hdr_len, self.gso_size, self.csum_start,
                              self.csum_offset)
        except struct.error as e:
            raise ValueError(f"virtio-net header field out of range: {e}") from None


def _unpack(vnet: bytes) -> tuple[int, int, int, int, int, int]:
    if len(vnet) != VNET_HDR_LEN:
        raise ValueError(f"a virtio-net header is {VNET_HDR_LEN} bytes, not {len(vnet)}")
    return _VNET.unpack(vnet)


def needs_work(vnet: bytes | None) -> bool:
    """True if ``vnet`` asks for a checksum to be completed or for segmentation (a non-zero ``gso_type``).

    ``None`` (a frame without header) needs nothing; a header of the wrong length raises :class:`ValueError`."""
    if vnet is None:
        return False
    if len(vnet) != VNET_HDR_LEN:
        raise ValueError(f"a virtio-net header is {VNET_HDR_LEN} bytes, not {len(vnet)}")
    return bool(vnet[0] & F_NEEDS_CSUM or vnet[1])


def _complete(frame: bytes, start: int, offset: int) -> bytes:
    """``frame`` with the checksum of its bytes from ``start`` on stored at ``start + offset``."""
    pos = start + offset
    if pos + 2 > len(frame):
        raise ValueError(f"checksum field at csum_start {start} + csum_offset {offset} is beyond the "
                         f"{len(frame)}-byte frame")
    if offset & 1:
        raise ValueError(f"csum_offset {offset} is odd; an Internet checksum field is 16-bit aligned")
    # The field holds the pseudo-header sum, so summing over it adds the pseudo-header: no need to know the
    # addresses or even the protocol.
    csum = internet_checksum(memoryview(frame)[start:])
    if csum == 0 and offset == _CSUM_OFFSET[IPPROTO_UDP]:
        csum = 0xFFFF
    return frame[:pos] + _U16.pack(csum) + frame[pos + 2:]


def complete_checksum(frame: bytes, vnet: bytes) -> bytes:
    """Return ``frame`` with its L4 checksum completed if ``vnet`` has ``F_NEEDS_CSUM``, else ``frame`` itself.

    Only ``csum_start`` and ``csum_offset`` are used (any GSO is ignored); see :func:`resolve` for a frame that
    may also need segmentation."""
    flags, _gso, _hl, _size, start, offset = _unpack(vnet)
    if not flags & F_NEEDS_CSUM:
        return frame
    return _complete(frame, start, offset)


@dataclass(slots=True)
class _Headers:
    """Where the headers of an IP frame are: ``l3``/``l4`` offsets, the IP ``version``, the L4 ``proto``,
    ``end`` (where the IP packet ends: before any Ethernet padding), the addresses, and ``nh_pos``, the offset of
    the byte that holds ``proto`` (the IPv4 protocol field, the IPv6 header's or last extension header's next
    header field)."""

    version: int
    l3: int
    l4: int
    proto: int
    end: int
    src: bytes
    dst: bytes
    nh_pos: int


def _parse(frame: bytes) -> _Headers:
    """Find the IP and L4 headers of an Ethernet frame with up to two VLAN tags; :class:`ValueError` if the
    frame is not IPv4 or IPv6 or is too short for its headers."""
    n = len(frame)
    if n < 14:
        raise ValueError(f"a {n}-byte frame is shorter than an Ethernet header")
    l3 = 12
    for _ in range(3):
        ethertype = (frame[l3] << 8) | frame[l3 + 1]
        l3 += 2
        if ethertype not in VLAN_TPIDS:
            break
        if l3 + 4 > n:
            raise ValueError("frame ends inside its VLAN tags")
        l3 += 2
    else:
        raise ValueError("frame has more than two VLAN tags")
    if ethertype == ETH_TYPE_IP:
        if l3 + 20 > n or frame[l3] >> 4 != 4:
            raise ValueError("frame is too short for its IPv4 header or has a wrong IP version")
        ihl = (frame[l3] & 0x0F) * 4
        total = _U16.unpack_from(frame, l3 + 2)[0]
        # A total length of 0 is how Linux marks an IPv4 BIG TCP super-frame longer than 64 kB.
        end = l3 + total if total else n
        if ihl < 20 or total and total < ihl or end > n:
            raise ValueError(f"IPv4 header length {ihl} / total length {total} do not fit the {n}-byte frame")
        return _Headers(4, l3, l3 + ihl, frame[l3 + 9], end, frame[l3 + 12:l3 + 16], frame[l3 + 16:l3 + 20],
                        l3 + 9)
    if ethertype == ETH_TYPE_IPV6:
        if l3 + 40 > n or frame[l3] >> 4 != 6:
            raise ValueError("frame is too short for its IPv6 header or has a wrong IP version")
        plen = _U16.unpack_from(frame, l3 + 4)[0]
        end = l3 + 40 + plen if plen else n
        if end > n:
            raise ValueError(f"IPv6 payload length {plen} does not fit the {n}-byte frame")
        nh_pos, pos = l3 + 6, l3 + 40
        while frame[nh_pos] in _IPV6_EXT:
            if pos + 8 > end:
                raise ValueError("frame ends inside its IPv6 extension headers")
            size = (frame[pos + 1] + 2) * 4 if frame[nh_pos] == _IPV6_AH else (frame[pos + 1] + 1) * 8
            nh_pos, pos = pos, pos + size
        return _Headers(6, l3, pos, frame[nh_pos], end, frame[l3 + 8:l3 + 24], frame[l3 + 24:l3 + 40], nh_pos)
    raise ValueError(f"EtherType {ethertype:#06x} is neither IPv4 nor IPv6")


def checksum_partial(frame: bytes, l4_offset: int, proto: int) -> bytes:
    """Return ``frame`` with the TCP or UDP (``proto``) checksum field of the L4 header at ``l4_offset`` holding
    the pseudo-header sum, as the kernel hands a frame over with ``F_NEEDS_CSUM``.

    The pseudo-header's length is that of the L4 segment within the IP packet (Ethernet padding excluded).
    :func:`complete_checksum` with ``csum_start = l4_offset`` undoes it."""
    if proto not in _CSUM_OFFSET:
        raise ValueError(f"IP protocol {proto} is neither TCP nor UDP")
    h = _parse(frame)
    pos = l4_offset + _CSUM_OFFSET[proto]
    if l4_offset < h.l3 + (20 if h.version == 4 else 40) or pos + 2 > h.end:
        raise ValueError(f"L4 offset {l4_offset} does not fit the IP packet at {h.l3}..{h.end}")
    psum = pseudo_header_sum(h.src, h.dst, proto, h.end - l4_offset)
    return frame[:pos] + _U16.pack(psum) + frame[pos + 2:]


def _set_ip_lengths(seg: bytearray, h: _Headers, ip_id: int | None) -> None:
    """Give the segment ``seg`` (headers as in the super-frame, payload cut) its IP length, and for IPv4 the
    identification ``ip_id`` (unless ``None``) and a new header checksum."""
    if h.version == 4:
        _U16.pack_into(seg, h.l3 + 2, len(seg) - h.l3)
        if ip_id is not None:
            _U16.pack_into(seg, h.l3 + 4, ip_id & 0xFFFF)
        _U16.pack_into(seg, h.l3 + 10, ipv4_header_checksum(memoryview(seg)[h.l3:h.l4]))
    else:
        _U16.pack_into(seg, h.l3 + 4, len(seg) - h.l3 - 40)


def _chunks(payload: memoryview, size: int) -> list[memoryview]:
    """``payload`` cut into ``size``-byte pieces; one empty piece if it is empty."""
    return [payload[i:i + size] for i in range(0, len(payload), size)] or [payload]


def _segment_tcp(frame: bytes, h: _Headers, mss: int) -> list[bytes]:
    l4 = h.l4
    thlen = (frame[l4 + 12] >> 4) * 4
    if thlen < 20 or l4 + thlen > h.end:
        raise ValueError(f"TCP header length {thlen} does not fit the IP packet")
    head = frame[:l4 + thlen]
    seq = _U32.unpack_from(frame, l4 + 4)[0]
    flags = frame[l4 + 13]
    ip_id = _U16.unpack_from(frame, h.l3 + 4)[0] if h.version == 4 else None
    chunks = _chunks(memoryview(frame)[l4 + thlen:h.end], mss)
    last = len(chunks) - 1
    out = []
    for i, chunk in enumerate(chunks):
        seg = bytearray(head)
        seg += chunk
        _set_ip_lengths(seg, h, None if ip_id is None else ip_id + i)
        _U32.pack_into(seg, l4 + 4, (seq + i * mss) & 0xFFFFFFFF)
        f = flags if i == last else flags & ~(_TCP_FIN | _TCP_PSH)
        seg[l4 + 13] = f if i == 0 else f & ~_TCP_CWR
        _U16.pack_into(seg, l4 + 16, l4_checksum(h.src, h.dst, IPPROTO_TCP, memoryview(seg)[l4:], 16))
        out.append(bytes(seg))
    return out


def _udp_checksum(h: _Headers, seg: bytearray | bytes) -> int:
    return l4_checksum(h.src, h.dst, IPPROTO_UDP, memoryview(seg)[h.l4:], 6) or 0xFFFF


def _segment_uso(frame: bytes, h: _Headers, size: int) -> list[bytes]:
    l4 = h.l4
    head = frame[:l4 + 8]
    ip_id = _U16.unpack_from(frame, h.l3 + 4)[0] if h.version == 4 else None
    out = []
    for i, chunk in enumerate(_chunks(memoryview(frame)[l4 + 8:h.end], size)):
        seg = bytearray(head)
        seg += chunk
        _set_ip_lengths(seg, h, None if ip_id is None else ip_id + i)
        _U16.pack_into(seg, l4 + 4, 8 + len(chunk))
        _U16.pack_into(seg, l4 + 6, _udp_checksum(h, seg))
        out.append(bytes(seg))
    return out


def _segment_ufo(frame: bytes, h: _Headers, size: int) -> list[bytes]:
    """Fragment the UDP datagram of ``frame`` at the IP layer, after completing its checksum."""
    whole = bytearray(frame[:h.end])
    l4 = h.l4
    _U16.pack_into(whole, l4 + 4, h.end - l4)
    _U16.pack_into(whole, l4 + 6, _udp_checksum(h, whole))
    size &= ~7
    if size == 0:
        raise ValueError("UFO gso_size is below 8, the unit of fragment offsets")
    if h.end - l4 <= size:
        _set_ip_lengths(whole, h, None)
        return [bytes(whole)]
    datagram = memoryview(whole)[l4:]
    chunks = _chunks(datagram, size)
    last = len(chunks) - 1
    out = []
    if h.version == 4:
        head = whole[:l4]
        for i, chunk in enumerate(chunks):
            seg = bytearray(head)
            seg += chunk
            # The kernel's UFO path rewrites the whole field: DF goes, as these are fragments.
            _U16.pack_into(seg, h.l3 + 6, (i * size) >> 3 | (_IP_MF if i < last else 0))
            _set_ip_lengths(seg, h, None)
            out.append(bytes(seg))
    else:
        head = whole[:l4]
        head[h.nh_pos] = _IPV6_FRAGMENT
        ident = next(_frag_ids) & 0xFFFFFFFF
        for i, chunk in enumerate(chunks):
            seg = bytearray(head)
            seg += struct.pack("!BBHI", IPPROTO_UDP, 0, i * size | (1 if i < last else 0), ident)
            seg += chunk
            _set_ip_lengths(seg, h, None)
            out.append(bytes(seg))
    return out


def segment(frame: bytes, vnet: bytes) -> list[bytes]:
    """Cut the GSO super-frame ``frame`` into complete frames as ``vnet`` describes (see the module
    documentation); a frame without GSO is returned as ``[complete_checksum(frame, vnet)]``."""
    flags, gso_type, _hdr_len, gso_size, start, offset = _unpack(vnet)
    if gso_type == GSO_NONE:
        return [_complete(frame, start, offset) if flags & F_NEEDS_CSUM else frame]
    kind = gso_type & ~GSO_ECN
    if kind not in _GSO_NAMES:
        raise ValueError(f"unknown GSO type {gso_type:#x}")
    if gso_size == 0:
        raise ValueError("GSO super-frame with gso_size 0")
    h = _parse(frame)
    proto = IPPROTO_UDP if kind in (GSO_UDP, GSO_UDP_L4) else IPPROTO_TCP
    version = _GSO_IP_VERSION.get(kind, h.version)
    if h.proto != proto or h.version != version:
        raise ValueError(f"GSO type {_GSO_NAMES[kind]} does not match an IPv{h.version} frame carrying IP "
                         f"protocol {h.proto}")
    if h.l4 + _L4_MIN[proto] > h.end:
        raise ValueError(f"frame is too short for its {'TCP' if proto == IPPROTO_TCP else 'UDP'} header")
    if flags & F_NEEDS_CSUM and (start != h.l4 or offset != _CSUM_OFFSET[proto]):
        raise ValueError(f"csum_start {start} / csum_offset {offset} do not point at the checksum of the L4 "
                         f"header at {h.l4}")
    if h.version == 4 and _U16.unpack_from(frame, h.l3 + 6)[0] & ~_IP_DF:
        raise ValueError("GSO super-frame is an IPv4 fragment")
    try:
        if kind in (GSO_TCPV4, GSO_TCPV6):
            return _segment_tcp(frame, h, gso_size)
        if kind == GSO_UDP_L4:
            return _segment_uso(frame, h, gso_size)
        return _segment_ufo(frame, h, gso_size)
    except struct.error:
        # Only a 16-bit length field can overflow: gso_size (or a UFO datagram) too big for it.
        raise ValueError(f"a {_GSO_NAMES[kind]} segment of gso_size {gso_size} does not fit the length fields "
                         "of its headers") from None


def resolve(frame: bytes, vnet: bytes | None) -> list[bytes]:
    """The frames a device without offloads must send for ``frame`` and its header ``vnet``: ``[frame]`` when
    there is no header or it asks for nothing, else the segments with complete checksums."""
    if vnet is None:
        return [frame]
    if len(vnet) != VNET_HDR_LEN:
        raise ValueError(f"a virtio-net header is {VNET_HDR_LEN} bytes, not {len(vnet)}")
    if vnet[1]:
        return segment(frame, vnet)
    if vnet[0] & F_NEEDS_CSUM:
        return [complete_checksum(frame, vnet)]
    return [frame]
