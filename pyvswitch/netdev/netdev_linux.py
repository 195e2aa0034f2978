"""``system`` ports: an existing Linux interface (a veth end, a NIC) opened with an AF_PACKET socket.

The socket is set up as Open vSwitch's AF_XDP-less userspace datapath would want it, with the kernel's memory-mapped
rings so that no system call is made per packet:

* a **TPACKET_V3 receive ring**: the kernel fills blocks of frames and hands a block over when it is full or after
  ``RX_BLOCK_TIMEOUT_MS``; :meth:`SystemNetdev.recv_batch` returns every frame of every block handed over as one
  :class:`PacketBatch` (numpy views of the ring, no copy) and gives the blocks back on ``release``;
* a **transmit ring** (TPACKET_V3 frames of ``TX_FRAME_SIZE`` bytes): :meth:`send` and :meth:`send_batch` fill
  slots, :meth:`flush` asks the kernel to send all of them with one ``send()``.  Frames too big for a slot (TSO
  super-frames) go through a second AF_PACKET socket, after the ring has been flushed, so order is kept;
* **virtio-net headers** (``PACKET_VNET_HDR``) both ways: a frame whose L4 checksum is still to be completed or
  that is a TSO/GSO super-frame keeps that state across the switch, as Open vSwitch's userspace TSO keeps it, and
  the kernel finishes the work on the way out (or never needs to, between namespaces);
* the VLAN tag the kernel took out of a frame (``tp_vlan_tci``) is given back with the batch (``PacketBatch.vlan``);
* promiscuous mode as a packet-socket membership (``PACKET_MR_PROMISC``), which the kernel undoes when the socket
  closes, so a crash never leaves an interface promiscuous;
* ``PACKET_IGNORE_OUTGOING``: frames the switch itself sends are not received back.

Link state, MTU, Ethernet address and counters are the kernel's (:mod:`pyvswitch.netdev.linux`), read again by
:meth:`poll`.  A device that goes away makes :meth:`error` say so; nothing raises in the receive or transmit paths.

Why by hand: no maintained Python library offers AF_PACKET rings (pyroute2 is netlink only); the ring layout is
the kernel's ABI (``linux/if_packet.h``), read here with numpy.
"""

from __future__ import annotations

import errno
import logging
import mmap
import socket
import struct
from collections.abc import Mapping

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import linux
from .netdev import VNET_HDR_LEN, Netdev, NetdevError, PacketBatch, register

__all__ = ["SystemNetdev"]

log = logging.getLogger("pyvswitch.netdev_linux")

# linux/if_packet.h
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_RX_RING = 5
PACKET_VERSION = 10
PACKET_TX_RING = 13
PACKET_LOSS = 14
PACKET_VNET_HDR = 15
PACKET_QDISC_BYPASS = 20
PACKET_IGNORE_OUTGOING = 23
PACKET_MR_PROMISC = 1
TPACKET_V3 = 2
ETH_P_ALL = 0x0003

TP_STATUS_KERNEL = 0
TP_STATUS_USER = 1
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
TP_STATUS_AVAILABLE = 0
TP_STATUS_SEND_REQUEST = 1
TP_STATUS_WRONG_FORMAT = 4

#: Receive ring: blocks big enough for a 64 KiB TSO frame; a block is handed over when full or after this long.
RX_BLOCK_SIZE = 1 << 17
RX_BLOCK_NR = 32
RX_FRAME_SIZE = 1 << 11
RX_BLOCK_TIMEOUT_MS = 1
#: Transmit ring: slots for frames up to a 1500-byte MTU with a VLAN tag and the virtio-net header.
TX_FRAME_SIZE = 1 << 11
TX_FRAME_NR = 4096
TX_CHUNK = TX_FRAME_NR // 4

SO_SNDBUFFORCE = 32
SNDBUF = 1 << 24

_TPACKET3_HDRLEN = 48        # TPACKET_ALIGN(sizeof(struct tpacket3_hdr))
_TX_DATA = _TPACKET3_HDRLEN  # tp_hdrlen - sizeof(struct sockaddr_ll): where the kernel reads a frame to send
_TX_MAX = TX_FRAME_SIZE - _TX_DATA - VNET_HDR_LEN
_NO_VNET = bytes(VNET_HDR_LEN)
#: Frames up to this many bytes (header included) are copied into the ring by index arrays, bigger ones one by one.
_GATHER_MAX = 256

_BLOCK_HDR = struct.Struct("<III")   # block_status, num_pkts, offset_to_first_pkt (at +8)


