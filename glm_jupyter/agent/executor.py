"""`run_python`: code from the model, run in the live kernel, seen by the person, summarised for
the model.

The code runs as a nested `shell.run_cell(..., store_history=False)`, so its prints, rich
displays and figures land under the running agent cell as if the person had run it. While it
runs, SIGINT raises KeyboardInterrupt in that code (a kernel interrupt stops it at once), and a
timer thread sends SIGINT when the time limit passes; a flag tells the two apart.
"""

from __future__ import annotations

import base64
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..context.kernel_log import format_traceback, strip_ansi
from ..context.tee import StreamTee


@dataclass
class Execution:
    """What one run produced."""

    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    displays: list[str] = field(default_factory=list)
    figures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (display, data)
    result: str | None = None
    error: str | None = None
    timed_out: bool = False
    interrupted: bool = False
    elapsed: float = 0.0

    def summary(self, limit: int, notes: Mapping[int, str] | None = None) -> str:
        """Text for the model, each part clipped to keep its head and tail; `notes` replace
        the lines of particular displays (a figure sent as a picture says so)."""
        parts = []
        if self.timed_out:
            parts.append(f"[stopped: the code ran past the time limit, after {self.elapsed:.0f} s]")
        for name, chunks in (("stdout", self.stdout), ("stderr", self.stderr)):
            text = strip_ansi("".join(chunks))
            if text.strip():
                parts.append(f"{name}:\n{clip(text, limit // 2)}")
        parts += [(notes or {}).get(i, text) for i, text in enumerate(self.displays)]
        if self.result is not None:
            parts.append(f"result: {clip(self.result, limit // 4)}")
        if self.error is not None and not self.timed_out:
            parts.append(clip(self.error, limit // 2))
        return "\n".join(parts) if parts else "(no output)"


DISPLAY_CHARS = 20_000  # of each stream's output one run_python call shows in the notebook
HELD_BACK = (
    "\n… [{count:,} more characters of {channel} not shown, to keep the notebook light; the "
    "model got the output's head and tail]\n"
)


class DisplayCap:
    """What of a call's printed output reaches the notebook: the first `limit` characters of
    each stream, then a line saying how much was held back."""

    def __init__(self, limit: int = DISPLAY_CHARS) -> None:
        self.limit = limit
        self.shown = {"stdout": 0, "stderr": 0}
        self.held = {"stdout": 0, "stderr": 0}

    def __call__(self, channel: str, text: str) -> str:
        room = self.limit - self.shown[channel]
        if room <= 0:
            self.held[channel] += len(text)
            return ""
        passed = text[:room]
        self.shown[channel] += len(passed)
        self.held[channel] += len(text) - len(passed)
        return passed

    def notes(self) -> dict[str, str]:
        """The line to end each stream that was held back with."""
        return {c: HELD_BACK.format(count=n, channel=c) for c, n in self.held.items() if n}


def clip(text: str, limit: int) -> str:
    """Head and tail of `text` within about `limit` characters."""
    if len(text) <= limit:
        return text
    half = max(limit // 2, 1)
    return f"{text[:half]}\n… [{len(text) - 2 * half:,} characters cut] …\n{text[-half:]}"


def _png_size(data: str) -> str:
    try:
        head = base64.b64decode(data[:48])
    except ValueError:
        return ""
    if head[:8] != b"\x89PNG\r\n\x1a\n" or len(head) < 24:
        return ""
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    return f" {width}x{height}"


def describe_display(data: dict[str, Any], seen: str = "shown to the user") -> str:
    """A rich display as the model hears of it (`seen`: what became of a picture)."""
    for kind in ("image/png", "image/jpeg", "image/svg+xml"):
        if kind in data:
            size = _png_size(str(data[kind])) if kind == "image/png" else ""
            return f"[{kind}{size} {seen}]"
    if "text/plain" in data:
        return f"display: {clip(strip_ansi(str(data['text/plain'])), 1000)}"
    return f"[{', '.join(sorted(data))} shown to the user]"


class KernelExecutor:
    """Runs code in the shell's namespace with capture, a time limit and interrupts."""

    def __init__(
        self, shell: Any, *, timeout: float = 120.0, display_chars: int = DISPLAY_CHARS
    ) -> None:
        self.shell = shell
        self.timeout = timeout
        self.display_chars = display_chars
        self._armed = False
        self._timed_out = False
        self._lock = threading.Lock()

    def run(self, code: str) -> Execution:
        """Run `code` now, on this (the main) thread."""
        out = Execution()
        started = time.monotonic()
        self._timed_out = False
        with self._capture(out), self._interruptible():
            result = self.shell.run_cell(code, store_history=False)
        out.elapsed = time.monotonic() - started
        out.timed_out = self._timed_out
        error = result.error_before_exec or result.error_in_exec
        if isinstance(error, KeyboardInterrupt):
            out.interrupted = not out.timed_out
        elif error is not None:
            out.error = f"{type(error).__name__}: {error}\n{format_traceback(error, self.shell)}"
        if result.result is not None:
            try:
                out.result = repr(result.result)
            except Exception as exc:
                out.result = f"<repr failed: {type(exc).__name__}>"
        return out

    @contextlib.contextmanager
    def _capture(self, out: Execution) -> Any:
        sinks = {"stdout": out.stdout, "stderr": out.stderr}
        cap = DisplayCap(self.display_chars)
        tee = StreamTee(
            lambda channel, text: None if self._shell_talking() else sinks[channel].append(text),
            lambda channel, text: text if self._shell_talking() else cap(channel, text),
        )
        publisher: Any = getattr(self.shell, "display_pub", None)

        def hook(msg: dict[str, Any]) -> dict[str, Any]:
            if msg.get("header", {}).get("msg_type") == "display_data":
                data = msg.get("content", {}).get("data", {})
                if "image/png" in data or "image/jpeg" in data:
                    out.figures.append((len(out.displays), data))
                out.displays.append(describe_display(data))
            return msg

        hooked = hasattr(publisher, "register_hook")
        if hooked:
            publisher.register_hook(hook)
        try:
            with tee:
                yield
        finally:
            if hooked:
                publisher.unregister_hook(hook)
            for channel, note in cap.notes().items():
                stream = sys.stdout if channel == "stdout" else sys.stderr
                stream.write(note)

    def _shell_talking(self) -> bool:
        # A terminal shell prints tracebacks and `Out[n]:` to stdout; the model gets those
        # from `error` and `result` instead.
        displayhook = getattr(self.shell, "displayhook", None)
        return bool(
            getattr(self.shell, "showing_traceback", False)
            or getattr(displayhook, "is_active", False)
        )

    def _expire(self) -> None:
        with self._lock:
            if self._armed:
                self._timed_out = True
                signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    @contextlib.contextmanager
    def _interruptible(self) -> Any:
        if threading.current_thread() is not threading.main_thread():
            yield  # signals only reach the main thread: no limit off it
            return
        # Python's own handler: KeyboardInterrupt in the running code, with no extra frame.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        timer = threading.Timer(self.timeout, self._expire)
        timer.daemon = True
        self._armed = True
        timer.start()
        try:
            yield
        finally:
            with self._lock:
                self._armed = False  # a SIGINT still in flight is now ignored
            timer.cancel()
            signal.signal(signal.SIGINT, previous)
