"""Inline completions: what one request sends about the live kernel."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from .common import result

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "02-data-analysis-assistant.ipynb"


def _code_cells() -> list[str]:
    cells = json.loads(NOTEBOOK.read_text("utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def context_tokens() -> list[dict[str, Any]]:
    """The prompt of a completion typed under the 02 notebook's cells, the penguins loaded."""
    from palmerpenguins import load_penguins

    from glm_jupyter.completion.prompt import CompletionRequest, messages
    from glm_jupyter.config.providers import PROVIDERS
    from glm_jupyter.context.names import names_table
    from glm_jupyter.context.summaries import summarize
    from glm_jupyter.simulator.tokens import Prompt, prompt_text
    from glm_jupyter.wire.dialects import Dialect

    penguins = load_penguins()
    names = names_table({"penguins": penguins, "load_penguins": load_penguins})
    request = CompletionRequest("by_species = penguins.groupby(", "", tuple(_code_cells()))
    dialect = Dialect(PROVIDERS["zai"], "glm-4.7-flash", thinking=False, max_tokens=96)
    body = dialect.body(messages(request, names))
    tokens = Prompt.of(prompt_text(body)).tokens
    # The naive way: the frame's rows as text, as a notebook-text assistant would paste them.
    naive = Prompt.of(penguins.to_string()).tokens
    summary = summarize(penguins, "penguins").tokens
    return [
        result(
            "completion_context_tokens",
            tokens,
            "tokens",
            "<= 1000",
            tokens <= 1000,
            f"the frame's rows as text {naive:,} tokens; its `--df` summary {summary:,}",
            names_table_chars=len(names),
            cells_above=len(request.cells),
        )
    ]


DEBOUNCE_MS = 200  # the provider's debouncer delay (labextension/src/completer.ts)
FIRST_BYTE_S = 0.05  # the simulator's time to first token
ANSWER = "sales['quarter_revenue'].sum()"
LATENCY = {
    "repeat": True,
    "turns": [
        {"match": "slow_", "content": "never seen", "first_byte_delay": 5},
        {"match": "<\\|cursor\\|>", "content": ANSWER, "first_byte_delay": FIRST_BYTE_S},
    ],
    "default": {"content": "ok"},
}
FRAME = (
    "import pandas as pd\n"
    "sales = pd.DataFrame({k: [1.5, 2.5] for k in ('quarter_' + 'revenue', 'units')})"
)
# Records, in the page's clock, how long after the last keystroke ghost text holding the
# answer is on screen: the first frame painted after it appears in the DOM.
GHOST_PROBE = """
window.__ghost = { shown: [], key: 0, armed: false };
document.addEventListener('keydown', event => {
  if (event.key.length === 1) {  // a character typed (Escape and Enter end a round)
    window.__ghost.key = performance.now();
    window.__ghost.armed = true;
  }
}, true);
new MutationObserver(() => {
  const g = window.__ghost;
  const ghost = g.armed && document.querySelector('.jp-GhostText');
  if (ghost && !ghost.dataset.seen && ghost.textContent.includes('quarter_revenue')) {
    ghost.dataset.seen = '1';  // a ghost still on screen from the round before is not new
    g.armed = false;
    const key = g.key;
    requestAnimationFrame(() => setTimeout(() => g.shown.push(performance.now() - key), 0));
  }
}).observe(document, { childList: true, subtree: true, characterData: true });
"""


# JupyterLab's own share of the figure: the page's completion socket replaced by one that
# answers from memory after the simulator's latency, as the kernel's answer comes (one frame
# with the whole completion, the end after). What is left over it is glm-jupyter's.
IN_PAGE_SOCKET = """
const PageWebSocket = window.WebSocket;
class AnswerFromMemory {
  constructor() {
    this.readyState = 0;
    setTimeout(() => { this.readyState = 1; this.onopen?.(); }, 0);
  }
  send(text) {
    const request = JSON.parse(text);
    if (request.cancel) return;
    const session = {requests: 1, tokens: 1, cost: null};
    const done = {done: true, insert: ANSWER, usage: null, session};
    const data = JSON.stringify({text: ANSWER}) + '\\n' + JSON.stringify(done) + '\\n';
    setTimeout(() => {
      this.onmessage?.({data: JSON.stringify({id: request.id, data})});
      setTimeout(() => this.onmessage?.({data: JSON.stringify({id: request.id, end: true})}), 0);
    }, LATENCY_MS);
  }
  close() {}
}
window.WebSocket = function (url, protocols) {
  return String(url).includes('/glm/complete/socket')
    ? new AnswerFromMemory()
    : new PageWebSocket(url, protocols);
};
window.WebSocket.prototype = PageWebSocket.prototype;
Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
"""


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _posts(sim: Any, marker: str) -> list[dict[str, Any]]:
    return [
        r
        for r in sim.requests
        if r["method"] == "POST" and marker in json.dumps((r.get("body") or {}).get("messages"))
    ]


def _new_page(chromium: Any) -> Any:
    """A page the size of a laptop screen, waiting as long as the browser tests do."""
    from tests.browser.lab import PAGE_WAIT_MS

    page = chromium.new_page(viewport={"width": 1280, "height": 960})
    page.set_default_timeout(PAGE_WAIT_MS)
    return page


