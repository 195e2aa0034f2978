"""OpenFlow groups: the group-mod object, its ``ovs-ofctl`` text, and the switch's group table.

A group is a list of buckets, each a list of actions, that flows reach with ``group:N``.  Four types (OpenFlow 1.1
section 5.6.1): ``all`` runs every bucket, ``select`` one of them (Open vSwitch picks it by a hash, see
``selection_method``), ``indirect`` its single bucket, ``ff`` (fast failover) the first live one (``watch_port``,
``watch_group``).  What the buckets do to packets is translation's business; this module stores, checks, counts and
describes groups, as Open vSwitch's ``ofproto.c`` does with its group table.

Parts:

``GroupMod``, ``Bucket``, ``GroupProps``
    Plain frozen data: what a group-mod asks (Open vSwitch's ``struct ofputil_group_mod``).  Bucket ids and the
    selection-method properties are OpenFlow 1.5 (and Open vSwitch's OpenFlow 1.0 extension); earlier versions do
    not carry them.
``parse_group_mod``, ``format_group``, ``format_group_mod``
    The text of ``ovs-ofctl add-group`` / ``mod-group`` / ``del-groups`` / ``insert-buckets`` /
    ``remove-buckets`` (ovs-ofctl(8) "Group Syntax"), with ovs-ofctl's error messages, and the text it prints for
    groups in ``dump-groups`` and ``ofp-print``.
``check_group_mod``
    The consistency checks Open vSwitch applies to every decoded group-mod (bucket weights only in select groups,
    liveness only where it means something, one bucket in an indirect group).
``GroupTable``
    The switch side: ``apply`` a group-mod with Open vSwitch's errors (``GroupModError.code`` is the OpenFlow error
    name, e.g. ``OFPGMFC_GROUP_EXISTS``), per-group and per-bucket counters with durations from an injected clock,
    ``features``.  Deleting a group deletes the flows that use it; the table does not own flows, so ``apply``
    returns the deleted group ids and calls ``on_delete`` with them (the bridge wires that to its flow tables).

What Open vSwitch 3.1 does and does not check (found against a real ovs-vswitchd, and what ``apply`` does too):
a bucket may send to a group that does not exist or to its own group (no ``OFPGMFC_CHAINING_UNSUPPORTED``,
``OFPGMFC_LOOP`` or ``OFPGMFC_CHAINED_GROUP``: translation copes with loops), there is no bucket limit (no
``OFPGMFC_OUT_OF_BUCKETS``), deleting an unknown group is not an error, a stats request for an unknown group gets an
empty reply.  Bucket commands keep the group's type and selection method (ovs-ofctl sends them with type ``all``,
so inserted buckets get weight 0 even in a select group, as in Open vSwitch).  ``OFPGMFC_BAD_WATCH`` comes only
from decoding (an impossible 32-bit port).  Features: all four types, capabilities weight, liveness and chaining
(0x7), 0xffffff00 groups per type, every action.

Differences from Open vSwitch worth knowing: the table lists groups by id, where Open vSwitch lists them in hash
order; a modify resets the counters (Open vSwitch builds a new group and keeps only its creation time).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from pyvswitch.flow import fields as F
from pyvswitch.flow import values as V
from pyvswitch.ofproto.actions import Action, ActionParseError, format_actions, lex, parse_actions
from pyvswitch.ofproto.actions.fieldtext import format_field_value, parse_field_value

__all__ = [
    "ALL_GROUP_ACTIONS",
    "BUCKET_ALL",
    "BUCKET_FIRST",
    "BUCKET_LAST",
    "BUCKET_MAX",
    "OFPACT_ORDER",
    "OFPG_ALL",
    "OFPG_ANY",
    "OFPG_MAX",
    "Bucket",
    "BucketStats",
    "GroupCommand",
    "GroupDesc",
    "GroupFeatures",
    "GroupMod",
    "GroupModError",
    "GroupParseError",
    "GroupProps",
    "GroupStats",
    "GroupTable",
    "GroupType",
    "check_group_mod",
    "format_bucket_id",
    "format_group",
    "format_group_id",
    "format_group_mod",
    "group_mod_versions",
    "parse_group_mod",
]

OFPG_MAX = 0xFFFFFF00
OFPG_ALL = 0xFFFFFFFC
OFPG_ANY = 0xFFFFFFFF
BUCKET_MAX = 0xFFFFFF00
BUCKET_FIRST = 0xFFFFFFFD
BUCKET_LAST = 0xFFFFFFFE
BUCKET_ALL = 0xFFFFFFFF
OFPP_ANY = V.OFPP_ANY
OFPP_MAX = V.OFPP_MAX
SELECTION_METHOD_MAX = 16
"""Open vSwitch's ``NTR_MAX_SELECTION_METHOD_LEN``: the method's name and its terminating NUL."""


class GroupType(enum.IntEnum):
    ALL = 0
    SELECT = 1
    INDIRECT = 2
    FF = 3


class GroupCommand(enum.IntEnum):
    """``OFPGC15_*`` numbers (the 1.1 ones are the same) and Open vSwitch's ``OFPGC11_ADD_OR_MOD``."""

    ADD = 0
    MODIFY = 1
    DELETE = 2
    INSERT_BUCKET = 3
    REMOVE_BUCKET = 5
    ADD_OR_MOD = 0x8000


