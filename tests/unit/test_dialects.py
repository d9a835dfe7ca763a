"""Chunk parsing for every dialect, and the request body each provider wants."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glm_jupyter.config.providers import PROVIDERS
from glm_jupyter.messages import (
    Finish,
    Message,
    ReasoningDelta,
    StreamFailure,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageReport,
)
from glm_jupyter.reply import Reply
from glm_jupyter.wire.dialects import (
    ChunkParser,
    build_request,
    error_from_chunk,
    parse_usage,
    wire_message,
)
from glm_jupyter.wire.sse import SSEDecoder

from ..chunks import (
    LLAMACPP_REASONING_CHUNKS,
    LLAMACPP_TAGGED_CHUNKS,
    LLAMACPP_UNTAGGED_CHUNKS,
    OLLAMA_CHUNKS,
    OPENROUTER_CHUNKS,
    SGLANG_CHUNKS,
    VLLM_CHUNKS,
    VLLM_TOOL_CHUNKS,
    ZAI_CHUNKS,
    ZAI_EVENTS,
    ZAI_NON_STREAMED,
    ZAI_PARALLEL_CHUNKS,
    ZAI_RECORDED_SSE,
    ZAI_TOOL_STREAM_CHUNKS,
    content_of,
    feed,
    parse_chunks,
    usage_of,
)


def reply_of(events: list[Any]) -> Reply:
    reply = Reply("glm-5", "zai")
    for event in events:
        reply.apply(event)
    return reply


# --- Z.ai ---------------------------------------------------------------------------------------


def test_zai_recorded_lines_decode_to_the_chunks() -> None:
    decoder = SSEDecoder()
    frames = decoder.feed(ZAI_RECORDED_SSE) + decoder.close()
    assert frames[-1] == ("message", b"[DONE]")
    assert [json.loads(data) for _, data in frames[:-1]] == ZAI_CHUNKS


def test_zai_recorded_chunks() -> None:
    events = parse_chunks(ZAI_CHUNKS)
    assert events == [
        *ZAI_EVENTS,
        UsageReport(
            Usage(prompt_tokens=173, completion_tokens=93, cached_tokens=172, reasoning_tokens=65)
        ),
    ]


def test_zai_intermediate_chunks_have_no_finish() -> None:
    parser = ChunkParser()
    for chunk in ZAI_CHUNKS[:-1]:
        assert not any(isinstance(e, Finish) for e in feed(parser, chunk))
    assert Finish("tool_calls") in feed(parser, ZAI_CHUNKS[-1])


def test_empty_content_produces_no_text_event() -> None:
    chunk = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
    events = parse_chunks([chunk])
    assert events == []


# --- vLLM ---------------------------------------------------------------------------------------


def test_vllm_reasoning_null_finish_and_usage_only_final_chunk() -> None:
    events = parse_chunks(VLLM_CHUNKS, PROVIDERS["vllm"].think_tags)
    assert events == [
        ReasoningDelta("Short"),
        ReasoningDelta(" answer."),
        TextDelta("Hello"),
        TextDelta("!"),
        Finish("stop"),
        UsageReport(Usage(prompt_tokens=20, completion_tokens=11)),
    ]


def test_vllm_streamed_tool_call_name_first_then_fragments() -> None:
    events = parse_chunks(VLLM_TOOL_CHUNKS, "leading")
    assert events[:3] == [
        ToolCallDelta(index=0, id="chatcmpl-tool-1", name="weather", arguments=""),
        ToolCallDelta(index=0, arguments='{"location": "Flo'),
        ToolCallDelta(index=0, arguments='rence"}'),
    ]
    assert events[3:] == [Finish("tool_calls"), UsageReport(Usage(40, 12))]
    (call,) = reply_of(events).tool_calls
    assert call == ToolCall("chatcmpl-tool-1", "weather", '{"location": "Florence"}')


def test_vllm_both_reasoning_fields_counted_once() -> None:
    # vLLM releases in transition sent the same text under both names.
    events = parse_chunks(
        [
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {"reasoning": "same", "reasoning_content": "same"},
                        "finish_reason": None,
                    }
                ]
            }
        ]
    )
    assert events == [ReasoningDelta("same")]


# --- SGLang -------------------------------------------------------------------------------------


def test_sglang_reasoning_content() -> None:
    events = parse_chunks(SGLANG_CHUNKS, PROVIDERS["sglang"].think_tags)
    assert events == [
        ReasoningDelta("Think"),
        TextDelta("Hi"),
        Finish("stop"),
        UsageReport(Usage(prompt_tokens=9, completion_tokens=10, cached_tokens=8)),
    ]


# --- Ollama -------------------------------------------------------------------------------------


def test_ollama_reasoning_and_whole_parallel_tool_calls() -> None:
    events = parse_chunks(OLLAMA_CHUNKS, PROVIDERS["ollama"].think_tags)
    assert events == [
        ReasoningDelta("Use the tool."),
        ToolCallDelta(0, "call_k1", "weather", '{"location":"Florence"}'),
        ToolCallDelta(1, "call_k2", "weather", '{"location":"Siena"}'),
        Finish("tool_calls"),
        UsageReport(Usage(prompt_tokens=80, completion_tokens=25)),
    ]
    assert [c.arguments for c in reply_of(events).tool_calls] == [
        '{"location":"Florence"}',
        '{"location":"Siena"}',
    ]


def test_tool_calls_without_index_use_their_position() -> None:
    events = parse_chunks(
        [
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "tool_calls": [
                                {"id": "a", "function": {"name": "f", "arguments": "{}"}},
                                {"id": "b", "function": {"name": "g", "arguments": "{}"}},
                            ]
                        },
                    }
                ]
            }
        ]
    )
    assert [(e.index, e.id) for e in events if isinstance(e, ToolCallDelta)] == [(0, "a"), (1, "b")]


# --- llama.cpp ----------------------------------------------------------------------------------

LLAMACPP_EXPECTED = ("Simple greeting.", "Hello")


def test_llamacpp_reasoning_content() -> None:
    events = parse_chunks(LLAMACPP_REASONING_CHUNKS, PROVIDERS["llamacpp"].think_tags)
    assert content_of(events) == LLAMACPP_EXPECTED
    assert events[-2:] == [Finish("stop"), UsageReport(Usage(21, 14))]


def test_llamacpp_reasoning_content_with_untagged_mode_does_not_hold_the_answer() -> None:
    # The server splits reasoning itself: the answer streams at once, no `</think>` is awaited.
    parser = ChunkParser("untagged")
    for chunk in LLAMACPP_REASONING_CHUNKS[:3]:
        feed(parser, chunk)
    assert feed(parser, LLAMACPP_REASONING_CHUNKS[3]) == [TextDelta("Hello")]


@pytest.mark.parametrize("mode", ["leading", "untagged"])
def test_llamacpp_think_tags_in_content(mode: str) -> None:
    events = parse_chunks(LLAMACPP_TAGGED_CHUNKS, mode)
    assert content_of(events) == LLAMACPP_EXPECTED
    assert events[-2:] == [Finish("stop"), UsageReport(Usage(21, 14))]


def test_llamacpp_missing_opening_tag() -> None:
    assert PROVIDERS["llamacpp"].think_tags == "untagged"
    events = parse_chunks(LLAMACPP_UNTAGGED_CHUNKS, "untagged")
    assert content_of(events) == LLAMACPP_EXPECTED


def test_untagged_holds_text_until_close_tag() -> None:
    parser = ChunkParser("untagged")
    # The text is held; an empty reasoning delta marks when the model started.
    assert feed(parser, LLAMACPP_UNTAGGED_CHUNKS[1]) == [ReasoningDelta("")]
    assert feed(parser, LLAMACPP_UNTAGGED_CHUNKS[2]) == []
    assert feed(parser, LLAMACPP_UNTAGGED_CHUNKS[3]) == [ReasoningDelta("Simple greeting.")]
    assert feed(parser, LLAMACPP_UNTAGGED_CHUNKS[4]) == [TextDelta("Hello")]


def test_untagged_without_close_tag_is_an_answer_after_all() -> None:
    chunks = [
        c for c in LLAMACPP_UNTAGGED_CHUNKS if c["choices"][0]["delta"].get("content") != "</think>"
    ]
    events = parse_chunks(chunks, "untagged")
    assert content_of(events) == ("", "Simple greeting.Hello")
    # The held text comes out before the finish.
    assert isinstance(events[-3], TextDelta)
    assert events[-2] == Finish("stop")


def test_think_tags_off_leaves_content_alone() -> None:
    events = parse_chunks(LLAMACPP_TAGGED_CHUNKS, "off")
    assert content_of(events) == ("", "<think>Simple greeting.</think>Hello")


def test_leading_mode_ignores_a_think_tag_later_in_the_answer() -> None:
    events = parse_chunks(
        [
            {
                "choices": [
                    {"delta": {"content": "Use <think>...</think> tags."}, "finish_reason": "stop"}
                ]
            }
        ],
        "leading",
    )
    assert content_of(events) == ("", "Use <think>...</think> tags.")


def _content_chunks(pieces: list[str]) -> list[dict[str, Any]]:
    chunks: list[dict[str, Any]] = [
        {"choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]} for p in pieces
    ]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return chunks


TAGGED = "<think>Let me think: a<b and c>d.</think>The answer is 42."
UNTAGGED = "Let me think: a<b and c>d.</think>The answer is 42."
EXPECTED = ("Let me think: a<b and c>d.", "The answer is 42.")


@pytest.mark.parametrize(
    ("text", "mode"), [(TAGGED, "leading"), (TAGGED, "untagged"), (UNTAGGED, "untagged")]
)
def test_think_tags_split_at_every_position(text: str, mode: str) -> None:
    for i in range(len(text) + 1):
        pieces = [p for p in (text[:i], text[i:]) if p]
        assert content_of(parse_chunks(_content_chunks(pieces), mode)) == EXPECTED, i


@pytest.mark.parametrize(("text", "mode"), [(TAGGED, "leading"), (UNTAGGED, "untagged")])
def test_think_tags_split_at_every_pair_of_positions(text: str, mode: str) -> None:
    for i in range(len(text) + 1):
        for j in range(i, len(text) + 1):
            pieces = [p for p in (text[:i], text[i:j], text[j:]) if p]
            assert content_of(parse_chunks(_content_chunks(pieces), mode)) == EXPECTED, (i, j)


@pytest.mark.parametrize(("text", "mode"), [(TAGGED, "leading"), (UNTAGGED, "untagged")])
def test_think_tags_one_character_per_chunk(text: str, mode: str) -> None:
    assert content_of(parse_chunks(_content_chunks(list(text)), mode)) == EXPECTED


@settings(max_examples=200, deadline=None, database=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(TAGGED)), max_size=12))
def test_think_tags_any_split(cuts: list[int]) -> None:
    points = sorted({0, len(TAGGED), *cuts})
    pieces = [TAGGED[a:b] for a, b in itertools.pairwise(points) if b > a]
    assert content_of(parse_chunks(_content_chunks(pieces), "leading")) == EXPECTED


def test_leading_whitespace_before_think_tag() -> None:
    events = parse_chunks(_content_chunks(["\n", "<thi", "nk>r</think>a"]), "leading")
    assert content_of(events) == ("r", "a")


@pytest.mark.parametrize("mode", ["leading", "untagged"])
def test_whitespace_after_close_tag_is_independent_of_chunk_boundaries(mode: str) -> None:
    text = ("<think>" if mode == "leading" else "") + "r</think>\n\nThe answer"
    whole = content_of(parse_chunks(_content_chunks([text]), mode))
    cut = text.index("</think>") + len("</think>")
    split = content_of(parse_chunks(_content_chunks([text[:cut], text[cut:]]), mode))
    assert split == whole


# --- OpenRouter ---------------------------------------------------------------------------------


def test_openrouter_reasoning_not_double_counted_and_cost() -> None:
    events = parse_chunks(OPENROUTER_CHUNKS)
    assert content_of(events) == ("Florence in June", "Florence – 25 °C ☀")
    assert [e for e in events if isinstance(e, ReasoningDelta)] == [
        ReasoningDelta("Florence"),
        ReasoningDelta(" in June"),
    ]
    assert Finish("stop") in events
    (report,) = usage_of(events)
    assert report.usage == Usage(
        prompt_tokens=14,
        completion_tokens=40,
        cached_tokens=0,
        reasoning_tokens=24,
        cost_usd=0.000196,
    )


def test_openrouter_reasoning_details_alone() -> None:
    events = parse_chunks(
        [
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "content": "",
                            "reasoning": None,
                            "reasoning_details": [
                                {"type": "reasoning.text", "text": "only here"},
                                {"type": "reasoning.summary", "summary": " and summary"},
                                {"type": "reasoning.encrypted", "data": "opaque"},
                            ],
                        },
                    }
                ]
            }
        ]
    )
    assert events == [ReasoningDelta("only here and summary")]


# --- tool calls ---------------------------------------------------------------------------------


def test_streamed_tool_calls_by_index() -> None:
    events = parse_chunks(ZAI_TOOL_STREAM_CHUNKS)
    assert [e for e in events if isinstance(e, ToolCallDelta)] == [
        ToolCallDelta(0, "call_1", "weather", ""),
        ToolCallDelta(0, None, None, '{"location":'),
        ToolCallDelta(0, None, None, '"Florence"}'),
        ToolCallDelta(1, "call_2", "time", ""),
        ToolCallDelta(1, None, None, '{"tz":"Europe/Rome"}'),
    ]
    assert reply_of(events).tool_calls == (
        ToolCall("call_1", "weather", '{"location":"Florence"}'),
        ToolCall("call_2", "time", '{"tz":"Europe/Rome"}'),
    )


def test_parallel_whole_tool_calls() -> None:
    events = parse_chunks(ZAI_PARALLEL_CHUNKS)
    calls = reply_of(events).tool_calls
    assert [(c.id, json.loads(c.arguments)) for c in calls] == [
        ("call_a", {"location": "Florence"}),
        ("call_b", {"location": "Rome"}),
    ]
    assert events[-1] == Finish("tool_calls")


def test_interleaved_streamed_fragments_of_two_calls() -> None:
    chunks = [
        {
            "choices": [
                {
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "a", "function": {"name": "f", "arguments": ""}},
                            {"index": 1, "id": "b", "function": {"name": "g", "arguments": ""}},
                        ]
                    }
                }
            ]
        },
        {"choices": [{"delta": {"tool_calls": [{"index": 1, "function": {"arguments": '{"y"'}}]}}]},
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"x"'}}]}}]},
        {
            "choices": [
                {
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "function": {"arguments": ":1}"}},
                            {"index": 1, "function": {"arguments": ":2}"}},
                        ]
                    }
                }
            ]
        },
    ]
    calls = reply_of(parse_chunks(chunks)).tool_calls
    assert calls == (ToolCall("a", "f", '{"x":1}'), ToolCall("b", "g", '{"y":2}'))


def test_non_streamed_response_with_arguments_object() -> None:
    events = parse_chunks([ZAI_NON_STREAMED])
    assert content_of(events) == ("Need the weather.", "Checking.")
    (call,) = [e for e in events if isinstance(e, ToolCallDelta)]
    assert (call.index, call.id, call.name) == (0, "call_w", "weather")
    assert isinstance(call.arguments, str)
    assert json.loads(call.arguments) == {"location": "Firenze", "unit": "°C"}
    assert Finish("tool_calls") in events
    assert usage_of(events)[0].usage == Usage(50, 20, 10, 5)


def test_non_streamed_arguments_string_kept_verbatim() -> None:
    raw = '{"location": "Firenze"}'
    response = json.loads(json.dumps(ZAI_NON_STREAMED))
    response["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = raw
    (call,) = [e for e in parse_chunks([response]) if isinstance(e, ToolCallDelta)]
    assert call.arguments == raw


# --- errors inside the stream -------------------------------------------------------------------


def test_in_stream_error_chunk() -> None:
    parser = ChunkParser()
    assert feed(parser, {"choices": [{"delta": {"content": "partial"}}]}) == [TextDelta("partial")]
    (failure,) = feed(parser, {"error": {"code": "1302", "message": "High concurrency"}})
    assert failure == StreamFailure(
        code="1302", message="High concurrency", raw={"code": "1302", "message": "High concurrency"}
    )
    assert failure.fatal


def test_error_code_number_becomes_string() -> None:
    failure = error_from_chunk({"error": {"code": 500, "message": "boom"}}, 200)
    assert (failure.code, failure.message, failure.status) == ("500", "boom", 200)


def test_error_without_message_or_code() -> None:
    failure = error_from_chunk({"error": "plain text"})
    assert (failure.code, failure.message) == (None, "plain text")
    failure = error_from_chunk({"error": {"detail": "openai style detail"}})
    assert failure.message == "openai style detail"


def test_bare_error_object() -> None:
    failure = error_from_chunk({"code": "1211", "message": "no such model"})
    assert (failure.code, failure.message) == ("1211", "no such model")


def test_null_error_field_is_not_an_error() -> None:
    events = parse_chunks([{"error": None, "choices": [{"delta": {"content": "ok"}}]}])
    assert events == [TextDelta("ok")]


# --- usage --------------------------------------------------------------------------------------


def test_parse_usage_details_and_cost() -> None:
    assert parse_usage({"prompt_tokens": 5}) == Usage(prompt_tokens=5)
    nulls = {
        "prompt_tokens": 5,
        "completion_tokens": 7,
        "prompt_tokens_details": None,
        "completion_tokens_details": None,
    }
    assert parse_usage(nulls) == Usage(5, 7)
    assert parse_usage({"cost": 0.25}).cost_usd == 0.25
    assert parse_usage({"cost": 1}).cost_usd == 1.0
    assert parse_usage({"cost": None}).cost_usd is None
    assert parse_usage({"prompt_tokens": "12"}).prompt_tokens == 0


def test_llamacpp_cached_tokens_from_details_or_timings() -> None:
    # llama.cpp's server: cached prompt tokens in the usage details (newer) and in
    # `timings.cache_n`, a sibling of `usage` in the final chunk.
    final = {
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 240, "completion_tokens": 12, "total_tokens": 252},
        "timings": {"cache_n": 236, "prompt_n": 4, "predicted_n": 12},
    }
    out: list[Any] = []
    ChunkParser().feed(final, out)
    assert out[-1] == UsageReport(Usage(240, 12, cached_tokens=236))
    detailed = {**final["usage"], "prompt_tokens_details": {"cached_tokens": 230}}  # type: ignore[dict-item]
    assert parse_usage(detailed, final["timings"]).cached_tokens == 230
    assert parse_usage(final["usage"], {"cache_n": "x"}).cached_tokens == 0  # type: ignore[arg-type]


# --- requests -----------------------------------------------------------------------------------

ALL = sorted(PROVIDERS)
ZAI_FAMILY = {"zai", "zai-coding", "bigmodel", "bigmodel-coding", "gateway"}
CHAT_TEMPLATE = {"vllm", "sglang", "llamacpp"}
USAGE_OPTION = {
    "openrouter",
    "vllm",
    "sglang",
    "ollama",
    "llamacpp",
    "openai-compatible",
    "gateway",
}
TOOLS = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}]
USER = Message("user", "Weather in Florence?")


def req(provider: str, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("model", "glm-5")
    kwargs.setdefault("messages", [USER])
    return build_request(PROVIDERS[provider], **kwargs)


THINKING_FIELDS = ("thinking", "chat_template_kwargs", "reasoning_effort", "reasoning")


def thinking_part(body: dict[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in THINKING_FIELDS if k in body}


def expected_thinking(provider: str, on: bool) -> dict[str, Any]:
    if provider in ZAI_FAMILY or provider == "oxen":
        return {"thinking": {"type": "enabled" if on else "disabled"}}
    if provider in CHAT_TEMPLATE:
        return {"chat_template_kwargs": {"enable_thinking": on}}
    if provider == "ollama":
        return {"reasoning_effort": "high" if on else "none"}
    if provider == "openrouter":
        return {"reasoning": {"enabled": on}}
    return {}


@pytest.mark.parametrize("provider", ALL)
@pytest.mark.parametrize("on", [True, False])
def test_thinking_fields(provider: str, on: bool) -> None:
    assert thinking_part(req(provider, thinking=on)) == expected_thinking(provider, on)


@pytest.mark.parametrize("provider", ALL)
def test_thinking_default_sends_nothing(provider: str) -> None:
    assert thinking_part(req(provider)) == {}


def test_thinking_off_specific_shapes() -> None:
    assert req("zai", thinking=False)["thinking"] == {"type": "disabled"}
    assert req("vllm", thinking=False)["chat_template_kwargs"] == {"enable_thinking": False}
    assert req("ollama", thinking=False)["reasoning_effort"] == "none"
    assert req("openrouter", thinking=False)["reasoning"] == {"enabled": False}


def test_preserve_thinking_fields() -> None:
    assert req("zai", preserve_thinking=True)["thinking"] == {
        "type": "enabled",
        "clear_thinking": False,
    }
    assert req("zai", thinking=True, preserve_thinking=True)["thinking"] == {
        "type": "enabled",
        "clear_thinking": False,
    }
    assert req("sglang", thinking=True, preserve_thinking=True)["chat_template_kwargs"] == {
        "enable_thinking": True,
        "clear_thinking": False,
    }


@pytest.mark.parametrize(
    ("provider", "model", "wire"),
    [
        ("openrouter", "glm-5", "z-ai/glm-5"),
        ("openrouter", "glm-5.1", "z-ai/glm-5.1"),
        ("openrouter", "z-ai/glm-5", "z-ai/glm-5"),
        ("oxen", "glm-5", "zai-org-glm-5"),
        ("oxen", "zai-org-glm-5", "zai-org-glm-5"),
        ("zai", "glm-5", "glm-5"),
        ("vllm", "zai-org/GLM-4.7-Flash", "zai-org/GLM-4.7-Flash"),
        ("ollama", "glm-4.7-flash", "glm-4.7-flash"),
    ],
)
def test_model_id_prefix(provider: str, model: str, wire: str) -> None:
    assert req(provider, model=model)["model"] == wire


def test_extra_body_adds_server_fields_but_never_the_conversation() -> None:
    extra = {"grammar": 'root ::= "hi"', "top_k": 5, "messages": [], "stream": False}
    body = req("llamacpp", extra=extra, max_tokens=9)
    assert body["grammar"] == 'root ::= "hi"'
    assert body["top_k"] == 5
    assert body["max_tokens"] == 9
    assert body["messages"] != []
    assert body["stream"] is True


@pytest.mark.parametrize("provider", ALL)
def test_stream_options_for_usage_option_providers(provider: str) -> None:
    body = req(provider)
    assert body["stream"] is True
    if provider in USAGE_OPTION:
        assert body["stream_options"] == {"include_usage": True}
    else:
        assert "stream_options" not in body
    not_streamed = req(provider, stream=False)
    assert not_streamed["stream"] is False
    assert "stream_options" not in not_streamed


@pytest.mark.parametrize("provider", ALL)
def test_tool_stream_only_for_zai_family_with_tools(provider: str) -> None:
    with_tools = req(provider, tools=TOOLS)
    assert with_tools["tools"] == TOOLS
    assert ("tool_stream" in with_tools) == (provider in ZAI_FAMILY)
    if provider in ZAI_FAMILY:
        assert with_tools["tool_stream"] is True
    assert "tool_stream" not in req(provider)
    assert "tools" not in req(provider)
    assert "tool_stream" not in req(provider, tools=TOOLS, stream=False)


@pytest.mark.parametrize("provider", ALL)
def test_tool_choice_auto_except_ollama(provider: str) -> None:
    body = req(provider, tools=TOOLS)
    if provider == "ollama":
        assert "tool_choice" not in body
    else:
        assert body["tool_choice"] == "auto"
    assert "tool_choice" not in req(provider)


@pytest.mark.parametrize("provider", ALL)
def test_json_mode(provider: str) -> None:
    assert req(provider, json_mode=True)["response_format"] == {"type": "json_object"}
    assert "response_format" not in req(provider)


def test_sampling_fields_only_when_given() -> None:
    body = req("zai")
    assert "temperature" not in body
    assert "max_tokens" not in body
    body = req("zai", temperature=0.0, max_tokens=1024)
    assert (body["temperature"], body["max_tokens"]) == (0.0, 1024)


def test_body_is_json_serialisable_with_unicode() -> None:
    body = req("zai", messages=[Message("user", "Florence – 25 °C ☀ 你好 🙂")])
    assert json.loads(json.dumps(body, ensure_ascii=False)) == body


REASONING_BACK = {
    "zai": "reasoning_content",
    "gateway": "reasoning_content",
    "zai-coding": "reasoning_content",
    "bigmodel": "reasoning_content",
    "bigmodel-coding": "reasoning_content",
    "oxen": "reasoning_content",
    "vllm": "reasoning",
    "sglang": "reasoning_content",
    "ollama": "reasoning",
    "llamacpp": "reasoning_content",
    "openai-compatible": "reasoning_content",
    "openrouter": "reasoning_details",
}
REASONING_KEYS = {"reasoning_content", "reasoning", "reasoning_details"}

HISTORY = [
    Message("system", "Be brief."),
    Message("user", "Hi"),
    Message("assistant", "Hello!", reasoning="The user greets.\n  Keep it short."),
    Message("user", "Weather in Florence?"),
]


def _expected_reasoning(provider: str, text: str) -> dict[str, Any]:
    field = REASONING_BACK[provider]
    if field == "reasoning_details":
        return {field: [{"type": "reasoning.text", "text": text}]}
    return {field: text}


@pytest.mark.parametrize("provider", ALL)
def test_reasoning_not_sent_back_by_default(provider: str) -> None:
    messages = req(provider, messages=HISTORY)["messages"]
    assert messages[2] == {"role": "assistant", "content": "Hello!"}
    assert all(not REASONING_KEYS & m.keys() for m in messages)


@pytest.mark.parametrize("provider", ALL)
def test_reasoning_sent_back_with_preserve_thinking(provider: str) -> None:
    messages = req(provider, messages=HISTORY, preserve_thinking=True)["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[2] == {
        "role": "assistant",
        "content": "Hello!",
        **_expected_reasoning(provider, HISTORY[2].reasoning),
    }
    assert all(not REASONING_KEYS & m.keys() for i, m in enumerate(messages) if i != 2)


@pytest.mark.parametrize("provider", ALL)
def test_reasoning_sent_back_on_tool_call_turns(provider: str) -> None:
    call = ToolCall("call_1", "weather", '{"location":"Florence"}')
    history = [
        *HISTORY,
        Message("assistant", "", reasoning="Need the tool.", tool_calls=(call,)),
        Message("tool", '{"temp": 25}', tool_call_id="call_1"),
    ]
    messages = req(provider, messages=history)["messages"]
    assert messages[4] == {
        "role": "assistant",
        "content": "",
        **_expected_reasoning(provider, "Need the tool."),
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": call.arguments},
            }
        ],
    }
    assert messages[5] == {"role": "tool", "content": '{"temp": 25}', "tool_call_id": "call_1"}
    # The earlier plain turn still goes without its reasoning.
    assert not REASONING_KEYS & messages[2].keys()


def test_openrouter_reasoning_details_shape() -> None:
    message = Message("assistant", "A", reasoning="R")
    assert wire_message(message, PROVIDERS["openrouter"], with_reasoning=True) == {
        "role": "assistant",
        "content": "A",
        "reasoning_details": [{"type": "reasoning.text", "text": "R"}],
    }


def test_empty_reasoning_is_not_sent() -> None:
    message = Message("assistant", "A")
    assert wire_message(message, PROVIDERS["zai"], with_reasoning=True) == {
        "role": "assistant",
        "content": "A",
    }


def test_user_reasoning_never_sent() -> None:
    message = Message("user", "q", reasoning="not mine")
    assert wire_message(message, PROVIDERS["zai"], with_reasoning=True) == {
        "role": "user",
        "content": "q",
    }
