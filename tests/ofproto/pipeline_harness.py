"""Run a pipeline scenario (tests/data/ofproto/pipeline/scenarios.py) against a switch daemon and return what
it observed, step by step, normalised so that two switches can be compared.

The same code drives the real Open vSwitch (``record.py`` writes its results as the expectations) and
pyvs-vswitchd (``tests/ofproto/test_pipeline.py``), only through the real command-line tools: ``ovs-vsctl`` on the
database socket, ``ovs-ofctl`` on the bridges' management sockets ``RUNDIR/BRIDGE.mgmt`` and ``ovs-appctl -t CTL``
on the daemon's control socket.

Datapath port numbers are replaced by port names in traces' ``Datapath actions:`` and in datapath flow dumps
(each switch's ``dpif/show`` gives its numbering), runs of consecutive outputs are sorted, and a flood that
changes VLAN tags between outputs becomes the set of ``port[tags;fields]`` it sends (``_vlan_flood_form``), so
that a difference in numbering or in the order a flood lists its ports (Open vSwitch's own order varies from
run to run) does not hide everything else; the ``dpif-show`` step compares the numbering itself.

A scenario is a dict: ``name``, ``doc``, ``setup`` (``ovs-vsctl`` argument lists; ``{dir}`` is replaced by the
scenario's own directory, where the dummy ports write their ``tx_pcap`` files, and ``{rundir}`` by the daemon's
run directory, the only place a ``punix:`` controller may listen), ``ofctl`` (setup ``ovs-ofctl``
argument lists, the bridge name given as the second word, e.g. ``["add-flow", "br0", "actions=drop"]``) and
``steps``, each a list whose first word says what to do:

=========================  ==========================================================================================
``trace BR FLOW [ARG..]``  ``ofproto/trace``; the whole text, recirculation ids normalised
``receive PORT PACKET``    ``netdev-dummy/receive`` (datapath flow syntax or hex); nothing recorded
``dump-dp``                ``revalidator/wait`` then ``dpctl/dump-flows``, as sorted lines, ``used:`` normalised
``dpif-show``              ``dpif/show`` as it is: port numbering and hit/missed counters
``del-dp``                 ``dpctl/del-flows``; nothing recorded
``tx PORT``                the frames (hex) written to ``PORT``'s ``tx_pcap`` since the last ``tx PORT``
``dump-flows BR [ARG..]``  ``revalidator/wait`` then ``ovs-ofctl dump-flows`` as sorted lines, times normalised
``fdb BR``                 ``fdb/show`` as sorted lines, ages normalised
``ofctl CMD BR ARG..``     any ``ovs-ofctl`` command (then ``revalidator/wait``); its output and status recorded
``vsctl ARG..``            ``ovs-vsctl``; its status recorded
``appctl ARG..``           any ``ovs-appctl`` command; its output and status recorded
``revalidate``             ``revalidator/wait``; nothing recorded (Open vSwitch fixes megaflows after MAC learning
                           in its revalidator threads: until then a packet may still hit the old megaflow)
``sleep SECONDS``          wait (hard timeouts)
``monitor BR [ARG..]``     start ``ovs-ofctl monitor`` on the bridge's management socket, or on ``unix:PATH`` (a
                           ``punix:`` controller; ``{rundir}`` replaced), in OpenFlow 1.0, miss_send_len 65535, ARGs
                           such as ``invalid_ttl`` added
``monitor-stop``           stop it; the messages it printed, echo traffic left out
=========================  ==========================================================================================
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

TIMEOUT = 20


@dataclass
class Daemon:
    """How to reach a switch daemon with the real tools."""

    rundir: str           # holds BRIDGE.mgmt
    db: str               # ovs-vsctl --db=
    ctl: str              # ovs-appctl -t
    env: dict[str, str] | None = None

    def run(self, cmd: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=TIMEOUT, check=False,
                              env=self.env)

    def vsctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(["ovs-vsctl", f"--db={self.db}", "--timeout=10", *args])

    def ofctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``args[0]`` is the command, ``args[1]`` the bridge (replaced by its management socket); options
        (``-O``, ``--strict``...) may come first."""
        a = list(args)
        i = 0
        while a[i].startswith("-"):
            i += 2 if a[i] == "-O" else 1
        a[i + 1] = f"unix:{self.rundir}/{a[i + 1]}.mgmt"
        return self.run(["ovs-ofctl", *a])

    def appctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(["ovs-appctl", "-t", self.ctl, *args])


