"""Mutations (RFC 7047 section 5.1 ``<mutation>``): ``[column, mutator, value]``.

Arithmetic mutators (``+=`` ``-=`` ``*=`` ``/=`` ``%=``) apply to every element of an integer or real column
(``%=`` to integers only); their argument is an unconstrained atom, and the result must satisfy the column's
constraints ("constraint violation"), stay within 64 bits ("range error"), not divide by zero ("domain error"), and
not make two set elements equal ("constraint violation").  Integer division and remainder truncate toward zero, as
in C, because that is what ovsdb-server computes.

``insert`` and ``delete`` apply to sets and maps.  Inserting into a map adds only the pairs whose keys are absent;
deleting from a map takes either a map (pairs that match key and value) or a set of keys.  The result must have a
size within the column's ``min``..``max``.
"""

from __future__ import annotations

import math
from typing import Any

from .data import Datum
from .error import (
    DOMAIN_ERROR,
    RANGE_ERROR,
    UNKNOWN_COLUMN,
    UNKNOWN_MUTATOR,
    OvsdbError,
    constraint_violation,
    syntax_error,
)
from .schema import ColumnSchema, TableSchema
from .types import INT64_MAX, INT64_MIN, INTEGER, REAL, UNLIMITED, SymbolTable, Type

MUTATORS = ("+=", "-=", "*=", "/=", "%=", "insert", "delete")
ARITHMETIC = ("+=", "-=", "*=", "/=", "%=")


def _c_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _int_op(op: str, a: int, b: int) -> int:
    if op == "+=":
        r = a + b
    elif op == "-=":
        r = a - b
    elif op == "*=":
        r = a * b
    elif op == "/=":
        if b == 0:
            raise OvsdbError(DOMAIN_ERROR, "Division by zero.")
        r = _c_div(a, b)
    else:
        if b == 0:
            raise OvsdbError(DOMAIN_ERROR, "Division by zero.")
        r = a - b * _c_div(a, b)
    if not INT64_MIN <= r <= INT64_MAX:
        raise OvsdbError(RANGE_ERROR, f'Result of "{op}" operation is out of range.')
    return r


def _real_op(op: str, a: float, b: float) -> float:
    if op == "+=":
        r = a + b
    elif op == "-=":
        r = a - b
    elif op == "*=":
        r = a * b
    else:
        if b == 0:
            raise OvsdbError(DOMAIN_ERROR, "Division by zero.")
        r = a / b
    if not math.isfinite(r):
        raise OvsdbError(RANGE_ERROR, f'Result of "{op}" operation is out of range.')
    return r


class Mutation:
    __slots__ = ("arg", "arg_is_keys", "column", "mutator")

    def __init__(self, column: ColumnSchema, mutator: str, arg: Any, arg_is_keys: bool = False) -> None:
        self.column = column
        self.mutator = mutator
        self.arg = arg              # an atom for arithmetic, a Datum for insert/delete
        self.arg_is_keys = arg_is_keys  # "delete" on a map given a set of keys

    @classmethod
    def from_json(cls, table: TableSchema, json: Any, symtab: SymbolTable | None = None) -> Mutation:
        if not (isinstance(json, list) and len(json) == 3 and isinstance(json[0], str)
                and isinstance(json[1], str)):
            raise syntax_error(json, "Parse error in mutation.")
        name, mutator, value = json
        column = table.get_column(name)
        if column is None:
            raise OvsdbError(UNKNOWN_COLUMN, f"No column {name} in table {table.name}.", json, has_syntax=True)
        if not column.mutable:
            raise OvsdbError("constraint violation", f"Cannot mutate immutable column {name} in table "
                             f"{table.name}.", json, has_syntax=True)
        if mutator not in MUTATORS:
            raise OvsdbError(UNKNOWN_MUTATOR, f"No mutator named {mutator}.")
        ctype = column.type
        if mutator in ARITHMETIC:
            ok = ctype.value is None and (ctype.key.type == INTEGER or (ctype.key.type == REAL and mutator != "%="))
            if not ok:
                raise syntax_error(json, f'Type mismatch: "{mutator}" operator may not be applied to column '
                                         f"{name} of type {ctype.english()}.")
            atom = ctype.key.without_constraints().parse_atom(value, symtab)
            return cls(column, mutator, atom)
        if ctype.is_scalar():
            raise syntax_error(json, f'Type mismatch: "{mutator}" operator may not be applied to column '
                                     f"{name} of type {ctype.english()}.")
        if (mutator == "delete" and ctype.value is not None
                and not (isinstance(value, list) and len(value) == 2 and value[0] == "map")):
            keys_type = Type(ctype.key, None, 0, UNLIMITED)
            arg = Datum.from_json(keys_type, value, symtab)
            arg.check_constraints(keys_type)
            return cls(column, mutator, arg, True)
        arg_type = ctype.relaxed(0, UNLIMITED)
        arg = Datum.from_json(arg_type, value, symtab)
        arg.check_constraints(arg_type)
        return cls(column, mutator, arg)

    def apply(self, old: Datum) -> Datum:
        """The new value of the column, or an OvsdbError."""
        ctype = self.column.type
        m = self.mutator
        if m in ARITHMETIC:
            op = _int_op if ctype.key.type == INTEGER else _real_op
            b = self.arg
            new_keys = [op(m, a, b) for a in old.keys]
            for a in new_keys:
                ctype.key.check_atom(a)
            new_keys.sort()
            for i in range(1, len(new_keys)):
                if new_keys[i] == new_keys[i - 1]:
                    raise constraint_violation(f'Result of "{m}" operation contains duplicates.')
            return Datum(tuple(new_keys))
        if m == "insert":
            new = old.union(self.arg)
        else:
            new = old.difference(self.arg)
        n = len(new.keys)
        if n < ctype.n_min or n > ctype.n_max:
            raise constraint_violation(f"Attempted to store {n} elements in {ctype.english()}.")
        return new
