"""Where glm-jupyter keeps what it caches on disk (batch answers, model listings) and the logs of
agent runs."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """`GLM_CACHE_DIR`, else `~/.cache/glm-jupyter`."""
    env = os.environ if env is None else env
    configured = env.get("GLM_CACHE_DIR", "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "glm-jupyter"


def runs_dir(env: Mapping[str, str] | None = None) -> Path:
    """`GLM_RUNS_DIR`, else `$XDG_DATA_HOME/glm-jupyter/runs`, else
    `~/.local/share/glm-jupyter/runs`."""
    env = os.environ if env is None else env
    configured = env.get("GLM_RUNS_DIR", "").strip()
    if configured:
        return Path(configured).expanduser()
    # Run logs are the person's own records, not a cache to clear: they live with data.
    # The XDG rule: a relative XDG_DATA_HOME is ignored.
    data = Path(env.get("XDG_DATA_HOME", "").strip()).expanduser()
    base = data if data.is_absolute() else Path.home() / ".local" / "share"
    return base / "glm-jupyter" / "runs"


# Run logs are named `YYYYMMDD-HHMM-xxxx.jsonl` (agent.runlog); people may type any start of an id.
_RUN_ID = re.compile(r"\d{4}(?:\d{0,4}(?:-(?:\d{0,4}(?:-[0-9a-f]{0,4})?)?)?)?")


def looks_like_run_id(text: str) -> bool:
    """Whether `text` is a run's id, or the start of one (at least its year)."""
    return _RUN_ID.fullmatch(text.strip()) is not None


# Where a kernel announces its completion endpoint, beside its connection file (written by
# completion.service, read by the server extension).
COMPLETION_ENDPOINT = "glm-complete-{kernel}.json"

# The course gateway's database URL (`glm-jupyter gateway --db` overrides it).
GATEWAY_DB_ENV = "GLM_GATEWAY_DB"
