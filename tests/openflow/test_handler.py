"""The switch side of OpenFlow in process: ``ConnSet.receive`` with connections that record what they are sent.

The end-to-end comparisons with Open vSwitch are in tests/vswitchd; these cover what is easier to see from inside
(roles and async filtering, bundle atomicity, group and meter deletes removing flows, flow monitors) and fuzz the
handler: no message may make it fail internally.
"""

from __future__ import annotations

import logging
import struct
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch.flow.protocols import Proto
from pyvswitch.ofproto import flow_mod_text as FMT
from pyvswitch.ofproto import group as G
from pyvswitch.ofproto import meter as MT
from pyvswitch.ofproto.flow_mod import Command
from pyvswitch.ofproto.ofproto import OFPort, OFProto
from pyvswitch.openflow import ofp_bundle as OB
from pyvswitch.openflow import ofp_group as OG
from pyvswitch.openflow import ofp_meter as OMT
from pyvswitch.openflow import ofp_monitor as MON
from pyvswitch.openflow import ofp_msgs as M
from pyvswitch.openflow import ofp_switch as SW
from pyvswitch.openflow.handler import PRIMARY, SERVICE, ConnSet, OFConn
from pyvswitch.openflow.ofp_flow_mod import encode_flow_mod
from pyvswitch.util.clock import ManualClock


class Peer:
    def __init__(self, cs: ConnSet, name: str, kind: str = SERVICE, version: int = 4) -> None:
        self.sent: list[bytes] = []
        self.conn = OFConn(name, kind, version, self.sent.append)
        self.cs = cs
        cs.add(self.conn)

    def send(self, data: bytes) -> list[M.Msg]:
        self.sent.clear()
        self.cs.receive(self.conn, data)
        return [M.decode(m) for m in self.sent]

    def errors(self, data: bytes) -> list[str]:
        return [M.decode_error(m)[0] for m in self.send(data) if m.type == "ERROR"]


def flow(text: str, version: int = 4, xid: int = 1, command: Command = Command.ADD) -> bytes:
    proto = {1: Proto.OF10_NXM, 4: Proto.OF13_OXM, 5: Proto.OF14_OXM, 6: Proto.OF15_OXM}[version]
    return encode_flow_mod(FMT.parse_flow_mod(text, command).fm, proto, xid)


@pytest.fixture
def cs() -> ConnSet:
    op = OFProto("br0", 0xAA, ManualClock())
    op.set_ports([OFPort(1, "p1", "aa:55:aa:55:00:01"), OFPort(2, "p2", "aa:55:aa:55:00:02")])
    return ConnSet(op)


def role(r: int, gen: int, xid: int = 5) -> bytes:
    return SW.encode_role(SW.Role(r, gen), 4, xid)


def test_roles_one_master_and_slave_writes_refused(cs: ConnSet) -> None:
    a, b = Peer(cs, "a", PRIMARY), Peer(cs, "b", PRIMARY)
    assert SW.decode_role(a.send(role(SW.ROLE_MASTER, 1))[0]).role == SW.ROLE_MASTER
    assert b.errors(role(SW.ROLE_MASTER, 0)) == ["OFPRRFC_STALE"]
    b.send(role(SW.ROLE_MASTER, 2))
    assert a.conn.role == "slave" and b.conn.role == "master"
    assert a.errors(flow("actions=drop")) == ["OFPBRC_IS_SECONDARY"]
    assert b.errors(flow("actions=drop")) == []
    assert len(cs.ofproto.tables) == 1


def test_role_status_to_the_demoted_master_in_openflow_14(cs: ConnSet) -> None:
    a, b = Peer(cs, "a", PRIMARY, 5), Peer(cs, "b", PRIMARY, 5)
    a.send(SW.encode_role(SW.Role(SW.ROLE_MASTER, 1), 5, 1))
    # Role status is off by default (Open vSwitch's async config); turn it on for slaves.
    a.conn.async_config.slave["ROLE_STATUS"] = 0x7
    b.send(SW.encode_role(SW.Role(SW.ROLE_MASTER, 2), 5, 2))
    status = [m for m in a.sent if M.decode(m).type == "ROLE_STATUS"]
    assert len(status) == 1
    assert SW.decode_role_status(M.decode(status[0])).role == SW.ROLE_SLAVE


