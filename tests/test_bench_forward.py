"""The pure parts of bench/forward.py: frames, trafgen configurations, rule sets, parsers and the report table.

No traffic, no namespaces: the benchmark itself is run by hand (``make bench-forward``), not by the suite.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str) -> ModuleType:
    """A module of bench/ by its path, without putting bench/ on sys.path for the rest of the suite."""
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


lib = _load("forward_lib")
forward = _load("forward")


def test_udp_frame_is_the_frame_scapy_builds():
    frame = lib.udp_frame(lib.MAC_A, lib.MAC_B, "10.77.0.1", "10.77.1.9", 4242, 53)
    ref = (Ether(src=lib.MAC_A, dst=lib.MAC_B) / IP(src="10.77.0.1", dst="10.77.1.9", ttl=64, flags="DF", id=0)
           / UDP(sport=4242, dport=53) / Raw(bytes(18)))
    assert len(frame) == lib.FRAME_LEN == 60
    assert frame == bytes(ref)


def test_udp_frame_checksums_verify_and_size_is_checked():
    frame = lib.udp_frame(lib.MAC_A, lib.MAC_B, "1.2.3.4", "5.6.7.8", 1, 65535, size=100)
    assert len(frame) == 100
    assert lib.inet_checksum(frame[14:34]) == 0
    udp = frame[34:]
    pseudo = frame[26:34] + bytes([0, 17]) + len(udp).to_bytes(2, "big")
    assert lib.inet_checksum(pseudo + udp) == 0
    with pytest.raises(ValueError):
        lib.udp_frame(lib.MAC_A, lib.MAC_B, "1.2.3.4", "5.6.7.8", 1, 2, size=41)


def _frames_of(config: str) -> list[bytes]:
    return [bytes(int(b, 16) for b in re.findall(r"0x([0-9a-f]{2})", block))
            for block in re.findall(r"\{([^}]*)\}", config)]


def test_static_config_round_trips_the_frames():
    frames = [lib.udp_frame(lib.MAC_A, lib.MAC_B, *t) for t in lib.nine_rule_tuples(50)]
    cfg = lib.trafgen_static_config(frames, "title")
    assert cfg.startswith("# title\n")
    assert cfg.count("{") == 50
    assert _frames_of(cfg) == frames
    with pytest.raises(ValueError):
        lib.trafgen_static_config([])


def test_setup_config_steps_ports_and_source_and_pads_to_60_bytes():
    cfg = lib.trafgen_setup_config()
    assert f"eth(da={lib.MAC_B}, sa={lib.MAC_A})" in cfg
    assert "udp(sp=dinc(1024, 65535), dp=dinc(1, 65521))" in cfg
    assert f"sa={lib.IP_A}" in cfg and "sa[2:2]=dinc()" in cfg
    assert "fill(0, 18)" in cfg   # 14 + 20 + 8 + 18 = 60
    assert cfg.count("{") == cfg.count("}") == 1


def test_nine_rule_tuples_are_distinct_and_hit_the_rules_ranges():
    tuples = lib.nine_rule_tuples(1024)
    assert len(tuples) == len(set(tuples)) == 1024
    net = ipaddress.ip_network("10.77.1.0/25")
    assert all(ipaddress.ip_address(dst) in net for _, dst, _, _ in tuples)
    dports = {dp for *_, dp in tuples}
    assert 53 in dports and 0x400 in dports and 0x80F in dports and 5000 in dports
    # None of the traffic is for a drop rule: not TCP, not from 10.77.3.0/24, not to 10.77.2.0/24.
    assert not any(src.startswith("10.77.3.") or dst.startswith("10.77.2.") for src, dst, _, _ in tuples)


def test_rule_sets_name_the_ports():
    assert lib.rules_two(3, 7) == ["priority=10,in_port=3,actions=output:7",
                                   "priority=10,in_port=7,actions=output:3"]
    nine = lib.rules_nine(3, 7)
    assert len(nine) == 9
    assert sum("actions=drop" in r for r in nine) == 3
    assert nine[-1] == "priority=0,actions=output:7"
    assert any("in_port=3" in r for r in nine)
    setup = lib.rules_setup(7)
    assert "move:NXM_OF_UDP_SRC[]->NXM_NX_REG0[0..15]" in setup[0] and setup[0].endswith("output:7")
    assert setup[1] == "priority=0,actions=output:7"


def test_flows_file_has_n_distinct_rules():
    text = lib.flows_file(300_000, 2)
    lines = text.splitlines()
    assert len(lines) == 300_000
    matches = {line.split(",actions=")[0].split(",", 1)[1] for line in lines}
    assert len(matches) == 300_000
    assert lines[0] == "priority=100,udp,nw_dst=10.128.0.0,tp_dst=1,actions=output:2"
    assert "nw_dst=10.132.147.223," in lines[299_999]
    with pytest.raises(ValueError):
        lib.flows_file(1 << 24, 2)


TRAFGEN_OUT = """
     1 packets to schedule
    60 bytes in total
Running! Hang up with ^C!


     1504256 packets outgoing
    90255360 bytes outgoing
           2 sec, 987203 usec on CPU0 (1504256 packets)