class GroupParseError(ValueError):
    """Bad group text; ``str()`` is ovs-ofctl's message."""


class GroupModError(Exception):
    """A group-mod the switch refuses: ``code`` is the OpenFlow error name (``OFPGMFC_UNKNOWN_GROUP``...)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bucket.  ``watch_port`` is a 16-bit port (``OFPP_ANY``: none), ``watch_group`` a group id
    (``OFPG_ANY``: none); ``bucket_id`` is ``BUCKET_ALL`` until one is given or assigned."""

    actions: tuple[Action, ...] = ()
    weight: int = 0
    watch_port: int = OFPP_ANY
    watch_group: int = OFPG_ANY
    bucket_id: int = BUCKET_ALL

    @property
    def has_liveness(self) -> bool:
        return self.watch_port != OFPP_ANY or self.watch_group != OFPG_ANY


@dataclass(frozen=True, slots=True)
class GroupProps:
    """The selection-method properties of a select group: ``selection_method`` ("" for the default, ``hash``
    or ``dp_hash``), its parameter, and for ``hash`` the fields hashed: (field name, mask) in the field table's
    order, the mask all-ones for a whole field."""

    selection_method: str = ""
    selection_method_param: int = 0
    fields: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class GroupMod:
    command: GroupCommand
    group_id: int
    type: int = GroupType.ALL
    buckets: tuple[Bucket, ...] = ()
    props: GroupProps = GroupProps()
    command_bucket_id: int = BUCKET_ALL


# ---------------------------------------------------------------------------------------------------------------
# Text.

def _u32(value: str) -> int:
    try:
        return lex.str_to_u32(value)
    except ActionParseError as e:
        raise GroupParseError(str(e)) from None


def _field_order(name: str) -> int:
    return F.BY_NAME[name].id


def _parse_fields(text: str) -> tuple[tuple[str, int], ...]:
    out: dict[str, int] = {}
    items = lex.split_paren_value(text)
    for i, item in enumerate(items):
        if not item:
            continue
        # ovs-ofctl's messages quote what is left of the list after the current field.
        rest = ",".join(items[i + 1:])
        name, _, value = item.partition("=")
        f = F.BY_NAME.get(name)
        if f is None:
            raise GroupParseError(f"{rest}: unknown field {name}")
        if f.name in out:
            raise GroupParseError(f"{name}: duplicate field")
        full = (1 << f.nbits) - 1
        if value:
            try:
                mask, _ = parse_field_value(f, value)
            except ActionParseError as e:
                raise GroupParseError(str(e)) from None
            if mask == 0 and not f.name.startswith("tun_metadata"):
                raise GroupParseError(f"{rest}: values are wildcards here and must not be all-zeros")
            if not f.maskable and mask & full != full:
                raise GroupParseError(f"{value}: invalid mask for field {f.name}")
        else:
            mask = full
        out[f.name] = mask
    return tuple(sorted(out.items(), key=lambda kv: _field_order(kv[0])))


