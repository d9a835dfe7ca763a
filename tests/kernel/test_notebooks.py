"""The example notebooks run top to bottom against the demo's simulator, as stored."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

from glm_jupyter.examples import FALLBACK, demo_scenario, notebooks, run_notebook
from glm_jupyter.simulator import Simulator, load_scenario

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = notebooks()
EXPECTED_NAMES = [
    "01-quickstart",
    "02-data-analysis-assistant",
    "03-agent-mode",
    "04-teaching",
    "05-local-backends",
    "06-batch-extraction",
]
# Something each notebook's story must show, beyond running without errors.
SHOWS = {
    "01-quickstart": [
        "method chain",
        "'modes': ['thinking'",
        "glm-5.3 always thinks and cannot be switched off",
    ],
    "02-data-analysis-assistant": [
        "expected_rows=342",
        "clean: 342 rows, 9 of unknown sex",
        "5076.0",
        "the model's object matches the data: True",
        "the figure from In [",  # --figure sent the histogram to GLM-5V Turbo
        "right peak, around 217 mm",
    ],
    "03-agent-mode": [
        "Revenue for 2024: 362,360",
        "AttributeError: Can only use .dt accessor with datetimelike values",
        "Stopped after 2 steps (--max-steps 2).",
        "--auto is turned off here (GLM.allow_auto = False)",
    ],
    "04-teaching": [
        "Hint 3 of 3 about TypeError",
        "--auto is turned off for this course",
        "tokens this course allows per session",
        "the way a dictionary orders words",
    ],
    "05-local-backends": [
        "reasoning_effort",
        "thinking off was not sent",
        "Is the server running",
        "env (GLM_BASE_URL)",
        "zai-org/GLM-5.3-Flash",
        '{\\"reasoning_effort\\": \\"low\\"}',
    ],
    "06-batch-extraction": [
        "product: None is not of type 'string'",
        "requests sent: 1, from the cache: 11, failed: 0",
        "requests sent: 0, from the cache: 12, failed: 0",
        "prepaid label today so we can collect it",
    ],
}


def _text(nb: Any) -> str:
    """Everything a reader sees: outputs and the widgets' saved state (chat, progress)."""
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    return json.dumps(outputs) + json.dumps(nb.metadata.get("widgets", {}))


def _with_outputs(nb: Any) -> list[int]:
    return [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and cell.outputs]


def test_every_example_notebook_is_there() -> None:
    assert [p.stem for p in NOTEBOOKS] == EXPECTED_NAMES


def test_the_demo_scenario_is_valid_and_repeats() -> None:
    scenario = load_scenario(demo_scenario())
    assert scenario.repeat
    assert len(scenario.turns) >= len(NOTEBOOKS)


def test_readme_links_each_notebook() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert re.search(rf"\]\(notebooks/{re.escape(path.name)}\) *[-–—:]", readme), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path) -> None:
    stored = nbformat.read(path, as_version=4)
    with Simulator(demo_scenario()) as sim:
        ran = run_notebook(path, sim.base_url)
    text = _text(ran)
    assert FALLBACK.split(",")[0] not in text, "a prompt has no scripted answer"
    for shown in SHOWS.get(path.stem, []):
        assert shown in text
    # Stored with its outputs, so that it reads well where it is published.
    assert _with_outputs(stored) == _with_outputs(ran)
    assert "simulator-needs-no-key" not in json.dumps(stored)
