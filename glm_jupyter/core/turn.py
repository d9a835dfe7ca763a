"""One request as it goes out, and the pure decisions about its answer.

Pure decisions only (no I/O, no event loop): checking a structured answer, building the one
repair request, and finding code blocks in an answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..context.builder import ContextBlock
from ..errors import AnswerNotJSONError
from ..messages import Image, Message
from . import prompts
from .request import Request
from .structured import Schema, parse_json_text

if TYPE_CHECKING:
    from ..config.settings import Settings
    from ..display.render import Renderer
    from ..reply import Reply
    from ..wire.client import Endpoint
    from ..wire.dialects import Dialect


@dataclass(frozen=True, kw_only=True)
class Turn:
    """One request as it is sent: what it says, where it goes, and where its answer streams."""

    settings: Settings
    endpoint: Endpoint
    dialect: Dialect
    payload: dict[str, Any]
    messages: tuple[Message, ...]  # what `payload` was built from
    reply: Reply
    renderer: Renderer
    request: Request = field(default_factory=lambda: Request(""))
    content: str = ""  # the user message as sent
    blocks: list[ContextBlock] = field(default_factory=list)
    images: tuple[Image, ...] = ()  # pictures sent with `content`
    schema: Schema | None = None
    repair_of: Turn | None = None

    @property
    def structured(self) -> bool:
        """The answer must be JSON."""
        return self.request.json or self.schema is not None

    def check(self) -> tuple[list[str], Any]:
        """Parse (and validate) a structured answer: its problems, or [] and its value."""
        try:
            parsed = parse_json_text(self.reply.content.text)
        except ValueError as exc:
            return [f"not valid JSON: {exc}"], None
        if self.schema is None:
            return [], parsed
        problems = self.schema.errors(parsed)
        return (problems, None) if problems else ([], self.schema.build(parsed))

    def repair_prompt(self, problems: list[str]) -> str:
        """The one follow-up that asks for a corrected answer."""
        listed = "\n".join(f"- {p}" for p in problems[:20])
        target = "valid against the schema" if self.schema is not None else "valid JSON"
        return prompts.REPAIR.format(target=target, problems=listed)

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
