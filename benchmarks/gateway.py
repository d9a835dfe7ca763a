"""The course gateway: what one long stream pays for the extra hop, and 100 students at once."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from glm_jupyter.gateway.serve import READY
from glm_jupyter.gateway.store import Store

from .common import interleaved, recorded_stream, request_body, result, simulator

STUDENTS = 100
COURSE_KEY = "sk-benchmark-course-key"


@contextmanager
def gateway(upstream: str, db: str) -> Iterator[str]:
    """`glm-jupyter gateway serve` in its own process, forwarding to `upstream`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GLM_", "ZAI_"))}
    env["ZAI_API_KEY"] = COURSE_KEY
    command = [sys.executable, "-m", "glm_jupyter.cli", "gateway", "--db", db, "serve"]
    command += ["--port", "0", "--provider", "zai", "--base-url", upstream]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if READY not in line:
            raise RuntimeError(f"the gateway did not start: {line!r}")
        yield line.split(READY, 1)[1].split()[0]
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _read(client: httpx.Client, url: str, headers: dict[str, str]) -> int:
    with client.stream(
        "POST", url + "/chat/completions", json=request_body(), headers=headers
    ) as r:
        return sum(len(chunk) for chunk in r.iter_raw())


def _ratio(sim: str, repeat: int) -> tuple[dict[str, float], bool, int]:
    """Median times straight from `sim` and through a gateway, whether the bytes were the
    same, and how many usage rows the gateway wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'gateway.sqlite3'}"
        token = {"Authorization": f"Bearer {Store(db).issue_token('bench')}"}
        with gateway(sim, db) as gw, httpx.Client(timeout=120) as client:
            same = _read(client, sim, {}) == _read(client, gw, token)
            times = interleaved(
                {
                    "direct": lambda: _read(client, sim, {}),
                    "gateway": lambda: _read(client, gw, token),
                },
                repeat,
            )
        return times, same, sum(r.requests for r in Store(db).usage_rows())


def stream_overhead(tokens: int = 20_000, repeat: int = 15) -> list[dict[str, Any]]:
    """`gateway_stream_overhead_ratio`: a 20,000-token answer as the simulator makes it, read
    through the gateway, over the same answer read straight from the simulator with plain
    httpx. Beside it, the same stream replayed from memory: a server that costs nothing, where
    the extra hop's copy is all there is to see."""
    generate = {"content_tokens": tokens, "reasoning_tokens": 0, "seed": 7}
    with simulator({"default": {"generate": generate}}) as sim:
        times, same, rows = _ratio(sim, repeat)
    with recorded_stream(tokens) as replay:
        replayed, replay_same, _ = _ratio(replay, repeat)
    ratio = times["gateway"] / times["direct"]
    return [
        result(
            "gateway_stream_overhead_ratio",
            ratio,
            "x",
            "<= 1.2",
            ratio <= 1.2 and same,
            f"plain httpx straight from the simulator: {times['direct'] * 1000:.1f} ms "
            f"({tokens / times['direct']:,.0f} tokens/s)",
            gateway_ms=round(times["gateway"] * 1000, 1),
            stream_tokens=tokens,
            same_bytes=same and replay_same,
            usage_rows=rows,
            replayed_from_memory_ratio=round(replayed["gateway"] / replayed["direct"], 3),
            replayed_direct_ms=round(replayed["direct"] * 1000, 1),
            replayed_gateway_ms=round(replayed["gateway"] * 1000, 1),
            runs=repeat,
            statistic="median",
        )
    ]


async def _first_bytes(url: str, tokens: list[str]) -> list[float | None]:
    """Time to the first byte of each of len(tokens) streams started at once (None: failed).
    The students are one aiohttp client (a compiled parser, a pool that scales), so that the
    client's own cost stays small beside what is measured."""
    import aiohttp

    body = json.dumps(request_body()).encode()

    async def one(session: aiohttp.ClientSession, token: str) -> float | None:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        started = time.perf_counter()
        first = None
        async with session.post(url + "/chat/completions", data=body, headers=headers) as r:
            if r.status != 200:
                return None
            async for chunk in r.content.iter_any():
                if first is None and chunk:
                    first = time.perf_counter() - started
        return first

    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        return await asyncio.gather(*(one(session, t) for t in tokens))


def concurrent(rounds: int = 3) -> list[dict[str, Any]]:
    """`gateway_concurrent_streams`: 100 students streaming at once through one gateway
    process; time to first byte against 100 streams at once straight from the simulator."""
    # Each answer streams 100 tokens over about 2 s, so all hundred are open together.
    scenario = {"default": {"content": "word " * 100, "first_byte_delay": 0.05}}
    scenario["default"]["tokens_per_second"] = 50
    with tempfile.TemporaryDirectory() as tmp, simulator(scenario) as sim:
        db = f"sqlite:///{Path(tmp) / 'gateway.sqlite3'}"
        store = Store(db)
        tokens = [store.issue_token(f"student{i:03}") for i in range(STUDENTS)]
        direct: list[float | None] = []
        via: list[float | None] = []
        with gateway(sim, db) as gw:
            asyncio.run(_first_bytes(gw, tokens[:5]))  # warm up both paths
            asyncio.run(_first_bytes(sim, [""] * 5))
            for _ in range(rounds):
                direct += asyncio.run(_first_bytes(sim, [""] * STUDENTS))
                via += asyncio.run(_first_bytes(gw, tokens))
        rows = sum(r.requests for r in store.usage_rows())
        store.close()
    done = sum(1 for t in via if t is not None)
    expected_rows = STUDENTS * rounds + 5
    direct_ok = [t for t in direct if t is not None]
    via_ok = [t for t in via if t is not None]
    p95_direct = _p95(direct_ok) * 1000
    p95_via = _p95(via_ok) * 1000
    overhead = p95_via - p95_direct
    complete = done == STUDENTS * rounds
    return [
        result(
            "gateway_concurrent_streams",
            done / rounds,
            f"of {STUDENTS} complete",
            f"{STUDENTS} of {STUDENTS}, p95 time to first byte overhead <= 50 ms",
            complete and rows == expected_rows and overhead <= 50,
            f"{STUDENTS} streams at once straight from the simulator: p95 first byte "
            f"{p95_direct:.1f} ms (its first token 50 ms)",
            p95_first_byte_ms=round(p95_via, 1),
            p95_overhead_ms=round(overhead, 1),
            p50_overhead_ms=round(
                (statistics.median(via_ok) - statistics.median(direct_ok)) * 1000, 1
            ),
            usage_rows=rows,
            usage_rows_expected=expected_rows,
            rounds=rounds,
        )
    ]


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
