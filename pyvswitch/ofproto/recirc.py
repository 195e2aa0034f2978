"""Recirculation ids: the frozen translation states that datapath ``recirc(N)`` and controller cookies name.

When translation cannot finish in one pass (``ct(table=N)`` must see the connection tracker's verdict, a
``select`` group chooses its bucket by the datapath's ``dp_hash``), or when a ``controller`` action needs the
pipeline state of the packet for its packet-in, it *freezes* what it knows into a ``FrozenState`` and asks the
bridge's ``RecircTable`` for an id.  The id goes into the datapath actions (``recirc(0x5)``, or
``recirc_id=5`` in a ``userspace(...controller(...))`` cookie); a packet that comes back from the datapath with
``recirc_id=5`` in its key resumes the frozen translation (``pyvswitch.ofproto.xlate.translate`` does that),
and the userspace upcall handler of a controller cookie finds the packet-in in ``table.get(5).packet_in``.

Ids are allocated by value, as Open vSwitch does: equal states get the same id, so translating the same key
twice gives the same datapath actions (the revalidator compares them).  All bridges of one datapath share one
table (``XlateBridge.recirc``), since the datapath's ``recirc_id`` space is one; a state names its bridge.

Memory is bounded by the caller: ``retain(ids_in_use)`` forgets every state whose id is not in ``ids_in_use``
and was not allocated (or found again by ``alloc``) since the previous ``retain``.  The daemon calls it after each
revalidation round with the ids its installed datapath flows use (``recirc_ids_of(actions)`` of each flow's
actions, plus the ``recirc_id`` of each flow's key); the one-round grace keeps the ids of translations that were
in flight while the flows were dumped.  Ids are never reused while the table lives (a 32-bit counter from 1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FrozenState", "RecircTable", "recirc_ids_of"]


@dataclass(frozen=True)
class FrozenState:
    """A translation frozen in the middle.

    ``bridge``: the name of the bridge to resume in.  ``table_id``: the table to look up on resume (255: none,
    run ``actions`` directly).  ``key``: the pipeline fields of the working flow key at the freeze (``in_port``
    as that bridge's OpenFlow port, metadata, registers, ``actset_output``), all else zero, so that packets that
    differ only in their headers share the state (and the datapath flow that recirculates them); on resume they
    replace the datapath key's, while the packet's header fields, ``ct_*`` and ``dp_hash`` come from the
    datapath.  ``actions``: the
    actions still to run (a select group's ``group`` action and what followed it), ``action_set`` the action
    set at the freeze.  ``packet_in``: for a controller action, the packet-in to send
    (``pyvswitch.ofproto.xlate.PacketIn``: reason, max_len, controller_id, userdata, table_id, cookie and the
    key with the pipeline fields for its match), see below.  ``conntracked``: whether the freeze came from ``ct``."""

    bridge: str
    table_id: int = 255
    key: int = 0
    actions: tuple[Any, ...] = ()
    action_set: tuple[Any, ...] = ()
    #: Not part of the state's identity (equal states share an id even when their controller actions differ in
    #: reason, max_len or controller id, which the datapath cookie carries): the packet-in of the controller
    #: action that first froze this state.  ``xlate.packet_in_from_cookie`` combines state and cookie exactly.
    packet_in: Any = field(default=None, compare=False, hash=False)
    conntracked: bool = False
    #: The rule cookie and table of the rule whose actions froze, for the resumed rule context.
    cookie: int = 0
    rule_table: int = 0
    #: A controller action's user data (part of the identity, unlike the rest of ``packet_in``).
    userdata: bytes = b""


class RecircTable:
    """Recirculation id -> ``FrozenState``, allocated by value; see the module documentation."""

    def __init__(self) -> None:
        self._by_state: dict[FrozenState, int] = {}
        self._by_id: dict[int, FrozenState] = {}
        self._fresh: set[int] = set()
        self._next = 1

    def alloc(self, state: FrozenState) -> int:
        """The id of ``state``: the existing one when an equal state has one, else a new one.  (A state that
        cannot be hashed, which no action of the model makes, gets a new id each time rather than an error.)"""
        try:
            rid = self._by_state.get(state)
        except TypeError:
            rid = self._new_id()
            self._by_id[rid] = state
            self._fresh.add(rid)
            return rid
        if rid is None:
            rid = self._new_id()
            self._by_state[state] = rid
            self._by_id[rid] = state
        self._fresh.add(rid)
        return rid

    def _new_id(self) -> int:
        rid = self._next
        self._next = self._next % 0xFFFFFFFF + 1
        while rid in self._by_id:          # only after 2**32 allocations
            rid = self._next
            self._next = self._next % 0xFFFFFFFF + 1
        return rid

    def get(self, rid: int) -> FrozenState | None:
        """The state of id ``rid``, or None when it is unknown (never allocated, or dropped by ``retain``)."""
        return self._by_id.get(rid)

    def retain(self, ids_in_use: Iterable[int]) -> int:
        """Forget the states whose id is neither in ``ids_in_use`` nor allocated since the last call; returns how
        many were forgotten."""
        keep = set(ids_in_use) | self._fresh
        self._fresh = set()
        drop = [rid for rid in self._by_id if rid not in keep]
        for rid in drop:
            state = self._by_id.pop(rid)
            try:
                if self._by_state.get(state) == rid:
                    del self._by_state[state]
            except TypeError:
                pass
        return len(drop)

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, rid: object) -> bool:
        return rid in self._by_id


_COOKIE_ID = re.compile(r"\brecirc_id=(\d+)")


def recirc_ids_of(actions: Sequence[Any]) -> set[int]:
    """The recirculation ids datapath actions (``pyvswitch.dpif.odp`` objects) refer to: ``recirc(N)`` and the
    ``recirc_id=N`` of controller cookies, nested actions (clone, sample, check_pkt_len) included."""
    from pyvswitch.dpif import odp

    out: set[int] = set()
    for a in actions:
        if isinstance(a, odp.Recirc):
            out.add(a.id)
        elif isinstance(a, odp.Userspace) and isinstance(a.userdata, str):
            m = _COOKIE_ID.search(a.userdata)
            if m:
                out.add(int(m.group(1)))
        elif isinstance(a, (odp.Clone, odp.Sample)):
            out |= recirc_ids_of(a.actions)
        elif isinstance(a, odp.CheckPktLen):
            out |= recirc_ids_of(a.gt) | recirc_ids_of(a.le)
    return out
