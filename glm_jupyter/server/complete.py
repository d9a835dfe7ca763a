"""`POST /glm/complete` and `/glm/edit`: one inline completion or edit, forwarded to the kernel
and streamed back."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..config.paths import COMPLETION_ENDPOINT

_FORWARDED = ("prefix", "suffix", "cells", "source", "instruction")
_NO_SERVICE = (
    "This kernel does not serve glm-jupyter completions: run `%load_ext glm_jupyter` in it "
    "(a kernel started before glm-jupyter was installed needs a restart first)."
)


class CompleteHandler(APIHandler):
    """Streams newline-delimited JSON from the kernel's completion endpoint."""

    _upstream: asyncio.StreamWriter | None = None

    def initialize(self, path: str = "/complete") -> None:
        """`path`: the kernel endpoint's route this handler forwards to."""
        self.kernel_path = path

    @web.authenticated
    async def post(self) -> None:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "The body must be JSON.") from None
        kernel = str(data.get("kernel_id", "")) if isinstance(data, dict) else ""
        manager = self.settings["kernel_manager"]
        if kernel not in manager:  # only ids of this server's kernels name a file
            raise web.HTTPError(404, "No such kernel.")
        where = Path(manager.connection_dir) / COMPLETION_ENDPOINT.format(kernel=kernel)
        try:
            endpoint = json.loads(where.read_text("utf-8"))
            port, token = int(endpoint["port"]), str(endpoint["token"])
        except (OSError, ValueError, KeyError, TypeError):
            self.set_status(409)
            self.finish({"error": _NO_SERVICE})
            return
        forwarded = json.dumps({k: data[k] for k in _FORWARDED if k in data}).encode()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            self.set_status(409)
            self.finish({"error": _NO_SERVICE})
            return
        self._upstream = writer
        # Tornado keeps Nagle's algorithm on until a response finishes, so each streamed
        # piece after the first would wait for the browser's delayed ACK (40 ms on loopback).
        self.request.connection.stream.set_nodelay(True)  # type: ignore[union-attr]
        try:
            await self._forward(reader, writer, token, forwarded)
        finally:
            self._close_upstream()

    async def _forward(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        token: str,
        body: bytes,
    ) -> None:
        writer.write(
            f"POST {self.kernel_path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
            + f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n".encode()
            + b"Content-Type: application/json\r\nConnection: close\r\n\r\n"
            + body
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        self.set_status(status)
        self.set_header("Content-Type", "application/x-ndjson")
        self.set_header("Cache-Control", "no-store")
        while True:
            chunk = await reader.read(65536)
            if not chunk or self._upstream is None:  # the kernel is done, or the browser left
                break
            self.write(chunk)
            await self.flush()
        self.finish()

    def on_connection_close(self) -> None:
        """The browser gave up on this completion: drop the kernel's connection at once."""
        self._close_upstream()

    def _close_upstream(self) -> None:
        writer, self._upstream = self._upstream, None
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
