"""Group messages on the wire, byte-exact with Open vSwitch 3.1: group-mod, group stats, group description and
group features, and how ``ovs-ofctl ofp-print`` prints them.

Layouts (OpenFlow 1.1 section A.3.7, 1.3 A.3.5.9-11, 1.5 A.3.4.2 and A.3.5.12, Open vSwitch's openflow-1.5.h)::

    OFPT11_GROUP_MOD (1.1-1.4): command:16 type:8 pad:8 group_id:32 ofp11_bucket...
    ofp11_bucket:               len:16 weight:16 watch_port:32 watch_group:32 pad:32 actions...         (16 + n*8)
    OFPT15_GROUP_MOD, NXT_GROUP_MOD (OpenFlow 1.0, Open vSwitch's extension with the 1.5 body):
                                command:16 type:8 pad:8 group_id:32 bucket_array_len:16 pad:16
                                command_bucket_id:32 ofp15_bucket... properties...
    ofp15_bucket:               len:16 action_array_len:16 bucket_id:32 actions... properties
                                (weight: type 0 len 8 u16 pad16; watch_port: 1 len 8; watch_group: 2 len 8)
    group property:             Open vSwitch's NTR selection method, experimenter 0x154d type 1:
                                0xffff len:16 0x0000154d 1 pad:32 method[16] param:64 OXM headers+masks, padded
    group stats request:        group_id:32 pad:32 (OpenFlow 1.0: NXST_GROUP, same body)
    group stats entry:          length:16 pad:16 group_id:32 ref_count:32 pad:32 packets:64 bytes:64
                                [1.3+ and NXST: duration_sec:32 duration_nsec:32] (packets:64 bytes:64)...
    group desc request:         empty; 1.5 and NXST: group_id:32 pad:32
    group desc entry:           1.1-1.4: length:16 type:8 pad:8 group_id:32 ofp11_bucket...
                                1.0 (NXST), 1.5: length:16 type:8 pad:8 group_id:32 bucket_list_len:16 pad:48
                                ofp15_bucket... properties...
    group features reply:       types:32 capabilities:32 max_groups[4]:32 actions[4]:32 (request empty)

A reply that fails part-way is printed as Open vSwitch prints it: the printers raise ``PartialDecodeError``
(``ofp_flow_stats``) with the entries before the failure (for group stats followed by `` ***parse error***``).

Each decoder reproduces Open vSwitch's checks and its error for each (``OFPGMFC_BAD_BUCKET`` for a bucket that
does not fit, ``OFPGMFC_BAD_WATCH`` for an impossible watch port, ``OFPBPC_*`` for bad properties...), then the
group-mod checks of ``pyvswitch.ofproto.group.check_group_mod``.  A group-mod without bucket ids sent in OpenFlow
1.5 (or 1.0) gets ids as Open vSwitch's encoder gives them (the lowest unused); decoding a 1.1-1.4 group-mod
numbers the buckets from 0.

Error names this module raises that ``ofp_errors.py`` does not list yet: the ``OFPGMFC_*`` group-mod errors
(type GROUP_MOD_FAILED, OpenFlow 1.1+; OpenFlow 1.0 uses Nicira codes); ``GROUP_MOD_ERRORS`` below gives their
numbers for the lead to merge.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from pyvswitch.flow import fields as F
from pyvswitch.flow import values as V
from pyvswitch.ofproto import group as G
from pyvswitch.ofproto.actions import Action
from pyvswitch.openflow import nx_match as NX
from pyvswitch.openflow import ofp_actions as A
from pyvswitch.openflow import ofp_msgs
from pyvswitch.openflow.ofp_errors import OFPDecodeError
from pyvswitch.openflow.ofp_flow_stats import PartialDecodeError, format_duration
from pyvswitch.openflow.ofp_msgs import Msg

__all__ = [
    "GROUP_MOD_ERRORS",
    "PRINTERS",
    "GroupDescRequest",
    "GroupStatsRequest",
    "decode_group_desc_reply",
    "decode_group_desc_request",
    "decode_group_features_reply",
    "decode_group_mod",
    "decode_group_stats_reply",
    "decode_group_stats_request",
    "encode_group_desc_reply",
    "encode_group_desc_request",
    "encode_group_features_reply",
    "encode_group_features_request",
    "encode_group_mod",
    "encode_group_stats_reply",
    "encode_group_stats_request",
]

GROUP_MOD_ERRORS: dict[str, int] = {
    # OFPET11_GROUP_MOD_FAILED (type 6) codes, OpenFlow 1.1+ (1.3.5 names).
    "OFPGMFC_GROUP_EXISTS": 0, "OFPGMFC_INVALID_GROUP": 1, "OFPGMFC_WEIGHT_UNSUPPORTED": 2,
    "OFPGMFC_OUT_OF_GROUPS": 3, "OFPGMFC_OUT_OF_BUCKETS": 4, "OFPGMFC_CHAINING_UNSUPPORTED": 5,
    "OFPGMFC_WATCH_UNSUPPORTED": 6, "OFPGMFC_LOOP": 7, "OFPGMFC_UNKNOWN_GROUP": 8, "OFPGMFC_CHAINED_GROUP": 9,
    "OFPGMFC_BAD_TYPE": 10, "OFPGMFC_BAD_COMMAND": 11, "OFPGMFC_BAD_BUCKET": 12, "OFPGMFC_BAD_WATCH": 13,
    "OFPGMFC_EPERM": 14,
    # OpenFlow 1.5 only.
    "OFPGMFC_UNKNOWN_BUCKET": 15, "OFPGMFC_BUCKET_EXISTS": 16,
}

NTR_VENDOR_ID = 0x0000154D
NTR_COMPAT_VENDOR_ID = 0x00001540
NTRT_SELECTION_METHOD = 1
_NTR_PROP_LEN = 40
OFPGBPT15_WEIGHT = 0
OFPGBPT15_WATCH_PORT = 1
OFPGBPT15_WATCH_GROUP = 2
_DURATION_UNKNOWN = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class GroupStatsRequest:
    group_id: int = G.OFPG_ALL


@dataclass(frozen=True, slots=True)
class GroupDescRequest:
    """``group_id`` is sent only in OpenFlow 1.0 (NXST) and 1.5+; earlier requests always mean every group."""

    group_id: int = G.OFPG_ALL


def _err(code: str, detail: str = "") -> OFPDecodeError:
    return OFPDecodeError(code, detail)


def _is15(version: int) -> bool:
    return version == 1 or version >= 6


def _pad8(b: bytes) -> bytes:
    return b + bytes(-len(b) % 8)


# ---------------------------------------------------------------------------------------------------------------
# Buckets and properties.

def _encode_ofp11_bucket(b: G.Bucket, version: int) -> bytes:
    acts = A.encode_actions(list(b.actions), version)
    return struct.pack("!HHIII", 16 + len(acts), b.weight, V.port_to_ofp11(b.watch_port), b.watch_group, 0) + acts


def _encode_ofp15_bucket(b: G.Bucket, bucket_id: int, gtype: int, version: int) -> bytes:
    acts = A.encode_actions(list(b.actions), version)
    props = b""
    if gtype == G.GroupType.SELECT:
        props += struct.pack("!HHH2x", OFPGBPT15_WEIGHT, 8, b.weight)
    if b.watch_port != G.OFPP_ANY:
        props += struct.pack("!HHI", OFPGBPT15_WATCH_PORT, 8, V.port_to_ofp11(b.watch_port))
    if b.watch_group != G.OFPG_ANY:
        props += struct.pack("!HHI", OFPGBPT15_WATCH_GROUP, 8, b.watch_group)
    return struct.pack("!HHI", 8 + len(acts) + len(props), len(acts), bucket_id) + acts + props


def _encode_selection_prop(props: G.GroupProps, version: int) -> bytes:
    fields = b"".join(NX.encode_entry(F.BY_NAME[name], version, mask, None) for name, mask in props.fields)
    method = props.selection_method.encode()[:15].ljust(16, b"\0")
    body = struct.pack("!HHII4x", 0xFFFF, _NTR_PROP_LEN + len(fields), NTR_VENDOR_ID, NTRT_SELECTION_METHOD)
    return _pad8(body + method + struct.pack("!Q", props.selection_method_param) + fields)


def _pull_props(data: bytes) -> list[tuple[int, int, bytes]]:
    """Open vSwitch's ``ofpprop_pull`` over ``data``: (type, experimenter or -1, property bytes up to its length).

    Experimenter properties (type 0xffff) give their experimenter and exp_type."""
    out = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 4:
            raise _err("OFPBPC_BAD_LEN")
        ptype, plen = struct.unpack_from("!HH", data, pos)
        padded = (plen + 7) // 8 * 8
        if plen < 4 or padded > len(data) - pos:
            raise _err("OFPBPC_BAD_LEN")
        exp = -1
        if ptype == 0xFFFF:
            if plen < 12:
                raise _err("OFPBPC_BAD_LEN")
            exp, ptype = struct.unpack_from("!II", data, pos + 4)
        out.append((ptype, exp, data[pos:pos + plen]))
        pos += padded
    return out


def _unknown_prop(exp: int) -> OFPDecodeError:
    return _err("OFPBPC_BAD_EXP_TYPE" if exp >= 0 else "OFPBPC_BAD_TYPE")


def _decode_selection_prop(p: bytes, gtype: int, command: int) -> G.GroupProps:
    if gtype != G.GroupType.SELECT:
        raise _err("OFPBPC_BAD_VALUE", "ntr selection method property is only allowed for select groups")
    if command not in (G.GroupCommand.ADD, G.GroupCommand.MODIFY, G.GroupCommand.ADD_OR_MOD):
        raise _err("OFPBPC_BAD_VALUE", "ntr selection method property is only allowed for add and delete group "
                                       "modifications")
    if len(p) < _NTR_PROP_LEN:
        raise _err("OFPBPC_BAD_LEN")
    raw = p[16:32]
    if b"\0" not in raw:
        raise _err("OFPBPC_BAD_VALUE", "ntr selection method is not null terminated")
    method_b = raw[:raw.index(b"\0")]
    if method_b not in (b"hash", b"dp_hash"):
        raise _err("OFPBPC_BAD_VALUE")
    method = method_b.decode()
    (param,) = struct.unpack_from("!Q", p, 32)
    fdata = p[_NTR_PROP_LEN:]
    if fdata and method != "hash":
        raise _err("OFPBPC_BAD_VALUE")
    fields: dict[str, int] = {}
    pos = 0
    while pos < len(fdata):
        f, _h, value, mask, pos = NX.pull_entry(fdata, pos)
        if f is None:
            raise _err("OFPBMC_BAD_FIELD")
        if mask is not None:
            raise _err("OFPBMC_BAD_MASK")
        if f.name in fields:
            raise _err("OFPBMC_DUP_FIELD")
        full = (1 << f.nbits) - 1
        if not f.maskable and value & full != full:
            raise _err("OFPBMC_BAD_MASK")
        fields[f.name] = value
    ordered = tuple(sorted(fields.items(), key=lambda kv: F.BY_NAME[kv[0]].id))
    return G.GroupProps(method, param, ordered)


def _decode_group_props(data: bytes, gtype: int, command: int) -> G.GroupProps:
    props = G.GroupProps()
    for ptype, exp, p in _pull_props(data):
        if exp in (NTR_VENDOR_ID, NTR_COMPAT_VENDOR_ID) and ptype == NTRT_SELECTION_METHOD:
            props = _decode_selection_prop(p, gtype, command)
        else:
            raise _unknown_prop(exp)
    return props


def _decode_actions(data: bytes, version: int) -> tuple[Action, ...]:
    return tuple(A.decode_actions(data, version))


def _decode_ofp11_buckets(data: bytes, version: int) -> tuple[G.Bucket, ...]:
    buckets: list[G.Bucket] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 16:
            raise _err("OFPGMFC_BAD_BUCKET", f"buckets end with {len(data) - pos} leftover bytes")
        blen, weight, wport, wgroup = struct.unpack_from("!HHII", data, pos)
        if blen < 16 or blen > len(data) - pos:
            raise _err("OFPGMFC_BAD_BUCKET")
        acts = _decode_actions(data[pos + 16:pos + blen], version)
        port = V.port_from_ofp11(wport)
        if port is None:
            raise _err("OFPGMFC_BAD_WATCH")
        buckets.append(G.Bucket(acts, weight, port, wgroup, len(buckets)))
        pos += blen
    return tuple(buckets)


def _decode_ofp15_buckets(data: bytes, version: int, gtype: int) -> tuple[G.Bucket, ...]:
    buckets: list[G.Bucket] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 8:
            raise _err("OFPGMFC_BAD_BUCKET", f"buckets end with {len(data) - pos} leftover bytes")
        blen, alen, bucket_id = struct.unpack_from("!HHI", data, pos)
        if blen < 8 or blen > len(data) - pos or alen > blen - 8:
            raise _err("OFPGMFC_BAD_BUCKET")
        acts = _decode_actions(data[pos + 8:pos + 8 + alen], version)
        weight = 1 if gtype == G.GroupType.SELECT else 0
        wport32, wgroup = V.port_to_ofp11(G.OFPP_ANY), G.OFPG_ANY
        for ptype, exp, p in _pull_props(data[pos + 8 + alen:pos + blen]):
            if exp < 0 and ptype == OFPGBPT15_WEIGHT:
                # Open vSwitch sends the 16-bit weight padded to 32 bits (length 8) and accepts either form.
                if len(p) not in (6, 8):
                    raise _err("OFPBPC_BAD_LEN")
                (weight,) = struct.unpack_from("!H", p, 4)
            elif exp < 0 and ptype in (OFPGBPT15_WATCH_PORT, OFPGBPT15_WATCH_GROUP):
                if len(p) != 8:
                    raise _err("OFPBPC_BAD_LEN")
                (v,) = struct.unpack_from("!I", p, 4)
                if ptype == OFPGBPT15_WATCH_PORT:
                    wport32 = v
                else:
                    wgroup = v
            else:
                raise _unknown_prop(exp)
        port = V.port_from_ofp11(wport32)
        if port is None:
            raise _err("OFPGMFC_BAD_WATCH")
        if bucket_id > G.BUCKET_MAX:
            raise _err("OFPGMFC_BAD_BUCKET", f"bucket id ({bucket_id}) is out of range")
        buckets.append(G.Bucket(acts, weight, port, wgroup, bucket_id))
        pos += blen
    ids = [b.bucket_id for b in buckets]
    if len(set(ids)) != len(ids):
        raise _err("OFPGMFC_BAD_BUCKET", "Duplicate bucket id")
    return tuple(buckets)


# ---------------------------------------------------------------------------------------------------------------
# Group mod.

def encode_group_mod(gm: G.GroupMod, version: int, xid: int = 0) -> bytes:
    """``gm`` as Open vSwitch's ``ofputil_encode_group_mod`` sends it in ``version``.  Bucket commands cannot be
    sent in OpenFlow 1.1 to 1.4 (``ValueError``, as ovs-ofctl refuses them)."""
    raw = ofp_msgs.raw_for("GROUP_MOD", version)
    if not _is15(version):
        if gm.command not in (G.GroupCommand.ADD, G.GroupCommand.MODIFY, G.GroupCommand.DELETE,
                              G.GroupCommand.ADD_OR_MOD):
            raise ValueError("bucket commands need OpenFlow 1.5 or later")
        body = struct.pack("!HBxI", gm.command, gm.type, gm.group_id)
        body += b"".join(_encode_ofp11_bucket(b, version) for b in gm.buckets)
        return ofp_msgs.encode(raw, version, body, xid)
    buckets = G._assign_bucket_ids(gm.buckets)
    blist = b"".join(_encode_ofp15_bucket(b, b.bucket_id, gm.type, version) for b in buckets)
    body = struct.pack("!HBxIH2xI", gm.command, gm.type, gm.group_id, len(blist), gm.command_bucket_id) + blist
    if gm.props.selection_method:
        body += _encode_selection_prop(gm.props, version)
    return ofp_msgs.encode(raw, version, body, xid)


def decode_group_mod(msg: Msg) -> G.GroupMod:
    """Open vSwitch's ``ofputil_decode_group_mod``: the group-mod, checked (``check_group_mod``)."""
    body = msg.body
    version = msg.version
    if not _is15(version):
        command, gtype, group_id = struct.unpack_from("!HBxI", body, 0)
        buckets = _decode_ofp11_buckets(body[8:], version)
        if version >= 4 and command == G.GroupCommand.DELETE and buckets:
            raise _err("OFPGMFC_INVALID_GROUP")
        gm = G.GroupMod(_command(command), group_id, gtype, buckets)
    else:
        command, gtype, group_id, blen, cbid = struct.unpack_from("!HBxIH2xI", body, 0)
        ok = False
        if command == G.GroupCommand.REMOVE_BUCKET and cbid == G.BUCKET_ALL:
            ok = True
        if command in (G.GroupCommand.REMOVE_BUCKET, G.GroupCommand.INSERT_BUCKET):
            ok = ok or cbid <= G.BUCKET_MAX or cbid in (G.BUCKET_FIRST, G.BUCKET_LAST)
        else:
            ok = cbid == G.BUCKET_ALL
        if not ok:
            raise _err("OFPGMFC_BAD_BUCKET", f"group command bucket id ({cbid}) is out of range")
        rest = body[16:]
        if blen > len(rest):
            raise _err("OFPBRC_BAD_LEN")
        buckets = _decode_ofp15_buckets(rest[:blen], version, gtype)
        props = _decode_group_props(rest[blen:], gtype, command)
        gm = G.GroupMod(_command(command), group_id, gtype, buckets, props, cbid)
    err = G.check_group_mod(gm)
    if err:
        raise _err(err)
    return gm


