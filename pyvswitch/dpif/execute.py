"""Executing datapath actions on packets: the last step of the userspace datapath's fast path.

``execute(packet, actions, ctx)`` applies a list of datapath actions (:mod:`pyvswitch.dpif.odp`) to one packet;
``execute_batch(packets, actions, ctx)`` applies one list to many packets, which is what the datapath does for
the packets of a batch that hit the same megaflow.  The facts follow Open vSwitch's datapaths (the userspace
``odp-execute`` and the Linux kernel module), checked byte for byte against a real ovs-vswitchd with a dummy
datapath (``tests/data/dpif/execute_capture.py``).

Contract
--------
* Actions apply in order to the same packet.  ``Output`` hands the context a ``bytes`` copy of the packet as it
  is at that point; later actions do not affect frames already sent.  A ``bytearray`` passed in is modified in
  place (it ends as the packet after the last action); ``bytes`` are copied first.
* Every packet has a :class:`PacketMetadata` (``in_port``, ``skb_priority``, ``skb_mark``, ``recirc_id``,
  ``dp_hash``, the tunnel key, the conntrack fields), which ``set(skb_mark(...))``, ``set(tunnel(...))``,
  ``hash``, ``ct`` and ``ct_clear`` change.  ``execute`` uses ``ctx.md`` unless given one; ``execute_batch``
  gives each packet a copy of ``ctx.md`` unless given one metadata per packet.
* Execution never raises on packet content.  An action whose header is missing, truncated or inconsistent (a
  ``set(ipv4(...))`` on a frame whose IPv4 header does not fit, a ``pop_vlan`` on an untagged frame) leaves the
  packet unchanged and execution goes on with the next action, as Open vSwitch skips malformed packets.
* The context (:class:`ExecContext`, subclass it) receives the side effects through its methods:
  ``output(port, frame)``, ``userspace(frame, action, md)`` (a packet-in or other slow-path upcall),
  ``recirc(frame, recirc_id, md)``, ``meter(meter_id, packet, md) -> bool`` (False drops the packet),
  ``ct(packet, action, md)`` (conntrack: the default treats every connection as new and sets ``+trk+new``),
  ``tnl_push(frame, action, md) -> bytes | list[bytes] | None`` (the encapsulated packet, which replaces the
  packet for the following actions; None drops it; a list of fragments runs the following actions once per
  fragment, in order), ``tnl_pop(frame, port, md)`` (decapsulate and recirculate) and
  ``random() -> int`` (a uniform 32-bit number, for ``sample``).

Action semantics
----------------
* ``push_vlan`` inserts an 802.1Q/802.1ad header (the action's TPID; TCI from vid and pcp) right behind the
  Ethernet addresses, so it becomes the outermost tag.  The CFI/DEI bit of the pushed tag is always 0: in a
  datapath action the CFI bit means "tag present", and both of OVS's datapaths clear it on the wire.
  ``pop_vlan`` removes the outermost tag when the frame has one (TPID 0x8100 or 0x88a8).
* ``push_mpls`` inserts the label stack entry at the start of the MPLS label stack (behind the VLAN tags; in
  front of the existing labels of an MPLS packet) and sets the Ethernet type behind the VLAN tags to the
  action's (0x8847 or 0x8848; any other type is ignored).  ``pop_mpls`` removes the top entry of an MPLS
  packet and sets that Ethernet type to the action's.
* ``set(...)`` exact and masked: ``new = value | old & ~mask`` per field; the fields written in the action are
  set, the others kept.  The value is not masked first: Open vSwitch's userspace datapath ORs it in whole (a
  real OVS turns ``set(ipv4(src=1.2.3.4/255.255.0.0))`` on 10.0.0.1 into 1.2.3.5); translation never
  produces a value with bits outside its mask, so only hand-written actions notice.  Header fields: ``eth`` src/dst; ``ipv4`` src/dst/tos/ttl (proto and frag are not
  writable and ignored); ``ipv6`` src/dst/label/tclass/hlimit; ``tcp``/``udp``/``sctp`` ports;
  ``icmp``/``icmpv6`` type/code; ``arp`` sip/tip/op/sha/tha; ``nd`` target/sll/tll; ``mpls``
  label/tc/ttl/bos of the top label stack entry.  The IPv4 header checksum and the TCP, UDP and ICMP/ICMPv6
  checksums are updated incrementally (RFC 1624), so a correct checksum stays correct and a wrong one stays
  wrong by the same amount; an IPv4 UDP checksum of 0 ("none") stays 0, and an updated UDP checksum of 0 is
  written as 0xffff.  The SCTP CRC32c is recomputed and the old error, if any, kept (OVS does the same).
  Address changes update the TCP/UDP/ICMPv6 pseudo-header checksum only in a packet whose L4 header is present:
  never in a non-first fragment (the checksum is in the first fragment), and an IPv6 destination change does
  not update it behind a routing header with segments left (the pseudo-header then holds the final
  destination).  L4 sets (ports, ICMP type/code, ND) are skipped in non-first fragments.  IPv6 extension
  headers walked: hop-by-hop, routing, fragment, destination options and AH.  Metadata sets (``skb_mark``,
  ``skb_priority``, ``tunnel``, ``ct_*``, ``recirc_id``, ``dp_hash``) change the :class:`PacketMetadata`; an
  exact ``set(tunnel(...))`` replaces the whole tunnel key, a masked one merges.
* ``trunc(N)`` limits the next frame handed out (``output``, ``userspace``, ``tnl_push``) to ``max(N, 14)``
  bytes, then is forgotten.  As in OVS it is recorded as "bytes to cut" from the length at the time of the
  ``trunc``.
* ``clone(...)`` runs its actions on a copy of the packet and its metadata; ``sample(p, ...)`` does the same when
  ``ctx.random() < p`` (``p`` a fraction of 2**32 - 1, as the datapath stores it).
* ``check_pkt_len(size=N, gt(...), le(...))`` runs ``gt`` when the frame (its L2 length, truncation not
  applied) is longer than N bytes, else ``le``; like ``clone`` on a copy, except as the last action, where the
  copy would be wasted (translation puts the rest of the pipeline inside both branches, so it is usually last).
* ``hash(l4(basis))`` sets ``dp_hash`` to the CRC32 (zlib's, seeded with the basis) of the 5-tuple written as
  bytes: IPv4 source and destination (4 bytes each) or IPv6 ones (16 bytes each), the IP protocol (1 byte) and
  the source and destination ports (2 bytes each; ICMP type and code, 0 for a protocol without ports or a later
  fragment).  A packet that is not IP hashes the empty string (only the basis counts), as in OVS where a non-IP
  packet's 5-tuple is all zero; this value is not Open vSwitch's ``flow_hash_5tuple``.  ``hash(sym_l4(basis))``
  is Open vSwitch's own ``flow_hash_symmetric_l3l4`` (``pyvswitch.flow.flow_hash``), the same for both directions
  of a connection: the select groups translation emits use it, so they pick the buckets Open vSwitch picks.
* ``meter(id)`` asks ``ctx.meter`` with the packet itself (a ``bytearray``: a ``dscp_remark`` band rewrites
  its DSCP in place) and its metadata; a False answer drops the packet.  In a batch every packet is metered on
  its own, in order.  The id is a provider meter id (:mod:`pyvswitch.dpif.meter`).  ``drop`` ends execution.
* ``ct``: ``ctx.ct`` is called with the packet (a ``bytearray``, for NAT) and the metadata.
* ``recirc(id)`` hands a copy of the packet and of its metadata, with ``recirc_id`` set, to ``ctx.recirc``;
  execution continues with the original (a ``recirc`` is normally last).

Differences from Open vSwitch
-----------------------------
Open vSwitch's userspace datapath rewrites at the offsets its flow extraction recorded, without checking that
the header there is the one the action names.  So it "updates" a TCP/UDP checksum inside the payload of a
non-first IPv4 fragment, rewrites the ports of a TCP segment for ``set(udp(...))`` and writes an IPv4 address
into the payload of a non-IP frame for ``set(ipv4(...))``.  Translation never emits such actions for such
packets, but a hand-written datapath flow can; this executor leaves those bytes alone (the test suite pins the
four cases found with a real ovs-vswitchd).

Speed
-----
An action list is compiled once into a tuple of closures (cached by the list's value, which is hashable), each
holding its action's values as precomputed ints and offsets.  Per packet an action reads only the bytes it
needs: ``output`` copies the frame, ``set(ipv4(dst=...))`` reads the Ethernet type, the IHL, protocol and
fragment word and rewrites the address and two checksums.  See ``bench/dp_execute.py``."""

