"""Long agent runs: a 300-step run held under a 200K window, the cache it keeps, the client's
cost per step late in the run against early, and what a resumed run asks again."""

from __future__ import annotations

import json
import os
import signal
import statistics
import threading
import time
from typing import Any

from .common import result, simulator

STEPS = 300
MODEL = "glm-5.1"  # a 200K-token window in the catalog and the simulator alike
SUMMARY = {
    "match": "^Write a summary of this run so far",
    "content": "Summary: trials 1 to the latest ran; scores moved between 0.50 and 0.60; "
    "the best trial so far is kept in `best`.",
}


def _step(n: int) -> dict[str, Any]:
    """A turn of thought (GLM-5.1 thinks before each call) and a run_python call printing
    about 2 KB, differing from every other step's."""
    score = f"{{0.5 + (({n} * 7 + k) % 100) / 1000:.3f}}"
    code = f"print('\\n'.join(f'trial {n} fold {{k:02d}}: score {score}' for k in range(72)))"
    thought = (
        f"Trial {n - 1} moved the mean score a little; the folds disagree by a few points. "
        "Next, change one feature at a time and keep the folds fixed, so the scores compare. "
    ) * 4
    return {
        "reasoning": thought,
        "tool_calls": [{"name": "run_python", "arguments": {"code": code}}],
    }


def _long_scenario(steps: int) -> dict[str, Any]:
    turns = [SUMMARY] * 8 + [_step(n) for n in range(1, steps + 1)]
    return {"turns": [*turns, {"content": f"Done: {steps} trials ran."}]}


def _shell() -> Any:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.extension_manager.load_extension("glm_jupyter")  # quietly, if not yet loaded
    shell.run_line_magic("config", "GLM.renderer = 'display'")
    return shell


def _agents(shell: Any) -> Any:
    from glm_jupyter.ipython.extension import _ACTIVE

    return _ACTIVE[id(shell)].agents


def _one_run(shell: Any, steps: int) -> tuple[Any, float, int]:
    """One --auto run of `steps` steps against a simulator in its own process: the run, its
    wall time, and the bytes of what it displayed."""
    from IPython.utils.capture import capture_output

    with simulator(_long_scenario(steps)) as url:
        os.environ.update(GLM_PROVIDER="zai", GLM_BASE_URL=url, GLM_API_KEY="benchmark")
        with capture_output() as shown:
            started = time.perf_counter()
            outcome = shell.run_cell(
                f"%%glm --auto --new -m {MODEL} --max-steps 0\nRun the trials, one a step."
            )
            wall = time.perf_counter() - started
    assert outcome.success, outcome.error_in_exec
    run = _agents(shell).last
    assert run is not None
    assert run.turns == steps, f"the run stopped after {run.turns} steps"
    return run, wall, sum(len(json.dumps(o.data)) for o in shown.outputs)


def _step_ratio(run: Any) -> tuple[float, float]:
    """Median client CPU of steps 290-300 and of steps 1-10: from the start of one
    tool-calling turn to the start of the next, everything the client does (request, stream,
    tools, displays, run log), none of the server's work."""
    per_step = [b - a for a, b in zip(run.timeline, run.timeline[1:], strict=False)]
    return statistics.median(per_step[-10:]), statistics.median(per_step[:10])


