"""The priority classifier: an OpenFlow table's rules, searched by flow key, reporting what it looked at.

Every OpenFlow table is a ``Classifier``.  ``lookup(key, wc)`` returns the highest-priority rule whose match
matches the key and, as it goes, ORs into ``wc.mask`` every key bit its answer depended on.  Translation turns the
accumulated bits into a megaflow's mask, so two properties matter as much as the answer itself:

* soundness: every key that agrees with ``key`` on the bits in ``wc.mask`` gets the same answer, and
* width: as few bits as possible, because every bit pinned needlessly multiplies the megaflows (and upcalls) a
  traffic mix needs.

The design follows Open vSwitch's classifier (the essay at the top of its ``lib/classifier.h`` and section 5 of
"The Design and Implementation of Open vSwitch", NSDI 2015).

Tuple space search
------------------
Rules are grouped into *subtables*, one per distinct mask.  A subtable is a dict from masked value to the rules
with that exact match, best first; looking a key up in a subtable is one ``key & mask`` and one dict probe.  The
classifier tries the subtables in order of the highest priority they hold and stops as soon as no remaining
subtable can beat the best rule found, so a high-priority hit costs one or two probes.  A subtable that is never
tried does not contribute to the wildcards: its rules could not have won anyway, whatever the packet.

Staged lookup
-------------
Pinning a subtable's whole mask after a miss would be sound but far too narrow: a table with ``in_port=1,tcp,
tp_dst=80`` would pin ``tp_dst`` for every packet from port 2.  So each subtable splits its mask into four stages,
from the fields that are cheap and most selective to those that are not, derived below (``STAGES``) from the field
table's storage slots: metadata (``in_port``, registers, tunnel, conntrack, ``recirc_id`` ...), L2 (Ethernet,
VLAN, MPLS), L3 (IPv4/IPv6/ARP addresses, protocol, TOS, TTL, fragments) and L4 (ports, ``tcp_flags``, ICMP type
and code, and the IPv6 neighbour-discovery fields ``nd_target``, ``nd_sll``, ``nd_tll``; ARP's ``arp_sha`` and
``arp_tha`` share their storage with ``nd_sll`` and ``nd_tll`` and so sit in L4 too).  For every stage but the
last, the subtable keeps the set of its rules' values masked by the cumulative mask up to that stage.  A lookup
probes these sets in order; a miss at stage ``i`` means no rule of the subtable can match, and only the bits up to
stage ``i`` are un-wildcarded.  A hit un-wildcards the whole mask of the subtable.

Prefix tracking
---------------
Staged lookup cannot help within a field: a table with ``ip,nw_dst=10.0.0.0/8`` would still pin all of ``nw_dst``
for a packet to 192.168.0.1, although its first bit already rules the subtable out.  For each *prefix field*
(``nw_dst`` and ``nw_src`` by default, as in Open vSwitch; any maskable field can be one) the classifier keeps a trie (``trie.py``) of the
prefixes of all rules whose mask on the field is a CIDR prefix.  Before probing the stage that holds such a field,
a subtable whose mask has prefix length ``L`` there asks the trie (looked up once per classifier lookup, on first
need) whether any rule prefix of length ``L`` matches the packet's address.  If none does, the subtable cannot
match; it is skipped and only the leading address bits that the trie walk examined are un-wildcarded.  As in Open
vSwitch, the trie result is used only when it pins no more bits than the subtable would pin itself (``L``), or when
those bits are pinned already; otherwise the ordinary probe goes on, since the trie is shared by the whole table and
its walk may go deeper than this subtable's prefix.

Transport ports get the same treatment in the last stage (Open vSwitch's per-subtable ports trie): when a
subtable's final probe misses and no rule of it has the packet's ports (``tp_src`` and ``tp_dst`` as one 32-bit
word, under the subtable's mask), only the port bits the subtable's port trie examined are un-wildcarded, so a
table with ``tcp,tp_dst=22`` gives a packet to port 80 the megaflow ``tp_dst=0x40/0xffc0``.

Ties and determinism
--------------------
OpenFlow leaves the outcome undefined when two rules of equal priority match one packet.  This classifier picks
the one inserted first: every stored rule gets an insertion serial (the rule object need not carry one).  A rule
put in by ``replace`` takes over the serial of the rule it replaces, because replacing is a modification of the
same flow entry and should not change which of two overlapping flows wins.  Because of this tie-break the search
cannot stop at a subtable whose highest priority merely equals the best found; it stops when that priority is
lower, and skips a subtable of equal priority when its oldest rule at that priority is younger than the best.
Each subtable remembers a lower bound of that serial, so after removals the skip is conservative, never wrong.

Conjunctive matches
-------------------
A rule whose ``conjunctions`` is non-empty is a *clause* of one or more conjunctive flows (ovs-actions(7)
``conjunction(id, k/n)``; each element is ``(id, k, n)`` with ``1 <= k <= n``).  It never matches as itself.
Following ovs-fields(7) "Conjunctive match fields":

1. Among all rules matching the key, take the priorities in decreasing order.  At a priority ``p``: if an ordinary
   rule matches at ``p``, it is the result (ordinary rules win ties with conjunctive flows, as in Open vSwitch).
   Otherwise, every conjunctive flow ``(id, n)`` for which clause rules at ``p`` matching the key cover all of
   ``k = 1..n`` is *satisfied*.  Flows with the same id but different priorities, or different ``n``, are
   different conjunctive flows.
2. For each satisfied flow, in increasing order of ``(id, n)``, the table is searched again with ``conj_id`` set
   to ``id`` in the key, considering ordinary rules only.  The first rule found is the result.  If none is found,
   the conjunctive flow acts as if it had not matched and the search continues at lower priorities.  (Open
   vSwitch tries one satisfied flow per priority; conjunctive flows that overlap at one priority are documented
   as unpredictable there.  Trying them all in id order is deterministic and finds a result whenever one exists.)

The wildcards of a conjunctive lookup are those of every subtable tried in the first search, which includes all
clause rules consulted, plus those of each ``conj_id`` search except the ``conj_id`` bits themselves: those come
from the conjunction, not from the packet, and the first search already pinned any ``conj_id`` bits the packet's
own value mattered for.  ``tests/classifier/linear.py`` is the reference these semantics are tested against.

Versions (Open vSwitch's copy-on-write visibility of rules by table version) are left to ofproto, which changes
a table only between lookups.  The classifier is not thread-safe; callers serialise updates with lookups.
"""

