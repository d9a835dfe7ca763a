"""The counts a budget check reads, held in memory: the whole course's, read from the database
every second, plus what this process has charged since that read. A request's budget check
and token check never wait for the database; what another gateway process charged, an
instructor's raised budget or a revoked token reach this one within a second."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable

from ..messages import Usage
from .store import Override, Snapshot, Spent, Store, digest

REFRESH_S = 1.0
log = logging.getLogger("glm_jupyter.gateway")


class Ledger:
    """One gateway process's view of the course's usage."""

    def __init__(self, store: Store, every: float = REFRESH_S) -> None:
        self.store = store
        self.every = every
        self._snapshot: Snapshot | None = None
        self._ids = itertools.count()
        self._charges: dict[int, tuple[str, str, int]] = {}  # not yet in a snapshot
        self._committed: dict[int, int] = {}  # charge -> the order its row was written in
        self._written = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self, today: Callable[[], str]) -> None:
        """Read the database once, then again every `every` seconds in the background."""
        await self.refresh(today())
        self._task = asyncio.ensure_future(self._refreshing(today))

    async def stop(self) -> None:
        """Stop refreshing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _refreshing(self, today: Callable[[], str]) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.refresh(today())
            except Exception as exc:  # the database is away: keep the last counts, say so
                log.warning("could not read the database (%s); counts kept", type(exc).__name__)

    async def refresh(self, day: str) -> None:
        """Take the database's counts for `day`; charges written before the read began are in
        them, later ones are still counted here (a charge may count twice for a moment,
        never not at all)."""
        mark = self._written
        self._snapshot = await asyncio.to_thread(self.store.snapshot, day)
        for charge, order in list(self._committed.items()):
            if order <= mark:
                del self._committed[charge], self._charges[charge]

    def position(self, student: str, day: str) -> tuple[Spent, Override]:
        """What `student` and the course have used, and the student's override."""
        snap = self._snapshot
        same_day = snap is not None and snap.day == day
        today = snap.today.get(student, 0) if snap is not None and same_day else 0
        course = sum(snap.today.values()) if snap is not None and same_day else 0
        total = snap.total.get(student, 0) if snap is not None else 0
        for who, on, tokens in self._charges.values():
            if on == day:
                course += tokens
                today += tokens if who == student else 0
            total += tokens if who == student else 0
        override = snap.overrides.get(student) if snap is not None else None
        return Spent(today, total, course), override or Override(None, None)

    async def student_for_token(self, token: str) -> str | None:
        """Whose live issued token this is: from the last read, else asked of the database
        (a token issued since)."""
        snap = self._snapshot
        key = digest(token)
        if snap is not None and key in snap.tokens:
            return snap.tokens[key]
        found = await asyncio.to_thread(self.store.student_for_token, token)
        if found is not None and snap is not None:
            snap.tokens[key] = found  # until the next read says otherwise
        return found

    async def charge(
        self,
        student: str,
        model: str,
        used: Usage | None,
        cost: float | None,
        *,
        outcome: str,
        day: str,
    ) -> None:
        """Count one request at once, and write its row (shielded: a hang-up loses none)."""
        tokens = (used.prompt_tokens + used.completion_tokens) if used else 0
        charge = next(self._ids)
        self._charges[charge] = (student, day, tokens)
        writing = asyncio.ensure_future(
            asyncio.to_thread(
                self.store.record, student, model, used, cost, outcome=outcome, day=day
            )
        )

        def written(done: asyncio.Future[None]) -> None:
            # Runs when the row is in, even if the request that charged it was cancelled.
            if done.cancelled() or done.exception() is not None:
                return  # not in the database: it stays counted here
            self._written += 1
            self._committed[charge] = self._written

        writing.add_done_callback(written)
        await asyncio.shield(writing)
