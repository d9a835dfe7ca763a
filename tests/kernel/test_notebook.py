"""A real notebook in a real kernel (nbclient) using `%%glm` against the simulator."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from glm_jupyter.display.bundle import MIME_TYPE
from glm_jupyter.simulator import Simulator

from ..helpers import SECRET

ANSWER = "Florence is sunny – 25 °C ☀"
STORY = " ".join(f"word{i}" for i in range(400))
SCENARIO = {
    "turns": [
        {
            "match": "Florence",
            "reasoning": "Weather question; answer briefly.",
            "content": ANSWER,
            "tokens_per_second": 20,  # about a second: the kernel's loop must stay free meanwhile
        },
        {"match": "tomorrow", "content": "Tomorrow looks the same."},
        {"match": "story", "reasoning": "A long story.", "content": STORY, "tokens_per_second": 40},
        {
            "match": "there",
            "content": "x",
            "fault": {
                "kind": "http_error",
                "status": 401,
                "code": "1001",
                "message": "bad key " + SECRET,
            },
        },
        {
            "match": "again",
            "content": "x",
            "fault": {"kind": "http_error", "status": 429, "code": "1113", "message": "no balance"},
        },
    ]
}
CELLS = [
    "%load_ext glm_jupyter\n"
    "import asyncio\n"
    "ticks = []\n"
    "async def _tick():\n"
    "    while True:\n"
    "        ticks.append(1)\n"
    "        await asyncio.sleep(0.02)\n"
    "ticker = asyncio.ensure_future(_tick())",
    "%%glm -o ans\nWhat is the weather in Florence?",
    "print(repr(ans))",
    "%glm And tomorrow?",
    "ticker.cancel(); print(len(ticks))",
    "%glm config",
    "%%glm\nTell me a long story.",
    "%glm history",
    "%%glm\nAre you there?",
    "%xmode Verbose",
    "%%glm\nOnce again.",
    "print('after')",
]
STORY_CELL = 6


async def _execute(nb: Any, sim: Simulator, env: dict[str, str]) -> None:
    client = NotebookClient(nb, timeout=60, allow_errors=True, kernel_name="python3")
    async with client.async_setup_kernel(env=env):
        for index, cell in enumerate(nb.cells):
            if index != STORY_CELL:
                await client.async_execute_cell(cell, index)
                continue
            task = asyncio.ensure_future(client.async_execute_cell(cell, index))
            before = len(sim.requests)
            while len(sim.requests) == before and not task.done():
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # let some of the story stream in
            await client.km.interrupt_kernel()
            await task


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, Simulator]:
    sim = Simulator(SCENARIO)
    env = dict(os.environ, GLM_PROVIDER="zai", GLM_BASE_URL=sim.base_url, GLM_API_KEY=SECRET)
    env.pop("GLM_MODEL", None)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    try:
        asyncio.run(_execute(nb, sim, env))
    finally:
        sim.close()
    path = tmp_path_factory.mktemp("nb") / "executed.ipynb"
    nbformat.write(nb, path)
    return nb, path, sim


def _response(cell: Any) -> dict[str, Any]:
    found = [o["data"][MIME_TYPE] for o in cell.outputs if MIME_TYPE in o.get("data", {})]
    assert len(found) == 1, cell.outputs  # one display per response, updated in place
    return found[0]  # type: ignore[no-any-return]


def _markdown(cell: Any) -> str:
    return "".join(o["data"]["text/markdown"] for o in cell.outputs if "data" in o)


def test_answer_streams_into_one_display_with_a_thinking_panel(executed: Any) -> None:
    nb, _, _ = executed
    response = _response(nb.cells[1])
    assert response["status"] == "done"
    assert response["content"] == ANSWER
    assert response["reasoning"] == "Weather question; answer briefly."
    markdown = _markdown(nb.cells[1])
    assert "<details>" in markdown
    assert "Thought for" in markdown
    assert "(simulator)" in markdown


def test_out_variable_holds_the_exact_answer(executed: Any) -> None:
    nb, _, _ = executed
    assert nb.cells[2].outputs[0]["text"] == repr(ANSWER) + "\n"


def test_the_event_loop_stays_live_while_streaming(executed: Any) -> None:
    # A background task ticks every 20 ms. If the magic blocked the kernel's loop (the
    # synchronous path), it could tick only between cells, a handful of times.
    nb, _, _ = executed
    assert int(nb.cells[4].outputs[0]["text"]) >= 20


def test_follow_up_is_a_second_turn_served_from_cache(executed: Any) -> None:
    nb, _, sim = executed
    response = _response(nb.cells[3])
    assert response["content"] == "Tomorrow looks the same."
    assert response["usage"]["cached_tokens"] > 0
    follow_up = next(r for r in sim.requests if "tomorrow" in r["raw_body"])
    assert [m["role"] for m in follow_up["body"]["messages"]] == [
        "system",
        "user",
        "assistant",
        "user",
    ]


def test_interrupt_keeps_what_arrived(executed: Any) -> None:
    nb, _, _ = executed
    cell = nb.cells[STORY_CELL]
    response = _response(cell)
    assert response["status"] == "interrupted"
    assert response["content"]
    assert STORY.startswith(response["content"])
    assert len(response["content"]) < len(STORY)
    assert any(o.get("ename") == "KeyboardInterrupt" for o in cell.outputs)
    assert "Interrupted" in _markdown(cell)
    history = _markdown(nb.cells[STORY_CELL + 1])
    assert response["content"][:40] in history  # the partial answer is in the conversation


def test_interrupt_closes_the_connection(executed: Any) -> None:
    _, _, sim = executed
    story = next(r for r in sim.requests if "story" in r["raw_body"])
    assert story["outcome"] == "client closed the connection"


def test_kernel_keeps_working_after_interrupt(executed: Any) -> None:
    nb, _, _ = executed
    assert nb.cells[-1].outputs[0]["text"] == "after\n"


def test_errors_are_clear_and_short(executed: Any) -> None:
    nb, _, _ = executed
    error = next(o for o in nb.cells[8].outputs if o["output_type"] == "error")
    assert error["ename"] == "AuthenticationError"
    assert "GLM_API_KEY" in error["evalue"] or "ZAI_API_KEY" in error["evalue"]
    assert len(error["traceback"]) == 1  # the message, not a trip through httpx
    assert _response(nb.cells[8])["status"] == "error"


def test_saved_notebook_holds_no_api_key(executed: Any) -> None:
    _, path, _ = executed
    text = path.read_text(encoding="utf-8")
    assert "AuthenticationError" in text
    assert "BalanceOrRegionError" in text
    assert SECRET not in text
    assert SECRET[-12:] not in text


def test_autoawait_off_and_question_marks_in_a_kernel() -> None:
    cells = [
        "%load_ext glm_jupyter",
        "%autoawait off",
        "%%glm -o a\nhi",
        "print(a)",
        "x = 1\n%glm -o b is x one?\nprint(b)",
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    with Simulator({"default": {"content": "fine"}}) as sim:
        env = dict(os.environ, GLM_PROVIDER="vllm", GLM_BASE_URL=sim.base_url)
        NotebookClient(nb, timeout=60, kernel_name="python3").execute(env=env)
        asked = [r["body"]["messages"][-1]["content"] for r in sim.requests]
    assert asked == ["hi", "is x one?"]
    assert nb.cells[3].outputs[0]["text"] == "fine\n"
    assert nb.cells[4].outputs[-1]["text"] == "fine\n"
