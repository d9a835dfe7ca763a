"""MCP servers as agent tools: a real stdio server (tests/mcp_server.py) and the same server over
streamable HTTP."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

pytest.importorskip("mcp")

from glm_jupyter.agent.mcp import (
    MISSING,
    McpServers,
    _sanitise,
    _unique,
    public_url,
    result_text,
)
from glm_jupyter.agent.tools import NAME, ToolError

from ..helpers import stop

SERVER = Path(__file__).parents[1] / "mcp_server.py"
COMMAND = [sys.executable, str(SERVER)]


@pytest.fixture
async def servers() -> AsyncIterator[McpServers]:
    made = McpServers()
    yield made
    await made.aclose()


@pytest.fixture
def http_server() -> Iterator[str]:
    """The test server over streamable HTTP on a free loopback port; its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [*COMMAND, "http", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(300):  # up to ~15 s for the import and uvicorn's start
            assert process.poll() is None, "the HTTP MCP server exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("the HTTP MCP server did not start listening")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop(process)


async def test_stdio_tools_calls_remove_and_reconnect(servers: McpServers) -> None:
    tools = await servers.add("calc", COMMAND)
    assert servers.names() == ["calc"]
    by_name = {tool.name: tool for tool in tools}
    assert set(by_name) == {"calc__add", "calc__shout", "calc__fail", "calc__crash"}
    assert servers.tools() == tools
    add, shout, fail = by_name["calc__add"], by_name["calc__shout"], by_name["calc__fail"]
    assert add.read_only is False  # the server's own readOnlyHint: not trusted, so asked
    assert shout.read_only is False
    assert {tool.source for tool in tools} == {"mcp:calc"}
    assert add.description == "[calc] Add two integers."
    assert add.parameters["type"] == "object"
    assert add.parameters["properties"]["a"]["type"] == "integer"
    assert sorted(add.parameters["required"]) == ["a", "b"]
    assert shout.parameters["properties"]["text"]["type"] == "string"
    assert add.spec()["function"]["name"] == "calc__add"

    assert await add.call({"a": 2, "b": 40}) == "42"
    assert await shout.call({"text": "hello"}) == "HELLO"
    with pytest.raises(ToolError, match="this tool always fails"):
        await fail.call({})
    with pytest.raises(ToolError, match="validation error"):  # the server checks arguments
        await add.call({"a": "not a number"})

    table = servers.describe()
    assert "| calc | stdio |" in table
    assert str(SERVER) in table
    assert "`add`, `shout`, `fail`, `crash`" in table

    await servers.remove("calc")
    assert servers.names() == []
    assert servers.tools() == []
    assert servers.describe() == "No MCP servers connected."
    with pytest.raises(ToolError, match="not connected"):
        await add.call({"a": 1, "b": 1})
    with pytest.raises(ValueError, match="No MCP server named 'calc'"):
        await servers.remove("calc")

    again = await servers.add("calc", COMMAND)
    assert await again[0].call({"a": 1, "b": 2}) == "3"
    await servers.remove("calc")

    trusted = {tool.name: tool for tool in await servers.add("calc", COMMAND, trusted=True)}
    assert trusted["calc__add"].read_only is True  # claimed read-only by a trusted server
    assert trusted["calc__shout"].read_only is False  # not claimed: asked even when trusted
    assert "| trusted: read-only tools run unasked |" in servers.describe()


async def test_duplicate_and_bad_targets(servers: McpServers) -> None:
    await servers.add("calc", COMMAND)
    with pytest.raises(ValueError, match="already connected"):
        await servers.add("calc", COMMAND)
    with pytest.raises(ValueError, match=r"command 'no-such-mcp-server-xyz' not found"):
        await servers.add("missing", ["no-such-mcp-server-xyz", "--stdio"])
    crash = "import sys; print('boom: bad config', file=sys.stderr); sys.exit(2)"
    with pytest.raises(ValueError, match="exited before it finished starting") as info:
        await servers.add("dies", [sys.executable, "-c", crash])
    assert "boom: bad config" in str(info.value)
    with pytest.raises(ValueError, match="as a list"):
        await servers.add("text", "python server.py")
    with pytest.raises(ValueError, match="non-empty list"):
        await servers.add("empty", [])
    with pytest.raises(ValueError, match="letters, digits"):
        await servers.add("no spaces", COMMAND)
    assert servers.names() == ["calc"]


async def test_initialize_timeout() -> None:
    servers = McpServers(init_timeout=0.5)
    silent = "import sys; print('waiting quietly', file=sys.stderr, flush=True); sys.stdin.read()"
    with pytest.raises(ValueError, match=r"did not answer initialize within 0.5 s") as info:
        await servers.add("silent", [sys.executable, "-c", silent])
    assert "waiting quietly" in str(info.value)
    assert servers.names() == []
    await servers.aclose()


async def test_server_dies_mid_call(servers: McpServers) -> None:
    tools = {tool.name: tool for tool in await servers.add("calc", COMMAND)}
    with pytest.raises(ToolError, match="closed the connection during the call to crash"):
        await tools["calc__crash"].call({})
    with pytest.raises(ToolError):
        await tools["calc__add"].call({"a": 1, "b": 2})
    assert "disconnected" in servers.describe()
    await servers.remove("calc")
    assert servers.names() == []


async def test_streamable_http(servers: McpServers, http_server: str) -> None:
    secret_url = http_server.replace("http://", "http://user:hunter2@") + "?token=hunter2"
    tools = await servers.add("web", secret_url, trusted=True)
    add = next(tool for tool in tools if tool.name == "web__add")
    assert add.read_only is True
    assert add.source == "mcp:web"
    assert await add.call({"a": 20, "b": 22}) == "42"
    table = servers.describe()
    assert f"| web | http | `{http_server}` |" in table
    assert "hunter2" not in table
    await servers.remove("web")


async def test_http_connection_refused(servers: McpServers) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ValueError, match="Check the URL") as info:
        await servers.add("web", f"http://127.0.0.1:{port}/mcp?key=hunter2")
    assert "hunter2" not in str(info.value)


