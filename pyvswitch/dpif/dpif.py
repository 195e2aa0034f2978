"""The datapath interface: the contract every datapath provider fulfils, in the manner of Open vSwitch's
``dpif-provider.h``.

A *datapath* forwards packets by megaflows alone.  It never sees OpenFlow: it holds a set of datapath flows,
each a masked flow key (ints in the layout of :mod:`pyvswitch.flow.fields`), its mask, a tuple of datapath
actions (:mod:`pyvswitch.dpif.odp`) and a 128-bit UFID, and it has ports numbered by the datapath.  A packet
that matches no flow is a *miss*: the datapath hands it, with its flow key, to the upcall handler its owner
installed (ofproto's translation), installs the megaflows the handler answers and executes their actions.

Rules shared by every method
----------------------------
* **Ownership.**  One owner (a bridge's ofproto, ``dpctl`` commands, tests) drives a datapath.  Calls are not
  thread-safe: the owner serialises them (the daemon holds its switch lock).  No method blocks for long.
* **Keys and masks.**  ``flow_put`` stores ``key & mask``.  A provider may match more bits than asked (the
  userspace datapath always matches ``in_port`` and ``recirc_id`` exactly) and reports the mask it really uses
  in ``flow_get``/``flow_dump``.  Flows installed by one owner must not overlap (see
  :mod:`pyvswitch.dpif.flow_cache`); the datapath does not check it.
* **Flow identity.**  A flow is named by its UFID or by its exact (masked key, mask).  ``flow_put`` without a
  UFID derives one from the key and mask.
* **Statistics.**  Flow statistics (packets, bytes, last use, TCP flags seen) are counted by the datapath for
  packets that *hit* the flow.  A packet that missed and went through the upcall handler is not counted in the
  flow it caused to be installed: the owner accounts it when translating, as Open vSwitch does (its dump then
  shows ``packets:0, used:never`` for a flow installed by a single packet).
* **Time.**  Providers take an injected clock (seconds, float); ``used == 0.0`` means never used.
* **Errors.**  A request that cannot be honoured raises :class:`DpifError` carrying the errno name Open
  vSwitch would report (``EEXIST``, ``ENOENT``, ``EFBIG`` for the flow limit, ``EBUSY`` for a port number in
  use).  Packet content never raises.

The upcall handler
------------------
``dpif.upcall_handler`` is a callable the owner installs::

    handler(misses: list[tuple[bytes, int]]) -> list[tuple[int, int | None, tuple[Action, ...]] | None]

It is called with the missed packets of one received batch, each as ``(frame, flow_key)``, once per batch, and
returns one answer per packet, in order: ``(key, mask, actions)`` installs ``key & mask -> actions`` and
executes the actions on that packet; a ``mask`` of ``None`` executes without installing (a packet that must
always go to the slow path); ``None`` is a failed upcall: the packet is dropped and counted as *lost*.  When
the flow limit refuses the flow, the actions are still executed for the packet and the upcall counts as lost
(Open vSwitch's ``ENOSPC`` case).  Without a handler every miss is lost.

The handler may call ``flow_put``/``flow_del`` but must not call ``receive``; recirculated packets are fed
back by the datapath itself.  It must answer exactly one entry per packet (else ``ValueError``); an exception
it raises propagates to the caller of ``receive`` (the packets of the batch that hit were already sent).

``dpctl`` text
--------------
:meth:`Dpif.show`, :meth:`Dpif.dump_flows` and :meth:`Dpif.del_flows` are implemented here on top of the
abstract methods, and print what ``ovs-appctl dpctl/show`` and ``dpctl/dump-flows`` print for Open vSwitch 3.1
(checked against a real ovs-vswitchd with a dummy datapath: see ``tests/dpif/test_netdev_dpif.py``, and
``tests/dpif/test_dump_verbose.py`` for ``dump-flows -m`` with and without port names).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from pyvswitch.dpif.execute import PacketMetadata
from pyvswitch.dpif.flow_cache import format_ufid
from pyvswitch.dpif.odp import Action, format_dp_flow_line

__all__ = [
    "Dpif",
    "DpifError",
    "DpifFlow",
    "DpifPort",
    "DpifStats",
    "UpcallAnswer",
    "UpcallHandler",
]

UpcallAnswer = tuple[int, int | None, Sequence[Action]] | None
"""One answer of the upcall handler: ``(key, mask, actions)``, ``(key, None, actions)`` or ``None``."""

UpcallHandler = Callable[[list[tuple[bytes, int]]], Sequence[UpcallAnswer]]
"""``handler([(frame, key), ...]) -> [answer, ...]``: see the module docstring."""


class DpifError(Exception):
    """A datapath request failed.  ``errno_name`` is the errno Open vSwitch would report (``"EEXIST"``)."""

    def __init__(self, errno_name: str, message: str) -> None:
        super().__init__(f"{message} ({errno_name})")
        self.errno_name = errno_name


@dataclass(frozen=True, slots=True)
class DpifPort:
    """One datapath port: its name, its datapath port number and its type as ``dpctl/show`` prints it
    (``dummy``, ``dummy-internal``, ``tap``, ``system``)."""

    name: str
    port_no: int
    type: str


@dataclass(frozen=True, slots=True)
class DpifFlow:
    """A snapshot of one datapath flow.  ``key`` is masked; ``used`` and ``created`` are clock seconds
    (``used == 0.0``: never used); ``tcp_flags`` are the TCP flags seen, OR-ed.  ``orig_key``, when the
    provider knows it, is the unmasked key of the packet that created the flow (``dpctl/dump-flows -m`` prints
    it); None stands for ``key``."""

    ufid: int
    key: int
    mask: int
    actions: tuple[Action, ...]
    packets: int = 0
    bytes: int = 0
    used: float = 0.0
    tcp_flags: int = 0
    created: float = 0.0
    orig_key: int | None = None


@dataclass(frozen=True, slots=True)
class DpifStats:
    """The datapath counters of ``dpctl/show``: lookups that hit a flow, that missed (upcalls), that were lost
    (failed upcalls), the number of flows, and, for providers that count them (Open vSwitch's kernel
    datapath does, its userspace one does not), the masks probed (``n_mask_hit``) and the number of masks."""

    n_hit: int
    n_missed: int
    n_lost: int
    n_flows: int
    n_mask_hit: int | None = None
    n_masks: int | None = None


class Dpif(abc.ABC):
    """A datapath.  ``name`` is the datapath's name (``ovs-dummy``), ``dpif_type`` its type (``dummy``,
    ``netdev``); ``dpctl/show`` heads its output ``TYPE@NAME:``.  ``upcall_handler`` is installed by the
    owner (see the module docstring)."""

    def __init__(self, name: str, dpif_type: str) -> None:
        self.name = name
        self.dpif_type = dpif_type
        self.upcall_handler: UpcallHandler | None = None

    # -- Ports ---------------------------------------------------------------------------------------

    @abc.abstractmethod
    def port_add(self, name: str, type_: str, port_no: int | None = None) -> int:
        """Add a port named ``name`` and return its datapath port number: ``port_no`` if given (``EBUSY``
        if taken), else the lowest free number from 1.  A name already in the datapath is ``EEXIST``."""

    @abc.abstractmethod
    def port_del(self, port_no: int) -> None:
        """Remove port ``port_no`` (``ENOENT`` if absent).  Flows that name it stay until revalidated."""

    @abc.abstractmethod
    def port_list(self) -> list[DpifPort]:
        """Every port, by increasing port number."""

    def port_query_by_name(self, name: str) -> DpifPort | None:
        """The port named ``name``, or None."""
        return next((p for p in self.port_list() if p.name == name), None)

    def port_query_by_number(self, port_no: int) -> DpifPort | None:
        """The port numbered ``port_no``, or None."""
        return next((p for p in self.port_list() if p.port_no == port_no), None)

    # -- Flows ---------------------------------------------------------------------------------------

    @abc.abstractmethod
    def flow_put(self, key: int, mask: int, actions: Sequence[Action], ufid: int | None = None, *,
                 create: bool = True, modify: bool = False, zero_stats: bool = False) -> DpifFlow:
        """Install or change the flow ``key & mask -> actions`` (Open vSwitch's ``DPIF_FP_*`` flags).

        A new flow needs ``create`` (else ``ENOENT``) and room under the flow limit (else ``EFBIG``); an
        existing identical (masked key, mask) needs ``modify`` (else ``EEXIST``), which replaces its actions
        in place, keeping its statistics unless ``zero_stats``.  Returns a snapshot of the flow."""

    @abc.abstractmethod
    def flow_get(self, ufid: int) -> DpifFlow | None:
        """A snapshot of the flow with this UFID, or None."""

    @abc.abstractmethod
    def flow_del(self, ufid: int) -> DpifFlow | None:
        """Remove the flow with this UFID and return its final snapshot (None if there was none)."""

    @abc.abstractmethod
    def flow_flush(self) -> int:
        """Remove every flow; returns how many there were."""

    @abc.abstractmethod
    def flow_dump(self) -> Iterator[DpifFlow]:
        """Snapshots of every flow, in installation order.  Flows may change while the dump runs."""

    # -- Packets -------------------------------------------------------------------------------------

    @abc.abstractmethod
    def execute(self, packet: bytes, actions: Sequence[Action], md: PacketMetadata | None = None) -> None:
        """Apply ``actions`` to ``packet`` as if it had hit a flow (``dpif_execute``: packet-out, the
        upcall's own packet).  ``md.in_port`` is the packet's input port.  No flow is installed or counted."""

    # -- Statistics ----------------------------------------------------------------------------------

    @abc.abstractmethod
    def get_stats(self) -> DpifStats:
        """The datapath's counters."""

    def now(self) -> float:
        """The provider's clock, for ``used`` ages in dumps.  Providers with an injected clock override it."""
        return 0.0

    # -- dpctl ---------------------------------------------------------------------------------------

    def show(self) -> list[str]:
        """The lines of ``ovs-appctl dpctl/show`` for this datapath (without statistics per port)."""
        s = self.get_stats()
        lines = [f"{self.dpif_type}@{self.name}:",
                 f"  lookups: hit:{s.n_hit} missed:{s.n_missed} lost:{s.n_lost}",
                 f"  flows: {s.n_flows}"]
        if s.n_mask_hit is not None and s.n_masks is not None:
            pkts = s.n_hit + s.n_missed
            avg = s.n_mask_hit / pkts if pkts else 0.0
            lines.append(f"  masks: hit:{s.n_mask_hit} total:{s.n_masks} hit/pkt:{avg:.2f}")
        lines.extend(f"  port {p.port_no}: {p.name} ({p.type})" for p in self.port_list())
        return lines

    def dump_flows(self, verbose: bool = False, names: bool | None = None) -> list[str]:
        """The lines of ``ovs-appctl dpctl/dump-flows`` (``-m`` with ``verbose``).

        Like the userspace datapath, the flows are headed by ``flow-dump from the main thread:`` (nothing at
        all when there is no flow).  ``names`` prints ports by name (``--names``/``--no-names``); None, the
        default, means names exactly when ``verbose``, as in ``dpctl``.  Both forms print the flow's
        ``orig_key`` (the unmasked key of the packet that created it) under its mask, so a partly masked
        field shows the packet's bits (``dst=10.1.2.3/255.0.0.0``), as Open vSwitch does; a provider that does
        not know the original key prints the masked one.  ``verbose`` prints the userspace datapath's ``-m``
        lines: ``ufid:UUID, ``, every attribute of the packet that created the flow with the wildcarded ones
        as ``value/0``, ``dp:ovs`` and ``dp-extra-info:miniflow_bits(U0,U1)`` (see
        :mod:`pyvswitch.dpif.odp`)."""
        if names is None:
            names = verbose
        port_names: Mapping[int, str] | None = (
            {p.port_no: p.name for p in self.port_list()} if names else None)
        now = self.now()
        lines: list[str] = []
        for f in self.flow_dump():
            used = max(0.0, now - f.used) if f.used else None
            key = f.key if f.orig_key is None else f.orig_key
            lines.append(format_dp_flow_line(key, f.mask, f.packets, f.bytes, used, f.tcp_flags, f.actions,
                                             port_names, verbose=verbose, ufid=format_ufid(f.ufid)))
        if lines:
            lines.insert(0, "flow-dump from the main thread:")
        return lines

    def del_flows(self) -> None:
        """``ovs-appctl dpctl/del-flows``: remove every flow."""
        self.flow_flush()
