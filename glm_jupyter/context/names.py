"""The person's variables as a short table: names, types, shapes and DataFrame columns, read
without running any of their code (the agent's `list_variables`, the completions' context)."""

from __future__ import annotations

import types
from typing import Any

from .summaries.static import module_of, qualname_of, safe_type

_HIDDEN = {"In", "Out", "exit", "quit", "get_ipython"}
_SIZED = (str, bytes, bytearray, list, tuple, dict, set, frozenset, range)
_SHAPED = ("numpy", "pandas", "polars")


def _shape(value: Any) -> str:
    """`3×4` or `len 3`, only where the type is a known library's: `len()` of the person's
    classes (or a Dask frame) would run their code."""
    cls = type(value)
    if not safe_type(cls):
        return ""
    if module_of(cls).split(".")[0] in _SHAPED:
        shape = getattr(value, "shape", None)
        if isinstance(shape, tuple) and all(type(n) is int for n in shape):
            return "×".join(f"{n:,}" for n in shape)
        return ""
    if cls in _SIZED or (module_of(cls) == "collections" and hasattr(cls, "__len__")):
        return f"len {len(value):,}"
    return ""


def list_variables(namespace: dict[str, Any], hidden: Any = ()) -> str:
    """Names, types and shapes of the person's variables (no modules, no `_` names), read
    without running any of their code."""
    rows = []
    for name in sorted(namespace):
        value = namespace[name]
        cls = type(value)
        if name.startswith("_") or name in _HIDDEN or name in hidden:
            continue
        if issubclass(cls, types.ModuleType):
            continue
        if issubclass(cls, type):
            rows.append(f"{name}: class")
            continue
        if cls in (types.FunctionType, types.BuiltinFunctionType, types.MethodType):
            rows.append(f"{name}: function")
            continue
        kind, root = qualname_of(cls), module_of(cls).split(".")[0]
        if root not in ("builtins", "__main__"):
            kind = f"{root}.{kind}"
        shape = _shape(value)
        rows.append(f"{name}: {kind}" + (f" ({shape})" if shape else ""))
    return "\n".join(rows) if rows else "(no variables yet)"


def _columns(value: Any, limit: int) -> str:
    """`region: str, month: str, units: int64` for a pandas or polars frame (names and
    dtypes only, never a value)."""
    cls = type(value)
    if not safe_type(cls) or module_of(cls).split(".")[0] not in ("pandas", "polars"):
        return ""
    schema = getattr(value, "schema", None) if module_of(cls).startswith("polars") else None
    if schema is not None:
        pairs = [(str(k), str(v)) for k, v in schema.items()]
    else:
        dtypes = getattr(value, "dtypes", None)
        if dtypes is None or not hasattr(dtypes, "items"):
            return ""
        pairs = [(str(k), "str" if str(v) == "object" else str(v)) for k, v in dtypes.items()]
    shown = ", ".join(f"{k}: {v}" for k, v in pairs[:limit])
    return shown + (f", … {len(pairs) - limit} more" if len(pairs) > limit else "")


def names_table(namespace: dict[str, Any], hidden: Any = (), budget: int = 3000) -> str:
    """`list_variables` with each DataFrame's columns under it, cut to `budget` characters
    (whole lines, in order, then a line saying how many names were left out)."""
    lines = []
    for row in list_variables(namespace, hidden).splitlines():
        name = row.split(":", 1)[0]
        columns = _columns(namespace.get(name), 40) if name in namespace else ""
        lines.append(row + (f"\n  columns: {columns}" if columns else ""))
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > budget:
            kept.append(f"… {len(lines) - len(kept)} more names")
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept)
