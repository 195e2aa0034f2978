"""NXM and OXM: the type-length-value encoding of fields, in matches and inside actions.

Wire format (Open vSwitch's nx-match.c, OpenFlow 1.2+ section 7.2.3): a 32-bit header ``class:16 field:7
hasmask:1 length:8`` followed by ``length`` payload bytes, the value and, when ``hasmask``, a mask of the same
width.  Class 0xffff (experimenter) inserts a 32-bit experimenter id after the header, and counts it in
``length``.  Class 0 and 1 are Nicira's NXM; 0x8000 is OpenFlow basic; 0x8001 the OpenFlow 1.5 packet registers.

Which header a field gets depends on the OpenFlow version, as in Open vSwitch (``nxm_field_by_mf_id``): a field's
headers are listed in ``Field.headers`` with the version that introduced each; version 0 means NXM (and Nicira
actions, which always name fields by their NXM header when there is one); a version picks the last header it
has reached, or the first header when it has reached none.

Matches are encoded by ``nx_put_entries``, which mirrors ``nx_put_raw``'s field order and conditions, and
``_entry_bytes``, which turns those entries into bytes; ``decode_match`` parses bytes back into a ``Match`` with the
checks of ``nx_pull_raw`` (strict mode): unknown fields (``OFPBMC_BAD_FIELD``), truncated entries
(``OFPBMC_BAD_LEN``), value bits outside the mask (``OFPBMC_BAD_WILDCARDS``), masks on unmaskable fields
(``OFPBMC_BAD_MASK``), invalid values (``OFPBMC_BAD_VALUE``), missing prerequisites (``OFPBMC_BAD_PREREQ``) and
repeated fields (``OFPBMC_DUP_FIELD``).  Field semantics (how a masked ``vlan_vid`` or a ``tun_metadata`` option is
stored) are ``match_text.MatchBuilder``'s, so parsing text and decoding the wire agree by construction.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass

from pyvswitch.flow import fields as F
from pyvswitch.flow import match_text as MT
from pyvswitch.flow import values as V
from pyvswitch.flow.fields import Field, HeaderId, Prereq
from pyvswitch.flow.match import Match
from pyvswitch.openflow.ofp_errors import OFPDecodeError
from pyvswitch.util import vlog

__all__ = [
    "ERICOXM_ND_OPTIONS_TYPE",
    "NXM_NX_COOKIE",
    "RawHeader",
    "decode_match",
    "encode_entry",
    "encode_field_header",
    "encode_header",
    "encode_match",
    "encode_oxm_match",
    "field_width",
    "header_for",
    "is_variable_len",
    "nx_put_entries",
    "nxm_header32",
    "pull_entry",
    "pull_header",
    "pull_oxm_match",
]

OXM_EXP = F.OXM_EXP
_log = vlog.Vlog("nx_match")
_rl = vlog.RateLimit(1, 5)
NXM_NX_COOKIE = (0x0001, 30)
"""The NXM cookie pseudo-field (class, field): matches the flow cookie in NXT_FLOW_MOD and flow stats requests."""
ERICOXM_ND_OPTIONS_TYPE = (0x1000, 2)
"""Ericsson's ``ERICOXM_OF_ICMPV6_ND_OPTIONS_TYPE`` (class, field), one byte: ``nd_options_type``, which Open vSwitch
keeps in the ``tcp_flags`` slot of an ND match and which the field table does not list."""


def reset_process_state() -> None:
    """Forget the log rate limit, as a new process would."""
    global _rl
    _rl = vlog.RateLimit(1, 5)


def is_variable_len(f: Field) -> bool:
    """Tunnel metadata options have a variable length on the wire (1 to 124 bytes)."""
    return f.storage == "tun_metadata"


def field_width(f: Field) -> int:
    """The number of bytes of ``f`` on the wire (its maximum, for variable-length fields)."""
    return f.nbytes


def header_for(f: Field, version: int) -> HeaderId:
    """The header Open vSwitch uses for ``f`` in wire version ``version`` (0: NXM and Nicira actions).

    Raises KeyError if the field has no NXM/OXM header at all (``dl_vlan``, ``skb_priority``)."""
    best = None
    for h in f.headers:
        if best is None or version >= h.of_version:
            best = h
    if best is None:
        raise KeyError(f.name)
    return best


_NO_HEADER = HeaderId("", 0, 0)
"""What Open vSwitch encodes for a field without any NXM/OXM header (``mf_oxm_header`` returns 0)."""


def _header_int(h: HeaderId, masked: bool, nbytes: int) -> int:
    payload = nbytes * 2 if masked else nbytes
    if h.oxm_class == OXM_EXP:
        payload += 4
    return (h.oxm_class << 16) | (h.oxm_field << 9) | (int(masked) << 8) | (payload & 0xFF)


def encode_header(h: HeaderId, masked: bool, nbytes: int) -> bytes:
    """A header for ``h`` with a payload of ``nbytes`` (doubled when ``masked``): 4 bytes, 8 if experimenter."""
    out = struct.pack("!I", _header_int(h, masked, nbytes))
    if h.oxm_class == OXM_EXP:
        out += struct.pack("!I", h.experimenter)
    return out


def encode_field_header(f: Field, version: int = 0, masked: bool = False, nbytes: int | None = None) -> bytes:
    """OVS ``nx_put_mff_header``: the header of field ``f`` as actions name a field (no payload follows).

    A field without any NXM/OXM header (``dl_vlan``) gets header 0, as in Open vSwitch (``mf_oxm_header``), which
    its decoder then rejects (``OFPBMC_BAD_FIELD``)."""
    try:
        h = header_for(f, version)
    except KeyError:
        return struct.pack("!I", 0x100 if masked else 0)
    return encode_header(h, masked, f.nbytes if nbytes is None else nbytes)


def nxm_header32(f: Field) -> int:
    """OVS ``nxm_header_from_mff``: the 32-bit NXM/OXM header of ``f`` for Nicira actions, 0 when the field
    needs an experimenter header (which the fixed 32-bit slots of older actions cannot hold)."""
    try:
        h = header_for(f, 0)
    except KeyError:
        return 0
    if h.oxm_class == OXM_EXP:
        return 0
    return _header_int(h, False, f.nbytes)


def encode_entry(f: Field, version: int, value: int, mask: int | None, nbytes: int | None = None) -> bytes:
    """A whole entry: header, value and (when ``mask`` is not None) mask, each ``nbytes`` wide."""
    n = f.nbytes if nbytes is None else nbytes
    full = (1 << (8 * n)) - 1
    try:
        h = header_for(f, version)
    except KeyError:
        # Open vSwitch (``nx_put_header_len``) writes header 0 with the entry's length: class 0, field 0, which
        # its decoder reads as ``in_port`` when the width happens to be 2 bytes and rejects otherwise.
        h = _NO_HEADER
    out = encode_header(h, mask is not None, n) + (value & full).to_bytes(n, "big")
    if mask is not None:
        out += (mask & full).to_bytes(n, "big")
    return out


# --- decoding headers and entries ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RawHeader:
    """A parsed header: class, field, hasmask, length (payload bytes, experimenter id included), experimenter."""

    oxm_class: int
    oxm_field: int
    hasmask: bool
    length: int
    experimenter: int = 0

    @property
    def header_len(self) -> int:
        return 8 if self.oxm_class == OXM_EXP else 4

    @property
    def payload_len(self) -> int:
        return self.length - (4 if self.oxm_class == OXM_EXP else 0)

    @property
    def width(self) -> int:
        """The value's width in bytes (half the payload when masked)."""
        return self.payload_len // 2 if self.hasmask else self.payload_len

    def fmt(self) -> str:
        """OVS ``NXM_HEADER_FMT``: ``vendor:class:field:hasmask:length``."""
        vendor = f"{self.experimenter:#x}" if self.experimenter else "0"     # C's "%#x" prints 0 as "0"
        return f"{vendor}:{self.oxm_class}:{self.oxm_field}:{int(self.hasmask)}:{self.length}"


