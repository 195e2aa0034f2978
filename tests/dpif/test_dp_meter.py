"""The datapath's meters (:mod:`pyvswitch.dpif.meter`): token buckets with an injected clock, and side by side with
a real Open vSwitch 3.1.

The live tests start a private ovs-vswitchd with a dummy datapath (the userspace datapath with in-memory ports),
add meters with ``ovs-ofctl``, inject 100 frames in one ``ovs-appctl netdev-dummy/receive`` call and compare how
many came out and what ``ovs-ofctl meter-stats`` counted with what :class:`DpMeters` does with the same frames at
one instant.  The rates are chosen so that no bucket can refill what the next frame costs in less than 500 ms,
while the 100 frames go through in a few milliseconds (the buckets start full when a meter is added or modified,
so the time before the frames arrive does not matter), so real time cannot change the outcome.  100 is also the
most frames a dummy port queues.  The provider
meter ids are compared with the ``meter(N)`` that ``ofproto/trace`` shows on two bridges sharing the datapath.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest
from scapy.all import IP, UDP, Dot1Q, Ether, IPv6, raw

from pyvswitch.dpif.execute import ExecContext, PacketMetadata, execute, execute_batch
from pyvswitch.dpif.meter import (
    BAND_DROP,
    BAND_DSCP_REMARK,
    FLAG_BURST,
    FLAG_KBPS,
    FLAG_PKTPS,
    FLAG_STATS,
    DpBand,
    DpMeterConfig,
    DpMeters,
    DpMeterStats,
    dscp_remark,
)
from pyvswitch.dpif.odp import parse_actions
from pyvswitch.ofproto.meter import MeterCommand, MeterIdPool, MeterTable, parse_meter_mod
from pyvswitch.packet.checksum import ipv4_header_checksum_ok

T0 = 1000.0


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def frame(size: int = 100, tos: int = 0) -> bytearray:
    """An IPv4/UDP frame of ``size`` bytes (Ethernet header included)."""
    base = Ether(src="50:54:00:00:00:01", dst="50:54:00:00:00:02") / IP(src="10.0.0.1", dst="10.0.0.2", tos=tos)
    base = base / UDP(sport=1, dport=2)
    return bytearray(raw(base / (b"x" * (size - len(raw(base))))))


def pktps(rate: int, burst: int = 0, band_type: int = BAND_DROP) -> DpMeterConfig:
    return DpMeterConfig(FLAG_PKTPS | (FLAG_BURST if burst else 0), (DpBand(band_type, rate, burst),))


def run_many(dp: DpMeters, pid: int, n: int, size: int = 100, now: float = T0) -> int:
    """How many of ``n`` frames pass meter ``pid`` at time ``now``."""
    return sum(dp.run(pid, frame(size), now) for _ in range(n))


# ---------------------------------------------------------------------------------------------------------------
# Token buckets.

def test_pktps_bucket_is_the_rate_without_burst() -> None:
    dp = DpMeters(clock=Clock())
    assert dp.set(0, pktps(10)) is None
    assert run_many(dp, 0, 100) == 10
    assert dp.stats(0) == DpMeterStats(100, 10_000, ((90, 9000),))


def test_pktps_burst_size_and_refill_by_elapsed_milliseconds() -> None:
    dp = DpMeters(clock=Clock())
    dp.set(3, pktps(10, burst=30))
    assert run_many(dp, 3, 50) == 30
    # 10 packets/s is one packet per 100 ms; time counts in whole milliseconds.
    assert run_many(dp, 3, 5, now=T0 + 0.0995) == 0
    assert run_many(dp, 3, 5, now=T0 + 0.1005) == 1
    assert run_many(dp, 3, 5, now=T0 + 0.3005) == 2
    # A long pause refills the bucket to its size, not beyond.
    assert run_many(dp, 3, 100, now=T0 + 3600) == 30
    # Time going backwards refills nothing.
    assert run_many(dp, 3, 5, now=T0) == 0


def test_kbps_counts_bits_of_the_whole_frame() -> None:
    dp = DpMeters(clock=Clock())
    # 8 kbit/s, 16 kbit bucket: 20 frames of 100 bytes (800 bits), then one per 100 ms.
    dp.set(0, DpMeterConfig(FLAG_KBPS | FLAG_BURST, (DpBand(BAND_DROP, 8, 16),)))
    assert run_many(dp, 0, 50) == 20
    assert run_many(dp, 0, 5, now=T0 + 0.1) == 1
    # 1000 bits left after 125 ms: a 125-byte frame fits, a 126-byte one does not.
    dp.set(1, DpMeterConfig(FLAG_KBPS, (DpBand(BAND_DROP, 1),)))
    assert not dp.run(1, frame(126), T0)
    assert dp.run(1, frame(125), T0)
    assert not dp.run(1, frame(60), T0)
    assert dp.stats(1) == DpMeterStats(3, 311, ((2, 186),))


def test_highest_exceeded_band_applies_and_dropped_packets_still_drain() -> None:
    dp = DpMeters(clock=Clock())
    dp.set(0, DpMeterConfig(FLAG_PKTPS | FLAG_BURST, (DpBand(BAND_DROP, 1, 10), DpBand(BAND_DROP, 2, 20))))
    # Packets 11-20 exceed band 0 only (band 1 still pays for them); 21-100 exceed both, band 1 (rate 2) counts.
    assert run_many(dp, 0, 100) == 10
    assert dp.stats(0) == DpMeterStats(100, 10_000, ((10, 1000), (80, 8000)))
    # Equal rates: the first exceeded band.
    dp.set(1, DpMeterConfig(FLAG_PKTPS | FLAG_BURST, (DpBand(BAND_DROP, 5, 2), DpBand(BAND_DROP, 5, 1))))
    assert run_many(dp, 1, 3) == 1
    assert dp.stats(1) == DpMeterStats(3, 300, ((1, 100), (1, 100)))


def test_dscp_remark_band_below_a_drop_band() -> None:
    """A DiffServ policer: above 10 packets/s remark (AF11 -> AF12), above 20 drop."""
    dp = DpMeters(clock=Clock())
    dp.set(0, DpMeterConfig(FLAG_PKTPS, (DpBand(BAND_DSCP_REMARK, 10, 0, 1), DpBand(BAND_DROP, 20))))
    out = []
    for _ in range(30):
        p = frame(tos=10 << 2)
        if dp.run(0, p, T0):
            out.append(p)
    assert [p[15] >> 2 for p in out] == [10] * 10 + [12] * 10
    assert all(ipv4_header_checksum_ok(p[14:34]) for p in out)
    assert dp.stats(0) == DpMeterStats(30, 3000, ((10, 1000), (10, 1000)))
    # With the remark band at the higher rate, packets exceeding both are remarked, not dropped; those exceeding
    # only the drop band are dropped.
    dp.set(1, DpMeterConfig(FLAG_PKTPS, (DpBand(BAND_DROP, 10), DpBand(BAND_DSCP_REMARK, 20, 0, 2))))
    passed = [p for p in (frame(tos=10 << 2) for _ in range(30)) if dp.run(1, p, T0)]
    assert [p[15] >> 2 for p in passed] == [10] * 10 + [14] * 10
    assert dp.stats(1) == DpMeterStats(30, 3000, ((10, 1000), (10, 1000)))


@pytest.mark.parametrize(("dscp", "prec", "want"), [
    (10, 1, 12), (10, 2, 14), (10, 9, 14), (12, 1, 14), (14, 1, 14),   # AF11 -> AF12 -> AF13, stops at AF13
    (34, 1, 36), (0, 1, 2), (46, 1, 46), (48, 3, 54),                   # AF41, default, EF, CS6
])
def test_dscp_remark_raises_the_drop_precedence(dscp: int, prec: int, want: int) -> None:
    for ecn in (0, 1, 3):
        p = frame(tos=dscp << 2 | ecn)
        assert dscp_remark(p, prec)
        assert p[15] == want << 2 | ecn
        assert ipv4_header_checksum_ok(p[14:34])
        assert p[:15] + p[16:24] + p[26:] == frame(tos=dscp << 2 | ecn)[:15] + frame()[16:24] + frame()[26:]


def test_dscp_remark_ipv6_vlan_and_others() -> None:
    v6 = bytearray(raw(Ether() / IPv6(tc=10 << 2 | 1, fl=0xABCDE) / UDP() / b"data"))
    assert dscp_remark(v6, 1)
    got = IPv6(bytes(v6[14:]))
    assert (got.tc, got.fl, got.version) == (12 << 2 | 1, 0xABCDE, 6)
    tagged = bytearray(raw(Ether() / Dot1Q(vlan=5) / Dot1Q(vlan=6) / IP(tos=10 << 2) / UDP()))
    assert dscp_remark(tagged, 1) and tagged[23] == 12 << 2 and ipv4_header_checksum_ok(tagged[22:42])
    for other in (bytearray(raw(Ether(type=0x0806) / (b"\x00" * 28))),      # ARP
                  frame()[:30],                                             # IPv4 header cut short
                  bytearray(b"\x00" * 10)):
        before = bytes(other)
        assert not dscp_remark(other, 1) and other == before
    bad_len = frame()
    bad_len[16:18] = b"\x01\x00"                                           # total length past the frame
    assert not dscp_remark(bad_len, 1)


def test_set_errors_and_replace() -> None:
    dp = DpMeters(clock=Clock())
    assert dp.set(1 << 18, pktps(1)) == "EFBIG" and dp.set(-1, pktps(1)) == "EFBIG"
    assert dp.set(0, DpMeterConfig(FLAG_PKTPS | 16, (DpBand(BAND_DROP, 1),))) == "EBADF"
    assert dp.set(0, DpMeterConfig(FLAG_PKTPS, tuple(DpBand(BAND_DROP, r) for r in range(1, 10)))) == "EINVAL"
    assert dp.set(0, pktps(0)) == "EINVAL"
    assert dp.set(0, DpMeterConfig(FLAG_PKTPS, (DpBand(3, 1),))) == "ENODEV"
    assert len(dp) == 0
    drop_only = DpMeters(band_types=frozenset((BAND_DROP,)))
    assert drop_only.set(0, pktps(1, band_type=BAND_DSCP_REMARK)) == "ENODEV"
    # All flags are accepted; only pktps changes the unit.
    assert dp.set(0, DpMeterConfig(FLAG_PKTPS | FLAG_STATS | FLAG_BURST, (DpBand(BAND_DROP, 2, 2),))) is None
    assert run_many(dp, 0, 5) == 2
    # Setting it again replaces it: full bucket, counters from 0.
    dp.set(0, pktps(3))
    assert dp.stats(0) == DpMeterStats(0, 0, ((0, 0),))
    assert run_many(dp, 0, 5) == 3
    assert dp.delete(0) == DpMeterStats(5, 500, ((2, 200),))
    assert dp.delete(0) is None and dp.stats(0) is None
    # No such meter: the packet passes, uncounted.
    assert dp.run(0, frame(), T0) and dp.run(12345678, frame(), T0)


def test_run_defaults_to_the_clock() -> None:
    clock = Clock()
    dp = DpMeters(clock=clock)
    dp.set(0, pktps(1))
    assert dp.run(0, frame()) and not dp.run(0, frame())
    clock.t += 1.0
    assert dp.run(0, frame())


# ---------------------------------------------------------------------------------------------------------------
# The meter action through the executor, and ofproto's meter table driving the datapath's meters.

class MeterCtx(ExecContext):
    def __init__(self, meters: DpMeters, now: float = T0) -> None:
        super().__init__()
        self.meters = meters
        self.now = now

    def meter(self, meter_id: int, packet: bytearray, md: PacketMetadata) -> bool:
        return self.meters.run(meter_id, packet, self.now)


def test_executor_meters_each_packet_of_a_batch() -> None:
    dp = DpMeters(clock=Clock())
    dp.set(2, DpMeterConfig(FLAG_PKTPS, (DpBand(BAND_DSCP_REMARK, 3, 0, 1), DpBand(BAND_DROP, 5))))
    ctx = MeterCtx(dp)
    execute_batch([frame(tos=10 << 2) for _ in range(8)], parse_actions("meter(2),1"), ctx)
    assert [f[15] >> 2 for _, f in ctx.outputs] == [10, 10, 10, 12, 12]
    # Two meters in a row; the second sees the first's remark.  A dropped packet stops execution.
    dp.set(4, pktps(100))
    ctx = MeterCtx(dp, now=T0 + 10)
    execute(frame(tos=10 << 2), parse_actions("meter(4),meter(2),2,meter(2),3"), ctx)
    assert [p for p, _ in ctx.outputs] == [2, 3]
    execute(frame(), parse_actions("1,meter(99),2"), ctx)                 # no meter 99: passes
    assert [p for p, _ in ctx.outputs][-2:] == [1, 2]


def _wire(table: MeterTable, dp: DpMeters) -> None:
    """What the daemon does: the datapath follows the table, and the table reads the datapath's counters."""
    def program(event: str, pid: int, config: object) -> None:
        if event == "delete":
            dp.delete(pid)
        else:
            assert dp.set(pid, config) is None  # type: ignore[arg-type]
    table.listeners.append(program)
    table.stats_source = dp.stats


