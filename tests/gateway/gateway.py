"""The course gateway as a real process (`glm-jupyter gateway serve`), and kernels of students
that reach the model only through it."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glm_jupyter.gateway.serve import READY

COURSE_KEY = "sk-COURSEKEY-77c1e0d94b2a"  # fake, distinctive: searched for where it must not be
# Every answer costs 400 tokens in and 100 out, so budgets are easy to reason about.
SCENARIO: dict[str, Any] = {
    "api_key": COURSE_KEY,
    "repeat": True,
    "turns": [
        {"match": "slowly", "content": "word " * 400, "tokens_per_second": 20},
    ],
    "default": {
        "content": "Through the gateway.",
        "usage": {"prompt_tokens": 400, "completion_tokens": 100},
    },
}


def glm_cli(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `glm-jupyter ...` as the instructor would."""
    return subprocess.run(
        [sys.executable, "-m", "glm_jupyter.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(env or os.environ),
        check=False,
    )


def issue(db: str, student: str) -> str:
    """A token for `student`, as `gateway token issue` prints it."""
    done = glm_cli("gateway", "--db", db, "token", "issue", student)
    assert done.returncode == 0, done.stderr
    name, token = done.stdout.split()
    assert name == student
    return token


@dataclass
class GatewayProcess:
    """A running gateway: its `/v1` URL and its log."""

    url: str
    process: subprocess.Popen[str]
    log: Path

    def log_text(self) -> str:
        """What the gateway wrote to stderr so far."""
        return self.log.read_text("utf-8", "replace")


def server_env(**extra: str) -> dict[str, str]:
    """The gateway's environment: the course's key, nothing of the test's GLM settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GLM_", "ZAI_"))}
    env.update(ZAI_API_KEY=COURSE_KEY, **extra)
    return env


@contextlib.contextmanager
def gateway(
    workdir: Path,
    db: str,
    upstream: str,
    *,
    policy: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[GatewayProcess]:
    """`glm-jupyter gateway serve` on a free port, forwarding to `upstream` (Z.ai's protocol)."""
    workdir.mkdir(parents=True, exist_ok=True)
    args = ["gateway", "--db", db, "serve", "--port", "0", "--provider", "zai"]
    args += ["--base-url", upstream]
    if policy is not None:
        path = workdir / "policy.json"
        path.write_text(json.dumps(policy), "utf-8")
        args += ["--policy", str(path)]
    log = workdir / f"gateway-{time.monotonic_ns()}.log"
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "glm_jupyter.cli", *args],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=dict(env or server_env()),
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if READY not in line:
            process.wait(10)
            raise RuntimeError(f"the gateway did not start: {line}{log.read_text()}")
        url = line.split(READY, 1)[1].split()[0]
        yield GatewayProcess(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if process.stdout is not None:
            process.stdout.close()


def student_env(url: str, token: str) -> dict[str, str]:
    """A student's kernel: the gateway's URL and the student's token, and no key at all."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GLM_", "ZAI_", "ZHIPUAI_", "OPENROUTER_", "JUPYTERHUB_"))
    }
    env.update(GLM_PROVIDER="gateway", GLM_BASE_URL=url, GLM_GATEWAY_TOKEN=token)
    return env
