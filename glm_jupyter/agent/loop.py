"""Agent mode: the model calls tools in the live kernel, step by step, until it answers.

Each model turn streams into its own response display; each tool call gets a step display
(tool, code, approval, elapsed, what the model was told) and, for run_python, the code's own
outputs right under it. A header above them says where the run stands (step, time, tokens,
cost, budget left, the model's plan) and offers *Stop after this step*. Older turns and steps
fold to a line as the run goes on (`display/trail.py`), so a long run stays light.

Before every request the prompt is held under the model's window (`compaction.py`); between
the budgets' checks and the compactions the messages only grow at their end, so the provider's
cache serves their prefix. A budget or the Stop button ends the run between steps, with
everything kept in the conversation.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import deque
from typing import TYPE_CHECKING, Any

from ..config import catalog
from ..config.providers import GATEWAY_FLAGS
from ..context.prompt import user_message
from ..core.prompts import AGENT_SYSTEM, agent_system
from ..core.request import Request
from ..display.approval import Decision, TerminalApprover, WidgetApprover
from ..display.run_header import RunHeader, RunState
from ..display.step import Step, StepView
from ..display.trail import Trail
from ..errors import AgentStopped, InputError, PromptTooLongError, ToolError
from ..messages import Image, Message, ToolCall, Usage
from ..wire.rawtools import parse_raw_tool_calls
from . import compaction
from .budget import CONTINUE, Budget
from .plan import Plan, plan_tool
from .tools import Tool

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..config.settings import Settings
    from ..context.builder import ContextBlock
    from ..core.session import Session
    from ..core.turn import Turn
    from ..reply import Reply
    from .kernel_tools import Figures
    from .runlog import RunLog
    from .runread import RunRecord

SAME_CALL_LIMIT = 3
UNKNOWN_WINDOW = 128_000  # tokens, where neither the catalog nor GLM.context_window says
REFITTED = (
    "The server found this prompt longer than the window: the run compacted it and asked again."
)
STOP_BUTTON = "Stopped after step {step}, as asked (Stop after this step). " + CONTINUE


class AgentRun:
    """One `%%glm --agent` run."""

    def __init__(
        self,
        session: Session,
        request: Request,
        settings: Settings,
        tools: list[Tool],
        *,
        notebook: bool,
        figures: Figures | None = None,
        budget: Budget | None = None,
        window: int = 0,
    ) -> None:
        self.session = session
        self.request = request
        self.settings = settings
        self.plan = Plan()
        tools = [*tools, plan_tool(self.plan, self._plan_changed)]
        self.tools = {t.name: t for t in tools}
        self.specs = [t.spec() for t in self.tools.values()]
        self.notebook = notebook
        self.figures = figures
        self.budget = budget or Budget(None, None, None)
        self.steps: list[Step] = []
        self.approve_all = bool(request.auto)
        # Buttons need a front end to click them: only a kernel has one.
        in_kernel = getattr(session.shell, "kernel", None) is not None
        self.approver: Any = WidgetApprover() if in_kernel else TerminalApprover()
        self.model_seconds = 0.0
        self.last_turn: Turn | None = None
        self._recent: deque[tuple[str, str]] = deque(maxlen=SAME_CALL_LIMIT)
        self.messages: list[Message] = []
        self.fold_from = 0  # where compaction may start: after the run's question
        self.turns = 0  # tool-calling turns so far
        self.started = time.monotonic()
        self.cost: float | None = 0.0
        self.compactions: list[dict[str, Any]] = []
        self.meter = compaction.Meter(overhead=len(json.dumps(self.specs)))
        tokens = window or settings.context_window or UNKNOWN_WINDOW
        self.window = compaction.Window(tokens, compaction.answer_room(tokens, settings.max_tokens))
        self.state = RunState(uuid.uuid4().hex[:8])
        stop = self.stop_after_step if in_kernel else None
        self.header = RunHeader(notebook=notebook, on_stop=stop)
        self.trail = Trail()
        self.stop_requested = False
        self.timeline: list[float] = []  # CPU time as each tool-calling turn begins (benchmarks)
        self.usages: list[Usage] = []  # each model turn's, in order
        self.log: RunLog | None = None  # the run log on disk, once the run has one
        self.log_problem = ""  # why the run log stopped being written, if it did

    # --- entry points ----------------------------------------------------------------------

    async def run(self) -> tuple[Turn, BaseException | None]:
        """Model turns and tool calls until an answer, a stop, or an interrupt: the last turn,
        and what ended the run early, if anything."""
        session, s = self.session, self.settings
        blocks, question = session.context(self.request, s)
        pictures = session.pictures(self.request, s)
        if self.request.new:
            session.conversation.reset()
        self.messages = session.conversation.request(
            user_message(blocks, question), agent_system(AGENT_SYSTEM, s), pictures
        )
        self.fold_from = len(self.messages)
        self._open_log(question)
        return await self._drive(blocks, pictures)

    async def resume(
        self, run: RunRecord, log: RunLog, told: str
    ) -> tuple[Turn, BaseException | None]:
        """Go on with a run read back from its log: `told` is what the model hears first."""
        self.log = log
        self.messages = list(run.messages)
        self.fold_from = min(run.fold_from, len(self.messages))
        self.steps = [Step.from_dict(step) for step in run.steps]
        if run.plan:
            self.plan.update({"plan": run.plan, "explanation": run.plan_explanation})
            self._plan_changed(logged=False)
        unanswered = _pending_calls(self.messages)
        self._append_all(_unanswered(unanswered, "not finished when the run stopped"))
        self._append(Message("user", told))
        return await self._drive((), ())

    def stop_after_step(self) -> None:
        """End the run cleanly once the step under way is done."""
        self.stop_requested = True
        self.state.status = "stopping"
        self._show_header()

    # --- the loop --------------------------------------------------------------------------

    async def _drive(
        self, blocks: Sequence[ContextBlock], pictures: Sequence[Image]
    ) -> tuple[Turn, BaseException | None]:
        failure: BaseException | None = None
        status, reason = "done", ""
        self._show_header()
        try:
            first, refused = True, False
            while True:
                stop = self._stop_reason()
                if stop:
                    raise AgentStopped(stop)
                await self._fit(force=refused)
                turn, failure = await self._model_turn(
                    self.messages, blocks if first else (), pictures if first else ()
                )
                first = False
                if isinstance(failure, PromptTooLongError) and not refused:
                    # The estimate ran short of the server's count: lean higher, compact, and
                    # ask once more; a second refusal ends the run as any error does.
                    refused = True
                    self.meter.per_char *= 1.25
                    turn.reply.notes.append(REFITTED)
                    turn.renderer.finish(turn.reply)
                    continue
                refused = False
                if failure is not None:
                    partial, thought = turn.reply.content.text, turn.reply.reasoning.text
                    if partial or thought:  # keep what arrived
                        self._append(Message("assistant", partial, reasoning=thought))
                    status = "interrupted" if isinstance(failure, KeyboardInterrupt) else "error"
                    reason = turn.reply.error or "Interrupted while the model was answering."
                    break
                assistant = _assistant(turn.reply)
                self._append(assistant)
                if not assistant.tool_calls:
                    break
                self.turns += 1
                self.timeline.append(time.process_time())
                self.state.step = self.turns
                await self._tools(assistant)
                shown = self.figures.message() if self.figures is not None else None
                if shown is not None:  # after every tool result
                    self._append(shown)
        except AgentStopped as stop:
            self._append_all(_unanswered(_pending_calls(self.messages), "not run: the run stopped"))
            status, reason = "stopped", str(stop)
            if self.last_turn is not None:
                self.last_turn.reply.notes.append(reason)
        except (KeyboardInterrupt, asyncio.CancelledError):
            status, reason = "interrupted", "Interrupted by the person."
            raise
        finally:
            self.session.conversation.adopt(self.messages)
            self._finish(status, reason)
        assert self.last_turn is not None
        return self.last_turn, failure

    def _stop_reason(self) -> str:
        """Why the run must stop before its next request ("" when it goes on)."""
        if self.stop_requested:
            return STOP_BUTTON.format(step=self.turns)
        spent = self.budget.spent(self.turns, time.monotonic() - self.started, self.cost)
        return spent.message if spent is not None else ""

    async def _model_turn(
        self,
        messages: Sequence[Message],
        blocks: Sequence[ContextBlock],
        pictures: Sequence[Image],
    ) -> tuple[Turn, BaseException | None]:
        """One model turn (tools offered, reasoning kept for the provider), streamed and counted."""
        session, s = self.session, self.settings
        reply = session.new_reply(s, blocks, pictures)
        reply.compactions = self.compactions
        content = str(messages[-1].content) if messages else ""
        # Z.ai keeps reasoning across the run only with preserved thinking switched on.
        turn = session.pipeline.turn(
            s,
            messages,
            reply,
            session.renderer(s),
            tools=self.specs,
            preserve=s.provider.thinking_control == "zai",
            request=Request(content),
            content=content,
        )
        if s.provider.name == "gateway":  # the course's gateway applies the policy's agent rules
            turn.payload[GATEWAY_FLAGS] = {"agent": True, "auto": bool(self.request.auto)}
        self.last_turn = turn
        started = time.monotonic()
        failure = await session.pipeline.astream(turn)
        self.model_seconds += time.monotonic() - started
        session.last = reply
        session.pipeline.account(reply)
        turn.renderer.finish(reply)
        self._count(messages, reply)
        self.trail.turn(turn.renderer, reply)
        return turn, failure

    def _count(self, messages: Sequence[Message], reply: Reply) -> None:
        """Add a turn's usage and cost to the run's, and learn the prompt's size from it."""
        usage = reply.usage
        if usage is not None:
            self.usages.append(usage)
            self.meter.observe(self.meter.chars(messages), usage.prompt_tokens)
            st = self.state
            st.prompt_tokens += usage.prompt_tokens
            st.completion_tokens += usage.completion_tokens
            st.cached_tokens += usage.cached_tokens
            cost = catalog.cost(reply.model, usage, reply.provider)
            self.cost = None if cost is None or self.cost is None else self.cost + cost
        self._show_header()

    async def _tools(self, assistant: Message) -> None:
        """Run the turn's tool calls in order, each result appended as it arrives."""
        calls = list(assistant.tool_calls)
        for position, call in enumerate(calls):
            try:
                result = await self.call(call, assistant.reasoning if position == 0 else "")
            except (KeyboardInterrupt, asyncio.CancelledError):
                self._append_all(_unanswered(calls[position:], "interrupted by the person"))
                self._interrupted()
                raise
            self._append(Message("tool", result, tool_call_id=call.id, name=call.name))

    # --- the window ------------------------------------------------------------------------

    async def _fit(self, force: bool = False) -> None:
        """Compact the messages, all at once, when the next prompt would pass the trigger
        (or, with `force`, now: the server refused the last one as too long)."""
        window, messages = self.window, self.messages
        before = self.meter.tokens(messages)
        if before <= window.trigger and not force:
            return
        start, end = self.fold_from, compaction.tail_start(messages)
        fitted, shrunk = compaction.shrink(messages, start, end)
        record: dict[str, Any] = {
            "step": self.turns,
            "kind": "shrink",
            "tokens_before": before,
            "tokens_after": self.meter.tokens(fitted),
            "shrunk_results": shrunk,
            "folded_steps": 0,
            "window": window.tokens,
        }
        if record["tokens_after"] > window.target and end > start:
            # The summary is asked for on the prompt as it stands, whose prefix is cached.
            summary = await self._summarize()
            fitted = compaction.fold(messages, start, end, summary)
            tail = compaction.tail_start(fitted, 1)
            fitted, more = compaction.shrink(fitted, start + 1, tail)
            record.update(
                kind="summary",
                tokens_after=self.meter.tokens(fitted),
                shrunk_results=more,
                folded_steps=compaction.folded_steps(messages, start, end),
            )
        self.messages = fitted
        self.compactions.append(record)
        self._logged(lambda log: log.compaction(record, fitted))
        self.state.compactions = len(self.compactions)
        self._show_header()

    async def _summarize(self) -> str:
        """The model's summary of the run so far, in a turn of its own; a plain list of the
        steps if that turn fails."""
        ask = Message("user", compaction.SUMMARY_REQUEST)
        turn, failure = await self._model_turn([*self.messages, ask], (), ())
        if isinstance(failure, KeyboardInterrupt):
            raise KeyboardInterrupt
        text = turn.reply.content.text.strip()
        if failure is None and text:
            return text
        return compaction.listed_steps(self.messages[self.fold_from :])

    # --- bookkeeping -----------------------------------------------------------------------

    def _append(self, message: Message) -> None:
        self.messages.append(message)
        self._logged(lambda log: log.message(message))

    def _append_all(self, messages: Sequence[Message]) -> None:
        for message in messages:
            self._append(message)

    def _plan_changed(self, logged: bool = True) -> None:
        plan = self.plan.as_dict()
        self.state.plan = plan
        self.state.plan_markdown = self.plan.markdown()
        if logged:
            self._logged(lambda log: log.plan(plan["items"], plan["explanation"]))
        self._show_header()

    # --- the run log -----------------------------------------------------------------------

    def _open_log(self, question: str) -> None:
        """Start this run's log on disk, its first messages in it."""
        from ..config.paths import runs_dir
        from .runlog import KERNEL, RunLog

        s = self.settings
        try:
            self.log = RunLog.create(
                runs_dir(),
                question=question,
                model=s.model,
                provider=s.provider.name,
                notebook=_notebook(self.session),
                send_rows=s.send_rows,
                budget=self.budget.as_dict(),
                tools=list(self.tools),
                kernel=KERNEL,
                fold_from=self.fold_from,
                scrub=self.session.pipeline.endpoint(s).scrub,
            )
        except (OSError, InputError) as exc:
            self._log_failed(exc)
            return
        self.state.run_id = self.log.id  # the name `%glm runs` and `%glm resume` know it by
        first = list(self.messages)

        def write_first(log: RunLog) -> None:
            for message in first:
                log.message(message)

        self._logged(write_first)

    def _logged(self, write: Callable[[RunLog], None]) -> None:
        """Write one record; a full disk or a lost folder stops the log, never the run."""
        if self.log is None:
            return
        try:
            write(self.log)
        except OSError as exc:
            self._log_failed(exc)

    def _log_failed(self, exc: BaseException) -> None:
        self.log = None
        self.log_problem = (
            f"The run log could not be written ({type(exc).__name__}: {exc}), so this run "
            "cannot be resumed with `%glm resume`; everything is still in the conversation."
        )
        self.state.note = self.log_problem

    def _show_header(self) -> None:
        st = self.state
        elapsed = time.monotonic() - self.started
        st.elapsed, st.cost_usd = elapsed, self.cost
        st.budget_left = self.budget.left(self.turns, elapsed, self.cost)
        self.header.show(st)

    def _finish(self, status: str, reason: str) -> None:
        """Show the whole trail on the last response, end the header and the log."""
        if self.log_problem and self.last_turn is not None:
            self.last_turn.reply.notes.append(self.log_problem)
        self._show_trail()
        self.state.status = status
        self.state.note = reason or self.log_problem or self.state.note
        st = self.state
        usage = {
            "prompt_tokens": st.prompt_tokens,
            "completion_tokens": st.completion_tokens,
            "cached_tokens": st.cached_tokens,
        }
        self._logged(lambda log: log.end(status, reason, usage, self.cost))
        self._show_header()

    def _show_trail(self) -> None:
        """Show the trail of steps (older ones brief) and any stop note on the last response."""
        last = self.last_turn
        if last is None:
            return
        whole = len(self.steps) - len(self.trail.open_steps)
        last.reply.steps = [step.as_dict(brief=i < whole) for i, step in enumerate(self.steps)]
        last.reply.compactions = self.compactions
        last.renderer.finish(last.reply)

    def _interrupted(self) -> None:
        """Show the stop on the step that was under way and on the last response."""
        if self.steps and self.steps[-1].status in ("waiting", "running"):
            self.steps[-1].status = "interrupted"
            if self.steps[-1].approval == "pending":
                self.steps[-1].approval = "not given"
            StepView(self.steps[-1], notebook=self.notebook).show()
        if self.last_turn is not None:
            self.last_turn.reply.notes.append(
                "Interrupted: the run stopped here; what happened so far is kept in the "
                "conversation, and `%glm resume` goes on with the run."
            )

    # --- one tool call ---------------------------------------------------------------------

    async def call(self, call: ToolCall, reasoning: str) -> str:
        """Run one tool call (asking first when it writes) and return the model's result."""
        step = Step(len(self.steps) + 1, call.name, call.arguments, reasoning)
        self.steps.append(step)
        view = StepView(step, notebook=self.notebook)
        self.trail.step(view)
        try:
            return await self._call(call, step, view)
        finally:
            self._logged(lambda log: log.step(step.as_dict()))

    async def _call(self, call: ToolCall, step: Step, view: StepView) -> str:
        key = (call.name, _normal(call.arguments))
        self._recent.append(key)
        if len(self._recent) == SAME_CALL_LIMIT and len(set(self._recent)) == 1:
            step.status, step.approval = "error", "not asked"
            view.show()
            raise AgentStopped(
                f"Stopped: the model made the same `{call.name}` call {SAME_CALL_LIMIT} times "
                "in a row. Ask again with more guidance, or run the step yourself."
            )
        tool = self.tools.get(call.name)
        if tool is None:
            step.status, step.approval = "error", "not asked"
            step.output = (
                f"Unknown tool `{call.name}`. Available tools: {', '.join(sorted(self.tools))}."
            )
            view.show()
            return step.output
        try:
            arguments = json.loads(call.arguments or "{}")
            if not isinstance(arguments, dict):
                raise ValueError("expected a JSON object")
        except ValueError as exc:
            step.status, step.approval = "error", "not asked"
            step.output = (
                f"The arguments were not valid JSON ({exc}). Call {call.name} again "
                "with a JSON object matching its schema."
            )
            view.show()
            return step.output
        view.show()
        decision = await self._decide(tool, arguments)
        step.approval = decision.verdict
        if not decision.runs:
            step.status = "rejected"
            reason = f" Their reason: {decision.reason}" if decision.reason else ""
            step.output = f"The person rejected this call; it did not run.{reason}"
            view.show()
            return step.output
        step.status = "running"
        view.show()
        started = time.monotonic()
        try:
            step.output = await tool.call(arguments)
            step.status = "done"
        except KeyboardInterrupt:
            step.status = "interrupted"
            raise
        except ToolError as exc:
            step.output, step.status = f"Error: {exc}", "error"
        except Exception as exc:  # a tool's own failure is news for the model, not a crash
            step.output, step.status = f"Error: {type(exc).__name__}: {exc}", "error"
        finally:
            step.elapsed = time.monotonic() - started
            view.show()
            self._show_header()
        return step.output

    async def _decide(self, tool: Tool, arguments: dict[str, Any]) -> Decision:
        if tool.read_only:
            return Decision("read-only")
        if self.request.auto:
            return Decision("auto")
        if self.approve_all:
            return Decision("approved all")
        decision: Decision = await self.approver.ask(tool.name, arguments)
        if decision.verdict == "approved all":
            self.approve_all = True
        return decision


