"""One kernel's GLM session: turns a request into a streamed, rendered, remembered reply.

`ask_async` runs on the kernel's event loop (widgets stay live, interrupt arrives as
CancelledError); `ask` is the synchronous path for terminal IPython and programmatic callers.
Both share everything but the loop over events.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from contextlib import aclosing, closing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .conversation import Conversation, UsageLedger
from .dialects import build_request
from .errors import GLMError
from .failures import RetryPolicy
from .providers import ThinkTags
from .render import DisplayRenderer, Renderer, TerminalRenderer
from .reply import Reply
from .settings import GLM, Settings, resolve

if TYPE_CHECKING:  # httpx costs ~100 ms to import: only when the first request goes out
    import httpx

    from .client import AsyncClient, Client, Endpoint


@dataclass
class Request:
    """What a person asked for: the prompt and the flags that shape it."""

    prompt: str
    flags: Mapping[str, Any] = field(default_factory=dict)  # settings overrides
    out: str | None = None
    json: bool = False
    new: bool = False


class AnswerNotJSONError(GLMError):
    """`--json` was asked for, and the answer does not parse."""


_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n\s*```\s*$", re.DOTALL)


def parse_json_answer(text: str) -> Any:
    """The answer as JSON, tolerating a Markdown fence around it."""
    match = _FENCE.match(text)
    try:
        return json.loads(match.group(1) if match else text)
    except ValueError as exc:
        raise AnswerNotJSONError(
            f"The answer is not valid JSON ({exc}); it is shown above and kept as text. "
            "Ask again, or drop --json."
        ) from None


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, GLMError) else f"{type(exc).__name__}: {exc}"


class Session:
    """Conversation, usage and clients for one kernel."""

    def __init__(
        self,
        shell: Any = None,
        config: GLM | None = None,
        *,
        env: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.shell = shell
        self.config = config or GLM()
        self.env = env
        self.conversation = Conversation()
        self.ledger = UsageLedger()
        self.last: Reply | None = None
        self._transport = transport
        self._async_transport = async_transport
        self._clients: dict[Endpoint, Client] = {}
        self._async_clients: dict[tuple[Endpoint, int], AsyncClient] = {}

    # --- shared steps ------------------------------------------------------------------------

    def settings(self, flags: Mapping[str, Any] | None = None) -> Settings:
        """Effective settings for these flags."""
        return resolve(self.config, flags, self.env)

    def _endpoint(self, s: Settings) -> Endpoint:
        from .client import Endpoint

        return Endpoint(
            provider=s.provider,
            base_url=s.base_url,
            api_key=s.api_key,
            read_timeout=s.timeout,
            retry=RetryPolicy(max_retries=s.max_retries, base=s.retry_backoff),
        )

    def _renderer(self, s: Settings) -> Renderer:
        kind = s.renderer
        if kind == "auto":
            kind = "display" if getattr(self.shell, "kernel", None) is not None else "terminal"
        return DisplayRenderer(s.update_interval) if kind == "display" else TerminalRenderer()

    def _prepare(self, request: Request) -> tuple[Settings, Endpoint, dict[str, Any], Reply]:
        s = self.settings(request.flags)
        if request.new:
            self.conversation.reset()
        messages = self.conversation.request(request.prompt, s.system)
        payload = build_request(
            s.provider,
            model=s.model,
            messages=messages,
            thinking=s.thinking,
            temperature=s.temperature,
            max_tokens=s.max_tokens,
            json_mode=request.json,
            preserve_thinking=s.preserve_thinking,
        )
        return s, self._endpoint(s), payload, Reply(s.model, s.provider.name)

    @staticmethod
    def _think_tags(s: Settings) -> ThinkTags:
        tags = s.provider.think_tags
        return "leading" if tags == "untagged" and s.thinking is False else tags

    def _conclude(self, request: Request, reply: Reply) -> None:
        """Remember the exchange, count its tokens, and store the answer where asked."""
        self.last = reply
        self.conversation.record(request.prompt, reply)
        if reply.usage is not None or reply.status == "done":
            self.ledger.add(reply.model, reply.usage)
        if request.out and self.shell is not None:
            text = reply.content.text
            self.shell.user_ns[request.out] = (
                parse_json_answer(text) if request.json and reply.status == "done" else text
            )
        elif request.json and reply.status == "done":
            parse_json_answer(reply.content.text)  # say so now if it does not parse

    # --- the two loops -----------------------------------------------------------------------

    def ask(self, request: Request) -> Reply:
        """Send, stream and render synchronously."""
        s, endpoint, payload, reply = self._prepare(request)
        client = self._clients.get(endpoint)
        if client is None:
            from .client import Client

            client = self._clients[endpoint] = Client(endpoint, transport=self._transport)
        renderer = self._renderer(s)
        renderer.start(reply)
        failure: BaseException | None = None
        try:
            with closing(client.stream(payload, think_tags=self._think_tags(s))) as events:
                for event in events:
                    renderer.event(reply, event, reply.apply(event))
            reply.end("done")
        except KeyboardInterrupt as exc:
            reply.end("interrupted")
            failure = exc
        except Exception as exc:  # the display must not stay "streaming" whatever went wrong
            reply.end("error", _describe(exc))
            failure = exc
        return self._wrap_up(request, reply, renderer, failure)

    async def ask_async(self, request: Request) -> Reply:
        """Send, stream and render on the running event loop."""
        import asyncio  # only the kernel path needs it; terminal start-up stays lean

        s, endpoint, payload, reply = self._prepare(request)
        key = (endpoint, id(asyncio.get_running_loop()))
        client = self._async_clients.get(key)
        if client is None:
            from .client import AsyncClient

            client = AsyncClient(endpoint, transport=self._async_transport)
            self._async_clients[key] = client
        renderer = self._renderer(s)
        renderer.start(reply)
        failure: BaseException | None = None
        try:
            async with aclosing(client.stream(payload, think_tags=self._think_tags(s))) as events:
                async for event in events:
                    renderer.event(reply, event, reply.apply(event))
            reply.end("done")
        except (asyncio.CancelledError, KeyboardInterrupt):
            # The kernel turns an interrupt into a cancellation of this coroutine.
            reply.end("interrupted")
            failure = KeyboardInterrupt()
        except Exception as exc:  # the display must not stay "streaming" whatever went wrong
            reply.end("error", _describe(exc))
            failure = exc
        return self._wrap_up(request, reply, renderer, failure)

    def _wrap_up(
        self, request: Request, reply: Reply, renderer: Renderer, failure: BaseException | None
    ) -> Reply:
        try:
            self._conclude(request, reply)
        except AnswerNotJSONError as exc:
            reply.end("error", str(exc))
            failure = failure or exc
        renderer.finish(reply)
        if failure is not None:
            raise failure
        return reply

    def close(self) -> None:
        """Close the synchronous clients (async ones close with their loop)."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()
