"""Long agent runs in a real kernel (nbclient): 300 steps under budgets with compactions, an
interrupt then `%glm resume`, and a kernel restart then `%glm resume` re-running the approved
code after one click."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

from glm_jupyter.display.bundle import MIME_TYPE
from glm_jupyter.schemas import RUN_MIME
from glm_jupyter.simulator import Simulator

from .test_agent_notebook import _click_when_shown

SUMMARY = {"match": "^Write a summary of this run so far", "content": "Summary: trials ran."}


def _step(n: int, code: str | None = None) -> dict[str, Any]:
    code = code or f"print('\\n'.join(f'trial {n} fold {{k}}: 0.{n:03d}' for k in range(100)))"
    return {"tool_calls": [{"name": "run_python", "arguments": {"code": code}}]}


def _notebook(*sources: str) -> Any:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return nb


def _env(sim: Simulator, runs: Path) -> dict[str, str]:
    return dict(
        os.environ,
        GLM_PROVIDER="zai",
        GLM_BASE_URL=sim.base_url,
        GLM_API_KEY="sk-long-run-test",
        GLM_RUNS_DIR=str(runs),
    )


def _responses(cell: Any) -> list[dict[str, Any]]:
    return [o["data"][MIME_TYPE] for o in cell.outputs if MIME_TYPE in o.get("data", {})]


def _headers(cell: Any) -> list[dict[str, Any]]:
    return [o["data"][RUN_MIME] for o in cell.outputs if RUN_MIME in o.get("data", {})]


def _prompts(sim: Simulator) -> list[str]:
    return [
        json.dumps(r["body"]["messages"])
        for r in sim.requests
        if r["method"] == "POST" and isinstance(r.get("body"), dict)
    ]


def _posts(sim: Simulator) -> int:
    return sum(1 for r in sim.requests if r["method"] == "POST")


async def _run(nb: Any, env: dict[str, str], helpers: dict[int, Any] | None = None) -> None:
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True)
    async with client.async_setup_kernel(env=env):
        for index, cell in enumerate(nb.cells):
            helper = (helpers or {}).get(index)
            task = asyncio.ensure_future(helper(client)) if helper is not None else None
            await client.async_execute_cell(cell, index)
            if task is not None:
                await asyncio.wait_for(task, 30)


def test_a_300_step_run_stays_in_its_budgets_and_window(tmp_path: Path) -> None:
    turns = [SUMMARY] * 40 + [_step(n) for n in range(1, 301)]
    scenario = {"turns": [*turns, {"content": "Done: 300 trials."}]}
    nb = _notebook(
        "%load_ext glm_jupyter\n%config GLM.context_window = 30000",
        "%%glm --auto --max-steps 0 --time 20m\nRun 300 trials, one a step.",
    )
    with Simulator(scenario, keep_bodies=4) as sim:
        asyncio.run(_run(nb, _env(sim, tmp_path)))
        prompts = [r["prompt_tokens"] for r in sim.requests if "prompt_tokens" in r]
    cell = nb.cells[1]
    final = _responses(cell)[-1]
    assert final["status"] == "done", final["error"]
    assert final["content"] == "Done: 300 trials."
    assert len(final["steps"]) == 300
    assert final["compactions"], "a 30K window must compact a 300-step run"
    assert len(prompts) > 300
    assert max(prompts) <= 30000
    header = _headers(cell)[-1]
    assert (header["status"], header["step"]) == ("done", 300)
    assert header["compactions"] == len(final["compactions"])
    # Older steps are brief in the saved notebook: about a line each, not their whole output.
    saved = len(json.dumps(cell.outputs))
    assert saved < 300 * 8_000, f"{saved:,} bytes of outputs for 300 steps"
    runs = list(tmp_path.glob("*.jsonl"))
    assert len(runs) == 1
    records = [json.loads(line) for line in runs[0].read_text("utf-8").splitlines()]
    assert sum(1 for r in records if r["type"] == "step") == 300
    assert records[-1]["type"] == "end"
    assert records[-1]["status"] == "done"


async def _interrupt_when_sleeping(sim: Simulator, client: NotebookClient, count: int) -> None:
    while _posts(sim) < count:
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.5)  # the call is answered: its code sleeps
    await client.km.interrupt_kernel()


def test_interrupt_then_resume_finishes_the_run(tmp_path: Path) -> None:
    slow = _step(6, "import time\ntime.sleep(60)")
    turns = [*(_step(n) for n in range(1, 6)), slow, *(_step(n) for n in range(6, 11))]
    scenario = {"turns": [*turns, {"content": "All ten trials ran."}]}
    nb = _notebook(
        "%load_ext glm_jupyter",
        "%%glm --auto\nRun ten trials.",
        "%glm resume --auto",
    )
    with Simulator(scenario) as sim:
        helpers = {1: lambda client: _interrupt_when_sleeping(sim, client, 6)}
        asyncio.run(_run(nb, _env(sim, tmp_path), helpers))
        prompts = _prompts(sim)
    interrupted, resumed = nb.cells[1], nb.cells[2]
    assert any(o.get("ename") == "KeyboardInterrupt" for o in interrupted.outputs)
    final = _responses(resumed)[-1]
    assert final["status"] == "done", final["error"]
    assert final["content"] == "All ten trials ran."
    assert len(prompts) == len(set(prompts)), "nothing finished is asked again"
    assert [s["status"] for s in final["steps"]][5] == "interrupted"
    assert _headers(resumed)[-1]["status"] == "done"


async def _restart(client: NotebookClient) -> None:
    await client.km.restart_kernel(now=True)
    await client.kc.wait_for_ready(timeout=60)


def test_restart_then_resume_runs_the_approved_code_again(tmp_path: Path) -> None:
    made = _step(1, "trials = {'a': 0.61}\nprint('made', trials)")
    used = _step(2, "trials['b'] = 0.64\nprint(sorted(trials))")
    scenario = {"turns": [made, used, {"content": "Both trials are in `trials`."}]}
    nb = _notebook(
        "%load_ext glm_jupyter",
        "%%glm --auto --max-steps 1\nMake the trials, then add one.",
        "%load_ext glm_jupyter\nprint('trials' in dir())",  # runs after the restart
        "%glm resume",
        "print(sorted(trials))",
    )

    async def execute() -> None:
        client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True)
        async with client.async_setup_kernel(env=_env(sim, tmp_path)):
            for index, cell in enumerate(nb.cells):
                if index == 2:
                    await _restart(client)
                click = None
                if index == 3:
                    # One approval: the code again, and the rest of the run.
                    click = asyncio.ensure_future(
                        _click_when_shown(client, "Approve all for this run")
                    )
                await client.async_execute_cell(cell, index)
                if click is not None:
                    await asyncio.wait_for(click, 30)

    with Simulator(scenario) as sim:
        asyncio.run(execute())
        requests = [r for r in sim.requests if r["method"] == "POST"]
    shown = [o["data"].get("text/markdown", "") for o in nb.cells[1].outputs if "data" in o]
    assert any("Stopped after 1 steps (--max-steps 1)." in text for text in shown)
    assert "".join(o.get("text", "") for o in nb.cells[2].outputs) == "False\n"
    final = _responses(nb.cells[3])[-1]
    assert final["status"] == "done", final["error"]
    assert "".join(o.get("text", "") for o in nb.cells[4].outputs) == "['a', 'b']\n"
    told = [m for m in requests[1]["body"]["messages"] if m["role"] == "user"][-1]["content"]
    assert "The kernel restarted" in told
    assert "1 approved run_python steps ran again" in told
    assert "ran again" in _headers(nb.cells[3])[-1]["note"]
