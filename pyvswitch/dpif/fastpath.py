"""The batch classifier of the userspace datapath: a whole received batch to its megaflows with numpy.

Extracting a flow key costs a few microseconds of Python per packet, more than a switch can afford per packet.
Open vSwitch has the same problem in C and answers it with its exact-match cache and, on x86, with miniflow
extraction specialised for the common packet shapes ("mfex opt").  This module does the same for a batch at once:

1. The first :data:`WIDTH` bytes of every frame are gathered into one ``n x WIDTH`` array.
2. The frames of the common shape (Ethernet, IPv4 without options and not a fragment, TCP/UDP/ICMP, lengths
   consistent) are recognised with vectorised tests.  For them, the bytes the flow key depends on are exactly
   known: the addresses, the EtherType, the IPv4 TOS, TTL and protocol, the ports (TCP also its flags) or the ICMP
   type and code.  Every other byte is masked to zero (:data:`_MASKS`), so two frames of the same shape with the
   same masked header have the same flow key and therefore the same megaflow.
3. The masked headers are hashed (a multiply-add over 64-bit words), grouped with ``numpy.unique``, and each group
   looks its megaflow up in a dictionary keyed by the exact masked bytes (so a hash collision costs a lookup, never
   a wrong answer; a frame whose bytes differ from its group's first frame goes the slow way).
4. A group not in the dictionary extracts the full key of its first frame and asks the datapath's caches (EMC and
   megaflows); the answer is remembered.  An entry whose megaflow was removed is a miss (``Megaflow.dead``), as
   in the EMC.

The frames of any other shape (ARP, IPv6, VLAN tags in the frame or from the kernel, IP options, fragments) and the
groups without a megaflow are returned to the caller, which extracts their keys one by one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .flow_cache import Megaflow

__all__ = ["WIDTH", "SignatureCache"]

WIDTH = 48
"""Header bytes compared: Ethernet (14), IPv4 without options (20), then up to 14 bytes of L4 header."""

_TCP, _UDP, _ICMP = 0, 1, 2


def _mask(keep: list[tuple[int, int, int]]) -> np.ndarray:
    m = np.zeros(WIDTH, np.uint8)
    for start, end, value in keep:
        m[start:end] = value
    return m


_COMMON = [(0, 14, 0xFF), (14, 16, 0xFF), (22, 24, 0xFF), (26, 34, 0xFF)]   # MACs, type, 0x45+TOS, TTL+proto, IPs
_MASKS = np.stack([
    _mask(_COMMON + [(34, 38, 0xFF), (46, 47, 0x0F), (47, 48, 0xFF)]),   # TCP: ports, the 12 bits of flags
    _mask(_COMMON + [(34, 38, 0xFF)]),                                  # UDP: ports
    _mask(_COMMON + [(34, 36, 0xFF)]),                                  # ICMP: type and code
])
#: The smallest IPv4 total length each shape needs for the key to be read in full (Open vSwitch reads a TCP
#: header of 20 bytes, UDP 8, ICMP 8).
_MIN_IP_LEN = np.array([40, 28, 28], np.int64)
_PRIMES = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5,
                    0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53], dtype=np.uint64)
_COLS = np.arange(WIDTH, dtype=np.int64)
#: Remembered groups per input port; beyond this many the dictionary starts again (the EMC's size).
MAX_ENTRIES = 8192


class SignatureCache:
    """See the module docstring.  ``lookup_key(frame) -> Megaflow | None`` is the slow path for one group: it
    extracts the key of a frame (the caller's input port and metadata) and looks it up in the caches."""

    def __init__(self) -> None:
        self._by_port: dict[int, dict[bytes, Megaflow]] = {}
        self.n_hits = 0

    def clear(self) -> None:
        self._by_port.clear()

    def classify(self, port_no: int, buf: np.ndarray, offs: np.ndarray, lens: np.ndarray,
                 vlan: np.ndarray | None, lookup_key: Callable[[int], Megaflow | None]
                 ) -> tuple[list[tuple[Megaflow, np.ndarray]], np.ndarray, np.ndarray]:
        """The frames of a batch with their megaflows: ``(groups, rest, flags)``.  ``groups`` lists each megaflow
        found with the indexes of its frames (in batch order); ``rest`` the indexes left to the caller;
        ``flags`` each frame's TCP flags (0 for the others).  ``lookup_key(i)`` is called for the first frame of
        every group not remembered."""
        n = len(offs)
        limit = len(buf) - 1
        if limit < 0:
            return [], np.arange(n), np.zeros(n, np.int64)
        idx = offs[:, None] + _COLS
        np.minimum(idx, limit, out=idx)
        hdr = buf[idx]
        hdr[_COLS >= lens[:, None]] = 0
        h16 = hdr.astype(np.int64)
        ip_len = (h16[:, 16] << 8) | h16[:, 17]
        proto = h16[:, 23]
        shape = np.full(n, -1, np.int64)
        shape[proto == 6] = _TCP
        shape[proto == 17] = _UDP
        shape[proto == 1] = _ICMP
        ok = ((h16[:, 12] == 0x08) & (h16[:, 13] == 0x00) & (h16[:, 14] == 0x45) & (shape >= 0)
              & ((h16[:, 20] & 0x3F) == 0) & (h16[:, 21] == 0) & (ip_len + 14 <= lens)
              & (ip_len >= _MIN_IP_LEN[np.maximum(shape, 0)]))
        if vlan is not None:
            ok &= vlan < 0
        flags = np.where(shape == _TCP, ((h16[:, 46] & 0x0F) << 8) | h16[:, 47], 0)
        fast = np.flatnonzero(ok)
        if not len(fast):
            return [], np.arange(n), flags
        masked = hdr[fast] & _MASKS[shape[fast]]
        words = np.ascontiguousarray(masked).view(np.uint64)
        sig = (words * _PRIMES).sum(axis=1, dtype=np.uint64)
        uniq, first, inv = np.unique(sig, return_index=True, return_inverse=True)
        same = (masked == masked[first][inv]).all(axis=1)
        cache = self._by_port.get(port_no)
        if cache is None:
            cache = self._by_port[port_no] = {}
        flow_of = np.full(len(uniq), -1, np.int64)
        flows: list[Megaflow] = []
        ids: dict[Megaflow, int] = {}
        for u in range(len(uniq)):
            row = int(first[u])
            b = masked[row].tobytes()
            flow = cache.get(b)
            if flow is None or flow.dead:
                flow = lookup_key(int(fast[row]))
                if flow is None:
                    continue
                if len(cache) >= MAX_ENTRIES:
                    cache.clear()
                cache[b] = flow
            j = ids.get(flow)
            if j is None:
                j = ids[flow] = len(flows)
                flows.append(flow)
            flow_of[u] = j
        fid = flow_of[inv]
        fid[~same] = -1
        hit = fid >= 0
        rest = np.concatenate([np.flatnonzero(~ok), fast[~hit]])
        rest.sort()
        self.n_hits += int(hit.sum())
        groups: list[tuple[Megaflow, np.ndarray]] = []
        if len(flows) == 1:
            groups.append((flows[0], fast[hit]))
        elif flows:
            hit_rows = fast[hit]
            order = np.argsort(fid[hit], kind="stable")
            bounds = np.flatnonzero(np.diff(fid[hit][order])) + 1
            for part in np.split(order, bounds):
                groups.append((flows[int(fid[hit][part[0]])], hit_rows[part]))
        return groups, rest, flags
