"""The ``pyvs-ofctl`` commands that talk to a switch, with ovs-ofctl 3.1's syntax, output and exit codes.

A *target* is a bridge name (its management socket ``RUNDIR/BRIDGE.mgmt``, ``RUNDIR`` from ``$PYVS_RUNDIR`` or
``/var/run/pyvswitch``), a socket file, or an OpenFlow address (``unix:PATH``, ``tcp:IP[:PORT]``).

What the user sees depends on more than the replies: every message printed carries its transaction id, and
ovs-ofctl numbers transactions with one counter for the whole process, HELLOs included, across every connection
it opens.  So the commands here open the same connections and send the same requests, in the same order, as
ovs-ofctl does, and ``Session`` keeps that counter:

* the *name lookups*: before parsing a flow, group or port argument ovs-ofctl (unless ``--no-names``) opens one
  connection to learn the table names (``OFPST_TABLE`` before OpenFlow 1.3, ``OFPST_TABLE_FEATURES`` after) and
  one to learn the port names (``OFPT_FEATURES_REQUEST`` before 1.3, ``OFPST_PORT_DESC`` after), each once per
  process;
* the *flow format* dance of OpenFlow 1.0 (``NXT_SET_FLOW_FORMAT``, ``NXT_FLOW_MOD_TABLE_ID``, each followed by a
  barrier): a flow-mod keeps the protocol the connection starts in if the flow can use it, and otherwise tries
  the allowed protocols from the lowest; a flow dump prefers the most expressive protocol (OXM 1.5 down to
  NXM, then OpenFlow 1.0);
* every modifying request is followed by its own barrier (``transact_noreply``); an ``OFPT_ERROR`` reply is
  printed on stderr and the command exits 1; a statistics request prints each reply on stdout (an error reply
  too, with exit status 0).

Messages are printed by the codec modules' ``PRINTERS`` (``message_text``), an ``OFPT_ERROR`` with the message it
refers to printed under it.

Commands (``COMMANDS``): ``show``, ``dump-desc``, ``dump-tables``, ``dump-table-features``, ``dump-table-desc``,
``dump-ports``, ``dump-ports-desc``, ``mod-port``, ``queue-stats``, ``queue-get-config``, ``get-frags``,
``set-frags``, ``ct-flush-zone``, ``dump-flows``, ``dump-aggregate``, ``add-flow``, ``add-flows``, ``mod-flows``,
``del-flows``, ``replace-flows``, ``diff-flows``, ``packet-out``, the group commands (``add-group``,
``add-groups``, ``mod-group``, ``del-groups``, ``insert-buckets``, ``remove-buckets``, ``dump-groups``,
``dump-group-stats``, ``dump-group-features``), the meter commands (``add-meter``, ``mod-meter``, ``del-meters``,
``dump-meters``, ``meter-stats``, ``meter-features``), the TLV map commands (``add-tlv-map``, ``del-tlv-map``,
``dump-tlv-map``), ``monitor``, ``snoop``, ``probe`` and ``ping``.  ``--bundle`` sends flow and group changes as
one atomic, ordered bundle (``Session.bundle_transact``); ``--timeout`` is one deadline for the whole command,
which then ends as ovs-ofctl does when its alarm rings.

Known differences from ovs-ofctl:

* port names are read in ``in_port``, ``out_port``, ``watch_port``, ``output`` and ``enqueue`` only, table names
  not at all; ``--names`` does not yet print names (``ofp_flow_stats.format_flow_stats`` ignores them);
* ``diff-flows`` and ``replace-flows`` visit flows as Open vSwitch's classifier does (by table, then by mask
  in order of priority), but flows that share a mask in the order they were read, where Open vSwitch follows its
  hash tables: with many such flows, lines may come in another order;
* ``-m`` is accepted but does not change what is printed.
"""

from __future__ import annotations

import errno
import itertools
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyvswitch.flow import match_text as MT
from pyvswitch.flow import values as V
from pyvswitch.flow.protocols import PROTO_VERSION, Proto
from pyvswitch.ofproto import flow_mod_text as FMT
from pyvswitch.ofproto.flow_mod import Command, FlowMod
from pyvswitch.openflow import ofp_msgs as M
from pyvswitch.openflow import vconn as VC
from pyvswitch.openflow.ofp_errors import OFPDecodeError
from pyvswitch.openflow.ofp_flow_mod import encode_flow_mod
from pyvswitch.openflow.ofp_print import message_text

if TYPE_CHECKING:
    from pyvswitch.cli.ofctl import Context

__all__ = ["COMMANDS", "Session", "SwitchCommand", "SwitchFatal", "message_text", "print_message"]


class SwitchFatal(Exception):
    """Ends the command: ``message`` (if any) printed as ``pyvs-ofctl: MESSAGE``, exit status ``code``."""

    def __init__(self, message: str | None, code: int = 1) -> None:
        super().__init__(message or "")
        self.message = message
        self.code = code


# --------------------------------------------------------------------------------------------------- printing

def print_message(data: bytes, out: Any) -> None:
    """``ofp_print``: the message's text and a newline."""
    out.write(message_text(data) + "\n")


# ---------------------------------------------------------------------------------------------------- session


_DUMP_ORDER = [Proto.OF15_OXM, Proto.OF14_OXM, Proto.OF13_OXM, Proto.OF12_OXM, Proto.OF11_STD, Proto.OF10_NXM,
               Proto.OF10_STD]
_PROTO_BITS = [p for p in Proto if p.value and (p.value & (p.value - 1)) == 0]
_VERSION_PROTO = {1: Proto.OF10_STD, 2: Proto.OF11_STD, 3: Proto.OF12_OXM, 4: Proto.OF13_OXM, 5: Proto.OF14_OXM,
                  6: Proto.OF15_OXM}
_TID_BITS = Proto.OF10_STD_TID | Proto.OF10_NXM_TID
NXFF_OPENFLOW10 = 0
NXFF_NXM = 2


@dataclass
class Conn:
    """One negotiated connection and the name the user gave for it."""

    target: str
    conn: VC.BlockingConnection
    version: int
    protocol: Proto = Proto.NONE

    @property
    def name(self) -> str:
        return self.conn.name


