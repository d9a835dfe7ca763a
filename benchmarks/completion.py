"""Inline completions: what one request sends about the live kernel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .common import result

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "02-data-analysis-assistant.ipynb"


def _code_cells() -> list[str]:
    cells = json.loads(NOTEBOOK.read_text("utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def context_tokens() -> list[dict[str, Any]]:
    """The prompt of a completion typed under the 02 notebook's cells, the penguins loaded."""
    from palmerpenguins import load_penguins

    from glm_jupyter.completion.prompt import CompletionRequest, messages
    from glm_jupyter.config.providers import PROVIDERS
    from glm_jupyter.context.names import names_table
    from glm_jupyter.context.summaries import summarize
    from glm_jupyter.simulator.tokens import Prompt, prompt_text
    from glm_jupyter.wire.dialects import Dialect

    penguins = load_penguins()
    names = names_table({"penguins": penguins, "load_penguins": load_penguins})
    request = CompletionRequest("by_species = penguins.groupby(", "", tuple(_code_cells()))
    dialect = Dialect(PROVIDERS["zai"], "glm-4.7-flash", thinking=False, max_tokens=96)
    body = dialect.body(messages(request, names))
    tokens = Prompt.of(prompt_text(body)).tokens
    # The naive way: the frame's rows as text, as a notebook-text assistant would paste them.
    naive = Prompt.of(penguins.to_string()).tokens
    summary = summarize(penguins, "penguins").tokens
    return [
        result(
            "completion_context_tokens",
            tokens,
            "tokens",
            "<= 1000",
            tokens <= 1000,
            f"the frame's rows as text {naive:,} tokens; its `--df` summary {summary:,}",
            names_table_chars=len(names),
            cells_above=len(request.cells),
        )
    ]


def run() -> list[dict[str, Any]]:
    """Every completion metric measured here."""
    return context_tokens()
