"""Translation (pyvswitch.ofproto.xlate) and its trace (pyvswitch.ofproto.trace) against Open vSwitch 3.1.

``tests/data/ofproto/xlate_cases.json`` holds ``ovs-appctl ofproto/trace br0 FLOW`` transcripts of a real
ovs-vswitchd (dummy datapath, bridge br0, ports p1..p3 as OpenFlow ports 1..3), one case per set of flows,
recorded by ``tests/data/ofproto/xlate_capture.py`` next to it.  The ``learn*`` cases were traced with
``-generate`` (side effects on), in order, on one bridge.  Each case's flows are parsed as ovs-ofctl
parses them, and their actions are sent through the OpenFlow codec in the version ovs-ofctl used (recorded by the
capture): the trace prints the actions as the switch stored them (``mod_nw_ttl`` added in OpenFlow 1.0 is an
NXM ``load``, a group's ``mod_nw_dst`` in OpenFlow 1.5 a ``set_field``).

Every trace must equal Open vSwitch's text, with one normalization: the ``recirc_id=N`` inside a controller
action's userspace cookie (a number the switch allocates per translation) is replaced by ``recirc_id=X`` on
both sides.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from pyvswitch.dpif import odp
from pyvswitch.flow import fields as F
from pyvswitch.flow.match_text import parse_match
from pyvswitch.ofproto.actions import parse_actions
from pyvswitch.ofproto.flow_mod import FlowMod
from pyvswitch.ofproto.flow_mod_text import parse_flow_mod
from pyvswitch.ofproto.group import GroupCommand, GroupMod, parse_group_mod
from pyvswitch.ofproto.mac_learning import MacLearning
from pyvswitch.ofproto.normal import PortVlanConfig
from pyvswitch.ofproto.ofproto import OFPort, OFProto
from pyvswitch.ofproto.trace import format_trace
from pyvswitch.ofproto.xlate import MAX_DEPTH, Trace, XlateBridge, translate
from pyvswitch.openflow import ofp_actions

DATA = Path(__file__).resolve().parent.parent / "data" / "ofproto" / "xlate_cases.json"
CASES: dict[str, Any] = json.loads(DATA.read_text())
LOCAL = 65534
VERSIONS = {"OpenFlow10": 1, "OpenFlow15": 6}


def _roundtrip(fm: FlowMod, version: int) -> FlowMod:
    if version == 1:
        data = ofp_actions.encode_actions(fm.actions, 1, fm.match)
        fm.actions = ofp_actions.decode_actions(data, 1)
    else:
        data = ofp_actions.encode_instructions(fm.actions, version, fm.match)
        fm.actions = ofp_actions.decode_instructions(data, version)
    return fm


def make_bridge(flows: list[str], versions: list[str] | None = None, groups: Sequence[str] = ()) -> XlateBridge:
    ofp = OFProto("br0")
    ofp.set_ports([OFPort(LOCAL, "br0", "00:00:00:00:00:00")]
                  + [OFPort(i, f"p{i}", f"00:00:00:00:00:0{i}") for i in range(1, 4)])
    for g in groups:
        gm = parse_group_mod(g, GroupCommand.ADD)
        buckets = tuple(type(b)(tuple(ofp_actions.decode_actions(ofp_actions.encode_actions(b.actions, 6), 6)),
                                b.weight, b.watch_port, b.watch_group, b.bucket_id) for b in gm.buckets)
        ofp.groups.apply(GroupMod(gm.command, gm.group_id, gm.type, buckets, gm.props))
    fms = []
    for i, text in enumerate(flows):
        fm = parse_flow_mod(text).fm
        if versions is not None:
            fm = _roundtrip(fm, VERSIONS[versions[i]])
        fms.append(fm)
    ofp.tables.apply(fms)
    dp_ports = {int(k): v for k, v in CASES["dp_ports"].items()}
    dp_ports = {LOCAL: dp_ports[LOCAL], 1: dp_ports[1], 2: dp_ports[2], 3: dp_ports[3]}
    vlan_ports = {LOCAL: PortVlanConfig("br0", LOCAL)} | {i: PortVlanConfig(f"p{i}", i) for i in range(1, 4)}
    return XlateBridge(ofp, dp_ports, vlan_ports, MacLearning())


def run_trace(bridge: XlateBridge, flow: str, side_effects: bool = False) -> str:
    key = parse_match(flow).match.value
    tr = Trace()
    res = translate(bridge, key, side_effects=side_effects, trace=tr, now=0.0)
    return format_trace("br0", key, res, tr)


def _norm(text: str) -> str:
    return re.sub(r"recirc_id=\d+,rule_cookie", "recirc_id=X,rule_cookie", text)


def _lines(text: str, prefix: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(prefix))



ALL = [(c, i) for c in CASES["cases"] if not c["name"].startswith("learn") for i in range(len(c["traces"]))]
LEARN = [c for c in CASES["cases"] if c["name"].startswith("learn")]


@pytest.mark.parametrize(("case", "i"), ALL, ids=[f"{c['name']}-{i}" for c, i in ALL])
def test_trace_against_ovs(case: dict[str, Any], i: int) -> None:
    t = case["traces"][i]
    assert t["rc"] == 0
    bridge = make_bridge(case["flows"], case["versions"], case["groups"])
    ours = _norm(run_trace(bridge, t["flow"]))
    theirs = _norm(t["output"])
    assert _lines(ours, "Datapath actions:") == _lines(theirs, "Datapath actions:")
    assert _lines(ours, "Megaflow:") == _lines(theirs, "Megaflow:")
    assert ours == theirs


@pytest.mark.parametrize("case", LEARN, ids=[c["name"] for c in LEARN])
def test_learning_sequence_against_ovs(case: dict[str, Any]) -> None:
    """``ofproto/trace -generate`` translates with side effects: NORMAL learns from each trace in turn."""
    bridge = make_bridge(case["flows"], case["versions"], case["groups"])
    for t in case["traces"]:
        assert _norm(run_trace(bridge, t["flow"], side_effects=True)) == _norm(t["output"])


def test_cases_cover_the_actions() -> None:
    """The captured cases exercise every action family translation supports."""
    text = " ".join(f for c in CASES["cases"] for f in c["flows"] + c["groups"])
    for word in ("output:", "in_port", "ALL", "FLOOD", "LOCAL", "NORMAL", "CONTROLLER", "controller(", "drop",
                 "mod_dl_src", "mod_nw_src", "mod_nw_tos", "mod_nw_ecn", "mod_nw_ttl", "mod_tp_src", "set_field",
                 "load:", "move:", "dec_ttl", "push_vlan", "mod_vlan_vid", "mod_vlan_pcp", "strip_vlan",
                 "pop_vlan", "resubmit(", "resubmit:", "goto_table", "write_metadata", "clone(", "note:", "exit",
                 "write_actions", "clear_actions", "group:", "type=all", "type=indirect"):
        assert word in text, word
    assert sum(len(c["traces"]) for c in CASES["cases"]) >= 80


# ---------------------------------------------------------------------------------------------------------------
# Results beyond the trace text.
IP = "in_port=1,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02,ip,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64"


def _key(flow: str = IP) -> int:
    return parse_match(flow).match.value


def test_trace_is_optional_and_changes_nothing() -> None:
    bridge = make_bridge(["actions=mod_dl_src:00:00:00:00:00:aa,resubmit(,1),output:3",
                          "table=1,actions=load:0x1->NXM_NX_REG0[],output:2"])
    a = translate(bridge, _key(), side_effects=False)
    b = translate(bridge, _key(), side_effects=False, trace=Trace())
    assert a.actions == b.actions and a.wc.mask == b.wc.mask
    assert odp.format_actions(a.actions) == "set(eth(src=00:00:00:00:00:aa)),2,3"


def test_rules_hit_and_packet_ins() -> None:
    bridge = make_bridge([("cookie=0x12,actions=resubmit(,3),controller(reason=no_match,max_len=99,id=7,"
                          "userdata=aa.bb)"), "table=3,cookie=0x34,actions=CONTROLLER:100"])
    res = translate(bridge, _key(), side_effects=False)
    assert [(r.table_id, r.cookie) for r in res.rules_hit] == [(0, 0x12), (3, 0x34)]
    assert [(p.reason, p.max_len, p.controller_id, p.userdata, p.table_id, p.cookie) for p in res.packet_ins] == [
        ("action", 100, 0, b"", 3, 0x34), ("no_match", 99, 7, b"\xaa\xbb", 0, 0x12)]
    assert res.slow_path == "controller"
    assert all(isinstance(a, odp.Userspace) for a in res.actions) and len(res.actions) == 2
    assert "rule_cookie=0x34" in odp.format_actions(res.actions)


def test_dec_ttl_exception_stops_the_list_and_sends_a_packet_in() -> None:
    bridge = make_bridge(["ip,actions=dec_ttl(4,5),output:2"])
    res = translate(bridge, _key(IP.replace("nw_ttl=64", "nw_ttl=1")), side_effects=False)
    assert [(p.reason, p.controller_id) for p in res.packet_ins] == [("invalid_ttl", 4), ("invalid_ttl", 5)]
    assert not any(isinstance(a, odp.Output) for a in res.actions)


def test_side_effects_gate_mac_learning() -> None:
    bridge = make_bridge(["actions=NORMAL"])
    res = translate(bridge, _key(), side_effects=False)
    assert res.learned == [] and len(bridge.mac_table) == 0
    res = translate(bridge, _key(), side_effects=True)
    assert res.learned == [(0, 0x000000000001, 1)] and len(bridge.mac_table) == 1
    # Now the reverse direction is forwarded to the learned port only.
    back = "in_port=2,dl_src=00:00:00:00:00:02,dl_dst=00:00:00:00:00:01,ip,nw_src=10.0.0.2,nw_dst=10.0.0.1"
    tr = Trace()
    res = translate(bridge, _key(back), side_effects=False, trace=tr)
    assert odp.format_actions(res.actions) == "1"
    assert "-> forwarding to learned port" in format_trace("br0", _key(back), res, tr)


def test_side_effects_gate_table_counters() -> None:
    bridge = make_bridge(["actions=output:2"])
    t0 = bridge.ofproto.tables.table(0)
    translate(bridge, _key(), side_effects=False)
    assert t0.n_lookups == 0
    translate(bridge, _key(), side_effects=True)
    assert t0.n_lookups == 1 and t0.n_matched == 1


def test_pipeline_fields_stay_out_of_the_megaflow() -> None:
    bridge = make_bridge(["actions=load:0x5->NXM_NX_REG3[],write_metadata:0x9,goto_table:1",
                          "table=1,reg3=0x5,metadata=0x9,actions=output:2"])
    res = translate(bridge, _key(), side_effects=False)
    assert odp.format_actions(res.actions) == "2"
    regs = F.STORAGE["regs"]
    assert res.wc.mask >> regs[0] & ((1 << regs[1]) - 1) == 0
    assert F.get(res.wc.mask, F.BY_NAME["metadata"]) == 0
    assert F.get(res.final_key, F.BY_NAME["reg3"]) == 5


def test_recursion_limit_drops_the_packet() -> None:
    bridge = make_bridge(["actions=output:2,resubmit(,0)"])
    res = translate(bridge, _key(), side_effects=False)
    assert res.error == "Recursion too deep" and res.actions == []
    assert len(res.rules_hit) == MAX_DEPTH + 1


def test_resubmit_limit() -> None:
    # 70 x 70 resubmits to later tables never deepen, but exceed 4096 in all.
    bridge = make_bridge(["actions=" + ",".join(["resubmit(,1)"] * 70), "table=1,actions="
                          + ",".join(["resubmit(,2)"] * 70), "table=2,actions=output:2"])
    res = translate(bridge, _key(), side_effects=False)
    assert res.error is not None and res.actions == []


def test_resubmit_restores_in_port_and_clone_restores_the_flow() -> None:
    bridge = make_bridge(["in_port=1,actions=clone(mod_dl_dst:00:00:00:00:00:99,resubmit(3)),output:2",
                          "in_port=3,actions=output:1"])
    res = translate(bridge, _key(), side_effects=False)
    # Inside the resubmit the packet still came from port 1: output:1 is an output to the input port.
    assert odp.format_actions(res.actions) == "2"
    assert res.final_key == _key()


def test_exit_stops_the_callers_too() -> None:
    bridge = make_bridge(["actions=output:2,resubmit(,1),output:3", "table=1,actions=LOCAL,exit,output:3"])
    res = translate(bridge, _key(), side_effects=False)
    assert odp.format_actions(res.actions) == "2,100"


def test_output_to_in_port_needs_in_port() -> None:
    bridge = make_bridge(["actions=output:1,IN_PORT"])
    assert odp.format_actions(translate(bridge, _key(), side_effects=False).actions) == "1"


def test_action_set_runs_at_the_end_and_group_replaces_output() -> None:
    bridge = make_bridge(["actions=write_actions(output:2,group:1,mod_dl_dst:00:00:00:00:00:07),goto_table:1",
                          "table=1,actions=output:3"],
                         groups=["group_id=1,type=indirect,bucket=output:1,LOCAL"])
    res = translate(bridge, _key(), side_effects=False)
    # Table 1's output comes first; the action set then sets dl_dst and runs the group instead of output:2.
    assert odp.format_actions(res.actions) == "3,set(eth(dst=00:00:00:00:00:07)),100"


def test_actions_not_translated_are_reported() -> None:
    bridge = make_bridge(["ip,actions=encap(nsh),output:2"])
    res = translate(bridge, _key(), side_effects=False)
    assert res.unsupported == ["encap(nsh)"]
    assert odp.format_actions(res.actions) == "2"


def test_parsed_actions_round_trip_helper() -> None:
    assert parse_actions("output:2")[0].fmt() == "output:2"
