"""HTTP clients (sync and async) that stream a chat completion as events, with retries.

Both clients share `_Exchange`, which holds everything but the I/O: decoding, retry decisions,
error mapping, and the check that a stream really ended. Retries happen only before the first
byte of a successful response: once output has started, a failure is raised and the caller keeps
what arrived.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from .. import errors
from ..config.keys import Secret
from ..config.providers import Provider, ThinkTags
from ..messages import Event, StreamFailure, StreamOpened
from ..redact import dataclass_repr, redact_text, redact_url
from .dialects import WIRED_MESSAGES, ChunkParser, Dialect, error_from_chunk
from .failures import ErrorContext, RetryPolicy, classify
from .sse import SSEDecoder
from .urls import join_url

SIMULATOR_HEADER = "x-glm-simulator"
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


class BearerAuth(httpx.Auth):
    """Adds the key at send time, so no header dict holding it sits in the client's frames."""

    def __init__(self, secret: Secret) -> None:
        self._secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign the request."""
        request.headers["Authorization"] = "Bearer " + self._secret.reveal()
        yield request


@dataclass(frozen=True)
class Endpoint:
    """Where requests go and how they are signed; `base_url` is sent whole, shown redacted."""

    provider: Provider
    base_url: str
    api_key: Secret | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 300.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    __repr__ = dataclass_repr  # reprs reach verbose tracebacks: the URL's credentials stay out

    @property
    def url(self) -> str:
        """The chat completions URL, credentials included: only for sending."""
        return join_url(self.base_url, "/chat/completions")

    @property
    def shown_base_url(self) -> str:
        """The base URL as messages show it, credentials masked."""
        return redact_url(self.base_url)

    @property
    def shown_url(self) -> str:
        """The chat completions URL as messages show it, credentials masked."""
        return redact_url(self.url)

    def scrub(self, text: str) -> str:
        """`text` without the key, the base URL's credentials, or any URL's credentials."""
        return redact_text(self.api_key.scrub(text) if self.api_key else text, self.base_url)

    def httpx_options(self) -> dict[str, Any]:
        """Keyword arguments shared by `httpx.Client` and `httpx.AsyncClient`."""
        return {
            "auth": BearerAuth(self.api_key) if self.api_key else None,
            "timeout": httpx.Timeout(self.read_timeout, connect=self.connect_timeout),
            "headers": {"Accept": "text/event-stream", "Content-Type": "application/json"},
        }


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# The JSON of recent wire messages, by the dict's identity (the dict is held, so its id stays
# its own): a long agent run re-sends hundreds of messages a step and encodes only new ones.
_ENCODED: dict[int, tuple[dict[str, Any], bytes]] = {}
_SPLICE = "\x00messages\x00"  # stands where the messages go; no real value is this string


def encode(payload: dict[str, Any]) -> bytes:
    """Deterministic request bytes: equal prompts give equal prefixes for the server's cache.
    The same bytes as one `json.dumps`, each message encoded once however often it is sent."""
    messages = payload.get("messages")
    if not isinstance(messages, list):
        return _json(payload).encode()
    parts = []
    for message in messages:
        seen = _ENCODED.get(id(message))
        if seen is not None and seen[0] is message:
            parts.append(seen[1])
            continue
        data = _json(message).encode()
        if isinstance(message, dict):  # only a dict is known to be handed over unchanged
            if len(_ENCODED) >= WIRED_MESSAGES:
                _ENCODED.clear()
            _ENCODED[id(message)] = (message, data)
        parts.append(data)
    head, _, tail = _json({**payload, "messages": _SPLICE}).partition(_json(_SPLICE))
    return b"".join((head.encode(), b"[", b",".join(parts), b"]", tail.encode()))


TRUNCATED = "truncated"
EMPTY = "empty"  # a whole (non-streamed) answer with no completion and no error in it


class _Exchange:
    """One logical request across its attempts: everything except the I/O."""

    __slots__ = (
        "_ctx", "_decoder", "_parser", "attempt", "body", "done", "endpoint", "seen", "started"
    )  # fmt: skip

    def __init__(self, endpoint: Endpoint, payload: dict[str, Any], parser: ChunkParser) -> None:
        self.endpoint = endpoint
        self.body = encode(payload)
        self.attempt = 0
        self.started = False  # a 200 arrived: from here on nothing is retried
        self.done = False  # `[DONE]` arrived
        self.seen = False  # any data event arrived
        self._decoder = SSEDecoder()
        self._parser = parser
        self._ctx = ErrorContext(
            provider=endpoint.provider,
            base_url=endpoint.shown_base_url,
            model=str(payload.get("model", "")),
            # The request's size stands for the prompt's: encoding a long prompt twice costs a
            # long agent run milliseconds a step.
            prompt_chars=len(self.body),
            scrub=endpoint.scrub,
        )

    def _raise_or_wait(
        self, error: errors.GLMError, retryable: bool, retry_after: str | None
    ) -> float:
        wait = self.endpoint.retry.delay(self.attempt, retry_after) if retryable else None
        if wait is None:
            # `from None`: the httpx error underneath may quote request headers, key included.
            raise error from None
        self.attempt += 1
        return wait

    def failed_status(self, status: int, body: bytes, headers: httpx.Headers) -> float:
        """An error response: seconds to wait before retrying, or raise."""
        try:
            failure = error_from_chunk(json.loads(body), status)
        except ValueError:
            text = self.endpoint.scrub(body.decode("utf-8", "replace")).strip()[:300]
            failure = StreamFailure(None, text or httpx.codes.get_reason_phrase(status), status)
        error, retryable = classify(failure, self._ctx)
        return self._raise_or_wait(error, retryable, headers.get("retry-after"))

    def failed_transport(self, exc: httpx.TransportError) -> float:
        """A connection failure: seconds to wait before retrying, or raise."""
        what = self.endpoint.scrub(f"{type(exc).__name__}: {exc}".rstrip(": "))
        if self.started:
            raise errors.StreamInterruptedError(
                f"The connection to {self.endpoint.shown_base_url} broke mid-answer ({what}). "
                "What arrived is kept; run the cell again for a complete answer."
            ) from None
        error = errors.ConnectionFailedError(
            f"Could not get an answer from {self.endpoint.shown_url} ({what}) after "
            f"{self.attempt + 1} attempt(s). Is the server running, and is the base URL right "
            "(GLM_BASE_URL, see %glm config)?"
        )
        return self._raise_or_wait(error, True, None)

    def opened(self, response: httpx.Response) -> StreamOpened:
        """A 200 arrived."""
        self.started = True
        return StreamOpened(server=response.headers.get(SIMULATOR_HEADER))

    def streaming(self, response: httpx.Response) -> bool:
        """False when the server answered with one JSON object instead of a stream."""
        return "json" not in response.headers.get("content-type", "")

    def chunk(self, data: bytes) -> list[Event]:
        """Events completed by one network chunk; a fatal `StreamFailure` ends the list."""
        out: list[Event] = []
        for name, payload in self._decoder.feed(data):
            self.seen = True
            if payload == b"[DONE]":
                self.done = True
                break
            self._parse(name, payload, out)
        return out

    def _parse(self, name: str, payload: bytes, out: list[Event]) -> None:
        text = payload.decode("utf-8", "replace")
        try:
            # scan_once skips json.loads' encoding sniffing and whitespace regexes: this runs
            # once per token. Leading whitespace is skipped: OpenRouter pads non-streamed bodies
            # with newlines while the answer is being made.
            start = len(text) - len(text.lstrip()) if text[:1].isspace() else 0
            obj, end = _scan(text, start)
            if end != len(text) and text[end:].strip():
                raise ValueError("extra data")
        except (ValueError, StopIteration):
            self._skip(text, out)
            return
        if name == "error" and not (type(obj) is dict and "error" in obj):
            obj = {"error": obj}
        elif type(obj) is not dict:
            self._skip(text, out)
            return
        mark = len(out)
        try:
            self._parser.feed(obj, out)
        except (AttributeError, TypeError, KeyError, IndexError):  # valid JSON, foreign shape
            del out[mark:]
            self._skip(text, out)

    def _skip(self, text: str, out: list[Event]) -> None:
        # One bad chunk is skipped, not fatal: everything before and after it still counts.
        excerpt = self.endpoint.scrub(text)[:120]
        out.append(StreamFailure("malformed", f"skipped a malformed chunk: {excerpt}", fatal=False))

    def whole(self, body: bytes) -> list[Event]:
        """A non-streamed JSON answer; one that holds no completion is an error, never an empty
        success."""
        self.done = True
        out: list[Event] = []
        self._parse("message", body, out)
        out += self.end()
        if not self._parser.finished and not any(type(e) is StreamFailure and e.fatal for e in out):
            excerpt = self.endpoint.scrub(body.decode("utf-8", "replace").strip())[:160]
            out.append(StreamFailure(EMPTY, f"the answer held no completion: {excerpt!r}"))
        return out

    def end(self) -> list[Event]:
        """The body ended: the last held events, then a fatal failure if it was cut short."""
        out: list[Event] = []
        for name, payload in self._decoder.close():
            self.seen = True
            if payload != b"[DONE]":
                self._parse(name, payload, out)
        out += self._parser.close()
        if not (self.done or self._parser.finished or self.seen):
            # llama.cpp-python's server, for one, answers a prompt over the window this way.
            sent = self._ctx.prompt_chars
            out.append(
                StreamFailure(
                    EMPTY,
                    f"the stream held no data at all ({sent:,} "
                    "characters of prompt were sent: a server that refuses a request after "
                    "opening its reply, say for a prompt over the model's window, sends nothing)",
                )
            )
        elif not (self.done or self._parser.finished):
            out.append(StreamFailure(TRUNCATED, "the stream ended without a finish reason"))
        return out

    def checked(self, events: list[Event]) -> Iterator[Event]:
        """Yield the events; a fatal failure among them is raised instead, after those before it."""
        for event in events:
            if type(event) is StreamFailure and event.fatal:
                raise self.error_for(event)
            yield event

    def error_for(self, failure: StreamFailure) -> errors.GLMError:
        """The exception to raise for a fatal failure inside a 200 stream."""
        if failure.code == EMPTY:
            return errors.EmptyAnswerError(
                f"{self.endpoint.provider.label} ({self.endpoint.shown_base_url}) answered, but "
                f"{failure.message}. Nothing was kept as an answer; run the cell again, and if "
                "it repeats, read the server's log, or check GLM_BASE_URL / GLM_PROVIDER "
                "(%glm config).",
                status=200,
            )
        if failure.code == TRUNCATED:
            return errors.StreamInterruptedError(
                f"The stream from {self.endpoint.shown_base_url} ended before the answer was "
                "complete (no finish reason, no [DONE]). What arrived is kept; run the cell again."
            )
        return classify(failure, self._ctx)[0]


def _parser(dialect: Dialect | None, think_tags: ThinkTags) -> ChunkParser:
    return dialect.parser() if dialect is not None else ChunkParser(think_tags)


class Client:
    """Synchronous streaming client; `transport=` is the seam tests use."""

    def __init__(self, endpoint: Endpoint, *, transport: httpx.BaseTransport | None = None) -> None:
        self.endpoint = endpoint
        self._http = httpx.Client(transport=transport, **endpoint.httpx_options())

    def stream(
        self,
        payload: dict[str, Any],
        *,
        dialect: Dialect | None = None,
        think_tags: ThinkTags = "off",
    ) -> Generator[Event, None, None]:
        """Events of one chat completion, read as `dialect` says (else with `think_tags`);
        close the iterator to drop the connection."""
        ex = _Exchange(self.endpoint, payload, _parser(dialect, think_tags))
        while True:
            try:
                with self._http.stream("POST", self.endpoint.url, content=ex.body) as response:
                    if response.status_code >= 400:
                        wait = ex.failed_status(
                            response.status_code, response.read(), response.headers
                        )
                    else:
                        yield ex.opened(response)
                        if not ex.streaming(response):
                            yield from ex.checked(ex.whole(response.read()))
                            return
                        # After `[DONE]` the body is read to its end (normally already in
                        # hand): the connection then goes back to the pool, and the next
                        # request skips a new TCP and TLS handshake.
                        for data in response.iter_bytes():
                            if not ex.done:
                                yield from ex.checked(ex.chunk(data))
                        yield from ex.checked(ex.end())
                        return
            except httpx.TransportError as exc:
                wait = ex.failed_transport(exc)
            time.sleep(wait)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient:
    """Asynchronous streaming client for the kernel's event loop; `transport=` for tests.
    `reuse_connections`: for a client that lives as long as its loop (the completion service):
    a pooled connection left behind when a short-lived loop ends would never be closed."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        reuse_connections: bool = False,
    ) -> None:
        self.endpoint = endpoint
        self._reuse = reuse_connections
        self._http = httpx.AsyncClient(transport=transport, **endpoint.httpx_options())

    async def stream(
        self,
        payload: dict[str, Any],
        *,
        dialect: Dialect | None = None,
        think_tags: ThinkTags = "off",
    ) -> AsyncGenerator[Event, None]:
        """Events of one chat completion, read as `dialect` says (else with `think_tags`);
        `aclose()` the iterator to drop the connection."""
        ex = _Exchange(self.endpoint, payload, _parser(dialect, think_tags))
        while True:
            try:
                async with self._http.stream(
                    "POST", self.endpoint.url, content=ex.body
                ) as response:
                    if response.status_code >= 400:
                        body = await response.aread()
                        wait = ex.failed_status(response.status_code, body, response.headers)
                    else:
                        yield ex.opened(response)
                        if not ex.streaming(response):
                            for event in ex.checked(ex.whole(await response.aread())):
                                yield event
                            return
                        async for data in response.aiter_bytes():
                            if not ex.done:  # then read to the end, as `Client.stream` does
                                for event in ex.checked(ex.chunk(data)):
                                    yield event
                                if ex.done and not self._reuse:
                                    break
                        for event in ex.checked(ex.end()):
                            yield event
                        return
            except httpx.TransportError as exc:
                wait = ex.failed_transport(exc)
            await asyncio.sleep(wait)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
