"""``pyvs-ofctl``'s switch commands against the real ``ovs-ofctl`` 3.1, on the same switch.

A session fixture starts a private Open vSwitch (``/work/shared/tools/ovs-reference start DIR dummy``) with one
bridge, ``pyofctl0`` (fixed datapath id and MAC, two dummy ports).  Each case is a *sequence* of command lines:
the sequence runs once with ``ovs-ofctl`` and once with ``pyvs-ofctl`` (in process, ``ofctl.run``), each time on a
bridge reset to the same state (no flows, groups, meters or TLV mappings, ports up), and every step must give the
same exit status, stdout and stderr, once these are normalized:

* the program name (``ovs-ofctl: `` and ``pyvs-ofctl: ``), the two columns of log lines that hold time and
  sequence number;
* what depends on timing: ``duration=1.234s``, ``duration:0.011s``, ``idle_age=3``, ``hard_age=3``.

Every command is run under OpenFlow 1.0, 1.3 and 1.5 (``-O``) where the command exists there, targeting the bridge
by name (``$PYVS_RUNDIR`` / ``$OVS_RUNDIR``) or by ``unix:`` address.

Every test runs twice: against a real Open vSwitch and against pyvswitch's own ``pyvs-vswitchd`` (both tools
then talk to our switch).  The switch side can also be given: with ``PYVS_OFCTL_SWITCH_RUNDIR=DIR`` the tests use the bridge ``pyofctl0`` whose
socket is ``DIR/pyofctl0.mgmt`` (pyvswitch's own daemon, say) instead of starting Open vSwitch; both tools then
talk to that switch.  That bridge needs the dummy ports ``pyofp1`` (OpenFlow port 1) and ``pyofp2`` (port 2), a
datapath id of 1 and the MAC aa:55:aa:55:00:01, and a second bridge ``pyofctl13`` limited to OpenFlow 1.3.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pyvswitch.cli import ofctl
from pyvswitch.util import vlog

OVS_REFERENCE = "/work/shared/tools/ovs-reference"
BRIDGE = "pyofctl0"
BRIDGE13 = "pyofctl13"  # a bridge that speaks only OpenFlow 1.3
VERSIONS = ["OpenFlow10", "OpenFlow13", "OpenFlow15"]


@dataclass
class Switch:
    rundir: str
    bridge: str
    env: dict[str, str]

    @property
    def sock(self) -> str:
        return f"unix:{self.rundir}/{self.bridge}.mgmt"


def _ovs(switch: Switch, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), env=switch.env, capture_output=True, text=True, check=check, input=stdin,
                          timeout=30)


def _setup_bridges(sw: Switch) -> None:
    _ovs(sw, "ovs-vsctl", "add-br", BRIDGE, "--", "set", "bridge", BRIDGE, "datapath_type=dummy",
         "other_config:datapath-id=0000000000000001", "other_config:hwaddr=aa:55:aa:55:00:01",
         "--", "add-port", BRIDGE, "pyofp1", "--", "set", "interface", "pyofp1", "type=dummy",
         "ofport_request=1",
         "--", "add-port", BRIDGE, "pyofp2", "--", "set", "interface", "pyofp2", "type=dummy",
         "ofport_request=2",
         "--", "add-br", BRIDGE13, "--", "set", "bridge", BRIDGE13, "datapath_type=dummy",
         "protocols=OpenFlow13")


@pytest.fixture(scope="session", params=["ovs", "pyvswitch"])
def switch(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Switch]:
    """The switch both tools talk to: a real Open vSwitch, then pyvswitch's own daemon."""
    given = os.environ.get("PYVS_OFCTL_SWITCH_RUNDIR")
    if given:
        env = dict(os.environ, OVS_RUNDIR=given, PYVS_RUNDIR=given)
        yield Switch(given, BRIDGE, env)
        return
    d = tmp_path_factory.mktemp(request.param)
    env = dict(os.environ)
    if request.param == "pyvswitch":
        proc = subprocess.Popen([sys.executable, "-m", "pyvswitch.vswitchd", "--rundir", str(d), "--no-fsync",
                                 "--enable-dummy=override", "--pidfile"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            env.update(OVS_RUNDIR=str(d), PYVS_RUNDIR=str(d), OVS_DBDIR=str(d))
            sw = Switch(str(d), BRIDGE, env)
            for _ in range(150):
                if (d / "db.sock").exists() and (d / "pyvs-vswitchd.pid").exists():
                    break
                time.sleep(0.1)
            _setup_bridges(sw)
            for _ in range(100):
                if (d / f"{BRIDGE}.mgmt").exists() and (d / f"{BRIDGE13}.mgmt").exists():
                    break
                time.sleep(0.1)
            yield sw
        finally:
            proc.terminate()
            proc.wait(10)
        return
    subprocess.run([OVS_REFERENCE, "start", str(d), "dummy"], check=True, capture_output=True, env=env, timeout=60)
    try:
        out = subprocess.run([OVS_REFERENCE, "env", str(d)], check=True, capture_output=True, text=True).stdout
        for k, v in re.findall(r"(\w+)=(\S+)", out):
            env[k] = v
        env["PYVS_RUNDIR"] = env["OVS_RUNDIR"]
        sw = Switch(env["OVS_RUNDIR"], BRIDGE, env)
        _setup_bridges(sw)
        yield sw
    finally:
        subprocess.run([OVS_REFERENCE, "stop", str(d)], check=False, capture_output=True, timeout=60)


def _reset(switch: Switch) -> None:
    """Bring the bridge back to its initial state: no flows (not even the NORMAL one), groups, meters or TLV
    mappings; every port up."""
    s = switch.sock
    _ovs(switch, "ovs-ofctl", "-O", "OpenFlow15", "del-flows", s)
    _ovs(switch, "ovs-ofctl", "-O", "OpenFlow15", "del-groups", s)
    _ovs(switch, "ovs-ofctl", "-O", "OpenFlow15", "del-meters", s, check=False)
    _ovs(switch, "ovs-ofctl", "del-tlv-map", s, check=False)
    _ovs(switch, "ovs-ofctl", "set-frags", s, "normal")
    for port in ("pyofp1", "pyofp2"):
        for mode in ("up", "flood"):
            _ovs(switch, "ovs-ofctl", "mod-port", s, port, mode)


_TIMING = [
    (re.compile(r"duration=\d+(\.\d+)?s"), "duration=Ns"),
    (re.compile(r"duration:\d+(\.\d+)?s"), "duration:Ns"),
    (re.compile(r"idle_age=\d+"), "idle_age=N"),
    (re.compile(r"hard_age=\d+"), "hard_age=N"),
    (re.compile(r"time=\d+\.\d+ ms"), "time=N ms"),
    # When versions do not match, Open vSwitch's client reports a broken pipe or, depending on timing, a
    # protocol error.
    (re.compile(r"failed to connect to socket \(Protocol error\)"), "failed to connect to socket (Broken pipe)"),
]


def normalize(text: str) -> str:
    """See the module's docstring.  Besides, the groups of one reply are sorted: a switch lists them in the
    order of its hash table, which need not survive deleting and re-adding them."""
    lines: list[str] = []
    for line in text.splitlines():
        line = vlog.strip_prefix(line)
        for prog in ("pyvs-ofctl: ", "ovs-ofctl: "):
            line = line.replace(prog, "PROG: ")
        for rx, repl in _TIMING:
            line = rx.sub(repl, line)
        lines.append(line)
    out: list[str] = []
    i = 0
    while i < len(lines):
        if lines[i].startswith((" group_id=", "group_id=")):
            j = i
            block: list[list[str]] = []
            while j < len(lines) and lines[j].startswith((" group_id=", "group_id=")):
                entry = [lines[j]]
                j += 1
                while j < len(lines) and lines[j].startswith("  ") and not lines[j].startswith(" group_id="):
                    entry.append(lines[j])
                    j += 1
                block.append(entry)
            for entry in sorted(block):
                out.extend(entry)
            i = j
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)


@dataclass
class Result:
    rc: int
    stdout: str
    stderr: str


def run_ovs(switch: Switch, argv: list[str], stdin: str | None) -> Result:
    p = _ovs(switch, "ovs-ofctl", *argv, check=False, stdin=stdin)
    return Result(p.returncode, normalize(p.stdout), normalize(p.stderr))


def run_ours(switch: Switch, argv: list[str], stdin: str | None, monkeypatch: pytest.MonkeyPatch) -> Result:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setenv("PYVS_RUNDIR", switch.env["PYVS_RUNDIR"])
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
    rc = ofctl.run(argv, out, err)
    return Result(rc, normalize(out.getvalue()), normalize(err.getvalue()))


def expand(step: str, switch: Switch, files: dict[str, Path]) -> list[str]:
    """A step is a command line, split on ``|`` (so that flows may hold spaces); ``{S}`` is the switch as a
    ``unix:`` address, ``{B}`` the bridge's name, ``{F:NAME}`` a file written for the case."""
    argv = []
    for a in step.split("|"):
        a = a.replace("{S}", switch.sock).replace("{B}", switch.bridge)
        a = re.sub(r"\{F:(\w+)\}", lambda m: str(files[m.group(1)]), a)
        argv.append(a)
    return argv


def check_sequence(switch: Switch, steps: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                   files: dict[str, str] | None = None, stdin: dict[int, str] | None = None,
                   reset: list[list[str]] | None = None) -> None:
    """Run ``steps`` with each tool on a freshly reset bridge (``reset``: more ovs-ofctl commands for that) and
    compare them step by step."""
    paths = {}
    for name, content in (files or {}).items():
        p = tmp_path / name
        p.write_text(content)
        paths[name] = p
    theirs, ours = [], []

    def full_reset() -> None:
        _reset(switch)
        for argv in reset or []:
            _ovs(switch, "ovs-ofctl", *[a.replace("{S}", switch.sock) for a in argv])

    full_reset()
    for i, step in enumerate(steps):
        theirs.append(run_ovs(switch, expand(step, switch, paths), (stdin or {}).get(i)))
    full_reset()
    for i, step in enumerate(steps):
        ours.append(run_ours(switch, expand(step, switch, paths), (stdin or {}).get(i), monkeypatch))
    bad = []
    for step, t, o in zip(steps, theirs, ours, strict=True):
        if (o.rc, o.stdout, o.stderr) != (t.rc, t.stdout, t.stderr):
            bad.append(f"step {step}\n--- ovs-ofctl (rc {t.rc})\n{t.stdout}\n{t.stderr}\n"
                       f"--- pyvs-ofctl (rc {o.rc})\n{o.stdout}\n{o.stderr}\n")
    assert not bad, "\n".join(bad)


# ------------------------------------------------------------------------------------------------------- cases


@pytest.mark.parametrize("version", VERSIONS)
def test_flows(switch: Switch, version: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    o = f"-O|{version}|"
    check_sequence(switch, [
        o + "add-flow|{S}|priority=5,ip,actions=drop",
        o + "add-flow|{B}|priority=6,tcp,tp_dst=80,actions=output:1",
        o + "add-flow|{S}|table=1,priority=7,in_port=2,actions=output:1",
        o + "add-flow|{S}|cookie=0x5,idle_timeout=50,udp,actions=output:2",
        o + "add-flow|{S}|tun_id=5,actions=drop",
        o + "dump-flows|{S}",
        o + "dump-flows|{B}|table=1",
        o + "dump-flows|{S}|--no-stats",
        o + "dump-flows|{S}|ip",
        o + "dump-flows|--no-names|{S}|ip",
        o + "mod-flows|--no-names|{S}|udp,actions=output:2",
        o + "dump-aggregate|--no-names|{S}|udp",
        o + "dump-flows|{S}|--sort",
        o + "dump-flows|{S}|--rsort",
        o + "dump-flows|{S}|--rsort=priority",
        o + "dump-flows|{S}|--sort=tp_dst",
        o + "dump-flows|{S}|--sort=in_port|--rsort=priority",
        o + "add-flow|{S}|priority=9,in_port=pyofp1,actions=output:pyofp2,output=pyofp1",
        o + "dump-flows|{S}|in_port=pyofp1",
        o + "dump-flows|{S}|out_port=pyofp2",
        o + "dump-aggregate|{S}|in_port=pyofp1",
        o + "dump-flows|{S}|--sort=nosuchfield",
        o + "dump-flows|nosuchbr|--sort=nosuchfield",
        o + "dump-aggregate|{S}",
        o + "dump-aggregate|{S}|table=1",
        o + "mod-flows|{S}|ip,actions=output:2",
        o + "mod-flows|--strict|{S}|priority=6,tcp,tp_dst=80,actions=drop",
        o + "dump-flows|{S}",
        o + "del-flows|{S}|tcp",
        o + "del-flows|--strict|{S}|priority=5,ip",
        o + "dump-flows|{S}|--no-stats",
        o + "del-flows|{S}",
        o + "dump-flows|{S}",
    ], monkeypatch, tmp_path)


@pytest.mark.parametrize("version", VERSIONS)
def test_flow_errors(switch: Switch, version: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    o = f"-O|{version}|"
    check_sequence(switch, [
        o + "add-flow|{S}|priority=6,tcp,actions=foo",
        o + "add-flow|{S}|priority=x,actions=drop",
        o + "add-flow|{S}|table=254,actions=drop",
        o + "add-flow|{S}|actions=group:9",
        o + "add-flow|{S}|actions=output:99",
        o + "add-flow|--no-names|{S}|priority=6,tcp,actions=foo",
        o + "dump-flows|{S}|foo=1",
        o + "add-flow|nosuchbr|actions=drop",
        o + "add-flow|--no-names|nosuchbr|actions=foo",
        o + "dump-flows|nosuchbr",
        o + "dump-flows|unix:/nonexistent/sock",
        o + "dump-flows|tcp:127.0.0.1:1",
        o + "dump-flows|{S}|in_port=1|extra",
        o + "mod-flows|{S}|priority=7,actions=drop",
        o + "del-flows|{S}|priority=7",
        o + "add-flow|{S}|reset_counts,actions=drop",
        o + "add-flow|{S}|actions=drop|extra",
    ], monkeypatch, tmp_path)


FLOWS_FILE = """\
# a comment
priority=1,actions=drop
priority=2,ip,actions=output:1   # trailing comment

table=2,priority=3,udp,actions=output:2
"""

FLOWS_FILE2 = """\
priority=1,actions=drop
priority=4,in_port=1,actions=output:2
table=2,priority=3,udp,actions=output:1
cookie=0x7,hard_timeout=9,tcp,tp_src=7,actions=drop
priority=8,arp,actions=output:2
"""

FLOWS_FILE3 = """\
priority=1,actions=drop
priority=2,ip,actions=output:1
table=2,priority=3,udp,actions=output:2
cookie=0x7,hard_timeout=9,importance=3,idle_timeout=5,tcp,tp_src=7,actions=drop
"""


@pytest.mark.parametrize("version", VERSIONS)
def test_flow_files(switch: Switch, version: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    o = f"-O|{version}|"
    check_sequence(switch, [
        o + "add-flows|{S}|{F:flows}",
        o + "dump-flows|{S}",
        o + "diff-flows|{S}|{F:flows}",
        o + "diff-flows|{F:flows}|{S}",
        o + "diff-flows|{F:flows}|{F:flows2}",
        o + "replace-flows|{S}|{F:flows2}",
        # Sorted: the switch lists flows of different masks in an order of its own, which varies from run to run.
        o + "dump-flows|{S}|--no-stats|--rsort",
        o + "diff-flows|{S}|{F:flows2}",
        o + "replace-flows|--readd|{S}|{F:flows2}",
        o + "dump-flows|{S}|--no-stats|--rsort",
        o + "add-flows|{S}|-",
        o + "dump-flows|{S}|--no-stats|--rsort",
        o + "diff-flows|{F:flows}|{F:flows3}",
        o + "diff-flows|{F:flows3}|{F:flows}",
        o + "diff-flows|{F:flows}|{F:flows}",
        o + "add-flows|{S}|{F:bad}",
        o + "add-flows|{S}|{F:refused}",
        o + "add-flows|{S}|/nonexistent/flows",
        o + "replace-flows|{S}|{F:bad}",
    ], monkeypatch, tmp_path,
        files={"flows": FLOWS_FILE, "flows2": FLOWS_FILE2, "flows3": FLOWS_FILE3,
               "bad": "priority=1,actions=drop\npriority=2,actions=bogus\n", "refused": BAD_FLOWS},
        stdin={10: "priority=9,actions=drop\ndelete priority=1\n"})


@pytest.mark.parametrize("version", VERSIONS)
def test_switch_and_ports(switch: Switch, version: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    o = f"-O|{version}|"
    check_sequence(switch, [
        o + "show|{S}",
        o + "show|{B}",
        o + "dump-desc|{S}",
        o + "dump-table-features|{S}",
        o + "dump-ports|{S}",
        o + "dump-ports|{S}|1",
        o + "dump-ports|{S}|pyofp2",
        o + "dump-ports-desc|{S}",
        o + "dump-ports-desc|{S}|2",
        o + "mod-port|{S}|pyofp1|down",
        o + "mod-port|{S}|2|no-flood",
        o + "dump-ports-desc|{S}",
        o + "mod-port|{S}|pyofp1|up",
        o + "mod-port|{S}|nosuch|up",
        o + "mod-port|{B}|nosuch|up",
        o + "mod-port|--no-names|{S}|pyofp1|up",
        o + "dump-ports|{B}|nosuch",
        o + "dump-ports|--no-names|{S}|pyofp1",
        o + "dump-ports-desc|{S}|nosuch",
        o + "queue-stats|{S}",
        o + "queue-stats|{S}|1|5",
        o + "queue-stats|{S}|pyofp1",
        o + "queue-stats|{S}|all|0",
        o + "queue-stats|{S}|nosuch",
        o + "queue-get-config|{S}",
        o + "queue-get-config|{S}|pyofp1",
        o + "queue-get-config|{S}|2|0",
        o + "queue-get-config|{S}|nosuch",
        o + "get-frags|{S}",
        o + "set-frags|{S}|drop",
        o + "get-frags|{B}",
        o + "set-frags|{S}|normal",
        o + "set-frags|{S}|bogus",
        o + "dump-table-desc|{S}",
        o + "ct-flush-zone|{S}|5",
        o + "ct-flush-zone|{S}|0x10",
        o + "ct-flush-zone|{S}|abc",
        o + "ct-flush-zone|{S}|70000",
        o + "mod-port|{S}|pyofp1|sideways",
        o + "probe|{S}",
        o + "ping|{S}",
        o + "ping|{B}|0",
        o + "ping|{S}|1000",
        o + "ping|{S}|abc",
        o + "ping|{S}|70000",
        o + "show|{S}|extra",
    ], monkeypatch, tmp_path)


@pytest.mark.parametrize("version", VERSIONS)
def test_dump_tables(switch: Switch, version: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    o = f"-O|{version}|"
    check_sequence(switch, [
        o + "add-flow|{S}|table=3,actions=drop",
        o + "dump-tables|{S}",
    ], monkeypatch, tmp_path)


def test_version_mismatch(switch: Switch, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    check_sequence(switch, [
        f"show|{BRIDGE13}",
        f"-O|OpenFlow10,OpenFlow11|dump-flows|{BRIDGE13}",
        f"-O|OpenFlow13|dump-flows|{BRIDGE13}",
        f"add-flow|{BRIDGE13}|actions=drop",
        "--timeout=abc|show|{S}",
        "-t|0|show|{S}",
        "--timeout=5|show|{S}",
        "show",
        "show|{S}|--bogus",
        "-O|OpenFlow99|show|{S}",
        "bogus-command|{S}",
        "-O|OpenFlow14|show|{S}",
        "-O|OpenFlow10,OpenFlow13|dump-flows|{S}",
        "-O|OpenFlow13|-F|openflow10|dump-flows|{S}",
        "-F|nxm|add-flow|{S}|ip,actions=drop",
        "-F|openflow10|add-flow|{S}|tun_id=1,actions=drop",
        "-F|openflow10|dump-flows|{S}",
        "-F|openflow10|add-flow|{S}|table=2,ip,actions=drop",
        "-F|openflow10|dump-flows|{S}|--sort",
        "-F|openflow10|dump-aggregate|{S}",
        "-F|nxm|dump-flows|{S}|--rsort",
        "-F|nxm|dump-flows|{S}|table=2",
        "-F|nxm+table_id|add-flow|{S}|table=3,actions=drop",
        "-O|OpenFlow13|-F|OXM-OpenFlow13|dump-flows|{S}|--no-stats",
    ], monkeypatch, tmp_path)


def test_ovs_ofctl_present() -> None:
    assert shutil.which("ovs-ofctl")


GROUPS_FILE = """\
group_id=10,type=all,bucket=output:1,bucket=output:2
add group_id=11,type=indirect,bucket=actions=output:2
"""


@pytest.mark.parametrize("version", VERSIONS)
def test_groups(switch: Switch, version: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    o = f"-O|{version}|"
    check_sequence(switch, [
        o + "add-group|{S}|group_id=5,type=select,bucket=output:1,bucket=output:2",
        o + "add-group|{S}|group_id=5,type=select,bucket=output:1",
        o + "add-group|{S}|group_id=6,type=ff,bucket=watch_port:1,output:1,bucket=watch_port:2,output:2",
        o + "add-groups|{S}|{F:groups}",
        o + "dump-groups|{S}",
        o + "dump-groups|{S}|5",
        o + "dump-groups|{S}|foo",
        o + "dump-group-stats|{S}",
        o + "dump-group-stats|{S}|group_id=6",
        o + "dump-group-stats|{S}|6",
        o + "dump-group-features|{S}",
        o + "mod-group|{S}|group_id=5,type=select,bucket=output:2",
        o + "mod-group|{S}|group_id=9,type=all,bucket=output:1",
        o + "add-flow|{S}|actions=group:5",
        o + "insert-buckets|{S}|group_id=5,command_bucket_id=last,bucket=bucket_id:7,output:1",
        o + "remove-buckets|{S}|group_id=5,command_bucket_id=7",
        o + "dump-groups|{S}|5",
        o + "add-group|{S}|group_id=7,type=foo",
        o + "add-group|{S}|group_id=8,type=all,bucket=output:pyofp2",
        o + "del-groups|{S}|group_id=5",
        o + "dump-groups|{S}",
        o + "del-groups|{S}",
        o + "dump-groups|{S}",
    ], monkeypatch, tmp_path, files={"groups": GROUPS_FILE})


@pytest.mark.parametrize("version", VERSIONS)
def test_meters(switch: Switch, version: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    o = f"-O|{version}|"
    check_sequence(switch, [
        o + "add-meter|{S}|meter=1,kbps,band=type=drop,rate=100",
        o + "add-meter|{S}|meter=1,kbps,band=type=drop,rate=100",
        o + "add-meter|{S}|meter=2,pktps,burst,stats,bands=type=drop,rate=10,burst_size=5",
        o + "add-meter|{S}|meter=3,kbps",
        o + "dump-meters|{S}",
        o + "dump-meters|{S}|meter=1",
        o + "dump-meter|{S}|meter=9",
        o + "meter-stats|{S}",
        o + "meter-stats|{S}|meter=2",
        o + "meter-features|{S}",
        o + "mod-meter|{S}|meter=1,kbps,band=type=drop,rate=200",
        o + "mod-meter|{S}|meter=7,kbps,band=type=drop,rate=200",
        o + "add-flow|{S}|actions=meter:1,drop",
        o + "del-meters|{S}|meter=1",
        o + "dump-meters|{S}",
        o + "del-meters|{S}",
        o + "dump-meters|{S}",
    ], monkeypatch, tmp_path)


@pytest.mark.parametrize("version", VERSIONS)
def test_tlv_map(switch: Switch, version: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    o = f"-O|{version}|"
    check_sequence(switch, [
        o + "add-tlv-map|{S}|{class=0xffff,type=0,len=4}->tun_metadata0",
        o + "add-tlv-map|{S}|{class=0xffff,type=0,len=4}->tun_metadata0",
        o + "add-tlv-map|{S}|{class=0xffff,type=1,len=8}->tun_metadata1,{class=0x1,type=2,len=4}->tun_metadata2",
        o + "dump-tlv-map|{S}",
        o + "add-tlv-map|{S}|bogus",
        o + "del-tlv-map|{S}|{class=0xffff,type=0,len=4}->tun_metadata0",
        o + "dump-tlv-map|{S}",
        o + "del-tlv-map|{S}",
        o + "dump-tlv-map|{S}",
    ], monkeypatch, tmp_path)


PACKET = "505400000007101111111111080045000028000000004006f97cc0a80001c0a800020008000a0000000000000000500200002e7d0000"
BAD_FLOWS = "priority=1,actions=drop\ntable=254,actions=drop\n"


@pytest.mark.parametrize("version", ["OpenFlow10", "OpenFlow13", "OpenFlow14", "OpenFlow15"])
def test_bundle(switch: Switch, version: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    o = f"-O|{version}|--bundle|"
    check_sequence(switch, [
        o + "add-flow|{S}|priority=5,actions=drop",
        o + "add-flows|{S}|{F:flows}",
        o + "add-flows|{S}|{F:bad}",
        o + "dump-flows|{S}|--no-stats",
        o + "add-group|{S}|group_id=1,type=all,bucket=output:1",
        o + "add-group|{S}|group_id=1,type=all,bucket=output:1",
        o + "mod-flows|{S}|actions=output:2",
        o + "replace-flows|{S}|{F:flows2}",
        # Sorted: the switch lists flows of different masks in an order of its own, which varies from run to run.
        o + "dump-flows|{S}|--no-stats|--rsort",
        o + "replace-flows|{S}|{F:bad}",
        o + "del-flows|{S}",
        o + "dump-flows|{S}",
    ], monkeypatch, tmp_path, files={"flows": FLOWS_FILE, "flows2": FLOWS_FILE2, "bad": BAD_FLOWS})


@pytest.mark.parametrize("version", VERSIONS)
def test_packet_out(switch: Switch, version: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    o = f"-O|{version}|"
    check_sequence(switch, [
        o + f"packet-out|{{S}}|in_port=1 packet={PACKET} actions=output:2",
        o + f"packet-out|{{S}}|in_port=controller packet={PACKET} actions=drop",
        o + f"packet-out|{{S}}|1|output:2|{PACKET}|{PACKET}",
        o + "packet-out|{S}|in_port=1 actions=drop",
        o + f"packet-out|{{S}}|in_port=1 packet={PACKET} actions=bogus",
        o + f"packet-out|{{S}}|in_port=1 packet={PACKET} actions=output:99",
        o + f"packet-out|{{S}}|in_port=1 packet={PACKET} actions=group:77",
    ], monkeypatch, tmp_path)


def _tx_packets(switch: Switch, port: str) -> int:
    out = _ovs(switch, "ovs-ofctl", "dump-ports", switch.sock, port).stdout
    m = re.search(r"tx pkts=(\d+)", out)
    assert m, out
    return int(m.group(1))


@pytest.mark.parametrize("version", VERSIONS)
def test_packet_out_sends(switch: Switch, version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The packets pyvs-ofctl sends do leave by the port their actions name."""
    before = _tx_packets(switch, "2")
    r = run_ours(switch, ["-O", version, "packet-out", switch.sock, "1", "output:2", PACKET, PACKET], None,
                 monkeypatch)
    assert (r.rc, r.stdout, r.stderr) == (0, "", "")
    assert _tx_packets(switch, "2") == before + 2


def test_monitor(switch: Switch) -> None:
    """``monitor`` under each version, both tools at once on the same switch, each with ``--timeout=6``: they see
    the same packet-ins and port-status messages, print them the same way and are stopped the same way."""
    _reset(switch)
    _ovs(switch, "ovs-ofctl", "add-flow", switch.sock, "priority=3,tcp,tp_dst=80,actions=output:1")
    _ovs(switch, "ovs-ofctl", "add-flow", switch.sock, "table=1,ip,actions=drop")
    cases = [["-O", "OpenFlow10", "monitor", switch.sock, "65000"],
             ["-O", "OpenFlow13", "monitor", switch.bridge, "100"],
             ["-O", "OpenFlow15", "monitor", switch.sock, "200"],
             ["-O", "OpenFlow13", "monitor", switch.sock],
             ["-O", "OpenFlow10", "monitor", switch.sock, "watch:ip", "watch:!initial,in_port=pyofp1"],
             ["-O", "OpenFlow13", "monitor", switch.sock, "100", "watch:tcp"],
             ["-O", "OpenFlow15", "monitor", switch.sock, "watch:table=1,!actions"]]
    procs = []
    for argv in cases:
        for tool in (["ovs-ofctl"], [sys.executable, "-m", "pyvswitch.cli.ofctl"]):
            procs.append(subprocess.Popen(tool + argv + ["--timeout=6"], env=switch.env, text=True,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    try:
        import time
        # Time for every monitor, Python's included, to start and set up its connection (a loaded machine may
        # need it all).
        time.sleep(3.5)
        _ovs(switch, "ovs-ofctl", "packet-out", switch.sock, f"in_port=1 packet={PACKET} actions=controller")
        _ovs(switch, "ovs-ofctl", "mod-port", switch.sock, "pyofp1", "down")
        _ovs(switch, "ovs-ofctl", "mod-port", switch.sock, "pyofp1", "up")
        _ovs(switch, "ovs-ofctl", "add-flow", switch.sock, "priority=4,in_port=1,tcp,actions=output:2")
        _ovs(switch, "ovs-ofctl", "del-flows", switch.sock, "table=1")
        results = []
        for p in procs:
            out, err = p.communicate(timeout=30)
            results.append(Result(p.returncode, normalize(out), normalize(err)))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for i, argv in enumerate(cases):
        theirs, ours = results[2 * i], results[2 * i + 1]
        assert theirs.rc == -14, theirs  # killed by SIGALRM
        assert ours == theirs, argv
    # The comparison is not vacuous: the monitors saw the packet-in, the port changes and the flow updates.
    assert "NXT_PACKET_IN2" in results[0].stderr and "OFPT_PORT_STATUS" in results[0].stderr
    assert "event=ADDED" in results[8].stdout and "event=ADDED" in results[8].stderr
    assert "event=DELETED" in results[8].stderr


def test_monitor_errors(switch: Switch, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    check_sequence(switch, [
        "-O|OpenFlow13|monitor|{S}|invalid_ttl",
        "monitor|{S}|bogus",
        "monitor|nosuchbr|bogus",
        "-O|OpenFlow13|monitor|nosuchbr|invalid_ttl",
        "monitor|{S}|watch:foo=bar",
        "monitor|nosuchbr",
        "snoop|nosuchbr",
    ], monkeypatch, tmp_path)
    # "snoop BRIDGE" on a bridge without a controller is not compared: Open vSwitch's own answer varies from run
    # to run (the switch accepts and closes the connection; ovs-ofctl reports a broken pipe or a reset, while
    # connecting or while opening).


def test_tcp_target(switch: Switch, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The switch as a ``tcp:`` address: a passive OpenFlow listener on the loopback for the test's duration."""
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _ovs(switch, "ovs-vsctl", "set-controller", switch.bridge, f"ptcp:{port}:127.0.0.1")
    try:
        import time
        for _ in range(50):
            if _ovs(switch, "ovs-ofctl", "probe", f"tcp:127.0.0.1:{port}", check=False).returncode == 0:
                break
            time.sleep(0.1)
        t = f"tcp:127.0.0.1:{port}"
        check_sequence(switch, [
            f"-O|OpenFlow13|add-flow|{t}|priority=5,ip,actions=drop",
            f"-O|OpenFlow13|dump-flows|{t}",
            f"add-flow|{t}|table=254,actions=drop",
            f"dump-ports-desc|{t}",
            f"probe|{t}",
        ], monkeypatch, tmp_path)
    finally:
        _ovs(switch, "ovs-vsctl", "del-controller", switch.bridge)


def test_names_in_output(switch: Switch, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    check_sequence(switch, [
        "add-flow|{S}|in_port=1,actions=output:2",
        "dump-flows|{S}|--names",
        "dump-flows|{S}|--names|--no-stats",
    ], monkeypatch, tmp_path)


def test_snoop(switch: Switch) -> None:
    """``snoop BRIDGE`` with both tools at once while a (fake) controller talks to the bridge: the same messages,
    printed the same way."""
    import socket
    import struct
    import threading
    import time
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    go = threading.Event()

    def controller() -> None:
        srv.settimeout(10)
        conn, _ = srv.accept()
        with conn:
            # HELLO at once (the switch gives up on a silent controller after a second), the rest once both
            # snoops listen.
            conn.sendall(struct.pack("!BBHI", 1, 0, 8, 100))
            go.wait(10)
            conn.sendall(struct.pack("!BBHI", 1, 5, 8, 101))                # FEATURES_REQUEST
            time.sleep(0.3)  # the echo request on its own: snoop prints it (and does not answer it)
            conn.sendall(struct.pack("!BBHI", 1, 2, 12, 102) + b"abcd")     # ECHO_REQUEST
            time.sleep(4)

    thread = threading.Thread(target=controller, daemon=True)
    thread.start()
    _ovs(switch, "ovs-vsctl", "set-controller", switch.bridge, f"tcp:127.0.0.1:{port}")
    procs = []
    try:
        time.sleep(0.5)
        for tool in (["ovs-ofctl"], [sys.executable, "-m", "pyvswitch.cli.ofctl"]):
            procs.append(subprocess.Popen(tool + ["snoop", switch.bridge, "--timeout=4"], env=switch.env, text=True,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        time.sleep(2.5)  # both snoops connected (before the switch's inactivity probe at 5 s: not printed)
        go.set()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=30)
            results.append(Result(p.returncode, normalize(out), normalize(err)))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        _ovs(switch, "ovs-vsctl", "del-controller", switch.bridge)
        go.set()
        srv.close()
    theirs, ours = results
    # (Open vSwitch also mirrors the echo request and its reply, which snoop prints without answering.)
    assert "OFPT_FEATURES_REPLY" in theirs.stderr, theirs
    assert ours == theirs


def test_substitute_port_names() -> None:
    from pyvswitch.cli.ofctl_switch import _substitute_port_names
    names = {1: "p1", 2: "p2", 0xFFFE: "br0", 3: "7"}
    assert (_substitute_port_names("in_port=p1,ip,actions=output:p2,enqueue(p1,3),output:br0", names)
            == "in_port=1,ip,actions=output:2,enqueue(1,3),output:65534")
    # Numbers, reserved names, unknown names and other keywords are left alone.
    assert (_substitute_port_names("in_port=7,out_port=LOCAL,actions=output:p9,set_field:p1->reg0", names)
            == "in_port=7,out_port=LOCAL,actions=output:p9,set_field:p1->reg0")
    assert _substitute_port_names("in_port=p1", {}) == "in_port=p1"


# Not OpenFlow 1.1: after a table-miss setting, ovs-ofctl's decoding of the table names it looks up logs
# "ofp_table|WARN|bad table miss config 3", which pyvs-ofctl does not imitate.
@pytest.mark.parametrize("version", ["OpenFlow10", "OpenFlow14", "OpenFlow15"])
def test_mod_table(switch: Switch, version: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    o = f"-O|{version}|"
    check_sequence(switch, [
        o + "mod-table|{S}|0|evict",
        o + "mod-table|{S}|1|vacancy:10,20",
        o + "mod-table|{S}|1|noevict",
        o + "dump-table-desc|{S}",
        o + "mod-table|{S}|1|novacancy",
        o + "mod-table|{S}|0|drop",
        o + "mod-table|{S}|2|continue",
        o + "mod-table|{S}|0|bogus",
        o + "mod-table|{S}|300|evict",
        o + "mod-table|{S}|abc|evict",
        o + "mod-table|{S}|0|vacancy:30,20",
        o + "mod-table|{S}|0|vacancy:abc",
        o + "mod-table|{S}|0|vacancy:10",
        o + "mod-table|{S}|0|vacancy:",
        o + "mod-table|{S}|0|vacancy:101,200",
        o + "dump-table-desc|{S}",
    ], monkeypatch, tmp_path, reset=[["-O", "OpenFlow14", "mod-table", "{S}", str(t), mode]
                                     for t in (0, 1) for mode in ("noevict", "novacancy")])
