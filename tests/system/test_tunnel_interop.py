"""Interoperability of pyvswitch's native tunnels with other implementations, on real packets.

Hypervisor ``h1`` runs the switch under test (pyvs-vswitchd; Open vSwitch with ``PYVS_SYSTEM_SWITCH=ovs``,
which turns every test into a check of the harness against Open vSwitch itself); ``h2`` runs the peer:

* a Linux kernel VXLAN device (``ip link add vx0 type vxlan id 100 ...``) bridged to the guest by a Linux
  bridge: the kernel's header choices (UDP source port range, checksum off, no DF) must be accepted by
  pyvswitch, and pyvswitch's headers by the kernel;
* the real Open vSwitch (Debian's ``ovs-vswitchd``, userspace datapath, same ``br-int``/``br-phy`` layout)
  over VXLAN, GRE and Geneve, and Geneve with an option (``add-tlv-map``, set by a flow on one side and matched
  by a flow on the other, both ways).

Each test pings both ways (nothing else connects the guests) and runs iperf3 TCP for a second from the switch
under test's guest to the peer's.
"""

from __future__ import annotations

import pytest
from tunnel_topo import (
    GUEST_PORT,
    SWITCH_KIND,
    TUN_PORT,
    Guest,
    Hypervisor,
    Topo,
    assert_tcp,
    topo,
    tunnel_session,
)

__all__ = ["topo", "tunnel_session"]


def check_traffic(g1: Guest, g2: Guest) -> None:
    """Pings both ways, then TCP from the switch under test's guest to the peer's (so the peer's TCP
    acknowledgements cross the tunnel the other way)."""
    g1.ping_ok(g2)
    g2.ping_ok(g1)
    assert_tcp(g1, g2)


def test_kernel_vxlan(topo: Topo) -> None:
    h1, h2 = topo.hypervisor(SWITCH_KIND), topo.hypervisor("kernel")
    g1, g2 = h1.add_guest(1), h2.add_guest(1)
    h1.add_tunnel("t1", "vxlan", remote_ip=h2.ip, key=100)
    h2.kernel_vxlan("vx0", 100, h1.ip)
    check_traffic(g1, g2)
    # The kernel's VXLAN packets were decapsulated by the switch (and not, say, by the host's own stack).
    assert "tnl_pop(" in h1.appctl("dpctl/dump-flows").stdout


def geneve_option_flows(hv: Hypervisor, send: int, expect: int) -> None:
    """Flows that put ``send`` in Geneve option 0xffff/0x80 on the way out and take in only packets carrying
    ``expect`` in it."""
    hv.ofctl("add-tlv-map", "{class=0xffff,type=0x80,len=4}->tun_metadata0")
    hv.ofctl("del-flows")
    hv.ofctl("add-flow", f"in_port={GUEST_PORT},actions=set_field:{send:#x}->tun_metadata0,output:{TUN_PORT}")
    hv.ofctl("add-flow", f"in_port={TUN_PORT},tun_metadata0={expect:#x},actions=output:{GUEST_PORT}")


@pytest.mark.parametrize("case", ["vxlan", "gre", "geneve", "geneve-option"])
def test_open_vswitch(topo: Topo, case: str) -> None:
    type_ = case.split("-")[0]
    h1, h2 = topo.hypervisor(SWITCH_KIND), topo.hypervisor("ovs")
    guests = []
    for hv, other in ((h1, h2), (h2, h1)):
        guests.append(hv.add_guest(1, ofport=GUEST_PORT))
        hv.add_tunnel("t1", type_, ofport=TUN_PORT, remote_ip=other.ip, key=100)
    if case == "geneve-option":
        geneve_option_flows(h1, 0x1234, 0x5678)
        geneve_option_flows(h2, 0x5678, 0x1234)
    check_traffic(*guests)
    for hv in (h1, h2):
        flows = hv.appctl("dpctl/dump-flows").stdout
        assert "tnl_pop(" in flows and "tnl_push(" in flows, flows
    if case == "geneve-option":
        assert "geneve({class=0xffff,type=0x80,len=4,0x5678" in h1.appctl("dpctl/dump-flows").stdout
        assert "geneve({class=0xffff,type=0x80,len=4,0x1234" in h2.appctl("dpctl/dump-flows").stdout