def _notebook(session: Session) -> str:
    """This kernel's notebook, where the front end says ("" where it does not)."""
    shell = session.shell
    vscode = shell.user_ns.get("__vsc_ipynb_file__") if shell is not None else None
    return str(os.environ.get("JPY_SESSION_NAME") or vscode or "")


def _normal(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), sort_keys=True)
    except ValueError:
        return arguments


def _pending_calls(messages: Sequence[Message]) -> list[ToolCall]:
    """Calls of the last assistant message that have no tool result yet."""
    answered = {m.tool_call_id for m in messages if m.role == "tool"}
    for message in reversed(messages):
        if message.role == "assistant":
            return [c for c in message.tool_calls if c.id not in answered]
    return []


def _unanswered(calls: list[ToolCall], why: str) -> list[Message]:
    """Tool results for calls that never ran, so the next request is well formed."""
    return [Message("tool", f"({why})", tool_call_id=c.id, name=c.name) for c in calls]


def _assistant(reply: Reply) -> Message:
    """The model's turn as the transcript keeps it, with tool calls a server left in the text."""
    text, calls = reply.content.text, list(reply.tool_calls)
    if not calls:
        text, calls = parse_raw_tool_calls(text)
    return Message("assistant", text, reasoning=reply.reasoning.text, tool_calls=tuple(calls))
