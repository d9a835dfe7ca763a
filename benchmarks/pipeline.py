"""The two stream consumers compared: a plain httpx loop, and glm-jupyter's client + renderer.

Each takes a client made beforehand, as a notebook session keeps one: building an httpx client
loads the CA bundle (tens of milliseconds), which is no part of streaming.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from glm_jupyter.display.render import DisplayRenderer
from glm_jupyter.reply import Reply
from glm_jupyter.wire.client import Client

from .common import endpoint, request_body


def plain_client() -> httpx.Client:
    """The baseline's client."""
    return httpx.Client(timeout=120)


def glm_client(url: str) -> Client:
    """glm-jupyter's client for the simulator at `url`."""
    return Client(endpoint(url))


def plain_httpx(http: httpx.Client, url: str) -> float:
    """Read the stream and json-decode every event; returns seconds to the first body byte."""
    start = time.perf_counter()
    first = 0.0
    with http.stream("POST", url + "/chat/completions", json=request_body()) as response:
        for line in response.iter_lines():
            if not first:
                first = time.perf_counter() - start
            if line.startswith("data: ") and line != "data: [DONE]":
                json.loads(line[6:])
    return first


class Published:
    """Stands in for the notebook front end: notes the first token's time, keeps nothing."""

    def __init__(self) -> None:
        self.first_token_at = 0.0

    def __call__(self, bundle: dict[str, Any], update: bool) -> None:
        if update and not self.first_token_at:
            self.first_token_at = time.perf_counter()


def glm_jupyter(client: Client) -> tuple[Reply, DisplayRenderer, float]:
    """Consume the stream through the magic's client and display renderer.

    Returns the reply, the renderer, and seconds from the request to the first shown token.
    """
    published = Published()
    renderer = DisplayRenderer(0.1, publish=published)
    start = time.perf_counter()
    reply = Reply("glm-5.1", "openai-compatible")
    renderer.start(reply)
    for event in client.stream(request_body()):
        renderer.event(reply, event, reply.apply(event))
    reply.end("done")
    renderer.finish(reply)
    return reply, renderer, published.first_token_at - start