def _parse_bucket(text: str, gtype: int) -> Bucket:
    weight = 1 if gtype == GroupType.SELECT else 0
    watch_port, watch_group, bucket_id = OFPP_ANY, OFPG_ANY, BUCKET_ALL
    actions: list[str] = []
    for key, value in lex.split_key_values(text):
        k = key.lower()
        if k == "weight":
            try:
                weight = lex.str_to_u16(value, "weight")
            except ActionParseError as e:
                raise GroupParseError(str(e)) from None
        elif k == "watch_port":
            port = V.parse_port(value)
            if port is None or (port >= OFPP_MAX and port != OFPP_ANY):
                raise GroupParseError(f"{value}: invalid watch_port")
            watch_port = port
        elif k == "watch_group":
            watch_group = _u32(value)
            if watch_group > OFPG_MAX:
                raise GroupParseError(f"invalid watch_group id {watch_group}")
        elif k == "bucket_id":
            bucket_id = _u32(value)
            if bucket_id > BUCKET_MAX:
                raise GroupParseError(f"invalid bucket_id id {bucket_id}")
        elif k in ("action", "actions"):
            actions.append(value)
        else:
            actions.append(f"{key}({value})")
    if not actions:
        raise GroupParseError("bucket must specify actions")
    bucket = Bucket((), weight, watch_port, watch_group, bucket_id)
    if gtype == GroupType.FF and not bucket.has_liveness:
        raise GroupParseError("fast failover bucket requires watch_port or watch_group")
    try:
        acts = parse_actions(",".join(actions))
    except ActionParseError as e:
        raise GroupParseError(str(e)) from None
    return replace(bucket, actions=tuple(acts))


_COMMAND_WORDS = [("add", GroupCommand.ADD), ("delete", GroupCommand.DELETE), ("modify", GroupCommand.MODIFY),
                  ("add_or_mod", GroupCommand.ADD_OR_MOD), ("insert_bucket", GroupCommand.INSERT_BUCKET),
                  ("remove_bucket", GroupCommand.REMOVE_BUCKET)]
_TYPES = {"all": GroupType.ALL, "select": GroupType.SELECT, "indirect": GroupType.INDIRECT, "ff": GroupType.FF,
          "fast_failover": GroupType.FF}