def _keystroke_to_ghost(
    chromium: Any, server: Any, name: str, rounds: int, script: str
) -> list[float]:
    """Ms from the last keystroke to the ghost text painted, `rounds` times (after two to warm
    up), in a new page of notebook `name` whose DataFrame cell has run."""
    from tests.browser.lab import run_cell, select_cell, start_notebook, wait_idle

    page = _new_page(chromium)
    page.add_init_script(GHOST_PROBE + script)
    start_notebook(page, server, name, FRAME, "")
    run_cell(page, 1)
    wait_idle(page)
    select_cell(page, 2)
    page.keyboard.press("Enter")
    shown: list[float] = []
    for i in range(rounds + 2):
        page.keyboard.type(f"t{i} = ")
        page.wait_for_function(f"() => window.__ghost.shown.length > {i}")
        shown.append(page.evaluate(f"() => window.__ghost.shown[{i}]"))
        page.keyboard.press("Escape")
        page.keyboard.press("Enter")
    page.close()
    return shown[2:]


def _cancel_times(chromium: Any, server: Any, rounds: int) -> tuple[list[float], int]:
    """Ms from a superseding keystroke to the superseded request closed at the simulator, and
    how many superseded requests were left open."""
    import time

    from tests.browser.lab import select_cell, start_notebook

    sim = server.sim
    page = _new_page(chromium)
    start_notebook(page, server, "cancel.ipynb", "")
    select_cell(page, 1)
    page.keyboard.press("Enter")
    cancels = []
    for i in range(rounds):
        page.keyboard.type(f"slow_{i} = ")
        deadline = time.monotonic() + 10
        while not any(r["outcome"] == "open" for r in _posts(sim, f"slow_{i} = ")):
            if time.monotonic() > deadline:
                raise RuntimeError("the slow completion never reached the simulator")
            time.sleep(0.005)
        pressed = time.time()
        page.keyboard.type("x")
        while any(r["outcome"] == "open" for r in _posts(sim, f"slow_{i} = ")):
            time.sleep(0.002)
        ended = max(r.get("ended_at", 0) for r in _posts(sim, f"slow_{i} = "))
        cancels.append((ended - pressed) * 1000)
        page.keyboard.press("Enter")
    page.close()
    return cancels, sum(1 for r in _posts(sim, "slow_") if r["outcome"] == "open")


def browser(rounds: int = 40) -> list[dict[str, Any]]:
    """`completion_overhead_ms` and `completion_cancel_ms` in JupyterLab in Chromium."""
    import tempfile
    import time

    import httpx
    from playwright.sync_api import sync_playwright

    from tests.browser.lab import CHROMIUM, CHROMIUM_ARGS, jupyter_server

    with (
        tempfile.TemporaryDirectory() as home,
        jupyter_server(Path(home), LATENCY) as server,
        sync_playwright() as playwright,
    ):
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        shown = _keystroke_to_ghost(chromium, server, "latency.ipynb", rounds, "")
        # The simulator's latency: the last completion request the kernel sent, replayed with
        # plain httpx (one client, streamed), from sending it to the end of its answer.
        sent = _posts(server.sim, "t1 = ")[-1]["body"]
        floor = []
        with httpx.Client() as client:
            for _ in range(rounds):
                started = time.perf_counter()
                with client.stream(
                    "POST", server.sim.base_url + "/chat/completions", json=sent
                ) as r:
                    r.read()
                floor.append((time.perf_counter() - started) * 1000)
        latency = statistics.median(floor)
        in_page = IN_PAGE_SOCKET.replace("ANSWER", json.dumps(ANSWER)).replace(
            "LATENCY_MS", f"{latency:.1f}"
        )
        jupyterlab = _keystroke_to_ghost(chromium, server, "in-page.ipynb", rounds, in_page)
        cancels, left_open = _cancel_times(chromium, server, rounds)
        chromium.close()
    overheads = [ms - DEBOUNCE_MS - latency for ms in shown]
    own = [ms - DEBOUNCE_MS - latency for ms in jupyterlab]
    p50, p95 = _percentile(overheads, 0.5), _percentile(overheads, 0.95)
    lab50 = _percentile(own, 0.5)
    c95 = _percentile(cancels, 0.95)
    return [
        result(
            "completion_overhead_ms",
            p50,
            "ms (p50)",
            "p50 <= 30, p95 <= 80",
            p50 <= 30 and p95 <= 80,
            f"plain httpx to the simulator, the same request: {latency:.1f} ms "
            f"(its first token {FIRST_BYTE_S * 1000:.0f} ms); JupyterLab and Chromium alone "
            f"(an answer from memory in the page after that latency): {lab50:.1f} ms p50",
            p95=round(p95, 1),
            rounds=rounds,
            jupyterlab_alone_p50=round(lab50, 1),
            jupyterlab_alone_p95=round(_percentile(own, 0.95), 1),
            glm_jupyter_share_p50=round(p50 - lab50, 1),
            keystroke_to_ghost_p50=round(_percentile(shown, 0.5), 1),
            subtracted=f"debounce {DEBOUNCE_MS} ms + the simulator's latency",
        ),
        result(
            "completion_cancel_ms",
            c95,
            "ms (p95)",
            "p95 <= 50, none left open",
            c95 <= 50 and left_open == 0,
            "a request nobody aborts stays open until its answer: 5,000 ms here",
            p50=round(_percentile(cancels, 0.5), 1),
            left_open=left_open,
            rounds=rounds,
        ),
    ]


def run() -> list[dict[str, Any]]:
    """Every completion metric."""
    return context_tokens() + browser()
