"""The agent run log: each run's records appended, as they happen, to `<id>.jsonl` in
`config.paths.runs_dir()` (the person finds and deletes runs there); read back to list and
resume runs by `runread` (`load_run`, `list_runs`, also importable from here).

One JSON object a line. Every record has `type`, `t` (Unix seconds) and `steps` (step records
in the file so far, so a listing reads only the first and the last line):

- `run` (the first line): `version`, `id`, `started` (ISO, UTC), `question`, `model`,
  `provider`, `notebook`, `send_rows`, `budget`, `tools`, `kernel` (the kernel process),
  `fold_from` (how many messages, from the system prompt to the run's question, compaction
  never touches).
- `message`: `message`, one transcript message as `Message.as_dict()` gives it (pictures as
  what they were, never their bytes).
- `step`: `step`, a finished step as `Step.as_dict()` gives it, whole, plus `code` for an
  approved run_python step.
- `compaction`: the loop's record (`kind`, `tokens_before`, `tokens_after`, `folded_steps`, ...)
  and `splice: {start, end, messages}`: the transcript's `[start:end]` became `messages`. The
  writer works the splice out itself from the transcript after the compaction, so a reader
  rebuilds the transcript as the model last saw it by applying every record in order.
- `plan`: `items` and `explanation`, each version the model gave.
- `resumed`: what the caller says (`kernel` when it changed, budget, ...); the run is running
  again until its next `end`.
- `end`: `status`, `reason`, `usage`, `cost_usd`.

No key is ever written: every string passes the caller's scrub (`Endpoint.scrub`), the URL
redaction and a mask of the credentials in the environment. Under `send_rows=False` the log
holds no cell values: the model was sent none, except in the output of code the person
approved (run_python, their own and MCP tools), which the log keeps out. A crash loses at most
the line being written; readers skip a torn line, and `reopen` cuts it off.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..display.step import Step
from ..errors import InputError
from ..messages import Message
from ..redact import MASK, redact_text, secret_name
from .runread import SUFFIX, RunRecord, RunSummary, list_runs, load_run

__all__ = ["RunLog", "RunRecord", "RunSummary", "list_runs", "load_run"]

VERSION = 1
# This kernel process, as run logs name it: a resumed run whose log names another one knows the
# kernel restarted (or the run came from another kernel) and its variables are gone.
KERNEL = f"{os.getpid()}-{secrets.token_hex(4)}"
# Tools whose output honours send_rows (names, types, schema, statistics, docstrings).
VALUE_FREE_TOOLS = frozenset({"list_variables", "describe", "inspect", "update_plan"})
WITHHELD = "[output not kept in the run log: GLM.send_rows is off]"


class RunLog:
    """Appends one run's records to its file, a line each, flushed as it goes."""

    def __init__(
        self, path: Path, *, send_rows: bool, scrub: Callable[[str], str] | None = None
    ) -> None:
        self.path = path
        self.id = path.name.removesuffix(SUFFIX)
        self.send_rows = send_rows
        self.steps = 0
        self._transcript: list[Message] = []  # as given, for working out compaction splices
        self._scrub = scrub
        # A tool's output may print the environment: mask every credential found there.
        self._secrets = sorted(
            (v for k, v in os.environ.items() if secret_name(k) and len(v.strip()) >= 8),
            key=len,
            reverse=True,
        )

    @classmethod
    def create(
        cls,
        folder: Path,
        *,
        question: str,
        model: str,
        provider: str,
        notebook: str,
        send_rows: bool,
        budget: dict[str, Any],
        tools: list[str],
        kernel: str,
        fold_from: int,
        scrub: Callable[[str], str] | None = None,
    ) -> RunLog:
        """A new run's file in `folder` (made 0o700 if new), its header written."""
        if not folder.is_dir():
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(folder, 0o700)  # whatever the umask: runs hold the person's work
        now = time.time()
        for _ in range(100):
            run_id = time.strftime("%Y%m%d-%H%M", time.gmtime(now)) + "-" + secrets.token_hex(2)
            path = folder / (run_id + SUFFIX)
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - 100 clashes in one minute's 65,536 ids
            raise InputError(f"Could not make a new run log in {folder}; try again.")
        log = cls(path, send_rows=send_rows, scrub=scrub)
        started = datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="seconds")
        log._write(
            "run",
            version=VERSION,
            id=log.id,
            started=started.replace("+00:00", "Z"),
            question=question,
            model=model,
            provider=provider,
            notebook=notebook,
            send_rows=send_rows,
            budget=budget,
            tools=list(tools),
            kernel=kernel,
            fold_from=fold_from,
        )
        return log

    @classmethod
    def reopen(cls, run: RunRecord, *, scrub: Callable[[str], str] | None = None) -> RunLog:
        """Go on appending to a run read with `load_run` (a torn last line is cut off first)."""
        with open(run.path, "rb+") as f:
            data = f.read()
            if data and not data.endswith(b"\n"):
                f.truncate(data.rfind(b"\n") + 1)
        log = cls(run.path, send_rows=run.send_rows, scrub=scrub)
        log.steps, log._transcript = len(run.steps), list(run.messages)
        return log

    # --- records ---------------------------------------------------------------------------

    def message(self, message: Message) -> None:
        """One transcript message, as it is appended."""
        self._transcript.append(message)
        self._write("message", message=self._kept(message).as_dict())

    def step(self, step: dict[str, Any]) -> None:
        """A finished step, as the whole `Step.as_dict()` gives it."""
        record = dict(step)
        code = Step.from_dict(step).code if step.get("tool") == "run_python" else None
        if code is not None:
            record["code"] = code
        if not self.send_rows and step.get("tool") not in VALUE_FREE_TOOLS:
            record["output"] = WITHHELD
        self.steps += 1
        self._write("step", step=record)

    def compaction(self, record: dict[str, Any], messages: Sequence[Message]) -> None:
        """A compaction: the loop's record, and `messages`, the transcript after it."""
        old, new = self._transcript, list(messages)
        start = 0
        while start < min(len(old), len(new)) and _same(old[start], new[start]):
            start += 1
        keep = 0  # the unchanged tail
        while keep < min(len(old), len(new)) - start and _same(old[-1 - keep], new[-1 - keep]):
            keep += 1
        put = [self._kept(m).as_dict() for m in new[start : len(new) - keep]]
        self._transcript = new
        splice = {"start": start, "end": len(old) - keep, "messages": put}
        self._write("compaction", **{**record, "splice": splice})

    def plan(self, items: list[dict[str, Any]], explanation: str = "") -> None:
        """A new version of the model's plan."""
        self._write("plan", items=items, explanation=explanation)

    def resumed(self, record: dict[str, Any]) -> None:
        """The run goes on (`kernel`: the kernel it goes on in; whatever else the caller keeps)."""
        self._write("resumed", **record)

    def end(self, status: str, reason: str, usage: dict[str, Any], cost_usd: float | None) -> None:
        """How the run (or this stretch of it) ended; synced to disk."""
        self._write("end", status=status, reason=reason, usage=usage, cost_usd=cost_usd, sync=True)

    # --- writing ---------------------------------------------------------------------------

    def _kept(self, message: Message) -> Message:
        if self.send_rows or message.role != "tool" or message.name in VALUE_FREE_TOOLS:
            return message
        return Message("tool", WITHHELD, tool_call_id=message.tool_call_id, name=message.name)

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            text = redact_text(self._scrub(value) if self._scrub else value)
            for secret in self._secrets:
                text = text.replace(secret, MASK)
            return text
        if isinstance(value, dict):
            return {k: self._clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._clean(v) for v in value]
        return value

    def _shown(self, value: object) -> str:
        return str(self._clean(str(value)))  # what JSON cannot hold, as cleaned text

    def _write(self, kind: str, /, sync: bool = False, **fields: Any) -> None:
        record = {**self._clean(fields), "type": kind, "t": round(time.time(), 3)}
        record["steps"] = self.steps
        line = (
            json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=self._shown)
            + "\n"
        )
        data = line.encode("utf-8", "replace")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            while data:
                data = data[os.write(fd, data) :]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)


def _same(a: Message, b: Message) -> bool:
    return a is b or a == b
