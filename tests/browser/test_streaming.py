"""Long streams in a real JupyterLab: complete and exact through the delta channel, across a
reload, in a second tab, after an interrupt, and through the fallback with the extension
disabled. The saved notebook's output is compared with the text the simulator streamed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import nbformat
import pytest

from glm_jupyter.schemas import RESPONSE_MIME
from glm_jupyter.simulator.words import generated_tokens

from .lab import (
    PAGE_WAIT_MS,
    Server,
    command,
    open_notebook,
    run_cell,
    shot,
    start_notebook,
    wait_idle,
)

LONG = "%%glm\nA long stream, please."
SLOW = "%%glm\nA slow stream, please."


def streamed(kind: str, tokens: int, seed: int) -> str:
    """The text the scenario's `generate` turn streams (tests/scenarios/browser.json)."""
    return "".join(generated_tokens(tokens, seed, kind))


LONG_REASONING, LONG_CONTENT = streamed("reasoning", 2000, 3), streamed("content", 4000, 3)
SLOW_CONTENT = streamed("content", 5000, 4)


def saved_response(server: Server, name: str, index: int, status: str = "done") -> dict[str, Any]:
    """The response payload of cell `index` in the notebook file, once it has `status`."""
    deadline = time.monotonic() + PAGE_WAIT_MS / 1000
    while True:
        nb = nbformat.read(server.root / name, as_version=4)
        outputs = nb.cells[index].get("outputs", [])
        shown = [o["data"][RESPONSE_MIME] for o in outputs if RESPONSE_MIME in o.get("data", {})]
        payload = shown[-1] if shown else None
        if payload and payload["status"] == status:
            return dict(payload)
        if time.monotonic() > deadline:
            raise AssertionError(f"cell {index} of {name} never saved as {status}: {payload}")
        time.sleep(0.3)


def save(page: Any) -> None:
    """Save the current notebook."""
    command(page, "docmanager:save")


def wait_for_answer(page: Any, chars: int) -> None:
    """Wait until the streaming answer shows at least `chars` characters."""
    page.wait_for_function(
        """(n) => { const c = document.querySelector('.jp-GLM-content');
                    return !!c && c.textContent.length >= n; }""",
        arg=chars,
    )


def test_a_long_stream_arrives_complete_and_exact(page: Any, server: Server) -> None:
    start_notebook(page, server, "long.ipynb", LONG)
    run_cell(page, 1)
    page.wait_for_selector(".jp-GLM-response[data-status=streaming]")
    wait_idle(page)
    page.wait_for_selector(".jp-GLM-response[data-status=done]")
    # Rendered block by block: many blocks, each rendered once.
    assert page.locator(".jp-GLM-content .jp-GLM-block").count() > 10
    shot(page, "stream-01-long-answer")
    save(page)
    payload = saved_response(server, "long.ipynb", 1)
    assert payload["content"] == LONG_CONTENT
    assert payload["reasoning"] == LONG_REASONING
    assert "stream_id" not in payload


def test_a_reloaded_page_catches_up_and_ends_exact(page: Any, server: Server) -> None:
    start_notebook(page, server, "reload.ipynb", SLOW)
    run_cell(page, 1)
    wait_for_answer(page, 500)
    save(page)
    saved_response(server, "reload.ipynb", 1, status="streaming")
    # A reload: the page goes away mid-stream and the notebook opens again.
    fresh = page.context.new_page()
    fresh.on("pageerror", lambda exc: page.js_errors.append(f"uncaught: {exc}"))
    page.close()
    open_notebook(fresh, server, "reload.ipynb")
    wait_for_answer(fresh, 2_000)  # following the deltas
    fresh.wait_for_selector(".jp-GLM-response[data-status=done]", timeout=PAGE_WAIT_MS)
    shot(fresh, "stream-02-reloaded")
    save(fresh)
    assert saved_response(server, "reload.ipynb", 1)["content"] == SLOW_CONTENT


