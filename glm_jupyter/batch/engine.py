"""Running a batch on an event loop: bounded workers, one shared pace, per-item outcomes.

Retries are the batch's alone. The endpoint's `RetryPolicy` is `HandBack`, which never waits:
the client makes exactly one attempt per call and raises, and the batch decides what happens
next. Otherwise each worker's client would retry on its own (3 attempts each, sleeping without
telling anyone), the other workers would keep sending meanwhile, and the batch's own retries
would multiply with the client's. Here:

- a rate limit (`RateLimitError`: 429, codes 1302/1303/1305) pauses every worker and halves
  the requests in flight (see `pace`), then the item is sent again;
- a server error, a dropped connection or a cut stream retries that item alone with backoff, up
  to the settings' `max_retries`;
- errors that every item would hit (the key, the model, the URL, a quota) stop the batch;
- anything else (a 400, the content filter, an answer that is not valid for the schema) is
  that item's error, recorded in the result.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import errors
from ..core.pipeline import Pipeline, receive
from ..reply import Reply
from ..wire.failures import RetryPolicy, parse_retry_after
from .outputs import Outcome
from .pace import Pace

if TYPE_CHECKING:
    import httpx

    from ..display.progress import Tally
    from ..wire.client import AsyncClient
    from .cache import AnswerCache
    from .job import Job

RATE_LIMIT_RETRIES = 10  # rate limits one item may meet before it is recorded as failed
FAIL_FAST = 10  # this many failures before any success: every request is wrong, not a row
LONGEST_PAUSE = 300.0  # a server asking for a longer wait stops the batch instead
# Errors no other item would escape: stop, rather than pay for (or wait on) the same answer.
FATAL = (
    errors.AuthenticationError,
    errors.BalanceOrRegionError,
    errors.ModelNotFoundError,
    errors.QuotaExceededError,
)
RETRIED = (errors.ServerError, errors.ConnectionFailedError, errors.StreamInterruptedError)

# The Retry-After of the attempt under way, per worker task (each task has its own context).
_RETRY_AFTER: ContextVar[list[float | None]] = ContextVar("glm_batch_retry_after")


@dataclass(frozen=True, slots=True)
class HandBack(RetryPolicy):
    """A policy that never retries inside the client; it notes the server's Retry-After."""

    def delay(self, attempt: int, retry_after: str | None = None) -> float | None:
        """Always give up at once, after noting the wait the server asked for."""
        noted = _RETRY_AFTER.get(None)
        if noted is not None:
            noted.append(parse_retry_after(retry_after))
        return None


def pooled_transport(concurrency: int) -> httpx.AsyncHTTPTransport:
    """A connection pool as large as the batch's concurrency (httpx keeps 20 alive by default)."""
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncHTTPTransport(limits=limits)


