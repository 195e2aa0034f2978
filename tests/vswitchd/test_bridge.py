"""The reconciliation of desired state with the running switch, in process (no database)."""

from __future__ import annotations

from pyvswitch.vswitchd.bridge import OFPP_LOCAL, BridgeSpec, Desired, IfaceSpec, Switch


def _iface(name: str, type_: str = "dummy", req: int | None = None, db: int | None = None,
           options: tuple[tuple[str, str], ...] = ()) -> IfaceSpec:
    return IfaceSpec(f"u-{name}", name, type_, options, req, db)


def _want(*bridges: BridgeSpec) -> Desired:
    return Desired("root", 1, 0, 5.0, bridges)


def _ports(sw: Switch, br: str) -> dict[str, int]:
    return {n: i.ofport for n, i in sw.bridges[br].ifaces.items()}


def test_ofport_assignment_requests_persisted_and_lowest_free() -> None:
    sw = Switch()
    spec = BridgeSpec("ub", "br0", "dummy", (_iface("br0", "internal"), _iface("a"), _iface("b", req=1),
                                             _iface("c", db=7), _iface("d", req=70000)))
    sw.reconfigure(_want(spec))
    assert _ports(sw, "br0") == {"br0": OFPP_LOCAL, "a": 2, "b": 1, "c": 7, "d": 3}
    # Reconfiguring with the same state changes nothing; a new request takes its number from a port that holds
    # it without asking for it, and that port is renumbered.
    sw.reconfigure(_want(spec))
    assert _ports(sw, "br0") == {"br0": OFPP_LOCAL, "a": 2, "b": 1, "c": 7, "d": 3}
    spec2 = BridgeSpec("ub", "br0", "dummy", (_iface("br0", "internal"), _iface("a", db=2), _iface("b", req=1),
                                              _iface("c", db=7), _iface("d", req=7, db=3)))
    sw.reconfigure(_want(spec2))
    assert _ports(sw, "br0") == {"br0": OFPP_LOCAL, "a": 2, "b": 1, "c": 3, "d": 7}


def test_errors_and_removal() -> None:
    sw = Switch()
    # Dummy ports on a real datapath (no device is touched); a system port whose device does not exist, a tunnel
    # type pyvswitch does not have (stt), a VXLAN port without its remote and an unknown type are errors.
    spec = BridgeSpec("ub", "br0", "netdev", (_iface("br0", "dummy"), _iface("p1", "dummy"), _iface("p2", "stt"),
                                              _iface("p3", "bogus"), _iface("pvbnosuch4", ""), _iface("p5", "vxlan")))
    sw.reconfigure(_want(spec))
    ifaces = sw.bridges["br0"].ifaces
    assert ifaces["p1"].ofport == 1 and ifaces["p1"].error is None
    assert ifaces["p2"].ofport == -1 and "not support" in (ifaces["p2"].error or "")
    assert "Address family not supported" in (ifaces["p3"].error or "")
    assert ifaces["p5"].ofport == -1 and ifaces["p5"].error == "p5: vxlan type requires valid 'remote_ip' argument"
    assert ifaces["pvbnosuch4"].error == "could not open network device pvbnosuch4 (No such device)"
    # The same name in two bridges: the second is refused.
    other = BridgeSpec("uc", "br1", "dummy", (_iface("p1"),))
    sw.reconfigure(_want(spec, other))
    assert sw.bridges["br1"].ifaces == {} and sw.bridges["br0"].ifaces["p1"].ofport == 1
    sw.reconfigure(_want())
    assert sw.bridges == {}


def test_override_makes_every_port_dummy_and_rx_hook() -> None:
    sw = Switch(enable_dummy_override=True)
    sw.reconfigure(_want(BridgeSpec("ub", "br0", "system", (_iface("br0", ""), _iface("eth0", "")))))
    br = sw.bridges["br0"]
    assert br.ifaces["br0"].netdev is not None and br.ifaces["br0"].netdev.netdev_class == "dummy-internal"
    seen = []
    br.rx_hook = lambda b, i, f: seen.append((b.name, i.spec.name, f))
    dev = br.ifaces["eth0"].netdev
    assert dev is not None
    dev.receive(b"x" * 14)
    assert seen == [("br0", "eth0", b"x" * 14)] and br.rx_upcalls == 1