def test_meter_tables_share_one_datapath() -> None:
    clock = Clock()
    dp = DpMeters(clock=clock)
    pool = MeterIdPool()
    br0, br1 = MeterTable(clock=clock, id_pool=pool), MeterTable(clock=clock, id_pool=pool)
    _wire(br0, dp)
    _wire(br1, dp)
    br0.apply(parse_meter_mod("meter=1,pktps,bands=type=drop,rate=4", MeterCommand.ADD))
    br1.apply(parse_meter_mod("meter=1,pktps,burst,bands=type=drop,rate=1,burst_size=2", MeterCommand.ADD))
    p0, p1 = br0.provider_id(1), br1.provider_id(1)
    assert (p0, p1) == (0, 1) and list(dp) == [0, 1]
    ctx = MeterCtx(dp)
    execute_batch([frame()] * 10, parse_actions(f"meter({p0}),1"), ctx)
    execute_batch([frame()] * 10, parse_actions(f"meter({p1}),2"), ctx)
    assert [p for p, _ in ctx.outputs] == [1] * 4 + [2] * 2
    (s0,) = br0.stats(1)
    assert (s0.packet_in_count, s0.byte_in_count, s0.bands[0].packet_count) == (10, 1000, 6)
    br0.apply(parse_meter_mod("meter=1,pktps,bands=type=drop,rate=6", MeterCommand.MODIFY))
    assert br0.provider_id(1) == 0 and br0.stats(1)[0].packet_in_count == 0
    assert run_many(dp, 0, 10) == 6
    br0.apply(parse_meter_mod("meter=1", MeterCommand.DELETE))
    assert list(dp) == [1] and 0 not in pool


