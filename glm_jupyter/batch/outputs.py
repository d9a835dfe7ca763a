"""Results in the input's own shape, aligned with it, and where each shape keeps its errors.

| input | no schema (or one without properties) | schema with properties |
| --- | --- | --- |
| list | `BatchList` of answers | `BatchList` of built values (dataclass, pydantic, dict) |
| pandas Series/DataFrame | Series `answer`, same index | DataFrame: a column per field, `_error` |
| polars Series/DataFrame | Series `answer` | DataFrame: a column per field, `_error` |

A failed item holds None (NaN/null in a frame). pandas results and `BatchList` carry
`attrs["glm_errors"]` ({label: message}) and `attrs["glm_summary"]`; polars has no attrs, so a
polars Series' errors are in `glm_jupyter.batch.last_report().errors`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from .inputs import Source

ERROR_COLUMN = "_error"
ANSWER = "answer"


class BatchList(list[Any]):
    """A list of results that also carries `attrs`, like a pandas object."""

    attrs: dict[str, Any]

    def __init__(self, values: Any = ()) -> None:
        super().__init__(values)
        self.attrs = {}


@dataclass
class Outcome:
    """One item's result: the answer text, the value made of it, or why there is none."""

    text: str | None = None
    value: Any = None  # the text, the parsed JSON, or the schema's built instance
    data: Any = None  # the parsed JSON (validated) before building, for frame columns
    error: str | None = None
    cached: bool = False


def where_errors(source: Source, fields: list[str] | None) -> str:
    """Where a person finds the errors of this result."""
    if fields and source.kind != "list":
        return "see the _error column"
    if source.kind == "polars":
        return "see glm_jupyter.batch.last_report().errors"
    return "see result.attrs['glm_errors']"


def assemble(
    source: Source,
    outcomes: list[Outcome],
    fields: list[str] | None,
    errors: dict[Any, str],
    summary: str,
) -> Any:
    """The result object for `source`."""
    values = [o.value if o.error is None else None for o in outcomes]
    if source.kind == "list":
        result = BatchList(values)
    elif fields:
        records = [_record(o, fields) for o in outcomes]
        errs = [o.error for o in outcomes]
        result = (_pandas_frame if source.kind == "pandas" else _polars_frame)(
            source, records, fields, errs
        )
    elif source.kind == "pandas":
        pd: Any = importlib.import_module("pandas")
        result = pd.Series(values, index=source.obj.index, name=ANSWER)
    else:
        result = _polars_series(values)
    if source.kind != "polars":
        result.attrs["glm_errors"] = errors
        result.attrs["glm_summary"] = summary
    return result


def _record(outcome: Outcome, fields: list[str]) -> dict[str, Any]:
    data = outcome.data if outcome.error is None and isinstance(outcome.data, dict) else {}
    return {f: data.get(f) for f in fields}


def _pandas_frame(
    source: Source, records: list[dict[str, Any]], fields: list[str], errs: list[str | None]
) -> Any:
    pd: Any = importlib.import_module("pandas")
    columns = {f: [r[f] for r in records] for f in fields}
    frame = pd.DataFrame(columns, index=source.obj.index, columns=fields)
    frame[ERROR_COLUMN] = pd.Series(errs, index=source.obj.index, dtype="object")
    return frame


def _polars_column(name: str, values: list[Any]) -> Any:
    pl: Any = importlib.import_module("polars")
    try:
        return pl.Series(name, values, strict=False)
    except Exception:  # values polars cannot type (mixed nested shapes): keep them as objects
        return pl.Series(name, values, dtype=pl.Object)


def _polars_frame(
    source: Source, records: list[dict[str, Any]], fields: list[str], errs: list[str | None]
) -> Any:
    pl: Any = importlib.import_module("polars")
    columns = [_polars_column(f, [r[f] for r in records]) for f in fields]
    columns.append(pl.Series(ERROR_COLUMN, errs, dtype=pl.String))
    return pl.DataFrame(columns)


def _polars_series(values: list[Any]) -> Any:
    return _polars_column(ANSWER, values)
