"""The JSON-RPC stream framing: any split of any sequence of messages gives back the messages; bad input raises
ProtocolError (the server then drops the connection)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch.db.jsonrpc import JsonStreamParser, ProtocolError, classify

json_text = st.text(alphabet=st.sampled_from('ab"\\{}[]:, \n\té€😀'), max_size=12)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), json_text,
                    st.floats(allow_nan=False, allow_infinity=False))
values = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                      st.dictionaries(json_text, kids, max_size=4)), max_leaves=20)
messages = st.lists(st.one_of(st.dictionaries(json_text, values, max_size=4), st.lists(values, max_size=4)),
                    min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(messages, st.lists(st.integers(1, 64), min_size=1, max_size=50), st.sampled_from(["", " ", "\n", "\r\n\t"]))
def test_any_split_roundtrips(msgs, cuts, sep):
    data = sep.join(json.dumps(m, ensure_ascii=bool(len(cuts) % 2)) for m in msgs).encode()
    p = JsonStreamParser()
    out = []
    pos = 0
    for c in cuts:
        out += p.feed(data[pos:pos + c])
        pos += c
    out += p.feed(data[pos:])
    assert out == msgs
    assert p.pending_bytes() == 0 or not data[pos:].strip()


def test_many_pipelined_and_one_large():
    small = [{"method": "echo", "params": [i, "}{" * (i % 5)], "id": i} for i in range(2000)]
    big = {"method": "transact", "params": ["x"] + [{"s": "q\"}" * 50, "n": list(range(20))}] * 3000, "id": "big"}
    data = b"".join(json.dumps(m).encode() for m in small + [big] + small)
    p = JsonStreamParser()
    out = []
    for i in range(0, len(data), 65536):
        out += p.feed(data[i:i + 65536])
    assert out == small + [big] + small


@pytest.mark.parametrize("bad", [
    b"garbage", b"}", b"42", b'"str"', b'{"a":1,}', b'{"a":nul}', b"[1,2}", b'{"a":NaN}', b'{"a":Infinity}',
    b"\xff\xfe", b'{"a":"\xc3\x28"}', b'{"a" 1}',
])
def test_bad_input(bad):
    with pytest.raises(ProtocolError):
        JsonStreamParser().feed(bad)


def test_incomplete_input_waits():
    p = JsonStreamParser()
    for part in (b'{"a": [1, 2', b', "tr', b'ue\\"}', b'"], "b": tr', b"ue"):
        assert p.feed(part) == []
    assert p.feed(b"}") == [{"a": [1, 2, 'true"}'], "b": True}]


def test_size_limit():
    p = JsonStreamParser(max_size=100)
    with pytest.raises(ProtocolError):
        p.feed(b'{"a": "' + b"x" * 200)


def test_classify():
    assert classify({"method": "echo", "params": [], "id": 1}) == "request"
    assert classify({"method": "update", "params": [], "id": None}) == "notify"
    assert classify({"result": [], "error": None, "id": 1}) == "reply"
    assert classify({"result": None, "error": "x", "id": 1}) == "error"
    for bad in ([1], {"id": 1}, {"result": 1}, {"method": 5, "id": 1}):
        with pytest.raises(ProtocolError):
            classify(bad)
