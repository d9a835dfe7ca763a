"""Where glm-jupyter keeps what it caches on disk (batch answers, model listings)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """`GLM_CACHE_DIR`, else `~/.cache/glm-jupyter`."""
    env = os.environ if env is None else env
    configured = env.get("GLM_CACHE_DIR", "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "glm-jupyter"
