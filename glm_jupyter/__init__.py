"""GLM models in Jupyter: `%load_ext glm_jupyter`, then `%%glm` streams answers with reasoning.

Importing this package is cheap: modules load when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

# The exception tree (drawn in `errors`), exported whole; a test keeps this list complete.
_ERRORS = (
    "GLMError",
    "ConfigurationError",
    "MissingAPIKeyError",
    "APIError",
    "AuthenticationError",
    "BalanceOrRegionError",
    "InvalidRequestError",
    "ModelNotFoundError",
    "PromptTooLongError",
    "ContentFilterError",
    "RateLimitError",
    "QuotaExceededError",
    "GatewayRefusedError",
    "ServerError",
    "EmptyAnswerError",
    "ConnectionFailedError",
    "StreamInterruptedError",
    "PolicyError",
    "InputError",
    "ClassroomLimitError",
    "McpServerError",
    "SchemaError",
    "AnswerNotJSONError",
    "BatchCostError",
    "BatchStoppedError",
    "AgentStopped",
    "ToolError",
)

__all__ = [
    "GLM",
    "AsyncClient",
    "Client",
    "Endpoint",
    "Session",
    "Simulator",
    "__version__",
    "amap",
    "chat",
    "kernel_agents",
    "kernel_session",
    "load_ipython_extension",
    "map",
    "tool",
    "unload_ipython_extension",
    *_ERRORS,
]

_LAZY = {
    "GLM": "config.settings",
    "AsyncClient": "wire.client",
    "Client": "wire.client",
    "Endpoint": "wire.client",
    "Session": "core.session",
    "Simulator": "simulator",
    "amap": "batch",
    "kernel_agents": "ipython.extension",
    "kernel_session": "ipython.extension",
    "chat": "ipython.chat_panel",
    "map": "batch",
    "tool": "agent.tools",
    **dict.fromkeys(_ERRORS, "errors"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'glm_jupyter' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(shell: Any) -> None:
    """`%load_ext glm_jupyter`: register `%glm` / `%%glm` and the `GLM` config class."""
    from .ipython.extension import load

    load(shell)


def unload_ipython_extension(shell: Any) -> None:
    """`%unload_ext glm_jupyter`."""
    from .ipython.extension import unload

    unload(shell)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where `jupyter labextension develop` finds the prebuilt JupyterLab extension."""
    return [{"src": "labextension", "dest": "glm-jupyter-labextension"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter server part: the completion socket and `/glm/complete`, which forward inline
    completions to a kernel."""
    return [{"module": "glm_jupyter.server"}]
