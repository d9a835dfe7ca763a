"""Client and AsyncClient over httpx.MockTransport: streams, retries, error mapping, key hygiene."""

from __future__ import annotations

import asyncio
import json
import pickle
import traceback
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from glm_jupyter import errors
from glm_jupyter.config.keys import Secret
from glm_jupyter.config.providers import PROVIDERS
from glm_jupyter.messages import (
    Event,
    Finish,
    ReasoningDelta,
    StreamFailure,
    StreamOpened,
    ToolCallDelta,
    Usage,
    UsageReport,
)
from glm_jupyter.wire.client import AsyncClient, Client, Endpoint
from glm_jupyter.wire.failures import RetryPolicy, parse_retry_after

from ..chunks import (
    KEY,
    OPENROUTER_CHUNKS,
    UNICODE_TEXT,
    ZAI_CHUNKS,
    ZAI_EVENTS,
    ZAI_NON_STREAMED,
    ZAI_RECORDED_SSE,
    ZAI_UNICODE_CHUNKS,
    Script,
    content_of,
    error_response,
    failures_of,
    sse_bytes,
    sse_response,
    usage_of,
)

BASE = "https://api.z.ai/api/paas/v4"
PAYLOAD: dict[str, Any] = {
    "model": "glm-5.1",
    "messages": [{"role": "user", "content": "Hi"}],
    "stream": True,
}
FAST = RetryPolicy(base=0.001)
MODES = ["sync", "async"]


@dataclass(frozen=True)
class SpyPolicy(RetryPolicy):
    """A RetryPolicy that records every delay it chooses."""

    log: list[tuple[int, str | None, float | None]] = field(default_factory=list)

    def delay(self, attempt: int, retry_after: str | None = None) -> float | None:
        chosen = RetryPolicy.delay(self, attempt, retry_after)
        self.log.append((attempt, retry_after, chosen))
        return chosen


def endpoint(
    provider: str = "zai", key: str | None = KEY, retry: RetryPolicy = FAST, base: str = BASE
) -> Endpoint:
    return Endpoint(PROVIDERS[provider], base, Secret(key) if key else None, retry=retry)


def collect(
    mode: str,
    script: Script,
    *,
    ep: Endpoint | None = None,
    think_tags: Any = "off",
    payload: dict[str, Any] = PAYLOAD,
) -> tuple[list[Event], errors.GLMError | None]:
    """Every event until the end or a GLMError, through the sync or the async client."""
    ep = ep or endpoint()
    events: list[Event] = []
    if mode == "sync":
        with Client(ep, transport=script.transport) as client:
            try:
                for event in client.stream(payload, think_tags=think_tags):
                    events.append(event)
            except errors.GLMError as exc:
                return events, exc
        return events, None

    async def main() -> errors.GLMError | None:
        async with AsyncClient(ep, transport=script.transport) as client:
            stream = client.stream(payload, think_tags=think_tags)
            try:
                async for event in stream:
                    events.append(event)
            except errors.GLMError as exc:
                return exc
            finally:
                await stream.aclose()  # type: ignore[attr-defined]
        return None

    return events, asyncio.run(main())


def ok(mode: str, script: Script, **kwargs: Any) -> list[Event]:
    events, exc = collect(mode, script, **kwargs)
    assert exc is None, exc
    return events


def fails(
    mode: str, script: Script, kind: type[errors.GLMError], **kwargs: Any
) -> tuple[list[Event], errors.GLMError]:
    events, exc = collect(mode, script, **kwargs)
    assert isinstance(exc, kind), repr(exc)
    return events, exc


def full_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


ZAI_STREAM = sse_bytes(ZAI_CHUNKS)
ZAI_FULL_EVENTS = [
    StreamOpened(),
    *ZAI_EVENTS,
    UsageReport(
        Usage(prompt_tokens=173, completion_tokens=93, cached_tokens=172, reasoning_tokens=65)
    ),
]

# --- a full stream ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_full_stream(mode: str) -> None:
    script = Script(sse_response(ZAI_RECORDED_SSE))
    assert ok(mode, script) == ZAI_FULL_EVENTS
    (request,) = script.requests
    assert request.method == "POST"
    assert str(request.url) == BASE + "/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == PAYLOAD


