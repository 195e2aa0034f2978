"""``pyvs-ofctl``: the OpenFlow command-line tool, in the image of ``ovs-ofctl``.

Usage: ``pyvs-ofctl [OPTIONS] COMMAND [ARG...]``.  Arguments, output and exit codes follow ovs-ofctl(8) so that
scripts written for one work with the other; errors print ``pyvs-ofctl: MESSAGE`` on stderr and exit 1.

Commands are registered in ``COMMANDS`` (name -> minimum and maximum argument counts and a handler), like
ovs-ofctl's command table.  The commands that talk to a switch (``show``, ``add-flow``, ``dump-flows``,
``add-group``, ``add-meter``, ``monitor`` ...) are in ``pyvswitch.cli.ofctl_switch``; the offline ones are here:

* ``parse-flow FLOW``: parse one flow as ``add-flow`` would, print the usable protocols, the protocol chosen
  among those allowed (``-O``, default OpenFlow 1.0), and the flow_mod message as received.
* ``parse-flows FILE``: the same for every flow in FILE (``-`` for stdin), all sent in one protocol.

Options: ``-O``/``--protocols VERSION[,VERSION]...``, ``-F``/``--flow-format FORMAT[,FORMAT]...``, ``--strict``,
``--readd``, ``--bundle``, ``--names``/``--no-names``, ``--stats``/``--no-stats``, ``--sort[=FIELD]``,
``--rsort[=FIELD]``, ``-t``/``--timeout SECS``, ``-m``/``--more``, ``-h``/``--help``, ``-V``/``--version``.
Options may follow the command, as with GNU getopt.

``run(argv, stdout, stderr)`` runs the tool in process (tests use it); ``main()`` is the console entry point.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from pyvswitch import openflow
from pyvswitch.cli import ofctl_switch as OS
from pyvswitch.flow.protocols import Proto
from pyvswitch.ofproto import flow_mod_text as FMT
from pyvswitch.openflow.ofp_print import parse_flow_lines
from pyvswitch.util import vlog

PROGRAM = "pyvs-ofctl"
ALARM_EXIT = 142  # what run() returns when --timeout expires (128 + SIGALRM)
VERSION = "0.1.0"


class Fatal(Exception):
    """An error that ends the program: printed as ``pyvs-ofctl: MESSAGE`` (nothing when empty), exit status
    ``code`` (1 unless told)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Context:
    """What a command handler needs: its arguments, the parsed options, and where to write."""

    args: list[str]
    stdout: TextIO
    stderr: TextIO
    versions: set[int] = field(default_factory=set)
    flow_formats: Proto | None = None
    strict: bool = False
    readd: bool = False
    names: bool | None = None          # --names / --no-names; None: ovs-ofctl's default
    no_stats: bool = False
    sort: list[tuple[str | None, bool]] = field(default_factory=list)   # (field or None, reverse)
    bundle: bool = False
    timeout: float | None = None
    more: int = 0

    def allowed_protocols(self) -> Proto:
        try:
            return FMT.allowed_protocols(self.versions, self.flow_formats)
        except FMT.FlowModParseError as e:
            raise Fatal(str(e)) from None

    def print(self, line: str) -> None:
        self.stdout.write(line + "\n")


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    min_args: int
    max_args: int
    handler: Callable[[Context], None]


def _emit(ctx: Context, result: FMT.ParseFlowsResult) -> None:
    for line in result.stdout:
        ctx.print(line)
    if result.error is not None:
        raise Fatal(result.error)


def cmd_parse_flow(ctx: Context) -> None:
    allowed = ctx.allowed_protocols()
    _emit(ctx, FMT.run_parse_flows([ctx.args[0]], allowed, print_flow_mod=parse_flow_lines))


def _preprocessed_lines(text: str) -> tuple[list[str], list[int]]:
    """Lines as OVS's ``ds_get_preprocessed_line`` returns them: everything from ``#`` on is a comment, and lines
    holding only spaces, tabs (or nothing) are skipped.  Returns the lines and their 1-based numbers."""
    lines, numbers = [], []
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    for n, line in enumerate(parts, 1):
        line = line.split("#", 1)[0]
        if line.strip(" \t\n"):
            lines.append(line)
            numbers.append(n)
    return lines, numbers


