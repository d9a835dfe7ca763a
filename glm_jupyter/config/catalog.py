"""Known GLM models: window, output limit, price, how each thinks and whether it sees, in one
table (prices move), plus what a provider's own model listing said at run time.

Every entry names when it was released and the kind of public source its figures came from,
so the next person knows what to re-check. A listing (`wire.listing`) fills in what the table
does not know yet: an id that ships next month runs with the window and price its provider
lists, without a release of this package.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from ..messages import Usage
from .providers import PROVIDERS

# How a model's thinking is switched: on and off (`toggle`), or always on with only its effort
# to choose (`always`: a request that turns it off is refused by the server).
Reasoning = Literal["toggle", "always"]
Effort = Literal["low", "medium", "high", "max"]
EFFORTS: tuple[Effort, ...] = ("low", "medium", "high", "max")  # lowest first


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What one model can take and what it costs, in USD per million tokens (None: not known)."""

    name: str
    context: int
    max_output: int
    input_price: float | None
    cached_price: float | None
    output_price: float | None
    reasoning: Reasoning = "toggle"
    efforts: tuple[Effort, ...] = ()  # the effort levels it tells apart, lowest first
    images: bool | None = False  # takes image parts in user messages (None: a listing did not say)
    released: str = ""  # ISO date, where known
    source: str = ""  # the kind of public source the figures came from
    listed: bool = False  # known from a provider's model listing, not this table

    @property
    def priced(self) -> bool:
        """All three prices are known."""
        return None not in (self.input_price, self.cached_price, self.output_price)

    def cost(self, usage: Usage) -> float | None:
        """Price of one response: uncached input, cached input and output at their own rates."""
        if self.input_price is None or self.cached_price is None or self.output_price is None:
            return None
        uncached = max(usage.prompt_tokens - usage.cached_tokens, 0)
        return (
            uncached * self.input_price
            + usage.cached_tokens * self.cached_price
            + usage.completion_tokens * self.output_price
        ) / 1_000_000


_K = 1024
_M = 1_048_576
_SEEN = "read 2026-12-05"
_EFFORTS_53: tuple[Effort, ...] = ("low", "high", "max")
MODELS: dict[str, ModelInfo] = {
    m.name: m
    for m in (
        ModelInfo(
            "glm-5.4",
            _M,
            128 * _K,
            1.40,
            0.26,
            4.40,
            "always",
            _EFFORTS_53,
            images=True,
            released="2026-11-23",
            source="Z.ai GLM-5.4 model page as quoted by API guides; price: Vercel AI Gateway "
            f"listing (Coding Plan only on Z.ai; no pay-as-you-go price yet); {_SEEN}",
        ),
        ModelInfo(
            "glm-5.3",
            _M,
            128 * _K,
            1.40,
            0.26,
            4.40,
            "always",
            _EFFORTS_53,
            released="2026-08-18",
            source=f"OpenRouter and Novita model pages, Together quickstart, Z.ai pricing; {_SEEN}",
        ),
        ModelInfo(
            "glm-5.3-flash",
            _M,
            128 * _K,
            0.15,
            0.03,
            0.50,
            "always",
            _EFFORTS_53,
            released="2026-08-21",
            source=f"Together quickstart (prices), Venice model page (window, date); {_SEEN}",
        ),
        ModelInfo(
            "glm-5.2",
            _M,
            128 * _K,
            1.40,
            0.26,
            4.40,
            "toggle",
            ("high", "max"),
            released="2026-06-16",
            source="OpenRouter provider page (efforts high, xhigh = max), Z.ai client docs; "
            f"{_SEEN}",
        ),
        ModelInfo(
            "glm-5v-turbo",
            200_000,
            128 * _K,
            1.20,
            0.24,
            4.00,
            images=True,
            released="2026-04-01",
            source=f"OpenRouter model page, Bifrost Z.ai listing (output limit); {_SEEN}",
        ),
        ModelInfo(
            "glm-5.1",
            200_000,
            128 * _K,
            1.40,
            0.26,
            4.40,
            source="Z.ai pricing page (GLM_PROTOCOL.md)",
        ),
        ModelInfo(
            "glm-5",
            200_000,
            128 * _K,
            1.00,
            0.20,
            3.20,
            released="2026-02-12",
            source="Z.ai pricing page (GLM_PROTOCOL.md)",
        ),
        ModelInfo("glm-4.7", 200_000, 128 * _K, 0.60, 0.11, 2.20, source="Z.ai pricing page"),
        ModelInfo("glm-4.6", 200_000, 128 * _K, 0.60, 0.11, 2.20, source="Z.ai pricing page"),
        ModelInfo(
            "glm-4.6v",
            128_000,
            32 * _K,
            0.30,
            0.05,
            0.90,
            images=True,
            source=f"Vercel AI Gateway model page (window), Z.ai pricing page; {_SEEN}",
        ),
        ModelInfo("glm-4.5", 128_000, 96 * _K, 0.60, 0.11, 2.20, source="Z.ai pricing page"),
        ModelInfo("glm-4.5-air", 128_000, 96 * _K, 0.20, 0.03, 1.10, source="Z.ai pricing page"),
        ModelInfo(
            "glm-4.7-flashx", 200_000, 128 * _K, 0.07, 0.01, 0.40, source="Z.ai pricing page"
        ),
        ModelInfo("glm-4.7-flash", 200_000, 128 * _K, 0.0, 0.0, 0.0, source="Z.ai pricing page"),
        ModelInfo("glm-4.5-flash", 128_000, 96 * _K, 0.0, 0.0, 0.0, source="Z.ai pricing page"),
    )
}
SEEING = tuple(m.name for m in MODELS.values() if m.images)  # named when a text model refuses


