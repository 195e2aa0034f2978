"""An OpenFlow rule (flow entry): what a flow table holds.

A ``Rule`` is created by ``FlowTables`` (``ofproto.table``) when it applies an add, and lives until a delete,
a timeout or an eviction removes it.  A modify changes a rule in place (actions, maybe cookie, maybe counters), so
one object represents one flow entry for its whole life, and whoever holds a reference to it (translation, the
revalidator crediting statistics, a flow monitor) keeps seeing the same entry.  An add that replaces an entry with
the same match and priority creates a *new* rule; the old one is gone.

Times
-----
All times are seconds on the monotonic scale of the bridge's injected clock (``pyvswitch.util.clock``):

- ``created``: when the entry was added.  OpenFlow's ``duration`` counts from it; an add that replaces an entry
  restarts it, a modify does not (as in Open vSwitch).
- ``modified``: when it was added or last modified.  Open vSwitch measures the hard timeout from here, so a modify
  postpones a hard timeout; ovs-ofctl shows ``now - modified`` as ``hard_age``.
- ``used``: when a packet last hit it (or when it was created, if never).  The idle timeout is measured from here;
  ovs-ofctl shows ``now - used`` as ``idle_age``.  Open vSwitch carries ``used`` over when an add replaces an entry.

Counters
--------
``n_packets`` and ``n_bytes`` always count, and statistics report them whatever the OpenFlow 1.3
``no_packet_counts``/``no_byte_counts`` flags say: the flags only advise that the controller does not need the
counts, and Open vSwitch's software switch, like this one, counts anyway (ovs-ofctl(8)).
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Sequence
from typing import Any, NamedTuple

from pyvswitch.flow.match import Match
from pyvswitch.ofproto.actions.model import Conjunction
from pyvswitch.ofproto.flow_mod import FlowModFlags

_next_id = itertools.count(1)
_NO_FLAGS = FlowModFlags(0)


class RemovedReason(enum.IntEnum):
    """Why a rule left its table: the ``reason`` of an OpenFlow flow-removed message (``ofp_flow_removed_reason``,
    OpenFlow 1.4 added METER_DELETE and EVICTION)."""

    IDLE_TIMEOUT = 0
    HARD_TIMEOUT = 1
    DELETE = 2
    GROUP_DELETE = 3
    METER_DELETE = 4
    EVICTION = 5


def conjunctions_of(actions: Sequence[Any]) -> tuple[tuple[int, int, int], ...]:
    """The conjunctive clauses a rule with ``actions`` belongs to, as the classifier wants them: (id, k, n) with
    ``1 <= k <= n``.  (``Conjunction.clause`` counts from 0, as on the wire; the classifier, like ovs-actions(7)'s
    ``conjunction(id, k/n)``, counts from 1.)

    A rule is a clause of a conjunctive match exactly when its action list is made of ``conjunction`` actions only
    (Open vSwitch refuses to mix them with other actions).  Any other rule gives ``()``."""
    if not actions:
        return ()
    out = []
    for a in actions:
        if not isinstance(a, Conjunction):
            return ()
        out.append((a.id, a.clause + 1, a.n_clauses))
    return tuple(out)


class Rule:
    """One flow entry.  See the module documentation for the meaning of the times and counters.

    ``id`` is an insertion identity: unique within the process, increasing in the order rules were created, and
    kept across modifies.  It gives dumps a stable order among rules of equal priority.  ``installed`` is true
    while the rule is in a table; translation results that refer to a rule whose ``installed`` became false are
    stale."""

    __slots__ = (
        "actions", "conjunctions", "cookie", "created", "flags", "hard_timeout", "id", "idle_timeout", "importance",
        "installed", "match", "modified", "n_bytes", "n_packets", "priority", "table_id", "used",
    )

    def __init__(
        self,
        match: Match,
        priority: int,
        *,
        table_id: int = 0,
        cookie: int = 0,
        idle_timeout: int = 0,
        hard_timeout: int = 0,
        importance: int = 0,
        flags: FlowModFlags = _NO_FLAGS,
        actions: Sequence[Any] = (),
        now: float = 0.0,
    ) -> None:
        self.match = match
        self.priority = priority
        self.table_id = table_id
        self.cookie = cookie
        self.idle_timeout = idle_timeout
        self.hard_timeout = hard_timeout
        self.importance = importance
        self.flags = FlowModFlags(flags)
        self.actions: tuple[Any, ...] = tuple(actions)
        self.conjunctions = conjunctions_of(self.actions)
        self.n_packets = 0
        self.n_bytes = 0
        self.created = now
        self.modified = now
        self.used = now
        self.id = next(_next_id)
        self.installed = False

    # Statistics.

    def record_hit(self, packets: int, nbytes: int, now: float) -> None:
        """Credit ``packets`` packets of ``nbytes`` bytes in total, the last of them seen at ``now``."""
        self.n_packets += packets
        self.n_bytes += nbytes
        if packets and now > self.used:
            self.used = now

    def reset_counts(self) -> None:
        self.n_packets = 0
        self.n_bytes = 0

    def duration(self, now: float) -> tuple[int, int]:
        """Time since the entry was added, as OpenFlow's (duration_sec, duration_nsec)."""
        d = max(0.0, now - self.created)
        sec = int(d)
        nsec = min(round((d - sec) * 1e9), 999_999_999)
        return sec, nsec

    def idle_age(self, now: float) -> float:
        return max(0.0, now - self.used)

    def hard_age(self, now: float) -> float:
        return max(0.0, now - self.modified)

    # Timeouts.

    @property
    def has_timeout(self) -> bool:
        return bool(self.idle_timeout or self.hard_timeout)

    def expires_at(self) -> float | None:
        """When the first of the rule's timeouts falls due, or None for a permanent rule."""
        t: float | None = None
        if self.hard_timeout:
            t = self.modified + self.hard_timeout
        if self.idle_timeout:
            idle = self.used + self.idle_timeout
            t = idle if t is None else min(t, idle)
        return t

    def expired(self, now: float) -> RemovedReason | None:
        """Which timeout has passed at ``now``, if any.  The hard timeout wins when both have, as in Open
        vSwitch."""
        if self.hard_timeout and now >= self.modified + self.hard_timeout:
            return RemovedReason.HARD_TIMEOUT
        if self.idle_timeout and now >= self.used + self.idle_timeout:
            return RemovedReason.IDLE_TIMEOUT
        return None

    @property
    def send_flow_rem(self) -> bool:
        return bool(self.flags & FlowModFlags.SEND_FLOW_REM)

    def __repr__(self) -> str:
        return (f"Rule(table={self.table_id}, priority={self.priority}, match={self.match!r}, "
                f"cookie={self.cookie:#x}, actions={list(self.actions)!r}, id={self.id})")


class Removed(NamedTuple):
    """A rule that left its table and why.  Only those with ``send_flow_rem`` produce a flow-removed message."""

    rule: Rule
    reason: RemovedReason

    @property
    def send_flow_rem(self) -> bool:
        return self.rule.send_flow_rem
