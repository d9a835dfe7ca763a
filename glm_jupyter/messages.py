"""Pure data: messages, tool calls, usage, and the stream events every dialect becomes."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

# --- conversation -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One function call the model asked for; `arguments` is the raw JSON text it wrote."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Image:
    """A picture ready to send: PNG or JPEG bytes, its size in pixels, and what to call it."""

    mime: str  # image/png or image/jpeg
    data: bytes = field(repr=False)
    width: int
    height: int
    label: str = "image"

    def data_url(self) -> str:
        """The picture as an `image_url` part carries it."""
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    def brief(self) -> str:
        """`image/png 1000x600, 41 KB`: the picture for the person, without its bytes."""
        return f"{self.mime} {self.width}x{self.height}, {max(len(self.data) // 1024, 1):,} KB"


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message; assistant turns keep their reasoning so it can be sent back, and user
    turns may carry pictures for a model that sees."""

    role: str
    content: str = ""
    reasoning: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    images: tuple[Image, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The message as JSON (the run log): pictures as what they were, never their bytes."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.reasoning:
            out["reasoning"] = self.reasoning
        if self.tool_calls:
            out["tool_calls"] = [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls
            ]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            out["name"] = self.name
        if self.images:
            out["images"] = [f"{i.label} ({i.brief()})" for i in self.images]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        """A message back from `as_dict`; pictures, whose bytes were not kept, come back as a
        line of its text saying what they were."""
        content = str(data.get("content", ""))
        left_out = "; ".join(str(i) for i in data.get("images", ()))
        if left_out:
            content += f"\n\n[picture not kept: {left_out}]"
        name, call_id = data.get("name"), data.get("tool_call_id")
        return cls(
            str(data["role"]),
            content,
            reasoning=str(data.get("reasoning", "")),
            tool_calls=tuple(
                ToolCall(str(c["id"]), str(c["name"]), str(c.get("arguments", "")))
                for c in data.get("tool_calls", ())
            ),
            tool_call_id=None if call_id is None else str(call_id),
            name=None if name is None else str(name),
        )


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts for one response, plus the server's own cost figure when it sends one."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float | None = None

    def as_dict(self) -> dict[str, int]:
        """The four counts, as the response JSON carries them."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
            "reasoning_tokens": self.reasoning_tokens,
        }


# --- stream events ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamOpened:
    """The server answered 200 and the body started; `server` names a simulator when it is one."""

    server: str | None = None


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's reasoning."""

    text: str


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of tool call number `index`: id and name come first, arguments may come in pieces."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class UsageReport:
    """Token usage, usually on the last chunk."""

    usage: Usage


@dataclass(frozen=True, slots=True)
class Finish:
    """The model stopped, for `reason` (stop, tool_calls, length, sensitive, ...)."""

    reason: str


@dataclass(frozen=True, slots=True)
class StreamFailure:
    """An error inside the stream (`data: {"error": ...}`, `event: error`, a cut or a bad chunk).

    `fatal=False` marks a malformed chunk that was skipped: the stream goes on after it.
    """

    code: str | None
    message: str
    status: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    fatal: bool = True


Event = (
    StreamOpened | ReasoningDelta | TextDelta | ToolCallDelta | UsageReport | Finish | StreamFailure
)
