"""Flow-mods in ovs-ofctl text: parsing a flow line, choosing the OpenFlow protocol, and printing the flow_mod
message the way ``ovs-ofctl parse-flow`` does.

``parse_flow_mod(text, command)`` reads one flow as ``ovs-ofctl add-flow`` / ``mod-flows`` / ``del-flows`` read
it (ovs-ofctl(8) "Flow Syntax"): the match (``pyvswitch.flow.match_text``), the flow-mod keywords each command
accepts (``table``, ``priority``, ``cookie`` and ``cookie=V/M``, ``idle_timeout``, ``hard_timeout``,
``importance``, ``send_flow_rem``, ``check_overlap``, ``reset_counts``, ``no_packet_counts``, ``no_byte_counts``,
``out_port``, ``out_group``) and the actions (``pyvswitch.ofproto.actions``).  It returns a ``FlowMod`` plus the
set of OpenFlow protocol variants able to carry it (``Proto``), narrowed by every field, keyword and action the way
Open vSwitch narrows it.

``choose_protocol(usable, allowed)`` picks the variant ovs-ofctl would use.

The ``parse-flow`` pipeline itself (three output lines, logs, exit codes) is ``run_parse_flows``; the CLI is a thin
wrapper around it so that tests can run it in process.  Printing each flow-mod is not done here: ovs-ofctl encodes
it in the chosen protocol, decodes it and prints what came back, which needs the OpenFlow codec, a layer above this
one; the caller passes that step in (``pyvswitch.openflow.ofp_print.parse_flow_lines``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field

from pyvswitch.flow import match_text as MT
from pyvswitch.flow import values as V
from pyvswitch.flow.match import Match
from pyvswitch.flow.protocols import PROTO_VERSION, Proto
from pyvswitch.ofproto.actions import (
    ActionCheckError,
    ActionParseError,
    actions_usable_protocols,
    check_actions,
    parse_actions,
)
from pyvswitch.ofproto.actions.model import Action
from pyvswitch.ofproto.flow_mod import Command, FlowMod, FlowModFlags
from pyvswitch.util import vlog

__all__ = [
    "OFP_DEFAULT_PRIORITY",
    "FlowModParseError",
    "ParseFlowsResult",
    "ParsedFlowMod",
    "choose_protocol",
    "extract_actions",
    "parse_flow_mod",
    "parse_flow_mod_str",
    "protocol_to_string",
    "protocols_from_string",
    "protocols_from_versions",
    "protocols_to_string",
    "reset_process_state",
    "run_parse_flows",
    "versions_from_string",
]

OFP_DEFAULT_PRIORITY = 0x8000

_table_log = vlog.Vlog("ofp_table")


class FlowModParseError(ValueError):
    """A flow that does not parse; ``str()`` is ovs-ofctl's message (without ``ovs-ofctl: ``)."""


# ---------------------------------------------------------------------------------------------------------------
# Protocol names.

_PROTO_BITS = [Proto.OF10_STD, Proto.OF10_STD_TID, Proto.OF10_NXM, Proto.OF10_NXM_TID, Proto.OF11_STD,
               Proto.OF12_OXM, Proto.OF13_OXM, Proto.OF14_OXM, Proto.OF15_OXM]
_PROTO_NAMES = {
    Proto.OF10_STD: "OpenFlow10-table_id", Proto.OF10_STD_TID: "OpenFlow10+table_id",
    Proto.OF10_NXM: "NXM-table_id", Proto.OF10_NXM_TID: "NXM+table_id", Proto.OF11_STD: "OpenFlow11",
    Proto.OF12_OXM: "OXM-OpenFlow12", Proto.OF13_OXM: "OXM-OpenFlow13", Proto.OF14_OXM: "OXM-OpenFlow14",
    Proto.OF15_OXM: "OXM-OpenFlow15",
}
_PROTO_ABBREVS = [(Proto.ANY, "any"), (Proto.OF10_STD_ANY, "OpenFlow10"), (Proto.OF10_NXM_ANY, "NXM"),
                  (Proto.OXM_ANY, "OXM")]