# ---------------------------------------------------------------------------------------------------------------
# Side by side with Open vSwitch.

class RealOvs:
    """ovsdb-server + ovs-vswitchd (dummy datapath) in a private run directory, stopped by pid."""

    def __init__(self, rundir: str) -> None:
        self.dir = rundir
        self.env = dict(os.environ, OVS_RUNDIR=rundir, OVS_DBDIR=rundir, OVS_LOGDIR=rundir,
                        OVS_SYSCONFDIR=rundir)
        self.db = f"unix:{rundir}/db.sock"
        self.run("ovsdb-tool", "create", f"{rundir}/conf.db", "/usr/share/openvswitch/vswitch.ovsschema")
        self.run("ovsdb-server", f"{rundir}/conf.db", f"--remote=punix:{rundir}/db.sock",
                 f"--pidfile={rundir}/ovsdb-server.pid", f"--log-file={rundir}/ovsdb-server.log", "--detach",
                 "--no-chdir")
        self.run("ovs-vsctl", f"--db={self.db}", "--no-wait", "init")
        self.run("ovs-vswitchd", "--enable-dummy=override", "--disable-system", self.db,
                 f"--pidfile={rundir}/ovs-vswitchd.pid", f"--log-file={rundir}/ovs-vswitchd.log", "--detach",
                 "--no-chdir")

    def run(self, *args: str) -> str:
        p = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=30, check=False)
        assert p.returncode == 0, (args, p.stderr)
        return p.stdout

    def add_bridge(self, br: str, ports: list[str]) -> None:
        args = ["ovs-vsctl", f"--db={self.db}", "add-br", br, "--", "set", "bridge", br, "datapath_type=dummy",
                "protocols=OpenFlow13"]
        for i, port in enumerate(ports, 1):
            args += ["--", "add-port", br, port, "--", "set", "interface", port, "type=dummy",
                     f"ofport_request={i}"]
        self.run(*args)

    def ofctl(self, *args: str) -> str:
        return self.run("ovs-ofctl", "-O", "OpenFlow13", *args)

    def stop(self) -> None:
        for name in ("ovs-vswitchd", "ovsdb-server"):
            try:
                with open(f"{self.dir}/{name}.pid") as f:
                    pid = int(f.read().strip())
                os.kill(pid, signal.SIGTERM)
            except (OSError, ValueError):
                continue
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.02)


