"""The `Summary` record, shared value formatting, and the last-resort cut to a token budget."""

from __future__ import annotations

import heapq
import math
import re
import reprlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..tokens import estimate_tokens
from .static import holds_objects, placeholder, readable, safe_type

SAMPLE_ROWS = 100_000  # statistics of bigger frames and arrays come from this many random rows
CELL_WIDTH = 40  # characters of one value in a sample table
TOP_WIDTH = 24  # characters of one value in a "top values" list
WITHHELD = "Cell values withheld (send_rows=False): no rows, top values, min/max or quantiles"


@dataclass(frozen=True)
class Summary:
    """A Markdown description of one kernel object, sized to a token budget."""

    name: str
    kind: str
    text: str
    tokens: int
    notes: tuple[str, ...]
    brief: str


# ---------------------------------------------------------------------------------- formatting


def count(n: int) -> str:
    """A count with thousands separators."""
    return f"{n:,}"


def plural(n: int, word: str, words: str | None = None) -> str:
    """`1 row`, `2 rows`."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def size(nbytes: float) -> str:
    """A human size: `512 B`, `7.8 KB`, `1.6 GB`."""
    value = float(nbytes)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            if unit == "B":
                return f"{value:.0f} B"
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
        value /= 1024
    raise AssertionError  # pragma: no cover


def num(x: float, digits: int = 4) -> str:
    """`x` rounded to `digits` significant digits, fixed-point when that adds no fake zeros."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    rounded = round(x, digits - 1 - mag)
    if rounded != 0:
        mag = math.floor(math.log10(abs(rounded)))
    if -4 <= mag < digits:
        text = f"{rounded:.{max(0, digits - 1 - mag)}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def percent(part: float, whole: float) -> str:
    """`12.5%`, `<0.1%`."""
    if whole <= 0:
        return "0%"
    share = 100 * part / whole
    if 0 < share < 0.1:
        return "<0.1%"
    return f"{share:.1f}%".replace(".0%", "%")


