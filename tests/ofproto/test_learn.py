"""``learn`` and ``fin_timeout`` (pyvswitch.ofproto.learn) against Open vSwitch 3.1.

``tests/data/ofproto/learn/learn_cases.json`` was recorded by ``capture.py`` next to it: scenarios played on a
real ovs-vswitchd (dummy datapath, clock stopped and moved with ``time/warp``) made of ``ofproto/trace`` runs
with and without ``-generate``, clock warps, ``dump-flows`` and ``del-flows``.  Each scenario is replayed here
on an ``OFProto`` holding the same flows: the rule table 0 selects for the traced packet (keys come from Open
vSwitch's own ``Flow:`` line) has its ``learn`` / ``fin_timeout`` actions run through our functions, and

* the lines we produce under each ``learn`` equal the lines Open vSwitch printed there (learned flow,
  result_dst, limit, errors, "suppressing side effects");
* the megaflow bits we add equal Open vSwitch's ``Megaflow:`` on every packet field the table-0 lookup did not
  pin (VLAN bits only for tagged packets: Open vSwitch does not print VLAN masks for untagged ones; our VLAN
  mask gets the CFI bit Open vSwitch's end-of-translation step adds; registers and metadata are not in a
  megaflow);
* every ``dump-flows`` equals ours: cookie, duration, timeouts, idle and hard age (``hard_age`` shows when a
  rule was refreshed or modified), packet counter, priority, match and actions.

``recv`` steps are real packets (``netdev-dummy/receive`` + ``revalidator/wait``) through a
learn-then-resubmit pipeline; they are replayed as a translation with side effects that credits the rules it
hits, which is what the refresh of a learned rule by later packets (and the counters surviving refresh and
modify) comes down to.

``del`` steps apply the delete; the flow tables then apply the ``delete_learned`` deletes computed by
``delete_learned_flow_mods`` in the same change.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pyvswitch.flow import fields as F
from pyvswitch.flow.match import Wildcards
from pyvswitch.flow.match_text import format_match, parse_match
from pyvswitch.ofproto.actions import parse_actions
from pyvswitch.ofproto.actions.model import FinTimeout, Learn, Resubmit, format_actions
from pyvswitch.ofproto.flow_mod import Command
from pyvswitch.ofproto.flow_mod_text import parse_flow_mod
from pyvswitch.ofproto.learn import (
    build_flow_mod,
    delete_learned_flow_mods,
    fin_timeout_execute,
    learn_execute,
)
from pyvswitch.ofproto.ofproto import OFPort, OFProto

DATA = json.loads((Path(__file__).resolve().parent.parent / "data" / "ofproto" / "learn"
                   / "learn_cases.json").read_text())
SCENARIOS = {sc["name"]: sc for sc in DATA["scenarios"]}
S = F.storage_mask
PACKET = 0
for _slot in ("dl_src", "dl_dst", "vlan_tci", "nw_src", "nw_dst", "nw_proto", "nw_tos", "nw_ttl", "tp_src",
              "tp_dst", "tcp_flags", "ipv6_src", "ipv6_dst", "ipv6_label", "arp_sha", "arp_tha", "nd_target"):
    PACKET |= S(_slot)
CFI = 0x1000 << F.STORAGE["vlan_tci"][0]


def key_of(flow: str) -> int:
    """The flow key of Open vSwitch's ``Flow:`` text (the absent second VLAN tag it names is zero here
    too)."""
    return parse_match(flow.replace(",vlan_tci1=0x0000", "")).match.value


def _line(out: str, label: str) -> str:
    m = re.search(rf"^{label}: (.*)$", out, re.MULTILINE)
    assert m is not None, label
    return m.group(1)


def _flow_line(out: str) -> str:
    return _line(out, "Flow")


def _megaflow(out: str) -> int:
    return parse_match(_line(out, "Megaflow")).match.mask


def _blocks(out: str, word: str) -> list[list[str]]:
    """The detail/warning/error lines under each table-0 action line starting with ``word``."""
    blocks: list[list[str]] = []
    cur: list[str] | None = None
    for line in out.splitlines():
        if line.startswith("    ") and not line.startswith("     "):
            cur = [] if line.strip().startswith(word) else None
            if cur is not None:
                blocks.append(cur)
        elif cur is not None and line.startswith("     "):
            cur.append(line[5:])
        else:
            cur = None
    return blocks


_STATS = {"cookie", "duration", "table", "n_packets", "n_bytes", "idle_timeout", "hard_timeout", "idle_age",
          "hard_age", "importance"}


def _parse_dump(out: str) -> list[tuple[Any, ...]]:
    rows = []
    for line in out.splitlines()[1:]:
        if not line.strip():
            continue
        head, actions = line.strip().split(" actions=", 1)
        st: dict[str, str] = {}
        match = ""
        for item in head.split(", "):
            k, _, v = item.partition("=")
            if k in _STATS:
                st[k] = v.rstrip(",")
            else:
                match = item.rstrip(",")
        dur = float(st["duration"].rstrip("s"))
        rows.append((int(st["cookie"], 16), round(dur, 3), int(st["table"]), int(st["n_packets"]),
                     int(st.get("idle_timeout", 0)), int(st.get("hard_timeout", 0)), int(st["idle_age"]),
                     int(st["hard_age"]) if "hard_age" in st else None, match, actions))
    return sorted(rows, key=repr)


def _our_dump(ofp: OFProto, table: int, now: float) -> list[tuple[Any, ...]]:
    rows = []
    for r in ofp.tables.table(table):
        hard_age = int(now - r.modified) if r.modified != r.created else None
        rows.append((r.cookie, round(now - r.created, 3), r.table_id, r.n_packets, r.idle_timeout,
                     r.hard_timeout, int(now - r.used), hard_age, format_match(r.match, r.priority),
                     format_actions(r.actions)))
    return sorted(rows, key=repr)


def _bridge(sc: dict[str, Any]) -> OFProto:
    ofp = OFProto("br0")
    ofp.set_ports([OFPort(i, f"p{i}", f"00:00:00:00:00:0{i}") for i in range(1, 4)])
    for t, limit in sc["table_limits"].items():
        ofp.tables.configure(int(t), flow_limit=limit)
    ofp.tables.apply([parse_flow_mod(f).fm for f in sc["flows"]], 0.0)
    return ofp


def _run_trace(ofp: OFProto, out: str, gen: bool, now: float) -> None:
    key = key_of(_flow_line(out))
    lookup_wc = Wildcards()
    rule = ofp.tables.lookup(0, key, lookup_wc, count=False)
    assert rule is not None
    wc = Wildcards()
    ours: list[list[str]] = []
    for a in rule.actions:
        if isinstance(a, Learn):
            res = learn_execute(a, key, wc, ofp, side_effects=gen, now=now)
            key = res.key
            ours.append(res.trace_lines)
        elif isinstance(a, FinTimeout):
            fin_timeout_execute(a, rule, key, wc, side_effects=gen, now=now)
    ovs_blocks = _blocks(out, "learn(")
    assert ours == ovs_blocks
    # Megaflow bits.
    interest = PACKET & ~lookup_wc.mask
    if not F.storage_get(key, "vlan_tci"):
        interest &= ~S("vlan_tci")
    mask = wc.mask | (CFI if wc.mask & S("vlan_tci") else 0)
    assert mask & interest == _megaflow(out) & interest


def _run_packet(ofp: OFProto, out: str, now: float) -> None:
    """A real packet through a learn-then-resubmit pipeline: learn with side effects (an upcall, or the
    revalidator re-running the learn when it credits a megaflow hit), then credit the rules hit."""
    key = key_of(_flow_line(out))
    rule = ofp.tables.lookup(0, key)
    assert rule is not None
    ofp.tables.record_hit(rule, 1, 0, now)
    for a in rule.actions:
        if isinstance(a, Learn):
            key = learn_execute(a, key, Wildcards(), ofp, side_effects=True, now=now).key
        elif isinstance(a, Resubmit):
            hit = ofp.tables.lookup(a.table_id, key)
            if hit is not None:
                ofp.tables.record_hit(hit, 1, 0, now)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_against_ovs(name: str) -> None:
    sc = SCENARIOS[name]
    ofp = _bridge(sc)
    now = 0.0
    for i, st in enumerate(sc["steps"]):
        op, arg = st["op"], st["arg"]
        where = f"{name} step {i}: {op} {arg}"
        if op in ("trace", "gen"):
            try:
                _run_trace(ofp, st["output"], op == "gen", now)
            except AssertionError as e:
                raise AssertionError(f"{where}: {e}") from None
        elif op == "recv":
            _run_packet(ofp, st["output"], now)
        elif op == "warp":
            now += arg
        elif op == "dump":
            assert _our_dump(ofp, arg, now) == _parse_dump(st["output"]), where
        elif op == "del":
            # The tables apply ``delete_learned`` themselves, in the same atomic change.
            ofp.tables.apply([parse_flow_mod(arg, Command.DELETE).fm], now)


def test_scenarios_cover_the_features() -> None:
    text = json.dumps(DATA)
    for needle in ("Limit exceeded", "is now 0x1", "suppressing side effects",
                   "LEARN action execution failed", "hard_age=", "send_flow_rem",
                   "fin_timeout(idle_timeout=3,hard_timeout=4)", "IN_PORT", "LOCAL", "FLOOD", "actions=drop",
                   "delete_learned"):
        assert needle in text, needle


def _learn(text: str) -> Learn:
    (a,) = parse_actions(text)
    assert isinstance(a, Learn)
    return a


def test_flow_mod_is_a_strict_modify_with_the_cookie_to_set() -> None:
    fm = build_flow_mod(_learn("learn(table=3,cookie=0x9,priority=9,idle_timeout=4,NXM_OF_ETH_SRC[])"),
                        key_of("in_port=1,dl_src=00:00:00:00:00:01"))
    assert fm.command == Command.MODIFY_STRICT and fm.table_id == 3 and fm.priority == 9
    assert fm.new_cookie == 9 and fm.cookie_mask == 0 and fm.idle_timeout == 4


def test_delete_learned_waits_for_the_last_learning_rule() -> None:
    sc = SCENARIOS["delete_learned"]
    ofp = _bridge(sc)
    rules = list(ofp.tables.table(0))
    ip_rule = next(r for r in rules if r.priority == 10)
    # Another installed rule still has learn(table=1,cookie=0x9,delete_learned): nothing to delete.
    assert delete_learned_flow_mods([ip_rule.actions], ofp.tables) == []
    # No rule has it any more (the actions of all table-0 rules are gone): delete table 1, cookie 0x9 only.
    ofp.tables.apply([parse_flow_mod("table=0", Command.DELETE).fm], 0.0)
    (fm,) = delete_learned_flow_mods([r.actions for r in rules], ofp.tables)
    assert (fm.command, fm.table_id, fm.cookie, fm.cookie_mask) == (Command.DELETE, 1, 0x9, (1 << 64) - 1)


def test_fin_timeout_flags_from_statistics_and_no_rule() -> None:
    ofp = _bridge(SCENARIOS["fin_timeout"])
    key = key_of("in_port=1,tcp,tcp_dst=80,tcp_flags=syn")
    rule = ofp.tables.lookup(0, key)
    assert rule is not None
    (a,) = rule.actions
    wc = Wildcards()
    assert not fin_timeout_execute(a, None, key, wc, side_effects=True, now=0.0)
    assert wc.mask == S("nw_proto")
    assert not fin_timeout_execute(a, rule, key, Wildcards(), side_effects=True, now=0.0)
    assert fin_timeout_execute(a, rule, key, Wildcards(), side_effects=True, now=0.0, tcp_flags=0x011)
    assert (rule.idle_timeout, rule.hard_timeout) == (5, 10)


def test_learn_into_a_read_only_table_is_an_error_line_not_an_exception() -> None:
    ofp = _bridge(SCENARIOS["basic"])
    res = learn_execute(_learn("learn(table=254,NXM_OF_ETH_SRC[])"), key_of("in_port=1"), Wildcards(), ofp,
                        side_effects=True, now=0.0)
    assert res.trace_lines[-1] == ">>>> LEARN action execution failed (OFPBRC_EPERM). <<<<"
    assert res.ok