@pytest.fixture(scope="module")
def ovs() -> Iterator[RealOvs]:
    rundir = tempfile.mkdtemp(prefix="pyvs-mtr-")   # short: unix socket paths are limited to 108 bytes
    real = RealOvs.__new__(RealOvs)
    real.dir = rundir
    try:
        real.__init__(rundir)  # type: ignore[misc]
        yield real
    finally:
        real.stop()
        shutil.rmtree(rundir, ignore_errors=True)


def _provider_ids(ovs: RealOvs, live: list[tuple[str, int]]) -> dict[tuple[str, int], int | None]:
    """The datapath meter id of each live (bridge, meter), from the ``meter(N)`` of ``ofproto/trace``."""
    out: dict[tuple[str, int], int | None] = {}
    for br, mid in live:
        ovs.ofctl("add-flow", br, f"priority=100,udp,udp_dst={mid},actions=meter:{mid}")
        trace = ovs.run("ovs-appctl", "ofproto/trace", br, f"in_port=1,udp,udp_dst={mid}")
        m = re.search(r"^Datapath actions: meter\((\d+)\)", trace, re.MULTILINE)
        assert m, trace
        out[br, mid] = int(m.group(1))
    return out


def test_provider_ids_like_ovs(ovs: RealOvs) -> None:
    ovs.add_bridge("brA", ["a1"])
    ovs.add_bridge("brB", ["b1"])
    pool = MeterIdPool()
    tables = {"brA": MeterTable(id_pool=pool), "brB": MeterTable(id_pool=pool)}
    steps = [
        ("brA", "add-meter", "meter=5,pktps,bands=type=drop,rate=10"),
        ("brA", "add-meter", "meter=7,kbps,bands=type=drop,rate=10"),
        ("brB", "add-meter", "meter=5,pktps,bands=type=drop,rate=10"),
        ("brA", "del-meter", "meter=5"),
        ("brB", "add-meter", "meter=9,pktps,bands=type=drop,rate=10"),
        ("brA", "add-meter", "meter=5,pktps,bands=type=drop,rate=10"),
        ("brA", "mod-meter", "meter=7,pktps,bands=type=drop,rate=20"),
        ("brB", "del-meters", ""),
        ("brA", "add-meter", "meter=100,pktps,bands=type=drop,rate=10"),
        ("brB", "add-meter", "meter=1,pktps,bands=type=drop,rate=10"),
        ("brB", "add-meter", "meter=2,pktps,bands=type=drop,rate=10"),
    ]
    cmds = {"add-meter": MeterCommand.ADD, "mod-meter": MeterCommand.MODIFY, "del-meter": MeterCommand.DELETE,
            "del-meters": MeterCommand.DELETE}
    for br, cmd, text in steps:
        ovs.ofctl(cmd, br, *([text] if text else []))
        tables[br].apply(parse_meter_mod(text or "meter=all", cmds[cmd]))
        live = [(b, m) for b, t in tables.items() for m in t]
        ours = {(b, m): tables[b].provider_id(m) for b, m in live}
        assert ours == _provider_ids(ovs, live), (br, cmd, text)


