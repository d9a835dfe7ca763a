"""Teaching: `%glm hint`, its targets and hint levels (the tutor's texts are in `prompts`).

The tutor persona replaces the assistant's system prompt; a person's own system prompt
(`--system`, `GLM.system`) is kept and added after the tutoring rules, as course-specific
instructions that refine them. Like any system prompt it is fixed per conversation, so a
change of persona starts a new conversation (with a note saying so).

`%glm hint` picks its target by these rules (student cells are the finished cells that are not
themselves `%glm`/`%%glm` cells):
1. `--cell N`: In [N] with its source, outputs and any error it raised.
2. No student cell has run since the last hint: the same target again, one level up.
3. A student cell has raised since the last hint (or ever, before the first hint): the newest
   such error, with its traceback and cell.
4. Otherwise the newest student cell, with its source and outputs.
Levels count per target (an error by its type and message, a clean cell by its number and
source): 1 a nudge or question, 2 the line or concept that matters, 3 a near-solution in words
(never the whole corrected code); asking again stays at 3. A new error starts every target
again at 1. A hint counts only once its answer has arrived in full.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import InputError
from . import prompts
from .request import ContextRequest, HintStep, HintTarget

if TYPE_CHECKING:
    from ..context.kernel_log import CellRecord, KernelLog

# --- hints ---------------------------------------------------------------------------------


def is_glm_cell(source: str) -> bool:
    """A cell that is a `%glm` line or a `%%glm` cell (asking, not the student's own code)."""
    head = source.lstrip()
    return head.startswith(("%glm", "%%glm"))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]


def _error_target(record: CellRecord, context: ContextRequest) -> HintTarget:
    error = record.error
    assert error is not None
    where = f" in In [{record.number}]" if record.number is not None else ""
    return HintTarget(
        key=f"error:{error.type_name}:{_digest(error.message)}",
        context=context,
        about="the error in the context above (its traceback and the cell that raised it)",
        label=f"{error.type_name}{where}",
        error=True,
    )


def _cell_target(record: CellRecord) -> HintTarget:
    number = record.number
    if number is None:
        raise InputError(
            "%glm hint: the last cell has no In [N] number to send; ask with --cell N."
        )
    return HintTarget(
        key=f"cell:{number}:{_digest(record.source)}",
        context=ContextRequest(cell_numbers=(number,)),
        about=(
            f"cell In [{number}] in the context above, which ran without an error: work out "
            "from its code and output what the student is trying to do, and help with the "
            "next step"
        ),
        label=f"In [{number}]",
        error=False,
    )


class HintTracker:
    """Hint levels per target for one session, and the last hint's target."""

    def __init__(self) -> None:
        self.levels: dict[str, int] = {}
        self.last: HintTarget | None = None
        self.newest: CellRecord | None = None  # the newest student cell at the last hint

    def next(self, log: KernelLog | None, number: int | None = None) -> HintStep:
        """The hint to give now (by the rules in the module docstring); nothing is counted."""
        cells = [c for c in (log.cells if log is not None else ()) if c.finished]
        student = [c for c in cells if not is_glm_cell(c.source)]
        newest = student[-1] if student else None
        if number is not None:
            record = log.cell(number) if log is not None else None
            if record is None:
                raise InputError(
                    f"%glm hint --cell {number}: In [{number}] has not run in this kernel, or is "
                    "older than the last 50 cells it keeps. Run it again, then ask."
                )
            target = self._cell(record)
        elif newest is None:
            raise InputError(
                "%glm hint: no cell has run yet in this kernel. Write some code, run it, then "
                "ask for a hint."
            )
        elif self.last is not None and newest is self.newest:
            target = self.last
        else:
            since = _after(student, self.newest)
            failed = [c for c in since if c.error is not None]
            if failed:
                record = failed[-1]
                target = _error_target(record, ContextRequest(error_record=record.error))
            else:
                target = _cell_target(newest)
        level = min(self.levels.get(target.key, 0) + 1, prompts.LEVELS)
        return HintStep(target, level, newest)

    @staticmethod
    def _cell(record: CellRecord) -> HintTarget:
        """`--cell N`: that cell with its outputs and error; an error keeps its own levels."""
        if record.error is not None and record.number is not None:
            target = _error_target(record, ContextRequest(cell_numbers=(record.number,)))
            return HintTarget(
                key=target.key,
                context=target.context,
                about=f"cell In [{record.number}] in the context above and the error it raised",
                label=target.label,
                error=True,
            )
        return _cell_target(record)

    def record(self, step: HintStep) -> None:
        """Count a hint that was given in full."""
        key = step.target.key
        if step.target.error and key not in self.levels:
            self.levels.clear()  # a new error: every target starts again at level 1
        self.levels[key] = step.level
        self.last = step.target
        self.newest = step.newest


def _after(cells: Sequence[CellRecord], mark: CellRecord | None) -> Sequence[CellRecord]:
    """The cells after `mark` (all of them when `mark` is None or no longer kept)."""
    for index in range(len(cells) - 1, -1, -1):
        if cells[index] is mark:
            return cells[index + 1 :]
    return cells
