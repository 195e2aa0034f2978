"""Bundles: ``OFPT_BUNDLE_CONTROL`` and ``OFPT_BUNDLE_ADD_MESSAGE`` of OpenFlow 1.4+ and their OpenFlow 1.3 form,
the ONF extension ``ONFT_BUNDLE_CONTROL`` / ``ONFT_BUNDLE_ADD_MESSAGE`` (EXT-230), byte-exact with Open vSwitch 3.1.

Layouts (OpenFlow 1.4 section 7.3.9), after the OpenFlow (1.4+) or ONF experimenter (1.3) header::

    BUNDLE_CONTROL:      bundle_id:32 type:16 flags:16 properties...
    BUNDLE_ADD_MESSAGE:  bundle_id:32 pad:16 flags:16 message (a whole OpenFlow message) [pad to 8, properties]

Control types: OPEN, CLOSE, COMMIT and DISCARD requests (0, 2, 4, 6), each answered by the next number.  Flags:
``atomic`` (1) and ``ordered`` (2).  ``ovs-ofctl --bundle add-flows`` sends OPEN_REQUEST (flags atomic ordered),
one BUNDLE_ADD_MESSAGE per flow-mod (the outer xid is the inner message's) and COMMIT_REQUEST; a refused inner
message is answered with its error at commit time, then ``OFPBFC_MSG_FAILED`` for the commit.

Decoding follows Open vSwitch's ``ofputil_decode_bundle_ctrl`` (properties are kept as bytes, not interpreted) and
``ofputil_decode_bundle_add``: the inner message must be a whole OpenFlow message of the outer one's version
(``OFPBFC_MSG_BAD_LEN``, ``OFPBFC_BAD_VERSION``), with the outer xid (``OFPBFC_MSG_BAD_XID``), decodable and of a
bundlable type: flow-mod, group-mod, port-mod or packet-out (``OFPBFC_MSG_UNSUP``).

The bundle errors' numbers (OpenFlow 1.4+ type 17, ``OFPET_BUNDLE_FAILED``, codes 0 to 15; OpenFlow 1.3 ONF
experimenter codes 2300 to 2315; ``OFPBFC_BAD_VERSION``, Nicira's 22 in 1.4 and 1.5) are in ``ofp_errors``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from pyvswitch.openflow import ofp_msgs
from pyvswitch.openflow.ofp_errors import OFPDecodeError
from pyvswitch.openflow.ofp_msgs import Msg
from pyvswitch.util import vlog

__all__ = [
    "BUNDLABLE",
    "CONTROL_TYPES",
    "OFPBF_ATOMIC",
    "OFPBF_ORDERED",
    "PRINTERS",
    "BundleAdd",
    "BundleCtrl",
    "decode_bundle_add",
    "decode_bundle_ctrl",
    "encode_bundle_add",
    "encode_bundle_ctrl",
    "format_bundle_add",
    "format_bundle_ctrl",
    "format_bundle_flags",
]

OFPBCT_OPEN_REQUEST, OFPBCT_OPEN_REPLY = 0, 1
OFPBCT_CLOSE_REQUEST, OFPBCT_CLOSE_REPLY = 2, 3
OFPBCT_COMMIT_REQUEST, OFPBCT_COMMIT_REPLY = 4, 5
OFPBCT_DISCARD_REQUEST, OFPBCT_DISCARD_REPLY = 6, 7
CONTROL_TYPES = {0: "OPEN_REQUEST", 1: "OPEN_REPLY", 2: "CLOSE_REQUEST", 3: "CLOSE_REPLY", 4: "COMMIT_REQUEST",
                 5: "COMMIT_REPLY", 6: "DISCARD_REQUEST", 7: "DISCARD_REPLY"}
OFPBF_ATOMIC = 1 << 0
OFPBF_ORDERED = 1 << 1
_FLAG_NAMES = {OFPBF_ATOMIC: "atomic", OFPBF_ORDERED: "ordered"}
BUNDLABLE = frozenset({"FLOW_MOD", "GROUP_MOD", "PORT_MOD", "PACKET_OUT"})
"""Message types Open vSwitch accepts inside a bundle (``ofputil_is_bundlable``)."""

_log = vlog.Vlog("ofp_bundle")


@dataclass
class BundleCtrl:
    """A bundle control request or reply; ``properties`` are the raw property bytes (Open vSwitch ignores them)."""

    bundle_id: int = 0
    type: int = OFPBCT_OPEN_REQUEST
    flags: int = OFPBF_ATOMIC | OFPBF_ORDERED
    properties: bytes = b""


@dataclass
class BundleAdd:
    """A message added to a bundle: ``message`` is the whole inner OpenFlow message; ``inner`` its decoded frame
    (set by the decoder; the encoder does not need it)."""

    bundle_id: int = 0
    flags: int = OFPBF_ATOMIC | OFPBF_ORDERED
    message: bytes = b""
    inner: Msg | None = None
    properties: bytes = b""


def _raw(kind: str, version: int) -> str:
    if version < 4:
        raise ValueError("bundles need OpenFlow 1.3 or later ('-O OpenFlow14')")
    return f"ONFT13_BUNDLE_{kind}" if version == 4 else f"OFPT14_BUNDLE_{kind}"


def encode_bundle_ctrl(bc: BundleCtrl, version: int, xid: int = 0) -> bytes:
    """A bundle control message (ONF extension in OpenFlow 1.3, standard from 1.4)."""
    body = struct.pack("!IHH", bc.bundle_id & 0xFFFFFFFF, bc.type & 0xFFFF, bc.flags & 0xFFFF) + bc.properties
    return ofp_msgs.encode(_raw("CONTROL", version), version, body, xid)


def decode_bundle_ctrl(msg: Msg) -> BundleCtrl:
    """OVS ``ofputil_decode_bundle_ctrl``."""
    if len(msg.body) < 8:
        raise OFPDecodeError("OFPBRC_BAD_LEN")
    bundle_id, btype, flags = struct.unpack_from("!IHH", msg.body, 0)
    return BundleCtrl(bundle_id, btype, flags, msg.body[8:])


def encode_bundle_add(ba: BundleAdd, version: int, xid: int | None = None) -> bytes:
    """A BUNDLE_ADD_MESSAGE carrying ``ba.message``; the xid is the inner message's unless ``xid`` is given
    (Open vSwitch always uses the inner one)."""
    if xid is None:
        xid = struct.unpack_from("!I", ba.message, 4)[0] if len(ba.message) >= 8 else 0
    body = struct.pack("!I2xH", ba.bundle_id & 0xFFFFFFFF, ba.flags & 0xFFFF) + ba.message
    if ba.properties:
        body += bytes(-len(ba.message) % 8) + ba.properties
    return ofp_msgs.encode(_raw("ADD_MESSAGE", version), version, body, xid)


def decode_bundle_add(msg: Msg) -> BundleAdd:
    """OVS ``ofputil_decode_bundle_add``: the bundle id, flags and the checked inner message."""
    body = msg.body
    if len(body) < 8:
        raise OFPDecodeError("OFPBRC_BAD_LEN")
    bundle_id, flags = struct.unpack_from("!I2xH", body, 0)
    rest = body[8:]
    if len(rest) < 8:
        raise OFPDecodeError("OFPBFC_MSG_BAD_LEN")
    version, _, inner_len, inner_xid = struct.unpack_from("!BBHI", rest, 0)
    if version != msg.version:
        raise OFPDecodeError("OFPBFC_BAD_VERSION")
    if inner_len < 8 or inner_len > len(rest):
        raise OFPDecodeError("OFPBFC_MSG_BAD_LEN")
    if inner_xid != msg.xid:
        raise OFPDecodeError("OFPBFC_MSG_BAD_XID")
    message = rest[:inner_len]
    try:
        inner = ofp_msgs.decode(message)
    except OFPDecodeError as e:
        _log.warn(f"OFPT14_BUNDLE_ADD_MESSAGE contained message is unparsable ({e.code})")
        raise OFPDecodeError("OFPBFC_MSG_UNSUP") from None
    if inner.type not in BUNDLABLE:
        _log.warn(f"OFPTYPE_{inner.type} message not allowed inside OFPT14_BUNDLE_ADD_MESSAGE")
        raise OFPDecodeError("OFPBFC_MSG_UNSUP")
    return BundleAdd(bundle_id, flags, message, inner, rest[(inner_len + 7) // 8 * 8:])


# --- text ------------------------------------------------------------------------------------------------------

def format_bundle_flags(flags: int) -> str:
    """OVS ``ofp_print_bit_names`` for bundle flags: ``atomic ordered``, ``0`` when none, unknown bits as hex."""
    if not flags:
        return "0"
    names = [_FLAG_NAMES[b] for b in (OFPBF_ATOMIC, OFPBF_ORDERED) if flags & b]
    bad = flags & ~(OFPBF_ATOMIC | OFPBF_ORDERED)
    if bad:
        names.append(f"{bad:#x}")
    return " ".join(names)


def format_bundle_ctrl(bc: BundleCtrl) -> str:
    """OVS ``ofputil_format_bundle_ctrl_request``: ``\\n bundle_id=0 type=OPEN_REQUEST flags=atomic ordered``."""
    bid = f"{bc.bundle_id:#x}" if bc.bundle_id else "0"
    return f"\n bundle_id={bid} type={CONTROL_TYPES.get(bc.type, '')} flags={format_bundle_flags(bc.flags)}"


def _inner_text(msg: Msg) -> str:
    """The inner message as ``ofp_to_string`` prints it (without its final newline)."""
    from pyvswitch.openflow.ofp_print import message_text  # It imports this module's printers.
    return message_text(msg.data)


def format_bundle_add(ba: BundleAdd) -> str:
    """OVS ``ofputil_format_bundle_add``: the bundle id and flags, then the inner message as ofp-print prints it."""
    bid = f"{ba.bundle_id:#x}" if ba.bundle_id else "0"
    s = f"\n bundle_id={bid} flags={format_bundle_flags(ba.flags)}\n"
    inner = ba.inner if ba.inner is not None else ofp_msgs.decode(ba.message)
    return s + _inner_text(inner)


def _print_ctrl(msg: Msg) -> str:
    return format_bundle_ctrl(decode_bundle_ctrl(msg))


def _print_add(msg: Msg) -> str:
    return format_bundle_add(decode_bundle_add(msg))


PRINTERS: dict[str, Callable[[Msg], str]] = {
    "BUNDLE_CONTROL": _print_ctrl,
    "BUNDLE_ADD_MESSAGE": _print_add,
}
