"""Conditions (RFC 7047 section 5.1 ``<condition>``) and their evaluation against rows.

A ``where`` clause is an array of conditions ``[column, function, value]``, or booleans (an ovsdb-server
extension).  In a transaction they are combined with AND; in ``monitor_cond`` they are combined with OR (an empty
array meaning true), which is how ovsdb-server and its clients use them.

Argument typing follows ovsdb-server: the value is parsed with the column's type, constraints included, except that
``includes`` and ``excludes`` accept any number of elements from zero up to the column's maximum.  ``<``, ``<=``,
``>``, ``>=`` apply to integer and real columns with at most one element (ovsdb-server(7) 5.1); on an empty
optional column they are false.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .data import Datum
from .error import UNKNOWN_COLUMN, UNKNOWN_FUNCTION, OvsdbError, syntax_error
from .schema import ColumnSchema, TableSchema
from .types import SymbolTable, Type

FUNCTIONS = ("<", "<=", "==", "!=", ">=", ">", "includes", "excludes")
RELATIONAL = ("<", "<=", ">=", ">")

_RELOPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def column_value(row: Any, column: ColumnSchema) -> Datum:
    """The value of ``column`` in ``row`` (a :class:`~pyvswitch.db.database.Row`), implicit columns included."""
    name = column.name
    if name == "_uuid":
        return Datum((row.uuid,))
    if name == "_version":
        return Datum((row.version,))
    return row.data[name]


class Clause:
    __slots__ = ("arg", "column", "constant", "function")

    def __init__(self, column: ColumnSchema | None, function: str, arg: Datum | None,
                 constant: bool | None = None) -> None:
        self.column = column
        self.function = function
        self.arg = arg
        self.constant = constant

    @classmethod
    def from_json(cls, table: TableSchema, json: Any, symtab: SymbolTable | None = None) -> Clause:
        if isinstance(json, bool):
            return cls(None, "==", None, json)
        if not (isinstance(json, list) and len(json) == 3 and isinstance(json[0], str)
                and isinstance(json[1], str)):
            raise syntax_error(json, "Parse error in condition.")
        name, function, value = json
        column = table.get_column(name)
        if column is None:
            raise OvsdbError(UNKNOWN_COLUMN, f"No column {name} in table {table.name}.", json, has_syntax=True)
        if function not in FUNCTIONS:
            raise OvsdbError(UNKNOWN_FUNCTION, f"No function named {function}.")
        ctype = column.type
        if function in RELATIONAL:
            if not ctype.is_optional_number():
                raise syntax_error(json, f'Type mismatch: "{function}" operator may not be applied to column '
                                         f"{name} of type {ctype.english()}.")
            arg_type = Type(ctype.key, None, 1, 1)
        elif function in ("includes", "excludes"):
            arg_type = ctype.relaxed(0, ctype.n_max)
        else:
            arg_type = ctype
        arg = Datum.from_json(arg_type, value, symtab)
        arg.check_constraints(arg_type)
        return cls(column, function, arg)

    def to_json(self) -> Any:
        if self.column is None:
            return self.constant
        assert self.arg is not None
        return [self.column.name, self.function, self.arg.to_json(self.column.type)]

    def evaluate(self, row: Any) -> bool:
        if self.column is None:
            return bool(self.constant)
        value = column_value(row, self.column)
        f = self.function
        arg = self.arg
        assert arg is not None
        if f == "==":
            return value == arg
        if f == "!=":
            return value != arg
        if f == "includes":
            return value.includes(arg)
        if f == "excludes":
            return value.excludes(arg)
        if not value.keys:
            return False
        return _RELOPS[f](value.keys[0], arg.keys[0])


class Condition:
    """A parsed ``where`` array: a list of :class:`Clause`."""

    __slots__ = ("clauses",)

    def __init__(self, clauses: list[Clause]) -> None:
        self.clauses = clauses

    @classmethod
    def from_json(cls, table: TableSchema, json: Any, symtab: SymbolTable | None = None) -> Condition:
        if not isinstance(json, list):
            raise syntax_error(json, "where must be an array of conditions")
        return cls([Clause.from_json(table, c, symtab) for c in json])

    def to_json(self) -> list[Any]:
        return [c.to_json() for c in self.clauses]

    def is_true(self) -> bool:
        return all(c.column is None and c.constant for c in self.clauses)

    def uuid_lookup(self) -> str | None:
        """The row UUID if one clause is ``_uuid == <uuid>`` (lets a transaction skip a table scan)."""
        for c in self.clauses:
            if c.column is not None and c.column.name == "_uuid" and c.function == "==" and c.arg is not None:
                return c.arg.keys[0]
        return None

    def matches_all(self, row: Any) -> bool:
        """Transaction semantics: every clause holds (an empty condition is true)."""
        for c in self.clauses:
            if not c.evaluate(row):
                return False
        return True

    def matches_any(self, row: Any) -> bool:
        """``monitor_cond`` semantics: some clause holds; an empty condition is true."""
        if not self.clauses:
            return True
        for c in self.clauses:
            if c.evaluate(row):
                return True
        return False
