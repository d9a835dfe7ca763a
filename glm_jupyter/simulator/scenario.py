"""Scenario files: load, validate and hold the scripted turns the simulator serves."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn, Union, cast

from .dialects import DIALECTS
from .models import ServedModel

FaultKind = Literal["http_error", "cut", "malformed", "stream_error"]
ThinkTags = Literal[False, True, "no_open"]

_SCENARIO_KEYS = frozenset(
    {
        "dialect",
        "model",
        "turns",
        "default",
        "tool_stream",
        "think_tags",
        "repeat",
        "models",
        "description",
        "api_key",
    }
)
_MODEL_KEYS = frozenset(
    {"id", "context", "max_output", "input", "cached", "output", "images", "always_thinks"}
)
_TURN_KEYS = frozenset(
    {
        "match",
        "reasoning",
        "content",
        "tool_calls",
        "finish_reason",
        "generate",
        "replay",
        "usage",
        "fault",
        "first_byte_delay",
        "tokens_per_second",
        "description",
    }
)
_PAYLOAD_KEYS = ("reasoning", "content", "tool_calls", "generate", "replay")
_REPLAY_COMPANIONS = frozenset(
    {"replay", "match", "fault", "first_byte_delay", "tokens_per_second", "description"}
)
_KIND_KEYS: Mapping[str, frozenset[str]] = {
    "http_error": frozenset({"status", "code", "message", "retry_after"}),
    "cut": frozenset({"after_tokens"}),
    "malformed": frozenset({"after_tokens"}),
    "stream_error": frozenset({"after_tokens", "code", "message", "sse_event"}),
}
_GENERATE_KEYS = frozenset({"reasoning_tokens", "content_tokens", "seed"})
USAGE_KEYS = frozenset(
    {
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "cached_tokens",
        "reasoning_tokens",
        "cost",
    }
)
_TOOL_KEYS = frozenset({"name", "arguments", "id"})


class ScenarioError(ValueError):
    """A scenario that cannot be served; the message names the file, turn and key."""


@dataclass(frozen=True)
class Fault:
    """A failure injected into the responses of one turn, `times` times."""

    kind: FaultKind
    times: int = 1
    status: int = 500
    code: str | None = None
    message: str | None = None
    retry_after: float | None = None
    after_tokens: int = 0
    sse_event: bool = False


@dataclass(frozen=True)
class ScriptedCall:
    """A tool call a turn makes; `arguments` is the JSON text sent on the wire."""

    name: str
    arguments: str
    id: str | None = None


@dataclass(frozen=True)
class Generate:
    """Pseudo-text of a given length, reproducible from its seed."""

    reasoning_tokens: int = 0
    content_tokens: int = 0
    seed: int = 0


@dataclass(frozen=True)
class Turn:
    """One scripted answer."""

    match: re.Pattern[str] | None = None
    reasoning: str = ""
    content: str = ""
    tool_calls: tuple[ScriptedCall, ...] = ()
    finish_reason: str | None = None
    generate: Generate | None = None
    replay: bytes | None = None
    usage: Mapping[str, float] = field(default_factory=dict)
    fault: Fault | None = None
    first_byte_delay: float = 0.0
    tokens_per_second: float = 0.0


@dataclass(frozen=True)
class Scenario:
    """A validated script: turns in order, a fallback turn and dialect options."""

    turns: tuple[Turn, ...] = ()
    default: Turn | None = None
    dialect: str | None = None
    model: str | None = None
    tool_stream: bool = False
    think_tags: ThinkTags = False
    # Matched turns answer every time they match, unmatched ones only continue a tool call
    # (a notebook re-run, or a demo where several notebooks share one simulator).
    repeat: bool = False
    # Models this server serves beyond the simulator's table (a model newer than the client's
    # catalog): listed at `/models`, priced in usage.
    models: tuple[ServedModel, ...] = ()
    # The key a chat request must carry (`Authorization: Bearer ...`); None: any or none.
    api_key: str | None = None

    def extra_models(self) -> dict[str, ServedModel]:
        """The scenario's own models by id."""
        return {m.id: m for m in self.models}


ScenarioSource = Union[Scenario, Mapping[str, Any], str, "os.PathLike[str]", None]


def _fail(where: str, problem: str) -> NoReturn:
    raise ScenarioError(f"{where}: {problem}")


