"""OVSDB values ("datums", RFC 7047 section 5.1) and their canonical JSON forms.

Every column value is a :class:`Datum`: a sorted tuple of distinct key atoms and, for a map, a parallel tuple of
values.  A scalar column holds a one-element datum, an optional column a zero- or one-element datum.  Keeping one
representation for all of them makes comparison, hashing, reference tracking and the set algebra of conditions and
mutations one piece of code.

JSON forms (RFC 7047 5.1): an atom (``5``, ``"x"``, ``["uuid", "..."]``), ``["set", [atom...]]`` or
``["map", [[key, value]...]]``.  A one-element set is written as its bare atom, as ovsdb-server does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .error import OVSDB_ERROR, OvsdbError, constraint_violation, syntax_error
from .types import SymbolTable, Type


class Datum:
    """An immutable OVSDB value: sorted distinct ``keys`` and, for maps, parallel ``values``."""

    __slots__ = ("_hash", "keys", "values")

    def __init__(self, keys: tuple[Any, ...], values: tuple[Any, ...] | None = None) -> None:
        self.keys = keys
        self.values = values
        self._hash: int | None = None

    # ---- construction ----

    @classmethod
    def from_set(cls, atoms: Iterable[Any]) -> Datum:
        return cls(tuple(sorted(set(atoms))))

    @classmethod
    def from_dict(cls, d: dict[Any, Any]) -> Datum:
        keys = tuple(sorted(d))
        return cls(keys, tuple(d[k] for k in keys))

    @classmethod
    def atom(cls, atom: Any) -> Datum:
        return cls((atom,))

    @classmethod
    def default(cls, type: Type) -> Datum:
        """The default value of ``type`` (RFC 7047 5.2.1): empty if ``min`` is 0, else one default atom."""
        if type.n_min == 0:
            return _EMPTY_MAP if type.value is not None else _EMPTY_SET
        if type.value is not None:
            return cls((type.key.default_atom(),), (type.value.default_atom(),))
        return cls((type.key.default_atom(),))

    @classmethod
    def from_json(cls, type: Type, json: Any, symtab: SymbolTable | None = None) -> Datum:
        """Parse ``json`` as a value of ``type``, checking its form and cardinality but not its constraints.

        Raises a "syntax error" for a malformed value and an "ovsdb error" for duplicate set elements or map keys,
        as ovsdb-server does.
        """
        key_t = type.key
        if type.value is not None:
            if not (isinstance(json, list) and len(json) == 2 and json[0] == "map" and isinstance(json[1], list)):
                raise syntax_error(json, 'expected ["map", <array>]')
            value_t = type.value
            pairs = []
            for elem in json[1]:
                if not (isinstance(elem, list) and len(elem) == 2):
                    raise syntax_error(elem, "expected 2-element array")
                pairs.append((key_t.parse_atom(elem[0], symtab), value_t.parse_atom(elem[1], symtab)))
            pairs.sort(key=_first)
            keys = tuple(p[0] for p in pairs)
            for i in range(1, len(keys)):
                if keys[i] == keys[i - 1]:
                    raise OvsdbError(OVSDB_ERROR, "map contains duplicate key")
            _check_count(type, len(keys), json, "map")
            return cls(keys, tuple(p[1] for p in pairs))
        if isinstance(json, list) and len(json) == 2 and json[0] == "set":
            if not isinstance(json[1], list):
                raise syntax_error(json, 'expected ["set", <array>]')
            atoms = sorted(key_t.parse_atom(a, symtab) for a in json[1])
            for i in range(1, len(atoms)):
                if atoms[i] == atoms[i - 1]:
                    raise OvsdbError(OVSDB_ERROR, "set contains duplicate")
            _check_count(type, len(atoms), json, "set")
            return cls(tuple(atoms))
        # A single atom: every type allows exactly one element (max is at least 1).
        return cls((key_t.parse_atom(json, symtab),))

    # ---- output ----

    def to_json(self, type: Type) -> Any:
        k = type.key
        if self.values is not None:
            v = type.value
            assert v is not None
            return ["map", [[k.atom_to_json(a), v.atom_to_json(b)] for a, b in zip(self.keys, self.values)]]
        if len(self.keys) == 1:
            return k.atom_to_json(self.keys[0])
        return ["set", [k.atom_to_json(a) for a in self.keys]]

    def to_python(self, type: Type) -> Any:
        """A convenient Python value: the atom of a scalar, atom-or-None for optional, list for sets, dict for maps."""
        if self.values is not None:
            return dict(zip(self.keys, self.values))
        if type.is_scalar():
            return self.keys[0]
        if type.n_max == 1:
            return self.keys[0] if self.keys else None
        return list(self.keys)

    # ---- validation ----

    def check_constraints(self, type: Type) -> None:
        """Raise "constraint violation" unless every atom satisfies ``type``'s constraints."""
        k = type.key
        if k.has_atom_constraints():
            for a in self.keys:
                k.check_atom(a)
        v = type.value
        if v is not None and self.values is not None and v.has_atom_constraints():
            for b in self.values:
                v.check_atom(b)

    def check_count(self, type: Type) -> None:
        n = len(self.keys)
        if n < type.n_min or n > type.n_max:
            raise constraint_violation(
                f"{'map' if type.value is not None else 'set'} must have {type.n_min} to {type.n_max} members "
                f"but {n} are present")

    # ---- comparisons and set algebra ----

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        return isinstance(other, Datum) and self.keys == other.keys and self.values == other.values

    def __ne__(self, other: object) -> bool:
        if self is other:
            return False
        return not (isinstance(other, Datum) and self.keys == other.keys and self.values == other.values)

    def __hash__(self) -> int:
        h = self._hash
        if h is None:
            h = self._hash = hash((self.keys, self.values))
        return h

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        if self.values is not None:
            return f"Datum({dict(zip(self.keys, self.values))!r})"
        return f"Datum({list(self.keys)!r})"

    def is_map(self) -> bool:
        return self.values is not None

    def as_dict(self) -> dict[Any, Any]:
        assert self.values is not None
        return dict(zip(self.keys, self.values))

    def atoms(self) -> Iterator[Any]:
        yield from self.keys
        if self.values is not None:
            yield from self.values

    def includes(self, arg: Datum) -> bool:
        """True if every element (or key-value pair) of ``arg`` is in this datum."""
        if self.values is None:
            mine = set(self.keys)
            return all(a in mine for a in arg.keys)
        d = self.as_dict()
        assert arg.values is not None
        return all(k in d and d[k] == v for k, v in zip(arg.keys, arg.values))

    def excludes(self, arg: Datum) -> bool:
        """True if no element (or key-value pair) of ``arg`` is in this datum."""
        if self.values is None:
            mine = set(self.keys)
            return not any(a in mine for a in arg.keys)
        d = self.as_dict()
        assert arg.values is not None
        return not any(k in d and d[k] == v for k, v in zip(arg.keys, arg.values))

    def union(self, arg: Datum) -> Datum:
        """Set union; for maps, add the pairs of ``arg`` whose keys are not present yet (RFC 7047 "insert")."""
        if self.values is None:
            return Datum(tuple(sorted(set(self.keys).union(arg.keys))))
        d = self.as_dict()
        assert arg.values is not None
        for k, v in zip(arg.keys, arg.values):
            d.setdefault(k, v)
        return Datum.from_dict(d)

    def difference(self, arg: Datum) -> Datum:
        """Remove elements of ``arg``; for a map, ``arg`` may be a map (pairs) or a set of keys."""
        if self.values is None:
            drop = set(arg.keys)
            return Datum(tuple(a for a in self.keys if a not in drop))
        if arg.values is None:
            drop = set(arg.keys)
            kept = [(k, v) for k, v in zip(self.keys, self.values) if k not in drop]
        else:
            pairs = set(zip(arg.keys, arg.values))
            kept = [(k, v) for k, v in zip(self.keys, self.values) if (k, v) not in pairs]
        return Datum(tuple(p[0] for p in kept), tuple(p[1] for p in kept))

    def diff(self, new: Datum, type: Type) -> Datum:
        """The update2 "modify" difference from this (old) value to ``new`` (ovsdb-server(7) 4.1.14).

        Columns of at most one atom (scalars and optional values): the new value, as ovsdb-server sends and logs
        it.  Sets: the symmetric difference.  Maps: pairs whose key is in only one of the two, plus pairs whose
        key is in both with a different value (taking the new value).
        """
        if type.value is None and type.n_max == 1:
            return new
        if self.values is None:
            return Datum(tuple(sorted(set(self.keys).symmetric_difference(new.keys))))
        old = self.as_dict()
        nd = new.as_dict()
        out: dict[Any, Any] = {}
        for k, v in old.items():
            if k not in nd:
                out[k] = v
        for k, v in nd.items():
            if k not in old or old[k] != v:
                out[k] = v
        return Datum.from_dict(out)

    def apply_diff(self, diff: Datum, type: Type) -> Datum:
        """Inverse of :meth:`diff`: the new value given the old value (self) and the difference."""
        if type.value is None and type.n_max == 1:
            return diff
        if self.values is None:
            return Datum(tuple(sorted(set(self.keys).symmetric_difference(diff.keys))))
        d = self.as_dict()
        assert diff.values is not None
        for k, v in zip(diff.keys, diff.values):
            if k not in d:
                d[k] = v
            elif d[k] == v:
                del d[k]
            else:
                d[k] = v
        return Datum.from_dict(d)


def _first(p: tuple[Any, Any]) -> Any:
    return p[0]


def _check_count(type: Type, n: int, json: Any, what: str) -> None:
    if n < type.n_min or n > type.n_max:
        raise syntax_error(json, f"{what} must have {type.n_min} to {type.n_max} members but {n} are present")


_EMPTY_SET = Datum(())
_EMPTY_MAP = Datum((), ())
EMPTY_SET = _EMPTY_SET
EMPTY_MAP = _EMPTY_MAP
