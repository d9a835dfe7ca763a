"""One call of `map`/`amap`: settings from the active session, the cache look-up, the cost
check, the run (on a worker thread's loop, or the caller's), and the result at the end."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.guard import process_guard
from ..display.progress import INTERVAL, Bar, Tally, in_kernel, make_bar
from .bridge import run_blocking
from .cache import AnswerCache, default_dir
from .engine import Batch
from .estimate import SHOW_ABOVE, check, estimate
from .job import Job, Overrides, plan
from .outputs import Outcome, assemble, where_errors
from .report import Report, keep

if TYPE_CHECKING:
    import httpx

    from ..config.settings import GLM
    from ..core.session import Session


def active_session() -> Session | None:
    """The session of the shell glm_jupyter is loaded in, if any (without importing IPython)."""
    extension, ipython = (
        sys.modules.get("glm_jupyter.ipython.extension"),
        sys.modules.get("IPython"),
    )
    if extension is None or ipython is None:
        return None
    magics = extension._ACTIVE.get(id(ipython.get_ipython()))
    return None if magics is None else magics.session


def _config(session: Session | None) -> tuple[GLM | None, Mapping[str, str] | None]:
    if session is not None:
        return session.config, session.env
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return None, None
    from ..config.settings import GLM

    return GLM(parent=shell), None  # `c.GLM.*` from ipython_config.py still applies


class Run:
    """One call of `map`/`amap`: planned, looked up in the cache, estimated, then run."""

    def __init__(
        self,
        prompt: str,
        items: Any,
        *,
        overrides: Overrides,
        schema: Any = None,
        json: bool = False,
        column: str | None = None,
        concurrency: int = 8,
        max_cost: float | None = None,
        cache: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
        progress: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        session: Session | None = None,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be a whole number from 1 up; got {concurrency!r}.")
        self.session = session if session is not None else active_session()
        config, env = _config(self.session)
        # The classroom policy binds a batch as it binds every other request, and its token cap
        # counts the session's usage (or, without a session, this process's).
        self.guard = self.session.policy if self.session is not None else process_guard()
        self.job: Job = plan(
            prompt,
            items,
            overrides=overrides,
            schema=schema,
            json=json,
            column=column,
            config=config,
            env=env,
            guard=self.guard,
        )
        n = len(self.job.source)
        s = self.job.settings
        self.tally = Tally(total=n, model=s.model, provider=s.provider.name)
        self.outcomes: list[Outcome | None] = [None] * n
        self.progress = progress
        folder = Path(cache_dir).expanduser() if cache_dir is not None else default_dir(env)
        self.cache = AnswerCache(folder) if cache else None
        try:
            todo = self._todo()
            if todo:
                self.guard.check_request(self.job.settings)
            expected = estimate(self.job.settings, [self.job.messages[i] for i in todo])
            check(expected, max_cost)
        except BaseException:
            self._close_cache()
            raise
        if progress and len(todo) > SHOW_ABOVE:
            _show(expected.line())
        self.bar: Bar = make_bar(progress and bool(todo), n)  # no bar when all is cached
        self.batch = Batch(
            self.job,
            todo,
            self.outcomes,
            self.tally,
            concurrency=concurrency,
            cache=self.cache,
            transport=transport,
            on_result=self._copy_to_duplicates,
            admit=lambda: self.guard.check_request(self.job.settings),
            on_usage=lambda usage: self.guard.charge(
                self.job.settings.model, usage, self.job.settings.provider.name
            ),
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
        if self.progress or (status == "done" and self.tally.failed):
            _show(summary, markdown=False)  # failures are told even with progress=False
        if status != "done":
            return None
        return assemble(self.job.source, outcomes, fields, errors, summary)

    def _close_cache(self) -> None:
        if self.cache is not None:
            self.cache.close()


def _show(text: str, *, markdown: bool = True) -> None:
    """A line for the person: in the cell's output in a kernel, on stderr in a terminal."""
    if in_kernel():
        if markdown:
            from IPython import display as ipd

            shown: Any = ipd  # IPython's display functions are untyped
            shown.display(shown.Markdown(text))
        else:
            print(text)
    else:
        print(text, file=sys.stderr)
