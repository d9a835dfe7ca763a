"""A reply as the contract's MIME bundle: response JSON, Markdown fallback, plain text."""

from __future__ import annotations

import json
import re
from typing import Any

from ..config import catalog
from ..reply import Reply
from ..schemas import RESPONSE_MIME

MIME_TYPE = RESPONSE_MIME
_DETAILS_END = re.compile(r"</(?=details)", re.IGNORECASE)
_CODE_START = re.compile(r'^\s*\{\s*"code"\s*:\s*"(.*)$', re.DOTALL)
VERSION = 1


def response_json(
    reply: Reply,
    content: str,
    reasoning: str,
    *,
    stream_id: str | None = None,
    reasoning_omitted: int = 0,
) -> dict[str, Any]:
    """The `application/vnd.glm.response+json` payload.

    While streaming, `stream_id` names the stream for the delta channel, and a fallback update
    that carries only the reasoning's tail says how many characters it left out before it.
    """
    usage = reply.usage
    thinking = reply.thinking_seconds
    return {
        "version": VERSION,
        "model": reply.model,
        "provider": reply.provider,
        "status": reply.status,
        "reasoning": reasoning,
        "content": content,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in reply.tool_calls
        ],
        "usage": usage.as_dict() if usage else None,
        "cost_usd": catalog.cost(reply.model, usage, reply.provider) if usage else None,
        "elapsed_s": round(reply.elapsed, 3),
        "thinking_s": None if thinking is None else round(thinking, 3),
        "finish_reason": reply.finish_reason,
        "error": reply.error,
        "simulator": bool(reply.server),
        "context": reply.context,
        **({"steps": reply.steps} if reply.steps is not None else {}),
        **({"compactions": reply.compactions} if reply.compactions else {}),
        **({"stream_id": stream_id} if stream_id else {}),
        **({"reasoning_omitted": reasoning_omitted} if reasoning_omitted else {}),
    }


def footer(reply: Reply) -> str:
    """One line: model, provider, tokens, cached share, cost, time, speed."""
    parts = [reply.model, reply.provider + (" (simulator)" if reply.server else "")]
    usage = reply.usage
    if usage:
        cached = ""
        if usage.cached_tokens and usage.prompt_tokens:
            share = usage.cached_tokens / usage.prompt_tokens
            cached = f" ({usage.cached_tokens:,} cached, {share:.0%})"
        parts.append(f"{usage.prompt_tokens:,} in{cached}")
        thought = f" ({usage.reasoning_tokens:,} reasoning)" if usage.reasoning_tokens else ""
        parts.append(f"{usage.completion_tokens:,} out{thought}")
        cost = catalog.cost(reply.model, usage, reply.provider)
        if cost is not None:
            parts.append(f"${cost:.4f}" if cost < 1 else f"${cost:.2f}")
    gaps = catalog.unknown(reply.model, reply.provider)
    if gaps:  # a model newer than the catalog and not in its provider's listing either
        parts.append(f"{' and '.join(gaps)} unknown")
    parts.append(f"{reply.elapsed:.1f} s")
    speed = reply.tokens_per_second
    if speed:
        parts.append(f"{speed:.0f} tok/s")
    return " · ".join(parts)


def _escape_details(text: str) -> str:
    # Reasoning that mentions </details> (any case: HTML tags ignore it) must not close the
    # panel early.
    return _DETAILS_END.sub("&lt;/", text) if "</" in text else text


def thinking_panel(reply: Reply, reasoning: str, answering: bool, omitted: int = 0) -> str:
    """The collapsible Thinking panel: open while the model thinks, closed once it answers."""
    if not reasoning:
        return ""
    if omitted:
        reasoning = f"*… {omitted:,} characters earlier …*\n\n{reasoning}"
    if answering or reply.status != "streaming":
        seconds = reply.thinking_seconds
        summary = f"Thought for {seconds:.1f} s" if seconds is not None else "Thinking"
        body = _escape_details(reasoning)
        return f"<details>\n<summary>{summary}</summary>\n\n{body}\n\n</details>\n\n"
    waited = reply.elapsed
    return (
        f"<details open>\n<summary>Thinking… {waited:.0f} s</summary>\n\n"
        f"{_escape_details(reasoning)}\n\n</details>\n\n"
    )


_STATUS_LINES = {
    "interrupted": "*Interrupted: the answer above is what arrived before the stop.*\n\n",
}


def partial_code(arguments: str) -> str | None:
    """The `code` of run_python arguments, even while their JSON is still streaming in."""
    try:
        value = json.loads(arguments)
        code = value.get("code") if isinstance(value, dict) else None
        return code if isinstance(code, str) else None
    except ValueError:
        pass
    match = _CODE_START.match(arguments)
    if match is None:
        return None
    fragment = match.group(1)
    for cut in range(7):  # drop an escape sequence cut in half (\n, \uXXXX)
        try:
            return str(json.loads(f'"{fragment[: len(fragment) - cut]}"'))
        except ValueError:
            continue
    return None


def tool_calls_markdown(reply: Reply) -> str:
    """Tool calls as they are written: run_python's code as code, other calls as JSON."""
    parts = []
    for call in reply.tool_calls:
        code = partial_code(call.arguments) if call.name == "run_python" else None
        shown = f"```python\n{code}\n```" if code is not None else f"`{call.arguments}`"
        parts.append(f"**Calling `{call.name}`**\n\n{shown}\n\n")
    return "".join(parts)


def markdown(reply: Reply, content: str, reasoning: str, omitted: int = 0) -> str:
    """Thinking panel, answer, status line, footer."""
    head = thinking_panel(reply, reasoning, bool(content), omitted)
    waiting = (
        ""
        if content or reasoning or reply.status != "streaming"
        else "*Waiting for the model…*\n\n"
    )
    tail = _STATUS_LINES.get(reply.status, "")
    if reply.status == "error" and reply.error:
        quoted = reply.error.replace("\n", "\n> ")
        tail = f"> **Error:** {quoted}\n\n"
    notes = "".join(f"*Note: {n}*\n\n" for n in reply.notes)
    body = f"{content}\n\n" if content else ""
    body += tool_calls_markdown(reply)
    sent = f"<sub>{reply.context_line}</sub>\n\n" if reply.context_line else ""
    return f"{head}{waiting}{body}{tail}{notes}{sent}---\n<sub>{footer(reply)}</sub>\n"


def bundle(
    reply: Reply, *, stream_id: str | None = None, reasoning_from: int = 0
) -> dict[str, Any]:
    """The MIME bundle for one display update; `reasoning_from` > 0 leaves out the reasoning
    before it (a fallback update while streaming)."""
    content, reasoning = reply.content.text, reply.reasoning.text
    if reasoning_from:
        reasoning = reasoning[reasoning_from:]
    return {
        MIME_TYPE: response_json(
            reply, content, reasoning, stream_id=stream_id, reasoning_omitted=reasoning_from
        ),
        "text/markdown": markdown(reply, content, reasoning, reasoning_from),
        "text/plain": content,
    }
