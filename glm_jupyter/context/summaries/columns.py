"""What is known about one column, and how it reads in a table row (full or short, with or
without cell values)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .base import class_name, num, percent, plural, quoted, top_counts, value_text
from .static import safe_type


@dataclass(frozen=True)
class Numbers:
    """count is not here: it is rows - nulls of the column."""

    mean: float
    std: float
    quantiles: tuple[float, float, float, float, float]  # min, 25%, 50%, 75%, max
    integer: bool


@dataclass
class ColumnStats:
    """What is known about one column; `seen` non-null values were looked at for statistics."""

    name: object
    dtype: str
    rows: int
    nulls: int
    nulls_estimated: bool = False
    nan: int = 0  # NaN apart from nulls (polars), left out of `count`
    count_estimated: bool = False
    kind: str = "values"  # numeric | bool | datetime | values | text
    sampled: bool = False
    seen: int = 0
    numbers: Numbers | None = None
    trues: int = 0
    top: list[tuple[object, int]] = field(default_factory=list)
    distinct: int | None = None
    categories: int | None = None
    lengths: tuple[int, float, int] | None = None
    span: tuple[object, object] | None = None
    extra: str = ""


def fill_values(c: ColumnStats, values: list[object]) -> None:
    """Distinct and top values, the mix of types and string lengths of non-null `values`."""
    types = Counter(map(type, values))
    opaque = not all(map(safe_type, types))  # the person's objects: never hashed or compared
    if len(types) > 1 or opaque:
        mix = sorted(((class_name(t), n) for t, n in types.items()), key=lambda tn: (-tn[1], tn[0]))
        shown = ", ".join(f"{name} {percent(n, len(values))}" for name, n in mix[:3])
        c.extra = f"types {shown}{', …' if len(mix) > 3 else ''}"
    lengths = None
    if values and set(types) == {str}:
        sizes = list(map(len, values))  # type: ignore[arg-type]
        lengths = (min(sizes), sum(sizes) / len(sizes), max(sizes))
    top, distinct = top_counts(values, 5)
    fill_counted(c, len(values), top, None if opaque else distinct, lengths)


def fill_counted(
    c: ColumnStats,
    seen: int,
    top: list[tuple[object, int]],
    distinct: int | None,
    lengths: tuple[int, float, int] | None,
) -> None:
    """Set what was counted of a column of values (strings or other) and classify it."""
    c.seen, c.top, c.distinct, c.lengths = seen, top, distinct, lengths
    classify(c, lengths[1] if lengths else 0.0)


def classify(c: ColumnStats, mean_length: float) -> None:
    """Free text (many distinct or long values) or a column of categories."""
    distinct = c.distinct or 0
    c.kind = "text" if distinct > 20 and (distinct > c.seen / 2 or mean_length > 40) else "values"


def describe(c: ColumnStats, send_rows: bool) -> tuple[str, str, str]:
    """(nulls, full summary, short summary) of one column."""
    est = "≈" if c.nulls_estimated else ""
    nulls = f"{est}{c.nulls:,}" + (f" ({percent(c.nulls, c.rows)})" if c.nulls else "")
    est = "≈" if c.nulls_estimated or c.count_estimated else ""
    present = c.rows - c.nulls - c.nan
    if c.rows == 0:
        return nulls, "no rows", "no rows"
    if c.kind == "failed":
        return nulls, c.extra, c.extra
    if c.seen == 0:
        empty = "all NaN or null" if c.nan else "all null"
        return nulls, empty, empty
    full: list[str] = [c.extra] if c.extra else []
    short = list(full)
    if c.kind == "numeric" and c.numbers is not None:
        n = c.numbers
        if send_rows:
            lo, hi = _stat(n.quantiles[0], n.integer), _stat(n.quantiles[4], n.integer)
            q1, q2, q3 = (num(x) for x in n.quantiles[1:4])
            mean, std = f"mean {num(n.mean)}", f"std {num(n.std)}"
            full += [f"count {est}{present:,}", mean, std, f"min {lo}", f"25% {q1}"]
            full += [f"50% {q2}", f"75% {q3}", f"max {hi}"]
            short += [mean, std, f"min {lo}", f"max {hi}"]
        else:
            full += [f"count {est}{present:,}", f"mean {num(n.mean, 3)}", f"std {num(n.std, 3)}"]
            short += [f"mean {num(n.mean, 3)}"]
    elif c.kind == "bool":
        if not send_rows:  # shares of True/False are its top values: only the mean
            full.append(f"count {est}{present:,}, mean {num(c.trues / c.seen, 3)}")
        elif c.sampled:
            full.append(f"true ≈{percent(c.trues, c.seen)}")
        else:
            full.append(f"true {c.trues:,}, false {c.seen - c.trues:,}")
        short = full
    elif c.kind == "datetime" and send_rows and c.span is not None:
        full.append(f"min {value_text(c.span[0])}, max {value_text(c.span[1])}")
        short = full
    else:
        if c.categories is not None:
            full.append(plural(c.categories, "category", "categories"))
        distinct = _distinct(c)
        if distinct and c.categories is None:
            full.append(distinct)
        if c.lengths is not None:
            lo_len, mean_len, hi_len = c.lengths
            spread = f"{lo_len:,}–{hi_len:,}, mean {num(mean_len, 3)}" if hi_len > lo_len else ""
            full.append(f"length {spread or f'{lo_len:,}'}")
        short = list(full)
        if send_rows and c.top and c.kind != "datetime":
            full.append(_top(c, 3 if c.kind == "text" else 5))
            if c.kind != "text":
                short.append(_top(c, 2))
    return nulls, ", ".join(full), ", ".join(short)


def _stat(x: float, integer: bool) -> str:
    if integer and float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return num(x)


def _distinct(c: ColumnStats) -> str:
    if c.distinct is None:
        return ""
    if not c.sampled:
        return f"{c.distinct:,} distinct"
    if c.distinct > c.seen / 2:
        return f"{c.distinct:,} distinct in {c.seen:,} sampled"
    return f"≈{c.distinct:,} distinct"


def _top(c: ColumnStats, k: int) -> str:
    top = c.top[:k]
    rare = top[0][1] == 1 or (c.sampled and top[0][1] < c.seen / 1000)
    if rare and len(c.top) > 1:
        return "e.g. " + ", ".join(quoted(v) for v, _ in top)
    if c.sampled:
        return "top " + ", ".join(f"{quoted(v)} ≈{percent(n, c.seen)}" for v, n in top)
    return "top " + ", ".join(f"{quoted(v)} {n:,}" for v, n in top)
