"""Real response and step payloads from `%%glm` runs against the simulator, as JSON fixtures.

`python -m tests.make_payload_fixtures` (from the repository root) writes them to
labextension/test/fixtures/, where the vitest suite validates them against the same schemas
as tests/test_payload_schemas.py. Names start with the schema they follow: `response-*`,
`step-*`, `run-*`.
"""

from __future__ import annotations

import builtins
import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from IPython.utils.capture import capture_output

from glm_jupyter.display.bundle import MIME_TYPE
from glm_jupyter.display.step import STEP_MIME
from glm_jupyter.schemas import RUN_MIME
from glm_jupyter.simulator import Simulator

from .helpers import calls

FIXTURES = Path(__file__).resolve().parents[1] / "labextension" / "test" / "fixtures"
KEY = "sk-FIXTURE-0000000000000000"  # fake: the simulator takes any key
REASONING = "The question is about the mean of `prices`. Sum them and divide by three."
ANSWER = "The mean price is **20.0**:\n\n```python\nsum(prices) / len(prices)\n```"

Start = Callable[..., Simulator]
Payloads = dict[str, dict[str, Any]]


def _run(
    shell: Any, sim: Simulator, cell: str, interrupt_after: float | None = None
) -> list[dict[str, Any]]:
    """Run one cell against `sim` (sending SIGINT after a while, if asked); its displays."""
    os.environ.update(GLM_PROVIDER="zai", GLM_BASE_URL=sim.base_url, GLM_API_KEY=KEY)
    timer = None
    if interrupt_after is not None:
        timer = threading.Timer(interrupt_after, os.kill, (os.getpid(), signal.SIGINT))
    with capture_output() as captured:
        if timer is not None:
            timer.start()
        shell.run_cell(cell)
    if timer is not None:
        fired = timer.finished.is_set()
        timer.cancel()  # never a stray SIGINT after the cell
        timer.join()
        assert fired, f"{cell!r} ended before the interrupt"
    bundles = [o.data for o in captured.outputs]
    assert bundles, f"{cell!r} displayed nothing: {captured.stdout}{captured.stderr}"
    return bundles


@contextmanager
def _answers(*replies: str) -> Iterator[None]:
    """The terminal approver's questions answered in turn; "^C" is an interrupt."""
    queue = list(replies)
    original = builtins.input

    def fake_input(prompt: str = "") -> str:
        reply = queue.pop(0)
        if reply == "^C":
            raise KeyboardInterrupt
        return reply

    builtins.input = fake_input
    try:
        yield
    finally:
        builtins.input = original


def _responses(bundles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b[MIME_TYPE] for b in bundles if MIME_TYPE in b]


def _steps(bundles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b[STEP_MIME] for b in bundles if STEP_MIME in b]


def _headers(bundles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b[RUN_MIME] for b in bundles if RUN_MIME in b]


def _last(
    payloads: list[dict[str, Any]], test: Callable[[dict[str, Any]], bool], index: int = -1
) -> dict[str, Any]:
    found = [p for p in payloads if test(p)]
    assert found, "no payload of the kind wanted"
    return found[index]


