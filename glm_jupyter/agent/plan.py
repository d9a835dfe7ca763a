"""`update_plan`: the model's short checklist of what it is doing and what is left.

The tool only records the list (it reads and writes nothing in the kernel, so it runs without
asking); the run's header shows it, and the run log keeps every version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ToolError
from .tools import Tool

STATUSES = ("pending", "in_progress", "completed")
MAX_ITEMS = 12
MAX_STEP_CHARS = 200

DESCRIPTION = (
    "Keep a short plan of the task that the person sees above the run: 3-8 steps, each "
    "pending, in_progress (at most one) or completed. Call it at the start of a long task and "
    "whenever a step is done or the plan changes; send the whole list each time."
)
PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "explanation": {"type": "string", "description": "Why the plan changed (optional)."},
        "plan": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "step": {"type": "string"},
                    "status": {"type": "string", "enum": list(STATUSES)},
                },
                "required": ["step", "status"],
            },
        },
    },
    "required": ["plan"],
}


@dataclass
class Plan:
    """The latest plan the model gave."""

    items: list[dict[str, str]] = field(default_factory=list)
    explanation: str = ""

    def update(self, arguments: dict[str, Any]) -> str:
        """Take a new plan from `update_plan`'s arguments; the tool result for the model."""
        raw = arguments.get("plan")
        if not isinstance(raw, list) or not raw:
            raise ToolError("update_plan needs `plan`: a list of {step, status} objects.")
        if len(raw) > MAX_ITEMS:
            raise ToolError(f"Keep the plan to {MAX_ITEMS} steps or fewer; it had {len(raw)}.")
        items = []
        for number, item in enumerate(raw, 1):
            if not isinstance(item, dict) or not isinstance(item.get("step"), str):
                raise ToolError(f"Plan step {number} needs a `step` string and a `status`.")
            status = item.get("status")
            if status not in STATUSES:
                raise ToolError(
                    f"Plan step {number} has status {status!r}; use one of {', '.join(STATUSES)}."
                )
            items.append({"step": item["step"].strip()[:MAX_STEP_CHARS], "status": str(status)})
        explanation = arguments.get("explanation")
        self.items = items
        self.explanation = explanation.strip() if isinstance(explanation, str) else ""
        done = sum(1 for i in items if i["status"] == "completed")
        return f"Plan updated: {done} of {len(items)} steps completed."

    def markdown(self) -> str:
        """The plan as a Markdown checklist (empty when there is none)."""
        lines = []
        for item in self.items:
            text = _escape(item["step"])
            if item["status"] == "completed":
                lines.append(f"- [x] ~~{text}~~")
            elif item["status"] == "in_progress":
                lines.append(f"- [ ] **{text}** (in progress)")
            else:
                lines.append(f"- [ ] {text}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """The plan as the run header and run log carry it."""
        return {"items": [dict(i) for i in self.items], "explanation": self.explanation}


def _escape(text: str) -> str:
    return text.replace("\n", " ").replace("<", "&lt;")


def plan_tool(plan: Plan, changed: Callable[[], None]) -> Tool:
    """The `update_plan` tool bound to a run's plan; `changed` runs after each update."""

    async def call(arguments: dict[str, Any]) -> str:
        result = plan.update(arguments)
        changed()
        return result

    return Tool("update_plan", DESCRIPTION, PARAMETERS, call, read_only=True)
