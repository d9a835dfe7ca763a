"""Summaries of pandas and polars frames: content, edge cases and the large-frame path."""

from __future__ import annotations

import tracemalloc
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

from glm_jupyter.context.summaries import Summary, summarize
from glm_jupyter.context.summaries.arrays import sample_positions
from glm_jupyter.context.tokens import estimate_tokens


def check(summary: Summary, budget: int = 1500) -> Summary:
    assert summary.tokens == estimate_tokens(summary.text) <= budget
    for note in summary.notes:
        assert f"*{note}*" in summary.text
    return summary


def row(text: str, column: str) -> str:
    """The table row of `column`."""
    return next(line for line in text.splitlines() if line.startswith(f"| {column} |"))


@pytest.fixture(scope="module")
def sales() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 1000
    frame = pd.DataFrame(
        {
            "price": np.round(rng.normal(100, 15, n), 2),
            "qty": rng.integers(0, 50, n),
            "paid": rng.random(n) < 0.7,
            "when": pd.date_range("2020-01-01", periods=n, freq="D"),
            "grade": pd.Categorical(rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])),
            "city": rng.choice(["Paris", "Oslo", "Rome"], n),
            "note": [f"note {i}: " + "long words here " * (i % 9) for i in range(n)],
        }
    )
    frame.loc[3, "price"] = np.nan
    return frame


def test_frame_header_table_and_sample_rows(sales: pd.DataFrame) -> None:
    s = check(summarize(sales, "sales", budget=4000))
    lines = s.text.splitlines()
    assert lines[0].startswith("### `sales` — pandas DataFrame, 1,000 rows × 7 columns, ")
    assert lines[0].endswith(" KB")
    assert s.kind == "pandas.DataFrame"
    assert s.brief.startswith("DataFrame 1,000×7, ")
    assert "| column | dtype | nulls | summary |" in lines
    price = row(s.text, "price")
    assert "| float64 | 1 (0.1%) | count 999, mean " in price
    for part in ("std ", "min ", "25% ", "50% ", "75% ", "max "):
        assert part in price
    assert f"max {sales['price'].max():.4g}" in price  # 4 significant digits
    assert "| qty | int64 | 0 | count 1,000," in s.text
    assert "true " in row(s.text, "paid")
    assert "false " in row(s.text, "paid")
    assert "min 2020-01-01, max 2022-09-26" in row(s.text, "when")
    grade = row(s.text, "grade")
    assert "3 categories" in grade
    assert "top 'a' " in grade
    assert "3 distinct" in row(s.text, "city")
    assert "'Paris'" in row(s.text, "city")
    note = row(s.text, "note")
    assert "1,000 distinct" in note
    assert "length " in note
    assert "Sample rows (first 5, then 5 at random):" in s.text
    table = s.text[s.text.index("Sample rows") :].splitlines()
    assert table[1].startswith("| # | price | qty |")
    assert len(table) == 3 + 10
    assert [r.split(" | ")[0] for r in table[3:8]] == ["| 0", "| 1", "| 2", "| 3", "| 4"]
    assert "| NaN |" in table[6]  # row 3's price


def test_stats_use_four_significant_digits() -> None:
    df = pd.DataFrame({"x": [1.23456789, 2.3456789, 1234567.8, 0.000123456]})
    text = row(summarize(df, "df").text, "x")
    assert "min 0.0001235" in text
    assert "max 1.235e6" in text
    assert "1234567.8" not in text


def test_cells_are_truncated_and_escaped() -> None:
    df = pd.DataFrame({"t": ["a|b\nc" + "x" * 100, "short"]})
    s = summarize(df, "df")
    cell_line = s.text.splitlines()[-2]
    assert "a\\|b↵c" in cell_line
    assert "…" in cell_line
    assert len(cell_line) < 80


def test_index_shown_when_not_default() -> None:
    df = pd.DataFrame({"v": [1, 2, 3]}, index=pd.Index(["x", "y", "z"], name="key"))
    s = summarize(df, "df")
    assert "Index: Index `key`, str, from x to z" in s.text
    assert "| key | v |" in s.text
    assert "| y | 2 |" in s.text
    plain = summarize(pd.DataFrame({"v": [1, 2]}), "df").text
    assert "Index:" not in plain


def test_multiindex_rows_and_columns() -> None:
    index = pd.MultiIndex.from_product([["north", "south"], [2023, 2024]], names=["region", None])
    columns = pd.MultiIndex.from_tuples([("sales", "eur"), ("sales", "usd"), ("stock", "units")])
    df = pd.DataFrame(np.arange(12).reshape(4, 3), index=index, columns=columns)
    s = check(summarize(df, "df"))
    assert "Index: MultiIndex of 2 levels: `region` (str), `level 1` (int64)" in s.text
    assert "| sales / eur | int64 |" in s.text
    assert "| stock / units |" in s.text
    assert "| region / level 1 | sales / eur |" in s.text
    assert "| north / 2023 | 0 | 1 | 2 |" in s.text


