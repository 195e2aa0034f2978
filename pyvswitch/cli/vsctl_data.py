"""The text forms of OVSDB values used by ``pyvs-vsctl``, and its output tables.

ovs-vsctl(8) ("Database Values") defines a compact syntax for values on the command line, and ovs-vsctl prints
values in the same syntax, so one module does both directions:

* atoms: integers, reals, ``true``/``false``, UUIDs (or ``@name`` references to rows named with ``--id``),
  and strings, bare when they look like identifiers (letters, digits, ``_``, ``-``, ``.``, not starting with
  a digit, not ``true``/``false``, not UUID-shaped), otherwise in JSON double quotes;
* sets: elements separated by commas or spaces, optionally in ``[...]``, ``[]`` for the empty set; for sets of
  integers, ``A-B`` is an inclusive range (at most 4096 elements);
* maps: ``key=value`` pairs, optionally in ``{...}``, ``{}`` for the empty map.

A token ends at whitespace or at one of ``:=, []{}!<>`` (those characters need quotes inside a string).

The output side formats a :class:`Table` (headings and rows of cells) as ovs-vsctl's ``--format`` list, table,
csv or json, with ``--data`` string, bare or json, and ``--no-headings``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from pyvswitch.db.data import Datum
from pyvswitch.db.error import OvsdbError
from pyvswitch.db.types import BOOLEAN, INTEGER, REAL, STRING, UUID, BaseType, Type

DELIMS = ":=, []{}!<>"
_BARE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class ValueError_(Exception):
    """A value that does not parse or does not satisfy its column's constraints (message as ovs-vsctl's)."""


# ---- lexing ----

def read_token(s: str, pos: int) -> tuple[str, bool, int]:
    """Read one token at ``pos``: (text, was_quoted, new position).  ValueError_ for a bad quoted string."""
    if pos < len(s) and s[pos] == '"':
        i = pos + 1
        while i < len(s):
            if s[i] == "\\":
                i += 2
                continue
            if s[i] == '"':
                break
            i += 1
        if i >= len(s) or (i + 1 < len(s) and s[i + 1] not in DELIMS and not s[i + 1].isspace()):
            raise ValueError_(f"{s[pos:]}: missing quote at end of quoted string")
        try:
            text = json.loads(s[pos:i + 1])
        except json.JSONDecodeError:
            raise ValueError_(f"{s[pos:i + 1]}: syntax error in quoted string") from None
        return text, True, i + 1
    i = pos
    while i < len(s) and s[i] not in DELIMS and not s[i].isspace():
        i += 1
    return s[pos:i], False, i


def _skip_ws(s: str, pos: int) -> int:
    while pos < len(s) and s[pos].isspace():
        pos += 1
    return pos


# ---- atoms ----

SymbolLookup = Callable[[str], str]


def atom_from_token(bt: BaseType, text: str, quoted: bool, symbols: SymbolLookup | None) -> Any:
    """The atom of type ``bt`` that a token denotes (constraints not checked)."""
    t = bt.type
    if t == INTEGER:
        if not quoted and re.fullmatch(r"[-+]?\d+", text):
            v = int(text)
            if -2**63 <= v < 2**63:
                return v
        raise ValueError_(f'"{text}" is not a valid integer')
    if t == REAL:
        try:
            if quoted or not text or text.strip() != text:
                raise ValueError
            x = float(text)
            if not math.isfinite(x):
                raise ValueError
            return x
        except ValueError:
            raise ValueError_(f'"{text}" is not a valid real number') from None
    if t == BOOLEAN:
        if not quoted and text == "true":
            return True
        if not quoted and text == "false":
            return False
        raise ValueError_(f'"{text}" is not a valid boolean (use "true" or "false")')
    if t == STRING:
        if not quoted and text == "":
            raise ValueError_('An empty string is not valid as input; use "" to represent the empty string')
        return text
    if t == UUID:
        if not quoted and text.startswith("@") and symbols is not None:
            return symbols(text)
        if _UUID_RE.match(text):
            return text.lower()
        raise ValueError_(f'"{text}" is not a valid UUID')
    raise AssertionError(t)


def atom_from_string(bt: BaseType, s: str, symbols: SymbolLookup | None = None) -> Any:
    """Parse all of ``s`` as one atom (a map key in ``column:key``, a value in ``column:key=value``)."""
    if s.startswith('"'):
        text, _quoted, pos = read_token(s, 0)
        if pos != len(s):
            raise ValueError_(f"{s}: trailing garbage after quoted string")
        atom = atom_from_token(bt, text, True, symbols)
    else:
        atom = atom_from_token(bt, s, False, symbols)
    check_atom(bt, atom)
    return atom


def check_atom(bt: BaseType, atom: Any) -> None:
    try:
        bt.check_atom(atom)
    except OvsdbError as e:
        raise ValueError_(f"constraint violation: {e.details}") from None


def string_needs_quotes(s: str) -> bool:
    return not _BARE_RE.match(s) or s in ("true", "false") or bool(_UUID_RE.match(s))


def real_to_string(x: float) -> str:
    text = format(x, ".15g")
    if float(text) != x:
        text = format(x, ".17g")
    return text


def atom_to_string(bt: BaseType, atom: Any) -> str:
    t = bt.type
    if t == STRING:
        return json.dumps(atom, ensure_ascii=False) if string_needs_quotes(atom) else atom
    if t == BOOLEAN:
        return "true" if atom else "false"
    if t == REAL:
        return real_to_string(atom)
    return str(atom)


def atom_to_bare(bt: BaseType, atom: Any) -> str:
    if bt.type == STRING:
        return atom
    return atom_to_string(bt, atom)


# ---- datums ----

def _parse_range(bt: BaseType, text: str) -> list[int] | None:
    m = re.fullmatch(r"([-+]?\d+)-([-+]?\d+)", text)
    if not m:
        return None
    lo, hi = int(m.group(1)), int(m.group(2))
    if hi < lo:
        raise ValueError_(f'"{text}" is not a valid range. Range end cannot be before start.')
    check_atom(bt, lo)
    check_atom(bt, hi)
    if hi - lo >= 4096:
        raise ValueError_(f'Range "{text}" is too big.')
    return list(range(lo, hi + 1))


def datum_from_string(t: Type, s: str, symbols: SymbolLookup | None = None) -> Datum:
    """Parse ``s`` as a value of column type ``t`` (cardinality and constraints are checked)."""
    pos = _skip_ws(s, 0)
    is_map = t.value is not None
    opener, closer = ("{", "}") if is_map else ("[", "]")
    bracketed = pos < len(s) and s[pos] == opener
    if bracketed:
        pos += 1
    keys: list[Any] = []
    values: list[Any] = []
    first = True
    while True:
        pos = _skip_ws(s, pos)
        if pos >= len(s) or (bracketed and s[pos] == closer):
            break
        if not first and s[pos] == ",":
            pos = _skip_ws(s, pos + 1)
        first = False
        elem_start = pos
        text, quoted, npos = read_token(s, pos)
        if npos == pos:
            raise ValueError_(f'{s}: unexpected "{s[pos]}" parsing {t.english()}')
        pos = npos
        range_atoms = None
        if not quoted and t.key.type == INTEGER and not is_map:
            range_atoms = _parse_range(t.key, text)
        if range_atoms is not None:
            for a in range_atoms:
                check_atom(t.key, a)
            keys.extend(range_atoms)
        else:
            try:
                key = atom_from_token(t.key, text, quoted, symbols)
            except ValueError_:
                if t.key.type == INTEGER and not is_map:
                    raise ValueError_(f'"{text}" is not a valid integer or range') from None
                raise
            check_atom(t.key, key)
            keys.append(key)
        if is_map:
            assert t.value is not None
            pos = _skip_ws(s, pos)
            if pos >= len(s) or s[pos] != "=":
                nxt = read_token(s, pos)[0] if pos < len(s) else ""
                raise ValueError_(f'{s[elem_start:]}: syntax error at "{nxt}" expecting "="' if nxt
                                  else f'{s[elem_start:]}: syntax error at "')
            pos = _skip_ws(s, pos + 1)
            vtext, vquoted, npos = read_token(s, pos)
            pos = npos
            value = atom_from_token(t.value, vtext, vquoted, symbols)
            check_atom(t.value, value)
            values.append(value)
    if bracketed:
        if pos >= len(s) or s[pos] != closer:
            raise ValueError_(f'{s}: missing "{closer}" at end of data')
        pos += 1
        if _skip_ws(s, pos) < len(s):
            raise ValueError_(f'{s}: trailing garbage after "{closer}"')
    pos = _skip_ws(s, pos)
    if pos < len(s):
        raise ValueError_(f'{s}: unexpected "{s[pos]}" parsing {t.english()}')
    if is_map:
        pairs = dict(zip(keys, values))
        if len(pairs) != len(keys):
            raise ValueError_(f"{s}: map contains duplicate key")
        d = Datum.from_dict(pairs)
    else:
        d = Datum.from_set(keys)
        if len(d.keys) != len(keys):
            raise ValueError_(f"{s}: set contains duplicate value")
    if not t.n_min <= len(d) <= t.n_max:
        if len(d) < t.n_min:
            raise ValueError_(f"{s}: {len(d)} value(s) specified but the minimum number is {t.n_min}")
        raise ValueError_(f"{s}: {len(d)} value(s) specified but the maximum number is {t.n_max}")
    return d


def datum_to_string(t: Type, d: Datum) -> str:
    if d.values is not None:
        assert t.value is not None
        vt = t.value
        return "{" + ", ".join(f"{atom_to_string(t.key, k)}={atom_to_string(vt, v)}"
                               for k, v in zip(d.keys, d.values)) + "}"
    if t.n_max == 1 and len(d.keys) == 1:
        return atom_to_string(t.key, d.keys[0])
    return "[" + ", ".join(atom_to_string(t.key, k) for k in d.keys) + "]"


def datum_to_bare(t: Type, d: Datum) -> str:
    if d.values is not None:
        assert t.value is not None
        vt = t.value
        return " ".join(f"{atom_to_bare(t.key, k)}={atom_to_bare(vt, v)}" for k, v in zip(d.keys, d.values))
    return " ".join(atom_to_bare(t.key, k) for k in d.keys)


# ---- output tables ----

class Table:
    """Rows of cells, each cell a (Type, Datum) pair, under column headings."""

    def __init__(self, headings: list[str]) -> None:
        self.headings = headings
        self.rows: list[list[tuple[Type, Datum]]] = []


class Style:
    def __init__(self) -> None:
        self.format = "list"      # list, table, csv, json, html
        self.data = "string"      # string, bare, json
        self.headings = True
        self.pretty = False


def _cell_text(style: Style, t: Type, d: Datum) -> str:
    if style.data == "json":
        return json.dumps(d.to_json(t), separators=(",", ":"), ensure_ascii=False)
    if style.data == "bare":
        return datum_to_bare(t, d)
    return datum_to_string(t, d)


def _csv_quote(text: str) -> str:
    if any(c in text for c in '\n",'):
        return '"' + text.replace('"', '""') + '"'
    return text


def format_table(table: Table, style: Style) -> str:
    """The whole text ovs-vsctl prints for one list/find result."""
    out: list[str] = []
    fmt = style.format
    if fmt == "list":
        for i, row in enumerate(table.rows):
            if i:
                out.append("\n")
            for h, (t, d) in zip(table.headings, row):
                text = _cell_text(style, t, d)
                out.append(f"{h:<20}: {text}\n" if style.headings else f"{text}\n")
        return "".join(out)
    if fmt == "table":
        texts = [[_cell_text(style, t, d) for t, d in row] for row in table.rows]
        ncol = len(table.headings)
        widths = [0] * ncol
        for j in range(ncol):
            widths[j] = max([len(table.headings[j]) if style.headings else 0] + [len(r[j]) for r in texts])

        def line(cells: list[str]) -> str:
            parts = [c.ljust(widths[j]) if j < ncol - 1 else c for j, c in enumerate(cells)]
            return " ".join(parts).rstrip(" ") + "\n"

        if style.headings and texts:
            out.append(line(table.headings))
            out.append(line(["-" * w for w in widths]))
        for r in texts:
            out.append(line(r))
        return "".join(out)
    if fmt == "csv":
        if style.headings and table.rows:
            out.append(",".join(_csv_quote(h) for h in table.headings) + "\n")
        for row in table.rows:
            out.append(",".join(_csv_quote(_cell_text(style, t, d)) for t, d in row) + "\n")
        return "".join(out)
    if fmt == "json":
        data = []
        for row in table.rows:
            cells = []
            for t, d in row:
                cells.append(d.to_json(t))
            data.append(cells)
        obj: dict[str, Any] = {"data": data, "headings": table.headings}
        if style.pretty:
            return _pretty_json(obj, 0) + "\n"
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n"
    if fmt == "html":
        out.append("<table border=1>\n")
        if style.headings:
            ths = "".join(f"    <th>{_html(h)}</th>\n" for h in table.headings)
            out.append("  <tr>\n" + ths + "  </tr>\n")
        for row in table.rows:
            out.append("  <tr>\n" + "".join(f"    <td>{_html_cell(style, h, t, d)}</td>\n"
                                            for h, (t, d) in zip(table.headings, row)) + "  </tr>\n")
        out.append("</table>\n")
        return "".join(out)
    raise AssertionError(fmt)


def _html_cell(style: Style, heading: str, t: Type, d: Datum) -> str:
    """A cell of --format=html: UUIDs become anchors (a row's own) or links (references), abbreviated."""
    text = _html(_cell_text(style, t, d))
    if style.data == "json":
        return text
    attr = "name" if heading == "_uuid" else "href"
    prefix = "" if heading == "_uuid" else "#"
    return _UUID_TEXT_RE.sub(lambda m: f'<a {attr}="{prefix}{m.group(0)}">{m.group(0)[:8]}</a>', text)


_UUID_TEXT_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _html(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _pretty_json(v: Any, indent: int) -> str:
    """JSON laid out as Open vSwitch's pretty printer does: one element per line, closers attached."""
    pad = " " * (indent + 2)
    if isinstance(v, list) and v:
        return "[\n" + ",\n".join(pad + _pretty_json(x, indent + 2) for x in v) + "]"
    if isinstance(v, dict) and v:
        return "{\n" + ",\n".join(f"{pad}{json.dumps(k, ensure_ascii=False)}: {_pretty_json(x, indent + 2)}"
                                   for k, x in v.items()) + "}"
    return json.dumps(v, ensure_ascii=False)
