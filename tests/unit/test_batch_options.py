"""The options of one batch: the keywords of `map`/`amap`, their checks, the settings and bodies
they make, and the pipeline every item goes through."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import httpx
import pytest

import glm_jupyter
from glm_jupyter.batch.job import plan
from glm_jupyter.batch.options import BatchOptions
from glm_jupyter.batch.run import Run, default_pipeline
from glm_jupyter.config.settings import GLM
from glm_jupyter.core.guard import PolicyGuard, process_guard
from glm_jupyter.core.pipeline import Pipeline
from glm_jupyter.core.session import Session

LOCAL = {"GLM_PROVIDER": "vllm", "GLM_BASE_URL": "http://model.test/v1"}


def _pipeline(env: dict[str, str] | None = None, **config: Any) -> Pipeline:
    return Pipeline(GLM(**config), env or LOCAL, PolicyGuard())


def test_map_and_amap_take_exactly_the_options() -> None:
    fields = {f.name: f.default for f in dataclasses.fields(BatchOptions)}
    del fields["given_as"]  # the magic's, so that messages name its flags
    for function in (glm_jupyter.map, glm_jupyter.amap):
        parameters = inspect.signature(function).parameters.values()
        keywords = {p.name: p.default for p in parameters if p.kind is p.KEYWORD_ONLY}
        assert keywords == fields, function.__name__


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, "8"])
def test_concurrency_is_checked_before_the_items_are_read(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"concurrency must be a whole number from 1 up; got"):
        BatchOptions(concurrency=bad)
    with pytest.raises(ValueError, match="concurrency"):
        glm_jupyter.map("{item}", object(), concurrency=bad)  # not items at all: never read


def test_options_do_not_change_once_made() -> None:
    options = BatchOptions()
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.concurrency = 2  # type: ignore[misc]


def test_thinking_is_off_unless_asked_for_here_or_in_config() -> None:
    assert BatchOptions().settings(_pipeline()).thinking is False
    assert BatchOptions(thinking=True).settings(_pipeline()).thinking is True
    assert BatchOptions().settings(_pipeline(thinking=True)).thinking is True
    assert BatchOptions(thinking=False).settings(_pipeline(thinking=True)).thinking is False


def test_settings_name_keywords_and_flags_as_given() -> None:
    assert BatchOptions(model="glm-5").settings(_pipeline()).sources["model"] == "argument"
    given = BatchOptions(model="glm-5", given_as="flag").settings(_pipeline())
    assert given.sources["model"] == "flag"
    assert BatchOptions().settings(_pipeline(model="glm-4.7")).model == "glm-4.7"


def test_cache_folder() -> None:
    assert BatchOptions(cache_dir="~/answers").cache_folder().name == "answers"
    assert str(BatchOptions().cache_folder({"GLM_CACHE_DIR": "/tmp/x"})) == "/tmp/x"


def test_bodies_are_whole_answers_without_preserved_thinking() -> None:
    env = {"GLM_PROVIDER": "zai", "GLM_API_KEY": "sk-test"}
    job = plan("Rate {item}", ["a"], BatchOptions(), _pipeline(env, preserve_thinking=True))
    body = job.payloads[0]
    assert body["stream"] is False
    assert "stream_options" not in body
    # One question per item: no earlier reasoning to keep, so the body (and cache key) stay
    # those of any batch.
    # GLM-5.3 (the default) always thinks: "thinking off" is its lowest effort.
    assert "thinking" not in body
    assert body["reasoning_effort"] == "low"
    assert job.dialect.preserve_thinking is False


def test_the_dialect_reads_the_answers() -> None:
    env = {"GLM_PROVIDER": "llamacpp", "GLM_BASE_URL": "http://model.test/v1"}
    job = plan("Rate {item}", ["a"], BatchOptions(), _pipeline(env))
    assert job.dialect.think_tags == "leading"  # thinking off: only a stray leading block


def test_every_answer_is_counted_in_the_pipelines_ledger_even_without_usage() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        message = {"role": "assistant", "content": "ok"}
        return httpx.Response(
            200, json={"choices": [{"message": message, "finish_reason": "stop"}]}
        )

    pipeline = _pipeline()
    options = BatchOptions(cache=False, progress=False, transport=httpx.MockTransport(answer))
    run = Run("{item}", ["a", "b", "c"], options, pipeline=pipeline)
    assert list(run.blocking()) == ["ok"] * 3
    (totals,) = pipeline.ledger.models.values()
    assert totals.requests == 3
    assert totals.prompt_tokens == 0


def test_a_batch_uses_the_pipeline_of_the_shells_session(monkeypatch: pytest.MonkeyPatch) -> None:
    shell = object()
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    session = Session(shell, GLM())
    session.bind()
    try:
        assert default_pipeline() is session.pipeline
    finally:
        session.unbind()
    monkeypatch.setattr("IPython.get_ipython", lambda: None)
    assert default_pipeline().guard is process_guard()  # outside a notebook: this process's
