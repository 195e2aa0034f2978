"""Datapath action execution benchmark: packets per second through pyvswitch.dpif.execute (not a test).

A megaflow hit hands the executor one action list and a batch of packets (32, NETDEV_MAX_BURST);
``execute_batch`` runs the list on each.  The packets are 64-byte Ethernet/IPv4/UDP frames (42 bytes of headers
and 22 of payload, correct checksums), 32 distinct ones per batch.  The context's ``output`` drops the frame (it
only counts), so the figures are the executor's own cost: copying each output frame, the header rewrites and
checksum updates.  Each row is the best of three runs.

    python bench/dp_execute.py [--packets 200000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyvswitch.dpif.execute import ExecContext, execute_batch
from pyvswitch.dpif.odp import parse_actions
from pyvswitch.packet.checksum import ipv4_header_checksum, udp_checksum

BATCH = 32
ACTION_LISTS = [
    ("output only", "2"),
    ("set ipv4 dst + output", "set(ipv4(dst=10.9.8.7)),2"),
    ("push_vlan + output", "push_vlan(vid=100,pcp=0),2"),
    ("set eth + ipv4 ttl + output", "set(eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02)),set(ipv4(ttl=63)),2"),
    ("set ipv4 src + udp dst + output", "set(ipv4(src=1.2.3.4)),set(udp(dst=4789)),2"),
    ("output x2 + pop/push", "2,push_vlan(vid=5,pcp=0),3"),
]


class Counter(ExecContext):
    """Counts output frames and keeps nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    def output(self, port: int, frame: bytes) -> None:
        self.sent += 1


def make_frame(i: int) -> bytes:
    """A 64-byte UDP frame with correct IPv4 and UDP checksums; ``i`` varies the source port and address."""
    src, dst = struct.pack("!I", 0x0A000001 + i), bytes((10, 0, 1, 1))
    payload = bytes(range(22))
    udp = struct.pack("!HHHH", 1024 + i, 53, 8 + len(payload), 0) + payload
    udp = udp[:6] + struct.pack("!H", udp_checksum(src, dst, udp)) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", ipv4_header_checksum(ip)) + ip[12:]
    frame = bytes.fromhex("505400000007505400000005") + b"\x08\x00" + ip + udp
    assert len(frame) == 64
    return frame


def measure(actions_text: str, packets: int) -> float:
    actions = parse_actions(actions_text)
    frames = [make_frame(i) for i in range(BATCH)]
    ctx = Counter()
    rounds = max(1, packets // BATCH)
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(rounds):
            execute_batch(frames, actions, ctx)
        best = max(best, rounds * BATCH / (time.perf_counter() - t0))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=200_000, help="packets per run (default 200000)")
    ap.add_argument("--profile", action="store_true", help="profile the set ipv4 dst case instead")
    args = ap.parse_args()
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        measure("set(ipv4(dst=10.9.8.7)),2", args.packets)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(15)
        return
    width = max(len(name) for name, _ in ACTION_LISTS)
    print(f"{'actions (64-byte UDP, batch of 32)':<{width + 4}} {'packets/s':>12}  datapath actions")
    for name, text in ACTION_LISTS:
        pps = measure(text, args.packets)
        print(f"{name:<{width + 4}} {pps:>12,.0f}  {text}")


if __name__ == "__main__":
    main()
