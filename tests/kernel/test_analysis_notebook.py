"""The data-analysis flags in a real kernel (nbclient) against the simulator."""

from __future__ import annotations

import os
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from glm_jupyter.display.bundle import MIME_TYPE
from glm_jupyter.simulator import Simulator

FIXED = "Divide by the real count.\n```python\nmean = total / len(rows)\n```"
SCENARIO = {
    "turns": [
        {"match": "trend", "content": "Sales rise in March."},
        {"match": "Which region", "content": "North."},
        {"match": "Summarise the notebook", "content": "It studies sales."},
        {"match": "printed", "content": "It printed 'checkpoint 42'."},
        {"match": "schema", "content": '{"region": "North", "total": 12.5}'},
        {"match": "Fix the cell", "content": FIXED},
        {"match": "Explain the error", "content": "len(rows) is zero, so the division fails."},
        {"match": "facts", "content": '{"rows": 3, "regions": ["North", "South"]}'},
        {"match": "Why did it fail", "content": "rows is empty."},
        {"match": "plot", "content": "Here:\n```python\nsales.plot(x='region', y='total')\n```"},
        {"match": "too strict", "content": "It is fine."},
    ],
    "default": {"content": "ok"},
}
CELLS = [
    "%load_ext glm_jupyter\n"
    "import pandas as pd\n"
    "sales = pd.DataFrame({'region': ['North', 'South', 'North'], 'total': [12.5, 7.0, 3.25],\n"
    "                      'email': ['ann@x.io', 'bo@x.io', 'cy@x.io']})",
    "%%glm --df sales\nWhat is the trend?",
    "%glm Which region sells most?",
    "%glm --notebook Summarise the notebook.",
    "print('checkpoint 42')",
    "%%glm --cells 1\nWhat was printed?",
    "from typing import TypedDict\nclass Best(TypedDict):\n    region: str\n    total: float",
    "%%glm --schema Best -o best --var sales\nFill the schema for the best region.",
    "print(best['region'], best['total'])",
    "%glm autoexplain on",
    "rows = []\ntotal = 10\nmean = total / len(rows)",
    "from glm_jupyter.ipython.extension import _magics\n"
    "button = _magics().front._autoexplain.last\n"
    "button.button.click()\n"
    "print(button.output.outputs[0]['data']['text/plain'])",
    "%glm fix",
    "%%glm --df sales --no-rows\nDescribe the columns.",
    "%%glm --json -o facts\nGive two facts as JSON.",
    "print(facts['regions'])",
    "%glm --error Why did it fail?",
    "%glm explain",
    "%%glm --code 1\nHow do I plot totals by region?",
    "threshold = 7.5\n%glm --budget 300 Is {threshold} too strict for {sales}?",
    "%glm context --df sales --budget 300 Is it seasonal?",
]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("analysis")
    path = folder / "analysis.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbformat.write(nb, path)  # saved once, as a person's notebook would be, for --notebook
    with Simulator(SCENARIO) as sim:
        env = dict(
            os.environ, GLM_PROVIDER="vllm", GLM_BASE_URL=sim.base_url, JPY_SESSION_NAME=str(path)
        )
        client = NotebookClient(nb, timeout=90, kernel_name="python3", allow_errors=True)
        client.execute(env=env, cwd=str(folder))
        requests = sim.requests
    return nb, requests


def _user(requests: list[dict[str, Any]], match: str) -> str:
    """The last user message of the request whose question contains `match`."""
    lasts = [str(r["body"]["messages"][-1]["content"]) for r in requests]
    found = [text for text in lasts if match in text.rsplit("\n\n", 1)[-1]]
    assert found, f"no request asks {match!r}"
    return found[0]


def _errors(nb: Any) -> list[str]:
    return [
        f"{o['ename']}: {o['evalue']}"
        for c in nb.cells
        for o in c.outputs
        if o["output_type"] == "error" and c.source != CELLS[10]
    ]


