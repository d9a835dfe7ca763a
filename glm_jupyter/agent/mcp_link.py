"""One MCP server connection as the kernel holds it, and what it says back: its stderr tail,
failures as one message that says what to do, and tool results as the model's text."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import McpServerError
from .tools import Tool

if TYPE_CHECKING:
    from mcp import ClientSession

CONNECTION_CLOSED = -32000  # the JSON-RPC error code mcp uses for a closed connection
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

ShowImage = Callable[[str, str], bool]  # (mime type, base64 data) -> shown?


class StderrLog:
    """A stdio server's stderr: a temp file the child appends to and we read the tail of."""

    def __init__(self) -> None:
        fd, self.path = tempfile.mkstemp(prefix="glm-mcp-", suffix=".log")
        os.close(fd)
        # Append mode (O_APPEND): the child's writes always land at the end, whatever we read.
        self.file = open(self.path, "a", encoding="utf-8", errors="replace")  # noqa: SIM115

    def size(self) -> int:
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0

    def tail(self, lines: int = 8, since: int = 0, max_bytes: int = 4096) -> str:
        """The last non-empty lines written after byte `since` (colour codes removed, long
        lines clipped)."""
        try:
            with open(self.path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(since, size - max_bytes))
                data = f.read()
        except OSError:
            return ""
        text = _ANSI.sub("", data.decode("utf-8", "replace"))
        kept = [line.rstrip()[:300] for line in text.splitlines() if line.strip()]
        return "\n".join(kept[-lines:])

    def close(self) -> None:
        self.file.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)


@dataclass
class ServerLink:
    """One connected (or connecting) server."""

    name: str
    transport: str  # "stdio" or "http"
    target: str  # as shown: a command line, or a URL without userinfo and query
    loop: asyncio.AbstractEventLoop
    errlog: StderrLog | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    session: ClientSession | None = None
    task: asyncio.Task[None] | None = None
    tools: list[Tool] = field(default_factory=list)
    mcp_names: list[str] = field(default_factory=list)
    ended: str | None = None  # why the connection ended, once it has
    trusted: bool = False  # its tools' own read-only claims may skip approval

    def stderr(self, lines: int = 8, since: int = 0) -> str:
        tail = self.errlog.tail(lines, since) if self.errlog is not None else ""
        return "\nIts last stderr lines:\n" + indent(tail) if tail else ""


def indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def exception_leaves(exc: BaseException) -> Iterator[BaseException]:
    """The exceptions inside (nested) exception groups."""
    inner = getattr(exc, "exceptions", None)
    if isinstance(inner, tuple | list) and inner:
        for sub in inner:
            yield from exception_leaves(sub)
    else:
        yield exc


def is_closed(exc: BaseException) -> bool:
    error = getattr(exc, "error", None)
    return getattr(error, "code", None) == CONNECTION_CLOSED


def brief(exc: BaseException) -> str:
    leaves = [e for e in exception_leaves(exc) if not isinstance(e, asyncio.CancelledError)] or [
        exc
    ]
    leaf = leaves[0]
    return "connection closed" if is_closed(leaf) else f"{type(leaf).__name__}: {leaf}"


def start_error(
    server: ServerLink, target: str | list[str], exc: BaseException, timeout: float
) -> McpServerError:
    """What went wrong starting a server, and what to do."""
    leaves = [e for e in exception_leaves(exc) if not isinstance(e, asyncio.CancelledError)] or [
        exc
    ]
    where = f"`{server.target}`"
    if any(isinstance(e, TimeoutError) for e in leaves):
        kind = (
            "speaks MCP on stdin/stdout"
            if server.transport == "stdio"
            else "is a streamable-HTTP MCP endpoint"
        )
        message = (
            f"MCP server '{server.name}' did not answer initialize within {timeout:g} s "
            f"({where}). Check that it {kind}."
        )
    elif server.transport == "stdio" and any(isinstance(e, FileNotFoundError) for e in leaves):
        program = target[0] if isinstance(target, list) else str(target)
        message = (
            f"Could not start MCP server '{server.name}': command {program!r} not found. "
            "Check the spelling, that it is installed, or give its full path."
        )
    elif server.transport == "stdio" and any(isinstance(e, OSError) for e in leaves):
        error = next(e for e in leaves if isinstance(e, OSError))
        message = f"Could not start MCP server '{server.name}' ({where}): {error}."
    elif any(is_closed(e) for e in leaves):
        message = (
            f"MCP server '{server.name}' exited before it finished starting ({where}). "
            "Check that the command runs on its own in a terminal."
            if server.transport == "stdio"
            else f"MCP server '{server.name}' closed the connection during startup ({where}). "
            "Check the URL and that the server is running."
        )
    else:
        leaf = leaves[0]
        hint = (
            "Check the URL and that the server is running."
            if server.transport == "http"
            else "Check that the command starts an MCP server."
        )
        message = (
            f"Could not connect to MCP server '{server.name}' ({where}): "
            f"{type(leaf).__name__}: {leaf}. {hint}"
        )
    if isinstance(target, str) and target != server.target:
        message = message.replace(target, server.target)  # no secrets from the URL
    return McpServerError(message + server.stderr())


def call_error(server: ServerLink, tool: str, exc: BaseException, stderr_start: int) -> str:
    if any(is_closed(e) for e in exception_leaves(exc)):
        server.ended = "connection closed"
        return (
            f"MCP server '{server.name}' closed the connection during the call to {tool} "
            "(it probably crashed); remove it and add it again to reconnect."
            + server.stderr(5, since=stderr_start)
        )
    leaf = next(iter(exception_leaves(exc)))
    text = str(leaf) or type(leaf).__name__
    return f"MCP server '{server.name}' could not run {tool}: {text}"


def result_text(result: dict[str, Any], show_image: ShowImage | None = None) -> str:
    """Text for the model from a `CallToolResult` in wire format (camelCase keys)."""
    parts = []
    for block in result.get("content") or []:
        kind = block.get("type")
        if kind == "text":
            parts.append(str(block.get("text", "")))
        elif kind in ("image", "audio"):
            mime = str(block.get("mimeType") or kind)
            shown = (
                kind == "image"
                and show_image is not None
                and safe_show(show_image, mime, str(block.get("data", "")))
            )
            parts.append(f"[{mime} shown]" if shown else f"[{mime} not shown]")
        elif kind == "resource":
            resource = block.get("resource") or {}
            if "text" in resource:
                parts.append(str(resource["text"]))
            else:
                mime = resource.get("mimeType") or "binary"
                parts.append(f"[{mime} resource {resource.get('uri', '')} not shown]")
        elif kind == "resource_link":
            parts.append(f"[resource link: {block.get('name', '')} {block.get('uri', '')}]")
        else:
            parts.append(f"[{kind} content not shown]")
    if not parts and result.get("structuredContent") is not None:
        parts.append(json.dumps(result["structuredContent"], ensure_ascii=False))
    return "\n".join(parts) if parts else "(no output)"


def safe_show(show_image: ShowImage, mime: str, data: str) -> bool:
    try:
        return show_image(mime, data)
    except Exception:
        return False
