"""The receive thread: frames from the devices into the datapath, and link notifications to the bridges.

Open vSwitch's userspace datapath polls its ports either from busy-polling PMD threads (DPDK, AF_XDP) or, for
Linux devices, from its main thread with ``poll()``.  pyvswitch does the latter in a thread of its own, so that
frames never wait for the database or the OpenFlow connections:

* every device with a receive file descriptor (``Netdev.rx_fileno``: AF_PACKET rings, TAP devices) is in one
  ``epoll`` set; when one is readable, its frames are taken as one batch (``recv_batch``) and handed to the
  datapath of its bridge (``Backer.receive_batch``) under the switch lock, then the batch's memory is released;
* the rtnetlink link monitor (:class:`pyvswitch.netdev.linux.LinkMonitor`) is in the same set: the names of
  devices that changed, vanished or appeared go to :meth:`Switch.link_changed`, which updates what the database
  shows and retries interfaces whose device was missing.

The set of devices is replaced by :meth:`PollThread.set_ports`, called under the switch lock after every
reconfiguration.  A batch is only taken from a device that is still in the current set, under the lock, so a
device closed by a reconfiguration is never read.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import select
import threading
from collections.abc import Callable
from typing import Any

from pyvswitch.netdev.linux import LinkMonitor
from pyvswitch.netdev.netdev import Netdev

log = logging.getLogger("pyvswitch.pmd")

#: How many frames one device may deliver in one go before the others get their turn.
BATCH_FRAMES = 4096


def keep_freed_memory() -> bool:
    """Ask the C library to keep freed memory for reuse instead of giving it back to the kernel.

    Every batch allocates numpy arrays of a few hundred kilobytes.  By default the C library serves such sizes
    with fresh mappings and unmaps them when freed, so each batch's arrays are new pages that the kernel zeroes on
    first touch: the profile showed page faults taking 12% of the receive thread.  With the mapping threshold at
    its maximum (32 MiB) and a high trim threshold, the same memory is reused batch after batch.  Returns False
    where the C library has no ``mallopt`` (the switch works the same, a little slower)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_mmap_threshold, 32 << 20)) and bool(mallopt(m_trim_threshold, 256 << 20))


class PollThread:
    """See the module docstring.  ``lock`` is the switch lock; ``on_links(names)`` is called under it."""

    def __init__(self, lock: Any, on_links: Callable[[set[str]], None]) -> None:
        self.lock = lock
        self.on_links = on_links
        self._ep = select.epoll()
        self._ports: dict[int, tuple[Netdev, Callable[[Any], None]]] = {}
        keep_freed_memory()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._ep.register(self._wake_r, select.EPOLLIN)
        self._monitor: LinkMonitor | None = None
        self._stop = False
        self._flush_soon = False   # Output may be left in a device's queue: flush again shortly.
        self.n_batches = 0
        self.n_errors = 0
        self._thread = threading.Thread(target=self._main, name="pmd", daemon=True)
        self._thread.start()

    def set_ports(self, ports: list[tuple[Netdev, Callable[[Any], None]]]) -> None:
        """The devices to read and, for each, what takes its batches.  Called under the switch lock."""
        new: dict[int, tuple[Netdev, Callable[[Any], None]]] = {}
        for dev, receive in ports:
            fd = dev.rx_fileno()
            if fd is not None:
                new[fd] = (dev, receive)
        for fd, (dev, _) in self._ports.items():
            if fd not in new or new[fd][0] is not dev:
                try:
                    self._ep.unregister(fd)
                except OSError:
                    pass   # Closed already: the kernel took it out of the set.
        for fd, (dev, _) in new.items():
            old = self._ports.get(fd)
            if old is None or old[0] is not dev:
                try:
                    self._ep.register(fd, select.EPOLLIN)
                except FileExistsError:
                    self._ep.modify(fd, select.EPOLLIN)
        self._ports = new

    def _main(self) -> None:
        # Opened here, not in the caller's thread: pyroute2 cannot start in a thread whose asyncio loop runs.
        try:
            self._monitor = LinkMonitor()
            self._ep.register(self._monitor.fileno(), select.EPOLLIN)
        except Exception as e:  # noqa: BLE001 - pyroute2 raises anything; the switch works without it
            log.warning("link notifications unavailable (%s): device changes are seen at statistics time", e)
            self._monitor = None
        while not self._stop:
            try:
                events = self._ep.poll(0.001 if self._flush_soon else 1.0)
            except InterruptedError:
                continue
            if self._flush_soon:
                self._flush()
            for fd, ev in events:
                if fd == self._wake_r:
                    try:
                        os.read(self._wake_r, 64)
                    except BlockingIOError:
                        pass
                    continue
                if self._monitor is not None and fd == self._monitor.fileno():
                    self._links()
                    continue
                self._receive(fd, ev)

    def _links(self) -> None:
        assert self._monitor is not None
        try:
            names = self._monitor.drain()
        except OSError as e:
            log.warning("link notifications: %s", e)
            return
        if names:
            with self.lock:
                try:
                    self.on_links(names)
                except Exception:
                    log.exception("handling link notifications failed")

    def _receive(self, fd: int, ev: int) -> None:
        with self.lock:
            entry = self._ports.get(fd)
            if entry is None:
                return
            dev, receive = entry
            try:
                batch = dev.recv_batch(BATCH_FRAMES)
            except Exception:
                self.n_errors += 1
                log.exception("%s: receiving failed", dev.name)
                batch = None
            if batch is None:
                if ev & (select.EPOLLERR | select.EPOLLHUP):
                    # The device is going away: stop watching it until the bridge has dealt with it.
                    self._forget(fd)
                    self.on_links({dev.name})
                return
            try:
                self.n_batches += 1
                receive(batch)
            except Exception:
                self.n_errors += 1
                log.exception("%s: processing a batch of %d frames failed", dev.name, len(batch))
            finally:
                batch.release()
            self._flush_soon = True

    def _flush(self) -> None:
        """Flush every device again; output a full queue held back goes now (see ``Netdev.flush``)."""
        with self.lock:
            waiting = False
            for dev, _ in self._ports.values():
                try:
                    waiting |= bool(dev.flush())
                except Exception:
                    log.exception("%s: flushing failed", dev.name)
            self._flush_soon = waiting

    def _forget(self, fd: int) -> None:
        self._ports.pop(fd, None)
        try:
            self._ep.unregister(fd)
        except OSError:
            pass

    def close(self) -> None:
        self._stop = True
        os.write(self._wake_w, b"x")
        self._thread.join(5.0)
        if self._monitor is not None:
            self._monitor.close()
        self._ep.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
