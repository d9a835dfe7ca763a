"""A small MCP server for tests/test_mcp_tools.py.

`python mcp_server.py` serves on stdio; `python mcp_server.py http PORT` serves streamable HTTP
on 127.0.0.1:PORT at /mcp.
"""

from __future__ import annotations

import os
import sys

from mcp.types import ToolAnnotations

try:  # mcp 2.x renamed FastMCP to MCPServer
    from mcp.server.mcpserver import MCPServer as Server
    from mcp.server.mcpserver.exceptions import ToolError
except ImportError:  # pragma: no cover - mcp 1.x
    from mcp.server.fastmcp import FastMCP as Server  # type: ignore[no-redef]
    from mcp.server.fastmcp.exceptions import ToolError  # type: ignore[no-redef]

server = Server("glm-jupyter-test", log_level="WARNING")


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def shout(text: str) -> str:
    """Upper-case the text."""
    return text.upper()


@server.tool()
def fail() -> str:
    """Always fails."""
    raise ToolError("this tool always fails")


@server.tool()
def crash() -> str:
    """Kills the server in the middle of the call."""
    os._exit(3)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "http":
        port = int(sys.argv[2])
        try:
            server.run(transport="streamable-http", host="127.0.0.1", port=port)
        except TypeError:  # pragma: no cover - mcp 1.x takes host and port as settings
            server.settings.host, server.settings.port = "127.0.0.1", port
            server.run(transport="streamable-http")
    else:
        server.run()
