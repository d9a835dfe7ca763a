"""Fitting a tabular summary (column table, names, sample rows) into its token budget.

pandas, polars and numpy structured arrays all describe themselves as a `FrameDraft`; the
steps that make it fit are the same for all of them: fewer sample rows, no sample rows, shorter
column summaries, only the first columns in the table (the rest by name, or only counted),
shorter names, and as a last resort cutting the text off.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..tokens import estimate_tokens
from .base import (
    CELL_WIDTH,
    Summary,
    cell,
    clip,
    compose,
    cut_note,
    escape,
    finish,
    heading,
    italic,
    label,
    largest,
    plural,
)
from .columns import ColumnStats, describe

NARROW = 16  # characters of a name or value once long strings are truncated
GRID_STEPS = ((5, 5), (3, 3), (2, 2), (1, 1), (1, 0))  # head rows, random rows
_TABLE_HEAD = ("| column | dtype | nulls | summary |", "| --- | --- | --- | --- |")
_TABLE_HEAD_COST = estimate_tokens("\n".join(_TABLE_HEAD))


@dataclass
class Grid:
    """Sample rows: the first `head` rows are the object's first rows, the rest random."""

    corner: str
    columns: list[object]
    rows: list[tuple[str, list[object]]]  # row label (already Markdown), values
    head: int


@dataclass
class FrameDraft:
    """Everything a tabular summary can show, before fitting."""

    name: str
    kind: str
    title: str
    brief: str
    notes: list[str]
    facts: list[str]
    columns: list[ColumnStats]
    grid: Grid | None
    send_rows: bool


class _Layout:
    """Table rows, name items and sample rows at one width, with their token costs."""

    def __init__(self, d: FrameDraft, width: int) -> None:
        self.d, self.width = d, width
        described = [describe(c, d.send_rows) for c in d.columns]
        names = [label(c.name, width) for c in d.columns]
        self.rows: dict[bool, list[str]] = {
            short: [
                f"| {name} | {escape(clip(c.dtype, width))} | {nulls} | {text[short]} |"
                for name, c, (nulls, *text) in zip(names, d.columns, described, strict=True)
            ]
            for short in (False, True)
        }
        self.row_costs = {
            short: list(itertools.accumulate((estimate_tokens(r) for r in rows), initial=0))
            for short, rows in self.rows.items()
        }
        self.items = [f"`{name}`" for name in names]
        self.item_costs = list(
            itertools.accumulate((estimate_tokens(i) + 1 for i in self.items), initial=0)
        )
        self.same = self.rows[False] == self.rows[True]

    def table(self, k: int, short: bool) -> list[str]:
        if not self.d.columns:
            return ["No columns."]
        if k == 0:
            return []
        return [*_TABLE_HEAD, *self.rows[short][:k]]

    def table_cost(self, k: int, short: bool) -> int:
        if not self.d.columns:
            return estimate_tokens("No columns.")
        return 0 if k == 0 else _TABLE_HEAD_COST + self.row_costs[short][k]

    def _name_parts(self, k: int, m: int) -> tuple[str, str]:
        n = len(self.d.columns)
        what = f"Other columns ({n - k:,})" if k else f"Columns ({n:,})"
        rest = n - k - m
        if m == 0:
            return f"{what} not listed", self._dtypes(k)
        return f"{what}: ", (f", … {rest:,} more" if rest else "") + self._dtypes(k)

    def names(self, k: int, m: int) -> list[str]:
        if k >= len(self.d.columns):
            return []
        head, tail = self._name_parts(k, m)
        return [head + ", ".join(self.items[k : k + m]) + tail]

    def names_cost(self, k: int, m: int) -> int:
        if k >= len(self.d.columns):
            return 0
        # Exact: the joins fall on spaces and punctuation, which never merge into a token.
        head, tail = self._name_parts(k, m)
        items = self.item_costs[k + m] - self.item_costs[k] - (1 if m else 0)
        return estimate_tokens(head) + estimate_tokens(tail) + items

    def _dtypes(self, k: int) -> str:
        if k >= len(self.d.columns) or len(self.d.columns) - k < 2:
            return ""
        counts = Counter(c.dtype for c in self.d.columns[k:]).most_common()
        shown = ", ".join(f"{dtype} ×{n:,}" for dtype, n in counts[:5])
        return f" (dtypes: {shown}{', …' if len(counts) > 5 else ''})"

    def grid(self, head: int, rand: int) -> list[str]:
        g = self.d.grid
        if g is None or head + rand == 0:
            return []
        rows = g.rows[: min(head, g.head)] + g.rows[g.head : g.head + rand]
        if not rows:
            return []
        width = min(CELL_WIDTH, self.width)
        shown_rand = max(0, len(rows) - min(head, g.head))
        title = (
            f"Sample rows (first {min(head, g.head)}, then {shown_rand} at random):"
            if shown_rand
            else f"First {plural(len(rows), 'row')}:"
        )
        top = "| " + " | ".join([g.corner, *(label(c, width) for c in g.columns)]) + " |"
        rule = "|" + " --- |" * (len(g.columns) + 1)
        body = [
            "| " + " | ".join([clip(lab, width), *(cell(v, width) for v in values)]) + " |"
            for lab, values in rows
        ]
        return [title, top, rule, *body]


