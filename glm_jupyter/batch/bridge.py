"""Run a coroutine to the end from synchronous code, even where an event loop is already running.

A cell in a Jupyter kernel runs while the kernel's loop is running, so `asyncio.run` cannot be
used there. The coroutine runs instead on a worker thread with its own loop, while the calling
thread waits in short steps (refreshing the progress display between them) and stays the one
that receives Ctrl-C / the kernel's interrupt as `KeyboardInterrupt`: it then cancels the
coroutine, waits for it to unwind (connections closed, finished answers already stored), and
re-raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class LoopThread(Generic[T]):
    """One coroutine on its own loop in a daemon thread."""

    def __init__(self, make: Callable[[], Coroutine[Any, Any, T]]) -> None:
        self._make = make
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[T] | None = None
        self.result: T | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="glm-batch", daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # the caller re-raises it on its own thread
            self.error = self.error or exc
        finally:
            self._ready.set()

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._ready.set()
        try:
            self.result = await self._make()
        except BaseException as exc:
            self.error = exc

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def wait(self, timeout: float) -> bool:
        """True once the coroutine has finished; may raise KeyboardInterrupt while waiting."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def cancel(self) -> None:
        """Cancel the coroutine and wait until it has unwound."""
        self._ready.wait()
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            # RuntimeError: the loop closed in between, so the coroutine has finished anyway.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        self._thread.join()


def run_blocking(
    make: Callable[[], Coroutine[Any, Any, T]], tick: Callable[[], None], interval: float
) -> T:
    """Run `make()` on a worker thread; call `tick` every `interval` seconds until it is done."""
    worker: LoopThread[T] = LoopThread(make)
    worker.start()
    try:
        while not worker.wait(interval):
            tick()
    except BaseException:  # an interrupt, or the display failing: the worker must not outlive us
        worker.cancel()
        raise
    if worker.error is not None:
        raise worker.error
    return worker.result  # type: ignore[return-value]
