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
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

__all__ = ["Netdev", "NetdevError", "NetdevStats", "RxHandler", "create", "register", "registered_types"]


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
    def send(self, frame: bytes) -> bool:
        """Transmit one frame out of the device.  Returns True if it was sent, False if it was dropped (counted in
        ``tx_dropped``).  Must not block."""

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