def long_run(steps: int = STEPS, repeat: int = 5) -> list[dict[str, Any]]:
    """300-step runs (after a short one that warms the caches): the window, the cache and the
    step cost from the first, the step cost's ratio as the median over `repeat` runs."""
    shell = _shell()
    _one_run(shell, 20)
    runs = [_one_run(shell, steps) for _ in range(repeat)]
    run, wall, saved = runs[0]
    window = run.window.tokens
    prompts = [u.prompt_tokens for u in run.usages]
    cached = sum(u.cached_tokens for u in run.usages)
    peak = max(prompts) / window
    share = cached / sum(prompts)
    costs = [_step_ratio(r) for r, _, _ in runs]
    ratios = sorted(late / early for late, early in costs)
    ratio = statistics.median(ratios)
    late, early = statistics.median(c[0] for c in costs), statistics.median(c[1] for c in costs)
    # The naive way sends the whole transcript every step: each step's thought, call and result.
    naive = sum(len(st.reasoning) + len(st.arguments) + len(st.output) for st in run.steps)
    return [
        result(
            "agent_long_peak_prompt_share",
            peak,
            "share of the window",
            "<= 0.9",
            peak <= 0.9,
            f"the whole transcript, never compacted: {naive:,} characters by the end, "
            f"about {run.meter.per_char * naive / window:.2f} of the window",
            window=window,
            peak_prompt_tokens=max(prompts),
            compactions=[
                {k: c[k] for k in ("step", "kind", "tokens_before", "tokens_after")}
                for c in run.compactions
            ],
            steps=steps,
            requests=len(prompts),
            wall_s=round(wall, 1),
        ),
        result(
            "agent_long_cache_share",
            share,
            "share",
            ">= 0.8",
            share >= 0.8,
            "every request of the run, the first and those after each compaction included",
            prompt_tokens=sum(prompts),
            cached_tokens=cached,
        ),
        result(
            "agent_long_step_overhead_ratio",
            ratio,
            "ratio",
            "<= 1.5",
            ratio <= 1.5,
            f"steps 1-10: {early * 1000:.1f} ms of client CPU a step (median over runs)",
            late_ms=round(late * 1000, 2),
            early_ms=round(early * 1000, 2),
            ratios=[round(r, 3) for r in ratios],
            displayed_bytes=saved,
        ),
    ]


def _prompts(requests: list[dict[str, Any]]) -> list[str]:
    return [
        json.dumps(r["body"]["messages"], sort_keys=True)
        for r in requests
        if r["method"] == "POST" and isinstance(r.get("body"), dict)
    ]


def resume(steps: int = 30, interrupt_at: int = 12) -> list[dict[str, Any]]:
    """A 30-step run interrupted at step 12 while its code runs, then `%glm resume`."""
    from IPython.utils.capture import capture_output

    from glm_jupyter.simulator import Simulator

    shell = _shell()
    turns = [_step(n) for n in range(1, steps + 1)]
    slow = "import time\ntime.sleep(30)"
    turns[interrupt_at - 1] = {"tool_calls": [{"name": "run_python", "arguments": {"code": slow}}]}
    # The interrupted call is asked for again, as a model would, then the run goes on.
    turns.insert(interrupt_at, _step(interrupt_at))
    scenario = {"turns": [*turns, {"content": "Done."}]}
    with Simulator(scenario) as sim:
        os.environ.update(GLM_PROVIDER="zai", GLM_BASE_URL=sim.base_url, GLM_API_KEY="benchmark")
        with capture_output():
            timer = threading.Thread(target=_interrupt_when_sleeping, args=(sim, interrupt_at))
            timer.start()
            shell.run_cell(f"%%glm --auto --new -m {MODEL}\nRun the trials.")
            timer.join()
            before = len(_prompts(sim.requests))
            outcome = shell.run_cell("%glm resume --auto")
        assert outcome.success, outcome.error_in_exec
        prompts = _prompts(sim.requests)
    run = _agents(shell).last
    assert run is not None
    repeated = len(prompts) - len(set(prompts))
    # A naive resume asks the model again from the run's question: every step done so far.
    naive = before
    return [
        result(
            "agent_resume_repeated_requests",
            repeated,
            "requests",
            "== 0",
            repeated == 0,
            f"re-asking from the question repeats {naive} requests",
            requests_before_interrupt=before,
            requests_after_resume=len(prompts) - before,
            steps=len(run.steps),
        ),
    ]


def _interrupt_when_sleeping(sim: Any, step: int) -> None:
    """SIGINT, as a kernel interrupt sends, once the slow step's code is running."""
    while len([r for r in sim.requests if r["method"] == "POST"]) < step:
        time.sleep(0.02)
    time.sleep(0.5)  # the tool call is answered by now: its code is sleeping
    os.kill(os.getpid(), signal.SIGINT)


def run() -> list[dict[str, Any]]:
    """Both: the long run, then the resume."""
    return long_run() + resume()
