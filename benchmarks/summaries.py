"""Summaries of a 10,000,000-row, 20-column mixed frame: time, tokens, extra peak memory."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

from .common import median_time, result

ROWS = 10_000_000
BUDGET = 1500


def frame(rows: int = ROWS, seed: int = 7) -> Any:
    """20 columns: ints, floats with NaN, bools, datetimes, a categorical, low-cardinality
    strings and one high-cardinality string column, all drawn from small pools by indexing."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)

    def floats(scale: float, nan_share: float) -> Any:
        values = rng.normal(0, scale, rows)
        values[rng.random(rows) < nan_share] = np.nan
        return values

    def strings(pool: list[str]) -> Any:
        return np.asarray(pool, dtype=object)[rng.integers(0, len(pool), rows)]

    words = [f"customer-{i:06d}" for i in range(200_000)]
    start = np.datetime64("2020-01-01T00:00:00", "us")
    columns: dict[str, Any] = {
        "id": np.arange(rows, dtype=np.int64),
        "store": rng.integers(0, 500, rows, dtype=np.int32),
        "units": rng.integers(0, 100, rows, dtype=np.int64),
        "price": floats(20.0, 0.01),
        "discount": floats(0.1, 0.2),
        "margin": floats(5.0, 0.0),
        "score": floats(1.0, 0.05),
        "weight": rng.random(rows, dtype=np.float32),
        "returned": rng.random(rows) < 0.05,
        "online": rng.random(rows) < 0.5,
        "ordered": start
        + rng.integers(0, 5 * 365 * 86_400, rows)
        .astype("timedelta64[s]")
        .astype("timedelta64[us]"),
        "shipped": start
        + rng.integers(0, 5 * 365 * 86_400, rows)
        .astype("timedelta64[s]")
        .astype("timedelta64[us]"),
        "region": pd.Categorical.from_codes(
            rng.integers(0, 6, rows).astype(np.int8), ["N", "S", "E", "W", "C", "X"]
        ),
        "channel": strings(["web", "store", "phone", "partner"]),
        "country": strings(["FR", "DE", "NO", "IT", "ES", "PL", "SE", "NL"]),
        "status": strings(["new", "paid", "shipped", "returned", "lost"]),
        "currency": strings(["EUR", "NOK", "SEK", "PLN"]),
        "customer": strings(words),
        "quarter": rng.integers(1, 5, rows, dtype=np.int8),
        "rating": floats(2.0, 0.3),
    }
    return pd.DataFrame(columns)


def polars_frame(df: Any) -> Any:
    """The same data in polars: NaN becomes null, as pandas counts it."""
    import polars as pl

    data = {c: df[c].to_numpy() for c in df.columns if c != "region"}
    data["region"] = df["region"].astype(str).to_numpy()
    frame = pl.DataFrame(data, nan_to_null=True)
    return frame.with_columns(pl.col("region").cast(pl.Categorical)).select(list(df.columns))


def run(repeat: int = 5) -> list[dict[str, Any]]:
    """`df_summary_ms`, `df_summary_ms_polars`, `df_summary_tokens`, `df_summary_mem_ratio`."""
    from glm_jupyter.context.summaries import summarize

    df = frame()
    summarize(df, "sales", budget=BUDGET)  # warm up: imports, first-touch of the pages

    def timed(fn: Any) -> float:
        return median_time(fn, repeat)

    ours = timed(lambda: summarize(df, "sales", budget=BUDGET))
    head = timed(lambda: df.head(10).to_string())
    dtypes = timed(lambda: str(df.dtypes))
    summary = summarize(df, "sales", budget=BUDGET)
    again = summarize(df, "sales", budget=BUDGET)
    withheld = summarize(df, "sales", budget=BUDGET, send_rows=False)

    frame_bytes = int(df.memory_usage(deep=False).sum())
    gc.collect()
    tracemalloc.start()
    summarize(df, "sales", budget=BUDGET)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    mem_ratio = peak / frame_bytes

    pdf = polars_frame(df)
    summarize(pdf, "sales", budget=BUDGET)
    polars_time = timed(lambda: summarize(pdf, "sales", budget=BUDGET))
    polars_tokens = summarize(pdf, "sales", budget=BUDGET).tokens
    shape = f"{ROWS:,} rows × {df.shape[1]} columns"
    return [
        result(
            "df_summary_ms",
            ours * 1000,
            "ms",
            "<= 300",
            ours * 1000 <= 300,
            f"df.head(10).to_string() {head * 1000:.1f} ms, str(df.dtypes) {dtypes * 1000:.2f} ms",
            frame=shape,
            runs=repeat,
            statistic="median",
            deterministic=summary.text == again.text,
            notes=list(summary.notes),
        ),
        result(
            "df_summary_ms_polars",
            polars_time * 1000,
            "ms",
            "<= 300",
            polars_time * 1000 <= 300,
            f"pandas summary of the same data {ours * 1000:.1f} ms",
            frame=shape,
            runs=repeat,
            statistic="median",
            tokens=polars_tokens,
        ),
        result(
            "df_summary_tokens",
            summary.tokens,
            "tokens",
            f"<= {BUDGET}",
            summary.tokens <= BUDGET and withheld.tokens <= BUDGET,
            f"budget {BUDGET:,}; send_rows=False: {withheld.tokens:,} tokens",
            brief=summary.brief,
        ),
        result(
            "df_summary_mem_ratio",
            mem_ratio,
            "x",
            "<= 0.05",
            mem_ratio <= 0.05,
            f"frame memory_usage(deep=False).sum() {frame_bytes:,} bytes",
            peak_traced_bytes=peak,
        ),
    ]
