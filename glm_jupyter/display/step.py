"""One agent step's card: the step payload (`application/vnd.glm.step+json`), its Markdown for
front ends without the labextension, and the display that is updated in place."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..schemas import STEP_MIME
from .approval import show_arguments

__all__ = ["STEP_MIME", "Step", "StepView"]


@dataclass
class Step:
    """One tool call: what was asked, what the person decided, what came back."""

    index: int
    tool: str
    arguments: str
    reasoning: str
    approval: str = "pending"
    output: str = ""
    elapsed: float = 0.0
    status: str = "waiting"  # waiting, running, done, error, rejected, interrupted

    def as_dict(self) -> dict[str, Any]:
        """The step as the response JSON carries it."""
        return {
            "index": self.index,
            "tool": self.tool,
            "arguments": self.arguments,
            "reasoning": self.reasoning,
            "approval": self.approval,
            "output": self.output,
            "elapsed_s": round(self.elapsed, 3),
            "status": self.status,
        }

    @property
    def code(self) -> str | None:
        """The code of an approved run_python step."""
        if self.tool != "run_python" or self.approval in ("pending", "rejected"):
            return None
        try:
            code = json.loads(self.arguments).get("code")
        except (ValueError, AttributeError):
            return None
        return code if isinstance(code, str) else None

    def markdown(self) -> str:
        """The step card for front ends without the labextension."""
        try:
            shown = show_arguments(self.tool, json.loads(self.arguments or "{}"))
        except ValueError:
            shown = self.arguments
        language = "python" if self.tool == "run_python" else "json"
        head = f"**Step {self.index} · `{self.tool}`** · {self.approval} · {self.status}"
        if self.elapsed:
            head += f" · {self.elapsed:.2f} s"
        body = f"{head}\n\n```{language}\n{shown}\n```\n"
        if self.output:
            body += (
                f"\n<details><summary>What the model was told</summary>\n\n```text\n"
                f"{self.output}\n```\n\n</details>\n"
            )
        return body


class StepView:
    """A step's display, updated in place (notebook) or printed (terminal)."""

    def __init__(self, step: Step, *, notebook: bool) -> None:
        self.step = step
        self.notebook = notebook
        self._handle: Any = None

    def show(self) -> None:
        """Create or update the display."""
        if not self.notebook:
            s = self.step
            if s.status in ("waiting", "running"):
                return
            print(f"[step {s.index}] {s.tool} · {s.approval} · {s.status} · {s.elapsed:.2f} s")
            return
        from IPython.display import display

        bundle = {
            STEP_MIME: self.step.as_dict(),
            "text/markdown": self.step.markdown(),
            "text/plain": f"Step {self.step.index}: {self.step.tool} ({self.step.status})",
        }
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)
