"""A provider's own model listing (`GET {base}/models`), read at run time and kept a day on disk.

OpenRouter's listing carries each model's window (`context_length`), output limit
(`top_provider.max_completion_tokens`), prices (`pricing.prompt`, `completion`,
`input_cache_read`, USD per token, as strings) and input modalities; vLLM adds `max_model_len`,
llama.cpp `meta.n_ctx_train`; Z.ai and most servers list ids only. What it says is laid over the
catalog (`catalog.remember`), so a model that ships after this release runs with the window and
price its provider lists. A listing that cannot be read costs nothing but the knowledge.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import catalog
from ..config.catalog import ModelInfo
from ..config.paths import cache_dir
from ..redact import redact_url

if TYPE_CHECKING:
    import httpx

    from ..config.settings import Settings

TIMEOUT = 5.0  # a listing is small: a server that takes longer is not answering
MAX_AGE = 86_400.0  # seconds a listing on disk stays good
FOLDER = "models"

# The (provider, base URL) pairs read in this process, so a failing listing is not asked again
# on every request.
_TRIED: set[tuple[str, str]] = set()


def fetch_listing(s: Settings, transport: httpx.BaseTransport | None = None) -> Any:
    """The raw JSON of `{base}/models`; raises httpx errors or ValueError."""
    import httpx

    from .client import BearerAuth
    from .urls import join_url

    auth = BearerAuth(s.api_key) if s.api_key else None
    with httpx.Client(transport=transport, timeout=TIMEOUT, auth=auth) as http:
        response = http.get(join_url(s.base_url, "/models"))
        response.raise_for_status()
        return response.json()


def _number(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def _per_million(value: Any) -> float | None:
    per_token = _number(value)
    return None if per_token is None or per_token < 0 else round(per_token * 1_000_000, 6)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_listing(listing: Any, source: str) -> dict[str, ModelInfo]:
    """Model id -> what the listing says of it; ValueError when it is no OpenAI-style list."""
    entries = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(entries, list):
        raise ValueError("the answer is not an OpenAI-style model list")
    found: dict[str, ModelInfo] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        top = _mapping(entry.get("top_provider"))
        window = (
            _number(entry.get("context_length"))
            or _number(top.get("context_length"))
            or _number(entry.get("max_model_len"))
            or _number(_mapping(entry.get("meta")).get("n_ctx_train"))
        )
        pricing = _mapping(entry.get("pricing"))
        prompt = _per_million(pricing.get("prompt"))
        cached = _per_million(pricing.get("input_cache_read"))
        modalities = _mapping(entry.get("architecture")).get("input_modalities") or ()
        found[entry["id"]] = ModelInfo(
            name=entry["id"],
            context=int(window or 0),
            max_output=int(_number(top.get("max_completion_tokens")) or 0),
            input_price=prompt,
            cached_price=prompt if cached is None and prompt is not None else cached,
            output_price=_per_million(pricing.get("completion")),
            images=("image" in modalities) if modalities else None,
            source=source,
            listed=True,
        )
    return found


def _file(s: Settings) -> Path:
    # One file per provider and server: a local server's listing is its own.
    server = hashlib.sha256(redact_url(s.base_url).encode()).hexdigest()[:12]
    return cache_dir() / FOLDER / f"{s.provider.name}-{server}.json"


def _read(path: Path, *, fresh_only: bool) -> dict[str, Any] | None:
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or not isinstance(saved.get("listing"), dict):
        return None
    age = time.time() - float(saved.get("fetched", 0))
    return None if fresh_only and not 0 <= age < MAX_AGE else saved


def _write(path: Path, listing: Any) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"fetched": time.time(), "listing": listing}), "utf-8")
        temporary.replace(path)  # whole or not at all, for a second kernel reading it
    except OSError:
        pass  # a read-only home: the listing still serves this process


def read_listing(
    s: Settings, transport: httpx.BaseTransport | None = None, *, refresh: bool = False
) -> dict[str, ModelInfo]:
    """The provider's listing: from disk when under a day old, else asked again and saved (a
    stale copy when asking fails); `refresh` asks now and raises when that fails."""
    path = _file(s)
    saved = None if refresh else _read(path, fresh_only=True)
    if saved is None:
        try:
            raw = fetch_listing(s, transport)
            parse_listing(raw, "")  # refuse to keep what cannot be read
            _write(path, raw)
            saved = {"fetched": time.time(), "listing": raw}
        except Exception:
            saved = None if refresh else _read(path, fresh_only=False)
            if saved is None:
                raise
    when = date.fromtimestamp(float(saved.get("fetched", 0))).isoformat()
    infos = parse_listing(saved["listing"], f"{s.provider.label} /models listing, read {when}")
    catalog.remember(s.provider.name, infos)
    _TRIED.add((s.provider.name, s.base_url))
    return infos


def ensure_listing(s: Settings, transport: httpx.BaseTransport | None = None) -> None:
    """Read the provider's listing once per process (quietly: a failure leaves it unknown)."""
    if (s.provider.name, s.base_url) in _TRIED:
        return
    _TRIED.add((s.provider.name, s.base_url))
    try:
        read_listing(s, transport)
    except Exception:  # refused, timed out, 404, not JSON: the model runs, its window unknown
        return


def forget() -> None:
    """Drop what this process read (tests; a new GLM_CACHE_DIR)."""
    _TRIED.clear()
    catalog.remember_nothing()
