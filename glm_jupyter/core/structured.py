"""Structured answers: JSON text -> Python, JSON schemas from Python types, validation.

Z.ai has no `json_schema` response mode, so the schema travels in the prompt and the answer is
validated here; a dataclass or pydantic schema gives back an instance of that class.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import AnswerNotJSONError as AnswerNotJSONError  # its old home
from ..errors import SchemaError

_FENCE = re.compile(r"```(?:json|JSON)?[ \t]*\n(.*?)\n[ \t]*```", re.DOTALL)


def parse_json_text(text: str) -> Any:
    """The JSON in an answer: the whole text, else a fenced block, else the outermost {...}."""
    candidates = [text.strip()]
    candidates += [m.group(1) for m in _FENCE.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    error: ValueError | None = None
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError as exc:
            error = error or exc
    raise ValueError(str(error) if error else "empty answer")


@dataclass(frozen=True)
class Schema:
    """A JSON schema, where it came from, and how to turn a valid answer into the user's type."""

    schema: dict[str, Any]
    label: str
    build: Callable[[Any], Any]

    @functools.cached_property
    def validator(self) -> Any:
        """The schema's validator, made once (importing jsonschema can take seconds)."""
        import jsonschema

        return jsonschema.Draft202012Validator(self.schema)

    def errors(self, value: Any) -> list[str]:
        """Why `value` does not fit (empty when it does), one line per problem."""
        found = sorted(self.validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        return [
            f"{'/'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}" for e in found
        ]

    def prompt(self) -> str:
        """The instruction that carries the schema to the model."""
        text = json.dumps(self.schema, indent=1, sort_keys=True, ensure_ascii=False)
        return (
            "Answer with one JSON object only, no prose and no code fence, that validates "
            f"against this JSON schema ({self.label}):\n{text}"
        )


def schema_for(obj: Any, name: str) -> Schema:
    """A `Schema` from a JSON-schema dict, a dataclass, a TypedDict or a pydantic model class."""
    if isinstance(obj, dict):
        return Schema(obj, f"the dict `{name}`", lambda value: value)
    if (
        isinstance(obj, type)
        and hasattr(obj, "model_json_schema")
        and hasattr(obj, "model_validate")
    ):
        model: Any = obj
        return Schema(
            model.model_json_schema(), f"pydantic model `{obj.__name__}`", model.model_validate
        )
    if isinstance(obj, type) and dataclasses.is_dataclass(obj):
        return Schema(_type_schema(obj), f"dataclass `{obj.__name__}`", lambda v: _build(obj, v))
    if typing.is_typeddict(obj):
        return Schema(_type_schema(obj), f"TypedDict `{obj.__name__}`", lambda value: value)
    raise SchemaError(
        f"--schema {name}: expected a JSON-schema dict, a dataclass, a TypedDict or a pydantic "
        f"model class; `{name}` is {type(obj).__name__}."
    )


_PRIMITIVES: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    Any: {},
}


def _type_schema(tp: Any) -> dict[str, Any]:
    """JSON schema for a type hint (dataclasses and TypedDicts become objects)."""
    if tp in _PRIMITIVES:
        return dict(_PRIMITIVES[tp])
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_type_schema(a) for a in args]}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (list, set, frozenset, tuple) or tp in (list, set, tuple):
        items = args[0] if args else Any
        return {"type": "array", "items": _type_schema(items)}
    if origin is dict or tp is dict:
        return {"type": "object", "additionalProperties": _type_schema(args[1] if args else Any)}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": [member.value for member in tp]}
    if isinstance(tp, type) and (dataclasses.is_dataclass(tp) or typing.is_typeddict(tp)):
        hints = typing.get_type_hints(tp)
        if dataclasses.is_dataclass(tp):
            required = [
                f.name
                for f in dataclasses.fields(tp)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            ]
        else:
            required = sorted(getattr(tp, "__required_keys__", hints))
        return {
            "type": "object",
            "title": tp.__name__,
            "properties": {key: _type_schema(hint) for key, hint in hints.items()},
            "required": required,
            "additionalProperties": False,
        }
    raise SchemaError(f"--schema: cannot express the type {tp!r} as JSON schema.")


def _build(tp: Any, value: Any) -> Any:
    """Turn validated JSON into an instance of `tp` (nested dataclasses included)."""
    if isinstance(tp, type) and dataclasses.is_dataclass(tp) and isinstance(value, dict):
        hints = typing.get_type_hints(tp)
        return tp(**{k: _build(hints.get(k, Any), v) for k, v in value.items()})
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list and args and isinstance(value, list):
        return [_build(args[0], v) for v in value]
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            if arg is not type(None) and dataclasses.is_dataclass(arg) and isinstance(value, dict):
                return _build(arg, value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    return value