@pytest.mark.parametrize("mode", MODES)
def test_full_stream_unicode_and_openrouter_comments(mode: str) -> None:
    body = sse_bytes(OPENROUTER_CHUNKS, comments=[b"OPENROUTER PROCESSING"] * 3)
    events = ok(mode, Script(sse_response(body)), ep=endpoint("openrouter"))
    assert content_of(events) == ("Florence in June", "Florence – 25 °C ☀")
    assert usage_of(events)[0].usage.cost_usd == 0.000196


@pytest.mark.parametrize("mode", MODES)
def test_stream_in_one_byte_pieces(mode: str) -> None:
    body = sse_bytes(ZAI_UNICODE_CHUNKS, newline=b"\r\n")
    pieces = [body[i : i + 1] for i in range(len(body))]
    events = ok(mode, Script(sse_response(pieces)))
    assert content_of(events) == ("Weather in " + UNICODE_TEXT, "☀ " + UNICODE_TEXT)


@pytest.mark.parametrize("mode", MODES)
def test_simulator_header_names_the_server(mode: str) -> None:
    script = Script(sse_response(ZAI_STREAM, **{"x-glm-simulator": "glm-sim 1.0"}))
    assert ok(mode, script)[0] == StreamOpened(server="glm-sim 1.0")


@pytest.mark.parametrize("mode", MODES)
def test_events_after_done_are_ignored(mode: str) -> None:
    body = ZAI_STREAM + sse_bytes([{"choices": [{"delta": {"content": "ghost"}}]}], done=False)
    events = ok(mode, Script(sse_response(body)))
    assert "ghost" not in content_of(events)[1]


@pytest.mark.parametrize("mode", MODES)
def test_finish_without_done_is_complete(mode: str) -> None:
    events = ok(mode, Script(sse_response(sse_bytes(ZAI_CHUNKS, done=False))))
    assert events == ZAI_FULL_EVENTS


@pytest.mark.parametrize("mode", MODES)
def test_done_without_finish_is_complete(mode: str) -> None:
    events = ok(mode, Script(sse_response(sse_bytes(ZAI_CHUNKS[:2]))))
    assert content_of(events) == (" user", "'ll")


@pytest.mark.parametrize("mode", MODES)
def test_think_tags_are_applied(mode: str) -> None:
    chunks = [{"choices": [{"delta": {"content": p}}]} for p in ("<thi", "nk>why</th", "ink>so")]
    chunks.append({"choices": [{"delta": {}, "finish_reason": "stop"}]})
    events = ok(mode, Script(sse_response(sse_bytes(chunks))), think_tags="leading")
    assert content_of(events) == ("why", "so")


@pytest.mark.parametrize("mode", MODES)
def test_local_provider_sends_no_authorization(mode: str) -> None:
    script = Script(sse_response(ZAI_STREAM))
    ok(mode, script, ep=endpoint("vllm", key=None, base="http://localhost:8000/v1"))
    assert "authorization" not in script.requests[0].headers
    assert str(script.requests[0].url) == "http://localhost:8000/v1/chat/completions"


# --- non-streamed answer ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ctype", ["application/json", "application/json; charset=utf-8"])
def test_non_streamed_json_answer(mode: str, ctype: str) -> None:
    response = httpx.Response(
        200, content=json.dumps(ZAI_NON_STREAMED).encode(), headers={"content-type": ctype}
    )
    events = ok(mode, Script(response))
    assert events[0] == StreamOpened()
    assert content_of(events) == ("Need the weather.", "Checking.")
    (call,) = [e for e in events if isinstance(e, ToolCallDelta)]
    assert json.loads(call.arguments) == {"location": "Firenze", "unit": "°C"}
    assert Finish("tool_calls") in events
    assert usage_of(events)[0].usage == Usage(50, 20, 10, 5)
    assert not failures_of(events)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", [b"\n" * 22, b"\n \n" * 44, b"\r\n\t"])
def test_padded_non_streamed_answer(mode: str, padding: bytes) -> None:
    # OpenRouter writes newlines while the answer is made, before the JSON body.
    body = padding + json.dumps(ZAI_NON_STREAMED).encode() + b"\n"
    response = httpx.Response(200, content=body, headers={"content-type": "application/json"})
    events = ok(mode, Script(response))
    assert content_of(events) == ("Need the weather.", "Checking.")
    assert Finish("tool_calls") in events
    assert usage_of(events)[0].usage == Usage(50, 20, 10, 5)
    assert not failures_of(events)


