"""The provider behind the gateway: one connection pool, the course's key, and a reader that
finds the usage in the bytes it passes on without changing them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from ..config.keys import Secret
from ..config.providers import Provider
from ..messages import Usage
from ..wire.dialects import parse_usage
from ..wire.urls import join_url

_USAGE = b'"usage"'  # a key: inside a string the quotes would be escaped


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where the gateway forwards, and with which key."""

    provider: Provider
    base_url: str
    key: Secret | None

    def url(self, path: str) -> str:
        """The provider's URL for `path` (`/chat/completions`, `/models`)."""
        return join_url(self.base_url, path)

    def headers(self) -> dict[str, str]:
        """Headers of every forwarded request: the course's key, never the student's token."""
        # Identity encoding: the bytes passed on are the bytes read, with nothing to re-encode.
        out = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            "Accept-Encoding": "identity",
        }
        if self.key is not None:
            out["Authorization"] = f"Bearer {self.key.reveal()}"
        return out

    def body(self, request: dict[str, Any]) -> bytes:
        """The request as this provider takes it: its spelling of the model id, and asking
        for usage where it reports usage only when asked."""
        out = dict(request)
        out["model"] = self.provider.model_id(str(out.get("model", "")))
        if out.get("stream"):
            options = dict(out.get("stream_options") or {})
            if self.provider.usage_option:
                options["include_usage"] = True
            if options:
                out["stream_options"] = options
            else:
                out.pop("stream_options", None)
        return json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode()

    def session(self) -> aiohttp.ClientSession:
        """The pool every student's requests share."""
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1000, limit_per_host=0, keepalive_timeout=60),
            # No read timeout: a GLM-5 answer may think for half an hour between bytes shown;
            # the provider's own keep-alives and the student's hang-up end a dead stream.
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=15),
            auto_decompress=False,  # the bytes passed on are the bytes read
        )


class UsageScan:
    """Finds the last usage report in a response's bytes as they pass: each chunk is only
    searched for the `"usage"` key, and only a line holding it is parsed."""

    __slots__ = ("_line", "usage")

    def __init__(self) -> None:
        self._line = b""  # the unfinished last line of what has passed
        self.usage: Usage | None = None

    def feed(self, chunk: bytes) -> None:
        """Look at one chunk of an event stream."""
        seam = self._line[-len(_USAGE) :] + chunk[: len(_USAGE)]  # the key cut in two
        if _USAGE not in chunk and _USAGE not in seam and _USAGE not in self._line:
            # The hot path: no copy of the chunk, only its unfinished last line is kept.
            cut = chunk.rfind(b"\n")
            self._line = chunk[cut + 1 :] if cut >= 0 else self._line + chunk
            return
        *lines, self._line = (self._line + chunk).split(b"\n")
        for line in lines:
            if _USAGE in line:
                self._parse(line.strip().removeprefix(b"data:"))

    def whole(self, body: bytes) -> None:
        """Look at a response that was not streamed (one JSON object)."""
        self._parse(body)

    def end(self) -> None:
        """The stream ended: a last line without a newline still counts."""
        if _USAGE in self._line:
            self._parse(self._line.strip().removeprefix(b"data:"))
        self._line = b""

    def _parse(self, data: bytes) -> None:
        try:
            found = json.loads(data)
        except ValueError:
            return
        raw = found.get("usage") if isinstance(found, dict) else None
        if isinstance(raw, dict):
            self.usage = parse_usage(raw, found.get("timings"))
