"""`%%glm --map` and `glm_jupyter.map` in a real kernel driven by nbclient."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from glm_jupyter.simulator import Simulator

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

CELLS = [
    "%load_ext glm_jupyter\n"
    "import pandas as pd\n"
    "reviews = pd.DataFrame({'text': ['great food', 'cold soup']}, index=['a', 'b'])",
    "%%glm --map text --df reviews -o sentiment\nSentiment:",
    "print(sentiment.to_dict())",
    "import glm_jupyter\n"
    "again = glm_jupyter.map('Sentiment:', reviews, column='text')\n"
    "print(again.attrs['glm_summary'])",
    "other = await glm_jupyter.amap('Rate {text}', reviews)\nprint(other.tolist())",
]


def test_map_in_a_real_kernel(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    with Simulator({"default": {"content": "positive", "first_byte_delay": 0.05}}) as sim:
        env = dict(
            os.environ,
            GLM_PROVIDER="vllm",
            GLM_BASE_URL=sim.base_url,
            GLM_CACHE_DIR=str(tmp_path / "cache"),
        )
        client = NotebookClient(nb, timeout=90, kernel_name="python3", allow_errors=True)
        client.execute(env=env, cwd=str(tmp_path))
        requests = sim.requests
    errors = [o for c in nb.cells for o in c.outputs if o["output_type"] == "error"]
    assert errors == []
    magic = nb.cells[1].outputs
    (bar,) = [o for o in magic if WIDGET_VIEW in o.get("data", {})]  # the progress bar
    # Its plain text, rewritten at the end, is what a reader without widgets sees.
    assert bar["data"]["text/plain"].startswith("GLM batch: 2 done")
    assert any("2 done" in o.get("text", "") for o in magic)
    text = "".join(o.get("text", "") for o in nb.cells[2].outputs)
    assert text == "{'a': 'positive', 'b': 'positive'}\n"
    # The synchronous call from a cell (the kernel's loop is running) ran on its own thread,
    # and found everything in the cache.
    summary = "".join(o.get("text", "") for o in nb.cells[3].outputs)
    assert "2 done (2 from the cache)" in summary
    assert "['positive', 'positive']" in "".join(o.get("text", "") for o in nb.cells[4].outputs)
    assert len(requests) == 4
