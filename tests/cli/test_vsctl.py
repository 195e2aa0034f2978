"""``pyvs-vsctl`` side by side with the real ``ovs-vsctl``.

The main test starts two fresh copies of OUR ovsdb server on Unix sockets, runs the same scripted sequence of
commands (``SCRIPT``) through the real ``ovs-vsctl --no-wait`` against one and through ``pyvs-vsctl --no-wait``
(in process, for speed) against the other, and requires the same exit status, stdout and stderr for every
command.  Normalization: our program name reads as ``ovs-vsctl``; log lines are compared from the module on
(``module|LEVEL|message``); each distinct UUID becomes ``<uN>`` in order of first appearance in the transcript.

Rows in a set of references, and the rows that ``list``/``find`` print without naming a record, come in UUID order
(ours) or hash order (ovs-vsctl's), and UUIDs differ from run to run.  So commands marked ``~`` in the script are
compared as sorted lines with every UUID written ``<uuid>``.

The rest: unit tests of the value parser and printer, the command-line parser, the console entry point as a
subprocess (including ``--timeout`` ending the program with SIGALRM, exit 142 in the shell), and the wait for
``cur_cfg`` with a tiny fake daemon thread that copies ``next_cfg`` to ``cur_cfg``.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyvswitch.cli import vsctl
from pyvswitch.cli.vsctl_data import ValueError_, atom_to_string, datum_from_string, datum_to_string
from pyvswitch.db.client import Client
from pyvswitch.db.types import BaseType, Type

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "db"))
from db_helpers import ServerProc

ENV = dict(os.environ, PYTHONPATH=str(ROOT))

# One command line per entry; "~" in front marks an output compared as sorted lines with generic UUIDs.
SCRIPT = r"""
init
show
list-br
add-br br0
add-br br0
--may-exist add-br br0
add-br br1
add-br br1 br0
add-br fb br0 10
add-br fb2 br9 5
add-br fb2 br0 5000
add-br fb2 fb 5
--may-exist add-br fb br0 10
--may-exist add-br fb br0 11
--may-exist add-br br0 br1 3
list-br
--real list-br
--fake list-br
br-exists br0
br-exists fb
br-exists br9
br-to-vlan fb
br-to-vlan br0
br-to-parent fb
br-to-parent br1
br-to-vlan nosuch
add-port br0 p1
add-port br0 p1
add-port br0 br1
add-port br9 p2
add-port br0 p2 tag=5 other_config:a=b
add-port fb p3
add-port br0 p4 -- set interface p4 type=internal options:remote_ip=1.2.3.4 "external_ids:k=1"
add-port br0 p5 tag=x
add-port br0 p6 nosuchcolumn=1
add-bond br0 bond0 e1 e2 lacp=active
add-bond br0 bond1 e3
add-bond br0 bond2 e2 e4
--may-exist add-port br0 p1
--may-exist add-port br1 p1
list-ports br0
list-ports fb
list-ports br9
list-ifaces br0
list-ifaces fb
port-to-br p3
port-to-br p1
port-to-br nosuch
iface-to-br e1
iface-to-br fb
iface-to-br nosuch
~show
del-port nosuch
--if-exists del-port nosuch
del-port br1 p1
del-port br0
del-port fb p3
--with-iface del-port e2
--with-iface del-port nothere
list-ports br0
br-set-external-id br0 k1 v1
br-set-external-id fb k2 v2
br-get-external-id br0
br-get-external-id br0 k1
br-get-external-id fb
br-get-external-id fb k2
br-get-external-id br0 zz
br-set-external-id br0 k1
br-get-external-id br0
get-controller br0
set-controller br0 tcp:1.2.3.4:6653 ptcp:6654
get-controller br0
get-controller fb
del-controller br0
get-controller br0
set-controller fb tcp:5.6.7.8
get-controller br0
get-fail-mode br0
set-fail-mode br0 secure
set-fail-mode br0 bogus
get-fail-mode fb
del-fail-mode br0
get-fail-mode br0
get-manager
set-manager ptcp:6640 tcp:1.2.3.4:6640
get-manager
del-manager
get-manager
~list bridge br0
~list br br0 br1
list Port p1
list foo
list i
list bridge br9
--if-exists list bridge br9
~list port
--columns=name,tag list port p2 p1
--columns=name,tag --format=table list port p2 p1
--columns=name,other_config --format=csv list port p2
--columns=name,other_config,tag --format=json list port p2
--columns=name,other_config,tag --format=table --data=json list port p2
--columns=name,other_config,tag --data=bare list port p2
--columns=name,tag --no-headings --format=table list port p2
--bare --columns=name,tag list port p2
--columns=name,nosuch list port
~--columns=name find port tag=5
~--columns=name,tag find port tag!=5
~--columns=name find port tag>4
~--columns=name find port "other_config:a=b"
~--columns=name find port "other_config:a{!=}c"
~--columns=name find interface type=internal
~--columns=name find port "trunks{<=}1,2"
find port tag==5
get bridge br0 name
get bridge br0 name fail_mode datapath_id stp_enable other_config
get bridge br0 nosuch
get bridge br0 n
get bridge br0 name:x
get port p2 other_config:a
get port p2 other_config:zz
--if-exists get port p2 other_config:zz
--if-exists get bridge br9 name
get bridge br9 name
--id=@b get bridge br0
--if-exists --id=@b get bridge br0
~get Open_vSwitch . bridges
get interface p4 options
set bridge br0 stp_enable=true other_config:x=1 "other_config:y=a b"
get bridge br0 stp_enable other_config
set bridge br0 stp_enable=maybe
set bridge br0 fail_mode=bogus
set bridge br0 name=zz
set bridge br0 name
set bridge br0 flood_vlans=1,2,3
set bridge br0 flood_vlans=[]
set bridge br0 flood_vlans=10-12,20
get bridge br0 flood_vlans
set port p1 tag=4096
set interface p1 mtu_request=1.5
set interface p1 ingress_policing_rate=abc
set bridge br0 datapath_id=0000aabbccddeeff
get bridge br0 datapath_id
set bridge br0 "external_ids:true=false" "external_ids:e=\"quoted\""
get bridge br0 external_ids
--if-exists set bridge br9 stp_enable=true
set bridge br9 stp_enable=true
add bridge br0 flood_vlans 1 2
add bridge br0 flood_vlans 5000
add bridge br0 other_config x=2 z=3
get bridge br0 flood_vlans other_config
add bridge br0 name x
remove bridge br0 flood_vlans 1 11
remove bridge br0 other_config x z=4 y="a b"
get bridge br0 flood_vlans other_config
remove bridge br0 fail_mode
clear bridge br0 flood_vlans other_config
clear bridge br0 name
clear bridge br0 datapath_type
get bridge br0 flood_vlans other_config
create bridge name=zz
--id=@q create qos type=linux-htb other_config:max-rate=1000000 -- set port p1 qos=@q
get port p1 qos
list qos p1
--id=@x create qos type=a -- --id=@x create qos type=b
set port p1 qos=@nope
--id=@c create controller target="tcp:9.9.9.9" -- add bridge br1 controller @c
get-controller br1
--id=@c create controller target="tcp:9.9.9.8" -- set bridge br1 controller=@c -- --id=@b get bridge br1 -- get bridge br1 controller
list controller br1
destroy qos nosuch
--all destroy qos x
destroy bridge br1
list-br
clear port p1 qos
--all destroy qos
~list qos
wait-until bridge br0 name=br0
wait-until bridge br0
--oneline list-br -- list-ports br0 -- br-exists br0
--oneline get bridge br0 name -- --columns=name list port p1
list-br -- --bogus list-br
list-br --real
--foo list-br
bogus-cmd
add-br
add-br a b c d
add-br x y
set-fail-mode br0 foo
list-br -- add-br br5 -- list-br -- del-br br5 -- list-br
add-br br6 -- add-port br6 q1 -- add-bond br6 q2 q3 q4 -- list-ports br6
del-br br6
del-br fb
list-br
--if-exists del-br nosuch
del-br nosuch
emer-reset
~show
del-br br0
del-br br1
show
list-br
add-br br7
--oneline show
comment hello world
--dry-run add-br br8
list-br
add-br br8 -- set bridge br8 fail_mode=secure datapath_type=netdev -- set-controller br8 tcp:1.1.1.1 -- set-manager ptcp:6640
--fake-iface add-bond br8 bond8 a1 a2 bond_mode=balance-slb
--may-exist add-bond br8 bond8 a1 a2
--may-exist add-bond br8 bond8 a1 a3
add-br vl8 br8 8 -- add-port vl8 v81 -- add-port br8 v82 tag=8
list-ports vl8
list-ports br8
port-to-br v82
del-port br8 v81
del-port vl8 bond8
~show
set Open_vSwitch . external_ids:system-id=abc other_config:x=y
get Open_vSwitch . external_ids:system-id
list Open_vSwitch . --columns=external_ids
--columns=external_ids,other_config list Open_vSwitch .
--columns=name,bond_mode --format=json --pretty list port bond8
--columns=name,bond_mode --format=html list port bond8
--columns=name,bond_mode --format=xml list port bond8
--data=xml list port bond8
--columns=name,bond_fake_iface --format=csv --no-headings list port bond8
set interface a1 "external_ids:note=hello, world" "options:k=\"x y\""
--columns=external_ids,options --format=csv list interface a1
--columns=external_ids,options --format=table list interface a1
--columns=external_ids,options --bare list interface a1
--columns=name find interface "external_ids:note=\"hello, world\""
~--columns=name find port "tag{in}[8,9]"
~--columns=name find port "tag{not-in}8"
~--columns=name find port "tag{>=}8"
~--columns=name find bridge fail_mode=secure
--columns=name find bridge datapath_type=netdev stp_enable=false
--columns=name find bridge nosuch=1
--columns=name find bridge name
--id=@m create mirror name=m1 -- add bridge br8 mirrors @m
list mirror m1 --columns=name
--columns=name list mirror m1
get mirror m1 name
--id=@n create netflow targets=\"1.2.3.4:5566\" -- set bridge br8 netflow=@n
get netflow br8 targets
--id=@s create sflow targets=\"1.2.3.4:6343\" agent=eth0 -- set bridge br8 sflow=@s
get sflow br8 agent
get controller br8 target
get manager ptcp:6640 target
--id=@q create qos type=linux-htb queues:0=@q0 -- --id=@q0 create queue other_config:max-rate=10 -- set port bond8 qos=@q
get qos bond8 type
~list queue
--columns=other_config list queue
set port bond8 qos=[]
~--columns=type list qos
--id=@x set bridge br8 stp_enable=true
set bridge br8 other_config:a=1 -- --if-exists get bridge br8 other_config:a other_config:b
add bridge br8 protocols OpenFlow13 OpenFlow10
get bridge br8 protocols
add bridge br8 protocols OpenFlow99
set bridge br8 protocols=[OpenFlow10,OpenFlow10]
set interface a1 ofport_request=0
set interface a1 ofport_request=-1
set interface a1 ofport_request=5 mtu_request=9000 ingress_policing_rate=100
get interface a1 ofport_request mtu_request ingress_policing_rate
set bridge br8 other_config={}
set bridge br8 "other_config={a=1,b=2}"
get bridge br8 other_config
set bridge br8 "other_config:c=\"\""
get bridge br8 other_config:c
set bridge br8 "other_config=x"
set bridge br8 "other_config={a=1"
set bridge br8 "flood_vlans=[1,2"
set bridge br8 "flood_vlans=5-3"
set bridge br8 "flood_vlans=1-5000"
set bridge br8 "flood_vlans=0-4095"
set bridge br8 "flood_vlans=3-1"
set bridge br8 "flood_vlans=1-2-3"
set bridge br8 "flood_vlans=1 2]"
set bridge br8 "flood_vlans=[1 2]x"
set bridge br8 "other_config=x y"
set bridge br8 "other_config=a=1 x"
set bridge br8 "other_config=a="
set bridge br8 "external_ids:a=\"x"
set bridge br8 "external_ids:a=\"x\"y"
~--columns=name find port "tag{in}"
~--columns=name find port "tag>1,2"
set bridge br8 "external_ids:\"key with space\"=v"
get bridge br8 external_ids
get bridge br8 "external_ids:\"key with space\""
remove bridge br8 external_ids "\"key with space\""
get bridge br8 external_ids
wait-until bridge br8 fail_mode=secure stp_enable=false
wait-until Open_vSwitch . external_ids:system-id=abc
--timeout=5 --retry list-br
--no-syslog list-br
--format=table --bare list-br
br-exists vl8
del-br vl8
list-br
--if-exists del-port nosuch -- list-br
del-port nosuch -- list-br
--with-iface --if-exists del-port a1
list-ports br8
emer-reset
~show
~--columns=name,controller,fail_mode,mirrors,netflow,sflow,other_config list bridge
get-manager
--all destroy mirror
del-br br8
list-br
add-br br9 -- add-port br9 t1 -- add-port br9 t2
set port t1 qos=@q -- --id=@q create qos type=linux-hfsc
get qos t1 type
set port t1 qos=00000000-0000-0000-0000-000000000001
--id=@b create bridge name=br9 -- add Open_vSwitch . bridges @b
--id=@b get bridge br9 -- remove Open_vSwitch . bridges @b -- add Open_vSwitch . bridges @b
--id=@b get bridge br9 -- set bridge br9 other_config:x=@b
--id=b get bridge br9
--id=@p get port t2 -- --id=@m create mirror name=mm select_all=true output_port=@p -- add bridge br9 mirrors @m
--columns=name,select_all list mirror mm
--if-exists set bridge nosuch stp_enable=true -- --if-exists add bridge nosuch flood_vlans 1 -- --if-exists remove bridge nosuch flood_vlans 1 -- --if-exists clear bridge nosuch flood_vlans -- --if-exists destroy qos nosuch
add bridge nosuch flood_vlans 1
remove bridge nosuch flood_vlans 1
clear bridge nosuch flood_vlans
--with-iface del-port br9 t2
list-ports br9
add-port br9 t3 -- del-port t3 -- list-ports br9
del-br br9 -- list-br
~--format=table list qos
~--format=csv list qos
--format=json find qos type=linux-htb
~--format=html list qos
--format=json --columns=name find bridge name=nosuch
--no-headings --format=json --columns=name list bridge br7
--format=csv --data=json --columns=name,other_config,flood_vlans list bridge br7
--format=table --data=bare --columns=name,other_config,flood_vlans list bridge br7
--dry-run --columns=name list bridge br7
--oneline --format=table --columns=name,flood_vlans list bridge br7 -- list-br
--oneline --columns=name,flood_vlans list bridge br7 -- list-br
add-port br7 p0 -- add-bond br7 b1 e1 e2
add-bond-iface b1 e3
add-bond-iface b1 e3
--may-exist add-bond-iface b1 e3
add-bond-iface b1 p0
--may-exist add-bond-iface b1 p0
add-bond-iface nob e9
add-bond-iface
list-ifaces br7
del-bond-iface e3
del-bond-iface b1 e2
del-bond-iface b1 e1
del-bond-iface p0 p0
del-bond-iface nosuch
--if-exists del-bond-iface nosuch
del-bond-iface b1 p0
del-bond-iface nop e1
list-ifaces br7
get-ssl
set-ssl /a /b /c
get-ssl
--bootstrap set-ssl /a /b /d
get-ssl
--columns=bootstrap_ca_cert,ca_cert,certificate,private_key list ssl
get ssl . ca_cert
del-ssl
get-ssl
~list ssl
set-ssl /a /b
set Open_vSwitch . ovs_version="3.1.0" -- set interface e1 error="no such device" -- set-controller br7 tcp:1.2.3.4
set controller br7 is_connected=true -- set-manager ptcp:6640 -- set manager ptcp:6640 is_connected=true
set port b1 trunks=1,2,3 -- set interface e1 type=dummy options:a=b -- set bridge br7 datapath_type=netdev
~show
emer-reset
~show
--format=html --columns=_uuid,name,ports list bridge br7
"""


def script_lines() -> list[tuple[bool, list[str]]]:
    out = []
    for line in SCRIPT.strip().splitlines():
        unordered = line.startswith("~")
        out.append((unordered, shlex.split(line[1:] if unordered else line)))
    return out


UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LOG_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|\d+\|", re.MULTILINE)


ABBREV_RE = re.compile(r">[0-9a-f]{8}</a>")  # --format=html abbreviates UUIDs.
DETAILS_RE = re.compile(r'"details":"(?:[^"\\]|\\.)*"')


class Normalizer:
    def __init__(self, strip_details: bool = False) -> None:
        self.names: dict[str, str] = {}
        self.strip_details = strip_details

    def __call__(self, text: str, unordered: bool) -> str:
        text = LOG_RE.sub("", text.replace("pyvs-vsctl:", "ovs-vsctl:"))
        text = ABBREV_RE.sub(">abbrev</a>", text)
        if self.strip_details:
            text = DETAILS_RE.sub('"details":"..."', text)
        if unordered:
            return "\n".join(sorted(UUID_RE.sub("<uuid>", text).split("\n")))
        return UUID_RE.sub(lambda m: self.names.setdefault(m.group(0), f"<u{len(self.names)}>"), text)


def run_ours(remote: str, args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = vsctl.run([f"--db={remote}", "--no-wait", *args], out, err)
    return rc, out.getvalue(), err.getvalue()


def run_real(remote: str, args: list[str]) -> tuple[int, str, str]:
    cp = subprocess.run(["ovs-vsctl", f"--db={remote}", "--no-wait", *args], check=False, capture_output=True,
                        text=True, timeout=30)
    return cp.returncode, cp.stdout, cp.stderr


@contextlib.contextmanager
def two_servers(kind_b: str = "ours") -> Iterator[tuple[ServerProc, ServerProc]]:
    with tempfile.TemporaryDirectory() as tmp:
        a = ServerProc(os.path.join(tmp, "a")).start()
        try:
            b = ServerProc(os.path.join(tmp, "b"), kind=kind_b).start()
            try:
                yield a, b
            finally:
                b.stop()
        finally:
            a.stop()


@pytest.mark.parametrize("our_server", ["ours", "real"])
def test_side_by_side_with_ovs_vsctl(our_server: str) -> None:
    """ovs-vsctl against our server, and pyvs-vsctl against our server or Open vSwitch's ovsdb-server."""
    lines = script_lines()
    assert len(lines) >= 80
    # The two servers word the details of some transaction errors differently (pyvswitch's unique-index message
    # is ovsdb-server's older wording), so against ovsdb-server only the error itself is compared.
    norm_real, norm_ours = Normalizer(our_server == "real"), Normalizer(our_server == "real")
    diffs = []
    with two_servers(our_server) as (real_srv, our_srv):
        for unordered, args in lines:
            r = run_real(real_srv.remote, args)
            o = run_ours(our_srv.remote, args)
            rn = (r[0], norm_real(r[1], unordered), norm_real(r[2], unordered))
            on = (o[0], norm_ours(o[1], unordered), norm_ours(o[2], unordered))
            if rn != on:
                diffs.append(f"$ {shlex.join(args)}\n  ovs-vsctl: {rn!r}\n  pyvs-vsctl: {on!r}")
    assert not diffs, f"{len(diffs)} of {len(lines)} commands differ:\n" + "\n".join(diffs)


