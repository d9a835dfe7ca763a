"""Bytes a streaming answer costs on the wire, over the bytes of its final output.

`stream_wire_ratio_fallback`: kernel messages during the answer, a kernel driven by
jupyter_client alone (no extension, so the fallback). `stream_wire_ratio`: websocket frames a
real JupyterLab page in Chromium receives during the answer, the extension installed (so the
delta channel). Each is the larger of two shapes streamed at 400 tokens/s, beside the naive
way (a whole bundle every update), measured in the same run by switching the kernel back to it.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from glm_jupyter.simulator import Simulator

from .common import result

SHAPES = {"long reasoning": (20_000, 2_000), "long answer": (1_000, 20_000)}
PACE = 400  # tokens a second
ASK = "%%glm\nStream the {name} shape."
# The naive way, for the baseline: no delta channel, and every update the whole bundle.
NAIVE = (
    "import glm_jupyter.display.channel as _c, glm_jupyter.display.live as _l\n"
    "_c._CHANNEL = None\n"
    "_l.REASONING_TAIL = _l.FALLBACK_RATE = 10**12\n"
    "_l.CHECKPOINT_GAP = 10**9"
)


def scenario() -> dict[str, Any]:
    """One turn per shape, matched by its name."""
    return {
        "repeat": True,
        "turns": [
            {
                "match": f"the {name} shape",
                "generate": {"reasoning_tokens": r, "content_tokens": c, "seed": 11},
                "tokens_per_second": PACE,
            }
            for name, (r, c) in SHAPES.items()
        ],
    }


def _final_bytes(outputs: list[dict[str, Any]]) -> int:
    return len(json.dumps(outputs[-1]["data"]).encode())


def fallback() -> list[dict[str, Any]]:
    """`stream_wire_ratio_fallback`: kernel messages through jupyter_client alone."""
    from tests.kernelwire import kernel

    figures: dict[str, dict[str, float]] = {}
    with Simulator(scenario()) as sim:
        for way in ("ours", "naive"):
            with kernel(sim.base_url) as wire:
                if way == "naive":
                    wire.execute(NAIVE)
                for name in SHAPES:
                    run = wire.execute(ASK.format(name=name), timeout=600)
                    final = run.of_type("update_display_data")[-1]["content"]["data"]
                    figures.setdefault(name, {})[way] = run.bytes / len(json.dumps(final).encode())
                    figures[name][f"{way}_updates"] = len(run.of_type("update_display_data"))
                    figures[name]["final_bytes"] = len(json.dumps(final).encode())
    return [_line("stream_wire_ratio_fallback", 50, figures, "kernel messages (jupyter_client)")]


def _line(
    name: str, goal: float, figures: dict[str, dict[str, float]], measured: str, **more: Any
) -> dict[str, Any]:
    worst = max(figures, key=lambda shape: figures[shape]["ours"])
    value = figures[worst]["ours"]
    naive = max(f["naive"] for f in figures.values())
    return result(
        name,
        value,
        "x",
        f"<= {goal}",
        value <= goal,
        f"naive (a whole bundle every update): {naive:.0f}x",
        measured=measured,
        shapes={shape: {k: round(v, 2) for k, v in f.items()} for shape, f in figures.items()},
        tokens_per_second=PACE,
        **more,
    )


# Collected in the page: websocket frames received, long tasks, and the renderer's paints.
PAGE_PROBE = """
window.__glm = { frames: 0, bytes: 0, longtasks: 0, paints: [] };
new PerformanceObserver(list => { window.__glm.longtasks += list.getEntries().length; })
    .observe({ type: 'longtask', buffered: true });
new PerformanceObserver(list => {
    for (const e of list.getEntries()) {
        if (e.name === 'glm-paint') window.__glm.paints.push([e.detail.content, e.duration]);
    }
}).observe({ type: 'measure', buffered: true });
"""


def browser() -> list[dict[str, Any]]:
    """`stream_wire_ratio`: websocket bytes a JupyterLab page with the extension receives."""
    from playwright.sync_api import sync_playwright

    from tests.browser.lab import (
        CHROMIUM,
        CHROMIUM_ARGS,
        PAGE_WAIT_MS,
        jupyter_server,
        run_cell,
        start_notebook,
        wait_idle,
    )

    figures: dict[str, dict[str, float]] = {}
    more: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory() as home,
        jupyter_server(Path(home), scenario()) as server,
        sync_playwright() as playwright,
    ):
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for way in ("ours", "naive"):
            page = chromium.new_page(viewport={"width": 1280, "height": 960})
            page.set_default_timeout(PAGE_WAIT_MS)
            page.add_init_script(PAGE_PROBE)
            counted = {"bytes": 0}

            def on_socket(ws: Any, counted: dict[str, int] = counted) -> None:
                ws.on(
                    "framereceived",
                    lambda frame: counted.update(bytes=counted["bytes"] + len(frame)),
                )

            page.on("websocket", on_socket)
            cells = [ASK.format(name=name) for name in SHAPES]
            start_notebook(
                page, server, f"wire-{way}.ipynb", NAIVE if way == "naive" else "1", *cells
            )
            run_cell(page, 1)
            wait_idle(page)
            for index, name in enumerate(SHAPES, start=2):
                page.evaluate("() => { window.__glm.longtasks = 0; window.__glm.paints = []; }")
                before = counted["bytes"]
                run_cell(page, index)
                page.wait_for_timeout(500)
                wait_idle(page)
                received = counted["bytes"] - before
                outputs = page.evaluate(
                    "(i) => window.jupyterapp.shell.currentWidget.content.widgets[i]"
                    ".model.outputs.toJSON()",
                    index,
                )
                final = _final_bytes(outputs)
                probe = page.evaluate("() => window.__glm")
                shape = figures.setdefault(name, {})
                shape[way] = received / final
                shape["final_bytes"] = final
                if way == "ours":
                    shape["longtasks"] = probe["longtasks"]
                    if name == "long answer":
                        more["render_ms"] = _render_times(probe["paints"])
            page.close()
        chromium.close()
    line = _line(
        "stream_wire_ratio", 5, figures, "websocket frames (Chromium, JupyterLab 4)", **more
    )
    return [line]


def _render_times(paints: list[list[float]]) -> dict[str, Any]:
    """Median paint time near 2,000 answer tokens and near 20,000 (about 5.35 chars a token)."""
    early = [d for chars, d in paints if 9_000 <= chars <= 13_000]
    late = [d for chars, d in paints if chars >= 95_000]
    if not early or not late:
        return {"paints": len(paints)}
    a, b = statistics.median(early), statistics.median(late)
    return {
        "at_2000_tokens_ms": round(a, 2),
        "at_20000_tokens_ms": round(b, 2),
        "ratio": round(b / a, 2) if a else None,
        "goal": "<= 1.5",
        "paints": len(paints),
    }
