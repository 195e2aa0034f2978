"""OpenFlow connections: addresses, message framing on a byte stream, version negotiation, and the two ways of
using a connection (the daemon's asyncio loop, ``pyvs-ofctl``'s blocking calls).

This is the part of Open vSwitch's ``stream``/``vconn``/``pvconn`` stack that pyvswitch needs; reconnection with
back-off (``rconn``) is in ``pyvswitch.openflow.rconn``.  The map of the module:

Addresses
    ``parse_address(text) -> Address`` reads what ovs-ofctl and ovs-vsctl accept: active ``tcp:IP[:PORT]`` and
    ``unix:PATH``, passive ``ptcp:[PORT][:IP]`` and ``punix:PATH``; the port defaults to 6653 (the IANA OpenFlow
    port), IPv6 addresses are written in brackets (``tcp:[::1]:6653``).  Only IP literals are accepted: Open
    vSwitch does not look names up either.  ``ptcp:`` without an IP listens on every IPv4 address, as in Open
    vSwitch; that is the only way to get a non-loopback listener, so a daemon listens beyond the machine only
    where its configuration says so (``Address.listens_on_all`` tells which).
Framing
    An OpenFlow message is an 8-byte header (version, type, length, xid) and ``length - 8`` bytes of body.
    ``split_messages`` cuts a byte buffer into whole messages; a header whose length is below 8 is a protocol
    error after which nothing on the stream can be trusted, so the connection logs
    ``received too-short ofp_header (N bytes)`` and closes, as Open vSwitch's ``vconn-stream`` does.  Headers,
    HELLO and error bodies are built by ``ofp_msgs`` (the framing module); this module adds only what the
    handshake needs around them (``HELLO_FAILED``, which ``ofp_errors`` does not list).
Negotiation
    Each side sends a HELLO at once: its version field is the highest version it allows and, when the allowed
    versions are not simply "1.0 up to that one", a version-bitmap element lists them (OpenFlow 1.3.1, 7.5.1).
    The peer's versions are its bitmap if it sent one, else every version up to its header's; the connection
    uses the highest version both allow (``negotiate``).  With none in common, the side that notices logs
    ``version negotiation failed (we support ..., peer supports ...)``, sends ``OFPT_ERROR`` HELLO_FAILED /
    INCOMPATIBLE with the text ``We support ..., you support ..., no common versions.`` in the highest version
    the peer offered, and closes.  All of this, the texts included, is what Open vSwitch 3.1 does.
asyncio side (the switch daemon)
    ``Connection`` is one negotiated connection (an ``asyncio.Protocol``): ``send``, received messages by
    callback or ``async for``, the negotiated ``version``, a ``name`` (``unix#3``, ``tcp:127.0.0.1:40712`` for
    accepted connections, the target for active ones), counters, automatic answers to ECHO_REQUEST and the
    inactivity probe of Open vSwitch's rconn (after ``probe_interval`` seconds without receiving anything it
    sends ECHO_REQUEST; after another interval of silence it disconnects).  ``connect()`` opens one;
    ``Listener`` accepts them on ``ptcp:``/``punix:`` addresses.
blocking side (``pyvs-ofctl``)
    ``open_blocking(address, allowed_versions, timeout) -> BlockingConnection`` with ``send``, ``recv``,
    ``transact`` (a request and all of its replies) and ``barrier``; ``resolve_target`` and ``open_target`` turn
    what the user typed (``br0`` or an address) into a connection with ovs-ofctl's error texts.

Errors are ``errno`` numbers, as in Open vSwitch: a connection that failed has ``error`` set (``EPROTO`` for a
protocol violation, ``ETIMEDOUT`` for an unanswered probe, ``EOF_ERROR`` when the peer closed it) and
``error_string`` gives the text Open vSwitch writes for each (``Protocol error``, ``End of file``).
Log lines go to the ``logging`` loggers ``pyvswitch.vconn``, ``pyvswitch.vconn_stream`` and (for what Open
vSwitch's rconn logs about a connection: timeouts, probes, ``connection dropped``) ``pyvswitch.rconn``, which
the daemons' vlog formatter prints under Open vSwitch's module names; the texts are Open vSwitch 3.1's, checked
against a real ovs-vswitchd in the tests.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import itertools
import logging
import os
import select
import socket
import stat
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Self

from pyvswitch.openflow import ofp_msgs
from pyvswitch.openflow.ofp_errors import OFPDecodeError
from pyvswitch.util.clock import SYSTEM_CLOCK, Clock
from pyvswitch.util.hexdump import hexdump

__all__ = [
    "ALL_VERSIONS",
    "EOF_ERROR",
    "OFP_PORT",
    "Address",
    "AddressError",
    "BlockingConnection",
    "Connection",
    "FramingError",
    "Listener",
    "TargetError",
    "VconnError",
    "VconnOpenError",
    "connect",
    "default_rundir",
    "encode_hello_failed",
    "error_string",
    "hello_failed_text",
    "negotiate",
    "open_blocking",
    "open_target",
    "parse_address",
    "peer_versions",
    "resolve_target",
    "split_messages",
    "versions_text",
]

log = logging.getLogger("pyvswitch.vconn")
stream_log = logging.getLogger("pyvswitch.vconn_stream")
rconn_log = logging.getLogger("pyvswitch.rconn")

OFP_PORT = 6653
ALL_VERSIONS = frozenset(range(ofp_msgs.MIN_VERSION, ofp_msgs.MAX_VERSION + 1))
"""Wire versions 0x01 (OpenFlow 1.0) to 0x06 (OpenFlow 1.5)."""
EOF_ERROR = -1
"""The ``error`` of a connection the peer closed normally (Open vSwitch's ``EOF``, printed ``End of file``)."""

OFPT_HELLO, OFPT_ERROR, OFPT_ECHO_REQUEST, OFPT_ECHO_REPLY = 0, 1, 2, 3
_HEADER = struct.Struct("!BBHI")  # Only read here, to route messages; ofp_msgs builds them.
_ECHO_TYPES = (OFPT_HELLO, OFPT_ERROR, OFPT_ECHO_REQUEST, OFPT_ECHO_REPLY)
OFPET_HELLO_FAILED = 0
OFPHFC_INCOMPATIBLE = 0
OFPHFC_EPERM = 1
_HELLO_FAILED_TEXT_MAX = 127  # Open vSwitch formats the text into a 128-byte buffer.


def error_string(error: int) -> str:
    """The text Open vSwitch writes for a connection error: ``End of file`` for ``EOF_ERROR``, else
    ``strerror``."""
    if error == EOF_ERROR:
        return "End of file"
    return os.strerror(error)


class VconnError(OSError):
    """A connection that could not be opened or negotiated; ``errno`` is the reason (``EPROTO`` for a failed
    negotiation, ``ECONNRESET`` for a peer that closed before its HELLO, ``ETIMEDOUT``...)."""

    def __init__(self, error: int, detail: str = "") -> None:
        super().__init__(error, error_string(error))
        self.detail = detail


class VconnOpenError(VconnError):
    """The connection could not even be started: a bad address, or a Unix socket that cannot be reached (its
    connect fails at once).  Open vSwitch's rconn treats these apart from failures during the handshake."""


# --------------------------------------------------------------------------------------------------- addresses


class AddressError(ValueError):
    """An address that does not parse; the message names the address and the problem."""


@dataclass(frozen=True, slots=True)
class Address:
    """A parsed connection address.  ``kind`` is ``tcp``, ``unix``, ``ptcp`` or ``punix``; ``host`` is an IP
    literal without brackets (``""`` for a ``ptcp`` that listens on every IPv4 address), ``port`` the TCP port
    (0 for ``ptcp:0``: any free port) and ``path`` the socket file of the Unix kinds."""

    kind: str
    host: str = ""
    port: int = 0
    path: str = ""

    @property
    def passive(self) -> bool:
        return self.kind in ("ptcp", "punix")

    @property
    def is_unix(self) -> bool:
        return self.kind in ("unix", "punix")

    @property
    def listens_on_all(self) -> bool:
        """A ``ptcp`` listener on every address (written without an IP, or with ``0.0.0.0`` or ``[::]``)."""
        return self.kind == "ptcp" and (not self.host or ipaddress.ip_address(self.host).is_unspecified)

    @property
    def bind_host(self) -> str:
        """The IP a ``ptcp`` listener binds: its own, or ``0.0.0.0`` when none was written (as Open vSwitch)."""
        return self.host or "0.0.0.0"

    def in_rundir(self, rundir: str) -> Address:
        """This address with a relative Unix socket path taken relative to ``rundir``, as Open vSwitch resolves
        ``unix:NAME`` and ``punix:NAME`` against its run directory."""
        if self.is_unix and not os.path.isabs(self.path):
            return Address(self.kind, path=os.path.join(rundir, self.path))
        return self

    def __str__(self) -> str:
        if self.is_unix:
            return f"{self.kind}:{self.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.kind == "tcp":
            return f"tcp:{host}:{self.port}"
        return f"ptcp:{self.port}:{host}" if self.host else f"ptcp:{self.port}"


_KINDS = ("tcp", "unix", "ptcp", "punix")


def _parse_ip(text: str, spec: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise AddressError(f'{spec}: "{text}" is not an IP address') from None


def _parse_port(text: str, spec: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise AddressError(f'{spec}: bad port number "{text}"')
    return int(text)


def _split_host(text: str, spec: str) -> tuple[str, str | None]:
    """``IP[:REST]`` or ``[IPV6][:REST]`` -> (IP, REST or None)."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise AddressError(f"{spec}: missing ']' after IPv6 address")
        host, rest = text[1:end], text[end + 1:]
        if rest and not rest.startswith(":"):
            raise AddressError(f"{spec}: unexpected text after ']'")
        return _parse_ip(host, spec), (rest[1:] if rest else None)
    if text.count(":") > 1:
        raise AddressError(f"{spec}: an IPv6 address must be written in brackets, e.g. [::1]")
    host, sep, rest = text.partition(":")
    return _parse_ip(host, spec), (rest if sep else None)


def parse_address(text: str, default_port: int = OFP_PORT) -> Address:
    """Parse ``tcp:IP[:PORT]``, ``unix:PATH``, ``ptcp:[PORT][:IP]`` or ``punix:PATH``.  Raises ``AddressError``
    with a message such as ``tcp:1.2.3.4:99999: bad port number "99999"``."""
    kind, sep, rest = text.partition(":")
    if not sep or kind not in _KINDS:
        raise AddressError(f'{text}: unknown connection type "{kind if sep else text}" '
                           f"(expected tcp:IP[:PORT], unix:PATH, ptcp:[PORT][:IP] or punix:PATH)")
    if kind in ("unix", "punix"):
        if not rest:
            raise AddressError(f"{text}: missing socket file name")
        return Address(kind, path=rest)
    if kind == "tcp":
        if not rest:
            raise AddressError(f"{text}: missing IP address")
        host, port_part = _split_host(rest, text)
        return Address("tcp", host, default_port if not port_part else _parse_port(port_part, text))
    # ptcp:[PORT][:IP]
    port_text, sep, host_text = rest.partition(":")
    port = default_port if not port_text else _parse_port(port_text, text)
    host = ""
    if sep:
        if not host_text:
            raise AddressError(f"{text}: missing IP address after ':'")
        if host_text.startswith("["):
            host, extra = _split_host(host_text, text)
            if extra is not None:
                raise AddressError(f"{text}: unexpected text after ']'")
        else:
            host = _parse_ip(host_text, text)
    return Address("ptcp", host, port)


def _address(address: str | Address) -> Address:
    return address if isinstance(address, Address) else parse_address(address)


# ----------------------------------------------------------------------------------------------------- framing


class FramingError(Exception):
    """A header whose length field is below 8: the stream cannot be framed any further."""

    def __init__(self, length: int) -> None:
        super().__init__(f"received too-short ofp_header ({length} bytes)")
        self.length = length


def split_messages(buf: bytearray) -> list[bytes]:
    """Remove the whole messages at the front of ``buf`` and return them; an incomplete message stays in
    ``buf``.  A header whose length is below 8 stops the split: the messages before it are returned, and the
    call that finds it at the front of ``buf`` raises ``FramingError`` (so that those messages are processed
    first, as Open vSwitch reads one message at a time)."""
    out: list[bytes] = []
    pos = 0
    n = len(buf)
    while n - pos >= 8:
        length = int.from_bytes(buf[pos + 2:pos + 4], "big")
        if length < 8:
            if pos == 0:
                raise FramingError(length)
            break
        if n - pos < length:
            break
        out.append(bytes(buf[pos:pos + length]))
        pos += length
    del buf[:pos]
    return out


def _header(data: bytes) -> tuple[int, int, int, int]:
    """(version, type, length, xid) of a framed message."""
    return _HEADER.unpack_from(data, 0)


# ------------------------------------------------------------------------------------------------- negotiation


def _bitmap(versions: Iterable[int]) -> int:
    return sum(1 << v for v in set(versions))


def versions_text(versions: Iterable[int]) -> str:
    """How Open vSwitch names a set of wire versions in its negotiation messages: ``no versions``,
    ``version 0x04``, ``version 0x06 and earlier`` (every version from 0x01 up), ``versions 0x01, 0x04``."""
    vs = sorted(set(versions))
    if not vs:
        return "no versions"
    if len(vs) == 1:
        return f"version {vs[0]:#04x}"
    if _bitmap(vs) == (1 << (vs[-1] + 1)) - 2:
        return f"version {vs[-1]:#04x} and earlier"
    return "versions " + ", ".join(f"{v:#04x}" for v in vs)


def peer_versions(hello: bytes) -> frozenset[int]:
    """The versions a HELLO message offers (its version bitmap, else every version up to its header's).
    A bitmap's bit 0 (a version 0x00 that does not exist) is ignored, as Open vSwitch does."""
    versions = ofp_msgs.decode_hello(ofp_msgs.decode(hello))
    return frozenset(v for v in versions if v > 0)


def negotiate(ours: Iterable[int], theirs: Iterable[int]) -> int | None:
    """The version a connection uses: the highest that both sides allow, or None when they have none in
    common."""
    common = set(ours) & set(theirs)
    return max(common) if common else None


def hello_failed_text(ours: Iterable[int], theirs: Iterable[int]) -> str:
    """``We support version 0x04, you support version 0x01, no common versions.`` (at most 127 characters, as
    Open vSwitch's buffer holds)."""
    text = f"We support {versions_text(ours)}, you support {versions_text(theirs)}, no common versions."
    return text[:_HELLO_FAILED_TEXT_MAX]


def encode_hello_failed(version: int, text: str, code: int = OFPHFC_INCOMPATIBLE) -> bytes:
    """``OFPT_ERROR`` HELLO_FAILED (``OFPHFC_INCOMPATIBLE`` by default) carrying ``text``, with xid 0, in wire
    ``version``: byte for byte what Open vSwitch sends when negotiation fails."""
    body = struct.pack("!HH", OFPET_HELLO_FAILED, code) + text.encode()
    return ofp_msgs.encode("OFPT_ERROR", min(max(version, 1), 0xFF), body, 0)


def _describe(data: bytes) -> str:
    """A message in a log line, as Open vSwitch's ``ofp_to_string`` begins it: ofp-print's header (with the
    payload size of an echo, the error of an OFPT_ERROR), or ``***decode error: CODE***`` and a hex dump."""
    try:
        msg = ofp_msgs.decode(data)
    except OFPDecodeError as e:
        return f"***decode error: {e.code}***\n" + hexdump(data).rstrip("\n")
    text = ofp_msgs.header_text(msg)
    if msg.type in ("ECHO_REQUEST", "ECHO_REPLY"):
        text += f" {len(msg.body)} bytes of payload"
    elif msg.type == "ERROR":
        text += _error_summary(data)
    return text


def _error_summary(data: bytes) -> str:
    if len(data) >= 12 and data[8:10] == b"\0\0":
        code = int.from_bytes(data[10:12], "big")
        name = {OFPHFC_INCOMPATIBLE: "OFPHFC_INCOMPATIBLE", OFPHFC_EPERM: "OFPHFC_EPERM"}.get(code, f"code {code}")
        return f" {name} {data[12:].decode(errors='replace')}"
    try:
        name, _ = ofp_msgs.decode_error(ofp_msgs.decode(data))
    except (OFPDecodeError, struct.error):
        return ""
    return f" {name}"


class _Handshake:
    """The HELLO exchange of one connection, shared by the asyncio and the blocking sides: feed it the first
    message received and it says what to send and whether the connection is up."""

    def __init__(self, name: str, allowed: frozenset[int]) -> None:
        self.name = name
        self.allowed = allowed
        self.peer: frozenset[int] = frozenset()
        self.version: int | None = None

    def receive(self, data: bytes) -> tuple[int, bytes | None]:
        """Process the peer's first message.  Returns (0, None) when negotiated (``version`` is set), or
        (errno, message to send before closing or None)."""
        _, mtype, _, _ = _header(data)
        if mtype != OFPT_HELLO:
            log.warning("%s: received message while expecting hello: %s", self.name, _describe(data))
            return errno.EPROTO, None
        try:
            self.peer = peer_versions(data)
        except OFPDecodeError:
            self.peer = frozenset(range(1, data[0] + 1))
        ours, theirs = versions_text(self.allowed), versions_text(self.peer)
        version = negotiate(self.allowed, self.peer)
        if version is None:
            log.warning("%s: version negotiation failed (we support %s, peer supports %s)", self.name, ours,
                        theirs)
            top = max(self.peer) if self.peer else data[0]
            return errno.EPROTO, encode_hello_failed(top, hello_failed_text(self.allowed, self.peer))
        self.version = version
        log.debug("%s: negotiated OpenFlow version %#04x (we support %s, peer supports %s)", self.name, version,
                  ours, theirs)
        return 0, None


# ------------------------------------------------------------------------------------------------ asyncio side

MessageHandler = Callable[["Connection", bytes], None]

_unix_seq = itertools.count(0)


def _next_unix_name() -> str:
    """``unix#N``: Open vSwitch's name for the N-th connection a process accepted on a Unix socket."""
    return f"unix#{next(_unix_seq)}"


def _peer_name(sockname: object) -> str:
    host, port = sockname[0], sockname[1]  # type: ignore[index]
    return f"tcp:[{host}]:{port}" if ":" in host else f"tcp:{host}:{port}"


class Connection(asyncio.Protocol):
    """One OpenFlow connection in the asyncio loop.

    It starts in ``CONNECTING``: ``connection_made`` sends our HELLO, the peer's HELLO sets ``version`` and the
    state becomes ``ACTIVE`` (``IDLE`` while an inactivity probe is unanswered), or the connection closes with
    ``error`` ``EPROTO``.  ``wait_negotiated()`` waits for the outcome.  Received messages (whole, as bytes;
    echo requests are answered here and not passed on, nor the replies to our own probes) go to ``handler``
    when one is set, else to an internal queue read by ``recv()`` or ``async for``.  A message in another
    version than the negotiated one (other than HELLO, ERROR and echo) is answered with ``OFPBRC_BAD_VERSION``
    and dropped, as in Open vSwitch.

    Timers (the HELLO deadline and the inactivity probe) are measured with ``clock``; ``run()`` checks them
    and returns when to call it next.  The connection schedules that itself in the loop; tests with a
    ``ManualClock`` advance the clock and call ``run()``.  All methods must be called in the loop's thread."""

    def __init__(self, name: str, allowed_versions: Iterable[int] = ALL_VERSIONS, *,
                 probe_interval: float = 0.0, hello_timeout: float | None = None, clock: Clock | None = None,
                 handler: MessageHandler | None = None) -> None:
        self.name = name
        self.log_name = name
        """The name used in log lines (an rconn sets ``br0<->tcp:...``)."""
        self.allowed_versions = frozenset(allowed_versions)
        if not self.allowed_versions:
            raise ValueError("no OpenFlow version allowed")
        self.probe_interval = probe_interval
        self.hello_timeout = hello_timeout
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        self.handler = handler
        self.state = "CONNECTING"
        self.version: int | None = None
        self.peer_versions: frozenset[int] = frozenset()
        self.error = 0
        """0 while open or after ``close()``; else an errno or ``EOF_ERROR``."""
        self.error_logged = False
        """Whether the reason for closing has already been logged (the HELLO and probe timeouts); otherwise the
        owner logs ``connection dropped (...)``, as Open vSwitch's rconn does."""
        self.n_rx_msgs = self.n_rx_bytes = self.n_tx_msgs = self.n_tx_bytes = 0
        self.n_probes = 0
        self.transport: asyncio.Transport | None = None
        self._handshake = _Handshake(name, self.allowed_versions)
        self._buf = bytearray()
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._negotiated: asyncio.Future[int] | None = None
        self._closed_event = asyncio.Event()
        self._close_callbacks: list[Callable[[Connection], None]] = []
        self._state_entered = self.clock.now()
        self._last_activity = self._state_entered
        self._probe_xid: int | None = None
        self._xids = itertools.count(1)
        self._timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol -------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._negotiated = asyncio.get_running_loop().create_future()
        self._state_entered = self._last_activity = self.clock.now()
        self._write(ofp_msgs.encode_hello(self.allowed_versions, self.next_xid()))
        self.reschedule()

    def data_received(self, data: bytes) -> None:
        if self.state == "CLOSED":
            return
        self._buf += data
        while self.state != "CLOSED":
            try:
                msgs = split_messages(self._buf)
            except FramingError as e:
                stream_log.error("%s", e)  # Open vSwitch's line names no connection; the drop line does.
                self._fail(errno.EPROTO, logged=False)
                return
            if not msgs:
                return
            for msg in msgs:
                if self.state == "CLOSED":
                    return
                self._receive(msg)

    def eof_received(self) -> bool | None:
        return False  # Close our side too.

    def connection_lost(self, exc: Exception | None) -> None:
        if self.state != "CLOSED":
            if exc is None:
                error = EOF_ERROR if self.state != "CONNECTING" else errno.ECONNRESET
                if self._buf and self.state != "CONNECTING":
                    stream_log.error("connection dropped mid-packet")
                    error = errno.EPROTO
            else:
                error = getattr(exc, "errno", None) or errno.ECONNRESET
            self._finish(error)

    # -- public -------------------------------------------------------------------------------------------------

    @property
    def peer(self) -> str:
        """The connection's name: ``unix#3`` or ``tcp:127.0.0.1:40712`` when accepted, else its target."""
        return self.name

    @property
    def is_connected(self) -> bool:
        return self.state in ("ACTIVE", "IDLE")

    @property
    def closed(self) -> bool:
        return self.state == "CLOSED"

    def next_xid(self) -> int:
        """A fresh transaction id for a request sent on this connection."""
        return next(self._xids) & 0xFFFFFFFF

    async def wait_negotiated(self, timeout: float | None = None) -> int:
        """Wait for the HELLO exchange; return the version.  Raises ``VconnError`` (``EPROTO`` if negotiation
        failed, ``ECONNRESET`` if the peer closed first, ``ETIMEDOUT`` after ``timeout`` seconds, after which the
        connection is closed)."""
        assert self._negotiated is not None, "not connected to a transport"
        try:
            return await asyncio.wait_for(asyncio.shield(self._negotiated), timeout)
        except TimeoutError:
            self._fail(errno.ETIMEDOUT, logged=True)
            raise VconnError(errno.ETIMEDOUT) from None

    def send(self, data: bytes) -> None:
        """Queue one whole message (or several, concatenated) for sending.  Raises ``VconnError(ENOTCONN)``
        unless the connection is negotiated and open."""
        if not self.is_connected or self.transport is None or self.transport.is_closing():
            raise VconnError(errno.ENOTCONN, f"{self.name}: not connected")
        self._write(data)

    async def recv(self) -> bytes:
        """The next received message; raises ``EOFError`` once the connection is closed and the queue empty.
        (Only when no ``handler`` is set.)"""
        msg = await self._queue.get()
        if msg is None:
            self._queue.put_nowait(None)
            raise EOFError(self.name)
        return msg

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        while True:
            try:
                yield await self.recv()
            except EOFError:
                return

    def add_close_callback(self, cb: Callable[[Connection], None]) -> None:
        """Call ``cb(connection)`` once the connection has closed (for any reason)."""
        if self.state == "CLOSED":
            cb(self)
        else:
            self._close_callbacks.append(cb)

    def close(self) -> None:
        """Close the connection (``error`` stays 0: closed on request)."""
        if self.state != "CLOSED":
            self._finish(0)

    async def wait_closed(self) -> None:
        await self._closed_event.wait()

    def run(self) -> float | None:
        """Check the timers against the clock (HELLO deadline, inactivity probe); return the clock time at which
        to call again, or None when no timer is running."""
        now = self.clock.now()
        if self.state == "CONNECTING":
            if self.hello_timeout is None:
                return None
            deadline = self._state_entered + self.hello_timeout
            if now >= deadline:
                rconn_log.info("%s: connection timed out", self.log_name)
                self._fail(errno.ETIMEDOUT, logged=True)
                return None
            return deadline
        if not self.probe_interval or self.state not in ("ACTIVE", "IDLE"):
            return None
        if self.state == "ACTIVE":
            base = max(self._last_activity, self._state_entered)
            deadline = base + self.probe_interval
            if now < deadline:
                return deadline
            rconn_log.debug("%s: idle %d seconds, sending inactivity probe", self.log_name, int(now - base))
            self._enter("IDLE")
            self._probe_xid = self.next_xid()
            self.n_probes += 1
            assert self.version is not None
            self._write(ofp_msgs.encode("OFPT_ECHO_REQUEST", self.version, b"", self._probe_xid))
            return self._state_entered + self.probe_interval
        deadline = self._state_entered + self.probe_interval
        if now >= deadline:
            rconn_log.error("%s: no response to inactivity probe after %d seconds, disconnecting", self.log_name,
                      int(now - self._state_entered))
            self._fail(errno.ETIMEDOUT, logged=True)
            return None
        return deadline

    # -- internals ----------------------------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)
        self.n_tx_bytes += len(data)
        self.n_tx_msgs += 1

    def _enter(self, state: str) -> None:
        self.state = state
        self._state_entered = self.clock.now()

    def _receive(self, data: bytes) -> None:
        self.n_rx_msgs += 1
        self.n_rx_bytes += len(data)
        self._last_activity = self.clock.now()
        if self.state == "CONNECTING":
            error, reply = self._handshake.receive(data)
            if error:
                if reply is not None:
                    self._write(reply)
                self._fail(error, logged=False)
                return
            assert self._handshake.version is not None
            self.version = self._handshake.version
            self.peer_versions = self._handshake.peer
            self._enter("ACTIVE")
            if self._negotiated is not None and not self._negotiated.done():
                self._negotiated.set_result(self.version)
            self.reschedule()
            self._on_negotiated()
            return
        if self.state == "IDLE":
            self._enter("ACTIVE")
            self.reschedule()
        version, mtype, _, xid = _header(data)
        if version != self.version and mtype not in _ECHO_TYPES:
            log.error("%s: received OpenFlow version %#04x != expected %02x", self.name, version, self.version)
            # The reply is in the request's version and carries all of it, as Open vSwitch sends it; a version
            # OpenFlow never had gets an OpenFlow 1.0 error, as there.
            if not ofp_msgs.MIN_VERSION <= version <= ofp_msgs.MAX_VERSION:
                log.error("cannot encode error for unknown OpenFlow version %#04x", version)
                version = ofp_msgs.MIN_VERSION
            self._write(ofp_msgs.encode_error(version, "OFPBRC_BAD_VERSION", xid, data))
            return
        if mtype == OFPT_ECHO_REQUEST:
            self._write(bytes([data[0], OFPT_ECHO_REPLY]) + data[2:])
            return
        if mtype == OFPT_ECHO_REPLY and xid == self._probe_xid:
            self._probe_xid = None
            return
        if self.handler is not None:
            try:
                self.handler(self, data)
            except Exception:
                log.exception("%s: message handler failed", self.name)
        else:
            self._queue.put_nowait(data)

    def _on_negotiated(self) -> None:
        """Called as soon as the version is known, before any later message is processed."""

    def _on_closed(self) -> None:
        """Called once the connection is closed, before the close callbacks."""

    def _fail(self, error: int, logged: bool) -> None:
        self.error_logged = logged
        self._finish(error)

    def _finish(self, error: int) -> None:
        if self.state == "CLOSED":
            return
        self.state = "CLOSED"
        self.error = error
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.transport is not None:
            self.transport.close()
        if self._negotiated is not None and not self._negotiated.done():
            self._negotiated.set_exception(VconnError(error if error > 0 else errno.ECONNRESET))
            self._negotiated.exception()  # Mark retrieved: nobody may be waiting.
        self._queue.put_nowait(None)
        self._closed_event.set()
        self._on_closed()
        callbacks, self._close_callbacks = self._close_callbacks, []
        for cb in callbacks:
            try:
                cb(self)
            except Exception:
                log.exception("%s: close callback failed", self.name)

    def reschedule(self) -> None:
        """Check the timers now and arrange to check them again when the next one is due (call after changing
        ``probe_interval``, ``hello_timeout`` or ``clock``)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.state == "CLOSED":
            return
        deadline = self.run()
        if deadline is None or self.state == "CLOSED":
            return
        delay = max(0.0, deadline - self.clock.now())
        self._timer = asyncio.get_running_loop().call_later(delay, self.reschedule)


async def _tcp_connect(addr: Address, timeout: float | None) -> socket.socket:
    """A connected non-blocking TCP socket.  A connect that fails at once (a closed port on this machine) is a
    ``VconnOpenError``, one that fails later a ``VconnError``, as Open vSwitch's ``vconn_open`` and
    ``vconn_connect`` tell them apart."""
    family = socket.AF_INET6 if ":" in addr.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    err = sock.connect_ex((addr.host, addr.port))
    if err == errno.EINPROGRESS and select.select([], [sock], [], 0)[1]:
        # Already complete (on this machine, a refusal is): Open vSwitch's vconn_open checks at once too.
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err not in (0, errno.EINPROGRESS):
        sock.close()
        raise VconnOpenError(err)
    if err == errno.EINPROGRESS:
        loop = asyncio.get_running_loop()
        writable: asyncio.Future[None] = loop.create_future()

        def ready() -> None:
            if not writable.done():
                writable.set_result(None)

        fd = sock.fileno()
        loop.add_writer(fd, ready)
        try:
            await asyncio.wait_for(writable, timeout)
        except TimeoutError:
            loop.remove_writer(fd)
            sock.close()
            raise VconnError(errno.ETIMEDOUT) from None
        except BaseException:
            loop.remove_writer(fd)
            sock.close()
            raise
        loop.remove_writer(fd)
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            sock.close()
            raise VconnError(err)
    return sock


async def connect(address: str | Address, allowed_versions: Iterable[int] = ALL_VERSIONS, *,
                  name: str | None = None, probe_interval: float = 0.0, timeout: float | None = None,
                  clock: Clock | None = None, handler: MessageHandler | None = None) -> Connection:
    """Open an active connection to ``tcp:`` or ``unix:`` ``address`` and negotiate a version.  ``name``
    (default: the address as written) names it in log lines.  Raises ``VconnOpenError`` for a bad address or a
    Unix socket that cannot be reached, ``VconnError`` or ``OSError`` otherwise."""
    text = str(address)
    try:
        addr = _address(address)
    except AddressError as e:
        raise VconnOpenError(errno.EAFNOSUPPORT, str(e)) from None
    if addr.passive:
        raise VconnOpenError(errno.EAFNOSUPPORT, f"{text}: not an active address")
    loop = asyncio.get_running_loop()
    versions = frozenset(allowed_versions)

    def factory() -> Connection:
        return Connection(name or text, versions, probe_interval=probe_interval, clock=clock, handler=handler)

    if addr.is_unix:
        try:
            _, conn = await loop.create_unix_connection(factory, addr.path)
        except OSError as e:
            raise VconnOpenError(e.errno or errno.ECONNREFUSED, f"{text}: {e.strerror}") from None
    else:
        sock = await _tcp_connect(addr, timeout)
        try:
            _, conn = await loop.create_connection(factory, sock=sock)
        except BaseException:
            sock.close()
            raise
    try:
        await conn.wait_negotiated(timeout)
    except BaseException:
        conn.close()
        raise
    return conn


ConnectionCallback = Callable[[Connection], "None | Awaitable[None]"]


class Listener:
    """A passive OpenFlow endpoint (``ptcp:`` or ``punix:``): accepts connections, negotiates on each, and hands
    every negotiated ``Connection`` to ``on_connection`` (a function, or a coroutine function run as a task).
    A connection that fails its handshake is logged and closed; the listener lives on.

    ``start()`` binds (for ``punix``, a stale socket file left by a dead process is removed first; a file that
    is not a socket is an error), ``close()`` stops listening, closes the connections it accepted and, for
    ``punix``, removes the socket file.  ``port`` is the bound TCP port (useful with ``ptcp:0``).

    As in Open vSwitch, a client that has not completed the HELLO exchange within ``hello_timeout`` seconds
    (1 by default) is dropped (``connection timed out``), and a connection that ends on an error is logged as
    ``PREFIXunix#3: connection dropped (Protocol error)`` by the ``pyvswitch.rconn`` logger, where
    ``log_prefix`` is for example ``br0<->``; ``log_name`` of accepted connections carries that prefix."""

    def __init__(self, address: str | Address, on_connection: ConnectionCallback,
                 allowed_versions: Iterable[int] = ALL_VERSIONS, *, probe_interval: float = 0.0,
                 hello_timeout: float | None = 1.0, clock: Clock | None = None,
                 handler: MessageHandler | None = None, log_prefix: str = "") -> None:
        self.address = _address(address)
        self.log_prefix = log_prefix
        if not self.address.passive:
            raise AddressError(f"{address}: not a passive address (expected ptcp:[PORT][:IP] or punix:PATH)")
        self.on_connection = on_connection
        self.allowed_versions = frozenset(allowed_versions)
        self.probe_interval = probe_interval
        self.hello_timeout = hello_timeout
        self.clock = clock
        self.handler = handler
        self.connections: set[Connection] = set()
        self.n_accepted = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        """``punix:PATH`` or ``ptcp:PORT:IP`` with the bound port."""
        if self.address.is_unix:
            return str(self.address)
        host = self.address.bind_host
        return f"ptcp:{self.port}:{f'[{host}]' if ':' in host else host}"

    @property
    def port(self) -> int:
        if self._server is not None and self._server.sockets and not self.address.is_unix:
            return int(self._server.sockets[0].getsockname()[1])
        return self.address.port

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.address.is_unix:
            path = self.address.path
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                pass
            else:
                if not stat.S_ISSOCK(st.st_mode):
                    raise OSError(errno.EEXIST, f"{path}: exists and is not a socket")
                os.unlink(path)
            self._server = await loop.create_unix_server(lambda: self._new(True), path)
        else:
            self._server = await loop.create_server(lambda: self._new(False), self.address.bind_host,
                                                    self.address.port, reuse_address=True)
        log.info("%s: listening", self.name)

    def _new(self, unix: bool) -> Connection:
        conn = _AcceptedConnection(self, unix)
        return conn

    def _accepted(self, conn: Connection) -> None:
        self.n_accepted += 1
        self.connections.add(conn)
        conn.add_close_callback(self.connections.discard)

    def _negotiated(self, conn: Connection) -> None:
        try:
            result = self.on_connection(conn)
        except Exception:
            log.exception("%s: connection callback failed", conn.name)
            conn.close()
            return
        if result is not None and asyncio.iscoroutine(result):
            task = asyncio.get_running_loop().create_task(result)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for conn in list(self.connections):
                conn.close()
            await self._server.wait_closed()
            self._server = None
            if self.address.is_unix:
                try:
                    os.unlink(self.address.path)
                except OSError:
                    pass
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


class _AcceptedConnection(Connection):
    """A connection a ``Listener`` accepted: named after the peer, reported to the listener when negotiated."""

    def __init__(self, listener: Listener, unix: bool) -> None:
        super().__init__("unix" if unix else "tcp", listener.allowed_versions,
                         probe_interval=listener.probe_interval, hello_timeout=listener.hello_timeout,
                         clock=listener.clock, handler=listener.handler)
        self._listener = listener
        self._unix = unix

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._unix:
            self.name = _next_unix_name()
        else:
            self.name = _peer_name(transport.get_extra_info("peername"))
        self._handshake.name = self.name
        self.log_name = self._listener.log_prefix + self.name
        self._listener._accepted(self)
        super().connection_made(transport)

    def _on_negotiated(self) -> None:
        # Synchronously, so that on_connection can set a handler before the next message is delivered.
        self._listener._negotiated(self)

    def _on_closed(self) -> None:
        # Open vSwitch keeps an accepted connection in an "unreliable" rconn, which reports why it ended:
        # "br0<->unix#3: connection dropped (Protocol error)", or at debug level a normal close by the peer.
        # Timeouts were logged when they happened.
        if self.error == EOF_ERROR:
            rconn_log.debug("%s: connection closed by peer", self.log_name)
        elif self.error and not self.error_logged:
            rconn_log.warning("%s: connection dropped (%s)", self.log_name, error_string(self.error))


# ----------------------------------------------------------------------------------------------- blocking side


class BlockingConnection:
    """A negotiated OpenFlow connection used with blocking calls, for command-line tools.  Echo requests that
    arrive while waiting are answered; ``timeout`` (seconds, None for none) bounds every wait and raises
    ``VconnError(ETIMEDOUT)``."""

    def __init__(self, sock: socket.socket, name: str, allowed_versions: Iterable[int] = ALL_VERSIONS,
                 timeout: float | None = None) -> None:
        self.sock = sock
        self.name = name
        self.timeout = timeout
        self.allowed_versions = frozenset(allowed_versions)
        self.version = 0
        self.peer_versions: frozenset[int] = frozenset()
        self._buf = bytearray()
        self._pending: list[bytes] = []
        self._xids = itertools.count(1)
        self._negotiate()

    def next_xid(self) -> int:
        return next(self._xids) & 0xFFFFFFFF

    def _negotiate(self) -> None:
        hs = _Handshake(self.name, self.allowed_versions)
        self.sock.sendall(ofp_msgs.encode_hello(self.allowed_versions, self.next_xid()))
        try:
            first = self._read_message()
        except EOFError:
            self.close()
            raise VconnError(errno.ECONNRESET) from None
        error, reply = hs.receive(first)
        if error:
            if reply is not None:
                try:
                    self.sock.sendall(reply)
                except OSError:
                    pass
            self.close()
            raise VconnError(error)
        assert hs.version is not None
        self.version = hs.version
        self.peer_versions = hs.peer

    def _read_message(self, deadline: float | None = None) -> bytes:
        """The next whole message from the socket (EOFError when the peer closed)."""
        while True:
            if self._pending:
                return self._pending.pop(0)
            try:
                msgs = split_messages(self._buf)
            except FramingError as e:
                stream_log.error("%s", e)
                raise VconnError(errno.EPROTO) from None
            if msgs:
                self._pending.extend(msgs[1:])
                return msgs[0]
            if deadline is None and self.timeout is not None:
                deadline = time.monotonic() + self.timeout
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise VconnError(errno.ETIMEDOUT)
                self.sock.settimeout(left)
            else:
                self.sock.settimeout(None)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                raise VconnError(errno.ETIMEDOUT) from None
            if not chunk:
                if self._buf:
                    stream_log.error("connection dropped mid-packet")
                    raise VconnError(errno.EPROTO)
                raise EOFError(self.name)
            self._buf += chunk

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self) -> bytes:
        """The next message other than an echo request (those are answered).  Raises ``EOFError`` when the peer
        closed the connection, ``VconnError`` on a protocol error or timeout."""
        if self._pending:
            return self._pending.pop(0)
        while True:
            msg = self._read_message()
            if msg[1] == OFPT_ECHO_REQUEST:
                self.send(bytes([msg[0], OFPT_ECHO_REPLY]) + msg[2:])
                continue
            return msg

    def _recv_xid(self, xid: int) -> bytes:
        """The next message with transaction id ``xid``; others are dropped, as Open vSwitch does."""
        while True:
            msg = self.recv()
            got = _header(msg)[3]
            if got == xid:
                return msg
            log.debug("%s: received reply with xid %08x != expected %08x", self.name, got, xid)

    def transact(self, request: bytes) -> list[bytes]:
        """Send ``request`` and return its reply: every part of a multipart reply (until one without
        ``OFPSF_REPLY_MORE``), else the one reply, which may be an ``OFPT_ERROR``.  Only use it for requests
        that have a reply."""
        xid = _header(request)[3]
        self.send(request)
        replies: list[bytes] = []
        while True:
            reply = self._recv_xid(xid)
            replies.append(reply)
            if not _more(reply):
                return replies

    def barrier(self) -> list[bytes]:
        """Send a barrier request and wait for its reply; return the other messages received meanwhile (such as
        errors for requests sent before, which carry their own xids)."""
        xid = self.next_xid()
        raw = ofp_msgs.raw_for("BARRIER_REQUEST", self.version)
        self.send(ofp_msgs.encode(raw, self.version, b"", xid))
        others: list[bytes] = []
        while True:
            msg = self.recv()
            if _header(msg)[3] == xid and msg[1] in (19, 21):
                return others
            others.append(msg)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _more(reply: bytes) -> bool:
    """Whether ``reply`` is a multipart reply with more parts to come."""
    try:
        msg = ofp_msgs.decode(reply)
    except OFPDecodeError:
        return False
    return msg.raw.is_stats and msg.raw.is_reply and bool(msg.flags & ofp_msgs.OFPSF_REPLY_MORE)


def open_blocking(address: str | Address, allowed_versions: Iterable[int] = ALL_VERSIONS,
                  timeout: float | None = None) -> BlockingConnection:
    """Connect to ``tcp:`` or ``unix:`` ``address`` and negotiate; raises ``VconnOpenError`` when the socket
    cannot be reached at once (bad address; for a Unix socket, any connect error; a TCP port that refuses at
    once), ``VconnError`` when the TCP connect fails later or the handshake fails."""
    text = str(address)
    try:
        addr = _address(address)
    except AddressError as e:
        raise VconnOpenError(errno.EAFNOSUPPORT, str(e)) from None
    if addr.passive:
        raise VconnOpenError(errno.EAFNOSUPPORT, f"{text}: not an active address")
    if addr.is_unix:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(addr.path)
        except OSError as e:
            sock.close()
            raise VconnOpenError(e.errno or errno.ECONNREFUSED, str(e)) from None
    else:
        family = socket.AF_INET6 if ":" in addr.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        err = sock.connect_ex((addr.host, addr.port))
        if err == errno.EINPROGRESS and select.select([], [sock], [], 0)[1]:
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err not in (0, errno.EINPROGRESS):
            sock.close()  # Refused at once: ovs-ofctl says "connecting to ADDRESS (Connection refused)".
            raise VconnOpenError(err)
        if err == errno.EINPROGRESS:
            if not select.select([], [sock], [], timeout)[1]:
                sock.close()
                raise VconnError(errno.ETIMEDOUT)
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                sock.close()
                raise VconnError(err)
        sock.setblocking(True)
    return BlockingConnection(sock, text, allowed_versions, timeout)


class TargetError(Exception):
    """A ``pyvs-ofctl`` target that cannot be used; the message is what ovs-ofctl prints after its name, and
    the command exits with ``exit_code``."""

    exit_code = 1


def default_rundir() -> str:
    return os.environ.get("PYVS_RUNDIR") or "/var/run/pyvswitch"


def resolve_target(name: str, rundir: str | None = None) -> str:
    """What ``pyvs-ofctl`` connects to for ``name``: an address as written (it contains ``:``; a relative
    ``unix:`` path is taken in the run directory, as ovs-ofctl does), else ``unix:RUNDIR/NAME.mgmt`` when that
    socket exists, else ``unix:NAME`` when ``NAME`` is a socket file.  ``rundir`` defaults to ``$PYVS_RUNDIR``
    or ``/var/run/pyvswitch``.  Raises ``TargetError`` with ovs-ofctl's text ``br0 is not a bridge or a
    socket``."""
    rundir = rundir or default_rundir()
    if ":" in name:
        if name.startswith("unix:") and len(name) > 5 and not os.path.isabs(name[5:]):
            return f"unix:{os.path.join(rundir, name[5:])}"
        return name
    for path in (os.path.join(rundir, f"{name}.mgmt"), name):
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):
                return f"unix:{path}"
        except OSError:
            pass
    raise TargetError(f"{name} is not a bridge or a socket")


def open_target(name: str, allowed_versions: Iterable[int] = ALL_VERSIONS, timeout: float | None = None,
                rundir: str | None = None) -> BlockingConnection:
    """``resolve_target`` and ``open_blocking`` with ovs-ofctl's error texts: ``connecting to ADDRESS (ERROR)``
    when an address cannot be opened, ``NAME: failed to connect to socket (ERROR)`` when the connection or the
    handshake fails, ``NAME is not a bridge or a socket``."""
    target = resolve_target(name, rundir)
    try:
        return open_blocking(target, allowed_versions, timeout)
    except VconnOpenError as e:
        if ":" in name:
            raise TargetError(f"connecting to {name} ({e.strerror})") from None
        raise TargetError(f"{name}: failed to open socket ({e.strerror})") from None
    except OSError as e:
        raise TargetError(f"{name}: failed to connect to socket ({e.strerror})") from None
