"""A flow-mod: the request to add, modify or delete OpenFlow rules, independent of its wire or text form.

The text parser (``flow_mod_text``) and the OpenFlow codec build these; the flow tables (``ofproto.table``) apply
them.  Field meanings follow OpenFlow 1.5 section 7.3.4 and ovs-ofctl(8).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from pyvswitch.flow.match import CATCHALL, Match
from pyvswitch.flow.values import OFPP_ANY


class Command(enum.IntEnum):
    ADD = 0
    MODIFY = 1
    MODIFY_STRICT = 2
    DELETE = 3
    DELETE_STRICT = 4


class FlowModFlags(enum.IntFlag):
    NONE = 0
    SEND_FLOW_REM = 1 << 0
    CHECK_OVERLAP = 1 << 1
    RESET_COUNTS = 1 << 2
    NO_PACKET_COUNTS = 1 << 3
    NO_BYTE_COUNTS = 1 << 4


OFPG_ANY = 0xFFFFFFFF   # out_group wildcard
OFPTT_ALL = 0xFF        # table_id meaning "all tables" for modify/delete
NO_BUFFER = 0xFFFFFFFF


@dataclass(slots=True)
class FlowMod:
    """One flow-mod.  ``table_id`` None means "not given" (table 0 for an add, all tables for modify/delete).
    ``actions`` is the parsed action list (instructions included), as built by ``pyvswitch.ofproto.actions``."""

    command: Command = Command.ADD
    match: Match = CATCHALL
    priority: int = 0x8000
    table_id: int | None = None
    cookie: int = 0
    cookie_mask: int = 0
    new_cookie: int | None = None
    idle_timeout: int = 0
    hard_timeout: int = 0
    importance: int = 0
    flags: FlowModFlags = FlowModFlags.NONE
    out_port: int = OFPP_ANY
    out_group: int = OFPG_ANY
    buffer_id: int = NO_BUFFER
    actions: list[Any] = field(default_factory=list)
