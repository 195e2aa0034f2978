"""A small logger in the style of Open vSwitch's vlog.

Every line has the form ``2026-11-24T19:38:27Z|00001|module|LEVEL|message``: a UTC timestamp, a sequence number
shared by all modules of the process, the module that logged, the level and the text.  That is what OVS tools and
daemons print on stderr, so that tests (and users' scripts) can compare our log lines with theirs once the first
two columns are stripped.

Usage::

    from pyvswitch.util import vlog
    log = vlog.Vlog("ofp_match")
    log.info("normalization changed ofp_match, details:")

    rl = vlog.RateLimit(1, 5)           # like VLOG_RATE_LIMIT_INIT(1, 5)
    log.warn_rl(rl, "something happened")

Lines go to the process-wide sink, stderr by default.  ``capture()`` swaps the sink for a list for the duration of a
``with`` block, which is how in-process tests and the CLI's batch mode collect log lines without touching stderr.
The levels are OVS's: EMER, ERR, WARN, INFO, DBG; lines at DBG are dropped unless ``set_level`` enables them, as the
OVS default console level is INFO.

Rate limits follow OVS's token bucket: ``RateLimit(rate, burst)``, like ``VLOG_RATE_LIMIT_INIT(rate, burst)``,
allows ``burst`` messages at once and then ``rate`` messages per minute.  The clock is injectable
(``RateLimit(..., clock=...)``) so tests need not sleep.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

__all__ = [
    "LEVELS",
    "LoggingBridge",
    "RateLimit",
    "Vlog",
    "VlogFormatter",
    "bridge_logging",
    "capture",
    "format_line",
    "set_level",
    "set_sink",
    "setup_daemon",
    "strip_prefix",
]

LEVELS = ("EMER", "ERR", "WARN", "INFO", "DBG")
_LEVEL_RANK = {name: i for i, name in enumerate(LEVELS)}

_lock = threading.Lock()
_seq = 0
_console_level = _LEVEL_RANK["INFO"]
_sink: list[str] | TextIO | None = None   # None means sys.stderr, looked up at write time


def set_level(level: str) -> None:
    """Set the most verbose level written (``"DBG"`` shows everything; the default is ``"INFO"``)."""
    global _console_level
    _console_level = _LEVEL_RANK[level.upper()]


def set_sink(sink: list[str] | TextIO | None) -> None:
    """Write log lines to ``sink``: a list (lines appended without newline), a text stream, or None for stderr."""
    global _sink
    _sink = sink


@contextlib.contextmanager
def capture() -> Iterator[list[str]]:
    """Collect the lines logged inside the ``with`` block in a list instead of writing them."""
    global _sink
    saved = _sink
    lines: list[str] = []
    _sink = lines
    try:
        yield lines
    finally:
        _sink = saved


def strip_prefix(line: str) -> str:
    """``2026-11-24T19:38:27Z|00001|mod|INFO|msg`` -> ``mod|INFO|msg`` (other lines are returned unchanged)."""
    parts = line.split("|", 2)
    if len(parts) == 3 and parts[0].endswith("Z") and parts[1].isdigit():
        return parts[2]
    return line


def format_line(seq: int, module: str, level: str, message: str, created: float | None = None) -> str:
    """One vlog line: ``TIMESTAMP|SEQ|module|LEVEL|message``."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))
    return f"{stamp}|{seq:05d}|{module}|{level}|{message}"


def _next_seq() -> int:
    global _seq
    with _lock:
        _seq += 1
        return _seq


def _emit(module: str, level: str, message: str) -> None:
    if _LEVEL_RANK[level] > _console_level:
        return
    seq = _next_seq()
    line = format_line(seq, module, level, message)
    sink = _sink
    if isinstance(sink, list):
        sink.append(line)
        return
    stream = sink if sink is not None else sys.stderr
    stream.write(line + "\n")
    stream.flush()


class RateLimit:
    """OVS's vlog rate limit: a token bucket holding ``burst`` messages, refilled at ``rate`` messages per minute.

    ``dropped`` counts the messages the limit suppressed.  (OVS reports them in a later line once the bucket refills,
    which a short-lived command never reaches; the daemons can print that line from ``dropped`` if they need it.)"""

    __slots__ = ("burst", "clock", "dropped", "last", "rate", "tokens")

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.clock = clock
        self.last = clock()
        self.dropped = 0

    def allow(self) -> bool:
        now = self.clock()
        self.tokens = min(float(self.burst), self.tokens + (now - self.last) * self.rate / 60.0)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        self.dropped += 1
        return False