def fit_frame(d: FrameDraft, budget: int) -> Summary:
    """The draft as a Summary within `budget` tokens, degraded step by step."""
    header = heading(d.name, d.title)
    base_cost = estimate_tokens(compose(header, d.notes, d.facts))
    n = len(d.columns)

    def done(body: list[str], cuts: Sequence[str]) -> Summary:
        notes = d.notes + ([cut_note(budget, cuts)] if cuts else [])
        return finish(
            name=d.name,
            kind=d.kind,
            header=header,
            notes=notes,
            body=[*d.facts, *body],
            brief=d.brief,
            budget=budget,
        )

    def cost(cuts: Sequence[str], lines: int) -> int:
        return base_cost + (estimate_tokens(italic(cut_note(budget, cuts))) if cuts else 0) + lines

    wide = _Layout(d, 60)
    # 1. All columns in full, with as many sample rows as fit.
    has_grid = d.grid is not None and bool(d.grid.rows)
    for h, r in GRID_STEPS if has_grid else ((0, 0),):
        cuts = [] if (h, r) == GRID_STEPS[0] or not has_grid else [f"sample rows cut to {h + r}"]
        grid = wide.grid(h, r)
        lines = wide.table(n, False) + grid
        if cost(cuts, estimate_tokens("\n".join(lines))) <= budget:
            return done(lines, cuts)
    dropped = ["sample rows dropped"] if has_grid else []
    # 2. No sample rows; full then short column summaries.
    for short in (False, True):
        cuts = dropped + (["shorter column summaries"] if short and not wide.same else [])
        lines = wide.table(n, short)
        if cost(cuts, estimate_tokens("\n".join(lines))) <= budget:
            return done(lines, cuts)
    # 3. The first k columns in the table, the others by name (or only counted); then the same
    # with long names cut short.
    for layout in (wide, _Layout(d, NARROW)):
        cuts = dropped + ([] if wide.same else ["shorter column summaries"])
        if layout is not wide:
            cuts.append(f"long names cut to {NARROW} characters")
        found = _columns_by_name(layout, budget, cuts, cost)
        if found is not None:
            k, m, more = found
            return done(layout.table(k, True) + layout.names(k, m), cuts + more)
    # 4. Nothing fits: cut the text off (in `finish`).
    return done(wide.table(n, True), [*dropped, "shorter column summaries"])


def _columns_by_name(
    layout: _Layout, budget: int, cuts: list[str], cost: Callable[[Sequence[str], int], int]
) -> tuple[int, int, list[str]] | None:
    n = len(layout.d.columns)

    def spend(k: int, m: int) -> int:
        lines = layout.table_cost(k, True) + layout.names_cost(k, m)
        return cost(cuts + _more(k, m, n), lines)

    k = largest(lambda k: spend(k, n - k) <= budget, 0, n - 1)
    if k is not None:
        return k, n - k, _more(k, n - k, n)
    # Even the names do not all fit: the table takes at most half the budget, names the rest.
    k = largest(lambda k: spend(k, 0) <= budget // 2, 0, n - 1) or 0
    m = largest(lambda m: spend(k, m) <= budget, 0, n - k)
    if m is None:
        return None
    return k, m, _more(k, m, n)


def _more(k: int, m: int, n: int) -> list[str]:
    rest = n - k - m
    phrase = f"{m:,} of {n:,} columns listed by name only"
    if rest:
        phrase = f"{m:,} of {n:,} columns listed by name only, {rest:,} only counted"
    return [phrase] if m or rest else []
