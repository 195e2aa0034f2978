"""The cases ``ofp_flow_stats_capture.py`` runs against a real Open vSwitch (see there).  Each case is
``(module, name, steps)``; a step is ``("sh", argv...)`` (run, not recorded: setup against br0),
``("run", argv[, stdin])`` (recorded; ``SOCK`` is the recording proxy), ``("monitor", argv, [actions])`` (argv runs
in the background while the actions run, then is stopped) or ``("sleep", seconds)``."""

from __future__ import annotations

V = ["OpenFlow10", "OpenFlow11", "OpenFlow12", "OpenFlow13", "OpenFlow14", "OpenFlow15"]
OF = "ovs-ofctl"

_SETUP = [
    ("sh", OF, "add-flow", "br0", ("priority=100,in_port=1,idle_timeout=1000,tcp,tp_dst=80,"
                                  "actions=mod_nw_dst:1.2.3.4,output:2")),
    ("sh", OF, "add-flow", "br0", "table=3,cookie=0xabc,priority=9,dl_vlan=5,actions=strip_vlan,resubmit(,4)"),
    ("sh", OF, "-O", "OpenFlow15", "add-flow", "br0",
     "table=4,importance=7,priority=1,ipv6,ipv6_src=::1,actions=ct(commit),goto_table:5"),
    ("sh", OF, "-O", "OpenFlow14", "add-flow", "br0",
     ("table=1,cookie=0x12,priority=5,ip,nw_src=10.0.0.0/8,hard_timeout=1000,importance=3,send_flow_rem,"
     "actions=drop")),
    ("sh", OF, "-O", "OpenFlow13", "add-flow", "br0",
     ("table=2,priority=7,check_overlap,reset_counts,no_packet_counts,no_byte_counts,idle_timeout=500,"
     "hard_timeout=900,actions=output:1")),
    ("sh", OF, "add-flow", "br0", ("table=5,priority=3,arp,arp_tpa=10.0.0.1,actions=controller,"
                                  "learn(table=6,hard_timeout=60,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:"
                                  "NXM_OF_IN_PORT[])")),
    ("sh", OF, "add-flow", "br0", ("table=5,priority=4,reg0=0x5/0xff,tun_id=0x77,actions=load:0x3->NXM_NX_REG1[],"
                                  "set_field:00:11:22:33:44:55->eth_src,output:3")),
    ("sh", "ovs-appctl", "netdev-dummy/receive", "p1",
     ("in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2,"
     "proto=6,tos=0,ttl=64,frag=no),tcp(src=1,dst=80)")),
    ("sleep", "1.2"),
]

_FILTERS = ["", "table=1", "out_port=2", "table=1,ip,nw_src=10.0.0.0/8,cookie=0x12/0xff", "cookie=0xabc/-1",
            "in_port=1,tcp", "table=3,out_port=2"]

_FS_STEPS: list[tuple] = list(_SETUP)
for _v in V:
    for _f in _FILTERS:
        _FS_STEPS.append(("run", [OF, "-O", _v, "--no-names", "dump-flows", "SOCK"] + ([_f] if _f else [])))
        _FS_STEPS.append(("run", [OF, "-O", _v, "--no-names", "dump-aggregate", "SOCK"] + ([_f] if _f else [])))
    _FS_STEPS.append(("run", [OF, "-O", _v, "--no-names", "--no-stats", "dump-flows", "SOCK"]))
_FS_STEPS.append(("run", [OF, "-O", "OpenFlow13,OpenFlow12", "--no-names", "dump-flows", "SOCK", "out_group=5"]))
_FS_STEPS.append(("run", [OF, "-O", "OpenFlow10", "-F", "openflow10", "--no-names", "dump-flows", "SOCK"]))
_FS_STEPS.append(("run", [OF, "-O", "OpenFlow10", "-F", "openflow10", "--no-names", "dump-aggregate", "SOCK",
                          "table=1,out_port=2,ip"]))
