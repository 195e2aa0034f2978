"""Pure helpers of ``bench/forward.py``: frames, trafgen configurations, rule sets, parsers and the report table.

Nothing here touches the host: every function takes values and returns text or numbers, so that the smoke test
(``tests/test_bench_forward.py``) can check them without root, namespaces or traffic.  The script that runs the
switches and the generators is ``forward.py``; the method is described in ``docs/bench-forward.md``.
"""

from __future__ import annotations

import ipaddress
import json
import re
import statistics
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pyvswitch.packet.checksum import internet_checksum

#: The Ethernet addresses of the two hosts (namespaces A and B).  Locally administered, fixed, so that the
#: frames trafgen sends can be written out in advance and B's static neighbour entry names them.
MAC_A = "02:00:00:77:0a:01"
MAC_B = "02:00:00:77:0b:01"
#: A's and B's addresses on their common /24.
NET = "10.77.0.0/24"
IP_A = "10.77.0.1"
IP_B = "10.77.0.2"
#: The destination of the generated UDP: a host B does not have.  B receives the frame (it carries B's MAC), the
#: veth counts it, and the stack drops it without answering (forwarding is off in a new namespace), so no ICMP
#: "port unreachable" flows back through the switch while it is being measured.
IP_SINK = "10.77.1.2"

#: A 64-byte Ethernet frame counts its 4-byte FCS, which a veth does not carry: trafgen writes 60 bytes.
FRAME_LEN = 60
ETH_LEN, IP_LEN, UDP_LEN = 14, 20, 8


def mac_bytes(mac: str) -> bytes:
    parts = mac.split(":")
    if len(parts) != 6:
        raise ValueError(f"{mac!r}: not an Ethernet address")
    return bytes(int(p, 16) for p in parts)


# The Internet checksum (RFC 1071): pyvswitch's own (the benchmark runs in the project's virtualenv).
inet_checksum = internet_checksum


def udp_frame(src_mac: str, dst_mac: str, src_ip: str, dst_ip: str, sport: int, dport: int,
              size: int = FRAME_LEN, ttl: int = 64) -> bytes:
    """An Ethernet/IPv4/UDP frame of ``size`` bytes (zero payload), with correct IP and UDP checksums."""
    payload_len = size - ETH_LEN - IP_LEN - UDP_LEN
    if payload_len < 0:
        raise ValueError(f"a UDP frame needs at least {ETH_LEN + IP_LEN + UDP_LEN} bytes, not {size}")
    src, dst = ipaddress.IPv4Address(src_ip).packed, ipaddress.IPv4Address(dst_ip).packed
    payload = bytes(payload_len)
    udp_len = UDP_LEN + payload_len
    ip_hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, IP_LEN + udp_len, 0, 0x4000, ttl, 17, 0, src, dst)
    ip_hdr = ip_hdr[:10] + struct.pack("!H", inet_checksum(ip_hdr)) + ip_hdr[12:]
    pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_len)
    udp_hdr = struct.pack("!HHHH", sport, dport, udp_len, 0)
    csum = inet_checksum(pseudo + udp_hdr + payload) or 0xFFFF
    udp_hdr = udp_hdr[:6] + struct.pack("!H", csum)
    eth = mac_bytes(dst_mac) + mac_bytes(src_mac) + struct.pack("!H", 0x0800)
    return eth + ip_hdr + udp_hdr + payload


def trafgen_static_config(frames: Iterable[bytes], title: str = "") -> str:
    """A trafgen configuration sending ``frames`` round robin: one ``{ ... }`` block of hex bytes per frame.

    Static packets cost trafgen nothing per packet (no runtime counters or checksums), so the generator stays
    as fast as it can be while the set of 5-tuples is whatever the caller built.
    """
    lines = [f"# {title}"] if title else []
    n = 0
    for frame in frames:
        body = ", ".join(f"0x{b:02x}" for b in frame)
        lines.append("{ " + body + " }")
        n += 1
    if not n:
        raise ValueError("a trafgen configuration needs at least one frame")
    return "\n".join(lines) + "\n"


