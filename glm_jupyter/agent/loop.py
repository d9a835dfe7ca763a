"""Agent mode: the model calls tools in the live kernel, step by step, until it answers.

Each model turn streams into its own response display; each tool call gets a step display
(tool, code, approval, elapsed, what the model was told) and, for run_python, the code's own
outputs right under it. The transcript is appended to the conversation as it happened, so a
follow-up (or the provider's cache) sees exactly what the model saw. Interrupting at any point
(waiting for the model, for approval, or for code) ends the run and keeps what happened.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from ..context.prompt import user_message
from ..core.prompts import AGENT_SYSTEM, agent_system
from ..core.request import Request
from ..display.approval import Decision, TerminalApprover, WidgetApprover
from ..display.step import Step, StepView
from ..errors import AgentStopped, ToolError
from ..messages import Image, Message, ToolCall
from ..wire.rawtools import parse_raw_tool_calls
from .tools import Tool

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..config.settings import Settings
    from ..context.builder import ContextBlock
    from ..core.session import Session
    from ..core.turn import Turn
    from ..reply import Reply
    from .kernel_tools import Figures

SAME_CALL_LIMIT = 3


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
    ) -> None:
        self.session = session
        self.request = request
        self.settings = settings
        self.tools = {t.name: t for t in tools}
        self.notebook = notebook
        self.figures = figures
        self.steps: list[Step] = []
        self.approve_all = bool(request.auto)
        # Buttons need a front end to click them: only a kernel has one.
        in_kernel = getattr(session.shell, "kernel", None) is not None
        self.approver: Any = WidgetApprover() if in_kernel else TerminalApprover()
        self.model_seconds = 0.0
        self.last_turn: Turn | None = None
        self._recent: deque[tuple[str, str]] = deque(maxlen=SAME_CALL_LIMIT)

    async def run(self) -> tuple[Turn, BaseException | None]:
        """Model turns and tool calls until an answer, a stop, or an interrupt: the last turn,
        and what ended the run early, if anything."""
        session, s = self.session, self.settings
        blocks, question = session.context(self.request, s)
        pictures = session.pictures(self.request, s)
        if self.request.new:
            session.conversation.reset()
        messages = session.conversation.request(
            user_message(blocks, question), agent_system(AGENT_SYSTEM, s), pictures
        )
        transcript: list[Message] = [messages[-1]]
        specs = [t.spec() for t in self.tools.values()]
        limit = self.request.max_steps or s.max_steps
        failure: BaseException | None = None
        try:
            for number in range(limit + 1):
                first = number == 0  # the context goes with the question, shown on its turn
                turn, failure = await self._model_turn(
                    messages, specs, blocks if first else [], pictures if first else ()
                )
                if failure is not None:
                    partial = turn.reply.content.text
                    if partial or turn.reply.reasoning.text:  # keep what arrived
                        transcript.append(
                            Message("assistant", partial, reasoning=turn.reply.reasoning.text)
                        )
                    break
                assistant = _assistant(turn.reply)
                messages.append(assistant)
                transcript.append(assistant)
                if not assistant.tool_calls:
                    break
                if number == limit:
                    raise AgentStopped(f"Stopped after {limit} steps (--max-steps {limit}).")
                answers = await self._tools(assistant, transcript)
                shown = self.figures.message() if self.figures is not None else None
                answers += [shown] if shown is not None else []  # after every tool result
                messages += answers
                transcript += answers
        except AgentStopped as stop:
            transcript += _unanswered(_pending_calls(transcript), "not run: the run stopped")
            if self.last_turn is not None:
                self.last_turn.reply.notes.append(str(stop))
        finally:
            session.conversation.extend(transcript)
            self._show_trail()
        assert self.last_turn is not None
        return self.last_turn, failure

    async def _model_turn(
        self,
        messages: list[Message],
        specs: list[dict[str, Any]],
        blocks: Sequence[ContextBlock],
        pictures: Sequence[Image],
    ) -> tuple[Turn, BaseException | None]:
        """One model turn (tools offered, reasoning kept for the provider), streamed and counted."""
        session, s = self.session, self.settings
        reply = session.new_reply(s, blocks, pictures)
        reply.steps = [step.as_dict() for step in self.steps]
        content = str(messages[-1].content) if messages else ""
        # Z.ai keeps reasoning across the run only with preserved thinking switched on.
        turn = session.pipeline.turn(
            s,
            messages,
            reply,
            session.renderer(s),
            tools=specs,
            preserve=s.provider.thinking_control == "zai",
            request=Request(content),
            content=content,
        )
        self.last_turn = turn
        started = time.monotonic()
        failure = await session.pipeline.astream(turn)
        self.model_seconds += time.monotonic() - started
        session.last = reply
        session.pipeline.account(reply)
        turn.renderer.finish(reply)
        return turn, failure

    async def _tools(self, assistant: Message, transcript: list[Message]) -> list[Message]:
        """Run the turn's tool calls in order: the tool results for the next request."""
        answers: list[Message] = []
        calls = list(assistant.tool_calls)
        for position, call in enumerate(calls):
            try:
                result = await self.call(call, assistant.reasoning if position == 0 else "")
            except (KeyboardInterrupt, asyncio.CancelledError):
                transcript += answers
                transcript += _unanswered(calls[position:], "interrupted by the person")
                self._interrupted()
                raise
            answers.append(Message("tool", result, tool_call_id=call.id, name=call.name))
        return answers

    def _show_trail(self) -> None:
        """Show the whole trail of steps and any stop note on the last response."""
        last = self.last_turn
        if last is None:
            return
        steps = [step.as_dict() for step in self.steps]
        stale = last.reply.steps != steps
        last.reply.steps = steps
        if stale or last.reply.notes:
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
                "Interrupted: the run stopped here; what happened "
                "so far is kept in the conversation."
            )

    async def call(self, call: ToolCall, reasoning: str) -> str:
        """Run one tool call (asking first when it writes) and return the model's result."""
        step = Step(len(self.steps) + 1, call.name, call.arguments, reasoning)
        self.steps.append(step)
        view = StepView(step, notebook=self.notebook)
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


def _normal(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), sort_keys=True)
    except ValueError:
        return arguments


def _pending_calls(transcript: list[Message]) -> list[ToolCall]:
    """Calls of the last assistant message that have no tool result yet."""
    answered = {m.tool_call_id for m in transcript if m.role == "tool"}
    for message in reversed(transcript):
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
