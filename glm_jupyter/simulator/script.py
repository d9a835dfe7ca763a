"""Which turn answers a request, and whether that turn's fault fires this time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .scenario import Fault, Scenario, Turn

_DEFAULT = -1
_ECHO = -2


def after_tool_result(body: Mapping[str, Any]) -> bool:
    """Whether the request ends with tool results (an agent loop going on), perhaps followed by
    user messages that carry what the tools showed (pictures)."""
    messages = body.get("messages")
    for message in reversed(messages if isinstance(messages, list) else []):
        role = message.get("role") if isinstance(message, Mapping) else None
        if role != "user":
            return role == "tool"
    return False


def last_user_text(body: Mapping[str, Any]) -> str:
    """Text of the request's last user message ("" when there is none)."""
    messages = body.get("messages")
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, Mapping) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(
                    p["text"]
                    for p in content
                    if isinstance(p, Mapping) and isinstance(p.get("text"), str)
                )
            return ""
    return ""


def echo_turn(user_text: str) -> Turn:
    """The answer given when a scenario has no turn left and no default."""
    quoted = user_text if len(user_text) <= 200 else user_text[:200] + "..."
    return Turn(
        reasoning=f'The user wrote "{quoted}". A short reply that repeats it is enough.',
        content=f"Simulated answer to: {user_text}",
    )


@dataclass(frozen=True)
class Selection:
    """The turn chosen for one request and the fault to inject into it (None: serve it)."""

    turn: Turn
    fault: Fault | None


class Script:
    """Serves a scenario's turns in order; not thread-safe (the session holds a lock)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._consumed = [False] * len(scenario.turns)
        self._fired: dict[int, int] = {}
        self._previous = _ECHO  # the turn served last, for `repeat` continuations

    def _pick_repeating(self, user_text: str, after_tool: bool) -> int:
        turns = self.scenario.turns
        following = self._previous + 1
        if (
            after_tool
            and self._previous >= 0
            and turns[self._previous].tool_calls
            and following < len(turns)
            and turns[following].match is None
        ):
            return following
        for i, turn in enumerate(turns):
            if turn.match and turn.match.search(user_text):
                return i
        return _DEFAULT if self.scenario.default is not None else _ECHO

    def _pick(self, user_text: str, after_tool: bool) -> int:
        if self.scenario.repeat:
            return self._pick_repeating(user_text, after_tool)
        turns = self.scenario.turns
        for i, turn in enumerate(turns):
            if not self._consumed[i] and turn.match and turn.match.search(user_text):
                return i
        for i, turn in enumerate(turns):
            if not self._consumed[i] and turn.match is None:
                return i
        return _DEFAULT if self.scenario.default is not None else _ECHO

    def select(self, user_text: str, *, after_tool: bool = False) -> Selection:
        """Choose the turn for a request whose last user message is `user_text`."""
        index = self._pick(user_text, after_tool)
        if index >= 0:
            turn = self.scenario.turns[index]
        elif index == _DEFAULT and self.scenario.default is not None:
            turn = self.scenario.default
        else:
            turn = echo_turn(user_text)
        fault = turn.fault
        if fault is not None and self._fired.get(index, 0) < fault.times:
            # A faulted attempt leaves the turn in place, so a retry or re-run gets it again.
            self._fired[index] = self._fired.get(index, 0) + 1
            return Selection(turn, fault)
        if index >= 0:
            self._consumed[index] = True
        self._previous = index
        return Selection(turn, None)

    @property
    def remaining(self) -> int:
        """Number of scripted turns not yet served."""
        return self._consumed.count(False)
