"""The course gateway's parts: the usage scan, the policy's rules, budgets and their one-line
refusals, the Hub's token check, the store (SQLite), and the kernel side of a refusal."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from glm_jupyter.config.keys import Secret, find_key
from glm_jupyter.config.policy import parse_policy
from glm_jupyter.config.providers import GATEWAY_FLAGS, PROVIDERS
from glm_jupyter.errors import ConnectionFailedError, GatewayRefusedError, PolicyError, ServerError
from glm_jupyter.gateway import rules
from glm_jupyter.gateway.auth import HubTokens, bearer
from glm_jupyter.gateway.budget import Budgets, Clock, Standing
from glm_jupyter.gateway.ledger import Ledger
from glm_jupyter.gateway.relay import Upstream, UsageScan
from glm_jupyter.gateway.store import Charge, Override, Spent, Store
from glm_jupyter.messages import StreamFailure, Usage
from glm_jupyter.wire.budget import describe
from glm_jupyter.wire.failures import ErrorContext, classify

USAGE_CHUNK = (
    b'data: {"choices":[{"index":0,"finish_reason":"stop","delta":{"content":""}}],'
    b'"usage":{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46,'
    b'"prompt_tokens_details":{"cached_tokens":5}}}\n\n'
)
STREAM = (
    b'data: {"choices":[{"index":0,"delta":{"content":"the word \\"usage\\" in text"}}]}\n\n'
    + USAGE_CHUNK
    + b"data: [DONE]\n\n"
)


@given(st.lists(st.integers(min_value=1, max_value=len(STREAM) - 1), max_size=8))
def test_the_usage_is_found_however_the_stream_is_cut(cuts: list[int]) -> None:
    scan = UsageScan()
    edges = [0, *sorted(set(cuts)), len(STREAM)]
    for a, b in itertools.pairwise(edges):
        scan.feed(STREAM[a:b])
    scan.end()
    assert scan.usage == Usage(prompt_tokens=12, completion_tokens=34, cached_tokens=5)


def test_a_stream_cut_before_its_usage_reports_none() -> None:
    scan = UsageScan()
    scan.feed(STREAM[: STREAM.index(b"data: {", 10)])
    scan.end()
    assert scan.usage is None


def test_a_whole_answer_and_a_last_line_without_newline() -> None:
    whole = UsageScan()
    whole.whole(json.dumps({"choices": [], "usage": {"prompt_tokens": 3}}).encode())
    assert whole.usage == Usage(prompt_tokens=3)
    tail = UsageScan()
    tail.feed(USAGE_CHUNK.rstrip())
    tail.end()
    assert tail.usage is not None
    assert tail.usage.completion_tokens == 34


def test_the_upstream_gets_the_course_key_and_its_own_spelling() -> None:
    up = Upstream(PROVIDERS["openrouter"], "https://example.invalid/api/v1", Secret("course-key"))
    assert up.headers()["Authorization"] == "Bearer course-key"
    body = json.loads(up.body({"model": "glm-5.1", "stream": True, "messages": []}))
    assert body["model"] == "z-ai/glm-5.1"
    assert body["stream_options"] == {"include_usage": True}
    zai = Upstream(PROVIDERS["zai"], "https://example.invalid/v4", Secret("k"))
    sent = json.loads(zai.body({"model": "glm-5.1", "stream": True, "stream_options": {}}))
    assert "stream_options" not in sent
    assert zai.url("/chat/completions") == "https://example.invalid/v4/chat/completions"


def _policy(**rules_: Any) -> Any:
    return parse_policy(rules_, Path("/etc/jupyter/glm_policy.json"))


def test_the_policy_rules_on_one_request() -> None:
    policy = _policy(models=["glm-4.7-flash"], agent=True, auto=False, max_tokens_per_request=100)
    ask: dict[str, Any] = {"model": "GLM-4.7-Flash", "messages": []}
    assert rules.refusal(dict(ask), policy) is None
    said = rules.refusal({**ask, "model": "glm-5"}, policy)
    assert said is not None
    assert "allows the models glm-4.7-flash, not 'glm-5'" in said
    auto = {**ask, GATEWAY_FLAGS: {"agent": True, "auto": True}}
    assert "drop --auto" in (rules.refusal(auto, policy) or "")
    approved = {**ask, GATEWAY_FLAGS: {"agent": True, "auto": False}}
    assert rules.refusal(approved, policy) is None
    assert GATEWAY_FLAGS not in approved, "the kernel's flags never reach the provider"
    assert approved["max_tokens"] == 100
    assert "at most 100 output tokens" in (rules.refusal({**ask, "max_tokens": 101}, policy) or "")
    no_agent = _policy(agent=False, message="See the syllabus.")
    tools = {**ask, "tools": [{"type": "function"}]}
    assert rules.refusal(tools, no_agent) == (
        "Agent mode (tool calling) is turned off for this course. See the syllabus."
    )
    assert rules.refusal({"messages": []}, no_agent) == "The request names no model."
    assert rules.refusal(tools, None) is None


def test_budget_keys_are_checked_where_the_policy_is_read() -> None:
    policy = _policy(student_tokens_per_day=10, course_tokens_per_day=99, timezone="Asia/Tokyo")
    assert (policy.student_tokens_per_day, policy.timezone) == (10, "Asia/Tokyo")
    with pytest.raises(PolicyError, match="IANA time zone"):
        _policy(timezone="Mars/Olympus")
    with pytest.raises(PolicyError, match="student_tokens_per_day"):
        _policy(student_tokens_per_day=0)


NOW = dt.datetime(2026, 12, 7, 21, 30, tzinfo=dt.timezone.utc)


def test_the_day_turns_at_the_courses_midnight() -> None:
    tokyo = Clock("Asia/Tokyo")
    assert tokyo.day(NOW) == "2026-12-08"  # 06:30 there
    assert tokyo.next_reset(NOW).isoformat() == "2026-12-09T00:00:00+09:00"
    assert Clock().day(NOW) == "2026-12-07"


def _standing(budgets: Budgets, spent: Spent) -> Standing:
    return Standing("ana", budgets, spent, Clock().next_reset(NOW))


def test_each_budget_refuses_in_one_line_that_says_what_is_left_and_when() -> None:
    daily = _standing(Budgets(1000, None, None), Spent(1200, 1200, 5000))
    assert daily.refusal(NOW, "Ask your TA.") == (
        "Your daily budget of 1,000 tokens is used up (1,200 used today, 0 left); "
        "it resets at 00:00 UTC (in 2 h 30 min). Ask your TA."
    )
    total = _standing(Budgets(None, 5000, None), Spent(10, 5000, 10))
    assert "Your course budget of 5,000 tokens is used up" in (total.refusal(NOW) or "")
    course = _standing(Budgets(None, None, 100), Spent(0, 0, 100))
    assert (course.refusal(NOW) or "").startswith("The course's daily budget of 100 tokens")
    fine = _standing(Budgets(1000, None, None), Spent(999, 999, 999))
    assert fine.refusal(NOW) is None
    assert fine.left() == {"today": 1, "total": None, "course_today": None}
    assert describe(fine.as_json()).startswith(
        "Course gateway (ana): today 999 of 1,000 tokens used, 1 left (resets at 00:00 UTC"
    )


def test_an_instructors_override_beats_the_policy() -> None:
    policy = _policy(student_tokens_per_day=10, student_tokens_total=100)
    assert Budgets.of(policy, Override(50, None)) == Budgets(50, 100, None)
    assert Budgets.of(None, Override(None, None)) == Budgets(None, None, None)


def test_the_store_counts_tokens_overrides_and_usage(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'g.sqlite3'}")
    token = store.issue_token("ana")
    assert token.startswith("glmgw_")
    assert store.student_for_token(token) == "ana"
    assert store.student_for_token(token + "x") is None
    store.record(
        [
            Charge("ana", "glm-5.1", Usage(100, 20), 0.5, "done", "2026-12-07"),
            Charge("ana", "glm-5.1", None, None, "interrupted", "2026-12-07"),
        ]
    )
    store.record([Charge("ana", "glm-4.7-flash", Usage(7, 3), 0.0, "done", "2026-12-08")])
    store.record([Charge("ben", "glm-5.1", Usage(1, 1), 0.1, "done", "2026-12-07")])
    assert store.spent("ana", "2026-12-07") == Spent(today=120, total=130, course_today=122)
    rows = store.usage_rows(day="2026-12-07")
    assert [(r.student, r.model, r.requests, r.prompt_tokens) for r in rows] == [
        ("ana", "glm-5.1", 2, 100),
        ("ben", "glm-5.1", 1, 1),
    ]
    assert rows[0].cost_usd is None, "one request's cost is not known"
    store.set_override("ana", Override(5000, None))
    store.set_override("ana", Override(6000, 9000))
    assert store.override("ana") == Override(6000, 9000)
    assert store.revoke_tokens("ana") == 1
    assert store.student_for_token(token) is None
    store.close()
    again = Store(f"sqlite:///{tmp_path / 'g.sqlite3'}")  # what a restarted gateway reads
    assert again.spent("ana", "2026-12-07").total == 130
    again.close()


def test_a_database_url_that_cannot_work_says_what_to_write() -> None:
    with pytest.raises(ValueError, match="sqlite:///path"):
        Store("not a url")
    with pytest.raises(ValueError, match="SQLite or PostgreSQL, not mysql"):
        Store("mysql://u@h/d")


def _hub(handler: Any) -> HubTokens:
    return HubTokens("http://hub.invalid/hub/api", httpx.AsyncClient(transport=handler))


def test_hub_tokens_are_asked_of_the_hub_and_kept_a_minute() -> None:
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        token = request.headers["Authorization"].removeprefix("token ")
        asked.append(token)
        if token == "user-token":
            return httpx.Response(200, json={"kind": "user", "name": "ana"})
        if token == "service-token":
            return httpx.Response(200, json={"kind": "service", "name": "grader"})
        return httpx.Response(403, json={"message": "no"})

    hub = _hub(httpx.MockTransport(answer))

    async def check() -> list[str | None]:
        return [await hub.student(t) for t in ("user-token", "user-token", "service-token", "x")]

    assert asyncio.run(check()) == ["ana", "ana", None, None]
    assert asked == ["user-token", "service-token", "x"]


def test_a_hub_that_does_not_answer_is_not_taken_for_a_bad_token() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ConnectionFailedError, match="JupyterHub did not answer"):
        asyncio.run(_hub(httpx.MockTransport(down)).student("t"))
    failing = _hub(httpx.MockTransport(lambda r: httpx.Response(500)))
    with pytest.raises(ConnectionFailedError, match="answered 500"):
        asyncio.run(failing.student("t"))


def test_bearer_takes_either_scheme() -> None:
    assert bearer({"Authorization": "Bearer abc"}) == "abc"
    assert bearer({"Authorization": "token abc"}) == "abc"
    assert bearer({"Authorization": "Basic abc"}) is None
    assert bearer({}) is None


def test_the_kernel_shows_a_gateway_refusal_as_its_one_line() -> None:
    ctx = ErrorContext(PROVIDERS["gateway"], "http://127.0.0.1:1/v1", "glm-5.1")
    line = "Your daily budget of 10 tokens is used up (10 used today, 0 left); it resets ..."
    error, retry = classify(StreamFailure(code="gateway_budget", message=line, status=429), ctx)
    assert isinstance(error, GatewayRefusedError)
    assert str(error) == line
    assert retry is False
    down, retry = classify(StreamFailure(code="gateway_upstream", message="x", status=502), ctx)
    assert isinstance(down, ServerError)
    assert retry is True


def test_a_students_kernel_finds_its_token_without_a_key() -> None:
    gateway = PROVIDERS["gateway"]
    hub = {"JUPYTERHUB_API_TOKEN": "hub-token"}
    assert find_key(gateway, hub) == (Secret("hub-token"), "JUPYTERHUB_API_TOKEN")
    own = {**hub, "GLM_GATEWAY_TOKEN": "glmgw_x"}
    assert find_key(gateway, own) == (Secret("glmgw_x"), "GLM_GATEWAY_TOKEN")
    assert find_key(PROVIDERS["zai"], hub) == (None, None), "a Hub token is for the gateway only"


def test_the_ledger_counts_a_charge_at_once_and_once(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'g.sqlite3'}")
    store.record([Charge("ana", "m", Usage(50, 50), None, "done", "2026-12-07")])
    token = store.issue_token("ana")
    day = "2026-12-07"

    async def run() -> list[int]:
        ledger = Ledger(store, every=3600)  # refreshed by hand here
        await ledger.start(lambda: day)
        seen = [ledger.position("ana", day)[0].today]
        ledger.charge(Charge("ana", "m", Usage(10, 5), None, "done", day))
        seen.append(ledger.position("ana", day)[0].today)  # before its row is written
        while ledger.unwritten:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        seen.append(ledger.position("ana", day)[0].today)
        await ledger.refresh(day)  # the row is in the database now: counted once
        seen.append(ledger.position("ana", day)[0].today)
        seen.append(ledger.position("ana", day)[0].course_today)
        assert await ledger.student_for_token(token) == "ana"
        newer = store.issue_token("ben")  # issued after the last read: asked of the database
        assert await ledger.student_for_token(newer) == "ben"
        store.revoke_tokens("ana")
        await ledger.refresh(day)
        assert await ledger.student_for_token(token) is None
        ledger.charge(Charge("ben", "m", Usage(1, 1), None, "done", day))
        await ledger.stop()  # writes what is left
        return seen

    assert asyncio.run(run()) == [100, 115, 115, 115, 115]
    assert store.spent("ben", day).today == 2


def test_usage_today_is_the_courses_day(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from glm_jupyter.cli import main

    db = f"sqlite:///{tmp_path / 'g.sqlite3'}"
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"timezone": "Pacific/Kiritimati"}), "utf-8")
    day = Clock("Pacific/Kiritimati").day()
    Store(db).record([Charge("ana", "glm-5.1", Usage(3, 4), None, "done", day)])
    assert main(["gateway", "--db", db, "usage", "--day", "today", "--policy", str(policy)]) == 0
    assert capsys.readouterr().out.split("\n")[1].split() == [
        "ana",
        "glm-5.1",
        "1",
        "3",
        "4",
        "unknown",
    ]
    policy.write_text(json.dumps({"timezone": 3}), "utf-8")
    assert main(["gateway", "--db", db, "usage", "--day", "today", "--policy", str(policy)]) == 2
    assert "'timezone' must be an IANA time zone" in capsys.readouterr().err


def test_the_gateway_without_its_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from glm_jupyter.cli import main

    monkeypatch.setitem(sys.modules, "aiohttp", None)  # as if it were not installed
    assert main(["gateway", "usage"]) == 2
    assert "pip install 'glm-jupyter[gateway]'" in capsys.readouterr().err
