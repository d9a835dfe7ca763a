"""`batch_speedup`: 1,000 items at 200 ms server latency through `glm_jupyter.map` (concurrency
16) against the same items sent one by one; `batch_resume_requests`: what a finished batch sends
when it is run again."""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import httpx

from .common import result, simulator

ITEMS = 1_000
LATENCY = 0.2  # seconds before the server sends anything, on every request
CONCURRENCY = 16
SAMPLE = 50  # the one-by-one baseline is timed on this many items and scaled to ITEMS
PROMPT = "Sentiment of this review, one word: {item}"


def _items() -> list[str]:
    return [
        f"Review {i}: the soup was {'cold' if i % 3 else 'hot'} and the staff kind."
        for i in range(ITEMS)
    ]


def _one_by_one(items: list[str]) -> float:
    """Seconds to send `items` in a loop through glm-jupyter's client, as a cell loop would."""
    from glm_jupyter.batch.engine import HandBack
    from glm_jupyter.batch.job import plan
    from glm_jupyter.batch.options import BatchOptions
    from glm_jupyter.batch.run import default_pipeline
    from glm_jupyter.core.pipeline import Pipeline
    from glm_jupyter.messages import TextDelta
    from glm_jupyter.wire.client import Client

    job = plan(PROMPT, items, BatchOptions(), default_pipeline())
    with Client(Pipeline.endpoint(job.settings, retry=HandBack())) as client:
        started = time.perf_counter()
        for payload in job.payloads:
            events = client.stream(payload, dialect=job.dialect)
            answer = "".join(e.text for e in events if type(e) is TextDelta)
            assert answer
        return time.perf_counter() - started


def _requests(url: str) -> int:
    root = url.rsplit("/v1", 1)[0]
    return len(httpx.get(root + "/_simulator/requests", timeout=30).json())


def _reset(url: str) -> None:
    httpx.post(url.rsplit("/v1", 1)[0] + "/_simulator/reset", timeout=30)


def run() -> list[dict[str, Any]]:
    """Both metrics from one simulator (in its own process) and one cache directory."""
    import glm_jupyter

    scenario = {"default": {"content": "Mixed.", "first_byte_delay": LATENCY}}
    items = _items()
    saved = dict(os.environ)
    with simulator(scenario) as url, tempfile.TemporaryDirectory() as cache:
        os.environ.update(GLM_PROVIDER="zai", GLM_BASE_URL=url, GLM_API_KEY="benchmark")
        try:
            sample = _one_by_one(items[:SAMPLE])
            _reset(url)
            started = time.perf_counter()
            answers = glm_jupyter.map(
                PROMPT, items, concurrency=CONCURRENCY, cache_dir=cache, progress=False
            )
            batch_s = time.perf_counter() - started
            assert answers.count("Mixed.") == ITEMS, answers.attrs["glm_errors"]
            sent = _requests(url)
            _reset(url)
            started = time.perf_counter()
            glm_jupyter.map(PROMPT, items, concurrency=CONCURRENCY, cache_dir=cache, progress=False)
            rerun_s = time.perf_counter() - started
            resent = _requests(url)
        finally:
            os.environ.clear()
            os.environ.update(saved)
    one_by_one_s = sample / SAMPLE * ITEMS
    speedup = one_by_one_s / batch_s
    return [
        result(
            "batch_speedup",
            speedup,
            "x",
            ">= 12",
            speedup >= 12,
            f"the same items one by one through glm_jupyter.Client: {sample / SAMPLE * 1000:.0f} "
            f"ms per item, timed on the first {SAMPLE} items and scaled to {ITEMS:,} "
            f"({one_by_one_s:.0f} s)",
            items=ITEMS,
            latency_s=LATENCY,
            concurrency=CONCURRENCY,
            batch_s=round(batch_s, 2),
            items_per_s=round(ITEMS / batch_s, 1),
            requests=sent,
            ideal_s=round(ITEMS / CONCURRENCY * LATENCY, 2),
        ),
        result(
            "batch_resume_requests",
            resent,
            "requests",
            "== 0",
            resent == 0,
            f"the first run sent {sent:,} requests for {ITEMS:,} items",
            rerun_s=round(rerun_s, 3),
        ),
    ]
