"""The models the simulator serves: windows, prices, who thinks always, who sees, and how a
provider lists them at `GET /models` (OpenRouter with windows and prices, the rest ids only)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

EFFORT_SHARE = {"none": 0.0, "minimal": 0.1, "low": 0.25, "medium": 0.5}
"""Share of a turn's scripted reasoning a request at that effort gets (`high` and up: all)."""
EFFORT_HEADER = "X-Simulator-Reasoning-Effort"  # echoes the effort a chat request asked for


@dataclass(frozen=True)
class ServedModel:
    """One model as the simulator serves it; prices in USD per million tokens."""

    id: str
    context: int
    max_output: int
    prices: tuple[float, float, float]  # input, cached input, output
    images: bool = False
    always_thinks: bool = False  # refuses `thinking: {"type": "disabled"}` (HTTP 400, 1210)
    created: int = 0  # release, as a Unix time (OpenRouter's `created`)


_M = 1_048_576
_K = 1024
# The only copy of the simulator's prices: it imitates providers, it does not import their table.
MODELS: Mapping[str, ServedModel] = {
    m.id: m
    for m in (
        ServedModel("glm-5.4", _M, 128 * _K, (1.40, 0.26, 4.40), True, True, 1_795_392_000),
        ServedModel("glm-5.3", _M, 128 * _K, (1.40, 0.26, 4.40), False, True, 1_787_011_200),
        ServedModel("glm-5.3-flash", _M, 128 * _K, (0.15, 0.03, 0.50), False, True, 1_787_270_400),
        ServedModel("glm-5.2", _M, 128 * _K, (1.40, 0.26, 4.40), created=1_781_568_000),
        ServedModel(
            "glm-5v-turbo", 200_000, 128 * _K, (1.20, 0.24, 4.00), True, created=1_775_001_600
        ),
        ServedModel("glm-5.1", 200_000, 128 * _K, (1.40, 0.26, 4.40)),
        ServedModel("glm-5", 200_000, 128 * _K, (1.00, 0.20, 3.20)),
        ServedModel("glm-4.7", 200_000, 128 * _K, (0.60, 0.11, 2.20)),
        ServedModel("glm-4.6", 200_000, 128 * _K, (0.60, 0.11, 2.20)),
        ServedModel("glm-4.6v", 128_000, 32 * _K, (0.30, 0.05, 0.90), True),
        ServedModel("glm-4.5", 128_000, 96 * _K, (0.60, 0.11, 2.20)),
        ServedModel("glm-4.5-air", 128_000, 96 * _K, (0.20, 0.03, 1.10)),
        ServedModel("glm-4.7-flashx", 200_000, 128 * _K, (0.07, 0.01, 0.40)),
        ServedModel("glm-4.7-flash", 200_000, 128 * _K, (0.0, 0.0, 0.0)),
        ServedModel("glm-4.5-flash", 128_000, 96 * _K, (0.0, 0.0, 0.0)),
    )
}


def served_model(model: str, extra: Mapping[str, ServedModel] | None = None) -> ServedModel | None:
    """The served model behind an id in any provider's spelling (`z-ai/glm-5.3`, `glm-5-3`)."""
    name = model.lower().rsplit("/", 1)[-1].removeprefix("zai-org-")
    table = {**MODELS, **(extra or {})}
    if name in table:
        return table[name]
    dashed = {k.replace(".", "-"): v for k, v in table.items()}
    return dashed.get(name.replace(".", "-"))


def _per_token(price: float) -> str:
    return f"{price / 1_000_000:.10f}".rstrip("0").rstrip(".") or "0"


def openrouter_entry(m: ServedModel, prefix: str) -> dict[str, Any]:
    """A model as OpenRouter's `/models` lists it: window, output limit, prices per token."""
    modalities = ["text", "image"] if m.images else ["text"]
    fresh, cached, output = m.prices
    return {
        "id": prefix + m.id,
        "canonical_slug": prefix + m.id,
        "name": f"Z.ai: {m.id.upper().replace('GLM-', 'GLM ')}",
        "created": m.created,
        "context_length": m.context,
        "architecture": {
            "modality": "+".join(modalities) + "->text",
            "input_modalities": modalities,
            "output_modalities": ["text"],
        },
        "pricing": {
            "prompt": _per_token(fresh),
            "completion": _per_token(output),
            "input_cache_read": _per_token(cached),
        },
        "top_provider": {
            "context_length": m.context,
            "max_completion_tokens": m.max_output,
            "is_moderated": False,
        },
        "supported_parameters": [
            "include_reasoning",
            "max_tokens",
            "reasoning",
            "response_format",
            "temperature",
            "tool_choice",
            "tools",
        ],
    }


def listing(
    models: Iterable[ServedModel],
    prefix: str,
    *,
    detailed: bool,
    owner: str,
    window_field: str | None = None,
) -> dict[str, Any]:
    """The body of `GET /models`: OpenRouter's detailed entries, or OpenAI-style ids (with the
    window under `window_field` where the server says it: vLLM's `max_model_len`)."""
    if detailed:
        return {"data": [openrouter_entry(m, prefix) for m in models]}
    entries = []
    for m in models:
        entry: dict[str, Any] = {
            "id": prefix + m.id,
            "object": "model",
            "created": m.created,
            "owned_by": owner,
        }
        if window_field and m.context:
            entry[window_field] = m.context
        entries.append(entry)
    return {"object": "list", "data": entries}