@pytest.mark.parametrize("mode", MODES)
def test_padded_stream_chunks(mode: str) -> None:
    body = b"".join(b"data:   " + json.dumps(c).encode() + b"\n\n" for c in ZAI_CHUNKS)
    events = ok(mode, Script(sse_response(body + b"data: [DONE]\n\n")))
    assert events == ZAI_FULL_EVENTS


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "body", [b"", b"\n\n\n", b"{}", b'{"choices": []}', b"<html>busy</html>", b'{"id": "x"}']
)
def test_non_streamed_answer_without_a_completion_is_an_error(mode: str, body: bytes) -> None:
    response = httpx.Response(200, content=body, headers={"content-type": "application/json"})
    events, exc = fails(mode, Script(response), errors.EmptyAnswerError)
    assert content_of(events) == ("", "")
    assert isinstance(exc, errors.ServerError)
    assert "held no completion" in str(exc)
    assert "run the cell again" in str(exc)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (429, errors.RateLimitError),
        ("429", errors.RateLimitError),
        (402, errors.QuotaExceededError),
        (401, errors.AuthenticationError),
        (502, errors.ServerError),
        ("rate_limit_exceeded", errors.RateLimitError),
        ("context_length_exceeded", errors.PromptTooLongError),
    ],
)
def test_openrouter_error_codes(mode: str, code: Any, kind: type[errors.APIError]) -> None:
    # OpenRouter's mid-stream error: the HTTP status as an integer code, finish_reason "error".
    error = {
        "id": "gen-1",
        "object": "chat.completion.chunk",
        "error": {"code": code, "message": "Upstream said no"},
        "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
    }
    stream = sse_bytes([OPENROUTER_CHUNKS[0], error])
    _, exc = fails(mode, Script(sse_response(stream)), kind)
    assert "Upstream said no" in str(exc)
    assert exc.code == str(code)


@pytest.mark.parametrize("mode", MODES)
def test_error_body_with_status_200(mode: str) -> None:
    body = json.dumps({"error": {"code": 429, "message": "slow down"}}).encode()
    response = httpx.Response(200, content=body, headers={"content-type": "application/json"})
    _, exc = fails(mode, Script(response), errors.RateLimitError)
    assert exc.status == 429


# --- retries ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", ["1302", "1303", "1305"])
def test_retry_rate_limit_codes(mode: str, code: str) -> None:
    script = Script(error_response(429, code, "busy"), sse_response(ZAI_STREAM))
    assert ok(mode, script) == ZAI_FULL_EVENTS
    assert len(script.requests) == 2
    assert script.requests[0].content == script.requests[1].content


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_retry_server_errors(mode: str, status: int) -> None:
    script = Script(
        httpx.Response(status, text="upstream failed"),
        error_response(status, None, "again"),
        sse_response(ZAI_STREAM),
    )
    assert ok(mode, script) == ZAI_FULL_EVENTS
    assert len(script.requests) == 3


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow"),
        httpx.ReadTimeout("silent"),
        httpx.RemoteProtocolError("eof"),
    ],
)
def test_retry_connection_errors_before_first_byte(mode: str, exc: Exception) -> None:
    script = Script(exc, sse_response(ZAI_STREAM))
    assert ok(mode, script) == ZAI_FULL_EVENTS
    assert len(script.requests) == 2


@pytest.mark.parametrize("mode", MODES)
def test_retry_after_is_honoured(mode: str) -> None:
    spy = SpyPolicy(base=0.001)
    script = Script(
        error_response(429, "1302", "busy", **{"Retry-After": "0.05"}),
        error_response(503, None, "down", **{"Retry-After": "0"}),
        sse_response(ZAI_STREAM),
    )
    assert ok(mode, script, ep=endpoint(retry=spy)) == ZAI_FULL_EVENTS
    assert spy.log == [(0, "0.05", 0.05), (1, "0", 0.0)]


