"""Agent mode: what the loop costs per step beyond the model, and how much the cache serves."""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from .common import result

STEPS = 10


def _scenario() -> dict[str, Any]:
    # A comment tells the steps apart: the same call three times in a row would stop the run.
    steps = [
        {
            "tool_calls": [{"name": "run_python", "arguments": {"code": f"1+1  # step {i}"}}],
            "finish_reason": "tool_calls",
        }
        for i in range(1, STEPS + 1)
    ]
    return {"turns": [*steps, {"content": "Done: 1+1 is 2, ten times."}]}


def _run_once(shell: Any, sim: Any) -> tuple[float, float, Any]:
    from IPython.utils.capture import capture_output

    from glm_jupyter.ipython.extension import _ACTIVE

    magics = _ACTIVE[id(shell)]
    session = magics.session
    session.ledger.models.clear()
    sim.set_scenario(_scenario())
    sim.reset(turns=True)
    with capture_output():
        started = time.perf_counter()
        outcome = shell.run_cell("%%glm --auto --new\nAdd one and one, ten times.")
        total = time.perf_counter() - started
    assert outcome.success, outcome.error_in_exec
    run = magics.agents.last
    assert run is not None
    assert len(run.steps) == STEPS, "the run stopped early"
    (usage,) = session.ledger.models.values()  # the one model the run used (the default)
    return total, run.model_seconds, usage


def run(repeat: int = 5) -> list[dict[str, Any]]:
    """Ten `run_python("1+1")` steps against a zero-latency simulator, --auto."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from glm_jupyter.simulator import Simulator

    shell = InteractiveShell.instance()
    shell.extension_manager.load_extension("glm_jupyter")  # quietly, if not yet loaded
    shell.run_line_magic("config", "GLM.renderer = 'display'")
    overheads, bare = [], []
    with Simulator(_scenario()) as sim:
        os.environ.update(GLM_PROVIDER="zai", GLM_BASE_URL=sim.base_url, GLM_API_KEY="benchmark")
        _run_once(shell, sim)  # warm up
        for _ in range(repeat):
            total, model, totals = _run_once(shell, sim)
            overheads.append((total - model) / STEPS)
            with capture_output():
                started = time.perf_counter()
                for _ in range(STEPS):
                    shell.run_cell("1+1", store_history=False)
                bare.append((time.perf_counter() - started) / STEPS)
    step_ms = statistics.median(overheads) * 1000
    share = totals.cached_tokens / totals.prompt_tokens
    return [
        result(
            "agent_step_overhead_ms",
            step_ms,
            "ms",
            "<= 15",
            step_ms <= 15,
            f"bare shell.run_cell('1+1') {statistics.median(bare) * 1000:.2f} ms",
            steps=STEPS,
            runs=repeat,
            statistic="median of (run time - model time) / steps",
        ),
        result(
            "agent_cache_share",
            share,
            "share",
            ">= 0.9",
            share >= 0.9,
            "every turn of the run, the first (nothing cached yet) included",
            prompt_tokens=totals.prompt_tokens,
            cached_tokens=totals.cached_tokens,
            turns=totals.requests,
        ),
    ]
