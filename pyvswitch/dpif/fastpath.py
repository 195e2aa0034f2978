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
from numpy.lib.stride_tricks import as_strided

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
#: Remembered groups per input port; beyond this many the table starts again (the EMC's size).
MAX_ENTRIES = 8192


class _Table:
    """The remembered groups of one input port: masked header bytes -> megaflow, in a dictionary for changes and
    as sorted numpy arrays (signatures, header rows, flow numbers) for lookups of a whole batch at once."""

    __slots__ = ("by_bytes", "fidx", "flows", "rows", "sigs", "stale")

    def __init__(self) -> None:
        self.by_bytes: dict[bytes, Megaflow] = {}
        self.flows: list[Megaflow] = []
        self.sigs = np.zeros(0, np.uint64)
        self.rows = np.zeros((0, WIDTH), np.uint8)
        self.fidx = np.zeros(0, np.int64)
        self.stale = False

    def rebuild(self) -> None:
        """The arrays again from the dictionary (after insertions or the removal of dead flows)."""
        self.stale = False
        items = list(self.by_bytes.items())
        if not items:
            self.__init__()  # type: ignore[misc]
            return
        rows = np.frombuffer(b"".join(k for k, _ in items), np.uint8).reshape(len(items), WIDTH)
        sigs = _signatures(rows)
        order = np.argsort(sigs, kind="stable")
        ids: dict[Megaflow, int] = {}
        flows: list[Megaflow] = []
        fidx = np.empty(len(items), np.int64)
        for i, (_, flow) in enumerate(items):
            j = ids.get(flow)
            if j is None:
                j = ids[flow] = len(flows)
                flows.append(flow)
            fidx[i] = j
        self.sigs, self.rows, self.fidx, self.flows = sigs[order], rows[order], fidx[order], flows


def _signatures(masked: np.ndarray) -> np.ndarray:
    words = np.ascontiguousarray(masked).view(np.uint64)
    return (words * _PRIMES).sum(axis=1, dtype=np.uint64)


class SignatureCache:
    """See the module docstring.  ``lookup_key(i) -> Megaflow | None`` is the slow path for one group: it
    extracts the key of frame ``i`` (the caller's input port and metadata) and looks it up in the caches."""

    def __init__(self) -> None:
        self._by_port: dict[int, _Table] = {}
        self.n_hits = 0

    def clear(self) -> None:
        self._by_port.clear()

    def classify(self, port_no: int, buf: np.ndarray, offs: np.ndarray, lens: np.ndarray,
                 vlan: np.ndarray | None, lookup_key: Callable[[int], Megaflow | None]
                 ) -> tuple[list[Megaflow], np.ndarray, np.ndarray]:
        """The megaflow of each frame of a batch: ``(flows, fid, flags)``: frame ``i``'s megaflow is
        ``flows[fid[i]]``, or the frame is left to the caller when ``fid[i]`` is -1; ``flags`` holds each frame's
        TCP flags (0 for the others).  ``lookup_key(i)`` is called for the first frame of every group not
        remembered."""
        n = len(offs)
        limit = len(buf) - 1
        fid = np.full(n, -1, np.int64)
        if limit < 0:
            return [], fid, np.zeros(n, np.int64)
        step = int(offs[1] - offs[0]) if n > 1 else 0
        if step >= WIDTH and int(offs[-1]) + WIDTH <= len(buf) and (np.diff(offs) == step).all():
            # Frames equally spaced (a receive ring's frames of one size): one strided copy.
            hdr = as_strided(buf[int(offs[0]):], shape=(n, WIDTH), strides=(step, 1), writeable=False).copy()
        else:
            idx = offs[:, None] + _COLS
            np.minimum(idx, limit, out=idx)
            hdr = buf[idx]
        short = lens < WIDTH
        if short.any():
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
        # A TCP header whose data offset is below 5 words or runs past the IP payload gives extract no TCP fields;
        # the offset is not in the compared bytes, so such frames take the per-frame path.
        doff = (h16[:, 46] >> 4) << 2
        ok &= (shape != _TCP) | ((doff >= 20) & (ip_len - 20 >= doff))
        if vlan is not None:
            ok &= vlan < 0
        flags = np.where(shape == _TCP, ((h16[:, 46] & 0x0F) << 8) | h16[:, 47], 0)
        fast = np.flatnonzero(ok)
        tab = self._by_port.get(port_no)
        if tab is None:
            tab = self._by_port[port_no] = _Table()
        if not len(fast):
            return tab.flows, fid, flags
        masked = hdr[fast] & _MASKS[shape[fast]]
        sig = _signatures(masked)
        got = self._lookup(tab, masked, sig)
        miss = got < 0
        if miss.any():
            self._learn(tab, fast, masked, sig, miss, got, lookup_key)
        fid[fast] = got
        self.n_hits += int((got >= 0).sum())
        return tab.flows, fid, flags

    @staticmethod
    def _lookup(tab: _Table, masked: np.ndarray, sig: np.ndarray) -> np.ndarray:
        """Each row's flow number in ``tab``, or -1."""
        got = np.full(len(sig), -1, np.int64)
        if not len(tab.sigs):
            return got
        pos = np.searchsorted(tab.sigs, sig)
        np.minimum(pos, len(tab.sigs) - 1, out=pos)
        found = tab.sigs[pos] == sig
        if found.any():
            rows = np.flatnonzero(found)
            same = (tab.rows[pos[rows]] == masked[rows]).all(axis=1)
            rows = rows[same]
            got[rows] = tab.fidx[pos[rows]]
            # A removed megaflow: its entries go, its frames are looked up again.
            used = np.unique(got[rows])
            dead = [int(j) for j in used if tab.flows[int(j)].dead]
            if dead:
                got[np.isin(got, dead)] = -1
                tab.by_bytes = {k: f for k, f in tab.by_bytes.items() if not f.dead}
                tab.rebuild()
                return SignatureCache._lookup(tab, masked, sig)
        return got

    @staticmethod
    def _learn(tab: _Table, fast: np.ndarray, masked: np.ndarray, sig: np.ndarray, miss: np.ndarray,
               got: np.ndarray, lookup_key: Callable[[int], Megaflow | None]) -> None:
        """Look up the first frame of each group that missed, remember the answers, and give the group's frames
        their flow numbers (a frame whose bytes differ from its group's first frame stays a miss)."""
        rows = np.flatnonzero(miss)
        _, first, inv = np.unique(sig[rows], return_index=True, return_inverse=True)
        added = False
        answer = np.full(len(first), -1, np.int64)
        for u, r in enumerate(first.tolist()):
            row = int(rows[r])
            flow = lookup_key(int(fast[row]))
            if flow is None:
                continue
            if len(tab.by_bytes) >= MAX_ENTRIES:
                tab.by_bytes.clear()
            tab.by_bytes[masked[row].tobytes()] = flow
            added = True
            answer[u] = -2 - u     # Resolved to a flow number once the table is rebuilt.
        if not added:
            return
        tab.rebuild()
        number = {id(f): j for j, f in enumerate(tab.flows)}
        resolved = np.full(len(first), -1, np.int64)
        for u in np.flatnonzero(answer != -1).tolist():
            flow = tab.by_bytes.get(masked[int(rows[first[u]])].tobytes())
            if flow is not None:
                resolved[u] = number[id(flow)]
        cand = resolved[inv]
        same = (masked[rows] == masked[rows[first]][inv]).all(axis=1)
        cand[~same] = -1
        got[rows] = cand