def cmd_parse_flows(ctx: Context) -> None:
    allowed = ctx.allowed_protocols()
    name = ctx.args[0]
    try:
        if name == "-":
            text = sys.stdin.read()
        else:
            with open(name, encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
    except OSError as e:
        raise Fatal(f"{name}: open failed ({e.strerror})") from None
    lines, numbers = _preprocessed_lines(text)
    _emit(ctx, FMT.run_parse_flows(lines, allowed, file_name=name, line_numbers=numbers, print_flow_mod=parse_flow_lines))


def _switch_handler(sc: OS.SwitchCommand) -> Callable[[Context], None]:
    def handler(ctx: Context) -> None:
        try:
            sc.handler(OS.Session(ctx), ctx.args)
        except OS.SwitchFatal as e:
            raise Fatal(e.message or "", e.code) from None
    return handler


COMMANDS: dict[str, Command] = {c.name: c for c in [
    Command("parse-flow", "parse-flow FLOW", 1, 1, cmd_parse_flow),
    Command("parse-flows", "parse-flows FILE", 1, 1, cmd_parse_flows),
    *[Command(sc.name, sc.usage, sc.min_args, sc.max_args, _switch_handler(sc)) for sc in OS.COMMANDS],
]}


def usage() -> str:
    lines = [f"{PROGRAM}: OpenFlow switch management utility",
             f"usage: {PROGRAM} [OPTIONS] COMMAND [ARG...]",
             "",
             "For SWITCH, give a bridge name (its socket RUNDIR/BRIDGE.mgmt, RUNDIR from $PYVS_RUNDIR or",
             "/var/run/pyvswitch), a socket file, or an OpenFlow address (unix:PATH, tcp:IP[:PORT]).",
             "",
             "Switch commands:"]
    for sc in OS.COMMANDS:
        lines.append(f"  {sc.usage}")
    lines += ["",
              "Other commands:"]
    for name in ("parse-flow", "parse-flows"):
        lines.append(f"  {COMMANDS[name].usage:<28}print the flow_mod(s) {PROGRAM} would send")
    lines += ["",
              "Options:",
              "  -O, --protocols=LIST        allow these OpenFlow versions (default: OpenFlow10)",
              "  -F, --flow-format=FORMAT    force particular flow format(s)",
              "  --strict                    use strict match for flow commands",
              "  --readd                     replace-flows: re-add every flow, changed or not",
              "  --bundle                    send flow and group changes in one atomic bundle",
              "  --names, --no-names         accept (and show) port and table names, or not",
              "  --stats, --no-stats         dump-flows: show (or omit) statistics",
              "  --sort[=FIELD], --rsort[=FIELD]  dump-flows: sort by FIELD (default: priority)",
              "  -t, --timeout=SECS          give up after SECS seconds",
              "  -m, --more                  accepted for compatibility (output unchanged)",
              "  -h, --help                  display this help message",
              "  -V, --version               display version information"]
    return "\n".join(lines) + "\n"


_LONG_WITH_ARG = {"protocols": "O", "flow-format": "F", "timeout": "t"}
_LONG_NO_ARG = {"help": "h", "version": "V", "more": "m", "strict": "strict", "names": "names",
                "no-names": "no-names", "stats": "stats", "no-stats": "no-stats", "readd": "readd",
                "bundle": "bundle"}
_LONG_OPTIONAL_ARG = {"sort": "sort", "rsort": "rsort"}
_SHORT_WITH_ARG = set("OFt")
_SHORT_NO_ARG = set("hVm")


def _getopt(argv: list[str]) -> tuple[list[tuple[str, str | None]], list[str]]:
    """GNU ``getopt_long`` with argument permutation: options anywhere, ``--`` ends them."""
    opts: list[tuple[str, str | None]] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            rest.extend(argv[i + 1:])
            break
        if a.startswith("--"):
            name, eq, val = a[2:].partition("=")
            matches = [n for n in list(_LONG_WITH_ARG) + list(_LONG_NO_ARG) + list(_LONG_OPTIONAL_ARG)
                       if n.startswith(name)]
            exact = [n for n in matches if n == name]
            if exact:
                matches = exact
            if len(matches) != 1:
                what = "ambiguous" if matches else "unrecognized"
                raise Fatal(f"option '--{name}' is {what}" if what == "ambiguous"
                            else f"unrecognized option '--{name}'")
            name = matches[0]
            if name in _LONG_WITH_ARG:
                if not eq:
                    i += 1
                    if i >= len(argv):
                        raise Fatal(f"option '--{name}' requires an argument")
                    val = argv[i]
                opts.append((_LONG_WITH_ARG[name], val))
            elif name in _LONG_OPTIONAL_ARG:
                opts.append((_LONG_OPTIONAL_ARG[name], val if eq else None))
            else:
                if eq:
                    raise Fatal(f"option '--{name}' doesn't allow an argument")
                opts.append((_LONG_NO_ARG[name], None))
        elif a.startswith("-") and a != "-":
            j = 1
            while j < len(a):
                c = a[j]
                if c in _SHORT_WITH_ARG:
                    val = a[j + 1:]
                    if not val:
                        i += 1
                        if i >= len(argv):
                            raise Fatal(f"option requires an argument -- '{c}'")
                        val = argv[i]
                    opts.append((c, val))
                    break
                if c in _SHORT_NO_ARG:
                    opts.append((c, None))
                    j += 1
                    continue
                raise Fatal(f"invalid option -- '{c}'")
        else:
            rest.append(a)
        i += 1
    return opts, rest


def run(argv: list[str], stdout: TextIO, stderr: TextIO) -> int:
    """Run ``pyvs-ofctl`` with ``argv`` (without the program name); return the exit status."""
    saved_sink = vlog._sink
    vlog.set_sink(stderr)
    FMT.reset_process_state()
    openflow.reset_process_state()
    with vlog.bridge_logging(), _ovs_module_names():
        return _run(argv, stdout, stderr, saved_sink)


# Loggers of the codec and connection modules, and the Open vSwitch module each one stands for in log lines.
_OVS_MODULES = {"pyvswitch.vconn": "vconn", "pyvswitch.vconn_stream": "vconn_stream",
                "pyvswitch.ofp_msgs": "ofp_msgs"}


class _RenameRecord(logging.Filter):
    """Gives a record the name of the Open vSwitch module its logger stands for (``vconn``, not
    ``pyvswitch.vconn``), so that log lines read as ovs-ofctl's."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.name = _OVS_MODULES.get(record.name, record.name)
        return True


@contextlib.contextmanager
def _ovs_module_names() -> Iterator[None]:
    rename = _RenameRecord()
    loggers = [logging.getLogger(name) for name in _OVS_MODULES]
    for lg in loggers:
        lg.addFilter(rename)
    try:
        yield
    finally:
        for lg in loggers:
            lg.removeFilter(rename)


def _run(argv: list[str], stdout: TextIO, stderr: TextIO, saved_sink: object) -> int:
    try:
        opts, args = _getopt(argv)
        versions: set[int] = set()
        flow_formats: Proto | None = None
        extra: dict[str, object] = {}
        sort: list[tuple[str | None, bool]] = []
        for opt, val in opts:
            if opt == "h":
                stdout.write(usage())
                return 0
            if opt == "V":
                stdout.write(f"{PROGRAM} (pyvswitch) {VERSION}\nOpenFlow versions 0x1:0x6\n")
                return 0
            try:
                if opt == "O":
                    assert val is not None
                    v = FMT.versions_from_string(val)
                    if v:
                        versions = v
                elif opt == "F":
                    assert val is not None
                    flow_formats = FMT.protocols_from_string(val)
            except FMT.FlowModParseError as e:
                raise Fatal(str(e)) from None
            if opt in ("strict", "readd", "bundle"):
                extra[opt] = True
            elif opt == "names":
                extra["names"] = True
            elif opt == "no-names":
                extra["names"] = False
            elif opt == "no-stats":
                extra["no_stats"] = True
            elif opt == "stats":
                extra["no_stats"] = False
            elif opt == "m":
                extra["more"] = int(extra.get("more", 0)) + 1  # type: ignore[call-overload]
            elif opt in ("sort", "rsort"):
                # ovs-ofctl checks the field while reading its options, before anything else.
                if val is not None and val != "priority":
                    from pyvswitch.flow import fields as F
                    if val not in F.BY_NAME:
                        raise Fatal(f"{val}: unknown field name")
                sort.append((val, opt == "rsort"))
            elif opt == "t":
                assert val is not None
                try:
                    secs = int(val)
                except ValueError:
                    secs = 0
                if secs <= 0:
                    raise Fatal(f"value {val} on -t or --timeout is invalid")
                extra["timeout"] = float(secs)
        if not args:
            raise Fatal("missing command name; use --help for help")
        cmd = COMMANDS.get(args[0])
        if cmd is None:
            raise Fatal(f"unknown command '{args[0]}'; use --help for help")
        n = len(args) - 1
        if n < cmd.min_args:
            raise Fatal(f"'{cmd.name}' command requires at least {cmd.min_args} arguments")
        if n > cmd.max_args:
            raise Fatal(f"'{cmd.name}' command takes at most {cmd.max_args} arguments")
        ctx = Context(args[1:], stdout, stderr, versions, flow_formats, sort=sort)
        for key, value in extra.items():
            setattr(ctx, key, value)
        cmd.handler(ctx)
        return 0
    except Fatal as e:
        stdout.flush()
        if str(e):
            stderr.write(f"{PROGRAM}: {e}\n")
        return e.code
    except Exception as e:  # noqa: BLE001 - a bug must still end in a one-line error, not a traceback
        stdout.flush()
        stderr.write(f"{PROGRAM}: internal error: {type(e).__name__}: {e}\n")
        return 1
    finally:
        vlog.set_sink(saved_sink)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    try:
        rc = run(sys.argv[1:] if argv is None else argv, sys.stdout, sys.stderr)
        sys.stdout.flush()
    except BrokenPipeError:
        rc = 1
    except KeyboardInterrupt:
        rc = 130
    if rc == ALARM_EXIT:
        # --timeout expired: end as ovs-ofctl does, killed by SIGALRM.
        sys.stderr.flush()
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGALRM)
    return rc


if __name__ == "__main__":
    sys.exit(main())
