"""Keeping a long agent run's displays light: only the latest turns and steps stay whole.

Each model turn and each tool call has a display of its own. Once a few newer ones follow, an
older turn shows again without its reasoning and an older step card shrinks to one line, so a
run of hundreds of steps costs the notebook (and its saved file) a line per step; the run log
keeps everything.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from ..reply import TextBuffer
from .render import DisplayRenderer

if TYPE_CHECKING:
    from ..reply import Reply
    from .render import Renderer
    from .step import StepView

SHOWN_TURNS = 3
SHOWN_STEPS = 6
FOLDED_NOTE = "Reasoning folded away to keep the notebook light (the conversation keeps it)."


class Trail:
    """The displays of one run that are still shown whole."""

    def __init__(self, turns: int = SHOWN_TURNS, steps: int = SHOWN_STEPS) -> None:
        self._turns: deque[tuple[Renderer, Reply]] = deque()
        self._steps: deque[StepView] = deque()
        self._turn_limit, self._step_limit = turns, steps

    def turn(self, renderer: Renderer, reply: Reply) -> None:
        """A model turn finished; fold the oldest one still whole if there are too many."""
        self._turns.append((renderer, reply))
        while len(self._turns) > self._turn_limit:
            old_renderer, old = self._turns.popleft()
            if isinstance(old_renderer, DisplayRenderer) and old.reasoning:
                old.reasoning = TextBuffer()
                old.notes.append(FOLDED_NOTE)
                old_renderer.show_again(old)

    def step(self, view: StepView) -> None:
        """A step's card is on show; shrink the oldest one still whole if there are too many."""
        self._steps.append(view)
        while len(self._steps) > self._step_limit:
            self._steps.popleft().collapse()

    @property
    def open_steps(self) -> tuple[StepView, ...]:
        """The step cards still shown whole, oldest first."""
        return tuple(self._steps)
