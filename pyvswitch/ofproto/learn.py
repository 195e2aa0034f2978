"""The ``learn`` and ``fin_timeout`` actions: building and applying the flow a packet teaches, and shortening
the timeouts of a rule that sees a TCP FIN or RST.

API (translation calls these; they never raise for bad input, errors are values and trace lines)
-----------------------------------------------------------------------------------------------
``learn_execute(action: Learn, key: int, wc: Wildcards, ofproto: OFProto, *, side_effects: bool, now: float)
-> LearnResult``
    Always adds to ``wc`` the key bits of every spec's *source* subfield (the packet fields the new flow is
    built from), as Open vSwitch does whether or not it learns.  Always builds the flow-mod (``flow_mod``).

    Without ``side_effects`` nothing else happens: the trace gets Open vSwitch's warning ``suppressing side
    effects, so learn action ignored``, ``ok`` is True and ``key`` is unchanged (``result_dst`` is not
    written, as in Open vSwitch).

    With ``side_effects`` the flow-mod is applied to ``ofproto.tables`` as Open vSwitch applies a learned
    flow:

    - a rule with the same match and priority and the same timeouts, flags, cookie and actions already exists:
      it is *refreshed*: only ``modified`` is set to ``now`` (its hard timeout restarts; ``created``, so the
      duration, its counters and ``used``, so its idle timeout, are kept; ``ovs-ofctl dump-flows`` shows a new
      ``hard_age``).  The limit is not checked.  (``refreshed`` is True.)
    - otherwise, if ``action.limit`` is set and the learn's table already holds ``limit`` or more rules with
      the learn's cookie, nothing is changed and ``ok`` is False (trace: ``Limit exceeded, learn failed``);
      this applies to a rule that would only be modified too.
    - otherwise the flow-mod (a strict modify that adds when nothing matches) is applied: a new rule is added,
      or the existing rule with that match and priority gets the new actions and cookie, keeping its counters,
      duration, timeouts and flags, with ``modified`` set to ``now``.  A flow-mod error (full table, read-only
      table) is reported as an error trace line ``LEARN action execution failed (<error>).``; ``ok`` stays
      True, as in Open vSwitch.

    ``action.result_dst`` (only with ``side_effects``) gets 1, or 0 when the limit refused the flow: ``key``
    is the key with it written, its bits are added to ``wc``, and a trace line reports it.

``LearnResult``: ``flow_mod`` (the ``FlowMod`` built, or None if the learn could not build one), ``ok``,
``key``, ``rule`` (the rule learned, refreshed or modified, when applied), ``refreshed``, ``trace`` (a list of
``(kind, text)`` with kind ``detail``, ``warn`` or ``error`` for ``xlate.report``) and ``trace_lines`` (the
same as Open vSwitch prints them under the learn action, without the indentation: ``-> table=1 dl_dst=...
priority=32768 actions=output:1``).

``fin_timeout_execute(action: FinTimeout, rule: Rule | None, key: int, wc: Wildcards, *, side_effects: bool,
now: float, tcp_flags: int | None = None) -> bool``
    Adds ``nw_proto`` to ``wc`` (Open vSwitch does; it does *not* add ``tcp_flags``: the megaflow is shared by
    SYN, data and FIN packets and the flags come from each packet's statistics).  With ``side_effects``, a
    ``rule`` and TCP flags (``tcp_flags``, by default the key's) that include FIN or RST, the rule's idle and
    hard timeouts are reduced to the action's (a timeout of 0 in the action changes nothing; a rule timeout of
    0, "never", is replaced).  Returns True if a timeout changed: the caller must then tell the tables, whose
    expiry schedule assumes timeouts only grow (see the report for the hook).  The revalidator, when it
    credits a megaflow's statistics, should call it with the flags the datapath accumulated.  Tables hook
    needed: ``FlowTables.timeouts_changed(rule)`` (see the helper's report).

``delete_learned_flow_mods(gone: Iterable[Sequence[Action]], tables: FlowTables) -> list[FlowMod]``
    For ``delete_learned``: given the action lists that just left the tables (removed rules, or the old
    actions of modified rules), the deletes Open vSwitch then performs: for each (table, cookie) of a
    ``learn`` with ``delete_learned`` in them that no installed rule still has, delete every rule of that
    table with that cookie.

Revalidation and statistics
---------------------------
Open vSwitch remembers every learn a megaflow's translation ran and runs it again (with side effects) each
time the revalidator credits that megaflow's statistics: the learned rule is refreshed (its hard timeout
restarts) for as long as packets keep hitting the megaflow, and re-added if it timed out meanwhile.
Translation should therefore keep ``(action, key)`` of each ``learn_execute`` in its result, and the
revalidator call ``learn_execute(action, key, Wildcards(), ofproto, side_effects=True, now=stats_time)`` again
for each when packets were credited.  Re-translating for revalidation itself uses ``side_effects=False``.

Megaflow
--------
Only the source subfields are added (and ``result_dst``).  Open vSwitch's end-of-translation step later adds
the VLAN CFI bit to any VLAN mask and clears non-packet fields (registers, metadata) from the megaflow; that
belongs to translation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyvswitch.flow import fields as F
from pyvswitch.flow.match import CATCHALL, Match, Wildcards
from pyvswitch.flow.match_text import format_match
from pyvswitch.flow.values import OFPP_ALL, OFPP_FLOOD, OFPP_IN_PORT, OFPP_LOCAL, OFPP_MAX
from pyvswitch.ofproto.actions.model import Action, FinTimeout, Learn, Output, SetField, format_actions, walk
from pyvswitch.ofproto.flow_mod import Command, FlowMod, FlowModFlags
from pyvswitch.ofproto.multipath import report_subfield
from pyvswitch.ofproto.table import FlowModError

if TYPE_CHECKING:
    from pyvswitch.ofproto.ofproto import OFProto
    from pyvswitch.ofproto.rule import Rule
    from pyvswitch.ofproto.table import FlowTables

__all__ = ["LearnResult", "build_flow_mod", "delete_learned_flow_mods", "fin_timeout_execute",
           "learn_execute", "learn_mask", "learned_cookies"]

DEFAULT_PRIORITY = 0x8000
ALL_ONES64 = (1 << 64) - 1
# The flags a rule keeps (Open vSwitch's OFPUTIL_FF_STATE): the others only steer the flow-mod itself.
STATE_FLAGS = FlowModFlags.SEND_FLOW_REM | FlowModFlags.NO_PACKET_COUNTS | FlowModFlags.NO_BYTE_COUNTS
TCP_FIN = 0x01
TCP_RST = 0x04
_NW_PROTO = F.BY_NAME["nw_proto"]
_TCP_FLAGS = F.BY_NAME["tcp_flags"]


@dataclass
class LearnResult:
    flow_mod: FlowMod | None
    ok: bool = True
    key: int = 0
    rule: Rule | None = None
    refreshed: bool = False
    trace: list[tuple[str, str]] = field(default_factory=list)

    @property
    def trace_lines(self) -> list[str]:
        out = []
        for kind, text in self.trace:
            if kind == "detail":
                out.append("-> " + text)
            elif kind == "warn":
                out.append(">> " + text)
            else:
                out.append(">>>> " + text + " <<<<")
        return out


def learn_mask(action: Learn, wc: Wildcards) -> None:
    """Add the key bits of every spec's source subfield to ``wc``."""
    for spec in action.specs:
        if spec.src is not None:
            wc.add(spec.src.key_mask)