def test_async_messages_follow_role_and_kind(cs: ConnSet) -> None:
    svc = Peer(cs, "svc")
    ctl = Peer(cs, "ctl", PRIMARY)
    ctl.send(flow("priority=3,send_flow_rem,actions=drop"))
    ctl.sent.clear()
    svc.sent.clear()
    svc.send(flow("", xid=2, command=Command.DELETE))
    kinds = [M.decode(m).type for m in ctl.sent]
    assert kinds == ["FLOW_REMOVED"]          # A primary connection hears of the removal...
    assert all(M.decode(m).type != "FLOW_REMOVED" for m in svc.sent)   # ...a service one does not.


def test_bundle_commit_is_atomic(cs: ConnSet) -> None:
    p = Peer(cs, "p", version=5)
    ctrl = OB.BundleCtrl(7, OB.OFPBCT_OPEN_REQUEST)
    assert [m.type for m in p.send(OB.encode_bundle_ctrl(ctrl, 5, 1))] == ["BUNDLE_CONTROL"]
    for i, text in enumerate(["priority=1,actions=drop", "priority=2,actions=group:9"]):
        add = OB.BundleAdd(7, ctrl.flags, flow(text, 5, 10 + i))
        assert p.errors(OB.encode_bundle_add(add, 5)) == []
    assert len(cs.ofproto.tables) == 0       # Nothing happens before the commit.
    errs = p.errors(OB.encode_bundle_ctrl(OB.BundleCtrl(7, OB.OFPBCT_COMMIT_REQUEST), 5, 20))
    assert errs == ["OFPBAC_BAD_OUT_GROUP", "OFPBFC_MSG_FAILED"]
    assert len(cs.ofproto.tables) == 0
    assert p.errors(OB.encode_bundle_ctrl(OB.BundleCtrl(7, OB.OFPBCT_COMMIT_REQUEST), 5, 21)) == ["OFPBFC_BAD_ID"]


def test_deleting_a_group_or_meter_deletes_its_flows(cs: ConnSet) -> None:
    p = Peer(cs, "p")
    assert p.errors(OG.encode_group_mod(G.parse_group_mod("group_id=4,type=all,bucket=output:1",
                                                          G.GroupCommand.ADD), 4, 2)) == []
    assert p.errors(OMT.encode_meter_mod(MT.parse_meter_mod("meter=3,kbps,bands=type=drop,rate=10",
                                                            MT.MeterCommand.ADD), 4, 3)) == []
    p.send(flow("priority=5,actions=group:4"))
    p.send(flow("priority=6,actions=meter:3,output:2"))
    p.send(flow("priority=7,actions=output:1"))
    assert len(cs.ofproto.tables) == 3
    p.send(OG.encode_group_mod(G.parse_group_mod("group_id=4", G.GroupCommand.DELETE), 4, 4))
    p.send(OMT.encode_meter_mod(MT.parse_meter_mod("meter=3", MT.MeterCommand.DELETE), 4, 5))
    assert [r.priority for r in cs.ofproto.tables] == [7]


def test_flow_monitor_reports_others_changes_and_abbreviates_own(cs: ConnSet) -> None:
    watcher, changer = Peer(cs, "w", version=5), Peer(cs, "c", version=5)
    req = MON.FlowMonitorRequest(id=1)
    watcher.send(MON.encode_flow_monitor_request(req, 5, 3))
    changer.send(flow("priority=8,actions=drop", 5, 40))
    ups = [u for m in watcher.sent for u in MON.decode_flow_updates(M.decode(m))]
    assert [u.event for u in ups] == [MON.OFPFME_ADDED] and ups[0].priority == 8
    watcher.send(flow("priority=9,actions=drop", 5, 41))
    ups = [u for m in watcher.sent if M.decode(m).type == "FLOW_MONITOR_STATS_REPLY"
           for u in MON.decode_flow_updates(M.decode(m))]
    assert [(u.event, u.xid) for u in ups] == [(MON.OFPFME_ABBREV, 41)]