# ---- the value syntax ----

def T(key: str, value: str | None = None, n_min: int = 1, n_max: int = 1) -> Type:
    return Type(BaseType(key), BaseType(value) if value else None, n_min, n_max)


@pytest.mark.parametrize("type_,text,expect", [
    (T("string"), "br0", "br0"),
    (T("string"), '"a b"', '"a b"'),
    (T("string"), '"true"', '"true"'),
    (T("string"), "123", '"123"'),
    (T("integer", n_min=0, n_max=4096), "1,2 3", "[1, 2, 3]"),
    (T("integer", n_min=0, n_max=4096), "[3-5]", "[3, 4, 5]"),
    (T("integer", n_min=0, n_max=4096), "[]", "[]"),
    (T("integer", n_min=0, n_max=1), "7", "7"),
    (T("string", "string", 0, 1 << 31), "{a=b, c=\"d e\"}", '{a=b, c="d e"}'),
    (T("string", "string", 0, 1 << 31), "k=1 j=2", '{j="2", k="1"}'),
    (T("string", "string", 0, 1 << 31), "{}", "{}"),
    (T("boolean"), "true", "true"),
    (T("real"), "1.5", "1.5"),
    (T("uuid", n_min=0, n_max=4), "[01234567-89ab-cdef-0123-456789abcdef]",
     "[01234567-89ab-cdef-0123-456789abcdef]"),
])
def test_datum_round_trip(type_: Type, text: str, expect: str) -> None:
    d = datum_from_string(type_, text)
    assert datum_to_string(type_, d) == expect
    assert datum_from_string(type_, expect) == d


