"""OVSDB errors as RFC 7047 defines them.

Every failure that a client can cause is an :class:`OvsdbError`.  Its ``error`` member is one of the short
strings of RFC 7047 (section 3.1 and 4.1.3) or of ovsdb-server(7), which clients compare literally, so they live
here as constants; ``details`` is a human-readable sentence; ``syntax`` (optional) is the JSON text that could not
be parsed, as ovsdb-server reports it.
"""

from __future__ import annotations

import json
from typing import Any

# Error strings of RFC 7047 section 4.1.3 (transaction errors) and ovsdb-server(7) section 3.1 (extensions).
REFERENTIAL_INTEGRITY = "referential integrity violation"
CONSTRAINT_VIOLATION = "constraint violation"
RESOURCES_EXHAUSTED = "resources exhausted"
IO_ERROR = "I/O error"
DUPLICATE_UUID_NAME = "duplicate uuid-name"
DUPLICATE_UUID = "duplicate uuid"
DOMAIN_ERROR = "domain error"
RANGE_ERROR = "range error"
TIMED_OUT = "timed out"
NOT_SUPPORTED = "not supported"
ABORTED = "aborted"
NOT_OWNER = "not owner"
SYNTAX_ERROR = "syntax error"
UNKNOWN_COLUMN = "unknown column"
UNKNOWN_FUNCTION = "unknown function"
UNKNOWN_MUTATOR = "unknown mutator"
UNKNOWN_DATABASE = "unknown database"
UNKNOWN_METHOD = "unknown method"
UNKNOWN_MONITOR = "unknown monitor"
NOT_ALLOWED = "not allowed"
OVSDB_ERROR = "ovsdb error"
INTERNAL_ERROR = "internal error"
CANCELED = "canceled"


def json_text(value: Any) -> str:
    """Compact JSON text of ``value``, as it appears in a ``syntax`` member."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


class OvsdbError(Exception):
    """An error that becomes an RFC 7047 ``<error>`` object: ``{"error": ..., "details": ..., "syntax": ...}``."""

    def __init__(self, error: str, details: str | None = None, syntax: Any = None, *,
                 has_syntax: bool = False) -> None:
        super().__init__(f"{error}: {details}" if details else error)
        self.error = error
        self.details = details
        self.syntax = syntax
        self.has_syntax = has_syntax or syntax is not None

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"error": self.error}
        if self.details is not None:
            obj["details"] = self.details
        if self.has_syntax:
            obj["syntax"] = json_text(self.syntax)
        return obj


def syntax_error(syntax: Any, details: str) -> OvsdbError:
    """A "syntax error" that quotes the offending JSON, as ovsdb-server does."""
    return OvsdbError(SYNTAX_ERROR, details, syntax, has_syntax=True)


def constraint_violation(details: str) -> OvsdbError:
    return OvsdbError(CONSTRAINT_VIOLATION, details)
