"""pandas DataFrames and Series: exact where cheap, the rest from a seeded sample of rows.

A frame of more than `SAMPLE_ROWS` rows is never copied, described or scanned as a whole: the
sampled rows are taken once, null counts of numeric, boolean, datetime and categorical columns
come from one column's mask at a time, and the memory of Python-object columns is extrapolated
from the sample.
"""

from __future__ import annotations

import dataclasses
import importlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .arrays import count_missing, numbers, sample_positions
from .base import SAMPLE_ROWS, Summary, label, plural, sampling_notes, size, type_name
from .columns import ColumnStats, fill_counted, fill_values
from .static import safe_type
from .tables import FrameDraft, Grid, fit_frame

pd: Any = importlib.import_module("pandas")
types: Any = pd.api.types


def summarize_pandas(obj: Any, name: str, budget: int, send_rows: bool, seed: int) -> Summary:
    """Summary of a pandas DataFrame or Series."""
    series = isinstance(obj, pd.Series)
    df = obj.to_frame(name=name if obj.name is None else obj.name) if series else obj
    rows, width = df.shape
    sampled = rows > SAMPLE_ROWS
    pos = sample_positions(rows, SAMPLE_ROWS, seed)
    work = _plain_labels(df)
    sample, columns = _columns(work, pos, sampled, send_rows)
    for column, label_ in zip(columns, df.columns, strict=True):
        column.name = label_
    memory, approx = _memory(work, sample, sampled)
    family = "Series" if series else "DataFrame"
    exact = type(obj) in (pd.DataFrame, pd.Series)
    kind = f"pandas.{family}" if exact else type_name(obj)
    if series:
        named = "" if obj.name is None else f" `{label(obj.name)}`"
        shape = f"{plural(rows, 'row')}, {obj.dtype}"
        brief = f"Series {rows:,}"
    else:
        named = ""
        shape = f"{plural(rows, 'row')} × {plural(width, 'column')}"
        brief = f"DataFrame {rows:,}×{width:,}"
    title = f"pandas {family}{named}, {shape}, {'≈' if approx else ''}{size(memory)}"
    notes, brief = sampling_notes(brief, sampled=sampled, send_rows=send_rows, seed=seed)
    grid = _grid(work, pos, seed) if send_rows and rows and width else None
    if grid is not None and work is not df:
        grid = dataclasses.replace(grid, columns=list(df.columns))
    facts = _index(df.index, send_rows)
    draft = FrameDraft(name, kind, title, brief, notes, facts, columns, grid, send_rows)
    return fit_frame(draft, budget)


def _plain_labels(df: Any) -> Any:
    """`df`, or a shallow copy labelled 0, 1, 2... when its index or columns hold the person's
    objects: pandas looks attribute names up among the labels, which hashes and compares them."""
    if all(_known(axis) for axis in (df.index, df.columns)):
        return df
    work = df.copy(deep=False)
    work.index, work.columns = pd.RangeIndex(df.shape[0]), pd.RangeIndex(df.shape[1])
    return work


def _known(axis: Any) -> bool:
    if isinstance(axis, pd.MultiIndex):
        return all(_known(level) for level in axis.levels)
    if not _python_objects(axis.dtype):
        return True
    return all(map(safe_type, set(map(type, np.asarray(axis.to_numpy(dtype=object)).tolist()))))


def _columns(df: Any, pos: Any, sampled: bool, send_rows: bool) -> tuple[Any, list[ColumnStats]]:
    """The sample and the statistics of every column."""
    # Exact NaN/NaT counts of a big frame read every value of its float and datetime columns:
    # numpy does that without the GIL, so a second thread counts while this one works on the
    # sample. Each column is counted in small chunks, so no frame-sized temporary appears.
    scan: dict[int, Any] = {}
    if sampled:
        for i in range(df.shape[1]):
            dtype = df.iloc[:, i].dtype
            if isinstance(dtype, np.dtype) and dtype.kind in "fcMm":
                scan[i] = df.iloc[:, i].to_numpy()  # a view
    jobs = iter(list(scan.items()))  # shared by both threads; next() is atomic
    missing: dict[int, int] = {}

    def count() -> None:
        for i, values in jobs:
            missing[i] = count_missing(values)

    pool = ThreadPoolExecutor(max_workers=1) if scan else None
    try:
        counting = pool.submit(count) if pool else None
        with np.errstate(all="ignore"):
            sample = df.take(pos) if sampled else df
            columns = [
                _column(
                    df.iloc[:, i], sample.iloc[:, i], df.columns[i], sampled, i in scan, send_rows
                )
                for i in range(df.shape[1])
            ]
            count()  # help with what is left
        if counting:
            counting.result()
    finally:
        if pool:
            pool.shutdown()
    for i, nulls in missing.items():
        columns[i].nulls = nulls
    return sample, columns


