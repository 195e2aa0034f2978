"""OpenFlow actions and instructions: their objects, ovs-ofctl text, consistency checks and protocol rules.

This package is the action half of the flow syntax of ovs-ofctl(8) and ovs-actions(7).  Its parts:

``model``
    One frozen dataclass per action and instruction (``Output``, ``SetField``, ``Learn``, ``Ct``...), plain data
    that translation executes and the OpenFlow codec encodes; ``format_actions`` prints a list as ovs-ofctl does.
``parse``
    ``parse_actions``: ovs-ofctl action text into those objects, with ovs-ofctl's error messages and its
    instruction-order and nesting rules.
``check``
    ``check_actions``: the consistency checks ovs-ofctl applies between actions and the flow's match.
``proto``
    ``actions_usable_protocols``: which OpenFlow variants can carry an action list (what an encode/decode round
    trip in one of them makes of it is the OpenFlow codec's, ``pyvswitch.openflow.ofp_actions``).
``lex``, ``fieldtext``
    The number, port, table and field-value readers and printers the above share.

Errors: ``ActionParseError`` (bad text) and ``ActionCheckError`` (inconsistent with the match).  Each ``str()`` is
ovs-ofctl's message.
Warnings go to the loggers named after the Open vSwitch modules that print them (``ofp_actions``, ``meta_flow``,
``ofp_port``, ``ofp_table``, ``bundle``, ``nx_match``).
"""

from __future__ import annotations

from pyvswitch.flow.match import Match
from pyvswitch.ofproto.actions import lex
from pyvswitch.ofproto.actions.check import check_actions
from pyvswitch.ofproto.actions.errors import ActionCheckError, ActionParseError
from pyvswitch.ofproto.actions.model import *
from pyvswitch.ofproto.actions.model import Action, Controller, Enqueue, Group, Output, OutputTrunc, walk
from pyvswitch.ofproto.actions.model import __all__ as _model_all
from pyvswitch.ofproto.actions.parse import parse_actions as _parse_actions
from pyvswitch.ofproto.actions.proto import actions_usable_protocols, field_usable_protocols

__all__ = [  # noqa: PLE0604 - the model's names are strings too
    "parse_actions", "format_actions", "check_actions", "actions_usable_protocols",
    "actions_output_to_port", "actions_output_to_group", "field_usable_protocols", "ActionParseError",
    "ActionCheckError", *_model_all,
]


def parse_actions(text: str, *, match: Match | None = None) -> list[Action]:
    """Parse the text that follows ``actions=`` (empty or ``drop`` for no actions).

    ``match`` is accepted for symmetry with ``check_actions``; parsing itself does not depend on it (ovs-ofctl
    checks actions against the match in a separate step, ``check_actions``).  Raises ``ActionParseError``."""
    del match
    return _parse_actions(text)


def actions_output_to_port(actions: list[Action] | tuple[Action, ...], port: int) -> bool:
    """Whether ``actions`` (nested ones included) output to ``port``: the OpenFlow ``out_port`` filter.

    ``output``, ``output(port=...,max_len=...)`` and ``enqueue`` count for their port, ``controller(...)`` for
    CONTROLLER; outputs through a register, a bundle or a group do not, as in Open vSwitch."""
    for a in walk(actions):
        if isinstance(a, (Output, OutputTrunc, Enqueue)) and a.port == port:
            return True
        if isinstance(a, Controller) and port == lex.OFPP_CONTROLLER:
            return True
    return False


def actions_output_to_group(actions: list[Action] | tuple[Action, ...], group: int) -> bool:
    """Whether ``actions`` (nested ones included) send to group ``group``: the OpenFlow ``out_group`` filter."""
    return any(isinstance(a, Group) and a.group_id == group for a in walk(actions))
