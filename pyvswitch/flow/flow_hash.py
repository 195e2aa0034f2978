"""Open vSwitch's hashes of flow keys: the values ``multipath``, ``bundle``, select groups' ``hash`` method and
the datapath's ``hash(sym_l4(...))`` action compute, written from their definitions so that the same packet gives
the same number as in Open vSwitch.

Bob Jenkins' lookup3 over a byte string serves ``eth_src``, ``nw_src``, ``nw_dst``, ``symmetric_l4`` and
``symmetric_l3``; the MurmurHash3 word-at-a-time mix (which skips zero words) serves the ``symmetric_l3l4``
variants.  Open vSwitch hashes the bytes of its in-memory ``struct flow`` on a little-endian machine, so a field
held in network byte order enters a word hash byte-swapped; the functions below spell that out.  They are checked
through multipath's and bundle's choices on packets Open vSwitch 3.1 hashed (tests/data/ofproto/multipath/) and
the ``dp_hash`` values it computed for select groups (tests/data/ofproto/xlate_more_cases.json).
"""

from __future__ import annotations

from pyvswitch.flow import fields as F
from pyvswitch.flow.match import ETH_TYPE_IP, ETH_TYPE_IPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP

__all__ = ["flow_hash_fields", "flow_hash_symmetric_l3l4", "hash_2words", "hash_add", "hash_add64", "hash_bytes",
           "hash_finish", "hash_uint64", "is_fragment", "jhash_bytes"]

_M32 = 0xFFFFFFFF
VLAN_VID_MASK = 0x0FFF


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
    """Open vSwitch's ``hash_2words`` (also its ``hash_int(x, basis)``)."""
    return hash_finish(hash_add(hash_add(x, 0), y), 8)


def hash_uint64(x: int) -> int:
    """Open vSwitch's ``hash_uint64``."""
    return hash_finish(hash_add64(0, x), 8)


def hash_bytes(data: bytes, basis: int) -> int:
    """Open vSwitch's ``hash_bytes``: the Murmur mix over ``data``'s little-endian words, the tail zero-padded."""
    h = basis
    n = len(data)
    for i in range(0, n - n % 4, 4):
        h = hash_add(h, int.from_bytes(data[i:i + 4], "little"))
    if n % 4:
        h = hash_add(h, int.from_bytes(data[n - n % 4:], "little"))
    return hash_finish(h, n)


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


def is_fragment(key: int) -> bool:
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
    if not is_fragment(key) and (proto in (IPPROTO_TCP, IPPROTO_SCTP) or (inc_udp and proto == IPPROTO_UDP)):
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


def flow_hash_symmetric_l3l4(key: int, basis: int, inc_udp: bool = False) -> int:
    """Open vSwitch's ``flow_hash_symmetric_l3l4``: the same for both directions of a connection."""
    return _hash_symmetric_l3l4(key, basis, inc_udp)