def test_port_mod_and_port_status(cs: ConnSet) -> None:
    svc = Peer(cs, "svc")
    svc.conn.miss_send_len = 128       # What `ovs-ofctl monitor` does to hear asynchronous messages.
    from pyvswitch.openflow import ofp_port as OP
    errs = svc.errors(OP.encode_port_mod(OP.PortMod(9, 0, 1, 1), 4, 2))
    assert errs == ["OFPPMFC_BAD_PORT"]
    out = svc.send(OP.encode_port_mod(OP.PortMod(1, 0xAA55AA550001, 1, 1), 4, 3))
    assert [m.type for m in out] == ["PORT_STATUS"]
    assert cs.ofproto.ports[1].config & 1


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(sorted(M.RAWS)), st.binary(max_size=96), st.sampled_from([1, 4, 5, 6]))
def test_fuzz_never_fails_internally(raw: str, body: bytes, version: int) -> None:
    info = M.RAWS[raw]
    if not info.lo <= version <= min(info.hi, M.MAX_VERSION):
        return
    op = OFProto("fz", 1, ManualClock())
    op.set_ports([OFPort(1, "p1", "aa:55:aa:55:00:01")])
    cs = ConnSet(op)
    sent: list[bytes] = []
    conn = OFConn("fz", PRIMARY, version, sent.append)
    cs.add(conn)
    try:
        data = M.encode(raw, version, body, 77)
    except ValueError:
        return
    logger = logging.getLogger("pyvswitch.ofconn")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        cs.receive(conn, data)
    finally:
        logger.removeHandler(handler)
    assert not [r for r in records if "internal error" in r.getMessage()], records
    for m in sent:
        assert struct.unpack_from("!H", m, 2)[0] == len(m)


def test_large_group_dumps_are_split(cs: ConnSet) -> None:
    p = Peer(cs, "p")
    buckets = ",".join(f"bucket=output:{i % 2 + 1}" for i in range(40))
    for gid in range(1, 200):
        assert p.errors(OG.encode_group_mod(G.parse_group_mod(f"group_id={gid},type=all,{buckets}",
                                                              G.GroupCommand.ADD), 4, gid)) == []
    replies = p.send(OG.encode_group_desc_request(OG.GroupDescRequest(), 4, 7))
    assert len(replies) > 1
    assert [m.flags for m in replies] == [M.OFPSF_REPLY_MORE] * (len(replies) - 1) + [0]
    assert sum(len(OG.decode_group_desc_reply(m)) for m in replies) == 199


def test_vacancy_events_as_table_status(cs: ConnSet) -> None:
    """A table limited to 10 flows with vacancy events at 20%/80%: filling it past the down threshold sends a
    VACANCY_DOWN table status to a connection that asked for them (async config), once."""
    cs.ofproto.tables.configure(0, flow_limit=10)
    p = Peer(cs, "p", PRIMARY, 5)
    p.conn.async_config.master["TABLE_STATUS"] = 0x18
    tm = SW.TableMod(0, SW.TC_VACANCY_EVENTS, vacancy=(20, 80))
    assert p.errors(SW.encode_table_mod(tm, 5, 2)) == []
    statuses = []
    for i in range(9):
        out = p.send(flow(f"priority={i + 1},actions=drop", 5, 10 + i))
        statuses += [m for m in out if m.type == "TABLE_STATUS"]
    assert len(statuses) == 1
    text = subprocess.run(["ovs-ofctl", "ofp-print", statuses[0].data.hex()], capture_output=True, text=True,
                          check=True).stdout
    assert "reason=VACANCY_DOWN" in text and "vacancy=10%" in text, text


def test_port_down_follows_the_device_unless_a_port_mod_set_it(cs: ConnSet) -> None:
    op = cs.ofproto
    op.set_ports([OFPort(1, "p1", "aa:55:aa:55:00:01", config=1), OFPort(2, "p2", "aa:55:aa:55:00:02")])
    assert op.ports[1].config & 1
    op.set_ports([OFPort(1, "p1", "aa:55:aa:55:00:01"), OFPort(2, "p2", "aa:55:aa:55:00:02")])
    assert not op.ports[1].config & 1          # The device came back up.
    op.mod_port(2, None, 1 | 0x10, 1 | 0x10)   # Port-mod: down and no-flood.
    op.set_ports([OFPort(1, "p1", "aa:55:aa:55:00:01"), OFPort(2, "p2", "aa:55:aa:55:00:02")])
    assert op.ports[2].config == 1 | 0x10
    op.mod_port(2, None, 0, 1)
    assert op.ports[2].config == 0x10
