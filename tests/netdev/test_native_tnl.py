"""native_tnl: header building (against the ``tnl_push`` actions a real Open vSwitch 3.1 printed), the text form
round trip, and push/pop against Scapy-built packets."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.contrib.geneve import GENEVE
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import GRE, Ether
from scapy.layers.vxlan import VXLAN

from pyvswitch.dpif import odp
from pyvswitch.netdev import native_tnl as T

MAC_A, MAC_B = 0xAA55AA550000, 0xF8BC124434B6
IP_A, IP_B = 0x01010258, 0x0101025C            # 1.1.2.88, 1.1.2.92
IP6_A, IP6_B = (0xFD00 << 112) | 0x88, (0xFD00 << 112) | 0x92
MAC_B6 = 0xF8BC124434B7

# Datapath actions printed by Open vSwitch 3.1 (ovs-vswitchd --enable-dummy --disable-system, ofproto/trace
# through tunnel ports with these options), each with the build_tnl_push arguments that give the same header.
OVS_CASES = [
    (("tnl_push(tnl_port(4789),header(size=50,type=4,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,"
     "dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=4789,"
     "csum=0xffff),vxlan(flags=0x8000000,vni=0x1c8)),out_port(100))"),
     {"tnl_type": "vxlan", "tnl_port": 4789, "udp_dst": 4789, "key": 456, "csum": True}),
    (("tnl_push(tnl_port(3),header(size=46,type=3,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,"
     "dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=47,tos=0,ttl=64,frag=0x4000),"
     "gre((flags=0xa000,proto=0x6558),csum=0x0,key=0x1c8)),out_port(100))"),
     {"tnl_type": "gre", "tnl_port": 3, "key": 456, "csum": True}),
    (("tnl_push(tnl_port(6081),header(size=70,type=5,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,"
     "dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=6081,"
     "csum=0x0),geneve(crit,vni=0x7b,options({class=0xffff,type=0x80,len=4,0x1234}{class=0x102,type=0x3,len=8,"
     "0x5}))),out_port(100))"),
     {"tnl_type": "geneve", "tnl_port": 6081, "udp_dst": 6081, "key": 123,
          "geneve_options": bytes.fromhex("ffff800100001234" "0102030200000000" "00000005")}),
    (("tnl_push(tnl_port(6081),header(size=50,type=5,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,"
     "dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=6081,"
     "csum=0x0),geneve(vni=0x7b)),out_port(100))"),
     {"tnl_type": "geneve", "tnl_port": 6081, "udp_dst": 6081, "key": 123}),
    (("tnl_push(tnl_port(6081),header(size=50,type=5,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,"
     "dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=6081,"
     "csum=0x0),geneve(oam,vni=0x7b)),out_port(100))"),
     {"tnl_type": "geneve", "tnl_port": 6081, "udp_dst": 6081, "key": 123, "oam": True}),
    (("tnl_push(tnl_port(4790),header(size=50,type=4,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,"
     "dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=17,tos=0x20,ttl=9,frag=0x0),udp(src=0,dst=4790,"
     "csum=0x0),vxlan(flags=0x8000000,vni=0x7)),out_port(100))"),
     {"tnl_type": "vxlan", "tnl_port": 4790, "udp_dst": 4790, "key": 7, "tos": 0x20, "ttl": 9, "df": False}),
    (("tnl_push(tnl_port(3),header(size=38,type=3,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,"
     "dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=47,tos=0,ttl=64,frag=0x4000),"
     "gre((flags=0x0,proto=0x6558))),out_port(100))"),
     {"tnl_type": "gre", "tnl_port": 3}),
    (("tnl_push(tnl_port(4789),header(size=70,type=4,eth(dst=f8:bc:12:44:34:b7,src=aa:55:aa:55:00:00,"
     "dl_type=0x86dd),ipv6(src=fd00::88,dst=fd00::92,label=0,proto=17,tclass=0x0,hlimit=64),udp(src=0,dst=4789,"
     "csum=0xffff),vxlan(flags=0x8000000,vni=0x8)),out_port(100))"),
     {"tnl_type": "vxlan", "tnl_port": 4789, "udp_dst": 4789, "key": 8, "ipv6": True}),
    (("tnl_push(tnl_port(3),header(size=62,type=109,eth(dst=f8:bc:12:44:34:b7,src=aa:55:aa:55:00:00,"
     "dl_type=0x86dd),ipv6(src=fd00::88,dst=fd00::92,label=0,proto=47,tclass=0x0,hlimit=64),"
     "gre((flags=0x2000,proto=0x6558),key=0x9)),out_port(100))"),
     {"tnl_type": "gre", "tnl_port": 3, "key": 9, "ipv6": True}),
    (("tnl_push(tnl_port(6081),header(size=70,type=5,eth(dst=f8:bc:12:44:34:b7,src=aa:55:aa:55:00:00,"
     "dl_type=0x86dd),ipv6(src=fd00::88,dst=fd00::92,label=0,proto=17,tclass=0x0,hlimit=64),udp(src=0,dst=6081,"
     "csum=0xffff),geneve(vni=0xb)),out_port(100))"),
     {"tnl_type": "geneve", "tnl_port": 6081, "udp_dst": 6081, "key": 11, "ipv6": True}),
    # From the reference dump (.helpers/ovs-tunnel-reference.txt).
    (("tnl_push(tnl_port(4789),header(size=50,type=4,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,"
     "dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=4789,"
     "csum=0x0),vxlan(flags=0x8000000,vni=0x1c8)),out_port(100))"),
     {"tnl_type": "vxlan", "tnl_port": 4789, "udp_dst": 4789, "key": 456}),
    (("tnl_push(tnl_port(2),header(size=42,type=3,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,"
     "dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=47,tos=0,ttl=64,frag=0x4000),"
     "gre((flags=0x2000,proto=0x6558),key=0x1c8)),out_port(100))"),
     {"tnl_type": "gre", "tnl_port": 2, "key": 456}),
]


def _build(kw: dict) -> T.TnlPush:
    v6 = kw.get("ipv6", False)
    return T.build_tnl_push(out_port=100, eth_src=MAC_A, eth_dst=MAC_B6 if v6 else MAC_B,
                            ip_src=IP6_A if v6 else IP_A, ip_dst=IP6_B if v6 else IP_B, **kw)


@pytest.mark.parametrize("text,kw", OVS_CASES, ids=[c[0][60:120] for c in OVS_CASES])
def test_build_prints_as_ovs(text: str, kw: dict) -> None:
    action = _build(kw)
    assert odp.format_actions([action]) == text
    assert odp.parse_actions(text) == [action]


def test_names_in_tnl_push() -> None:
    action = _build(OVS_CASES[0][1])
    names = {4789: "vxlan_sys_4789", 100: "br0"}
    text = odp.format_actions([action, odp.Output(100)], names)
    assert text.startswith("tnl_push(tnl_port(vxlan_sys_4789),header(") and text.endswith(",out_port(br0)),br0")
    assert odp.parse_actions(text, {v: k for k, v in names.items()}) == [action, odp.Output(100)]


@pytest.mark.parametrize("bad", [
    OVS_CASES[0][0].replace("size=50", "size=51"),
    OVS_CASES[0][0].replace("type=4", "type=99"),
    OVS_CASES[0][0].replace("vni=0x1c8", "vni=0x1000000"),
    OVS_CASES[0][0].replace(",out_port(100)", ""),
    OVS_CASES[1][0].replace("csum=0x0,", ""),
    OVS_CASES[2][0].replace("len=4,0x1234", "len=4,0x123456789"),
    OVS_CASES[2][0].replace("len=8", "len=6"),
    ("tnl_push(tnl_port(1),header(size=14,type=4,eth(dst=00:00:00:00:00:01,src=00:00:00:00:00:02,dl_type=0x0806)),"
    "out_port(2))"),
])
def test_bad_tnl_push_text(bad: str) -> None:
    with pytest.raises(odp.OdpParseError):
        odp.parse_actions(bad)


opts_st = st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFF), st.binary(max_size=16)),
                   max_size=4).map(lambda os: b"".join(
                       struct.pack("!HBB", c, t, (len(d) + 3) // 4) + d + bytes(-len(d) % 4) for c, t, d in os))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["vxlan", "geneve", "gre"]), st.booleans(), st.integers(0, 255), st.integers(0, 255),
       st.booleans(), st.booleans(), st.none() | st.integers(0, 2**32 - 1), st.booleans(), opts_st,
       st.integers(0, 0xFFFF), st.integers(0, 0xFF), st.integers(1, 2**32 - 1), st.integers(1, 2**32 - 1))
def test_text_round_trip(tnl_type: str, ipv6: bool, tos: int, ttl: int, df: bool, csum: bool, key: int | None,
                         oam: bool, opts: bytes, gbp_id: int, gbp_flags: int, p1: int, p2: int) -> None:
    kw = {"tnl_type": tnl_type, "tnl_port": p1, "out_port": p2, "eth_src": MAC_A, "eth_dst": MAC_B,
          "ip_src": IP6_A if ipv6 else IP_A, "ip_dst": IP6_B if ipv6 else IP_B, "ipv6": ipv6, "tos": tos,
          "ttl": ttl, "df": df, "udp_dst": 4789, "csum": csum, "key": key}
    if tnl_type == "geneve":
        kw.update(oam=oam, geneve_options=opts)
    if tnl_type == "vxlan":
        kw.update(gbp_id=gbp_id, gbp_flags=gbp_flags)
    action = T.build_tnl_push(**kw)
    text = odp.format_actions([action])
    assert odp.parse_actions(text) == [action]
    assert odp.format_actions(odp.parse_actions(text)) == text


def test_dp_port_names() -> None:
    assert T.dp_port_name("vxlan", 4789) == "vxlan_sys_4789"
    assert T.dp_port_name("geneve", 6081) == "genev_sys_6081"
    assert T.dp_port_name("gre", 0) == "gre_sys"
    for name, want in [("vxlan_sys_4790", ("vxlan", 4790)), ("genev_sys_6081", ("geneve", 6081)),
                       ("gre_sys", ("gre", 0)), ("vxlan_sys_", None), ("vxlan_sys_0", None),
                       ("vxlan_sys_070", None), ("vxlan_sys_65536", None), ("br0", None), ("genev_sys_x", None)]:
        assert T.tnl_type_of_dp_port_name(name) == want
    with pytest.raises(ValueError):
        T.dp_port_name("lisp", 1)
    with pytest.raises(ValueError):
        T.build_tnl_push(tnl_type="stt", tnl_port=1, out_port=2, eth_src=0, eth_dst=0, ip_src=0, ip_dst=0)


INNER = bytes(Ether(src="50:54:00:00:00:05", dst="50:54:00:00:00:07") /
              IP(src="192.168.0.1", dst="192.168.0.2") / TCP(sport=1, dport=2) / (b"x" * 30))


def _outer4(l4, *, df: bool = True, tos: int = 0, ttl: int = 64, ident: int = 0):
    return (Ether(src="aa:55:aa:55:00:00", dst="f8:bc:12:44:34:b6") /
            IP(src="1.1.2.88", dst="1.1.2.92", flags="DF" if df else 0, tos=tos, ttl=ttl, id=ident) / l4)


@pytest.mark.parametrize("csum", [False, True])
def test_push_vxlan_equals_scapy(csum: bool) -> None:
    action = _build({"tnl_type": "vxlan", "tnl_port": 4789, "udp_dst": 4789, "key": 456, "csum": csum})
    got = T.push(INNER, action, 0x12345678)
    sport = T.udp_src_port(0x12345678)
    assert 32768 <= sport < 61000
    udp = UDP(sport=sport, dport=4789)
    if not csum:
        udp.chksum = 0
    want = bytes(_outer4(udp / VXLAN(flags=0x08, vni=456) / INNER))
    assert got == want
    inner, f = T.pop(got, "vxlan", 4789)
    assert inner == INNER
    assert f["tun_id"] == 456 and f["src"] == IP_A and f["dst"] == IP_B and f["ttl"] == 64
    assert f["tp_src"] == sport and f["tp_dst"] == 4789
    assert f["flags"] == T.TNL_F_DF | T.TNL_F_KEY | (T.TNL_F_CSUM if csum else 0)


def test_push_gre_equals_scapy() -> None:
    action = _build({"tnl_type": "gre", "tnl_port": 3, "key": 456, "csum": True})
    got = T.push(INNER, action, 0, ip_id=7)
    want = bytes(_outer4(GRE(chksum_present=1, key_present=1, key=456, proto=0x6558) / INNER, ident=7))
    assert got == want
    inner, f = T.pop(got, "gre")
    assert inner == INNER and f["tun_id"] == 456 and f["flags"] == T.TNL_F_DF | T.TNL_F_KEY | T.TNL_F_CSUM
    nokey = T.push(INNER, _build({"tnl_type": "gre", "tnl_port": 3, "df": False}), 0, ip_id=9)
    assert nokey == bytes(_outer4(GRE(proto=0x6558) / INNER, df=False, ident=9))
    assert T.pop(nokey, "gre")[1]["flags"] == 0


def test_push_geneve_ipv6_equals_scapy() -> None:
    opts = bytes.fromhex("ffff800100001234")
    action = _build({"tnl_type": "geneve", "tnl_port": 6081, "udp_dst": 6081, "key": 123, "ipv6": True,
                     "geneve_options": opts, "tos": 0x28, "ttl": 30})
    got = T.push(INNER, action, 0xFFFFFFFF)
    want = bytes(Ether(src="aa:55:aa:55:00:00", dst="f8:bc:12:44:34:b7") /
                 IPv6(src="fd00::88", dst="fd00::92", tc=0x28, hlim=30) /
                 UDP(sport=T.udp_src_port(0xFFFFFFFF), dport=6081) /
                 GENEVE(vni=123, critical=1, optionlen=2, options=opts, proto=0x6558) / INNER)
    assert got == want
    inner, f = T.pop(got, "geneve", 6081)
    assert inner == INNER and f["geneve"] == opts and f["tun_id"] == 123 and f["ipv6_dst"] == IP6_B
    assert f["tos"] == 0x28 and f["ttl"] == 30 and f["src"] == 0 and f["flags"] == T.TNL_F_KEY | T.TNL_F_CSUM


def _corrupt(frame: bytes, pos: int, value: int) -> bytes:
    b = bytearray(frame)
    b[pos] = value
    return bytes(b)


def test_pop_refuses_bad_packets() -> None:
    vx = T.push(INNER, _build({"tnl_type": "vxlan", "tnl_port": 4789, "udp_dst": 4789, "key": 456, "csum": True}), 5)
    vx0 = T.push(INNER, _build({"tnl_type": "vxlan", "tnl_port": 4789, "udp_dst": 4789, "key": 456}), 5)
    drops: dict[str, int] = {}
    assert T.pop(vx, "vxlan", 4789, drops) is not None
    cases = [
        (vx[:30], "short"),
        (_corrupt(vx, 24, vx[24] ^ 1), "bad_ip_csum"),
        (_corrupt(vx, 14, 0x65), "bad_ip_header"),
        (_corrupt(vx, len(vx) - 1, vx[-1] ^ 0xFF), "bad_udp_csum"),
        (_corrupt(vx0, 42, 0), "bad_vxlan"),                # no I flag
        (vx, "bad_udp_port"),
    ]
    for frame, reason in cases:
        port = 4790 if reason == "bad_udp_port" else 4789
        assert T.pop(frame, "vxlan", port, drops) is None, reason
        assert drops.get(reason) == 1, (reason, drops)
    # A length the packet does not have, with a valid IP checksum.
    longer = bytearray(vx)
    struct.pack_into("!H", longer, 16, len(vx))
    struct.pack_into("!H", longer, 24, 0)
    from pyvswitch.packet.checksum import ipv4_header_checksum
    struct.pack_into("!H", longer, 24, ipv4_header_checksum(longer[14:34]))
    assert T.pop(bytes(longer), "vxlan", 4789, drops) is None and drops["bad_ip_length"] == 1
    # GRE carrying IPv4 (layer 3) is refused; a bad GRE checksum too.
    l3 = bytes(_outer4(GRE(proto=0x0800) / IP(src="1.1.1.1", dst="2.2.2.2")))
    assert T.pop(l3, "gre", 0, drops) is None and drops["gre_l3"] == 1
    gre = T.push(INNER, _build({"tnl_type": "gre", "tnl_port": 3, "key": 1, "csum": True}), 0)
    assert T.pop(_corrupt(gre, len(gre) - 1, gre[-1] ^ 1), "gre", 0, drops) is None and drops["bad_gre_csum"] == 1
    gnv = T.push(INNER, _build({"tnl_type": "geneve", "tnl_port": 6081, "udp_dst": 6081, "key": 1}), 0)
    assert T.pop(_corrupt(gnv, 42, 0x40), "geneve", 6081, drops) is None and drops["bad_geneve"] == 1
    assert T.pop(vx, "geneve", 4789, drops) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120), st.sampled_from(["vxlan", "geneve", "gre"]))
def test_pop_never_raises(data: bytes, tnl_type: str) -> None:
    vx = T.push(INNER, _build({"tnl_type": tnl_type, "tnl_port": 1, "udp_dst": 4789, "key": 456}), 5)
    for frame in (data, vx[:len(data)], vx[:14] + data):
        T.pop(frame, tnl_type, 4789)


# Packets a real Open vSwitch 3.1 encapsulated (dummy datapath, tx_pcap of the NIC port) with the headers of
# OVS_CASES 0, 2 and 1: VXLAN with a UDP checksum, Geneve with two options, GRE with checksum and key.
OVS_PUSHED = [
    (
        "f8bc124434b6aa55aa55000008004500009a000040004011339e010102580101025cc3aa12b500862ac5080000000001"
        "c800505400000007505400000005080045000068000000004006f93cc0a80001c0a80002000100020000000000000000"
        "500000004a4a0000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627"
        "28292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    ),
    (
        "f8bc124434b6aa55aa5500000800450000ae000040004011338a010102580101025cbea717c1009a0000054065580000"
        "7b00ffff800100001234010203020000000000000005505400000007505400000005080045000068000000004006f93c"
        "c0a80001c0a80002000100050000000000000000500000004a470000000102030405060708090a0b0c0d0e0f10111213"
        "1415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    ),
    (
        "f8bc124434b6aa55aa55000008004500009600004000402f3384010102580101025ca0006558d1d80000000001c85054"
        "00000007505400000005080045000068000000004006f93cc0a80001c0a8000200010003000000000000000050000000"
        "4a490000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b"
        "2c2d2e2f303132333435363738393a3b3c3d3e3f"
    ),
]


@pytest.mark.parametrize("i", range(3))
def test_push_equals_ovs_and_pop_accepts_ovs(i: int) -> None:
    ovs = bytes.fromhex("".join(OVS_PUSHED[i]))
    action = _build(OVS_CASES[(0, 2, 1)[i]][1])
    inner = ovs[len(action.header):]
    tnl_type = T.TNL_TYPE_NAMES[action.tnl_type]
    popped, f = T.pop(ovs, tnl_type, {"vxlan": 4789, "geneve": 6081}.get(tnl_type, 0))
    assert popped == inner
    ours = bytearray(T.push(inner, action, 0))
    if tnl_type != "gre":
        # Open vSwitch hashed the inner packet its own way: take its source port, and fix the checksum.
        assert f["tp_src"] == int.from_bytes(ovs[34:36], "big")
        old = int.from_bytes(ours[34:36], "big")
        ours[34:36] = ovs[34:36]
        if ours[40:42] != b"\0\0":
            from pyvswitch.packet.checksum import csum_update16
            ours[40:42] = csum_update16(int.from_bytes(ours[40:42], "big"), old, f["tp_src"]).to_bytes(2, "big")
    assert bytes(ours) == ovs


@settings(max_examples=500, deadline=None)
@given(st.sampled_from([c[0] for c in OVS_CASES]), st.integers(0, 400), st.integers(0, 6),
       st.sampled_from(["", ",", "(", ")", "{", "}", "=", "/", "0x", "-1", "zz", "99999999999"]))
def test_tnl_push_parser_fuzz(text: str, cut: int, drop: int, insert: str) -> None:
    bad = text[:cut] + insert + text[cut + drop:]
    try:
        odp.parse_actions(bad)
    except odp.OdpParseError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="{}(),=/0x1afclsyptenv", max_size=60))
def test_geneve_flow_parser_fuzz(body: str) -> None:
    try:
        odp.parse_flow(f"tunnel(dst=1.1.1.1,geneve({body})),in_port(1)")
    except odp.OdpParseError:
        pass


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["vxlan", "geneve", "gre"]), st.booleans(), st.booleans(), st.booleans(),
       st.none() | st.integers(0, 2**32 - 1), opts_st,
       st.lists(st.binary(min_size=14, max_size=200), min_size=1, max_size=8),
       st.lists(st.integers(0, 2**32 - 1), min_size=8, max_size=8), st.booleans())
def test_push_batch_equals_push(tnl_type: str, ipv6: bool, df: bool, csum: bool, key: int | None, opts: bytes,
                                frames: list[bytes], hashes: list[int], with_ids: bool) -> None:
    kw = {"tnl_type": tnl_type, "tnl_port": 4789, "out_port": 100, "eth_src": MAC_A, "eth_dst": MAC_B,
          "ip_src": IP6_A if ipv6 else IP_A, "ip_dst": IP6_B if ipv6 else IP_B, "ipv6": ipv6, "df": df,
          "udp_dst": 4789, "csum": csum, "key": key}
    if tnl_type == "geneve":
        kw["geneve_options"] = opts
    action = T.build_tnl_push(**kw)
    ids = [0x1234 + 7919 * i for i in range(len(frames))] if with_ids else None
    out = T.push_batch(frames, action, hashes, ids)
    if ipv6 or csum:
        # Per-packet checksums (UDP over IPv6 always has one): the batch form declines, push does them.
        assert out is None
        return
    assert out == [T.push(f, action, hashes[i], ids[i] if ids else 0) for i, f in enumerate(frames)]


_VX_GOOD = bytes(Ether() / IP(src="1.1.2.92", dst="1.1.2.88", flags="DF", ttl=61, tos=0x12) /
                 UDP(sport=50123, dport=4789, chksum=0) / VXLAN(flags=0x08, vni=0x123456) /
                 Ether(src="50:54:00:00:00:05") / (b"i" * 20))


@settings(max_examples=600, deadline=None)
@given(st.lists(st.tuples(st.integers(12, 63), st.integers(0, 255)), max_size=3), st.integers(-3, 3))
def test_vxlan_pop_shortcut_agrees_with_the_full_checks(changes: list[tuple[int, int]], trim: int) -> None:
    """The one-unpack path for plain VXLAN over IPv4 gives what the full checks give: the same frame behind an
    802.1Q tag (which the shortcut never takes) pops to the same inner frame and fields, or fails the same way."""
    frame = bytearray(_VX_GOOD)
    for at, value in changes:
        frame[at] = value
    if trim > 0:
        frame = frame[:-trim]
    elif trim < 0:
        frame += b"\0" * -trim
    tagged = frame[:12] + b"\x81\x00\x00\x07" + frame[12:]
    d1: dict[str, int] = {}
    d2: dict[str, int] = {}
    assert T.pop(bytes(frame), "vxlan", 4789, d1) == T.pop(bytes(tagged), "vxlan", 4789, d2)
    assert d1 == d2
    assert T.pop(_VX_GOOD, "vxlan", 4789) is not None


@pytest.mark.parametrize("ipv6", [False, True])
def test_a_frame_too_long_for_the_outer_length_field_is_refused(ipv6: bool) -> None:
    action = T.build_tnl_push(tnl_type="vxlan", tnl_port=4789, out_port=1, eth_src=MAC_A, eth_dst=MAC_B,
                              ip_src=IP6_A if ipv6 else IP_A, ip_dst=IP6_B if ipv6 else IP_B, ipv6=ipv6,
                              udp_dst=4789)
    limit = 0xFFFF - (len(action.header) - (54 if ipv6 else 14))
    assert len(T.push(bytes(limit), action, 0)) == len(action.header) + limit
    with pytest.raises(ValueError, match="does not fit"):
        T.push(bytes(limit + 1), action, 0)
    if not ipv6:
        assert len(T.push_batch([bytes(limit)], action, [0])[0]) == len(action.header) + limit  # type: ignore[index]
        with pytest.raises(ValueError, match="does not fit"):
            T.push_batch([bytes(14), bytes(limit + 1)], action, [0, 0])


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=80), st.sampled_from(["vxlan", "geneve", "gre"]), st.booleans())
def test_pop_never_raises_past_the_outer_headers(tail: bytes, tnl_type: str, csum: bool) -> None:
    """Valid outer Ethernet and IP headers, then anything: the UDP and tunnel header checks refuse, never raise."""
    l4 = tail if tnl_type == "gre" else UDP(sport=1, dport=4789, chksum=None if csum else 0) / tail
    frame = bytes(Ether() / IP(src="1.1.2.92", dst="1.1.2.88", proto=47 if tnl_type == "gre" else 17) / l4)
    drops: dict[str, int] = {}
    if T.pop(frame, tnl_type, 4789, drops) is None:
        assert sum(drops.values()) == 1


def test_udp_source_ports_span_the_range() -> None:
    assert (T.udp_src_port(0), T.udp_src_port(0x80000000), T.udp_src_port(0xFFFFFFFF)) == (32768, 46884, 60999)
