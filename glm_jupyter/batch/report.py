"""What the latest batch did: counts, cost and errors, for results that cannot carry them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..display.progress import Tally


@dataclass(frozen=True)
class Report:
    """What the latest batch in this process did."""

    summary: str
    total: int
    done: int
    cached: int
    failed: int
    requests: int
    rate_limited: int
    tokens: int
    cost_usd: float | None
    elapsed_s: float
    errors: dict[Any, str] = field(default_factory=dict)
    status: str = "done"  # "done", "interrupted" or "stopped"

    @classmethod
    def of(cls, t: Tally, summary: str, errors: dict[Any, str], status: str) -> Report:
        """The report of a batch whose counts are `t`."""
        return cls(
            summary,
            t.total,
            t.done + t.cached,
            t.cached,
            t.failed,
            t.requests,
            t.rate_limited,
            t.tokens,
            t.cost_usd if t.cost_known else None,
            round(t.elapsed, 3),
            errors,
            status,
        )


_last: list[Report] = []


def keep(report: Report) -> None:
    """Remember the latest report."""
    _last[:] = [report]


def last_report() -> Report | None:
    """The report of the latest batch (polars results have no attrs to carry their errors)."""
    return _last[-1] if _last else None
