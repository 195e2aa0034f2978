"""The netdev provider contract and the registry of providers by type string.

A *netdev* is one network device as the switch sees it: something frames are received from and transmitted to,
with a name, an Ethernet address, an MTU, an administrative and a link state, and counters.  The contract below is
what the bridge layer (``pyvswitch.vswitchd.bridge``) and, later, the datapath rely on, in the manner of Open
vSwitch's ``netdev-provider.h``.

Rules shared by every method:

* A netdev is created by :func:`create` with its name, its type string and its ``options`` map (the Interface
  row's ``options`` column).  A provider that cannot create the device raises :class:`NetdevError` with the
  message the switch writes to the Interface row's ``error`` column; it never raises anything else for bad
  configuration, and it never takes the process down.
* Methods are called from the daemon's bridge thread or from its control-socket thread, always with the switch's
  lock held, so providers need no locking of their own.  No method may block for long: ``send`` either queues or
  writes and returns.
* Frames are ``bytes`` holding an Ethernet frame without FCS.  The netdev does not keep references to frames it is
  given beyond the call, except in explicit queues it documents.
* Statistics are monotonic counters owned by the netdev (:class:`NetdevStats`); the bridge copies them to the
  Interface row's ``statistics`` column.

Batched input and output (devices backed by the kernel: ``system``, ``tap``, ``internal``)
-----------------------------------------------------------------------------------------
A device that receives by itself offers a file descriptor (:meth:`Netdev.rx_fileno`) that the datapath's poll
thread watches; when it is readable the thread calls :meth:`Netdev.recv_batch`, which returns every frame ready
now (up to a bound) as one :class:`PacketBatch`, without blocking, and then :meth:`PacketBatch.release` once the
frames are processed.  Frames live wherever the provider keeps them (a memory-mapped ring, a buffer): a batch is
offsets and lengths into one numpy byte array, so that the datapath can read headers of the whole batch at once.

Offloads: a device that exchanges virtio-net headers with the kernel (``PACKET_VNET_HDR``, ``IFF_VNET_HDR``)
marks its batches ``vnet``: the 10-byte ``struct virtio_net_hdr`` of each frame sits right before the frame.  It
tells whether the frame's L4 checksum is still to be completed (``NEEDS_CSUM``, ``csum_start``, ``csum_offset``)
and whether it is a TCP/UDP super-frame to be segmented (``gso_type``, ``gso_size``).  :meth:`Netdev.send` takes
the same header; a device that cannot pass offloads on resolves them first (:mod:`pyvswitch.netdev.offload`).

Output may be queued: :meth:`Netdev.send` and :meth:`Netdev.send_batch` may hold frames until :meth:`Netdev.flush`,
which the datapath calls after each batch it processed.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

__all__ = ["VNET_HDR_LEN", "Netdev", "NetdevError", "NetdevStats", "PacketBatch", "RxHandler", "create", "register",
           "registered_types"]

#: Length of ``struct virtio_net_hdr`` (without ``num_buffers``), as the kernel exchanges it with AF_PACKET and TAP.
VNET_HDR_LEN = 10


class NetdevError(Exception):
    """A device cannot be created or configured; ``str(e)`` is the text for the Interface ``error`` column."""


@dataclass
class NetdevStats:
    """Counters of one netdev, named as in the Interface ``statistics`` column."""

    rx_packets: int = 0
    rx_bytes: int = 0
    tx_packets: int = 0
    tx_bytes: int = 0
    rx_dropped: int = 0
    tx_dropped: int = 0

    def as_map(self, names: tuple[str, ...] | None = None) -> dict[str, int]:
        """The counters as a column map; ``names`` limits it to the counters a provider supports."""
        return {f.name: getattr(self, f.name) for f in fields(self) if names is None or f.name in names}


class PacketBatch:
    """Frames received together from one device.

    * ``buf``: a one-dimensional ``numpy.uint8`` array holding the frames (a view of a ring or a buffer);
    * ``offs``, ``lens``: ``numpy.int64`` arrays; frame ``i`` is ``buf[offs[i]:offs[i] + lens[i]]``;
    * ``vnet``: when true, frame ``i``'s virtio-net header is ``buf[offs[i] - 10:offs[i]]``;
    * ``vlan``: ``None`` when no frame had its VLAN tag taken out by the kernel, else a ``numpy.int64`` array:
      -1 for a frame without one, else ``tpid << 16 | tci`` of the tag to put back in front of the EtherType.

    The arrays are valid until :meth:`release`, which hands the memory back to the device."""

    __slots__ = ("_release", "buf", "lens", "offs", "vlan", "vnet")

    def __init__(self, buf: np.ndarray, offs: np.ndarray, lens: np.ndarray, *, vnet: bool = False,
                 vlan: np.ndarray | None = None, release: Callable[[], None] | None = None) -> None:
        self.buf = buf
        self.offs = offs
        self.lens = lens
        self.vnet = vnet
        self.vlan = vlan
        self._release = release

    @classmethod
    def from_frames(cls, frames: list[bytes], vnet_hdrs: list[bytes] | None = None) -> PacketBatch:
        """A batch holding copies of ``frames`` (each preceded by its virtio-net header when ``vnet_hdrs``)."""
        pre = VNET_HDR_LEN if vnet_hdrs is not None else 0
        parts: list[bytes] = []
        offs, pos = [], 0
        for i, f in enumerate(frames):
            if vnet_hdrs is not None:
                parts.append(vnet_hdrs[i])
            parts.append(f)
            offs.append(pos + pre)
            pos += pre + len(f)
        buf = np.frombuffer(b"".join(parts), dtype=np.uint8) if parts else np.zeros(0, np.uint8)
        return cls(buf, np.array(offs, np.int64), np.array([len(f) for f in frames], np.int64),
                   vnet=vnet_hdrs is not None)

    def __len__(self) -> int:
        return len(self.offs)

    def frame(self, i: int) -> bytes:
        """Frame ``i`` as bytes, with the VLAN tag the kernel took out put back."""
        o = int(self.offs[i])
        data = self.buf[o:o + int(self.lens[i])].tobytes()
        if self.vlan is not None and self.vlan[i] >= 0:
            v = int(self.vlan[i])
            data = data[:12] + (v >> 16).to_bytes(2, "big") + (v & 0xFFFF).to_bytes(2, "big") + data[12:]
        return data

    def frames(self) -> list[bytes]:
        return [self.frame(i) for i in range(len(self.offs))]

    def vnet_hdr(self, i: int) -> bytes | None:
        """Frame ``i``'s virtio-net header, or None for a batch without them.  For a frame whose VLAN tag
        :meth:`frame` puts back, the header's offsets are moved past the tag."""
        if not self.vnet:
            return None
        o = int(self.offs[i])
        hdr = self.buf[o - VNET_HDR_LEN:o].tobytes()
        if self.vlan is not None and self.vlan[i] >= 0 and hdr[0]:
            hdr_len, csum_start = int.from_bytes(hdr[2:4], "little"), int.from_bytes(hdr[6:8], "little")
            hdr = (hdr[:2] + (hdr_len + 4 if hdr_len else 0).to_bytes(2, "little") + hdr[4:6]
                   + (csum_start + 4).to_bytes(2, "little") + hdr[8:])
        return hdr

    def release(self) -> None:
        if self._release is not None:
            rel, self._release = self._release, None
            rel()


