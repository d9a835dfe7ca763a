"""What a batch runs over: a list, a pandas or polars Series or DataFrame, read as rows of fields.

A list or Series gives each item as the field `item` (a named Series also under its name); a
DataFrame gives each row's columns as fields. `Template` fills `{field}` placeholders from a row,
or appends one field's value after the prompt when the prompt names none.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["list", "pandas", "polars"]
ITEM = "item"


def _library(obj: object) -> str:
    return type(obj).__module__.split(".")[0]


@dataclass
class Source:
    """The input, seen as labelled rows of named fields."""

    obj: Any
    kind: Kind
    frame: bool  # a DataFrame (rows of columns) rather than a list or Series of values
    names: list[str]  # the fields a prompt may name
    name: str | None = None  # a Series' own name

    def __len__(self) -> int:
        return len(self.obj)

    @property
    def labels(self) -> list[Any]:
        """Each item's label: the index label for pandas, else its position."""
        if self.kind == "pandas":
            return list(self.obj.index)
        return list(range(len(self.obj)))

    def rows(self, fields: Sequence[str]) -> list[dict[str, Any]]:
        """The values of `fields` for every item, in order."""
        if not self.frame:
            values = self.obj.to_list() if self.kind != "list" else self.obj
            return [dict.fromkeys(fields, value) for value in values]
        wanted = list(dict.fromkeys(fields))
        if self.kind == "pandas":
            columns = {str(c): c for c in self.obj.columns}
            frame = self.obj[[columns[f] for f in wanted]]
            return [
                dict(zip(wanted, row, strict=True))
                for row in frame.itertuples(index=False, name=None)
            ]
        return [dict(zip(wanted, row, strict=True)) for row in self.obj.select(wanted).iter_rows()]


def read(items: Any) -> Source:
    """`items` as a `Source`; TypeError for anything a batch cannot run over."""
    library = _library(items)
    kind = type(items).__name__
    if library in ("pandas", "polars") and kind in ("Series", "DataFrame"):
        if kind == "DataFrame":
            return Source(items, library, True, [str(c) for c in items.columns])  # type: ignore[arg-type]
        name = None if items.name in (None, "") else str(items.name)
        names = [ITEM] + ([name] if name and name != ITEM else [])
        return Source(items, library, False, names, name)  # type: ignore[arg-type]
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
        raise TypeError(
            "map() runs over a list, a pandas or polars Series, or a DataFrame; "
            f"got {type(items).__name__}."
        )
    return Source(list(items), "list", False, [ITEM])


def text(value: Any) -> str:
    """A field's value as prompt text: missing values (None, NaN, NA) become empty."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if _library(value) == "pandas" and type(value).__name__ in ("NAType", "NaTType"):
        return ""
    return str(value)


_BRACED = re.compile(r"\{\{([^{}\n]+)\}\}|\{([^{}\n]+)\}")


@dataclass(frozen=True)
class Template:
    """A prompt whose `{field}` placeholders fill from each row (`{{field}}` stays literal)."""

    prompt: str
    used: tuple[str, ...]  # the fields the prompt names
    append: str | None  # with no placeholder: the field whose value follows the prompt

    @classmethod
    def of(cls, prompt: str, source: Source, column: str | None = None) -> Template:
        """Check the prompt against the input's fields; ValueError says what to change."""
        names = set(source.names)
        if column is not None and column not in names:
            raise ValueError(
                f"column={column!r} is not a column of the input; columns: {_listed(source)}."
            )
        used = tuple(dict.fromkeys(m.group(2) for m in _BRACED.finditer(prompt) if m.group(2)))
        used = tuple(u for u in used if u in names)
        if used:
            return cls(prompt, used, None)
        if not source.frame:
            return cls(prompt, (), ITEM)
        if column is None:
            raise ValueError(
                "The prompt names no column: write a placeholder such as "
                f"{{{source.names[0] if source.names else 'column'}}} in it, or pass column=NAME "
                f"to append that column's value after the prompt. Columns: {_listed(source)}."
            )
        return cls(prompt, (), column)

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields a row needs."""
        return self.used or ((self.append,) if self.append else ())

    def render(self, row: Mapping[str, Any]) -> str:
        """The question for one row."""
        if self.append is not None:
            return f"{self.prompt.rstrip()}\n\n{text(row[self.append])}"

        def fill(match: re.Match[str]) -> str:
            escaped, name = match.group(1), match.group(2)
            if escaped is not None:
                return "{" + escaped + "}" if escaped in row else match.group(0)
            return text(row[name]) if name in row else match.group(0)

        return _BRACED.sub(fill, self.prompt)


def _listed(source: Source) -> str:
    shown = ", ".join(source.names[:20])
    return shown + (", ..." if len(source.names) > 20 else "")
