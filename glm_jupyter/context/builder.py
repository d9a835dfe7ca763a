"""Context from the live kernel, as prompt blocks: dataframes, variables, cells, error, notebook.

Blocks sort into one fixed order (notebook, cells, dataframes and variables by name, error) and
their text depends only on the data, so the same context gives the same bytes and the
provider's prefix cache can reuse it.
"""

from __future__ import annotations

import base64
import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..messages import Image
from .kernel_log import CellRecord, ErrorRecord, KernelLog, strip_ansi

FRAME_TYPES = ("DataFrame", "Series", "LazyFrame")


@dataclass(frozen=True)
class ContextBlock:
    """One piece of context: its text for the prompt, and a short line for the person."""

    order: tuple[int, str]
    label: str
    text: str
    tokens: int
    brief: str

    def sent(self) -> dict[str, Any]:
        """What the response JSON records about this block."""
        return {"name": self.label, "tokens": self.tokens, "brief": self.brief}


def is_frame(obj: object) -> bool:
    """A pandas or polars DataFrame or Series (checked without importing either)."""
    module = type(obj).__module__.split(".")[0]
    return module in ("pandas", "polars") and type(obj).__name__ in FRAME_TYPES


def _tokens(text: str) -> int:
    from .tokens import estimate_tokens

    return estimate_tokens(text)


def _clip(text: str, chars: int) -> str:
    return (
        text if len(text) <= chars else text[:chars] + f"… [{len(text) - chars:,} characters cut]"
    )


