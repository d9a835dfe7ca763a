"""dict, list / tuple / set, str, bytes, numbers, None, and any other object."""

from __future__ import annotations

import codecs
import heapq
import inspect
import itertools
import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from .base import (
    SAMPLE_ROWS,
    Summary,
    class_name,
    escape,
    finish,
    fit_count,
    heading,
    num,
    plural,
    quoted,
    repr_key,
    safe_repr,
    type_name,
    value_text,
)
from .static import placeholder, safe_type

KEYS_SHOWN = 40  # dict keys in the table at most
ITEMS_SHOWN = 20  # first items of a list, tuple or set at most
SORTED_SET_LIMIT = 1_000_000  # bigger sets are not ordered by repr to pick items to show
_BACKTICKS = re.compile(r"`+")
_KINDS = {type(None): "None", bool: "bool", int: "int", float: "float", str: "str", bytes: "bytes"}
_KINDS |= {dict: "dict", list: "list", tuple: "tuple", set: "set"}


def summarize_builtin(obj: Any, name: str, budget: int, send_rows: bool, seed: int) -> Summary:
    """Summary of a built-in value, or of any other object by type, repr and attributes."""
    kind = _KINDS.get(type(obj)) or type_name(obj)
    args = (name, kind, budget, send_rows)
    if obj is None or isinstance(obj, (bool, int, float)):
        return _scalar(obj, *args)
    if isinstance(obj, str):
        return _string(obj, *args)
    if isinstance(obj, (bytes, bytearray)):
        return _bytes(bytes(obj) if len(obj) <= 1 << 20 else obj, *args)
    if isinstance(obj, dict):
        return _dict(obj, *args)
    if isinstance(obj, (list, tuple, set, frozenset)):
        return _collection(obj, *args, seed)
    return other(obj, *args)


def _scalar(obj: Any, name: str, kind: str, budget: int, send_rows: bool) -> Summary:
    text: str
    if isinstance(obj, int) and not isinstance(obj, bool) and obj.bit_length() > 9_000:
        digits = int(obj.bit_length() * math.log10(2)) + 1  # str() refuses such ints
        text, size = f"an int of about {digits:,} digits", f", about {digits:,} digits"
    elif isinstance(obj, int) and not isinstance(obj, bool):
        text = repr(int(obj))
        size = f", {plural(len(text.lstrip('-')), 'digit')}"
    else:
        text, size = (repr(float(obj)) if isinstance(obj, float) else repr(obj)), ""
    if send_rows:
        header, body, brief = heading(name, kind), [f"Value: {text}"], kind
    else:
        title = f"{kind}{size}, value withheld"
        header, body, brief = heading(name, title), [], title
    return finish(
        name=name, kind=kind, header=header, notes=[], body=body, brief=brief, budget=budget
    )


def _fenced(text: str) -> list[str]:
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, *text.split("\n"), fence]


def _withheld(name: str, kind: str, title: str, budget: int) -> Summary:
    """A header alone: the value itself stays out (send_rows=False)."""
    return finish(
        name=name, kind=kind, header=heading(name, title), notes=[], body=[],
        brief=title, budget=budget,
    )  # fmt: skip


def _string(s: str, name: str, kind: str, budget: int, send_rows: bool) -> Summary:
    n = len(s)
    if not send_rows:
        return _withheld(name, kind, f"{kind}, {plural(n, 'character')}, value withheld", budget)
    lines = s.count("\n") + (1 if s and not s.endswith("\n") else 0)
    header = heading(name, f"{kind}, {plural(n, 'character')}, {plural(lines, 'line')}")

    def split(k: int) -> tuple[str, str]:
        head = (2 * k + 2) // 3
        return s[:head], s[n - (k - head) :] if k > head else ""

    def body(k: int) -> list[str]:
        if k >= n:
            return _fenced(s)
        head, tail = split(k)
        out = [f"First {plural(len(head), 'character')}:", *_fenced(head)]
        return out + ([f"Last {plural(len(tail), 'character')}:", *_fenced(tail)] if tail else [])

    def cut(k: int) -> str | None:
        head, tail = split(k)
        return None if k >= n else f"showing the first {len(head):,} and last {len(tail):,}"

    # Whitespace costs no estimated tokens, so the characters shown are capped as well.
    return fit_count(
        name=name, kind=kind, header=header, notes=[], brief=f"{kind}, {n:,} characters",
        budget=budget, body=body, most=min(n, 4 * budget), cut=cut,
    )  # fmt: skip