def _command(value: int) -> G.GroupCommand:
    try:
        return G.GroupCommand(value)
    except ValueError:
        raise _err("OFPGMFC_BAD_COMMAND") from None


# ---------------------------------------------------------------------------------------------------------------
# Stats.

def encode_group_stats_request(req: GroupStatsRequest, version: int, xid: int = 0) -> bytes:
    return ofp_msgs.encode(ofp_msgs.raw_for("GROUP_STATS_REQUEST", version), version,
                           struct.pack("!I4x", req.group_id), xid)


def decode_group_stats_request(msg: Msg) -> GroupStatsRequest:
    return GroupStatsRequest(struct.unpack_from("!I", msg.body, 0)[0])


def _has_duration(msg_or_version: int) -> bool:
    return msg_or_version == 1 or msg_or_version >= 4


def _encode_group_stats(gs: G.GroupStats, version: int) -> bytes:
    base = 40 if _has_duration(version) else 32
    length = base + 16 * len(gs.buckets)
    out = struct.pack("!H2xII4xQQ", length, gs.group_id, gs.ref_count, gs.packet_count, gs.byte_count)
    if _has_duration(version):
        out += struct.pack("!II", gs.duration_sec, gs.duration_nsec)
    return out + b"".join(struct.pack("!QQ", b.packet_count, b.byte_count) for b in gs.buckets)


