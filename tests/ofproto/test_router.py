"""The router of native tunnelling: priorities, marks, source addresses and the ``ovs/route/show`` order, checked
against what Open vSwitch 3.1 printed (the reference capture of issue 7 and experiments recorded here)."""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv6Address, ip_interface, ip_network

import pytest

from pyvswitch.ofproto.router import Route, RouteError, Router, best_source


def cached(prefix: str, dev: str, gw: str | None = None, local: bool = False) -> Route:
    return Route(ip_network(prefix), dev, ipaddress.ip_address(gw) if gw else None, None, False, local)


#: The host of the issue's reference capture: eth0 192.0.2.2/24 and fd00::2/64, fe80::fc:ff:fe00:1/64.
ADDRS = {
    "lo": [ip_interface("127.0.0.1/8"), ip_interface("::1/128")],
    "eth0": [ip_interface("192.0.2.2/24"), ip_interface("fd00::2/64"), ip_interface("fe80::fc:ff:fe00:1/64")],
    "br0": [ip_interface("1.1.2.88/24")],
}
KERNEL = [
    cached("0.0.0.0/0", "eth0", "192.0.2.1"),
    cached("192.0.2.0/24", "eth0"),
    cached("127.0.0.0/8", "lo", local=True),
    cached("127.0.0.1/32", "lo", local=True),
    cached("192.0.2.2/32", "eth0", local=True),
    cached("fd00::/64", "eth0"),
    cached("fe80::/64", "eth0"),
    cached("::/0", "eth0", "fd00::1"),
    cached("::1/128", "lo", local=True),
    cached("fd00::2/128", "eth0", local=True),
    cached("fe80::fc:ff:fe00:1/128", "eth0", local=True),
]

#: ``ovs-appctl ovs/route/show`` of the reference capture (Open vSwitch 3.1).
REFERENCE_SHOW = """\
Route Table:
Cached: 127.0.0.1/32 dev lo SRC 127.0.0.1 local
Cached: 192.0.2.2/32 dev eth0 SRC 192.0.2.2 local
Cached: ::1/128 dev lo SRC ::1 local
Cached: fd00::2/128 dev eth0 SRC fd00::2 local
Cached: fe80::fc:ff:fe00:1/128 dev eth0 SRC fe80::fc:ff:fe00:1 local
Cached: 127.0.0.0/8 dev lo SRC 127.0.0.1 local
User: 1.1.2.0/24 dev br0 SRC 1.1.2.88
Cached: 192.0.2.0/24 dev eth0 SRC 192.0.2.2
Cached: 0.0.0.0/0 dev eth0 GW 192.0.2.1 SRC 192.0.2.2
Cached: fd00::/64 dev eth0 SRC fd00::2
Cached: fe80::/64 dev eth0 SRC fe80::fc:ff:fe00:1
Cached: ::/0 dev eth0 GW fd00::1 SRC fd00::2
"""


def make() -> Router:
    r = Router()
    r.set_addresses(ADDRS)
    r.add_user("1.1.2.92/24", "br0")
    r.set_kernel(KERNEL)
    return r


def test_show_equals_reference() -> None:
    assert make().show() == REFERENCE_SHOW


def test_cached_routes_follow_user_routes_of_their_subtable_after_a_kernel_change() -> None:
    """Open vSwitch re-inserts every cached route when the kernel changes, behind the user routes of the same
    prefix length (seen with a real ovs-vswitchd: "User: 1.1.2.77/32" moved before the local /32 routes)."""
    r = Router()
    r.set_addresses(ADDRS)
    r.set_kernel(KERNEL)
    r.add_user("1.1.2.77/32", "br0")
    r.add_user("0.0.0.0/0", "br0", "1.1.2.1", pkt_mark=9)
    lines = r.show().splitlines()
    assert lines.index("User: 1.1.2.77/32 dev br0 SRC 1.1.2.88") == 6          # Behind the five local /32, /128.
    assert lines.index("User: 0.0.0.0/0 MARK 9 dev br0 GW 1.1.2.1 SRC 1.1.2.88") == \
        lines.index("Cached: 0.0.0.0/0 dev eth0 GW 192.0.2.1 SRC 192.0.2.2") + 1
    r.set_kernel(KERNEL)
    lines = r.show().splitlines()
    assert lines[1] == "User: 1.1.2.77/32 dev br0 SRC 1.1.2.88"
    assert lines.index("User: 0.0.0.0/0 MARK 9 dev br0 GW 1.1.2.1 SRC 1.1.2.88") + 1 == \
        lines.index("Cached: 0.0.0.0/0 dev eth0 GW 192.0.2.1 SRC 192.0.2.2")


def test_priorities() -> None:
    r = make()
    # A user /24 (priority 96+24+32) wins over a cached /25 (96+25).
    r.set_kernel([*KERNEL, cached("1.1.2.0/25", "eth0", "192.0.2.1")])
    hit = r.lookup("1.1.2.5")
    assert hit is not None and hit.dev == "br0" and hit.user
    # A local route (64 more) wins over anything shorter.
    r.add_user("192.0.2.2/32", "br0", "1.1.2.1")
    hit = r.lookup(IPv4Address("192.0.2.2"))
    assert hit is not None and hit.local and hit.dev == "eth0"
    # A longer cached prefix wins over a shorter cached one.
    hit = r.lookup("192.0.2.77")
    assert hit is not None and hit.prefix == ip_network("192.0.2.0/24") and hit.gw is None
    hit = r.lookup("8.8.8.8")
    assert hit is not None and hit.gw == IPv4Address("192.0.2.1") and hit.src == IPv4Address("192.0.2.2")
    hit = r.lookup("2001:db8::1")
    assert hit is not None and hit.gw == IPv6Address("fd00::1") and hit.src == IPv6Address("fd00::2")


