"""The state of one response as its events arrive: text so far, tool calls, usage, timing."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .messages import (
    Event,
    Finish,
    ReasoningDelta,
    StreamFailure,
    StreamOpened,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageReport,
)
from .redact import redact_text


class TextBuffer:
    """Appends in O(1), joins in batches: no per-token copy of the text, no list of every token."""

    __slots__ = ("_parts", "_text")
    _BATCH = 512

    def __init__(self) -> None:
        self._text = ""
        self._parts: list[str] = []

    def append(self, piece: str) -> None:
        """Add a delta."""
        self._parts.append(piece)
        if len(self._parts) >= self._BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._parts:
            self._text += "".join(self._parts)
            self._parts.clear()

    @property
    def text(self) -> str:
        """Everything so far."""
        self._flush()
        return self._text

    def __bool__(self) -> bool:
        return bool(self._text or self._parts)


@dataclass
class _ToolCallDraft:
    id: str = ""
    name: str = ""
    arguments: TextBuffer = field(default_factory=TextBuffer)


class Reply:
    """Accumulates events; the renderers and the conversation read from it."""

    def __init__(self, model: str, provider: str) -> None:
        self.model = model
        self.provider = provider
        self.reasoning = TextBuffer()
        self.content = TextBuffer()
        self.status = "streaming"
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.error: str | None = None
        self.notes: list[str] = []
        self.server: str | None = None
        self.context: list[dict[str, Any]] = []  # what context went with the question
        self.context_line = ""
        self.steps: list[dict[str, Any]] | None = None  # agent runs: the tool calls so far
        self.compactions: list[dict[str, Any]] = []  # agent runs: each fit to the window
        self.started = time.monotonic()
        self.first_token_at: float | None = None
        self.answer_started_at: float | None = None
        self.ended_at: float | None = None
        self._calls: dict[int, _ToolCallDraft] = {}

    def apply(self, event: Event) -> bool:
        """Take one event; True when it changed what a person sees."""
        kind = type(event)
        if kind is TextDelta:
            if self.answer_started_at is None:
                self.answer_started_at = time.monotonic()
                self.first_token_at = self.first_token_at or self.answer_started_at
            self.content.append(event.text)  # type: ignore[union-attr]
            return True
        if kind is ReasoningDelta:
            if self.first_token_at is None:
                self.first_token_at = time.monotonic()
            self.reasoning.append(event.text)  # type: ignore[union-attr]
            return True
        if kind is ToolCallDelta:
            self._tool_call(event)  # type: ignore[arg-type]
            return True
        if kind is UsageReport:
            self.usage = event.usage  # type: ignore[union-attr]
        elif kind is Finish:
            self.finish_reason = event.reason  # type: ignore[union-attr]
        elif kind is StreamOpened:
            self.server = event.server  # type: ignore[union-attr]
        elif kind is StreamFailure:
            self.notes.append(event.message)  # type: ignore[union-attr]
        return False

    def _tool_call(self, delta: ToolCallDelta) -> None:
        # A call ends the thinking as an answer does: an agent's turn may have no text at all.
        if self.answer_started_at is None:
            self.answer_started_at = time.monotonic()
            self.first_token_at = self.first_token_at or self.answer_started_at
        draft = self._calls.setdefault(delta.index, _ToolCallDraft())
        if delta.id:
            draft.id = delta.id
        if delta.name:
            draft.name = delta.name
        if delta.arguments:
            draft.arguments.append(delta.arguments)

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """Tool calls so far, in index order."""
        return tuple(
            ToolCall(id=d.id or f"call_{i}", name=d.name, arguments=d.arguments.text)
            for i, d in sorted(self._calls.items())
        )

    def end(self, status: str, error: str | None = None) -> None:
        """Mark the reply finished: done, interrupted or error."""
        self.status = status
        # The error goes into the response JSON, the Markdown and the saved notebook.
        self.error = None if error is None else redact_text(error)
        self.ended_at = time.monotonic()

    @property
    def elapsed(self) -> float:
        """Seconds from request to end (or now)."""
        return (self.ended_at or time.monotonic()) - self.started

    @property
    def thinking_seconds(self) -> float | None:
        """How long the model reasoned before answering (or calling a tool), once it has."""
        if self.first_token_at is None or self.answer_started_at is None:
            return None
        return self.answer_started_at - self.first_token_at

    @property
    def tokens_per_second(self) -> float | None:
        """Output speed after the first token."""
        if self.usage is None or self.first_token_at is None:
            return None
        span = (self.ended_at or time.monotonic()) - self.first_token_at
        return self.usage.completion_tokens / span if span > 0 else None
