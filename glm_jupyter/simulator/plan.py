"""Turn a scripted turn and a request into the tokens and counts of one response."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import chain
from typing import Any

from .dialects import Dialect, cost_usd, requested_effort, thinking_disabled
from .models import EFFORT_SHARE, ServedModel
from .scenario import Scenario, Turn
from .tokens import count_tokens, tokenize
from .words import generated_tokens


@dataclass(frozen=True)
class Counts:
    """Usage numbers of one response, before a dialect shapes them."""

    prompt: int
    cached: int
    reasoning: int
    completion: int
    total: int
    cost: float


@dataclass(frozen=True)
class PlannedCall:
    """A tool call as it goes on the wire."""

    index: int
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Plan:
    """Everything needed to write one response; token streams are lazy (`generate`)."""

    reasoning: Iterable[str]
    content: Iterable[str]
    tool_calls: tuple[PlannedCall, ...]
    stream_tools: bool
    finish_reason: str
    counts: Counts


def _call_id(d: Dialect) -> str:
    return d.tool_id_prefix + uuid.uuid4().hex[:24]


def _streams_tools(d: Dialect, scenario: Scenario, body: Mapping[str, Any]) -> bool:
    if d.tools == "fragments" or scenario.tool_stream:
        return True
    return d.tools == "request" and body.get("tool_stream") is True


def build_plan(
    turn: Turn,
    scenario: Scenario,
    d: Dialect,
    body: Mapping[str, Any],
    *,
    model: str,
    prompt_tokens: int,
    cached_tokens: int,
) -> Plan:
    """Plan the response to `body` from `turn`."""
    # A lower effort thinks less: that share of the scripted reasoning (all of it by default).
    share = (
        0.0
        if thinking_disabled(d, body)
        else EFFORT_SHARE.get(requested_effort(d, body) or "", 1.0)
    )
    reasoning: Iterable[str]
    content: Iterable[str]
    if turn.generate is not None:
        gen = turn.generate
        n_reasoning = _share(gen.reasoning_tokens, share)
        n_content = gen.content_tokens
        reasoning = generated_tokens(n_reasoning, gen.seed, "reasoning")
        content = generated_tokens(n_content, gen.seed, "content")
    else:
        scripted = tokenize(turn.reasoning)
        reasoning = scripted[: _share(len(scripted), share)]
        content = tokenize(turn.content)
        n_reasoning, n_content = len(reasoning), len(content)
    tag_tokens = 0
    if scenario.think_tags and n_reasoning:
        # Servers without a reasoning parser leave the thinking inside `content`.
        opening = [] if scenario.think_tags == "no_open" else ["<think>"]
        content = chain(opening, reasoning, ["</think>"], content)
        reasoning = []
        tag_tokens = len(opening) + 1
    calls = tuple(
        PlannedCall(i, call.id or _call_id(d), call.name, call.arguments)
        for i, call in enumerate(turn.tool_calls)
    )
    tool_tokens = sum(count_tokens(c.name) + count_tokens(c.arguments) for c in calls)
    return Plan(
        reasoning=reasoning,
        content=content,
        tool_calls=calls,
        stream_tools=_streams_tools(d, scenario, body),
        finish_reason=turn.finish_reason or ("tool_calls" if calls else "stop"),
        counts=_counts(
            turn.usage,
            model=model,
            extra=scenario.extra_models(),
            prompt=prompt_tokens,
            cached=cached_tokens,
            reasoning=n_reasoning,
            completion=n_reasoning + n_content + tag_tokens + tool_tokens,
        ),
    )


def _share(tokens: int, share: float) -> int:
    """`share` of `tokens`, at least one when there were any and the share is not nothing."""
    return 0 if share <= 0 or tokens <= 0 else max(1, round(tokens * share))


def _counts(
    overrides: Mapping[str, float],
    *,
    model: str,
    extra: Mapping[str, ServedModel],
    prompt: int,
    cached: int,
    reasoning: int,
    completion: int,
) -> Counts:
    prompt = int(overrides.get("prompt_tokens", prompt))
    cached = int(overrides.get("cached_tokens", cached))
    reasoning = int(overrides.get("reasoning_tokens", reasoning))
    completion = int(overrides.get("completion_tokens", completion))
    return Counts(
        prompt=prompt,
        cached=cached,
        reasoning=reasoning,
        completion=completion,
        total=int(overrides.get("total_tokens", prompt + completion)),
        cost=float(overrides.get("cost", cost_usd(model, prompt, cached, completion, extra))),
    )
