"""`%load_ext glm_jupyter`: register the magics, the `GLM` config class, and the async cell path.

In a kernel, an input transformer rewrites a `%%glm` cell (and a cell that is a single `%glm`
line) into a top-level `await` of the magic's coroutine before IPython decides how to run it.
ipykernel then runs the whole magic as a task on its event loop: the answer streams, widgets
stay clickable, and an interrupt arrives as a cancellation that the session turns into
"interrupted" while keeping what arrived. Terminal IPython and `run_cell_magic` callers take the
synchronous path.
"""

from __future__ import annotations

import warnings
from typing import Any

from .errors import GLMError
from .magics import GLMMagics
from .runner import Session
from .settings import GLM

_ACTIVE: dict[int, GLMMagics] = {}


def _magics() -> GLMMagics:
    from IPython import get_ipython

    shell = get_ipython()
    magics = _ACTIVE.get(id(shell))
    if magics is None:
        raise RuntimeError("glm_jupyter is not loaded in this shell: run %load_ext glm_jupyter")
    return magics


async def glm_cell(line: str, cell: str) -> None:
    """Target of the rewritten `%%glm` cell."""
    await _magics().glm_cell_async(line, cell)


async def glm_line(line: str) -> None:
    """Target of a rewritten single-line `%glm` cell."""
    await _magics().glm_line_async(line)


def _is_magic(first: str, name: str) -> bool:
    return first.startswith(name) and (len(first) == len(name) or first[len(name)].isspace())


def rewrite_glm_cell(lines: list[str]) -> list[str]:
    """Input transformer: `%%glm` cells become an `await` of the async magic."""
    if not lines:
        return lines
    first = lines[0]
    target = "__import__('glm_jupyter.extension').extension"
    if _is_magic(first, "%%glm"):
        line = first[len("%%glm"):].strip()
        body = "".join(lines[1:])
        return [f"await {target}.glm_cell({line!r}, {body!r})\n"]
    text = "".join(lines).strip()
    if _is_magic(text, "%glm") and "\n" not in text:
        return [f"await {target}.glm_line({text[len('%glm'):].strip()!r})\n"]
    return lines


def _show_glm_error(
    shell: Any, etype: type[BaseException], value: BaseException, tb: Any, tb_offset: Any = None
) -> Any:
    # A GLMError's message already says what happened and what to do; a traceback through
    # httpx would only bury it (and, in verbose mode, print frame locals).
    stb = shell.InteractiveTB.get_exception_only(etype, value)
    shell._showtraceback(etype, value, stb)  # ipykernel sends this as the cell's error output
    return stb


def load(shell: Any) -> GLMMagics:
    """Install glm-jupyter into `shell` (idempotent)."""
    if id(shell) in _ACTIVE:
        return _ACTIVE[id(shell)]
    config = GLM(parent=shell)
    shell.configurables.append(config)
    magics = GLMMagics(shell, Session(shell, config))
    shell.register_magics(magics)
    _ACTIVE[id(shell)] = magics
    if getattr(shell, "kernel", None) is not None:
        shell.input_transformers_cleanup.append(rewrite_glm_cell)
    if not shell.custom_exceptions:
        shell.set_custom_exc((GLMError,), _show_glm_error)
        # trio (pulled in by httpx's async backend detection when installed) warns at import
        # that it cannot add its own IPython handler; it only serves its old MultiError type.
        warnings.filterwarnings(
            "ignore", "IPython detected, but you already have a custom exception handler",
            RuntimeWarning,
        )
    return magics


def unload(shell: Any) -> None:
    """Remove what `load` installed."""
    magics = _ACTIVE.pop(id(shell), None)
    if magics is None:
        return
    if rewrite_glm_cell in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.remove(rewrite_glm_cell)
    if shell.custom_exceptions == (GLMError,):
        shell.set_custom_exc((), None)
    magics.session.close()
