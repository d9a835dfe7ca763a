"""The agent side of one kernel: its MCP servers, the run under way, and the last run."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any

from ..errors import ClassroomLimitError, InputError
from .budget import Budget
from .loop import AgentRun

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from ..config.settings import Settings
    from ..core.request import Request
    from ..core.session import Session
    from ..core.turn import Turn
    from ..reply import Reply
    from .executor import KernelExecutor
    from .mcp import McpServers


class Agents:
    """Runs `%%glm --agent` requests on a session, with the tools this kernel offers."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.mcp: McpServers | None = None
        self.last: AgentRun | None = None
        self.running = False  # a run is under way (automatic error explanations wait)

    def settings(self, request: Request) -> Settings:
        """Settings for an agent run, after the admin's limits."""
        session = self.session
        s = session.settings(request.flags)
        session.admit(s, agent=True, auto=request.auto)  # the classroom policy, if there is one
        if not s.allow_agent:
            raise ClassroomLimitError("Agent mode is turned off here (GLM.allow_agent = False).")
        if request.auto and not s.allow_auto:
            raise ClassroomLimitError(
                "--auto is turned off here (GLM.allow_auto = False): every tool "
                "call needs approval. Run without --auto."
            )
        if session.shell is None:
            raise InputError("Agent mode needs an IPython shell to run code in.")
        return s

    async def run(self, request: Request) -> Reply:
        """Build the tools, run the agent (or resume a run), store `-o`, and raise what
        stopped it."""
        if request.resume is not None:
            return await self.resume(request)
        run, _ = self.prepare(request, self.settings(request))
        return await self._drive(request, run, run.run())

    async def resume(self, request: Request) -> Reply:
        """`%glm resume [ID]`: go on with a logged run, in this kernel or after a restart."""
        from ..config.paths import runs_dir
        from . import resume
        from .runlog import KERNEL, RunLog
        from .runread import load_run

        record = load_run(runs_dir(), request.resume or None)
        resume.check_resumable(record)
        given = dict(request.flags)
        for name, value in (("model", record.model), ("provider", record.provider)):
            if given.get(name) is None and value:
                given[name] = value  # the run goes on with the model it was made with
        request = dataclasses.replace(request, flags=given)
        s = self.settings(request)
        run, executor = self.prepare(request, s)
        log = RunLog.reopen(record, scrub=self.session.pipeline.endpoint(s).scrub)
        run.state.run_id = log.id
        told, note = resume.stopped_note(record), f"Resumed run {record.id}."
        if record.kernel_session != KERNEL:
            replay = await resume.after_restart(
                record, executor, run.approver, notebook=run.notebook, auto=request.auto
            )
            told, note = replay.told, replay.note
            run.approve_all = run.approve_all or replay.approved_all
        run.state.note = note
        log.resumed({"kernel": KERNEL, "budget": run.budget.as_dict(), "note": note})
        return await self._drive(request, run, run.resume(record, log, told))

    def prepare(self, request: Request, s: Settings) -> tuple[AgentRun, KernelExecutor]:
        """A run with this kernel's tools and the request's budgets, and its executor."""
        from ..config import catalog
        from .executor import KernelExecutor
        from .kernel_tools import Figures, builtin_tools
        from .tools import USER_TOOLS

        session = self.session
        executor = KernelExecutor(session.shell, timeout=s.tool_timeout)
        # Figures go back as pictures only to a model known to see: a text model's server
        # would refuse the whole request.
        sees = catalog.sees(s.model, s.provider.name) is True
        figures = Figures("described" if not sees else "attached" if s.send_rows else "withheld")
        tools = builtin_tools(
            session.shell,
            executor,
            limit=s.tool_output_chars,
            budget=s.summary_tokens,
            send_rows=s.send_rows,
            figures=figures,
        )
        tools += list(USER_TOOLS.values()) + (self.mcp.tools() if self.mcp else [])
        budget = Budget.of(request, s, session.policy.current())
        budget.check_priced(s.model, s.provider.name)
        known = catalog.find(s.model, s.provider.name)
        window = s.context_window or (known.context if known is not None else 0)
        run = AgentRun(
            session,
            request,
            s,
            tools,
            notebook=session.in_notebook(s),
            figures=figures,
            budget=budget,
            window=window,
        )
        return run, executor

    async def _drive(
        self, request: Request, run: AgentRun, going: Coroutine[Any, Any, tuple[Turn, Any]]
    ) -> Reply:
        """Await the run, store `-o`, and raise what stopped it."""
        session = self.session
        self.last = run
        self.running = True
        try:
            turn, failure = await going
        except (KeyboardInterrupt, asyncio.CancelledError):
            if run.last_turn is None:
                raise KeyboardInterrupt from None
            turn, failure = run.last_turn, KeyboardInterrupt()
        finally:
            self.running = False
        if request.out:
            session.shell.user_ns[request.out] = turn.reply.content.text
        if failure is not None:
            raise failure
        return turn.reply

    def run_sync(self, request: Request) -> Reply:
        """`run` for callers without a running loop (terminal IPython)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.run(request))
        raise InputError(
            "Agent mode runs as a coroutine: in a notebook, turn `%autoawait` back on, and run "
            "%%glm --agent as a cell of its own."
        )