def _python_objects(dtype: Any) -> bool:
    # Columns whose cells are Python objects: counting or sizing them means visiting each one.
    return (isinstance(dtype, np.dtype) and dtype.kind == "O") or (
        isinstance(dtype, pd.StringDtype) and getattr(dtype, "storage", "") == "python"
    )


def _column(
    col: Any, scol: Any, name: object, sampled: bool, scanned: bool, send_rows: bool
) -> ColumnStats:
    c = ColumnStats(name=name, dtype=str(col.dtype), rows=len(col), nulls=0, sampled=sampled)
    try:
        # Python-object columns of a big frame: nulls estimated from the sample, in `_fill`.
        c.nulls_estimated = sampled and _python_objects(col.dtype)
        if not scanned and not c.nulls_estimated:
            c.nulls = _nulls(col, sampled)
        _fill(c, scol, sampled, send_rows)
    except Exception as exc:  # an exotic dtype: say so rather than lose the whole summary
        c.kind, c.extra = "failed", f"statistics failed: {type(exc).__name__}"
    return c


def _fill(c: ColumnStats, scol: Any, sampled: bool, send_rows: bool) -> None:
    dtype = scol.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = np.asarray(scol.cat.codes)
        present = codes[codes >= 0]
        counts = np.bincount(present, minlength=len(dtype.categories))
        order = np.argsort(-counts, kind="stable")[:5]  # ties in category order
        c.top = [(dtype.categories[i], int(counts[i])) for i in order if counts[i]]
        c.categories, c.seen = len(dtype.categories), len(present)
        c.distinct = int(np.count_nonzero(counts))
    elif types.is_bool_dtype(dtype):
        values = scol.dropna().to_numpy(dtype=bool)
        c.kind, c.seen, c.trues = "bool", len(values), int(np.count_nonzero(values))
    elif (
        types.is_datetime64_any_dtype(dtype)
        or types.is_timedelta64_dtype(dtype)
        or isinstance(dtype, pd.PeriodDtype)
    ):
        kept = scol.dropna()
        c.kind, c.seen = "datetime", len(kept)
        if len(kept):
            c.span = (kept.min(), kept.max())
            c.distinct = None if send_rows else int(kept.nunique())  # shown only without a span
    elif types.is_numeric_dtype(dtype) and not types.is_complex_dtype(dtype):
        if isinstance(dtype, np.dtype):
            values = scol.to_numpy()
            values = values[~np.isnan(values)] if dtype.kind == "f" else values
        else:
            values = np.asarray(scol.dropna().to_numpy())
        integer = values.dtype.kind in "iu"
        if values.dtype.kind not in "iuf":
            values = values.astype(np.float64)
        c.kind, c.seen, c.numbers = "numeric", len(values), numbers(values, integer)
    elif isinstance(dtype, pd.StringDtype):
        _strings(c, _probe(np.asarray(scol.to_numpy(dtype=object)), sampled))
    else:
        missing = np.asarray(scol.isna())
        if c.nulls_estimated:
            c.nulls = round(int(np.count_nonzero(missing)) / len(scol) * c.rows)
        values = np.asarray(scol.to_numpy(dtype=object))[~missing]
        fill_values(c, _probe(values, sampled).tolist())


_PROBE = 10_000


