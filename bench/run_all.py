"""Runs every benchmark in bench/ (``make bench``), one after another, and prints their reports.

Benchmarks are not tests: they measure and print, they assert nothing about speed.  Each one is a script with a
``main()`` that prints its own table; this runner only sequences them so that one command measures everything.
Pass names to run a subset: ``python bench/run_all.py classifier extract``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    # forward.py needs root and several minutes (``make bench-forward``); forward_lib.py is its library.
    skip = {"run_all.py", "forward.py", "forward_lib.py"}
    scripts = sorted(p for p in HERE.glob("*.py") if p.name not in skip and not p.name.startswith("_"))
    if argv:
        scripts = [p for p in scripts if p.stem in argv]
    failed = 0
    for p in scripts:
        print(f"=== {p.stem} ===", flush=True)
        t0 = time.monotonic()
        rc = subprocess.call([sys.executable, str(p)])
        print(f"=== {p.stem}: exit {rc}, {time.monotonic() - t0:.1f} s ===\n", flush=True)
        failed += rc != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
