"""The package's shape: one exception tree, exported whole."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import glm_jupyter
from glm_jupyter import errors


def _modules() -> list[str]:
    """Every module of the package except the simulator (a program of its own)."""
    found = pkgutil.walk_packages(glm_jupyter.__path__, "glm_jupyter.")
    return sorted(m.name for m in found if not m.name.startswith("glm_jupyter.simulator"))


def test_every_error_of_the_project_is_in_the_one_tree() -> None:
    strays = []
    for name in _modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == name
                and name != "glm_jupyter.errors"
            ):
                strays.append(f"{name}.{value.__name__}")
    assert strays == []
    for value in vars(errors).values():
        if inspect.isclass(value) and value.__module__ == errors.__name__:
            assert issubclass(value, errors.GLMError), value


def test_the_tree_is_drawn_and_exported() -> None:
    defined = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and value.__module__ == errors.__name__
    }
    assert set(errors.__all__) == defined
    assert defined <= set(glm_jupyter.__all__)
    for name in defined:
        assert getattr(glm_jupyter, name) is getattr(errors, name)
        assert re.search(rf"\s{name}\s", errors.__doc__ or ""), f"{name} is not drawn"
