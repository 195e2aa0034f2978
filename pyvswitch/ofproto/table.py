"""The OpenFlow tables of one bridge, and the semantics of flow-mods applied to them.

``FlowTables`` holds the tables 0..254 of a bridge, each a priority classifier of ``Rule`` objects, and applies
``FlowMod`` requests to them with OpenFlow 1.3-1.5 semantics as Open vSwitch 3.1 implements them.  It also keeps
per-table lookup statistics, expires rules whose timeouts have passed, evicts rules from full tables when eviction
is enabled, answers dump and aggregate queries, and counts changes in ``version`` so the revalidator knows when
installed megaflows must be checked again.  docs/ofproto-tables.md lists every semantic choice with the Open vSwitch
experiment behind it; the short version follows.

Protocol differences live in the decoders
-----------------------------------------
Several behaviours differ between OpenFlow versions (and between OpenFlow 1.0 and Nicira's NXM).  Open vSwitch
resolves them when it decodes a message, into a version-independent flow-mod, and so do we: the tables implement
one semantics, driven by the fields of ``FlowMod``.

- ``FlowModFlags.RESET_COUNTS``: an add that replaces an identical entry keeps its counters unless this flag is
  set.  OpenFlow 1.0, 1.1 and NXM decoders must set it on every add, as Open vSwitch does (counters are always
  reset there).
- ``new_cookie``: a modify changes the cookie of the rules it selects to ``new_cookie`` when it is not None, and a
  modify that selects no rule at all *adds* one (with cookie ``new_cookie``) when ``new_cookie`` is not None and
  ``cookie_mask`` is 0.  An OpenFlow 1.0 decoder sets ``new_cookie`` to the message's cookie (0 if the sender
  wrote none), an NXM decoder to the message's cookie unless it is all-ones ("none"); OpenFlow 1.2+ decoders
  leave it None, so modifies there never add and never change cookies.
- ``table_id``: None or 255 (``OFPTT_ALL``) means every table for modify and delete, as NXM and OpenFlow 1.0 do.
  Open vSwitch rejects a modify to table 255 in OpenFlow 1.1+ with ``OFPFMFC_BAD_TABLE_ID``; that check belongs to
  the OpenFlow 1.1+ decoder, since only it knows the version.

Atomicity
---------
``apply`` takes a list of flow-mods (one, or an OpenFlow 1.4 bundle) and applies them in order, each seeing the
effects of the previous ones.  If any fails, everything already done is undone and the error is raised, carrying
the index of the failing flow-mod: the tables are as before (up to the tie-break order of re-inserted rules,
see docs/ofproto-tables.md).  The undo log records the inverse of every
primitive change (insert, remove, replace, in-place modify), so rollback costs as much as the work it undoes.

Threading: a ``FlowTables`` is not thread-safe; the daemon applies flow-mods and runs lookups from one thread, or
serialises them.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyvswitch.classifier import Classifier
from pyvswitch.flow.match import CATCHALL, Match, Wildcards
from pyvswitch.ofproto.actions import actions_output_to_group, actions_output_to_port
from pyvswitch.ofproto.flow_mod import OFPG_ANY, OFPP_ANY, OFPTT_ALL, Command, FlowMod, FlowModFlags
from pyvswitch.ofproto.rule import Removed, RemovedReason, Rule, conjunctions_of
from pyvswitch.util.clock import SYSTEM_CLOCK, Clock

__all__ = [
    "N_TABLES", "TBL_INTERNAL", "AggregateStats", "ApplyResult", "FlowModError", "FlowModResult", "FlowTables",
    "RuleCriteria", "Table", "TableConfig",
]

N_TABLES = 255          # OpenFlow table ids 0..254; 255 is OFPTT_ALL
TBL_INTERNAL = 254      # Open vSwitch keeps its internal rules here; controllers may not change it

OFPET_BAD_REQUEST = "OFPET_BAD_REQUEST"
OFPET_FLOW_MOD_FAILED = "OFPET_FLOW_MOD_FAILED"


class FlowModError(Exception):
    """A flow-mod was refused.  ``type`` and ``code`` are the OpenFlow error names (``OFPET_FLOW_MOD_FAILED``,
    ``OFPFMFC_OVERLAP``); the codec turns them into numbers for the negotiated version.  ``index`` is the position
    of the failing flow-mod in the list given to ``apply`` and ``flow_mod`` is that flow-mod."""

    def __init__(self, type: str, code: str, message: str = "") -> None:
        super().__init__(f"{type}/{code}" + (f": {message}" if message else ""))
        self.type = type
        self.code = code
        self.message = message
        self.index: int | None = None
        self.flow_mod: FlowMod | None = None


@dataclass(slots=True)
class TableConfig:
    """Per-table settings: the ``Flow_Table`` row of the database or an OpenFlow table-mod.

    ``flow_limit`` None means unlimited.  ``evict`` chooses what happens when an add would exceed the limit:
    refuse it with ``OFPFMFC_TABLE_FULL`` (False, Open vSwitch's default) or evict a rule (``overflow_policy=evict``,
    or an OpenFlow 1.4 table-mod with ``OFPTC_EVICTION``).  A ``readonly`` table refuses every flow-mod with
    ``OFPBRC_EPERM`` and is left out of "all tables" operations and dumps, as Open vSwitch does with table 254."""

    name: str | None = None
    flow_limit: int | None = None
    evict: bool = False
    readonly: bool = False
    #: The classifier's prefix fields (the ``prefixes`` column); None: the classifier's default.
    prefixes: tuple[str, ...] | None = None


class Table:
    """One OpenFlow table: a classifier of rules, its configuration and its lookup statistics."""

    __slots__ = ("classifier", "config", "id", "n_lookups", "n_matched", "timed")

    def __init__(self, table_id: int, classifier: Any, config: TableConfig) -> None:
        self.id = table_id
        self.config = config
        self.classifier = classifier
        self.n_lookups = 0
        self.n_matched = 0
        # The rules with an idle or hard timeout: the only candidates for eviction.
        self.timed: set[Rule] = set()

    def __len__(self) -> int:
        return len(self.classifier)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.classifier)

    @property
    def active_count(self) -> int:
        return len(self.classifier)


@dataclass(frozen=True, slots=True)
class RuleCriteria:
    """Which rules a modify, delete, dump or aggregate request selects.

    ``table_id`` None or 255 selects every table that is not read-only.  ``strict`` selects the rule whose match
    and priority equal ``match`` and ``priority``; otherwise every rule whose match is equal to or more specific
    than ``match`` (priority ignored).  A rule must also have ``cookie & cookie_mask == rule.cookie & cookie_mask``,
    an output to ``out_port`` unless it is ``OFPP_ANY``, and a group action for ``out_group`` unless it is
    ``OFPG_ANY``."""

    table_id: int | None = None
    match: Match = CATCHALL
    priority: int = 0x8000
    strict: bool = False
    cookie: int = 0
    cookie_mask: int = 0
    out_port: int = OFPP_ANY
    out_group: int = OFPG_ANY

    @classmethod
    def from_flow_mod(cls, fm: FlowMod) -> RuleCriteria:
        """The rules a modify or delete ``fm`` addresses.  Only deletes filter on ``out_port`` and ``out_group``:
        Open vSwitch ignores both in modifies, in every OpenFlow version (checked by sending it a raw OpenFlow 1.3
        modify with an ``out_port`` no rule outputs to: the rule was modified all the same)."""
        modify = fm.command in (Command.MODIFY, Command.MODIFY_STRICT)
        return cls(
            table_id=fm.table_id,
            match=fm.match,
            priority=fm.priority,
            strict=fm.command in (Command.MODIFY_STRICT, Command.DELETE_STRICT),
            cookie=fm.cookie,
            cookie_mask=fm.cookie_mask,
            out_port=OFPP_ANY if modify else fm.out_port,
            out_group=OFPG_ANY if modify else fm.out_group,
        )

    def selects(self, rule: Rule) -> bool:
        """Whether ``rule`` (in any table) meets everything but the table filter."""
        if self.strict:
            if rule.priority != self.priority or rule.match != self.match:
                return False
        elif not self.match.covers(rule.match):
            return False
        return self.filters_ok(rule)

    def filters_ok(self, rule: Rule) -> bool:
        """Whether ``rule`` passes the cookie, out_port and out_group filters."""
        if (rule.cookie ^ self.cookie) & self.cookie_mask:
            return False
        if self.out_port != OFPP_ANY and not actions_output_to_port(rule.actions, self.out_port):
            return False
        return self.out_group == OFPG_ANY or actions_output_to_group(rule.actions, self.out_group)


@dataclass(slots=True)
class FlowModResult:
    """What one flow-mod did.  ``replaced`` holds (old, new) pairs for adds that replaced an entry with the same
    match and priority (no flow-removed message for those, as in Open vSwitch and OpenFlow 1.3 section 6.4).
    ``removed`` holds deleted rules (reason DELETE) and evicted ones (reason EVICTION)."""

    flow_mod: FlowMod
    added: list[Rule] = field(default_factory=list)
    replaced: list[tuple[Rule, Rule]] = field(default_factory=list)
    modified: list[Rule] = field(default_factory=list)
    removed: list[Removed] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced or self.modified or self.removed)


@dataclass(slots=True)
class ApplyResult:
    """The results of ``FlowTables.apply``, one per flow-mod, and the tables' version afterwards."""

    results: list[FlowModResult]
    version: int

    @property
    def removed(self) -> list[Removed]:
        return [r for res in self.results for r in res.removed]

    @property
    def flow_removed(self) -> list[Removed]:
        """The removals that call for a flow-removed message (the rule has ``send_flow_rem``)."""
        return [r for r in self.removed if r.send_flow_rem]

    @property
    def changed(self) -> bool:
        return any(res.changed for res in self.results)


