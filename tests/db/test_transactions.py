"""The transaction engine: every operation, condition and mutator, atomicity, and the commit-time checks
(referential integrity, garbage collection, weak references, maxRows, unique indexes), with the error strings of
RFC 7047 and ovsdb-server."""

from __future__ import annotations

import math

import pytest
from db_helpers import Db, snapshot

from pyvswitch.db.transaction import execute

U1 = "11111111-1111-1111-1111-111111111111"


def ins(table, row, name=None, **extra):
    op = {"op": "insert", "table": table, "row": row, **extra}
    if name:
        op["uuid-name"] = name
    return op


def sel(table, where=(), columns=None):
    op = {"op": "select", "table": table, "where": list(where)}
    if columns is not None:
        op["columns"] = columns
    return op


def upd(table, where, row):
    return {"op": "update", "table": table, "where": list(where), "row": row}


def mut(table, where, *mutations):
    return {"op": "mutate", "table": table, "where": list(where), "mutations": list(mutations)}


def dele(table, where=()):
    return {"op": "delete", "table": table, "where": list(where)}


def uid(u):
    return ["uuid", u]


@pytest.fixture
def d():
    db = Db()
    db.ok(ins("Root", {"name": "r1", "watch": ["named-uuid", "c"]}), ins("Child", {"name": "c1"}, "c"),
          {"op": "mutate", "table": "Root", "where": [["name", "==", "r1"]],
           "mutations": [["children", "insert", ["named-uuid", "c"]]]})
    return db


def root(d, name="r1"):
    return next(r for r in d.rows("Root") if r["name"] == name)


class TestOperations:
    def test_insert_select_defaults(self, d):
        r = d.ok(sel("Root", [["name", "==", "r1"]]))[0]["rows"][0]
        assert r["n"] == 0 and r["flag"] is False and r["r"] == ["set", []] and r["tags"] == ["map", []]
        assert r["_uuid"][0] == "uuid" and r["_version"][0] == "uuid"
        only = d.ok(sel("Root", [], ["name", "_uuid"]))[0]["rows"][0]
        assert set(only) == {"name", "_uuid"}

    def test_forward_named_uuid_reference(self):
        d = Db()
        r = d.ok(ins("Root", {"name": "a", "children": ["named-uuid", "later"], "watch": ["named-uuid", "later"]}),
                 ins("Child", {"name": "x"}, "later"))
        assert root(d, "a")["children"] == [r[1]["uuid"][1]]

    def test_explicit_uuid_and_duplicate_uuid(self, d):
        r = d.ok(ins("Loose", {"x": 1}, "l", uuid=U1))
        assert r[0] == {"uuid": uid(U1)}
        assert d.err(ins("Loose", {"x": 2}, uuid=U1))["error"] == "duplicate uuid"
        assert d.err(ins("Loose", {"x": 2}, uuid="nope"))["error"] == "syntax error"

    def test_explicit_uuid_referenced_before_insert(self):
        d = Db()
        d.ok(ins("Root", {"name": "a", "children": ["named-uuid", "c"], "watch": ["named-uuid", "c"]}),
             ins("Child", {"name": "x"}, "c", uuid=U1))
        assert root(d, "a")["children"] == [U1]

    def test_duplicate_uuid_name(self, d):
        e = d.err(ins("Loose", {}, "a"), ins("Loose", {}, "a"))
        assert e["error"] == "duplicate uuid-name"

    def test_update_mutate_delete_counts(self, d):
        d.ok(ins("Loose", {"x": 1}), ins("Loose", {"x": 2}), ins("Loose", {"x": 3}))
        assert d.ok(upd("Loose", [["x", ">=", 2]], {"s": "big"}))[0] == {"count": 2}
        assert d.ok(mut("Loose", [["s", "==", "big"]], ["x", "*=", 10]))[0] == {"count": 2}
        assert sorted(r["x"] for r in d.rows("Loose")) == [1, 20, 30]
        assert d.ok(dele("Loose", [["x", "<", 25]]))[0] == {"count": 2}
        assert [r["x"] for r in d.rows("Loose")] == [30]

    def test_update_immutable_and_unknown_columns(self, d):
        assert d.err(upd("Root", [], {"name": "x"}))["error"] == "constraint violation"
        assert d.err(upd("Root", [], {"_uuid": uid(U1)}))["error"] == "constraint violation"
        assert d.err(upd("Root", [], {"nope": 1}))["error"] == "unknown column"
        assert d.err(mut("Root", [], ["name", "+=", "x"]))["error"] == "constraint violation"

    def test_select_sees_earlier_operations(self, d):
        r = d.ok(ins("Loose", {"x": 7}), upd("Loose", [["x", "==", 7]], {"s": "seen"}),
                 sel("Loose", [["x", "==", 7]], ["s"]))
        assert r[2] == {"rows": [{"s": "seen"}]}

    def test_comment_commit_and_durable(self):
        db = Db()
        res = execute(db.db, [{"op": "comment", "comment": "hello"}, {"op": "commit", "durable": True},
                              ins("Loose", {}), {"op": "comment", "comment": "again"}])
        assert res.results[:2] == [{}, {}]
        assert res.commit.durable and res.commit.comment == "hello\nagain"

    def test_abort(self, d):
        e = d.err(ins("Loose", {"x": 1}), {"op": "abort"})
        assert e == {"error": "aborted", "details": "aborted by request"}

    def test_assert_lock(self, d):
        assert d.t({"op": "assert", "lock": "mylock"}, locks=("mylock",)) == [{}]
        e = d.err(ins("Loose", {}), {"op": "assert", "lock": "mylock"})
        assert e["error"] == "not owner"

    def test_empty_transaction(self, d):
        assert d.t() == []


