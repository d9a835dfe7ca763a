"""A student's notebook in a real kernel (nbclient) under a classroom policy."""

from __future__ import annotations

import json
import os
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from glm_jupyter.core.prompts import TUTOR_SYSTEM
from glm_jupyter.display.bundle import MIME_TYPE
from glm_jupyter.simulator import Simulator

POLICY = {
    "persona": "tutor",
    "models": ["glm-4.7-flash"],
    "agent": False,
    "max_tokens_per_session": 1200,
    "message": "Ask your instructor if you need more.",
}


def _priced(content: str, match: str = "") -> dict[str, Any]:
    """A turn that costs 500 tokens: the third request finds 1,000 used, the fourth 1,500."""
    turn = {"content": content, "usage": {"prompt_tokens": 400, "completion_tokens": 100}}
    return {"match": match, **turn} if match else turn


SCENARIO = {
    "turns": [
        _priced("What does `reversed` give you?", "reverse"),
        _priced("How many items does `values` have?", "hint 1 of 3"),
        _priced("Look at `len(values) - 2`.", "hint 2 of 3"),
    ],
    "default": _priced("ok"),
}
CELLS = [
    "%load_ext glm_jupyter",
    "%%glm\nHow do I reverse a list?",
    # Nothing here loosens the policy found when the extension loaded.
    "import os\n"
    "os.environ['GLM_POLICY'] = ''\n"
    "%config GLM.persona = 'assistant'\n"
    "%config GLM.allow_agent = True",
    "%glm -m glm-5 Which model are you?",
    "%%glm --agent\nClean the data for me.",
    "values = [1, 2]\ntotal = sum(values) / (len(values) - 2)",
    "%glm hint",
    "%glm hint",
    "%glm hint",
    "%glm usage",
]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("teaching")
    policy = folder / "glm_policy.json"
    policy.write_text(json.dumps(POLICY), encoding="utf-8")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    with Simulator(SCENARIO) as sim:
        env = dict(
            os.environ, GLM_PROVIDER="vllm", GLM_BASE_URL=sim.base_url, GLM_POLICY=str(policy)
        )
        client = NotebookClient(nb, timeout=90, kernel_name="python3", allow_errors=True)
        client.execute(env=env, cwd=str(folder))
        requests = sim.requests
    return nb, requests


def _stderr(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stderr")


def _errors(cell: Any) -> list[str]:
    return [f"{o['ename']}: {o['evalue']}" for o in cell.outputs if o["output_type"] == "error"]


def _response(cell: Any) -> dict[str, Any]:
    bundles = [o["data"] for o in cell.outputs if MIME_TYPE in o.get("data", {})]
    return bundles[-1][MIME_TYPE]  # type: ignore[no-any-return]


def test_requests_follow_the_policy(executed: Any) -> None:
    _, requests = executed
    assert len(requests) == 3  # the question and two hints; everything else was refused
    assert {r["body"]["model"] for r in requests} == {"glm-4.7-flash"}
    assert all(r["body"]["messages"][0]["content"] == TUTOR_SYSTEM for r in requests)


def test_a_tutor_answers(executed: Any) -> None:
    nb, _ = executed
    assert _response(nb.cells[1])["content"] == "What does `reversed` give you?"


def test_students_see_plain_limit_messages(executed: Any) -> None:
    nb, _ = executed
    assert _errors(nb.cells[2]) == []
    model = _stderr(nb.cells[3])
    assert model.startswith("UsageError: Your course allows glm-4.7-flash only: glm-5")
    assert model.rstrip().endswith("Ask your instructor if you need more.")
    assert "Traceback" not in model
    assert "UsageError: Agent mode (--agent) is turned off for this course" in _stderr(nb.cells[4])


def test_hints_escalate_until_the_token_cap(executed: Any) -> None:
    nb, requests = executed
    assert _errors(nb.cells[5])[0].startswith("ZeroDivisionError")
    first, second = (_response(nb.cells[i]) for i in (6, 7))
    assert first["content"] == "How many items does `values` have?"
    assert second["content"] == "Look at `len(values) - 2`."
    hint = requests[-1]["body"]["messages"][-1]["content"]
    assert "ZeroDivisionError" in hint
    assert "total = sum(values) / (len(values) - 2)" in hint
    capped = _stderr(nb.cells[8])
    assert capped == (
        "UsageError: You have used 1,500 of the 1,200 tokens this course allows per session, "
        "so this request was not sent. Ask your instructor if you need more.\n"
    )


def test_usage_shows_the_course_limit(executed: Any) -> None:
    nb, _ = executed
    text = nb.cells[9].outputs[0]["data"]["text/markdown"]
    assert "Course limit: 1,500 of 1,200 tokens used this session." in text