def _probe(values: Any, sampled: bool) -> Any:
    """A big frame's mostly distinct column (ids, free text) is counted on 10,000 of its sampled
    values: counting all 100,000 costs far more and tells nothing more."""
    if not sampled or len(values) <= 2 * _PROBE:
        return values
    probe = values[:: len(values) // _PROBE]
    if not all(map(safe_type, set(map(type, probe.tolist())))):
        return values  # the person's objects are not hashed to count them
    try:
        distinct = len(set(probe.tolist()))
    except TypeError:
        return values
    return probe if distinct > len(probe) / 2 else values


def _strings(c: ColumnStats, values: Any) -> None:
    # Only strings and missing values: counted in C (missing ones get code -1); lengths are
    # measured once per distinct value.
    codes, uniques = pd.factorize(values)  # in order of first appearance
    present = codes[codes >= 0]
    if c.nulls_estimated:
        c.nulls = round((len(codes) - len(present)) / max(1, len(codes)) * c.rows)
    values, counts = present, np.bincount(present, minlength=len(uniques))
    order = np.argsort(-counts, kind="stable")[:5]  # ties in order of first appearance
    top = [(uniques[i], int(counts[i])) for i in order]
    sizes = np.fromiter(map(len, uniques), dtype=np.int64, count=len(uniques))
    lengths = None
    if len(sizes):
        lengths = (int(sizes.min()), float(sizes @ counts) / len(values), int(sizes.max()))
    fill_counted(c, len(values), top, len(uniques), lengths)


def _nulls(col: Any, sampled: bool) -> int:
    if not sampled:
        return int(col.isna().sum())
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "iub":
        return 0
    # One column's mask (1 byte a row) at a time; never the whole frame's.
    return int(np.count_nonzero(np.asarray(col.array.isna())))


def _memory(df: Any, sample: Any, sampled: bool) -> tuple[float, bool]:
    if _foreign_objects(sample):  # deep sizes would call their __sizeof__
        return float(df.memory_usage(index=True, deep=False).sum()), True
    if not sampled:
        return float(df.memory_usage(index=True, deep=True).sum()), False
    total, approx = 0.0, False
    parts = [(df.iloc[:, i], sample.iloc[:, i]) for i in range(df.shape[1])]
    for col, scol in [*parts, (df.index, sample.index)]:
        if isinstance(col, pd.MultiIndex):  # levels and codes, leaving out the levels' objects
            total, approx = total + float(col.memory_usage(deep=False)), True
        elif _python_objects(col.dtype):
            every = scol[::100]  # 1,000 of the sampled rows, spread over the frame
            share = float(_usage(every, deep=True)) / max(1, len(every))
            total, approx = total + share * len(col), True
        else:  # categories are few: their deep size is cheap
            total += float(_usage(col, deep=isinstance(col.dtype, pd.CategoricalDtype)))
    return total, approx


def _foreign_objects(sample: Any) -> bool:
    """Whether a Python-object column or the index of `sample` holds the person's objects."""
    parts = [sample.iloc[:, i] for i in range(sample.shape[1])] + [sample.index]
    for part in parts:
        if _python_objects(part.dtype):
            kinds = set(map(type, np.asarray(part.to_numpy(dtype=object)).tolist()))
            if not all(map(safe_type, kinds)):
                return True
    return False


def _usage(obj: Any, deep: bool) -> Any:
    if isinstance(obj, pd.Index):
        return obj.memory_usage(deep=deep)
    return obj.memory_usage(index=False, deep=deep)


def _grid(df: Any, pos: Any, seed: int) -> Grid:
    rng = np.random.default_rng([seed, 1])
    rows = df.shape[0]
    head = list(range(min(5, rows)))
    rest = pos[pos >= len(head)]
    picked = np.sort(rest[rng.choice(len(rest), size=min(5, len(rest)), replace=False)])
    at = np.asarray(head + picked.tolist(), dtype=np.int64)
    shown = df.take(at)
    values = [shown.iloc[:, i].tolist() for i in range(shown.shape[1])]
    default = _default_index(df.index)
    labels = [str(p) for p in at.tolist()] if default else [label(x) for x in shown.index]
    corner = "#" if default else _index_name(df.index)
    table = [[column[j] for column in values] for j in range(len(at))]
    return Grid(corner, list(df.columns), list(zip(labels, table, strict=True)), len(head))


def _default_index(index: Any) -> bool:
    return (
        isinstance(index, pd.RangeIndex)
        and index.start == 0
        and index.step == 1
        and index.name is None
    )


def _index_name(index: Any) -> str:
    names = [label(n) if n is not None else f"level {i}" for i, n in enumerate(index.names)]
    return " / ".join(names) if any(n is not None for n in index.names) else "index"


def _index(index: Any, send_rows: bool) -> list[str]:
    if _default_index(index):
        return []
    if isinstance(index, pd.MultiIndex):
        levels = ", ".join(
            f"`{label(n) if n is not None else f'level {i}'}` ({level.dtype})"
            for i, (n, level) in enumerate(zip(index.names, index.levels, strict=True))
        )
        text = f"Index: MultiIndex of {index.nlevels} levels: {levels}"
    else:
        named = f" `{label(index.name)}`" if index.name is not None else ""
        text = f"Index: {type(index).__name__}{named}, {index.dtype}"
    if send_rows and len(index):
        text += f", from {label(index[0])} to {label(index[-1])}"
    return [text]
