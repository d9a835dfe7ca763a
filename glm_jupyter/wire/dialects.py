"""Pure protocol code: each provider's request body, and chunk dicts -> events for all of them.

`Dialect` is the seam the rest of the package uses: made from one request's settings, it builds
the body and the parser for the answer, so the client never decides how a provider speaks.

One parser reads every dialect: Z.ai and SGLang put reasoning in `reasoning_content`, vLLM and
Ollama in `reasoning`, OpenRouter in `reasoning` plus `reasoning_details`, llama.cpp either in
`reasoning_content` or as `<think>` tags inside `content`. Nothing here does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import catalog
from ..config.providers import Provider, ThinkTags
from ..messages import (
    Event,
    Finish,
    Message,
    ReasoningDelta,
    StreamFailure,
    TextDelta,
    ToolCallDelta,
    Usage,
    UsageReport,
)
from .thinktags import ThinkTagSplitter

if TYPE_CHECKING:
    from ..config.settings import Settings

# --- requests ---------------------------------------------------------------------------------


# Fields of a request that the conversation and the client own: extra_body cannot change them.
_OWNED = frozenset({"model", "messages", "stream", "stream_options", "tools", "tool_choice"})


def wire_message(
    message: Message, provider: Provider, *, with_reasoning: bool, sees: bool = True
) -> dict[str, Any]:
    """One message in the provider's wire shape, reasoning in the field that server reads back;
    pictures as `image_url` parts to a model that sees, as a line saying so to one that does not
    (a conversation that moved to a text model keeps going)."""
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.images and sees:
        out["content"] = [
            {"type": "text", "text": message.content},
            *({"type": "image_url", "image_url": {"url": i.data_url()}} for i in message.images),
        ]
    elif message.images:
        unsent = "; ".join(f"{i.label} ({i.brief()})" for i in message.images)
        out["content"] = f"{message.content}\n\n[not sent, this model takes no pictures: {unsent}]"
    if message.role == "assistant":
        if with_reasoning and message.reasoning:
            if provider.reasoning_back == "reasoning_details":
                out["reasoning_details"] = [{"type": "reasoning.text", "text": message.reasoning}]
            else:
                out[provider.reasoning_back] = message.reasoning
        if message.tool_calls:
            out["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in message.tool_calls
            ]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        out["name"] = message.name
    return out


# The wire form of recent messages, by the message's identity (the message is held, so its id
# stays its own): an agent run sends the same hundreds of messages every step, and
# `client.encode` reuses the JSON of a wire dict it has seen.
_WIRED: dict[int, tuple[Message, Provider, bool, bool, dict[str, Any]]] = {}
WIRED_MESSAGES = 4096  # past this many, the memo starts again (a compaction's worth of work)


def _wire_once(
    message: Message, provider: Provider, with_reasoning: bool, sees: bool
) -> dict[str, Any]:
    """`wire_message`, the same dict again for the same message (to be read, never changed)."""
    seen = _WIRED.get(id(message))
    if (
        seen is not None
        and seen[0] is message
        and seen[1] is provider
        and seen[2:4] == (with_reasoning, sees)
    ):
        return seen[4]
    wired = wire_message(message, provider, with_reasoning=with_reasoning, sees=sees)
    if len(_WIRED) >= WIRED_MESSAGES:
        _WIRED.clear()
    _WIRED[id(message)] = (message, provider, with_reasoning, sees, wired)
    return wired


def _thinking_fields(
    provider: Provider, thinking: bool | None, effort: str | None, preserve: bool
) -> dict[str, Any]:
    """Thinking on/off, reasoning effort and preserved thinking, in the provider's own fields
    (the effort already fitted to the model's levels by `config.reasoning.settle`)."""
    control = provider.thinking_control
    fields: dict[str, Any] = {}
    if control == "zai":
        if thinking is not None or preserve:
            block: dict[str, Any] = {"type": "disabled" if thinking is False else "enabled"}
            if preserve:
                block["clear_thinking"] = False
            fields["thinking"] = block
        if effort is not None:
            fields["reasoning_effort"] = effort
    elif control == "chat_template":
        kwargs: dict[str, Any] = {}
        if thinking is not None:
            kwargs["enable_thinking"] = thinking
        if preserve:
            kwargs["clear_thinking"] = False
        if kwargs:
            fields["chat_template_kwargs"] = kwargs
        if effort is not None:  # vLLM and SGLang hand it to the chat template
            fields["reasoning_effort"] = effort
    elif control == "reasoning_effort":  # Ollama: low, medium, high; `none` switches it off
        if thinking is False:
            fields["reasoning_effort"] = "none"
        elif effort is not None or thinking:
            fields["reasoning_effort"] = "high" if effort in (None, "max") else effort
    elif control == "openrouter":  # OpenRouter's top level is `xhigh`
        if thinking is False:
            fields["reasoning"] = {"enabled": False}
        elif effort is not None:
            fields["reasoning"] = {"effort": "xhigh" if effort == "max" else effort}
        elif thinking:
            fields["reasoning"] = {"enabled": True}
    elif effort is not None:  # any other server: the OpenAI field, which many read
        fields["reasoning_effort"] = effort
    return fields


def build_request(
    provider: Provider,
    *,
    model: str,
    messages: Sequence[Message],
    thinking: bool | None = None,
    effort: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    json_mode: bool = False,
    tools: Sequence[dict[str, Any]] = (),
    preserve_thinking: bool = False,
    stream: bool = True,
    extra: Mapping[str, Any] | None = None,
    sees: bool = True,
) -> dict[str, Any]:
    """The JSON body for `{base}/chat/completions`, in this provider's dialect; `extra` adds
    server-specific fields (`GLM.extra_body`), never replacing the conversation or streaming;
    `sees`: the model takes pictures."""
    # Reasoning goes back when the server keeps it (preserved thinking) and, always, on turns
    # that called tools: interleaved thinking needs it before the tool results.
    body: dict[str, Any] = {
        "model": provider.model_id(model),
        "messages": [
            _wire_once(m, provider, preserve_thinking or bool(m.tool_calls), sees) for m in messages
        ],
    }
    body.update(_thinking_fields(provider, thinking, effort, preserve_thinking))
    if temperature is not None:
        body["temperature"] = temperature
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if json_mode:
        body["response_format"] = {"type": "json_object"}
    if tools:
        body["tools"] = list(tools)
        if provider.tool_choice:
            body["tool_choice"] = "auto"
        if stream and provider.tool_stream:
            body["tool_stream"] = True
    for name, value in (extra or {}).items():
        if name not in _OWNED:
            body[name] = value
    body["stream"] = stream
    if stream and provider.usage_option:
        body["stream_options"] = {"include_usage": True}
    return body


# --- responses --------------------------------------------------------------------------------


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def parse_usage(raw: dict[str, Any], timings: Any = None) -> Usage:
    """Usage from any dialect: cached and reasoning tokens live in `*_details` sub-objects;
    llama.cpp's server also counts the prompt tokens its cache served in `timings.cache_n`."""
    prompt_details = raw.get("prompt_tokens_details") or {}
    completion_details = raw.get("completion_tokens_details") or {}
    cost = raw.get("cost")
    cached = _int(prompt_details.get("cached_tokens"))
    if not cached and isinstance(timings, dict):
        cached = _int(timings.get("cache_n"))
    return Usage(
        prompt_tokens=_int(raw.get("prompt_tokens")),
        completion_tokens=_int(raw.get("completion_tokens")),
        cached_tokens=cached,
        reasoning_tokens=_int(completion_details.get("reasoning_tokens")),
        cost_usd=float(cost) if isinstance(cost, (int, float)) else None,
    )


def error_from_chunk(raw: Any, status: int | None = None) -> StreamFailure:
    """A server error object (`{"error": {...}}`, or the bare inner object) as an event."""
    error = raw.get("error", raw) if isinstance(raw, dict) else raw
    if not isinstance(error, dict):
        return StreamFailure(code=None, message=str(error), status=status)
    code = error.get("code")
    message = error.get("message") or error.get("msg") or error.get("detail") or str(error)
    if status is None and _http_status(code):  # OpenRouter: the HTTP status, as an integer
        status = int(str(code))
    return StreamFailure(
        code=None if code is None else str(code), message=str(message), status=status, raw=error
    )


def _http_status(code: Any) -> bool:
    """An error code that is an HTTP status (`429`, `"502"`), not a Z.ai business code."""
    text = str(code) if type(code) in (int, str) else ""
    return len(text) == 3 and text.isdigit() and 400 <= int(text) <= 599


def _details_text(details: Any) -> str:
    """OpenRouter's `reasoning_details` (sent alone when there is no plain `reasoning` mirror)."""
    if not isinstance(details, list):
        return ""
    return "".join(
        str(d.get("text") or d.get("summary") or "") for d in details if isinstance(d, dict)
    )


class ChunkParser:
    """Turns parsed chunk dicts of any dialect into events; one instance per response."""

    __slots__ = ("_tags", "finished")

    def __init__(self, think_tags: ThinkTags = "off") -> None:
        self._tags = ThinkTagSplitter(think_tags)
        self.finished = False  # a finish reason arrived

    def feed(self, chunk: Any, out: list[Event]) -> None:
        """Append the events one chunk dict carries (a streamed delta, or a whole response).

        This runs once per token, so the common case (one choice, one text field) is kept to a
        handful of dict look-ups.
        """
        if chunk.get("error"):
            out.append(error_from_chunk(chunk))
            return
        choices = chunk.get("choices")
        if choices:
            choice = choices[0]
            delta = choice.get("delta") or choice.get("message")
            if delta:
                reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                if reasoning or "reasoning_details" in delta:
                    reasoning = reasoning or _details_text(delta["reasoning_details"])
                    if reasoning:
                        out.extend(self._tags.server_reasoning_seen())
                        out.append(ReasoningDelta(reasoning))
                content = delta.get("content")
                if content:
                    if self._tags.passthrough:
                        out.append(TextDelta(content))
                    else:
                        out.extend(self._tags.feed(content))
                calls = delta.get("tool_calls")
                if calls:
                    out.extend(_tool_call_delta(c, i) for i, c in enumerate(calls))
            reason = choice.get("finish_reason")
            if reason and not self.finished:  # OpenRouter repeats it beside the usage
                out.extend(self._tags.close())
                out.append(Finish(str(reason)))
                self.finished = True
        usage = chunk.get("usage")
        if usage:
            out.append(UsageReport(parse_usage(usage, chunk.get("timings"))))

    def close(self) -> list[Event]:
        """End of stream: whatever the tag splitter still holds."""
        return list(self._tags.close())


def _tool_call_delta(call: dict[str, Any], position: int) -> ToolCallDelta:
    function = call.get("function") or {}
    arguments = function.get("arguments")
    if arguments is None:
        arguments = ""
    elif not isinstance(arguments, str):  # the OpenAPI text says object; servers send a string
        arguments = json.dumps(arguments, ensure_ascii=False)
    index = call.get("index")
    return ToolCallDelta(
        index=index if isinstance(index, int) else position,
        id=call.get("id") or None,
        name=function.get("name") or None,
        arguments=arguments,
    )


# --- the seam ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one provider is spoken to for one set of settings: request bodies and their parsing."""

    provider: Provider
    model: str
    thinking: bool | None = None
    effort: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    preserve_thinking: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)
    sees: bool = True  # the model takes pictures (or nobody knows it does not)

    @classmethod
    def of(cls, s: Settings) -> Dialect:
        """The dialect of a request made with these settings."""
        return cls(
            s.provider,
            s.model,
            thinking=s.thinking,
            effort=s.effort,
            temperature=s.temperature,
            max_tokens=s.max_tokens,
            preserve_thinking=s.preserve_thinking,
            extra=s.extra_body,
            sees=catalog.sees(s.model, s.provider.name) is not False,
        )

    def body(
        self,
        messages: Sequence[Message],
        *,
        json_mode: bool = False,
        tools: Sequence[dict[str, Any]] = (),
        preserve: bool = False,
        stream: bool = True,
    ) -> dict[str, Any]:
        """The request body for these messages (`preserve`: send reasoning back this time)."""
        return build_request(
            self.provider,
            model=self.model,
            messages=messages,
            thinking=self.thinking,
            effort=self.effort,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            json_mode=json_mode,
            tools=tools,
            preserve_thinking=self.preserve_thinking or preserve,
            stream=stream,
            extra=self.extra,
            sees=self.sees,
        )

    @property
    def think_tags(self) -> ThinkTags:
        """How `<think>` tags in the answer's content are read."""
        tags = self.provider.think_tags
        # With thinking off, a server that sends reasoning untagged sends none: only a stray
        # leading block can still appear.
        return "leading" if tags == "untagged" and self.thinking is False else tags

    def parser(self) -> ChunkParser:
        """A fresh parser for one answer."""
        return ChunkParser(self.think_tags)
