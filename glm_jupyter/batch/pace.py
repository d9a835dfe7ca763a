"""How fast a batch may go: a pause every worker honours, and an AIMD limit on requests in flight.

One `Pace` is shared by all the workers of a batch (all on one event loop, so no locks):

- a rate limit (429, codes 1302/1303/1305) pauses the *whole* batch for the server's
  `Retry-After`, else for an exponential backoff, and halves the number of requests allowed in
  flight (multiplicative decrease);
- every `grow_after` successes in a row give one more slot back, up to the batch's
  `concurrency` (additive increase).

Requests that were already in flight when a pause began may come back 429 too: they belong to the
same congestion event, so they lengthen the pause if the server asks for longer but do not halve
the limit again (the `epoch` a request was sent in tells them apart), as TCP reduces its window
once per round trip.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

GROW_AFTER = 10  # successes in a row that earn one more request in flight


class Pace:
    """The shared gate: `acquire` a slot before each request, `release` it with the outcome."""

    def __init__(
        self,
        limit: int,
        *,
        base: float = 0.5,
        cap: float = 30.0,
        grow_after: int = GROW_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = limit  # requests allowed in flight now
        self.active = 0
        self.epoch = 0  # bumped by every pause that halved the window
        self.resume_at = 0.0  # no request starts before this (clock seconds)
        self.base, self.cap, self.grow_after = base, cap, grow_after
        self.strikes = 0  # halvings since the last success: the backoff's exponent
        self.streak = 0  # successes since the window last changed
        self.pauses = 0
        self.rate_limited = 0
        self.most_active = 0
        self._clock = clock
        self._signal = asyncio.Event()

    def _notify(self) -> None:
        # Wake every waiter once; later waiters wait on a fresh event.
        self._signal.set()
        self._signal = asyncio.Event()

    async def acquire(self) -> int:
        """Wait for the pause to end and a slot to free; the epoch the request is sent in."""
        while True:
            delay = self.resume_at - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
            elif self.active < self.window:
                self.active += 1
                self.most_active = max(self.most_active, self.active)
                return self.epoch
            else:
                await self._signal.wait()

    def release(self) -> None:
        """The request is over, whatever its outcome."""
        self.active -= 1
        self._notify()

    def succeeded(self) -> None:
        """A request was answered: the backoff resets, and the window grows now and then."""
        self.strikes = 0
        self.streak += 1
        if self.streak >= self.grow_after and self.window < self.limit:
            self.window += 1
            self.streak = 0
            self._notify()

    def backoff(self) -> float:
        """The pause after the latest halving when the server named no wait."""
        return float(min(self.cap, self.base * 2.0 ** max(self.strikes - 1, 0)))

    def limited(self, epoch: int, retry_after: float | None) -> float:
        """A request sent in `epoch` was rate limited: pause everyone; seconds until resuming."""
        self.rate_limited += 1
        now = self._clock()
        if epoch == self.epoch:  # the first 429 of this congestion event
            self.epoch += 1
            self.pauses += 1
            self.strikes += 1
            self.streak = 0
            self.window = max(1, self.window // 2)
            wait = retry_after if retry_after is not None else self.backoff()
            self.resume_at = max(self.resume_at, now + wait)
        elif retry_after is not None:
            self.resume_at = max(self.resume_at, now + retry_after)
        self._notify()
        return max(self.resume_at - now, 0.0)