@pytest.mark.parametrize("type_,text,message", [
    (T("boolean"), "maybe", '"maybe" is not a valid boolean (use "true" or "false")'),
    (T("integer", n_min=0, n_max=4096), "1.5", '"1.5" is not a valid integer or range'),
    (T("uuid"), "xyz", '"xyz" is not a valid UUID'),
    (T("integer", n_min=0, n_max=4096), "1,1", "1,1: set contains duplicate value"),
])
def test_datum_errors(type_: Type, text: str, message: str) -> None:
    with pytest.raises(ValueError_) as e:
        datum_from_string(type_, text)
    assert str(e.value) == message


def test_symbols_in_values() -> None:
    d = datum_from_string(T("uuid", n_min=0, n_max=10), "@a,@b", {"@a": "1" * 8 + "-0000-0000-0000-" + "0" * 12,
                                                                  "@b": "2" * 8 + "-0000-0000-0000-" + "0" * 12}.get)
    assert len(d) == 2


def test_string_quoting() -> None:
    bt = BaseType("string")
    assert atom_to_string(bt, "a-b.c_d") == "a-b.c_d"
    assert atom_to_string(bt, "") == '""'
    assert atom_to_string(bt, "false") == '"false"'
    assert atom_to_string(bt, 'x"y') == '"x\\"y"'


