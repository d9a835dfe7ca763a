"""Summaries of kernel objects: token estimate, budgets, determinism, and send_rows=False."""

from __future__ import annotations

import datetime as dt
import functools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glm_jupyter.context.summaries import Summary, summarize
from glm_jupyter.context.tokens import estimate_tokens

ROOT = Path(__file__).resolve().parents[2]
BUDGETS = (200, 500, 1500)


def check(summary: Summary, budget: int) -> Summary:
    """The invariants every summary keeps."""
    assert summary.tokens == estimate_tokens(summary.text)
    assert summary.tokens <= budget
    assert summary.text.startswith(f"### `{summary.name[:20]}")
    for note in summary.notes:
        assert f"*{note}*" in summary.text
    assert summary.brief.endswith(f"{summary.tokens:,} tokens")
    return summary


# ------------------------------------------------------------------------------ token estimate


def test_estimate_tokens_counts_words_numbers_and_symbols() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("   \n\t ") == 0
    assert estimate_tokens("hello") == 1
    assert estimate_tokens("summary") == 2  # letter runs split every 6
    assert estimate_tokens("1234567") == 3  # digit runs split every 3
    assert estimate_tokens("a_b") == 3
    assert estimate_tokens("| a | b |") == 5
    assert estimate_tokens("中文字") == 3  # one per CJK character
    assert estimate_tokens("Привет") == 2  # other alphabets count too


def test_estimate_tokens_is_additive_over_lines() -> None:
    lines = ["### `df` — pandas", "| x | 1,234 |", "*note: ≈5%*"]
    assert estimate_tokens("\n".join(lines)) == sum(estimate_tokens(line) for line in lines)


@given(st.text(max_size=200))
def test_estimate_tokens_is_deterministic_and_bounded(text: str) -> None:
    n = estimate_tokens(text)
    assert n == estimate_tokens(text)
    assert 0 <= n <= len(text)
    assert n >= len(text.split()) or not text.strip()


# ------------------------------------------------------------------------------------- budgets

_KINDS = ("int", "float", "str", "text", "bool", "date", "cat", "obj")


def _column(kind: str, rows: int, seed: int) -> object:
    rng = np.random.default_rng(seed)
    if kind == "int":
        return rng.integers(-1000, 10**9, rows)
    if kind == "float":
        values = rng.normal(0, 1e6, rows)
        values[rng.random(rows) < 0.2] = np.nan
        return values
    if kind == "str":
        return rng.choice(["north", "south", "east", "west"], rows)
    if kind == "text":
        return [f"free text number {i} " * int(rng.integers(1, 8)) for i in range(rows)]
    if kind == "bool":
        return rng.random(rows) < 0.5
    if kind == "date":
        return pd.date_range("2020-01-01", periods=rows, freq="h")
    if kind == "cat":
        return pd.Categorical(rng.choice(["a", "b", "c"], rows))
    return [[i] if i % 3 == 0 else ("x" * (i % 50) if i % 3 == 1 else None) for i in range(rows)]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.integers(0, 80),
    rows=st.integers(0, 40),
    budget=st.integers(200, 3000),
    seed=st.integers(0, 3),
    send_rows=st.booleans(),
    long_names=st.booleans(),
)
def test_any_frame_fits_any_budget(
    width: int, rows: int, budget: int, seed: int, send_rows: bool, long_names: bool
) -> None:
    columns = {}
    for i in range(width):
        name = f"column_{i}" + ("_with_a_rather_long_descriptive_name" * 3 if long_names else "")
        columns[name] = _column(_KINDS[(i + seed) % len(_KINDS)], rows, seed + i)
    df = pd.DataFrame(columns, index=range(rows))
    check(summarize(df, "df", budget=budget, send_rows=send_rows), budget)


@pytest.mark.parametrize("budget", BUDGETS)
def test_wide_frame_degrades_in_steps(budget: int) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({f"feature_{i:03d}": rng.normal(size=50) for i in range(500)})
    s = check(summarize(df, "wide", budget=budget), budget)
    assert f"Cut to fit {budget:,} tokens" in s.text
    assert "sample rows dropped" in s.text
    assert "shorter column summaries" in s.text
    assert "of 500 columns listed by name only" in s.text
    assert "feature_000" in s.text  # the first columns are always there
    if budget >= 1500:
        assert "feature_499" in s.text or "only counted" in s.text


@pytest.mark.parametrize("budget", BUDGETS)
def test_ten_megabyte_string_fits(budget: int) -> None:
    text = ("lorem ipsum dolor sit amet " * 40 + "\n") * 9_700
    assert len(text) > 10_000_000
    s = check(summarize(text, "blob", budget=budget), budget)
    assert f"{len(text):,} characters" in s.text
    assert "showing the first" in s.text
    assert s.text.count("```") == 4  # head and tail, each fenced