def test_series_reads_like_a_one_column_frame() -> None:
    s = check(summarize(pd.Series([1.5, 2.5, None], name="price"), "p"))
    assert s.kind == "pandas.Series"
    assert s.text.startswith("### `p` — pandas Series `price`, 3 rows, float64, ")
    assert "| price | float64 | 1 (33.3%) | count 2, mean 2," in s.text
    unnamed = summarize(pd.Series(["a", "b"]), "letters").text
    assert "| letters | str |" in unnamed


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame(),
        pd.DataFrame(index=range(5)),
        pd.DataFrame({"a": pd.Series([], dtype=float), "b": pd.Series([], dtype=object)}),
        pd.DataFrame(
            {"a": [None, None], "b": [np.nan, np.nan], "c": pd.array([None, None], "Int64")}
        ),
        pd.DataFrame({"m": [1, "a", 2.5, None, [1, 2], {"k": 1}, b"x", {3}]}),
        pd.DataFrame([[1, 2, 3]], columns=["a", "a", "b"]),
        pd.DataFrame({"big": ["y" * 10_000_000]}),
        pd.DataFrame({"t": pd.date_range("2020", periods=3, tz="Europe/Oslo")}),
        pd.DataFrame({"td": pd.to_timedelta([1, 2, None], unit="h")}),
        pd.DataFrame({"p": pd.period_range("2020-01", periods=3, freq="M")}),
        pd.DataFrame({"iv": pd.interval_range(0, 3)}),
        pd.DataFrame({"cx": [1 + 2j, 3j, 1]}),
        pd.DataFrame({"nb": pd.array([True, None, False], dtype="boolean")}),
        pd.DataFrame({"sp": pd.arrays.SparseArray([0, 0, 1.5])}),
        pd.DataFrame({("a", 1): [1], ("b", 2): ["x"]}),
        pd.DataFrame({0: [1], 1.5: [2], None: [3]}),
    ],
    ids=lambda f: "-".join(map(str, f.columns))[:20] or f"{len(f)}rows",
)
def test_edge_case_frames_do_not_raise(frame: pd.DataFrame) -> None:
    for send_rows in (True, False):
        for budget in (200, 1500):
            s = check(summarize(frame, "edge", budget=budget, send_rows=send_rows), budget)
            assert s.kind == "pandas.DataFrame"
            assert "Summary failed" not in s.text


def test_empty_and_all_null_frames_say_so() -> None:
    assert "No columns." in summarize(pd.DataFrame(), "df").text
    no_rows = summarize(pd.DataFrame({"a": pd.Series([], dtype=float)}), "df").text
    assert "| a | float64 | 0 | no rows |" in no_rows
    nulls = summarize(pd.DataFrame({"a": [None, None]}), "df").text
    assert "| a | object | 2 (100%) | all null |" in nulls


def test_mixed_and_unhashable_object_columns() -> None:
    df = pd.DataFrame({"m": [1, "a", [1, 2], [1, 2], {"k": 1}, None]})
    text = row(summarize(df, "df").text, "m")
    assert "types " in text
    assert "list 40%" in text
    assert "4 distinct" in text
    assert "[1, 2] 2" in text


def test_duplicate_column_names_each_get_a_row() -> None:
    df = pd.DataFrame([[1, "x"], [2, "y"]], columns=["a", "a"])
    table = [line for line in summarize(df, "df").text.splitlines() if line.startswith("| a |")]
    assert len(table) == 2
    assert "int64" in table[0]
    assert "str" in table[1]


def test_budget_steps_are_named(sales: pd.DataFrame) -> None:
    wide = check(summarize(sales, "sales", budget=500), 500)
    assert wide.notes[-1] == "Cut to fit 500 tokens: sample rows cut to 4."
    tight = check(summarize(sales, "sales", budget=250), 250)
    assert "sample rows dropped" in tight.text
    assert "Sample rows" not in tight.text


# ------------------------------------------------------------------------------ large frames

ROWS = 300_000


@pytest.fixture(scope="module")
def large() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    price = rng.normal(10, 2, ROWS)
    price[::10] = np.nan  # exactly 30,000
    words = np.asarray(["alpha", "beta", "gamma", None], dtype=object)
    return pd.DataFrame(
        {
            "price": price,
            "qty": rng.integers(0, 9, ROWS),
            "day": pd.date_range("2020-01-01", periods=ROWS, freq="min"),
            "kind": words[rng.integers(0, 4, ROWS)],
            "code": pd.Categorical(rng.choice(["x", "y"], ROWS)),
            "id": [f"id-{i}" for i in range(ROWS)],
        }
    )


def test_large_frame_is_summarised_from_a_sample(large: pd.DataFrame) -> None:
    s = check(summarize(large, "big"))
    assert "statistics from a 100,000-row random sample (seed 0)" in s.notes[0]
    assert "from a 100,000-row sample" in s.brief
    assert s.text.splitlines()[0].startswith(
        "### `big` — pandas DataFrame, 300,000 rows × 6 columns, ≈"
    )
    assert "| price | float64 | 30,000 (10%) | count 270,000," in s.text  # exact
    assert row(s.text, "kind").split(" | ")[2].startswith("≈")  # estimated from the sample
    assert "≈" in row(s.text, "kind").split(" | ")[3]  # shares, not counts
    assert "distinct in 10,000 sampled" in row(s.text, "id")


