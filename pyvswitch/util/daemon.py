"""What every pyvswitch daemon does to become one: detach, a pidfile, and quiet standard streams.

``--detach`` works as Open vSwitch's daemons do: the command returns only once the daemon is ready to serve (or
has failed to start), with exit status 0 or 1, so scripts can use the daemon right after starting it.  The parent
waits on a pipe that the daemon writes ``1`` to when ready (``notify_ready``).
"""

from __future__ import annotations

import logging
import os


def detach() -> tuple[int | None, int]:
    """Fork into the background.  In the original process returns (exit status, -1) once the daemon reported;
    in the daemon returns (None, fd) where ``fd`` is passed to ``notify_ready``."""
    ready_r, ready_w = os.pipe()
    if os.fork() > 0:
        os.close(ready_w)
        ok = os.read(ready_r, 1)
        return (0 if ok == b"1" else 1), -1
    os.close(ready_r)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    return None, ready_w


def notify_ready(fd: int, ok: bool = True) -> None:
    """Tell the process that started us (``detach``) whether we are serving; ``fd`` -1 means not detached."""
    if fd < 0:
        return
    try:
        os.write(fd, b"1" if ok else b"0")
        os.close(fd)
    except OSError:
        pass


def write_pidfile(pidfile: str) -> None:
    """Write our pid atomically (a reader never sees a partial file)."""
    tmp = f"{pidfile}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(f"{os.getpid()}\n")
    os.rename(tmp, pidfile)


def redirect_stdio(logger: str = "pyvswitch") -> None:
    """Point stdin, stdout and stderr at /dev/null and drop console log handlers, keeping the log file."""
    fd = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(fd, target)
    if fd > 2:
        os.close(fd)
    root = logging.getLogger(logger)
    for h in list(root.handlers):
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler):
            root.removeHandler(h)