def test_a_second_tab_follows_the_same_stream(page: Any, server: Server) -> None:
    frames: list[str] = []

    def received(frame: str | bytes) -> None:
        frames.append(frame if isinstance(frame, str) else frame.decode("utf-8", "replace"))

    page.on("websocket", lambda ws: ws.on("framereceived", received))
    start_notebook(page, server, "two-tabs.ipynb", SLOW)
    run_cell(page, 1)
    wait_for_answer(page, 500)
    save(page)
    saved_response(server, "two-tabs.ipynb", 1, status="streaming")
    second = page.context.new_page()
    second.on("pageerror", lambda exc: page.js_errors.append(f"uncaught: {exc}"))
    open_notebook(second, server, "two-tabs.ipynb")
    wait_for_answer(second, 2_000)
    for view in (page, second):
        view.wait_for_selector(".jp-GLM-response[data-status=done]", timeout=PAGE_WAIT_MS)
    assert (
        second.locator(".jp-GLM-content").inner_text()
        == page.locator(".jp-GLM-content").inner_text()
    )
    shot(second, "stream-03-second-tab")
    # The second page's widget manager opens a comm the kernel does not know and the kernel
    # closes it; that close reaches every page, and JupyterLab logs it as an unknown comm on
    # this one. Not ours: our comm has one fixed id on every page.
    closed = [f for f in frames if '"msg_type":"comm_close"' in f]
    page.js_errors[:] = [
        e
        for e in page.js_errors
        if not (
            e.startswith("Comm not found for comm id") and any(e.split()[-1] in f for f in closed)
        )
    ]
    save(second)
    assert saved_response(server, "two-tabs.ipynb", 1)["content"] == SLOW_CONTENT
    second.close()


def test_an_interrupt_mid_stream_keeps_what_arrived(page: Any, server: Server) -> None:
    start_notebook(page, server, "interrupt.ipynb", SLOW)
    run_cell(page, 1)
    wait_for_answer(page, 1_000)
    command(page, "notebook:interrupt-kernel")
    page.wait_for_selector(".jp-GLM-response[data-status=interrupted]")
    wait_idle(page)
    shot(page, "stream-04-interrupted")
    save(page)
    payload = saved_response(server, "interrupt.ipynb", 1, status="interrupted")
    assert len(payload["content"]) >= 1_000
    assert SLOW_CONTENT.startswith(payload["content"])
    assert payload["content"] != SLOW_CONTENT


@pytest.fixture
def extension_disabled(server: Server) -> Iterator[None]:
    """JupyterLab pages load without glm-jupyter's extension while this lasts."""
    config = server.root.parent / "config" / "labconfig"
    config.mkdir(parents=True, exist_ok=True)
    page_config = config / "page_config.json"
    page_config.write_text(json.dumps({"disabledExtensions": {"glm-jupyter-labextension": True}}))
    try:
        yield
    finally:
        page_config.unlink()


def test_without_the_extension_the_fallback_streams(
    page: Any, server: Server, extension_disabled: None
) -> None:
    start_notebook(page, server, "fallback.ipynb", LONG)
    assert page.evaluate("() => !window.jupyterapp.hasPlugin('glm-jupyter-labextension:stream')"), (
        "the extension is still enabled"
    )
    run_cell(page, 1)
    output = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-RenderedMarkdown")
    seen: set[int] = set()
    deadline = time.monotonic() + PAGE_WAIT_MS / 1000
    while len(seen) < 3:  # the Markdown grows update by update
        assert time.monotonic() < deadline, f"the Markdown did not grow: {seen}"
        text = output.first.inner_text() if output.count() else ""
        if text:
            seen.add(len(text))
        page.wait_for_timeout(200)
    wait_idle(page)
    assert page.locator(".jp-GLM-response").count() == 0
    shot(page, "stream-05-fallback")
    save(page)
    payload = saved_response(server, "fallback.ipynb", 1)
    assert payload["content"] == LONG_CONTENT
    assert payload["reasoning"] == LONG_REASONING