def _output_port(value: int, n_bits: int) -> int | None:
    """The port an ``output:`` spec puts in the learned flow for source ``value``, or None (no output action):
    only ports below OFPP_MAX and IN_PORT, FLOOD, ALL and LOCAL are kept."""
    if n_bits > 16 and value >> 16:
        return None
    port = value & 0xFFFF
    if port < OFPP_MAX or port in (OFPP_IN_PORT, OFPP_FLOOD, OFPP_LOCAL, OFPP_ALL):
        return port
    return None


def build_flow_mod(action: Learn, key: int) -> FlowMod:
    """The flow-mod ``action`` makes for a packet with flow key ``key``: a strict modify (which adds when no
    rule has the match and priority) into ``action.table_id``, setting the cookie to ``action.cookie``."""
    value = mask = 0
    actions: list[Action] = []
    if action.fin_idle_timeout or action.fin_hard_timeout:
        actions.append(FinTimeout(action.fin_idle_timeout, action.fin_hard_timeout))
    for spec in action.specs:
        v = spec.src.read(key) if spec.src is not None else spec.imm
        v &= (1 << spec.n_bits) - 1
        if spec.kind == "match" and spec.dst is not None:
            km = spec.dst.key_mask
            value = (value & ~km) | (((v << spec.dst.ofs) << spec.dst.field.ofs) & km)
            mask |= km
        elif spec.kind == "load" and spec.dst is not None:
            actions.append(SetField(spec.dst.field, v << spec.dst.ofs, spec.dst.mask, load=True))
        elif spec.kind == "output":
            port = _output_port(v, spec.n_bits)
            if port is not None:
                actions.append(Output(port))
    flags = FlowModFlags.SEND_FLOW_REM if action.send_flow_rem else FlowModFlags.NONE
    return FlowMod(command=Command.MODIFY_STRICT, match=Match(value, mask), priority=action.priority,
                   table_id=action.table_id, cookie=0, cookie_mask=0, new_cookie=action.cookie,
                   idle_timeout=action.idle_timeout, hard_timeout=action.hard_timeout, flags=flags,
                   actions=actions)


def format_learned(fm: FlowMod) -> str:
    """The learned flow as Open vSwitch's trace prints it after ``-> ``."""
    m = format_match(fm.match)
    text = f"table={fm.table_id} {m}".rstrip(" ") + f" priority={fm.priority}"
    if fm.new_cookie:
        text += f" cookie={fm.new_cookie:#x}"
    if fm.idle_timeout:
        text += f" idle={fm.idle_timeout}"
    if fm.hard_timeout:
        text += f" hard={fm.hard_timeout}"
    if fm.flags & FlowModFlags.SEND_FLOW_REM:
        text += " send_flow_rem"
    return text + " actions=" + format_actions(fm.actions)


