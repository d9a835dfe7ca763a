"""The built-in agent tools: run_python, list_variables, describe, inspect."""

from __future__ import annotations

import inspect as pyinspect
import types
from typing import Any

from .executor import Execution, KernelExecutor, clip
from .tools import Tool, ToolError

_HIDDEN = {"In", "Out", "exit", "quit", "get_ipython"}


def _shape(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple):
        return "×".join(f"{n:,}" for n in shape)
    try:
        return f"len {len(value):,}"
    except Exception:
        return ""


def list_variables(namespace: dict[str, Any], hidden: Any = ()) -> str:
    """Names, types and shapes of the person's variables (no modules, no `_` names)."""
    rows = []
    for name in sorted(namespace):
        value = namespace[name]
        if name.startswith("_") or name in _HIDDEN or name in hidden:
            continue
        if isinstance(value, types.ModuleType):
            continue
        if callable(value) and not hasattr(value, "shape"):
            kind = "class" if isinstance(value, type) else "function"
            rows.append(f"{name}: {kind}")
            continue
        kind = type(value).__qualname__
        module = type(value).__module__.split(".")[0]
        if module not in ("builtins", "__main__"):
            kind = f"{module}.{kind}"
        shape = _shape(value)
        rows.append(f"{name}: {kind}" + (f" ({shape})" if shape else ""))
    return "\n".join(rows) if rows else "(no variables yet)"


def resolve(namespace: dict[str, Any], dotted: str) -> Any:
    """`name` or `name.attr.attr` from the namespace, without evaluating code."""
    head, *rest = dotted.split(".")
    if head not in namespace:
        raise ToolError(f"There is no variable `{head}`; list_variables() shows what exists.")
    value = namespace[head]
    for part in rest:
        try:
            value = getattr(value, part)
        except AttributeError:
            raise ToolError(f"`{dotted}`: no attribute `{part}`.") from None
    return value


def inspect_object(namespace: dict[str, Any], dotted: str) -> str:
    """Signature and docstring of a variable, function, class or method."""
    value = resolve(namespace, dotted)
    target = value if callable(value) else type(value)
    try:
        signature = str(pyinspect.signature(target))
    except (TypeError, ValueError):
        signature = "(signature not available)"
    doc = pyinspect.getdoc(target) or "(no docstring)"
    return f"{dotted}{signature}\n\n{clip(doc, 3000)}"


def builtin_tools(
    shell: Any,
    executor: KernelExecutor,
    *,
    limit: int,
    budget: int,
    send_rows: bool,
    on_run: Any = None,
) -> list[Tool]:
    """The four built-in tools, bound to one shell."""
    namespace = shell.user_ns

    async def run_python(arguments: dict[str, Any]) -> str:
        code = arguments.get("code")
        if not isinstance(code, str) or not code.strip():
            raise ToolError("run_python needs a non-empty `code` string.")
        execution: Execution = executor.run(code)
        if on_run is not None:
            on_run(execution)
        if execution.interrupted:
            raise KeyboardInterrupt
        return execution.summary(limit)

    async def variables(arguments: dict[str, Any]) -> str:
        return list_variables(namespace, getattr(shell, "user_ns_hidden", ()))

    async def describe(arguments: dict[str, Any]) -> str:
        from .summaries import summarize

        name = str(arguments.get("name", ""))
        return summarize(resolve(namespace, name), name, budget=budget, send_rows=send_rows).text

    async def inspect(arguments: dict[str, Any]) -> str:
        return inspect_object(namespace, str(arguments.get("name", "")))

    one_name = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    return [
        Tool(
            "run_python",
            "Run Python code in the person's live Jupyter kernel (their "
            "variables are there). They see the code and its output; you get stdout, stderr, "
            "the value of the last expression and any error.",
            {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]},
            run_python,
        ),
        Tool(
            "list_variables",
            "List the person's variables: names, types and shapes.",
            {"type": "object", "properties": {}},
            variables,
            read_only=True,
        ),
        Tool(
            "describe",
            "Summarise a variable (DataFrames: dtypes, nulls, statistics, sample rows).",
            one_name,
            describe,
            read_only=True,
        ),
        Tool(
            "inspect",
            "Signature and docstring of a variable, function, class or method "
            "(dotted names work: `df.merge`).",
            one_name,
            inspect,
            read_only=True,
        ),
    ]
