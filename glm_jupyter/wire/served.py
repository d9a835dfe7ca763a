"""What a server says it serves (`GET /models`), for `%glm models`.

A vLLM, SGLang, Ollama or llama.cpp server answers only to the model name it was started with,
which is rarely the name glm-jupyter would guess, so `%glm models` asks the server. A hosted
provider's listing shows the GLM models it has that the catalog does not know yet.
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
        return (
            f"**{where}** did not list its models ({_said(s, exc)}). Is the server running, and "
            "is `GLM_BASE_URL` its `/v1` address?"
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


def _said(s: Settings, exc: Exception) -> str:
    # Masked before clipping, so a cut cannot leave half a credential unrecognised.
    said = s.api_key.scrub(str(exc)) if s.api_key else str(exc)
    return " ".join(redact_text(said, s.base_url).split())[:200] or type(exc).__name__


def _cell(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}"


def _seeing(images: bool | None) -> str:
    return "?" if images is None else "yes" if images else "-"


def _count(value: int) -> str:
    return f"{value:,}" if value else "?"


def listed_section(s: Settings, transport: httpx.BaseTransport | None = None) -> str:
    """Markdown on a hosted provider's listing: the GLM models it lists that the catalog does
    not know yet, with the window and price it gives them."""
    from ..config import catalog
    from .listing import read_listing

    try:
        listed = read_listing(s, transport)
    except Exception as exc:
        return (
            f"**{s.provider.label}** did not list its models ({_said(s, exc)}); the table "
            "below is what glm-jupyter knows."
        )
    glm = [m for m in listed.values() if "glm" in m.name.lower()]
    new = [m for m in glm if catalog.lookup(m.name) is None]
    source = next(iter(listed.values())).source if listed else f"{s.provider.label} /models"
    text = f"**{s.provider.label}** lists {len(glm)} GLM model(s) ({source})."
    if new:
        rows = [
            "| listed, not in the catalog | context | max output | USD / 1M in | cached in | out "
            "| images |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        rows += [
            f"| {m.name} | {_count(m.context)} | {_count(m.max_output)} | {_cell(m.input_price)} "
            f"| {_cell(m.cached_price)} | {_cell(m.output_price)} | {_seeing(m.images)} |"
            for m in new
        ]
        text += " These run with what the listing says; `?` is not known:\n\n" + "\n".join(rows)
    if catalog.find(s.model, s.provider.name) is None:
        text += (
            f"\n\nThe model in use, `{s.model}`, is neither in the catalog nor in the listing: "
            "it runs, with its window and price unknown."
        )
    return text
