"""The user message: context blocks in a fixed order, any schema instruction, the question last.

`{name}` in a prompt names a notebook variable: short scalars are written in place, anything
else (a DataFrame, a list...) is referred to by name and its summary joins the context blocks.
Braces that name no variable (JSON, dict literals, format specs) stay exactly as written, and
`{{name}}` is written as `{name}`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..messages import Image
from . import images
from .builder import ContextBlock

_BRACED = re.compile(r"\{\{([A-Za-z_]\w*)\}\}|\{([A-Za-z_]\w*)\}")
_INLINE_TYPES = (int, float, bool, complex)
_INLINE_CHARS = 200


def interpolate(
    prompt: str,
    namespace: dict[str, Any],
    block_for: Callable[[str, Any], ContextBlock],
    *,
    send_rows: bool,
) -> tuple[str, list[ContextBlock]]:
    """The prompt with `{name}` filled in, and the blocks the filled-in objects need."""
    blocks: dict[str, ContextBlock] = {}

    def fill(match: re.Match[str]) -> str:
        escaped, name = match.group(1), match.group(2)
        if escaped is not None:
            return "{" + escaped + "}"
        if name.startswith("_") or name not in namespace:
            return match.group(0)
        value = namespace[name]
        if _inline(value):
            return str(value) if send_rows else f"`{name}` ({type(value).__name__}, value withheld)"
        if name not in blocks:
            blocks[name] = block_for(name, value)
        return f"`{name}` (summarised in the context above)"

    text = _BRACED.sub(fill, prompt) if "{" in prompt else prompt
    return text, list(blocks.values())


def _inline(value: Any) -> bool:
    # Exact types only: a subclass's own __str__ or __len__ is the person's code, and its
    # summary (which runs none) goes with the context instead.
    if type(value) in _INLINE_TYPES or value is None:
        return True
    return type(value) is str and len(value) <= _INLINE_CHARS and "\n" not in value


def ordered(blocks: Iterable[ContextBlock]) -> list[ContextBlock]:
    """Blocks in the fixed order, each once."""
    unique = {b.order: b for b in blocks}
    return [unique[key] for key in sorted(unique)]


def user_message(blocks: list[ContextBlock], question: str, instruction: str = "") -> str:
    """Context, then any instruction (a JSON schema), then the question."""
    parts = []
    if blocks:
        parts.append("<context>\n" + "\n\n".join(b.text for b in blocks) + "\n</context>")
    if instruction:
        parts.append(instruction)
    parts.append(question)
    return "\n\n".join(parts)


def context_line(blocks: list[ContextBlock], pictures: Sequence[Image] = ()) -> str:
    """One line for the person: what context went with the question."""
    parts = [f"{b.label} ({b.brief})" for b in blocks]
    parts += [f"{p.label} ({images.sized(p)})" for p in pictures]
    return "Context sent: " + "; ".join(parts)


def picture_sent(picture: Image) -> dict[str, Any]:
    """What the response JSON records about a picture sent (a context item)."""
    return {"name": picture.label, "tokens": images.tokens(picture), "brief": picture.brief()}
