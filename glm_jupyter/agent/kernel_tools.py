"""The built-in agent tools: run_python, list_variables, describe, inspect."""

from __future__ import annotations

import functools
import inspect as pyinspect
import types
from dataclasses import dataclass
from typing import Any, Literal

from ..context.names import list_variables
from ..context.summaries.opaque import describe_statically
from ..context.summaries.static import (
    SAFE_ROOTS,
    class_doc,
    hooks,
    instance_dict,
    kind_of,
    mro,
    name_of,
    own_dict,
    runs_code,
    safe_type,
    static_lookup,
)
from ..errors import ToolError
from ..messages import Image, Message
from .executor import Execution, KernelExecutor, clip, describe_display
from .tools import Tool

RUN_PYTHON = "run_python can read it (the person approves that first)"


@dataclass(frozen=True)
class Unread:
    """A dotted name only the person's code could give the value of (a property, a
    descriptor, a name `__getattr__` makes up): what it is instead of what it holds."""

    dotted: str
    owner: object  # the object it would be read from
    attribute: object  # the class attribute (a property, a descriptor), or None

    def text(self) -> str:
        """What the model learns: what the name is, its docstring, and how to read it."""
        owner = name_of(self.owner if isinstance(self.owner, type) else type(self.owner))
        if self.attribute is None:
            what = f"no attribute `{owner}` stores; only its class's `__getattr__` could make it"
        else:
            what = f"a {kind_of(self.attribute)} of `{owner}`: reading it runs its code"
        getter = _getter(self.attribute)
        doc = pyinspect.getdoc(getter) if type(getter) is types.FunctionType else None
        lines = [f"`{self.dotted}` is {what}, which read-only tools do not do. {RUN_PYTHON}."]
        return "\n\n".join([*lines, clip(doc, 3000)] if doc else lines)


def _getter(attribute: object) -> object:
    """The function behind a property or cached property (read from its slots), or None."""
    if type(attribute) is property:
        return attribute.fget
    if type(attribute) is functools.cached_property:
        return attribute.func
    return None


def resolve(namespace: dict[str, Any], dotted: str) -> Any:
    """`name` or `name.attr.attr` from the namespace, without evaluating code: attributes of
    the person's objects are read from the class and instance dictionaries (an `Unread` for
    properties, descriptors and names only `__getattr__` knows); known libraries' objects are
    read as usual."""
    head, *rest = dotted.split(".")
    if head not in namespace:
        raise ToolError(f"There is no variable `{head}`; list_variables() shows what exists.")
    value = namespace[head]
    for index, part in enumerate(rest, 1):
        so_far = ".".join([head, *rest[:index]])
        try:
            value = _attribute(value, part, so_far)
        except AttributeError:
            raise ToolError(f"`{dotted}`: no attribute `{part}`.") from None
        if isinstance(value, Unread):
            return value
    return value


def _attribute(owner: Any, part: str, dotted: str) -> Any:
    cls = type(owner)
    if issubclass(cls, types.ModuleType):
        found = instance_dict(owner).get(part, _MISSING)
        if found is not _MISSING:
            return found
        name = str(instance_dict(owner).get("__name__", ""))
        if name.split(".")[0] in SAFE_ROOTS:  # a library's lazy submodule or attribute
            return getattr(owner, part)
        raise AttributeError(part)
    if safe_type(cls) and not isinstance(owner, type):
        return getattr(owner, part)  # a known library's own attribute code
    try:
        raw = static_lookup(owner, part)
    except AttributeError:
        if "__getattr__" in hooks(cls) or "__getattribute__" in hooks(cls):
            return Unread(dotted, owner, None)
        raise
    if isinstance(owner, type):
        if type(raw) in (classmethod, staticmethod):
            return raw.__func__
        return Unread(dotted, owner, raw) if _class_level_code(raw) or _is_property(raw) else raw
    if runs_code(raw) and part not in instance_dict(owner):
        return Unread(dotted, owner, raw)
    if type(raw) is types.FunctionType and part not in instance_dict(owner):
        return types.MethodType(raw, owner)  # binding runs nothing
    if type(raw) in (classmethod, staticmethod):
        return raw.__func__
    return raw


def _is_property(raw: object) -> bool:
    return type(raw) in (property, functools.cached_property)


def _class_level_code(raw: object) -> bool:
    """Descriptors whose `__get__` runs even when read from the class (not property)."""
    return runs_code(raw) and type(raw) is not property and not safe_type(type(raw))


_MISSING = object()


