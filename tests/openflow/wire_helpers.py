"""Shared helpers of the OpenFlow codec tests: the captured ground truth, parsing its flows, and printing a decoded
flow-mod the way ``ovs-ofctl ofp-print`` prints one.

``tests/data/flow_mod_wire.jsonl`` is written by ``tools/capture_flow_mods.py``: the real bytes ``ovs-ofctl``
(Open vSwitch 3.1) sent to a fake switch for every flow of the parse-flow corpus and of
``tests/openflow/extra_flows.txt``, with what ``ovs-ofctl ofp-print`` makes of those bytes.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path
from typing import Any

from pyvswitch.ofproto import flow_mod_text as T
from pyvswitch.ofproto.actions import lex
from pyvswitch.ofproto.actions.model import Action, Output, SetField
from pyvswitch.ofproto.flow_mod import Command, FlowMod, FlowModFlags
from pyvswitch.ofproto.protocols import PROTO_VERSION, Proto
from pyvswitch.openflow.ofp_print import format_flow_mod_message

DATA = Path(__file__).resolve().parent.parent / "data"
WIRE = DATA / "flow_mod_wire.jsonl"
EXPECTED = DATA / "parse_flow_corpus.expected"

_COMMANDS = {"add-flow": Command.ADD, "mod-flows": Command.MODIFY, "del-flows": Command.DELETE}


@functools.cache
def records() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(line) for line in WIRE.read_text().splitlines() if line.strip())


@functools.cache
def expected_rows() -> tuple[dict[str, Any], ...]:
    rows = [json.loads(line) for line in EXPECTED.read_text().splitlines() if line.strip()]
    return tuple(r for r in rows if "flow" in r)


def command_of(rec: dict[str, Any]) -> Command:
    """The flow-mod command the record's ovs-ofctl command line sent."""
    verb = rec["argv"][-3]
    cmd = _COMMANDS[verb]
    if "--strict" in rec["argv"]:
        cmd = Command(int(cmd) + 1)
    return cmd


def parse(rec: dict[str, Any]) -> T.ParsedFlowMod:
    """The record's flow text parsed by the project's text parser, for the command it was sent with."""
    return T.parse_flow_mod(rec["argv"][-1], command_of(rec))


def xid_of(rec: dict[str, Any]) -> int:
    return int(rec["hex"][8:16], 16)


def ovs_error(rec: dict[str, Any]) -> str | None:
    """The error ``ovs-ofctl ofp-print`` reported for the record's bytes, or None if it decoded them."""
    text = rec["ofp_print"]
    if "***decode error: " not in text:
        return None
    return text.split("***decode error: ", 1)[1].split("***", 1)[0]


def ofp_print_proto(rec: dict[str, Any]) -> Proto:
    """``ofp-print`` decodes OpenFlow 1.0 flow-mods with the table-id extension on."""
    p = rec["proto"]
    if p.startswith("OF10_NXM"):
        return Proto.OF10_NXM_TID
    if p.startswith("OF10"):
        return Proto.OF10_STD_TID
    return Proto[p]


format_message = format_flow_mod_message


# --- semantic comparison --------------------------------------------------------------------------------------

def canonical_action(a: Action) -> Action:
    """``a`` with representation choices that do not change its meaning made uniform: a set-field mask covering
    the whole field is no mask, and an output's ``max_len`` only matters for the controller port."""
    if isinstance(a, SetField) and a.mask is not None and a.mask & _full(a) == _full(a):
        return dataclasses.replace(a, mask=None)
    if isinstance(a, Output) and a.port != lex.OFPP_CONTROLLER:
        return dataclasses.replace(a, max_len=0)
    nested = getattr(a, "actions", None)
    if isinstance(nested, tuple):
        return dataclasses.replace(a, actions=tuple(canonical_action(x) for x in nested))  # type: ignore[call-arg]
    return a


def _full(sf: SetField) -> int:
    return (1 << (8 * sf.field.nbytes)) - 1


def canonical_flow_mod(fm: FlowMod, proto: Proto) -> dict[str, Any]:
    """What a flow-mod means to a switch after it crossed the wire in ``proto``: the fields the protocol
    carries, with the conventions of each version resolved (an add's table "unspecified" is table 0; OpenFlow 1.0
    and 1.1 adds reset counters; importance exists only in 1.4+ adds; flags only from the version that has
    them; an add's cookie is its new cookie)."""
    version = PROTO_VERSION[proto]
    add = fm.command == Command.ADD
    table = 255 if fm.table_id is None or proto in (Proto.OF10_STD, Proto.OF10_NXM) else fm.table_id
    if table == 255:
        # "Unspecified": table 0 for an add; for OpenFlow 1.1+ also for a modify (and for any 1.1 flow-mod),
        # since only a 1.2+ delete may carry 255 on the wire.
        deleting = fm.command in (Command.DELETE, Command.DELETE_STRICT)
        of10 = proto in (Proto.OF10_STD, Proto.OF10_NXM, Proto.OF10_STD_TID, Proto.OF10_NXM_TID)
        if add or (not of10 and (proto is Proto.OF11_STD or not deleting)):
            table = 0
    flags = fm.flags
    if version < 3:
        flags &= ~FlowModFlags.RESET_COUNTS
    if version < 4:
        flags &= ~(FlowModFlags.NO_PACKET_COUNTS | FlowModFlags.NO_BYTE_COUNTS)
    if version <= 2 and add:
        flags |= FlowModFlags.RESET_COUNTS
    cookie = (fm.new_cookie if fm.new_cookie is not None else fm.cookie) if add else None
    return {
        "command": fm.command, "priority": fm.priority, "table": table, "cookie": cookie,
        "cookie_mask": fm.cookie_mask, "idle": fm.idle_timeout, "hard": fm.hard_timeout,
        "importance": fm.importance if version >= 5 and add else 0, "flags": flags, "out_port": fm.out_port,
        "buffer_id": fm.buffer_id, "actions": [canonical_action(a) for a in fm.actions],
    }
