"""Against a real local server: llama-cpp-python's OpenAI-compatible server on 127.0.0.1, with a
tiny random model (tests/localserver/tiny_model.py). A GBNF grammar, sent through
`GLM.extra_body`, makes its output exact, so what the person gets is checked byte for byte:
streamed and not, `<think>` reasoning, multi-byte text, the model list, an answer dropped
mid-stream, a prompt over the window, through three providers' dialects."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from IPython.utils.capture import capture_output

from glm_jupyter import errors
from glm_jupyter.config.providers import PROVIDERS
from glm_jupyter.display.bundle import MIME_TYPE
from glm_jupyter.messages import Finish, Message, ReasoningDelta, TextDelta
from glm_jupyter.wire.client import AsyncClient, Client, Endpoint
from glm_jupyter.wire.dialects import build_request

from .server import ALIAS, CONTEXT, llama_server

REASONING = "Because ünïcode is 多字节."
ANSWER = "Hello, wörld ✓ 你好 🙂"
EXACT = f"<think>{REASONING}</think>{ANSWER}"
LONG = "a" * 400  # for an answer dropped after its first tokens
PROVIDERS_TRIED = ["llamacpp", "vllm", "openai-compatible"]


def grammar(text: str) -> str:
    """A GBNF grammar that allows exactly `text`."""
    return "root ::= " + json.dumps(text, ensure_ascii=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with llama_server(tmp_path_factory.mktemp("llama")) as base_url:
        yield base_url


def _payload(provider: str, text: str, *, stream: bool = True, **extra: Any) -> dict[str, Any]:
    return build_request(
        PROVIDERS[provider],
        model=ALIAS,
        messages=[Message("user", "Say it.")],
        max_tokens=200,
        stream=stream,
        extra={"grammar": grammar(text), **extra},
    )


def _answer(events: list[Any]) -> tuple[str, str, list[str]]:
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    return text, reasoning, [e.reason for e in events if isinstance(e, Finish)]


@pytest.mark.parametrize("provider", PROVIDERS_TRIED)
@pytest.mark.parametrize("stream", [True, False])
def test_exact_answer_and_reasoning(server: str, provider: str, stream: bool) -> None:
    p = PROVIDERS[provider]
    with Client(Endpoint(p, server, None)) as client:
        events = list(
            client.stream(_payload(provider, EXACT, stream=stream), think_tags=p.think_tags)
        )
    assert _answer(events) == (ANSWER, REASONING, ["stop"])


async def test_async_client_streams_the_same(server: str) -> None:
    p = PROVIDERS["llamacpp"]
    async with AsyncClient(Endpoint(p, server, None)) as client:
        events = [
            e async for e in client.stream(_payload("llamacpp", EXACT), think_tags="untagged")
        ]
    assert _answer(events) == (ANSWER, REASONING, ["stop"])


def test_answer_without_the_opening_tag(server: str) -> None:
    # A chat template that opens <think> itself leaves only the closing tag in the output.
    p = PROVIDERS["llamacpp"]
    with Client(Endpoint(p, server, None)) as client:
        events = list(
            client.stream(
                _payload("llamacpp", f"{REASONING}</think>{ANSWER}"), think_tags="untagged"
            )
        )
    assert _answer(events) == (ANSWER, REASONING, ["stop"])


def test_dropping_a_stream_closes_it_and_the_server_goes_on(server: str) -> None:
    p = PROVIDERS["llamacpp"]
    with Client(Endpoint(p, server, None)) as client:
        stream = client.stream(_payload("llamacpp", LONG), think_tags="off")
        got = ""
        for event in stream:
            if isinstance(event, TextDelta):
                got += event.text
                if len(got) >= 5:
                    break
        stream.close()  # what an interrupt does: the connection is dropped
        assert got
        assert len(got) < len(LONG)
        events = list(client.stream(_payload("llamacpp", "again"), think_tags="off"))
    assert _answer(events) == ("again", "", ["stop"])


def _over_the_window(server: str, stream: bool) -> errors.GLMError:
    payload = _payload("llamacpp", "x", stream=stream)
    payload["messages"] = [{"role": "user", "content": "word " * (2 * CONTEXT)}]
    with Client(Endpoint(PROVIDERS["llamacpp"], server, None)) as client:
        try:
            list(client.stream(payload))
        except errors.GLMError as exc:
            return exc
    raise AssertionError("a prompt over the window was answered")


def test_prompt_over_the_window_is_prompt_too_long(server: str) -> None:
    error = _over_the_window(server, stream=False)
    assert isinstance(error, errors.PromptTooLongError)
    assert "maximum context length" in str(error)
    assert "Start over with --new or send less context" in str(error)


def test_prompt_over_the_window_streamed_is_an_empty_answer_that_says_why(server: str) -> None:
    # Streamed, this server opens a 200 reply and then sends nothing at all.
    error = _over_the_window(server, stream=True)
    assert isinstance(error, errors.EmptyAnswerError)
    assert "over the model's window" in str(error)


def test_models_listing(server: str) -> None:
    listed = httpx.get(f"{server}/models").json()
    assert [m["id"] for m in listed["data"]] == [ALIAS]


# --- through the magics, as a person uses it ----------------------------------------------


def _run(shell: Any, code: str) -> Any:
    with capture_output() as captured:
        result = shell.run_cell(code)
    assert result.success, captured.stderr
    return captured


@pytest.mark.parametrize("provider", PROVIDERS_TRIED)
def test_glm_magic_against_the_real_server(shell: Any, server: str, provider: str) -> None:
    os.environ.update(GLM_PROVIDER=provider, GLM_BASE_URL=server, GLM_MODEL=ALIAS)
    shell.user_ns["g"] = grammar(EXACT)
    _run(shell, "%config GLM.extra_body = {'grammar': g}")
    captured = _run(shell, "%%glm -o ans\nSay it.")
    assert shell.user_ns["ans"] == ANSWER
    final = captured.outputs[-1].data
    response = final[MIME_TYPE]
    assert response["status"] == "done"
    assert response["content"] == ANSWER
    assert response["reasoning"] == REASONING
    assert ANSWER in final["text/markdown"]


def test_glm_models_lists_what_the_server_serves(shell: Any, server: str) -> None:
    os.environ.update(GLM_PROVIDER="llamacpp", GLM_BASE_URL=server)
    captured = _run(shell, "%glm models")
    shown = "".join(o.data.get("text/markdown", "") for o in captured.outputs)
    assert ALIAS in shown


def test_batch_against_the_real_server(shell: Any, server: str, tmp_path: Path) -> None:
    import glm_jupyter

    os.environ.update(
        GLM_PROVIDER="llamacpp", GLM_BASE_URL=server, GLM_MODEL=ALIAS, GLM_CACHE_DIR=str(tmp_path)
    )
    shell.user_ns["g"] = grammar("ok ✓")
    _run(shell, "%config GLM.extra_body = {'grammar': g}")
    result = glm_jupyter.map("Item: {item}", ["a", "b", "c"], progress=False, concurrency=1)
    assert list(result) == ["ok ✓"] * 3
