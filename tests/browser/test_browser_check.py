"""`python -m jupyterlab.browser_check`: JupyterLab starts in Chromium with the extension loaded.

browser_check drives Node Playwright and first runs `npx playwright install chromium`, which
downloads a browser build. Here the browser is Debian's Chromium instead: a Playwright browser
folder (PLAYWRIGHT_BROWSERS_PATH) whose executables are links to it, marked installed, so the
install step finds nothing to fetch.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from jupyterlab.commands import get_app_dir

from .lab import CHROMIUM, environment_problem

# Where Playwright looks for each browser inside its folder, per machine (playwright-core's
# registry): the folder name prefix, then the executable's path inside it.
_EXECUTABLES = {
    "x86_64": {
        "chromium": "chrome-linux64/chrome",
        "chromium-headless-shell": "chrome-headless-shell-linux64/chrome-headless-shell",
    },
    "aarch64": {
        "chromium": "chrome-linux-arm64/chrome",
        "chromium-headless-shell": "chrome-headless-shell-linux-arm64/chrome-headless-shell",
    },
}


def _npm_playwright(target: Path) -> Path:
    """The Playwright package browser_check uses, installed the way browser_check does it."""
    if not (target / "node_modules").exists():
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "init", "-y"], cwd=target, check=True, capture_output=True)
        subprocess.run(
            ["npm", "install", "playwright@^1.9.2"], cwd=target, check=True, capture_output=True
        )
    return target / "node_modules" / "playwright-core" / "browsers.json"


def system_browsers(browsers_json: Path, folder: Path) -> Path:
    """A Playwright browsers folder whose Chromium builds are Debian's Chromium."""
    binary = Path(os.path.realpath("/usr/lib/chromium/chromium"))
    paths = _EXECUTABLES[platform.machine()]
    for entry in json.loads(browsers_json.read_text())["browsers"]:
        name, revision = entry["name"], entry["revision"]
        if name not in (*paths, "ffmpeg"):
            continue
        home = folder / f"{name.replace('-', '_')}-{revision}"
        home.mkdir(parents=True, exist_ok=True)
        if name in paths:
            executable = home / paths[name]
            executable.parent.mkdir(parents=True, exist_ok=True)
            if not executable.exists():
                executable.symlink_to(binary)
        # ffmpeg is only for recording videos, which browser_check never does: marked, not linked.
        for marker in ("INSTALLATION_COMPLETE", "DEPENDENCIES_VALIDATED"):
            (home / marker).touch()
    return folder


def test_jupyterlab_browser_check(tmp_path: Path) -> None:
    problem = environment_problem()
    if problem:
        pytest.fail(problem)
    assert CHROMIUM.exists()
    browsers = system_browsers(
        _npm_playwright(Path(get_app_dir()) / "browser_test"), tmp_path / "browsers"
    )
    env = dict(
        os.environ,
        PLAYWRIGHT_BROWSERS_PATH=str(browsers),
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
    )
    ran = subprocess.run(
        [sys.executable, "-m", "jupyterlab.browser_check", "--ServerApp.allow_root=True"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    output = ran.stdout + ran.stderr
    assert ran.returncode == 0, output
    assert "Browser test complete" in output


def test_the_extension_is_installed_and_enabled() -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "jupyterlab.labextensions", "list"],
        capture_output=True,
        text=True,
        env=dict(os.environ, NO_COLOR="1"),
    )
    listing = ran.stdout + ran.stderr
    line = next((x for x in listing.splitlines() if "glm-jupyter-labextension" in x), "")
    assert "enabled" in line, listing
    assert "OK" in line, listing
    installed = Path(sys.prefix, "share/jupyter/labextensions/glm-jupyter-labextension")
    if not installed.is_symlink():  # `jupyter labextension develop` links the build instead
        assert "(python, glm-jupyter)" in line, listing