def encode_group_stats_reply(stats: list[G.GroupStats], version: int, xid: int = 0, flags: int = 0) -> bytes:
    """One group stats reply carrying ``stats`` (see ``ofp_msgs.encode_multipart_replies`` to split)."""
    return ofp_msgs.encode(ofp_msgs.raw_for("GROUP_STATS_REPLY", version), version,
                           b"".join(_encode_group_stats(s, version) for s in stats), xid, flags)


def decode_group_stats_reply(msg: Msg) -> list[G.GroupStats]:
    """The entries of a group stats reply (``duration_sec`` ``0xFFFFFFFF`` when the version has none)."""
    return _decode_group_stats_entries(msg, [])


def _decode_group_stats_entries(msg: Msg, out: list[G.GroupStats]) -> list[G.GroupStats]:
    data = msg.body
    dur = msg.raw.name != "OFPST11_GROUP_REPLY"
    base = 40 if dur else 32
    pos = 0
    while pos < len(data):
        if len(data) - pos < base:
            raise _err("OFPBRC_BAD_LEN", f"{msg.raw.name} reply has {len(data) - pos} leftover bytes at end")
        length, gid, ref, packets, nbytes = struct.unpack_from("!H2xII4xQQ", data, pos)
        sec, nsec = struct.unpack_from("!II", data, pos + 32) if dur else (_DURATION_UNKNOWN, _DURATION_UNKNOWN)
        if length < base:
            raise _err("OFPBRC_BAD_LEN", f"{msg.raw.name} reply claims invalid length {length}")
        pos += base
        n = (length - base) // 16
        if n * 16 > len(data) - pos:
            raise _err("OFPBRC_BAD_LEN", f"{msg.raw.name} reply has {len(data) - pos} leftover bytes at end")
        buckets = tuple(G.BucketStats(*struct.unpack_from("!QQ", data, pos + 16 * i)) for i in range(n))
        pos += 16 * n
        out.append(G.GroupStats(gid, ref, packets, nbytes, sec, nsec, buckets))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Descriptions.

