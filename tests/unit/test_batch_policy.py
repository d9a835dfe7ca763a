"""A classroom policy binds `glm_jupyter.map` and `%%glm --map` as it binds every request: the
model it fixes, its answer-length cap, and its token cap, counted as each answer arrives."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

import glm_jupyter
from glm_jupyter.config import policy as policy_file
from glm_jupyter.core import guard as policy_module
from glm_jupyter.errors import ClassroomLimitError

from ..helpers import PRICED, use, write_policy

COURSE = {
    "models": ["glm-4.7-flash"],
    "max_tokens_per_session": 1200,
    "max_tokens_per_request": 300,
    "message": "Ask your instructor for help.",
}
ITEMS = ["alpha", "beta", "gamma", "delta", "epsilon"]


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """This process's policy file (as a kernel finds it at start), for code without a session."""
    # Other tests run an IPython shell in this process: act as a script would, without one.
    monkeypatch.setattr("IPython.get_ipython", lambda: None)
    path = write_policy(tmp_path / "course.json", COURSE)
    policy_file._process_policy.cache_clear()
    policy_module.process_guard.cache_clear()
    os.environ["GLM_POLICY"] = str(path)
    os.environ["GLM_CACHE_DIR"] = str(tmp_path / "cache")
    yield path
    for name in ("GLM_POLICY", "GLM_CACHE_DIR", "GLM_PROVIDER", "GLM_BASE_URL", "GLM_MODEL"):
        os.environ.pop(name, None)
    policy_file._process_policy.cache_clear()
    policy_module.process_guard.cache_clear()


def _point_at(sim: Any) -> None:
    os.environ["GLM_PROVIDER"] = "vllm"
    os.environ["GLM_BASE_URL"] = sim.base_url


def test_map_cannot_pick_another_model(course: Path, simulator: Any) -> None:
    sim = simulator(PRICED)
    _point_at(sim)
    with pytest.raises(ClassroomLimitError) as refused:
        glm_jupyter.map("Name {item}", ITEMS, model="glm-5", progress=False)
    assert str(refused.value) == (
        "Your course allows glm-4.7-flash only: glm-5 (from the model= argument) is not one of "
        "them. Leave out model=, or pass `model='glm-4.7-flash'`. Ask your instructor for help."
    )
    with pytest.raises(
        ClassroomLimitError, match=r"at most 300 tokens: the max_tokens= argument asks"
    ):
        glm_jupyter.map("Name {item}", ITEMS, max_tokens=2000, progress=False)
    os.environ["GLM_MODEL"] = "glm-5"
    with pytest.raises(
        ClassroomLimitError, match=r"glm-5 \(from the environment variable GLM_MODEL\)"
    ):
        glm_jupyter.map("Name {item}", ITEMS, progress=False)
    assert sim.requests == []


def test_map_uses_the_course_model_and_stops_at_the_token_cap(course: Path, simulator: Any) -> None:
    sim = simulator(PRICED)
    _point_at(sim)
    with pytest.raises(ClassroomLimitError) as stopped:
        glm_jupyter.map("Name {item}", ITEMS, concurrency=1, progress=False)
    message = str(stopped.value)
    assert message.startswith(
        "You have used 1,500 of the 1,200 tokens this course allows per session, so this request "
        "was not sent. Ask your instructor for help."
    )
    assert "the 3 answers finished so far are kept in the cache" in message
    assert len(sim.requests) == 3  # 500 tokens each: the fourth would pass the cap
    assert {r["body"]["model"] for r in sim.requests} == {"glm-4.7-flash"}
    assert {r["body"]["max_tokens"] for r in sim.requests} == {300}
    assert policy_module.process_guard().used() == 1500

    write_policy(course, COURSE | {"max_tokens_per_session": 5000})  # the instructor raises the cap
    result = glm_jupyter.map("Name {item}", ITEMS, concurrency=1, progress=False)
    assert list(result) == ["ok"] * 5
    assert len(sim.requests) == 5  # only the two that were missing: nothing is paid twice


def test_a_spent_cap_refuses_the_batch_before_anything_is_sent(
    course: Path, simulator: Any
) -> None:
    sim = simulator(PRICED)
    _point_at(sim)
    write_policy(course, COURSE | {"max_tokens_per_session": 100})
    glm_jupyter.map("Name {item}", ITEMS[:1], progress=False)
    with pytest.raises(ClassroomLimitError, match="500 of the 100 tokens") as refused:
        glm_jupyter.map("Name {item}", ITEMS[1:], progress=False)
    assert "batch stopped" not in str(refused.value)  # refused whole, before it started
    assert len(sim.requests) == 1
    # What is in the cache costs nothing, so it is still served.
    assert list(glm_jupyter.map("Name {item}", ITEMS[:1], progress=False)) == ["ok"]


def test_map_magic_counts_against_the_sessions_cap(
    shell: Any, simulator: Any, classroom: Any, tmp_path: Path
) -> None:
    classroom(COURSE)
    sim = simulator(PRICED)
    use(shell, sim, GLM_CACHE_DIR=str(tmp_path / "cache"))
    shell.user_ns["words"] = pd.DataFrame({"word": ITEMS[:3]})
    with capture_output():
        shell.run_cell_magic("glm", "--map word --df words -o named", "Name it:")
    assert list(shell.user_ns["named"]) == ["ok"] * 3
    assert {r["body"]["model"] for r in sim.requests} == {"glm-4.7-flash"}
    assert glm_jupyter.kernel_session().policy.used() == 1500  # the batch's usage is the session's
    shell.user_ns["words"] = pd.DataFrame({"word": ITEMS[3:]})
    with capture_output():
        ran = shell.run_cell("%%glm --map word --df words -o named\nName it:")
    assert type(ran.error_in_exec) is UsageError
    assert "1,500 of the 1,200 tokens" in str(ran.error_in_exec)
    assert len(sim.requests) == 3
    with pytest.raises(UsageError, match=r"glm-5 \(from the -m flag\).*Leave out -m"):
        shell.run_cell_magic("glm", "--map word --df words -o named -m glm-5", "Name it:")
