"""The neighbour cache: what snooping learns and which fields it un-wildcards (the cases and megaflows of a real
Open vSwitch 3.1, recorded in ``tests/data/vswitchd/tnl_appctl_ovs31.txt`` and by hand), aging with an injected
clock, and the ``tnl/neigh/show`` text."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_interface

import pytest

from pyvswitch.flow import fields as F
from pyvswitch.flow.extract import extract
from pyvswitch.flow.match import Wildcards
from pyvswitch.netdev.netdev_dummy import parse_packet
from pyvswitch.ofproto.tnl_neigh import NeighCache
from pyvswitch.util.clock import ManualClock

BR0_ADDRS = [ip_interface("1.1.2.88/24"), ip_interface("2001:db8::88/64")]


def arp(op: int, sha: str, spa: str, tha: str, tpa: str) -> int:
    return extract(parse_packet(f"in_port(1),eth(src={sha},dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),"
                                f"arp(sip={spa},tip={tpa},op={op},sha={sha},tha={tha})"), 1)


def na(src_mac: str, src: str, dst: str, target: str, tll: str) -> int:
    return extract(parse_packet(f"in_port(1),eth(src={src_mac},dst=33:33:00:00:00:01),eth_type(0x86dd),"
                                f"ipv6(src={src},dst={dst},proto=58,tclass=0,hlimit=255,frag=no),"
                                f"icmpv6(type=136,code=0),nd(target={target},tll={tll})"), 1)


def cache(clock: ManualClock | None = None) -> NeighCache:
    c = NeighCache(clock.now if clock else ManualClock().now)
    c.addresses = lambda br: BR0_ADDRS if br == "br0" else []
    return c


def consulted(wc: Wildcards) -> set[str]:
    names = {"nw_src", "nw_dst", "nw_proto", "arp_sha", "arp_tha", "tp_src", "tp_dst", "ipv6_src", "ipv6_dst",
             "nd_target"}
    return {n for n in names if wc.mask & F.storage_mask(n)}


# (key, learned (ip, mac) or None, fields un-wildcarded): the megaflows Open vSwitch 3.1 installed for these
# packets (flooded by NORMAL on br0 with address 1.1.2.88 and 2001:db8::88) showed the same ARP fields.
CASES = [
    ("reply to the bridge", arp(2, "f8:bc:12:44:34:01", "1.1.2.91", "aa:55:aa:55:00:00", "1.1.2.88"),
     ("1.1.2.91", 0xF8BC12443401), {"nw_src", "nw_dst", "nw_proto", "arp_sha"}),
    ("reply to another", arp(2, "f8:bc:12:44:34:02", "1.1.2.92", "00:00:00:00:00:00", "1.1.2.50"),
     None, {"nw_src", "nw_dst", "nw_proto"}),
    ("gratuitous request", arp(1, "f8:bc:12:44:34:03", "1.1.2.93", "00:00:00:00:00:00", "1.1.2.93"),
     ("1.1.2.93", 0xF8BC12443403), {"nw_src", "nw_dst", "nw_proto", "arp_sha"}),
    ("request", arp(1, "f8:bc:12:44:34:04", "1.1.2.94", "00:00:00:00:00:00", "1.1.2.88"),
     None, {"nw_src", "nw_dst", "nw_proto"}),
    ("reply without sha", arp(2, "00:00:00:00:00:00", "1.1.2.95", "00:00:00:00:00:00", "1.1.2.88"),
     None, {"nw_src", "nw_dst", "nw_proto", "arp_sha"}),
    # Open vSwitch un-wildcards neither the protocol nor the destination it checks an advertisement against;
    # pyvswitch does (see the module documentation), the rest is as Open vSwitch's megaflows showed.
    ("NA to another", na("f8:bc:12:44:35:02", "2001:db8::92", "2001:db8::50", "2001:db8::92", "f8:bc:12:44:35:02"),
     None, {"nw_proto", "ipv6_dst"}),
    ("NA without tll", na("f8:bc:12:44:35:04", "2001:db8::94", "2001:db8::88", "2001:db8::99", "00:00:00:00:00:00"),
     None, {"nw_proto", "ipv6_dst", "tp_src", "tp_dst", "arp_tha"}),
    ("NA to the bridge", na("f8:bc:12:44:35:05", "2001:db8::95", "2001:db8::88", "2001:db8::96", "f8:bc:12:44:35:05"),
     ("2001:db8::96", 0xF8BC12443505), {"nw_proto", "ipv6_dst", "tp_src", "tp_dst", "arp_tha", "ipv6_src",
                                        "nd_target"}),
]


@pytest.mark.parametrize("name,key,learned,fields", CASES, ids=[c[0] for c in CASES])
def test_snoop(name: str, key: int, learned: tuple[str, int] | None, fields: set[str]) -> None:
    c = cache()
    wc = Wildcards()
    assert c.snoop(key, "br0", wc, side_effects=True) is (learned is not None)
    assert consulted(wc) == fields
    assert wc.mask & F.storage_mask("dl_type")
    if learned is None:
        assert c.entries() == []
    else:
        assert c.lookup("br0", learned[0]) == learned[1]
        assert c.lookup("int-br", learned[0]) is None


@pytest.mark.parametrize("name,key,learned,fields", CASES, ids=[c[0] for c in CASES])
def test_snoop_without_side_effects_changes_nothing(name: str, key: int, learned: object, fields: set[str]) -> None:
    c = cache()
    wc = Wildcards()
    g = c.generation
    c.snoop(key, "br0", wc, side_effects=False)
    assert consulted(wc) == fields
    assert c.entries() == [] and c.generation == g


def test_snoop_ignores_other_packets() -> None:
    c = cache()
    key = extract(parse_packet("in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),"
                               "ipv4(src=1.1.2.9,dst=1.1.2.88,proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2)"), 1)
    wc = Wildcards()
    assert not c.snoop(key, "br0", wc, side_effects=True)
    assert consulted(wc) == set()


def test_learn_from_tunnel() -> None:
    c = cache()
    key = extract(parse_packet("in_port(1),eth(src=f8:bc:12:44:34:b6,dst=aa:55:aa:55:00:00),eth_type(0x0800),"
                               "ipv4(src=1.1.2.92,dst=1.1.2.88,proto=17,tos=0,ttl=64,frag=no),udp(src=51283,dst=4789)"),
                  1)
    c.learn_from_tunnel(key, "br0", side_effects=False)
    assert c.entries() == []
    c.learn_from_tunnel(key, "br0", side_effects=True)
    assert c.lookup("br0", "1.1.2.92") == 0xF8BC124434B6


def test_aging_with_an_injected_clock() -> None:
    clock = ManualClock(1000.0)
    c = cache(clock)
    c.set("br0", "1.1.2.92", 0xF8BC124434B6)
    assert c.aging == 900
    clock.advance(899)
    assert c.lookup("br0", IPv4Address("1.1.2.92")) == 0xF8BC124434B6   # A hit keeps it for 900 s more.
    clock.advance(899)
    assert c.lookup("br0", "1.1.2.92") == 0xF8BC124434B6
    clock.advance(900)
    assert c.lookup("br0", "1.1.2.92") is None
    assert c.show().splitlines()[2].endswith("br0 STALE")
    g = c.generation
    c.run()
    assert c.entries() == [] and c.generation > g


def test_set_aging_shortens_entries() -> None:
    clock = ManualClock()
    c = cache(clock)
    c.set("br0", "1.1.2.92", 1)
    c.set_aging(10)
    clock.advance(10)
    c.run()
    assert c.entries() == []
    for bad in (0, 3601, -1):
        with pytest.raises(ValueError, match="bad aging value"):
            c.set_aging(bad)
    c.set_aging(3600)


def test_set_same_mac_refreshes_without_change_and_new_mac_replaces() -> None:
    c = cache()
    c.set("br0", "1.1.2.92", 1)
    c.set("br0", "2001:db8::92", 2)
    g = c.generation
    c.set("br0", "1.1.2.92", 1)
    assert c.generation == g
    c.set("br0", "::ffff:1.1.2.92", 3)                 # A v4-mapped address is the IPv4 address.
    assert c.generation > g
    assert [(str(e.ip), e.mac) for e in c.entries()] == [("2001:db8::92", 2), ("1.1.2.92", 3)]
    assert c.lookup("br0", IPv6Address("2001:db8::92")) == 2


def test_flush() -> None:
    c = cache()
    c.set("br0", "1.1.2.92", 1)
    c.set("int-br", "1.1.2.93", 2)
    c.flush("br0")
    assert [e.bridge for e in c.entries()] == ["int-br"]
    c.flush()
    assert c.entries() == []


def test_show_text() -> None:
    c = cache()
    c.set("br0", "1.1.2.92", 0xF8BC124434B6)
    c.set("br0", "2001:db8::92", 0xF8BC124434B7)
    assert c.show() == (
        "IP                                            MAC                 Bridge\n"
        "==========================================================================\n"
        "1.1.2.92                                      f8:bc:12:44:34:b6   br0\n"
        "2001:db8::92                                  f8:bc:12:44:34:b7   br0\n")


def test_a_neighbor_advertisement_to_the_solicited_node_group_is_learned() -> None:
    """Open vSwitch 3.1 learns an NA sent to ``ff02::1:ffXX:XXXX`` whose low 24 bits are one of the bridge's
    addresses' (checked against it), not one sent to another group."""
    c = cache()
    mine = next(a.ip for a in BR0_ADDRS if a.version == 6)
    group = IPv6Address((0xFF0200000000000000000001FF << 24) | (int(mine) & 0xFFFFFF))
    assert c.snoop(na("f8:bc:12:44:36:07", "2001:db8::97", str(group), "2001:db8::97", "f8:bc:12:44:36:07"),
                   "br0", Wildcards(), side_effects=True)
    assert c.lookup("br0", "2001:db8::97") == 0xF8BC12443607
    other = IPv6Address((0xFF0200000000000000000001FF << 24) | ((int(mine) + 1) & 0xFFFFFF))
    assert not c.snoop(na("f8:bc:12:44:36:08", "2001:db8::98", str(other), "2001:db8::98", "f8:bc:12:44:36:08"),
                       "br0", Wildcards(), side_effects=True)
