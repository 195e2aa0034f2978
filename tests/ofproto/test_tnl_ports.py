"""The listening-port map: ``tnl/ports/show`` texts as Open vSwitch 3.1 printed them in the issue's reference
capture, reference counting, devices coming and going, and the lookup with the fields it un-wildcards (the
reference's ``tnl_pop`` megaflow: ``dl_dst``, ``nw_dst``, ``nw_proto``, ``nw_frag``, ``tp_dst``)."""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv6Address

from pyvswitch.flow import fields as F
from pyvswitch.flow.extract import extract
from pyvswitch.flow.match import Wildcards
from pyvswitch.netdev.netdev_dummy import parse_packet
from pyvswitch.ofproto.tnl_ports import IPPROTO_GRE, TnlPorts

BR0_MAC = 0xAA55AA550000
ETH0_MAC = 0x02FC00000001

REFERENCE_SHOW = """\
Listening ports:
vxlan_sys_4789 (4789) ref_cnt=2
genev_sys_6081 (6081) ref_cnt=1
vxlan_sys_4790 (4790) ref_cnt=1
gre_sys (2) ref_cnt=1
"""

REFERENCE_SHOW_V = """\
Listening ports:
vxlan_sys_4789 (4789) : eth(dst=aa:55:aa:55:00:00),eth_type(0x0800),ipv4(dst=1.1.2.88,proto=17,frag=no),udp(dst=4789)
genev_sys_6081 (6081) : eth(dst=aa:55:aa:55:00:00),eth_type(0x0800),ipv4(dst=1.1.2.88,proto=17,frag=no),udp(dst=6081)
vxlan_sys_4790 (4790) : eth(dst=aa:55:aa:55:00:00),eth_type(0x0800),ipv4(dst=1.1.2.88,proto=17,frag=no),udp(dst=4790)
vxlan_sys_4789 (4789) : eth(dst=02:fc:00:00:00:01),eth_type(0x0800),ipv4(dst=192.0.2.2,proto=17,frag=no),udp(dst=4789)
genev_sys_6081 (6081) : eth(dst=02:fc:00:00:00:01),eth_type(0x0800),ipv4(dst=192.0.2.2,proto=17,frag=no),udp(dst=6081)
vxlan_sys_4790 (4790) : eth(dst=02:fc:00:00:00:01),eth_type(0x0800),ipv4(dst=192.0.2.2,proto=17,frag=no),udp(dst=4790)
gre_sys (2) : eth(dst=aa:55:aa:55:00:00),eth_type(0x0800),ipv4(dst=1.1.2.88,proto=47,frag=no)
gre_sys (2) : eth(dst=02:fc:00:00:00:01),eth_type(0x0800),ipv4(dst=192.0.2.2,proto=47,frag=no)
vxlan_sys_4789 (4789) : eth(dst=02:fc:00:00:00:01),eth_type(0x86dd),ipv6(dst=fd00::2,proto=17,frag=no),udp(dst=4789)
vxlan_sys_4789 (4789) : eth(dst=02:fc:00:00:00:01),eth_type(0x86dd),ipv6(dst=fe80::fc:ff:fe00:1,proto=17,frag=no),udp(dst=4789)
genev_sys_6081 (6081) : eth(dst=02:fc:00:00:00:01),eth_type(0x86dd),ipv6(dst=fd00::2,proto=17,frag=no),udp(dst=6081)
genev_sys_6081 (6081) : eth(dst=02:fc:00:00:00:01),eth_type(0x86dd),ipv6(dst=fe80::fc:ff:fe00:1,proto=17,frag=no),udp(dst=6081)
vxlan_sys_4790 (4790) : eth(dst=02:fc:00:00:00:01),eth_type(0x86dd),ipv6(dst=fd00::2,proto=17,frag=no),udp(dst=4790)
vxlan_sys_4790 (4790) : eth(dst=02:fc:00:00:00:01),eth_type(0x86dd),ipv6(dst=fe80::fc:ff:fe00:1,proto=17,frag=no),udp(dst=4790)
gre_sys (2) : eth(dst=02:fc:00:00:00:01),eth_type(0x86dd),ipv6(dst=fd00::2,proto=47,frag=no)
gre_sys (2) : eth(dst=02:fc:00:00:00:01),eth_type(0x86dd),ipv6(dst=fe80::fc:ff:fe00:1,proto=47,frag=no)
"""


