"""The RoCEv2 base transport header (InfiniBand Architecture Specification, annex A17), carried over UDP 4791.

Only the 12-byte BTH is decoded: it identifies the queue pair and the operation, which is what a switch may match
or count, and its FECN/BECN bits are what congestion control (DCQCN) marks.  The extended transport headers that
follow depend on the opcode, and the invariant CRC (ICRC) that ends every RoCE packet is left to the endpoints.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from pyvswitch.packet.errors import truncated

Buffer = bytes | bytearray | memoryview

_BTH = struct.Struct("!BBHII")
BTH_LEN = _BTH.size  # 12

# Opcode of a congestion notification packet (RoCEv2 annex A17.9.3).
ROCE_OPCODE_CNP = 0x81


class RoceBth(NamedTuple):
    """A parsed RoCEv2 base transport header."""

    opcode: int
    solicited: bool  # SE: solicited event.
    migreq: bool  # M: migration request.
    pad_count: int  # Bytes of padding at the end of the payload, 2 bits.
    tver: int  # Transport header version, 4 bits.
    pkey: int  # Partition key.
    fecn: bool  # Forward explicit congestion notification.
    becn: bool  # Backward explicit congestion notification.
    dest_qp: int  # Destination queue pair, 24 bits.
    ackreq: bool  # A: acknowledge request.
    psn: int  # Packet sequence number, 24 bits.


def parse_roce_bth(buf: Buffer, offset: int = 0) -> tuple[RoceBth, int]:
    """Parse the BTH at ``offset`` (the UDP payload); return it and the offset of what follows."""
    try:
        opcode, b1, pkey, w2, w3 = _BTH.unpack_from(buf, offset)
    except struct.error:
        raise truncated("roce", BTH_LEN, len(buf) - offset) from None
    return (
        RoceBth(
            opcode, bool(b1 & 0x80), bool(b1 & 0x40), (b1 >> 4) & 3, b1 & 0xF, pkey,
            bool(w2 & 0x80000000), bool(w2 & 0x40000000), w2 & 0xFFFFFF, bool(w3 & 0x80000000), w3 & 0xFFFFFF,
        ),
        offset + BTH_LEN,
    )


def roce_bth(
    opcode: int,
    dest_qp: int,
    psn: int = 0,
    *,
    pkey: int = 0xFFFF,
    solicited: bool = False,
    migreq: bool = False,
    pad_count: int = 0,
    tver: int = 0,
    fecn: bool = False,
    becn: bool = False,
    ackreq: bool = False,
) -> bytes:
    """Build a 12-byte BTH (without payload or ICRC); ``pkey`` defaults to the full-member default partition."""
    b1 = (solicited << 7) | (migreq << 6) | (pad_count << 4) | tver
    w2 = (fecn << 31) | (becn << 30) | dest_qp
    w3 = (ackreq << 31) | psn
    return _BTH.pack(opcode, b1, pkey, w2, w3)
