"""Listening to what code prints: wrap `write` on the stdout/stderr stream objects themselves.

The stream objects stay in place (ipykernel and others check their type); only their `write`
is wrapped, inside any wrapping IPython does itself, and `remove` puts back exactly what each
stream had, so tees nest and unwind in order.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Any


class StreamTee:
    """Calls `listen(channel, text)` for every string written to stdout or stderr while on;
    `shown(channel, text)`, if given, says what of it goes on to the stream (a cap on what
    the person sees: "" holds a write back)."""

    def __init__(
        self,
        listen: Callable[[str, str], None],
        shown: Callable[[str, str], str] | None = None,
    ) -> None:
        self._listen = listen
        self._shown = shown
        self._wrapped: list[tuple[Any, Any]] = []  # (stream, the `write` it had on itself)

    def install(self) -> None:
        """Start listening."""
        for channel, stream in (("stdout", sys.stdout), ("stderr", sys.stderr)):
            write = getattr(stream, "write", None)
            if write is None or not hasattr(stream, "__dict__"):
                continue
            own = vars(stream).get("write")

            def listened(
                text: Any, *args: Any, _w: Any = write, _c: str = channel, **kwargs: Any
            ) -> Any:
                if isinstance(text, str) and text:
                    self._listen(_c, text)
                    if self._shown is not None:
                        passed = self._shown(_c, text)
                        if not passed:
                            return len(text)  # held back, as if written
                        return _w(passed, *args, **kwargs)
                return _w(text, *args, **kwargs)

            with contextlib.suppress(AttributeError, TypeError):
                stream.write = listened  # type: ignore[method-assign]
                self._wrapped.append((stream, own))

    def remove(self) -> None:
        """Stop listening and restore each stream's own `write`."""
        for stream, own in reversed(self._wrapped):
            with contextlib.suppress(AttributeError):
                if own is None:
                    del stream.write
                else:
                    stream.write = own
        self._wrapped.clear()

    def __enter__(self) -> StreamTee:
        self.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()
