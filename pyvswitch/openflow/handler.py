"""The switch side of OpenFlow: what a bridge does with each message its connections send, and which
connections hear about what the bridge does.

``OFConn`` is one negotiated connection's OpenFlow state (role, flow format, packet-in format, async config,
bundles, flow monitors); ``ConnSet`` is a bridge's set of connections around its ``OFProto``.  ``ConnSet.receive``
takes one whole message from a connection and sends the replies through that connection's ``send``; it never
raises: a message it cannot decode or must refuse gets the OpenFlow error the specification names, as Open
vSwitch answers it, and a log line, and the connection stays up.

Connection kinds follow Open vSwitch: a *service* connection (the bridge's ``BRIDGE.mgmt`` socket, and passive
``ptcp:``/``punix:`` controllers) is not a controller: every one may change the switch, and it receives
asynchronous messages only after asking for them with a nonzero ``miss_send_len`` (``ovs-ofctl monitor`` does);
a *primary* connection (an active ``tcp:``/``unix:`` controller) has a role (equal, master or slave) and receives
what its role and its async config allow.  A slave's attempts to change the switch get ``OFPBRC_IS_SECONDARY``.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from pyvswitch import __version__
from pyvswitch.flow import fields as F
from pyvswitch.flow import values as V
from pyvswitch.flow.protocols import Proto
from pyvswitch.ofproto.actions import actions_output_to_group, actions_output_to_port
from pyvswitch.ofproto.actions import model as AM
from pyvswitch.ofproto.flow_mod import OFPG_ANY, Command, FlowMod
from pyvswitch.ofproto.group import GroupModError
from pyvswitch.ofproto.meter import MeterModError
from pyvswitch.ofproto.ofproto import OFPort, OFProto
from pyvswitch.ofproto.rule import Removed, RemovedReason, Rule
from pyvswitch.ofproto.table import FlowModError, RuleCriteria
from pyvswitch.openflow import ofp_bundle as OB
from pyvswitch.openflow import ofp_flow_stats as FS
from pyvswitch.openflow import ofp_group as OG
from pyvswitch.openflow import ofp_meter as OM
from pyvswitch.openflow import ofp_monitor as MON
from pyvswitch.openflow import ofp_msgs as M
from pyvswitch.openflow import ofp_packet as PK
from pyvswitch.openflow import ofp_port as OP
from pyvswitch.openflow import ofp_switch as SW
from pyvswitch.openflow import ofp_tables as TB
from pyvswitch.openflow import ofp_tlv as TLV
from pyvswitch.openflow.ofp_errors import OFPDecodeError
from pyvswitch.openflow.ofp_flow_mod import decode_flow_mod_message

__all__ = ["PRIMARY", "ROLE_EQUAL", "ROLE_MASTER", "ROLE_SLAVE", "SERVICE", "ConnSet", "OFConn", "OFError"]

log = logging.getLogger("pyvswitch.ofconn")

ROLE_EQUAL = "equal"
ROLE_MASTER = "master"
ROLE_SLAVE = "slave"
SERVICE = "service"
PRIMARY = "primary"
DEFAULT_MISS_SEND_LEN = 128
UNDEFINED_GENERATION = 0xFFFFFFFFFFFFFFFF

#: Messages a slave may not send (OpenFlow 1.5 section 6.3.6): they change the switch.
_WRITES = frozenset({"FLOW_MOD", "GROUP_MOD", "PORT_MOD", "TABLE_MOD", "METER_MOD", "PACKET_OUT",
                     "BUNDLE_CONTROL", "BUNDLE_ADD_MESSAGE", "TLV_TABLE_MOD", "NXT_RESUME", "CT_FLUSH_ZONE"})
_OXM = {3: Proto.OF12_OXM, 4: Proto.OF13_OXM, 5: Proto.OF14_OXM, 6: Proto.OF15_OXM}
_PORT_REASON = {"add": 0, "delete": 1, "modify": 2}
_ROLES = ["nochange", ROLE_EQUAL, ROLE_MASTER, ROLE_SLAVE]   # OpenFlow 1.2 role numbers
_FRAG_NAMES = {SW.FRAG_NORMAL: "normal", SW.FRAG_DROP: "drop", SW.FRAG_REASM: "reassemble",
               SW.FRAG_NX_MATCH: "nx-match"}
_FRAG_NUMBERS = {v: k for k, v in _FRAG_NAMES.items()}


class OFError(OFPDecodeError):
    """Refuse the message being handled with OpenFlow error ``code`` (Open vSwitch's name): the switch side's
    refusals and the decoders' are answered alike."""


@dataclass
class OFConn:
    """One OpenFlow connection's state.  ``send`` queues one encoded message to the peer."""

    name: str
    kind: str
    version: int
    send: Callable[[bytes], None]
    role: str = ROLE_EQUAL
    controller_id: int = 0
    flow_format: Proto = Proto.OF10_STD
    flow_mod_table_id: bool = False
    packet_in_format: str = "standard"
    miss_send_len: int = 0
    async_config: Any = None
    bundles: dict[int, Any] = field(default_factory=dict)
    monitors: dict[int, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind == PRIMARY:
            self.miss_send_len = DEFAULT_MISS_SEND_LEN
        if self.version >= 2:
            self.flow_format = Proto.OF11_STD if self.version == 2 else _OXM[self.version]
        if self.async_config is None:
            self.async_config = SW.AsyncConfig.ovs_default()

    @property
    def protocol(self) -> Proto:
        """The flow-mod protocol variant this connection uses now."""
        if self.version != 1:
            return self.flow_format
        if self.flow_format == Proto.OF10_NXM:
            return Proto.OF10_NXM_TID if self.flow_mod_table_id else Proto.OF10_NXM
        return Proto.OF10_STD_TID if self.flow_mod_table_id else Proto.OF10_STD

    @property
    def nxm(self) -> bool:
        """Whether an OpenFlow 1.0 connection chose Nicira's flow format (NXM) for flows it is sent."""
        return self.version == 1 and self.flow_format == Proto.OF10_NXM

    def error(self, code: str, request: bytes, xid: int) -> None:
        self.send(M.encode_error(self.version, code, xid, request))

    def receives(self, kind: str, reason: int) -> bool:
        """Whether asynchronous messages of ``kind`` (``packet_in``, ``port_status``, ``flow_removed``,
        ``role_status``...) with ``reason`` go to this connection."""
        if self.kind == SERVICE and not self.miss_send_len:
            return False
        masks = self.async_config.slave if self.role == ROLE_SLAVE else self.async_config.master
        return bool(masks.get(kind, 0) >> reason & 1)


@dataclass
class _Bundle:
    """An open bundle: its flags and the messages added so far (decoded, in order)."""

    flags: int
    messages: list[M.Msg] = field(default_factory=list)
    #: The flow-mods among ``messages``, decoded when added (by message index).
    flow_mods: dict[int, FlowMod] = field(default_factory=dict)
    closed: bool = False


class ConnSet:
    """A bridge's OpenFlow connections and the handling of their messages.

    ``execute_packet_out(ofproto, packet_out, conn)`` and ``execute_resume(ofproto, packet_in, conn)`` are the
    datapath's entries for packet-outs and for resuming paused translations (set by the daemon)."""

    def __init__(self, ofproto: OFProto) -> None:
        self.ofproto = ofproto
        self.conns: list[OFConn] = []
        self.master_generation: int | None = None
        self.execute_packet_out: Callable[[OFProto, PK.PacketOut, OFConn], None] | None = None
        #: Resumes a paused translation (``NXT_RESUME``); returns False for a continuation it did not make.
        self.execute_resume: Callable[[OFProto, PK.PacketIn, OFConn], bool] | None = None
        self.on_role_change: Callable[[], None] = lambda: None
        #: Called when a connection comes, goes or changes its controller id (the datapath decides from the
        #: connections whether table misses go to a controller).
        self.on_conns_change: list[Callable[[], None]] = []
        self.handlers: dict[str, Callable[[OFConn, M.Msg], None]] = {
            "HELLO": _ignore,
            "ECHO_REQUEST": self._echo_request,
            "ECHO_REPLY": _ignore,
            "ERROR": self._error,
            "FEATURES_REQUEST": self._features_request,
            "GET_CONFIG_REQUEST": self._get_config,
            "SET_CONFIG": self._set_config,
            "BARRIER_REQUEST": self._barrier,
            "FLOW_MOD": self._flow_mod,
            "GROUP_MOD": self._group_mod,
            "METER_MOD": self._meter_mod,
            "PORT_MOD": self._port_mod,
            "TABLE_MOD": self._table_mod,
            "PACKET_OUT": self._packet_out,
            "ROLE_REQUEST": self._role_request,
            "GET_ASYNC_REQUEST": self._get_async,
            "SET_ASYNC_CONFIG": self._set_async,
            "SET_FLOW_FORMAT": self._set_flow_format,
            "FLOW_MOD_TABLE_ID": self._flow_mod_table_id,
            "SET_PACKET_IN_FORMAT": self._set_packet_in_format,
            "SET_CONTROLLER_ID": self._set_controller_id,
            "FLOW_AGE": _ignore,
            "CT_FLUSH_ZONE": _ignore,
            "QUEUE_GET_CONFIG_REQUEST": self._queue_get_config,
            "DESC_STATS_REQUEST": self._desc_stats,
            "FLOW_STATS_REQUEST": self._flow_stats,
            "AGGREGATE_STATS_REQUEST": self._aggregate_stats,
            "TABLE_STATS_REQUEST": self._table_stats,
            "TABLE_FEATURES_STATS_REQUEST": self._table_features,
            "TABLE_DESC_REQUEST": self._table_desc,
            "PORT_STATS_REQUEST": self._port_stats,
            "PORT_DESC_STATS_REQUEST": self._port_desc,
            "QUEUE_STATS_REQUEST": self._queue_stats,
            "QUEUE_DESC_STATS_REQUEST": self._queue_desc,
            "GROUP_STATS_REQUEST": self._group_stats,
            "GROUP_DESC_STATS_REQUEST": self._group_desc,
            "GROUP_FEATURES_STATS_REQUEST": self._group_features,
            "METER_STATS_REQUEST": self._meter_stats,
            "METER_CONFIG_STATS_REQUEST": self._meter_config,
            "METER_FEATURES_STATS_REQUEST": self._meter_features,
            "BUNDLE_CONTROL": self._bundle_control,
            "BUNDLE_ADD_MESSAGE": self._bundle_add,
            "TLV_TABLE_MOD": self._tlv_mod,
            "TLV_TABLE_REQUEST": self._tlv_request,
            "FLOW_MONITOR_STATS_REQUEST": self._monitor_request,
            "FLOW_MONITOR_CANCEL": self._monitor_cancel,
            "NXT_RESUME": self._resume,
        }
        ofproto.on_flow_removed.append(self._flow_removed)
        ofproto.on_port_change.append(self._port_changed)
        ofproto.groups.on_delete = self._groups_deleted
        ofproto.groups.ref_count = self._group_refs
        ofproto.meters.on_delete = self._meters_deleted
        ofproto.meters.flow_count = self._meter_refs
        if ofproto.tlv_table is None:
            ofproto.tlv_table = TLV.TlvTable()

    # -- connections ----------------------------------------------------------------------------------------------

    def add(self, conn: OFConn) -> None:
        self.conns.append(conn)
        self._conns_changed()

    def remove(self, conn: OFConn) -> None:
        if conn in self.conns:
            self.conns.remove(conn)
            self._conns_changed()
        conn.bundles.clear()
        conn.monitors.clear()

    def _conns_changed(self) -> None:
        for cb in self.on_conns_change:
            cb()

    def receive(self, conn: OFConn, data: bytes) -> None:
        """Handle one whole message from ``conn``."""
        xid = struct.unpack_from("!I", data, 4)[0] if len(data) >= 8 else 0
        try:
            msg = M.decode(data)
            self._dispatch(conn, msg)
        except (OFPDecodeError, GroupModError, MeterModError, FlowModError) as e:
            code = e.code
            detail = getattr(e, "detail", "") or getattr(e, "message", "")
            log.info("%s: %s: refused with %s%s", self.ofproto.name, conn.name, code, f" ({detail})" if detail else "")
            conn.error(code, data, xid)
        except Exception:
            log.exception("%s: %s: internal error handling a message", self.ofproto.name, conn.name)
            conn.error("OFPBRC_EPERM", data, xid)

    def _dispatch(self, conn: OFConn, msg: M.Msg) -> None:
        if msg.version != conn.version and msg.type not in ("HELLO", "ERROR", "ECHO_REQUEST", "ECHO_REPLY"):
            raise OFError("OFPBRC_BAD_VERSION", f"version {msg.version} on a connection of version {conn.version}")
        handler = self.handlers.get(msg.type)
        if handler is None:
            raise OFError("OFPBRC_BAD_TYPE", f"{msg.raw.name} is not supported")
        if conn.role == ROLE_SLAVE and msg.type in _WRITES:
            raise OFError("OFPBRC_IS_SECONDARY")
        handler(conn, msg)

    # -- simple messages ------------------------------------------------------------------------------------------

    def _echo_request(self, conn: OFConn, msg: M.Msg) -> None:
        conn.send(M.encode("OFPT_ECHO_REPLY", msg.version, msg.body, msg.xid))

    def _error(self, conn: OFConn, msg: M.Msg) -> None:
        log.info("%s: %s: received an OpenFlow error (xid=%#x)", self.ofproto.name, conn.name, msg.xid)

    def _barrier(self, conn: OFConn, msg: M.Msg) -> None:
        conn.send(M.encode(M.raw_for("BARRIER_REPLY", conn.version), conn.version, b"", msg.xid))

    def port_descs(self, port_no: int = V.OFPP_ANY) -> list[OP.PortDesc]:
        ports = self.ofproto.ports
        nos = sorted(ports) if port_no == V.OFPP_ANY else [port_no] if port_no in ports else []
        return [_port_desc(ports[n]) for n in nos]

    def _features_request(self, conn: OFConn, msg: M.Msg) -> None:
        feats = SW.SwitchFeatures.ovs_default(self.ofproto.datapath_id,
                                              self.port_descs() if conn.version <= 3 else [])
        conn.send(SW.encode_features_reply(feats, conn.version, msg.xid))

    def _get_config(self, conn: OFConn, msg: M.Msg) -> None:
        invalid_ttl = bool(conn.async_config.master["PACKET_IN"] >> PK.OFPR_INVALID_TTL & 1)
        cfg = SW.SwitchConfig(frag=_FRAG_NUMBERS[self.ofproto.config.frag], miss_send_len=conn.miss_send_len,
                              invalid_ttl_to_controller=invalid_ttl and conn.version <= 3)
        conn.send(SW.encode_switch_config(cfg, conn.version, msg.xid, reply=True))

    def _set_config(self, conn: OFConn, msg: M.Msg) -> None:
        cfg = SW.decode_switch_config(msg)
        if conn.role != ROLE_SLAVE:
            self.ofproto.config.frag = _FRAG_NAMES[cfg.frag]
        if conn.version <= 3:
            # As in Open vSwitch, the flag is the connection's: its packet-ins for TTL exceptions (an
            # asynchronous-configuration bit, which OpenFlow 1.3+ sets with SET_ASYNC instead).
            bit = 1 << PK.OFPR_INVALID_TTL
            pin = conn.async_config.master["PACKET_IN"]
            conn.async_config.master["PACKET_IN"] = pin | bit if cfg.invalid_ttl_to_controller else pin & ~bit
        conn.miss_send_len = cfg.miss_send_len

    def _set_flow_format(self, conn: OFConn, msg: M.Msg) -> None:
        fmt = SW.decode_set_flow_format(msg)
        if fmt not in (0, 2):
            raise OFError("OFPBRC_EPERM", f"flow format {fmt} is not supported")
        conn.flow_format = Proto.OF10_NXM if fmt == 2 else Proto.OF10_STD

    def _flow_mod_table_id(self, conn: OFConn, msg: M.Msg) -> None:
        conn.flow_mod_table_id = SW.decode_flow_mod_table_id(msg)

    def _set_packet_in_format(self, conn: OFConn, msg: M.Msg) -> None:
        conn.packet_in_format = SW.PACKET_IN_FORMATS[SW.decode_packet_in_format(msg)]

    def _set_controller_id(self, conn: OFConn, msg: M.Msg) -> None:
        conn.controller_id = SW.decode_set_controller_id(msg)
        self._conns_changed()

    # -- roles and asynchronous configuration -----------------------------------------------------------------

    def _role_request(self, conn: OFConn, msg: M.Msg) -> None:
        req = SW.decode_role(msg)
        role = _ROLES[req.role]
        if role != "nochange":
            if role in (ROLE_MASTER, ROLE_SLAVE) and req.generation_id is not None:
                cur = self.master_generation
                if cur is not None and ((req.generation_id - cur) & UNDEFINED_GENERATION) >> 63:
                    raise OFError("OFPRRFC_STALE")
                self.master_generation = req.generation_id
            if role == ROLE_MASTER:
                for other in self.conns:
                    if other is not conn and other.role == ROLE_MASTER:
                        other.role = ROLE_SLAVE
                        self._send_role_status(other)
            conn.role = role
            self.on_role_change()
        reply = SW.Role(_ROLES.index(conn.role), self.master_generation)
        conn.send(SW.encode_role(reply, conn.version, msg.xid, reply=True, nx=msg.raw.family == "NXT"))

    def _send_role_status(self, conn: OFConn) -> None:
        if conn.version < 4 or not conn.receives("ROLE_STATUS", 0):   # 0: primary_request
            return
        status = SW.RoleStatus(_ROLES.index(conn.role), 0, self.master_generation)
        conn.send(SW.encode_role_status(status, conn.version))

    def _get_async(self, conn: OFConn, msg: M.Msg) -> None:
        conn.send(SW.encode_async_config(conn.async_config, conn.version, msg.xid, reply=True))

    def _set_async(self, conn: OFConn, msg: M.Msg) -> None:
        conn.async_config = SW.decode_async_config(msg)

    # -- flows ----------------------------------------------------------------------------------------------------

    def _flow_mod(self, conn: OFConn, msg: M.Msg) -> None:
        fmm = decode_flow_mod_message(msg.data, conn.protocol)
        self._check_references(fmm.fm.actions)
        self.apply_flow_mods([fmm.fm], conn, msg.xid)
        if fmm.fm.buffer_id != PK.NO_BUFFER:
            raise OFError("OFPBRC_BUFFER_UNKNOWN")

    def _check_references(self, actions: list[Any]) -> None:
        """Open vSwitch refuses a flow whose actions use a group or meter that does not exist."""
        for a in AM.walk(actions):
            if isinstance(a, AM.Group) and a.group_id not in self.ofproto.groups:
                raise OFError("OFPBAC_BAD_OUT_GROUP", f"group {a.group_id} does not exist")
            if isinstance(a, AM.Meter) and a.meter_id not in self.ofproto.meters:
                raise OFError("OFPMMFC_INVALID_METER", f"meter {a.meter_id} does not exist")

    def apply_flow_mods(self, fms: list[FlowMod], conn: OFConn | None, xid: int,
                        reason: RemovedReason | None = None) -> None:
        """Apply flow-mods atomically and tell flow monitors, flow-removed listeners and vacancy events.
        ``reason`` overrides why deleted rules left (a group or meter deleted under them)."""
        result = self.ofproto.tables.apply(fms)
        if reason is not None:
            for res in result.results:
                res.removed = [Removed(r.rule, reason) for r in res.removed]
        self.ofproto.report_removed(result.removed)
        self._table_status({r.table_id for res in result.results
                            for r in [*res.added, *res.modified, *(x.rule for x in res.removed)]})
        for res in result.results:
            for rule in res.added:
                self._monitor_event("added", rule, conn, xid)
            for _, new in res.replaced:
                self._monitor_event("modified", new, conn, xid)
            for rule in res.modified:
                self._monitor_event("modified", rule, conn, xid)
            for r in res.removed:
                self._monitor_event("deleted", r.rule, conn, xid, r.reason)

    def _flow_stats(self, conn: OFConn, msg: M.Msg) -> None:
        req = FS.decode_flow_stats_request(msg)
        now = self.ofproto.tables.clock.now()
        rules = self.ofproto.tables.select(_criteria(req))
        entries = [_flow_stats_of(r, now) for r in rules]
        for m in FS.encode_flow_stats_replies(entries, conn.version, msg.xid, nxm=msg.raw.family == "NXST"):
            conn.send(m)

    def _aggregate_stats(self, conn: OFConn, msg: M.Msg) -> None:
        req = FS.decode_flow_stats_request(msg)
        agg = self.ofproto.tables.aggregate(_criteria(req))
        stats = FS.AggregateStats(agg.packet_count, agg.byte_count, agg.flow_count)
        conn.send(FS.encode_aggregate_reply(stats, conn.version, msg.xid, nxm=msg.raw.family == "NXST"))

    def _table_stats(self, conn: OFConn, msg: M.Msg) -> None:
        for m in TB.table_stats_replies(self.ofproto.tables, conn.version, msg.xid):
            conn.send(m)

    def _table_features(self, conn: OFConn, msg: M.Msg) -> None:
        if msg.body:
            # A request with a body asks to change the tables' features: Open vSwitch refuses that.
            raise OFError("OFPTFFC_EPERM")
        for m in TB.table_features_replies(self.ofproto.tables, conn.version, msg.xid):
            conn.send(m)

    def _table_desc(self, conn: OFConn, msg: M.Msg) -> None:
        for m in TB.table_desc_replies(self.ofproto.tables, conn.version, msg.xid):
            conn.send(m)

    def _table_mod(self, conn: OFConn, msg: M.Msg) -> None:
        TB.apply_table_mod(SW.decode_table_mod(msg), self.ofproto.tables, conn.version)

    def _desc_stats(self, conn: OFConn, msg: M.Msg) -> None:
        desc = SW.DescStats("pyvswitch", "pyvswitch", __version__, "None", "None")
        conn.send(SW.encode_desc_stats_reply(desc, conn.version, msg.xid))

    # -- ports ----------------------------------------------------------------------------------------------------

    def _port_desc(self, conn: OFConn, msg: M.Msg) -> None:
        port_no = OP.decode_port_desc_request(msg)
        for m in OP.encode_port_desc_reply(self.port_descs(port_no), conn.version, msg.xid):
            conn.send(m)

    def _port_stats(self, conn: OFConn, msg: M.Msg) -> None:
        req = OP.decode_port_stats_request(msg)
        ports = self.ofproto.ports
        if req.port_no != V.OFPP_ANY and req.port_no not in ports:
            raise OFError("OFPBRC_BAD_PORT")
        nos = sorted(ports) if req.port_no == V.OFPP_ANY else [req.port_no]
        now = self.ofproto.clock.now()
        stats = []
        for n in nos:
            c = self.ofproto.port_stats(n) or {}
            sec, nsec = _duration(now - self.ofproto.created)
            stats.append(OP.PortStats(n, **{k: v for k, v in c.items() if k in _PORT_COUNTERS},
                                      duration_sec=sec, duration_nsec=nsec, custom=list(c.get("custom", []))))
        for m in OP.encode_port_stats_reply(stats, conn.version, msg.xid):
            conn.send(m)

    def _port_mod(self, conn: OFConn, msg: M.Msg) -> None:
        pm = OP.decode_port_mod(msg)
        if pm.port_no not in self.ofproto.ports:
            raise OFError("OFPPMFC_BAD_PORT")
        try:
            self.ofproto.mod_port(pm.port_no, V.format_mac(pm.hw_addr), pm.config, pm.mask)
        except ValueError:
            raise OFError("OFPPMFC_BAD_HW_ADDR") from None

    def _queue_get_config(self, conn: OFConn, msg: M.Msg) -> None:
        port_no, _ = OP.decode_queue_config_request(msg)
        if port_no not in self.ofproto.ports and port_no != V.OFPP_ANY:
            raise OFError("OFPQOFC_BAD_PORT")
        for m in OP.encode_queue_config_reply(OP.QueueConfig(port_no, []), conn.version, msg.xid):
            conn.send(m)
        # (OpenFlow 1.4+ asks with QUEUE_DESC, answered by _queue_desc.)

    def _queue_stats(self, conn: OFConn, msg: M.Msg) -> None:
        # Every port has the default queue 0 and nothing counts per queue, as on Open vSwitch's dummy and
        # userspace ports: counters and duration read "unknown".
        req = OP.decode_queue_stats_request(msg)
        if req.port_no not in self.ofproto.ports and req.port_no != V.OFPP_ANY:
            raise OFError("OFPQOFC_BAD_PORT")
        if req.queue_id not in (0, OP.OFPQ_ALL):
            raise OFError("OFPQOFC_BAD_QUEUE")
        nos = sorted(self.ofproto.ports) if req.port_no == V.OFPP_ANY else [req.port_no]
        for m in OP.encode_queue_stats_reply([OP.QueueStats(n, 0) for n in nos], conn.version, msg.xid):
            conn.send(m)

    def _queue_desc(self, conn: OFConn, msg: M.Msg) -> None:
        self._queue_get_config(conn, msg)

    # -- groups and meters ------------------------------------------------------------------------------------

    def _group_mod(self, conn: OFConn, msg: M.Msg) -> None:
        # Buckets may name groups that do not exist (yet), as Open vSwitch allows.
        self.ofproto.groups.apply(OG.decode_group_mod(msg))

    def _group_refs(self, group_id: int) -> int:
        return len(self._rules_using(AM.Group, "group_id", {group_id}))

    def _groups_deleted(self, group_ids: list[int]) -> None:
        self._delete_rules(self._rules_using(AM.Group, "group_id", set(group_ids)), RemovedReason.GROUP_DELETE)

    def _meter_refs(self, meter_id: int) -> int:
        return len(self._rules_using(AM.Meter, "meter_id", {meter_id}))

    def _meters_deleted(self, meter_ids: list[int]) -> None:
        self._delete_rules(self._rules_using(AM.Meter, "meter_id", set(meter_ids)), RemovedReason.METER_DELETE)

    def _rules_using(self, kind: type, attr: str, ids: set[int]) -> list[Rule]:
        """The rules whose actions (nested ones included) have a ``kind`` action with ``attr`` in ``ids``."""
        return [r for r in self.ofproto.tables
                if any(isinstance(a, kind) and getattr(a, attr) in ids for a in AM.walk(r.actions))]

    def _delete_rules(self, rules: list[Rule], reason: RemovedReason) -> None:
        fms = [FlowMod(command=Command.DELETE_STRICT, table_id=r.table_id, match=r.match, priority=r.priority)
               for r in rules]
        if fms:
            self.apply_flow_mods(fms, None, 0, reason)

    def _group_stats(self, conn: OFConn, msg: M.Msg) -> None:
        req = OG.decode_group_stats_request(msg)
        _send_replies(conn, OG.encode_group_stats_reply, self.ofproto.groups.stats(req.group_id), msg.xid)

    def _group_desc(self, conn: OFConn, msg: M.Msg) -> None:
        req = OG.decode_group_desc_request(msg)
        _send_replies(conn, OG.encode_group_desc_reply, self.ofproto.groups.desc(req.group_id), msg.xid)

    def _group_features(self, conn: OFConn, msg: M.Msg) -> None:
        conn.send(OG.encode_group_features_reply(self.ofproto.groups.features, conn.version, msg.xid))

    def _meter_mod(self, conn: OFConn, msg: M.Msg) -> None:
        self.ofproto.meters.apply(OM.decode_meter_mod(msg))

    def _meter_stats(self, conn: OFConn, msg: M.Msg) -> None:
        req = OM.decode_meter_request(msg)
        _send_replies(conn, OM.encode_meter_stats_reply, self.ofproto.meters.stats(req.meter_id), msg.xid)

    def _meter_config(self, conn: OFConn, msg: M.Msg) -> None:
        req = OM.decode_meter_request(msg)
        _send_replies(conn, OM.encode_meter_config_reply, self.ofproto.meters.config(req.meter_id), msg.xid)

    def _meter_features(self, conn: OFConn, msg: M.Msg) -> None:
        conn.send(OM.encode_meter_features_reply(self.ofproto.meters.features, conn.version, msg.xid))

    # -- packet-out ---------------------------------------------------------------------------------------------

    def _packet_out(self, conn: OFConn, msg: M.Msg) -> None:
        po = PK.decode_packet_out(msg)
        PK.check_packet_out(po)
        # The decoder refused input ports outside the valid range; a valid number without a port is accepted,
        # as Open vSwitch accepts it.
        self._check_references(po.actions)
        if self.execute_packet_out is not None:
            self.execute_packet_out(self.ofproto, po, conn)

    def _resume(self, conn: OFConn, msg: M.Msg) -> None:
        """``NXT_RESUME``: the datapath goes on with a paused translation (``execute_resume``).  A continuation
        this bridge did not make (another bridge's, or none) is stale, as Open vSwitch answers."""
        pin = PK.decode_resume(msg)
        self._check_references([a for _, _, acts in pin.continuation.actions for a in acts]
                               if pin.continuation is not None else [])
        if self.execute_resume is None or not self.execute_resume(self.ofproto, pin, conn):
            raise OFError("NXR_STALE", "the continuation is not this bridge's")

    # -- bundles --------------------------------------------------------------------------------------------------

    def _bundle_control(self, conn: OFConn, msg: M.Msg) -> None:
        """Open vSwitch's bundle rules: a second open, a close of a closed bundle and flags that differ from the
        bundle's all discard the bundle along with the error."""
        bc = OB.decode_bundle_ctrl(msg)
        bid = bc.bundle_id
        b = conn.bundles.get(bid)
        if bc.type == OB.OFPBCT_OPEN_REQUEST:
            if b is not None:
                del conn.bundles[bid]
                raise OFError("OFPBFC_BAD_ID", f"bundle {bid} is already open")
            conn.bundles[bid] = _Bundle(bc.flags)
        elif bc.type == OB.OFPBCT_CLOSE_REQUEST:
            if b is None:
                raise OFError("OFPBFC_BAD_ID")
            if b.closed or b.flags != bc.flags:
                del conn.bundles[bid]
                raise OFError("OFPBFC_BUNDLE_CLOSED" if b.closed else "OFPBFC_BAD_FLAGS")
            b.closed = True
        elif bc.type == OB.OFPBCT_COMMIT_REQUEST:
            if b is None:
                raise OFError("OFPBFC_BAD_ID")
            del conn.bundles[bid]
            if b.flags != bc.flags:
                raise OFError("OFPBFC_BAD_FLAGS")
            self._commit(conn, b)
        elif bc.type == OB.OFPBCT_DISCARD_REQUEST:
            if b is None:
                raise OFError("OFPBFC_BAD_ID")
            del conn.bundles[bid]
        else:
            raise OFError("OFPBFC_BAD_TYPE")
        reply = OB.BundleCtrl(bid, bc.type + 1, bc.flags)
        conn.send(OB.encode_bundle_ctrl(reply, conn.version, msg.xid))

    def _bundle_add(self, conn: OFConn, msg: M.Msg) -> None:
        ba = OB.decode_bundle_add(msg)
        inner = ba.inner
        assert inner is not None
        b = conn.bundles.get(ba.bundle_id)
        if b is None:
            b = conn.bundles[ba.bundle_id] = _Bundle(ba.flags)
        elif b.closed or b.flags != ba.flags:
            del conn.bundles[ba.bundle_id]
            raise OFError("OFPBFC_BUNDLE_CLOSED" if b.closed else "OFPBFC_BAD_FLAGS")
        # Decoded when added, as Open vSwitch does; whether groups and meters exist is checked at commit.
        if inner.type == "FLOW_MOD":
            b.flow_mods[len(b.messages)] = decode_flow_mod_message(inner.data, conn.protocol).fm
        elif inner.type == "GROUP_MOD":
            OG.decode_group_mod(inner)
        elif inner.type == "PORT_MOD":
            OP.decode_port_mod(inner)
        elif inner.type == "PACKET_OUT":
            PK.check_packet_out(PK.decode_packet_out(inner))
        b.messages.append(inner)

    def _commit(self, conn: OFConn, b: _Bundle) -> None:
        """Apply a bundle's flow-mods atomically, then its other messages in order.  A failing flow-mod gets its
        own error, the commit ``OFPBFC_MSG_FAILED``, and nothing changes."""
        flow_msgs = [b.messages[i] for i in sorted(b.flow_mods)]
        fms = [b.flow_mods[i] for i in sorted(b.flow_mods)]
        for m, fm in zip(flow_msgs, fms, strict=True):
            try:
                self._check_references(fm.actions)
            except OFError as e:
                conn.error(e.code, m.data, m.xid)
                raise OFError("OFPBFC_MSG_FAILED") from None
        try:
            self.apply_flow_mods(fms, conn, 0)
        except FlowModError as e:
            bad = flow_msgs[e.index] if e.index is not None and e.index < len(flow_msgs) else None
            if bad is not None:
                conn.error(e.code, bad.data, bad.xid)
            raise OFError("OFPBFC_MSG_FAILED") from None
        for inner in b.messages:
            if inner.type != "FLOW_MOD":
                self._dispatch(conn, inner)

    # -- TLV table ------------------------------------------------------------------------------------------------

    def _tlv_mod(self, conn: OFConn, msg: M.Msg) -> None:
        self.ofproto.tlv_table.apply(TLV.decode_tlv_table_mod(msg), self._tlv_in_use)

    def _tlv_in_use(self, index: int) -> bool:
        name = f"tun_metadata{index}"
        return any(F.BY_NAME[name] in r.match.fields() for r in self.ofproto.tables) if name in F.BY_NAME else False

    def _tlv_request(self, conn: OFConn, msg: M.Msg) -> None:
        conn.send(TLV.encode_tlv_table_reply(self.ofproto.tlv_table.reply(), conn.version, msg.xid))

    # -- flow monitors --------------------------------------------------------------------------------------------

    def _monitor_request(self, conn: OFConn, msg: M.Msg) -> None:
        updates: list[MON.FlowUpdate] = []
        for req in MON.decode_flow_monitor_request(msg):
            if req.command == MON.OFPFMC_DELETE:
                if req.id not in conn.monitors:
                    raise OFError("OFPMOFC_UNKNOWN_MONITOR")
                del conn.monitors[req.id]
                continue
            if req.command == MON.OFPFMC_ADD and req.id in conn.monitors:
                raise OFError("OFPMOFC_MONITOR_EXISTS")
            if req.table_id != 0xFF and req.table_id >= self.ofproto.tables.n_tables:
                raise OFError("OFPMOFC_BAD_TABLE_ID")
            conn.monitors[req.id] = req
            if req.flags & MON.OFPFMF_INITIAL:
                now = self.ofproto.tables.clock.now()
                for rule in self.ofproto.tables:
                    if _monitor_selects(req, rule):
                        updates.append(_update_of(rule, MON.OFPFME_INITIAL, req.flags, 0, now))
        for m in MON.encode_flow_update_replies(updates, conn.version, msg.xid):
            conn.send(m)

    def _monitor_cancel(self, conn: OFConn, msg: M.Msg) -> None:
        mid = MON.decode_flow_monitor_cancel(msg)
        if mid not in conn.monitors:
            raise OFError("OFPMOFC_UNKNOWN_MONITOR")
        del conn.monitors[mid]

    def _monitor_event(self, event: str, rule: Rule, origin: OFConn | None, xid: int,
                       reason: RemovedReason | None = None) -> None:
        kind, flag = _MONITOR_EVENTS[event]
        now = self.ofproto.tables.clock.now()
        for conn in self.conns:
            flags = 0
            for req in conn.monitors.values():
                if req.flags & flag and _monitor_selects(req, rule):
                    flags |= req.flags
            if not flags:
                continue
            if conn is origin:
                if not flags & MON.OFPFMF_ONLY_OWN:
                    continue
                if not flags & MON.OFPFMF_NO_ABBREV:
                    upd = MON.FlowUpdate(event=MON.OFPFME_ABBREV, xid=xid)
                    conn.send(MON.encode_flow_updates([upd], conn.version, 0))
                    continue
            code = 0 if reason is None else int(reason)
            conn.send(MON.encode_flow_updates([_update_of(rule, kind, flags, code, now)], conn.version, 0))

    # -- asynchronous messages ------------------------------------------------------------------------------------

    def _table_status(self, table_ids: set[int]) -> None:
        """Vacancy events (OpenFlow 1.4+ table status) for the tables a change touched."""
        for table_id in sorted(table_ids):
            status = TB.vacancy_status(self.ofproto.tables, table_id)
            if status is None:
                continue
            reason, desc = status
            for conn in self.conns:
                if conn.version >= 5 and conn.receives("TABLE_STATUS", reason):
                    body = struct.pack("!B7x", reason) + SW.pack_table_desc(desc)
                    conn.send(M.encode("OFPT14_TABLE_STATUS", conn.version, body))

    def _flow_removed(self, removed: Removed) -> None:
        # RemovedReason's numbers are OpenFlow's (ofp_flow_removed_reason).
        self._send_flow_removed(removed.rule, int(removed.reason))

    def _send_flow_removed(self, rule: Rule, reason: int) -> None:
        sec, nsec = _duration(self.ofproto.tables.clock.now() - rule.created)
        fr = PK.FlowRemoved(rule.match, rule.cookie, rule.priority, reason, rule.table_id, sec, nsec,
                            rule.idle_timeout, rule.hard_timeout, rule.n_packets, rule.n_bytes)
        for conn in self.conns:
            if conn.receives("FLOW_REMOVED", reason):
                conn.send(PK.encode_flow_removed(fr, conn.version, 0, nxm=conn.nxm))

    def _port_changed(self, reason: str, port: OFPort) -> None:
        ps = OP.PortStatus(_PORT_REASON[reason], _port_desc(port))
        for conn in self.conns:
            if conn.receives("PORT_STATUS", ps.reason):
                conn.send(OP.encode_port_status(ps, conn.version))

    def send_packet_in(self, pin: PK.PacketIn, controller_id: int = 0, miss: str | None = None) -> int:
        """Send a packet-in to every connection that wants it (and has ``controller_id``); returns how many.
        The switch buffers nothing, so, as Open vSwitch, it sends the whole packet whatever the action's
        ``max_len`` or ``miss_send_len`` say (OpenFlow 1.5 section 7.4.1: an unbuffered packet-in carries it
        all).

        ``miss`` says the packet missed the tables: ``explicit`` (a table-miss flow's controller action: reason
        ``action`` to OpenFlow 1.0-1.2 connections, ``no_match`` to 1.3+ ones, as Open vSwitch reports it) or
        ``implicit`` (no flow at all, which only OpenFlow 1.0-1.2 connections hear about: OpenFlow 1.3 drops
        such packets)."""
        n = 0
        for conn in self.conns:
            if conn.controller_id != controller_id:
                continue
            p = pin
            if miss == "explicit":
                p = replace(pin, reason=PK.OFPR_NO_MATCH if conn.version >= 4 else PK.OFPR_ACTION)
            elif miss == "implicit" and conn.version >= 4:
                continue
            if not conn.receives("PACKET_IN", p.reason):
                continue
            conn.send(PK.encode_packet_in(p, conn.packet_in_format, conn.version, 0))
            n += 1
        return n


_PORT_COUNTERS = frozenset({"rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_dropped", "tx_dropped",
                            "rx_errors", "tx_errors", "rx_frame_errors", "rx_over_errors", "rx_crc_errors",
                            "collisions"})


def _ignore(conn: OFConn, msg: M.Msg) -> None:
    pass


def _send_replies(conn: OFConn, encode: Callable[..., bytes], items: list[Any], xid: int) -> None:
    """Send ``items`` with ``encode(items, version, xid, flags)``, in as many multipart replies as the 64 kB limit
    of a message needs (every one but the last with ``REPLY_MORE``)."""
    def chunks(part: list[Any]) -> list[list[Any]]:
        try:
            encode(part, conn.version, xid, 0)
            return [part]
        except ValueError:
            if len(part) <= 1:
                raise
            half = len(part) // 2
            return chunks(part[:half]) + chunks(part[half:])
    parts = chunks(list(items))
    for i, part in enumerate(parts):
        conn.send(encode(part, conn.version, xid, M.OFPSF_REPLY_MORE if i < len(parts) - 1 else 0))


def _port_desc(p: OFPort) -> OP.PortDesc:
    return OP.PortDesc(p.port_no, int(p.hw_addr.replace(":", ""), 16), p.name, p.config, p.state, p.curr,
                       p.advertised, p.supported, p.peer, p.curr_speed, p.max_speed)


def _criteria(req: FS.FlowStatsRequest) -> RuleCriteria:
    return RuleCriteria(table_id=None if req.table_id == 0xFF else req.table_id, match=req.match,
                        cookie=req.cookie, cookie_mask=req.cookie_mask, out_port=req.out_port,
                        out_group=req.out_group)


def _duration(seconds: float) -> tuple[int, int]:
    """(sec, nsec) as Open vSwitch reports durations: its clock counts milliseconds."""
    ms = int(max(0.0, seconds) * 1000)
    return ms // 1000, ms % 1000 * 1_000_000


def _flow_stats_of(r: Rule, now: float) -> FS.FlowStats:
    sec, nsec = _duration(now - r.created)
    return FS.FlowStats(match=r.match, table_id=r.table_id, duration_sec=sec, duration_nsec=nsec,
                        priority=r.priority, idle_timeout=r.idle_timeout, hard_timeout=r.hard_timeout,
                        importance=r.importance, flags=r.flags, cookie=r.cookie, packet_count=r.n_packets,
                        byte_count=r.n_bytes, idle_age=int(r.idle_age(now)), hard_age=int(r.hard_age(now)),
                        actions=list(r.actions))


_MONITOR_EVENTS = {"added": (MON.OFPFME_ADDED, MON.OFPFMF_ADD), "modified": (MON.OFPFME_MODIFIED, MON.OFPFMF_MODIFY),
                   "deleted": (MON.OFPFME_REMOVED, MON.OFPFMF_REMOVED)}


def _monitor_selects(req: MON.FlowMonitorRequest, rule: Rule) -> bool:
    """Whether a flow monitor covers ``rule``: its table, a match at least as specific as the monitor's, and an
    output to its port or group (NONE and ANY: no filter)."""
    if req.table_id != 0xFF and rule.table_id != req.table_id:
        return False
    if not req.match.covers(rule.match):
        return False
    if req.out_port not in (V.OFPP_NONE, V.OFPP_ANY) and not actions_output_to_port(rule.actions, req.out_port):
        return False
    return req.out_group == OFPG_ANY or actions_output_to_group(rule.actions, req.out_group)


def _update_of(rule: Rule, event: int, flags: int, reason: int, now: float) -> MON.FlowUpdate:
    return MON.FlowUpdate(event=event, reason=reason, idle_timeout=rule.idle_timeout, hard_timeout=rule.hard_timeout,
                          table_id=rule.table_id, cookie=rule.cookie, priority=rule.priority, match=rule.match,
                          actions=list(rule.actions) if flags & MON.OFPFMF_INSTRUCTIONS else [])
