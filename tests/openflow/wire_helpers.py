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

from pyvswitch.flow import match_text as MT
from pyvswitch.flow import values as V
from pyvswitch.ofproto import flow_mod_text as T
from pyvswitch.ofproto.actions import lex
from pyvswitch.ofproto.actions.model import Action, Output, SetField, format_actions
from pyvswitch.ofproto.flow_mod import NO_BUFFER, OFPP_ANY, Command, FlowMod, FlowModFlags
from pyvswitch.ofproto.protocols import PROTO_VERSION, Proto
from pyvswitch.openflow import FlowModMessage

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


_COMMAND_NAMES = {Command.ADD: "ADD", Command.MODIFY: "MOD", Command.MODIFY_STRICT: "MOD_STRICT",
                  Command.DELETE: "DEL", Command.DELETE_STRICT: "DEL_STRICT"}
_FLAG_NAMES = [(FlowModFlags.SEND_FLOW_REM, "send_flow_rem"), (FlowModFlags.CHECK_OVERLAP, "check_overlap"),
               (FlowModFlags.RESET_COUNTS, "reset_counts"), (FlowModFlags.NO_PACKET_COUNTS, "no_packet_counts"),
               (FlowModFlags.NO_BYTE_COUNTS, "no_byte_counts")]


def format_message(msg: FlowModMessage) -> str:
    """A decoded flow-mod printed as ``ovs-ofctl ofp-print`` prints it (Open vSwitch's
    ``ofputil_flow_mod_format``), from the project's match and action printers."""
    fm, proto = msg.fm, msg.proto
    version = PROTO_VERSION[proto]
    if proto in (Proto.OF10_STD, Proto.OF10_STD_TID):
        head = f"OFPT_FLOW_MOD (xid={msg.xid:#x}):"
    elif proto in (Proto.OF10_NXM, Proto.OF10_NXM_TID):
        head = f"NXT_FLOW_MOD (xid={msg.xid:#x}):"
    else:
        head = f"OFPT_FLOW_MOD (OF1.{version - 1}) (xid={msg.xid:#x}):"
    s = f"{head} {_COMMAND_NAMES[fm.command]}"
    table = 255 if fm.table_id is None else fm.table_id
    if table != 0:
        s += f" table:{table}"
    s += " " + MT.format_match(fm.match, fm.priority, msg.tun_md)
    if not s.endswith(" "):
        s += " "
    if fm.command == Command.ADD or fm.new_cookie is not None:
        new_cookie = fm.new_cookie if fm.new_cookie is not None else fm.cookie
        if new_cookie not in (0, 0xFFFFFFFFFFFFFFFF):
            s += f"cookie:{new_cookie:#x} "
    if fm.cookie_mask:
        s += f"cookie:{fm.cookie & fm.cookie_mask:#x}/{fm.cookie_mask:#x} "
    if fm.idle_timeout:
        s += f"idle:{fm.idle_timeout} "
    if fm.hard_timeout:
        s += f"hard:{fm.hard_timeout} "
    if fm.importance:
        s += f"importance:{fm.importance} "
    if fm.buffer_id != NO_BUFFER:
        s += f"buf:{fm.buffer_id:#x} "
    if fm.out_port != OFPP_ANY:
        s += f"out_port:{V.format_port(fm.out_port)} "
    for flag, name in _FLAG_NAMES:
        # OpenFlow 1.0 and 1.1 adds always reset counters; ofp-print does not show that implicit flag.
        if fm.flags & flag and not (flag is FlowModFlags.RESET_COUNTS and version <= 2):
            s += name + " "
    return s + "actions=" + format_actions(fm.actions)


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
