"""A batch before it runs: settings, one request body and cache key per item, and how to read
each answer (text, JSON, or a schema's type)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config.providers import ThinkTags
from ..config.settings import GLM, Settings, resolve
from ..core.guard import PolicyGuard
from ..core.structured import Schema, parse_json_text, schema_for
from ..messages import Message
from ..wire.dialects import build_request
from .cache import request_key
from .inputs import Source, Template, read
from .outputs import Outcome

# Fixed for every item, so the provider's context cache serves this prefix across the batch; and
# short-answer oriented, since every extra token is paid once per item.
BATCH_SYSTEM = (
    "You are GLM, processing one item of a batch for a Jupyter notebook. Answer exactly what is "
    "asked about this item, concisely, with no preamble."
)


@dataclass(frozen=True)
class Overrides:
    """Keyword settings of one call; None: from `GLM` config, the environment, or the default."""

    model: str | None = None
    provider: str | None = None
    temperature: float | None = None
    thinking: bool | None = None
    max_tokens: int | None = None
    system: str | None = None
    # How they were given, for messages: `map(model=...)` keywords or the magic's flags.
    given_as: str = "argument"


def settings_for(
    overrides: Overrides,
    config: GLM | None = None,
    env: Mapping[str, str] | None = None,
    guard: PolicyGuard | None = None,
) -> Settings:
    """Keyword overrides > `GLM` traitlets config > environment > defaults, as for the magics,
    then what the classroom policy fixes (ClassroomLimitError for a choice it forbids)."""
    config = config or GLM()
    env = os.environ if env is None else env
    thinking = overrides.thinking
    if thinking is None:
        # Thinking is off unless asked for (here or in GLM config): reasoning tokens are billed
        # as output, often several times the answer, and a batch pays them once per item.
        thinking = config.thinking if config.thinking is not None else False
    flags = {
        "model": overrides.model,
        "provider": overrides.provider,
        "temperature": overrides.temperature,
        "thinking": thinking,
        "max_tokens": overrides.max_tokens,
        "system": overrides.system,
    }

    def settle(environ: Mapping[str, str]) -> Settings:
        s = resolve(config, flags, environ)
        if overrides.given_as == "flag":
            return s
        given = {k: overrides.given_as if v == "flag" else v for k, v in s.sources.items()}
        return dataclasses.replace(s, sources=given)

    s = settle(env)
    if guard is None:
        return s
    # The policy's provider, when only a default chose one (GLM_BASE_URL still applies).
    return guard.shape(s, lambda provider: settle({**env, "GLM_PROVIDER": provider}))


def think_tags(s: Settings) -> ThinkTags:
    """How `<think>` tags in content are read (as the session reads them)."""
    tags = s.provider.think_tags
    return "leading" if tags == "untagged" and s.thinking is False else tags


@dataclass
class Job:
    """Everything a batch sends, decided before the first request."""

    source: Source
    template: Template
    settings: Settings
    schema: Schema | None
    json: bool
    messages: list[list[Message]]
    payloads: list[dict[str, Any]]
    keys: list[str]

    @property
    def fields(self) -> list[str] | None:
        """The schema's top-level properties: the columns of a frame result."""
        if self.schema is None:
            return None
        properties = self.schema.schema.get("properties")
        return list(properties) if isinstance(properties, dict) and properties else None

    def judge(self, text: str, *, cached: bool = False) -> Outcome:
        """One answer as an outcome: the text, or its JSON checked against the schema."""
        if not (self.json or self.schema is not None):
            return Outcome(text, text, None, None, cached)
        try:
            parsed = parse_json_text(text)
        except ValueError as exc:
            return Outcome(text, error=f"the answer is not valid JSON ({exc})", cached=cached)
        if self.schema is None:
            return Outcome(text, parsed, parsed, None, cached)
        problems = self.schema.errors(parsed)
        if problems:
            listed = "; ".join(problems[:5])
            return Outcome(text, error=f"the answer does not fit the schema: {listed}")
        try:
            value = self.schema.build(parsed)
        except Exception as exc:  # a pydantic validator stricter than the JSON schema
            return Outcome(text, error=f"the answer does not fit the schema: {exc}")
        return Outcome(text, value, parsed, None, cached)


def plan(
    prompt: str,
    items: Any,
    *,
    overrides: Overrides,
    schema: Any = None,
    json: bool = False,
    column: str | None = None,
    config: GLM | None = None,
    env: Mapping[str, str] | None = None,
    guard: PolicyGuard | None = None,
) -> Job:
    """Read the input and settle every request; errors here happen before anything is sent."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("map() needs a prompt: a non-empty string.")
    source = read(items)
    template = Template.of(prompt, source, column)
    s = settings_for(overrides, config, env, guard)
    shape = None
    if schema is not None:
        shape = schema_for(schema, getattr(schema, "__name__", "schema"))
        # Made now, not when the first answer arrives: inside the batch's loop (the kernel's,
        # for the magic) a slow import would freeze the progress bar.
        _ = shape.validator
    system = Message("system", s.system or BATCH_SYSTEM)
    messages, payloads, keys = [], [], []
    for row in source.rows(template.fields):
        question = template.render(row)
        content = f"{shape.prompt()}\n\n{question}" if shape is not None else question
        conversation = [system, Message("user", content)]
        body = build_request(
            s.provider,
            model=s.model,
            messages=conversation,
            thinking=s.thinking,
            temperature=s.temperature,
            max_tokens=s.max_tokens,
            extra=s.extra_body,
            json_mode=json or shape is not None,
            # Whole answers, not streams: nobody watches a batch token by token, one JSON body
            # parses cheaper than an event per token, and a body read to its end hands the
            # connection back to the pool (a new TLS handshake per item would cost more than
            # the answer takes).
            stream=False,
        )
        messages.append(conversation)
        payloads.append(body)
        keys.append(request_key(s.provider.name, s.base_url, body, shape.schema if shape else None))
    return Job(source, template, s, shape, json, messages, payloads, keys)
