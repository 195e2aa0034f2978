"""The tunnel control commands (``ovs/route/*``, ``tnl/neigh/*``, ``tnl/arp/*``, ``tnl/ports/show``,
``netdev-dummy/ip4addr|ip6addr``) against a transcript of Open vSwitch 3.1.

``tests/data/vswitchd/tnl_appctl_ovs31.txt`` was recorded by ``tnl_appctl_capture.sh`` (next to it) from a real
ovs-vswitchd in a network namespace with fixed devices and routes.  The replay builds the same state in process:
the kernel's routes and addresses as a route-monitor snapshot, the dummy bridge ``br0`` with its MAC, the tunnel
datapath ports in the order Open vSwitch created them, and then runs every recorded command through a unixctl
server with :class:`TunnelCommands` registered, expecting the same reply or error text.  ARP and Neighbor
Advertisement packets the transcript injected are extracted and given to the neighbour cache's snooping, as
translation does when NORMAL floods them to br0's own port.

``tnl/neigh/show`` lists entries in Open vSwitch's hash-table order, which is not modelled: its entry lines are
compared as sets (the header exactly).
"""

from __future__ import annotations

import ipaddress
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch.flow.extract import extract
from pyvswitch.flow.match import Wildcards
from pyvswitch.netdev.netdev_dummy import parse_packet
from pyvswitch.netdev.route_table import KernelLink, KernelRoute, Snapshot
from pyvswitch.ofproto.tnl_context import TnlContext
from pyvswitch.ofproto.tnl_ports import IPPROTO_GRE
from pyvswitch.vswitchd.tnlctl import TunnelCommands
from pyvswitch.vswitchd.unixctl import UnixctlServer

DATA = Path(__file__).parent.parent / "data" / "vswitchd" / "tnl_appctl_ovs31.txt"


class FakeDummy:
    def __init__(self, mac: str) -> None:
        self.mac = mac

    def get_etheraddr(self) -> str:
        return self.mac


class FakeSwitch:
    def __init__(self) -> None:
        self.lock = threading.RLock()


#: The kernel state tnl_appctl_capture.sh builds in its namespace, in the kernel's dump order.
CAPTURE_SNAPSHOT = Snapshot(
    routes=(
        KernelRoute(4, "0.0.0.0", 0, "pvBa", gw="192.0.2.1"),
        KernelRoute(4, "10.8.0.0", 16, "pvBa"),
        KernelRoute(4, "10.9.0.0", 16, "pvBa", gw="192.0.2.7", prefsrc="192.0.2.9"),
        KernelRoute(4, "192.0.2.0", 24, "pvBa", prefsrc="192.0.2.2"),
        KernelRoute(4, "127.0.0.0", 8, "lo", prefsrc="127.0.0.1", local=True, table=255),
        KernelRoute(4, "127.0.0.1", 32, "lo", prefsrc="127.0.0.1", local=True, table=255),
        KernelRoute(4, "192.0.2.2", 32, "pvBa", prefsrc="192.0.2.2", local=True, table=255),
        KernelRoute(4, "192.0.2.9", 32, "pvBa", prefsrc="192.0.2.2", local=True, table=255),
        KernelRoute(6, "fd00::", 64, "pvBa"),
        KernelRoute(6, "::", 0, "pvBa", gw="fd00::1"),
        KernelRoute(6, "::1", 128, "lo", local=True, table=255),
        KernelRoute(6, "fd00::2", 128, "pvBa", local=True, table=255),
    ),
    links={
        "lo": KernelLink("lo", 1, None, (("127.0.0.1", 8), ("::1", 128))),
        "pvBb": KernelLink("pvBb", 2, 0x02FC00000002, ()),
        "pvBa": KernelLink("pvBa", 3, 0x02FC00000001, (("192.0.2.2", 24), ("192.0.2.9", 24), ("fd00::2", 64))),
    },
)


