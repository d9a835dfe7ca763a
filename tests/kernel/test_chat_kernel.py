"""The chat panel in a real kernel: widget messages between cells, the answer in the saved state."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import nbformat

from glm_jupyter.display.bundle import MIME_TYPE
from glm_jupyter.simulator import Simulator

from ..helpers import ANSWER, REASONING, SECRET

OK = {"default": {"reasoning": REASONING, "content": ANSWER}}

KERNEL_SCENARIO = {
    "turns": [
        {"match": "in sales", "reasoning": "Look at the summary.", "content": "Three sales."},
        {"match": "follow-up", "content": "Following up."},
        {"match": "Why", "content": "You divided by zero."},
    ]
}
CELLS = [
    "import glm_jupyter\nimport pandas as pd\n"
    "sales = pd.DataFrame({'units': [1, 2, 3], 'price': [10.0, 20.0, 15.0]})\n"
    "panel = glm_jupyter.chat()\npanel",
    "panel.attach_frame.value = 'sales'\npanel.send('What is in sales?')",
    "%%glm\nA follow-up from a cell.",
    "1 / 0",
    "print(panel.exchanges[-1].answer.outputs[0]['data']['text/plain'])\n"
    "print(panel.send_button.disabled, repr(panel.prompt.value))",
]


def _comm_id(client: Any, model: str, **state: Any) -> str:
    for comm_id, value in client.widget_state.items():
        if value.get("_model_name") == model and all(value.get(k) == v for k, v in state.items()):
            return str(comm_id)
    raise AssertionError(f"no {model} with {state}")


def _to_kernel(client: Any, comm_id: str, data: dict[str, Any]) -> None:
    """A widget message from the front end, as the browser sends it between cells."""
    client.kc.shell_channel.send(
        client.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
    )


async def _run(nb: Any, env: dict[str, str]) -> None:
    from nbclient import NotebookClient

    client = NotebookClient(
        nb, timeout=90, kernel_name="python3", allow_errors=True, store_widget_state=True
    )
    async with client.async_setup_kernel(env=env):
        for index, cell in enumerate(nb.cells):
            if index == 4:  # a student ticks "Attach last error", types, and presses Enter
                toggle = _comm_id(client, "ToggleButtonModel", description="Attach last error")
                prompt = _comm_id(client, "TextareaModel")
                for comm_id, value in ((toggle, True), (prompt, "Why?"), (prompt, "Why?\n")):
                    update = {"method": "update", "state": {"value": value}, "buffer_paths": []}
                    _to_kernel(client, comm_id, update)
            await client.async_execute_cell(cell, index)
        client.set_widgets_metadata()


def test_the_panel_in_a_kernel() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    with Simulator(KERNEL_SCENARIO) as sim:
        env = dict(os.environ, GLM_PROVIDER="zai", GLM_BASE_URL=sim.base_url, GLM_API_KEY=SECRET)
        asyncio.run(_run(nb, env))
        requests = sim.requests
    shown_panel = nb.cells[0].outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in shown_panel
    # The answer sent from a cell is in the saved widget state, where every front end finds it.
    states = nb.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    outputs = [
        s["state"].get("outputs") for s in states.values() if s["model_name"] == "OutputModel"
    ]
    answers = [o[0]["data"][MIME_TYPE] for o in outputs if o]
    assert [(a["status"], a["content"]) for a in answers] == [("done", "Three sales.")]
    assert "`sales`" in requests[0]["body"]["messages"][-1]["content"]
    # %%glm continues the panel's conversation.
    sent = [m["content"] for m in requests[1]["body"]["messages"] if m["role"] == "user"]
    assert sent[0].endswith("What is in sales?")
    assert sent[1] == "A follow-up from a cell."
    # The click path: widget messages between cells, the answer streamed into the panel.
    assert "ZeroDivisionError" in requests[2]["body"]["messages"][-1]["content"]
    printed = "".join(o.get("text", "") for o in nb.cells[4].outputs)
    assert printed == "You divided by zero.\nFalse ''\n"
    assert SECRET not in json.dumps(nb)