# Many flows: the reply is split over several messages flagged "more".
_MANY = "".join(f"table=10,priority={i},ip,nw_dst=10.1.{i // 256}.{i % 256},actions=output:2\n" for i in range(700))
_FS_STEPS.append(("sh", "sh", "-c", f"printf '%s' '{_MANY}' | {OF} add-flows br0 -"))
for _v in ("OpenFlow10", "OpenFlow13", "OpenFlow15"):
    _FS_STEPS.append(("run", [OF, "-O", _v, "--no-names", "dump-flows", "SOCK", "table=10"]))

_MON_ACTIONS = [
    [OF, "add-flow", "br0", "table=0,priority=60,in_port=1,actions=output:2"],
    [OF, "add-flow", "br0", "table=1,cookie=0x5,priority=61,ip,idle_timeout=50,hard_timeout=60,actions=drop"],
    [OF, "mod-flows", "br0", "table=0,in_port=1,actions=output:3"],
    [OF, "del-flows", "br0", "table=1,ip"],
    [OF, "del-flows", "br0", "table=0,in_port=1"],
]
_MON_STEPS: list[tuple] = [("sh", OF, "del-flows", "br0"), ("sh", OF, "add-flow", "br0", "priority=1,actions=drop")]
for _v in ("OpenFlow10", "OpenFlow13", "OpenFlow14", "OpenFlow15"):
    for _w in ("watch:", "watch:!initial", "watch:table=0,in_port=1", "watch:!actions,!add",
               "watch:out_port=2,!delete"):
        _MON_STEPS.append(("monitor", [OF, "-O", _v, "--no-names", "monitor", "SOCK", _w], _MON_ACTIONS))

_FLOWS = "table=0,priority=5,in_port=1,actions=output:2\ntable=0,priority=6,in_port=2,actions=output:1\n"
_BAD = "table=0,priority=7,actions=group:123\n"
_B_STEPS: list[tuple] = [("sh", OF, "del-flows", "br0")]
for _v in ("OpenFlow14", "OpenFlow13", "OpenFlow15"):
    _B_STEPS += [
        ("run", [OF, "-O", _v, "--no-names", "--bundle", "add-flows", "SOCK", "-"], _FLOWS),
        ("run", [OF, "-O", _v, "--no-names", "--bundle", "mod-flows", "SOCK", "in_port=1,actions=output:3"]),
        ("run", [OF, "-O", _v, "--no-names", "--bundle", "del-flows", "SOCK", "in_port=2"]),
        ("run", [OF, "-O", _v, "--no-names", "--bundle", "add-flows", "SOCK", "-"], _FLOWS + _BAD),
        ("run", [OF, "-O", _v, "--no-names", "--bundle", "replace-flows", "SOCK", "-"], _FLOWS),
        ("run", [OF, "-O", _v, "--no-names", "--bundle", "add-group", "SOCK", "group_id=1,type=all,bucket=output:1"]),
        ("run", [OF, "-O", _v, "--no-names", "--bundle", "del-flows", "SOCK"]),
        ("sh", OF, "-O", "OpenFlow13", "del-groups", "br0"),
    ]