def collect(shell: Any, start: Start) -> Payloads:
    """Run the scenarios in `shell` (glm_jupyter loaded) and return the payloads by name."""
    out: Payloads = {}
    shell.user_ns["prices"] = [10, 20, 30]

    # A plain answer with reasoning and a variable as context.
    sim = start({"turns": [{"reasoning": REASONING, "content": ANSWER, "tokens_per_second": 60}]})
    replies = _responses(_run(shell, sim, "%%glm --new --var prices\nWhat is the mean price?"))
    out["response-streaming"] = _last(replies, lambda p: p["status"] == "streaming")
    out["response-done"] = replies[-1]

    # An agent run: a plan, a read-only call, code streamed in as it is written, the answer.
    plan = {
        "explanation": "Look first, then compute.",
        "plan": [
            {"step": "See what is there", "status": "in_progress"},
            {"step": "Compute the mean", "status": "pending"},
        ],
    }
    sim = start(
        {
            "tool_stream": True,
            "turns": [
                calls(("update_plan", plan)),
                calls(("list_variables", {}), reasoning="First, what is there?"),
                {
                    **calls(
                        ("run_python", {"code": "mean = sum(prices) / len(prices)\nprint(mean)"})
                    ),
                    "tokens_per_second": 20,
                },
                {"content": "The mean price is 20.0, now in `mean`."},
            ],
        }
    )
    bundles = _run(shell, sim, "%%glm --new --auto\nWhat is the mean price? Keep it in `mean`.")
    replies = _responses(bundles)
    out["response-tool-calls-streaming"] = _last(
        replies,
        lambda p: (
            p["status"] == "streaming" and any(c["function"]["arguments"] for c in p["tool_calls"])
        ),
        index=0,  # the first: its code is still coming in
    )
    out["response-agent-done"] = replies[-1]
    steps = _steps(bundles)
    out["step-read-only"] = _last(steps, lambda s: s["approval"] == "read-only")
    out["step-running"] = _last(steps, lambda s: s["status"] == "running")
    out["step-done"] = _last(steps, lambda s: s["tool"] == "run_python" and s["status"] == "done")
    headers = _headers(bundles)
    out["run-running"] = _last(headers, lambda h: h["status"] == "running" and bool(h["plan"]))
    out["run-done"] = headers[-1]

    # A call the person rejects, then a call they interrupt while being asked.
    sim = start(
        {
            "turns": [
                calls(("run_python", {"code": "import os\nos.remove('data.csv')"})),
                calls(("run_python", {"code": "z = 1"})),
                {"content": "never"},
            ]
        }
    )
    with _answers("n", "keep the data", "^C"):
        bundles = _run(shell, sim, "%%glm --new --agent\nClean up.")
    steps = _steps(bundles)
    out["step-waiting"] = _last(steps, lambda s: s["status"] == "waiting")
    out["step-rejected"] = _last(steps, lambda s: s["status"] == "rejected")
    out["step-interrupted"] = _last(steps, lambda s: s["status"] == "interrupted")

    # A long answer stopped by SIGINT, as a kernel interrupt stops it.
    sim = start({"turns": [{"generate": {"content_tokens": 400}, "tokens_per_second": 40}]})
    bundles = _run(shell, sim, "%%glm --new\nTell me a long story.", interrupt_after=0.6)
    out["response-interrupted"] = _responses(bundles)[-1]

    # Errors: refused before any output, and a stream cut after some arrived.
    fault = {"kind": "http_error", "status": 401, "code": "1001", "message": "bad key"}
    sim = start({"turns": [{"content": ANSWER, "fault": fault}]})
    out["response-error"] = _responses(_run(shell, sim, "%%glm --new\nhi"))[-1]
    cut = {"kind": "cut", "after_tokens": 12}
    sim = start({"turns": [{"reasoning": REASONING, "content": ANSWER, "fault": cut}]})
    out["response-error-cut"] = _responses(_run(shell, sim, "%%glm --new\nhi"))[-1]
    return out


def write(payloads: Payloads, folder: Path = FIXTURES) -> list[Path]:
    """Write each payload to `folder/<name>.json`, dropping fixtures no longer made."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.json"):
        if old.stem not in payloads:
            old.unlink()
    paths = []
    for name, payload in sorted(payloads.items()):
        path = folder / f"{name}.json"
        path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", "utf-8")
        paths.append(path)
    return paths


def main() -> None:
    """Make the payloads in a fresh IPython shell and write them as fixtures."""
    from IPython.core.interactiveshell import InteractiveShell

    saved = dict(os.environ)
    for name in ("GLM_MODEL", "GLM_POLICY", "GLM_PERSONA", "GLM_CACHE_DIR"):
        os.environ.pop(name, None)  # the defaults, whatever this shell has set
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "glm_jupyter")
    shell.run_line_magic("config", "GLM.renderer = 'display'")
    shell.run_line_magic("config", "GLM.retry_backoff = 0.001")
    try:
        with ExitStack() as stack:
            payloads = collect(shell, lambda s=None: stack.enter_context(Simulator(s)))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    for path in write(payloads):
        print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)


if __name__ == "__main__":
    main()
