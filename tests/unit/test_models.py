"""The GLM line after GLM-5.1 through the simulator: catalog entries, reasoning effort on the
wire per provider, models found in a provider's listing, and 1M-token windows."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from glm_jupyter.config import catalog
from glm_jupyter.config.providers import PROVIDERS
from glm_jupyter.simulator.models import EFFORT_HEADER

from ..helpers import use
from .test_magics import run

REASONED = {"default": {"reasoning": " ".join(f"step{i}" for i in range(40)), "content": "ok"}}
# A model that ships after this release: the simulated provider lists it, the catalog does not.
FUTURE = {
    "id": "glm-6-preview",
    "context": 2_097_152,
    "max_output": 262_144,
    "input": 2.0,
    "cached": 0.4,
    "output": 8.0,
}


def _body(sim: Any) -> dict[str, Any]:
    posts = [r for r in sim.requests if r["method"] == "POST"]
    return posts[-1]["body"]  # type: ignore[no-any-return]


# --- the catalog --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["glm-5.4", "glm-5.3", "glm-5.3-flash", "glm-5.2", "glm-5v-turbo"])
def test_each_new_entry_says_when_it_came_and_where_its_figures_came_from(name: str) -> None:
    info = catalog.MODELS[name]
    assert info.released.startswith("2026-")
    assert info.source
    assert info.priced


def test_the_new_models_windows_efforts_and_eyes() -> None:
    m = catalog.MODELS
    assert {m[n].context for n in ("glm-5.4", "glm-5.3", "glm-5.3-flash", "glm-5.2")} == {1_048_576}
    assert (m["glm-5.3"].reasoning, m["glm-5.3"].efforts) == ("always", ("low", "high", "max"))
    assert (m["glm-5.3"].input_price, m["glm-5.3"].cached_price, m["glm-5.3"].output_price) == (
        1.40,
        0.26,
        4.40,
    )
    assert (m["glm-5.2"].reasoning, m["glm-5.2"].efforts) == ("toggle", ("high", "max"))
    assert catalog.SEEING == ("glm-5.4", "glm-5v-turbo", "glm-4.6v")


def test_the_default_model_is_the_current_flagship_and_ids_match_every_spelling() -> None:
    assert PROVIDERS["zai"].default_model == "glm-5.3"
    assert PROVIDERS["zai-coding"].default_model == "glm-5.4"  # Coding Plan only
    assert PROVIDERS["oxen"].model_id("glm-5.3") == "zai-org-glm-5-3"
    assert PROVIDERS["openrouter"].model_id("glm-5.3") == "z-ai/glm-5.3"
    for spelled in ("zai-org-glm-5-3", "z-ai/glm-5.3", "zai-org/GLM-5.3-FP8", "GLM-5.3"):
        assert catalog.lookup(spelled) is catalog.MODELS["glm-5.3"]


# --- reasoning effort on the wire ---------------------------------------------------------------

# (provider, dialect, flags, model) -> the fields the request carries
WIRE = [
    ("zai", "zai", "-m glm-5.3 --no-think", {"reasoning_effort": "low"}),
    ("zai", "zai", "-m glm-5.3 --effort medium", {"reasoning_effort": "high"}),
    ("zai", "zai", "-m glm-5.4 --effort max", {"reasoning_effort": "max"}),
    ("zai", "zai", "-m glm-5.2 --effort low", {"reasoning_effort": "high"}),
    ("zai", "zai", "-m glm-5.2 --no-think", {"thinking": {"type": "disabled"}}),
    ("zai", "zai", "-m glm-5.1 --no-think", {"thinking": {"type": "disabled"}}),
    ("openrouter", "openrouter", "-m glm-5.3 --effort max", {"reasoning": {"effort": "xhigh"}}),
    ("openrouter", "openrouter", "-m glm-5.3 --no-think", {"reasoning": {"effort": "low"}}),
    ("openrouter", "openrouter", "-m glm-5.2 --no-think", {"reasoning": {"enabled": False}}),
    ("oxen", "zai", "-m glm-5.3-flash --no-think", {"reasoning_effort": "low"}),
    ("vllm", "vllm", "-m zai-org/GLM-5.3 --effort high", {"reasoning_effort": "high"}),
    ("ollama", "ollama", "-m glm-5.3 --effort max", {"reasoning_effort": "high"}),
]


@pytest.mark.parametrize(("provider", "dialect", "flags", "fields"), WIRE)
def test_effort_and_thinking_go_each_providers_way(
    shell: Any, simulator: Any, provider: str, dialect: str, flags: str, fields: dict[str, Any]
) -> None:
    sim = simulator(REASONED, dialect)
    use(shell, sim, provider)
    ran = run(shell, f"%%glm {flags}\nHow?")
    assert ran.result.success, ran.stderr
    body = _body(sim)
    for name, value in fields.items():
        assert body[name] == value
    if "reasoning_effort" in fields and provider in ("zai", "oxen"):
        assert body.get("thinking", {}).get("type") != "disabled"  # refused by 5.3 and later
    assert ran.response["status"] == "done"


def test_no_think_on_a_model_that_always_thinks_says_what_was_sent(
    shell: Any, simulator: Any
) -> None:
    sim = simulator(REASONED)
    use(shell, sim)
    ran = run(shell, "%%glm --no-think\nHow?")  # the default, glm-5.3
    markdown = ran.final["text/markdown"]
    assert "glm-5.3 always thinks and cannot be switched off" in markdown
    assert "lowest effort (low)" in markdown
    # The Thinking panel and the usage still show what it thought, at the lower effort.
    response = ran.response
    assert response["reasoning"]
    assert "<details>" in markdown
    assert 0 < response["usage"]["reasoning_tokens"] < 40


def test_the_simulator_refuses_disabled_thinking_where_the_server_does(
    shell: Any, simulator: Any
) -> None:
    import httpx

    sim = simulator(REASONED)
    body = {
        "model": "glm-5.3",
        "messages": [{"role": "user", "content": "hi"}],
        "thinking": {"type": "disabled"},
    }
    refused = httpx.post(f"{sim.base_url}/chat/completions", json=body)
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "1210")
    body.pop("thinking")
    answered = httpx.post(
        f"{sim.base_url}/chat/completions", json={**body, "reasoning_effort": "low"}
    )
    assert answered.headers[EFFORT_HEADER] == "low"  # the effort is echoed back


def test_effort_lowers_the_reasoning_and_preserved_thinking_still_goes_back(
    shell: Any, simulator: Any
) -> None:
    sim = simulator({**REASONED, "repeat": True})
    use(shell, sim)
    shell.run_line_magic("config", "GLM.preserve_thinking = True")
    high = run(shell, "%%glm --effort max\nFirst?").response["usage"]["reasoning_tokens"]
    low = run(shell, "%%glm --effort low\nSecond?").response["usage"]["reasoning_tokens"]
    assert 0 < low < high
    body = _body(sim)
    assert body["thinking"] == {"type": "enabled", "clear_thinking": False}
    earlier = [m for m in body["messages"] if m["role"] == "assistant"]
    assert earlier[0]["reasoning_content"]  # the first turn's reasoning, sent back


def test_effort_is_a_setting_too(shell: Any, simulator: Any) -> None:
    sim = simulator(REASONED, "openrouter")
    use(shell, sim, "openrouter")
    shell.run_line_magic("config", "GLM.effort = 'high'")
    assert run(shell, "%%glm -m glm-5.4\nHow?").result.success
    assert _body(sim)["reasoning"] == {"effort": "high"}
    ran = run(shell, "%%glm -m glm-5.1\nHow?")  # no effort levels: said, not sent
    assert "reasoning" not in _body(sim)
    assert "glm-5.1 has no effort levels" in ran.final["text/markdown"]


# --- models found at run time -------------------------------------------------------------------


def test_a_listed_model_absent_from_the_catalog_runs_with_its_window_and_price(
    shell: Any, simulator: Any
) -> None:
    sim = simulator({**REASONED, "models": [FUTURE]}, "openrouter")
    use(shell, sim, "openrouter")
    ran = run(shell, "%%glm -m glm-6-preview\nHow?")
    assert ran.result.success, ran.stderr
    assert [r["path"].rsplit("/", 1)[-1] for r in sim.requests] == ["models", "completions"]
    info = catalog.find("z-ai/glm-6-preview", "openrouter")
    assert info is not None
    assert info.listed
    assert (info.context, info.max_output) == (2_097_152, 262_144)
    assert (info.input_price, info.cached_price, info.output_price) == (2.0, 0.4, 8.0)
    usage = ran.response["usage"]
    expected = (
        (usage["prompt_tokens"] - usage["cached_tokens"]) * 2.0
        + usage["cached_tokens"] * 0.4
        + usage["completion_tokens"] * 8.0
    ) / 1e6
    assert ran.response["cost_usd"] == pytest.approx(expected)
    assert "unknown" not in ran.final["text/markdown"].rsplit("---", 1)[-1]
    # The listing is kept on disk for a day: a new kernel (here: a fresh process state) reads
    # it from there, without asking the provider again.
    from glm_jupyter.wire.listing import forget

    forget()
    sim.reset()
    assert run(shell, "%%glm -m glm-6-preview\nAgain?").result.success
    assert [r["method"] for r in sim.requests] == ["POST"]
    saved = list((Path(os.environ["GLM_CACHE_DIR"]) / "models").glob("openrouter-*.json"))
    assert len(saved) == 1
    assert "sk-" not in saved[0].read_text()
    assert json.loads(saved[0].read_text())["listing"]["data"]


def test_an_unknown_model_runs_and_the_footer_says_what_is_unknown(
    shell: Any, simulator: Any
) -> None:
    sim = simulator(REASONED)
    use(shell, sim)
    ran = run(shell, "%%glm -m glm-9-nobody-knows\nHow?")
    assert ran.result.success, ran.stderr
    assert ran.response["status"] == "done"
    assert ran.response["cost_usd"] is None
    assert "window and price unknown" in ran.final["text/markdown"].rsplit("---", 1)[-1]
    assert len([r for r in sim.requests if r["method"] == "GET"]) == 1  # asked once
    run(shell, "%%glm -m glm-9-nobody-knows\nAgain?")
    assert len([r for r in sim.requests if r["method"] == "GET"]) == 1


def test_a_known_model_sends_no_listing_request(shell: Any, simulator: Any) -> None:
    sim = simulator(REASONED)
    use(shell, sim)
    run(shell, "%%glm -m glm-5.3\nHow?")
    assert [r["method"] for r in sim.requests] == ["POST"]


def test_models_shows_the_catalog_and_what_the_provider_lists_beyond_it(
    shell: Any, simulator: Any
) -> None:
    sim = simulator({"models": [FUTURE]}, "openrouter")
    use(shell, sim, "openrouter")
    text = run(shell, "%glm models").outputs[0].data["text/markdown"]
    assert text.startswith("**OpenRouter** lists")
    assert "| z-ai/glm-6-preview | 2,097,152 | 262,144 | 2.00 | 0.40 | 8.00 | - |" in text
    assert (
        "| glm-5.3 | 1,048,576 | 131,072 | 1.40 | 0.26 | 4.40 | always on | low, high, max" in text
    )
    assert "Where the figures come from" in text


# --- 1M windows ---------------------------------------------------------------------------------


def test_summary_budgets_and_the_too_long_advice_read_the_window(
    shell: Any, simulator: Any
) -> None:
    sim = simulator(
        {
            "turns": [
                {"content": "x", "fault": {"kind": "http_error", "status": 400, "code": "1261"}}
            ]
        }
    )
    use(shell, sim)
    from glm_jupyter.ipython.extension import _ACTIVE

    session = _ACTIVE[id(shell)].session
    s = session.settings()
    assert (s.model, s.summary_tokens) == ("glm-5.3", 3000)
    assert session.settings({"model": "glm-5.1"}).summary_tokens == 1500
    assert session.settings({"summary_tokens": 900}).summary_tokens == 900
    ran = run(shell, "%%glm\nHow?")
    assert "glm-5.3 holds 1,048,576 tokens" in ran.response["error"]
