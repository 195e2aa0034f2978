#!/usr/bin/env python3
"""Capture the real flow-mod bytes that ``ovs-ofctl add-flow`` sends, as ground truth for the OpenFlow codec.

For every flow that ``ovs-ofctl parse-flow`` accepts in ``tests/data/parse_flow_corpus.expected`` (and for the
extra flows in ``tests/openflow/extra_flows.txt``), this script runs a tiny fake OpenFlow switch on a Unix socket,
drives ``ovs-ofctl [-O VERSIONS] [-F FORMAT] add-flow unix:SOCKET FLOW`` against it, and records the bytes of the
``OFPT_FLOW_MOD`` / ``NXT_FLOW_MOD`` message it receives.  The result is ``tests/data/flow_mod_wire.jsonl``, one
JSON object per message::

    {"flow": "...", "argv": ["--no-names", "-O", "OpenFlow13", "add-flow", "unix:SOCK", "..."],
     "proto": "OF13_OXM", "hex": "040e...", "source": "corpus", "command": "add-flow",
     "ofp_print": "OFPT_FLOW_MOD (OF1.3) (xid=0x2): ADD ..."}

``proto`` is the name of the ``pyvswitch.flow.protocols.Proto`` member the message is encoded in.
The ``xid`` in the bytes is ovs-ofctl's (2, 4, ...), not parse-flow's 1.  ``ofp_print`` is what ``ovs-ofctl ofp-print`` makes of the captured bytes (its decoder's verdict, including
``***decode error: ...***``), so the codec's decoder can be compared with Open vSwitch's on every message.

The fake switch
---------------
``ovs-ofctl`` is the OpenFlow client.  The switch answers its HELLO with a HELLO offering versions 1.0 to 1.5
(a version bitmap), so the negotiated version is the highest one ``-O`` allows.  It then answers echo requests,
features requests and barrier requests, silently accepts the Nicira ``NXT_SET_FLOW_FORMAT`` and
``NXT_FLOW_MOD_TABLE_ID`` requests (no error reply means "accepted"), and records every flow-mod.
``ovs-ofctl`` runs with ``--no-names``; otherwise it would first ask for the switch's table names.

How add-flow picks its protocol, versus parse-flow
--------------------------------------------------
``parse-flow`` prints its choice: the lowest protocol of (usable AND allowed).  ``add-flow`` starts from the
protocol the negotiated version implies (OpenFlow10-table_id for 1.0, OpenFlow11 for 1.1, OXM for 1.2+), keeps it
if the flow can use it, and otherwise tries the allowed protocols from the lowest up, enabling each with
``NXT_SET_FLOW_FORMAT`` / ``NXT_FLOW_MOD_TABLE_ID``.  The fake switch sees those requests, so the script knows the
protocol add-flow ended up with.  For a corpus line it is compared with parse-flow's ``chosen protocol``; when
they differ the line is run again with ``-F <parse-flow's choice>`` so that the recorded bytes are the ones
parse-flow encoded (the script reports how many lines needed that).

The 28 corpus lines that parse-flow reports as ``***decode error***`` are recorded too: their message is sent by
add-flow all the same (it does not decode its own message), and the script checks it against the hex dump in the
``.expected`` file; the record's ``hex`` is the one from the hex dump and ``source`` is ``"corpus-decode-error"``.

Extra flows (``tests/openflow/extra_flows.txt``: ``[@VERSIONS] [!COMMAND] FLOW``, where COMMAND is
``add-flow``, ``mod-flows``, ``del-flows`` or their ``-strict`` forms) are captured with the ``-O`` versions their
line names, or, without ``@VERSIONS``, under every version that can express them.  Besides, every accepted corpus flow is captured again under each of OpenFlow 1.1 to 1.5
(``source`` ``"corpus-OF1x"``) when that version can express it, so the OXM and OpenFlow 1.1 encoders are checked
on the whole corpus and not only on its ``@OpenFlow13`` lines.

Usage: ``tools/capture_flow_mods.py [--output FILE] [-j JOBS] [--no-versions] [--check]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = ROOT / "tests" / "data" / "parse_flow_corpus.expected"
EXTRA = ROOT / "tests" / "openflow" / "extra_flows.txt"
OUTPUT = ROOT / "tests" / "data" / "flow_mod_wire.jsonl"

# parse-flow's protocol names -> pyvswitch.flow.protocols.Proto member names.
PROTO_BY_OVS_NAME = {
    "OpenFlow10-table_id": "OF10_STD", "OpenFlow10+table_id": "OF10_STD_TID",
    "NXM-table_id": "OF10_NXM", "NXM+table_id": "OF10_NXM_TID", "OpenFlow11": "OF11_STD",
    "OXM-OpenFlow12": "OF12_OXM", "OXM-OpenFlow13": "OF13_OXM", "OXM-OpenFlow14": "OF14_OXM",
    "OXM-OpenFlow15": "OF15_OXM",
}
OVS_NAME_BY_PROTO = {v: k for k, v in PROTO_BY_OVS_NAME.items()}
VERSION_BY_PROTO = {"OF10_STD": 1, "OF10_STD_TID": 1, "OF10_NXM": 1, "OF10_NXM_TID": 1, "OF11_STD": 2,
                    "OF12_OXM": 3, "OF13_OXM": 4, "OF14_OXM": 5, "OF15_OXM": 6}
VERSION_NAMES = {1: "OpenFlow10", 2: "OpenFlow11", 3: "OpenFlow12", 4: "OpenFlow13", 5: "OpenFlow14",
                 6: "OpenFlow15"}

NX_VENDOR = 0x00002320
NXT_FLOW_MOD = 13
NXT_SET_FLOW_FORMAT = 12
NXT_FLOW_MOD_TABLE_ID = 15
NXFF_NXM = 2

OFPT_HELLO, OFPT_ERROR, OFPT_ECHO_REQUEST, OFPT_ECHO_REPLY, OFPT_VENDOR = 0, 1, 2, 3, 4
OFPT_FEATURES_REQUEST, OFPT_FEATURES_REPLY, OFPT_FLOW_MOD = 5, 6, 14


# --- the fake switch ----------------------------------------------------------------------------------------

class FakeSwitch:
    """One OpenFlow session on a listening Unix socket: HELLO, then answer what ovs-ofctl asks and record
    flow-mods until the client closes the connection."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.sock.settimeout(20)
        self.version = 0
        self.flow_mods: list[bytes] = []
        self.nxm = False
        self.tid = False
        self.other: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(20)
            try:
                self._session(conn)
            except (OSError, EOFError):
                pass
        self.sock.close()

    @staticmethod
    def _recv_msg(conn: socket.socket) -> bytes:
        hdr = b""
        while len(hdr) < 8:
            chunk = conn.recv(8 - len(hdr))
            if not chunk:
                raise EOFError
            hdr += chunk
        length = struct.unpack("!H", hdr[2:4])[0]
        body = b""
        while len(body) < length - 8:
            chunk = conn.recv(length - 8 - len(body))
            if not chunk:
                raise EOFError
            body += chunk
        return hdr + body

    def _send(self, conn: socket.socket, mtype: int, xid: int, body: bytes = b"", version: int = 0) -> None:
        v = version or self.version
        conn.sendall(struct.pack("!BBHI", v, mtype, 8 + len(body), xid) + body)

    def _session(self, conn: socket.socket) -> None:
        hello = self._recv_msg(conn)
        client_version = hello[0]
        client_versions = set(range(1, client_version + 1))
        # A version-bitmap hello element (type 1) narrows the client's versions.
        elems = hello[8:]
        while len(elems) >= 4:
            etype, elen = struct.unpack("!HH", elems[:4])
            if elen < 4:
                break
            if etype == 1:
                bits = int.from_bytes(elems[4:8], "big") if elen >= 8 else 0
                client_versions = {v for v in range(32) if bits >> v & 1}
            elems = elems[(elen + 7) // 8 * 8:]
        common = client_versions & set(range(1, 7))
        self.version = max(common) if common else client_version
        # Our hello: version 1.5 plus a bitmap of 1.0..1.5.
        self._send(conn, OFPT_HELLO, struct.unpack("!I", hello[4:8])[0], struct.pack("!HHI", 1, 8, 0x7E),
                   version=6)
        while True:
            msg = self._recv_msg(conn)
            mtype = msg[1]
            xid = struct.unpack("!I", msg[4:8])[0]
            barrier_req = 18 if self.version == 1 else 20
            if mtype == OFPT_ECHO_REQUEST:
                self._send(conn, OFPT_ECHO_REPLY, xid, msg[8:])
            elif mtype == OFPT_FEATURES_REQUEST:
                if self.version == 1:
                    body = struct.pack("!QIB3xII", 1, 0, 254, 0, 0)
                else:
                    body = struct.pack("!QIBB2xII", 1, 0, 254, 0, 0, 0)
                self._send(conn, OFPT_FEATURES_REPLY, xid, body)
            elif mtype == barrier_req:
                self._send(conn, barrier_req + 1, xid)
            elif mtype == OFPT_FLOW_MOD:
                self.flow_mods.append(msg)
            elif mtype == OFPT_VENDOR and len(msg) >= 16:
                vendor, subtype = struct.unpack("!II", msg[8:16])
                if vendor == NX_VENDOR and subtype == NXT_FLOW_MOD:
                    self.flow_mods.append(msg)
                elif vendor == NX_VENDOR and subtype == NXT_SET_FLOW_FORMAT:
                    self.nxm = struct.unpack("!I", msg[16:20])[0] == NXFF_NXM
                elif vendor == NX_VENDOR and subtype == NXT_FLOW_MOD_TABLE_ID:
                    self.tid = bool(msg[16])
                else:
                    self.other.append(msg.hex())
            else:
                self.other.append(msg.hex())

    def protocol(self) -> str:
        """The protocol the session ended up with (what the recorded flow-mods are encoded in)."""
        if self.version == 1:
            return ("OF10_NXM" if self.nxm else "OF10_STD") + ("_TID" if self.tid else "")
        return {2: "OF11_STD", 3: "OF12_OXM", 4: "OF13_OXM", 5: "OF14_OXM", 6: "OF15_OXM"}[self.version]


COMMANDS = {"add-flow": ("add-flow", []), "mod-flows": ("mod-flows", []),
            "mod-flows-strict": ("mod-flows", ["--strict"]), "del-flows": ("del-flows", []),
            "del-flows-strict": ("del-flows", ["--strict"])}


def capture(flow: str, options: list[str], tmpdir: str, ovs_ofctl: str = "ovs-ofctl",
            command: str = "add-flow") -> dict:
    """Run ``ovs-ofctl OPTIONS COMMAND unix:SOCK FLOW`` against a fake switch; return what was captured."""
    fd, path = tempfile.mkstemp(suffix=".sock", dir=tmpdir)
    os.close(fd)
    os.unlink(path)
    sw = FakeSwitch(path)
    # --no-names: otherwise ovs-ofctl first asks the switch for its table names (table stats or features).
    verb, extra = COMMANDS[command]
    options = ["--no-names"] + extra + options
    argv = options + [verb, "unix:SOCK", flow]
    env = dict(os.environ, LC_ALL="C", LANG="C")
    try:
        proc = subprocess.run([ovs_ofctl] + options + [verb, f"unix:{path}", flow], check=False, capture_output=True,
                              text=True, timeout=30, env=env, errors="backslashreplace")
        rc, err = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired:
        rc, err = -1, "timeout"
    if not sw.flow_mods:
        # Unblock accept() if ovs-ofctl never connected.
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(path)
        except OSError:
            pass
    sw.thread.join(25)
    try:
        os.unlink(path)
    except OSError:
        pass
    return {"argv": argv, "rc": rc, "stderr": err, "msgs": [m.hex() for m in sw.flow_mods],
            "proto": sw.protocol() if sw.version else None, "other": sw.other}


def ofp_print(hexstr: str, ovs_ofctl: str = "ovs-ofctl") -> str:
    """``ovs-ofctl ofp-print HEX``: Open vSwitch's decoding of one message."""
    proc = subprocess.run([ovs_ofctl, "ofp-print", hexstr], check=False, capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, LC_ALL="C", LANG="C"), errors="backslashreplace")
    return proc.stdout


