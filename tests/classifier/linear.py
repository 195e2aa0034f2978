"""The reference classifier: a list of rules scanned in priority order.

It is the definition the real classifier is tested against, so it is written to be obviously right rather than
fast.  Semantics (the same as ``pyvswitch.classifier``):

* A rule matches a key when ``key & rule.match.mask == rule.match.value``.
* Among matching rules the highest priority wins; among equal priorities, the one inserted first.  ``replace``
  keeps the replaced rule's place in that order.
* Clause rules (non-empty ``conjunctions``) never match as themselves.  Going down the priorities of the matching
  rules: an ordinary rule at priority ``p`` is the answer; otherwise each conjunctive flow ``(id, n)`` whose
  clauses ``1..n`` all have a matching clause rule at ``p`` is satisfied, and in increasing ``(id, n)`` order the
  table is searched again, ordinary rules only, with ``conj_id`` set to ``id``; the first rule found is the answer.
  If there is none, the search goes on at lower priorities.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pyvswitch.flow import fields as F
from pyvswitch.flow.match import Match

_CONJ_ID = F.BY_NAME["conj_id"]


class LinearClassifier:
    def __init__(self) -> None:
        self._rules: list[Any] = []          # in tie-break order: earliest inserted first

    def insert(self, rule: Any) -> None:
        if any(r is rule for r in self._rules):
            raise ValueError("already in")
        if self.find_exact(rule.match, rule.priority) is not None:
            raise ValueError("duplicate match and priority")
        self._rules.append(rule)

    def replace(self, rule: Any) -> Any:
        for i, r in enumerate(self._rules):
            if r.match == rule.match and r.priority == rule.priority:
                self._rules[i] = rule
                return r
        self._rules.append(rule)
        return None

    def remove(self, rule: Any) -> None:
        for i, r in enumerate(self._rules):
            if r is rule:
                del self._rules[i]
                return
        raise ValueError("not in")

    def _ordered(self) -> list[Any]:
        # A stable sort keeps insertion order within a priority.
        return sorted(self._rules, key=lambda r: -r.priority)

    def lookup(self, key: int, allow_conj: bool = True) -> Any:
        matching = [r for r in self._ordered() if r.match.matches(key)]
        for p in sorted({r.priority for r in matching}, reverse=True):
            at_p = [r for r in matching if r.priority == p]
            ordinary = [r for r in at_p if not r.conjunctions]
            if ordinary:
                return ordinary[0]
            if not allow_conj:
                continue
            clauses: dict[tuple[int, int], set[int]] = {}
            for r in at_p:
                for cid, k, n in r.conjunctions:
                    clauses.setdefault((cid, n), set()).add(k)
            for cid, n in sorted(clauses):
                if clauses[(cid, n)] == set(range(1, n + 1)):
                    found = self.lookup(F.put(key, _CONJ_ID, cid), allow_conj=False)
                    if found is not None:
                        return found
        return None

    def find_exact(self, match: Match, priority: int) -> Any:
        for r in self._rules:
            if r.match == match and r.priority == priority:
                return r
        return None

    def find_loose(self, match: Match) -> Iterator[Any]:
        return iter([r for r in self._ordered() if match.covers(r.match)])

    def find_overlapping(self, match: Match, priority: int) -> Iterator[Any]:
        return iter([r for r in self._ordered() if r.priority == priority and r.match.overlaps(match)])

    def __len__(self) -> int:
        return len(self._rules)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._ordered())
