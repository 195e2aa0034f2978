"""The ``multipath`` and ``bundle``/``bundle_load`` actions: choosing a link or a port from a hash of the
flow.

API (pure functions; translation calls them and owns tracing and output)
-----------------------------------------------------------------------
``multipath_execute(action: Multipath, key: int, wc: Wildcards) -> int``
    Hash the fields ``action.fields`` of flow key ``key`` with ``action.basis``, pick a link in
    ``0 .. action.max_link`` with ``action.algorithm`` (``modulo_n``, ``hash_threshold``, ``hrw``,
    ``iter_hash``; ``action.arg`` is iter_hash's modulus hint) and return the key with the link written into
    ``action.dst``. The key bits the hash read and the destination bits are added to ``wc``.  The trace line
    Open vSwitch prints under the action is ``report_subfield(action.dst, new_key)`` (a "detail" line).

``bundle_execute(action: Bundle, key: int, wc: Wildcards, port_live: Callable[[int], bool]) -> tuple[int,
int]``
    Choose a member port: ``active_backup`` takes the first live member, ``hrw`` the live member with the
    highest hash of (member index, flow hash).  Returns ``(new_key, port)``; ``port`` is ``OFPP_NONE``
    (0xffff) when no member is live.  For ``bundle_load`` (``action.dst`` set) ``new_key`` has the port number
    written into ``dst`` (and its bits added to ``wc``), and translation prints ``report_subfield(action.dst,
    new_key)``; for ``bundle`` ``new_key`` is ``key`` and translation outputs to ``port`` as ``output:`` would
    (so a member equal to the input port gives ``>> skipping output to input port``); for OFPP_NONE it does
    nothing and prints nothing, as Open vSwitch.  ``active_backup`` reads no packet field, so it adds nothing
    to ``wc`` (but the destination of ``bundle_load``); ``hrw`` with one member does not add the hash fields
    either. ``port_live(port)`` must answer as Open vSwitch's bundle does: true for the special ports IN_PORT,
    TABLE, NORMAL, FLOOD, ALL and NONE, false for CONTROLLER, and for a real port whether it exists and may be
    enabled (not administratively down, link up).

``flow_hash_fields(key, fields, basis) -> int`` and ``mask_hash_fields(key, wc, fields)`` are the shared hash
and its wildcards (``fields`` as ovs-actions(7) names them: ``eth_src``, ``symmetric_l4``, ``symmetric_l3l4``,
``symmetric_l3l4+udp``, ``nw_src``, ``nw_dst``, ``symmetric_l3``).

Choosing the same link as Open vSwitch
--------------------------------------
The link must be the one Open vSwitch picks for the same packet, so the hash is Open vSwitch's
(:mod:`pyvswitch.flow.flow_hash`).  Every algorithm and field choice is checked against the links Open vSwitch 3.1
chose for the same packets (tests/data/ofproto/multipath/).
"""

from __future__ import annotations

from collections.abc import Callable

from pyvswitch.flow import fields as F
from pyvswitch.flow.flow_hash import VLAN_VID_MASK, flow_hash_fields, hash_2words, is_fragment, jhash_bytes
from pyvswitch.flow.match import (
    ETH_TYPE_IP,
    ETH_TYPE_IPV6,
    IPPROTO_ICMP,
    IPPROTO_SCTP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    VLAN_CFI,
    Wildcards,
)
from pyvswitch.flow.subfield import Subfield
from pyvswitch.ofproto.actions.fieldtext import format_field_value
from pyvswitch.ofproto.actions.model import Bundle, Multipath

__all__ = [
    "OFPP_NONE", "bundle_execute", "flow_hash_fields", "jhash_bytes", "mask_hash_fields",
    "multipath_algorithm", "multipath_execute", "report_subfield",
]

OFPP_NONE = 0xFFFF
_s = F.storage_get
_M32 = 0xFFFFFFFF



def _tp_ports_mask(key: int) -> int:
    """The port bits Open vSwitch consults for an L4 hash: the whole ports, or only their low byte (ICMP type
    and code) for ICMPv4."""
    if _s(key, "nw_proto") != IPPROTO_ICMP:
        return F.storage_mask("tp_src") | F.storage_mask("tp_dst")
    return (0xFF << F.STORAGE["tp_src"][0]) | (0xFF << F.STORAGE["tp_dst"][0])


