"""The course gateway with its counts in a real PostgreSQL server (Debian's, started here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from glm_jupyter.gateway.store import Charge, Override, Spent, Store
from glm_jupyter.messages import Usage
from glm_jupyter.simulator import Simulator

from .gateway import SCENARIO, gateway, glm_cli, issue
from .postgres import postgres

ASK = {"model": "glm-5.1", "stream": True, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with postgres(tmp_path_factory.mktemp("postgres")) as url:
        yield url


def test_the_store_on_postgres(database: str) -> None:
    store = Store(database)
    token = store.issue_token("pg-ana")
    store.record(
        [
            Charge("pg-ana", "glm-5.1", Usage(100, 20), 0.5, "done", "2026-12-07"),
            Charge("pg-ana", "glm-5.1", Usage(1, 2), None, "done", "2026-12-07"),
            Charge("pg-ben", "glm-5.1", Usage(3, 4), 0.1, "done", "2026-12-06"),
        ]
    )
    store.set_override("pg-ana", Override(10, None))
    store.set_override("pg-ana", Override(20, 30))
    spent, override = store.position("pg-ana", "2026-12-07")
    assert spent == Spent(today=123, total=123, course_today=123)
    assert override == Override(20, 30)
    snap = store.snapshot("2026-12-07")
    assert snap.today["pg-ana"] == 123
    assert snap.total["pg-ben"] == 7
    assert "pg-ana" in snap.tokens.values()
    assert store.student_for_token(token) == "pg-ana"
    rows = store.usage_rows(student="pg-ana")
    assert [(r.requests, r.prompt_tokens, r.cost_usd) for r in rows] == [(2, 101, None)]
    store.close()


def test_a_gateway_on_postgres_keeps_its_counts_across_a_restart(
    tmp_path: Path, database: str
) -> None:
    token = issue(database, "pg-carol")
    headers = {"Authorization": f"Bearer {token}"}
    policy = {"student_tokens_per_day": 600}
    with Simulator(SCENARIO) as sim:
        with gateway(tmp_path, database, sim.base_url, policy=policy) as gw:
            r = httpx.post(gw.url + "/chat/completions", json=ASK, headers=headers)
            assert r.status_code == 200
            assert r.content.rstrip().endswith(b"data: [DONE]")
            r = httpx.post(gw.url + "/chat/completions", json=ASK, headers=headers)
            assert r.status_code == 200  # 500 of 600 before it: the one that crosses goes
        with gateway(tmp_path, database, sim.base_url, policy=policy) as gw:
            r = httpx.post(gw.url + "/chat/completions", json=ASK, headers=headers)
            assert r.status_code == 429
            assert r.json()["error"]["message"].startswith("Your daily budget of 600 tokens")
    usage = glm_cli("gateway", "--db", database, "usage", "--student", "pg-carol")
    assert usage.stdout.split("\n")[1].split()[:5] == ["pg-carol", "glm-5.1", "2", "800", "200"]
    assert database.split("@")[0].split(":")[-1] not in usage.stdout + usage.stderr
