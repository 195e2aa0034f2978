"""OVSDB column types (RFC 7047 section 3.2): atomic types, base types with constraints, and full types.

A column's :class:`Type` has a key :class:`BaseType`, an optional value :class:`BaseType` (then it is a map),
and a cardinality ``n_min``..``n_max``.  A :class:`BaseType` is an atomic type plus constraints: ``enum``,
integer and real ranges, string lengths, and for uuids a ``refTable`` with a strong or weak ``refType``.

Atoms are plain Python values, chosen so that sorting and hashing them is cheap and canonical:

=========  ==========================================================================
integer    ``int`` in the signed 64-bit range
real       ``float``, finite
boolean    ``bool``
string     ``str``
uuid       ``str`` in canonical lowercase form (sorting such strings orders UUIDs
           the same way as comparing their 128-bit values)
=========  ==========================================================================

The type of a value is always known from the schema, so a uuid atom never needs to be told apart from a string.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from .error import OvsdbError, constraint_violation, syntax_error

INTEGER = "integer"
REAL = "real"
BOOLEAN = "boolean"
STRING = "string"
UUID = "uuid"
ATOMIC_TYPES = (INTEGER, REAL, BOOLEAN, STRING, UUID)

# The largest "max" a type may have.  "unlimited" is stored as this value, as ovsdb-server does (UINT_MAX).
UNLIMITED = 4294967295
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

ZERO_UUID = "00000000-0000-0000-0000-000000000000"

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ID_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

# A symbol table maps the name of a "named-uuid" to the UUID that a transaction chose for it.
SymbolTable = Callable[[str], str]


def is_valid_uuid(s: Any) -> bool:
    return isinstance(s, str) and _UUID_RE.match(s) is not None


def is_id(s: Any) -> bool:
    """True if ``s`` is an RFC 7047 ``<id>``: ``[a-zA-Z_][a-zA-Z0-9_]*``."""
    return isinstance(s, str) and _ID_RE.match(s) is not None


def parse_uuid(s: Any) -> str:
    """Canonical form of the UUID string ``s``; a syntax error if it is not one."""
    if not is_valid_uuid(s):
        raise syntax_error(s, "bad uuid")
    return s.lower()


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float))) and not isinstance(v, bool)


def _fmt_real(x: float) -> str:
    return repr(x) if not x.is_integer() else str(int(x)) if abs(x) < 1e16 else repr(x)


def _parse_string(json: Any, symtab: SymbolTable | None) -> Any:
    if isinstance(json, str):
        return json
    raise syntax_error(json, "expected string")


def _parse_integer(json: Any, symtab: SymbolTable | None) -> Any:
    if _is_int(json) and INT64_MIN <= json <= INT64_MAX:
        return json
    raise syntax_error(json, "expected integer")


def _parse_boolean(json: Any, symtab: SymbolTable | None) -> Any:
    if isinstance(json, bool):
        return json
    raise syntax_error(json, "expected boolean")


def _parse_real(json: Any, symtab: SymbolTable | None) -> Any:
    if _is_number(json) and (not isinstance(json, float) or math.isfinite(json)):
        if _is_int(json) and not (INT64_MIN <= json <= INT64_MAX):
            raise syntax_error(json, "expected real")
        return float(json)
    raise syntax_error(json, "expected real")


def _parse_uuid(json: Any, symtab: SymbolTable | None) -> Any:
    if type(json) is list and len(json) == 2:
        kind, value = json
        if kind == "uuid":
            if type(value) is str and _UUID_RE.match(value):
                return value if value.islower() or value.isdigit() else value.lower()
            raise syntax_error(json, f'"{value}" is not a valid UUID')
        if kind == "named-uuid":
            if not is_id(value):
                raise syntax_error(json, "named-uuid string is not a valid <id>")
            if symtab is None:
                raise syntax_error(json, "named-uuid not allowed in this context")
            return symtab(value)
    raise syntax_error(json, "expected uuid")


_ATOM_PARSERS = {STRING: _parse_string, INTEGER: _parse_integer, BOOLEAN: _parse_boolean, REAL: _parse_real,
                 UUID: _parse_uuid}


class BaseType:
    """An atomic type with its constraints (RFC 7047 ``<base-type>``)."""

    __slots__ = (
        "enum",
        "enum_set",
        "max_integer",
        "max_length",
        "max_real",
        "min_integer",
        "min_length",
        "min_real",
        "ref_table",
        "ref_type",
        "type",
    )

    def __init__(self, type: str, *, enum: tuple[Any, ...] | None = None,
                 min_integer: int | None = None, max_integer: int | None = None,
                 min_real: float | None = None, max_real: float | None = None,
                 min_length: int | None = None, max_length: int | None = None,
                 ref_table: str | None = None, ref_type: str = "strong") -> None:
        self.type = type
        self.enum = tuple(sorted(set(enum))) if enum is not None else None
        self.enum_set = frozenset(enum) if enum is not None else None
        self.min_integer = min_integer
        self.max_integer = max_integer
        self.min_real = min_real
        self.max_real = max_real
        self.min_length = min_length
        self.max_length = max_length
        self.ref_table = ref_table
        self.ref_type = ref_type

    # ---- construction from and conversion to JSON ----

    @classmethod
    def from_json(cls, json: Any) -> BaseType:
        if isinstance(json, str):
            if json not in ATOMIC_TYPES:
                raise syntax_error(json, f'unknown atomic type "{json}"')
            return cls(json)
        if not isinstance(json, dict):
            raise syntax_error(json, "base type must be a string or an object")
        allowed = {"type", "enum", "minInteger", "maxInteger", "minReal", "maxReal", "minLength", "maxLength",
                   "refTable", "refType"}
        for k in json:
            if k not in allowed:
                raise syntax_error(json, f"Member '{k}' is present but not allowed here.")
        t = json.get("type")
        if t not in ATOMIC_TYPES:
            raise syntax_error(json, f"unknown atomic type {t!r}")
        base = cls(t)
        if "enum" in json:
            # The enum is itself a datum of this (unconstrained) atomic type, of any size.
            from .data import Datum
            enum_type = Type(BaseType(t), None, 1, UNLIMITED)
            base.enum = Datum.from_json(enum_type, json["enum"]).keys
            base.enum_set = frozenset(base.enum)
        if t == INTEGER:
            base.min_integer = cls._opt_int(json, "minInteger")
            base.max_integer = cls._opt_int(json, "maxInteger")
            if (base.min_integer is not None and base.max_integer is not None
                    and base.min_integer > base.max_integer):
                raise syntax_error(json, "minInteger exceeds maxInteger")
        elif t == REAL:
            base.min_real = cls._opt_real(json, "minReal")
            base.max_real = cls._opt_real(json, "maxReal")
            if base.min_real is not None and base.max_real is not None and base.min_real > base.max_real:
                raise syntax_error(json, "minReal exceeds maxReal")
        elif t == STRING:
            base.min_length = cls._opt_int(json, "minLength", 0)
            base.max_length = cls._opt_int(json, "maxLength", 0)
            if base.min_length is not None and base.max_length is not None and base.min_length > base.max_length:
                raise syntax_error(json, "minLength exceeds maxLength")
        elif t == UUID:
            ref = json.get("refTable")
            if ref is not None:
                if not is_id(ref):
                    raise syntax_error(json, "refTable must be a table name")
                base.ref_table = ref
                rt = json.get("refType", "strong")
                if rt not in ("strong", "weak"):
                    raise syntax_error(json, 'refType must be "strong" or "weak"')
                base.ref_type = rt
            elif "refType" in json:
                raise syntax_error(json, "refType requires refTable")
        for k in ("minInteger", "maxInteger", "minReal", "maxReal", "minLength", "maxLength", "refTable"):
            if k in json and not cls._applies(t, k):
                raise syntax_error(json, f"{k} is not allowed for type {t}")
        return base

    @staticmethod
    def _applies(t: str, member: str) -> bool:
        return {"minInteger": INTEGER, "maxInteger": INTEGER, "minReal": REAL, "maxReal": REAL,
                "minLength": STRING, "maxLength": STRING, "refTable": UUID}[member] == t

    @staticmethod
    def _opt_int(json: dict[str, Any], name: str, minimum: int = INT64_MIN) -> int | None:
        if name not in json:
            return None
        v = json[name]
        if not _is_int(v) or not (minimum <= v <= INT64_MAX):
            raise syntax_error(json, f"{name} must be an integer")
        return v

    @staticmethod
    def _opt_real(json: dict[str, Any], name: str) -> float | None:
        if name not in json:
            return None
        v = json[name]
        if not _is_number(v) or not math.isfinite(v):
            raise syntax_error(json, f"{name} must be a number")
        return float(v)

    def has_constraints(self) -> bool:
        return (self.enum is not None or self.min_integer is not None or self.max_integer is not None
                or self.min_real is not None or self.max_real is not None or self.min_length is not None
                or self.max_length is not None or self.ref_table is not None)

    def has_atom_constraints(self) -> bool:
        """True if :meth:`check_atom` can fail (references are checked at commit, not per atom)."""
        return (self.enum is not None or self.min_integer is not None or self.max_integer is not None
                or self.min_real is not None or self.max_real is not None or self.min_length is not None
                or self.max_length is not None)

    def to_json(self) -> Any:
        if not self.has_constraints():
            return self.type
        obj: dict[str, Any] = {"type": self.type}
        if self.enum is not None:
            obj["enum"] = ["set", [self.atom_to_json(a) for a in self.enum]]
        for key, val in (("minInteger", self.min_integer), ("maxInteger", self.max_integer),
                         ("minReal", self.min_real), ("maxReal", self.max_real),
                         ("minLength", self.min_length), ("maxLength", self.max_length),
                         ("refTable", self.ref_table)):
            if val is not None:
                obj[key] = val
        if self.ref_table is not None and self.ref_type != "strong":
            obj["refType"] = self.ref_type
        return obj

    def without_constraints(self) -> BaseType:
        """The same atomic type with no constraints (and so, for uuids, no reference)."""
        return BaseType(self.type)

    def is_strong_ref(self) -> bool:
        return self.ref_table is not None and self.ref_type == "strong"

    def is_weak_ref(self) -> bool:
        return self.ref_table is not None and self.ref_type == "weak"

    # ---- atoms ----

    def default_atom(self) -> Any:
        return {INTEGER: 0, REAL: 0.0, BOOLEAN: False, STRING: "", UUID: ZERO_UUID}[self.type]

    def parse_atom(self, json: Any, symtab: SymbolTable | None = None) -> Any:
        """The atom that ``json`` denotes, without checking constraints (see :meth:`check_atom`)."""
        return _ATOM_PARSERS[self.type](json, symtab)

    def atom_to_json(self, atom: Any) -> Any:
        if self.type == UUID:
            return ["uuid", atom]
        return atom

    def check_atom(self, atom: Any) -> None:
        """Raise a "constraint violation" unless ``atom`` satisfies this type's constraints."""
        if self.enum_set is not None and atom not in self.enum_set:
            allowed = ", ".join(self._atom_text(a) for a in self.enum)  # type: ignore[union-attr]
            raise constraint_violation(f"{self._atom_text(atom)} is not one of the allowed values ([{allowed}])")
        t = self.type
        if t == INTEGER:
            lo, hi = self.min_integer, self.max_integer
            if lo is not None and hi is not None:
                if not lo <= atom <= hi:
                    raise constraint_violation(f"{atom} is not in the valid range {lo} to {hi} (inclusive)")
            elif lo is not None and atom < lo:
                raise constraint_violation(f"{atom} is less than minimum allowed value {lo}")
            elif hi is not None and atom > hi:
                raise constraint_violation(f"{atom} is greater than maximum allowed value {hi}")
        elif t == REAL:
            flo, fhi = self.min_real, self.max_real
            if flo is not None and fhi is not None:
                if not flo <= atom <= fhi:
                    raise constraint_violation(f"{_fmt_real(atom)} is not in the valid range "
                                               f"{_fmt_real(flo)} to {_fmt_real(fhi)} (inclusive)")
            elif flo is not None and atom < flo:
                raise constraint_violation(f"{_fmt_real(atom)} is less than minimum allowed value {_fmt_real(flo)}")
            elif fhi is not None and atom > fhi:
                raise constraint_violation(
                    f"{_fmt_real(atom)} is greater than maximum allowed value {_fmt_real(fhi)}")
        elif t == STRING:
            n = len(atom)
            if self.min_length is not None and n < self.min_length:
                raise constraint_violation(f'"{atom}" length {n} is less than minimum allowed length '
                                           f"{self.min_length}")
            if self.max_length is not None and n > self.max_length:
                raise constraint_violation(f'"{atom}" length {n} is greater than maximum allowed length '
                                           f"{self.max_length}")

    def _atom_text(self, atom: Any) -> str:
        if self.type == BOOLEAN:
            return "true" if atom else "false"
        if self.type == REAL:
            return _fmt_real(atom)
        return str(atom)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BaseType) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(self.type)

    def __repr__(self) -> str:
        return f"BaseType({self.to_json()!r})"


