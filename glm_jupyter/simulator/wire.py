"""Low-level writing: HTTP/1.1 chunked bodies and rate pacing."""

from __future__ import annotations

import time
from io import BufferedIOBase

# Unthrottled streams are sent in writes of about this size: one syscall per token would make
# a 200,000-token stream take far longer than the client needs to read it.
FLUSH_BYTES = 64 * 1024


class ChunkedWriter:
    """Writes an HTTP/1.1 chunked body, batching small writes up to `flush_at` bytes."""

    def __init__(self, wfile: BufferedIOBase, flush_at: int) -> None:
        self._wfile = wfile
        self._flush_at = flush_at
        self._buffer = bytearray()

    def write(self, data: bytes) -> None:
        """Queue data; send it once the batch is big enough."""
        self._buffer += data
        if len(self._buffer) >= self._flush_at:
            self.flush()

    def flush(self) -> None:
        """Send what is queued as one HTTP chunk."""
        if self._buffer:
            self._wfile.write(b"%X\r\n%s\r\n" % (len(self._buffer), self._buffer))
            self._buffer.clear()

    def finish(self) -> None:
        """Send what is queued and the terminating zero-length chunk."""
        self.flush()
        self._wfile.write(b"0\r\n\r\n")


class Pacer:
    """Spaces calls to `wait` 1/rate seconds apart; rate 0 never waits."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next: float | None = None

    def wait(self) -> None:
        """Sleep until the next slot."""
        if not self._interval:
            return
        now = time.monotonic()
        if self._next is None:
            self._next = now
        elif self._next > now:
            time.sleep(self._next - now)
        # Scheduling from the planned time, not from `now`, keeps the average rate exact.
        self._next += self._interval