def _object(value: Any, where: str, allowed: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        _fail(where, f"must be a JSON object, got {value!r}")
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        _fail(where, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        _fail(where, f"must be a string, got {value!r}")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        _fail(where, f"must be true or false, got {value!r}")
    return value


def _int(value: Any, where: str, low: int = 0, high: int | None = None) -> int:
    # bool is an int subclass in Python, but `true` is never a sensible count in a scenario.
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        limit = f"from {low} to {high}" if high is not None else f">= {low}"
        _fail(where, f"must be an integer {limit}, got {value!r}")
    return value


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        _fail(where, f"must be a number of seconds >= 0, got {value!r}")
    return float(value)


def _fault(value: Any, where: str) -> Fault:
    if not isinstance(value, Mapping):
        _fail(where, f"must be a JSON object, got {value!r}")
    kind = value.get("kind")
    if not isinstance(kind, str) or kind not in _KIND_KEYS:
        _fail(f"{where}.kind", f"must be one of {', '.join(_KIND_KEYS)}, got {kind!r}")
    obj = _object(value, where, _KIND_KEYS[kind] | {"kind", "times"})
    status = _int(obj.get("status", 500), f"{where}.status", 400, 599)
    if kind == "http_error" and "status" not in obj:
        _fail(where, "an http_error fault needs 'status'")
    code = obj.get("code")
    if code is not None and not isinstance(code, str):
        _fail(f"{where}.code", f'must be a string such as "1302", got {code!r}')
    return Fault(
        kind=cast(FaultKind, kind),
        times=_int(obj.get("times", 1), f"{where}.times"),
        status=status,
        code=code,
        message=None if "message" not in obj else _str(obj["message"], f"{where}.message"),
        retry_after=(
            None
            if "retry_after" not in obj
            else _seconds(obj["retry_after"], f"{where}.retry_after")
        ),
        after_tokens=_int(obj.get("after_tokens", 0), f"{where}.after_tokens"),
        sse_event=_bool(obj.get("sse_event", False), f"{where}.sse_event"),
    )


def _tool_call(value: Any, where: str) -> ScriptedCall:
    obj = _object(value, where, _TOOL_KEYS)
    if "name" not in obj:
        _fail(where, "a tool call needs 'name'")
    arguments = obj.get("arguments", {})
    if isinstance(arguments, str):
        text = arguments  # sent verbatim, so a scenario can script malformed arguments
    elif isinstance(arguments, Mapping):
        text = json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
    else:
        _fail(f"{where}.arguments", f"must be an object or a JSON string, got {arguments!r}")
    call_id = obj.get("id")
    return ScriptedCall(
        name=_str(obj["name"], f"{where}.name"),
        arguments=text,
        id=None if call_id is None else _str(call_id, f"{where}.id"),
    )


def _usage(value: Any, where: str) -> dict[str, float]:
    obj = _object(value, where, USAGE_KEYS)
    usage: dict[str, float] = {}
    for key, number in obj.items():
        if key == "cost":
            if isinstance(number, bool) or not isinstance(number, (int, float)) or number < 0:
                _fail(f"{where}.cost", f"must be a number >= 0, got {number!r}")
            usage[key] = float(number)
        else:
            usage[key] = _int(number, f"{where}.{key}")
    return usage


def _read_replay(value: Any, where: str, base_dir: Path) -> bytes:
    path = Path(_str(value, where))
    if not path.is_absolute():
        path = base_dir / path
    try:
        return path.read_bytes()
    except OSError as exc:
        _fail(where, f"cannot read {path}: {exc.strerror or exc}")


def _turn(value: Any, where: str, base_dir: Path, *, allow_match: bool = True) -> Turn:
    obj = _object(value, where, _TURN_KEYS if allow_match else _TURN_KEYS - {"match"})
    if not any(key in obj for key in _PAYLOAD_KEYS):
        _fail(where, f"says nothing: give at least one of {', '.join(_PAYLOAD_KEYS)}")
    if "replay" in obj:
        extra = sorted(set(obj) - _REPLAY_COMPANIONS)
        if extra:
            _fail(where, f"'replay' cannot be combined with {extra[0]!r}")
    if "generate" in obj and ("reasoning" in obj or "content" in obj):
        _fail(where, "'generate' cannot be combined with 'reasoning' or 'content'")
    match = None
    if "match" in obj:
        pattern = _str(obj["match"], f"{where}.match")
        try:
            match = re.compile(pattern)
        except re.error as exc:
            _fail(f"{where}.match", f"is not a valid regular expression: {exc}")
    generate = None
    if "generate" in obj:
        gen = _object(obj["generate"], f"{where}.generate", _GENERATE_KEYS)
        at = f"{where}.generate"
        generate = Generate(
            reasoning_tokens=_int(gen.get("reasoning_tokens", 0), f"{at}.reasoning_tokens"),
            content_tokens=_int(gen.get("content_tokens", 0), f"{at}.content_tokens"),
            seed=_int(gen.get("seed", 0), f"{at}.seed"),
        )
    calls = obj.get("tool_calls", [])
    if not isinstance(calls, list):
        _fail(f"{where}.tool_calls", f"must be a list, got {calls!r}")
    fault = None if "fault" not in obj else _fault(obj["fault"], f"{where}.fault")
    if fault and "replay" in obj and fault.kind != "http_error":
        _fail(f"{where}.fault", "a replay turn only takes an http_error fault")
    finish = obj.get("finish_reason")
    return Turn(
        match=match,
        reasoning=_str(obj.get("reasoning", ""), f"{where}.reasoning"),
        content=_str(obj.get("content", ""), f"{where}.content"),
        tool_calls=tuple(_tool_call(c, f"{where}.tool_calls[{i}]") for i, c in enumerate(calls)),
        finish_reason=None if finish is None else _str(finish, f"{where}.finish_reason"),
        generate=generate,
        replay=(
            None
            if "replay" not in obj
            else _read_replay(obj["replay"], f"{where}.replay", base_dir)
        ),
        usage={} if "usage" not in obj else _usage(obj["usage"], f"{where}.usage"),
        fault=fault,
        first_byte_delay=_seconds(obj.get("first_byte_delay", 0), f"{where}.first_byte_delay"),
        tokens_per_second=_seconds(obj.get("tokens_per_second", 0), f"{where}.tokens_per_second"),
    )


def _price(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        _fail(where, f"must be a price of 0 or more (USD per 1M tokens), got {value!r}")
    return float(value)


def _model(value: Any, where: str) -> ServedModel:
    obj = _object(value, where, _MODEL_KEYS)
    if "id" not in obj:
        _fail(where, "needs an 'id'")
    return ServedModel(
        id=_str(obj["id"], f"{where}.id"),
        context=_int(obj.get("context", 0), f"{where}.context"),
        max_output=_int(obj.get("max_output", 0), f"{where}.max_output"),
        prices=tuple(  # type: ignore[arg-type]
            _price(obj.get(k, 0), f"{where}.{k}") for k in ("input", "cached", "output")
        ),
        images=_bool(obj.get("images", False), f"{where}.images"),
        always_thinks=_bool(obj.get("always_thinks", False), f"{where}.always_thinks"),
    )


def parse_scenario(
    data: Any, *, origin: str = "scenario", base_dir: Path | None = None
) -> Scenario:
    """Validate a decoded scenario; `origin` prefixes error messages, `base_dir` anchors replays."""
    base = base_dir if base_dir is not None else Path.cwd()
    obj = _object(data, origin, _SCENARIO_KEYS)
    turns = obj.get("turns", [])
    if not isinstance(turns, list):
        _fail(f"{origin}: turns", f"must be a list, got {turns!r}")
    dialect = obj.get("dialect")
    if dialect is not None and dialect not in DIALECTS:
        _fail(f"{origin}: dialect", f"must be one of {', '.join(DIALECTS)}, got {dialect!r}")
    think_tags = obj.get("think_tags", False)
    if not (isinstance(think_tags, bool) or think_tags == "no_open"):
        _fail(f"{origin}: think_tags", f'must be true, false or "no_open", got {think_tags!r}')
    model = obj.get("model")
    return Scenario(
        turns=tuple(_turn(t, f"{origin}: turns[{i}]", base) for i, t in enumerate(turns)),
        default=(
            None
            if "default" not in obj
            else _turn(obj["default"], f"{origin}: default", base, allow_match=False)
        ),
        dialect=dialect,
        model=None if model is None else _str(model, f"{origin}: model"),
        tool_stream=_bool(obj.get("tool_stream", False), f"{origin}: tool_stream"),
        think_tags=think_tags,
        repeat=_bool(obj.get("repeat", False), f"{origin}: repeat"),
        models=tuple(_model(m, f"{origin}: models[{i}]") for i, m in enumerate(_list(obj, origin))),
        api_key=None if obj.get("api_key") is None else _str(obj["api_key"], f"{origin}: api_key"),
    )


def _list(obj: Mapping[str, Any], origin: str) -> list[Any]:
    models = obj.get("models", [])
    if not isinstance(models, list):
        _fail(f"{origin}: models", f"must be a list, got {models!r}")
    return models


def load_scenario(source: ScenarioSource) -> Scenario:
    """A Scenario from a Scenario, a dict, a path to a JSON file, or None (the echo script)."""
    if source is None:
        return Scenario()
    if isinstance(source, Scenario):
        return source
    if isinstance(source, Mapping):
        return parse_scenario(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read scenario: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{path}: not valid JSON: {exc}") from None
    return parse_scenario(data, origin=str(path), base_dir=path.parent)
