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
The link must be the one Open vSwitch picks for the same packet, so the hash is Open vSwitch's, computed here
from its definition: Bob Jenkins' lookup3 over a byte string for ``eth_src``, ``nw_src``, ``nw_dst``,
``symmetric_l4`` and ``symmetric_l3``, and the MurmurHash3 word-at-a-time mix (which skips zero words) for the
``symmetric_l3l4`` variants.  Open vSwitch hashes the bytes of its in-memory ``struct flow`` on a
little-endian machine, so a field held in network byte order enters a word hash byte-swapped; the functions
below spell that out.  Every algorithm and field choice is checked against the links Open vSwitch 3.1 chose
for the same packets (tests/data/ofproto/multipath/).
"""

from __future__ import annotations

from collections.abc import Callable

from pyvswitch.flow import fields as F
from pyvswitch.flow.match import Wildcards
from pyvswitch.flow.subfield import Subfield
from pyvswitch.ofproto.actions.fieldtext import format_field_value
from pyvswitch.ofproto.actions.model import Bundle, Multipath

__all__ = [
    "OFPP_NONE", "bundle_execute", "flow_hash_fields", "jhash_bytes", "mask_hash_fields",
    "multipath_algorithm", "multipath_execute", "report_subfield",
]

OFPP_NONE = 0xFFFF
_M32 = 0xFFFFFFFF

ETH_TYPE_IP = 0x0800
ETH_TYPE_IPV6 = 0x86DD
IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_SCTP = 132
VLAN_VID_MASK = 0x0FFF
VLAN_CFI = 0x1000


# --- the hash primitives ------------------------------------------------------------------------------------
def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _M32


def hash_add(h: int, data: int) -> int:
    """One MurmurHash3 mixing step of the 32-bit word ``data`` into ``h``; a zero word leaves ``h`` unmixed
    before the rotation, as in Open vSwitch."""
    data &= _M32
    if data:
        data = (data * 0xCC9E2D51) & _M32
        data = _rot(data, 15)
        data = (data * 0x1B873593) & _M32
        h ^= data
    h = _rot(h, 13)
    return (h * 5 + 0xE6546B64) & _M32


def hash_add64(h: int, data: int) -> int:
    return hash_add(hash_add(h, data & _M32), data >> 32)


def hash_finish(h: int, final: int) -> int:
    h = (h ^ final) & _M32
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M32
    h ^= h >> 16
    return h


def hash_2words(x: int, y: int) -> int:
    return hash_finish(hash_add(hash_add(x, 0), y), 8)


def _jmix(a: int, b: int, c: int) -> tuple[int, int, int]:
    a = (a - c) & _M32; a ^= _rot(c, 4); c = (c + b) & _M32
    b = (b - a) & _M32; b ^= _rot(a, 6); a = (a + c) & _M32
    c = (c - b) & _M32; c ^= _rot(b, 8); b = (b + a) & _M32
    a = (a - c) & _M32; a ^= _rot(c, 16); c = (c + b) & _M32
    b = (b - a) & _M32; b ^= _rot(a, 19); a = (a + c) & _M32
    c = (c - b) & _M32; c ^= _rot(b, 4); b = (b + a) & _M32
    return a, b, c


def _jfinal(a: int, b: int, c: int) -> int:
    c ^= b; c = (c - _rot(b, 14)) & _M32
    a ^= c; a = (a - _rot(c, 11)) & _M32
    b ^= a; b = (b - _rot(a, 25)) & _M32
    c ^= b; c = (c - _rot(b, 16)) & _M32
    a ^= c; a = (a - _rot(c, 4)) & _M32
    b ^= a; b = (b - _rot(a, 14)) & _M32
    c ^= b; c = (c - _rot(b, 24)) & _M32
    return c


def jhash_bytes(data: bytes, basis: int) -> int:
    """Bob Jenkins' lookup3 hash of ``data`` (words read little-endian, the tail zero-padded), as Open
    vSwitch's ``jhash_bytes``."""
    n = len(data)
    a = b = c = (0xDEADBEEF + n + basis) & _M32
    i = 0
    while n - i >= 12:
        a = (a + int.from_bytes(data[i:i + 4], "little")) & _M32
        b = (b + int.from_bytes(data[i + 4:i + 8], "little")) & _M32
        c = (c + int.from_bytes(data[i + 8:i + 12], "little")) & _M32
        a, b, c = _jmix(a, b, c)
        i += 12
    if n - i:
        tail = data[i:] + bytes(12 - (n - i))
        a = (a + int.from_bytes(tail[0:4], "little")) & _M32
        b = (b + int.from_bytes(tail[4:8], "little")) & _M32
        c = (c + int.from_bytes(tail[8:12], "little")) & _M32
        c = _jfinal(a, b, c)
    return c


# --- reading the key ----------------------------------------------------------------------------------------
def _s(key: int, name: str) -> int:
    return F.storage_get(key, name)


def _be(v: int, nbytes: int) -> bytes:
    return v.to_bytes(nbytes, "big")


def _le_word(v: int, nbytes: int) -> int:
    """The machine word Open vSwitch sees when it loads the network-order field value ``v`` on little-endian
    hardware: ``v`` byte-swapped."""
    return int.from_bytes(v.to_bytes(nbytes, "big"), "little")


def _is_frag(key: int) -> bool:
    return bool(_s(key, "nw_frag") & 0x3)


