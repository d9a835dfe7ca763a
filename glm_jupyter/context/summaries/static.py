"""What can be learned about an object without running any of the person's code.

Read-only agent tools and the context flags describe objects the model or a document chose, so
they may call no property getter, `__getattr__`, `__repr__`, `__len__`, `__iter__`, `__bool__`,
`__hash__` or descriptor of a class the person (or a library we do not know) wrote. Types whose
whole MRO comes from a known library (the standard types, NumPy, pandas, polars) are read as
usual; any other object is known by its type, its class's docstring and what its class and
instance dictionaries hold, read with `inspect.getattr_static` and the `type` slots directly.
"""

from __future__ import annotations

import inspect
import types
from typing import Any

# Libraries whose own methods (repr, len, shape, dtype) are cheap and touch nothing outside
# the object. Subclasses defined elsewhere are not trusted: their MRO names another module.
SAFE_ROOTS = frozenset(
    {
        "builtins",
        "collections",
        "datetime",
        "decimal",
        "fractions",
        "uuid",
        "pathlib",
        "ipaddress",
        "zoneinfo",
        "numpy",
        "pandas",
        "polars",
        "glm_jupyter",
    }
)
_CACHE_LIMIT = 2048
_cache: dict[int, tuple[type, bool]] = {}  # id -> (the class, kept so its id stays its own)

_MRO = type.__dict__["__mro__"]
_MODULE = type.__dict__["__module__"]
_DOC = type.__dict__["__doc__"]
_QUALNAME = type.__dict__["__qualname__"]
_DICT = type.__dict__["__dict__"]
_METACLASS_ROOTS = SAFE_ROOTS | {"abc", "enum", "typing"}
_CONTAINERS = (list, tuple, set, frozenset, dict)


def mro(cls: type) -> tuple[type, ...]:
    """`cls.__mro__`, read from the `type` slot (a metaclass property cannot run)."""
    return tuple(_MRO.__get__(cls, type))


def own_dict(cls: type) -> Any:
    """The class's own namespace (a mappingproxy), read from the `type` slot."""
    return _DICT.__get__(cls, type)


def module_of(cls: type) -> str:
    """The module a class was defined in, read from the class's own dictionary."""
    try:
        module = _MODULE.__get__(cls, type)
    except Exception:
        return ""
    return module if isinstance(module, str) else ""


def qualname_of(cls: type) -> str:
    """The class's `__qualname__`, read from the `type` slot."""
    return str(_QUALNAME.__get__(cls, type))


def name_of(cls: type) -> str:
    """`module.QualName` of a class (`QualName` for builtins), read statically."""
    module = module_of(cls)
    return qualname_of(cls) if module == "builtins" else f"{module}.{qualname_of(cls)}"


def safe_type(cls: type) -> bool:
    """Whether every class in `cls`'s MRO comes from a library whose methods are safe to call."""
    key = id(cls)
    hit = _cache.get(key)
    if hit is not None and hit[0] is cls:
        return hit[1]
    try:
        meta = module_of(type(cls)).split(".")[0]  # no metaclass of the person's either
        safe = meta in _METACLASS_ROOTS and all(
            module_of(c).split(".")[0] in SAFE_ROOTS for c in mro(cls)
        )
    except Exception:
        safe = False
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    _cache[key] = (cls, safe)
    return safe


def readable(obj: object) -> bool:
    """Whether `repr(obj)`, `len(obj)` and its library's accessors run none of the person's
    code: a safe type that holds no arbitrary Python objects, or a built-in container (whose
    items the bounded repr checks one by one)."""
    cls = type(obj)
    if not safe_type(cls):
        return False
    if cls in _CONTAINERS:
        return True
    return not holds_objects(obj)


