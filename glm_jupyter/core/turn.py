"""One request in flight: what was asked, what was sent, what came back, and what to do next.

Pure decisions only (no I/O, no event loop): checking a structured answer, building the one
repair request, and finding code blocks in an answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..context.builder import ContextBlock
from ..errors import AnswerNotJSONError
from .structured import Schema, parse_json_text

if TYPE_CHECKING:
    from ..config.settings import Settings
    from ..context.kernel_log import ErrorRecord
    from ..display.render import Renderer
    from ..wire.client import Endpoint
    from .reply import Reply
    from .teaching import HintStep


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
    hint: HintStep | None = None  # `%glm hint`: counted once the answer has arrived in full
    notes: tuple[str, ...] = ()  # said under the answer


@dataclass
class Turn:
    """A request being answered."""

    request: Request
    settings: Settings
    endpoint: Endpoint
    payload: dict[str, Any]
    reply: Reply
    renderer: Renderer
    content: str  # the user message as sent
    blocks: list[ContextBlock] = field(default_factory=list)
    schema: Schema | None = None
    repair_of: Turn | None = None
    failure: BaseException | None = None
    value: Any = None  # the parsed (and built) structured answer

    @property
    def structured(self) -> bool:
        """The answer must be JSON."""
        return self.request.json or self.schema is not None

    def check(self) -> list[str]:
        """Parse (and validate) a structured answer; the problems, or [] with `value` set."""
        try:
            parsed = parse_json_text(self.reply.content.text)
        except ValueError as exc:
            return [f"not valid JSON: {exc}"]
        if self.schema is not None:
            problems = self.schema.errors(parsed)
            if problems:
                return problems
            self.value = self.schema.build(parsed)
        else:
            self.value = parsed
        return []

    def repair_prompt(self, problems: list[str]) -> str:
        """The one follow-up that asks for a corrected answer."""
        listed = "\n".join(f"- {p}" for p in problems[:20])
        target = "valid against the schema" if self.schema is not None else "valid JSON"
        return (
            f"Your answer was not {target}:\n{listed}\n\n"
            "Reply again with only the corrected JSON object: no prose, no code fence."
        )

    def give_up(self, problems: list[str]) -> AnswerNotJSONError:
        """The error after the repair failed too."""
        listed = "; ".join(problems[:5])
        return AnswerNotJSONError(
            f"The answer is still not usable JSON after one repair ({listed}). Both answers are "
            "shown above and kept as text; rephrase the question or loosen the schema."
        )


_PYTHON = frozenset({"", "python", "py", "ipython", "python3"})
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+-]*)")


def code_blocks(text: str) -> list[str]:
    """Python code blocks in an answer (fences tagged python, or not tagged at all).

    Read line by line, as Markdown does: a fence closes only with the same kind of fence, at
    least as long, so a closing fence is never taken for the opening of the next block.
    """
    blocks: list[str] = []
    opener: str | None = None
    language = ""
    lines: list[str] = []
    for line in text.splitlines():
        match = _FENCE.match(line)
        if opener is None:
            if match:
                opener, language, lines = match.group(1), match.group(2).lower(), []
        elif (
            match
            and match.group(1)[0] == opener[0]
            and len(match.group(1)) >= len(opener)
            and not match.group(2)
        ):
            if language in _PYTHON:
                blocks.append("\n".join(lines))
            opener = None
        else:
            lines.append(line)
    return blocks


def pick_block(blocks: list[str], wanted: int) -> str | None:
    """Block number `wanted` (1-based); with 0, the only block. None when a choice is needed."""
    if wanted > 0:
        if wanted > len(blocks):
            raise IndexError(f"--code {wanted}: the answer has {len(blocks)} code block(s).")
        return blocks[wanted - 1]
    return blocks[0] if len(blocks) == 1 else None
