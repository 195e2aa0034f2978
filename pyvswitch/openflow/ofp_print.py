"""Printing OpenFlow messages as ``ovs-ofctl`` prints them, and the encode-decode-print path of ``parse-flow``.

``ovs-ofctl parse-flow`` does not print the flow it parsed: it encodes it into the OpenFlow message the chosen
protocol carries, decodes that message as a switch would, and prints what came back.  Whatever the protocol cannot
express is therefore lost or transformed in the output (``goto_table`` becomes ``resubmit`` under OpenFlow 1.0,
``set_field`` becomes ``load``), and a message the decoder rejects is shown as ``***decode error: CODE***`` with a
hex dump of its bytes.  ``parse_flow_lines`` does exactly that with this package's codec, so the text layer needs no
model of what each protocol changes.

``message_text(data)`` prints any message as ``ovs-ofctl ofp-print`` (``ofp_to_string``) does, through the
``PRINTERS`` of every codec module; ``pyvs-ofctl`` and the bundle printer (for the message inside a bundle) use it.
"""

from __future__ import annotations

from collections.abc import Callable

from pyvswitch.flow import match_text as MT
from pyvswitch.flow import values as V
from pyvswitch.flow.protocols import PROTO_VERSION, Proto
from pyvswitch.ofproto.actions import format_actions
from pyvswitch.ofproto.flow_mod import NO_BUFFER, OFPP_ANY, Command, FlowMod, FlowModFlags
from pyvswitch.openflow import ofp_msgs as M
from pyvswitch.openflow.ofp_errors import OFPDecodeError
from pyvswitch.openflow.ofp_flow_mod import FlowModMessage, decode_flow_mod_message, encode_flow_mod
from pyvswitch.util.hexdump import hexdump

__all__ = ["flow_mod_header", "format_flow_mod_message", "message_text", "parse_flow_lines"]

_COMMAND_NAMES = {Command.ADD: "ADD", Command.MODIFY: "MOD", Command.MODIFY_STRICT: "MOD_STRICT",
                  Command.DELETE: "DEL", Command.DELETE_STRICT: "DEL_STRICT"}
_FLAG_NAMES = [(FlowModFlags.SEND_FLOW_REM, "send_flow_rem"), (FlowModFlags.CHECK_OVERLAP, "check_overlap"),
               (FlowModFlags.RESET_COUNTS, "reset_counts"), (FlowModFlags.NO_PACKET_COUNTS, "no_packet_counts"),
               (FlowModFlags.NO_BYTE_COUNTS, "no_byte_counts")]


_TID = {Proto.OF10_STD: Proto.OF10_STD_TID, Proto.OF10_NXM: Proto.OF10_NXM_TID}


def flow_mod_header(proto: Proto, xid: int) -> str:
    """``OFPT_FLOW_MOD (xid=0x1):``, ``NXT_FLOW_MOD (xid=0x1):`` or ``OFPT_FLOW_MOD (OF1.3) (xid=0x1):``."""
    if proto in (Proto.OF10_STD, Proto.OF10_STD_TID):
        return f"OFPT_FLOW_MOD (xid={xid:#x}):"
    if proto in (Proto.OF10_NXM, Proto.OF10_NXM_TID):
        return f"NXT_FLOW_MOD (xid={xid:#x}):"
    return f"OFPT_FLOW_MOD (OF1.{PROTO_VERSION[proto] - 1}) (xid={xid:#x}):"


def format_flow_mod_message(msg: FlowModMessage) -> str:
    """A decoded flow-mod as ``ovs-ofctl ofp-print`` prints it."""
    fm, proto = msg.fm, msg.proto
    version = PROTO_VERSION[proto]
    s = f"{flow_mod_header(proto, msg.xid)} {_COMMAND_NAMES[fm.command]}"
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
    return s + "actions=" + format_actions(list(fm.actions))


def parse_flow_lines(fm: FlowMod, tun_md: MT.TunMetadata | None, proto: Proto, xid: int = 1) -> list[str]:
    """What ``ovs-ofctl parse-flow`` prints for ``fm`` sent in ``proto``: one line, or a decode error and the
    message's hex dump.  The decoder's log lines (bad actions, OpenFlow 1.0 match normalization) go to vlog."""
    # ofp-print reads every OpenFlow 1.0 flow-mod with the table-id extension on: without the extension the
    # command's high byte is 0, which reads back as table 0 and is not printed.
    data = encode_flow_mod(fm, proto, xid, tun_md=tun_md)
    try:
        msg = decode_flow_mod_message(data, _TID.get(proto, proto))
    except OFPDecodeError as e:
        return [f"{flow_mod_header(proto, xid)} ***decode error: {e.code}***"] + hexdump(data).splitlines()
    if msg.normalized_from is not None:
        MT.normalization_log(msg.normalized_from, msg.fm.match, msg.tun_md)
    return [format_flow_mod_message(msg)]