def test_command_line_parser() -> None:
    opts, cmds = vsctl.parse_command_line(["--no-wait", "--may-exist", "add-br", "b", "--", "--id=@x", "get",
                                           "bridge", "b", "--", "list-br"])
    assert not opts.wait
    assert [(c.name, c.args, c.options) for c in cmds] == [
        ("add-br", ["b"], {"--may-exist": None}), ("get", ["bridge", "b"], {"--id": "@x"}), ("list-br", [], {})]
    with pytest.raises(vsctl.Fatal, match="'list-br' command has no '--all' option"):
        vsctl.parse_command_line(["--all", "list-br"])


# ---- the program as a subprocess, record names, wait-until and the wait for cur_cfg ----

def run_program(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pyvswitch.cli.vsctl", *args], check=False, capture_output=True,
                          text=True, env=ENV, timeout=30)


def test_entry_point_and_errors() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cp = run_program(f"--db=unix:{tmp}/none.sock", "list-br")
        assert cp.returncode == 1
        assert cp.stderr == (f"pyvs-vsctl: unix:{tmp}/none.sock: database connection failed "
                             "(No such file or directory)\n")
        with ServerProc(os.path.join(tmp, "s")) as srv:
            cp = run_program(f"--db={srv.remote}", "--no-wait", "add-br", "br0", "--", "br-exists", "br0")
            assert (cp.returncode, cp.stdout, cp.stderr) == (0, "", "")
            cp = run_program(f"--db={srv.remote}", "-vjsonrpc", "--verbose", "list-br")
            assert (cp.returncode, cp.stdout, cp.stderr) == (0, "br0\n", "")
            cp = run_program(f"--db={srv.remote}", "--timeout=1", "wait-until", "bridge", "br0", "stp_enable=true")
            assert cp.returncode == -14  # killed by SIGALRM, as ovs-vsctl is (142 in a shell)
            assert cp.stderr.endswith("|fatal_signal|WARN|terminating with signal 14 (Alarm clock)\n")