@pytest.mark.parametrize("mode", MODES)
def test_backoff_without_retry_after(mode: str) -> None:
    spy = SpyPolicy(base=0.001)
    script = Script(
        error_response(429, "1305"), error_response(429, "1305"), sse_response(ZAI_STREAM)
    )
    ok(mode, script, ep=endpoint(retry=spy))
    assert [(a, r) for a, r, _ in spy.log] == [(0, None), (1, None)]
    first, second = (d for _, _, d in spy.log)
    assert first is not None
    assert 0.0005 <= first <= 0.001
    assert second is not None
    assert 0.001 <= second <= 0.002


@pytest.mark.parametrize("mode", MODES)
def test_retry_after_beyond_longest_wait_gives_up(mode: str) -> None:
    spy = SpyPolicy(base=0.001)
    script = Script(
        error_response(429, "1302", "busy", **{"Retry-After": "3600"}), sse_response(ZAI_STREAM)
    )
    _, exc = fails(mode, script, errors.RateLimitError, ep=endpoint(retry=spy))
    assert len(script.requests) == 1
    assert spy.log == [(0, "3600", None)]
    assert exc.status == 429
    assert exc.code == "1302"


@pytest.mark.parametrize("mode", MODES)
def test_rate_limit_gives_up_after_max_retries(mode: str) -> None:
    spy = SpyPolicy(max_retries=2, base=0.001)
    script = Script(error_response(429, "1302", "High concurrency"))
    events, exc = fails(mode, script, errors.RateLimitError, ep=endpoint(retry=spy))
    assert events == []
    assert len(script.requests) == 3
    assert [d is None for _, _, d in spy.log] == [False, False, True]
    assert "High concurrency" in str(exc)
    assert exc.code == "1302"


@pytest.mark.parametrize("mode", MODES)
def test_server_error_gives_up_after_max_retries(mode: str) -> None:
    script = Script(error_response(500, None, "boom"))
    _, exc = fails(
        mode, script, errors.ServerError, ep=endpoint(retry=RetryPolicy(max_retries=1, base=0.001))
    )
    assert len(script.requests) == 2
    assert exc.status == 500


@pytest.mark.parametrize("mode", MODES)
def test_connection_error_gives_up_after_max_retries(mode: str) -> None:
    script = Script(httpx.ConnectError("Connection refused"))
    _, exc = fails(
        mode,
        script,
        errors.ConnectionFailedError,
        ep=endpoint(retry=RetryPolicy(max_retries=2, base=0.001)),
    )
    assert len(script.requests) == 3
    assert "3 attempt(s)" in str(exc)
    assert "Connection refused" in str(exc)
    assert BASE in str(exc)


@pytest.mark.parametrize("mode", MODES)
def test_no_retries_when_max_retries_is_zero(mode: str) -> None:
    script = Script(error_response(429, "1302"), sse_response(ZAI_STREAM))
    fails(mode, script, errors.RateLimitError, ep=endpoint(retry=RetryPolicy(max_retries=0)))
    assert len(script.requests) == 1


# --- errors that are never retried --------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_401_is_not_retried_and_names_the_variable(mode: str) -> None:
    script = Script(error_response(401, "1001", "Authentication failed"), sse_response(ZAI_STREAM))
    _, exc = fails(mode, script, errors.AuthenticationError)
    assert len(script.requests) == 1
    assert "ZAI_API_KEY" in str(exc)
    assert exc.status == 401


def test_401_names_the_provider_variable() -> None:
    script = Script(error_response(401, None, "bad key"))
    _, exc = fails(
        "sync",
        script,
        errors.AuthenticationError,
        ep=endpoint("openrouter", base="https://openrouter.ai/api/v1"),
    )
    assert "OPENROUTER_API_KEY" in str(exc)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (429, "1113", errors.BalanceOrRegionError),
        (400, "1210", errors.InvalidRequestError),
        (400, "1214", errors.InvalidRequestError),
        (400, "1211", errors.ModelNotFoundError),
        (400, "1261", errors.PromptTooLongError),
        (400, "1301", errors.ContentFilterError),
        (429, "1304", errors.QuotaExceededError),
        (429, "1308", errors.QuotaExceededError),
        (429, "1310", errors.QuotaExceededError),
        (401, "1000", errors.AuthenticationError),
    ],
)
def test_errors_not_retried(mode: str, status: int, code: str, kind: type[errors.APIError]) -> None:
    script = Script(error_response(status, code, "the server says no"), sse_response(ZAI_STREAM))
    events, exc = fails(mode, script, kind)
    assert events == []
    assert len(script.requests) == 1
    assert isinstance(exc, errors.APIError)
    assert (exc.status, exc.code) == (status, code)
    assert "the server says no" in str(exc)