@pytest.mark.parametrize("budget", BUDGETS)
def test_big_containers_fit(budget: int) -> None:
    big = {
        "dict": {f"key-{i}": list(range(i % 5)) for i in range(20_000)},
        "list": list(range(300_000)),
        "set": {f"item-{i}" for i in range(5_000)},
        "array": np.arange(1_000_000, dtype=float).reshape(1000, 1000),
        "bytes": bytes(range(256)) * 40_000,
        "name": "x" * 5_000,
    }
    for name, obj in big.items():
        check(summarize(obj, name, budget=budget), budget)
        check(summarize(obj, name, budget=budget, send_rows=False), budget)


def test_small_budgets_are_honoured_by_cutting() -> None:
    df = pd.DataFrame({"a": range(10), "b": list("abcdefghij")})
    for budget in (1, 5, 20, 60):
        s = summarize(df, "a_rather_long_variable_name_for_a_frame", budget=budget)
        assert s.tokens <= budget
    with pytest.raises(ValueError, match="budget"):
        summarize(df, "df", budget=0)


def test_huge_variable_name_is_clipped_not_overflowing() -> None:
    s = check(summarize(1, "n" * 20_000, budget=200), 200)
    assert "cut off" in s.text


# --------------------------------------------------------------------------------- determinism

FIXTURES = """
import datetime as dt
import numpy as np, pandas as pd, polars as pl
rng = np.random.default_rng(3)
n = 2_000
frame = pd.DataFrame({
    "city": rng.choice(["Oslo", "Rome", "Lima", "Pune", "Kyiv"], n),
    "words": [f"w{i % 97} and w{i % 13}" for i in range(n)],
    "mixed": [i if i % 2 else str(i % 7) for i in range(n)],
    "lists": [[i % 3] for i in range(n)],
    "x": rng.normal(size=n),
    "when": pd.date_range("2021-01-01", periods=n, freq="min"),
})
OBJECTS = {
    "frame": frame,
    "big": pd.concat([frame] * 160, ignore_index=True),
    "polars": pl.DataFrame({c: frame[c].tolist() for c in ("city", "words", "x", "when")}),
    "set": {f"s{i}" for i in range(300)} | {3, 2.5, (1, "a")},
    "dict": {f"k{i}": {f"n{j}" for j in range(i % 4)} for i in range(60)},
    "list": ["a", {"b", "c", 1, None, (2, "z")}, 1.5, None, frozenset({"x", 3})],
    "array": rng.normal(size=(300, 400)),
}
"""


def _texts_in_subprocess(hash_seed: str) -> dict[str, str]:
    code = FIXTURES + (
        "import json\nfrom glm_jupyter.context.summaries import summarize\n"
        "print(json.dumps({k: summarize(v, k).text for k, v in OBJECTS.items()}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin"},
    )
    texts: dict[str, str] = json.loads(done.stdout)
    return texts


def test_same_data_gives_identical_bytes_in_every_process() -> None:
    scope: dict[str, object] = {}
    exec(FIXTURES, scope)
    objects = scope["OBJECTS"]
    assert isinstance(objects, dict)
    here = {k: summarize(v, k).text for k, v in objects.items()}
    assert here == {k: summarize(v, k).text for k, v in objects.items()}
    assert "statistics from a 100,000-row random sample" in here["big"]
    assert _texts_in_subprocess("1") == here
    assert _texts_in_subprocess("2") == here


def test_seed_changes_the_sample_only() -> None:
    df = pd.DataFrame({"x": np.arange(300_000) % 1000, "y": np.arange(300_000) % 7})
    a, b = summarize(df, "df", seed=0), summarize(df, "df", seed=1)
    assert a.text != b.text
    assert a.text == summarize(df, "df", seed=0).text
    assert "(seed 1)" in b.text


def test_no_memory_addresses_or_ids_in_text() -> None:
    class Thing:
        pass

    s = summarize({"thing": Thing(), "other": Thing()}, "d")
    s2 = summarize(Thing(), "t")
    for text in (s.text, s2.text):
        assert "0x7" not in text
        assert "at 0x…" in text or "Thing" in text


# ------------------------------------------------------------------------------ send_rows=False

WORD = "SENTINEL-ALICE-93"
NUMBER = 987654.321
INTEGER = 4242421
DAY = dt.date(2031, 7, 4)
LEAKS = ("SENTINEL", "ALICE", "987654", "4242421", "2031-07-04", "2031-07", "2031, 7, 4")


