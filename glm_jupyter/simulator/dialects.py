"""What differs between the servers the simulator imitates: fields, ids, usage, switches."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .models import MODELS, ServedModel, listing, served_model

SIMULATOR_ID = "glm-jupyter-simulator"
DIALECTS = ("zai", "vllm", "sglang", "ollama", "llamacpp", "openrouter")
DEFAULT_MODEL = "glm-5.1"

ToolMode = Literal["whole", "fragments", "request"]
UsageMode = Literal["final_chunk", "include_usage", "always"]
UsageDetail = Literal["full", "cached", "plain"]


@dataclass(frozen=True)
class Dialect:
    """How one kind of server shapes its chunks."""

    name: str
    reasoning_field: str
    # zai omits `finish_reason` from intermediate chunks; OpenAI-style servers send null.
    openai_style: bool
    # Whether every reasoning/content delta repeats `"role": "assistant"`.
    role_in_deltas: bool
    # The role-only delta some servers send before the first token (None: no such chunk).
    opening_delta: Mapping[str, Any] | None
    # "request": whole calls unless the request (or scenario) asks for `tool_stream`.
    tools: ToolMode
    tool_start_has_arguments: bool
    usage_mode: UsageMode
    usage_detail: UsageDetail
    response_id_prefix: str
    tool_id_prefix: str
    model_prefix: str = ""


_ROLE_ONLY = {"role": "assistant", "content": ""}

_TABLE = {
    "zai": Dialect(
        name="zai",
        reasoning_field="reasoning_content",
        openai_style=False,
        role_in_deltas=True,
        opening_delta=None,
        tools="request",
        tool_start_has_arguments=True,
        usage_mode="final_chunk",
        usage_detail="full",
        response_id_prefix="",
        tool_id_prefix="call_",
    ),
    "vllm": Dialect(
        name="vllm",
        reasoning_field="reasoning",
        openai_style=True,
        role_in_deltas=False,
        opening_delta=_ROLE_ONLY,
        tools="fragments",
        tool_start_has_arguments=False,
        usage_mode="include_usage",
        usage_detail="cached",
        response_id_prefix="chatcmpl-",
        tool_id_prefix="chatcmpl-tool-",
    ),
    "sglang": Dialect(
        name="sglang",
        reasoning_field="reasoning_content",
        openai_style=True,
        role_in_deltas=False,
        opening_delta=_ROLE_ONLY,
        tools="fragments",
        tool_start_has_arguments=True,
        usage_mode="include_usage",
        usage_detail="cached",
        response_id_prefix="",
        tool_id_prefix="call_",
    ),
    "ollama": Dialect(
        name="ollama",
        reasoning_field="reasoning",
        openai_style=True,
        role_in_deltas=True,
        opening_delta=None,
        tools="whole",
        tool_start_has_arguments=True,
        usage_mode="include_usage",
        usage_detail="plain",
        response_id_prefix="chatcmpl-",
        tool_id_prefix="call_",
    ),
    "llamacpp": Dialect(
        name="llamacpp",
        reasoning_field="reasoning_content",
        openai_style=True,
        role_in_deltas=False,
        opening_delta={"role": "assistant", "content": None},
        tools="fragments",
        tool_start_has_arguments=True,
        usage_mode="final_chunk",
        usage_detail="cached",  # prompt_tokens_details.cached_tokens, and timings.cache_n
        response_id_prefix="chatcmpl-",
        tool_id_prefix="",
    ),
    "openrouter": Dialect(
        name="openrouter",
        reasoning_field="reasoning",
        openai_style=True,
        role_in_deltas=True,
        opening_delta=None,
        tools="fragments",
        tool_start_has_arguments=True,
        usage_mode="always",
        usage_detail="full",
        response_id_prefix="gen-",
        tool_id_prefix="call_",
        model_prefix="z-ai/",
    ),
}


def dialect(name: str) -> Dialect:
    """The dialect called `name`; ValueError naming the choices otherwise."""
    try:
        return _TABLE[name]
    except KeyError:
        raise ValueError(f"unknown dialect {name!r}; choose one of {', '.join(DIALECTS)}") from None


# A local server serves the one model it was started with, under the name it was given.
SERVED_LOCALLY = {
    "vllm": "zai-org/GLM-4.7-Flash",
    "sglang": "zai-org/GLM-4.7-Flash",
    "ollama": "glm-4.7-flash:latest",
    "llamacpp": "GLM-4.7-Flash-Q4_K_M.gguf",
}


def served_models(
    d: Dialect, scenario_model: str | None, extra: Iterable[ServedModel] = ()
) -> list[ServedModel]:
    """The models the model list holds (a local server's holds only the model it serves)."""
    if d.name in SERVED_LOCALLY:
        name = scenario_model or SERVED_LOCALLY[d.name]
        known = served_model(name)
        base = known or ServedModel(name, 0, 0, (0.0, 0.0, 0.0))
        return [ServedModel(name, base.context, base.max_output, (0.0, 0.0, 0.0), base.images)]
    models = [*extra, *(m for m in MODELS.values() if m.id not in {e.id for e in extra})]
    if scenario_model and served_model(scenario_model, {m.id: m for m in models}) is None:
        models.insert(
            0, ServedModel(scenario_model.removeprefix(d.model_prefix), 0, 0, (0.0, 0.0, 0.0))
        )
    return models


def model_list(
    d: Dialect, scenario_model: str | None, extra: Iterable[ServedModel] = ()
) -> dict[str, Any]:
    """The body of `GET /models`, shaped the way the dialect's server shapes it."""
    models = served_models(d, scenario_model, extra)
    prefix = "" if d.name in SERVED_LOCALLY else d.model_prefix
    window = "max_model_len" if d.name == "vllm" else None
    return listing(
        models, prefix, detailed=d.name == "openrouter", owner=SIMULATOR_ID, window_field=window
    )


def default_model(d: Dialect, scenario_model: str | None) -> str:
    """Model echoed when a request names none."""
    return scenario_model or d.model_prefix + DEFAULT_MODEL


def cost_usd(
    model: str,
    prompt: int,
    cached: int,
    completion: int,
    extra: Mapping[str, ServedModel] | None = None,
) -> float:
    """Price of one request in USD from the price table (0.0 for unknown models)."""
    served = served_model(model, extra)
    if served is None:
        return 0.0
    fresh, reused, output = served.prices
    total = (max(prompt - cached, 0) * fresh + cached * reused + completion * output) / 1e6
    return round(total, 10)


def _mapping(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = body.get(key)
    return value if isinstance(value, Mapping) else {}


def thinking_disabled(d: Dialect, body: Mapping[str, Any]) -> bool:
    """Whether the request switches thinking off in the dialect's own way."""
    if d.name == "zai":
        return _mapping(body, "thinking").get("type") == "disabled"
    if d.name in ("vllm", "sglang", "llamacpp"):
        return _mapping(body, "chat_template_kwargs").get("enable_thinking") is False
    if d.name == "ollama":
        return body.get("reasoning_effort") == "none"
    reasoning = _mapping(body, "reasoning")
    return reasoning.get("enabled") is False or reasoning.get("effort") == "none"


def requested_effort(d: Dialect, body: Mapping[str, Any]) -> str | None:
    """The reasoning effort the request asks for, in the dialect's own field (None: none)."""
    effort = _mapping(body, "reasoning").get("effort") if d.name == "openrouter" else None
    effort = effort or body.get("reasoning_effort")
    return effort.lower() if isinstance(effort, str) else None


def wants_usage(d: Dialect, body: Mapping[str, Any]) -> bool:
    """Whether a streamed response ends with usage."""
    if d.usage_mode == "include_usage":
        return _mapping(body, "stream_options").get("include_usage") is True
    return True


def image_parts(body: Mapping[str, Any]) -> int:
    """How many image parts the request's messages carry."""
    messages = body.get("messages")
    count = 0
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, list):
            count += sum(
                1 for p in content if isinstance(p, Mapping) and p.get("type") == "image_url"
            )
    return count


def refusal(
    d: Dialect,
    body: Mapping[str, Any],
    model: str,
    extra: Mapping[str, ServedModel],
    prompt_tokens: int = 0,
) -> tuple[int, str, str] | None:
    """The HTTP status, business code and message a request is refused with, if it is."""
    served = served_model(model, extra)
    if served is None:
        return None
    if served.context and prompt_tokens > served.context:
        # Z.ai's 1261; the OpenAI-compatible servers say the same in their own words.
        code = "1261" if d.name == "zai" else "context_length_exceeded"
        return (
            400,
            code,
            f"Prompt exceeds max length: {prompt_tokens} tokens, and {served.id} takes at most "
            f"{served.context}.",
        )
    if served.always_thinks and d.name == "zai" and thinking_disabled(d, body):
        return (
            400,
            "1210",
            (f"Thinking cannot be disabled for {served.id}; set reasoning_effort to low instead."),
        )
    if image_parts(body) and not served.images:
        return 400, "1210", f"{served.id} does not accept image input."
    return None