def test_1211_lists_known_models() -> None:
    script = Script(error_response(400, "1211", "Unknown Model"))
    _, exc = fails("sync", script, errors.ModelNotFoundError, payload={**PAYLOAD, "model": "glm-9"})
    message = str(exc)
    assert "'glm-9'" in message
    for model in ("glm-5.1", "glm-5", "glm-4.7", "glm-4.5-air", "glm-4.7-flash"):
        assert model in message


@pytest.mark.parametrize("provider", ["vllm", "ollama"])
def test_unknown_model_on_a_local_server_points_at_its_model_list(provider: str) -> None:
    # vLLM: 404 "The model `x` does not exist."; Ollama: 404 "model \"x\" not found".
    script = Script(error_response(404, None, "The model `glm-4.7-flash` does not exist."))
    ep = endpoint(provider, key=None, base="http://localhost:8000/v1")
    _, exc = fails(
        "sync", script, errors.ModelNotFoundError, ep=ep, payload={**PAYLOAD, "model": "glm-x"}
    )
    message = str(exc)
    assert "http://localhost:8000/v1/models" in message
    assert "glm-5.1" not in message  # Z.ai's catalog is no help here
    assert ("ollama pull glm-x" in message) == (provider == "ollama")


def test_1261_mentions_tokens() -> None:
    payload = {**PAYLOAD, "messages": [{"role": "user", "content": "x" * 4000}]}
    script = Script(error_response(400, "1261", "Prompt exceeds max length"))
    _, exc = fails("sync", script, errors.PromptTooLongError, payload=payload)
    message = str(exc)
    assert "tokens" in message
    assert "1,0" in message  # about 1,0xx tokens for ~4,000 characters
    assert "200,000" in message  # glm-5.1's window


def test_1308_message_keeps_the_reset_time() -> None:
    said = "Usage limit reached, resets at 2026-03-13 00:00:00"
    script = Script(error_response(429, "1308", said))
    _, exc = fails("sync", script, errors.QuotaExceededError)
    assert "2026-03-13 00:00:00" in str(exc)


@pytest.mark.parametrize("mode", MODES)
def test_non_json_error_body(mode: str) -> None:
    script = Script(httpx.Response(404, text="<html>Not Found</html>"))
    _, exc = fails(mode, script, errors.InvalidRequestError)
    assert "Not Found" in str(exc)
    assert "/chat/completions" in str(exc)


# --- failures after output started --------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_read_error_mid_body_is_not_retried(mode: str) -> None:
    body = sse_bytes(ZAI_UNICODE_CHUNKS[:3], done=False)
    script = Script(
        sse_response([body[:50], body[50:]], error=httpx.ReadError("connection reset")),
        sse_response(ZAI_STREAM),
    )
    events, exc = fails(mode, script, errors.StreamInterruptedError)
    assert len(script.requests) == 1
    assert events[0] == StreamOpened()
    assert content_of(events) == ("Weather in " + UNICODE_TEXT, "☀")
    assert "connection reset" in str(exc)


@pytest.mark.parametrize("mode", MODES)
def test_truncated_stream_without_done_or_finish(mode: str) -> None:
    script = Script(sse_response(sse_bytes(ZAI_CHUNKS[:3], done=False)), sse_response(ZAI_STREAM))
    events, exc = fails(mode, script, errors.StreamInterruptedError)
    assert events == [StreamOpened(), *ZAI_EVENTS[:3]]
    assert len(script.requests) == 1
    assert "finish" in str(exc)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("body", [b"", b": OPENROUTER PROCESSING\n\n"])
def test_a_200_stream_without_data_is_an_empty_answer(mode: str, body: bytes) -> None:
    events, exc = fails(mode, Script(sse_response(body)), errors.EmptyAnswerError)
    assert events == [StreamOpened()]
    assert "held no data at all" in str(exc)
    assert "characters of prompt" in str(exc)


