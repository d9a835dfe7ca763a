"""One kernel's GLM session: turns a request into a streamed, rendered, remembered reply.

`ask_async` runs on the kernel's event loop (widgets stay live, interrupt arrives as
CancelledError); `ask` is the synchronous path for terminal IPython and programmatic callers.
Both share every step but the loop over events and the way a person is asked a question; the
request itself goes out through the session's `Pipeline`, as every other request does.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..config import catalog
from ..config.settings import GLM, Settings
from ..context.builder import ContextBlock, ContextBuilder
from ..context.kernel_log import KernelLog
from ..context.prompt import context_line, interpolate, ordered, picture_sent, user_message
from ..display.render import DisplayRenderer, Renderer, TerminalRenderer
from ..errors import InputError
from ..messages import Image
from ..reply import Reply
from .conversation import Conversation, UsageLedger
from .guard import PolicyGuard
from .pipeline import Pipeline
from .prompts import system_prompt
from .request import ContextRequest, Request
from .structured import schema_for
from .teaching import HintTracker
from .turn import Turn, code_blocks, pick_block

if TYPE_CHECKING:
    import httpx

__all__ = ["ContextRequest", "Request", "Session", "current"]

# The session of each shell glm_jupyter is loaded in (by id), for callers that have only the
# shell: `glm_jupyter.map` in a notebook uses the notebook's settings and classroom ledger.
_BY_SHELL: dict[int, Session] = {}


def current() -> Session | None:
    """The session of the running IPython shell, if glm_jupyter is loaded in it."""
    ipython = sys.modules.get("IPython")  # never imported here: only found when already loaded
    shell = ipython.get_ipython() if ipython is not None else None
    return None if shell is None else _BY_SHELL.get(id(shell))


@dataclass
class Answered:
    """How a turn ended: what stopped it, and the structured value when one was asked for."""

    turn: Turn
    failure: BaseException | None = None
    value: Any = None


class Session:
    """Conversation, usage, kernel log and the request pipeline for one kernel."""

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
        # The classroom policy this process found at start (see config/policy.py); its token
        # cap counts this session's ledger.
        guard = policy or PolicyGuard.locate()
        guard.ledger = self.ledger
        self.pipeline = Pipeline(
            self.config, env, guard, transport=transport, async_transport=async_transport
        )
        self.hints = HintTracker()
        self.last: Reply | None = None

    def bind(self) -> None:
        """Make this the session `current()` finds for its shell."""
        _BY_SHELL[id(self.shell)] = self

    def unbind(self) -> None:
        """Stop being the shell's current session."""
        if _BY_SHELL.get(id(self.shell)) is self:
            del _BY_SHELL[id(self.shell)]

    @property
    def policy(self) -> PolicyGuard:
        """The classroom policy every request of this session passes."""
        return self.pipeline.guard

    @policy.setter
    def policy(self, guard: PolicyGuard) -> None:
        self.pipeline.guard = guard

    @property
    def transport(self) -> httpx.BaseTransport | None:
        """The HTTP transport given for tests (None: httpx's own)."""
        return self.pipeline.transport

    # --- building a turn ---------------------------------------------------------------------

    def settings(self, flags: Mapping[str, Any] | None = None) -> Settings:
        """Effective settings for these flags, with what the classroom policy fixes."""
        return self.pipeline.settings(flags)

    def admit(self, s: Settings, *, agent: bool = False, auto: bool = False) -> None:
        """Refuse a request the classroom policy does not allow; every request passes here."""
        self.pipeline.admit(s, agent=agent, auto=auto)

    def renderer(self, s: Settings) -> Renderer:
        """Where a turn with these settings streams: the cell's display, or the terminal."""
        return DisplayRenderer(s.update_interval) if self.in_notebook(s) else TerminalRenderer()

    def in_notebook(self, s: Settings) -> bool:
        """Answers show as displays (a kernel, or `GLM.renderer = "display"`)."""
        if s.renderer == "auto":
            return getattr(self.shell, "kernel", None) is not None
        return s.renderer == "display"

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

    def pictures(self, request: Request, s: Settings) -> tuple[Image, ...]:
        """The pictures a request names (`--image`, `--figure`), refused before anything is
        sent when the model is known to take none."""
        spec = request.context
        if not (spec.images or spec.figure):
            return ()
        if catalog.sees(s.model, s.provider.name) is False:
            raise InputError(
                f"{s.model} takes no pictures, so nothing was sent. Ask a model that sees: "
                f"{', '.join(catalog.SEEING)} (glm-5.4 is on the Coding Plan, "
                "GLM_PROVIDER=zai-coding), e.g. `%%glm -m glm-5v-turbo --figure`."
            )
        builder = ContextBuilder(self.shell, self.log, budget=0, send_rows=s.send_rows)
        found = [builder.image(name) for name in spec.images]
        return tuple([*found, builder.figure()] if spec.figure else found)

    @staticmethod
    def new_reply(
        s: Settings, blocks: Sequence[ContextBlock] = (), pictures: Sequence[Image] = ()
    ) -> Reply:
        """An empty reply for a turn with these settings, naming the context it carries."""
        reply = Reply(s.model, s.provider.name)
        reply.context = [b.sent() for b in blocks] + [picture_sent(p) for p in pictures]
        reply.context_line = context_line(list(blocks), pictures) if blocks or pictures else ""
        return reply

    def preview(self, request: Request) -> Turn:
        """Exactly what `request` would send (the new user message, its pictures, the messages
        and the request body), as a turn that is never streamed."""
        s = self.settings(request.flags)
        return self._prepare(request, s, renderer=TerminalRenderer(), remember=False)

    def _prepare(
        self,
        request: Request,
        s: Settings | None = None,
        *,
        renderer: Renderer | None = None,
        remember: bool = True,
    ) -> Turn:
        if request.agent:  # one turn answers here; the agent loop drives its own turns
            raise InputError(
                "Session.ask answers one turn: an agent request runs through "
                "glm_jupyter.agent (`%%glm --agent` in a notebook)."
            )
        s = s or self.settings(request.flags)
        blocks, question = self.context(request, s)
        schema = None
        if request.schema is not None:
            builder = ContextBuilder(self.shell, self.log, budget=0, send_rows=False)
            schema = schema_for(builder.lookup(request.schema, "--schema"), request.schema)
        pictures = self.pictures(request, s)
        content = user_message(blocks, question, schema.prompt() if schema else "")
        reply = self.new_reply(s, blocks, pictures)
        reply.notes += [*s.notes, *request.notes, *self._unsent_thinking(s)]
        history = self._history(request, s, reply, remember)
        return self.pipeline.turn(
            s,
            history.request(content, system_prompt(s), pictures),
            reply,
            renderer or self.renderer(s),
            json_mode=request.json or schema is not None,
            request=request,
            content=content,
            blocks=blocks,
            images=pictures,
            schema=schema,
        )

    @staticmethod
    def _unsent_thinking(s: Settings) -> list[str]:
        if s.thinking is None or s.provider.thinking_control != "none":
            return []
        # No known switch: say so rather than let --think / --no-think do nothing silently.
        return [
            f"thinking {'on' if s.thinking else 'off'} was not sent: a generic "
            "OpenAI-compatible server has no standard switch for it. If this server is "
            "vLLM, SGLang, Ollama or llama.cpp, choose that provider (with GLM_BASE_URL) "
            "instead."
        ]

    def _history(self, request: Request, s: Settings, reply: Reply, remember: bool) -> Conversation:
        """The conversation this turn continues (a fresh one for --new or another persona)."""
        # The system prompt is fixed per conversation: another persona needs a new one.
        started_as = self.conversation.persona
        switched = bool(self.conversation.messages) and started_as not in ("", s.persona)
        restart = request.new or switched
        if switched and not request.new:
            reply.notes.append(f"New conversation: the {s.persona} persona starts its own.")
        if not remember:
            return Conversation() if restart else self.conversation
        if restart:
            self.conversation.reset()
        self.conversation.persona = s.persona
        return self.conversation

    def _repair(self, turn: Turn, problems: list[str]) -> Turn:
        content = turn.repair_prompt(problems)
        reply = self.new_reply(turn.settings)
        reply.context_line = "Repair request: the previous answer was not usable JSON"
        return self.pipeline.turn(
            turn.settings,
            self.conversation.request(content, ""),
            reply,
            self.renderer(turn.settings),
            json_mode=True,
            request=turn.request,
            content=content,
            schema=turn.schema,
            repair_of=turn,
        )

    # --- the shared steps after streaming ----------------------------------------------------

    def _settle(self, turn: Turn, failure: BaseException | None) -> tuple[Answered, Turn | None]:
        """Remember the exchange and show its final state; a repair turn when one is due."""
        reply = turn.reply
        self.last = reply
        self.conversation.record(turn.content, reply, turn.images)
        self.pipeline.account(reply)
        answered, repair = Answered(turn, failure), None
        if turn.structured and reply.status == "done":
            problems, answered.value = turn.check()
            if problems and turn.repair_of is None:
                reply.notes.append("the answer is not usable JSON: asking once for a repair")
                repair = self._repair(turn, problems)
            elif problems:
                answered.failure = turn.give_up(problems)
                reply.end("error", str(answered.failure))
        turn.renderer.finish(reply)
        return answered, repair

    def _deliver(self, answered: Answered, choice: int | None) -> Reply:
        """Store the answer where asked, place code, and raise what went wrong."""
        turn, failure = answered.turn, answered.failure
        request, reply = turn.request, turn.reply
        if request.out and self.shell is not None:
            keep_value = turn.structured and failure is None and reply.status == "done"
            self.shell.user_ns[request.out] = answered.value if keep_value else reply.content.text
        if choice and reply.status == "done":
            self.shell.set_next_input(code_blocks(reply.content.text)[choice - 1], replace=False)
        if request.hint is not None and reply.status == "done" and failure is None:
            self.hints.record(request.hint)
        if failure is not None:
            raise failure
        return reply

    def _wanted_block(self, answered: Answered) -> tuple[int | None, list[str]]:
        """The block number to place (None: ask), and the blocks."""
        turn = answered.turn
        if turn.request.code is None or turn.reply.status != "done" or answered.failure:
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

    # --- the two loops -----------------------------------------------------------------------

    def ask(self, request: Request, *, renderer: Renderer | None = None) -> Reply:
        """Send, stream and render synchronously."""
        turn = self._prepare(request, renderer=renderer)
        answered, repair = self._settle(turn, self.pipeline.stream(turn))
        if repair is not None:
            answered, _ = self._settle(repair, self.pipeline.stream(repair))
        choice, blocks = self._wanted_block(answered)
        if choice is None:
            from ..display.chooser import ask_in_terminal

            try:
                choice = ask_in_terminal(blocks)
            except Exception:  # no stdin here (e.g. a headless run)
                raise _no_choice(len(blocks)) from None
        return self._deliver(answered, choice)

    async def ask_async(self, request: Request) -> Reply:
        """Send, stream and render on the running event loop."""
        turn = self._prepare(request)
        answered, repair = self._settle(turn, await self.pipeline.astream(turn))
        if repair is not None:
            answered, _ = self._settle(repair, await self.pipeline.astream(repair))
        choice, blocks = self._wanted_block(answered)
        if choice is None:
            from ..display.chooser import BlockChooser

            choice = await BlockChooser(blocks).ask()
        return self._deliver(answered, choice)

    def close(self) -> None:
        """Close the synchronous clients (async ones close with their loop)."""
        self.pipeline.close()


def _no_choice(count: int) -> InputError:
    return InputError(
        f"The answer has {count} code blocks and nobody here can pick one: "
        "run the cell again with --code N to place block N."
    )