from __future__ import annotations

import random as _random
import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from pyvswitch.dpif import odp
from pyvswitch.dpif.odp import (
    Action,
    CheckPktLen,
    Clone,
    Ct,
    CtClear,
    Drop,
    Hash,
    Meter,
    Output,
    PopMpls,
    PopVlan,
    PushMpls,
    PushVlan,
    Recirc,
    Sample,
    SetField,
    TnlPop,
    TnlPush,
    Trunc,
    Userspace,
)
from pyvswitch.flow.extract import extract
from pyvswitch.flow.flow_hash import flow_hash_symmetric_l3l4
from pyvswitch.packet.checksum import crc32c, csum_update16, csum_update_bytes
from pyvswitch.packet.ethernet import l3_offset

__all__ = ["ExecContext", "PacketMetadata", "compile_actions", "execute", "execute_batch", "l4_hash"]

CS_NEW = 0x01
CS_TRACKED = 0x20
ETH_HEADER_LEN = 14


@dataclass(slots=True)
class PacketMetadata:
    """What the datapath knows about a packet besides its bytes.  ``tunnel`` maps the field names of the
    ``tunnel(...)`` attribute (``tun_id``, ``src``, ``dst``, ``ipv6_src``, ``ipv6_dst``, ``tos``, ``ttl``,
    ``tp_src``, ``tp_dst``, ``flags``), ``gbp_id``, ``gbp_flags`` and, for Geneve options, ``geneve_len`` (bytes)
    and ``geneve`` (the option bytes as a big-endian number) to ints: what ``tnl_pop`` found in the outer
    headers."""

    in_port: int = 0
    skb_priority: int = 0
    skb_mark: int = 0
    recirc_id: int = 0
    dp_hash: int = 0
    tunnel: dict[str, int] = field(default_factory=dict)
    ct_state: int = 0
    ct_zone: int = 0
    ct_mark: int = 0
    ct_label: int = 0

    def copy(self) -> PacketMetadata:
        return PacketMetadata(self.in_port, self.skb_priority, self.skb_mark, self.recirc_id, self.dp_hash,
                              dict(self.tunnel), self.ct_state, self.ct_zone, self.ct_mark, self.ct_label)