@dataclass
class Run:
    daemon: Daemon
    dir: str
    pcap_seen: dict[str, int] = field(default_factory=dict)
    monitor: subprocess.Popen[str] | None = None
    ports: dict[str, str] = field(default_factory=dict)    # datapath port number -> port name

    def learn_ports(self) -> None:
        """Datapath port numbers from ``dpif/show`` (lines ``NAME OFPORT/ODPPORT: (TYPE)``)."""
        r = self.daemon.appctl("dpif/show")
        self.ports = {}
        for m in re.finditer(r"^\s+(\S+) [^/\s]+/(\d+):", r.stdout, re.MULTILINE):
            if m.group(2) != "0":
                self.ports[m.group(2)] = m.group(1)

    def name_ports(self, text: str, prefix: str) -> str:
        """In lines starting with ``prefix`` (or containing it), datapath port numbers become port names
        (``in_port(2)`` -> ``in_port(p2)``, output ``2`` -> ``p2``), and a run of consecutive plain outputs is
        sorted: numbering and the order of ports in a flood are a switch's own choices."""
        out = []
        flow_vlan = re.search(r"^Flow: .*\bdl_vlan=(\d+),dl_vlan_pcp=(\d+)", text, re.MULTILINE)
        for line in text.split("\n"):
            i = line.find(prefix)
            if i >= 0:
                head, body = line[:i + len(prefix)], line[i + len(prefix):]
                head = re.sub(r"in_port\((\d+)\)", lambda m: f"in_port({self.ports.get(m.group(1), m.group(1))})",
                              head)
                body = re.sub(r"(?:(?<=[:,(])|^)(\d+)(?=[,)]|$)",
                              lambda m: self.ports.get(m.group(1), m.group(1)), body)
                vlan = re.search(r"vlan\(vid=(\d+),pcp=(\d+)\)", head) or flow_vlan
                body = _sort_output_runs(body, set(self.ports.values()),
                                         f"vid={vlan.group(1)},pcp={vlan.group(2)}" if vlan else None)
                line = head + body
            out.append(line)
        return "\n".join(out)


class ScenarioError(Exception):
    """A setup command failed."""


_RECIRC = [(re.compile(r"recirc\(0x[0-9a-f]+\)"), "recirc(0xN)"),
           (re.compile(r"recirc_id\(0x[0-9a-f]*[1-9a-f][0-9a-f]*\)"), "recirc_id(0xN)"),
           (re.compile(r"recirc_id=0x[0-9a-f]+"), "recirc_id=0xN"),
           (re.compile(r"recirc_id=[1-9]\d*"), "recirc_id=N")]
_TIMES = [(re.compile(r"duration([=:])[0-9.]+s"), r"duration\1Xs"),
          (re.compile(r"(idle|hard)_age=\d+"), r"\1_age=X"),
          (re.compile(r"used:[0-9.]+s"), "used:Xs")]


def norm_recirc(text: str) -> str:
    for rx, rep in _RECIRC:
        text = rx.sub(rep, text)
    return text


def norm_times(text: str) -> str:
    for rx, rep in _TIMES:
        text = rx.sub(rep, text)
    return text


def sorted_lines(text: str, keep_first: bool = True) -> list[str]:
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    if keep_first and lines:
        return [lines[0], *sorted(lines[1:])]
    return sorted(lines)


def result(r: subprocess.CompletedProcess[str], daemon: Daemon) -> dict[str, Any]:
    """Status and output of a command; on failure the lines of its error output, the daemon's run directory
    (in socket names) spelled ``RUNDIR``."""
    out: dict[str, Any] = {"rc": r.returncode, "out": r.stdout}
    if r.returncode:
        out["err"] = r.stderr.replace(daemon.rundir, "RUNDIR").strip().splitlines()
    return out


