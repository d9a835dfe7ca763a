"""`glm_jupyter.map` over the simulator: inputs and outputs of every shape, alignment, errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, TypedDict

import pandas as pd
import polars as pl
import pytest

import glm_jupyter
from glm_jupyter.batch import BatchList, last_report
from glm_jupyter.batch.inputs import Template, read
from glm_jupyter.simulator import Simulator

from ..helpers import SECRET


@pytest.fixture
def point(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Point the environment at a simulator, with a fresh cache directory."""

    def use(sim: Simulator, provider: str = "zai") -> Path:
        monkeypatch.setenv("GLM_PROVIDER", provider)
        monkeypatch.setenv("GLM_BASE_URL", sim.base_url)
        monkeypatch.setenv("GLM_API_KEY", SECRET)
        monkeypatch.setenv("GLM_CACHE_DIR", str(tmp_path / "cache"))
        return tmp_path / "cache"

    return use


def _asked(sim: Simulator) -> list[str]:
    return [r["body"]["messages"][-1]["content"] for r in sim.requests]


@dataclasses.dataclass
class Rating:
    stars: int
    reason: str


class Label(TypedDict):
    label: str


RATINGS = {
    "turns": [
        {
            "match": "great",
            "content": '{"stars": 5, "reason": "loved it"}',
            "first_byte_delay": 0.2,
        },
        {"match": "awful", "content": '{"stars": 1, "reason": "hated it"}'},
        {"match": "meh", "content": '{"stars": "three"}'},  # wrong type, field missing
        {"match": "broken", "content": "x", "fault": {"kind": "http_error", "status": 400}},
    ]
}


def test_list_in_list_out_aligned_when_answers_come_out_of_order(
    simulator: Any, point: Any
) -> None:
    delays = {"a": 0.3, "b": 0.2, "c": 0.1, "d": 0.0}  # the last item is answered first
    sim = simulator(
        {
            "turns": [
                {"match": f"Name {k}$", "content": k.upper(), "first_byte_delay": d}
                for k, d in delays.items()
            ]
        }
    )
    point(sim)
    result = glm_jupyter.map("Name {item}", list(delays), concurrency=4, progress=False)
    assert isinstance(result, BatchList)
    assert result == ["A", "B", "C", "D"]
    assert result.attrs["glm_errors"] == {}
    assert "4 done" in result.attrs["glm_summary"]
    assert sorted(_asked(sim)) == ["Name a", "Name b", "Name c", "Name d"]


def test_a_batch_keeps_its_connections_for_the_next_items(simulator: Any, point: Any) -> None:
    # Each item over a new connection would pay a TCP (and, to a provider, TLS) handshake; the
    # pool is as large as the concurrency and its connections serve item after item.
    sim = simulator({"default": {"content": "Hello there."}})
    point(sim)
    items = [f"item {i}" for i in range(12)]
    result = glm_jupyter.map("Echo {item}", items, concurrency=2, progress=False)
    assert len(result) == 12
    assert result.attrs["glm_errors"] == {}
    ports = {r["peer_port"] for r in sim.requests if r["method"] == "POST"}
    assert len(ports) <= 2, f"{len(ports)} connections for 12 items at concurrency 2"


def test_prompt_without_placeholder_gets_the_item_appended(simulator: Any, point: Any) -> None:
    sim = simulator()
    point(sim)
    result = glm_jupyter.map("Translate to French:", ["cat", "dog"], progress=False)
    assert sorted(_asked(sim)) == ["Translate to French:\n\ncat", "Translate to French:\n\ndog"]
    assert result == [f"Simulated answer to: Translate to French:\n\n{x}" for x in ("cat", "dog")]


def test_pandas_series_keeps_its_index(simulator: Any, point: Any) -> None:
    sim = simulator()
    point(sim)
    reviews = pd.Series(["good", "bad", "fine"], index=["r1", "r7", "r3"], name="review")
    result = glm_jupyter.map("Sentiment of {review}?", reviews, progress=False)
    assert isinstance(result, pd.Series)
    assert list(result.index) == ["r1", "r7", "r3"]
    assert result.name == "answer"
    assert result["r7"] == "Simulated answer to: Sentiment of bad?"
    assert result.attrs["glm_errors"] == {}