def encode_group_desc_request(req: GroupDescRequest, version: int, xid: int = 0) -> bytes:
    raw = ofp_msgs.raw_for("GROUP_DESC_STATS_REQUEST", version)
    body = struct.pack("!I4x", req.group_id) if _is15(version) else b""
    return ofp_msgs.encode(raw, version, body, xid)


def decode_group_desc_request(msg: Msg) -> GroupDescRequest:
    if msg.raw.name == "OFPST11_GROUP_DESC_REQUEST":
        return GroupDescRequest(G.OFPG_ALL)
    return GroupDescRequest(struct.unpack_from("!I", msg.body, 0)[0])


def _encode_group_desc(gd: G.GroupDesc, version: int) -> bytes:
    if not _is15(version):
        blist = b"".join(_encode_ofp11_bucket(b, version) for b in gd.buckets)
        return struct.pack("!HBxI", 8 + len(blist), gd.type, gd.group_id) + blist
    blist = b"".join(_encode_ofp15_bucket(b, b.bucket_id, gd.type, version) for b in gd.buckets)
    props = _encode_selection_prop(gd.props, version) if gd.props.selection_method else b""
    return struct.pack("!HBxIH6x", 16 + len(blist) + len(props), gd.type, gd.group_id, len(blist)) + blist + props