@pytest.mark.parametrize("mode", MODES)
def test_in_stream_error_data_frame(mode: str) -> None:
    body = sse_bytes(
        [*ZAI_CHUNKS[:2], {"error": {"code": "1302", "message": "High concurrency"}}, ZAI_CHUNKS[2]]
    )
    script = Script(sse_response(body))
    events, exc = fails(mode, script, errors.RateLimitError)
    assert events == [StreamOpened(), *ZAI_EVENTS[:2]]
    assert len(script.requests) == 1  # output had started: not retried
    assert exc.code == "1302"
    assert "High concurrency" in str(exc)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "data",
    [
        b'{"code":"1301","message":"unsafe content"}',
        b'{"error":{"code":"1301","message":"unsafe content"}}',
    ],
)
def test_in_stream_event_error_frame(mode: str, data: bytes) -> None:
    body = sse_bytes(ZAI_CHUNKS[:1], done=False) + b"event: error\ndata: " + data + b"\n\n"
    body += sse_bytes(ZAI_CHUNKS[1:])
    events, exc = fails(mode, Script(sse_response(body)), errors.ContentFilterError)
    assert events == [StreamOpened(), ZAI_EVENTS[0]]
    assert exc.code == "1301"
    assert "unsafe content" in str(exc)


@pytest.mark.parametrize("mode", MODES)
def test_in_stream_error_without_code_is_an_api_error(mode: str) -> None:
    body = b'event: error\ndata: {"message":"Provider returned error"}\n\n'
    _, exc = fails(mode, Script(sse_response(body)), errors.APIError)
    assert "Provider returned error" in str(exc)


@pytest.mark.parametrize("mode", MODES)
def test_malformed_chunk_is_skipped(mode: str) -> None:
    body = sse_bytes([ZAI_CHUNKS[0], b'{"choices": [{"delta": {"content": "oo', *ZAI_CHUNKS[1:]])
    events = ok(mode, Script(sse_response(body)))
    (failure,) = failures_of(events)
    assert failure.fatal is False
    assert failure.code == "malformed"
    assert [e for e in events if not isinstance(e, StreamFailure)] == ZAI_FULL_EVENTS
    assert events.index(failure) == 2  # in stream order, after the first chunk's event


@pytest.mark.parametrize("mode", MODES)
def test_wrongly_shaped_chunk_is_skipped(mode: str) -> None:
    body = sse_bytes([ZAI_CHUNKS[0], {"choices": [{"delta": "oops"}]}, *ZAI_CHUNKS[1:]])
    events, exc = collect(mode, Script(sse_response(body)))
    assert exc is None
    assert [e for e in events if not isinstance(e, StreamFailure)] == ZAI_FULL_EVENTS
    assert [f.fatal for f in failures_of(events)] == [False]


# --- the key never shows ------------------------------------------------------------------------

ECHO = f"Invalid API key: Bearer {KEY} (key {KEY!r})"