from __future__ import annotations

import heapq
from bisect import insort
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from pyvswitch.classifier.trie import PrefixTrie
from pyvswitch.flow import fields as F
from pyvswitch.flow.match import Match, Wildcards

__all__ = ["DEFAULT_PREFIX_FIELDS", "MIN_PRIORITY", "STAGES", "STAGE_MASKS", "Classifier", "ClassifierRule"]


class ClassifierRule(Protocol):
    """What the classifier needs of a rule.  It never modifies a rule; callers must not change these attributes
    while the rule is in a classifier."""

    match: Match
    priority: int
    conjunctions: tuple[tuple[int, int, int], ...]


# ---------------------------------------------------------------------------------------------------------------
# Stages, derived from the storage slots of the field table.  Every slot belongs to exactly one stage; a slot added
# to the field table without a stage here fails at import, so the staging can never silently lose bits.
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("metadata", (
        "in_port", "metadata", "regs", "skb_priority", "pkt_mark", "recirc_id", "dp_hash", "conj_id",
        "actset_output", "packet_type",
        "tun_id", "tun_dst", "tun_src", "tun_ipv6_dst", "tun_ipv6_src", "tun_flags", "tun_gbp_id", "tun_gbp_flags",
        "_tun_tos", "_tun_ttl", "_tun_tp_src", "_tun_tp_dst", "_tun_metadata_present", "tun_metadata",
        "_tun_geneve_len", "_tun_geneve",
        "ct_state", "ct_zone", "ct_mark", "ct_label", "ct_nw_proto", "ct_nw_dst", "ct_nw_src",
        "ct_ipv6_dst", "ct_ipv6_src", "ct_tp_dst", "ct_tp_src",
    )),
    ("l2", (
        "dl_src", "dl_dst", "dl_type", "vlan_tci", "_vlan_tpid", "_vlan2_tci", "_vlan2_tpid",
        "mpls_lse", "_mpls_lse1", "_mpls_lse2",
    )),
    ("l3", (
        "nw_src", "nw_dst", "nw_proto", "nw_tos", "nw_ttl", "nw_frag", "ipv6_src", "ipv6_dst", "ipv6_label",
    )),
    ("l4", (
        "tp_src", "tp_dst", "tcp_flags", "nd_target", "arp_sha", "arp_tha",
    )),
)


