"""Budgets: a student's tokens per day and in all, the course's tokens per day; where a
student stands, and the one line that says why a request is refused."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from ..config.policy import Policy
from .store import Override, Spent


@dataclass(frozen=True, slots=True)
class Budgets:
    """The limits in force for one student (None: no limit)."""

    per_day: int | None
    total: int | None
    course_per_day: int | None

    @classmethod
    def of(cls, policy: Policy | None, override: Override) -> Budgets:
        """The policy's budgets, with the instructor's override for this student laid over."""
        per_day = policy.student_tokens_per_day if policy else None
        total = policy.student_tokens_total if policy else None
        return cls(
            override.tokens_per_day if override.tokens_per_day is not None else per_day,
            override.tokens_total if override.tokens_total is not None else total,
            policy.course_tokens_per_day if policy else None,
        )


class Clock:
    """The course's day: its key in the database, and when the next one starts."""

    def __init__(self, zone: str = "UTC") -> None:
        self.zone_name = zone
        self.zone = ZoneInfo(zone)

    def now(self) -> dt.datetime:
        """The time in the course's zone."""
        return dt.datetime.now(self.zone)

    def day(self, at: dt.datetime | None = None) -> str:
        """The course's date, `YYYY-MM-DD`."""
        return (at or self.now()).astimezone(self.zone).date().isoformat()

    def next_reset(self, at: dt.datetime | None = None) -> dt.datetime:
        """The next midnight in the course's zone."""
        local = (at or self.now()).astimezone(self.zone)
        tomorrow = local.date() + dt.timedelta(days=1)
        return dt.datetime.combine(tomorrow, dt.time(0), tzinfo=self.zone)


@dataclass(frozen=True, slots=True)
class Standing:
    """Where one student stands against each budget."""

    student: str
    budgets: Budgets
    spent: Spent
    resets_at: dt.datetime

    def left(self) -> dict[str, int | None]:
        """Tokens left under each budget (None: no limit)."""
        b, s = self.budgets, self.spent
        return {
            "today": None if b.per_day is None else max(b.per_day - s.today, 0),
            "total": None if b.total is None else max(b.total - s.total, 0),
            "course_today": (
                None if b.course_per_day is None else max(b.course_per_day - s.course_today, 0)
            ),
        }

    def refusal(self, now: dt.datetime, advice: str = "") -> str | None:
        """Why the next request is refused, in one line, or None when some budget is left."""
        b, s = self.budgets, self.spent
        resets = f"it resets at {_clock(self.resets_at)} ({_in(self.resets_at - now)})"
        if b.total is not None and s.total >= b.total:
            line = (
                f"Your course budget of {b.total:,} tokens is used up ({s.total:,} used, 0 left); "
                "it does not reset: ask your instructor to raise it."
            )
        elif b.per_day is not None and s.today >= b.per_day:
            line = (
                f"Your daily budget of {b.per_day:,} tokens is used up ({s.today:,} used today, "
                f"0 left); {resets}."
            )
        elif b.course_per_day is not None and s.course_today >= b.course_per_day:
            line = (
                f"The course's daily budget of {b.course_per_day:,} tokens is used up for "
                f"everyone; {resets}."
            )
        else:
            return None
        return f"{line} {advice}".strip()

    def as_json(self) -> dict[str, Any]:
        """What `GET /v1/budget` answers, for the kernel's `%glm usage`."""
        b, s = self.budgets, self.spent
        return {
            "student": self.student,
            "limits": {"today": b.per_day, "total": b.total, "course_today": b.course_per_day},
            "used": {"today": s.today, "total": s.total, "course_today": s.course_today},
            "left": self.left(),
            "resets_at": self.resets_at.isoformat(),
            "zone": self.resets_at.tzname(),
        }


def _clock(at: dt.datetime) -> str:
    return f"{at:%H:%M} {at.tzname()}"


def _in(delta: dt.timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 1)
    hours, minutes = divmod(minutes, 60)
    return f"in {hours} h {minutes} min" if hours else f"in {minutes} min"
