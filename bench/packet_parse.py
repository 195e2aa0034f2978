"""Parse and build rates of pyvswitch.packet for a minimum-size UDP/IPv4 frame.

The frame is 60 bytes on the wire plus a 4-byte FCS that NICs strip, i.e. the classic 64-byte packet.  "parse"
is what flow extraction does per packet: Ethernet, IPv4 and UDP headers; "build" makes the whole frame with
both checksums.  Run with ``.venv/bin/python bench/packet_parse.py [seconds]``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from pyvswitch.packet import parse_ethernet, parse_ipv4, parse_udp
from pyvswitch.packet.build import udp4_frame

FRAME = udp4_frame(payload=bytes(18))
assert len(FRAME) == 60
FRAME_VIEW = memoryview(FRAME)


def parse(buf: bytes | memoryview) -> int:
    _eth, off = parse_ethernet(buf, 0)
    _ip, off = parse_ipv4(buf, off)
    udp, off = parse_udp(buf, off)
    return udp.dst_port


def parse_once() -> int:
    return parse(FRAME)


def parse_memoryview_once() -> int:
    return parse(FRAME_VIEW)


def build_once() -> bytes:
    return udp4_frame(payload=b"\x00" * 18)


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``fn``, measured in batches of 1000 for ``seconds``."""
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(1000):
            fn()
        n += 1000
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    print(f"python {sys.version.split()[0]}, 64-byte UDP/IPv4 frame, {seconds:.1f} s per figure")
    for name, fn in (
        ("parse eth+ipv4+udp (bytes)", parse_once),
        ("parse eth+ipv4+udp (memoryview)", parse_memoryview_once),
        ("build udp4_frame", build_once),
    ):
        r = rate(fn, seconds)
        print(f"{name:34s} {r:12,.0f} /s  {1e6 / r:6.2f} us each")


if __name__ == "__main__":
    main()
