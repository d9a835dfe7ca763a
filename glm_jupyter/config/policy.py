"""The classroom policy file: its format, its checks, and where a process finds it.

See `core/guard.py` for how the policy is enforced, `docs/teaching.md` for instructors.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..durations import parse_duration
from ..errors import PolicyError
from .providers import PROVIDERS
from .settings import PERSONAS

POLICY_FILE = "glm_policy.json"
POLICY_ENV = "GLM_POLICY"


@dataclass(frozen=True)
class Policy:
    """The rules of one policy file; None (or True) means no limit."""

    path: Path
    persona: str | None = None
    models: tuple[str, ...] | None = None
    providers: tuple[str, ...] | None = None
    agent: bool = True
    auto: bool = True
    max_tokens_per_session: int | None = None
    max_tokens_per_request: int | None = None
    max_steps: int | None = None  # caps on each agent run: tool-calling turns,
    max_time: float | None = None  # seconds,
    max_cost: float | None = None  # and USD
    message: str = ""
    # Budgets the course gateway keeps (`glm_jupyter.gateway`); a kernel does not count them.
    student_tokens_per_day: int | None = None
    student_tokens_total: int | None = None
    course_tokens_per_day: int | None = None
    timezone: str = "UTC"  # where the gateway's day starts at midnight


_KEYS = (
    "persona",
    "models",
    "providers",
    "agent",
    "auto",
    "max_tokens_per_session",
    "max_tokens_per_request",
    "max_steps",
    "max_time",
    "max_cost",
    "message",
    "student_tokens_per_day",
    "student_tokens_total",
    "course_tokens_per_day",
    "timezone",
)


def _bad(path: Path, text: str) -> PolicyError:
    return PolicyError(
        f"The classroom policy file {path} cannot be used: {text} No request is sent until it "
        "is fixed (students: please tell your instructor)."
    )


def _strings(path: Path, key: str, value: Any, allowed: Sequence[str] = ()) -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise _bad(path, f"{key!r} must be a non-empty list of strings, got {value!r}.")
    items = tuple(v.strip() for v in value)
    unknown = [v for v in items if allowed and v.lower() not in allowed]
    if unknown:
        raise _bad(path, f"{key!r} names {unknown[0]!r}; known values: {', '.join(allowed)}.")
    return items


def _count(path: Path, key: str, value: Any, what: str = "tokens") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _bad(path, f"{key!r} must be a whole number of {what} above 0, got {value!r}.")
    return value


def _seconds(path: Path, key: str, value: Any) -> float:
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise _bad(path, f"{key!r}: {exc}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _bad(path, f'{key!r} must be a duration such as "2h" or "45m", got {value!r}.')
    return float(value)


def _usd(path: Path, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _bad(path, f"{key!r} must be a number of US dollars above 0, got {value!r}.")
    return float(value)


def _flag(path: Path, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _bad(path, f"{key!r} must be true or false, got {value!r}.")
    return value


def _zone(path: Path, value: Any) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad(
            path, f"'timezone' must be an IANA time zone such as \"Europe/Berlin\", got {value!r}."
        ) from None
    return str(value)


def parse_policy(data: Any, path: Path) -> Policy:
    """A policy from the file's parsed JSON; PolicyError names the file and the key."""
    if not isinstance(data, dict):
        raise _bad(path, f"it must hold one JSON object, not {type(data).__name__}.")
    for key in data:
        if key not in _KEYS:
            close = difflib.get_close_matches(str(key), _KEYS, n=1)
            close = close or [k for k in _KEYS if k.startswith(str(key))]
            guess = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
            raise _bad(path, f"unknown key {key!r}{guess}. Known keys: {', '.join(_KEYS)}.")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            continue  # null: no limit, as if the key were absent
        if key == "persona":
            if not isinstance(value, str) or value.strip().lower() not in PERSONAS:
                raise _bad(path, f"'persona' must be one of {', '.join(PERSONAS)}, got {value!r}.")
            values[key] = value.strip().lower()
        elif key == "models":
            values[key] = _strings(path, key, value)
        elif key == "providers":
            values[key] = tuple(p.lower() for p in _strings(path, key, value, tuple(PROVIDERS)))
        elif key in ("agent", "auto"):
            values[key] = _flag(path, key, value)
        elif key == "message":
            if not isinstance(value, str):
                raise _bad(path, f"'message' must be a string, got {value!r}.")
            values[key] = value.strip()
        elif key == "timezone":
            values[key] = _zone(path, value)
        elif key == "max_steps":
            values[key] = _count(path, key, value, "steps")
        elif key == "max_time":
            values[key] = _seconds(path, key, value)
        elif key == "max_cost":
            values[key] = _usd(path, key, value)
        else:
            values[key] = _count(path, key, value)
    return Policy(path=path, **values)


def read_policy(path: Path) -> Policy:
    """Read and check one policy file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _bad(path, "there is no such file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(path, f"it cannot be read ({exc}).") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(
            path, f"it is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})."
        ) from None
    return parse_policy(data, path)


def config_dirs(env: Mapping[str, str]) -> list[Path]:
    """Jupyter's config directories, admin-controlled first, the person's own last."""
    from jupyter_core import paths

    dirs = [*paths.SYSTEM_CONFIG_PATH, *paths.ENV_CONFIG_PATH]
    dirs += [d for d in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if d.strip()]
    if not env.get("JUPYTER_NO_CONFIG"):
        dirs.append(env.get("JUPYTER_CONFIG_DIR") or paths.jupyter_config_dir())
    unique = dict.fromkeys(Path(d).expanduser() for d in dirs)
    return list(unique)


def locate_policy(env: Mapping[str, str] | None = None) -> tuple[Path | None, str]:
    """The policy file and how it was found: `GLM_POLICY`, else the config directories.

    With no `env`, the answer for this process: worked out from `os.environ` the first time and
    kept, so that later changes to the environment (or reloading the extension) move nothing.
    """
    if env is None:
        return _process_policy()
    named = env.get(POLICY_ENV, "").strip()
    if named:
        return Path(named).expanduser(), POLICY_ENV
    for directory in config_dirs(env):
        candidate = directory / POLICY_FILE
        if candidate.is_file():
            return candidate, "Jupyter config directory"
    return None, ""


@functools.cache
def _process_policy() -> tuple[Path | None, str]:
    return locate_policy(dict(os.environ))