class Type:
    """A column type (RFC 7047 ``<type>``): key and optional value base types and a cardinality."""

    __slots__ = ("key", "n_max", "n_min", "value")

    def __init__(self, key: BaseType, value: BaseType | None = None, n_min: int = 1, n_max: int = 1) -> None:
        self.key = key
        self.value = value
        self.n_min = n_min
        self.n_max = n_max

    @classmethod
    def from_json(cls, json: Any) -> Type:
        if isinstance(json, str):
            return cls(BaseType.from_json(json))
        if not isinstance(json, dict):
            raise syntax_error(json, "type must be a string or an object")
        for k in json:
            if k not in ("key", "value", "min", "max"):
                raise syntax_error(json, f"Member '{k}' is present but not allowed here.")
        if "key" not in json:
            raise syntax_error(json, "Required 'key' member is missing.")
        key = BaseType.from_json(json["key"])
        value = BaseType.from_json(json["value"]) if "value" in json else None
        n_min = json.get("min", 1)
        if not _is_int(n_min) or n_min not in (0, 1):
            raise syntax_error(json, "min must be 0 or 1")
        n_max_j = json.get("max", 1)
        if n_max_j == "unlimited":
            n_max = UNLIMITED
        elif _is_int(n_max_j) and 1 <= n_max_j <= UNLIMITED:
            n_max = n_max_j
        else:
            raise syntax_error(json, 'max must be a positive integer or "unlimited"')
        if n_max < n_min:
            raise syntax_error(json, "ovsdb type fails constraint checks")
        return cls(key, value, n_min, n_max)

    def to_json(self) -> Any:
        if self.value is None and self.n_min == 1 and self.n_max == 1 and not self.key.has_constraints():
            return self.key.type
        obj: dict[str, Any] = {"key": self.key.to_json()}
        if self.value is not None:
            obj["value"] = self.value.to_json()
        if self.n_min != 1:
            obj["min"] = self.n_min
        if self.n_max != 1:
            obj["max"] = "unlimited" if self.n_max == UNLIMITED else self.n_max
        return obj

    # ---- classification, as RFC 7047 and ovsdb-server use the words ----

    def is_map(self) -> bool:
        return self.value is not None

    def is_scalar(self) -> bool:
        """Exactly one atom and no value: the JSON form is always a bare atom."""
        return self.value is None and self.n_min == 1 and self.n_max == 1

    def is_optional(self) -> bool:
        return self.n_min == 0 and self.n_max == 1

    def is_set(self) -> bool:
        return self.value is None and not (self.n_min == 1 and self.n_max == 1)

    def is_optional_number(self) -> bool:
        """A "set of 0 or 1 integer/real": the relational operators apply to it (ovsdb-server(7) 5.1)."""
        return self.value is None and self.n_max == 1 and self.key.type in (INTEGER, REAL)

    def has_refs(self) -> bool:
        return self.key.ref_table is not None or (self.value is not None and self.value.ref_table is not None)

    def has_strong_refs(self) -> bool:
        return self.key.is_strong_ref() or (self.value is not None and self.value.is_strong_ref())

    def has_weak_refs(self) -> bool:
        return self.key.is_weak_ref() or (self.value is not None and self.value.is_weak_ref())

    def relaxed(self, n_min: int = 0, n_max: int = UNLIMITED) -> Type:
        """This type with a different cardinality (used to parse condition and mutation arguments)."""
        return Type(self.key, self.value, n_min, n_max)

    def unconstrained(self) -> Type:
        return Type(self.key.without_constraints(),
                    self.value.without_constraints() if self.value is not None else None,
                    self.n_min, self.n_max)

    def english(self) -> str:
        """A description such as "set of up to 4096 integers", used in error details as ovsdb-server words them."""
        k = self.key.type
        if self.value is not None:
            return f"map of ({k}, {self.value.type}) pairs"
        if self.is_scalar():
            return k
        if self.n_min == 0 and self.n_max == UNLIMITED:
            return f"set of {k}s"
        if self.n_max == UNLIMITED:
            return f"set of {self.n_min} or more {k}s"
        if self.n_min == 0:
            return f"set of up to {self.n_max} {k}s"
        return f"set of {self.n_min} to {self.n_max} {k}s"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Type) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash((self.key.type, self.n_min, self.n_max))

    def __repr__(self) -> str:
        return f"Type({self.to_json()!r})"


def check_uuid_name(name: Any) -> str:
    if not is_id(name):
        raise OvsdbError("syntax error", "uuid-name must be an <id>", name, has_syntax=True)
    return name
