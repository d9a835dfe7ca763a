"""JSON Schemas (draft 2020-12) of the response and step payloads, shipped as package data."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

RESPONSE_MIME = "application/vnd.glm.response+json"  # one answer (display.bundle)
STEP_MIME = "application/vnd.glm.step+json"  # one tool call of an agent run (display.step)
RUN_MIME = "application/vnd.glm.run+json"  # an agent run's header (display.run_header)
# The MIME type each schema describes.
MIME_SCHEMAS: dict[str, str] = {RESPONSE_MIME: "response", STEP_MIME: "step", RUN_MIME: "run"}
NAMES = ("response", "step", "run")


def load(name: str) -> dict[str, Any]:
    """The schema called `name` ("response", "step" or "run") as a fresh dict."""
    if name not in NAMES:
        raise ValueError(f"no schema named {name!r}; there are {', '.join(NAMES)}")
    text = resources.files(__name__).joinpath(f"{name}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
