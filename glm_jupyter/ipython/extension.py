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
from typing import TYPE_CHECKING, Any

from ..config.settings import GLM
from ..context.kernel_log import KernelLog
from ..core.session import Session
from ..display import channel
from ..errors import GLMError
from .magics import GLMMagics

if TYPE_CHECKING:
    from ..agent.runs import Agents
    from ..completion.service import CompletionService

_ACTIVE: dict[int, GLMMagics] = {}
_COMPLETIONS: dict[int, CompletionService | None] = {}


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


_TARGET = "__import__('glm_jupyter.ipython.extension').ipython.extension"


class GlmCellRewriter:
    """Input transformer (cleanup phase, before IPython's own) for `%%glm` and `%glm` lines.

    In a kernel with autoawait on, a `%%glm` cell or a cell that is one `%glm` line becomes an
    `await` of the async magic (with `%autoawait off` the synchronous magic runs instead).
    Any other `%glm` line becomes an explicit `run_line_magic` call, so that a prompt ending in
    `?` is sent, not taken by IPython as a request for help.
    """

    def __init__(self, shell: Any) -> None:
        self.in_kernel = getattr(shell, "kernel", None) is not None
        self.shell = shell

    def __call__(self, lines: list[str]) -> list[str]:
        if not lines:
            return lines
        if self.in_kernel and self.shell.autoawait:
            first = lines[0]
            if _is_magic(first, "%%glm"):
                line, body = first[len("%%glm") :].strip(), "".join(lines[1:])
                return [f"await {_TARGET}.glm_cell({line!r}, {body!r})\n"]
            text = "".join(lines).strip()
            if _is_magic(text, "%glm") and "\n" not in text:
                return [f"await {_TARGET}.glm_line({text[len('%glm') :].strip()!r})\n"]
        if _is_magic(lines[0], "%%"):
            return lines  # another cell magic owns the whole cell
        return [self._line(line) for line in lines]

    @staticmethod
    def _line(line: str) -> str:
        stripped = line.lstrip()
        if not _is_magic(stripped.rstrip("\n"), "%glm"):
            return line
        indent = line[: len(line) - len(stripped)]
        argument = stripped.rstrip("\n")[len("%glm") :].strip()
        return f"{indent}get_ipython().run_line_magic('glm', {argument!r})\n"


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
    log = KernelLog(shell)
    log.install()
    session = Session(shell, config, log=log)
    session.bind()  # `glm_jupyter.map` in this shell uses its settings and classroom ledger
    magics = GLMMagics(shell, session)
    shell.register_magics(magics)
    _ACTIVE[id(shell)] = magics
    shell.input_transformers_cleanup.append(GlmCellRewriter(shell))
    comm_manager = getattr(getattr(shell, "kernel", None), "comm_manager", None)
    if comm_manager is not None:  # a kernel: the JupyterLab extension can follow streams
        channel.install(comm_manager)
        _COMPLETIONS[id(shell)] = start_completions(shell, session)
    if not shell.custom_exceptions:
        shell.set_custom_exc((GLMError,), _show_glm_error)
        # trio (pulled in by httpx's async backend detection when installed) warns at import
        # that it cannot add its own IPython handler; it only serves its old MultiError type.
        warnings.filterwarnings(
            "ignore",
            "IPython detected, but you already have a custom exception handler",
            RuntimeWarning,
        )
    return magics


def kernel_session() -> Session:
    """The `Session` that `%%glm` uses in this kernel (loading glm_jupyter if it is not yet)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise RuntimeError(
            "kernel_session() needs IPython or a Jupyter kernel; elsewhere create "
            "glm_jupyter.Session() yourself."
        )
    return load(shell).session


def kernel_agents() -> Agents:
    """The agent runs of this kernel: `.last` is the latest `%%glm --agent` run, with its steps."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("kernel_agents() needs IPython or a Jupyter kernel.")
    return load(shell).agents


def unload(shell: Any) -> None:
    """Remove what `load` installed."""
    magics = _ACTIVE.pop(id(shell), None)
    if magics is None:
        return
    shell.input_transformers_cleanup[:] = [
        t for t in shell.input_transformers_cleanup if not isinstance(t, GlmCellRewriter)
    ]
    if shell.custom_exceptions == (GLMError,):
        shell.set_custom_exc((), None)
    if magics.session.log is not None:
        magics.session.log.uninstall()
    completions = _COMPLETIONS.pop(id(shell), None)
    if completions is not None:
        completions.stop()
    magics.close()


def start_completions(shell: Any, session: Session) -> CompletionService | None:
    """Serve inline completions for this kernel (announced beside its connection file), with
    a names table refreshed after each execution; None where the kernel has no such file."""
    from ..completion.service import CompletionService, endpoint_path
    from ..context.names import names_table

    try:
        from ipykernel.connect import get_connection_file

        where = endpoint_path(get_connection_file())
    except (ImportError, RuntimeError, AttributeError):
        return None
    if where is None:
        return None
    table = [""]
    service = CompletionService(session, lambda: table[0])

    def refresh(*_: Any) -> None:
        # On the kernel's own thread, between cells: the completion thread only reads what
        # this leaves (the names table's text, the settled settings).
        table[0] = names_table(shell.user_ns, getattr(shell, "user_ns_hidden", ()))
        service.refresh()

    refresh()
    shell.events.register("post_execute", refresh)
    service.start(where[1])
    return service
