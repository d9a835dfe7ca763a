"""Command line: `python -m glm_jupyter.simulator --port 0 --dialect zai --script FILE`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .dialects import DIALECTS
from .scenario import ScenarioError
from .simulator import Simulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m glm_jupyter.simulator",
        description=(
            "Serve the GLM chat-completions protocol from a scripted scenario. "
            "This is a simulator for tests and demos, not a language model."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument(
        "--dialect", choices=DIALECTS, help="wire dialect (default: the scenario's, else zai)"
    )
    parser.add_argument(
        "--script", metavar="FILE", help="scenario JSON file (default: echo every question)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator until SIGINT or SIGTERM; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        sim = Simulator(args.script, dialect=args.dialect, port=args.port, host=args.host)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    # One line, flushed: launchers read the URL from the first token starting with "http".
    print(
        f"GLM protocol simulator (not a real model) on {sim.base_url} dialect={sim.dialect}",
        flush=True,
    )
    try:
        while not stop.wait(0.2):
            pass
    finally:
        sim.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
