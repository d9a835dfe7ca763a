"""Known GLM models: context window, output limit and price, in one table (prices move)."""

from __future__ import annotations

from dataclasses import dataclass

from ..messages import Usage
from .providers import PROVIDERS


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What one model can take and what it costs, in USD per million tokens."""

    name: str
    context: int
    max_output: int
    input_price: float
    cached_price: float
    output_price: float

    def cost(self, usage: Usage) -> float:
        """Price of one response: uncached input, cached input and output at their own rates."""
        uncached = max(usage.prompt_tokens - usage.cached_tokens, 0)
        return (
            uncached * self.input_price
            + usage.cached_tokens * self.cached_price
            + usage.completion_tokens * self.output_price
        ) / 1_000_000


_K = 1024
MODELS: dict[str, ModelInfo] = {
    m.name: m
    for m in (
        ModelInfo("glm-5.1", 200_000, 128 * _K, 1.40, 0.26, 4.40),
        ModelInfo("glm-5", 200_000, 128 * _K, 1.00, 0.20, 3.20),
        ModelInfo("glm-4.7", 200_000, 128 * _K, 0.60, 0.11, 2.20),
        ModelInfo("glm-4.6", 200_000, 128 * _K, 0.60, 0.11, 2.20),
        ModelInfo("glm-4.5", 128_000, 96 * _K, 0.60, 0.11, 2.20),
        ModelInfo("glm-4.5-air", 128_000, 96 * _K, 0.20, 0.03, 1.10),
        ModelInfo("glm-4.7-flashx", 200_000, 128 * _K, 0.07, 0.01, 0.40),
        ModelInfo("glm-4.7-flash", 200_000, 128 * _K, 0.0, 0.0, 0.0),
        ModelInfo("glm-4.5-flash", 128_000, 96 * _K, 0.0, 0.0, 0.0),
    )
}


def lookup(model: str) -> ModelInfo | None:
    """Find a model by its id on any provider (`z-ai/glm-5`, `zai-org-glm-5`, `GLM-5.1-FP8`...)."""
    name = model.lower().rsplit("/", 1)[-1]
    for prefix in ("zai-org-", "zai-org/"):
        name = name.removeprefix(prefix)
    for suffix in ("-fp8", ":latest"):
        name = name.removesuffix(suffix)
    return MODELS.get(name)


def cost(model: str, usage: Usage, provider: str = "") -> float | None:
    """USD cost of a response: the server's own figure when it sent one, else as the provider
    prices it (see `Provider.pricing`): the catalog price, nothing, or unknown (None)."""
    if usage.cost_usd is not None:
        return usage.cost_usd
    known = PROVIDERS.get(provider)
    pricing = known.pricing if known is not None else "catalog"
    if pricing != "catalog":
        return 0.0 if pricing == "free" else None
    info = lookup(model)
    return None if info is None else info.cost(usage)
