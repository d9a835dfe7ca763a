"""`POST /glm/complete` and `/glm/edit`: one inline completion or edit, forwarded to the kernel
and streamed back."""

from __future__ import annotations

import json

from jupyter_server.base.handlers import APIHandler
from tornado import web

from .upstream import KernelConnections, Upstream


class CompleteHandler(APIHandler):
    """Streams newline-delimited JSON from the kernel's completion endpoint."""

    _upstream: Upstream | None = None

    def initialize(self, connections: KernelConnections, path: str) -> None:
        """`path`: the kernel endpoint's route this handler forwards to."""
        self.connections = connections
        self.kernel_path = path

    @web.authenticated
    async def post(self) -> None:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "The body must be JSON.") from None
        if not isinstance(data, dict):
            data = {}
        try:
            upstream = await Upstream.open(self.connections, data, self.kernel_path)
        except web.HTTPError as refused:
            self.set_status(refused.status_code)
            self.finish({"error": refused.reason})
            return
        self._upstream = upstream
        # Tornado keeps Nagle's algorithm on until a response finishes, so each streamed
        # piece after the first would wait for the browser's delayed ACK (40 ms on loopback).
        self.request.connection.stream.set_nodelay(True)  # type: ignore[union-attr]
        self.set_status(upstream.status)
        self.set_header("Content-Type", "application/x-ndjson")
        self.set_header("Cache-Control", "no-store")
        try:
            async for chunk in upstream.chunks():
                self.write(chunk)
                await self.flush()
            self.finish()
        finally:
            upstream.close()

    def on_connection_close(self) -> None:
        """The browser gave up on this completion: drop the kernel's connection at once."""
        if self._upstream is not None:
            self._upstream.close()