class ExecContext:
    """The datapath around the executor.  Subclass and override what you need; the defaults record what
    happened in lists (``outputs``, ``upcalls``, ``recircs``, ``tnl_pops``), let every packet pass the meters,
    treat every connection as new, drop packets that need a tunnel pushed, and draw ``random`` from a
    ``random.Random(seed)``."""

    def __init__(self, md: PacketMetadata | None = None, seed: int | None = 0) -> None:
        self.md = md if md is not None else PacketMetadata()
        self.outputs: list[tuple[int, bytes]] = []
        self.upcalls: list[tuple[bytes, Userspace, PacketMetadata]] = []
        self.recircs: list[tuple[bytes, int, PacketMetadata]] = []
        self.tnl_pops: list[tuple[bytes, int, PacketMetadata]] = []
        self._seed = seed
        self._rng: _random.Random | None = None   # Made on first use: seeding from the system costs ~20 us.

    def output(self, port: int, frame: bytes) -> None:
        """Transmit ``frame`` (the executor's copy: the callee may keep it) on datapath port ``port``."""
        self.outputs.append((port, frame))

    def userspace(self, frame: bytes, action: Userspace, md: PacketMetadata) -> None:
        """Send ``frame`` to userspace (a packet-in, sFlow/IPFIX sample or slow-path upcall).  ``md`` is a
        snapshot the callee may keep."""
        self.upcalls.append((frame, action, md))

    def recirc(self, frame: bytes, recirc_id: int, md: PacketMetadata) -> None:
        """Feed ``frame`` back into the datapath with ``md`` (``md.recirc_id == recirc_id``, a copy)."""
        self.recircs.append((frame, recirc_id, md))

    def meter(self, meter_id: int, packet: bytearray, md: PacketMetadata) -> bool:
        """Run ``packet`` through datapath meter ``meter_id`` (for example with
        :meth:`pyvswitch.dpif.meter.DpMeters.run`); False drops the packet.  The callee may rewrite ``packet``
        in place (a ``dscp_remark`` band) but must not keep it.  The default lets every packet pass."""
        return True

    def ct(self, packet: bytearray, action: Ct, md: PacketMetadata) -> None:
        """Send the packet through conntrack: set ``md.ct_*``; NAT may rewrite ``packet`` in place.  The
        default treats every connection as new: ``+trk+new``, the action's zone, and the action's mark and
        label when it commits."""
        md.ct_state = CS_NEW | CS_TRACKED
        md.ct_zone = action.zone or 0
        if action.commit or action.force_commit:
            if action.mark is not None:
                md.ct_mark = (md.ct_mark & ~action.mark[1]) | (action.mark[0] & action.mark[1])
            if action.label is not None:
                md.ct_label = (md.ct_label & ~action.label[1]) | (action.label[0] & action.label[1])

    def tnl_push(self, frame: bytes, action: TnlPush, md: PacketMetadata) -> bytes | list[bytes] | None:
        """Encapsulate ``frame`` as ``action`` describes; the result replaces the packet for the following
        actions, None drops it (the default: no tunnel support here).  A list (fragments of the encapsulated
        packet) runs the following actions once for each, in order, each with its own copy of the metadata."""
        return None

    def tnl_pop(self, frame: bytes, port: int, md: PacketMetadata) -> None:
        """Decapsulate ``frame`` (received for tunnel port ``port``) and recirculate the inner packet."""
        self.tnl_pops.append((frame, port, md))

    def random(self) -> int:
        """A uniform random 32-bit unsigned number."""
        if self._rng is None:
            self._rng = _random.Random(self._seed)
        return self._rng.getrandbits(32)


class _Run:
    """The state of one packet during execution."""

    __slots__ = ("ctx", "cut", "md", "pkt")

    def __init__(self, pkt: bytearray, md: PacketMetadata, ctx: ExecContext, cut: int = 0) -> None:
        self.pkt = pkt
        self.md = md
        self.ctx = ctx
        self.cut = cut


Op = Callable[[_Run], bool]
"""A compiled action: applies itself to the run's packet; False stops execution (the packet was dropped)."""

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")


# ------------------------------------------------------------------------------------------------------------
# Locating headers.  Each returns None for a packet without a usable header of that kind.
_l3 = l3_offset     # (Ethernet type behind the VLAN tags, its offset); (-1, 0) under 14 bytes


def _ipv4(p: bytearray) -> tuple[int, int, int, bool] | None:
    """(L3 offset, L4 offset, L4 size within the total length, is a non-first fragment) of a valid IPv4
    header: 20 <= IHL*4 <= total length <= the bytes present, as flow extraction requires."""
    t, o = _l3(p)
    if t != 0x0800:
        return None
    ihl = (p[o] & 0xF) << 2 if len(p) - o >= 20 else 0
    if ihl < 20:
        return None
    tot = (p[o + 2] << 8) | p[o + 3]
    if tot < ihl or tot > len(p) - o:
        return None
    return o, o + ihl, tot - ihl, bool(((p[o + 6] << 8) | p[o + 7]) & 0x1FFF)


_IPV6_EXT = frozenset((0, 43, 44, 51, 60))


