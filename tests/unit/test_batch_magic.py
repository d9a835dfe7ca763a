"""`%%glm --map COLUMN --df NAME -o OUT` in an IPython shell, and in a real kernel (nbclient)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from glm_jupyter.simulator import Simulator

from ..helpers import use

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def reviews(shell: Any, tmp_path: Path) -> pd.DataFrame:
    os.environ["GLM_CACHE_DIR"] = str(tmp_path / "cache")  # the shell fixture restores environ
    frame = pd.DataFrame(
        {"text": ["great food", "cold soup", "fine"], "stars": [5, 1, 3]}, index=[10, 11, 12]
    )
    shell.user_ns["reviews"] = frame
    return frame


def _cell(shell: Any, line: str, body: str) -> Any:
    with capture_output() as captured:
        shell.run_cell_magic("glm", line, body)
    return captured


def _asked(sim: Simulator) -> list[str]:
    return sorted(r["body"]["messages"][-1]["content"] for r in sim.requests)


def test_map_appends_the_column_and_stores_an_aligned_series(
    shell: Any, simulator: Any, reviews: pd.DataFrame
) -> None:
    from glm_jupyter.ipython.extension import _ACTIVE

    ledger = _ACTIVE[id(shell)].session.ledger
    ledger.models.clear()
    sim = simulator()
    use(shell, sim)
    captured = _cell(shell, "--map text --df reviews -o sentiment", "Sentiment, one word:\n")
    assert _asked(sim) == [
        "Sentiment, one word:\n\ncold soup",
        "Sentiment, one word:\n\nfine",
        "Sentiment, one word:\n\ngreat food",
    ]
    out = shell.user_ns["sentiment"]
    assert isinstance(out, pd.Series)
    assert list(out.index) == [10, 11, 12]
    assert out[11] == "Simulated answer to: Sentiment, one word:\n\ncold soup"
    shown = [o.data.get("text/markdown", "") for o in captured.outputs]
    assert "Stored in `sentiment` (3 rows); the first 5:" in shown
    assert "3 done" in captured.stdout + captured.stderr
    assert ledger.models["glm-5.3"].requests == 3  # `%glm usage` counts the batch


def test_map_with_placeholders_and_schema_gives_columns(
    shell: Any, simulator: Any, reviews: pd.DataFrame
) -> None:
    @dataclasses.dataclass
    class Verdict:
        positive: bool

    shell.user_ns["Verdict"] = Verdict
    sim = simulator(
        {
            "turns": [{"match": "cold soup", "content": '{"positive": false}'}],
            "default": {"content": '{"positive": true}'},
        }
    )
    use(shell, sim, "vllm")
    _cell(
        shell,
        "--map text --df reviews --schema Verdict -o verdicts -m glm-4.7",
        "{text} ({stars}*)",
    )
    assert [a.rsplit("\n\n", 1)[-1] for a in _asked(sim)] == [
        "cold soup (1*)",
        "fine (3*)",
        "great food (5*)",
    ]
    body = sim.requests[0]["body"]
    assert body["model"] == "glm-4.7"
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    verdicts = shell.user_ns["verdicts"]
    assert list(verdicts.columns) == ["positive", "_error"]
    assert verdicts["positive"].tolist() == [True, False, True]


def test_map_with_json(shell: Any, simulator: Any, reviews: pd.DataFrame) -> None:
    use(shell, simulator({"default": {"content": '{"n": 1}'}}))
    _cell(shell, "--map text --df reviews --json -o parsed", "Count words")
    assert shell.user_ns["parsed"].tolist() == [{"n": 1}] * 3


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--map text --df reviews -o x --agent", "--agent runs tools"),
        ("--map text --df reviews -o x --code", "--code places one answer"),
        ("--map text --df reviews -o x --var reviews", "without kernel context"),
        ("--map text --df reviews -o x --no-rows", "drop --no-rows"),
        ("--map text --df reviews", "needs -o NAME"),
        ("--map text -o x", "exactly one --df"),
        ("--map text --df missing -o x", "no variable named 'missing'"),
        ("--map txt --df reviews -o x", "'txt' is not a column"),
        ("--map text --df reviews -o x --schema Nope", "no variable named 'Nope'"),
    ],
)
def test_map_refuses_what_makes_no_sense(
    shell: Any, simulator: Any, reviews: pd.DataFrame, line: str, message: str
) -> None:
    sim = simulator()
    use(shell, sim)
    with pytest.raises(UsageError, match=message):
        shell.run_cell_magic("glm", line, "Sentiment?")
    assert sim.requests == []


def test_map_is_a_cell_flag(shell: Any, simulator: Any, reviews: pd.DataFrame) -> None:
    use(shell, simulator())
    with pytest.raises(UsageError, match="from a %%glm cell"):
        shell.run_line_magic("glm", "--map text --df reviews -o x Sentiment?")
