"""Keeping a long agent run's prompt inside the model's window, rarely and all at once.

Between compactions the prompt only grows at its end, so the provider's context cache serves
everything sent before. When the next prompt would pass the trigger (80% of the window, less
the room kept for the answer), one compaction takes it down to the target (40%): old tool
results shrink first (code, heads, errors and tails stay; bulk goes), and when that is not
enough, the steps before the last few fold into a summary the model writes in a turn of its
own. The cache misses once, on the request after it, and then serves the new prefix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..messages import Message

if TYPE_CHECKING:
    from collections.abc import Sequence

TRIGGER = 0.8  # share of the window past which the next prompt is compacted
TARGET = 0.4  # share of the window a compaction aims for
KEEP_STEPS = 4  # the last tool-calling turns stay whole through any compaction
SHRUNK_HEAD, SHRUNK_TAIL, SHRUNK_ERRORS = 400, 200, 6
IMAGE_CHARS = 3_000  # what a picture weighs in the estimate (about 1,000 tokens)
MESSAGE_CHARS = 12  # role markers and separators per message

SUMMARY_REQUEST = (
    "Write a summary of this run so far, for your own use: the context will be trimmed to it. "
    "Say what the task is, what you tried and what each attempt showed (with the numbers), "
    "which variables and functions now exist in the kernel, what worked, what failed and why, "
    "and what is left to do. Do not call tools in this answer."
)
SUMMARY_HEAD = "Summary of the run so far (earlier steps were folded into it to fit the window):"


@dataclass(frozen=True)
class Window:
    """The model's window and the room kept for its answer, in tokens."""

    tokens: int
    reserve: int

    @property
    def trigger(self) -> int:
        """A prompt estimated above this is compacted before it is sent."""
        return max(min(int(self.tokens * TRIGGER), self.tokens - self.reserve), 1)

    @property
    def target(self) -> int:
        """What a compaction brings the prompt down to."""
        return max(min(int(self.tokens * TARGET), self.trigger // 2), 1)


def answer_room(window: int, max_tokens: int | None) -> int:
    """Tokens kept free for the answer: the output cap, else an eighth of the window (at most
    32K, which holds a long thinking answer)."""
    return max_tokens if max_tokens else min(window // 8, 32_768)


def chars(messages: Sequence[Message]) -> int:
    """How many characters the messages put in a prompt, for the estimate."""
    total = 0
    for m in messages:
        total += len(m.content) + len(m.reasoning) + MESSAGE_CHARS + IMAGE_CHARS * len(m.images)
        total += sum(len(c.arguments) + len(c.name) + MESSAGE_CHARS for c in m.tool_calls)
    return total


class Meter:
    """Prompt tokens from characters, calibrated on the server's own count of the last prompt
    (the estimate leans high until the first count arrives)."""

    def __init__(self, overhead: int = 0) -> None:
        self.overhead = overhead  # characters sent with every prompt besides messages (tools)
        self.per_char = 1 / 3
        self.calibrated = False
        # The list last counted, how much of it, and its characters: a run's messages grow at
        # their end between compactions, so each message is counted once, not once a step.
        self._counted: tuple[Sequence[Message] | None, int, int] = (None, 0, 0)

    def chars(self, messages: Sequence[Message]) -> int:
        """`chars(messages)`, counting only what was appended since the last call on the same
        list."""
        seen, length, total = self._counted
        if messages is not seen or len(messages) < length:
            length, total = 0, 0
        total += chars(messages[length:])
        self._counted = (messages, len(messages), total)
        return total

    def observe(self, sent_chars: int, prompt_tokens: int) -> None:
        """Learn from a prompt the server counted."""
        if sent_chars > 0 and prompt_tokens > 0:
            self.per_char = prompt_tokens / (sent_chars + self.overhead)
            self.calibrated = True

    def tokens(self, messages: Sequence[Message]) -> int:
        """Estimated prompt tokens for these messages, with a margin."""
        return math.ceil((self.chars(messages) + self.overhead) * self.per_char * 1.05)


def tail_start(messages: Sequence[Message], keep_steps: int = KEEP_STEPS) -> int:
    """Index of the assistant message that begins the last `keep_steps` tool-calling turns."""
    seen = 0
    for index in range(len(messages) - 1, -1, -1):
        m = messages[index]
        if m.role == "assistant" and m.tool_calls:
            seen += 1
            if seen == keep_steps:
                return index
    return len(messages)


def shrink_result(text: str) -> str:
    """A tool result cut to what later steps need: its head, its error lines, its tail."""
    if len(text) <= SHRUNK_HEAD + SHRUNK_TAIL + 200 or text.startswith("[shrunk"):
        return text
    head, tail = text[:SHRUNK_HEAD], text[-SHRUNK_TAIL:]
    middle = text[SHRUNK_HEAD:-SHRUNK_TAIL].splitlines()
    errors = [line for line in middle if _is_error(line)][-SHRUNK_ERRORS:]
    dropped = len(text) - len(head) - len(tail) - sum(len(e) + 1 for e in errors)
    kept = "\n".join(errors)
    return (
        f"[shrunk to fit the window: {dropped:,} characters dropped]\n{head}\n…\n"
        + (f"{kept}\n…\n" if kept else "")
        + tail
    )


def _is_error(line: str) -> bool:
    low = line.lower()
    return "error" in low or "traceback" in low or "exception" in low or "warning" in low


def shrink(messages: Sequence[Message], start: int, end: int) -> tuple[list[Message], int]:
    """Shrink tool results and drop reasoning in `messages[start:end]`; how many shrank."""
    out, shrunk = list(messages), 0
    for index in range(start, min(end, len(out))):
        m = out[index]
        if m.role == "tool":
            small = shrink_result(m.content)
            if small != m.content:
                out[index], shrunk = replace(m, content=small), shrunk + 1
        elif m.role == "assistant" and m.reasoning:
            out[index] = replace(m, reasoning="")  # old thinking: the steps say what it led to
    return out, shrunk


def fold(messages: Sequence[Message], start: int, end: int, summary: str) -> list[Message]:
    """Replace `messages[start:end]` with the model's summary of them."""
    note = Message("user", f"{SUMMARY_HEAD}\n\n{summary.strip()}")
    return [*messages[:start], note, *messages[end:]]


def folded_steps(messages: Sequence[Message], start: int, end: int) -> int:
    """Tool-calling turns in `messages[start:end]`."""
    return sum(1 for m in messages[start:end] if m.role == "assistant" and m.tool_calls)


def listed_steps(messages: Sequence[Message]) -> str:
    """A plain summary when the model could not write one: each call and its result's head."""
    lines = []
    for m in messages:
        for c in m.tool_calls:
            lines.append(f"- called {c.name}: {c.arguments[:200]}")
        if m.role == "tool":
            head = m.content.strip().splitlines()[0] if m.content.strip() else "(no output)"
            lines.append(f"  -> {head[:200]}")
    return "The steps so far (the summary turn failed, so this is a plain list):\n" + "\n".join(
        lines[-200:]
    )