def _stage_masks() -> tuple[int, ...]:
    seen: dict[str, str] = {}
    masks = []
    for stage, slots in STAGES:
        m = 0
        for slot in slots:
            if slot in seen:
                raise AssertionError(f"storage slot {slot} in stages {seen[slot]} and {stage}")
            seen[slot] = stage
            m |= F.storage_mask(slot)
        masks.append(m)
    missing = set(F.STORAGE) - set(seen)
    if missing:
        raise AssertionError(f"storage slots without a lookup stage: {sorted(missing)}")
    return tuple(masks)


STAGE_MASKS: tuple[int, ...] = _stage_masks()
"""The key bits of each stage, in ``STAGES`` order."""

_TP_SRC_OFS = F.STORAGE["tp_src"][0]
_TP_DST_OFS = F.STORAGE["tp_dst"][0]
_PORT_PREFIX_KEY_MASKS = [0] * 33
for _n in range(1, 33):
    _pm = ((1 << _n) - 1) << (32 - _n)
    _PORT_PREFIX_KEY_MASKS[_n] = ((_pm >> 16) << _TP_SRC_OFS) | ((_pm & 0xFFFF) << _TP_DST_OFS)


def _ports32(key: int) -> int:
    """The transport ports of a key (or mask) as Open vSwitch's 32-bit word: tp_src in the high half."""
    return (((key >> _TP_SRC_OFS) & 0xFFFF) << 16) | ((key >> _TP_DST_OFS) & 0xFFFF)


DEFAULT_PREFIX_FIELDS = ("nw_dst", "nw_src")
"""Open vSwitch's default prefix fields (a Flow_Table row's ``prefixes`` column, when empty): IPv4 only."""

MIN_PRIORITY = -(1 << 62)
"""Priorities must be greater than this (OpenFlow's are 0..65535)."""

_CONJ_ID = F.BY_NAME["conj_id"]
_CONJ_MASK = _CONJ_ID.key_mask
_CONJ_OFS = _CONJ_ID.ofs
_CONJ_VMASK = _CONJ_ID.value_mask


class _Entry:
    """A stored rule with what the classifier caches about it."""

    __slots__ = ("conj", "match", "priority", "rule", "serial")

    def __init__(self, rule: Any, match: Match, priority: int, serial: int,
                 conj: tuple[tuple[int, int, int], ...]) -> None:
        self.rule = rule
        self.match = match
        self.priority = priority
        self.serial = serial
        self.conj = conj