"""


def test_parse_trafgen():
    st = lib.parse_trafgen(TRAFGEN_OUT)
    assert st is not None
    assert st.packets == 1504256
    assert st.seconds == pytest.approx(2.987203)
    assert st.pps == pytest.approx(1504256 / 2.987203)
    assert lib.parse_trafgen("Flushing TX_RING failed: Resource temporarily unavailable!") is None


def test_parse_iperf3():
    doc = {"end": {"sum_sent": {"bits_per_second": 2.5e9}, "sum_received": {"bits_per_second": 2.4e9}}}
    assert lib.parse_iperf3(json.dumps(doc)) == 2.4e9
    with pytest.raises(ValueError):
        lib.parse_iperf3(json.dumps({"error": "unable to connect to server"}))


PMD_STATS = """pmd thread numa_id 0 core_id 1:
  packets received: 10
  miss with success upcall: 7
  miss with failed upcall: 1
main thread:
  packets received: 45671
  avg. datapath passes per packet: 1.00
  emc hits: 0
  megaflow hits: 1
  avg. subtable lookups per megaflow hit: 1.00
  miss with success upcall: 29026
  miss with failed upcall: 16644
"""


def test_parse_pmd_stats_sums_threads():
    st = lib.parse_pmd_stats(PMD_STATS)
    assert st["miss with success upcall"] == 29033
    assert st["miss with failed upcall"] == 16645
    assert st["packets received"] == 45681
    assert st["emc hits"] == 0


def test_parse_vmrss_and_count_dp_flows():
    assert lib.parse_vmrss_kib("Name:\tx\nVmPeak:\t  9 kB\nVmRSS:\t   18432 kB\n") == 18432
    with pytest.raises(ValueError):
        lib.parse_vmrss_kib("Name:\tx\n")
    dump = ("flow-dump from the main thread:\n"
            "recirc_id(0),in_port(2),eth_type(0x0800),ipv4(frag=no), packets:0, bytes:0, used:never, actions:1\n"
            "recirc_id(0),in_port(1),eth_type(0x0806), packets:1, bytes:42, used:0.1s, actions:2\n\n")
    assert lib.count_dp_flows(dump) == 2
    assert lib.count_dp_flows("") == 0


def test_median_ratio_and_values():
    assert lib.median([3, 1, 2]) == 2
    assert lib.median([4, 1]) == 2.5
    assert lib.median([]) is None
    assert lib.ratio(1, 4) == 0.25
    assert lib.ratio(1, 0) is None and lib.ratio(None, 3) is None
    assert lib.fmt_value(1234567.8, "pps") == "1,234,568"
    assert lib.fmt_value(8.149, "Gbit/s") == "8.15"
    assert lib.fmt_value(0.0123, "Gbit/s") == "0.0123"
    assert lib.fmt_value(26.25, "MiB") == "26.2"
    assert lib.fmt_value(None, "pps") == "—"


def test_format_table():
    results = {
        "pps-normal": {"pyvs": [{"rx_pps": 10_000}, {"rx_pps": 30_000}, {"rx_pps": 20_000}],
                       "ovs": [{"rx_pps": 100_000}, {"rx_pps": 80_000}, {"rx_pps": 90_000}],
                       "linux": [{"rx_pps": 150_000}, {"rx_pps": 160_000}, {"rx_pps": 170_000}]},
        "tcp": {"pyvs": [{"gbps": 0.5}], "ovs": [{"gbps": 1.0}], "ovs-tso": [{"gbps": 10.0}]},
    }
    rows = [lib.Row("pps-normal", "rx_pps", "pps NORMAL", "pps"),
            lib.Row("pps-2rules", "rx_pps", "never measured", "pps"),
            lib.Row("tcp", "gbps", "tcp", "Gbit/s"),
            lib.Row("tcp", "gbps", "tcp tso", "Gbit/s", ovs="ovs-tso")]
    lines = lib.format_table(results, rows).splitlines()
    assert lines[0] == "| case | pyvswitch | Open vSwitch | Linux bridge | pyvswitch / OVS |"
    assert lines[1] == "|---|---|---|---|---|"
    assert lines[2] == ("| pps NORMAL | 20,000 (10,000 / 30,000 / 20,000) | 90,000 (100,000 / 80,000 / 90,000) "
                        "| 160,000 (150,000 / 160,000 / 170,000) | 0.222 |")
    assert lines[3] == "| tcp | 0.50 | 1.00 | n/a | 0.500 |"
    assert lines[4] == "| tcp tso | 0.50 | 10.00 | n/a | 0.050 |"
    assert len(lines) == 5


def test_command_line():
    a = forward.parse_args(["--quick", "--cases", "pps,memory", "--switches", "ovs,pyvs"])
    assert (a.runs, a.duration, a.rules) == (1, 2.0, 10_000)
    assert a.case_list == ["pps-normal", "pps-2rules", "pps-9rules", "memory"]
    assert a.switch_list == ["pyvs", "ovs"]
    b = forward.parse_args([])
    assert (b.runs, b.duration, b.rules) == (3, 5.0, 100_000)
    assert b.switch_list == ["pyvs", "ovs", "ovs-tso", "linux"]
    assert b.case_list == list(forward.ALL_CASES)
    with pytest.raises(SystemExit):
        forward.parse_args(["--cases", "nonsense"])
    with pytest.raises(SystemExit):
        forward.parse_args(["--switches", "ovs,cisco"])


def test_report_rows_cover_every_case():
    rows = forward.rows(forward.parse_args([]))
    assert {r.case for r in rows} == set(forward.ALL_CASES)
    assert [(r.metric, r.ovs) for r in rows if r.case == "tcp"] == [("gbps_off", "ovs"), ("gbps_on", "ovs-tso")]