def test_large_frame_is_never_scanned_as_a_whole(
    large: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("whole-frame operation")

    real_memory_usage = pd.DataFrame.memory_usage

    def shallow_only(self: pd.DataFrame, index: bool = True, deep: bool = False) -> Any:
        if deep and len(self) > 100_000:
            raise AssertionError("deep memory_usage of the whole frame")
        return real_memory_usage(self, index=index, deep=deep)

    for name in ("describe", "isna", "isnull", "notna", "copy", "nunique", "value_counts"):
        monkeypatch.setattr(pd.DataFrame, name, forbidden)
    monkeypatch.setattr(pd.DataFrame, "memory_usage", shallow_only)
    for send_rows in (True, False):
        check(summarize(large, "big", send_rows=send_rows))


def test_large_frame_memory_stays_small() -> None:
    rows = 2_000_000
    rng = np.random.default_rng(2)
    floats = rng.normal(size=rows)
    floats[::3] = np.nan
    frame = pd.DataFrame(
        {
            "a": floats,
            "b": rng.normal(size=rows),
            "c": np.arange(rows),
            "d": pd.date_range("2000-01-01", periods=rows, freq="s"),
            "e": rng.random(rows) < 0.5,
            "f": rng.integers(0, 10, rows),
        }
    )
    frame_bytes = int(frame.memory_usage(deep=False).sum())
    summarize(frame, "big")
    tracemalloc.start()
    summarize(frame, "big")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # The 100,000-row sample is 5% of this frame; a copy of the frame, or masks of all its
    # columns at once, would be several times the bound.
    assert peak < 0.15 * frame_bytes


def test_sample_positions_are_distinct_sorted_and_seeded() -> None:
    a = sample_positions(10_000_000, 100_000, 0)
    assert len(a) == 100_000
    assert (np.diff(a) > 0).all()
    assert a[0] >= 0
    assert a[-1] < 10_000_000
    assert abs(a.mean() - 5_000_000) < 100_000
    assert (sample_positions(10_000_000, 100_000, 0) == a).all()
    assert not (sample_positions(10_000_000, 100_000, 1) == a).all()
    for n in (300_000, 150_000, 100_001):
        b = sample_positions(n, 100_000, 3)
        assert len(b) == 100_000
        assert (np.diff(b) > 0).all()
        assert b[-1] < n
    assert (sample_positions(50, 100_000, 0) == np.arange(50)).all()


# -------------------------------------------------------------------------------------- polars


def test_polars_frame() -> None:
    df = pl.DataFrame(
        {
            "a": [1, None, 3],
            "f": [1.5, float("nan"), None],
            "s": ["x", "y", None],
            "l": [[1], [2, 3], None],
            "e": pl.Series(["lo", "hi", "lo"], dtype=pl.Enum(["lo", "hi"])),
        }
    )
    s = check(summarize(df, "pdf", budget=4000))
    assert s.kind == "polars.DataFrame"
    assert s.text.startswith("### `pdf` — polars DataFrame, 3 rows × 5 columns, ")
    assert "| a | Int64 | 1 (33.3%) | count 2, mean 2," in s.text
    assert "| f | Float64 | 1 (33.3%) | NaN 1, count 1, mean 1.5," in s.text
    assert "| e | Enum(2 categories) | 0 | 2 categories" in s.text
    assert "e.g. [1], [2, 3]" in s.text
    assert "Sample rows" in s.text or "First 3 rows" in s.text
    withheld = check(summarize(df, "pdf", send_rows=False)).text
    assert "'lo'" not in withheld
    assert "[2, 3]" not in withheld


def test_polars_series_and_empty() -> None:
    s = check(summarize(pl.Series("v", [1, 2, 3]), "v"))
    assert s.kind == "polars.Series"
    assert "| v | Int64 | 0 | count 3," in s.text
    check(summarize(pl.DataFrame(), "empty"))
    check(summarize(pl.DataFrame({"a": []}), "empty"))
    check(summarize(pl.Series("n", [None, None]), "nulls"))


def test_large_polars_frame_is_sampled() -> None:
    nan = np.where(np.arange(ROWS) % 5 == 0, np.nan, 1.0)
    df = pl.DataFrame(
        {"x": np.arange(ROWS, dtype=float), "s": ["a", "b", "c"] * (ROWS // 3), "nan": nan}
    ).with_columns(pl.when(pl.col("x") % 4 == 0).then(None).otherwise(pl.col("x")).alias("x"))
    s = check(summarize(df, "big"))
    assert "statistics from a 100,000-row random sample" in s.text
    assert "| x | Float64 | 75,000 (25%) |" in s.text  # exact: polars keeps null counts
    assert "| nan | Float64 | 0 | NaN ≈" in s.text  # NaN is a value: from the sample
    assert "count ≈" in row(s.text, "nan")
    assert summarize(df, "big").text == s.text
