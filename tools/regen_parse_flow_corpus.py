#!/usr/bin/env python3
"""Regenerate the ground truth for ``pyvs-ofctl parse-flow`` from the real ``ovs-ofctl parse-flow``.

The corpus (``tests/data/parse_flow_corpus.txt``) holds one flow per line.  Blank lines and lines whose first
non-blank character is ``#`` are comments.  A line may start with ``@VERSION `` (for example
``@OpenFlow13 tcp,actions=goto_table:3``): the flow is then run as ``ovs-ofctl -O VERSION parse-flow FLOW``.
VERSION is passed verbatim to ``-O``, so ``@OpenFlow10,OpenFlow13`` works too.

The expectations (``tests/data/parse_flow_corpus.expected``) are JSON Lines.  The first line is
``{"ovs_version": "..."}``, the first line of ``ovs-ofctl --version``.  Every following line describes one corpus
flow, in corpus order::

    {"flow": "<corpus line, with any @VERSION prefix>", "argv": ["-O", "OpenFlow13", "parse-flow", "<flow>"],
     "rc": 0, "stdout": "...", "stderr": "..."}

``argv`` is what follows the program name; the comparison tool runs our ``pyvs-ofctl`` with exactly that argv.
``stderr`` has the vlog prefix ``2026-11-24T19:38:27Z|00001|`` stripped from each line, so the file is
deterministic: ``ofp_match|INFO|normalization changed ofp_match, details:``.  Lines not produced by vlog (for
example ``ovs-ofctl: unknown keyword foo``) are kept as they are.

Running the script also prints a coverage self-check: every field and action name that the brief requires
and that never appears in a flow ``ovs-ofctl`` accepted (rc 0, no decode error).  ``--check`` compares the freshly generated
output with the file on disk instead of writing it (exit 1 on a difference).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "parse_flow_corpus.txt"
EXPECTED = ROOT / "tests" / "data" / "parse_flow_corpus.expected"

# "2026-11-24T19:38:27Z|00001|ofp_match|INFO|msg" -> "ofp_match|INFO|msg".  vlog may add milliseconds.
_VLOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\|\d+\|", re.MULTILINE)


def strip_vlog(stderr: str) -> str:
    """Remove the timestamp and sequence number that vlog puts in front of each stderr line."""
    return _VLOG_PREFIX.sub("", stderr)


def read_corpus(path: Path) -> list[str]:
    """Return the flow lines of a corpus file (comments and blank lines removed, surrounding blanks stripped)."""
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def corpus_argv(line: str) -> list[str]:
    """Turn a corpus line into the argv (without program name) of a parse-flow invocation."""
    if line.startswith("@"):
        version, _, flow = line[1:].partition(" ")
        return ["-O", version, "parse-flow", flow.strip()]
    return ["parse-flow", line]


def run_tool(program: list[str], argv: list[str], timeout: float = 30.0) -> dict:
    """Run PROGRAM + ARGV in the C locale and return rc, stdout and vlog-stripped stderr."""
    env = dict(os.environ, LC_ALL="C", LANG="C")
    try:
        proc = subprocess.run(program + argv, check=False, capture_output=True, text=True, env=env, timeout=timeout,
                              errors="backslashreplace")
    except subprocess.TimeoutExpired:
        return {"rc": -1, "stdout": "", "stderr": "<timeout>"}
    except FileNotFoundError as exc:
        return {"rc": 127, "stdout": "", "stderr": f"<cannot run: {exc}>"}
    return {"rc": proc.returncode, "stdout": proc.stdout, "stderr": strip_vlog(proc.stderr)}


def run_many(program: list[str], argvs: list[list[str]], jobs: int = 0) -> list[dict]:
    """Run PROGRAM once per argv, in parallel, and return the results in input order."""
    jobs = jobs or min(16, (os.cpu_count() or 2) * 2)
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda a: run_tool(program, a), argvs))


def ovs_version(program: list[str]) -> str:
    out = subprocess.run(program + ["--version"], check=False, capture_output=True, text=True).stdout
    return out.splitlines()[0].strip() if out else "unknown"


# --- coverage self-check ------------------------------------------------------------------------------------

# Field names the brief requires (each must be used by at least one accepted flow).  Numbered families are
# listed in full except tun_metadata, where a handful stand for all 64.
REQUIRED_FIELDS = (
    ["in_port", "metadata"] + [f"reg{i}" for i in range(16)] + [f"xreg{i}" for i in range(8)]
    + [f"xxreg{i}" for i in range(4)]
    + ["tun_id", "tunnel_id", "tun_src", "tun_dst", "tun_ipv6_src", "tun_ipv6_dst", "tun_flags", "tun_gbp_id",
       "tun_gbp_flags", "tun_metadata0", "tun_metadata1", "tun_metadata7", "tun_metadata63",
       "pkt_mark", "recirc_id", "dp_hash", "conj_id", "ct_state", "ct_zone", "ct_mark",
       "ct_label", "ct_nw_src", "ct_nw_dst", "ct_nw_proto", "ct_ipv6_src", "ct_ipv6_dst", "ct_tp_src",
       "ct_tp_dst", "dl_src", "dl_dst", "dl_type", "dl_vlan", "dl_vlan_pcp", "vlan_tci", "vlan_vid", "vlan_pcp",
       "mpls_label", "mpls_tc", "mpls_bos", "mpls_ttl", "nw_src", "nw_dst", "ipv6_src", "ipv6_dst",
       "ipv6_label", "nw_proto", "nw_tos", "ip_dscp", "nw_ecn", "nw_ttl", "ip_frag", "arp_op", "arp_spa",
       "arp_tpa", "arp_sha", "arp_tha", "tp_src", "tp_dst", "tcp_flags", "icmp_type", "icmp_code",
       "icmpv6_type", "icmpv6_code", "nd_target", "nd_sll", "nd_tll",
       "eth_src", "eth_dst", "eth_type", "ip_src", "ip_dst", "ip_proto", "ip_ecn", "ip_dscp",
       "tcp_src", "tcp_dst", "udp_src", "udp_dst", "sctp_src", "sctp_dst", "nw_frag", "packet_type", "eth",
       "table", "priority", "cookie", "idle_timeout", "hard_timeout", "importance", "send_flow_rem",
       "check_overlap", "reset_counts", "no_packet_counts", "no_byte_counts",
       # shorthands
       "ip", "ipv6", "icmp", "icmp6", "tcp", "tcp6", "udp", "udp6", "sctp", "sctp6", "arp", "rarp", "mpls",
       "mplsm"]
)

# Names the brief lists that Open vSwitch 3.1 never accepts in a flow: skb_priority is not matchable through
# OpenFlow (every flow using it fails with OFPBAC_MATCH_INCONSISTENT), and icmpv4_type/icmpv4_code/ipv6_flabel/
# ip_ttl are OXM spellings that ovs-ofctl does not know as keywords ("unknown keyword ...").  They must still
# appear in the corpus, in rejected lines.
REJECTED_ONLY = ["skb_priority", "icmpv4_type", "icmpv4_code", "ipv6_flabel", "ip_ttl"]

REQUIRED_ACTIONS = [
    "output", "enqueue", "normal", "flood", "all", "local", "in_port", "controller", "drop", "mod_dl_src",
    "mod_dl_dst", "mod_nw_src", "mod_nw_dst", "mod_nw_tos", "mod_nw_ecn", "mod_nw_ttl", "mod_tp_src",
    "mod_tp_dst", "mod_vlan_vid", "mod_vlan_pcp", "strip_vlan", "push_vlan", "pop_vlan", "push_mpls",
    "pop_mpls", "set_field", "load", "move", "dec_ttl", "dec_mpls_ttl", "set_mpls_label", "set_mpls_tc",
    "set_mpls_ttl", "set_tunnel", "set_tunnel64", "set_queue", "pop_queue", "resubmit", "goto_table",
    "write_metadata", "clear_actions", "write_actions", "note", "group", "meter", "ct", "ct_clear", "learn",
    "clone", "multipath", "bundle", "bundle_load", "conjunction", "sample", "exit", "fin_timeout",
    "check_pkt_larger", "nat",
]

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _words(flow: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(flow)}


def _action_words(flow: str) -> set[str]:
    """Words that appear in action position: right after 'actions=' or ',' / '(' inside the action text."""
    m = re.search(r"(?:^|[\s,])(?:actions|apply_actions)\s*[=:]", flow)
    if not m:
        return set()
    text = flow[m.end():]
    return {w.lower() for w in re.findall(r"(?:^|[,(\s])([A-Za-z_][A-Za-z0-9_]*)", text)}


def coverage_report(results: list[tuple[str, dict]]) -> tuple[list[str], list[str]]:
    """Return (fields, actions) from the required lists that no accepted flow uses.

    "Accepted" means exit code 0 and no decode error in the output.  Names in REJECTED_ONLY are instead
    required to appear somewhere in the corpus."""
    field_words: set[str] = set()
    action_words: set[str] = set()
    for line, res in results:
        if res["rc"] != 0 or "***decode error" in res["stdout"]:
            continue
        flow = corpus_argv(line)[-1]
        m = re.search(r"(?:^|[\s,])(?:actions|apply_actions)\s*[=:]", flow)
        match_part = flow[:m.start()] if m else flow
        field_words |= _words(match_part)
        action_words |= _action_words(flow)
    all_words: set[str] = set()
    for line, _ in results:
        all_words |= _words(corpus_argv(line)[-1])
    missing_fields = sorted({f for f in REQUIRED_FIELDS if f not in field_words})
    missing_fields += sorted({f"{f} (not even rejected)" for f in REJECTED_ONLY if f not in all_words})
    missing_actions = sorted({a for a in REQUIRED_ACTIONS if a not in action_words})
    return missing_fields, missing_actions


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--output", type=Path, default=EXPECTED)
    ap.add_argument("--ovs-ofctl", default="ovs-ofctl", help="the reference program (default: %(default)s)")
    ap.add_argument("--check", action="store_true", help="compare with OUTPUT instead of writing it")
    ap.add_argument("-j", "--jobs", type=int, default=0)
    args = ap.parse_args(argv)

    program = [args.ovs_ofctl]
    lines = read_corpus(args.corpus)
    argvs = [corpus_argv(line) for line in lines]
    results = run_many(program, argvs, args.jobs)

    out = [json.dumps({"ovs_version": ovs_version(program)})]
    for line, a, res in zip(lines, argvs, results):
        out.append(json.dumps({"flow": line, "argv": a, "rc": res["rc"], "stdout": res["stdout"],
                               "stderr": res["stderr"]}, ensure_ascii=False))
    text = "\n".join(out) + "\n"

    accepted = sum(1 for r in results if r["rc"] == 0)
    versioned = sum(1 for line in lines if line.startswith("@"))
    dups = len(lines) - len(set(lines))
    print(f"{len(lines)} flows: {accepted} accepted, {len(lines) - accepted} rejected, "
          f"{versioned} with -O, {dups} duplicates", file=sys.stderr)
    missing_fields, missing_actions = coverage_report(list(zip(lines, results)))
    if missing_fields:
        print("fields/keywords never used in an accepted flow: " + " ".join(missing_fields), file=sys.stderr)
    if missing_actions:
        print("actions never used in an accepted flow: " + " ".join(missing_actions), file=sys.stderr)

    if args.check:
        old = args.output.read_text() if args.output.exists() else ""
        if old != text:
            print(f"{args.output} is out of date", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date", file=sys.stderr)
        return 0
    args.output.write_text(text)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