def trafgen_setup_config(src_mac: str = MAC_A, dst_mac: str = MAC_B, src_ip: str = IP_A, dst_ip: str = IP_SINK,
                         size: int = FRAME_LEN) -> str:
    """A trafgen configuration in which every packet is a new 5-tuple, for the flow-setup case.

    trafgen's runtime counters step, on every packet, the UDP source port over 1024..65535 (64,512 values), the
    destination port over 1..65521 (65,521 values, a prime) and the last two bytes of the source address; the
    pair of ports repeats only after lcm(64512, 65521) = 4.2e9 packets.  trafgen recomputes the IP and UDP
    checksums of a packet whose fields change at run time.
    """
    payload = size - ETH_LEN - IP_LEN - UDP_LEN
    if payload < 0:
        raise ValueError(f"a UDP frame needs at least {ETH_LEN + IP_LEN + UDP_LEN} bytes, not {size}")
    return ("# pyvswitch bench/forward.py: flow setup, a new 5-tuple per packet\n"
            "{\n"
            f"  eth(da={dst_mac}, sa={src_mac}),\n"
            f"  ipv4(sa={src_ip}, da={dst_ip}, ttl=64, df, sa[2:2]=dinc()),\n"
            "  udp(sp=dinc(1024, 65535), dp=dinc(1, 65521)),\n"
            f"  fill(0, {payload})\n"
            "}\n")


# -- Rule sets ---------------------------------------------------------------------------------------------

def rules_two(port_a: int, port_b: int) -> list[str]:
    """Case pps-2rules: a cable between the two ports, in ovs-ofctl syntax."""
    return [f"priority=10,in_port={port_a},actions=output:{port_b}",
            f"priority=10,in_port={port_b},actions=output:{port_a}"]


def rules_nine(port_a: int, port_b: int) -> list[str]:
    """Case pps-9rules: nine rules on IP and L4 fields; the traffic of :func:`nine_rule_frames` matches several
    of them (two destination prefixes, three destination-port ranges, the catch-all) and never a drop rule, so
    every packet sent should reach B.  The drop rules still count: a lookup that consults them un-wildcards
    their fields in the megaflow, as in Open vSwitch."""
    return [
        f"priority=90,udp,nw_dst=10.77.1.0/26,tp_dst=53,actions=output:{port_b}",
        f"priority=80,udp,nw_dst=10.77.1.64/26,actions=output:{port_b}",
        f"priority=70,udp,tp_dst=0x0400/0xfff0,actions=output:{port_b}",
        f"priority=60,udp,tp_dst=0x0800/0xfff0,actions=output:{port_b}",
        "priority=50,udp,nw_dst=10.77.2.0/24,actions=drop",
        "priority=40,tcp,actions=drop",
        "priority=30,udp,nw_src=10.77.3.0/24,actions=drop",
        f"priority=20,in_port={port_a},udp,nw_dst=10.77.1.128/25,actions=output:{port_b}",
        f"priority=0,actions=output:{port_b}",
    ]


def nine_rule_tuples(n: int = 1024) -> list[tuple[str, str, int, int]]:
    """``n`` distinct (source IP, destination IP, source port, destination port) tuples for case pps-9rules.

    Destinations walk 10.77.1.1..10.77.1.126 (both /26 rules and neither), destination ports cycle through
    53, 0x0400..0x040f, 0x0800..0x080f and 5000..5007 (the three port rules and the catch-all), source ports
    count up from 10000: no two tuples are equal.
    """
    dports = [53, *range(0x400, 0x410), *range(0x800, 0x810), *range(5000, 5008)]
    out = []
    for i in range(n):
        dst = f"10.77.1.{1 + i % 126}"
        out.append((IP_A, dst, 10000 + i, dports[i % len(dports)]))
    return out


def rules_setup(port_b: int) -> list[str]:
    """Case setup: every pair of UDP ports its own megaflow.

    A rule that merely matches an exact port is not enough: Open vSwitch tracks the ports' prefixes, and a miss
    un-wildcards only the leading bits that tell the packet's port from the rule's, so a handful of megaflows
    would cover all the traffic.  Reading the ports with ``move`` (into a register nothing else uses) makes the
    translation depend on all 32 bits, and the megaflow then matches both ports exactly; the datapath actions
    stay a single output.  A catch-all forwards anything else.
    """
    return [(f"priority=10,udp,actions=move:NXM_OF_UDP_SRC[]->NXM_NX_REG0[0..15],"
             f"move:NXM_OF_UDP_DST[]->NXM_NX_REG0[16..31],output:{port_b}"),
            f"priority=0,actions=output:{port_b}"]


def flows_file(n: int, port_b: int) -> str:
    """Case memory: ``n`` distinct OpenFlow rules for ``ovs-ofctl add-flows``, one per line, each an exact
    IPv4 destination in 10.128.0.0/9 and a UDP destination port, with output to B."""
    if n > 1 << 23:
        raise ValueError("at most 2**23 rules fit in 10.128.0.0/9")
    lines = []
    for i in range(n):
        a = 0x0A800000 + i
        ip = f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"
        lines.append(f"priority={100 + i % 7},udp,nw_dst={ip},tp_dst={1 + i % 1000},actions=output:{port_b}")
    return "\n".join(lines) + "\n"


