"""MCP servers as agent tools: `McpServers` connects servers and turns their tools into `Tool`s.

A server is a stdio command (a list: program and arguments) or a streamable-HTTP URL. Each
connection lives in one long-running task on the kernel loop: it enters the transport and
`ClientSession` contexts, initializes, lists the tools, then waits until the server is removed
and leaves the contexts in that same task (anyio cancel scopes must be exited by the task that
entered them). Tool calls go through the session from any coroutine on the same loop.

A stdio server's stderr goes to a temporary file, never to the notebook; its last lines are
quoted when the server fails to start or dies during a call. `mcp` is imported only when a
server is added, so importing glm_jupyter stays cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shlex
from typing import TYPE_CHECKING, Any, TextIO, cast
from urllib.parse import urlsplit, urlunsplit

from ..display.media import show_image_under_cell
from ..errors import McpServerError, ToolError
from .mcp_link import (
    ServerLink,
    ShowImage,
    StderrLog,
    brief,
    call_error,
    result_text,
    start_error,
)
from .tools import NAME, Tool

if TYPE_CHECKING:
    from mcp import ClientSession

INIT_TIMEOUT = 30.0  # seconds for initialize + tools/list
MISSING = "MCP needs the mcp package: pip install 'glm-jupyter[mcp]'"
SERVER_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,32}$")


class McpServers:
    """MCP servers connected in this kernel; their tools become agent tools."""

    def __init__(
        self, *, init_timeout: float = INIT_TIMEOUT, show_image: ShowImage | None = None
    ) -> None:
        self._servers: dict[str, ServerLink] = {}
        self._starting: set[str] = set()
        self._init_timeout = init_timeout
        self._show_image = show_image if show_image is not None else show_image_under_cell

    async def add(self, name: str, target: str | list[str], *, trusted: bool = False) -> list[Tool]:
        """Connect a server: `target` is a stdio command (program and arguments) or an
        http(s):// URL of a streamable-HTTP endpoint. Returns the server's tools.

        A tool's `readOnlyHint` is the server's own claim: only for a `trusted` server does it
        let the tool run without the person's approval.
        """
        if not SERVER_NAME.match(name):
            raise McpServerError(f"MCP server name {name!r}: use 1-32 letters, digits, _ or -.")
        if name in self._servers or name in self._starting:
            raise McpServerError(
                f"An MCP server named {name!r} is already connected: remove it first, "
                "or choose another name."
            )
        transport, shown = _parse_target(target)
        try:
            import mcp  # noqa: F401
        except ImportError:
            raise McpServerError(MISSING) from None
        # mcp logs transport trouble (a failed session DELETE, a bad line from a server) as
        # warnings; with no handler they would print under the cell. Failures reach the user
        # through our own errors; a logging configuration of the user's still sees them.
        logger = logging.getLogger("mcp")
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())

        self._starting.add(name)
        try:
            loop = asyncio.get_running_loop()
            server = ServerLink(name, transport, shown, loop, trusted=trusted)
            if transport == "stdio":
                server.errlog = StderrLog()
            ready: asyncio.Future[list[dict[str, Any]]] = loop.create_future()
            task = loop.create_task(self._connect(server, target, ready), name=f"mcp:{name}")
            server.task = task
            try:
                listed = await ready
            except McpServerError:
                await asyncio.wait([task])  # the contexts are left and the process is gone
                raise
            except BaseException:  # cancelled (an interrupt): stop the connection, then go
                task.cancel()
                await asyncio.wait([task])
                raise
            taken = {tool.name for other in self._servers.values() for tool in other.tools}
            server.tools = [self._make_tool(server, spec, taken) for spec in listed]
            server.mcp_names = [str(spec["name"]) for spec in listed]
            self._servers[name] = server
            return list(server.tools)
        finally:
            self._starting.discard(name)

    async def remove(self, name: str) -> None:
        """Disconnect a server (its process, if any, is stopped)."""
        server = self._servers.pop(name, None)
        if server is None:
            known = ", ".join(self._servers) or "none"
            raise McpServerError(f"No MCP server named {name!r} (connected: {known}).")
        await _stop(server)

    def names(self) -> list[str]:
        """Names of the connected servers, in the order they were added."""
        return list(self._servers)

    def describe(self) -> str:
        """A Markdown table of the servers: name, transport, target, tools."""
        if not self._servers:
            return "No MCP servers connected."
        rows = [
            "| server | transport | target | tools | approval |",
            "| --- | --- | --- | --- | --- |",
        ]
        for server in self._servers.values():
            tools = ", ".join(f"`{name}`" for name in server.mcp_names) or "(none)"
            status = f" (disconnected: {server.ended})" if server.ended else ""
            approval = "trusted: read-only tools run unasked" if server.trusted else "every call"
            cells = [server.name, server.transport + status, f"`{server.target}`", tools, approval]
            rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        return "\n".join(rows)

    def tools(self) -> list[Tool]:
        """Every tool of every connected server."""
        return [tool for server in self._servers.values() for tool in server.tools]

    async def aclose(self) -> None:
        """Disconnect every server."""
        servers = list(self._servers.values())
        self._servers.clear()
        await asyncio.gather(*(_stop(server) for server in servers))

    # -- the connection task ------------------------------------------------------------------

    async def _connect(
        self,
        server: ServerLink,
        target: str | list[str],
        ready: asyncio.Future[list[dict[str, Any]]],
    ) -> None:
        """Enter the contexts, initialize, list tools, wait for `stop`, leave the contexts."""
        import anyio
        from mcp import ClientSession

        try:
            async with contextlib.AsyncExitStack() as stack:
                if isinstance(target, list):
                    from mcp.client.stdio import StdioServerParameters, stdio_client

                    assert server.errlog is not None
                    params = StdioServerParameters(command=target[0], args=target[1:])
                    errlog = cast(TextIO, server.errlog.file)
                    streams = await stack.enter_async_context(stdio_client(params, errlog=errlog))
                else:
                    streams = await stack.enter_async_context(_http_client(target))
                session = await stack.enter_async_context(ClientSession(streams[0], streams[1]))
                with anyio.fail_after(self._init_timeout):
                    await session.initialize()
                    listed = await _list_tools(session)
                if ready.done():  # add() was cancelled meanwhile
                    return
                server.session = session
                ready.set_result(listed)
                await server.stop.wait()
                server.ended = "removed"
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(start_error(server, target, exc, self._init_timeout))
            else:
                server.ended = brief(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            server.session = None
            if server.ended is None:
                server.ended = "closed"
            if server.errlog is not None:
                server.errlog.close()

    # -- tools --------------------------------------------------------------------------------

    def _make_tool(self, server: ServerLink, spec: dict[str, Any], taken: set[str]) -> Tool:
        mcp_name = str(spec["name"])
        name = _unique(_sanitise(f"{server.name}__{mcp_name}"), taken)
        taken.add(name)
        text = str(spec.get("description") or spec.get("title") or f"The {mcp_name} tool.")
        schema = spec.get("inputSchema")
        parameters = (
            dict(schema)
            if isinstance(schema, dict) and schema
            else {"type": "object", "properties": {}}
        )
        annotations = spec.get("annotations")
        claimed = isinstance(annotations, dict) and annotations.get("readOnlyHint") is True
        read_only = claimed and server.trusted  # a server's claim alone skips no approval

        async def call(arguments: dict[str, Any]) -> str:
            return await self._call(server, mcp_name, arguments)

        return Tool(
            name,
            f"[{server.name}] {text.strip()}",
            parameters,
            call,
            read_only,
            f"mcp:{server.name}",
        )

    async def _call(self, server: ServerLink, tool: str, arguments: dict[str, Any]) -> str:
        session = server.session
        if session is None:
            raise ToolError(
                f"MCP server '{server.name}' is not connected ({server.ended or 'closed'}); "
                "add it again to use its tools."
            )
        if asyncio.get_running_loop() is not server.loop:
            raise ToolError(f"MCP server '{server.name}' can only be called on the kernel's loop.")
        start = server.errlog.size() if server.errlog is not None else 0
        try:
            result = await session.call_tool(tool, arguments)
        except Exception as exc:
            raise ToolError(call_error(server, tool, exc, start)) from exc
        data = result.model_dump(by_alias=True, exclude_none=True, mode="json")
        text = result_text(data, self._show_image)
        if data.get("isError"):
            raise ToolError(text if text != "(no output)" else f"The tool {tool} failed.")
        return text


# -- helpers ----------------------------------------------------------------------------------


def _parse_target(target: str | list[str]) -> tuple[str, str]:
    """("stdio" | "http", the target as shown) or McpServerError."""
    if isinstance(target, str):
        if re.match(r"https?://", target, re.IGNORECASE):
            parts = urlsplit(target)
            if not parts.hostname:
                raise McpServerError(f"MCP server URL {public_url(target)!r} has no host.")
            return "http", public_url(target)
        raise McpServerError(
            "An MCP server is a command given as a list (e.g. ['npx', '-y', 'some-server']) "
            "or an http(s):// URL of a streamable-HTTP endpoint."
        )
    if (
        isinstance(target, list | tuple)
        and target
        and all(isinstance(a, str) for a in target)
        and target[0]
    ):
        return "stdio", shlex.join(public_url(arg) for arg in target)
    raise McpServerError(
        "An MCP server command is a non-empty list of strings: program, arguments."
    )


def public_url(text: str) -> str:
    """A URL without userinfo, query or fragment (other text unchanged)."""
    if not re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*://", text):
        return text
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = parts.port
    except ValueError:
        return text.split("?")[0].split("#")[0].rpartition("@")[2]
    netloc = host + (f":{port}" if port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _http_client(url: str) -> Any:
    """The streamable-HTTP transport context (`streamable_http_client`, older `mcp`'s
    `streamablehttp_client`); either yields (read, write, ...)."""
    import importlib

    module = importlib.import_module("mcp.client.streamable_http")
    connect = getattr(module, "streamable_http_client", None)
    if connect is None:
        connect = getattr(module, "streamablehttp_client", None)
    if connect is None:
        raise McpServerError("This mcp package has no streamable-HTTP client; upgrade mcp.")
    return connect(url)


async def _list_tools(session: ClientSession) -> list[dict[str, Any]]:
    """Every tool (all pages), each as its wire-format dict."""
    from mcp import types

    result = await session.list_tools()
    tools = [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in result.tools]
    cursor = result.model_dump(by_alias=True).get("nextCursor")
    pages = 1
    while cursor and pages < 100:
        result = await session.list_tools(params=types.PaginatedRequestParams(cursor=cursor))
        tools += [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in result.tools]
        cursor = result.model_dump(by_alias=True).get("nextCursor")
        pages += 1
    return tools


async def _stop(server: ServerLink) -> None:
    server.stop.set()
    if server.task is not None:
        await asyncio.wait([server.task])


def _sanitise(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:64]


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        suffix = f"_{n}"
        candidate = name[: 64 - len(suffix)] + suffix
    assert NAME.match(candidate)
    return candidate
