"""Asking the person before a tool runs: buttons in a notebook, a prompt in a terminal.

The widget approver awaits a future that the buttons resolve. The agent loop runs as a task on
the kernel's event loop, and while it awaits, ipykernel handles widget messages, so a click
arrives while the cell is still running.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Literal

Verdict = Literal["approved", "rejected", "approved all", "auto", "read-only"]


@dataclass(frozen=True)
class Decision:
    """What the person said about one call."""

    verdict: Verdict
    reason: str = ""

    @property
    def runs(self) -> bool:
        """The call may go ahead."""
        return self.verdict != "rejected"


def show_arguments(tool: str, arguments: dict[str, Any]) -> str:
    """What the person reviews: the code itself for run_python, else the arguments as JSON."""
    if tool == "run_python" and isinstance(arguments.get("code"), str):
        return str(arguments["code"])
    return json.dumps(arguments, indent=1, ensure_ascii=False)


async def wait_for_click(decided: asyncio.Future[Any]) -> Any:
    """Wait for a widget to resolve `decided`, in short sleeps.

    A short sleep in a loop is the wait that ipykernel 7 is known to serve well: widget clicks
    arrive between the sleeps, and an interrupt cancels the sleep and ends the cell cleanly
    (awaiting the bare future instead left the kernel without an execute reply).
    """
    while not decided.done():
        await asyncio.sleep(0.05)
    return decided.result()


class WidgetApprover:
    """Approve / Reject (with an optional reason) / Approve all, as ipywidgets buttons."""

    def __init__(self) -> None:
        self.pending: Any = None  # the widget on show, for tests driving its model

    async def ask(self, tool: str, arguments: dict[str, Any]) -> Decision:
        """Show the buttons under the step and wait for a click."""
        import ipywidgets as widgets
        from IPython.display import display

        decided: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        approve = widgets.Button(description="Approve", button_style="success", icon="check")
        reject = widgets.Button(description="Reject", button_style="danger", icon="times")
        every = widgets.Button(description="Approve all for this run", icon="check-double")
        reason = widgets.Text(
            placeholder="Reason for rejecting (optional, goes to the model)",
            layout=widgets.Layout(width="28em"),
        )

        def decide(decision: Decision) -> None:
            if not decided.done():
                decided.set_result(decision)

        approve.on_click(lambda _b: decide(Decision("approved")))
        every.on_click(lambda _b: decide(Decision("approved all")))
        reject.on_click(lambda _b: decide(Decision("rejected", reason.value.strip())))
        box = widgets.VBox(
            [
                widgets.HTML(f"<b>Run <code>{tool}</code>?</b>"),
                widgets.HBox(
                    [approve, reject, every, reason], layout=widgets.Layout(flex_flow="row wrap")
                ),
            ]
        )
        box.approve, box.reject, box.every, box.reason = approve, reject, every, reason
        self.pending = box
        display(box)
        try:
            decision: Decision = await wait_for_click(decided)
            return decision
        finally:
            self.pending = None
            box.close()


class TerminalApprover:
    """The same question on stdin, for terminal IPython."""

    def __init__(self, ask: Any = None) -> None:
        self._ask = ask

    def _input(self, prompt: str) -> str:
        return str((self._ask or input)(prompt))  # looked up late: tests and shells replace it

    async def ask(self, tool: str, arguments: dict[str, Any]) -> Decision:
        """Print the call and read y / n / a (and a reason after n)."""
        print(f"\n--- {tool} ---\n{show_arguments(tool, arguments)}\n---")
        while True:
            answer = self._input("Run it? [y]es / [n]o / [a]ll for this run: ").strip().lower()
            if answer in ("y", "yes"):
                return Decision("approved")
            if answer in ("a", "all"):
                return Decision("approved all")
            if answer in ("n", "no"):
                why = self._input("Reason for the model (optional): ").strip()
                return Decision("rejected", why)
