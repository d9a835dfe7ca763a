"""Compact, deterministic Markdown summaries of kernel objects within a token budget.

`summarize(obj, name)` picks a family by the object's type; pandas, polars and numpy are
imported only for objects whose class comes from them, so importing this package is cheap.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

from .base import Summary, finish, heading, type_name
from .static import safe_type

__all__ = ["Summary", "summarize"]

_Family = Callable[[object, str, int, bool, int], Summary | None]


def summarize(
    obj: object, name: str, *, budget: int = 1500, send_rows: bool = True, seed: int = 0
) -> Summary:
    """Describe `obj` (the kernel variable `name`) in Markdown of at most `budget` tokens.

    With `send_rows=False` no cell value appears: only schema, sizes, null counts and
    aggregate statistics. Summaries of the same data are identical byte for byte. Budgets of
    200 tokens and more always leave room for a useful header; smaller ones are honoured by
    cutting the text. Objects of classes that are not a known library's (the person's own, a
    subclass of a DataFrame) are described without running any of their code.
    """
    if budget < 1:
        raise ValueError(f"budget must be at least 1 token, got {budget}")
    if not safe_type(type(obj)):
        from .opaque import summarize_opaque

        return summarize_opaque(obj, name, budget, send_rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy/pandas warnings on odd data are not our output
        try:
            return _pick(obj)(obj, name, budget, send_rows, seed) or _builtin(
                obj, name, budget, send_rows, seed
            )
        except Exception as exc:  # any family failing: fall back to type, repr and attributes
            return _fallback(obj, name, budget, send_rows, exc)


def _modules(obj: object) -> list[str]:
    try:
        return [getattr(c, "__module__", "") or "" for c in type(obj).__mro__]
    except Exception:
        return []


def _pick(obj: object) -> _Family:
    roots = {module.split(".")[0] for module in _modules(obj)}
    if "pandas" in roots:
        return _pandas
    if "polars" in roots:
        return _polars
    if "numpy" in roots:
        return _numpy
    return _builtin


def _pandas(obj: object, name: str, budget: int, send_rows: bool, seed: int) -> Summary | None:
    from .pandas_frames import pd, summarize_pandas

    if isinstance(obj, (pd.DataFrame, pd.Series)):
        return summarize_pandas(obj, name, budget, send_rows, seed)
    return None


def _polars(obj: object, name: str, budget: int, send_rows: bool, seed: int) -> Summary | None:
    from .polars_frames import pl, summarize_polars

    if isinstance(obj, (pl.DataFrame, pl.Series)):
        return summarize_polars(obj, name, budget, send_rows, seed)
    return None


def _numpy(obj: object, name: str, budget: int, send_rows: bool, seed: int) -> Summary | None:
    import numpy as np  # already loaded: obj is a numpy object

    from .arrays import summarize_array

    if isinstance(obj, (np.ndarray, np.generic)):
        return summarize_array(obj, name, budget, send_rows, seed)
    return None


def _builtin(obj: object, name: str, budget: int, send_rows: bool, seed: int) -> Summary:
    from .builtins import summarize_builtin

    return summarize_builtin(obj, name, budget, send_rows, seed)


def _fallback(obj: object, name: str, budget: int, send_rows: bool, exc: Exception) -> Summary:
    kind = type_name(obj)
    note = f"Summary failed ({type(exc).__name__}); shown as a plain object"
    try:
        from .builtins import other

        return other(obj, name, kind, budget, send_rows, notes=[note])
    except Exception:
        header = heading(name, kind)
        return finish(
            name=name, kind=kind, header=header, notes=[note], body=[], brief=kind, budget=budget
        )
