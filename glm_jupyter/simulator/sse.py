"""Encode a planned response as server-sent events or as one JSON body."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

from .chunks import ChunkBuilder, Json
from .plan import Plan
from .scenario import Fault
from .tokens import tokenize

EventKind = Literal["head", "token", "tail"]
Event = tuple[EventKind, bytes]

DONE = b"data: [DONE]\n\n"
OPENROUTER_COMMENT = b": OPENROUTER PROCESSING\n\n"
# OpenRouter writes newlines before a non-streamed body while the answer is made (22 to 132
# bytes of them in the exchanges the project's parser was checked against).
OPENROUTER_PADDING = b"\n" * 22 + b" " * 10
# A data line whose JSON stops mid-object, as a proxy that mangles a stream would send it.
MALFORMED_LINE = b'data: {"choices": [{"delta": {"content": \n\n'

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_SENTINEL = "\x00glm-simulator-token\x00"
_SENTINEL_JSON = _dumps(_SENTINEL).encode()


def encode_json(obj: Any) -> bytes:
    """Compact UTF-8 JSON, as the real servers send it."""
    return _dumps(obj).encode()


def encode_event(obj: Any) -> bytes:
    """One `data:` event."""
    return b"data: " + _dumps(obj).encode() + b"\n\n"


def error_body(code: str | None, message: str) -> Json:
    """`{"error": {...}}` with a string business code when there is one."""
    error: Json = {"message": message} if code is None else {"code": code, "message": message}
    return {"error": error}


def error_event(fault: Fault) -> bytes:
    """The in-stream error a `stream_error` fault sends."""
    data = encode_event(error_body(fault.code, fault.message or "Simulated stream error"))
    return b"event: error\n" + data if fault.sse_event else data


class _Template:
    """A chunk encoded once, with the token spliced in per event: no per-token dict or dump."""

    def __init__(self, chunk: Json) -> None:
        self._parts = encode_event(chunk).split(_SENTINEL_JSON)

    def render(self, text: str) -> bytes:
        return _dumps(text).encode().join(self._parts)


def stream_events(plan: Plan, builder: ChunkBuilder, *, include_usage: bool) -> Iterator[Event]:
    """The events of a streamed response, each tagged head, token or tail."""
    d = builder.d
    if d.name == "openrouter":
        yield "head", OPENROUTER_COMMENT
        yield "head", OPENROUTER_COMMENT
    opening = builder.opening()
    if opening is not None:
        yield "head", encode_event(opening)
    template = _Template(builder.reasoning(_SENTINEL))
    for token in plan.reasoning:
        yield "token", template.render(token)
    template = _Template(builder.content(_SENTINEL))
    for token in plan.content:
        yield "token", template.render(token)
    for call in plan.tool_calls:
        if not plan.stream_tools:
            yield "token", encode_event(builder.tool_whole(call))
            continue
        yield "token", encode_event(builder.tool_start(call))
        template = _Template(builder.tool_arguments(call.index, _SENTINEL))
        for piece in tokenize(call.arguments):
            yield "token", template.render(piece)
    yield "tail", encode_event(builder.finish(plan))
    if d.usage_mode != "final_chunk" and include_usage:
        yield "tail", encode_event(builder.usage_chunk(plan))
    yield "tail", DONE


def completion_body(plan: Plan, builder: ChunkBuilder) -> bytes:
    """The JSON body of a non-streamed response (OpenRouter's after its whitespace padding)."""
    reasoning = "".join(plan.reasoning)
    content = "".join(plan.content)
    body = encode_json(builder.completion(reasoning, content, plan))
    return OPENROUTER_PADDING + body if builder.d.name == "openrouter" else body
