"""One call of `map`/`amap`: the pipeline of the active session (or of this process), the cache
look-up, the cost check, the run (on a worker thread's loop, or the caller's), and the result."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from ..core.guard import process_guard
from ..core.pipeline import Pipeline
from ..display.progress import INTERVAL, Bar, Tally, make_bar, show_line
from .bridge import run_blocking
from .cache import AnswerCache
from .engine import Batch
from .estimate import SHOW_ABOVE, check, estimate
from .job import Job, plan
from .options import BatchOptions
from .outputs import Outcome, assemble, where_errors
from .report import Report, keep


def default_pipeline() -> Pipeline:
    """The pipeline of the shell's session when glm_jupyter is loaded, else one for this process."""
    from ..core.session import current

    session = current()
    if session is not None:
        return session.pipeline
    from ..config.settings import GLM

    ipython = sys.modules.get("IPython")  # found when loaded, never imported from here
    shell = ipython.get_ipython() if ipython is not None else None
    config = GLM(parent=shell) if shell is not None else GLM()  # `c.GLM.*` still applies
    # Without a session, the classroom policy's token cap counts this process's usage.
    return Pipeline(config, None, process_guard())


class Run:
    """One call of `map`/`amap`: planned, looked up in the cache, estimated, then run."""

    def __init__(
        self, prompt: str, items: Any, options: BatchOptions, *, pipeline: Pipeline | None = None
    ) -> None:
        self.options = options
        # The classroom policy binds a batch as it binds every other request, and its token cap
        # counts the session's usage: every item goes through the session's pipeline.
        self.pipeline = pipeline if pipeline is not None else default_pipeline()
        self.job: Job = plan(prompt, items, options, self.pipeline)
        n = len(self.job.source)
        s = self.job.settings
        self.tally = Tally(total=n, model=s.model, provider=s.provider.name)
        self.outcomes: list[Outcome | None] = [None] * n
        folder = options.cache_folder(self.pipeline.env)
        self.cache = AnswerCache(folder) if options.cache else None
        try:
            todo = self._todo()
            if todo:
                self.pipeline.admit(s)
            expected = estimate(s, [self.job.messages[i] for i in todo])
            check(expected, options.max_cost)
        except BaseException:
            self._close_cache()
            raise
        if options.progress and len(todo) > SHOW_ABOVE:
            show_line(expected.line())
        self.bar: Bar = make_bar(options.progress and bool(todo), n)  # no bar when all is cached
        self.batch = Batch(
            self.job,
            todo,
            self.outcomes,
            self.tally,
            concurrency=options.concurrency,
            cache=self.cache,
            transport=options.transport,
            on_result=self._copy_to_duplicates,
            admit=lambda: self.pipeline.admit(s),
            account=self.pipeline.account,
        )

    def _todo(self) -> list[int]:
        """Fill the answers the cache has; the first item of each other request is to send."""
        keys = self.job.keys
        hits = self.cache.get_many(keys) if self.cache is not None else {}
        self._duplicates: dict[int, list[int]] = {}
        first: dict[str, int] = {}
        todo = []
        for i, key in enumerate(keys):
            if key in hits:
                outcome = self.job.judge(hits[key].text, cached=True)
                if outcome.error is None:
                    self.outcomes[i] = outcome
                    self.tally.cached += 1
                    continue
            if key in first:  # the same request twice: ask once, answer both
                self._duplicates.setdefault(first[key], []).append(i)
            else:
                first[key] = i
                todo.append(i)
        return todo

    def _copy_to_duplicates(self, index: int, outcome: Outcome) -> None:
        for j in self._duplicates.get(index, ()):
            self.outcomes[j] = outcome
            if outcome.error is None:
                self.tally.done += 1
            else:
                self.tally.failed += 1

    # --- running -------------------------------------------------------------------------------

    def blocking(self) -> Any:
        """Run on a worker thread's loop; this thread keeps the display and gets Ctrl-C."""
        try:
            run_blocking(self.batch.run, lambda: self.bar.update(self.tally), INTERVAL)
        except KeyboardInterrupt:
            self._end("interrupted")
            raise
        except BaseException:
            self._end("stopped")
            raise
        return self._end("done")

    async def awaiting(self) -> Any:
        """Run on the running loop (a kernel's, or any async caller's)."""
        ticker = asyncio.create_task(self._tick())
        try:
            await self.batch.run()
        except (asyncio.CancelledError, KeyboardInterrupt):
            self._end("interrupted")
            raise
        except BaseException:
            self._end("stopped")
            raise
        finally:
            ticker.cancel()
        return self._end("done")

    async def _tick(self) -> None:
        while True:
            self.bar.update(self.tally)
            await asyncio.sleep(INTERVAL)

    # --- the end -------------------------------------------------------------------------------

    def _end(self, status: str) -> Any:
        self.tally.ended = self.tally.ended or time.monotonic()
        self._close_cache()
        labels = self.job.source.labels
        outcomes = [o if o is not None else Outcome(error="not run") for o in self.outcomes]
        errors = {labels[i]: o.error for i, o in enumerate(outcomes) if o.error is not None}
        fields = self.job.fields
        where = where_errors(self.job.source, fields)
        if status == "done":
            summary = self.tally.summary(where)
        else:
            kept = "kept in the cache" if self.cache is not None else "not kept (cache=False)"
            summary = (
                f"{status.capitalize()}: {self.tally.finished:,} of {self.tally.total:,} "
                f"finished, {kept}; run the same call again to send only the rest."
            )
        keep(Report.of(self.tally, summary, errors if status == "done" else {}, status))
        self.bar.close(self.tally, summary, status == "done")
        if self.options.progress or (status == "done" and self.tally.failed):
            show_line(summary, markdown=False)  # failures are told even with progress=False
        if status != "done":
            return None
        return assemble(self.job.source, outcomes, fields, errors, summary)

    def _close_cache(self) -> None:
        if self.cache is not None:
            self.cache.close()