# -- Parsers -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrafgenStats:
    packets: int
    seconds: float

    @property
    def pps(self) -> float:
        return self.packets / self.seconds if self.seconds > 0 else 0.0


def parse_trafgen(text: str) -> TrafgenStats | None:
    """trafgen's summary on exit: ``N packets outgoing`` and ``S sec, U usec on CPUk (N packets)`` per CPU."""
    m = re.search(r"^\s*(\d+) packets outgoing", text, re.MULTILINE)
    if not m:
        return None
    secs = [int(s) + int(u) / 1e6 for s, u in re.findall(r"(\d+) sec, (\d+) usec on CPU\d+", text)]
    return TrafgenStats(int(m.group(1)), max(secs) if secs else 0.0)


def parse_iperf3(text: str) -> float:
    """Received bits per second from ``iperf3 -J``'s report."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"iperf3 printed no JSON report: {text.strip()[:200]!r}") from e
    end = data.get("end") or {}
    summary = end.get("sum_received") or end.get("sum")
    if not summary or "bits_per_second" not in summary:
        raise ValueError(f"iperf3: {data.get('error', 'no summary in the report')}")
    return float(summary["bits_per_second"])


def parse_pmd_stats(text: str) -> dict[str, float]:
    """``dpif-netdev/pmd-stats-show`` summed over threads: ``{"miss with success upcall": N, ...}``."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r"\s+([a-z][a-z .\-/]*[a-z]):\s*([0-9.]+)(?:\s|$)", line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(2))
    return out


def parse_vmrss_kib(status: str) -> int:
    """VmRSS, in KiB, from the text of ``/proc/PID/status``."""
    m = re.search(r"^VmRSS:\s+(\d+)\s+kB", status, re.MULTILINE)
    if not m:
        raise ValueError("no VmRSS line")
    return int(m.group(1))


def count_dp_flows(text: str) -> int:
    """Datapath flows in ``dpctl/dump-flows`` output: one per non-empty line that is not a header."""
    return sum(1 for line in text.splitlines() if line.strip() and not line.startswith(("flow-dump", "netdev@")))


# -- The report --------------------------------------------------------------------------------------------

def median(values: Sequence[float]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den == 0:
        return None
    return num / den


def fmt_value(v: float | None, unit: str) -> str:
    """A number as the table shows it: pps with thousands separators, Gbit/s and seconds with decimals."""
    if v is None:
        return "—"
    if unit in ("Gbit/s", "s"):
        return f"{v:.2f}" if v >= 0.1 or v == 0 else f"{v:.3g}"
    if unit == "MiB":
        return f"{v:.1f}"
    return f"{v:,.0f}"


@dataclass(frozen=True)
class Row:
    """One line of the table: ``case`` names the measurement, ``metric`` the number each run recorded, and
    ``ovs`` the switch whose runs go in the Open vSwitch column (``ovs`` or ``ovs-tso``)."""

    case: str
    metric: str
    label: str
    unit: str
    ovs: str = "ovs"


COLUMNS = (("pyvs", "pyvswitch"), ("ovs", "Open vSwitch"), ("linux", "Linux bridge"))


def cell(runs: list[dict[str, float]] | None, metric: str, unit: str) -> tuple[str, float | None]:
    """The median of ``metric`` over ``runs`` and, after it, the runs themselves when there are several."""
    if not runs:
        return "n/a", None
    vals = [r.get(metric) for r in runs]
    med = median([v for v in vals if v is not None])
    text = fmt_value(med, unit)
    if len(vals) > 1:
        text += " (" + " / ".join(fmt_value(v, unit) for v in vals) + ")"
    return text, med


def format_table(results: dict[str, dict[str, list[dict[str, float]]]], rows: Iterable[Row]) -> str:
    """The Markdown table: one line per row whose case was measured, a column per switch, and the ratio of
    pyvswitch's median to Open vSwitch's.  ``results[case][switch]`` is the list of runs, each a dict of
    metrics; a switch that did not run a case shows ``n/a``."""
    head = ["case", *(name for _, name in COLUMNS), "pyvswitch / OVS"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        by_switch = results.get(row.case)
        if not by_switch:
            continue
        cells, meds = [], {}
        for sw, _ in COLUMNS:
            key = row.ovs if sw == "ovs" else sw
            text, med = cell(by_switch.get(key), row.metric, row.unit)
            cells.append(text)
            meds[sw] = med
        r = ratio(meds["pyvs"], meds["ovs"])
        out.append(f"| {row.label} | " + " | ".join(cells) + f" | {'—' if r is None else f'{r:.3f}'} |")
    return "\n".join(out) + "\n"