def _ipv6(p: bytearray) -> tuple[int, int, int, int, bool, bool] | None:
    """(L3 offset, L4 protocol, L4 offset, L4 size, is a non-first fragment, has a routing header with
    segments left) of a valid IPv6 packet, walking the extension headers; None when the header or an extension
    header does not fit in the payload length."""
    t, o = _l3(p)
    if t != 0x86DD or len(p) - o < 40:
        return None
    end = o + 40 + ((p[o + 4] << 8) | p[o + 5])
    if end > len(p):
        return None
    proto = p[o + 6]
    l4 = o + 40
    later = routed = False
    while proto in _IPV6_EXT:
        if end - l4 < 8:
            return None
        if proto == 44:
            nxt = p[l4]
            if ((p[l4 + 2] << 8) | p[l4 + 3]) & 0xFFF8:
                later = True
            l4 += 8
        else:
            hlen = (p[l4 + 1] + 2) << 2 if proto == 51 else (p[l4 + 1] + 1) << 3
            if end - l4 < hlen:
                return None
            if proto == 43 and p[l4 + 3]:
                routed = True
            nxt = p[l4]
            l4 += hlen
        proto = nxt
        if later:
            break
    return o, proto, l4, end - l4, later, routed


def _l4(p: bytearray) -> tuple[int, int, int] | None:
    """(IP protocol, L4 offset, L4 size) of an IPv4 or IPv6 packet whose L4 header is present (not a later
    fragment)."""
    v4 = _ipv4(p)
    if v4 is not None:
        o, l4, size, later = v4
        return None if later else (p[o + 9], l4, size)
    v6 = _ipv6(p)
    if v6 is None or v6[4]:
        return None
    return v6[1], v6[2], v6[3]


def _get16(p: bytearray, o: int) -> int:
    return (p[o] << 8) | p[o + 1]


def _put16(p: bytearray, o: int, v: int) -> None:
    p[o] = v >> 8
    p[o + 1] = v & 0xFF


def _l4_csum_fix(p: bytearray, proto: int, l4: int, size: int, old: bytes, new: bytes, is_v4: bool) -> None:
    """Update the pseudo-header checksum of the L4 header at ``l4`` for an address rewritten from ``old`` to
    ``new``."""
    if proto == 6:
        if size >= 20:
            _put16(p, l4 + 16, csum_update_bytes(_get16(p, l4 + 16), old, new))
    elif proto == 17:
        if size >= 8:
            c = _get16(p, l4 + 6)
            if c:
                _put16(p, l4 + 6, csum_update_bytes(c, old, new) or 0xFFFF)
    elif proto == 58 and not is_v4 and size >= 4:
        _put16(p, l4 + 2, csum_update_bytes(_get16(p, l4 + 2), old, new))


# ------------------------------------------------------------------------------------------------------------
# Set actions.
def _fields(a: SetField) -> dict[str, tuple[int, int]]:
    """The action's fields as name -> (value, mask), masks defaulting to the field's full width.  The value is
    not masked: Open vSwitch's userspace datapath ORs it in whole (see the module doc)."""
    specs = {s.name: s for s in odp.ATTRS.get(a.kind, [])}
    masks = a.mask_dict() or {}
    out = {}
    for name, v in a.values:
        spec = specs.get(name)
        full = spec.full if spec is not None else (1 << 128) - 1
        out[name] = (v & full, masks.get(name, full) & full)
    return out


def _masked(old: int, vm: tuple[int, int]) -> int:
    return (old & ~vm[1]) | vm[0]


def _set_eth(f: dict[str, tuple[int, int]]) -> Op:
    # dst then src: the first 12 bytes as one 96-bit number.
    mask = (f.get("dst", (0, 0))[1] << 48) | f.get("src", (0, 0))[1]
    value = (f.get("dst", (0, 0))[0] << 48) | f.get("src", (0, 0))[0]
    keep = ~mask

    def op(run: _Run) -> bool:
        p = run.pkt
        if len(p) >= 14:
            p[0:12] = ((int.from_bytes(p[0:12]) & keep) | value).to_bytes(12)
        return True
    return op


def _upd(csum: int, old: int, new: int, nbytes: int) -> int:
    """RFC 1624 update of ``csum`` for a 16-bit aligned field of ``nbytes`` bytes changed from ``old`` to
    ``new`` (as big-endian ints: an int is congruent modulo 0xffff to the sum of its 16-bit words).  The one
    degenerate case of equation 3 needs ``csum == 0xffff`` and goes to the careful version."""
    if csum == 0xFFFF:
        return csum_update_bytes(csum, old.to_bytes(nbytes), new.to_bytes(nbytes))
    r = ((~csum & 0xFFFF) - old + new) % 0xFFFF
    return ~(r or 0xFFFF) & 0xFFFF


