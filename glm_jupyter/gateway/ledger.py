"""The counts a budget check reads, held in memory: the whole course's, read from the database
every second, plus what this process has charged since that read. A request's budget check
and token check never wait for the database; what another gateway process charged, an
instructor's raised budget or a revoked token reach this one within a second.

Rows are written by one writer, a transaction for whatever has finished since its last one
(a hundred streams ending together are one write, not a hundred waiting on SQLite's lock); a
database that is away is tried again, and the rows wait, counted, until it is back; stopping
the gateway writes what is left first.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable

from .store import Charge, Override, Snapshot, Spent, Store, digest

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
        self._queue: list[tuple[int, Charge]] = []  # rows not written yet
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self, today: Callable[[], str]) -> None:
        """Read the database once, then again every `every` seconds in the background."""
        await self.refresh(today())
        self._task = asyncio.ensure_future(self._refreshing(today))
        self._writer = asyncio.ensure_future(self._writing())

    async def stop(self) -> None:
        """Write the rows still waiting, then stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._writer is not None:
            # Not cancelled mid-write (the thread would commit a batch it then wrote again):
            # told to finish, it writes what is queued and returns.
            self._stopping = True
            self._wake.set()
            await self._writer

    async def _writing(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._queue = self._queue, []
            if not batch and self._stopping:
                return
            try:
                await asyncio.to_thread(self.store.record, [c for _, c in batch])
            except Exception as exc:  # the database is away: the rows wait, still counted
                if self._stopping:
                    log.error(
                        "%d row(s) could not be written before stopping (%s)", len(batch), exc
                    )
                    return
                log.warning("could not write %d row(s) (%s); trying again", len(batch), exc)
                self._queue[:0] = batch
                await asyncio.sleep(self.every)
                self._wake.set()
                continue
            for charge, _ in batch:
                self._written += 1
                self._committed[charge] = self._written
            if self._stopping:
                self._wake.set()  # once more: what came in meanwhile, then return

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
        if snap is None:
            spent, override = Spent(0, 0, 0), Override(None, None)
        else:
            spent, override = snap.position(student)
            if snap.day != day:  # the day turned since the last read
                spent = Spent(0, spent.total, 0)
        today, total, course = spent.today, spent.total, spent.course_today
        for who, on, tokens in self._charges.values():
            if on == day:
                course += tokens
                today += tokens if who == student else 0
            total += tokens if who == student else 0
        return Spent(today, total, course), override

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

    def charge(self, row: Charge) -> None:
        """Count one request at once; its row is written in the writer's next transaction."""
        charge = next(self._ids)
        self._charges[charge] = (row.student, row.day, row.tokens)
        self._queue.append((charge, row))
        self._wake.set()

    @property
    def unwritten(self) -> int:
        """Rows not in the database yet."""
        return len(self._queue)
