"""Tunnel interfaces in the reconciliation of desired state with the running switch, in process (no database):
duplicate receive configurations, options that change or go bad, and bad input that must not stop the daemon.
The behaviour asserted is Open vSwitch 3.1's (vswitchd/bridge.c, ofproto/tunnel.c) unless a test says otherwise.
"""

from __future__ import annotations

import pytest

from pyvswitch.netdev.netdev_vport import VportNetdev
from pyvswitch.vswitchd.bridge import BridgeSpec, Desired, Iface, IfaceSpec, Switch

BR0 = IfaceSpec("u-br0", "br0", "internal", (), None, None)


def _want(*ifaces: IfaceSpec) -> Desired:
    return Desired("root", 1, 0, 5.0, (BridgeSpec("ub", "br0", "dummy", (BR0,) + ifaces),))


def _vx(name: str, ofport: int | None = None, **options: str) -> IfaceSpec:
    return IfaceSpec(f"u-{name}", name, "vxlan", tuple(options.items()), ofport, None)


def _ifaces(sw: Switch) -> dict[str, Iface]:
    return {n: i for n, i in sw.bridges["br0"].ifaces.items() if n != "br0"}


def _dup_error(name: str) -> str:
    return f"could not add network device {name} to ofproto (File exists)"


def test_vports_that_differ_only_by_egress_mark_are_duplicates() -> None:
    sw = Switch()
    sw.reconfigure(_want(_vx("a", 1, remote_ip="1.1.1.1", key="5"),
                         _vx("b", 2, remote_ip="1.1.1.1", key="5", egress_pkt_mark="9")))
    ifs = _ifaces(sw)
    assert ifs["a"].ofport == 1 and ifs["a"].error is None
    assert ifs["b"].ofport == -1 and ifs["b"].error == _dup_error("b")


def test_a_huge_number_in_the_options_does_not_stop_reconfiguration() -> None:
    """Thousands of digits used to raise ValueError out of Switch.reconfigure (Python's limit on int()), so the
    daemon retried the same configuration forever and applied nothing else."""
    sw = Switch()
    sw.reconfigure(_want(_vx("vx0", remote_ip="1.1.1.1")))
    sw.reconfigure(_want(_vx("vx0", remote_ip="1.1.1.1", ttl="9" * 5000, key="9" * 5000),
                         IfaceSpec("u-p1", "p1", "dummy", (), None, None)))
    ifs = _ifaces(sw)
    assert ifs["p1"].ofport > 0
    dev = ifs["vx0"].netdev
    assert isinstance(dev, VportNetdev) and (dev.config.ttl, dev.config.in_key) == (255, 2**64 - 1)