@dataclass
class Session:
    """A run of one command: the options, the process-wide xid counter and the name maps."""

    ctx: Context
    rundir: str = field(default_factory=VC.default_rundir)
    _xids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _port_names: dict[str, dict[int, str]] = field(default_factory=dict)
    _table_names: dict[str, dict[int, str]] = field(default_factory=dict)
    _deadline: float | None = None
    version_mask: set[int] | None = None  # a command's own limit on the versions (mod-table)

    def __post_init__(self) -> None:
        # --timeout is ovs-ofctl's alarm(): one limit for the whole command.
        if self.ctx.timeout is not None:
            self._deadline = time.monotonic() + self.ctx.timeout

    def _remaining(self) -> float | None:
        if self._deadline is None:
            return None
        left = self._deadline - time.monotonic()
        if left <= 0:
            self._alarm()
        return left

    def _alarm(self) -> None:
        from pyvswitch.util import vlog
        self.ctx.stdout.flush()
        vlog.Vlog("fatal_signal").warn("terminating with signal 14 (Alarm clock)")
        raise SwitchFatal(None, 142)

    # --- options ---------------------------------------------------------------------------------------------

    @property
    def versions(self) -> set[int]:
        versions = set(self.ctx.versions) if self.ctx.versions else {1}
        if self.ctx.bundle and max(versions) < 4:
            # --bundle needs OpenFlow 1.3's extension or 1.4: ovs-ofctl then allows OpenFlow 1.4 too.
            versions.add(5)
        if self.version_mask is not None:
            versions &= self.version_mask
        return versions

    @property
    def use_names(self) -> bool:
        """Names are accepted in arguments unless ``--no-names``."""
        return self.ctx.names is not False

    def allowed_protocols(self) -> Proto:
        try:
            return FMT.allowed_protocols(self.versions, self.ctx.flow_formats)
        except FMT.FlowModParseError as e:
            raise SwitchFatal(str(e)) from None

    def next_xid(self) -> int:
        return next(self._xids)

    # --- connections -----------------------------------------------------------------------------------------

    def open(self, target: str, suffix: str = "mgmt") -> Conn:
        """OVS ``open_vconn__``: an address as written, else ``target`` as a socket file, else the bridge's
        socket ``RUNDIR/TARGET.SUFFIX``; the HELLO takes one xid."""
        versions = sorted(self.versions)
        timeout = self._remaining()
        if ":" in target:
            candidates = [(target, True)]
        else:
            candidates = [(target, False), (os.path.join(self.rundir, f"{target}.{suffix}"), False)]
        for path, is_address in candidates:
            address = path if is_address else f"unix:{path}"
            try:
                bc = VC.open_blocking(address, versions, timeout)
            except VC.VconnOpenError as e:
                if is_address:
                    raise SwitchFatal(f"connecting to {target} ({VC.error_string(e.errno or 0)})") from None
                if e.errno == errno.ENOENT:
                    continue
                raise SwitchFatal(f"{path}: failed to open socket ({VC.error_string(e.errno or 0)})") from None
            except VC.VconnError as e:
                if is_address and e.errno not in (errno.EPROTO,):
                    raise SwitchFatal(f"connecting to {target} ({VC.error_string(e.errno or 0)})") from None
                raise SwitchFatal(f"{target}: failed to connect to socket ({_connect_error(e)})") from None
            except OSError as e:
                # A peer that closes at once (a bridge's snoop socket without a controller) resets the
                # connection under Open vSwitch's client, which reads before it finishes writing its HELLO.
                err = errno.ECONNRESET if e.errno == errno.EPIPE else (e.errno or 0)
                raise SwitchFatal(f"{target}: failed to connect to socket ({VC.error_string(err)})") from None
            self.next_xid()  # the HELLO's
            return Conn(target, bc, bc.version, _VERSION_PROTO[bc.version])
        raise SwitchFatal(f"{target} is not a bridge or a socket")

    def send(self, c: Conn, data: bytes) -> None:
        try:
            c.conn.send(data)
        except OSError as e:
            raise SwitchFatal(f"talking to {c.name} ({VC.error_string(e.errno or 0)})") from None

    def recv(self, c: Conn, what: str = "talking to", raw: bool = False) -> bytes:
        """The next message; with ``raw``, echo requests too (not answered), as ``monitor`` and ``snoop`` read."""
        c.conn.timeout = self._remaining()
        try:
            if raw:
                # BlockingConnection.recv answers and hides echo requests; monitor and snoop print them.
                pending: list[bytes] = getattr(c.conn, "_pending", [])
                return pending.pop(0) if pending else c.conn._read_message()
            return c.conn.recv()
        except EOFError:
            raise SwitchFatal(f"{what} {c.name} (End of file)" if what == "talking to"
                              else f"{what} (End of file)") from None
        except VC.VconnError as e:
            if e.errno == errno.ETIMEDOUT and self._deadline is not None:
                self._alarm()
            raise SwitchFatal(f"talking to {c.name} ({VC.error_string(e.errno or 0)})") from None
        except OSError as e:
            raise SwitchFatal(f"talking to {c.name} ({VC.error_string(e.errno or 0)})") from None

    def transact(self, c: Conn, request: bytes, what: str = "talking to") -> list[bytes]:
        """A request and every part of its reply (or the error that answers it); ``what`` begins the error
        message when the connection fails."""
        xid = _xid_of(request)
        self.send(c, request)
        replies: list[bytes] = []
        while True:
            reply = self.recv(c, what)
            if _xid_of(reply) != xid:
                continue
            replies.append(reply)
            if not _more(reply):
                return replies

    def transact_noreply(self, c: Conn, request: bytes) -> bytes | None:
        """OVS ``vconn_transact_noreply``: send ``request`` and a barrier; the reply to the request (an error)
        if one comes before the barrier's reply."""
        xid = _xid_of(request)
        bxid = self.next_xid()
        self.send(c, request)
        self.send(c, M.encode(M.raw_for("BARRIER_REQUEST", c.version), c.version, b"", bxid))
        while True:
            reply = self.recv(c)
            rx = _xid_of(reply)
            if rx == xid:
                return reply
            if rx == bxid:
                return None

    def transact_or_die(self, c: Conn, requests: list[bytes]) -> None:
        """OVS ``transact_multiple_noreply``: an error reply is printed on stderr and ends the command (1)."""
        for request in requests:
            reply = self.transact_noreply(c, request)
            if reply is not None:
                self.ctx.stdout.flush()
                print_message(reply, self.ctx.stderr)
                raise SwitchFatal(None, 1)

    def _bundle_error(self, reply: bytes) -> None:
        """OVS ``bundle_print_errors``: ``Error NAME for: MESSAGE`` on stderr."""
        msg = M.decode(reply)
        try:
            name, inner = M.decode_error(msg)
        except OFPDecodeError:
            print_message(reply, self.ctx.stderr)
            return
        if len(inner) >= 8 and inner[1] in (4, 34):  # an ONF or OpenFlow 1.4 BUNDLE_ADD_MESSAGE
            from pyvswitch.openflow import ofp_bundle as B
            try:
                inner_msg = M.decode(inner)
                if inner_msg.type == "BUNDLE_ADD_MESSAGE":
                    inner = B.decode_bundle_add(inner_msg).message
            except OFPDecodeError:
                pass
        self.ctx.stdout.flush()
        self.ctx.stderr.write(f"Error {name} for: {message_text(inner)}\n")

    def _bundle_ctrl(self, c: Conn, btype: int) -> bool:
        """Send a bundle control request and wait for its reply, reporting the errors that come meanwhile;
        False if any came."""
        from pyvswitch.openflow import ofp_bundle as B
        xid = self.next_xid()
        self.send(c, B.encode_bundle_ctrl(B.BundleCtrl(0, btype), c.version, xid))
        ok = True
        while True:
            reply = self.recv(c)
            if reply[1] == 1:  # OFPT_ERROR
                self._bundle_error(reply)
                ok = False
                if _xid_of(reply) == xid:
                    return False
                continue
            if _xid_of(reply) == xid:
                return ok

    def bundle_transact(self, c: Conn, requests: list[bytes]) -> None:
        """OVS ``vconn_bundle_transact`` as ``ovs-ofctl --bundle`` uses it: open an atomic, ordered bundle, add
        every request, wait for a barrier, then commit (or discard after an error); errors are printed as
        ``Error NAME for: MESSAGE`` and end the command with ``talking to TARGET (Protocol error)``."""
        from pyvswitch.openflow import ofp_bundle as B
        if not self._bundle_ctrl(c, B.OFPBCT_OPEN_REQUEST):
            raise SwitchFatal(f"talking to {c.name} (Protocol error)")
        for request in requests:
            self.send(c, B.encode_bundle_add(B.BundleAdd(message=request), c.version))
        bxid = self.next_xid()
        self.send(c, M.encode(M.raw_for("BARRIER_REQUEST", c.version), c.version, b"", bxid))
        ok = True
        while True:
            reply = self.recv(c)
            if reply[1] == 1:
                self._bundle_error(reply)
                ok = False
            elif _xid_of(reply) == bxid:
                break
        if ok and self._bundle_ctrl(c, B.OFPBCT_COMMIT_REQUEST):
            return
        if not ok:
            self._bundle_ctrl(c, B.OFPBCT_DISCARD_REQUEST)
        raise SwitchFatal(f"talking to {c.name} (Protocol error)")

    def dump(self, c: Conn, request: bytes) -> list[bytes]:
        """OVS ``dump_transaction``: send a request and print each reply on stdout as it comes (an error reply
        too)."""
        stats = M.decode(request).raw.is_stats
        xid = _xid_of(request)
        self.send(c, request)
        replies: list[bytes] = []
        while True:
            reply = self.recv(c, "OpenFlow packet receive failed" if stats else "talking to")
            if _xid_of(reply) != xid:
                continue
            print_message(reply, self.ctx.stdout)
            replies.append(reply)
            if not _more(reply):
                return replies

    def request(self, c: Conn, raw_type: str, body: bytes = b"") -> bytes:
        """A request of message type ``raw_type`` in the connection's version, with the next xid."""
        return M.encode(M.raw_for(raw_type, c.version), c.version, body, self.next_xid())

    # --- name lookups ----------------------------------------------------------------------------------------

    def table_names(self, target: str) -> dict[int, str]:
        """OVS ``tables_to_accept``: one connection, asking for table names (once per target)."""
        if not self.use_names:
            return {}
        if target not in self._table_names:
            c = self.open(target)
            if c.version >= 4:
                request = M.encode("OFPST13_TABLE_FEATURES_REQUEST", c.version, b"", self.next_xid())
            else:
                request = self.request(c, "TABLE_STATS_REQUEST")
            self.transact(c, request, "OpenFlow receive failed")
            c.conn.close()
            self._table_names[target] = {}
        return self._table_names[target]

    def port_names(self, target: str) -> dict[int, str]:
        """OVS ``ports_to_accept``: one connection asking for the ports (once per target); returns
        number -> name."""
        if not self.use_names:
            return {}
        if target not in self._port_names:
            c = self.open(target)
            self._port_names[target] = self._fetch_ports(c)
            c.conn.close()
        return self._port_names[target]

    def _fetch_ports(self, c: Conn) -> dict[int, str]:
        from pyvswitch.openflow import ofp_port
        names: dict[int, str] = {}
        if c.version < 4:
            replies = self.transact(c, M.encode("OFPT_FEATURES_REQUEST", c.version, b"", self.next_xid()),
                                    "OpenFlow receive failed")
            for r in replies:
                msg = M.decode(r)
                if msg.type == "FEATURES_REPLY" and len(msg.body) > 24:
                    # Before OpenFlow 1.3 the ports follow the 24 bytes of switch features.
                    names.update({p.port_no: p.name for p in ofp_port.unpack_ports(msg.body[24:], c.version)})
        else:
            replies = self.transact(c, ofp_port.encode_port_desc_request(V.OFPP_ANY, c.version, self.next_xid()),
                                    "OpenFlow receive failed")
            for r in replies:
                msg = M.decode(r)
                if msg.type == "PORT_DESC_STATS_REPLY":
                    names.update({p.port_no: p.name for p in ofp_port.decode_port_desc_reply(msg)})
        return names

    def name_lookups(self, target: str, ports_first: bool = False) -> None:
        if ports_first:
            self.port_names(target)
            self.table_names(target)
        else:
            self.table_names(target)
            self.port_names(target)

    def parse_port(self, target: str, text: str) -> int:
        """A port argument: a number, a reserved name (``LOCAL``) or, looked up on the switch, a port's name."""
        port = V.parse_port(text)
        if port is not None:
            return port
        for number, name in self.port_names(target).items():
            if name == text:
                return number
        raise SwitchFatal(f"{target}: unknown port `{text}'")

    # --- flow formats ----------------------------------------------------------------------------------------

    def try_set_protocol(self, c: Conn, want: Proto) -> bool:
        """OVS ``try_set_protocol``: switch the connection's flow format (and table-id extension) to ``want``,
        one request (and barrier) per step; False when the switch refuses or the versions differ."""
        while c.protocol != want:
            if PROTO_VERSION[c.protocol] != PROTO_VERSION[want] or c.version != 1:
                return False
            cur_tid = c.protocol & _TID_BITS
            want_nxm = bool(want & Proto.OF10_NXM_ANY)
            cur_nxm = bool(c.protocol & Proto.OF10_NXM_ANY)
            if want_nxm != cur_nxm:
                fmt = NXFF_NXM if want_nxm else NXFF_OPENFLOW10
                request = M.encode("NXT_SET_FLOW_FORMAT", 1, fmt.to_bytes(4, "big"), self.next_xid())
                if want_nxm:
                    nxt = Proto.OF10_NXM_TID if cur_tid else Proto.OF10_NXM
                else:
                    nxt = Proto.OF10_STD_TID if cur_tid else Proto.OF10_STD
            else:
                enable = bool(want & _TID_BITS)
                request = M.encode("NXT_FLOW_MOD_TABLE_ID", 1, bytes([int(enable)]) + bytes(7), self.next_xid())
                nxt = want
            if self.transact_noreply(c, request) is not None:
                return False
            c.protocol = nxt
        return True

    def open_for_flow_mod(self, target: str, usable: Proto) -> Conn:
        """OVS ``open_vconn_for_flow_mod``."""
        allowed = self.allowed_protocols()
        if not usable & allowed:
            raise SwitchFatal(f"none of the usable flow formats ({FMT.protocols_to_string(usable)}) is among the "
                              f"allowed flow formats ({FMT.protocols_to_string(allowed)})")
        c = self.open(target)
        if usable & allowed & c.protocol:
            return c
        for f in _PROTO_BITS:
            if f != c.protocol and f & usable & allowed and self.try_set_protocol(c, f):
                return c
        raise SwitchFatal(f"switch does not support any of the usable flow formats "
                          f"({FMT.protocols_to_string(usable)})")

    def set_protocol_for_flow_dump(self, c: Conn, usable: Proto) -> Proto:
        """OVS ``set_protocol_for_flow_dump``."""
        allowed = self.allowed_protocols()
        for f in _DUMP_ORDER:
            if f & usable & allowed and self.try_set_protocol(c, f):
                return f
        if usable & allowed:
            raise SwitchFatal(f"switch does not support any of the usable flow formats "
                              f"({FMT.protocols_to_string(usable)})")
        raise SwitchFatal(f"none of the usable flow formats ({FMT.protocols_to_string(usable)}) is among the "
                          f"allowed flow formats ({FMT.protocols_to_string(allowed)})")