class _Subtable:
    """The rules sharing one mask.

    ``stages`` is what a lookup walks: a tuple of ``(cumulative_mask, index, trie_checks)``.  For every stage but
    the last, ``index`` maps ``value & cumulative_mask`` to the number of rules with that partial value; for the
    last, ``cumulative_mask`` is the whole mask and ``index`` is ``table``, mapping the masked value to the rules
    with exactly that match, sorted best first (priority descending, then serial ascending).  ``trie_checks`` is
    None or a tuple of trie checks (see ``trie_plens``) to make before probing that stage.

    ``max_pri`` is the highest priority held; ``tie_serial`` a lower bound of the serials of the rules at
    ``max_pri``.  ``_pri`` counts rules per priority and ``_heap`` holds negated priorities (lazily cleaned) so
    that ``max_pri`` is cheap to maintain under removals."""

    __slots__ = ("_heap", "_pri", "mask", "max_pri", "n_rules", "ports", "ports_plen", "ports_trie", "stages",
                 "table", "tie_serial", "trie_plens")

    def __init__(self, mask: int, trie_plens: tuple[tuple, ...]) -> None:
        self.mask = mask
        # For each prefix field on which the mask is a CIDR prefix: (trie index, prefix length, stage number, field
        # offset, field mask, the trie's lookup method, the trie's prefix masks).  The stage that holds the field
        # gets the same tuple without the stage number as a trie check, everything a lookup needs at hand.
        self.trie_plens = trie_plens
        self.table: dict[int, list[_Entry]] = {}
        cum = 0
        stage_masks: list[int] = []
        stage_nums: list[int] = []
        for i, sm in enumerate(STAGE_MASKS):
            if mask & sm:
                cum |= mask & sm
                stage_masks.append(cum)
                stage_nums.append(i)
        if not stage_masks:
            stage_masks.append(0)           # the catch-all subtable: one probe of the table at key 0
            stage_nums.append(len(STAGE_MASKS) - 1)
        stages = []
        for j, (cm, num) in enumerate(zip(stage_masks, stage_nums)):
            checks = tuple(c[:2] + c[3:] for c in trie_plens if c[2] == num) or None
            index: dict = self.table if j == len(stage_masks) - 1 else {}
            stages.append((cm, index, checks))
        self.stages: tuple[tuple[int, dict, tuple[tuple, ...] | None], ...] = tuple(stages)
        # Port prefix tracking (Open vSwitch's per-subtable ports trie): the rules' transport ports, as one 32-bit
        # word tp_src:tp_dst cut to the length up to the mask's last 1 bit.  ``ports`` is what a lookup needs when
        # the final stage misses: (final index, the bits of the stages before it, trie lookup, prefix length, the
        # 32-bit port mask).
        pm32 = _ports32(mask)
        self.ports_trie: PrefixTrie | None = None
        self.ports_plen = 0
        self.ports: tuple[dict, int, Any, int, int] | None = None
        if pm32:
            self.ports_plen = 32 - ((pm32 & -pm32).bit_length() - 1)
            self.ports_trie = PrefixTrie(32)
            prev = stage_masks[-2] if len(stage_masks) > 1 else 0
            self.ports = (self.table, prev, self.ports_trie.lookup, self.ports_plen, pm32)
        self.max_pri = MIN_PRIORITY
        self.tie_serial = 0
        self.n_rules = 0
        self._pri: dict[int, list[int]] = {}    # priority -> [count, lower bound of the serials]
        self._heap: list[int] = []

    def add_priority(self, priority: int, serial: int) -> bool:
        """Count a rule; return True if ``(max_pri, tie_serial)`` changed."""
        info = self._pri.get(priority)
        if info is None:
            self._pri[priority] = [1, serial]
            heapq.heappush(self._heap, -priority)
        else:
            info[0] += 1
            info[1] = min(info[1], serial)
        self.n_rules += 1
        return self._refresh()

    def remove_priority(self, priority: int) -> bool:
        """Uncount a rule; return True if ``(max_pri, tie_serial)`` changed."""
        info = self._pri[priority]
        info[0] -= 1
        if not info[0]:
            del self._pri[priority]
            heap = self._heap
            while heap and -heap[0] not in self._pri:
                heapq.heappop(heap)
            if len(heap) > 2 * len(self._pri) + 16:
                self._heap = [-p for p in self._pri]
                heapq.heapify(self._heap)
        self.n_rules -= 1
        return self._refresh()

    def _refresh(self) -> bool:
        if self._heap:
            top = -self._heap[0]
            ts = self._pri[top][1]
        else:
            top, ts = MIN_PRIORITY, 0
        if top == self.max_pri and ts == self.tie_serial:
            return False
        self.max_pri, self.tie_serial = top, ts
        return True