def _no_such_device(name: str) -> str:
    return f"could not open network device {name} (No such device)"


class SystemNetdev(Netdev):
    """A Linux interface through AF_PACKET (see the module docstring)."""

    stats_names = None

    def __init__(self, name: str, type_: str) -> None:
        super().__init__(name, type_)
        self.netdev_class = "system"
        self._sock: socket.socket | None = None
        self._big: socket.socket | None = None
        self._ring: mmap.mmap | None = None
        self._err: str | None = None
        self._info: linux.LinkInfo | None = None
        self._open()

    # -- set-up --------------------------------------------------------------------------------------------

    def _open(self) -> None:
        info = linux.link_info(self.name)
        if info is None:
            raise NetdevError(_no_such_device(self.name))
        self._info = info
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except OSError as e:
            raise NetdevError(f"could not open network device {self.name} ({e.strerror})") from None
        ring: mmap.mmap | None = None
        try:
            sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
            sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
            try:
                sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            except OSError:
                log.warning("%s: PACKET_IGNORE_OUTGOING is not supported: the switch receives its own frames "
                            "back (Linux 4.20 or later needed)", self.name)
            sock.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
            # A frame the kernel refuses is skipped, not left to block every slot after it.
            sock.setsockopt(SOL_PACKET, PACKET_LOSS, 1)
            # Room for a whole ring of frames in flight: the kernel counts every frame sent against the socket's
            # send buffer until the receiving side is done with it, and stops sending (EAGAIN) when it is full.
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, SNDBUF)
            except OSError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
            rx_size = RX_BLOCK_SIZE * RX_BLOCK_NR
            sock.setsockopt(SOL_PACKET, PACKET_RX_RING,
                            struct.pack("IIIIIII", RX_BLOCK_SIZE, RX_BLOCK_NR, RX_FRAME_SIZE,
                                        rx_size // RX_FRAME_SIZE, RX_BLOCK_TIMEOUT_MS, 0, 0))
            tx_size = TX_FRAME_SIZE * TX_FRAME_NR
            sock.setsockopt(SOL_PACKET, PACKET_TX_RING,
                            struct.pack("IIIIIII", tx_size, 1, TX_FRAME_SIZE, TX_FRAME_NR, 0, 0, 0))
            ring = mmap.mmap(sock.fileno(), rx_size + tx_size, mmap.MAP_SHARED,
                             mmap.PROT_READ | mmap.PROT_WRITE)
            sock.bind((self.name, ETH_P_ALL))
            sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP,
                            struct.pack("iHH8s", info.ifindex, PACKET_MR_PROMISC, 0, b""))
            sock.setblocking(False)
            # Frames too big for a transmit slot: a socket that receives nothing (protocol 0).
            big = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            big.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
            big.bind((self.name, 0))
            big.setblocking(False)
        except OSError as e:
            if ring is not None:
                ring.close()
            sock.close()
            reason = "No such device" if e.errno in (errno.ENODEV, errno.ENXIO) else e.strerror
            raise NetdevError(f"could not open network device {self.name} ({reason})") from None
        self._sock, self._big, self._ring = sock, big, ring
        self._arr = np.frombuffer(ring, dtype=np.uint8)
        self._u32 = self._arr.view(np.uint32)
        self._rx_block = 0
        self._tx_head = 0
        self._tx_pending = 0
        # Byte offsets of the transmit slots, and the u32 index of each slot's tp_len and tp_status.
        slot = rx_size + np.arange(TX_FRAME_NR, dtype=np.int64) * TX_FRAME_SIZE
        self._tx_len_idx = (slot + 16) // 4
        self._tx_status_idx = (slot + 20) // 4
        self._tx_data = slot + _TX_DATA

    def set_config(self, options: Mapping[str, str]) -> None:
        pass   # Open vSwitch's system ports take no options either.

    # -- receive ----------------------------------------------------------------------------------------------

    def rx_fileno(self) -> int | None:
        return None if self._sock is None else self._sock.fileno()

    def recv_batch(self, max_frames: int = 4096) -> PacketBatch | None:
        """Every frame of the blocks the kernel has handed over (whole blocks, so possibly a little more than
        ``max_frames``)."""
        if self._sock is None:
            return None
        u32 = self._u32
        blocks: list[int] = []
        offs: list[np.ndarray] = []
        n = 0
        b = self._rx_block
        while n < max_frames and len(blocks) < RX_BLOCK_NR:
            base = b * RX_BLOCK_SIZE
            if not u32[base // 4 + 2] & TP_STATUS_USER:
                break
            num = int(u32[base // 4 + 3])
            first = base + int(u32[base // 4 + 4])
            blocks.append(b)
            if num:
                offs.append(self._walk(first, num))
                n += num
            b = (b + 1) % RX_BLOCK_NR
        if not blocks:
            return None
        self._rx_block = b
        hdr = np.concatenate(offs) if len(offs) != 1 else offs[0]
        hidx = hdr // 4
        lens = u32[hidx + 3].astype(np.int64)            # tp_snaplen
        mac = (u32[hidx + 6] & 0xFFFF).astype(np.int64)   # tp_mac
        status = u32[hidx + 5]
        vlan = None
        if (status & TP_STATUS_VLAN_VALID).any():
            tci = (u32[hidx + 8] & 0xFFFF).astype(np.int64)
            tpid = (u32[hidx + 9] & 0xFFFF).astype(np.int64)
            tpid = np.where(status & TP_STATUS_VLAN_TPID_VALID, tpid, 0x8100)
            vlan = np.where(status & TP_STATUS_VLAN_VALID, (tpid << 16) | tci, -1)
        self.stats.rx_packets += len(hdr)
        self.stats.rx_bytes += int(lens.sum())

        def release(blocks: list[int] = blocks) -> None:
            for blk in blocks:
                u32[blk * RX_BLOCK_SIZE // 4 + 2] = TP_STATUS_KERNEL
        return PacketBatch(self._arr, hdr + mac, lens, vnet=True, vlan=vlan, release=release)

    def _walk(self, first: int, num: int) -> np.ndarray:
        """The offsets of the ``num`` frame headers of a block: each header gives the distance to the next.  Frames
        of one size are equally spaced, which is checked at once; otherwise the chain is followed."""
        u32 = self._u32
        step = int(u32[first // 4])
        if num == 1:
            return np.array([first], np.int64)
        if step:
            cand = first + np.arange(num, dtype=np.int64) * step
            if (u32[cand[:-1] // 4] == step).all():
                return cand
        out = np.empty(num, np.int64)
        o = first
        for i in range(num):
            out[i] = o
            o += int(u32[o // 4])
        return out

    # -- transmit ---------------------------------------------------------------------------------------------

    def send(self, frame: bytes, vnet: bytes | None = None) -> bool:
        if self._sock is None:
            self.stats.tx_dropped += 1
            return False
        n = len(frame)
        if n > _TX_MAX or (vnet is not None and vnet[1]):
            return self._send_big(frame, vnet)
        slot = self._tx_head
        if self._u32[self._tx_status_idx[slot]] != TP_STATUS_AVAILABLE:
            self.flush(force=True)
            if self._u32[self._tx_status_idx[slot]] != TP_STATUS_AVAILABLE:
                self.stats.tx_dropped += 1
                return False
        d = int(self._tx_data[slot])
        ring = self._ring
        assert ring is not None
        if vnet is None or not vnet[1]:
            # Not a super-frame: all of it linear in the kernel's buffer (see send_batch).
            vnet = (vnet[:2] if vnet is not None else b"\0\0") + n.to_bytes(2, "little") + \
                (vnet[4:] if vnet is not None else bytes(6))
        ring[d:d + VNET_HDR_LEN] = vnet
        ring[d + VNET_HDR_LEN:d + VNET_HDR_LEN + n] = frame
        self._u32[self._tx_len_idx[slot]] = n + VNET_HDR_LEN
        self._u32[self._tx_status_idx[slot]] = TP_STATUS_SEND_REQUEST
        self._tx_head = (slot + 1) % TX_FRAME_NR
        self._tx_pending += 1
        self.stats.tx_packets += 1
        self.stats.tx_bytes += n
        return True

    def _send_big_view(self, data: memoryview, n: int) -> None:
        """A virtio-net header and its frame, contiguous in memory, through the socket without a ring."""
        self.flush()
        try:
            assert self._big is not None
            self._big.send(data)
        except OSError as e:
            self._tx_error(e)
            return
        self.stats.tx_packets += 1
        self.stats.tx_bytes += n

    def _send_big(self, frame: bytes, vnet: bytes | None) -> bool:
        self.flush()
        try:
            assert self._big is not None
            self._big.send((vnet if vnet is not None else _NO_VNET) + frame)
        except OSError as e:
            self._tx_error(e)
            return False
        self.stats.tx_packets += 1
        self.stats.tx_bytes += len(frame)
        return True

    def send_batch(self, batch: PacketBatch, idx: np.ndarray) -> None:
        """Copy frames ``idx`` of ``batch`` into the transmit ring at once (their virtio-net headers with them)."""
        if self._sock is None:
            self.stats.tx_dropped += len(idx)
            return
        idx = np.asarray(idx, dtype=np.int64)
        lens = batch.lens[idx]
        special = lens > _TX_MAX
        if batch.vnet:
            # Super-frames (gso_type set) leave through the socket without a ring, which goes through the
            # device's queueing layer: the ring's sends bypass it, and there a super-frame for a device that cannot
            # segment it is dropped instead of being cut in software.
            special |= batch.buf[batch.offs[idx] - VNET_HDR_LEN + 1] != 0
        if batch.vlan is not None:
            special |= batch.vlan[idx] >= 0
        if special.any():
            # Tagged or oversized frames one by one, in order with the rest; a big frame straight from the
            # batch's memory (a TSO super-frame is up to 64 KiB: no copy into a bytes object).
            view = memoryview(batch.buf) if batch.vnet else None
            for i in idx.tolist():
                o, n = int(batch.offs[i]), int(batch.lens[i])
                if view is not None and (n > _TX_MAX or view[o - VNET_HDR_LEN + 1]) and \
                        (batch.vlan is None or batch.vlan[i] < 0):
                    self._send_big_view(view[o - VNET_HDR_LEN:o + n], n)
                else:
                    self.send(batch.frame(i), batch.vnet_hdr(i))
            return
        # A quarter of the ring at a time: a batch may hold more frames than the ring has slots, and a slot must
        # never be written twice before the kernel has sent it (its position and ours would part for good).
        for start in range(0, len(idx), TX_CHUNK):
            if not self._ring_copy(batch, idx[start:start + TX_CHUNK], lens[start:start + TX_CHUNK]):
                self.stats.tx_dropped += max(len(idx) - start - TX_CHUNK, 0)
                return
            if start + TX_CHUNK < len(idx):
                self.flush()

    def _ring_copy(self, batch: PacketBatch, idx: np.ndarray, lens: np.ndarray) -> bool:
        """Frames ``idx`` (at most ``TX_CHUNK``) into the next free slots; False when the ring was full (the frames
        that did not fit are counted as dropped)."""
        n = len(idx)
        u32 = self._u32
        slots = (self._tx_head + np.arange(n)) % TX_FRAME_NR
        free = u32[self._tx_status_idx[slots]] == TP_STATUS_AVAILABLE
        if not free.all():
            self.flush(force=True)
            free = u32[self._tx_status_idx[slots]] == TP_STATUS_AVAILABLE
            if not free.all():
                k = int(np.argmin(free))     # Slots are used in order: the first busy one ends the run.
                self.stats.tx_dropped += n - k
                n, slots, idx, lens = k, slots[:k], idx[:k], lens[:k]
                if not n:
                    return False
        width = int(lens.max()) + VNET_HDR_LEN
        base = self._tx_data[slots]
        if batch.vnet and self._strided_copy(batch, idx, slots, width):
            pass
        elif width > _GATHER_MAX:
            # Big frames one memory copy each: index arrays would cost more than the copies.
            ring = self._ring
            assert ring is not None
            view = memoryview(batch.buf)
            pre = VNET_HDR_LEN if batch.vnet else 0
            for d, o, n_ in zip(base.tolist(), batch.offs[idx].tolist(), lens.tolist()):
                if not pre:
                    ring[d:d + VNET_HDR_LEN] = _NO_VNET
                ring[d + VNET_HDR_LEN - pre:d + VNET_HDR_LEN + n_] = view[o - pre:o + n_]
        else:
            # Small frames of any layout: one gather and one scatter through index arrays.
            cols = np.arange(width, dtype=np.int64)
            dst = base[:, None] + cols
            if batch.vnet:
                src = (batch.offs[idx] - VNET_HDR_LEN)[:, None] + cols
                np.minimum(src, len(batch.buf) - 1, out=src)
                self._arr[dst] = batch.buf[src]
            else:
                self._arr[dst[:, :VNET_HDR_LEN]] = 0
                src = batch.offs[idx][:, None] + cols[:-VNET_HDR_LEN]
                np.minimum(src, len(batch.buf) - 1, out=src)
                self._arr[dst[:, VNET_HDR_LEN:]] = batch.buf[src]
        # The virtio-net header's hdr_len tells the kernel how much to copy into the socket buffer's linear part:
        # the whole of a frame that is not a super-frame.  Left at 0, the kernel would point at the ring's pages and
        # then copy them into fresh pages for the receiving stack, page by page.
        small = self._arr[base + 1] == 0          # gso_type NONE
        rows = base[small] + 2
        self._arr[rows] = (lens[small] & 0xFF).astype(np.uint8)
        self._arr[rows + 1] = (lens[small] >> 8).astype(np.uint8)
        u32[self._tx_len_idx[slots]] = (lens + VNET_HDR_LEN).astype(np.uint32)
        u32[self._tx_status_idx[slots]] = TP_STATUS_SEND_REQUEST
        self._tx_head = int(slots[-1] + 1) % TX_FRAME_NR
        self._tx_pending += n
        self.stats.tx_packets += n
        self.stats.tx_bytes += int(lens.sum())
        return len(slots) == len(free)

    def _strided_copy(self, batch: PacketBatch, idx: np.ndarray, slots: np.ndarray, width: int) -> bool:
        """The common case in one strided copy, without index arrays: frames equally spaced in the batch (the
        receive ring lays frames of one size out so) into consecutive slots.  False when it does not apply."""
        n = len(idx)
        src0 = batch.offs[idx] - VNET_HDR_LEN
        if n < 2 or int(slots[-1]) != int(slots[0]) + n - 1:
            return False
        step = int(src0[1] - src0[0])
        if step < width or int(src0[-1]) + width > len(batch.buf) or not (np.diff(src0) == step).all():
            return False
        src = as_strided(batch.buf[int(src0[0]):], shape=(n, width), strides=(step, 1), writeable=False)
        dst = as_strided(self._arr[int(self._tx_data[slots[0]]):], shape=(n, width), strides=(TX_FRAME_SIZE, 1))
        dst[...] = src
        return True

    def flush(self, force: bool = False) -> bool:
        """Ask the kernel to send the frames waiting in the transmit ring.  When it stops early (its send buffer
        is full, or the device's queue), the rest stay marked and the next flush goes on with them; ``force``
        asks even when nothing new was queued (a full ring)."""
        if (not self._tx_pending and not force) or self._sock is None:
            return False
        try:
            self._sock.send(b"", socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as e:
            if e.errno != errno.ENOBUFS:
                self._tx_error(e)
        # The kernel takes frames in order: if the last one queued is still waiting, some are.
        last = (self._tx_head - 1) % TX_FRAME_NR
        self._tx_pending = int(self._u32[self._tx_status_idx[last]] == TP_STATUS_SEND_REQUEST)
        return bool(self._tx_pending)

    def _tx_error(self, e: OSError) -> None:
        self.stats.tx_dropped += 1
        if e.errno in (errno.ENXIO, errno.ENODEV, errno.ENETDOWN):
            if linux.link_info(self.name) is None:
                self._err = _no_such_device(self.name)
        else:
            log.debug("%s: send failed: %s", self.name, e)

    # -- state ------------------------------------------------------------------------------------------------

    def poll(self) -> bool:
        info = linux.link_info(self.name)
        if info is None or (self._info is not None and info.ifindex != self._info.ifindex):
            # Gone (or gone and back as another device: the socket is bound to the old one).
            changed = self._err is None
            self._err = _no_such_device(self.name)
            return changed
        old, self._info = self._info, info
        return old is None or (old.mac, old.mtu, old.admin_up, old.carrier) != \
            (info.mac, info.mtu, info.admin_up, info.carrier)

    def error(self) -> str | None:
        return self._err

    def get_etheraddr(self) -> str:
        return self._info.mac if self._info is not None else "00:00:00:00:00:00"

    def get_mtu(self) -> int:
        return self._info.mtu if self._info is not None else 1500

    def set_mtu(self, mtu: int) -> None:
        linux.set_mtu(self.name, mtu)
        self.poll()

    def admin_up(self) -> bool:
        return self._info is not None and self._info.admin_up

    def carrier(self) -> bool:
        return self._info is not None and self._info.carrier

    def stats_map(self) -> dict[str, int]:
        """The kernel's counters of the device, as Open vSwitch reports them for a system port."""
        return dict(self._info.stats) if self._info is not None else {}

    def close(self) -> None:
        for s in (self._sock, self._big):
            if s is not None:
                s.close()
        self._sock = self._big = None
        if self._ring is not None:
            self._arr = self._u32 = None  # type: ignore[assignment]
            try:
                self._ring.close()
            except BufferError:
                pass   # A batch still holds a view: the mapping goes with the last reference.
            self._ring = None


register("system", SystemNetdev)
