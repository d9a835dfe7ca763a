"""Objects of the person's own classes, described without running any of their code."""

from __future__ import annotations

from typing import Any

from .base import Summary, escape, finish, heading, plural, value_text
from .static import (
    class_attributes,
    class_doc,
    hooks,
    instance_dict,
    kind_of,
    module_of,
    mro,
    name_of,
    readable,
    safe_type,
)

ATTRIBUTES_SHOWN = 30  # instance attributes listed at most
NAMES_SHOWN = 30  # properties, methods and other class attributes listed at most
UNREAD = (
    "Read without running its code (no repr, len, properties or __getattr__): type, docstring "
    "and the names its class and instance define. run_python can look further; it asks the "
    "person first"
)


def summarize_opaque(obj: object, name: str, budget: int, send_rows: bool) -> Summary:
    """An object whose class is not a known library's: what its class and instance hold."""
    kind = name_of(type(obj))
    lines = describe_statically(obj, send_rows)
    notes = [UNREAD] if send_rows else [UNREAD, "Attribute values withheld (send_rows=False)"]
    withheld = "" if send_rows else ", values withheld"
    return finish(
        name=name, kind=kind, header=heading(name, f"{kind} (not run)"), notes=notes,
        body=lines, brief=f"{kind}, read without running its code{withheld}", budget=budget,
    )  # fmt: skip


def describe_statically(obj: object, send_rows: bool) -> list[str]:
    """Lines about `obj`: its classes, docstring, the hooks not called, its attributes."""
    cls = type(obj)
    chain = [name_of(c) for c in mro(cls)[1:] if c is not object]
    lines = [f"Class `{name_of(cls)}`" + (f", based on {_names(chain)}" if chain else "")]
    doc = class_doc(cls)
    if doc:
        lines.append("Docstring: " + escape(doc[:400]))
    defined = hooks(cls)
    if defined:
        lines.append(f"Defines (not called): {_names(defined)}")
    lines += _instance(obj, send_rows)
    lines += _class_names(cls, send_rows)
    return lines


def _instance(obj: object, send_rows: bool) -> list[str]:
    own = [(k, v) for k, v in instance_dict(obj).items() if isinstance(k, str) and k[:1] != "_"]
    if not own:
        return []
    shown = [f"`{k}` ({name_of(type(v))}{_value(v, send_rows)})" for k, v in own[:ATTRIBUTES_SHOWN]]
    more = f", … {len(own) - ATTRIBUTES_SHOWN:,} more" if len(own) > ATTRIBUTES_SHOWN else ""
    return [f"Instance attributes: {', '.join(shown)}{more}"]


def _value(v: object, send_rows: bool) -> str:
    """` = 3`, `, 10 items`: only for values of known types, and values only with send_rows."""
    if not readable(v):
        return ""
    cls = type(v)
    if cls in (list, tuple, dict, set, frozenset):
        return ", " + plural(len(v), "key" if cls is dict else "item")  # type: ignore[arg-type]
    shape = getattr(v, "shape", None) if module_of(cls).split(".")[0] != "builtins" else None
    if isinstance(shape, tuple):
        return ", shape " + "×".join(f"{n:,}" for n in shape)
    if send_rows and cls in (bool, int, float, str, type(None)):
        return " = " + escape(repr(v) if cls is str and len(v) <= 40 else value_text(v, 40))  # type: ignore[arg-type]
    return ""


def _class_names(cls: type, send_rows: bool) -> list[str]:
    groups: dict[str, list[str]] = {}
    for attr, raw in class_attributes(cls).items():
        kind = kind_of(raw)
        if kind in ("method", "classmethod", "staticmethod"):
            groups.setdefault("Methods", []).append(f"`{attr}`")
        elif kind in ("property", "cached property"):
            groups.setdefault("Properties (not read)", []).append(f"`{attr}`")
        elif kind.startswith("descriptor"):
            groups.setdefault("Descriptors (not read)", []).append(f"`{attr}` ({kind[11:]})")
        else:
            value = _value(raw, send_rows) if safe_type(type(raw)) else ""
            groups.setdefault("Class attributes", []).append(f"`{attr}` ({kind}{value})")
    lines = []
    for title, names in groups.items():
        more = f", … {len(names) - NAMES_SHOWN:,} more" if len(names) > NAMES_SHOWN else ""
        lines.append(f"{title}: {', '.join(names[:NAMES_SHOWN])}{more}")
    return lines


def _names(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def static_note(obj: Any) -> str:
    """One line for a listing: the hooks an object's class defines, which were not called."""
    defined = hooks(type(obj))
    return f"defines {', '.join(defined)}; not called" if defined else ""
