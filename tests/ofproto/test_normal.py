"""NORMAL (pyvswitch.ofproto.normal) against Open vSwitch 3.1.

``tests/data/ofproto/normal_cases.json`` holds ``ofproto/trace -generate`` transcripts of a real ovs-vswitchd
(dummy datapath, bridge br0, ports p1..p5 in several VLAN configurations, flow ``actions=NORMAL``), recorded
by ``tests/data/ofproto/capture_normal_cases.py`` next to it.  Each trace is replayed through ``normal`` with
learning on (``-generate`` translates with side effects, so the real bridge learned as it went) and must give
the same "Datapath actions:" line, the same "Megaflow:" line, and after each phase the same ``fdb/show``
entries (ports, VLANs and MACs; ages are wall-clock there).  NORMAL's own trace lines ("no learned MAC for
destination, flooding", "learned that ... is on port ...", "..., dropping") must agree with the result's
``flood``, ``learn_changed`` and ``drop_reason``.

Megaflow normalization (the trace prints the megaflow after the datapath's key/mask round trip, which adds
what every datapath flow has and is not NORMAL's doing):

- OVS's line starts with ``recirc_id=0`` and ``eth`` (packet_type): removed from its line.
- The datapath always matches ``dl_type`` exactly: added to our mask.
- An untagged frame's datapath key has no VLAN attribute at all (the exact ``dl_type`` already says "no
  tag"), so the VID/CFI mask NORMAL records for it disappears: removed from our mask when the key has no CFI
  bit (unless ``dl_type`` is 0x8100 and the TCI is not 0: a partial tag, which the datapath describes; a
  truncated tag, TCI 0, it does not).

Datapath port numbers come from the captured ``dpif/show`` (LOCAL is OpenFlow port 65534).  The bridge floods
in its port order, LOCAL first then p1..p5 (as observed), so the test passes the ports in that order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pyvswitch.dpif import odp
from pyvswitch.dpif.odp import PopVlan, PushVlan, format_actions
from pyvswitch.flow import fields as F
from pyvswitch.flow.match import Match, Wildcards
from pyvswitch.flow.match_text import format_match, parse_match
from pyvswitch.ofproto.mac_learning import MacLearning, format_mac, parse_mac
from pyvswitch.ofproto.normal import (
    DROP_INPUT_MIRROR,
    DROP_LEARNED_INPUT,
    DROP_LEARNED_MIRROR,
    DROP_LEARNED_UNKNOWN,
    DROP_NO_INPUT_PORT,
    DROP_PARTIAL_VLAN,
    DROP_RESERVED_MAC,
    DROP_VLAN,
    NormalResult,
    PortVlanConfig,
    is_gratuitous_arp,
    normal,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "ofproto" / "normal_cases.json"
CASES: dict[str, Any] = json.loads(DATA.read_text())
LOCAL = 65534

VLAN_TCI = F.BY_NAME["vlan_tci"]
DL_TYPE = F.BY_NAME["dl_type"]


def bridge_ports(cfg: dict[str, Any]) -> dict[int, PortVlanConfig]:
    ports = {LOCAL: PortVlanConfig("br0", LOCAL)}
    for i in range(1, 6):
        pc = cfg["ports"][f"p{i}"]
        ports[i] = PortVlanConfig(f"p{i}", i, tag=pc.get("tag"), trunks=frozenset(pc.get("trunks", ())),
                                  vlan_mode=pc.get("vlan_mode"), no_flood=pc.get("no_flood", False),
                                  no_fwd=pc.get("no_fwd", False), down=pc.get("down", False),
                                  priority_tags=pc.get("priority_tags", "never"),
                                  is_mirror_output=pc.get("mirror_output", False))
    return ports


def ovs_megaflow(line: str) -> str:
    items = [it for it in line.split(",") if it not in ("recirc_id=0", "eth")]
    return ",".join(items)


def our_megaflow(key: int, mask: int) -> str:
    mask |= DL_TYPE.key_mask
    tci = F.get(key, VLAN_TCI)
    if not tci & 0x1000 and (F.get(key, DL_TYPE) != 0x8100 or tci == 0):
        mask &= ~VLAN_TCI.key_mask
    return format_match(Match(key & mask, mask))


def expected_from_notes(notes: list[str]) -> tuple[str | None, bool, bool]:
    """(drop reason, flooded, learned something new or moved) as NORMAL's trace lines tell them."""
    drop = None
    for n in notes:
        if n.startswith("dropping VLAN"):
            drop = DROP_VLAN
        elif "reserved exclusively for mirroring" in n:
            drop = DROP_INPUT_MIRROR
        elif n.endswith(", dropping") and not n.startswith("dropping"):
            drop = n[:-len(", dropping")]
    flood = any(n == "no learned MAC for destination, flooding" for n in notes)
    learned = any(n.startswith("learned that ") for n in notes)
    return drop, flood, learned