def mask_hash_fields(key: int, wc: Wildcards, fields: str) -> None:
    """Add to ``wc`` the bits of ``key`` that ``flow_hash_fields(key, fields, ...)`` depends on, as Open
    vSwitch does (which is a little more than the hash reads in places, e.g. both address fields of a
    symmetric hash)."""
    m = F.storage_mask
    dl_type = _s(key, "dl_type")
    is_ip = dl_type in (ETH_TYPE_IP, ETH_TYPE_IPV6)
    proto = _s(key, "nw_proto")
    v4 = m("nw_src") | m("nw_dst")
    v6 = m("ipv6_src") | m("ipv6_dst")
    ports = m("tp_src") | m("tp_dst")
    bits = 0
    if fields == "eth_src":
        bits = m("dl_src")
    elif fields == "symmetric_l4":
        bits = m("dl_src") | m("dl_dst")
        if dl_type == ETH_TYPE_IP:
            bits |= v4
        elif dl_type == ETH_TYPE_IPV6:
            bits |= v6
        if is_ip:
            bits |= m("nw_proto")
            if proto != IPPROTO_UDP:
                bits |= _tp_ports_mask(key)
        vlan = VLAN_VID_MASK | VLAN_CFI
        bits |= (vlan << F.STORAGE["vlan_tci"][0]) | (vlan << F.STORAGE["_vlan2_tci"][0])
    elif fields in ("symmetric_l3l4", "symmetric_l3l4+udp"):
        if fields == "symmetric_l3l4+udp" and is_ip and proto == IPPROTO_UDP and not is_fragment(key):
            bits |= ports
        if is_ip:
            bits |= v4 if dl_type == ETH_TYPE_IP else v6
            bits |= m("nw_proto")
            if proto in (IPPROTO_TCP, IPPROTO_SCTP) and not is_fragment(key):
                bits |= ports
    elif fields == "nw_src":
        if is_ip:
            bits = m("nw_src") if dl_type == ETH_TYPE_IP else m("ipv6_src")
    elif fields == "nw_dst":
        if is_ip:
            bits = m("nw_dst") if dl_type == ETH_TYPE_IP else m("ipv6_dst")
    elif fields == "symmetric_l3" and is_ip:
        bits = v4 if dl_type == ETH_TYPE_IP else v6
    wc.add(bits)


# --- multipath ----------------------------------------------------------------------------------------------
def _round_up_pow2(x: int) -> int:
    return 1 << (x - 1).bit_length() if x > 1 else 1


def _iter_hash(h: int, n_links: int, modulo: int) -> int:
    if modulo < n_links or modulo // 2 > n_links:
        modulo = _round_up_pow2(n_links)
    i = 0
    while True:
        link = hash_2words(h, i) % modulo
        i += 1
        if link < n_links:
            return link


def multipath_algorithm(h: int, algorithm: str, n_links: int, arg: int) -> int:
    """The link in ``0 .. n_links - 1`` that ``algorithm`` picks for flow hash ``h``."""
    n_links = max(1, n_links)
    if algorithm == "modulo_n":
        return h % n_links
    if algorithm == "hash_threshold":
        return 0 if n_links == 1 else h // (_M32 // n_links + 1)
    if algorithm == "hrw":
        if n_links > 64:
            return _iter_hash(h, n_links, 0)
        best, best_w = 0, hash_2words(h, 0)
        for link in range(1, n_links):
            w = hash_2words(h, link)
            if w > best_w:
                best, best_w = link, w
        return best
    if algorithm == "iter_hash":
        return _iter_hash(h, n_links, arg & _M32)
    return 0


def _load(dst: Subfield, value: int, key: int, wc: Wildcards) -> int:
    wc.add(dst.key_mask)
    return dst.write(key, value)


def multipath_execute(action: Multipath, key: int, wc: Wildcards) -> int:
    """Run ``multipath``: the key with the chosen link in ``action.dst``; ``wc`` gains the hashed fields and
    the destination bits."""
    h = flow_hash_fields(key, action.fields, action.basis)
    link = multipath_algorithm(h, action.algorithm, action.max_link + 1, action.arg)
    mask_hash_fields(key, wc, action.fields)
    return _load(action.dst, link, key, wc)


# --- bundle -------------------------------------------------------------------------------------------------
def bundle_execute(action: Bundle, key: int, wc: Wildcards,
                   port_live: Callable[[int], bool]) -> tuple[int, int]:
    """Run ``bundle``/``bundle_load``: ``(new_key, chosen port or OFPP_NONE)``.  See the module
    documentation."""
    port = OFPP_NONE
    if action.algorithm == "active_backup":
        for p in action.members:
            if port_live(p):
                port = p
                break
    else:
        if len(action.members) > 1:
            mask_hash_fields(key, wc, action.fields)
        h = flow_hash_fields(key, action.fields, action.basis)
        best_w = -1
        for i, p in enumerate(action.members):
            if port_live(p):
                w = hash_2words(i, h)
                if w > best_w:
                    best_w, port = w, p
    if action.dst is not None:
        key = _load(action.dst, port, key, wc)
    return key, port


# --- trace text ---------------------------------------------------------------------------------------------
def report_subfield(sf: Subfield, key: int) -> str:
    """The detail line Open vSwitch's trace prints after an action stored into ``sf``, without its ``-> ``
    prefix: ``NXM_NX_REG0[0..3] is now 0x2`` (a whole field prints in the field's own syntax)."""
    if sf.is_whole:
        text = format_field_value(sf.field, F.get(key, sf.field))
    else:
        v = sf.read(key)
        text = "0" if v == 0 else f"{v:#x}"
    return f"{sf} is now {text}"