def _set_ipv4(f: dict[str, tuple[int, int]]) -> Op:
    src, dst = f.get("src"), f.get("dst")
    addr_mask = ((src or (0, 0))[1] << 32) | (dst or (0, 0))[1]
    addr_value = ((src or (0, 0))[0] << 32) | (dst or (0, 0))[0]
    addr_keep = ~addr_mask
    tos, ttl = f.get("tos"), f.get("ttl")

    def op(run: _Run) -> bool:
        # The hot path of address rewriting: the IPv4 header is located and checked inline.
        p = run.pkt
        n = len(p)
        if n < 14:
            return True
        o = 14
        if p[12] != 8 or p[13] != 0:
            t, o = _l3(p)
            if t != 0x0800:
                return True
        if n - o < 20:
            return True
        ihl = (p[o] & 0xF) << 2
        tot = (p[o + 2] << 8) | p[o + 3]
        if ihl < 20 or tot < ihl or tot > n - o:
            return True
        csum = (p[o + 10] << 8) | p[o + 11]
        if addr_mask:
            old = int.from_bytes(p[o + 12:o + 20])
            new = (old & addr_keep) | addr_value
            if new != old:
                if not ((p[o + 6] << 8) | p[o + 7]) & 0x1FFF:
                    # Not a later fragment: the TCP/UDP pseudo-header checksum follows the addresses.
                    proto = p[o + 9]
                    l4 = o + ihl
                    size = tot - ihl
                    if proto == 17:
                        if size >= 8:
                            c = (p[l4 + 6] << 8) | p[l4 + 7]
                            if c:
                                c = _upd(c, old, new, 8) or 0xFFFF
                                p[l4 + 6] = c >> 8
                                p[l4 + 7] = c & 0xFF
                    elif proto == 6 and size >= 20:
                        c = _upd((p[l4 + 16] << 8) | p[l4 + 17], old, new, 8)
                        p[l4 + 16] = c >> 8
                        p[l4 + 17] = c & 0xFF
                csum = _upd(csum, old, new, 8)
                p[o + 12:o + 20] = new.to_bytes(8)
        if tos is not None:
            w = (p[o] << 8) | p[o + 1]
            nw = (w & 0xFF00) | _masked(w & 0xFF, tos)
            if nw != w:
                csum = csum_update16(csum, w, nw)
                p[o + 1] = nw & 0xFF
        if ttl is not None:
            w = (p[o + 8] << 8) | p[o + 9]
            nw = (_masked(w >> 8, ttl) << 8) | (w & 0xFF)
            if nw != w:
                csum = csum_update16(csum, w, nw)
                p[o + 8] = nw >> 8
        p[o + 10] = csum >> 8
        p[o + 11] = csum & 0xFF
        return True
    return op


def _set_ipv6(f: dict[str, tuple[int, int]]) -> Op:
    src, dst = f.get("src"), f.get("dst")
    label, tclass, hlimit = f.get("label"), f.get("tclass"), f.get("hlimit")
    # The first word: version(4) tclass(8) label(20).
    w_mask = ((tclass or (0, 0))[1] << 20) | (label or (0, 0))[1]
    w_value = ((tclass or (0, 0))[0] << 20) | (label or (0, 0))[0]

    def op(run: _Run) -> bool:
        p = run.pkt
        h = _ipv6(p)
        if h is None:
            return True
        o, proto, l4, size, later, routed = h
        if w_mask:
            p[o:o + 4] = _U32.pack((_U32.unpack_from(p, o)[0] & ~w_mask) | w_value)
        if hlimit is not None:
            p[o + 7] = _masked(p[o + 7], hlimit)
        for vm, ofs, fix in ((src, 8, True), (dst, 24, not routed)):
            if vm is None:
                continue
            old = bytes(p[o + ofs:o + ofs + 16])
            new = _masked(int.from_bytes(old), vm).to_bytes(16)
            if new != old:
                if fix and not later:
                    _l4_csum_fix(p, proto, l4, size, old, new, False)
                p[o + ofs:o + ofs + 16] = new
        return True
    return op


def _set_ports(kind: str, f: dict[str, tuple[int, int]]) -> Op:
    proto, need, csum_ofs = {"tcp": (6, 20, 16), "udp": (17, 8, 6), "sctp": (132, 12, -1)}[kind]
    s, d = f.get("src", (0, 0)), f.get("dst", (0, 0))
    mask = (s[1] << 16) | d[1]
    value = (s[0] << 16) | d[0]
    keep = ~mask & 0xFFFFFFFF

    def op(run: _Run) -> bool:
        p = run.pkt
        h = _l4(p)
        if h is None or h[0] != proto or h[2] < need:
            return True
        l4, size = h[1], h[2]
        old = _U32.unpack_from(p, l4)[0]
        new = (old & keep) | value
        if new == old:
            return True
        if csum_ofs < 0:
            # SCTP: recompute the CRC32c and carry over whatever error the old one had.
            seg = p[l4:l4 + size]
            recv = int.from_bytes(seg[8:12], "little")
            seg[8:12] = bytes(4)
            before = crc32c(seg)
            seg[0:4] = _U32.pack(new)
            after = crc32c(seg)
            p[l4:l4 + 4] = seg[0:4]
            p[l4 + 8:l4 + 12] = (recv ^ before ^ after).to_bytes(4, "little")
            return True
        c = _get16(p, l4 + csum_ofs)
        if proto == 6 or c:
            c = _upd(c, old, new, 4)
            if proto == 17 and not c:
                c = 0xFFFF
            _put16(p, l4 + csum_ofs, c)
        p[l4:l4 + 4] = _U32.pack(new)
        return True
    return op


def _set_icmp(kind: str, f: dict[str, tuple[int, int]]) -> Op:
    proto = 1 if kind == "icmp" else 58
    t, c = f.get("type", (0, 0)), f.get("code", (0, 0))
    mask = (t[1] << 8) | c[1]
    value = (t[0] << 8) | c[0]

    def op(run: _Run) -> bool:
        p = run.pkt
        h = _l4(p)
        if h is None or h[0] != proto or h[2] < 4:
            return True
        l4 = h[1]
        if proto == 1 and _l3(p)[0] != 0x0800:
            return True
        old = _get16(p, l4)
        new = (old & ~mask) | value
        if new != old:
            _put16(p, l4 + 2, csum_update16(_get16(p, l4 + 2), old, new))
            _put16(p, l4, new)
        return True
    return op


