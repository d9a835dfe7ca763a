"""`/glm/complete/socket`: inline completions over one WebSocket per page.

A completion waits on every millisecond between the last keystroke and the ghost text, and a
typist asks for many: over a kept-open socket each request is one small frame, with no HTTP
request to build, authenticate and route (and no cookies sent again) each time.

The browser sends `{"id": n, "kernel_id": ..., "prefix": ..., "suffix": ..., "cells": [...]}`
to start completion `n`, which supersedes the one under way, or `{"id": n, "cancel": true}`.
The server answers `{"id": n, "data": "<the kernel's newline-delimited JSON, as it came>"}`
frames, then `{"id": n, "end": true}`; or `{"id": n, "status": 4xx, "error": "..."}` when no
kernel answered. Superseding or cancelling a completion, or closing the socket, closes its
connection to the kernel at once, and with it the model's stream.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from .upstream import KernelConnections, Upstream


class CompletionSocket(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """Relays completion requests to their kernels and the answers back."""

    auth_resource = "kernels"
    _current: asyncio.Task[None] | None = None

    def initialize(self, connections: KernelConnections, path: str) -> None:
        """`path`: the kernel endpoint's route the completions go to."""
        self.connections = connections
        self.kernel_path = path

    def set_default_headers(self) -> None:
        """No page headers on a WebSocket (as jupyter_server's kernel channels do)."""

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Open the socket for a user who may run code in kernels."""
        user = self.current_user
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, user, "execute", "kernels")
        )
        if not allowed:
            raise web.HTTPError(403)
        await super().get(*args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        """Frames go out as written: Nagle's algorithm would hold the small ones back."""
        super().open(*args, **kwargs)
        self.set_nodelay(True)

    def on_message(self, message: str | bytes) -> None:
        """Start or cancel a completion."""
        try:
            data = json.loads(message)
            rid = int(data["id"])
        except (ValueError, TypeError, KeyError):
            return  # not a request this socket knows: nothing to answer to
        self._cancel()
        if not data.get("cancel"):
            self._current = asyncio.ensure_future(self._relay(rid, data))

    def on_close(self) -> None:
        """The page went away: drop the completion under way."""
        self._cancel()

    def _cancel(self) -> None:
        task, self._current = self._current, None
        if task is not None:
            task.cancel()

    async def _relay(self, rid: int, data: dict[str, Any]) -> None:
        try:
            upstream = await Upstream.open(self.connections, data, self.kernel_path)
        except web.HTTPError as refused:
            self._send({"id": rid, "status": refused.status_code, "error": refused.reason})
            return
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        try:
            if upstream.status != 200:
                body = b"".join([chunk async for chunk in upstream.chunks()])
                try:
                    error = str(json.loads(body)["error"])
                except (ValueError, KeyError, TypeError):
                    error = f"The kernel answered {upstream.status}."
                self._send({"id": rid, "status": upstream.status, "error": error})
                return
            async for chunk in upstream.chunks():
                # A chunk may end inside a character; the decoder keeps the rest for the next.
                self._send({"id": rid, "data": decoder.decode(chunk)})
            self._send({"id": rid, "end": True})
        finally:
            upstream.close()

    def _send(self, frame: dict[str, Any]) -> None:
        with contextlib.suppress(WebSocketClosedError):
            self.write_message(json.dumps(frame))