def parse_transcript(text: str) -> list[tuple[str, list[str], list[str]]]:
    """("$", args, output lines) for a command, ("#", [packet], []) for an injected packet."""
    steps: list[tuple[str, list[str], list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            steps.append(("$", line[2:].split(), []))
        elif line.startswith("# receive "):
            steps.append(("#", [line[len("# receive "):]], []))
        elif line.startswith("#"):
            continue
        else:
            steps[-1][2].append(line)
    return steps


def make_daemon() -> tuple[UnixctlServer, TnlContext]:
    devices = {"br0": FakeDummy("aa:55:aa:55:00:00"), "p1": FakeDummy("aa:55:aa:55:00:01")}
    tnl = TnlContext()
    cmds = TunnelCommands(FakeSwitch(), tnl, devices.get)
    server = UnixctlServer()
    cmds.register(server)
    # Open vSwitch's port list is newest first: it created gre_sys, then genev, then the two VXLAN ports.
    tnl.ports.add(2, "gre_sys", IPPROTO_GRE, 0)
    tnl.ports.add(6081, "genev_sys_6081", 17, 6081)
    tnl.ports.add(4790, "vxlan_sys_4790", 17, 4790)
    tnl.ports.add(4789, "vxlan_sys_4789", 17, 4789)
    tnl.ports.add(4789, "vxlan_sys_4789", 17, 4789)
    tnl.apply_snapshot(CAPTURE_SNAPSHOT)
    return server, tnl


def normalise(cmd: list[str], lines: list[str]) -> list[str]:
    if cmd and cmd[0] in ("tnl/neigh/show", "tnl/arp/show"):
        return lines[:2] + sorted(lines[2:])
    return lines


def test_replay_transcript() -> None:
    replay(DATA.read_text())


def test_replay_notices_a_difference() -> None:
    """The replay is not vacuous: one changed character of Open vSwitch's output fails it."""
    text = DATA.read_text().replace("User: 1.1.20.0/24 dev br0 GW 1.1.2.2", "User: 1.1.20.0/24 dev br0 GW 1.1.2.3")
    with pytest.raises(AssertionError):
        replay(text)


def replay(text: str) -> None:
    server, tnl = make_daemon()
    steps = parse_transcript(text)
    assert len(steps) > 60
    n_commands = 0
    for kind, args, expected in steps:
        if kind == "#":
            frame = parse_packet(args[0])
            key = extract(frame, 1)
            tnl.neigh.snoop(key, "br0", Wildcards(), side_effects=True)
            continue
        n_commands += 1
        result, error = server.execute(args[0], args[1:])
        if error is not None:
            got = ["! " + x for x in error.rstrip("\n").split("\n")]
        else:
            assert result is not None
            got = result.rstrip("\n").split("\n") if result.rstrip("\n") else []
        assert normalise(args, got) == normalise(args, expected), " ".join(args)
    assert n_commands > 60


def test_route_add_src_extension() -> None:
    """``src=IP`` (later Open vSwitch releases) must be one of the device's addresses."""
    server, tnl = make_daemon()
    assert server.execute("netdev-dummy/ip4addr", ["br0", "1.1.2.88/24"]) == ("OK\n", None)
    assert server.execute("ovs/route/add", ["1.1.5.0/24", "br0", "1.1.2.1", "src=1.1.2.88"]) == ("OK\n", None)
    assert "User: 1.1.5.0/24 dev br0 GW 1.1.2.1 SRC 1.1.2.88" in tnl.router.show()
    assert server.execute("ovs/route/add", ["1.1.6.0/24", "br0", "1.1.2.1", "src=1.1.2.89"]) == \
        (None, "Error while inserting route.\n")
    assert server.execute("ovs/route/add", ["1.1.6.0/24", "br0", "src=zz"]) == (None, "Invalid src\n")


def test_route_changes_bump_generation_and_listening_devices() -> None:
    server, tnl = make_daemon()
    g = tnl.generation
    assert "aa:55:aa:55:00:00" not in tnl.ports.show(True)
    server.execute("netdev-dummy/ip4addr", ["br0", "1.1.2.88/24"])
    server.execute("ovs/route/add", ["1.1.2.0/24", "br0"])
    assert tnl.generation > g
    assert "eth(dst=aa:55:aa:55:00:00),eth_type(0x0800),ipv4(dst=1.1.2.88,proto=17" in tnl.ports.show(True)
    assert 0x01010258 in tnl.ports.endpoint_ipv4()
    # A new address of br0 replaces the old one in the listening entries.
    server.execute("netdev-dummy/ip4addr", ["br0", "1.1.2.99/24"])
    text = tnl.ports.show(True)
    assert "ipv4(dst=1.1.2.99," in text and "ipv4(dst=1.1.2.88," not in text
    g = tnl.generation
    assert server.execute("ovs/route/del", ["1.1.2.0/24"]) == ("OK\n", None)
    assert tnl.generation > g
    assert "aa:55:aa:55:00:00" not in tnl.ports.show(True)


def test_bad_arguments_never_raise() -> None:
    server, _ = make_daemon()
    for cmd, args in [("ovs/route/add", ["1.1.1.0/24", "br0", "1.1.1.1", "pkt_mark=1", "src=1.1.1.1", ]),
                      ("ovs/route/add", ["::/0", "br0", "::1", "pkt_mark=0x10"]),
                      ("ovs/route/add", ["1.1.1.1/", "br0"]), ("ovs/route/del", ["::/999"]),
                      ("ovs/route/lookup", ["::ffff:1.2.3.4"]), ("tnl/neigh/set", ["br0", "1.2.3", "0:0:0:0:0:1"]),
                      ("tnl/neigh/aging", ["-5"]), ("netdev-dummy/ip4addr", ["br0", "1.1.1.1/255.0.255.0"]),
                      ("netdev-dummy/ip4addr", ["br0", "1.1.1.1/x"]), ("netdev-dummy/ip6addr", ["br0", "::1/x"])]:
        _, error = server.execute(cmd, args)
        assert error is None or not error.startswith("internal error"), (cmd, args, error)


@pytest.mark.parametrize("mark,expected", [("pkt_mark=0x10", 16), ("pkt_mark=010", 8), ("pkt_mark=7", 7)])
def test_pkt_mark_is_read_like_scanf_i(mark: str, expected: int) -> None:
    server, tnl = make_daemon()
    server.execute("netdev-dummy/ip4addr", ["br0", "1.1.2.88/24"])
    assert server.execute("ovs/route/add", ["1.1.2.0/24", "br0", mark]) == ("OK\n", None)
    assert f"User: 1.1.2.0/24 MARK {expected} dev br0" in tnl.router.show()


#: Argument parsing edge cases, as a real Open vSwitch 3.1 answered them (``ovs-appctl`` by hand).
EDGE_CASES = [
    ("ovs/route/add", ["1.1.30.0/255.255.255.0", "br0", "1.1.2.1"], "OK\n", None),
    ("ovs/route/add", ["1.1.31.0/255.0.255.0", "br0", "1.1.2.1"], None, "Invalid parameters\n"),
    ("ovs/route/add", ["1.1.32.0/24", "br0", "1.1.2.1", "pkt_mark=-1"], "OK\n", None),
    ("ovs/route/add", ["1.1.34.0/24", "br0", "1.1.2.1", "pkt_mark=12abc"], "OK\n", None),
    ("ovs/route/add", ["1.1.35.0/24", "br0", "0.0.0.0"], None, "Error while inserting route.\n"),
    ("ovs/route/add", ["1.1.36.0/24", "br0", "pkt_mark=4", "1.1.2.1"], None, "Invalid pkt_mark\n"),
    ("ovs/route/add", ["1.1.37.0/24", "br0", "1.1.2.1", "pkt_mark=4", "extra"], None,
     '"ovs/route/add" command takes at most 4 arguments\n'),
    ("ovs/route/add", ["1.1.38.0", "br0", "1.1.2.1"], "OK\n", None),
    ("ovs/route/add", ["::ffff:1.1.39.0/120", "br0", "1.1.2.1"], None, "Invalid pkt_mark or IPv6 gateway\n"),
    ("ovs/route/add", ["1.1.40.0/24", "br0", "1.2.3"], None, "Invalid pkt_mark or gateway\n"),
    ("ovs/route/lookup", ["::ffff:1.1.2.5"], "src 1.1.2.88\ngateway ::\ndev br0\n", None),
    ("ovs/route/del", ["1.1.30.0/255.255.255.0"], "OK\n", None),
    ("ovs/route/del", ["1.1.2.0/24", "extra"], None, "Invalid pkt_mark\n"),
    ("tnl/neigh/set", ["br0", "1.2.3", "00:00:00:00:00:01"], None, "bad IP address\n"),
    ("tnl/neigh/set", ["br0", "::ffff:1.2.3.4", "00:00:00:00:00:01"], "OK\n", None),
    ("tnl/neigh/set", ["br0", "1.2.3.5", "0:0:0:0:0:1:2"], None, "bad MAC address\n"),
    ("tnl/neigh/set", ["br0", "1.2.3.6", "000:0:0:0:0:1"], "OK\n", None),
    ("tnl/neigh/set", ["br0", "1.2.3.7", "00:00:00:00:00:01:"], None, "bad MAC address\n"),
    ("tnl/neigh/aging", ["5x"], "OK\n", None),
    ("tnl/neigh/aging", ["+5"], "OK\n", None),
    ("tnl/neigh/aging", ["4294967297"], "OK\n", None),
    ("netdev-dummy/ip4addr", ["br0", "1.1.1.1/x"], None, "1.1.1.1/x: invalid IP address\n"),
    ("netdev-dummy/ip4addr", ["br0", "1.1.1.1/"], None, "1.1.1.1/: invalid IP address\n"),
    ("netdev-dummy/ip6addr", ["br0", "::1/x"], None, "::1/x: invalid IPv6 address\n"),
]


def test_edge_cases() -> None:
    server, tnl = make_daemon()
    assert server.execute("netdev-dummy/ip4addr", ["br0", "1.1.2.88/24"]) == ("OK\n", None)
    assert server.execute("ovs/route/add", ["1.1.2.0/24", "br0"]) == ("OK\n", None)
    for cmd, args, result, error in EDGE_CASES:
        assert server.execute(cmd, args) == (result, error), (cmd, args)
    show = tnl.router.show()
    assert "User: 1.1.32.0/24 MARK 4294967295 dev br0" in show and "User: 1.1.34.0/24 MARK 12 dev br0" in show
    assert "User: 1.1.38.0/32 dev br0 GW 1.1.2.1" in show and "1.1.30.0" not in show
    assert tnl.neigh.lookup("br0", "1.2.3.4") == 1 and tnl.neigh.lookup("br0", "1.2.3.6") == 1
    assert tnl.neigh.aging == 1


_WORDS = st.sampled_from(["br0", "p1", "nodev", "1.1.2.88/24", "1.1.2.0/24", "1.1.2.1", "::", "::1/128",
                          "2001:db8::88/64", "pkt_mark=", "pkt_mark=0x", "pkt_mark=-", "src=", "src=1.1.2.88",
                          "/", "//", "0:0:0:0:0:0", "-v", "0", "3600", "1.1.2.88/255.255.255.0", "ffff:", ""])
_ARG = st.one_of(_WORDS, st.text(max_size=24), st.builds(lambda a, b: a + b, _WORDS, _WORDS))


@settings(max_examples=400, deadline=None)
@given(cmd=st.sampled_from(["ovs/route/add", "ovs/route/del", "ovs/route/lookup", "ovs/route/show",
                            "tnl/neigh/set", "tnl/neigh/aging", "tnl/arp/set", "tnl/ports/show",
                            "netdev-dummy/ip4addr", "netdev-dummy/ip6addr"]),
       args=st.lists(_ARG, max_size=6))
def test_any_arguments_get_a_reply_not_an_internal_error(cmd: str, args: list[str]) -> None:
    server, tnl = FUZZ_DAEMON
    result, error = server.execute(cmd, args)
    assert (result is None) != (error is None)
    assert error is None or not error.startswith("internal error"), (cmd, args, error)
    tnl.router.show()
    tnl.ports.show(True)
    tnl.neigh.show()


FUZZ_DAEMON = make_daemon()


def test_route_source_is_chosen_for_the_destination_then_the_gateway() -> None:
    """As Open vSwitch 3.1 (checked against it): the address for the destination as typed, host bits and all;
    only when the device has none for it, the address for the gateway (more in tests/ofproto/test_router.py)."""
    server, tnl = make_daemon()
    run = server.execute
    assert run("netdev-dummy/ip4addr", ["br0", "1.1.2.88/24"]) == ("OK\n", None)
    # The gateway is off every subnet of br0, the destination is on one; and host bits set past the prefix.
    assert run("ovs/route/add", ["1.1.2.0/24", "br0", "9.9.9.1"]) == ("OK\n", None)
    assert run("ovs/route/add", ["1.1.2.92/16", "br0"]) == ("OK\n", None)
    show = tnl.router.show()
    assert "User: 1.1.2.0/24 dev br0 GW 9.9.9.1 SRC 1.1.2.88" in show
    assert "User: 1.1.0.0/16 dev br0 SRC 1.1.2.88" in show
    assert run("ovs/route/lookup", ["1.1.200.1"]) == ("src 1.1.2.88\ngateway ::\ndev br0\n", None)


def test_v4_mapped_route_prefixes_are_ipv4_routes() -> None:
    server, tnl = make_daemon()
    run = server.execute
    assert run("netdev-dummy/ip4addr", ["br0", "1.1.2.88/24"]) == ("OK\n", None)
    assert run("ovs/route/add", ["::ffff:1.1.2.0/120", "br0"]) == ("OK\n", None)
    assert run("ovs/route/add", ["::ffff:1.1.2.128/121", "br0", "::ffff:1.1.2.1"]) == ("OK\n", None)
    show = tnl.router.show()
    assert "User: 1.1.2.0/24 dev br0 SRC 1.1.2.88" in show and "User: 1.1.2.128/25 dev br0 GW 1.1.2.1" in show
    assert run("ovs/route/del", ["::ffff:1.1.2.0/120"]) == ("OK\n", None)
    assert "User: 1.1.2.0/24" not in tnl.router.show()


@pytest.mark.parametrize(("cmd", "args", "error"), [
    ("ovs/route/add", ["2001:db8:60::/48", "br0", "2001:db8::1%eth0"], "Invalid pkt_mark or IPv6 gateway\n"),
    ("ovs/route/add", ["2001:db8:63::%x/48", "br0"], "Invalid parameters\n"),
    ("ovs/route/lookup", ["2001:db8::5%x"], "Invalid parameters\n"),
    ("tnl/neigh/set", ["br0", "2001:db8::1%eth0", "1:2:3:4:5:6"], "bad IP address\n"),
    ("netdev-dummy/ip6addr", ["br0", "2001:db8::88%q/64"], "2001:db8::88%q/64: invalid IPv6 address\n"),
    ("ovs/route/add", ["1.1.2.0/24", "br0", "pkt_mark=0x"], "Invalid pkt_mark or gateway\n"),
])
def test_zone_ids_and_a_bare_hex_prefix_are_refused_as_open_vswitch_refuses_them(
        cmd: str, args: list[str], error: str) -> None:
    server, _ = make_daemon()
    assert server.execute("netdev-dummy/ip6addr", ["br0", "2001:db8::88/64"]) == ("OK\n", None)
    assert server.execute("netdev-dummy/ip4addr", ["br0", "1.1.2.88/24"]) == ("OK\n", None)
    assert server.execute(cmd, args) == (None, error)


def test_a_deleted_dummy_device_takes_both_its_addresses() -> None:
    tnl = TnlContext()
    tnl.set_dummy_address("br0", ipaddress.IPv4Interface("1.1.2.88/24"))
    tnl.set_dummy_address("br0", ipaddress.IPv6Interface("2001:db8::88/64"))
    tnl.forget_dummy("br0")
    assert tnl.dummy_addresses("br0") == [] and tnl.router.addresses("br0") == []


def test_addresses_and_macs_are_read_and_printed_as_open_vswitch_does() -> None:
    """Seen on Open vSwitch 3.1: leading zeros in dotted decimal, ``0x`` and blanks in MAC parts (scanf), and
    IPv4-compatible IPv6 addresses printed dotted (inet_ntop)."""
    server, tnl = make_daemon()
    run = server.execute
    assert run("netdev-dummy/ip4addr", ["br0", "01.1.2.88/24"]) == ("OK\n", None)
    assert run("ovs/route/add", ["001.1.2.0/24", "br0"]) == ("OK\n", None)
    assert "User: 1.1.2.0/24 dev br0 SRC 1.1.2.88" in tnl.router.show()
    assert run("tnl/neigh/set", ["br0", "1.1.2.5", "0x1:2:3:4:5:6"]) == ("OK\n", None)
    assert run("tnl/neigh/set", ["br0", "1.1.2.6", " 1:2:3:4:5:7"]) == ("OK\n", None)
    assert run("tnl/neigh/set", ["br0", "::1.2.3.4", "1:2:3:4:5:8"]) == ("OK\n", None)
    show = run("tnl/neigh/show", [])[0]
    assert show is not None
    assert "1.1.2.5" in show and "01:02:03:04:05:06" in show and "01:02:03:04:05:07" in show
    assert "::1.2.3.4 " in show and "::102:304" not in show
