"""A binary prefix trie over one address field, for prefix tracking.

The classifier keeps one trie per prefix field (``nw_src``, ``nw_dst``, ``ipv6_src``, ``ipv6_dst`` by default).
It holds the prefix of every rule whose mask on that field is a CIDR prefix of length 1 or more, with a count of
rules per prefix.  A lookup walks the trie along the bits of a packet's address and answers two questions:

* which prefix lengths have at least one rule prefix that matches the address (a bitmap: bit ``L`` set when some
  rule's ``L``-bit prefix equals the address's first ``L`` bits), and
* how many leading bits of the address the walk had to examine to know that.

Every address that shares those leading bits walks the same path and gets the same bitmap, so a classifier that
skips a subtable because its prefix length is not in the bitmap only has to un-wildcard that many leading bits,
which is what keeps megaflows wide when most rules are about other networks.

What "the walk examined" means follows Open vSwitch's trie (lib/classifier.c): think of the binary trie whose
nodes are all the leading parts of the stored prefixes.  The walk follows the address from the root as long as
the next node exists.  If it stops at depth ``D`` because the node there has children but not the one the
address needs, it examined ``D + 1`` bits (the bit that chose the missing branch); if it stops at a leaf, it
examined ``D`` bits; if it reaches the full width, all of them.

Representation
--------------
A pointer-chasing trie costs a Python-level step per branching node, up to 32 (IPv4) or 128 (IPv6) per lookup;
measured on 100k prefixes it was the largest cost of a classifier lookup.  This class stores the same trie
implicitly, in two structures that C code searches:

* for each prefix length in use, the set of prefixes of that length: a prefix of length ``L`` matches the
  address iff the address's first ``L`` bits are in that set;
* one sorted list of all prefixes, each padded with zero bits to the full width (and ordered by length among
  equal padded values).  The depth ``D`` at which the walk stops is the longest common prefix between the
  address and a stored prefix (capped at that prefix's length); it is reached at one of the address's two
  neighbours in the list.  (A prefix shorter than the common part that sat between the address and a deeper
  prefix would have to be the address's bits followed by zeros, which sorts before everything sharing them.)
  The node at depth ``D`` has children iff the last entry of the block of entries sharing those ``D`` bits is
  longer than ``D``.  Two binary searches (``bisect``) answer both.

``tests/classifier/test_trie.py`` checks the answers against an explicit uncompressed trie.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort

__all__ = ["PrefixTrie"]


class PrefixTrie:
    """A counted set of bit prefixes of a ``width``-bit field, with the trie walk's lookup.

    Prefixes are given as ``(value, plen)`` where ``value`` holds the ``plen`` leading bits of the field as an
    integer (most significant bit first), ``1 <= plen <= width``.  Inserting the same prefix twice counts it twice;
    it leaves the trie when it has been removed as many times."""

    __slots__ = ("_by_len", "_counts", "_lens", "_padded", "width")

    def __init__(self, width: int) -> None:
        if width < 1:
            raise ValueError("a trie needs a field at least one bit wide")
        if width > 255:
            raise ValueError("a trie field may be at most 255 bits wide")
        self.width = width
        # Keyed by the padded form ``(value << (width - plen)) << 8 | plen``, the same int object ``_padded`` holds:
        # one int per distinct prefix instead of a tuple and two ints (tries are kept for every rule).
        self._counts: dict[int, int] = {}
        self._by_len: dict[int, set[int]] = {}             # plen -> distinct prefix values of that length
        self._lens: tuple[tuple[int, set[int]], ...] = ()  # the same, as a tuple to iterate
        self._padded: list[int] = []                       # sorted: (value << (width - plen)) << 8 | plen

    # -- updates -------------------------------------------------------------------------------------------------

    def insert(self, value: int, plen: int) -> None:
        """Count one more rule with prefix ``value``/``plen``."""
        self._check(value, plen)
        k = (value << (self.width - plen)) << 8 | plen
        n = self._counts.get(k, 0)
        self._counts[k] = n + 1
        if n:
            return
        values = self._by_len.get(plen)
        if values is None:
            self._by_len[plen] = {value}
            self._lens = tuple(sorted(self._by_len.items()))
        else:
            values.add(value)
        insort(self._padded, k)

    def remove(self, value: int, plen: int) -> None:
        """Count one rule fewer with prefix ``value``/``plen``.  Raises KeyError if it is not in the trie."""
        self._check(value, plen)
        k = (value << (self.width - plen)) << 8 | plen
        n = self._counts[k] - 1
        if n:
            self._counts[k] = n
            return
        del self._counts[k]
        values = self._by_len[plen]
        values.discard(value)
        if not values:
            del self._by_len[plen]
            self._lens = tuple(sorted(self._by_len.items()))
        padded = self._padded
        del padded[bisect_left(padded, k)]

    def _check(self, value: int, plen: int) -> None:
        if not 1 <= plen <= self.width:
            raise ValueError(f"prefix length {plen} outside 1..{self.width}")
        if value >> plen or value < 0:
            raise ValueError(f"prefix value {value:#x} wider than {plen} bits")

    # -- queries -------------------------------------------------------------------------------------------------

    def count(self, value: int, plen: int) -> int:
        """How many rules have exactly prefix ``value``/``plen``."""
        return self._counts.get((value << (self.width - plen)) << 8 | plen, 0)

    def lookup(self, addr: int) -> tuple[int, int]:
        """Walk the trie along ``addr`` (a ``width``-bit value).

        Returns ``(plens, nbits)``: ``plens`` has bit ``L`` set when a rule prefix of length ``L`` matches
        ``addr``; ``nbits`` is the number of leading bits of ``addr`` the walk examined.  Any address equal to
        ``addr`` in its first ``nbits`` bits gets the same ``plens``."""
        padded = self._padded
        if not padded:
            return 0, 0
        width = self.width
        plens = 0
        for plen, values in self._lens:
            if addr >> (width - plen) in values:
                plens |= 1 << plen
        # The depth where the walk stops, from the neighbours of the address in padded order.
        i = bisect_right(padded, addr << 8 | 0xFF)
        depth = 0
        if i:
            e = padded[i - 1]
            depth = width - ((e >> 8) ^ addr).bit_length()
            depth = min(depth, e & 0xFF)
        if i < len(padded):
            e = padded[i]
            d = width - ((e >> 8) ^ addr).bit_length()
            d = min(d, e & 0xFF)
            depth = max(depth, d)
        if depth >= width:
            return plens, width
        # Does the node at `depth` have children: is the last prefix sharing its bits longer than `depth`?
        shift = width - depth
        start = (addr >> shift) << shift
        last = padded[bisect_left(padded, (start + (1 << shift)) << 8) - 1]
        return plens, depth + 1 if last > (start << 8 | depth) else depth

    def prefixes(self) -> list[tuple[int, int, int]]:
        """Every stored prefix as ``(value, plen, count)``, by length then value (for tests and debugging)."""
        width = self.width
        out = [((k >> 8) >> (width - (k & 0xFF)), k & 0xFF, n) for k, n in self._counts.items()]
        return sorted(out, key=lambda t: (t[1], t[0]))

    def __len__(self) -> int:
        return sum(self._counts.values())

    def __bool__(self) -> bool:
        return bool(self._counts)