def inspect_object(namespace: dict[str, Any], dotted: str) -> str:
    """Signature and docstring of a variable, function, class or method; the person's objects
    are described by their class, without running their code."""
    value = resolve(namespace, dotted)
    if isinstance(value, Unread):
        return value.text()
    cls = type(value)
    if not safe_type(cls):  # an instance of the person's class: its class, and what it holds
        call = static_call(cls)
        signature = _signature(call) if call is not None else "(not callable)"
        doc = class_doc(cls) or "(no docstring)"
        lines = describe_statically(value, send_rows=False)[1:]
        facts = "\n".join(line for line in lines if not line.startswith("Docstring:"))
        return f"{dotted}: an instance of `{name_of(cls)}` {signature}\n\n{clip(doc, 3000)}" + (
            f"\n\n{facts}" if facts else ""
        )
    target = value if callable(value) else cls
    doc = pyinspect.getdoc(target) or "(no docstring)"
    return f"{dotted}{_signature(target)}\n\n{clip(doc, 3000)}"


def _signature(target: Any) -> str:
    try:
        return str(pyinspect.signature(target))
    except (TypeError, ValueError):
        return "(signature not available)"


def static_call(cls: type) -> Any:
    """The `__call__` a class of the person's defines, bound to nothing, or None."""
    for c in mro(cls):
        raw = own_dict(c).get("__call__")
        if type(raw) is types.FunctionType:
            return raw
    return None


_ONE_NAME = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
# name: (what the model is told, its parameters, read-only: runs without asking)
BUILTIN: dict[str, tuple[str, dict[str, Any], bool]] = {
    "run_python": (
        "Run Python code in the person's live Jupyter kernel (their variables are there). They "
        "see the code and its output; you get stdout, stderr, the value of the last expression "
        "and any error.",
        {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]},
        False,
    ),
    "list_variables": (
        "List the person's variables: names, types and shapes.",
        {"type": "object", "properties": {}},
        True,
    ),
    "describe": (
        "Summarise a variable (DataFrames: dtypes, nulls, statistics, sample rows).",
        _ONE_NAME,
        True,
    ),
    "inspect": (
        "Signature and docstring of a variable, function, class or method "
        "(dotted names work: `df.merge`).",
        _ONE_NAME,
        True,
    ),
}


class Figures:
    """What becomes of the pictures run_python's code displays: described in words (a model
    that does not see), withheld (`send_rows=False`), or kept to send as pictures after the
    step's tool results (`pending`)."""

    def __init__(self, mode: Literal["described", "withheld", "attached"]) -> None:
        self.mode = mode
        self.pending: list[Image] = []

    def take(self, execution: Execution) -> dict[int, str]:
        """Keep one run's figures as the mode says: the notes replacing their display lines."""
        from ..context.images import from_display

        notes: dict[int, str] = {}
        for index, data in execution.figures:
            if self.mode == "withheld":
                notes[index] = describe_display(
                    data, "shown to the user; withheld from you: GLM.send_rows is off"
                )
            elif self.mode == "attached":
                picture = from_display(data, f"figure {len(self.pending) + 1}")
                if picture is not None:  # else (no Pillow) it stays described
                    self.pending.append(picture)
                    notes[index] = describe_display(
                        data,
                        f"shown to the user; sent to you as figure {len(self.pending)} "
                        "after the tool results",
                    )
        return notes

    def message(self) -> Message | None:
        """The pictures kept since the last call, as the user message that carries them."""
        if not self.pending:
            return None
        pictures, self.pending = tuple(self.pending), []
        names = ", ".join(p.label for p in pictures)
        return Message("user", f"The pictures the code displayed ({names}):", images=pictures)


def builtin_tools(
    shell: Any,
    executor: KernelExecutor,
    *,
    limit: int,
    budget: int,
    send_rows: bool,
    figures: Figures | None = None,
    on_run: Any = None,
) -> list[Tool]:
    """The four built-in tools, bound to one shell."""
    namespace = shell.user_ns
    figures = figures or Figures("described")

    async def run_python(arguments: dict[str, Any]) -> str:
        code = arguments.get("code")
        if not isinstance(code, str) or not code.strip():
            raise ToolError("run_python needs a non-empty `code` string.")
        execution: Execution = executor.run(code)
        if on_run is not None:
            on_run(execution)
        if execution.interrupted:
            raise KeyboardInterrupt
        return execution.summary(limit, figures.take(execution))

    async def list_variables_(arguments: dict[str, Any]) -> str:
        return list_variables(namespace, getattr(shell, "user_ns_hidden", ()))

    async def describe(arguments: dict[str, Any]) -> str:
        from ..context.summaries import summarize

        name = str(arguments.get("name", ""))
        value = resolve(namespace, name)
        if isinstance(value, Unread):
            return value.text()
        return summarize(value, name, budget=budget, send_rows=send_rows).text

    async def inspect(arguments: dict[str, Any]) -> str:
        return inspect_object(namespace, str(arguments.get("name", "")))

    calls = {
        "run_python": run_python,
        "list_variables": list_variables_,
        "describe": describe,
        "inspect": inspect,
    }
    return [
        Tool(name, text, parameters, calls[name], read_only=read_only)
        for name, (text, parameters, read_only) in BUILTIN.items()
    ]
