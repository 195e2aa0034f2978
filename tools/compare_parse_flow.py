#!/usr/bin/env python3
"""Compare our ``parse-flow`` with the real ``ovs-ofctl parse-flow``, flow by flow.

Both programs are run with the same argv (``[-O VERSION] parse-flow FLOW``) and must agree on the exit code, on
stdout, and on stderr once the vlog timestamp and sequence number are stripped from each line (see
``regen_parse_flow_corpus.strip_vlog``); a fatal-error line that our tool prefixes with its own name
(``pyvs-ofctl: ...``) is compared as if it said ``ovs-ofctl: ...``.  Every disagreement is printed as a unified diff; the last line is a
summary ``N agree, M differ``.  The exit status is 1 if any flow differs, 0 otherwise.

Sources of flows (one of):

* ``--corpus FILE``   a corpus file (default ``tests/data/parse_flow_corpus.txt``), ``@VERSION `` prefixes
                      honoured; the reference is run live.
* ``--expected FILE`` a ``.expected`` JSON Lines file written by ``regen_parse_flow_corpus.py``; the reference
                      output is taken from the file, so ``ovs-ofctl`` need not be installed.
* ``--random N``      N flows from ``flowgen.generate(random.Random(--seed), N)``; the reference is run live.
* ``FLOW ...``        flows given on the command line.

Examples::

    python tools/compare_parse_flow.py                              # the corpus, live
    python tools/compare_parse_flow.py --expected tests/data/parse_flow_corpus.expected
    python tools/compare_parse_flow.py --random 500 --seed 7 --ours '.venv/bin/pyvs-ofctl'
    python tools/compare_parse_flow.py 'tcp,tp_dst=80,actions=drop' '@OpenFlow13 actions=meter:1'
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import flowgen
from regen_parse_flow_corpus import CORPUS, corpus_argv, read_corpus, run_many


def _render(res: dict, ignore_stderr: bool, prog_names: tuple[str, ...] = ()) -> list[str]:
    lines = [f"rc: {res['rc']}"]
    lines += ["stdout: " + line for line in res["stdout"].splitlines()]
    if not ignore_stderr:
        for line in res["stderr"].splitlines():
            # Fatal errors are prefixed with the program's name ("ovs-ofctl: unknown keyword foo"); our tool
            # may say "pyvs-ofctl: ..." instead, which counts as the same message.
            for name in prog_names:
                if line.startswith(name + ": "):
                    line = "ovs-ofctl: " + line[len(name) + 2:]
                    break
            lines.append("stderr: " + line)
    return lines


def compare(cases: list[tuple[str, list[str], dict]], ours: list[str], ignore_stderr: bool = False,
            jobs: int = 0, show: int = 50, out=sys.stdout) -> tuple[int, int]:
    """Run OURS on every (flow, argv, reference result) case; print diffs; return (agree, differ)."""
    results = run_many(ours, [argv for _, argv, _ in cases], jobs)
    prog_names = tuple(dict.fromkeys(["pyvs-ofctl", Path(ours[0]).name]))
    agree = differ = 0
    for (flow, argv, ref), got in zip(cases, results):
        want_lines = _render(ref, ignore_stderr)
        got_lines = _render(got, ignore_stderr, prog_names)
        if want_lines == got_lines:
            agree += 1
            continue
        differ += 1
        if differ <= show:
            print(f"=== {shlex.join(argv)}", file=out)
            for line in difflib.unified_diff(want_lines, got_lines, "ovs-ofctl", "ours", lineterm="", n=2):
                print(line, file=out)
    if differ > show:
        print(f"... {differ - show} more differences not shown (use --show)", file=out)
    print(f"{agree} agree, {differ} differ", file=out)
    return agree, differ


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("flows", nargs="*", help="flows to compare (corpus syntax, '@VERSION ' prefix allowed)")
    ap.add_argument("--ours", default="pyvs-ofctl", help="command for our tool (default: %(default)s)")
    ap.add_argument("--ovs", default="ovs-ofctl", help="command for the reference (default: %(default)s)")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--corpus", type=Path, help="corpus file (default: tests/data/parse_flow_corpus.txt)")
    src.add_argument("--expected", type=Path, help="use recorded reference results from this .expected file")
    src.add_argument("--random", type=int, metavar="N", help="compare on N generated flows")
    ap.add_argument("--seed", type=int, default=1, help="seed for --random (default: %(default)s)")
    ap.add_argument("--no-versions", action="store_true", help="with --random, never use -O")
    ap.add_argument("--ignore-stderr", action="store_true", help="compare only exit codes and stdout")
    ap.add_argument("--show", type=int, default=50, help="print at most this many diffs (default: %(default)s)")
    ap.add_argument("-j", "--jobs", type=int, default=0)
    args = ap.parse_args(argv)

    ours = shlex.split(args.ours)
    ovs = shlex.split(args.ovs)

    cases: list[tuple[str, list[str], dict]] = []
    if args.expected:
        with args.expected.open() as f:
            for line in f:
                rec = json.loads(line)
                if "flow" in rec:
                    cases.append((rec["flow"], rec["argv"], rec))
    else:
        if args.flows:
            flows = args.flows
        elif args.random is not None:
            flows = flowgen.generate(random.Random(args.seed), args.random, versions=not args.no_versions)
        else:
            flows = read_corpus(args.corpus or CORPUS)
        argvs = [corpus_argv(flow) for flow in flows]
        refs = run_many(ovs, argvs, args.jobs)
        cases = list(zip(flows, argvs, refs))

    _, differ = compare(cases, ours, args.ignore_stderr, args.jobs, args.show)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
