"""Tunnel encapsulations: GRE (RFC 2784, RFC 2890), VXLAN (RFC 7348) with Group Based Policy, Geneve (RFC 8926).

These headers are what tunnel vports push and pop, so the parsers report exactly the fields that become tunnel
metadata in a flow (``tun_id``, ``tun_gbp_id``, ``tun_gbp_flags``, ``tun_metadata``, ``tun_flags``) and nothing is
interpreted beyond that.

- GRE: only version 0 is accepted, and the RFC 1701 routing bit is refused, as Linux and Open vSwitch do;
  everything else in the first word is reported in ``flags``.  Optional fields are ``None`` when absent.
- VXLAN: the I flag is reported, not enforced; the receiving vport decides what to do with a header that lacks
  it.  The Group Based Policy bits (draft-smith-vxlan-group-policy: G flag, D "don't learn" and A "policy
  applied" flags, 16-bit policy id) are always decoded from their positions and are meaningful only when ``g``
  is set; otherwise those bits are reserved and normally zero.
- Geneve: an unknown version is refused (RFC 8926 section 3.4 says to drop it), and the option TLVs must tile
  the option area exactly.  An option's ``type`` keeps its high bit, the critical bit, because OVS matches the
  full 8-bit type; ``critical`` repeats that bit for convenience.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import NamedTuple

from pyvswitch.packet.checksum import internet_checksum
from pyvswitch.packet.constants import (
    ETH_TYPE_TEB,
    GENEVE_OPT_CRITICAL,
    GRE_FLAG_CSUM,
    GRE_FLAG_KEY,
    GRE_FLAG_ROUTING,
    GRE_FLAG_SEQ,
    GRE_VERSION_MASK,
    VXLAN_FLAG_G,
    VXLAN_FLAG_I,
    VXLAN_GBP_DONT_LEARN,
    VXLAN_GBP_POLICY_APPLIED,
)
from pyvswitch.packet.errors import Malformed, truncated

Buffer = bytes | bytearray | memoryview

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_HH = struct.Struct("!HH")
_VXLAN = struct.Struct("!BBHI")
VXLAN_HEADER_LEN = _VXLAN.size  # 8
_GENEVE = struct.Struct("!BBHI")
GENEVE_HEADER_LEN = _GENEVE.size  # 8
_GENEVE_OPT = struct.Struct("!HBB")


# GRE.


class Gre(NamedTuple):
    """A parsed GRE header."""

    flags: int  # The whole first 16-bit word: C, R, K, S bits, reserved bits and the version.
    protocol: int  # EtherType of the payload (ETH_TYPE_TEB for Ethernet).
    csum: int | None = None
    key: int | None = None
    seq: int | None = None

    @property
    def version(self) -> int:
        return self.flags & GRE_VERSION_MASK


def parse_gre(buf: Buffer, offset: int = 0) -> tuple[Gre, int]:
    """Parse the GRE header at ``offset``; return it and the offset of the payload."""
    try:
        flags, protocol = _HH.unpack_from(buf, offset)
    except struct.error:
        raise truncated("gre", 4, len(buf) - offset) from None
    if flags & GRE_VERSION_MASK:
        raise Malformed(f"gre: version {flags & GRE_VERSION_MASK}")
    if flags & GRE_FLAG_ROUTING:
        raise Malformed("gre: routing present (RFC 1701) is not supported")
    hlen = 4 + 4 * (bool(flags & GRE_FLAG_CSUM) + bool(flags & GRE_FLAG_KEY) + bool(flags & GRE_FLAG_SEQ))
    if len(buf) - offset < hlen:
        raise truncated("gre", hlen, len(buf) - offset)
    off = offset + 4
    csum = key = seq = None
    if flags & GRE_FLAG_CSUM:
        csum = _U16.unpack_from(buf, off)[0]
        off += 4  # The checksum is followed by 16 reserved bits.
    if flags & GRE_FLAG_KEY:
        key = _U32.unpack_from(buf, off)[0]
        off += 4
    if flags & GRE_FLAG_SEQ:
        seq = _U32.unpack_from(buf, off)[0]
        off += 4
    return Gre(flags, protocol, csum, key, seq), off


def gre(
    protocol: int,
    payload: bytes = b"",
    *,
    key: int | None = None,
    seq: int | None = None,
    csum: bool = False,
) -> bytes:
    """Build a GRE header and ``payload``; with ``csum`` the checksum covers header and payload (RFC 2784)."""
    flags = (GRE_FLAG_CSUM if csum else 0) | (GRE_FLAG_KEY if key is not None else 0)
    flags |= GRE_FLAG_SEQ if seq is not None else 0
    tail = (_U32.pack(key) if key is not None else b"") + (_U32.pack(seq) if seq is not None else b"")
    if not csum:
        return _HH.pack(flags, protocol) + tail + payload
    pkt = _HH.pack(flags, protocol) + bytes(4) + tail + payload
    return pkt[:4] + _U16.pack(internet_checksum(pkt)) + pkt[6:]


# VXLAN.


class Vxlan(NamedTuple):
    """A parsed VXLAN header, with the Group Based Policy fields."""

    flags: int  # The first byte: VXLAN_FLAG_I, VXLAN_FLAG_G.
    vni: int
    gbp_flags: int = 0  # The second byte: VXLAN_GBP_DONT_LEARN, VXLAN_GBP_POLICY_APPLIED (when g).
    policy_id: int = 0  # Group policy id (when g).

    @property
    def i(self) -> bool:
        """The I flag: the VNI is valid (RFC 7348 requires it set)."""
        return bool(self.flags & VXLAN_FLAG_I)

    @property
    def g(self) -> bool:
        """The G flag: the header carries a group policy id."""
        return bool(self.flags & VXLAN_FLAG_G)

    @property
    def dont_learn(self) -> bool:
        return bool(self.gbp_flags & VXLAN_GBP_DONT_LEARN)

    @property
    def policy_applied(self) -> bool:
        return bool(self.gbp_flags & VXLAN_GBP_POLICY_APPLIED)


def parse_vxlan(buf: Buffer, offset: int = 0) -> tuple[Vxlan, int]:
    """Parse the VXLAN header at ``offset``; return it and the offset of the inner Ethernet frame."""
    try:
        flags, gbp_flags, policy_id, vni = _VXLAN.unpack_from(buf, offset)
    except struct.error:
        raise truncated("vxlan", VXLAN_HEADER_LEN, len(buf) - offset) from None
    return Vxlan(flags, vni >> 8, gbp_flags, policy_id), offset + VXLAN_HEADER_LEN


def vxlan(
    vni: int,
    payload: bytes = b"",
    *,
    policy_id: int | None = None,
    dont_learn: bool = False,
    policy_applied: bool = False,
) -> bytes:
    """Build a VXLAN header and ``payload``; a ``policy_id`` sets the G flag and the GBP fields."""
    if not 0 <= vni < 1 << 24:
        raise ValueError(f"VNI {vni} out of range")
    if policy_id is None:
        return _VXLAN.pack(VXLAN_FLAG_I, 0, 0, vni << 8) + payload
    gbp = (VXLAN_GBP_DONT_LEARN if dont_learn else 0) | (VXLAN_GBP_POLICY_APPLIED if policy_applied else 0)
    return _VXLAN.pack(VXLAN_FLAG_I | VXLAN_FLAG_G, gbp, policy_id, vni << 8) + payload


# Geneve.


class GeneveOption(NamedTuple):
    """One Geneve option TLV."""

    opt_class: int
    type: int  # All 8 bits, the critical bit included.
    critical: bool
    data: bytes  # A multiple of 4 bytes, at most 124.


class Geneve(NamedTuple):
    """A parsed Geneve header and its options."""

    version: int
    opt_len: int  # Length of the options in 4-byte units.
    oam: bool  # O flag: control packet.
    critical: bool  # C flag: some option is critical.
    protocol: int  # EtherType of the payload (ETH_TYPE_TEB for Ethernet).
    vni: int
    options: tuple[GeneveOption, ...] = ()

    @property
    def header_length(self) -> int:
        return GENEVE_HEADER_LEN + self.opt_len * 4


def parse_geneve(buf: Buffer, offset: int = 0) -> tuple[Geneve, int]:
    """Parse the Geneve header and options at ``offset``; return it and the offset of the payload."""
    try:
        vo, flags, protocol, vni = _GENEVE.unpack_from(buf, offset)
    except struct.error:
        raise truncated("geneve", GENEVE_HEADER_LEN, len(buf) - offset) from None
    version = vo >> 6
    if version != 0:
        raise Malformed(f"geneve: version {version}")
    opt_len = vo & 0x3F
    off = offset + GENEVE_HEADER_LEN
    end = off + opt_len * 4
    if end > len(buf):
        raise truncated("geneve", GENEVE_HEADER_LEN + opt_len * 4, len(buf) - offset)
    options = []
    while off < end:
        if end - off < 4:
            raise Malformed("geneve: truncated option header")
        opt_class, opt_type, rlen = _GENEVE_OPT.unpack_from(buf, off)
        dlen = (rlen & 0x1F) * 4
        if off + 4 + dlen > end:
            raise Malformed("geneve: option overruns the option area")
        data = bytes(buf[off + 4 : off + 4 + dlen])
        options.append(GeneveOption(opt_class, opt_type, bool(opt_type & GENEVE_OPT_CRITICAL), data))
        off += 4 + dlen
    return Geneve(version, opt_len, bool(flags & 0x80), bool(flags & 0x40), protocol, vni >> 8, tuple(options)), end


def geneve_option(opt_class: int, opt_type: int, data: bytes = b"", critical: bool = False) -> GeneveOption:
    """Make a Geneve option; ``critical`` sets the high bit of ``opt_type``.  ``data`` is zero-padded to 4n."""
    data = data + bytes(-len(data) % 4)
    if len(data) > 124:
        raise ValueError("Geneve option data longer than 124 bytes")
    opt_type |= GENEVE_OPT_CRITICAL if critical else 0
    return GeneveOption(opt_class, opt_type, bool(opt_type & GENEVE_OPT_CRITICAL), data)


def geneve(
    vni: int,
    payload: bytes = b"",
    *,
    protocol: int = ETH_TYPE_TEB,
    options: Sequence[GeneveOption] = (),
    oam: bool = False,
    critical: bool | None = None,
) -> bytes:
    """Build a Geneve header, its options and ``payload``.

    The C flag is set when any option is critical unless ``critical`` says otherwise.
    """
    opts = b""
    any_critical = False
    for opt in options:
        data = opt.data + bytes(-len(opt.data) % 4)
        opt_type = opt.type | (GENEVE_OPT_CRITICAL if opt.critical else 0)
        any_critical |= bool(opt_type & GENEVE_OPT_CRITICAL)
        opts += _GENEVE_OPT.pack(opt.opt_class, opt_type, len(data) // 4) + data
    if len(opts) > 63 * 4:
        raise ValueError("Geneve options longer than 252 bytes")
    if critical is None:
        critical = any_critical
    flags = (0x80 if oam else 0) | (0x40 if critical else 0)
    return _GENEVE.pack(len(opts) // 4, flags, protocol, vni << 8) + opts + payload
