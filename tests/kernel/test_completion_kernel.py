"""Inline completions served by a real kernel (jupyter_client): they know its DataFrames'
columns, stream, come while a cell runs, close the model's stream when the caller hangs up,
count in `%glm usage`, and carry no cell values."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jupyter_client.manager import KernelManager

from glm_jupyter.simulator import Simulator

COLUMNS = "sales = pd.DataFrame({'region': ['north', 'south'], 'units_sold': [3, 5]})"
ANSWER = "sales.groupby('region')['units_sold'].sum()"
LOOP = "doubled = []\nfor u in sales['units_sold']:\n    doubled.append(u * 2)"
EDITED = "doubled = (sales['units_sold'] * 2).tolist()"


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[Any]:
    sim = Simulator(
        {
            "turns": [
                {"match": "slow please", "content": "x" * 400, "tokens_per_second": 20},
                {"match": "<\\|cursor\\|>", "content": ANSWER},
                {"match": "Rewrite it: vectorise", "content": f"```python\n{EDITED}\n```"},
            ],
            "default": {"content": "ok"},
        }
    )
    kernel_id = str(uuid.uuid4())
    km = KernelManager(kernel_name="python3")
    km.connection_file = str(tmp_path / f"kernel-{kernel_id}.json")
    env = dict(os.environ, GLM_PROVIDER="zai", GLM_BASE_URL=sim.base_url, GLM_API_KEY="sk-c")
    km.start_kernel(env=env)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    kc.execute_interactive("%load_ext glm_jupyter\nimport pandas as pd\n" + COLUMNS, timeout=60)
    try:
        yield kc, tmp_path / f"glm-complete-{kernel_id}.json", sim
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        sim.close()


def _post(endpoint: Path, body: dict[str, Any]) -> httpx.Response:
    info = json.loads(endpoint.read_text())
    return httpx.post(
        f"http://127.0.0.1:{info['port']}/complete",
        json=body,
        headers={"Authorization": f"Bearer {info['token']}"},
        timeout=30,
    )


def _lines(response: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def test_a_completion_knows_the_kernel_columns(kernel: Any) -> None:
    kc, endpoint, sim = kernel
    assert oct(endpoint.stat().st_mode & 0o777) == "0o600"
    reply = _post(endpoint, {"prefix": "totals = ", "suffix": "", "cells": [COLUMNS]})
    assert reply.status_code == 200
    pieces = _lines(reply)
    assert "".join(p.get("text", "") for p in pieces) == ANSWER
    assert pieces[-1]["done"] is True
    assert pieces[-1]["insert"] == ANSWER
    session = pieces[-1]["session"]  # the kernel's totals of completions, for the status bar
    assert session["requests"] >= 1
    assert session["tokens"] > 0
    sent = sim.requests[-1]["body"]
    prompt = sent["messages"][-1]["content"]
    assert "sales: pandas.DataFrame (2×2)" in prompt
    assert "region: str, units_sold: int64" in prompt
    assert "totals = <|cursor|>" in prompt
    assert sent["model"] == "glm-4.7-flash"
    assert sent["thinking"] == {"type": "disabled"}
    assert "north" not in json.dumps(sent["messages"][-1]["content"].split("Cells above")[0])
    shown: list[str] = []

    def collect(msg: dict[str, Any]) -> None:
        shown.append(json.dumps(msg["content"].get("data", {})))

    kc.execute_interactive("%glm usage", timeout=30, output_hook=collect)
    assert "glm-4.7-flash (completions) | 1 |" in "".join(shown)


def test_a_completion_comes_while_a_cell_runs(kernel: Any, tmp_path: Path) -> None:
    kc, endpoint, _ = kernel
    flag = tmp_path / "let-the-cell-end"
    # The cell runs until the test lets it end, which it does only after the completion.
    kc.execute(
        f"import pathlib, time\nwhile not pathlib.Path({str(flag)!r}).exists(): time.sleep(0.05)"
    )
    reply = _post(endpoint, {"prefix": "totals = "})
    assert reply.status_code == 200
    assert _lines(reply)[-1]["insert"] == ANSWER
    flag.touch()
    assert kc.get_shell_msg(timeout=30)["content"]["status"] == "ok"


def test_hanging_up_closes_the_model_stream(kernel: Any) -> None:
    _, endpoint, sim = kernel
    info = json.loads(endpoint.read_text())
    with httpx.stream(
        "POST",
        f"http://127.0.0.1:{info['port']}/complete",
        json={"prefix": "slow please "},
        headers={"Authorization": f"Bearer {info['token']}"},
        timeout=30,
    ) as response:
        for _line in response.iter_lines():
            break  # the first piece arrived; the person types on
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        outcome = sim.requests[-1]["outcome"]
        if outcome != "open":
            break
        time.sleep(0.05)
    assert sim.requests[-1]["outcome"] == "client closed the connection"


def test_an_edit_streams_the_new_source(kernel: Any) -> None:
    _, endpoint, sim = kernel
    info = json.loads(endpoint.read_text())
    reply = httpx.post(
        f"http://127.0.0.1:{info['port']}/edit",
        json={"source": LOOP, "instruction": "vectorise this loop", "cells": [COLUMNS]},
        headers={"Authorization": f"Bearer {info['token']}"},
        timeout=30,
    )
    pieces = _lines(reply)
    assert pieces[-1]["done"] is True
    assert pieces[-1]["source"] == EDITED
    assert pieces[-1]["session"]["requests"] >= 1
    prompt = sim.requests[-1]["body"]["messages"][-1]["content"]
    assert LOOP in prompt
    assert "units_sold: int64" in prompt
    missing = httpx.post(
        f"http://127.0.0.1:{info['port']}/edit",
        json={"source": LOOP, "instruction": " "},
        headers={"Authorization": f"Bearer {info['token']}"},
    )
    assert missing.status_code == 400
    assert "Say what to change" in missing.json()["error"]


def test_a_wrong_token_is_refused(kernel: Any) -> None:
    _, endpoint, _ = kernel
    info = json.loads(endpoint.read_text())
    reply = httpx.post(
        f"http://127.0.0.1:{info['port']}/complete",
        json={"prefix": "x"},
        headers={"Authorization": "Bearer wrong"},
    )
    assert reply.status_code == 403
