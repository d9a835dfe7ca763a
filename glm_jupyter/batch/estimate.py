"""What a batch will cost before it starts, and `max_cost=`: refuse a batch that would cost more.

Prompt tokens come from `tokens.estimate_tokens` (which errs high), priced at the uncached input
rate (the provider's context cache only lowers this). Output tokens are `max_tokens` per answer
when it is set (a ceiling), else `DEFAULT_ANSWER_TOKENS`, plus `DEFAULT_THINKING_TOKENS` when
thinking is on without a cap. Prices come from `catalog`. Only the requests that will actually
be sent count: answers already in the cache are free.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import catalog
from ..config.settings import Settings
from ..context.tokens import estimate_tokens
from ..errors import BatchCostError
from ..messages import Message, Usage

DEFAULT_ANSWER_TOKENS = 256  # a short answer or a small JSON object
DEFAULT_THINKING_TOKENS = 1024  # reasoning before it, when thinking is on and nothing caps it
MESSAGE_OVERHEAD = 4  # role and separator tokens around each message
SHOW_ABOVE = 100  # batches sending more requests than this show the estimate first


@dataclass(frozen=True)
class Estimate:
    """The expected size and price of the requests a batch will send."""

    model: str
    requests: int
    prompt_tokens: int
    output_tokens: int
    per_answer: int
    capped: bool  # per_answer is max_tokens (a ceiling), not a guess
    cost_usd: float | None

    def cost_text(self) -> str:
        """`~$1.23`, or a note that the price is unknown."""
        if self.cost_usd is None:
            return f"cost unknown ({self.model} is not in the price table)"
        return f"~${self.cost_usd:.4f}"

    def line(self) -> str:
        """One line for the person about to start the batch."""
        basis = f"max_tokens={self.per_answer}" if self.capped else f"~{self.per_answer} assumed"
        return (
            f"Estimate: {self.requests:,} requests to {self.model}, ~{self.prompt_tokens:,} prompt "
            f"tokens + up to ~{self.output_tokens:,} output tokens ({basis} per answer): "
            f"{self.cost_text()}. Pass max_cost= (USD) to refuse anything dearer."
        )


def estimate(s: Settings, messages: list[list[Message]]) -> Estimate:
    """The estimate for sending these conversations with these settings."""
    prompt = sum(
        estimate_tokens(m.content) + MESSAGE_OVERHEAD
        for conversation in messages
        for m in conversation
    )
    capped = s.max_tokens is not None
    if s.max_tokens is not None:
        per_answer = s.max_tokens
    else:
        per_answer = DEFAULT_ANSWER_TOKENS + (DEFAULT_THINKING_TOKENS if s.thinking else 0)
    output = per_answer * len(messages)
    cost = catalog.cost(s.model, Usage(prompt, output), s.provider.name)
    return Estimate(s.model, len(messages), prompt, output, per_answer, capped, cost)


def check(found: Estimate, max_cost: float | None) -> None:
    """Raise `BatchCostError` when the estimate is above `max_cost` (or cannot be priced)."""
    if max_cost is None or found.requests == 0:
        return
    if found.cost_usd is None:
        raise BatchCostError(
            f"max_cost=${max_cost:g} was given, but {found.model} has no known price, so the "
            "cost of this batch cannot be estimated. Pass max_cost=None to run it anyway, or "
            "choose a model from the price table (%glm models)."
        )
    if found.cost_usd > max_cost:
        raise BatchCostError(
            f"Not started: the estimated cost, {found.cost_text()} for {found.requests:,} "
            f"requests to {found.model}, is above max_cost=${max_cost:g}. Nothing was sent. "
            "Raise max_cost, send fewer items (e.g. items[:100]), cap each answer with "
            "max_tokens=, or pick a cheaper model (glm-4.7-flash is free)."
        )