_TID = Proto.OF10_STD_TID | Proto.OF10_NXM_TID | Proto.OF11_STD | Proto.OXM_ANY
_OF12_UP = Proto.OXM_ANY
_OF13_UP = Proto.OF13_OXM | Proto.OF14_OXM | Proto.OF15_OXM
_OF11_UP = Proto.OF11_STD | Proto.OXM_ANY
_NXM_OF11_UP = Proto.OF10_NXM_ANY | _OF11_UP

_VERSION_NAMES = {1: "OpenFlow10", 2: "OpenFlow11", 3: "OpenFlow12", 4: "OpenFlow13", 5: "OpenFlow14",
                  6: "OpenFlow15"}


def protocol_to_string(p: Proto) -> str:
    return _PROTO_NAMES[p]


def protocols_to_string(ps: Proto) -> str:
    """OVS ``ofputil_protocols_to_string``: abbreviations first where a whole group is present, then names."""
    if not ps:
        return "none"
    out = []
    rest = ps
    while rest:
        for grp, name in _PROTO_ABBREVS:
            if rest & grp == grp:
                out.append(name)
                rest &= ~grp
                break
        else:
            for bit in _PROTO_BITS:
                if rest & bit:
                    out.append(_PROTO_NAMES[bit])
                    rest &= ~bit
                    break
    return ",".join(out)


def protocols_from_string(s: str) -> Proto:
    """OVS ``ofputil_protocols_from_string`` (``-F``): comma-separated names or abbreviations, case-insensitive."""
    result = Proto.NONE
    for item in s.split(","):
        if not item:
            continue
        low = item.lower()
        for bit, name in _PROTO_NAMES.items():
            if name.lower() == low:
                result |= bit
                break
        else:
            for grp, name in _PROTO_ABBREVS:
                if name.lower() == low:
                    result |= grp
                    break
            else:
                raise FlowModParseError(f"{item}: unknown flow protocol")
    if not result:
        raise FlowModParseError(f"{s}: no flow protocol specified")
    return result


def versions_from_string(s: str) -> set[int]:
    """OVS ``ofputil_versions_from_string`` (``-O``): version names separated by commas or white space."""
    out: set[int] = set()
    for tok in s.replace(",", " ").split():
        for v, name in _VERSION_NAMES.items():
            if tok.lower() == name.lower():
                out.add(v)
                break
        else:
            raise FlowModParseError(f'Unknown OpenFlow version: "{tok}"')
    return out


def protocols_from_versions(versions: set[int]) -> Proto:
    result = Proto.NONE
    for p, v in PROTO_VERSION.items():
        if v in versions:
            result |= p
    return result


def allowed_protocols(versions: set[int] | None, flow_formats: Proto | None) -> Proto:
    """What ovs-ofctl allows from ``-O`` (default OpenFlow 1.0 only) and ``-F`` (default any), or raise the
    message it prints when they do not intersect."""
    vers = versions if versions else {1}
    formats = flow_formats if flow_formats is not None else Proto.ANY
    vp = protocols_from_versions(vers)
    if not formats & vp:
        names = ", ".join(_VERSION_NAMES[v] for v in sorted(vers))
        raise FlowModParseError(
            f"None of the enabled OpenFlow versions ({names}) supports any of the enabled flow formats "
            f"({protocols_to_string(formats)}).  (Use -O to enable additional OpenFlow versions or -F to enable "
            f"additional flow formats.)")
    return formats & vp


def choose_protocol(usable: Proto, allowed: Proto) -> Proto | None:
    """The lowest-numbered protocol that is both usable and allowed, as ovs-ofctl picks it."""
    for bit in _PROTO_BITS:
        if bit & usable & allowed:
            return bit
    return None