class TestSyntax:
    @pytest.mark.parametrize("op,err", [
        ({"op": "frob", "table": "Root"}, "syntax error"),
        ({"table": "Root"}, "syntax error"),
        ({"op": "select", "table": "Nope", "where": []}, "syntax error"),
        ({"op": "select", "table": "Root"}, "syntax error"),
        ({"op": "select", "table": "Root", "where": {}}, "syntax error"),
        ({"op": "select", "table": "Root", "where": [], "extra": 1}, "syntax error"),
        ({"op": "select", "table": "Root", "where": [], "columns": ["nope"]}, "syntax error"),
        ({"op": "select", "table": "Root", "where": [["nope", "==", 1]]}, "unknown column"),
        ({"op": "select", "table": "Root", "where": [["name", "~", "x"]]}, "unknown function"),
        ({"op": "select", "table": "Root", "where": [["name", "==", 1]]}, "syntax error"),
        ({"op": "select", "table": "Root", "where": [["name", "==", "x", "y"]]}, "syntax error"),
        ({"op": "select", "table": "Root", "where": [["name", "<", "x"]]}, "syntax error"),
        ({"op": "select", "table": "Root", "where": [["tags", "<", ["map", []]]]}, "syntax error"),
        ({"op": "select", "table": "Root", "where": [["n", "==", 1000]]}, "constraint violation"),
        ({"op": "insert", "table": "Root", "row": {"name": "q", "nope": 1}}, "unknown column"),
        ({"op": "insert", "table": "Root"}, "syntax error"),
        ({"op": "insert", "table": "Root", "row": [], "uuid-name": "x"}, "syntax error"),
        ({"op": "insert", "table": "Root", "row": {}, "uuid-name": "1bad"}, "syntax error"),
        ({"op": "mutate", "table": "Root", "where": [], "mutations": [["n"]]}, "syntax error"),
        ({"op": "mutate", "table": "Root", "where": [], "mutations": [["n", "frob", 1]]}, "unknown mutator"),
        ({"op": "mutate", "table": "Root", "where": [], "mutations": [["tags", "+=", 1]]}, "syntax error"),
        ({"op": "mutate", "table": "Root", "where": [], "mutations": [["flag", "+=", True]]}, "syntax error"),
        ({"op": "mutate", "table": "Root", "where": [], "mutations": [["r", "%=", 2]]}, "syntax error"),
        ({"op": "mutate", "table": "Root", "where": [], "mutations": [["n", "insert", 1]]}, "syntax error"),
        ({"op": "wait", "table": "Root", "where": [], "until": "<", "rows": []}, "syntax error"),
        ({"op": "commit"}, "syntax error"),
        ({"op": "comment", "comment": 5}, "syntax error"),
        (5, "syntax error"),
    ])
    def test_rejected(self, d, op, err):
        e = d.err(op)
        assert e["error"] == err, e

    def test_result_shape_after_error(self, d):
        r = d.t(ins("Loose", {}), mut("Root", [], ["n", "/=", 0]), sel("Root"), sel("Root"))
        assert r[0]["uuid"][0] == "uuid"
        assert r[1] == {"error": "domain error", "details": "Division by zero."}
        assert r[2:] == [None, None]

    def test_op_parse_error_details_name_the_operation(self, d):
        e = d.err(ins("Loose", {}), {"op": "select", "table": "Root"})
        assert e["details"] == "Parsing ovsdb operation 2 of 2 failed: Required 'where' member is missing."
        assert "syntax" in e


class TestConditions:
    @pytest.fixture
    def c(self):
        d = Db()
        d.ok(ins("Loose", {"x": 1, "s": "a"}), ins("Loose", {"x": 5, "s": "b"}), ins("Loose", {"x": 9, "s": "c"}))
        d.ok(ins("Root", {"name": "A", "ints": ["set", [1, 2, 3]], "tags": ["map", [["k", "v"], ["k2", "w"]]],
                          "r": 0.5, "watch": ["named-uuid", "c"]}), ins("Child", {"name": "c"}, "c"),
             mut("Root", [["name", "==", "A"]], ["children", "insert", ["named-uuid", "c"]]))
        d.ok(ins("Root", {"name": "B", "watch": ["named-uuid", "c"]}), ins("Child", {"name": "c", "slot": 1}, "c"),
             mut("Root", [["name", "==", "B"]], ["children", "insert", ["named-uuid", "c"]]))
        return d

    def xs(self, d, *where):
        return sorted(r["x"] for r in d.ok(sel("Loose", where, ["x"]))[0]["rows"])

    def names(self, d, *where):
        return sorted(r["name"] for r in d.ok(sel("Root", where, ["name"]))[0]["rows"])

    def test_relational(self, c):
        assert self.xs(c, ["x", "<", 5]) == [1]
        assert self.xs(c, ["x", "<=", 5]) == [1, 5]
        assert self.xs(c, ["x", ">", 5]) == [9]
        assert self.xs(c, ["x", ">=", 5]) == [5, 9]
        assert self.xs(c, ["x", "!=", 5]) == [1, 9]
        assert self.xs(c, ["x", ">", 1], ["x", "<", 9]) == [5]  # clauses are ANDed
        assert self.xs(c, True) == [1, 5, 9] and self.xs(c, False) == []

    def test_relational_on_optional_is_false_when_empty(self, c):
        assert self.names(c, ["r", ">", 0.1]) == ["A"]
        assert self.names(c, ["r", "<", 0.1]) == []

    def test_includes_excludes_sets(self, c):
        assert self.names(c, ["ints", "includes", ["set", [1, 3]]]) == ["A"]
        assert self.names(c, ["ints", "includes", ["set", [1, 4]]]) == []
        assert self.names(c, ["ints", "includes", ["set", []]]) == ["A", "B"]
        assert self.names(c, ["ints", "excludes", ["set", [4, 5]]]) == ["A", "B"]
        assert self.names(c, ["ints", "excludes", ["set", [3, 4]]]) == ["B"]
        assert self.names(c, ["ints", "==", ["set", [1, 2, 3]]]) == ["A"]

    def test_includes_excludes_maps(self, c):
        assert self.names(c, ["tags", "includes", ["map", [["k", "v"]]]]) == ["A"]
        assert self.names(c, ["tags", "includes", ["map", [["k", "x"]]]]) == []
        assert self.names(c, ["tags", "excludes", ["map", [["k", "x"]]]]) == ["A", "B"]
        assert self.names(c, ["tags", "excludes", ["map", [["k", "v"]]]]) == ["B"]

    def test_scalar_includes_excludes(self, c):
        assert self.xs(c, ["s", "includes", "b"]) == [5]
        assert self.xs(c, ["s", "excludes", "b"]) == [1, 9]

    def test_uuid_and_version(self, c):
        rows = c.ok(sel("Loose", [["x", "==", 5]], ["_uuid", "_version"]))[0]["rows"]
        u, v = rows[0]["_uuid"], rows[0]["_version"]
        assert self.xs(c, ["_uuid", "==", u]) == [5]
        assert self.xs(c, ["_uuid", "!=", u]) == [1, 9]
        assert self.xs(c, ["_version", "==", v]) == [5]
        c.ok(upd("Loose", [["_uuid", "==", u]], {"s": "changed"}))
        assert self.xs(c, ["_version", "==", v]) == []  # a modification gives the row a new version


class TestMutations:
    def m(self, d, *mutations):
        return d.t(mut("Root", [["name", "==", "r1"]], *mutations))

    def test_arithmetic_c_semantics(self, d):
        d.ok(upd("Root", [], {"n": -7}))
        d.ok(mut("Root", [], ["n", "/=", 2]))
        assert root(d)["n"] == -3  # truncation toward zero, as in C
        d.ok(upd("Root", [], {"n": -7}))
        d.ok(mut("Root", [], ["n", "%=", 3]))
        assert root(d)["n"] == -1
        d.ok(mut("Root", [], ["r", "+=", 1.5]))  # empty optional: nothing to change
        assert root(d)["r"] is None

    def test_arithmetic_on_set_elements(self, d):
        d.ok(upd("Root", [], {"ints": ["set", [1, 2, 3]]}))
        d.ok(mut("Root", [], ["ints", "+=", 10]))
        assert root(d)["ints"] == [11, 12, 13]
        e = d.err(mut("Root", [], ["ints", "%=", 2]))
        assert e == {"error": "constraint violation", "details": 'Result of "%=" operation contains duplicates.'}
        e = d.err(mut("Root", [], ["ints", "*=", 5]))
        assert e["error"] == "constraint violation" and "55 is not in the valid range" in e["details"]
        d.ok(mut("Root", [], ["ints", "-=", -1]))  # arguments are not range-checked, only results
        assert root(d)["ints"] == [12, 13, 14]

    def test_errors(self, d):
        assert d.err(mut("Root", [], ["n", "/=", 0]))["error"] == "domain error"
        assert d.err(mut("Root", [], ["n", "%=", 0]))["error"] == "domain error"
        d2 = Db()
        d2.ok(ins("Loose", {"x": 2**62}))
        e = d2.err(mut("Loose", [], ["x", "*=", 4]))
        assert e == {"error": "range error", "details": 'Result of "*=" operation is out of range.'}
        assert d.err(mut("Root", [], ["n", "+=", 200]))["error"] == "constraint violation"

    def test_set_insert_delete_and_cardinality(self, d):
        d.ok(mut("Root", [], ["ints", "insert", ["set", [5, 6]]], ["ints", "insert", 7]))
        assert root(d)["ints"] == [5, 6, 7]
        e = d.err(mut("Root", [], ["ints", "insert", ["set", [1, 2]]]))
        assert e == {"error": "constraint violation", "details": "Attempted to store 5 elements in set of up to 4 integers."}
        assert d.err(mut("Root", [], ["ints", "insert", 99]))["error"] == "constraint violation"
        assert d.err(mut("Root", [], ["ints", "insert", ["set", [1, 1]]]))["error"] == "ovsdb error"
        d.ok(mut("Root", [], ["ints", "delete", ["set", [5, 40]]]))
        assert root(d)["ints"] == [6, 7]
        d.ok(mut("Root", [], ["color", "insert", "red"]))
        assert d.err(mut("Root", [], ["color", "insert", "blue"]))["error"] == "constraint violation"
        assert d.err(mut("Root", [], ["color", "insert", "mauve"]))["error"] == "constraint violation"
        e = d.err(mut("Root", [], ["watch", "delete", ["set", [uid(u) for u in root(d)["watch"]]]]))
        assert e["details"] == "Attempted to store 0 elements in set of 1 or more uuids."

    def test_map_insert_keeps_existing_keys_and_delete_forms(self, d):
        d.ok(upd("Root", [], {"tags": ["map", [["a", "1"], ["b", "2"], ["c", "3"]]]}))
        d.ok(mut("Root", [], ["tags", "insert", ["map", [["a", "new"], ["d", "4"]]]]))
        assert root(d)["tags"] == {"a": "1", "b": "2", "c": "3", "d": "4"}
        d.ok(mut("Root", [], ["tags", "delete", ["map", [["a", "wrong"], ["b", "2"]]]]))
        assert root(d)["tags"] == {"a": "1", "c": "3", "d": "4"}
        d.ok(mut("Root", [], ["tags", "delete", ["set", ["a", "zz"]]]), mut("Root", [], ["tags", "delete", "c"]))
        assert root(d)["tags"] == {"d": "4"}
        assert d.err(mut("Root", [], ["tags", "insert", ["map", [["", "x"]]]]))["error"] == "constraint violation"


class TestWait:
    def run(self, d, op, started=0.0, now=0.0):
        return execute(d.db, [op], started=started, now=now)

    def w(self, until, rows, timeout=None, columns=("x",), where=()):
        op = {"op": "wait", "table": "Loose", "where": list(where), "until": until, "rows": rows,
              "columns": list(columns)}
        if timeout is not None:
            op["timeout"] = timeout
        return op

    def test_satisfied_and_timed_out(self):
        d = Db()
        d.ok(ins("Loose", {"x": 1}), ins("Loose", {"x": 2}))
        assert d.t(self.w("==", [{"x": 1}, {"x": 2}], 0)) == [{}]
        assert d.t(self.w("==", [{"x": 2}, {"x": 1}, {"x": 1}], 0)) == [{}]  # rows compare as sets
        assert d.t(self.w("!=", [{"x": 1}], 0)) == [{}]
        e = d.t(self.w("==", [{"x": 1}], 0))[0]
        assert e == {"error": "timed out", "details": '"where" clause test failed'}
        assert d.t(self.w("==", [{"x": 1}], 0, where=[["x", "==", 1]])) == [{}]
        # Without "columns" every column is compared, so a partial row does not match.
        d.ok(upd("Loose", [["x", "==", 1]], {"s": "a"}))
        op = self.w("==", [{"x": 1}], 0, where=[["x", "==", 1]])
        del op["columns"]
        assert d.t(op)[0]["error"] == "timed out"

    def test_blocking(self):
        d = Db()
        d.ok(ins("Loose", {"x": 1}))
        res = self.run(d, self.w("==", [{"x": 2}], 1000), started=10.0, now=10.2)
        assert res.blocked_until == pytest.approx(11.0) and res.commit is None
        res = self.run(d, self.w("==", [{"x": 2}]), started=10.0, now=99.0)
        assert res.blocked_until == math.inf
        res = self.run(d, self.w("==", [{"x": 2}], 1000), started=10.0, now=11.0)
        assert res.results[0]["error"] == "timed out"
        d.ok(upd("Loose", [], {"x": 2}))
        res = self.run(d, self.w("==", [{"x": 2}], 1000), started=10.0, now=10.5)
        assert res.results == [{}]


class TestIntegrity:
    def test_strong_ref_to_missing_row(self, d):
        e = d.err(upd("Root", [], {"children": uid(U1)}))
        assert e["error"] == "referential integrity violation"
        assert e["details"].endswith(f"references nonexistent row {U1} in table Child.")
        # A reference must point into the column's refTable, not just to any row.
        loose = d.ok(ins("Loose", {}))[0]["uuid"]
        assert d.err(upd("Root", [], {"children": loose}))["error"] == "referential integrity violation"

    def test_cannot_delete_referenced_row(self, d):
        e = d.err(dele("Child"))
        assert e["error"] == "referential integrity violation"
        assert "because of 1 remaining reference(s)" in e["details"]

    def test_commit_error_is_an_extra_result(self, d):
        r = d.t(upd("Root", [], {"children": uid(U1)}))
        assert len(r) == 2 and r[0] == {"count": 1} and r[1]["error"] == "referential integrity violation"

    def test_garbage_collection_cascades(self, d):
        # An unreferenced new row of a non-root table disappears at once.
        d.ok(ins("Child", {"name": "orphan"}))
        assert [c["name"] for c in d.rows("Child")] == ["c1"]
        r = d.ok(ins("Child", {"name": "c2", "grandchild": ["named-uuid", "g"]}, "c2"), ins("Grandchild", {"v": 3}, "g"),
                 mut("Root", [], ["children", "insert", ["named-uuid", "c2"]]))
        assert len(d.rows("Child")) == 2 and len(d.rows("Grandchild")) == 1
        # Dropping the last strong reference collects the child, then the grandchild only it referenced.
        d.ok(mut("Root", [], ["children", "delete", r[0]["uuid"]]))
        assert [c["name"] for c in d.rows("Child")] == ["c1"] and d.rows("Grandchild") == []
        # Rows of root tables are never collected.
        d.ok(ins("Loose", {}))
        assert len(d.rows("Loose")) == 1

    def test_weak_ref_min_violation_blocks_deletion(self):
        d = Db()
        d.ok(ins("Root", {"name": "a", "children": ["named-uuid", "c"], "watch": ["named-uuid", "c"]}),
             ins("Child", {"name": "x"}, "c"))
        e = d.err(upd("Root", [], {"children": ["set", []]}))
        assert e["error"] == "constraint violation" and "weak reference" in e["details"]

    def test_weak_refs_removed_silently(self):
        d = Db()
        r = d.ok(ins("Root", {"name": "a", "children": ["set", [["named-uuid", "c1"], ["named-uuid", "c2"]]],
                              "favorite": ["named-uuid", "c2"], "watch": ["set", [["named-uuid", "c1"],
                                                                                   ["named-uuid", "c2"]]],
                              "kids_by_slot": ["map", [[1, ["named-uuid", "c1"]], [2, ["named-uuid", "c2"]]]]}),
                 ins("Child", {"name": "x"}, "c1"), ins("Child", {"name": "y"}, "c2"))
        c1, c2 = r[1]["uuid"][1], r[2]["uuid"][1]
        d.ok(mut("Root", [], ["children", "delete", uid(c2)]))
        a = root(d, "a")
        assert a["favorite"] is None and a["watch"] == [c1] and a["kids_by_slot"] == {1: c1}
        assert [c["name"] for c in d.rows("Child")] == ["x"]

    def test_weak_ref_to_never_existing_row_dropped(self):
        d = Db()
        d.ok(ins("Root", {"name": "a", "children": ["named-uuid", "c"], "watch": ["set", [["named-uuid", "c"],
                                                                                     uid(U1)]],
                          "favorite": uid(U1)}), ins("Child", {"name": "x"}, "c"))
        a = root(d, "a")
        assert a["favorite"] is None and len(a["watch"]) == 1

    def test_max_rows(self, d):
        d.ok(ins("Root", {"name": "r2", "watch": ["named-uuid", "c"]}), ins("Child", {"name": "q"}, "c"),
             mut("Root", [["name", "==", "r2"]], ["children", "insert", ["named-uuid", "c"]]))
        d.ok(ins("Root", {"name": "r3", "watch": uid(root(d)["watch"][0])}))
        e = d.err(ins("Root", {"name": "r4", "watch": uid(root(d)["watch"][0])}))
        assert e["error"] == "constraint violation" and "greater than the schema-defined limit of 3" in e["details"]

    def test_unique_index(self, d):
        w = uid(root(d)["watch"][0])
        e = d.err(ins("Root", {"name": "r1", "watch": w}))
        assert e["error"] == "constraint violation" and "identical values" in e["details"]
        e = d.err(ins("Root", {"name": "zz", "watch": w}), ins("Root", {"name": "zz", "watch": w}))
        assert e["error"] == "constraint violation"
        # Deleting the holder of a value and reusing it in the same transaction is fine.
        d.ok(ins("Root", {"name": "r2", "watch": w}))
        d.ok(dele("Root", [["name", "==", "r2"]]), ins("Root", {"name": "r2", "watch": w}))

    def test_unique_index_swap_within_transaction(self):
        d = Db()
        d.ok(ins("Root", {"name": "a", "children": ["set", [["named-uuid", "x"], ["named-uuid", "y"]]],
                          "watch": ["named-uuid", "x"]}),
             ins("Child", {"name": "n", "slot": 1}, "x"), ins("Child", {"name": "n", "slot": 2}, "y"))
        x = next(c["_uuid"] for c in d.rows("Child") if c["slot"] == 1)
        y = next(c["_uuid"] for c in d.rows("Child") if c["slot"] == 2)
        d.ok(upd("Child", [["_uuid", "==", uid(x)]], {"slot": 2}), upd("Child", [["_uuid", "==", uid(y)]], {"slot": 1}))
        assert sorted((c["_uuid"], c["slot"]) for c in d.rows("Child")) == sorted([(x, 2), (y, 1)])
        assert d.err(upd("Child", [["_uuid", "==", uid(x)]], {"slot": 1}))["error"] == "constraint violation"

    def test_insert_constraint_checks_defaults(self):
        d = Db({"name": "E", "version": "1.0.0", "tables": {"T": {"columns": {
            "mode": {"type": {"key": {"type": "string", "enum": ["set", ["a", "b"]]}}}}}}})
        e = d.err(ins("T", {}))
        assert e == {"error": "constraint violation", "details": ' is not one of the allowed values ([a, b])'}
        d.ok(ins("T", {"mode": "a"}))

    def test_atomicity_of_mixed_transaction(self, d):
        before = snapshot(d.db)
        r = d.t(ins("Loose", {"x": 1}), upd("Root", [], {"n": 5}), mut("Root", [], ["n", "+=", 1000]))
        assert r[2]["error"] == "constraint violation"
        assert snapshot(d.db) == before

    def test_resources_exhausted(self):
        d = Db()
        res = execute(d.db, [ins("Loose", {}), ins("Loose", {})], max_rows=1)
        assert res.results[-1]["error"] == "resources exhausted"

    def test_read_only_database(self):
        d = Db()
        d.db.read_only = True
        e = d.err(ins("Loose", {}))
        assert e["error"] == "not allowed"
        assert d.t(sel("Loose")) == [{"rows": []}]

    def test_noop_update_produces_no_change(self, d):
        res = execute(d.db, [upd("Root", [], {"n": 0})])
        assert res.results == [{"count": 1}] and res.commit.is_empty()
