"""JSON-RPC 1.0 over a byte stream, as RFC 7047 section 4 uses it.

OVSDB sends JSON-RPC messages back to back on a stream socket with no delimiter, so a reader has to find where each
JSON text ends.  :class:`JsonStreamParser` does that incrementally and hands each complete top-level value to
``json.loads``.  A message that is not a JSON object, is not valid JSON, is not UTF-8 or is larger than the limit
raises :class:`ProtocolError`; ovsdb-server then logs the problem and drops the connection, and so do we.

:func:`classify` sorts a parsed message into a request, notification, reply or error reply; the constructors build
them.  Messages are plain dicts.
"""

from __future__ import annotations

import codecs
import json
import re
from itertools import accumulate, islice, repeat
from typing import Any

DEFAULT_MAX_MESSAGE = 64 * 1024 * 1024

_WS = re.compile(r"[ \t\r\n]*")
# A complete string, or a bracket, or a lone quote (the start of a string that is not complete yet).
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]"]', re.DOTALL)
_DELTA = {"{": 1, "[": 1, "}": -1, "]": -1}
_FIRST_WINDOW = 4096


class ProtocolError(Exception):
    """The peer sent something that is not a JSON-RPC message stream."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class JsonStreamParser:
    """Splits a byte stream into JSON texts (objects or arrays at the top level) and parses them.

    Finding where a message ends needs the bracket depth outside strings.  To keep the per-character work in C,
    one regular expression lists the tokens that matter (whole strings, brackets, and the quote of a string that
    is not complete yet), ``itertools.accumulate`` turns them into running depths, and ``list.index`` finds where
    the depth returns to zero; the C decoder then parses the message.  The scan looks at a small window first and
    then at all the input received, so that many small pipelined messages do not each cost a scan of the whole
    buffer, and a large message is scanned about once.
    """

    def __init__(self, max_size: int = DEFAULT_MAX_MESSAGE) -> None:
        self.max_size = max_size
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._buf = ""
        self._pos = 0       # where scanning resumes (never inside a string)
        self._start = -1    # start of the value being read, or -1 between values
        self._depth = 0     # bracket depth at _pos
        self._json = json.JSONDecoder(parse_constant=_reject_constant)

    def feed(self, data: bytes) -> list[Any]:
        """Add ``data`` and return the JSON values it completes.  Raises :class:`ProtocolError`."""
        try:
            text = self._decoder.decode(data)
        except UnicodeDecodeError as e:
            raise ProtocolError(f"invalid UTF-8 in input: {e.reason}") from None
        buf = self._buf + text if self._buf else text
        n = len(buf)
        pos = self._pos
        start = self._start
        depth = self._depth
        window = _FIRST_WINDOW
        out: list[Any] = []
        while True:
            if start < 0:
                pos = _WS.match(buf, pos).end()  # type: ignore[union-attr]
                if pos >= n:
                    break
                c = buf[pos]
                if c != "{" and c != "[":
                    raise ProtocolError(f"syntax error at top level: unexpected {c!r} "
                                        "(a JSON-RPC message must be a JSON object)")
                start = pos
                depth = 0
                window = _FIRST_WINDOW
            end = min(n, pos + window)
            tokens = _TOKEN.findall(buf, pos, end)
            try:
                cut = tokens.index('"')
                del tokens[cut:]
            except ValueError:
                cut = -1
            running = list(accumulate(map(_DELTA.get, tokens, repeat(0)), initial=depth))
            try:
                running.index(0, 1)
            except ValueError:
                if end < n:
                    # Look at everything received (a string cut by the small window is scanned again).
                    if cut < 0:
                        depth = running[-1]
                        pos = end
                    window = n
                    continue
                # Everything received so far is scanned; remember where to resume.
                depth = running[-1]
                pos = next(islice(_TOKEN.finditer(buf, pos, end), cut, None)).start() if cut >= 0 else end
                break
            # A complete value ends in this window: the C decoder parses it and says where it ends.
            try:
                obj, pos = self._json.raw_decode(buf, start)
            except ValueError as e:
                raise ProtocolError(f"invalid JSON: {e}") from None
            out.append(obj)
            start = -1
        consumed = start if start >= 0 else pos
        if start >= 0 and n - start > self.max_size:
            raise ProtocolError(f"message exceeds the {self.max_size}-byte limit")
        self._buf = buf[consumed:]
        self._pos = pos - consumed
        self._start = start - consumed if start >= 0 else -1
        self._depth = depth
        return out

    def pending_bytes(self) -> int:
        return len(self._buf)


# ---- messages ----

REQUEST = "request"
NOTIFY = "notify"
REPLY = "reply"
ERROR = "error"


def request(method: str, params: list[Any], id: Any) -> dict[str, Any]:
    return {"method": method, "params": params, "id": id}


def notify(method: str, params: list[Any]) -> dict[str, Any]:
    return {"method": method, "params": params, "id": None}


def reply(result: Any, id: Any) -> dict[str, Any]:
    return {"result": result, "error": None, "id": id}


def error_reply(error: Any, id: Any) -> dict[str, Any]:
    return {"result": None, "error": error, "id": id}


def classify(msg: Any) -> str:
    """The kind of a parsed message: REQUEST, NOTIFY, REPLY or ERROR.  Raises ProtocolError if it is none."""
    if not isinstance(msg, dict):
        raise ProtocolError("message is not a JSON object")
    method = msg.get("method")
    if method is not None:
        if not isinstance(method, str):
            raise ProtocolError("method is not a string")
        return NOTIFY if msg.get("id") is None else REQUEST
    if "id" not in msg or msg["id"] is None:
        raise ProtocolError("reply without an id")
    if msg.get("error") is not None:
        return ERROR
    if "result" in msg:
        return REPLY
    raise ProtocolError("message is neither a request nor a reply")