def _sentinel_frame(rows: int) -> pd.DataFrame:
    def repeat(value: object) -> list[object]:
        return [value] * rows

    frame = pd.DataFrame(
        {
            "text": repeat(WORD),
            "text_nulls": [WORD if i % 3 else None for i in range(rows)],
            "obj": [WORD if i % 2 else [WORD] for i in range(rows)],
            "float": repeat(NUMBER),
            "float_nan": [NUMBER if i % 2 else np.nan for i in range(rows)],
            "int": repeat(INTEGER),
            "nullable": pd.array([INTEGER if i % 2 else None for i in range(rows)], "Int64"),
            "date": repeat(pd.Timestamp(DAY)),
            "tz": repeat(pd.Timestamp(DAY, tz="UTC")),
            "period": pd.PeriodIndex(repeat(pd.Period(DAY, "D"))),
            "cat": pd.Categorical(repeat(WORD)),
            "bool": [i % 2 == 0 for i in range(rows)],
        }
    )
    frame.index = pd.Index([f"{WORD}-{i}" for i in range(rows)], name="key")
    return frame


@functools.cache
def _sentinel_objects() -> dict[str, object]:
    frame = _sentinel_frame(50)
    multi = frame.set_index(["text", "date"])
    structured = np.array(
        [(NUMBER, WORD, INTEGER)] * 5, dtype=[("f", "f8"), ("s", "U20"), ("i", "i8")]
    )

    class Holder:
        def __init__(self) -> None:
            self.secret = WORD

        def __repr__(self) -> str:
            return f"Holder({WORD})"

    return {
        "frame": frame,
        "multi": multi,
        "series": frame["text"],
        "big": pd.concat([frame.reset_index(drop=True)] * 6_000, ignore_index=True),
        "polars": pl.DataFrame(
            {
                "s": [WORD] * 20,
                "f": [NUMBER] * 20,
                "i": [INTEGER] * 20,
                "d": [DAY] * 20,
                "e": pl.Series([WORD] * 20, dtype=pl.Enum([WORD, "other"])),
                "l": [[WORD]] * 20,
            }
        ),
        "polars_series": pl.Series("v", [WORD] * 3),
        "array": np.full((30, 4), NUMBER),
        "int_array": np.full(10, INTEGER),
        "str_array": np.array([WORD] * 4),
        "date_array": np.array([np.datetime64(DAY)] * 3),
        "structured": structured,
        "scalar_array": np.array(NUMBER),
        "np_scalar": np.float64(NUMBER),
        "dict": {WORD: NUMBER, "k": [WORD], "d": DAY, "n": INTEGER},
        "list": [WORD, NUMBER, INTEGER, DAY],
        "tuple": (WORD, NUMBER),
        "set": {WORD, NUMBER},
        "str": WORD * 3,
        "bytes": WORD.encode() * 2,
        "float": NUMBER,
        "int": INTEGER,
        "date": DAY,
        "object": Holder(),
    }


@pytest.mark.parametrize("name", list(_sentinel_objects()))
def test_send_rows_false_shows_no_cell_values(name: str) -> None:
    obj = _sentinel_objects()[name]
    shown = summarize(obj, name, send_rows=True).text
    assert any(leak in shown for leak in LEAKS)  # the sentinel is there with rows
    for budget in (200, 1500, 6000):
        s = check(summarize(obj, name, budget=budget, send_rows=False), budget)
        for leak in LEAKS:
            assert leak not in s.text, (leak, s.text)
        assert "withheld" in s.text
        assert "withheld" in s.brief


def test_send_rows_false_keeps_schema_and_aggregates() -> None:
    s = summarize(_sentinel_frame(50), "df", send_rows=False)
    for column in ("text", "float", "int", "date", "cat", "nullable"):
        assert f"| {column} |" in s.text
    assert "float64" in s.text
    assert "count 50, mean 9.88e5" in s.text  # 3 significant digits, not the value
    assert "| text_nulls | str | 17 (34%) |" in s.text
    assert "Sample rows" not in s.text
    table = [line for line in s.text.splitlines() if line.startswith("|")]
    assert not [line for line in table if "top " in line or "min " in line or "e.g." in line]


def test_scalars_without_rows_give_type_and_size() -> None:
    assert (
        "str, 1,234 characters, value withheld" in summarize("x" * 1234, "s", send_rows=False).text
    )
    assert "bytes, 3 bytes, value withheld" in summarize(b"abc", "b", send_rows=False).text
    assert "int, 7 digits, value withheld" in summarize(INTEGER, "i", send_rows=False).text
    assert "float, value withheld" in summarize(NUMBER, "f", send_rows=False).text
    assert "bool, value withheld" in summarize(True, "b", send_rows=False).text


# ------------------------------------------------------------------------------------ laziness


def test_builtins_never_import_pandas_polars_or_numpy() -> None:
    probe = (
        "import sys, json\n"
        "from glm_jupyter.context.summaries import summarize\n"
        "for obj in ({'a': 1}, [1, 'x'], {2, 3}, 'text', b'x', 1.5, None, object()):\n"
        "    summarize(obj, 'x')\n"
        "print(json.dumps([m for m in ('pandas', 'polars', 'numpy') if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == []
