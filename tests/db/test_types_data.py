"""Types, atoms, datums and schemas: parsing, canonical JSON, defaults, constraints, diffs, checksums."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from db_helpers import OUR_SCHEMA, REAL_SCHEMA, small_schema
from hypothesis import given
from hypothesis import strategies as st

from pyvswitch.db.data import Datum
from pyvswitch.db.error import OvsdbError
from pyvswitch.db.schema import DatabaseSchema, posix_cksum, schema_file_cksum
from pyvswitch.db.types import UNLIMITED, ZERO_UUID, BaseType, Type

U1 = "11111111-2222-3333-4444-555555555555"
U2 = "aaaaaaaa-2222-3333-4444-555555555555"


def T(j):
    return Type.from_json(j)


def err(fn, *args):
    with pytest.raises(OvsdbError) as e:
        fn(*args)
    return e.value


class TestTypes:
    def test_atomic_and_full_forms(self):
        t = T("integer")
        assert t.is_scalar() and t.key.type == "integer" and t.to_json() == "integer"
        t = T({"key": "string", "value": "integer", "min": 0, "max": "unlimited"})
        assert t.is_map() and t.n_max == UNLIMITED
        assert t.to_json() == {"key": "string", "value": "integer", "min": 0, "max": "unlimited"}
        t = T({"key": {"type": "uuid", "refTable": "X", "refType": "weak"}, "min": 0})
        assert t.is_optional() and t.key.is_weak_ref() and not t.key.is_strong_ref()

    @pytest.mark.parametrize("bad", [
        "float", {"key": "int"}, {"key": "string", "min": 2}, {"key": "string", "max": 0},
        {"key": "string", "max": "lots"}, {"key": {"type": "integer", "minInteger": 5, "maxInteger": 1}},
        {"key": {"type": "string", "refTable": "X"}}, {"key": {"type": "uuid", "refTable": "X", "refType": "soft"}},
        {"key": "string", "bogus": 1}, {"value": "string"}, 5, {"key": {"type": "integer", "minInteger": 1.5}},
    ])
    def test_bad_types_rejected(self, bad):
        e = err(T, bad)
        assert e.error == "syntax error"

    def test_english(self):
        assert T({"key": "integer", "min": 0, "max": 4096}).english() == "set of up to 4096 integers"
        assert T({"key": "string", "value": "string", "min": 0, "max": "unlimited"}).english() == \
            "map of (string, string) pairs"
        assert T({"key": "uuid", "min": 1, "max": "unlimited"}).english() == "set of 1 or more uuids"
        assert T("boolean").english() == "boolean"


class TestAtoms:
    def test_parse(self):
        assert BaseType("integer").parse_atom(5) == 5
        assert BaseType("real").parse_atom(5) == 5.0 and isinstance(BaseType("real").parse_atom(5), float)
        assert BaseType("uuid").parse_atom(["uuid", U1.upper()]) == U1
        assert BaseType("boolean").parse_atom(True) is True

    @pytest.mark.parametrize("t,bad", [
        ("integer", 1.5), ("integer", True), ("integer", 2**63), ("integer", "1"), ("real", float("inf")),
        ("real", "x"), ("boolean", 1), ("string", 5), ("uuid", ["uuid", "xyz"]), ("uuid", "x"),
        ("uuid", ["named-uuid", "1bad"]), ("uuid", ["named-uuid", "ok"]),
    ])
    def test_bad_atoms(self, t, bad):
        # named-uuid is only meaningful inside a transaction, so without a symbol table it is an error.
        assert err(BaseType(t).parse_atom, bad).error == "syntax error"

    def test_constraints(self):
        b = BaseType.from_json({"type": "integer", "minInteger": 0, "maxInteger": 4095})
        b.check_atom(0)
        b.check_atom(4095)
        e = err(b.check_atom, 4096)
        assert e.error == "constraint violation" and e.details == "4096 is not in the valid range 0 to 4095 (inclusive)"
        e = err(BaseType.from_json({"type": "string", "enum": ["set", ["secure", "standalone"]]}).check_atom, "x")
        assert e.details == "x is not one of the allowed values ([secure, standalone])"
        s = BaseType.from_json({"type": "string", "minLength": 2, "maxLength": 3})
        s.check_atom("ab")
        assert err(s.check_atom, "a").error == "constraint violation"
        assert err(s.check_atom, "abcd").error == "constraint violation"
        r = BaseType.from_json({"type": "real", "minReal": -1.5})
        r.check_atom(-1.5)
        assert err(r.check_atom, -2.0).error == "constraint violation"

    def test_enum_single_atom_form(self):
        b = BaseType.from_json({"type": "string", "enum": "only"})
        b.check_atom("only")
        assert b.to_json() == {"type": "string", "enum": ["set", ["only"]]}


class TestDatum:
    def test_json_forms(self):
        t = T({"key": "integer", "min": 0, "max": "unlimited"})
        d = Datum.from_json(t, ["set", [3, 1, 2]])
        assert d.keys == (1, 2, 3) and d.to_json(t) == ["set", [1, 2, 3]]
        assert Datum.from_json(t, 7).to_json(t) == 7  # one element: written as a bare atom, as ovsdb-server does
        assert Datum.from_json(t, ["set", []]).to_json(t) == ["set", []]
        m = T({"key": "string", "value": "string", "min": 0, "max": "unlimited"})
        d = Datum.from_json(m, ["map", [["b", "2"], ["a", "1"]]])
        assert d.to_json(m) == ["map", [["a", "1"], ["b", "2"]]] and d.as_dict() == {"a": "1", "b": "2"}
        u = T({"key": "uuid", "min": 0, "max": "unlimited"})
        assert Datum.from_json(u, ["uuid", U1]).to_json(u) == ["uuid", U1]

    def test_named_uuid_with_symbol_table(self):
        u = T({"key": "uuid", "min": 0, "max": "unlimited"})
        d = Datum.from_json(u, ["set", [["named-uuid", "a"], ["uuid", U2]]], {"a": U1}.__getitem__)
        assert d.keys == (U1, U2)

    def test_cardinality_and_duplicates(self):
        t = T({"key": "string", "min": 1, "max": 2})
        assert err(Datum.from_json, t, ["set", []]).details == "set must have 1 to 2 members but 0 are present"
        assert err(Datum.from_json, t, ["set", ["a", "b", "c"]]).error == "syntax error"
        e = err(Datum.from_json, t, ["set", ["a", "a"]])
        assert (e.error, e.details) == ("ovsdb error", "set contains duplicate")
        m = T({"key": "string", "value": "string", "min": 0, "max": "unlimited"})
        assert err(Datum.from_json, m, ["map", [["a", "1"], ["a", "2"]]]).details == "map contains duplicate key"
        assert err(Datum.from_json, m, ["set", []]).details == 'expected ["map", <array>]'
        assert err(Datum.from_json, m, ["map", [["a"]]]).error == "syntax error"

    def test_defaults(self):
        assert Datum.default(T("integer")).keys == (0,)
        assert Datum.default(T("string")).keys == ("",)
        assert Datum.default(T("uuid")).keys == (ZERO_UUID,)
        assert Datum.default(T("boolean")).keys == (False,)
        assert Datum.default(T({"key": "integer", "min": 0})).keys == ()
        assert Datum.default(T({"key": "string", "value": "integer", "min": 0, "max": 5})).values == ()
        assert Datum.default(T({"key": "string", "value": "integer"})).as_dict() == {"": 0}

    def test_constraints_on_keys_and_values(self):
        t = T({"key": {"type": "integer", "maxInteger": 9}, "value": {"type": "string", "enum": "x"},
               "min": 0, "max": "unlimited"})
        Datum.from_json(t, ["map", [[1, "x"]]]).check_constraints(t)
        assert err(Datum.from_json(t, ["map", [[10, "x"]]]).check_constraints, t).error == "constraint violation"
        assert err(Datum.from_json(t, ["map", [[1, "y"]]]).check_constraints, t).error == "constraint violation"

    def test_diff_forms_match_ovsdb_server(self):
        # Values observed from Open vSwitch 3.1's update2 notifications and log records.
        opt = T({"key": "string", "min": 0})
        assert Datum(("secure",)).diff(Datum(()), opt).to_json(opt) == ["set", []]
        assert Datum(("secure",)).diff(Datum(("standalone",)), opt).to_json(opt) == "standalone"
        s = T({"key": "integer", "min": 0, "max": 4096})
        assert Datum((2, 3, 4)).diff(Datum((1, 2)), s).to_json(s) == ["set", [1, 3, 4]]
        m = T({"key": "string", "value": "string", "min": 0, "max": "unlimited"})
        old, new = Datum.from_dict({"a": "b", "x": "1"}), Datum.from_dict({"a": "c", "y": "2"})
        assert old.diff(new, m).as_dict() == {"a": "c", "x": "1", "y": "2"}


SET_T = T({"key": "integer", "min": 0, "max": "unlimited"})
MAP_T = T({"key": "string", "value": "integer", "min": 0, "max": "unlimited"})
OPT_T = T({"key": "integer", "min": 0, "max": 1})
sets = st.frozensets(st.integers(-5, 5)).map(Datum.from_set)
maps = st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 3)).map(Datum.from_dict)
opts = st.one_of(st.just(Datum(())), st.integers(0, 3).map(Datum.atom))


@given(sets, sets)
def test_set_diff_roundtrip(a, b):
    assert a.apply_diff(a.diff(b, SET_T), SET_T) == b


@given(maps, maps)
def test_map_diff_roundtrip(a, b):
    assert a.apply_diff(a.diff(b, MAP_T), MAP_T) == b


@given(opts, opts)
def test_optional_diff_roundtrip(a, b):
    assert a.apply_diff(a.diff(b, OPT_T), OPT_T) == b


@given(sets, sets)
def test_set_algebra(a, b):
    sa, sb = set(a.keys), set(b.keys)
    assert set(a.union(b).keys) == sa | sb
    assert set(a.difference(b).keys) == sa - sb
    assert a.includes(b) == (sb <= sa)
    assert a.excludes(b) == (not (sa & sb))


@given(sets)
def test_datum_json_roundtrip(a):
    assert Datum.from_json(SET_T, a.to_json(SET_T)) == a


class TestSchema:
    def test_small_schema_parses_and_roundtrips(self):
        s = DatabaseSchema.from_json(small_schema())
        assert s.tables["Root"].is_root and not s.tables["Child"].is_root
        assert s.tables["Root"].max_rows == 3 and s.tables["Root"].indexes == [("name",)]
        assert DatabaseSchema.from_json(s.to_json()).to_json() == s.to_json()
        # Weak references are always mutable (ovsdb-server(7) 3.2).
        assert s.tables["Root"].columns["favorite"].mutable

    def test_all_root_when_none_declared(self):
        j = {"name": "X", "version": "1.0.0", "tables": {"A": {"columns": {"x": {"type": "integer"}}},
                                                         "B": {"columns": {"y": {"type": "integer"}}}}}
        s = DatabaseSchema.from_json(j)
        assert all(t.is_root for t in s.tables.values())

    @pytest.mark.parametrize("mutate", [
        lambda j: j.update(name="1bad"),
        lambda j: j.update(name="_Reserved"),
        lambda j: j.update(version="1.0"),
        lambda j: j["tables"]["Child"]["columns"].update(_bad={"type": "integer"}),
        lambda j: j["tables"]["Child"]["columns"]["grandchild"]["type"]["key"].update(refTable="Nope"),
        lambda j: j["tables"]["Child"].update(indexes=[["nope"]]),
        lambda j: j["tables"]["Root"].update(indexes=[["temp"]]),
        lambda j: j["tables"]["Root"].update(maxRows=0),
        lambda j: j["tables"]["Root"].update(extra=1),
        lambda j: j.pop("tables"),
    ])
    def test_bad_schemas(self, mutate):
        j = small_schema()
        mutate(j)
        with pytest.raises(OvsdbError):
            DatabaseSchema.from_json(j)

    def test_posix_cksum(self):
        data = b"The quick brown fox\n" * 37
        expected = subprocess.run(["cksum"], input=data, capture_output=True, check=True).stdout.split()
        assert posix_cksum(data) == (int(expected[0]), int(expected[1]))

    def test_our_schema_checksum_is_consistent(self):
        text = Path(OUR_SCHEMA).read_bytes()
        s = DatabaseSchema.from_file(OUR_SCHEMA)
        assert s.name == "Open_vSwitch" and s.version == "8.3.1"
        assert s.cksum == schema_file_cksum(text)

    def test_vswitch_schema_matches_what_ovs_clients_expect(self):
        """Every table and column ovs-vsctl knows exists in our schema with the same type and mutability."""
        ours = DatabaseSchema.from_file(OUR_SCHEMA)
        real = DatabaseSchema.from_file(REAL_SCHEMA)
        assert set(ours.tables) == set(real.tables)
        diffs = []
        for tname, rt in real.tables.items():
            ot = ours.tables[tname]
            assert set(ot.columns) == set(rt.columns), tname
            for cname, rc in rt.columns.items():
                oc = ot.columns[cname]
                if oc.type != rc.type or oc.mutable != rc.mutable:
                    diffs.append((tname, cname, oc.type.to_json(), rc.type.to_json()))
            assert (ot.is_root, ot.indexes) == (rt.is_root, rt.indexes), tname
        assert not diffs, json.dumps(diffs, indent=1)
        assert ours.version == real.version

    def test_ovsdb_tool_reads_our_schema(self):
        out = subprocess.run(["ovsdb-tool", "schema-cksum", OUR_SCHEMA], capture_output=True, text=True,
                             check=True).stdout.strip()
        assert out == DatabaseSchema.from_file(OUR_SCHEMA).cksum