@dataclass
class ParsedFlowMod:
    """A parsed flow line: the FlowMod, the protocols able to carry it, and the match's tunnel-metadata table."""

    fm: FlowMod
    usable: Proto
    tun_md: MT.TunMetadata = dc_field(default_factory=MT.TunMetadata)
    text: str = ""


def extract_actions(s: str) -> tuple[str, str | None]:
    """OVS ``ofp_extract_actions``: split at the first ``action`` substring; the actions start after the next
    ``=``.  Returns (match part, action text or None)."""
    i = s.find("action")
    if i < 0:
        return s, None
    j = s.find("=", i + 1)
    return s[:i], (s[j + 1:] if j >= 0 else None)


def _str_to_u16(value: str, name: str) -> int:
    v, end, overflow = V._strtoull(value, 0, 0)
    if v is None or end != len(value) or overflow or v > 0xFFFF or value.lstrip().startswith("-"):
        raise FlowModParseError(f'invalid {name} "{value}"')
    return v


def _str_to_u64(value: str) -> int:
    v, end, overflow = V._strtoull(value, 0, 0)
    if v is None or end != len(value) or overflow:
        raise FlowModParseError(f"invalid numeric format {value}")
    return v


def _table_from_string(value: str) -> int | None:
    v, end, overflow = V._strtoll(value, 0, 10)
    if v is None or end != len(value) or overflow or v < 0 or v > 0xFFFFFFFF:
        return None
    if v > 255:
        _table_log.warn(f"table {v} is outside the supported range 0 through 255")
        return None
    return v


def _group_from_string(value: str) -> int | None:
    low = value.lower()
    if low == "all":
        return 0xFFFFFFFC
    if low == "any":
        return 0xFFFFFFFF
    v, end, overflow = V._strtoll(value, 0, 10)
    if v is None or end != len(value) or overflow or v < 0 or v > 0xFFFFFF00:
        return None
    return v


_F_OUT_PORT, _F_ACTIONS, _F_IMPORTANCE, _F_TIMEOUT, _F_PRIORITY, _F_FLAGS = 1, 2, 4, 8, 16, 32
_COMMAND_FIELDS = {
    None: _F_OUT_PORT,     # flow stats requests (dump-flows)
    Command.ADD: _F_ACTIONS | _F_TIMEOUT | _F_PRIORITY | _F_FLAGS | _F_IMPORTANCE,
    Command.DELETE: _F_OUT_PORT,
    Command.DELETE_STRICT: _F_OUT_PORT | _F_PRIORITY,
    Command.MODIFY: _F_ACTIONS | _F_TIMEOUT | _F_PRIORITY | _F_FLAGS,
    Command.MODIFY_STRICT: _F_ACTIONS | _F_TIMEOUT | _F_PRIORITY | _F_FLAGS,
}
_COMMAND_WORDS = [("add", Command.ADD), ("delete", Command.DELETE), ("delete_strict", Command.DELETE_STRICT),
                  ("modify", Command.MODIFY), ("modify_strict", Command.MODIFY_STRICT)]


