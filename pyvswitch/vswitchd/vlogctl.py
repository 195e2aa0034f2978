"""Run-time control of the daemon's log levels: ``vlog/set`` and ``vlog/list`` as ovs-appctl(8) documents them.

Each log line belongs to a module (the last component of the ``logging`` logger name: ``bridge``, ``unixctl``,
...) and goes to destinations: ``console`` (stderr, when not detached) and ``file`` (the log file).  Every
(module, destination) pair has a level among ``off emer err warn info dbg``.  ``syslog`` is listed and may be set,
but pyvswitch does not log to syslog.  The levels are applied by a filter on each handler, so the handlers that
``vlog.setup_daemon`` installed keep formatting the lines.
"""

from __future__ import annotations

import logging

from .unixctl import CommandError

LEVELS = ("off", "emer", "err", "warn", "info", "dbg")
_PY = {"off": logging.CRITICAL + 10, "emer": logging.CRITICAL, "err": logging.ERROR, "warn": logging.WARNING,
       "info": logging.INFO, "dbg": logging.DEBUG}
DESTINATIONS = ("console", "syslog", "file")
BUILTIN_MODULES = ("bridge", "netdev_dummy", "server", "unixctl", "vswitchd")


class VlogControl:
    def __init__(self, root: str = "pyvswitch", console: str = "warn", file: str = "info") -> None:
        self.root = root
        self.defaults = {"console": console, "syslog": "off", "file": file}
        self.levels: dict[str, dict[str, str]] = {}
        logger = logging.getLogger(root)
        logger.setLevel(logging.DEBUG)
        for h in logger.handlers:
            dest = "file" if isinstance(h, logging.FileHandler) else "console"
            h.setLevel(logging.DEBUG)
            h.addFilter(self._filter(dest))

    def modules(self) -> list[str]:
        names = set(BUILTIN_MODULES) | set(self.levels)
        for name in logging.root.manager.loggerDict:
            if name.startswith(self.root + "."):
                names.add(name.rsplit(".", 1)[-1])
        return sorted(names)

    def level(self, module: str, dest: str) -> str:
        return self.levels.get(module, {}).get(dest, self.defaults[dest])

    def _filter(self, dest: str) -> logging.Filter:
        ctl = self

        class _F(logging.Filter):
            def filter(self, record: logging.LogRecord) -> bool:
                return record.levelno >= _PY[ctl.level(record.name.rsplit(".", 1)[-1], dest)]

        return _F()

    def set(self, args: list[str]) -> str:
        if not args:
            args = ["any:any:dbg"]
        for spec in args:
            module, dest, level = "any", "any", "dbg"
            for word in spec.replace(":", " ").split():
                w = word.lower()
                if w in LEVELS:
                    level = w
                elif w == "any":
                    pass  # "any" module or destination: the default of both.
                elif w in DESTINATIONS:
                    dest = w
                elif w in self.modules():
                    module = w
                else:
                    raise CommandError(f'no destination, level, or module "{word}"')
            mods = self.modules() if module == "any" else [module]
            dests = DESTINATIONS if dest == "any" else (dest,)
            for m in mods:
                for d in dests:
                    self.levels.setdefault(m, {})[d] = level
            if module == "any":
                for d in dests:
                    self.defaults[d] = level
        return ""

    def list(self, args: list[str]) -> str:
        out = ["                 console    syslog    file", "                 -------    ------    ------"]
        for m in self.modules():
            out.append(f"{m:<16}  {self.level(m, 'console').upper():>4}       {self.level(m, 'syslog').upper():>4}"
                       f"       {self.level(m, 'file').upper():>4}")
        return "\n".join(out) + "\n"