def reference() -> TnlPorts:
    """The reference capture's history: tunnel ports first (Open vSwitch created gre_sys first), then br0's
    user route, then the kernel's routes (read once a tunnel port existed)."""
    p = TnlPorts()
    p.add(2, "gre_sys", IPPROTO_GRE, 0)
    p.add(4790, "vxlan_sys_4790", 17, 4790)
    p.add(6081, "genev_sys_6081", 17, 6081)
    p.add(4789, "vxlan_sys_4789", 17, 4789)
    p.add(4789, "vxlan_sys_4789", 17, 4789)
    p.insert_device("br0", BR0_MAC, [IPv4Address("1.1.2.88")])
    p.insert_device("eth0", ETH0_MAC, [IPv4Address("192.0.2.2"), IPv6Address("fd00::2"),
                                       IPv6Address("fe80::fc:ff:fe00:1")])
    return p


def test_show_equals_reference() -> None:
    p = reference()
    assert p.show() == REFERENCE_SHOW
    assert p.show(verbose=True) == REFERENCE_SHOW_V


def test_ref_counting() -> None:
    p = reference()
    g = p.generation
    p.remove(4789)
    assert "vxlan_sys_4789 (4789) ref_cnt=1" in p.show() and p.generation == g
    p.remove(4789)
    assert "vxlan_sys_4789" not in p.show() + p.show(verbose=True)
    assert p.generation > g
    p.remove(12345)                     # Unknown: nothing happens.
    assert p.ref_count(2) == 1 and p.ref_count(4789) == 0


def test_devices() -> None:
    p = reference()
    assert p.endpoint_ipv4() == {int(IPv4Address("1.1.2.88")), int(IPv4Address("192.0.2.2"))}
    g = p.generation
    p.insert_device("br0", BR0_MAC, [IPv4Address("1.1.2.88")])        # Unchanged: nothing happens.
    assert p.generation == g
    p.insert_device("br0", BR0_MAC, [IPv4Address("1.1.2.99")])        # Changed: inserted again.
    assert p.generation > g
    v = p.show(verbose=True)
    assert "dst=1.1.2.99" in v and "dst=1.1.2.88" not in v
    p.delete_device("br0")
    assert "aa:55:aa:55:00:00" not in p.show(verbose=True)
    p.insert_device("lo", 0, [IPv4Address("127.0.0.1")])               # No Ethernet address: not a device.
    p.insert_device("x", 1, [])                                        # No address: not a device.
    assert set(p.devices()) == {"eth0"}
    p.set_addresses({"br0": (BR0_MAC, [IPv4Address("1.1.2.88")])})
    assert set(p.devices()) == {"br0"}


def key_of(text: str) -> int:
    return extract(parse_packet(text), 1)


def vxlan_key(dl_dst: str = "aa:55:aa:55:00:00", dst: str = "1.1.2.88", port: int = 4789,
              frag: str = "no", proto: int = 17) -> int:
    l4 = f",udp(src=51283,dst={port})" if proto == 17 and frag != "later" else ""
    return key_of(f"in_port(1),eth(src=f8:bc:12:44:34:b6,dst={dl_dst}),eth_type(0x0800),"
                  f"ipv4(src=1.1.2.92,dst={dst},proto={proto},tos=0,ttl=64,frag={frag}){l4}")


L2 = F.storage_mask("dl_dst") | F.storage_mask("dl_type") | F.storage_mask("vlan_tci")
L3 = F.storage_mask("nw_dst") | F.storage_mask("nw_proto") | F.BY_NAME["nw_frag"].key_mask
L4 = F.storage_mask("tp_dst")