def fdb_rows(table: MacLearning) -> list[list[Any]]:
    return sorted([e.port, e.vlan, format_mac(e.mac)] for e in table)


def run(ports: dict[int, PortVlanConfig], flow: str, table: MacLearning, *, learn: bool = True,
        flood_vlans: frozenset[int] = frozenset(), now: float = 0.0,
        forward_bpdu: bool = False) -> tuple[NormalResult, int, Wildcards]:
    key = parse_match(flow).match.value
    wc = Wildcards()
    res = normal(ports, key, F.get(key, F.BY_NAME["in_port"]), table, wc, learn=learn, now=now,
                 flood_vlans=flood_vlans, forward_bpdu=forward_bpdu)
    return res, key, wc


@pytest.mark.parametrize("cfg", CASES["configs"], ids=lambda c: c["name"])
def test_against_ovs(cfg: dict[str, Any]) -> None:
    ports = bridge_ports(cfg)
    dp_ports = {int(k): v for k, v in CASES["dp_ports"].items()}
    table = MacLearning()
    failures: list[str] = []
    n = 0
    for phase in cfg["phases"]:
        for step in phase["steps"]:
            if "fdb_add" in step:
                port, vlan, mac = step["fdb_add"]
                table.add_static(vlan, mac, port)
                continue
            res, key, wc = run(ports, step["flow"], table, flood_vlans=frozenset(cfg["flood_vlans"]),
                               forward_bpdu=cfg.get("forward_bpdu", False))
            acts = format_actions(res.datapath_actions(dp_ports))
            mf = our_megaflow(key, wc.mask)
            if acts != step["actions"] or mf != ovs_megaflow(step["megaflow"]):
                failures.append(f"{step['flow']}\n  ovs: {step['actions']} | {ovs_megaflow(step['megaflow'])}"
                                f"\n  us:  {acts} | {mf}")
            ours = (res.drop_reason, res.flood, res.learn_changed)
            if ours != expected_from_notes(step["notes"]):
                failures.append(f"{step['flow']}\n  ovs: {step['notes']}\n  us:  {ours}")
            n += 1
        if fdb_rows(table) != phase["fdb"]:
            failures.append(f"fdb after {phase['name']}: ovs {phase['fdb']}\n  us {fdb_rows(table)}")
    assert n > 500
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures[:8])


def test_cases_cover_every_outcome() -> None:
    """The captured cases exercise flooding, forwarding to learned ports, drops and VLAN pushes and pops."""
    steps = [s for c in CASES["configs"] for p in c["phases"] for s in p["steps"] if "flow" in s]
    notes = [n for s in steps for n in s["notes"]]
    actions = [s["actions"] for s in steps]
    assert any("flooding" in n for n in notes)
    assert any("forwarding to learned port" in n for n in notes)
    assert any("NO_FWD" in n for n in notes)
    assert "drop" in actions
    assert any("pop_vlan" in a for a in actions) and any("push_vlan" in a for a in actions)
    assert any("pcp=5" in a for a in actions)
    assert any("reserved destination" in n for n in notes)
    assert any("learned port is a mirror port" in n for n in notes)
    assert any("learned port is input port" in n for n in notes)
    assert any("vid=0,pcp=" in a for a in actions)


# ------------------------------------------------------------------------------------------------------------
# Unit tests of the parts.

