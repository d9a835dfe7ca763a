"""A batch before it runs: settings, one request body and cache key per item, and how to read
each answer (text, JSON, or a schema's type)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..config.settings import Settings
from ..core.prompts import BATCH_SYSTEM
from ..core.structured import Schema, parse_json_text, schema_for
from ..messages import Message
from ..wire.dialects import Dialect
from .cache import request_key
from .inputs import Source, Template, read
from .outputs import Outcome

if TYPE_CHECKING:
    from ..core.pipeline import Pipeline
    from .options import BatchOptions


@dataclass
class Job:
    """Everything a batch sends, decided before the first request."""

    source: Source
    template: Template
    settings: Settings
    dialect: Dialect  # builds every body and reads every answer
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


def plan(prompt: str, items: Any, options: BatchOptions, pipeline: Pipeline) -> Job:
    """Read the input and settle every request; errors here happen before anything is sent."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("map() needs a prompt: a non-empty string.")
    source = read(items)
    template = Template.of(prompt, source, options.column)
    s = options.settings(pipeline)
    # Each item is a conversation of one question: there is no earlier reasoning to send back,
    # and `GLM.preserve_thinking` would only change the bodies (and so the cache keys).
    dialect = dataclasses.replace(Dialect.of(s), preserve_thinking=False)
    shape = None
    if options.schema is not None:
        schema = options.schema
        shape = schema_for(schema, getattr(schema, "__name__", "schema"))
        # Made now, not when the first answer arrives: inside the batch's loop (the kernel's,
        # for the magic) a slow import would freeze the progress bar.
        _ = shape.validator
    json_mode = options.json or shape is not None
    system = Message("system", s.system or BATCH_SYSTEM)
    messages, payloads, keys = [], [], []
    for row in source.rows(template.fields):
        question = template.render(row)
        content = f"{shape.prompt()}\n\n{question}" if shape is not None else question
        conversation = [system, Message("user", content)]
        # Whole answers, not streams: nobody watches a batch token by token, one JSON body
        # parses cheaper than an event per token, and a body read to its end hands the
        # connection back to the pool (a new TLS handshake per item would cost more than the
        # answer takes).
        body = dialect.body(conversation, json_mode=json_mode, stream=False)
        messages.append(conversation)
        payloads.append(body)
        keys.append(request_key(s.provider.name, s.base_url, body, shape.schema if shape else None))
    return Job(source, template, s, dialect, shape, options.json, messages, payloads, keys)