def test_dataframe_rows_fill_column_placeholders(simulator: Any, point: Any) -> None:
    sim = simulator()
    point(sim)
    df = pd.DataFrame(
        {"city": ["Rome", "Oslo"], "month": ["May", "June"], "unused": [1, 2]}, index=[5, 9]
    )
    result = glm_jupyter.map("Weather in {city} in {month}? {{city}} stays.", df, progress=False)
    assert sorted(_asked(sim)) == [  # sent concurrently: the server sees them in any order
        "Weather in Oslo in June? {city} stays.",
        "Weather in Rome in May? {city} stays.",
    ]
    assert list(result.index) == [5, 9]
    assert result[9].endswith("Oslo in June? {city} stays.")


def test_dataframe_column_is_appended_when_the_prompt_names_none(
    simulator: Any, point: Any
) -> None:
    sim = simulator()
    point(sim)
    df = pd.DataFrame({"text": ["one", None], "n": [1, 2]})
    glm_jupyter.map("Summarise:", df, column="text", progress=False)
    assert sorted(_asked(sim)) == ["Summarise:\n\n", "Summarise:\n\none"]  # None: empty
    with pytest.raises(ValueError, match=r"names no column.*column=NAME.*text, n"):
        glm_jupyter.map("Summarise:", df, progress=False)
    with pytest.raises(ValueError, match="'txt' is not a column"):
        glm_jupyter.map("Summarise:", df, column="txt", progress=False)


def test_schema_fields_become_columns_and_bad_rows_do_not_stop_the_rest(
    simulator: Any, point: Any
) -> None:
    sim = simulator(RATINGS)
    point(sim)
    df = pd.DataFrame({"review": ["great", "meh", "broken", "awful"]}, index=list("wxyz"))
    result = glm_jupyter.map("Rate: {review}", df, schema=Rating, progress=False)
    assert list(result.columns) == ["stars", "reason", "_error"]
    assert list(result.index) == list("wxyz")
    assert result.loc["w", "stars"] == 5
    assert result.loc["z", "reason"] == "hated it"
    assert result.loc["w", "_error"] is None
    assert "does not fit the schema" in result.loc["x", "_error"]
    assert "400" in result.loc["y", "_error"]
    assert pd.isna(result.loc["x", "stars"])
    assert set(result.attrs["glm_errors"]) == {"x", "y"}
    assert "2 done, 2 failed: see the _error column" in result.attrs["glm_summary"]
    assert len(sim.requests) == 4  # a 400 is not retried
    schema_prompt = sim.requests[0]["body"]["messages"][-1]["content"]
    assert "JSON schema" in schema_prompt
    assert sim.requests[0]["body"]["response_format"] == {"type": "json_object"}


def test_list_with_schema_gives_built_values(simulator: Any, point: Any) -> None:
    sim = simulator(RATINGS)
    point(sim)
    result = glm_jupyter.map("Rate: {item}", ["awful", "meh"], schema=Rating, progress=False)
    assert result[0] == Rating(1, "hated it")
    assert result[1] is None
    assert list(result.attrs["glm_errors"]) == [1]


def test_pandas_series_with_schema_gives_a_frame(simulator: Any, point: Any) -> None:
    sim = simulator({"default": {"content": '{"label": "spam"}'}})
    point(sim)
    result = glm_jupyter.map("Label {item}", pd.Series(["a", "b"]), schema=Label, progress=False)
    assert list(result.columns) == ["label", "_error"]
    assert list(result["label"]) == ["spam", "spam"]


def test_json_without_schema_gives_parsed_objects(simulator: Any, point: Any) -> None:
    sim = simulator({"turns": [{"match": "x", "content": "oops"}], "default": {"content": "[1]"}})
    point(sim)
    result = glm_jupyter.map("Give JSON for {item}", ["a", "x"], json=True, progress=False)
    assert result[0] == [1]
    assert result[1] is None
    assert "not valid JSON" in result.attrs["glm_errors"][1]


def test_polars_in_polars_out(simulator: Any, point: Any) -> None:
    sim = simulator(RATINGS)
    point(sim)
    series = glm_jupyter.map("Say {item}", pl.Series("w", ["p", "q"]), progress=False)
    assert isinstance(series, pl.Series)
    assert series.to_list() == ["Simulated answer to: Say p", "Simulated answer to: Say q"]
    frame = pl.DataFrame({"review": ["awful", "broken"]})
    result = glm_jupyter.map("Rate: {review}", frame, schema=Rating, progress=False)
    assert isinstance(result, pl.DataFrame)
    assert result.columns == ["stars", "reason", "_error"]
    assert result["stars"].to_list() == [1, None]
    assert result["_error"][0] is None
    assert "400" in result["_error"][1]
    report = last_report()
    assert report is not None
    assert report.failed == 1
    assert report.errors == {1: result["_error"][1]}