def canonical(model: str) -> str:
    """A model id as the table spells it, whichever provider's spelling it came in:
    `z-ai/glm-5.3`, `zai-org-glm-5-3`, `zai-org/GLM-5.3-FP8`, `glm-4.7-flash:latest`."""
    name = model.lower().rsplit("/", 1)[-1]
    for prefix in ("zai-org-", "z-ai-", "~"):
        name = name.removeprefix(prefix)
    for suffix in ("-fp8", ":latest"):
        name = name.removesuffix(suffix)
    return _BY_DASHED.get(name.replace(".", "-"), name)


_BY_DASHED = {name.replace(".", "-"): name for name in MODELS}


def lookup(model: str) -> ModelInfo | None:
    """The table's entry for a model id on any provider, or None."""
    return MODELS.get(canonical(model))


# What providers' own listings said, per provider name: filled by `wire.listing`.
_LISTED: dict[str, dict[str, ModelInfo]] = {}


def remember(provider: str, listed: dict[str, ModelInfo]) -> None:
    """Keep a provider's listing (by canonical id) for `find` and `cost`."""
    _LISTED[provider] = {canonical(k): v for k, v in listed.items()}


def remember_nothing() -> None:
    """Forget every listing kept."""
    _LISTED.clear()


def listed(provider: str) -> dict[str, ModelInfo] | None:
    """The listing kept for a provider (None: none was read in this process)."""
    return _LISTED.get(provider)


def find(model: str, provider: str = "") -> ModelInfo | None:
    """What is known of a model: the table's entry, with the provider's listing laid over it
    (the listing's window and prices are that provider's own, and newer)."""
    known = lookup(model)
    seen = _LISTED.get(provider, {}).get(canonical(model))
    if seen is None:
        return known
    if known is None:
        return seen
    return replace(
        known,
        context=seen.context or known.context,
        max_output=seen.max_output or known.max_output,
        input_price=known.input_price if seen.input_price is None else seen.input_price,
        cached_price=known.cached_price if seen.cached_price is None else seen.cached_price,
        output_price=known.output_price if seen.output_price is None else seen.output_price,
        images=True if seen.images else known.images,
    )


def sees(model: str, provider: str = "") -> bool | None:
    """Whether the model takes pictures: None when neither the table nor a listing says."""
    info = find(model, provider)
    return None if info is None else info.images


SUMMARY_TOKENS = 1500  # the default budget per summarised object, for windows up to 200K
_WINDOW_STEP = 200_000


def summary_budget(window: int, base: int = SUMMARY_TOKENS) -> int:
    """The default summary budget for a model with this window: `base` up to 200K tokens,
    growing with the window to twice that (1M windows), so a summary stays a small share."""
    if window <= _WINDOW_STEP:
        return base
    return round(base * min(window / _WINDOW_STEP, 2.0))


def unknown(model: str, provider: str = "") -> list[str]:
    """What is not known about a model, for the footer: its window, its price (empty: all)."""
    info = find(model, provider)
    if info is None:
        return ["window", "price"] if _priced_by_catalog(provider) else ["window"]
    gaps = [] if info.context else ["window"]
    if not info.priced and _priced_by_catalog(provider):
        gaps.append("price")
    return gaps


def _priced_by_catalog(provider: str) -> bool:
    known = PROVIDERS.get(provider)
    return known is None or known.pricing == "catalog"


def cost(model: str, usage: Usage, provider: str = "") -> float | None:
    """USD cost of a response: the server's own figure when it sent one, else as the provider
    prices it (see `Provider.pricing`): the catalog price, nothing, or unknown (None)."""
    if usage.cost_usd is not None:
        return usage.cost_usd
    known = PROVIDERS.get(provider)
    pricing = known.pricing if known is not None else "catalog"
    if pricing != "catalog":
        return 0.0 if pricing == "free" else None
    info = find(model, provider)
    return None if info is None else info.cost(usage)
