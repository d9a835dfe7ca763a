"""The kernel session's usage ledger: a line per model, and per kind of use."""

from __future__ import annotations

from glm_jupyter.core.conversation import UsageLedger
from glm_jupyter.messages import Usage


def test_kinds_count_apart_and_sum_over_models() -> None:
    ledger = UsageLedger()
    ledger.add("glm-5.1", Usage(prompt_tokens=1000, completion_tokens=200), "zai")
    ledger.add(
        "glm-4.7-flash", Usage(prompt_tokens=500, completion_tokens=20), "zai", "completions"
    )
    ledger.add("glm-4.7-flash", None, "zai", "completions")  # cancelled: no usage reported
    ledger.add("qwen-local", Usage(prompt_tokens=300, completion_tokens=10), "vllm", "completions")
    ledger.add("glm-4.7-flash", Usage(prompt_tokens=800, completion_tokens=90), "zai", "edits")

    completions = ledger.of_kind("completions")
    assert completions.requests == 3
    assert completions.prompt_tokens == 800
    assert completions.completion_tokens == 30
    assert ledger.of_kind("edits").requests == 1
    assert ledger.of_kind("edits").completion_tokens == 90
    assert ledger.of_kind("nothing").requests == 0
    assert "glm-4.7-flash (completions) | 2 |" in ledger.table()