FRAME = frame(100)
COMPARED = [
    "meter=1,pktps,bands=type=drop,rate=1",
    "meter=1,pktps,burst,stats,bands=type=drop,rate=1,burst_size=10",
    "meter=1,pktps,burst,bands=type=drop,rate=1,burst_size=10 type=drop,rate=2,burst_size=20",
    "meter=1,pktps,burst,bands=type=drop,rate=2,burst_size=20 type=drop,rate=1,burst_size=10",
    "meter=1,kbps,burst,bands=type=drop,rate=1,burst_size=8",
    "meter=1,kbps,bands=type=drop,rate=1",
]


def _meter_stats(ovs: RealOvs, br: str) -> tuple[int, int, list[tuple[int, int]]]:
    text = ovs.ofctl("meter-stats", br, "meter=1")
    m = re.search(r"packet_in_count:(\d+) byte_in_count:(\d+)", text)
    assert m, text
    bands = [(int(p), int(b)) for p, b in re.findall(r"\d+: packet_count:(\d+) byte_count:(\d+)", text)]
    return int(m.group(1)), int(m.group(2)), bands


def _tx_packets(ovs: RealOvs, br: str) -> int:
    m = re.search(r"tx pkts=(\d+)", ovs.ofctl("dump-ports", br, "2"))
    assert m
    return int(m.group(1))


