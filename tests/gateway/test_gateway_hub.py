"""The course gateway as a service of a real JupyterHub: students' kernels in servers the Hub
spawned, known by their own Hub tokens, with no key anywhere near them."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from glm_jupyter.gateway.store import Store
from glm_jupyter.schemas import RESPONSE_MIME
from glm_jupyter.simulator import Simulator

from .gateway import COURSE_KEY, SCENARIO, glm_cli
from .hub import Hub, jupyterhub

SERVICE = "glm-gateway"
POLICY = {"student_tokens_per_day": 900, "message": "Ask in the course forum."}


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, Simulator, str]]:
    workdir = tmp_path_factory.mktemp("hub")
    db = f"sqlite:///{workdir / 'course.sqlite3'}"
    policy = workdir / "glm_policy.json"
    policy.write_text(json.dumps(POLICY), "utf-8")
    with Simulator(SCENARIO) as sim:
        command = [sys.executable, "-m", "glm_jupyter.cli", "gateway", "--db", db, "serve"]
        command += ["--provider", "zai", "--base-url", sim.base_url, "--policy", str(policy)]
        with jupyterhub(
            workdir,
            service_name=SERVICE,
            service_command=command,
            service_env={"ZAI_API_KEY": COURSE_KEY},
            spawner_env={"GLM_PROVIDER": "gateway"},
            users=["alice", "bob"],
            # Kernels reach the gateway at its own address, as docs/teaching.md configures.
            extra_config=(
                "c.Spawner.environment['GLM_BASE_URL'] = "
                f"c.JupyterHub.services[0]['url'] + '/services/{SERVICE}/v1'"
            ),
        ) as hub:
            yield hub, sim, db


def _answers(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o["data"][RESPONSE_MIME] for o in outputs if RESPONSE_MIME in o.get("data", {})]


def _ask(kernel: Any) -> dict[str, Any]:
    shown = _answers(kernel.execute("%%glm --new\nWhat is a DataFrame?", timeout=120))
    assert shown, "no answer was shown"
    return shown[-1]


def test_a_student_on_the_hub_streams_through_the_gateway_with_no_key(
    course: tuple[Hub, Simulator, str],
) -> None:
    hub, sim, db = course
    with hub.kernel("alice") as kernel:
        env = kernel.env()
        assert env["GLM_PROVIDER"] == "gateway"
        assert not [k for k in env if k.endswith("_API_KEY")]
        assert COURSE_KEY not in json.dumps(env)
        kernel.execute("%load_ext glm_jupyter")
        answer = _ask(kernel)
        assert answer["status"] == "done", answer
        assert answer["content"] == "Through the gateway."
    rows = Store(db).usage_rows(student="alice")
    assert [(r.requests, r.prompt_tokens) for r in rows] == [(1, 400)]
    chats = [r for r in sim.requests if r["path"].endswith("/chat/completions")]
    assert chats[-1]["outcome"] == "answered"  # the simulator took only the course's key


def test_a_spent_budget_holds_across_kernels_on_the_hub(
    course: tuple[Hub, Simulator, str],
) -> None:
    hub, _, db = course
    with hub.kernel("bob") as kernel:
        kernel.execute("%load_ext glm_jupyter")
        assert _ask(kernel)["status"] == "done"
        assert _ask(kernel)["status"] == "done"
        refused = _ask(kernel)
    assert refused["status"] == "error"
    assert refused["error"].startswith("Your daily budget of 900 tokens is used up")
    assert refused["error"].endswith("Ask in the course forum.")
    with hub.kernel("bob") as fresh:  # a new kernel: a fresh session, the same budget
        fresh.execute("%load_ext glm_jupyter")
        assert _ask(fresh)["status"] == "error"
        usage = "".join(o.get("text", "") for o in fresh.execute("%glm usage"))
        usage += json.dumps([o.get("data", {}) for o in fresh.execute("%glm usage")])
    assert "Course gateway (bob): today 1,000 of 900 tokens used, 0 left" in usage
    shown = glm_cli("gateway", "--db", db, "usage", "--student", "bob")
    assert shown.stdout.split("\n")[1].split()[:3] == ["bob", "glm-5.3", "2"]


def test_tokens_the_hub_does_not_vouch_for_are_refused(course: tuple[Hub, Simulator, str]) -> None:
    hub, _, _ = course
    url = hub.service_prefix_url + "v1/chat/completions"
    body = {"model": "glm-5.1", "messages": [{"role": "user", "content": "hi"}]}
    for headers in (
        {},
        {"Authorization": "token not-a-hub-token"},
        {"Authorization": f"token {hub.admin_token}"},  # a service's token, not a student's
    ):
        r = httpx.post(url, json=body, headers=headers, timeout=30)
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] == "gateway_auth"
    ok = httpx.post(
        url, json=body, headers={"Authorization": f"token {hub.user_token('alice')}"}, timeout=30
    )
    assert ok.status_code == 200  # through the Hub's proxy, with a token of alice's own
