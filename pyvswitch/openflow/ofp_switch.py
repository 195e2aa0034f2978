"""Switch-level messages: features, switch configuration, descriptions, table configuration and statistics,
controller roles, asynchronous-message configuration and the small Nicira session extensions, OpenFlow 1.0 to
1.5, byte-exact with Open vSwitch 3.1 and printed as ``ovs-ofctl ofp-print`` prints them.

Layouts (OpenFlow 1.0 section 5.3, 1.3 sections 7.3.1-7.3.10, 1.4 sections 7.3.4 and 7.4.4, nicira-ext.h)::

    FEATURES_REPLY 1.0:  datapath_id:64 n_buffers:32 n_tables:8 pad:24 capabilities:32 actions:32 ports(48)...
                   1.1+: datapath_id:64 n_buffers:32 n_tables:8 auxiliary_id:8 (1.3+) pad capabilities:32
                         reserved:32 ports(64)... (1.1 and 1.2 only)
    SWITCH_CONFIG:       flags:16 miss_send_len:16
    ROLE_REQUEST/REPLY:  role:32 pad:32 generation_id:64          NXT_ROLE_*: role:32 (0 other, 1 master, 2 slave)
    ROLE_STATUS:         role:32 reason:8 pad:24 generation_id:64 properties
    ASYNC 1.3/NX:        packet_in_mask[2]:32 port_status_mask[2]:32 flow_removed_mask[2]:32  ([0] master)
    ASYNC 1.4+/NX2:      properties (type 2n: slave, 2n+1: master; mask:32 each)
    TABLE_MOD:           table_id:8 pad:24 config:32 (1.4+: eviction/vacancy properties)
    TABLE_STATS 1.3+:    table_id:8 pad:24 active_count:32 lookup_count:64 matched_count:64
    TABLE_DESC:          length:16 table_id:8 pad:8 config:32 properties
    DESC:                mfr[256] hw[256] sw[256] serial[32] dp[256]

The values Open vSwitch's own switch reports (``SwitchFeatures.ovs_default``, ``AsyncConfig.ovs_default``) were
read from a real ovs-vswitchd 3.1 with a dummy bridge; tests/data/openflow/ofp_switch_replies.json holds its
replies.

Table features and the OpenFlow 1.0 to 1.2 table statistics (which describe each table's features with
bitmaps) print through one formatter, as ovs-ofctl's dump-tables and dump-table-features show them: field lists
abbreviated (``eth_{src,dst}``, ``reg0...reg15``), consecutive alike tables folded into ``ditto``, and parts
equal to the previous table's shown as ``(same features)``, ``(same instructions)``, ``(same actions)``,
``(same matching)``.  Field names and their order come from ``_TF_FIELDS``, read from Open vSwitch itself.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from pyvswitch.flow import fields as F
from pyvswitch.flow import values as V
from pyvswitch.openflow import nx_match as NX
from pyvswitch.openflow import ofp_msgs as M
from pyvswitch.openflow import ofp_port as P
from pyvswitch.openflow.ofp_errors import OFPDecodeError

__all__ = [
    "PRINTERS",
    "AsyncConfig",
    "DescStats",
    "LegacyTableStats",
    "Role",
    "RoleStatus",
    "SwitchConfig",
    "SwitchFeatures",
    "TableDesc",
    "TableFeatures",
    "TableMod",
    "TableStats",
    "decode_async_config",
    "decode_ct_flush_zone",
    "decode_desc_stats_reply",
    "decode_echo",
    "decode_features_reply",
    "decode_flow_mod_table_id",
    "decode_legacy_table_stats_reply",
    "decode_packet_in_format",
    "decode_role",
    "decode_role_status",
    "decode_set_controller_id",
    "decode_set_flow_format",
    "decode_switch_config",
    "decode_table_desc_reply",
    "decode_table_features",
    "decode_table_mod",
    "decode_table_stats_reply",
    "encode_async_config",
    "encode_barrier_reply",
    "encode_barrier_request",
    "encode_ct_flush_zone",
    "encode_desc_stats_reply",
    "encode_desc_stats_request",
    "encode_echo_reply",
    "encode_echo_request",
    "encode_features_reply",
    "encode_features_request",
    "encode_flow_age",
    "encode_flow_mod_table_id",
    "encode_get_async_request",
    "encode_get_config_request",
    "encode_legacy_table_stats_reply",
    "encode_packet_in_format",
    "encode_role",
    "encode_role_status",
    "encode_set_controller_id",
    "encode_set_flow_format",
    "encode_switch_config",
    "encode_table_desc_reply",
    "encode_table_desc_request",
    "encode_table_features_reply",
    "encode_table_features_request",
    "encode_table_mod",
    "encode_table_stats_reply",
    "encode_table_stats_request",
    "format_async_config",
    "format_table_desc",
    "format_table_features",
    "ovs_table_features",
    "pack_table_features",
    "unpack_table_features",
]


def _simple(type_name: str, version: int, body: bytes = b"", xid: int = 0) -> bytes:
    return M.encode(M.raw_for(type_name, version), version, body, xid)


# ------------------------------------------------------------------------------------------------ features

# Capabilities, Open vSwitch's model bits (the OpenFlow 1.1+ numbering, with 1.0's STP and 1.1's ARP_MATCH_IP).
C_FLOW_STATS = 1 << 0
C_TABLE_STATS = 1 << 1
C_PORT_STATS = 1 << 2
C_GROUP_STATS = 1 << 3
C_IP_REASM = 1 << 5
C_QUEUE_STATS = 1 << 6
C_ARP_MATCH_IP = 1 << 7
C_PORT_BLOCKED = 1 << 8
C_BUNDLES = 1 << 9
C_FLOW_MONITORING = 1 << 10
C_STP = 1 << 29
_CAP_ORDER = [(C_FLOW_STATS, "FLOW_STATS"), (C_TABLE_STATS, "TABLE_STATS"), (C_PORT_STATS, "PORT_STATS"),
              (C_STP, "STP"), (C_GROUP_STATS, "GROUP_STATS"), (C_IP_REASM, "IP_REASM"),
              (C_QUEUE_STATS, "QUEUE_STATS"), (C_ARP_MATCH_IP, "ARP_MATCH_IP"), (C_PORT_BLOCKED, "PORT_BLOCKED"),
              (C_BUNDLES, "BUNDLES"), (C_FLOW_MONITORING, "FLOW_MONITORING")]
# wire bit -> model bit, per version
_CAPS = {
    1: {1 << 0: C_FLOW_STATS, 1 << 1: C_TABLE_STATS, 1 << 2: C_PORT_STATS, 1 << 3: C_STP, 1 << 5: C_IP_REASM,
        1 << 6: C_QUEUE_STATS, 1 << 7: C_ARP_MATCH_IP},
    2: {1 << 0: C_FLOW_STATS, 1 << 1: C_TABLE_STATS, 1 << 2: C_PORT_STATS, 1 << 3: C_GROUP_STATS,
        1 << 5: C_IP_REASM, 1 << 6: C_QUEUE_STATS, 1 << 7: C_ARP_MATCH_IP},
    3: {1 << 0: C_FLOW_STATS, 1 << 1: C_TABLE_STATS, 1 << 2: C_PORT_STATS, 1 << 3: C_GROUP_STATS,
        1 << 5: C_IP_REASM, 1 << 6: C_QUEUE_STATS, 1 << 8: C_PORT_BLOCKED},
}
_CAPS[4] = _CAPS[3]
_CAPS[5] = dict(_CAPS[3]) | {1 << 9: C_BUNDLES, 1 << 10: C_FLOW_MONITORING}
_CAPS[6] = _CAPS[5]

# OpenFlow 1.0 action bits in the order ofp-print lists them.
_ACTIONS10 = [(0, "output"), (11, "enqueue"), (1, "set_vlan_vid"), (2, "set_vlan_pcp"), (3, "strip_vlan"),
              (4, "mod_dl_src"), (5, "mod_dl_dst"), (6, "mod_nw_src"), (7, "mod_nw_dst"), (8, "mod_nw_tos"),
              (9, "mod_tp_src"), (10, "mod_tp_dst")]


@dataclass
class SwitchFeatures:
    """``OFPT_FEATURES_REPLY``.  ``capabilities`` uses the ``C_*`` model bits; ``actions`` is OpenFlow 1.0's
    action bitmap (bit n = action type n); ``ports`` are sent only in OpenFlow 1.0 to 1.2, ``auxiliary_id`` only
    in 1.3+."""

    datapath_id: int
    n_buffers: int = 0
    n_tables: int = 254
    auxiliary_id: int = 0
    capabilities: int = 0
    actions: int = 0
    ports: list[P.PortDesc] = field(default_factory=list)

    @classmethod
    def ovs_default(cls, datapath_id: int, ports: list[P.PortDesc] | None = None) -> SwitchFeatures:
        """What Open vSwitch 3.1's own switch answers: no buffers, 254 tables, flow/table/port/group/queue
        statistics and ARP matching, every OpenFlow 1.0 action (each version keeps the bits it has)."""
        caps = C_FLOW_STATS | C_TABLE_STATS | C_PORT_STATS | C_GROUP_STATS | C_QUEUE_STATS | C_ARP_MATCH_IP
        return cls(datapath_id, 0, 254, 0, caps | C_BUNDLES, 0xFFF, list(ports or []))


def encode_features_request(version: int, xid: int = 0) -> bytes:
    return _simple("FEATURES_REQUEST", version, b"", xid)


def _caps_to_wire(caps: int, version: int) -> int:
    return sum(w for w, m in _CAPS[version].items() if caps & m)


def encode_features_reply(f: SwitchFeatures, version: int, xid: int = 0) -> bytes:
    wire_caps = _caps_to_wire(f.capabilities, version)
    if version == 1:
        body = struct.pack("!QIB3xII", f.datapath_id, f.n_buffers, f.n_tables, wire_caps, f.actions & 0xFFF)
    else:
        body = struct.pack("!QIBB2xII", f.datapath_id, f.n_buffers, f.n_tables,
                           f.auxiliary_id if version >= 4 else 0, wire_caps, 0)
    if version <= 3:
        body += P.pack_ports(f.ports, version)
    return _simple("FEATURES_REPLY", version, body, xid)


def decode_features_reply(msg: M.Msg) -> SwitchFeatures:
    b, v = msg.body, msg.version
    dpid, n_buffers, n_tables, aux, caps, actions = struct.unpack_from("!QIBB2xII", b)
    f = SwitchFeatures(dpid, n_buffers, n_tables, aux if v >= 4 else 0,
                       sum(m for w, m in _CAPS[v].items() if caps & w), actions if v == 1 else 0)
    if v <= 3:
        f.ports = P.unpack_ports(b[24:], v)
    return f


def _print_features_reply(msg: M.Msg) -> str:
    f = decode_features_reply(msg)
    s = f" dpid:{f.datapath_id:016x}\nn_tables:{f.n_tables}, n_buffers:{f.n_buffers}"
    if f.auxiliary_id:
        s += f", auxiliary_id:{f.auxiliary_id}"
    s += "\ncapabilities: " + (" ".join(n for bit, n in _CAP_ORDER if f.capabilities & bit) or "0") + "\n"
    names = [n for bit, n in _ACTIONS10 if f.actions & (1 << bit)]
    if msg.version == 1 and names:
        s += "actions: " + " ".join(names) + "\n"
    return s + P.format_ports(f.ports)


# ------------------------------------------------------------------------------------------------ config

FRAG_NORMAL, FRAG_DROP, FRAG_REASM, FRAG_NX_MATCH = 0, 1, 2, 3
_FRAG_NAMES = {FRAG_NORMAL: "normal", FRAG_DROP: "drop", FRAG_REASM: "reassemble", FRAG_NX_MATCH: "nx-match"}
_INVALID_TTL = 1 << 2


@dataclass
class SwitchConfig:
    """``OFPT_SET_CONFIG`` / ``OFPT_GET_CONFIG_REPLY``: fragment handling (``FRAG_*``), whether packets with an
    invalid TTL go to the controller (OpenFlow 1.0 to 1.2 only) and ``miss_send_len``."""

    frag: int = FRAG_NORMAL
    invalid_ttl_to_controller: bool = False
    miss_send_len: int = 128


def encode_get_config_request(version: int, xid: int = 0) -> bytes:
    return _simple("GET_CONFIG_REQUEST", version, b"", xid)


def encode_switch_config(c: SwitchConfig, version: int, xid: int = 0, reply: bool = False) -> bytes:
    """``OFPT_SET_CONFIG``, or ``OFPT_GET_CONFIG_REPLY`` with ``reply``."""
    flags = c.frag & 3
    if c.invalid_ttl_to_controller and version <= 3:
        flags |= _INVALID_TTL
    return _simple("GET_CONFIG_REPLY" if reply else "SET_CONFIG", version,
                   struct.pack("!HH", flags, c.miss_send_len), xid)


def decode_switch_config(msg: M.Msg) -> SwitchConfig:
    """A set-config (strict: unknown flags are ``OFPSCFC_BAD_FLAGS``) or get-config reply (lenient)."""
    flags, miss = struct.unpack_from("!HH", msg.body)
    ttl = _INVALID_TTL if msg.version <= 3 else 0
    if msg.type == "SET_CONFIG" and flags & ~(3 | ttl):
        raise OFPDecodeError("OFPSCFC_BAD_FLAGS", f"bad switch config flags {flags:#x}")
    return SwitchConfig(flags & 3, bool(flags & ttl), miss)


def _print_switch_config(msg: M.Msg) -> str:
    c = decode_switch_config(msg)
    s = f" frags={_FRAG_NAMES[c.frag]}"
    if c.invalid_ttl_to_controller:
        s += " invalid_ttl_to_controller"
    return s + f" miss_send_len={c.miss_send_len}\n"


# ------------------------------------------------------------------------------------------------ desc


@dataclass
class DescStats:
    mfr_desc: str = "Nicira, Inc."
    hw_desc: str = "Open vSwitch"
    sw_desc: str = "3.1.0"
    serial_num: str = "None"
    dp_desc: str = "None"


_DESC_SIZES = (256, 256, 256, 32, 256)


def encode_desc_stats_request(version: int, xid: int = 0) -> bytes:
    return _simple("DESC_STATS_REQUEST", version, b"", xid)


def encode_desc_stats_reply(d: DescStats, version: int, xid: int = 0) -> bytes:
    body = b"".join(s.encode("latin-1")[:n - 1].ljust(n, b"\0")
                    for s, n in zip((d.mfr_desc, d.hw_desc, d.sw_desc, d.serial_num, d.dp_desc), _DESC_SIZES))
    return _simple("DESC_STATS_REPLY", version, body, xid)


def decode_desc_stats_reply(msg: M.Msg) -> DescStats:
    out = []
    i = 0
    for n in _DESC_SIZES:
        out.append(msg.body[i:i + n].split(b"\0", 1)[0].decode("latin-1"))
        i += n
    return DescStats(*out)


def _print_desc_reply(msg: M.Msg) -> str:
    d = decode_desc_stats_reply(msg)
    return (f"\nManufacturer: {d.mfr_desc}\nHardware: {d.hw_desc}\nSoftware: {d.sw_desc}\n"
            f"Serial Num: {d.serial_num}\nDP Description: {d.dp_desc}\n")


# ------------------------------------------------------------------------------------------------ echo, barrier


def encode_echo_request(payload: bytes, version: int, xid: int = 0) -> bytes:
    return M.encode("OFPT_ECHO_REQUEST", version, payload, xid)


def encode_echo_reply(payload: bytes, version: int, xid: int = 0) -> bytes:
    return M.encode("OFPT_ECHO_REPLY", version, payload, xid)


def decode_echo(msg: M.Msg) -> bytes:
    return msg.body


def _print_echo(msg: M.Msg) -> str:
    from pyvswitch.util.hexdump import hexdump
    return f" {len(msg.body)} bytes of payload\n" + hexdump(msg.body)


def encode_barrier_request(version: int, xid: int = 0) -> bytes:
    return _simple("BARRIER_REQUEST", version, b"", xid)


def encode_barrier_reply(version: int, xid: int = 0) -> bytes:
    return _simple("BARRIER_REPLY", version, b"", xid)


def _print_empty(msg: M.Msg) -> str:
    return "\n"


# ------------------------------------------------------------------------------------------------ roles

ROLE_NOCHANGE, ROLE_EQUAL, ROLE_MASTER, ROLE_SLAVE = 0, 1, 2, 3
_ROLE_NAMES = {ROLE_NOCHANGE: "nochange", ROLE_EQUAL: "equal", ROLE_MASTER: "primary", ROLE_SLAVE: "secondary"}
_NX_ROLES = {0: ROLE_EQUAL, 1: ROLE_MASTER, 2: ROLE_SLAVE}
_NX_ROLES_BACK = {v: k for k, v in _NX_ROLES.items()}
NO_GENERATION = 0xFFFFFFFFFFFFFFFF


@dataclass
class Role:
    """A role request or reply.  ``role`` is ``ROLE_*`` (OpenFlow 1.2 numbering); ``generation_id`` is None
    when absent (``NXT_ROLE_*``; all-ones on the wire)."""

    role: int
    generation_id: int | None = None


def encode_role(r: Role, version: int, xid: int = 0, reply: bool = False,
                nx: bool = False) -> bytes:
    """``OFPT_ROLE_REQUEST``/``REPLY`` (1.2+) or, in OpenFlow 1.0/1.1 or with ``nx``, ``NXT_ROLE_*``."""
    name = "ROLE_REPLY" if reply else "ROLE_REQUEST"
    if version <= 2 or nx:
        raw = "NXT_ROLE_REPLY" if reply else "NXT_ROLE_REQUEST"
        return M.encode(raw, version, struct.pack("!I", _NX_ROLES_BACK.get(r.role, 0)), xid)
    gen = NO_GENERATION if r.generation_id is None else r.generation_id
    return M.encode(M.raw_for(name, version), version, struct.pack("!I4xQ", r.role, gen), xid)


def decode_role(msg: M.Msg) -> Role:
    if msg.raw.family == "NXT":
        nx = struct.unpack_from("!I", msg.body)[0]
        if nx not in _NX_ROLES:
            raise OFPDecodeError("OFPRRFC_BAD_ROLE", f"bad NXT role {nx}")
        return Role(_NX_ROLES[nx])
    role, gen = struct.unpack_from("!I4xQ", msg.body)
    if role not in _ROLE_NAMES:
        raise OFPDecodeError("OFPRRFC_BAD_ROLE", f"bad role {role}")
    return Role(role, None if gen == NO_GENERATION else gen)


def _role_text(r: Role) -> str:
    s = f" role={_ROLE_NAMES[r.role]}"
    if r.generation_id is not None:
        s += f" generation_id={r.generation_id}"
    return s


def _print_role(msg: M.Msg) -> str:
    r = decode_role(msg)
    if msg.type == "ROLE_REQUEST" and r.role == ROLE_NOCHANGE:
        r = Role(r.role)  # A request that changes nothing carries no generation.
    return _role_text(r) + "\n"


_ROLE_REASONS = {0: "primary_request", 1: "configuration_changed", 2: "experimenter_data_changed"}


@dataclass
class RoleStatus:
    role: int
    reason: int
    generation_id: int | None = None


def encode_role_status(rs: RoleStatus, version: int, xid: int = 0) -> bytes:
    gen = NO_GENERATION if rs.generation_id is None else rs.generation_id
    return _simple("ROLE_STATUS", version, struct.pack("!IB3xQ", rs.role, rs.reason, gen), xid)


def decode_role_status(msg: M.Msg) -> RoleStatus:
    role, reason, gen = struct.unpack_from("!IB3xQ", msg.body)
    if role not in _ROLE_NAMES:
        raise OFPDecodeError("OFPRRFC_BAD_ROLE", f"bad role {role}")
    return RoleStatus(role, reason, None if gen == NO_GENERATION else gen)


def _print_role_status(msg: M.Msg) -> str:
    rs = decode_role_status(msg)
    s = _role_text(Role(rs.role, rs.generation_id))
    return s + f" reason={_ROLE_REASONS.get(rs.reason, '(unknown)')}\n"


# ------------------------------------------------------------------------------------------------ async config

ASYNC_KINDS = ["PACKET_IN", "PORT_STATUS", "FLOW_REMOVED", "ROLE_STATUS", "TABLE_STATUS", "REQUESTFORWARD"]
_REASON_NAMES = {
    "PACKET_IN": ["no_match", "action", "invalid_ttl", "action_set", "group", "packet_out"],
    "PORT_STATUS": ["add", "delete", "modify"],
    "FLOW_REMOVED": ["idle", "hard", "delete", "group_delete", "meter_delete", "eviction"],
    "ROLE_STATUS": ["primary_request", "configuration_changed", "experimenter_data_changed"],
    "TABLE_STATUS": ["", "", "", "vacancy_down", "vacancy_up"],
    "REQUESTFORWARD": ["group_mod_request", "meter_mod_request"],
}
# Bits each kind may carry in OpenFlow 1.3 (fixed layout) and 1.4+ (properties).
_SENT13 = {"PACKET_IN": 0x7, "PORT_STATUS": 0x7, "FLOW_REMOVED": 0xF}  # what Open vSwitch sends in the fixed form
_ALLOWED14 = {"PACKET_IN": 0x3F, "PORT_STATUS": 0x7, "FLOW_REMOVED": 0x3F, "ROLE_STATUS": 0x7,
              "TABLE_STATUS": 0x18, "REQUESTFORWARD": 0x3}


@dataclass
class AsyncConfig:
    """Which asynchronous messages a connection receives: ``master[kind]`` and ``slave[kind]`` are bitmaps of
    reasons (bit n = reason n) for each kind of ``ASYNC_KINDS``; "master" also covers the equal role."""

    master: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ASYNC_KINDS, 0))
    slave: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ASYNC_KINDS, 0))

    @classmethod
    def ovs_default(cls) -> AsyncConfig:
        """Open vSwitch 3.1's configuration for a fresh connection (read from its GET_ASYNC reply)."""
        c = cls()
        c.master.update(PACKET_IN=0x3B, PORT_STATUS=0x7, FLOW_REMOVED=0x3F)
        c.slave.update(PORT_STATUS=0x7)
        return c