def _inject_and_wait(ovs: RealOvs, br: str, n: int, expect_in: int) -> tuple[int, int, list[tuple[int, int]]]:
    ovs.run("ovs-appctl", "netdev-dummy/receive", f"{br}-1", *([FRAME.hex()] * n))
    deadline = time.monotonic() + 20
    while True:
        stats = _meter_stats(ovs, br)
        if stats[0] >= expect_in or time.monotonic() > deadline:
            return stats
        time.sleep(0.05)


@pytest.mark.parametrize("case", range(len(COMPARED)))
def test_metering_like_ovs(ovs: RealOvs, case: int) -> None:
    """100 frames at once through a meter, then the meter modified (a fresh meter) and 100 more."""
    text = COMPARED[case]
    br = f"brm{case}"
    ovs.add_bridge(br, [f"{br}-1", f"{br}-2"])
    ovs.ofctl("add-meter", br, text)
    ovs.ofctl("add-flow", br, "in_port=1,actions=meter:1,output:2")
    table = MeterTable(clock=Clock())
    dp = DpMeters(clock=Clock())
    _wire(table, dp)
    table.apply(parse_meter_mod(text, MeterCommand.ADD))
    ctx = MeterCtx(dp)
    actions = parse_actions(f"meter({table.provider_id(1)}),2")

    theirs = _inject_and_wait(ovs, br, 100, 100)
    execute_batch([bytearray(FRAME) for _ in range(100)], actions, ctx)
    (ours,) = table.stats(1)
    assert theirs == (ours.packet_in_count, ours.byte_in_count,
                      [(b.packet_count, b.byte_count) for b in ours.bands]), text
    assert _tx_packets(ovs, br) == len(ctx.outputs)

    # A modification replaces the datapath's meter: full bucket, counters from 0.
    sent = len(ctx.outputs)
    ovs.ofctl("mod-meter", br, text)
    table.apply(parse_meter_mod(text, MeterCommand.MODIFY))
    theirs = _inject_and_wait(ovs, br, 100, 100)
    execute_batch([bytearray(FRAME) for _ in range(100)], actions, ctx)
    (ours,) = table.stats(1)
    assert theirs == (ours.packet_in_count, ours.byte_in_count,
                      [(b.packet_count, b.byte_count) for b in ours.bands]), text
    assert _tx_packets(ovs, br) == len(ctx.outputs) and len(ctx.outputs) == 2 * sent
