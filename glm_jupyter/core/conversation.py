"""Conversation memory and token accounting for one kernel session."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from ..config import catalog
from ..messages import Image, Message, Usage
from ..reply import Reply
from .prompts import DEFAULT_SYSTEM


class Conversation:
    """The turns so far; each request resends them unchanged, so the server's cache reuses them."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.system = ""
        self.persona = ""  # the persona the conversation started with ("" for an agent run)

    def request(self, prompt: str, system: str, images: tuple[Image, ...] = ()) -> list[Message]:
        """Messages for the next request: system, earlier turns, then the new prompt."""
        if not self.messages:
            self.system = system or DEFAULT_SYSTEM  # fixed for the conversation: a stable prefix
        asked = Message("user", prompt, images=images)
        return [Message("system", self.system), *self.messages, asked]

    def record(self, prompt: str, reply: Reply, images: tuple[Image, ...] = ()) -> None:
        """Keep a finished (or interrupted) exchange: the prompt (with its pictures, which a
        follow-up question may be about) and whatever answer arrived."""
        content, reasoning = reply.content.text, reply.reasoning.text
        if not (content or reasoning or reply.tool_calls):
            return  # nothing arrived: a re-run should not send the question twice
        self.messages.append(Message("user", prompt, images=images))
        self.messages.append(
            Message("assistant", content, reasoning=reasoning, tool_calls=reply.tool_calls)
        )

    def extend(self, messages: list[Message]) -> None:
        """Keep an agent run's messages exactly as they were sent and received."""
        self.messages.extend(messages)

    def adopt(self, messages: Sequence[Message]) -> None:
        """Continue from an agent run's messages as last sent, system prompt first (after a
        compaction they are shorter than what happened; a resumed run brings its own)."""
        if messages and messages[0].role == "system":
            self.system, messages = messages[0].content, messages[1:]
        self.messages[:] = list(messages)

    def reset(self) -> None:
        """Forget everything: the next request starts a new conversation."""
        self.messages.clear()
        self.system = ""
        self.persona = ""

    def turns(self) -> Sequence[Message]:
        """The recorded messages."""
        return tuple(self.messages)


@dataclass
class ModelTotals:
    """Running totals for one model."""

    requests: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    cost_known: bool = True

    def count(self, usage: Usage | None, cost: float | None) -> None:
        """Count one response (`usage` None: the stream ended before the server said)."""
        self.requests += 1
        if usage is None:
            return
        self.prompt_tokens += usage.prompt_tokens
        self.cached_tokens += usage.cached_tokens
        self.completion_tokens += usage.completion_tokens
        self.reasoning_tokens += usage.reasoning_tokens
        if cost is None:
            self.cost_known = False
        else:
            self.cost_usd += cost


class UsageLedger:
    """Tokens and cost per model for this kernel session."""

    def __init__(self) -> None:
        self.models: dict[str, ModelTotals] = {}
        self._kinds: dict[str, ModelTotals] = {}  # the same responses, per kind of use
        self._lock = threading.Lock()  # completions count from their own thread

    def add(self, model: str, usage: Usage | None, provider: str = "", kind: str = "") -> None:
        """Count one response (from `provider`, when known: a self-hosted one costs nothing);
        `kind` ("completions") gives that use a line of its own."""
        cost = catalog.cost(model, usage, provider) if usage is not None else None
        with self._lock:
            self.models.setdefault(f"{model} ({kind})" if kind else model, ModelTotals()).count(
                usage, cost
            )
            if kind:
                self._kinds.setdefault(kind, ModelTotals()).count(usage, cost)

    def of_kind(self, kind: str) -> ModelTotals:
        """The totals of one kind of use ("completions", "edits") over every model."""
        with self._lock:
            return dataclasses.replace(self._kinds.get(kind, ModelTotals()))

    def total_tokens(self) -> int:
        """Tokens in and out over every model: what a classroom token cap counts."""
        return sum(t.prompt_tokens + t.completion_tokens for t in self.models.values())

    def table(self) -> str:
        """A Markdown table of the totals."""
        if not self.models:
            return "No requests yet in this kernel session."
        rows = [
            "| model | requests | tokens in | cached | tokens out | reasoning | cost (USD) |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, t in sorted(self.models.items()):
            cost = f"{t.cost_usd:.4f}" if t.cost_known else "n/a"
            rows.append(
                f"| {name} | {t.requests} | {t.prompt_tokens:,} | {t.cached_tokens:,} | "
                f"{t.completion_tokens:,} | {t.reasoning_tokens:,} | {cost} |"
            )
        return "\n".join(rows)
