"""How one batch runs: the keywords of `map`/`amap` and of `%%glm --map`, checked once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config.paths import cache_dir

if TYPE_CHECKING:
    from collections.abc import Mapping

    import httpx

    from ..config.settings import Settings
    from ..core.pipeline import Pipeline


@dataclass(frozen=True)
class BatchOptions:
    """Everything about one batch but its prompt and items; None takes the usual default."""

    # --- reading the items and the answers
    schema: Any = None  # a dataclass, TypedDict, pydantic model or JSON schema each answer fits
    json: bool = False  # answers are JSON objects, parsed (implied by `schema`)
    column: str | None = None  # the DataFrame column that follows a prompt without placeholders
    # --- settings: None takes `GLM` config, then the environment, then the default
    model: str | None = None
    provider: str | None = None
    temperature: float | None = None
    thinking: bool | None = None  # None: off, unless `GLM.thinking` says otherwise
    max_tokens: int | None = None
    system: str | None = None
    given_as: str = "argument"  # as messages name them: "argument" (map's keywords) or "flag"
    # --- sending and showing
    concurrency: int = 8  # requests in flight at most (a rate limit lowers it for a while)
    max_cost: float | None = None  # USD: refuse to start a batch whose estimate is higher
    cache: bool = True  # keep answers in SQLite, so a re-run sends only what is missing
    cache_dir: str | os.PathLike[str] | None = None  # None: GLM_CACHE_DIR or ~/.cache/glm-jupyter
    progress: bool = True  # a bar while it runs and a summary line at the end
    transport: httpx.AsyncBaseTransport | None = None  # None: a pool as large as `concurrency`

    def __post_init__(self) -> None:
        # Checked here, before any item is read: the same message from map() and the magic.
        c = self.concurrency
        if isinstance(c, bool) or not isinstance(c, int) or c < 1:
            raise ValueError(f"concurrency must be a whole number from 1 up; got {c!r}.")

    def settings(self, pipeline: Pipeline) -> Settings:
        """The batch's settings, resolved and shaped by the classroom policy as for a cell."""
        thinking = self.thinking
        if thinking is None:
            # Thinking is off unless asked for (here or in GLM config): reasoning tokens are billed
            # as output, often several times the answer, and a batch pays them once per item.
            configured = pipeline.config.thinking
            thinking = configured if configured is not None else False
        flags = {
            "model": self.model,
            "provider": self.provider,
            "temperature": self.temperature,
            "thinking": thinking,
            "max_tokens": self.max_tokens,
            "system": self.system,
        }
        return pipeline.settings(flags, given_as=self.given_as)

    def cache_folder(self, env: Mapping[str, str] | None = None) -> Path:
        """Where the answers are kept: `cache_dir`, else the default for this environment."""
        if self.cache_dir is not None:
            return Path(self.cache_dir).expanduser()
        return cache_dir(env)
