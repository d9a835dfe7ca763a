"""The classroom policy's rules on one chat request as it reaches the gateway: the model,
tool calling (agent mode), the kernel's `--auto` flag, and the tokens one request may ask for.

The kernel says whether a request comes from an agent run and whether that run approves its
own tool calls in the body's `glm_gateway` object (taken out before the request goes on); a
request that carries tools is an agent's whatever it says.
"""

from __future__ import annotations

from typing import Any

from ..config.catalog import canonical
from ..config.policy import Policy
from ..config.providers import GATEWAY_FLAGS


def refusal(body: dict[str, Any], policy: Policy | None) -> str | None:
    """Why the policy refuses this request, in one line (None: it may go). The kernel's
    flags are taken out of `body`; a request that names no `max_tokens` under a per-request
    cap gets the cap written in."""
    flags = body.pop(GATEWAY_FLAGS, None)
    flags = flags if isinstance(flags, dict) else {}
    if policy is None:
        return None
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        return "The request names no model."
    if policy.models is not None:
        allowed = {canonical(m) for m in policy.models}
        if canonical(model) not in allowed:
            return _with(
                policy,
                f"This course allows the models {', '.join(policy.models)}, "
                f"not {model!r}: choose one with -m MODEL.",
            )
    agent = bool(body.get("tools")) or flags.get("agent") is True
    if agent and not policy.agent:
        return _with(policy, "Agent mode (tool calling) is turned off for this course.")
    if flags.get("auto") is True and not policy.auto:
        return _with(
            policy, "Agent runs must ask before each tool call in this course: drop --auto."
        )
    cap = policy.max_tokens_per_request
    if cap is not None:
        asked = body.get("max_tokens", body.get("max_completion_tokens"))
        if asked is None:
            body["max_tokens"] = cap
        elif not isinstance(asked, int) or asked > cap:
            return _with(
                policy,
                f"This course allows at most {cap:,} output tokens per request, and "
                f"{asked!r} were asked for: use --max-tokens {cap} or less.",
            )
    return None


def _with(policy: Policy, text: str) -> str:
    return f"{text} {policy.message}".strip()
