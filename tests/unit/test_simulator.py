"""The GLM-protocol simulator, exercised over real loopback HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from glm_jupyter.simulator import ScenarioError, Simulator, count_tokens, load_scenario, tokenize
from glm_jupyter.simulator.tokens import Prompt, shared_tokens

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
HEADER = "x-glm-simulator"


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20) as c:
        yield c


def body(text: str = "What is 2+2?", *, stream: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "model": "glm-5.1",
        "messages": [{"role": "user", "content": text}],
        "stream": stream,
        **extra,
    }


def data_lines(text: str) -> list[str]:
    """The payload of every `data:` line, in order."""
    return [line[6:] for line in text.split("\n") if line.startswith("data: ")]


def chunks_of(text: str) -> list[dict[str, Any]]:
    return [json.loads(d) for d in data_lines(text) if d != "[DONE]"]


def post(client: httpx.Client, sim: Simulator, payload: dict[str, Any]) -> httpx.Response:
    return client.post(f"{sim.base_url}/chat/completions", json=payload)


def deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] for c in chunks if c["choices"]]


def joined(chunks: list[dict[str, Any]], field: str) -> str:
    return "".join(d.get(field) or "" for d in deltas(chunks))


# --- Z.ai dialect -------------------------------------------------------------------------


def test_zai_stream_has_the_recorded_chunk_shapes(client: httpx.Client) -> None:
    with Simulator() as sim:
        r = client.post(
            f"{sim.base_url}/chat/completions",
            json=body("Tell me a joke"),
            headers={"Authorization": "Bearer sk-very-secret"},
        )
        log = sim.requests
    assert r.status_code == 200
    assert r.headers[HEADER] == "glm-jupyter simulator"
    assert r.headers["content-type"].startswith("text/event-stream")
    assert data_lines(r.text)[-1] == "[DONE]"
    chunks = chunks_of(r.text)
    *middle, last = chunks
    for chunk in middle:
        assert set(chunk) == {"id", "created", "object", "model", "choices"}
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == "glm-5.1"
        choice = chunk["choices"][0]
        assert "finish_reason" not in choice
        assert choice["delta"]["role"] == "assistant"
        assert len(set(choice["delta"]) - {"role"}) == 1
    assert joined(chunks, "content") == "Simulated answer to: Tell me a joke"
    assert joined(chunks, "reasoning_content")
    assert last["choices"][0] == {
        "index": 0,
        "finish_reason": "stop",
        "delta": {"role": "assistant", "content": ""},
    }
    usage = last["usage"]
    reasoning = sum(1 for d in deltas(middle) if "reasoning_content" in d)
    assert usage["completion_tokens"] == len(middle)
    assert usage["completion_tokens_details"] == {"reasoning_tokens": reasoning}
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0}
    assert log[0]["headers"]["authorization"] == "Bearer ***"
    assert "sk-very-secret" not in json.dumps(log)
    assert log[0]["body"]["messages"][0]["content"] == "Tell me a joke"
    assert json.loads(log[0]["raw_body"]) == log[0]["body"]


def test_zai_tool_calls_arrive_whole_one_chunk_per_call(client: httpx.Client) -> None:
    scenario = {
        "turns": [
            {
                "reasoning": "Two lookups.",
                "tool_calls": [
                    {"name": "weather", "arguments": {"location": "Florence, Italy"}},
                    {"name": "run_python", "arguments": {"code": "1+1"}, "id": "call_fixed"},
                ],
            }
        ]
    }
    with Simulator(scenario) as sim:
        chunks = chunks_of(post(client, sim, body()).text)
    calls = [d["tool_calls"] for d in deltas(chunks) if "tool_calls" in d]
    assert [len(c) for c in calls] == [1, 1]
    first, second = calls[0][0], calls[1][0]
    assert first["index"] == 0
    assert second["index"] == 1
    assert first["id"].startswith("call_")
    assert second["id"] == "call_fixed"
    assert first["type"] == "function"
    assert first["function"]["name"] == "weather"
    assert json.loads(first["function"]["arguments"]) == {"location": "Florence, Italy"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("where", ["request", "scenario"])
def test_zai_tool_stream_sends_name_first_then_argument_fragments(
    client: httpx.Client, where: str
) -> None:
    args = {"code": "import math\nprint(math.sqrt(2) * 10)"}
    call = {"name": "run_python", "arguments": args}
    scenario: dict[str, Any] = {"turns": [{"tool_calls": [call]}]}
    extra: dict[str, Any] = {}
    if where == "scenario":
        scenario["tool_stream"] = True
    else:
        extra["tool_stream"] = True
    with Simulator(scenario) as sim:
        chunks = chunks_of(post(client, sim, body(**extra)).text)
    entries = [d["tool_calls"][0] for d in deltas(chunks) if "tool_calls" in d]
    start, *rest = entries
    assert start["index"] == 0
    assert start["type"] == "function"
    assert start["id"].startswith("call_")
    assert start["function"] == {"name": "run_python", "arguments": ""}
    assert len(rest) > 2
    assert all(set(e) == {"index", "function"} for e in rest)
    assert all(set(e["function"]) == {"arguments"} for e in rest)
    assert json.loads("".join(e["function"]["arguments"] for e in rest)) == args


# --- other dialects -----------------------------------------------------------------------

REASONING_FIELD = {
    "vllm": "reasoning",
    "sglang": "reasoning_content",
    "ollama": "reasoning",
    "llamacpp": "reasoning_content",
    "openrouter": "reasoning",
}


@pytest.mark.parametrize("dialect", sorted(REASONING_FIELD))
def test_openai_style_dialect_shapes(client: httpx.Client, dialect: str) -> None:
    turn = {"reasoning": "Add the numbers.", "content": "2 + 2 = 4."}
    with Simulator({"turns": [turn]}, dialect=dialect) as sim:
        r = post(client, sim, body(stream_options={"include_usage": True}))
    assert r.headers[HEADER] == "glm-jupyter simulator"
    assert data_lines(r.text)[-1] == "[DONE]"
    chunks = chunks_of(r.text)
    field = REASONING_FIELD[dialect]
    assert joined(chunks, field) == "Add the numbers."
    assert joined(chunks, "content") == "2 + 2 = 4."
    for chunk in chunks:
        assert chunk["system_fingerprint"] == "glm-jupyter-simulator"
        assert chunk["model"] == "glm-5.1"
    with_choices = [c for c in chunks if c["choices"]]
    # OpenRouter repeats the finishing choice in its usage chunk; the others finish once.
    finishing = 2 if dialect == "openrouter" else 1
    assert all(c["choices"][0]["finish_reason"] is None for c in with_choices[:-finishing])
    assert all(c["choices"][0]["finish_reason"] == "stop" for c in with_choices[-finishing:])
    usage = next(c["usage"] for c in chunks if "usage" in c)
    expected = count_tokens("Add the numbers.") + count_tokens("2 + 2 = 4.")
    assert usage["completion_tokens"] == expected
    if dialect in ("llamacpp", "openrouter"):
        assert "usage" in with_choices[-1]
    else:
        assert chunks[-1]["choices"] == []
    if dialect == "llamacpp":
        assert usage["prompt_tokens_details"] == {"cached_tokens": chunks[-1]["timings"]["cache_n"]}
    if dialect == "openrouter":
        assert r.text.startswith(": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\n")
        thinking = [d for d in deltas(chunks) if d.get("reasoning")]
        assert all(
            d["reasoning_details"]
            == [{"type": "reasoning.text", "text": d["reasoning"], "format": "unknown", "index": 0}]
            for d in thinking
        )
        assert isinstance(usage["cost"], float)
        assert usage["cost"] > 0
        assert usage["completion_tokens_details"] == {"reasoning_tokens": 3}


@pytest.mark.parametrize("dialect", ["vllm", "sglang", "ollama"])
def test_usage_only_when_include_usage_is_asked(client: httpx.Client, dialect: str) -> None:
    with Simulator(dialect=dialect) as sim:
        chunks = chunks_of(post(client, sim, body()).text)
    assert all("usage" not in c for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_vllm_streams_tool_name_then_fragments_and_ollama_sends_whole(
    client: httpx.Client,
) -> None:
    scenario = {"turns": [{"tool_calls": [{"name": "plot", "arguments": {"x": [1, 2, 3]}}]}]}
    with Simulator(scenario, dialect="vllm") as sim:
        entries = [
            d["tool_calls"][0]
            for d in deltas(chunks_of(post(client, sim, body()).text))
            if "tool_calls" in d
        ]
    assert entries[0]["function"] == {"name": "plot"}
    assert json.loads("".join(e["function"].get("arguments", "") for e in entries)) == {
        "x": [1, 2, 3]
    }
    with Simulator(scenario, dialect="ollama") as sim:
        entries = [
            d["tool_calls"][0]
            for d in deltas(chunks_of(post(client, sim, body()).text))
            if "tool_calls" in d
        ]
    assert len(entries) == 1
    assert json.loads(entries[0]["function"]["arguments"]) == {"x": [1, 2, 3]}


@pytest.mark.parametrize(
    ("think_tags", "expected"),
    [(True, "<think>Hmm, four.</think>4"), ("no_open", "Hmm, four.</think>4")],
)
def test_llamacpp_think_tags_put_reasoning_in_content(
    client: httpx.Client, think_tags: Any, expected: str
) -> None:
    scenario = {"think_tags": think_tags, "turns": [{"reasoning": "Hmm, four.", "content": "4"}]}
    with Simulator(scenario, dialect="llamacpp") as sim:
        chunks = chunks_of(post(client, sim, body()).text)
    assert joined(chunks, "content") == expected
    assert joined(chunks, "reasoning_content") == ""
    # The tags are tokens of their own, one chunk each.
    content_chunks = sum(1 for d in deltas(chunks) if d.get("content"))
    assert chunks[-1]["usage"]["completion_tokens"] == content_chunks


@pytest.mark.parametrize(
    ("dialect", "switch"),
    [
        ("zai", {"thinking": {"type": "disabled"}}),
        ("vllm", {"chat_template_kwargs": {"enable_thinking": False}}),
        ("sglang", {"chat_template_kwargs": {"enable_thinking": False}}),
        ("llamacpp", {"chat_template_kwargs": {"enable_thinking": False}}),
        ("ollama", {"reasoning_effort": "none"}),
        ("openrouter", {"reasoning": {"enabled": False}}),
        ("openrouter", {"reasoning": {"effort": "none"}}),
    ],
)
def test_thinking_switched_off_sends_no_reasoning(
    client: httpx.Client, dialect: str, switch: dict[str, Any]
) -> None:
    with Simulator(dialect=dialect) as sim:
        chunks = chunks_of(post(client, sim, body("hi", **switch)).text)
        log = sim.requests
    assert all("reasoning" not in d and "reasoning_content" not in d for d in deltas(chunks))
    assert joined(chunks, "content") == "Simulated answer to: hi"
    key = next(iter(switch))
    assert log[0]["body"][key] == switch[key]


@pytest.mark.parametrize(
    ("dialect", "field"), [("zai", "reasoning_content"), ("vllm", "reasoning")]
)
def test_non_streamed_completion(client: httpx.Client, dialect: str, field: str) -> None:
    turn = {
        "reasoning": "Use the tool.",
        "content": "Running it.",
        "tool_calls": [{"name": "run_python", "arguments": {"code": "1+1"}}],
    }
    with Simulator({"turns": [turn]}, dialect=dialect) as sim:
        r = post(client, sim, body(stream=False))
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers[HEADER] == "glm-jupyter simulator"
    result = r.json()
    assert result["object"] == "chat.completion"
    assert result["model"] == "glm-5.1"
    message = result["choices"][0]["message"]
    assert message["content"] == "Running it."
    assert message[field] == "Use the tool."
    call = message["tool_calls"][0]
    assert call["function"]["name"] == "run_python"
    assert json.loads(call["function"]["arguments"]) == {"code": "1+1"}
    assert result["choices"][0]["finish_reason"] == "tool_calls"
    tool_tokens = count_tokens("run_python") + count_tokens('{"code":"1+1"}')
    assert result["usage"]["completion_tokens"] == 3 + 2 + tool_tokens


# --- usage and the context cache ----------------------------------------------------------


def test_cached_tokens_grow_with_a_shared_prefix(client: httpx.Client) -> None:
    system = {"role": "system", "content": "You are a careful assistant. " * 20}
    opening = [system, {"role": "user", "content": "Q1"}]
    first = {"model": "glm-5.1", "stream": True, "messages": opening}
    second = {
        "model": "glm-5.1",
        "stream": True,
        "messages": [
            *opening,
            {"role": "assistant", "content": "A1", "reasoning_content": "thinking"},
            {"role": "user", "content": "Q2"},
        ],
    }
    with Simulator() as sim:
        u1 = chunks_of(post(client, sim, first).text)[-1]["usage"]
        u2 = chunks_of(post(client, sim, second).text)[-1]["usage"]
        sim.reset()
        u3 = chunks_of(post(client, sim, second).text)[-1]["usage"]
    assert u1["prompt_tokens_details"]["cached_tokens"] == 0
    assert u2["prompt_tokens"] > u1["prompt_tokens"]
    assert u2["prompt_tokens_details"]["cached_tokens"] == u1["prompt_tokens"]
    assert u3["prompt_tokens_details"]["cached_tokens"] == 0


def test_usage_override_and_generate(client: httpx.Client) -> None:
    scenario = {
        "turns": [
            {"generate": {"reasoning_tokens": 7, "content_tokens": 30, "seed": 3}},
            {"generate": {"reasoning_tokens": 7, "content_tokens": 30, "seed": 3}},
            {"content": "x", "usage": {"prompt_tokens": 173, "cached_tokens": 172}},
        ]
    }
    with Simulator(scenario) as sim:
        a = chunks_of(post(client, sim, body()).text)
        b = chunks_of(post(client, sim, body()).text)
        c = chunks_of(post(client, sim, body()).text)
    assert joined(a, "content") == joined(b, "content")
    assert len(tokenize(joined(a, "content"))) == 30
    assert a[-1]["usage"]["completion_tokens"] == 37
    assert a[-1]["usage"]["completion_tokens_details"]["reasoning_tokens"] == 7
    usage = c[-1]["usage"]
    assert usage["prompt_tokens"] == 173
    assert usage["prompt_tokens_details"]["cached_tokens"] == 172
    assert usage["total_tokens"] == 174


def test_large_generated_stream_is_complete(client: httpx.Client) -> None:
    scenario = {"turns": [{"generate": {"content_tokens": 200_000, "seed": 1}}]}
    with Simulator(scenario) as sim:
        raw = post(client, sim, body()).content
    assert raw.count(b"data: ") == 200_000 + 2
    assert raw.endswith(b"data: [DONE]\n\n")


# --- scripting ----------------------------------------------------------------------------


def test_turns_are_served_in_order_with_match_and_default(client: httpx.Client) -> None:
    scenario = {
        "turns": [
            {"content": "first"},
            {"match": "weather", "content": "sunny"},
            {"content": "second"},
        ],
        "default": {"content": "out of script"},
    }
    with Simulator(scenario) as sim:
        answers = [
            joined(chunks_of(post(client, sim, body(q)).text), "content")
            for q in ["hello", "what is the weather?", "more", "again", "weather again"]
        ]
    assert answers == ["first", "sunny", "second", "out of script", "out of script"]


def test_repeat_serves_matches_every_time_and_continues_tool_calls(client: httpx.Client) -> None:
    call = {"name": "run_python", "arguments": {"code": "1+1"}}
    scenario = {
        "repeat": True,
        "turns": [
            {"match": "sum", "tool_calls": [call], "finish_reason": "tool_calls"},
            {"content": "It is 2."},
            {"match": "weather", "content": "sunny"},
        ],
        "default": {"content": "unscripted"},
    }
    tool_result = {"role": "tool", "tool_call_id": "c1", "content": "2"}

    def ask(text: str, *, after_tool: bool = False) -> str:
        payload = body(text)
        if after_tool:
            payload["messages"].append(tool_result)
        chunks = chunks_of(post(client, sim, payload).text)
        calls = [c for d in deltas(chunks) for c in d.get("tool_calls", [])]
        return "tool call" if calls else joined(chunks, "content")

    with Simulator(scenario) as sim:
        answers = [
            ask("weather?"),
            ask("weather again?"),
            ask("the sum please"),
            ask("the sum please", after_tool=True),
            ask("the sum please"),  # a re-run: the same chain again
            ask("the sum please", after_tool=True),
            ask("something new"),  # the unmatched continuation is not served on its own
        ]
    assert answers == [
        "sunny",
        "sunny",
        "tool call",
        "It is 2.",
        "tool call",
        "It is 2.",
        "unscripted",
    ]


def test_set_scenario_and_scenario_file(client: httpx.Client, tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"dialect": "vllm", "turns": [{"content": "from file"}]}))
    with Simulator() as sim:
        sim.set_scenario(path)
        assert sim.dialect == "vllm"
        chunks = chunks_of(post(client, sim, body()).text)
    assert joined(chunks, "content") == "from file"
    assert "system_fingerprint" in chunks[0]


# --- faults -------------------------------------------------------------------------------


def test_http_error_fires_times_then_the_turn_answers(client: httpx.Client) -> None:
    fault = {"kind": "http_error", "status": 429, "code": "1302", "times": 2, "retry_after": 1}
    with Simulator({"turns": [{"content": "finally", "fault": fault}]}) as sim:
        responses = [post(client, sim, body()) for _ in range(3)]
    for r in responses[:2]:
        assert r.status_code == 429
        assert r.headers["retry-after"] == "1"
        assert r.headers[HEADER] == "glm-jupyter simulator"
        assert r.json()["error"]["code"] == "1302"
        assert isinstance(r.json()["error"]["message"], str)
    assert responses[2].status_code == 200
    assert joined(chunks_of(responses[2].text), "content") == "finally"


def test_server_error_without_code_sends_plain_error(client: httpx.Client) -> None:
    fault = {"kind": "http_error", "status": 503, "message": "overloaded"}
    with Simulator({"turns": [{"content": "x", "fault": fault}]}) as sim:
        r = post(client, sim, body(stream=False))
    assert r.status_code == 503
    assert r.json() == {"error": {"message": "overloaded"}}
    assert "retry-after" not in r.headers


def test_cut_drops_the_connection_then_a_rerun_gets_everything(client: httpx.Client) -> None:
    text = "one two three four five six seven eight"
    fault = {"kind": "cut", "after_tokens": 3}
    with Simulator({"turns": [{"content": text, "fault": fault}]}) as sim:
        lines: list[str] = []
        with (
            pytest.raises(httpx.RemoteProtocolError),
            client.stream("POST", f"{sim.base_url}/chat/completions", json=body()) as r,
        ):
            lines.extend(r.iter_lines())
        assert len(data_lines("\n".join(lines))) == 3
        assert "[DONE]" not in lines
        again = post(client, sim, body())
    assert joined(chunks_of(again.text), "content") == text


def test_malformed_line_then_the_stream_goes_on(client: httpx.Client) -> None:
    text = "alpha beta gamma delta"
    fault = {"kind": "malformed", "after_tokens": 2}
    with Simulator({"turns": [{"content": text, "fault": fault}]}) as sim:
        r = post(client, sim, body())
    payloads = data_lines(r.text)
    broken = [p for p in payloads if p.startswith('{"choices": [{"delta": {"content": ')]
    assert len(broken) == 1
    assert payloads.index(broken[0]) == 2
    assert payloads[-1] == "[DONE]"
    good = [json.loads(p) for p in payloads if p not in broken and p != "[DONE]"]
    assert joined(good, "content") == text


@pytest.mark.parametrize("sse_event", [False, True])
def test_stream_error_sends_an_error_frame_and_ends(client: httpx.Client, sse_event: bool) -> None:
    fault = {
        "kind": "stream_error",
        "after_tokens": 2,
        "code": "1301",
        "message": "unsafe",
        "sse_event": sse_event,
    }
    with Simulator({"turns": [{"content": "a b c d", "fault": fault}]}) as sim:
        r = post(client, sim, body())
    payloads = data_lines(r.text)
    assert json.loads(payloads[-1]) == {"error": {"code": "1301", "message": "unsafe"}}
    assert len(payloads) == 3
    assert ("event: error\ndata: " in r.text) is sse_event


def test_non_streamed_faults(client: httpx.Client) -> None:
    turns = [
        {"content": "whole answer", "fault": {"kind": "cut"}},
        {"content": "whole answer", "fault": {"kind": "malformed"}},
    ]
    with Simulator({"turns": turns}) as sim:
        with pytest.raises(httpx.RemoteProtocolError):
            post(client, sim, body(stream=False))
        assert post(client, sim, body(stream=False)).json()["choices"][0]["message"]["content"]
        bad = post(client, sim, body(stream=False))
        with pytest.raises(json.JSONDecodeError):
            json.loads(bad.text)


def test_first_byte_delay_holds_back_the_headers(client: httpx.Client) -> None:
    with Simulator({"turns": [{"content": "late", "first_byte_delay": 0.4}]}) as sim:
        start = time.monotonic()
        r = post(client, sim, body())
        elapsed = time.monotonic() - start
    assert r.status_code == 200
    assert elapsed >= 0.4


def test_tokens_per_second_spaces_out_the_tokens(client: httpx.Client) -> None:
    text = " ".join(["tok"] * 11)
    with Simulator({"turns": [{"content": text, "tokens_per_second": 50}]}) as sim:
        arrivals = []
        start = time.monotonic()
        with client.stream("POST", f"{sim.base_url}/chat/completions", json=body()) as r:
            for line in r.iter_lines():
                if line.startswith("data: {"):
                    arrivals.append(time.monotonic())
    tokens = arrivals[:-1]
    assert len(tokens) == 11
    assert arrivals == sorted(arrivals)
    # Token i leaves the server no earlier than i/50 s after the first one: a lower bound only.
    assert all(t - start >= i / 50 - 1e-3 for i, t in enumerate(tokens))


# --- replay -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["zai", "openrouter"])
def test_replay_sends_the_file_bytes_exactly(client: httpx.Client, name: str) -> None:
    shaped = (SCENARIOS / f"{name}_shaped.sse").read_bytes()
    with Simulator(SCENARIOS / f"{name}_replay.json") as sim:
        assert sim.dialect == name
        r = post(client, sim, body())
        prompt_log = sim.requests
    assert r.content == shaped
    assert r.headers[HEADER] == "glm-jupyter simulator"
    assert len(prompt_log) == 1
    assert "☀" in r.text
    assert "usage" in chunks_of(r.text)[-1]


def test_replay_at_a_line_rate(client: httpx.Client) -> None:
    stream_file = SCENARIOS / "zai_shaped.sse"
    lines = [ln for ln in stream_file.read_text(encoding="utf-8").split("\n") if ln]
    scenario = {"turns": [{"replay": str(stream_file), "tokens_per_second": 100}]}
    with Simulator(scenario) as sim:
        start = time.monotonic()
        r = post(client, sim, body())
        elapsed = time.monotonic() - start
    assert r.content == stream_file.read_bytes()
    assert elapsed >= (len(lines) - 1) / 100 - 1e-3


# --- routes, log and concurrency ----------------------------------------------------------


def test_routes_models_and_control_endpoints(client: httpx.Client) -> None:
    with Simulator(dialect="openrouter") as sim:
        assert sim.base_url == f"http://127.0.0.1:{sim.port}/v1"
        zai_path = client.post(f"{sim.url}/api/paas/v4/chat/completions", json=body("x"))
        assert zai_path.status_code == 200
        models = client.get(f"{sim.base_url}/models").json()
        # OpenRouter's listing: windows and prices per token, no OpenAI `object` wrapper.
        assert "object" not in models
        entry = {m["id"]: m for m in models["data"]}["z-ai/glm-5.3"]
        assert entry["context_length"] == 1_048_576
        assert entry["pricing"]["prompt"] == "0.0000014"
        assert client.get(f"{sim.url}/nowhere").status_code == 404
        log = client.get(f"{sim.url}/_simulator/requests").json()
        assert [e["path"] for e in log] == ["/api/paas/v4/chat/completions", "/v1/models"]
        assert client.post(f"{sim.url}/_simulator/reset").json() == {"ok": True}
        assert sim.requests == []
        with Simulator() as zsim:  # Z.ai's listing: ids only
            zai = client.get(f"{zsim.base_url}/models").json()
        assert zai["object"] == "list"
        assert {m["owned_by"] for m in zai["data"]} == {"glm-jupyter-simulator"}
        assert "context_length" not in zai["data"][0]
    with Simulator(dialect="vllm") as local:
        served = client.get(f"{local.base_url}/models").json()["data"]
        assert [m["id"] for m in served] == ["zai-org/GLM-4.7-Flash"]  # the one it was started with


def test_bad_request_bodies_get_a_string_code(client: httpx.Client) -> None:
    with Simulator() as sim:
        url = f"{sim.base_url}/chat/completions"
        not_json = client.post(url, content=b"{nope", headers={"content-type": "application/json"})
        no_messages = client.post(url, json={"model": "glm-5.1"})
        assert sim.requests[0]["body"] is None
        assert sim.requests[0]["raw_body"] == "{nope"
    assert not_json.status_code == 400
    assert not_json.json()["error"]["code"] == "1210"
    assert no_messages.json()["error"]["code"] == "1214"


def test_concurrent_requests_are_all_served_and_logged() -> None:
    results: list[int] = []
    with Simulator() as sim:

        def ask(i: int) -> None:
            with httpx.Client(timeout=20) as c:
                results.append(post(c, sim, body(f"question {i}")).status_code)

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(sim.requests) == 8
    assert results == [200] * 8


# --- command line -------------------------------------------------------------------------


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in [str(ROOT), os.environ.get("PYTHONPATH", "")] if p)
    return {**os.environ, "PYTHONPATH": path}


def test_cli_serves_until_terminated(client: httpx.Client) -> None:
    command = [
        sys.executable,
        "-m",
        "glm_jupyter.simulator",
        "--port",
        "0",
        "--dialect",
        "zai",
        "--script",
        str(SCENARIOS / "zai_replay.json"),
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    ) as proc:
        try:
            assert proc.stdout is not None
            banner = proc.stdout.readline()
            assert banner.startswith("GLM protocol simulator (not a real model) on http://")
            assert banner.rstrip().endswith(" dialect=zai")
            base = next(word for word in banner.split() if word.startswith("http"))
            r = client.post(f"{base}/chat/completions", json=body("from the cli"))
            assert r.content == (SCENARIOS / "zai_shaped.sse").read_bytes()
            root = base.rsplit("/", 1)[0]
            log = client.get(f"{root}/_simulator/requests").json()
            assert log[0]["body"]["messages"][0]["content"] == "from the cli"
        finally:
            proc.terminate()
            code = proc.wait(timeout=10)
    assert code == 0


def test_cli_rejects_a_bad_script(tmp_path: Path) -> None:
    script = tmp_path / "bad.json"
    script.write_text(json.dumps({"turns": [{"content": 5}]}))
    done = subprocess.run(
        [sys.executable, "-m", "glm_jupyter.simulator", "--script", str(script)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "turns[0].content" in done.stderr
    assert done.stdout == ""


# --- validation and tokens ----------------------------------------------------------------


def _turn(**turn: Any) -> dict[str, Any]:
    return {"turns": [turn]}


def _fault(**fault: Any) -> dict[str, Any]:
    return _turn(content="a", fault=fault)


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ({"turns": {}}, "turns: must be a list"),
        ({"turn": []}, "unknown key 'turn'"),
        ({"dialect": "openai"}, "dialect: must be one of"),
        ({"turns": [{}]}, "turns[0]: says nothing"),
        (_turn(content="a", colour=1), "turns[0]: unknown key 'colour'"),
        ({"turns": [{"content": "a"}, {"match": "(", "content": "b"}]}, "turns[1].match: is not"),
        (_fault(kind="boom"), "turns[0].fault.kind"),
        (_fault(kind="http_error"), "needs 'status'"),
        (_fault(kind="http_error", status=429, code=1302), "turns[0].fault.code: must be a string"),
        (_fault(kind="http_error", status=200), "fault.status: must be an integer from 400"),
        (_fault(kind="cut", after_tokens=-1), "turns[0].fault.after_tokens"),
        (_fault(kind="cut", status=500), "unknown key 'status'"),
        (_turn(generate={"content_tokens": "many"}), "generate.content_tokens"),
        (_turn(generate={}, content="x"), "cannot be combined"),
        (_turn(replay="x.sse", content="x"), "'replay' cannot be combined with 'content'"),
        (_turn(replay="x.sse", fault={"kind": "cut"}), "only takes an http_error fault"),
        (_turn(replay="does-not-exist.sse"), "turns[0].replay: cannot read"),
        (_turn(tool_calls=[{"arguments": {}}]), "tool_calls[0]: a tool call needs 'name'"),
        (_turn(tool_calls=[{"name": "f", "arguments": 3}]), "tool_calls[0].arguments"),
        (_turn(content="a", usage={"tokens": 1}), "usage: unknown key 'tokens'"),
        (_turn(content="a", tokens_per_second=-1), "turns[0].tokens_per_second"),
        ({"default": {"match": "x", "content": "a"}}, "default: unknown key 'match'"),
        ({"think_tags": "yes"}, "think_tags"),
    ],
)
def test_scenario_validation_names_the_bad_key(scenario: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario)
    assert message in str(info.value)


def test_scenario_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ScenarioError, match=r"broken\.json: not valid JSON"):
        load_scenario(path)
    path.write_text(json.dumps({"turns": [{"content": "a", "first_byte_delay": "soon"}]}))
    with pytest.raises(ScenarioError, match=r"broken\.json: turns\[0\]\.first_byte_delay"):
        Simulator(path)


def test_tokenizer_rule() -> None:
    assert tokenize("Hello  world\n\nsupercalifragilistic ") == [
        "Hello",
        "  world",
        "\n\nsupercal",
        "ifragili",
        "stic",
        " ",
    ]


@given(st.text())
def test_tokens_concatenate_back_to_the_text(text: str) -> None:
    tokens = tokenize(text)
    assert "".join(tokens) == text
    assert all(len(t.strip()) <= 8 for t in tokens)


@given(st.text(alphabet="ab \n", max_size=40), st.text(alphabet="ab \n", max_size=40))
def test_shared_tokens_is_the_longest_common_token_prefix(a: str, b: str) -> None:
    ta, tb = tokenize(a), tokenize(b)
    naive = 0
    while naive < min(len(ta), len(tb)) and ta[naive] == tb[naive]:
        naive += 1
    assert shared_tokens(Prompt.of(a), Prompt.of(b)) == naive


# --- OpenRouter's own habits ----------------------------------------------------------------


def test_openrouter_pads_non_streamed_bodies(client: httpx.Client) -> None:
    turn = {"reasoning": "Think.", "content": "Four."}
    with Simulator({"turns": [turn]}, dialect="openrouter") as sim:
        r = post(client, sim, body(stream=False))
    assert r.content.startswith(b"\n" * 22)
    assert not r.content.lstrip().startswith(b"\n")
    answer = json.loads(r.content)  # json.loads skips the padding, as a client must
    assert answer["choices"][0]["message"]["content"] == "Four."
    assert answer["choices"][0]["message"]["reasoning_details"][0]["text"] == "Think."


def test_openrouter_tool_call_deltas_carry_null_content(client: httpx.Client) -> None:
    turn = {"tool_calls": [{"name": "add", "arguments": {"a": 1}}], "finish_reason": "tool_calls"}
    with Simulator({"turns": [turn]}, dialect="openrouter") as sim:
        chunks = chunks_of(post(client, sim, body()).text)
    calls = [d for d in deltas(chunks) if "tool_calls" in d]
    assert calls
    assert all(d["content"] is None and d["role"] == "assistant" for d in calls)


def test_closing_ends_the_kept_alive_connections() -> None:
    # A server that exits takes its connections with it: a client's pooled connection must not
    # go on being answered by a stopped simulator (a notebook stops one to show the error).
    sim = Simulator({"default": {"content": "Hi."}})
    with httpx.Client() as client:
        body = {"model": "glm-5", "messages": [{"role": "user", "content": "hi"}]}
        url = sim.base_url + "/chat/completions"
        assert client.post(url, json=body).status_code == 200
        sim.close()
        with pytest.raises(httpx.TransportError):
            client.post(url, json=body)
