"""The prefix trie against a brute-force model of an uncompressed binary trie."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch.classifier import PrefixTrie


def brute_lookup(prefixes: Counter, width: int, addr: int) -> tuple[int, int]:
    """Walk an uncompressed trie holding ``prefixes`` ((value, plen) -> count) along ``addr``."""
    nodes = {(0, 0)} if prefixes else set()
    for (value, plen), n in prefixes.items():
        if n:
            for d in range(plen + 1):
                nodes.add((value >> (plen - d), d))
    if not nodes:
        return 0, 0
    plens = 0
    for (value, plen), n in prefixes.items():
        if n and addr >> (width - plen) == value:
            plens |= 1 << plen
    depth = 0
    while depth < width:
        nxt = (addr >> (width - depth - 1), depth + 1)
        if nxt not in nodes:
            here = addr >> (width - depth)
            has_child = (here << 1, depth + 1) in nodes or ((here << 1) | 1, depth + 1) in nodes
            return plens, depth + 1 if has_child else depth
        depth += 1
    return plens, width


def prefix_strategy(width: int):
    # Prefixes of a few base addresses, so that they share long runs of bits and the trie has real structure.
    bases = [0, (1 << width) - 1, 0b1010 << (width - 4), (0b1011 << (width - 4)) | 1]
    return st.tuples(st.sampled_from(bases) | st.integers(0, (1 << width) - 1), st.integers(1, width)).map(
        lambda t: (t[0] >> (width - t[1]), t[1]))


@pytest.mark.parametrize("width", [8, 32, 128])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_trie_matches_brute_force(width: int, data: st.DataObject) -> None:
    trie = PrefixTrie(width)
    model: Counter = Counter()
    ops = data.draw(st.lists(st.tuples(st.booleans(), prefix_strategy(width)), max_size=40))
    addrs = data.draw(st.lists(prefix_strategy(width).map(lambda t: t[0] << (width - t[1])), max_size=10))
    for add, (value, plen) in ops:
        if add or not model[(value, plen)]:
            trie.insert(value, plen)
            model[(value, plen)] += 1
        else:
            trie.remove(value, plen)
            model[(value, plen)] -= 1
        assert len(trie) == sum(model.values())
        for addr in addrs + [value << (width - plen)]:
            assert trie.lookup(addr) == brute_lookup(model, width, addr), (hex(addr), sorted(+model))
    assert sorted(trie.prefixes()) == sorted((v, p, n) for (v, p), n in model.items() if n)
    for (value, plen), n in list(model.items()):
        for _ in range(n):
            trie.remove(value, plen)
    assert not trie and len(trie) == 0 and trie.lookup(0) == (0, 0)


def test_examples() -> None:
    t = PrefixTrie(32)
    assert t.lookup(0xC0A80001) == (0, 0)
    t.insert(0x0A, 8)                               # 10.0.0.0/8
    # 192.168.0.1 differs from 10/8 in its first bit: one bit examined.
    assert t.lookup(0xC0A80001) == (0, 1)
    # 10.1.2.3 matches /8 and the walk ends at that leaf without looking further.
    assert t.lookup(0x0A010203) == (1 << 8, 8)
    # 11.0.0.0 differs at bit 7 (00001010 vs 00001011).
    assert t.lookup(0x0B000000) == (0, 8)
    t.insert(0x0A01, 16)                            # 10.1.0.0/16 below it
    assert t.lookup(0x0A010203) == (1 << 8 | 1 << 16, 16)
    # 10.2.0.0: matches /8; 10.1/16 differs at bit 14 (0x01 vs 0x02 in the second byte).
    assert t.lookup(0x0A020000) == (1 << 8, 15)
    t.remove(0x0A, 8)
    assert t.lookup(0x0A020000) == (0, 15)
    assert t.count(0x0A01, 16) == 1 and t.count(0x0A, 8) == 0
    with pytest.raises(KeyError):
        t.remove(0x0A, 8)
    with pytest.raises(ValueError):
        t.insert(0x1FF, 8)
    with pytest.raises(ValueError):
        t.insert(0, 0)
