"""The one way from settings to a streamed reply, shared by every entry point.

A cell, a line, the chat panel, explain/fix/hint, each agent turn and each batch item go
through here: settings (flags > `GLM` config > environment > defaults, then what the classroom
policy fixes), the endpoint, the dialect that builds the body and parses the answer, the stream
into a reply and a renderer, and the usage count, which the policy guard's ledger keeps.
"""

from __future__ import annotations

import dataclasses
import os
import weakref
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing, closing
from typing import TYPE_CHECKING, Any

from ..config import catalog, reasoning
from ..config.settings import GLM, Settings, resolve
from ..errors import GLMError
from ..redact import redact_text
from ..wire.dialects import Dialect
from ..wire.failures import RetryPolicy
from .turn import Turn

if TYPE_CHECKING:  # httpx costs ~100 ms to import: only when the first request goes out
    import httpx

    from ..display.render import Renderer
    from ..messages import Event, Message
    from ..reply import Reply
    from ..wire.client import AsyncClient, Client, Endpoint
    from .conversation import UsageLedger
    from .guard import PolicyGuard


async def _closed_with(clients: dict[Endpoint, AsyncClient]) -> AsyncGenerator[None, None]:
    """Started once on a loop, it closes `clients` when the loop shuts its async generators
    down (`asyncio.run` does, before closing it): their kept connections end with the loop."""
    try:
        yield
    finally:
        for client in list(clients.values()):
            await client.aclose()


async def receive(
    stream: AsyncGenerator[Event, None], reply: Reply, renderer: Renderer | None = None
) -> None:
    """Apply an answer's events to `reply` (showing each), closing the stream whatever happens;
    errors propagate (a turn turns them into its reply's status, a batch into its retries)."""
    async with aclosing(stream) as events:
        async for event in events:
            shown = reply.apply(event)
            if renderer is not None:
                renderer.event(reply, event, shown)


def describe(exc: BaseException) -> str:
    """An error as the reply shows it, with any URL credentials masked."""
    # A GLMError masks URL credentials itself; anything else (httpx's own errors) may not.
    return str(exc) if isinstance(exc, GLMError) else redact_text(f"{type(exc).__name__}: {exc}")