def parse_flow_mod(text: str, command: Command | None = Command.ADD, *,
                   command_prefix: bool = False) -> ParsedFlowMod:
    """Parse a flow line for ``command`` (None parses a flow-stats request, as ``dump-flows`` does).

    With ``command_prefix`` the line may begin with ``add``, ``modify``, ``delete``, ``modify_strict`` or
    ``delete_strict`` (``ovs-ofctl add-flows`` files); a line without one is an add.  Raises
    FlowModParseError with ovs-ofctl's message."""
    string = text
    if command_prefix:
        s = string.lstrip(" \t\r\n")
        n = 0
        while n < len(s) and s[n] not in ", \t\r\n":
            n += 1
        word = s[:n]
        for name, cmd in _COMMAND_WORDS:
            if name.startswith(word):
                command = cmd
                break
        else:
            n = 0
            command = Command.ADD
        string = s[n:]
    fields = _COMMAND_FIELDS[command]
    usable = Proto.ANY
    fm = FlowMod(command=command if command is not None else Command.ADD)
    raw_table = 0xFF
    new_cookie: int | None = 0 if command not in (Command.MODIFY, Command.MODIFY_STRICT) else None
    act_str = None
    if fields & _F_ACTIONS:
        string, act_str = extract_actions(string)
        if act_str is None:
            raise FlowModParseError("must specify an action")
    b = MT.MatchBuilder()
    flags = FlowModFlags(0)
    try:
        for name, value in MT.split_key_values(string):
            if MT.parse_match_item(b, name, value):
                continue
            if fields & _F_FLAGS and name in _FLAG_WORDS:
                flag, narrow = _FLAG_WORDS[name]
                flags |= flag
                usable &= narrow
                continue
            if name in ("no_readonly_table", "allow_hidden_fields"):
                continue
            if not value:
                raise FlowModParseError(f"field {name} missing value")
            if name == "table":
                t = _table_from_string(value)
                if t is None:
                    raise FlowModParseError(f'unknown table "{value}"')
                raw_table = t
                if t != 0xFF:
                    usable &= _TID
            elif fields & _F_OUT_PORT and name == "out_port":
                port = V.parse_port(value)
                if port is None:
                    raise FlowModParseError(f"{value} is not a valid OpenFlow port")
                fm.out_port = port
            elif fields & _F_OUT_PORT and name == "out_group":
                usable &= _OF11_UP
                g = _group_from_string(value)
                if g is None:
                    raise FlowModParseError(f"{value} is not a valid OpenFlow group")
                fm.out_group = g
            elif fields & _F_PRIORITY and name == "priority":
                fm.priority = _str_to_u16(value, name)
            elif fields & _F_TIMEOUT and name == "idle_timeout":
                fm.idle_timeout = _str_to_u16(value, name)
            elif fields & _F_TIMEOUT and name == "hard_timeout":
                fm.hard_timeout = _str_to_u16(value, name)
            elif fields & _F_IMPORTANCE and name == "importance":
                fm.importance = _str_to_u16(value, name)
            elif name == "cookie":
                if "/" in value:
                    if command is Command.ADD:
                        raise FlowModParseError("flow additions cannot use a cookie mask")
                    v, _, m = value.partition("/")
                    fm.cookie = _str_to_u64(v)
                    fm.cookie_mask = _str_to_u64(m)
                    if fm.cookie_mask:
                        usable &= _NXM_OF11_UP
                else:
                    if command not in (Command.ADD, Command.MODIFY, Command.MODIFY_STRICT):
                        raise FlowModParseError("cannot set cookie")
                    new_cookie = _str_to_u64(value)
            elif name in ("duration", "n_packets", "n_bytes", "idle_age", "hard_age"):
                pass
            else:
                raise FlowModParseError(f"unknown keyword {name}")
    except MT.MatchParseError as e:
        raise FlowModParseError(str(e)) from None
    MT.finish_parse(b)
    usable &= b.usable
    fm.flags = flags
    fm.match = b.match()
    fm.table_id = None if raw_table == 0xFF else raw_table
    fm.new_cookie = new_cookie
    if command is Command.ADD:
        fm.cookie = new_cookie or 0
    if fields & _F_ACTIONS:
        assert act_str is not None
        fm.actions, usable = _parse_and_check_actions(act_str, fm.match, raw_table, usable)
    return ParsedFlowMod(fm, usable, b.tun_md, text)


_FLAG_WORDS: dict[str, tuple[FlowModFlags, Proto]] = {
    "send_flow_rem": (FlowModFlags.SEND_FLOW_REM, Proto.ANY),
    "check_overlap": (FlowModFlags.CHECK_OVERLAP, Proto.ANY),
    "reset_counts": (FlowModFlags.RESET_COUNTS, _OF12_UP),
    "no_packet_counts": (FlowModFlags.NO_PACKET_COUNTS, _OF13_UP),
    "no_byte_counts": (FlowModFlags.NO_BYTE_COUNTS, _OF13_UP),
}


