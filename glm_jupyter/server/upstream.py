"""One request to a kernel's completion endpoint (`glm_jupyter.completion.service`) and its
streamed answer, as both of the server's front doors (HTTP and the WebSocket) forward it.

Each request has a connection of its own, since closing it is how the kernel learns that the
answer is no longer wanted. A kernel's next connection is opened a moment after a request to it
ends, so the next completion does not wait for a TCP connection to be set up and accepted, and
setting one up never competes with an answer on its way: opened as a request went out, it cost
that completion several milliseconds on a 2-core machine (the server, the kernel and the
browser all wanted the cores at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tornado import web

from ..config.paths import COMPLETION_ENDPOINT

FORWARDED = ("prefix", "suffix", "cells", "source", "instruction")
AHEAD_PAUSE_S = 0.1  # after a request ends: the page is still drawing its answer
NO_SERVICE = (
    "This kernel does not serve glm-jupyter completions: run `%load_ext glm_jupyter` in it "
    "(a kernel started before glm-jupyter was installed needs a restart first)."
)


def refused(status: int, message: str) -> web.HTTPError:
    """The request never reached a kernel that serves completions: `status`, and `reason`
    saying why."""
    return web.HTTPError(status, reason=message)


def kernel_endpoint(manager: Any, kernel_id: str) -> tuple[int, str]:
    """The port and token the kernel announced beside its connection file."""
    if kernel_id not in manager:  # only ids of this server's kernels name a file
        raise refused(404, "No such kernel.")
    where = Path(manager.connection_dir) / COMPLETION_ENDPOINT.format(kernel=kernel_id)
    try:
        endpoint = json.loads(where.read_text("utf-8"))
        return int(endpoint["port"]), str(endpoint["token"])
    except (OSError, ValueError, KeyError, TypeError):
        raise refused(409, NO_SERVICE) from None


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    token: str

    def usable(self) -> bool:
        # A kernel that restarted or went away has closed its end: the reader saw the EOF.
        return not (self.reader.at_eof() or self.writer.is_closing())


async def _connect(manager: Any, kernel_id: str) -> _Connection:
    port, token = kernel_endpoint(manager, kernel_id)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        raise refused(409, NO_SERVICE) from None
    return _Connection(reader, writer, token)


class KernelConnections:
    """The server's connections to its kernels' completion endpoints, each kernel's next one
    opened ahead, a moment after a request to it ends."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager
        self._ahead: dict[str, asyncio.Task[_Connection]] = {}
        self._pauses: dict[str, asyncio.TimerHandle] = {}

    async def take(self, kernel_id: str) -> tuple[_Connection, bool]:
        """A connection to the kernel's endpoint, and whether it is the one opened ahead (it
        may have gone stale unseen)."""
        for gone in [k for k in self._ahead if k not in self.manager]:
            self._drop(self._ahead.pop(gone))
        pause = self._pauses.pop(kernel_id, None)
        if pause is not None:
            pause.cancel()  # a request sooner than the pause: it connects now
        ahead = self._ahead.pop(kernel_id, None)
        if ahead is not None:
            with contextlib.suppress(web.HTTPError):
                connection = await ahead
                if connection.usable():
                    return connection, True
                connection.writer.close()
        return await _connect(self.manager, kernel_id), False

    def open_ahead(self, kernel_id: str) -> None:
        """Open the kernel's next connection after a pause (a request to it just ended)."""
        if kernel_id in self.manager and not (
            kernel_id in self._ahead or kernel_id in self._pauses
        ):
            loop = asyncio.get_running_loop()
            self._pauses[kernel_id] = loop.call_later(AHEAD_PAUSE_S, self._open, kernel_id)

    def close(self) -> None:
        """Close the connections opened ahead."""
        for pause in self._pauses.values():
            pause.cancel()
        self._pauses.clear()
        for task in self._ahead.values():
            self._drop(task)
        self._ahead.clear()

    def _open(self, kernel_id: str) -> None:
        del self._pauses[kernel_id]
        if kernel_id in self.manager:
            task = asyncio.ensure_future(_connect(self.manager, kernel_id))
            task.add_done_callback(_quiet)
            self._ahead[kernel_id] = task

    @staticmethod
    def _drop(task: asyncio.Task[_Connection]) -> None:
        if task.done() and not task.cancelled() and task.exception() is None:
            task.result().writer.close()
        task.cancel()


def _quiet(task: asyncio.Task[_Connection]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: a kernel without the service is no error to log


class Upstream:
    """A connection to a kernel's completion endpoint carrying one request; closing it is how
    the kernel learns the answer is no longer wanted (it closes the model's stream then)."""

    def __init__(self, connection: _Connection) -> None:
        self._reader = connection.reader
        self._writer: asyncio.StreamWriter | None = connection.writer
        self._ended: Callable[[], None] | None = None  # once a request went through
        self.status = 0

    @classmethod
    async def open(
        cls, connections: KernelConnections, data: Mapping[str, Any], path: str
    ) -> Upstream:
        """Send `data`'s fields to `path` (`/complete` or `/edit`) of the kernel it names, and
        read the answer's status line."""
        kernel_id = str(data.get("kernel_id", ""))
        body = json.dumps({k: data[k] for k in FORWARDED if k in data}).encode()
        connection, ahead = await connections.take(kernel_id)
        try:
            upstream = await cls._send(connection, path, body)
        except web.HTTPError:
            if not ahead:
                raise
            # It went stale unseen (a restart): one more, new.
            upstream = await cls._send(await _connect(connections.manager, kernel_id), path, body)
        upstream._ended = functools.partial(connections.open_ahead, kernel_id)
        return upstream

    @classmethod
    async def _send(cls, connection: _Connection, path: str, body: bytes) -> Upstream:
        upstream = cls(connection)
        try:
            connection.writer.write(
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
                + f"Authorization: Bearer {connection.token}\r\n".encode()
                + f"Content-Length: {len(body)}\r\nContent-Type: application/json\r\n".encode()
                + b"Connection: close\r\n\r\n"
                + body
            )
            await connection.writer.drain()
            head = await connection.reader.readuntil(b"\r\n\r\n")
            upstream.status = int(head.split(b" ", 2)[1])
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            upstream.close()
            raise refused(409, NO_SERVICE) from None
        except BaseException:
            upstream.close()
            raise
        return upstream

    async def chunks(self) -> AsyncIterator[bytes]:
        """The answer's body as it arrives (newline-delimited JSON), until the kernel is done."""
        while self._writer is not None:
            chunk = await self._reader.read(65536)
            if not chunk:
                return
            yield chunk

    def close(self) -> None:
        """Drop the connection (at once: the kernel stops the model's stream)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
            if self._ended is not None:
                self._ended()
