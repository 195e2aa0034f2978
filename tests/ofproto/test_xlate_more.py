"""Translation beyond the basics against Open vSwitch 3.1: recirculation (conntrack, select groups), controller
packet-ins, patch ports, MPLS, queues, meters, truncation, check_pkt_larger, sample, learn, multipath, bundle.

``tests/data/ofproto/xlate_more_cases.json`` holds a real ovs-vswitchd's answers (dummy datapath), recorded by
``tests/data/ofproto/xlate_more_capture.py`` next to it: two bridges, br0 (p1..p3 = OpenFlow 1..3, patch0 =
10) and br1 (q1 = 1, patch1 = 20), joined by the patch ports.  For each case: the full ``ofproto/trace br0``
text of some flows, and for injected packets the datapath flows installed (``dpctl/dump-flows``) and the traces
of the recirculated flows.

Recirculation ids are numbers each switch allocates in its own way (Open vSwitch's trace allocates fresh ones
every time); both sides' texts have them renamed in order of appearance (``R1``, ``R2``...) before comparing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pyvswitch.dpif import odp
from pyvswitch.flow import fields as F
from pyvswitch.flow.match_text import parse_match
from pyvswitch.ofproto.flow_mod_text import parse_flow_mod
from pyvswitch.ofproto.group import GroupCommand, GroupMod, parse_group_mod
from pyvswitch.ofproto.mac_learning import MacLearning
from pyvswitch.ofproto.meter import MeterCommand, parse_meter_mod
from pyvswitch.ofproto.normal import PortVlanConfig
from pyvswitch.ofproto.ofproto import OFPort, OFProto
from pyvswitch.ofproto.recirc import FrozenState, RecircTable, recirc_ids_of
from pyvswitch.ofproto.trace import trace_packet
from pyvswitch.ofproto.xlate import Trace, XlateBridge, packet_in_from_cookie, translate
from pyvswitch.openflow import ofp_actions

DATA = Path(__file__).resolve().parent.parent / "data" / "ofproto" / "xlate_more_cases.json"
CASES: dict[str, Any] = json.loads(DATA.read_text())
BY_NAME = {c["name"]: c for c in CASES["cases"]}
LOCAL = 65534
VERSIONS = {"OpenFlow10": 1, "OpenFlow15": 6}


def _flow_mods(flows: list[str], versions: list[str]) -> list[Any]:
    fms = []
    for text, v in zip(flows, versions):
        fm = parse_flow_mod(text).fm
        ver = VERSIONS[v]
        if ver == 1:
            fm.actions = ofp_actions.decode_actions(ofp_actions.encode_actions(fm.actions, 1, fm.match), 1)
        else:
            fm.actions = ofp_actions.decode_instructions(ofp_actions.encode_instructions(fm.actions, ver, fm.match),
                                                         ver)
        fms.append(fm)
    return fms


def _vlan_config(case: dict[str, Any], name: str, ofport: int) -> PortVlanConfig:
    cfg = case.get("vlan", {}).get(name, {})
    tag = case.get("tags", {}).get(name, cfg.get("tag"))
    trunks = frozenset(int(v) for v in cfg["trunks"].split(",")) if "trunks" in cfg else frozenset()
    return PortVlanConfig(name, ofport, tag=None if tag is None else int(tag), trunks=trunks,
                          vlan_mode=cfg.get("vlan_mode"))


def make_bridges(case: dict[str, Any]) -> tuple[XlateBridge, XlateBridge]:
    """br0 and br1 of the capture, joined by their patch ports, sharing one recirculation table."""
    dp = {b: {int(k): v for k, v in ports.items()} for b, ports in CASES["dp_ports"].items()}
    table = RecircTable()
    bridges: dict[str, XlateBridge] = {}
    specs = {"br0": ([(i, f"p{i}") for i in (1, 2, 3)] + [(10, "patch0")], case["flows"], case["versions"],
                     {10: ("br1", 20)}),
             "br1": ([(1, "q1"), (20, "patch1")], case["flows1"], case["versions1"], {20: ("br0", 10)})}
    for name, (ports, flows, versions, peers) in specs.items():
        ofp = OFProto(name)
        ofp.set_ports([OFPort(LOCAL, name, "00:00:00:00:00:00")]
                      + [OFPort(n, pname, f"00:00:00:00:01:{n:02x}") for n, pname in ports])
        if name == "br0":
            for m in case["meters"]:
                ofp.meters.apply(parse_meter_mod(m, MeterCommand.ADD))
            for g in case["groups"]:
                gm = parse_group_mod(g, GroupCommand.ADD)
                buckets = tuple(type(b)(tuple(ofp_actions.decode_actions(ofp_actions.encode_actions(b.actions, 6),
                                                                         6)),
                                        b.weight, b.watch_port, b.watch_group, b.bucket_id) for b in gm.buckets)
                ofp.groups.apply(GroupMod(gm.command, gm.group_id, gm.type, buckets, gm.props))
        ofp.tables.apply(_flow_mods(flows, versions))
        dp_ports = {p: dp[name][p] for p in [LOCAL] + [n for n, _ in ports] if dp[name].get(p) is not None}
        vlan_ports = {LOCAL: PortVlanConfig(name, LOCAL)} | {n: _vlan_config(case, pn, n) for n, pn in ports}
        bridges[name] = XlateBridge(ofp, dp_ports, vlan_ports, MacLearning(), recirc=table, patch_peers=peers,
                                    bridges=lambda n: bridges.get(n), miss_to_controller=case.get("monitor", False))
    return bridges["br0"], bridges["br1"]


_ID_PATTERNS = re.compile(r"recirc\((0x[0-9a-f]+)\)|recirc_id=(0x[0-9a-f]+|\d+)|recirc_id\((0x[0-9a-f]+)\)|"
                          r"context not found for ID ([0-9a-f]+)")


def normalize(text: str) -> str:
    """``text`` with its non-zero recirculation ids renamed R1, R2... in order of first appearance."""
    names: dict[int, str] = {}

    def sub(m: re.Match[str]) -> str:
        i = next(g for g in range(1, 5) if m.group(g) is not None)
        raw = m.group(i)
        value = int(raw, 16) if i == 4 else int(raw, 0)
        if not value:
            return m.group(0)
        name = names.setdefault(value, f"R{len(names) + 1}")
        s, e = m.span(i)
        return m.group(0)[:s - m.start()] + name + m.group(0)[e - m.start():]
    return _ID_PATTERNS.sub(sub, text)


def _line(text: str, prefix: str) -> str:
    return next((line for line in text.splitlines() if line.startswith(prefix)), "")


def _key(flow: str) -> int:
    return parse_match(flow).match.value


TRACES = [(c, i) for c in CASES["cases"] for i in range(len(c["traces"]))]


@pytest.mark.parametrize(("case", "i"), TRACES, ids=[f"{c['name']}-{i}" for c, i in TRACES])
def test_trace_against_ovs(case: dict[str, Any], i: int) -> None:
    t = case["traces"][i]
    assert t["rc"] == 0, t["output"]
    br0, _ = make_bridges(case)
    if case["generate"]:
        # -generate traces ran in order on one switch, each learning from the ones before.
        for before in case["traces"][:i]:
            trace_packet(br0, _key(before["flow"]), side_effects=True, now=0.0)
    ours = normalize(trace_packet(br0, _key(t["flow"]), side_effects=case["generate"], now=0.0))
    theirs = normalize(t["output"])
    for prefix in ("Datapath actions:", "Megaflow:", "Final flow:"):
        assert _line(ours, prefix) == _line(theirs, prefix)
    assert ours == theirs


PACKETS = [(c, i) for c in CASES["cases"] for i in range(len(c["packets"]))]


def _dp_actions(line: str) -> str:
    return line.split(", actions:", 1)[1]


@pytest.mark.parametrize(("case", "i"), PACKETS, ids=[f"{c['name']}-{i}" for c, i in PACKETS])
def test_installed_flows_against_ovs(case: dict[str, Any], i: int) -> None:
    """What the upcall installs (side effects on) is what Open vSwitch installed; the revalidator's translation
    (side effects off, no trace) gives the same actions; a recirculated packet resumes the frozen state."""
    p = case["packets"][i]
    br0, _ = make_bridges(case)
    first = next(f for f in p["dp_flows"] if f.startswith("recirc_id(0),"))
    assert len(p["dp_flows"]) == 1 + len(p["resumed"])
    key = _key(p["flow"])
    up = translate(br0, key, side_effects=True, now=0.0)
    reval = translate(br0, key, side_effects=False, now=0.0)
    assert reval.actions == up.actions and reval.wc.mask == up.wc.mask
    ours = odp.format_actions(up.actions)
    assert normalize(ours) == normalize(_dp_actions(first))
    # The match: the packet's datapath key (in_port 1 is datapath port 1 here) under the megaflow mask.
    dp_key = F.storage_put(key, "packet_type", 0)
    match = odp.format_flow(dp_key, up.wc.mask | F.storage_mask("in_port") | F.storage_mask("recirc_id")
                            | F.storage_mask("packet_type"))
    assert match == first.split(", actions:")[0]
    for r in p["resumed"]:
        assert r["rc"] == 0
        theirs_id = int(re.match(r"recirc_id=(0x[0-9a-f]+)", r["flow"]).group(1), 0)
        ours_ids = recirc_ids_of(up.actions)
        assert len(ours_ids) == 1
        flow2 = r["flow"].replace(f"recirc_id={theirs_id:#x}", f"recirc_id={next(iter(ours_ids)):#x}")
        text = trace_packet(br0, _key(flow2), now=0.0)
        # Ids are renamed in each text on its own: the resumed trace names the resumed id R1 on both sides.
        assert normalize(text) == normalize(r["output"])
        installed = next(f for f in p["dp_flows"] if f.startswith(f"recirc_id({theirs_id:#x})"))
        assert _line(text, "Datapath actions:") == "Datapath actions: " + _dp_actions(installed)
        k2 = _key(flow2)
        res2 = translate(br0, k2, side_effects=True, now=0.0)
        match = odp.format_flow(k2, res2.wc.mask | F.storage_mask("in_port") | F.storage_mask("packet_type"))
        assert normalize(match) == normalize(installed.split(", actions:")[0])
        # Every dp_hash slot of the group (dp_hash 0 hashes again, into the same frozen state).
        for sw in r["sweep"]:
            k = F.storage_put(F.storage_put(_key(r["base"]), "recirc_id", next(iter(ours_ids))), "dp_hash",
                              sw["dp_hash"])
            got = trace_packet(br0, k, now=0.0).splitlines()
            ours_lines = [normalize(x).replace("R1", "R") for x in got if x.startswith(("Megaflow:", "Datapath"))]
            assert ours_lines == [normalize(x).replace("R1", "R") for x in sw["lines"]], sw["dp_hash"]


def test_cases_cover_the_actions() -> None:
    text = " ".join(f for c in CASES["cases"] for f in c["flows"] + c["flows1"] + c["groups"])
    for word in ("controller", "output:10", "ct(", "nat", "ct_clear", "exec(", "alg=", "type=select",
                 "selection_method=hash", "push_mpls", "pop_mpls", "set_mpls_label", "set_mpls_tc", "set_mpls_ttl",
                 "dec_mpls_ttl", "set_queue", "pop_queue", "enqueue", "max_len", "meter:", "sample(",
                 "check_pkt_larger", "fin_timeout", "conjunction", "learn(", "multipath(", "bundle(",
                 "bundle_load("):
        assert word in text, word
    assert len(TRACES) >= 50 and len(PACKETS) >= 5


# ---------------------------------------------------------------------------------------------------------------
# The recirculation table and the frozen states behind the ids.
TCP = ("in_port=1,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,"
       "nw_ttl=64,tp_src=1000,tp_dst=80")


def test_recirc_table_dedups_and_retains() -> None:
    t = RecircTable()
    a = t.alloc(FrozenState("br0", 1, 5))
    assert t.alloc(FrozenState("br0", 1, 5)) == a
    b = t.alloc(FrozenState("br0", 2, 5))
    assert a != b and len(t) == 2 and t.get(a) == FrozenState("br0", 1, 5) and t.get(99) is None
    # Ids allocated since the last retain survive one round even when nobody names them.
    assert t.retain([]) == 0 and len(t) == 2
    assert t.retain([b]) == 1 and t.get(a) is None and t.get(b) is not None
    assert t.retain([]) == 1 and len(t) == 0
    # A dropped state gets a new id when it comes back.
    assert t.alloc(FrozenState("br0", 1, 5)) not in (a, b)
    # A state that cannot be hashed still gets an id (a new one each time), and is forgotten like the others.
    odd = FrozenState("br0", actions=([1],))
    c, d = t.alloc(odd), t.alloc(odd)
    assert c != d and t.get(c) is odd
    t.retain([])
    assert t.retain([]) == 3 and len(t) == 0


def test_recirc_ids_of_nested_actions() -> None:
    acts = odp.parse_actions("1,check_pkt_len(size=100,gt(recirc(0x5)),le(clone(recirc(0x7)),2)),"
                             "userspace(pid=0,controller(reason=1,dont_send=0,continuation=0,recirc_id=9,"
                             "rule_cookie=0,controller_id=0,max_len=65535)),sample(sample=50.0%,actions(recirc(0xa)))")
    assert recirc_ids_of(acts) == {5, 7, 9, 10}


def test_controller_packet_in_is_in_the_frozen_state() -> None:
    case = BY_NAME["controller_pkt"]
    br0, _ = make_bridges(case)
    key = _key(TCP)
    res = translate(br0, key, side_effects=True, now=0.0)
    (rid,) = recirc_ids_of(res.actions)
    (cookie,) = [a.userdata for a in res.actions if isinstance(a, odp.Userspace)]
    assert "dont_send=0" in cookie
    bridge, pin = packet_in_from_cookie(br0.recirc, cookie)
    assert bridge == "br0" and pin == res.packet_ins[0]
    assert (pin.reason, pin.max_len, pin.controller_id, pin.table_id) == ("action", 0xFFFF, 0, 0)
    assert F.get(pin.key, F.BY_NAME["reg3"]) == 7
    # A trace without -generate says dont_send=1 and names the same state.
    tr = translate(br0, key, side_effects=False, trace=Trace(), now=0.0)
    assert "dont_send=1" in odp.format_actions(tr.actions) and recirc_ids_of(tr.actions) == {rid}
    assert packet_in_from_cookie(br0.recirc, "slow_path(action)") is None
    assert packet_in_from_cookie(RecircTable(), cookie) is None


def test_controllers_differing_in_the_cookie_share_the_state() -> None:
    """dec_ttl(1,2): two packet-ins, one frozen state (Open vSwitch too), told apart by their cookies."""
    case = BY_NAME["dec_ttl_invalid"]
    br0, _ = make_bridges(case)
    res = translate(br0, _key(case["traces"][0]["flow"]), side_effects=True, now=0.0)
    cookies = [a.userdata for a in res.actions if isinstance(a, odp.Userspace)]
    assert len(recirc_ids_of(res.actions)) == 1 and len(br0.recirc) == 1
    pins = [packet_in_from_cookie(br0.recirc, c)[1] for c in cookies]
    assert [(p.reason, p.controller_id) for p in pins] == [("invalid_ttl", 1), ("invalid_ttl", 2)]
    assert pins == res.packet_ins


def test_packets_differing_in_headers_share_the_frozen_state() -> None:
    """The state keeps the pipeline fields only: one recirculation id (and one datapath flow after it) for
    every packet of the megaflow that froze it."""
    br0, _ = make_bridges(BY_NAME["select_default"])
    a = translate(br0, _key(TCP), side_effects=True, now=0.0)
    b = translate(br0, _key(TCP.replace("tp_src=1000", "tp_src=7").replace("10.0.0.1", "10.0.0.77")),
                  side_effects=True, now=0.0)
    assert a.actions == b.actions and a.wc.mask == b.wc.mask and len(br0.recirc) == 1


def test_groups_and_learning_are_reported_per_bridge() -> None:
    br0, _ = make_bridges(BY_NAME["select_hash"])
    res = translate(br0, _key(TCP), side_effects=False, now=0.0)
    assert res.groups_hit == [(1, (1,))]
    br0, br1 = make_bridges(BY_NAME["patch_normal"])
    res = translate(br0, _key(TCP), side_effects=True, now=0.0)
    assert res.learned_in == ["br0", "br1"] and [e[2] for e in res.learned] == [1, 20]
    assert len(br0.mac_table) == 1 and len(br1.mac_table) == 1
    # Without side effects nothing is learned, in either bridge.
    br0, br1 = make_bridges(BY_NAME["patch_normal"])
    res = translate(br0, _key(TCP), side_effects=False, now=0.0)
    assert len(br0.mac_table) == 0 and len(br1.mac_table) == 0


def test_unknown_recirc_id_fails_cleanly() -> None:
    br0, _ = make_bridges(BY_NAME["ct_commit_table"])
    res = translate(br0, F.storage_put(_key(TCP), "recirc_id", 0x99), side_effects=False, now=0.0)
    assert res.actions == [] and res.error == "No recirculation context"


def test_state_frozen_in_a_peer_bridge_resumes_there() -> None:
    case = dict(BY_NAME["patch_simple"])
    case["flows1"] = ["in_port=20,ip,actions=ct(table=3)", "table=3,actions=output:1"]
    case["versions1"] = ["OpenFlow10", "OpenFlow10"]
    br0, _br1 = make_bridges(case)
    res = translate(br0, _key(TCP), side_effects=False, now=0.0)
    (rid,) = recirc_ids_of(res.actions)
    assert br0.recirc.get(rid).bridge == "br1" and F.get(br0.recirc.get(rid).key, F.BY_NAME["in_port"]) == 20
    back = translate(br0, F.storage_put(_key(TCP), "recirc_id", rid), side_effects=False, now=0.0)
    assert back.bridge_name == "br1" and odp.format_actions(back.actions) == "4"


def test_bad_references_never_raise() -> None:
    case = dict(BY_NAME["patch_simple"])
    br0, _ = make_bridges(case)
    br0.bridges = lambda n: None
    res = translate(br0, _key(TCP), side_effects=False, now=0.0)
    assert res.actions == [] and res.error is None
    br0, _ = make_bridges(BY_NAME["meter"])
    br0.ofproto.meters = type("NoMeters", (), {})()
    assert odp.format_actions(translate(br0, _key(TCP), side_effects=False, now=0.0).actions) == "2"
