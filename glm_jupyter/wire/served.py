"""What a local server says it serves (`GET /models`), for `%glm models`.

A vLLM, SGLang, Ollama or llama.cpp server answers only to the model name it was started with,
which is rarely the name glm-jupyter would guess, so `%glm models` asks the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..redact import redact_text, redact_url

if TYPE_CHECKING:
    import httpx

    from ..config.settings import Settings


def served_models(s: Settings, transport: httpx.BaseTransport | None = None) -> list[str]:
    """Model ids the server at `s.base_url` lists (asked now: a local server's list is live);
    raises httpx errors or ValueError."""
    from .listing import read_listing

    return list(read_listing(s, transport, refresh=True))


def served_section(s: Settings, transport: httpx.BaseTransport | None = None) -> str:
    """Markdown on what the configured local server serves ("" for a hosted provider)."""
    if not s.provider.local or not s.base_url:
        return ""
    where = f"{s.provider.label} at `{redact_url(s.base_url)}`"
    try:
        ids = served_models(s, transport)
    except Exception as exc:  # refused, timed out, 404, not JSON: all mean "cannot tell"
        # Masked before clipping, so a cut cannot leave half a credential unrecognised.
        said = s.api_key.scrub(str(exc)) if s.api_key else str(exc)
        text = " ".join(redact_text(said, s.base_url).split())[:200] or type(exc).__name__
        return (
            f"**{where}** did not list its models ({text}). Is the server running, and is "
            "`GLM_BASE_URL` its `/v1` address?"
        )
    if not ids:
        return f"**{where}** lists no models."
    listed = ", ".join(f"`{i}`" for i in ids)
    text = f"**{where}** serves {listed}."
    if s.model not in ids:
        text += (
            f" The model in use, `{s.model}`, is not among them: set `GLM_MODEL` (or "
            f"`%config GLM.model = '{ids[0]}'`) to the name the server uses."
        )
    return text
