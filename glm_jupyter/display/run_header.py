"""An agent run's header: where the run stands (step, time, tokens, cost, budget left, the
model's plan), one display updated in place, and a *Stop after this step* button under it.

The payload is `application/vnd.glm.run+json`; front ends without a renderer for it (all of
them today, JupyterLab included) show the Markdown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..durations import format_duration
from ..schemas import RUN_MIME

__all__ = ["RUN_MIME", "RunHeader", "RunState"]


@dataclass
class RunState:
    """What the header shows."""

    run_id: str
    status: str = "running"  # running, stopping, done, stopped, interrupted, error
    step: int = 0
    elapsed: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float | None = None
    budget_left: dict[str, str] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)
    plan_markdown: str = ""
    compactions: int = 0
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The run payload."""
        return {
            "version": 1,
            "run_id": self.run_id,
            "status": self.status,
            "step": self.step,
            "elapsed_s": round(self.elapsed, 1),
            "usage": {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "cached_tokens": self.cached_tokens,
            },
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
            "budget_left": dict(self.budget_left),
            "plan": self.plan or {"items": [], "explanation": ""},
            "compactions": self.compactions,
            "note": self.note,
        }

    def line(self) -> str:
        """One line: status, step, time, tokens, cost."""
        parts = [self.status, f"step {self.step}", format_duration(self.elapsed)]
        tokens = f"{self.prompt_tokens:,} tokens in"
        if self.cached_tokens and self.prompt_tokens:
            tokens += f" ({self.cached_tokens / self.prompt_tokens:.0%} cached)"
        parts.append(f"{tokens}, {self.completion_tokens:,} out")
        if self.cost_usd is not None:
            digits = 4 if self.cost_usd < 1 else 2
            parts.append(f"${self.cost_usd:,.{digits}f}")
        if self.compactions:
            parts.append(f"{self.compactions} compaction{'s' * (self.compactions > 1)}")
        return " · ".join(parts)

    def markdown(self) -> str:
        """The header for front ends without a renderer for the run payload."""
        text = f"**Agent run `{self.run_id}`** · {self.line()}\n"
        if self.budget_left:
            text += f"\nBudget left: {' · '.join(self.budget_left.values())}\n"
        if self.plan_markdown:
            why = self.plan.get("explanation") if self.plan else ""
            text += f"\n**Plan**{f' · {why}' if why else ''}\n\n{self.plan_markdown}\n"
        if self.note:
            text += f"\n*{self.note}*\n"
        return text


class RunHeader:
    """The header display (notebook) or a line per change worth printing (terminal)."""

    def __init__(self, *, notebook: bool, on_stop: Callable[[], None] | None = None) -> None:
        self.notebook = notebook
        self._on_stop = on_stop
        self._handle: Any = None
        self.button: Any = None  # the Stop button, for tests driving its model
        self._printed = ("", "")

    def show(self, state: RunState) -> None:
        """Create or update the header."""
        if not self.notebook:
            # A terminal gets a line when the status or the plan changes, not every tick.
            status, plan = state.status, state.plan_markdown
            if (status, plan) != self._printed:
                if plan != self._printed[1]:
                    print(plan)
                print(f"[run {state.run_id}] {state.line()}")
                self._printed = (status, plan)
            return
        from IPython.display import display

        bundle = {
            RUN_MIME: state.as_dict(),
            "text/markdown": state.markdown(),
            "text/plain": f"Agent run {state.run_id}: {state.line()}",
        }
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
            self._show_button()
        else:
            self._handle.update(bundle, raw=True)
        if state.status not in ("running", "stopping"):
            self.close()

    def _show_button(self) -> None:
        if self._on_stop is None:
            return
        import ipywidgets as widgets
        from IPython.display import display

        button = widgets.Button(
            description="Stop after this step",
            icon="stop",
            layout=widgets.Layout(width="auto"),
            tooltip="End the run cleanly once the step under way is done (an interrupt stops it "
            "at once)",
        )

        def stop(_b: Any) -> None:
            button.disabled = True
            button.description = "Stopping after this step…"
            if self._on_stop is not None:
                self._on_stop()

        button.on_click(stop)
        self.button = button
        display(button)

    def close(self) -> None:
        """Take the button away (the run has ended)."""
        if self.button is not None:
            self.button.close()
            self.button = None