def encode_group_desc_reply(descs: list[G.GroupDesc], version: int, xid: int = 0, flags: int = 0) -> bytes:
    return ofp_msgs.encode(ofp_msgs.raw_for("GROUP_DESC_STATS_REPLY", version), version,
                           b"".join(_encode_group_desc(d, version) for d in descs), xid, flags)


def decode_group_desc_reply(msg: Msg) -> list[G.GroupDesc]:
    return _decode_group_desc_entries(msg, [])


def _decode_group_desc_entries(msg: Msg, out: list[G.GroupDesc]) -> list[G.GroupDesc]:
    """Decodes into ``out`` (so that a printer can show the entries before a failure)."""
    data = msg.body
    version = msg.version
    pos = 0
    while pos < len(data):
        base = 16 if _is15(version) else 8
        if len(data) - pos < base:
            raise _err("OFPBRC_BAD_LEN", f"OFPST11_GROUP_DESC reply has {len(data) - pos} leftover bytes at end")
        length, gtype, gid = struct.unpack_from("!HBxI", data, pos)
        if length < base or length - base > len(data) - pos - base:
            raise _err("OFPBRC_BAD_LEN", f"OFPST11_GROUP_DESC reply claims invalid length {length}")
        if not _is15(version):
            buckets = _decode_ofp11_buckets(data[pos + 8:pos + length], version)
            props = G.GroupProps()
        else:
            (blen,) = struct.unpack_from("!H", data, pos + 8)
            if length < blen + 16:
                raise _err("OFPBRC_BAD_LEN", f"OFPST11_GROUP_DESC reply claims invalid bucket list length {blen}")
            buckets = _decode_ofp15_buckets(data[pos + 16:pos + 16 + blen], version, gtype)
            props = _decode_group_props(data[pos + 16 + blen:pos + length], gtype, G.GroupCommand.ADD)
        out.append(G.GroupDesc(gid, gtype, buckets, props))
        pos += length
    return out


