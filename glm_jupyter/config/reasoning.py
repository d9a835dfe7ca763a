"""Thinking and reasoning effort as the model in use takes them.

People ask in one vocabulary (`--think` / `--no-think`, `--effort low|medium|high|max`); models
differ: GLM-5.3 and later always think and only their effort can be lowered, GLM-5.2 tells
`high` from `max`, GLM-5.1 and earlier only switch thinking on and off. `settle` fits the request
to the model and says, in a note under the answer, where what is sent differs from what was
asked. How each provider spells the result on the wire is the dialect's business.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from . import catalog

if TYPE_CHECKING:
    from .catalog import Effort, ModelInfo
    from .settings import Settings


def settle(s: Settings) -> Settings:
    """`s` with thinking and effort fitted to its model (an unknown model gets them as asked)."""
    info = catalog.find(s.model, s.provider.name)
    if info is None or (s.thinking is None and s.effort is None):
        return s
    thinking, effort, notes = _fit(info, s.thinking, s.effort)
    if (thinking, effort) == (s.thinking, s.effort) and not notes:
        return s
    return dataclasses.replace(s, thinking=thinking, effort=effort, notes=(*s.notes, *notes))


def _fit(
    info: ModelInfo, thinking: bool | None, effort: str | None
) -> tuple[bool | None, str | None, list[str]]:
    name, levels = info.name, info.efforts
    if info.reasoning == "always" and thinking is False:
        if effort is None and levels:
            return (
                None,
                levels[0],
                [
                    f"{name} always thinks and cannot be switched off: --no-think sent the lowest "
                    f"effort ({levels[0]}) instead."
                ],
            )
        thinking = None
        note = f"{name} always thinks and cannot be switched off: the effort alone was sent."
        fitted, more = _level(name, levels, effort)
        return thinking, fitted, [note, *more]
    if effort is None:
        return thinking, None, []
    if thinking is False:
        return False, None, [f"thinking is off, so the effort ({effort}) was not sent."]
    if not levels:
        return (
            thinking,
            None,
            [
                f"{name} has no effort levels, only thinking on or off: the effort ({effort}) was "
                "not sent."
            ],
        )
    fitted, notes = _level(name, levels, effort)
    return thinking, fitted, notes


def _level(
    name: str, levels: tuple[Effort, ...], asked: str | None
) -> tuple[str | None, list[str]]:
    """The model's own level for an asked-for effort: the nearest at or above it, else its top."""
    if asked is None or not levels or asked in levels:
        return asked, []
    order = catalog.EFFORTS
    rank = order.index(asked) if asked in order else len(order) - 1
    fitted = next((lv for lv in levels if order.index(lv) >= rank), levels[-1])
    return fitted, [f"{name} takes the efforts {', '.join(levels)}: {asked} was sent as {fitted}."]