def _allowed(kind: str, version: int) -> int:
    """Reasons a property of ``kind`` may carry: packet-in's action_set, group and packet_out are 1.4+."""
    return 0x7 if kind == "PACKET_IN" and version < 5 else _ALLOWED14[kind]




def encode_get_async_request(version: int, xid: int = 0) -> bytes:
    return _simple("GET_ASYNC_REQUEST", version, b"", xid)


_FIXED_ASYNC = ("OFPT13_SET_ASYNC", "OFPT13_GET_ASYNC_REPLY", "NXT_SET_ASYNC_CONFIG")


def encode_async_config(ac: AsyncConfig, version: int, xid: int = 0, reply: bool = False,
                        nx: bool = False, raw: str | None = None) -> bytes:
    """An asynchronous-configuration message.  By default what Open vSwitch uses in ``version``:
    ``NXT_SET_ASYNC_CONFIG`` before 1.3, ``OFPT13_SET_ASYNC`` (fixed masks) in 1.3, ``OFPT14_SET_ASYNC``
    (properties) in 1.4+; ``reply`` makes it the get-async reply (1.3+).  ``nx`` asks for the Nicira message
    (``NXT_SET_ASYNC_CONFIG2``, with properties, up to 1.3; ``NXT_SET_ASYNC_CONFIG`` later) and ``raw`` names
    the raw kind outright.  Each kind keeps the reasons the layout and version can carry."""
    if raw is None:
        if nx:
            raw = "NXT_SET_ASYNC_CONFIG2" if version <= 4 else "NXT_SET_ASYNC_CONFIG"
        elif version <= 3:
            raw = "NXT_SET_ASYNC_CONFIG"
        else:
            raw = M.raw_for("GET_ASYNC_REPLY" if reply else "SET_ASYNC_CONFIG", version)
    if raw in _FIXED_ASYNC:
        sent = _SENT13 if version <= 4 else {k: _allowed(k, version) for k in _SENT13}
        body = b"".join(struct.pack("!II", ac.master[kind] & sent[kind], ac.slave[kind] & sent[kind])
                        for kind in ("PACKET_IN", "PORT_STATUS", "FLOW_REMOVED"))
    else:
        body = b""
        for k, kind in enumerate(ASYNC_KINDS):
            allowed = _allowed(kind, version)
            body += struct.pack("!HHI", 2 * k, 8, ac.slave[kind] & allowed)
            body += struct.pack("!HHI", 2 * k + 1, 8, ac.master[kind] & allowed)
    return M.encode(raw, version, body, xid)