# ---------------------------------------------------------------------------------------------------------------
# Features.

# Wire action bits per version family -> Open vSwitch action kind (ofpact name).
_ACTION_BITS: dict[str, dict[int, str]] = {
    "1.0": {0: "output", 1: "set_vlan_vid", 2: "set_vlan_pcp", 3: "strip_vlan", 4: "mod_dl_src", 5: "mod_dl_dst",
            6: "mod_nw_src", 7: "mod_nw_dst", 8: "mod_nw_tos", 9: "mod_tp_src", 10: "mod_tp_dst", 11: "enqueue"},
    "1.1": {0: "output", 1: "set_vlan_vid", 2: "set_vlan_pcp", 3: "mod_dl_src", 4: "mod_dl_dst", 5: "mod_nw_src",
            6: "mod_nw_dst", 7: "mod_nw_tos", 8: "mod_nw_ecn", 9: "mod_tp_src", 10: "mod_tp_dst",
            13: "set_mpls_label", 14: "set_mpls_tc", 15: "set_mpls_ttl", 16: "dec_mpls_ttl", 17: "push_vlan",
            18: "strip_vlan", 19: "push_mpls", 20: "pop_mpls", 21: "set_queue", 22: "group", 23: "mod_nw_ttl",
            24: "dec_ttl"},
    "1.2+": {0: "output", 15: "set_mpls_ttl", 16: "dec_mpls_ttl", 17: "push_vlan", 18: "strip_vlan",
             19: "push_mpls", 20: "pop_mpls", 21: "set_queue", 22: "group", 23: "mod_nw_ttl", 24: "dec_ttl",
             25: "set_field"},
}


