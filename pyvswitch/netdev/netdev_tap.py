"""``tap`` and ``internal`` ports: Linux TAP devices the switch exchanges frames with, like Open vSwitch's
netdev-linux "tap" class.

Both types open ``/dev/net/tun`` and attach to the TAP device named like the port (``TUNSETIFF``), which creates
the device if there is none.  As Open vSwitch 3.1 does on a netdev bridge (checked with its ``ovs-vswitchd``):

* ``dpif/show`` describes both types as ``(tap)``, so ``netdev_class`` is ``"tap"``;
* the device is made persistent and put in promiscuous mode, but left administratively down: the user (or a
  script) brings it up, as with ``ip link set br0 up``; its Ethernet address is the random one the kernel gave it;
* a ``tap`` port whose device does not exist creates it, like an ``internal`` port;
* closing the port (deleting it from the bridge) makes the device non-persistent and closes the file, which
  removes the device, also for a ``tap`` port whose device existed before the switch used it;
* the ``statistics`` column holds the device's kernel counters seen from the switch: what the kernel transmitted
  the switch received, so ``rx_*`` and ``tx_*`` packets, bytes, errors and drops are swapped and the counters
  that only make sense for a wire (CRC, frame, over, missed, multicast, collisions) are 0; frames the switch
  could not write are added to ``tx_dropped``.

Unlike Open vSwitch 3.1 (which opens TAPs without virtio-net headers unless ``userspace-tso-enable``), the device
is opened with ``IFF_VNET_HDR`` and the offloads ``TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6``: the kernel may then hand
over frames whose L4 checksum is still to be completed and TCP super-frames up to 64 KiB, each described by its
10-byte virtio-net header, and the datapath passes such frames on to devices that take them as they are.

Receiving: :meth:`TapNetdev.recv_batch` reads frames with ``readv`` into a preallocated buffer of 64 slots of
64 KiB plus the header (``numpy.empty``, so memory is committed only where frames are written) until ``EAGAIN``
and returns them as one :class:`~pyvswitch.netdev.netdev.PacketBatch`.

A device removed behind the switch's back (``ip link del``) makes reads and writes fail with ``EBADFD``; from then
on :meth:`TapNetdev.error` says ``could not open network device NAME (No such device)``, frames are dropped and
counted, and nothing raises.  (Open vSwitch 3.1 leaves the ``error`` column empty there and clears ``mac_in_use``
and ``mtu``; pyvswitch says what happened.)
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import linux
from .netdev import VNET_HDR_LEN, Netdev, NetdevError, PacketBatch, register

__all__ = ["TapNetdev"]

TUNSETIFF = 0x400454CA
TUNGETIFF = 0x800454D2
TUNSETPERSIST = 0x400454CB
TUNSETOFFLOAD = 0x400454D0
TUNSETVNETHDRSZ = 0x400454D8
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6 = 0x01, 0x02, 0x04

#: Frames one receive batch can hold, and the room for each: its virtio-net header and a 64 KiB super-frame with
#: its Ethernet header, rounded up to a multiple of 64 bytes.
RX_SLOTS = 64
RX_SLOT = 65600

_ZERO_VNET = bytes(VNET_HDR_LEN)
#: Errors that mean the device behind the file is gone.
_GONE = (errno.EBADFD, errno.ENODEV, errno.ENXIO)
#: How old the cached kernel counters may be when the statistics column is read.
_STATS_MAX_AGE = 0.2


def _open_tap(name: str) -> int:
    """A non-blocking file attached to TAP device ``name`` (created if missing), with virtio-net headers and
    offloads on.  Raises NetdevError with Open vSwitch's text."""
    if not name or len(name.encode()) > 15 or "/" in name:
        raise NetdevError(f"could not open network device {name} (Invalid argument)")
    try:
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise NetdevError(f"could not open network device {name} ({e.strerror})") from None
    try:
        ifr = struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)
        fcntl.ioctl(fd, TUNSETIFF, ifr)
        fcntl.ioctl(fd, TUNSETVNETHDRSZ, struct.pack("i", VNET_HDR_LEN))
        fcntl.ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)
        fcntl.ioctl(fd, TUNSETPERSIST, 1)
    except OSError as e:
        os.close(fd)
        raise NetdevError(f"could not open network device {name} ({e.strerror})") from None
    return fd


