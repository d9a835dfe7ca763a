"""One kernel's GLM session: turns a request into a streamed, rendered, remembered reply.

`ask_async` runs on the kernel's event loop (widgets stay live, interrupt arrives as
CancelledError); `ask` is the synchronous path for terminal IPython and programmatic callers.
Both share every step but the loop over events and the way a person is asked a question.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping
from contextlib import aclosing, closing
from typing import TYPE_CHECKING, Any

from ..config.providers import ThinkTags
from ..config.settings import GLM, Settings, resolve
from ..context.builder import ContextBlock, ContextBuilder
from ..context.kernel_log import KernelLog
from ..context.prompt import context_line, interpolate, ordered, user_message
from ..display.render import DisplayRenderer, Renderer, TerminalRenderer
from ..errors import GLMError, InputError
from ..redact import redact_text
from ..wire.dialects import build_request
from ..wire.failures import RetryPolicy
from .conversation import Conversation, UsageLedger
from .guard import PolicyGuard
from .reply import Reply
from .structured import schema_for
from .teaching import HintTracker, system_prompt
from .turn import ContextRequest, Request, Turn, code_blocks, pick_block

if TYPE_CHECKING:  # httpx costs ~100 ms to import: only when the first request goes out
    import httpx

    from ..agent.loop import AgentRun
    from ..agent.mcp import McpServers
    from ..ipython.autoexplain import AutoExplain
    from ..wire.client import AsyncClient, Client, Endpoint

__all__ = ["ContextRequest", "Request", "Session"]


def _describe(exc: BaseException) -> str:
    # A GLMError masks URL credentials itself; anything else (httpx's own errors) may not.
    return str(exc) if isinstance(exc, GLMError) else redact_text(f"{type(exc).__name__}: {exc}")


class Session:
    """Conversation, usage, kernel log and clients for one kernel."""

    def __init__(
        self,
        shell: Any = None,
        config: GLM | None = None,
        *,
        log: KernelLog | None = None,
        env: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        policy: PolicyGuard | None = None,
    ) -> None:
        self.shell = shell
        self.config = config or GLM()
        self.log = log
        self.env = env
        self.conversation = Conversation()
        self.ledger = UsageLedger()
        # The classroom policy this process found at start (see policy.py); its token cap
        # counts this session's ledger.
        self.policy = policy or PolicyGuard.locate()
        self.policy.ledger = self.ledger
        self.hints = HintTracker()
        self.last: Reply | None = None
        self._transport = transport
        self._async_transport = async_transport
        self._clients: dict[Endpoint, Client] = {}
        # Per event loop: a loop that is gone takes its clients with it (asyncio.run per call).
        self._async_clients: weakref.WeakKeyDictionary[Any, dict[Endpoint, AsyncClient]] = (
            weakref.WeakKeyDictionary()
        )
        self._autoexplain: AutoExplain | None = None
        self.last_agent: AgentRun | None = None
        self.agent_running = False
        self.mcp: McpServers | None = None

    @property
    def transport(self) -> httpx.BaseTransport | None:
        """The HTTP transport given for tests (None: httpx's own)."""
        return self._transport

    def autoexplain(self, word: str) -> str:
        """Turn the "Explain this error" button on or off (`%glm autoexplain on|off`)."""
        if self.shell is None:
            raise InputError("autoexplain needs an IPython shell.")
        if self._autoexplain is None:
            from ..ipython.autoexplain import AutoExplain

            self._autoexplain = AutoExplain(self)
        return self._autoexplain.set(word)

    # --- building a turn ---------------------------------------------------------------------

    def settings(self, flags: Mapping[str, Any] | None = None) -> Settings:
        """Effective settings for these flags, with what the classroom policy fixes."""
        flags = dict(flags or {})

        def with_provider(provider: str) -> Settings:  # the policy's, when only a default chose
            # In place of the default, so GLM_BASE_URL (the course's server) still applies.
            env = os.environ if self.env is None else self.env
            return resolve(self.config, flags, {**env, "GLM_PROVIDER": provider})

        return self.policy.shape(resolve(self.config, flags, self.env), with_provider)

    def admit(self, s: Settings, *, agent: bool = False, auto: bool = False) -> None:
        """Refuse a request the classroom policy does not allow; every request passes here."""
        self.policy.check_request(s, agent=agent, auto=auto)

    def _endpoint(self, s: Settings) -> Endpoint:
        from ..wire.client import Endpoint

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

    def context(self, request: Request, s: Settings) -> tuple[list[ContextBlock], str]:
        """The context blocks and the question text (with `{name}` filled in) for a request."""
        builder = ContextBuilder(
            self.shell, self.log, budget=s.summary_tokens, send_rows=s.send_rows
        )
        spec = request.context
        blocks = [builder.dataframe(name) for name in spec.dataframes]
        blocks += [builder.variable(name) for name in spec.variables]
        if spec.cells is not None:
            blocks.append(builder.cells(spec.cells))
        blocks += [builder.cell(number) for number in spec.cell_numbers]
        if spec.error or spec.error_record is not None:
            blocks.append(builder.error(spec.error_record))
        if spec.notebook is not None:
            blocks.append(builder.notebook(spec.notebook))
        question, extra = interpolate(
            request.prompt,
            builder.namespace,
            lambda n, v: builder.summary(n, v, 3),
            send_rows=s.send_rows,
        )
        return ordered(blocks + extra), question

    def preview(self, request: Request) -> tuple[str, dict[str, Any]]:
        """Exactly what `request` would send: the new user message and the request body."""
        s = self.settings(request.flags)
        turn = self._prepare(request, s, renderer=TerminalRenderer(), remember=False)
        return turn.content, turn.payload

    def _prepare(
        self,
        request: Request,
        s: Settings | None = None,
        *,
        renderer: Renderer | None = None,
        remember: bool = True,
    ) -> Turn:
        s = s or self.settings(request.flags)
        blocks, question = self.context(request, s)
        schema = None
        if request.schema is not None:
            builder = ContextBuilder(self.shell, self.log, budget=0, send_rows=False)
            schema = schema_for(builder.lookup(request.schema, "--schema"), request.schema)
        content = user_message(blocks, question, schema.prompt() if schema else "")
        reply = Reply(s.model, s.provider.name)
        reply.notes += [*s.notes, *request.notes]
        if s.thinking is not None and s.provider.thinking_control == "none":
            # No known switch: say so rather than let --think / --no-think do nothing silently.
            reply.notes.append(
                f"thinking {'on' if s.thinking else 'off'} was not sent: a generic "
                "OpenAI-compatible server has no standard switch for it. If this server is "
                "vLLM, SGLang, Ollama or llama.cpp, choose that provider (with GLM_BASE_URL) "
                "instead."
            )
        # The system prompt is fixed per conversation: another persona needs a new one.
        started_as = self.conversation.persona
        switched = bool(self.conversation.messages) and started_as not in ("", s.persona)
        restart = request.new or switched
        if switched and not request.new:
            reply.notes.append(f"New conversation: the {s.persona} persona starts its own.")
        if restart and remember:
            self.conversation.reset()
        history = self.conversation if remember or not restart else Conversation()
        if remember:
            self.conversation.persona = s.persona
        reply.context = [b.sent() for b in blocks]
        reply.context_line = context_line(blocks) if blocks else ""
        return Turn(
            request=request,
            settings=s,
            endpoint=self._endpoint(s),
            payload=self._payload(
                s, history.request(content, system_prompt(s)), request.json or schema
            ),
            reply=reply,
            renderer=renderer or self._renderer(s),
            content=content,
            blocks=blocks,
            schema=schema,
        )

    @staticmethod
    def _payload(
        s: Settings,
        messages: Any,
        json_mode: Any = False,
        tools: list[dict[str, Any]] | None = None,
        preserve: bool = False,
    ) -> dict[str, Any]:
        return build_request(
            s.provider,
            model=s.model,
            messages=messages,
            thinking=s.thinking,
            temperature=s.temperature,
            max_tokens=s.max_tokens,
            extra=s.extra_body,
            json_mode=bool(json_mode),
            tools=tools or (),
            preserve_thinking=s.preserve_thinking or preserve,
        )

    def _repair(self, turn: Turn, problems: list[str]) -> Turn:
        content = turn.repair_prompt(problems)
        reply = Reply(turn.settings.model, turn.settings.provider.name)
        reply.context_line = "Repair request: the previous answer was not usable JSON"
        return Turn(
            request=turn.request,
            settings=turn.settings,
            endpoint=turn.endpoint,
            payload=self._payload(turn.settings, self.conversation.request(content, ""), True),
            reply=reply,
            renderer=self._renderer(turn.settings),
            content=content,
            schema=turn.schema,
            repair_of=turn,
        )

    @staticmethod
    def _think_tags(s: Settings) -> ThinkTags:
        tags = s.provider.think_tags
        return "leading" if tags == "untagged" and s.thinking is False else tags

    # --- the shared steps after streaming ----------------------------------------------------

    def _settle(self, turn: Turn) -> Turn | None:
        """Remember the exchange and show its final state; a repair turn when one is due."""
        reply = turn.reply
        self.last = reply
        self.conversation.record(turn.content, reply)
        if reply.usage is not None or reply.status == "done":
            self.ledger.add(reply.model, reply.usage, reply.provider)
        repair = None
        if turn.structured and reply.status == "done":
            problems = turn.check()
            if problems and turn.repair_of is None:
                reply.notes.append("the answer is not usable JSON: asking once for a repair")
                repair = self._repair(turn, problems)
            elif problems:
                turn.failure = turn.give_up(problems)
                reply.end("error", str(turn.failure))
        turn.renderer.finish(reply)
        return repair

    def _deliver(self, turn: Turn, choice: int | None) -> Reply:
        """Store the answer where asked, place code, and raise what went wrong."""
        request, reply = turn.request, turn.reply
        if request.out and self.shell is not None:
            keep_value = turn.structured and turn.failure is None and reply.status == "done"
            self.shell.user_ns[request.out] = turn.value if keep_value else reply.content.text
        if choice and reply.status == "done":
            self.shell.set_next_input(code_blocks(reply.content.text)[choice - 1], replace=False)
        if request.hint is not None and reply.status == "done" and turn.failure is None:
            self.hints.record(request.hint)
        if turn.failure is not None:
            raise turn.failure
        return reply

    def _wanted_block(self, turn: Turn) -> tuple[int | None, list[str]]:
        """The block number to place (None: ask), and the blocks."""
        if turn.request.code is None or turn.reply.status != "done" or turn.failure:
            return 0, []
        blocks = code_blocks(turn.reply.content.text)
        if not blocks:
            print("The answer has no Python code block to place in a cell.")
            return 0, blocks
        try:
            block = pick_block(blocks, turn.request.code)
        except IndexError as exc:
            raise InputError(str(exc)) from None
        return (None if block is None else blocks.index(block) + 1), blocks

    def _no_choice(self, count: int) -> InputError:
        return InputError(
            f"The answer has {count} code blocks and nobody here can pick one: "
            "run the cell again with --code N to place block N."
        )

    # --- the two loops -----------------------------------------------------------------------

    def ask(self, request: Request, *, renderer: Renderer | None = None) -> Reply:
        """Send, stream and render synchronously."""
        if request.agent:
            return self._agent_sync(request)
        turn = self._prepare(request, renderer=renderer)
        self._stream(turn)
        repair = self._settle(turn)
        if repair is not None:
            self._stream(repair)
            self._settle(repair)
            turn = repair
        choice, blocks = self._wanted_block(turn)
        if choice is None:
            from ..display.chooser import ask_in_terminal

            try:
                choice = ask_in_terminal(blocks)
            except Exception:  # no stdin here (e.g. a headless run)
                raise self._no_choice(len(blocks)) from None
        return self._deliver(turn, choice)

    async def ask_async(self, request: Request) -> Reply:
        """Send, stream and render on the running event loop."""
        if request.agent:
            return await self.agent(request)
        turn = self._prepare(request)
        await self._stream_async(turn)
        repair = self._settle(turn)
        if repair is not None:
            await self._stream_async(repair)
            self._settle(repair)
            turn = repair
        choice, blocks = self._wanted_block(turn)
        if choice is None:
            from ..display.chooser import BlockChooser

            choice = await BlockChooser(blocks).ask()
        return self._deliver(turn, choice)

    # --- agent mode --------------------------------------------------------------------------

    def agent_turn(
        self,
        s: Settings,
        messages: list[Any],
        specs: list[dict[str, Any]],
        blocks: list[ContextBlock],
    ) -> Turn:
        """One model turn of an agent run (tools offered, reasoning kept for the provider)."""
        # Z.ai keeps reasoning across the run only with preserved thinking switched on.
        payload = self._payload(
            s, messages, tools=specs, preserve=s.provider.thinking_control == "zai"
        )
        reply = Reply(s.model, s.provider.name)
        reply.context = [b.sent() for b in blocks]
        reply.context_line = context_line(blocks) if blocks else ""
        content = str(messages[-1].content) if messages else ""
        return Turn(
            request=Request(content),
            settings=s,
            endpoint=self._endpoint(s),
            payload=payload,
            reply=reply,
            renderer=self._renderer(s),
            content=content,
        )

    def account(self, turn: Turn) -> None:
        """Count a finished model turn and show its final state."""
        self.last = turn.reply
        if turn.reply.usage is not None or turn.reply.status == "done":
            self.ledger.add(turn.reply.model, turn.reply.usage, turn.reply.provider)
        turn.renderer.finish(turn.reply)

    async def agent(self, request: Request) -> Reply:
        """An agent run on the running event loop (see `agent.run_agent`)."""
        from ..agent.loop import run_agent

        return await run_agent(self, request)

    def _agent_sync(self, request: Request) -> Reply:
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.agent(request))
        raise InputError(
            "Agent mode runs as a coroutine: in a notebook, turn `%autoawait` back on, and run "
            "%%glm --agent as a cell of its own."
        )

    def _stream(self, turn: Turn) -> None:
        self.admit(turn.settings)
        client = self._clients.get(turn.endpoint)
        if client is None:
            from ..wire.client import Client

            client = Client(turn.endpoint, transport=self._transport)
            self._clients[turn.endpoint] = client
        reply, renderer = turn.reply, turn.renderer
        renderer.start(reply)
        try:
            stream = client.stream(turn.payload, think_tags=self._think_tags(turn.settings))
            with closing(stream) as events:
                for event in events:
                    renderer.event(reply, event, reply.apply(event))
            reply.end("done")
        except KeyboardInterrupt as exc:
            reply.end("interrupted")
            turn.failure = exc
        except Exception as exc:  # the display must not stay "streaming" whatever went wrong
            reply.end("error", _describe(exc))
            turn.failure = exc

    async def _stream_async(self, turn: Turn) -> None:
        import asyncio  # only the kernel path needs it; terminal start-up stays lean

        self.admit(turn.settings)
        clients = self._async_clients.setdefault(asyncio.get_running_loop(), {})
        client = clients.get(turn.endpoint)
        if client is None:
            from ..wire.client import AsyncClient

            client = clients[turn.endpoint] = AsyncClient(
                turn.endpoint, transport=self._async_transport
            )
        reply, renderer = turn.reply, turn.renderer
        renderer.start(reply)
        try:
            stream = client.stream(turn.payload, think_tags=self._think_tags(turn.settings))
            async with aclosing(stream) as events:
                async for event in events:
                    renderer.event(reply, event, reply.apply(event))
            reply.end("done")
        except (asyncio.CancelledError, KeyboardInterrupt):
            # The kernel turns an interrupt into a cancellation of this coroutine.
            reply.end("interrupted")
            turn.failure = KeyboardInterrupt()
        except Exception as exc:  # the display must not stay "streaming" whatever went wrong
            reply.end("error", _describe(exc))
            turn.failure = exc

    def close(self) -> None:
        """Close the synchronous clients (async ones close with their loop)."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()