def parse_group_mod(text: str, command: GroupCommand | None = None) -> GroupMod:
    """A group-mod from ovs-ofctl's group text (``group_id=1,type=select,bucket=...``).

    ``command`` is the ovs-ofctl command's (``add-group``: ADD, ``mod-group``: MODIFY, ``del-groups``: DELETE,
    ``insert-buckets``: INSERT_BUCKET, ``remove-buckets``: REMOVE_BUCKET); None reads it from a leading word as
    a group file line does (``add``, ``modify``, ``add_or_mod``, ``delete``, ``insert_bucket``,
    ``remove_bucket``; none: add).  Raises ``GroupParseError``."""
    s = text
    if command is None:
        s = s.lstrip(" \t\r\n")
        n = len(s)
        for i, ch in enumerate(s):
            if ch in ", \t\r\n":
                n = i
                break
        word = s[:n]
        command = GroupCommand.ADD
        for name, cmd in _COMMAND_WORDS:
            # Like ovs-ofctl, a prefix of a command name selects the first command it begins.
            if name.startswith(word):
                command = cmd
                break
        else:
            n = 0
        s = s[n:]
    has_type = command in (GroupCommand.ADD, GroupCommand.MODIFY, GroupCommand.ADD_OR_MOD)
    has_buckets = has_type or command == GroupCommand.INSERT_BUCKET
    has_cbid = command in (GroupCommand.INSERT_BUCKET, GroupCommand.REMOVE_BUCKET)
    cbid_all_ok = command == GroupCommand.REMOVE_BUCKET
    if command == GroupCommand.DELETE and s == "":
        return GroupMod(command, OFPG_ALL)
    group_id = OFPG_ANY
    gtype = GroupType.ALL
    had_type = had_cbid = False
    cbid = BUCKET_ALL
    method, param = "", 0
    sel_fields: tuple[tuple[str, int], ...] = ()
    k = s.find("bucket=")
    bucket_text = None
    if k >= 0:
        if not has_buckets:
            raise GroupParseError("bucket is not needed")
        s, bucket_text = s[:k], s[k:]
    for name, value in lex.split_key_values(s):
        if name == "command_bucket_id":
            if not has_cbid:
                raise GroupParseError("command bucket id is not needed")
            named = {"all": BUCKET_ALL, "first": BUCKET_FIRST, "last": BUCKET_LAST}
            if value in named:
                cbid = named[value]
            else:
                cbid = _u32(value)
                if cbid > BUCKET_MAX and cbid not in (BUCKET_FIRST, BUCKET_LAST, BUCKET_ALL):
                    raise GroupParseError(f"invalid command bucket id {cbid}")
            if cbid == BUCKET_ALL and not cbid_all_ok:
                raise GroupParseError("command_bucket_id=all is not permitted")
            had_cbid = True
        elif name == "group_id":
            if value == "all":
                group_id = OFPG_ALL
            else:
                group_id = _u32(value)
                if group_id != OFPG_ALL and group_id > OFPG_MAX:
                    raise GroupParseError(f"invalid group id {group_id}")
        elif name == "type":
            if not has_type:
                raise GroupParseError("type is not needed")
            if value not in _TYPES:
                raise GroupParseError(f"invalid group type {value}")
            gtype = _TYPES[value]
            had_type = True
        elif name == "selection_method":
            if not has_type:
                raise GroupParseError("selection method is not needed")
            if len(value.encode()) >= SELECTION_METHOD_MAX:
                raise GroupParseError(f"selection method is longer than {SELECTION_METHOD_MAX - 1} bytes long")
            method = value
        elif name == "selection_method_param":
            if not has_type:
                raise GroupParseError("selection method param is not needed")
            try:
                param = lex.str_to_u64(value)
            except ActionParseError as e:
                raise GroupParseError(str(e)) from None
        elif name == "fields":
            if not has_type:
                raise GroupParseError("fields are not needed")
            sel_fields = _parse_fields(value)
        else:
            raise GroupParseError(f"unknown keyword {name}")
    if group_id == OFPG_ANY:
        raise GroupParseError("must specify a group_id")
    if has_type and not had_type:
        raise GroupParseError("must specify a type")
    if method != "hash" and sel_fields:
        raise GroupParseError('fields may only be specified with "selection_method=hash"')
    if not method and param:
        raise GroupParseError('selection_method_param is only allowed with "selection_method"')
    if has_cbid and not (cbid_all_ok or had_cbid):
        raise GroupParseError("must specify a command bucket id")
    buckets: list[Bucket] = []
    while bucket_text is not None:
        eq = bucket_text.find("=", 1)
        if eq < 0:
            raise GroupParseError("must specify bucket content")
        body = bucket_text[eq + 1:]
        nxt = body.find("bucket=")
        bucket_text = body[nxt:] if nxt >= 0 else None
        if nxt >= 0:
            body = body[:nxt]
        b = _parse_bucket(body, gtype)
        buckets.append(b)
        if gtype != GroupType.SELECT and b.weight:
            raise GroupParseError("Only select groups can have bucket weights.")
    if gtype == GroupType.INDIRECT and len(buckets) > 1:
        raise GroupParseError("Indirect groups can have at most one bucket.")
    return GroupMod(command, group_id, gtype, tuple(buckets), GroupProps(method, param, sel_fields), cbid)


def group_mod_versions(gm: GroupMod) -> frozenset[int]:
    """The OpenFlow wire versions (1 = 1.0 ... 6 = 1.5) that can carry ``gm``, as ovs-ofctl reckons them: bucket
    ids, selection methods and bucket commands need OpenFlow 1.5 or Open vSwitch's OpenFlow 1.0 extension."""
    if (gm.command in (GroupCommand.INSERT_BUCKET, GroupCommand.REMOVE_BUCKET) or gm.props.selection_method
            or gm.props.selection_method_param or gm.props.fields
            or any(b.bucket_id != BUCKET_ALL for b in gm.buckets)):
        return frozenset({1, 6})
    return frozenset(range(1, 7))