# --- the corpus ---------------------------------------------------------------------------------------------

_DUMP_LINE = re.compile(r"^[0-9a-f]{8}  (.*?) \|")


def hex_from_dump(lines: list[str]) -> str:
    """The bytes of an ``ovs_hex_dump`` (offset, 16 bytes with a '-' after the 8th, ASCII column)."""
    out = []
    for line in lines:
        m = _DUMP_LINE.match(line)
        if not m:
            break
        out.append(m.group(1).replace("-", " ").replace(" ", ""))
    return "".join(out)


def without_xid(hexstr: str) -> str:
    """A message's hex with its xid zeroed (parse-flow uses xid 1, add-flow 2, 4, ...)."""
    return hexstr[:8] + "00000000" + hexstr[16:]


def read_expected(path: Path = EXPECTED) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if "flow" in r]


def corpus_jobs(rows: list[dict]) -> list[dict]:
    """One job per corpus line that parse-flow accepted (decode errors included)."""
    jobs = []
    for r in rows:
        if r["rc"] != 0:
            continue
        lines = r["stdout"].splitlines()
        chosen = lines[1].split(": ", 1)[1]
        proto = PROTO_BY_OVS_NAME[chosen]
        flow = r["argv"][-1]
        options = r["argv"][:-2]          # ["-O", "OpenFlow13"] or []
        job = {"flow": r["flow"], "text": flow, "options": options, "proto": proto, "source": "corpus"}
        if "***decode error" in lines[2]:
            job["source"] = "corpus-decode-error"
            job["dump_hex"] = hex_from_dump(lines[3:])
            job["error"] = lines[2].split("***decode error: ", 1)[1].rstrip("*")
        jobs.append(job)
    return jobs