@dataclass(frozen=True, slots=True)
class AggregateStats:
    """The answer to an aggregate-stats request."""

    packet_count: int
    byte_count: int
    flow_count: int


class FlowTables:
    """The OpenFlow tables of one bridge.

    ``clock`` gives the time for flow-mods and lookups that are not told it.  ``classifier_factory`` makes the
    classifier of each table (the real ``pyvswitch.classifier.Classifier`` by default).  ``readonly_tables`` are
    refused to flow-mods and hidden from "all tables" operations; by default table 254, as in Open vSwitch.

    Tables are created when first used; ``table(i)`` always returns one."""

    def __init__(
        self,
        *,
        n_tables: int = N_TABLES,
        clock: Clock = SYSTEM_CLOCK,
        classifier_factory: Callable[[], Any] | None = None,
        readonly_tables: Iterable[int] = (TBL_INTERNAL,),
    ) -> None:
        if not 1 <= n_tables <= N_TABLES:
            raise ValueError(f"n_tables must be in 1..{N_TABLES}")
        self.n_tables = n_tables
        self.clock = clock
        self._new_classifier: Callable[[], Any] = classifier_factory or Classifier
        self._tables: dict[int, Table] = {}
        self._configs: dict[int, TableConfig] = {t: TableConfig(readonly=True) for t in readonly_tables
                                                  if 0 <= t < n_tables}
        self.version = 0
        # Lazy heap of (deadline, seq, rule).  A rule's deadline only ever moves later (hits move ``used``, modifies
        # move ``modified``; timeouts never change), so a popped entry is either due, early (pushed again with the
        # rule's real deadline) or stale (its rule is no longer installed).
        self._deadlines: list[tuple[float, int, Rule]] = []
        self._seq = itertools.count()
        self._n_timed = 0
        self._replaced_actions: list[Any] = []   # Action lists a modify replaced during ``apply``.
        self._undo: list[Callable[[], None]] | None = None

    # ---------------------------------------------------------------- tables

    def table(self, table_id: int) -> Table:
        """Table ``table_id`` (0 <= table_id < n_tables), created empty if it did not exist yet."""
        t = self._tables.get(table_id)
        if t is None:
            if not 0 <= table_id < self.n_tables:
                raise ValueError(f"no table {table_id}")
            config = self._configs.setdefault(table_id, TableConfig())
            t = self._tables[table_id] = Table(table_id, self._classifier_for(config), config)
        return t

    def _classifier_for(self, config: TableConfig) -> Any:
        if config.prefixes is None or self._new_classifier is not Classifier:
            return self._new_classifier()
        return Classifier(config.prefixes)

    def tables(self) -> list[Table]:
        """The tables that exist (have held a rule or been configured), in id order."""
        return [self._tables[i] for i in sorted(self._tables)]

    def config(self, table_id: int) -> TableConfig:
        """The configuration of ``table_id``, to read or change in place.  Lowering ``flow_limit`` below the
        current number of rules removes nothing by itself; the limit applies to later adds."""
        return self.table(table_id).config

    def configure(self, table_id: int, **settings: Any) -> TableConfig:
        """Change some settings of ``table_id`` (``name``, ``flow_limit``, ``evict``, ``readonly``,
        ``prefixes``).  New prefix fields rebuild the table's classifier with the same rules."""
        cfg = self.config(table_id)
        old_prefixes = cfg.prefixes
        for k, v in settings.items():
            if not hasattr(cfg, k):
                raise TypeError(f"no table setting {k!r}")
            setattr(cfg, k, v)
        t = self._tables.get(table_id)
        if t is not None and cfg.prefixes != old_prefixes:
            rules = list(t.classifier)
            t.classifier = self._classifier_for(cfg)
            for rule in rules:
                t.classifier.insert(rule)
            self.version += 1
        return cfg

    def __len__(self) -> int:
        """The number of rules in all tables."""
        return sum(len(t) for t in self._tables.values())

    def __iter__(self) -> Iterator[Rule]:
        """Every rule of every table (read-only tables included), in dump order."""
        for t in self.tables():
            yield from _dump_order(t)

    # ---------------------------------------------------------------- lookup

    def lookup(self, table_id: int, key: int, wc: Wildcards | None = None, *, count: bool = True) -> Rule | None:
        """The highest-priority rule of ``table_id`` matching flow key ``key``, or None.

        The bits the classifier had to examine are added to ``wc``.  With ``count`` (the default) the table's
        lookup and matched counters are updated; revalidation, which re-runs translations without new packets,
        passes ``count=False``, as Open vSwitch only counts table statistics for real packets."""
        t = self._tables.get(table_id)
        if t is None:
            if not 0 <= table_id < self.n_tables:
                raise ValueError(f"no table {table_id}")
            t = self.table(table_id)
        rule = t.classifier.lookup(key, wc)
        if count:
            t.n_lookups += 1
            if rule is not None:
                t.n_matched += 1
        return rule

    def record_hit(self, rule: Rule, packets: int, nbytes: int, now: float | None = None) -> None:
        """Credit statistics to ``rule``: ``packets`` packets of ``nbytes`` bytes, the last seen at ``now``.  This
        postpones the rule's idle timeout.  Rules already removed may be credited too (their final statistics then
        include the packets that were in flight)."""
        rule.record_hit(packets, nbytes, self.clock.now() if now is None else now)

    # ---------------------------------------------------------------- flow-mods

    def apply(self, flow_mods: Sequence[FlowMod], now: float | None = None) -> ApplyResult:
        """Apply ``flow_mods`` in order, atomically: all of them or, if one fails, none (``FlowModError`` is raised
        with ``index`` set).  ``version`` increases by one if anything changed."""
        now = self.clock.now() if now is None else now
        results: list[FlowModResult] = []
        self._undo = []
        self._replaced_actions = []
        try:
            for i, fm in enumerate(flow_mods):
                try:
                    results.append(self._apply_one(fm, now))
                except FlowModError as e:
                    e.index = i
                    e.flow_mod = fm
                    raise
            # ``learn(delete_learned)``: the flows a learn action added go when the last rule with it goes.
            gone = [rm.rule.actions for r in results for rm in r.removed]
            gone += [old.actions for r in results for old, _ in r.replaced] + self._replaced_actions
            if gone:
                results.extend(self._apply_one(fm, now) for fm in self._learned_deletes(gone))
        except BaseException:
            undo, self._undo = self._undo, None
            for op in reversed(undo):
                op()
            raise
        self._undo = None
        res = ApplyResult(results, self.version)
        if res.changed:
            self.version += 1
            res.version = self.version
        return res

    def _learned_deletes(self, gone: list[Any]) -> list[FlowMod]:
        from pyvswitch.ofproto.learn import delete_learned_flow_mods  # learn builds on this module

        return delete_learned_flow_mods(gone, self)

    def timeouts_changed(self, rule: Rule) -> None:
        """``rule``'s timeouts were shortened in place (``fin_timeout``): schedule its new deadline."""
        if not rule.installed:
            return
        t = self._tables[rule.table_id]
        if rule.has_timeout and rule not in t.timed:
            t.timed.add(rule)
            self._n_timed += 1
        self._push_deadline(rule)

    def apply_one(self, flow_mod: FlowMod, now: float | None = None) -> FlowModResult:
        """Apply one flow-mod (atomically, like ``apply([flow_mod])``)."""
        return self.apply([flow_mod], now).results[0]

    def _apply_one(self, fm: FlowMod, now: float) -> FlowModResult:
        cmd = fm.command
        if cmd == Command.ADD:
            return self._add(fm, now)
        if cmd in (Command.MODIFY, Command.MODIFY_STRICT):
            return self._modify(fm, now)
        if cmd in (Command.DELETE, Command.DELETE_STRICT):
            return self._delete(fm)
        raise FlowModError(OFPET_FLOW_MOD_FAILED, "OFPFMFC_BAD_COMMAND", f"unknown command {cmd!r}")

    def _writable_table(self, table_id: int) -> Table:
        if table_id == OFPTT_ALL:
            raise FlowModError(OFPET_FLOW_MOD_FAILED, "OFPFMFC_BAD_TABLE_ID", "cannot add to table 255 (all)")
        if not 0 <= table_id < self.n_tables:
            raise FlowModError(OFPET_BAD_REQUEST, "OFPBRC_BAD_TABLE_ID", f"no table {table_id}")
        t = self.table(table_id)
        if t.config.readonly:
            raise FlowModError(OFPET_BAD_REQUEST, "OFPBRC_EPERM", f"table {table_id} is read-only")
        return t

    def _target_tables(self, table_id: int | None) -> list[Table]:
        """The tables a modify or delete addresses (errors as Open vSwitch gives them)."""
        if table_id is None or table_id == OFPTT_ALL:
            return [t for t in self.tables() if not t.config.readonly]
        return [self._writable_table(table_id)]

    def _add(self, fm: FlowMod, now: float, cookie: int | None = None, table_id: int | None = None) -> FlowModResult:
        res = FlowModResult(fm)
        if table_id is None:
            table_id = 0 if fm.table_id is None else fm.table_id
        t = self._writable_table(table_id)
        if cookie is None:
            cookie = fm.cookie if fm.new_cookie is None else fm.new_cookie
        old = t.classifier.find_exact(fm.match, fm.priority)
        # Open vSwitch checks for overlaps only when the add does not replace an entry with the same match and
        # priority; a replacing add succeeds even if other entries overlap.
        if (fm.flags & FlowModFlags.CHECK_OVERLAP and old is None
                and next(iter(t.classifier.find_overlapping(fm.match, fm.priority)), None) is not None):
            raise FlowModError(OFPET_FLOW_MOD_FAILED, "OFPFMFC_OVERLAP")
        rule = Rule(fm.match, fm.priority, table_id=t.id, cookie=cookie, idle_timeout=fm.idle_timeout,
                    hard_timeout=fm.hard_timeout, importance=fm.importance, flags=fm.flags, actions=fm.actions,
                    now=now)
        if old is not None:
            # Open vSwitch restarts the duration but carries the counters over (unless reset_counts) and always
            # carries ``used`` over, so re-adding a flow does not postpone its idle timeout.
            if not fm.flags & FlowModFlags.RESET_COUNTS:
                rule.n_packets, rule.n_bytes = old.n_packets, old.n_bytes
            rule.used = old.used
            self._replace(t, old, rule)
            res.replaced.append((old, rule))
            return res
        limit = t.config.flow_limit
        while limit is not None and len(t) >= limit:
            victim = _eviction_victim(t) if t.config.evict else None
            if victim is None:
                raise FlowModError(OFPET_FLOW_MOD_FAILED, "OFPFMFC_TABLE_FULL", f"table {t.id} is full")
            self._remove(t, victim)
            res.removed.append(Removed(victim, RemovedReason.EVICTION))
        self._insert(t, rule)
        res.added.append(rule)
        return res

    def _modify(self, fm: FlowMod, now: float) -> FlowModResult:
        crit = RuleCriteria.from_flow_mod(fm)
        selected = self._select(crit, self._target_tables(fm.table_id))
        if not selected:
            if fm.new_cookie is not None and fm.cookie_mask == 0:
                # NXM and OpenFlow 1.0 semantics: a modify that finds nothing adds, to table 0 when it named none.
                table_id = 0 if fm.table_id is None or fm.table_id == OFPTT_ALL else fm.table_id
                return self._add(fm, now, cookie=fm.new_cookie, table_id=table_id)
            return FlowModResult(fm)
        res = FlowModResult(fm)
        actions = tuple(fm.actions)
        conj = conjunctions_of(actions)
        for t, rule in selected:
            self._modify_rule(t, rule, actions, conj, fm, now)
            res.modified.append(rule)
        return res

    def _delete(self, fm: FlowMod) -> FlowModResult:
        res = FlowModResult(fm)
        crit = RuleCriteria.from_flow_mod(fm)
        for t, rule in self._select(crit, self._target_tables(fm.table_id)):
            self._remove(t, rule)
            res.removed.append(Removed(rule, RemovedReason.DELETE))
        return res

    def _select(self, crit: RuleCriteria, tables: Iterable[Table]) -> list[tuple[Table, Rule]]:
        out: list[tuple[Table, Rule]] = []
        for t in tables:
            if crit.strict:
                r = t.classifier.find_exact(crit.match, crit.priority)
                found = [] if r is None else [r]
            else:
                found = sorted(t.classifier.find_loose(crit.match), key=lambda r: r.id)
            out.extend((t, r) for r in found if crit.filters_ok(r))
        return out

    # ---------------------------------------------------------------- queries

    def select(self, criteria: RuleCriteria) -> list[Rule]:
        """The rules ``criteria`` selects, for dump-flows: by table, then priority (highest first), then age.
        Unlike flow-mods, a dump may name a read-only table explicitly."""
        if criteria.table_id is None or criteria.table_id == OFPTT_ALL:
            tables = [t for t in self.tables() if not t.config.readonly]
        elif 0 <= criteria.table_id < self.n_tables:
            tables = [self._tables[criteria.table_id]] if criteria.table_id in self._tables else []
        else:
            raise FlowModError(OFPET_BAD_REQUEST, "OFPBRC_BAD_TABLE_ID", f"no table {criteria.table_id}")
        rules = [r for _, r in self._select(criteria, tables)]
        rules.sort(key=lambda r: (r.table_id, -r.priority, r.id))
        return rules

    def dump(self, table_id: int | None = None, match: Match = CATCHALL, *, priority: int = 0x8000,
             strict: bool = False, cookie: int = 0, cookie_mask: int = 0, out_port: int = OFPP_ANY,
             out_group: int = OFPG_ANY) -> list[Rule]:
        """``select`` with the criteria spelled as keywords."""
        return self.select(RuleCriteria(table_id, match, priority, strict, cookie, cookie_mask, out_port,
                                        out_group))

    def aggregate(self, criteria: RuleCriteria) -> AggregateStats:
        """Totals over the rules ``criteria`` selects (dump-aggregate)."""
        rules = self.select(criteria)
        return AggregateStats(sum(r.n_packets for r in rules), sum(r.n_bytes for r in rules), len(rules))

    # ---------------------------------------------------------------- timeouts

    def expire(self, now: float | None = None) -> list[Removed]:
        """Remove every rule whose hard or idle timeout has passed at ``now`` and return them with the reason
        (HARD_TIMEOUT when both have).  ``version`` increases if any was removed."""
        now = self.clock.now() if now is None else now
        out: list[Removed] = []
        heap = self._deadlines
        while heap and heap[0][0] <= now:
            _, _, rule = heapq.heappop(heap)
            if not rule.installed:
                continue
            reason = rule.expired(now)
            if reason is None:
                self._push_deadline(rule)
                continue
            self._remove(self._tables[rule.table_id], rule)
            out.append(Removed(rule, reason))
        if out:
            for fm in self._learned_deletes([r.rule.actions for r in out]):
                out.extend(self._apply_one(fm, now).removed)
            self.version += 1
        return out

    def next_expiry(self) -> float | None:
        """The earliest time at which ``expire`` may have something to do, or None if no rule has a timeout."""
        heap = self._deadlines
        while heap:
            when, _, rule = heap[0]
            if not rule.installed:
                heapq.heappop(heap)
                continue
            actual = rule.expires_at()
            if actual is None:
                heapq.heappop(heap)
                continue
            if actual > when:
                heapq.heapreplace(heap, (actual, next(self._seq), rule))
                continue
            return when
        return None

    # ---------------------------------------------------------------- primitive changes (logged for undo)

    def _log(self, op: Callable[[], None]) -> None:
        if self._undo is not None:
            self._undo.append(op)

    def _push_deadline(self, rule: Rule) -> None:
        when = rule.expires_at()
        if when is not None:
            heap = self._deadlines
            heapq.heappush(heap, (when, next(self._seq), rule))
            if len(heap) > 64 and len(heap) > 2 * self._n_timed:
                # Entries of deleted rules linger until their deadline; with much churn, compact (in place, as
                # ``expire`` may be iterating).
                heap[:] = [e for e in heap if e[2].installed]
                heapq.heapify(heap)

    def _link(self, t: Table, rule: Rule) -> None:
        rule.installed = True
        if rule.has_timeout:
            t.timed.add(rule)
            self._n_timed += 1
            self._push_deadline(rule)

    def _unlink(self, t: Table, rule: Rule) -> None:
        rule.installed = False
        if rule in t.timed:
            t.timed.remove(rule)
            self._n_timed -= 1

    def _insert(self, t: Table, rule: Rule) -> None:
        t.classifier.insert(rule)
        self._link(t, rule)
        self._log(lambda: self._remove_raw(t, rule))

    def _remove_raw(self, t: Table, rule: Rule) -> None:
        t.classifier.remove(rule)
        self._unlink(t, rule)

    def _insert_raw(self, t: Table, rule: Rule) -> None:
        t.classifier.insert(rule)
        self._link(t, rule)

    def _remove(self, t: Table, rule: Rule) -> None:
        self._remove_raw(t, rule)
        self._log(lambda: self._insert_raw(t, rule))

    def _replace(self, t: Table, old: Rule, new: Rule) -> None:
        def swap(a: Rule, b: Rule) -> None:
            t.classifier.replace(b)
            self._unlink(t, a)
            self._link(t, b)

        swap(old, new)
        self._log(lambda: swap(new, old))

    def _modify_rule(self, t: Table, rule: Rule, actions: tuple[Any, ...],
                     conj: tuple[tuple[int, int, int], ...], fm: FlowMod, now: float) -> None:
        """Open vSwitch's modify: new actions, the cookie if ``new_cookie`` is given, counters reset if asked;
        timeouts, importance, flags, ``created`` and ``used`` kept; ``modified`` set to now."""
        saved = (rule.actions, rule.conjunctions, rule.cookie, rule.n_packets, rule.n_bytes, rule.modified)

        def set_actions(acts: tuple[Any, ...], cj: tuple[tuple[int, int, int], ...]) -> None:
            if cj != rule.conjunctions:
                # Whether a rule is a conjunctive clause changes how the classifier indexes it.
                t.classifier.remove(rule)
                rule.actions, rule.conjunctions = acts, cj
                t.classifier.insert(rule)
            else:
                rule.actions, rule.conjunctions = acts, cj

        def restore() -> None:
            set_actions(saved[0], saved[1])
            rule.cookie, rule.n_packets, rule.n_bytes, rule.modified = saved[2:]

        if actions != rule.actions:
            self._replaced_actions.append(rule.actions)
        set_actions(actions, conj)
        if fm.new_cookie is not None:
            rule.cookie = fm.new_cookie
        if fm.flags & FlowModFlags.RESET_COUNTS:
            rule.reset_counts()
        rule.modified = now
        self._log(restore)


def _dump_order(t: Table) -> list[Rule]:
    return sorted(t.classifier, key=lambda r: (-r.priority, r.id))


def _eviction_victim(t: Table) -> Rule | None:
    """The rule to evict from full table ``t``: among rules with a timeout (permanent rules are never evicted),
    the least important, then the one that would expire soonest, then the oldest.  This is Open vSwitch's order
    (ovs-vswitchd.conf.db(5), Flow_Table) without its ``groups`` partitioning."""
    best: Rule | None = None
    best_key: tuple[int, float, int] | None = None
    for r in t.timed:
        when = r.expires_at()
        assert when is not None
        k = (r.importance, when, r.id)
        if best_key is None or k < best_key:
            best, best_key = r, k
    return best