def _set_arp(f: dict[str, tuple[int, int]]) -> Op:
    # (offset in the ARP header, width in bytes, (value, mask)); op is written as its 16-bit field.
    items = []
    for name, ofs, width in (("op", 6, 2), ("sha", 8, 6), ("sip", 14, 4), ("tha", 18, 6), ("tip", 24, 4)):
        if name in f:
            v, m = f[name]
            if name == "op" and m == 0xFF:
                m = 0xFFFF
            items.append((ofs, width, v, m))

    def op(run: _Run) -> bool:
        p = run.pkt
        t, o = _l3(p)
        if (t != 0x0806 and t != 0x8035) or len(p) - o < 28:
            return True
        for ofs, width, v, m in items:
            a = o + ofs
            p[a:a + width] = ((int.from_bytes(p[a:a + width]) & ~m) | v).to_bytes(width)
        return True
    return op


def _set_nd(f: dict[str, tuple[int, int]]) -> Op:
    target, sll, tll = f.get("target"), f.get("sll"), f.get("tll")

    def op(run: _Run) -> bool:
        p = run.pkt
        h = _ipv6(p)
        if h is None or h[1] != 58 or h[4] or h[3] < 24 or p[h[2]] not in (135, 136):
            return True
        l4, end = h[2], h[2] + h[3]
        csum = _get16(p, l4 + 2)
        if target is not None:
            old = bytes(p[l4 + 8:l4 + 24])
            new = _masked(int.from_bytes(old), target).to_bytes(16)
            csum = csum_update_bytes(csum, old, new)
            p[l4 + 8:l4 + 24] = new
        q = l4 + 24
        # The first link-layer address option of length 1 is rewritten (a message carries one of them).
        while end - q >= 8 and p[q + 1]:
            opt_type, opt_len = p[q], p[q + 1] << 3
            if opt_len == 8 and opt_type in (1, 2):
                vm = sll if opt_type == 1 else tll
                if vm is not None:
                    old = bytes(p[q + 2:q + 8])
                    new = _masked(int.from_bytes(old), vm).to_bytes(6)
                    # A 6-byte field at an even offset: pad both to 8 bytes with the option's type and length.
                    csum = csum_update_bytes(csum, bytes(p[q:q + 2]) + old, bytes(p[q:q + 2]) + new)
                    p[q + 2:q + 8] = new
                break
            if opt_len > end - q:
                break
            q += opt_len
        _put16(p, l4 + 2, csum)
        return True
    return op


def _set_mpls(f: dict[str, tuple[int, int]]) -> Op:
    mask = value = 0
    for name, shift in (("label", 12), ("tc", 9), ("bos", 8), ("ttl", 0)):
        if name in f:
            value |= f[name][0] << shift
            mask |= f[name][1] << shift
    keep = ~mask & 0xFFFFFFFF

    def op(run: _Run) -> bool:
        p = run.pkt
        t, o = _l3(p)
        if (t == 0x8847 or t == 0x8848) and len(p) - o >= 4:
            p[o:o + 4] = _U32.pack((_U32.unpack_from(p, o)[0] & keep) | value)
        return True
    return op


_MD_SCALARS = {"skb_priority": "skb_priority", "skb_mark": "skb_mark", "recirc_id": "recirc_id",
               "dp_hash": "dp_hash", "ct_state": "ct_state", "ct_zone": "ct_zone", "ct_mark": "ct_mark",
               "ct_label": "ct_label", "in_port": "in_port"}


def _set_metadata(a: SetField, f: dict[str, tuple[int, int]]) -> Op:
    if a.kind == "tunnel":
        exact = a.masks is None

        def op_tunnel(run: _Run) -> bool:
            tun = {} if exact else run.md.tunnel
            for name, vm in f.items():
                tun[name] = _masked(tun.get(name, 0), vm)
            run.md.tunnel = tun
            return True
        return op_tunnel
    attr = _MD_SCALARS.get(a.kind)
    vm = f.get("value")
    if attr is None or vm is None:
        return _nop

    def op(run: _Run) -> bool:
        setattr(run.md, attr, _masked(getattr(run.md, attr), vm))
        return True
    return op


def _nop(run: _Run) -> bool:
    return True


def _compile_set(a: SetField) -> Op:
    f = _fields(a)
    k = a.kind
    if k == "eth":
        return _set_eth(f)
    if k == "ipv4":
        return _set_ipv4(f)
    if k == "ipv6":
        return _set_ipv6(f)
    if k in ("tcp", "udp", "sctp"):
        return _set_ports(k, f)
    if k in ("icmp", "icmpv6"):
        return _set_icmp(k, f)
    if k == "arp":
        return _set_arp(f)
    if k == "nd":
        return _set_nd(f)
    if k == "mpls":
        return _set_mpls(f)
    return _set_metadata(a, f)


# ------------------------------------------------------------------------------------------------------------
# Other actions.
def _frame(run: _Run) -> bytes:
    """The frame to hand out, truncated by a pending ``trunc``, which it consumes."""
    p = run.pkt
    if run.cut:
        n = len(p) - run.cut
        run.cut = 0
        return bytes(p[:max(n, 0)])
    return bytes(p)


def _output(port: int) -> Op:
    def op(run: _Run) -> bool:
        run.ctx.output(port, _frame(run))
        return True
    return op


def _push_vlan(a: PushVlan) -> Op:
    tag = _U16.pack(a.tpid) + _U16.pack(((a.pcp & 7) << 13) | (a.vid & 0xFFF))

    def op(run: _Run) -> bool:
        p = run.pkt
        if len(p) >= 14:
            p[12:12] = tag
        return True
    return op


def _pop_vlan(run: _Run) -> bool:
    p = run.pkt
    if len(p) >= 18:
        t = (p[12] << 8) | p[13]
        if t == 0x8100 or t == 0x88A8:
            del p[12:16]
    return True


