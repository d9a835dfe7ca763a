"""Reading run logs back (the format: `runlog`): one run whole, with its transcript rebuilt,
or a listing that reads only each log's first and last line."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..messages import Message

SUFFIX = ".jsonl"
RAN = frozenset({"approved", "approved all", "auto"})  # verdicts under which a call runs
_TAIL = 64 * 1024  # bytes read from a log's end to find its last record


@dataclass(frozen=True)
class RunSummary:
    """One line of `%glm runs`."""

    id: str
    path: Path
    started: datetime  # local time
    status: str  # running (no end record: the kernel died or was interrupted hard), or the end's
    steps: int  # tool calls
    question: str  # its first 60 characters
    model: str


@dataclass(frozen=True)
class RunRecord:
    """A whole run, read back: the transcript as the model last saw it, and what happened."""

    id: str
    path: Path
    started: datetime
    question: str
    model: str
    provider: str
    notebook: str
    send_rows: bool
    budget: dict[str, Any]
    tools: list[str]
    kernel_session: str  # the kernel the run last ran in
    fold_from: int  # messages up to the run's question, which compaction leaves alone
    messages: list[Message]
    steps: list[dict[str, Any]]
    plan: list[dict[str, Any]]
    plan_explanation: str
    compactions: list[dict[str, Any]]
    resumes: list[dict[str, Any]]
    status: str
    reason: str
    usage: dict[str, Any] = field(default_factory=dict)
    cost_usd: float | None = None

    @property
    def approved_code(self) -> list[str]:
        """The code of the run_python steps that were approved and ran, in order."""
        return [
            s["code"]
            for s in self.steps
            if s.get("code") and s.get("approval") in RAN and s.get("status") in ("done", "error")
        ]


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            with contextlib.suppress(ValueError):  # a torn line (a crash mid-write)
                record = json.loads(line)
                if isinstance(record, dict):
                    yield record


def _started(header: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(float(header.get("t", 0)), timezone.utc).astimezone()


def load_run(folder: Path, run_id: str | None = None) -> RunRecord:
    """The run `run_id` (a unique start of it will do), or the most recent run (None)."""
    path = _find(folder, run_id)
    records = _records(path)
    header = next(records, {})
    if header.get("type") != "run":
        raise InputError(f"{path} is not a run log (its first line is no run record).")
    messages: list[Message] = []
    steps, compactions, resumes = [], [], []
    plan: list[dict[str, Any]] = []
    explanation = ""
    end: dict[str, Any] = {}
    kernel, status = str(header.get("kernel", "")), "running"
    for r in records:
        kind = r.get("type")
        if kind == "message":
            messages.append(Message.from_dict(r["message"]))
        elif kind == "step":
            steps.append(r["step"])
        elif kind == "compaction":
            splice = r.get("splice", {})
            put = [Message.from_dict(m) for m in splice.get("messages", ())]
            messages[splice.get("start", 0) : splice.get("end", 0)] = put
            compactions.append({k: v for k, v in r.items() if k not in ("type", "splice")})
        elif kind == "plan":
            plan, explanation = list(r.get("items", [])), str(r.get("explanation", ""))
        elif kind == "resumed":
            resumes.append(r)
            kernel, status, end = str(r.get("kernel", kernel)), "running", {}
        elif kind == "end":
            end, status = r, str(r.get("status", "done"))
    return RunRecord(
        id=path.name.removesuffix(SUFFIX),
        path=path,
        started=_started(header),
        question=str(header.get("question", "")),
        model=str(header.get("model", "")),
        provider=str(header.get("provider", "")),
        notebook=str(header.get("notebook", "")),
        send_rows=bool(header.get("send_rows", True)),
        budget=dict(header.get("budget") or {}),
        tools=list(header.get("tools") or []),
        kernel_session=kernel,
        fold_from=int(header.get("fold_from", 0)),
        messages=messages,
        steps=steps,
        plan=plan,
        plan_explanation=explanation,
        compactions=compactions,
        resumes=resumes,
        status=status,
        reason=str(end.get("reason", "")),
        usage=dict(end.get("usage") or {}),
        cost_usd=end.get("cost_usd"),
    )


def _find(folder: Path, run_id: str | None) -> Path:
    """The file of `run_id` (ids are only matched against the folder's names, never joined
    into a path), else an InputError that says which runs there are."""
    if run_id is None:
        newest = list_runs(folder, 1)
        if not newest:
            raise InputError(f"No agent runs are kept in {folder} yet.")
        return newest[0].path
    wanted = run_id.strip().removesuffix(SUFFIX)
    ids = _ids(folder)
    if wanted in ids:
        return folder / (wanted + SUFFIX)
    matches = [i for i in ids if wanted and i.startswith(wanted)]
    if len(matches) == 1:
        return folder / (matches[0] + SUFFIX)
    if matches:
        raise InputError(
            f"{run_id!r} starts more than one run ({', '.join(matches[:5])}): type more of it."
        )
    recent = ", ".join(s.id for s in list_runs(folder, 5)) or "none yet"
    raise InputError(
        f"No run {run_id!r} in {folder}. Recent runs: {recent}. `%glm runs` lists them."
    )


def _ids(folder: Path) -> list[str]:
    """The run ids in `folder`, newest name first."""
    if not folder.is_dir():
        return []
    return sorted((p.name.removesuffix(SUFFIX) for p in folder.glob("*" + SUFFIX)), reverse=True)


def _last_record(path: Path) -> dict[str, Any]:
    """The last whole record of a log, read from its end."""
    size, chunk = path.stat().st_size, _TAIL
    with open(path, "rb") as f:
        while True:
            f.seek(max(size - chunk, 0))
            lines = f.read().split(b"\n")
            if chunk < size:
                lines = lines[1:]  # the first piece may be the end of a longer line
            for line in reversed(lines):
                with contextlib.suppress(ValueError):
                    record = json.loads(line)
                    if isinstance(record, dict):
                        return record
            if chunk >= size:
                return {}
            chunk *= 4  # one record longer than the chunk: read further back


def _summary(path: Path) -> RunSummary | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            header = json.loads(f.readline())
        last = _last_record(path)
    except (OSError, ValueError):
        return None
    if not isinstance(header, dict) or header.get("type") != "run":
        return None
    question = " ".join(str(header.get("question", "")).split())
    return RunSummary(
        id=path.name.removesuffix(SUFFIX),
        path=path,
        started=_started(header),
        status=str(last.get("status", "done")) if last.get("type") == "end" else "running",
        steps=int(last.get("steps", 0)),
        question=question if len(question) <= 60 else question[:59] + "…",
        model=str(header.get("model", "")),
    )


def list_runs(folder: Path, limit: int = 20) -> list[RunSummary]:
    """The newest `limit` runs in `folder`, newest first."""
    found: list[RunSummary] = []
    for run_id in _ids(folder) if limit > 0 else ():
        # Ids sort by the minute: past `limit`, only runs of the last kept minute may be newer.
        if len(found) >= limit and run_id[:13] < found[-1].id[:13]:
            break
        summary = _summary(folder / (run_id + SUFFIX))
        if summary is not None:  # an empty or foreign file is not a run
            found.append(summary)
    found.sort(key=lambda s: (s.started, s.id), reverse=True)
    return found[:limit]
