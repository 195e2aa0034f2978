"""``pyvs-ovsdb-server``: serve OVSDB database files, with the command line of ovsdb-server(1).

    pyvs-ovsdb-server [--remote=REMOTE]... [--pidfile[=FILE]] [--log-file[=FILE]] [--detach] [--no-chdir]
                      [-v|--verbose] [--max-rows=N] [--no-fsync] DATABASE...

REMOTE is ``punix:PATH``, ``ptcp:PORT[:IP]``, ``unix:PATH`` or ``tcp:IP:PORT``.  With ``--detach`` the command
returns only once the databases are open and every listening remote is ready, so a script may connect right after
it; it fails (exit status 1) if the server could not start.  SIGTERM and SIGINT stop the server cleanly (sockets
and pidfile removed).  ``--unixctl`` and ``--monitor`` are accepted for compatibility and ignored.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from typing import Any

from pyvswitch.util import daemon, vlog

from .server import OvsdbServer, parse_remote
from .storage import StorageError

log = logging.getLogger("pyvswitch.db.server_main")

PROGRAM = "pyvs-ovsdb-server"


def rundir() -> str:
    return os.environ.get("PYVS_RUNDIR", "/var/run/pyvswitch")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROGRAM, description="Serve OVSDB databases (RFC 7047).")
    p.add_argument("databases", nargs="*", metavar="DATABASE", help="database files to serve")
    p.add_argument("--remote", action="append", default=[], metavar="REMOTE",
                   help="punix:PATH, ptcp:PORT[:IP], unix:PATH or tcp:IP:PORT (repeatable)")
    p.add_argument("--pidfile", nargs="?", const="", default=None, metavar="FILE")
    p.add_argument("--log-file", nargs="?", const="", default=None, metavar="FILE")
    p.add_argument("--detach", action="store_true")
    p.add_argument("--no-chdir", action="store_true")
    p.add_argument("--monitor", action="store_true", help="accepted and ignored")
    p.add_argument("--unixctl", metavar="SOCKET", help="accepted and ignored")
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("--max-rows", type=int, default=None, help="refuse transactions beyond this many rows")
    p.add_argument("--no-fsync", action="store_true", help="do not fsync each commit (unsafe on power loss)")
    p.add_argument("--compact-min-bytes", type=int, default=10 * 1024 * 1024, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.databases:
        print(f"{PROGRAM}: at least one database file is required", file=sys.stderr)
        return 1
    databases = [os.path.abspath(d) for d in args.databases]
    remotes = []
    for r in args.remote:
        try:
            kind, a, _ = parse_remote(r)
        except ValueError as e:
            print(f"{PROGRAM}: {e}", file=sys.stderr)
            return 1
        if kind in ("punix", "unix"):
            r = f"{kind}:{os.path.abspath(a)}"
        remotes.append(r)
    pidfile = _default(args.pidfile, f"{PROGRAM}.pid")
    log_file = _default(args.log_file, f"{PROGRAM}.log")

    ready_w = -1
    if args.detach:
        status, ready_w = daemon.detach()
        if status is not None:
            return status
    vlog.setup_daemon(log_file, console=True, verbose=args.verbose)
    try:
        return asyncio.run(_serve(args, databases, remotes, pidfile, ready_w))
    except KeyboardInterrupt:
        return 0


def _default(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    return os.path.abspath(value) if value else os.path.join(rundir(), name)


async def _serve(args: Any, databases: list[str], remotes: list[str], pidfile: str | None, ready_w: int) -> int:
    server = OvsdbServer(max_rows=args.max_rows)
    storage_options = {"fsync": not args.no_fsync, "compact_min_bytes": args.compact_min_bytes}
    try:
        for path in databases:
            db = server.open_database(path, **storage_options)
            log.info("%s: serving database %s", path, db.name)
        for r in remotes:
            await server.add_remote(r)
    except (StorageError, OSError, ValueError) as e:
        msg = str(e) if not isinstance(e, OSError) or not e.strerror else f"{e.filename or ''}: {e.strerror}"
        print(f"{PROGRAM}: {msg}", file=sys.stderr)
        await server.close()
        daemon.notify_ready(ready_w, ok=False)
        return 1
    if pidfile:
        daemon.write_pidfile(pidfile)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    if ready_w >= 0:
        daemon.notify_ready(ready_w)
        daemon.redirect_stdio()
        if not args.no_chdir:
            os.chdir("/")
    log.info("%s: started (pid %d)", PROGRAM, os.getpid())
    await stop.wait()
    log.info("%s: exiting", PROGRAM)
    await server.close()
    if pidfile:
        try:
            os.unlink(pidfile)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