def read_pcap(path: str) -> list[bytes]:
    """The frames of a pcap file (possibly still being written: a truncated last record is left out)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    if len(data) < 24:
        return []
    endian = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    frames = []
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        if off + 16 + incl > len(data):
            break
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


def _sort_output_runs(actions: str, names: set[str], vlan: str | None = None) -> str:
    """Sort each run of two or more consecutive top-level port-name outputs (``p3,br0,p2`` -> ``br0,p2,p3``);
    see also ``_vlan_flood_form``."""
    tail = ""
    if " " in actions:
        actions, tail = actions.split(" ", 1)[0], " " + actions.split(" ", 1)[1]
    form = _vlan_flood_form(actions, names, vlan)
    if form != actions:
        return form + tail
    parts = _split_top(actions)
    is_port = [p in names for p in parts]
    i = 0
    while i < len(parts):
        j = i
        while j < len(parts) and is_port[j]:
            j += 1
        if j - i > 1:
            parts[i:j] = sorted(parts[i:j])
        i = max(j, i + 1)
    return ",".join(parts) + tail


def _split_top(actions: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    cur = ""
    for ch in actions:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += (ch == "(") - (ch == ")")
        cur += ch
    parts.append(cur)
    return parts


def _vlan_flood_form(actions: str, names: set[str], vlan: str | None = None) -> str:
    """A flood over ports with different VLAN treatment (``push_vlan(vid=10,pcp=0),p4,pop_vlan,p2``) lists its
    outputs in the order the switch keeps its ports; the same packets go out in any order.  Such an action list
    (only outputs, ``push_vlan``, ``pop_vlan`` and ``set``, two outputs or more) becomes the sorted set of
    ``port[headers]``, the headers being the VLAN stack and fields set when the packet leaves; other lists stay.
    ``vlan`` is the received packet's tag (``vid=V,pcp=P``), so that popping it and pushing it back is the same
    as leaving it."""
    parts = _split_top(actions)
    if sum(p in names for p in parts) < 2 or not any(p == "pop_vlan" or p.startswith("push_vlan(") for p in parts):
        return actions
    vlans: list[str] = [vlan] if vlan else []
    sets: dict[str, str] = {}
    outs = []
    for p in parts:
        if p in names:
            outs.append(f"{p}[{'/'.join(vlans)}{';' if sets else ''}{';'.join(sets[k] for k in sorted(sets))}]")
        elif p == "pop_vlan":
            if vlans:
                vlans.pop()
            else:
                vlans.append("pop")
        elif p.startswith("push_vlan("):
            vlans.append(p[len("push_vlan("):-1])
        elif p.startswith("set(") and "(" in p[4:]:
            sets[p[4:p.index("(", 4)]] = p
        else:
            return actions
    return "{" + ",".join(sorted(outs)) + "}"


def settle(run: Run, stats: bool = False) -> None:
    """Let the daemon finish with the packets it was given: a control command goes through its main loop
    after them (``revalidator/wait`` when flow statistics must be up to date), then the pcap files must stop
    growing."""
    run.daemon.appctl("revalidator/wait" if stats else "list-commands")
    sizes: dict[str, int] = {}
    for _ in range(40):
        now = {}
        for name in os.listdir(run.dir):
            if name.endswith(".pcap"):
                now[name] = os.path.getsize(os.path.join(run.dir, name))
        if now == sizes:
            return
        sizes = now
        time.sleep(0.03)


def _step(run: Run, step: Sequence[str], expect: Any = None) -> Any:
    """Run one step; ``expect`` (its recorded result, when known) only tells how long to wait for frames."""
    d = run.daemon
    op, args = step[0], list(step[1:])
    if op == "trace":
        res = result(d.appctl("ofproto/trace", *args), d)
        res["out"] = run.name_ports(norm_recirc(res["out"]), "Datapath actions: ")
        return res
    if op == "receive":
        r = d.appctl("netdev-dummy/receive", *args)
        if r.returncode:
            raise ScenarioError(f"netdev-dummy/receive {args} failed: {r.stderr.strip()}")
        return None
    if op == "del-dp":
        d.appctl("dpctl/del-flows")
        return None
    if op == "dump-dp":
        settle(run, stats=True)
        r = d.appctl("dpctl/dump-flows")
        text = run.name_ports(norm_recirc(norm_times(r.stdout)), "actions:")
        return {"rc": r.returncode, "lines": sorted_lines(text, keep_first=False)}
    if op == "dpif-show":
        settle(run, stats=True)
        return result(d.appctl("dpif/show"), d)
    if op == "tx":
        settle(run)
        path = os.path.join(run.dir, f"{args[0]}.pcap")
        seen = run.pcap_seen.get(args[0], 0)
        deadline = time.monotonic() + 2
        while len(frames := read_pcap(path)) < seen + len(expect or []) and time.monotonic() < deadline:
            time.sleep(0.02)
        run.pcap_seen[args[0]] = len(frames)
        return [f.hex() for f in frames[seen:]]
    if op == "dump-flows":
        settle(run, stats=True)
        r = d.ofctl("dump-flows", *args)
        return {"rc": r.returncode, "lines": sorted_lines(norm_times(r.stdout))}
    if op == "fdb":
        r = d.appctl("fdb/show", *args)
        lines = [re.sub(r"\s+\d+$", " X", ln) for ln in r.stdout.splitlines()]
        return {"rc": r.returncode, "lines": sorted_lines("\n".join(lines))}
    if op == "ofctl":
        r = d.ofctl(*args)
        d.appctl("revalidator/wait")
        res = result(r, d)
        res["out"] = norm_times(res["out"])
        return res
    if op == "vsctl":
        r = d.vsctl(*args)
        d.appctl("revalidator/wait")
        run.learn_ports()
        return {"rc": r.returncode}
    if op == "appctl":
        return result(d.appctl(*args), d)
    if op == "revalidate":
        d.appctl("revalidator/wait")
        return None
    if op == "sleep":
        time.sleep(float(args[0]))
        return None
    if op == "monitor":
        env = dict(d.env or os.environ, OVS_RUNDIR=run.dir)
        target = args[0].replace("{rundir}", d.rundir) if args[0].startswith("unix:") else \
            f"unix:{d.rundir}/{args[0]}.mgmt"
        run.monitor = subprocess.Popen(["ovs-ofctl", "-O", "OpenFlow10", "monitor", target,
                                        "65535", *args[1:]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True, env=env)
        time.sleep(0.5)
        return None
    if op == "monitor-stop":
        settle(run)
        time.sleep(0.3)
        assert run.monitor is not None
        run.monitor.terminate()
        text = run.monitor.communicate(timeout=10)[0]
        run.monitor = None
        return _monitor_messages(text)
    raise ValueError(f"unknown step {op}")


def _monitor_messages(text: str) -> list[str]:
    msgs: list[str] = []
    for line in text.splitlines():
        if line.startswith((" ", "\t")) and msgs:
            msgs[-1] += "\n" + line.rstrip()
        else:
            msgs.append(line.rstrip())
    keep = [m for m in msgs if m and "ECHO" not in m and "OFPT_HELLO" not in m and "OFPT_FEATURES" not in m
            and "NXT_SET" not in m and "OFPT_SET_CONFIG" not in m and "fatal_signal" not in m]
    return [re.sub(r"\(xid=0x[0-9a-f]+\)", "(xid=X)", m) for m in keep]


def teardown(daemon: Daemon) -> None:
    """Delete every bridge."""
    r = daemon.vsctl("list-br")
    args: list[str] = []
    for br in r.stdout.split():
        args += ["--", "--if-exists", "del-br", br]
    if args:
        daemon.vsctl(*args[1:])


def _wait_mgmt(daemon: Daemon) -> None:
    """Wait (5 s at most) for every bridge's management socket.  Open vSwitch has them when ``ovs-vsctl``
    returns; pyvs-vswitchd may create them a moment later."""
    bridges = daemon.vsctl("list-br").stdout.split()
    deadline = time.monotonic() + 5
    while not all(os.path.exists(f"{daemon.rundir}/{br}.mgmt") for br in bridges) and time.monotonic() < deadline:
        time.sleep(0.02)


def run_scenario(daemon: Daemon, scenario: dict[str, Any], workdir: str,
                 on_step: Callable[[int, Any], None] | None = None, expected: list[Any] | None = None) -> list[Any]:
    """Set the scenario up on ``daemon`` (which must have no bridges), run its steps and return their results,
    one per step (``None`` for steps that record nothing).  ``on_step(i, result)`` sees each result as it comes,
    so a test can stop at the first difference.  The bridges are deleted at the end."""
    sdir = os.path.join(workdir, scenario["name"])
    os.makedirs(sdir, exist_ok=True)
    for name in os.listdir(sdir):
        os.unlink(os.path.join(sdir, name))
    run = Run(daemon, sdir)
    results: list[Any] = []
    try:
        for cmd in scenario["setup"]:
            r = daemon.vsctl(*[a.replace("{dir}", sdir).replace("{rundir}", daemon.rundir) for a in cmd])
            if r.returncode:
                raise ScenarioError(f"ovs-vsctl {cmd} failed: {r.stderr.strip()}")
        _wait_mgmt(daemon)
        for cmd in scenario.get("ofctl", []):
            r = daemon.ofctl(*cmd)
            if r.returncode:
                raise ScenarioError(f"ovs-ofctl {cmd} failed: {r.stderr.strip()}")
        run.learn_ports()
        for i, step in enumerate(scenario["steps"]):
            res = _step(run, step, expected[i] if expected and i < len(expected) else None)
            results.append(res)
            if on_step is not None:
                on_step(i, res)
    finally:
        if run.monitor is not None:
            run.monitor.kill()
            run.monitor.communicate(timeout=10)
        teardown(daemon)
    return results
