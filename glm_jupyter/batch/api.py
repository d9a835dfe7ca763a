"""`map` and `amap`: one prompt over many items, answers aligned with the input.

Both spell out their keywords, so that `help()` and editors show them; each is a field of
`BatchOptions` of the same name (a test keeps the three lists equal), checked there.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .options import BatchOptions
from .run import Run

if TYPE_CHECKING:
    import httpx


def map(  # `glm_jupyter.map` reads best in a notebook; it shadows the builtin only in this module
    prompt: str,
    items: Any,
    *,
    schema: Any = None,
    json: bool = False,
    column: str | None = None,
    concurrency: int = 8,
    model: str | None = None,
    provider: str | None = None,
    temperature: float | None = None,
    thinking: bool | None = None,
    max_tokens: int | None = None,
    system: str | None = None,
    max_cost: float | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Any:
    """Ask `prompt` about every item (concurrently, cached, rate-limit aware); results aligned."""
    options = BatchOptions(
        schema=schema,
        json=json,
        column=column,
        concurrency=concurrency,
        model=model,
        provider=provider,
        temperature=temperature,
        thinking=thinking,
        max_tokens=max_tokens,
        system=system,
        max_cost=max_cost,
        cache=cache,
        cache_dir=cache_dir,
        progress=progress,
        transport=transport,
    )
    return Run(prompt, items, options).blocking()


async def amap(
    prompt: str,
    items: Any,
    *,
    schema: Any = None,
    json: bool = False,
    column: str | None = None,
    concurrency: int = 8,
    model: str | None = None,
    provider: str | None = None,
    temperature: float | None = None,
    thinking: bool | None = None,
    max_tokens: int | None = None,
    system: str | None = None,
    max_cost: float | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Any:
    """`map` for async callers: `await glm_jupyter.amap(...)` runs on the caller's loop."""
    options = BatchOptions(
        schema=schema,
        json=json,
        column=column,
        concurrency=concurrency,
        model=model,
        provider=provider,
        temperature=temperature,
        thinking=thinking,
        max_tokens=max_tokens,
        system=system,
        max_cost=max_cost,
        cache=cache,
        cache_dir=cache_dir,
        progress=progress,
        transport=transport,
    )
    return await Run(prompt, items, options).awaiting()