def _connect_error(e: OSError) -> str:
    # Open vSwitch's client learns of a failed negotiation when its HELLO_FAILED error cannot be sent to a peer
    # that already closed: it reports the broken pipe.
    if e.errno == errno.EPROTO:
        return VC.error_string(errno.EPIPE)
    return VC.error_string(e.errno or 0)


def _xid_of(data: bytes) -> int:
    return int.from_bytes(data[4:8], "big")


def _more(reply: bytes) -> bool:
    try:
        msg = M.decode(reply)
    except OFPDecodeError:
        return False
    return msg.raw.is_stats and msg.raw.is_reply and bool(msg.flags & M.OFPSF_REPLY_MORE)


def _read_file(name: str) -> str:
    try:
        if name == "-":
            return sys.stdin.read()
        with open(name, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError as e:
        raise SwitchFatal(f"{name}: open failed ({e.strerror})") from None


def _preprocessed(text: str) -> list[tuple[int, str]]:
    """OVS ``ds_get_preprocessed_line``: ``#`` starts a comment, blank lines are skipped."""
    out = []
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    for n, line in enumerate(parts, 1):
        line = line.split("#", 1)[0]
        if line.strip(" \t\r\n"):
            out.append((n, line))
    return out


# ----------------------------------------------------------------------------------------------- flow commands


_PORT_REF = re.compile(r"(?<![\w.])(in_port|out_port|watch_port|output|enqueue)([=:(])([^,\s():\[\]]+)")


def _substitute_port_names(text: str, names: dict[int, str]) -> str:
    """Port names where the flow syntax takes a port (``in_port=p1``, ``output:p1``, ``out_port=p1``...) as
    their numbers, as ovs-ofctl reads them with the switch's port map.  Numbers and reserved names (``LOCAL``)
    are left alone; so is everything outside those keywords (a gap: Open vSwitch accepts names in every
    action that takes a port)."""
    if not names:
        return text
    by_name = {name: number for number, name in names.items()}

    def repl(m: re.Match[str]) -> str:
        word = m.group(3)
        if word in by_name and not word.isdigit() and word.upper() not in V.PORT_NUMBERS:
            return f"{m.group(1)}{m.group(2)}{by_name[word]}"
        return m.group(0)
    return _PORT_REF.sub(repl, text)


def _parse_flow(text: str, command: Command | None, prefix: str = "", *, command_prefix: bool = False,
                names: dict[int, str] | None = None) -> FMT.ParsedFlowMod:
    if names:
        text = _substitute_port_names(text, names)
    try:
        return FMT.parse_flow_mod_str(text, command, command_prefix=command_prefix)
    except FMT.FlowModParseError as e:
        raise SwitchFatal(prefix + str(e)) from None


def _flow_mods(s: Session, c: Conn, parsed: list[FMT.ParsedFlowMod]) -> None:
    """Send each flow-mod with its own barrier (or all in one bundle with ``--bundle``)."""
    proto = c.protocol
    if s.ctx.bundle:
        _bundle_flow_mods(s, c, parsed)
        return
    for pfm in parsed:
        data = encode_flow_mod(pfm.fm, proto, s.next_xid(), tun_md=pfm.tun_md if pfm.tun_md.entries else None)
        s.transact_or_die(c, [data])


def _bundle_flow_mods(s: Session, c: Conn, parsed: list[FMT.ParsedFlowMod]) -> None:
    requests = [encode_flow_mod(pfm.fm, c.protocol, s.next_xid(), tun_md=pfm.tun_md if pfm.tun_md.entries else None)
                for pfm in parsed]
    s.bundle_transact(c, requests)


def _do_flow_mod(s: Session, target: str, flows: list[str], command: Command, prefixes: list[str] | None = None,
                 *, command_prefix: bool = False) -> None:
    s.name_lookups(target)
    parsed = []
    usable = Proto.ANY
    names = s.port_names(target)
    for i, text in enumerate(flows):
        pfm = _parse_flow(text, command, prefixes[i] if prefixes else "", command_prefix=command_prefix,
                          names=names)
        usable &= pfm.usable
        parsed.append(pfm)
    c = s.open_for_flow_mod(target, usable)
    _flow_mods(s, c, parsed)


def cmd_add_flow(s: Session, args: list[str]) -> None:
    _do_flow_mod(s, args[0], [args[1]], Command.ADD)


def cmd_add_flows(s: Session, args: list[str]) -> None:
    s.name_lookups(args[0])
    lines = _preprocessed(_read_file(args[1]))
    _do_flow_mod(s, args[0], [t for _, t in lines], Command.ADD, [f"{args[1]}:{n}: " for n, _ in lines],
                 command_prefix=True)


def cmd_mod_flows(s: Session, args: list[str]) -> None:
    _do_flow_mod(s, args[0], [args[1]], Command.MODIFY_STRICT if s.ctx.strict else Command.MODIFY)


def cmd_del_flows(s: Session, args: list[str]) -> None:
    text = args[1] if len(args) > 1 else ""
    _do_flow_mod(s, args[0], [text], Command.DELETE_STRICT if s.ctx.strict else Command.DELETE)


def _flow_stats_request(s: Session, text: str, aggregate: bool, names: dict[int, str] | None = None
                        ) -> tuple[Any, Proto]:
    from pyvswitch.openflow import ofp_flow_stats as FS
    pfm = _parse_flow(text, None, names=names)
    fm = pfm.fm
    usable = pfm.usable
    # Statistics requests carry the table id in every protocol (OVS parse_ofp_flow_stats_request_str).
    if usable & Proto.OF10_STD_TID:
        usable |= Proto.OF10_STD
    if usable & Proto.OF10_NXM_TID:
        usable |= Proto.OF10_NXM
    req = FS.FlowStatsRequest(match=fm.match, table_id=255 if fm.table_id is None else fm.table_id,
                              out_port=fm.out_port, out_group=fm.out_group, cookie=fm.cookie,
                              cookie_mask=fm.cookie_mask, aggregate=aggregate, tun_md=pfm.tun_md)
    return req, usable


def _encode_stats_request(s: Session, c: Conn, req: Any, proto: Proto) -> bytes:
    from pyvswitch.openflow import ofp_flow_stats as FS
    return FS.encode_flow_stats_request(req, c.version, s.next_xid(), nxm=bool(proto & Proto.OF10_NXM_ANY))


def _dump_flow_stats(s: Session, target: str, text: str) -> tuple[Conn, list[Any]]:
    """Open, set the protocol, send a flow-stats request and collect every entry (``vconn_dump_flows``)."""
    from pyvswitch.openflow import ofp_flow_stats as FS
    req, usable = _flow_stats_request(s, text, False, s.port_names(target) if text else None)
    c = s.open(target)
    proto = s.set_protocol_for_flow_dump(c, usable)
    replies = s.transact(c, _encode_stats_request(s, c, req, proto))
    entries: list[Any] = []
    for r in replies:
        msg = M.decode(r)
        if msg.type == "ERROR":
            s.ctx.stdout.flush()
            print_message(r, s.ctx.stderr)
            raise SwitchFatal(None, 1)
        decoded = FS.decode_flow_stats_reply(msg)
        if msg.raw.family == "NXST":
            # vconn_dump_flows decodes without Nicira's flow-age extension: no idle_age or hard_age.
            for fs in decoded:
                fs.idle_age = fs.hard_age = None
        entries.extend(decoded)
    return c, entries


def _sort_flows(entries: list[Any], criteria: list[tuple[str | None, bool]]) -> list[Any]:
    """OVS ``compare_flows``: each ``--sort``/``--rsort`` criterion in turn (a field, or the priority), flows
    without the field last whatever the direction; then higher priorities first; ties keep the switch's order."""
    import functools

    from pyvswitch.flow import fields as F
    from pyvswitch.flow import match as FM

    fields: list[tuple[Any, bool]] = []
    for name, reverse in criteria:
        if name is None or name == "priority":
            fields.append((None, reverse))
            continue
        f = F.BY_NAME.get(name)
        if f is None:
            raise SwitchFatal(f"{name}: unknown field name")
        fields.append((f, reverse))

    def present(fs: Any, f: Any) -> bool:
        mask = fs.match.get(f)[1]
        return bool(mask) and FM.prereqs_ok(f.prereq, fs.match.value, fs.match.mask)

    def cmp(a: Any, b: Any) -> int:
        for f, reverse in fields:
            if f is None:
                ret = (a.priority > b.priority) - (a.priority < b.priority)
            else:
                pa, pb = present(a, f), present(b, f)
                if pa != pb:
                    return -1 if pa else 1
                va, vb = a.match.get(f)[0], b.match.get(f)[0]
                ret = (va > vb) - (va < vb)
            if ret:
                return -ret if reverse else ret
        return (a.priority < b.priority) - (a.priority > b.priority)
    return sorted(entries, key=functools.cmp_to_key(cmp))


def cmd_dump_flows(s: Session, args: list[str]) -> None:
    from pyvswitch.openflow import ofp_flow_stats as FS
    target = args[0]
    text = args[1] if len(args) > 1 else ""
    if len(args) > 1:
        s.name_lookups(target)
    if not s.ctx.sort and s.ctx.names is not True and not s.ctx.no_stats:
        req, usable = _flow_stats_request(s, text, False, s.port_names(target) if text else None)
        c = s.open(target)
        proto = s.set_protocol_for_flow_dump(c, usable)
        s.dump(c, _encode_stats_request(s, c, req, proto))
        return
    c, entries = _dump_flow_stats(s, target, text)
    if s.ctx.sort:
        entries = _sort_flows(entries, s.ctx.sort)
    names = s.port_names(target) if s.ctx.names else None
    for fs in entries:
        s.ctx.stdout.write(FS.format_flow_stats(fs, no_stats=s.ctx.no_stats, names=names) + "\n")


def cmd_dump_aggregate(s: Session, args: list[str]) -> None:
    if len(args) > 1:
        s.name_lookups(args[0])
    req, usable = _flow_stats_request(s, args[1] if len(args) > 1 else "", True,
                                      s.port_names(args[0]) if len(args) > 1 else None)
    c = s.open(args[0])
    proto = s.set_protocol_for_flow_dump(c, usable)
    s.dump(c, _encode_stats_request(s, c, req, proto))


# replace-flows / diff-flows --------------------------------------------------------------------------------


@dataclass
class _Version:
    """One side's version of a flow (OVS ``fte_version``)."""

    cookie: int
    idle_timeout: int
    hard_timeout: int
    importance: int
    flags: int
    actions: list[Any]
    table_id: int


def _flow_key(match: Any, priority: int, table_id: int) -> tuple[Any, ...]:
    return (table_id, priority, MT.format_match(match, priority))


def _read_flows_file(s: Session, name: str, names: dict[int, str] | None = None
                     ) -> tuple[dict[tuple[Any, ...], tuple[Any, _Version, Any]], Proto]:
    """The flows of a file as OVS ``read_flows_from_file`` reads them for ``replace-flows``/``diff-flows``."""
    flows: dict[tuple[Any, ...], tuple[Any, _Version, Any]] = {}
    usable = Proto.ANY
    for n, text in _preprocessed(_read_file(name)):
        pfm = _parse_flow(text, Command.ADD, f"{name}:{n}: ", names=names)
        fm = pfm.fm
        usable &= pfm.usable
        table = 0 if fm.table_id is None else fm.table_id
        v = _Version(fm.new_cookie or 0, fm.idle_timeout, fm.hard_timeout, fm.importance, int(fm.flags),
                     list(fm.actions), table)
        flows[_flow_key(fm.match, fm.priority, table)] = (fm.match, v, pfm)
    return flows, usable


def _fs_version(fs: Any) -> _Version:
    return _Version(fs.cookie, fs.idle_timeout, fs.hard_timeout, fs.importance, int(fs.flags) & 0x7,
                    list(fs.actions), fs.table_id)


def _same(a: _Version, b: _Version) -> bool:
    from pyvswitch.ofproto.actions import format_actions
    return (a.cookie == b.cookie and a.idle_timeout == b.idle_timeout and a.hard_timeout == b.hard_timeout
            and a.importance == b.importance and format_actions(a.actions) == format_actions(b.actions)
            and a.table_id == b.table_id)


def _switch_flows(s: Session, c: Conn, usable: Proto) -> tuple[dict[tuple[Any, ...], tuple[Any, _Version, Any]],
                                                                Proto]:
    from pyvswitch.openflow import ofp_flow_stats as FS
    proto = s.set_protocol_for_flow_dump(c, usable)
    req = FS.FlowStatsRequest()
    replies = s.transact(c, _encode_stats_request(s, c, req, proto))
    flows: dict[tuple[Any, ...], tuple[Any, _Version, Any]] = {}
    for r in replies:
        msg = M.decode(r)
        if msg.type == "ERROR":
            s.ctx.stdout.flush()
            print_message(r, s.ctx.stderr)
            raise SwitchFatal(None, 1)
        for fs in FS.decode_flow_stats_reply(msg):
            flows[_flow_key(fs.match, fs.priority, fs.table_id)] = (fs.match, _fs_version(fs), fs)
    return flows, proto


def cmd_replace_flows(s: Session, args: list[str]) -> None:
    target = args[0]
    s.name_lookups(target, ports_first=True)
    file_flows, usable = _read_flows_file(s, args[1], s.port_names(target))
    c = s.open(target)
    switch, _ = _switch_flows(s, c, usable)
    # As ovs-ofctl: the file's flows and then the switch's go into one table, which is visited twice, first for
    # the flows to delete, then for those to add.
    keys = list(file_flows) + [k for k in switch if k not in file_flows]
    order = _classifier_order(keys, {k: (file_flows.get(k) or switch[k])[0] for k in keys})
    requests: list[bytes] = []
    for key in order:
        if key in file_flows:
            continue
        match, v, pfm = switch[key]
        fm = FlowMod(command=Command.DELETE_STRICT, match=match, priority=pfm.priority, table_id=v.table_id)
        requests.append(encode_flow_mod(fm, c.protocol, s.next_xid(),
                                        tun_md=pfm.tun_md if pfm.tun_md.entries else None))
    for key in order:
        if key not in file_flows:
            continue
        match, v, pfm = file_flows[key]
        old = switch.get(key)
        if old is None or not _same(old[1], v) or s.ctx.readd:
            fm = pfm.fm
            fm.command = Command.ADD
            requests.append(encode_flow_mod(fm, c.protocol, s.next_xid(),
                                            tun_md=pfm.tun_md if pfm.tun_md.entries else None))
    if s.ctx.bundle:
        s.bundle_transact(c, requests)
    else:
        s.transact_or_die(c, requests)


def _diff_line(prefix: str, match: Any, v: _Version, priority: int) -> str:
    """OVS ``fte_version_format``: the table (if not 0), the match with its priority, the flow's other fields
    where they are not their defaults, and the actions."""
    from pyvswitch.ofproto.actions import format_actions
    s = prefix
    if v.table_id:
        s += f"table={v.table_id} "
    s += MT.format_match(match, priority)
    if v.cookie:
        s += f" cookie={v.cookie:#x}"
    if v.idle_timeout:
        s += f" idle_timeout={v.idle_timeout}"
    if v.hard_timeout:
        s += f" hard_timeout={v.hard_timeout}"
    if v.importance:
        s += f" importance={v.importance}"
    s += " actions=" + format_actions(v.actions)
    return s


def _classifier_order(keys: list[tuple[Any, ...]], matches: dict[tuple[Any, ...], Any]) -> list[tuple[Any, ...]]:
    """The order in which ovs-ofctl visits the flows of ``diff-flows`` and ``replace-flows`` (``keys`` in the
    order they were read): table by table; within a table, its classifier's subtables (flows with the same
    mask) by their highest priority, highest first, then by age; within a subtable, in the order the flows were
    read.  (That last order is how Open vSwitch's small hash tables come out in practice, not a promise.)"""
    tables: dict[int, dict[int, list[tuple[Any, ...]]]] = {}
    for k in keys:
        tables.setdefault(k[0], {}).setdefault(matches[k].mask, []).append(k)
    out: list[tuple[Any, ...]] = []
    for table in sorted(tables):
        subtables = list(tables[table].values())
        for group in sorted(subtables, key=lambda g: -max(k[1] for k in g)):
            out.extend(group)
    return out


def cmd_diff_flows(s: Session, args: list[str]) -> None:
    sources = list(args[:2])
    usable = Proto.ANY
    loaded: list[dict[tuple[Any, ...], tuple[Any, _Version, Any]]] = []
    for name in sources:
        if os.path.exists(name) and not _is_socket(name) or name == "-":
            flows, u = _read_flows_file(s, name)
            usable &= u
            loaded.append(flows)
        else:
            c = s.open(name)
            flows, _ = _switch_flows(s, c, Proto.ANY)
            loaded.append(flows)
    a, b = loaded
    differ = False
    keys = list(a) + [k for k in b if k not in a]
    matches = {k: (a.get(k) or b[k])[0] for k in keys}
    for key in _classifier_order(keys, matches):
        va, vb = a.get(key), b.get(key)
        if va is not None and vb is not None and _same(va[1], vb[1]):
            continue
        differ = True
        priority = key[1]
        if va is not None:
            s.ctx.stdout.write(_diff_line("-", va[0], va[1], priority) + "\n")
        if vb is not None:
            s.ctx.stdout.write(_diff_line("+", vb[0], vb[1], priority) + "\n")
    if differ:
        raise SwitchFatal(None, 2)


def _is_socket(path: str) -> bool:
    import stat
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


# ------------------------------------------------------------------------------------------ switch and ports


def cmd_show(s: Session, args: list[str]) -> None:
    c = s.open(args[0])
    request = M.encode("OFPT_FEATURES_REQUEST", c.version, b"", s.next_xid())
    replies = s.dump(c, request)
    if c.version >= 4 and replies and M.decode(replies[0]).type == "FEATURES_REPLY":
        from pyvswitch.openflow import ofp_port
        s.dump(c, ofp_port.encode_port_desc_request(V.OFPP_ANY, c.version, s.next_xid()))
    c.conn.close()
    c = s.open(args[0])
    s.dump(c, M.encode("OFPT_GET_CONFIG_REQUEST", c.version, b"", s.next_xid()))


def cmd_dump_desc(s: Session, args: list[str]) -> None:
    c = s.open(args[0])
    s.dump(c, s.request(c, "DESC_STATS_REQUEST"))


def cmd_dump_tables(s: Session, args: list[str]) -> None:
    c = s.open(args[0])
    s.dump(c, s.request(c, "TABLE_STATS_REQUEST"))


def cmd_dump_table_features(s: Session, args: list[str]) -> None:
    c = s.open(args[0])
    if c.version < 4:
        raise SwitchFatal("dump-table-features needs OpenFlow 1.3 or later ('-O OpenFlow13')")
    request = M.encode("OFPST13_TABLE_FEATURES_REQUEST", c.version, b"", s.next_xid())
    replies = s.transact(c, request)
    # Unlike ofp-print, dump-table-features prints the tables of every reply as one list, without headers.
    from pyvswitch.openflow import ofp_switch as SW
    tables = []
    for r in replies:
        msg = M.decode(r)
        if msg.type == "ERROR":
            print_message(r, s.ctx.stdout)
            return
        tables.extend(SW.decode_table_features(msg))
    fmt = _optional("format_tables") or _optional("_format_tables")
    if fmt is None:
        raise SwitchFatal("printing table features is not available yet")
    # Each table's text ends in a blank line here (ofp-print leaves out the last one).
    s.ctx.stdout.write(fmt(tables, c.version).removeprefix("\n") + "\n")


def _optional(name: str) -> Callable[..., Any] | None:
    """A function from a codec module that may not be written yet (``ofp_switch`` or ``ofp_table``)."""
    import importlib
    for module in ("ofp_switch", "ofp_table"):
        try:
            mod = importlib.import_module(f"pyvswitch.openflow.{module}")
        except ImportError:
            continue
        fn = getattr(mod, name, None)
        if fn is not None:
            return fn  # type: ignore[no-any-return]
    return None


def cmd_dump_ports(s: Session, args: list[str]) -> None:
    from pyvswitch.openflow import ofp_port
    port = s.parse_port(args[0], args[1]) if len(args) > 1 else V.OFPP_ANY
    c = s.open(args[0])
    s.dump(c, ofp_port.encode_port_stats_request(ofp_port.PortStatsRequest(port), c.version, s.next_xid()))


def cmd_dump_ports_desc(s: Session, args: list[str]) -> None:
    from pyvswitch.openflow import ofp_port
    port = s.parse_port(args[0], args[1]) if len(args) > 1 else V.OFPP_ANY
    c = s.open(args[0])
    s.dump(c, ofp_port.encode_port_desc_request(port, c.version, s.next_xid()))


def cmd_mod_port(s: Session, args: list[str]) -> None:
    from pyvswitch.openflow import ofp_port
    target, port_text, command = args
    try:
        config, mask = ofp_port.parse_mod_port_command(command)
    except ValueError as e:
        raise SwitchFatal(str(e)) from None
    c = s.open(target)
    port = V.parse_port(port_text)
    found = None
    for p in _ports_of(s, c):
        if (port is not None and p.port_no == port) or (port is None and p.name == port_text):
            found = p
            break
    if found is None:
        raise SwitchFatal(f"{target}: couldn't find port `{port_text}'")
    c.conn.close()
    c = s.open(target)
    pm = ofp_port.PortMod(port_no=found.port_no, hw_addr=found.hw_addr, config=config, mask=mask,
                          advertise=0)
    s.transact_or_die(c, [ofp_port.encode_port_mod(pm, c.version, s.next_xid())])


def _ports_of(s: Session, c: Conn) -> list[Any]:
    from pyvswitch.openflow import ofp_port
    ports: list[Any] = []
    if c.version < 4:
        for r in s.transact(c, M.encode("OFPT_FEATURES_REQUEST", c.version, b"", s.next_xid())):
            msg = M.decode(r)
            if msg.type == "FEATURES_REPLY" and len(msg.body) > 24:
                ports.extend(ofp_port.unpack_ports(msg.body[24:], c.version))
    else:
        for r in s.transact(c, ofp_port.encode_port_desc_request(V.OFPP_ANY, c.version, s.next_xid())):
            msg = M.decode(r)
            if msg.type == "PORT_DESC_STATS_REPLY":
                ports.extend(ofp_port.decode_port_desc_reply(msg))
    return ports


# ------------------------------------------------------------------------------------------------- echo, misc


def cmd_probe(s: Session, args: list[str]) -> None:
    c = s.open(args[0])
    request = M.encode("OFPT_ECHO_REQUEST", c.version, b"", 0)
    replies = s.transact(c, request)
    if not replies or replies[0][1] != 3:
        raise SwitchFatal(f"talking to {args[0]} (Protocol error)")


def _atoi(text: str) -> int:
    """C ``atoi``: optional white space and sign, then as many digits as there are (0 for none)."""
    m = re.match(r"\s*([+-]?\d+)", text)
    return int(m.group(1)) if m else 0


def cmd_ping(s: Session, args: list[str]) -> None:
    """``ping TARGET [N]``: ten echo requests with N (default 64) random bytes each, and their round trips."""
    payload = _atoi(args[1]) if len(args) > 1 else 64
    if not 0 <= payload <= 65535 - 8:
        raise SwitchFatal(f"payload must be between 0 and {65535 - 8} bytes")
    c = s.open(args[0])
    for _ in range(10):
        xid = s.next_xid()
        data = os.urandom(payload)
        request = M.encode("OFPT_ECHO_REQUEST", c.version, data, xid)
        start = time.monotonic()
        reply = s.transact(c, request)[0]
        ms = (time.monotonic() - start) * 1000
        if reply[1] == 3 and reply[8:] == data and _xid_of(reply) == xid:
            s.ctx.stdout.write(f"{len(reply) - 8} bytes from {args[0]}: xid={xid:08x} time={ms:.1f} ms\n")
        else:
            s.ctx.stdout.write("Reply does not match request.  Request:\n")
            print_message(request, s.ctx.stdout)
            s.ctx.stdout.write("Reply:\n")
            print_message(reply, s.ctx.stdout)
        s.ctx.stdout.flush()


def cmd_packet_out(s: Session, args: list[str]) -> None:
    from pyvswitch.openflow import ofp_packet as P
    target = args[0]
    s.name_lookups(target)
    names = s.port_names(target)
    try:
        if len(args) == 2:
            pos = [P.parse_packet_out(_substitute_port_names(args[1], names))]
        else:
            pos = P.parse_packet_out_args(args[1], args[2], args[3:])
    except P.PacketOutParseError as e:
        raise SwitchFatal(str(e)) from None
    c = s.open(target)
    for po in pos:
        s.transact_or_die(c, [P.encode_packet_out(po, c.version, s.next_xid())])


# ------------------------------------------------------------------------------------------- queues, frags


def cmd_queue_stats(s: Session, args: list[str]) -> None:
    """``queue-stats SWITCH [PORT [QUEUE]]`` (``all`` or nothing: every port, every queue)."""
    from pyvswitch.openflow import ofp_port
    c = s.open(args[0])
    port = V.OFPP_ANY
    if len(args) > 1 and args[1] and args[1].lower() != "all":
        port = s.parse_port(args[0], args[1])
    queue = ofp_port.OFPQ_ALL
    if len(args) > 2 and args[2] and args[2].lower() != "all":
        queue = _atoi(args[2]) & 0xFFFFFFFF
    s.dump(c, ofp_port.encode_queue_stats_request(ofp_port.QueueStatsRequest(port, queue), c.version,
                                                   s.next_xid()))


def cmd_queue_get_config(s: Session, args: list[str]) -> None:
    """``queue-get-config SWITCH [PORT [QUEUE]]``.  OpenFlow 1.0 cannot ask about every port at once: then each
    physical port is asked about in turn, as ovs-ofctl does."""
    from pyvswitch.openflow import ofp_port
    port = s.parse_port(args[0], args[1]) if len(args) > 1 else V.OFPP_ANY
    queue_text = args[2] if len(args) > 2 else "all"
    queue = ofp_port.OFPQ_ALL if queue_text.lower() == "all" else _atoi(queue_text) & 0xFFFFFFFF
    c = s.open(args[0])
    if port == V.OFPP_ANY and c.version == 1:
        pc = s.open(args[0])
        ports = _ports_of(s, pc)
        pc.conn.close()
        for p in ports:
            if p.port_no < V.OFPP_MAX:
                s.dump(c, ofp_port.encode_queue_config_request(p.port_no, c.version, s.next_xid(), queue))
        return
    s.dump(c, ofp_port.encode_queue_config_request(port, c.version, s.next_xid(), queue))


_FRAG_MODES = {"normal": 0, "drop": 1, "reassemble": 2, "nx-match": 3}


def _fetch_config(s: Session, c: Conn) -> Any:
    from pyvswitch.openflow import ofp_switch as SW
    replies = s.transact(c, SW.encode_get_config_request(c.version, s.next_xid()))
    msg = M.decode(replies[-1])
    if msg.type != "GET_CONFIG_REPLY":
        raise SwitchFatal(f"{c.name}: got unexpected reply to OFPT_GET_CONFIG_REQUEST")
    return SW.decode_switch_config(msg)


def cmd_get_frags(s: Session, args: list[str]) -> None:
    c = s.open(args[0])
    frag = _fetch_config(s, c).frag
    names = {v: k for k, v in _FRAG_MODES.items()}
    s.ctx.stdout.write(names.get(frag, str(frag)) + "\n")


def cmd_set_frags(s: Session, args: list[str]) -> None:
    from pyvswitch.openflow import ofp_switch as SW
    mode = args[1].lower()
    if mode not in _FRAG_MODES:
        raise SwitchFatal(f"{args[1]}: unknown fragment handling mode")
    frag = _FRAG_MODES[mode]
    c = s.open(args[0])
    config = _fetch_config(s, c)
    if config.frag != frag:
        config.frag = frag
        s.transact_or_die(c, [SW.encode_switch_config(config, c.version, s.next_xid())])
        if _fetch_config(s, c).frag != frag:
            raise SwitchFatal(f'{args[0]}: setting fragment handling mode failed (this switch may not support '
                              f'"{mode}")')


def cmd_dump_table_desc(s: Session, args: list[str]) -> None:
    from pyvswitch.openflow import ofp_switch as SW
    c = s.open(args[0])
    if c.version < 5:
        raise SwitchFatal("dump-table-desc needs OpenFlow 1.4 or later ('-O OpenFlow14')")
    s.dump(c, SW.encode_table_desc_request(c.version, s.next_xid()))


_TABLE_MISS = {"controller": 0, "continue": 1, "drop": 2}  # OpenFlow 1.1 and 1.2 table-miss configurations


def _parse_table_mod(s: Session, target: str, table_text: str, setting: str) -> tuple[Any, set[int], dict[str, Any]]:
    """OVS ``parse_ofp_table_mod``: the table (a number, ``all`` or 255, or a table's name), the setting
    (``controller``, ``continue``, ``drop`` for OpenFlow 1.1 and 1.2; ``evict``, ``noevict``,
    ``vacancy:DOWN,UP``, ``novacancy`` for 1.4 and 1.5) and the versions that can carry it.  The dict says what
    the setting sets: ``miss``, ``eviction`` (bool), ``vacancy`` (None for off, else (down, up))."""
    from pyvswitch.util import vlog
    table: int | None = None
    if table_text.lower() == "all":
        table = 255
    else:
        try:
            table = int(table_text, 0)
        except ValueError:
            table = None
        if table is not None and not 0 <= table <= 255:
            vlog.Vlog("ofp_table").warn(f"table {table_text} is outside the supported range 0 through 255")
            table = None
        if table is None:
            names = {name: number for number, name in s.table_names(target).items()}
            table = names.get(table_text)
    if table is None:
        raise SwitchFatal(f'unknown table "{table_text}"')
    what: dict[str, Any] = {}
    if setting in _TABLE_MISS:
        what["miss"] = _TABLE_MISS[setting]
        versions = {2, 3}
    elif setting in ("evict", "noevict"):
        what["eviction"] = setting == "evict"
        versions = {5, 6}
    elif setting == "novacancy":
        what["vacancy"] = None
        versions = {5, 6}
    elif setting.startswith("vacancy"):
        versions = {5, 6}
        rest = setting[len("vacancy"):].lstrip(":")
        down_text, comma, up_text = rest.partition(",")
        if not down_text:
            raise SwitchFatal("Vacancy down value missing")
        down = _percent(down_text, "down")
        if not comma or not up_text:
            raise SwitchFatal("Vacancy up value missing")
        up = _percent(up_text, "up")
        if down > up:
            raise SwitchFatal("Invalid vacancy range, vacancy up should be greater than vacancy down "
                              "(OFPBPC_BAD_VALUE)")
        what["vacancy"] = (down, up)
    else:
        raise SwitchFatal(f"invalid table_mod setting {setting}")
    return table, versions, what


def _percent(text: str, which: str) -> int:
    try:
        v = int(text, 0)
    except ValueError:
        v = -1
    if not 0 <= v <= 100:
        raise SwitchFatal(f'Invalid vacancy {which} value "{text}"')
    return v


def cmd_mod_table(s: Session, args: list[str]) -> None:
    """``mod-table SWITCH TABLE SETTING``.  With OpenFlow 1.4 or 1.5 allowed, each table's current
    configuration is read first (``OFPST_TABLE_DESC``) so that only the setting given changes, as ovs-ofctl
    does; ``all`` then means every table, one by one."""
    from pyvswitch.openflow import ofp_switch as SW
    target, table_text, setting = args
    s.table_names(target)
    table, usable, what = _parse_table_mod(s, target, table_text, setting)
    if not s.versions & usable:
        names = ", ".join(f"OpenFlow1{v - 1}" for v in sorted(usable))
        raise SwitchFatal(f"table_mod '{setting}' requires one of the OpenFlow versions {names}")
    allowed = s.versions
    s.version_mask = usable
    c = s.open(target)
    if not allowed & {5, 6}:
        config = what.get("miss", 0) if c.version in (2, 3) else 0
        s.transact_or_die(c, [SW.encode_table_mod(SW.TableMod(table, config), c.version, s.next_xid())])
        return
    for t in (range(255) if table == 255 else [table]):
        replies = s.transact(c, SW.encode_table_desc_request(c.version, s.next_xid()))
        current = None
        for r in replies:
            msg = M.decode(r)
            if msg.type == "TABLE_DESC_REPLY":
                current = next((td for td in SW.decode_table_desc_reply(msg) if td.table_id == t), current)
        eviction = what["eviction"] if "eviction" in what else bool(current and current.config & SW.TC_EVICTION)
        if "vacancy" in what:
            vacancy = what["vacancy"]
        elif current is not None and current.config & SW.TC_VACANCY_EVENTS and current.vacancy is not None:
            vacancy = current.vacancy[:2]
        else:
            vacancy = None
        config = (SW.TC_EVICTION if eviction else 0) | (SW.TC_VACANCY_EVENTS if vacancy is not None else 0)
        tm = SW.TableMod(t, config, None, vacancy)
        s.transact_or_die(c, [SW.encode_table_mod(tm, c.version, s.next_xid())])


def cmd_ct_flush_zone(s: Session, args: list[str]) -> None:
    """``ct-flush-zone SWITCH ZONE``: flush the connection tracker's entries in ZONE (a 16-bit number)."""
    from pyvswitch.openflow import ofp_switch as SW
    try:
        zone = int(args[1], 0)
    except ValueError:
        zone = -1
    if not 0 <= zone <= 0xFFFF:
        raise SwitchFatal(f'invalid zone_id "{args[1]}"')
    c = s.open(args[0])
    s.transact_or_die(c, [SW.encode_ct_flush_zone(zone, c.version, s.next_xid())])


# ----------------------------------------------------------------------------------------------------- groups

_OF15_ANY = Proto.OF10_ANY | Proto.OF15_OXM
_OF13_UP = Proto.OF13_OXM | Proto.OF14_OXM | Proto.OF15_OXM

def _group_usable(gm: Any) -> Proto:
    """The protocols ovs-ofctl deems able to carry a group-mod: any, unless it names a specific bucket in its
    ``command_bucket_id``, which only OpenFlow 1.5 (and Open vSwitch's OpenFlow 1.0 extension) can say."""
    from pyvswitch.ofproto import group as G
    if gm.command_bucket_id <= G.BUCKET_MAX:
        return _OF15_ANY
    return Proto.ANY


def _parse_group(text: str, command: Any, prefix: str = "", names: dict[int, str] | None = None) -> Any:
    from pyvswitch.ofproto import group as G
    if names:
        text = _substitute_port_names(text, names)
    try:
        return G.parse_group_mod(text, command)
    except G.GroupParseError as e:
        raise SwitchFatal(prefix + str(e)) from None


def _group_mods(s: Session, target: str, gms: list[Any], usable: Proto) -> None:
    from pyvswitch.ofproto import group as G
    from pyvswitch.openflow import ofp_group as OG
    c = s.open_for_flow_mod(target, usable)
    version = PROTO_VERSION[c.protocol]
    requests = []
    for gm in gms:
        if 2 <= version <= 5 and gm.command in (G.GroupCommand.INSERT_BUCKET, G.GroupCommand.REMOVE_BUCKET):
            word = "insert-bucket" if gm.command == G.GroupCommand.INSERT_BUCKET else "remove-bucket"
            raise SwitchFatal(f"{word} needs OpenFlow 1.5 or later ('-O OpenFlow15')")
        requests.append(OG.encode_group_mod(gm, version, s.next_xid()))
        if not s.ctx.bundle:
            s.transact_or_die(c, requests)
            requests = []
    if requests:
        s.bundle_transact(c, requests)


def _group_cmd(command_name: str) -> Callable[[Session, list[str]], None]:
    def handler(s: Session, args: list[str]) -> None:
        from pyvswitch.ofproto import group as G
        command = {"add-group": G.GroupCommand.ADD, "mod-group": G.GroupCommand.MODIFY,
                   "del-groups": G.GroupCommand.DELETE, "insert-buckets": G.GroupCommand.INSERT_BUCKET,
                   "remove-buckets": G.GroupCommand.REMOVE_BUCKET}[command_name]
        s.name_lookups(args[0])
        gm = _parse_group(args[1] if len(args) > 1 else "", command, names=s.port_names(args[0]))
        _group_mods(s, args[0], [gm], _group_usable(gm))
    return handler


def cmd_add_groups(s: Session, args: list[str]) -> None:
    s.name_lookups(args[0])
    gms = []
    usable = Proto.ANY
    for n, line in _preprocessed(_read_file(args[1])):
        gm = _parse_group(line, None, f"{args[1]}:{n}: ", s.port_names(args[0]))
        usable &= _group_usable(gm)
        gms.append(gm)
    _group_mods(s, args[0], gms, usable)


def _group_id(text: str) -> int:
    """OVS ``ofputil_group_from_string``: ``ANY``, ``ALL`` or a 32-bit number."""
    from pyvswitch.ofproto import group as G
    from pyvswitch.util import vlog
    low = text.lower()
    if low == "any":
        return G.OFPG_ANY
    if low == "all":
        return G.OFPG_ALL
    if text.isdigit() and int(text) <= 0xFFFFFFFF:
        return int(text)
    # ovs-ofctl warns and goes on with every group.
    vlog.Vlog("ofp_group").warn(f"{text} is not a valid group ID.  (Valid group IDs are 32-bit nonnegative "
                                f"integers or the keywords ANY or ALL.)")
    return G.OFPG_ALL


def cmd_dump_groups(s: Session, args: list[str]) -> None:
    from pyvswitch.ofproto import group as G
    from pyvswitch.openflow import ofp_group as OG
    group_id = _group_id(args[1]) if len(args) > 1 else G.OFPG_ALL
    c = s.open(args[0])
    s.dump(c, OG.encode_group_desc_request(OG.GroupDescRequest(group_id), c.version, s.next_xid()))


def cmd_dump_group_stats(s: Session, args: list[str]) -> None:
    from pyvswitch.ofproto import group as G
    from pyvswitch.openflow import ofp_group as OG
    s.name_lookups(args[0])
    gm = _parse_group(args[1] if len(args) > 1 else "", G.GroupCommand.DELETE, names=s.port_names(args[0]))
    c = s.open(args[0])
    s.dump(c, OG.encode_group_stats_request(OG.GroupStatsRequest(gm.group_id), c.version, s.next_xid()))


def cmd_dump_group_features(s: Session, args: list[str]) -> None:
    from pyvswitch.openflow import ofp_group as OG
    c = s.open(args[0])
    s.dump(c, OG.encode_group_features_request(c.version, s.next_xid()))


# ----------------------------------------------------------------------------------------------------- meters


def _parse_meter(text: str | None, command: Any) -> Any:
    from pyvswitch.ofproto import meter as MM
    if text is None:
        return MM.MeterMod(command if command is not None else MM.MeterCommand.ADD, MM.OFPM_ALL)
    try:
        return MM.parse_meter_mod(text, command)
    except MM.MeterParseError as e:
        raise SwitchFatal(str(e)) from None


def _meter_mod_cmd(command_name: str) -> Callable[[Session, list[str]], None]:
    def handler(s: Session, args: list[str]) -> None:
        from pyvswitch.ofproto import meter as MM
        from pyvswitch.openflow import ofp_meter as OM
        command = {"add-meter": MM.MeterCommand.ADD, "mod-meter": MM.MeterCommand.MODIFY,
                   "del-meters": MM.MeterCommand.DELETE}[command_name]
        mm = _parse_meter(args[1] if len(args) > 1 else None, command)
        c = s.open_for_flow_mod(args[0], _OF13_UP)
        s.transact_or_die(c, [OM.encode_meter_mod(mm, PROTO_VERSION[c.protocol], s.next_xid())])
    return handler


def _meter_request_cmd(kind: str) -> Callable[[Session, list[str]], None]:
    def handler(s: Session, args: list[str]) -> None:
        from pyvswitch.openflow import ofp_meter as OM
        mm = _parse_meter(args[1] if len(args) > 1 else None, None)
        c = s.open_for_flow_mod(args[0], _OF13_UP)
        version = PROTO_VERSION[c.protocol]
        xid = s.next_xid()
        if kind == "config":
            request = OM.encode_meter_config_request(OM.MeterRequest(mm.meter_id), version, xid)
        elif kind == "stats":
            request = OM.encode_meter_stats_request(OM.MeterRequest(mm.meter_id), version, xid)
        else:
            request = OM.encode_meter_features_request(version, xid)
        s.dump(c, request)
    return handler


# -------------------------------------------------------------------------------------------------- TLV maps


def _tlv_mod_cmd(delete: bool) -> Callable[[Session, list[str]], None]:
    def handler(s: Session, args: list[str]) -> None:
        from pyvswitch.openflow import ofp_tlv as T
        if delete and len(args) < 2:
            ttm = T.TlvTableMod(T.NXTTMC_CLEAR, [])
        else:
            try:
                maps = T.parse_tlv_map(args[1] if len(args) > 1 else "")
            except ValueError as e:
                raise SwitchFatal(str(e)) from None
            ttm = T.TlvTableMod(T.NXTTMC_DELETE if delete else T.NXTTMC_ADD, maps)
        c = s.open_for_flow_mod(args[0], Proto.NXM_OXM_ANY)
        s.transact_or_die(c, [T.encode_tlv_table_mod(ttm, PROTO_VERSION[c.protocol], s.next_xid())])
    return handler


def cmd_dump_tlv_map(s: Session, args: list[str]) -> None:
    from pyvswitch.openflow import ofp_tlv as T
    c = s.open(args[0])
    replies = s.transact(c, T.encode_tlv_table_request(c.version, s.next_xid()))
    for r in replies:
        print_message(r, s.ctx.stdout)


# -------------------------------------------------------------------------------------------- monitor, snoop

NXPIF_NXT_PACKET_IN2 = 2


def _monitor_loop(s: Session, c: Conn, reply_to_echo: bool) -> None:
    """Print every message the switch sends, on stderr as ovs-ofctl does, until the connection ends (or
    ``--timeout`` expires).  ``monitor`` answers echo requests (after printing them); ``snoop`` only watches."""
    while True:
        data = s.recv(c, "OpenFlow packet receive failed", raw=True)
        s.ctx.stderr.write(message_text(data) + "\n")
        s.ctx.stderr.flush()
        if reply_to_echo and len(data) >= 8 and data[1] == 2:  # OFPT_ECHO_REQUEST
            s.send(c, bytes([data[0], 3]) + data[2:])


def cmd_monitor(s: Session, args: list[str]) -> None:
    """``monitor SWITCH [MISS-LEN] [invalid_ttl] [watch:[SPEC...]]``: the arguments act in order on the open
    connection: a number sets the switch's miss_send_len, ``invalid_ttl`` sends packets with an invalid TTL to
    the controller, ``watch:`` starts a flow monitor (its first reply printed on stdout).  Then ask for
    ``nxt_packet_in2`` packet-ins and print, on stderr, whatever the switch sends."""
    from pyvswitch.openflow import ofp_switch as SW
    if "invalid_ttl" in args[1:] and not s.versions & {1, 2, 3}:
        raise SwitchFatal("invalid_ttl requires one of the OpenFlow versions OpenFlow10, OpenFlow11, OpenFlow12 "
                          "but none is enabled (use -O)")
    c = s.open(args[0])
    n_watches = 0
    for arg in args[1:]:
        if arg[:1].isdigit() or arg == "invalid_ttl":
            replies = s.transact(c, SW.encode_get_config_request(c.version, s.next_xid()))
            msg = M.decode(replies[-1])
            if msg.type != "GET_CONFIG_REPLY":
                raise SwitchFatal(f"{c.name}: got unexpected reply to OFPT_GET_CONFIG_REQUEST")
            config = SW.decode_switch_config(msg)
            if arg == "invalid_ttl":
                config.invalid_ttl_to_controller = True
            else:
                config.miss_send_len = _atoi(arg)
            s.transact_or_die(c, [SW.encode_switch_config(config, c.version, s.next_xid())])
        elif arg.startswith("watch:"):
            from pyvswitch.openflow import ofp_monitor as MON
            names = s.port_names(args[0])
            s.table_names(args[0])
            try:
                rq = MON.parse_watch(_substitute_port_names(arg[6:], names), n_watches)
            except MON.MonitorParseError as e:
                raise SwitchFatal(str(e)) from None
            n_watches += 1
            s.dump(c, MON.encode_flow_monitor_request(rq, c.version, s.next_xid()))
            s.ctx.stdout.flush()
        else:
            raise SwitchFatal(f'{arg}: unsupported "monitor" argument')
    s.transact_or_die(c, [SW.encode_packet_in_format(NXPIF_NXT_PACKET_IN2, c.version, s.next_xid())])
    _monitor_loop(s, c, reply_to_echo=True)


def cmd_snoop(s: Session, args: list[str]) -> None:
    """``snoop SWITCH``: print the traffic between the bridge and its controllers (``RUNDIR/BRIDGE.snoop``)."""
    c = s.open(args[0], suffix="snoop")
    _monitor_loop(s, c, reply_to_echo=False)


# ------------------------------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class SwitchCommand:
    name: str
    usage: str
    min_args: int
    max_args: int
    handler: Callable[[Session, list[str]], None]


COMMANDS: list[SwitchCommand] = [
    SwitchCommand("show", "show SWITCH", 1, 1, cmd_show),
    SwitchCommand("dump-desc", "dump-desc SWITCH", 1, 1, cmd_dump_desc),
    SwitchCommand("dump-tables", "dump-tables SWITCH", 1, 1, cmd_dump_tables),
    SwitchCommand("dump-table-features", "dump-table-features SWITCH", 1, 1, cmd_dump_table_features),
    SwitchCommand("dump-ports", "dump-ports SWITCH [PORT]", 1, 2, cmd_dump_ports),
    SwitchCommand("dump-ports-desc", "dump-ports-desc SWITCH [PORT]", 1, 2, cmd_dump_ports_desc),
    SwitchCommand("mod-port", "mod-port SWITCH IFACE ACT", 3, 3, cmd_mod_port),
    SwitchCommand("dump-table-desc", "dump-table-desc SWITCH", 1, 1, cmd_dump_table_desc),
    SwitchCommand("mod-table", "mod-table SWITCH TABLE SETTING", 3, 3, cmd_mod_table),
    SwitchCommand("queue-stats", "queue-stats SWITCH [PORT [QUEUE]]", 1, 3, cmd_queue_stats),
    SwitchCommand("queue-get-config", "queue-get-config SWITCH [PORT [QUEUE]]", 1, 3, cmd_queue_get_config),
    SwitchCommand("get-frags", "get-frags SWITCH", 1, 1, cmd_get_frags),
    SwitchCommand("ct-flush-zone", "ct-flush-zone SWITCH ZONE", 2, 2, cmd_ct_flush_zone),
    SwitchCommand("set-frags", "set-frags SWITCH MODE", 2, 2, cmd_set_frags),
    SwitchCommand("dump-flows", "dump-flows SWITCH [FLOW]", 1, 2, cmd_dump_flows),
    SwitchCommand("dump-aggregate", "dump-aggregate SWITCH [FLOW]", 1, 2, cmd_dump_aggregate),
    SwitchCommand("add-flow", "add-flow SWITCH FLOW", 2, 2, cmd_add_flow),
    SwitchCommand("add-flows", "add-flows SWITCH FILE", 2, 2, cmd_add_flows),
    SwitchCommand("mod-flows", "mod-flows SWITCH FLOW", 2, 2, cmd_mod_flows),
    SwitchCommand("del-flows", "del-flows SWITCH [FLOW]", 1, 2, cmd_del_flows),
    SwitchCommand("replace-flows", "replace-flows SWITCH FILE", 2, 2, cmd_replace_flows),
    SwitchCommand("diff-flows", "diff-flows SOURCE1 SOURCE2", 2, 2, cmd_diff_flows),
    SwitchCommand("packet-out", "packet-out SWITCH PACKET", 2, 2 ** 31, cmd_packet_out),
    SwitchCommand("add-group", "add-group SWITCH GROUP", 2, 2, _group_cmd("add-group")),
    SwitchCommand("add-groups", "add-groups SWITCH FILE", 2, 2, cmd_add_groups),
    SwitchCommand("mod-group", "mod-group SWITCH GROUP", 2, 2, _group_cmd("mod-group")),
    SwitchCommand("del-groups", "del-groups SWITCH [GROUP]", 1, 2, _group_cmd("del-groups")),
    SwitchCommand("insert-buckets", "insert-buckets SWITCH [GROUP]", 1, 2, _group_cmd("insert-buckets")),
    SwitchCommand("remove-buckets", "remove-buckets SWITCH [GROUP]", 1, 2, _group_cmd("remove-buckets")),
    SwitchCommand("dump-groups", "dump-groups SWITCH [GROUP]", 1, 2, cmd_dump_groups),
    SwitchCommand("dump-group-stats", "dump-group-stats SWITCH [GROUP]", 1, 2, cmd_dump_group_stats),
    SwitchCommand("dump-group-features", "dump-group-features SWITCH", 1, 1, cmd_dump_group_features),
    SwitchCommand("add-meter", "add-meter SWITCH METER", 2, 2, _meter_mod_cmd("add-meter")),
    SwitchCommand("mod-meter", "mod-meter SWITCH METER", 2, 2, _meter_mod_cmd("mod-meter")),
    SwitchCommand("del-meters", "del-meters SWITCH [METER]", 1, 2, _meter_mod_cmd("del-meters")),
    SwitchCommand("del-meter", "del-meter SWITCH [METER]", 1, 2, _meter_mod_cmd("del-meters")),
    SwitchCommand("dump-meters", "dump-meters SWITCH [METER]", 1, 2, _meter_request_cmd("config")),
    SwitchCommand("dump-meter", "dump-meter SWITCH [METER]", 1, 2, _meter_request_cmd("config")),
    SwitchCommand("meter-stats", "meter-stats SWITCH [METER]", 1, 2, _meter_request_cmd("stats")),
    SwitchCommand("meter-features", "meter-features SWITCH", 1, 1, _meter_request_cmd("features")),
    SwitchCommand("add-tlv-map", "add-tlv-map SWITCH MAP", 2, 2, _tlv_mod_cmd(False)),
    SwitchCommand("del-tlv-map", "del-tlv-map SWITCH [MAP]", 1, 2, _tlv_mod_cmd(True)),
    SwitchCommand("dump-tlv-map", "dump-tlv-map SWITCH", 1, 1, cmd_dump_tlv_map),
    SwitchCommand("monitor", "monitor SWITCH [MISSLEN] [invalid_ttl]", 1, 3, cmd_monitor),
    SwitchCommand("snoop", "snoop SWITCH", 1, 1, cmd_snoop),
    SwitchCommand("probe", "probe TARGET", 1, 1, cmd_probe),
    SwitchCommand("ping", "ping TARGET [N]", 1, 2, cmd_ping),
]
