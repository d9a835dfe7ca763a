"""Durations as people type them ("2h", "90m", "45s", "1h30m") and as the run header shows them."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([hms])")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0}
DURATIONS = '"2h", "90m", "45s", "1h30m" or a number of seconds'


def parse_duration(text: str) -> float:
    """Seconds in "2h", "90m", "45s", "1h30m" or a bare number of seconds."""
    spoken = text.strip().lower().replace(" ", "")
    try:
        seconds = float(spoken)
    except ValueError:
        parts = _PART.findall(spoken)
        if not parts or "".join(n + u for n, u in parts) != spoken:
            raise ValueError(f"{text!r} is not a duration: use {DURATIONS}.") from None
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a duration: it must be more than 0 seconds.")
    return seconds


def format_duration(seconds: float) -> str:
    """`45s`, `12m 05s`, `1h 30m`."""
    whole = max(int(seconds), 0)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"
