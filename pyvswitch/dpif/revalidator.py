"""The revalidator: keeps a datapath's megaflows true to the current translation, expires idle ones and
collects their statistics (Open vSwitch's ``ofproto-dpif-upcall`` revalidator threads, in one pass).

A megaflow was installed because translation of some packet gave ``(actions, mask)``.  After the OpenFlow
tables change (or MAC learning, groups, ports...), the same translation may give something else, and the
megaflow would keep forwarding the old way.  :meth:`Revalidator.revalidate` therefore walks every installed
flow and, with the owner's ``translate(key) -> (actions, mask) | None`` (translation with side effects off,
STYLE.md item 7), decides:

* **expire**: the flow has been idle (since its last use, or its creation if never used) for longer than
  ``max_idle`` seconds (``other_config:max-idle``, 10 s by default) -> deleted, without translating;
* **delete**: translation fails (``None``), or needs a key bit the installed mask wildcards (``new_mask &
  ~mask != 0``: the megaflow is now too wide, so it would wrongly cover packets that translate differently);
* **modify**: the mask still covers everything translation consults but the actions differ -> the actions
  are replaced in place (``flow_put(..., modify=True)``), statistics kept, as Open vSwitch does;
* **keep**: same actions, and the installed mask covers the new one.  A megaflow narrower than it needs to
  be (the new mask is a strict subset of the installed one) is still correct, and Open vSwitch keeps it too.

The translated key is the key of the packet that installed the flow (``DpifFlow.orig_key``; the masked key when
the datapath does not keep it), as Open vSwitch's revalidators translate their ukeys' keys: every bit translation
consulted when it was installed is in the mask, so a translation that consults the same bits sees the same
values; one that consults more shows it in its mask, and the flow is deleted.  (Translating the masked key
instead would see wildcarded bits as zeros, which a translation may treat differently: a VLAN priority of 0.)
The datapath's own exact bits (``in_port``, ``recirc_id`` in the userspace datapath) are part of the installed
mask and so never cause a deletion.

Statistics
----------
``revalidate`` returns one :class:`FlowStatsDelta` per flow that carried traffic since the previous pass or
that was deleted, modified or expired: the packets, bytes and TCP flags since the last push and the flow's
last use (``tcp_flags`` are all the flags the flow has seen, as Open vSwitch pushes them), for the owner to credit the OpenFlow rules the flow came from (``xlate`` with stats).  A deleted
flow's final statistics are those ``flow_del`` returns, so nothing is lost between the dump and the delete.

Not done: the dynamic flow limit (Open vSwitch lowers ``flow_limit`` when a pass takes too long); the owner
may set the datapath's limit itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyvswitch.dpif.dpif import Dpif, DpifFlow
from pyvswitch.dpif.flow_cache import DEFAULT_MAX_IDLE
from pyvswitch.dpif.odp import Action

__all__ = ["DELETE", "EXPIRE", "KEEP", "MODIFY", "FlowStatsDelta", "Revalidator", "Translate"]

KEEP, MODIFY, DELETE, EXPIRE = "keep", "modify", "delete", "expire"

Translate = Callable[[int], "tuple[Sequence[Action], int] | None"]
"""``translate(key) -> (actions, mask)``, or None when the key no longer translates."""


@dataclass(frozen=True, slots=True)
class FlowStatsDelta:
    """What one revalidation pass did to one flow and the traffic it carried since the previous push.

    ``outcome`` is ``keep``, ``modify``, ``delete`` or ``expire``; ``key``/``mask``/``actions`` are the flow
    as it was installed before the pass (the actions that carried these packets)."""

    ufid: int
    key: int
    mask: int
    actions: tuple[Action, ...]
    packets: int
    bytes: int
    tcp_flags: int
    used: float
    outcome: str


class Revalidator:
    """Revalidates the flows of ``dpif`` with ``translate``.  ``max_idle`` is in seconds."""

    def __init__(self, dpif: Dpif, translate: Translate, max_idle: float = DEFAULT_MAX_IDLE) -> None:
        self.dpif = dpif
        self.translate = translate
        self.max_idle = max_idle
        # ufid -> (packets, bytes) already pushed to the owner.
        self._pushed: dict[int, tuple[int, int]] = {}
        self.n_deleted = 0
        self.n_modified = 0
        self.n_expired = 0

    def revalidate(self, now: float, full: bool = True) -> list[FlowStatsDelta]:
        """One pass over every flow (see the module docstring); returns the statistics deltas.  Without ``full``
        flows are only expired and their statistics collected, not re-translated: Open vSwitch's revalidators
        skip translation the same way when nothing translation reads has changed since a flow was checked."""
        flows = list(self.dpif.flow_dump())
        deltas = self.revalidate_flows(flows, now, full)
        self.forget_except({f.ufid for f in flows})
        return deltas

    def forget_except(self, ufids: set[int]) -> None:
        """Forget the flows not in ``ufids`` (they disappeared behind our back: ``dpctl/del-flows``)."""
        for ufid in [u for u in self._pushed if u not in ufids]:
            del self._pushed[ufid]

    def revalidate_flows(self, flows: Sequence[DpifFlow], now: float, full: bool = True) -> list[FlowStatsDelta]:
        """The same for ``flows`` only (the owner knows the others cannot have changed)."""
        deltas: list[FlowStatsDelta] = []
        for flow in flows:
            outcome = self._judge(flow, now, full)
            final = flow
            if outcome in (DELETE, EXPIRE):
                gone = self.dpif.flow_del(flow.ufid)
                if gone is not None:
                    final = gone
                if outcome == DELETE:
                    self.n_deleted += 1
                else:
                    self.n_expired += 1
            delta = self._delta(final, outcome)
            if delta is not None:
                deltas.append(delta)
            if outcome in (DELETE, EXPIRE):
                self._pushed.pop(flow.ufid, None)
        return deltas

    def _judge(self, flow: DpifFlow, now: float, full: bool = True) -> str:
        if now - (flow.used or flow.created) > self.max_idle:
            return EXPIRE
        if not full:
            return KEEP
        result = self.translate(flow.key if flow.orig_key is None else flow.orig_key)
        if result is None:
            return DELETE
        actions, mask = result
        if mask & ~flow.mask:
            return DELETE
        actions = tuple(actions)
        if actions != flow.actions:
            self.dpif.flow_put(flow.key, flow.mask, actions, flow.ufid, create=False, modify=True)
            self.n_modified += 1
            return MODIFY
        return KEEP

    def _delta(self, flow: DpifFlow, outcome: str) -> FlowStatsDelta | None:
        packets, nbytes = self._pushed.get(flow.ufid, (0, 0))
        dp, db = flow.packets - packets, flow.bytes - nbytes
        self._pushed[flow.ufid] = (flow.packets, flow.bytes)
        if not dp and not db and outcome == KEEP:
            return None
        return FlowStatsDelta(flow.ufid, flow.key, flow.mask, flow.actions, dp, db, flow.tcp_flags, flow.used,
                              outcome)
