"""`%%glm` end to end over real HTTP: every dialect, provider-shaped streams, every fault."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from IPython.utils.capture import capture_output

from glm_jupyter.display.bundle import MIME_TYPE

from ..helpers import ANSWER, REASONING, SCENARIOS, SECRET, use

DIALECT_PROVIDERS = {
    "zai": "zai",
    "vllm": "vllm",
    "sglang": "sglang",
    "ollama": "ollama",
    "llamacpp": "llamacpp",
    "openrouter": "openrouter",
}


@dataclass
class Ran:
    """What one cell did: its result, captured displays, and the last response bundle."""

    result: Any
    outputs: list[Any]
    stdout: str
    stderr: str

    @property
    def bundles(self) -> list[dict[str, Any]]:
        return [o.data for o in self.outputs if MIME_TYPE in o.data]

    @property
    def final(self) -> dict[str, Any]:
        return self.bundles[-1]

    @property
    def response(self) -> dict[str, Any]:
        return self.final[MIME_TYPE]  # type: ignore[no-any-return]


def run(shell: Any, code: str) -> Ran:
    with capture_output() as captured:
        result = shell.run_cell(code)
    return Ran(result, captured.outputs, captured.stdout, captured.stderr)


def turn(**fields: Any) -> dict[str, Any]:
    return {"turns": [fields]}


@pytest.mark.parametrize("dialect", list(DIALECT_PROVIDERS))
def test_answer_reasoning_and_usage_in_every_dialect(
    shell: Any, simulator: Any, dialect: str
) -> None:
    sim = simulator(turn(reasoning=REASONING, content=ANSWER), dialect)
    use(shell, sim, DIALECT_PROVIDERS[dialect])
    ran = run(shell, "%%glm -o ans\nWhat is the weather in Florence?")
    assert ran.result.success, ran.stderr
    assert shell.user_ns["ans"] == ANSWER
    response = ran.response
    assert response["status"] == "done"
    assert response["content"] == ANSWER
    assert response["reasoning"] == REASONING
    assert response["usage"]["completion_tokens"] > 0
    markdown = ran.final["text/markdown"]
    assert "<details>" in markdown
    assert REASONING in markdown
    assert ANSWER in markdown
    assert ran.final["text/plain"] == ANSWER
    assert "(simulator)" in markdown
    # one display, updated in place: the first output creates it, the rest are updates
    assert not ran.outputs[0].update
    assert all(o.update for o in ran.outputs[1:])


def test_llamacpp_think_tags_without_opening_tag(shell: Any, simulator: Any) -> None:
    scenario = {"think_tags": "no_open", **turn(reasoning=REASONING, content=ANSWER)}
    use(shell, simulator(scenario, "llamacpp"), "llamacpp")
    ran = run(shell, "%%glm -o ans\nweather?")
    assert shell.user_ns["ans"] == ANSWER
    assert ran.response["reasoning"].strip() == REASONING


def test_held_reasoning_is_timed_from_its_first_token(shell: Any, simulator: Any) -> None:
    # Reasoning without an opening tag is held until `</think>`; its time still counts.
    turns = turn(reasoning=REASONING, content=ANSWER, tokens_per_second=40)
    use(shell, simulator({"think_tags": "no_open", **turns}, "llamacpp"), "llamacpp")
    ran = run(shell, "%%glm\nweather?")
    assert ran.response["thinking_s"] >= 0.1
    assert "Thought for 0.0 s" not in ran.final["text/markdown"]


def test_terminal_renderer_writes_nothing_for_the_held_reasoning_mark() -> None:
    import io

    from glm_jupyter.display.render import TerminalRenderer
    from glm_jupyter.messages import ReasoningDelta, TextDelta
    from glm_jupyter.reply import Reply

    out = io.StringIO()
    renderer, reply = TerminalRenderer(out), Reply("glm-4.7-flash", "llamacpp")
    renderer.event(reply, ReasoningDelta(""), True)
    renderer.event(reply, TextDelta("Hello"), True)
    assert out.getvalue() == "Hello"


def _streamed(path: Path) -> tuple[str, str]:
    """The content and reasoning a stream file carries, read straight from its lines."""
    content, reasoning = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("data: {"):
            continue
        for choice in json.loads(line[6:]).get("choices", []):
            delta = choice.get("delta", {})
            content.append(delta.get("content") or "")
            reasoning.append(delta.get("reasoning_content") or delta.get("reasoning") or "")
    return "".join(content), "".join(reasoning)


@pytest.mark.parametrize(("name", "provider"), [("zai", "zai"), ("openrouter", "openrouter")])
def test_provider_shaped_streams(shell: Any, simulator: Any, name: str, provider: str) -> None:
    sim = simulator(SCENARIOS / f"{name}_replay.json")
    use(shell, sim, provider)
    ran = run(shell, "%%glm -o ans\nWhat's the weather in Florence?")
    content, reasoning = _streamed(SCENARIOS / f"{name}_shaped.sse")
    assert shell.user_ns["ans"] == content
    assert ran.response["reasoning"] == reasoning
    assert reasoning in ran.final["text/markdown"]
    usage = ran.response["usage"]
    assert usage["cached_tokens"] > 0
    assert f"{usage['cached_tokens']:,} cached" in ran.final["text/markdown"]


def test_follow_up_remembers_and_is_served_from_cache(shell: Any, simulator: Any) -> None:
    sim = simulator({"turns": [{"content": "First."}, {"content": "Second."}]})
    use(shell, sim)
    run(shell, "%%glm\nOne?")
    ran = run(shell, "%glm And two?")
    second = sim.requests[-1]["body"]["messages"]
    assert [m["content"] for m in second[1:]] == ["One?", "First.", "And two?"]
    assert ran.response["usage"]["cached_tokens"] > 0
    run(shell, "%%glm --new\nThree?")
    assert len(sim.requests[-1]["body"]["messages"]) == 2


def test_json_answer_is_parsed_into_the_variable(shell: Any, simulator: Any) -> None:
    use(shell, simulator(turn(content='```json\n{"a": [1, 2], "b": "ü"}\n```')))
    run(shell, "%%glm --json -o facts\nfacts please")
    assert shell.user_ns["facts"] == {"a": [1, 2], "b": "ü"}


def test_flags_reach_the_request(shell: Any, simulator: Any) -> None:
    sim = simulator(turn(content="ok"))
    use(shell, sim)
    run(shell, "%%glm -m glm-5 --no-think -t 0.2 --max-tokens 50 -s 'Be terse.' --json\nhi")
    body = sim.requests[-1]["body"]
    assert body["model"] == "glm-5"
    assert body["thinking"] == {"type": "disabled"}
    assert body["temperature"] == 0.2
    assert body["max_tokens"] == 50
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"][0] == {"role": "system", "content": "Be terse."}


def test_thinking_switch_a_generic_server_lacks_is_said(shell: Any, simulator: Any) -> None:
    sim = simulator({"think_tags": True, **turn(reasoning=REASONING, content=ANSWER)}, "vllm")
    use(shell, sim, "openai-compatible")
    ran = run(shell, "%%glm --no-think\nhi")
    body = sim.requests[-1]["body"]
    assert not {"thinking", "chat_template_kwargs", "reasoning_effort", "reasoning"} & set(body)
    assert "thinking off was not sent" in ran.final["text/markdown"]
    assert ran.response["reasoning"] == REASONING  # the server kept thinking
    assert "was not sent" not in run(shell, "%%glm\nhi").final["text/markdown"]


# --- faults -------------------------------------------------------------------------------


def test_rate_limit_is_retried_transparently(shell: Any, simulator: Any) -> None:
    fault = {"kind": "http_error", "status": 429, "code": "1302", "times": 2}
    sim = simulator(turn(content=ANSWER, fault=fault))
    use(shell, sim)
    ran = run(shell, "%%glm -o ans\nhi")
    assert ran.result.success
    assert shell.user_ns["ans"] == ANSWER
    assert len(sim.requests) == 3


def test_server_error_is_retried_transparently(shell: Any, simulator: Any) -> None:
    sim = simulator(turn(content=ANSWER, fault={"kind": "http_error", "status": 503}))
    use(shell, sim)
    run(shell, "%%glm -o ans\nhi")
    assert shell.user_ns["ans"] == ANSWER


def test_rate_limit_that_persists_says_so(shell: Any, simulator: Any) -> None:
    fault = {"kind": "http_error", "status": 429, "code": "1305", "times": 10}
    use(shell, simulator(turn(content=ANSWER, fault=fault)))
    ran = run(shell, "%%glm\nhi")
    assert not ran.result.success
    assert type(ran.result.error_in_exec).__name__ == "RateLimitError"
    assert ran.response["status"] == "error"
    assert "rate limiting" in ran.response["error"]


@pytest.mark.parametrize(
    ("fault", "error", "says"),
    [
        (
            {"kind": "http_error", "status": 401, "code": "1001"},
            "AuthenticationError",
            "ZAI_API_KEY",
        ),
        ({"kind": "http_error", "status": 429, "code": "1113"}, "BalanceOrRegionError", "region"),
        ({"kind": "http_error", "status": 400, "code": "1211"}, "ModelNotFoundError", "glm-5.1"),
        ({"kind": "http_error", "status": 400, "code": "1261"}, "PromptTooLongError", "tokens"),
        ({"kind": "http_error", "status": 429, "code": "1308"}, "QuotaExceededError", "quota"),
    ],
)
def test_errors_that_are_not_retried(
    shell: Any, simulator: Any, fault: dict[str, Any], error: str, says: str
) -> None:
    sim = simulator(turn(content=ANSWER, fault=fault))
    use(shell, sim)
    ran = run(shell, "%%glm\nhi")
    assert type(ran.result.error_in_exec).__name__ == error
    assert says in str(ran.result.error_in_exec)
    assert len(sim.requests) == 1
    assert SECRET not in str(ran.result.error_in_exec) + ran.stdout + ran.stderr


def test_cut_stream_keeps_what_arrived(shell: Any, simulator: Any) -> None:
    sim = simulator(
        turn(reasoning=REASONING, content=ANSWER, fault={"kind": "cut", "after_tokens": 12})
    )
    use(shell, sim)
    ran = run(shell, "%%glm -o ans\nhi")
    assert type(ran.result.error_in_exec).__name__ == "StreamInterruptedError"
    response = ran.response
    assert response["status"] == "error"
    kept = response["reasoning"] + response["content"]
    assert kept
    assert (REASONING + ANSWER).startswith(kept.replace(" ", "")[:0] + kept[:5])
    assert shell.user_ns["ans"] == response["content"]
    assert len(sim.requests) == 1  # never retried after output started
    run(shell, "%glm history")


def test_malformed_chunk_is_skipped_with_a_note(shell: Any, simulator: Any) -> None:
    use(shell, simulator(turn(content=ANSWER, fault={"kind": "malformed", "after_tokens": 3})))
    ran = run(shell, "%%glm -o ans\nhi")
    assert ran.result.success
    assert shell.user_ns["ans"] == ANSWER
    assert "malformed" in ran.final["text/markdown"]


@pytest.mark.parametrize("sse_event", [False, True])
def test_error_inside_the_stream(shell: Any, simulator: Any, sse_event: bool) -> None:
    fault = {
        "kind": "stream_error",
        "after_tokens": 4,
        "code": "1301",
        "message": "unsafe content",
        "sse_event": sse_event,
    }
    use(shell, simulator(turn(content=ANSWER, fault=fault)))
    ran = run(shell, "%%glm -o ans\nhi")
    assert type(ran.result.error_in_exec).__name__ == "ContentFilterError"
    assert ran.response["content"]  # the tokens before the error are kept
    assert ANSWER.startswith(ran.response["content"])


def test_slow_first_byte_and_throttled_stream(shell: Any, simulator: Any) -> None:
    use(shell, simulator(turn(content=ANSWER, first_byte_delay=0.3, tokens_per_second=200)))
    ran = run(shell, "%%glm -o ans\nhi")
    assert ran.result.success
    assert shell.user_ns["ans"] == ANSWER


def test_connection_refused_is_clear(shell: Any) -> None:
    import os

    os.environ.update(GLM_PROVIDER="vllm", GLM_BASE_URL="http://127.0.0.1:9/v1")
    shell.run_line_magic("config", "GLM.max_retries = 1")
    ran = run(shell, "%%glm\nhi")
    assert type(ran.result.error_in_exec).__name__ == "ConnectionFailedError"
    assert "Is the server running" in str(ran.result.error_in_exec)


# --- input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "%%glm --bogus\nhi",
        "%%glm -t hot\nhi",
        "%%glm -o 1x\nhi",
        "%%glm\n   ",
        "%%glm extra words\nhi",
    ],
)
def test_bad_flags_raise_usage_error(shell: Any, code: str) -> None:
    ran = run(shell, code)
    assert type(ran.result.error_in_exec).__name__ == "UsageError"


def test_subcommands_and_prompts_are_told_apart(shell: Any, simulator: Any) -> None:
    sim = simulator()
    use(shell, sim)
    for name in ("reset", "history", "usage", "config", "models", "help"):
        assert run(shell, f"%glm {name}").result.success
    assert [r["method"] for r in sim.requests] == ["GET"]  # `models` read the provider's list
    sim.reset()
    run(shell, "%glm help me read a CSV")
    run(shell, "%glm -- help")
    prompts = [r["body"]["messages"][-1]["content"] for r in sim.requests]
    assert prompts == ["help me read a CSV", "help"]


def test_models_asks_a_local_server_what_it_serves(shell: Any, simulator: Any) -> None:
    sim = simulator(dialect="vllm")
    use(shell, sim, "vllm")
    text = run(shell, "%glm models").outputs[0].data["text/markdown"]
    assert text.startswith(f"**vLLM at `{sim.base_url}`** serves `zai-org/GLM-4.7-Flash`.")
    assert "| glm-5.1 |" in text  # and the price table follows
    shell.run_line_magic("config", "GLM.model = 'glm-4.7'")
    text = run(shell, "%glm models").outputs[0].data["text/markdown"]
    assert "The model in use, `glm-4.7`, is not among them" in text
    assert "%config GLM.model = 'zai-org/GLM-4.7-Flash'" in text
    sim.close()  # a server that is not running
    text = run(shell, "%glm models").outputs[0].data["text/markdown"]
    assert "did not list its models" in text
    assert "Is the server running" in text
    use(shell, simulator())  # a hosted provider: what it lists, then the table
    text = run(shell, "%glm models").outputs[0].data["text/markdown"]
    assert text.startswith("**Z.ai** lists 15 GLM model(s)")
    assert "\n\n| model |" in text


def test_config_shows_sources_and_never_the_key(shell: Any, simulator: Any) -> None:
    use(shell, simulator())
    shell.run_line_magic("config", "GLM.model = 'glm-5'")
    ran = run(shell, "%glm config")
    text = ran.outputs[0].data["text/markdown"]
    assert "config (GLM.model)" in text
    assert "env (GLM_BASE_URL)" in text
    assert SECRET not in text
    assert "***" in text


def test_usage_counts_tokens_per_model(shell: Any, simulator: Any) -> None:
    use(shell, simulator({"default": {"content": "ok"}}))
    run(shell, "%glm one")
    run(shell, "%glm -m glm-5 two")
    table = run(shell, "%glm usage").outputs[0].data["text/markdown"]
    assert "| glm-5.3 | 1 |" in table
    assert "| glm-5 | 1 |" in table


def test_terminal_renderer_streams_text_with_dimmed_reasoning(shell: Any, simulator: Any) -> None:
    use(shell, simulator(turn(reasoning=REASONING, content=ANSWER)))
    shell.run_line_magic("config", "GLM.renderer = 'auto'")  # no kernel here: terminal
    ran = run(shell, "%%glm -o ans\nweather?")
    assert ran.outputs == []
    assert f"\x1b[2m{REASONING}\x1b[0m" in ran.stdout
    assert ANSWER in ran.stdout
    assert "(simulator)" in ran.stdout
