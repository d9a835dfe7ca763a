"""What ran in this kernel: recent cells with their outputs, and the last error with its cell.

IPython keeps cell sources (`In`) and results (`Out`) but not what a cell printed or
displayed, so this log listens where outputs leave: it wraps the `write` of the stdout and
stderr streams it finds (the stream objects themselves stay, so code that checks their type is
unaffected), and in a kernel it uses the display publisher's hook, keyed by the request that
produced each display. Everything is bounded: the last `keep` cells, `chars` characters of
output each.
"""

from __future__ import annotations

import contextlib
import re
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..redact import redact_text
from .tee import StreamTee

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_INTERNAL = ("/IPython/", "/ipykernel/", "/glm_jupyter/")


def strip_ansi(text: str) -> str:
    """Text without terminal colour codes."""
    return _ANSI.sub("", text)


@dataclass
class ErrorRecord:
    """The last exception: type, message, plain traceback, and the cell that raised it."""

    type_name: str
    message: str
    traceback: str  # frames only, without the final "Type: message" line
    cell_source: str
    number: int | None


@dataclass
class CellRecord:
    """One executed cell and what it showed, clipped."""

    number: int | None
    source: str
    outputs: list[str] = field(default_factory=list)
    size: int = 0
    finished: bool = False
    error: ErrorRecord | None = None


