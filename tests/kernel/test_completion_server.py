"""The Jupyter server's doors to a kernel's completions, through a real Jupyter server and a
kernel it started: the WebSocket `/glm/complete/socket` (a request per frame, superseding and
cancelling close the kernel's connection at once) and `POST /glm/complete`; refusals; the
connection the server opened ahead going stale when the kernel restarts."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jupyter_client.blocking import BlockingKernelClient
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from tests.browser.lab import Server, jupyter_server

ANSWER = "sales['units'].sum()"
SCENARIO = {
    "repeat": True,
    "turns": [
        {"match": "slow_", "content": "x" * 400, "tokens_per_second": 20},
        {"match": "<\\|cursor\\|>", "content": ANSWER},
    ],
    "default": {"content": "ok"},
}
WAIT_S = 30


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with jupyter_server(tmp_path_factory.mktemp("completion-server"), SCENARIO) as running:
        yield running


def _load_extension(server: Server, kernel_id: str) -> None:
    """Run `%load_ext glm_jupyter` in the kernel, as a notebook's first cell does."""
    runtime = server.root.parent / "runtime"
    kc = BlockingKernelClient()
    kc.load_connection_file(str(runtime / f"kernel-{kernel_id}.json"))
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=WAIT_S)
        reply = kc.execute_interactive("%load_ext glm_jupyter", timeout=WAIT_S)
        assert reply["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
    announced = runtime / f"glm-complete-{kernel_id}.json"
    deadline = time.monotonic() + WAIT_S
    while not announced.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture(scope="module")
def kernel_id(server: Server) -> str:
    started = httpx.post(f"{server.url}/api/kernels", params={"token": server.token}, json={})
    started.raise_for_status()
    kernel: str = started.json()["id"]
    _load_extension(server, kernel)
    return kernel


def _socket_url(server: Server, token: str | None) -> str:
    url = server.url.replace("http://", "ws://") + "/glm/complete/socket"
    return f"{url}?token={token}" if token else url


async def _connect(server: Server) -> WebSocketClientConnection:
    return await websocket_connect(_socket_url(server, server.token))


async def _close(ws: WebSocketClientConnection) -> None:
    """Close and wait for the server's close: no socket is left for the collector."""
    ws.close()
    while await asyncio.wait_for(ws.read_message(), WAIT_S) is not None:
        pass


async def _frames_until_over(ws: WebSocketClientConnection, rid: int) -> list[dict[str, Any]]:
    """Frames about completion `rid`, to its end or refusal."""
    frames = []
    while True:
        message = await asyncio.wait_for(ws.read_message(), WAIT_S)
        assert message is not None, "the socket closed"
        frame = json.loads(message)
        if frame["id"] != rid:
            continue
        frames.append(frame)
        if frame.get("end") or "error" in frame:
            return frames


def _ask(server: Server, *messages: str | dict[str, Any]) -> list[dict[str, Any]]:
    """Send `messages` over a new socket (a dict as JSON, a str as it is) and return the frames
    about the last one's completion, to its end or refusal; the socket is closed after."""

    async def main() -> list[dict[str, Any]]:
        ws = await _connect(server)
        try:
            for message in messages:
                await ws.write_message(message if isinstance(message, str) else json.dumps(message))
            last = messages[-1]
            assert isinstance(last, dict)
            return await _frames_until_over(ws, int(last["id"]))
        finally:
            await _close(ws)

    return asyncio.run(main())


def _pieces(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    text = "".join(f.get("data", "") for f in frames)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _posts(server: Server, marker: str) -> list[dict[str, Any]]:
    return [
        r
        for r in server.sim.requests
        if r["method"] == "POST" and marker in json.dumps((r.get("body") or {}).get("messages"))
    ]


async def _until_open(server: Server, marker: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not any(r["outcome"] == "open" for r in _posts(server, marker)):
        assert time.monotonic() < deadline, f"no request for {marker} reached the simulator"
        await asyncio.sleep(0.01)


async def _until_closed(server: Server, marker: str) -> str:
    deadline = time.monotonic() + WAIT_S
    while any(r["outcome"] == "open" for r in _posts(server, marker)):
        assert time.monotonic() < deadline, f"the request for {marker} stayed open"
        await asyncio.sleep(0.01)
    return str(_posts(server, marker)[-1]["outcome"])


def test_a_completion_streams_over_the_socket(server: Server, kernel_id: str) -> None:
    frames = _ask(server, {"id": 7, "kernel_id": kernel_id, "prefix": "total = "})
    assert frames[-1] == {"id": 7, "end": True}
    pieces = _pieces(frames)
    assert "".join(p.get("text", "") for p in pieces) == ANSWER
    assert pieces[-1]["done"] is True
    assert pieces[-1]["insert"] == ANSWER
    # The same completion through the HTTP door.
    reply = httpx.post(
        f"{server.url}/glm/complete",
        params={"token": server.token},
        json={"kernel_id": kernel_id, "prefix": "total = "},
        timeout=WAIT_S,
    )
    assert reply.status_code == 200
    lines = [json.loads(line) for line in reply.text.splitlines() if line.strip()]
    assert lines[-1]["insert"] == ANSWER


def test_a_new_request_supersedes_the_one_under_way(server: Server, kernel_id: str) -> None:
    async def main() -> tuple[str, list[dict[str, Any]]]:
        ws = await _connect(server)
        try:
            await ws.write_message(
                json.dumps({"id": 1, "kernel_id": kernel_id, "prefix": "slow_super = "})
            )
            await _until_open(server, "slow_super = ")
            await ws.write_message(json.dumps({"id": 2, "kernel_id": kernel_id, "prefix": "t = "}))
            outcome = await _until_closed(server, "slow_super = ")
            return outcome, await _frames_until_over(ws, 2)
        finally:
            await _close(ws)

    outcome, frames = asyncio.run(main())
    assert outcome == "client closed the connection"
    assert _pieces(frames)[-1]["insert"] == ANSWER


def test_a_cancel_or_a_closed_socket_closes_the_model_stream(
    server: Server, kernel_id: str
) -> None:
    async def main() -> tuple[str, str]:
        ws = await _connect(server)
        await ws.write_message(
            json.dumps({"id": 1, "kernel_id": kernel_id, "prefix": "slow_cancel = "})
        )
        await _until_open(server, "slow_cancel = ")
        await ws.write_message(json.dumps({"id": 1, "cancel": True}))
        cancelled = await _until_closed(server, "slow_cancel = ")
        await ws.write_message(
            json.dumps({"id": 2, "kernel_id": kernel_id, "prefix": "slow_close = "})
        )
        await _until_open(server, "slow_close = ")
        await _close(ws)  # the page went away
        return cancelled, await _until_closed(server, "slow_close = ")

    assert asyncio.run(main()) == ("client closed the connection",) * 2


def test_refusals_say_why(server: Server, kernel_id: str) -> None:
    # A frame that is no request has nothing to answer to: it is ignored.
    frames = _ask(server, "not json", {"id": 3, "kernel_id": "nope", "prefix": "x"})
    assert frames == [{"id": 3, "status": 404, "error": "No such kernel."}]

    async def without_login() -> int:
        try:
            ws = await websocket_connect(HTTPRequest(_socket_url(server, None)))
        except HTTPClientError as exc:
            return exc.code
        ws.close()
        return 101

    assert asyncio.run(without_login()) == 403


def test_completions_come_after_the_kernel_restarts(server: Server, kernel_id: str) -> None:
    # The server holds a connection opened ahead to the old kernel process; after the restart
    # it is stale, and the completion goes over a new one to the new process.
    def complete(rid: int) -> list[dict[str, Any]]:
        return _pieces(_ask(server, {"id": rid, "kernel_id": kernel_id, "prefix": "after = "}))

    assert complete(1)[-1]["insert"] == ANSWER
    restarted = httpx.post(
        f"{server.url}/api/kernels/{kernel_id}/restart",
        params={"token": server.token},
        timeout=WAIT_S,
    )
    restarted.raise_for_status()
    _load_extension(server, kernel_id)
    assert complete(2)[-1]["insert"] == ANSWER


def test_the_http_door_refuses_a_kernel_without_the_service(server: Server) -> None:
    started = httpx.post(f"{server.url}/api/kernels", params={"token": server.token}, json={})
    bare = started.json()["id"]
    try:
        reply = httpx.post(
            f"{server.url}/glm/complete",
            params={"token": server.token},
            json={"kernel_id": bare, "prefix": "x = "},
            timeout=WAIT_S,
        )
        assert reply.status_code == 409
        assert "%load_ext glm_jupyter" in reply.json()["error"]
    finally:
        httpx.delete(f"{server.url}/api/kernels/{bare}", params={"token": server.token})
