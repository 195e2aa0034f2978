"""``pyvs-vswitchd``: the switch daemon's command line, start-up and control commands.

    pyvs-vswitchd [--rundir DIR] [--db unix:PATH|tcp:IP:PORT] [--detach] [--pidfile[=FILE]] [--log-file[=FILE]]
                  [--enable-dummy[=override]] [-v|--verbose]

Without ``--db`` the daemon embeds the OVSDB server: ``DIR/conf.db`` (created from the Open_vSwitch schema when
missing, and its root record initialised as ``ovs-vsctl init`` does) served on ``punix:DIR/db.sock``.  With
``--db`` it uses an external server and changes nothing but what a switch writes.  The control socket is
``DIR/pyvs-vswitchd.ctl``.  SIGTERM, SIGINT and ``pyvs-appctl exit`` stop it cleanly: sockets and pidfile removed.

Threads: the main thread runs an asyncio loop with the embedded OVSDB server and the control socket; the bridge
thread (``bridge.BridgeRunner``) runs the database client and the reconciliation; the route monitor of native
tunnelling (started with the first non-dummy datapath, see ``datapath.DatapathWiring``) has a thread of its own.
Commands take the switch lock.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import logging
import os
import signal
import sys
import time
import zlib
from typing import Any

from pyvswitch import __version__ as _pkg_version
from pyvswitch.db.server import OvsdbServer
from pyvswitch.db.storage import FileStorage, StorageError
from pyvswitch.flow.extract import get_vlan_limit
from pyvswitch.netdev.netdev_dummy import DummyNetdev, parse_packet
from pyvswitch.schemas import schema_path
from pyvswitch.util import daemon, vlog

from .bridge import BridgeRunner, Switch
from .datapath import DatapathCommands, DatapathWiring
from .ofwire import OpenFlowWiring
from .tnlctl import TunnelCommands
from .unixctl import CommandError, UnixctlServer
from .vlogctl import VlogControl

log = logging.getLogger("pyvswitch.vswitchd")

PROGRAM = "pyvs-vswitchd"
CTL_NAME = f"{PROGRAM}.ctl"


def default_rundir() -> str:
    return os.environ.get("PYVS_RUNDIR") or "/var/run/pyvswitch"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROGRAM, description="The pyvswitch switch daemon.")
    p.add_argument("--rundir", default=None, metavar="DIR",
                   help="run directory (default $PYVS_RUNDIR or /var/run/pyvswitch)")
    p.add_argument("--db", default=None, metavar="REMOTE",
                   help="use the OVSDB server at unix:PATH or tcp:IP:PORT instead of the embedded one")
    p.add_argument("--detach", action="store_true", help="run in the background once started")
    p.add_argument("--pidfile", nargs="?", const="", default=None, metavar="FILE")
    p.add_argument("--log-file", nargs="?", const="", default="", metavar="FILE",
                   help="log file (default DIR/pyvs-vswitchd.log)")
    p.add_argument("--enable-dummy", nargs="?", const="override", default=None, metavar="override",
                   help="treat every datapath and port as dummy, as ovs-vswitchd --enable-dummy=override")
    p.add_argument("--no-fsync", action="store_true", help="embedded database: do not fsync each commit")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    rundir = os.path.abspath(args.rundir or default_rundir())
    try:
        os.makedirs(rundir, exist_ok=True)
    except OSError as e:
        print(f"{PROGRAM}: {rundir}: {e.strerror}", file=sys.stderr)
        return 1
    if args.db is not None and not (args.db.startswith("unix:") or args.db.startswith("tcp:")):
        print(f"{PROGRAM}: --db: {args.db}: must be unix:PATH or tcp:IP:PORT", file=sys.stderr)
        return 1
    pidfile = None if args.pidfile is None else os.path.abspath(args.pidfile or os.path.join(rundir, f"{PROGRAM}.pid"))
    log_file = os.path.abspath(args.log_file) if args.log_file else os.path.join(rundir, f"{PROGRAM}.log")

    ready_w = -1
    if args.detach:
        status, ready_w = daemon.detach()
        if status is not None:
            return status
    vlog.setup_daemon(log_file, console=True, verbose=args.verbose)
    # The daemon holds millions of objects (rules, megaflows, keys) and makes few reference cycles: the default
    # collection thresholds had the garbage collector walk them all every few thousand upcalls.
    gc.set_threshold(100_000, 50, 100)
    try:
        return asyncio.run(Daemon(args, rundir, pidfile, ready_w).run())
    except KeyboardInterrupt:
        return 0


def create_db(path: str) -> None:
    """Create ``path`` from the packaged Open_vSwitch schema (the root record is inserted by the bridge thread)."""
    with open(schema_path("vswitch")) as f:
        FileStorage.create(path, json.load(f))


class Daemon:
    def __init__(self, args: Any, rundir: str, pidfile: str | None, ready_w: int) -> None:
        self.args = args
        self.rundir = rundir
        self.pidfile = pidfile
        self.ready_w = ready_w
        self.switch = Switch(enable_dummy_override=args.enable_dummy == "override")
        self.server: OvsdbServer | None = None
        self.unixctl = UnixctlServer()
        self.stop = asyncio.Event()
        self.vlogctl = VlogControl(console="dbg" if args.verbose else "warn", file="dbg" if args.verbose else "info")
        self.started = time.monotonic()
        self.samples: collections.deque[tuple[float, dict[str, int]]] = collections.deque(maxlen=721)

    def _fail(self, msg: str) -> int:
        print(f"{PROGRAM}: {msg}", file=sys.stderr)
        log.error("%s", msg)
        daemon.notify_ready(self.ready_w, ok=False)
        return 1

    async def run(self) -> int:
        remote = self.args.db
        try:
            if remote is None:
                db_path = os.path.join(self.rundir, "conf.db")
                if not os.path.exists(db_path):
                    create_db(db_path)
                    log.info("%s: created from the Open_vSwitch schema", db_path)
                self.server = OvsdbServer()
                self.server.open_database(db_path, fsync=not self.args.no_fsync)
                sock = os.path.join(self.rundir, "db.sock")
                await self.server.add_remote(f"punix:{sock}")
                remote = f"unix:{sock}"
            self._register_commands()
            await self.unixctl.listen(os.path.join(self.rundir, CTL_NAME))
        except (StorageError, OSError, ValueError) as e:
            if self.server is not None:
                await self.server.close()
            msg = str(e) if not isinstance(e, OSError) or not e.strerror else f"{e.filename or ''}: {e.strerror}"
            return self._fail(msg)
        loop = asyncio.get_running_loop()
        self.openflow = OpenFlowWiring(self.switch, self.rundir, loop)
        self.datapath = DatapathWiring(self.switch, loop, self.openflow.connsets.get)
        DatapathCommands(self.datapath).register(self.unixctl)
        # Native tunnelling's commands (ovs/route/*, tnl/*, netdev-dummy/ip4addr...) on the daemon's TnlContext.
        TunnelCommands(self.switch, self.datapath.tnl, self._dummy_or_none).register(self.unixctl)
        runner = self.runner = BridgeRunner(self.switch, remote, init_root=self.args.db is None)
        runner.start()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, self.stop.set)
        # Report readiness once the configuration in the database has been applied (or after 10 s regardless,
        # for a database that cannot be reached yet); a signal meanwhile stops the daemon at once.
        deadline = loop.time() + 10.0
        while not runner.ready.is_set() and not self.stop.is_set() and loop.time() < deadline:
            await asyncio.sleep(0.02)
        if self.pidfile:
            daemon.write_pidfile(self.pidfile)
        if self.ready_w >= 0:
            daemon.notify_ready(self.ready_w)
            daemon.redirect_stdio()
        log.info("%s %s: started (pid %d)", PROGRAM, _pkg_version, os.getpid())
        sampler = asyncio.ensure_future(self._sample_coverage())
        await self.stop.wait()
        log.info("%s: exiting", PROGRAM)
        sampler.cancel()
        await loop.run_in_executor(None, runner.stop)
        self.datapath.close()
        await self.openflow.close()
        with self.switch.lock:
            for br in list(self.switch.bridges.values()):
                for iface in br.ifaces.values():
                    if iface.netdev is not None:
                        iface.netdev.close()
        await self.unixctl.close()
        if self.server is not None:
            await self.server.close()
        if self.pidfile:
            try:
                os.unlink(self.pidfile)
            except OSError:
                pass
        return 0

    # -- coverage -------------------------------------------------------------------------------------------------

    async def _sample_coverage(self) -> None:
        while True:
            with self.switch.lock:
                self.samples.append((time.monotonic(), dict(self.switch.coverage)))
            await asyncio.sleep(5.0)

    def _rate(self, name: str, now: float, window: float, total: int) -> float:
        """Events per second over the last ``window`` seconds (counted from start-up for a younger daemon)."""
        base = 0
        for t, counts in self.samples:
            if now - t <= window:
                base = counts.get(name, 0)
                break
        return (total - base) / window

    # -- commands -------------------------------------------------------------------------------------------------

    def _register_commands(self) -> None:
        r = self.unixctl.register
        r("version", "", 0, 0, lambda a: f"{PROGRAM} (pyvswitch) {_pkg_version}\n")
        r("exit", "[--cleanup]", 0, 1, self._cmd_exit)
        r("vlog/set", "[module[:destination[:level]]]...", 0, 1 << 16, self.vlogctl.set)
        r("vlog/list", "", 0, 0, self.vlogctl.list)
        r("memory/show", "", 0, 0, self._cmd_memory)
        r("coverage/show", "", 0, 0, self._cmd_coverage)
        r("ofproto/list", "", 0, 0, self._cmd_ofproto_list)
        r("netdev-dummy/receive", "name [--qid queue_id] packet|flow", 2, 1 << 16, self._cmd_receive)
        r("netdev-dummy/set-admin-state", "[netdev] up|down", 1, 2, self._cmd_set_admin_state)
        r("netdev-dummy/send", "name packet|flow... (pyvswitch only)", 2, 1 << 16, self._cmd_send)

    def _cmd_exit(self, args: list[str]) -> str:
        # Like ovs-vswitchd, any argument is accepted; --cleanup has nothing more to remove here, since bridges
        # and their ports live in memory only and the database keeps the configuration either way.
        asyncio.get_running_loop().call_soon(self.stop.set)
        return ""

    def _cmd_memory(self, args: list[str]) -> str:
        with self.switch.lock:
            n_ports = sum(len(b.ifaces) for b in self.switch.bridges.values())
            n_bridges = len(self.switch.bridges)
        return f"bridges:{n_bridges} idl-rows-Open_vSwitch:{self.runner.n_rows} ports:{n_ports}\n"

    def _cmd_coverage(self, args: list[str]) -> str:
        with self.switch.lock:
            counts = dict(self.switch.coverage)
        names = sorted(counts)
        h = zlib.crc32(" ".join(names).encode())
        lines = [f"Event coverage, avg rate over last: 5 seconds, last minute, last hour,  hash={h:08x}:"]
        now = time.monotonic()
        for n in names:
            t = counts[n]
            lines.append(f"{n:<24} {self._rate(n, now, 5, t):5.1f}/sec {self._rate(n, now, 60, t):9.3f}/sec "
                         f"{self._rate(n, now, 3600, t):13.4f}/sec   total: {t}")
        never = sum(1 for k in ("bridge_reconfigure", "iface_error", "netdev_received", "netdev_sent")
                    if k not in counts)
        lines.append(f"{never} events never hit")
        return "\n".join(lines) + "\n"

    def _cmd_ofproto_list(self, args: list[str]) -> str:
        with self.switch.lock:
            return "".join(f"{n}\n" for n in sorted(self.switch.bridges))

    def _dummy_or_none(self, name: str) -> DummyNetdev | None:
        iface = self.switch.iface(name)
        return iface.netdev if iface is not None and isinstance(iface.netdev, DummyNetdev) else None

    def _dummy(self, name: str) -> DummyNetdev:
        iface = self.switch.iface(name)
        if iface is None or not isinstance(iface.netdev, DummyNetdev):
            raise CommandError("no such dummy netdev")
        return iface.netdev

    def _packets(self, args: list[str], ofctl_syntax: bool = False) -> list[bytes]:
        frames = []
        i = 0
        while i < len(args):
            if args[i] in ("--qid", "--len"):
                if i + 1 >= len(args) or not args[i + 1].isdigit():
                    raise CommandError(f"{args[i]} needs a number")
                if args[i] == "--len":
                    raise CommandError("--len is not supported")
                i += 2
                continue
            try:
                frames.append(parse_packet(args[i], ofctl_syntax=ofctl_syntax, vlan_limit=get_vlan_limit()))
            except ValueError as e:
                raise CommandError(str(e)) from None
            i += 1
        if not frames:
            raise CommandError("no packet given")
        return frames

    def _cmd_receive(self, args: list[str]) -> str:
        with self.switch.lock:
            dev = self._dummy(args[0])
            frames = self._packets(args[1:])
            for frame in frames:
                dev.receive(frame)
            self.switch.count("netdev_received", len(frames))
        return ""

    def _cmd_set_admin_state(self, args: list[str]) -> str:
        state = args[-1].lower()
        if state not in ("up", "down"):
            raise CommandError("Invalid Admin State")
        with self.switch.lock:
            if len(args) == 2:
                iface = self.switch.iface(args[0])
                if iface is None or not isinstance(iface.netdev, DummyNetdev):
                    raise CommandError("Unknown Dummy Interface")
                devs = [iface.netdev]
            else:
                devs = [i.netdev for b in self.switch.bridges.values() for i in b.ifaces.values()
                        if isinstance(i.netdev, DummyNetdev)]
            for dev in devs:
                dev.admin = state == "up"
        self.switch.dirty.set()
        return "OK\n"

    def _cmd_send(self, args: list[str]) -> str:
        with self.switch.lock:
            dev = self._dummy(args[0])
            frames = self._packets(args[1:], ofctl_syntax=True)
            for frame in frames:
                dev.send(frame)
            self.switch.count("netdev_sent", len(frames))
        return ""


if __name__ == "__main__":
    sys.exit(main())