def test_any_exception_from_set_config_becomes_the_interface_error(monkeypatch: pytest.MonkeyPatch) -> None:
    sw = Switch()
    sw.reconfigure(_want(_vx("vx0", remote_ip="1.1.1.1")))

    def broken(self: VportNetdev, options: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(VportNetdev, "set_config", broken)
    sw.reconfigure(_want(_vx("vx0", remote_ip="1.1.1.2"), IfaceSpec("u-p1", "p1", "dummy", (), None, None)))
    ifs = _ifaces(sw)
    assert ifs["p1"].ofport > 0
    assert ifs["vx0"].error == "could not configure network device vx0 (boom)"


def test_bad_new_options_take_a_working_tunnel_down() -> None:
    """The new options are refused: the port must not keep tunnelling to its old remote.  Open vSwitch deletes
    the interface and fails to create it again (ofport -1, the error); new good options bring it back."""
    sw = Switch()
    sw.reconfigure(_want(_vx("vx0", 5, remote_ip="1.1.1.1", key="5")))
    assert _ifaces(sw)["vx0"].ofport == 5
    sw.reconfigure(_want(_vx("vx0", 5, remote_ip="224.1.1.1", key="5")))
    i = _ifaces(sw)["vx0"]
    assert (i.ofport, i.odp_port, i.netdev) == (-1, -1, None)
    assert i.error == "vx0: multicast remote_ip=224.1.1.1 not allowed"
    assert 5 not in sw.bridges["br0"].ofproto.ports
    # The same bad options again: nothing changes.  Good ones: the port is back, on its number.
    sw.reconfigure(_want(_vx("vx0", 5, remote_ip="224.1.1.1", key="5")))
    assert _ifaces(sw)["vx0"].ofport == -1
    sw.reconfigure(_want(_vx("vx0", 5, remote_ip="1.1.1.2", key="5")))
    i = _ifaces(sw)["vx0"]
    assert i.ofport == 5 and i.error is None and isinstance(i.netdev, VportNetdev)
    assert str(i.netdev.config.remote_ip) == "1.1.1.2" and 5 in sw.bridges["br0"].ofproto.ports


def test_bad_new_options_take_a_patch_port_down() -> None:
    sw = Switch()
    sw.reconfigure(_want(IfaceSpec("u-pa", "pa", "patch", (("peer", "pb"),), 3, None)))
    assert _ifaces(sw)["pa"].ofport == 3
    sw.reconfigure(_want(IfaceSpec("u-pa", "pa", "patch", (("peer", "pa"),), 3, None)))
    i = _ifaces(sw)["pa"]
    assert i.ofport == -1 and i.netdev is None and i.error == "pa: patch peer must not be self"


def test_a_duplicate_vport_is_added_once_the_conflict_is_gone() -> None:
    """Refused as a duplicate ("File exists"), a vport used to be tried again only when its own configuration
    changed; Open vSwitch tries every missing interface at each reconfiguration."""
    a, b = _vx("a", 1, remote_ip="1.1.1.1", key="6"), _vx("b", 2, remote_ip="1.1.1.1", key="6")
    sw = Switch()
    sw.reconfigure(_want(a, b))
    assert _ifaces(sw)["b"].ofport == -1 and _ifaces(sw)["b"].error == _dup_error("b")
    sw.reconfigure(_want(a, b))                 # Still a duplicate: still refused.
    assert _ifaces(sw)["b"].ofport == -1
    sw.reconfigure(_want(b))                    # ovs-vsctl del-port a
    i = _ifaces(sw)["b"]
    assert i.ofport == 2 and i.error is None and i.netdev is not None


def test_a_duplicate_vport_comes_back_when_the_other_changes_away() -> None:
    """The conflict may also go because the other vport's options change, in the same reconfiguration, whatever
    the order of the two."""
    sw = Switch()
    sw.reconfigure(_want(_vx("b", 2, remote_ip="1.1.1.1", key="6"), _vx("a", 1, remote_ip="1.1.1.1", key="6")))
    assert _ifaces(sw)["b"].ofport == 2 and _ifaces(sw)["a"].ofport == -1
    sw.reconfigure(_want(_vx("b", 2, remote_ip="1.1.1.1", key="7"), _vx("a", 1, remote_ip="1.1.1.1", key="6")))
    ifs = _ifaces(sw)
    assert (ifs["a"].ofport, ifs["a"].error, ifs["b"].ofport) == (1, None, 2)


def test_options_changed_into_a_duplicate_are_refused(caplog: pytest.LogCaptureFixture) -> None:
    """Changing a's key to b's used to put both in the tunnel map, a taking b's traffic.  Open vSwitch refuses
    to re-add a ("attempting to add tunnel port with same config") and b keeps receiving.  pyvswitch also
    takes a down with the error a new duplicate gets, until the conflict is gone."""
    sw = Switch()
    b = _vx("b", 2, remote_ip="1.1.1.1", key="6")
    sw.reconfigure(_want(_vx("a", 1, remote_ip="1.1.1.1", key="5"), b))
    sw.reconfigure(_want(_vx("a", 1, remote_ip="1.1.1.1", key="6"), b))
    ifs = _ifaces(sw)
    assert ifs["a"].ofport == -1 and ifs["a"].netdev is None and ifs["a"].error == _dup_error("a")
    assert ifs["b"].ofport == 2 and ifs["b"].netdev is not None
    assert "a: attempting to add tunnel port with same config as port 'b'" in caplog.text
    sw.reconfigure(_want(_vx("a", 1, remote_ip="1.1.1.1", key="6")))     # b deleted: a comes up
    assert _ifaces(sw)["a"].ofport == 1 and _ifaces(sw)["a"].error is None


def test_dst_port_change_into_a_duplicate_is_refused() -> None:
    """A vport moved to another shared datapath port (dst_port) where a vport with its match already is."""
    sw = Switch()
    b = _vx("b", 2, remote_ip="1.1.1.1", key="6", dst_port="4790")
    sw.reconfigure(_want(_vx("a", 1, remote_ip="1.1.1.1", key="6"), b))
    assert _ifaces(sw)["a"].ofport == 1
    sw.reconfigure(_want(_vx("a", 1, remote_ip="1.1.1.1", key="6", dst_port="4790"), b))
    assert _ifaces(sw)["a"].error == _dup_error("a") and _ifaces(sw)["b"].ofport == 2
