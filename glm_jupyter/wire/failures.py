"""Server errors -> one clear exception each, saying what to do; and which of them to retry."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from .. import errors
from ..config import catalog
from ..config.providers import Provider
from ..messages import StreamFailure
from ..redact import redact_url
from .urls import join_url

RETRYABLE_CODES = frozenset({"1302", "1303", "1305"})  # concurrency, frequency, overloaded
QUOTA_CODES = frozenset({"1304", "1308", "1310"})
AUTH_CODES = frozenset({"1000", "1001", "1002", "1003", "1004"})
RETRYABLE_STATUS = frozenset({408, 409, 429})
# OpenAI-style string codes (OpenRouter passes some on from upstream), as the Z.ai code that
# means the same; the message still quotes the code the server sent.
GATEWAY_CODE = "gateway_"  # the course gateway's codes (glm_jupyter.gateway.app)
GATEWAY_UPSTREAM = "gateway_upstream"  # it could not reach the provider: a server error
NAMED_CODES = {
    "invalid_api_key": "1000",
    "model_not_found": "1211",
    "context_length_exceeded": "1261",
    "content_filter": "1301",
    "rate_limit_exceeded": "1302",
    "insufficient_quota": "1304",
}


@dataclass(frozen=True, slots=True)
class ErrorContext:
    """What an error message may mention: never the key, nor the base URL's credentials."""

    provider: Provider
    base_url: str
    model: str
    prompt_chars: int = 0
    scrub: Callable[[str], str] = str

    def __post_init__(self) -> None:
        # Every message below quotes `base_url`: it is kept only as shown.
        object.__setattr__(self, "base_url", redact_url(self.base_url))


def _key_hint(provider: Provider) -> str:
    if provider.key_env is None:
        return "set GLM_API_KEY to the key your server expects (or start it without one)"
    return f"set {provider.key_env} (or GLM_API_KEY) to a valid key and restart the kernel"


def _at(ctx: ErrorContext, path: str) -> str:
    return join_url(ctx.base_url, path)  # before a query such as `?api_key=***`


def _known_models() -> str:
    return ", ".join(catalog.MODELS)


Diagnosis = tuple[type[errors.APIError], str, bool]  # the error, what to do, retry may help


def classify(failure: StreamFailure, ctx: ErrorContext) -> tuple[errors.APIError, bool]:
    """The exception for a server error, and whether retrying may help."""
    status = failure.status
    said = ctx.scrub(failure.message).strip()
    where = f"{ctx.provider.label} ({ctx.base_url})"
    code = failure.code
    tag = ", ".join(x for x in (str(status) if status else "", f"code {code}" if code else "") if x)
    server = f"{where} said{f' [{tag}]' if tag else ''}: {said}"
    if code and code.startswith(GATEWAY_CODE) and code != GATEWAY_UPSTREAM:
        # The course gateway's own refusal is one line written for the student: as it is.
        return errors.GatewayRefusedError(said, status=status, code=code), False
    code = NAMED_CODES.get(code or "", code)
    cls, advice, retry = (
        _account(status, code, said, ctx)
        or _request(code, ctx)
        or _capacity(status, code)
        or _other(status, ctx)
    )
    return cls(f"{server}\n{advice}", status=status, code=failure.code), retry


def _account(
    status: int | None, code: str | None, said: str, ctx: ErrorContext
) -> Diagnosis | None:
    """The key, the account's region or plan, the model name."""
    if status == 401 or code in AUTH_CODES:
        advice = f"The API key was refused: {_key_hint(ctx.provider)}."
        return errors.AuthenticationError, advice, False
    if code == "1113":
        return (
            errors.BalanceOrRegionError,
            "The account has no balance, or the key belongs to another region or plan: a Z.ai key "
            "works with GLM_PROVIDER=zai, a BigModel key with bigmodel, Coding Plan keys only with "
            "zai-coding / bigmodel-coding.",
            False,
        )
    if not (code == "1211" or (status == 404 and "model" in said.lower())):
        return None
    if ctx.provider.local:  # it serves the names it was started with, not Z.ai's catalog
        pull = f" (or `ollama pull {ctx.model}`)" if ctx.provider.name == "ollama" else ""
        advice = (
            f"This server does not serve {ctx.model!r}: {_at(ctx, '/models')} lists the names "
            f"it does{pull}. Choose one with -m MODEL, %config GLM.model = '...' or GLM_MODEL."
        )
    else:
        advice = (
            f"Model {ctx.model!r} does not exist there. Known GLM models: {_known_models()}. "
            "Choose one with -m MODEL or %config GLM.model = '...'."
        )
    return errors.ModelNotFoundError, advice, False


def _request(code: str | None, ctx: ErrorContext) -> Diagnosis | None:
    """What this request holds: a prompt over the window, flagged content."""
    if code == "1261":
        info = catalog.find(ctx.model, ctx.provider.name)
        window = f"; {ctx.model} holds {info.context:,} tokens" if info and info.context else ""
        return (
            errors.PromptTooLongError,
            f"The prompt was too long: about {ctx.prompt_chars // 4:,} tokens were sent "
            f"({ctx.prompt_chars:,} characters){window}. "
            "Start over with --new or send less context.",
            False,
        )
    if code == "1301":
        advice = "The provider's safety filter flagged the content; rephrase the prompt."
        return errors.ContentFilterError, advice, False
    return None


def _capacity(status: int | None, code: str | None) -> Diagnosis | None:
    """Credits, quotas, rate limits and the server's own failures."""
    if status == 402:  # OpenRouter: the account's credits are spent
        return (
            errors.QuotaExceededError,
            "The account has no credits left for this request: add credits, or ask for fewer "
            "output tokens (--max-tokens).",
            False,
        )
    if code in QUOTA_CODES:
        return (
            errors.QuotaExceededError,
            "A usage quota is exhausted: wait for it to reset (see above), "
            "or use another plan or model.",
            False,
        )
    if code in RETRYABLE_CODES or status == 429:
        advice = "The server is rate limiting: wait a little and run the cell again."
        return errors.RateLimitError, advice, True
    if status is not None and status >= 500:
        return errors.ServerError, "The server failed: run the cell again in a moment.", True
    if status in RETRYABLE_STATUS:
        return errors.APIError, "The server asked to try again later.", True
    return None


def _other(status: int | None, ctx: ErrorContext) -> Diagnosis:
    if status == 404:
        advice = (
            f"Nothing answers at {_at(ctx, '/chat/completions')}: "
            "check GLM_BASE_URL / GLM_PROVIDER."
        )
        return errors.InvalidRequestError, advice, False
    advice = "The request was rejected: check the flags and settings (%glm config)."
    return errors.InvalidRequestError, advice, False


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter; a server's `Retry-After` wins when it sends one."""

    max_retries: int = 3
    base: float = 0.5
    cap: float = 8.0
    longest_wait: float = 60.0  # a Retry-After beyond this is reported, not slept through

    def delay(self, attempt: int, retry_after: str | None = None) -> float | None:
        """Seconds to wait before retry number `attempt` (0-based), or None: give up."""
        if attempt >= self.max_retries:
            return None
        asked = parse_retry_after(retry_after)
        if asked is not None:
            return asked if asked <= self.longest_wait else None
        backoff: float = min(self.cap, self.base * 2.0**attempt)
        return backoff / 2 + random.uniform(0, backoff / 2)


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
