"""A batch under pressure: bounded concurrency, 429s that pause the whole batch (AIMD), retries
that do not multiply with the client's, and errors that stop a batch instead of repeating."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import glm_jupyter
from glm_jupyter.batch import BatchStoppedError, last_report
from glm_jupyter.batch.pace import Pace
from glm_jupyter.simulator import Simulator

from ..helpers import SECRET


@pytest.fixture
def point(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Point the environment at a simulator (or any URL), with a fresh cache directory."""

    def use(target: Simulator | str, provider: str = "zai") -> None:
        url = target if isinstance(target, str) else target.base_url
        monkeypatch.setenv("GLM_PROVIDER", provider)
        monkeypatch.setenv("GLM_BASE_URL", url)
        monkeypatch.setenv("GLM_API_KEY", SECRET)
        monkeypatch.setenv("GLM_CACHE_DIR", str(tmp_path / "cache"))

    return use


class Recording(httpx.AsyncBaseTransport):
    """The real transport, noting when each request went out and when its status came back."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.sent: list[tuple[float, float, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        response = await self.inner.handle_async_request(request)
        self.sent.append((started, time.monotonic(), response.status_code))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def _answer(text: str = "ok") -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "choices": [{"index": 0, "message": {"content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1},
        },
    )


def _counting(respond: Any) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return respond(len(seen))  # type: ignore[no-any-return]

    return httpx.MockTransport(handler), seen


# --- against the simulator ------------------------------------------------------------------


def test_concurrency_is_bounded(simulator: Any, point: Any) -> None:
    sim = simulator({"default": {"content": "ok", "first_byte_delay": 0.15}})
    point(sim)
    most, done = 0, threading.Event()

    def watch() -> None:
        nonlocal most
        while not done.is_set():
            most = max(most, sum(r["outcome"] == "open" for r in sim.requests))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = glm_jupyter.map("Q {item}", list(range(12)), concurrency=3, progress=False)
    finally:
        done.set()
        watcher.join()
    assert result == ["ok"] * 12
    assert len(sim.requests) == 12
    assert 2 <= most <= 3


def test_rate_limit_pauses_the_whole_batch(shell: Any, simulator: Any, point: Any) -> None:
    pause = 0.3
    limited = {"kind": "http_error", "status": 429, "code": "1302", "times": 2}
    sim = simulator(
        {
            "turns": [
                {"match": "item 2$", "content": "two", "fault": {**limited, "retry_after": pause}}
            ],
            "default": {"content": "ok", "first_byte_delay": 0.2},
        }
    )
    point(sim)
    recording = Recording()
    items = [f"item {i}" for i in range(8)]
    result = glm_jupyter.map("{item}", items, concurrency=4, transport=recording, progress=False)
    assert result[2] == "two"
    assert result.count("ok") == 7
    assert len(sim.requests) == len(items) + 2  # each 429 costs one request, no more
    report = last_report()
    assert report is not None
    assert report.rate_limited == 2
    assert report.requests == len(items) + 2
    # After each 429 arrived, nobody sent anything until the Retry-After had passed, although
    # slots were free (the slow answers ended meanwhile) and items were waiting.
    refusals = [back for _, back, status in recording.sent if status == 429]
    assert len(refusals) == 2
    for refused_at in refusals:
        started = [s for s, _, _ in recording.sent if s > refused_at]
        assert started, "the batch went on after the pause"
        assert min(started) >= refused_at + pause - 0.01


def test_server_errors_retry_that_item_only(shell: Any, simulator: Any, point: Any) -> None:
    failing = {"kind": "http_error", "status": 503, "times": 2}
    sim = simulator({"turns": [{"match": "b$", "content": "B", "fault": failing}]})
    point(sim)
    result = glm_jupyter.map("{item}", ["a", "b", "c"], progress=False)
    assert result[1] == "B"
    assert len(sim.requests) == 3 + 2
    report = last_report()
    assert report is not None
    assert report.rate_limited == 0


def test_an_auth_error_stops_the_batch_and_says_what_was_kept(simulator: Any, point: Any) -> None:
    refused = {"kind": "http_error", "status": 401, "code": "1001", "times": 100}
    sim = simulator({"turns": [{"match": "c$", "content": "x", "fault": refused}]})
    point(sim)
    with pytest.raises(BatchStoppedError, match=r"(?s)API key was refused.*kept in the cache"):
        glm_jupyter.map("{item}", ["a", "b", "c", "d", "e"], concurrency=1, progress=False)
    assert len(sim.requests) == 3  # a and b answered, c refused, d and e never sent
    report = last_report()
    assert report is not None
    assert report.status == "stopped"


# --- over a mock transport ------------------------------------------------------------------


def test_client_retries_do_not_multiply_with_the_batch(shell: Any, point: Any) -> None:
    point("http://batch.test/v1")
    transport, seen = _counting(lambda n: httpx.Response(500, json={"error": {"message": "x"}}))
    result = glm_jupyter.map("{item}", ["a"], transport=transport, progress=False)
    assert result == [None]
    assert "500" in result.attrs["glm_errors"][0]
    # One attempt per try: the first plus the settings' max_retries (3); not 4 x 4.
    assert len(seen) == 4


def test_rate_limit_without_retry_after_backs_off_then_succeeds(shell: Any, point: Any) -> None:
    point("http://batch.test/v1")
    transport, seen = _counting(
        lambda n: (
            httpx.Response(429, json={"error": {"code": "1302", "message": "slow"}})
            if n == 1
            else _answer("fine")
        )
    )
    assert glm_jupyter.map("{item}", ["a"], transport=transport, progress=False) == ["fine"]
    assert len(seen) == 2


def test_retry_after_header_sets_the_pause(point: Any) -> None:
    point("http://batch.test/v1")
    times: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        times.append(time.monotonic())
        if len(times) == 1:
            return httpx.Response(
                429, headers={"Retry-After": "0.25"}, json={"error": {"code": "1303"}}
            )
        return _answer()

    transport = httpx.MockTransport(handler)
    assert glm_jupyter.map("{item}", ["a"], transport=transport, progress=False) == ["ok"]
    assert times[1] - times[0] >= 0.24


def test_every_row_failing_stops_early(point: Any) -> None:
    point("http://batch.test/v1")
    transport, seen = _counting(lambda n: httpx.Response(400, json={"error": {"code": "1214"}}))
    with pytest.raises(BatchStoppedError, match="first 10 items all failed"):
        glm_jupyter.map(
            "{item}", list(range(50)), concurrency=1, transport=transport, progress=False
        )
    assert len(seen) == 10


def test_safety_filter_finish_is_an_item_error(point: Any) -> None:
    point("http://batch.test/v1")

    def respond(n: int) -> httpx.Response:
        body = {"choices": [{"message": {"content": ""}, "finish_reason": "sensitive"}]}
        return httpx.Response(200, json=body) if n == 1 else _answer()

    transport, _ = _counting(respond)
    result = glm_jupyter.map(
        "{item}", ["a", "b"], concurrency=1, transport=transport, progress=False
    )
    assert result == [None, "ok"]
    assert "safety filter" in result.attrs["glm_errors"][0]


# --- the pace itself --------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_pace_halves_once_per_congestion_event_and_grows_back() -> None:
    clock = Clock()
    pace = Pace(16, base=1.0, grow_after=3, clock=clock)
    epochs = [await pace.acquire() for _ in range(4)]
    assert pace.active == 4
    # Four requests sent in the same epoch all come back 429: one halving, one pause.
    assert pace.limited(epochs[0], None) == 1.0
    for epoch in epochs[1:]:
        pace.limited(epoch, None)
    assert pace.window == 8
    assert pace.pauses == 1
    assert pace.rate_limited == 4
    # A longer Retry-After from a request of the same event extends the pause, nothing else.
    assert pace.limited(epochs[1], 5.0) == 5.0
    assert pace.window == 8
    # A 429 for a request sent after the pause is a new event: halve again, back off longer.
    assert pace.limited(pace.epoch, None) == 5.0  # still inside the longer pause
    assert pace.window == 4
    assert pace.backoff() == 2.0
    for _ in range(4):
        pace.release()
    for _ in range(6):
        pace.succeeded()
    assert pace.window == 6  # +1 per 3 successes
    for _ in range(100):
        pace.succeeded()
    assert pace.window == 16  # never above the limit


async def test_pace_blocks_beyond_the_window_and_during_a_pause() -> None:
    pace = Pace(2, base=0.05)
    await pace.acquire()
    await pace.acquire()
    third = asyncio.ensure_future(pace.acquire())
    await asyncio.sleep(0.02)
    assert not third.done()
    pace.release()
    await third
    pace.release()
    pace.release()
    started = time.monotonic()
    pace.limited(pace.epoch, 0.1)
    await pace.acquire()
    assert time.monotonic() - started >= 0.09
    assert pace.window == 1