def _utf8_error(data: Any) -> int | None:
    """Position of the first byte that is not valid UTF-8, decoding 1 MB at a time."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    step = 1 << 20
    for start in range(0, len(data), step):
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(data[start : start + step], final=start + step >= len(data))
        except UnicodeDecodeError as exc:
            return start - pending + exc.start
    return None


def _bytes(data: Any, name: str, kind: str, budget: int, send_rows: bool) -> Summary:
    n = len(data)
    if not send_rows:
        return _withheld(name, kind, f"{kind}, {plural(n, 'byte')}, value withheld", budget)
    bad = _utf8_error(data)
    valid = "valid UTF-8" if bad is None else f"not valid UTF-8 (first bad byte at {bad:,})"
    header = heading(name, f"{kind}, {plural(n, 'byte')}, {valid}")

    def body(k: int) -> list[str]:
        shown = repr(bytes(data[:k])) + ("…" if k < n else "")
        return [f"First {plural(k, 'byte')}, escaped:" if k < n else "Escaped:", *_fenced(shown)]

    def cut(k: int) -> str | None:
        return None if k >= n else f"showing the first {k:,} bytes"

    return fit_count(
        name=name, kind=kind, header=header, notes=[], brief=f"{kind}, {n:,} bytes",
        budget=budget, body=body, most=min(n, 2 * budget), cut=cut,
    )  # fmt: skip


def _type_counts(values: Iterable[object], limit: int = 8) -> str:
    counts = Counter(map(type, values))
    named = sorted(((class_name(t), n) for t, n in counts.items()), key=lambda tn: (-tn[1], tn[0]))
    shown = ", ".join(f"{t} ×{n:,}" for t, n in named[:limit])
    return (shown + (", …" if len(named) > limit else "")) or "none"


def describe_value(v: object) -> str:
    """A short description of a value inside a container; containers are not opened."""
    try:
        if not safe_type(type(v)):
            return escape(placeholder(v))
        if v is None or isinstance(v, (bool, int, float)):
            return escape(value_text(v, 40))
        if isinstance(v, str):
            return quoted(v, 40) + (f" ({len(v):,} characters)" if len(v) > 40 else "")
        if isinstance(v, (bytes, bytearray)):
            return plural(len(v), "byte")
        if isinstance(v, dict):
            return plural(len(v), "key")
        if isinstance(v, (list, tuple, set, frozenset)):
            inner = "" if len(v) > 1000 else f": {_type_counts(v, 3)}"
            return plural(len(v), "item") + inner
        shape = getattr(v, "shape", None) if type(v).__module__.split(".")[0] in _SHAPED else None
        if isinstance(shape, tuple) and all(isinstance(x, int) for x in shape):
            return "shape " + "×".join(f"{x:,}" for x in shape)
        return escape(safe_repr(v, 40))
    except Exception as exc:
        return f"not described: {type(exc).__name__}"


_SHAPED = {"numpy", "pandas", "polars", "torch", "jax", "jaxlib", "tensorflow", "xarray", "scipy"}


def _dict(d: dict[Any, Any], name: str, kind: str, budget: int, send_rows: bool) -> Summary:
    n = len(d)
    counted = min(n, SAMPLE_ROWS)
    scope = "" if counted == n else f" (of the first {counted:,})"
    types = f"Value types{scope}: {_type_counts(itertools.islice(d.values(), counted))}"
    header = heading(name, f"{kind}, {plural(n, 'key')}")
    if not send_rows:
        notes = ["Keys and values withheld (send_rows=False)"]
        return finish(
            name=name, kind=kind, header=header, notes=notes, body=[types],
            brief=f"{kind}, {n:,} keys, values withheld", budget=budget,
        )  # fmt: skip
    rows = [
        f"| {quoted(k, 40) if type(k) is str else escape(value_text(k, 40))} "
        f"| {class_name(type(v))} | {describe_value(v)} |"
        for k, v in itertools.islice(d.items(), KEYS_SHOWN)
    ]

    def body(k: int) -> list[str]:
        table = ["| key | type | value |", "| --- | --- | --- |", *rows[:k]] if k else []
        return [types, *table] + ([f"… {n - k:,} more keys"] if k < n else [])

    return fit_count(
        name=name, kind=kind, header=header, notes=[], brief=f"{kind}, {n:,} keys",
        budget=budget, body=body, most=len(rows),
        cut=lambda k: None if k == len(rows) else f"{k:,} of {n:,} keys shown",
    )  # fmt: skip


def _collection(obj: Any, name: str, kind: str, budget: int, send_rows: bool, seed: int) -> Summary:
    n = len(obj)
    unordered = isinstance(obj, (set, frozenset))
    if unordered or n <= SAMPLE_ROWS:
        values, scope = obj, ""
    else:  # a seeded sample of positions, in order
        positions = sorted(random.Random(seed).sample(range(n), SAMPLE_ROWS))
        values, scope = [obj[i] for i in positions], f" (≈, from {SAMPLE_ROWS:,} sampled items)"
    lines = [f"Element types{scope}: {_type_counts(values)}"]
    header = heading(name, f"{kind}, {plural(n, 'item')}")
    if not send_rows:
        notes = ["Items withheld (send_rows=False)"]
        return finish(
            name=name, kind=kind, header=header, notes=notes, body=lines,
            brief=f"{kind}, {n:,} items, values withheld", budget=budget,
        )  # fmt: skip
    numeric = [v for v in values if type(v) in (int, float)]  # subclasses may compare oddly
    if numeric and len(numeric) == len(values) and all(math.isfinite(v) for v in numeric):
        mean = math.fsum(numeric) / len(numeric)
        lines.append(f"Numbers: min {num(min(numeric))}, mean {num(mean)}, max {num(max(numeric))}")
    if unordered:
        first = heapq.nsmallest(ITEMS_SHOWN, obj, key=repr_key) if n <= SORTED_SET_LIMIT else []
        items = [f"- {_item(v)}" for v in first]
        order = "smallest by repr"
    else:
        items = [f"- [{i}] {_item(v)}" for i, v in enumerate(itertools.islice(obj, ITEMS_SHOWN))]
        order = "first"

    def body(k: int) -> list[str]:
        shown = [f"Items ({order} {k:,}):", *items[:k]] if k else []
        return [*lines, *shown] + ([f"… {n - k:,} more items"] if k < n else [])

    return fit_count(
        name=name, kind=kind, header=header, notes=[], brief=f"{kind}, {n:,} items",
        budget=budget, body=body, most=len(items),
        cut=lambda k: None if k == len(items) else f"{k:,} of {n:,} items shown",
    )  # fmt: skip


def _item(v: object) -> str:
    return quoted(v, 100) if type(v) is str else escape(safe_repr(v, 120))


def attributes(obj: object, limit: int = 10) -> list[str]:
    """Up to `limit` public, non-callable attributes as "`name` (type)", without running
    properties or other descriptors (slots excepted)."""
    try:
        names = sorted(n for n in dir(obj) if isinstance(n, str) and not n.startswith("_"))
    except Exception:
        return []
    found: list[str] = []
    for attr in names:
        try:
            value = inspect.getattr_static(obj, attr)
            if isinstance(obj, type) and hasattr(type(value), "__get__"):
                continue  # a class: its descriptors are for its instances
            if type(value).__name__ in ("member_descriptor", "getset_descriptor"):
                value = getattr(obj, attr)
            elif hasattr(type(value), "__get__") or callable(value):
                continue
        except Exception:
            continue
        found.append(f"`{attr}` ({class_name(type(value))})")
        if len(found) == limit:
            break
    return found


def other(
    obj: object, name: str, kind: str, budget: int, send_rows: bool, notes: Sequence[str] = ()
) -> Summary:
    """Any object: type, guarded repr, public attributes."""
    header = heading(name, kind)
    if not send_rows:
        return finish(
            name=name, kind=kind, header=header, notes=[*notes, "Repr withheld (send_rows=False)"],
            body=[], brief=f"{kind}, value withheld", budget=budget,
        )  # fmt: skip
    text = safe_repr(obj, 4 * budget)
    attrs = attributes(obj)
    listed = [f"Attributes: {', '.join(attrs)}"] if attrs else []

    def body(k: int) -> list[str]:
        shown = text if k >= len(text) else text[: max(k - 1, 0)] + "…"
        return [*(_fenced(shown) if k else []), *listed]

    return fit_count(
        name=name, kind=kind, header=header, notes=notes, brief=kind, budget=budget, body=body,
        most=len(text), cut=lambda k: None if k >= len(text) else "repr shortened",
    )  # fmt: skip
