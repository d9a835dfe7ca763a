"""The answer cache (re-runs and resumed runs send only what is missing) and the cost estimate."""

from __future__ import annotations

import _thread
import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import glm_jupyter
from glm_jupyter.batch import BatchCostError
from glm_jupyter.batch.cache import AnswerCache
from glm_jupyter.batch.estimate import DEFAULT_ANSWER_TOKENS, estimate
from glm_jupyter.batch.job import Job, plan
from glm_jupyter.batch.options import BatchOptions
from glm_jupyter.config.paths import cache_dir as default_dir
from glm_jupyter.config.settings import GLM
from glm_jupyter.core.guard import PolicyGuard
from glm_jupyter.core.pipeline import Pipeline
from glm_jupyter.simulator import Simulator

from ..helpers import SECRET

SLOW = {"default": {"content": "ok", "first_byte_delay": 0.05}}


@pytest.fixture
def cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("GLM_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def point(monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> Any:
    def use(sim: Simulator, key: str = SECRET) -> None:
        monkeypatch.setenv("GLM_PROVIDER", "zai")
        monkeypatch.setenv("GLM_BASE_URL", sim.base_url)
        monkeypatch.setenv("GLM_API_KEY", key)

    return use


def _asked(sim: Simulator) -> list[str]:
    # A request cut off by a cancellation mid-send arrives without a (JSON) body.
    return [r["body"]["messages"][-1]["content"] for r in sim.requests if r["body"]]


def _stored(cache_dir: Path) -> int:
    cache = AnswerCache(cache_dir)
    try:
        return len(cache)
    finally:
        cache.close()


ITEMS = [f"item {i}" for i in range(16)]


def test_a_finished_batch_run_again_sends_nothing(simulator: Any, point: Any) -> None:
    sim = simulator()
    point(sim)
    first = glm_jupyter.map("{item}", ITEMS, progress=False)
    assert len(sim.requests) == len(ITEMS)
    sim.reset()
    again = glm_jupyter.map("{item}", ITEMS, progress=False)
    assert sim.requests == []
    assert again == first
    assert "16 done (16 from the cache)" in again.attrs["glm_summary"]


def test_the_api_key_is_not_part_of_the_key_but_the_request_is(simulator: Any, point: Any) -> None:
    sim = simulator()
    point(sim)
    glm_jupyter.map("{item}", ["a", "b"], progress=False)
    sim.reset()
    point(sim, key="sk-another-key-entirely")
    glm_jupyter.map("{item}", ["a", "b"], progress=False)
    assert sim.requests == []
    glm_jupyter.map("{item}", ["a", "b"], temperature=0.3, progress=False)
    assert len(sim.requests) == 2
    glm_jupyter.map("{item}", ["a", "b"], schema={"type": "object"}, progress=False)
    assert len(sim.requests) == 4


def test_only_successes_are_cached(simulator: Any, point: Any) -> None:
    sim = simulator(
        {
            "turns": [
                {"match": "bad", "content": "not json"},
                {
                    "match": "refused",
                    "content": '{"ok": true}',
                    "fault": {"kind": "http_error", "status": 400},
                },
            ],
            "default": {"content": '{"ok": true}'},
        }
    )
    point(sim)
    items = ["good", "bad", "refused"]
    result = glm_jupyter.map("{item}", items, json=True, progress=False)
    assert result == [{"ok": True}, None, None]
    sim.reset()
    again = glm_jupyter.map("{item}", items, json=True, progress=False)
    assert sorted(_asked(sim)) == ["bad", "refused"]
    assert again == [{"ok": True}] * 3


def test_openrouter_batch_answers_and_retries_what_failed(
    simulator: Any, monkeypatch: pytest.MonkeyPatch, cache_dir: Path
) -> None:
    # OpenRouter pads its non-streamed bodies with whitespace; a batch sends stream: false.
    refused = {"kind": "http_error", "status": 400, "times": 1}
    sim = simulator(
        {
            "turns": [
                {"match": "refused", "content": "later", "fault": refused},
                {"match": "blank", "content": ""},
            ],
            "default": {"content": "an answer"},
        },
        dialect="openrouter",
    )
    monkeypatch.setenv("GLM_PROVIDER", "openrouter")
    monkeypatch.setenv("GLM_BASE_URL", sim.base_url)
    monkeypatch.setenv("GLM_API_KEY", SECRET)
    items = ["one", "refused", "blank", "two"]
    first = glm_jupyter.map("{item}", items, progress=False)
    assert list(first) == ["an answer", None, None, "an answer"]
    assert any("empty" in message for message in first.attrs["glm_errors"].values())
    assert _stored(cache_dir) == 2  # neither the failure nor the blank answer
    sim.reset()
    again = glm_jupyter.map("{item}", items, progress=False)
    assert sorted(_asked(sim)) == ["blank", "refused"]
    assert list(again) == ["an answer", "later", "an answer", "an answer"]  # turns match once
    assert _stored(cache_dir) == 4


def test_duplicate_items_are_asked_once(simulator: Any, point: Any) -> None:
    sim = simulator()
    point(sim)
    result = glm_jupyter.map("{item}", ["x", "y", "x", "x"], progress=False)
    assert sorted(_asked(sim)) == ["x", "y"]
    assert result[0] == result[2] == result[3] == "Simulated answer to: x"


def test_cache_false_stores_nothing(simulator: Any, point: Any, cache_dir: Path) -> None:
    sim = simulator()
    point(sim)
    glm_jupyter.map("{item}", ["a"], cache=False, progress=False)
    glm_jupyter.map("{item}", ["a"], cache=False, progress=False)
    assert len(sim.requests) == 2
    assert not cache_dir.exists()


def test_cache_dir_parameter_and_default(
    simulator: Any, point: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = simulator()
    point(sim)
    elsewhere = tmp_path / "elsewhere"
    glm_jupyter.map("{item}", ["a"], cache_dir=elsewhere, progress=False)
    assert _stored(elsewhere) == 1
    assert default_dir({"GLM_CACHE_DIR": "~/x"}) == Path.home() / "x"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_dir({}) == tmp_path / ".cache" / "glm-jupyter"


async def test_a_cancelled_run_resumes_with_only_the_missing_items(
    simulator: Any, point: Any, cache_dir: Path
) -> None:
    sim = simulator(SLOW)
    point(sim)
    task = asyncio.ensure_future(glm_jupyter.amap("{item}", ITEMS, concurrency=2, progress=False))
    while _stored(cache_dir) < 4:  # four answers are in: stop the run
        await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    kept = _stored(cache_dir)
    assert 4 <= kept < len(ITEMS)
    first_run = set(_asked(sim))
    sim.reset()
    result = await glm_jupyter.amap("{item}", ITEMS, concurrency=2, progress=False)
    assert result == ["ok"] * len(ITEMS)
    resent = _asked(sim)
    assert len(resent) == len(ITEMS) - kept  # nothing that was kept is paid for twice
    assert set(ITEMS) - first_run <= set(resent)


def test_keyboard_interrupt_keeps_what_finished(
    simulator: Any, point: Any, cache_dir: Path
) -> None:
    sim = simulator(SLOW)
    point(sim)

    def interrupt_after_four() -> None:
        while _stored(cache_dir) < 4:
            time.sleep(0.005)
        _thread.interrupt_main()

    threading.Thread(target=interrupt_after_four, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        glm_jupyter.map("{item}", ITEMS, concurrency=2, progress=False)
    kept = _stored(cache_dir)
    assert 4 <= kept < len(ITEMS)
    sim.reset()
    glm_jupyter.map("{item}", ITEMS, concurrency=4, progress=False)
    # A request the interrupt cut off mid-send may reach the simulator only now, bodiless.
    assert len(_asked(sim)) == len(ITEMS) - kept


# --- cost -------------------------------------------------------------------------------------


def _plan(**options: Any) -> Job:
    """The batch's requests, planned outside any session and without a classroom policy."""
    return plan(
        "Classify {item}", ITEMS, BatchOptions(**options), Pipeline(GLM(), None, PolicyGuard())
    )


def test_estimate_counts_prompt_and_output_tokens(simulator: Any, point: Any) -> None:
    sim = simulator()
    point(sim)
    job = _plan(model="glm-5.1", max_tokens=100)
    found = estimate(job.settings, job.messages)
    assert found.requests == len(ITEMS)
    assert found.output_tokens == 100 * len(ITEMS)
    assert found.prompt_tokens > len(ITEMS) * 20  # system prompt and question
    expected = (found.prompt_tokens * 1.40 + found.output_tokens * 4.40) / 1_000_000
    assert found.cost_usd == pytest.approx(expected)
    job = _plan(model="glm-4.7-flash")
    free = estimate(job.settings, job.messages)
    assert free.per_answer == DEFAULT_ANSWER_TOKENS
    assert free.cost_usd == 0.0
    job = _plan(model="zai-org/GLM-4.7", provider="vllm")  # priced on Z.ai, not on one's own
    assert estimate(job.settings, job.messages).cost_usd == 0.0


def test_max_cost_refuses_to_start(simulator: Any, point: Any) -> None:
    sim = simulator()
    point(sim)
    items = [f"review {i}: " + "words " * 50 for i in range(300)]
    with pytest.raises(BatchCostError, match=r"(?s)estimated cost.*above max_cost=\$0\.01.*Raise"):
        glm_jupyter.map("Summarise {item}", items, max_cost=0.01, progress=False)
    assert sim.requests == []
    with pytest.raises(BatchCostError, match="no known price"):
        glm_jupyter.map("{item}", ["a"], model="my-finetune", max_cost=1.0, progress=False)
    # Only the provider's model listing was asked (for the unknown model's price): no answers.
    assert [r["method"] for r in sim.requests] == ["GET"]
    cheap = glm_jupyter.map("{item}", ["a"], max_cost=1.0, progress=False)
    assert cheap == ["Simulated answer to: a"]


def test_large_batch_shows_the_estimate_first(
    simulator: Any, point: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = simulator({"default": {"content": "ok"}})
    point(sim)
    items = [f"row {i}" for i in range(150)]
    glm_jupyter.map("{item}", items, concurrency=16)
    err = capsys.readouterr().err
    assert "Estimate: 150 requests to glm-5.3" in err
    assert err.index("Estimate") < err.index("150 done")
    # Run again: everything is cached, so nothing is estimated and max_cost=0 lets it through.
    sim.reset()
    glm_jupyter.map("{item}", items, max_cost=0)
    err = capsys.readouterr().err
    assert "Estimate" not in err
    assert "150 done (150 from the cache)" in err
    assert sim.requests == []


def test_an_unusable_cache_dir_says_what_to_do(simulator: Any, point: Any, tmp_path: Path) -> None:
    from glm_jupyter.errors import ConfigurationError

    sim = simulator()
    point(sim)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigurationError, match=r"cache_dir= a writable folder.*cache=False"):
        glm_jupyter.map("{item}", ["a"], cache_dir=blocker, progress=False)
    assert sim.requests == []
