"""What a completion request carries, the prompt made from it, and the answer made fit to
insert."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..core.prompts import COMPLETE_PROMPT, COMPLETE_SYSTEM, EDIT_PROMPT, EDIT_SYSTEM
from ..errors import InputError
from ..messages import Message

SOURCE_CHARS = 20_000  # of a cell to edit
PREFIX_CHARS = 4000  # of the cell before the cursor
SUFFIX_CHARS = 1000  # and after it
CELLS_CHARS = 3000  # of the cells above, the nearest kept
NAMES_CHARS = 2500  # of the kernel's names table
_FENCE = re.compile(r"^\s*```[\w+-]*\n|\n?```\s*$")


@dataclass(frozen=True)
class CompletionRequest:
    """The cell around the cursor and the cells above it, as the front end sends them."""

    prefix: str
    suffix: str = ""
    cells: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> CompletionRequest:
        """Read a request body; InputError says which field is wrong."""
        if not isinstance(data, dict) or not isinstance(data.get("prefix"), str):
            raise InputError(
                "A completion request needs `prefix`: the cell's text before the cursor."
            )
        suffix, cells = data.get("suffix", ""), data.get("cells", [])
        if not isinstance(suffix, str):
            raise InputError("`suffix` must be the cell's text after the cursor.")
        if not isinstance(cells, list) or not all(isinstance(c, str) for c in cells):
            raise InputError("`cells` must be a list of the sources of the cells above.")
        return cls(data["prefix"], suffix, tuple(cells))


@dataclass(frozen=True)
class EditRequest:
    """A cell to rewrite, what to do to it, and the cells above it."""

    source: str
    instruction: str
    cells: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> EditRequest:
        """Read a request body; InputError says which field is wrong."""
        if not isinstance(data, dict) or not isinstance(data.get("source"), str):
            raise InputError("An edit request needs `source`: the cell's text.")
        instruction, cells = data.get("instruction"), data.get("cells", [])
        if not isinstance(instruction, str) or not instruction.strip():
            raise InputError("Say what to change in the cell (`instruction`).")
        if len(data["source"]) > SOURCE_CHARS:
            raise InputError(f"The cell is over {SOURCE_CHARS:,} characters: split it first.")
        if not isinstance(cells, list) or not all(isinstance(c, str) for c in cells):
            raise InputError("`cells` must be a list of the sources of the cells above.")
        return cls(data["source"], instruction.strip(), tuple(cells))


def edit_messages(request: EditRequest, names: str) -> list[Message]:
    """The system prompt and the one user message of an edit."""
    user = EDIT_PROMPT.format(
        names=names[:NAMES_CHARS] or "(none yet)",
        cells=_cells_above(request.cells),
        source=request.source,
        instruction=request.instruction,
    )
    return [Message("system", EDIT_SYSTEM), Message("user", user)]


def new_source(text: str) -> str:
    """The model's answer as the cell's new source: fences off, no trailing blank lines."""
    return _FENCE.sub("", text.strip()).rstrip()


def _cells_above(cells: tuple[str, ...]) -> str:
    """The nearest cells above that fit the budget, in notebook order, each fenced."""
    kept: list[str] = []
    used = 0
    for source in reversed(cells):
        if not source.strip():
            continue
        block = f"```python\n{source.strip()}\n```"
        if used + len(block) > CELLS_CHARS:
            break
        kept.append(block)
        used += len(block)
    return "\n".join(reversed(kept)) or "(none)"


def messages(request: CompletionRequest, names: str) -> list[Message]:
    """The system prompt and the one user message of a completion."""
    user = COMPLETE_PROMPT.format(
        names=names[:NAMES_CHARS] or "(none yet)",
        cells=_cells_above(request.cells),
        prefix=request.prefix[-PREFIX_CHARS:],
        suffix=request.suffix[:SUFFIX_CHARS],
    )
    return [Message("system", COMPLETE_SYSTEM), Message("user", user)]


def insertion(text: str, request: CompletionRequest) -> str:
    """The model's answer as text to insert: fences off, and no repeat of what is already
    on the cursor's line before it."""
    text = _FENCE.sub("", text)
    line = request.prefix.rsplit("\n", 1)[-1]
    if line.strip() and text.startswith(line):
        text = text[len(line) :]
    return text.rstrip() if not request.suffix.strip() else text
