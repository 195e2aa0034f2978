"""Flow extractions per second: ``pyvswitch.flow.extract`` on typical frames.

Frames are minimum-size (60 bytes plus the 4-byte FCS NICs strip: the classic 64-byte packet) unless their
headers need more.  Each figure is the best of several timed runs of a loop calling ``extract(frame, 1)``, so it
includes the call overhead a datapath pays per packet.  Run with ``.venv/bin/python bench/extract.py [seconds]``.
"""

from __future__ import annotations

import platform
import sys
import timeit

from scapy.all import ARP, IP, TCP, UDP, Dot1Q, Ether, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6, Raw

from pyvswitch.flow.extract import extract, extract_with_offsets

E = Ether(src="00:11:22:33:44:55", dst="66:77:88:99:aa:bb")
IP4 = IP(src="10.0.0.1", dst="10.0.0.2")
IP6 = IPv6(src="2001:db8::1", dst="2001:db8::2")


def pad(pkt: object, size: int = 60) -> bytes:
    b = bytes(pkt)  # type: ignore[call-overload]
    return b + bytes(max(0, size - len(b)))


FRAMES: list[tuple[str, bytes]] = [
    ("UDP/IPv4", pad(E / IP4 / UDP(sport=1234, dport=80) / Raw(bytes(18)))),
    ("TCP/IPv4", pad(E / IP4 / TCP(sport=1234, dport=80, flags="A"))),
    ("UDP/IPv4, VLAN", pad(E / Dot1Q(vlan=10) / IP4 / UDP(sport=1234, dport=80) / Raw(bytes(18)))),
    ("UDP/IPv6", pad(E / IP6 / UDP(sport=1234, dport=80) / Raw(bytes(10)))),
    ("TCP/IPv6", pad(E / IP6 / TCP(sport=1234, dport=80, flags="A"))),
    ("ARP", pad(E / ARP(psrc="10.0.0.1", pdst="10.0.0.2"))),
    ("ICMPv6 ND NS+SLL", pad(E / IP6 / ICMPv6ND_NS(tgt="2001:db8::2") / ICMPv6NDOptSrcLLAddr(lladdr="00:11:22:33:44:55"))),
]


def per_call(stmt: str, env: dict[str, object], seconds: float) -> float:
    """Seconds per call of ``stmt``, best of 5 runs of about ``seconds``/5 each."""
    timer = timeit.Timer(stmt, globals=env)
    n, t = timer.autorange()
    number = max(1, int(n * (seconds / 5) / t))
    return min(timer.repeat(repeat=5, number=number)) / number


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    print(f"python {platform.python_version()} on {platform.machine()}, {seconds:.1f} s per figure")
    print(f"{'frame':<20} {'bytes':>5} {'extract':>10} {'per second':>12} {'with offsets':>13}")
    for name, frame in FRAMES:
        env = {"extract": extract, "extract_with_offsets": extract_with_offsets, "frame": frame}
        t = per_call("extract(frame, 1)", env, seconds)
        t_ofs = per_call("extract_with_offsets(frame, 1)", env, seconds)
        print(f"{name:<20} {len(frame):>5} {t * 1e9:>8.0f}ns {1 / t:>12,.0f} {t_ofs * 1e9:>11.0f}ns")
    view = memoryview(FRAMES[0][1])
    t = per_call("extract(frame, 1)", {"extract": extract, "frame": view}, seconds)
    print(f"{'UDP/IPv4 memoryview':<20} {len(view):>5} {t * 1e9:>8.0f}ns {1 / t:>12,.0f}")


if __name__ == "__main__":
    main()
