"""The kernel's completion endpoint (and its inline edits): a small HTTP server on 127.0.0.1,
on a thread and event loop of its own, so completions come while a cell runs (the kernel's
own channels wait for it), and they know the live kernel's names because they run in its
process.

The Jupyter server (`glm_jupyter.server`: its completion socket, `/glm/complete`, `/glm/edit`)
forwards the browser's requests here; it finds the port and a random token in
`glm-complete-<kernel id>.json` beside the kernel's connection file (mode 0600, removed when
the kernel exits). One request is one streamed completion, answered as newline-delimited
JSON: `{"text": ...}` pieces, then
`{"done": true, "usage": ..., "session": ...}` (the session: this kernel's totals of that
kind, for the status bar) or `{"error": ...}`. When the caller closes its connection
(the person typed on), the model's stream is closed at once, so an abandoned completion costs
nothing more. `/edit` answers the same way, with the cell's whole new source at the end.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import re
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config.paths import COMPLETION_ENDPOINT
from ..errors import ClassroomLimitError, GLMError, InputError
from ..messages import Finish, TextDelta, UsageReport
from .prompt import (
    CompletionRequest,
    EditRequest,
    edit_messages,
    insertion,
    messages,
    new_source,
)

if TYPE_CHECKING:
    from ..config.settings import Settings
    from ..core.conversation import ModelTotals
    from ..core.session import Session
    from ..messages import Message, Usage
    from ..wire.client import AsyncClient, Endpoint

MAX_BODY = 256 * 1024
_KERNEL_FILE = re.compile(r"kernel-(.+)\.json$")


def endpoint_path(connection_file: str) -> tuple[str, Path] | None:
    """The kernel id and where its completion endpoint is announced, from its connection
    file's name (`kernel-<id>.json`, as the Jupyter server names it)."""
    found = _KERNEL_FILE.search(os.path.basename(connection_file))
    if found is None:
        return None
    kernel = found.group(1)
    return kernel, Path(connection_file).parent / COMPLETION_ENDPOINT.format(kernel=kernel)