def _swap(kstats: Mapping[str, int]) -> dict[str, int]:
    """The kernel's counters of a TAP device seen from the switch (the other end of the wire)."""
    out = dict.fromkeys(linux.STATS_NAMES, 0)
    for a, b in (("packets", "packets"), ("bytes", "bytes"), ("errors", "errors"), ("dropped", "dropped")):
        out[f"rx_{a}"] = int(kstats.get(f"tx_{b}", 0))
        out[f"tx_{a}"] = int(kstats.get(f"rx_{b}", 0))
    return out


class TapNetdev(Netdev):
    """A TAP device (types ``tap`` and ``internal``).  See the module documentation."""

    def __init__(self, name: str, type_: str) -> None:
        super().__init__(name, type_)
        self.netdev_class = "tap"
        self._fd: int | None = _open_tap(name)
        self._error: str | None = None
        try:
            info = linux.link_info(name)
            if info is None:
                raise NetdevError(f"could not open network device {name} (No such device)")
            linux.set_promisc(name, True)
        except NetdevError:
            self._destroy()
            raise
        self._info = info
        self._ifindex = info.ifindex
        self._stats_info = info
        self._stats_time = time.monotonic()
        self.options: dict[str, str] = {}
        self._buf: np.ndarray | None = None
        self._busy = False

    # ---------------------------------------------------------------------------------------------------------
    # Configuration and state.

    def set_config(self, options: Mapping[str, str]) -> None:
        # Open vSwitch's tap class has no options and ignores the ones it is given.
        self.options = dict(options)

    def _vanish(self) -> None:
        if self._error is None:
            self._error = f"could not open network device {self.name} (No such device)"

    def _fetch(self) -> linux.LinkInfo | None:
        """The device's current state, or None (and the device is marked vanished) if it is gone: no device of
        that name, or one that is not ours (someone deleted ours and created another of the same name)."""
        if self._error is not None:
            return None
        info = linux.link_info(self.name)
        if info is None and self._attached():
            # Still ours, moved to another network namespace (a container's, a VM's): it keeps working, as in
            # Open vSwitch; its state is no longer visible from here.
            return None
        if info is None or info.ifindex != self._ifindex:
            self._vanish()
            return None
        return info

    def _attached(self) -> bool:
        """Whether the descriptor still has its device (a deleted TAP answers ``EBADFD``)."""
        if self._fd is None:
            return False
        try:
            fcntl.ioctl(self._fd, TUNGETIFF, bytes(40))
        except OSError:
            return False
        return True

    def poll(self) -> bool:
        had_error = self._error is not None
        info = self._fetch()
        if info is None:
            return self._error is not None and not had_error   # Changed if it just vanished (not if it moved).
        old, self._info = self._info, info
        self._stats_info, self._stats_time = info, time.monotonic()
        return (old.mtu, old.mac, old.admin_up, old.carrier) != (info.mtu, info.mac, info.admin_up, info.carrier)

    def error(self) -> str | None:
        return self._error

    def get_etheraddr(self) -> str:
        return self._info.mac

    def set_etheraddr(self, mac: str) -> None:
        """Give the device Ethernet address ``mac`` (the bridge sets its own port's address this way)."""
        linux.set_mac(self.name, mac)
        self.poll()

    def get_mtu(self) -> int:
        return self._info.mtu

    def set_mtu(self, mtu: int) -> None:
        if self._error is not None:
            raise NetdevError(f"{self.name}: setting MTU to {mtu} failed (No such device)")
        linux.set_mtu(self.name, mtu)
        self.poll()

    def admin_up(self) -> bool:
        return self._error is None and self._info.admin_up

    def carrier(self) -> bool:
        return self._error is None and self._info.carrier

    stats_names = linux.STATS_NAMES

    def stats_map(self) -> dict[str, int]:
        now = time.monotonic()
        if self._error is None and now - self._stats_time > _STATS_MAX_AGE:
            info = self._fetch()
            if info is not None:
                self._stats_info, self._stats_time = info, now
        out = _swap(self._stats_info.stats)
        out["tx_dropped"] += self.stats.tx_dropped
        out["rx_dropped"] += self.stats.rx_dropped
        return out

    # ---------------------------------------------------------------------------------------------------------
    # Frames.

    def rx_fileno(self) -> int | None:
        return self._fd

    def _io_failed(self, e: OSError) -> None:
        """A read or write failed other than with EAGAIN."""
        if e.errno in _GONE:
            self._vanish()

    def recv_batch(self, max_frames: int = 1024) -> PacketBatch | None:
        if self._fd is None or self._error is not None:
            return None
        if self._busy or self._buf is None:
            # A batch still in use keeps its buffer; this one gets another (the caller should have released it).
            self._buf = np.empty(RX_SLOTS * RX_SLOT, np.uint8)
        buf = self._buf
        mv = memoryview(buf)  # type: ignore[arg-type]
        limit = min(max_frames, RX_SLOTS)
        offs = np.empty(limit, np.int64)
        lens = np.empty(limit, np.int64)
        n = 0
        while n < limit:
            base = n * RX_SLOT
            try:
                got = os.readv(self._fd, [mv[base:base + RX_SLOT]])
            except BlockingIOError:
                break
            except OSError as e:
                self._io_failed(e)
                break
            if got < VNET_HDR_LEN + 14:
                self.stats.rx_dropped += 1
                continue
            offs[n] = base + VNET_HDR_LEN
            lens[n] = got - VNET_HDR_LEN
            n += 1
        if n == 0:
            return None
        offs, lens = offs[:n], lens[:n]
        self.stats.rx_packets += n
        self.stats.rx_bytes += int(lens.sum())
        self._busy = True

        def release() -> None:
            if self._buf is buf:
                self._busy = False

        return PacketBatch(buf, offs, lens, vnet=True, release=release)

    def _write(self, parts: list[Any], length: int) -> bool:
        if self._fd is None or self._error is not None:
            self.stats.tx_dropped += 1
            return False
        try:
            os.writev(self._fd, parts)
        except BlockingIOError:
            self.stats.tx_dropped += 1
            return False
        except OSError as e:
            # EIO: the device is down; EINVAL: a frame or header the kernel refuses.
            self._io_failed(e)
            self.stats.tx_dropped += 1
            return False
        self.stats.tx_packets += 1
        self.stats.tx_bytes += length
        return True

    def send(self, frame: bytes, vnet: bytes | None = None) -> bool:
        if vnet is not None and len(vnet) != VNET_HDR_LEN:
            self.stats.tx_dropped += 1
            return False
        return self._write([vnet if vnet is not None else _ZERO_VNET, frame], len(frame))

    def send_batch(self, batch: PacketBatch, idx: Any) -> None:
        mv = memoryview(batch.buf)  # type: ignore[arg-type]
        for i in idx:
            i = int(i)
            if batch.vlan is not None and batch.vlan[i] >= 0:
                self.send(batch.frame(i), batch.vnet_hdr(i))
                continue
            o, n = int(batch.offs[i]), int(batch.lens[i])
            if batch.vnet:
                self._write([mv[o - VNET_HDR_LEN:o + n]], n)
            else:
                self._write([_ZERO_VNET, mv[o:o + n]], n)

    def _destroy(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            # Not persistent any more: the device goes away with the last file attached to it.
            fcntl.ioctl(fd, TUNSETPERSIST, 0)
        except OSError:
            pass  # the device is already gone
        os.close(fd)

    def close(self) -> None:
        self._destroy()


register("tap", TapNetdev)
register("internal", TapNetdev)