async def test_missing_mcp_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mcp", None)
    with pytest.raises(ValueError, match="pip install 'glm-jupyter\\[mcp\\]'") as info:
        await McpServers().add("calc", COMMAND)
    assert str(info.value) == MISSING


def test_import_does_not_load_mcp() -> None:
    code = "import sys, glm_jupyter.agent.mcp; assert 'mcp' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_tool_names_are_sanitised() -> None:
    assert _sanitise("files__read.file/v2") == "files__read_file_v2"
    long = _sanitise("srv__" + "x" * 100)
    assert len(long) == 64
    assert NAME.match(long)
    taken = {long}
    second = _unique(long, taken)
    assert second != long
    assert len(second) == 64
    assert NAME.match(second)


def test_public_url() -> None:
    assert (
        public_url("https://me:pw@example.com:8443/mcp?key=1#x") == "https://example.com:8443/mcp"
    )
    assert public_url("http://[::1]:9000/mcp") == "http://[::1]:9000/mcp"
    assert public_url("--port") == "--port"


def test_result_text() -> None:
    shown: list[str] = []

    def show(mime: str, data: str) -> bool:
        shown.append(mime)
        return True

    result = {
        "content": [
            {"type": "text", "text": "first"},
            {"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"},
            {"type": "audio", "data": "AAAA", "mimeType": "audio/wav"},
            {"type": "resource", "resource": {"uri": "file:///a.txt", "text": "inside"}},
            {"type": "resource_link", "uri": "file:///b.csv", "name": "b.csv"},
        ]
    }
    assert result_text(result, show).splitlines() == [
        "first",
        "[image/png shown]",
        "[audio/wav not shown]",
        "inside",
        "[resource link: b.csv file:///b.csv]",
    ]
    assert shown == ["image/png"]
    assert "[image/png not shown]" in result_text(result, None)
    assert result_text({"content": [], "structuredContent": {"n": 1}}) == '{"n": 1}'
    assert result_text({"content": []}) == "(no output)"


async def test_concurrent_calls(servers: McpServers) -> None:
    tools = {tool.name: tool for tool in await servers.add("calc", COMMAND)}
    add = tools["calc__add"]
    results = await asyncio.gather(*(add.call({"a": i, "b": i}) for i in range(10)))
    assert results == [str(2 * i) for i in range(10)]


async def test_interrupted_add_stops_the_server(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    silent = (
        f"import os, sys, pathlib; pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid()));"
        " sys.stdin.read()"
    )
    servers = McpServers()
    adding = asyncio.create_task(servers.add("silent", [sys.executable, "-c", silent]))
    while not pid_file.exists() or not pid_file.read_text():
        await asyncio.sleep(0.02)
    adding.cancel()
    with pytest.raises(asyncio.CancelledError):
        await adding
    assert servers.names() == []
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)
    await servers.add("silent", COMMAND)  # the name is free again
    await servers.aclose()
