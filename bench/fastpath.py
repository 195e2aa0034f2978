"""The userspace datapath's batch path in process: frames per second through ``NetdevDpif.receive_batch`` (not a
test).

A batch of 2,048 64-byte UDP frames (the size of a full receive-ring visit under load) arrives on port 1; the
megaflows, installed beforehand, output to port 2, whose device counts and drops (``send_batch`` does nothing),
so the figures are the Python cost of the datapath: classifying the batch, statistics, grouping the output.  The
frames spread over 1, 100, 1,000 and 5,000 megaflows (a megaflow per destination address).  Each row is the best
of three runs.

    python bench/fastpath.py [--batches 200] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from pyvswitch.dpif.netdev_dpif import NetdevDpif
from pyvswitch.dpif.odp import Output
from pyvswitch.flow import fields as F
from pyvswitch.netdev.netdev import PacketBatch
from pyvswitch.packet.build import udp4_frame

BATCH = 2048
MASK = F.storage_mask("in_port") | F.storage_mask("dl_type") | F.storage_mask("nw_dst")


class NullDev:
    name, netdev_class = "null", "system"

    def __init__(self) -> None:
        self.frames = 0

    def send(self, frame: bytes, vnet: bytes | None = None) -> bool:
        self.frames += 1
        return True

    def send_batch(self, batch: PacketBatch, idx: np.ndarray) -> None:
        self.frames += len(idx)

    def flush(self) -> None:
        pass


def run(n_flows: int, batches: int, profile: bool) -> float:
    dp = NetdevDpif()
    dev = NullDev()
    dp.port_add("p1", "system", 1)
    dp.port_add("p2", "system", 2, dev.send, netdev=dev)  # type: ignore[arg-type]
    dp.upcall_handler = lambda misses: [(key, MASK, [Output(2)]) for _, key in misses]
    frames = [udp4_frame(eth_src="02:00:00:00:00:01", eth_dst="02:00:00:00:00:02", ip_src="10.0.0.1",
                         ip_dst=f"10.1.{(i % n_flows) >> 8}.{(i % n_flows) & 255}", sport=1000, dport=53,
                         payload=bytes(18)) for i in range(BATCH)]
    batch = PacketBatch.from_frames(frames)
    dp.receive_batch(1, batch)          # The upcalls: every megaflow installed.
    dp.receive_batch(1, batch)          # The classifier remembers the groups.
    dev.frames = 0
    prof = cProfile.Profile() if profile else None
    if prof:
        prof.enable()
    t = time.perf_counter()
    for _ in range(batches):
        dp.receive_batch(1, batch)
    dt = time.perf_counter() - t
    if prof:
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)
    assert dev.frames == BATCH * batches
    return BATCH * batches / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    print(f"{'megaflows':>10} {'frames/s':>12} {'us/frame':>9}")
    for n in (1, 100, 1000, 5000):
        best = max(run(n, args.batches, args.profile) for _ in range(3))
        print(f"{n:>10} {best:>12,.0f} {1e6 / best:>9.2f}")


if __name__ == "__main__":
    main()