def _push_mpls(a: PushMpls) -> Op:
    if a.ethertype not in (0x8847, 0x8848):
        return _nop
    lse = _U32.pack(((a.label & 0xFFFFF) << 12) | ((a.tc & 7) << 9) | ((a.bos & 1) << 8) | (a.ttl & 0xFF))
    etype = _U16.pack(a.ethertype)

    def op(run: _Run) -> bool:
        p = run.pkt
        t, o = _l3(p)
        if t < 0:
            return True
        p[o - 2:o] = etype
        p[o:o] = lse
        return True
    return op


def _pop_mpls(a: PopMpls) -> Op:
    etype = _U16.pack(a.ethertype & 0xFFFF)

    def op(run: _Run) -> bool:
        p = run.pkt
        t, o = _l3(p)
        if (t == 0x8847 or t == 0x8848) and len(p) - o >= 4:
            p[o - 2:o] = etype
            del p[o:o + 4]
        return True
    return op


def _trunc(a: Trunc) -> Op:
    max_len = max(a.max_len, ETH_HEADER_LEN)

    def op(run: _Run) -> bool:
        n = len(run.pkt)
        run.cut = n - max_len if n > max_len else 0
        return True
    return op


def _nested(prog: tuple[Op, ...], run: _Run) -> None:
    sub = _Run(bytearray(run.pkt), run.md.copy(), run.ctx, run.cut)
    for op in prog:
        if not op(sub):
            break


def _clone(a: Clone) -> Op:
    prog = compile_actions(a.actions)

    def op(run: _Run) -> bool:
        _nested(prog, run)
        return True
    return op


def _sample(a: Sample) -> Op:
    prog = compile_actions(a.actions)
    prob = a.probability

    def op(run: _Run) -> bool:
        if run.ctx.random() < prob:
            _nested(prog, run)
        return True
    return op


def _check_pkt_len(a: CheckPktLen, last: bool) -> Op:
    gt, le, size = compile_actions(a.gt), compile_actions(a.le), a.size

    def op(run: _Run) -> bool:
        prog = gt if len(run.pkt) > size else le
        if not last:
            _nested(prog, run)
            return True
        for sub in prog:
            if not sub(run):
                return False
        return True
    return op


def _userspace(a: Userspace) -> Op:
    def op(run: _Run) -> bool:
        run.ctx.userspace(_frame(run), a, run.md.copy())
        return True
    return op


def _recirc(a: Recirc) -> Op:
    rid = a.id

    def op(run: _Run) -> bool:
        md = run.md.copy()
        md.recirc_id = rid
        run.ctx.recirc(bytes(run.pkt), rid, md)
        return True
    return op


def _ct(a: Ct) -> Op:
    def op(run: _Run) -> bool:
        run.ctx.ct(run.pkt, a, run.md)
        return True
    return op


def _ct_clear(run: _Run) -> bool:
    md = run.md
    md.ct_state = md.ct_zone = md.ct_mark = md.ct_label = 0
    return True


def _meter(a: Meter) -> Op:
    mid = a.id

    def op(run: _Run) -> bool:
        return bool(run.ctx.meter(mid, run.pkt, run.md))
    return op


def l4_hash(packet: bytes | bytearray, basis: int = 0, symmetric: bool = False) -> int:
    """The ``dp_hash`` that ``hash(l4(basis))`` (``symmetric``: ``hash(sym_l4(basis))``) gives ``packet``: see
    the module doc."""
    if symmetric:
        # Open vSwitch's flow_hash_symmetric_l3l4, so that select groups pick the buckets Open vSwitch picks.
        return flow_hash_symmetric_l3l4(extract(bytes(packet), 0), basis & 0xFFFFFFFF, False)
    p = packet if isinstance(packet, bytearray) else bytearray(packet)
    v4 = _ipv4(p)
    if v4 is not None:
        o, l4, size, later = v4
        src, dst, proto = bytes(p[o + 12:o + 16]), bytes(p[o + 16:o + 20]), p[o + 9]
    else:
        v6 = _ipv6(p)
        if v6 is None:
            return zlib.crc32(b"", basis & 0xFFFFFFFF)
        o, proto, l4, size, later, _ = v6
        src, dst = bytes(p[o + 8:o + 24]), bytes(p[o + 24:o + 40])
    sport = dport = b"\0\0"
    if not later:
        if proto in (6, 17, 132) and size >= 4:
            sport, dport = bytes(p[l4:l4 + 2]), bytes(p[l4 + 2:l4 + 4])
        elif proto in (1, 58) and size >= 2:
            sport, dport = bytes((0, p[l4])), bytes((0, p[l4 + 1]))
    a, b = src + sport, dst + dport
    if symmetric and b < a:
        a, b = b, a
    data = a[:-2] + b[:-2] + bytes((proto,)) + a[-2:] + b[-2:]
    return zlib.crc32(data, basis & 0xFFFFFFFF)


def _hash(a: Hash) -> Op:
    basis, sym = a.basis, a.alg == 1

    def op(run: _Run) -> bool:
        run.md.dp_hash = l4_hash(run.pkt, basis, sym)
        return True
    return op


