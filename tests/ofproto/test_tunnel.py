"""Tunnel vports' options (pyvswitch.netdev.netdev_vport) and the receive mapping and send side of
pyvswitch.ofproto.tunnel.

The option texts (errors and ``dpif/show`` descriptions) were captured from a real Open vSwitch 3.1:
tests/data/ofproto/tunnel_options_ovs31.txt says how.
"""

from __future__ import annotations

import ipaddress
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch.flow import fields as F
from pyvswitch.flow.match import Wildcards
from pyvswitch.netdev import NetdevError
from pyvswitch.netdev.netdev_vport import VportNetdev
from pyvswitch.ofproto.tunnel import (
    TUN_FLAG_KEY,
    TunnelMap,
    TunnelPort,
    parse_tunnel_options,
    receive_wildcards,
    same_address,
    send_params,
    tunnel_destination,
)

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "ofproto", "tunnel_options_ovs31.txt")


def _cases() -> list[tuple[str, str, dict[str, str], str, str]]:
    out = []
    with open(DATA, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            head, _, tail = line.rstrip("\n").partition(" | ")
            name, type_, opts = head.split(" ")
            options = {} if opts == "-" else dict(kv.split("=", 1) for kv in opts.split(";"))
            kind, _, text = tail.partition(": ")
            out.append((name, type_, options, kind, text.replace("\\n", "\n")))
    return out


@pytest.mark.parametrize(("name", "type_", "options", "kind", "text"), _cases(), ids=lambda v: str(v)[:20])
def test_options_as_open_vswitch(name: str, type_: str, options: dict[str, str], kind: str, text: str) -> None:
    if kind == "error":
        with pytest.raises(NetdevError) as e:
            parse_tunnel_options(name, type_, options)
        assert str(e.value) == text
    else:
        dev = VportNetdev(name, type_)
        dev.set_config(options)
        assert dev.describe() == text


def test_defaults_and_dp_port_names() -> None:
    vx = parse_tunnel_options("t", "vxlan", {"remote_ip": "1.1.1.1"})
    assert (vx.dst_port, vx.ttl, vx.tos, vx.dont_fragment, vx.csum) == (4789, 64, 0, True, False)
    assert not vx.out_key_present and vx.dp_port_name == "vxlan_sys_4789"
    assert parse_tunnel_options("t", "geneve", {"remote_ip": "1.1.1.1"}).dp_port_name == "genev_sys_6081"
    assert parse_tunnel_options("t", "vxlan", {"remote_ip": "1.1.1.1", "dst_port": "4790"}).dp_port_name == \
        "vxlan_sys_4790"
    gre = parse_tunnel_options("t", "gre", {"remote_ip": "fd00::1", "key": "flow"})
    assert gre.dp_port_name == "gre_sys" and gre.ipv6 and gre.in_key_flow and gre.out_key_flow


def test_gre_layer3_refused() -> None:
    for pt in ("legacy_l3", "ptap"):
        with pytest.raises(NetdevError, match="not supported by pyvswitch"):
            parse_tunnel_options("g", "gre", {"remote_ip": "1.1.1.1", "packet_type": pt})


def test_unknown_option_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    cfg = parse_tunnel_options("t1", "vxlan", {"remote_ip": "1.1.1.1", "foo": "bar"})
    assert cfg.remote_ip == ipaddress.ip_address("1.1.1.1")
    assert "t1: unknown vxlan argument 'foo'" in caplog.text


@pytest.mark.parametrize(("options", "attr", "value"), [
    ({"key": "010"}, "in_key", 8),                              # strtoull(s, NULL, 0): octal
    ({"key": "0x10"}, "in_key", 16),
    ({"key": "08"}, "in_key", 0),                               # octal stops at the 8
    ({"key": "12abc"}, "in_key", 12),                           # trailing junk ignored
    ({"key": "-1"}, "in_key", 2**64 - 1),                       # negated modulo 2**64
    ({"key": "18446744073709551616"}, "in_key", 2**64 - 1),     # saturates, does not wrap
    ({"key": "9" * 5000}, "in_key", 2**64 - 1),                 # past Python's int() digit limit
    ({"tos": "010"}, "tos", 8),                                 # strtol(s, &end, 0): octal
    ({"tos": ""}, "tos", 0),                                    # no digits and nothing left: valid, 0
    ({"tos": "9" * 5000}, "tos", 0),                            # LONG_MAX as an int is -1: invalid, a warning
    ({"ttl": "9" * 5000}, "ttl", 255),                          # atoi: LONG_MAX as an int is -1, as uint8 255
    ({"ttl": "-" + "9" * 5000}, "ttl", 64),                     # LONG_MIN as an int is 0: the default
    ({"ttl": "010"}, "ttl", 10),                                # atoi is decimal
    ({"egress_pkt_mark": "9" * 5000}, "egress_pkt_mark", 2**32 - 1),   # strtoul saturates
    ({"egress_pkt_mark": "0x10"}, "egress_pkt_mark", 0),        # base 10
    ({"dst_port": "9" * 5000}, "dst_port", 4789),               # out of range: the default
])
def test_numbers_are_read_as_c_reads_them(options: dict[str, str], attr: str, value: int) -> None:
    """Open vSwitch reads each numeric option with a C function (strtoull, strtol, atoi, strtoul); pyvswitch
    gives the same value for any text, and never raises for a long one."""
    cfg = parse_tunnel_options("t", "vxlan", {"remote_ip": "1.1.1.1", **options})
    assert getattr(cfg, attr) == value


def test_gre_has_no_dst_port(caplog: pytest.LogCaptureFixture) -> None:
    """GRE carries no UDP port: dst_port is an unknown argument there (a warning), as in Open vSwitch, and the
    configuration still describes itself in a form that parses back to it."""
    cfg = parse_tunnel_options("g", "gre", {"remote_ip": "1.1.1.1", "dst_port": "1.1.1.1"})
    assert cfg.dst_port == 0 and "g: unknown gre argument 'dst_port'" in caplog.text
    assert cfg.describe() == "remote_ip=1.1.1.1"


def test_unspecified_address() -> None:
    """"::" parses but is no address: Open vSwitch refuses it as remote_ip and ignores it as local_ip (whose
    written family still counts)."""
    for type_ in ("vxlan", "gre"):
        with pytest.raises(NetdevError) as e:
            parse_tunnel_options("t", type_, {"remote_ip": "::"})
        assert str(e.value) == f"t: {type_} type requires valid 'remote_ip' argument"
    cfg = parse_tunnel_options("t", "vxlan", {"remote_ip": "fd00::1", "local_ip": "::"})
    assert cfg.local_ip is None and cfg.describe() == "remote_ip=fd00::1"
    with pytest.raises(NetdevError, match="has to be of the same address family"):
        parse_tunnel_options("t", "vxlan", {"remote_ip": "1.1.1.1", "local_ip": "::"})


def test_ipv4_mapped_addresses_are_ipv4() -> None:
    cfg = parse_tunnel_options("t", "vxlan", {"remote_ip": "::ffff:1.1.2.92", "local_ip": "::ffff:1.1.2.88"})
    assert not cfg.ipv6 and cfg.remote_ip == ipaddress.ip_address("1.1.2.92")
    assert cfg.local_ip == ipaddress.ip_address("1.1.2.88")
    assert cfg.describe() == "local_ip=1.1.2.88, remote_ip=1.1.2.92"
    # Open vSwitch compares the families as written: an IPv6-written remote and an IPv4 local do not go together.
    with pytest.raises(NetdevError, match="has to be of the same address family"):
        parse_tunnel_options("t", "vxlan", {"remote_ip": "::ffff:1.1.2.92", "local_ip": "1.1.2.88"})
    # Nor (pyvswitch) an IPv6 remote and a mapped local, which would be an IPv4 source for an IPv6 tunnel.
    with pytest.raises(NetdevError, match="has to be of the same address family"):
        parse_tunnel_options("t", "vxlan", {"remote_ip": "fd00::1", "local_ip": "::ffff:1.1.2.88"})
    with pytest.raises(NetdevError, match="multicast remote_ip=::ffff:224.1.1.1 not allowed"):
        parse_tunnel_options("t", "vxlan", {"remote_ip": "::ffff:224.1.1.1"})
    # It receives what the IPv4 remote sends.
    m = TunnelMap()
    p = TunnelPort("int-br", 2, "t", 4789, cfg)
    m.set_ports([p])
    assert m.receive(4789, _key(0, "1.1.2.92", "1.1.2.88")) == p


# -- receive mapping -----------------------------------------------------------------------------------------

def _port(name: str, ofport: int, dp: int, **options: str) -> TunnelPort:
    type_ = options.pop("type", "vxlan")
    return TunnelPort("int-br", ofport, name, dp, parse_tunnel_options(name, type_, options))


def _key(tun_id: int, src: str, dst: str, dp_port: int = 4789) -> int:
    k = F.storage_put(0, "in_port", dp_port)
    k = F.storage_put(k, "tun_id", tun_id)
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if s.version == 4:
        k = F.storage_put(F.storage_put(k, "tun_src", int(s)), "tun_dst", int(d))
    else:
        k = F.storage_put(F.storage_put(k, "tun_ipv6_src", int(s)), "tun_ipv6_dst", int(d))
    return F.storage_put(k, "tun_flags", TUN_FLAG_KEY)


def test_two_vports_on_one_port_by_key_and_remote() -> None:
    m = TunnelMap()
    a = _port("a", 2, 4789, remote_ip="1.1.2.92", key="456")
    b = _port("b", 4, 4789, remote_ip="1.1.2.93", key="456")
    c = _port("c", 5, 4789, remote_ip="1.1.2.92", key="789")
    d = _port("d", 7, 4790, remote_ip="1.1.2.92", key="789", dst_port="4790")
    m.set_ports([a, b, c, d])
    assert m.receive(4789, _key(456, "1.1.2.92", "1.1.2.88")) == a
    assert m.receive(4789, _key(456, "1.1.2.93", "1.1.2.88")) == b
    assert m.receive(4789, _key(789, "1.1.2.92", "1.1.2.88")) == c
    assert m.receive(4790, _key(789, "1.1.2.92", "1.1.2.88", 4790)) == d
    # An unknown key, an unknown remote, a port without vports: no vport.
    assert m.receive(4789, _key(1, "1.1.2.92", "1.1.2.88")) is None
    assert m.receive(4789, _key(456, "1.1.2.94", "1.1.2.88")) is None
    assert m.receive(4790, _key(456, "1.1.2.92", "1.1.2.88", 4790)) is None
    assert m.receive(6081, _key(456, "1.1.2.92", "1.1.2.88", 6081)) is None
    assert m.not_found == 3   # A datapath port without vports is not a tunnel port at all.


def test_most_specific_configuration_wins() -> None:
    m = TunnelMap()
    exact = _port("exact", 1, 4789, remote_ip="1.1.1.1", key="5", local_ip="1.1.1.100")
    any_local = _port("any_local", 2, 4789, remote_ip="1.1.1.1", key="5")
    flow_local = _port("flow_local", 3, 4789, remote_ip="flow", local_ip="flow", key="5")
    remote_flow = _port("remote_flow", 4, 4789, remote_ip="flow", key="5")
    key_flow = _port("key_flow", 5, 4789, remote_ip="1.1.1.1", key="flow")
    all_flow = _port("all_flow", 6, 4789, remote_ip="flow", key="flow")
    m.set_ports([all_flow, key_flow, remote_flow, flow_local, any_local, exact])
    assert m.receive(4789, _key(5, "1.1.1.1", "1.1.1.100")).name == "exact"
    assert m.receive(4789, _key(5, "1.1.1.1", "1.1.1.101")).name == "any_local"
    assert m.receive(4789, _key(5, "1.1.1.2", "1.1.1.101")).name == "remote_flow"
    assert m.receive(4789, _key(6, "1.1.1.1", "1.1.1.101")).name == "key_flow"
    assert m.receive(4789, _key(6, "1.1.1.2", "1.1.1.101")).name == "all_flow"
    m.set_ports([flow_local])
    assert m.receive(4789, _key(5, "1.1.1.2", "1.1.1.101")).name == "flow_local"


def test_ipv6_and_egress_mark() -> None:
    m = TunnelMap()
    v6 = _port("v6", 1, 4789, remote_ip="fd00::2", key="7")
    marked = _port("marked", 2, 4789, remote_ip="1.1.1.1", egress_pkt_mark="9")
    m.set_ports([v6, marked])
    assert m.receive(4789, _key(7, "fd00::2", "fd00::1")) == v6
    assert m.receive(4789, _key(7, "1.1.1.1", "1.1.1.2")) is None
    # egress_pkt_mark marks what the vport sends; it receives like any vport (decapsulated packets have mark 0),
    # as in Open vSwitch, whose receive match has no mark.
    assert m.receive(4789, _key(0, "1.1.1.1", "1.1.1.2")) == marked
    assert m.receive(4789, F.storage_put(_key(0, "1.1.1.1", "1.1.1.2"), "pkt_mark", 9)) == marked


def test_egress_mark_is_not_part_of_the_receive_match() -> None:
    """Two vports that differ only by a send-side option receive the same packets: duplicates."""
    plain = parse_tunnel_options("a", "vxlan", {"remote_ip": "1.1.1.1", "key": "5"})
    for extra in ({"egress_pkt_mark": "9"}, {"out_key": "6"}, {"tos": "0x20"}, {"ttl": "3"}):
        other = parse_tunnel_options("b", "vxlan", {"remote_ip": "1.1.1.1", "key": "5", **extra})
        assert other.receive_match() == plain.receive_match(), extra


def test_tunnel_destination_and_same_address() -> None:
    assert tunnel_destination(_key(5, "1.1.1.1", "1.1.1.2")) == ipaddress.ip_address("1.1.1.2")
    assert tunnel_destination(_key(5, "fd00::1", "fd00::2")) == ipaddress.ip_address("fd00::2")
    assert tunnel_destination(F.storage_put(0, "in_port", 1)) is None
    v4, mapped = ipaddress.ip_address("1.1.1.2"), ipaddress.ip_address("::ffff:1.1.1.2")
    assert same_address(v4, mapped) and same_address(None, None)
    assert not same_address(v4, None) and not same_address(v4, ipaddress.ip_address("1.1.1.3"))


def test_receive_wildcards() -> None:
    w = receive_wildcards(_key(5, "1.1.1.1", "1.1.1.2"))
    for name in ("tun_id", "tun_src", "tun_dst", "_tun_tos"):
        assert F.storage_get(w, name) == (1 << F.STORAGE[name][1]) - 1
    assert F.storage_get(w, "tun_flags") == 0b1110 and F.storage_get(w, "_tun_ttl") == 0
    assert F.storage_get(receive_wildcards(_key(5, "fd00::1", "fd00::2")), "tun_ipv6_dst")
    assert receive_wildcards(F.storage_put(0, "in_port", 1)) == 0


# -- send side -----------------------------------------------------------------------------------------------

def _inner(tos: int = 0, ttl: int = 64) -> int:
    k = F.storage_put(0, "dl_type", 0x0800)
    return F.storage_put(F.storage_put(k, "nw_tos", tos), "nw_ttl", ttl)


def test_send_params_configured() -> None:
    p = _port("t", 2, 4789, remote_ip="1.1.2.92", key="456", tos="0x20", ttl="10", csum="true",
              df_default="false")
    wc = Wildcards()
    sp = send_params(p, _inner(tos=0x01), wc)
    assert (sp.dst, sp.src, sp.key, sp.tos, sp.ttl, sp.df, sp.csum) == (
        ipaddress.ip_address("1.1.2.92"), None, 456, 0x21, 10, False, True)
    # Only the ECN bits were read.
    assert F.storage_get(wc.mask, "nw_tos") == 0x03 and not F.storage_get(wc.mask, "nw_ttl")


def test_send_params_inherit_and_ecn_ce() -> None:
    p = _port("t", 2, 4789, remote_ip="1.1.2.92", tos="inherit", ttl="inherit")
    wc = Wildcards()
    sp = send_params(p, _inner(tos=0xB8 | 0x03, ttl=7), wc)
    # Congestion experienced inside is ECT(0) outside.
    assert (sp.tos, sp.ttl) == (0xB8 | 0x02, 7)
    assert F.storage_get(wc.mask, "nw_tos") == 0xFF and F.storage_get(wc.mask, "nw_ttl") == 0xFF
    # Not IP: the configured defaults (inherit cannot apply).
    arp = F.storage_put(0, "dl_type", 0x0806)
    assert (send_params(p, arp, None).tos, send_params(p, arp, None).ttl) == (0, 64)


def test_send_params_from_flow() -> None:
    p = _port("t", 5, 6081, type="geneve", remote_ip="flow", key="flow")
    k = F.storage_put(F.storage_put(_inner(), "tun_dst", int(ipaddress.ip_address("1.1.2.92"))), "tun_id", 0x99)
    sp = send_params(p, k, Wildcards())
    assert (sp.dst, sp.key) == (ipaddress.ip_address("1.1.2.92"), 0x99)
    assert send_params(p, _inner(), None).dst is None
    gre = _port("g", 3, 3, type="gre", remote_ip="1.1.2.92")
    assert send_params(gre, _inner(), None).key is None
    vx = _port("v", 3, 4789, remote_ip="1.1.2.92")
    assert send_params(vx, _inner(), None).key == 0
    marked = _port("m", 3, 4789, remote_ip="1.1.2.92", egress_pkt_mark="3")
    wc = Wildcards()
    assert send_params(marked, _inner(), wc).pkt_mark == 3 and F.storage_get(wc.mask, "pkt_mark")


_OPTION_NAMES = ["remote_ip", "local_ip", "key", "in_key", "out_key", "dst_port", "tos", "ttl", "df_default",
                 "csum", "packet_type", "egress_pkt_mark", "exts", "bogus"]
_OPTION_VALUES = ["flow", "inherit", "1.1.1.1", "fd00::1", "224.0.0.1", "0", "-1", "0x10", "65536", "abc", "",
                  "true", "false", "legacy_l2", "legacy_l3", "ptap", "gbp", "99999999999999999999999", "9" * 5000,
                  "-" + "9" * 5000, "010", "0x", " 0x1f"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["vxlan", "geneve", "gre"]),
       st.dictionaries(st.sampled_from(_OPTION_NAMES), st.sampled_from(_OPTION_VALUES) | st.text(max_size=8)),
       st.none() | st.sampled_from(["1.1.1.1", "fd00::1", "flow"]))
