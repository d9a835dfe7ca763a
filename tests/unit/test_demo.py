"""The README's first line: `glm-jupyter demo` brings up JupyterLab and the simulator."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import nbformat

from glm_jupyter.examples import notebooks


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
    copied = sorted(p.name for p in tmp_path.glob("*.ipynb"))
    assert copied == [p.name for p in notebooks()]  # every example notebook, ready to open
    for name in copied:
        nbformat.validate(nbformat.read(tmp_path / name, as_version=4))
