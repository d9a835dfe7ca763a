"""Split `<think>...</think>` reasoning out of streamed content, for servers that leave it there."""

from __future__ import annotations

from ..config.providers import ThinkTags
from ..messages import ReasoningDelta, TextDelta

OPEN, CLOSE = "<think>", "</think>"


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest end of `text` that could be the start of `tag`."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-n:]):
            return n
    return 0


class ThinkTagSplitter:
    """Turns content deltas into reasoning and text deltas, whatever the chunk boundaries.

    `leading`: a `<think>` block at the very start is reasoning; anything else is the answer.
    `untagged`: as `leading`, and when the output does not open with `<think>` (llama.cpp with
    thinking forced on), the text up to `</think>` is reasoning. Until that tag arrives the text
    is held back: only the close tag tells reasoning from an answer, and events never take back
    what they said. A stream that ends without `</think>` was an answer after all.
    """

    __slots__ = ("_buf", "_mode", "_state")

    def __init__(self, mode: ThinkTags) -> None:
        self._mode = mode
        self._state = "start" if mode != "off" else "text"
        self._buf = ""

    @property
    def passthrough(self) -> bool:
        """True once no tag can follow and no whitespace is pending: content goes straight on."""
        return self._state == "text"

    def server_reasoning_seen(self) -> list[ReasoningDelta | TextDelta]:
        """The server splits reasoning itself, so content holds no untagged reasoning."""
        if self._mode == "untagged":
            self._mode = "leading"
        if self._state != "held":
            return []
        self._state = "text"
        text, self._buf = self._buf, ""
        return [TextDelta(text)] if text else []

    def feed(self, text: str) -> list[ReasoningDelta | TextDelta]:
        """Classify one content delta."""
        if self._state == "text":
            return [TextDelta(text)]
        if self._state == "after":
            # Whitespace between `</think>` and the answer is dropped wherever chunks split.
            text = text.lstrip()
            if not text:
                return []
            self._state = "text"
            return [TextDelta(text)]
        self._buf += text
        if self._state == "start":
            return self._start()
        return self._inside()

    def _start(self) -> list[ReasoningDelta | TextDelta]:
        head = self._buf.lstrip()
        if not head or (OPEN.startswith(head) and head != OPEN):
            return []  # only whitespace or part of "<think>" so far: wait
        if head.startswith(OPEN):
            self._buf = head[len(OPEN) :]
            self._state = "think"
            return self._inside()
        if self._mode == "untagged":
            self._state = "held"
            # Nothing can be shown before `</think>`, but the model has started (most likely
            # thinking): an empty reasoning delta lets the reply time its thinking from here.
            return [ReasoningDelta(""), *self._inside()]
        self._state = "text"
        text, self._buf = self._buf, ""
        return [TextDelta(text)]

    def _inside(self) -> list[ReasoningDelta | TextDelta]:
        end = self._buf.find(CLOSE)
        if end >= 0:
            reasoning, rest = self._buf[:end], self._buf[end + len(CLOSE) :].lstrip()
            self._buf, self._state = "", "text" if rest else "after"
            out: list[ReasoningDelta | TextDelta] = []
            if reasoning:
                out.append(ReasoningDelta(reasoning))
            if rest:
                out.append(TextDelta(rest))
            return out
        if self._state == "held":
            return []
        keep = _partial_suffix(self._buf, CLOSE)
        ready = self._buf[: len(self._buf) - keep]
        self._buf = self._buf[len(ready) :]
        return [ReasoningDelta(ready)] if ready else []

    def close(self) -> list[ReasoningDelta | TextDelta]:
        """End of stream: release whatever is held, as what it most likely was."""
        text, self._buf = self._buf, ""
        state, self._state = self._state, "text"
        if not text or state == "after":
            return []
        return [ReasoningDelta(text)] if state == "think" else [TextDelta(text)]
