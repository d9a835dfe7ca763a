"""A student's budget at the course gateway (`GET v1/budget`), as `%glm usage` shows it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from .client import Endpoint
from .urls import join_url


def budget_line(endpoint: Endpoint, transport: httpx.BaseTransport | None = None) -> str:
    """One line on what the gateway lets this student use, or why it cannot be told."""
    headers = {"Authorization": f"Bearer {endpoint.api_key.reveal()}"} if endpoint.api_key else {}
    try:
        with httpx.Client(transport=transport, timeout=10) as client:
            response = client.get(join_url(endpoint.base_url, "/budget"), headers=headers)
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return f"Course gateway: the budget could not be read ({type(exc).__name__})."
    if response.status_code != 200 or not isinstance(data, dict):
        said = data.get("error", {}).get("message") if isinstance(data, dict) else None
        return f"Course gateway: {said or f'the budget could not be read ({response.status_code})'}"
    return describe(data)


def describe(data: dict[str, Any]) -> str:
    """The budget endpoint's answer in words."""
    limits, used, left = data.get("limits", {}), data.get("used", {}), data.get("left", {})
    parts = []
    if limits.get("today") is not None:
        parts.append(
            f"today {used.get('today', 0):,} of {limits['today']:,} tokens used, "
            f"{left.get('today', 0):,} left{_resets(data.get('resets_at'), data.get('zone'))}"
        )
    else:
        parts.append(f"today {used.get('today', 0):,} tokens used")
    if limits.get("total") is not None:
        parts.append(f"in all {used.get('total', 0):,} of {limits['total']:,}")
    if limits.get("course_today") is not None and not left.get("course_today"):
        parts.append("the course's budget for today is used up")
    return f"Course gateway ({data.get('student', '?')}): " + "; ".join(parts) + "."


def _resets(value: Any, zone: Any) -> str:
    try:
        at = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return ""
    minutes = max(int((at - dt.datetime.now(dt.timezone.utc)).total_seconds() // 60), 0)
    hours, minutes = divmod(minutes, 60)
    return f" (resets at {at:%H:%M} {zone or at.tzname() or ''}, in {hours} h {minutes} min)"