def test_secret_never_shows() -> None:
    secret = Secret(KEY)
    for text in (
        str(secret),
        repr(secret),
        f"{secret}",
        f"{secret!r}",
        format(secret),
        str([secret]),
        str({"k": secret}),
    ):
        assert KEY not in text
    assert secret.reveal() == KEY
    assert secret.scrub(f"a {KEY} b {KEY}") == "a *** b ***"
    assert Secret("").scrub("text") == "text"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_endpoint_repr_hides_the_key() -> None:
    ep = endpoint()
    assert KEY not in repr(ep)
    assert KEY not in str(ep)
    assert "***" in repr(ep)
    assert ep.scrub(ECHO).count("***") == 2
    assert endpoint(key=None).scrub(ECHO) == ECHO


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "reply",
    [
        error_response(401, "1001", ECHO),
        error_response(400, "1210", ECHO),
        error_response(400, "1211", ECHO),
        error_response(400, "1261", ECHO),
        error_response(429, "1113", ECHO),
        error_response(429, "1302", ECHO),
        error_response(429, "1308", ECHO),
        error_response(503, None, ECHO),
        httpx.Response(401, text=ECHO),
        httpx.Response(500, text=ECHO),
        httpx.Response(401, json={"detail": ECHO}),
    ],
    ids=lambda r: f"{r.status_code}-{r.headers.get('content-type', '')[:16]}",
)
def test_key_scrubbed_from_http_errors(mode: str, reply: httpx.Response) -> None:
    script = Script(reply)
    _, exc = fails(
        mode, script, errors.APIError, ep=endpoint(retry=RetryPolicy(max_retries=1, base=0.001))
    )
    assert script.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in full_text(exc)
    assert "***" in str(exc)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "frame",
    [
        b"data: " + json.dumps({"error": {"code": "1302", "message": ECHO}}).encode() + b"\n\n",
        b"event: error\ndata: " + json.dumps({"message": ECHO}).encode() + b"\n\n",
        b"event: error\ndata: " + json.dumps({"code": "1001", "message": ECHO}).encode() + b"\n\n",
    ],
)
def test_key_scrubbed_from_in_stream_errors(mode: str, frame: bytes) -> None:
    body = sse_bytes(ZAI_CHUNKS[:2], done=False) + frame
    events, exc = fails(mode, Script(sse_response(body)), errors.APIError)
    assert len(events) == 3
    assert KEY not in full_text(exc)
    assert "***" in str(exc)


@pytest.mark.parametrize("mode", MODES)
def test_key_absent_from_other_failures(mode: str) -> None:
    for script, kind in [
        (
            Script(sse_response(sse_bytes(ZAI_CHUNKS[:2], done=False))),
            errors.StreamInterruptedError,
        ),
        (Script(httpx.ConnectError("refused")), errors.ConnectionFailedError),
        (
            Script(sse_response([ZAI_STREAM[:40]], error=httpx.ReadError("reset"))),
            errors.StreamInterruptedError,
        ),
    ]:
        _, exc = fails(mode, script, kind)
        assert KEY not in full_text(exc)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("started", [False, True])
def test_key_scrubbed_from_chained_transport_errors(mode: str, started: bool) -> None:
    # e.g. h11 rejecting a key with a stray control character: "Illegal header value b'Bearer …'"
    error = httpx.LocalProtocolError(f"Illegal header value b'Bearer {KEY}\\n'")
    reply: Any = sse_response([ZAI_STREAM[:40]], error=error) if started else error
    kind = errors.StreamInterruptedError if started else errors.ConnectionFailedError
    _, exc = fails(mode, Script(reply), kind, ep=endpoint(retry=RetryPolicy(max_retries=0)))
    assert KEY not in str(exc)  # the message itself is scrubbed
    assert KEY not in full_text(exc)


@pytest.mark.parametrize("mode", MODES)
def test_key_scrubbed_from_malformed_chunk_note(mode: str) -> None:
    body = sse_bytes([b"not json: " + KEY.encode(), *ZAI_CHUNKS])
    (failure,) = failures_of(ok(mode, Script(sse_response(body))))
    assert KEY not in failure.message


# --- native async -------------------------------------------------------------------------------


async def test_async_stream_can_be_closed_early() -> None:
    script = Script(sse_response(ZAI_STREAM))
    async with AsyncClient(endpoint(), transport=script.transport) as client:
        stream = client.stream(PAYLOAD)
        first = await stream.__anext__()
        second = await stream.__anext__()
        await stream.aclose()  # type: ignore[attr-defined]
    assert (first, second) == (StreamOpened(), ReasoningDelta(" user"))


async def test_async_retry_then_stream() -> None:
    script = Script(
        error_response(429, "1303"), httpx.ConnectError("refused"), sse_response(ZAI_STREAM)
    )
    async with AsyncClient(endpoint(), transport=script.transport) as client:
        events = [e async for e in client.stream(PAYLOAD)]
    assert events == ZAI_FULL_EVENTS
    assert len(script.requests) == 3


def test_sync_stream_can_be_closed_early() -> None:
    script = Script(sse_response(ZAI_STREAM))
    with Client(endpoint(), transport=script.transport) as client:
        stream = client.stream(PAYLOAD)
        assert next(stream) == StreamOpened()
        assert next(stream) == ReasoningDelta(" user")
        stream.close()
        assert list(stream) == []