class Batch:
    """The items still to send, the workers that send them, and what they found."""

    def __init__(
        self,
        job: Job,
        todo: list[int],
        outcomes: list[Outcome | None],
        tally: Tally,
        *,
        concurrency: int,
        cache: AnswerCache | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        on_result: Callable[[int, Outcome], None] | None = None,
        admit: Callable[[], None] | None = None,
        account: Callable[[Reply], None] | None = None,
    ) -> None:
        self.job, self.todo, self.outcomes, self.tally = job, list(todo), outcomes, tally
        self.concurrency = concurrency
        self.cache = cache
        self.transport = transport
        self.on_result = on_result
        self.admit = admit  # raises ClassroomLimitError once the classroom policy allows no more
        self.account = account  # each answer counted as it arrives, so a token cap acts mid-batch
        self.pace: Pace | None = None

    async def run(self) -> None:
        """Send every item in `todo`; raises `BatchStoppedError` or a fatal error to stop."""
        if not self.todo:
            return
        from ..wire.client import AsyncClient

        s = self.job.settings
        self.pace = Pace(self.concurrency, base=max(s.retry_backoff, 0.001))
        transport = self.transport or pooled_transport(self.concurrency)
        queue = list(reversed(self.todo))  # popped from the end: items go out in input order
        endpoint = Pipeline.endpoint(s, retry=HandBack())  # every retry is the batch's
        async with AsyncClient(endpoint, transport=transport) as client:
            workers = [
                asyncio.create_task(self._worker(client, queue))
                for _ in range(min(self.concurrency, len(queue)))
            ]
            try:
                await asyncio.gather(*workers)
            finally:
                for worker in workers:
                    worker.cancel()
                await asyncio.gather(*workers, return_exceptions=True)

    async def _worker(self, client: AsyncClient, queue: list[int]) -> None:
        while queue:
            await self._item(client, queue.pop())

    async def _item(self, client: AsyncClient, index: int) -> None:
        pace = self.pace
        assert pace is not None
        limited = retried = 0
        while True:
            epoch = await pace.acquire()
            if self.admit is not None:
                try:
                    self.admit()
                except errors.ClassroomLimitError as exc:
                    pace.release()
                    raise self._refused(exc) from None
            noted: list[float | None] = []
            _RETRY_AFTER.set(noted)
            self.tally.requests += 1
            try:
                outcome = await self._send(client, index)
            except errors.RateLimitError as exc:
                pace.release()
                self.tally.rate_limited += 1
                asked = noted[-1] if noted else None
                if asked is not None and asked > LONGEST_PAUSE:
                    raise self._stopped(exc, f"the server asks to wait {asked:.0f} s") from None
                pace.limited(epoch, asked)
                limited += 1
                if limited > RATE_LIMIT_RETRIES:
                    self._record(index, Outcome(error=f"still rate limited: {_brief(exc)}"))
                    return
                continue
            except (*RETRIED, errors.APIError) as exc:
                pace.release()
                if isinstance(exc, FATAL) or _wrong_url(exc):
                    raise self._stopped(exc, "every request would fail the same way") from None
                if not (isinstance(exc, RETRIED) or type(exc) is errors.APIError):
                    self._record(index, Outcome(error=_brief(exc)))  # 400, content filter...
                    return
                retried += 1
                if retried > self.job.settings.max_retries:
                    self._record(index, Outcome(error=_brief(exc)))
                    return
                await asyncio.sleep(_backoff(self.job.settings.retry_backoff, retried))
                continue
            except BaseException:
                pace.release()
                raise
            pace.release()
            pace.succeeded()
            self._record(index, outcome)
            return

    async def _send(self, client: AsyncClient, index: int) -> Outcome:
        s = self.job.settings
        reply = Reply(s.model, s.provider.name)
        await receive(client.stream(self.job.payloads[index], dialect=self.job.dialect), reply)
        reply.end("done")  # before it is counted: a finished request counts, usage or not
        self.tally.spent(reply.usage)
        if self.account is not None:
            self.account(reply)
        if reply.finish_reason == "sensitive":
            return Outcome(error="the provider's safety filter stopped this answer")
        if not reply.content.text.strip():  # never an empty success: asked again next run
            why = f" (finish reason {reply.finish_reason})" if reply.finish_reason else ""
            return Outcome(error=f"the model's answer was empty{why}")
        outcome = self.job.judge(reply.content.text)
        if outcome.error is None and self.cache is not None:
            self.cache.put(self.job.keys[index], reply.content.text, reply.usage)
        return outcome

    def _record(self, index: int, outcome: Outcome) -> None:
        self.outcomes[index] = outcome
        if outcome.error is None:
            self.tally.done += 1
        else:
            self.tally.failed += 1
            if self.tally.done + self.tally.cached == 0 and self.tally.failed >= FAIL_FAST:
                raise errors.BatchStoppedError(
                    f"The batch stopped: the first {self.tally.failed} items all failed, the "
                    f"latest with: {outcome.error}\nThat points at the request, not at a row: "
                    "check the prompt, the settings and the server, then run again."
                )
        if self.on_result is not None:
            self.on_result(index, outcome)

    def _refused(self, exc: errors.ClassroomLimitError) -> errors.ClassroomLimitError:
        kept = self.tally.done + self.tally.cached
        return errors.ClassroomLimitError(
            f"{exc}\nThe batch stopped there; the {kept:,} answers finished so far are kept in "
            "the cache, so nothing is paid twice if it may run again later."
        )

    def _stopped(self, exc: errors.GLMError, why: str) -> errors.BatchStoppedError:
        kept = self.tally.done + self.tally.cached
        return errors.BatchStoppedError(
            f"{exc}\n\nThe batch stopped ({why}). The {kept:,} answers finished so far are "
            "kept in the cache: fix the cause and run the same call again to send only the rest."
        )


def _brief(exc: BaseException) -> str:
    """An error's message on one line: what a result's error column holds."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _wrong_url(exc: errors.GLMError) -> bool:
    return isinstance(exc, errors.InvalidRequestError) and exc.status == 404


def _backoff(base: float, attempt: int) -> float:
    wait = min(30.0, base * 2.0 ** (attempt - 1))
    return wait / 2 + random.uniform(0, wait / 2)