class ContextBuilder:
    """Builds blocks from one kernel's namespace and log."""

    def __init__(self, shell: Any, log: KernelLog | None, *, budget: int, send_rows: bool) -> None:
        self.shell = shell
        self.log = log
        self.budget = budget
        self.send_rows = send_rows

    @property
    def namespace(self) -> dict[str, Any]:
        """The user's variables."""
        return self.shell.user_ns if self.shell is not None else {}

    def lookup(self, name: str, flag: str) -> Any:
        """A variable by name, or an InputError that suggests close matches."""
        ns = self.namespace
        if name in ns and not name.startswith("_"):
            return ns[name]
        public = [k for k in ns if not k.startswith("_")]
        close = difflib.get_close_matches(name, public, n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(f'`{c}`' for c in close)}?" if close else ""
        raise InputError(f"{flag} {name}: there is no variable `{name}` in the notebook.{hint}")

    def summary(self, name: str, obj: Any, order: int) -> ContextBlock:
        """Any object, summarised within the budget."""
        from .summaries import summarize

        s = summarize(obj, name, budget=self.budget, send_rows=self.send_rows)
        return ContextBlock((order, name), f"`{name}`", s.text, s.tokens, s.brief)

    def dataframe(self, name: str) -> ContextBlock:
        """`--df NAME`."""
        obj = self.lookup(name, "--df")
        if not is_frame(obj):
            raise InputError(
                f"--df {name}: `{name}` is a {type(obj).__name__}, not a pandas or polars "
                f"DataFrame or Series; send it with --var {name}."
            )
        return self.summary(name, obj, 2)

    def variable(self, name: str) -> ContextBlock:
        """`--var NAME`."""
        return self.summary(name, self.lookup(name, "--var"), 2)

    def image(self, name: str) -> Image:
        """`--image NAME`: a picture in a variable, or an image file by its path."""
        from . import images

        if name not in self.namespace and os.path.isfile(name):
            return images.picture(name, os.path.basename(name))
        try:
            value = self.lookup(name, "--image")
        except InputError as exc:
            raise InputError(f"{exc} Nor is there an image file of that name.") from None
        return images.picture(value, name)

    def figure(self) -> Image:
        """`--figure`: the last picture a cell displayed (a plot, usually)."""
        from . import images

        shown = self.log.last_figure() if self.log is not None else None
        if shown is None:
            raise InputError(
                "--figure: no cell has displayed a picture yet in this kernel. Run the cell that "
                "plots it, or name the figure with --image NAME."
            )
        encoded, number = shown
        label = f"the figure from In [{number}]" if number is not None else "the last figure"
        return images.from_bytes(base64.b64decode(encoded), label)

    def cells(self, count: int) -> ContextBlock:
        """`--cells N`: the last N executed cells, source and (clipped) outputs."""
        if count <= 0:
            raise InputError(f"--cells takes a positive number of cells; got {count}.")
        recent = self.log.recent(count) if self.log is not None else []
        parts = [f"### The last {len(recent)} executed cells"]
        if not recent:
            parts.append("*(no cells have run yet in this kernel)*")
        for cell in recent:
            parts += self._cell_parts(cell)
        text = "\n\n".join(parts)
        tokens = _tokens(text)
        return ContextBlock(
            (1, ""),
            f"last {len(recent)} cells",
            text,
            tokens,
            f"{len(recent)} cells, {tokens:,} tokens",
        )

    def cell(self, number: int) -> ContextBlock:
        """`--cell N`: cell In [N], its (clipped) outputs and the traceback of any error."""
        record = self.log.cell(number) if self.log is not None else None
        if record is None:
            raise InputError(
                f"--cell {number}: In [{number}] has not run in this kernel, or is older than "
                "the last 50 cells it keeps. Run that cell again, then ask."
            )
        parts = self._cell_parts(record)
        if record.error is not None:
            parts.append(self._traceback(record.error))
        text = "\n\n".join(parts)
        tokens = _tokens(text)
        failed = ", raised " + record.error.type_name if record.error else ""
        return ContextBlock(
            (1, f"{number:09d}"), f"In [{number}]", text, tokens, f"{tokens:,} tokens{failed}"
        )

    def _cell_parts(self, cell: CellRecord) -> list[str]:
        parts = [f"In [{cell.number}]:\n```python\n{_clip(cell.source, 4000)}\n```"]
        if cell.outputs and self.send_rows:
            parts.append("Output:\n```text\n" + _clip("".join(cell.outputs), 2000) + "\n```")
        elif cell.outputs:
            parts.append("*(output withheld: --no-rows)*")
        return parts

    def _traceback(self, error: ErrorRecord) -> str:
        message = error.message if self.send_rows else "(message withheld: --no-rows)"
        return (
            f"It raised {error.type_name}: {message}\n\n```text\n{_clip(error.traceback, 6000)}"
            "\n```"
        )

    def error(self, record: ErrorRecord | None = None) -> ContextBlock:
        """`--error`: the last exception (or `record`), its traceback and the failing cell."""
        error = record or (self.log.last_error if self.log is not None else None)
        if error is None:
            raise InputError("There is no error to send yet: --error needs a cell that raised.")
        message = error.message if self.send_rows else "(message withheld: --no-rows)"
        where = f"In [{error.number}]" if error.number is not None else "the cell"
        text = (
            f"### The last error: {error.type_name}\n"
            f"{error.type_name}: {message}\n\n```text\n{_clip(error.traceback, 6000)}\n```\n\n"
            f"The cell that raised it ({where}):\n```python\n{_clip(error.cell_source, 6000)}\n```"
        )
        tokens = _tokens(text)
        return ContextBlock(
            (4, ""), "last error", text, tokens, f"{error.type_name}, {tokens:,} tokens"
        )

    def notebook(self, path: str) -> ContextBlock:
        """`--notebook [PATH]`: the saved notebook (this one when no path is given)."""
        import nbformat

        target = Path(path) if path else self.current_notebook()
        try:
            nb = nbformat.read(target, as_version=4)
        except FileNotFoundError:
            raise InputError(f"--notebook: no notebook at {target}.") from None
        except Exception as exc:
            raise InputError(f"--notebook: cannot read {target}: {exc}") from None
        parts = [f"### Notebook {target.name} (as last saved)"]
        for index, cell in enumerate(nb.cells, 1):
            fence = "python" if cell.cell_type == "code" else "markdown"
            parts.append(
                f"Cell {index} ({cell.cell_type}):\n```{fence}\n{_clip(cell.source, 3000)}\n```"
            )
            outputs = [_output_text(o) for o in cell.get("outputs", [])]
            if outputs and self.send_rows:
                parts.append("Output:\n```text\n" + _clip("".join(outputs), 1500) + "\n```")
        text = "\n\n".join(parts)
        limit = self.budget * 4
        if _tokens(text) > limit:
            text = _fit(text, limit) + "\n\n*Cut to fit the notebook budget.*"
        tokens = _tokens(text)
        return ContextBlock(
            (0, ""),
            f"notebook {target.name}",
            text,
            tokens,
            f"{len(nb.cells)} cells, {tokens:,} tokens",
        )

    def current_notebook(self) -> Path:
        """This kernel's notebook: JupyterLab and Notebook 7 set JPY_SESSION_NAME, VS Code too."""
        vscode = self.namespace.get("__vsc_ipynb_file__")
        for candidate in (os.environ.get("JPY_SESSION_NAME"), vscode):
            if candidate and str(candidate).endswith(".ipynb"):
                return Path(candidate)
        raise InputError(
            "--notebook: cannot tell which notebook this kernel belongs to (neither "
            "JPY_SESSION_NAME nor VS Code's __vsc_ipynb_file__ is set). Give the path: "
            "--notebook=analysis.ipynb"
        )


def _output_text(output: dict[str, Any]) -> str:
    if output.get("output_type") == "stream":
        return str(output.get("text", ""))
    if output.get("output_type") == "error":
        return f"{output.get('ename')}: {output.get('evalue')}\n"
    data = output.get("data", {})
    if "text/plain" in data:
        return strip_ansi(str(data["text/plain"])) + "\n"
    return "[" + ", ".join(sorted(data)) + "]\n"


def _fit(text: str, limit: int) -> str:
    """The longest head of `text` within `limit` tokens (binary search on characters)."""
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if _tokens(text[:mid]) <= limit:
            low = mid
        else:
            high = mid - 1
    return text[:low]