# ------------------------------------------------------------------------------ any message, as ofp-print

_PRINTER_MODULES = ("ofp_flow_stats", "ofp_port", "ofp_packet", "ofp_switch", "ofp_group", "ofp_meter", "ofp_tlv",
                    "ofp_monitor", "ofp_bundle")
_printers: dict[str, Callable[[M.Msg], str]] | None = None


def _all_printers() -> dict[str, Callable[[M.Msg], str]]:
    """Every codec module's ``PRINTERS``, by message type (imported when first needed: ``ofp_bundle`` prints
    inner messages through this module)."""
    global _printers
    if _printers is None:
        import importlib
        found: dict[str, Callable[[M.Msg], str]] = {}
        for name in _PRINTER_MODULES:
            mod = importlib.import_module(f"pyvswitch.openflow.{name}")
            found.update(getattr(mod, "PRINTERS", {}))
        found.setdefault("FLOW_MOD", _print_flow_mod)
        found.setdefault("ECHO_REQUEST", _print_echo)
        found.setdefault("ECHO_REPLY", _print_echo)
        found.setdefault("BARRIER_REQUEST", lambda msg: "")
        found.setdefault("BARRIER_REPLY", lambda msg: "")
        found.setdefault("FEATURES_REQUEST", lambda msg: "")
        found.setdefault("HELLO", _print_hello)
        _printers = found
    return _printers


def _print_echo(msg: M.Msg) -> str:
    s = f" {len(msg.body)} bytes of payload\n"
    if msg.body:
        s += hexdump(msg.body)
    return s


def _print_hello(msg: M.Msg) -> str:
    versions = M.decode_hello(msg)
    return "\n version bitmap: " + ", ".join(f"{v:#04x}" for v in sorted(versions))


def _print_flow_mod(msg: M.Msg) -> str:
    # ofp-print reads OpenFlow 1.0 flow-mods with the table-id extension on.
    proto = None
    if msg.version == 1:
        proto = Proto.OF10_NXM_TID if msg.raw.family == "NXT" else Proto.OF10_STD_TID
    fmm = decode_flow_mod_message(msg.data, proto)
    text = format_flow_mod_message(fmm)
    return text[len(M.header_text(msg)):]


def message_text(data: bytes) -> str:
    """``data`` as ``ovs-ofctl`` prints a message (``ofp_to_string``), without the final newline."""
    if len(data) < 8:
        return f"OpenFlow packet too short (only {len(data)} bytes):\n" + hexdump(data).rstrip("\n")
    try:
        msg = M.decode(data)
    except OFPDecodeError as e:
        return f"***decode error: {e.code}***\n" + hexdump(data).rstrip("\n")
    head = M.header_text(msg)
    if msg.type == "ERROR":
        return (head + _error_body(msg)).rstrip("\n")
    printer = _all_printers().get(msg.type)
    if printer is None:
        return head + " ***unknown message type***"
    try:
        text = printer(msg)
    except OFPDecodeError as e:
        partial = getattr(e, "partial", None)
        if partial is not None:
            return (head + partial).rstrip("\n") + f"\n ***decode error: {e.code}***\n" + hexdump(data).rstrip("\n")
        return head + f" ***decode error: {e.code}***\n" + hexdump(data).rstrip("\n")
    return (head + text).rstrip("\n")


def _error_body(msg: M.Msg) -> str:
    """What ofp-print prints after an OFPT_ERROR's header: the error's name, then the text a HELLO_FAILED error
    carries or the offending message, itself printed (``OpenFlow packet too short`` when it cannot be)."""
    try:
        name, data = M.decode_error(msg)
    except OFPDecodeError as e:
        return f" ***decode error: {e.code}***\n" + hexdump(msg.data)
    s = f" {name}\n"
    if name in ("OFPHFC_INCOMPATIBLE", "OFPHFC_EPERM"):
        return s + "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in data.decode("latin-1"))
    if not data:
        return s + "OpenFlow message is empty\n"
    if len(data) < 8:
        return s + f"OpenFlow packet too short (only {len(data)} bytes):\n" + hexdump(data)
    return s + message_text(data)
