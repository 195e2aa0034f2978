"""pyvswitch.netdev.linux against real devices: veth pairs with unique ``pvt`` names in this network namespace."""

from __future__ import annotations

import os
import select
import subprocess
import threading
import time

import pytest

from pyvswitch.netdev import linux
from pyvswitch.netdev.netdev import NetdevError


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def veth():
    """A veth pair (names pvtlA..., pvtlB...), removed afterwards."""
    suffix = f"{os.getpid() % 100000}{threading.get_ident() % 97}"[:9]
    a, b = f"pvtlA{suffix}", f"pvtlB{suffix}"
    _ip("link", "add", a, "type", "veth", "peer", "name", b)
    try:
        yield a, b
    finally:
        subprocess.run(["ip", "link", "del", a], check=False, capture_output=True)


def _sys(name: str, attr: str) -> str:
    with open(f"/sys/class/net/{name}/{attr}") as f:
        return f.read().strip()


def test_link_info_reads_a_veth(veth):
    a, _ = veth
    info = linux.link_info(a)
    assert info is not None
    assert info.name == a and info.kind == "veth"
    assert info.ifindex == int(_sys(a, "ifindex"))
    assert info.mac == _sys(a, "address")
    assert info.mtu == 1500 and not info.admin_up and not info.carrier
    assert tuple(sorted(info.stats)) == tuple(sorted(linux.STATS_NAMES))
    # The keys Open vSwitch 3.1 shows for a veth port on a netdev bridge.
    assert set(info.stats) == {"collisions", "rx_bytes", "rx_crc_err", "rx_dropped", "rx_errors", "rx_frame_err",
                               "rx_missed_errors", "rx_multicast_packets", "rx_over_err", "rx_packets", "tx_bytes",
                               "tx_dropped", "tx_errors", "tx_packets"}


def test_missing_device_is_none():
    assert linux.link_info("pvtnosuchdev0") is None
    assert linux.link_info("") is None
    assert linux.link_info("x" * 20) is None


def test_set_up_carrier_mtu_mac_promisc(veth):
    a, b = veth
    linux.set_up(a)
    info = linux.link_info(a)
    assert info.admin_up and not info.carrier       # the peer is still down
    linux.set_up(b)
    assert linux.link_info(a).carrier
    linux.set_mtu(a, 1400)
    assert linux.link_info(a).mtu == 1400
    linux.set_mac(a, "02:AB:00:00:00:01")
    assert linux.link_info(a).mac == "02:ab:00:00:00:01"
    linux.set_promisc(a, True)
    assert int(_sys(a, "flags"), 16) & 0x100
    linux.set_promisc(a, False)
    assert not int(_sys(a, "flags"), 16) & 0x100
    linux.set_up(a, False)
    info = linux.link_info(a)
    assert not info.admin_up and not info.carrier


def test_errors_carry_the_kernels_reason(veth):
    a, _ = veth
    with pytest.raises(NetdevError, match=rf"^{a}: .*\(Invalid argument\)$"):
        linux.set_mtu(a, 10)
    with pytest.raises(NetdevError, match=r"^pvtnosuchdev0: .*\(No such device\)$"):
        linux.set_up("pvtnosuchdev0")
    with pytest.raises(NetdevError, match=rf"^{a}: invalid Ethernet address"):
        linux.set_mac(a, "02:00:00:00:00")
    assert linux.link_info(a).mtu == 1500


def test_stats_count_traffic(veth):
    a, b = veth
    _ip("link", "set", a, "up")
    _ip("link", "set", b, "up")
    _ip("addr", "add", "10.251.77.1/30", "dev", a)
    before = linux.link_info(a).stats
    # The neighbour is never answered, but the kernel sends ARP requests out of a and b receives them.
    subprocess.run(["ping", "-c", "2", "-i", "0.2", "-W", "1", "10.251.77.2"], check=False, capture_output=True)
    after_a, after_b = linux.link_info(a).stats, linux.link_info(b).stats
    assert after_a["tx_packets"] > before["tx_packets"]
    assert after_a["tx_bytes"] >= after_a["tx_packets"] * 42
    assert after_b["rx_packets"] == after_a["tx_packets"]


def test_shared_socket_works_from_threads(veth):
    a, _ = veth
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(30):
                assert linux.link_info(a).name == a
        except BaseException as e:  # noqa: BLE001 (reported to the main thread)
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def _drain_until(mon: linux.LinkMonitor, want: set[str], timeout: float = 5.0) -> set[str]:
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while not want <= seen and time.monotonic() < deadline:
        select.select([mon], [], [], 0.2)
        seen |= mon.drain()
    return seen


def test_link_monitor_sees_add_change_rename_delete():
    name = f"pvtm{os.getpid() % 1000000}"
    peer, renamed = f"{name}p", f"{name}r"
    mon = linux.LinkMonitor()
    try:
        assert mon.drain() == set()          # nothing happened yet, and drain does not block
        _ip("link", "add", name, "type", "veth", "peer", "name", peer)
        assert {name, peer} <= _drain_until(mon, {name, peer})
        assert mon.drain() == set()
        _ip("link", "set", name, "mtu", "1300")
        assert name in _drain_until(mon, {name})
        _ip("link", "set", name, "name", renamed)
        # A rename is reported under both names.
        assert {name, renamed} <= _drain_until(mon, {name, renamed})
        _ip("link", "del", renamed)
        assert {renamed, peer} <= _drain_until(mon, {renamed, peer})
    finally:
        mon.close()
        for n in (name, renamed):
            subprocess.run(["ip", "link", "del", n], check=False, capture_output=True)
