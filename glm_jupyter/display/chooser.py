"""Asking the person which code block to place: buttons in a notebook, a prompt in a terminal."""

from __future__ import annotations

import asyncio
from typing import Any


def _label(index: int, block: str) -> str:
    first = next((line.strip() for line in block.splitlines() if line.strip()), "")
    lines = block.count("\n") + 1
    head = first if len(first) <= 40 else first[:39] + "…"
    return f"{index}: {head} ({lines} line{'s' if lines != 1 else ''})"


class BlockChooser:
    """Buttons, one per block, plus "None"; `choice` resolves when one is clicked."""

    def __init__(self, blocks: list[str]) -> None:
        import ipywidgets as widgets

        self.choice: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.buttons = [
            widgets.Button(
                description=_label(i, block),
                tooltip=block[:500],
                layout=widgets.Layout(width="auto"),
            )
            for i, block in enumerate(blocks, 1)
        ]
        skip = widgets.Button(description="None", button_style="warning")
        for number, button in enumerate([*self.buttons, skip], 1):
            button.on_click(lambda _b, n=number: self._choose(n if n <= len(blocks) else 0))
        self.widget = widgets.VBox(
            [
                widgets.HTML(
                    "The answer has several code blocks. Which one goes in the next cell?"
                ),
                widgets.HBox([*self.buttons, skip], layout=widgets.Layout(flex_flow="row wrap")),
            ]
        )

    def _choose(self, number: int) -> None:
        if not self.choice.done():
            self.choice.set_result(number)
        self.widget.close()

    async def ask(self) -> int:
        """Show the buttons and wait (the kernel's loop stays free) for a click; 0 is "None"."""
        from IPython.display import display

        from .approval import wait_for_click

        display(self.widget)
        try:
            return int(await wait_for_click(self.choice))
        finally:
            self.widget.close()


def ask_in_terminal(blocks: list[str], ask: Any = None) -> int:
    """The same question on stdin; 0 is "none"."""
    for i, block in enumerate(blocks, 1):
        print(_label(i, block))
    while True:
        answer = str(
            (ask or input)(f"Block to place in the next cell (1-{len(blocks)}, empty for none): ")
        )
        if not answer.strip():
            return 0
        if answer.strip().isdigit() and 1 <= int(answer) <= len(blocks):
            return int(answer)
