"""Renderers: a throttled display-handle renderer for Jupyter, and plain text for terminals."""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol, TextIO

from ..messages import Event, ReasoningDelta, TextDelta
from ..reply import Reply
from .bundle import bundle, footer


class Renderer(Protocol):
    """What the session needs from a renderer."""

    def start(self, reply: Reply) -> None:
        """Show that a request is under way."""

    def event(self, reply: Reply, event: Event, visible: bool) -> None:
        """`reply` just took `event`; `visible` says whether what a person sees changed."""

    def finish(self, reply: Reply) -> None:
        """Show the final state (done, interrupted or error)."""


class DisplayRenderer:
    """One display, updated in place, within a budget of `1 / interval` updates a second plus one.

    The first token goes out at once, so time-to-first-token is the server's, not ours. After it
    the next update waits two intervals and later ones one interval each: that keeps one slot in
    hand for the final update (usage, status), so a stream of T seconds costs at most
    T / interval + 1 updates however fast the tokens come.
    """

    def __init__(self, interval: float = 0.1, publish: Any = None) -> None:
        self.interval = interval
        self.updates = 0  # updates after the display was created
        self._publish = publish  # benchmarks: a callable(bundle, is_update) instead of IPython
        self._handle: Any = None
        self._due: float | None = None  # None until the first token has been shown

    def _send(self, reply: Reply, *, update: bool) -> None:
        data = bundle(reply)
        if update:
            self.updates += 1
        if self._publish is not None:
            self._publish(data, update)
        elif update:
            self._handle.update(data, raw=True)
        else:
            from IPython.display import display

            self._handle = display(data, raw=True, display_id=True)

    def start(self, reply: Reply) -> None:
        """Create the display, showing that the model has been asked."""
        self._send(reply, update=False)

    def event(self, reply: Reply, event: Event, visible: bool) -> None:
        """Update when due; the first visible token goes out at once."""
        if not visible:
            return
        now = time.monotonic()
        if self._due is None:
            self._send(reply, update=True)
            self._due = now + 2 * self.interval
        elif now >= self._due:
            self._send(reply, update=True)
            self._due = now + self.interval

    def finish(self, reply: Reply) -> None:
        """The final update, with usage and status."""
        self._send(reply, update=True)


_DIM, _RESET = "\x1b[2m", "\x1b[0m"


class TerminalRenderer:
    """Streams text to a terminal: reasoning dimmed, then the answer, then the footer."""

    def __init__(self, out: TextIO | None = None, interval: float = 0.05) -> None:
        self._out = out or sys.stdout
        self._interval = interval
        self._last = 0.0
        self._mode = ""
        self.updates = 0

    def start(self, reply: Reply) -> None:
        """Nothing to show until text arrives."""

    def _switch(self, mode: str) -> None:
        if mode == self._mode:
            return
        if self._mode == "reasoning":
            self._out.write(_RESET + "\n\n")
        if mode == "reasoning":
            self._out.write(_DIM)
        self._mode = mode

    def event(self, reply: Reply, event: Event, visible: bool) -> None:
        """Write deltas as they come; flush at most every `interval`."""
        kind = type(event)
        if kind is ReasoningDelta:
            if not event.text:  # type: ignore[union-attr]
                return  # a timing mark (held `<think>` text), nothing to write
            self._switch("reasoning")
            self._out.write(event.text)  # type: ignore[union-attr]
        elif kind is TextDelta:
            self._switch("answer")
            self._out.write(event.text)  # type: ignore[union-attr]
        else:
            return
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._out.flush()
            self._last = now
            self.updates += 1

    def finish(self, reply: Reply) -> None:
        """Close the dim section and print status and footer."""
        self._switch("answer")
        if reply.status == "interrupted":
            self._out.write("\n[interrupted: the text above is what arrived]")
        elif reply.status == "error" and reply.error:
            self._out.write(f"\n[error] {reply.error}")
        for note in reply.notes:
            self._out.write(f"\n[note] {note}")
        self._out.write(f"\n{_DIM}{footer(reply)}{_RESET}\n")
        self._out.flush()
        self.updates += 1