def format_traceback(exc: BaseException, shell: Any = None) -> str:
    """`exc`'s traceback as plain text, without IPython's and glm-jupyter's own frames."""
    te = traceback.TracebackException.from_exception(exc)
    frames = [f for f in te.stack if not any(part in f.filename for part in _INTERNAL)]
    compiler = getattr(shell, "compile", None)
    lines = ["Traceback (most recent call last):"]
    for frame in frames:
        where = frame.filename
        named = getattr(compiler, "format_code_name", None)
        label = named(where) if named else None
        if label:
            where = " ".join(label)  # e.g. "Cell In[3]"
        lines.append(f'  File "{where}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
    return "\n".join(lines)


class KernelLog:
    """Records recent cells, their outputs and the last error; install() hooks it in."""

    def __init__(self, shell: Any, *, keep: int = 50, chars: int = 4000) -> None:
        self.shell = shell
        self.chars = chars
        self.cells: deque[CellRecord] = deque(maxlen=keep)
        self.last_error: ErrorRecord | None = None
        self._by_request: dict[str, CellRecord] = {}
        self._displays: dict[str, tuple[CellRecord, int]] = {}
        self._hooked: list[Any] = []
        # The last PNG or JPEG a cell displayed (`--figure`), kept as it arrived (base64).
        self._figure: tuple[str, CellRecord] | None = None
        self._tee: StreamTee | None = None  # per cell, inside IPython's own tee
        self._depth = 0  # nested run_cell calls (agent code) are part of the running cell

    # --- wiring ------------------------------------------------------------------------------

    def install(self) -> None:
        """Listen to cell execution and, in a kernel, to the output streams and displays."""
        self.shell.events.register("pre_run_cell", self._pre_run_cell)
        self.shell.events.register("post_run_cell", self._post_run_cell)
        publisher: Any = getattr(self.shell, "display_pub", None)
        if hasattr(publisher, "register_hook") and hasattr(publisher, "unregister_hook"):
            publisher.register_hook(self._output_hook)
            self._hooked.append(publisher)

    def uninstall(self) -> None:
        """Undo install()."""
        for name, callback in (
            ("pre_run_cell", self._pre_run_cell),
            ("post_run_cell", self._post_run_cell),
        ):
            with contextlib.suppress(ValueError):
                self.shell.events.unregister(name, callback)
        for source in self._hooked:
            source.unregister_hook(self._output_hook)
        self._hooked.clear()
        self._untee_streams()

    def _request_id(self) -> str | None:
        header = getattr(self.shell, "parent_header", None) or {}
        header = header.get("header", header)
        msg_id = header.get("msg_id")
        return str(msg_id) if msg_id else None

    def _untee_streams(self) -> None:
        if self._tee is not None:
            self._tee.remove()
            self._tee = None

    def _pre_run_cell(self, info: Any) -> None:
        self._depth += 1
        if self._depth > 1:
            return  # code an agent runs inside a cell belongs to that cell
        record = CellRecord(number=None, source=info.raw_cell or "")  # In [N] is known after

        self.cells.append(record)
        self._untee_streams()
        self._tee = StreamTee(lambda _channel, text: self._add(record, strip_ansi(text)))
        self._tee.install()
        request = self._request_id()
        if request:
            self._by_request = {request: record}  # only the running request can still print
        live = {id(r) for r in self.cells}
        self._displays = {k: v for k, v in self._displays.items() if id(v[0]) in live}

    def _post_run_cell(self, result: Any) -> None:
        self._depth = max(self._depth - 1, 0)
        if self._depth > 0:
            return
        self._untee_streams()
        record = self.cells[-1] if self.cells else None
        if record is None:
            return
        record.finished = True
        # Only cells kept in history have an In [N] of their own; others would share the next
        # N. IPython 9 counts up before pre_run_cell, IPython 8 after: the result knows for sure.
        if getattr(result.info, "store_history", True):
            record.number = result.execution_count
        if result.result is not None:
            self._add(record, _safe_repr(result.result))
        error = result.error_before_exec or result.error_in_exec
        if error is not None and not isinstance(error, KeyboardInterrupt):
            # The error goes to the model with --error or %glm explain: no URL credentials.
            self.last_error = record.error = ErrorRecord(
                type_name=type(error).__name__,
                message=redact_text(str(error)),
                traceback=redact_text(format_traceback(error, self.shell)),
                cell_source=record.source,
                number=record.number,
            )
            self._add(record, f"{type(error).__name__}: {error}")

    def _output_hook(self, msg: dict[str, Any]) -> dict[str, Any]:
        # Runs in ipykernel's IO thread for streams: only touches bounded records.
        with contextlib.suppress(Exception):  # a log must never break the output it watches
            self._take(msg)
        return msg

    def _take(self, msg: dict[str, Any]) -> None:
        kind = msg.get("header", {}).get("msg_type")
        content = msg.get("content", {})
        display_id = (content.get("transient") or {}).get("display_id")
        if kind == "update_display_data":
            # A display updated in place (a streaming answer): its latest text replaces the old.
            if display_id in self._displays:
                owner, index = self._displays[display_id]
                self._replace(owner, index, _display_text(content.get("data", {})))
            return
        parent = msg.get("parent_header", {}).get("msg_id")
        record = self._by_request.get(parent) if parent else None
        if record is None:
            return
        if "data" in content:
            data = content["data"]
            encoded = data.get("image/png") or data.get("image/jpeg")
            if isinstance(encoded, str):
                self._figure = (encoded, record)
            self._add(record, _display_text(data))
            if display_id:
                self._displays[display_id] = (record, len(record.outputs) - 1)

    def _add(self, record: CellRecord, text: str) -> None:
        text = redact_text(text)  # outputs are sent as context: no URL credentials in them
        room = self.chars - record.size
        if room <= 0:
            return
        piece = text if len(text) <= room else text[:room] + "…"
        record.outputs.append(piece)
        record.size += len(piece)

    def _replace(self, record: CellRecord, index: int, text: str) -> None:
        if index >= len(record.outputs):
            return
        text = redact_text(text)
        room = self.chars - (record.size - len(record.outputs[index]))
        piece = text if len(text) <= room else text[: max(room, 0)] + "…"
        record.size += len(piece) - len(record.outputs[index])
        record.outputs[index] = piece

    # --- reading -----------------------------------------------------------------------------

    def recent(self, count: int) -> list[CellRecord]:
        """The last `count` finished cells, oldest first (the cell asking is not one of them)."""
        finished = [c for c in self.cells if c.finished]
        return finished[-count:] if count > 0 else []

    def last_figure(self) -> tuple[str, int | None] | None:
        """The last picture a cell displayed (base64 PNG or JPEG), and that cell's In [N]."""
        if self._figure is None:
            return None
        encoded, record = self._figure
        return encoded, record.number

    def cell(self, number: int) -> CellRecord | None:
        """The finished cell that ran as In [number], if the log still holds it."""
        return next((c for c in reversed(self.cells) if c.finished and c.number == number), None)


def _safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:
        return f"<repr failed: {type(exc).__name__}>"
    return text if len(text) <= 2000 else text[:2000] + "…"


def _display_text(data: dict[str, Any]) -> str:
    if "text/plain" in data:
        text = str(data["text/plain"])
        kinds = [k for k in data if k.startswith("image/")]
        return text + (f" [{', '.join(kinds)} shown]" if kinds else "")
    return "[" + ", ".join(sorted(data)) + " shown]"
