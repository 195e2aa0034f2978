"""``pyvs-appctl``: send a command to a running pyvswitch daemon, as ovs-appctl(8) does.

    pyvs-appctl [--rundir DIR] [-t TARGET] [-T SECS] COMMAND [ARG...]

TARGET is a daemon name (``pyvs-vswitchd``, the default: the socket ``DIR/pyvs-vswitchd.ctl``; a name whose
``DIR/NAME.pid`` exists is resolved to ``DIR/NAME.PID.ctl`` first, as ovs-appctl does) or a socket path (anything
with a ``/``).  DIR is ``--rundir``, else ``$PYVS_RUNDIR``, else ``/var/run/pyvswitch``.

The protocol is unixctl's JSON-RPC (see ``pyvswitch.vswitchd.unixctl``).  Exit status as ovs-appctl: 0 and the
result on stdout; 2 and the error text on stderr, followed by ``pyvs-appctl: TARGET: server returned an error``,
for a failed command; 1 when the daemon cannot be reached or the command line is wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys

from pyvswitch.db import jsonrpc

PROGRAM = "pyvs-appctl"


def _target_path(target: str, rundir: str) -> str:
    if "/" in target:
        return target
    pidfile = os.path.join(rundir, f"{target}.pid")
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
        path = os.path.join(rundir, f"{target}.{pid}.ctl")
        if os.path.exists(path):
            return path
    except (OSError, ValueError):
        pass
    return os.path.join(rundir, f"{target}.ctl")


def call(path: str, command: str, args: list[str], timeout: float | None = None) -> tuple[str | None, str | None]:
    """Send one command to the control socket at ``path``; returns (result, error).  Raises OSError."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(json.dumps({"id": 0, "method": command, "params": args}).encode())
        parser = jsonrpc.JsonStreamParser()
        while True:
            data = s.recv(1 << 16)
            if not data:
                raise ConnectionError("connection closed by the daemon before it replied")
            for m in parser.feed(data):
                if isinstance(m, dict) and m.get("id") == 0:
                    if m.get("error") is not None:
                        err = m["error"]
                        return None, err if isinstance(err, str) else json.dumps(err)
                    res = m.get("result")
                    return (res if isinstance(res, str) else json.dumps(res)), None
    finally:
        s.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=PROGRAM, description="Send a command to a running pyvswitch daemon.")
    p.add_argument("--rundir", default=None, metavar="DIR")
    p.add_argument("-t", "--target", default="pyvs-vswitchd")
    p.add_argument("-T", "--timeout", type=float, default=None, metavar="SECS")
    p.add_argument("command")
    p.add_argument("args", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)
    rundir = a.rundir or os.environ.get("PYVS_RUNDIR") or "/var/run/pyvswitch"
    path = _target_path(a.target, rundir)
    try:
        result, error = call(path, a.command, a.args, a.timeout)
    except TimeoutError:
        print(f"{PROGRAM}: {a.target}: timed out waiting for a reply", file=sys.stderr)
        return 1
    except (OSError, jsonrpc.ProtocolError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        print(f"{PROGRAM}: cannot connect to \"{path}\" ({reason})", file=sys.stderr)
        return 1
    if error is not None:
        sys.stderr.write(error)
        print(f"{PROGRAM}: {a.target}: server returned an error", file=sys.stderr)
        return 2
    sys.stdout.write(result or "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