def _port_miss(key: int, cm: int, ports: tuple[dict, int, Any, int, int]) -> int:
    """The wildcards of a miss in a subtable's final stage, which holds transport ports: when the packet's ports
    match no rule's ports, only the port bits the ports trie examined (and the earlier stages) decide the miss,
    as in Open vSwitch; otherwise (another final-stage field made the difference) the whole mask."""
    _, prev, trie_lookup, plen, pm32 = ports
    hits, nbits = trie_lookup(_ports32(key) & pm32)     # the packet's ports under the subtable's mask
    if (hits >> plen) & 1:
        return cm
    return prev | (cm & _PORT_PREFIX_KEY_MASKS[nbits])


class Classifier:
    """An OpenFlow table's rules, searchable by flow key (see the module documentation).

    Rules are any objects with ``.match`` (a ``Match``), ``.priority`` (an int) and ``.conjunctions`` (a tuple of
    ``(id, k, n)``, empty for ordinary rules).  The classifier identifies a rule by object identity and holds a
    reference to it while it is stored.  Iteration and the ``find_*`` queries return rules best first: priority
    descending, then insertion order; they return a snapshot, so the caller may remove rules while iterating."""

    def __init__(self, prefix_fields: Sequence[str] = DEFAULT_PREFIX_FIELDS) -> None:
        self._entries: dict[int, _Entry] = {}                  # id(rule) -> entry
        self._exact: dict[tuple[int, int, int], _Entry] = {}   # (mask, value, priority) -> entry
        self._subtables: dict[int, _Subtable] = {}
        self._order: list[_Subtable] = []
        # What lookups walk: (max_pri, tie_serial, stages) per subtable in search order, rebuilt after changes.
        self._plan: tuple[tuple[int, int, tuple], ...] = ()
        self._dirty = False
        self._serial = 0
        self._n_soft = 0
        self._tries: list[PrefixTrie] = []
        self._trie_fields: list[tuple[int, int, int]] = []     # (ofs, width, stage number)
        self._trie_pmasks: list[list[int]] = []                # [n] = key bits of the field's first n bits
        seen: set[tuple[int, int]] = set()
        for name in prefix_fields:
            f = F.field(name)
            vm = f.value_mask
            if vm & (vm + 1):
                raise ValueError(f"{f.name} cannot be a prefix field: its bits are not contiguous")
            if (f.ofs, vm) in seen:
                continue
            seen.add((f.ofs, vm))
            width = vm.bit_length()
            stage = next(i for i, sm in enumerate(STAGE_MASKS) if sm & f.key_mask)
            if f.key_mask & ~STAGE_MASKS[stage]:
                raise ValueError(f"{f.name} spans lookup stages")
            self._tries.append(PrefixTrie(width))
            self._trie_fields.append((f.ofs, width, stage))
            self._trie_pmasks.append([(((1 << n) - 1) << (width - n)) << f.ofs for n in range(width + 1)])

    # -- updates -------------------------------------------------------------------------------------------------

    def insert(self, rule: Any) -> None:
        """Add ``rule``.

        Raises ValueError if the same object is already stored, if another rule has an identical match and
        priority (use ``replace``), if the priority is not above ``MIN_PRIORITY``, or if a conjunction is not
        ``(id, k, n)`` with ``1 <= k <= n <= 64`` and ``id`` fitting ``conj_id``."""
        if id(rule) in self._entries:
            raise ValueError("rule is already in the classifier")
        match: Match = rule.match
        priority = rule.priority
        conj = _check_conj(rule.conjunctions)
        if not isinstance(priority, int) or priority <= MIN_PRIORITY:
            raise ValueError(f"bad priority {priority!r}")
        if (match.mask, match.value, priority) in self._exact:
            raise ValueError("a rule with identical match and priority exists")
        self._serial += 1
        self._add(_Entry(rule, match, priority, self._serial, conj))

    def replace(self, rule: Any) -> Any:
        """Add ``rule``, replacing and returning the rule with identical match and priority if there is one (the
        new rule takes over its place in the tie-break order).  Returns None if nothing was replaced."""
        if id(rule) in self._entries:
            raise ValueError("rule is already in the classifier")
        match: Match = rule.match
        e = self._exact.get((match.mask, match.value, rule.priority))
        if e is not None:
            conj = _check_conj(rule.conjunctions)
            old = e.rule
            del self._entries[id(old)]
            self._n_soft += bool(conj) - bool(e.conj)
            e.rule, e.conj = rule, conj
            self._entries[id(rule)] = e
            return old
        self.insert(rule)
        return None

    def remove(self, rule: Any) -> None:
        """Remove ``rule`` (by identity).  Raises ValueError if it is not in the classifier."""
        e = self._entries.pop(id(rule), None)
        if e is None:
            raise ValueError("rule is not in the classifier")
        st = self._subtables[e.match.mask]
        value = e.match.value
        del self._exact[(st.mask, value, e.priority)]
        bucket = st.table[value]
        bucket.remove(e)
        if not bucket:
            del st.table[value]
        for cm, index, _ in st.stages[:-1]:
            k = value & cm
            n = index[k] - 1
            if n:
                index[k] = n
            else:
                del index[k]
        for ti, plen, *_ in st.trie_plens:
            ofs, width, _ = self._trie_fields[ti]
            self._tries[ti].remove((value >> (ofs + width - plen)) & ((1 << plen) - 1), plen)
        if st.ports_trie is not None:
            st.ports_trie.remove(_ports32(value) >> (32 - st.ports_plen), st.ports_plen)
        if e.conj:
            self._n_soft -= 1
        if st.remove_priority(e.priority):
            self._dirty = True
        if not st.n_rules:
            del self._subtables[st.mask]
            self._order.remove(st)
            self._dirty = True

    def _add(self, e: _Entry) -> None:
        match = e.match
        mask, value = match.mask, match.value
        st = self._subtables.get(mask)
        if st is None:
            st = _Subtable(mask, self._trie_plens(mask))
            self._subtables[mask] = st
            self._order.append(st)
            self._dirty = True
        bucket = st.table.get(value)
        if bucket is None:
            st.table[value] = [e]
        else:
            # A bucket holds one rule per priority, so ordering by priority alone is ordering best first.
            insort(bucket, e, key=_neg_priority)
        self._exact[(mask, value, e.priority)] = e
        for cm, index, _ in st.stages[:-1]:
            k = value & cm
            index[k] = index.get(k, 0) + 1
        for ti, plen, *_ in st.trie_plens:
            ofs, width, _ = self._trie_fields[ti]
            self._tries[ti].insert((value >> (ofs + width - plen)) & ((1 << plen) - 1), plen)
        if st.ports_trie is not None:
            st.ports_trie.insert(_ports32(value) >> (32 - st.ports_plen), st.ports_plen)
        if e.conj:
            self._n_soft += 1
        self._entries[id(e.rule)] = e
        if st.add_priority(e.priority, e.serial):
            self._dirty = True

    def _trie_plens(self, mask: int) -> tuple[tuple, ...]:
        """For each prefix field on which ``mask`` is a CIDR prefix of length 1 or more: (trie index, length,
        stage, field offset, field mask, trie lookup method, prefix masks)."""
        out = []
        for ti, (ofs, width, stage) in enumerate(self._trie_fields):
            full = (1 << width) - 1
            m = (mask >> ofs) & full
            if not m:
                continue
            inv = full ^ m
            if inv & (inv + 1):
                continue                    # not a prefix: this subtable's rules stay out of the trie
            out.append((ti, width - inv.bit_length(), stage, ofs, full, self._tries[ti].lookup,
                        self._trie_pmasks[ti]))
        return tuple(out)

    def _sort(self) -> None:
        self._order.sort(key=lambda st: (-st.max_pri, st.tie_serial))
        self._plan = tuple((st.max_pri, st.tie_serial, st.stages, st.ports) for st in self._order)
        self._dirty = False

    # -- lookup --------------------------------------------------------------------------------------------------

    def lookup(self, key: int, wc: Wildcards | None = None) -> Any:
        """The best rule matching flow key ``key``, or None; ORs into ``wc.mask`` the key bits the answer
        depended on (see the module documentation for the semantics, ties and conjunctions)."""
        if self._dirty:
            self._sort()
        wcm = wc.mask if wc is not None else 0
        if self._n_soft:
            e, wm = self._lookup_conj(key, wcm, True)
            if wc is not None:
                wc.mask |= wm
            return e.rule if e is not None else None

        # The common case, no conjunctive flows in the table: the best rule of each subtable is its bucket's first.
        best = None
        bp = MIN_PRIORITY
        bs = 0
        wm = 0
        tctx: list | None = None
        for mp, ts, stages, ports in self._plan:
            if mp <= bp:
                if mp < bp:
                    break
                if ts > bs:
                    continue
            for cm, index, checks in stages:
                if checks is not None:
                    if tctx is None:
                        tctx = [None] * len(self._tries)
                    skip = False
                    for ti, plen, ofs, fmask, trie_lookup, pmasks in checks:
                        r = tctx[ti]
                        if r is None:
                            r = tctx[ti] = trie_lookup((key >> ofs) & fmask)
                        if not (r[0] >> plen) & 1:
                            pm = pmasks[r[1]]
                            if r[1] <= plen:
                                wm |= pm
                                skip = True
                                break
                            if (wm | wcm) & pm == pm:
                                skip = True
                                break
                    if skip:
                        break
                b = index.get(key & cm)
                if b is None:
                    if ports is not None and index is ports[0]:
                        wm |= _port_miss(key, cm, ports)
                    else:
                        wm |= cm
                    break
            else:
                wm |= cm
                e = b[0]
                p = e.priority
                if p > bp or (p == bp and e.serial < bs):
                    best = e
                    bp = p
                    bs = e.serial
        if wc is not None:
            wc.mask |= wm
        return best.rule if best is not None else None

    def _lookup_conj(self, key: int, wcm: int, allow_conj: bool) -> tuple[_Entry | None, int]:
        """The general lookup, aware of clause rules.  Returns the winning entry and the wildcards.

        With ``allow_conj`` False, clause rules are ignored (the ``conj_id`` search)."""
        hard = None
        hp = MIN_PRIORITY
        hs = 0
        soft: list[_Entry] = []
        wm = 0
        tctx: list | None = None
        for mp, ts, stages, ports in self._plan:
            if mp <= hp:
                if mp < hp:
                    break
                if ts > hs:
                    continue
            for cm, index, checks in stages:
                if checks is not None:
                    if tctx is None:
                        tctx = [None] * len(self._tries)
                    skip = False
                    for ti, plen, ofs, fmask, trie_lookup, pmasks in checks:
                        r = tctx[ti]
                        if r is None:
                            r = tctx[ti] = trie_lookup((key >> ofs) & fmask)
                        if not (r[0] >> plen) & 1:
                            pm = pmasks[r[1]]
                            if r[1] <= plen:
                                wm |= pm
                                skip = True
                                break
                            if (wm | wcm) & pm == pm:
                                skip = True
                                break
                    if skip:
                        break
                b = index.get(key & cm)
                if b is None:
                    if ports is not None and index is ports[0]:
                        wm |= _port_miss(key, cm, ports)
                    else:
                        wm |= cm
                    break
            else:
                wm |= cm
                for e in b:
                    p = e.priority
                    if p < hp:
                        break
                    if e.conj:
                        if allow_conj and p > hp:
                            soft.append(e)
                        continue
                    if p > hp or e.serial < hs:
                        hard = e
                        hp = p
                        hs = e.serial
                    break
        if not soft:
            return hard, wm
        soft = [e for e in soft if e.priority > hp]
        soft.sort(key=lambda e: -e.priority)
        i = 0
        while i < len(soft):
            p = soft[i].priority
            j = i
            clauses: dict[tuple[int, int], set[int]] = {}
            while j < len(soft) and soft[j].priority == p:
                for cid, k, n in soft[j].conj:
                    clauses.setdefault((cid, n), set()).add(k)
                j += 1
            for cid, _ in sorted(c for c, ks in clauses.items() if len(ks) == c[1]):
                k2 = (key & ~_CONJ_MASK) | (cid << _CONJ_OFS)
                e, wm2 = self._lookup_conj(k2, wcm | wm, False)
                wm |= wm2 & ~_CONJ_MASK
                if e is not None:
                    return e, wm
            i = j
        return hard, wm

    # -- queries -------------------------------------------------------------------------------------------------

    def find_exact(self, match: Match, priority: int) -> Any:
        """The rule with exactly ``match`` and ``priority`` (OpenFlow's strict modify and delete), or None."""
        e = self._exact.get((match.mask, match.value, priority))
        return e.rule if e is not None else None

    def find_loose(self, match: Match) -> Iterator[Any]:
        """Rules at least as specific as ``match`` (``match.covers(rule.match)``), for non-strict modify and
        delete; any priority, conjunctive clauses included."""
        mmask, mvalue = match.mask, match.value
        found: list[_Entry] = []
        for st in self._subtables.values():
            if mmask & ~st.mask:
                continue
            if st.mask == mmask:
                found.extend(st.table.get(mvalue, ()))
            else:
                for value, bucket in st.table.items():
                    if value & mmask == mvalue:
                        found.extend(bucket)
        return _best_first(found)

    def find_overlapping(self, match: Match, priority: int) -> Iterator[Any]:
        """Rules of exactly ``priority`` that some packet matches together with ``match`` (OpenFlow's
        ``OFPFF_CHECK_OVERLAP``)."""
        mmask, mvalue = match.mask, match.value
        found: list[_Entry] = []
        for st in self._subtables.values():
            if st.max_pri < priority or priority not in st._pri:
                continue
            common = st.mask & mmask
            if common == st.mask:
                candidates = [st.table.get(mvalue & common, [])]
            else:
                mv = mvalue & common
                candidates = [b for v, b in st.table.items() if v & common == mv]
            for bucket in candidates:
                found.extend(e for e in bucket if e.priority == priority)
        return _best_first(found)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Any]:
        return _best_first(list(self._entries.values()))

    def __contains__(self, rule: object) -> bool:
        return id(rule) in self._entries

    @property
    def n_subtables(self) -> int:
        """How many distinct masks the rules use (each one is a hash probe per lookup in the worst case)."""
        return len(self._subtables)


def _neg_priority(e: _Entry) -> int:
    return -e.priority


def _best_first(entries: list[_Entry]) -> Iterator[Any]:
    entries.sort(key=lambda e: (-e.priority, e.serial))
    return iter([e.rule for e in entries])


def _check_conj(conj: Any) -> tuple[tuple[int, int, int], ...]:
    conj = tuple(tuple(c) for c in conj) if conj else ()
    for c in conj:
        if len(c) != 3:
            raise ValueError(f"conjunction {c!r} is not (id, k, n)")
        cid, k, n = c
        if not (0 <= cid <= _CONJ_VMASK and 1 <= k <= n <= 64):
            raise ValueError(f"bad conjunction({cid}, {k}/{n})")
    return conj  # type: ignore[return-value]
