"""A flow key in the text form Open vSwitch prints for a ``struct flow``.

``format_flow(key)`` gives the string that follows ``Flow:`` (and ``Final flow:``) in ``ovs-appctl
ofproto/trace`` output, e.g. ``udp,in_port=1,vlan_tci=0x0000,dl_src=...,tp_src=1,tp_dst=2``.  Open vSwitch
produces it by turning the flow into a match that pins every field meaningful for this packet
(``flow_wildcards_init_for_packet``), dropping the packet-context fields that are zero (tunnel source and
destination excepted: when a tunnel destination is set, every tunnel field is shown), and printing that match
as ``ovs-ofctl`` prints a match.  This module follows the same two steps, written out directly for a key:

* which fields are printed depends on the packet: L3 fields only for IPv4/IPv6/ARP, L4 ports only for TCP,
  UDP, SCTP, ICMP, ICMPv6 and IGMP when the packet is not a later fragment, ND fields only for a neighbour
  solicitation/advertisement, one ``vlan_tci`` entry per tag plus one zero entry after the last tag, and the
  MPLS label stack entries down to the one with the bottom-of-stack bit;
* the spelling and order are those of OVS's ``match_format``: context fields first (``pkt_mark``, ``recirc_id``,
  ``dp_hash``, ``skb_priority``, ``ct_*``), then ``eth`` when ``recirc_id`` is set (OVS then treats the match as
  a datapath megaflow), the protocol keyword (``tcp``, ``udp6``, ``arp``, ``mpls`` ...), registers, tunnel,
  ``metadata``, ``in_port``, VLANs, Ethernet addresses, L3, L4.  Numbers follow C's ``printf`` formats, including
  its quirks: ``%#x`` prints zero as ``0``, ``tun_tos`` is hexadecimal without ``0x``, IPv6 addresses use
  glibc's ``inet_ntop`` (``::1.2.3.4`` and ``::ffff:1.2.3.4`` for IPv4-compatible and -mapped addresses).

Tunnel flags: the ``tun_flags`` storage slot holds Open vSwitch's internal tunnel flags, bit 0 ``oam`` (the only
one OpenFlow can match, the ``tun_flags`` field), bit 1 ``df``, bit 2 ``csum``, bit 3 ``key``.  As in OVS, when a
tunnel destination is set, ``tun_id`` is printed only if the ``key`` flag says the tunnel header carried one.

Not printed, because the key has no room for them: ERSPAN and GTP-U tunnel fields (always ``0``; OVS prints
``tun_erspan_ver=0,gtpu_flags=0,gtpu_msgtype=0`` for every tunnelled flow and so do we), ``nd_reserved``,
``nd_options_type``, NSH.  Tunnel metadata options (``tun_metadataN``) are not printed here either: their
values mean something only through a bridge's TLV map, so the trace adds them to its ``Flow:`` line
(``pyvswitch.ofproto.trace``), after the tunnel flags as Open vSwitch does.
"""

from __future__ import annotations

from pyvswitch.flow import fields as F
from pyvswitch.flow.values import (
    CT_STATE_NAMES,
    PORT_NAMES,
    TCP_FLAG_NAMES,
    c_hex,
    format_ipv4,
    format_ipv6,
    format_mac,
)

__all__ = ["TUN_F_CSUM", "TUN_F_DONT_FRAGMENT", "TUN_F_KEY", "TUN_F_OAM", "format_flow"]

TUN_F_OAM = 1 << 0
TUN_F_DONT_FRAGMENT = 1 << 1
TUN_F_CSUM = 1 << 2
TUN_F_KEY = 1 << 3
_TUN_FLAG_NAMES = ["oam", "df", "csum", "key"]

# OVS names TCP's three reserved bits by their value.
_TCP_FLAG_NAMES = TCP_FLAG_NAMES + ["[200]", "[400]", "[800]"]


def _flags(value: int, names: list[str]) -> str:
    """OVS's ``format_flags`` with ``|``: names in bit order, unnamed bits as hex, ``0`` for none."""
    if not value:
        return "0"
    out = []
    bit = 0
    while value >> bit:
        if value >> bit & 1:
            out.append(names[bit] if bit < len(names) else f"{1 << bit:#x}")
        bit += 1
    return "|".join(out)


def _port(p: int) -> str:
    if p == 0xFFFF:
        return "ANY"
    return PORT_NAMES.get(p, str(p))