def _text(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.outputs)


def test_no_unexpected_errors(executed: Any) -> None:
    nb, _ = executed
    assert _errors(nb) == []


def test_dataframe_summary_goes_with_the_question(executed: Any) -> None:
    nb, requests = executed
    text = _user(requests, "trend")
    assert "`sales`" in text
    assert "region" in text
    assert "North" in text
    assert text.endswith("What is the trend?")
    response = next(o["data"][MIME_TYPE] for o in nb.cells[1].outputs if "data" in o)
    assert response["context"][0]["name"] == "`sales`"


def test_follow_up_is_served_from_the_cache(executed: Any) -> None:
    nb, requests = executed
    follow = next(r for r in requests if r["body"]["messages"][-1]["content"].startswith("Which"))
    assert len(follow["body"]["messages"]) == 4
    response = next(o["data"][MIME_TYPE] for o in nb.cells[2].outputs if "data" in o)
    usage = response["usage"]
    assert usage["cached_tokens"] / usage["prompt_tokens"] > 0.8


def test_notebook_found_through_the_session_name(executed: Any) -> None:
    _, requests = executed
    text = _user(requests, "Summarise the notebook")
    assert "analysis.ipynb" in text
    assert "--schema Best" in text


def test_cells_carry_what_was_printed(executed: Any) -> None:
    _, requests = executed
    text = _user(requests, "What was printed")
    assert "print('checkpoint 42')" in text
    assert "checkpoint 42\n" in text


def test_schema_answer_lands_in_a_variable(executed: Any) -> None:
    nb, _ = executed
    assert _text(nb.cells[8]) == "North 12.5\n"


def test_autoexplain_button_streams_an_explanation(executed: Any) -> None:
    nb, requests = executed
    kinds = [o["output_type"] for o in nb.cells[10].outputs]
    assert "error" in kinds
    assert "display_data" in kinds
    assert "len(rows) is zero" in _text(nb.cells[11])
    assert "ZeroDivisionError" in _user(requests, "Explain the error")


def test_fix_uses_the_error_and_its_cell(executed: Any) -> None:
    _, requests = executed
    text = _user(requests, "Fix the cell")
    assert "mean = total / len(rows)" in text
    assert "ZeroDivisionError" in text


def test_json_answer_in_a_kernel(executed: Any) -> None:
    nb, _ = executed
    assert _text(nb.cells[15]) == "['North', 'South']\n"


def test_error_and_explain_in_a_kernel(executed: Any) -> None:
    _, requests = executed
    assert "mean = total / len(rows)" in _user(requests, "Why did it fail")
    explains = [r for r in requests if r["body"]["messages"][-1]["content"].endswith("concrete.")]
    assert len(explains) == 2  # the button's and `%glm explain`


def test_code_and_interpolation_in_a_kernel(executed: Any) -> None:
    nb, requests = executed
    text = _user(requests, "too strict")
    assert text.endswith("Is 7.5 too strict for `sales` (summarised in the context above)?")
    assert "### `sales`" in text
    kinds = {o["output_type"] for o in nb.cells[18].outputs}
    assert kinds == {"display_data"}  # answered and placed, no error


def test_context_preview_in_a_kernel(executed: Any) -> None:
    nb, requests = executed
    preview = nb.cells[-1].outputs[0]["data"]["text/markdown"]
    assert "nothing was sent" in preview
    assert "Is it seasonal?" in preview
    asked = [str(r["body"]["messages"][-1]["content"]) for r in requests]
    assert not any(text.endswith("Is it seasonal?") for text in asked)


def test_no_rows_sends_no_cell_values(executed: Any) -> None:
    _, requests = executed
    last = _user(requests, "Describe the columns")
    for value in ("ann@x.io", "bo@x.io", "South", "12.5", "3.25"):
        assert value not in last
    assert "email" in last  # column names are schema, not values