class Pipeline:
    """Settings to endpoint, body, stream, reply and usage: every request of one session."""

    def __init__(
        self,
        config: GLM,
        env: Mapping[str, str] | None,
        guard: PolicyGuard,
        *,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.env = env
        self.guard = guard
        self.transport = transport
        self.async_transport = async_transport
        self._clients: dict[Endpoint, Client] = {}
        # Per event loop: its clients, and what closes them when it shuts down (`_closed_with`);
        # a loop that is gone takes both with it (asyncio.run per call).
        self._async_clients: weakref.WeakKeyDictionary[
            Any, tuple[dict[Endpoint, AsyncClient], AsyncGenerator[None, None]]
        ] = weakref.WeakKeyDictionary()

    @property
    def ledger(self) -> UsageLedger:
        """Tokens and cost so far: the ledger the classroom token cap counts."""
        return self.guard.ledger

    # --- before sending ----------------------------------------------------------------------

    def settings(self, flags: Mapping[str, Any] | None = None, given_as: str = "flag") -> Settings:
        """Effective settings for these overrides, with what the classroom policy fixes;
        `given_as` names the overrides in messages (magic flags, or `map()` arguments)."""
        flags = dict(flags or {})
        env = os.environ if self.env is None else self.env

        def settle(environ: Mapping[str, str]) -> Settings:
            s = resolve(self.config, flags, environ)
            if given_as == "flag":
                return s
            given = {k: given_as if v == "flag" else v for k, v in s.sources.items()}
            return dataclasses.replace(s, sources=given)

        # The policy's provider, when only a default chose one: in place of the default, so
        # GLM_BASE_URL (the course's server) still applies.
        s = self.guard.shape(settle(env), lambda p: settle({**env, "GLM_PROVIDER": p}))
        if catalog.lookup(s.model) is None:  # a model newer than the table: ask its provider
            from ..wire.listing import ensure_listing

            ensure_listing(s, self.transport)
        info = catalog.find(s.model, s.provider.name)
        if info is not None and "summary_tokens" not in s.sources:  # a wider window, more room
            s = dataclasses.replace(s, summary_tokens=catalog.summary_budget(info.context))
        return reasoning.settle(s)

    def admit(self, s: Settings, *, agent: bool = False, auto: bool = False) -> None:
        """Refuse what the classroom policy does not allow (ClassroomLimitError)."""
        self.guard.check_request(s, agent=agent, auto=auto)

    @staticmethod
    def endpoint(s: Settings, retry: RetryPolicy | None = None) -> Endpoint:
        """Where the settings send, retrying as they say unless `retry` is given."""
        from ..wire.client import Endpoint

        return Endpoint(
            provider=s.provider,
            base_url=s.base_url,
            api_key=s.api_key,
            read_timeout=s.timeout,
            retry=retry or RetryPolicy(max_retries=s.max_retries, base=s.retry_backoff),
        )

    def turn(
        self,
        s: Settings,
        messages: Sequence[Message],
        reply: Reply,
        renderer: Renderer,
        *,
        json_mode: bool = False,
        tools: Sequence[dict[str, Any]] = (),
        preserve: bool = False,
        **described: Any,
    ) -> Turn:
        """A turn ready to stream: its endpoint and body settled; `described`: Turn's fields."""
        dialect = Dialect.of(s)
        body = dialect.body(messages, json_mode=json_mode, tools=tools, preserve=preserve)
        return Turn(
            settings=s,
            endpoint=self.endpoint(s),
            dialect=dialect,
            payload=body,
            messages=tuple(messages),
            reply=reply,
            renderer=renderer,
            **described,
        )

    # --- sending -----------------------------------------------------------------------------

    def stream(self, turn: Turn) -> BaseException | None:
        """Stream a turn into its reply and renderer; what stopped it, if anything."""
        self.admit(turn.settings)
        client = self._clients.get(turn.endpoint)
        if client is None:
            from ..wire.client import Client

            client = self._clients[turn.endpoint] = Client(turn.endpoint, transport=self.transport)
        reply, renderer = turn.reply, turn.renderer
        renderer.start(reply)
        try:
            with closing(client.stream(turn.payload, dialect=turn.dialect)) as events:
                for event in events:
                    renderer.event(reply, event, reply.apply(event))
            reply.end("done")
        except KeyboardInterrupt as exc:
            reply.end("interrupted")
            return exc
        except Exception as exc:  # the display must not stay "streaming" whatever went wrong
            reply.end("error", describe(exc))
            return exc
        return None

    async def astream(self, turn: Turn) -> BaseException | None:
        """Stream a turn on the running event loop; what stopped it, if anything."""
        import asyncio  # only the kernel path needs it; terminal start-up stays lean

        self.admit(turn.settings)
        loop = asyncio.get_running_loop()
        if loop not in self._async_clients:
            clients: dict[Endpoint, AsyncClient] = {}
            self._async_clients[loop] = clients, _closed_with(clients)
            await anext(self._async_clients[loop][1])
        clients = self._async_clients[loop][0]
        client = clients.get(turn.endpoint)
        if client is None:
            from ..wire.client import AsyncClient

            # Connections kept for the next turn: each agent step or `%%glm` turn would pay a
            # new TCP and TLS handshake otherwise. They close when the loop shuts down.
            client = clients[turn.endpoint] = AsyncClient(
                turn.endpoint, transport=self.async_transport, reuse_connections=True
            )
        reply, renderer = turn.reply, turn.renderer
        renderer.start(reply)
        try:
            await receive(client.stream(turn.payload, dialect=turn.dialect), reply, renderer)
            reply.end("done")
        except (asyncio.CancelledError, KeyboardInterrupt):
            # The kernel turns an interrupt into a cancellation of this coroutine.
            reply.end("interrupted")
            return KeyboardInterrupt()
        except Exception as exc:  # the display must not stay "streaming" whatever went wrong
            reply.end("error", describe(exc))
            return exc
        return None

    # --- after -------------------------------------------------------------------------------

    def account(self, reply: Reply) -> None:
        """Count one answer's usage (a request that finished without a usage report, too)."""
        if reply.usage is not None or reply.status == "done":
            self.guard.charge(reply.model, reply.usage, reply.provider)

    def close(self) -> None:
        """Close the synchronous clients (async ones close with their loop)."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()
