"""Progress of a batch: counts the workers update, a bar that shows them at most ~10 times a
second (ipywidgets in a kernel, one rewritten line on stderr in a terminal, or nothing), and the
lines said before and after it (the cost estimate, the summary)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from ..config import catalog
from ..messages import Usage

INTERVAL = 0.1  # seconds between refreshes: ~10 a second at most


@dataclass
class Tally:
    """Running counts of one batch (written by the workers, read by the bar)."""

    total: int
    model: str
    provider: str = ""
    cached: int = 0
    done: int = 0  # answered now, successfully
    failed: int = 0
    requests: int = 0  # HTTP requests sent, retries included
    rate_limited: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    cost_known: bool = True
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None

    @property
    def finished(self) -> int:
        """Items with a final outcome, cache hits included."""
        return self.cached + self.done + self.failed

    @property
    def elapsed(self) -> float:
        """Seconds since the batch started (until it ended)."""
        return (self.ended or time.monotonic()) - self.started

    @property
    def rate(self) -> float:
        """Items answered by the server per second."""
        return (self.done + self.failed) / self.elapsed if self.elapsed > 0 else 0.0

    def spent(self, usage: Usage | None) -> None:
        """Count one response's tokens and cost."""
        if usage is None:
            return
        self.tokens += usage.prompt_tokens + usage.completion_tokens
        cost = catalog.cost(self.model, usage, self.provider)
        if cost is None:
            self.cost_known = False
        else:
            self.cost_usd += cost

    def cost_text(self) -> str:
        """`$0.0123`, or `cost n/a` for a model without a known price."""
        return f"${self.cost_usd:.4f}" if self.cost_known else "cost n/a"

    def line(self) -> str:
        """One status line."""
        parts = [
            f"{self.finished:,}/{self.total:,}",
            f"{self.rate:.1f} items/s",
            f"{self.tokens:,} tokens",
            self.cost_text(),
        ]
        if self.cached:
            parts.append(f"{self.cached:,} cached")
        if self.failed:
            parts.append(f"{self.failed:,} failed")
        if self.rate_limited:
            parts.append(f"{self.rate_limited:,} rate-limited")
        return " · ".join(parts)

    def summary(self, where: str) -> str:
        """The line at the end: `998 done, 2 failed: see ...`."""
        answered = self.done + self.cached
        text = f"{answered:,} done"
        if self.cached:
            text += f" ({self.cached:,} from the cache)"
        if self.failed:
            text += f", {self.failed:,} failed: {where}"
        return f"{text} · {self.tokens:,} tokens · {self.cost_text()} · {self.elapsed:.1f} s"


class Bar(Protocol):
    """What the batch needs from a progress display."""

    def update(self, tally: Tally) -> None:
        """Show the current counts."""

    def close(self, tally: Tally, message: str, ok: bool) -> None:
        """Show the final state."""


class NoBar:
    """`progress=False`."""

    def update(self, tally: Tally) -> None:
        """Nothing to show."""

    def close(self, tally: Tally, message: str, ok: bool) -> None:
        """Nothing to show."""


class TextBar:
    """One line on stderr, rewritten in place (only where stderr is a terminal)."""

    WIDTH = 24

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stderr
        self._shown = False

    def update(self, tally: Tally) -> None:
        """Rewrite the line."""
        filled = self.WIDTH * tally.finished // max(tally.total, 1)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self._out.write(f"\r\x1b[2K[{bar}] {tally.line()}")
        self._out.flush()
        self._shown = True

    def close(self, tally: Tally, message: str, ok: bool) -> None:
        """Leave the last state on its line."""
        if self._shown:
            self.update(tally)
            self._out.write("\n")
            self._out.flush()


class WidgetBar:
    """An IntProgress and an HTML label, displayed once in the cell and updated in place.

    The display also carries the counts as plain text, rewritten at the end, so a notebook
    read where widgets do not render (GitHub, nbconvert) still shows how the batch went.
    """

    def __init__(self, total: int) -> None:
        import ipywidgets as widgets
        from IPython import display as ipd

        display: Any = ipd.display  # untyped

        self._progress: Any = widgets.IntProgress(
            value=0, min=0, max=max(total, 1), description="GLM batch"
        )
        self._label: Any = widgets.HTML(value="starting...")
        self._box: Any = widgets.HBox([self._progress, self._label])
        self._handle: Any = display(
            self._bundle(f"{total:,} items, starting..."), raw=True, display_id=True
        )

    def _bundle(self, text: str) -> dict[str, Any]:
        data: dict[str, Any] = dict(self._box._repr_mimebundle_())
        data["text/plain"] = f"GLM batch: {text}"
        return data

    def update(self, tally: Tally) -> None:
        """Move the bar and rewrite the label."""
        self._progress.value = tally.finished
        self._label.value = _html(tally.line())

    def close(self, tally: Tally, message: str, ok: bool) -> None:
        """Final counts and the summary, coloured by outcome."""
        self._progress.value = tally.finished
        self._progress.bar_style = "success" if ok and not tally.failed else "warning"
        self._label.value = _html(message)
        if self._handle is not None:
            self._handle.update(self._bundle(message), raw=True)


def _html(text: str) -> str:
    import html

    return f"<span style='font-family: monospace'>{html.escape(text)}</span>"


def in_kernel() -> bool:
    """Running in a Jupyter kernel (where widgets have a front end), not a terminal."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def make_bar(enabled: bool, total: int) -> Bar:
    """The right bar for where this runs."""
    if not enabled:
        return NoBar()
    if in_kernel():
        return WidgetBar(total)
    if sys.stderr.isatty():
        return TextBar()
    return NoBar()


def show_line(text: str, *, markdown: bool = True) -> None:
    """A line for the person: in the cell's output in a kernel, on stderr in a terminal."""
    if not in_kernel():
        print(text, file=sys.stderr)
    elif markdown:
        from IPython import display as ipd

        shown: Any = ipd  # IPython's display functions are untyped
        shown.display(shown.Markdown(text))
    else:
        print(text)
