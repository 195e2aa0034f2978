"""The control socket: JSON-RPC over a Unix stream socket, the protocol of Open vSwitch's unixctl.

A request is ``{"id": ID, "method": COMMAND, "params": [ARG, ...]}`` with string arguments; the reply is
``{"id": ID, "result": TEXT, "error": null}`` on success or ``{"id": ID, "error": TEXT}`` on failure, where TEXT
normally ends with a newline.  That is what ``ovs-appctl`` sends and expects, so the real ``ovs-appctl -t
DIR/pyvs-vswitchd.ctl COMMAND`` works as well as ``pyvs-appctl``.

Commands are registered with :meth:`UnixctlServer.register` (name, usage, argument counts, handler).  A handler
takes the list of arguments and returns the result text, or raises :class:`CommandError` for a failed command.
Any other exception is logged and answered as an error: a bad command never stops the daemon.  Handlers run in the
asyncio loop's thread and must be quick.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyvswitch.db import jsonrpc

log = logging.getLogger("pyvswitch.unixctl")


class CommandError(Exception):
    """A command failed; the message (a newline is added if missing) is the error text sent to the client."""


@dataclass
class Command:
    name: str
    usage: str
    min_args: int
    max_args: int
    handler: Callable[[list[str]], str]


class UnixctlServer:
    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}
        self.path: str | None = None
        self._server: asyncio.AbstractServer | None = None
        self.register("list-commands", "", 0, 0, self._list_commands)

    def register(self, name: str, usage: str, min_args: int, max_args: int,
                 handler: Callable[[list[str]], str]) -> None:
        self.commands[name] = Command(name, usage, min_args, max_args, handler)

    def _list_commands(self, args: list[str]) -> str:
        lines = ["The available commands are:"]
        lines += [f"  {c.name:<23} {c.usage}" for c in sorted(self.commands.values(), key=lambda c: c.name)]
        return "\n".join(lines) + "\n"

    def execute(self, method: Any, params: Any) -> tuple[str | None, str | None]:
        """Run one request; returns (result, error)."""
        if not isinstance(method, str) or not isinstance(params, list):
            return None, "invalid JSON-RPC request\n"
        cmd = self.commands.get(method)
        if cmd is None:
            return None, f'"{method}" is not a valid command (use "list-commands" to see a list of valid commands)\n'
        if len(params) < cmd.min_args:
            return None, f'"{method}" command requires at least {cmd.min_args} arguments\n'
        if len(params) > cmd.max_args:
            return None, f'"{method}" command takes at most {cmd.max_args} arguments\n'
        if not all(isinstance(p, str) for p in params):
            return None, f'"{method}" command has non-string argument\n'
        try:
            out = cmd.handler(list(params))
        except CommandError as e:
            text = str(e)
            return None, text if text.endswith("\n") else text + "\n"
        except Exception as e:
            log.exception("%s: command failed", method)
            return None, f"internal error: {e}\n"
        return out, None

    async def listen(self, path: str) -> None:
        try:
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                os.unlink(path)
        except FileNotFoundError:
            pass
        self.path = path
        self._server = await asyncio.get_running_loop().create_unix_server(lambda: _Session(self), path)
        log.info("%s: listening", path)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self.path is not None:
            try:
                os.unlink(self.path)
            except OSError:
                pass


class _Session(asyncio.Protocol):
    def __init__(self, server: UnixctlServer) -> None:
        self.server = server
        self.parser = jsonrpc.JsonStreamParser()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        try:
            msgs = self.parser.feed(data)
        except jsonrpc.ProtocolError as e:
            log.warning("control connection: %s; closing it", e)
            self.transport.close()
            return
        for m in msgs:
            if not isinstance(m, dict) or "method" not in m:
                log.warning("control connection: received something that is not a request; closing it")
                self.transport.close()
                return
            result, error = self.server.execute(m.get("method"), m.get("params", []))
            if m.get("id") is None:
                continue
            reply: dict[str, Any] = {"id": m["id"]}
            if error is None:
                reply.update(result=result, error=None)
            else:
                reply["error"] = error
            self.transport.write(jsonrpc.dumps(reply))
