"""What a streaming display sends, and when: deltas to views that follow the stream,
checkpoints whose total cost stays linear, and a byte-rate-bounded fallback for the rest.

- **Deltas** carry only the text that is new since the last delta, with the offset it starts
  at, so a view can tell a gap (and ask again) from an overlap (and skip it).
- **Checkpoints** bring the output's bundle, what a saved notebook holds, up to date while the
  reply streams: only when the text has doubled since the last one and `CHECKPOINT_GAP` seconds
  have passed, so together they cost at most about twice the final bundle.
- **Fallback** (no view follows: VS Code, Colab, Notebook 7 or JupyterLab without the
  extension, nbclient): each update carries the answer so far but only the reasoning's tail,
  and the gap between updates grows with the bundle so that they stay under `FALLBACK_RATE`
  bytes a second, but never beyond `FALLBACK_MAX_GAP`, so the answer still grows visibly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..reply import Reply

CHECKPOINT_GROWTH = 2.0  # a checkpoint once the text has doubled since the last one
CHECKPOINT_GAP = 5.0  # seconds: and never more often than this
FALLBACK_RATE = 256 * 1024  # bytes a second that fallback updates stay under
FALLBACK_MAX_GAP = 1.0  # seconds: the answer grows at least this often
REASONING_TAIL = 2_000  # characters of reasoning a fallback update carries while streaming


@dataclass
class Cursor:
    """How much of each text has gone out as deltas."""

    reasoning: int = 0
    content: int = 0
    tools: dict[int, int] = field(default_factory=dict)  # tool call index -> arguments sent


def _end(reply: Reply) -> Cursor:
    return Cursor(
        reasoning=len(reply.reasoning.text),
        content=len(reply.content.text),
        tools={i: len(c.arguments) for i, c in enumerate(reply.tool_calls)},
    )


def delta(
    stream_id: str, reply: Reply, cursor: Cursor, upto: Cursor | None = None
) -> dict[str, Any]:
    """The text from `cursor` to `upto` (default: all of it), with the reply's clock and usage;
    `cursor` moves to where the delta ends."""
    end = upto or _end(reply)
    message: dict[str, Any] = {"stream": stream_id}
    if end.reasoning > cursor.reasoning:
        message["reasoning"] = [
            cursor.reasoning,
            reply.reasoning.text[cursor.reasoning : end.reasoning],
        ]
        cursor.reasoning = end.reasoning
    if end.content > cursor.content:
        message["content"] = [cursor.content, reply.content.text[cursor.content : end.content]]
        cursor.content = end.content
    tools = []
    for index, call in enumerate(reply.tool_calls):
        start, stop = cursor.tools.get(index), end.tools.get(index)
        if stop is None or (start is not None and start >= stop):
            continue
        start = start or 0
        text = call.arguments[start:stop]
        tools.append({"index": index, "id": call.id, "name": call.name, "at": start, "text": text})
        cursor.tools[index] = stop
    if tools:
        message["tools"] = tools
    message["elapsed_s"] = round(reply.elapsed, 3)
    thinking = reply.thinking_seconds
    if thinking is not None:
        message["thinking_s"] = round(thinking, 3)
    if reply.usage is not None:
        message["usage"] = reply.usage.as_dict()
    return message


def have_cursor(have: Mapping[str, Any]) -> Cursor:
    """A view's `have` (what it already shows) as a cursor; anything malformed counts as 0."""

    def count(value: Any) -> int:
        return value if isinstance(value, int) and value >= 0 else 0

    tools = have.get("tools")
    return Cursor(
        reasoning=count(have.get("reasoning")),
        content=count(have.get("content")),
        tools=(
            {int(k): count(v) for k, v in tools.items() if str(k).isdigit()}
            if isinstance(tools, Mapping)
            else {}
        ),
    )


def catch_up(stream_id: str, reply: Reply, have: Cursor, sent: Cursor) -> dict[str, Any]:
    """A newcomer's delta: from what it has up to where the shared deltas stand (`sent`)."""
    start = Cursor(
        reasoning=min(have.reasoning, sent.reasoning),
        content=min(have.content, sent.content),
        tools={i: min(have.tools.get(i, 0), n) for i, n in sent.tools.items()},
    )
    return delta(stream_id, reply, start, sent)


def text_size(reply: Reply) -> int:
    """Characters of text in the reply (reasoning, answer, tool arguments)."""
    return (
        len(reply.reasoning.text)
        + len(reply.content.text)
        + sum(len(c.arguments) for c in reply.tool_calls)
    )


class Checkpoints:
    """When the output's bundle is next brought up to date while the reply streams."""

    def __init__(self, growth: float | None = None, gap: float | None = None) -> None:
        # Read at construction, not at definition, so a setting changed at run time holds.
        self.growth = CHECKPOINT_GROWTH if growth is None else growth
        self.gap = CHECKPOINT_GAP if gap is None else gap
        self._size = 0
        self._at: float | None = None

    def start(self, now: float) -> None:
        """The display was created at `now`."""
        self._at = now

    def due(self, size: int, now: float) -> bool:
        """Whether a checkpoint is due for `size` characters at `now`."""
        if self._at is None:
            self._at = now
        return size > self.growth * self._size and now - self._at >= self.gap

    def done(self, size: int, now: float) -> None:
        """A checkpoint of `size` characters went out at `now`."""
        self._size, self._at = size, now


def fallback_gap(interval: float, bundle_bytes: int) -> float:
    """Seconds until the next fallback update after one of `bundle_bytes`."""
    return min(FALLBACK_MAX_GAP, max(interval, bundle_bytes / FALLBACK_RATE))


def reasoning_tail(reasoning: str, keep: int | None = None) -> tuple[str, int]:
    """The reasoning's last `keep` characters (default `REASONING_TAIL`), from a line start
    where one is near; and how many characters come before them."""
    keep = REASONING_TAIL if keep is None else keep
    if len(reasoning) <= keep:
        return reasoning, 0
    start = len(reasoning) - keep
    newline = reasoning.find("\n", start, start + keep // 4)
    if newline != -1:
        start = newline + 1
    return reasoning[start:], start


def bundle_bytes(data: Mapping[str, Any]) -> int:
    """About how many bytes a bundle takes on the wire (its strings, plus a fixed frame)."""
    payload = data.get("application/vnd.glm.response+json") or {}
    size = 600
    for key in ("text/markdown", "text/plain"):
        size += len(data.get(key, ""))
    for key in ("reasoning", "content"):
        size += len(payload.get(key, ""))
    size += sum(len(c["function"]["arguments"]) for c in payload.get("tool_calls", ()))
    return size
