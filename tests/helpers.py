"""Helpers shared by the integration tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from glm_jupyter.simulator import Simulator

SCENARIOS = Path(__file__).with_name("scenarios")
SECRET = "sk-TESTKEY-4f2a9c81d6e3b750aa19"  # fake, distinctive: searched for in outputs


def use(shell: Any, sim: Simulator, provider: str = "zai", **env: str) -> None:
    """Point the shell at a simulator through the environment, as a person would."""
    os.environ["GLM_PROVIDER"] = provider
    os.environ["GLM_BASE_URL"] = sim.base_url
    os.environ.setdefault("GLM_API_KEY", SECRET)
    os.environ.update(env)