def test_settings_keywords_and_thinking_off_by_default(simulator: Any, point: Any) -> None:
    sim = simulator()
    point(sim, "vllm")
    glm_jupyter.map("Hi {item}", ["x"], progress=False)
    body = sim.requests[-1]["body"]
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert "temperature" not in body
    glm_jupyter.map(
        "Hi {item}",
        ["x"],
        model="glm-4.7",
        temperature=0.2,
        max_tokens=50,
        thinking=True,
        system="Be brief.",
        progress=False,
    )
    body = sim.requests[-1]["body"]
    assert body["model"] == "glm-4.7"
    assert body["temperature"] == 0.2
    assert body["max_tokens"] == 50
    assert body["chat_template_kwargs"] == {"enable_thinking": True}
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}


def test_config_outranks_environment(shell: Any, simulator: Any, point: Any) -> None:
    sim = simulator()
    point(sim)
    shell.run_line_magic("config", "GLM.model = 'glm-5'")
    shell.run_line_magic("config", "GLM.thinking = True")
    glm_jupyter.map("Hi {item}", ["x"], progress=False)
    body = sim.requests[-1]["body"]
    assert body["model"] == "glm-5"
    assert body["thinking"] == {"type": "enabled"}
    glm_jupyter.map("Hi {item}", ["y"], thinking=False, progress=False)
    assert sim.requests[-1]["body"]["thinking"] == {"type": "disabled"}


def test_bad_inputs_are_refused_before_anything_is_sent(simulator: Any, point: Any) -> None:
    sim = simulator()
    point(sim)
    with pytest.raises(TypeError, match="list, a pandas or polars Series"):
        glm_jupyter.map("Hi", "just a string", progress=False)
    with pytest.raises(ValueError, match="needs a prompt"):
        glm_jupyter.map("  ", ["x"], progress=False)
    with pytest.raises(ValueError, match="concurrency"):
        glm_jupyter.map("Hi", ["x"], concurrency=0, progress=False)
    assert sim.requests == []


def test_empty_input_gives_empty_output(simulator: Any, point: Any) -> None:
    sim = simulator()
    point(sim)
    assert glm_jupyter.map("Hi", [], progress=False) == []
    empty = glm_jupyter.map("Hi", pd.Series([], dtype=object), progress=False)
    assert isinstance(empty, pd.Series)
    assert len(empty) == 0
    assert sim.requests == []


def test_template_reads_fields_of_each_shape() -> None:
    frame = read(pd.DataFrame({"a b": [1], 2: ["x"]}))
    assert frame.names == ["a b", "2"]
    template = Template.of("{a b} and {2} and {c}", frame)
    assert template.used == ("a b", "2")
    assert template.render(frame.rows(template.fields)[0]) == "1 and x and {c}"
    assert read(pl.Series("item", [1])).names == ["item"]
    assert read(range(3)).rows(["item"]) == [{"item": 0}, {"item": 1}, {"item": 2}]


def test_progress_shows_rate_tokens_and_cost() -> None:
    import contextlib
    import io

    from glm_jupyter.display.progress import NoBar, Tally, TextBar, WidgetBar, make_bar
    from glm_jupyter.messages import Usage

    tally = Tally(total=4, model="glm-5.1")
    tally.done, tally.failed, tally.cached = 2, 1, 1
    tally.spent(Usage(prompt_tokens=1000, completion_tokens=500))
    line = tally.line()
    assert line.startswith("4/4 · ")
    assert "items/s · 1,500 tokens · $0.0036 · 1 cached · 1 failed" in line
    out = io.StringIO()
    bar = TextBar(out)
    bar.update(tally)
    bar.close(tally, "", True)
    assert out.getvalue().count("\r") == 2  # one line, rewritten in place
    assert out.getvalue().endswith("1 failed\n")
    widget = WidgetBar(4)
    widget.close(tally, tally.summary("see here"), True)
    assert widget._progress.value == 4
    assert widget._progress.bar_style == "warning"  # something failed
    assert "3 done (1 from the cache), 1 failed: see here" in widget._label.value
    assert isinstance(make_bar(False, 4), NoBar)
    with contextlib.redirect_stderr(io.StringIO()):
        assert isinstance(make_bar(True, 4), NoBar)  # not a kernel, stderr not a terminal
    unpriced = Tally(total=1, model="my-own-model")
    unpriced.spent(Usage(prompt_tokens=10))
    assert unpriced.cost_text() == "cost n/a"