def lookup(h: RawHeader) -> Field | None:
    """OVS ``nxm_field_by_header``: the field with this class/field/experimenter whose width matches the header's
    (any width for variable-length fields), else None."""
    f = F.BY_HEADER.get((h.oxm_class, h.oxm_field, h.experimenter if h.oxm_class == OXM_EXP else 0))
    if f is None:
        return None
    # OVS compares headers with the low 7 bits of the length cleared (``nxm_no_len``): a length of 128 or more
    # never names a field, not even a variable-length one.
    exact_len = (h.payload_len // 2 if h.hasmask else h.payload_len) + (4 if h.oxm_class == OXM_EXP else 0)
    if exact_len & 0x80:
        return None
    if is_variable_len(f) or h.width == f.nbytes:
        return f
    return None


def pull_header(data: bytes, pos: int, end: int | None = None) -> tuple[RawHeader, int]:
    """OVS ``nx_pull_header__`` at ``data[pos:end]``: the header and the position after it.

    Raises ``OFPBMC_BAD_LEN`` for a truncated header or a length shorter than the experimenter id."""
    end = len(data) if end is None else end
    if end - pos < 4:
        raise OFPDecodeError("OFPBMC_BAD_LEN", "encountered partial OXM entry")
    (hdr,) = struct.unpack_from("!I", data, pos)
    cls, fld, hasmask, length = hdr >> 16, (hdr >> 9) & 0x7F, bool(hdr >> 8 & 1), hdr & 0xFF
    exp = 0
    if cls == OXM_EXP:
        if end - pos < 8:
            raise OFPDecodeError("OFPBMC_BAD_LEN", "encountered partial OXM entry")
        (exp,) = struct.unpack_from("!I", data, pos + 4)
        if length < 4:
            raise OFPDecodeError("OFPBMC_BAD_LEN", "OXM header has invalid length")
    h = RawHeader(cls, fld, hasmask, length, exp)
    return h, pos + h.header_len


def pull_field_header(data: bytes, pos: int, end: int | None = None, *,
                      allow_mask: bool = False) -> tuple[Field, int]:
    """A header naming a field inside an action (``nx_pull_header``): the field and the position after it.

    Unknown fields raise ``OFPBMC_BAD_FIELD``; a mask bit, unless ``allow_mask``, ``OFPBMC_BAD_MASK``."""
    h, pos = pull_header(data, pos, end)
    f = lookup(h)
    if f is None:
        raise OFPDecodeError("OFPBMC_BAD_FIELD", f"OXM header {h.fmt()} is unknown")
    if h.hasmask and not allow_mask:
        raise OFPDecodeError("OFPBMC_BAD_MASK")
    return f, pos


def field_from_header32(hdr: int) -> Field:
    """The field a 32-bit header names in a Nicira action (``mf_vl_mff_mf_from_nxm_header``);
    ``OFPBAC_BAD_SET_TYPE`` if none.  Experimenter headers cannot be expressed in 32 bits and are unknown here."""
    cls, fld, hasmask, length = hdr >> 16, (hdr >> 9) & 0x7F, bool(hdr >> 8 & 1), hdr & 0xFF
    if cls == OXM_EXP:
        raise OFPDecodeError("OFPBAC_BAD_SET_TYPE", f"unknown field header {hdr:#x}")
    if hasmask:
        length //= 2
        hasmask = False
    f = lookup(RawHeader(cls, fld, hasmask, length))
    if f is None:
        raise OFPDecodeError("OFPBAC_BAD_SET_TYPE", f"unknown field header {hdr:#x}")
    return f


def pull_entry(data: bytes, pos: int, end: int | None = None, *, allow_cookie: bool = False,
               action: bool = False) -> tuple[Field | None, RawHeader, int, int | None, int]:
    """OVS ``nx_pull_entry__``: (field, header, value, mask or None, next position).

    The field is None only for the NXM cookie pseudo-field when ``allow_cookie``.  Values of variable-length
    fields are right-aligned in the field's full width, as OVS copies them.  Raises ``OFPBMC_BAD_FIELD`` for an
    unknown header (after checking the payload is there, as OVS does), ``OFPBMC_BAD_LEN`` for a truncated entry,
    and ``OFPBMC_BAD_WILDCARDS`` for value bits outside the mask."""
    end = len(data) if end is None else end
    h, pos = pull_header(data, pos, end)
    f = lookup(h)
    is_cookie = (h.oxm_class, h.oxm_field) == NXM_NX_COOKIE and h.width == 8 and (
        not h.hasmask or h.payload_len == 16)
    unknown = f is None and not (allow_cookie and is_cookie)
    if action and unknown:
        # In a set-field or register-load action Open vSwitch reports a header it does not know as
        # OFPBAC_BAD_SET_TYPE, except that its lookup sets OFPBAC_BAD_SET_LEN when the header's (unmasked)
        # length is not zero and differs from that of any field in the header's hash bucket.  A known field of
        # the wrong width always meets itself there; for unknown fields the answer depends on the layout of
        # Open vSwitch's hash table, which this codec does not reproduce: it answers OFPBAC_BAD_SET_LEN, which
        # differential fuzzing against ovs-ofctl showed for about half of random unknown headers.
        exact_len = h.payload_len // 2 if h.hasmask else h.payload_len
        if h.oxm_class == OXM_EXP:
            exact_len += 4
        code = "OFPBAC_BAD_SET_LEN" if exact_len > 0 else "OFPBAC_BAD_SET_TYPE"
        raise OFPDecodeError(code, f"OXM header {h.fmt()} is unknown or has the wrong width")
    plen = h.payload_len
    if plen < 0 or end - pos < plen:
        raise OFPDecodeError("OFPBMC_BAD_LEN", f"OXM header {h.fmt()} calls for {plen}-byte payload")
    payload = data[pos:pos + plen]
    pos += plen
    width = h.width
    value_b = payload[:width]
    mask_b = payload[width:2 * width] if h.hasmask else None
    if mask_b is not None and any(v & ~m for v, m in zip(value_b, mask_b)):
        detail = (f"Rejecting NXM/OXM entry {h.fmt()} with 1-bits in value for bits wildcarded by the mask.")
        _log.warn_rl(_rl, detail)
        raise OFPDecodeError("OFPBMC_BAD_WILDCARDS", detail)
    if unknown:
        raise OFPDecodeError("OFPBMC_BAD_FIELD", f"OXM header {h.fmt()} is unknown")
    if f is not None and is_variable_len(f):
        # OVS copies min(width, n_bytes) payload bytes to the end of the field's full width.
        n = min(width, f.nbytes)
        value = int.from_bytes(value_b[:n], "big")
        mask = int.from_bytes(mask_b[:n], "big") if mask_b is not None else None
    else:
        value = int.from_bytes(value_b, "big")
        mask = int.from_bytes(mask_b, "big") if mask_b is not None else None
    return f, h, value, mask, pos


# --- matches -------------------------------------------------------------------------------------------------

_B = F.BY_NAME
_PT_ETH = 0                      # packet_type 0: Ethernet
_TUN_MD = [_B[f"tun_metadata{i}"] for i in range(64)]


@dataclass
class _Entry:
    """One NXM/OXM entry of a match, before it becomes bytes (``_entry_bytes``)."""

    field: Field | None          # None for a field our table lacks: see ``pseudo``
    value: int
    mask: int | None
    nbytes: int
    pseudo: str = ""             # "cookie" (NXM_NX_COOKIE) or "nd_options_type" (ERICOXM_OF_ICMPV6_ND_OPTIONS_TYPE)


def nx_put_entries(m: Match, md: MT.TunMetadata, version: int, cookie: int = 0,
                   cookie_mask: int = 0) -> list[_Entry]:
    """OVS ``nx_put_raw``: the NXM (``version`` 0) or OXM entries encoding ``m``, in OVS's order and under its
    conditions (L3 fields only for IP, L4 fields only for their protocol, ...)."""
    fl = MT.Flow(m.value, m.mask)
    g, mg = fl.get, fl.mget
    out: list[_Entry] = []
    implied_ethernet = False

    def put(name: str, v: int, mk: int | None = None, nbytes: int | None = None, exact: bool = False) -> None:
        nonlocal implied_ethernet
        f = _B[name]
        n = nbytes if nbytes is not None else f.nbytes
        full = (1 << (8 * n)) - 1
        if not exact:
            mk = full if mk is None else mk & full
            if mk == 0:
                return
            masked = mk != full
        else:
            masked = False
        out.append(_Entry(f, v & full & (mk if masked and mk is not None else full), mk if masked else None, n))
        if f.prereq is not Prereq.NONE:
            implied_ethernet = True

    pt, pt_m = g("packet_type"), mg("packet_type")
    default_pt = pt == _PT_ETH and pt_m == 0xFFFFFFFF
    if pt_m and not default_pt:
        put("packet_type", pt, pt_m)
    if mg("dp_hash"):
        put("dp_hash", g("dp_hash"), mg("dp_hash"))
    if mg("recirc_id"):
        put("recirc_id", g("recirc_id"), exact=True)
    if mg("conj_id"):
        put("conj_id", g("conj_id"), exact=True)
    if mg("in_port"):
        port = g("in_port") & 0xFFFF
        if version:
            put("in_port_oxm", V.port_to_ofp11(port), exact=True)
        else:
            put("in_port", port, exact=True)
    if mg("actset_output"):
        put("actset_output", V.port_to_ofp11(g("actset_output") & 0xFFFF), exact=True)
    put("eth_src", g("dl_src"), mg("dl_src"))
    put("eth_dst", g("dl_dst"), mg("dl_dst"))
    put("eth_type", g("dl_type"), mg("dl_type"))
    tci, tci_m = g("vlan_tci"), mg("vlan_tci")
    if version:
        vid = tci & (MT.VLAN_VID_MASK | MT.VLAN_CFI)
        vmask = tci_m & (MT.VLAN_VID_MASK | MT.VLAN_CFI)
        if vmask == MT.VLAN_VID_MASK | MT.VLAN_CFI:
            put("vlan_vid", vid, exact=True)
        elif vmask:
            put("vlan_vid", vid, vmask)
        if vid and tci_m & MT.VLAN_PCP_MASK:
            put("vlan_pcp", tci >> 13, exact=True)
    else:
        put("vlan_tci", tci, tci_m)
    dl_type = fl.dl_type()
    if dl_type in (MT.ETH_TYPE_MPLS, MT.ETH_TYPE_MPLS_MCAST):
        lse, lse_m = g("mpls_lse"), mg("mpls_lse")
        if lse_m & 0xE00:
            put("mpls_tc", (lse >> 9) & 7, exact=True)
        if lse_m & 0x100:
            put("mpls_bos", (lse >> 8) & 1, exact=True)
        if lse_m & 0xFF:
            put("mpls_ttl", lse & 0xFF, exact=True)
        if lse_m & 0xFFFFF000:
            put("mpls_label", lse >> 12, exact=True)
    if fl.is_ip_any():
        if dl_type == MT.ETH_TYPE_IP:
            put("ip_src", g("nw_src"), mg("nw_src"))
            put("ip_dst", g("nw_dst"), mg("nw_dst"))
        else:
            put("ipv6_src", g("ipv6_src"), mg("ipv6_src"))
            put("ipv6_dst", g("ipv6_dst"), mg("ipv6_dst"))
        frag, frag_m = g("nw_frag") & 3, mg("nw_frag") & 3
        put("ip_frag", frag, 0xFF if frag_m == 3 else frag_m)
        tos, tos_m = g("nw_tos"), mg("nw_tos")
        if tos_m & 0xFC:
            if version:
                put("ip_dscp", tos >> 2, exact=True)
            else:
                put("nw_tos", tos & 0xFC, exact=True)
        if tos_m & 3:
            put("nw_ecn", tos & 3, exact=True)
        if mg("nw_ttl"):
            put("nw_ttl", g("nw_ttl"), exact=True)
        put("ipv6_label", g("ipv6_label"), mg("ipv6_label"))
        if mg("nw_proto"):
            proto = g("nw_proto")
            put("nw_proto", proto, exact=True)
            tps, tps_m, tpd, tpd_m = g("tp_src"), mg("tp_src"), g("tp_dst"), mg("tp_dst")
            if proto == MT.IPPROTO_TCP:
                put("tcp_src", tps, tps_m)
                put("tcp_dst", tpd, tpd_m)
                put("tcp_flags", g("tcp_flags"), mg("tcp_flags"))
            elif proto == MT.IPPROTO_UDP:
                put("udp_src", tps, tps_m)
                put("udp_dst", tpd, tpd_m)
            elif proto == MT.IPPROTO_SCTP:
                put("sctp_src", tps, tps_m)
                put("sctp_dst", tpd, tpd_m)
            elif dl_type == MT.ETH_TYPE_IP and proto == MT.IPPROTO_ICMP:
                if tps_m:
                    put("icmp_type", tps & 0xFF, exact=True)
                if tpd_m:
                    put("icmp_code", tpd & 0xFF, exact=True)
            elif dl_type == MT.ETH_TYPE_IPV6 and proto == MT.IPPROTO_ICMPV6:
                if tps_m:
                    put("icmpv6_type", tps & 0xFF, exact=True)
                if tpd_m:
                    put("icmpv6_code", tpd & 0xFF, exact=True)
                if tpd == 0 and tps in (MT.ND_NEIGHBOR_SOLICIT, MT.ND_NEIGHBOR_ADVERT):
                    put("nd_target", g("nd_target"), mg("nd_target"))
                    if mg("tcp_flags"):
                        # OVS keeps the ND options type in the tcp_flags slot.
                        out.append(_Entry(None, g("tcp_flags") & 0xFF, None, 1, "nd_options_type"))
                        implied_ethernet = True
                    if tps == MT.ND_NEIGHBOR_SOLICIT:
                        put("nd_sll", g("arp_sha"), mg("arp_sha"))
                    if tps == MT.ND_NEIGHBOR_ADVERT:
                        put("nd_tll", g("arp_tha"), mg("arp_tha"))
    elif dl_type in (MT.ETH_TYPE_ARP, MT.ETH_TYPE_RARP):
        if mg("nw_proto"):
            put("arp_op", g("nw_proto"), exact=True)
        put("arp_spa", g("nw_src"), mg("nw_src"))
        put("arp_tpa", g("nw_dst"), mg("nw_dst"))
        put("arp_sha", g("arp_sha"), mg("arp_sha"))
        put("arp_tha", g("arp_tha"), mg("arp_tha"))
    put("tun_id", g("tun_id"), mg("tun_id"))
    put("tun_flags", g("tun_flags"), mg("tun_flags"))
    put("tun_src", g("tun_src"), mg("tun_src"))
    put("tun_dst", g("tun_dst"), mg("tun_dst"))
    put("tun_ipv6_src", g("tun_ipv6_src"), mg("tun_ipv6_src"))
    put("tun_ipv6_dst", g("tun_ipv6_dst"), mg("tun_ipv6_dst"))
    put("tun_gbp_id", g("tun_gbp_id"), mg("tun_gbp_id"))
    put("tun_gbp_flags", g("tun_gbp_flags"), mg("tun_gbp_flags"))
    present = mg("_tun_metadata_present")
    for i in range(64):
        if present >> i & 1:
            f = _TUN_MD[i]
            flen, masked = md.entries.get(i, (0, False))
            full = (1 << (8 * flen)) - 1
            v = (m.value >> f.ofs) & full
            mk = (m.mask >> f.ofs) & full
            out.append(_Entry(f, v, mk if masked else None, flen))
    regs_v, regs_m = g("regs"), mg("regs")
    if version < 6:
        for i in range(16):
            sh = (15 - i) * 32
            put(f"reg{i}", (regs_v >> sh) & 0xFFFFFFFF, (regs_m >> sh) & 0xFFFFFFFF)
    else:
        for i in range(8):
            sh = (7 - i) * 64
            put(f"xreg{i}", (regs_v >> sh) & 0xFFFFFFFFFFFFFFFF, (regs_m >> sh) & 0xFFFFFFFFFFFFFFFF)
    put("pkt_mark", g("pkt_mark"), mg("pkt_mark"))
    put("ct_state", g("ct_state"), mg("ct_state"))
    put("ct_zone", g("ct_zone"), mg("ct_zone"))
    put("ct_mark", g("ct_mark"), mg("ct_mark"))
    put("ct_label", g("ct_label"), mg("ct_label"))
    put("ct_nw_src", g("ct_nw_src"), mg("ct_nw_src"))
    put("ct_ipv6_src", g("ct_ipv6_src"), mg("ct_ipv6_src"))
    put("ct_nw_dst", g("ct_nw_dst"), mg("ct_nw_dst"))
    put("ct_ipv6_dst", g("ct_ipv6_dst"), mg("ct_ipv6_dst"))
    if g("ct_nw_proto"):
        put("ct_nw_proto", g("ct_nw_proto"), exact=True)
        put("ct_tp_src", g("ct_tp_src"), mg("ct_tp_src"))
        put("ct_tp_dst", g("ct_tp_dst"), mg("ct_tp_dst"))
    put("metadata", g("metadata"), mg("metadata"))
    if cookie_mask and not version:
        masked = cookie_mask != 0xFFFFFFFFFFFFFFFF
        out.append(_Entry(None, cookie & cookie_mask, cookie_mask if masked else None, 8, "cookie"))
    if default_pt and not implied_ethernet:
        out.insert(0, _Entry(_B["packet_type"], pt, None, 4))
    return out


def _entry_bytes(e: _Entry, version: int) -> bytes:
    if e.pseudo == "nd_options_type":
        cls, fld = ERICOXM_ND_OPTIONS_TYPE
        return struct.pack("!IB", (cls << 16) | (fld << 9) | 1, e.value & 0xFF)
    if e.field is None:
        # The NXM cookie pseudo-field.
        mask = e.mask
        return (struct.pack("!IQ", (NXM_NX_COOKIE[0] << 16) | (NXM_NX_COOKIE[1] << 9) | (int(mask is not None) << 8)
                            | (16 if mask is not None else 8), e.value)
                + (struct.pack("!Q", mask) if mask is not None else b""))
    return encode_entry(e.field, version, e.value, e.mask, e.nbytes)


def encode_match(match: Match, version: int, tun_md: MT.TunMetadata | None = None, cookie: int = 0,
                 cookie_mask: int = 0) -> bytes:
    """OVS ``nx_put_raw``: the entries encoding ``match`` (no padding).  ``version`` 0 is NXM, else the OpenFlow
    wire version of OXM.  ``tun_md`` gives the tunnel-metadata option lengths (derived from the mask when None).
    A cookie match (NXM only) is appended when ``cookie_mask`` is not zero."""
    if tun_md is None and not cookie_mask:
        return _encode_plain(match.value, match.mask, version)
    md = tun_md if tun_md is not None else MT.TunMetadata.derive(match)
    entries = nx_put_entries(match, md, version, cookie, cookie_mask)
    return b"".join(_entry_bytes(e, version) for e in entries)


@functools.lru_cache(maxsize=1 << 17)
def _encode_plain(value: int, mask: int, version: int) -> bytes:
    """``encode_match`` of a match without a given tunnel-metadata table or cookie, remembered: a switch encodes the
    same rules' matches in every flow dump and flow monitor update (bench/openflow.py: dumps were dominated by it)."""
    match = Match(value, mask)
    entries = nx_put_entries(match, MT.TunMetadata.derive(match), version, 0, 0)
    return b"".join(_entry_bytes(e, version) for e in entries)


def _mask_valid(f: Field, mask: int) -> bool:
    """OVS ``mf_is_mask_valid``: unmaskable fields take only all-zeros or all-ones masks."""
    if f.maskable:
        return True
    return mask in (0, (1 << (8 * f.nbytes)) - 1)


def decode_match(data: bytes, *, allow_cookie: bool = False) -> tuple[Match, MT.TunMetadata, int, int]:
    """OVS ``nx_pull_raw`` (strict): the match that the entries in ``data`` describe, with its tunnel-metadata
    table, and the cookie and cookie mask of an NXM cookie entry (0, 0 without one).  Raises OFPDecodeError."""
    b = MT.MatchBuilder()
    cookie = cookie_mask = 0
    have_cookie = False
    pos = 0
    while pos < len(data):
        h, _ = pull_header(data, pos)
        if (h.oxm_class, h.oxm_field, h.hasmask, h.length) == (*ERICOXM_ND_OPTIONS_TYPE, False, 1):
            # Not in the field table: Open vSwitch keeps the ND options type in the tcp_flags slot.
            if len(data) - pos < 5:
                raise OFPDecodeError("OFPBMC_BAD_LEN", f"OXM header {h.fmt()} calls for 1-byte payload")
            if not MT.prereqs_ok(_B["nd_target"], MT.Flow(b.value, b.mask)):
                raise OFPDecodeError("OFPBMC_BAD_PREREQ", "prerequisites of nd_options_type not met")
            if MT.Flow(b.value, b.mask).mget("tcp_flags"):
                raise OFPDecodeError("OFPBMC_DUP_FIELD", "duplicate nd_options_type")
            b.set_slot("tcp_flags", data[pos + 4], 0xFFFF)
            pos += 5
            continue
        f, _, value, mask, pos = pull_entry(data, pos, allow_cookie=allow_cookie)
        if f is None:
            if have_cookie:
                raise OFPDecodeError("OFPBMC_DUP_FIELD")
            have_cookie = True
            cookie, cookie_mask = value, (mask if mask is not None else 0xFFFFFFFFFFFFFFFF)
            continue
        full = (1 << (8 * f.nbytes)) - 1
        m = full if mask is None else mask
        if not _mask_valid(f, m):
            raise OFPDecodeError("OFPBMC_BAD_MASK", f"bad mask for field {f.name}")
        if not MT.is_value_valid(f, value):
            raise OFPDecodeError("OFPBMC_BAD_VALUE", f"bad value for field {f.name}")
        if not MT.prereqs_ok(f, MT.Flow(b.value, b.mask)):
            raise OFPDecodeError("OFPBMC_BAD_PREREQ", f"prerequisites of {f.name} not met")
        if not MT.is_all_wild(f, b.mask):
            raise OFPDecodeError("OFPBMC_DUP_FIELD", f"duplicate {f.name}")
        try:
            b.set_field(f, value, m)
        except MT.MatchParseError as e:
            raise OFPDecodeError("OFPBMC_BAD_VALUE", str(e)) from None
        b.add_ethernet_prereq(f)
    return b.match(), b.tun_md, cookie, cookie_mask


def encode_oxm_match(match: Match, version: int, tun_md: MT.TunMetadata | None = None) -> bytes:
    """OVS ``oxm_put_match``: an ``ofp11_match_header`` (type OXM, length) and the entries, padded to 8."""
    body = encode_match(match, version, tun_md)
    length = 4 + len(body)
    raw = struct.pack("!HH", 1, length) + body
    return raw + bytes(-len(raw) % 8)


def pull_oxm_match(data: bytes, pos: int) -> tuple[Match, MT.TunMetadata, int]:
    """OVS ``oxm_pull_match`` at ``data[pos:]``: the match and the position after its padding."""
    if len(data) - pos < 4:
        raise OFPDecodeError("OFPBMC_BAD_LEN")
    mtype, length = struct.unpack_from("!HH", data, pos)
    if length < 4:
        raise OFPDecodeError("OFPBMC_BAD_LEN")
    if mtype != 1:
        raise OFPDecodeError("OFPBMC_BAD_TYPE")
    padded = (length + 7) // 8 * 8
    if len(data) - pos < padded:
        raise OFPDecodeError("OFPBMC_BAD_LEN", f"oxm length {length}, rounded up to a multiple of 8, is longer "
                                               f"than space in message")
    match, md, _, _ = decode_match(data[pos + 4:pos + length])
    return match, md, pos + padded
