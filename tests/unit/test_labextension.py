"""The JupyterLab extension's own unit tests (vitest), run from the Python suite."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

LABEXTENSION = Path(__file__).resolve().parents[2] / "labextension"


def test_labextension_unit_tests() -> None:
    jlpm = shutil.which("jlpm")
    assert jlpm, "jlpm comes with JupyterLab: pip install -e '.[test]'"
    if not (LABEXTENSION / "node_modules").exists():
        subprocess.run([jlpm, "install"], cwd=LABEXTENSION, check=True)
    ran = subprocess.run([jlpm, "test"], cwd=LABEXTENSION, capture_output=True, text=True, env=None)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert " passed" in ran.stdout


def test_pip_install_built_the_extension() -> None:
    built = Path(__file__).resolve().parents[2] / "glm_jupyter" / "labextension"
    assert (built / "package.json").exists(), "pip install -e . builds it (Node.js 20+)"
    assert (built / "static" / "style.js").exists()
    # The settings schema, whose jupyter.lab.shortcuts hold the cell commands' keys.
    assert (built / "schemas" / "glm-jupyter-labextension" / "commands.json").exists()
    assert any(built.glob("static/remoteEntry.*.js"))
