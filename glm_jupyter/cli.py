"""`glm-jupyter demo`: JupyterLab on the example notebooks, wired to the bundled simulator."""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .examples import demo_scenario, kernel_env, notebooks

FIRST = "01-quickstart.ipynb"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glm-jupyter", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="start the GLM simulator and JupyterLab on the example notebooks (offline)"
    )
    demo.add_argument("--port", type=int, default=8888, help="JupyterLab port (8888)")
    demo.add_argument(
        "--dir",
        type=Path,
        default=Path.home() / "glm-jupyter-demo",
        help="folder the example notebooks are copied to (~/glm-jupyter-demo)",
    )
    demo.add_argument("--browser", action="store_true", help="open a browser tab too")
    demo.add_argument(
        "--check",
        action="store_true",
        help="start everything, check that JupyterLab and the simulator answer, then stop",
    )
    from .gateway import commands as gateway

    gateway.add_parser(sub)
    return parser


def _prepare(folder: Path) -> Path:
    """Copy the example notebooks in, leaving copies that are already there (maybe edited)."""
    folder.mkdir(parents=True, exist_ok=True)
    for notebook in notebooks():
        target = folder / notebook.name
        if not target.exists():
            shutil.copyfile(notebook, target)
    return folder / FIRST


def _wait_for_lab(url: str, token: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"JupyterLab exited with status {proc.returncode}")
        try:
            if (
                httpx.get(f"{url}/api/status", params={"token": token}, timeout=2).status_code
                == 200
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"JupyterLab did not answer at {url} within {timeout:.0f} s")


def demo(args: argparse.Namespace) -> int:
    """Run the offline demo until Ctrl-C (or, with --check, until both servers answered)."""
    if shutil.which("jupyter-lab") is None and not _has_module("jupyterlab"):
        print("JupyterLab is not installed: pip install 'glm-jupyter[lab]'", file=sys.stderr)
        return 1
    from .simulator import Simulator

    notebook = _prepare(args.dir)
    token = secrets.token_hex(16)
    with Simulator(demo_scenario()) as sim:
        env = kernel_env(sim.base_url)
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            f"--port={args.port}",
            "--ip=127.0.0.1",
            f"--ServerApp.root_dir={args.dir}",
            f"--IdentityProvider.token={token}",
            "--ServerApp.port_retries=0",
        ]
        if not args.browser:
            command.append("--no-browser")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # containers and CI machines often run as root
        lab = f"http://127.0.0.1:{args.port}"
        print(f"GLM protocol simulator (not a real model): {sim.base_url}", flush=True)
        proc = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL if args.check else None)
        try:
            _wait_for_lab(lab, token, proc, timeout=120)
            print(f"JupyterLab: {lab}/lab/tree/{notebook.name}?token={token}", flush=True)
            if args.check:
                import httpx

                answer = httpx.post(
                    sim.base_url + "/chat/completions",
                    json={"model": "glm-5.1", "messages": [{"role": "user", "content": "hi"}]},
                    timeout=10,
                )
                answer.raise_for_status()
                print("demo check: JupyterLab and the simulator both answer", flush=True)
                return 0
            return proc.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `glm-jupyter` command."""
    args = _parser().parse_args(argv)
    if args.command == "gateway":
        from .gateway import commands as gateway

        return gateway.run(args)
    return demo(args)


if __name__ == "__main__":
    sys.exit(main())
