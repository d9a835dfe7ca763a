"""The state one simulator shares between its request threads, behind one lock."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .dialects import Dialect, dialect
from .scenario import Fault, Scenario, Turn
from .script import Script, after_tool_result, last_user_text
from .tokens import PrefixCache, Prompt, prompt_text


@dataclass(frozen=True)
class Served:
    """What a chat request gets: its turn, the fault to inject, and its prompt counts."""

    turn: Turn
    fault: Fault | None
    scenario: Scenario
    dialect: Dialect
    prompt_tokens: int
    cached_tokens: int


class Session:
    """Scenario progress, context cache and request log of one simulator."""

    def __init__(
        self, scenario: Scenario, dialect_name: str | None = None, keep_bodies: int | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._keep_bodies = keep_bodies
        self._fixed = dialect(dialect_name) if dialect_name is not None else None
        self._script = Script(scenario)
        self._cache = PrefixCache()
        self._requests: list[dict[str, Any]] = []

    def _dialect(self) -> Dialect:
        # An explicit dialect wins; otherwise the scenario's own, then Z.ai's.
        return self._fixed or dialect(self._script.scenario.dialect or "zai")

    @property
    def dialect(self) -> Dialect:
        """The dialect responses are shaped in."""
        with self._lock:
            return self._dialect()

    @property
    def scenario(self) -> Scenario:
        """The scenario being served."""
        with self._lock:
            return self._script.scenario

    def record(self, entry: dict[str, Any]) -> None:
        """Append one received request to the log."""
        with self._lock:
            self._requests.append(entry)
            keep = self._keep_bodies
            if keep is not None and len(self._requests) > keep:
                # A long run's prompts add up to gigabytes: older entries keep all but them.
                old = self._requests[-keep - 1]
                old["body"], old["raw_body"] = None, ""

    def requests(self) -> list[dict[str, Any]]:
        """A copy of the request log, oldest first."""
        with self._lock:
            return list(self._requests)

    def reset(self, *, turns: bool = False) -> None:
        """Forget requests and cached prompts; with `turns`, also start the script again."""
        with self._lock:
            self._requests.clear()
            self._cache.clear()
            if turns:
                self._script = Script(self._script.scenario)

    def set_scenario(self, scenario: Scenario) -> None:
        """Serve a new scenario from its first turn."""
        with self._lock:
            self._script = Script(scenario)

    def serve(self, body: Mapping[str, Any]) -> Served:
        """Choose the turn for a chat request and measure its prompt against the cache."""
        # Tokenizing happens outside the lock: long prompts must not stall other requests.
        prompt = Prompt.of(prompt_text(body))
        user_text = last_user_text(body)
        with self._lock:
            selection = self._script.select(user_text, after_tool=after_tool_result(body))
            cached = self._cache.cached_tokens(prompt)
            # A request refused with an HTTP error never reached the model, so caches nothing.
            if selection.fault is None or selection.fault.kind != "http_error":
                self._cache.add(prompt)
            return Served(
                turn=selection.turn,
                fault=selection.fault,
                scenario=self._script.scenario,
                dialect=self._dialect(),
                prompt_tokens=prompt.tokens,
                cached_tokens=cached,
            )
