"""numpy arrays (plain, structured, 0-d) and numpy scalars; numpy helpers for the frame summaries.

Imported only for objects that need numpy, so `import glm_jupyter` stays cheap.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tokens import estimate_tokens
from .base import (
    SAMPLE_ROWS,
    WITHHELD,
    Summary,
    compose,
    count,
    cut_note,
    finish,
    heading,
    size,
    type_name,
    value_text,
)
from .columns import ColumnStats, Numbers, describe, fill_values
from .tables import FrameDraft, Grid, fit_frame

_CHUNK = 1 << 20  # elements per step when counting NaN in a big array: small temporaries


def sample_positions(n: int, k: int, seed: int) -> Any:
    """`min(k, n)` distinct positions out of `range(n)`, sorted, drawn with a seeded generator.

    Seeded `integers`, then the distinct ones; the few positions lost to repeats are drawn
    again and any surplus is dropped at random, so the sample stays uniform and never needs an
    array of all `n` positions.
    """
    rng = np.random.default_rng(seed)
    if k >= n:
        return np.arange(n, dtype=np.int64)
    if 2 * k > n:  # dense: repeats would be many; n is at most 2k here
        return np.sort(rng.permutation(n)[:k])
    taken = distinct_sorted(rng.integers(0, n, size=k, dtype=np.int64))
    while len(taken) < k:
        more = rng.integers(0, n, size=(k - len(taken)) * 2 + 64, dtype=np.int64)
        taken = distinct_sorted(np.concatenate([taken, more]))
    if len(taken) > k:
        taken = np.delete(taken, rng.choice(len(taken), size=len(taken) - k, replace=False))
    return taken


def distinct_sorted(values: Any) -> Any:
    """`np.unique(values)` for a 1-D array, by sorting: numpy 2.4's `unique` hashes first and is
    tens of times slower on 100,000 integers."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def count_missing(values: Any) -> int:
    """NaN (floats, complex) or NaT (datetimes) in an array, counted in chunks along axis 0 into
    one small reused buffer, so no temporary as big as the array is made."""
    kind = values.dtype.kind
    if kind not in "fcMm" or values.size == 0:
        return 0
    test = np.isnat if kind in "Mm" else np.isnan
    if values.ndim == 0:
        return int(test(values))
    step = max(1, _CHUNK // max(1, values.size // max(1, values.shape[0])))
    buffer = np.empty((min(step, values.shape[0]), *values.shape[1:]), dtype=bool)
    total = 0
    for i in range(0, values.shape[0], step):
        chunk = values[i : i + step]
        out = buffer[: len(chunk)]
        test(chunk, out=out)
        total += int(np.count_nonzero(out))
    return total


def numbers(values: Any, integer: bool) -> Numbers | None:
    """Mean, std and quantiles (linear interpolation, as `np.quantile`) of a 1-D array without
    NaN; exact min and max for integers. One sort serves every quantile."""
    if values.size == 0:
        return None
    ordered = np.sort(values.astype(np.float64, copy=False))
    last = len(ordered) - 1

    def at(q: float) -> float:
        low = int(q * last)
        high = min(low + 1, last)
        return float(ordered[low] + (ordered[high] - ordered[low]) * (q * last - low))

    quantiles = (float(ordered[0]), at(0.25), at(0.5), at(0.75), float(ordered[-1]))
    if integer:
        quantiles = (float(values.min()), *quantiles[1:4], float(values.max()))
    std = float(np.std(ordered, ddof=1)) if values.size > 1 else float("nan")
    return Numbers(float(np.mean(ordered)), std, quantiles, integer)


def column_stats(name: object, values: Any, sample: Any, sampled: bool) -> ColumnStats:
    """Statistics of an array's elements: NaN/NaT over all of `values` (any shape), the rest
    from `sample` (1-D)."""
    dt = values.dtype
    c = ColumnStats(name=name, dtype=str(dt), rows=int(values.size), nulls=0, sampled=sampled)
    if dt.kind == "b":
        c.kind, c.seen, c.trues = "bool", len(sample), int(np.count_nonzero(sample))
    elif dt.kind in "iuf":
        c.nulls = count_missing(values)
        kept = sample[~np.isnan(sample)] if dt.kind == "f" else sample
        c.kind, c.seen, c.numbers = "numeric", len(kept), numbers(kept, dt.kind in "iu")
    elif dt.kind in "Mm":
        c.nulls = count_missing(values)
        kept = sample[~np.isnat(sample)]
        c.kind, c.seen = "datetime", len(kept)
        if len(kept):
            c.span, c.distinct = (kept.min(), kept.max()), len(distinct_sorted(kept))
    else:
        items = sample.tolist()
        if dt.kind == "O":
            present = [v for v in items if not _missing(v)]
            c.nulls = len(items) - len(present)
            if sampled:
                c.nulls = round(c.nulls / max(1, len(items)) * values.size)
                c.nulls_estimated = True
            items = present
        fill_values(c, items)
    return c


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def summarize_array(obj: Any, name: str, budget: int, send_rows: bool, seed: int) -> Summary:
    """Summary of a numpy array or numpy scalar."""
    if isinstance(obj, np.generic):
        return _scalar(obj, name, budget, send_rows)
    arr: Any = obj
    kind = "numpy.ndarray" if type(obj) is np.ndarray else type_name(obj)
    shape = "×".join(count(n) for n in arr.shape) or "0-d"
    title = f"numpy {type(obj).__name__}, shape {shape}, {arr.dtype}, {size(arr.nbytes)}"
    brief = f"ndarray {shape} {'structured' if arr.dtype.names else arr.dtype}"
    brief += "" if send_rows else ", values withheld"
    if arr.dtype.names and arr.ndim:
        return _structured(arr, name, kind, title, brief, budget, send_rows, seed)
    header = heading(name, title)
    notes: list[str] = []
    if arr.ndim == 0:
        value = value_text(arr[()], 200) if send_rows else "withheld"
        notes = [] if send_rows else ["Cell values withheld (send_rows=False)"]
        return finish(
            name=name, kind=kind, header=header, notes=notes, body=[f"Value: {value}"],
            brief=brief, budget=budget,
        )  # fmt: skip
    sampled = arr.size > SAMPLE_ROWS
    flat = _sample(arr, seed) if sampled else arr.reshape(-1)
    if sampled:
        notes.append(
            f"Large array: statistics from a {SAMPLE_ROWS:,}-element random sample (seed {seed})"
        )
        brief += f", from a {SAMPLE_ROWS:,}-element sample"
    if not send_rows:
        notes.append("Cell values withheld (send_rows=False): no values, min/max or quantiles")
    stats = column_stats(None, arr, flat, sampled)
    nulls, full, short = describe(stats, send_rows)
    missing = _missing_label(arr.dtype.kind, bool(stats.nulls), nulls)
    lines = {cut: [f"Values: {missing}{text}"] for cut, text in ((False, full), (True, short))}

    def attempt(edge: int, short: bool, cuts: list[str]) -> Summary | None:
        body = [*lines[short], *(_values(arr, edge) if edge else [])]
        all_notes = notes + ([cut_note(budget, cuts)] if cuts else [])
        if estimate_tokens(compose(header, all_notes, body)) > budget:
            return None
        return finish(
            name=name, kind=kind, header=header, notes=all_notes, body=body,
            brief=brief, budget=budget,
        )  # fmt: skip

    for edge in (3, 2, 1) if send_rows and arr.size else ():
        found = attempt(edge, False, [] if edge == 3 else [f"fewer values shown ({edge} per edge)"])
        if found:
            return found
    dropped = ["values dropped"] if send_rows and arr.size else []
    for cut in (False, True):
        found = attempt(0, cut, dropped + (["shorter statistics"] if cut else []))
        if found:
            return found
    return finish(
        name=name, kind=kind, header=header, notes=notes, body=lines[True],
        brief=brief, budget=budget,
    )  # fmt: skip


def _sample(arr: Any, seed: int) -> Any:
    """A seeded random sample of the array's elements, flattened."""
    return arr[np.unravel_index(sample_positions(arr.size, SAMPLE_ROWS, seed), arr.shape)]


def _missing_label(kind: str, any_null: bool, nulls: str) -> str:
    """How the array's missing values are counted, by dtype kind."""
    if kind in "fc":
        return f"NaN {nulls}; "
    if kind in "Mm":
        return f"NaT {nulls}; "
    return f"None/NaN {nulls}; " if kind == "O" and any_null else ""


def _values(arr: Any, edge: int) -> list[str]:
    if arr.dtype.kind in "OUS":
        formatter: Any = {"all": lambda v: value_text(v, 40)}
    else:
        formatter = None
    # Every print option set here, so the user's `np.set_printoptions` cannot change the text.
    with np.printoptions(
        precision=4,
        threshold=4 * edge,
        edgeitems=edge,
        linewidth=100,
        suppress=False,
        nanstr="nan",
        infstr="inf",
        sign="-",
        floatmode="maxprec",
        formatter=formatter,
        legacy=False,
    ):
        text = np.array2string(arr, separator=", ")
    fence = "```"
    while fence in text:
        fence += "`"
    return [fence, *text.splitlines(), fence]


def _structured(
    arr: Any, name: str, kind: str, title: str, brief: str, budget: int, send_rows: bool, seed: int
) -> Summary:
    flat = arr.reshape(-1)
    n = len(flat)
    sampled = n > SAMPLE_ROWS
    pos = sample_positions(n, SAMPLE_ROWS, seed)
    sample = flat[pos] if sampled else flat
    notes: list[str] = []
    if sampled:
        notes.append(
            f"Large array: statistics from a {SAMPLE_ROWS:,}-row random sample (seed {seed})"
        )
    if not send_rows:
        notes.append(WITHHELD)
    fields = list(arr.dtype.names)
    columns = [column_stats(f, flat[f], sample[f], sampled) for f in fields]
    grid = None
    if send_rows and n:
        rng = np.random.default_rng([seed, 1])
        head = list(range(min(5, n)))
        rest = pos[pos >= len(head)] if sampled else np.arange(len(head), n)
        rand = np.sort(rest[rng.choice(len(rest), size=min(5, len(rest)), replace=False)])
        rows = [(str(i), [flat[i][f] for f in fields]) for i in [*head, *rand.tolist()]]
        grid = Grid(corner="#", columns=list(fields), rows=rows, head=len(head))
    draft = FrameDraft(name, kind, title, brief, notes, [], columns, grid, send_rows)
    return fit_frame(draft, budget)


def _scalar(obj: Any, name: str, budget: int, send_rows: bool) -> Summary:
    kind = type_name(obj)
    header = heading(name, kind)
    if send_rows:
        body = [f"Value: {value_text(obj, 200)}"]
    else:
        body = [f"{obj.dtype}, {size(obj.nbytes)}, value withheld"]
    brief = kind if send_rows else f"{kind}, value withheld"
    return finish(
        name=name, kind=kind, header=header, notes=[], body=body, brief=brief, budget=budget
    )
