"""What a person asks for: the prompt, the flags that shape it, and the context to send."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import prompts

if TYPE_CHECKING:
    from ..context.kernel_log import CellRecord, ErrorRecord


@dataclass(frozen=True)
class ContextRequest:
    """Which kernel context to send."""

    dataframes: tuple[str, ...] = ()
    variables: tuple[str, ...] = ()
    cells: int | None = None
    cell_numbers: tuple[int, ...] = ()  # --cell N: particular cells by execution count
    error: bool = False
    notebook: str | None = None  # "" means this notebook
    error_record: ErrorRecord | None = None  # a particular error rather than the last one
    images: tuple[str, ...] = ()  # --image NAME: pictures, for a model that sees
    figure: bool = False  # --figure: the last picture a cell displayed


@dataclass
class Request:
    """What a person asked for: the prompt and the flags that shape it."""

    prompt: str
    flags: Mapping[str, Any] = field(default_factory=dict)  # settings overrides
    out: str | None = None
    json: bool = False
    new: bool = False
    context: ContextRequest = field(default_factory=ContextRequest)
    schema: str | None = None  # name of a schema object in the namespace
    code: int | None = None  # --code: 0 places the only block (or asks), N places block N
    agent: bool = False
    auto: bool = False
    max_steps: int | None = None
    resume: str | None = None  # `%glm resume [ID]`: the run to go on with ("" the newest)
    hint: HintStep | None = None  # `%glm hint`: counted once the answer has arrived in full
    notes: tuple[str, ...] = ()  # said under the answer


@dataclass(frozen=True)
class HintTarget:
    """What a hint is about: its identity, the context to send, and words for people."""

    key: str
    context: ContextRequest
    about: str  # for the model: "the error in the context above"
    label: str  # for the person: "ZeroDivisionError in In [5]"
    error: bool


@dataclass(frozen=True)
class HintStep:
    """One hint to give: its target, level, and the newest student cell when it was asked."""

    target: HintTarget
    level: int
    newest: CellRecord | None

    def prompt(self) -> str:
        """The question sent to the model."""
        return prompts.HINT_PROMPT.format(
            about=self.target.about,
            level=self.level,
            levels=prompts.LEVELS,
            instruction=prompts.HINT_LEVELS[self.level],
        )

    def note(self) -> str:
        """The line shown under the hint."""
        if self.level < prompts.LEVELS:
            more = "run `%glm hint` again for a more specific one."
        else:
            more = "the last level: ask for the solution when you want it (`%glm fix`)."
        return f"Hint {self.level} of {prompts.LEVELS} about {self.target.label}: {more}"