def _parse_and_check_actions(act_str: str, match: Match, table_id: int, usable: Proto) -> tuple[list[Action], Proto]:
    try:
        actions = parse_actions(act_str, match=match)
    except ActionParseError as e:
        raise FlowModParseError(str(e)) from None
    usable &= actions_usable_protocols(actions)
    try:
        usable &= check_actions(actions, match, table_id=table_id, usable=usable)
    except ActionCheckError as e:
        raise FlowModParseError(str(e)) from None
    if not usable:
        raise FlowModParseError("actions are invalid with specified match (OFPBAC_MATCH_INCONSISTENT)")
    return actions, usable


def parse_flow_mod_str(text: str, command: Command | None = Command.ADD, *,
                       command_prefix: bool = False) -> ParsedFlowMod:
    """OVS ``parse_ofp_flow_mod_str``: ``parse_flow_mod`` plus the normalization check on a copy of the match,
    which logs OVS's ``ofp_match`` INFO lines when normalization would change it (the flow-mod keeps the
    un-normalized match, as in OVS)."""
    pfm = parse_flow_mod(text, command, command_prefix=command_prefix)
    norm = MT.normalize(pfm.fm.match)
    if norm != pfm.fm.match:
        MT.normalization_log(pfm.fm.match, norm, pfm.tun_md)
    return pfm


# ---------------------------------------------------------------------------------------------------------------
# The parse-flow(s) pipeline.

@dataclass
class ParseFlowsResult:
    """What ``parse-flow`` printed: stdout lines, and the fatal error message (None on success)."""

    stdout: list[str]
    error: str | None = None

    @property
    def rc(self) -> int:
        return 1 if self.error is not None else 0


def reset_process_state() -> None:
    """Forget the once-per-process state OVS keeps (log rate limits, warn-once flags), as a new process would."""
    MT._rl_normalize = vlog.RateLimit(1, 5)
    V._deprecated_port_warned = False


def run_parse_flows(flows: list[str], allowed: Proto, file_name: str | None = None,
                    line_numbers: list[int] | None = None, *,
                    print_flow_mod: Callable[[FlowMod, MT.TunMetadata, Proto, int], list[str]],
                    ) -> ParseFlowsResult:
    """``ovs-ofctl parse-flow(s)``: parse every flow (an error stops everything, prefixed with ``FILE:LINE: ``
    for files), print the usable protocols, choose one, and print each flow-mod with xid 1, 2, ...

    ``print_flow_mod(fm, tun_md, protocol, xid)`` gives the lines for one flow-mod, as ovs-ofctl prints the message
    after encoding and decoding it (``pyvswitch.openflow.ofp_print.parse_flow_lines``)."""
    out: list[str] = []
    parsed: list[ParsedFlowMod] = []
    usable = Proto.ANY
    for i, text in enumerate(flows):
        try:
            pfm = parse_flow_mod_str(text, Command.ADD)
        except FlowModParseError as e:
            msg = str(e)
            if file_name is not None:
                line = line_numbers[i] if line_numbers else i + 1
                msg = f"{file_name}:{line}: {msg}"
            return ParseFlowsResult(out, msg)
        usable &= pfm.usable
        parsed.append(pfm)
    out.append(f"usable protocols: {protocols_to_string(usable)}")
    protocol = choose_protocol(usable, allowed)
    if protocol is None:
        return ParseFlowsResult(out, "no usable protocol")
    out.append(f"chosen protocol: {protocol_to_string(protocol)}")
    for xid, pfm in enumerate(parsed, 1):
        out.extend(print_flow_mod(pfm.fm, pfm.tun_md, protocol, xid))
    return ParseFlowsResult(out)
