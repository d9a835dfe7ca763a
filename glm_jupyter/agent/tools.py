"""Tools the model may call in agent mode: the registry, and `@glm_jupyter.tool` for your own.

A tool is a name, a description, a JSON schema for its arguments, whether it only reads
(read-only tools run without asking), and an async callable that returns text for the model.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..core.structured import _type_schema
from ..errors import SchemaError
from ..errors import ToolError as ToolError  # where tool authors have imported it from

NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # what Z.ai accepts
MAX_TOOLS = 128


@dataclass(frozen=True)
class Tool:
    """One callable tool."""

    name: str
    description: str
    parameters: dict[str, Any]
    call: Callable[[dict[str, Any]], Awaitable[str]]
    read_only: bool = False
    source: str = "builtin"  # builtin, user, or "mcp:<server>"

    def spec(self) -> dict[str, Any]:
        """The `tools` entry sent to the model."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


def _doc_parts(doc: str) -> tuple[str, dict[str, str]]:
    """Summary and per-argument descriptions from a docstring (Google or reST style)."""
    lines = inspect.cleandoc(doc).splitlines() if doc else []
    summary, args, in_args = [], {}, False
    for line in lines:
        stripped = line.strip()
        rest = re.match(r":param (\w+):\s*(.*)", stripped)
        if rest:
            args[rest.group(1)] = rest.group(2)
        elif stripped.lower() in ("args:", "arguments:", "parameters:"):
            in_args = True
        elif in_args and re.match(r"(\w+)\s*(\([^)]*\))?:\s*(.+)", stripped):
            m = re.match(r"(\w+)\s*(\([^)]*\))?:\s*(.+)", stripped)
            assert m is not None
            args[m.group(1)] = m.group(3)
        elif in_args and not stripped:
            in_args = False
        elif not in_args and not args:
            summary.append(stripped)
    return " ".join(s for s in summary if s).strip(), args


def schema_from_function(fn: Callable[..., Any]) -> dict[str, Any]:
    """JSON schema of a function's parameters, from its type hints and docstring."""
    hints = typing.get_type_hints(fn)
    _, described = _doc_parts(fn.__doc__ or "")
    properties: dict[str, Any] = {}
    required = []
    for name, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if name not in hints:
            raise SchemaError(f"@tool {fn.__name__}: parameter `{name}` needs a type hint.")
        schema = _type_schema(hints[name])
        if name in described:
            schema["description"] = described[name]
        if param.default is param.empty:
            required.append(name)
        else:
            schema["default"] = param.default
        properties[name] = schema
    return {"type": "object", "properties": properties, "required": required}


def from_function(
    fn: Callable[..., Any],
    *,
    read_only: bool = False,
    name: str | None = None,
    source: str = "user",
) -> Tool:
    """A `Tool` that calls a Python function (sync or async) with the model's arguments."""
    tool_name = name or fn.__name__
    if not NAME.match(tool_name):
        raise SchemaError(f"@tool: {tool_name!r} is not a valid tool name (letters, digits, _ -).")
    summary, _ = _doc_parts(fn.__doc__ or "")
    parameters = schema_from_function(fn)

    async def call(arguments: dict[str, Any]) -> str:
        result = fn(**arguments)
        if inspect.isawaitable(result):
            result = await result
        return result if isinstance(result, str) else repr(result)

    return Tool(tool_name, summary or f"Call {tool_name}.", parameters, call, read_only, source)


USER_TOOLS: dict[str, Tool] = {}


def tool(
    fn: Callable[..., Any] | None = None, *, read_only: bool = False, name: str | None = None
) -> Any:
    """Register a typed function as a tool for agent mode: `@glm_jupyter.tool`.

    The schema comes from the signature's type hints and the docstring; `read_only=True` lets
    it run without asking.
    """

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        made = from_function(func, read_only=read_only, name=name)
        USER_TOOLS[made.name] = made
        return func

    return register(fn) if fn is not None else register