def test_port_modes() -> None:
    access = PortVlanConfig("a", 1, tag=10)
    assert access.mode == "access" and access.vlan == 10
    assert access.admits_vid(0) and not access.admits_vid(10)
    assert access.input_vlan(0) == 10 and access.output_vid(10) == 0
    assert access.includes_vlan(10) and not access.includes_vlan(20)

    trunk = PortVlanConfig("t", 2, trunks=frozenset({10, 20}))
    assert trunk.mode == "trunk" and trunk.vlan is None
    assert trunk.admits_vid(20) and not trunk.admits_vid(30) and not trunk.admits_vid(0)
    assert PortVlanConfig("t", 2).admits_vid(0)
    assert trunk.output_vid(20) == 20

    nu = PortVlanConfig("n", 3, tag=20, vlan_mode="native-untagged", trunks=frozenset({30}))
    assert nu.admits_vid(0) and nu.input_vlan(0) == 20
    assert nu.admits_vid(20) and nu.admits_vid(30) and not nu.admits_vid(40)
    assert nu.output_vid(20) == 0 and nu.output_vid(30) == 30
    assert not nu.includes_vlan(0)

    nt = PortVlanConfig("n", 4, tag=20, vlan_mode="native-tagged", trunks=frozenset({0, 20}))
    assert nt.output_vid(20) == 20 and not nt.includes_vlan(0) and nt.includes_vlan(20)

    # A trunk port ignores its tag; a tagless access port is in VLAN 0.
    assert PortVlanConfig("x", 5, tag=10, vlan_mode="trunk").input_vlan(7) == 7
    assert PortVlanConfig("x", 5, vlan_mode="access").input_vlan(0) == 0
    with pytest.raises(ValueError):
        PortVlanConfig("x", 5, vlan_mode="dot1q-tunnel")


def _flow(in_port: int, src: str, dst: str, extra: str = "") -> str:
    return f"in_port={in_port},dl_src={src},dl_dst={dst}" + (f",{extra}" if extra else "")


PORTS = {1: PortVlanConfig("p1", 1, tag=10), 2: PortVlanConfig("p2", 2),
         3: PortVlanConfig("p3", 3, tag=10), 4: PortVlanConfig("p4", 4, tag=20)}
A, B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"


def test_flood_learn_forward_and_drop_on_input_port() -> None:
    table = MacLearning()
    res, _, _ = run(PORTS, _flow(1, A, B), table)
    assert res.flood and res.vlan == 10 and res.learned == (10, parse_mac(A), 1) and res.learn_changed
    assert [(o.port, o.vid, o.change) for o in res.outputs] == [(2, 10, "push"), (3, None, "keep")]
    assert format_actions(res.actions) == "push_vlan(vid=10,pcp=0),2,pop_vlan,3"
    res, _, _ = run(PORTS, _flow(2, B, A, "dl_vlan=10,dl_vlan_pcp=4"), table)
    assert not res.flood and [(o.port, o.change) for o in res.outputs] == [(1, "strip")]
    assert format_actions(res.actions) == "pop_vlan,1"
    res, _, _ = run(PORTS, _flow(3, B, A), table)
    assert format_actions(res.actions) == "1"
    res, _, _ = run(PORTS, _flow(1, B, A), table)    # B moves to port 1, then A is on the input port.
    assert res.drop_reason == DROP_LEARNED_INPUT and res.actions == [] and res.learn_changed


def test_learn_false_leaves_table_alone() -> None:
    table = MacLearning()
    res, _, _ = run(PORTS, _flow(1, A, B), table, learn=False)
    assert res.learned is None and len(table) == 0 and res.flood


def test_flood_vlans_neither_learn_nor_look_up() -> None:
    table = MacLearning()
    table.learn(10, B, 3, 0)
    res, _, _ = run(PORTS, _flow(1, A, B), table, flood_vlans=frozenset({10}))
    assert res.flood and res.learned is None and table.get(10, A) is None


def test_drops() -> None:
    table = MacLearning()
    assert run(PORTS, _flow(9, A, B), table)[0].drop_reason == DROP_NO_INPUT_PORT
    assert run(PORTS, _flow(1, A, B, "dl_vlan=10"), table)[0].drop_reason == DROP_VLAN
    assert run(PORTS, _flow(1, A, "01:80:c2:00:00:00"), table)[0].drop_reason == DROP_RESERVED_MAC
    mirror = dict(PORTS)
    mirror[3] = PortVlanConfig("p3", 3, tag=10, is_mirror_output=True)
    assert run(mirror, _flow(3, A, B), table)[0].drop_reason == DROP_INPUT_MIRROR
    res, _, _ = run(mirror, _flow(1, A, B), table)
    assert [o.port for o in res.outputs] == [2]     # No flooding to the mirror output either.
    table.learn(10, B, 3, 0)
    assert run(mirror, _flow(1, A, B), table)[0].drop_reason == DROP_LEARNED_MIRROR
    assert len(table) == 2 and len(MacLearning()) == 0
    table.add_static(10, "02:00:00:00:00:0c", 42)
    assert run(PORTS, _flow(1, A, "02:00:00:00:00:0c"), table)[0].drop_reason == DROP_LEARNED_UNKNOWN
    res, _, wc = run(PORTS, _flow(1, A, B, "vlan_tci=0x0005,dl_type=0x8100"), table)
    assert res.drop_reason == DROP_PARTIAL_VLAN
    assert format_match(Match(0, wc.mask)).startswith("in_port=0,vlan_tci=0x0000/0x1fff,")


