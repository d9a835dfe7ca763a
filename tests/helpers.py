"""Helpers shared by the integration tests."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from glm_jupyter.simulator import Simulator

SCENARIOS = Path(__file__).with_name("scenarios")
# One answer with reasoning, for tests that need any ordinary answer.
ANSWER = "Florence is **sunny** today – 25 °C ☀"
REASONING = "The user asks about Florence; answer briefly."
SECRET = "sk-TESTKEY-4f2a9c81d6e3b750aa19"  # fake, distinctive: searched for in outputs
# A strict classroom policy, and a scenario where every answer costs 400 tokens in and 100 out.
STRICT = {
    "persona": "tutor",
    "models": ["glm-4.7-flash"],
    "agent": False,
    "auto": False,
    "max_tokens_per_session": 1200,
    "message": "Ask your instructor for help.",
}
PRICED = {"default": {"content": "ok", "usage": {"prompt_tokens": 400, "completion_tokens": 100}}}


def use(shell: Any, sim: Simulator, provider: str = "zai", **env: str) -> None:
    """Point the shell at a simulator through the environment, as a person would."""
    os.environ["GLM_PROVIDER"] = provider
    os.environ["GLM_BASE_URL"] = sim.base_url
    os.environ.setdefault("GLM_API_KEY", SECRET)
    os.environ.update(env)


def stop(process: subprocess.Popen[Any], grace: float = 5.0) -> None:
    """Stop a server process: terminate, and kill it if it has not exited after `grace` s."""
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(grace)


def write_policy(path: Path, rules: Any) -> Path:
    """Write a policy file (rules as JSON, or text as it is)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rules if isinstance(rules, str) else json.dumps(rules), encoding="utf-8")
    return path


# The keys DESIGN.md promises in every application/vnd.glm.response+json payload.
CONTRACT_KEYS = {
    "version",
    "model",
    "provider",
    "status",
    "reasoning",
    "content",
    "tool_calls",
    "usage",
    "cost_usd",
    "elapsed_s",
    "finish_reason",
    "error",
}


def calls(*pairs: tuple[str, Any], reasoning: str = "") -> dict[str, Any]:
    """A turn that calls tools (arguments as objects, or raw strings)."""
    turn: dict[str, Any] = {
        "tool_calls": [{"name": n, "arguments": a} for n, a in pairs],
        "finish_reason": "tool_calls",
    }
    if reasoning:
        turn["reasoning"] = reasoning
    return turn
