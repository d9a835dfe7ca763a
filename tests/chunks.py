"""Shared test data: literal streamed chunks of every dialect, and helpers to serve them.

The chunks are plain Python data in each server's own wire shape. `sse_bytes` turns a list of
them into a server-sent-events body; `PieceStream` and `mock_transport` serve such a body over
`httpx.MockTransport` in whatever network pieces a test wants.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any

import httpx

from glm_jupyter.messages import (
    Event,
    Finish,
    ReasoningDelta,
    StreamFailure,
    TextDelta,
    ToolCallDelta,
    UsageReport,
)
from glm_jupyter.wire.dialects import ChunkParser

KEY = "sk-TESTSECRET-1234567890abcdef"
UNICODE_TEXT = "Florence – 25 °C ☀ 你好 🙂"

# --- Z.ai: recorded chunks from GLM_PROTOCOL.md, verbatim -------------------------------------

ZAI_CHUNKS: list[dict[str, Any]] = [
    {
        "id": "2026...",
        "created": 1773349387,
        "object": "chat.completion.chunk",
        "model": "glm-4.7-flash",
        "choices": [{"index": 0, "delta": {"role": "assistant", "reasoning_content": " user"}}],
    },
    {"id": "2026...", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "'ll"}}]},
    {
        "id": "2026...",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {
                            "id": "call_35...",
                            "index": 0,
                            "type": "function",
                            "function": {
                                "name": "weather",
                                "arguments": '{"location":"Florence,Italy"}',
                            },
                        }
                    ]
                },
            }
        ],
    },
    {
        "id": "2026...",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "delta": {"role": "assistant", "content": ""},
            }
        ],
        "usage": {
            "prompt_tokens": 173,
            "completion_tokens": 93,
            "total_tokens": 266,
            "prompt_tokens_details": {"cached_tokens": 172},
            "completion_tokens_details": {"reasoning_tokens": 65},
        },
    },
]

# The same recorded lines as text, exactly as GLM_PROTOCOL.md shows them.
ZAI_RECORDED_SSE = (
    b'data: {"id":"2026...","created":1773349387,"object":"chat.completion.chunk","model":'
    b'"glm-4.7-flash","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":'
    b'" user"}}]}\n\n'
    b'data: {"id":"2026...","choices":[{"index":0,"delta":{"role":"assistant","content":"\'ll"}}]}'
    b"\n\n"
    b'data: {"id":"2026...","choices":[{"index":0,"delta":{"tool_calls":[{"id":"call_35...",'
    b'"index":0,"type":"function","function":{"name":"weather","arguments":'
    b'"{\\"location\\":\\"Florence,Italy\\"}"}}]}}]}\n\n'
    b'data: {"id":"2026...","choices":[{"index":0,"finish_reason":"tool_calls","delta":'
    b'{"role":"assistant","content":""}}],"usage":{"prompt_tokens":173,"completion_tokens":93,'
    b'"total_tokens":266,"prompt_tokens_details":{"cached_tokens":172},'
    b'"completion_tokens_details":{"reasoning_tokens":65}}}\n\n'
    b"data: [DONE]\n\n"
)

ZAI_EVENTS: list[Event] = [
    ReasoningDelta(" user"),
    TextDelta("'ll"),
    ToolCallDelta(
        index=0, id="call_35...", name="weather", arguments='{"location":"Florence,Italy"}'
    ),
    Finish("tool_calls"),
]

# A Z.ai answer with multi-byte text: reasoning, content, usage.
ZAI_UNICODE_CHUNKS: list[dict[str, Any]] = [
    {
        "id": "20260312",
        "object": "chat.completion.chunk",
        "model": "glm-5.1",
        "choices": [
            {"index": 0, "delta": {"role": "assistant", "reasoning_content": "Weather in "}}
        ],
    },
    {
        "id": "20260312",
        "choices": [
            {"index": 0, "delta": {"role": "assistant", "reasoning_content": UNICODE_TEXT}}
        ],
    },
    {"id": "20260312", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "☀"}}]},
    {
        "id": "20260312",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": " " + UNICODE_TEXT}}],
    },
    {
        "id": "20260312",
        "choices": [
            {"index": 0, "finish_reason": "stop", "delta": {"role": "assistant", "content": ""}}
        ],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": 30,
            "total_tokens": 42,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 10},
        },
    },
]

# Streamed tool call (tool_stream=true): id and name first, argument fragments after.
ZAI_TOOL_STREAM_CHUNKS: list[dict[str, Any]] = [
    {
        "id": "t",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "index": 0,
                            "type": "function",
                            "function": {"name": "weather", "arguments": ""},
                        }
                    ],
                },
            }
        ],
    },
    {
        "id": "t",
        "choices": [
            {
                "index": 0,
                "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"location":'}}]},
            }
        ],
    },
    {
        "id": "t",
        "choices": [
            {
                "index": 0,
                "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '"Florence"}'}}]},
            }
        ],
    },
    {
        "id": "t",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {
                            "id": "call_2",
                            "index": 1,
                            "type": "function",
                            "function": {"name": "time", "arguments": ""},
                        }
                    ]
                },
            }
        ],
    },
    {
        "id": "t",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [{"index": 1, "function": {"arguments": '{"tz":"Europe/Rome"}'}}]
                },
            }
        ],
    },
    {
        "id": "t",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "delta": {"role": "assistant", "content": ""},
            }
        ],
    },
]

# Parallel calls without tool_stream: each arrives whole, in its own chunk, index 0, 1.
ZAI_PARALLEL_CHUNKS: list[dict[str, Any]] = [
    {
        "id": "p",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {
                            "id": "call_a",
                            "index": 0,
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"location":"Florence"}'},
                        }
                    ]
                },
            }
        ],
    },
    {
        "id": "p",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {
                            "id": "call_b",
                            "index": 1,
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"location":"Rome"}'},
                        }
                    ]
                },
            }
        ],
    },
    {
        "id": "p",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "delta": {"role": "assistant", "content": ""},
            }
        ],
    },
]

# A non-streamed response: `message` instead of `delta`, `arguments` as an object.
ZAI_NON_STREAMED: dict[str, Any] = {
    "id": "2026-whole",
    "object": "chat.completion",
    "model": "glm-5",
    "choices": [
        {
            "index": 0,
            "finish_reason": "tool_calls",
            "message": {
                "role": "assistant",
                "content": "Checking.",
                "reasoning_content": "Need the weather.",
                "tool_calls": [
                    {
                        "id": "call_w",
                        "type": "function",
                        "function": {
                            "name": "weather",
                            "arguments": {"location": "Firenze", "unit": "°C"},
                        },
                    }
                ],
            },
        }
    ],
    "usage": {
        "prompt_tokens": 50,
        "completion_tokens": 20,
        "total_tokens": 70,
        "prompt_tokens_details": {"cached_tokens": 10},
        "completion_tokens_details": {"reasoning_tokens": 5},
    },
}

# --- vLLM: `reasoning`, `finish_reason: null` on every chunk, usage-only final chunk ------------

VLLM_CHUNKS: list[dict[str, Any]] = [
    {
        "id": "chatcmpl-9f",
        "object": "chat.completion.chunk",
        "created": 1773349000,
        "model": "zai-org/GLM-4.7-Flash",
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", "content": ""},
                "logprobs": None,
                "finish_reason": None,
            }
        ],
    },
    {
        "id": "chatcmpl-9f",
        "object": "chat.completion.chunk",
        "created": 1773349000,
        "model": "zai-org/GLM-4.7-Flash",
        "choices": [
            {"index": 0, "delta": {"reasoning": "Short"}, "logprobs": None, "finish_reason": None}
        ],
    },
    {
        "id": "chatcmpl-9f",
        "object": "chat.completion.chunk",
        "created": 1773349000,
        "model": "zai-org/GLM-4.7-Flash",
        "choices": [
            {
                "index": 0,
                "delta": {"reasoning": " answer."},
                "logprobs": None,
                "finish_reason": None,
            }
        ],
    },
    {
        "id": "chatcmpl-9f",
        "object": "chat.completion.chunk",
        "created": 1773349000,
        "model": "zai-org/GLM-4.7-Flash",
        "choices": [
            {"index": 0, "delta": {"content": "Hello"}, "logprobs": None, "finish_reason": None}
        ],
    },
    {
        "id": "chatcmpl-9f",
        "object": "chat.completion.chunk",
        "created": 1773349000,
        "model": "zai-org/GLM-4.7-Flash",
        "choices": [
            {
                "index": 0,
                "delta": {"content": "!"},
                "logprobs": None,
                "finish_reason": "stop",
                "stop_reason": None,
            }
        ],
    },
    {
        "id": "chatcmpl-9f",
        "object": "chat.completion.chunk",
        "created": 1773349000,
        "model": "zai-org/GLM-4.7-Flash",
        "choices": [],
        "usage": {
            "prompt_tokens": 20,
            "total_tokens": 31,
            "completion_tokens": 11,
            "prompt_tokens_details": None,
        },
    },
]

# Newer vLLM: tool call name first, then argument fragments.
VLLM_TOOL_CHUNKS: list[dict[str, Any]] = [
    {
        "id": "chatcmpl-t",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {
                            "id": "chatcmpl-tool-1",
                            "type": "function",
                            "index": 0,
                            "function": {"name": "weather"},
                        }
                    ]
                },
                "finish_reason": None,
            }
        ],
    },
    {
        "id": "chatcmpl-t",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [{"index": 0, "function": {"arguments": '{"location": "Flo'}}]
                },
                "finish_reason": None,
            }
        ],
    },
    {
        "id": "chatcmpl-t",
        "choices": [
            {
                "index": 0,
                "delta": {"tool_calls": [{"index": 0, "function": {"arguments": 'rence"}'}}]},
                "finish_reason": None,
            }
        ],
    },
    {"id": "chatcmpl-t", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    {
        "id": "chatcmpl-t",
        "choices": [],
        "usage": {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52},
    },
]

# --- SGLang: `reasoning_content`, `usage: null` until the end ---------------------------------

SGLANG_CHUNKS: list[dict[str, Any]] = [
    {
        "id": "b7e1",
        "object": "chat.completion.chunk",
        "created": 1773349100,
        "model": "zai-org/GLM-4.7-Flash",
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", "content": ""},
                "logprobs": None,
                "finish_reason": None,
                "matched_stop": None,
            }
        ],
        "usage": None,
    },
    {
        "id": "b7e1",
        "object": "chat.completion.chunk",
        "created": 1773349100,
        "model": "zai-org/GLM-4.7-Flash",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "role": None,
                    "content": None,
                    "reasoning_content": "Think",
                    "tool_calls": None,
                },
                "logprobs": None,
                "finish_reason": None,
                "matched_stop": None,
            }
        ],
        "usage": None,
    },
    {
        "id": "b7e1",
        "object": "chat.completion.chunk",
        "created": 1773349100,
        "model": "zai-org/GLM-4.7-Flash",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "role": None,
                    "content": "Hi",
                    "reasoning_content": None,
                    "tool_calls": None,
                },
                "logprobs": None,
                "finish_reason": None,
                "matched_stop": None,
            }
        ],
        "usage": None,
    },
    {
        "id": "b7e1",
        "object": "chat.completion.chunk",
        "created": 1773349100,
        "model": "zai-org/GLM-4.7-Flash",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "role": None,
                    "content": None,
                    "reasoning_content": None,
                    "tool_calls": None,
                },
                "logprobs": None,
                "finish_reason": "stop",
                "matched_stop": 151336,
            }
        ],
        "usage": None,
    },
    {
        "id": "b7e1",
        "object": "chat.completion.chunk",
        "created": 1773349100,
        "model": "zai-org/GLM-4.7-Flash",
        "choices": [],
        "usage": {
            "prompt_tokens": 9,
            "total_tokens": 19,
            "completion_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 8},
        },
    },
]

# --- Ollama: `reasoning`, whole tool calls ----------------------------------------------------

OLLAMA_CHUNKS: list[dict[str, Any]] = [
    {
        "id": "chatcmpl-412",
        "object": "chat.completion.chunk",
        "created": 1773349200,
        "model": "glm-4.7-flash",
        "system_fingerprint": "fp_ollama",
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", "content": "", "reasoning": "Use the tool."},
                "finish_reason": None,
            }
        ],
    },
    {
        "id": "chatcmpl-412",
        "object": "chat.completion.chunk",
        "created": 1773349200,
        "model": "glm-4.7-flash",
        "system_fingerprint": "fp_ollama",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "call_k1",
                            "index": 0,
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"location":"Florence"}'},
                        },
                        {
                            "id": "call_k2",
                            "index": 1,
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"location":"Siena"}'},
                        },
                    ],
                },
                "finish_reason": None,
            }
        ],
    },
    {
        "id": "chatcmpl-412",
        "object": "chat.completion.chunk",
        "created": 1773349200,
        "model": "glm-4.7-flash",
        "system_fingerprint": "fp_ollama",
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", "content": ""},
                "finish_reason": "tool_calls",
            }
        ],
    },
    {
        "id": "chatcmpl-412",
        "object": "chat.completion.chunk",
        "created": 1773349200,
        "model": "glm-4.7-flash",
        "system_fingerprint": "fp_ollama",
        "choices": [],
        "usage": {"prompt_tokens": 80, "completion_tokens": 25, "total_tokens": 105},
    },
]

# --- llama.cpp: `reasoning_content`, or `<think>` left in content ------------------------------


def _llamacpp(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "choices": [{"finish_reason": finish, "index": 0, "delta": delta}],
        "created": 1773349300,
        "id": "chatcmpl-lc",
        "model": "glm-4.7-flash",
        "system_fingerprint": "b6000-abc",
        "object": "chat.completion.chunk",
        **extra,
    }


LLAMACPP_USAGE = {"completion_tokens": 14, "prompt_tokens": 21, "total_tokens": 35}
LLAMACPP_TIMINGS = {"prompt_n": 21, "prompt_ms": 30.1, "predicted_n": 14, "predicted_ms": 200.5}

LLAMACPP_REASONING_CHUNKS: list[dict[str, Any]] = [
    _llamacpp({"role": "assistant", "content": None}),
    _llamacpp({"reasoning_content": "Simple"}),
    _llamacpp({"reasoning_content": " greeting."}),
    _llamacpp({"content": "Hello"}),
    _llamacpp({}, "stop", usage=LLAMACPP_USAGE, timings=LLAMACPP_TIMINGS),
]

# `--reasoning-format none`: the reasoning sits in content inside tags.
LLAMACPP_TAGGED_CHUNKS: list[dict[str, Any]] = [
    _llamacpp({"role": "assistant", "content": None}),
    _llamacpp({"content": "<think>"}),
    _llamacpp({"content": "Simple"}),
    _llamacpp({"content": " greeting."}),
    _llamacpp({"content": "</think>"}),
    _llamacpp({"content": "Hello"}),
    _llamacpp({}, "stop", usage=LLAMACPP_USAGE, timings=LLAMACPP_TIMINGS),
]

# Thinking forced on: the output starts without the opening tag.
LLAMACPP_UNTAGGED_CHUNKS: list[dict[str, Any]] = [
    _llamacpp({"role": "assistant", "content": None}),
    _llamacpp({"content": "Simple"}),
    _llamacpp({"content": " greeting."}),
    _llamacpp({"content": "</think>"}),
    _llamacpp({"content": "Hello"}),
    _llamacpp({}, "stop", usage=LLAMACPP_USAGE, timings=LLAMACPP_TIMINGS),
]

# --- OpenRouter: `reasoning` mirrored in `reasoning_details`, usage with `cost` ----------------


def _openrouter(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "gen-1773349501-Jx4k",
        "provider": "Z.AI",
        "model": "z-ai/glm-5.1",
        "object": "chat.completion.chunk",
        "created": 1773349501,
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", **delta},
                "finish_reason": finish,
                "native_finish_reason": finish,
                "logprobs": None,
            }
        ],
        **extra,
    }


def _or_reasoning(text: str) -> dict[str, Any]:
    return {
        "content": "",
        "reasoning": text,
        "reasoning_details": [
            {"type": "reasoning.text", "text": text, "format": "unknown", "index": 0}
        ],
    }


OPENROUTER_USAGE = {
    "prompt_tokens": 14,
    "completion_tokens": 40,
    "total_tokens": 54,
    "cost": 0.000196,
    "is_byok": False,
    "prompt_tokens_details": {"cached_tokens": 0},
    "cost_details": {"upstream_inference_cost": None},
    "completion_tokens_details": {"reasoning_tokens": 24},
}

OPENROUTER_CHUNKS: list[dict[str, Any]] = [
    _openrouter(_or_reasoning("Florence")),
    _openrouter(_or_reasoning(" in June")),
    _openrouter({"content": "Florence"}),
    _openrouter({"content": " – 25 °C ☀"}),
    _openrouter({"content": ""}, "stop"),
    _openrouter({"content": ""}, None, usage=OPENROUTER_USAGE),
]

# --- helpers ----------------------------------------------------------------------------------


def sse_bytes(
    chunks: Iterable[Any],
    *,
    done: bool = True,
    newline: bytes = b"\n",
    comments: Sequence[bytes] = (),
) -> bytes:
    """An SSE body: optional comment lines, one `data:` event per chunk, then `[DONE]`."""
    out = bytearray()
    for comment in comments:
        out += b": " + comment + newline + newline
    for chunk in chunks:
        data = chunk if isinstance(chunk, bytes) else json.dumps(chunk, ensure_ascii=False).encode()
        out += b"data: " + data + newline + newline
    if done:
        out += b"data: [DONE]" + newline + newline
    return bytes(out)


def split_at(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    """`data` cut at the given byte offsets (clamped, deduplicated, any order)."""
    points = sorted({min(max(c, 0), len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


class PieceStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that arrives in the given pieces, then optionally raises."""

    def __init__(self, pieces: Sequence[bytes], error: Exception | None = None) -> None:
        self.pieces = list(pieces)
        self.error = error

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces
        if self.error is not None:
            raise self.error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece
        if self.error is not None:
            raise self.error


