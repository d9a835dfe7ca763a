"""The Jupyter server extension: the WebSocket `/glm/complete/socket` (and `POST /glm/complete`)
and `POST /glm/edit` forward the JupyterLab extension's inline completions and inline edits to
the kernel that is to answer them (`glm_jupyter.completion.service`).

The server holds no key and calls no model: it finds the kernel's completion endpoint in the
file the kernel wrote beside its connection file, streams the kernel's answer back, and closes
the kernel's connection the moment the browser closes its own (the person typed on), which
closes the model's stream in turn.
"""

from __future__ import annotations

from typing import Any

from .complete import CompleteHandler
from .completion_socket import CompletionSocket
from .upstream import KernelConnections


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Add the handlers under the server's base URL."""
    from jupyter_server.utils import url_path_join

    web_app = serverapp.web_app
    base = web_app.settings["base_url"]
    connections = KernelConnections(web_app.settings["kernel_manager"])
    complete = {"connections": connections, "path": "/complete"}
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "glm", "complete"), CompleteHandler, complete),
            (url_path_join(base, "glm", "complete", "socket"), CompletionSocket, complete),
            (url_path_join(base, "glm", "edit"), CompleteHandler, {**complete, "path": "/edit"}),
        ],
    )
