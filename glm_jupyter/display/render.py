"""Renderers: a throttled display-handle renderer for Jupyter, and plain text for terminals."""

from __future__ import annotations

import sys
import time
import uuid
from typing import Any, Protocol, TextIO

from ..messages import Event, ReasoningDelta, TextDelta
from ..reply import Reply
from . import live
from .bundle import bundle, footer
from .channel import StreamChannel
from .channel import current as live_channel


class Renderer(Protocol):
    """What the session needs from a renderer."""

    def start(self, reply: Reply) -> None:
        """Show that a request is under way."""

    def event(self, reply: Reply, event: Event, visible: bool) -> None:
        """`reply` just took `event`; `visible` says whether what a person sees changed."""

    def finish(self, reply: Reply) -> None:
        """Show the final state (done, interrupted or error)."""


class DisplayRenderer:
    """One display, updated in place while the reply streams, at a cost that follows the answer.

    The first token goes out at once, so time-to-first-token is the server's, not ours; after
    it the next update waits two intervals and later ones at least one interval each, so a
    stream of T seconds costs at most T / interval + 1 sends however fast the tokens come.

    What a send is depends on who watches (`display/live.py`): while a view follows the stream
    over the delta channel, a delta of the new text, with a checkpoint of the whole bundle now
    and then; otherwise a bundle with the reasoning's tail only, paced to a byte rate. The last
    update carries the whole reply.
    """

    def __init__(
        self, interval: float = 0.1, publish: Any = None, channel: StreamChannel | None = None
    ) -> None:
        self.interval = interval
        self.updates = 0  # bundle updates after the display was created
        self.deltas = 0  # delta messages on the channel
        self.sent_bytes = 0  # about how many bytes the bundles took (deltas not counted)
        self._publish = publish  # a callable(bundle, is_update) instead of IPython's display
        self._channel = channel if channel is not None else live_channel()
        self._stream_id = uuid.uuid4().hex
        self._cursor = live.Cursor()
        self._checkpoints = live.Checkpoints()
        self._handle: Any = None
        self._due: float | None = None  # None until the first token has been shown

    def _send(self, data: dict[str, Any], *, update: bool) -> None:
        self.sent_bytes += live.bundle_bytes(data)
        if update:
            self.updates += 1
        if self._publish is not None:
            self._publish(data, update)
        elif update:
            self._handle.update(data, raw=True)
        else:
            from IPython.display import display

            self._handle = display(data, raw=True, display_id=True)

    def _streaming_bundle(self, reply: Reply, *, whole: bool) -> dict[str, Any]:
        if whole:
            return bundle(reply, stream_id=self._stream_id)
        _, start = live.reasoning_tail(reply.reasoning.text)
        return bundle(reply, stream_id=self._stream_id, reasoning_from=start)

    def start(self, reply: Reply) -> None:
        """Create the display, showing that the model has been asked."""
        if self._channel is not None:
            self._channel.begin(
                self._stream_id, lambda comm, have: self._catch_up(reply, comm, have)
            )
        self._checkpoints.start(time.monotonic())
        self._send(self._streaming_bundle(reply, whole=True), update=False)

    def _catch_up(self, reply: Reply, comm: Any, have: Any) -> None:
        if self._channel is not None and self._channel.followed(self._stream_id):
            self._send_delta(reply)  # the others first, so everyone ends level
        comm.send(live.catch_up(self._stream_id, reply, live.have_cursor(have), self._cursor))

    def _send_delta(self, reply: Reply) -> None:
        assert self._channel is not None
        self._channel.send(self._stream_id, live.delta(self._stream_id, reply, self._cursor))
        self.deltas += 1

    def event(self, reply: Reply, event: Event, visible: bool) -> None:
        """Send when due; the first visible token goes out at once."""
        if not visible:
            return
        now = time.monotonic()
        if self._due is not None and now < self._due:
            return
        gap = self.interval
        size = live.text_size(reply)
        checkpoint = self._checkpoints.due(size, now)
        if self._channel is not None and self._channel.followed(self._stream_id):
            self._send_delta(reply)
            if checkpoint:
                self._send(self._streaming_bundle(reply, whole=True), update=True)
        else:
            data = self._streaming_bundle(reply, whole=checkpoint)
            self._send(data, update=True)
            gap = live.fallback_gap(self.interval, live.bundle_bytes(data))
        if checkpoint:
            self._checkpoints.done(size, now)
        self._due = now + (2 * self.interval if self._due is None else gap)

    def finish(self, reply: Reply) -> None:
        """The final update, with the whole reply, usage and status."""
        final = bundle(reply)
        self._send(final, update=True)
        if self._channel is not None:
            self._channel.end(self._stream_id, reply.status, final)

    def show_again(self, reply: Reply) -> None:
        """Replace the finished display with the reply as it is now (an agent run folds the
        reasoning of its older turns away)."""
        if self._handle is not None or self._publish is not None:
            self._send(bundle(reply), update=True)


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