def _action_bits(version: int) -> dict[int, str]:
    return _ACTION_BITS["1.0" if version == 1 else "1.1" if version == 2 else "1.2+"]


def _actions_to_wire(actions: frozenset[str], version: int) -> int:
    return sum(1 << bit for bit, name in _action_bits(version).items() if name in actions)


def _actions_from_wire(bits: int, version: int) -> frozenset[str]:
    return frozenset(name for bit, name in _action_bits(version).items() if bits >> bit & 1)


def encode_group_features_request(version: int, xid: int = 0) -> bytes:
    return ofp_msgs.encode(ofp_msgs.raw_for("GROUP_FEATURES_STATS_REQUEST", version), version, b"", xid)


def encode_group_features_reply(gf: G.GroupFeatures, version: int, xid: int = 0) -> bytes:
    body = struct.pack("!II4I4I", gf.types, gf.capabilities, *gf.max_groups,
                       *(_actions_to_wire(a, version) for a in gf.actions))
    return ofp_msgs.encode(ofp_msgs.raw_for("GROUP_FEATURES_STATS_REPLY", version), version, body, xid)


def decode_group_features_reply(msg: Msg) -> G.GroupFeatures:
    v = struct.unpack_from("!II4I4I", msg.body, 0)
    return G.GroupFeatures(v[0], v[1], (v[2], v[3], v[4], v[5]),
                           tuple(_actions_from_wire(a, msg.version) for a in v[6:10]))