def format_group_id(group_id: int) -> str:
    """``ALL``, ``ANY`` or the number, as ovs-ofctl prints a group id in requests."""
    return {OFPG_ALL: "ALL", OFPG_ANY: "ANY"}.get(group_id, str(group_id))


def format_bucket_id(bucket_id: int) -> str:
    return {BUCKET_FIRST: "first", BUCKET_LAST: "last", BUCKET_ALL: "all"}.get(bucket_id, str(bucket_id))


def _format_fields(fields: tuple[tuple[str, int], ...]) -> str:
    parts = []
    for name, mask in fields:
        f = F.BY_NAME[name]
        full = (1 << f.nbits) - 1
        parts.append(name if mask & full == full else f"{name}={format_field_value(f, mask)}")
    return ",".join(parts)


def format_group(group_id: int, gtype: int, buckets: tuple[Bucket, ...] | None, props: GroupProps,
                 version: int, suppress_type: bool = False) -> str:
    """A group as ovs-ofctl prints it (``group_id=1,type=select,bucket=...``).  Bucket ids show only in OpenFlow
    1.0 and 1.5+ (``version`` is the wire version), the weight only when it is not the type's default."""
    s = f"group_id={group_id}"
    if not suppress_type:
        s += ",type=" + ("all", "select", "indirect", "ff", "unknown")[min(gtype, 4)]
    if props.selection_method:
        s += f",selection_method={props.selection_method}"
        if props.selection_method_param:
            s += f",selection_method_param={props.selection_method_param}"
        if len(props.fields) == 1:
            s += ",fields=" + _format_fields(props.fields)
        elif props.fields:
            s += ",fields(" + _format_fields(props.fields) + ")"
    if buckets is None:
        return s
    s += ","
    for b in buckets:
        s += "bucket="
        if version == 1 or version >= 6:
            s += f"bucket_id:{format_bucket_id(b.bucket_id)},"
        if b.weight != (1 if gtype == GroupType.SELECT else 0):
            s += f"weight:{b.weight},"
        if b.watch_port != OFPP_ANY:
            s += f"watch_port:{V.format_port(b.watch_port)},"
        if b.watch_group != OFPG_ANY:
            s += f"watch_group:{b.watch_group},"
        s += "actions=" + format_actions(list(b.actions)) + ","
    return s.removesuffix(",")


_COMMAND_TEXT = {GroupCommand.ADD: "ADD", GroupCommand.MODIFY: "MOD", GroupCommand.ADD_OR_MOD: "ADD_OR_MOD",
                 GroupCommand.DELETE: "DEL", GroupCommand.INSERT_BUCKET: "INSERT_BUCKET",
                 GroupCommand.REMOVE_BUCKET: "REMOVE_BUCKET"}


def format_group_mod(gm: GroupMod, version: int) -> str:
    """``ADD group_id=1,type=all,bucket=actions=output:1`` as ``ofp-print`` shows a group-mod (after ``\\n ``)."""
    try:
        cmd = _COMMAND_TEXT[GroupCommand(gm.command)]
    except ValueError:
        cmd = f"cmd:{gm.command}"
    bucket_cmd = gm.command in (GroupCommand.INSERT_BUCKET, GroupCommand.REMOVE_BUCKET)
    s = cmd + " "
    if bucket_cmd and (version == 1 or version >= 6):
        s += f"command_bucket_id:{format_bucket_id(gm.command_bucket_id)},"
    return s + format_group(gm.group_id, gm.type, gm.buckets, gm.props, version, bucket_cmd)


# ---------------------------------------------------------------------------------------------------------------
# Checks and the table.