def read_extra(path: Path = EXTRA) -> list[dict]:
    """Extra flows: one per line, ``[@VERSIONS] [!COMMAND] FLOW``, ``#`` comments.  A line without
    ``@VERSIONS`` is captured under OpenFlow 1.0 and again under each of 1.1 to 1.5."""
    jobs: list[dict] = []
    if not path.exists():
        return jobs
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        options: list[str] = []
        text = line
        if text.startswith("@"):
            version, _, text = text[1:].partition(" ")
            options = ["-O", version]
            text = text.strip()
        command = "add-flow"
        if text.startswith("!"):
            command, _, text = text[1:].partition(" ")
            text = text.strip()
            if command not in COMMANDS:
                raise SystemExit(f"{path}: unknown command {command!r} in {line!r}")
        base = {"flow": line, "text": text, "proto": None, "command": command}
        jobs.append(dict(base, options=options, source="extra"))
        if not options:
            for v in range(2, 7):
                jobs.append(dict(base, options=["-O", VERSION_NAMES[v]], source=f"extra-OF1{v - 1}"))
    return jobs


def run_job(job: dict, tmpdir: str, ovs_ofctl: str) -> list[dict]:
    """Capture one job; force parse-flow's protocol with -F when add-flow picked another one."""
    command = job.get("command", "add-flow")
    res = capture(job["text"], job["options"], tmpdir, ovs_ofctl, command)
    forced = False
    if job["proto"] and res["proto"] != job["proto"]:
        options = job["options"] + ["-F", OVS_NAME_BY_PROTO[job["proto"]]]
        if not any(o == "-O" for o in job["options"]):
            options = ["-O", VERSION_NAMES[VERSION_BY_PROTO[job["proto"]]]] + options
        res = capture(job["text"], options, tmpdir, ovs_ofctl, command)
        forced = True
    out = []
    for h in res["msgs"]:
        rec = {"flow": job["flow"], "argv": res["argv"], "proto": res["proto"], "hex": h,
               "source": job["source"], "command": command}
        if forced:
            rec["forced"] = True
        if job["source"] == "corpus-decode-error":
            rec["captured_hex"] = h
            rec["hex"] = job["dump_hex"]
            rec["error"] = job["error"]
        out.append(rec)
    if not out:
        out.append({"flow": job["flow"], "argv": res["argv"], "proto": res["proto"], "hex": None,
                    "source": job["source"], "rc": res["rc"], "stderr": res["stderr"].strip()[-300:]})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--output", type=Path, default=OUTPUT)
    ap.add_argument("--expected", type=Path, default=EXPECTED)
    ap.add_argument("--extra", type=Path, default=EXTRA)
    ap.add_argument("--ovs-ofctl", default="ovs-ofctl")
    ap.add_argument("--no-versions", action="store_true",
                    help="do not capture the accepted corpus flows again under OpenFlow 1.1 .. 1.5")
    ap.add_argument("--check", action="store_true", help="compare with OUTPUT instead of writing it")
    ap.add_argument("-j", "--jobs", type=int, default=0)
    args = ap.parse_args(argv)

    jobs = corpus_jobs(read_expected(args.expected))
    if not args.no_versions:
        for job in list(jobs):
            if job["source"] != "corpus" or job["options"]:
                continue
            for v in range(2, 7):
                jobs.append({"flow": job["flow"], "text": job["text"], "options": ["-O", VERSION_NAMES[v]],
                             "proto": None, "source": f"corpus-OF1{v - 1}"})
    jobs += read_extra(args.extra)

    n = args.jobs or min(16, (os.cpu_count() or 2) * 4)
    with tempfile.TemporaryDirectory(prefix="capfm") as tmpdir:
        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
            results = list(pool.map(lambda j: run_job(j, tmpdir, args.ovs_ofctl), jobs))
        records = [rec for group in results for rec in group]
        hexes = [rec["hex"] for rec in records if rec["hex"]]
        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
            prints = dict(zip(hexes, pool.map(lambda h: ofp_print(h, args.ovs_ofctl), hexes)))
    for rec in records:
        if rec["hex"]:
            rec["ofp_print"] = prints[rec["hex"]]

    text = "".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec in records if rec["hex"])
    captured = [r for r in records if r["hex"]]
    failed = [r for r in records if not r["hex"]]
    forced = [r for r in captured if r.get("forced")]
    mismatched = [r for r in captured if r["source"] == "corpus-decode-error"
                  and without_xid(r["captured_hex"]) != without_xid(r["hex"])]
    corpus_failed = [r for r in failed if r["source"] in ("corpus", "corpus-decode-error")
                     or (r["source"] == "extra" and "-O" in r["argv"])]
    print(f"{len(captured)} flow-mods captured from {len(jobs)} runs; {len(forced)} corpus lines needed -F to "
          f"match parse-flow's protocol; {len(failed)} runs sent no flow-mod ({len(corpus_failed)} of them "
          f"corpus or extra lines); {len(mismatched)} decode-error dumps differ from the captured bytes",
          file=sys.stderr)
    for r in corpus_failed[:20]:
        print(f"  no flow-mod: {r['flow']!r}: {r.get('stderr')}", file=sys.stderr)
    for r in mismatched:
        print(f"  dump differs: {r['flow']!r}", file=sys.stderr)
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