class Vlog:
    """The logger of one module (``Vlog("ofp_actions")``)."""

    __slots__ = ("module",)

    def __init__(self, module: str) -> None:
        self.module = module

    def log(self, level: str, message: str) -> None:
        _emit(self.module, level, message)

    def emer(self, message: str) -> None:
        _emit(self.module, "EMER", message)

    def err(self, message: str) -> None:
        _emit(self.module, "ERR", message)

    def warn(self, message: str) -> None:
        _emit(self.module, "WARN", message)

    def info(self, message: str) -> None:
        _emit(self.module, "INFO", message)

    def dbg(self, message: str) -> None:
        _emit(self.module, "DBG", message)

    def enabled(self, level: str) -> bool:
        return _LEVEL_RANK[level] <= _console_level

    def log_rl(self, rl: RateLimit, level: str, message: str) -> bool:
        """Log ``message`` if the rate limit allows it; returns whether it was logged (or would have been)."""
        if not self.enabled(level):
            return False
        if not rl.allow():
            return False
        _emit(self.module, level, message)
        return True

    def warn_rl(self, rl: RateLimit, message: str) -> bool:
        return self.log_rl(rl, "WARN", message)

    def info_rl(self, rl: RateLimit, message: str) -> bool:
        return self.log_rl(rl, "INFO", message)

    def err_rl(self, rl: RateLimit, message: str) -> bool:
        return self.log_rl(rl, "ERR", message)

    def dbg_rl(self, rl: RateLimit, message: str) -> bool:
        return self.log_rl(rl, "DBG", message)


# ---------------------------------------------------------------------------------------------------------------
# Python ``logging`` records as vlog lines.  Modules that log through the standard library (logger named after the
# OVS module, e.g. ``logging.getLogger("ofp_actions")``) show up in the same stream, in the same format.

_PY_LEVELS = {logging.CRITICAL: "EMER", logging.ERROR: "ERR", logging.WARNING: "WARN", logging.INFO: "INFO",
              logging.DEBUG: "DBG"}


class LoggingBridge(logging.Handler):
    """A ``logging`` handler that writes each record as a vlog line (module = logger name)."""

    def emit(self, record: logging.LogRecord) -> None:
        level = _py_level(record.levelno)
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not stop the program
            msg = str(record.msg)
        _emit(record.name, level, msg)


@contextlib.contextmanager
def bridge_logging(level: int = logging.INFO) -> Iterator[None]:
    """Route ``logging`` records at ``level`` and above to vlog for the duration of the ``with`` block."""
    root = logging.getLogger()
    handler = LoggingBridge(level)
    saved_level = root.level
    root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)


def _py_level(levelno: int) -> str:
    level = _PY_LEVELS.get(levelno)
    if level is None:
        level = "ERR" if levelno > logging.WARNING else "DBG"
    return level


class VlogFormatter(logging.Formatter):
    """Formats ``logging`` records as vlog lines (module = last component of the logger name), for daemons that
    log through the standard library to a file and to stderr."""

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.exc_info:
            msg += "\n" + self.formatException(record.exc_info)
        return format_line(_next_seq(), record.name.rsplit(".", 1)[-1], _py_level(record.levelno), msg,
                           record.created)


def setup_daemon(log_file: str | None, console: bool, verbose: bool, logger: str = "pyvswitch") -> None:
    """Send the records of ``logger`` (and its children) as vlog lines to ``log_file`` (INFO and up, DBG when
    ``verbose``) and, with ``console``, to stderr (WARN and up, as OVS daemons do)."""
    root = logging.getLogger(logger)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for h in list(root.handlers):
        root.removeHandler(h)
    fmt = VlogFormatter()
    if console:
        sh = logging.StreamHandler(sys.stderr)
        sh.setLevel(logging.DEBUG if verbose else logging.WARNING)
        sh.setFormatter(fmt)
        root.addHandler(sh)
    if log_file:
        fh = logging.FileHandler(log_file)
        fh.setLevel(logging.DEBUG if verbose else logging.INFO)
        fh.setFormatter(fmt)
        root.addHandler(fh)
    root.propagate = False