def check_group_mod(gm: GroupMod) -> str | None:
    """Open vSwitch's ``ofputil_check_group_mod``: the error name for an inconsistent group-mod, or None."""
    if gm.type == GroupType.INDIRECT:
        if gm.command != GroupCommand.DELETE and len(gm.buckets) != 1:
            return "OFPGMFC_INVALID_GROUP"
    elif gm.type not in (GroupType.ALL, GroupType.SELECT, GroupType.FF):
        return "OFPGMFC_BAD_TYPE"
    if gm.command not in (GroupCommand.ADD, GroupCommand.MODIFY, GroupCommand.ADD_OR_MOD, GroupCommand.DELETE,
                          GroupCommand.INSERT_BUCKET, GroupCommand.REMOVE_BUCKET):
        return "OFPGMFC_BAD_COMMAND"
    if gm.command == GroupCommand.REMOVE_BUCKET and gm.buckets:
        return "OFPGMFC_BAD_BUCKET"
    for b in gm.buckets:
        if b.weight and gm.type != GroupType.SELECT:
            return "OFPGMFC_INVALID_GROUP"
        if gm.type in (GroupType.ALL, GroupType.INDIRECT) and b.has_liveness:
            return "OFPGMFC_WATCH_UNSUPPORTED"
        if gm.type == GroupType.FF and not b.has_liveness:
            return "OFPGMFC_INVALID_GROUP"
    return None


OFPACT_ORDER = (
    "output", "group", "controller", "enqueue", "output_reg", "bundle", "set_field", "set_vlan_vid",
    "set_vlan_pcp", "strip_vlan", "push_vlan", "mod_dl_src", "mod_dl_dst", "mod_nw_src", "mod_nw_dst",
    "mod_nw_tos", "mod_nw_ecn", "mod_nw_ttl", "mod_tp_src", "mod_tp_dst", "reg_move", "stack_push",
    "stack_pop", "dec_ttl", "set_mpls_label", "set_mpls_tc", "set_mpls_ttl", "dec_mpls_ttl", "push_mpls",
    "pop_mpls", "dec_nsh_ttl", "delete_field", "encap", "decap", "set_tunnel", "set_queue", "pop_queue",
    "fin_timeout", "resubmit", "learn", "conjunction", "multipath", "note", "exit", "sample", "unroll_xlate",
    "ct", "ct_clear", "nat", "output_trunc", "clone", "check_pkt_larger", "debug_recirc", "debug_slow",
    "meter", "clear_actions", "write_actions", "write_metadata", "goto_table",
)
"""Open vSwitch's action kinds (``enum ofpact_type``) in its order, by the names features replies print."""

ALL_GROUP_ACTIONS = frozenset(OFPACT_ORDER)


@dataclass(frozen=True, slots=True)
class GroupFeatures:
    """``ofputil_group_features``: supported types (bit per type), capabilities (``OFPGFC_SELECT_WEIGHT`` 1,
    ``SELECT_LIVENESS`` 2, ``CHAINING`` 4, ``CHAINING_CHECKS`` 8), the maximum number of groups per type and
    the action kinds per type (``OFPACT_ORDER`` names).  The defaults are Open vSwitch's."""

    types: int = 0xF
    capabilities: int = 0x7
    max_groups: tuple[int, int, int, int] = (OFPG_MAX, OFPG_MAX, OFPG_MAX, OFPG_MAX)
    actions: tuple[frozenset[str], ...] = (ALL_GROUP_ACTIONS,) * 4


@dataclass(frozen=True, slots=True)
class BucketStats:
    packet_count: int = 0
    byte_count: int = 0


