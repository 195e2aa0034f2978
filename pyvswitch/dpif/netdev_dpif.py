"""The userspace datapath (Open vSwitch's ``dpif-netdev``): megaflows in Python, ports that are netdevs.

:class:`NetdevDpif` implements :class:`pyvswitch.dpif.dpif.Dpif`.  A ``dummy`` datapath (``dpif_type
"dummy"``, named ``ovs-dummy``) is this provider with dummy ports, exactly as in Open vSwitch, where the dummy
datapath is the userspace one with in-memory ports.

The path of a batch (:meth:`NetdevDpif.receive`)
-----------------------------------------------
1. Each frame's flow key is extracted (:func:`pyvswitch.flow.extract.extract`) with the input port and the
   packet's metadata (``recirc_id``, ``dp_hash``, ``skb_priority``, ``pkt_mark``, the conntrack state).
2. :meth:`FlowCaches.lookup_batch` finds each key's megaflow (EMC, then megaflow cache).
3. The hits are grouped by megaflow, in the order of each megaflow's first packet, and each group is executed
   with one :func:`execute_batch` call; its statistics (packets, bytes, ``used = now``, TCP flags) are
   recorded once per group.
4. The misses go to the upcall handler in one call (see :mod:`pyvswitch.dpif.dpif` for the answers).  Each
   answer is installed (flow limit honoured: a refused install counts as lost, but the packet is still
   executed) and executed on its packet.  Upcalled packets are not counted in flow statistics.
5. Outputs go to the output port's ``send`` callable (a frame for an unknown port is dropped and counted in
   ``n_tx_dropped``); ``userspace(...)`` actions go to ``userspace_handler(frame, action, md)`` (packet-ins,
   samples); ``recirc(id)`` queues the packet with its metadata, and after the batch the queued packets are
   processed as a new batch (with ``recirc_id`` in their keys), up to ``MAX_RECIRC_DEPTH`` passes; deeper
   recirculations are dropped and counted in ``n_recirc_dropped``, as Open vSwitch drops them.

Batches from real devices (:meth:`NetdevDpif.receive_batch`)
-----------------------------------------------------------
A device's batch (:class:`pyvswitch.netdev.netdev.PacketBatch`: frames in place in a ring or buffer, with their
virtio-net headers) goes first through the batch classifier (:mod:`pyvswitch.dpif.fastpath`), which plays the
EMC's part for the whole batch at once (its answers count as EMC hits in ``pmd-stats-show``); the frames it
leaves get their keys extracted one by one and are looked up as above.  All frames of a megaflow are handled
together, in batch order; megaflows whose actions only output copy their frames to each device with
``send_batch``, offload headers and all.  Frames that must change, or go where offloads cannot follow, have
their offloads resolved first (:mod:`pyvswitch.netdev.offload`).  Every device is flushed after the batch.

Differences from Open vSwitch
-----------------------------
* One "thread": the counters of ``dpctl/show`` are those of the whole datapath, and dumps are headed by
  "flow-dump from the main thread:" as Open vSwitch's dummy datapath (which has no PMD threads) heads them.
* Two missed packets of one batch that lead to the same megaflow both go to the upcall handler (Open vSwitch
  re-looks up the second one after installing the first's flow); the second install finds the flow already
  there and simply executes it.
* Open vSwitch enforces the flow limit in ofproto's upcall layer (which then answers ``ENOSPC``); here the
  datapath's own :class:`FlowCaches` limit plays that part, with the same outcome (executed, not installed,
  lost).

Native tunnels
--------------
Tunnel ports (types ``vxlan``, ``geneve``, ``gre``) are the shared ports of Open vSwitch's userspace datapath:
``vxlan_sys_<udp port>``, ``genev_sys_<udp port>``, ``gre_sys``, with no device behind them
(:mod:`pyvswitch.netdev.native_tnl` does the header work).

* ``tnl_push`` prepends the action's header, fills in the per-packet fields (the UDP source port from a hash of
  the inner packet's addresses, protocol and ports: ``_tnl_hash``) and checks the result against the MTU of the ``out_port``'s netdev.  Too
  big with DF clear: the outer IPv4 packet is fragmented and each fragment runs the actions that follow.  With
  DF set (or an IPv6 underlay): an inner IPv4 packet without DF is fragmented and each piece encapsulated; an
  inner IPv4 packet with DF, or an IPv6 one, is dropped and answered with ICMP "fragmentation needed" / ICMPv6
  "packet too big" (:mod:`pyvswitch.packet.ipfrag`) carrying the MTU left for the inner IP packet (the out
  MTU less the encapsulation and the inner Ethernet header), sent out of the packet's input port, or handed to
  ``on_tnl_too_big(frame, md)`` when set.  Anything else too big is dropped and counted.
* ``tnl_pop(P)`` checks and strips the outer headers for tunnel port ``P`` and re-injects the inner frame as a
  recirculation with ``in_port=P`` and the outer headers' values as the tunnel key (``PacketMetadata.tunnel``,
  which ``_md_bits`` puts into the key, Geneve options raw in their hidden slots).  Refused packets are counted
  by reason.
* ``set_tnl_endpoints(addrs)``: IPv4 fragments of UDP or GRE addressed to one of these go to a
  :class:`~pyvswitch.packet.ipfrag.Reassembler` before any lookup (in ``receive_batch`` only among the frames
  the batch classifier leaves, which fragments always are) and a completed datagram is processed as if received
  whole.  ``tnl_stats()`` gives the tunnel counters and ``tnl_port_stats`` packets and bytes per tunnel port.
  Open vSwitch has no such counters in ``dpctl/show``, so they are not printed there.

Not done: real conntrack (the
:class:`ExecContext` default: every connection new), PMD threads and their
``dpif-netdev/pmd-stats-show`` per thread (the caches' ``pmd_stats_lines`` give the single thread's).
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from pyvswitch.dpif.dpif import Dpif, DpifError, DpifFlow, DpifPort, DpifStats
from pyvswitch.dpif.execute import ExecContext, PacketMetadata, execute, execute_batch, l4_hash
from pyvswitch.dpif.fastpath import SignatureCache
from pyvswitch.dpif.flow_cache import (
    DEFAULT_EMC_INSERT_INV_PROB,
    DEFAULT_FLOW_LIMIT,
    FlowCaches,
    Megaflow,
)
from pyvswitch.dpif.meter import DpMeters
from pyvswitch.dpif.odp import Action, Output, TnlPop, TnlPush, Userspace
from pyvswitch.flow import fields as F
from pyvswitch.flow.extract import extract
from pyvswitch.flow.tun_metadata import GENEVE_PRESENT
from pyvswitch.netdev import native_tnl
from pyvswitch.netdev.netdev import VNET_HDR_LEN, Netdev, PacketBatch
from pyvswitch.netdev.offload import resolve
from pyvswitch.packet.ethernet import l3_offset
from pyvswitch.packet.ipfrag import Reassembler, fragment_ipv4, icmp4_frag_needed, icmp6_packet_too_big

__all__ = ["ALWAYS_EXACT", "MAX_RECIRC_DEPTH", "TUNNEL_PORT_TYPES", "NetdevDpif", "UserspaceHandler",
           "datapath_mask", "dummy_dpif"]

TUNNEL_PORT_TYPES = frozenset(native_tnl.DEFAULT_DST_PORTS)
"""Port types that are tunnel vports: no device, named as :func:`pyvswitch.netdev.native_tnl.dp_port_name`
says, the UDP port taken from the name."""

MAX_RECIRC_DEPTH = 6
"""Recirculation passes a packet may make (Open vSwitch's userspace datapath allows 6)."""

SMALL_BATCH = 8
"""Batches of at most this many frames skip the batch classifier (see ``receive_batch``)."""

UserspaceHandler = Callable[[bytes, Userspace, PacketMetadata], None]
"""``handler(frame, action, md)``: a packet sent to userspace by a ``userspace(...)`` action."""

SendFn = Callable[[bytes], object]

# The key bits the userspace datapath always matches exactly.
ALWAYS_EXACT = F.storage_mask("in_port") | F.storage_mask("recirc_id") | F.storage_mask("packet_type")
_VLAN_TCI_MASK = F.storage_mask("vlan_tci")
_VLAN_VID_CFI = 0x1FFF << F.STORAGE["vlan_tci"][0]


def datapath_mask(mask: int) -> int:
    """The mask the userspace datapath installs for a megaflow translation asked for: its own exact bits, and the
    outer VLAN's presence and VID exact when translation did not look at the VLAN at all (Open vSwitch's
    dpif-netdev does the same: the datapath key format cannot say "any VLAN or none")."""
    mask |= ALWAYS_EXACT
    if not mask & _VLAN_TCI_MASK:
        mask |= _VLAN_VID_CFI
    return mask
_TCP_FLAGS_OFS, _TCP_FLAGS_BITS = F.STORAGE["tcp_flags"]
_TCP_FLAGS_MASK = (1 << 12) - 1
_DL_TYPE_OFS = F.STORAGE["dl_type"][0]
_NW_PROTO_OFS = F.STORAGE["nw_proto"][0]


@dataclass(slots=True)
class _Port:
    name: str
    port_no: int
    type: str
    send: SendFn | None
    netdev: Netdev | None = None


# The flow key slot of each name of PacketMetadata.tunnel: (bit offset, value mask).
_TUNNEL_SLOTS = {name: (F.STORAGE[slot][0], (1 << F.STORAGE[slot][1]) - 1) for name, slot in (
    ("tun_id", "tun_id"), ("src", "tun_src"), ("dst", "tun_dst"), ("ipv6_src", "tun_ipv6_src"),
    ("ipv6_dst", "tun_ipv6_dst"), ("tos", "_tun_tos"), ("ttl", "_tun_ttl"), ("tp_src", "_tun_tp_src"),
    ("tp_dst", "_tun_tp_dst"), ("flags", "tun_flags"), ("gbp_id", "tun_gbp_id"), ("gbp_flags", "tun_gbp_flags"),
    ("geneve_len", "_tun_geneve_len"), ("geneve", "_tun_geneve"))}


def _md_bits(md: PacketMetadata) -> int:
    """The key bits of a packet's metadata (what ``extract`` ORs into the key), the tunnel key included."""
    key = 0
    if md.tunnel:
        for name, v in md.tunnel.items():
            slot = _TUNNEL_SLOTS.get(name)
            if slot is not None and v:
                key |= (v & slot[1]) << slot[0]
    if md.recirc_id:
        key = F.storage_put(key, "recirc_id", md.recirc_id)
    if md.dp_hash:
        key = F.storage_put(key, "dp_hash", md.dp_hash)
    if md.skb_priority:
        key = F.storage_put(key, "skb_priority", md.skb_priority)
    if md.skb_mark:
        key = F.storage_put(key, "pkt_mark", md.skb_mark)
    if md.ct_state:
        key = F.storage_put(key, "ct_state", md.ct_state)
    if md.ct_zone:
        key = F.storage_put(key, "ct_zone", md.ct_zone)
    if md.ct_mark:
        key = F.storage_put(key, "ct_mark", md.ct_mark)
    if md.ct_label:
        key = F.storage_put(key, "ct_label", md.ct_label)
    return key


def _tnl_hash(frame: bytes) -> int:
    """The hash of a frame's flow that picks its outer UDP source port: the protocol, addresses and ports of an
    IPv4 packet without options (a CRC in C), else the datapath's L4 hash.  Only its stability per flow matters."""
    if frame[12:15] == b"\x08\x00\x45" and len(frame) >= 38:
        return zlib.crc32(frame[26:38], frame[23])
    return l4_hash(frame)


def _outer_df(action: TnlPush) -> bool:
    """Whether ``action`` pushes an outer IPv4 header with DF set (then its packets carry identification 0)."""
    return action.header[12:14] == b"\x08\x00" and bool(action.header[20] & 0x40)


def _asks_offload(batch: PacketBatch, idx: np.ndarray) -> bool:
    """Whether any of frames ``idx`` of a batch with virtio-net headers asks for a checksum or segmentation."""
    at = batch.offs[idx] - VNET_HDR_LEN
    return bool((batch.buf[at] | batch.buf[at + 1]).any())


def _tcp_flags(key: int) -> int:
    """The TCP flags of a packet key (0 unless the packet is IPv4/IPv6 TCP)."""
    if (key >> _NW_PROTO_OFS) & 0xFF != 6 or ((key >> _DL_TYPE_OFS) & 0xFFFF) not in (0x0800, 0x86DD):
        return 0
    return (key >> _TCP_FLAGS_OFS) & _TCP_FLAGS_MASK


def _snapshot(flow: Megaflow) -> DpifFlow:
    return DpifFlow(flow.ufid, flow.key, flow.mask, flow.actions, flow.packets, flow.bytes, flow.used,
                    flow.tcp_flags, flow.created, flow.orig_key)


class _Ctx(ExecContext):
    """Routes the side effects of execution to the datapath."""

    def __init__(self, dp: NetdevDpif, depth: int, now: float | None = None) -> None:
        super().__init__(seed=None)
        self.dp = dp
        self.depth = depth
        self.now = now     # One time for a whole batch: Open vSwitch meters a batch at one instant.

    def meter(self, meter_id: int, packet: bytearray, md: PacketMetadata) -> bool:
        return self.dp.meters.run(meter_id, packet, self.now)

    def output(self, port: int, frame: bytes) -> None:
        self.dp._output(port, frame)

    def userspace(self, frame: bytes, action: Userspace, md: PacketMetadata) -> None:
        self.dp.n_userspace += 1
        handler = self.dp.userspace_handler
        if handler is not None:
            handler(frame, action, md)

    def recirc(self, frame: bytes, recirc_id: int, md: PacketMetadata) -> None:
        self.dp._recirc_queue.append((frame, md, self.depth + 1))

    def tnl_push(self, frame: bytes, action: TnlPush, md: PacketMetadata) -> bytes | list[bytes] | None:
        return self.dp._tnl_push(frame, action, md)

    def tnl_pop(self, frame: bytes, port: int, md: PacketMetadata) -> None:
        self.dp._tnl_pop(frame, port, self.depth)


class NetdevDpif(Dpif):
    """The userspace datapath.  See the module docstring.

    ``clock`` gives the time in seconds (``time.monotonic`` by default; tests inject one).  ``flow_limit``,
    ``emc_insert_inv_prob`` and ``rng`` configure the :class:`FlowCaches`.  Port 0 is the datapath's own
    port, named after the datapath, of type ``local_type``.  ``report_masks`` makes ``dpctl/show`` print the
    ``masks:`` line (Open vSwitch's userspace datapath does not print it)."""

    def __init__(self, name: str = "ovs-netdev", dpif_type: str = "netdev", *,
                 local_type: str = "tap", flow_limit: int = DEFAULT_FLOW_LIMIT,
                 emc_insert_inv_prob: int = DEFAULT_EMC_INSERT_INV_PROB, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic, report_masks: bool = False) -> None:
        super().__init__(name, dpif_type)
        self.caches = FlowCaches(flow_limit, emc_insert_inv_prob, rng=rng)
        self.clock = clock
        self.meters = DpMeters(clock=clock)
        self.report_masks = report_masks
        self.userspace_handler: UserspaceHandler | None = None
        self._ports: dict[int, _Port] = {}
        self._recirc_queue: list[tuple[bytes, PacketMetadata, int]] = []
        self.n_tx_dropped = 0
        self.n_recirc_dropped = 0
        self.n_recirculated = 0
        self._zero: dict[str, int] = {}   # The counters at the last pmd-stats-clear.
        self.n_userspace = 0
        self.n_upcalls = 0
        self._ports[0] = _Port(name, 0, local_type, None)
        self._netdevs: dict[int, Netdev] = {}   # Ports with a netdev, flushed after every batch.
        self.sig_cache = SignatureCache()
        # Native tunnelling: the tunnel ports (type, UDP port), the endpoint addresses whose fragments are
        # reassembled, the counters (see tnl_stats) and the hook for "packet too big" answers.
        self._tnl_ports: dict[int, tuple[str, int]] = {}
        self._tnl_endpoints: frozenset[int] = frozenset()
        self.reassembler = Reassembler(clock=clock)
        self.tnl_counters: dict[str, int] = {}
        self.tnl_port_stats: dict[int, list[int]] = {}    # port -> [rx_packets, rx_bytes, tx_packets, tx_bytes]
        self.on_tnl_too_big: Callable[[bytes, PacketMetadata], None] | None = None
        self._ip_id = 0

    # -- Ports ---------------------------------------------------------------------------------------

    def port_add(self, name: str, type_: str = "dummy", port_no: int | None = None,
                 send: SendFn | None = None, *, netdev: Netdev | None = None) -> int:
        """Add a port; ``send(frame)`` transmits a frame out of it (None: frames to it are dropped).  With
        ``netdev``, batches are sent with its ``send_batch`` and flushed after every batch.

        A tunnel port (``type_`` ``vxlan``, ``geneve`` or ``gre``) has no device: its name must be the one
        :func:`~pyvswitch.netdev.native_tnl.dp_port_name` gives (``vxlan_sys_4789``, ``genev_sys_6081``,
        ``gre_sys``), which also gives the UDP port it decapsulates for; without ``port_no`` it takes the UDP
        port's number when that is free, as Open vSwitch's userspace datapath does."""
        if any(p.name == name for p in self._ports.values()):
            raise DpifError("EEXIST", f"{self.name}: port {name} already exists")
        tnl = None
        if type_ in TUNNEL_PORT_TYPES:
            tnl = native_tnl.tnl_type_of_dp_port_name(name)
            if tnl is None or tnl[0] != type_:
                raise DpifError("EINVAL", f"{self.name}: {name} is not a name for a {type_} tunnel port")
            if port_no is None and tnl[1] and tnl[1] not in self._ports:
                port_no = tnl[1]
        if port_no is None:
            port_no = 1
            while port_no in self._ports:
                port_no += 1
        elif port_no in self._ports:
            raise DpifError("EBUSY", f"{self.name}: port number {port_no} is in use")
        self._ports[port_no] = _Port(name, port_no, type_, send, netdev)
        if netdev is not None:
            self._netdevs[port_no] = netdev
        if tnl is not None:
            self._tnl_ports[port_no] = tnl
        return port_no

    def add_netdev(self, netdev: Netdev, port_no: int | None = None) -> int:
        """Add ``netdev`` as a port: frames it receives enter this datapath, outputs go to its ``send``."""
        no = self.port_add(netdev.name, netdev.netdev_class, port_no, netdev.send, netdev=netdev)
        netdev.rx_handler = lambda _dev, frame: self.receive(no, [frame])
        return no

    def port_del(self, port_no: int) -> None:
        if port_no == 0 or port_no not in self._ports:
            raise DpifError("ENOENT", f"{self.name}: no port {port_no} to delete")
        port = self._ports.pop(port_no)
        self._netdevs.pop(port_no, None)
        self._tnl_ports.pop(port_no, None)
        self.tnl_port_stats.pop(port_no, None)
        if port.netdev is not None and port.netdev.rx_handler is not None:
            port.netdev.rx_handler = None

    def port_list(self) -> list[DpifPort]:
        return [DpifPort(p.name, p.port_no, p.type) for _, p in sorted(self._ports.items())]

    def show(self) -> list[str]:
        """``dpctl/show``; tunnel ports print their configuration as Open vSwitch does
        (``vxlan: packet_type=ptap``, ``vxlan: dst_port=4790, packet_type=ptap`` off the default UDP port)."""
        lines = super().show()
        for no, (tnl_type, udp_port) in self._tnl_ports.items():
            port = self._ports[no]
            plain = f"  port {no}: {port.name} ({port.type})"
            default = native_tnl.DEFAULT_DST_PORTS.get(tnl_type, 0)
            extra = f"dst_port={udp_port}, " if udp_port != default else ""
            if plain in lines:
                lines[lines.index(plain)] = f"  port {no}: {port.name} ({port.type}: {extra}packet_type=ptap)"
        return lines

    def set_port_send(self, port_no: int, send: SendFn | None, *, netdev: Netdev | None = None) -> None:
        """Replace the transmit callable (and netdev) of a port (the local port's included)."""
        port = self._ports[port_no]
        port.send = send
        port.netdev = netdev
        if netdev is not None:
            self._netdevs[port_no] = netdev
        else:
            self._netdevs.pop(port_no, None)

    # -- Flows ---------------------------------------------------------------------------------------

    def flow_put(self, key: int, mask: int, actions: Sequence[Action], ufid: int | None = None, *,
                 create: bool = True, modify: bool = False, zero_stats: bool = False) -> DpifFlow:
        mask = datapath_mask(mask)
        mf = self.caches.megaflows
        existing = mf.find(key, mask)
        if existing is None and ufid is not None:
            existing = mf.get(ufid)
            if existing is not None and (existing.key, existing.mask) != (key & mask, mask):
                raise DpifError("EEXIST", f"{self.name}: ufid is used by a different flow")
        if existing is not None:
            if not modify:
                raise DpifError("EEXIST", f"{self.name}: flow already exists")
            existing.actions = tuple(actions)
            if zero_stats:
                existing.packets = existing.bytes = existing.tcp_flags = 0
                existing.used = 0.0
            return _snapshot(existing)
        if not create:
            raise DpifError("ENOENT", f"{self.name}: no such flow to modify")
        flow = mf.insert(key, mask, tuple(actions), ufid, self.clock())
        if flow is None:
            raise DpifError("EFBIG", f"{self.name}: flow limit reached")
        return _snapshot(flow)

    def flow_get(self, ufid: int) -> DpifFlow | None:
        flow = self.caches.megaflows.get(ufid)
        return None if flow is None else _snapshot(flow)

    def flow_del(self, ufid: int) -> DpifFlow | None:
        flow = self.caches.megaflows.get(ufid)
        if flow is None:
            return None
        self.caches.remove(flow)
        return _snapshot(flow)

    def flow_flush(self) -> int:
        return len(self.caches.flush())

    def flow_dump(self) -> Iterator[DpifFlow]:
        for flow in self.caches:
            yield _snapshot(flow)

    # -- Packets -------------------------------------------------------------------------------------

    def execute(self, packet: bytes, actions: Sequence[Action], md: PacketMetadata | None = None) -> None:
        ctx = _Ctx(self, 0)
        execute(packet, tuple(actions), ctx, md.copy() if md is not None else PacketMetadata())
        self._drain_recirc()
        self.flush()

    def receive(self, port_no: int, frames: Sequence[bytes], now: float | None = None) -> None:
        """Process a batch of frames received on port ``port_no`` (see the module docstring)."""
        if now is None:
            now = self.clock()
        md = PacketMetadata(in_port=port_no)
        if self._tnl_endpoints:
            frames = [fr for fr in (self._reassemble(f, now) for f in frames) if fr is not None]
        self._process(frames, [md] * len(frames), 0, now, shared_md=True)
        self._drain_recirc(now)
        if self._netdevs:
            self.flush()

    def receive_batch(self, port_no: int, batch: PacketBatch, now: float | None = None) -> None:
        """Process a batch a device received on port ``port_no`` (see :class:`PacketBatch`).

        Frames whose megaflow only outputs them, unchanged, are copied from the batch to each output device in one
        ``send_batch`` call per device, with their virtio-net headers: checksums still to be completed and TSO
        super-frames stay so.  Every other frame has its offloads resolved (checksum completed, super-frame cut
        into segments) and goes the way of :meth:`receive`.  Output is flushed at the end."""
        if now is None:
            now = self.clock()
        n = len(batch)
        if not n:
            return
        lens = batch.lens
        buf, offs = batch.buf, batch.offs
        md = PacketMetadata(in_port=port_no)
        ctx = _Ctx(self, 0, now)
        ctx.md = md
        vnet = batch.vnet
        peek = self.caches.peek
        frame = batch.frame
        view = memoryview(buf)
        vlan = batch.vlan

        def headers(i: int) -> bytes | memoryview:
            """Frame ``i`` to extract a key from: in place, unless a VLAN tag has to be put back."""
            if vlan is not None and vlan[i] >= 0:
                return frame(i)
            o = int(offs[i])
            return view[o:o + int(lens[i])]

        def lookup_key(i: int) -> Megaflow | None:
            return peek(extract(headers(i), port_no))

        if n > SMALL_BATCH:
            flows, fid, flags = self.sig_cache.classify(port_no, buf, offs, lens, vlan, lookup_key)
        else:
            # A few frames (light traffic, or TSO super-frames a few at a time): numpy's fixed cost per call
            # outweighs extracting their keys one by one.
            flows, fid, flags = [], np.full(n, -1, np.int64), np.zeros(n, np.int64)
        hit = fid >= 0
        self.caches.n_emc_hit += int(hit.sum())
        misses: list[int] = []
        miss_keys: list[int] = []
        rest = np.flatnonzero(~hit).tolist()
        whole: list[bytes] = []
        if rest and self._tnl_endpoints:
            # Fragments addressed to a tunnel endpoint never match the batch classifier's shape: they are
            # among the frames it left, and go to reassembly before any lookup.
            keep = []
            for i in rest:
                fr = headers(i)
                if self._endpoint_fragment(fr):
                    done = self._reassemble(fr, now)
                    if done is not None:
                        whole.append(done)
                else:
                    keep.append(i)
            rest = keep
        if rest:
            # The frames the classifier left: keys extracted one by one; those that hit a megaflow join it.
            flows = list(flows)
            number = {id(f): j for j, f in enumerate(flows)}
            keys = [extract(headers(i), port_no) for i in rest]
            for i, key, flow in zip(rest, keys, self.caches.lookup_batch(keys)):
                if flow is None:
                    misses.append(i)
                    miss_keys.append(key)
                    continue
                j = number.get(id(flow))
                if j is None:
                    j = number[id(flow)] = len(flows)
                    flows.append(flow)
                fid[i] = j
                flags[i] = _tcp_flags(key)
            hit = fid >= 0
        if hit.any():
            self._run_flows(batch, flows, fid, hit, flags, ctx, now)
        if misses:
            plain: list[int] = []
            resolved: list[bytes] = []
            for i in misses:
                hdr = batch.vnet_hdr(i) if vnet else None
                if hdr is not None and (hdr[0] or hdr[1]):
                    resolved.extend(resolve(frame(i), hdr))
                else:
                    plain.append(i)
            if plain:
                by_i = dict(zip(misses, miss_keys))
                self._upcall([frame(i) for i in plain], [by_i[i] for i in plain], [md] * len(plain), ctx, now)
            if resolved:
                # A super-frame or a frame with a checksum to complete that missed: its segments are looked up
                # (and counted) as packets of their own.
                self._process(resolved, [md] * len(resolved), 0, now, shared_md=True)
        if whole:
            self._process(whole, [md] * len(whole), 0, now, shared_md=True)
        self._drain_recirc(now)
        self.flush()

    def _run_flows(self, batch: PacketBatch, flows: list[Megaflow], fid: np.ndarray, hit: np.ndarray,
                   flags: np.ndarray, ctx: _Ctx, now: float) -> None:
        """Account and execute the frames of a batch that have a megaflow (``flows[fid[i]]``).  Statistics are
        summed per megaflow at once; frames of megaflows with the same actions are handled together, in batch
        order, so that a megaflow's frames leave in the order they came."""
        rows = np.flatnonzero(hit)
        f = fid[rows]
        by_actions: dict[tuple[Action, ...], list[int]] = {}
        record = self.caches.record
        if len(rows) <= SMALL_BATCH:
            # A few frames: summed in Python (numpy's fixed cost per call is larger here).
            sums: dict[int, list[int]] = {}
            for j, length, fl in zip(f.tolist(), batch.lens[rows].tolist(), flags[rows].tolist()):
                acc = sums.get(j)
                if acc is None:
                    sums[j] = [1, length, fl]
                else:
                    acc[0] += 1
                    acc[1] += length
                    acc[2] |= fl
            for j, (p, b, fl) in sums.items():
                flow = flows[j]
                record(flow, p, b, fl, now)
                by_actions.setdefault(flow.actions, []).append(j)
        else:
            n = len(flows)
            packets = np.bincount(f, minlength=n)
            nbytes = np.bincount(f, weights=batch.lens[rows], minlength=n)
            tcp = np.zeros(n, np.int64)
            np.bitwise_or.at(tcp, f, flags[rows])
            for j in np.flatnonzero(packets).tolist():
                flow = flows[j]
                record(flow, int(packets[j]), int(nbytes[j]), int(tcp[j]), now)
                by_actions.setdefault(flow.actions, []).append(j)
        single = len(by_actions) == 1
        frame = batch.frame
        vnet = batch.vnet
        for actions, js in by_actions.items():
            idx = rows if single else rows[f == js[0]] if len(js) == 1 else rows[np.isin(f, js)]
            if actions and all(type(a) is Output for a in actions):
                for a in actions:
                    port = self._ports.get(a.port)
                    if port is None or (port.netdev is None and port.send is None):
                        self.n_tx_dropped += len(idx)
                    elif port.netdev is not None:
                        port.netdev.send_batch(batch, idx)
                    else:
                        for i in idx.tolist():
                            for fr in resolve(frame(i), batch.vnet_hdr(i) if vnet else None):
                                port.send(fr)  # type: ignore[misc]
            else:
                if vnet and _asks_offload(batch, idx):
                    # Offloads resolved first: the actions may change headers the checksum covers.  A
                    # super-frame's segments all take its megaflow's actions.
                    frames = [fr for i in idx.tolist() for fr in resolve(frame(i), batch.vnet_hdr(i))]
                else:
                    frames = [frame(i) for i in idx.tolist()]
                first = actions[0] if actions else None
                if len(actions) == 1 and type(first) is TnlPop:
                    # Decapsulation alone (what a tunnel endpoint's megaflow does): no executor needed.
                    for fr in frames:
                        self._tnl_pop(fr, first.port, ctx.depth)  # type: ignore[union-attr]
                elif not (len(actions) == 2 and type(first) is TnlPush and type(actions[1]) is Output
                          and self._push_batch(frames, first, actions[1].port)):  # type: ignore[arg-type,union-attr]
                    execute_batch(frames, actions, ctx)

    def flush(self) -> None:
        """Hand the output queued on every device to it."""
        for dev in self._netdevs.values():
            dev.flush()

    def _drain_recirc(self, now: float | None = None) -> None:
        while self._recirc_queue:
            if now is None:
                now = self.clock()
            queue, self._recirc_queue = self._recirc_queue, []
            by_depth: dict[int, tuple[list[bytes], list[PacketMetadata]]] = {}
            for frame, md, depth in queue:
                if depth > MAX_RECIRC_DEPTH:
                    self.n_recirc_dropped += 1
                    continue
                self.n_recirculated += 1
                frames, mds = by_depth.setdefault(depth, ([], []))
                frames.append(frame)
                mds.append(md)
            for depth, (frames, mds) in by_depth.items():
                self._process(frames, mds, depth, now, shared_md=False)

    def _process(self, frames: Sequence[bytes], mds: list[PacketMetadata], depth: int, now: float,
                 shared_md: bool) -> None:
        keys = [extract(frame, md.in_port, _md_bits(md)) for frame, md in zip(frames, mds)]
        found = self.caches.lookup_batch(keys)
        ctx = _Ctx(self, depth, now)
        groups: dict[Megaflow, list[int]] = {}
        misses: list[int] = []
        for i, flow in enumerate(found):
            if flow is None:
                misses.append(i)
            else:
                groups.setdefault(flow, []).append(i)
        record = self.caches.record
        for flow, idx in groups.items():
            batch = [frames[i] for i in idx]
            flags = 0
            for i in idx:
                flags |= _tcp_flags(keys[i])
            record(flow, len(idx), sum(map(len, batch)), flags, now)
            if shared_md:
                ctx.md = mds[0]
                execute_batch(batch, flow.actions, ctx)
            else:
                # Each packet's metadata is its own (recirculation and tnl_pop make it): no copy needed.
                execute_batch(batch, flow.actions, ctx, [mds[i] for i in idx])
        if misses:
            self._upcall([frames[i] for i in misses], [keys[i] for i in misses],
                         [mds[i] for i in misses], ctx, now)

    def _upcall(self, frames: list[bytes], keys: list[int], mds: list[PacketMetadata], ctx: _Ctx,
                now: float) -> None:
        handler = self.upcall_handler
        if handler is None:
            self.caches.note_lost(len(frames))
            return
        self.n_upcalls += len(frames)
        answers = list(handler(list(zip(frames, keys))))
        if len(answers) != len(frames):
            raise ValueError(f"upcall handler answered {len(answers)} of {len(frames)} packets")
        for frame, md, answer in zip(frames, mds, answers):
            if answer is None:
                self.caches.note_lost()
                continue
            key, mask, actions = answer
            actions = tuple(actions)
            if mask is not None:
                flow = self.caches.install(key, datapath_mask(mask), actions, None, now)
                if flow is not None:
                    actions = flow.actions
            execute(frame, actions, ctx, md.copy())

    # -- Native tunnels ------------------------------------------------------------------------------

    def set_tnl_endpoints(self, addrs: set[int] | frozenset[int]) -> None:
        """The IPv4 addresses (as ints) of this host's tunnel endpoints: IPv4 fragments of UDP or GRE addressed to
        one of them are reassembled before classification, so that ``tnl_pop`` sees whole packets."""
        self._tnl_endpoints = frozenset(addrs)

    def tnl_stats(self) -> dict[str, int]:
        """The tunnel counters: ``pop_<reason>`` for outer packets ``tnl_pop`` refused (see
        :func:`pyvswitch.netdev.native_tnl.pop`), ``pop_no_port``, ``pushed``, ``popped``, ``push_fragmented``
        (outer packets fragmented for the MTU), ``push_inner_fragmented``, ``too_big_icmp`` (ICMP errors sent),
        ``too_big_dropped`` (too big and nothing to answer: not IP, or an error about an error), ``push_failed`` (a
        header the push cannot use, or a frame too long for any outer packet) and the
        reassembler's counters as ``frag_<name>``."""
        out = dict(self.tnl_counters)
        out.update({f"frag_{k}": v for k, v in self.reassembler.stats().items()})
        return out

    def run(self, now: float | None = None) -> None:
        """Periodic work (the ofproto's run calls it about once a second): fragments of a datagram that was not
        completed within the reassembly timeout are dropped, even when no other fragment comes to notice."""
        self.reassembler.expire(self.clock() if now is None else now)

    def _count(self, name: str, n: int = 1) -> None:
        self.tnl_counters[name] = self.tnl_counters.get(name, 0) + n

    def _endpoint_fragment(self, frame: bytes | bytearray | memoryview) -> bool:
        """Whether ``frame`` is an untagged IPv4 fragment of UDP or GRE to one of the tunnel endpoints."""
        return (len(frame) >= 34 and frame[12] == 8 and frame[13] == 0 and bool(frame[20] & 0x3F or frame[21])
                and frame[23] in (17, 47) and int.from_bytes(frame[30:34], "big") in self._tnl_endpoints)

    def _reassemble(self, frame: bytes | bytearray | memoryview, now: float) -> bytes | None:
        """``frame`` itself unless it is a fragment for a tunnel endpoint; then the reassembled frame when this
        fragment completes its datagram, else None (kept for later, or dropped)."""
        if not self._endpoint_fragment(frame):
            return bytes(frame) if isinstance(frame, memoryview) else frame  # type: ignore[return-value]
        done = self.reassembler.add(memoryview(frame)[14:], now)
        return None if done is None else bytes(frame[:14]) + done

    def _tnl_pop(self, frame: bytes, port: int, depth: int) -> None:
        tnl = self._tnl_ports.get(port)
        if tnl is None:
            self._count("pop_no_port")
            return
        try:
            inner, f = native_tnl.pop_checked(frame, tnl[0], tnl[1])
        except native_tnl.TnlDrop as e:
            self._count("pop_" + e.reason)
            return
        tun: dict[str, int] = {name: v for name, v in f.items() if v and isinstance(v, int)}
        if tnl[0] == "geneve":
            raw = f["geneve"]
            assert isinstance(raw, bytes)
            # The length with the "came in a Geneve header" bit (see pyvswitch.flow.tun_metadata).
            tun["geneve_len"] = GENEVE_PRESENT | len(raw)
            if raw:
                tun["geneve"] = int.from_bytes(raw, "big")
        st = self.tnl_port_stats.setdefault(port, [0, 0, 0, 0])
        st[0] += 1
        st[1] += len(inner)
        self._count("popped")
        # The inner packet enters the datapath again on the tunnel port, a recirculation as in Open vSwitch.
        self._recirc_queue.append((inner, PacketMetadata(in_port=port, tunnel=tun), depth + 1))

    def _tnl_push(self, frame: bytes, action: TnlPush, md: PacketMetadata) -> bytes | list[bytes] | None:
        try:
            df = _outer_df(action)
            ip_id = 0
            if not df:
                self._ip_id = ip_id = (self._ip_id + 1) & 0xFFFF
            outer = native_tnl.push(frame, action, _tnl_hash(frame), ip_id)
        except (ValueError, IndexError):
            self._count("push_failed")
            return None
        port = self._ports.get(action.out_port)
        mtu = port.netdev.get_mtu() if port is not None and port.netdev is not None else 0
        st = self.tnl_port_stats.setdefault(action.tnl_port, [0, 0, 0, 0])
        if not mtu or len(outer) - 14 <= mtu:
            st[2] += 1
            st[3] += len(frame)
            self._count("pushed")
            return outer
        return self._too_big(frame, outer, action, md, mtu, df, st)

    def _push_batch(self, frames: list[bytes], action: TnlPush, out_no: int) -> bool:
        """Encapsulate ``frames`` (one megaflow's, actions ``tnl_push(...),output(out_no)``) and send them to the
        output device as one batch; False, having done nothing, when a frame would exceed the underlay MTU or the
        header needs per-packet checksums: ``execute_batch`` then takes them one by one."""
        port = self._ports.get(out_no)
        if port is None or port.netdev is None:
            return False
        under = self._ports.get(action.out_port)
        mtu = under.netdev.get_mtu() if under is not None and under.netdev is not None else 0
        hlen = len(action.header)
        if mtu and max(len(f) for f in frames) + hlen - 14 > mtu:
            return False
        first = self._ip_id + 1
        ids = None if _outer_df(action) else [first + i for i in range(len(frames))]
        try:
            outer = native_tnl.push_batch(frames, action, [_tnl_hash(f) for f in frames], ids)
        except (ValueError, IndexError):
            return False
        if outer is None:
            return False
        if ids is not None:
            self._ip_id = ids[-1] & 0xFFFF
        st = self.tnl_port_stats.setdefault(action.tnl_port, [0, 0, 0, 0])
        st[2] += len(frames)
        st[3] += sum(len(f) for f in frames)
        self._count("pushed", len(frames))
        port.netdev.send_batch(PacketBatch.from_frames(outer), np.arange(len(outer)))
        return True

    def _too_big(self, frame: bytes, outer: bytes, action: TnlPush, md: PacketMetadata, mtu: int, df: bool,
                 st: list[int]) -> bytes | list[bytes] | None:
        """An encapsulated packet longer than the out port's MTU: fragment the outer packet when its DF bit is
        clear; otherwise fragment an inner IPv4 packet that allows it and encapsulate each piece, or answer the
        sender with ICMP "fragmentation needed" / ICMPv6 "packet too big" carrying the MTU the inner packet
        may have (``mtu`` less the encapsulation and the inner Ethernet header) and drop the packet."""
        if action.header[12:14] == b"\x08\x00" and not df:
            try:
                pieces = [outer[:14] + f for f in fragment_ipv4(outer[14:], mtu)]
            except ValueError:
                self._count("too_big_dropped")
                return None
            st[2] += 1
            st[3] += len(frame)
            self._count("pushed")
            self._count("push_fragmented")
            return pieces
        overhead = len(action.header) - 14
        eth_type, l3 = l3_offset(frame)
        inner_mtu = mtu - overhead - l3
        if eth_type == 0x0800 and len(frame) >= l3 + 20 and not frame[l3 + 6] & 0x40:
            try:
                inner = fragment_ipv4(frame[l3:], inner_mtu)
            except ValueError:
                self._count("too_big_dropped")
                return None
            out = []
            h = _tnl_hash(frame)        # the flow's hash, as for its packets that fit: one path per flow
            for piece in inner:
                # The outer header has DF set here (or is IPv6): its identification stays 0.
                out.append(native_tnl.push(frame[:l3] + piece, action, h, 0))
            st[2] += len(out)
            st[3] += len(frame)
            self._count("pushed")
            self._count("push_inner_fragmented")
            return out
        if eth_type == 0x0800:
            icmp = icmp4_frag_needed(frame, inner_mtu)
        elif eth_type == 0x86DD:
            icmp = icmp6_packet_too_big(frame, inner_mtu)
        else:
            icmp = None
        if icmp is None:
            self._count("too_big_dropped")
            return None
        self._count("too_big_icmp")
        if self.on_tnl_too_big is not None:
            self.on_tnl_too_big(icmp, md)
        else:
            self._output(md.in_port, icmp)
        return None

    def _output(self, port_no: int, frame: bytes) -> None:
        port = self._ports.get(port_no)
        if port is None or port.send is None:
            self.n_tx_dropped += 1
            return
        port.send(frame)

    # -- Statistics ----------------------------------------------------------------------------------

    def _counters(self) -> dict[str, int]:
        c = self.caches
        now = {"emc": c.n_emc_hit, "megaflow": c.n_megaflow_hit, "missed": c.n_missed, "lost": c.n_lost,
               "looked_up": c.n_packets, "probes": c.megaflows.n_hit_probes, "recirc": self.n_recirculated}
        return {k: v - self._zero.get(k, 0) for k, v in now.items()}

    def pmd_stats_show(self) -> list[str]:
        """``ovs-appctl dpif-netdev/pmd-stats-show``: the datapath's one thread, as Open vSwitch's dummy datapath
        prints its main thread.  The caches Open vSwitch has and this datapath does not (partial hardware offload,
        optimised miniflow extraction, the simple-match and signature caches) count 0."""
        n = self._counters()
        received = n["looked_up"] - n["recirc"]
        passes = n["looked_up"] / received if received else 0.0
        probes = n["probes"] / n["megaflow"] if n["megaflow"] else 0.0
        return ["main thread:", f"  packets received: {received}", f"  packet recirculations: {n['recirc']}",
                f"  avg. datapath passes per packet: {passes:.2f}", "  phwol hits: 0", "  mfex opt hits: 0",
                "  simple match hits: 0", f"  emc hits: {n['emc']}", "  smc hits: 0",
                f"  megaflow hits: {n['megaflow']}", f"  avg. subtable lookups per megaflow hit: {probes:.2f}",
                f"  miss with success upcall: {n['missed'] - n['lost']}",
                f"  miss with failed upcall: {n['lost']}",
                f"  avg. packets per output batch: {1.0 if received else 0.0:.2f}"]

    def pmd_stats_clear(self) -> None:
        """``dpif-netdev/pmd-stats-clear``: the thread's counters (and ``dpctl/show``'s lookups) start again."""
        self._zero = {}
        self._zero = self._counters()

    def get_stats(self) -> DpifStats:
        c = self.caches
        n = self._counters()
        if self.report_masks:
            return DpifStats(n["emc"] + n["megaflow"], n["missed"], n["lost"], len(c),
                             c.megaflows.n_mask_hit, c.megaflows.n_masks)
        return DpifStats(n["emc"] + n["megaflow"], n["missed"], n["lost"], len(c))

    def now(self) -> float:
        return self.clock()


def dummy_dpif(name: str = "ovs-dummy", *, flow_limit: int = DEFAULT_FLOW_LIMIT,
               emc_insert_inv_prob: int = DEFAULT_EMC_INSERT_INV_PROB, rng: random.Random | None = None,
               clock: Callable[[], float] = time.monotonic, report_masks: bool = False) -> NetdevDpif:
    """A ``dummy`` datapath: the userspace datapath, typed ``dummy``, whose own port is ``dummy-internal``."""
    return NetdevDpif(name, "dummy", local_type="dummy-internal", flow_limit=flow_limit,
                      emc_insert_inv_prob=emc_insert_inv_prob, rng=rng, clock=clock, report_masks=report_masks)
