"""The README's first line: `glm-jupyter demo` brings up JupyterLab and the simulator."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import nbformat


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_starts_lab_and_simulator(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "glm_jupyter.cli",
            "demo",
            "--check",
            "--port",
            str(_free_port()),
            "--dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "simulator (not a real model)" in done.stdout
    assert "/lab/tree/01-quickstart.ipynb?token=" in done.stdout
    nbformat.validate(nbformat.read(tmp_path / "01-quickstart.ipynb", as_version=4))


def test_quickstart_notebook_runs_against_the_demo_scenario(tmp_path: Path) -> None:

    from nbclient import NotebookClient

    from glm_jupyter.cli import DEMO, demo_env
    from glm_jupyter.simulator import Simulator

    nb = nbformat.read(DEMO / "quickstart.ipynb", as_version=4)
    with Simulator(DEMO / "scenario.json") as sim:
        NotebookClient(nb, timeout=60, kernel_name="python3").execute(env=demo_env(sim.base_url))
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o["output_type"] == "error"]
    text = "\n".join(str(o.get("data", o.get("text", ""))) for o in outputs)
    assert "method chain" in text  # the scripted answers arrived, not the fallback
    assert "'modes': ['thinking'" in text  # --json -o parsed the object
