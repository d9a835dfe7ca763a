"""Shared benchmark plumbing: a simulator in its own process, timing helpers, result lines."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from glm_jupyter.config.providers import PROVIDERS
from glm_jupyter.wire.client import Endpoint

ENDPOINT_PROVIDER = PROVIDERS["openai-compatible"]


def result(
    name: str, value: float, unit: str, goal: str, ok: bool, baseline: str, **details: Any
) -> dict[str, Any]:
    """One metric, as printed: a JSON object per line."""
    line = {
        "name": name,
        "value": round(value, 4),
        "unit": unit,
        "goal": goal,
        "ok": ok,
        "baseline": baseline,
    }
    if details:
        line["details"] = details
    return line


@contextmanager
def simulator(scenario: dict[str, Any], dialect: str = "zai") -> Iterator[str]:
    """A simulator in a separate process (so it does not share our GIL); yields its base URL."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp, "scenario.json")
        script.write_text(json.dumps(scenario))
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "glm_jupyter.simulator",
                "--port",
                "0",
                "--dialect",
                dialect,
                "--script",
                str(script),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            banner = proc.stdout.readline()
            url = next(word for word in banner.split() if word.startswith("http"))
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@contextmanager
def recorded_stream(content_tokens: int, reasoning_tokens: int = 0) -> Iterator[str]:
    """A simulator replaying one pre-recorded stream verbatim: the server costs nearly nothing,
    so the clients being compared are what is measured."""
    generate = {"content_tokens": content_tokens, "reasoning_tokens": reasoning_tokens, "seed": 7}
    with simulator({"default": {"generate": generate}}) as url:
        body = httpx.post(url + "/chat/completions", json=request_body(), timeout=120).content
    with tempfile.TemporaryDirectory() as tmp:
        recording = Path(tmp, "stream.sse")
        recording.write_bytes(body)
        with simulator({"default": {"replay": str(recording)}}) as url:
            yield url


def request_body() -> dict[str, Any]:
    """A small streaming request."""
    return {
        "model": "glm-5.1",
        "stream": True,
        "messages": [{"role": "user", "content": "Write a long answer."}],
    }


def endpoint(url: str) -> Endpoint:
    """An endpoint for the simulator."""
    return Endpoint(provider=ENDPOINT_PROVIDER, base_url=url)


def median_time(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time of `fn` over `repeat` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved(fns: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Median times of several functions, run in turn so that machine noise hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}