def test_no_flood_and_no_fwd() -> None:
    ports = dict(PORTS)
    ports[2] = PortVlanConfig("p2", 2, no_flood=True)
    ports[3] = PortVlanConfig("p3", 3, tag=10, no_fwd=True)
    table = MacLearning()
    res, _, _ = run(ports, _flow(1, A, B), table)
    assert res.flood and res.outputs == [] and res.actions == [] and res.drop_reason is None
    table.learn(10, B, 2, 0)
    assert format_actions(run(ports, _flow(1, A, B), table)[0].actions) == "push_vlan(vid=10,pcp=0),2"


def test_priority_tags() -> None:
    ports = {1: PortVlanConfig("p1", 1), 2: PortVlanConfig("p2", 2, tag=0, priority_tags="always"),
             3: PortVlanConfig("p3", 3, tag=0, priority_tags="if-nonzero")}
    # As Open vSwitch 3.1: no priority tag for PCP 0, even with "always".
    res, _, _ = run(ports, _flow(1, A, B), MacLearning())
    assert format_actions(res.actions) == "2,3"
    res, _, _ = run(ports, _flow(1, A, B, "dl_vlan=0,dl_vlan_pcp=6"), MacLearning())
    assert format_actions(res.actions) == "2,3"
    assert [(o.vid, o.pcp, o.change) for o in res.outputs] == [(0, 6, "keep"), (0, 6, "keep")]
    res, _, _ = run(ports, _flow(1, A, B, "dl_vlan=7,dl_vlan_pcp=6"), MacLearning())
    assert res.drop_reason is None and res.outputs == []            # VLAN 7 has no other port.
    ports[1] = PortVlanConfig("p1", 1, tag=0)
    res, _, wc = run(ports, _flow(2, A, B, "dl_vlan=0,dl_vlan_pcp=6"), MacLearning())
    assert res.actions == [PopVlan(), odp.Output(1), PushVlan(vid=0, pcp=6), odp.Output(3)]
    assert res.datapath_actions({1: 11, 3: 13})[1] == odp.Output(11)
    assert F.get(wc.mask, VLAN_TCI) == 0xFFFF                        # The pop pins the whole tag.


def test_gratuitous_arp_wildcards() -> None:
    def check(flow: str) -> tuple[bool, str]:
        key = parse_match(flow).match.value
        wc = Wildcards()
        g = is_gratuitous_arp(key, wc)
        return g, format_match(Match(key & wc.mask, wc.mask))

    bc = "ff:ff:ff:ff:ff:ff"
    assert check(f"dl_dst={A}") == (False, f"dl_dst={A}")
    assert check(f"dl_dst={bc},ip") == (False, f"ip,dl_dst={bc}")
    assert check(f"dl_dst={bc},arp,arp_op=2") == (True, f"arp,dl_dst={bc},arp_op=2")
    g, text = check(f"dl_dst={bc},arp,arp_op=1,arp_spa=1.2.3.4,arp_tpa=1.2.3.4")
    assert g and "arp_spa=1.2.3.4,arp_tpa=1.2.3.4" in text
    assert not check(f"dl_dst={bc},arp,arp_op=1,arp_spa=1.2.3.4,arp_tpa=1.2.3.5")[0]


def test_gratuitous_arp_locks_the_entry() -> None:
    table = MacLearning()
    res, _, _ = run(PORTS, _flow(1, A, "ff:ff:ff:ff:ff:ff", "arp,arp_op=2"), table, now=100.0)
    assert res.gratuitous_arp
    entry = table.get(10, A)
    assert entry is not None and table.is_grat_arp_locked(entry, 101.0)