_T_STEPS: list[tuple] = []
for _v in ("OpenFlow10", "OpenFlow13", "OpenFlow15"):
    _T_STEPS += [
        ("run", [OF, "-O", _v, "--no-names", "del-tlv-map", "SOCK"]),
        ("run", [OF, "-O", _v, "--no-names", "dump-tlv-map", "SOCK"]),
        ("run", [OF, "-O", _v, "--no-names", "add-tlv-map", "SOCK", "{class=0xffff,type=0,len=4}->tun_metadata0"]),
        ("run", [OF, "-O", _v, "--no-names", "add-tlv-map", "SOCK",
                 "{class=0x1,type=0x80,len=8}->tun_metadata3,{class=0x0102,type=255,len=124}->tun_metadata63"]),
        ("run", [OF, "-O", _v, "--no-names", "dump-tlv-map", "SOCK"]),
        ("run", [OF, "-O", _v, "--no-names", "add-tlv-map", "SOCK", "{class=0xffff,type=0,len=4}->tun_metadata0"]),
        ("run", [OF, "-O", _v, "--no-names", "add-tlv-map", "SOCK", "{class=0xffff,type=1,len=4}->tun_metadata0"]),
        ("run", [OF, "-O", _v, "--no-names", "add-tlv-map", "SOCK", "{class=0xffff,type=0,len=4}->tun_metadata1"]),
        ("run", [OF, "-O", _v, "--no-names", "add-tlv-map", "SOCK",
                 "{class=0xffff,type=9,len=4}->tun_metadata9,{class=0xffff,type=9,len=4}->tun_metadata10"]),
        ("run", [OF, "-O", _v, "--no-names", "add-tlv-map", "SOCK",
                 "{class=0xffff,type=9,len=4}->tun_metadata9,{class=0xffff,type=10,len=4}->tun_metadata9"]),
        ("run", [OF, "-O", _v, "--no-names", "add-tlv-map", "SOCK", "{class=0xffff,type=2,len=5}->tun_metadata5"]),
        ("run", [OF, "-O", _v, "--no-names", "add-tlv-map", "SOCK", "{class=0xffff,type=2,len=128}->tun_metadata5"]),
        ("run", [OF, "-O", _v, "--no-names", "add-tlv-map", "SOCK", "{class=0xffff,type=2,len=4}->tun_metadata64"]),
        ("run", [OF, "-O", _v, "--no-names", "add-tlv-map", "SOCK",
                 "{class=0x5,type=1,len=124}->tun_metadata20,{class=0x5,type=2,len=124}->tun_metadata21"]),
        ("run", [OF, "-O", _v, "--no-names", "del-tlv-map", "SOCK", "{class=0xffff,type=0,len=4}->tun_metadata7"]),
        ("run", [OF, "-O", _v, "--no-names", "del-tlv-map", "SOCK", "{class=0xffff,type=0,len=4}->tun_metadata0"]),
        ("run", [OF, "-O", _v, "--no-names", "dump-tlv-map", "SOCK"]),
        ("run", [OF, "-O", _v, "--no-names", "del-tlv-map", "SOCK", "{class=0xffff,type=0,len=4}->tun_metadata0"]),
        ("run", [OF, "-O", _v, "--no-names", "del-tlv-map", "SOCK"]),
        ("run", [OF, "-O", _v, "--no-names", "dump-tlv-map", "SOCK"]),
    ]

# A mapping that a flow uses cannot be deleted (NXTTMFC_INVALID_TLV_DEL).
for _v in ("OpenFlow10", "OpenFlow13"):
    _T_STEPS += [
        ("sh", OF, "del-flows", "br0"),
        ("run", [OF, "-O", _v, "--no-names", "add-tlv-map", "SOCK", "{class=0xffff,type=0,len=4}->tun_metadata0"]),
        ("sh", OF, "add-flow", "br0", "tun_metadata0=0x5,actions=drop"),
        ("run", [OF, "-O", _v, "--no-names", "del-tlv-map", "SOCK", "{class=0xffff,type=0,len=4}->tun_metadata0"]),
        ("run", [OF, "-O", _v, "--no-names", "del-tlv-map", "SOCK"]),
        ("sh", OF, "del-flows", "br0"),
        ("run", [OF, "-O", _v, "--no-names", "del-tlv-map", "SOCK", "{class=0xffff,type=0,len=4}->tun_metadata0"]),
        ("run", [OF, "-O", _v, "--no-names", "dump-tlv-map", "SOCK"]),
    ]

CASES: list[tuple[str, str, list[tuple]]] = [
    ("ofp_flow_stats", "flow-stats", _FS_STEPS),
    ("ofp_monitor", "monitor", _MON_STEPS),
    ("ofp_bundle", "bundle", _B_STEPS),
    ("ofp_tlv", "tlv", _T_STEPS),
]
