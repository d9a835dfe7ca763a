"""`cache_prefix_share`: how much of each follow-up the provider's context cache can serve."""

from __future__ import annotations

import os
from typing import Any

from .common import result

QUESTIONS = [
    "Which columns have missing values?",
    "And which region sells most?",
    "Is there a trend over the months?",
    "Which customers look like outliers?",
    "What should I check next?",
]


def _frame() -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    n = 50_000
    return pd.DataFrame(
        {
            "date": pd.date_range("2025-01-01", periods=n, freq="h"),
            "region": rng.choice(["North", "South", "East", "West"], n),
            "customer": rng.choice([f"c{i:04d}" for i in range(900)], n),
            "units": rng.integers(1, 40, n),
            "price": rng.gamma(2.0, 15.0, n).round(2),
            "discount": np.where(rng.random(n) < 0.1, np.nan, rng.random(n) * 0.3),
        }
    )


def _share(usages: list[dict[str, Any]]) -> float:
    """Cached over prompt tokens, on every turn after the first."""
    later = usages[1:]
    return sum(u["cached_tokens"] for u in later) / sum(u["prompt_tokens"] for u in later)


def _magic_usages(shell: Any, cells: list[str]) -> list[dict[str, Any]]:
    from IPython.utils.capture import capture_output

    from glm_jupyter.display.bundle import MIME_TYPE

    usages = []
    for cell in cells:
        with capture_output() as captured:
            outcome = shell.run_cell(cell)
        assert outcome.success, outcome.error_in_exec
        final = [o.data[MIME_TYPE] for o in captured.outputs if MIME_TYPE in o.data][-1]
        usages.append(final["usage"])
    return usages


def _question_first_usages(url: str, summary: str) -> list[dict[str, Any]]:
    """A tool that rebuilds each prompt with the question before the data."""
    import httpx

    from glm_jupyter.core.prompts import DEFAULT_SYSTEM

    usages = []
    for question in QUESTIONS:
        body = {
            "model": "glm-5.1",
            "stream": False,
            "messages": [
                {"role": "system", "content": DEFAULT_SYSTEM},
                {"role": "user", "content": f"{question}\n\n{summary}"},
            ],
        }
        usage = httpx.post(url + "/chat/completions", json=body, timeout=30).json()["usage"]
        usages.append(
            {
                "prompt_tokens": usage["prompt_tokens"],
                "cached_tokens": usage["prompt_tokens_details"]["cached_tokens"],
            }
        )
    return usages


def run() -> list[dict[str, Any]]:
    """Five questions about one dataframe: the first sends its summary, four follow up."""
    from IPython.core.interactiveshell import InteractiveShell

    from glm_jupyter.simulator import Simulator

    shell = InteractiveShell.instance()
    shell.extension_manager.load_extension("glm_jupyter")  # quietly, if not yet loaded
    shell.user_ns["sales"] = _frame()
    shell.run_line_magic("config", "GLM.renderer = 'display'")
    with Simulator({"default": {"content": "A short answer about the data."}}) as sim:
        os.environ.update(GLM_PROVIDER="zai", GLM_BASE_URL=sim.base_url, GLM_API_KEY="benchmark")
        ours = [f"%%glm --new --df sales\n{QUESTIONS[0]}"] + [f"%glm {q}" for q in QUESTIONS[1:]]
        share = _share(_magic_usages(shell, ours))
        sim.reset()
        from glm_jupyter.context.summaries import summarize

        summary = summarize(shell.user_ns["sales"], "sales").text
        baseline = _share(_question_first_usages(sim.base_url, summary))
    return [
        result(
            "cache_prefix_share",
            share,
            "share",
            ">= 0.9",
            share >= 0.9,
            f"each prompt rebuilt with the question before the data: {baseline:.2f}",
            turns=len(QUESTIONS),
        )
    ]