def _same_as(rule: Rule, fm: FlowMod) -> bool:
    """Whether installing ``fm`` would change nothing in ``rule`` but its ``modified`` time."""
    return (rule.idle_timeout == fm.idle_timeout and rule.hard_timeout == fm.hard_timeout
            and rule.importance == fm.importance
            and rule.flags & STATE_FLAGS == fm.flags & STATE_FLAGS
            and (fm.new_cookie is None or fm.new_cookie == ALL_ONES64 or fm.new_cookie == rule.cookie)
            and tuple(rule.actions) == tuple(fm.actions))


def _count_cookie(tables: FlowTables, table_id: int, cookie: int) -> int:
    return sum(1 for r in tables.table(table_id) if r.cookie == cookie)


def learn_execute(action: Learn, key: int, wc: Wildcards, ofproto: OFProto, *, side_effects: bool,
                  now: float) -> LearnResult:
    """Run ``learn`` for flow key ``key`` (see the module documentation)."""
    learn_mask(action, wc)
    try:
        fm = build_flow_mod(action, key)
    except (ValueError, TypeError) as e:       # a malformed action: report, never raise
        return LearnResult(None, False, key, trace=[("error", f"LEARN action execution failed ({e}).")])
    res = LearnResult(fm, True, key)
    if not side_effects:
        res.trace.append(("warn", "suppressing side effects, so learn action ignored"))
        return res
    res.trace.append(("detail", format_learned(fm)))
    tables = ofproto.tables
    below_limit = True
    try:
        existing = tables.table(action.table_id).classifier.find_exact(fm.match, fm.priority)
        if existing is not None and existing.installed and _same_as(existing, fm):
            existing.modified = max(existing.modified, now)
            res.rule, res.refreshed = existing, True
        else:
            if action.limit and _count_cookie(tables, action.table_id, action.cookie) >= action.limit:
                below_limit = False
            else:
                applied = tables.apply([fm], now)
                r = applied.results[0]
                res.rule = r.added[0] if r.added else (r.modified[0] if r.modified else None)
    except (FlowModError, ValueError) as e:     # a refused flow-mod, or a table id the tables do not have
        name = e.code if isinstance(e, FlowModError) else "OFPBRC_BAD_TABLE_ID"
        res.trace.append(("error", f"LEARN action execution failed ({name})."))
    res.ok = below_limit
    if action.result_dst is not None:
        res.key = action.result_dst.write(key, 1 if below_limit else 0)
        wc.add(action.result_dst.key_mask)
        res.trace.append(("detail", report_subfield(action.result_dst, res.key)))
    if not below_limit:
        res.trace.append(("detail", "Limit exceeded, learn failed"))
    return res


# --- delete_learned -----------------------------------------------------------------------------------------
def learned_cookies(actions: Iterable[Action]) -> set[tuple[int, int]]:
    """The (table, cookie) pairs of the ``learn ... delete_learned`` actions in ``actions`` (nested
    included)."""
    # The tables hold whatever actions they are given (tests use strings): only action objects can learn.
    return {(a.table_id, a.cookie) for a in walk(a for a in actions if isinstance(a, Action))
            if isinstance(a, Learn) and a.delete_learned}


def delete_learned_flow_mods(gone: Iterable[Sequence[Any]], tables: FlowTables) -> list[FlowMod]:
    """The deletes ``delete_learned`` calls for once the action lists ``gone`` have left the tables."""
    dead: set[tuple[int, int]] = set()
    for actions in gone:
        dead |= learned_cookies(actions)
    if not dead:
        return []
    for rule in tables:
        if rule.installed:
            dead -= learned_cookies(rule.actions)
            if not dead:
                return []
    return [FlowMod(command=Command.DELETE, match=CATCHALL, table_id=t, cookie=c, cookie_mask=ALL_ONES64)
            for t, c in sorted(dead)]


# --- fin_timeout --------------------------------------------------------------------------------------------
def _reduce(current: int, limit: int) -> int:
    if limit and (not current or current > limit):
        return limit
    return current


def fin_timeout_execute(action: FinTimeout, rule: Rule | None, key: int, wc: Wildcards, *, side_effects: bool,
                        now: float, tcp_flags: int | None = None) -> bool:
    """Run ``fin_timeout`` in ``rule`` for flow key ``key`` (see the module documentation).  ``now`` is
    accepted for symmetry with ``learn_execute``: the reduced timeouts count from the rule's existing ``used``
    and ``modified`` times, as in Open vSwitch."""
    del now
    wc.add(_NW_PROTO.key_mask)
    if rule is None or not side_effects:
        return False
    flags = F.get(key, _TCP_FLAGS) if tcp_flags is None else tcp_flags
    if not flags & (TCP_FIN | TCP_RST):
        return False
    idle = _reduce(rule.idle_timeout, action.idle_timeout)
    hard = _reduce(rule.hard_timeout, action.hard_timeout)
    if (idle, hard) == (rule.idle_timeout, rule.hard_timeout):
        return False
    rule.idle_timeout, rule.hard_timeout = idle, hard
    return True