def test_lookup_and_wildcards() -> None:
    p = reference()
    wc = Wildcards()
    assert p.lookup(vxlan_key(), wc) == 4789
    assert wc.mask == L2 | L3 | L4
    assert p.lookup(vxlan_key(port=6081), None) == 6081
    assert p.lookup(vxlan_key(port=4790), None) == 4790
    assert p.lookup(vxlan_key(dl_dst="02:fc:00:00:00:01", dst="192.0.2.2"), None) == 4789
    # Another host's MAC: only the Ethernet fields were looked at.
    wc = Wildcards()
    assert p.lookup(vxlan_key(dl_dst="00:00:00:00:00:99"), wc) is None
    assert wc.mask == L2
    # Another address, or the MAC of one device with the address of the other.
    wc = Wildcards()
    assert p.lookup(vxlan_key(dst="1.1.2.89"), wc) is None
    assert wc.mask == L2 | L3
    assert p.lookup(vxlan_key(dl_dst="02:fc:00:00:00:01"), None) is None
    # A UDP port nobody listens on: the UDP port was looked at too.
    wc = Wildcards()
    assert p.lookup(vxlan_key(port=5000), wc) is None
    assert wc.mask == L2 | L3 | L4
    # Fragments are not for tnl_pop (the datapath reassembles them first).
    assert p.lookup(vxlan_key(frag="first"), None) is None
    assert p.lookup(vxlan_key(frag="later"), None) is None
    # GRE has no UDP port.
    wc = Wildcards()
    assert p.lookup(vxlan_key(proto=47), wc) == 2
    assert wc.mask == L2 | L3
    # IPv6.
    key = key_of("in_port(1),eth(src=f8:bc:12:44:34:b6,dst=02:fc:00:00:00:01),eth_type(0x86dd),"
                 "ipv6(src=fd00::9,dst=fd00::2,proto=17,tclass=0,hlimit=64,frag=no),udp(src=1,dst=6081)")
    wc = Wildcards()
    assert p.lookup(key, wc) == 6081
    assert wc.mask & F.storage_mask("ipv6_dst") and wc.mask & L4
    # Not IP at all.
    key = key_of("in_port(1),eth(src=f8:bc:12:44:34:b6,dst=aa:55:aa:55:00:00),eth_type(0x0806),"
                 "arp(sip=1.1.2.92,tip=1.1.2.88,op=1,sha=f8:bc:12:44:34:b6,tha=00:00:00:00:00:00)")
    wc = Wildcards()
    assert p.lookup(key, wc) is None
    assert wc.mask == L2


def test_empty() -> None:
    p = TnlPorts()
    assert p.show() == "Listening ports:\n" and p.show(True) == "Listening ports:\n"
    wc = Wildcards()
    assert p.lookup(vxlan_key(), wc) is None and wc.mask == 0


def test_a_vlan_tagged_packet_never_ends_at_a_tunnel() -> None:
    """Open vSwitch 3.1: ``ofproto/trace br0 udp,dl_vlan=10,...,nw_dst=<endpoint>,udp_dst=4789`` outputs to the
    bridge's port; without the tag it is ``tnl_pop(4789)``."""
    p = TnlPorts()
    p.add(4789, "vxlan_sys_4789", 17, 4789)
    p.insert_device("br0", 0xAA55AA550000, [ipaddress.ip_address("1.1.2.88")])
    untagged = ("in_port(1),eth(src=f8:bc:12:44:3d:01,dst=aa:55:aa:55:00:00),eth_type(0x0800),"
                "ipv4(src=1.1.2.92,dst=1.1.2.88,proto=17,tos=0,ttl=64,frag=no),udp(src=1234,dst=4789)")
    tagged = ("in_port(1),eth(src=f8:bc:12:44:3d:01,dst=aa:55:aa:55:00:00),eth_type(0x8100),vlan(vid=10,pcp=0),"
              "encap(eth_type(0x0800),ipv4(src=1.1.2.92,dst=1.1.2.88,proto=17,tos=0,ttl=64,frag=no),"
              "udp(src=1234,dst=4789))")
    assert p.lookup(extract(parse_packet(untagged), 1), Wildcards()) == 4789
    wc = Wildcards()
    assert p.lookup(extract(parse_packet(tagged), 1), wc) is None
    assert wc.mask & F.storage_mask("vlan_tci") == F.storage_mask("vlan_tci")
