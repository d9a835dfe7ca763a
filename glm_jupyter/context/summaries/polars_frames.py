"""polars DataFrames and Series: null counts and NaN counts exact (polars keeps them cheap), the
rest from a seeded sample of rows for frames of more than `SAMPLE_ROWS` rows."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from .arrays import numbers, sample_positions
from .base import SAMPLE_ROWS, Summary, label, plural, sampling_notes, size, type_name
from .columns import ColumnStats, classify, fill_values
from .tables import FrameDraft, Grid, fit_frame

pl: Any = importlib.import_module("polars")
_PROBE = 10_000


def summarize_polars(obj: Any, name: str, budget: int, send_rows: bool, seed: int) -> Summary:
    """Summary of a polars DataFrame or Series."""
    series = isinstance(obj, pl.Series)
    df = obj.to_frame(obj.name or name) if series else obj
    rows, width = df.height, df.width
    sampled = rows > SAMPLE_ROWS
    pos = sample_positions(rows, SAMPLE_ROWS, seed)
    sample = df[pos] if sampled else df
    with np.errstate(all="ignore"):
        columns = [_column(df.to_series(i), sample.to_series(i), sampled) for i in range(width)]
    family = "Series" if series else "DataFrame"
    exact = type(obj) in (pl.DataFrame, pl.Series)
    kind = f"polars.{family}" if exact else type_name(obj)
    if series:
        named = f" `{label(obj.name)}`" if obj.name else ""
        shape = f"{plural(rows, 'row')}, {_dtype(obj.dtype)}"
        brief = f"Series {rows:,}"
    else:
        named, shape = "", f"{plural(rows, 'row')} × {plural(width, 'column')}"
        brief = f"DataFrame {rows:,}×{width:,}"
    title = f"polars {family}{named}, {shape}, {size(df.estimated_size())}"
    notes, brief = sampling_notes(brief, sampled=sampled, send_rows=send_rows, seed=seed)
    grid = _grid(df, pos, seed) if send_rows and rows and width else None
    draft = FrameDraft(name, kind, title, brief, notes, [], columns, grid, send_rows)
    return fit_frame(draft, budget)


def _dtype(dtype: Any) -> str:
    # An Enum's dtype text lists its categories, which are cell values.
    if isinstance(dtype, pl.Enum):
        return f"Enum({len(dtype.categories)} categories)"
    if isinstance(dtype, pl.Datetime):
        zone = f", {dtype.time_zone}" if dtype.time_zone else ""
        return f"Datetime[{dtype.time_unit}{zone}]"
    return str(dtype)


def _column(s: Any, ss: Any, sampled: bool) -> ColumnStats:
    c = ColumnStats(
        name=s.name, dtype=_dtype(s.dtype), rows=len(s), nulls=s.null_count(), sampled=sampled
    )
    try:
        _fill(c, s, ss)
    except Exception as exc:  # an exotic dtype: say so rather than lose the whole summary
        c.kind, c.extra = "failed", f"statistics failed: {type(exc).__name__}"
    return c


def _fill(c: ColumnStats, s: Any, ss: Any) -> None:
    dtype = s.dtype
    kept = ss.drop_nulls()
    if dtype == pl.Boolean:
        c.kind, c.seen, c.trues = "bool", len(kept), int(kept.sum())
    elif dtype.is_float() or dtype.is_integer():
        if dtype.is_float():
            # NaN is a value in polars, not a null: counted like other statistics, from the
            # sample of a big frame (polars keeps null counts, not NaN counts).
            nan = int(kept.is_nan().sum())
            c.nan = round(nan / len(ss) * c.rows) if c.sampled else nan
            if c.nan:
                c.extra = f"NaN {'≈' if c.sampled else ''}{c.nan:,}"
                c.count_estimated = c.sampled
            kept = kept.filter(kept.is_not_nan())
        values = kept.to_numpy()
        c.kind, c.seen = "numeric", len(values)
        c.numbers = numbers(values, dtype.is_integer())
    elif dtype.is_temporal():
        c.kind, c.seen = "datetime", len(kept)
        if len(kept):
            c.span, c.distinct = (kept.min(), kept.max()), kept.n_unique()
    elif dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum)):
        text = kept.cast(pl.String).alias("value")
        if c.sampled and len(text) > 2 * _PROBE:
            # A mostly distinct column (ids, free text) is counted on 10,000 of its sampled
            # values: counting all 100,000 costs far more and tells nothing more.
            probe = text.gather_every(len(text) // _PROBE)
            if probe.n_unique() > len(probe) / 2:
                text = probe
        counts = text.value_counts(name="count").sort(["count", "value"], descending=[True, False])
        c.seen, c.distinct = len(text), len(counts)
        top = counts.head(5)
        c.top = list(zip(top["value"].to_list(), top["count"].to_list(), strict=True))
        if isinstance(dtype, pl.Enum):
            c.categories = len(dtype.categories)
        mean_length = 0.0
        if len(text):
            lengths = text.str.len_chars()
            mean_length = float(lengths.mean())
            c.lengths = (int(lengths.min()), mean_length, int(lengths.max()))
        classify(c, mean_length)
    else:  # decimals, binary, lists, structs, objects: as Python values
        fill_values(c, kept.to_list())


def _grid(df: Any, pos: Any, seed: int) -> Grid:
    rng = np.random.default_rng([seed, 1])
    head = list(range(min(5, df.height)))
    rest = pos[pos >= len(head)]
    picked = np.sort(rest[rng.choice(len(rest), size=min(5, len(rest)), replace=False)])
    at = head + picked.tolist()
    shown = df[np.asarray(at, dtype=np.int64)].rows()
    rows = [(str(p), list(values)) for p, values in zip(at, shown, strict=True)]
    return Grid("#", list(df.columns), rows, len(head))
