"""A real Jupyter server (JupyterLab and Notebook 7) pointed at the simulator, for browser tests."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nbformat

from glm_jupyter.examples import kernel_env
from glm_jupyter.simulator import Simulator

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SCENARIO = ROOT / "tests" / "scenarios" / "browser.json"
CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium, headless, with nothing that reaches outside this machine.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Seconds: generous, because these machines are shared. Waits end as soon as the page is ready.
PAGE_WAIT_MS = 90_000


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running Jupyter server: its URL, token and the folder it serves."""

    url: str
    token: str
    root: Path
    sim: Simulator
    log: Path
    notebooks: list[str] = field(default_factory=list)

    def page_url(self, name: str, app: str = "lab") -> str:
        """The address of notebook `name` in JupyterLab (`lab`) or Notebook 7 (`notebook`)."""
        # A workspace of its own per notebook, so no tab of an earlier test is restored beside it.
        stem = Path(name).stem
        where = f"lab/workspaces/{stem}/tree" if app == "lab" else "notebooks"
        return f"{self.url}/{where}/{name}?token={self.token}"

    def write_notebook(self, name: str, *sources: str) -> str:
        """A notebook of code cells in the served folder; returns its name."""
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
        nbformat.write(nb, self.root / name)
        return name


def _settings(settings_dir: Path) -> None:
    # No news or update checks: they would reach outside the machine.
    target = settings_dir / "@jupyterlab" / "apputils-extension"
    target.mkdir(parents=True, exist_ok=True)
    (target / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )


@contextlib.contextmanager
def jupyter_server(home: Path, scenario: Any = SCENARIO) -> Iterator[Server]:
    """Start the simulator (on `scenario`) and a Jupyter server whose kernels talk to it;
    stop both after."""
    root = home / "notebooks"
    root.mkdir()
    settings = home / "lab-settings"
    _settings(settings)
    port, token = free_port(), secrets.token_hex(16)
    with Simulator(scenario) as sim:
        env = kernel_env(sim.base_url)
        env.update(
            JUPYTER_CONFIG_DIR=str(home / "config"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
            IPYTHONDIR=str(home / "ipython"),
        )
        log = home / "server.log"
        command = [
            sys.executable,
            "-m",
            # Notebook 7's server serves JupyterLab too; started as `jupyter lab`, its Notebook
            # pages log a settings error of their own.
            "notebook",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.allow_root=True",
            "--LabApp.extension_manager=readonly",
            "--LabApp.news_url=",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
            "--JupyterNotebookApp.expose_app_in_browser=True",
        ]
        with log.open("wb") as out:
            proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        server = Server(f"http://127.0.0.1:{port}", token, root, sim, log)
        try:
            _wait_for(server, proc)
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_for(server: Server, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + PAGE_WAIT_MS / 1000
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"the Jupyter server exited ({proc.returncode}):\n{server.log.read_text()}"
            )
        with contextlib.suppress(httpx.HTTPError):
            status = httpx.get(f"{server.url}/api/status", params={"token": server.token})
            if status.status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"the Jupyter server did not answer:\n{server.log.read_text()}")


# --- driving a notebook page ---------------------------------------------------------------------

KERNEL_IDLE = """() => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = panel && panel.sessionContext && panel.sessionContext.session
        && panel.sessionContext.session.kernel;
    return !!kernel && kernel.status === 'idle'
        && ![...document.querySelectorAll('.jp-InputArea-prompt')]
            .some(p => p.textContent.includes('[*]'));
}"""


def open_notebook(page: Any, server: Server, name: str, app: str = "lab") -> None:
    """Open notebook `name` and wait until its kernel is idle."""
    page.goto(server.page_url(name, app))
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=PAGE_WAIT_MS)
    page.wait_for_function(KERNEL_IDLE, timeout=PAGE_WAIT_MS)


# The scenario's streamed question (tests/scenarios/browser.json), with a code block in its answer.
ASK_SIX_TIMES_SEVEN = "%%glm\nWhat is 6 times 7? Show the code."
# A cell that raises ZeroDivisionError, for the "Explain this error" flows.
FAILING_CELL = "values = [1, 2]\ntotal = sum(values) / (len(values) - 2)"


def start_notebook(page: Any, server: Server, name: str, *sources: str, app: str = "lab") -> None:
    """Write a notebook that loads glm_jupyter and then holds `sources`; open it, load it."""
    server.write_notebook(name, "%load_ext glm_jupyter", *sources)
    open_notebook(page, server, name, app)
    run_cell(page, 0)
    wait_idle(page)


def command(page: Any, name: str, args: dict[str, Any] | None = None) -> None:
    """Run an application command, as a menu item or the palette would."""
    page.evaluate(
        "([name, args]) => window.jupyterapp.commands.execute(name, args)", [name, args or {}]
    )


def select_cell(page: Any, index: int) -> None:
    """Make cell `index` the active cell, in command mode."""
    page.evaluate(
        """(index) => {
            const notebook = window.jupyterapp.shell.currentWidget.content;
            notebook.activeCellIndex = index;
            notebook.mode = 'command';
            notebook.node.focus();
        }""",
        index,
    )


def run_cell(page: Any, index: int) -> None:
    """Run cell `index` with Ctrl+Enter (in place: running the last cell adds no new one)."""
    select_cell(page, index)
    page.keyboard.press("Control+Enter")


def wait_idle(page: Any) -> None:
    """Wait until the kernel is idle and no cell is queued or running."""
    page.wait_for_function(KERNEL_IDLE, timeout=PAGE_WAIT_MS)


def cell(page: Any, index: int) -> Any:
    """The locator of cell `index` in the current notebook."""
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def cell_sources(page: Any) -> list[str]:
    """Every cell's source, in order, read from the notebook model."""
    return list(
        page.evaluate(
            """() => window.jupyterapp.shell.currentWidget.content.widgets
                .map(c => c.model.sharedModel.getSource())"""
        )
    )


def shot(page: Any, name: str) -> Path:
    """Save a screenshot of the page as test-artifacts/NAME.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def environment_problem() -> str | None:
    """Why browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return (
            f"{CHROMIUM} is missing: install Debian's Chromium with "
            "`apt-get update && apt-get install -y chromium` (.ci/run does this)."
        )
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is not executable."
    return None