# --- RetryPolicy and Retry-After ----------------------------------------------------------------


def test_retry_policy_delay() -> None:
    policy = RetryPolicy(max_retries=3, base=0.5, cap=8.0)
    for attempt, full in enumerate([0.5, 1.0, 2.0]):
        for _ in range(20):
            chosen = policy.delay(attempt)
            assert chosen is not None
            assert full / 2 <= chosen <= full
    assert policy.delay(3) is None
    assert policy.delay(3, "1") is None  # Retry-After does not add attempts


def test_retry_policy_cap() -> None:
    policy = RetryPolicy(max_retries=20, base=0.5, cap=8.0)
    for _ in range(20):
        chosen = policy.delay(10)
        assert chosen is not None
        assert 4.0 <= chosen <= 8.0


def test_retry_policy_retry_after() -> None:
    policy = RetryPolicy(longest_wait=60.0)
    assert policy.delay(0, "12") == 12.0  # above the cap: the server's word wins
    assert policy.delay(0, "60") == 60.0
    assert policy.delay(0, "61") is None
    assert policy.delay(0, "-3") == 0.0
    chosen = policy.delay(0, "soon")  # unparseable: plain backoff
    assert chosen is not None
    assert 0.25 <= chosen <= 0.5


def test_parse_retry_after() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("garbage") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


def test_parse_retry_after_http_date_in_the_future() -> None:
    seconds = parse_retry_after("Fri, 01 Jan 2999 00:00:00 GMT")
    assert seconds is not None
    assert seconds > 365 * 86400  # far in the future, whatever today is


@pytest.mark.parametrize("mode", MODES)
def test_streams_in_a_row_share_one_connection(mode: str, simulator: Any) -> None:
    # The body is read to its end after [DONE], so the connection goes back to the pool: the
    # next request skips a new TCP (and, to a real provider, TLS) handshake.
    sim = simulator({"default": {"content": "Hello there."}})
    ep = Endpoint(PROVIDERS["zai"], sim.base_url, Secret(KEY), retry=FAST)
    texts: list[str] = []
    if mode == "sync":
        with Client(ep) as client:
            for _ in range(3):
                texts.append(content_of(list(client.stream(PAYLOAD)))[1])
    else:

        async def main() -> None:
            async with AsyncClient(ep, reuse_connections=True) as client:
                for _ in range(3):
                    texts.append(content_of([e async for e in client.stream(PAYLOAD)])[1])

        asyncio.run(main())
    assert texts == ["Hello there."] * 3
    ports = {r["peer_port"] for r in sim.requests if r["method"] == "POST"}
    assert len(ports) == 1, ports


def test_async_turns_on_one_loop_share_a_connection_that_ends_with_the_loop(
    simulator: Any,
) -> None:
    # `%%glm` in a kernel and every agent step go this way: without the connection kept, each
    # would open a new TCP (and, to a provider, TLS) connection.
    import gc
    import warnings

    from glm_jupyter import Session
    from glm_jupyter.config.settings import GLM
    from glm_jupyter.core.request import Request

    sim = simulator({"default": {"content": "Hello there."}})
    env = {"GLM_PROVIDER": "zai", "GLM_BASE_URL": sim.base_url, "GLM_API_KEY": KEY}
    session = Session(config=GLM(renderer="terminal"), env=env)

    async def main() -> list[str]:
        return [(await session.ask_async(Request("hi"))).content.text for _ in range(3)]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):  # a second loop gets connections of its own
            assert asyncio.run(main()) == ["Hello there."] * 3
        gc.collect()  # a connection left open would warn as its transport is collected
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    ports = [r["peer_port"] for r in sim.requests if r["method"] == "POST"]
    assert len(set(ports[:3])) == 1, ports
    assert len(set(ports[3:])) == 1, ports
    assert ports[0] != ports[3]  # the first loop's connection was closed with it


@pytest.mark.parametrize("mode", MODES)
def test_what_follows_done_is_read_and_ignored(mode: str) -> None:
    body = ZAI_STREAM + b'data: {"choices": [{"delta": {"content": "late"}}]}\n\n'
    events = ok(mode, Script(sse_response(body)))
    assert "late" not in content_of(events)[1]
    assert content_of(events) == content_of(ZAI_EVENTS)
