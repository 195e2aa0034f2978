"""Shared helpers of the OpenFlow codec tests: the captured ground truth, parsing its flows, and printing a decoded
flow-mod the way ``ovs-ofctl ofp-print`` prints one.

``tests/data/flow_mod_wire.jsonl`` is written by ``tools/capture_flow_mods.py``: the real bytes ``ovs-ofctl``
(Open vSwitch 3.1) sent to a fake switch for every flow of the parse-flow corpus and of
``tests/openflow/extra_flows.txt``, with what ``ovs-ofctl ofp-print`` makes of those bytes.
"""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path
from typing import Any

from pyvswitch.flow.protocols import Proto
from pyvswitch.ofproto import flow_mod_text as T
from pyvswitch.ofproto.flow_mod import Command
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


def ofp_print(data: bytes) -> str:
    """What the real ``ovs-ofctl ofp-print`` prints for the message ``data`` (its exit status is not checked:
    it exits 0 even for a message it cannot decode)."""
    return subprocess.run(["ovs-ofctl", "ofp-print", data.hex()], capture_output=True, text=True, check=False,
                          timeout=30).stdout
