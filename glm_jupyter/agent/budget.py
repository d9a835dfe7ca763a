"""An agent run's budgets in steps, time and money, checked between steps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import catalog
from ..durations import format_duration, parse_duration
from ..errors import InputError

if TYPE_CHECKING:
    from ..config.policy import Policy
    from ..config.settings import Settings
    from ..core.request import Request

CONTINUE = (
    "Everything so far is kept: `%glm resume` goes on with this run, with a new budget if "
    "you give one (--max-steps, --time, --max-cost)."
)


@dataclass(frozen=True)
class Stop:
    """The budget that ended a run, and what to tell the person."""

    which: str  # steps, time, cost
    message: str


@dataclass(frozen=True)
class Budget:
    """Most tool-calling steps, seconds and USD for one run (None: no limit)."""

    steps: int | None
    seconds: float | None
    usd: float | None
    capped: frozenset[str] = frozenset()  # the budgets the classroom policy set lower

    @classmethod
    def of(cls, request: Request, s: Settings, policy: Policy | None = None) -> Budget:
        """The flags' budget, else the settings' (0 or "" means no limit), within the
        classroom policy's caps."""
        steps = request.max_steps if request.max_steps is not None else s.max_steps
        try:
            seconds = parse_duration(s.max_time) if s.max_time.strip() else None
        except ValueError as exc:
            raise InputError(f"GLM.max_time: {exc}") from None
        asked = {"steps": steps or None, "time": seconds, "cost": s.max_cost or None}
        caps = {}
        if policy is not None:
            caps = {"steps": policy.max_steps, "time": policy.max_time, "cost": policy.max_cost}
        kept, capped = dict(asked), set()
        for which, cap in caps.items():
            mine = asked[which]
            if cap is not None and (mine is None or mine > cap):
                kept[which] = cap
                capped.add(which)
        steps_kept = kept["steps"]
        return cls(
            None if steps_kept is None else int(steps_kept),
            kept["time"],
            kept["cost"],
            frozenset(capped),
        )

    def _why(self, which: str, flag: str) -> str:
        return "the classroom policy's cap" if which in self.capped else flag

    def check_priced(self, model: str, provider: str) -> None:
        """Refuse a cost budget where there are no prices to count it with."""
        if self.usd is None:
            return
        from ..messages import Usage

        if catalog.cost(model, Usage(prompt_tokens=1_000_000), provider) is None:
            raise InputError(
                f"--max-cost needs prices, and glm-jupyter has none for {model} on {provider}. "
                "Budget the run with --max-steps or --time instead."
            )

    def spent(self, steps: int, elapsed: float, cost: float | None) -> Stop | None:
        """The budget that has run out, if any (checked before each request)."""
        if self.steps is not None and steps >= self.steps:
            why = self._why("steps", f"--max-steps {self.steps}")
            return Stop("steps", f"Stopped after {steps} steps ({why}). {CONTINUE}")
        if self.seconds is not None and elapsed >= self.seconds:
            why = self._why("time", "--time")
            return Stop(
                "time",
                f"Stopped: the time budget ({format_duration(self.seconds)}, {why}) ran out "
                f"after {steps} steps ({format_duration(elapsed)}). {CONTINUE}",
            )
        if self.usd is not None and cost is not None and cost >= self.usd:
            why = self._why("cost", "--max-cost")
            return Stop(
                "cost",
                f"Stopped: the cost budget (${self.usd:,.2f}, {why}) ran out after {steps} "
                f"steps (${cost:,.2f} spent). {CONTINUE}",
            )
        return None

    def left(self, steps: int, elapsed: float, cost: float | None) -> dict[str, str]:
        """What is left of each budget that is set, for the run's header."""
        left = {}
        if self.steps is not None:
            left["steps"] = f"{max(self.steps - steps, 0)} steps"
        if self.seconds is not None:
            left["time"] = format_duration(max(self.seconds - elapsed, 0))
        if self.usd is not None and cost is not None:
            left["cost"] = f"${max(self.usd - cost, 0):,.2f}"
        return left

    def as_dict(self) -> dict[str, float | None]:
        """The budgets as the run log keeps them (None: no limit)."""
        return {"steps": self.steps, "seconds": self.seconds, "usd": self.usd}

    def describe(self) -> str:
        """What is set, in one line."""
        parts = []
        if self.steps is not None:
            parts.append(f"{self.steps} steps")
        if self.seconds is not None:
            parts.append(format_duration(self.seconds))
        if self.usd is not None:
            parts.append(f"${self.usd:,.2f}")
        return ", ".join(parts) or "no limit"
