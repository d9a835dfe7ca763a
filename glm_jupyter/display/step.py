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

    def as_dict(self, *, brief: bool = False) -> dict[str, Any]:
        """The step as the response JSON carries it; `brief` clips the arguments, reasoning
        and output (older steps of a long run, whose whole record is in the run log)."""
        clipped = _brief if brief else _whole
        return {
            "index": self.index,
            "tool": self.tool,
            "arguments": clipped(self.arguments, BRIEF_ARGUMENTS),
            "reasoning": clipped(self.reasoning, BRIEF_TEXT),
            "approval": self.approval,
            "output": clipped(self.output, BRIEF_TEXT),
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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        """A step back from its record (a resumed run's earlier steps)."""
        return cls(
            int(data["index"]),
            str(data["tool"]),
            str(data.get("arguments", "")),
            str(data.get("reasoning", "")),
            approval=str(data.get("approval", "pending")),
            output=str(data.get("output", "")),
            elapsed=float(data.get("elapsed_s", 0.0)),
            status=str(data.get("status", "done")),
        )

    def markdown(self, *, brief: bool = False) -> str:
        """The step card for front ends without the labextension."""
        try:
            shown = show_arguments(self.tool, json.loads(self.arguments or "{}"))
        except ValueError:
            shown = self.arguments
        if brief:
            line = _first_line(shown)
            return f"**Step {self.index} · `{self.tool}`** · {self.status} · `{line}`\n"
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


BRIEF_ARGUMENTS, BRIEF_TEXT = 2_000, 300


def _whole(text: str, limit: int) -> str:
    return text


def _brief(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[: limit - 40]}… [{len(text) - limit + 40:,} characters in the run log]"


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    line = line.replace("`", "'")
    return line if len(line) <= 80 else line[:77] + "..."


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
        self._send(brief=False)

    def collapse(self) -> None:
        """Shrink the finished card to a line (the run has moved on; the log keeps it)."""
        if self.notebook and self._handle is not None:
            self._send(brief=True)

    def _send(self, *, brief: bool) -> None:
        from IPython.display import display

        bundle = {
            STEP_MIME: self.step.as_dict(brief=brief),
            "text/markdown": self.step.markdown(brief=brief),
            "text/plain": f"Step {self.step.index}: {self.step.tool} ({self.step.status})",
        }
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)