def holds_objects(obj: object) -> bool:
    """A value of a safe type whose repr shows other, arbitrary Python objects: NumPy, pandas
    or polars data of the object dtype, a bound method, a collections container."""
    cls = type(obj)
    if cls is types.MethodType:
        return not readable(obj.__self__)  # type: ignore[attr-defined]
    root = module_of(cls).split(".")[0]
    if root == "collections":
        return True
    if root not in ("numpy", "pandas", "polars"):
        return False
    try:
        dtypes = getattr(obj, "dtypes", None)
        if root == "pandas" and dtypes is not None and hasattr(dtypes, "tolist"):
            return any(str(d) == "object" for d in dtypes.tolist())
        if root == "polars" and isinstance(dtypes, list):
            return any(str(d) == "Object" for d in dtypes)
        return str(getattr(obj, "dtype", "")) in ("object", "Object")
    except Exception:
        return True


def placeholder(obj: object) -> str:
    """How an object not read is shown in place of its repr: `<module.Class object>`."""
    return f"<{name_of(type(obj))} object>"


def class_doc(cls: type) -> str:
    """The class's own docstring (not inherited), first paragraph, or ""."""
    try:
        doc = _DOC.__get__(cls, type)
    except Exception:
        return ""
    if not isinstance(doc, str):
        return ""
    return inspect.cleandoc(doc).split("\n\n")[0].strip()


def instance_dict(obj: object) -> dict[str, Any]:
    """The instance's own `__dict__`, or {} (slots, no dict, or a dict guarded by a property)."""
    try:
        found = inspect.getattr_static(obj, "__dict__")
        if type(found) in (types.GetSetDescriptorType, types.MemberDescriptorType):
            # the slot `type` (or the module type) made: it runs nothing
            found = found.__get__(obj, type(obj))
    except Exception:
        return {}
    return found if type(found) is dict else {}


def kind_of(value: object) -> str:
    """What a class attribute is, without calling it: `property`, `method`, `descriptor ...`."""
    cls = type(value)
    if cls is property:
        return "property"
    if cls in (types.FunctionType, types.BuiltinFunctionType, types.MethodDescriptorType):
        return "method"
    if cls is classmethod:
        return "classmethod"
    if cls is staticmethod:
        return "staticmethod"
    if name_of(cls) == "functools.cached_property":
        return "cached property"
    if cls in (types.MemberDescriptorType, types.GetSetDescriptorType):
        return "slot"
    if _has(cls, "__get__"):
        return f"descriptor {name_of(cls)}"
    if isinstance(value, type):
        return "class"
    return name_of(cls)


def runs_code(value: object) -> bool:
    """Whether reading this class attribute through an instance would run code: properties,
    cached properties and other descriptors (plain functions only bind, which runs nothing)."""
    cls = type(value)
    if cls in (types.FunctionType, staticmethod, classmethod):
        return False
    return _has(cls, "__get__")


def _has(cls: type, name: str) -> bool:
    return any(name in own_dict(c) for c in mro(cls))


def hooks(cls: type) -> list[str]:
    """The special methods the person's classes in `cls`'s MRO define that reading would call."""
    found: list[str] = []
    for c in mro(cls):
        if module_of(c).split(".")[0] in SAFE_ROOTS:
            continue
        for name in HOOKS:
            if name in own_dict(c) and name not in found:
                found.append(name)
    return found


HOOKS = (
    "__getattr__",
    "__getattribute__",
    "__repr__",
    "__str__",
    "__len__",
    "__iter__",
    "__bool__",
    "__hash__",
    "__eq__",
    "__sizeof__",
    "__dir__",
    "__getitem__",
)


def static_lookup(obj: object, name: str) -> Any:
    """`obj.name` as the class or instance dictionaries hold it (AttributeError if neither):
    a property comes back as the property object, a method as its function."""
    return inspect.getattr_static(obj, name)


def class_attributes(cls: type) -> dict[str, object]:
    """Public names defined by the person's classes in the MRO (nearest first), raw."""
    found: dict[str, object] = {}
    for c in mro(cls):
        if module_of(c).split(".")[0] in SAFE_ROOTS:
            continue
        for name, value in own_dict(c).items():
            if isinstance(name, str) and not name.startswith("_") and name not in found:
                found[name] = value
    return found
