"""The course gateway end to end: a real gateway process between students' real kernels and
the simulator over loopback, its counts in a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jupyter_client.manager import start_new_kernel

from glm_jupyter.gateway.store import Store
from glm_jupyter.simulator import Simulator

from ..kernelwire import KernelWire
from .gateway import COURSE_KEY, SCENARIO, gateway, glm_cli, issue, student_env

PROMPT = "What is the capital of Assyria?"  # searched for in the gateway's log: never there
BUDGET = {"student_tokens_per_day": 900, "message": "Questions? Ask on the course forum."}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(SCENARIO) as s:
        yield s


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'course.sqlite3'}"


@pytest.fixture
def student_kernel() -> Iterator[Any]:
    """Start kernels for students; each is shut down at the end."""
    started: list[KernelWire] = []

    def start(url: str, token: str) -> KernelWire:
        manager, client = start_new_kernel(kernel_name="python3", env=student_env(url, token))
        wire = KernelWire(manager, client)
        started.append(wire)
        wire.execute("%load_ext glm_jupyter")
        return wire

    yield start
    for wire in started:
        wire.client.stop_channels()
        wire.manager.shutdown_kernel(now=True)


def _ask(wire: KernelWire) -> dict[str, Any]:
    """Ask one question in the kernel; the last state of its response."""
    run = wire.execute(f"%%glm --new\n{PROMPT}", timeout=120)
    responses = run.responses()
    assert responses, [m["content"] for m in run.messages]
    return responses[-1]


def _wait_for_budget(url: str, token: str, per_day: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        seen = httpx.get(url + "/budget", headers={"Authorization": f"Bearer {token}"}).json()
        if seen["limits"]["today"] == per_day:
            return
        time.sleep(0.1)
    raise AssertionError(f"the gateway never saw the budget of {per_day}")


def _text(wire: KernelWire, code: str) -> str:
    run = wire.execute(code)
    shown = [m["content"].get("text", "") for m in run.of_type("stream")]
    shown += [m["content"]["data"].get("text/plain", "") for m in run.of_type("display_data")]
    return "".join(shown)


def test_a_students_kernel_streams_through_the_gateway_with_no_key(
    tmp_path: Path, sim: Simulator, db: str, student_kernel: Any
) -> None:
    token = issue(db, "alice")
    with gateway(tmp_path, db, sim.base_url) as gw:
        wire = student_kernel(gw.url, token)
        answer = _ask(wire)
        assert answer["status"] == "done", answer
        assert answer["content"] == "Through the gateway."
        assert answer["usage"]["prompt_tokens"] == 400
        # No key anywhere in the kernel's environment; the model only took the course's key.
        shown = _text(wire, "import os; print(sorted(os.environ))")
        assert "ZAI_API_KEY" not in shown
        assert "GLM_API_KEY" not in shown
        assert COURSE_KEY not in _text(wire, "print(dict(os.environ))")
        budget = _text(wire, "%glm usage")
        assert "Course gateway (alice): today 500 tokens used" in budget
        log = gw.log_text()
    chats = [r for r in sim.requests if r["path"].endswith("/chat/completions")]
    assert len(chats) == 1
    assert chats[0]["outcome"] == "answered"
    assert COURSE_KEY not in log
    assert token not in log
    assert PROMPT not in log
    rows = Store(db).usage_rows()
    assert [(r.student, r.requests, r.prompt_tokens, r.completion_tokens) for r in rows] == [
        ("alice", 1, 400, 100)
    ]


def test_a_spent_budget_refuses_across_kernel_and_gateway_restarts(
    tmp_path: Path, sim: Simulator, db: str, student_kernel: Any
) -> None:
    token = issue(db, "bob")
    with gateway(tmp_path, db, sim.base_url, policy=BUDGET) as gw:
        wire = student_kernel(gw.url, token)
        assert _ask(wire)["status"] == "done"  # 500 of 900
        assert _ask(wire)["status"] == "done"  # 1,000: the request that crosses is charged
        refused = _ask(wire)
        assert refused["status"] == "error"
        error = refused["error"]
        assert error.startswith("Your daily budget of 900 tokens is used up (1,000 used today")
        assert "it resets at 00:00 UTC" in error
        assert "Ask on the course forum." in error
        assert "\n" not in error.strip(), "one clear line"
        wire.manager.restart_kernel(now=True)
        wire.client.wait_for_ready(timeout=60)
        wire.execute("%load_ext glm_jupyter")
        assert _ask(wire)["status"] == "error", "a kernel restart resets nothing"
    with gateway(tmp_path, db, sim.base_url, policy=BUDGET) as gw:
        wire = student_kernel(gw.url, token)
        assert "Your daily budget" in _ask(wire)["error"], "nor does a gateway restart"
        usage = glm_cli("gateway", "--db", db, "usage")
        assert usage.returncode == 0, usage.stderr
        assert usage.stdout.split("\n")[1].split()[:5] == ["bob", "glm-5.3", "2", "800", "200"]
        raised = glm_cli("gateway", "--db", db, "budget", "bob", "--per-day", "5000")
        assert "per day 5,000 tokens" in raised.stdout
        _wait_for_budget(gw.url, token, 5000)  # the gateway reads the database every second
        assert _ask(wire)["status"] == "done", "a raised budget holds without a restart"
    chats = [r for r in sim.requests if r["path"].endswith("/chat/completions")]
    assert len(chats) == 3, "refused requests never reach the provider"


def test_bad_or_missing_tokens_are_refused(
    tmp_path: Path, sim: Simulator, db: str, student_kernel: Any
) -> None:
    body = {"model": "glm-5.1", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with gateway(tmp_path, db, sim.base_url) as gw:
        for headers in ({}, {"Authorization": "Bearer glmgw_not-a-token"}, {"Authorization": "x"}):
            r = httpx.post(gw.url + "/chat/completions", json=body, headers=headers)
            assert r.status_code == 401
            assert r.json()["error"]["code"] == "gateway_auth"
        wire = student_kernel(gw.url, "glmgw_wrong")
        refused = _ask(wire)
        assert refused["status"] == "error"
        assert refused["error"].startswith("The gateway does not know this token")
    assert not [r for r in sim.requests if r["path"].endswith("/chat/completions")]


def test_the_policy_is_enforced_at_the_gateway(tmp_path: Path, sim: Simulator, db: str) -> None:
    token = issue(db, "carol")
    policy = {"models": ["glm-4.7-flash"], "agent": False, "max_tokens_per_request": 500}
    ask = {"model": "glm-4.7-flash", "messages": [{"role": "user", "content": "hi"}]}
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    headers = {"Authorization": f"Bearer {token}"}
    with gateway(tmp_path, db, sim.base_url, policy=policy) as gw:
        url = gw.url + "/chat/completions"
        for body, said in (
            ({**ask, "model": "glm-5.1"}, "This course allows the models glm-4.7-flash"),
            ({**ask, "tools": [tool]}, "Agent mode (tool calling) is turned off"),
            ({**ask, "max_tokens": 4000}, "at most 500 output tokens per request"),
        ):
            r = httpx.post(url, json=body, headers=headers)
            assert r.status_code == 403, r.text
            assert said in r.json()["error"]["message"]
        assert httpx.post(url, json=ask, headers=headers).status_code == 200
    sent = [r["body"] for r in sim.requests if r["path"].endswith("/chat/completions")]
    assert len(sent) == 1
    assert sent[0]["max_tokens"] == 500


def test_provider_errors_pass_through_as_they_are(tmp_path: Path, db: str) -> None:
    token = issue(db, "dave")
    fault = {"kind": "http_error", "status": 429, "code": "1302", "retry_after": 1, "times": 2}
    scenario = {**SCENARIO, "turns": [{"match": "hi", "content": "x", "fault": fault}]}
    body = {"model": "glm-5.1", "messages": [{"role": "user", "content": "hi"}]}
    with Simulator(scenario) as sim, gateway(tmp_path, db, sim.base_url) as gw:
        direct = httpx.post(
            sim.base_url + "/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {COURSE_KEY}"},
        )
        via = httpx.post(
            gw.url + "/chat/completions", json=body, headers={"Authorization": f"Bearer {token}"}
        )
    assert direct.status_code == via.status_code == 429
    assert via.content == direct.content  # the provider's body, byte for byte
    assert via.headers["retry-after"] == "1"
    rows = Store(db).usage_rows()
    assert rows[0].requests == 1
    assert rows[0].prompt_tokens == 0


def test_an_interrupted_stream_is_charged_what_the_provider_reported(
    tmp_path: Path, sim: Simulator, db: str
) -> None:
    token = issue(db, "erin")
    body = {"model": "glm-5.1", "stream": True, "messages": [{"role": "user", "content": "slowly"}]}
    with gateway(tmp_path, db, sim.base_url) as gw:
        with httpx.stream(
            "POST",
            gw.url + "/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        ) as r:
            first = next(r.iter_bytes())
        assert first.startswith(b"data: ")
        store = Store(db)
        for _ in range(100):  # the gateway writes the row once it has closed the provider's stream
            if store.usage_rows():
                break
            asyncio.run(asyncio.sleep(0.05))
    chat = next(r for r in sim.requests if r["path"].endswith("/chat/completions"))
    assert chat["outcome"] == "client closed the connection"
    rows = store.usage_rows()
    assert [(r.requests, r.prompt_tokens, r.completion_tokens) for r in rows] == [(1, 0, 0)]


def test_a_hundred_students_stream_at_once(tmp_path: Path, sim: Simulator, db: str) -> None:
    store = Store(db)
    tokens = [store.issue_token(f"student{i:03}") for i in range(100)]
    body = {"model": "glm-5.1", "stream": True, "messages": [{"role": "user", "content": "hi"}]}

    async def one(client: httpx.AsyncClient, url: str, token: str) -> bytes:
        headers = {"Authorization": f"Bearer {token}"}
        async with client.stream("POST", url, json=body, headers=headers) as r:
            assert r.status_code == 200
            return await r.aread()

    async def all_at_once(url: str) -> list[bytes]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(limits=limits, timeout=120) as client:
            return await asyncio.gather(*(one(client, url, t) for t in tokens))

    with gateway(tmp_path, db, sim.base_url) as gw:
        answers = asyncio.run(all_at_once(gw.url + "/chat/completions"))
    assert all(a.rstrip().endswith(b"data: [DONE]") for a in answers)
    rows = store.usage_rows()
    assert len(rows) == 100
    assert {r.prompt_tokens for r in rows} == {400}
    assert json.loads(glm_cli("gateway", "--db", db, "usage", "--json").stdout)[0]["requests"] == 1