# ---------------------------------------------------------------------------------------------------------------
# Printing.

def _print_group_mod(msg: Msg) -> str:
    return "\n " + G.format_group_mod(decode_group_mod(msg), msg.version)


def _print_stats_request(msg: Msg) -> str:
    return " group_id=" + G.format_group_id(decode_group_stats_request(msg).group_id)


def _print_stats_reply(msg: Msg) -> str:
    entries: list[G.GroupStats] = []
    try:
        _decode_group_stats_entries(msg, entries)
    except OFPDecodeError as e:
        # Open vSwitch prints the entries before the failure and a parse-error mark, then the decode error.
        raise PartialDecodeError(e.code, _format_stats(entries) + " ***parse error***", e.detail) from None
    return _format_stats(entries)


def _format_stats(entries: list[G.GroupStats]) -> str:
    s = ""
    for gs in entries:
        s += f"\n group_id={gs.group_id},"
        if gs.duration_sec != _DURATION_UNKNOWN:
            s += "duration=" + format_duration(gs.duration_sec, gs.duration_nsec) + ","
        s += f"ref_count={gs.ref_count},packet_count={gs.packet_count},byte_count={gs.byte_count}"
        for i, b in enumerate(gs.buckets):
            if b.packet_count != 0xFFFFFFFFFFFFFFFF:
                s += f",bucket{i}:packet_count={b.packet_count},byte_count={b.byte_count}"
    return s


def _print_desc_request(msg: Msg) -> str:
    return " group_id=" + G.format_group_id(decode_group_desc_request(msg).group_id)


def _print_desc_reply(msg: Msg) -> str:
    entries: list[G.GroupDesc] = []
    err = None
    try:
        _decode_group_desc_entries(msg, entries)
    except OFPDecodeError as e:
        err = e
    text = "".join("\n " + G.format_group(d.group_id, d.type, d.buckets, d.props, msg.version) for d in entries)
    if err is not None:
        if not entries:
            raise err
        raise PartialDecodeError(err.code, text, err.detail)
    return text


def _print_features_request(msg: Msg) -> str:
    return ""


def _c_hex(v: int) -> str:
    """C's ``%#x``: no prefix for zero."""
    return f"{v:#x}" if v else "0"


def _print_features_reply(msg: Msg) -> str:
    gf = decode_group_features_reply(msg)
    s = f"\n Group table:\n    Types:  {gf.types:#x}\n    Capabilities:  {gf.capabilities:#x}\n"
    names = ("all", "select", "indirect", "fast failover")
    for i in range(4):
        if gf.types >> i & 1:
            acts = [a for a in G.OFPACT_ORDER if a in gf.actions[i]]
            s += f"    {names[i]} group:\n       max_groups={_c_hex(gf.max_groups[i])}\n       actions: "
            s += (" ".join(acts) if acts else "<none>") + "\n"
    return s.removesuffix("\n")


PRINTERS: dict[str, Callable[[Msg], str]] = {
    "GROUP_MOD": _print_group_mod,
    "GROUP_STATS_REQUEST": _print_stats_request,
    "GROUP_STATS_REPLY": _print_stats_reply,
    "GROUP_DESC_STATS_REQUEST": _print_desc_request,
    "GROUP_DESC_STATS_REPLY": _print_desc_reply,
    "GROUP_FEATURES_STATS_REQUEST": _print_features_request,
    "GROUP_FEATURES_STATS_REPLY": _print_features_reply,
}