_KEYWORDS_IP = {1: "icmp", 6: "tcp", 17: "udp", 132: "sctp"}
_KEYWORDS_IPV6 = {58: "icmp6", 6: "tcp6", 17: "udp6", 132: "sctp6"}
_KEYWORDS_L2 = {0x0806: "arp", 0x8035: "rarp", 0x8847: "mpls", 0x8848: "mplsm"}
_L4_PROTOS = frozenset((1, 2, 6, 17, 58, 132))


def format_flow(key: int) -> str:
    """``key`` as Open vSwitch's ``flow_format`` prints it (the ``Flow:`` line of ``ofproto/trace``)."""
    g = F.storage_get
    out: list[str] = []
    put = out.append

    # Packet context, each only when non-zero.
    pkt_mark = g(key, "pkt_mark")
    if pkt_mark:
        put(f"pkt_mark={pkt_mark:#x}")
    recirc_id = g(key, "recirc_id")
    if recirc_id:
        put(f"recirc_id={recirc_id:#x}")
    dp_hash = g(key, "dp_hash")
    if dp_hash:
        put(f"dp_hash={dp_hash:#x}")
    skb_priority = g(key, "skb_priority")
    if skb_priority:
        put(f"skb_priority={skb_priority:#x}")
    ct_state = g(key, "ct_state")
    if ct_state:
        put(f"ct_state={_flags(ct_state, CT_STATE_NAMES)}")
    ct_zone = g(key, "ct_zone")
    if ct_zone:
        put(f"ct_zone={ct_zone}")
    ct_mark = g(key, "ct_mark")
    if ct_mark:
        put(f"ct_mark={ct_mark:#x}")
    ct_label = g(key, "ct_label")
    if ct_label:
        put(f"ct_label={ct_label:#x}")

    dl_type = g(key, "dl_type")
    nw_proto = g(key, "nw_proto")
    nw_frag = g(key, "nw_frag") & 3
    is_ip = dl_type == 0x0800 or dl_type == 0x86DD
    ct_nw_proto = g(key, "ct_nw_proto")
    if ct_nw_proto and is_ip:
        if dl_type == 0x0800:
            put(f"ct_nw_src={format_ipv4(g(key, 'ct_nw_src'))}")
            put(f"ct_nw_dst={format_ipv4(g(key, 'ct_nw_dst'))}")
        elif not _is_nd(key, dl_type, nw_proto):
            put(f"ct_ipv6_src={format_ipv6(g(key, 'ct_ipv6_src'))}")
            put(f"ct_ipv6_dst={format_ipv6(g(key, 'ct_ipv6_dst'))}")
        put(f"ct_nw_proto={ct_nw_proto}")
        put(f"ct_tp_src={g(key, 'ct_tp_src')}")
        put(f"ct_tp_dst={g(key, 'ct_tp_dst')}")

    if recirc_id:
        put("eth")

    # The protocol keyword stands for dl_type (and nw_proto when it names one).
    skip_type = skip_proto = False
    if dl_type == 0x0800:
        skip_type = True
        kw = _KEYWORDS_IP.get(nw_proto)
        skip_proto = kw is not None
        put(kw or "ip")
    elif dl_type == 0x86DD:
        skip_type = True
        kw = _KEYWORDS_IPV6.get(nw_proto)
        skip_proto = kw is not None
        put(kw or "ipv6")
    elif dl_type in _KEYWORDS_L2:
        skip_type = True
        put(_KEYWORDS_L2[dl_type])

    regs = g(key, "regs")
    for i in range(16):
        r = (regs >> ((15 - i) * 32)) & 0xFFFFFFFF
        if r:
            put(f"reg{i}={r:#x}")

    tun_dst = g(key, "tun_dst")
    tun_ipv6_dst = g(key, "tun_ipv6_dst")
    tun_id = g(key, "tun_id")
    tun_flags = g(key, "tun_flags")
    if tun_dst or tun_ipv6_dst:
        if tun_flags & TUN_F_KEY:
            put(f"tun_id={c_hex(tun_id)}")
        put(f"tun_src={format_ipv4(g(key, 'tun_src'))}")
        put(f"tun_dst={format_ipv4(tun_dst)}")
        put(f"tun_ipv6_src={format_ipv6(g(key, 'tun_ipv6_src'))}")
        put(f"tun_ipv6_dst={format_ipv6(tun_ipv6_dst)}")
        put(f"tun_gbp_id={g(key, 'tun_gbp_id')}")
        put(f"tun_gbp_flags={c_hex(g(key, 'tun_gbp_flags'))}")
        put(f"tun_tos={g(key, '_tun_tos'):x}")
        put(f"tun_ttl={g(key, '_tun_ttl')}")
        put("tun_erspan_ver=0")
        put("gtpu_flags=0")
        put("gtpu_msgtype=0")
        put(f"tun_flags={_flags(tun_flags & 0xF, _TUN_FLAG_NAMES)}")
    elif tun_id:
        put(f"tun_id={tun_id:#x}")

    metadata = g(key, "metadata")
    if metadata:
        put(f"metadata={metadata:#x}")
    put(f"in_port={_port(g(key, 'in_port') & 0xFFFF)}")

    # VLAN tags: every tag, then the first absent one as a zero.
    for i, slot in enumerate(("vlan_tci", "_vlan2_tci")):
        tci = g(key, slot)
        n = str(i) if i else ""
        if tci & 0x1000:
            put(f"dl_vlan{n}={tci & 0xFFF}")
            put(f"dl_vlan_pcp{n}={tci >> 13}")
        else:
            put(f"vlan_tci{n}=0x{tci:04x}")
        if not tci:
            break

    put(f"dl_src={format_mac(g(key, 'dl_src'))}")
    put(f"dl_dst={format_mac(g(key, 'dl_dst'))}")
    if not skip_type:
        put(f"dl_type=0x{dl_type:04x}")

    is_arp = dl_type == 0x0806 or dl_type == 0x8035
    if dl_type == 0x86DD:
        put(f"ipv6_src={format_ipv6(g(key, 'ipv6_src'))}")
        put(f"ipv6_dst={format_ipv6(g(key, 'ipv6_dst'))}")
        put(f"ipv6_label=0x{g(key, 'ipv6_label'):05x}")
    elif is_arp:
        put(f"arp_spa={format_ipv4(g(key, 'nw_src'))}")
        put(f"arp_tpa={format_ipv4(g(key, 'nw_dst'))}")
        put(f"arp_op={nw_proto}")
        put(f"arp_sha={format_mac(g(key, 'arp_sha'))}")
        put(f"arp_tha={format_mac(g(key, 'arp_tha'))}")
    elif dl_type == 0x0800:
        put(f"nw_src={format_ipv4(g(key, 'nw_src'))}")
        put(f"nw_dst={format_ipv4(g(key, 'nw_dst'))}")

    if is_ip:
        if not skip_proto:
            put(f"nw_proto={nw_proto}")
        tos = g(key, "nw_tos")
        put(f"nw_tos={tos & 0xFC}")
        put(f"nw_ecn={tos & 3}")
        put(f"nw_ttl={g(key, 'nw_ttl')}")
    elif dl_type == 0x8847 or dl_type == 0x8848:
        lse = g(key, "mpls_lse")
        put(f"mpls_label={lse >> 12}")
        put(f"mpls_tc={(lse >> 9) & 7}")
        put(f"mpls_ttl={lse & 0xFF}")
        put(f"mpls_bos={(lse >> 8) & 1}")
        if not lse & 0x100:
            lse1 = g(key, "_mpls_lse1")
            put(f"mpls_lse1={lse1}")
            if not lse1 & 0x100:
                put(f"mpls_lse2={g(key, '_mpls_lse2')}")

    if is_ip:
        put("nw_frag=" + ("no", "first", "<error>", "later")[nw_frag])
        if not nw_frag & 2 and nw_proto in _L4_PROTOS:
            tp_src = g(key, "tp_src")
            tp_dst = g(key, "tp_dst")
            if dl_type == 0x0800 and nw_proto == 1 or dl_type == 0x86DD and nw_proto == 58:
                put(f"icmp_type={tp_src}")
                put(f"icmp_code={tp_dst}")
                if _is_nd(key, dl_type, nw_proto):
                    put(f"nd_target={format_ipv6(g(key, 'nd_target'))}")
                    put(f"nd_sll={format_mac(g(key, 'arp_sha'))}")
                    put(f"nd_tll={format_mac(g(key, 'arp_tha'))}")
            else:
                put(f"tp_src={tp_src}")
                put(f"tp_dst={tp_dst}")
            if nw_proto == 6:
                put(f"tcp_flags={_flags(g(key, 'tcp_flags') & 0xFFF, _TCP_FLAG_NAMES)}")
    return ",".join(out)


def _is_nd(key: int, dl_type: int, nw_proto: int) -> bool:
    """A neighbour solicitation or advertisement (OVS's ``is_nd``)."""
    return (dl_type == 0x86DD and nw_proto == 58 and F.storage_get(key, "tp_dst") == 0
            and F.storage_get(key, "tp_src") in (135, 136))