ScriptedReply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def sse_response(
    pieces: bytes | Sequence[bytes], error: Exception | None = None, **headers: str
) -> httpx.Response:
    """A 200 `text/event-stream` response with the body in `pieces`."""
    if isinstance(pieces, bytes):
        pieces = [pieces]
    return httpx.Response(
        200,
        headers={"content-type": "text/event-stream", **headers},
        stream=PieceStream(pieces, error),
    )


def error_response(
    status: int, code: str | None = None, message: str = "error", **headers: str
) -> httpx.Response:
    """An error response in Z.ai's shape: `{"error": {"code": "...", "message": "..."}}`."""
    error: dict[str, Any] = {"message": message}
    if code is not None:
        error["code"] = code
    return httpx.Response(status, json={"error": error}, headers=headers)


class Script:
    """A MockTransport handler answering each request with the next scripted reply."""

    def __init__(self, *replies: ScriptedReply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        if callable(reply) and not isinstance(reply, httpx.Response):
            return reply(request)
        if isinstance(reply, httpx.Response) and isinstance(reply.stream, PieceStream):
            # A fresh response each time: a stream is read once.
            stream = reply.stream
            return httpx.Response(
                reply.status_code,
                headers=reply.headers,
                stream=PieceStream(stream.pieces, stream.error),
            )
        if isinstance(reply, httpx.Response):
            return httpx.Response(reply.status_code, headers=reply.headers, content=reply.content)
        raise TypeError(reply)

    @property
    def transport(self) -> httpx.MockTransport:
        """The transport to hand to a client."""
        return httpx.MockTransport(self)


def feed(parser: ChunkParser, chunk: Any) -> list[Event]:
    """The events one chunk gives (the one place that knows `ChunkParser.feed`'s signature)."""
    out: list[Event] = []
    parser.feed(chunk, out)
    return out


def parse_chunks(chunks: Iterable[Any], think_tags: Any = "off") -> list[Event]:
    """All events of a list of chunk dicts, including what the parser releases at the end."""
    parser = ChunkParser(think_tags)
    out: list[Event] = []
    for chunk in chunks:
        out += feed(parser, chunk)
    return out + parser.close()


def content_of(events: Iterable[Event]) -> tuple[str, str]:
    """(reasoning, content) joined from the deltas among `events`."""
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    content = "".join(e.text for e in events if isinstance(e, TextDelta))
    return reasoning, content


def usage_of(events: Iterable[Event]) -> list[UsageReport]:
    """The usage reports among `events`."""
    return [e for e in events if isinstance(e, UsageReport)]


def failures_of(events: Iterable[Event]) -> list[StreamFailure]:
    """The stream failures among `events`."""
    return [e for e in events if isinstance(e, StreamFailure)]
