"""The one exception tree: everything that can go wrong in glm-jupyter raises one of these.

    GLMError
    ├── ConfigurationError          settings that cannot work (unknown provider, no base URL)
    │   ├── MissingAPIKeyError      a cloud provider with no key in the environment
    │   └── PolicyError             the classroom policy file cannot be used
    ├── APIError                    the server answered with an error (HTTP or in-stream)
    │   ├── AuthenticationError     401, codes 1000-1004
    │   ├── BalanceOrRegionError    1113: no balance, or a key used on the wrong region/plan
    │   ├── InvalidRequestError     400, codes 1210, 1214
    │   ├── ModelNotFoundError      1211
    │   ├── PromptTooLongError      1261
    │   ├── ContentFilterError      1301
    │   ├── RateLimitError          429, codes 1302, 1303, 1305 (retried first)
    │   ├── QuotaExceededError      1304, 1308, 1310
    │   ├── GatewayRefusedError     the course gateway: a budget, a course rule, the token
    │   └── ServerError             5xx (retried first)
    │       └── EmptyAnswerError    a 200 answer with no completion in it
    ├── ConnectionFailedError       no connection, or the server went silent (retried first)
    ├── StreamInterruptedError      the stream broke after output started (never retried)
    ├── InputError                  a flag, a name or a value that cannot work (bad input)
    │   ├── ClassroomLimitError     the classroom policy refuses this request
    │   └── McpServerError          an MCP server cannot be added, found or started
    ├── SchemaError                 --schema / schema= is not something a JSON schema comes from
    ├── AnswerNotJSONError          the answer is not JSON (or not the schema's) after a repair
    ├── BatchCostError              a batch's estimated cost is above max_cost
    ├── BatchStoppedError           a batch stopped: every further request would fail alike
    ├── AgentStopped                an agent run stopped for a reason the person must hear
    └── ToolError                   a tool failed; its message goes back to the model

The magics show an `InputError` as IPython shows a `UsageError`: one line, no traceback.
Every message says what to do next. None of them ever holds the API key, nor credentials
written into a URL (`http://user:pw@host`, `?api_key=...`): those are masked as `***`.
"""

from __future__ import annotations

from .redact import redact_text

__all__ = [
    "APIError",
    "AgentStopped",
    "AnswerNotJSONError",
    "AuthenticationError",
    "BalanceOrRegionError",
    "BatchCostError",
    "BatchStoppedError",
    "ClassroomLimitError",
    "ConfigurationError",
    "ConnectionFailedError",
    "ContentFilterError",
    "EmptyAnswerError",
    "GLMError",
    "GatewayRefusedError",
    "InputError",
    "InvalidRequestError",
    "McpServerError",
    "MissingAPIKeyError",
    "ModelNotFoundError",
    "PolicyError",
    "PromptTooLongError",
    "QuotaExceededError",
    "RateLimitError",
    "SchemaError",
    "ServerError",
    "StreamInterruptedError",
    "ToolError",
]


class GLMError(Exception):
    """Base class of every glm-jupyter error."""

    def __init__(self, *args: object) -> None:
        # Messages quote the base URL; masking here covers every message, whoever built it,
        # and `args` as well as `str()`, which tracebacks and pickling both read.
        super().__init__(*(redact_text(a) if isinstance(a, str) else a for a in args))


class ConfigurationError(GLMError):
    """The settings cannot produce a working request."""


class MissingAPIKeyError(ConfigurationError):
    """A provider that needs a key has none."""


class APIError(GLMError):
    """The server answered with an error."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class AuthenticationError(APIError):
    """The key was refused."""


class BalanceOrRegionError(APIError):
    """Code 1113: the account has no balance, or the key belongs to another region or plan."""


class InvalidRequestError(APIError):
    """The server rejected a parameter."""


class ModelNotFoundError(APIError):
    """The model name is unknown to this server."""


class PromptTooLongError(APIError):
    """The prompt does not fit the model's context window."""


class ContentFilterError(APIError):
    """The content was flagged by the provider's safety filter."""


class RateLimitError(APIError):
    """Too many requests right now; retried with backoff before this is raised."""


class QuotaExceededError(APIError):
    """A daily or plan-window quota is used up."""


class GatewayRefusedError(APIError):
    """The course gateway refused the request: a budget, a rule of the course, the token."""


class ServerError(APIError):
    """The server failed (5xx)."""


class EmptyAnswerError(ServerError):
    """The server answered 200, but the body held no completion (no choices, no error)."""


class ConnectionFailedError(GLMError):
    """The server could not be reached, or stopped answering before the first byte."""


class StreamInterruptedError(GLMError):
    """The stream broke after output had started; what arrived is kept by the caller."""


class PolicyError(ConfigurationError):
    """The policy file cannot be used; requests are refused until it is fixed."""


class InputError(GLMError):
    """A flag, a name or a value that cannot work; the message says what to write instead."""


class ClassroomLimitError(InputError):
    """The classroom policy refuses this request: a model, a provider, a flag or a cap."""


class McpServerError(InputError, ValueError):
    """An MCP server cannot be added, found or started (also a ValueError, as it was)."""


class SchemaError(GLMError):
    """The object given to `--schema` cannot be turned into a JSON schema."""


class AnswerNotJSONError(GLMError):
    """The answer does not parse as JSON (or does not fit its schema) even after a repair."""


class BatchCostError(GLMError):
    """The estimated cost of a batch is above `max_cost`."""


class BatchStoppedError(GLMError):
    """A batch stopped early because every further request would fail the same way."""


class AgentStopped(GLMError):
    """The run stopped for a reason the person must hear (a loop, the step limit)."""


class ToolError(GLMError):
    """A tool failed in a way the model should hear about (its message becomes the result)."""