def _tnl_push(a: TnlPush, tail: list[Op]) -> Op:
    """``tnl_push``; ``tail`` (filled in once the whole list is compiled) holds the actions after it, which each
    fragment but the last runs here when the context answers with fragments."""
    def op(run: _Run) -> bool:
        new = run.ctx.tnl_push(_frame(run), a, run.md)
        if new is None:
            return False
        if isinstance(new, list):
            if not new:
                return False
            for piece in new[:-1]:
                sub = _Run(bytearray(piece), run.md.copy(), run.ctx)
                for tail_op in tail:
                    if not tail_op(sub):
                        break
            new = new[-1]
        run.pkt[:] = new
        return True
    return op


def _tnl_pop(a: TnlPop) -> Op:
    port = a.port

    def op(run: _Run) -> bool:
        run.ctx.tnl_pop(bytes(run.pkt), port, run.md.copy())
        return True
    return op


def _drop(run: _Run) -> bool:
    return False


def _compile_one(a: Action, last: bool) -> Op:
    if isinstance(a, Output):
        return _output(a.port)
    if isinstance(a, SetField):
        return _compile_set(a)
    if isinstance(a, PushVlan):
        return _push_vlan(a)
    if isinstance(a, PopVlan):
        return _pop_vlan
    if isinstance(a, PushMpls):
        return _push_mpls(a)
    if isinstance(a, PopMpls):
        return _pop_mpls(a)
    if isinstance(a, Trunc):
        return _trunc(a)
    if isinstance(a, Clone):
        return _clone(a)
    if isinstance(a, Sample):
        return _sample(a)
    if isinstance(a, CheckPktLen):
        return _check_pkt_len(a, last)
    if isinstance(a, Userspace):
        return _userspace(a)
    if isinstance(a, Recirc):
        return _recirc(a)
    if isinstance(a, Ct):
        return _ct(a)
    if isinstance(a, CtClear):
        return _ct_clear
    if isinstance(a, Meter):
        return _meter(a)
    if isinstance(a, Hash):
        return _hash(a)
    if isinstance(a, TnlPush):
        return _tnl_push(a, [])
    if isinstance(a, TnlPop):
        return _tnl_pop(a)
    if isinstance(a, Drop):
        return _drop
    raise TypeError(f"not a datapath action: {a!r}")


_CACHE: dict[tuple[Action, ...], tuple[Op, ...]] = {}
_CACHE_MAX = 4096


def compile_actions(actions: Iterable[Action]) -> tuple[Op, ...]:
    """The compiled form of an action list (cached by value).  Raises TypeError for a non-action."""
    key = tuple(actions)
    prog = _CACHE.get(key)
    if prog is None:
        ops: list[Op] = []
        tails: list[tuple[int, list[Op]]] = []
        for i, a in enumerate(key):
            if isinstance(a, TnlPush):
                # The fragments of an encapsulated packet each run the actions that follow the push.
                tail: list[Op] = []
                tails.append((i, tail))
                ops.append(_tnl_push(a, tail))
            else:
                ops.append(_compile_one(a, i == len(key) - 1))
        for i, tail in tails:
            tail.extend(ops[i + 1:])
        prog = tuple(ops)
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[key] = prog
    return prog


_PURE_TYPES = (Output, PushVlan, PopVlan, PushMpls, PopMpls, Trunc, Drop)
_HEADER_SETS = frozenset(("eth", "ipv4", "ipv6", "tcp", "udp", "sctp", "icmp", "icmpv6", "arp", "nd", "mpls"))
_PURE: dict[tuple[Action, ...], bool] = {}


def _is_pure(actions: Sequence[Action]) -> bool:
    """True if the actions neither change nor hand out the packet's metadata (so a batch may share one)."""
    key = tuple(actions)
    pure = _PURE.get(key)
    if pure is None:
        pure = all(isinstance(a, _PURE_TYPES) or (isinstance(a, SetField) and a.kind in _HEADER_SETS)
                   for a in key)
        if len(_PURE) >= _CACHE_MAX:
            _PURE.clear()
        _PURE[key] = pure
    return pure


def execute(packet: bytes | bytearray, actions: Sequence[Action], ctx: ExecContext,
            md: PacketMetadata | None = None) -> None:
    """Apply ``actions`` to ``packet`` (see the module doc); ``md`` defaults to ``ctx.md``, which is then
    changed by metadata actions."""
    pkt = packet if isinstance(packet, bytearray) else bytearray(packet)
    run = _Run(pkt, ctx.md if md is None else md, ctx)
    for op in compile_actions(actions):
        if not op(run):
            return


def execute_batch(packets: Sequence[bytes | bytearray], actions: Sequence[Action], ctx: ExecContext,
                  mds: Sequence[PacketMetadata] | None = None) -> None:
    """Apply ``actions`` to each packet of ``packets`` in turn (a megaflow hit of a batch).  ``mds`` gives
    each packet its metadata; by default each gets a copy of ``ctx.md``."""
    prog = compile_actions(actions)
    if len(prog) == 1 and len(actions) == 1 and isinstance(actions[0], Output):
        # The commonest megaflow: forward unchanged.
        out, port = ctx.output, actions[0].port
        for p in packets:
            out(port, bytes(p))
        return
    base = ctx.md
    if mds is None and _is_pure(actions):
        # No action reads or writes the metadata: one copy serves the whole batch.
        shared = base.copy()
        for p in packets:
            run = _Run(p if isinstance(p, bytearray) else bytearray(p), shared, ctx)
            for op in prog:
                if not op(run):
                    break
        return
    for i, p in enumerate(packets):
        run = _Run(p if isinstance(p, bytearray) else bytearray(p), base.copy() if mds is None else mds[i], ctx)
        for op in prog:
            if not op(run):
                break