def clip(text: str, width: int) -> str:
    """`text` cut to `width` characters, ending in `…` when cut."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


_ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")  # memory addresses differ between runs
_MIDNIGHT = re.compile(r"[ T]00:00:00(\.0+)?$")
_LINEBREAK = re.compile(r"\r\n|[\r\n\u2028\u2029]")


def repr_key(value: object) -> str:
    """A sort key that orders any values the same way in every process: their repr (the
    placeholder for objects whose repr would run the person's code)."""
    if not readable(value):
        return placeholder(value)
    try:
        return repr(value)
    except Exception:
        return type_name(value)


class _Bounded(reprlib.Repr):
    """reprlib, with set items ordered by repr: its own order falls back to hash order (which
    differs between processes) for items that do not compare, like `{1, "a"}`."""

    def repr1(self, x: Any, level: int) -> str:
        # Items of the person's classes (and containers of them) are never asked for a repr.
        if not safe_type(type(x)):
            return placeholder(x)
        if holds_objects(x):
            return f"<{type_name(x)} of Python objects>"
        return super().repr1(x, level)

    def repr_set(self, x: Any, level: int) -> str:
        return self._items(x, level, "{", "}") if x else "set()"

    def repr_frozenset(self, x: Any, level: int) -> str:
        return self._items(x, level, "frozenset({", "})") if x else "frozenset()"

    def _items(self, x: Any, level: int, left: str, right: str) -> str:
        if level <= 0:
            return left + "..." + right
        first = heapq.nsmallest(self.maxset, x, key=repr_key)
        pieces = [self.repr1(v, level - 1) for v in first]
        return left + ", ".join(pieces + (["..."] if len(x) > self.maxset else [])) + right


_BOUNDED = (str, bytes, list, tuple, set, frozenset, dict)
_REPR = _Bounded()  # bounded reprs of containers
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxtuple = 2, 4, 6, 6
_REPR.maxset, _REPR.maxfrozenset, _REPR.maxdeque, _REPR.maxarray = 6, 6, 6, 6
_REPR.maxstring, _REPR.maxlong, _REPR.maxother = 80, 40, 80


def class_name(cls: type) -> str:
    """Qualified name of a class, without the `builtins.` prefix."""
    module = getattr(cls, "__module__", None) or ""
    qualname = getattr(cls, "__qualname__", None) or cls.__name__
    return qualname if module == "builtins" else f"{module}.{qualname}"


class Shown(str):
    """Text standing in for a value (the repr of an unhashable one), shown as it is."""

    __slots__ = ()


def type_name(obj: object) -> str:
    """Qualified name of `obj`'s type, without the `builtins.` prefix."""
    return class_name(type(obj))


def safe_repr(obj: object, width: int = 200) -> str:
    """`repr(obj)` bounded in size, without memory addresses; never raises.

    Built-in containers and strings get a bounded repr (sets sorted where their items allow),
    so a huge list costs no more than a small one. Objects whose repr would run the person's
    code are shown as `<module.Class object>`.
    """
    if not safe_type(type(obj)):
        return placeholder(obj)
    if type(obj) not in _BOUNDED and holds_objects(obj):
        return f"<{type_name(obj)} of Python objects>"
    try:
        text = _REPR.repr(obj) if type(obj) in _BOUNDED else repr(obj)
    except Exception as exc:
        return f"repr failed: {type(exc).__name__}"
    return clip(_ADDRESS.sub("0x…", text), width)


def value_text(value: object, width: int = CELL_WIDTH) -> str:
    """One value as short plain text: numbers rounded, dates without a midnight time."""
    if not safe_type(type(value)):
        return clip(placeholder(value), width)
    if type(value).__module__ == "numpy":
        # numpy scalars: datetimes by their ISO text (`.item()` may give nanoseconds as an int)
        kind = getattr(getattr(value, "dtype", None), "kind", "")
        value = str(value) if kind in ("M", "m") else getattr(value, "item", lambda: value)()
    if value is None or isinstance(value, (str, bool)):
        text = str(value)
    elif type(value).__module__.split(".")[0] == "pandas":  # Timestamp, Period, Interval, NA
        text = _MIDNIGHT.sub("", safe_repr_str(value))
    elif isinstance(value, float):
        text = num(value, 6)
    elif isinstance(value, int):
        text = str(value) if value.bit_length() < 128 else safe_repr(value, width)
    elif hasattr(value, "isoformat") and not isinstance(value, type):
        text = _MIDNIGHT.sub("", safe_repr_str(value))
    else:
        text = safe_repr(value, width + 1)
    return clip(text, width)


def safe_repr_str(value: object) -> str:
    """`str(value)`, or its bounded repr when `str` fails."""
    try:
        return str(value)
    except Exception:
        return safe_repr(value)


def cell(value: object, width: int = CELL_WIDTH) -> str:
    """A value for a Markdown table cell: one line, pipes escaped, at most `width` characters."""
    return escape(value_text(value, width))


def quoted(value: object, width: int = TOP_WIDTH) -> str:
    """A value in a list of top values: strings quoted (so spaces show), others as in cells."""
    if type(value) is str:  # not Shown, nor a subclass whose own methods would run
        return escape(repr(clip(value, width)))
    return cell(value, width)


def escape(text: str) -> str:
    """Text safe inside a Markdown table cell or code span."""
    return _LINEBREAK.sub("↵", text).replace("\t", " ").replace("|", "\\|")


def label(name: object, width: int = 60) -> str:
    """A column or index name: tuples (MultiIndex) joined with ` / `."""
    if type(name) is tuple:
        text = " / ".join(value_text(part, width) for part in name)
    else:
        text = value_text(name, width)
    return escape(clip(text, width)).replace("`", "'")


def top_counts(values: Iterable[Any], k: int) -> tuple[list[tuple[Any, int]], int]:
    """The `k` most frequent values with their counts, ties in order of first appearance, and
    the number of distinct values. Unhashable values are counted by their repr, and objects
    of the person's classes by their type (their `__hash__` and `__eq__` are not called)."""
    items = list(values)
    if not all(safe_type(t) for t in set(map(type, items))):
        items = [v if safe_type(type(v)) else Shown(placeholder(v)) for v in items]
    try:
        counts = Counter(items)
    except TypeError:
        counts = Counter(Shown(safe_repr(v)) for v in items)
    return counts.most_common(k), len(counts)  # ties keep the order of first appearance


# --------------------------------------------------------------------------------- composing


def heading(name: str, title: str) -> str:
    """The first line: `### `name` — title`."""
    shown = name.replace("`", "'").replace("\n", " ")
    return f"### `{shown}` — {title}"


def italic(note: str) -> str:
    """A note line."""
    return f"*{note}*"


def compose(header: str, notes: Sequence[str], body: Sequence[str]) -> str:
    """Header line, note lines, body lines."""
    return "\n".join([header, *(italic(n) for n in notes), *body])


def cut_note(budget: int, cuts: Sequence[str]) -> str:
    """`Cut to fit 1,500 tokens: sample rows dropped; …`."""
    return f"Cut to fit {budget:,} tokens: {'; '.join(cuts)}."


def largest(fits: Callable[[int], bool], low: int, high: int) -> int | None:
    """The largest n in [low, high] with fits(n), for a monotone `fits`; None if none fits."""
    if high < low or not fits(low):
        return None
    while low < high:
        mid = (low + high + 1) // 2
        if fits(mid):
            low = mid
        else:
            high = mid - 1
    return low


def clip_tokens(text: str, budget: int) -> str:
    """The longest prefix of `text` (plus `…`) within `budget` tokens; "" if none."""
    if estimate_tokens(text) <= budget:
        return text
    n = largest(lambda k: estimate_tokens(text[:k] + "…") <= budget, 0, len(text))
    return "" if n is None else text[:n] + "…"


def finish(
    *,
    name: str,
    kind: str,
    header: str,
    notes: Sequence[str],
    body: Sequence[str],
    brief: str,
    budget: int,
) -> Summary:
    """The Summary. Still over budget, the text loses lines from its end (the last one clipped)
    as the final step, with a note saying so; a header too long for the budget is clipped."""
    notes = list(notes)
    text = compose(header, notes, body)
    tokens = estimate_tokens(text)
    if tokens > budget:
        notes.append(f"Cut to fit {budget:,} tokens: the rest of the text cut off.")
        text = _cut_off(header, notes, body, budget)
        tokens = estimate_tokens(text)
    return Summary(
        name=name,
        kind=kind,
        text=text,
        tokens=tokens,
        notes=tuple(notes),
        brief=f"{brief}, {tokens:,} tokens",
    )


def _cut_off(header: str, notes: Sequence[str], body: Sequence[str], budget: int) -> str:
    fixed = [italic(n) for n in notes]
    kept = [clip_tokens(header, budget - estimate_tokens("\n".join(fixed))), *fixed]
    used = estimate_tokens("\n".join(kept))
    for line in body:
        cost = estimate_tokens(line)
        if used + cost > budget:
            part = clip_tokens(line, budget - used)
            if part:
                kept.append(part)
            break
        kept.append(line)
        used += cost
    # Tokens never span a line break, so the sum is exact; the check covers tiny budgets.
    text = "\n".join(kept)
    return text if estimate_tokens(text) <= budget else clip_tokens(text, budget)


def fit_count(
    *,
    name: str,
    kind: str,
    header: str,
    notes: Sequence[str],
    brief: str,
    budget: int,
    body: Callable[[int], list[str]],
    most: int,
    cut: Callable[[int], str | None],
) -> Summary:
    """The largest `k <= most` whose `body(k)` fits, noting `cut(k)` when it is not `most`."""

    def notes_for(k: int) -> list[str]:
        phrase = cut(k)
        return [*notes, cut_note(budget, [phrase])] if phrase else list(notes)

    def fits(k: int) -> bool:
        return estimate_tokens(compose(header, notes_for(k), body(k))) <= budget

    k = most if fits(most) else largest(fits, 0, most - 1)
    k = 0 if k is None else k
    return finish(
        name=name,
        kind=kind,
        header=header,
        notes=notes_for(k),
        body=body(k),
        brief=brief,
        budget=budget,
    )


def sampling_notes(
    brief: str, *, sampled: bool, send_rows: bool, seed: int
) -> tuple[list[str], str]:
    """The notes (and the extended brief) every frame summary shares."""
    notes = []
    if sampled:
        notes.append(
            f"Large frame: statistics from a {SAMPLE_ROWS:,}-row random sample (seed {seed}); "
            "≈ marks estimates"
        )
        brief += f", from a {SAMPLE_ROWS:,}-row sample"
    if not send_rows:
        notes.append(WITHHELD)
        brief += ", values withheld"
    return notes, brief