def test_uuid_prefixes_name_records() -> None:
    with tempfile.TemporaryDirectory() as tmp, ServerProc(os.path.join(tmp, "s")) as srv:
        assert run_ours(srv.remote, ["add-br", "br0", "--", "add-br", "br1"])[0] == 0
        u0 = run_ours(srv.remote, ["get", "bridge", "br0", "_uuid"])[1].strip()
        u1 = run_ours(srv.remote, ["get", "bridge", "br1", "_uuid"])[1].strip()
        common = os.path.commonprefix([u0, u1])
        prefix = u0[:max(4, len(common) + 1)]
        assert run_ours(srv.remote, ["get", "bridge", prefix, "name"]) == (0, "br0\n", "")
        assert run_ours(srv.remote, ["get", "bridge", u1.upper(), "name"]) == (0, "br1\n", "")
        assert run_ours(srv.remote, ["get", "bridge", u0[:3], "name"])[2] == \
            f'pyvs-vsctl: no row "{u0[:3]}" in table Bridge\n'
        if len(common) >= 4:
            assert "multiple rows" in run_ours(srv.remote, ["get", "bridge", common, "name"])[2]


def test_wait_until_waits_for_a_change() -> None:
    """wait-until reruns the command sequence after each change until its condition holds."""
    with tempfile.TemporaryDirectory() as tmp, ServerProc(os.path.join(tmp, "s")) as srv:
        assert run_ours(srv.remote, ["add-br", "br0"])[0] == 0
        proc = subprocess.Popen([sys.executable, "-m", "pyvswitch.cli.vsctl", f"--db={srv.remote}", "--no-wait",
                                 "--timeout=20", "wait-until", "bridge", "br0", "other_config:ready=yes", "--",
                                 "get", "bridge", "br0", "other_config:ready"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        try:
            with pytest.raises(subprocess.TimeoutExpired):
                proc.wait(1.0)
            assert run_ours(srv.remote, ["set", "bridge", "br0", "other_config:ready=no"])[0] == 0
            assert run_ours(srv.remote, ["set", "bridge", "br0", "other_config:ready=yes"])[0] == 0
            out, err = proc.communicate(timeout=20)
            assert (proc.returncode, out, err) == (0, "yes\n", "")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_concurrent_writers_do_not_lose_updates() -> None:
    """Eight clients add ports to one bridge at once: each run verifies Bridge.ports and retries if it changed."""
    with tempfile.TemporaryDirectory() as tmp, ServerProc(os.path.join(tmp, "s")) as srv:
        assert run_ours(srv.remote, ["add-br", "br0"])[0] == 0
        procs = [subprocess.Popen([sys.executable, "-m", "pyvswitch.cli.vsctl", f"--db={srv.remote}", "--no-wait",
                                   "--", "add-port", "br0", f"p{i}", "--", "add-port", "br0", f"q{i}"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
                 for i in range(8)]
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert (p.returncode, out, err) == (0, "", "")
        names = sorted([f"p{i}" for i in range(8)] + [f"q{i}" for i in range(8)])
        assert run_ours(srv.remote, ["list-ports", "br0"])[1] == "".join(n + "\n" for n in names)


def test_wait_for_cur_cfg() -> None:
    """Without --no-wait, the change increments next_cfg and the command waits until cur_cfg catches up."""
    with tempfile.TemporaryDirectory() as tmp, ServerProc(os.path.join(tmp, "s")) as srv:
        assert run_ours(srv.remote, ["init"])[0] == 0
        stop = threading.Event()

        def daemon() -> None:
            with Client(srv.remote) as c:
                rep = c.monitor("Open_vSwitch", {"Open_vSwitch": ["next_cfg", "cur_cfg"]})
                while not stop.is_set():
                    for u, row in rep.tables["Open_vSwitch"].items():
                        nxt = row["next_cfg"].keys[0]
                        if row["cur_cfg"].keys[0] != nxt:
                            c.transact_ok("Open_vSwitch", {"op": "update", "table": "Open_vSwitch",
                                                           "where": [["_uuid", "==", ["uuid", u]]],
                                                           "row": {"cur_cfg": nxt}})
                    c.run(0.1)

        t = threading.Thread(target=daemon)
        t.start()
        try:
            out, err = io.StringIO(), io.StringIO()
            rc = vsctl.run([f"--db={srv.remote}", "--timeout=20", "add-br", "br0", "--", "list-br"], out, err)
            assert (rc, out.getvalue(), err.getvalue()) == (0, "br0\n", "")
            # A command that changes nothing does not touch next_cfg and does not wait.
            rc = vsctl.run([f"--db={srv.remote}", "--timeout=20", "list-br"], out, err)
            assert rc == 0
            assert run_ours(srv.remote, ["get", "Open_vSwitch", ".", "next_cfg", "cur_cfg"])[1] == "1\n1\n"
        finally:
            stop.set()
            t.join(10)
