"""The code stays ruff- and mypy-clean, and importing the package stays cheap."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_is_clean() -> None:
    done = _run(sys.executable, "-m", "ruff", "check", "glm_jupyter", "tests", "benchmarks")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_is_clean() -> None:
    done = _run(sys.executable, "-m", "mypy")
    assert done.returncode == 0, done.stdout + done.stderr


def test_import_loads_no_heavy_modules() -> None:
    probe = (
        "import sys, json, glm_jupyter; "
        "print(json.dumps([m for m in ('pandas', 'ipywidgets', 'jupyterlab', 'httpx') "
        "if m in sys.modules]))"
    )
    done = _run(sys.executable, "-c", probe)
    assert json.loads(done.stdout) == []


def test_public_api_resolves() -> None:
    import glm_jupyter

    for name in glm_jupyter.__all__:
        assert getattr(glm_jupyter, name) is not None