def test_any_options_give_a_config_or_an_error(type_: str, options: dict[str, str], remote: str | None) -> None:
    """Bad configuration never raises anything but NetdevError, and a configuration that parses describes itself
    in a form that parses back to the same configuration (a valid remote_ip, mostly, so that most examples get
    that far)."""
    if remote is not None:
        options = {**options, "remote_ip": remote}
    try:
        cfg = parse_tunnel_options("t", type_, options)
    except NetdevError as e:
        assert str(e).startswith("t: ")
        return
    assert 0 <= cfg.tos <= 0xFC and 1 <= cfg.ttl <= 255
    assert 0 < cfg.dst_port < 65536 or type_ == "gre"
    if cfg.in_key_flow != cfg.out_key_flow and 0 in (cfg.in_key, cfg.out_key):
        return      # Open vSwitch describes a key of 0 and a flow key as key=0 (see test_options_as_open_vswitch).
    again = dict(kv.split("=", 1) for kv in cfg.describe().split(", ")) if cfg.describe() else {}
    assert parse_tunnel_options("t", type_, again) == cfg


def test_exts_gbp_is_described_and_parsed_back() -> None:
    cfg = parse_tunnel_options("t", "vxlan", {"remote_ip": "1.1.1.1", "exts": "gbp"})
    assert cfg.gbp and cfg.describe() == "exts=gbp, remote_ip=1.1.1.1"
    assert not parse_tunnel_options("t", "vxlan", {"remote_ip": "1.1.1.1"}).gbp