# --- the hashes ---------------------------------------------------------------------------------------------
def _hash_symmetric_l4(key: int, basis: int) -> int:
    dl_type = _s(key, "dl_type")
    addr = bytes(16)
    proto = 0
    port = 0
    if dl_type == ETH_TYPE_IP:
        addr = _be(_s(key, "nw_src") ^ _s(key, "nw_dst"), 4) + bytes(12)
        proto = _s(key, "nw_proto")
    elif dl_type == ETH_TYPE_IPV6:
        addr = _be(_s(key, "ipv6_src") ^ _s(key, "ipv6_dst"), 16)
        proto = _s(key, "nw_proto")
    if dl_type in (ETH_TYPE_IP, ETH_TYPE_IPV6) and proto in (IPPROTO_TCP, IPPROTO_SCTP):
        port = _s(key, "tp_src") ^ _s(key, "tp_dst")
    vlan = (_s(key, "vlan_tci") ^ _s(key, "_vlan2_tci")) & VLAN_VID_MASK
    eth = _s(key, "dl_src") ^ _s(key, "dl_dst")
    # struct { union {be32; in6_addr} addr; be16 eth_type; be16 vlan_tci; be16 tp_port; eth_addr; u8 proto; }
    # is 29 bytes padded to 32, zero-filled.
    data = addr + _be(dl_type, 2) + _be(vlan, 2) + _be(port, 2) + _be(eth, 6) + bytes([proto]) + bytes(3)
    return jhash_bytes(data, basis)


def _hash_symmetric_l2(key: int, basis: int) -> int:
    if _s(key, "packet_type") != 0:
        return 0
    eth = _be(_s(key, "dl_src") ^ _s(key, "dl_dst"), 6)
    vlan = (_s(key, "vlan_tci") ^ _s(key, "_vlan2_tci")) & VLAN_VID_MASK
    words = _be(_s(key, "dl_type"), 2) + _be(vlan, 2) + eth + bytes(2)
    h = basis
    for i in range(0, 12, 4):
        h = hash_add(h, int.from_bytes(words[i:i + 4], "little"))
    return hash_finish(h, basis)


def _hash_symmetric_l3l4(key: int, basis: int, inc_udp: bool) -> int:
    dl_type = _s(key, "dl_type")
    h = basis
    if dl_type == ETH_TYPE_IP:
        h = hash_add(h, _le_word(_s(key, "nw_src") ^ _s(key, "nw_dst"), 4))
    elif dl_type == ETH_TYPE_IPV6:
        x = _be(_s(key, "ipv6_src") ^ _s(key, "ipv6_dst"), 16)
        h = hash_add64(h, int.from_bytes(x[:8], "little"))
        h = hash_add64(h, int.from_bytes(x[8:], "little"))
    else:
        return _hash_symmetric_l2(key, basis)
    proto = _s(key, "nw_proto")
    h = hash_add(h, proto)
    if not _is_frag(key) and (proto in (IPPROTO_TCP, IPPROTO_SCTP) or (inc_udp and proto == IPPROTO_UDP)):
        h = hash_add(h, _le_word(_s(key, "tp_src") ^ _s(key, "tp_dst"), 2))
    return hash_finish(h, basis)


def _hash_symmetric_l3(key: int, basis: int) -> int:
    dl_type = _s(key, "dl_type")
    addr = bytes(16)
    if dl_type == ETH_TYPE_IP:
        addr = _be(_s(key, "nw_src") ^ _s(key, "nw_dst"), 4) + bytes(12)
    elif dl_type == ETH_TYPE_IPV6:
        addr = _be(_s(key, "ipv6_src") ^ _s(key, "ipv6_dst"), 16)
    # struct { union {be32; in6_addr} addr; be16 eth_type; }: 18 bytes padded to 20.
    return jhash_bytes(addr + _be(dl_type, 2) + bytes(2), basis)


def _hash_addr(key: int, basis: int, v4: str, v6: str) -> int:
    dl_type = _s(key, "dl_type")
    if dl_type == ETH_TYPE_IP:
        return jhash_bytes(_be(_s(key, v4), 4), basis)
    if dl_type == ETH_TYPE_IPV6:
        return jhash_bytes(_be(_s(key, v6), 16), basis)
    return basis


def flow_hash_fields(key: int, fields: str, basis: int) -> int:
    """Open vSwitch's hash of the ``fields`` of flow key ``key`` with ``basis`` (a 16-bit number)."""
    basis &= 0xFFFF
    if fields == "eth_src":
        return jhash_bytes(_be(_s(key, "dl_src"), 6), basis)
    if fields == "symmetric_l4":
        return _hash_symmetric_l4(key, basis)
    if fields == "symmetric_l3l4":
        return _hash_symmetric_l3l4(key, basis, False)
    if fields == "symmetric_l3l4+udp":
        return _hash_symmetric_l3l4(key, basis, True)
    if fields == "nw_src":
        return _hash_addr(key, basis, "nw_src", "ipv6_src")
    if fields == "nw_dst":
        return _hash_addr(key, basis, "nw_dst", "ipv6_dst")
    if fields == "symmetric_l3":
        return _hash_symmetric_l3(key, basis)
    return basis


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
        if fields == "symmetric_l3l4+udp" and is_ip and proto == IPPROTO_UDP and not _is_frag(key):
            bits |= ports
        if is_ip:
            bits |= v4 if dl_type == ETH_TYPE_IP else v6
            bits |= m("nw_proto")
            if proto in (IPPROTO_TCP, IPPROTO_SCTP) and not _is_frag(key):
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