#: Called with (netdev, frame) for every frame the device receives.  The bridge installs it; the datapath will.
RxHandler = Callable[["Netdev", bytes], None]


class Netdev(abc.ABC):
    """One network device.  Subclasses implement the abstract methods; the attributes are read by the bridge.

    Attributes: ``name`` (the device name, also the Interface name), ``type`` (the registered type string the
    device was created as), ``netdev_class`` (how ``dpif/show`` describes it, e.g. ``dummy-internal``)."""

    def __init__(self, name: str, type_: str) -> None:
        self.name = name
        self.type = type_
        self.netdev_class = type_
        self.stats = NetdevStats()
        self.rx_handler: RxHandler | None = None

    @abc.abstractmethod
    def set_config(self, options: Mapping[str, str]) -> None:
        """Apply the Interface ``options`` map.  Called once right after creation and again whenever the options
        change.  Raises :class:`NetdevError` for an unknown or invalid option (the previous configuration stays)."""

    @abc.abstractmethod
    def send(self, frame: bytes, vnet: bytes | None = None) -> bool:
        """Transmit one frame out of the device.  ``vnet`` is the frame's virtio-net header when it has offloads
        pending (None: the frame is complete).  Returns True if it was sent or queued, False if it was dropped
        (counted in ``tx_dropped``).  Must not block."""

    def send_batch(self, batch: PacketBatch, idx: Any) -> None:
        """Transmit frames ``idx`` (a sequence or integer array of indexes) of ``batch`` unchanged.  Providers with
        a transmit ring copy them there in one go; the default sends them one by one."""
        for i in idx:
            self.send(batch.frame(int(i)), batch.vnet_hdr(int(i)))

    def flush(self) -> bool:
        """Hand queued output to the device (the datapath calls it after every batch).  Returns True when some of
        it still waits (the device's queue was full): the caller flushes again soon, even without new frames."""
        return False

    def rx_fileno(self) -> int | None:
        """A file descriptor that is readable when frames wait to be received, or None for a device that does not
        receive by itself (dummy and patch ports)."""
        return None

    def recv_batch(self, max_frames: int = 1024) -> PacketBatch | None:
        """The frames ready now, at most about ``max_frames``, without blocking (None: nothing).  The caller
        releases the batch before asking for the next one."""
        return None

    def poll(self) -> bool:
        """Look at the device again (state, statistics); returns True when something the database shows changed,
        or the device vanished (then :meth:`error` says so).  Called periodically and on link notifications."""
        return False

    def error(self) -> str | None:
        """Why the device cannot work now (it vanished...), as the Interface ``error`` column says it, or None."""
        return None

    @abc.abstractmethod
    def close(self) -> None:
        """Release the device's resources (files, sockets, kernel devices).  Called once; the netdev is not used
        afterwards."""

    def receive(self, frame: bytes) -> None:
        """Account for a frame received from the outside and hand it to ``rx_handler`` (dropped if none is set).
        Providers call this from their receive path; tests and ``netdev-dummy/receive`` call it for dummy ports."""
        self.stats.rx_packets += 1
        self.stats.rx_bytes += len(frame)
        if self.rx_handler is not None:
            self.rx_handler(self, frame)

    #: The counters this provider maintains; others are left out of the ``statistics`` column, as Open vSwitch
    #: leaves out counters a device does not support.
    stats_names: tuple[str, ...] | None = None

    def stats_map(self) -> dict[str, int]:
        """The Interface ``statistics`` column."""
        return self.stats.as_map(self.stats_names)

    def get_etheraddr(self) -> str:
        """The device's Ethernet address as ``xx:xx:xx:xx:xx:xx`` (the Interface ``mac_in_use`` column)."""
        return "00:00:00:00:00:00"

    def get_mtu(self) -> int:
        """The device's MTU in bytes (the Interface ``mtu`` column)."""
        return 1500

    def set_mtu(self, mtu: int) -> None:
        """Apply the Interface ``mtu_request``.  Raises :class:`NetdevError` if the device cannot take it (the
        default: providers that support it override this)."""
        raise NetdevError(f"{self.name}: setting the MTU is not supported")

    def admin_up(self) -> bool:
        """Whether the device is administratively up (``admin_state``)."""
        return True

    def carrier(self) -> bool:
        """Whether the link is up (``link_state``)."""
        return True


#: type string -> factory(name, type, options) returning a configured Netdev or raising NetdevError.
_REGISTRY: dict[str, Callable[[str, str], Netdev]] = {}


def register(type_: str, factory: Callable[[str, str], Netdev]) -> None:
    """Register ``factory(name, type)`` as the provider of ``type_``.  A later registration replaces an earlier
    one, so tests can substitute a provider."""
    _REGISTRY[type_] = factory


def registered_types() -> list[str]:
    return sorted(_REGISTRY)


def create(name: str, type_: str, options: Mapping[str, str]) -> Netdev:
    """Create and configure a netdev of ``type_``.  An unknown type gives the error Open vSwitch writes for one."""
    factory = _REGISTRY.get(type_)
    if factory is None:
        raise NetdevError(f"could not open network device {name} (Address family not supported by protocol)")
    dev = factory(name, type_)
    try:
        dev.set_config(options)
    except NetdevError:
        dev.close()
        raise
    return dev