def decode_async_config(msg: M.Msg) -> AsyncConfig:
    """A set-async (strict: an unknown property is ``OFPACFC_UNSUPPORTED``, reasons the kind cannot have in
    this version ``OFPACFC_INVALID``) or get-async reply (lenient: unknown properties and bits are dropped).
    The fixed layouts keep the reasons the version knows."""
    ac = AsyncConfig()
    strict = msg.type == "SET_ASYNC_CONFIG"
    if msg.raw.name in _FIXED_ASYNC:
        vals = struct.unpack_from("!6I", msg.body)
        for k, kind in enumerate(("PACKET_IN", "PORT_STATUS", "FLOW_REMOVED")):
            ac.master[kind] = vals[2 * k] & _allowed(kind, msg.version)
            ac.slave[kind] = vals[2 * k + 1] & _allowed(kind, msg.version)
        return ac
    for ptype, pdata in P._props(msg.body):
        if ptype >= 2 * len(ASYNC_KINDS):
            if strict:
                raise OFPDecodeError("OFPACFC_UNSUPPORTED", f"unknown async config property type {ptype}")
            continue
        if len(pdata) != 8:
            raise OFPDecodeError("OFPBPC_BAD_LEN", f"async config property {ptype} of length {len(pdata)}")
        kind = ASYNC_KINDS[ptype // 2]
        mask = struct.unpack_from("!I", pdata, 4)[0]
        allowed = _allowed(kind, msg.version)
        if mask & ~allowed:
            if strict:
                raise OFPDecodeError("OFPACFC_INVALID", f"bad value {mask:#x} for {kind} (allowed mask "
                                                        f"{allowed:#x})")
            mask &= allowed
        (ac.master if ptype % 2 else ac.slave)[kind] = mask
    return ac


def format_async_config(ac: AsyncConfig) -> str:
    s = ""
    for title, masks in (("primary", ac.master), ("secondary", ac.slave)):
        s += f"\n {title}:\n"
        for kind in ASYNC_KINDS:
            bits = masks[kind]
            names = [n for i, n in enumerate(_REASON_NAMES[kind]) if n and bits & (1 << i)]
            s += f"{kind:>16}: " + (" ".join(names) if names else "(off)") + "\n"
    return s


def _print_async(msg: M.Msg) -> str:
    return format_async_config(decode_async_config(msg))


# ------------------------------------------------------------------------------------------------ Nicira session

FLOW_FORMATS = {0: "openflow10", 2: "nxm"}
PACKET_IN_FORMATS = {0: "standard", 1: "nxt_packet_in", 2: "nxt_packet_in2"}


def encode_set_controller_id(controller_id: int, version: int, xid: int = 0) -> bytes:
    return M.encode("NXT_SET_CONTROLLER_ID", version, struct.pack("!6xH", controller_id), xid)


def decode_set_controller_id(msg: M.Msg) -> int:
    return int(struct.unpack_from("!6xH", msg.body)[0])


def encode_set_flow_format(fmt: int, version: int = 1, xid: int = 0) -> bytes:
    """``NXT_SET_FLOW_FORMAT``: 0 (openflow10) or 2 (nxm)."""
    return M.encode("NXT_SET_FLOW_FORMAT", version, struct.pack("!I", fmt), xid)


def decode_set_flow_format(msg: M.Msg) -> int:
    """The format number; ofp-print shows others as ``(unknown)``, so they are not an error here."""
    return int(struct.unpack_from("!I", msg.body)[0])


def encode_packet_in_format(fmt: int, version: int, xid: int = 0) -> bytes:
    return M.encode("NXT_SET_PACKET_IN_FORMAT", version, struct.pack("!I", fmt), xid)


def decode_packet_in_format(msg: M.Msg) -> int:
    fmt = int(struct.unpack_from("!I", msg.body)[0])
    if fmt not in PACKET_IN_FORMATS:
        raise OFPDecodeError("OFPBRC_EPERM", f"NXT_SET_PACKET_IN_FORMAT message specified invalid packet-in "
                                             f"format {fmt}")
    return fmt


def encode_flow_mod_table_id(enable: bool, version: int, xid: int = 0) -> bytes:
    return M.encode("NXT_FLOW_MOD_TABLE_ID", version, struct.pack("!B7x", int(enable)), xid)


def decode_flow_mod_table_id(msg: M.Msg) -> bool:
    return bool(msg.body[0])


def encode_flow_age(version: int, xid: int = 0) -> bytes:
    return M.encode("NXT_FLOW_AGE", version, b"", xid)


def encode_ct_flush_zone(zone: int, version: int, xid: int = 0) -> bytes:
    return M.encode("NXT_CT_FLUSH_ZONE", version, struct.pack("!6xH", zone), xid)


def decode_ct_flush_zone(msg: M.Msg) -> int:
    return int(struct.unpack_from("!6xH", msg.body)[0])


# ------------------------------------------------------------------------------------------------ tables

OFPTT_ALL = 0xFF
TC_EVICTION = 1 << 2
TC_VACANCY_EVENTS = 1 << 3
_TC11_MISS = {0: "controller", 1: "continue", 2: "drop"}


@dataclass
class TableMod:
    """``OFPT_TABLE_MOD``: ``config`` is the wire value (1.1/1.2 miss config in bits 0-1; 1.4+ ``TC_*``);
    ``eviction_flags`` and ``vacancy`` (down, up) are 1.4+ properties, None when absent."""

    table_id: int
    config: int = 0
    eviction_flags: int | None = None
    vacancy: tuple[int, int] | None = None


def encode_table_mod(tm: TableMod, version: int, xid: int = 0) -> bytes:
    body = struct.pack("!B3xI", tm.table_id, tm.config)
    if version >= 5:
        if tm.eviction_flags is not None:
            body += struct.pack("!HHI", 2, 8, tm.eviction_flags)
        if tm.vacancy is not None:
            body += struct.pack("!HHBBBx", 3, 8, tm.vacancy[0], tm.vacancy[1], 0)
    return _simple("TABLE_MOD", version, body, xid)


def decode_table_mod(msg: M.Msg) -> TableMod:
    table_id, config = struct.unpack_from("!B3xI", msg.body)
    tm = TableMod(table_id, config)
    if msg.version >= 5:
        for ptype, pdata in P._props(msg.body[8:]):
            if ptype == 2:
                if len(pdata) != 8:
                    raise OFPDecodeError("OFPBPC_BAD_LEN", "bad eviction property length")
                tm.eviction_flags = struct.unpack_from("!I", pdata, 4)[0]
            elif ptype == 3:
                if len(pdata) != 8:
                    raise OFPDecodeError("OFPBPC_BAD_LEN", "bad vacancy property length")
                down, up, vacancy = struct.unpack_from("!BBB", pdata, 4)
                if down > 100 or up > 100:
                    raise OFPDecodeError("OFPBPC_BAD_VALUE", "Vacancy threshold percentage should not be "
                                                             "greater than 100")
                if down > up:
                    raise OFPDecodeError("OFPBPC_BAD_VALUE", "Value of vacancy_down is greater than vacancy_up")
                if vacancy:
                    raise OFPDecodeError("OFPBPC_BAD_VALUE", "Vacancy value should be zero for table-mod "
                                                             "messages")
                tm.vacancy = (down, up)
            else:
                raise OFPDecodeError("OFPBRC_BAD_TYPE", f"unknown table_mod property {ptype}")
    return tm


def _table_id_text(table_id: int) -> str:
    return "table_id: ALL_TABLES" if table_id == OFPTT_ALL else f"table_id={table_id}"


def _print_table_mod(msg: M.Msg) -> str:
    tm = decode_table_mod(msg)
    s = " " + _table_id_text(tm.table_id)
    v = msg.version
    if v in (2, 3):
        # Open vSwitch reads an unknown miss configuration as "controller".
        s += f", flow_miss_config={_TC11_MISS.get(tm.config & 3, 'controller')}"
    if v >= 5:
        # Open vSwitch 3.1 stores an eviction property's flags where it keeps the on/off setting, so with the
        # property present ofp-print names the flags value as if it were that setting (1 "on", 2 "off").
        # (0, "default", is not printed.)
        if tm.eviction_flags is not None:
            if tm.eviction_flags:
                s += ", eviction=" + {1: "on", 2: "off"}.get(tm.eviction_flags, "***error***")
        else:
            s += ", eviction=" + ("on" if tm.config & TC_EVICTION else "off")
        s += ", vacancy=" + ("on" if tm.config & TC_VACANCY_EVENTS else "off")
        if tm.config & TC_VACANCY_EVENTS:
            down, up = tm.vacancy if tm.vacancy else (0, 0)
            s += f" vacancy:{down},{up}"
    return s + "\n"


@dataclass
class TableStats:
    """One table's counters (OpenFlow 1.3+ ``ofp_table_stats``)."""

    table_id: int
    active_count: int = 0
    lookup_count: int = 0
    matched_count: int = 0


def encode_table_stats_request(version: int, xid: int = 0) -> bytes:
    return _simple("TABLE_STATS_REQUEST", version, b"", xid)


def encode_table_stats_reply(stats: list[TableStats], version: int, xid: int = 0) -> list[bytes]:
    """OpenFlow 1.3+ table statistics replies (earlier versions carry per-table features too: use
    ``encode_legacy_table_stats_reply``)."""
    if version < 4:
        raise ValueError("OpenFlow 1.0 to 1.2 table statistics need LegacyTableStats")
    return M.encode_multipart_replies(M.raw_for("TABLE_STATS_REPLY", version), version, xid,
                                      [struct.pack("!B3xIQQ", t.table_id, t.active_count, t.lookup_count,
                                                   t.matched_count) for t in stats])


def decode_table_stats_reply(msg: M.Msg) -> list[TableStats]:
    """The counters of a table-statistics reply of any version (``decode_legacy_table_stats_reply`` gives the
    features that OpenFlow 1.0 to 1.2 replies carry too)."""
    if msg.version < 4:
        return [TableStats(t.table_id, t.active_count, t.lookup_count, t.matched_count)
                for t in decode_legacy_table_stats_reply(msg)]
    b = msg.body
    return [TableStats(*struct.unpack_from("!B3xIQQ", b, i)) for i in range(0, len(b), 24)]


def _print_table_stats_reply(msg: M.Msg) -> str:
    """Tables whose counters equal the previous table's are folded into ``table N: ditto`` or
    ``tables N...M: ditto``; blocks are separated by blank lines."""
    blocks: list[str] = []
    prev: tuple[int, int, int] | None = None
    run: list[int] = []

    def flush() -> None:
        if run:
            blocks.append(f"  table {run[0]}: ditto\n" if len(run) == 1 else
                          f"  tables {run[0]}...{run[-1]}: ditto\n")
            run.clear()

    for t in decode_table_stats_reply(msg):
        counters = (t.active_count, t.lookup_count, t.matched_count)
        if counters == prev:
            run.append(t.table_id)
            continue
        flush()
        blocks.append(f"  table {t.table_id}:\n    active={t.active_count}, lookup={t.lookup_count}, "
                      f"matched={t.matched_count}\n")
        prev = counters
    flush()
    return "\n" + "\n".join(blocks)


_EVICTION_FLAGS = {1 << 0: "OTHER", 1 << 1: "IMPORTANCE", 1 << 2: "LIFETIME"}


@dataclass
class TableDesc:
    """One table's configuration (``OFPST_TABLE_DESC``, 1.4+)."""

    table_id: int
    config: int = 0
    eviction_flags: int | None = None
    vacancy: tuple[int, int, int] | None = None  # down, up, current


def encode_table_desc_request(version: int, xid: int = 0) -> bytes:
    return _simple("TABLE_DESC_REQUEST", version, b"", xid)


def pack_table_desc(td: TableDesc) -> bytes:
    props = b""
    if td.eviction_flags is not None:
        props += struct.pack("!HHI", 2, 8, td.eviction_flags)
    if td.vacancy is not None:
        props += struct.pack("!HHBBBx", 3, 8, *td.vacancy)
    return struct.pack("!HBxI", 8 + len(props), td.table_id, td.config) + props


def encode_table_desc_reply(tables: list[TableDesc], version: int, xid: int = 0) -> list[bytes]:
    return M.encode_multipart_replies(M.raw_for("TABLE_DESC_REPLY", version), version, xid,
                                      [pack_table_desc(t) for t in tables])


def decode_table_desc_reply(msg: M.Msg) -> list[TableDesc]:
    b = msg.body
    out = []
    i = 0
    while i < len(b):
        if len(b) - i < 8:
            raise OFPDecodeError("OFPBRC_BAD_LEN", "truncated table desc")
        length, table_id, config = struct.unpack_from("!HBxI", b, i)
        if length < 8 or length > len(b) - i:
            raise OFPDecodeError("OFPBRC_BAD_LEN", f"OFP14_TABLE_DESC reply claims invalid length {length}")
        td = TableDesc(table_id, config)
        for ptype, pdata in P._props(b[i + 8:i + length]):
            if ptype == 2 and len(pdata) == 8:
                td.eviction_flags = struct.unpack_from("!I", pdata, 4)[0]
            elif ptype == 3 and len(pdata) == 8:
                td.vacancy = struct.unpack_from("!BBB", pdata, 4)
        out.append(td)
        i += length
    return out


def _eviction_text(flags: int) -> str:
    """``OTHER|IMPORTANCE|0x8400``: known flags, then the unknown bits as one hexadecimal number."""
    names = [n for bit, n in _EVICTION_FLAGS.items() if flags & bit]
    rest = flags & ~sum(_EVICTION_FLAGS)
    if rest:
        names.append(f"{rest:#x}")
    return "|".join(names) if names else "0"


def format_table_desc(td: TableDesc) -> str:
    s = f"  table {td.table_id}:\n"
    s += "   eviction=" + ("on" if td.config & TC_EVICTION else "off")
    s += " eviction_flags=" + ("(default)" if td.eviction_flags is None else _eviction_text(td.eviction_flags))
    s += "\n   vacancy=" + ("on" if td.config & TC_VACANCY_EVENTS else "off")
    if td.config & TC_VACANCY_EVENTS:
        down, up, cur = td.vacancy if td.vacancy is not None else (0, 0, 0)
        s += f" vacancy_down={down}% vacancy_up={up}% vacancy={cur}%"
    return s + "\n"


def _print_table_desc_reply(msg: M.Msg) -> str:
    return "\n" + "\n".join(format_table_desc(t) for t in decode_table_desc_reply(msg))


# ------------------------------------------------------------------------------------------------ table features

# Every field Open vSwitch 3.1 lists in its table features, in its (meta-flow) order, with the OXM/NXM headers
# (without mask bit; 64 bits for experimenter headers) its own switch sends.  Read from a real ovs-vswitchd's
# OFPST_TABLE_FEATURES reply, each header named by ``ovs-ofctl ofp-print``.  ``_FIELD_BY_HEADER`` adds the
# other headers pyvswitch's field table knows for the same fields (e.g. NXM forms of OXM fields).
_TF_FIELDS: list[tuple[object, ...]] = [
    ("dp_hash", 0x14604),
    ("recirc_id", 0x14804),
    ("packet_type", 0x80005804),
    ("conj_id", 0x14a04),
    ("tun_id", 0x80004c08),
    ("tun_src", 0x13e04),
    ("tun_dst", 0x14004),
    ("tun_ipv6_src", 0x1da10),
    ("tun_ipv6_dst", 0x1dc10),
    ("tun_flags", 0x1d002),
    ("tun_gbp_id", 0x14c02),
    ("tun_gbp_flags", 0x14e01),
    ("tun_erspan_idx", 0xffff160800002320),
    ("tun_erspan_ver", 0xffff180500002320),
    ("tun_erspan_dir", 0xffff1a0500002320),
    ("tun_erspan_hwid", 0xffff1c0500002320),
    ("tun_gtpu_flags", 0xffff1e0500002320),
    ("tun_gtpu_msgtype", 0xffff200500002320),
    ("tun_metadata0", 0x1507c),
    ("tun_metadata1", 0x1527c),
    ("tun_metadata2", 0x1547c),
    ("tun_metadata3", 0x1567c),
    ("tun_metadata4", 0x1587c),
    ("tun_metadata5", 0x15a7c),
    ("tun_metadata6", 0x15c7c),
    ("tun_metadata7", 0x15e7c),
    ("tun_metadata8", 0x1607c),
    ("tun_metadata9", 0x1627c),
    ("tun_metadata10", 0x1647c),
    ("tun_metadata11", 0x1667c),
    ("tun_metadata12", 0x1687c),
    ("tun_metadata13", 0x16a7c),
    ("tun_metadata14", 0x16c7c),
    ("tun_metadata15", 0x16e7c),
    ("tun_metadata16", 0x1707c),
    ("tun_metadata17", 0x1727c),
    ("tun_metadata18", 0x1747c),
    ("tun_metadata19", 0x1767c),
    ("tun_metadata20", 0x1787c),
    ("tun_metadata21", 0x17a7c),
    ("tun_metadata22", 0x17c7c),
    ("tun_metadata23", 0x17e7c),
    ("tun_metadata24", 0x1807c),
    ("tun_metadata25", 0x1827c),
    ("tun_metadata26", 0x1847c),
    ("tun_metadata27", 0x1867c),
    ("tun_metadata28", 0x1887c),
    ("tun_metadata29", 0x18a7c),
    ("tun_metadata30", 0x18c7c),
    ("tun_metadata31", 0x18e7c),
    ("tun_metadata32", 0x1907c),
    ("tun_metadata33", 0x1927c),
    ("tun_metadata34", 0x1947c),
    ("tun_metadata35", 0x1967c),
    ("tun_metadata36", 0x1987c),
    ("tun_metadata37", 0x19a7c),
    ("tun_metadata38", 0x19c7c),
    ("tun_metadata39", 0x19e7c),
    ("tun_metadata40", 0x1a07c),
    ("tun_metadata41", 0x1a27c),
    ("tun_metadata42", 0x1a47c),
    ("tun_metadata43", 0x1a67c),
    ("tun_metadata44", 0x1a87c),
    ("tun_metadata45", 0x1aa7c),
    ("tun_metadata46", 0x1ac7c),
    ("tun_metadata47", 0x1ae7c),
    ("tun_metadata48", 0x1b07c),
    ("tun_metadata49", 0x1b27c),
    ("tun_metadata50", 0x1b47c),
    ("tun_metadata51", 0x1b67c),
    ("tun_metadata52", 0x1b87c),
    ("tun_metadata53", 0x1ba7c),
    ("tun_metadata54", 0x1bc7c),
    ("tun_metadata55", 0x1be7c),
    ("tun_metadata56", 0x1c07c),
    ("tun_metadata57", 0x1c27c),
    ("tun_metadata58", 0x1c47c),
    ("tun_metadata59", 0x1c67c),
    ("tun_metadata60", 0x1c87c),
    ("tun_metadata61", 0x1ca7c),
    ("tun_metadata62", 0x1cc7c),
    ("tun_metadata63", 0x1ce7c),
    ("metadata", 0x80000408),
    ("in_port", 0x2),
    ("in_port_oxm", 0x80000004),
    ("actset_output", 0xffff56084f4e4600, 0x80005604),
    ("pkt_mark", 0x14204),
    ("ct_state", 0x1d204),
    ("ct_zone", 0x1d402),
    ("ct_mark", 0x1d604),
    ("ct_label", 0x1d810),
    ("ct_nw_proto", 0x1ee01),
    ("ct_nw_src", 0x1f004),
    ("ct_nw_dst", 0x1f204),
    ("ct_ipv6_src", 0x1f410),
    ("ct_ipv6_dst", 0x1f610),
    ("ct_tp_src", 0x1f802),
    ("ct_tp_dst", 0x1fa02),
    ("reg0", 0x10004),
    ("reg1", 0x10204),
    ("reg2", 0x10404),
    ("reg3", 0x10604),
    ("reg4", 0x10804),
    ("reg5", 0x10a04),
    ("reg6", 0x10c04),
    ("reg7", 0x10e04),
    ("reg8", 0x11004),
    ("reg9", 0x11204),
    ("reg10", 0x11404),
    ("reg11", 0x11604),
    ("reg12", 0x11804),
    ("reg13", 0x11a04),
    ("reg14", 0x11c04),
    ("reg15", 0x11e04),
    ("xreg0", 0x80010008),
    ("xreg1", 0x80010208),
    ("xreg2", 0x80010408),
    ("xreg3", 0x80010608),
    ("xreg4", 0x80010808),
    ("xreg5", 0x80010a08),
    ("xreg6", 0x80010c08),
    ("xreg7", 0x80010e08),
    ("xxreg0", 0x1de10),
    ("xxreg1", 0x1e010),
    ("xxreg2", 0x1e210),
    ("xxreg3", 0x1e410),
    ("eth_src", 0x80000806),
    ("eth_dst", 0x80000606),
    ("eth_type", 0x80000a02),
    ("vlan_tci", 0x802),
    ("vlan_vid", 0x80000c02),
    ("vlan_pcp", 0x80000e01),
    ("mpls_label", 0x80004404),
    ("mpls_tc", 0x80004601),
    ("mpls_bos", 0x80004801),
    ("mpls_ttl", 0x13c01),
    ("ip_src", 0x80001604),
    ("ip_dst", 0x80001804),
    ("ipv6_src", 0x80003410),
    ("ipv6_dst", 0x80003610),
    ("ipv6_label", 0x80003804),
    ("nw_proto", 0x80001401),
    ("nw_tos", 0xa01),
    ("ip_dscp", 0x80001001),
    ("nw_ecn", 0x80001201),
    ("nw_ttl", 0x13a01),
    ("ip_frag", 0x13401),
    ("arp_op", 0x80002a02),
    ("arp_spa", 0x80002c04),
    ("arp_tpa", 0x80002e04),
    ("arp_sha", 0x80003006),
    ("arp_tha", 0x80003206),
    ("tcp_src", 0x80001a02),
    ("tcp_dst", 0x80001c02),
    ("tcp_flags", 0xffff54064f4e4600, 0x80005402),
    ("udp_src", 0x80001e02),
    ("udp_dst", 0x80002002),
    ("sctp_src", 0x80002202),
    ("sctp_dst", 0x80002402),
    ("icmp_type", 0x80002601),
    ("icmp_code", 0x80002801),
    ("icmpv6_type", 0x80003a01),
    ("icmpv6_code", 0x80003c01),
    ("nd_target", 0x80003e10),
    ("nd_sll", 0x80004006),
    ("nd_tll", 0x80004206),
    ("nd_reserved", 0x10000204),
    ("nd_options_type", 0x10000401),
    ("nsh_flags", 0xffff0205005ad650),
    ("nsh_mdtype", 0xffff0405005ad650),
    ("nsh_np", 0xffff0605005ad650),
    ("nsh_spi", 0xffff0808005ad650),
    ("nsh_si", 0xffff0a05005ad650),
    ("nsh_c1", 0xffff0c08005ad650),
    ("nsh_c2", 0xffff0e08005ad650),
    ("nsh_c3", 0xffff1008005ad650),
    ("nsh_c4", 0xffff1208005ad650),
    ("nsh_ttl", 0xffff1405005ad650),
]
_FIELD_BY_HEADER: dict[int, tuple[int, str]] = {}
for _i, (_name, *_hdrs) in enumerate(_TF_FIELDS):
    for _h in _hdrs:
        _FIELD_BY_HEADER[int(_h)] = (_i, str(_name))  # type: ignore[call-overload]
    _f = F.BY_NAME.get(str(_name))
    if _f is not None:
        for _hid in _f.headers:
            _raw = NX.encode_header(_hid, False, _f.nbytes)
            _FIELD_BY_HEADER.setdefault(int.from_bytes(_raw, "big"), (_i, str(_name)))


def _header_base(h: int) -> int:
    """An OXM/NXM header without its mask bit (the length halved back), as listed in ``_TF_FIELDS``."""
    if h >> 48 == 0xFFFF:
        h32 = h >> 32
        if h32 & 0x100:
            h32 = (h32 & ~0x1FF) | ((((h32 & 0xFF) - 4) // 2 + 4) & 0xFF)
        return (h32 << 32) | (h & 0xFFFFFFFF)
    if h & 0x100:
        return (h & ~0x1FF) | ((h & 0xFF) // 2)
    return h


def _field_of(h: int) -> tuple[int, str] | None:
    return _FIELD_BY_HEADER.get(_header_base(h))


def _compress(names: list[str]) -> list[str]:
    """ofp-print's abbreviation of a list of field names (in field order): consecutive names with the same
    ``prefix_`` become ``prefix_{a,b}`` (recursively), runs of three or more numbered names ``reg0...reg15``."""
    out: list[str] = []
    i = 0
    while i < len(names):
        name = names[i]
        us = name.find("_")
        if us > 0:
            prefix = name[:us + 1]
            j = i
            while j < len(names) and names[j].startswith(prefix):
                j += 1
            if j - i >= 2:
                out.append(prefix + "{" + ",".join(_compress([n[len(prefix):] for n in names[i:j]])) + "}")
                i = j
                continue
        m = _numbered(name)
        if m is not None:
            stem, num = m
            j = i + 1
            while j < len(names) and _numbered(names[j]) == (stem, num + (j - i)):
                j += 1
            if j - i >= 3:
                out.append(f"{name}...{names[j - 1]}")
                i = j
                continue
        out.append(name)
        i += 1
    return out


def _numbered(name: str) -> tuple[str, int] | None:
    k = len(name)
    while k > 0 and name[k - 1].isdigit():
        k -= 1
    if k == len(name) or k == 0:
        return None
    return name[:k], int(name[k:])


def _field_names(headers: list[int]) -> list[str]:
    """The names of the known fields among ``headers``, in field order, each once."""
    found = sorted({f for f in (_field_of(h) for h in headers) if f is not None})
    return [name for _, name in found]


# Table-feature property types (OpenFlow 1.3 section 7.3.5.5.2).
TFPT_INSTRUCTIONS, TFPT_INSTRUCTIONS_MISS = 0, 1
TFPT_NEXT_TABLES, TFPT_NEXT_TABLES_MISS = 2, 3
TFPT_WRITE_ACTIONS, TFPT_WRITE_ACTIONS_MISS = 4, 5
TFPT_APPLY_ACTIONS, TFPT_APPLY_ACTIONS_MISS = 6, 7
TFPT_MATCH, TFPT_WILDCARDS = 8, 10
TFPT_WRITE_SETFIELD, TFPT_WRITE_SETFIELD_MISS = 12, 13
TFPT_APPLY_SETFIELD, TFPT_APPLY_SETFIELD_MISS = 14, 15
_TFPT_OXM = (TFPT_MATCH, TFPT_WILDCARDS, TFPT_WRITE_SETFIELD, TFPT_WRITE_SETFIELD_MISS, TFPT_APPLY_SETFIELD,
             TFPT_APPLY_SETFIELD_MISS)
_TFPT_IDS = (TFPT_INSTRUCTIONS, TFPT_INSTRUCTIONS_MISS, TFPT_WRITE_ACTIONS, TFPT_WRITE_ACTIONS_MISS,
             TFPT_APPLY_ACTIONS, TFPT_APPLY_ACTIONS_MISS)
# The order in which Open vSwitch sends the properties; the first six and the last two are required.
_TFPT_ORDER = (0, 2, 4, 12, 6, 14, 1, 3, 5, 13, 7, 15, 8, 10)
_TFPT_REQUIRED = (0, 2, 4, 12, 6, 14, 8, 10)

# Instruction types, in ofp-print's order.
_INSTRUCTIONS = [(6, "meter"), (4, "apply_actions"), (5, "clear_actions"), (3, "write_actions"),
                 (2, "write_metadata"), (1, "goto_table")]
# Actions: ofp-print's order and names, and each name's type number per version family.
_ACTION_ORDER = ["output", "group", "enqueue", "set_field", "set_vlan_vid", "set_vlan_pcp", "strip_vlan",
                 "push_vlan", "mod_dl_src", "mod_dl_dst", "mod_nw_src", "mod_nw_dst", "mod_nw_tos", "mod_nw_ecn",
                 "mod_nw_ttl", "mod_tp_src", "mod_tp_dst", "dec_ttl", "set_mpls_label", "set_mpls_tc",
                 "set_mpls_ttl", "dec_mpls_ttl", "push_mpls", "pop_mpls", "set_queue"]
_ACTION_TYPES = {
    1: {0: "output", 1: "set_vlan_vid", 2: "set_vlan_pcp", 3: "strip_vlan", 4: "mod_dl_src", 5: "mod_dl_dst",
        6: "mod_nw_src", 7: "mod_nw_dst", 8: "mod_nw_tos", 9: "mod_tp_src", 10: "mod_tp_dst", 11: "enqueue"},
    2: {0: "output", 1: "set_vlan_vid", 2: "set_vlan_pcp", 3: "mod_dl_src", 4: "mod_dl_dst", 5: "mod_nw_src",
        6: "mod_nw_dst", 7: "mod_nw_tos", 8: "mod_nw_ecn", 9: "mod_tp_src", 10: "mod_tp_dst",
        13: "set_mpls_label", 14: "set_mpls_tc", 15: "set_mpls_ttl", 16: "dec_mpls_ttl", 17: "push_vlan",
        18: "strip_vlan", 19: "push_mpls", 20: "pop_mpls", 21: "set_queue", 22: "group", 23: "mod_nw_ttl",
        24: "dec_ttl"},
    3: {0: "output", 15: "set_mpls_ttl", 16: "dec_mpls_ttl", 17: "push_vlan", 18: "strip_vlan", 19: "push_mpls",
        20: "pop_mpls", 21: "set_queue", 22: "group", 23: "mod_nw_ttl", 24: "dec_ttl", 25: "set_field"},
}


def _action_names(types: list[int], version: int) -> list[str]:
    by_type = _ACTION_TYPES[min(version, 3)]
    names = {by_type[t] for t in types if t in by_type}
    return [n for n in _ACTION_ORDER if n in names]


TablePropValue = list[int] | bytes


@dataclass
class TableFeatures:
    """One table's features (``ofp_table_features``, OpenFlow 1.3+).  ``config`` is the wire field (1.3
    ``config``, 1.4+ ``capabilities``: ``TC_EVICTION``, ``TC_VACANCY_EVENTS``).  ``props`` keeps the properties
    in wire order as ``(type, value)``: instruction and action properties hold their type numbers, next-tables
    properties their table ids, OXM properties their headers (with the mask bit; 64-bit for experimenter
    headers), and other properties (experimenter) their raw bytes after the 4-byte property header."""

    table_id: int
    name: str = ""
    metadata_match: int = 0
    metadata_write: int = 0
    config: int = 0
    max_entries: int = 0
    props: list[tuple[int, TablePropValue]] = field(default_factory=list)
    command: int = 0  # OpenFlow 1.5: 0 replace, 1 modify, 2 enable, 3 disable (not printed by ofp-print)
    features: int = 0  # OpenFlow 1.5 OFPTFF_* bits (not printed by ofp-print)

    def get(self, ptype: int) -> list[int] | None:
        for t, v in self.props:
            if t == ptype and isinstance(v, list):
                return v
        return None

    @classmethod
    def build(cls, table_id: int, *, name: str = "", metadata_match: int = 0, metadata_write: int = 0,
              config: int = 0, max_entries: int = 0, instructions: list[int] | None = None,
              next_tables: list[int] | None = None, write_actions: list[int] | None = None,
              apply_actions: list[int] | None = None, write_setfield: list[int] | None = None,
              apply_setfield: list[int] | None = None, match: list[int] | None = None,
              wildcards: list[int] | None = None) -> TableFeatures:
        """Features with every property in Open vSwitch's order, the miss properties equal to the others."""
        vals: dict[int, list[int]] = {
            0: instructions or [], 2: next_tables or [], 4: write_actions or [], 12: write_setfield or [],
            6: apply_actions or [], 14: apply_setfield or [], 8: match or [], 10: wildcards or []}
        for miss, base in ((1, 0), (3, 2), (5, 4), (13, 12), (7, 6), (15, 14)):
            vals[miss] = list(vals[base])
        return cls(table_id, name, metadata_match, metadata_write, config, max_entries,
                   [(t, list(vals[t])) for t in _TFPT_ORDER])


# What Open vSwitch 3.1's own switch advertises (read from its replies): every field of ``_TF_FIELDS`` may be
# matched and wildcarded; these cannot be masked, and these cannot be set.
_OVS_UNMASKABLE = frozenset((
    "recirc_id", "packet_type", "conj_id", "in_port", "in_port_oxm", "actset_output", "ct_zone", "ct_nw_proto",
    "eth_type", "vlan_pcp", "mpls_label", "mpls_tc", "mpls_bos", "mpls_ttl", "nw_proto", "nw_tos", "ip_dscp",
    "nw_ecn", "nw_ttl", "arp_op", "icmp_type", "icmp_code", "icmpv6_type", "icmpv6_code", "nd_reserved",
    "nd_options_type", "nsh_mdtype", "nsh_np", "nsh_spi", "nsh_si", "nsh_ttl"))
_OVS_READONLY = frozenset((
    "dp_hash", "recirc_id", "packet_type", "conj_id", "tun_gtpu_flags", "tun_gtpu_msgtype", "actset_output",
    "ct_state", "ct_zone", "ct_nw_proto", "ct_nw_src", "ct_nw_dst", "ct_ipv6_src", "ct_ipv6_dst", "ct_tp_src",
    "ct_tp_dst", "eth_type", "mpls_bos", "nw_proto", "ip_frag", "tcp_flags", "nsh_mdtype", "nsh_np"))
# Action types Open vSwitch lists for OpenFlow 1.2+: output, the MPLS TTL actions, push/pop VLAN and MPLS,
# set_queue, group, the IP TTL actions and set_field.
_OVS_ACTIONS = [0, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]


def _masked_header(h: int) -> int:
    if h >> 48 == 0xFFFF:
        h32 = h >> 32
        h32 = (h32 | 0x100) & ~0xFF | (((h32 & 0xFF) - 4) * 2 + 4)
        return (h32 << 32) | (h & 0xFFFFFFFF)
    return (h | 0x100) & ~0xFF | ((h & 0xFF) * 2)


def ovs_table_features(table_id: int, version: int, n_tables: int = 254) -> TableFeatures:
    """The features Open vSwitch 3.1's own switch reports for ``table_id`` in ``version`` (1.3+): every table
    may go to any later one, 1,000,000 entries, all metadata bits, its action and field lists."""
    hdrs = [(str(e[0]), int(e[1] if version <= 5 else e[-1])) for e in _TF_FIELDS]  # type: ignore[call-overload]
    match = [_masked_header(h) if name not in _OVS_UNMASKABLE else h for name, h in hdrs]
    setfield = [h for name, h in hdrs if name not in _OVS_READONLY]
    last = table_id >= n_tables - 1
    instructions = [t for t in (1, 2, 3, 4, 5, 6) if not (t == 1 and last) and not (t == 6 and version >= 6)]
    return TableFeatures.build(table_id, metadata_match=0xFFFFFFFFFFFFFFFF, metadata_write=0xFFFFFFFFFFFFFFFF,
                               max_entries=1000000, instructions=instructions,
                               next_tables=list(range(table_id + 1, n_tables)), write_actions=list(_OVS_ACTIONS),
                               apply_actions=list(_OVS_ACTIONS), write_setfield=setfield,
                               apply_setfield=list(setfield), match=match, wildcards=[h for _, h in hdrs])


def _pack_tf_prop(ptype: int, value: TablePropValue) -> bytes:
    if isinstance(value, bytes):
        payload = value
    elif ptype in _TFPT_IDS:
        payload = b"".join(struct.pack("!HH", t, 4) for t in value)
    elif ptype in (TFPT_NEXT_TABLES, TFPT_NEXT_TABLES_MISS):
        payload = bytes(value)
    else:
        payload = b"".join(struct.pack("!Q", h) if h >> 32 else struct.pack("!I", h) for h in value)
    return P._prop(ptype, payload)


def pack_table_features(tf: TableFeatures) -> bytes:
    """``ofp_table_features``; ``command`` and ``features`` (OpenFlow 1.5) fill what is padding before."""
    props = b"".join(_pack_tf_prop(t, v) for t, v in tf.props)
    return struct.pack("!HBBI32sQQII", 64 + len(props), tf.table_id, tf.command, tf.features,
                       tf.name.encode("latin-1")[:31], tf.metadata_match, tf.metadata_write, tf.config,
                       tf.max_entries) + props


def _id_lengths(payload: bytes) -> list[int]:
    out = []
    i = 0
    while i < len(payload):
        ln = struct.unpack_from("!H", payload, i + 2)[0]
        out.append(ln)
        i += ln
    return out


def _unpack_tf_prop(ptype: int, payload: bytes) -> TablePropValue:
    if ptype in _TFPT_IDS:
        ids = []
        i = 0
        while i < len(payload):
            if len(payload) - i < 4:
                raise OFPDecodeError("OFPBPC_BAD_LEN", "truncated instruction or action id")
            t, ln = struct.unpack_from("!HH", payload, i)
            if ln < 4 or ln > len(payload) - i:
                raise OFPDecodeError("OFPBPC_BAD_LEN", f"instruction or action id of length {ln}")
            ids.append(t)
            i += ln
        if any(ln != 4 for ln in _id_lengths(payload)):
            return payload  # Experimenter ids: kept as they are.
        return ids
    if ptype in (TFPT_NEXT_TABLES, TFPT_NEXT_TABLES_MISS):
        return list(payload)
    if ptype in _TFPT_OXM:
        hdrs = []
        i = 0
        while i < len(payload):
            if len(payload) - i < 4:
                raise OFPDecodeError("OFPBMC_BAD_LEN", "encountered partial OXM entry")
            h = struct.unpack_from("!I", payload, i)[0]
            if h >> 16 == 0xFFFF:
                if len(payload) - i < 8:
                    raise OFPDecodeError("OFPBMC_BAD_LEN", "encountered partial OXM entry")
                h = struct.unpack_from("!Q", payload, i)[0]
                i += 8
            else:
                i += 4
            # Only the match property may name a field with a mask (headers of unknown fields are skipped).
            hm = (h >> 32 if h >> 48 == 0xFFFF else h) & 0x100
            if ptype != TFPT_MATCH and hm and _field_of(h) is not None:
                raise OFPDecodeError("OFPBMC_BAD_MASK", "masked field in a table features property")
            hdrs.append(h)
        return hdrs
    return payload


def unpack_table_features(data: bytes, offset: int = 0, version: int = 4) -> tuple[TableFeatures, int]:
    """The ``ofp_table_features`` at ``offset`` and the offset after it.  A reply must carry the non-miss
    instruction, next-table, action and set-field properties and the match and wildcards properties, each once
    (``OFPTFFC_BAD_FEATURES``, as Open vSwitch)."""
    rest = len(data) - offset
    if rest < 64:
        raise OFPDecodeError("OFPBPC_BAD_LEN", "truncated ofp_table_features")
    length, table_id, command, features, name, mm, mw, config, max_entries = struct.unpack_from(
        "!HBBI32sQQII", data, offset)
    if length < 64 or length > rest:
        raise OFPDecodeError("OFPBPC_BAD_LEN", f"ofp_table_features length {length} not between 64 and {rest}")
    if table_id == OFPTT_ALL:
        raise OFPDecodeError("OFPTFFC_BAD_TABLE", "table features for table 255")
    if version >= 6 and command > 3:
        raise OFPDecodeError("OFPTFFC_BAD_COMMAND", f"bad table features command {command}")
    tf = TableFeatures(table_id, name.split(b"\0", 1)[0].decode("latin-1"), mm, mw, config, max_entries,
                       command=command, features=features)
    seen: set[int] = set()
    for ptype, pdata in P._props(data[offset + 64:offset + length], min_exp=0xFFFE):
        if ptype in seen and ptype in _TFPT_ORDER:
            raise OFPDecodeError("OFPTFFC_BAD_FEATURES", f"duplicate table features property {ptype}")
        seen.add(ptype)
        tf.props.append((ptype, _unpack_tf_prop(ptype, pdata[4:])))
    if not all(t in seen for t in _TFPT_REQUIRED):
        raise OFPDecodeError("OFPTFFC_BAD_FEATURES", "table features lack a required property")
    return tf, offset + length


@dataclass(frozen=True)
class _Insts:
    """What ofp-print compares and prints for the table-miss or the other flows of a table."""

    next_tables: frozenset[int]
    instructions: tuple[str, ...]
    write: tuple[tuple[str, ...], tuple[str, ...]]  # (actions, set-field names)
    apply: tuple[tuple[str, ...], tuple[str, ...]]

    def empty(self) -> bool:
        return not self.next_tables and not self.instructions and self.write == self.apply == ((), ())


@dataclass(frozen=True)
class _TableInfo:
    """A table as ofp-print sees it, from table features (1.3+) or from 1.0-1.2 table statistics."""

    table_id: int
    name: str
    metadata: tuple[int, int]
    eviction: tuple[bool, bool] | None  # 1.4+ table features: (eviction, vacancy events) supported
    config: str | None  # 1.1/1.2 statistics: the table-miss configuration
    max_entries: int
    nonmiss: _Insts
    miss: _Insts
    matching: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # arbitrary, wildcard, exact
    stats: tuple[int, int, int] | None = None  # active, lookup, matched

    def features(self, own: int) -> tuple[object, ...]:
        """Everything ofp-print compares between tables but the id and statistics, with table ``own`` left
        out of the next tables (which is how "1-253", "2-253"... of consecutive tables fold into ditto)."""
        drop = frozenset({own})
        return (self.metadata, self.eviction, self.config, self.max_entries,
                replace(self.nonmiss, next_tables=self.nonmiss.next_tables - drop),
                replace(self.miss, next_tables=self.miss.next_tables - drop), self.match_key())

    def match_key(self) -> tuple[frozenset[str], frozenset[str]]:
        """The matching as ofp-print compares it between tables: which fields, which with masks.  (It does not
        compare which fields may be wildcarded.)"""
        arb, wild, exact = self.matching
        return frozenset(arb), frozenset(wild) | frozenset(exact)


def _insts_of(tf: TableFeatures, version: int, miss: bool) -> _Insts:
    def get(base: int) -> list[int]:
        return tf.get(_MISS_PROP[base] if miss else base) or []
    inst = set(get(TFPT_INSTRUCTIONS))
    return _Insts(frozenset(get(TFPT_NEXT_TABLES)), tuple(n for t, n in _INSTRUCTIONS if t in inst),
                  (tuple(_action_names(get(TFPT_WRITE_ACTIONS), version)),
                   tuple(_field_names(get(TFPT_WRITE_SETFIELD)))),
                  (tuple(_action_names(get(TFPT_APPLY_ACTIONS), version)),
                   tuple(_field_names(get(TFPT_APPLY_SETFIELD)))))


_MISS_PROP = {0: 1, 2: 3, 4: 5, 6: 7, 12: 13, 14: 15}


def _matching_of(masked: set[tuple[int, str]], plain: set[tuple[int, str]],
                 wild: set[tuple[int, str]]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    plain = plain - masked
    return (tuple(n for _, n in sorted(masked)), tuple(n for _, n in sorted(plain & wild)),
            tuple(n for _, n in sorted(plain - wild)))


def _features_info(tf: TableFeatures, version: int) -> _TableInfo:
    match = tf.get(TFPT_MATCH) or []
    wild = {f for f in (_field_of(h) for h in tf.get(TFPT_WILDCARDS) or []) if f is not None}
    masked: set[tuple[int, str]] = set()
    plain: set[tuple[int, str]] = set()
    for h in match:
        f = _field_of(h)
        if f is not None:
            hm = (h >> 32 if h >> 48 == 0xFFFF else h) & 0x100
            (masked if hm else plain).add(f)
    eviction = (bool(tf.config & TC_EVICTION), bool(tf.config & TC_VACANCY_EVENTS)) if version >= 5 else None
    return _TableInfo(tf.table_id, tf.name, (tf.metadata_match, tf.metadata_write), eviction, None,
                      tf.max_entries, _insts_of(tf, version, False), _insts_of(tf, version, True),
                      _matching_of(masked, plain, wild))


def _next_text(tables: frozenset[int]) -> str:
    out = []
    ids = sorted(tables)
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        out.append(str(ids[i]) if i == j else f"{ids[i]}-{ids[j]}")
        i = j + 1
    return ",".join(out)


def _action_block(feat: tuple[tuple[str, ...], tuple[str, ...]]) -> str:
    s = ""
    if feat[0]:
        s += "        actions: " + " ".join(feat[0]) + "\n"
    if feat[1]:
        s += "        supported on Set-Field: " + " ".join(_compress(list(feat[1]))) + "\n"
    return s


def _insts_block(it: _Insts, prev: _Insts | None) -> str:
    s = ""
    if it.next_tables:
        s += "      next tables: " + _next_text(it.next_tables) + "\n"
    if it.instructions:
        if prev is not None and it.instructions == prev.instructions:
            s += "      (same instructions)\n"
        else:
            s += "      instructions: " + " ".join(it.instructions) + "\n"
    # ofp-print says "(same actions)" only when there are set-fields to compare.
    if prev is not None and (it.write, it.apply) == (prev.write, prev.apply) and it.write[1]:
        s += "      (same actions)\n"
    elif it.write != it.apply:
        s += "      Write-Actions features:\n" + _action_block(it.write)
        s += "      Apply-Actions features:\n" + _action_block(it.apply)
    elif it.write != ((), ()):
        s += "      Write-Actions and Apply-Actions features:\n" + _action_block(it.write)
    return s


def _title(t: _TableInfo) -> str:
    return f"table {t.table_id}" + (f' ("{t.name}")' if t.name else "")


def _drop(it: _Insts, table_id: int) -> _Insts:
    """``it`` without ``table_id`` among its next tables (ofp-print compares tables so)."""
    return replace(it, next_tables=it.next_tables - {table_id})


def _format_features(t: _TableInfo, prev: _TableInfo | None) -> str:
    s = ""
    if t.metadata != (0, 0):
        s += f"    metadata: match={V.c_hex(t.metadata[0])} write={V.c_hex(t.metadata[1])}\n"
    if t.eviction is not None:
        s += "    eviction: " + ("supported" if t.eviction[0] else "not supported") + "\n"
        s += "    vacancy events: " + ("supported" if t.eviction[1] else "not supported") + "\n"
    if t.config is not None:
        s += f"    config={t.config}\n"
    if t.max_entries:
        s += f"    max_entries={t.max_entries}\n"
    if t.nonmiss == t.miss:
        if t.nonmiss.empty():
            pass
        elif prev is not None and _drop(t.nonmiss, t.table_id) == _drop(prev.nonmiss, t.table_id):
            s += "    (same instructions)\n"
        else:
            s += "    instructions (table miss and others):\n"
            s += _insts_block(t.nonmiss, prev.nonmiss if prev is not None else None)
    else:
        s += "    instructions (other than table miss):\n"
        s += _insts_block(t.nonmiss, prev.nonmiss if prev is not None else None)
        s += "    instructions (table miss):\n"
        s += _insts_block(t.miss, prev.miss if prev is not None else None)
    arb, wild, exact = t.matching
    if not (arb or wild or exact):
        pass
    elif prev is not None and prev.match_key() == t.match_key():
        s += "    (same matching)\n"
    else:
        s += "    matching:\n"
        for label, names in (("arbitrary mask", arb), ("exact match or wildcard", wild),
                             ("must exact match", exact)):
            if names:
                s += f"      {label}: " + " ".join(_compress(list(names))) + "\n"
    return s


def _format_table(t: _TableInfo, prev: _TableInfo | None) -> str:
    s = f"  {_title(t)}:\n"
    if t.stats is not None:
        s += f"    active={t.stats[0]}, lookup={t.stats[1]}, matched={t.stats[2]}\n"
        if prev is not None and prev.features(t.table_id) == t.features(t.table_id):
            return s + "    (same features)\n"
    return s + _format_features(t, prev)


def format_table_features(tf: TableFeatures, version: int, prev: TableFeatures | None = None) -> str:
    """One table as ofp-print prints it in a table-features message; parts equal to those of ``prev`` (the
    table before it) are printed as ``(same instructions)``, ``(same actions)``, ``(same matching)``."""
    return _format_table(_features_info(tf, version), _features_info(prev, version) if prev else None)


def _format_infos(tables: list[_TableInfo]) -> str:
    """Tables as ofp-print lists them: a table that prints like the one before it (statistics included) is
    ``ditto``: unnamed ones fold into ``table N: ditto`` / ``tables N...M: ditto``, named ones get a
    ``table N ("name"): ditto`` line each.  Items are separated by blank lines, except after a named ditto."""
    items: list[tuple[str, str]] = []
    prev: _TableInfo | None = None
    run: list[int] = []

    def flush() -> None:
        if run:
            items.append(("run", f"  table {run[0]}: ditto\n" if len(run) == 1 else
                                 f"  tables {run[0]}...{run[-1]}: ditto\n"))
            run.clear()

    for t in tables:
        if (prev is not None and t.features(t.table_id) == prev.features(t.table_id)
                and t.stats == prev.stats):
            if t.name:
                flush()
                items.append(("named", f"  {_title(t)}: ditto\n"))
            else:
                run.append(t.table_id)
        else:
            flush()
            items.append(("full", _format_table(t, prev)))
        prev = t
    flush()
    s = "\n"
    for i, (_, text) in enumerate(items):
        if i and items[i - 1][0] != "named":
            s += "\n"
        s += text
    return s


def _format_tables(tables: list[TableFeatures], version: int) -> str:
    return _format_infos([_features_info(tf, version) for tf in tables])


# ------------------------------------------------------------------------------------------------ 1.0-1.2 stats

_W10_FIELDS = [(1 << 0, "in_port"), (1 << 1, "vlan_vid"), (1 << 2, "eth_src"), (1 << 3, "eth_dst"),
               (1 << 4, "eth_type"), (1 << 5, "nw_proto"), (1 << 6, "tcp_src"), (1 << 7, "tcp_dst"),
               (0x3F << 8, "ip_src"), (0x3F << 14, "ip_dst"), (1 << 20, "vlan_pcp"), (1 << 21, "nw_tos")]
_W11_FIELDS = [(1 << 0, "in_port"), (1 << 1, "vlan_vid"), (1 << 2, "vlan_pcp"), (1 << 3, "eth_type"),
               (1 << 4, "nw_tos"), (1 << 5, "nw_proto"), (1 << 6, "tcp_src"), (1 << 7, "tcp_dst"),
               (1 << 8, "mpls_label"), (1 << 9, "mpls_tc"), (1 << 11, "eth_src"), (1 << 12, "eth_dst"),
               (1 << 13, "ip_src"), (1 << 14, "ip_dst"), (1 << 15, "metadata")]
_FIELD_INDEX = {str(e[0]): i for i, e in enumerate(_TF_FIELDS)}
_OXM_BASIC: dict[int, tuple[int, str]] = {}
for _i, (_name, *_hdrs) in enumerate(_TF_FIELDS):
    for _h in _hdrs:
        if int(_h) >> 16 == 0x8000:  # type: ignore[call-overload]
            _OXM_BASIC.setdefault((int(_h) >> 9) & 0x7F, (_i, str(_name)))  # type: ignore[call-overload]


@dataclass
class LegacyTableStats:
    """One table of an OpenFlow 1.0, 1.1 or 1.2 table-statistics reply, which describes the table's features
    with bitmaps: ``wildcards`` and ``match`` (1.0: ``OFPFW10_*``, only wildcards; 1.1: ``OFPFW11_*`` /
    ``OFPFMF11_*``; 1.2: bit n = OXM field n), ``instructions`` (bit n = instruction type n), action bitmaps
    (bit n = action type n), 1.2 set-field bitmaps and metadata masks, and ``config`` (1.1/1.2 table-miss
    behaviour: 0 controller, 1 continue, 2 drop)."""

    table_id: int
    name: str = ""
    wildcards: int = 0
    match: int = 0
    instructions: int = 0
    write_actions: int = 0
    apply_actions: int = 0
    write_setfields: int = 0
    apply_setfields: int = 0
    metadata_match: int = 0
    metadata_write: int = 0
    config: int = 0
    max_entries: int = 0
    active_count: int = 0
    lookup_count: int = 0
    matched_count: int = 0


_LEGACY_SIZE = {1: 64, 2: 88, 3: 128}


def _pack_legacy(t: LegacyTableStats, version: int) -> bytes:
    name = t.name.encode("latin-1")[:31]
    if version == 1:
        return struct.pack("!B3x32sIIIQQ", t.table_id, name, t.wildcards, t.max_entries, t.active_count,
                           t.lookup_count, t.matched_count)
    if version == 2:
        return struct.pack("!B7x32sIIIIIIIIQQ", t.table_id, name, t.wildcards, t.match, t.instructions,
                           t.write_actions, t.apply_actions, t.config, t.max_entries, t.active_count,
                           t.lookup_count, t.matched_count)
    return struct.pack("!B7x32sQQIIQQQQIIIIQQ", t.table_id, name, t.match, t.wildcards, t.write_actions,
                       t.apply_actions, t.write_setfields, t.apply_setfields, t.metadata_match, t.metadata_write,
                       t.instructions, t.config, t.max_entries, t.active_count, t.lookup_count, t.matched_count)


def _unpack_legacy(b: bytes, i: int, version: int) -> LegacyTableStats:
    if version == 1:
        tid, name, wild, mx, act, look, mat = struct.unpack_from("!B3x32sIIIQQ", b, i)
        return LegacyTableStats(tid, _cstr(name), wildcards=wild, max_entries=mx, active_count=act,
                                lookup_count=look, matched_count=mat)
    if version == 2:
        (tid, name, wild, match, inst, wa, aa, cfg, mx, act, look,
         mat) = struct.unpack_from("!B7x32sIIIIIIIIQQ", b, i)
        return LegacyTableStats(tid, _cstr(name), wild, match, inst, wa, aa, config=cfg, max_entries=mx,
                                active_count=act, lookup_count=look, matched_count=mat)
    (tid, name, match, wild, wa, aa, ws, as_, mm, mw, inst, cfg, mx, act, look,
     mat) = struct.unpack_from("!B7x32sQQIIQQQQIIIIQQ", b, i)
    return LegacyTableStats(tid, _cstr(name), wild, match, inst, wa, aa, ws, as_, mm, mw, cfg, mx, act, look, mat)


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("latin-1")


def encode_legacy_table_stats_reply(stats: list[LegacyTableStats], version: int, xid: int = 0) -> list[bytes]:
    """An OpenFlow 1.0, 1.1 or 1.2 table-statistics reply."""
    return M.encode_multipart_replies(M.raw_for("TABLE_STATS_REPLY", version), version, xid,
                                      [_pack_legacy(t, version) for t in stats])


def decode_legacy_table_stats_reply(msg: M.Msg) -> list[LegacyTableStats]:
    size = _LEGACY_SIZE[msg.version]
    return [_unpack_legacy(msg.body, i, msg.version) for i in range(0, len(msg.body), size)]


def _bits_fields(bits: int, table: list[tuple[int, str]]) -> set[tuple[int, str]]:
    return {(_FIELD_INDEX[name], name) for bit, name in table if bits & bit}


def _oxm_bits_fields(bits: int) -> set[tuple[int, str]]:
    """The fields of an OpenFlow 1.2 OXM bitmap: only the 36 fields OpenFlow 1.2 defines count."""
    return {_OXM_BASIC[n] for n in range(36) if bits >> n & 1 and n in _OXM_BASIC}


def _legacy_info(t: LegacyTableStats, version: int) -> _TableInfo:
    stats = (t.active_count, t.lookup_count, t.matched_count)
    if version == 1:
        fields = _bits_fields(t.wildcards, _W10_FIELDS)
        empty = _Insts(frozenset(), (), ((), ()), ((), ()))
        return _TableInfo(t.table_id, t.name, (0, 0), None, None, t.max_entries, empty, empty,
                          _matching_of(set(), fields, fields), stats)
    # The meter instruction came with OpenFlow 1.3.
    inst = tuple(n for typ, n in _INSTRUCTIONS if t.instructions >> typ & 1 and typ != 6)
    wa = tuple(_action_names([n for n in range(32) if t.write_actions >> n & 1], version))
    aa = tuple(_action_names([n for n in range(32) if t.apply_actions >> n & 1], version))
    write: tuple[tuple[str, ...], tuple[str, ...]]
    apply: tuple[tuple[str, ...], tuple[str, ...]]
    if version == 2:
        # Open vSwitch reads OpenFlow 1.1's write-actions bitmap for both kinds of actions.
        write = apply = (wa, ())
        match, wild = _bits_fields(t.match, _W11_FIELDS), _bits_fields(t.wildcards, _W11_FIELDS)
        metadata = (0, 0)
    else:
        write = (wa, tuple(n for _, n in sorted(_oxm_bits_fields(t.write_setfields))))
        apply = (aa, tuple(n for _, n in sorted(_oxm_bits_fields(t.apply_setfields))))
        match, wild = _oxm_bits_fields(t.match), _oxm_bits_fields(t.wildcards)
        metadata = (t.metadata_match, t.metadata_write)
    insts = _Insts(frozenset(), inst, write, apply)
    # In table statistics a field that may be wildcarded may be matched, whether or not the match bitmap says so.
    return _TableInfo(t.table_id, t.name, metadata, None, _TC11_MISS.get(t.config & 3, "controller"),
                      t.max_entries, insts, insts, _matching_of(set(), match | wild, wild), stats)


def encode_table_features_request(tables: list[TableFeatures] | None, version: int, xid: int = 0) -> list[bytes]:
    """``OFPST_TABLE_FEATURES`` request: without tables it asks; with tables it sets the switch's features."""
    raw = M.raw_for("TABLE_FEATURES_STATS_REQUEST", version)
    if not tables:
        return [M.encode(raw, version, b"", xid)]
    return M.encode_multipart_replies(raw, version, xid, [pack_table_features(t) for t in tables])


def encode_table_features_reply(tables: list[TableFeatures], version: int, xid: int = 0) -> list[bytes]:
    return M.encode_multipart_replies(M.raw_for("TABLE_FEATURES_STATS_REPLY", version), version, xid,
                                      [pack_table_features(t) for t in tables])


def decode_table_features(msg: M.Msg) -> list[TableFeatures]:
    """The tables of a table-features request or reply."""
    out = []
    i = 0
    while i < len(msg.body):
        tf, i = unpack_table_features(msg.body, i, msg.version)
        out.append(tf)
    return out


def _print_table_features(msg: M.Msg) -> str:
    tables = decode_table_features(msg)
    if not tables:
        return "\n"
    return _format_tables(tables, msg.version)


def _print_table_stats(msg: M.Msg) -> str:
    if msg.version < 4:
        return _format_infos([_legacy_info(t, msg.version) for t in decode_legacy_table_stats_reply(msg)])
    return _print_table_stats_reply(msg)


PRINTERS: dict[str, Callable[[M.Msg], str]] = {
    "FEATURES_REQUEST": _print_empty,
    "FEATURES_REPLY": _print_features_reply,
    "GET_CONFIG_REQUEST": _print_empty,
    "GET_CONFIG_REPLY": _print_switch_config,
    "SET_CONFIG": _print_switch_config,
    "DESC_STATS_REQUEST": _print_empty,
    "DESC_STATS_REPLY": _print_desc_reply,
    "ECHO_REQUEST": _print_echo,
    "ECHO_REPLY": _print_echo,
    "BARRIER_REQUEST": _print_empty,
    "BARRIER_REPLY": _print_empty,
    "ROLE_REQUEST": _print_role,
    "ROLE_REPLY": _print_role,
    "ROLE_STATUS": _print_role_status,
    "GET_ASYNC_REQUEST": _print_empty,
    "GET_ASYNC_REPLY": _print_async,
    "SET_ASYNC_CONFIG": _print_async,
    "SET_CONTROLLER_ID": lambda m: f" id={decode_set_controller_id(m)}\n",
    "SET_FLOW_FORMAT": lambda m: f" format={FLOW_FORMATS.get(decode_set_flow_format(m), '(unknown)')}\n",
    "SET_PACKET_IN_FORMAT": lambda m: f" format={PACKET_IN_FORMATS[decode_packet_in_format(m)]}\n",
    "FLOW_MOD_TABLE_ID": lambda m: " " + ("enable" if decode_flow_mod_table_id(m) else "disable") + "\n",
    "FLOW_AGE": _print_empty,
    "CT_FLUSH_ZONE": lambda m: f" zone_id={decode_ct_flush_zone(m)}\n",
    "TABLE_MOD": _print_table_mod,
    "TABLE_STATS_REQUEST": _print_empty,
    "TABLE_STATS_REPLY": _print_table_stats,
    "TABLE_DESC_REQUEST": _print_empty,
    "TABLE_DESC_REPLY": _print_table_desc_reply,
    "TABLE_FEATURES_STATS_REQUEST": _print_table_features,
    "TABLE_FEATURES_STATS_REPLY": _print_table_features,
}
