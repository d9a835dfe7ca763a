"""Pictures in a real kernel (nbclient): `--figure` sends the plot the last cell displayed, and an
agent's figures go back to a model that sees as pictures, to a text model as a line, and under
`send_rows=False` not at all."""

from __future__ import annotations

import asyncio
import base64
import os
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from glm_jupyter.simulator import Simulator

pytest.importorskip("matplotlib")

PLOT = "plt.figure(figsize=(3, 2)); plt.plot([1, 2, 3]); plt.show()"
SCENARIO = {
    "turns": [
        {"match": "plot show", "content": "A rising line."},
        *(
            turn
            for word in ("seeing", "blind", "private")
            for turn in (
                {
                    "match": word,
                    "tool_calls": [{"name": "run_python", "arguments": {"code": PLOT}}],
                    "finish_reason": "tool_calls",
                },
                {"content": f"Plotted ({word})."},
            )
        ),
    ]
}
CELLS = [
    "%load_ext glm_jupyter\n%matplotlib inline\nimport matplotlib.pyplot as plt",
    "plt.figure(figsize=(4, 3)); plt.plot([3, 1, 2]); plt.show()",
    "%%glm -m glm-5v-turbo --figure\nWhat does the plot show?",
    "%%glm --auto -m glm-5.4 --new\nPlot it, seeing.",
    "%%glm --auto -m glm-5.3 --new\nPlot it, blind.",
    "%%glm --auto -m glm-5.4 --new --no-rows\nPlot it, private.",
]


@pytest.fixture(scope="module")
def sent() -> list[dict[str, Any]]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    with Simulator(SCENARIO) as sim:
        env = dict(os.environ, GLM_PROVIDER="zai", GLM_BASE_URL=sim.base_url, GLM_API_KEY="sk-x")
        env["GLM_CACHE_DIR"] = os.environ.get("GLM_CACHE_DIR", "")
        client = NotebookClient(nb, timeout=90, kernel_name="python3")
        asyncio.run(client.async_execute(env=env))
        return [r["body"] for r in sim.requests if r["method"] == "POST"]


def _pictures(message: dict[str, Any]) -> list[bytes]:
    content = message["content"]
    parts = content if isinstance(content, list) else []
    return [
        base64.b64decode(p["image_url"]["url"].partition(",")[2])
        for p in parts
        if p.get("type") == "image_url"
    ]


def _asked(sent: list[dict[str, Any]], word: str) -> list[dict[str, Any]]:
    """The requests of the run whose question holds `word`."""
    return [b for b in sent if any(word in str(m["content"]) for m in b["messages"][:2])]


def test_figure_sends_the_plot_the_last_cell_displayed(sent: list[dict[str, Any]]) -> None:
    (body,) = _asked(sent, "plot show")
    (picture,) = _pictures(body["messages"][-1])
    assert picture.startswith(b"\x89PNG")
    width, height = int.from_bytes(picture[16:20], "big"), int.from_bytes(picture[20:24], "big")
    assert width > height > 100  # the 4x3 figure, as the inline backend drew it


def test_an_agents_figure_goes_back_to_a_model_that_sees(sent: list[dict[str, Any]]) -> None:
    first, second = _asked(sent, "seeing")
    messages = second["messages"]
    roles = [m["role"] for m in messages[len(first["messages"]) :]]
    assert roles == ["assistant", "tool", "user"]  # the pictures follow the tool results
    tool, shown = messages[-2], messages[-1]
    assert "sent to you as figure 1 after the tool results" in tool["content"]
    assert len(_pictures(shown)) == 1
    assert "figure 1" in shown["content"][0]["text"]


def test_a_text_model_hears_of_the_figure_in_words(sent: list[dict[str, Any]]) -> None:
    _, second = _asked(sent, "blind")
    tool = second["messages"][-1]
    assert tool["role"] == "tool"
    assert "[image/png" in tool["content"]
    assert "shown to the user]" in tool["content"]
    assert not any(_pictures(m) for m in second["messages"] if m["role"] == "user")


def test_send_rows_off_withholds_the_figure(sent: list[dict[str, Any]]) -> None:
    _, second = _asked(sent, "private")
    tool = second["messages"][-1]
    assert tool["role"] == "tool"
    assert "withheld from you: GLM.send_rows is off" in tool["content"]
    assert not any(_pictures(m) for m in second["messages"] if m["role"] == "user")