@dataclass(frozen=True, slots=True)
class GroupStats:
    """One group's counters (``ofputil_group_stats``); ``duration_sec`` is ``0xFFFFFFFF`` when unknown (the
    OpenFlow 1.1 and 1.2 replies have no duration)."""

    group_id: int
    ref_count: int = 0
    packet_count: int = 0
    byte_count: int = 0
    duration_sec: int = 0
    duration_nsec: int = 0
    buckets: tuple[BucketStats, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupDesc:
    """One group's description, as a group-desc reply carries it."""

    group_id: int
    type: int
    buckets: tuple[Bucket, ...] = ()
    props: GroupProps = GroupProps()


@dataclass
class _Group:
    group_id: int
    type: int
    buckets: list[Bucket]
    props: GroupProps
    created: float
    packets: int = 0
    bytes: int = 0
    bucket_counts: list[list[int]] = field(default_factory=list)


def _assign_bucket_ids(buckets: tuple[Bucket, ...]) -> list[Bucket]:
    """Open vSwitch's encoder gives a bucket without id the lowest id no other bucket of the message uses."""
    used = {b.bucket_id for b in buckets if b.bucket_id <= BUCKET_MAX}
    out = []
    nxt = 0
    for b in buckets:
        if b.bucket_id > BUCKET_MAX:
            while nxt in used:
                nxt += 1
            used.add(nxt)
            b = replace(b, bucket_id=nxt)
        out.append(b)
    return out


class GroupTable:
    """A bridge's groups, with Open vSwitch's rules for group-mods.

    ``clock`` gives seconds (monotonic) for durations; ``ref_count(group_id)`` says how many flows use a group
    (the flow tables know); ``on_delete(group_ids)`` is called with the groups a delete removed, so that the
    caller can delete the flows that use them, as Open vSwitch does.  ``version`` increases with every group-mod
    that is applied (the datapath revalidates its flows when it changes)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, features: GroupFeatures | None = None,
                 ref_count: Callable[[int], int] | None = None,
                 on_delete: Callable[[list[int]], None] | None = None) -> None:
        self.clock = clock
        self.features = features or GroupFeatures()
        self.ref_count = ref_count or (lambda gid: 0)
        self.on_delete = on_delete
        self._groups: dict[int, _Group] = {}
        self.version = 0

    def __contains__(self, group_id: int) -> bool:
        return group_id in self._groups

    def __len__(self) -> int:
        return len(self._groups)

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._groups))

    def get(self, group_id: int) -> GroupDesc | None:
        g = self._groups.get(group_id)
        return None if g is None else GroupDesc(g.group_id, g.type, tuple(g.buckets), g.props)

    def _count(self, gtype: int) -> int:
        return sum(1 for g in self._groups.values() if g.type == gtype)

    def _full(self, gtype: int) -> bool:
        return gtype < 4 and self._count(gtype) >= self.features.max_groups[gtype]

    def _new(self, gm: GroupMod, buckets: list[Bucket], created: float | None = None) -> _Group:
        if gm.group_id > OFPG_MAX:
            raise GroupModError("OFPGMFC_INVALID_GROUP")
        if gm.type > GroupType.FF:
            raise GroupModError("OFPGMFC_BAD_TYPE")
        now = self.clock()
        return _Group(gm.group_id, gm.type, buckets, gm.props, now if created is None else created,
                      bucket_counts=[[0, 0] for _ in buckets])

    def apply(self, gm: GroupMod) -> list[int]:
        """Carry out ``gm``; returns the ids of the groups it deleted (also passed to ``on_delete``).  Raises
        ``GroupModError`` with Open vSwitch's error and leaves the table unchanged."""
        gone = self._apply(gm)
        self.version += 1
        return gone

    def _apply(self, gm: GroupMod) -> list[int]:
        err = check_group_mod(gm)
        if err:
            raise GroupModError(err)
        given = [b.bucket_id for b in gm.buckets if b.bucket_id <= BUCKET_MAX]
        if len(set(given)) != len(given):
            # Open vSwitch's decoder refuses a message that repeats a bucket id.
            raise GroupModError("OFPGMFC_BAD_BUCKET")
        cmd = gm.command
        if cmd == GroupCommand.ADD_OR_MOD:
            cmd = GroupCommand.MODIFY if gm.group_id in self._groups else GroupCommand.ADD
        if cmd == GroupCommand.ADD:
            if gm.group_id in self._groups:
                raise GroupModError("OFPGMFC_GROUP_EXISTS")
            if self._full(gm.type):
                raise GroupModError("OFPGMFC_OUT_OF_GROUPS")
            g = self._new(gm, _assign_bucket_ids(gm.buckets))
            self._groups[g.group_id] = g
            return []
        if cmd == GroupCommand.DELETE:
            if gm.group_id == OFPG_ALL:
                gone = sorted(self._groups)
            else:
                gone = [gm.group_id] if gm.group_id in self._groups else []
            for gid in gone:
                del self._groups[gid]
            if gone and self.on_delete is not None:
                self.on_delete(gone)
            return gone
        old = self._groups.get(gm.group_id)
        if old is None:
            raise GroupModError("OFPGMFC_UNKNOWN_GROUP")
        if cmd in (GroupCommand.INSERT_BUCKET, GroupCommand.REMOVE_BUCKET):
            # Bucket commands keep the group's type and properties.
            base = replace(gm, type=old.type, props=old.props)
            if cmd == GroupCommand.INSERT_BUCKET:
                buckets = self._insert(old.buckets, _assign_bucket_ids(gm.buckets), gm.command_bucket_id)
            else:
                buckets = self._remove(old.buckets, gm.command_bucket_id)
            new = self._new(base, buckets, old.created)
        else:
            if old.type != gm.type and self._full(gm.type):
                raise GroupModError("OFPGMFC_OUT_OF_GROUPS")
            new = self._new(gm, _assign_bucket_ids(gm.buckets), old.created)
        self._groups[gm.group_id] = new
        return []

    @staticmethod
    def _insert(old: list[Bucket], new: list[Bucket], where: int) -> list[Bucket]:
        if where <= BUCKET_MAX and not any(b.bucket_id == where for b in old):
            raise GroupModError("OFPGMFC_UNKNOWN_BUCKET")
        ids = [b.bucket_id for b in new + old]
        if len(set(ids)) != len(ids):
            raise GroupModError("OFPGMFC_BUCKET_EXISTS")
        if where == BUCKET_LAST:
            return old + new
        if where <= BUCKET_MAX:
            i = next(i for i, b in enumerate(old) if b.bucket_id == where)
            return old[:i + 1] + new + old[i + 1:]
        return new + old

    @staticmethod
    def _remove(old: list[Bucket], where: int) -> list[Bucket]:
        if where == BUCKET_ALL:
            return []
        if where == BUCKET_FIRST:
            return old[1:]
        if where == BUCKET_LAST:
            return old[:-1]
        for i, b in enumerate(old):
            if b.bucket_id == where:
                return old[:i] + old[i + 1:]
        raise GroupModError("OFPGMFC_UNKNOWN_BUCKET")

    def account(self, group_id: int, bucket_index: int | None, packets: int, nbytes: int) -> None:
        """Count ``packets``/``nbytes`` that went through group ``group_id`` (and bucket ``bucket_index``)."""
        g = self._groups.get(group_id)
        if g is None:
            return
        g.packets += packets
        g.bytes += nbytes
        if bucket_index is not None and 0 <= bucket_index < len(g.bucket_counts):
            g.bucket_counts[bucket_index][0] += packets
            g.bucket_counts[bucket_index][1] += nbytes

    def account_bucket(self, group_id: int, bucket_index: int, packets: int, nbytes: int) -> None:
        """Count ``packets``/``nbytes`` that went through one bucket only (the group is counted once, with
        ``account``, however many of its buckets a packet took)."""
        g = self._groups.get(group_id)
        if g is not None and 0 <= bucket_index < len(g.bucket_counts):
            g.bucket_counts[bucket_index][0] += packets
            g.bucket_counts[bucket_index][1] += nbytes

    def desc(self, group_id: int = OFPG_ALL) -> list[GroupDesc]:
        """The descriptions a group-desc request for ``group_id`` (``OFPG_ALL``: every group) gets."""
        ids = list(self) if group_id == OFPG_ALL else [group_id] if group_id in self._groups else []
        return [d for d in (self.get(i) for i in ids) if d is not None]

    def stats(self, group_id: int = OFPG_ALL) -> list[GroupStats]:
        """The counters a group-stats request for ``group_id`` gets (none for an unknown group, without error,
        as Open vSwitch answers)."""
        ids = list(self) if group_id == OFPG_ALL else [group_id] if group_id in self._groups else []
        now = self.clock()
        out = []
        for gid in ids:
            g = self._groups[gid]
            age = max(0.0, now - g.created)
            sec = int(age)
            nsec = round((age - sec) * 1e9)
            if nsec >= 1_000_000_000:
                sec, nsec = sec + 1, nsec - 1_000_000_000
            out.append(GroupStats(gid, self.ref_count(gid), g.packets, g.bytes, sec, nsec,
                                  tuple(BucketStats(p, b) for p, b in g.bucket_counts)))
        return out