def test_pkt_mark_matches_exactly() -> None:
    r = make()
    r.add_user("9.9.9.0/24", "br0", "1.1.2.1", pkt_mark=5)
    assert r.lookup("9.9.9.9").dev == "eth0"               # type: ignore[union-attr]
    assert r.lookup("9.9.9.9", pkt_mark=5).dev == "br0"    # type: ignore[union-attr]
    assert r.lookup("8.8.8.8", pkt_mark=5) is None           # Cached routes have mark 0.
    assert r.lookup("::ffff:9.9.9.9", pkt_mark=5).dev == "br0"  # type: ignore[union-attr]


def test_source_address_choice() -> None:
    addrs = [ip_interface("10.0.0.1/8"), ip_interface("10.1.0.1/16"), ip_interface("10.1.0.2/16"),
             ip_interface("fd00::1/64")]
    assert best_source(IPv4Address("10.1.2.3"), addrs) == IPv4Address("10.1.0.1")   # Longest, first of equals.
    assert best_source(IPv4Address("10.2.2.3"), addrs) == IPv4Address("10.0.0.1")
    assert best_source(IPv4Address("11.0.0.1"), addrs) is None
    assert best_source(IPv6Address("fd00::9"), addrs) == IPv6Address("fd00::1")
    r = Router()
    r.set_addresses({"d": addrs})
    # Open vSwitch 3.1 ignores the kernel's prefsrc: the source comes from the gateway's (or prefix's) subnet.
    r.set_kernel([cached("172.16.0.0/12", "d", "10.1.9.9"), cached("11.0.0.0/8", "d")])
    assert r.show() == "Route Table:\nCached: 172.16.0.0/12 dev d GW 10.1.9.9 SRC 10.1.0.1\n"


def test_user_route_errors() -> None:
    r = make()
    with pytest.raises(RouteError, match=r"^Error while inserting route\.$"):
        r.add_user("1.1.10.0/24", "br0")                      # No address of br0 in that subnet.
    with pytest.raises(RouteError, match="Error while inserting route"):
        r.add_user("1.1.10.0/24", "nodev", "1.1.2.1")          # Unknown devices have no addresses.
    with pytest.raises(RouteError, match="Error while inserting route"):
        r.add_user("1.1.10.0/24", "br0", "1.1.2.1", src="1.1.2.89")
    with pytest.raises(RouteError, match="^Not found$"):
        r.del_user("192.0.2.0/24")                             # Cached routes cannot be deleted.
    with pytest.raises(RouteError, match="^Not found$"):
        r.del_user("1.1.2.0/24", pkt_mark=3)
    assert r.del_user("1.1.2.0/24").dev == "br0"
    assert "User:" not in r.show()


def test_replacing_a_route_keeps_its_place_and_bumps_generation() -> None:
    r = make()
    r.add_user("1.1.20.0/24", "br0", "1.1.2.1")
    r.add_user("1.1.21.0/24", "br0", "1.1.2.1")
    g = r.generation
    r.add_user("1.1.20.0/24", "br0", "1.1.2.2")
    assert r.generation > g
    users = [x for x in r.show().splitlines() if x.startswith("User")]
    assert users == ["User: 1.1.2.0/24 dev br0 SRC 1.1.2.88", "User: 1.1.20.0/24 dev br0 GW 1.1.2.2 SRC 1.1.2.88",
                     "User: 1.1.21.0/24 dev br0 GW 1.1.2.1 SRC 1.1.2.88"]


def test_prefix_host_bits_are_cleared() -> None:
    r = make()
    assert r.add_user("1.1.2.99/24", "br0").prefix == ip_network("1.1.2.0/24")
    assert r.devices() == {"lo", "eth0", "br0"}


def test_source_for_the_destination_first_then_for_the_gateway() -> None:
    r = Router()
    r.set_addresses({"pvCa": [ip_interface("192.0.2.2/24"), ip_interface("10.0.0.2/8")]})
    assert str(r.add_user("10.9.0.0/16", "pvCa", gw="192.0.2.7").src) == "10.0.0.2"
    assert str(r.add_user("192.0.2.128/25", "pvCa", gw="10.1.1.1").src) == "192.0.2.2"
    # Neither the destination nor the gateway on a subnet of the device: refused.
    with pytest.raises(RouteError):
        r.add_user("172.16.0.0/12", "pvCa", gw="9.9.9.9")
    # The kernel's routes choose the same way.
    got = r.set_kernel([cached("10.8.0.0/16", "pvCa", "192.0.2.7")])
    assert [str(x.src) for x in got] == ["10.0.0.2"]


@pytest.mark.parametrize(("text", "want"), [("::1.2.3.4", "::1.2.3.4"), ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
                                            ("::0.0.1.2", "::102"), ("::1", "::1"), ("::", "::"),
                                            ("::1:0:0", "::1:0:0"), ("2001:db8::1", "2001:db8::1"),
                                            ("1.2.3.4", "1.2.3.4")])
def test_addresses_print_as_inet_ntop_prints_them(text: str, want: str) -> None:
    from pyvswitch.ofproto.router import format_ip

    assert format_ip(ipaddress.ip_address(text)) == want