class CompletionService:
    """Answers completion requests for one kernel's session, on its own thread."""

    def __init__(self, session: Session, names: Callable[[], str]) -> None:
        self.session = session
        self.names = names  # the kernel's names table, as last refreshed on the main thread
        self.token = secrets.token_urlsafe(24)
        self.port = 0
        self.path: Path | None = None
        self._loop = asyncio.new_event_loop()
        self._clients: dict[Endpoint, AsyncClient] = {}  # used on the service's loop only
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="glm-completions", daemon=True)

    def start(self, announce: Path | None) -> None:
        """Listen, and write where (and with which token) to `announce`."""
        self._thread.start()
        self._ready.wait(10)
        if announce is not None and self.port:
            data = json.dumps({"port": self.port, "token": self.token, "pid": os.getpid()})
            fd = os.open(announce, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(data)
            self.path = announce
            atexit.register(self.stop)

    def stop(self) -> None:
        """Stop listening and take the announcement away."""
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            self.path = None
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)

    # --- the server ----------------------------------------------------------------------

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._connection, "127.0.0.1", 0)
        )
        self.port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            for client in self._clients.values():  # their kept-alive model connections
                self._loop.run_until_complete(client.aclose())

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            method, path, headers = _request_head(head)
            length = int(headers.get("content-length", "0") or 0)
            if headers.get("authorization") != f"Bearer {self.token}":
                await _reply(writer, 403, {"error": "Wrong or missing token."})
            elif method != "POST" or path not in ("/complete", "/edit"):
                await _reply(writer, 404, {"error": "Only POST /complete and /edit are served."})
            elif length > MAX_BODY:
                await _reply(writer, 413, {"error": "The request is too large."})
            else:
                body = await reader.readexactly(length)
                await self._answer(path, body, reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            with contextlib.suppress(ConnectionError, RuntimeError):
                writer.close()

    async def _answer(
        self, path: str, body: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            data = json.loads(body or b"{}")
            going = self._completion(data) if path == "/complete" else self._edit(data)
        except (ValueError, InputError) as exc:
            await _reply(writer, 400, {"error": str(exc)})
            return
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
            b"Cache-Control: no-store\r\nConnection: close\r\n\r\n"
        )
        generating = asyncio.ensure_future(self._send(going, writer))
        # The caller closing its end (the person typed on) ends the model's stream at once.
        hung_up = asyncio.ensure_future(reader.read(1))
        done, _ = await asyncio.wait({generating, hung_up}, return_when=asyncio.FIRST_COMPLETED)
        if generating not in done:
            generating.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await generating
        hung_up.cancel()

    def _completion(self, data: Any) -> AsyncIterator[dict[str, Any]]:
        request = CompletionRequest.from_json(data)
        return self._pieces(
            self.settings(),
            messages(request, self.names()),
            lambda text: {"insert": insertion(text, request)},
            kind="completions",
        )

    def _edit(self, data: Any) -> AsyncIterator[dict[str, Any]]:
        request = EditRequest.from_json(data)
        s = self.session.settings({"thinking": False})
        self.session.admit(s)
        return self._pieces(
            s,
            edit_messages(request, self.names()),
            lambda text: {"source": new_source(text)},
            kind="edits",
        )

    async def _send(
        self, pieces: AsyncIterator[dict[str, Any]], writer: asyncio.StreamWriter
    ) -> None:
        """Stream the pieces to `writer`, a JSON line each; an error is the last line. The
        pieces that come together (one read from the model) go out in one write, so the
        browser gets them in one message and renders them once."""
        pending: list[bytes] = []

        def flush() -> None:
            if pending and not writer.is_closing():
                writer.write(b"".join(pending))
            pending.clear()

        loop = asyncio.get_running_loop()
        try:
            async for piece in pieces:
                if not pending:  # runs when the pieces stop coming without a wait
                    loop.call_soon(flush)
                pending.append(json.dumps(piece).encode() + b"\n")
                if piece.get("done"):  # the last that matters: the stream's end is read after
                    flush()
        except GLMError as exc:
            pending.append(json.dumps({"error": str(exc)}).encode() + b"\n")
        flush()
        await writer.drain()

    async def _pieces(
        self,
        s: Settings,
        prompt: list[Message],
        finish: Callable[[str], dict[str, Any]],
        *,
        kind: str,
    ) -> AsyncIterator[dict[str, Any]]:
        from ..wire.client import AsyncClient
        from ..wire.dialects import Dialect

        pipeline = self.session.pipeline
        dialect = Dialect.of(s)
        payload = dialect.body(prompt)
        endpoint = pipeline.endpoint(s)
        client = self._clients.get(endpoint)
        if client is None:  # one per endpoint: a new client costs tens of ms (its SSL context)
            client = AsyncClient(
                endpoint, transport=pipeline.async_transport, reuse_connections=True
            )
            self._clients[endpoint] = client
        text, usage, finished, counted = "", None, False, False
        events = client.stream(payload, dialect=dialect)
        try:
            async for event in events:
                if isinstance(event, TextDelta):
                    text += event.text
                    yield {"text": event.text}
                elif isinstance(event, UsageReport):
                    usage = event.usage
                elif isinstance(event, Finish):
                    finished = True
                if finished and usage is not None:
                    break  # the answer is whole: it is said now, the stream's end read after
            self.session.ledger.add(s.model, usage, s.provider.name, kind=kind)
            counted = True
            yield {
                "done": True,
                **finish(text),
                "usage": _usage(usage),
                "session": _session(self.session.ledger.of_kind(kind)),
            }
            with contextlib.suppress(GLMError):
                async for _ in events:  # to the stream's end: its connection is used again
                    pass
        finally:
            await events.aclose()  # closes the model's connection, even when cancelled
            if not counted:
                self.session.ledger.add(s.model, usage, s.provider.name, kind=kind)

    def refresh(self) -> None:
        """Settle the completions' settings again (on the kernel's thread, after each cell:
        `%config` may have changed them), so a request only checks the policy."""
        try:
            self._settings: Settings | GLMError = self.session.settings(
                completion_flags(self.session)
            )
        except GLMError as exc:
            self._settings = exc  # said to each completion until a cell fixes it

    def settings(self) -> Settings:
        """The settings of a completion: the completion model, no thinking, a short answer,
        within the classroom policy."""
        if not hasattr(self, "_settings"):
            self.refresh()
        s = self._settings
        if isinstance(s, GLMError):
            raise s
        self.session.admit(s)
        return s


def completion_flags(session: Session) -> dict[str, Any]:
    """Settings overrides for completions: `GLM.completion_model` (else the provider's fast
    model, else the session's), thinking off, `GLM.completion_max_tokens`. Under a classroom
    policy that does not allow that model, the course's own model is used."""
    s = session.settings()
    model = s.completion_model or s.provider.fast_model or s.model
    flags = {"model": model, "thinking": False, "max_tokens": s.completion_max_tokens}
    try:
        session.settings(flags)
    except ClassroomLimitError:
        del flags["model"]
    return flags


def _usage(usage: Usage | None) -> dict[str, int] | None:
    if usage is None:
        return None
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}


def _session(t: ModelTotals) -> dict[str, Any]:
    """This kernel session's totals of one kind, for the status bar's line."""
    return {
        "requests": t.requests,
        "tokens": t.prompt_tokens + t.completion_tokens,
        "cost": round(t.cost_usd, 6) if t.cost_known else None,
    }


def _request_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return method, path, headers


async def _reply(writer: asyncio.StreamWriter, status: int, payload: dict[str, Any]) -> None:
    data = json.dumps(payload).encode()
    writer.write(
        f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        "Connection: close\r\n\r\n".encode()
        + data
    )
    await writer.drain()
