"""The switch's side of the table requests: what Open vSwitch 3.1's own switch answers to table statistics,
table features and table description requests, and what it does with a table-mod, computed from a bridge's
``pyvswitch.ofproto.table.FlowTables``.

The messages themselves (layouts, decoding, printing) are ``ofp_switch``'s; this module decides their contents,
as Open vSwitch's ofproto does.  Every fact below was read from a real ovs-vswitchd 3.1 with a dummy bridge
(tests/data/openflow/ofp_tables_wire.json holds its replies, ofp_tables_capture.py regenerates them).

Which tables
    Every table a controller may see: ids 0 to ``n_tables - 1`` except read-only ones, which Open vSwitch hides
    (its table 254).  Tables that never held a rule are reported too, with zero counters: Open vSwitch's replies
    always list 254 tables, used or not.
Features
    Every visible table has the same features (``ofp_switch.ovs_table_features``), except that its next tables
    are the visible tables after it, and the last one cannot go to a table.  ``max_entries`` is 1,000,000, or the
    table's ``flow_limit`` when lower.  A table's name is ``TableConfig.name`` cut to 31 bytes (no name: empty).
OpenFlow 1.0 to 1.2 statistics
    These describe the features with bitmaps.  Open vSwitch derives them from the same features, and as those
    do not change, neither do the bitmaps: ``_W10`` to ``_SETFIELDS12`` below are those it sends.  The 1.1 and 1.2 ``config`` is
    the table-miss setting of the last 1.1/1.2 table-mod; OpenFlow 1.1 replies carry Open vSwitch's internal
    number for it (0 none, 1 controller, 2 continue, 3 drop), 1.2 replies the OpenFlow number (0 controller,
    1 continue, 2 drop).
Table description (1.4+)
    ``config`` has ``OFPTC14_EVICTION`` when ``TableConfig.evict`` is set and ``OFPTC14_VACANCY_EVENTS`` when
    vacancy events are on; every table carries an eviction property with flags OTHER|IMPORTANCE|LIFETIME and,
    with vacancy events on, a vacancy property (thresholds and the current vacancy: ``vacancy``).
    One difference remains: Open vSwitch reports eviction on only when a table-mod turned it on, not when the
    database did (``Flow_Table`` ``overflow_policy=evict``); ``TableConfig`` has one flag for both.
Table-mod
    ``apply_table_mod`` below.

The table-miss setting and the vacancy settings are not part of ``TableConfig``; they are kept here, per
``FlowTables`` (``table_state``), since nothing but these replies reads them.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, replace

from pyvswitch.ofproto.table import FlowTables, Table, TableConfig
from pyvswitch.openflow import ofp_switch as S
from pyvswitch.openflow.ofp_errors import OFPDecodeError

__all__ = [
    "EVICTION_FLAGS",
    "MAX_ENTRIES",
    "MISS_CONTINUE",
    "MISS_CONTROLLER",
    "MISS_DEFAULT",
    "MISS_DROP",
    "VACANCY_DOWN",
    "VACANCY_UP",
    "TableState",
    "apply_table_mod",
    "table_desc",
    "table_desc_replies",
    "table_features",
    "table_features_replies",
    "table_state",
    "table_stats_replies",
    "vacancy",
    "vacancy_status",
    "visible_tables",
]

OFPTT_ALL = 0xFF
MAX_ENTRIES = 1000000
# The eviction flags Open vSwitch reports for every table (OFPTMPEF14_OTHER | IMPORTANCE | LIFETIME).
EVICTION_FLAGS = 0x7
# Table-miss settings, Open vSwitch's numbering (what a 1.1 table-statistics reply carries as they are).
MISS_DEFAULT, MISS_CONTROLLER, MISS_CONTINUE, MISS_DROP = 0, 1, 2, 3
# OpenFlow 1.1/1.2 miss configuration (OFPTC11_TABLE_MISS_*) -> setting; 3 is invalid and read as controller.
_MISS_FROM_WIRE = {0: MISS_CONTROLLER, 1: MISS_CONTINUE, 2: MISS_DROP, 3: MISS_CONTROLLER}
# Vacancy event reasons (OFPTR_VACANCY_*): the event a table waits for next.
VACANCY_DOWN, VACANCY_UP = 3, 4
# Open vSwitch's eviction setting of a table-mod: absent, on or off.  OpenFlow 1.4+ table-mods set it from
# ``OFPTC14_EVICTION``, but an eviction property overrides it with its flags value (Open vSwitch 3.1 stores the
# property where it keeps the setting), so flags 1 mean on, 2 off, and any other value leaves eviction alone.
_EVICTION_DEFAULT, _EVICTION_ON, _EVICTION_OFF = 0, 1, 2
_UINT_MAX = 0xFFFFFFFF


@dataclass(slots=True)
class TableState:
    """What table-mods set besides eviction: the OpenFlow 1.1/1.2 table-miss setting (``MISS_*``) and the
    vacancy thresholds (percent) and the vacancy event awaited next (0: vacancy events off)."""

    miss: int = MISS_DEFAULT
    vacancy_down: int = 0
    vacancy_up: int = 0
    vacancy_event: int = 0


_STATES: weakref.WeakKeyDictionary[FlowTables, dict[int, TableState]] = weakref.WeakKeyDictionary()


def table_state(tables: FlowTables, table_id: int) -> TableState:
    """The table-mod settings of ``table_id`` in ``tables`` (created with the defaults), to read or change."""
    return _STATES.setdefault(tables, {}).setdefault(table_id, TableState())


def _peek_state(tables: FlowTables, table_id: int) -> TableState:
    states = _STATES.get(tables)
    state = states.get(table_id) if states is not None else None
    return state if state is not None else TableState()


def _config(tables: FlowTables, existing: dict[int, Table], table_id: int) -> TableConfig:
    """The configuration of ``table_id`` without creating the table (``FlowTables.config`` would: a dump of
    254 tables should not create them all).  Read-only tables that were never used are configured only in
    ``FlowTables._configs``."""
    t = existing.get(table_id)
    if t is not None:
        return t.config
    return tables._configs.get(table_id) or TableConfig()


def visible_tables(tables: FlowTables) -> list[tuple[int, Table | None, TableConfig]]:
    """Every table a controller sees, in id order: (id, the table or None if it was never used, its
    configuration).  Read-only tables are hidden, as Open vSwitch hides its table 254."""
    existing = {t.id: t for t in tables.tables()}
    out = []
    for i in range(tables.n_tables):
        cfg = _config(tables, existing, i)
        if not cfg.readonly:
            out.append((i, existing.get(i), cfg))
    return out


def _name(cfg: TableConfig) -> str:
    """The name as the 32-byte wire field holds it: UTF-8 cut to 31 bytes (kept as latin-1 text so that the codec
    writes exactly these bytes)."""
    return (cfg.name or "").encode("utf-8")[:31].decode("latin-1")


def _max_entries(cfg: TableConfig) -> int:
    return MAX_ENTRIES if cfg.flow_limit is None else max(0, min(MAX_ENTRIES, cfg.flow_limit))


def vacancy(table: Table | None, cfg: TableConfig) -> int:
    """The free share of the table, in whole percent (Open vSwitch's rounding down): 100 without a flow limit
    (Open vSwitch compares with UINT_MAX then, which gives 99 once the table holds a rule), 100 with a limit of
    zero, 0 when full."""
    n = len(table) if table is not None else 0
    limit = _UINT_MAX if cfg.flow_limit is None else min(cfg.flow_limit, _UINT_MAX)
    if limit == 0:
        return 100
    if n >= limit:
        return 0
    return int((limit - n) * 100.0 / limit)


def _counters(table: Table | None) -> tuple[int, int, int]:
    if table is None:
        return 0, 0, 0
    return len(table), table.n_lookups, table.n_matched


# ------------------------------------------------------------------------------------------------ statistics

# The OpenFlow 1.0 to 1.2 feature bitmaps Open vSwitch 3.1 sends for every table (read from its replies; they
# say in bitmaps what ``ofp_switch.ovs_table_features`` says in lists):
# - 1.0 wildcards: every OFPFW10 bit;
# - 1.1 match and wildcards: every OFPFMF11 bit but 10 (OFPFMF11_TYPE); write and apply actions: every
#   OFPAT11 action but copy_ttl_out and copy_ttl_in (11, 12);
# - 1.2 match and wildcards: OXM fields 0 and 2 to 36, and 44 (packet_type); actions: output and 15 to 25;
#   set-fields: the same fields but in_phy_port, eth_type and ip_proto, and none past 35; metadata: all bits.
# Instructions are computed: every 1.1 instruction (goto_table to clear_actions), but goto_table in the last
# table.
_W10 = 0x3FFFFF
_W11 = 0xFBFF
_ACTIONS11 = 0x1FFE7FF
_OXM12_MATCH = 0x101FFFFFFFFD
_ACTIONS12 = 0x3FF8001
_SETFIELDS12 = 0xFFFFFFBDD
_ALL64 = 0xFFFFFFFFFFFFFFFF
_GOTO_TABLE = 1


def _legacy_instructions(last: bool) -> int:
    bits = sum(1 << t for t in (1, 2, 3, 4, 5))
    return bits & ~(1 << _GOTO_TABLE) if last else bits


def _legacy_stats(table_id: int, table: Table | None, cfg: TableConfig, state: TableState, last: bool,
                  version: int) -> S.LegacyTableStats:
    active, lookups, matched = _counters(table)
    t = S.LegacyTableStats(table_id, _name(cfg), max_entries=_max_entries(cfg), active_count=active,
                           lookup_count=lookups, matched_count=matched)
    if version == 1:
        t.wildcards = _W10
        return t
    t.instructions = _legacy_instructions(last)
    if version == 2:
        t.wildcards = t.match = _W11
        t.write_actions = t.apply_actions = _ACTIONS11
        t.config = state.miss
        return t
    t.wildcards = t.match = _OXM12_MATCH
    t.write_actions = t.apply_actions = _ACTIONS12
    t.write_setfields = t.apply_setfields = _SETFIELDS12
    t.metadata_match = t.metadata_write = _ALL64
    # OpenFlow 1.2 numbers the settings 0 controller, 1 continue, 2 drop; "none" goes as controller.
    t.config = {MISS_CONTINUE: 1, MISS_DROP: 2}.get(state.miss, 0)
    return t


def table_stats_replies(tables: FlowTables, version: int, xid: int) -> list[bytes]:
    """The ``OFPST_TABLE`` reply messages for ``tables``: every visible table (used or not) with its rule,
    lookup and match counts; in OpenFlow 1.0 to 1.2 with its name, features and limits too."""
    visible = visible_tables(tables)
    if version >= 4:
        return S.encode_table_stats_reply([S.TableStats(i, *_counters(t)) for i, t, _ in visible], version, xid)
    last = visible[-1][0] if visible else -1
    return S.encode_legacy_table_stats_reply(
        [_legacy_stats(i, t, cfg, _peek_state(tables, i), i == last, version) for i, t, cfg in visible],
        version, xid)


# ------------------------------------------------------------------------------------------------ features


def table_features(tables: FlowTables, version: int) -> list[S.TableFeatures]:
    """The features of every visible table, as Open vSwitch reports them in ``version`` (1.3+)."""
    visible = visible_tables(tables)
    ids = [i for i, _, _ in visible]
    out = []
    for k, (i, _, cfg) in enumerate(visible):
        tf = S.ovs_table_features(i, version)
        later = ids[k + 1:]
        props: list[tuple[int, S.TablePropValue]] = []
        for ptype, value in tf.props:
            if ptype in (S.TFPT_NEXT_TABLES, S.TFPT_NEXT_TABLES_MISS):
                value = list(later)
            elif ptype in (S.TFPT_INSTRUCTIONS, S.TFPT_INSTRUCTIONS_MISS) and isinstance(value, list):
                value = [t for t in sorted(set(value) | {_GOTO_TABLE}) if t != _GOTO_TABLE or later]
            props.append((ptype, value))
        out.append(replace(tf, name=_name(cfg), max_entries=_max_entries(cfg), props=props))
    return out


def table_features_replies(tables: FlowTables, version: int, xid: int) -> list[bytes]:
    """The ``OFPST_TABLE_FEATURES`` reply messages (OpenFlow 1.3+), split as Open vSwitch splits them."""
    return S.encode_table_features_reply(table_features(tables, version), version, xid)


# ------------------------------------------------------------------------------------------------ description


def table_desc(tables: FlowTables) -> list[S.TableDesc]:
    """The eviction and vacancy configuration of every visible table (OpenFlow 1.4+)."""
    out = []
    for i, t, cfg in visible_tables(tables):
        state = _peek_state(tables, i)
        config = (S.TC_EVICTION if cfg.evict else 0) | (S.TC_VACANCY_EVENTS if state.vacancy_event else 0)
        vac = (state.vacancy_down, state.vacancy_up, vacancy(t, cfg)) if state.vacancy_event else None
        out.append(S.TableDesc(i, config, EVICTION_FLAGS, vac))
    return out


def table_desc_replies(tables: FlowTables, version: int, xid: int) -> list[bytes]:
    """The ``OFPST_TABLE_DESC`` reply messages (OpenFlow 1.4+)."""
    return S.encode_table_desc_reply(table_desc(tables), version, xid)


# ------------------------------------------------------------------------------------------------ table-mod


def apply_table_mod(tm: S.TableMod, tables: FlowTables, version: int) -> None:
    """Do what Open vSwitch 3.1 does with table-mod ``tm`` received in ``version``.

    - OpenFlow 1.1 and 1.2 set the table-miss setting (an invalid value, 3, means controller); 1.3 table-mods
      change nothing (but are still checked); 1.4+ turn eviction on or off (``TableConfig.evict``; an eviction
      property overrides the config bit, see ``_EVICTION_ON``) and vacancy events on or off, with the thresholds
      of the vacancy property (0 and 0 without one).  Turning vacancy events on in a table where they were off
      makes it wait for a "vacancy up" event if its vacancy is below the up threshold, else for "vacancy down".
    - ``table_id`` 255 applies to every visible table; a hidden (read-only) table is refused with
      ``OFPTMFC_EPERM``, a table past ``n_tables`` with ``OFPTMFC_BAD_TABLE``.  (Open vSwitch has 255 tables,
      so it never answers ``OFPTMFC_BAD_TABLE``.)
    - OpenFlow 1.0 has no table-mod: ``OFPBRC_BAD_TYPE``.

    Errors are raised as ``OFPDecodeError`` before anything changes.  Open vSwitch 3.1 never reaches its check
    of the eviction flags (``OFPTMFC_BAD_CONFIG``) since the property does not set them; neither do we."""
    if version < 2:
        raise OFPDecodeError("OFPBRC_BAD_TYPE", "OpenFlow 1.0 has no table-mod")
    if tm.table_id != OFPTT_ALL and tm.table_id >= tables.n_tables:
        raise OFPDecodeError("OFPTMFC_BAD_TABLE", f"no table {tm.table_id}")
    if tm.table_id == OFPTT_ALL:
        targets = [(i, t, cfg) for i, t, cfg in visible_tables(tables)]
    else:
        existing = {t.id: t for t in tables.tables()}
        cfg = _config(tables, existing, tm.table_id)
        if cfg.readonly:
            raise OFPDecodeError("OFPTMFC_EPERM", f"table {tm.table_id} is read-only")
        targets = [(tm.table_id, existing.get(tm.table_id), cfg)]

    miss = _MISS_FROM_WIRE[tm.config & 3] if version in (2, 3) else MISS_DEFAULT
    eviction = vacancy_on = None
    if version >= 5:
        setting = _EVICTION_ON if tm.config & S.TC_EVICTION else _EVICTION_OFF
        if tm.eviction_flags is not None:
            setting = tm.eviction_flags
        eviction = {_EVICTION_ON: True, _EVICTION_OFF: False}.get(setting)
        vacancy_on = bool(tm.config & S.TC_VACANCY_EVENTS)
    if miss == MISS_DEFAULT and eviction is None and vacancy_on is None:
        return
    for i, table, _ in targets:
        if eviction is not None:
            # Only now is the table created: the configuration must outlive this call.
            tables.config(i).evict = eviction
        if miss == MISS_DEFAULT and vacancy_on is None:
            continue
        state = table_state(tables, i)
        if miss != MISS_DEFAULT:
            state.miss = miss
        if vacancy_on is not None:
            state.vacancy_down, state.vacancy_up = tm.vacancy if tm.vacancy is not None else (0, 0)
            if not vacancy_on:
                state.vacancy_event = 0
            elif not state.vacancy_event:
                now = vacancy(table, tables.config(i))
                state.vacancy_event = VACANCY_UP if now < state.vacancy_up else VACANCY_DOWN


def vacancy_status(tables: FlowTables, table_id: int) -> tuple[int, S.TableDesc] | None:
    """Whether a table-status message is due for ``table_id`` after its rules changed, as Open vSwitch checks
    after every flow-mod: with vacancy events on, a vacancy below the down threshold while the table waits for
    "down", or above the up threshold while it waits for "up", gives (reason, ``VACANCY_DOWN`` or
    ``VACANCY_UP``, and the table's description) and makes the table wait for the other event.  None otherwise.
    (``ofp_switch`` has no table-status encoder yet: the caller builds the message.)"""
    state = _peek_state(tables, table_id)
    if not state.vacancy_event:
        return None
    existing = {t.id: t for t in tables.tables()}
    cfg = _config(tables, existing, table_id)
    now = vacancy(existing.get(table_id), cfg)
    if now < state.vacancy_down:
        event = VACANCY_DOWN
    elif now > state.vacancy_up:
        event = VACANCY_UP
    else:
        return None
    if event != state.vacancy_event:
        return None
    config = (S.TC_EVICTION if cfg.evict else 0) | S.TC_VACANCY_EVENTS
    desc = S.TableDesc(table_id, config, EVICTION_FLAGS, (state.vacancy_down, state.vacancy_up, now))
    table_state(tables, table_id).vacancy_event = VACANCY_UP if event == VACANCY_DOWN else VACANCY_DOWN
    return event, desc
