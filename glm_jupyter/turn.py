"""One request in flight: what was asked, what was sent, what came back, and what to do next.

Pure decisions only (no I/O, no event loop): checking a structured answer, building the one
repair request, and finding code blocks in an answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .context import ContextBlock
from .structured import AnswerNotJSONError, Schema, parse_json_text

if TYPE_CHECKING:
    from .client import Endpoint
    from .kernel_log import ErrorRecord
    from .render import Renderer
    from .reply import Reply
    from .settings import Settings


@dataclass(frozen=True)
class ContextRequest:
    """Which kernel context to send."""

    dataframes: tuple[str, ...] = ()
    variables: tuple[str, ...] = ()
    cells: int | None = None
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


_CODE = re.compile(r"```(python|py|ipython|python3)?[ \t]*\n(.*?)\n[ \t]*```", re.DOTALL)


def code_blocks(text: str) -> list[str]:
    """Python code blocks in an answer (fences tagged python, or not tagged at all)."""
    return [m.group(2) for m in _CODE.finditer(text)]


def pick_block(blocks: list[str], wanted: int) -> str | None:
    """Block number `wanted` (1-based); with 0, the only block. None when a choice is needed."""
    if wanted > 0:
        if wanted > len(blocks):
            raise IndexError(f"--code {wanted}: the answer has {len(blocks)} code block(s).")
        return blocks[wanted - 1]
    return blocks[0] if len(blocks) == 1 else None
