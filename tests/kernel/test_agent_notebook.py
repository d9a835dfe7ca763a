"""Agent mode in a real kernel (nbclient): an --auto task end to end, MCP tools, a button click
while the cell runs, and interrupts while waiting for approval and while code runs."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from glm_jupyter.display.bundle import MIME_TYPE
from glm_jupyter.simulator import Simulator

SERVER = Path(__file__).parents[1] / "mcp_server.py"


def _calls(*pairs: tuple[str, Any]) -> dict[str, Any]:
    return {
        "tool_calls": [{"name": n, "arguments": a} for n, a in pairs],
        "finish_reason": "tool_calls",
    }


SCENARIO = {
    "turns": [
        {"match": "revenue", **_calls(("list_variables", {}))},
        _calls(("run_python", {"code": "revenue = sales.units * sales.price\nrevenue.sum()"})),
        {"content": "Total revenue is 95.0; it is in `revenue`."},
        {"match": "MCP", **_calls(("tests__add", {"a": 2, "b": 40}))},
        {"content": "2 + 40 = 42."},
        {"match": "approve", **_calls(("run_python", {"code": "approved = 'yes'"}))},
        {"content": "Set."},
        {"match": "slow", **_calls(("run_python", {"code": "import time\ntime.sleep(30)"}))},
        {"content": "never"},
        {"match": "wait", **_calls(("run_python", {"code": "waited = True"}))},
        {"content": "never"},
    ]
}
CELLS = [
    "%load_ext glm_jupyter\nimport pandas as pd\n"
    "sales = pd.DataFrame({'units': [1, 2, 3], 'price': [10.0, 20.0, 15.0]})",
    "%%glm --auto -o summary\nWhat is the total revenue?",
    "print(revenue.sum(), summary)",
    f"%glm mcp add tests -- {sys.executable} {SERVER}",
    "%%glm --auto\nUse the MCP add tool on 2 and 40.",
    "%%glm --agent\nSet approved, I will approve.",
    "print(approved)",
    "%%glm --auto\nRun something slow.",
    "%%glm --agent\nSet waited, but wait for me.",
    "print('waited' in dir(), 'kernel alive')",
    "%glm mcp remove tests",
]
APPROVE, SLOW, WAIT = 5, 7, 8


async def _click_when_shown(client: NotebookClient, description: str) -> None:
    """Click a button the kernel shows, as a front end would: a comm message to its model."""
    while True:
        for comm_id, state in list(client.widget_state.items()):
            if state.get("description") == description and not state.get("_clicked"):
                state["_clicked"] = True
                msg = client.kc.session.msg(
                    "comm_msg",
                    {
                        "comm_id": comm_id,
                        "data": {"method": "custom", "content": {"event": "click"}},
                    },
                )
                client.kc.shell_channel.send(msg)
                return
        await asyncio.sleep(0.05)


async def _interrupt_after(client: NotebookClient, sim: Simulator, seconds: float) -> None:
    before = len(sim.requests)
    while len(sim.requests) == before:
        await asyncio.sleep(0.05)
    await asyncio.sleep(seconds)
    await client.km.interrupt_kernel()


async def _execute(nb: Any, sim: Simulator, env: dict[str, str]) -> None:
    client = NotebookClient(nb, timeout=90, kernel_name="python3", allow_errors=True)
    async with client.async_setup_kernel(env=env):
        for index, cell in enumerate(nb.cells):
            helper = None
            if index == APPROVE:
                helper = asyncio.ensure_future(_click_when_shown(client, "Approve"))
            elif index in (SLOW, WAIT):
                helper = asyncio.ensure_future(_interrupt_after(client, sim, 1.5))
            await client.async_execute_cell(cell, index)
            if helper is not None:
                await asyncio.wait_for(helper, 10)


@pytest.fixture(scope="module")
def executed() -> tuple[Any, list[dict[str, Any]]]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    with Simulator(SCENARIO) as sim:
        env = dict(
            os.environ, GLM_PROVIDER="zai", GLM_BASE_URL=sim.base_url, GLM_API_KEY="sk-agent-test"
        )
        asyncio.run(_execute(nb, sim, env))
        return nb, sim.requests


def _text(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.outputs)


def _responses(cell: Any) -> list[dict[str, Any]]:
    return [o["data"][MIME_TYPE] for o in cell.outputs if MIME_TYPE in o.get("data", {})]


def test_auto_task_end_to_end(executed: Any) -> None:
    nb, _ = executed
    assert _text(nb.cells[2]) == "95.0 Total revenue is 95.0; it is in `revenue`.\n"
    final = _responses(nb.cells[1])[-1]
    assert [s["tool"] for s in final["steps"]] == ["list_variables", "run_python"]
    assert final["steps"][1]["output"] == "result: np.float64(95.0)"


def test_mcp_tool_through_the_magic(executed: Any) -> None:
    nb, requests = executed
    assert "tests__add" in nb.cells[3].outputs[0]["data"]["text/markdown"]
    tool_result = [m for m in requests[4]["body"]["messages"] if m["role"] == "tool"][-1]
    assert tool_result["content"] == "42"


def test_button_click_approves_while_the_cell_runs(executed: Any) -> None:
    nb, _ = executed
    assert _text(nb.cells[6]) == "yes\n"
    assert _responses(nb.cells[APPROVE])[-1]["steps"][0]["approval"] == "approved"


def test_interrupt_while_code_runs(executed: Any) -> None:
    nb, _ = executed
    assert any(o.get("ename") == "KeyboardInterrupt" for o in nb.cells[SLOW].outputs)
    steps = _responses(nb.cells[SLOW])[-1]["steps"]
    assert steps[0]["status"] == "interrupted"


def test_interrupt_while_waiting_for_approval(executed: Any) -> None:
    nb, _ = executed
    assert any(o.get("ename") == "KeyboardInterrupt" for o in nb.cells[WAIT].outputs)
    assert _text(nb.cells[WAIT + 1]) == "False kernel alive\n"
